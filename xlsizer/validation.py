"""Predict published measurements and report the error (``xlsizer validate``).

Reads a CSV in the format of ``validation/calibration.csv`` (columns documented in
``validation/README.md``), predicts every row it can with the performance model
(``engine/performance.estimate``), and reports, per row, the measured and predicted values
and the error, then a summary: rows, rows predicted, coverage, median and 90th-percentile
absolute percentage error (APE, as a fraction).

How a row becomes a prediction:
- metric ``ratio`` compares two setups: skipped. Supported metrics: out_tok_s_per_gpu,
  out_tok_s_total, ttft_ms, itl_ms, tpot_ms, e2e_ms, req_s.
- model and gpu are catalog ids (aliases accepted; a blank gpu falls back to the
  ``accelerator`` column, vendor and benchmark names resolving); unknown ids are skipped with the
  closest ids. An engine outside the modelled ones uses vLLM's memory policy (no engine
  changes the speed physics; only memory policy and sequence caps differ).
- A replica is ``tp`` GPUs (``tp`` blank: ``gpu_count``; ``ep`` > ``tp``: attention data
  parallel, e.g. DEP8 = tp 1, ep 8); ``gpu_count`` / replica GPUs replicas share the load.
  serving.csv's columns: ``dp`` attention data-parallel ranks (0 or blank: one), ``moe_tp`` ×
  ``ep`` the experts' GPUs (a MoE row where that differs from ``tp`` × ``dp`` contradicts
  itself and is skipped with that reason); ``mode`` ``disagg`` rows use the ``prefill_`` and
  ``decode_`` pool columns (``engine/disagg.py``: TTFT from the prefill pool, TPOT from the
  decode pool's decode-only steps at the concurrency per decode worker).
- Every row carries its model, family (dense/MoE), engine, GPU and mode; ``groups`` gives rows,
  coverage, median and p90 APE and the median signed error for each value of each of those and
  of the metric (and family × metric); ``xlsizer validate`` predicts each row of a model the
  packaged fit has seen with the fit made without that model (leave-one-model-out, written by
  scripts/calibrate.py), so the figures it prints are cross-validated.
- load ``max``: every request queued (maximum throughput); ``concurrency``: that many
  requests in flight over the deployment; ``rate``: Poisson arrivals at the rate the notes
  give ("rate 2 QPS"). TTFT and end-to-end latency under ``max`` are predicted only when the
  notes give ``num_requests`` (requests then wait for a slot in turn).
- isl/osl blank: skipped, except throughput and inter-token metrics at a fixed concurrency,
  which depend on them only through the prefill's share of a request; those assume
  ``ASSUMED_INPUT_TOKENS`` / ``ASSUMED_OUTPUT_TOKENS`` and say so.
- Rows whose notes describe a technique the columns cannot express (speculative decoding:
  EAGLE, Medusa, MTP, n-gram, draft models) are skipped.
- The engine's prompt tokens per step: a ``max_num_tokens`` column where the file has one;
  else, for runs of NVIDIA aiconfigurator's silicon sample (serving.csv), the budget its
  config generator gives them, prompt + ``AIC_TOKEN_MARGIN`` (``aic_token_budget``); else
  the engine's default (engines.yaml).
- A fixed-concurrency run is a benchmark whose clients start together: with a
  ``benchmark_rounds`` column, or for aiconfigurator's runs ``AIC_BENCHMARK_ROUNDS`` requests
  per client, its TTFT includes the first round's burst (``queueing.burst_weight``); other
  files are predicted as steady traffic.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsizer.engine.calibration import held_out_calibration
from xlsizer.engine.disagg import PoolShape, closed_loop
from xlsizer.engine.latency import LENGTH_CV_MAX
from xlsizer.engine.performance import (
    Calibration,
    PerfEstimate,
    Tuning,
    engine_profile,
    estimate,
)
from xlsizer.errors import InputError, UnknownIdError, XlsizerError
from xlsizer.inputs import MAX_DEPLOYMENT_GPUS
from xlsizer.units import MS
from xlsizer.validation_results import RowResult, ValidationReport, family_of, percentile, with_catalog_model

METRICS: tuple[str, ...] = (
    "out_tok_s_per_gpu", "out_tok_s_total", "ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "req_s",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "metric", "value")
ASSUMED_INPUT_TOKENS: float = 2000.0
"""Prompt tokens assumed for a fixed-concurrency throughput row that states none
(``estimate``'s default)."""
ASSUMED_OUTPUT_TOKENS: float = 500.0
"""Output tokens assumed for such a row (``estimate``'s default)."""
_LENGTH_FREE_METRICS = frozenset({"out_tok_s_per_gpu", "out_tok_s_total", "itl_ms", "tpot_ms"})
_SPEC_DECODING = re.compile(
    r"(?<!no )\b(eagle|medusa|mtp|speculative|spec[- ]decod\w*|n-gram|draft model)\b", re.I
)
_RATE = re.compile(r"\brate\s*[=:]?\s*([0-9]*\.?[0-9]+)", re.I)
# A number not preceded by a digit or a point, matched possessively: each start is tried once
# and never re-scanned, so a notes field of thousands of digits parses in linear time (the
# old "[0-9]*\.?[0-9]+" backtracked from every digit: quadratic).
_RATE_UNIT = re.compile(
    r"(?<![\d.])(\d++(?:\.\d++)?|\.\d++)\s*(?:qps|req/s|rps|requests?/s\b|requests? per second)", re.I)
_NUM_REQUESTS = re.compile(r"num_requests\s*[=:]?\s*([0-9]+)", re.I)
AIC_TOKEN_MARGIN: int = 1500
"""Tokens above the prompt in the per-step token budget of the engines aiconfigurator's
generator configures, tokens: ``max_num_tokens = max_batch_size + isl + 1500`` (TensorRT-LLM
and vLLM, aggregated; the decode tokens of the batch take the max_batch_size part) and
``max_prefill_tokens = isl + 1500`` (SGLang); github.com/ai-dynamo/aiconfigurator,
src/aiconfigurator/generator/rule_plugin/{trtllm,sglang}.rule and benchmark/vllm.rule. The
serving.csv runs are that generator's configurations run on hardware, so their prompts pack
far fewer to a step than the engines' 8,192-token defaults (2 of 1,024 tokens, not 8)."""


AIC_BENCHMARK_ROUNDS: int = 20
"""Requests each client sends in the measured part of an aiconfigurator benchmark run,
requests: its generator runs aiperf with ``--request-count 20 × concurrency`` (MULTI_ROUND,
default 20), a warm-up of ``concurrency`` (or twice that) requests first, and fixed lengths
(``--isl-stddev 0 --osl-stddev 0``, ``ignore_eos``); src/aiconfigurator/generator/sflow.py
and config/backend_templates/benchmark/bench_run.sh.j2. aiperf waits for every warm-up
response before it starts measuring (its docs, "Warmup Phase Configuration": "AIPerf waits
indefinitely for all warmup responses before starting profiling"), so the measured clients
start together on an idle server (``queueing.burst_weight``)."""


def _aic_row(row: Mapping[str, str]) -> bool:
    """True for a run of NVIDIA aiconfigurator's silicon sample (serving.csv)."""
    return "aiconfigurator" in (row.get("source", "") + " " + row.get("notes", "")[:60]).lower()


def benchmark_rounds(row: Mapping[str, str]) -> int | None:
    """Requests per client in the measured run of a fixed-concurrency row: its
    ``benchmark_rounds`` column when given, else ``AIC_BENCHMARK_ROUNDS`` for an aiconfigurator
    row, else None (steady traffic: the file does not say how its benchmark started)."""
    stated = _whole(row, "benchmark_rounds")  # RowSkipped names a bad value
    if stated is not None:
        return stated
    return AIC_BENCHMARK_ROUNDS if _aic_row(row) else None


def aic_token_budget(row: Mapping[str, str], isl: float) -> int | None:
    """Prompt tokens per step of the run a row measured: its ``max_num_tokens`` column when
    given, else prompt + ``AIC_TOKEN_MARGIN`` for an aiconfigurator silicon-sample row, else
    None (the engine's default)."""
    stated = _whole(row, "max_num_tokens")  # RowSkipped names a bad value
    if stated is not None:
        return stated
    if _aic_row(row):
        return math.ceil(isl) + AIC_TOKEN_MARGIN
    return None


class MeasurementFileError(XlsizerError):
    """A measurement file cannot be read or is not in calibration.csv's format."""


class RowSkipped(Exception):
    """Raised by ``predict_row`` for a row it cannot predict; the message is the reason."""


# --- reading ------------------------------------------------------------------------------


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of a measurement CSV as dicts of stripped strings.

    Raises ``MeasurementFileError`` for a missing, unreadable or malformed file.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        if p.suffix.lower() in (".xlsx", ".xlsm", ".xls") or p.read_bytes()[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
            raise MeasurementFileError(f"{path}: an Excel workbook; validate reads a CSV file with the columns of "
                                       "validation/calibration.csv, serving.csv or mlperf.csv (in Excel: File > "
                                       "Save As > CSV UTF-8)") from None
        raise MeasurementFileError(f"{path}: not a UTF-8 text file") from None
    except FileNotFoundError:
        raise MeasurementFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MeasurementFileError(f"{path}: is a directory, not a CSV file") from None
    except PermissionError:
        raise MeasurementFileError(f"{path}: permission denied") from None
    except OSError as exc:
        raise MeasurementFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise MeasurementFileError(f"{path}: not a text CSV file (contains NUL bytes)")
    try:
        reader = csv.DictReader(text.splitlines())
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise MeasurementFileError(
                f"{path}: not a measurement CSV (missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}; the formats of validation/calibration.csv, serving.csv and mlperf.csv: "
                "validation/README.md)"
            )
        rows = []
        for raw in reader:
            if None in raw:
                raise MeasurementFileError(
                    f"{path}: line {reader.line_num} has more fields than the header"
                )
            rows.append({(k or "").strip(): (v or "").strip() for k, v in raw.items()})
    except csv.Error as exc:
        raise MeasurementFileError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise MeasurementFileError(f"{path}: no data rows")
    return rows


# --- predicting one row ---------------------------------------------------------------------


def _osl_cv(row: Mapping[str, str]) -> float:
    """The run's spread of answer lengths (optional column ``osl_cv``: standard deviation / mean
    of the output tokens per request; blank = equal lengths, as serving.csv's fixed-length runs):
    a long answer's tokens attend to longer contexts (``step.decode_context``)."""
    cv = _number(row, "osl_cv") or 0.0
    if cv > LENGTH_CV_MAX:
        raise RowSkipped(f"osl_cv {cv:g} is above {LENGTH_CV_MAX:g} (standard deviation / mean of the output tokens)")
    return cv


def _number(row: Mapping[str, str], key: str) -> float | None:
    text = row.get(key, "").replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise RowSkipped(f"{key} {row.get(key)!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise RowSkipped(f"{key} {row.get(key)!r} is not a usable number")
    return value


MAX_COUNT = MAX_DEPLOYMENT_GPUS
"""Largest count (GPUs, ranks, workers, sequences) a row may state: the largest deployment an
input may state (``max_total_gpus``'s bound). Past it a count is a typo, and as an integer it
overflowed the float arithmetic ("1e308" workers stopped ``validate``)."""


def _whole(row: Mapping[str, str], key: str) -> int | None:
    v = _number(row, key)
    if v is None:
        return None
    if v < 1 or v != int(v) or v > MAX_COUNT:
        raise RowSkipped(f"{key} {row.get(key)!r} is not a whole number from 1 to {MAX_COUNT:,}")
    return int(v)


def _ranks(row: Mapping[str, str], key: str) -> int | None:
    """A data-parallel width: None where blank or 0 (not stated), else a whole count."""
    return _whole(row, key) if _number(row, key) else None


def _skip_reason_from_notes(notes: str) -> str | None:
    # Setup clauses come first; "derived = ..." only restates the arithmetic.
    setup = notes.split("quoted value")[0]
    if _SPEC_DECODING.search(setup):
        return "notes describe speculative decoding, which the row's columns cannot express"
    return None


def predict_row(
    row: Mapping[str, str], calibration: Calibration | None = None
) -> tuple[float, str]:
    """(predicted value, note) for one measurement row; raises ``RowSkipped`` with the reason."""
    metric = row.get("metric", "").lower()
    if metric == "ratio":
        raise RowSkipped("ratio row: compares two setups, not one measurement")
    if metric not in METRICS:
        raise RowSkipped(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    if _number(row, "value") is None:
        raise RowSkipped("no measured value")
    # a catalog id, else the accelerator as the benchmark names it ("NVIDIA H200-SXM-141GB")
    model, gpu = row.get("model", ""), row.get("gpu", "") or row.get("accelerator", "")
    if not model:
        raise RowSkipped("no model")
    if not gpu:
        raise RowSkipped("no gpu")
    reason = _skip_reason_from_notes(row.get("notes", ""))
    if reason:
        raise RowSkipped(reason)
    precision = row.get("weights_precision", "")
    if not precision:
        raise RowSkipped("weights_precision not given")
    notes: list[str] = []
    engine = row.get("engine", "") or "vllm"
    try:
        engine = engine_profile(engine).name
    except InputError:
        notes.append(f"engine {engine!r} modelled with vLLM's memory policy")
        engine = "vllm"

    kv_precision = row.get("kv_precision", "") or None
    if kv_precision and kv_precision.lower() in ("auto", "same", "default"):
        kv_precision = None
    mode = (row.get("mode", "") or "agg").lower()
    load = row.get("load", "").lower()
    if not load:
        raise RowSkipped("load not given")
    if load not in ("max", "concurrency", "rate"):
        raise RowSkipped(f"load {load!r} is not max, concurrency or rate")
    isl, osl = _number(row, "isl"), _number(row, "osl")
    if isl is None or osl is None or isl < 1 or osl < 1:
        if load == "concurrency" and metric in _LENGTH_FREE_METRICS and mode != "disagg":
            isl, osl = ASSUMED_INPUT_TOKENS, ASSUMED_OUTPUT_TOKENS
            notes.append(f"isl/osl not given: assumed {isl:.0f}/{osl:.0f}")
        else:
            raise RowSkipped("isl/osl not given")
    osl_cv = _osl_cv(row)
    if osl_cv:
        notes.append(f"answers spread with CV {osl_cv:g}")
    if mode == "disagg":
        return _predict_disagg(row, metric, model, gpu, precision, kv_precision, engine, isl, osl,
                               calibration, notes, osl_cv)
    if mode != "agg":
        raise RowSkipped(f"mode {mode!r} is not agg or disagg")

    tp = _whole(row, "tp")
    ep = _whole(row, "ep") or 1
    dp = _ranks(row, "dp")  # 0 or blank: not stated (one rank)
    moe_tp = _whole(row, "moe_tp")
    gpu_count = _number(row, "gpu_count")
    gpu_count = int(gpu_count) if gpu_count else None
    if tp is None:
        tp = 1 if ep > 1 else (gpu_count or 1)
    if (dp is not None and moe_tp is not None and moe_tp * ep != tp * dp
            and family_of(model) == "moe"):
        raise RowSkipped(f"inconsistent parallelism: tp {tp} x dp {dp} attention GPUs but "
                         f"moe_tp {moe_tp} x ep {ep} expert GPUs")

    budget = aic_token_budget(row, isl)
    rounds = benchmark_rounds(row) if row.get("load", "").lower() == "concurrency" else None
    tuning = (Tuning(token_budget=budget, benchmark_rounds=rounds)
              if budget is not None or rounds is not None else None)

    def run(concurrency: float | None = None, rate: float | None = None, ep_: int = ep
            ) -> PerfEstimate:
        return estimate(
            model, gpu, tp, precision, isl, osl, concurrency, ep=ep_,
            kv_precision=kv_precision, engine=engine,
            request_rate=rate, calibration=calibration, dp=dp, tuning=tuning, output_cv=osl_cv,
        )

    try:
        probe = run(ep_=ep)
    except InputError as exc:
        if exc.field == "ep" and "dense" in exc.allowed:
            ep = 1
            try:
                probe = run(ep_=1)
            except XlsizerError as exc2:
                raise RowSkipped(exc2.short()) from None
        else:
            raise RowSkipped(exc.short()) from None
    except (UnknownIdError, XlsizerError) as exc:
        raise RowSkipped(exc.short()) from None
    replica_gpus = probe.gpus
    count = gpu_count or replica_gpus
    if count % replica_gpus:
        raise RowSkipped(f"gpu_count {count} is not a multiple of the replica's {replica_gpus} GPUs")
    replicas = count // replica_gpus

    if load == "max":
        est = probe
    elif load == "concurrency":
        conc = _number(row, "concurrency")
        if not conc:
            raise RowSkipped("load 'concurrency' without a concurrency value")
        try:
            est = run(concurrency=conc / replicas)
        except XlsizerError as exc:
            raise RowSkipped(exc.short()) from None
    elif load == "rate":
        m = _RATE.search(row.get("notes", "")) or _RATE_UNIT.search(row.get("notes", ""))
        if not m or float(m.group(1)) <= 0:
            raise RowSkipped("load 'rate' but the notes give no rate")
        est = run(rate=float(m.group(1)) / replicas)
        if est.saturated and metric in ("ttft_ms", "e2e_ms"):
            raise RowSkipped(f"predicted overloaded at this rate: {est.notes[-1]}")
    else:
        raise RowSkipped(f"load {load!r} is not max, concurrency or rate")

    if metric == "out_tok_s_per_gpu":
        value = est.out_tok_s_per_gpu
    elif metric == "out_tok_s_total":
        value = est.out_tok_s_per_replica * replicas
    elif metric == "req_s":
        value = est.req_s * replicas
    elif metric in ("itl_ms", "tpot_ms"):
        value = est.tpot_s / MS
    else:  # ttft_ms, e2e_ms
        ttft = est.ttft_s
        if load == "max":
            m = _NUM_REQUESTS.search(row.get("notes", ""))
            if not m:
                raise RowSkipped("TTFT with every request queued depends on how many were queued "
                            "(notes give no num_requests)")
            n = float(m.group(1)) / replicas
            b = est.batch
            # Requests beyond the first batch wait for a slot, freed at req_s per second.
            wait = (max(n - b, 0.0) ** 2) / (2.0 * n * est.req_s) if n > 0 else 0.0
            ttft += wait
            notes.append(f"mean wait of {n:.0f} queued requests: {wait:.3g} s")
        e2e = ttft + (osl - 1.0) * est.tpot_s
        value = (ttft if metric == "ttft_ms" else e2e) / MS
    return value, "; ".join(notes)


def _pool(row: Mapping[str, str], prefix: str) -> tuple[int, int, int, int, int | None]:
    """(workers, tp, dp, ep, batch) of one pool of a disaggregated row (batch None: not stated)."""
    workers = _whole(row, f"{prefix}_workers")
    tp = _whole(row, f"{prefix}_tp")
    if workers is None or tp is None:
        raise RowSkipped(f"disaggregated row without {prefix}_workers/{prefix}_tp")
    dp = _ranks(row, f"{prefix}_dp") or 1
    ep = _whole(row, f"{prefix}_ep") or 1
    return workers, tp, dp, ep, _whole(row, f"{prefix}_batch")


def _predict_disagg(
    row: Mapping[str, str], metric: str, model: str, gpu: str, precision: str,
    kv_precision: str | None, engine: str, isl: float, osl: float,
    calibration: Calibration | None, notes: list[str], osl_cv: float = 0.0,
) -> tuple[float, str]:
    """A disaggregated run: TPOT from the decode pool (decode-only steps at the concurrency
    per decode worker), TTFT from the prefill pool (``disagg.closed_loop``)."""
    if metric not in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        raise RowSkipped(f"metric {metric!r} is not predicted for disaggregated rows")
    if row.get("load", "").lower() != "concurrency":
        raise RowSkipped("disaggregated rows are predicted at a fixed concurrency only")
    conc = _number(row, "concurrency")
    if not conc:
        raise RowSkipped("load 'concurrency' without a concurrency value")
    pre, dec = _pool(row, "prefill"), _pool(row, "decode")
    try:
        ttft, tpot = closed_loop(
            model, gpu, precision, isl, osl, conc, PoolShape(*pre), PoolShape(*dec),
            kv_precision=kv_precision, engine=engine, calibration=calibration,
            token_budget=aic_token_budget(row, isl), benchmark_rounds=benchmark_rounds(row), output_cv=osl_cv)
    except XlsizerError as exc:
        raise RowSkipped(exc.short()) from None
    if metric == "ttft_ms":
        value = ttft
    elif metric in ("tpot_ms", "itl_ms"):
        value = tpot
    else:
        value = ttft + (osl - 1.0) * tpot
    return value / MS, "; ".join(notes)


def validate_rows(
    rows: Iterable[Mapping[str, str]], source: str = "", calibration: Calibration | None = None,
    calibration_for: Callable[[str], Calibration | None] | None = None,
) -> ValidationReport:
    """Predict every row that can be predicted; keep the reason for the others.

    ``calibration_for(model)``, when given, picks the calibration per row by its model (the
    leave-one-model-out fits of ``calibration.yaml``); otherwise ``calibration`` (None: the
    packaged one) predicts every row.
    """
    out: list[RowResult] = []
    for i, raw in enumerate(rows, start=1):
        row = with_catalog_model(raw)
        rid = row.get("id") or f"row {i}"
        metric = row.get("metric", "")
        model = row.get("model", "")
        desc = {"model": model, "family": family_of(model) if model else "",
                "engine": _engine_name(row.get("engine", "")), "gpu": row.get("gpu", ""),
                "mode": (row.get("mode", "") or "agg").lower()}
        cal = calibration_for(model) if calibration_for is not None else calibration
        try:
            predicted, note = predict_row(row, cal)
            measured = _number(row, "value")
        except RowSkipped as skip:
            out.append(RowResult(rid, metric, skipped=str(skip), **desc))
            continue
        if not measured:
            out.append(RowResult(rid, metric, skipped="measured value is zero", **desc))
            continue
        out.append(RowResult(rid, metric, measured, predicted, note=note, **desc))
    return ValidationReport(source, tuple(out))


def _engine_name(text: str) -> str:
    try:
        return engine_profile(text or "vllm").name
    except InputError:
        return text.lower()


GROUP_DIMENSIONS: tuple[str, ...] = ("family/metric", "model", "family", "engine", "gpu", "metric",
                                     "mode")
"""The groups of ``groups()``, in order (family/metric: dense/MoE crossed with the metric)."""


@dataclass(frozen=True, slots=True)
class Group:
    """The rows of one value of one dimension (``groups``)."""

    by: str
    value: str
    rows: int
    predicted: int
    median_ape: float | None
    p90_ape: float | None
    median_signed_error: float | None
    """Median of predicted / measured − 1: negative = the model predicts low."""

    @property
    def coverage(self) -> float:
        return self.predicted / self.rows if self.rows else 0.0


def _key(r: RowResult, by: str) -> str:
    if by == "family/metric":
        return f"{r.family or '?'}/{r.metric}"
    if by == "model/scenario":
        return f"{r.model or '?'}/{r.scenario or '?'}"
    return str(getattr(r, by)) or "?"


def groups(report: ValidationReport) -> list[Group]:
    """Rows, coverage, median and p90 APE and median signed error for each value of each of
    ``GROUP_DIMENSIONS``."""
    out: list[Group] = []
    for by in report.dimensions or GROUP_DIMENSIONS:
        members: dict[str, list[RowResult]] = {}
        for r in report.rows:
            if r.metric == "ratio" or not r.metric:
                continue
            members.setdefault(_key(r, by), []).append(r)
        for value in sorted(members):
            rs = members[value]
            errs = [r.error for r in rs if r.error is not None]
            apes = [abs(e) for e in errs]
            out.append(Group(by, value, len(rs), len(errs), percentile(apes, 0.5),
                             percentile(apes, 0.9), percentile(errs, 0.5)))
    return out


def validate(path: str | Path, calibration: Calibration | None = None,
             cross_validated: bool = False) -> ValidationReport:
    """Read a measurement CSV and predict its rows (``MeasurementFileError`` if unreadable).

    ``cross_validated``: predict each row of a model the packaged fit has seen with the fit
    made without that model (leave-one-model-out, ``calibration.yaml``); rows of other models
    use the packaged fit, which never saw them either.
    """
    rows = read_rows(path)
    from xlsizer import mlperf

    if mlperf.is_mlperf(rows):  # MLPerf results: predicted per scenario (xlsizer/mlperf.py)
        return mlperf.validate_rows(rows, str(path), (lambda _m: calibration) if calibration is not None
                                    else held_out_calibration if cross_validated else (lambda _m: None))
    if cross_validated and calibration is None:
        rep = validate_rows(rows, str(path), calibration_for=held_out_calibration)
        return ValidationReport(rep.source, rep.rows, cross_validated=True)
    return validate_rows(rows, str(path), calibration)


# --- output ---------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def format_text(report: ValidationReport) -> str:
    """One line per row (id, measured, predicted, error), then the summary."""
    width = max((len(r.id) for r in report.rows), default=4)
    lines = [f"{'id':<{width}}  {'metric':<17} {'measured':>10} {'predicted':>10} {'error':>8}"]
    for r in report.rows:
        if r.skipped is not None:
            lines.append(f"{r.id:<{width}}  {r.metric:<17} skipped: {r.skipped}")
            continue
        line = (f"{r.id:<{width}}  {r.metric:<17} {_fmt(r.measured or 0.0):>10} "
                f"{_fmt(r.predicted or 0.0):>10} {(r.error or 0.0) * 100:>+7.1f}%")
        if r.note:
            line += f"  ({r.note})"
        lines.append(line)
    n = len(report.rows)
    k = len(report.predicted_rows)
    lines += [
        "",
        f"rows:       {n}",
        f"predicted:  {k}",
        f"coverage:   {_pct(report.coverage)}",
        f"median APE: {_pct(report.median_ape)}",
        f"p90 APE:    {_pct(report.p90_ape)}",
    ]
    for metric in METRICS:
        apes = report.apes([metric])
        if apes:
            lines.append(f"  {metric:<17} {len(apes):>4} rows, median APE "
                         f"{_pct(percentile(apes, 0.5))}, p90 {_pct(percentile(apes, 0.9))}")
    lines += ["", format_groups(report)]
    return "\n".join(lines)


def format_groups(report: ValidationReport) -> str:
    """The groups table: one line per value of each dimension."""
    head = (f"{'group':<14} {'value':<26} {'rows':>5} {'cover':>6} {'median APE':>10} "
            f"{'p90 APE':>8} {'median err':>10}")
    how = ("each model's rows predicted by the fit made without that model (leave-one-model-out)"
           if report.cross_validated else "predicted with the packaged fit")
    lines = [f"groups ({how}; APE = |predicted / measured - 1|)", head, "-" * len(head)]
    for g in groups(report):
        signed = "n/a" if g.median_signed_error is None else f"{g.median_signed_error * 100:+.1f}%"
        lines.append(f"{g.by:<14} {g.value[:26]:<26} {g.rows:>5} {_pct(g.coverage):>6} "
                     f"{_pct(g.median_ape):>10} {_pct(g.p90_ape):>8} {signed:>10}")
    return "\n".join(lines)


def to_json(report: ValidationReport) -> dict[str, Any]:
    """{"rows": [...], "summary": {...}}; errors as fractions."""
    rows: list[dict[str, Any]] = []
    for r in report.rows:
        if r.skipped is not None:
            rows.append({"id": r.id, "skipped": r.skipped})
        else:
            row = {"id": r.id, "metric": r.metric, "measured": r.measured,
                   "predicted": r.predicted, "ape": r.ape,
                   "ratio": r.measured / r.predicted if r.measured and r.predicted else None}
            if r.scenario:  # mlperf.csv: what the groups are by
                row.update(model=r.model, scenario=r.scenario, gpu=r.gpu, precision=r.precision, round=r.round,
                           note=r.note)
            rows.append(row)
    return {
        "rows": rows,
        "summary": {
            "rows": len(report.rows),
            "predicted": len(report.predicted_rows),
            "coverage": report.coverage,
            "median_ape": report.median_ape,
            "p90_ape": report.p90_ape,
        },
        "groups": [
            {"by": g.by, "value": g.value, "rows": g.rows, "predicted": g.predicted,
             "coverage": g.coverage, "median_ape": g.median_ape, "p90_ape": g.p90_ape,
             "median_signed_error": g.median_signed_error}
            for g in groups(report)
        ],
    }


def validate_command(data: str, as_json: bool) -> tuple[str, int]:
    """What ``xlsizer validate --data FILE [--json]`` prints, and its exit code.

    A missing, unreadable or malformed file gives one line and exit code 2.
    """
    try:
        report = validate(data, cross_validated=True)
    except MeasurementFileError as exc:
        return f"xlsizer: error: {exc.short()}", 2
    if as_json:
        return json.dumps(to_json(report), indent=2), 0
    return format_text(report), 0


__all__ = [
    "METRICS",
    "MeasurementFileError",
    "RowResult",
    "RowSkipped",
    "ValidationReport",
    "format_groups",
    "format_text",
    "groups",
    "percentile",
    "predict_row",
    "read_rows",
    "to_json",
    "validate",
    "validate_command",
    "validate_rows",
]
