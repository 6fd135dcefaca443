"""Traffic: requests per second, in-flight requests, token demand (course.md §5, §10.3 steps 3, 12),
and what the output-length law does to static batches.

    rps          = users × requests per user per minute ÷ 60
    inflight     = rps × (output tokens × TPOT) × burst            (Little's law, course step 3)
    demand_tok_s = rps × (prompt + output tokens) × burst           (course step 12)

Output lengths are exponential with mean μ capped at c (optimizations.py's docstring says
why); a static batch of B runs until its longest request ends, so the share of its slot-steps
that produce a token is u / Σ_{k=1..B} u^k / k with u = 1 − e^(−c/μ) (1 / H_B uncapped).

The course's Little's law counts only decode time (output × TPOT) as a request's time in
the system; xlsizer keeps that for the course method and leaves the expected value
unrounded (133.3 in-flight for the worked example; the course engine rounds up to 134).
"""

from __future__ import annotations

import math

from xlsizer.units import SECONDS_PER_MINUTE


def requests_per_second(users: float, requests_per_user_per_minute: float) -> float:
    """Average request arrival rate, requests/s."""
    return users * requests_per_user_per_minute / SECONDS_PER_MINUTE


def inflight_requests(rps: float, time_in_system_s: float, burst: float) -> float:
    """Concurrent requests at peak by Little's law: L = λ × W, scaled by the burst factor."""
    return rps * time_in_system_s * burst


def token_demand_per_s(rps: float, prompt_tokens: float, output_tokens: float, burst: float) -> float:
    """Prompt plus output tokens per second the deployment must process at peak."""
    return rps * (prompt_tokens + output_tokens) * burst


_FRACTIONS: dict[tuple[float, float], tuple[list[float], list[float]]] = {}


def static_useful_fractions(batch: int, mean_out: float, cap_out: float) -> list[float]:
    """``static_useful_fraction`` for every batch 1..``batch`` (at least; one running sum kept
    per output law and extended on demand: the static batch search in solver.py reads them
    all). The list is shared: read it, do not change it.

    The running sum and power are kept with the list, so extending it gives the same bits as
    building it in one go: recovering the sum as u / last fraction and the power as u ** k
    differed in the last bit, which made an answer depend on what was sized before it."""
    key = (mean_out, cap_out)
    hit = _FRACTIONS.get(key)
    if hit is None:
        if len(_FRACTIONS) >= 256:
            _FRACTIONS.clear()
        hit = _FRACTIONS[key] = ([], [1.0, 0.0])  # fractions; [u ** k, running sum] at k = len
    out, state = hit
    n = max(batch, 1)
    if len(out) < n:
        u = 1.0 - math.exp(-cap_out / mean_out) if cap_out < math.inf else 1.0
        if u <= 0.0:
            out += [1.0] * (n - len(out))
            return out
        p, s = state
        for k in range(len(out) + 1, n + 1):
            p *= u
            if p >= 1e-12:  # past it the sum no longer moves in double precision
                s += p / k
            out.append(u / s)
        state[0], state[1] = p, s
    return out


def static_useful_fraction(batch: float, mean_out: float, cap_out: float) -> float:
    """Share of a static batch's slot-steps that produce a token: E[min(X, c)] / E[min(max of
    B, c)] for exponential output lengths X of mean ``mean_out`` capped at ``cap_out``."""
    b = max(int(batch), 1)
    return static_useful_fractions(b, mean_out, cap_out)[b - 1]
