"""Monotonic properties over random valid inputs (hypothesis): the answers a planner relies on
never move the wrong way.

GPU counts are compared for a fixed GPU. With ``gpu="auto"`` a heavier load can rightly move
the choice to a larger GPU class of which fewer are needed (8x H100 replicas giving way to
8x H200 ones); the automatic choice is checked for never getting cheaper instead (test_cost).
"""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlsizer import InfeasibleError, make_inputs, size
from xlsizer.results import SCENARIOS

MODELS = ["llama-3.1-8b", "llama-3.3-70b", "mixtral-8x7b", "qwen3-32b", "llama-3.1-405b", "deepseek-r1"]

base = st.fixed_dictionaries({
    "model": st.sampled_from(MODELS),
    "precision": st.sampled_from(["fp8", "bf16", "int8"]),
    "concurrent_users": st.integers(1, 5000),
    "requests_per_user_per_minute": st.floats(0.1, 20),
    "avg_prompt_tokens": st.integers(16, 20_000),
    "avg_output_tokens": st.integers(16, 4000),
    "target_tpot_ms": st.sampled_from([20, 30, 40, 50, 80, 100]),
    "burst_factor": st.floats(1, 5),
    "redundancy_mode": st.sampled_from(["N", "N+1", "N+2"]),
    "throughput_source": st.sampled_from(["course-table"]),
    "gpu": st.sampled_from(["h100-sxm", "h200-sxm", "b200", "mi300x", "a100-80gb", "l40s"]),
})

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def total_gpus(d):
    """GPUs per scenario; an infeasible sizing counts as unbounded (it stays infeasible as load grows)."""
    try:
        r = size(make_inputs(d))
    except InfeasibleError:
        return [math.inf] * len(SCENARIOS)
    return [r.scenarios[s].total_gpus for s in SCENARIOS]


def never_fewer(d, field, bigger):
    before = total_gpus(d)
    after = total_gpus({**d, field: bigger})
    assert all(a >= b for a, b in zip(after, before, strict=True)), (field, before, after)


@SETTINGS
@given(base, st.floats(1.01, 4))
def test_more_users_never_fewer_gpus(d, k):
    never_fewer(d, "concurrent_users", min(100_000, d["concurrent_users"] * k))


@SETTINGS
@given(base, st.floats(1.01, 4))
def test_more_requests_per_minute_never_fewer_gpus(d, k):
    never_fewer(d, "requests_per_user_per_minute", min(60, d["requests_per_user_per_minute"] * k))


@SETTINGS
@given(base, st.integers(1, 20_000))
def test_longer_prompts_never_fewer_gpus(d, extra):
    never_fewer(d, "avg_prompt_tokens", min(200_000, d["avg_prompt_tokens"] + extra))


@SETTINGS
@given(base, st.floats(0.01, 5))
def test_larger_burst_never_fewer_gpus(d, extra):
    never_fewer(d, "burst_factor", min(10, d["burst_factor"] + extra))


@SETTINGS
@given(base)
def test_stricter_redundancy_never_fewer_gpus(d):
    order = ["N", "N+1", "N+2"]
    i = order.index(d["redundancy_mode"])
    for stricter in order[i + 1:]:
        never_fewer(d, "redundancy_mode", stricter)


@SETTINGS
@given(base)
def test_fp8_never_needs_more_memory_than_bf16(d):
    try:
        bf16 = size(make_inputs({**d, "precision": "bf16"}))
    except InfeasibleError:
        return  # nothing to compare against; FP8 may or may not fit
    fp8 = size(make_inputs({**d, "precision": "fp8"}))  # must not be infeasible when BF16 fits
    for s in SCENARIOS:
        assert fp8.scenarios[s].memory.vram_gb <= bf16.scenarios[s].memory.vram_gb
