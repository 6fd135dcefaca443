"""The fitted constants of the performance model (``catalog/data/calibration.yaml``) and the
confidence band shown with results."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import ModelSpec
from xlsizer.errors import XlsizerError

# --- fitted constants ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Calibration:
    """The fitted efficiencies and overheads (values and provenance in calibration.yaml)."""

    bandwidth_efficiency: float
    """Achievable fraction of peak memory bandwidth for weight and KV reads."""
    compute_efficiency: float
    """Achievable fraction of the dense tensor peak (MFU) for GEMMs and attention."""
    step_overhead_s: float
    """Fixed time per engine step (scheduling, sampling, launch), s."""
    layer_overhead_s: float
    """Fixed time per layer per micro-batch pass (small kernels and their launches), s."""
    fp4_gemm_efficiency: float
    """Multiplier on the compute efficiency for GEMMs that multiply FP4 by FP4 (NVFP4/MXFP4
    block-scaled math); weight streaming is not scaled."""
    prefill_compute_efficiency: float = 0.0
    """Achievable fraction of the dense tensor peak for prefill passes (long prompts: large
    GEMMs, no CUDA graphs, long-sequence attention); 0 = ``compute_efficiency``."""
    moe_layer_overhead_s: float = 0.0
    """Fixed time per MoE layer per micro-batch pass on top of the layer overhead (router,
    top-k, token permute/unpermute kernels), s."""
    request_overhead_s: float = 0.0
    """Fixed time from a request's arrival to its first token on an idle replica beyond the
    prefill math (tokenization, scheduling, the first step's launch, detokenization), s."""
    in_step_share: float = 1.0
    """Benchmarks whose clients start together, on an engine that runs waiting prompts before
    decodes (engines.yaml ``prefill_first``): the share of the run's rounds that stay a burst,
    dimensionless in [0, 1]. Fixed lengths would keep every round in step (1); admission
    limits and chunked prompts break waves up, by an amount the data fits
    (``queueing.burst_weight``)."""
    allreduce_peer_s: float = 0.0
    """Time per decode token per tensor-parallel all-reduce per peer GPU, s, beyond the
    collective's bandwidth term: the engines' custom all-reduce kernels for decode-sized
    messages (vLLM's custom_all_reduce one- and two-stage kernels, TensorRT-LLM's one-shot and
    two-shot AllReduce) run on a few thread blocks that load every peer's buffer over NVLink
    and synchronise with each peer through flags, so a token costs a little per peer, paced
    by load latency rather than link bandwidth (``step._build_replica``)."""
    queue_service_scale: float = 1.0
    """Time the prefill queue's server holds a waiting prompt over the modelled time (its
    prefill, packed at the token budget in a closed loop, and the decode work of the steps it
    shares), dimensionless: the scheduler's share of how TTFT grows with load. 1 (the physics
    alone) in the packaged calibration; a calibration profile fits it per deployment
    (``xlsizer calibrate``, issue 23). Scales the queue's wait, never the prompt's own prefill."""
    engines: tuple[tuple[str, str, float], ...] = ()
    """Per-engine values that replace the global ones above: (engine, constant, value) for
    ``ENGINE_CONSTANTS`` (engines schedule differently: step overhead, time
    to a first token)."""

    def engine_value(self, engine: str, name: str) -> float:
        """The constant ``name`` for ``engine``: its own fitted value, else the global one."""
        for e, n, v in self.engines:
            if e == engine and n == name:
                return v
        return float(getattr(self, name))

    def in_step(self, prefill_first: bool) -> float:
        """Share of a benchmark's rounds an engine keeps in step: ``in_step_share`` where it
        runs prompts before decodes (engines.yaml ``prefill_first``), else 0 (decodes first:
        only the first round is a burst, ``queueing.burst_weight``)."""
        return self.in_step_share if prefill_first else 0.0


ENGINE_CONSTANTS: tuple[str, ...] = ("step_overhead_s", "layer_overhead_s", "request_overhead_s")
"""The constants fitted per serving engine (the rest are global): engines fuse a layer's small
kernels differently (TensorRT-LLM's fused norm/quantize kernels, vLLM's torch.compile passes,
SGLang's own) and schedule differently. Whether clients' prompts bunch is not fitted: it
follows from each engine's scheduling order (engines.yaml ``prefill_first``, queueing.py)."""


@cache
def _calibration_file() -> dict[str, Any]:
    data = read_data_file("calibration.yaml")
    if not isinstance(data, dict) or "fitted" not in data or "confidence_band" not in data:
        raise ValueError("calibration.yaml: expected 'fitted' and 'confidence_band' sections")
    return data


@cache
def packaged_calibration() -> Calibration:
    """The packaged calibration (read once from ``catalog/data/calibration.yaml``)."""
    fitted = _calibration_file()["fitted"]
    values: dict[str, Any] = {k: float(fitted[k]["value"]) for k in Calibration.__slots__
                              if k in fitted and k != "engines"}
    values["engines"] = _engine_terms(_calibration_file().get("fitted_per_engine") or {})
    return Calibration(**values)


def _engine_terms(per_engine: dict[str, Any]) -> tuple[tuple[str, str, float], ...]:
    return tuple((str(e), str(n), float(v["value"] if isinstance(v, dict) else v))
                 for e, consts in sorted(per_engine.items()) for n, v in sorted(consts.items()))


def confidence_band(model: ModelSpec | str, engine: str | None = None) -> tuple[float, float, str]:
    """(low, high, source): where measured throughput fell, as fractions of the prediction,
    for models of this family (dense or MoE) on this serving engine when the
    cross-validation had enough of its runs, else for the family on every engine.

    A prediction P is expected between ``P × (1 + low)`` and ``P × (1 + high)``.
    """
    spec = model if isinstance(model, ModelSpec) else load_catalog().model(str(model))
    bands = _calibration_file()["confidence_band"]
    family = "moe" if spec.is_moe else "dense"
    key = family
    if engine is not None:
        from xlsizer.engine.engines import engine_profile  # the engines module is light

        with contextlib.suppress(XlsizerError):  # an unknown engine: the family's band
            if f"{family}/{engine_profile(engine).name}" in bands:
                key = f"{family}/{engine_profile(engine).name}"
    band = bands[key]
    return float(band["low"]), float(band["high"]), " ".join(str(band["source"]).split()) + band_scope(key)


BAND_COVERS = "throughput per replica (decode speed, from the runs' TPOT)"
"""What the confidence band measures (scripts/calibrate.py ``band``): the one place that says it."""


def band_scope(key: str) -> str:
    """What the band does and does not cover, for the band ``key`` ("dense", "moe/vllm"): the
    throughput per replica only; TTFT's error on the same runs (leave-one-model-out, from
    calibration.yaml's error table) is larger and outside the band, and memory and cost follow
    from the counts. Appended to the band's source wherever it is shown (issue 24 item 7: the
    band read as the error of the whole plan)."""
    err = (_calibration_file().get("provenance") or {}).get("error") or {}
    table = err.get("leave_one_model_out_by_engine" if "/" in key else "leave_one_model_out") or {}
    ttft = table.get(f"{key}/ttft_ms")
    text = f" The band covers the {BAND_COVERS} only"
    if isinstance(ttft, dict) and "median_ape" in ttft:
        text += (f"; TTFT's error on the same runs is outside it: median {float(ttft['median_ape']):.0%}, "
                 f"90th percentile {float(ttft['p90_ape']):.0%}")
    return text + "."


@cache
def _held_out() -> dict[str, Calibration]:
    lomo = _calibration_file().get("leave_one_model_out") or {}
    base = packaged_calibration()
    out: dict[str, Calibration] = {}
    for model, values in lomo.items():
        fields_: dict[str, Any] = {k: float(values.get(k, getattr(base, k)))
                                   for k in Calibration.__slots__ if k != "engines"}
        fields_["engines"] = _engine_terms(values.get("engines") or {})
        out[str(model)] = Calibration(**fields_)
    return out


def held_out_calibration(model: str) -> Calibration | None:
    """The calibration fitted without ``model``'s rows (leave-one-model-out, written by
    scripts/calibrate.py), or None (the packaged one) for a model the fit never saw."""
    return _held_out().get(model)
