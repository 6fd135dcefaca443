#!/usr/bin/env python3
"""Development check (not a test, not the validation): MLPerf Offline rows against the model.

    PYTHONPATH=$PWD python3 scripts/mlperf_offline_check.py [--csv validation/mlperf.csv]
        [--rows] [--round v5.0,v5.1]

An Offline result (validation/mlperf.csv, MLCommons; its README section) is the throughput
of the whole system with every request queued and no latency limit: the ceiling. The model's
ceiling on the system's GPU count is the best, over the replica shapes a tuned submission
could run inside one scale-up domain (tensor parallel 1-8; for MoE also expert parallel with
attention tensor-parallel, and attention data-parallel + expert parallel across the domain),
of the all-queued throughput per GPU (``estimate`` with no load) times the GPUs.

Prints measured / predicted per model, GPU and precision (median, min, max, rows) and the
shape the model found best. A ratio above 1 means the model is conservative.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlsizer.catalog.loader import load_catalog  # noqa: E402
from xlsizer.engine.performance import estimate  # noqa: E402
from xlsizer.errors import XlsizerError  # noqa: E402

TP = (1, 2, 4, 8)
EP_WIDE = (2, 4, 8, 16, 32, 64, 72)


def shapes(model: str, gpu: str, count: int) -> list[tuple[int, int, int | None]]:
    """(tp, ep, dp) replica shapes that divide ``count`` and fit one scale-up domain."""
    cat = load_catalog()
    m, g = cat.model(model), cat.gpu(gpu)
    dom = min(count, g.scaleup_gpus)
    out: list[tuple[int, int, int | None]] = [(t, 1, None) for t in TP
                                              if t <= dom and count % t == 0]
    if m.is_moe and m.moe is not None:
        out += [(t, t, None) for t in TP if 1 < t <= dom and count % t == 0]
        out += [(1, n, n) for n in EP_WIDE
                if n <= dom and count % n == 0 and n <= m.moe.experts]
    return out


def ceiling(model: str, gpu: str, prec: str, engine: str, isl: float, osl: float,
            count: int) -> tuple[float, str]:
    """(output tok/s of ``count`` GPUs, shape) at the model's best replica shape."""
    best, label = 0.0, "none fits"
    for tp, ep, dp in shapes(model, gpu, count):
        try:
            e = estimate(model, gpu, tp, prec, isl, osl, ep=ep, dp=dp, engine=engine)
        except XlsizerError:
            continue
        total = e.out_tok_s_per_gpu * count
        if total > best:
            shape = f"tp{tp}" + (f" dep{ep}" if dp else f" ep{ep}" if ep > 1 else "")
            best, label = total, f"{shape} b{e.max_batch} {e.binding}"
    return best, label


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=str(ROOT / "validation" / "mlperf.csv"))
    ap.add_argument("--rows", action="store_true", help="print every row")
    ap.add_argument("--round", default="", help="comma-separated rounds to keep")
    args = ap.parse_args()
    rounds = {r for r in args.round.split(",") if r}
    with open(args.csv, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f)
                if r["scenario"] == "Offline" and r["gpu"] and r["precision"]
                and (not rounds or r["round"] in rounds)]
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    label_of: dict[tuple[str, str, str], str] = {}
    cache: dict[tuple, tuple[float, str]] = {}
    for r in rows:
        engine = r["engine"].split(" ")[0]
        count = int(r["gpu_count"])
        key = (r["model"], r["gpu"], r["precision"], engine, round(float(r["isl_mean"])),
               round(float(r["osl_mean"])), count)
        if key not in cache:
            cache[key] = ceiling(r["model"], r["gpu"], r["precision"], engine,
                                 float(r["isl_mean"]), float(r["osl_mean"]), count)
        pred, label = cache[key]
        if pred <= 0:
            continue
        ratio = float(r["value"]) / pred
        g = (r["model"], r["gpu"], r["precision"])
        groups[g].append(ratio)
        label_of[g] = label
        if args.rows:
            print(f"{r['id']:22s} {r['model']:15s} {r['gpu']:12s} {count:4d} "
                  f"{float(r['value']):10.0f} {pred:10.0f} {ratio:6.2f}  {label}")
    print(f"{'model':15s} {'gpu':12s} {'prec':5s} {'n':>3s} {'median':>7s} {'min':>6s} "
          f"{'max':>6s}  best shape (last row)")
    per_model: dict[str, list[float]] = defaultdict(list)
    for g in sorted(groups):
        v = groups[g]
        per_model[g[0]].extend(v)
        print(f"{g[0]:15s} {g[1]:12s} {g[2]:5s} {len(v):3d} {statistics.median(v):7.2f} "
              f"{min(v):6.2f} {max(v):6.2f}  {label_of[g]}")
    print()
    for m, v in sorted(per_model.items()):
        print(f"{m:15s} all  n={len(v):3d} median {statistics.median(v):.2f}")


if __name__ == "__main__":
    main()
