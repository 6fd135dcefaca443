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
        t_math = 2 × N_matmul × T / G / (peak × η_c)       at the weights' compute precision;
                 a prompt token counts k_p = s + (1 − s)/prompt of a decode token's math
                 (s = share of N_matmul outside the output head: a prompt multiplies the
                 head for its last token only, whose logits sample the first output token)
    decode tokens      T_d = B × d / pp                    (d = 1, or 1 + drafts verified)
    prefill tokens     T_p = (B − 1) × r / pp,  r = prompt × a / output_tokens: continuous
                       batching mixes the prompts of the requests that replace finishing ones
                       into the steps of the others. The engine runs a prompt in chunks of
                       S_c = min(prompt, token budget), so only a fraction f = T_p / S_c of
                       the passes carries one (f ≤ 1):
    GEMMs              = (1 − f) × g(T_d) + f × g(T_d + S_c)        (g(T_d + T_p) if f = 1)
    element-wise       = (T_d + T_p) × bytes / (BW × η_bw): each block's residual add and
                         norm (2h in, 2h out, on every tensor-parallel rank), each FFN's
                         activation (2I in, I out, split by tp), BF16 (``layers.elementwise_bytes``)
    attention          = B/(pp·dp) × max(KV bytes(ctx) / (BW × η_bw), decode FLOPs / (peak16 × η_c))
                         + prefill attention FLOPs share (causal: 4·L·d_attn·S²/2 per prompt)
    all-reduce         = one per mixer and per FFN block (2 per layer of a plain transformer)
                         when tp > 1: latency + 2(tp−1)/tp × T × h × 2 B / link BW; the link
                         is NVLink inside the scale-up domain (a node, an NVL72 rack), else
                         the network, whose tree adds 2·ceil(log2 domains) × 5 µs (NCCL)
    step               = pp × (GEMMs + L/pp × layer overhead) + attention + element-wise
                         + collectives
                         + step overhead + (pp − 1) × stage hand-off
    TPOT = step / a;   a request holds its slot for prefill + output_tokens × TPOT, so
    output tok/s = B × output_tokens / (prefill + output_tokens × TPOT)   (Little's law)

KV read per sequence: its cache at the mean context a decoded token attends to, prompt +
(1 + CV²) × output/2 for answers whose lengths spread with coefficient of variation CV
(``step.decode_context``; prompt + output/2 at equal lengths), by kind of layer
(``layers.py``): attention layers only (hybrids' recurrent layers read and write their fixed
state instead), window layers capped at their window with their own heads, compressed layers
at 1/ratio, sparse layers at their top-k plus the indexer keys. Prefill of one prompt (TTFT
without queueing): the same pass on its S tokens alone, compute-bound for any real prompt.

Max batch = KV budget / KV reserved per request (prompt + output tokens, as the course sizes
it and TensorRT-LLM's no-evict scheduler reserves it), capped by the engine's sequence
limit; KV budget = the engine's share of device memory − weights − activations.

Capacity under a TPOT target (``slo_capacity``): the step time grows with B; two closed-form
bounds (prompt tokens spread over every pass: step too short; prompt math fully added: too
long) bracket the largest B meeting the target, one regula-falsi step (three for MoE, in
log B) and a check of the neighbouring whole batches pin it exactly.

MoE (``moe.py``): the routed experts a pass touches are a roofline of their own, streamed and
multiplied at the grouped kernels' measured share of the dense rates, the math paced by the
busiest expert (I(T) = 1 + sqrt(2 ln E / m)); experts gated (3 matrices) or not (2), in the
latent width where the model has one. Expert parallelism under attention TP sums the experts'
outputs with one all-reduce per MoE layer; under attention data parallelism every rank's
tokens are all-gathered before the experts and reduce-scattered after (ring collectives).
4-bit weights on GPUs without FP4 math run weight-only (BF16 math); the bytes
streamed include block scales.

TTFT (``queueing.py``): under Poisson arrivals an M/D/1 queue per attention rank in front of
prefill, then the prompt's chunks sharing steps with decodes; at a fixed concurrency (closed
loop) exact mean value analysis of clients that decode then queue for batched prefill, and,
for a benchmark whose clients start together (``Tuning.benchmark_rounds``), the rounds whose
prompts queue at once (one in R, or the share a prefill-first engine keeps in step). The capacity solver
(``solver.py``) returns the largest batch meeting both the TPOT and the TTFT target.
Disaggregated pools: ``disagg.py``.

Fitted constants (η_bw, η_c in decode and prefill, layer and MoE-layer overheads, FP4 GEMM
efficiency; per engine: layer and step overheads, first-token overhead) live in
``catalog/data/calibration.yaml`` with their provenance; ``scripts/calibrate.py`` fits them on
the public rows of ``validation/calibration.csv`` and ``validation/serving.csv`` and judges them
by leave-one-model-out cross-validation. Sourced constants are in the modules, each with its
source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine.calibration import Calibration, confidence_band, packaged_calibration
from xlsizer.engine.engines import ENGINE_ALIASES as ENGINE_ALIASES
from xlsizer.engine.engines import ENGINES, EngineProfile, engine_profile
from xlsizer.engine.latency import LENGTH_CV_MAX, Arrivals, ttft_at_load
from xlsizer.engine.layers import GATED_FFN_MATRICES as GATED_FFN_MATRICES
from xlsizer.engine.queueing import burst_weight, ttft_closed_loop, ttft_poisson
from xlsizer.engine.solver import _FAST_REPLICAS as _FAST_REPLICAS  # re-exported (tests, benchmarks)
from xlsizer.engine.solver import _FAST_WORK as _FAST_WORK
from xlsizer.engine.solver import _SOLVES as _SOLVES
from xlsizer.engine.solver import (
    ReplicaCapacity,
    rep_chunks,
    slo_capacity,
)
from xlsizer.engine.solver import _batch_for as _batch_for
from xlsizer.engine.solver import _configured as _configured
from xlsizer.engine.solver import _settle as _settle
from xlsizer.engine.step import ACTIVATION_BYTES_PER_ELEMENT as ACTIVATION_BYTES_PER_ELEMENT
from xlsizer.engine.step import ALLREDUCE_LATENCY_S as ALLREDUCE_LATENCY_S
from xlsizer.engine.step import ATTENTION_COMPUTE as ATTENTION_COMPUTE
from xlsizer.engine.step import (
    DEFAULT_TUNING,
    MEMORY_CAPACITY_GAIN,
    StepBreakdown,
    Tuning,
    _batched_prefill_s,
    _binding,
    _breakdown,
    _kv_batch,
    _positive,
    _prefill_s,
    _setup,
    _step_s,
    _workload,
    default_kv_precision,
    tuned_replica,
)
from xlsizer.engine.step import INTER_NODE_BYTES_PER_S as INTER_NODE_BYTES_PER_S
from xlsizer.engine.step import ROOFLINE_NORM as ROOFLINE_NORM
from xlsizer.engine.step import STAGE_HOP_LATENCY_S as STAGE_HOP_LATENCY_S
from xlsizer.errors import (
    InfeasibleError,
    InputError,
)
from xlsizer.precision import Precision
from xlsizer.units import GB, figure


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
    prefill_chunks: float = 1.0
    """Engine steps one prompt runs in (⌈prompt / token budget⌉)."""
    batched_prefill_s: float = 0.0
    """Seconds one prompt adds when queued prompts run back to back (``queueing``)."""
    ranks: int = 1
    """Attention data-parallel ranks of the replica."""



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
    dp: int | None = None,
    prefill_batch: int | None = None,
    output_cv: float = 0.0,
) -> PerfEstimate:
    """Performance of one replica (tp × pp GPUs; × ep/tp for MoE attention data parallel).

    Load, one of: nothing (all requests queued at once: the maximum-throughput batch,
    ``max_batch``); ``concurrency=N`` (N requests in flight, each replaced when it ends,
    beyond ``max_batch`` the rest wait); ``request_rate=λ`` (Poisson arrivals, req/s).
    ``prefill_batch``: the most prompts one prefill pass holds per attention rank (the engine's
    max batch size where a run caps it, as disaggregated prefill workers do); None = as many
    as the token budget holds. It sets ``batched_prefill_s``, the service time of queued prompts.
    ``output_cv``: the coefficient of variation of output lengths (0: all ``output_tokens``
    long), which sets the mean context a decoded token attends to (``step.decode_context``).
    Raises ``InfeasibleError`` when the weights and one request's KV do not fit.
    """
    m, g, prec, kvp, eng, rep = _setup(model, gpu, tp, pp, ep, precision, kv_precision,
                                       engine, calibration, dp)
    tun = tuning or DEFAULT_TUNING
    isl = _positive("input_tokens", input_tokens)
    osl = _positive("output_tokens", output_tokens)
    if concurrency is not None and request_rate is not None:
        raise InputError("request_rate", request_rate, "None when concurrency is given")
    rep = tuned_replica(rep, tun)
    if isinstance(output_cv, bool) or not isinstance(output_cv, (int, float)) or not 0.0 <= output_cv <= LENGTH_CV_MAX:
        raise InputError("output_cv", output_cv, f"a number from 0 (equal lengths) to {LENGTH_CV_MAX:g}")
    st = _workload(rep, isl, osl, prefill_tokens, tun, float(output_cv))
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
    if prefill_batch is not None and prefill_batch < 1:
        raise InputError("prefill_batch", prefill_batch, ">= 1 or None")
    batched = _batched_prefill_s(rep, st, prefill_batch)
    chunks = rep_chunks(rep, st)
    saturated = False
    notes: list[str] = []

    def tpot_at(b: float) -> float:
        return _step_s(st, max(b, 1.0)) / st.a

    # Little's law throughout: output tok/s = requests in flight × osl / time each is held.
    if concurrency is None and request_rate is None:
        batch = float(max_batch)
        tpot = tpot_at(batch)
        out = batch * osl / (prefill + osl * tpot)
        ttft = prefill + tpot + rep.request_s
        binding = _binding(rep, st, batch)
        if max_batch == kv_fit and max_batch < rep.max_seqs:
            twice = 2.0 * batch * osl / (prefill + osl * tpot_at(2.0 * batch))
            if twice > out * (1.0 + MEMORY_CAPACITY_GAIN):
                binding = "memory capacity"
        notes.append("all requests queued: TTFT counted from admission, not arrival")
    elif concurrency is not None:
        n = _positive("concurrency", concurrency)
        # closed loop: each client sends its next request when the last one ends. The engine
        # admits at most max_batch requests (KV, max_seqs); those cycle through prefill and
        # decode as a closed loop of their own (queueing.ttft_closed_loop: prompts queued for
        # prefill batched together, chunks sharing steps with decodes); the batch decoding is
        # the admitted requests not waiting for a first token (Little), solved by a few
        # fixed-point rounds. Clients beyond max_batch wait for a slot, one freed every
        # cycle / max_batch seconds (Little over the whole loop), which keeps TTFT continuous
        # and rising in the concurrency where the admitted set fills.
        admitted = min(n, float(max_batch))
        burst = burst_weight(tun.benchmark_rounds, rep.in_step_share)
        batch, tpot = admitted, tpot_at(admitted)
        ttft = prefill
        decode_only = st._replace(r_mb=0.0, k_pre=0.0)  # the batch's steps without prompts
        for _ in range(6):
            tpot = tpot_at(batch)
            # a queued prompt's chunks also carry the decodes of the batch (their decode
            # work only: the prompt's own math is the batched prefill)
            shared = st.prompt / rep.token_budget * _step_s(decode_only, max(batch, 1.0))
            ttft = ttft_closed_loop(admitted / rep.dp, prefill, batched + shared, chunks,
                                    tpot * st.a, (osl - 1.0) * tpot, burst, rep.queue_scale) + rep.request_s
            batch = max(admitted * (osl - 1.0) * tpot / (ttft + (osl - 1.0) * tpot), 1.0)
        tpot = tpot_at(batch)
        cycle = ttft + (osl - 1.0) * tpot
        out = admitted * osl / cycle
        if n > admitted:  # every slot busy; the rest queue for one
            ttft += (n - admitted) * cycle / admitted
            binding = "memory capacity" if max_batch == kv_fit else _binding(rep, st, batch)
        else:
            binding = _binding(rep, st, batch)
    else:
        lam = _positive("request_rate", request_rate, 0.0)
        cap = float(max_batch)
        tpot = tpot_at(cap)
        cap_req = cap / (prefill + osl * tpot)
        if lam >= cap_req or lam * prefill >= 1.0:
            saturated, batch, out, ttft = True, cap, cap_req * osl, math.inf
            notes.append(f"offered {figure(lam, 4)} req/s exceeds the replica's {figure(cap_req)} req/s")
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
            ttft = ttft_poisson(lam / rep.dp, prefill, chunks, tpot * st.a, rep.queue_scale) + rep.request_s
        binding = _binding(rep, st, batch)
    return PerfEstimate(
        model=m.id, gpu=g.id, gpus=rep.gpus, tp=rep.tp, pp=rep.pp, ep=int(ep),
        precision=prec.value, kv_precision=kvp.value, engine=eng.name,
        max_batch=max_batch, batch=batch, prefill_s=prefill, ttft_s=ttft, tpot_s=tpot,
        e2e_s=ttft + (osl - 1.0) * tpot,
        out_tok_s_per_gpu=out / rep.gpus, out_tok_s_per_replica=out, req_s=out / osl,
        binding=binding, kv_budget_bytes=budget, weights_bytes=rep.weights_resident_bytes,
        step=_breakdown(rep, st, max(batch, 1.0)), saturated=saturated, notes=tuple(notes),
        prefill_chunks=chunks, batched_prefill_s=batched, ranks=rep.dp,
    )



def step_shares(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, output_tokens: float, batch: float, *, pp: int = 1, ep: int = 1,
    kv_precision: Precision | str | None = None, engine: str = "vllm",
    prefill_tokens: float | None = None, tuning: Tuning | None = None,
    calibration: Calibration | None = None, arrivals: Arrivals | None = None,
) -> dict[str, float]:
    """Shares of one decode step at ``batch`` spent in routed-expert GEMMs, in the part of
    them due to load imbalance, and in expert-parallel all-to-all (``StepBreakdown.shares``;
    zeros for a dense model) under ``calibration`` (None: the packaged one). Cheap: the
    configuration's constants are cached. ``arrivals``: the spread of output lengths (the
    step's mean context, ``step.decode_context``)."""
    _, _, rep, st, _, _ = _configured(model, gpu, tp, pp, ep, precision, kv_precision, engine,
                                      calibration, input_tokens, output_tokens, prefill_tokens, tuning,
                                      arrivals)
    return _breakdown(rep, st, max(float(batch), 1.0)).shares()


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
    "step_shares",
    "ttft_at_load",
]
