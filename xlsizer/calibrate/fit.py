"""Fit a calibration profile on one deployment's measured runs.

Each run is predicted by the function ``xlsizer validate`` uses (``validation.validate_rows``
→ ``predict_row``) with the packaged calibration whose few factors (``profile.FACTORS``) are
replaced by trial values; the fit finds the values that make log(predicted / measured) small.

How (a judgement call, written down): a robust, regularised least squares.
- Residual per row: log(predicted / measured).
- Two stages (``STAGES``): the decode factors on the TPOT rows, then the first-token factors on
  the TTFT rows (and the TPOT rows, which they also move) with the decode factors fixed.
- Guarded (``fit``): a fit can trade the runs it saw for the runs it did not, so the stages are
  kept only where they predict runs they were not fitted on better. Candidates: the packaged
  values, the decode stage alone, the first-token stage alone, both; each is judged by
  cross-validation over the runs (``_folds``: fitted without a fold, that fold predicted). A
  candidate is eligible if, for TPOT and for TTFT alike, its cross-validated median error and
  its median error fitted on all the runs are at most the packaged values' on the same rows,
  and it lowers one; on a metric it does not fit, its cross-validated mean error must hold too,
  except where the packaged values already predict that metric within the noise
  (``NOISE_FLOOR``): there its errors need only stay within the noise (``_eligible``); among
  the eligible, the lowest sum of cross-validated / packaged median error wins; none eligible:
  the packaged values stay. So a profile never raises the median error of its own runs beyond
  the larger of the packaged values' and the noise, and only moves factors whose gain held on
  runs left out.
- Not below the noise: a stage whose metric the packaged values already predict within a
  benchmark's run-to-run spread (``NOISE_FLOOR``) is not offered to the guard.
- Robust: soft-L1 loss with scale ``LOSS_SCALE`` (the packaged fit's, scripts/calibrate.py), so
  one odd run counts linearly, not squared.
- Regularised: a Gaussian prior centred on the packaged value of each factor
  (``FactorSpec.prior_sigma``, weight ``PRIOR_WEIGHT``): a factor the runs cannot see (the
  prefill efficiency when every run has short prompts) stays where the public data put it
  instead of wandering.
- Solver: Levenberg-Marquardt with forward-difference Jacobians and iteratively reweighted
  residuals, on log(value) for efficiencies and on value / prior sigma for overheads, clipped
  to the bounds. Six parameters and tens of rows: written out here (``_solve``) so the runtime
  package needs no scipy/numpy (neither is a dependency; scripts/calibrate.py, which fits the
  packaged constants on thousands of rows, uses scipy as a development tool only).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from xlsizer.calibrate.profile import (
    FACTOR_BY_NAME,
    FACTORS,
    Deployment,
    Factor,
    FactorSpec,
    Profile,
    Range,
    apply_factors,
    canonical_engine,
)
from xlsizer.calibrate.readers import CalibrationInputError, FileRuns
from xlsizer.catalog.loader import load_catalog
from xlsizer.engine.calibration import Calibration, packaged_calibration
from xlsizer.errors import XlsizerError
from xlsizer.validation import RowResult, percentile, validate_rows

LOSS_SCALE = 0.25
"""Soft-L1 scale on log errors (as scripts/calibrate.py): beyond ~25% a residual counts linearly."""

PRIOR_WEIGHT = 0.0002
"""Weight of each factor's prior against the runs (whose TTFT and TPOT rows weigh 1 each in
total): moving an efficiency one prior sigma (25%) costs what a 1.4% error on every run of one
metric costs. A judgement call, chosen on the training halves of scripts/calibrate_holdout.py
among 0.02, 0.002, 0.0002 and 0.00002 (held-out TPOT median 10.5%, 8.7%, 5.7%, 5.9% on its first
24 deployments): weak enough that the runs move every factor they see, still enough to keep a
factor the runs do not constrain (the prefill efficiency when no run has a long prompt) at the
packaged value instead of anywhere in its bounds."""

MIN_RUNS = 2
"""Fewest runs a profile is fitted on: one run cannot tell a bandwidth factor from an overhead."""

CV_FOLDS = 5
"""Folds of the cross-validation that decides which stages are kept (``_folds``): five
interleaved folds (leave-one-run-out below five runs). Each fold is one more fit per
candidate, so the guard costs about (1 + 5) x 3 fits: seconds for tens of runs."""

CV_MARGIN = 0.0
"""How much lower than the values it replaces a stage's cross-validated median error must be
for the stage to be kept, as a fraction of the latter."""

NOISE_FLOOR = 0.05
"""A stage is not fitted where the packaged values already predict its metric's runs to within
this median |log(predicted / measured)| (5%): the run-to-run spread of one benchmark on one
deployment (``profile.MIN_BAND``, the same judgement call), below which a fit cannot tell the
physics from the noise. scripts/calibrate_holdout.py (93 deployments, 2026-12-05): deployments
whose held-out runs the profile made worse 9 -> 7 (TPOT) and 6 -> 5 (TTFT), the held-out medians
TPOT 5.7% -> 5.8% and TTFT 14.4% -> 14.5%."""

MAX_ITERATIONS = 25
"""Levenberg-Marquardt iterations at most (a 6-parameter fit converges in well under 20)."""


@dataclass(frozen=True, slots=True)
class FitResult:
    """A fitted profile's factor values and its rows predicted before and after."""

    values: dict[str, float]
    before: tuple[RowResult, ...]
    after: tuple[RowResult, ...]
    iterations: int
    kept_packaged: tuple[str, ...] = ()
    """Metrics whose stage was not kept (its factors stay packaged): the guard (``fit``) found
    no model with that stage that predicted runs it was not fitted on better."""
    checks: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per candidate model of the guard ("tpot_ms", "ttft_ms", "tpot_ms+ttft_ms": the stages
    it fits): whether it was eligible (``kept``), its score, and per metric the median absolute
    log error of the rows with the values it replaces (``before``), fitted on all the runs and
    cross-validated."""
    folds: int = 0
    """Folds of the guard's cross-validation (``_folds``)."""
    chosen: str = ""
    """The candidate the guard chose (a key of ``checks``), or "none (packaged values)"."""


def _metric(r: RowResult) -> str:
    return "tpot_ms" if r.metric == "itl_ms" else r.metric


def _canon(rows: Sequence[dict[str, str]]) -> Deployment:
    """The one deployment ``rows`` measured (``CalibrationInputError`` if several or none known)."""
    cat = load_catalog()
    seen: dict[tuple[Any, ...], int] = {}
    for r in rows:
        try:
            model, gpu = cat.model(r["model"]).id, cat.gpu(r["gpu"]).id
            engine = canonical_engine(r.get("engine") or "vllm")
        except XlsizerError as exc:
            raise CalibrationInputError(f"row {r.get('id')}: {exc.short()}") from None
        try:  # 0 or blank: not stated, as validation.predict_row reads them
            count = int(float(r.get("gpu_count") or 0))
            tp = int(float(r.get("tp") or 0)) or count or 1
            key = (model, gpu, engine, r.get("weights_precision", "").lower(), count or tp, tp,
                   int(float(r.get("ep") or 0)) or 1, int(float(r.get("dp") or 0)) or 1,
                   (r.get("mode") or "agg").lower())
        except (ValueError, OverflowError):  # not a number; infinite
            raise CalibrationInputError(f"row {r.get('id')}: gpu_count, tp, ep and dp must be whole numbers") from None
        seen[key] = seen.get(key, 0) + 1
    if not seen:
        raise CalibrationInputError("no runs to calibrate on")
    if len(seen) > 1:
        keys = sorted(seen, key=lambda k: -seen[k])
        desc = "; ".join(f"{k[0]} on {k[5]}x{k[1]} {k[2]} {k[3]} ({seen[k]} rows)" for k in keys[:3])
        more = "; ..." if len(keys) > 3 else ""
        raise CalibrationInputError(f"the rows measure {len(seen)} deployments ({desc}{more}); "
                                    "a profile is for one: choose it with --set model=... gpu=... tp=... engine=...")
    k = next(iter(seen))
    try:
        return Deployment(model=k[0], gpu=k[1], engine=k[2], weights_precision=k[3], gpu_count=k[4], tp=k[5],
                          ep=k[6], dp=k[7], mode=k[8])
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CalibrationInputError(f"deployment {err['loc'][0]}: {err['msg']}") from None


LAYOUT_COLUMNS: tuple[str, ...] = ("prefill_workers", "prefill_tp", "prefill_dp", "prefill_ep",
                                   "decode_workers", "decode_tp", "decode_dp", "decode_ep")
"""Validation-CSV columns that describe a disaggregated deployment's layout."""


def _mixed_stack(rows: Sequence[dict[str, str]]) -> list[str]:
    """Notes where ``rows`` mix what a profile assumes is one stack: engine versions, or the
    layouts of a disaggregated deployment. Said, not refused (a team may pool on purpose): the
    factors then fit an average of stacks that measured the same load differently (serving.csv's
    DeepSeek-V3 on GB200 with SGLang: TPOT 22.7 ms on 0.5.8 and 38.3 ms on 0.5.5.post2 at 8,192
    clients), and runs held out of such a pool are where a profile most often did worse
    (docs/calibrate.md, section 5)."""
    notes = []
    versions = sorted({(r.get("engine_version") or "").strip() for r in rows} - {""})
    if len(versions) > 1:
        notes.append(f"the runs mix {len(versions)} engine versions ({', '.join(versions)}): a profile describes "
                     "one stack; fit each version's runs on their own where they differ")
    layouts = {tuple((r.get(c) or "").strip() for c in LAYOUT_COLUMNS) for r in rows} - {("",) * len(LAYOUT_COLUMNS)}
    if len(layouts) > 1:
        notes.append(f"the runs mix {len(layouts)} disaggregated layouts (prefill / decode workers and their "
                     "parallelism): a profile describes one; fit each layout's runs on their own")
    return notes


def _to_u(spec: FactorSpec, v: float) -> float:
    return math.log(max(v, 1e-12)) if spec.log else v / spec.prior_sigma


def _from_u(spec: FactorSpec, u: float) -> float:
    return math.exp(u) if spec.log else u * spec.prior_sigma


def _bounds_u(spec: FactorSpec) -> tuple[float, float]:
    return _to_u(spec, spec.low), _to_u(spec, spec.high)


def _sigma_u(spec: FactorSpec) -> float:
    return spec.prior_sigma if spec.log else 1.0


def _solve_linear(a: list[list[float]], b: list[float]) -> list[float] | None:
    """x with a x = b (Gaussian elimination, partial pivoting); None if singular."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda i: abs(m[i][c]))
        if abs(m[p][c]) < 1e-300:
            return None
        m[c], m[p] = m[p], m[c]
        for i in range(c + 1, n):
            f = m[i][c] / m[c][c]
            for j in range(c, n + 1):
                m[i][j] -= f * m[c][j]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (m[i][n] - sum(m[i][j] * x[j] for j in range(i + 1, n))) / m[i][i]
    return x


def _solve(residuals: Callable[[list[float]], list[float]], weights: list[float], u0: list[float],
           specs: Sequence[FactorSpec]) -> tuple[list[float], int]:
    """Levenberg-Marquardt on soft-L1 of the weighted residuals plus the prior (see module)."""
    lo = [_bounds_u(s)[0] for s in specs]
    hi = [_bounds_u(s)[1] for s in specs]
    sig = [_sigma_u(s) for s in specs]
    n = len(u0)
    s2 = LOSS_SCALE ** 2

    def clip(u: list[float]) -> list[float]:
        return [min(max(x, lo[i]), hi[i]) for i, x in enumerate(u)]

    def cost(u: list[float], r: list[float]) -> float:
        data = sum(w * 2.0 * s2 * (math.sqrt(1.0 + ri * ri / s2) - 1.0) for w, ri in zip(weights, r, strict=True))
        prior = sum(PRIOR_WEIGHT * ((u[i] - u0[i]) / sig[i]) ** 2 for i in range(n))
        return data + prior

    u = clip(list(u0))
    r = residuals(u)
    c = cost(u, r)
    lam = 1e-3
    it = 0
    for it in range(1, MAX_ITERATIONS + 1):  # noqa: B007 (the count is returned)
        h = 1e-2
        cols: list[list[float]] = []
        for j in range(n):
            step = h if u[j] + h <= hi[j] else -h
            uj = list(u)
            uj[j] += step
            rj = residuals(uj)
            cols.append([(a - b) / step for a, b in zip(rj, r, strict=True)])
        # IRLS weight of soft-L1: rho'(z) = 1 / sqrt(1 + z), z = (r / scale)^2
        wr = [w / math.sqrt(1.0 + ri * ri / s2) for w, ri in zip(weights, r, strict=True)]
        a = [[sum(wr[k] * cols[i][k] * cols[j][k] for k in range(len(r))) for j in range(n)] for i in range(n)]
        g = [sum(wr[k] * cols[i][k] * r[k] for k in range(len(r))) for i in range(n)]
        for i in range(n):
            a[i][i] += PRIOR_WEIGHT / sig[i] ** 2
            g[i] += PRIOR_WEIGHT * (u[i] - u0[i]) / sig[i] ** 2
        improved = False
        for _ in range(8):
            damped = [[a[i][j] + (lam * (a[i][i] + 1e-12) if i == j else 0.0) for j in range(n)] for i in range(n)]
            du = _solve_linear(damped, [-x for x in g])
            if du is None:
                lam *= 10.0
                continue
            un = clip([u[i] + du[i] for i in range(n)])
            rn = residuals(un)
            cn = cost(un, rn)
            if cn < c:
                moved = max(abs(un[i] - u[i]) for i in range(n))
                u, r, gain, c = un, rn, c - cn, cn
                lam = max(lam / 3.0, 1e-7)
                improved = True
                break
            lam *= 4.0
        if not improved or moved < 1e-4 or gain < 1e-7:
            break
    return u, it


STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tpot_ms", ("bandwidth_efficiency", "compute_efficiency", "step_overhead_s", "layer_overhead_s")),
    ("ttft_ms", ("prefill_compute_efficiency", "request_overhead_s", "in_step_share", "queue_service_scale")),
)
"""The fit in two stages: the decode factors on the TPOT rows, then, with those fixed, the
first-token factors on the TTFT rows and the TPOT rows (each metric weighing 1: the prefill
efficiency also sets the time of the prompt chunks that share decode steps, so the TPOT rows
constrain it too). A decode step is measured cleanly by TPOT; a TTFT mixes the prefill with
queueing and the benchmark's start, and its errors run to several times (serving.csv: a run's
TTFT 3x or 10x its neighbours'); fitted together, the TTFT rows pulled the step overhead to
where TPOT got worse (scripts/calibrate_holdout.py: llama-3.1-70b on B200, TensorRT-LLM,
TPOT 4% -> 12% on the training runs)."""


def _runs_in_order(rows: Sequence[dict[str, str]], idx: Sequence[int]) -> list[str]:
    """The runs (``_run``) of ``rows[idx]`` sorted by input length, output length and
    concurrency (the order the folds of ``_folds`` interleave)."""
    def num(r: dict[str, str], k: str) -> float:
        try:
            return float(r.get(k) or 0.0)
        except ValueError:
            return 0.0

    first: dict[str, dict[str, str]] = {}
    for i in idx:
        first.setdefault(rows[i].get("_run", str(i)), rows[i])
    return sorted(first, key=lambda k: (num(first[k], "isl"), num(first[k], "osl"), num(first[k], "concurrency"), k))


def _folds(rows: Sequence[dict[str, str]], idx: Sequence[int]) -> list[list[int]]:
    """``idx`` split into at most ``CV_FOLDS`` folds by run (a run's TTFT and TPOT rows stay
    together): the runs, sorted by lengths and load, dealt round-robin (run k to fold k mod K),
    so that each fold spans the loads and lengths as a team's next runs would; one run per
    fold (leave-one-run-out) with fewer runs than ``CV_FOLDS``."""
    order = _runs_in_order(rows, idx)
    k = min(len(order), CV_FOLDS)
    fold_of = {run: i % k for i, run in enumerate(order)}
    out: list[list[int]] = [[] for _ in range(k)]
    for i in idx:
        out[fold_of[rows[i].get("_run", str(i))]].append(i)
    return out


def _median_abs(xs: Sequence[float]) -> float:
    return percentile([abs(x) for x in xs], 0.5) or 0.0


def _mean_abs(xs: Sequence[float]) -> float:
    return sum(abs(x) for x in xs) / len(xs) if xs else 0.0


def _eligible(fitted: Sequence[str], before: dict[str, float], before_mean: dict[str, float],
              train: dict[str, float], cv: dict[str, float], cv_mean: dict[str, float], folds: int) -> bool:
    """Whether the guard may choose a candidate fitting the stages of ``fitted`` (metric names);
    errors per metric are |log(predicted / measured)|, medians unless named ``_mean``.

    - Cross-validated at all (two folds or more).
    - On every metric, the median error fitted on all the runs and cross-validated at most the
      values' it replaces (``before``), and lower on a metric it fits.
    - On a metric it does not fit, the cross-validated *mean* error at most ``before_mean``.
      That metric moves only as a side effect (decode factors set the queue a prompt waits in;
      the prefill efficiency sets the prompt chunks that share decode steps), and a side effect
      can leave the median in place while the runs at high load go far off: a decode-stage fit
      on Llama-3.1-8B with TensorRT-LLM on 2x H100 kept the TTFT median of its training runs
      (median |log error| 0.344 -> 0.342 cross-validated) while one run's predicted TTFT went
      from 2.4x to 4.7x the measured; on the runs it was not fitted on, the TTFT median went
      36.9% -> 46.0%. The mean weighs every run, so it sees that.
      scripts/calibrate_holdout.py (93 deployments, 2026-12-05): deployments made worse on their
      held-out runs 7 -> 3 (TPOT) and 5 -> 1 (TTFT), medians TPOT 5.8% -> 6.4% and TTFT 14.5% ->
      16.1% (the gains given up were where a side effect happened to help); the mean asked on
      every metric: the same 3 and 1, medians 6.6% and 16.3%.
    - Except a *quiet* side metric: one the candidate does not fit whose packaged median error
      is already within the noise (``NOISE_FLOOR``). Its median errors, fitted and
      cross-validated, need only stay within the noise, and its mean is not asked. Below the
      noise a rise of a few tenths of a point is not evidence of harm (the guard does not fit
      that metric for the same reason), while the strict rules refused first-token fits that
      moved such a TPOT by a tenth of a point and cut a far-off TTFT: gpt-oss-120b with vLLM on
      4x H100, training TPOT median 3.8% -> 3.8% cross-validated but its mean 8.5% -> 8.8%, was
      refused; admitted, its held-out TTFT went 77.0% -> 10.8% and TPOT 6.3% -> 6.9%.
      scripts/calibrate_holdout.py (93 deployments, 2026-12-06): first-token-only choices 3 ->
      11, held-out medians TPOT 6.4% -> 6.4%, TTFT 16.1% -> 14.7%; made worse 3 -> 9 (TPOT: the
      six new ones by 0.0-0.6 point, each ending at most 6.9%) and 1 -> 1 (TTFT)."""
    quiet = {m for m in before if m not in fitted and before[m] <= NOISE_FLOOR}
    return (folds >= 2
            and all(train[m] <= before[m] and cv[m] <= before[m] for m in before if m not in quiet)
            and all(train[m] <= NOISE_FLOOR and cv[m] <= NOISE_FLOOR for m in quiet)
            and all(cv_mean[m] <= before_mean[m] for m in before if m not in fitted and m not in quiet)
            and any(cv[m] < before[m] * (1.0 - CV_MARGIN) for m in fitted))


def fit(rows: Sequence[dict[str, str]], engine: str, base: Calibration | None = None) -> FitResult:
    """The factor values that best predict ``rows`` (one deployment's runs), in ``STAGES``,
    each stage kept only where it predicts runs it was not fitted on better than the values
    it would replace (``_stage``)."""
    base = base or packaged_calibration()
    before = validate_rows(rows, calibration=base).rows
    keep = [i for i, r in enumerate(before) if r.error is not None and r.predicted and r.predicted > 0]
    if not keep:
        reasons = sorted({r.skipped or "" for r in before if r.skipped})
        raise CalibrationInputError(f"no run could be predicted: {reasons[0] if reasons else 'unknown reason'}")
    values = {s.name: base.engine_value(engine, s.name) for s in FACTORS}
    measured = [r.measured or 1.0 for r in before]
    iterations = 0
    kept: list[str] = []
    checks: dict[str, dict[str, float]] = {}

    def residuals_at(idx: Sequence[int], vals: dict[str, float]) -> list[float]:
        """log(predicted / measured) of ``rows[idx]`` under ``vals``; a row the model cannot
        predict under them (e.g. the batch no longer fits) counts as a large residual."""
        res = validate_rows([rows[i] for i in idx], calibration=apply_factors(base, engine, vals)).rows
        return [math.log(r.predicted / measured[i]) if r.predicted and r.predicted > 0 else 3.0
                for r, i in zip(res, idx, strict=True)]

    by_metric = {m: [i for i in keep if _metric(before[i]) == m] for m, _ in STAGES}
    metrics = [m for m, _ in STAGES if by_metric[m]]
    folds = _folds(rows, keep)
    base_res = {m: residuals_at(by_metric[m], values) for m in metrics}
    base_err = {m: _median_abs(base_res[m]) for m in metrics}
    base_mean = {m: _mean_abs(base_res[m]) for m in metrics}
    best: tuple[float, int] | None = None
    chosen: dict[str, float] = values
    label = ""
    for cand in _candidates(metrics):
        if any(base_err[m] <= NOISE_FLOOR for m in cand):
            # the packaged values already predict that metric within the runs' noise: not fitted
            checks[_label(cand)] = {"kept": 0.0, "within_noise": 1.0,
                                    **{f"{m}_before": base_err[m] for m in metrics}}
            continue
        fitted, its = _fit_stages(cand, set(keep), by_metric, values, residuals_at)
        iterations += its
        train = {m: _median_abs(residuals_at(by_metric[m], fitted)) for m in metrics}
        cv: dict[str, list[float]] = {m: [] for m in metrics}
        for fold in folds:
            out = set(fold)
            f_vals, _ = _fit_stages(cand, set(keep) - out, by_metric, values, residuals_at)
            for m in metrics:
                cv[m] += residuals_at([i for i in by_metric[m] if i in out], f_vals)
        cv_err = {m: _median_abs(cv[m]) for m in metrics}
        cv_mean = {m: _mean_abs(cv[m]) for m in metrics}
        ok = _eligible(tuple(cand), base_err, base_mean, train, cv_err, cv_mean, len(folds))
        score = sum(cv_err[m] / base_err[m] for m in metrics if base_err[m] > 0)
        name = _label(cand)
        checks[name] = {"kept": float(ok), "score": score,
                        **{f"{m}_{k}": v for m in metrics
                           for k, v in (("before", base_err[m]), ("fitted", train[m]), ("cross_validated", cv_err[m]))},
                        **{f"{m}_{k}": v for m in metrics if m not in cand
                           for k, v in (("before_mean", base_mean[m]), ("cross_validated_mean", cv_mean[m]))}}
        size = sum(len(v) for v in cand.values())
        if ok and (best is None or (score, size) < best):
            best, chosen, label = (score, size), fitted, name
            kept = [m for m in metrics if m not in cand]
    if best is None:
        kept = list(metrics)
    after = validate_rows(rows, calibration=apply_factors(base, engine, chosen)).rows
    return FitResult(chosen, tuple(before), tuple(after), iterations, tuple(kept), checks, len(folds),
                     label or "none (packaged values)")


def _label(cand: dict[str, tuple[str, ...]]) -> str:
    """A candidate's name: its stages, and the factors of a stage fitted in part."""
    return "+".join(m if names == dict(STAGES)[m] else f"{m}[{', '.join(names)}]" for m, names in cand.items())


def _candidates(metrics: Sequence[str]) -> list[dict[str, tuple[str, ...]]]:
    """The models the guard chooses among besides the packaged values (metric -> the factors
    its stage fits): the decode stage alone, the first-token stage alone, both. (Also offering
    first-token stages of one factor each, the prefill efficiency or the request overhead,
    made more deployments worse on held-out runs, scripts/calibrate_holdout.py: 7 TPOT and 10
    TTFT against 5 and 7; more candidates, more chances to pick one that won by luck.)"""
    decode, first = STAGES[0][0], STAGES[1][0]
    out: list[dict[str, tuple[str, ...]]] = [{decode: dict(STAGES)[decode]}, {first: dict(STAGES)[first]},
                                             {decode: dict(STAGES)[decode], first: dict(STAGES)[first]}]
    return [c for c in out if all(m in metrics for m in c)]


def _fit_stages(cand: dict[str, tuple[str, ...]], use: set[int], by_metric: dict[str, list[int]],
                values: dict[str, float], residuals_at: Callable[[Sequence[int], dict[str, float]], list[float]]
                ) -> tuple[dict[str, float], int]:
    """``values`` with the factors of ``cand`` (metric -> factors) fitted, stage after stage
    (``STAGES``), on the rows ``use``: each stage on its metric's rows and the rows of the
    stages before it."""
    its = 0
    done: list[int] = []
    for metric, _ in STAGES:
        idx = [i for i in by_metric.get(metric, []) if i in use]
        if metric in cand and idx:
            values, n = _fit_stage(idx, done, [FACTOR_BY_NAME[x] for x in cand[metric]], values, residuals_at)
            its += n
        done += idx
    return values, its


def _fit_stage(idx: Sequence[int], done: Sequence[int], specs: Sequence[FactorSpec], values: dict[str, float],
               residuals_at: Callable[[Sequence[int], dict[str, float]], list[float]]
               ) -> tuple[dict[str, float], int]:
    """``values`` with ``specs``' factors fitted on the rows ``idx`` and ``done`` (the rows of
    the stages before, which these factors also move: a prompt's chunks share decode steps),
    the other factors fixed; each of the two sets of rows weighs 1 in all."""
    def vals(u: list[float]) -> dict[str, float]:
        return {**values, **{s.name: _from_u(s, x) for s, x in zip(specs, u, strict=True)}}

    rows = [*idx, *done]
    weights = [1.0 / len(idx)] * len(idx) + ([1.0 / len(done)] * len(done) if done else [])
    u0 = [_to_u(s, values[s.name]) for s in specs]
    u, its = _solve(lambda u: residuals_at(rows, vals(u)), weights, u0, specs)
    return vals(u), its


def error_summary(results: Sequence[RowResult]) -> dict[str, dict[str, Any]]:
    """Per metric: rows predicted, median and p90 absolute error, median signed error
    (predicted / measured − 1, fractions rounded to 4 digits)."""
    out: dict[str, dict[str, Any]] = {}
    for m in sorted({_metric(r) for r in results}):
        errs = [r.error for r in results if _metric(r) == m and r.error is not None]
        if not errs:
            continue
        apes = [abs(e) for e in errs]
        out[m] = {"rows": len(errs), "median_ape": round(percentile(apes, 0.5) or 0.0, 4),
                  "p90_ape": round(percentile(apes, 0.9) or 0.0, 4),
                  "median_signed_error": round(percentile(errs, 0.5) or 0.0, 4)}
    return out


def _guard_summary(res: FitResult) -> dict[str, Any]:
    """What the guard (``fit``) saw, for the profile: per candidate, its median error on runs
    it was not fitted on (cross-validated) against the packaged values', and which it chose."""
    return {"chosen": res.chosen, "folds": res.folds,
            "candidates": {c: ({"eligible": False,
                                "not_fitted": f"the packaged values predict these runs within their noise "
                                              f"(median error at most {NOISE_FLOOR:.0%})",
                                **{m: {"before": round(v[f"{m}_before"], 4)} for m, _ in STAGES if f"{m}_before" in v}}
                               if v.get("within_noise") else
                               {"eligible": bool(v["kept"]),
                                **{m: {k: round(v[f"{m}_{k}"], 4)
                                       for k in ("before", "cross_validated", "before_mean", "cross_validated_mean")
                                       if f"{m}_{k}" in v}
                                   for m, _ in STAGES if f"{m}_before" in v}})
                           for c, v in res.checks.items()},
            "rule": "median absolute log(predicted / measured); a stage is not fitted where the packaged values "
                    f"already predict its metric within {NOISE_FLOOR:.0%} (a benchmark's run-to-run spread); "
                    "a candidate is eligible when, on every metric, "
                    "its cross-validated and fitted errors are at most the packaged values' and it lowers "
                    "one, and on a metric it does not fit its cross-validated mean error (..._mean) is at most "
                    "the packaged values' too, except where the packaged values predict that metric within "
                    f"{NOISE_FLOOR:.0%}: there its fitted and cross-validated errors need only stay within "
                    f"{NOISE_FLOOR:.0%}; the eligible one with the lowest sum of cross-validated / "
                    "packaged error is chosen"}


def _kept_note(res: FitResult, metric: str) -> str:
    """Why the factors of ``metric``'s stage stayed packaged: within the runs' noise, or not
    confirmed by the cross-validation."""
    names = ", ".join(dict(STAGES)[metric])
    before = next((v[f"{metric}_before"] for v in res.checks.values() if f"{metric}_before" in v), None)
    if before is not None and before <= NOISE_FLOOR:
        return (f"{metric} factors ({names}): the packaged values already predict these runs within their noise "
                f"(median error {before:.1%}, at most {NOISE_FLOOR:.0%}), not fitted")
    return (f"{metric} factors ({names}): fitted on some of these runs, they did not predict the others better "
            "on every metric (cross-validation, see guard), packaged kept")


def _range(rows: Sequence[dict[str, str]], key: str) -> Range | None:
    xs = [float(r[key]) for r in rows if r.get(key)]
    return Range(low=min(xs), high=max(xs)) if xs else None


def build_profile(files: Sequence[FileRuns], date: str, base: Calibration | None = None
                  ) -> tuple[Profile, FitResult]:
    """Fit the runs of ``files`` (one deployment) and describe the result as a ``Profile``."""
    from xlsizer.calibrate.readers import check_runs

    rows = [r for f in files for r in f.rows]
    check_runs(rows)
    dep = _canon(rows)
    runs = len({r["_run"] for r in rows})
    if runs < MIN_RUNS:
        raise CalibrationInputError(f"{runs} run: a profile needs at least {MIN_RUNS} runs (different loads or "
                                    "lengths), one run cannot tell memory bandwidth from fixed overheads")
    res = fit(rows, dep.engine, base)
    base_cal = base or packaged_calibration()
    factors = {s.name: Factor(value=float(f"{res.values[s.name]:.6g}"),
                              packaged=float(f"{base_cal.engine_value(dep.engine, s.name):.6g}"),
                              unit=s.unit, scope=s.scope, meaning=s.meaning) for s in FACTORS}
    ranges = {k: r for k in ("concurrency", "isl", "osl") if (r := _range(rows, k)) is not None}
    before, after = error_summary(res.before), error_summary(res.after)
    skipped = sum(1 for r in res.after if r.error is None)
    measured: dict[str, Any] = {
        "date": date,
        "files": [{"name": f.name, "format": f.format, "runs": f.runs, "statistic": f.statistic,
                   **({"rows_left_out": f.left_out} if f.left_out else {})} for f in files],
        "runs": runs, "rows": len(rows),
        **({"rows_not_predicted": skipped} if skipped else {}),
        **({"kept_packaged": [_kept_note(res, m) for m in res.kept_packaged]} if res.kept_packaged else {}),
        "guard": _guard_summary(res),
        "fit": (f"robust least squares on log(predicted / measured), soft-L1 scale {LOSS_SCALE}: decode factors "
                f"on the TPOT rows, then first-token factors on the TTFT and TPOT rows; prior on each factor "
                f"centred on the packaged value (weight {PRIOR_WEIGHT}); stages kept only where they predict "
                f"runs left out better ({res.folds}-fold cross-validation, see guard); "
                f"{res.iterations} iterations"),
    }
    # a factor pinned at a physical limit: the runs ask for more than the physics allows, often a
    # wrong fact (GPU, tp, precision) rather than a fast stack; said, not hidden (0 is a natural
    # value for an overhead, so only its upper bound counts)
    pinned = [f"{s.name} at its bound {res.values[s.name]:g} {s.unit}" for s in FACTORS
              if res.values[s.name] >= s.high * (1 - 1e-6)
              or (s.log and res.values[s.name] <= s.low * (1 + 1e-6))]
    if pinned:
        measured["at_bounds"] = [*pinned, "check the deployment facts (GPU, tp, weights_precision) of the runs"]
    if mixed := _mixed_stack(rows):
        measured["mixed_stack"] = mixed
    error = {m: {"before": before.get(m), "after": after.get(m)} for m in sorted(set(before) | set(after))}
    prof = Profile(deployment=dep, factors=factors, range=ranges, measured=measured, error=error)
    return prof, res


__all__ = ["LOSS_SCALE", "MIN_RUNS", "NOISE_FLOOR", "PRIOR_WEIGHT", "FitResult", "build_profile", "error_summary",
           "fit"]
