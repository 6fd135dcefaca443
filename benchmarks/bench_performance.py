#!/usr/bin/env python3
"""Time the performance model's hot path: ``slo_capacity`` per call, and a sizing-like sweep
of 24 candidate configurations (6 GPUs x TP 1/2/4/8) for one workload.

    python benchmarks/bench_performance.py

Three regimes: repeated (configuration constants and TPOT-limited batch cached: what the
three scenarios of one sizing share), new target (constants cached, the batch solved), and
cold (a new workload: constants rebuilt and the batch solved).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xlsizer.catalog import load_catalog
from xlsizer.engine import performance as perf
from xlsizer.errors import UnsupportedPrecisionError

GPUS = ("l40s", "a100-80gb", "h100-sxm", "h200-sxm", "mi300x", "b200")
TPS = (1, 2, 4, 8)
CASES = (  # model, precision, prompt, output, TPOT target
    ("llama-3.3-70b", "fp8", 6000, 250, 0.040),
    ("llama-3.1-8b", "fp8", 1500, 80, 0.025),
    ("mixtral-8x7b", "fp8", 2000, 500, 0.030),
    ("deepseek-r1", "fp8", 2000, 8000, 0.050),
)


def per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def sweep(model, precision: str, isl: float, osl: float, tpot: float, gpus) -> int:
    feasible = 0
    for gpu in gpus:
        for tp in TPS:
            try:
                cap = perf.slo_capacity(model, gpu, tp, precision, isl, osl, tpot)
            except UnsupportedPrecisionError:
                continue
            feasible += cap.feasible
    return feasible


def clear(solves: bool = True, work: bool = False) -> None:
    if solves:
        perf._SOLVES.clear()
    if work:
        perf._FAST_WORK.clear()


def main() -> int:
    cat = load_catalog()
    gpus = [cat.gpu(g) for g in GPUS]
    print("slo_capacity, one call (microseconds):")
    print(f"  {'model':<16} {'repeated':>9} {'new target':>11} {'cold':>8}")
    for model_id, prec, isl, osl, tpot in CASES:
        m, g = cat.model(model_id), cat.gpu("h200-sxm")
        tp = 8 if model_id == "deepseek-r1" else 2
        call = lambda m=m, g=g, tp=tp, prec=prec, isl=isl, osl=osl, tpot=tpot: (  # noqa: E731
            perf.slo_capacity(m, g, tp, prec, isl, osl, tpot))
        call()
        hot = per_call(call, 50_000)
        empty = per_call(clear, 50_000)
        warm = per_call(lambda c=call: (clear(), c()), 20_000) - empty
        cold = per_call(lambda c=call: (clear(work=True), c()), 20_000) - empty
        print(f"  {model_id:<16} {hot * 1e6:>9.2f} {warm * 1e6:>11.2f} {cold * 1e6:>8.2f}")

    print("\n24-configuration sweep (6 GPUs x TP 1/2/4/8) for one workload:")
    for model_id, prec, isl, osl, tpot in CASES:
        m = cat.model(model_id)
        sweep(m, prec, isl, osl, tpot, gpus)
        hot = per_call(lambda m=m, p=prec, i=isl, o=osl, t=tpot: sweep(m, p, i, o, t, gpus), 2000)
        fresh = per_call(lambda m=m, p=prec, i=isl, o=osl, t=tpot: (
            clear(work=True), sweep(m, p, i, o, t, gpus)), 500)
        print(f"  {model_id:<16} repeated {hot * 1e6:8.1f} us   new workload {fresh * 1e6:8.1f} us")

    start = time.perf_counter()
    from xlsizer.validation import validate
    report = validate(Path(__file__).resolve().parent.parent / "validation" / "calibration.csv")
    print(f"\nvalidate(calibration.csv): {len(report.rows)} rows in "
          f"{(time.perf_counter() - start) * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
