"""Capacity under SLOs: the largest batch one replica runs within the TPOT and TTFT
targets (the sizing pipeline's hot path)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine.calibration import Calibration
from xlsizer.engine.latency import (
    POISSON,
    Arrivals,
    tpot_quantile_slope,
    tpot_quantile_step,
    ttft_closed,
    ttft_closed_within,
    ttft_open,
    ttft_open_within,
)
from xlsizer.engine.step import (
    DEFAULT_TUNING,
    Tuning,
    _batched_prefill_s,
    _binding,
    _positive,
    _prefill_s,
    _Replica,
    _setup,
    _Step,
    _step_s,
    _workload,
    decode_step_s,
    prefill_floor_s,
    step_floor_s,
    step_lines,
    tuned_replica,
)
from xlsizer.engine.traffic import static_useful_fractions
from xlsizer.errors import (
    InputError,
    UnsupportedPrecisionError,
    XlsizerError,
)
from xlsizer.precision import Precision


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
    room2 = room * room
    if room2 == math.inf:  # a target no batch reaches (an infinite TPOT): its squares overflow
        return math.inf
    c = room2 - p * p * w * w
    if c <= 0.0:
        x = 0.0
    else:
        disc = p * p * (a * a * room * room + w * w * k * k - p * p * a * a * w * w)
        x = c / (k * room + math.sqrt(disc if disc > 0.0 else 0.0))
    return (x - st.v_sp) / st.u_sp if spread else x / st.u_add


_FALSI_STEPS = 1
"""Regula-falsi steps between the closed-form bounds for dense models (the tests check the
batch against an exhaustive search)."""



def _batch_for(st: _Step, tau: float, cap: float) -> tuple[int, float]:
    """(batch, step seconds): the largest whole batch ≤ cap whose step takes ≤ tau.

    Needs step(1) ≤ tau. Closed-form bounds bracket it: prompt math fully added (step too
    long: a feasible batch) and prompt tokens spread over every pass (step too short). Then
    regula falsi (Illinois). MoE steps, whose weight bytes grow with the experts a batch
    touches, have no closed-form bounds: ``_batch_for_moe``.
    """
    if st.routed:
        return _batch_for_moe(st, tau, cap)
    w = st.w0 / st.gemm_bw
    lo = max(_bound(st, w, tau, spread=False), 1.0)
    if lo >= cap:
        return int(cap), _step_s(st, cap)
    hi = min(_bound(st, w, tau, spread=True), cap)
    if st.r_mb <= 0.0 or (lo - 1.0) * st.r_mb >= st.chunk:
        lo = hi  # exact: no prompt mixing, or every pass carries prompt tokens (spread holds)
    if hi > lo:
        f_hi = _step_s(st, hi) - tau
        if f_hi <= 0.0:
            lo = hi
        else:
            x_lo, x_hi = lo, hi
            f_lo = _step_s(st, lo) - tau
            side = 0
            if f_lo > 0.0:
                # The lower bound is feasible in exact arithmetic but its step rounds a hair
                # above tau (the bound landing exactly on the root): no bracket, so no
                # interpolation; the walk below steps down from it. (Interpolating here
                # divided by f_hi − f_lo → 0.)
                hi = lo
            # Invariant from here: f_lo ≤ 0 < f_hi, so f_hi − f_lo > 0 (the Illinois halving
            # keeps both signs).
            for _ in range(_FALSI_STEPS if hi > lo else 0):
                x = x_hi - f_hi * (x_hi - x_lo) / (f_hi - f_lo)
                fx = _step_s(st, x) - tau
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
            est = x_hi - f_hi * (x_hi - x_lo) / (f_hi - f_lo) if hi > lo else x_lo
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


def _batch_for_moe(st: _Step, tau: float, cap: float) -> tuple[int, float]:
    """``_batch_for`` for MoE: dense and expert GEMMs are separate rooflines with a
    load-dependent imbalance, so the closed-form bounds do not hold. Bracket the root by
    quadrupling from batch 64 (batch 1 meets tau), narrow it by a few Illinois regula-falsi
    steps on a verified bracket (f_lo ≤ 0 < f_hi, so the divisor is never 0), then finish
    exactly on whole batches (``_settle``)."""
    lo, f_lo = 1.0, _step_s(st, 1.0) - tau
    hi = min(64.0, cap)
    f_hi = _step_s(st, hi) - tau
    while f_hi <= 0.0 and hi < cap:
        lo, f_lo = hi, f_hi
        hi = min(hi * 4.0, cap)
        f_hi = _step_s(st, hi) - tau
    if f_hi <= 0.0:
        return int(cap), _step_s(st, float(int(cap)))
    side = 0
    for _ in range(4):
        if hi - lo <= 1.0:
            break
        x = float(int(hi - f_hi * (hi - lo) / (f_hi - f_lo)))
        x = min(max(x, lo + 1.0), hi - 1.0)
        fx = _step_s(st, x) - tau
        if fx > 0.0:
            hi, f_hi = x, fx
            if side == 1:
                f_lo *= 0.5
            side = 1
        else:
            lo, f_lo = x, fx
            if side == -1:
                f_hi *= 0.5
            side = -1
    b = int(lo)
    return _settle(st, tau, min(cap, hi), b, _step_s(st, float(b)))


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



# --- capacity under SLOs: the sizing pipeline's hot path -------------------------------------


class ReplicaCapacity(NamedTuple):
    """What one replica carries while meeting the SLOs (``slo_capacity``).

    A NamedTuple, not a dataclass: the pipeline builds ~24 per sizing at 20,000 sizings a
    second, and a tuple is several times cheaper to build than a frozen dataclass.
    """

    feasible: bool
    """False when one sequence alone misses the TPOT (or TTFT) target, or no KV fits."""
    batch: int
    """Sequences decoding together at capacity: the whole part of the mean batch that
    ``req_s`` carries (random arrivals make it a mean, with a fraction), at least 1 when a
    TTFT target holds the mean below one sequence; 0 when infeasible."""
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
    "interconnect" | "TTFT target" (``TTFT_BINDS``: the batch stops where waiting prompts would
    queue past the TTFT target, well before the GPU's compute or memory run out) | "static
    batching" (``STATIC_BINDS``: continuous batching off, and a larger static batch would carry
    fewer requests) | "engine sequence limit" (``ENGINE_SEQS_BINDS``: the engine's most
    sequences per replica, below what the targets and the KV budget allow)."""
    first_token_s: float = 0.0
    """Fixed time to a first token beyond the prefill math (the engine's fitted request
    overhead), s."""
    prefill_chunks: float = 1.0
    """Engine steps one prompt runs in (⌈prompt / token budget⌉), each shared with decodes."""
    ranks: int = 1
    """Attention data-parallel ranks, each with its own scheduler and prefill queue."""
    tpot_q_s: float = 0.0
    """TPOT at the SLO percentile at ``batch`` (``latency.tpot_quantile_step``); equals
    ``tpot_s`` when the targets are means."""
    batched_prefill_s: float = 0.0
    """One prompt's share of back-to-back prefill passes (closed-loop arrivals' server)."""
    queue_scale: float = 1.0
    """Time the prefill queue's server holds a prompt over the modelled time (calibration
    ``queue_service_scale``; 1 = the physics alone)."""
    mean_batch: float = 0.0
    """Sequences in flight on average at capacity (Little: ``req_s`` × the time a request
    holds a slot); ``batch`` is its whole part. Below 1 where the TTFT target keeps the
    replica idle part of the time; 0 when infeasible."""


TTFT_BINDS = "TTFT target"
"""``ReplicaCapacity.binding`` where the TTFT target caps the batch. It read "compute" (the
prefill queue is compute), so a plan whose batch the TTFT target held at 21 of 1,000 said
"compute binds", and a planner would buy faster GPUs where relaxing the TTFT target, or
disaggregated prefill, is what raises the load per replica."""

STATIC_BINDS = "static batching"
"""``ReplicaCapacity.binding`` where continuous batching is off and the batch stops below every
limit (TPOT, TTFT, KV budget) because a larger static batch would carry fewer requests: each
batch holds all its slots until its longest request ends, and the longest of more requests is
longer (``_static_batch``). The step's dominant resource (what it read before, "memory
bandwidth" at a batch whose TPOT was well inside the target) is not what stops a larger one."""

ENGINE_SEQS_BINDS = "engine sequence limit"
"""``ReplicaCapacity.binding`` where the batch stops at the serving engine's most sequences per
replica (engines.yaml ``max_seqs_*`` × attention ranks: vLLM's default max_num_seqs 1024 on an
80 GB-class GPU) while the TPOT target and the KV budget would allow more. It read the step's
dominant resource ("compute" for llama-3.1-8b on a B200 at 1,024 sequences and 36 of 80 ms),
which sends a planner to faster GPUs where the lever is an engine setting."""

_FAST_REPLICAS: dict[tuple, tuple[Any, Any, Any]] = {}
_FAST_WORK: dict[tuple, tuple[Any, Any, _Replica, _Step, float, float]] = {}
_SOLVES: dict[tuple, tuple[_Step, int, float, list, float, dict]] = {}
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
    tuning: Tuning | None, arrivals: Arrivals | None = None,
) -> tuple[Any, Any, _Replica, _Step, float, float]:
    """(model, gpu, replica, step constants, prefill s, step s at batch 1), cached on the
    raw arguments; validation runs on a miss only. Specs are keyed by identity and held by
    the entry, so a live id cannot be reused. ``arrivals`` gives the spread of output
    lengths, which sets the mean context a decoded token attends to (``step.decode_context``)."""
    out_cv = 0.0 if arrivals is None else arrivals.answer_cv
    key = (model if type(model) is str else id(model), gpu if type(gpu) is str else id(gpu),
           tp, pp, ep, precision, kv_precision, engine, calibration, isl, osl,
           prefill_tokens, tuning, out_cv)
    try:
        hit = _FAST_WORK.get(key)
    except TypeError:  # an unhashable argument: let validation name it
        hit, key = None, None
    if hit is None:
        rep = tuned_replica(_replica_for(model, gpu, tp, pp, ep, precision, kv_precision, engine,
                                         calibration), tuning or DEFAULT_TUNING)
        st = _workload(rep, _positive("input_tokens", isl), _positive("output_tokens", osl),
                       None if prefill_tokens is None
                       else _positive("prefill_tokens", prefill_tokens, 0.0),
                       tuning or DEFAULT_TUNING, out_cv)
        hit = (model, gpu, rep, st, _prefill_s(rep, st), _step_s(st, 1.0))
        if key is not None:
            if len(_FAST_WORK) >= _CACHE_LIMIT:
                _FAST_WORK.clear()
            _FAST_WORK[key] = hit
    return hit


def rep_chunks(rep: _Replica, st: _Step) -> float:
    """Engine steps one prompt runs in: ⌈prompt tokens / the engine's token budget⌉."""
    return float(math.ceil(st.prompt / rep.token_budget)) if st.prompt > 0.0 else 0.0


def _ttft_load(st: _Step, prefill: float, ranks: int, osl: float, b: float, closed: bool) -> tuple[float, float]:
    """(mean step s, at batch b; what loads each attention rank's prefill queue: a closed loop's
    think time s, its clients being b / ranks, or open arrivals' rate per rank, req/s, the rate
    b serves by Little)."""
    # below one sequence in flight on average (an open queue's mean batch, ``_ttft_batch``) a
    # sequence that runs still runs a step of at least itself
    step = _step_s(st, b if b > 1.0 else 1.0)
    if closed:
        return step, max(osl - 1.0, 0.0) * step / st.a
    return step, b / (prefill + osl * step / st.a) / ranks


def _ttft(st: _Step, prefill: float, chunks: float, ranks: int, osl: float, b: float,
          first: float, q: float | None = None, arr: Arrivals = POISSON, batched: float = 0.0,
          qk: float = 1.0) -> float:
    """TTFT at batch b at the rate that batch serves (Little): the mean (``q`` None) or the
    q-th percentile (``latency.py``), for open arrivals or a closed loop of b clients; ``qk``:
    the queue's service time over the modelled one (the replica's ``queue_scale``)."""
    step, load = _ttft_load(st, prefill, ranks, osl, b, arr.kind == "closed")
    if arr.kind == "closed":
        return ttft_closed(b / ranks, prefill, batched, chunks, step, load, q, arr.length_cv, qk) + first
    return ttft_open(load, prefill, chunks, step, q, arr, qk) + first


def _ttft_ok(st: _Step, prefill: float, chunks: float, ranks: int, osl: float, b: float, first: float,
             q: float | None, arr: Arrivals, batched: float, qk: float, target: float) -> bool:
    """``_ttft(...)`` ≤ ``target``, asked without the percentile's root search when lengths
    spread (``latency.ttft_open_within``)."""
    if q is None or arr.length_cv <= 0.0:
        return _ttft(st, prefill, chunks, ranks, osl, b, first, q, arr, batched, qk) <= target
    step, load = _ttft_load(st, prefill, ranks, osl, b, arr.kind == "closed")
    if arr.kind == "closed":
        return ttft_closed_within(b / ranks, prefill, batched, chunks, step, load, q, arr.length_cv, qk,
                                  target - first)
    return ttft_open_within(load, prefill, chunks, step, q, arr, qk, target - first)


def _ttft_batch(st: _Step, b: int, target: float, prefill: float, chunks: float, ranks: int, osl: float,
                first: float, q: float | None, arr: Arrivals, batched: float,
                b_max: float, at_b: tuple[float, float], qk: float = 1.0) -> tuple[float, float, float]:
    """(the largest mean batch ≤ b whose TTFT (``_ttft``) meets ``target``, its mean step, its
    percentile step): b itself when it meets it (with ``at_b``, its steps, known to the
    caller); else bisection (TTFT grows with the batch), on whole batches then on the mean
    batch between them; (0, 0, 0) when not even an almost idle replica meets it.

    Open arrivals can need a mean batch below one sequence: the replica idles between
    requests so that a prompt seldom waits for another's prefill (a long prompt under a tight
    TTFT target). Its running sequence still takes the step of one (``_ttft_load``). A
    closed loop's least load is one client (``_ttft_batch_below_one``)."""
    if _ttft_ok(st, prefill, chunks, ranks, osl, b, first, q, arr, batched, qk, target):
        return b, at_b[0], at_b[1]
    if not _ttft_ok(st, prefill, chunks, ranks, osl, 1, first, q, arr, batched, qk, target):
        return _ttft_batch_below_one(st, target, prefill, chunks, ranks, osl, first, q, arr, batched, b_max, qk)
    good, bad = 1, b
    while bad - good > 1:
        mid = (good + bad) // 2
        if mid <= good:  # b is a mean batch with a fraction: the real bisection below finishes
            break
        if _ttft_ok(st, prefill, chunks, ranks, osl, mid, first, q, arr, batched, qk, target):
            good = mid
        else:
            bad = mid
    # Under random arrivals the batch is a mean, not a whole number: the load that meets the
    # TTFT target lies between batch `good` (meets) and `bad` (misses). Bisection on the mean
    # batch places it within 1/65,536 of a sequence below the target's load, so a slightly
    # faster step (FP8 KV, say) never drops load, and a longer output (a lower rate per batch)
    # never carries more requests (issue 24).
    lo = _ttft_bisect(st, float(good), float(bad), target, prefill, chunks, ranks, osl, first, q, arr, batched, qk)
    step = _step_s(st, lo)
    return lo, step, step if q is None else tpot_quantile_step(st, lo, osl, q, arr, b_max)


def _ttft_bisect(st: _Step, lo: float, hi: float, target: float, prefill: float, chunks: float, ranks: int,
                 osl: float, first: float, q: float | None, arr: Arrivals, batched: float, qk: float) -> float:
    """The largest mean batch in [lo, hi) whose TTFT meets ``target``, to (hi − lo) / 2^16 of
    a sequence below it, by bisection (TTFT grows with the batch; lo meets it or is 0)."""
    for _ in range(_TTFT_REFINE):
        mid = (lo + hi) / 2.0
        if _ttft_ok(st, prefill, chunks, ranks, osl, mid, first, q, arr, batched, qk, target):
            lo = mid
        else:
            hi = mid
    return lo


def _ttft_batch_below_one(st: _Step, target: float, prefill: float, chunks: float, ranks: int, osl: float,
                          first: float, q: float | None, arr: Arrivals, batched: float, b_max: float,
                          qk: float) -> tuple[float, float, float]:
    """``_ttft_batch`` where batch 1 misses the TTFT target: the largest mean batch in (0, 1)
    that meets it under open arrivals, by bisection to 1/65,536 of the batch found, with the
    steps of one sequence (mean and percentile: the batch a running request sees is at least
    itself, so these are the most a lighter load can give it); (0, 0, 0) for a closed loop or
    when no load above 1/65,536 of a sequence meets the target (the prefill alone, or its
    chunk steps, take longer)."""
    if arr.kind == "closed":
        return 0.0, 0.0, 0.0
    lo = _ttft_bisect(st, 0.0, 1.0, target, prefill, chunks, ranks, osl, first, q, arr, batched, qk)
    if lo <= 0.0:
        return 0.0, 0.0, 0.0
    # 1/65,536 of a sequence is coarse beside a mean batch far below one: at 0.06 it is 1/4,000
    # of the load, and a longer output, which carries the same rate in a larger mean batch (the
    # rate is the TTFT's, the step one sequence's), found it more closely and needed 2,413
    # replicas where the shorter one needed 2,414. The last bracket (lo meets, lo + the grain
    # misses) bisected again brings every answer to 1/65,536 of its own batch.
    lo = _ttft_bisect(st, lo, min(lo + 2.0 ** -_TTFT_REFINE, 1.0), target, prefill, chunks, ranks, osl, first,
                      q, arr, batched, qk)
    step = _step_s(st, 1.0)
    return lo, step, step if q is None else tpot_quantile_step(st, 1.0, osl, q, arr, b_max)


def _mean_batch(st: _Step, b: int, s_b: float, q_b: float, tau: float, osl: float, q: float | None,
                arr: Arrivals, cap: float) -> tuple[float, float, float]:
    """(mean batch, its mean step, its percentile step): the largest mean batch in [b, b + 1]
    whose mean step, and percentile step with ``q``, stay within tau, from the whole batch b
    that meets both (its steps ``s_b``, ``q_b``) and b + 1 that misses one.

    Under random arrivals the batch a replica carries is a mean, not a whole number, as the
    TTFT-limited batch already is (``_ttft_batch``). Cut to a whole batch, a longer output
    could carry more requests per replica: its prompt tokens, spread over more decode steps,
    weigh less per step and move the whole batch up by one (docs/method.md, "Answers that
    must move the right way"). Illinois regula falsi on the bracket [meets, misses]: the
    answer always meets tau; it stops at ``_MEAN_BATCH_STEPS`` steps or a bracket of
    ``_MEAN_BATCH_GRAIN``."""
    hi = float(b + 1)
    if b < 1 or hi > cap:
        return float(b), s_b, q_b

    def miss(x: float) -> tuple[float, float, float]:
        s = _step_s(st, x)
        t = s if q is None else tpot_quantile_step(st, x, osl, q, arr, cap)
        return (s if s > t else t) - tau, s, t

    lo, s_lo, q_lo = float(b), s_b, q_b
    f_lo = (s_b if s_b > q_b else q_b) - tau
    f_hi = miss(hi)[0]
    if f_lo > 0.0 or f_hi <= 0.0:  # not a bracket (the whole batch was capped elsewhere)
        return lo, s_lo, q_lo
    side = 0
    for _ in range(_MEAN_BATCH_STEPS):
        x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        if not lo < x < hi:
            break
        fx, sx, qx = miss(x)
        if fx <= 0.0:
            lo, f_lo, s_lo, q_lo = x, fx, sx, qx
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = x, fx
            if side == 1:
                f_lo *= 0.5
            side = 1
        if hi - lo <= _MEAN_BATCH_GRAIN:
            break
    return lo, s_lo, q_lo


_MEAN_BATCH_STEPS = 4
"""Most Illinois steps of ``_mean_batch`` (a root-finding budget, not a physical constant:
every step it takes keeps the answer within the target)."""

_MEAN_BATCH_GRAIN = 1e-4
"""Sequences: ``_mean_batch`` stops once the bracket is this narrow (a numerical grain, not a
physical constant: the mean batch is shown to 4 digits, and the requests/s it sets move by
at most 1e-4 of one sequence's share)."""


def _percentile_batch(st: _Step, b: int, tau: float, osl: float, q: float, arr: Arrivals,
                      b_max: float) -> tuple[int, float]:
    """(the largest batch ≤ b whose q-th percentile step, ``latency.tpot_quantile_step``, stays
    within tau; that step): 0 when even one sequence misses. The percentile grows with the
    batch nearly as the mean step does, so Newton steps on the mean step's slope from b land
    next to the answer; the bracket (good ≤ answer < bad) is kept and bisected to the end."""
    t, slope = tpot_quantile_slope(st, float(b), osl, q, arr, b_max)
    if b < 1 or t <= tau:
        return b, t
    good, good_tq, bad = 0, 0.0, b  # good = 0: nothing shown to meet tau yet
    x = b
    for _ in range(4):  # Newton on the percentile step, slope from the mean step
        if bad - good <= 1:
            break
        if slope <= 0.0:
            h = max(1.0, 0.02 * x)
            slope = (_step_s(st, float(x)) - _step_s(st, float(x) - h)) / h
        nb = int(x - (t - tau) / slope) if slope > 0.0 else (good + bad) // 2
        nb = min(max(nb, good + 1, 1), bad - 1)
        t, slope = tpot_quantile_slope(st, float(nb), osl, q, arr, b_max)
        if t <= tau:
            good, good_tq = nb, t
            if nb + 1 < bad:  # probe just above: the usual last step
                t1, s1 = tpot_quantile_slope(st, float(nb + 1), osl, q, arr, b_max)
                if t1 > tau:
                    bad = nb + 1
                    break
                good, good_tq, t, slope, nb = nb + 1, t1, t1, s1, nb + 1
        else:
            bad = nb
        x = nb
    while bad - good > 1:
        mid = (good + bad) // 2 if good > 0 else max(1, bad // 2)
        t = tpot_quantile_step(st, float(mid), osl, q, arr, b_max)
        if t <= tau:
            good, good_tq = mid, t
        else:
            bad = mid
    if good == 0:  # bad reached 1: batch 1 misses (or was never shown to meet) tau
        t = tpot_quantile_step(st, 1.0, osl, q, arr, b_max)
        return (1, t) if t <= tau else (0, t)
    return good, good_tq


def ttft_rate_bound(prefill_s: float, chunks: float, step1_s: float, first_s: float, ranks: int,
                    target_s: float, q: float | None, arr: Arrivals = POISSON, qk: float = 1.0) -> float:
    """An upper bound, req/s per replica, on every load whose TTFT (``_ttft``, open arrivals)
    meets ``target_s``: the TTFT grows with the rate and with the step time, and no step is
    shorter than one sequence's (``step1_s``), so the rate at which the TTFT at that step
    reaches the target bounds the load at every batch. 0 when even an idle replica misses the
    target; ``inf`` for a closed loop (not bounded here) or an all-cached prompt.

    Mean: c·ρS/(1 − ρ) ≤ x gives ρ ≤ x / (x + cS) (c = c_a²/2, S = ``prefill_s``, x = the
    target less the prefill, the chunk steps and the first-token overhead; the queue's service
    S = ``qk`` × ``prefill_s``, the request's own prefill ``prefill_s``). A percentile: the
    wait quantile cS/(1 − ρ)·ln(ρ/tail) (``latency.wait_quantile``) is within x where
    h(ρ) = cS·ln(ρ/tail) − x(1 − ρ) ≤ 0; h rises and is concave on (tail, 1), so a Newton step
    from the feasible side stays feasible and the chord to the infeasible side lands on the
    infeasible side: a few of each bracket the root tightly, and the upper end is the bound.
    A percentile with spread lengths (``latency.spread_quantile``, no closed-form inverse): the
    prefill server's capacity, loose but never low."""
    if arr.kind == "closed" or prefill_s <= 0.0:
        return math.inf
    service = prefill_s * qk
    if q is not None and arr.length_cv > 0.0:
        # a percentile of the wait plus an own time that spreads (``latency.spread_quantile``)
        # is at least the step on arrival at its quantile; tighter needs the wait's law, and a
        # pruning bound may be loose, never low: the prefill server's own capacity
        return 0.0 if target_s - first_s < q / 100.0 * step1_s else ranks / service
    # the request's own prefill and chunk steps
    own = prefill_s + (chunks + (0.5 if q is None else q / 100.0)) * step1_s
    x = target_s - first_s - own
    if x < 0.0:
        return 0.0
    cs = (arr.scv + arr.length_cv * arr.length_cv) / 2.0 * service
    if q is None:
        rho = x / (x + cs)
    else:
        tail = 1.0 - q / 100.0
        lo, h_lo = tail, -x * (1.0 - tail)
        hi, h_hi = 1.0, cs * math.log(1.0 / tail)
        for _ in range(_RHO_STEPS):
            if h_lo >= 0.0 or hi - lo <= 1e-12:
                break
            nxt = lo - h_lo / (cs / lo + x)  # Newton from below: still h <= 0
            if nxt < hi:
                lo, h_lo = nxt, cs * math.log(nxt / tail) - x * (1.0 - nxt)
                if h_lo > 0.0:  # rounding at the root itself
                    hi, h_hi = lo, h_lo
                    break
            chord = lo - h_lo * (hi - lo) / (h_hi - h_lo)  # the chord: h >= 0 there
            if lo < chord < hi:
                hi, h_hi = chord, cs * math.log(chord / tail) - x * (1.0 - chord)
        rho = min(hi * (1.0 + 1e-9), 1.0)  # a hair above: rounding never cuts below the root
    return ranks * rho / service


_RHO_STEPS = 3
"""Newton-and-chord rounds of ``ttft_rate_bound``'s utilization (a pruning bound's grain,
not a physical constant: its answer is never below the true limit, only less tight with
fewer rounds)."""


def ttft_floor_bound(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, *, pp: int = 1, ep: int = 1, kv_precision: Precision | str | None = None,
    engine: str = "vllm", prefill_tokens: float | None = None, target_ttft_s: float | None = None,
    tuning: Tuning | None = None, calibration: Calibration | None = None,
    slo_percentile: float | None = None, arrivals: Arrivals | None = None,
) -> float:
    """An upper bound, req/s, on ``slo_capacity(...)``'s ``req_s`` from the replica's constants
    only (no workload: cheaper and looser than ``capacity_bound``): ``ttft_rate_bound`` at
    lower bounds of the prefill and of the step (``step.prefill_floor_s``, ``step_floor_s``).
    ``inf`` without a TTFT target or where the replica cannot be built here."""
    if target_ttft_s is None:
        return math.inf
    tun = tuning or DEFAULT_TUNING
    try:
        rep = tuned_replica(_replica_for(model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration), tun)
    except XlsizerError:
        return math.inf  # the full solve names the problem
    prompt = input_tokens if prefill_tokens is None else min(max(prefill_tokens, 0.0), input_tokens)
    chunks = float(math.ceil(prompt / rep.token_budget)) if prompt > 0.0 else 0.0
    # the floor sums fewer terms than _prefill_s in another order: a hair below it, so that
    # rounding can never make the bound cut below the exact limit
    s_floor = prefill_floor_s(rep, input_tokens, prompt, tun) * (1.0 - 1e-9)
    return ttft_rate_bound(s_floor, chunks, step_floor_s(rep, tun) * (1.0 - 1e-9), rep.request_s, rep.dp,
                           target_ttft_s, slo_percentile, arrivals if arrivals is not None else POISSON,
                           rep.queue_scale)


def idle_ttft_s(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, output_tokens: float, *, pp: int = 1, ep: int = 1,
    kv_precision: Precision | str | None = None, engine: str = "vllm", prefill_tokens: float | None = None,
    tuning: Tuning | None = None, calibration: Calibration | None = None,
    slo_percentile: float | None = None, arrivals: Arrivals | None = None, prefill_only: bool = False,
) -> float:
    """TTFT, s, of one request on an idle replica (no queue, its chunk steps at one sequence's
    step): the mean, or with ``slo_percentile`` that percentile (the spread of prompt lengths
    and of the step it arrives in). No load can do better, so a TTFT target below it is out of
    reach on this configuration (``latency.ttft_open`` at no load). ``prefill_only``: a
    disaggregated prefill replica, whose steps carry prompts alone (no decode step to share or
    arrive in; the KV transfer to the decode pool is the caller's)."""
    _, _, rep, st, prefill, floor_step = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning, arrivals)
    chunks, step = (0.0, 0.0) if prefill_only else (rep_chunks(rep, st), floor_step)
    return ttft_open(0.0, prefill, chunks, step, slo_percentile,
                     arrivals if arrivals is not None else POISSON, rep.queue_scale) + rep.request_s


def lightest_tpot_q_s(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, output_tokens: float, *, pp: int = 1, ep: int = 1,
    kv_precision: Precision | str | None = None, engine: str = "vllm", prefill_tokens: float | None = None,
    tuning: Tuning | None = None, calibration: Calibration | None = None,
    slo_percentile: float | None = None, arrivals: Arrivals | None = None,
) -> float:
    """TPOT, s, at the SLO percentile at the lightest load the capacity solve takes: one
    sequence in flight on average (``latency.tpot_quantile_step`` at a mean batch of 1; the
    mean at ``slo_percentile`` None, equal to the floor). A request shares its steps with a batch
    that varies, so a target between the floor and this figure is out of reach on the
    configuration, though one sequence alone would meet it (``slo_capacity`` answers 0 there)."""
    _, _, rep, st, _prefill, floor_step = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning, arrivals)
    if slo_percentile is None:
        return floor_step / st.a
    arr = arrivals if arrivals is not None else POISSON
    return tpot_quantile_step(st, 1.0, float(output_tokens), slo_percentile, arr, float(rep.max_seqs)) / st.a


def mean_step_s(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, output_tokens: float, batch: float, *, pp: int = 1, ep: int = 1,
    kv_precision: Precision | str | None = None, engine: str = "vllm", prefill_tokens: float | None = None,
    tuning: Tuning | None = None, calibration: Calibration | None = None, arrivals: Arrivals | None = None,
) -> float:
    """The mean step, s, of one replica at a mean ``batch`` of sequences (at least one): its
    decode steps and the prompt chunks among them, as ``slo_capacity`` times them, with the
    answers spread as ``arrivals`` says (``step.decode_context``)."""
    _, _, _rep, st, _prefill, _floor = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning, arrivals)
    return _step_s(st, batch if batch > 1.0 else 1.0)


class CapacityBound(NamedTuple):
    """What bounds ``slo_capacity``'s answer for one configuration and workload, from its
    constants alone (``capacity_bound``): the capacity is 0 when the KV budget is below
    ``seq_bytes`` or the TPOT target below ``tpot_floor_s``, else at most ``ttft_req_s``."""

    ttft_req_s: float
    """Upper bound on the requests/s within the TTFT target (``ttft_rate_bound``), req/s."""
    tpot_floor_s: float
    """TPOT of one sequence alone, s."""
    seq_bytes: float
    """KV budget one sequence needs (its reserved KV and the tuning's resident extra), bytes."""


def capacity_bound(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, output_tokens: float, *, pp: int = 1, ep: int = 1,
    kv_precision: Precision | str | None = None, engine: str = "vllm",
    prefill_tokens: float | None = None, target_ttft_s: float | None = None,
    tuning: Tuning | None = None, calibration: Calibration | None = None,
    slo_percentile: float | None = None, arrivals: Arrivals | None = None,
) -> CapacityBound:
    """Bounds on ``slo_capacity(...)`` for the same arguments (any TPOT target and KV budget),
    at a fraction of its cost: the configuration's constants, no batch search. The sizing's
    search uses them to skip configurations that cannot beat the best one found."""
    _, _, rep, st, prefill, floor_step = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning, arrivals)
    extra = tuning.extra_resident_bytes if tuning is not None else 0.0
    ttft = math.inf if target_ttft_s is None else ttft_rate_bound(
        prefill, rep_chunks(rep, st), floor_step, rep.request_s, rep.dp, target_ttft_s, slo_percentile,
        arrivals if arrivals is not None else POISSON, rep.queue_scale)
    return CapacityBound(ttft, floor_step / st.a, st.kv_reserved + extra)


class TpotRateBound:
    """``tpot_rate_bound`` of one configuration and workload, for any KV budget: its
    budget-free parts computed once (the search asks it once per scenario)."""

    __slots__ = ("_extra", "_kv", "_lines", "_low", "_max_seqs", "_per", "_prefill", "_st", "_tau", "feasible")

    def __init__(self, rep: _Replica, st: _Step, prefill: float, floor_step: float, output_tokens: float,
                 target_tpot_s: float, extra_resident_bytes: float) -> None:
        self._st, self._prefill, self._tau = st, prefill, target_tpot_s * st.a
        self._per = float(output_tokens) / st.a  # steps a request decodes in
        self._kv, self._extra, self._max_seqs = st.kv_reserved, extra_resident_bytes, rep.max_seqs
        self._lines = step_lines(st)
        self.feasible = floor_step <= self._tau  # one sequence alone meets the target
        self._low = 1.0 / (prefill + self._per * floor_step)  # a mean batch of at most one

    def at(self, kv_budget_bytes: float) -> float:
        """The bound, req/s, with a KV budget of ``kv_budget_bytes`` (``tpot_rate_bound``)."""
        budget = kv_budget_bytes - self._extra
        kv_fit = int(budget / self._kv) if budget > 0.0 else 0
        max_batch = kv_fit if kv_fit < self._max_seqs else self._max_seqs
        if max_batch < 1 or not self.feasible:
            return 0.0
        x, tau = float(max_batch), self._tau
        for base, slope in self._lines:  # both lines are at most step(1) <= tau at one sequence
            if slope > 0.0 and base + slope * x > tau:
                x = (tau - base) / slope
        prefill, per = self._prefill, self._per
        bound = x / (prefill + per * decode_step_s(self._st, x))
        if x > 1.0:
            for base, slope in self._lines:
                bound = min(bound, max(1.0 / (prefill + per * (base + slope)),
                                       x / (prefill + per * (base + slope * x))))
            bound = max(bound, self._low)
        return bound * (1.0 + 1e-9)  # a hair above: rounding never cuts below the solve's answer


def tpot_rate_bound(
    model: ModelSpec | str, gpu: GpuSpec | str, tp: int, precision: Precision | str,
    input_tokens: float, output_tokens: float, target_tpot_s: float, *,
    pp: int = 1, ep: int = 1, kv_precision: Precision | str | None = None, engine: str = "vllm",
    prefill_tokens: float | None = None, tuning: Tuning | None = None, calibration: Calibration | None = None,
    arrivals: Arrivals | None = None,
) -> TpotRateBound:
    """An upper bound, req/s, on ``slo_capacity(...)``'s ``req_s`` with the same arguments,
    for any KV budget (``TpotRateBound.at``), whatever its percentile, arrivals, TTFT target or
    static batches, in closed form from the step's constants (no batch search).

    Every answer of the full solve runs a (mean) batch x whose mean step meets the target (a
    percentile step lies above the mean step; a TTFT target, the KV budget or static batches
    only lower the batch, and the step grows with it), within the KV budget's batch m and the
    engine's sequence limit. The step is at least each of two lines (``step.step_lines``: the
    dense weights' streaming alone, the GEMM math alone, each with the step's linear terms), so
    x ≤ X, where the first line reaches the target. The rate x / (prefill + output × step(x) / a)
    (Little's law) is then at most:
    - x / (prefill + output × s_d(x) / a), s_d the step of the decodes alone
      (``step.decode_step_s``), which grows with x (s_d(x) / x only falls: a fixed part,
      per-sequence work, and weight reads and expert math that grow slower than the batch), so
      its value at X;
    - past one sequence, x / (prefill + output × line(x) / a) for each line, monotone in x, so
      the larger of its values at 1 and X. (The full step does not give a monotone rate: the
      other sequences' prompts, charged at the mixed step's compute rate, can cost a little more
      than the request's own prefill saves, so the rate can dip as the batch grows past one.)
    Static batches carry at most the continuous rate. ``at`` answers 0 when one sequence alone
    misses the target or no sequence fits. ``arrivals``: the spread of output lengths (the
    step's mean context, ``step.decode_context``); its queue plays no part here."""
    _, _, rep, st, prefill, floor_step = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning, arrivals)
    return TpotRateBound(rep, st, prefill, floor_step, output_tokens, target_tpot_s,
                         tuning.extra_resident_bytes if tuning is not None else 0.0)


_TTFT_REFINE = 16
"""Bisection steps for the TTFT-limited mean batch between two whole batches (to 1/65,536 of
a sequence: a search resolution, not a physical constant)."""

_STATIC: dict[tuple, tuple[_Step, int]] = {}
_STATIC_BLOCK = 4
"""Ranges of fewer batches than this are scanned, not split (a search grain, not a physical
constant)."""


def _static_batch(st: _Step, prefill: float, osl: float, batch: int, static_output: tuple[float, float]) -> int:
    """The batch ≤ ``batch`` that carries the most requests/s with static batches.

    A static batch holds every slot until its longest request ends, so a slot serves
    b / (prefill + osl × TPOT(b) / useful(b)) requests/s (``traffic.static_useful_fraction``);
    useful(b) falls as b grows, so past some batch a larger one carries less and an engine
    is run at the best batch the targets allow, not the largest. (Taking the largest made a
    tighter TPOT target, which caps the batch lower, need fewer GPUs: issue 24.) Every batch
    is covered (no unimodality assumed: blocks are skipped only on a bound), so a tighter cap
    never does better; ties go to the smaller batch."""
    key = (id(st), prefill, osl, batch, static_output)
    hit = _STATIC.get(key)
    if hit is not None:
        return hit[1]
    useful = static_useful_fractions(batch, *static_output)
    a = st.a

    def rate(b: int) -> float:
        return b / (prefill + osl * _step_s(st, b) / (a * useful[b - 1]))

    best_b, best = batch, rate(batch)
    b = batch // 2
    while b >= 1:  # seeds, so that the blocks below are mostly skipped
        r = rate(b)
        if r > best or (r == best and b < best_b):
            best_b, best = b, r
        b //= 2
    # Branch and bound over ranges of batches: the step grows and the useful share falls with
    # the batch, so no batch of [lo, hi] beats hi / (prefill + osl × step(lo) / (a × useful(lo))):
    # a range whose bound is below the best found is skipped whole (exact)
    todo = [(1, batch)]
    while todo:
        lo, hi = todo.pop()
        if hi / (prefill + osl * _step_s(st, lo) / (a * useful[lo - 1])) < best:
            continue
        if hi - lo < _STATIC_BLOCK:
            for b in range(lo, hi + 1):
                r = rate(b)
                if r > best or (r == best and b < best_b):
                    best_b, best = b, r
        else:
            mid = (lo + hi) // 2
            todo += [(lo, mid), (mid + 1, hi)]
    if len(_STATIC) >= _CACHE_LIMIT:
        _STATIC.clear()
    _STATIC[key] = (st, best_b)  # st held: its id stays unique
    return best_b


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
    static_output: tuple[float, float] | None = None,
    slo_percentile: float | None = None,
    arrivals: Arrivals | None = None,
) -> ReplicaCapacity:
    """The largest load one replica carries with TPOT ≤ target (the prefill share of
    continuous batching included) and every request's KV in memory; with
    ``target_ttft_s``, also mean TTFT ≤ target at that load (``ttft_at_load``'s queue).

    ``slo_percentile`` (one of ``latency.PERCENTILES``) makes both targets that percentile of
    requests instead of their mean; ``arrivals`` (Poisson by default) shapes the queue and the
    batch's spread (``latency.py``), and its spread of output lengths the mean context a
    decoded token attends to (``step.decode_context``).

    ``kv_budget_bytes`` replaces the engine's default KV budget (e.g. the pipeline's VRAM
    plan); ``prefill_tokens`` is the prompt tokens actually computed per request (prefix
    caching), all of ``input_tokens`` by default. ``static_output`` = (mean, cap) output
    tokens: batches are static (continuous batching off) and the batch is the one within the
    targets that carries the most requests (``_static_batch``); ``req_s`` stays the
    continuous figure at that batch (the caller scales it). The per-configuration constants and the
    TPOT-limited batch (which the KV budget does not change) are cached in bounded dicts.
    """
    if not (type(target_tpot_s) in (float, int) and target_tpot_s > 0.0) and not (
        isinstance(target_tpot_s, (int, float)) and not isinstance(target_tpot_s, bool)
        and 0.0 < target_tpot_s < math.inf
    ):
        raise InputError("target_tpot_s", target_tpot_s, "a number > 0")
    _, _, rep, st, prefill, floor_step = _configured(
        model, gpu, tp, pp, ep, precision, kv_precision, engine, calibration,
        input_tokens, output_tokens, prefill_tokens, tuning, arrivals)
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
    q = slo_percentile
    arr = arrivals if arrivals is not None else POISSON
    osl = float(output_tokens)
    skey = (id(st), tau) if q is None else (id(st), tau, q, arr)
    sol = _SOLVES.get(skey)
    if sol is None:
        if len(_SOLVES) >= _CACHE_LIMIT:
            _SOLVES.clear()
        b_slo, s_slo = _batch_for(st, tau, float(rep.max_seqs))
        q_slo = s_slo
        if q is not None:  # the percentile, not the mean, within the target
            b_q, q_slo = _percentile_batch(st, b_slo, tau, osl, q, arr, float(rep.max_seqs))
            if b_q != b_slo:
                b_slo, s_slo = b_q, (_step_s(st, float(b_q)) if b_q >= 1 else s_slo)
        # the mean batch between the whole one found and the next (issue 22: a whole batch
        # let longer outputs need fewer GPUs)
        b_slo, s_slo, q_slo = _mean_batch(st, b_slo, s_slo, q_slo, tau, osl, q, arr, float(rep.max_seqs))
        sol = _SOLVES[skey] = (st, b_slo, s_slo, [None], q_slo, {})  # st held: its id stays unique
    b_slo, s_slo, bind_box = sol[1], sol[2], sol[3]
    if b_slo < 1:  # one sequence's percentile TPOT misses the target
        return ReplicaCapacity(False, 0, max_batch, floor, floor, 0.0, 0.0, 0.0, prefill,
                               gpus, _binding(rep, st, 1.0))
    if b_slo <= max_batch:
        batch, step, step_q = b_slo, s_slo, sol[4]
    else:  # the KV budget holds fewer: the batch cannot swing above what fits either
        batch, step = max_batch, _step_s(st, max_batch)
        step_q = step if q is None else tpot_quantile_step(st, float(batch), osl, q, arr, float(max_batch))
    static_binds = False  # the static batch stopped below every limit
    if static_output is not None and (batch >= 2 or batch != int(batch)):
        # a static batch is a whole number of requests
        whole = int(batch)
        batch = _static_batch(st, prefill, osl, whole, static_output) if batch >= 2 else whole
        static_binds = batch < whole
        step = _step_s(st, batch)
        step_q = step if q is None else tpot_quantile_step(st, float(batch), osl, q, arr, float(rep.max_seqs))
    tpot = step / a
    req = batch / (prefill + osl * tpot)  # Little: slots / time a request holds one
    chunks = rep_chunks(rep, st)
    ranks = rep.dp
    first = rep.request_s
    batched = _batched_prefill_s(rep, st) if arr.kind == "closed" else 0.0
    if target_ttft_s is not None:
        # The largest batch meeting BOTH targets: TTFT grows with the batch (longer steps,
        # more arrivals per second), so the TTFT-limited batch is found once below the
        # TPOT-limited one and cached with it (it does not depend on the KV budget); the
        # answer is the smaller of it and the budget's batch. (Failing here instead made
        # looser TPOT targets infeasible where tighter ones were not.)
        tt = sol[5].get(target_ttft_s)
        if tt is None:
            tt = sol[5][target_ttft_s] = _ttft_batch(st, b_slo, target_ttft_s, prefill, chunks, ranks, osl,
                                                     first, q, arr, batched, float(rep.max_seqs), (s_slo, sol[4]),
                                                     rep.queue_scale)
        if tt[0] <= 0.0:
            return ReplicaCapacity(False, 0, max_batch, floor, floor, 0.0, 0.0, 0.0, prefill,
                                   gpus, TTFT_BINDS, first, chunks, ranks)
        if tt[0] < batch:
            mean, step, step_q = tt
            binding = TTFT_BINDS
            if static_output is not None and mean >= 1.0:  # a static batch is a whole number of requests
                whole = int(mean)
                mean = float(_static_batch(st, prefill, osl, whole, static_output) if mean >= 2 else whole)
                binding = STATIC_BINDS if mean < whole else TTFT_BINDS
                step = _step_s(st, mean)
                step_q = step if q is None else tpot_quantile_step(st, mean, osl, q, arr, float(rep.max_seqs))
            tpot = step / a
            req = mean / (prefill + osl * tpot)  # the mean batch the TTFT target allows (Little)
            out = req * osl
            # the whole batch shown: at least the one sequence a running replica holds
            return ReplicaCapacity(True, max(1, int(mean)), max_batch, tpot, floor, out, out / gpus, req, prefill,
                                   gpus, binding, first, chunks, ranks, step_q / a, batched, rep.queue_scale,
                                   mean)
    if static_binds:
        binding = STATIC_BINDS
    elif batch >= max_batch and max_batch == kv_fit:
        binding = "memory capacity"
    elif batch >= rep.max_seqs:
        binding = ENGINE_SEQS_BINDS
    elif batch == b_slo:
        binding = bind_box[0] or _binding(rep, st, batch)
        bind_box[0] = binding
    else:
        binding = _binding(rep, st, batch)
    out = req * osl
    tq = step_q / a
    return ReplicaCapacity(True, int(batch), max_batch, tpot, floor, out, out / gpus, req, prefill,
                           gpus, binding, first, chunks, ranks, tq, batched, rep.queue_scale, float(batch))
