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
request lengths and the one with a closed-form quantile, L_q = exp(σ z_q − σ²/2). Four terms
change:

- the queue: a prompt's prefill time grows with its length, so its squared CV is taken as the
  lengths' (c_s² = CV²; exact for a prefill proportional to the tokens, an upper bound with a
  fixed part) in Pollaczek-Khinchine / Kingman: E[W] = (c_a² + c_s²)/2 × ρS/(1 − ρ);
- the wait, once there is one, is more variable than exponential when long prompts mix with
  short ones: its squared CV from the M/G/1 wait's first two moments (Takács 1962,
  ``wait_scv``), a balanced two-phase hyperexponential above 1, the exponential below;
- TTFT's percentile is the percentile of the sum of that wait and the request's own prefill
  and chunk steps, (S + chunks × step) × L for its length L (``spread_quantile``), computed,
  not the sum of the two percentiles (which puts the longest prompts in the longest waits:
  30-40% high at p99 when the prompt's prefill is a large share). Against a simulated M/G/1
  queue (tests/test_latency.py) p95 and p99 within 3% below to 10% above for CV ≤ 1, 15%
  below to 25% above at CV 2;
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
from itertools import pairwise
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
    output_cv: float | None = None
    """The outputs' own coefficient of variation where it differs from the prompts' (a
    benchmark dataset whose two spreads are known, ``xlsizer.mlperf``); None = ``length_cv``
    for both, as a sizing's single input states it."""

    @property
    def answer_cv(self) -> float:
        """The coefficient of variation of output lengths: ``output_cv``, else ``length_cv``."""
        return self.length_cv if self.output_cv is None else self.output_cv


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
    # a spread whose square underflows (below about 1e-154) is no spread: its lognormal has no
    # width to divide by (a length_cv of 1e-320 divided by zero)
    cv = float(length_cv) if length_cv * length_cv > 0.0 else 0.0
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


def _gauss_legendre(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes and weights of n-point Gauss-Legendre quadrature on [0, 1] (Newton on the
    Legendre recurrence; Golub-Welsch gives the same to rounding)."""
    xs, ws = [], []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1.0)
            dx = p1 / dp
            x -= dx
            if abs(dx) < 1e-15:
                break
        xs.append((1.0 - x) / 2.0)
        ws.append(1.0 / ((1.0 - x * x) * dp * dp))  # 2/((1-x²)P'²), halved for [0, 1]
    return tuple(xs), tuple(ws)


_GL_NODES, _GL_WEIGHTS = _gauss_legendre(6)
"""6-point Gauss-Legendre rule on [0, 1], applied panel by panel in ``_sum_tail``."""

_Z_FLOOR = -8.0
"""Standard-normal score below which a length's share is dropped (Φ(−8) ≈ 6e-16)."""

_Z_GRID: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)
"""Panel edges of ``_sum_tail``'s integral in the normal score of the length: the density's
bulk in panels two scores wide, which 6 nodes resolve (edges at ±1 too, and at z_t − 2/κ and
8/κ, changed no tail probability by more than 6e-5 of it over 20,000 random cases, and cost
half again the time)."""

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def wait_scv(rho: float, cv: float) -> float:
    """Squared coefficient of variation of a wait, once there is one, in an M/G/1 queue whose
    service is lognormal with mean S and coefficient of variation ``cv`` (prompts of spread
    lengths), at utilization ``rho``; floored at 1 (the exponential of ``wait_quantile``).

    From the first two moments of the M/G/1 wait (Takács 1962: E[W] = λE[S²]/(2(1 − ρ)),
    E[W²] = 2E[W]² + λE[S³]/(3(1 − ρ))), with P(wait) = ρ and, for a lognormal of mean 1,
    E[S²] = 1 + cv², E[S³] = (1 + cv²)³: SCV = 2ρ + 4(1 − ρ)(1 + cv²)/3 − 1. At cv = 0
    (equal prompts) it is 1/3 + 2ρ/3 < 1, so the exponential is the safe side there; long
    prompts among short ones make waits more variable than exponential (cv 1, ρ 0.3: 1.47)."""
    return max(1.0, 2.0 * rho + 4.0 * (1.0 - rho) * (1.0 + cv * cv) / 3.0 - 1.0)


def _h2(mean: float, scv: float) -> tuple[tuple[float, float], ...]:
    """(probability, mean) of the phases of a two-phase hyperexponential with the given mean
    and squared CV ≥ 1, balanced means (each phase carries half the mean; Whitt 1982); one
    exponential phase at scv 1."""
    if scv <= 1.0:
        return ((1.0, mean),)
    p1 = 0.5 * (1.0 + math.sqrt((scv - 1.0) / (scv + 1.0)))
    return ((p1, mean / (2.0 * p1)), (1.0 - p1, mean / (2.0 * (1.0 - p1))))


def _sum_tail(t: float, p_wait: float, phases: tuple[tuple[float, float], ...], a: float, b: float,
              mu: float, sig: float) -> tuple[float, float]:
    """(P(W + a + b·L > t), its derivative in t): W is 0 with probability 1 − ``p_wait``, else
    hyperexponential (``phases``: probability, mean); L lognormal, ln L ~ N(``mu``, ``sig``²),
    or L = 1 when ``b`` is 0 (no spread); W and L independent.

    P = P(a + bL > t) + p_wait Σ p_i E_i, E_i = E[e^{−(t − a − bL)/m_i}; a + bL ≤ t];
    dP/dt = −(1 − p_wait) f(t) − p_wait Σ p_i E_i / m_i (f: the density of a + bL). Each E_i
    is ∫ e^{−(b/m_i)(ℓ_t − ℓ(z))} φ(z) dz over the length's normal score z up to z_t
    (ℓ(z) = e^{μ + σz}, ℓ_t = (t − a)/b), by 6-point Gauss-Legendre on panels that follow both
    factors (the comments below); against a 40,000-point trapezoid rule over 300 random cases
    (CV 0.001-3, own time 1 ms-10 s, waits 1 ms-10 s): within 3e-4 of it (relative)."""
    if t <= a:
        return 1.0, 0.0
    if b <= 0.0:
        e = [pi * math.exp(-(t - a) / m) for pi, m in phases]
        return p_wait * sum(e), -p_wait * sum(x / m for x, (_, m) in zip(e, phases, strict=True))
    lt = (t - a) / b
    zt = (math.log(lt) - mu) / sig
    g = 0.5 * math.erfc(zt / _SQRT2)
    dg = -(1.0 - p_wait) * math.exp(-0.5 * zt * zt) * _INV_SQRT2PI / (sig * lt * b)
    if zt <= _Z_FLOOR:
        return g, dg
    for pi, m in phases:
        # e^{−(b/m)(ℓ_t − ℓ(z))} φ(z) on z ≤ z_t: the exponential's own scale near z_t is
        # 1/κ, κ = (b/m) σ ℓ_t; panels at z_t − 0.5/κ, 4/κ, 32/κ follow it there, and the
        # fixed grid (``_Z_GRID``) follows φ elsewhere
        k = b / m * sig * lt
        edges = {zt, _Z_FLOOR, *(z for z in _Z_GRID if _Z_FLOOR < z < zt),
                 *(zt - d / k for d in (0.5, 4.0, 32.0) if zt - d / k > _Z_FLOOR)}
        zs = sorted(edges)
        acc = 0.0
        for z0, z1 in pairwise(zs):
            h = z1 - z0
            for x, w in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
                z = z0 + x * h
                acc += w * h * math.exp(-(b / m) * (lt - math.exp(mu + sig * z)) - 0.5 * z * z)
        e = p_wait * pi * acc * _INV_SQRT2PI
        g += e
        dg -= e / m
    return g, dg


def _lognormal(cv: float) -> tuple[float, float]:
    """(μ, σ) of ln L for a lognormal length L of mean 1 and coefficient of variation ``cv``."""
    s2 = math.log1p(cv * cv)
    return -s2 / 2.0, math.sqrt(s2)


def _wait_bound(phases: tuple[tuple[float, float], ...], p_wait: float, tail: float) -> float:
    """An upper bound, s, on the wait's (1 − ``tail``) quantile: P(W > w) ≤ p·e^{−w/m} for the
    largest phase mean m."""
    return max(m for _, m in phases) * math.log(p_wait / tail) if p_wait > tail else 0.0


_QUANTILE_TOL = 1e-5
"""Relative precision of ``spread_quantile`` (0.001%: far below any latency target's grain)."""


def spread_quantile(mean_wait_s: float, p_wait: float, fixed_s: float, scaled_s: float, cv: float,
                    q: float) -> float:
    """The q-th percentile, s, of W + ``fixed_s`` + ``scaled_s`` × L: a wait W (0 with
    probability 1 − ``p_wait``, else of mean ``mean_wait_s`` / ``p_wait`` and squared CV
    ``wait_scv``: a balanced two-phase hyperexponential, the exponential of ``wait_quantile``
    at SCV 1) plus a request's own time, which grows with its length L (lognormal, mean 1,
    coefficient of variation ``cv`` > 0), independent of the wait (first come, first served:
    a request's wait depends on the prompts before it, not on its own).

    The quantile of the sum, not the sum of the quantiles: the latter (``wait_quantile`` +
    ``scaled_s`` × ``length_quantile``) puts the longest prompts in the longest waits and
    overstates the p99 by 30-40% when the prompt's own prefill is a large share of the TTFT
    (a simulated M/G/1 queue, tests/test_latency.py). Solved on P(sum > t) = 1 − q between
    the own time's quantile (below) and it plus an upper bound on the wait's quantile (above,
    widened until it is):
    Newton on log P(sum > t), bisection when a step leaves the bracket, to 1e-5 of the answer;
    ~0.1 ms a call, so only spread lengths pay it."""
    own_q = fixed_s + scaled_s * length_quantile(cv, q)
    if mean_wait_s <= 0.0 or p_wait <= 0.0:
        return own_q
    if mean_wait_s == math.inf:
        return math.inf
    mu, sig = _lognormal(cv)
    phases = _h2(mean_wait_s / p_wait, wait_scv(p_wait, cv))
    tail = 1.0 - q / 100.0
    lo, t = own_q, own_q + _wait_bound(phases, p_wait, tail)
    g, dg = _sum_tail(t, p_wait, phases, fixed_s, scaled_s, mu, sig)
    for _ in range(60):  # the sum of the quantiles is above the answer in practice, not by law
        if g <= tail:
            break
        lo, t = t, t + max(t - fixed_s, mean_wait_s / p_wait)
        g, dg = _sum_tail(t, p_wait, phases, fixed_s, scaled_s, mu, sig)
    hi = t
    for _ in range(60):
        nxt = t - (math.log(g) - math.log(tail)) * g / dg if g > 0.0 and dg < 0.0 else lo
        if not lo < nxt < hi:
            nxt = (lo + hi) / 2.0
        elif abs(nxt - t) <= _QUANTILE_TOL * t:
            return nxt  # Newton has converged (to well within the tolerance)
        t = nxt
        g, dg = _sum_tail(t, p_wait, phases, fixed_s, scaled_s, mu, sig)
        if g > tail:
            lo = t
        else:
            hi = t
        if hi - lo <= _QUANTILE_TOL * hi:
            break
    return hi


def spread_within(mean_wait_s: float, p_wait: float, fixed_s: float, scaled_s: float, cv: float,
                  q: float, budget_s: float) -> bool:
    """Whether ``spread_quantile`` (same arguments) is at most ``budget_s``: P(sum > budget) at
    most 1 − q, one evaluation instead of a root search (the solver asks this at every batch
    it tries)."""
    if mean_wait_s <= 0.0 or p_wait <= 0.0:
        return fixed_s + scaled_s * length_quantile(cv, q) <= budget_s
    if mean_wait_s == math.inf:
        return False
    tail = 1.0 - q / 100.0
    phases = _h2(mean_wait_s / p_wait, wait_scv(p_wait, cv))
    # settled without the integral where it can be (most of a solver's probes are far off):
    # the own time alone, or the wait with the least own time, already past the budget
    slack = budget_s - fixed_s
    if scaled_s * length_quantile(cv, q) > slack or (
            slack <= 0.0 or p_wait * sum(pi * math.exp(-slack / m) for pi, m in phases) > tail):
        return False
    # the union bound, P(W + O > w + o) <= P(W > w) + P(O > o), at half the tail each
    if _wait_bound(phases, p_wait, tail / 2.0) + scaled_s * length_quantile(cv, 100.0 - 50.0 * tail) <= slack:
        return True
    return _sum_tail(budget_s, p_wait, phases, fixed_s, scaled_s, *_lognormal(cv))[0] <= tail


def _open_wait(rate_per_rank: float, prefill_s: float, arr: Arrivals, queue_scale: float) -> tuple[float, float]:
    """(mean wait, s; probability of waiting) of open arrivals on one attention rank."""
    service = prefill_s * queue_scale
    cv = arr.length_cv
    return gg1_mean_wait(rate_per_rank, service, arr.scv, cv * cv), min(rate_per_rank * service, 1.0)


def ttft_open_within(rate_per_rank: float, prefill_s: float, chunks: float, step_s: float, q: float | None,
                     arr: Arrivals, queue_scale: float, budget_s: float) -> bool:
    """``ttft_open(...)`` ≤ ``budget_s``, without its root search when lengths spread."""
    if q is None or arr.length_cv <= 0.0:
        return ttft_open(rate_per_rank, prefill_s, chunks, step_s, q, arr, queue_scale) <= budget_s
    w, p_wait = _open_wait(rate_per_rank, prefill_s, arr, queue_scale)
    return spread_within(w, p_wait, q / 100.0 * step_s, prefill_s + chunks * step_s, arr.length_cv, q, budget_s)


def ttft_open(rate_per_rank: float, prefill_s: float, chunks: float, step_s: float,
              q: float | None, arr: Arrivals = POISSON, queue_scale: float = 1.0) -> float:
    """TTFT, s, of open arrivals (Poisson or bursty) at ``rate_per_rank`` req/s on one
    attention rank: the mean (``q`` None) or the q-th percentile. Without an engine's
    fixed first-token overhead (the caller adds it). The queue's server holds each prompt
    ``queue_scale`` × ``prefill_s`` (``queueing`` module docstring; 1 = the physics alone)."""
    cv = arr.length_cv
    w, p_wait = _open_wait(rate_per_rank, prefill_s, arr, queue_scale)
    if q is None:
        return w + prefill_s + (chunks + 0.5) * step_s
    if cv > 0.0:  # the request's own prompt and chunk steps grow with its length (module docstring)
        return spread_quantile(w, p_wait, q / 100.0 * step_s, prefill_s + chunks * step_s, cv, q)
    return wait_quantile(w, p_wait, q) + prefill_s + (chunks + q / 100.0) * step_s


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
    out_cv = arr.answer_cv
    cv2 = out_cv * out_cv
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
    MVA, waiting with probability = the prefill server's utilization, exponential tail; with
    spread lengths the percentile of the sum, ``spread_quantile``). The
    server holds each queued prompt ``queue_scale`` × ``batched_prefill_s``."""
    if q is None:
        return ttft_closed_loop(clients_per_rank, prefill_s, batched_prefill_s, chunks, step_s, think_s,
                                queue_scale=queue_scale)
    wait, util = _closed_wait(clients_per_rank, batched_prefill_s, think_s, queue_scale)
    if length_cv > 0.0:  # the request's own prompt and chunk steps grow with its length
        return spread_quantile(wait, util, q / 100.0 * step_s, prefill_s + chunks * step_s, length_cv, q)
    return prefill_s + wait_quantile(wait, util, q) + (chunks + q / 100.0) * step_s


def _closed_wait(clients_per_rank: float, batched_prefill_s: float, think_s: float,
                 queue_scale: float) -> tuple[float, float]:
    """(mean wait, s; probability of waiting = the server's utilization) of a closed loop
    (exact MVA, ``queueing.closed_loop_response``)."""
    service = batched_prefill_s * queue_scale
    r = closed_loop_response(clients_per_rank, service, think_s)
    n = clients_per_rank if clients_per_rank > 1.0 else 1.0  # a mean with a fraction, as R's
    return max(r - service, 0.0), (min(n * service / (r + think_s), 1.0) if r + think_s > 0.0 else 0.0)


def ttft_closed_within(clients_per_rank: float, prefill_s: float, batched_prefill_s: float, chunks: float,
                       step_s: float, think_s: float, q: float | None, length_cv: float, queue_scale: float,
                       budget_s: float) -> bool:
    """``ttft_closed(...)`` ≤ ``budget_s``, without its root search when lengths spread."""
    if q is None or length_cv <= 0.0:
        return ttft_closed(clients_per_rank, prefill_s, batched_prefill_s, chunks, step_s, think_s, q,
                           length_cv, queue_scale) <= budget_s
    wait, util = _closed_wait(clients_per_rank, batched_prefill_s, think_s, queue_scale)
    return spread_within(wait, util, q / 100.0 * step_s, prefill_s + chunks * step_s, length_cv, q, budget_s)


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


def max_rate_within_ttft(service_s: float, own_s: float, budget_s: float, q: float | None,
                         arr: Arrivals = POISSON) -> float:
    """Largest arrival rate, req/s, at which one prefill server (a disaggregated prefill
    replica: its queue's service ``service_s``, a prompt's own prefill ``own_s``) keeps the
    wait plus the prompt's own prefill within ``budget_s``: the mean (``q`` None) or the q-th
    percentile. 0 when the own prefill alone misses it. Equal prompts: the wait within
    ``budget_s`` − ``own_s`` (``max_rate_within_wait``); spread ones: the percentile of the
    sum (``spread_quantile``, as ``ttft_open`` reports it), by bisection on the utilization."""
    cv = arr.length_cv
    if q is None or cv <= 0.0:
        slack = budget_s - own_s
        return max_rate_within_wait(service_s, slack, q, arr) if slack > 0.0 else 0.0
    if not spread_within(0.0, 0.0, 0.0, own_s, cv, q, budget_s):
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(40):
        rho = (lo + hi) / 2.0
        w = gg1_mean_wait(rho / service_s, service_s, arr.scv, cv * cv)
        if spread_within(w, rho, 0.0, own_s, cv, q, budget_s):
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
    out_tok_s: float  # output tokens/s the replica carries at capacity
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
        # as the solver sized it: the mean batch (``batch`` is its whole part) holding a slot
        # each for prefill + osl × TPOT (Little), and a client's think time the (osl − 1) TPOTs
        # of its decode (solver ``_ttft``)
        osl = c.out_tok_s / c.req_s
        clients = (c.prefill_s + osl * c.tpot_s) * offered_rps / c.ranks
        return ttft_closed(clients, c.prefill_s, c.batched_prefill_s, c.prefill_chunks, c.tpot_s,
                           max(osl - 1.0, 0.0) * c.tpot_s, q, arr.length_cv, c.queue_scale) + c.first_token_s
    return ttft_open(offered_rps / c.ranks, c.prefill_s, c.prefill_chunks, c.tpot_s, q, arr,
                     c.queue_scale) + c.first_token_s


def ttft_at_load(capacity: PrefillQueue, offered_rps: float) -> float:
    """Mean TTFT, s, when one replica receives ``offered_rps`` requests/s (Poisson arrivals):
    ``ttft_at_load_q`` at the mean. ``inf`` past the replica's capacity or at ρ ≥ 1."""
    return ttft_at_load_q(capacity, offered_rps, None)
