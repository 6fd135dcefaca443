"""Inputs: defaults, presets, and a clear message for every bad value."""

import json
import time
from pathlib import Path

import pytest

from xlsizer import InputError, UnknownIdError, cells, make_inputs, size
from xlsizer.cli import main
from xlsizer.errors import QUOTE_MAX, XlsizerError
from xlsizer.inputs import NUMERIC_FIELDS, SizingInputs


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
    ("avg_prompt_tokens", 8, "a whole number between 16 and 200000"),
    # inside the range but not a count: the message must not read as if the range were broken
    ("avg_prompt_tokens", 2000.5, "must be a whole number between 16 and 200000"),
    ("lora_variants", 2.5, "must be a whole number between 1 and 1000"),
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
    ("throughput_override", 0, "between 1 and 10000000"),
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
    # the message is about the name, not "must be a known input name, got 10" (its value)
    msg = r"^unknown input 'concurrent_user'; closest: concurrent_users, currency$"
    with pytest.raises(InputError, match=msg) as e:
        make_inputs(concurrent_user=10)
    assert e.value.field == "concurrent_user"  # the project reader points at its cell by this
    with pytest.raises(InputError, match=r"^unknown input 'zzqx'; the Inputs sheet's column B and `xlsizer inputs`"):
        make_inputs(zzqx=1)


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


# --- issue 15: booleans are not numbers, errors stay short, every CLI exit is named -------------


@pytest.mark.parametrize("field", ["concurrent_users", "avg_prompt_tokens", "burst_factor", "target_tpot_ms",
                                   "lora_variants", "num_layers"])
@pytest.mark.parametrize("value", [True, False])
def test_boolean_is_not_a_number(field, value):
    with pytest.raises(InputError, match="TRUE/FALSE is not a number") as exc:
        make_inputs({field: value})
    assert exc.value.field == field
    assert field in NUMERIC_FIELDS


def test_boolean_count_in_a_cell_and_a_function_is_an_error(monkeypatch):
    monkeypatch.setattr(cells, "STRICT", True)
    rng = [["model", "llama-3.1-8b"], ["concurrent_users", True]]
    assert cells.scenario_value("replicas", rng, None, ()).startswith("#VALUE! concurrent_users must be")
    assert "#VALUE!" in str(cells.vram("llama-3.1-8b", True, 2, 2000, 500, 30, 3, "fp8", "burst"))
    assert str(cells.rps(True, 2)).startswith("#VALUE! users")


def test_toggles_still_take_booleans():
    assert make_inputs(prefix_caching=False, kv_offload=True).kv_offload is True


@pytest.mark.parametrize("value", ["x" * 40_000, [[1] * 100] * 100, 10**5000, "(" * 32_767],
                         ids=["long-text", "range-100x100", "5000-digit-int", "parens"])
def test_errors_quote_at_most_about_60_characters(value):
    with pytest.raises(XlsizerError) as exc:
        size({"model": value} if not isinstance(value, int) else {"concurrent_users": value})
    msg = str(exc.value)
    assert len(msg) < QUOTE_MAX + 160, msg


def test_a_range_as_model_gives_a_short_cell_error(monkeypatch):
    monkeypatch.setattr(cells, "STRICT", True)
    out = cells.scenario_value("replicas", [["model", [["llama"] * 100] * 100]], None, ())
    assert out == "#VALUE! model must be a single cell, got a range"
    for fn in (cells.model_info, cells.weights_memory, cells.kv_per_token):  # was a 200,000-character id
        assert fn([["llama-3.1-8b"] * 100] * 100) == "#VALUE! model must be a single cell, got a range"


def test_llm_vram_with_a_range_argument_is_readable(monkeypatch):
    monkeypatch.setattr(cells, "STRICT", True)  # an internal error would raise here
    out = cells.vram("llama-3.1-8b", [[80, 90], [100, 110]], 2, 2000, 500, 30, 3, "fp8", "burst")
    assert out == "#VALUE! concurrent_users must be a single cell, got a range"
    assert cells.vram("llama-3.1-8b", [[80]], 2, 2000, 500, 30, 3, "fp8", "burst") == \
        cells.vram("llama-3.1-8b", 80, 2, 2000, 500, 30, 3, "fp8", "burst")


@pytest.mark.parametrize("label", ["(" * 32_767, "[" * 32_767, "([" * 16_000, "(a" * 16_000],
                         ids=["parens", "brackets", "mixed", "parens-letters"])
def test_name_cleaning_is_linear(monkeypatch, label):
    monkeypatch.setattr(cells, "STRICT", True)
    start = time.perf_counter()
    out = cells.result([[label, 5]], "replicas", None, ())
    sweep = cells.sweep([["model", "llama-3.1-8b"]], label, [1], "replicas", None)
    assert time.perf_counter() - start < 1.0  # the quadratic regex took 6-7 s per call
    assert out.startswith("#VALUE!") and len(out) < 200, out[:300]
    text = sweep if isinstance(sweep, str) else sweep[1][1]
    assert text.startswith("#VALUE!") and len(text) < 200, text[:300]


def test_name_cleaning_keeps_its_meaning():
    assert cells.field_key("Concurrent users (users)") == "concurrent_users"
    assert cells.field_key("target_tpot_ms [ms]") == "target_tpot_ms"
    assert cells.field_key("a(b") == "a_b"


def _run(argv, capsys) -> tuple[int, str]:
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


def test_cli_bad_inputs_exit_2_with_a_named_reason(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    big = tmp_path / "big.json"
    big.write_text('{"concurrent_users": ' + "9" * 5000 + "}")
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["size", "--inputs", str(deep)], "nested too deeply"),
        (["size", "--inputs", str(big)], "4300 digits"),
        (["size", "--set", "concurrent_users=" + "9" * 5000], "concurrent_users must be"),
        (["size", "--set", "concurrent_users=true"], "TRUE/FALSE is not a number"),
        (["report", str(tmp_path), "--out", str(afile)], "exists and is not a folder"),
        (["report", str(tmp_path), "--out", str(afile / "sub")], "cannot create the folder"),
        (["new-project", "p", "--out", str(afile)], "exists and is not a folder"),
    ]
    for argv, words in cases:
        rc, err = _run(argv, capsys)
        assert rc == 2, (argv[:3], err)
        assert words in err and "internal error" not in err and len(err) < 400, (argv[:3], err)


def test_new_project_refuses_to_overwrite_without_force(tmp_path, capsys):
    assert main(["new-project", "Bank assistant", "--out", str(tmp_path), "--set", "concurrent_users=40"]) == 0
    target = tmp_path / "Bank-assistant.xlsx"
    before = target.read_bytes()
    rc, err = _run(["new-project", "Bank assistant", "--out", str(tmp_path)], capsys)
    assert rc == 2 and "--force" in err and target.read_bytes() == before
    assert main(["new-project", "Bank assistant", "--out", str(tmp_path), "--force"]) == 0
    assert target.read_bytes() != before  # overwritten when asked (defaults: 80 users)


def test_json_inputs_with_a_boolean_count(tmp_path, capsys):
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"concurrent_users": True}))
    rc, err = _run(["size", "--inputs", str(f)], capsys)
    assert rc == 2 and "TRUE/FALSE is not a number" in err
    assert Path(f).exists()


def test_excel_function_numbers_follow_the_same_grouping_rule():
    """A text number in a cell reads like --set and JSON: whole groups of three only, so a
    decimal comma ("1,5") is an error rather than fifteen."""
    from xlsizer import cells
    from xlsizer.errors import InputError

    assert cells.to_number("concurrent_users", "1,000", 1, 1e7) == 1000
    assert cells.to_number("concurrent_users", "12 500", 1, 1e7) == 12500
    for bad in ("1,5", "1,00", "1,000 000"):
        with pytest.raises(InputError):
            cells.to_number("concurrent_users", bad, 1, 1e7)


@pytest.mark.parametrize(("text", "q"), [("p99", 99.0), ("P95", 95.0), ("99%", 99.0), ("p99.9", 99.9),
                                         (" 50 ", 50.0), (90, 90.0)])
def test_slo_percentile_reads_as_planners_write_it(text, q):
    assert make_inputs({"slo_percentile": text}).slo_percentile == q


@pytest.mark.parametrize("text", ["q99", "p", "p99.5", "99th"])
def test_slo_percentile_other_text_is_refused_by_name(text):
    with pytest.raises(InputError, match=r"^slo_percentile must be one of 50, 90, 95, 99, 99\.9"):
        make_inputs({"slo_percentile": text})
