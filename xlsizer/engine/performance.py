"""Speed: a roofline performance model of one replica (course.md §3, §3b, §10.3 step 11).

A replica is ``tp × pp × dp`` GPUs serving one copy of the model (``dp`` > 1 only for MoE
attention data parallelism, when ``ep`` > ``tp``). Quantities are per GPU unless named
otherwise; ``B`` is the number of sequences decoding together. With ``pp`` stages the batch
runs as ``pp`` micro-batches, each crossing every stage, so one decode step is ``pp``
micro-batch passes.

One decode step (every sequence gains ``a`` output tokens; a = 1 without speculation):

    GEMM pass g(T) = sqrt(t_mem² + t_math²)               smooth roofline (ROOFLINE_NORM)
        t_mem  = weight bytes read / (BW × η_bw)           every non-expert weight except the
                 input embedding (only B rows are gathered) + the routed experts touched:
                 E × (1 − (1 − k/E)^T) per MoE layer for T routed tokens; shared ones always
        t_math = 2 × N_matmul × T / G / (peak × η_c)       at the weights' compute precision
    decode tokens      T_d = B × d / pp                    (d = 1, or 1 + drafts verified)
    prefill tokens     T_p = (B − 1) × r / pp,  r = prompt × a / output_tokens: continuous
                       batching mixes the prompts of the requests that replace finishing ones
                       into the steps of the others. The engine runs a prompt in chunks of
                       S_c = min(prompt, token budget), so only a fraction f = T_p / S_c of
                       the passes carries one (f ≤ 1):
    GEMMs              = (1 − f) × g(T_d) + f × g(T_d + S_c)        (g(T_d + T_p) if f = 1)
    attention          = B/(pp·dp) × max(KV bytes(ctx) / (BW × η_bw), decode FLOPs / (peak16 × η_c))
                         + prefill attention FLOPs share (causal: 4·L·d_attn·S²/2 per prompt)
    all-reduce         = 2 per layer when tp > 1: latency + 2(tp−1)/tp × T × h × 2 B / link BW
    step               = pp × (GEMMs + L/pp × layer overhead) + attention + collectives
                         + step overhead + (pp − 1) × stage hand-off
    TPOT = step / a;   a request holds its slot for prefill + output_tokens × TPOT, so
    output tok/s = B × output_tokens / (prefill + output_tokens × TPOT)   (Little's law)

KV read per sequence: its cache at the mean context prompt + output/2, sliding-window
layers capped at their window. Prefill of one prompt (TTFT without queueing): the same pass
on its S tokens alone, compute-bound for any real prompt.

Max batch = KV budget / KV reserved per request (prompt + output tokens, as the course sizes
it and TensorRT-LLM's no-evict scheduler reserves it), capped by the engine's sequence
limit; KV budget = the engine's share of device memory − weights − activations.

Capacity under a TPOT target (``slo_capacity``): the step time grows with B; two closed-form
bounds (prompt tokens spread over every pass: step too short; prompt math fully added: too
long) bracket the largest B meeting the target, one regula-falsi step (three for MoE, in
log B) and a check of the neighbouring whole batches pin it exactly.

TTFT at an offered load (``ttft_at_load``): M/D/1 queue in front of prefill (service time =
one prompt's prefill S, ρ = λS, mean wait ρS/(2(1 − ρ)), Pollaczek-Khinchine);
TTFT = wait + S + one decode step.

Fitted constants (η_bw, η_c, step and layer overhead, FP4 GEMM efficiency) live in
``catalog/data/calibration.yaml`` with their provenance; ``scripts/calibrate.py`` fits them on
``validation/calibration.csv`` only. Sourced constants are below, each with its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, NamedTuple

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine.memory import activations_bytes, kv_bytes_per_token_per_layer
from xlsizer.errors import (
    InfeasibleError,
    InputError,
    UnsupportedPrecisionError,
    XlsizerError,
)
from xlsizer.precision import Precision, parse_precision
from xlsizer.precision import default_kv_precision as _default_kv
from xlsizer.units import GB, GIB

# --- sourced constants ------------------------------------------------------------------

ALLREDUCE_LATENCY_S: float = 10e-6
"""Fixed latency of one all-reduce or all-to-all call, s. aiconfigurator
systems/h100_sxm.yaml ``p2p_latency: 0.00001``, which that project labels an *unofficial
correction based on observations*, not a vendor figure."""

STAGE_HOP_LATENCY_S: float = 10e-6
"""Latency of one pipeline-stage hand-off, s (the same unofficial aiconfigurator figure)."""

INTER_NODE_BYTES_PER_S: float = 50e9
"""Per-GPU bandwidth between nodes, one direction, bytes/s: one 400 Gb/s NDR NIC per GPU
(aiconfigurator systems/h100_sxm.yaml ``inter_node_bw``). Used for pipeline hand-offs across
nodes and for tensor/expert parallelism wider than a node."""

ACTIVATION_BYTES_PER_ELEMENT: float = 2.0
"""Bytes per hidden-state element in all-reduce, all-to-all and stage hand-offs: activations
stay BF16 with FP8/FP4 weights (the GEMMs quantize their inputs on the fly)."""

ATTENTION_COMPUTE: Precision = Precision.BF16
"""Attention math runs at the BF16 tensor rate whatever the weight format (FlashAttention,
FlashInfer and TensorRT-LLM's default attention kernels compute in BF16)."""

GATED_FFN_MATRICES: int = 3
"""Weight matrices per gated (SwiGLU) FFN expert: gate, up, down (Llama, Mixtral, Qwen,
DeepSeek and gpt-oss configs)."""

ROOFLINE_NORM: float = 2.0
"""Exponent of the smooth GEMM roofline (t_mem^p + t_math^p)^(1/p). A plain max assumes
weight streaming and tensor math overlap perfectly, which kernels near the ridge point do
not. p = 2 was chosen by leave-one-group-out cross-validation on validation/calibration.csv
among 1, 1.5, 2, 3 and ∞ (see calibration.yaml); the code hard-wires p = 2 (a sqrt), which
also keeps the capacity bounds in closed form."""

MEMORY_CAPACITY_GAIN: float = 0.10
"""At the all-queued batch, memory capacity is named the binding resource when twice the KV
memory would raise throughput by more than this fraction (a definition, not a measurement)."""


# --- serving engines: memory policy, sequence and token limits (sourced, not fitted) -----


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """How a serving engine uses memory and how much it runs in one step (its defaults)."""

    name: str
    kv_fraction: float
    """Share of device memory for weights + activations + KV (``of_free`` False), or share of
    what weights and activations leave that goes to KV (``of_free`` True)."""
    of_free: bool
    max_seqs_large: int
    """Running-sequence cap on GPUs with ≥ 70 GiB (vLLM: except A100)."""
    max_seqs_small: int
    token_budget_large: int
    """Tokens one step may process (prefill chunk + decode), GPUs with ≥ 70 GiB."""
    token_budget_small: int
    source: str


ENGINES: dict[str, EngineProfile] = {
    "vllm": EngineProfile(
        "vllm", 0.90, False, 1024, 256, 8192, 2048,
        "vLLM: gpu_memory_utilization 0.9 of total memory; for the OpenAI server "
        "max_num_seqs 1024 and max_num_batched_tokens 8192 on GPUs with >= 70 GiB except "
        "A100, else 256 and 2048 (vllm/engine/arg_utils.py get_batch_defaults)",
    ),
    "tensorrt-llm": EngineProfile(
        "tensorrt-llm", 0.90, True, 2048, 2048, 8192, 8192,
        "TensorRT-LLM: KvCacheConfig free_gpu_memory_fraction 0.9 of the memory left after "
        "weights and activations; LLM API max_batch_size 2048, max_num_tokens 8192 "
        "(trtllm-bench tunes them per dataset, tensorrt_llm/bench/build/tuning.py)",
    ),
    "sglang": EngineProfile(
        "sglang", 0.88, False, 4096, 4096, 8192, 2048,
        "SGLang: mem_fraction_static about 0.88 on 80 GB-class GPUs, chunked_prefill_size "
        "8192 there (smaller on small GPUs); max_running_requests follows the KV pool, 4096 "
        "is used as a ceiling (an assumption)",
    ),
}
ENGINE_ALIASES: dict[str, str] = {
    "vllm": "vllm",
    "tensorrt-llm": "tensorrt-llm",
    "tensorrt_llm": "tensorrt-llm",
    "trt-llm": "tensorrt-llm",
    "trtllm": "tensorrt-llm",
    "triton": "tensorrt-llm",
    "nim": "tensorrt-llm",
    "sglang": "sglang",
}


def engine_profile(engine: str) -> EngineProfile:
    """The profile for an engine name or alias, case-insensitive, a version suffix allowed
    ("vLLM 0.6.0", "tensorrt-llm-1.0"); InputError if unknown."""
    name = str(engine).strip().lower().replace(" ", "-")
    key = ENGINE_ALIASES.get(name)
    if key is None:
        for alias in sorted(ENGINE_ALIASES, key=len, reverse=True):
            if name.startswith(alias) and not name[len(alias):len(alias) + 1].isalpha():
                key = ENGINE_ALIASES[alias]
                break
    if key is None:
        raise InputError("engine", engine, f"one of {', '.join(sorted(ENGINE_ALIASES))}")
    return ENGINES[key]


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
    """Multiplier on both fractions for GEMMs whose weights are FP4."""


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
    return Calibration(**{k: float(fitted[k]["value"]) for k in Calibration.__slots__})


def confidence_band(model: ModelSpec | str) -> tuple[float, float, str]:
    """(low, high, source): where measured throughput fell, as fractions of the prediction,
    for models of this kind (dense or MoE) on the calibration set.

    A prediction P is expected between ``P × (1 + low)`` and ``P × (1 + high)``.
    """
    band = _calibration_file()["confidence_band"]["moe" if _as_model(model).is_moe else "dense"]
    return float(band["low"]), float(band["high"]), str(band["source"])


# --- the knobs optimizations act through (issue 4 maps its toggles onto these) -------------


@dataclass(frozen=True, slots=True)
class Tuning:
    """Physical knobs serving optimizations act through. The defaults change nothing."""

    decode_tokens_per_step: float = 1.0
    """Tokens each sequence pushes through the model per decode step (1 + drafts verified
    with speculative decoding). Scales GEMM and attention FLOPs, not bytes."""
    accepted_tokens_per_step: float = 1.0
    """Output tokens each sequence gains per decode step; TPOT = step time / this."""
    extra_step_s: float = 0.0
    """Extra time per decode step, s (e.g. the draft model's passes)."""
    extra_read_bytes_per_step: float = 0.0
    """Extra bytes each GPU streams per pass (LoRA adapters, a draft model's weights)."""
    extra_resident_bytes: float = 0.0
    """Memory per replica taken from the KV budget (adapters, draft model, pinned KV)."""
    kv_reserved_tokens: float | None = None
    """KV tokens reserved per request; None = prompt + output (max context without
    PagedAttention)."""
    continuous_batching: bool = True
    """False: prompts run in passes of their own instead of joining decode steps (the idle
    slots and padding of static batches are the caller's to model)."""
    gemm_rate_scale: float = 1.0
    """GEMM tensor rate relative to the rate of the ``precision`` passed (e.g. 0.5 for FP8
    weights multiplied at BF16, W8A16). Scales GEMM math in decode and prefill."""
    extra_step_s_per_seq: float = 0.0
    """Extra time per decode step per sequence, s (e.g. a draft model's KV reads and math)."""
    kv_host_fraction: float = 0.0
    """Share of each sequence's KV that lives in host memory (KV offload) and streams to the
    GPU over the host link every decode step."""
    host_link_bytes_per_s: float = math.inf
    """Host-to-GPU bandwidth per GPU, one direction, bytes/s (with ``kv_host_fraction``)."""
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # hashed once (every compared field, so new knobs are included): the hot path keys
        # its caches on the tuning
        object.__setattr__(self, "_hash", hash(tuple(
            getattr(self, f.name) for f in fields(self) if f.compare)))

    def __hash__(self) -> int:
        return self._hash


DEFAULT_TUNING = Tuning()


# --- per-replica constants, computed once per configuration --------------------------------


@dataclass(frozen=True, slots=True)
class _Replica:
    """Per-GPU constants of one replica configuration (base units)."""

    gpus: int
    tp: int
    pp: int
    dp: int
    weights_resident_bytes: float  # per replica
    kv_budget_bytes: float  # per replica, engine default
    max_seqs: int
    token_budget: int
    bw: float  # achievable bytes/s for KV reads
    gemm_bw: float  # achievable bytes/s for weight streaming
    peak: float  # achievable GEMM FLOP/s at the compute precision
    attn_peak: float  # achievable attention FLOP/s
    dense_read_bytes: float  # non-expert weights one micro-batch pass streams
    routed_bytes: float  # all routed experts on this GPU
    log_miss: float  # ln(1 − k/E), 0 for dense
    flops_per_token: float  # GEMM FLOPs per token of a micro-batch pass
    kv_full_per_token: float  # KV bytes per context token, unbounded layers
    kv_win_per_token: float  # KV bytes per context token, windowed layers
    window: float  # window tokens (inf if none)
    kv_repl_full: float  # replica KV bytes per reserved token (replication included)
    kv_repl_win: float
    attn_full_per_ctx: float  # decode attention FLOPs per (query, context token)
    attn_win_per_ctx: float
    prefill_attn_full: float  # × ∫ s ds over the prompt
    prefill_attn_win: float
    comm_fixed_s: float  # per micro-batch pass
    comm_per_token_s: float  # per token of a pass
    hop_fixed_s: float  # per stage boundary
    hop_per_token_s: float
    layer_s: float  # layer overhead per micro-batch pass
    step_s: float


_REPLICAS: dict[tuple, tuple[ModelSpec, GpuSpec, _Replica]] = {}


def _replica(
    model: ModelSpec, gpu: GpuSpec, tp: int, pp: int, ep: int,
    prec: Precision, kvp: Precision, engine: EngineProfile, cal: Calibration,
) -> _Replica:
    # Keyed by object identity: catalog rows are shared objects and a modified copy is a
    # new object; the entry keeps both alive, so their ids cannot be reused meanwhile.
    key = (id(model), id(gpu), tp, pp, ep, prec, kvp, engine.name, cal)
    hit = _REPLICAS.get(key)
    if hit is not None:
        return hit[2]
    if len(_REPLICAS) >= 4096:
        _REPLICAS.clear()
    rep = _build_replica(model, gpu, tp, pp, ep, prec, kvp, engine, cal)
    _REPLICAS[key] = (model, gpu, rep)
    return rep


def _build_replica(
    model: ModelSpec, gpu: GpuSpec, tp: int, pp: int, ep: int,
    prec: Precision, kvp: Precision, engine: EngineProfile, cal: Calibration,
) -> _Replica:
    fp4 = cal.fp4_gemm_efficiency if prec is Precision.FP4 else 1.0
    peak = gpu.dense_flops(prec) * cal.compute_efficiency * fp4  # UnsupportedPrecisionError
    attn_peak = gpu.dense_flops(ATTENTION_COMPUTE) * cal.compute_efficiency
    moe = model.moe
    dp = 1
    if ep > 1:
        if moe is None:
            raise InputError("ep", ep, "1 for a dense model", "expert parallelism needs MoE")
        if ep > moe.experts:
            raise InputError("ep", ep, f"at most the {moe.experts} experts of {model.id}")
        if ep > tp:
            if ep % tp:
                raise InputError("ep", ep, f"a multiple of tp={tp} when larger than tp")
            dp = ep // tp
    gpus = tp * pp * dp
    wb = prec.bytes_per_element
    h = model.hidden_size
    total = model.total_params
    embed = float(model.vocab_size * h)  # input embedding: gathered, not streamed
    if moe is not None:
        per_expert = GATED_FFN_MATRICES * h * moe.expert_intermediate_size
        routed = min(moe.moe_layers * moe.experts * per_expert, 0.98 * total)
        log_miss = math.log1p(-moe.experts_per_token / moe.experts)
        moe_share = moe.moe_layers / model.layers
    else:
        routed = log_miss = moe_share = 0.0
    dense = total - routed
    weights_resident = (dense * dp + routed) * wb
    matmul_active = max(model.active_params - embed, 0.5 * model.active_params)

    # KV: heads split by tp (replicated when tp > KV heads; MLA's latent on every rank),
    # layers split by pp.
    per_layer = kv_bytes_per_token_per_layer(model, kvp.bytes_per_element)
    shard = 1.0 if model.mla is not None else math.ceil(model.kv_heads / tp) / model.kv_heads
    sw = model.sliding_window
    win_layers = sw.bounded_layers if sw else 0
    full_layers = model.layers - win_layers

    # Attention FLOPs per (query token, context token, layer): 2 × heads × (d_qk + d_v);
    # MLA decodes in the absorbed form over its latent.
    heads = model.attention_heads
    if model.mla is not None:
        lat = model.mla.kv_lora_rank
        dec_coeff = 2.0 * heads * (2 * lat + model.mla.qk_rope_head_dim)
    else:
        dec_coeff = 4.0 * heads * model.head_dim
    pre_coeff = 4.0 * heads * model.head_dim
    per_gpu = 1.0 / (tp * pp)

    # Collectives per micro-batch pass of one stage.
    link = gpu.interconnect_bytes_per_s if tp <= gpu.gpus_per_node else INTER_NODE_BYTES_PER_S
    stage_layers = model.layers / pp
    act = h * ACTIVATION_BYTES_PER_ELEMENT
    comm_fixed = comm_tok = 0.0
    if tp > 1:
        n_ar = stage_layers * (2.0 - (moe_share if ep > 1 else 0.0))
        comm_fixed += n_ar * ALLREDUCE_LATENCY_S
        comm_tok += n_ar * 2.0 * (tp - 1) / tp * act / link / dp
    if ep > 1 and moe is not None:
        n_a2a = 2.0 * stage_layers * moe_share
        ep_link = link if tp * dp <= gpu.gpus_per_node else INTER_NODE_BYTES_PER_S
        comm_fixed += n_a2a * ALLREDUCE_LATENCY_S
        comm_tok += n_a2a * moe.experts_per_token * act * (ep - 1) / ep / ep_link / (dp * tp)
    hop_link = INTER_NODE_BYTES_PER_S if gpus > gpu.gpus_per_node else gpu.interconnect_bytes_per_s

    memory = gpus * gpu.memory_bytes
    activations = activations_bytes(weights_resident)
    if engine.of_free:
        kv_budget = engine.kv_fraction * (memory - weights_resident - activations)
    else:
        kv_budget = engine.kv_fraction * memory - weights_resident - activations
    large = gpu.memory_bytes >= 70 * GIB and not gpu.id.startswith("a100")

    return _Replica(
        gpus=gpus, tp=tp, pp=pp, dp=dp,
        weights_resident_bytes=weights_resident,
        kv_budget_bytes=max(kv_budget, 0.0),
        # each attention data-parallel rank schedules its own sequences
        max_seqs=(engine.max_seqs_large if large else engine.max_seqs_small) * dp,
        token_budget=engine.token_budget_large if large else engine.token_budget_small,
        bw=gpu.memory_bandwidth_bytes_per_s * cal.bandwidth_efficiency,
        gemm_bw=gpu.memory_bandwidth_bytes_per_s * cal.bandwidth_efficiency * fp4,
        peak=peak,
        attn_peak=attn_peak,
        dense_read_bytes=(dense - embed) * wb / (tp * pp),
        routed_bytes=routed * wb / gpus,
        log_miss=log_miss,
        flops_per_token=2.0 * matmul_active / gpus,
        kv_full_per_token=full_layers * per_layer * shard / pp,
        kv_win_per_token=win_layers * per_layer * shard / pp,
        window=float(sw.window_tokens) if sw else math.inf,
        kv_repl_full=full_layers * per_layer * shard * tp,
        kv_repl_win=win_layers * per_layer * shard * tp,
        attn_full_per_ctx=dec_coeff * full_layers * per_gpu,
        attn_win_per_ctx=dec_coeff * win_layers * per_gpu,
        prefill_attn_full=pre_coeff * full_layers * per_gpu,
        prefill_attn_win=pre_coeff * win_layers * per_gpu,
        comm_fixed_s=comm_fixed,
        comm_per_token_s=comm_tok,
        hop_fixed_s=STAGE_HOP_LATENCY_S if pp > 1 else 0.0,
        hop_per_token_s=act / hop_link if pp > 1 else 0.0,
        layer_s=cal.layer_overhead_s * stage_layers,
        step_s=cal.step_overhead_s,
    )


# --- input resolution ---------------------------------------------------------------------

_PRECISIONS: dict[Any, Precision] = {}


def _as_precision(value: Any, field_name: str = "precision") -> Precision:
    p = _PRECISIONS.get(value) if isinstance(value, (str, Precision)) else None
    if p is not None:
        return p
    try:
        p = parse_precision(value)
    except (ValueError, TypeError):
        allowed = ", ".join(x.value for x in Precision)
        raise InputError(field_name, value, f"one of {allowed}") from None
    if isinstance(value, (str, Precision)):
        _PRECISIONS[value] = p
    return p


def default_kv_precision(precision: Precision | str) -> Precision:
    """KV-cache format when none is given (``precision.default_kv_precision``)."""
    return _default_kv(_as_precision(precision))


def _as_model(model: ModelSpec | str) -> ModelSpec:
    return model if isinstance(model, ModelSpec) else load_catalog().model(str(model))


def _as_gpu(gpu: GpuSpec | str) -> GpuSpec:
    return gpu if isinstance(gpu, GpuSpec) else load_catalog().gpu(str(gpu))


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InputError(name, value, "a whole number >= 1")
    if value < 1:
        raise InputError(name, value, "a whole number >= 1")
    return int(value)


def _positive(name: str, value: Any, low: float = 1.0) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not low <= value < math.inf:
        raise InputError(name, value, f"a finite number >= {low:g}")
    return float(value)


def _setup(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: Any, pp: Any, ep: Any,
    precision: Any, kv_precision: Any, engine: str, cal: Calibration | None,
) -> tuple[ModelSpec, GpuSpec, Precision, Precision, EngineProfile, _Replica]:
    m = _as_model(model)
    g = _as_gpu(gpu)
    tp_, pp_, ep_ = _whole("tp", tp), _whole("pp", pp), _whole("ep", ep)
    if pp_ > m.layers:
        raise InputError("pp", pp_, f"at most the {m.layers} layers of {m.id}")
    prec = _as_precision(precision)
    kvp = (default_kv_precision(prec) if kv_precision is None
           else _as_precision(kv_precision, "kv_precision"))
    eng = engine_profile(engine)
    rep = _replica(m, g, tp_, pp_, ep_, prec, kvp, eng, cal or packaged_calibration())
    return m, g, prec, kvp, eng, rep


# --- one workload on one replica: the step-time function -----------------------------------


class _Step(NamedTuple):
    """Everything the step time of one workload on one replica needs (seconds, tokens)."""

    pp: float
    w_s2: float  # (seconds to stream w0)², used when no experts are routed
    k_lin: float  # k_dec + k_static
    w0: float  # bytes a pass always streams
    routed: float  # routed expert bytes on this GPU
    log_miss: float
    gemm_bw: float
    alpha: float  # GEMM math seconds per token of a pass
    d_mb: float  # decode tokens per pass per unit of B
    r_mb: float  # prompt tokens per pass per unit of (B − 1)
    chunk: float  # prompt tokens one pass carries when it carries one
    k_dec: float  # seconds per unit of B (attention, collectives, hand-offs of decode tokens)
    k_pre: float  # seconds per unit of (B − 1) (the same for prompt tokens)
    k_static: float  # seconds per unit of B for prompts run in passes of their own
    fixed: float  # seconds per step independent of B
    a: float  # output tokens per sequence per step
    attn_s: float  # decode attention seconds per unit of B (all passes)
    attn_mem: bool  # decode attention limited by its KV reads
    attn_flops: float  # decode attention FLOPs per sequence per pass
    pre_attn_s: float  # prompt attention seconds per unit of (B − 1)
    tok_comm_s: float  # collective and hand-off seconds per token of a pass (all passes)
    kv_read: float  # KV bytes one sequence reads per step, per GPU
    kv_reserved: float  # replica KV bytes reserved per request
    prompt: float  # prompt tokens computed per request
    prompt_attn: float  # attention FLOPs of one prompt, per GPU
    seqs: float  # sequences per GPU group per unit of B in one pass
    # closed-form bounds (see _bound): tokens x = u·B + v, linear part k/u per token
    u_add: float
    ku_add: float
    base_add: float
    u_sp: float
    v_sp: float
    ku_sp: float
    base_sp: float


def _window_integral(s0: float, s1: float, w: float) -> float:
    """∫ min(s, w) ds from s0 to s1: the causal attention work of a windowed layer."""
    if s1 <= w:
        return (s1 * s1 - s0 * s0) / 2.0
    if s0 >= w:
        return w * (s1 - s0)
    return (w * w - s0 * s0) / 2.0 + w * (s1 - w)


def _workload(
    rep: _Replica, isl: float, osl: float, prefill_tokens: float | None, tuning: Tuning,
) -> _Step:
    d = tuning.decode_tokens_per_step
    a = tuning.accepted_tokens_per_step
    prompt = isl if prefill_tokens is None else min(max(prefill_tokens, 0.0), isl)
    ctx = isl + osl / 2.0  # mean context over a request's decode
    w = rep.window
    ctx_w = min(ctx, w)
    kv_read = rep.kv_full_per_token * ctx + rep.kv_win_per_token * ctx_w
    attn = (rep.attn_full_per_ctx * ctx + rep.attn_win_per_ctx * ctx_w) * d
    s0 = isl - prompt
    prompt_attn = rep.prefill_attn_full * (isl * isl - s0 * s0) / 2.0
    if rep.prefill_attn_win:
        prompt_attn += rep.prefill_attn_win * _window_integral(s0, isl, w)
    reserved = isl + osl if tuning.kv_reserved_tokens is None else tuning.kv_reserved_tokens
    kv_reserved = rep.kv_repl_full * reserved + rep.kv_repl_win * min(reserved, w)

    pp = rep.pp
    seqs = 1.0 / (pp * rep.dp)
    r = prompt * a / osl  # prompt tokens per sequence per step
    mixed = tuning.continuous_batching
    tok_s = rep.comm_per_token_s + rep.hop_per_token_s * (pp - 1) / pp
    attn_kv, attn_math = kv_read / rep.bw, attn / rep.attn_peak
    attn_s = pp * seqs * max(attn_kv, attn_math)
    if tuning.kv_host_fraction > 0.0:  # offloaded KV streamed over the host link each step
        attn_s += pp * seqs * kv_read * tuning.kv_host_fraction / tuning.host_link_bytes_per_s
    attn_s += tuning.extra_step_s_per_seq
    pre_attn_s = pp * seqs * prompt_attn * a / osl / rep.attn_peak if mixed else 0.0
    k_dec = attn_s + tok_s * d
    k_pre = pre_attn_s + tok_s * r if mixed else 0.0
    k_static = 0.0 if mixed else rep.flops_per_token * r / (rep.peak * tuning.gemm_rate_scale)
    fixed = (pp * (rep.comm_fixed_s + rep.layer_s) + rep.step_s
             + (pp - 1) * rep.hop_fixed_s + tuning.extra_step_s)
    w0 = rep.dense_read_bytes + tuning.extra_read_bytes_per_step
    alpha = rep.flops_per_token / (rep.peak * tuning.gemm_rate_scale)
    d_mb, r_mb = d / pp, (r / pp if mixed else 0.0)
    # Bounds on the step time, each "p·sqrt(w² + α²x²) + k·B + c" with x = u·B + v:
    # prompt math added in full (above the true step) and prompt tokens spread over every
    # pass (below it, g being convex).
    k_sum = k_dec + k_pre + k_static
    k_add, c_add = k_sum + pp * alpha * r_mb, fixed - k_pre - pp * alpha * r_mb
    u_sp, v_sp, c_sp = d_mb + r_mb, -r_mb, fixed - k_pre
    return _Step(
        pp=float(pp), w_s2=(w0 / rep.gemm_bw) ** 2, k_lin=k_dec + k_static,
        w0=w0,
        routed=rep.routed_bytes, log_miss=rep.log_miss, gemm_bw=rep.gemm_bw,
        alpha=alpha, d_mb=d_mb, r_mb=r_mb,
        chunk=min(prompt, float(rep.token_budget)),
        k_dec=k_dec, k_pre=k_pre, k_static=k_static, fixed=fixed, a=a,
        attn_s=attn_s, attn_mem=attn_kv >= attn_math, attn_flops=attn,
        pre_attn_s=pre_attn_s, tok_comm_s=tok_s,
        kv_read=kv_read, kv_reserved=kv_reserved, prompt=prompt, prompt_attn=prompt_attn,
        seqs=seqs,
        u_add=d_mb, ku_add=k_add / d_mb, base_add=-c_add,
        u_sp=u_sp, v_sp=v_sp, ku_sp=k_sum / u_sp, base_sp=-c_sp + k_sum * v_sp / u_sp,
    )


def _gemm(st: _Step, tokens: float) -> float:
    """One GEMM pass over ``tokens`` tokens: smooth roofline of streaming and math."""
    w = _weights_at(st, tokens)
    c = st.alpha * tokens
    return math.sqrt(w * w + c * c)


def _step_s(st: _Step, b: float) -> float:
    """Seconds per decode step with b sequences (their share of others' prompts included)."""
    td = b * st.d_mb
    others = b - 1.0 if b > 1.0 else 0.0
    tp_ = others * st.r_mb
    if st.routed:
        if tp_ <= 0.0:
            gemm = _gemm(st, td)
        elif tp_ >= st.chunk:
            gemm = _gemm(st, td + tp_)
        else:
            f = tp_ / st.chunk
            gemm = (1.0 - f) * _gemm(st, td) + f * _gemm(st, td + st.chunk)
    else:  # the same, inlined: this is the hot loop of slo_capacity
        w2, al = st.w_s2, st.alpha
        if tp_ <= 0.0:
            c = al * td
            gemm = math.sqrt(w2 + c * c)
        elif tp_ >= st.chunk:
            c = al * (td + tp_)
            gemm = math.sqrt(w2 + c * c)
        else:
            f = tp_ / st.chunk
            c1, c2 = al * td, al * (td + st.chunk)
            gemm = (1.0 - f) * math.sqrt(w2 + c1 * c1) + f * math.sqrt(w2 + c2 * c2)
    return st.pp * gemm + st.k_lin * b + st.k_pre * others + st.fixed


def _bound(st: _Step, w: float, tau: float, spread: bool) -> float:
    """The batch at which a bounding step time reaches tau, weight streaming taking w s.

    Solves p·sqrt(w² + α²x²) + (k/u)·x = room for x ≥ 0 (a quadratic), then B = (x − v)/u.
    spread=False: prompt math added in full (step overestimated: the batch is feasible);
    spread=True: prompt tokens spread over every pass (step underestimated).
    """
    p, a = st.pp, st.alpha
    if spread:
        k, room = st.ku_sp, tau + st.base_sp
    else:
        k, room = st.ku_add, tau + st.base_add
    c = room * room - p * p * w * w
    if c <= 0.0:
        x = 0.0
    else:
        disc = p * p * (a * a * room * room + w * w * k * k - p * p * a * a * w * w)
        x = c / (k * room + math.sqrt(disc if disc > 0.0 else 0.0))
    return (x - st.v_sp) / st.u_sp if spread else x / st.u_add


_FALSI_STEPS = 1
"""Regula-falsi steps between the closed-form bounds for dense models (the tests check the
batch against an exhaustive search)."""
_FALSI_STEPS_MOE = 3
"""The same for MoE, whose weight bytes grow with the experts a batch touches."""
_MOE_BRACKET_ROUNDS = 1
"""Rounds narrowing the MoE bracket with the experts touched at the other bound."""


def _weights_at(st: _Step, tokens: float) -> float:
    """Seconds to stream the weights a pass of ``tokens`` tokens touches."""
    w = st.w0
    if st.routed:
        w += st.routed * (1.0 - math.exp(st.log_miss * tokens))
    return w / st.gemm_bw


def _batch_for(st: _Step, tau: float, cap: float) -> tuple[int, float]:
    """(batch, step seconds): the largest whole batch ≤ cap whose step takes ≤ tau.

    Needs step(1) ≤ tau. Closed-form bounds bracket it: prompt math fully added (step too
    long: a feasible batch) and prompt tokens spread over every pass (step too short). For
    MoE the weight bytes grow with the experts the tokens touch; two rounds evaluate them
    at the other bound's token count to narrow the bracket. Then regula falsi (Illinois).
    """
    w_hi = (st.w0 + st.routed) / st.gemm_bw
    w_lo = st.w0 / st.gemm_bw
    lo = max(_bound(st, w_hi, tau, spread=False), 1.0)
    if lo >= cap:
        return int(cap), _step_s(st, cap)
    hi = min(_bound(st, w_lo, tau, spread=True), cap)
    if st.routed:
        for _ in range(_MOE_BRACKET_ROUNDS):
            # every pass at a batch ≤ hi touches at most the experts of hi's largest pass;
            # every pass at a batch ≥ lo touches at least those of lo's decode-only pass
            big = hi * st.d_mb + max(st.chunk, (hi - 1.0) * st.r_mb)
            lo = max(lo, _bound(st, _weights_at(st, big), tau, spread=False))
            hi = min(hi, _bound(st, _weights_at(st, lo * st.d_mb), tau, spread=True))
    elif st.r_mb <= 0.0 or (lo - 1.0) * st.r_mb >= st.chunk:
        lo = hi  # exact: no prompt mixing, or every pass carries prompt tokens (spread holds)
    if hi > lo:
        f_hi = _step_s(st, hi) - tau
        if f_hi <= 0.0:
            lo = hi
        else:
            # MoE steps rise steeply at small batches (experts touched) then linearly:
            # interpolate in log(batch) there, which is closer to a straight line.
            log = bool(st.routed)
            x_lo, x_hi = (math.log(lo), math.log(hi)) if log else (lo, hi)
            f_lo = _step_s(st, lo) - tau
            side = 0
            for _ in range(_FALSI_STEPS_MOE if log else _FALSI_STEPS):
                x = x_hi - f_hi * (x_hi - x_lo) / (f_hi - f_lo)
                fx = _step_s(st, math.exp(x) if log else x) - tau
                if fx > 0.0:
                    x_hi, f_hi = x, fx
                    if side == 1:
                        f_lo *= 0.5
                    side = 1
                else:
                    x_lo, f_lo = x, fx
                    if side == -1:
                        f_hi *= 0.5
                    side = -1
            est = x_hi - f_hi * (x_hi - x_lo) / (f_hi - f_lo)
            if log:
                est, lo = math.exp(est), math.exp(x_lo)
            else:
                lo = x_lo
            b = int(est)
            if b > lo:
                step = _step_s(st, b)
                if step > tau and b - 1 > lo:
                    b -= 1
                    step = _step_s(st, b)
                if step <= tau:
                    return _settle(st, tau, cap, b, step)
    b = int(lo)
    step = _step_s(st, b)
    while step > tau and b > 1:  # only from rounding at the exact boundary
        b -= 1
        step = _step_s(st, b)
    return _settle(st, tau, cap, b, step)


def _settle(st: _Step, tau: float, cap: float, b: int, step: float) -> tuple[int, float]:
    """The largest whole batch ≤ cap whose step takes ≤ tau, from a batch ``b`` known to meet
    it. The step time grows with the batch, so: step up once (the usual case after the
    interpolation above), and if that also meets tau, gallop (b+2, b+4, ...) to a batch that
    misses, then bisect. Exact whatever the interpolation's error."""
    if b + 1 > cap:
        return b, step
    nxt = _step_s(st, b + 1)
    if nxt > tau:
        return b, step
    b, step = b + 1, nxt
    gap = 1
    hi = b
    while True:  # gallop: find a batch that misses tau (or the cap)
        hi = min(b + 2 * gap, int(cap))
        if hi <= b:
            return b, step
        s_hi = _step_s(st, hi)
        if s_hi > tau:
            break
        b, step, gap = hi, s_hi, 2 * gap
    while hi - b > 1:  # bisect between b (meets) and hi (misses)
        mid = (b + hi) // 2
        s_mid = _step_s(st, mid)
        if s_mid <= tau:
            b, step = mid, s_mid
        else:
            hi = mid
    return b, step


def _prefill_s(rep: _Replica, st: _Step) -> float:
    """Seconds one prompt takes on an idle replica (chunked by the engine's token budget)."""
    tokens = st.prompt
    if tokens <= 0.0:
        return 0.0
    chunks = math.ceil(tokens / rep.token_budget)
    per = tokens / chunks * rep.dp  # one request runs on one attention group
    gemm = chunks * _gemm(st, per)
    stage = (gemm + st.prompt_attn / rep.attn_peak
             + chunks * rep.comm_fixed_s + rep.comm_per_token_s * tokens * rep.dp
             + chunks * rep.layer_s)
    hops = (rep.pp - 1) * (rep.hop_fixed_s + rep.hop_per_token_s * tokens)
    return rep.pp * stage + hops + rep.step_s


def _kv_batch(rep: _Replica, st: _Step, kv_budget: float | None, extra: float) -> int:
    budget = (rep.kv_budget_bytes if kv_budget is None else kv_budget) - extra
    if budget <= 0.0 or st.kv_reserved <= 0.0:
        return 0
    return int(budget / st.kv_reserved)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepBreakdown:
    """One decode step at the batch used (per GPU)."""

    weights_bytes: float
    """Weight bytes each GPU streams per step (all passes; passes carrying a prompt chunk
    weighted by how often they occur)."""
    kv_bytes: float
    """KV-cache bytes each GPU reads per step."""
    flops: float
    """FLOPs each GPU executes per step (GEMMs with the prompt share, attention)."""
    memory_s: float
    """Time in passes whose weight or KV streaming outweighs their math, s."""
    compute_s: float
    """Time in passes whose math outweighs their streaming, s."""
    comm_s: float
    """Tensor/expert-parallel collectives and pipeline hand-offs, s."""
    overhead_s: float
    """Fixed per-step and per-layer overheads, s."""
    step_s: float
    """The whole step, s."""


@dataclass(frozen=True, slots=True)
class PerfEstimate:
    """What one replica does on a workload (``estimate``)."""

    model: str
    gpu: str
    gpus: int
    tp: int
    pp: int
    ep: int
    precision: str
    kv_precision: str
    engine: str
    max_batch: int
    """Requests whose KV (prompt + output tokens each) fits the budget, engine cap applied."""
    batch: float
    """Sequences decoding together at this load (mean)."""
    prefill_s: float
    """One prompt's prefill on an otherwise idle replica."""
    ttft_s: float
    """Time to first token with queueing at this load (all queued: from admission)."""
    tpot_s: float
    """Time per output token (inter-token latency) at this load."""
    e2e_s: float
    """TTFT + (output tokens − 1) × TPOT."""
    out_tok_s_per_gpu: float
    out_tok_s_per_replica: float
    req_s: float
    binding: str
    """"memory capacity" | "memory bandwidth" | "compute" | "interconnect"."""
    kv_budget_bytes: float
    weights_bytes: float
    """Resident weights of the replica."""
    step: StepBreakdown
    saturated: bool = False
    """True when the offered rate exceeds the replica's capacity (TTFT grows without bound)."""
    notes: tuple[str, ...] = field(default=())


def _split(rep: _Replica, st: _Step, b: float) -> tuple[float, ...]:
    """(memory_s, compute_s, comm_s, overhead_s, weights_bytes, flops) of one step."""
    pp = st.pp
    td = b * st.d_mb
    others = b - 1.0 if b > 1.0 else 0.0
    tp_ = others * st.r_mb
    if tp_ <= 0.0:
        passes: tuple[tuple[float, float], ...] = ((1.0, td),)
    elif tp_ >= st.chunk:
        passes = ((1.0, td + tp_),)
    else:
        f = tp_ / st.chunk
        passes = ((1.0 - f, td), (f, td + st.chunk))
    memory = compute = weights = flops = 0.0
    for share, tokens in passes:
        w = st.w0 + (st.routed * (1.0 - math.exp(st.log_miss * tokens)) if st.routed else 0.0)
        t_mem, t_math = w / st.gemm_bw, st.alpha * tokens
        t = pp * share * math.sqrt(t_mem * t_mem + t_math * t_math)
        if t_mem >= t_math:
            memory += t
        else:
            compute += t
        weights += pp * share * w
        flops += pp * share * rep.flops_per_token * tokens
    attn = st.attn_s * b
    if st.attn_mem:
        memory += attn
    else:
        compute += attn
    compute += st.pre_attn_s * others + st.k_static * b
    flops += pp * b * st.seqs * st.attn_flops + st.pre_attn_s * others * rep.attn_peak
    comm = (pp * rep.comm_fixed_s + (pp - 1) * rep.hop_fixed_s
            + st.tok_comm_s * pp * (td + tp_))
    overhead = st.fixed - pp * rep.comm_fixed_s - (pp - 1) * rep.hop_fixed_s
    return memory, compute, comm, overhead, weights, flops


def _binding(rep: _Replica, st: _Step, b: float) -> str:
    """The resource whose time dominates a step at batch b (``_split`` without the rest)."""
    td = b * st.d_mb
    others = b - 1.0 if b > 1.0 else 0.0
    tp_ = others * st.r_mb
    memory = compute = 0.0
    if tp_ <= 0.0 or tp_ >= st.chunk:
        tokens = td + tp_
        w, c = _weights_at(st, tokens), st.alpha * tokens
        if w >= c:
            memory = math.sqrt(w * w + c * c)
        else:
            compute = math.sqrt(w * w + c * c)
    else:
        f = tp_ / st.chunk
        for share, tokens in ((1.0 - f, td), (f, td + st.chunk)):
            w, c = _weights_at(st, tokens), st.alpha * tokens
            if w >= c:
                memory += share * math.sqrt(w * w + c * c)
            else:
                compute += share * math.sqrt(w * w + c * c)
    memory *= st.pp
    compute *= st.pp
    if st.attn_mem:
        memory += st.attn_s * b
    else:
        compute += st.attn_s * b
    compute += st.pre_attn_s * others + st.k_static * b
    comm = (st.pp * rep.comm_fixed_s + (st.pp - 1.0) * rep.hop_fixed_s
            + st.tok_comm_s * st.pp * (td + tp_))
    if memory >= compute:
        return "memory bandwidth" if memory >= comm else "interconnect"
    return "compute" if compute >= comm else "interconnect"


def _breakdown(rep: _Replica, st: _Step, b: float) -> StepBreakdown:
    memory, compute, comm, overhead, weights, flops = _split(rep, st, b)
    return StepBreakdown(
        weights_bytes=weights, kv_bytes=st.pp * b * st.seqs * st.kv_read, flops=flops,
        memory_s=memory, compute_s=compute, comm_s=comm, overhead_s=overhead,
        step_s=_step_s(st, b),
    )


def _md1_wait(rate: float, service: float) -> float:
    """Mean wait in an M/D/1 queue (Pollaczek-Khinchine), s; inf at or past saturation."""
    rho = rate * service
    if rho >= 1.0:
        return math.inf
    return rho * service / (2.0 * (1.0 - rho))


def estimate(
    model: ModelSpec | str,
    gpu: GpuSpec | str,
    tp: int = 1,
    precision: Precision | str = "fp8",
    input_tokens: float = 2000,
    output_tokens: float = 500,
    concurrency: float | None = None,
    *,
    pp: int = 1,
    ep: int = 1,
    kv_precision: Precision | str | None = None,
    engine: str = "vllm",
    request_rate: float | None = None,
    kv_budget_bytes: float | None = None,
    prefill_tokens: float | None = None,
    tuning: Tuning | None = None,
    calibration: Calibration | None = None,
) -> PerfEstimate:
    """Performance of one replica (tp × pp GPUs; × ep/tp for MoE attention data parallel).

    Load, one of: nothing (all requests queued at once: the maximum-throughput batch,
    ``max_batch``); ``concurrency=N`` (N requests in flight, each replaced when it ends,
    beyond ``max_batch`` the rest wait); ``request_rate=λ`` (Poisson arrivals, req/s).
    Raises ``InfeasibleError`` when the weights and one request's KV do not fit.
    """
    m, g, prec, kvp, eng, rep = _setup(model, gpu, tp, pp, ep, precision, kv_precision,
                                       engine, calibration)
    tun = tuning or DEFAULT_TUNING
    isl = _positive("input_tokens", input_tokens)
    osl = _positive("output_tokens", output_tokens)
    if concurrency is not None and request_rate is not None:
        raise InputError("request_rate", request_rate, "None when concurrency is given")
    st = _workload(rep, isl, osl, prefill_tokens, tun)
    kv_fit = _kv_batch(rep, st, kv_budget_bytes, tun.extra_resident_bytes)
    max_batch = min(kv_fit, rep.max_seqs)
    budget = rep.kv_budget_bytes if kv_budget_bytes is None else kv_budget_bytes
    if max_batch < 1:
        raise InfeasibleError(
            f"{rep.gpus}x {g.id} cannot hold {m.id} ({prec.value}) and one request's KV: "
            f"{max(budget, 0.0) / GB:.1f} GB left for KV, {st.kv_reserved / GB:.2f} GB "
            "needed per request"
        )
    prefill = _prefill_s(rep, st)
    saturated = False
    notes: list[str] = []

    def tpot_at(b: float) -> float:
        return _step_s(st, max(b, 1.0)) / st.a

    # Little's law throughout: output tok/s = requests in flight × osl / time each is held.
    if concurrency is None and request_rate is None:
        batch = float(max_batch)
        tpot = tpot_at(batch)
        out = batch * osl / (prefill + osl * tpot)
        ttft = prefill + tpot
        binding = _binding(rep, st, batch)
        if max_batch == kv_fit and max_batch < rep.max_seqs:
            twice = 2.0 * batch * osl / (prefill + osl * tpot_at(2.0 * batch))
            if twice > out * (1.0 + MEMORY_CAPACITY_GAIN):
                binding = "memory capacity"
        notes.append("all requests queued: TTFT counted from admission, not arrival")
    elif concurrency is not None:
        n = _positive("concurrency", concurrency)
        if n > max_batch:  # every slot busy; the rest queue for one
            batch = float(max_batch)
            tpot = tpot_at(batch)
            held = prefill + osl * tpot
            out = batch * osl / held
            ttft = (n - batch) * held / batch + prefill + tpot
            binding = ("memory capacity" if max_batch == kv_fit
                       else _binding(rep, st, batch))
        else:  # closed loop: each client sends its next request when the last one ends
            batch, ttft, tpot = n, prefill, tpot_at(n)
            for _ in range(6):
                tpot = tpot_at(batch)
                rate = n / (ttft + (osl - 1.0) * tpot)
                # M/D/1 wait, scaled to n clients and never more than the n − 1 others
                wait = min(_md1_wait(rate, prefill) * (n - 1.0) / n, (n - 1.0) * prefill)
                ttft = wait + prefill + tpot
                batch = max(n * (osl - 1.0) * tpot / (ttft + (osl - 1.0) * tpot), 1.0)
            tpot = tpot_at(batch)
            out = n * osl / (ttft + (osl - 1.0) * tpot)
            binding = _binding(rep, st, batch)
    else:
        lam = _positive("request_rate", request_rate, 0.0)
        cap = float(max_batch)
        tpot = tpot_at(cap)
        cap_req = cap / (prefill + osl * tpot)
        if lam >= cap_req or lam * prefill >= 1.0:
            saturated, batch, out, ttft = True, cap, cap_req * osl, math.inf
            notes.append(f"offered {lam:g} req/s exceeds the replica's {cap_req:.3g} req/s")
        else:
            batch = 1.0
            for _ in range(30):  # decoding sequences = λ × decode time (Little)
                tpot = tpot_at(batch)
                new = min(max(lam * (osl - 1.0) * tpot, 1.0), cap)
                done = abs(new - batch) < 1e-6 * batch
                batch = new
                if done:
                    break
            tpot = tpot_at(batch)
            out = lam * osl
            ttft = _md1_wait(lam, prefill) + prefill + tpot
        binding = _binding(rep, st, batch)
    return PerfEstimate(
        model=m.id, gpu=g.id, gpus=rep.gpus, tp=rep.tp, pp=rep.pp, ep=int(ep),
        precision=prec.value, kv_precision=kvp.value, engine=eng.name,
        max_batch=max_batch, batch=batch, prefill_s=prefill, ttft_s=ttft, tpot_s=tpot,
        e2e_s=ttft + (osl - 1.0) * tpot,
        out_tok_s_per_gpu=out / rep.gpus, out_tok_s_per_replica=out, req_s=out / osl,
        binding=binding, kv_budget_bytes=budget, weights_bytes=rep.weights_resident_bytes,
        step=_breakdown(rep, st, max(batch, 1.0)), saturated=saturated, notes=tuple(notes),
    )


# --- capacity under SLOs: the sizing pipeline's hot path -------------------------------------


class ReplicaCapacity(NamedTuple):
    """What one replica carries while meeting the SLOs (``slo_capacity``).

    A NamedTuple, not a dataclass: the pipeline builds ~24 per sizing at 20,000 sizings a
    second, and a tuple is several times cheaper to build than a frozen dataclass.
    """

    feasible: bool
    """False when one sequence alone misses the TPOT (or TTFT) target, or no KV fits."""
    batch: int
    """Sequences decoding together at capacity (0 when infeasible)."""
    max_batch: int
    """Requests whose KV fits (engine cap applied), whatever the TPOT."""
    tpot_s: float
    """TPOT at ``batch`` (the floor when infeasible)."""
    tpot_floor_s: float
    """TPOT of one sequence alone: the tightest target this configuration can meet."""
    out_tok_s: float
    """Output tokens/s per replica at capacity."""
    out_tok_s_per_gpu: float
    req_s: float
    """Requests/s per replica at capacity."""
    prefill_s: float
    """One prompt's prefill (the service time of ``ttft_at_load``'s queue)."""
    gpus: int
    binding: str
    """What stops a larger load: "memory capacity" | "memory bandwidth" | "compute" |
    "interconnect"."""


_FAST_REPLICAS: dict[tuple, tuple[Any, Any, Any]] = {}
_FAST_WORK: dict[tuple, tuple[Any, Any, _Replica, _Step, float, float]] = {}
_SOLVES: dict[tuple, tuple[_Step, int, float, list]] = {}
_CACHE_LIMIT = 4096


def _replica_for(
    model: Any, gpu: Any, tp: Any, pp: Any, ep: Any, precision: Any, kv_precision: Any,
    engine: Any, calibration: Calibration | None,
) -> _Replica:
    """``_setup``'s replica, cached on the raw arguments (validation runs on a miss only).

    Specs are keyed by identity; the entry holds them, so a live id cannot be reused.
    """
    key = (model if type(model) is str else id(model), gpu if type(gpu) is str else id(gpu),
           tp, pp, ep, precision, kv_precision, engine, calibration)
    try:
        hit = _FAST_REPLICAS.get(key)
    except TypeError:  # unhashable argument: let validation name it
        return _setup(model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration)[5]
    if hit is None:
        if len(_FAST_REPLICAS) >= _CACHE_LIMIT:
            _FAST_REPLICAS.clear()
        try:
            rep: _Replica | XlsizerError = _setup(
                model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration)[5]
        except (UnsupportedPrecisionError, InputError) as exc:
            rep = exc  # remembered: a sizing asks about the same impossible pairing often
        hit = _FAST_REPLICAS[key] = (model, gpu, rep)
    if isinstance(hit[2], XlsizerError):
        raise hit[2].with_traceback(None)
    return hit[2]


def _configured(
    model: Any, gpu: Any, tp: Any, pp: Any, ep: Any, precision: Any, kv_precision: Any,
    engine: Any, calibration: Calibration | None, isl: Any, osl: Any, prefill_tokens: Any,
    tuning: Tuning | None,
) -> tuple[Any, Any, _Replica, _Step, float, float]:
    """(model, gpu, replica, step constants, prefill s, step s at batch 1), cached on the
    raw arguments; validation runs on a miss only. Specs are keyed by identity and held by
    the entry, so a live id cannot be reused."""
    key = (model if type(model) is str else id(model), gpu if type(gpu) is str else id(gpu),
           tp, pp, ep, precision, kv_precision, engine, calibration, isl, osl,
           prefill_tokens, tuning)
    try:
        hit = _FAST_WORK.get(key)
    except TypeError:  # an unhashable argument: let validation name it
        hit, key = None, None
    if hit is None:
        rep = _replica_for(model, gpu, tp, pp, ep, precision, kv_precision, engine,
                           calibration)
        st = _workload(rep, _positive("input_tokens", isl), _positive("output_tokens", osl),
                       None if prefill_tokens is None
                       else _positive("prefill_tokens", prefill_tokens, 0.0),
                       tuning or DEFAULT_TUNING)
        hit = (model, gpu, rep, st, _prefill_s(rep, st), _step_s(st, 1.0))
        if key is not None:
            if len(_FAST_WORK) >= _CACHE_LIMIT:
                _FAST_WORK.clear()
            _FAST_WORK[key] = hit
    return hit


def slo_capacity(
    model: ModelSpec | str,
    gpu: GpuSpec | str,
    tp: int,
    precision: Precision | str,
    input_tokens: float,
    output_tokens: float,
    target_tpot_s: float,
    *,
    pp: int = 1,
    ep: int = 1,
    kv_precision: Precision | str | None = None,
    engine: str = "vllm",
    kv_budget_bytes: float | None = None,
    prefill_tokens: float | None = None,
    target_ttft_s: float | None = None,
    tuning: Tuning | None = None,
    calibration: Calibration | None = None,
) -> ReplicaCapacity:
    """The largest load one replica carries with TPOT ≤ target (the prefill share of
    continuous batching included) and every request's KV in memory; with
    ``target_ttft_s``, also mean TTFT ≤ target at that load (``ttft_at_load``'s queue).

    ``kv_budget_bytes`` replaces the engine's default KV budget (e.g. the pipeline's VRAM
    plan); ``prefill_tokens`` is the prompt tokens actually computed per request (prefix
    caching), all of ``input_tokens`` by default. The per-configuration constants and the
    TPOT-limited batch (which the KV budget does not change) are cached in bounded dicts.
    """
    if not (type(target_tpot_s) in (float, int) and target_tpot_s > 0.0) and not (
        isinstance(target_tpot_s, (int, float)) and not isinstance(target_tpot_s, bool)
        and 0.0 < target_tpot_s < math.inf
    ):
        raise InputError("target_tpot_s", target_tpot_s, "a number > 0")
    _, _, rep, st, prefill, floor_step = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning)
    extra = tuning.extra_resident_bytes if tuning is not None else 0.0
    budget = (rep.kv_budget_bytes if kv_budget_bytes is None else kv_budget_bytes) - extra
    kv_fit = int(budget / st.kv_reserved) if budget > 0.0 else 0
    max_batch = kv_fit if kv_fit < rep.max_seqs else rep.max_seqs
    a = st.a
    floor = floor_step / a
    gpus = rep.gpus
    if max_batch < 1 or floor > target_tpot_s:
        binding = "memory capacity" if max_batch < 1 else _binding(rep, st, 1.0)
        return ReplicaCapacity(False, 0, max_batch, floor, floor, 0.0, 0.0, 0.0, prefill,
                               gpus, binding)
    tau = target_tpot_s * a
    # The TPOT-limited batch does not depend on the KV budget: solved once per workload and
    # target (the scenarios of a sizing differ only in budget), then capped by the budget.
    skey = (id(st), tau)
    sol = _SOLVES.get(skey)
    if sol is None:
        if len(_SOLVES) >= _CACHE_LIMIT:
            _SOLVES.clear()
        b_slo, s_slo = _batch_for(st, tau, float(rep.max_seqs))
        sol = _SOLVES[skey] = (st, b_slo, s_slo, [None])  # st held: its id stays unique
    b_slo, s_slo, bind_box = sol[1], sol[2], sol[3]
    if b_slo <= max_batch:
        batch, step = b_slo, s_slo
    else:
        batch, step = max_batch, _step_s(st, max_batch)
    tpot = step / a
    osl = float(output_tokens)
    req = batch / (prefill + osl * tpot)  # Little: slots / time a request holds one
    if target_ttft_s is not None:
        slack = target_ttft_s - prefill - tpot
        if slack <= 0.0:
            return ReplicaCapacity(False, 0, max_batch, tpot, floor, 0.0, 0.0, 0.0, prefill,
                                   gpus, "compute")
        # M/D/1: wait = ρS / (2(1 − ρ)) ≤ slack  ⇔  ρ ≤ 2·slack / (S + 2·slack)
        req_ttft = 2.0 * slack / (prefill + 2.0 * slack) / prefill if prefill > 0 else math.inf
        if req_ttft < req:
            out = req_ttft * osl
            return ReplicaCapacity(True, max(int(batch * req_ttft / req), 1), max_batch, tpot,
                                   floor, out, out / gpus, req_ttft, prefill, gpus, "compute")
    if batch >= max_batch and max_batch == kv_fit:
        binding = "memory capacity"
    elif batch == b_slo:
        binding = bind_box[0] or _binding(rep, st, batch)
        bind_box[0] = binding
    else:
        binding = _binding(rep, st, batch)
    out = req * osl
    return ReplicaCapacity(True, batch, max_batch, tpot, floor, out, out / gpus, req, prefill,
                           gpus, binding)


def ttft_at_load(capacity: ReplicaCapacity, offered_rps: float) -> float:
    """Mean TTFT, s, when one replica receives ``offered_rps`` requests/s (Poisson).

    Queueing model: M/D/1 in front of prefill; service time S = one prompt's prefill
    (``capacity.prefill_s``), ρ = offered_rps × S, mean wait ρS / (2(1 − ρ)); TTFT = wait + S
    + one decode step at capacity. ``inf`` past the replica's capacity or at ρ ≥ 1.
    """
    if not offered_rps >= 0.0:
        raise InputError("offered_rps", offered_rps, ">= 0")
    if not capacity.feasible or offered_rps > capacity.req_s * (1.0 + 1e-9):
        return math.inf
    return _md1_wait(offered_rps, capacity.prefill_s) + capacity.prefill_s + capacity.tpot_s


__all__ = [
    "ENGINES",
    "Calibration",
    "EngineProfile",
    "PerfEstimate",
    "ReplicaCapacity",
    "StepBreakdown",
    "Tuning",
    "confidence_band",
    "default_kv_precision",
    "engine_profile",
    "estimate",
    "packaged_calibration",
    "slo_capacity",
    "ttft_at_load",
]
