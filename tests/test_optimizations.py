"""Issue 4: every optimization changes the numbers for a physical reason, and by about what the
seed module says (shared/seed; spec "Optimizations"), on representative workloads.

Each workload below says why it is representative. Where honest physics lands outside a seed
range, the test pins what the physics gives and its docstring says why.
"""

import math
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xlsizer
from xlsizer import InfeasibleError, make_inputs, size
from xlsizer.catalog.loader import load_catalog
from xlsizer.engine import search
from xlsizer.engine.optimizations import effects, expected_tokens_per_step, static_useful_fraction
from xlsizer.engine.performance import estimate
from xlsizer.engine.step import DEFAULT_TUNING, _setup, _step_s, _workload
from xlsizer.precision import Precision
from xlsizer.resolve import output_tokens, resolve_model
from xlsizer.results import SCENARIOS
from xlsizer.summary import sizing_rows
from xlsizer.workbook.examples import EXAMPLES

# Decode-heavy chat on a 70B: 1,000-token prompts and 1,000-token answers (long chat answers,
# where decode dominates), 2,000 users on H100s: the course's default model on the most common
# datacenter GPU, at a load that needs many replicas so rounding does not hide the ratio.
CHAT = dict(workload_type="interactive_chat", model="llama-3.3-70b", avg_prompt_tokens=1000,
            avg_output_tokens=1000, concurrent_users=2000, requests_per_user_per_minute=2, gpu="h100-sxm",
            target_tpot_ms=40)


def test_fp8_halves_memory_and_doubles_per_gpu_throughput():
    bf16 = size(**CHAT, precision="bf16").burst
    fp8 = size(**CHAT, precision="fp8").burst
    ratio_mem = fp8.memory.vram_gb / bf16.memory.vram_gb
    assert 0.45 <= ratio_mem <= 0.55  # weights and KV both at 1 byte instead of 2
    gain = fp8.extra["perf"]["out_tok_s_per_gpu"] / bf16.extra["perf"]["out_tok_s_per_gpu"]
    assert 1.6 <= gain <= 2.4, gain  # measured: 2.06
    assert fp8.total_gpus < bf16.total_gpus


def test_compute_precision_acts_on_prefill_only_where_math_binds():
    """FP8 weights multiplied at BF16 (W8A16): same memory, slower prompt math."""
    # median targets (issue 22): at p95 the TTFT queue moves W8A16 to a wider replica, whose
    # GPU-time per prompt is not the same comparison
    d = dict(CHAT, precision="fp8", avg_prompt_tokens=6000, slo_percentile=50)
    auto, w8a16 = size(**d).burst, size(**d, compute_precision="bf16").burst
    assert auto.memory.vram_gb == w8a16.memory.vram_gb
    # prompt math is compute bound: at half the tensor rate it takes about twice the GPU-time
    gpu_ms = [x.extra["perf"]["prefill_ms"] * x.gpus_per_replica for x in (auto, w8a16)]
    assert gpu_ms[1] > 1.8 * gpu_ms[0], gpu_ms


# Chat on a 70B with a realistic spread of output lengths: mean 400 tokens, exponential (the
# spread of ShareGPT-like chat answers), on H100s with the default 8K context.
BATCHING = dict(workload_type="interactive_chat", model="llama-3.3-70b", avg_prompt_tokens=1000,
                avg_output_tokens=400, max_context_tokens=8192, concurrent_users=1000, gpu="h100-sxm",
                target_tpot_ms=40)


def test_static_batching_idles_the_gpu_and_continuous_batching_fixes_it():
    cont = size(**BATCHING).burst
    stat = size(**BATCHING, continuous_batching=False).burst
    useful = stat.extra["optimizations"]["continuous_batching"]["static_useful_fraction"]
    assert useful <= 0.40  # measured 0.19 at the sized batch: 1/H_B for exponential lengths
    gain = cont.throughput_per_replica_tok_s / stat.throughput_per_replica_tok_s
    assert 2.5 <= gain <= 6.0, gain  # measured 5.2
    assert stat.total_gpus > 2.5 * cont.total_gpus
    assert any("continuous batching off" in w for w in size(**BATCHING, continuous_batching=False).warnings)


def test_a_static_batch_below_every_limit_says_static_batching_binds():
    """With continuous batching off the batch that carries the most requests sits below the
    largest the targets and the KV budget allow; the result said "memory bandwidth binds" and
    "largest mean batch with TPOT <= 50 ms" for a batch of 134 at 20 ms (the KV holds 329)."""
    d = dict(model="llama-3.1-8b", concurrent_users=200, gpu="h100-sxm")  # 50 ms TPOT target
    stat = size(**d, continuous_batching=False)
    perf = stat.burst.extra["perf"]
    assert perf["binding"] == "static batching"
    assert perf["tpot_ms"] < 0.5 * stat.inputs.tpot_ms, perf["tpot_ms"]  # far inside the target
    assert perf["batch"] < perf["max_batch"]
    row = next(e for e in stat.explain() if e.scenario == "burst" and e.name == "Batch per replica")
    assert row.formula.startswith("the static batch that carries the most requests/s"), row.formula
    # continuous batching: the batch grows to a limit (here compute, at 46 ms), never this one
    assert size(**d).burst.extra["perf"]["binding"] != "static batching"
    # a static batch the TPOT target stops says so, as before (77 at 37 of 40 ms, p95)
    assert size(**BATCHING, continuous_batching=False).burst.extra["perf"]["binding"] == "memory bandwidth"


@pytest.mark.parametrize("model,gpu,tp", [("llama-3.1-70b", "h200-sxm", 4), ("qwen3-235b-a22b", "h200-sxm", 4),
                                          ("kimi-k2-instruct", "b200", 8)])
@pytest.mark.parametrize("batch", [64.0, 512.0])
def test_a_static_batch_charges_its_prompts_what_a_mixed_step_does(model: str, gpu: str, tp: int, batch: float):
    """Continuous batching off runs a batch's prompts in passes of their own, charged to its decode
    steps: every cost a prompt token has in a mixed step (dense GEMMs, a MoE's routed experts, the
    prompt's attention, the collectives and activation traffic), so the two steps agree within a few
    percent. Only the dense GEMM math was charged: 0.71-0.74x the mixed step for Llama-3.1-70B,
    0.23-0.45x for Qwen3-235B-A22B, whose prompt tokens' experts went uncharged."""
    rep = _setup(model, gpu, tp, 1, 1, "fp8", None, "vllm", None)[5]
    static = _workload(rep, 8000.0, 300.0, None, replace(DEFAULT_TUNING, continuous_batching=False), 0.0)
    mixed = _workload(rep, 8000.0, 300.0, None, DEFAULT_TUNING, 0.0)
    assert 0.97 <= _step_s(static, batch) / _step_s(mixed, batch) <= 1.06


@pytest.mark.parametrize("d", [
    # 8,000-token prompts at the interactive default's 8,000-token max context: the static cap
    # fell to max context - prompt (0 tokens), so no static batch idled (128 static, 136 continuous)
    dict(model="qwen3-235b-a22b", avg_prompt_tokens=8000, avg_output_tokens=300, concurrent_users=500,
         gpu="h200-sxm"),
    # 12,418-token prompts under a TTFT target: the static steps left the prompts' costs out
    dict(model="minimax-m2.5", gpu="gb300", precision="int8", concurrent_users=10654,
         workload_type="interactive_chat", target_ttft_ms=4940.3, avg_output_tokens=3609,
         avg_prompt_tokens=12418, requests_per_user_per_minute=1.85, redundancy_mode="N+2", slo_percentile=90,
         speculative_decoding=True),
])
def test_continuous_batching_never_needs_more_gpus_than_static_batches(d: dict):
    on, off = size(**d), size(**d, continuous_batching=False)
    for name in SCENARIOS:
        assert on.scenarios[name].total_gpus <= off.scenarios[name].total_gpus, name
    rows = xlsizer.waterfall(make_inputs(d))
    at = next(i for i, row in enumerate(rows) if row.label == "Continuous batching")
    assert rows[at].total_gpus <= rows[at - 1].total_gpus  # the waterfall's step saves GPUs


def test_a_static_plan_says_the_wait_for_the_running_batch_that_its_ttft_leaves_out():
    """A request arriving while a static batch runs waits for it to end; the TTFT model is the
    continuous engine's queue, so the answer states the batch's cycle (its prompt, then until its
    longest answer ends: prefill + output x TPOT / useful share) and the mean wait it adds
    (llama-3.1-8b on an H100, 200 users: a 54 s cycle beside a 107 ms TTFT shown)."""
    d = dict(model="llama-3.1-8b", concurrent_users=200, gpu="h100-sxm")
    stat = size(**d, continuous_batching=False)
    line = next(w for w in stat.warnings if "static batch runs" in w)
    found = re.search(r"a batch here runs ([\d,.]+) s .* about ([\d,.]+) s of wait on average", line)
    assert found is not None, line
    perf = stat.burst.extra["perf"]
    useful = stat.burst.extra["optimizations"]["continuous_batching"]["static_useful_fraction"]
    out = output_tokens(stat.inputs, resolve_model(stat.inputs))
    cycle = perf["prefill_ms"] / 1000 + out * perf["tpot_ms"] / 1000 / useful
    assert float(found.group(1).replace(",", "")) == pytest.approx(cycle, abs=0.06)
    assert float(found.group(2).replace(",", "")) == pytest.approx(cycle / 2, abs=0.06)
    assert cycle > 100 * perf["ttft_ms"] / 1000  # seconds of wait beside a TTFT of a tenth of one
    assert not any("static batch runs" in w for w in size(**d).warnings)


def test_static_useful_fraction_is_the_harmonic_law():
    assert static_useful_fraction(1, 400, math.inf) == pytest.approx(1.0)
    assert static_useful_fraction(4, 400, math.inf) == pytest.approx(1 / (1 + 1 / 2 + 1 / 3 + 1 / 4))
    # a hard cap on output length (the context) bounds the longest request: more useful
    assert static_useful_fraction(64, 400, 400) > static_useful_fraction(64, 400, math.inf)


def test_static_useful_fractions_do_not_depend_on_what_was_asked_before():
    """The shared running sum, extended a batch at a time, gives the bits one pass gives: it
    once recovered the sum from the last fraction, so a sizing's last digits depended on the
    static batches sized before it (issue 22's 2,000-sizing snapshots found it)."""
    from xlsizer.engine.traffic import _FRACTIONS, static_useful_fractions

    law = (385.1234567, 7777.0)  # a law no other test asks for
    _FRACTIONS.pop(law, None)
    whole = list(static_useful_fractions(300, *law))
    _FRACTIONS.pop(law, None)
    for b in (1, 2, 3, 7, 40, 41, 299, 300):
        pieces = static_useful_fractions(b, *law)
    assert pieces == whole


# RAG on a 70B with a 4K average context (3,500 prompt + 500 output) and a 32K maximum: the
# course's own example of "4-8K used of a 32K maximum" (course.md §7 question 3).
PAGED = dict(workload_type="rag", model="llama-3.3-70b", avg_prompt_tokens=3500, avg_output_tokens=500,
             max_context_tokens=32768, concurrent_users=500, gpu="h200-sxm", target_tpot_ms=50)


def test_paged_attention_waste_and_concurrency():
    """KV waste without paging is 1 - 4,000/32,768 = 88% here, above the seed's 60-80% (which
    comes from the vLLM paper's ShareGPT traces, where the maximum is 2.5-5x the mean, not 8x);
    with 16-token blocks it is half a block per request, 0.2%. On the same GPUs, the requests
    whose KV fits rise by the reservation ratio, 8.2x (seed: 2.5-5x, for the same reason); the
    concurrency a deployment actually runs is also capped by the TPOT target, so the realised
    gain in GPUs is smaller."""
    on = size(**PAGED).burst.extra["optimizations"]["paged_attention"]
    off = size(**PAGED, paged_attention=False).burst.extra["optimizations"]["paged_attention"]
    assert on["kv_waste_fraction"] < 0.04
    assert 0.6 <= off["kv_waste_fraction"] <= 0.9
    inp = make_inputs(**PAGED)
    m = resolve_model(inp)
    g = load_catalog().gpu("h200-sxm")
    fits = []
    for paged in (True, False):
        fx = effects(inp.model_copy(update={"paged_attention": paged}), m, 3500, 500)
        e = estimate(m, g, 2, "fp8", 3500, 500, tuning=fx.tuning_for(g, 2, Precision.FP8), kv_budget_bytes=100e9)
        fits.append(e.max_batch)
    assert 2.5 <= fits[0] / fits[1] <= 8.5, fits
    # at the median KV memory binds, so paging buys GPUs back; at p95 this workload's TTFT
    # queue binds first and paging changes nothing (issue 22)
    med = dict(PAGED, slo_percentile=50)
    assert size(**med, paged_attention=False).burst.total_gpus > size(**med).burst.total_gpus


def _tpot_ratio(draft: str, batch: int) -> float:
    inp = make_inputs(model="llama-3.3-70b", speculative_decoding=True, spec_draft_model=draft,
                      spec_acceptance_rate=0.7, spec_draft_tokens=4, avg_prompt_tokens=1000, avg_output_tokens=400)
    m = resolve_model(inp)
    g = load_catalog().gpu("h100-sxm")
    fx = effects(inp, m, 1000, 400)
    on = estimate(m, g, 2, "fp8", 1000, 400, concurrency=batch, tuning=fx.tuning_for(g, 2, Precision.FP8))
    off = estimate(m, g, 2, "fp8", 1000, 400, concurrency=batch,
                   tuning=fx.tuning_for(g, 2, Precision.FP8, spec=False))
    return off.tpot_s / on.tpot_s


def test_drafter_cost_uses_the_calibration_of_the_gpu():
    # a team's profile that reaches half the packaged bandwidth streams the drafter's weights
    # and KV at that rate too: its per-step and per-sequence costs grow (read-bound parts double)
    from dataclasses import replace

    from xlsizer.engine.calibration import packaged_calibration

    inp = make_inputs(model="llama-3.3-70b", speculative_decoding=True, spec_draft_model="llama-3.1-8b",
                      spec_acceptance_rate=0.7, spec_draft_tokens=4, avg_prompt_tokens=1000, avg_output_tokens=400)
    m = resolve_model(inp)
    g = load_catalog().gpu("h100-sxm")
    fx = effects(inp, m, 1000, 400)
    pk = packaged_calibration()
    base = fx.tuning_for(g, 2, Precision.FP8)
    assert fx.tuning_for(g, 2, Precision.FP8, calibration=pk) == base
    slow = fx.tuning_for(g, 2, Precision.FP8, calibration=replace(pk, bandwidth_efficiency=pk.bandwidth_efficiency / 2))
    assert slow.extra_step_s > base.extra_step_s * 1.2
    assert slow.extra_step_s_per_seq > base.extra_step_s_per_seq * 1.2


def test_speculative_decoding_gain_at_small_batch_shrinks_at_large_batch():
    """70B on 2x H100, acceptance 0.7, 4 drafts: E = 2.77 tokens per target step. With an
    EAGLE-style draft head (0.5B) TPOT falls 2.4-2.7x at batch 1-8; with llama-3.1-8b as the
    drafter 1.48-1.57x (its four passes cost ~15% of a target step each: just under the seed's
    1.5x at batch 8, which is what a 8B/70B pair measures in vLLM's own benchmarks, ~1.5x).
    At large batch the target step is compute bound, the 5 verified tokens per accepted 2.77
    cost real FLOPs, and the gain falls under 1."""
    assert expected_tokens_per_step(0.7, 4) == pytest.approx(2.7731, abs=1e-4)
    head = [_tpot_ratio("", b) for b in (1, 8, 32, 128)]
    assert all(1.5 <= r <= 3.0 for r in head[:2]), head
    assert head[0] > head[1] > head[2] > head[3]
    assert head[3] < 1.2
    draft = [_tpot_ratio("llama-3.1-8b", b) for b in (1, 8, 256)]
    assert all(1.4 <= r <= 3.0 for r in draft[:2]), draft
    assert draft[2] < 1.0


def test_speculative_decoding_warns_at_large_batch():
    # many users of a small model on a big GPU: the sized batch is large and compute bound
    r = size(model="llama-3.1-8b", gpu="h100-sxm", concurrent_users=5000, speculative_decoding=True,
             avg_prompt_tokens=500, avg_output_tokens=500, target_tpot_ms=100)
    assert any("speculative decoding does not pay" in w for w in r.warnings)
    assert r.burst.extra["optimizations"]["speculative_decoding"]["throughput_gain"] < 1.0


# RAG on a 70B: 6,000-token prompts of which 4,200 (70%) are a shared system prompt, tool and
# retrieval template, with 90% of requests finding it cached; the course's bank RAG shape.
PREFIX = dict(workload_type="rag", model="llama-3.3-70b", avg_prompt_tokens=6000, avg_output_tokens=300,
              prefix_shared_tokens=4200, prefix_hit_rate=0.9, gpu="h100-sxm", concurrent_users=200)


def test_prefix_caching_cuts_prefill_and_ttft():
    on, off = size(**PREFIX).burst, size(**PREFIX, prefix_caching=False).burst
    assert on.extra["optimizations"]["prefix_caching"]["prefix_kv_gb_per_replica"] > 0
    assert on.total_gpus <= off.total_gpus
    # the prefill cut on the same replica shape (the RAG TTFT target alone may move the
    # uncached deployment to a wider tensor-parallel replica)
    loose = dict(PREFIX, target_ttft_ms=2000, slo_percentile=50)  # median: one replica shape for both
    on, off = size(**loose).burst, size(**loose, prefix_caching=False).burst
    per = [r.extra["perf"]["out_tok_s_per_replica"] / r.extra["perf"]["out_tok_s_per_gpu"] for r in (on, off)]
    assert per[0] == per[1]
    cut = 1 - on.extra["perf"]["prefill_ms"] / off.extra["perf"]["prefill_ms"]
    assert 0.40 <= cut <= 0.70, cut  # measured 60%: GEMMs -63%, attention of the suffix less
    assert on.extra["perf"]["ttft_ms"] < off.extra["perf"]["ttft_ms"]


# Eight fine-tuned variants of an 8B chat model, one eighth of the traffic each, 40 users in
# all: the departmental case (one adapter per business unit) where each variant alone is tiny.
LORA = dict(workload_type="interactive_chat", model="llama-3.1-8b", concurrent_users=40,
            requests_per_user_per_minute=1, lora_variants=8, gpu="h100-sxm")


def test_lora_one_shared_pool_instead_of_eight_deployments():
    pooled, separate = size(**LORA).burst, size(**LORA, lora_enabled=False).burst
    assert pooled.extra["optimizations"]["lora"]["deployments"] == 1
    assert separate.extra["optimizations"]["lora"]["deployments"] == 8
    assert separate.total_gpus >= 3 * pooled.total_gpus
    assert pooled.extra["optimizations"]["lora"]["adapter_gb"] > 0
    assert separate.servers > pooled.servers and separate.it_kw > pooled.it_kw


def test_lora_uneven_split():
    r = size(**{**LORA, "lora_variants": 3, "lora_traffic_split": "80,10,10", "lora_enabled": False})
    assert r.burst.extra["optimizations"]["lora"]["deployments"] == 3
    with pytest.raises(xlsizer.InputError):
        make_inputs(lora_variants=3, lora_traffic_split="1,2")


def test_variant_deployments_share_one_configuration_and_cost_never_rises_as_targets_loosen():
    """Without LoRA, each variant is its own deployment. Searched one by one, the 10% variant
    of a 60/30/10 split landed on 2x mi300x beside two b200 deployments, and the fleet was
    priced and headlined as b200 (20 GPUs "x 1 GPU" from 17 replicas); doubling the TTFT
    target moved the 30% variant too and the bill rose 35%. One configuration for all
    variants, the one whose deployments cost least together, keeps the numbers consistent."""
    base = dict(lora_variants=3, lora_enabled=False, lora_traffic_split="60,30,10", concurrent_users=500)
    costs = []
    for ttft in (800, 1600, 3200):
        r = size(**base, target_ttft_ms=ttft)
        for s in SCENARIOS:
            sc = r.scenarios[s]
            assert sc.total_gpus == sc.replicas * sc.gpus_per_replica, (ttft, s)
            c = sc.extra["cost"]
            assert c["gpus_in_use"] == sc.total_gpus
            assert c["monthly"] == pytest.approx(sc.total_gpus * c["price_per_gpu"] * c["hours_per_month"])
        assert r.burst.extra["optimizations"]["lora"]["deployments"] == 3
        assert "; 3 deployments, one per fine-tuned variant, each with its own spares)" in r.headline
        costs.append(r.burst.extra["cost"]["monthly"])
    assert costs == sorted(costs, reverse=True), costs
    # the automatic choice costs no more than any GPU the planner could fix instead
    for gpu in ("b200", "h200", "mi300x"):
        assert costs[0] <= size(**base, gpu=gpu).burst.extra["cost"]["monthly"] + 1e-6, gpu


def test_disaggregation_sizes_two_pools_and_adds_the_kv_transfer():
    r = size(**PREFIX, disaggregated=True).burst
    dis = r.extra["optimizations"]["disaggregated"]
    assert dis["kv_transfer_ms"] > 0 and dis["prefill_req_s_per_replica"] > 0
    assert r.extra["perf"]["ttft_ms"] > dis["prefill_ms"] + dis["kv_transfer_ms"]


def test_disaggregated_kv_moves_over_each_gpus_own_nic():
    """The prompt's KV leaves each prefill GPU over its own scale-out NIC: 100 GB/s each way on
    a B200 (CX8 800 Gb/s), 25 on an A100 (HDR 200 Gb/s); it was 50 for every GPU. 8,000
    prompt tokens of llama-3.3-70b's FP8 KV (80 layers x 8 KV heads x 128 x 2 x 1 byte per token)."""
    d = dict(model="llama-3.3-70b", disaggregated=True, concurrent_users=500, avg_prompt_tokens=8000,
             target_ttft_ms=3000, precision="fp8", kv_cache_dtype="fp8")
    kv = 8000 * 80 * 8 * 128 * 2 * 1.0
    for gpu, nic in (("b200", 100e9), ("a100-80gb", 25e9)):
        b = size(**d, gpu=gpu).burst
        assert b.extra["optimizations"]["disaggregated"]["kv_transfer_ms"] == pytest.approx(
            kv / (b.gpus_per_replica * nic) * 1000), gpu


def test_disaggregation_says_how_many_replicas_run_each_pool():
    """A disaggregated plan deploys prefill and decode workers: the result said "79 active
    replicas of 4x b200" without the split a planner deploys (here 69 prefill, 10 decode: 8,000-
    token prompts within an 800 ms p95 TTFT keep the prefill replicas busy)."""
    r = size(model="llama-3.3-70b", concurrent_users=2000, disaggregated=True, avg_prompt_tokens=8000)
    b = r.burst
    perf, dis = b.extra["perf"], b.extra["optimizations"]["disaggregated"]
    peak = 2000 * 2 / 60 * 3  # users x requests per minute / 60 x the burst
    assert perf["prefill_replicas"] == math.ceil(peak / dis["prefill_req_s_per_replica"]) == 69
    assert perf["decode_replicas"] == math.ceil(peak / dis["decode_req_s_per_replica"]) == 10
    assert perf["prefill_replicas"] + perf["decode_replicas"] == b.active_replicas
    assert "disaggregated: 69 prefill + 10 decode active" in r.headline
    row = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Active replicas")
    assert "prefill pool ceil(200 peak req/s" in row.formula and "= 69 + decode pool" in row.formula
    assert "prefill_replicas" not in size(model="llama-3.3-70b", concurrent_users=2000).burst.extra["perf"]
    rows = {row.label: row.values for row in sizing_rows(r)}  # the CLI's and the report's table
    assert rows["  of which prefill"][1] == 69 and rows["  of which decode"][1] == 10
    assert "  of which prefill" not in {row.label for row in sizing_rows(size(model="llama-3.3-70b"))}


def test_kv_offload_says_what_it_did():
    """kv_offload on said nothing in the explanation. Each scenario now has a row: the host
    memory used and the batch it allowed (llama-3.3-70b at BF16 on L40S: 2 sequences on the
    GPUs, 89 with 256 GB of host memory over a 400 GB/s link), or why none was used."""
    d = dict(workload_type="batch", model="llama-3.3-70b", precision="bf16", avg_prompt_tokens=8000,
             avg_output_tokens=1000, max_context_tokens=131072, concurrent_users=200, gpu="l40s",
             target_tpot_ms=500, target_ttft_ms=10000, kv_offload=True, host_link_gb_s=400)
    rows = {s.scenario: s for s in size(**d).explain() if s.name == "KV offload"}
    assert set(rows) == set(SCENARIOS)
    assert rows["burst"].value == 256.0 and "a batch of 2 on the GPUs alone, 89 with it" in rows["burst"].formula
    unused = next(s for s in size(**{**d, "model": "llama-3.1-8b", "gpu": "h100-sxm", "avg_prompt_tokens": 60000,
                                       "max_context_tokens": 65536, "target_tpot_ms": 200, "host_link_gb_s": 64})
                  .explain() if s.name == "KV offload" and s.scenario == "burst")
    assert unused.value == 0.0 and unused.formula.startswith("not used: the KV budget holds the batch at 13")
    assert not [s for s in size(**{**d, "kv_offload": False}).explain() if s.name == "KV offload"]


def test_kv_offload_pays_only_when_memory_binds():
    # long-context batch summarisation at BF16 on one H100 per replica: memory capacity binds
    d = dict(workload_type="batch", model="llama-3.1-8b", precision="bf16", avg_prompt_tokens=60000,
             avg_output_tokens=1000, max_context_tokens=65536, concurrent_users=200, gpu="h100-sxm",
             target_tpot_ms=200, target_ttft_ms=10000)
    off, on = size(**d).burst, size(**d, kv_offload=True).burst
    info = on.extra["optimizations"]["kv_offload"]
    assert info["max_batch_with_host"] >= info["max_batch_gpu_only"]
    assert on.total_gpus <= off.total_gpus


def test_red_flag_warnings():
    assert any("PagedAttention off" in w for w in size(paged_attention=False).warnings)
    half = size(avg_prompt_tokens=7000, max_context_tokens=8000).warnings
    assert any("at least half the max context" in w for w in half)
    assert not any("exceeds the max context" in w for w in half)
    # an average beyond the app's longest context is a contradiction to fix, not "half"
    over = size(avg_prompt_tokens=12000, max_context_tokens=8000).warnings
    assert any("12,500 tokens (prompt + output) exceeds the max context 8,000" in w for w in over)
    assert not any("at least half the max context" in w for w in over)
    assert any("no FP8 tensor cores" in w for w in size(gpu="a100-80gb", precision="fp8").warnings)
    with pytest.raises(InfeasibleError, match="below the hardware floor"):
        size(model="llama-3.1-405b", gpu="l40s", target_tpot_ms=5)


def test_a_model_cards_active_count_without_the_embedding_is_warned():
    # OpenAI's gpt-oss-120b card says 5.1 B (5.13) active, leaving the 0.58 B input embedding out;
    # the engine takes that look-up off itself, so the card's figure drops the output head's math
    oss = dict(model="gpt-oss-120b", gpu="b200", precision="fp4", concurrent_users=500)
    for typed in (5.1, 5.13):
        card = size(**oss, active_params_b=typed)
        assert any(f"active_params_b {typed:g} B looks like gpt-oss-120b's count without its input embedding" in w
                   for w in card.warnings)
        assert card.burst.extra["perf"]["out_tok_s_per_gpu"] > size(**oss).burst.extra["perf"]["out_tok_s_per_gpu"]
    for quiet in (dict(oss), dict(oss, active_params_b=5.711), dict(oss, active_params_b=4.0),
                  dict(model="mixtral-8x7b", gpu="h100-sxm", active_params_b=12.9)):
        assert not any("active_params_b" in w for w in size(**quiet).warnings)


# --- every toggle changes a reported number of some example project -------------------------

TOGGLES = {"continuous_batching": None, "paged_attention": None, "prefix_caching": None,
           "speculative_decoding": None, "lora_enabled": None, "kv_offload": None, "disaggregated": None,
           "compute_precision": "bf16", "kv_cache_dtype": "bf16", "precision": "bf16"}


def _reported(values):
    try:
        r = size(make_inputs(values))
    except InfeasibleError as e:
        return str(e)
    out = []
    for s in SCENARIOS:
        sc = r.scenarios[s]
        p = sc.extra.get("perf", {})
        out.append((sc.replicas, sc.total_gpus, sc.servers, round(sc.throughput_per_replica_tok_s, 6),
                    round(sc.memory.vram_gb, 6), sc.server.ram_gb, round(p.get("ttft_ms", 0), 6),
                    round(p.get("tpot_ms", 0), 6)))
    return out


@pytest.mark.parametrize("field", sorted(TOGGLES))
def test_every_toggle_changes_some_example(field):
    for e in EXAMPLES:
        inp = make_inputs(e.values)
        new = TOGGLES[field] if TOGGLES[field] is not None else not getattr(inp, field)
        if _reported({**e.values, field: new}) != _reported(e.values):
            return
    pytest.fail(f"{field} changes no reported number of any example project")


# --- monotonicity with any combination switched on ----------------------------------------

combo = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3.1-8b", "llama-3.3-70b", "qwen3-32b", "mixtral-8x7b"]),
    "precision": st.sampled_from(["fp8", "bf16"]),
    "concurrent_users": st.integers(1, 3000),
    "avg_prompt_tokens": st.integers(100, 8000),
    "avg_output_tokens": st.integers(20, 2000),
    "target_tpot_ms": st.sampled_from([30, 50, 100]),
    "redundancy_mode": st.sampled_from(["N", "N+1", "N+2"]),
    "continuous_batching": st.booleans(),
    "paged_attention": st.booleans(),
    "prefix_caching": st.booleans(),
    "prefix_shared_tokens": st.integers(0, 4000),
    "speculative_decoding": st.booleans(),
    "lora_variants": st.sampled_from([1, 3, 8]),
    "lora_enabled": st.booleans(),
    "kv_offload": st.booleans(),
    "disaggregated": st.booleans(),
    "compute_precision": st.sampled_from(["auto", "bf16"]),
})
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _gpus(d):
    try:
        r = size(make_inputs(d))
    except InfeasibleError:
        return [math.inf] * 3, [math.inf] * 3
    return ([r.scenarios[s].total_gpus for s in SCENARIOS],
            [r.scenarios[s].extra["cost"]["monthly"] for s in SCENARIOS])


@SETTINGS
@given(combo, st.sampled_from(["h100-sxm", "h200-sxm", "l40s"]), st.floats(1.01, 4))
def test_more_users_never_fewer_gpus_with_optimizations(d, gpu, k):
    d = {**d, "gpu": gpu}
    before, _ = _gpus(d)
    after, _ = _gpus({**d, "concurrent_users": min(100_000, d["concurrent_users"] * k)})
    assert all(a >= b for a, b in zip(after, before, strict=True)), (before, after)


@SETTINGS
@given(combo, st.floats(1.01, 4))
def test_more_users_never_cheaper_with_auto_gpu(d, k):
    _, before = _gpus(d)
    _, after = _gpus({**d, "concurrent_users": min(100_000, d["concurrent_users"] * k)})
    assert all(a >= b - 1e-6 for a, b in zip(after, before, strict=True)), (before, after)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(combo)
def test_pruned_search_equals_exhaustive_with_optimizations(d):
    def answer():
        try:
            r = size(make_inputs(d))
        except InfeasibleError as e:
            return str(e)
        return [(r.scenarios[s].gpu, r.scenarios[s].gpus_per_replica, r.scenarios[s].replicas) for s in SCENARIOS]

    pruned = answer()
    search.PRUNE = False
    try:
        full = answer()
    finally:
        search.PRUNE = True
    assert pruned == full


def test_models_with_mtp_layers_draft_with_them():
    """DeepSeek-V3 ships one multi-token-prediction module (14 B parameters, FP8 in the release):
    with speculative decoding on and no draft model named, it is the drafter: 14 GB more per
    replica, its layer and the shared output head read per draft pass. A dense model without
    MTP layers keeps the EAGLE-style draft head."""
    m = load_catalog().model("deepseek-v3")
    assert m.mtp_layers == 1 and m.mtp_params_b == pytest.approx(14.0)
    inp = make_inputs(model="deepseek-v3", speculative_decoding=True, spec_draft_tokens=2,
                      avg_prompt_tokens=1000, avg_output_tokens=400)
    fx = effects(inp, m, 1000, 400)
    assert fx.draft is not None and "MTP" in fx.draft.name
    assert fx.draft.weight_bytes == pytest.approx(14.0e9)  # 1 byte per FP8 parameter
    head = m.hidden_size * m.vocab_size
    assert fx.draft.read_bytes == pytest.approx(14.0e9 + head)  # the shared head is read, not held
    g = load_catalog().gpu("h200-sxm")
    on = estimate(m, g, 8, "fp8", 1000, 400, concurrency=1, tuning=fx.tuning_for(g, 8, Precision.FP8))
    off = estimate(m, g, 8, "fp8", 1000, 400, concurrency=1,
                   tuning=fx.tuning_for(g, 8, Precision.FP8, spec=False))
    assert 1.2 < off.tpot_s / on.tpot_s < 2.0  # E = 2.19 tokens per step, minus 2 draft passes
    dense = effects(make_inputs(model="llama-3.3-70b", speculative_decoding=True), resolve_model(
        make_inputs(model="llama-3.3-70b")), 1000, 400)
    assert dense.draft is not None and dense.draft.name.startswith("draft head")


def test_kv_offload_streams_over_the_gpus_own_host_link_unless_told():
    """host_link_gb_s empty: each GPU's own link in the catalog, one direction (A100: PCIe Gen4
    x16, 32 GB/s; H100: Gen5, 64; GH200: NVLink-C2C to Grace, 450); a typed figure wins; a GPU
    whose row states none (a custom GPU) streams at PCIe Gen5's 64. The input said 64 for all,
    so a GH200 plan understated its link 7x and an A100 one overstated it 2x."""
    d = dict(workload_type="batch", model="llama-3.3-70b", precision="bf16", avg_prompt_tokens=8000,
             avg_output_tokens=1000, max_context_tokens=131072, concurrent_users=200,
             target_tpot_ms=500, target_ttft_ms=10000, kv_offload=True)

    def link(**kw: object) -> str:
        row = next(s for s in size(**{**d, **kw}).explain() if s.name == "KV offload" and s.scenario == "burst")
        return row.formula

    assert "over the 32 GB/s host link" in link(gpu="a100-80gb")
    assert "over the 64 GB/s host link" in link(gpu="h100-sxm")
    assert "over the 450 GB/s host link" in link(gpu="gh200")
    assert "over the 100 GB/s host link" in link(gpu="gh200", host_link_gb_s=100)
    custom = dict(gpu="custom", gpu_memory_gb=80, gpu_bandwidth_tb_s=3.35, gpu_bf16_tflops=989, gpu_tdp_w=700)
    assert "over the 64 GB/s host link" in link(**custom)
    # the L40S's own 32 GB/s: offloading does not pay (536 GPUs, as without it); at 400 it does (508)
    own, fast = (size(**{**d, "gpu": "l40s", "host_link_gb_s": v}).burst.total_gpus for v in (None, 400))
    assert own == size(**{**d, "gpu": "l40s", "host_link_gb_s": 32}).burst.total_gpus == 536 and fast == 508
