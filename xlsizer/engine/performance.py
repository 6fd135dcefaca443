"""Speed: a roofline performance model of one replica (course.md §3, §3b, §10.3 step 11).

A replica is ``tp × pp × dp`` GPUs serving one copy of the model (``dp`` > 1 only for MoE
attention data parallelism, ``ep`` > ``tp``). Everything below is per GPU unless a name
says otherwise; ``B`` is the number of sequences decoding together (the batch).

Decode step (one output token for each of the ``B`` sequences; with ``pp`` stages the batch
is split into ``pp`` micro-batches, each crossing all stages, so TPOT = ``pp`` stage times):

    T            = B × (d + r) / pp        tokens in one micro-batch: d decode tokens per
                                           sequence (1; more when verifying drafts) plus r
                                           prompt tokens per sequence per step, the prefill
                                           work continuous batching mixes into the step
    r            = prefill_tokens × a / output_tokens   (a = output tokens accepted per step)
    GEMMs        = max(weight bytes read / (BW × η_bw), 2 × N_matmul × T / G / (peak × η_c))
    attention    = max(B/(pp·dp) × KV bytes(ctx) / (BW × η_bw), decode attention FLOPs / (peak16 × η_c))
                   + the prefill share of attention FLOPs (causal, 4·L·d_attn·S²/2 per prompt)
    all-reduce   = 2 per layer (tp > 1): per call latency + 2·(tp−1)/tp × T·h·2 B / link BW (ring)
    step         = pp × (GEMMs + attention + all-reduce + L/pp × layer overhead)
                   + step overhead + (pp−1) × stage-hop time
    TPOT         = step / a            out tok/s per replica = B × a / step

Weights read per step: every non-expert weight except the input embedding (only B rows of
it are gathered), plus, for MoE, the routed experts the step actually touches:
E × (1 − (1 − k/E)^T) per MoE layer (each of T tokens picks k of E experts), shared experts
always. KV bytes read: each sequence's cache at its mean context, prompt + output/2, with
sliding-window layers capped at their window (``memory.kv_bytes_for_context``).

Prefill of one prompt of S tokens (TTFT without queueing): the same pass with T = S and no
decode sequences, compute-bound for any real prompt: 2·N_matmul·S FLOPs plus causal attention.

Max batch: KV budget / KV bytes reserved per request (prompt + output tokens, as the course
sizes KV per request and as TensorRT-LLM's no-evict scheduler reserves it), capped by the
serving engine's sequence limit. KV budget = the engine's share of device memory − weights
− activations (``memory.activations_bytes``).

Capacity under a TPOT target (``slo_capacity``): the step time is
``pp·max(W(B), A·B) + K·B + C`` with A, K, C constant for a workload, so the largest batch
meeting the target is ``min((τ − C − pp·W)/K, (τ − C)/(pp·A + K))``, in closed form for
dense models and in four fixed-point steps for MoE (W grows with the experts touched).

TTFT at an offered load (``ttft_at_load``): an M/D/1 queue in front of the prefill work,
service time S = prefill time of one prompt, utilisation ρ = λ·S (the GPU-time share that
prefill takes), mean wait ρ·S / (2(1 − ρ)) (Pollaczek-Khinchine, deterministic service);
TTFT = wait + S + one decode step (the step that emits the first token).

Constants: the four fitted ones (η_bw, η_c, step and layer overhead) live in
``catalog/data/calibration.yaml`` with their provenance, written by ``scripts/calibrate.py``
from ``validation/calibration.csv`` only. The sourced ones are named below with their source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine.memory import activations_bytes, kv_bytes_per_token_per_layer
from xlsizer.errors import InputError
from xlsizer.precision import Precision, parse_precision
from xlsizer.units import GB, GIB

# --- sourced constants ------------------------------------------------------------------

ALLREDUCE_LATENCY_S: float = 10e-6
"""Fixed latency of one all-reduce (and of one all-to-all) call, s. aiconfigurator
systems/h100_sxm.yaml ``p2p_latency: 0.00001`` (10 µs), which that project labels an
*unofficial correction based on observations*, not a vendor figure."""

STAGE_HOP_LATENCY_S: float = 10e-6
"""Latency of one pipeline-stage hand-off (point-to-point send), s. Same aiconfigurator
unofficial ``p2p_latency`` as above."""

INTER_NODE_BYTES_PER_S: float = 50e9
"""Per-GPU bandwidth between nodes, one direction, bytes/s: one ConnectX-7 NDR 400 Gb/s NIC
per GPU (aiconfigurator systems/h100_sxm.yaml ``inter_node_bw: 50000000000``). Used for
pipeline hand-offs across nodes and for tensor parallelism wider than one node."""

ACTIVATION_BYTES_PER_ELEMENT: float = 2.0
"""Bytes per hidden-state element exchanged by all-reduce / all-to-all / stage hand-off:
activations stay BF16 even with FP8 weights (FP8 GEMMs take BF16 inputs and quantize on
the fly in TensorRT-LLM, vLLM and SGLang)."""

ATTENTION_COMPUTE: Precision = Precision.BF16
"""Attention (QK^T, softmax·V) runs at the BF16 tensor rate whatever the weight format:
FlashAttention-2/3 and FlashInfer kernels compute in BF16 (FP8 attention exists but is
not the default in any of the engines modelled)."""

GATED_FFN_MATRICES: int = 3
"""Weight matrices per (gated, SwiGLU) FFN expert: gate, up, down (Llama, Mixtral, Qwen,
DeepSeek, gpt-oss configs)."""

MEMORY_CAPACITY_GAIN: float = 0.10
"""At the maximum-throughput batch, memory capacity is named the binding resource when
doubling the KV memory would still raise throughput by more than this fraction (a
definition, not a measurement)."""


# --- serving engines: memory policy and sequence limit (sourced defaults, not fitted) ---


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """How a serving engine splits device memory and how many sequences it runs at once."""

    name: str
    kv_fraction: float
    """Share of device memory the engine lets weights + activations + KV use (``of_total``)
    or share of what is left after weights and activations that goes to KV (``of_free``)."""
    of_free: bool
    max_seqs_large: int
    """Default cap on concurrently running sequences on GPUs with ≥ 70 GiB."""
    max_seqs_small: int
    """Default cap on GPUs with less memory (and A100, for vLLM)."""
    source: str


ENGINES: dict[str, EngineProfile] = {
    "vllm": EngineProfile(
        "vllm", 0.90, False, 1024, 256,
        "vLLM: gpu_memory_utilization 0.9 of total memory; max_num_seqs 1024 on GPUs with "
        ">= 70 GiB except A100, else 256 (vllm/engine/arg_utils.py get_batch_defaults)",
    ),
    "tensorrt-llm": EngineProfile(
        "tensorrt-llm", 0.90, True, 2048, 2048,
        "TensorRT-LLM: KvCacheConfig free_gpu_memory_fraction 0.9 of the memory left after "
        "weights and activations; LLM API max_batch_size 2048 (trtllm-bench raises it to "
        "min(KV fit, 4096), tensorrt_llm/bench/build/tuning.py)",
    ),
    "sglang": EngineProfile(
        "sglang", 0.88, False, 4096, 4096,
        "SGLang: mem_fraction_static about 0.88 of total memory on 80 GB-class GPUs; "
        "max_running_requests is derived from the KV pool (4096 used as a ceiling here, "
        "an assumption)",
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
    """The profile for an engine name or alias (case-insensitive); InputError if unknown."""
    key = ENGINE_ALIASES.get(str(engine).strip().lower().replace(" ", "-"))
    if key is None:
        raise InputError("engine", engine, f"one of {', '.join(sorted(ENGINE_ALIASES))}")
    return ENGINES[key]


# --- fitted constants -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Calibration:
    """The fitted efficiencies and overheads (values in ``calibration.yaml``)."""

    bandwidth_efficiency: float
    """Achievable fraction of peak memory bandwidth for weight and KV reads."""
    compute_efficiency: float
    """Achievable fraction of the dense tensor peak (MFU) for GEMMs and attention."""
    step_overhead_s: float
    """Fixed time per engine step (scheduling, sampling, launch), s."""
    layer_overhead_s: float
    """Fixed time per layer per step (kernel launches, norms, small ops), s."""


@cache
def _calibration_file() -> dict[str, Any]:
    data = read_data_file("calibration.yaml")
    if not isinstance(data, dict) or "fitted" not in data:
        raise ValueError("calibration.yaml: expected a mapping with a 'fitted' section")
    return data


@cache
def packaged_calibration() -> Calibration:
    """The packaged calibration (read once from ``catalog/data/calibration.yaml``)."""
    fitted = _calibration_file()["fitted"]
    return Calibration(**{k: float(fitted[k]["value"]) for k in Calibration.__slots__})


def confidence_band(model: ModelSpec | str) -> tuple[float, float, str]:
    """(low, high, source): the range, as fractions of a predicted throughput, that measured
    throughput fell in on the calibration set for models of this kind (dense or MoE).

    A prediction P is expected between ``P × (1 + low)`` and ``P × (1 + high)``.
    """
    spec = _as_model(model)
    bands = _calibration_file()["confidence_band"]
    band = bands["moe" if spec.is_moe else "dense"]
    return float(band["low"]), float(band["high"]), str(band["source"])


# --- knobs for the optimizations (issue 4) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Tuning:
    """Physical knobs that serving optimizations act through. The defaults change nothing.

    Optimizations are mapped onto these by ``engine/optimizations.py``; this module only
    applies the physics.
    """

    decode_tokens_per_step: float = 1.0
    """Tokens each sequence pushes through the model per decode step (1 + draft tokens
    verified, for speculative decoding). Scales GEMM and attention FLOPs, not bytes."""
    accepted_tokens_per_step: float = 1.0
    """Output tokens each sequence gains per decode step (expected accepted + 1 with
    speculative decoding). TPOT = step time / this."""
    extra_step_s: float = 0.0
    """Extra time per decode step, s (e.g. the draft model's own passes)."""
    extra_read_bytes_per_step: float = 0.0
    """Extra bytes each GPU reads per step (e.g. LoRA adapters, a draft model's weights)."""
    extra_resident_bytes: float = 0.0
    """Memory per replica taken from the KV budget (adapters, draft model, pinned prefix KV)."""
    kv_reserved_tokens: float | None = None
    """KV tokens reserved per request; None = prompt + output. Max context for an engine
    that reserves the maximum (no PagedAttention)."""
    continuous_batching: bool = True
    """False: prefill runs in its own passes instead of sharing decode steps' weight reads
    (idle slots and padding of static batches are the caller's to model)."""


DEFAULT_TUNING = Tuning()


# --- per-replica physics, computed once per configuration --------------------------------


@dataclass(frozen=True, slots=True)
class _Replica:
    """Per-GPU constants of one replica configuration (all in base units)."""

    gpus: int
    tp: int
    pp: int
    dp: int
    layers: int
    weights_resident_bytes: float  # per replica
    kv_budget_bytes: float  # per replica, engine default
    max_seqs: int  # engine cap
    bw: float  # achievable bytes/s per GPU
    peak: float  # achievable FLOP/s per GPU at the compute precision
    attn_peak: float  # achievable FLOP/s per GPU for attention
    dense_read_bytes: float  # non-expert weights read per micro-batch per GPU
    routed_bytes: float  # all routed experts' bytes per GPU
    log_miss: float  # ln(1 − k/E); 0 for dense
    flops_per_token: float  # GEMM FLOPs per token per GPU (stage-local)
    kv_full_per_token: float  # KV bytes per context token, full layers, per GPU
    kv_win_per_token: float  # KV bytes per context token, window layers, per GPU
    window: float  # window tokens (inf if none)
    kv_seq_repl: float  # replica KV bytes per token of context (all layers, replication incl.)
    kv_seq_repl_win: float
    attn_full_per_ctx: float  # decode attention FLOPs per (query token, context token), full layers, per GPU
    attn_win_per_ctx: float
    prefill_attn_full: float  # prefill attention FLOPs coefficient (× ∫ s ds), full layers, per GPU
    prefill_attn_win: float
    comm_fixed_s: float  # per micro-batch latency terms, s
    comm_per_token_s: float  # per micro-batch token, s
    hop_fixed_s: float  # per stage boundary
    hop_per_token_s: float
    layer_s: float  # layer overhead per micro-batch pass (L/pp layers)
    step_s: float  # step overhead


_REPLICAS: dict[tuple, tuple[ModelSpec, GpuSpec, _Replica]] = {}


def _replica(
    model: ModelSpec, gpu: GpuSpec, tp: int, pp: int, ep: int,
    prec: Precision, kvp: Precision, engine: EngineProfile, cal: Calibration,
) -> _Replica:
    # Keyed by object identity: catalog rows are shared objects, and a modified copy (a
    # custom GPU) is a new object. The strong references kept in the value stop an id from
    # being reused while its entry lives.
    key = (id(model), id(gpu), tp, pp, ep, prec, kvp, engine.name, cal)
    hit = _REPLICAS.get(key)
    if hit is not None:
        return hit[2]
    if len(_REPLICAS) > 8192:
        _REPLICAS.clear()
    rep = _build_replica(model, gpu, tp, pp, ep, prec, kvp, engine, cal)
    _REPLICAS[key] = (model, gpu, rep)
    return rep


def _build_replica(
    model: ModelSpec, gpu: GpuSpec, tp: int, pp: int, ep: int,
    prec: Precision, kvp: Precision, engine: EngineProfile, cal: Calibration,
) -> _Replica:
    peak = gpu.dense_flops(prec) * cal.compute_efficiency  # raises UnsupportedPrecisionError
    attn_peak = gpu.dense_flops(ATTENTION_COMPUTE) * cal.compute_efficiency
    dp = 1
    if ep > 1:
        if model.moe is None:
            raise InputError("ep", ep, "1 for a dense model", "expert parallelism needs MoE")
        if ep > model.moe.experts:
            raise InputError("ep", ep, f"at most the {model.moe.experts} experts of {model.id}")
        if ep > tp:
            if ep % tp:
                raise InputError("ep", ep, f"a multiple of tp={tp} when larger than tp")
            dp = ep // tp
    gpus = tp * pp * dp
    wb = prec.bytes_per_element
    h = model.hidden_size
    total = model.total_params
    embed = float(model.vocab_size * h)  # input embedding: gathered, not streamed
    moe = model.moe
    if moe is not None:
        expert_params = GATED_FFN_MATRICES * h * moe.expert_intermediate_size
        routed = min(moe.moe_layers * moe.experts * expert_params, 0.98 * total)
        log_miss = math.log1p(-moe.experts_per_token / moe.experts)
    else:
        routed = 0.0
        log_miss = 0.0
    dense = total - routed
    weights_resident = (dense * dp + routed) * wb
    matmul_active = max(model.active_params - embed, 0.5 * model.active_params)

    # KV cache, per GPU and per replica (heads split by tp, replicated when tp > kv heads;
    # MLA's latent is replicated on every tp rank; layers split by pp).
    per_layer = kv_bytes_per_token_per_layer(model, kvp.bytes_per_element)
    if model.mla is not None:
        shard = 1.0
    else:
        shard = math.ceil(model.kv_heads / tp) / model.kv_heads
    sw = model.sliding_window
    win_layers = sw.bounded_layers if sw else 0
    window = float(sw.window_tokens) if sw else math.inf
    full_layers = model.layers - win_layers
    kv_full = full_layers * per_layer * shard / pp
    kv_win = win_layers * per_layer * shard / pp
    repl = shard * tp  # replica bytes / model bytes
    kv_seq_repl = full_layers * per_layer * repl
    kv_seq_repl_win = win_layers * per_layer * repl

    # Attention FLOPs per (query token, context token, layer): 2 × heads × (d_qk + d_v).
    heads = model.attention_heads
    if model.mla is not None:  # decode runs the absorbed form over the latent
        lat = model.mla.kv_lora_rank
        dec_coeff = 2.0 * heads * (lat + model.mla.qk_rope_head_dim + lat)
    else:
        dec_coeff = 4.0 * heads * model.head_dim
    pre_coeff = 4.0 * heads * model.head_dim
    per_gpu = 1.0 / (tp * pp)
    attn_full = dec_coeff * full_layers * per_gpu
    attn_win = dec_coeff * win_layers * per_gpu
    pre_full = pre_coeff * full_layers * per_gpu
    pre_win = pre_coeff * win_layers * per_gpu

    # Communication per micro-batch pass of one stage (layers L/pp).
    link = gpu.interconnect_bytes_per_s if tp <= gpu.gpus_per_node else INTER_NODE_BYTES_PER_S
    stage_layers = model.layers / pp
    act = h * ACTIVATION_BYTES_PER_ELEMENT
    comm_fixed = 0.0
    comm_tok = 0.0
    moe_share = (moe.moe_layers / model.layers) if moe is not None else 0.0
    if tp > 1:
        ring = 2.0 * (tp - 1) / tp
        n_ar = stage_layers * (2.0 - (moe_share if ep > 1 else 0.0))
        comm_fixed += n_ar * ALLREDUCE_LATENCY_S
        comm_tok += n_ar * ring * act / link / dp
    if ep > 1 and moe is not None:
        n_a2a = 2.0 * stage_layers * moe_share
        ep_link = link if gpus <= gpu.gpus_per_node else INTER_NODE_BYTES_PER_S
        comm_fixed += n_a2a * ALLREDUCE_LATENCY_S
        comm_tok += n_a2a * moe.experts_per_token * act * (ep - 1) / ep / ep_link / (dp * tp)
    cross_node = tp * dp * pp > gpu.gpus_per_node
    hop_link = INTER_NODE_BYTES_PER_S if cross_node else gpu.interconnect_bytes_per_s

    mem_fraction = engine.kv_fraction
    memory = gpus * gpu.memory_bytes
    activations = activations_bytes(weights_resident)
    if engine.of_free:
        kv_budget = mem_fraction * (memory - weights_resident - activations)
    else:
        kv_budget = mem_fraction * memory - weights_resident - activations
    large = gpu.memory_bytes >= 70 * GIB and not gpu.id.startswith("a100")
    max_seqs = engine.max_seqs_large if large else engine.max_seqs_small

    return _Replica(
        gpus=gpus, tp=tp, pp=pp, dp=dp, layers=model.layers,
        weights_resident_bytes=weights_resident,
        kv_budget_bytes=max(kv_budget, 0.0),
        max_seqs=max_seqs,
        bw=gpu.memory_bandwidth_bytes_per_s * cal.bandwidth_efficiency,
        peak=peak,
        attn_peak=attn_peak,
        dense_read_bytes=(dense - embed) * wb / (tp * pp),
        routed_bytes=routed * wb / gpus,
        log_miss=log_miss,
        flops_per_token=2.0 * matmul_active / gpus,
        kv_full_per_token=kv_full,
        kv_win_per_token=kv_win,
        window=window,
        kv_seq_repl=kv_seq_repl,
        kv_seq_repl_win=kv_seq_repl_win,
        attn_full_per_ctx=attn_full,
        attn_win_per_ctx=attn_win,
        prefill_attn_full=pre_full,
        prefill_attn_win=pre_win,
        comm_fixed_s=comm_fixed,
        comm_per_token_s=comm_tok,
        hop_fixed_s=STAGE_HOP_LATENCY_S if pp > 1 else 0.0,
        hop_per_token_s=(act / hop_link) if pp > 1 else 0.0,
        layer_s=cal.layer_overhead_s * stage_layers,
        step_s=cal.step_overhead_s,
    )


# --- input resolution -------------------------------------------------------------------

_PRECISIONS: dict[Any, Precision] = {}


def _as_precision(value: Any, field_name: str = "precision") -> Precision:
    p = _PRECISIONS.get(value)
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
    """KV-cache format when none is given: the weights' format for 16- and 8-bit weights
    (course.md §10.3 step 2: KV follows precision); BF16 for INT4 (weight-only AWQ/GPTQ keep
    16-bit activations and KV); FP8 for FP4 (NVIDIA's NVFP4 checkpoints store KV in FP8)."""
    p = _as_precision(precision)
    if p is Precision.INT4:
        return Precision.BF16
    if p is Precision.FP4:
        return Precision.FP8
    return p


def _as_model(model: ModelSpec | str) -> ModelSpec:
    return model if isinstance(model, ModelSpec) else load_catalog().model(str(model))


def _as_gpu(gpu: GpuSpec | str) -> GpuSpec:
    return gpu if isinstance(gpu, GpuSpec) else load_catalog().gpu(str(gpu))


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InputError(name, value, f"a whole number >= {low}")
    if value < low:
        raise InputError(name, value, f"a whole number >= {low}")
    return int(value)


def _check_tokens(name: str, value: Any, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
        raise InputError(name, value, f"a number >= {low:g}")
    if math.isinf(value):
        raise InputError(name, value, "finite")
    return float(value)


def _setup(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: Any, pp: Any, ep: Any,
    precision: Any, kv_precision: Any, engine: str, cal: Calibration | None,
) -> tuple[ModelSpec, GpuSpec, Precision, Precision, EngineProfile, _Replica]:
    m = _as_model(model)
    g = _as_gpu(gpu)
    tp_ = _check_int("tp", tp)
    pp_ = _check_int("pp", pp)
    ep_ = _check_int("ep", ep)
    if pp_ > m.layers:
        raise InputError("pp", pp_, f"at most the {m.layers} layers of {m.id}")
    prec = _as_precision(precision)
    kvp = default_kv_precision(prec) if kv_precision is None else _as_precision(
        kv_precision, "kv_precision"
    )
    eng = engine_profile(engine)
    rep = _replica(m, g, tp_, pp_, ep_, prec, kvp, eng, cal or packaged_calibration())
    return m, g, prec, kvp, eng, rep


# --- the step-time physics ----------------------------------------------------------------


class _Work(NamedTuple):
    """Per-sequence quantities of one workload on one replica (per GPU where relevant)."""

    d: float  # decode tokens per sequence per step
    a: float  # accepted output tokens per sequence per step
    r: float  # prompt tokens per sequence per step mixed into decode steps
    kv_read: float  # KV bytes one sequence's attention reads per step, per GPU
    attn_flops: float  # decode attention FLOPs per sequence per step, per GPU
    prefill_attn: float  # prefill attention FLOPs per sequence per step, per GPU
    kv_reserved: float  # replica KV bytes reserved per request
    prompt_tokens: float  # prompt tokens computed per request
    prompt_attn: float  # attention FLOPs of one whole prompt, per GPU
    extra_bytes: float
    extra_s: float
    mixed: bool


def _window_integral(s0: float, s1: float, w: float) -> float:
    """∫ min(s, w) ds from s0 to s1: causal attention work of a windowed layer."""
    if s1 <= w:
        return (s1 * s1 - s0 * s0) / 2.0
    if s0 >= w:
        return w * (s1 - s0)
    return (w * w - s0 * s0) / 2.0 + w * (s1 - w)


def _work(
    rep: _Replica, input_tokens: float, output_tokens: float,
    prefill_tokens: float | None, tuning: Tuning,
) -> _Work:
    d = tuning.decode_tokens_per_step
    a = tuning.accepted_tokens_per_step
    computed = input_tokens if prefill_tokens is None else min(prefill_tokens, input_tokens)
    ctx = input_tokens + output_tokens / 2.0  # mean context over a request's decode
    w = rep.window
    ctx_w = min(ctx, w)
    kv_read = rep.kv_full_per_token * ctx + rep.kv_win_per_token * ctx_w
    attn = (rep.attn_full_per_ctx * ctx + rep.attn_win_per_ctx * ctx_w) * d
    s0 = input_tokens - computed
    prompt_attn = rep.prefill_attn_full * (input_tokens**2 - s0 * s0) / 2.0
    if rep.prefill_attn_win:
        prompt_attn += rep.prefill_attn_win * _window_integral(s0, input_tokens, w)
    steps = output_tokens / a
    reserved_tokens = (
        input_tokens + output_tokens if tuning.kv_reserved_tokens is None
        else tuning.kv_reserved_tokens
    )
    kv_reserved = rep.kv_seq_repl * reserved_tokens + rep.kv_seq_repl_win * min(
        reserved_tokens, w
    )
    return _Work(
        d=d, a=a, r=computed / steps, kv_read=kv_read, attn_flops=attn,
        prefill_attn=prompt_attn / steps, kv_reserved=kv_reserved,
        prompt_tokens=computed, prompt_attn=prompt_attn,
        extra_bytes=tuning.extra_read_bytes_per_step, extra_s=tuning.extra_step_s,
        mixed=tuning.continuous_batching,
    )


class _Coeffs(NamedTuple):
    """step(B) = pp·max(W(B), A·B) + K·B + C (seconds); W(B) = (w0 + routed·φ(B)) / bw."""

    w0: float  # bytes per micro-batch pass always read
    routed: float  # routed expert bytes per GPU
    tok_per_b: float  # micro-batch tokens per unit of B (routing tokens)
    A: float
    K: float
    C: float
    S: float  # seconds per B of prefill passes run outside decode steps (static batching)


def _coeffs(rep: _Replica, wk: _Work) -> _Coeffs:
    pp = rep.pp
    seqs = 1.0 / (pp * rep.dp)  # sequences per GPU group per unit of B in one micro-batch
    gemm_tokens = (wk.d + wk.r) / pp if wk.mixed else wk.d / pp
    A = rep.flops_per_token * gemm_tokens / rep.peak
    attn = max(wk.kv_read / rep.bw, wk.attn_flops / rep.attn_peak) * seqs
    pre_attn = wk.prefill_attn * seqs / rep.attn_peak
    comm = rep.comm_per_token_s * gemm_tokens
    hop = rep.hop_per_token_s * gemm_tokens * (pp - 1)
    K = pp * (attn + pre_attn + comm) + hop
    C = pp * (rep.comm_fixed_s + rep.layer_s) + rep.step_s + (pp - 1) * rep.hop_fixed_s
    C += wk.extra_s
    S = 0.0
    if not wk.mixed:  # prompts run as their own compute-bound passes
        S = rep.flops_per_token * wk.r / rep.peak
    return _Coeffs(
        w0=rep.dense_read_bytes + wk.extra_bytes, routed=rep.routed_bytes,
        tok_per_b=gemm_tokens, A=A, K=K, C=C, S=S,
    )


def _weights_s(rep: _Replica, cf: _Coeffs, b: float) -> float:
    if cf.routed:
        touched = 1.0 - math.exp(rep.log_miss * b * cf.tok_per_b)
        return (cf.w0 + cf.routed * touched) / rep.bw
    return cf.w0 / rep.bw


def _step_s(rep: _Replica, cf: _Coeffs, b: float) -> float:
    """Seconds per decode step at batch b (prefill share included)."""
    return rep.pp * max(_weights_s(rep, cf, b), cf.A * b) + (cf.K + cf.S) * b + cf.C


def _max_batch_for(rep: _Replica, cf: _Coeffs, tau: float) -> float:
    """Largest (real) batch whose step time is at most tau; <= 0 when none."""
    room = tau - cf.C
    k = cf.K + cf.S
    b_cmp = room / (rep.pp * cf.A + k)
    w = (cf.w0 + cf.routed) / rep.bw
    b = (room - rep.pp * w) / k
    if cf.routed and b > 0.0:
        for _ in range(4):  # fixed point from below: touched experts grow with the batch
            b = (room - rep.pp * _weights_s(rep, cf, b)) / k
    return min(b, b_cmp)


def _prefill_s(rep: _Replica, wk: _Work) -> float:
    """Seconds to run one prompt alone (all pp stages, its own pass)."""
    tokens = wk.prompt_tokens
    if tokens <= 0.0:
        return 0.0
    pp = rep.pp
    flops = rep.flops_per_token * tokens * rep.dp  # one request uses one attention group
    if rep.routed_bytes:
        touched = 1.0 - math.exp(rep.log_miss * tokens)
        w = (rep.dense_read_bytes + rep.routed_bytes * touched) / rep.bw
    else:
        w = rep.dense_read_bytes / rep.bw
    stage = (
        max(w, flops / rep.peak)
        + wk.prompt_attn / rep.attn_peak
        + rep.comm_fixed_s + rep.comm_per_token_s * tokens * rep.dp
        + rep.layer_s
    )
    hops = (pp - 1) * (rep.hop_fixed_s + rep.hop_per_token_s * tokens)
    return pp * stage + hops + rep.step_s


def _kv_batch(rep: _Replica, wk: _Work, kv_budget: float | None, extra_resident: float) -> int:
    budget = rep.kv_budget_bytes if kv_budget is None else kv_budget
    budget -= extra_resident
    if budget <= 0.0 or wk.kv_reserved <= 0.0:
        return 0
    return int(budget / wk.kv_reserved)


# --- public results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepBreakdown:
    """One decode step at the batch used (per GPU, seconds and base units)."""

    weights_bytes: float
    """Weight bytes each GPU reads per step (all micro-batch passes)."""
    kv_bytes: float
    """KV-cache bytes each GPU reads per step."""
    flops: float
    """FLOPs each GPU executes per step (GEMMs incl. the prefill share, attention)."""
    memory_s: float
    """Time the memory-bound parts take (weight/KV reads where they dominate)."""
    compute_s: float
    """Time the compute-bound parts take."""
    comm_s: float
    """Tensor/expert-parallel collectives and pipeline hand-offs."""
    overhead_s: float
    """Per-step and per-layer fixed overheads (and extra_step_s)."""
    step_s: float
    """Total step time."""


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
    """Sequences whose KV (prompt + output tokens each) fits the KV budget, engine cap applied."""
    batch: float
    """Sequences decoding together at this load."""
    prefill_s: float
    """One prompt's prefill on an otherwise idle replica."""
    ttft_s: float
    """Time to first token incl. queueing at this load (all-queued: from admission)."""
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
    """True when the offered rate exceeds what the replica can serve (TTFT grows without bound)."""
    notes: tuple[str, ...] = field(default=())


def _breakdown(rep: _Replica, cf: _Coeffs, wk: _Work, b: float) -> StepBreakdown:
    pp = rep.pp
    seqs = b / (pp * rep.dp)
    w_s = _weights_s(rep, cf, b)
    gemm_c = cf.A * b
    kv_s = wk.kv_read * seqs / rep.bw
    attn_c = wk.attn_flops * seqs / rep.attn_peak
    pre_c = wk.prefill_attn * seqs / rep.attn_peak
    memory = pp * ((w_s if w_s >= gemm_c else 0.0) + (kv_s if kv_s >= attn_c else 0.0))
    compute = pp * ((gemm_c if gemm_c > w_s else 0.0) + (attn_c if attn_c > kv_s else 0.0) + pre_c)
    compute += cf.S * b
    gemm_tokens = cf.tok_per_b * b
    comm = pp * (rep.comm_fixed_s + rep.comm_per_token_s * gemm_tokens) + (pp - 1) * (
        rep.hop_fixed_s + rep.hop_per_token_s * gemm_tokens
    )
    overhead = pp * rep.layer_s + rep.step_s + wk.extra_s
    flops = pp * (
        rep.flops_per_token * gemm_tokens
        + (wk.attn_flops + wk.prefill_attn) * seqs
    ) + cf.S * b * rep.peak
    return StepBreakdown(
        weights_bytes=pp * w_s * rep.bw,
        kv_bytes=pp * wk.kv_read * seqs,
        flops=flops,
        memory_s=memory,
        compute_s=compute,
        comm_s=comm,
        overhead_s=overhead,
        step_s=_step_s(rep, cf, b),
    )


def _dominant(bd: StepBreakdown) -> str:
    parts = (
        (bd.memory_s, "memory bandwidth"),
        (bd.compute_s, "compute"),
        (bd.comm_s, "interconnect"),
    )
    return max(parts)[1]


def _md1_wait(rate: float, service: float) -> float:
    """Mean wait in an M/D/1 queue (Pollaczek-Khinchine), s; inf at or above saturation."""
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
    """Performance of one replica (tp × pp GPUs, × dp for MoE attention data parallel).

    Load, pick one: ``concurrency=None`` and no ``request_rate``: every request queued at
    once (maximum throughput; the batch is ``max_batch``); ``concurrency=N``: N requests in
    flight, each replaced as it finishes (closed loop; beyond ``max_batch`` the rest wait);
    ``request_rate=λ`` req/s: Poisson arrivals (open loop; batch from Little's law).
    """
    m, g, prec, kvp, eng, rep = _setup(model, gpu, tp, pp, ep, precision, kv_precision,
                                       engine, calibration)
    tun = tuning or DEFAULT_TUNING
    isl = _check_tokens("input_tokens", input_tokens, 1.0)
    osl = _check_tokens("output_tokens", output_tokens, 1.0)
    if concurrency is not None and request_rate is not None:
        raise InputError("request_rate", request_rate, "None when concurrency is given")
    wk = _work(rep, isl, osl, prefill_tokens, tun)
    cf = _coeffs(rep, wk)
    kv_fit = _kv_batch(rep, wk, kv_budget_bytes, tun.extra_resident_bytes)
    max_batch = min(kv_fit, rep.max_seqs)
    notes: list[str] = []
    if max_batch < 1:
        raise InputError(
            "gpu", g.id,
            f"a configuration whose memory holds {m.id}'s weights and one request's KV",
            f"{rep.gpus}x {g.id} leaves {rep.kv_budget_bytes / GB:.1f} GB for KV, "
            f"{wk.kv_reserved / GB:.2f} GB needed per request",
        )
    prefill = _prefill_s(rep, wk)
    saturated = False

    def at(b: float) -> tuple[float, float, float]:
        step = _step_s(rep, cf, b)
        return step, step / wk.a, b * wk.a / step

    if concurrency is None and request_rate is None:
        batch = float(max_batch)
        step, tpot, out = at(batch)
        ttft = prefill + tpot
        bd = _breakdown(rep, cf, wk, batch)
        binding = _dominant(bd)
        if max_batch == kv_fit and max_batch < rep.max_seqs:
            out2 = at(2.0 * batch)[2]
            if out2 > out * (1.0 + MEMORY_CAPACITY_GAIN):
                binding = "memory capacity"
        notes.append("all requests queued: TTFT counted from admission, not arrival")
    elif concurrency is not None:
        n = _check_tokens("concurrency", concurrency, 1.0)
        batch = min(n, float(max_batch))
        step, tpot, out = at(batch)
        req = out / osl
        if n > max_batch:
            ttft = (n - max_batch) / req + prefill + tpot
            binding = "memory capacity" if max_batch == kv_fit else _dominant(
                _breakdown(rep, cf, wk, batch))
        else:
            ttft = prefill + tpot
            for _ in range(4):  # closed loop: arrival rate = n / end-to-end latency
                rate = n / (ttft + (osl / wk.a - 1.0) * tpot + tpot)
                wait = _md1_wait(rate, prefill) * (n - 1.0) / n
                ttft = min(wait, 1e6) + prefill + tpot
            binding = _dominant(_breakdown(rep, cf, wk, batch))
    else:
        lam = _check_tokens("request_rate", request_rate, 0.0)
        b_cap = float(max_batch)
        cap_req = at(b_cap)[2] / osl
        if lam <= 0.0:
            batch = 0.0
        elif lam >= cap_req or lam * prefill >= 1.0:
            saturated = True
            batch = b_cap
        else:
            batch = 1.0
            for _ in range(30):  # Little's law: B = λ × time in decode
                tpot_b = _step_s(rep, cf, max(batch, 1.0)) / wk.a
                new = min(lam * osl * tpot_b, b_cap)
                if abs(new - batch) < 1e-6 * max(batch, 1.0):
                    batch = new
                    break
                batch = new
        bq = max(batch, 1.0)
        step, tpot, _ = at(bq)
        out = lam * osl if not saturated else at(b_cap)[2]
        wait = math.inf if saturated else _md1_wait(lam, prefill)
        ttft = wait + prefill + tpot
        binding = _dominant(_breakdown(rep, cf, wk, bq))
        if saturated:
            notes.append(f"offered {lam:g} req/s exceeds the replica's {cap_req:.3g} req/s")
    bd = _breakdown(rep, cf, wk, max(batch, 1.0))
    req_s = out / osl
    return PerfEstimate(
        model=m.id, gpu=g.id, gpus=rep.gpus, tp=rep.tp, pp=rep.pp, ep=int(ep),
        precision=prec.value, kv_precision=kvp.value, engine=eng.name,
        max_batch=max_batch, batch=batch, prefill_s=prefill, ttft_s=ttft, tpot_s=tpot,
        e2e_s=ttft + (osl - 1.0) * tpot,
        out_tok_s_per_gpu=out / rep.gpus, out_tok_s_per_replica=out, req_s=req_s,
        binding=binding, kv_budget_bytes=rep.kv_budget_bytes if kv_budget_bytes is None
        else kv_budget_bytes, weights_bytes=rep.weights_resident_bytes, step=bd,
        saturated=saturated, notes=tuple(notes),
    )


# --- capacity under SLOs: the sizing pipeline's hot path --------------------------------


class ReplicaCapacity(NamedTuple):
    """What one replica can carry while meeting the SLOs (``slo_capacity``).

    A NamedTuple rather than a dataclass: the sizing pipeline builds up to ~24 of these per
    sizing and 20,000 sizings a second, and tuple construction is several times cheaper.
    """

    feasible: bool
    """False when even one sequence misses the TPOT target or no request's KV fits."""
    batch: int
    """Sequences decoding together at capacity (0 when infeasible)."""
    max_batch: int
    """Sequences whose KV fits (engine cap applied), whatever the TPOT."""
    tpot_s: float
    """TPOT at ``batch`` (the floor when infeasible)."""
    tpot_floor_s: float
    """TPOT at batch 1: the best any SLO can ask of this configuration."""
    out_tok_s: float
    """Output tokens/s per replica at capacity."""
    out_tok_s_per_gpu: float
    req_s: float
    """Requests/s per replica at capacity."""
    prefill_s: float
    """One prompt's prefill time (the M/D/1 service time of ``ttft_at_load``)."""
    gpus: int
    binding: str
    """Resource that stops a larger batch: "memory capacity" | "memory bandwidth" |
    "compute" | "interconnect"."""


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
    """Largest load one replica carries with TPOT ≤ target (prefill share included) and
    every request's KV in memory; with ``target_ttft_s``, also TTFT ≤ target at that load
    (M/D/1 queue in front of prefill, see ``ttft_at_load``).

    ``kv_budget_bytes`` replaces the engine's default KV budget (e.g. the pipeline's VRAM
    plan); ``prefill_tokens`` is the prompt tokens actually computed per request (prefix
    caching), defaulting to all of ``input_tokens``.
    """
    if not target_tpot_s > 0.0:
        raise InputError("target_tpot_s", target_tpot_s, "> 0")
    m, g, prec, kvp, eng, rep = _setup(model, gpu, tp, pp, ep, precision, kv_precision,
                                       engine, calibration)
    tun = tuning or DEFAULT_TUNING
    isl = _check_tokens("input_tokens", input_tokens, 1.0)
    osl = _check_tokens("output_tokens", output_tokens, 1.0)
    wk = _work(rep, isl, osl, prefill_tokens, tun)
    cf = _coeffs(rep, wk)
    kv_fit = _kv_batch(rep, wk, kv_budget_bytes, tun.extra_resident_bytes)
    max_batch = kv_fit if kv_fit < rep.max_seqs else rep.max_seqs
    prefill = _prefill_s(rep, wk)
    floor_step = _step_s(rep, cf, 1.0)
    floor = floor_step / wk.a
    tau = target_tpot_s * wk.a
    b_slo = _max_batch_for(rep, cf, tau)
    if max_batch < 1 or b_slo < 1.0:
        binding = "memory capacity" if max_batch < 1 else _dominant(
            _breakdown(rep, cf, wk, 1.0))
        return ReplicaCapacity(False, 0, max_batch, floor, floor, 0.0, 0.0, 0.0, prefill,
                               rep.gpus, binding)
    if b_slo < max_batch:
        batch = int(b_slo)
        kv_bound = False
    else:
        batch = max_batch
        kv_bound = max_batch == kv_fit
    step = _step_s(rep, cf, batch)
    out = batch * wk.a / step
    req = out / osl
    if target_ttft_s is not None:
        slack = target_ttft_s - prefill - step / wk.a
        if slack <= 0.0:
            return ReplicaCapacity(False, 0, max_batch, step / wk.a, floor, 0.0, 0.0, 0.0,
                                   prefill, rep.gpus, "compute")
        rho = 2.0 * slack / (prefill + 2.0 * slack) if prefill > 0.0 else 1.0
        req_ttft = rho / prefill if prefill > 0.0 else math.inf
        if req_ttft < req:
            scale = req_ttft / req
            return ReplicaCapacity(True, max(int(batch * scale), 1), max_batch, step / wk.a,
                                   floor, out * scale, out * scale / rep.gpus, req_ttft,
                                   prefill, rep.gpus, "compute")
    binding = "memory capacity" if kv_bound else _dominant(_breakdown(rep, cf, wk, batch))
    return ReplicaCapacity(True, batch, max_batch, step / wk.a, floor, out, out / rep.gpus,
                           req, prefill, rep.gpus, binding)


def ttft_at_load(capacity: ReplicaCapacity, offered_rps: float) -> float:
    """Mean TTFT, s, when one replica receives ``offered_rps`` requests/s (Poisson).

    Queueing model: M/D/1 in front of the prefill work, service time = one prompt's
    prefill (``capacity.prefill_s``), ρ = offered_rps × prefill_s, mean wait
    ρ·S/(2(1 − ρ)); TTFT = wait + prefill + one decode step at capacity. ``inf`` when the
    offered rate reaches the replica's capacity or saturates prefill.
    """
    if offered_rps < 0.0:
        raise InputError("offered_rps", offered_rps, ">= 0")
    if not capacity.feasible or offered_rps > capacity.req_s * (1.0 + 1e-9):
        return math.inf if offered_rps > 0.0 or not capacity.feasible else (
            capacity.prefill_s + capacity.tpot_s)
    wait = _md1_wait(offered_rps, capacity.prefill_s)
    return wait + capacity.prefill_s + capacity.tpot_s


__all__ = [
    "ENGINES",
    "Calibration",
    "EngineProfile",
    "PerfEstimate",
    "ReplicaCapacity",
    "StepBreakdown",
    "Tuning",
    "packaged_calibration",
    "confidence_band",
    "default_kv_precision",
    "engine_profile",
    "estimate",
    "slo_capacity",
    "ttft_at_load",
]
