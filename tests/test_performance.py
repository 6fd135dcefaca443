"""The roofline performance model (xlsizer/engine/performance.py).

Reference numbers: course.md §3b (TPOT floor = model bytes / bandwidth: 70 GB on an H100 at
3.35 TB/s is about 21 ms, on an H200 at 4.8 TB/s about 14.6 ms); validation/calibration.csv
(the repo's copy of the published measurements the constants are fitted on); NVIDIA's NIM
benchmark of Llama-3.3-70B FP8 on 2x H100 (docs.nvidia.com/nim/benchmarking/llm/1.0.0/
performance, quoted in the shared reference anchors.md §3.11), which is NOT used in the
fit and checks the model at fixed concurrencies.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xlsizer.catalog import load_catalog
from xlsizer.engine import performance as perf
from xlsizer.engine.layers import elementwise_bytes, tensor_parallel_refusal
from xlsizer.engine.performance import (
    ENGINES,
    Calibration,
    Tuning,
    confidence_band,
    default_kv_precision,
    estimate,
    packaged_calibration,
    slo_capacity,
    ttft_at_load,
)
from xlsizer.errors import InfeasibleError, InputError, UnknownIdError, UnsupportedPrecisionError
from xlsizer.precision import Precision
from xlsizer.validation import percentile, validate

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION_CSV = ROOT / "validation" / "calibration.csv"

DENSE = ["llama-3.1-8b", "llama-3.3-70b", "qwen3-32b", "mistral-7b", "gemma-3-27b", "phi-4"]
MOE = ["mixtral-8x7b", "qwen3-30b-a3b", "gpt-oss-120b", "deepseek-r1", "llama-4-scout"]
GPUS = ["h100-sxm", "h200-sxm", "b200", "a100-80gb", "l40s", "mi300x", "gb200"]
PRECISIONS = ["bf16", "fp8", "int8", "int4", "fp4"]

slow = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _gpu(gid: str):
    return load_catalog().gpu(gid)


def _whole_heads(model: str, tp: int) -> None:
    """Draw only the tensor-parallel sizes the engines run for this model (Phi-4: 1, 2)."""
    assume(tensor_parallel_refusal(load_catalog().model(model), tp) is None)


def _try_capacity(*args, **kwargs):
    try:
        return slo_capacity(*args, **kwargs)
    except UnsupportedPrecisionError:
        assume(False)
        raise AssertionError("unreachable") from None


# --- accuracy on the published measurements ------------------------------------------------


def test_per_gpu_throughput_median_ape_at_most_15_percent():
    report = validate(CALIBRATION_CSV)
    apes = report.apes(["out_tok_s_per_gpu"])
    assert len(apes) >= 60  # every TensorRT-LLM per-GPU row and the batch-1 SGLang row
    assert percentile(apes, 0.5) <= 0.15
    # regression guard on the tail. Measured: 0.12 when these rows were the only data; 0.224
    # to 0.259 over issue 11's refits on serving.csv too (now 0.224): the tail is Llama-3.3-70B
    # FP4 at full load on B200/GB200, fast, where the FP4 efficiency serving.csv's MoE runs
    # want (at its bound, 1.0) over-predicts.
    assert percentile(apes, 0.9) <= 0.25


def test_nim_concurrency_sweep_not_used_in_the_fit():
    """NIM 1.8.0, Llama-3.3-70B FP8, 2x H100 TP2, 5,000 in / 500 out (anchors.md §3.11):
    concurrency -> (TTFT ms, ITL ms, output tok/s)."""
    nim = {1: (406.77, 18.58, 51.67), 5: (546.7, 21.83, 218.48), 25: (688.69, 38.75, 623.4),
           50: (834.51, 59.73, 814.37), 100: (7996.25, 92.91, 917.26),
           150: (34794.22, 92.86, 920.9)}
    for conc, (ttft_ms, itl_ms, tok_s) in nim.items():
        e = estimate("llama-3.3-70b", "h100-sxm", 2, "fp8", 5000, 500, conc,
                     engine="tensorrt-llm")
        assert e.tpot_s * 1e3 == pytest.approx(itl_ms, rel=0.2), conc
        assert e.out_tok_s_per_replica == pytest.approx(tok_s, rel=0.2), conc
        if conc <= 50:
            # Since the serving.csv fit (issue 11) TensorRT-LLM's first-token overhead is
            # 150 ms (the bound), so TTFT here is predicted 1.25-2.05x high (measured
            # 407-835 ms, predicted 570-1,704 ms; 539-1,538 before the half running step
            # and the refit): on the safe side, and stated in the report.
            assert ttft_ms <= e.ttft_s * 1e3 <= 2.1 * ttft_ms, conc
        else:  # past the replica's capacity the queue explodes, as measured (8 s, 35 s)
            assert e.ttft_s * 1e3 > 5000.0, conc


# --- physical floors -------------------------------------------------------------------------


def test_tpot_floor_70b_fp8_on_one_h100_is_about_21_ms():
    cap = slo_capacity("llama-3.3-70b", "h100-sxm", 1, "fp8", 2000, 500, 1.0)
    course_floor = 70e9 / 3.35e12  # course.md §3b: 21 ms
    # Only the input embedding table (1.5% of the weights) is not streamed each step.
    assert cap.tpot_floor_s >= 0.98 * course_floor
    assert cap.tpot_floor_s <= 1.4 * course_floor
    # The weights alone leave no room for KV on one 80 GB H100 with vLLM's 90% budget.
    assert not cap.feasible and cap.binding == "memory capacity"

    e = estimate("llama-3.3-70b", "h100-sxm", 1, "fp8", 2000, 500, 1, kv_budget_bytes=4e9)
    assert e.tpot_s >= e.step.weights_bytes / _gpu("h100-sxm").memory_bandwidth_bytes_per_s
    assert e.tpot_s == pytest.approx(cap.tpot_floor_s, rel=0.02)
    assert e.binding == "memory bandwidth"

    h200 = slo_capacity("llama-3.3-70b", "h200-sxm", 1, "fp8", 2000, 500, 1.0)
    # above: the bytes at the datasheet rate (14.6 ms); below: the bytes at the probe's
    # measured streaming rate (0.88 of datasheet) plus about 60 µs of small kernels per layer
    # (gpu-measurements.md: about 55 µs per layer at B = 1) for the 80 layers, plus 1 ms
    assert 0.98 * 70e9 / 4.8e12 <= h200.tpot_floor_s <= 70e9 / (0.88 * 4.8e12) + 80 * 60e-6 + 1e-3


@slow
@given(st.sampled_from(DENSE + MOE), st.sampled_from(GPUS), st.sampled_from([1, 2, 4, 8]),
       st.sampled_from(PRECISIONS))
def test_batch1_tpot_never_below_weight_bytes_over_bandwidth(model, gid, tp, prec):
    _whole_heads(model, tp)
    try:
        e = estimate(model, gid, tp, prec, 1000, 200, 1, kv_budget_bytes=1e13)
    except UnsupportedPrecisionError:
        assume(False)
        return
    assert e.tpot_s >= e.step.weights_bytes / _gpu(gid).memory_bandwidth_bytes_per_s
    assert e.tpot_s >= e.step.kv_bytes / _gpu(gid).memory_bandwidth_bytes_per_s


@pytest.mark.parametrize("model,gid,tp", [("llama-3.3-70b", "h100-sxm", 2),
                                          ("llama-3.1-8b", "h200-sxm", 1),
                                          ("mixtral-8x7b", "h100-sxm", 2),
                                          ("gemma-3-27b", "h100-sxm", 1)])
def test_prefill_grows_at_least_linearly_with_prompt_length(model, gid, tp):
    gpu = _gpu(gid)
    spec = load_catalog().model(model)
    # the raw matmul cost of a token at 100% of the tensor peak: the slope can't be lower
    per_token = 2 * (spec.active_params - spec.vocab_size * spec.hidden_size) / tp \
        / gpu.dense_flops(Precision.FP8)
    lengths = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
    times = [estimate(model, gid, tp, "fp8", s, 100, kv_budget_bytes=1e12).prefill_s
             for s in lengths]
    for (s1, t1), (s2, t2) in pairwise(zip(lengths, times, strict=True)):
        assert t2 > t1
        assert t2 - t1 >= (s2 - s1) * per_token
    # Past the compute ridge, causal attention makes the cost per token grow with length.
    per_tok = [t / s for s, t in zip(lengths, times, strict=True) if s >= 4096]
    assert all(b >= a * 0.999 for a, b in pairwise(per_tok))


# --- monotonicity properties -----------------------------------------------------------------


@slow
@given(st.sampled_from(DENSE + MOE), st.sampled_from(["h100-sxm", "h200-sxm", "b200", "mi300x"]),
       st.sampled_from([1, 2, 4, 8]), st.sampled_from(["bf16", "fp8", "int4"]),
       st.integers(50, 20000), st.integers(16, 4000), st.floats(1.05, 4.0))
def test_more_bandwidth_never_lowers_decode_throughput(model, gid, tp, prec, isl, osl, k):
    _whole_heads(model, tp)
    gpu = _gpu(gid)
    faster = gpu.model_copy(update={"memory_bandwidth_tb_s": gpu.memory_bandwidth_tb_s * k})
    try:
        base = estimate(model, gpu, tp, prec, isl, osl)
    except (UnsupportedPrecisionError, InfeasibleError):
        assume(False)
        return
    more = estimate(model, faster, tp, prec, isl, osl)
    assert more.out_tok_s_per_replica >= base.out_tok_s_per_replica * (1 - 1e-9)
    assert more.tpot_s <= base.tpot_s * (1 + 1e-9)
    for target in (0.02, 0.05, 0.2):
        slow_cap = slo_capacity(model, gpu, tp, prec, isl, osl, target)
        fast_cap = slo_capacity(model, faster, tp, prec, isl, osl, target)
        assert fast_cap.out_tok_s >= slow_cap.out_tok_s * (1 - 1e-9)


@slow
@given(st.sampled_from(DENSE + MOE), st.sampled_from(["h100-sxm", "h200-sxm", "b200", "l40s"]),
       st.sampled_from([1, 2, 4, 8]), st.sampled_from(["bf16", "fp8"]),
       st.integers(50, 16000), st.integers(16, 2000),
       st.floats(0.005, 0.3), st.floats(0.005, 0.3))
def test_tighter_tpot_never_raises_capacity(model, gid, tp, prec, isl, osl, t1, t2):
    _whole_heads(model, tp)
    tight, loose = sorted((t1, t2))
    a = _try_capacity(model, gid, tp, prec, isl, osl, tight)
    b = _try_capacity(model, gid, tp, prec, isl, osl, loose)
    assert a.batch <= b.batch
    assert a.out_tok_s <= b.out_tok_s * (1 + 1e-9)
    assert a.req_s <= b.req_s * (1 + 1e-9)
    if a.feasible:
        assert b.feasible
        assert a.tpot_s <= tight


@slow
@given(st.sampled_from(DENSE + MOE), st.sampled_from(GPUS), st.sampled_from([1, 2, 4, 8]),
       st.sampled_from(["bf16", "fp8", "int4"]), st.integers(50, 30000), st.integers(16, 4000),
       st.floats(1.0, 3.0), st.sampled_from(sorted(ENGINES)))
def test_more_memory_never_lowers_max_batch(model, gid, tp, prec, isl, osl, k, engine):
    _whole_heads(model, tp)
    gpu = _gpu(gid)
    bigger = gpu.model_copy(update={"memory_gb": gpu.memory_gb * k})
    a = _try_capacity(model, gpu, tp, prec, isl, osl, 0.05, engine=engine)
    b = slo_capacity(model, bigger, tp, prec, isl, osl, 0.05, engine=engine)
    assert b.max_batch >= a.max_batch


@slow
@given(st.sampled_from(DENSE + MOE), st.sampled_from(["h100-sxm", "h200-sxm", "b200"]),
       st.sampled_from([1, 2, 4, 8]), st.integers(100, 20000), st.integers(16, 2000),
       st.floats(0.008, 0.2))
def test_capacity_batch_is_the_largest_meeting_the_target(model, gid, tp, isl, osl, target):
    _whole_heads(model, tp)
    cap = _try_capacity(model, gid, tp, "fp8", isl, osl, target)
    assume(cap.feasible)
    step_consts = perf._configured(model, gid, tp, 1, 1, "fp8", None, "vllm", None, isl, osl,
                                   None, None)[3]
    assert perf._step_s(step_consts, cap.batch) <= target * (1 + 1e-12)
    if cap.batch < cap.max_batch:
        assert perf._step_s(step_consts, cap.batch + 1) > target


# --- capacity, queueing, bindings ----------------------------------------------------------


def test_worked_example_capacity_is_prefill_heavy():
    """course.md §6: RAG, 6,000 prompt / 250 output tokens, TPOT 40 ms, 2x H200 TP2."""
    cap = slo_capacity("llama-3.3-70b", "h200-sxm", 2, "fp8", 6000, 250, 0.040)
    assert cap.feasible and cap.tpot_s <= 0.040
    assert cap.binding == "compute"  # the prompts mixed into each decode step
    # a TTFT target that holds the batch below the TPOT-limited one is what binds, and says so
    # (it read "compute", which points a planner at faster GPUs, not at the TTFT target)
    held = slo_capacity("llama-3.3-70b", "h200-sxm", 2, "fp8", 6000, 250, 0.040, target_ttft_s=0.8)
    assert held.batch < cap.batch and held.binding == "TTFT target"
    assert cap.batch < cap.max_batch  # TPOT binds long before KV memory does
    # one 6,000-token prompt alone is close to the 500 ms TTFT target
    assert 0.35 < cap.prefill_s < 0.6
    assert cap.out_tok_s == pytest.approx(cap.req_s * 250)


def test_ttft_at_load_queueing():
    cap = slo_capacity("llama-3.3-70b", "h200-sxm", 2, "fp8", 2000, 500, 0.05)
    idle = ttft_at_load(cap, 0.0)
    # idle: the prompt's prefill, the decode work of the steps its chunks share, half the step
    # running when it arrives, the engine's fixed time to a first token
    assert idle == pytest.approx(cap.prefill_s + (cap.prefill_chunks + 0.5) * cap.tpot_s
                                 + cap.first_token_s)
    loads = [0.1, 0.3, 0.6, 0.9]
    ttfts = [ttft_at_load(cap, f * cap.req_s) for f in loads]
    assert all(b > a for a, b in pairwise(ttfts))
    assert ttft_at_load(cap, 1.01 * cap.req_s) == math.inf
    with pytest.raises(InputError):
        ttft_at_load(cap, -1.0)


def test_ttft_target_limits_the_load():
    free = slo_capacity("llama-3.3-70b", "h200-sxm", 4, "fp8", 6000, 250, 0.04)
    bound = slo_capacity("llama-3.3-70b", "h200-sxm", 4, "fp8", 6000, 250, 0.04,
                         target_ttft_s=free.prefill_s * 1.5)
    assert bound.feasible
    assert bound.req_s <= free.req_s
    assert ttft_at_load(bound, bound.req_s) <= free.prefill_s * 1.5 + 1e-9
    impossible = slo_capacity("llama-3.3-70b", "h200-sxm", 4, "fp8", 6000, 250, 0.04,
                              target_ttft_s=free.prefill_s * 0.9)
    assert not impossible.feasible


def test_tpot_below_the_floor_is_infeasible():
    cap = slo_capacity("llama-3.3-70b", "h100-sxm", 2, "fp8", 2000, 500, 0.005)
    assert not cap.feasible and cap.batch == 0 and cap.out_tok_s == 0.0
    assert cap.tpot_floor_s > 0.005
    assert cap.binding == "memory bandwidth"


def test_long_context_is_bound_by_memory_capacity():
    cap = slo_capacity("llama-3.3-70b", "h100-sxm", 2, "fp8", 60000, 1000, 0.2)
    assert cap.feasible and cap.batch == cap.max_batch
    assert cap.binding == "memory capacity"


def test_moe_reads_only_the_experts_a_batch_touches():
    one = estimate("mixtral-8x7b", "h100-sxm", 2, "fp8", 1000, 200, 1)
    full = estimate("mixtral-8x7b", "h100-sxm", 2, "fp8", 1000, 200)
    per_gpu_resident = one.weights_bytes / one.gpus
    assert one.step.weights_bytes < 0.5 * per_gpu_resident  # 2 of 8 experts + attention
    assert full.step.weights_bytes > 0.95 * per_gpu_resident  # every expert touched


def test_tensor_parallel_adds_interconnect_time():
    one = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 200, 1)
    eight = estimate("llama-3.1-8b", "h100-sxm", 8, "fp8", 1000, 200, 1)
    assert one.step.comm_s == 0.0
    assert eight.step.comm_s > 0.0
    assert eight.tpot_s < one.tpot_s  # still faster: the weights are split 8 ways
    pcie = estimate("llama-3.1-8b", "l40s", 4, "fp8", 1000, 200, 64)
    assert pcie.step.comm_s > estimate("llama-3.1-8b", "h100-sxm", 4, "fp8", 1000, 200,
                                       64).step.comm_s


def test_decode_tokens_pay_each_all_reduce_peer():
    """``allreduce_peer_s`` c: a decode token costs each tensor-parallel all-reduce c per peer
    GPU. Worked example: llama-3.1-70b (80 layers, 2 all-reduces each) on TP8
    adds 7 peers x 160 all-reduces x c per sequence per step to the step's collective time; one
    GPU has no peers, a prompt's prefill is not charged, and attention data parallelism's
    all-gather / reduce-scatter is not an all-reduce. All requests queued, so the batch is the
    KV's and the same with either calibration."""
    from dataclasses import replace

    base = replace(packaged_calibration(), allreduce_peer_s=0.0)
    c = 3e-8
    cal = replace(base, allreduce_peer_s=c)
    args = ("llama-3.1-70b", "h200-sxm", 8, "fp8", 1024, 1024)
    a, b = estimate(*args, calibration=base), estimate(*args, calibration=cal)
    assert a.batch == b.batch
    assert b.step.comm_s - a.step.comm_s == pytest.approx(7 * 160 * c * a.batch, rel=1e-9)
    assert b.step.step_s - a.step.step_s == pytest.approx(7 * 160 * c * a.batch, rel=1e-9)
    assert b.prefill_s == a.prefill_s
    # per peer: four GPUs have three
    a4 = estimate("llama-3.1-70b", "h200-sxm", 4, "fp8", 1024, 1024, calibration=base)
    b4 = estimate("llama-3.1-70b", "h200-sxm", 4, "fp8", 1024, 1024, calibration=cal)
    assert b4.step.comm_s - a4.step.comm_s == pytest.approx(3 * 160 * c * a4.batch, rel=1e-9)
    one = ("llama-3.1-70b", "h200-sxm", 1, "fp8", 1024, 1024, 16)
    assert estimate(*one, calibration=cal).tpot_s == estimate(*one, calibration=base).tpot_s
    dep = ("deepseek-r1", "h200-sxm", 1, "fp8", 2000, 1000, 64)
    assert (estimate(*dep, ep=8, calibration=cal).tpot_s
            == estimate(*dep, ep=8, calibration=base).tpot_s)
    # a MoE under attention TP sums its experts with one more all-reduce per MoE layer
    moe = ("qwen3-235b-a22b", "h200-sxm", 8, "fp8", 1024, 1024)
    am, bm = estimate(*moe, ep=8, calibration=base), estimate(*moe, ep=8, calibration=cal)
    assert bm.step.comm_s - am.step.comm_s == pytest.approx(7 * 94 * 2 * c * am.batch, rel=1e-9)


def test_pipeline_parallel_splits_layers_not_latency():
    tp8 = estimate("llama-3.1-405b", "h200-sxm", 8, "fp8", 2000, 500, 1)
    pp2 = estimate("llama-3.1-405b", "h200-sxm", 8, "fp8", 2000, 500, 1, pp=2)
    assert pp2.gpus == 16
    assert pp2.max_batch > tp8.max_batch  # twice the memory
    assert pp2.tpot_s >= tp8.tpot_s * 0.95  # a token still crosses every layer


def test_expert_parallel_attention_data_parallel():
    dep = estimate("deepseek-r1", "h200-sxm", 1, "fp8", 2000, 1000, ep=8)
    assert dep.gpus == 8 and dep.ep == 8
    tp8 = estimate("deepseek-r1", "h200-sxm", 8, "fp8", 2000, 1000)
    assert dep.max_batch > tp8.max_batch  # MLA latent no longer replicated on 8 ranks
    with pytest.raises(InputError):
        estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", ep=2)


def test_load_modes_are_consistent():
    full = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 500)
    half_rate = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 500,
                         request_rate=0.5 * full.req_s)
    assert half_rate.out_tok_s_per_replica == pytest.approx(0.5 * full.out_tok_s_per_replica)
    assert half_rate.tpot_s < full.tpot_s
    assert not half_rate.saturated
    over = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 500,
                    request_rate=2.0 * full.req_s)
    assert over.saturated and over.ttft_s == math.inf
    queued = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 500,
                      concurrency=3 * full.max_batch)
    slots = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 500, concurrency=full.max_batch)
    assert queued.batch == pytest.approx(slots.batch) and queued.batch <= full.max_batch
    assert queued.out_tok_s_per_replica == pytest.approx(slots.out_tok_s_per_replica)
    assert queued.ttft_s > 10 * full.ttft_s
    assert queued.e2e_s == pytest.approx(queued.ttft_s + 499 * queued.tpot_s)


# --- precision, inputs, constants -------------------------------------------------------------


def test_fp4_weights_run_weight_only_without_fp4_math():
    """NVFP4/MXFP4 checkpoints on Hopper (gpt-oss on H100/H200 in serving.csv) are valid: the
    4-bit weights and their scales stream (0.5625 B per value), the math runs at BF16."""
    fp4 = estimate("llama-3.1-8b", "h100-sxm", 1, "fp4", 4000, 200, concurrency=1)
    fp8 = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 4000, 200, concurrency=1)
    bf16 = estimate("llama-3.1-8b", "h100-sxm", 1, "bf16", 4000, 200, concurrency=1)
    assert fp4.tpot_s < fp8.tpot_s  # decode streams fewer bytes
    assert fp4.prefill_s > fp8.prefill_s  # prefill multiplies at BF16, not FP8
    assert fp4.prefill_s == pytest.approx(bf16.prefill_s, rel=0.05)
    assert Precision.FP4.stored_bytes_per_element == pytest.approx(0.5625)
    assert Precision.FP4.bytes_per_element == 0.5  # the course's memory plan is unchanged


def test_weight_only_fp4_experts_multiply_at_their_activations_rate():
    """gpt-oss ships only its experts in MXFP4 (16-bit activations): on Blackwell its expert
    GEMMs run MXFP4 x MXFP8 at the FP8 rate, on Hopper at BF16; an all-FP4 checkpoint (NVFP4
    DeepSeek) multiplies its experts at the FP4 rate. Only the math moves: the bytes are the
    same, so a step whose experts are math-bound is slower, a batch-1 step is not."""
    from xlsizer.catalog.loader import load_catalog
    from xlsizer.engine.step import expert_compute

    cat = load_catalog()
    oss, r1 = cat.model("gpt-oss-120b"), cat.model("deepseek-r1")
    b200, h200 = cat.gpu("b200"), cat.gpu("h200-sxm")
    assert expert_compute(oss, b200, Precision.FP4) is Precision.FP8
    assert expert_compute(oss, h200, Precision.FP4) is Precision.BF16
    assert expert_compute(r1, b200, Precision.FP4) is Precision.FP4
    assert expert_compute(oss, b200, Precision.FP8) is Precision.FP8  # a user-chosen format
    big = estimate("gpt-oss-120b", "b200", 1, "fp4", 5000, 1000)
    one = estimate("gpt-oss-120b", "b200", 1, "fp4", 5000, 1000, concurrency=1)
    # the expert FLOPs counted are the same; the time they take follows the FP8 rate
    assert big.step.compute_s > big.step.memory_s
    assert one.step.memory_s > one.step.compute_s


def test_a_gpus_sustained_fp4_share_slows_fp4_math_only():
    """Blackwell Ultra's datasheet FP4 rate (1.56x the B200's) is not what tuned systems
    sustain (MLPerf Offline, scripts/fit_fp4_sustained.py): the B300 carries its share, which
    scales FP4 math and nothing else, so a B300 is sized faster than a B200 on a dense FP4
    model by less than its datasheet says, and its FP8 results do not move."""
    b300 = load_catalog().gpu("b300")
    assert b300.fp4_sustained_ratio is not None and 0.0 < b300.fp4_sustained_ratio < 1.0
    full = b300.model_copy(update={"fp4_sustained_ratio": None})
    model = "llama-2-70b"
    derated = estimate(model, b300, 1, "fp4", 2000, 200, concurrency=1)
    datasheet = estimate(model, full, 1, "fp4", 2000, 200, concurrency=1)
    # a 2,000-token prompt is FP4 math: its time grows by the share's inverse (the attention's
    # BF16 math and the weight stream do not)
    assert datasheet.prefill_s < derated.prefill_s < datasheet.prefill_s / b300.fp4_sustained_ratio
    assert derated.prefill_s > 0.9 * datasheet.prefill_s / b300.fp4_sustained_ratio
    for prec in ("fp8", "bf16"):
        a = estimate(model, b300, 2, prec, 2000, 200)
        b = estimate(model, full, 2, prec, 2000, 200)
        assert a.out_tok_s_per_gpu == b.out_tok_s_per_gpu and a.ttft_s == b.ttft_s
    gpus = {"b200": load_catalog().gpu("b200"), "b300": b300, "b300 datasheet": full}
    ceiling = {k: estimate(model, g, 1, "fp4", 222.3, 294.45).out_tok_s_per_gpu for k, g in gpus.items()}
    # faster than a B200, by less than the datasheet alone says (1.56x the FP4 rate)
    assert 1.0 < ceiling["b300"] / ceiling["b200"] < ceiling["b300 datasheet"] / ceiling["b200"] < 1.56
    with pytest.raises(ValueError):
        b300.model_validate({**b300.model_dump(), "fp4_sustained_ratio": 1.5})  # never above the datasheet


def test_a_sizing_says_when_it_derates_a_gpus_fp4_rate():
    """The share is a judgement call: the explanation names it, with the datasheet figure,
    wherever the plan multiplies at FP4 on such a GPU, and nowhere else."""
    from xlsizer import make_inputs, size

    def rows(gpu: str, precision: str) -> list:
        res = size(make_inputs({"model": "llama-3.3-70b", "gpu": gpu, "precision": precision,
                                "concurrent_users": 500}))
        return [r for r in res.explain() if r.name == "Sustained FP4 rate"]

    derated = rows("b300", "fp4")
    assert {r.scenario for r in derated} == {"baseline", "burst", "resilient"}
    share = load_catalog().gpu("b300").fp4_sustained_ratio
    assert derated[0].value == pytest.approx(share * 14000) and "14,000" in derated[0].formula
    assert rows("b300", "fp8") == [] and rows("b200", "fp4") == []


def test_a_gpus_sustained_tensor_rate_scales_its_math_not_its_memory():
    """AMD quotes the same 1,307 BF16 TFLOPS for MI300X (750 W) and MI325X (1,000 W), but the
    power limit sets the clock under dense tensor load: measured max-achievable matmul 668.4 and
    784.9 TFLOPS, against 794.5 of 989 on the H100 the fitted efficiencies hold for. Worked
    example: MI300X 668.4 / 1307 = 0.511, over 794.5 / 989 = 0.803, is 0.637; a compute-bound
    prompt takes 1 / 0.637 as long as at the datasheet share, a memory-bound decode step at
    batch 1 nearly the same, and a GPU without a measurement is left at the reference's."""
    from xlsizer.engine.step import REFERENCE_MAMF_GPU, sustained_tensor_ratio

    cat = load_catalog()
    mi300x = cat.gpu("mi300x")
    assert sustained_tensor_ratio(mi300x) == pytest.approx((668.4 / 1307) / (794.5 / 989), rel=1e-9)
    assert sustained_tensor_ratio(mi300x) == pytest.approx(0.637, abs=0.001)
    assert sustained_tensor_ratio(cat.gpu(REFERENCE_MAMF_GPU)) == 1.0
    assert sustained_tensor_ratio(cat.gpu("h200-sxm")) == 1.0  # the same chip, clock and power
    assert cat.gpu("l40s").mamf_bf16_tflops is None and sustained_tensor_ratio(cat.gpu("l40s")) == 1.0
    # same dies, more power, more sustained math: MI325X above MI300X, both below the reference
    assert sustained_tensor_ratio(mi300x) < sustained_tensor_ratio(cat.gpu("mi325x")) < 1.0

    datasheet = mi300x.model_copy(update={"mamf_bf16_tflops": None})
    slow = estimate("llama-3.1-70b", mi300x, 1, "fp8", 8000, 200, concurrency=1)
    fast = estimate("llama-3.1-70b", datasheet, 1, "fp8", 8000, 200, concurrency=1)
    ratio = sustained_tensor_ratio(mi300x)
    # an 8,000-token prompt is math (GEMMs and attention alike): its time grows by 1 / ratio,
    # less only the weight stream and fixed overheads that do not scale
    assert fast.prefill_s / ratio * 0.95 < slow.prefill_s <= fast.prefill_s / ratio + 1e-12
    # one sequence's decode step streams weights: nearly untouched
    assert slow.tpot_s == pytest.approx(fast.tpot_s, rel=0.02)
    with pytest.raises(ValueError, match="above the datasheet"):
        mi300x.model_validate({**mi300x.model_dump(), "mamf_bf16_tflops": 1400.0})


def test_a_sizing_says_when_a_gpu_sustains_a_different_tensor_rate():
    """The explanation names the measured rate, the datasheet and the reference wherever the
    GPU's sustained share differs from the reference's, and nowhere else."""
    from xlsizer import make_inputs, size

    def rows(gpu: str) -> list:
        res = size(make_inputs({"model": "llama-3.3-70b", "gpu": gpu, "precision": "fp8",
                                "concurrent_users": 200}))
        return [r for r in res.explain() if r.name == "Sustained tensor rate"]

    amd = rows("mi300x")
    assert {r.scenario for r in amd} == {"baseline", "burst", "resilient"}
    assert amd[0].value == pytest.approx(0.637, abs=0.001)
    assert "668 of 1,307" in amd[0].formula and "h100-sxm" in amd[0].formula
    assert rows("h200-sxm") == [] and rows("h100-sxm") == []


def test_a_moe_at_fp4_holds_only_its_routed_experts_in_4_bits():
    """The published 4-bit MoE checkpoints quantize the routed experts and keep attention,
    shared experts and the head as released (gpt-oss: BF16; DeepSeek: FP8): those weights are
    streamed and held at their released size and multiplied at that format's rate, not at
    FP4. A dense model at FP4, or a MoE at FP8, is untouched; ``fp4_scope: all`` puts every
    weight in 4 bits, and the explanation says which applies."""
    from xlsizer import make_inputs, size
    from xlsizer.engine.memory import dense_weights_precision

    cat = load_catalog()
    oss = cat.model("gpt-oss-120b")
    assert dense_weights_precision(oss, Precision.FP4) is Precision.BF16
    assert dense_weights_precision(cat.model("deepseek-r1"), Precision.FP4) is Precision.FP8
    assert dense_weights_precision(cat.model("llama-3.3-70b"), Precision.FP4) is Precision.FP4
    assert dense_weights_precision(oss, Precision.FP8) is Precision.FP8
    all4 = oss.model_copy(update={"fp4_scope": "all"})
    assert dense_weights_precision(all4, Precision.FP4) is Precision.FP4

    as_released = estimate(oss, "b200", 1, "fp4", 1000, 200, concurrency=1)
    all_fp4 = estimate(all4, "b200", 1, "fp4", 1000, 200, concurrency=1)
    # OpenAI's gpt-oss model card: attention 0.96 B and embedding + head 1.16 B parameters,
    # held at 2 bytes instead of 4.5 bits (the config's routed share leaves them 2.13 B; the
    # 98% cap on it, before it applied to counted models only, left 2.34 B): 3.0-3.4 GB more
    per = Precision.BF16.stored_bytes_per_element - Precision.FP4.stored_bytes_per_element
    assert 2.12e9 * per <= as_released.weights_bytes - all_fp4.weights_bytes <= 2.34e9 * per * 1.001
    assert as_released.tpot_s > all_fp4.tpot_s  # 16-bit attention streamed every step
    # the compute-bound ceiling: attention and head at BF16, not at the FP4 rate
    assert (estimate(oss, "b200", 1, "fp4", 5000, 1000).out_tok_s_per_gpu
            < estimate(all4, "b200", 1, "fp4", 5000, 1000).out_tok_s_per_gpu)
    # FP8 attention on a GPU without FP8 math runs weight-only at BF16, like the 4-bit experts
    assert estimate("deepseek-v4-flash", "a100-80gb", 8, "fp4", 1000, 200).tpot_s > 0

    def rows(model: str, precision: str) -> list:
        res = size(make_inputs({"model": model, "gpu": "b200", "precision": precision, "concurrent_users": 200}))
        return [r for r in res.explain() if r.name == "FP4 weights"]

    said = rows("gpt-oss-120b", "fp4")
    assert {r.scenario for r in said} == {"baseline", "burst", "resilient"}
    assert "BF16" in said[0].formula and "fp4_scope" in said[0].formula
    assert rows("gpt-oss-120b", "fp8") == [] and rows("llama-3.3-70b", "fp4") == []

    # the course's memory step and the Excel function count the same split (course bytes, no
    # block scales): 114.67 B expert parameters x 0.5 B + 2.13 B others x 2 B = 61.6 GB, where
    # every weight in 4 bits would be 58.4 GB
    from xlsizer.cells import weights_memory

    res = size(make_inputs({"model": "gpt-oss-120b", "gpu": "b200", "precision": "fp4", "concurrent_users": 200}))
    assert res.burst.memory.weights_gb == pytest.approx(weights_memory("gpt-oss-120b", "fp4")) == pytest.approx(
        61.6, abs=0.05)
    (step1,) = [r for r in res.explain() if r.name == "Weights"]
    assert "routed-expert params x 0.5 B (FP4)" in step1.formula and "x 2 B (BF16, as released)" in step1.formula
    assert weights_memory("llama-3.3-70b", "fp4") == pytest.approx(35.0)


def test_unsupported_precision_raises():
    with pytest.raises(UnsupportedPrecisionError):
        estimate("llama-3.3-70b", "a100-80gb", 2, "fp8")
    # INT4 is weight-only: it computes at the BF16 rate, which every GPU has
    e = estimate("llama-3.3-70b", "a100-80gb", 1, "int4", 1000, 200)
    assert e.kv_precision == "bf16"
    assert default_kv_precision("fp4") is Precision.FP8
    assert default_kv_precision("fp8") is Precision.FP8


def test_bad_inputs_name_the_field():
    with pytest.raises(InputError, match="tp"):
        estimate("llama-3.1-8b", "h100-sxm", 0)
    with pytest.raises(InputError, match="engine"):
        estimate("llama-3.1-8b", "h100-sxm", engine="ollama-9000")
    with pytest.raises(InputError, match="input_tokens"):
        estimate("llama-3.1-8b", "h100-sxm", input_tokens=-5)
    with pytest.raises(InputError, match="target_tpot_s"):
        slo_capacity("llama-3.1-8b", "h100-sxm", 1, "fp8", 1000, 200, 0)
    with pytest.raises(InputError, match="precision"):
        slo_capacity("llama-3.1-8b", "h100-sxm", 1, "fp7", 1000, 200, 0.05)
    with pytest.raises(UnknownIdError):
        estimate("llama-9-1t", "h100-sxm")
    with pytest.raises(InfeasibleError):
        estimate("llama-3.1-405b", "h100-sxm", 1, "bf16")


def test_default_tuning_changes_nothing_and_prefix_caching_hook_acts():
    base = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 4000, 300)
    same = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 4000, 300, tuning=Tuning())
    assert same == base
    cached = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 4000, 300, prefill_tokens=1200)
    assert cached.prefill_s < 0.5 * base.prefill_s
    assert cached.out_tok_s_per_replica > base.out_tok_s_per_replica
    assert cached.max_batch == base.max_batch  # the cached prefix still occupies KV
    cap = slo_capacity("llama-3.3-70b", "h200-sxm", 2, "fp8", 4000, 300, 0.04)
    cap_cached = slo_capacity("llama-3.3-70b", "h200-sxm", 2, "fp8", 4000, 300, 0.04,
                              prefill_tokens=1200)
    assert cap_cached.req_s > cap.req_s


def test_specs_and_ids_give_the_same_answer():
    cat = load_catalog()
    by_id = slo_capacity("llama-3.1-8b", "h100-sxm", 1, "fp8", 1500, 80, 0.025)
    by_spec = slo_capacity(cat.model("llama-3.1-8b"), cat.gpu("h100"), 1, Precision.FP8,
                           1500, 80, 0.025)
    assert by_id == by_spec


def test_packaged_calibration_is_within_its_bounds_and_band_comes_from_data():
    from xlsizer.catalog import read_data_file

    data = read_data_file("calibration.yaml")
    cal = packaged_calibration()
    assert isinstance(cal, Calibration)
    for name, spec in data["fitted"].items():
        lo, hi = spec["bounds"]
        assert lo <= float(spec["value"]) <= hi, name
    for engine, consts in data["fitted_per_engine"].items():
        for name, spec in consts.items():
            assert spec["bounds"][0] <= cal.engine_value(engine, name) <= spec["bounds"][1]
    low, high, source = confidence_band("llama-3.3-70b")
    assert -0.6 < low < 0.0 < high < 1.0
    assert "serving.csv" in source and "leave-one-model-out" in source
    moe_low, moe_high, moe_source = confidence_band("mixtral-8x7b")
    assert moe_low < 0.0 < moe_high and "MoE" in moe_source  # measured, not the dense band doubled
    assert data["confidence_band"]["moe"]["rows"] > 500
    # per engine where the cross-validation had enough runs
    assert confidence_band("llama-3.3-70b", "vllm") != confidence_band("llama-3.3-70b", "sglang")


def test_calibration_yaml_matches_the_code_that_uses_it():
    """calibration.yaml records the leave-one-model-out error its fits give on serving.csv;
    if the physics changes without rerunning scripts/calibrate.py, this fails."""
    from xlsizer.catalog import read_data_file
    from xlsizer.validation import groups

    recorded = read_data_file("calibration.yaml")["provenance"]["error"]["leave_one_model_out"]
    report = validate(ROOT / "validation" / "serving.csv", cross_validated=True)
    now = {g.value: g for g in groups(report) if g.by == "family/metric"}
    for key, rec in recorded.items():
        assert now[key].predicted == rec["rows"], key
        assert now[key].median_ape == pytest.approx(rec["median_ape"], abs=0.002), key
        assert now[key].p90_ape == pytest.approx(rec["p90_ape"], abs=0.002), key


def test_speculative_decoding_knobs_act_through_the_physics():
    """Issue 4 maps speculative decoding onto these knobs; here only that they act: a pass
    verifying 5 tokens that yields 2.5 on average is much faster per token at batch 1, where
    streaming the weights dominates, and gains less once the math of 5x the tokens binds."""
    spec = Tuning(decode_tokens_per_step=5.0, accepted_tokens_per_step=2.5)
    plain1 = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 1000, 300, 1)
    spec1 = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 1000, 300, 1, tuning=spec)
    assert plain1.tpot_s / spec1.tpot_s > 1.8
    plain_big = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 1000, 300, 256)
    spec_big = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 1000, 300, 256, tuning=spec)
    assert plain_big.tpot_s / spec_big.tpot_s < plain1.tpot_s / spec1.tpot_s
    reserved = estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 1000, 300,
                        tuning=Tuning(kv_reserved_tokens=32768))
    assert reserved.max_batch < estimate("llama-3.3-70b", "h200-sxm", 2, "fp8", 1000,
                                         300).max_batch


# --- issue 11: MoE terms, queueing, engines as data ------------------------------------------


def test_expert_imbalance_matches_the_probe_within_its_stated_bias():
    """moe.imbalance vs the H200 probe's random routing (gpu-measurements.md): max/mean load
    1.2 at T = 4096 and 1.1 at 16384 (deepseek-v3 shape), 1.4 at T = 1024 (gpt-oss): the
    Gaussian extreme-value form overestimates by 5-15%, never underestimates."""
    from xlsizer.engine.moe import imbalance

    for tokens, k, e, measured in ((4096, 8, 256, 1.2), (16384, 8, 256, 1.1), (1024, 4, 128, 1.4),
                                   (16384, 4, 128, 1.1)):
        got = imbalance(tokens, k / e, math.log(e))
        assert measured <= got <= measured * 1.15, (tokens, got)
    # more tokens per expert, more even loads
    assert imbalance(64, 8 / 256, math.log(256)) > imbalance(4096, 8 / 256, math.log(256)) > 1.0


def test_moe_step_breakdown_names_expert_gemms_imbalance_and_all_to_all():
    dense = estimate("llama-3.3-70b", "h200-sxm", 8, "fp8", 2000, 500, 64)
    assert dense.step.shares() == {"expert_gemm": 0.0, "imbalance": 0.0, "all_to_all": 0.0}
    tp = estimate("deepseek-r1", "h200-sxm", 8, "fp8", 2000, 500, 64)
    ep = estimate("deepseek-r1", "h200-sxm", 1, "fp8", 2000, 500, 64, ep=8)  # DEP8
    for e in (tp, ep):
        s = e.step.shares()
        assert 0.2 < s["expert_gemm"] < 1.0 and 0.0 < s["imbalance"] < s["expert_gemm"]
    assert tp.step.shares()["all_to_all"] == 0.0 < ep.step.shares()["all_to_all"]
    assert perf.step_shares("deepseek-r1", "h200-sxm", 8, "fp8", 2000, 500, tp.batch) == pytest.approx(
        tp.step.shares())


def test_grouped_expert_gemms_are_slower_than_one_dense_gemm_of_the_same_bytes():
    """Same bytes streamed, but expert weights stream at the grouped kernels' measured rate:
    per GPU where the probe measured it (H100 0.93, H200 0.70 of the dense streaming rate: the
    H200's extra bandwidth is not reached), the mean of the two elsewhere."""
    from xlsizer.engine.moe import GROUPED_BANDWIDTH_RATIO

    def ratio(gpu: str) -> float:
        st_ = perf._configured("mixtral-8x7b", gpu, 2, 1, 1, "fp8", None, "vllm", None,
                               2000, 500, None, None)[3]
        return st_.expert_bw / st_.gemm_bw

    assert ratio("h100-sxm") == pytest.approx(0.93)
    assert ratio("h200-sxm") == pytest.approx(0.70)
    assert ratio("b200") == pytest.approx(GROUPED_BANDWIDTH_RATIO) == pytest.approx((0.93 + 0.70) / 2, abs=0.02)
    # in absolute terms the H200's grouped kernels stream about as fast as the H100's
    h100, h200 = (_gpu(g).memory_bandwidth_bytes_per_s for g in ("h100-sxm", "h200-sxm"))
    assert 0.9 < (h200 * 0.70) / (h100 * 0.93) < 1.2


def test_routed_activation_traffic_worked_example():
    """DeepSeek-V3 (hidden 7168, expert width 2048, top-8, 58 MoE layers, gated) with FP4 GEMM
    inputs: at tp 8 (moe_tp 8, width 256 per GPU) each (token, expert) pair moves
    7168 × (2·0.5 + 2·2) + 256 × (2·2·2 + 2·0.5) = 38,144 B, 8 pairs a token per layer:
    17.7 MB per token per GPU; at DEP 8 (ep 8, whole width) one pair a token per GPU per layer,
    7168 × 5 + 2048 × 9 = 54,272 B: 3.15 MB. A dense model moves none."""
    from xlsizer.catalog.loader import load_catalog
    from xlsizer.engine.moe import routed_activation_bytes
    from xlsizer.precision import Precision

    ds = load_catalog().model("deepseek-v3")
    assert routed_activation_bytes(ds, Precision.FP4, 8, 1, 1) == 58 * 8 * 38144
    assert routed_activation_bytes(ds, Precision.FP4, 1, 8, 8) == 58 * 1 * 54272
    # FP8 inputs move more bytes than FP4 ones
    assert (routed_activation_bytes(ds, Precision.FP8, 8, 1, 1)
            > routed_activation_bytes(ds, Precision.FP4, 8, 1, 1))
    assert routed_activation_bytes(load_catalog().model("llama-3.1-8b"), Precision.FP8, 1, 1, 1) == 0.0


def test_routed_activation_traffic_slows_moe_prefill_more_than_decode():
    """The activation bytes grow with the tokens of a pass: a prompt of thousands of tokens
    pays them in full, a decode step of a few sequences hardly at all."""
    from xlsizer.engine import step as st_mod

    st_ = perf._configured("deepseek-v3", "b200", 8, 1, 1, "fp4", None, "vllm", None,
                           1024, 1024, None, None)
    rep = st_[2]
    assert rep.moe_act_per_token_s > 0.0
    prompt_share = rep.moe_act_per_token_s * 1024 / st_mod._prefill_s(rep, st_[3])
    step_share = rep.moe_act_per_token_s * 4 / st_mod._step_s(st_[3], 4.0)
    assert prompt_share > 0.1
    assert step_share < 0.01


def test_engines_have_their_own_per_layer_overhead():
    """Engines fuse a layer's small kernels differently: the per-layer overhead is fitted per
    engine (calibration.yaml fitted_per_engine), and a batch-1 step follows it."""
    from xlsizer.engine.calibration import ENGINE_CONSTANTS, packaged_calibration

    assert "layer_overhead_s" in ENGINE_CONSTANTS
    cal = packaged_calibration()
    values = {e: cal.engine_value(e, "layer_overhead_s") for e in ("vllm", "sglang", "tensorrt-llm")}
    assert all(0.0 <= v <= 2e-4 for v in values.values())
    lo = min(values, key=values.get)
    hi = max(values, key=values.get)
    if values[hi] > values[lo]:
        a = perf._configured("llama-3.1-8b", "h100-sxm", 1, 1, 1, "fp8", None, lo, None,
                             1024, 256, None, None)[2]
        b = perf._configured("llama-3.1-8b", "h100-sxm", 1, 1, 1, "fp8", None, hi, None,
                             1024, 256, None, None)[2]
        assert b.layer_s - a.layer_s == pytest.approx(32 * (values[hi] - values[lo]))


def test_closed_loop_ttft_grows_with_concurrency_and_prompt():
    """Fixed concurrency: prompts queue for prefill; more clients or longer prompts, longer
    TTFT (serving.csv's TTFT rises with concurrency on every setup)."""
    prev = 0.0
    for c in (1, 4, 16, 64, 128):
        e = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 4096, 512, c, engine="tensorrt-llm")
        assert e.ttft_s > prev
        prev = e.ttft_s
    short = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 1024, 512, 64)
    long_ = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 8192, 512, 64)
    assert long_.ttft_s > short.ttft_s
    assert long_.prefill_chunks == 1.0 and long_.batched_prefill_s > 0.0


def test_poisson_ttft_counts_the_decode_work_of_shared_steps():
    from xlsizer.engine.queueing import ttft_closed_loop, ttft_poisson

    # no queue: the prompt, the decode part of its two chunks' steps, half the running step
    assert ttft_poisson(0.0, 0.1, 2, 0.02) == pytest.approx(0.1 + 2.5 * 0.02)
    assert ttft_poisson(5.0, 0.1, 2, 0.02) > ttft_poisson(2.0, 0.1, 2, 0.02)
    assert ttft_poisson(10.0, 0.1, 1, 0.02) == math.inf  # ρ = 1
    from xlsizer.engine.queueing import closed_loop_response

    # one client: its own prefill, the decode work of its chunk's step, half a running step
    assert ttft_closed_loop(1, 0.1, 0.05, 1, 0.02, 5.0) == pytest.approx(0.13)
    # MVA: never below one service, grows with the clients, saturates at n·S − Z
    rs = [closed_loop_response(n, 0.05, 2.0) for n in (1, 10, 40, 100, 400)]
    assert rs[0] == pytest.approx(0.05) and all(b > a for a, b in pairwise(rs))
    assert rs[-1] == pytest.approx(400 * 0.05 - 2.0, rel=0.01)
    assert closed_loop_response(10, 0.05, 0.0) == pytest.approx(0.5)  # no think time: n·S
    # a mean number of clients with a fraction (a sizing's clients per replica): the mix of the
    # whole numbers around it, so R rises continuously where rounding made it a step at n.5
    fine = [closed_loop_response(n / 8.0, 0.05, 0.3) for n in range(8, 8 * 12)]
    assert all(b > a for a, b in pairwise(fine))
    assert max(b - a for a, b in pairwise(fine)) < 0.25 * (closed_loop_response(12, 0.05, 0.3)
                                                          - closed_loop_response(11, 0.05, 0.3))
    lo, hi = closed_loop_response(3, 0.05, 0.3), closed_loop_response(4, 0.05, 0.3)
    assert closed_loop_response(3.25, 0.05, 0.3) == pytest.approx(lo + 0.25 * (hi - lo))
    assert closed_loop_response(0.4, 0.05, 0.3) == pytest.approx(0.05)  # below one client: one


def test_queue_service_scale_moves_the_waits_only():
    """A profile's ``queue_service_scale`` k: the queue's server holds each waiting prompt k
    times the modelled time. A lone request does not wait, so its TTFT stays; the waits grow
    with k (closed loop, its burst, Poisson), and k = 1 is the physics alone."""
    from dataclasses import replace

    from xlsizer.engine.calibration import packaged_calibration
    from xlsizer.engine.latency import ttft_closed, ttft_open
    from xlsizer.engine.queueing import closed_loop_response, gg1_mean_wait, ttft_closed_loop, ttft_poisson

    assert packaged_calibration().queue_service_scale == 1.0
    args = (0.1, 0.05, 1, 0.02, 5.0)
    assert ttft_closed_loop(1, *args, queue_scale=2.0) == pytest.approx(ttft_closed_loop(1, *args))
    assert ttft_closed_loop(33, *args, queue_scale=1.0) == ttft_closed_loop(33, *args)
    # steady: own prefill, own batched service, the wait at service k·S_b, the chunk's step
    r2 = closed_loop_response(33, 0.1, 5.0)
    assert ttft_closed_loop(33, *args, queue_scale=2.0) == pytest.approx(0.1 + (r2 - 0.1) + 1.5 * 0.02)
    ks = [ttft_closed_loop(33, *args, queue_scale=k) for k in (0.5, 1.0, 2.0, 4.0)]
    assert all(b > a for a, b in pairwise(ks))
    # the burst: half of the 32 others at k times their batched prefill
    assert ttft_closed_loop(33, *args, burst=1.0, queue_scale=3.0) == pytest.approx(0.1 + 16 * 3 * 0.05)
    # Poisson: the P-K wait at service k·S, the prompt's own prefill unchanged
    assert ttft_poisson(2.0, 0.1, 2, 0.02, 3.0) == pytest.approx(gg1_mean_wait(2.0, 0.3) + 0.1 + 2.5 * 0.02)
    assert ttft_open(0.0, 0.1, 2, 0.02, 99.0, queue_scale=3.0) == ttft_open(0.0, 0.1, 2, 0.02, 99.0)
    assert ttft_open(2.0, 0.1, 2, 0.02, 99.0, queue_scale=3.0) > ttft_open(2.0, 0.1, 2, 0.02, 99.0)
    assert ttft_closed(33, 0.1, 0.05, 1, 0.02, 5.0, 95.0, queue_scale=2.0) > ttft_closed(
        33, 0.1, 0.05, 1, 0.02, 5.0, 95.0)
    # through the engine: a benchmark's TTFT rises with k, its TPOT barely moves, one client's stays
    slow = replace(packaged_calibration(), queue_service_scale=2.0)
    for c in (1, 64):
        a = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 2048, 256, c)
        b = estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 2048, 256, c, calibration=slow)
        assert (b.ttft_s > a.ttft_s * 1.01) if c > 1 else b.ttft_s == pytest.approx(a.ttft_s)


def test_engines_are_data_with_sources():
    from xlsizer.engine.calibration import packaged_calibration

    assert set(ENGINES) == {"vllm", "tensorrt-llm", "sglang"}
    for e in ENGINES.values():
        assert e.source and 0.5 < e.kv_fraction < 1.0 and e.token_budget_large >= 2048
        assert "scheduler" in e.scheduler_source.lower()
    # SGLang runs waiting prompts before decodes; vLLM and TensorRT-LLM decodes first
    assert {n for n, e in ENGINES.items() if e.prefill_first} == {"sglang"}
    cal = packaged_calibration()
    # each engine has its own fitted step overhead and first-token overhead
    for name in ENGINES:
        for const in ("step_overhead_s", "request_overhead_s"):
            assert any(e == name and n == const for e, n, _ in cal.engines), (name, const)


def test_a_benchmark_burst_weighs_one_round_or_the_rounds_kept_in_step():
    """Clients that start together queue their prompts at once: the i-th waits for the i - 1
    before it. Decodes-first engines spread the next rounds, so the burst is one round in R;
    a prefill-first engine keeps a share of the rounds in step (fitted, at least 1/R)."""
    from xlsizer.engine.calibration import packaged_calibration
    from xlsizer.engine.queueing import burst_weight, ttft_closed_loop

    assert burst_weight(None, 0.7) == 0.0 and burst_weight(None) == 0.0
    assert burst_weight(20) == pytest.approx(0.05)
    assert burst_weight(20, 0.7) == pytest.approx(0.7)
    assert burst_weight(20, 0.01) == pytest.approx(0.05)  # never below the first round
    assert burst_weight(1, 0.0) == 1.0  # a single round is all burst
    with pytest.raises(InputError):
        burst_weight(0.5)
    assert 0.05 <= packaged_calibration().in_step_share <= 1.0
    steady = ttft_closed_loop(33, 0.1, 0.05, 1, 0.02, 5.0)
    assert ttft_closed_loop(33, 0.1, 0.05, 1, 0.02, 5.0, burst=0.0) == steady
    # all in one burst: its own prefill plus half of the 32 others' batched prefills
    assert ttft_closed_loop(33, 0.1, 0.05, 1, 0.02, 5.0, burst=1.0) == pytest.approx(0.1 + 16 * 0.05)
    mixed = ttft_closed_loop(33, 0.1, 0.05, 1, 0.02, 5.0, burst=0.05)
    assert mixed == pytest.approx(0.95 * steady + 0.05 * (0.1 + 16 * 0.05))


def test_benchmark_ttft_rises_with_the_clients_that_start_together():
    """A benchmark's TTFT (clients started together) is above steady traffic's and rises with
    the concurrency, on SGLang (prompts before decodes) by up to half a batched prefill per
    added client (serving.csv's dense SGLang runs: 0.45); steady traffic (a deployment) is the
    default."""
    bench = Tuning(benchmark_rounds=20)
    for engine in ("sglang", "vllm", "tensorrt-llm"):
        prev = 0.0
        for c in (4, 16, 64):
            b = estimate("qwen3-32b", "h100-sxm", 2, "fp8", 2048, 256, c, engine=engine, tuning=bench)
            s = estimate("qwen3-32b", "h100-sxm", 2, "fp8", 2048, 256, c, engine=engine)
            assert b.ttft_s >= s.ttft_s and b.ttft_s > prev
            # more of the clients wait for a first token, so no more decode at once
            assert b.tpot_s <= s.tpot_s
            prev = b.ttft_s
    lo = estimate("qwen3-32b", "h100-sxm", 2, "fp8", 2048, 256, 16, engine="sglang", tuning=bench)
    hi = estimate("qwen3-32b", "h100-sxm", 2, "fp8", 2048, 256, 32, engine="sglang", tuning=bench)
    share = perf.packaged_calibration().in_step_share
    slope = (hi.ttft_s - lo.ttft_s) / 16 / lo.batched_prefill_s
    assert 0.4 * share < slope < 0.7


def test_disaggregated_pools_predict_ttft_from_prefill_and_tpot_from_decode():
    from xlsizer.engine.disagg import PoolShape, closed_loop

    ttft, tpot = closed_loop("llama-3.1-70b", "h200-sxm", "fp8", 4000, 500, 64,
                             PoolShape(2, 4), PoolShape(1, 8))
    agg = estimate("llama-3.1-70b", "h200-sxm", 8, "fp8", 4000, 500, 64)
    assert tpot < agg.tpot_s  # decode-only steps: no prompt chunks in them
    more_prefill = closed_loop("llama-3.1-70b", "h200-sxm", "fp8", 4000, 500, 64,
                               PoolShape(4, 4), PoolShape(1, 8))
    assert more_prefill[0] < ttft and more_prefill[1] == pytest.approx(tpot)


def test_ttft_keeps_rising_where_the_kv_cache_fills():
    """Qwen3-32B BF16 on 2x H100 (SGLang), 2,048/128 tokens: the KV holds 126 requests. Below
    that the closed loop queues prompts for prefill; above it, clients also wait for a slot.
    Before, the model switched to "every slot decoding" at 127 clients and TTFT fell from 7.6 s
    to 0.8 s (the source measured 9.1 s at 128, TPOT 84 ms). Now TTFT is continuous and rises
    with the clients, throughput stays at the full engine's; as the source's benchmark ran
    (clients started together), and as steady traffic."""
    clients = (96, 120, 125, 126, 127, 128, 160, 256)
    steady = [estimate("qwen3-32b", "h100-sxm", 2, "bf16", 2048, 128, c, engine="sglang").ttft_s
              for c in clients]
    assert all(b > a for a, b in pairwise(steady)), steady
    runs = [estimate("qwen3-32b", "h100-sxm", 2, "bf16", 2048, 128, c, engine="sglang",
                     tuning=Tuning(benchmark_rounds=20)) for c in clients]
    assert runs[3].max_batch == 126
    ttfts = [r.ttft_s for r in runs]
    assert all(b > a for a, b in pairwise(ttfts)), ttfts
    assert ttfts[4] < 1.05 * ttfts[3]  # no jump at the boundary
    assert runs[-1].out_tok_s_per_replica == pytest.approx(runs[3].out_tok_s_per_replica)
    assert 6.0 < runs[5].ttft_s < 12.0 and runs[5].tpot_s < 0.15


def test_prefill_worker_at_batch_one_serves_each_prompt_alone():
    """A prefill worker run at batch 1 (every published disaggregated run; the sizing's M/D/1
    prefill pool) cannot pack queued prompts into shared passes: its service time per prompt is
    the prompt's whole prefill, so queued TTFT is higher than with packing, and equal at one client."""
    from xlsizer.engine.disagg import PoolShape, closed_loop

    one = estimate("deepseek-v3", "b200", 8, "fp8", 1024, 1024, 1, prefill_batch=1)
    packed = estimate("deepseek-v3", "b200", 8, "fp8", 1024, 1024, 1)
    assert one.batched_prefill_s == pytest.approx(one.prefill_s, rel=1e-9)
    assert packed.batched_prefill_s < 0.8 * one.batched_prefill_s  # MoE weights read per pass
    many = estimate("deepseek-v3", "b200", 8, "fp8", 1024, 1024, 1, prefill_batch=64)
    assert many.batched_prefill_s == pytest.approx(packed.batched_prefill_s)  # budget binds first
    args = ("deepseek-v3", "b200", "fp8", 1024, 1024)
    for c, rises in ((2, False), (512, True)):
        b1 = closed_loop(*args, c, PoolShape(1, 8, batch=1), PoolShape(2, 8))[0]
        bn = closed_loop(*args, c, PoolShape(1, 8, batch=None), PoolShape(2, 8))[0]
        assert (b1 > bn * 1.05) is rises, (c, b1, bn)
    with pytest.raises(InputError):
        estimate("deepseek-v3", "b200", 8, "fp8", 1024, 1024, 1, prefill_batch=0)


def test_moe_sizing_explains_where_the_step_goes():
    """Issue 11: for a MoE sizing, explain() and the per-replica plan (extra.perf) give the
    share of the step in expert GEMMs, imbalance and all-to-all; a dense sizing has none."""
    from xlsizer.engine.pipeline import size
    from xlsizer.inputs import make_inputs

    moe = size(make_inputs({"model": "deepseek-r1", "gpu": "h200-sxm", "concurrent_users": 500}))
    perf_ = moe.scenarios["baseline"].extra["perf"]
    assert 0.0 < perf_["moe_expert_gemm_share"] < 1.0
    assert 0.0 <= perf_["moe_imbalance_share"] < perf_["moe_expert_gemm_share"]
    assert perf_["moe_all_to_all_share"] >= 0.0
    text = " ".join(str(s.model_dump()) for s in moe.explain())
    assert "expert GEMMs share of step" in text and "all-to-all share of step" in text
    dense = size(make_inputs({"model": "llama-3.1-8b", "gpu": "h100-sxm", "concurrent_users": 50}))
    assert "moe_expert_gemm_share" not in dense.scenarios["baseline"].extra["perf"]


def test_a_tied_output_head_is_streamed_and_multiplied():
    """The input embedding is a row look-up, so a decode step neither streams nor multiplies it,
    but a model whose output head is that same matrix (config.json tie_word_embeddings: Qwen3
    0.6B/1.7B, Gemma 4) streams and multiplies it as the head every pass. Taking it off a tied
    model left the head out: 26% of Qwen3-0.6B's weights."""
    cat = load_catalog()
    tied, untied = cat.model("qwen3-0.6b"), cat.model("llama-3.1-8b")
    assert tied.tied_embeddings and not untied.tied_embeddings
    step_tied = estimate(tied, "h100-sxm", 1, "bf16", 2000, 500, concurrency=8).step
    step_untied = estimate(untied, "h100-sxm", 1, "bf16", 2000, 500, concurrency=8).step
    assert step_tied.weights_bytes == pytest.approx(tied.total_params * 2.0)  # BF16: every weight
    assert step_untied.weights_bytes == pytest.approx((untied.total_params - 128256 * 4096) * 2.0)
    # the head's math too: an untied copy of the same model (its matrix counted twice in the
    # total, once in the stream) multiplies as much per token
    as_untied = tied.model_copy(update={"tied_embeddings": False,
                                        "total_params_b": tied.total_params_b + 151936 * 1024 / 1e9})
    a = estimate(tied, "h100-sxm", 1, "bf16", 2000, 500, concurrency=64).step.flops
    b = estimate(as_untied, "h100-sxm", 1, "bf16", 2000, 500, concurrency=64).step.flops
    assert a == pytest.approx(b, rel=1e-9)


def _small_vocab(model, vocab: int):
    """``model`` with a vocabulary of ``vocab`` tokens: its input embedding and output head
    shrink, its parameter count with them (every other weight the same)."""
    gone = 2.0 * (model.vocab_size - vocab) * model.hidden_size / 1e9  # embedding + untied head
    return model.model_copy(update={"vocab_size": vocab, "total_params_b": model.total_params_b - gone})


def test_a_prompt_multiplies_the_output_head_for_its_last_token_only():
    """Engines compute logits only where they sample (vLLM's logits_indices, TensorRT-LLM
    without gather_context_logits): every decode token multiplies the output head, a prompt only
    its last token. Charging the head on every prompt token made Llama-3.1-8B's prefill 6.5%
    longer (the head is 7.0% of a prompt token's math); now a long prompt's prefill barely
    depends on the vocabulary while a decode step's math grows by the head for every token."""
    m = load_catalog().model("llama-3.1-8b")
    small = _small_vocab(m, 256)
    head = 2.0 * (m.vocab_size - 256) * m.hidden_size  # FLOPs per token the head adds
    big_est = estimate(m, "h100-sxm", 1, "bf16", 8000, 200, concurrency=1)
    small_est = estimate(small, "h100-sxm", 1, "bf16", 8000, 200, concurrency=1)
    # one token's head math and one streaming of it per chunk: well under 1% of the prefill
    assert big_est.prefill_s == pytest.approx(small_est.prefill_s, rel=0.005)
    assert big_est.prefill_s > small_est.prefill_s
    # a decode-only step (one sequence: no prompt shares its step) multiplies it per token
    assert big_est.step.flops - small_est.step.flops == pytest.approx(head, rel=1e-6)


def test_element_wise_traffic_counts_each_blocks_norm_and_each_ffns_activation():
    """aiconfigurator's element-wise operations (add_norm_1, add_norm_2, act_gate): per token,
    each block's residual add and norm moves 2h elements in and 2h out on every tensor-parallel
    rank, each gated FFN's activation 2I in and I out split over the ranks, in BF16."""
    cat = load_catalog()
    llama = cat.model("llama-3.1-8b")  # 32 layers, h 4096, I 14336
    norms = 64 * 4 * 4096 * 2.0
    act = 32 * 3 * 14336 * 2.0
    assert elementwise_bytes(llama, 1) == pytest.approx(norms + act, rel=1e-12)
    assert elementwise_bytes(llama, 8) == pytest.approx(norms + act / 8, rel=1e-12)
    oss = cat.model("gpt-oss-120b")  # every FFN a routed MoE: their activations are in the MoE term
    assert elementwise_bytes(oss, 1) == pytest.approx(2 * oss.layers * 4 * oss.hidden_size * 2.0, rel=1e-12)
    # a prefill streams them once per token: at the same math, more of them is a longer prefill
    small_h = estimate(llama, "h100-sxm", 1, "bf16", 8000, 200, concurrency=1).prefill_s
    wide = llama.model_copy(update={"intermediate_size": 2 * 14336, "total_params_b": llama.total_params_b})
    assert estimate(wide, "h100-sxm", 1, "bf16", 8000, 200, concurrency=1).prefill_s > small_h


def test_a_tpot_target_no_batch_reaches_leaves_the_engine_limit_binding():
    """An infinite (or 1e300 s) TPOT target is no limit: the capacity is the loose target's, where
    the engine's sequence limit binds. Its squares once overflowed the closed-form batch bound to
    NaN ("cannot convert float NaN to integer")."""
    from xlsizer.engine.solver import slo_capacity

    args = ("llama-2-70b", "b200", 2, "fp8", 1000.0, 300.0)
    loose = slo_capacity(*args, 10.0)
    for target in (1e300, math.inf):
        cap = slo_capacity(*args, target, slo_percentile=99)
        assert (cap.batch, cap.req_s, cap.binding) == (loose.batch, loose.req_s, loose.binding)
