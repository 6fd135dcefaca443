"""The automatic GPU choice (roofline): cheapest adequate configuration, found by a pruned
search that must return exactly what evaluating every candidate returns."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xlsizer
from xlsizer.catalog import load_catalog
from xlsizer.engine import search
from xlsizer.engine.shared import Shared
from xlsizer.errors import InfeasibleError
from xlsizer.results import SCENARIOS

inputs = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3.1-8b", "llama-3.3-70b", "qwen3-32b", "mixtral-8x7b", "deepseek-r1",
                              "gpt-oss-120b"]),
    "precision": st.sampled_from(["fp8", "bf16"]),
    "concurrent_users": st.integers(1, 5000),
    "requests_per_user_per_minute": st.floats(0.2, 10),
    "avg_prompt_tokens": st.integers(100, 16_000),
    "avg_output_tokens": st.integers(20, 3000),
    "target_tpot_ms": st.sampled_from([20, 30, 50, 100]),
    "target_ttft_ms": st.sampled_from([300, 1000, 5000]),
    "redundancy_mode": st.sampled_from(["N", "N+1", "N+2"]),
    "slo_percentile": st.sampled_from([50, 95, 99, 99.9]),
    "arrivals": st.sampled_from(["poisson", "closed"]),
    "length_cv": st.sampled_from([0.0, 0.0, 0.5, 1.0]),
})


def _answer(d):
    try:
        r = xlsizer.size(**d)
    except InfeasibleError as e:
        return str(e)
    return [(r.scenarios[s].gpu, r.scenarios[s].gpus_per_replica, r.scenarios[s].tp, r.scenarios[s].pp,
             r.scenarios[s].extra["perf"].get("ep"), r.scenarios[s].replicas, r.scenarios[s].total_gpus)
            for s in SCENARIOS] + _runner_up(r)


def _runner_up(r):
    """Each scenario's "Next cheapest GPU" explain row: (scenario, GPU, its GPUs and cost)."""
    return [(s.scenario, s.value, s.formula) for s in r.explain() if s.name == "Next cheapest GPU"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_pruned_search_equals_exhaustive(d):
    """The bounds (the cheap one of each candidate, then the lazy ones: the TTFT bounds of
    ``solver.ttft_floor_bound`` and ``capacity_bound``, the TPOT one of ``tpot_rate_bound``)
    only skip what cannot win, and ties go to the earlier candidate of the table whatever the
    order of evaluation: the same answer, shape for shape, and the same next cheapest GPU."""
    pruned = _answer(d)
    search.PRUNE = False
    try:
        full = _answer(d)
    finally:
        search.PRUNE = True
    assert pruned == full


def test_next_cheapest_gpu_is_the_true_runner_up():
    """The "Next cheapest GPU" row names the cheapest shape on another GPU, as evaluating every
    candidate finds it. It was the cheapest the search happened to evaluate before it stopped:
    here h200-sxm at +76% cost (baseline) and h100-sxm at +19% (burst), where b200 costs +32%
    and +6%; in about one sizing in six it was missing."""
    d = dict(model="llama-3.1-8b", precision="fp8", concurrent_users=317, requests_per_user_per_minute=1.32,
             avg_prompt_tokens=7051, avg_output_tokens=193, target_tpot_ms=30, burst_factor=1.3,
             redundancy_mode="N+1", length_cv=1.0)
    r = xlsizer.size(**d)
    rows = {s: (gpu, formula) for s, gpu, formula in _runner_up(r)}
    assert r.burst.gpu == "mi300x" and rows["burst"][0] == "b200"
    assert rows["burst"][1].startswith("2 GPUs in use, +6% cost")
    # baseline: b200 since MI300X's TP=2 all-reduces over one Infinity Fabric link (2026-12-07)
    assert r.baseline.gpu == "b200" and rows["baseline"][0] == "h100-sxm"
    search.PRUNE = False
    try:
        assert _runner_up(xlsizer.size(**d)) == _runner_up(r)
    finally:
        search.PRUNE = True


def test_pipeline_stages_pool_batches_where_a_node_holds_the_kv():
    """A replica of k nodes pools their sequences in one scheduler: its batch varies less for its
    size, so at a percentile TPOT it runs a larger mean batch per GPU. The search offered stages
    only where a node's KV could not hold the batch the TPOT target allows (the means' reasoning),
    and so bought 800 GPUs of 4-GPU replicas here, and refused a workload that 3 stages serve."""
    scout = xlsizer.size(model="llama-4-scout", gpu="mi250x", precision="fp8", concurrent_users=1446,
                         workload_type="code_completion", target_ttft_ms=956.1, requests_per_user_per_minute=4.05,
                         slo_percentile=99, paged_attention=False, prefix_caching=True).burst
    assert (scout.tp, scout.pp, scout.total_gpus) == (4, 3, 768)
    # the stages' hops are in the TPOT shown: the course's "TPOT -10-20% per stage" read as still to come
    assert ("pipeline parallelism: 3 stages across nodes: every step passes activations between nodes, which the "
            "TPOT shown includes (the course's rule of thumb: 10-20% slower per stage)") in scout.warnings
    assert scout.extra["perf"]["mean_batch"] > 3 * 18.4  # one 4-GPU node's mean batch at this p99 TPOT
    gptj = xlsizer.size(model="gpt-j-6b", gpu="b50", precision="int8", concurrent_users=14427, workload_type="rag",
                        target_tpot_ms=10.6, burst_factor=3.92).burst  # was "does not fit on b50"
    assert (gptj.tp, gptj.pp) == (4, 3)
    assert gptj.extra["perf"]["tpot_q_ms"] <= 10.6 + 1e-9


def test_wide_expert_parallel_replicas_are_candidates_for_large_moe():
    """DeepSeek-R1 on B200 at a throughput-oriented TPOT: attention data-parallel over the node
    with the experts spread over all 8 GPUs (DEP8, each rank holding its own dense weights)
    carries far more than the tensor-parallel replicas, so the search picks it; a dense model
    never gets an expert-parallel shape, and NVL72 GPUs get shapes wider than a node."""
    d = dict(model="deepseek-r1", precision="fp4", gpu="b200", concurrent_users=5000,
             avg_prompt_tokens=800, avg_output_tokens=3600, target_tpot_ms=80)
    r = xlsizer.size(**d)
    perf = r.burst.extra["perf"]
    assert perf["ep"] == r.burst.gpus_per_replica == 8 and r.burst.tp == 1
    explain = [s for s in r.explain() if s.name == "GPUs per replica" and s.scenario == "burst"]
    assert "attention data-parallel x 8 ranks" in explain[0].formula
    # the headline names the shape too ("8x b200 (TP=1)" read as no parallelism at all)
    assert "replicas of 8x b200 (DEP=8: attention data-parallel, experts over 8 GPUs)" in r.headline, r.headline
    assert "(TP=2)" in xlsizer.size(model="llama-3.3-70b", gpu="h100-sxm").headline
    # on GB200 the 8 GPUs span two 4-GPU trays of one NVL72 NVLink domain: NVLink, not InfiniBand
    nvl = xlsizer.size(**{**d, "gpu": "gb200"}).burst
    assert nvl.gpus_per_replica == 8 and nvl.fabric.startswith("NVLink inside the scale-up domain"), nvl.fabric
    assert xlsizer.size(model="llama-3.1-405b", gpu="h100-sxm", precision="bf16").burst.fabric.startswith(
        "InfiniBand")  # 16 GPUs over two HGX servers: the network
    cat = load_catalog()
    assert search.wide_ep_configs(cat.gpu("b200"), cat.model("llama-3.3-70b")) == []
    assert search.wide_ep_configs(cat.gpu("b200"), cat.model("deepseek-r1")) == [(8, 8)]
    assert (64, 64) in search.wide_ep_configs(cat.gpu("gb200"), cat.model("deepseek-r1"))
    # the KV budget of a wide replica pays for every rank's copy of the dense weights
    sh = Shared(xlsizer.make_inputs(d), cat.model("deepseek-r1"))
    assert 0 < sh.w_dense < 0.1 * sh.w


def test_the_automatic_choice_keeps_to_replicas_a_rack_holds():
    """A replica spanning more servers than the rack power limit allows is refused (guardrails.py).
    Offered with the others, such a shape was the cheapest and the whole sizing was refused, where
    another shape fit: kimi-k3 BF16 chose 48x B200 (6 servers of 14.4 kW, 5 per 80 kW rack) and
    stopped, while 40x B200 and 56x MI300X fit. A fixed GPU still offers the deeper replica, so
    that its refusal says which rack would hold it."""
    d = dict(model="kimi-k3", precision="fp16", concurrent_users=203, workload_type="interactive_chat",
             target_tpot_ms=266.2, avg_output_tokens=430, redundancy_mode="N", serving_engine="trt-llm")
    r = xlsizer.size(**d)
    cat = load_catalog()
    for s in r.scenarios.values():
        g = cat.gpu(s.gpu)
        assert -(-s.gpus_per_replica // g.gpus_per_node) <= search.rack_servers(g, 80.0), (s.gpu, s.gpus_per_replica)
    with pytest.raises(InfeasibleError, match=r"48x b200 spans 6 servers, more than the 5 a 80 kW rack holds"):
        xlsizer.size(**d, gpu="b200")


def test_moe_warning_asks_for_expert_parallelism_only_where_the_replica_has_none():
    """"MoE model above 8 GPUs per replica: consider expert parallelism" (the course's
    guardrail) was also said of a wide expert-parallel replica (DEP16 on GB300), which is expert
    parallelism; a 40-GPU tensor- and pipeline-parallel replica still gets it."""
    wide = xlsizer.size(model="deepseek-r1", precision="fp8", gpu="gb300", concurrent_users=30000,
                        target_tpot_ms=60)
    assert wide.burst.extra["perf"]["ep"] == wide.burst.gpus_per_replica == 16
    assert not any("consider expert parallelism" in w for w in wide.warnings)
    deep = xlsizer.size(model="deepseek-r1", precision="bf16", gpu="h100-sxm", concurrent_users=300)
    assert (deep.burst.tp, deep.burst.pp, deep.burst.extra["perf"]["ep"]) == (8, 5, 1)
    assert "MoE model above 8 GPUs per replica: consider expert parallelism" in deep.warnings
    # the course's depth guardrail holds for roofline plans too
    assert "pipeline depth 5 > 4: consider a larger GPU or expert parallelism" in deep.warnings


def test_precision_gate_in_auto_choice():
    for prec in ("fp8", "fp4"):
        r = xlsizer.size(precision=prec, concurrent_users=500)
        for s in SCENARIOS:
            g = xlsizer.load_catalog().gpu(r.scenarios[s].gpu)
            assert g.supports(xlsizer.Precision(prec)), (prec, g.id)
    assert xlsizer.size(precision="fp4").burst.gpu == "b200"  # the only auto-pick GPU with FP4
    assert {xlsizer.size(precision="int8", gpu="a100-80gb").burst.gpu} == {"a100-80gb"}


def test_tpot_below_floor_is_a_clear_error():
    with pytest.raises(InfeasibleError, match="below the hardware floor"):
        xlsizer.size(model="llama-3.1-405b", gpu="l40s", target_tpot_ms=5)


def test_ttft_below_an_idle_replicas_is_a_clear_error():
    """llama-3.3-70b on A10Gs: even alone on an idle 8x a10g replica a request takes 986 ms to
    its first token at p95, so no load meets an 800 ms target. The error said "does not fit
    ... with the TTFT/TPOT targets", which reads as memory; it now names the TTFT, the idle
    figure and the shape, and a target above that figure fits."""
    with pytest.raises(InfeasibleError, match=r"target_ttft_ms 800 is out of reach on a10g: .* takes 986 ms .*"
                                              r"\(8x a10g, 2,000-token prompts\)"):
        xlsizer.size(model="llama-3.3-70b", gpu="a10g", concurrent_users=300)
    fits = xlsizer.size(model="llama-3.3-70b", gpu="a10g", concurrent_users=300, target_ttft_ms=1000).burst
    assert fits.gpus_per_replica == 8 and fits.extra["perf"]["ttft_q_ms"] <= 1000


def test_ttft_below_an_idle_prefill_replicas_is_a_clear_error():
    """Disaggregated, the same: llama-3.3-70b FP16 on L40S, one request alone on an idle 8x l40s
    prefill replica takes 552 ms to its first token at p95 (its prompt, the KV's transfer to the
    decode pool, the first-token overhead); the error said "does not fit on l40s with the p95
    TTFT/TPOT targets (500 / 40 ms)". A target just above the figure fits, just below does not."""
    d = dict(model="llama-3.3-70b", gpu="l40s", precision="fp16", concurrent_users=217,
             workload_type="interactive_chat", disaggregated=True)
    with pytest.raises(InfeasibleError, match=r"target_ttft_ms 500 is out of reach on l40s: one request alone, on an "
                                              r"idle prefill replica \(prefill, KV transfer to the decode pool, "
                                              r"first-token overhead\), takes 552 ms .*\(8x l40s, 2,000-token"):
        xlsizer.size(**d)
    with pytest.raises(InfeasibleError, match="out of reach"):
        xlsizer.size(**d, target_ttft_ms=552)
    fits = xlsizer.size(**d, target_ttft_ms=553).burst
    assert 552 < fits.extra["perf"]["ttft_q_ms"] <= 553


def test_weights_beyond_the_largest_replica_are_a_memory_error():
    """GLM-5 at BF16 (1,488 GB of weights) on B50s: no replica offered holds it, 16 pipeline
    stages of 4 GPUs included. The error read "glm-5 does not fit on b50 with the p90 TTFT/TPOT
    targets (500 / 140.8 ms)", which sends a planner to the targets; it names the memory now."""
    with pytest.raises(InfeasibleError, match=r"^glm-5 does not fit in memory on b50: its weights and activations take "
                                              r"1,562 GB at BF16, and the largest replica offered, 64x b50 \(16 "
                                              r"pipeline stages, the most offered\), holds 1,024 GB, 853 GB after the "
                                              r"20% headroom; a GPU with more memory or a lower precision fit$"):
        xlsizer.size(model="glm-5", gpu="b50", precision="bf16", concurrent_users=100)


def test_tpot_between_the_floor_and_the_lightest_percentile_is_a_clear_error():
    """Phi-4 FP16 on A10G at a p90 TPOT of 32 ms: one sequence alone takes 30.53 ms per token
    (above the floor the error said nothing), but the steps a request decodes in vary, and the
    capacity solve's lightest load, one sequence in flight per replica on average, has a p90 TPOT
    of 32.48 ms: no load fits, and the error says so (it read "does not fit on a10g with the p90
    TTFT/TPOT targets"). 33 ms fits. (29.90 and 31.04 ms before 2026-12-07, when a decoded token
    attended to the mean answer's context: these answers spread with CV 1.42, so a token attends
    to prompt + 3.02 x 3,318 / 2 tokens, step.decode_context.)"""
    d = dict(model="phi-4", gpu="a10g", precision="fp16", concurrent_users=100, avg_output_tokens=3318,
             slo_percentile=90, length_cv=1.42, target_ttft_ms=3000)
    with pytest.raises(InfeasibleError, match=r"target_tpot_ms 32 is out of reach at p90 on a10g: one sequence alone "
                                              r"takes 30.53 ms per token, .* its p90 TPOT is 32.48 ms on the fastest "
                                              r"shape \(2x a10g\); a looser TPOT target, a lower slo_percentile"):
        xlsizer.size(**d, target_tpot_ms=32)
    fits = xlsizer.size(**d, target_tpot_ms=33).burst
    assert fits.gpus_per_replica == 2 and fits.extra["perf"]["tpot_q_ms"] <= 33


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_roofline_plan_meets_the_slos_it_was_given(d):
    """Every scenario's replica runs at a TPOT within the target, and the TTFT at the
    scenario's peak load per replica stays within the TTFT target, both at the percentile the
    targets are stated at (issue 22: the sizing meets the percentile; at p50 a mean may lie
    above it: llama-3.1-8b, closed loop, p50 TTFT 238 ms, mean 300.1 ms against 300 ms)."""
    try:
        r = xlsizer.size(**d)
    except InfeasibleError:
        return
    for s in SCENARIOS:
        perf = r.scenarios[s].extra["perf"]
        assert perf["tpot_q_ms"] <= d["target_tpot_ms"] * (1 + 1e-9)
        assert perf["ttft_q_ms"] <= d["target_ttft_ms"] * (1 + 1e-6)
        if d.get("slo_percentile", 95) >= 95:  # a high percentile lies above the mean
            assert perf["ttft_ms"] <= d["target_ttft_ms"] * (1 + 1e-6)


@pytest.mark.parametrize("d", [
    # closed loop, TTFT-bound at a mean batch of 11.x: the result read the whole part (11) as the
    # batch and a client's think time as the slot's whole hold, and said p99 TTFT 807 ms
    {"model": "llama-3.3-70b", "slo_percentile": 99, "arrivals": "closed", "concurrent_users": 2770,
     "avg_prompt_tokens": 11364, "avg_output_tokens": 878},
    # KV-bound at 999 sequences under an engine cap of 1,024: the batch's swing was allowed up to
    # the cap the memory cannot hold, and said p95 TPOT 50.14 ms
    {"model": "llama-3.1-8b", "length_cv": 0.5, "slo_percentile": 95, "concurrent_users": 988,
     "avg_prompt_tokens": 1047, "avg_output_tokens": 1146},
])
def test_reported_percentiles_meet_the_targets_where_the_solver_found_them(d):
    r = xlsizer.size(**d)
    for s in SCENARIOS:
        perf = r.scenarios[s].extra["perf"]
        assert perf["tpot_q_ms"] <= perf["target_tpot_ms"] * (1 + 1e-9), (s, perf["tpot_q_ms"])
        assert perf["ttft_q_ms"] <= perf["target_ttft_ms"] * (1 + 1e-6), (s, perf["ttft_q_ms"])


@pytest.mark.parametrize(("model", "cited", "not_cited"), [
    ("llama-3.3-70b", "GQA", "MLA"), ("deepseek-r1", "MLA", "GQA"), ("mistral-7b", "sliding-window", "MLA")])
def test_kv_per_token_cites_the_models_attention_kind(model, cited, not_cited):
    """Issue 24 item 7: the KV row cited the MLA note for every model."""
    from xlsizer import size

    row = next(s for s in size(model=model, concurrent_users=20).explain() if s.name == "KV bytes per token")
    assert cited in row.source and not_cited not in row.source


def test_warnings_of_some_scenarios_name_them():
    """The result's warnings gather the three scenarios': one that holds for some of them only
    says which ("baseline: pipeline parallelism: 4 stages", "burst, resilient: ... 9 stages"),
    so two answers read side by side are not confused; one that holds for all is said once.
    The course method says why its replicas grow so deep (every in-flight request's KV in one
    replica, 0.5 of the table's throughput per extra stage) and names the roofline method."""
    r = xlsizer.size(model="deepseek-r1", concurrent_users=300, gpu="gb200", throughput_source="course-table",
                     max_total_gpus=1_000_000)
    assert (r.baseline.pp, r.burst.pp, r.resilient.pp) == (4, 9, 9)
    assert "baseline: pipeline parallelism: 4 stages across nodes (TPOT -10-20% per stage)" in r.warnings
    assert "burst, resilient: pipeline parallelism: 9 stages across nodes (TPOT -10-20% per stage)" in r.warnings
    assert "gb200 requires direct liquid cooling (and typically 415 V power distribution)" in r.warnings
    assert not any(w.startswith("burst: burst:") for w in r.warnings)
    deep = [w for w in r.warnings if "puts every in-flight request's KV in one replica" in w]
    assert [w.split(":")[0] for w in deep] == ["baseline", "burst", "resilient"]  # each its own GB
    assert "spans 9 nodes of gb200 at 0.5^8 of its table throughput" in deep[1]
    assert "throughput_source 'roofline'" in deep[1]
    # the scenario's own list (the workbook's and LLM_RESULT's) stays unprefixed
    assert "pipeline parallelism: 9 stages across nodes (TPOT -10-20% per stage)" in r.burst.warnings
    roof = xlsizer.size(model="deepseek-r1", concurrent_users=300, gpu="gb200")
    assert roof.burst.total_gpus < r.burst.total_gpus / 100
    assert not any("puts every in-flight request's KV" in w for w in roof.warnings)


def test_tensor_parallel_sizes_split_whole_heads():
    """vLLM refuses a tp that does not divide the attention heads ("Total number of attention
    heads (28) must be divisible by tensor parallel size (8)") or that neither splits nor evenly
    replicates the KV heads; the search offered TP=4 and TP=8 to Phi-4 (40 heads, 10 KV heads)
    and TP=8 to Qwen2.5-7B (28 heads), plans no engine can start."""
    from xlsizer.engine.layers import tensor_parallel_refusal

    cat = xlsizer.load_catalog()
    phi, qwen = cat.model("phi-4"), cat.model("qwen2.5-7b")
    assert [tp for tp in (1, 2, 4, 8) if tensor_parallel_refusal(phi, tp) is None] == [1, 2]
    assert [tp for tp in (1, 2, 4, 8) if tensor_parallel_refusal(qwen, tp) is None] == [1, 2, 4]
    # KV heads replicated evenly when fewer than tp (8 KV heads on 16 GPUs), not 8 on 3
    llama = cat.model("llama-3.3-70b")
    assert tensor_parallel_refusal(llama, 16) is None
    assert tensor_parallel_refusal(llama, 3) == "its 64 attention heads do not split evenly over 3 GPUs"
    # a tight TPOT on H100s wanted TP=8 (2,648 GPUs); the widest Phi-4 allows is TP=2, and the
    # result says why replicas stop there
    r = xlsizer.size(model="phi-4", precision="bf16", concurrent_users=10_000, avg_prompt_tokens=8000,
                     max_context_tokens=64_000, target_tpot_ms=10, gpu="h100-sxm")
    assert {r.scenarios[s].gpus_per_replica for s in SCENARIOS} == {2}
    assert any(w.startswith("tensor parallelism: phi-4's heads split evenly over 1 or 2 GPUs only")
               for w in r.warnings)
    # where no allowed shape is fast enough, the floor error names the limit
    with pytest.raises(InfeasibleError, match=r"12\.3 ms per token; phi-4's heads split evenly over 1 or 2 GPUs"):
        xlsizer.size(model="phi-4", gpu="l40s", target_tpot_ms=10)
    # a model whose heads allow every size in a node gets no such warning
    assert not any("tensor parallelism" in w for w in xlsizer.size(model="llama-3.3-70b").warnings)


def test_nvlink_bridged_cards_pipeline_between_their_bridge_groups():
    """The H200 NVL's bridge joins quads, the H100 NVL's pairs: beside TP over the whole server
    (whose all-reduces cross PCIe), the search offers TP inside a bridge group with pipeline
    stages between the groups, and keeps whichever costs less; TP wider than the bridge is named."""
    cat = load_catalog()
    assert {(4, 2, 2), (8, 2, 4), (8, 8, 1)} <= set(search.replica_configs(cat.gpu("h100-nvl"), 400e9, 40))
    assert (8, 4, 2) in search.replica_configs(cat.gpu("h200-nvl"), 400e9, 40)
    assert all(pp == 1 or tp == 8 for _n, tp, pp in search.replica_configs(cat.gpu("h100-sxm"), 400e9, 40))
    d = dict(model="llama-3.1-405b", precision="fp8", concurrent_users=500, target_ttft_ms=3000)
    r = xlsizer.size(**d, gpu="h200-nvl", target_tpot_ms=60)
    assert (r.resilient.gpus_per_replica, r.resilient.tp, r.resilient.pp) == (8, 4, 2)
    assert any("pipeline parallelism: 2 stages across groups of 4 GPUs" in w for w in r.warnings), r.warnings
    r = xlsizer.size(**d, gpu="h100-nvl", target_tpot_ms=100)
    assert r.burst.tp == 8  # 4 stages of pairs (a token passes them one after another) cost more here
    said = ("NVLink bridge joins 2 GPUs, so TP=8 all-reduces every layer over PCIe (64 GB/s each way, "
            "not the bridge's 300")
    assert any(said in w for w in r.warnings), r.warnings
    r = xlsizer.size(model="llama-3.3-70b", precision="fp8", gpu="h100-nvl", target_tpot_ms=40)
    assert r.burst.tp == 2 and not any("PCIe" in w for w in r.warnings), r.warnings  # inside the bridge


def test_amd_mesh_plans_say_how_many_links_their_tp_uses():
    """MI300X joins its GPUs pair by pair: a TP=4 plan's all-reduces use 3 of each GPU's 7
    Infinity Fabric links, and the answer says so (a planner used to NVSwitch reads TP=4 and TP=8
    as equals); TP=1 plans say nothing."""
    r = xlsizer.size(model="llama-3.3-70b", gpu="mi300x", concurrent_users=300)
    assert r.burst.tp == 4
    said = ("mi300x joins its GPUs pair by pair, without a switch: TP=4 all-reduces over 3 of each GPU's 7 links "
            "(192 GB/s each way, of 448 for TP=8), which the TTFT and TPOT shown include")
    assert any(said in w for w in r.warnings), r.warnings
    one = xlsizer.size(model="qwen3-32b", gpu="mi355x", concurrent_users=3000, precision="fp8", target_tpot_ms=20)
    assert one.burst.tp == 1 and not any("pair by pair" in w for w in one.warnings)
