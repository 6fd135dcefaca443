#!/usr/bin/env python3
"""Development check (not a test, not the validation): how the decode step's error moves with
the width of a tensor-parallel replica.

    PYTHONPATH=$PWD python3 scripts/tp_width_check.py [--csv validation/serving.csv]

Every TPOT run of validation/serving.csv is predicted as ``xlsizer validate`` predicts it (each
model by the fit made without it, leave-one-model-out), and grouped by family, the replica's
attention tensor-parallel size (aggregated runs; the decode workers' for disaggregated ones) and
its load: fewer or at least 32 sequences per replica (attention data-parallel replicas by
their own group). Per group: runs, and measured / predicted TPOT at the median, 10th and 90th
percentiles. Then the same per-sequence cost as a slope: for every setup measured at three or
more concurrencies from 8 to 128 on one replica, (TPOT at the highest - at the lowest) /
(concurrency apart), measured over modelled, by tensor-parallel size.

What it showed before ``Calibration.allreduce_peer_s`` (2026-12-06): measured / predicted TPOT
at the median 0.91-1.06 on one to four GPUs, dense or MoE, light or loaded, but 1.15 (p90 1.70)
for dense and 1.14 (1.54) for MoE replicas of eight GPUs under load, 1.33-1.39 at 16 and 64;
and the per-sequence slope 0.84-1.07 of the model's on one or two GPUs, 1.23-1.28 on four and
1.72-1.85 on eight on vLLM and TensorRT-LLM alike: the model's per-sequence step cost shrank
with the replica's width faster than the runs' did. Attention data-parallel replicas (dp8-dp64)
showed no such drift. docs/method.md, "The decode step's all-reduce", has the after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlsizer.engine.calibration import held_out_calibration  # noqa: E402
from xlsizer.validation import percentile, read_rows, validate_rows  # noqa: E402

LOADED = 32
"""Sequences per replica from which a run counts as under load (a judgement: where the decode
step's per-sequence cost, not its fixed part, sets most of the step)."""


def _int(row: dict[str, str], key: str, default: int = 1) -> int:
    try:
        return max(int(float(row.get(key) or default)), 1)
    except ValueError:
        return default


def shape(row: dict[str, str]) -> tuple[str, float]:
    """(replica label, sequences per replica) of a serving.csv row."""
    if (row.get("mode") or "agg") != "agg":
        tp, dp = _int(row, "decode_tp"), _int(row, "decode_dp")
        per = float(row["concurrency"]) / _int(row, "decode_workers") / dp
    else:
        tp, dp = _int(row, "tp"), _int(row, "dp")
        per = float(row["concurrency"]) / dp
    label = f"dp{tp * dp}" if dp > 1 else f"tp{tp}"
    return label, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=str(ROOT / "validation" / "serving.csv"))
    args = ap.parse_args()
    rows = read_rows(args.csv)
    by_id = {r["id"]: r for r in rows}
    report = validate_rows(rows, args.csv, calibration_for=held_out_calibration)
    ratios: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    series: dict[tuple, list[tuple[float, float, float]]] = defaultdict(list)
    for res in report.rows:
        if res.metric != "tpot_ms" or res.predicted is None or res.measured is None:
            continue
        row = by_id[res.id]
        fam = res.family
        label, per = shape(row)
        ratios[(fam, label, "loaded" if per >= LOADED else "light")].append(res.measured / res.predicted)
        if (row.get("mode") or "agg") == "agg" and label.startswith("tp") and 8 <= per <= 128:
            key = (fam, row["engine"], label, row["model"], row["gpu"], row["isl"], row["osl"])
            series[key].append((per, res.measured, res.predicted))
    print("measured / predicted TPOT (leave-one-model-out fits)")
    print(f"  {'family':6} {'replica':8} {'load':7} {'runs':>5} {'median':>7} {'p10':>6} {'p90':>6}")
    for (fam, label, load), v in sorted(ratios.items(), key=lambda kv: (kv[0][0], kv[0][1][:2],
                                                                        int(kv[0][1][2:]), kv[0][2])):
        print(f"  {fam:6} {label:8} {load:7} {len(v):5d} {statistics.median(v):7.2f} "
              f"{percentile(v, 0.1):6.2f} {percentile(v, 0.9):6.2f}")
    slopes: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key, pts in series.items():
        if len(pts) < 3:
            continue
        pts.sort()
        (_, m0, p0), (_, m1, p1) = pts[0], pts[-1]  # the concurrencies apart cancel
        if p1 > p0:
            slopes[(key[1], key[2])].append((m1 - m0) / (p1 - p0))
    print("\nper-sequence step cost, measured / modelled slope (setups with 3+ concurrencies, 8-128)")
    print(f"  {'engine':14} {'replica':8} {'setups':>6} {'median':>7}")
    for (eng, label), v in sorted(slopes.items(), key=lambda kv: (kv[0][0], int(kv[0][1][2:]))):
        print(f"  {eng:14} {label:8} {len(v):6d} {statistics.median(v):7.2f}")


if __name__ == "__main__":
    main()
