#!/usr/bin/env python3
"""Fit the performance model's efficiencies on validation/calibration.csv and write them,
with their provenance and the resulting error, to xlsizer/catalog/data/calibration.yaml.

    python scripts/calibrate.py            # fit, print, write calibration.yaml
    python scripts/calibrate.py --dry-run  # fit and print only

What is fitted (five constants, one value each for every GPU, model and engine):
  bandwidth_efficiency   achievable fraction of peak memory bandwidth
  compute_efficiency     achievable fraction of the dense tensor peak (MFU)
  step_overhead_s        fixed time per engine step
  layer_overhead_s       fixed time per layer per step
  fp4_gemm_efficiency    multiplier on both fractions for GEMMs with FP4 weights

On which rows: the per-GPU throughput rows (metric out_tok_s_per_gpu) that
``xlsizer.validation`` can predict. The out_tok_s_total rows restate the same measurements
(per-GPU = total / gpu_count), so fitting on both would count each measurement twice.
Ratio rows and rows the model cannot express (speculative decoding, no load) are not used.

How: minimise the mean squared log error, log(predicted / measured), each group of rows
(same model, GPU, engine and load) weighing the same in total, so that the 60 load=max
TensorRT-LLM rows do not drown the one fixed-concurrency (batch-1) row, the only one that
separates the per-layer overhead from the bandwidth efficiency. Bounded Nelder-Mead search
(pure Python, deterministic, several starts). Then leave-one-group-out
cross-validation (group = model, GPU, engine, load) estimates the error on setups the fit
has not seen; its signed errors give the confidence band per model kind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlsizer.engine import performance  # noqa: E402
from xlsizer.engine.performance import Calibration  # noqa: E402
from xlsizer.validation import percentile, read_rows, validate_rows  # noqa: E402

DATA = ROOT / "validation" / "calibration.csv"
OUT = ROOT / "xlsizer" / "catalog" / "data" / "calibration.yaml"
FIT_METRIC = "out_tok_s_per_gpu"

# name, lower bound, upper bound, unit, what it is
PARAMETERS: tuple[tuple[str, float, float, str, str], ...] = (
    ("bandwidth_efficiency", 0.40, 0.95, "fraction of peak memory bandwidth",
     "achievable share of the datasheet HBM bandwidth for weight and KV reads"),
    ("compute_efficiency", 0.20, 0.90, "fraction of dense tensor peak",
     "achievable share of the datasheet dense FLOPS (MFU) for GEMMs and attention"),
    ("step_overhead_s", 0.0, 5e-3, "s per engine step",
     "scheduling, sampling and launch time per decode step"),
    ("layer_overhead_s", 0.0, 1e-4, "s per layer per step",
     "small kernels per layer (norms, RoPE, activation quantization) and their launches"),
    ("fp4_gemm_efficiency", 0.30, 1.0, "multiplier on both fractions",
     "FP4-weight GEMMs relative to 8/16-bit ones; fitted on the only FP4 rows, all "
     "Blackwell (B200, GB200) on TensorRT-LLM 1.0, so it cannot tell FP4 kernels from "
     "early Blackwell software apart"),
)
STARTS: tuple[tuple[float, ...], ...] = (
    (0.80, 0.50, 3e-4, 3e-6, 0.80),  # aiconfigurator's unofficial 0.8 bandwidth, 3 µs
    (0.70, 0.40, 1e-3, 2e-5, 0.60),
    (0.90, 0.65, 0.0, 4e-5, 0.70),
)


# --- a small bounded Nelder-Mead ---------------------------------------------------------


def nelder_mead(
    f: Callable[[Sequence[float]], float], x0: Sequence[float], step: float = 0.15,
    iterations: int = 600, tol: float = 1e-10,
) -> tuple[list[float], float]:
    """Minimise f over the unit cube (points are clipped to [0, 1])."""

    def clip(x: Sequence[float]) -> list[float]:
        return [min(max(v, 0.0), 1.0) for v in x]

    n = len(x0)
    simplex = [clip(x0)]
    for i in range(n):
        x = list(x0)
        x[i] = x[i] + step if x[i] + step <= 1.0 else x[i] - step
        simplex.append(clip(x))
    values = [f(x) for x in simplex]
    for _ in range(iterations):
        order = sorted(range(n + 1), key=values.__getitem__)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if values[-1] - values[0] < tol:
            break
        centroid = [sum(x[j] for x in simplex[:-1]) / n for j in range(n)]
        worst = simplex[-1]
        refl = clip([c + (c - w) for c, w in zip(centroid, worst, strict=True)])
        fr = f(refl)
        if fr < values[0]:
            exp = clip([c + 2.0 * (c - w) for c, w in zip(centroid, worst, strict=True)])
            fe = f(exp)
            simplex[-1], values[-1] = (exp, fe) if fe < fr else (refl, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = refl, fr
        else:
            con = clip([c + 0.5 * (w - c) for c, w in zip(centroid, worst, strict=True)])
            fc = f(con)
            if fc < values[-1]:
                simplex[-1], values[-1] = con, fc
            else:
                best = simplex[0]
                simplex = [best] + [
                    clip([b + 0.5 * (x - b) for b, x in zip(best, xs, strict=True)])
                    for xs in simplex[1:]
                ]
                values = [values[0]] + [f(x) for x in simplex[1:]]
    i = min(range(n + 1), key=values.__getitem__)
    return simplex[i], values[i]


def to_calibration(u: Sequence[float]) -> Calibration:
    """Unit-cube point to constants; within 1e-6 of a bound means at the bound."""
    vals = []
    for x, (_, lo, hi, _, _) in zip(u, PARAMETERS, strict=True):
        x = 0.0 if x < 1e-6 else 1.0 if x > 1.0 - 1e-6 else x
        vals.append(lo + (hi - lo) * x)
    return Calibration(*vals)


def to_unit(cal: Calibration) -> list[float]:
    return [
        (getattr(cal, name) - lo) / (hi - lo) for name, lo, hi, _, _ in PARAMETERS
    ]


# --- fitting -----------------------------------------------------------------------------


def signed_errors(rows: list[dict[str, str]], cal: Calibration) -> list[tuple[str, float]]:
    report = validate_rows(rows, calibration=cal)
    return [(r.id, r.error) for r in report.rows if r.error is not None]


def loss(rows: list[dict[str, str]], cal: Calibration) -> float:
    """Mean squared log error, each group (model, GPU, engine, load) weighing the same."""
    errs = signed_errors(rows, cal)
    if len(errs) < len(rows):
        return 1e9
    size: dict[str, int] = {}
    for r in rows:
        size[group_of(r)] = size.get(group_of(r), 0) + 1
    weight = {r["id"]: 1.0 / size[group_of(r)] for r in rows}
    total = sum(weight[i] * math.log1p(e) ** 2 for i, e in errs)
    return total / len(size)


def fit(rows: list[dict[str, str]]) -> Calibration:
    best: tuple[list[float], float] | None = None
    for start in STARTS:
        u, v = nelder_mead(lambda x: loss(rows, to_calibration(x)),
                           to_unit(Calibration(*start)))
        u, v = nelder_mead(lambda x: loss(rows, to_calibration(x)), u, step=0.03)
        if best is None or v < best[1]:
            best = (u, v)
    assert best is not None
    return to_calibration(best[0])


def group_of(row: dict[str, str]) -> str:
    return "/".join((row["model"], row["gpu"], row.get("engine", ""), row.get("load", "")))


def stats(errors: Sequence[float]) -> tuple[float, float]:
    apes = [abs(e) for e in errors]
    return percentile(apes, 0.5) or 0.0, percentile(apes, 0.9) or 0.0


def band(errors: Sequence[float]) -> tuple[float, float]:
    """(low, high): 10th and 90th percentiles of measured / predicted − 1."""
    ratios = [1.0 / (1.0 + e) - 1.0 for e in errors]
    return percentile(ratios, 0.1) or 0.0, percentile(ratios, 0.9) or 0.0


# --- writing -----------------------------------------------------------------------------


def render(
    cal: Calibration, used: list[dict[str, str]], digest: str, in_sample: tuple[float, float],
    all_throughput: tuple[float, float, int], cv: tuple[float, float], groups: int,
    dense_band: tuple[float, float], bias: float,
) -> str:
    today = dt.date.today().isoformat()
    lines = [
        "# Fitted constants of the roofline performance model (xlsizer/engine/performance.py).",
        "# WRITTEN BY scripts/calibrate.py - do not edit by hand; rerun the script instead.",
        "# Fitted only on validation/calibration.csv (a copy of the shared published",
        "# measurements); the sourced constants stay in performance.py with their sources.",
        "fitted:",
    ]
    for name, lo, hi, unit, what in PARAMETERS:
        value = getattr(cal, name)
        lines += [
            f"  {name}:",
            f"    value: {value:.6g}",
            f"    unit: {unit}",
            f"    bounds: [{lo:g}, {hi:g}]",
            f"    comment: {what}",
        ]
    ids = ", ".join(r["id"] for r in used)
    lines += [
        "provenance:",
        "  data: validation/calibration.csv",
        f"  data_sha256: {digest}",
        f"  date: {today}",
        f"  metric: {FIT_METRIC} (out_tok_s_total rows restate the same measurements)",
        f"  rows_used: {len(used)}",
        f"  row_ids: [{ids}]",
        "  objective: >-",
        "    mean squared log(predicted / measured), each model/GPU/engine/load group",
        "    weighing the same (the one batch-1 row, opt-027, is the only one that separates",
        "    layer overhead from bandwidth efficiency); bounded Nelder-Mead, 3 starts",
        "  structure: >-",
        "    Chosen while developing the model, on these rows only: GEMMs use a smooth",
        "    roofline sqrt(t_mem^2 + t_math^2) (ROOFLINE_NORM = 2), picked by",
        "    leave-one-group-out cross-validation of unweighted fits among exponents 1, 1.5,",
        "    2, 3 and a plain max (max: median APE 8.4%, p90 17.9%; 2: 5.8%, 12.8%; 1.5 tied",
        "    with 2); a separate FP4 factor (without it the FP8 and FP4 rows pull the shared",
        "    efficiencies apart: median APE 13-14%). Step overhead fits to 0: with CUDA",
        "    graphs and overlapped scheduling the fixed cost per step is not visible at these",
        "    batch sizes. Engines get no speed factor: all but one fitted row are",
        "    TensorRT-LLM, so the data cannot support one.",
        "  caution: >-",
        "    The TensorRT-LLM rows are load=max throughput ceilings (trtllm-bench, no latency",
        "    limit). The efficiencies describe a well-tuned engine; the TPOT-bound capacity",
        "    the sizing uses comes from the same physics at the batch the target allows.",
        "  error:",
        f"    in_sample_{FIT_METRIC}: {{rows: {len(used)}, median_ape: {in_sample[0]:.4f}, "
        f"p90_ape: {in_sample[1]:.4f}}}",
        f"    in_sample_all_throughput_rows: {{rows: {all_throughput[2]}, median_ape: "
        f"{all_throughput[0]:.4f}, p90_ape: {all_throughput[1]:.4f}}}",
        f"    leave_one_group_out: {{groups: {groups}, median_ape: {cv[0]:.4f}, "
        f"p90_ape: {cv[1]:.4f}}}",
        f"    mean_signed_error: {bias:+.4f}",
        "# Confidence band shown with results: measured / predicted - 1, 10th and 90th",
        "# percentiles of the leave-one-group-out predictions (80% of measurements inside).",
        "confidence_band:",
        "  dense:",
        f"    low: {dense_band[0]:.4f}",
        f"    high: {dense_band[1]:.4f}",
        f"    rows: {len(used)}",
        "    source: >-",
        f"      80% of {len(used)} published per-GPU throughput measurements of dense models",
        f"      (validation/calibration.csv, {groups} model/GPU/engine/load groups) fell within",
        f"      {dense_band[0] * 100:+.0f}% / {dense_band[1] * 100:+.0f}% of the prediction,"
        " each predicted",
        "      by a fit that had not seen its group (leave-one-group-out).",
        "  moe:",
        f"    low: {2 * dense_band[0]:.4f}",
        f"    high: {2 * dense_band[1]:.4f}",
        "    rows: 0",
        "    source: >-",
        "      calibration.csv has no MoE throughput measurement the model can predict, so",
        "      this is the dense band doubled, an assumption: expert load imbalance and",
        "      all-to-all traffic are modelled but not yet checked against measurements.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA), help="measurement CSV (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="print only, do not write")
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    args = parser.parse_args(argv)

    rows = read_rows(args.data)
    digest = hashlib.sha256(Path(args.data).read_bytes()).hexdigest()
    candidates = [r for r in rows if r.get("metric") == FIT_METRIC]
    report = validate_rows(candidates, calibration=performance.packaged_calibration())
    usable = {r.id for r in report.rows if r.error is not None}
    used = [r for r in candidates if r["id"] in usable]
    print(f"fitting on {len(used)} {FIT_METRIC} rows of {args.data} "
          f"({len(candidates) - len(used)} not predictable)")

    cal = fit(used)
    for name, _, _, unit, _ in PARAMETERS:
        print(f"  {name:<22} {getattr(cal, name):.6g}  ({unit})")
    errs = [e for _, e in signed_errors(used, cal)]
    in_sample = stats(errs)
    bias = sum(errs) / len(errs)
    print(f"in-sample {FIT_METRIC}: median APE {in_sample[0]:.1%}, p90 {in_sample[1]:.1%}, "
          f"mean signed error {bias:+.1%}")
    throughput = [r for r in rows if r.get("metric") in (FIT_METRIC, "out_tok_s_total")]
    all_errs = [e for _, e in signed_errors(throughput, cal)]
    all_stats = (*stats(all_errs), len(all_errs))
    print(f"in-sample all throughput rows ({len(all_errs)}): median APE {all_stats[0]:.1%}, "
          f"p90 {all_stats[1]:.1%}")

    groups: dict[str, list[dict[str, str]]] = {}
    for r in used:
        groups.setdefault(group_of(r), []).append(r)
    cv_errors: list[float] = []
    if not args.no_cv:
        for g, members in groups.items():
            train = [r for r in used if group_of(r) != g]
            held = [e for _, e in signed_errors(members, fit(train))]
            cv_errors += held
            m, p = stats(held)
            print(f"  held out {g:<55} {len(held):>3} rows: median APE {m:.1%}, p90 {p:.1%}")
        cv = stats(cv_errors)
        print(f"leave-one-group-out ({len(groups)} groups): median APE {cv[0]:.1%}, "
              f"p90 {cv[1]:.1%}")
    else:
        cv_errors = errs
        cv = in_sample
    dense_band = band(cv_errors)
    print(f"confidence band (dense): {dense_band[0]:+.1%} / {dense_band[1]:+.1%}")

    text = render(cal, used, digest, in_sample, all_stats, cv, len(groups), dense_band, bias)
    if args.dry_run:
        print("\n(dry run: calibration.yaml not written)")
    else:
        OUT.write_text(text, encoding="utf-8")
        print(f"\nwrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
