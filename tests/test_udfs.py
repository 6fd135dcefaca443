"""The Excel functions called as Excel calls them: None (classic) and 0 (Office.js) for empty
cells, floats for integers, strings for toggles, ranges as lists of lists, error values."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from xlsizer import cells, size

ROOT = Path(__file__).resolve().parent.parent


def _load_udfs():
    spec = importlib.util.spec_from_file_location("xlsizer_udfs", ROOT / "udfs" / "xlsizer_udfs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


u = _load_udfs()


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """Any non-XlsizerError inside a cell function is a bug: make it fail the test."""
    monkeypatch.setattr(cells, "STRICT", True)
    yield


WORKED = {
    "model": "llama-3.3-70b", "precision": "fp8", "kv_cache_dtype": "fp8", "avg_prompt_tokens": 6000,
    "avg_output_tokens": 250, "concurrent_users": 80, "requests_per_user_per_minute": 4,
    "target_ttft_ms": 500, "target_tpot_ms": 40, "burst_factor": 2.5, "redundancy_mode": "N+1",
}


def inputs_range(d=WORKED, header=True, blank_rows=True, as_float=True):
    """The template's Inputs range as classic xlwings delivers it (ints as floats)."""
    rows = [["Name", "Value"]] if header else []
    for i, (k, v) in enumerate(d.items()):
        if as_float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        rows.append([k, v])
        if blank_rows and i == 3:
            rows.append([None, None])
    return rows


INPUTS = inputs_range()
INPUTS_OFFICEJS = [[k, v] for k, v in WORKED.items()] + [[0, 0], ["gpu", 0]]  # empty cells arrive as 0


@pytest.fixture(scope="module")
def core():
    return size(WORKED)


# --- worked example through the functions equals the core -----------------------------------

@pytest.mark.parametrize("rng", [INPUTS, INPUTS_OFFICEJS, inputs_range(header=False, blank_rows=False,
                                                                       as_float=False)])
@pytest.mark.parametrize("scenario", ["baseline", "burst", "resilient"])
def test_worked_example_matches_core(core, rng, scenario):
    s = core.scenarios[scenario]
    assert u.LLM_REPLICAS(rng, scenario) == s.replicas
    assert u.LLM_GPUS(rng, scenario) == s.total_gpus
    assert u.LLM_SERVERS(rng, scenario) == s.servers
    assert u.LLM_POWER_KW(rng, scenario) == pytest.approx(s.it_kw)
    assert u.LLM_FACILITY_KW(rng, scenario) == pytest.approx(s.facility_kw)
    assert u.LLM_RESULT(rng, "memory.vram_gb", scenario) == pytest.approx(s.memory.vram_gb)
    assert u.LLM_RESULT(rng, "traffic.inflight_requests", scenario) == pytest.approx(s.traffic.inflight_requests)
    assert u.LLM_RESULT(rng, "gpu", scenario) == s.gpu


def test_worked_example_numbers(core):
    assert u.LLM_REPLICAS(INPUTS) == core.burst.replicas  # default scenario is burst
    assert u.LLM_RESULT(INPUTS, "memory.kv_per_request_gb") == pytest.approx(1.024)
    assert u.LLM_RESULT(INPUTS, "memory.weights_gb") == pytest.approx(70.0)
    assert u.LLM_RESULT(INPUTS, "traffic.rps") == pytest.approx(80 * 4 / 60)
    assert u.LLM_RESULT(INPUTS, "headline") == core.headline


@pytest.mark.parametrize("empty", [None, 0, "", 0.0])
def test_empty_scenario_means_burst(core, empty):
    assert u.LLM_GPUS(INPUTS, empty) == core.burst.total_gpus


def test_scenario_case_and_spaces(core):
    assert u.LLM_GPUS(INPUTS, " Resilient ") == core.resilient.total_gpus


def test_cost_functions_match_core(core):
    cost = core.burst.extra["cost"]
    assert u.LLM_COST_MONTHLY(INPUTS) == pytest.approx(cost["monthly"])
    assert u.LLM_COST_PER_MTOK(INPUTS) == pytest.approx(cost["per_million_tokens"])
    assert u.LLM_RESULT(INPUTS, "cost.per_million_output_tokens") == pytest.approx(cost["per_million_output_tokens"])
    assert u.LLM_RESULT(INPUTS, "cost.currency") == cost["currency"]


# --- overrides ----------------------------------------------------------------------------

def test_override_pairs_equal_core():
    want = size({**WORKED, "concurrent_users": 200, "burst_factor": 3}).burst.total_gpus
    assert u.LLM_GPUS(INPUTS, "burst", "concurrent_users", 200.0, "burst_factor", 3.0) == want
    assert u.LLM_GPUS(INPUTS, None, "Concurrent users", 200, None, None, "burst-factor", "3") == want


def test_override_with_empty_value_resets_to_default():
    want = size({k: v for k, v in WORKED.items() if k != "burst_factor"}).burst.replicas
    assert u.LLM_REPLICAS(INPUTS, "burst", "burst_factor", None) == want


def test_override_value_without_name():
    assert u.LLM_REPLICAS(INPUTS, "burst", None, 200) == "#VALUE! value1 (200) is given without name1"


def test_override_unknown_name_suggests():
    assert u.LLM_REPLICAS(INPUTS, "burst", "concurent_users", 3) == (
        "#VALUE! unknown input 'concurent_users'; closest: concurrent_users")


def test_override_out_of_range_is_one_line():
    msg = u.LLM_REPLICAS(INPUTS, "burst", "target_tpot_ms", -3.0)
    assert msg == "#VALUE! target_tpot_ms must be between 5 and 1000, got -3"


def test_empty_inputs_means_defaults():
    want = size({}).burst.replicas
    assert u.LLM_REPLICAS(None) == want
    assert u.LLM_REPLICAS(0) == want
    assert u.LLM_REPLICAS([]) == want
    assert u.LLM_REPLICAS(None, "burst", "concurrent_users", 200) == size(concurrent_users=200).burst.replicas


# --- toggles --------------------------------------------------------------------------------

@pytest.mark.parametrize("on", [True, "TRUE", "yes", "Yes", 1, 1.0, "on", "1"])
def test_toggle_true_spellings(on):
    want = size({**WORKED, "speculative_decoding": True}).burst.memory.vram_gb
    rng = [*INPUTS, ["speculative_decoding", on]]
    assert u.LLM_RESULT(rng, "memory.vram_gb") == pytest.approx(want)


@pytest.mark.parametrize("off", [False, "FALSE", "no", 0, 0.0, "off"])
def test_toggle_false_spellings(off):
    want = size({**WORKED, "prefix_caching": False})
    rng = [*INPUTS, ["prefix_caching", off]]
    assert u.LLM_RESULT(rng, "memory.vram_gb") == pytest.approx(want.burst.memory.vram_gb)
    inp = cells.build_inputs(rng)
    assert inp.prefix_caching is False


def test_toggle_bad_text():
    assert u.LLM_REPLICAS([*INPUTS, ["kv_offload", "maybe"]]) == "#VALUE! kv_offload must be TRUE or FALSE, got 'maybe'"


# --- ranges -----------------------------------------------------------------------------------

def test_wrong_shaped_ranges():
    assert u.LLM_REPLICAS([[1, 2, 3], [4, 5, 6]]) == (
        "#VALUE! Inputs must be a two-column name/value range, got 3 columns")
    assert u.LLM_REPLICAS(["model", "x", "y"]).startswith("#VALUE! Inputs must be a two-column name/value range")
    assert u.LLM_REPLICAS("llama-3.3-70b") == (
        "#VALUE! Inputs must be a two-column name/value range, got the single value 'llama-3.3-70b'")
    assert u.LLM_REPLICAS([["model"], ["x"]]) == "#VALUE! Inputs must be a two-column name/value range, got 1 columns"


def test_single_row_range_arrives_flat():
    assert u.LLM_REPLICAS(["concurrent_users", 200.0]) == size(concurrent_users=200).burst.replicas


def test_duplicate_and_nameless_rows():
    assert u.LLM_REPLICAS([["concurrent_users", 1], ["concurrent_users", 2]]) == (
        "#VALUE! Inputs names concurrent_users twice (rows with the same name)")
    assert u.LLM_REPLICAS([["model", "llama-3.3-70b"], [None, 5]]) == "#VALUE! Inputs row 2 has a value (5) but no name"


def test_labels_with_units_and_spaces():
    rng = [["Concurrent users (users)", 200], ["Target TPOT ms", 40]]
    assert u.LLM_REPLICAS(rng) == size(concurrent_users=200, target_tpot_ms=40).burst.replicas


def test_range_value_where_cell_expected():
    assert u.LLM_REPLICAS(INPUTS, "burst", "concurrent_users", [[1, 2]]) == (
        "#VALUE! concurrent_users must be a single cell, got a range")


# --- error values passed in -------------------------------------------------------------------

@pytest.mark.parametrize("err, code", [("#N/A", "#N/A"), (-2146826246, "#N/A"), ("#DIV/0!", "#DIV/0!"),
                                       (-2146826273, "#VALUE!"), ("#REF!", "#REF!")])
def test_error_values_propagate(err, code):
    assert u.KV_MEMORY("llama-3.3-70b", err) == f"{code} tokens refers to a cell holding {code}"
    assert u.LLM_REPLICAS([*INPUTS, ["max_context_tokens", err]]) == (
        f"{code} max_context_tokens refers to a cell holding {code}")
    assert u.LLM_REPLICAS(err).startswith(code)


def test_exception_object_as_error_value():
    assert u.LLM_RPS(ValueError("boom"), 4) == "#VALUE! users refers to a cell holding #VALUE!"


# --- memory functions -------------------------------------------------------------------------

def test_design_card_kv_memory():
    assert u.KV_MEMORY("llama-3.3-70b", 6250, 133, "fp8") == pytest.approx(6250 * 163_840 * 133 / 1e9)
    assert u.KV_MEMORY("llama-3.3-70b", 6250.0, 133.0, "FP8") == pytest.approx(136.192)


@pytest.mark.parametrize("empty", [None, 0, ""])
def test_kv_memory_optional_args_empty(empty):
    assert u.KV_MEMORY("llama-3.3-70b", 6250, empty, empty) == pytest.approx(6250 * 163_840 / 1e9)


def test_kv_memory_precisions():
    assert u.KV_MEMORY("llama-3.3-70b", 1000, 1, "bf16") == pytest.approx(2 * u.KV_MEMORY("llama-3.3-70b", 1000))
    assert u.KV_MEMORY("llama-3.3-70b", 1000, 1, "fp7") == (
        "#VALUE! kv_precision must be one of fp16, bf16, fp8, int8, int4, fp4, got 'fp7'")


def test_kv_memory_bad_arguments():
    assert u.KV_MEMORY("llama-3.3-70b", -2) == "#VALUE! tokens must be between 1 and 10000000, got -2"
    assert u.KV_MEMORY("llama-3.3-70b", "lots") == (
        "#VALUE! tokens must be a number between 1 and 10000000, got 'lots'")
    assert u.KV_MEMORY("llama-3.3-70b", None) == (
        "#VALUE! tokens must be a number between 1 and 10000000, got nothing (the cell is empty)")
    assert u.KV_MEMORY(None, 100) == "#VALUE! model must be given, got nothing (the cell is empty)"


def test_unknown_model_lists_closest():
    msg = u.KV_MEMORY("llama-3.3-7b", 6250)
    assert msg.startswith("#VALUE! unknown model 'llama-3.3-7b'; closest: llama-3.3-70b")
    assert "\n" not in msg


def test_kv_per_token_and_weights(core):
    assert u.KV_PER_TOKEN("llama-3.3-70b") == 163_840
    assert u.KV_PER_TOKEN("Llama 3.3 70B", "bf16") == 327_680
    assert u.WEIGHTS_MEMORY("llama-3.3-70b") == pytest.approx(core.burst.memory.weights_gb)
    assert u.WEIGHTS_MEMORY("llama-3.3-70b", "bf16") == pytest.approx(140.0)
    assert u.WEIGHTS_MEMORY("llama-3.3-70b", 0) == pytest.approx(70.0)


def test_traffic_functions(core):
    assert u.LLM_RPS(80.0, 4.0) == pytest.approx(core.burst.traffic.rps)
    assert u.LLM_INFLIGHT(80, 4, 250, 40, 2.5) == pytest.approx(core.burst.traffic.inflight_requests)
    assert u.LLM_INFLIGHT(80, 4, 250, 40) == pytest.approx(core.baseline.traffic.inflight_requests)
    assert u.LLM_INFLIGHT(80, 4, 250, 40, None) == pytest.approx(core.baseline.traffic.inflight_requests)
    assert u.LLM_RPS(80, "four") == "#VALUE! rpm must be a number between 0.001 and 10000, got 'four'"
    # a typed 0 is not called an empty cell (Excel on the web passes 0 for one, so it may be)
    assert u.LLM_RPS(0, 4) == "#VALUE! users must be a number between 1 and 100000000, got 0 (or an empty cell)"
    assert u.LLM_RPS(None, 4) == (
        "#VALUE! users must be a number between 1 and 100000000, got nothing (the cell is empty)")


def test_llm_vram_matches_core(core):
    assert u.LLM_VRAM("llama-3.3-70b", 80, 4, 6000, 250, 40, 2.5, "fp8") == pytest.approx(core.burst.memory.vram_gb)
    assert u.LLM_VRAM("llama-3.3-70b", 80, 4, 6000, 250, 40, 2.5, "fp8", "baseline") == pytest.approx(
        core.baseline.memory.vram_gb)
    assert u.LLM_VRAM("llama-3.3-70b") == pytest.approx(size(model="llama-3.3-70b").burst.memory.vram_gb)
    assert u.LLM_VRAM("llama-3.3-70b", 80, 4, 6000, 250, -3) == (
        "#VALUE! target_tpot_ms must be between 5 and 1000, got -3")


# --- performance functions --------------------------------------------------------------------

def test_performance_functions_match_estimate():
    from xlsizer.engine.performance import estimate

    e = estimate("llama-3.3-70b", "h100-sxm", tp=4, precision="fp8", input_tokens=6000, output_tokens=250,
                 concurrency=32)
    args = ("llama-3.3-70b", "h100-sxm", 4.0, "fp8", 6000.0, 250.0, 32.0)
    assert u.LLM_TPOT(*args) == pytest.approx(e.tpot_s * 1000)
    assert u.LLM_TTFT(*args) == pytest.approx(e.ttft_s * 1000)
    assert u.LLM_THROUGHPUT(*args) == pytest.approx(e.out_tok_s_per_replica)
    assert u.LLM_MAX_BATCH(*args) == e.max_batch


def test_performance_defaults_and_empty_cells():
    from xlsizer.engine.performance import estimate

    e = estimate("llama-3.3-70b", "h100-sxm", tp=4)
    assert u.LLM_TPOT("llama-3.3-70b", "h100-sxm", 4) == pytest.approx(e.tpot_s * 1000)
    assert u.LLM_TPOT("llama-3.3-70b", "h100-sxm", 4, None, None, None, None) == pytest.approx(e.tpot_s * 1000)
    assert u.LLM_TPOT("llama-3.3-70b", "h100-sxm", 4, 0, 0, 0, 0) == pytest.approx(e.tpot_s * 1000)


def test_performance_errors():
    assert u.LLM_TPOT("llama-3.3-70b", "h100-sxn", 4).startswith("#VALUE! unknown GPU 'h100-sxn'; closest: h100-sxm")
    assert u.LLM_TPOT("llama-3.3-70b", "h100-sxm", 2.5) == "#VALUE! tp must be a whole number, got 2.5"
    msg = u.LLM_TPOT("llama-3.3-70b", "h100-sxm", 1)  # 70 GB of weights leave no KV room on one 80 GB GPU
    assert msg.startswith("#VALUE! 1x h100-sxm cannot hold llama-3.3-70b") and "\n" not in msg


def test_performance_module_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "xlsizer.engine.performance", None)
    cells.cache_clear()
    try:
        assert u.LLM_TTFT("llama-3.3-70b", "h100-sxm", 4) == (
            "#VALUE! the performance model (xlsizer.engine.performance) is not in this xlsizer build")
    finally:
        cells.cache_clear()


# --- LLM_RESULT, LLM_EXPLAIN, LLM_WARNINGS, LLM_SWEEP -----------------------------------------

def test_result_field_errors():
    assert u.LLM_RESULT(INPUTS, "vram") == "#VALUE! unknown result field 'vram'; closest: memory.vram_gb, server.ram_gb"
    assert u.LLM_RESULT(INPUTS, "memory").startswith("#VALUE! memory is a group of fields; ask for one of memory.")
    assert u.LLM_RESULT(INPUTS, None) == "#VALUE! field must be given, got nothing (the cell is empty)"
    assert u.LLM_RESULT(INPUTS, "replicas", "peak") == (
        "#VALUE! scenario must be one of baseline, burst, resilient, got 'peak'")


def test_result_list_fields_are_joined(core):
    assert u.LLM_RESULT(INPUTS, "warnings") == "; ".join(core.burst.warnings)


def test_explain_is_fixed_size_and_matches_core(core):
    t = u.LLM_EXPLAIN(INPUTS)
    assert len(t) == cells.EXPLAIN_ROWS and all(len(r) == 5 for r in t)
    assert t[0] == ["step", "value", "unit", "formula", "source"]
    steps = [s for s in core.explain() if s.scenario in ("all", "burst")]
    assert [r[0] for r in t[1: len(steps) + 1]] == [s.name for s in steps]
    vram = next(r for r in t if r[0] == "VRAM")
    assert vram[1] == pytest.approx(core.burst.memory.vram_gb) and vram[2] == "GB"
    assert t[-1] == ["", "", "", "", ""]
    assert len(u.LLM_EXPLAIN(INPUTS, "resilient")) == cells.EXPLAIN_ROWS


def test_explain_truncates_with_a_marker():
    rows = [[str(i)] * 5 for i in range(100)]
    out = cells._pad(rows, 10, 5, "steps")
    assert len(out) == 10 and out[-1][0] == "... 91 more steps"


def test_warnings_table(core):
    t = u.LLM_WARNINGS(INPUTS)
    assert len(t) == cells.WARNING_ROWS and all(len(r) == 1 for r in t)
    assert [r[0] for r in t if r[0]] == (core.burst.warnings or ["no warnings"])
    t_all = u.LLM_WARNINGS(INPUTS, "all")
    assert [r[0] for r in t_all if r[0]] == (core.warnings or ["no warnings"])
    assert u.LLM_WARNINGS(INPUTS, "peak").startswith("#VALUE! scenario must be one of")


def test_sweep_matches_core_row_by_row():
    values = [[40.0], [80.0], [None], [-1.0], [160.0]]
    t = u.LLM_SWEEP(INPUTS, "concurrent_users", values, "total_gpus")
    assert t[0] == ["concurrent_users", "total_gpus"]
    assert t[1] == [40, size({**WORKED, "concurrent_users": 40}).burst.total_gpus]
    assert t[2] == [80, size(WORKED).burst.total_gpus]
    assert t[3] == ["", ""]
    assert t[4] == [-1, "#VALUE! concurrent_users must be between 1 and 100000, got -1"]
    assert t[5] == [160, size({**WORKED, "concurrent_users": 160}).burst.total_gpus]


def test_sweep_row_of_values_default_output_and_toggles():
    t = u.LLM_SWEEP(INPUTS, "Speculative decoding", [["TRUE", "FALSE"]], None)
    assert t[0] == ["speculative_decoding", "replicas"]
    assert t[1][1] == size({**WORKED, "speculative_decoding": True}).burst.replicas
    assert t[2][1] == size(WORKED).burst.replicas
    assert u.LLM_SWEEP(INPUTS, "target_tpot_ms", 40, "replicas")[1] == [40, size(WORKED).burst.replicas]


def test_sweep_bad_output_field_fails_whole_table():
    assert u.LLM_SWEEP(INPUTS, "concurrent_users", [[1], [2]], "replicaz").startswith(
        "#VALUE! unknown result field 'replicaz'; closest: replicas")


# --- catalog ----------------------------------------------------------------------------------

def test_catalog_lists():
    from xlsizer.catalog import load_catalog

    cat = load_catalog()
    assert u.LLM_MODELS() == [[i] for i in cat.models]
    assert u.LLM_MODELS(None) == u.LLM_MODELS(0) == u.LLM_MODELS("")
    assert ["h100-sxm"] in u.LLM_GPU_LIST()
    assert all("h1" in r[0] for r in u.LLM_GPU_LIST("H1"))
    assert u.LLM_GPU_LIST("no-such-gpu-xyz") == [["(none)"]]


def test_catalog_info():
    from xlsizer.catalog import load_catalog

    g = load_catalog().gpu("h100-sxm")
    assert u.LLM_MODEL_INFO("llama-3.3-70b", "kv_heads") == 8
    assert u.LLM_MODEL_INFO("llama-3.3-70b") == load_catalog().model("llama-3.3-70b").name
    assert u.LLM_GPU_INFO("h100-sxm", "memory_gb") == g.memory_gb
    assert u.LLM_GPU_INFO("h100-sxm", "dense_tflops.fp8") == g.dense_tflops["fp8"]
    assert u.LLM_GPU_INFO("h100-sxm", "dense_tflops.fp4") == (
        "#VALUE! h100-sxm has no dense_tflops.fp4 (no hardware support for that precision)")
    assert u.LLM_GPU_INFO("h100-sxm", "memory") == (
        "#VALUE! unknown GPU field 'memory'; closest: memory_gb, memory_type, memory_bandwidth_tb_s")
    # nothing close: the first field names, whole, in one short line
    msg = u.LLM_MODEL_INFO("llama-3.3-70b", "bogus")
    assert msg.startswith("#VALUE! unknown model field 'bogus'; its fields: id, name, family, ")
    assert msg.endswith(", ...") and len(msg) < 200
    assert u.LLM_GPU_INFO("h100-sxm", "sources") == "; ".join(g.sources)
    assert u.LLM_GPU_INFO("h99", "name").startswith("#VALUE! unknown GPU 'h99'")


# --- error delivery per flavour, bugs, cache ------------------------------------------------

def test_server_lite_flavour_raises_the_message(monkeypatch):
    class XlwingsError(Exception):
        pass

    monkeypatch.setattr(cells, "_RAISE_AS", XlwingsError)
    with pytest.raises(XlwingsError, match=r"^target_tpot_ms must be between 5 and 1000, got -3$"):
        u.LLM_REPLICAS(INPUTS, "burst", "target_tpot_ms", -3)
    assert u.LLM_REPLICAS(INPUTS) == size(WORKED).burst.replicas


def test_configure_sets_and_resets(monkeypatch):
    monkeypatch.setattr(cells, "_RAISE_AS", None)
    cells.configure(raise_as=RuntimeError)
    assert cells._RAISE_AS is RuntimeError
    cells.configure()
    assert cells._RAISE_AS is None


def test_bug_becomes_generic_line_and_is_logged(monkeypatch, caplog):
    monkeypatch.setattr(cells, "STRICT", False)

    def broken(inp):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(cells, "_flat", broken)
    msg = u.LLM_REPLICAS(INPUTS)
    assert msg == cells.BUG_MESSAGE
    assert "Traceback" not in msg and "\n" not in msg
    assert "bug in xlsizer cell function" in caplog.text


def test_sixty_cells_one_sizing(monkeypatch):
    cells.cache_clear()
    calls = []
    import xlsizer.api

    real = xlsizer.api.size

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(xlsizer.api, "size", counting)
    rng = inputs_range()
    for i in range(60):
        fn = (u.LLM_REPLICAS, u.LLM_GPUS, u.LLM_SERVERS, u.LLM_POWER_KW, u.LLM_FACILITY_KW)[i % 5]
        fn([list(r) for r in rng], ("baseline", "burst", "resilient")[i % 3])
    assert len(calls) == 1


def test_every_udf_answers_empty_cells_without_a_bug():
    """None and 0 in every argument: a value or a one-line message, never an exception."""
    import inspect

    for name in u.__all__:
        f = getattr(u, name)
        n = len(inspect.signature(f).parameters)
        for empty in (None, 0):
            out = f(*[empty] * n)
            if isinstance(out, str):
                assert "\n" not in out and "Traceback" not in out, name


def test_per_replica_plan_fields_read_na_without_the_roofline_model():
    assert u.LLM_RESULT([["throughput_source", "course-table"]], "perf.batch") == "n/a"
    assert isinstance(u.LLM_RESULT([["throughput_source", "roofline"]], "perf.batch"), int | float)


def test_perf_functions_refuse_a_tp_that_splits_heads_unevenly():
    assert u.LLM_TPOT("llama-3.3-70b", "h100", 3) == (
        "#VALUE! tp must be a size that splits llama-3.3-70b's heads evenly (1, 2, 4, 8 in a node), got 3 "
        "(its 64 attention heads do not split evenly over 3 GPUs)")
    assert u.LLM_MAX_BATCH("qwen2.5-7b", "h100", 8).startswith(
        "#VALUE! tp must be a size that splits qwen2.5-7b's heads evenly (1, 2, 4 in a node), got 8")
    assert isinstance(u.LLM_TPOT("phi-4", "h100", 2), float)
