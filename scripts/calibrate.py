#!/usr/bin/env python3
"""Fit the performance model's few global constants on public measurements and judge them by
leave-one-model-out cross-validation; write them, their provenance and the cross-validated
error to xlsizer/catalog/data/calibration.yaml.

    python scripts/calibrate.py            # fit, cross-validate, print, write calibration.yaml
    python scripts/calibrate.py --dry-run  # the same without writing
    python scripts/calibrate.py --quick    # fit on every other run (faster, for development)

What is fitted (seven global constants and three per engine, none per GPU or model):
  bandwidth_efficiency   achievable fraction of peak memory bandwidth
  compute_efficiency     achievable fraction of the dense tensor peak (MFU) in decode steps
  prefill_compute_efficiency  the same for prefill passes
  fp4_gemm_efficiency    multiplier on the compute efficiency for native FP4 x FP4 GEMMs
  moe_layer_overhead_s   fixed time per MoE layer per step (router, top-k, permutes)
  allreduce_peer_s       time per decode token per tensor-parallel all-reduce per peer GPU
  in_step_share          benchmarks on a prefill-first engine (SGLang): share of the rounds
                         whose clients stay in step (between one round in R and all of them)
per engine:
  step_overhead_s        fixed time per engine step
  layer_overhead_s       fixed time per layer per step (how an engine fuses small kernels)
  request_overhead_s     fixed time to a first token beyond the prefill math
Everything else is derived or sourced (engine/step.py, engine/moe.py, engines.yaml); how
much of a benchmark's TTFT is its clients' first burst follows from the benchmark's rounds
and each engine's scheduling order (engine/queueing.py): fitted only for an engine that runs
prompts before decodes, where fixed lengths would keep every round in step.

On which rows (public only; every row of both files is `split = public`):
- validation/calibration.csv: the per-GPU throughput rows xlsizer.validation can predict
  (out_tok_s_total restates them; ratio rows are not measurements of one setup);
- validation/serving.csv: every TTFT and TPOT row it can predict (agg and disagg).

How: robust least squares (scipy.optimize.least_squares, soft-L1 loss with scale 0.25 on
log(predicted / measured), so a few runs an engine marks work-in-progress, with TTFTs ten
times their neighbours', cannot pull the constants), each (file, model, metric) group
weighing the same in total (a group of fewer than 20 rows in proportion: ``FULL_GROUP``).
Then the same fit once per serving.csv model with that model's
rows left out; each left-out model's rows are predicted by the fit that did not see it. Those
predictions give the error reported (per family and engine) and the confidence band shown
with results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlsizer.engine.calibration import Calibration  # noqa: E402
from xlsizer.validation import (  # noqa: E402
    RowResult,
    percentile,
    read_rows,
    validate_rows,
)

CALIBRATION_CSV = ROOT / "validation" / "calibration.csv"
SERVING_CSV = ROOT / "validation" / "serving.csv"
OUT = ROOT / "xlsizer" / "catalog" / "data" / "calibration.yaml"

# name, unit, lower bound, upper bound, start, comment (bounds: physically plausible ranges)
GLOBAL: list[tuple[str, str, float, float, float, str]] = [
    # upper bounds are what the H100/H200 probe measured for plain, well-shaped work
    # (gpu-measurements.md): a read-only stream at 0.88-0.91 of the datasheet bandwidth,
    # large dense GEMMs at 0.61-0.79 of the dense peak; a serving engine cannot beat them
    ("bandwidth_efficiency", "fraction of peak memory bandwidth", 0.5, 0.91, 0.85,
     "achievable share of the datasheet HBM bandwidth for weight and KV reads"),
    ("compute_efficiency", "fraction of dense tensor peak", 0.3, 0.79, 0.55,
     "achievable share of the datasheet dense FLOPS (MFU) for GEMMs and attention, on the reference GPU (H100 SXM); "
     "other GPUs scale it by their measured sustained tensor share (engine/step.py sustained_tensor_ratio)"),
    ("prefill_compute_efficiency", "fraction of dense tensor peak", 0.2, 0.79, 0.5,
     "achievable share of the dense peak in prefill passes (large GEMMs, no CUDA graphs), on the reference GPU"),
    ("fp4_gemm_efficiency", "multiplier on the compute efficiency", 0.3, 1.0, 0.85,
     "block-scaled FP4 GEMM math (NVFP4/MXFP4 x FP4 on Blackwell, MI355X) relative to the "
     "8/16-bit GEMMs' share of their peak; streaming 4-bit weights is bytes, not scaled"),
    ("moe_layer_overhead_s", "s per MoE layer per step", 0.0, 5e-4, 2e-5,
     "router, top-k, token permute/unpermute kernels of a MoE layer"),
    # upper bound 100 ns: at a 16 KB hidden state (8,192 BF16) a peer's share moving at
    # 160 GB/s, a third of an H100's NVLink per direction; 0: the bytes alone (ring model)
    # (no start value: it is chosen on the PROFILED grid, not by the trust region)
    ("allreduce_peer_s", "s per decode token per all-reduce per peer GPU", 0.0, 1e-7, 0.0,
     "custom all-reduce kernels for decode-sized messages: per-peer loads and flag "
     "synchronisation beyond the collective's bytes (tensor-parallel replicas)"),
    # lower bound: one round in the harness's 20 is a burst whatever the engine does
    ("in_step_share", "share of a benchmark's rounds", 0.05, 1.0, 0.5,
     "prefill-first engines (SGLang): share of a benchmark's rounds whose clients stay in step"),
]
PER_ENGINE: list[tuple[str, str, float, float, float, str]] = [
    ("layer_overhead_s", "s per layer per step", 0.0, 2e-4, 6e-5,
     "small kernels per layer (norms, RoPE, activation quantization) and their launches"),
    ("step_overhead_s", "s per engine step", 0.0, 0.01, 0.0005,
     "scheduling, sampling and launch time per step that CUDA graphs do not hide"),
    ("request_overhead_s", "s per request", 0.0, 0.15, 0.05,
     "tokenization, scheduling, first-step launch and detokenization before the first token"),
]
ENGINES = ["sglang", "tensorrt-llm", "vllm"]
PROFILED: dict[str, tuple[float, ...]] = {"allreduce_peer_s": tuple(i * 1e-8 for i in range(9))}
"""Constants chosen by scanning the loss over a grid (the rest refitted at each scan's pick)
instead of by the trust region. The per-peer all-reduce term is a small share of most rows'
step: started at 25 ns, the trust region took it to its lower bound in three refits (relative
finite-difference steps 1e-3 and 0.1 alike), while the loss at the constants it returned fell
from 0 to 25 ns (1.352 -> 1.338). A grid of 10 ns is as fine as these runs can tell."""
PARAMS = [p for p in GLOBAL if p[0] not in PROFILED] + [
    (f"{e}:{n}", u, lo, hi, x0, c) for e in ENGINES for n, u, lo, hi, x0, c in PER_ENGINE]
NAMES = [p[0] for p in PARAMS]
LOSS_SCALE = 0.25
"""soft-L1 scale on log errors: residuals beyond ~25% count linearly, not squared."""


def load_rows(quick: bool) -> list[dict[str, str]]:
    """The public rows the fit may use: calibration.csv's per-GPU throughput rows and every
    serving.csv row (``quick``: every other serving run)."""
    rows = [r for r in read_rows(CALIBRATION_CSV)
            if r.get("metric") == "out_tok_s_per_gpu" and r.get("split", "public") == "public"]
    for r in rows:
        r["_file"] = "calibration"
    serving = [r for r in read_rows(SERVING_CSV) if r.get("split", "public") == "public"]
    if quick:
        serving = [r for i, r in enumerate(serving) if (i // 2) % 2 == 0]  # both metrics of a run
    for r in serving:
        r["_file"] = "serving"
    return rows + serving


def to_calibration(x: Sequence[float], profiled: dict[str, float] | None = None) -> Calibration:
    values = dict(zip(NAMES, (float(v) for v in x), strict=True))
    glob = {n: values[n] for n, *_ in GLOBAL if n not in PROFILED}
    # a profiled constant not given sits at its grid's first value (0: the term off)
    glob.update({n: grid[0] for n, grid in PROFILED.items()} | (profiled or {}))
    per = tuple((e, n, values[f"{e}:{n}"]) for e in ENGINES for n, *_ in PER_ENGINE)
    # engines outside the three fall back to the median of the three
    for n, *_ in PER_ENGINE:
        glob[n] = float(np.median([values[f"{e}:{n}"] for e in ENGINES]))
    return Calibration(**glob, engines=per)


def vector(cal: Calibration) -> list[float]:
    return [getattr(cal, n) if ":" not in n else cal.engine_value(*n.split(":")) for n in NAMES]


def predict(rows: list[dict[str, str]], cal: Calibration) -> list[RowResult]:
    return list(validate_rows(rows, calibration=cal).rows)


FULL_GROUP = 20
"""Rows from which a (file, model, metric) group weighs in full: the same 20 the confidence
band asks of an engine's group. A smaller one weighs rows / 20 of that, so one or two runs do
not pull the shared constants as hard as a model measured 490 times (deepseek-r1's single
calibration.csv row; deepseek-v3.1's two serving runs, whose TPOT is half the predicted
with multi-token prediction's state unrecorded)."""


def weights(rows: list[dict[str, str]]) -> np.ndarray:
    """Each (file, model, metric) group weighs the same in total once it has ``FULL_GROUP``
    rows; a smaller group in proportion to its rows."""
    key = [(r["_file"], r.get("model", ""), r.get("metric", "")) for r in rows]
    count: dict[tuple[str, str, str], int] = defaultdict(int)
    for k in key:
        count[k] += 1
    return np.array([min(count[k], FULL_GROUP) / FULL_GROUP / count[k] for k in key])


def residuals_at(rows: list[dict[str, str]], cal: Calibration, w: np.ndarray) -> np.ndarray:
    """The fit's residuals: sqrt-weighted log(predicted / measured), 0 where a row has no
    prediction (``w``: ``np.sqrt(weights(rows))``)."""
    out = np.zeros(len(rows))
    for i, r in enumerate(predict(rows, cal)):
        if r.predicted is not None and r.measured and r.predicted > 0:
            out[i] = math.log(r.predicted / r.measured)
    return out * w


def loss(rows: list[dict[str, str]], cal: Calibration) -> float:
    """The fit's objective at ``cal``: least_squares' soft-L1 cost of its residuals."""
    z = (residuals_at(rows, cal, np.sqrt(weights(rows))) / LOSS_SCALE) ** 2
    return float(LOSS_SCALE ** 2 * np.sum(np.sqrt(1.0 + z) - 1.0))


def profile(rows: list[dict[str, str]], cal: Calibration) -> dict[str, float]:
    """Each ``PROFILED`` constant's grid value with the lowest ``loss``, the others at ``cal``."""
    out: dict[str, float] = {}
    for name, grid in PROFILED.items():
        out[name] = min(grid, key=lambda v: loss(rows, replace(cal, **{name: v})))
    return out


def fit(rows: list[dict[str, str]], start: Sequence[float] | None = None, max_nfev: int = 20,
        profiled: dict[str, float] | None = None) -> Calibration:
    """The least-squares constants with the ``PROFILED`` ones held at ``profiled``."""
    w = np.sqrt(weights(rows))

    def residuals(x: np.ndarray) -> np.ndarray:
        return residuals_at(rows, to_calibration(x, profiled), w)

    lo = np.array([p[2] for p in PARAMS])
    hi = np.array([p[3] for p in PARAMS])
    x0 = np.clip(np.array(start if start is not None else [p[4] for p in PARAMS]), lo, hi)
    sol = least_squares(residuals, x0, bounds=(lo, hi), loss="soft_l1", f_scale=LOSS_SCALE,
                        x_scale=(hi - lo) / 4.0, diff_step=1e-3, max_nfev=max_nfev)
    return to_calibration(sol.x, profiled)


def summary(results: Sequence[RowResult], key) -> dict[str, dict[str, float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in results:
        if r.error is not None:
            groups[key(r)].append(r.error)
    out = {}
    for k in sorted(groups):
        errs = groups[k]
        apes = [abs(e) for e in errs]
        out[k] = {"rows": len(errs), "median_ape": round(percentile(apes, 0.5) or 0, 4),
                  "p90_ape": round(percentile(apes, 0.9) or 0, 4),
                  "median_signed_error": round(percentile(errs, 0.5) or 0, 4)}
    return out


def band(errors: Sequence[float]) -> tuple[float, float]:
    """10th/90th percentiles of measured / predicted − 1 for throughput, from TPOT errors
    (throughput ∝ 1 / TPOT: measured/predicted throughput − 1 = predicted/measured TPOT − 1)."""
    return percentile(errors, 0.1) or 0.0, percentile(errors, 0.9) or 0.0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    rows = load_rows(args.quick)
    print(f"fitting on {len(rows)} public rows", flush=True)
    first = fit(rows)
    picked = profile(rows, first)
    full = fit(rows, vector(first), max_nfev=10, profiled=picked)
    print("full fit:", dict(zip(NAMES, (round(v, 6) for v in vector(full)), strict=True)), picked, flush=True)
    models = sorted({r["model"] for r in rows if r["_file"] == "serving" and r.get("model")})
    held: dict[str, Calibration] = {}
    cv_results: list[RowResult] = []
    all_serving = [r for r in read_rows(SERVING_CSV)]
    for m in models:
        train = [r for r in rows if r.get("model") != m]
        cal = fit(train, vector(full), max_nfev=6, profiled=profile(train, full))
        held[m] = cal
        test = [r for r in all_serving if r.get("model") == m]
        res = predict(test, cal)
        cv_results += res
        errs = [r.ape for r in res if r.ape is not None]
        print(f"  without {m}: median APE on it {percentile(errs, 0.5) or 0:.3f}", flush=True)
    in_sample = predict(all_serving, full)
    by_fm = summary(cv_results, lambda r: f"{r.family}/{r.metric}")
    by_fe = summary(cv_results, lambda r: f"{r.family}/{r.engine}/{r.metric}")
    ins_fm = summary(in_sample, lambda r: f"{r.family}/{r.metric}")
    for k, v in by_fm.items():
        print(f"  LOMO {k:24s} {v}")
    bands: dict[str, dict[str, object]] = {}
    for fam in ("dense", "moe"):
        errs = [r.error for r in cv_results if r.error is not None and r.family == fam
                and r.metric == "tpot_ms"]
        lo, hi = band(errs)
        bands[fam] = {"low": round(lo, 4), "high": round(hi, 4), "rows": len(errs)}
        for eng in sorted({r.engine for r in cv_results if r.family == fam}):
            e2 = [r.error for r in cv_results if r.error is not None and r.family == fam
                  and r.engine == eng and r.metric == "tpot_ms"]
            if len(e2) >= 20:
                lo2, hi2 = band(e2)
                bands[f"{fam}/{eng}"] = {"low": round(lo2, 4), "high": round(hi2, 4),
                                         "rows": len(e2)}
    text = render(full, held, rows, by_fm, by_fe, ins_fm, bands, args.quick)
    if args.dry_run:
        print(text)
    else:
        OUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


def _yaml_float(x: float, spec: str = ".6g") -> str:
    """``x`` as YAML 1.1 reads a float: an exponent needs a dot in its mantissa (PyYAML reads
    "1e-07" as a string, "1.0e-07" as a number)."""
    text = format(x, spec)
    mant, e, exp = text.partition("e")
    return f"{mant}.0e{exp}" if e and "." not in mant else text


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render(full: Calibration, held: dict[str, Calibration], rows: list[dict[str, str]],
           by_fm: dict, by_fe: dict, ins_fm: dict, bands: dict, quick: bool) -> str:
    n_cal = sum(1 for r in rows if r["_file"] == "calibration")
    n_srv = len(rows) - n_cal
    out = [
        "# Fitted constants of the performance model (xlsizer/engine/step.py, moe.py, queueing.py).",
        "# WRITTEN BY scripts/calibrate.py - do not edit by hand; rerun the script instead.",
        "# Fitted only on public rows of validation/calibration.csv and validation/serving.csv",
        "# (copies of the shared published measurements, sources in validation/README.md);",
        "# the sourced constants stay in the code beside their sources.",
        "fitted:",
    ]
    for name, unit, lo, hi, _, comment in GLOBAL + PER_ENGINE:
        out += [f"  {name}:", f"    value: {_yaml_float(getattr(full, name))}", f"    unit: {unit}",
                f"    bounds: [{_yaml_float(lo, 'g')}, {_yaml_float(hi, 'g')}]", "    comment: " + json.dumps(
                    comment + (" (median of the engines below; used for any other engine)" if
                               name in [p[0] for p in PER_ENGINE] else ""))]
    out.append("# Per-engine values (engines.yaml lists the engines and their sourced limits).")
    out.append("fitted_per_engine:")
    for e in ENGINES:
        out.append(f"  {e}:")
        for name, unit, lo, hi, _, _c in PER_ENGINE:
            out.append(f"    {name}: {{value: {_yaml_float(full.engine_value(e, name))}, unit: {unit}, "
                       f"bounds: [{_yaml_float(lo, 'g')}, {_yaml_float(hi, 'g')}]}}")
    out += [
        "provenance:",
        "  data:",
        f"    - {{file: validation/calibration.csv, sha256: {_sha(CALIBRATION_CSV)}, rows_used: {n_cal},"
        " metric: out_tok_s_per_gpu}",
        f"    - {{file: validation/serving.csv, sha256: {_sha(SERVING_CSV)}, rows_used: {n_srv},"
        " metrics: [ttft_ms, tpot_ms]}",
        f"  date: {dt.date.today().isoformat()}",
        f"  subsample: {'every other serving run (--quick)' if quick else 'none'}",
        "  objective: >-",
        "    robust least squares (soft-L1, scale 0.25) on log(predicted / measured), each",
        f"    (file, model, metric) group weighing the same (under {FULL_GROUP} rows in proportion);",
        "    scipy least_squares, bounded",
        "  judged_by: >-",
        "    leave-one-model-out: each serving.csv model's rows predicted by the fit made",
        "    without them (below, and `xlsizer validate` uses those fits for those models)",
        "  error:",
        "    leave_one_model_out:",
    ]
    for k, v in by_fm.items():
        out.append(f"      {k}: {v}")
    out.append("    leave_one_model_out_by_engine:")
    for k, v in by_fe.items():
        out.append(f"      {k}: {v}")
    out.append("    in_sample:")
    for k, v in ins_fm.items():
        out.append(f"      {k}: {v}")
    out.append("# The same constants fitted without each model (leave-one-model-out).")
    out.append("leave_one_model_out:")
    for m, cal in held.items():
        vals = ", ".join(f"{n}: {_yaml_float(getattr(cal, n))}" for n, *_ in GLOBAL)
        eng = ", ".join(
            f"{e}: {{" + ", ".join(f"{n}: {_yaml_float(cal.engine_value(e, n))}" for n, *_ in PER_ENGINE)
            + "}"
            for e in ENGINES)
        out.append(f"  {m}: {{{vals}, engines: {{{eng}}}}}")
    out += [
        "# Confidence band shown with results: measured / predicted - 1 of throughput, 10th and",
        "# 90th percentiles (80% of measurements inside), from the leave-one-model-out TPOT",
        "# errors of serving.csv (throughput at a batch is 1 / TPOT), per family and per",
        "# family/engine where 20 rows or more.",
        "confidence_band:",
    ]
    for k, v in bands.items():
        fam, _, eng = k.partition("/")
        what = f"{'MoE' if fam == 'moe' else 'dense'} models" + (f" on {eng}" if eng else "")
        out += [f"  {k}:", f"    low: {v['low']}", f"    high: {v['high']}", f"    rows: {v['rows']}",
                "    source: >-",
                f"      80% of {v['rows']} measured serving runs of {what} (validation/serving.csv)",
                f"      fell within {v['low'] * 100:+.0f}% / {v['high'] * 100:+.0f}% of the prediction,"
                " each predicted by a fit that had not seen its model (leave-one-model-out)."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
