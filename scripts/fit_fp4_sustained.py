"""Fit each FP4 GPU's sustained share of its datasheet FP4 rate on public MLPerf Offline results
(issue 22), and report it cross-validated by leaving whole models out.

    python3 scripts/fit_fp4_sustained.py

Why: beside MLPerf's tuned submissions the sizer predicted FP4 throughput on Blackwell Ultra
(B300, GB300) about 1.4x too high while B200 came out right: the B300's datasheet dense FP4
rate is 1.56x the B200's (14 vs 9 PF), but the tuned systems served llama-2-70b only 1.07x
faster, and every other model tells the same. The FP4 GEMM efficiency of the packaged fit
(calibration.yaml ``fp4_gemm_efficiency``, from serving.csv) is one number for every FP4 GPU;
this is the share of it a GPU's own tuned systems sustain (``GpuSpec.fp4_sustained_ratio``).

How: the Offline scenario is the throughput ceiling (no latency limit), so it isolates the
rate from the latency model. For each GPU whose FP4 rows the file holds, the share r in
(0, 1] (never above the datasheet: a GPU measured faster than predicted keeps r = 1) that
minimises the median |log(measured / predicted)| over its Offline rows, every model predicted
with the serving.csv fit made without that model (as ``xlsizer validate`` does). Cross-
validation: for each model, r is refitted on the other models' rows and that model's rows are
predicted with it. Per GPU, not per row or per submitter: one number for all of a GPU's
models, rounds and systems.

Prints the fitted shares and the median error before and after, in-sample and leave-one-model-
out; a share is adopted (copied into xlsizer/catalog/data/gpus.yaml with the date) only where
the left-model-out error is below the error before. Asserts nothing.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from pathlib import Path

from xlsizer.catalog import load_catalog
from xlsizer.engine.calibration import held_out_calibration
from xlsizer.mlperf import Skip, engine_of, resolved, sized_capacity

DATA = Path(__file__).resolve().parent.parent / "validation" / "mlperf.csv"
GRID = [round(0.30 + 0.01 * i, 2) for i in range(71)]  # shares 0.30 ... 1.00
MIN_MODELS = 2
"""A GPU is fitted only where its FP4-bound Offline rows span at least this many models (one
model's rows cannot tell the GPU's rate from that model's own error)."""
MIN_ELASTICITY = 0.5
"""A row enters the fit only where its predicted throughput follows the FP4 rate: d log(pred) /
d log(share) at least this (measured between shares 1 and 0.8). Rows bound by something else
(gpt-oss, whose MXFP4 experts multiply at the FP8 rate: step.expert_compute; DeepSeek-R1's
wide MoE steps, bound by expert streaming and its all-to-all) cannot tell the FP4 rate and
would pull the fit toward whatever their own error is."""


def elasticity(row: dict[str, str], gpu: str) -> float:
    """d log(predicted) / d log(FP4 share) of a row between shares 1 and 0.8."""
    hi, lo = predicted(row, gpu, 1.0), predicted(row, gpu, 0.8)
    return math.log(hi / lo) / math.log(1.0 / 0.8) if hi and lo else 0.0


def _rows() -> list[tuple[dict[str, str], str]]:
    """The Offline FP4 rows whose prediction follows the FP4 rate (``MIN_ELASTICITY``)."""
    out = []
    with DATA.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["scenario"] != "Offline":
                continue
            try:
                gpu, prec = resolved(row)
            except Skip:
                continue
            if prec == "fp4" and elasticity(row, gpu) >= MIN_ELASTICITY:
                out.append((row, gpu))
    return out


def predicted(row: dict[str, str], gpu_id: str, ratio: float) -> float | None:
    """Offline output tok/s of the row's system with the GPU's FP4 rate at ``ratio`` (the
    ceiling ``xlsizer validate`` predicts, on a modified catalog row)."""
    g = load_catalog().gpu(gpu_id).model_copy(update={"fp4_sustained_ratio": ratio})
    model = row["model"]
    out, *_ = sized_capacity(model, g, "fp4", float(row["isl_mean"]), float(row["osl_mean"]), None, None,
                            engine_of(row), int(float(row["gpu_count"])), held_out_calibration(model))
    return out or None


def _errors(rows: list[tuple[dict[str, str], str]], ratio: float) -> list[float]:
    """|log(measured / predicted)| of each row the sizer can predict."""
    out = []
    for row, gpu in rows:
        p = predicted(row, gpu, ratio)
        if p:
            out.append(abs(math.log(float(row["value"]) / p)))
    return out


def fit(rows: list[tuple[dict[str, str], str]]) -> float:
    """The grid share with the lowest median |log error| (ties: the larger share)."""
    best, best_err = 1.0, math.inf
    for r in reversed(GRID):
        e = _errors(rows, r)
        if e and statistics.median(e) < best_err - 1e-12:
            best, best_err = r, statistics.median(e)
    return best


def main() -> None:
    by_gpu: dict[str, list[tuple[dict[str, str], str]]] = defaultdict(list)
    for row, gpu in _rows():
        by_gpu[gpu].append((row, gpu))
    print(f"{'gpu':14s} rows models  share  median APE before / fitted / left-model-out  verdict")
    for gpu, rows in sorted(by_gpu.items()):
        models = sorted({r["model"] for r, _ in rows})
        if len(models) < MIN_MODELS:
            print(f"{gpu:14s} {len(rows):4d} {len(models):6d}  not fitted (rows of one model)")
            continue
        share = fit(rows)
        before = statistics.median(_errors(rows, 1.0))
        after = statistics.median(_errors(rows, share))
        lomo: list[float] = []
        for m in models:
            train = [x for x in rows if x[0]["model"] != m]
            lomo += _errors([x for x in rows if x[0]["model"] == m], fit(train))
        held = statistics.median(lomo)
        verdict = "adopt" if share < 1.0 and held < before else "keep 1 (no gain held out)"
        print(f"{gpu:14s} {len(rows):4d} {len(models):6d}  {share:.2f}  "
              f"{math.expm1(before):6.1%} / {math.expm1(after):6.1%} / {math.expm1(held):6.1%}"
              f"  {verdict}   ({', '.join(models)})")


if __name__ == "__main__":
    main()
