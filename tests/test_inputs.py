"""Inputs: defaults, presets, and a clear message for every bad value."""

import pytest

from xlsizer import InputError, UnknownIdError, make_inputs, size
from xlsizer.inputs import SizingInputs


def test_course_defaults():
    i = make_inputs()
    assert (i.workload_type, i.model, i.precision, i.concurrent_users) == ("rag", "llama-3.3-70b", "fp8", 80)
    assert (i.avg_prompt_tokens, i.max_context_tokens, i.burst_factor, i.redundancy_mode) == (2000, 8000, 3.0, "N+1")
    assert (i.ttft_ms, i.tpot_ms) == (800, 50)  # rag preset


@pytest.mark.parametrize("wt,ttft,tpot", [("interactive_chat", 500, 40), ("code_completion", 200, 30),
                                          ("rag", 800, 50), ("batch", 5000, 100), ("agentic", 1000, 60)])
def test_workload_presets_fill_empty_targets(wt, ttft, tpot):
    i = make_inputs(workload_type=wt)
    assert (i.ttft_ms, i.tpot_ms) == (ttft, tpot)
    assert make_inputs(workload_type=wt, target_tpot_ms=33).tpot_ms == 33


def test_kv_auto_follows_weights():
    assert make_inputs(precision="bf16").kv_precision == "bf16"
    assert make_inputs(precision="fp8", kv_cache_dtype="fp16").kv_precision == "fp16"


@pytest.mark.parametrize("field,value,allowed", [
    ("concurrent_users", 0, "between 1 and 100000"),
    ("concurrent_users", 100_001, "between 1 and 100000"),
    ("requests_per_user_per_minute", 0.01, "between 0.1 and 60"),
    ("avg_prompt_tokens", 8, "between 16 and 200000"),
    ("avg_output_tokens", 40_000, "between 16 and 32000"),
    ("max_context_tokens", 100, "between 256 and 1000000"),
    ("target_ttft_ms", 10, "between 50 and 10000"),
    ("target_tpot_ms", -3, "between 5 and 1000"),
    ("burst_factor", 11, "between 1 and 10"),
    ("parameter_count_b", 0, "between 0.1 and 2000"),
    ("precision", "fp9", "one of fp16, bf16, fp8, int8, int4, fp4"),
    ("kv_cache_dtype", "fp3", "one of auto, fp16"),
    ("redundancy_mode", "N+5", "one of N, N+1, N+2"),
    ("serving_engine", "ollama", "one of vllm, trt-llm, triton, sglang"),
    ("workload_type", "chatbot", "one of interactive_chat"),
    ("throughput_override", 0, "greater than 0"),
    ("concurrent_users", "many", "between 1 and 100000"),
    ("speculative_decoding", "maybe", "TRUE or FALSE"),
])
def test_bad_values_name_field_value_and_range(field, value, allowed):
    with pytest.raises(InputError) as e:
        make_inputs({field: value})
    msg = str(e.value)
    assert msg.startswith(f"{field} must be ")
    assert allowed in msg
    assert repr(value) in msg


def test_unknown_field_suggests_closest():
    with pytest.raises(InputError, match="closest: concurrent_users"):
        make_inputs(concurrent_user=10)


def test_unknown_model_and_gpu_name_closest_ids():
    with pytest.raises(UnknownIdError, match=r"unknown model 'llama-3.3-7b'; closest: .*llama-3.3-70b"):
        size(model="llama-3.3-7b")
    with pytest.raises(UnknownIdError, match=r"unknown GPU 'h10'; closest: .*h100"):
        size(gpu="h10")


def test_aliases_resolve():
    assert size(gpu="H100").burst.gpu == "h100-sxm"
    assert size(model="Llama 3.3 70B").burst.memory.weights_gb == pytest.approx(70)


def test_custom_model_needs_every_field():
    with pytest.raises(InputError, match=r"missing .*num_layers"):
        make_inputs(model="custom", parameter_count_b=13, model_architecture="dense")
    r = size(model="custom", parameter_count_b=13, model_architecture="dense", num_layers=40,
             num_kv_heads=40, head_dim=128, gpu="l40s")
    assert r.burst.memory.kv_bytes_per_token == 2 * 40 * 40 * 128 * 1
    assert r.burst.memory.weights_gb == pytest.approx(13)


def test_custom_moe_needs_active_params():
    with pytest.raises(InputError, match="active_params_b"):
        make_inputs(model="custom", parameter_count_b=100, model_architecture="moe", num_layers=40,
                    num_kv_heads=8, head_dim=128)


def test_custom_gpu():
    r = size(gpu="custom", gpu_memory_gb=100, gpu_bandwidth_tb_s=4, gpu_bf16_tflops=1000,
             gpu_fp8_tflops=2000, gpu_tdp_w=800)
    assert r.burst.gpu == "custom"
    with pytest.raises(InputError, match=r"gpu must be .*missing gpu_memory_gb"):
        make_inputs(gpu="custom")


def test_catalog_architecture_override_must_agree():
    with pytest.raises(InputError, match="model_architecture must be empty or 'gqa'"):
        size(model="llama-3.3-70b", model_architecture="moe")


def test_inputs_are_frozen_and_hashable():
    i = make_inputs()
    assert hash(i) == hash(make_inputs())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen assignment
        i.concurrent_users = 5  # type: ignore[misc]


def test_every_field_has_template_metadata():
    for name, f in SizingInputs.model_fields.items():
        extra = f.json_schema_extra
        assert isinstance(extra, dict) and {"step", "unit", "owner", "moves"} <= set(extra), name
        assert f.description, name
