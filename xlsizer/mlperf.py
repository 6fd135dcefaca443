"""MLPerf Inference results (validation/mlperf.csv) predicted the way each scenario runs
(issue 22).

- ``Server`` / ``Interactive``: LoadGen issues requests as a Poisson process and reports the
  highest rate at which the p99 TTFT and the p99 TPOT both stay within the benchmark's limits.
  Predicted as the highest output rate the system sustains within both p99 limits on its
  GPU count: per replica ``slo_capacity`` at ``slo_percentile=99`` under Poisson arrivals,
  with prompts and answers spread as the benchmark's dataset spreads them
  (``mlperf_arrivals``, catalog data ``benchmark_lengths.yaml``),
  times the replicas the GPU count holds, for the best replica shape the sizer would consider
  that divides the count (``replica_shapes``: tensor parallel 1, 2, 4 or 8 GPUs, and a MoE's
  wide expert-parallel replicas).
- ``Offline``: every request queued at once, no latency limit: the throughput ceiling (the
  batch every replica's KV memory and the engine's sequence limit allow, ``estimate`` at
  full load), for the best replica size.

Nothing per row or per submitter is fitted on these rows: each model uses the serving.csv fit
made without that model where it has one (leave-one-model-out, ``calibration.yaml``); the one
number taken from them is each FP4 GPU's sustained share of its datasheet FP4 rate
(``GpuSpec.fp4_sustained_ratio``, fitted on the Offline rows and adopted only where it holds with
each model left out: ``scripts/fit_fp4_sustained.py``). A row whose ``gpu`` is empty (the
file's catalog lacked it) is resolved from its accelerator name by the catalog's aliases; a row
whose precision is empty gets the file's own rule for the rounds whose tables state none
(``INFERRED_PRECISION``), or the format its submitters state where the rule is silent (L40S:
``SUBMITTED_PRECISION``). Rows the catalog or neither rule covers are skipped with the reason. A
row's engine is the one its system's name says where the file guessed it from the vendor
(``engine_of``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec
from xlsizer.engine.calibration import Calibration, held_out_calibration
from xlsizer.engine.latency import LENGTH_CV_MAX, POISSON, Arrivals
from xlsizer.engine.memory import kv_bytes_per_token
from xlsizer.engine.optimizations import effects
from xlsizer.engine.performance import ReplicaCapacity, Tuning, estimate, slo_capacity
from xlsizer.errors import XlsizerError
from xlsizer.inputs import make_inputs
from xlsizer.precision import Precision, parse_precision
from xlsizer.units import count
from xlsizer.validation_results import RowResult, ValidationReport, family_of, with_catalog_model

SCENARIOS: tuple[str, ...] = ("Server", "Interactive", "Offline")
TP_SIZES: tuple[int, ...] = (1, 2, 4, 8)
"""Tensor-parallel replica sizes tried (the sizer's own search, defaults.yaml gpu_pick)."""
MLPERF_PERCENTILE: float = 99.0
"""LoadGen's latency percentile for the LLM benchmarks (mlperf.conf: p99 TTFT and p99 TPOT)."""
ENGINE: dict[str, str] = {"tensorrt-llm": "tensorrt-llm", "vllm": "vllm", "sglang": "sglang"}

_BLACKWELL = ("b100", "b200", "b300", "gb200", "gb300", "rtx-pro-6000", "rtx-pro-4500")
_CDNA4 = ("mi350x", "mi350p", "mi355x")  # MI350X/MI350P: MI355X's CDNA 4 silicon at lower clocks
_HOPPER_CDNA3 = ("h100-sxm", "h100-pcie", "h100-nvl", "h200-sxm", "h200-nvl", "gh200", "gh200-144gb",
                 "mi300x", "mi325x")
INFERRED_PRECISION: dict[str, str] = {**{g: "fp4" for g in _BLACKWELL + _CDNA4}, **{g: "fp8" for g in _HOPPER_CDNA3}}
"""Precision of a row whose results table states none, by catalog GPU: the file's own rule
(validation/README.md, mlperf.csv: "FP4 is assumed on Blackwell and MI355X and FP8 on Hopper,
MI300X and MI325X"), which its ``precision`` column applies wherever it filled the GPU."""

SUBMITTED_PRECISION: dict[str, str] = {"l40s": "fp8"}
"""Precision of rows outside the file's rule, as the submissions themselves state it.

L40S: FP8. Red Hat's v5.1 L40S run states ``weight_data_types: fp8`` (inference_results_v5.1,
closed/RedHat/measurements/IBM_Cloud_gx3-48x240x2l40s_vLLM/llama3.1-8b/Server/*.json), and
NVIDIA's TensorRT-LLM harness runs llama2-70b on L40S at FP8 with FP8 KV (closed/Cisco/configs/
C845A_L40Sx8/Server/llama2-70b.py: ``model_fields.precision: 'fp8'``), the harness the v5.0
Dell and HPE L40S TensorRT systems run.

Intel Arc Pro (B50, B60, B60 Dual, B70) stays skipped in these rounds: ``TABLE_NOT_COMPARABLE``."""

_ARC_PRO_REASON = (
    "Intel Arc Pro in the v5.1/v6.0 results table: its llama-3.1-8b values are samples/s, not tokens/s "
    "(the v6.0 B60 log: 26.15 samples/s, 3,347 tokens/s; the table has 26.15), and a B60 Dual card, two GPUs, "
    "counts as one accelerator, so a prediction would measure the table's units, not the model (the "
    "submissions state INT8 for the Llama models and MXFP4 with BF16 compute for gpt-oss-120b)")
TABLE_NOT_COMPARABLE: dict[str, tuple[frozenset[str], str]] = {
    gpu: (frozenset({"v5.1", "v6.0"}), _ARC_PRO_REASON) for gpu in ("b50", "b60", "b60-dual", "b70")}
"""Catalog GPU -> (rounds, reason): rows of those rounds on that GPU are skipped with the reason,
whatever their precision column says, because the results table's own figures for them cannot be
set beside a prediction. A later round's rows on the GPU are read as any other."""

_ENGINE_NAMED = (("vllm", "vllm"), ("sglang", "sglang"), ("tensorrt", "tensorrt-llm"), ("trt", "tensorrt-llm"),
                 ("llm-d", "vllm"))
"""Engine words in a system's name (``..._vLLM``, ``... TensorRT``, ``..._TRT``), in the order
they are looked for. llm-d (Red Hat's v6.0 "LLM-D v0.5.0 ... 8xB200-SXM-180GB") is a serving
stack whose model server is vLLM: those systems' descriptions state "framework: LLM-D v0.5.0,
vLLM 0.14.1" (closed/RedHat/systems/8xB200-LLM-D-Openshift.json, 8xH200-LLM-D-Openshift.json)."""

GROUP_DIMENSIONS: tuple[str, ...] = ("model/scenario", "model", "scenario", "gpu", "precision", "round")


def is_mlperf(rows: list[dict[str, str]]) -> bool:
    """Whether the rows are mlperf.csv's (a scenario and p99 limits per row)."""
    return bool(rows) and "scenario" in rows[0] and "ttft_p99_limit_ms" in rows[0]


class Skip(Exception):
    """The row cannot be predicted; the message says why."""


def _num(row: Mapping[str, str], key: str) -> float:
    try:
        v = float(row.get(key, "") or "nan")
    except ValueError:
        raise Skip(f"{key} {row.get(key)!r} is not a number") from None
    if not v > 0:
        raise Skip(f"{key} not given")
    if v == math.inf:
        raise Skip(f"{key} {row.get(key)!r} is not a finite number")
    return v


def numbers(row: Mapping[str, str], *keys: str) -> tuple[float, ...]:
    """The row's values of ``keys``, each a positive number; ``Skip`` names the first that is not
    (a newer round's file may leave a field empty)."""
    return tuple(_num(row, k) for k in keys)


def _engine(text: str) -> str:
    word = (text or "").split(" ")[0].lower()
    return ENGINE.get(word, "vllm")


def engine_of(row: Mapping[str, str]) -> str:
    """The serving engine of a row: its ``engine`` column, except where that is the file's guess
    from the vendor ("tensorrt-llm (inferred from vendor)") and the system's own name says
    otherwise (Red Hat's "IBM Cloud gx3 instance 1xL40S-PCIE-48GB vLLM" ran vLLM on NVIDIA GPUs):
    the submitter's name for its system is its own statement, the vendor a guess."""
    text = row.get("engine", "")
    if "inferred" in text:
        name = row.get("system", "").lower()
        # plain words, and hyphenated ones whole ("llm-d")
        words = set(re.findall(r"[a-z]+", name)) | set(re.findall(r"[a-z]+(?:-[a-z]+)+", name))
        for word, engine in _ENGINE_NAMED:
            if word in words:
                return engine
    return _engine(text)


MTP_DRAFT_TOKENS: int = 3
"""Draft tokens of the model's own multi-token-prediction head in MLPerf's Interactive runs of a
model that ships one (DeepSeek-R1): the benchmark standardises 3 (issue 22), and the file's
README says submitters use speculative decoding where the rules allow it. Acceptance is the
sizer's default (``inputs.spec_acceptance_rate``, from the DeepSeek-V3 report §5.4.3)."""


def mtp_tuning(model: str, gpu: str, n: int, precision: str, isl: float, osl: float) -> Tuning | None:
    """The tuning of ``n`` GPUs running the model's MTP head with ``MTP_DRAFT_TOKENS`` drafts
    (the sizer's own speculative-decoding terms, ``optimizations.effects``), None for a model
    without one. The drafter's weights come out of the KV budget; its KV is reserved with the
    target's for the prompt and output."""
    cat = load_catalog()
    m, g = cat.model(model), cat.gpu(gpu)
    if m.mtp_layers <= 0:
        return None
    inp = make_inputs({"model": model, "precision": precision, "gpu": gpu, "avg_prompt_tokens": max(16, round(isl)),
                       "avg_output_tokens": max(16, round(osl)), "speculative_decoding": True,
                       "spec_draft_tokens": MTP_DRAFT_TOKENS})
    fx = effects(inp, m, isl, osl)
    prec = Precision(precision)
    tun = fx.tuning_for(g, n, prec if g.supports(prec) else Precision.BF16)
    d = fx.draft
    kv_tok = kv_bytes_per_token(m, inp.kv_precision.bytes_per_element)
    return replace(tun, extra_resident_bytes=d.weight_bytes if d else 0.0,
                   kv_reserved_tokens=(isl + osl) * (1.0 + (d.kv_bytes_per_token / kv_tok if d else 0.0)))


class DatasetLengths(BaseModel):
    """One MLPerf dataset's request lengths (``benchmark_lengths.yaml``): tokens per sample."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str
    dataset: str = ""
    samples: int = Field(gt=0)
    prompt_mean: float = Field(gt=0)
    prompt_cv: float = Field(ge=0, le=LENGTH_CV_MAX)
    output_mean: float = Field(gt=0)
    output_cv: float = Field(ge=0, le=LENGTH_CV_MAX)
    note: str = ""


@lru_cache(maxsize=1)
def dataset_lengths() -> dict[str, DatasetLengths]:
    """Catalog model id -> its MLPerf dataset's request lengths (catalog data file
    ``benchmark_lengths.yaml``, with its source)."""
    raw = read_data_file("benchmark_lengths.yaml")
    return {k: DatasetLengths.model_validate(v) for k, v in raw["datasets"].items()}


def mlperf_arrivals(model: str) -> Arrivals:
    """LoadGen's traffic for ``model``'s benchmark: Poisson arrivals, the prompts and answers
    spread as its dataset's (``dataset_lengths``); equal lengths where the spread is not
    published (gpt-oss-120b)."""
    d = dataset_lengths().get(model)
    return POISSON if d is None else Arrivals("poisson", 1.0, d.prompt_cv, d.output_cv)


def _traffic(model: str, percentile: float | None) -> Arrivals:
    """The traffic a row is predicted under: LoadGen's (``mlperf_arrivals``), or equal lengths
    when ``percentile`` is None (the limits read as means: the sizer before issue 22)."""
    return POISSON if percentile is None else mlperf_arrivals(model)


def replica_shapes(model: str, gpu: GpuSpec | str) -> list[tuple[int, int]]:
    """(GPUs per replica, expert-parallel width) of the replicas the sizer tries for ``model``
    on ``gpu``: tensor-parallel ones of ``TP_SIZES`` GPUs (width 1), and for a MoE the wide
    expert-parallel ones (attention data-parallel, tp 1: ``search.wide_ep_configs``), so
    that a result is predicted with the shapes a sizing would buy."""
    from xlsizer.engine.search import wide_ep_configs

    cat = load_catalog()
    g = cat.gpu(gpu) if isinstance(gpu, str) else gpu
    return [(n, 1) for n in TP_SIZES] + wide_ep_configs(g, cat.model(model))


def shape_capacity(model: str, gpu: GpuSpec | str, n: int, ep: int, precision: str, isl: float, osl: float,
                   tpot_s: float, ttft_s: float | None, engine: str, calibration: Calibration | None,
                   percentile: float | None = MLPERF_PERCENTILE, mtp: bool = False) -> ReplicaCapacity:
    """One replica of shape (``n`` GPUs, expert-parallel width ``ep``: ``replica_shapes``)
    within the limits, under Poisson arrivals with the dataset's spread of lengths
    (``mlperf_arrivals``; equal lengths when ``percentile`` is None, the limits read as means:
    the sizer before issue 22); ``mtp``: the model's MTP head drafts."""
    gpu_id = gpu if isinstance(gpu, str) else gpu.id
    tp = n if ep == 1 else 1
    return slo_capacity(model, gpu, tp, precision, isl, osl, tpot_s, ep=ep, engine=engine,
                        target_ttft_s=ttft_s, calibration=calibration, slo_percentile=percentile,
                        arrivals=_traffic(model, percentile),
                        tuning=mtp_tuning(model, gpu_id, tp, precision, isl, osl) if mtp else None)


def sized_capacity(model: str, gpu: GpuSpec | str, precision: str, isl: float, osl: float,
                   tpot_s: float | None, ttft_s: float | None, engine: str, gpus: int,
                   calibration: Calibration | None, percentile: float | None = MLPERF_PERCENTILE,
                   mtp: bool = False) -> tuple[float, int, int]:
    """(output tok/s of ``gpus`` GPUs, GPUs per replica, expert-parallel width) at the best
    replica shape (``replica_shapes``); ``gpu`` a catalog id or row (a modified row:
    scripts/fit_fp4_sustained.py); ``tpot_s`` None = the Offline ceiling; ``percentile`` None
    = the limits taken as means (the sizer before issue 22); ``mtp``: the model's MTP head
    drafts (``mtp_tuning``)."""
    best, best_n, best_ep = 0.0, 0, 1
    for n, ep in replica_shapes(model, gpu):
        if gpus % n:
            continue
        try:
            if tpot_s is None:
                out = estimate(model, gpu, n if ep == 1 else 1, precision, isl, osl, None, ep=ep, engine=engine,
                               calibration=calibration,
                               output_cv=_traffic(model, percentile).answer_cv,
                               ).out_tok_s_per_replica
            else:
                cap = shape_capacity(model, gpu, n, ep, precision, isl, osl, tpot_s, ttft_s, engine,
                                     calibration, percentile, mtp)
                out = cap.out_tok_s if cap.feasible else 0.0
        except XlsizerError:
            continue
        if out * gpus / n > best:
            best, best_n, best_ep = out * gpus / n, n, ep
    return best, best_n, best_ep


def _gpu_of(row: Mapping[str, str]) -> str:
    """The row's catalog GPU id: its ``gpu``, else its accelerator name through the catalog's
    aliases ("" when the catalog has no such accelerator)."""
    if row.get("gpu", ""):
        return row["gpu"]
    try:
        return load_catalog().gpu(row.get("accelerator", "")).id
    except (KeyError, XlsizerError):
        return ""


def resolved(row: Mapping[str, str]) -> tuple[str, str]:
    """(catalog GPU id, precision) of a row: its own, else the accelerator name through the
    catalog's aliases and the file's precision rule (``INFERRED_PRECISION``, then
    ``SUBMITTED_PRECISION``). ``Skip`` when either cannot be had, when the precision is not one
    the sizer has a rate for, or when the round's table is not comparable on that GPU
    (``TABLE_NOT_COMPARABLE``)."""
    gpu = _gpu_of(row)
    if not gpu:
        raise Skip(f"accelerator {row.get('accelerator', '')!r} is not in the catalog")
    rounds, why = TABLE_NOT_COMPARABLE.get(gpu, (frozenset(), ""))
    if row.get("round", "") in rounds:
        raise Skip(why)
    precision = row.get("precision", "") or INFERRED_PRECISION.get(gpu, "") or SUBMITTED_PRECISION.get(gpu, "")
    if not precision:
        stated = ", ".join(f"{p.upper()} on {g}" for g, p in SUBMITTED_PRECISION.items())
        raise Skip(f"precision not given, and neither the file's rule (FP4 on Blackwell and MI355X, FP8 on Hopper, "
                   f"MI300X and MI325X) nor a submission's statement ({stated}) covers {gpu}")
    try:
        parse_precision(precision)
    except ValueError:
        known = ", ".join(p.value for p in Precision)
        raise Skip(f"precision {precision!r} is not one xlsizer sizes ({known}, and aliases such as nvfp4)") from None
    return gpu, precision


def predict(row: Mapping[str, str], calibration: Calibration | None,
            percentile: float | None = MLPERF_PERCENTILE) -> tuple[float, str]:
    """(predicted output tok/s of the whole system, note) for one mlperf.csv row."""
    scenario = row.get("scenario", "")
    if scenario not in SCENARIOS:
        raise Skip(f"scenario {scenario!r} is not Server, Interactive or Offline")
    gpu, precision = resolved(row)
    gpus = int(_num(row, "gpu_count"))
    isl, osl = _num(row, "isl_mean"), _num(row, "osl_mean")
    engine = engine_of(row)
    if scenario == "Offline":
        tpot = ttft = None
    else:
        tpot, ttft = _num(row, "tpot_p99_limit_ms") / 1000.0, _num(row, "ttft_p99_limit_ms") / 1000.0
    mtp = scenario == "Interactive"  # the model's MTP head where it has one (MTP_DRAFT_TOKENS)
    out, n, ep = sized_capacity(row.get("model", ""), gpu, precision, isl, osl, tpot, ttft, engine, gpus,
                                calibration, percentile, mtp=mtp)
    if out <= 0.0:
        raise Skip("no replica size meets the p99 limits (or fits) on these GPUs")
    how = "throughput ceiling" if scenario == "Offline" else f"p{MLPERF_PERCENTILE:g} limits, Poisson arrivals"
    d = dataset_lengths().get(row.get("model", ""))
    if scenario != "Offline" and d is not None:
        how += f", the dataset's lengths spread (CV prompts {d.prompt_cv:g}, answers {d.output_cv:g})"
    if mtp and load_catalog().model(row.get("model", "")).mtp_layers > 0:
        how += f", MTP head with {MTP_DRAFT_TOKENS} draft tokens"
    shape = f"TP={n}" if ep == 1 else f"DEP={n} (attention data-parallel, experts over {n} GPUs)"
    reps = gpus // n
    return out, f"{count(reps, 'replica')} of {shape}, {how}"


def validate_rows(rows: Iterable[Mapping[str, str]], source: str = "",
                  calibration_for: Callable[[str], Calibration | None] = held_out_calibration) -> object:
    """A ``validation.ValidationReport`` of mlperf.csv rows (metric ``out_tok_s_total``),
    with the scenario, precision and round of each row for the groups."""

    out = []
    for i, raw in enumerate(rows, start=1):
        row = with_catalog_model(raw)
        rid = row.get("id") or f"row {i}"
        model = row.get("model", "")
        try:
            gpu, precision = resolved(row)
        except Skip:
            gpu, precision = _gpu_of(row), row.get("precision", "")
        desc = {"model": model, "family": family_of(model) if model else "", "engine": engine_of(row),
                "gpu": gpu, "mode": "agg", "scenario": row.get("scenario", ""),
                "precision": precision, "round": row.get("round", "")}
        metric = row.get("metric", "out_tok_s_total")
        try:
            measured = _num(row, "value")
            predicted, note = predict(row, calibration_for(model))
        except (Skip, XlsizerError) as skip:  # a row the catalog cannot size (e.g. a model it lacks) is skipped
            out.append(RowResult(rid, metric, skipped=str(skip), **desc))
            continue
        out.append(RowResult(rid, metric, measured, predicted, note=note, **desc))
    return ValidationReport(source, tuple(out), cross_validated=True, dimensions=GROUP_DIMENSIONS)


__all__ = ["GROUP_DIMENSIONS", "SCENARIOS", "engine_of", "is_mlperf", "predict", "replica_shapes", "shape_capacity",
           "sized_capacity",
           "validate_rows"]
