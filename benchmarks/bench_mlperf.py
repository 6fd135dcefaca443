"""GPUs the sizer would buy for each public MLPerf Server/Interactive result versus the GPUs
the submission used (issue 22). A script, not a test: it prints, it asserts nothing.

    PYTHONPATH=$PWD python3 benchmarks/bench_mlperf.py [--below] [--data NEWER-ROUND.csv]

For each row of validation/mlperf.csv in the Server or Interactive scenario whose GPU the
catalog knows: the submission's own rate (its output tok/s ÷ the dataset's mean output
length) and its p99 TTFT and TPOT limits are sized on its GPU type: for each replica shape a
sizing tries (``xlsizer.mlperf.replica_shapes``: tensor parallel 1, 2, 4, 8 GPUs, and a MoE's
wide expert-parallel replicas) the replicas needed = ceil(rate ÷ one replica's capacity within
the limits), and the fewest GPUs wins. The ratio sized / used: 1 = the sizer buys what
the tuned submission used; below 1 = it promises more than the best real systems deliver.
Whole replicas can hide that promise: a DEP8 replica of DeepSeek-R1 is 8 GPUs, so a
submission on 8 GPUs sizes at 1.00 whether one replica is predicted to carry its rate or twice
it. The "unrounded" columns give the GPUs without that rounding (rate ÷ the capacity per GPU of
the best shape): the throughput per GPU measured over the one predicted.

BEFORE: the limits treated as means (the sizer before issue 22). AFTER: as p99 under Poisson
arrivals (LoadGen's Server scenario) with prompts and answers spread as the benchmark's dataset
spreads them (``xlsizer.mlperf.mlperf_arrivals``), and in Interactive rows a model's own MTP head drafting
3 tokens where it ships one (DeepSeek-R1; ``xlsizer.mlperf.MTP_DRAFT_TOKENS``). Each model uses
the serving.csv fit made without it where there is one (leave-one-model-out). A third table
repeats AFTER on the best result only of each model, scenario, GPU, precision and round (the
highest output rate per GPU: the tuned best case).
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from xlsizer.catalog import load_catalog
from xlsizer.catalog.schema import SHORT_OF_MODEL
from xlsizer.engine.calibration import held_out_calibration
from xlsizer.errors import XlsizerError
from xlsizer.mlperf import MLPERF_PERCENTILE, Skip, engine_of, numbers, replica_shapes, resolved, shape_capacity
from xlsizer.validation_results import with_catalog_model

DATA = Path(__file__).resolve().parent.parent / "validation" / "mlperf.csv"
LOW = SHORT_OF_MODEL
"""Ratio below which the sizer is said to buy too few GPUs (issue 22's threshold)."""


def sized_gpus(row: dict[str, str], percentile: float | None) -> int | None:
    """GPUs the sizer buys for the row's rate within its limits (None: no replica size can)."""
    sized = sized_both(row, percentile)
    return None if sized is None else sized[0]


def sized_both(row: dict[str, str], percentile: float | None) -> tuple[int, float] | None:
    """(GPUs the sizer buys for the row's rate within its limits, whole replicas; the fewest
    GPUs of any shape before rounding up to whole replicas); None when no replica size can."""
    model = row["model"]
    try:
        gpu, prec = resolved(row)  # the row's own, else by alias and the file's precision rule
    except Skip:
        return None
    isl, osl = float(row["isl_mean"]), float(row["osl_mean"])
    rate = float(row["value"]) / osl  # requests/s the submission served
    tpot, ttft = float(row["tpot_p99_limit_ms"]) / 1000.0, float(row["ttft_p99_limit_ms"]) / 1000.0
    cal = held_out_calibration(model)
    best: int | None = None
    unrounded = math.inf
    for n, ep in replica_shapes(model, gpu):
        try:
            mtp = percentile is not None and row["scenario"] == "Interactive"  # xlsizer.mlperf.MTP_DRAFT_TOKENS
            cap = shape_capacity(model, gpu, n, ep, prec, isl, osl, tpot, ttft, engine_of(row), cal,
                                 percentile, mtp)
        except XlsizerError:
            continue
        if not cap.feasible or cap.req_s <= 0.0:
            continue
        total = n * math.ceil(rate / cap.req_s - 1e-9)
        best = total if best is None else min(best, total)
        unrounded = min(unrounded, n * rate / cap.req_s)
    return None if best is None else (best, unrounded)


def results(best_only: bool = False, data: Path = DATA,
            skipped: Counter[str] | None = None) -> list[dict[str, str]]:
    """The Server and Interactive rows of ``data`` (mlperf.csv's format) whose model, GPU and
    precision the catalog and the file's rule cover; ``best_only``: of each (model, scenario,
    GPU, precision, round) only the result with the highest output rate per GPU, the best-tuned
    system on that hardware in that round. ``skipped`` counts the other rows by reason."""
    catalog = load_catalog()
    with data.open(encoding="utf-8", newline="") as f:
        rows = []
        for raw in csv.DictReader(f):
            row = dict(with_catalog_model(raw))  # the fit made without the model, by its catalog id
            if row.get("scenario") not in ("Server", "Interactive"):
                continue
            try:
                catalog.model(row.get("model", ""))
            except XlsizerError:
                if skipped is not None:
                    skipped[f"model {row.get('model', '')!r} is not in the catalog"] += 1
                continue
            try:
                numbers(row, "gpu_count", "value", "isl_mean", "osl_mean", "tpot_p99_limit_ms", "ttft_p99_limit_ms")
                rows.append((resolved(row), row))
            except Skip as why:  # a field not given; an accelerator or precision not covered
                if skipped is not None:
                    skipped[str(why)] += 1
    if not best_only:
        return [r for _, r in rows]
    best: dict[tuple[str, ...], dict[str, str]] = {}
    for (gpu, prec), r in rows:
        key = (r["model"], r["scenario"], gpu, prec, r["round"])
        per_gpu = float(r["value"]) / float(r["gpu_count"])
        if key not in best or per_gpu > float(best[key]["value"]) / float(best[key]["gpu_count"]):
            best[key] = r
    return list(best.values())


def table(percentile: float | None, best_only: bool = False,
          data: Path = DATA) -> list[tuple[str, int, float, float, float, float, int]]:
    """(model/scenario, rows, median ratio, share below LOW, the same two unrounded (whole
    replicas not rounded up: ``sized_both``), rows no size could meet)."""
    ratios: dict[str, list[float]] = defaultdict(list)
    unrounded: dict[str, list[float]] = defaultdict(list)
    never: dict[str, int] = defaultdict(int)
    for row in results(best_only, data):
        key = f"{row['model']}/{row['scenario']}"
        sized = sized_both(row, percentile)
        if sized is None:
            never[key] += 1
            continue
        ratios[key].append(sized[0] / float(row["gpu_count"]))
        unrounded[key].append(sized[1] / float(row["gpu_count"]))
    out = []
    for key in sorted(set(ratios) | set(never)):
        rs, us = ratios[key], unrounded[key]
        share = sum(r < LOW for r in rs) / len(rs) if rs else math.nan
        u_share = sum(u < LOW for u in us) / len(us) if us else math.nan
        out.append((key, len(rs), statistics.median(rs) if rs else math.nan, share,
                    statistics.median(us) if us else math.nan, u_share, never[key]))
    return out


def rows_below(best_only: bool = True, data: Path = DATA) -> list[tuple[float, dict[str, str], int, str]]:
    """(GPUs sized / used, row, GPUs sized, catalog GPU) of each result the sizer sizes below
    ``LOW`` (AFTER), the best result per group only by default: the ones to read one by one. The
    GPU is the resolved one (an L40S row names none in the file)."""
    out = []
    for row in results(best_only, data):
        g = sized_gpus(row, MLPERF_PERCENTILE)
        if g is not None and g / float(row["gpu_count"]) < LOW:
            out.append((g / float(row["gpu_count"]), row, g, resolved(row)[0]))
    return sorted(out, key=lambda t: (t[1]["model"], t[1]["scenario"], t[3], t[1]["round"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--below", action="store_true",
                    help=f"also list the best results sized below {LOW:g} of the GPUs used, one per line")
    ap.add_argument("--data", type=Path, default=DATA,
                    help="results in validation/mlperf.csv's format, e.g. a newer round held out from the fit "
                         "(default: validation/mlperf.csv)")
    args = ap.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"bench_mlperf: {args.data}: no such file")
    skipped: Counter[str] = Counter()
    results(False, args.data, skipped)
    print(f"{args.data}: {sum(skipped.values())} Server and Interactive rows skipped" + (":" if skipped else ""))
    for why, n in skipped.most_common():
        print(f"  {n:>4}  {why}")
    print()
    after = f"AFTER (p{MLPERF_PERCENTILE:g} under Poisson arrivals)"
    for label, q, best_only in (("BEFORE (p99 limits treated as means)", None, False),
                                (after, MLPERF_PERCENTILE, False),
                                (f"{after}, best result per model, scenario, GPU, precision and round",
                                 MLPERF_PERCENTILE, True)):
        print(label)
        lines = table(q, best_only, args.data)
        w = max([28, *(len(key) for key, *_ in lines)])  # a newer round's model names may be longer
        print(f"  {'model/scenario':<{w}} {'rows':>5} {'median sized/used':>18} {'share < 0.85':>13} "
              f"{'unrounded: median':>18} {'< 0.85':>7} {'unmeetable':>10}")
        all_rows = below = u_below = 0
        for key, n, med, low, u_med, u_low, never in lines:
            all_rows += n
            below += round(low * n)
            u_below += round(u_low * n)
            print(f"  {key:<{w}} {n:>5} {med:>18.2f} {low:>12.0%} {u_med:>18.2f} {u_low:>6.0%} {never:>10}")
        print(f"  all: {below} of {all_rows} results sized below {LOW:g} of the GPUs used "
              f"({u_below} before rounding up to whole replicas)")
        print()
    if args.below:
        print(f"Best results sized below {LOW:g} of the GPUs used (ratio, round, model, scenario, GPU, "
              "GPUs used, organization, output tok/s per GPU, GPUs sized)")
        for ratio, r, g, gpu in rows_below(True, args.data):
            per_gpu = float(r["value"]) / float(r["gpu_count"])
            print(f"  {ratio:5.2f}  {r['round']}  {r['model']:<15} {r['scenario']:<12} {gpu:<13} "
                  f"{r['gpu_count']:>4}  {r['organization'][:16]:<16} {per_gpu:9,.0f}  {g}")


if __name__ == "__main__":
    main()
