"""Traffic: requests per second, in-flight requests, token demand (course.md §5, §10.3 steps 3, 12).

    rps          = users × requests per user per minute ÷ 60
    inflight     = rps × (output tokens × TPOT) × burst            (Little's law, course step 3)
    demand_tok_s = rps × (prompt + output tokens) × burst           (course step 12)

The course's Little's law counts only decode time (output × TPOT) as a request's time in
the system; xlsizer keeps that for the course method and leaves the expected value
unrounded (133.3 in-flight for the worked example; the course engine rounds up to 134).
"""

from __future__ import annotations

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
