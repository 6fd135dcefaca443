"""Step-time physics of one replica: weight streaming and GEMMs, attention, collectives,
overheads (the formulas are in ``performance``'s docstring and docs/method.md)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, NamedTuple

from xlsizer.catalog.loader import load_catalog
from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine.calibration import Calibration, packaged_calibration
from xlsizer.engine.engines import EngineProfile, engine_profile
from xlsizer.engine.layers import (
    attention_terms,
    elementwise_bytes,
    ffn_blocks,
    gathered_embedding_params,
    mixer_blocks,
    multiplied_active_params,
    output_head_params,
    recurrent_bytes_per_step,
    recurrent_flops_per_token,
    routed_params,
    tensor_parallel_refusal,
)
from xlsizer.engine.memory import activations_bytes, dense_weights_precision
from xlsizer.engine.moe import (
    GROUPED_BANDWIDTH_RATIO,
    GROUPED_COMPUTE_RATIO,
    busiest_expert_share,
    imbalance,
    routed_activation_bytes,
    touched_fraction,
)
from xlsizer.errors import (
    InputError,
)
from xlsizer.precision import Precision, parse_precision
from xlsizer.precision import default_kv_precision as _default_kv
from xlsizer.units import GIB

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

def scaleout_bytes_per_s(gpu: GpuSpec) -> float:
    """Per-GPU bandwidth between scale-up domains, one direction, bytes/s: the catalog's
    ``scaleout_gb_s`` (A100 platforms 25 GB/s, Hopper 50, Blackwell 100), else
    ``INTER_NODE_BYTES_PER_S``."""
    return gpu.scaleout_gb_s * 1e9 if gpu.scaleout_gb_s else INTER_NODE_BYTES_PER_S


NET_HOP_LATENCY_S: float = 5.0e-6
"""Latency a tree all-reduce adds per network hop between scale-up domains, s: NCCL's own
cost model, src/graph/tuning.cc ``hwLat[NCCL_HW_NET][Tree][LL] = 5.0`` µs (the low-latency
protocol that small decode messages use). Over D domains the tree has ceil(log2 D) levels,
each crossed twice (reduce up, broadcast down: the same file's latency formula)."""

NCCL_RING_BASE_LATENCY_S: float = 6.6e-6
"""Base latency of a ring collective (all-gather, reduce-scatter), s: NCCL tuning.cc
``baseLat[Ring][LL] = 6.6`` µs."""

NVLINK_STEP_LATENCY_S: float = 0.47e-6
"""Latency per ring step over NVLink, s: NCCL tuning.cc ``hwLat[NVLINK][Ring][LL] = 0.47`` µs,
× 1.8 when the ring also crosses the network (the same file: ``intraLat *= 1.8`` for LL
with several nodes). An 8-GPU ring: 6.6 + 7 × 0.47 = 9.9 µs, the 10 µs of
``ALLREDUCE_LATENCY_S``."""

NET_STEP_LATENCY_S: float = 2.7e-6
"""Latency per ring step across the network, s: NCCL tuning.cc ``hwLat[NET][Ring][LL] = 2.7``
µs."""


def tree_network_latency_s(domains: int) -> float:
    """Latency a tree all-reduce adds beyond one scale-up domain, s: 2 × ceil(log2 D) network
    hops (0 within one domain)."""
    if domains <= 1:
        return 0.0
    return 2.0 * math.ceil(math.log2(domains)) * NET_HOP_LATENCY_S


def ring_latency_s(gpus: int, domains: int) -> float:
    """Latency of one ring all-gather or reduce-scatter over ``gpus`` GPUs in ``domains``
    scale-up domains, s (NCCL's model: base + (n − 1) steps, D − 1 of them on the network)."""
    inter = domains - 1
    intra = NVLINK_STEP_LATENCY_S * (1.8 if inter else 1.0)
    return NCCL_RING_BASE_LATENCY_S + (gpus - 1 - inter) * intra + inter * NET_STEP_LATENCY_S


ACTIVATION_BYTES_PER_ELEMENT: float = 2.0
"""Bytes per hidden-state element in all-reduce, all-to-all and stage hand-offs: activations
stay BF16 with FP8/FP4 weights (the GEMMs quantize their inputs on the fly)."""

ATTENTION_COMPUTE: Precision = Precision.BF16
"""Attention math runs at the BF16 tensor rate whatever the weight format (FlashAttention,
FlashInfer and TensorRT-LLM's default attention kernels compute in BF16)."""

ROOFLINE_NORM: float = 2.0
"""Exponent of the smooth GEMM roofline (t_mem^p + t_math^p)^(1/p). A plain max assumes
weight streaming and tensor math overlap perfectly, which kernels near the ridge point do
not. p = 2 was chosen by leave-one-group-out cross-validation on validation/calibration.csv
among 1, 1.5, 2, 3 and ∞ (see calibration.yaml); the code hard-wires p = 2 (a sqrt), which
also keeps the capacity bounds in closed form."""

REFERENCE_MAMF_GPU: str = "h100-sxm"
"""The GPU whose measured share of its datasheet tensor rate the fitted compute efficiencies
(calibration.yaml) are taken to hold for: H100 SXM, 794.5 of 989 BF16 TFLOPS (0.80, catalog
``mamf_bf16_tflops``), shared by the H200 (same chip, clock and power), the two carrying 2,498
of serving.csv's 4,184 fitted rows and 129 of calibration.csv's 211."""


def sustained_tensor_ratio(gpu: GpuSpec) -> float:
    """The share of its datasheet tensor rate ``gpu`` sustains under dense tensor load, over
    the reference GPU's (dimensionless; 1 when not measured): measured max-achievable matmul
    ÷ datasheet (``GpuSpec.mamf_efficiency``) over ``REFERENCE_MAMF_GPU``'s. Why: a GPU's
    datasheet rate is at its boost clock, while under dense tensor load the power limit sets
    the clock (AMD's MI300X holds 1,207-1,230 MHz of its 2,100 at 750 W, the same dies as
    MI325X 1,447-1,464 MHz at 1,000 W: rocm.blogs.amd.com "Measuring Max-Achievable FLOPs -
    Part 2"), so GPUs of the same datasheet sustain different rates (MI300X 0.64 of an H100's
    share, MI325X 0.75, MI355X 0.78, GB200 0.91, B200 0.97, A100 1.08). Scales every
    tensor-core rate of the GPU (GEMMs, attention, experts, at every precision: the clock is
    the clock); a memory-bound step is untouched."""
    eff = gpu.mamf_efficiency
    return 1.0 if eff is None else eff / reference_mamf_efficiency()


def sustained_compute_efficiency(gpu: GpuSpec, cal: Calibration) -> float:
    """The calibrated share of the dense tensor peak (``cal.compute_efficiency``, fitted for
    the reference GPU) at ``gpu``'s sustained tensor share (dimensionless): what every rate of
    the GPU's tensor cores is multiplied by (the step, the search's compute bound, a drafter)."""
    return cal.compute_efficiency * sustained_tensor_ratio(gpu)


@functools.cache
def reference_mamf_efficiency() -> float:
    """``REFERENCE_MAMF_GPU``'s measured share, read once: packaged GPU rows do not change while
    the process runs (a user's catalog folder adds models only)."""
    eff = load_catalog().gpu(REFERENCE_MAMF_GPU).mamf_efficiency
    if eff is None:
        raise ValueError(f"gpus.yaml: the reference GPU {REFERENCE_MAMF_GPU} needs mamf_bf16_tflops")
    return eff


MEMORY_CAPACITY_GAIN: float = 0.10
"""At the all-queued batch, memory capacity is named the binding resource when twice the KV
memory would raise throughput by more than this fraction (a definition, not a measurement)."""


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
    token_budget: int | None = None
    """Prompt tokens one engine step takes per attention rank where a deployment sets it
    (TensorRT-LLM and vLLM max_num_tokens, SGLang max_prefill_tokens); None = the engine's
    default (engines.yaml)."""
    benchmark_rounds: float | None = None
    """Closed loop only: the load is a benchmark whose clients all start together on an idle
    server (the warm-up drained first) and each send this many requests of fixed lengths
    (aiperf in aiconfigurator's harness: 20); None = steady traffic, as a deployment sees
    it (``queueing.burst_weight``)."""
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
    expert_peak: float  # achievable routed-expert GEMM FLOP/s (expert_compute), balanced load
    attn_peak: float  # achievable attention FLOP/s
    dense_read_bytes: float  # non-expert weights one micro-batch pass streams
    routed_bytes: float  # all routed experts on this GPU
    log_miss: float  # ln(1 − k/E), 0 for dense
    flops_per_token: float  # GEMM FLOPs per token of a micro-batch pass (experts excluded)
    prompt_gemm_share: float  # share of flops_per_token a prompt token multiplies (all but the output head)
    expert_flops_per_token: float  # routed-expert GEMM FLOPs per token of a pass, this GPU
    expert_bw: float  # achievable bytes/s streaming expert weights (grouped kernels)
    k_over_e: float  # experts per token / experts (0 for dense)
    ln_e: float  # ln(experts)
    # attention by kind (layers.attention_terms), per GPU: (cap tokens, entries per token,
    # KV bytes read per entry, decode FLOPs per (query, entry), prefill FLOPs per (query, entry))
    attn_terms: tuple[tuple[float, float, float, float, float], ...]
    # cache by kind, per replica: (cap tokens, entries per token, bytes per entry, replication)
    cache_terms: tuple[tuple[float, float, float], ...]
    state_read: float  # recurrent state bytes one sequence moves per decode step, per GPU
    state_flops: float  # recurrent FLOPs per token, per GPU
    state_repl: float  # recurrent state bytes one request holds, per replica
    comm_fixed_s: float  # per micro-batch pass
    a2a_fixed_s: float  # the expert-parallel all-to-all part of comm_fixed_s
    a2a_per_token_s: float  # the all-to-all part of comm_per_token_s
    comm_per_token_s: float  # per token of a pass
    peer_per_token_s: float  # per decode token: all-reduce peers × calibration allreduce_peer_s
    moe_act_per_token_s: float  # routed tokens' activation traffic per token of a pass (MoE)
    elementwise_per_token_s: float  # element-wise kernels' traffic per token of a pass (layers.elementwise_bytes)
    hop_fixed_s: float  # per stage boundary
    hop_per_token_s: float
    layer_s: float  # layer overhead per micro-batch pass
    request_s: float  # fixed time to first token beyond the prefill math
    prefill_scale: float  # prefill math time / decode math time at the same tokens
    in_step_share: float  # benchmark rounds kept in step: fitted if prefill-first, else 0
    queue_scale: float  # prefill queue service time over the modelled one (calibration queue_service_scale)
    step_s: float


_REPLICAS: dict[tuple, tuple[ModelSpec, GpuSpec, _Replica]] = {}


def collective_link(gpu: GpuSpec, gpus: int) -> tuple[float, int]:
    """(bytes/s per GPU one direction, scale-up domains spanned) of a collective over ``gpus``
    GPUs: the scale-up fabric (NVLink) while they fit in one domain (a node, or an NVL72 rack:
    ``GpuSpec.scaleup_gpus``), else the network between domains (``scaleout_gb_s``; one
    400 Gb/s NIC per GPU where the catalog does not say). On NVLink-bridged PCIe cards, more
    GPUs than one bridge joins (``GpuSpec.bridge_gpus``) meet at the PCIe slot's rate; in a
    fully connected mesh (``GpuSpec.mesh_peers``) ``gpus`` GPUs use ``gpus`` − 1 of each GPU's
    links."""
    dom = gpu.scaleup_gpus
    link = gpu.interconnect_bytes_per_s
    peers = gpu.mesh_peers
    if peers is not None and gpus - 1 < peers:
        # a fully connected mesh (AMD Infinity Fabric, Gaudi 3's RoCE ports): one link per peer,
        # so k GPUs' collectives run over k - 1 of each GPU's links, not the aggregate: TP=2 on
        # MI300X moves 64 GB/s each way, not 448 (an NVSwitch gives any pair the full rate)
        link *= max(gpus - 1, 1) / peers
    bridged = gpu.host_link_bytes_per_s  # set wherever bridge_gpus is (GpuSpec's check)
    if gpu.bridge_gpus is not None and gpus > gpu.bridge_gpus and bridged is not None:
        # NVLink-bridged PCIe cards (H100 NVL pairs, H200 NVL quads): a ring over more GPUs
        # than one bridge joins passes through the cards' PCIe slots, and its slowest link
        # sets its pace (the bridge joins its group only, NVIDIA's H100/H200 NVL datasheets)
        link = min(link, bridged)
    if gpus <= dom:
        return link, 1
    out = scaleout_bytes_per_s(gpu)
    return min(out, link), math.ceil(gpus / dom)


def gemm_compute(gpu: GpuSpec, prec: Precision) -> Precision:
    """The tensor format a GEMM with weights in ``prec`` multiplies at on ``gpu``.

    4-bit weights on a GPU without FP4 math (NVFP4/MXFP4 checkpoints on Hopper or Ampere)
    run weight-only: the kernel reads the 4-bit weights and their scales, dequantizes them in
    registers and multiplies at BF16 (vLLM's Marlin MXFP4/NVFP4 path, SGLang's Triton MoE
    kernels). FP8 on a GPU without FP8 math (A100) runs W8A16 the same way.
    """
    c = prec.compute
    if gpu.supports(prec) or c is Precision.BF16:
        return c
    if c is Precision.FP4:
        return Precision.BF16
    return c  # FP8/INT8 without their tensor cores: the caller names it (UnsupportedPrecisionError)


def expert_compute(model: ModelSpec, gpu: GpuSpec, prec: Precision) -> Precision:
    """The tensor format the routed experts' GEMMs multiply at.

    The weights' format (``gemm_compute``), except for a checkpoint that ships only its
    experts in 4-bit (the catalog's ``expert_weights_precision`` fp4 beside 8- or 16-bit
    dense weights: gpt-oss, whose MXFP4 experts were trained with 16-bit activations;
    DeepSeek-V4): its activations are not quantized to 4 bits, so the expert GEMMs are W4A8
    or W4A16 and multiply at the activations' rate. TensorRT-LLM's gpt-oss deployment guide
    runs MXFP4 experts with MXFP8 activations on B200/GB200/B300/GB300 and with BF16
    activations on H200 (MoE backend support matrix); a Blackwell MMA with an FP8 operand
    (tcgen05.mma kind::mxf8f6f4) runs at the FP8 rate, only FP4 × FP4 (kind::mxf4,
    kind::mxf4nvf4) at the FP4 rate (CUTLASS media/docs/blackwell_functionality.md). So:
    FP8 where the GPU has FP8 math, else BF16.
    """
    c = gemm_compute(gpu, prec)
    shipped = model.expert_weights_precision
    if (c is not Precision.FP4 or model.moe is None or shipped is not Precision.FP4
            or model.weights_precision is Precision.FP4):
        return c
    return Precision.FP8 if gpu.supports(Precision.FP8) else Precision.BF16


def _replica(
    model: ModelSpec, gpu: GpuSpec, tp: int, pp: int, ep: int,
    prec: Precision, kvp: Precision, engine: EngineProfile, cal: Calibration,
    dp: int | None = None,
) -> _Replica:
    # Keyed by object identity: catalog rows are shared objects and a modified copy is a
    # new object; the entry keeps both alive, so their ids cannot be reused meanwhile.
    key = (id(model), id(gpu), tp, pp, ep, prec, kvp, engine.name, cal, dp)
    hit = _REPLICAS.get(key)
    if hit is not None:
        return hit[2]
    if len(_REPLICAS) >= 4096:
        _REPLICAS.clear()
    rep = _build_replica(model, gpu, tp, pp, ep, prec, kvp, engine, cal, dp)
    _REPLICAS[key] = (model, gpu, rep)
    return rep


def _build_replica(
    model: ModelSpec, gpu: GpuSpec, tp: int, pp: int, ep: int,
    prec: Precision, kvp: Precision, engine: EngineProfile, cal: Calibration,
    dp_: int | None = None,
) -> _Replica:
    # a MoE at FP4 keeps its attention, shared experts and head as released
    # (dense_weights_precision); on a GPU without that format's math they run weight-only at
    # BF16, as the 4-bit experts beside them do
    dprec = dense_weights_precision(model, prec)
    compute = (gemm_compute(gpu, dprec) if dprec is prec or gpu.supports(dprec)
               else Precision.BF16)
    # the FP4 efficiency is the block-scaled MMA's (math only): streaming 4-bit weights is
    # bytes, counted with their scales in ``stored_bytes_per_element``
    # and a GPU whose tuned systems sustain less than its FP4 datasheet rate carries that share
    # (GpuSpec.fp4_sustained_ratio, fitted on public MLPerf Offline results)
    fp4_rate = cal.fp4_gemm_efficiency * (gpu.fp4_sustained_ratio or 1.0)
    fp4 = fp4_rate if compute is Precision.FP4 else 1.0
    # the clock its power limit holds under dense tensor load (sustained_tensor_ratio)
    eff = sustained_compute_efficiency(gpu, cal)
    peak = gpu.dense_flops(compute) * eff * fp4  # UnsupportedPrecisionError
    attn_peak = gpu.dense_flops(ATTENTION_COMPUTE) * eff
    moe = model.moe
    e_compute = expert_compute(model, gpu, prec)
    expert_peak = (peak if e_compute is compute else gpu.dense_flops(e_compute)
                   * eff * (fp4_rate if e_compute is Precision.FP4 else 1.0))
    dp = 1
    if ep > 1:
        if moe is None:
            raise InputError("ep", ep, "1 for a dense model", "expert parallelism needs MoE")
        if ep > moe.experts:
            raise InputError("ep", ep, f"at most the {moe.experts} experts of {model.id}")
        if ep > tp and dp_ is None:
            if ep % tp:
                raise InputError("ep", ep, f"a multiple of tp={tp} when larger than tp")
            dp = ep // tp
    if dp_ is not None:
        dp = dp_
        if ep > tp * dp:
            raise InputError("ep", ep, f"at most tp x dp = {tp * dp} GPUs")
    gpus = tp * pp * dp
    wb = prec.stored_bytes_per_element  # scale factors of block formats included
    wd = dprec.stored_bytes_per_element  # the weights outside the routed experts
    h = model.hidden_size
    total = model.total_params
    embed = gathered_embedding_params(model)  # looked up, not streamed (0 when tied to the head)
    if moe is not None:
        routed = routed_params(model)  # gated or not, latent width (layers.py)
        log_miss = math.log1p(-moe.experts_per_token / moe.experts)
        expert_active = routed * moe.experts_per_token / moe.experts  # routed params per token
        k_over_e, ln_e = moe.experts_per_token / moe.experts, math.log(moe.experts)
    else:
        routed = log_miss = expert_active = k_over_e = ln_e = 0.0
    dense = total - routed
    weights_resident = dense * dp * wd + routed * wb
    # whole experts per GPU: the busiest holds ceil(E/ep) of them, and its memory and weight
    # streaming bound the replica (each attention rank's KV room is the busiest GPU's)
    held = busiest_expert_share(moe.experts, ep) if moe is not None else 1.0
    matmul_active = multiplied_active_params(model) - expert_active
    # a prompt multiplies the output head for its last token only (layers.output_head_params)
    head = min(output_head_params(model), matmul_active)

    # Attention by kind of layer (layers.attention_terms): KV heads split by tp (replicated
    # when tp > KV heads; MLA's latent and indexer keys on every rank), layers split by pp;
    # attention heads (the math) split by tp.
    per_gpu = 1.0 / (tp * pp)
    attn_terms: list[tuple[float, float, float, float, float]] = []
    cache_terms: list[tuple[float, float, float]] = []
    for t in attention_terms(model, kvp.bytes_per_element):
        shard = 1.0 if t.kv_heads == 0 else math.ceil(t.kv_heads / tp) / t.kv_heads
        if t.decode_flops or t.prefill_flops:
            attn_terms.append((t.cap, t.scale, t.layers * t.entry_bytes * shard / pp,
                               t.layers * t.decode_flops * per_gpu,
                               t.layers * t.prefill_flops * per_gpu))
        if t.cached:
            cache_terms.append((t.cap, t.scale, t.layers * t.entry_bytes * shard * tp))
    # recurrent layers: the state's heads split by tp, its layers by pp
    state_seq = recurrent_bytes_per_step(model)

    # Collectives per micro-batch pass of one stage.
    link, tp_domains = collective_link(gpu, tp)
    # one all-reduce per token-mixing block and per FFN block (2 per layer of a plain
    # transformer; Nemotron-H's blocks are one or the other); the MoE blocks' collectives
    # under expert parallelism are below
    blocks = mixer_blocks(model) + ffn_blocks(model)
    moe_blocks = moe.moe_layers if moe is not None else 0
    act = h * ACTIVATION_BYTES_PER_ELEMENT
    comm_fixed = comm_tok = peer_tok = 0.0
    if tp > 1:
        n_ar = (blocks - (moe_blocks if ep > 1 else 0)) / pp
        comm_fixed += n_ar * (ALLREDUCE_LATENCY_S + tree_network_latency_s(tp_domains))
        comm_tok += n_ar * 2.0 * (tp - 1) / tp * act / link / dp
        # beyond the bytes, a decode token costs each all-reduce a little per peer GPU
        # (Calibration.allreduce_peer_s: the engines' custom all-reduce kernels for small
        # messages). Prompt tokens travel in chunk-sized messages that take the bandwidth path
        # (charging them too, the other constants held, took dense TPOT from 12% to 16% off:
        # docs/method.md, "The decode step's all-reduce").
        # MoE under attention TP sums its experts with one more all-reduce over the same
        # GPUs; the all-gather/reduce-scatter of attention data parallelism is not one of these.
        n_peer = n_ar + (moe_blocks / pp if ep > 1 and dp == 1 else 0.0)
        peer_tok = n_peer * (tp - 1) * cal.allreduce_peer_s / dp
    a2a_fixed = a2a_tok = 0.0
    if ep > 1 and moe is not None:
        n = tp * dp  # the GPUs holding the experts (ep × moe_tp)
        ep_link, ep_domains = collective_link(gpu, n)
        if dp == 1:
            # attention tensor-parallel: every rank already holds every token; each computes
            # its own experts' share and the outputs are summed like a dense FFN's, one
            # all-reduce per MoE block (n_ar above left the MoE blocks out)
            n_c = moe_blocks / pp
            a2a_fixed = n_c * (ALLREDUCE_LATENCY_S + tree_network_latency_s(ep_domains))
            a2a_tok = n_c * 2.0 * (tp - 1) / tp * act / ep_link
        else:
            # attention data-parallel: every rank's tokens are all-gathered before the
            # experts and the outputs reduce-scattered after (vLLM's default
            # allgather_reducescatter all2all backend, SGLang's DP-attention gather/scatter,
            # TensorRT-LLM's allgather + reducescatter in its fused MoE): each GPU receives and
            # sends (dp − 1)/dp of all the pass's tokens, ring collectives over n GPUs
            n_c = 2.0 * moe_blocks / pp
            a2a_fixed = n_c * ring_latency_s(n, ep_domains)
            a2a_tok = n_c * (dp - 1) / dp * act / ep_link
        comm_fixed += a2a_fixed
        comm_tok += a2a_tok
    hop_link = collective_link(gpu, gpus)[0]
    hbm = gpu.memory_bandwidth_bytes_per_s * cal.bandwidth_efficiency  # achievable bytes/s
    moe_act_tok = routed_activation_bytes(model, e_compute, tp, dp, ep) / pp / hbm
    # per token of a pass: each attention rank's tokens, the layers of one stage
    ew_tok = elementwise_bytes(model, tp) / (pp * dp) / hbm

    memory = gpus * gpu.memory_bytes
    activations = activations_bytes(weights_resident)
    weights_held = weights_resident + routed * wb * (held - 1.0)  # as if every GPU held the busiest's
    if engine.of_free:
        kv_budget = engine.kv_fraction * (memory - weights_held - activations)
    else:
        kv_budget = engine.kv_fraction * memory - weights_held - activations
    large = gpu.memory_bytes >= 70 * GIB and not gpu.id.startswith("a100")

    return _Replica(
        gpus=gpus, tp=tp, pp=pp, dp=dp,
        weights_resident_bytes=weights_resident,
        kv_budget_bytes=max(kv_budget, 0.0),
        # each attention data-parallel rank schedules its own sequences
        max_seqs=(engine.max_seqs_large if large else engine.max_seqs_small) * dp,
        token_budget=engine.token_budget_large if large else engine.token_budget_small,
        bw=hbm,
        gemm_bw=hbm,
        peak=peak,
        expert_peak=expert_peak,
        attn_peak=attn_peak,
        dense_read_bytes=(dense - embed) * wd / (tp * pp),
        routed_bytes=routed * wb * held / gpus,
        log_miss=log_miss,
        flops_per_token=2.0 * matmul_active / gpus,
        prompt_gemm_share=(matmul_active - head) / matmul_active if matmul_active > 0.0 else 1.0,
        expert_flops_per_token=2.0 * expert_active / gpus,
        expert_bw=hbm * (gpu.grouped_bandwidth_ratio or GROUPED_BANDWIDTH_RATIO),
        k_over_e=k_over_e, ln_e=ln_e,
        attn_terms=tuple(attn_terms),
        cache_terms=tuple(cache_terms),
        state_read=state_seq * per_gpu,
        state_flops=recurrent_flops_per_token(model) * per_gpu,
        state_repl=state_seq / 2.0,
        comm_fixed_s=comm_fixed,
        a2a_fixed_s=a2a_fixed,
        a2a_per_token_s=a2a_tok,
        comm_per_token_s=comm_tok,
        peer_per_token_s=peer_tok,
        moe_act_per_token_s=moe_act_tok,
        elementwise_per_token_s=ew_tok,
        hop_fixed_s=STAGE_HOP_LATENCY_S if pp > 1 else 0.0,
        hop_per_token_s=act / hop_link if pp > 1 else 0.0,
        # per layer of a plain transformer = per two blocks (Nemotron-H's 88 "layers" are
        # 88 blocks, 44 layer-equivalents)
        layer_s=cal.engine_value(engine.name, "layer_overhead_s") * blocks / 2.0 / pp
        + (cal.moe_layer_overhead_s * moe.moe_layers / pp if moe is not None else 0.0),
        request_s=cal.engine_value(engine.name, "request_overhead_s"),
        in_step_share=cal.in_step(engine.prefill_first),
        queue_scale=cal.queue_service_scale,
        prefill_scale=(cal.compute_efficiency / cal.prefill_compute_efficiency
                       if cal.prefill_compute_efficiency > 0.0 else 1.0),
        step_s=cal.engine_value(engine.name, "step_overhead_s"),
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
    dp: Any = None,
) -> tuple[ModelSpec, GpuSpec, Precision, Precision, EngineProfile, _Replica]:
    m = _as_model(model)
    g = _as_gpu(gpu)
    tp_, pp_, ep_ = _whole("tp", tp), _whole("pp", pp), _whole("ep", ep)
    if pp_ > m.layers:
        raise InputError("pp", pp_, f"at most the {m.layers} layers of {m.id}")
    if (why := tensor_parallel_refusal(m, tp_)) is not None:
        ok = ", ".join(str(t) for t in (1, 2, 4, 8) if tensor_parallel_refusal(m, t) is None)
        raise InputError("tp", tp_, f"a size that splits {m.id}'s heads evenly ({ok} in a node)", why)
    prec = _as_precision(precision)
    kvp = (default_kv_precision(prec) if kv_precision is None
           else _as_precision(kv_precision, "kv_precision"))
    eng = engine_profile(engine)
    dp_ = None if dp is None else _whole("dp", dp)
    rep = _replica(m, g, tp_, pp_, ep_, prec, kvp, eng, cal or packaged_calibration(), dp_)
    return m, g, prec, kvp, eng, rep


# --- one workload on one replica: the step-time function -----------------------------------


class _Step(NamedTuple):
    """Everything the step time of one workload on one replica needs (seconds, tokens)."""

    alpha_e: float  # routed-expert GEMM math seconds per token of a pass, balanced (MoE)
    expert_bw: float  # bytes/s streaming expert weights (grouped kernels)
    k_over_e: float
    ln_e: float
    pp: float
    w_s2: float  # (seconds to stream w0)², used when no experts are routed
    k_lin: float  # k_dec + k_static + the static prompts' traffic ((comm + act + ew) x r_static)
    w0: float  # bytes a pass always streams
    routed: float  # routed expert bytes on this GPU
    log_miss: float
    gemm_bw: float
    alpha: float  # GEMM math seconds per token of a pass
    d_mb: float  # decode tokens per pass per unit of B
    r_mb: float  # prompt tokens per pass per unit of (B − 1)
    chunk: float  # prompt tokens one pass carries when it carries one
    kp: float  # dense GEMM math of a prompt token over a decode token's (prompt_gemm_factor)
    k_dec: float  # seconds per unit of B (attention, collectives, hand-offs of decode tokens)
    k_pre: float  # seconds per unit of (B − 1) (the same for prompt tokens)
    k_static: float  # seconds per unit of B for prompts run in passes of their own: their math
    r_static: float  # prompt tokens per sequence per step run in passes of their own (0 when mixed)
    fixed: float  # seconds per step independent of B
    a: float  # output tokens per sequence per step
    attn_s: float  # decode attention seconds per unit of B (all passes)
    attn_mem: bool  # decode attention limited by its KV reads
    attn_flops: float  # decode attention FLOPs per sequence per pass
    pre_attn_s: float  # prompt attention seconds per unit of (B − 1)
    tok_comm_s: float  # collective and hand-off seconds per token of a pass (all passes)
    tok_act_s: float  # MoE routed-token activation traffic, seconds per token of a pass (all passes)
    tok_ew_s: float  # element-wise kernels' traffic, seconds per token of a pass (all passes)
    peer_s: float  # per-peer all-reduce time per sequence per decode step (decode tokens only)
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


def tuned_replica(rep: _Replica, tun: Tuning) -> _Replica:
    """The replica with the tuning's own token budget, where it sets one."""
    if tun.token_budget is None or tun.token_budget == rep.token_budget:
        return rep
    if tun.token_budget < 1:
        raise InputError("token_budget", tun.token_budget, ">= 1 or None")
    return replace(rep, token_budget=int(tun.token_budget))


def decode_context(isl: float, osl: float, output_cv: float = 0.0) -> float:
    """Mean context, tokens, a decoded token attends to: isl + E[L²] / (2 E[L]) = isl +
    (1 + CV²) × osl / 2 for outputs L of mean ``osl`` and coefficient of variation ``output_cv``.

    A request of L output tokens decodes at contexts isl + 1 … isl + L, L²/2 past its prompt in
    all, so the tokens of all requests average E[L²] / (2 E[L]) past the prompt: a long answer
    carries more tokens and each at a longer context (renewal reward; equally, the sequences in
    flight at an instant are the long ones more often, in proportion to their length). Exact
    for any length law of that CV and independent of the prompts; at equal lengths (CV 0)
    isl + osl / 2. DeepSeek-R1's MLPerf answers (CV 1.25) attend to 2.1x the context the mean
    answer would have them attend to (804 + 4,805 tokens against 804 + 1,875, at its measured 3,750-token mean)."""
    return isl + (1.0 + output_cv * output_cv) * osl / 2.0


def _workload(
    rep: _Replica, isl: float, osl: float, prefill_tokens: float | None, tuning: Tuning,
    output_cv: float = 0.0,
) -> _Step:
    d = tuning.decode_tokens_per_step
    a = tuning.accepted_tokens_per_step
    prompt = isl if prefill_tokens is None else min(max(prefill_tokens, 0.0), isl)
    # a windowed layer's entries cap this mean (``min(ctx, cap)`` below), at or above the mean
    # of the capped contexts (min is concave): with spread outputs a bound from above
    ctx = decode_context(isl, osl, output_cv)
    s0 = isl - prompt
    kv_read = rep.state_read
    attn = rep.state_flops * d
    prompt_attn = rep.state_flops * prompt
    for cap, scale, read, dec, pre in rep.attn_terms:
        entries = scale * (ctx if ctx < cap else cap)
        kv_read += read * entries
        attn += dec * entries * d
        prompt_attn += pre * scale * _window_integral(s0, isl, cap)
    reserved = isl + osl if tuning.kv_reserved_tokens is None else tuning.kv_reserved_tokens
    kv_reserved = rep.state_repl
    for cap, scale, per in rep.cache_terms:
        kv_reserved += per * scale * (reserved if reserved < cap else cap)

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
    prompt_attn_s = pp * seqs * prompt_attn * a / osl / rep.attn_peak  # per sequence per step
    pre_attn_s = prompt_attn_s if mixed else 0.0
    act = rep.moe_act_per_token_s
    ew = rep.elementwise_per_token_s
    peer = rep.peer_per_token_s * d
    k_dec = attn_s + (tok_s + act + ew) * d + peer
    k_pre = pre_attn_s + (tok_s + act + ew) * r if mixed else 0.0
    kp = prompt_gemm_factor(rep, prompt)
    # Continuous batching off: a static batch runs its prompts in passes of their own, charged per
    # decode step as its B prompts spread over the steps they precede. Each prompt token costs what
    # it costs in a mixed step: the dense GEMM math (at kp), a MoE's routed experts (balanced: a
    # prefill pass routes thousands of tokens), the prompt's attention, and its share of the
    # collectives, routed activations and element-wise kernels. Only the dense GEMM math was
    # charged, so a long prompt's static batch came out faster than a continuous one and the
    # waterfall showed continuous batching adding GPUs (minimax-m2.5 INT8 on GB300, 12,418-token
    # prompts: 3,080 static against 3,192 continuous Baseline GPUs).
    r_static = 0.0 if mixed else r
    k_static = 0.0
    if not mixed:
        k_static = rep.flops_per_token * kp * r / (rep.peak * tuning.gemm_rate_scale) + prompt_attn_s
        if rep.routed_bytes:
            k_static += rep.expert_flops_per_token * r / (rep.expert_peak * GROUPED_COMPUTE_RATIO
                                                          * tuning.gemm_rate_scale)
    k_static_io = (tok_s + act + ew) * r_static
    fixed = (pp * (rep.comm_fixed_s + rep.layer_s) + rep.step_s
             + (pp - 1) * rep.hop_fixed_s + tuning.extra_step_s)
    w0 = rep.dense_read_bytes + tuning.extra_read_bytes_per_step
    alpha = rep.flops_per_token / (rep.peak * tuning.gemm_rate_scale)
    d_mb, r_mb = d / pp, (r / pp if mixed else 0.0)
    # Bounds on the step time, each "p·sqrt(w² + α²x²) + k·B + c" with x = u·B + v (x in
    # decode-token equivalents of GEMM math, a prompt token weighing kp): prompt math added in
    # full (above the true step) and prompt tokens spread over every pass (below it, g being
    # convex).
    k_sum = k_dec + k_pre + k_static + k_static_io
    k_add, c_add = k_sum + pp * alpha * kp * r_mb, fixed - k_pre - pp * alpha * kp * r_mb
    u_sp, v_sp, c_sp = d_mb + kp * r_mb, -kp * r_mb, fixed - k_pre
    return _Step(
        alpha_e=rep.expert_flops_per_token
        / (rep.expert_peak * GROUPED_COMPUTE_RATIO * tuning.gemm_rate_scale),
        expert_bw=rep.expert_bw, k_over_e=rep.k_over_e, ln_e=rep.ln_e,
        pp=float(pp), w_s2=(w0 / rep.gemm_bw) ** 2, k_lin=k_dec + k_static + k_static_io,
        w0=w0,
        routed=rep.routed_bytes, log_miss=rep.log_miss, gemm_bw=rep.gemm_bw,
        alpha=alpha, d_mb=d_mb, r_mb=r_mb,
        chunk=min(prompt, float(rep.token_budget)), kp=kp,
        k_dec=k_dec, k_pre=k_pre, k_static=k_static, r_static=r_static, fixed=fixed, a=a,
        attn_s=attn_s, attn_mem=attn_kv >= attn_math, attn_flops=attn,
        pre_attn_s=pre_attn_s, tok_comm_s=tok_s, tok_act_s=act, tok_ew_s=ew, peer_s=peer,
        kv_read=kv_read, kv_reserved=kv_reserved, prompt=prompt, prompt_attn=prompt_attn,
        seqs=seqs,
        u_add=d_mb, ku_add=k_add / d_mb, base_add=-c_add,
        u_sp=u_sp, v_sp=v_sp, ku_sp=k_sum / u_sp, base_sp=-c_sp + k_sum * v_sp / u_sp,
    )


def prompt_gemm_factor(rep: _Replica, prompt_tokens: float) -> float:
    """Dense GEMM math of one prompt token relative to a decode token's (≤ 1): a prompt
    multiplies every weight but the output head for each of its tokens, and the head once, for
    its last token, whose logits sample the first output token (``layers.output_head_params``).
    Charging the head on every prompt token over-counted a prompt token's GEMM math by the head's
    share of it: 1.5% for Llama-3.1-70B, 7.0% for Llama-3.1-8B, 11% for gpt-oss-120b, 26% for
    Qwen3-0.6B."""
    s = rep.prompt_gemm_share
    return s + (1.0 - s) / prompt_tokens if prompt_tokens > 1.0 else 1.0


def _gemm_prefill(st: _Step, tokens: float, scale: float) -> float:
    """One prefill pass over ``tokens`` prompt tokens: smooth roofline of streaming and math,
    for the dense weights (their math at ``kp`` of a decode token's: no output head but the
    last token's) and, MoE, separately for the routed experts' grouped kernels; the math at
    the prefill efficiency (``scale`` = decode efficiency / prefill efficiency)."""
    w = st.w0 / st.gemm_bw
    c = st.alpha * st.kp * tokens * scale
    g = math.sqrt(w * w + c * c)
    if st.routed:
        we, ce = _expert_terms(st, tokens)
        ce *= scale
        g += math.sqrt(we * we + ce * ce)
    return g


def _gemm_moe(st: _Step, td: float, tp: float) -> float:
    """One pass of a MoE model over ``td`` decode and ``tp`` prompt tokens (the hot loop of
    the MoE capacity solve, inlined): the dense weights' roofline, a prompt token's math at
    ``kp`` of a decode token's, beside the routed experts' (every token routed alike)."""
    c = st.alpha * (td + st.kp * tp)
    tokens = td + tp
    m = tokens * st.k_over_e
    we = st.routed * (1.0 - math.exp(st.log_miss * tokens)) / st.expert_bw
    ce = st.alpha_e * tokens * (1.0 + math.sqrt(2.0 * st.ln_e / m)) if m > 0.0 else 0.0
    return math.sqrt(st.w_s2 + c * c) + math.sqrt(we * we + ce * ce)


def _expert_terms(st: _Step, tokens: float) -> tuple[float, float]:
    """(streaming s, math s) of the routed-expert grouped GEMMs of one pass over ``tokens``
    tokens: the experts touched stream at the grouped kernels' rate; the math is paced by the
    busiest expert (``moe.imbalance``)."""
    we = st.routed * touched_fraction(tokens, st.log_miss) / st.expert_bw
    ce = st.alpha_e * tokens * imbalance(tokens, st.k_over_e, st.ln_e) if tokens > 0.0 else 0.0
    return we, ce


def _step_s(st: _Step, b: float) -> float:
    """Seconds per decode step with b sequences (their share of others' prompts included)."""
    td = b * st.d_mb
    others = b - 1.0 if b > 1.0 else 0.0
    tp_ = others * st.r_mb
    if st.routed:
        if tp_ <= 0.0:
            gemm = _gemm_moe(st, td, 0.0)
        elif tp_ >= st.chunk:
            gemm = _gemm_moe(st, td, tp_)
        else:
            f = tp_ / st.chunk
            gemm = (1.0 - f) * _gemm_moe(st, td, 0.0) + f * _gemm_moe(st, td, st.chunk)
    else:  # the same, inlined: this is the hot loop of slo_capacity
        w2, al = st.w_s2, st.alpha
        if tp_ <= 0.0:
            c = al * td
            gemm = math.sqrt(w2 + c * c)
        elif tp_ >= st.chunk:
            c = al * (td + st.kp * tp_)
            gemm = math.sqrt(w2 + c * c)
        else:
            f = tp_ / st.chunk
            c1, c2 = al * td, al * (td + st.kp * st.chunk)
            gemm = (1.0 - f) * math.sqrt(w2 + c1 * c1) + f * math.sqrt(w2 + c2 * c2)
    return st.pp * gemm + st.k_lin * b + st.k_pre * others + st.fixed


def decode_step_s(st: _Step, b: float) -> float:
    """Seconds of a step of b sequences' decodes alone, no prompt tokens in it: ``_step_s``
    without the other sequences' prompts (the same sum at b ≤ 1, up to rounding), never above it."""
    td = b * st.d_mb
    if st.routed:
        gemm = _gemm_moe(st, td, 0.0)
    else:
        c = st.alpha * td
        gemm = math.sqrt(st.w_s2 + c * c)
    return st.pp * gemm + (st.k_lin * b + st.fixed)


def step_lines(st: _Step) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two lines under ``_step_s`` at b ≥ 1 sequences, as (seconds at b = 0, seconds per
    sequence): the dense weights' streaming alone, and the GEMM math alone (decode tokens, the
    other sequences' prompt tokens at ``kp``, and a MoE's routed experts balanced), each with
    the step's linear terms. The soft roofline sqrt(w² + c²) is at least each of w and c, and a
    step that carries a prompt chunk in a share of passes is at least that share of the
    chunk's math (the GEMM math is linear in the tokens)."""
    pp, r = st.pp, st.r_mb
    slope = st.k_lin + st.k_pre
    base = st.fixed - st.k_pre  # the others' prompts: b − 1 sequences' worth
    math_slope = st.alpha * (st.d_mb + st.kp * r)
    math_base = -st.alpha * st.kp * r
    if st.routed:
        math_slope += st.alpha_e * (st.d_mb + r)
        math_base -= st.alpha_e * r
    return ((pp * math.sqrt(st.w_s2) + base, slope),
            (pp * math_base + base, pp * math_slope + slope))


def step_parts(st: _Step, b: float) -> tuple[float, float, float]:
    """(decode-only step s, step carrying a prompt chunk s, share of steps carrying one) at
    b sequences: the two kinds of step ``_step_s`` averages, (1 − f)·s_d + f·s_c = _step_s.
    Every step carries prompt tokens once they fill a chunk per step (f = 1, s_d = s_c)."""
    td = b * st.d_mb
    others = b - 1.0 if b > 1.0 else 0.0
    tp_ = others * st.r_mb
    if tp_ <= 0.0:
        s = decode_step_s(st, b)
        return s, s, 0.0
    lin = st.k_lin * b + st.fixed
    if st.routed:
        def g(t: float, p: float) -> float:
            return _gemm_moe(st, t, p)
    else:
        def g(t: float, p: float) -> float:
            c = st.alpha * (t + st.kp * p)
            return math.sqrt(st.w_s2 + c * c)
    if tp_ >= st.chunk:
        s = st.pp * g(td, tp_) + lin + st.k_pre * others
        return s, s, 1.0
    f = tp_ / st.chunk
    return decode_step_s(st, b), st.pp * g(td, st.chunk) + lin + st.k_pre * others / f, f


def _prefill_s(rep: _Replica, st: _Step) -> float:
    """Seconds one prompt takes on an idle replica (chunked by the engine's token budget)."""
    tokens = st.prompt
    if tokens <= 0.0:
        return 0.0
    chunks = math.ceil(tokens / rep.token_budget)
    per = tokens / chunks * rep.dp  # one request runs on one attention group
    k = rep.prefill_scale
    gemm = chunks * _gemm_prefill(st, per, k)
    stage = (gemm + st.prompt_attn * k / rep.attn_peak
             + chunks * rep.comm_fixed_s
             + (rep.comm_per_token_s + rep.moe_act_per_token_s + rep.elementwise_per_token_s) * tokens * rep.dp
             + chunks * rep.layer_s)
    hops = (rep.pp - 1) * (rep.hop_fixed_s + rep.hop_per_token_s * tokens)
    return rep.pp * stage + hops + rep.step_s


def prefill_floor_s(rep: _Replica, isl: float, prompt_tokens: float, tuning: Tuning) -> float:
    """A lower bound, s, on ``_prefill_s`` for a prompt of ``prompt_tokens`` computed tokens
    (of ``isl``, the rest cached) on ``rep`` (already ``tuned_replica``): the same sum with the
    routed experts' grouped GEMMs at their math alone, joined to the dense GEMMs' (the
    experts' weight streaming dropped, and the busiest expert's load at least the mean's,
    imbalance ≥ 1; sqrt(w² + a²) + b ≥ sqrt(w² + (a + b)²)), every other term as
    ``_prefill_s`` has it. From the replica's
    constants alone, without ``_workload``: the sizing's search bounds a configuration by it
    first."""
    tokens = prompt_tokens
    if tokens <= 0.0:
        return 0.0
    chunks = math.ceil(tokens / rep.token_budget)
    k = rep.prefill_scale
    scale = tuning.gemm_rate_scale
    math_s = rep.flops_per_token * prompt_gemm_factor(rep, tokens) / (rep.peak * scale)
    if rep.routed_bytes:
        math_s += rep.expert_flops_per_token / (rep.expert_peak * GROUPED_COMPUTE_RATIO * scale)
    attn = rep.state_flops * tokens  # the prompt's attention, as _workload counts it
    for cap, entries, _read, _dec, pre in rep.attn_terms:
        attn += pre * entries * _window_integral(isl - tokens, isl, cap)
    # per chunk the dense weights stream under the math (sqrt(w² + c²), as _gemm_prefill)
    w = (rep.dense_read_bytes + tuning.extra_read_bytes_per_step) / rep.gemm_bw
    c = math_s * tokens * rep.dp * k / chunks
    stage = (chunks * math.sqrt(w * w + c * c) + attn * k / rep.attn_peak
             + chunks * (rep.comm_fixed_s + rep.layer_s)
             + (rep.comm_per_token_s + rep.moe_act_per_token_s + rep.elementwise_per_token_s) * tokens * rep.dp)
    hops = (rep.pp - 1) * (rep.hop_fixed_s + rep.hop_per_token_s * tokens)
    return rep.pp * stage + hops + rep.step_s


def step_floor_s(rep: _Replica, tuning: Tuning) -> float:
    """A lower bound, s, on any decode step of ``rep`` (``_step_s`` at batch ≥ 1): streaming
    the non-expert weights once per stage and the fixed per-step overheads (``_workload``'s
    ``fixed``), every other term being ≥ 0."""
    pp = rep.pp
    w0 = rep.dense_read_bytes + tuning.extra_read_bytes_per_step
    return (pp * w0 / rep.gemm_bw + pp * (rep.comm_fixed_s + rep.layer_s) + rep.step_s
            + (pp - 1) * rep.hop_fixed_s + tuning.extra_step_s)


def _batched_prefill_s(rep: _Replica, st: _Step, prompts_per_pass: int | None = None) -> float:
    """Seconds one prompt adds when prompts run back to back, packed into passes of the
    engine's token budget (requests queued for prefill): the GEMMs at the full
    budget's efficiency, the prompt's own attention, collectives per token, the per-pass
    overheads shared by the prompts of a pass. ``prompts_per_pass``: the most prompts one
    pass holds per attention rank (an engine's max batch size; a disaggregated prefill worker
    often runs one), None = as many as the token budget holds."""
    tokens = st.prompt
    if tokens <= 0.0:
        return 0.0
    per_pass = float(rep.token_budget) * rep.dp
    if prompts_per_pass is not None:
        per_pass = min(per_pass, int(prompts_per_pass) * tokens * rep.dp)
    share = tokens * rep.dp / per_pass  # passes' worth of this prompt
    # (the decode work sharing those steps is added by the caller, which knows the batch)
    k = rep.prefill_scale
    stage = (share * _gemm_prefill(st, per_pass, k) + st.prompt_attn * k / rep.attn_peak
             + share * (rep.comm_fixed_s + rep.layer_s)
             + (rep.comm_per_token_s + rep.moe_act_per_token_s + rep.elementwise_per_token_s) * tokens * rep.dp)
    return rep.pp * stage + share * rep.step_s


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
    expert_gemm_s: float = 0.0
    """MoE: routed-expert grouped GEMMs (streaming and math, imbalance included), s; part of
    memory_s/compute_s."""
    imbalance_s: float = 0.0
    """MoE: the part of expert_gemm_s due to the busiest expert pacing the kernel, s."""
    all_to_all_s: float = 0.0
    """MoE: expert-parallel dispatch and combine, s; part of comm_s."""

    def shares(self) -> dict[str, float]:
        """Fractions of the step: expert GEMMs, imbalance, all-to-all (MoE; zeros if dense)."""
        t = self.step_s if self.step_s > 0 else 1.0
        return {"expert_gemm": self.expert_gemm_s / t, "imbalance": self.imbalance_s / t,
                "all_to_all": self.all_to_all_s / t}



def _passes(st: _Step, b: float) -> tuple[tuple[float, float, float], ...]:
    """(share of passes, decode tokens, prompt tokens) of the passes of one step at batch b."""
    td = b * st.d_mb
    others = b - 1.0 if b > 1.0 else 0.0
    tp_ = others * st.r_mb
    if tp_ <= 0.0:
        return ((1.0, td, 0.0),)
    if tp_ >= st.chunk:
        return ((1.0, td, tp_),)
    f = tp_ / st.chunk
    return ((1.0 - f, td, 0.0), (f, td, st.chunk))


def _split(rep: _Replica, st: _Step, b: float) -> tuple[float, ...]:
    """(memory_s, compute_s, comm_s, overhead_s, weights_bytes, flops, expert_s, imbalance_s,
    all_to_all_s) of one step; the last three are 0 for a dense model."""
    pp = st.pp
    others = b - 1.0 if b > 1.0 else 0.0
    memory = compute = weights = flops = expert = imb = 0.0
    tokens_all = 0.0
    for share, td, tp in _passes(st, b):
        tokens = td + tp
        dense = td + st.kp * tp  # decode-token equivalents of dense GEMM math
        tokens_all += share * tokens
        parts = [(st.w0 / st.gemm_bw, st.alpha * dense)]
        if st.routed:
            we, ce = _expert_terms(st, tokens)
            parts.append((we, ce))
            ge = math.sqrt(we * we + ce * ce)
            expert += pp * share * ge
            ce_bal = st.alpha_e * tokens
            imb += pp * share * (ge - math.sqrt(we * we + ce_bal * ce_bal))
            weights += pp * share * st.routed * touched_fraction(tokens, st.log_miss)
            flops += pp * share * st.alpha_e * tokens * rep.expert_peak * GROUPED_COMPUTE_RATIO
        for t_mem, t_math in parts:
            t = pp * share * math.sqrt(t_mem * t_mem + t_math * t_math)
            if t_mem >= t_math:
                memory += t
            else:
                compute += t
        weights += pp * share * st.w0
        flops += pp * share * rep.flops_per_token * dense
    # routed tokens' activation traffic (HBM, expert layer); a static batch's prompt tokens, run in
    # passes of their own, move theirs too (r_static per sequence per step)
    tok = pp * tokens_all + st.r_static * b
    act = st.tok_act_s * tok
    memory += act + st.tok_ew_s * tok
    expert += act
    attn = st.attn_s * b
    if st.attn_mem:
        memory += attn
    else:
        compute += attn
    compute += st.pre_attn_s * others + st.k_static * b
    flops += pp * b * st.seqs * st.attn_flops + st.pre_attn_s * others * rep.attn_peak
    comm = (pp * rep.comm_fixed_s + (pp - 1) * rep.hop_fixed_s
            + st.tok_comm_s * tok + st.peer_s * b)
    a2a = pp * (rep.a2a_fixed_s + rep.a2a_per_token_s * tokens_all) + rep.a2a_per_token_s * st.r_static * b
    overhead = st.fixed - pp * rep.comm_fixed_s - (pp - 1) * rep.hop_fixed_s
    return memory, compute, comm, overhead, weights, flops, expert, imb, a2a


def _binding(rep: _Replica, st: _Step, b: float) -> str:
    """The resource whose time dominates a step at batch b (``_split``'s first three terms,
    without its bookkeeping: this runs once per capacity solve)."""
    memory = compute = tokens_all = 0.0
    w = st.w0 / st.gemm_bw
    for share, td, tp in _passes(st, b):
        tokens = td + tp
        tokens_all += share * tokens
        c = st.alpha * (td + st.kp * tp)
        t = share * math.sqrt(w * w + c * c)
        if w >= c:
            memory += t
        else:
            compute += t
        if st.routed:
            we, ce = _expert_terms(st, tokens)
            t = share * math.sqrt(we * we + ce * ce)
            if we >= ce:
                memory += t
            else:
                compute += t
    memory *= st.pp
    compute *= st.pp
    tok = st.pp * tokens_all + st.r_static * b  # a static batch's prompt tokens move theirs too
    memory += (st.tok_act_s + st.tok_ew_s) * tok
    if st.attn_mem:
        memory += st.attn_s * b
    else:
        compute += st.attn_s * b
    compute += st.pre_attn_s * (b - 1.0 if b > 1.0 else 0.0) + st.k_static * b
    comm = (st.pp * rep.comm_fixed_s + (st.pp - 1.0) * rep.hop_fixed_s
            + st.tok_comm_s * tok + st.peer_s * b)
    if memory >= compute:
        return "memory bandwidth" if memory >= comm else "interconnect"
    return "compute" if compute >= comm else "interconnect"


def _breakdown(rep: _Replica, st: _Step, b: float) -> StepBreakdown:
    memory, compute, comm, overhead, weights, flops, expert, imb, a2a = _split(rep, st, b)
    return StepBreakdown(
        weights_bytes=weights, kv_bytes=st.pp * b * st.seqs * st.kv_read, flops=flops,
        memory_s=memory, compute_s=compute, comm_s=comm, overhead_s=overhead,
        step_s=_step_s(st, b), expert_gemm_s=expert, imbalance_s=imb, all_to_all_s=a2a,
    )
