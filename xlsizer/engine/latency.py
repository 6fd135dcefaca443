"""Latency percentiles: TTFT and TPOT as distributions, not just means (issue 22).

A planner's SLO is a percentile ("p95 TTFT under 1.5 s"). Four things spread a request's
latency around the mean that ``queueing.py`` and ``step.py`` give; each term below is a
closed form, so the sizing stays a few microseconds per candidate.

**Arrivals** (``Arrivals``): ``poisson`` (independent users: exponential inter-arrival
times, squared coefficient of variation c_a² = 1), ``bursty`` (a renewal process with a
stated c_a² > 1) or ``closed`` (a fixed population of clients, each sending its next request
when its last one ends, as serving benchmarks run).

**TTFT = wait + prefill + chunk steps + the step running on arrival.**

- Wait for the scheduler (each attention rank is one server whose service time is one
  prompt's prefill S, deterministic for prompts of the average length): the mean is
  Pollaczek-Khinchine for Poisson arrivals, E[W] = ρS/(2(1 − ρ)), and the Kingman /
  Allen-Cunneen G/G/1 approximation for bursty ones, E[W] = (c_a² + c_s²)/2 × ρS/(1 − ρ)
  (Kingman 1961; Allen 1990, *Probability, Statistics and Queueing Theory*, §6.3), with
  c_s² = 0 (equal prompts). Its percentile: a request waits at all with probability ρ (the
  server is busy; exact for M/G/1 by PASTA, the usual approximation for G/G/1), and a wait,
  once it happens, is close to exponential with mean E[W]/ρ (the heavy-traffic limit of
  every G/G/1 queue, Kingman 1962; exact for M/M/1). So

      P(W > t) = ρ exp(−ρ t / E[W]),   W_q = E[W]/ρ × ln(ρ / (1 − q))  (0 when 1 − q ≥ ρ).

  For M/D/1 the true tail decays faster than this exponential (decay rate θ with
  λ(e^{θS} − 1) = θ, above 2(1 − ρ)/S), so W_q errs on the safe side; the tests compare it
  with Erlang's exact M/D/1 distribution (``md1_wait_cdf``).
  A closed loop of n clients per rank has no unbounded queue: mean wait from exact mean
  value analysis (``queueing.closed_loop_response``), the same exponential tail.
- The step running when the request arrives is uniform on [0, one step]: its q-quantile
  is q × step. Adding the quantiles of independent parts overstates the quantile of the
  sum (by at most one step here): a safe-side bound.

**TPOT of a request = the mean of its decode steps.** Two things make one request's steps
longer than another's:

- Chunked prefill: a step that carries a prompt chunk is longer (s_c) than a decode-only
  step (s_d), and a share f of the steps carries one (``step.step_parts``). Over a request's
  n = output tokens steps the number of chunk steps is binomial(n, f), so its TPOT has
  standard deviation (s_c − s_d) × sqrt(f(1 − f)/n).
- Batch composition: with random arrivals the number of sequences decoding varies around
  its mean B. For Poisson arrivals and a fixed holding time (M/G/∞) it is Poisson(B); the
  average a request sees over its own life (the holding time) has variance 2B/3 (from the
  triangular autocovariance B(1 − τ/D) of M/D/∞, averaged over a window D); for renewal
  arrivals the count's variance scales with c_a² (counting-process asymptotics); for a
  closed loop the population is fixed (0). The step time's slope turns it into seconds.

The two are independent; their sum is close to normal over hundreds of steps (central
limit theorem), so TPOT_q = mean + z_q × sd, z_q the standard normal quantile, capped at a
step that always carries a chunk at the upper batch.

**Spread of lengths** (``Arrivals.length_cv``, the coefficient of variation of prompt and
output lengths; 0 = every request at the averages, as serving benchmarks run them). Lengths
are taken as lognormal with mean 1 and that CV (σ² = ln(1 + CV²)), the usual fit of LLM
request lengths and the one with a closed-form quantile, L_q = exp(σ z_q − σ²/2). Three terms
change, each on the safe side:

- the queue: a prompt's prefill time grows with its length, so its squared CV is taken as the
  lengths' (c_s² = CV²; exact for a prefill proportional to the tokens, an upper bound with a
  fixed part) in Pollaczek-Khinchine / Kingman: E[W] = (c_a² + c_s²)/2 × ρS/(1 − ρ);
- the request's own prefill and chunk steps at the length quantile, S × L_q and
  ⌈chunks × L_q⌉ (added to the wait's quantile: a sum of quantiles, again an upper bound);
- TPOT: a shorter answer averages over fewer steps, E[1/n] = (1 + CV²)/mean for lognormal n,
  and its window over the batch is no longer the typical one, so the batch's time-average is
  given no averaging credit (its variance B, the count's own: an average never varies more
  than the point value).

Percentiles allowed (``PERCENTILES``): 50 (median), 90, 95, 99, 99.9. At 50 the TPOT
percentile equals the mean (z = 0) and the TTFT median drops the queue wait while fewer than
half of the requests wait.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist
from typing import NamedTuple, Protocol

from xlsizer.engine.queueing import closed_loop_response, gg1_mean_wait, ttft_closed_loop
from xlsizer.engine.step import _Step, _step_s, step_parts
from xlsizer.errors import InputError

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)
"""SLO percentiles a sizing accepts (the ones SLOs are written in; MLPerf uses p99)."""

DEFAULT_PERCENTILE: float = 95.0
"""Default SLO percentile: p95, the level most published serving SLOs and cloud LLM
latency dashboards quote (a judgement call, stated in every headline; 99 = MLPerf's)."""

ARRIVALS: tuple[str, ...] = ("poisson", "bursty", "closed")

BATCH_WINDOW_VARIANCE: float = 2.0 / 3.0
"""Variance of the time-average of an M/D/∞ count over one holding time, per unit of its mean
(∫∫ (1 − |t − s|/D) ds dt / D² = 2/3; the triangular autocovariance of M/D/∞)."""


class Arrivals(NamedTuple):
    """The traffic as the latency model takes it: how requests arrive (``kind`` in
    ``ARRIVALS``; ``scv`` = squared coefficient of variation of inter-arrival times, 1 for
    Poisson, > 1 for bursty, unused when closed) and how their lengths spread
    (``length_cv``, the coefficient of variation of prompt and output lengths; 0 = fixed)."""

    kind: str = "poisson"
    scv: float = 1.0
    length_cv: float = 0.0


POISSON = Arrivals()


LENGTH_CV_MAX: float = 4.0
"""Largest length spread accepted (CV 4: a lognormal whose p99 is ~12x its mean; beyond it the
averages say little about the load)."""


@lru_cache(maxsize=64, typed=True)  # typed: TRUE must not share 1's entry (and skip its check)
def arrivals(kind: str = "poisson", scv: float | None = None, length_cv: float = 0.0) -> Arrivals:
    """Validated ``Arrivals``: poisson (c_a² = 1), bursty (needs ``scv`` > 1), closed; lengths
    spread with coefficient of variation ``length_cv`` (0 to ``LENGTH_CV_MAX``)."""
    k = str(kind).strip().lower()
    if k not in ARRIVALS:
        raise InputError("arrivals", kind, "poisson, bursty or closed")
    if isinstance(length_cv, bool) or not isinstance(length_cv, (int, float)) or not (
            0.0 <= length_cv <= LENGTH_CV_MAX):
        raise InputError("length_cv", length_cv, f"a number from 0 (fixed lengths) to {LENGTH_CV_MAX:g}")
    cv = float(length_cv)
    if k == "bursty":
        if scv is None or not (isinstance(scv, (int, float)) and 1.0 < scv <= 100.0):
            raise InputError("arrival_scv", scv, "a number above 1 and at most 100 for bursty arrivals "
                             "(squared coefficient of variation of the time between requests)")
        return Arrivals("bursty", float(scv), cv)
    return Arrivals(k, 1.0, cv)


@lru_cache(maxsize=64)
def length_quantile(cv: float, q: float | None) -> float:
    """L_q / mean of a lognormal length with coefficient of variation ``cv`` at the q-th
    percentile (1 for fixed lengths or the mean, ``q`` None): exp(σ z_q − σ²/2),
    σ² = ln(1 + cv²)."""
    if cv <= 0.0 or q is None:
        return 1.0
    s2 = math.log1p(cv * cv)
    return math.exp(math.sqrt(s2) * z_score(q) - s2 / 2.0)


def check_percentile(q: object) -> float:
    """The percentile as a float if it is one of ``PERCENTILES``, else ``InputError``."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or float(q) not in PERCENTILES:
        raise InputError("slo_percentile", q, "one of 50, 90, 95, 99, 99.9 (50 = the median)")
    return float(q)


@lru_cache(maxsize=16)
def z_score(q: float) -> float:
    """Standard normal quantile at ``q`` percent (0 at 50)."""
    return NormalDist().inv_cdf(q / 100.0) if q != 50.0 else 0.0


def wait_quantile(mean_wait_s: float, p_wait: float, q: float) -> float:
    """q-th percentile, s, of a wait that is 0 with probability 1 − ``p_wait`` and else
    exponential with mean ``mean_wait_s`` / ``p_wait`` (module docstring)."""
    if mean_wait_s <= 0.0 or p_wait <= 0.0:
        return 0.0
    if mean_wait_s == math.inf:
        return math.inf
    tail = 1.0 - q / 100.0
    if tail >= p_wait:
        return 0.0
    return mean_wait_s / p_wait * math.log(p_wait / tail)


def ttft_open(rate_per_rank: float, prefill_s: float, chunks: float, step_s: float,
              q: float | None, arr: Arrivals = POISSON, queue_scale: float = 1.0) -> float:
    """TTFT, s, of open arrivals (Poisson or bursty) at ``rate_per_rank`` req/s on one
    attention rank: the mean (``q`` None) or the q-th percentile. Without an engine's
    fixed first-token overhead (the caller adds it). The queue's server holds each prompt
    ``queue_scale`` × ``prefill_s`` (``queueing`` module docstring; 1 = the physics alone)."""
    cv = arr.length_cv
    service = prefill_s * queue_scale
    w = gg1_mean_wait(rate_per_rank, service, arr.scv, cv * cv)
    if q is None:
        return w + prefill_s + (chunks + 0.5) * step_s
    wq = wait_quantile(w, min(rate_per_rank * service, 1.0), q)
    if cv > 0.0:  # the request's own prompt at the length quantile (module docstring)
        r = length_quantile(cv, q)
        return wq + prefill_s * r + (math.ceil(chunks * r) + q / 100.0) * step_s
    return wq + prefill_s + (chunks + q / 100.0) * step_s


def md1_wait_cdf(t: float, rate: float, service_s: float) -> float:
    """Exact P(W ≤ t) of an M/D/1 queue (Erlang 1909; Gross and Harris, *Fundamentals of
    Queueing Theory*, M/D/1 waiting times): (1 − ρ) Σ_{k=0}^{⌊t/D⌋} [λ(kD − t)]^k / k! ×
    e^{−λ(kD − t)}. Alternating terms: accurate while t/D stays below ~30 (a reference for
    the tests, not the sizing's path)."""
    rho = rate * service_s
    if rho >= 1.0:
        return 0.0
    total = 0.0
    for k in range(int(t / service_s) + 1):
        x = rate * (k * service_s - t)  # <= 0
        mag = math.exp(k * math.log(-x) - math.lgamma(k + 1.0) - x) if x < 0.0 else (1.0 if k == 0 else 0.0)
        total += -mag if k % 2 else mag
    return (1.0 - rho) * total


def tpot_quantile_step(st: _Step, b: float, out_tokens: float, q: float, arr: Arrivals,
                       b_max: float) -> float:
    """The q-th percentile, s, of one request's mean step time at a mean batch ``b`` (at most
    ``b_max`` sequences fit): mean + z_q × sd (module docstring), capped at a step that
    always carries a chunk at the upper batch. Equals ``_step_s`` at q = 50."""
    return tpot_quantile_slope(st, b, out_tokens, q, arr, b_max)[0]


def tpot_quantile_slope(st: _Step, b: float, out_tokens: float, q: float, arr: Arrivals,
                        b_max: float) -> tuple[float, float]:
    """(``tpot_quantile_step``, the mean step's slope in s per sequence near b, 0 when not
    computed): the solver's Newton steps reuse the slope."""
    s_dec, s_chunk, f = step_parts(st, b)
    mean = (1.0 - f) * s_dec + f * s_chunk  # = _step_s(st, b)
    z = z_score(q)
    if z <= 0.0:
        return mean, 0.0
    cv2 = arr.length_cv * arr.length_cv
    # E[1/n] over the answers' lengths: 1/mean for fixed ones, (1 + CV²)/mean for lognormal
    var = ((s_chunk - s_dec) ** 2 * f * (1.0 - f) * (1.0 + cv2) / max(out_tokens, 1.0)
           if 0.0 < f < 1.0 else 0.0)
    b_hi = b
    slope = 0.0
    if arr.kind != "closed":
        sd_b = math.sqrt((BATCH_WINDOW_VARIANCE if cv2 == 0.0 else 1.0) * arr.scv * b)
        b_up = min(b + sd_b, b_max)
        if b_up > b:
            sig = _step_s(st, b_up) - mean  # one standard deviation of the batch, in seconds
            var += sig * sig
            slope = sig / (b_up - b)
        b_hi = min(b + z * sd_b, b_max)
    out = mean + z * math.sqrt(var)
    if out <= s_chunk:
        return out, slope
    cap = step_parts(st, b_hi)[1] if b_hi > b else s_chunk
    return (out if out < cap else max(cap, mean)), slope


def ttft_closed(clients_per_rank: float, prefill_s: float, batched_prefill_s: float, chunks: float,
                step_s: float, think_s: float, q: float | None, length_cv: float = 0.0,
                queue_scale: float = 1.0) -> float:
    """TTFT, s, of a closed loop of ``clients_per_rank`` clients (steady traffic): the mean
    (``q`` None, ``queueing.ttft_closed_loop``) or the q-th percentile (mean wait from exact
    MVA, waiting with probability = the prefill server's utilization, exponential tail). The
    server holds each queued prompt ``queue_scale`` × ``batched_prefill_s``."""
    if q is None:
        return ttft_closed_loop(clients_per_rank, prefill_s, batched_prefill_s, chunks, step_s, think_s,
                                queue_scale=queue_scale)
    service = batched_prefill_s * queue_scale
    r = closed_loop_response(clients_per_rank, service, think_s)
    wait = max(r - service, 0.0)
    n = max(round(clients_per_rank), 1)
    util = min(n * service / (r + think_s), 1.0) if r + think_s > 0.0 else 0.0
    if length_cv > 0.0:  # the request's own prompt at the length quantile
        lq = length_quantile(length_cv, q)
        return prefill_s * lq + wait_quantile(wait, util, q) + (math.ceil(chunks * lq) + q / 100.0) * step_s
    return prefill_s + wait_quantile(wait, util, q) + (chunks + q / 100.0) * step_s


def max_rate_within_wait(service_s: float, slack_s: float, q: float | None, arr: Arrivals = POISSON) -> float:
    """Largest arrival rate, req/s, at which one server of deterministic service ``service_s``
    keeps the mean wait (``q`` None) or its q-th percentile within ``slack_s`` (open arrivals:
    Poisson or bursty). The wait grows with the rate, so: closed form for the mean, bisection
    on the utilization for a percentile (the disaggregated prefill pool, once per sizing)."""
    if service_s <= 0.0 or slack_s <= 0.0:
        return 0.0 if service_s > 0.0 else math.inf
    c = (arr.scv + arr.length_cv * arr.length_cv) / 2.0
    if q is None:  # c·ρS/(1 − ρ) = slack  ->  ρ = slack / (slack + c·S)
        return slack_s / (slack_s + c * service_s) / service_s
    lo, hi = 0.0, 1.0
    for _ in range(40):
        rho = (lo + hi) / 2.0
        w = c * rho * service_s / (1.0 - rho)
        if wait_quantile(w, rho, q) <= slack_s:
            lo = rho
        else:
            hi = rho
    return lo / service_s


class PrefillQueue(Protocol):
    """What ``ttft_at_load_q`` reads of a replica's capacity (solver.ReplicaCapacity has it):
    a protocol, so this module needs nothing from the solver that imports it."""

    feasible: bool
    batch: int  # sequences decoding together at capacity
    req_s: float  # requests/s the replica carries at capacity
    ranks: int  # attention data-parallel ranks, each with its own prefill queue
    prefill_s: float  # one prompt's prefill, s
    prefill_chunks: float  # engine steps one prompt runs in
    tpot_s: float  # decode step at capacity, s
    first_token_s: float  # fixed engine overhead to a first token, s
    batched_prefill_s: float  # a closed loop's prompts prefilled together, s (``ttft_closed``)
    queue_scale: float  # the queue's service time / the modelled one (calibration ``queue_service_scale``)


def ttft_at_load_q(capacity: PrefillQueue, offered_rps: float, q: float | None,
                   arr: Arrivals = POISSON) -> float:
    """TTFT, s, when one replica receives ``offered_rps`` requests/s: the mean (``q`` None)
    or the q-th percentile, for the given arrivals (``ttft_open`` / ``ttft_closed`` on each
    attention rank). ``inf`` past the replica's capacity."""
    if not offered_rps >= 0.0:
        raise InputError("offered_rps", offered_rps, ">= 0")
    c = capacity
    if not c.feasible or offered_rps > c.req_s * (1.0 + 1e-9):
        return math.inf
    if arr.kind == "closed":
        hold = c.batch / c.req_s  # seconds a request holds a slot (Little)
        clients = c.batch * offered_rps / c.req_s / c.ranks
        return ttft_closed(clients, c.prefill_s, c.batched_prefill_s, c.prefill_chunks, c.tpot_s,
                           max(hold - c.prefill_s, 0.0), q, arr.length_cv, c.queue_scale) + c.first_token_s
    return ttft_open(offered_rps / c.ranks, c.prefill_s, c.prefill_chunks, c.tpot_s, q, arr,
                     c.queue_scale) + c.first_token_s


def ttft_at_load(capacity: PrefillQueue, offered_rps: float) -> float:
    """Mean TTFT, s, when one replica receives ``offered_rps`` requests/s (Poisson arrivals):
    ``ttft_at_load_q`` at the mean. ``inf`` past the replica's capacity or at ρ ≥ 1."""
    return ttft_at_load_q(capacity, offered_rps, None)
