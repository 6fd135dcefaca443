"""The "drivers" and "what would change the answer" lines: computed, not canned."""

import xlsizer


def test_drivers_name_what_sets_the_answer():
    r = xlsizer.size(model="llama-3.3-70b", concurrent_users=200)
    lines = xlsizer.drivers(r)
    assert any("llama-3.3-70b" in d and "70.0 GB" in d for d in lines)
    assert any(f"{r.burst.active_replicas} active replicas" in d for d in lines)


def test_drivers_count_one_replica_in_the_singular():
    # one active replica and one spare (llama-3.1-8b, 80 users): "1 active replica", not "replicas"
    r = xlsizer.size(model="llama-3.1-8b")
    assert (r.burst.active_replicas, r.burst.replicas) == (1, 2)
    lines = xlsizer.drivers(r)
    assert any("1 active replica of " in d for d in lines) and "Redundancy N+1: 1 spare replica" in lines
    two = xlsizer.drivers(xlsizer.size(model="llama-3.1-8b", redundancy_mode="N+2"))
    assert "Redundancy N+2: 2 spare replicas" in two


def test_drivers_state_a_large_mean_batch_in_plain_digits():
    # 1,024 sequences per replica: written with a thousands separator, not as 1.02e+03
    r = xlsizer.size(model="llama-3.1-8b", gpu="b200", concurrent_users=20000, target_tpot_ms=80,
                     avg_prompt_tokens=500, avg_output_tokens=200)
    assert r.burst.extra["perf"]["mean_batch"] >= 1000
    assert any(d.startswith("At capacity each replica runs 1,024 sequences on average") for d in xlsizer.drivers(r))


def test_a_batch_at_the_engines_sequence_limit_says_so():
    """1,024 sequences of llama-3.1-8b on a B200 at 36 of 80 ms: vLLM's default max_num_seqs
    holds the batch, not the GPU. It read "compute binds", which sends a planner to faster GPUs
    where the lever is an engine setting; TensorRT-LLM's default limit (2,048) lets the same
    replica run twice the batch, up to that limit."""
    d = dict(model="llama-3.1-8b", gpu="b200", concurrent_users=20000, target_tpot_ms=80,
             avg_prompt_tokens=500, avg_output_tokens=200)
    r = xlsizer.size(**d)
    perf = r.burst.extra["perf"]
    assert perf["binding"] == "engine sequence limit" and perf["batch"] == 1024
    assert perf["tpot_q_ms"] < 0.5 * 80  # far inside the target
    row = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Batch per replica")
    assert row.formula.startswith("the serving engine's most sequences per replica (vllm")
    trt = xlsizer.size(**d, serving_engine="trt-llm").burst.extra["perf"]
    assert trt["batch"] == 2048 and trt["binding"] == "engine sequence limit" and trt["tpot_q_ms"] < 80


def test_what_ifs_are_real_resizings():
    inp = xlsizer.make_inputs(model="llama-3.3-70b", concurrent_users=400, gpu="h100-sxm")
    base = xlsizer.size(inp).burst.total_gpus
    by_change = {w.change: w for w in xlsizer.what_if(inp)}
    more = by_change["Concurrent users +50%"]
    assert more.total_gpus == xlsizer.size(inp.model_copy(update={"concurrent_users": 600})).burst.total_gpus
    assert more.total_gpus >= base
    relaxed = next(w for c, w in by_change.items() if c.startswith("TPOT target relaxed"))
    assert relaxed.total_gpus <= base  # a looser TPOT never needs more GPUs


def test_what_if_fp8_where_fp4_narrows_the_automatic_choice():
    """FP4 weights keep the automatic choice to GPUs with FP4 tensor cores (the B200 alone):
    a small model then costs several times a plan on older GPUs at FP8, and the planner picked
    FP4 to save. The what-if re-sizes at FP8; with a chosen GPU or other weights it is not offered."""
    d = dict(model="qwen3-8b", precision="fp4", concurrent_users=23, workload_type="agentic", target_tpot_ms=52.9,
             avg_output_tokens=1350, avg_prompt_tokens=3583, serving_engine="trt-llm")
    inp = xlsizer.make_inputs(**d)
    now = xlsizer.size(inp).burst
    label = "FP8 weights (FP4 keeps the automatic choice to GPUs with FP4 tensor cores)"
    fp8 = {w.change: w for w in xlsizer.what_if(inp)}[label]
    ref = xlsizer.size(**{**d, "precision": "fp8"}).burst
    assert (fp8.total_gpus, fp8.gpu, fp8.monthly) == (ref.total_gpus, ref.gpu, ref.extra["cost"]["monthly"])
    assert now.gpu == "b200" and fp8.gpu == "mi300x" and fp8.monthly < 0.5 * now.extra["cost"]["monthly"]
    for other in ({**d, "gpu": "b200"}, {**d, "precision": "fp8"}):
        assert label not in {w.change for w in xlsizer.what_if(xlsizer.make_inputs(**other))}


def test_what_if_doubles_a_binding_ttft_target():
    """The course's worked example (6,000-token prompts, TTFT 500 ms): the TTFT target holds
    each replica's batch, so doubling it is offered and re-sized, and needs fewer GPUs."""
    inp = xlsizer.make_inputs(model="llama-3.3-70b", avg_prompt_tokens=6000, avg_output_tokens=250,
                              concurrent_users=80, requests_per_user_per_minute=4, target_tpot_ms=40,
                              target_ttft_ms=500, burst_factor=2.5, gpu="h200-sxm")
    r = xlsizer.size(inp)
    assert r.burst.extra["perf"]["binding"] == "TTFT target"
    doubled = {w.change: w for w in xlsizer.what_if(inp)}["TTFT target doubled (to 1,000 ms)"]
    assert doubled.total_gpus == xlsizer.size(inp.model_copy(update={"target_ttft_ms": 1000})).burst.total_gpus
    assert doubled.total_gpus < r.burst.total_gpus and doubled.monthly < r.burst.extra["cost"]["monthly"]


def test_cli_table_shows_drivers_and_what_ifs(capsys):
    from xlsizer.cli import main

    assert main(["size", "--set", "concurrent_users=300"]) == 0
    out = capsys.readouterr().out
    assert "Drivers (Burst):" in out and "What would change the answer" in out


def test_scenario_story_explains_why_resilient_needs_more():
    from xlsizer.engine.insights import scenario_story

    r = xlsizer.size(model="llama-3.3-70b", concurrent_users=200, burst_factor=2.5)
    text = scenario_story(r)
    res, bur = r.resilient, r.burst
    assert (f"Resilient sizes for x3 (the larger of your x2.5 and its x3 floor): ({res.active_replicas} active + "
            f"{res.replicas - res.active_replicas} spare) replicas x {res.gpus_per_replica} GPU") in text
    assert text.endswith(f"= {res.total_gpus} GPUs.")
    assert f"Burst sizes for your peak (x2.5): ({bur.active_replicas} active" in text
    assert res.active_replicas >= bur.active_replicas  # the higher burst floor, not only the spares


def test_scenario_story_counts_one_gpu_in_the_singular():
    from xlsizer.engine.insights import scenario_story

    r = xlsizer.size(model="llama-3.1-8b", gpu="h100-sxm", precision="bf16", concurrent_users=100)
    assert (r.baseline.replicas, r.baseline.total_gpus, r.baseline.gpus_per_replica) == (1, 1, 1)
    text = scenario_story(r)
    assert "Baseline sizes for the average load: (1 active + 0 spare) replica x 1 GPU = 1 GPU;" in text
    assert "1 GPUs" not in text and "0 spare) replicas" not in text


def test_what_if_names_a_changed_gpu_and_the_money():
    """Under gpu=auto a tighter TPOT can need fewer GPUs of a dearer kind: the line says so
    rather than reading as a saving (fewer GPUs, more money)."""
    from xlsizer import size
    from xlsizer.engine.insights import what_ifs

    r = size(model="deepseek-v3", concurrent_users=1000)
    now = r.burst
    for w in what_ifs(r.inputs):
        if w.total_gpus is None:
            continue
        text = w.versus(now)
        assert f"{w.total_gpus:,} GPUs" in text and "/month" in text
        if w.gpu != now.gpu:
            assert f"of {w.gpu} instead of {now.gpu}" in text
        if w.change.startswith("TPOT target tightened"):
            assert w.monthly >= now.extra["cost"]["monthly"]  # a tighter target never costs less


def test_speculative_decoding_saving_is_said_with_its_resizing():
    """A model that ships its own draft head (DeepSeek-R1's MTP layer) at an interactive TPOT:
    the drivers say what switching speculative decoding on would save, and the figure is the
    re-sizing with it on; a compute-bound plan (large batches) gets no such line."""
    from xlsizer.engine.insights import speculative_saving

    inp = xlsizer.make_inputs(model="deepseek-r1", concurrent_users=2000, target_tpot_ms=20,
                              avg_prompt_tokens=1000, avg_output_tokens=1000)
    r = xlsizer.size(inp)
    on = xlsizer.size(inp.model_copy(update={"speculative_decoding": True})).burst
    line = speculative_saving(r)
    assert on.total_gpus < r.burst.total_gpus
    assert line is not None and line in xlsizer.drivers(r)
    gpu = "" if on.gpu == r.burst.gpu else f" {on.gpu}"  # the re-sizing may choose another GPU
    assert f"at {on.total_gpus:,}{gpu} GPUs instead of {r.burst.total_gpus:,}" in line
    assert "multi-token-prediction" in line and "acceptance 0.7" in line
    assert speculative_saving(xlsizer.size(inp.model_copy(update={"speculative_decoding": True}))) is None
    big = xlsizer.size(model="llama-3.1-8b", concurrent_users=500, target_tpot_ms=50)
    assert big.burst.extra["perf"]["binding"] != "memory bandwidth"
    assert speculative_saving(big) is None


def test_weights_held_in_more_bytes_than_the_release_are_flagged_and_resized():
    """gpt-oss-120b ships its routed experts in MXFP4: the default FP8 sized a 116.8 GB copy
    (61.6 GB as released) and said nothing. The answer now warns, with both sizes, and re-sizes
    the release among what would change the answer; a precision at or below the release's says
    nothing (quantizing a BF16 release to FP8 is the usual deployment, not an upcast)."""
    inp = xlsizer.make_inputs(model="gpt-oss-120b", concurrent_users=2000, gpu="b200")
    r = xlsizer.size(inp)
    warn = [w for w in r.warnings if "as released" in w]
    assert len(warn) == 1 and "routed experts in FP4" in warn[0] and "116.8 GB" in warn[0] and "61.6 GB" in warn[0]
    by_change = {w.change: w for w in xlsizer.what_if(inp)}
    rel = by_change["Weights as released (FP4 instead of FP8)"]
    as_shipped = xlsizer.size(model="gpt-oss-120b", concurrent_users=2000, gpu="b200", precision="fp4")
    assert rel.total_gpus == as_shipped.burst.total_gpus < r.burst.total_gpus  # on a B200 the release is cheaper
    assert not [w for w in as_shipped.warnings if "as released" in w]
    deepseek = xlsizer.size(model="deepseek-r1", precision="bf16", gpu="b200")
    assert any("released with its weights in FP8: BF16 holds them in 2x the bytes" in w for w in deepseek.warnings)
    for quantized in (dict(model="llama-3.3-70b", precision="fp8"), dict(model="llama-3.3-70b", precision="bf16"),
                      dict(model="deepseek-r1", precision="fp4")):
        inp = xlsizer.make_inputs(**quantized)
        assert not [w for w in xlsizer.size(inp).warnings if "as released" in w], quantized
        assert not [w for w in xlsizer.what_if(inp) if w.change.startswith("Weights as released")], quantized


def test_disaggregation_is_weighed_both_ways():
    """A planner who turned disaggregated serving on sees what the aggregated plan would buy,
    and one who did not sees the pools' plan: a full re-sizing either way."""
    for on in (True, False):
        inp = xlsizer.make_inputs(model="llama-3.3-70b", concurrent_users=2000, avg_prompt_tokens=8000,
                                  disaggregated=on)
        label = "Disaggregated serving off" if on else "Disaggregated serving (prefill and decode pools)"
        w = {x.change: x for x in xlsizer.what_if(inp)}[label]
        other = xlsizer.make_inputs(model="llama-3.3-70b", concurrent_users=2000, avg_prompt_tokens=8000,
                                    disaggregated=not on)
        assert w.total_gpus == xlsizer.size(other).burst.total_gpus


def test_course_table_tighter_tpot_says_why_it_can_need_fewer_gpus():
    # the course's method: 50 -> 30 ms gives fewer GPUs (in flight = RPS x output x TPOT), and the
    # line says so; the roofline method never does and its line carries no such note
    from xlsizer.engine.insights import what_ifs

    r = xlsizer.size(throughput_source="course-table")
    tight = next(w for w in what_ifs(r.inputs) if w.change.startswith("TPOT target tightened"))
    assert tight.total_gpus < r.burst.total_gpus and "Little's law" in tight.change
    roof = next(w for w in what_ifs(xlsizer.size().inputs) if w.change.startswith("TPOT target tightened"))
    assert "Little's law" not in roof.change


def test_count_words_a_number_with_its_noun():
    from xlsizer.units import count

    assert [count(1, "GPU"), count(0, "spare replica"), count(1024, "sequence")] == [
        "1 GPU", "0 spare replicas", "1,024 sequences"]
    # users are a float input: whole numbers print whole (":g" wrote 1.23457e+06 users)
    assert [count(1.0, "user"), count(2.5, "user"), count(1_234_567.0, "user")] == [
        "1 user", "2.5 users", "1,234,567 users"]


def test_figure_keeps_three_digits_without_an_exponent():
    from xlsizer.units import figure

    assert [figure(x) for x in (6.41e-05, 0.063, 4.41, 4.0, 45.2, 716.2, 1_234_567.0)] == [
        "0.0000641", "0.063", "4.41", "4", "45.2", "716", "1,234,567"]


def test_worst_case_kv_warning_reads_right_for_one_request_and_small_kv():
    """Course step 17's worst-case KV warning: Little's law's mean in flight as a fraction below
    one request (it printed '1 requests' or '0 requests'), and KV below 10 GB keeps its digits
    (the sized KV of one short request printed as '0 GB')."""
    r = xlsizer.size(model="deepseek-r1", gpu="mi300x", concurrent_users=7, requests_per_user_per_minute=1,
                     redundancy_mode="N", avg_output_tokens=50, max_context_tokens=131072)
    (w,) = [w for w in r.warnings if "worst case" in w]
    assert w.startswith("burst: worst case: 0.875 requests in flight on average at max context (131,072 tokens) "
                        "need 4.03 GB of KV")
    assert w.endswith("the sized 0.063 GB: cap the context or enable KV offload")
    r = xlsizer.size(model="llama-3.3-70b", concurrent_users=80, requests_per_user_per_minute=4, burst_factor=2.5,
                     target_tpot_ms=40, max_context_tokens=32768)
    (w,) = [w for w in r.warnings if "worst case" in w]
    assert "267 requests at max context (32,768 tokens) need 1,432 GB of KV, over 4x the sized 109 GB" in w
    # a light load: Little's law's mean in flight is a fraction, said as one (it printed "0 requests")
    r = xlsizer.size(model="gpt-oss-120b", gpu="h100-sxm", concurrent_users=1, requests_per_user_per_minute=0.1,
                     redundancy_mode="N", avg_prompt_tokens=100, avg_output_tokens=50, max_context_tokens=131072)
    (w,) = [w for w in r.warnings if "worst case" in w]
    assert w.startswith("burst: worst case: 0.0125 requests in flight on average at max context"), w
    assert "the sized 0.0000641 GB" in w  # not 6.41e-05
