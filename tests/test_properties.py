"""Monotonic properties over random valid inputs (hypothesis): the answers a planner relies on
never move the wrong way.

GPU counts are compared for a fixed GPU. With ``gpu="auto"`` a heavier load can rightly move
the choice to a larger GPU class of which fewer are needed (8x H100 replicas giving way to
8x H200 ones); the automatic choice is checked for never getting cheaper instead (test_cost).
"""

import itertools
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlsizer import InfeasibleError, make_inputs, size
from xlsizer.errors import XlsizerError
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


# --- issue 15: auto never cheaper under more load, FP8 KV, course-table, guardrails -------------

from hypothesis import HealthCheck as _HC  # noqa: E402

from xlsizer.engine.guardrails import PlanTooLargeError  # noqa: E402

AUTO = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3.1-8b", "qwen2.5-14b", "llama-3.3-70b", "mixtral-8x7b", "qwen3-32b"]),
    "precision": st.sampled_from(["fp8", "bf16", "int4"]),
    "concurrent_users": st.integers(1, 3000),
    "requests_per_user_per_minute": st.sampled_from([0.5, 1, 2, 4, 10]),
    "avg_prompt_tokens": st.sampled_from([256, 1000, 2000, 8000]),
    "workload_type": st.sampled_from(["rag", "interactive_chat", "code_completion", "batch", "agentic"]),
    "burst_factor": st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    "redundancy_mode": st.sampled_from(["N", "N+1"]),
})
AUTO_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                         suppress_health_check=[_HC.too_slow])


def monthly(d):
    try:
        r = size(make_inputs(d))
    except InfeasibleError:
        return [math.inf] * len(SCENARIOS)
    return [r.scenarios[s].extra["cost"]["monthly"] for s in SCENARIOS]


def never_cheaper(d, field, value):
    before, after = monthly(d), monthly({**d, field: value})
    assert all(a >= b * (1 - 1e-9) for a, b in zip(after, before, strict=True)), (field, before, after)


@AUTO_SETTINGS
@given(AUTO, st.integers(1, 200))
def test_auto_more_users_never_cheaper(d, extra):
    never_cheaper(d, "concurrent_users", min(100_000, d["concurrent_users"] + extra))


@AUTO_SETTINGS
@given(AUTO, st.sampled_from([0.5, 1.0, 2.0]))
def test_auto_larger_burst_never_cheaper(d, extra):
    never_cheaper(d, "burst_factor", min(10.0, d["burst_factor"] + extra))


@AUTO_SETTINGS
@given(AUTO)
def test_auto_stricter_redundancy_never_cheaper(d):
    never_cheaper(d, "redundancy_mode", "N+2")


def test_course_table_first_fit_names_the_cheaper_configuration():
    """69 -> 70 users halved the cost under course-table auto (88x L40S -> 28x H100): the course's
    first fit is kept (it reproduces the course) and the cheaper adequate one is named."""
    d = dict(model="qwen2.5-14b", throughput_source="course-table", precision="fp8", workload_type="code_completion",
             requests_per_user_per_minute=10, avg_prompt_tokens=8000, burst_factor=1)
    r69 = size(make_inputs({**d, "concurrent_users": 69}))
    r70 = size(make_inputs({**d, "concurrent_users": 70}))
    assert (r69.burst.gpu, r70.burst.gpu) == ("l40s", "h100-sxm")  # the course's first fit, as before
    warn = [w for w in r69.burst.warnings if "first-fit" in w]
    assert warn and "l40s" in warn[0] and "costs" in warn[0], r69.burst.warnings
    assert "In-flight" not in warn[0]


FP8KV = st.fixed_dictionaries({
    "model": st.sampled_from(["gemma-2-27b", "llama-3.3-70b", "gpt-3-175b", "mixtral-8x7b", "qwen3-32b"]),
    "gpu": st.sampled_from(["gb200", "l40s", "a100-80gb", "h100-sxm", "h200-sxm", "mi300x"]),
    "precision": st.sampled_from(["fp8", "bf16", "fp4"]),
    "concurrent_users": st.integers(1, 5000),
    "avg_prompt_tokens": st.sampled_from([256, 2000, 8000, 16000]),
    "target_ttft_ms": st.sampled_from([100, 200, 300, 500, 800, 2000]),
    "target_tpot_ms": st.sampled_from([10, 20, 30, 50, 100]),
})


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[_HC.too_slow])
@given(FP8KV)
def test_fp8_kv_never_infeasible_where_bf16_kv_fits(d):
    try:
        bf16 = size(make_inputs({**d, "kv_cache_dtype": "bf16"}))
    except InfeasibleError:
        return
    fp8 = size(make_inputs({**d, "kv_cache_dtype": "fp8"}))  # raises if infeasible
    assert fp8.burst.total_gpus <= bf16.burst.total_gpus * 1.05, (bf16.burst.total_gpus, fp8.burst.total_gpus)


def test_fp8_kv_former_counterexample_under_a_ttft_target():
    """gpt-3-175b on L40S: the TTFT slack was taken after a step at the largest batch memory
    allows, so FP8 KV (twice the batch) gave 1,296 GPUs against BF16 KV's 976. Since issue 11's
    TTFT under load the default 800 ms cannot be met at all here (a 2,000-token prompt over
    PCIe all-reduces, and half a running step before it is admitted); since the element-wise
    kernels' traffic (every tensor-parallel rank's norms, over the L40S's 864 GB/s) neither can
    900 ms; at 950 ms the TTFT target still binds (336 / 336 GPUs; at 1,000 ms: 304 / 304)."""
    g = {k: size(model="gpt-3-175b", gpu="l40s", precision="fp8", kv_cache_dtype=k,
                 target_ttft_ms=950).baseline.total_gpus
         for k in ("bf16", "fp8")}
    assert g["fp8"] <= g["bf16"] < 976
    with pytest.raises(InfeasibleError):
        size(model="gpt-3-175b", gpu="l40s", precision="fp8", kv_cache_dtype="fp8")


def test_little_law_effect_is_explained():
    r = size(throughput_source="course-table")
    step = next(s for s in r.explain() if s.name == "In-flight requests")
    assert "Little's law" in step.formula and "tighter TPOT" in step.formula and "fewer GPUs" in step.formula


def test_absurd_plan_is_refused_with_what_to_change():
    with pytest.raises(PlanTooLargeError) as exc:
        size(model="deepseek-r1", gpu="l4", throughput_source="course-table")
    msg = str(exc.value)
    assert "max_total_gpus" in msg or "rack" in msg
    assert len(msg) < 250


def test_replica_beyond_a_rack_is_refused():
    with pytest.raises(PlanTooLargeError, match=r"spans \d+ servers, more than the \d+ a 20 kW rack holds"):
        size(model="deepseek-r1", gpu="l4", throughput_source="course-table", rack_power_limit_kw=20,
             max_total_gpus=10_000_000)


def test_replica_beyond_a_rack_names_the_rack_power_that_holds_it():
    """Where the rack's power limit, not its slots, is what a replica outgrows, the refusal names
    the rack power that holds it, and that rack does: kimi-k3 BF16 on MI355X needs 4 servers of
    20.2 kW, where "a GPU with more memory" alone sent the planner nowhere (no AMD GPU has more)."""
    d = dict(model="kimi-k3", gpu="mi355x", precision="bf16", concurrent_users=47, target_tpot_ms=62,
             requests_per_user_per_minute=5.01, redundancy_mode="N+1")
    with pytest.raises(PlanTooLargeError) as exc:
        size(**d)
    msg = str(exc.value)
    found = re.search(r"spans (\d+) servers.*racks of at least ([\d,]+) kW \(rack_power_limit_kw\)", msg)
    assert found is not None, msg
    assert len(msg) < 300
    servers, kw = int(found.group(1)), int(found.group(2).replace(",", ""))
    with pytest.raises(PlanTooLargeError):
        size(**d, rack_power_limit_kw=kw - 1)
    r = size(**d, rack_power_limit_kw=kw)
    assert r.scenarios["baseline"].gpus_per_replica == servers * 8


def test_deployment_ceiling_is_an_input():
    d = dict(model="llama-3.1-8b", gpu="l40s", concurrent_users=20_000, requests_per_user_per_minute=10)
    total = max(s.total_gpus for s in size(**d).scenarios.values())
    with pytest.raises(PlanTooLargeError, match="above max_total_gpus"):
        size(**d, max_total_gpus=total - 1)
    assert max(s.total_gpus for s in size(**d, max_total_gpus=total).scenarios.values()) == total


def test_a_plan_above_the_ceiling_names_a_gpu_within_it():
    """max_total_gpus refuses a plan as a likely mistake; it does not steer the automatic choice to
    a dearer GPU. Where the cheapest plan on another GPU stays within it, the refusal names that
    GPU, and the GPU, chosen, fits (glm-5.2 at 10,498 users: 147,984 MI300X refused, 74,752 B200 fit)."""
    d = dict(model="qwen3-32b", concurrent_users=3000, max_total_gpus=60)
    with pytest.raises(PlanTooLargeError) as exc:
        size(**d)
    found = re.search(r"another GPU, ([\d,]+) ([\w.-]+) in use, is within it, at a higher cost \(gpu ([\w.-]+)\)",
                      str(exc.value))
    assert found is not None and found.group(2) == found.group(3), str(exc.value)
    fixed = size(**{**d, "gpu": found.group(2)})
    assert max(s.total_gpus for s in fixed.scenarios.values()) <= 60


def test_nvl72_replica_within_its_rack_is_not_refused():
    """An NVL72 rack holds 18 trays of 4 GPUs: a 44-GPU replica (11 trays) stays in one rack."""
    r = size(model="deepseek-r1", gpu="gb200", throughput_source="course-table", concurrent_users=400,
             max_total_gpus=10_000_000)
    assert r.burst.gpus_per_replica == 44 and r.burst.pp == 11


@pytest.mark.parametrize(("limit_kw", "trays", "kind"), [(140, 18, "NVL72"), (80, 9, "NVL36x2"), (50, 8, "fewer")])
def test_nvl72_trays_pack_by_nvlink_domain(limit_kw, trays, kind):
    """GB200 trays (1U, 4 GPUs) go 18 to an NVL72 rack (about 106 kW here), or 9 to each of the
    two racks of an NVL36x2 where the rack power limit holds less; the course's 10 servers per
    rack (8-GPU chassis) put 10 trays in a rack whatever the limit. Below an NVL36x2 rack the
    answer warns that no NVL72 product fits."""
    r = size(model="deepseek-r1", gpu="gb200", precision="fp4", concurrent_users=50000, target_tpot_ms=80,
             avg_prompt_tokens=1000, avg_output_tokens=2000, rack_power_limit_kw=limit_kw)
    b = r.burst
    row = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Racks")
    assert b.racks == math.ceil(b.servers / trays) and row.formula.startswith(f"{trays} trays per rack"), row.formula
    assert kind in row.formula
    assert any("no NVL72 configuration fits" in w for w in r.warnings) == (kind == "fewer")



@pytest.mark.parametrize(("limit_kw", "kind"), [(140, "NVL72"), (80, "NVL36x2"), (40, "fewer")])
def test_nvl72_rack_product_follows_the_limit_not_a_small_deployment(limit_kw, kind):
    """A deployment of one or two trays puts one or two in a rack; the rack's product (NVL72,
    NVL36x2) and the 'no NVL72 configuration fits' warning follow what the power limit lets a
    rack hold. They followed the trays this deployment happened to put there, so an 80 kW rack
    'held 1 trays, fewer than an NVL36x2 rack's 9' and every small GB200 plan warned that no
    NVL72 product fits the facility."""
    r = size(model="llama-3.3-70b", gpu="gb200", concurrent_users=2, rack_power_limit_kw=limit_kw)
    rows = [s for s in r.explain() if s.name == "Racks"]
    assert {s.scenario: s.value for s in rows} == {"baseline": 1, "burst": 1, "resilient": 1}
    assert all("1 tray per rack" in s.formula and kind in s.formula for s in rows), [s.formula for s in rows]
    warned = [w for w in r.warnings if "no NVL72 configuration fits" in w]
    assert bool(warned) == (kind == "fewer")
    assert all("holds 6 trays" in w for w in warned)  # 40 kW / 5.9 kW per tray, not the trays used

FIXED = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3.1-8b", "llama-3-70b", "llama-3.1-405b", "mixtral-8x7b", "qwen3-32b"]),
    "gpu": st.sampled_from(["h100-pcie", "a100-80gb", "h100-sxm", "l40s", "mi300x"]),
    "precision": st.sampled_from(["fp8", "bf16", "int4"]),
    "concurrent_users": st.integers(1, 8000),
    "avg_prompt_tokens": st.sampled_from([256, 2000, 8000]),
    "target_ttft_ms": st.sampled_from([None, 200, 319, 500, 1000]),
})


def burst_cost(d):
    try:
        b = size(make_inputs(d)).burst
    except InfeasibleError:
        return math.inf, math.inf
    return b.total_gpus, b.extra["cost"]["monthly"]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[_HC.too_slow])
@given(FIXED, st.sampled_from([10, 20, 30, 50]), st.sampled_from([10, 30, 50, 100]))
def test_fixed_gpu_tighter_tpot_never_cheaper(d, tight, extra):
    """With a fixed GPU (roofline), a tighter TPOT target never gives fewer GPUs or a lower cost,
    and a looser one is never infeasible where the tighter one is feasible."""
    g_tight, c_tight = burst_cost({**d, "target_tpot_ms": tight})
    g_loose, c_loose = burst_cost({**d, "target_tpot_ms": tight + extra})
    assert g_loose <= g_tight and c_loose <= c_tight * (1 + 1e-9), (g_tight, g_loose)


def test_fixed_gpu_tpot_former_counterexamples():
    """llama-3.1-405b on H100 PCIe was infeasible at TPOT 100-200 ms, 1,296 GPUs at 80 and 440 at
    50; llama-3-70b INT4 on A100 (6,866 users, TTFT 319 ms) cost less at TPOT 22 ms than at the
    default. The solver returns the largest batch meeting both TPOT and TTFT (solver.slo_capacity).
    The 405B runs at a 1,500 ms TTFT: a 2,000-token prompt over PCIe all-reduces plus half a
    running step no longer meets the default 800 ms at any TPOT target (infeasible at every
    target is monotonic but tests nothing)."""
    gpus = [burst_cost(dict(model="llama-3.1-405b", gpu="h100-pcie", target_tpot_ms=t, target_ttft_ms=1500))[0]
            for t in (50, 80, 100, 200)]
    assert all(math.isfinite(g) for g in gpus) and gpus == sorted(gpus, reverse=True)
    d = dict(model="llama-3-70b", precision="int4", gpu="a100-80gb", concurrent_users=6866, target_ttft_ms=319)
    assert burst_cost(d)[1] <= burst_cost({**d, "target_tpot_ms": 22})[1]


# --- issue 24: answers that moved the wrong way with everything else fixed -----------------------

ROOF = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3.1-8b", "qwen3.6-27b", "gemma-3-27b", "llama-3.3-70b", "mixtral-8x7b",
                              "gpt-oss-120b", "deepseek-v4-flash"]),
    "gpu": st.sampled_from(["a10g", "l40s", "a100-80gb", "h100-sxm", "h200-nvl", "mi300x", "b200"]),
    "precision": st.sampled_from(["fp8", "bf16", "int4", "fp4"]),
    "concurrent_users": st.integers(1, 15_000),
    "avg_prompt_tokens": st.integers(16, 6000),
    "avg_output_tokens": st.integers(16, 1500),
    "target_tpot_ms": st.floats(10, 300).map(lambda x: round(x, 1)),
    "target_ttft_ms": st.floats(100, 5000).map(lambda x: round(x, 1)),
    "continuous_batching": st.booleans(),
    "serving_engine": st.sampled_from(["vllm", "sglang", "trt-llm"]),
})
"""Random roofline sizings on a fixed GPU, continuous and static batching."""
ROOF_SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[_HC.too_slow])


def wrong_way(d, harder):
    """Asserts the harder input never needs fewer GPUs in any scenario (infeasible = unbounded)."""
    try:
        before, after = total_gpus(d), total_gpus(harder)
    except XlsizerError:  # inputs this draw made invalid (not an answer to compare)
        return
    assert all(a >= b for a, b in zip(after, before, strict=True)), (harder, before, after)


@ROOF_SETTINGS
@given(ROOF, st.floats(0.3, 0.99))
def test_roofline_tighter_tpot_never_fewer_gpus(d, k):
    wrong_way(d, {**d, "target_tpot_ms": round(d["target_tpot_ms"] * k, 1)})


@ROOF_SETTINGS
@given(ROOF, st.floats(0.3, 0.99))
def test_roofline_tighter_ttft_never_fewer_gpus(d, k):
    wrong_way(d, {**d, "target_ttft_ms": round(d["target_ttft_ms"] * k, 1)})


@ROOF_SETTINGS
@given(ROOF, st.floats(1.01, 3))
def test_roofline_longer_outputs_never_fewer_gpus(d, k):
    # continuous batching: with static batches outputs are capped at max context - prompt, which
    # shortens the longest request of a batch (docs/method.md; scripts/monotonic_check.py counts it).
    # Median SLOs: a request's TPOT is the mean of its steps, so a percentile of it falls as the
    # output lengthens (fewer steps vary more: latency.tpot_quantile_step), and at p95 a longer
    # output can rightly fit a smaller replica (llama-3.1-8b INT4 on A10G, 1 user, 52/16 vs 52/32
    # tokens, TPOT 10 ms: TP2 vs TP1); the mean TPOT has no such effect.
    d = {**d, "continuous_batching": True, "slo_percentile": 50}
    wrong_way(d, {**d, "avg_output_tokens": math.ceil(d["avg_output_tokens"] * k)})


def test_p95_tpot_of_a_short_output_varies_more():
    """The physical reason the property above is stated at the median: at p95 a 16-token output's
    TPOT spreads more than a 32-token one's, so the shorter output needs the larger replica."""
    d = dict(model="llama-3.1-8b", gpu="a10g", precision="int4", concurrent_users=1, avg_prompt_tokens=52,
             target_ttft_ms=100.0, continuous_batching=True, serving_engine="vllm")
    # TPOT targets around one A10G's p95 step (where the replica grows from 1 to 2 GPUs): the
    # short output's spread crosses a target first, never the other way round
    wider = 0
    for tpot in (8.0 + 0.1 * i for i in range(31)):
        short, long_ = (size(**d, target_tpot_ms=tpot, avg_output_tokens=n).burst for n in (16, 32))
        assert short.gpus_per_replica >= long_.gpus_per_replica, tpot
        wider += short.gpus_per_replica > long_.gpus_per_replica
        assert size(**d, target_tpot_ms=tpot, avg_output_tokens=16, slo_percentile=50).burst.total_gpus <= size(
            **d, target_tpot_ms=tpot, avg_output_tokens=32, slo_percentile=50).burst.total_gpus, tpot
    assert wider > 0


@ROOF_SETTINGS
@given(ROOF, st.floats(1.01, 3))
def test_roofline_longer_prompts_never_fewer_gpus(d, k):
    d = {**d, "continuous_batching": True}
    wrong_way(d, {**d, "avg_prompt_tokens": math.ceil(d["avg_prompt_tokens"] * k)})


@ROOF_SETTINGS
@given(ROOF, st.floats(1.01, 3))
def test_roofline_more_users_never_fewer_gpus(d, k):
    wrong_way(d, {**d, "concurrent_users": math.ceil(d["concurrent_users"] * k)})


@ROOF_SETTINGS
@given(ROOF)
def test_roofline_more_bytes_per_weight_never_fewer_gpus(d):
    """BF16 weights against FP8, INT4 or FP4 ones: more bytes and no faster tensor math on any GPU
    (INT8 against INT4 is not such a pair: INT8 GEMMs run at twice the BF16 rate of INT4's
    weight-only kernels). The KV format is held (on "auto" it follows the weights)."""
    if d["precision"] == "bf16":
        return
    d = {**d, "kv_cache_dtype": "bf16"}
    wrong_way(d, {**d, "precision": "bf16"})


def test_tighter_tpot_static_batches_former_counterexample():
    """Static batches: the solver took the largest batch the TPOT allows, but a static batch holds
    every slot until its longest request ends, so 275.9 ms gave 387 GPUs and 174.7 ms 372."""
    d = dict(model="qwen3.6-27b", concurrent_users=13322, gpu="h200-nvl", avg_output_tokens=98,
             continuous_batching=False)
    assert total_gpus({**d, "target_tpot_ms": 174.7}) >= total_gpus({**d, "target_tpot_ms": 275.9})
    r = size(**d, target_tpot_ms=275.9)
    assert r.baseline.total_gpus < 372  # now at the batch that carries the most, below the largest
    assert r.baseline.extra["perf"]["batch"] < r.baseline.extra["perf"]["max_batch"]


def test_faster_gpu_not_refused_where_a_slower_fits():
    """deepseek-v4-flash FP16 (569 GB): 4-stage A10G replicas were found while H100 was refused at
    any TPOT (pipeline stages were offered only once the weights outgrew a node, and 8x H100 =
    640 GB leaves no KV room under the 20-30% headroom)."""
    d = dict(model="deepseek-v4-flash", precision="fp16")
    a10g = total_gpus({**d, "gpu": "a10g"})
    for g in ("h100-sxm", "h200-sxm", "b200"):
        assert total_gpus({**d, "gpu": g}) <= a10g, g
    assert size(**d, gpu="h100-sxm").burst.pp >= 2


def test_more_bytes_per_weight_former_counterexample():
    """glm-5 on GB200: FP8 weights (744 GB, one 4-GPU node barely) were refused while BF16 found
    pipeline stages."""
    d = dict(model="glm-5", gpu="gb200", concurrent_users=9920, workload_type="code_completion",
             target_ttft_ms=4797.9, avg_output_tokens=872, requests_per_user_per_minute=5.69,
             pricing_model="on-prem", kv_cache_dtype="fp8")
    fp8, bf16 = total_gpus({**d, "precision": "fp8"}), total_gpus({**d, "precision": "bf16"})
    assert math.isfinite(fp8[0]) and all(a <= b for a, b in zip(fp8, bf16, strict=True))


def test_longer_outputs_under_ttft_former_counterexample():
    """The TTFT-limited load was rounded down to a whole batch (3 at 500 output tokens, 6 at 833):
    the longer output carried more requests. The rate a TTFT target allows is now solved for
    (its mean batch is a real number)."""
    d = dict(model="nvidia-nemotron-3-nano-30b-a3b", gpu="a100-pcie", precision="int4", concurrent_users=3785,
             workload_type="interactive_chat", avg_prompt_tokens=10807, serving_engine="triton")
    short, long_ = total_gpus({**d, "avg_output_tokens": 500}), total_gpus({**d, "avg_output_tokens": 833})
    assert all(a >= b for a, b in zip(long_, short, strict=True)), (short, long_)


def test_auto_choice_explains_a_move_to_fewer_dearer_gpus():
    """A tighter TTFT moves the automatic choice from many MI300X to fewer B200 (burst): the
    answer names the runner-up the search found (the GPU it moved from, when that one still
    fits at a higher cost) or warns about the cheaper GPU the targets rule out. The targets
    are scanned (median SLOs), so the test holds wherever a refit puts the move."""
    d = dict(model="llama-4-scout", precision="int4", concurrent_users=248, workload_type="agentic",
             avg_prompt_tokens=2107, requests_per_user_per_minute=8.13, redundancy_mode="N",
             paged_attention=False, prefix_caching=True, speculative_decoding=True, slo_percentile=50)
    plans = [size(**d, target_ttft_ms=t) for t in (300.0, 250.0, 225.0, 200.0, 180.0, 150.0, 120.0, 104.5, 89.7, 75.0)]
    moves = [(lo, hi) for lo, hi in itertools.pairwise(plans)
             if hi.burst.gpu != lo.burst.gpu and hi.burst.total_gpus < lo.burst.total_gpus]
    assert moves, [(p.inputs.ttft_ms, p.burst.gpu, p.burst.total_gpus) for p in plans]
    for loose, tight in moves:
        assert tight.burst.extra["cost"]["monthly"] >= loose.burst.extra["cost"]["monthly"]
        row = next(s for s in tight.explain() if s.scenario == "burst" and s.name == "Next cheapest GPU")
        assert "not GPU count" in row.formula
        refused = any("cheapest adequate GPU is no longer" in w and f"TTFT <= {tight.inputs.ttft_ms:g} ms" in w
                      for w in tight.warnings)
        assert refused or row.value == loose.burst.gpu, (tight.warnings, row)


def test_search_skips_stages_beyond_a_rack():
    """deepseek-v3.1 BF16 on L4: the search chose 11-server replicas that the rack guardrail then
    refused (an 80 kW rack holds 10), so 270 users were refused and 385 were sized; stages past a
    rack are now offered only when the weights need them."""
    d = dict(model="deepseek-v3.1", gpu="l4", precision="bf16", workload_type="agentic", target_tpot_ms=98.5,
             target_ttft_ms=2275.2, avg_output_tokens=951, pricing_model="on-prem")
    few, more = total_gpus({**d, "concurrent_users": 270}), total_gpus({**d, "concurrent_users": 385})
    assert math.isfinite(few[0]) and all(a <= b for a, b in zip(few, more, strict=True))
    assert size(**d, concurrent_users=270).burst.pp <= 10


def test_longer_outputs_whole_batch_former_counterexample():
    """qwen3.6-27b FP8 on 8x A100 at the median (the example Hypothesis drew, docs/method.md):
    the TPOT-limited batch was a whole number, 3 at 252 output tokens and 4 at 270, so the
    Burst plan fell from 24 to 16 GPUs as outputs grew. The batch is now a mean with a
    fraction (Little), which grows with the output while the GPUs never fall."""
    d = dict(model="qwen3.6-27b", precision="fp8", gpu="a100-80gb", concurrent_users=12,
             avg_prompt_tokens=2492, target_tpot_ms=10, target_ttft_ms=193, slo_percentile=50)
    plans = [size(**d, avg_output_tokens=o) for o in (252, 270, 300, 340, 378)]
    gpus = [[r.scenarios[s].total_gpus for s in SCENARIOS] for r in plans]
    assert all(all(a <= b for a, b in zip(x, y, strict=True)) for x, y in itertools.pairwise(gpus)), gpus
    means = [r.burst.extra["perf"]["mean_batch"] for r in plans]
    assert means == sorted(means) and means[0] < means[-1]
    for r in plans:  # the whole batch shown is the mean's whole part, and the mean meets the target
        p = r.burst.extra["perf"]
        assert p["batch"] == int(p["mean_batch"]) and p["tpot_ms"] <= 10 * (1 + 1e-9)


def test_longer_outputs_closed_loop_former_counterexample():
    """deepseek-v3.1 BF16 on Arc Pro B70 (7 pipeline stages), a closed loop of clients at a p99.9
    TTFT: the mean value analysis rounded the clients per replica to a whole number, so the
    TTFT-limited load stepped at half clients (a mean batch of 2.5 at 500 output tokens, 3.5 at
    550 and 605) and 605 output tokens needed 1,456 Baseline GPUs where 500 needed 1,568. The
    clients are now a mean with a fraction (a mix of the whole numbers around it)."""
    d = dict(model="deepseek-v3.1", gpu="b70", precision="bf16", concurrent_users=215, workload_type="batch",
             target_tpot_ms=197.0, target_ttft_ms=3627.3, slo_percentile=99.9, arrivals="closed")
    plans = [size(**d, avg_output_tokens=o) for o in (450, 500, 550, 605, 700)]
    gpus = [[r.scenarios[s].total_gpus for s in SCENARIOS] for r in plans]
    assert all(all(a <= b for a, b in zip(x, y, strict=True)) for x, y in itertools.pairwise(gpus)), gpus
    means = [r.baseline.extra["perf"]["mean_batch"] for r in plans]
    assert means == sorted(means) and means[0] < means[-1]


def test_long_prefill_beside_short_answers_is_named():
    """The one continuous-batching wrong-way answer left (docs/method.md, "Answers that must move
    the right way"): deepseek-v4-pro FP4 on one 8-GPU attention-data-parallel GB200 replica,
    6,832-token prompts and 39-token answers, holds each slot about a third of its time in
    prefill, which the step charges as decoding, so the plan errs toward more GPUs. The answer
    says so, with the share; a chat plan and a disaggregated one (no prefill in the decode pool)
    do not."""
    d = dict(model="deepseek-v4-pro", gpu="gb200", precision="fp4", concurrent_users=6304,
             workload_type="interactive_chat", target_ttft_ms=2765.3, avg_output_tokens=39,
             avg_prompt_tokens=6832, burst_factor=1.44, serving_engine="trt-llm")
    warned = [w for w in size(**d).warnings if "in prefill (" in w]
    assert len(warned) == 1 and "6,832-token prompts" in warned[0] and "39 output tokens" in warned[0], warned
    share = int(warned[0].split("spends ", 1)[1].split("%", 1)[0])
    assert 10 <= share <= 60 and f"up to about {share}%" in warned[0]
    assert not [w for w in size(model="llama-3.3-70b", concurrent_users=2000).warnings if "in prefill (" in w]
    assert not [w for w in size(**d, disaggregated=True).warnings if "in prefill (" in w]


def test_ttft_below_one_sequence_longer_output_never_fewer_gpus():
    """Far below one sequence per replica the TTFT sets the rate, and a longer output carries it
    in a larger mean batch (0.06 and 0.16 here). Bisected to 1/65,536 of a sequence, the short
    output's rate was found 1/4,000 below the target's and the long one's closer: 2,414 Burst
    replicas (67,620 GPUs) against 2,413 (67,592). Refined to 1/65,536 of its own batch, both
    carry the same rate."""
    d = dict(model="deepseek-v3", gpu="rtx-pro-4500", precision="int8", concurrent_users=203,
             workload_type="batch", target_tpot_ms=224.2, avg_prompt_tokens=4012, slo_percentile=99.9,
             arrivals="bursty", arrival_scv=2.9)
    short, long = (size(**d, avg_output_tokens=o) for o in (500, 1485))
    assert short.burst.extra["perf"]["mean_batch"] < 0.1 < long.burst.extra["perf"]["mean_batch"] < 1
    gpus = [[r.scenarios[s].total_gpus for s in SCENARIOS] for r in (short, long)]
    assert all(a <= b for a, b in zip(*gpus, strict=True)), gpus


def test_ttft_below_one_sequence_per_replica_former_infeasible():
    """A long prompt under a tight p95 TTFT (docs/method.md, capacity solver): each replica
    idles part of the time so that a prompt seldom queues behind another's prefill. It was
    "does not fit"; now sized below one sequence per replica, with a warning, down to the
    target an idle replica's own prefill misses."""
    d = dict(model="qwen3-8b", gpu="gh200", concurrent_users=1000, avg_prompt_tokens=12500, slo_percentile=95)
    r164, r158 = size(**d, target_ttft_ms=164), size(**d, target_ttft_ms=158)
    assert [r164.scenarios[s].total_gpus for s in SCENARIOS] == [248, 740, 744]
    m164, m158 = (r.burst.extra["perf"]["mean_batch"] for r in (r164, r158))
    assert 0.95 < m164 < 0.97 and 0.85 < m158 < 0.87
    assert r164.burst.extra["perf"]["batch"] == 1  # at least the running sequence
    assert r158.burst.total_gpus >= r164.burst.total_gpus  # a tighter target never buys fewer
    assert any("below one" in w for w in r164.warnings)
    with pytest.raises(InfeasibleError):
        size(**d, target_ttft_ms=156)
