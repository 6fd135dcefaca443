"""Regression tests for issue 24's fuzzing of the Excel functions' cache and message sizes, the
command line's error lines, and project names that make no file name."""

from __future__ import annotations

import importlib
import inspect
import math

import pytest

import xlsizer
from xlsizer import cells
from xlsizer.cli import main
from xlsizer.errors import LINE_MAX, LINE_WORD_MAX, InputError, XlsizerError, one_line
from xlsizer.inputs import SizingInputs

udfs = importlib.import_module("xlsizer_udfs")
INPUTS = [["model", "llama-3.1-8b"], ["concurrent_users", 100]]
EXCEL_CELL_MAX = 32_767
"""Most characters an Excel cell holds (Excel specifications and limits)."""


# --- the UDF cache: TRUE is not 1, FALSE is not 0 --------------------------------------------

@pytest.mark.parametrize(("field", "true_like", "number"), [
    ("gpu_per_node", True, 1),
    ("max_total_gpus", True, 1),
    ("maintenance_pct_per_year", False, 0),
])
def test_a_cells_answer_does_not_depend_on_calculation_order(field, true_like, number):
    """Before: TRUE and 1 (FALSE and 0) shared a cache entry, so `=LLM_GPUS(Inputs,,"gpu_per_node",TRUE)`
    gave the number sized for 1 when a cell with 1 was calculated first, and an error otherwise."""
    answers = []
    for order in ((number, true_like), (true_like, number)):
        cells.cache_clear()
        got = {repr(v): udfs.LLM_GPUS(INPUTS, "burst", field, v) for v in order}
        answers.append(got)
    assert answers[0] == answers[1]
    assert str(answers[0][repr(true_like)]).startswith("#VALUE!")  # a toggle is not a number here


# --- error texts stay within a cell ----------------------------------------------------------

def _texts(value):
    if isinstance(value, list | tuple):
        for v in value:
            yield from _texts(v)
    elif isinstance(value, str):
        yield value


def _calls():
    big = "q" * 40_000  # more than a cell can hold: a formula can build it (REPT) or a range pass it
    for name in sorted(n for n in dir(udfs) if n.isupper() and callable(getattr(udfs, n))
                       and n not in ("CATEGORY", "PAIRS")):
        params = list(inspect.signature(getattr(udfs, name)).parameters)
        base = {"model": "llama-3.1-8b", "gpu": "h100-sxm", "inputs": INPUTS, "field": "replicas", "users": 100,
                "rpm": 2, "output_tokens": 100, "tpot_ms": 50, "tokens": 100, "values": [[1], [2]]}
        for p in params:
            if p == "inputs" or (p.startswith("name") and p != "name1"):
                continue
            kw = {k: base[k] for k in params if k in base}
            kw[p] = big
            if p == "name1":  # an override name whose value holds an error: the message names it
                kw["value1"] = "#N/A"
            yield pytest.param(name, kw, id=f"{name}-{p}")
        if "inputs" in params:
            kw = {k: base[k] for k in params if k in base}
            kw["inputs"] = [*INPUTS, [big, "#N/A"]]
            yield pytest.param(name, kw, id=f"{name}-inputs-name")
    yield pytest.param("LLM_GPU_INFO", {"gpu": "h100-sxm", "field": "dense_tflops." + big}, id="gpu-info-tflops")


@pytest.mark.parametrize(("name", "kwargs"), list(_calls()))
def test_error_texts_fit_a_cell(name, kwargs):
    """Before: the offending name was echoed whole (40,035 characters for a 40,000-character
    name), beyond Excel's 32,767-character cell limit."""
    out = getattr(udfs, name)(**kwargs)
    for text in _texts(out):
        assert len(text) <= cells.MESSAGE_MAX < EXCEL_CELL_MAX, (name, len(text), text[:120])


def test_the_last_guard_bounds_any_message():
    assert len(cells._fail("#VALUE!", "x " * 50_000)) <= cells.MESSAGE_MAX + len("#VALUE! ")


# --- command-line error lines are bounded ----------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["catalog", "remove", "z" * 100_000],
    ["size", "--inputs", "z" * 5_000],
    ["z" * 100_000],
    ["catalog", "add-model", "z" * 5_000],
], ids=["remove", "inputs", "command", "add-model"])
def test_cli_error_lines_do_not_echo_huge_input(argv, capsys):
    """Before: the line echoed the argument whole (100,000 characters and more)."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own errors exit from parse_args
        rc = exc.code
    assert rc == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("xlsizer: error: ") and len(line) <= len("xlsizer: error: ") + LINE_MAX
    assert "... (" in line and "characters)" in line  # cut with an ellipsis that says how long it was


def test_one_line_keeps_the_reason_after_a_long_word():
    line = one_line(f"{'p' * 5000}: file not found")
    assert line.endswith("(5,001 characters) file not found") and len(line) < LINE_WORD_MAX + 40


def test_one_line_names_a_long_path_whole():
    """A path as long as Windows allows is shown whole: the error must name the file."""
    path = "/tmp/" + "d" * 200 + "/budget-report.xlsx"
    assert one_line(f"{path}: exists and is not a report xlsizer wrote") == (
        f"{path}: exists and is not a report xlsizer wrote")


# --- project names that make no file name ----------------------------------------------------

@pytest.mark.parametrize("name", ["..", ".", "...", "!!!", " - ", "con", "NUL", "lpt1.old"])
def test_new_project_refuses_names_that_make_no_file(tmp_path, capsys, name):
    """Before: `new-project ".."` wrote "...xlsx" (which report and freeze cannot read) and
    "!!!" silently became project.xlsx."""
    assert main(["new-project", name, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xlsizer: error: the project name") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # refused before anything was made


def test_new_project_refuses_a_name_no_title_can_hold(tmp_path, capsys):
    assert main(["new-project", "x" * 100_000, "--out", str(tmp_path)]) == 2
    assert "at most 255" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("name", "file"), [
    ("Bank assistant", "Bank-assistant.xlsx"),
    ("Projet été", "Projet-été.xlsx"),
    ("项目", "项目.xlsx"),
    ("..hidden..", "hidden.xlsx"),
    ("v1.2 pilot", "v1.2-pilot.xlsx"),
    ("plan.xlsx", "plan.xlsx"),  # the file name a user types: not plan.xlsx.xlsx
    ("Bank Bot.XLSX", "Bank-Bot.xlsx"),
    (".xlsx", "xlsx.xlsx"),  # nothing but the extension: the name itself
])
def test_new_project_file_names(tmp_path, capsys, name, file):
    assert main(["new-project", name, "--out", str(tmp_path)]) == 0, capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == [file]


def test_new_project_title_leaves_out_the_extension_typed(tmp_path):
    from xlsizer.workbook.project import read_project

    assert main(["new-project", "Pilot plan.xlsx", "--out", str(tmp_path)]) == 0
    assert read_project(tmp_path / "Pilot-plan.xlsx").name == "Pilot plan"


# --- hostile numbers at the sizing's boundary (2026-12-08) --------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("hours_per_month", 10 ** 400),  # a JSON project's integer past a float's range: OverflowError
    ("gpu_purchase_price", 10 ** 400),
    ("lora_traffic_split", 10 ** 400),
    ("throughput_override", 1e-320),  # demand / a denormal rate: an infinite replica count
])
def test_a_number_past_what_a_float_holds_is_an_input_error(field, value):
    """Fuzzing every input with hostile values: these stopped `xlsizer size --inputs project.json`
    with "internal error" instead of naming the field."""
    with pytest.raises(InputError) as exc:
        xlsizer.size(**{field: value})
    assert field in str(exc.value)


def test_a_length_spread_too_small_to_square_is_no_spread():
    """length_cv 1e-320 squared underflows to 0: its lognormal had no width and divided by zero.
    It is now fixed lengths, as 0 is."""
    tiny, none = xlsizer.size(length_cv=1e-320), xlsizer.size(length_cv=0)
    assert [s.total_gpus for s in tiny.scenarios.values()] == [s.total_gpus for s in none.scenarios.values()]


HOSTILE = (0, -1, 0.5, 1e308, 10 ** 400, 1e-320, math.nan, math.inf, "abc", "", None, True, [1, 2], {"a": 1})


def test_every_input_with_a_hostile_value_is_an_answer_or_a_named_error():
    """Each input of size() set alone to each hostile value: an answer, or an XlsizerError (a cell's
    one-line error, a batch's reason), never another exception (found: 11 of 1,633, 2026-12-08)."""
    escapes = []
    for field in SizingInputs.model_fields:
        for value in HOSTILE:
            try:
                xlsizer.size(**{field: value}).explain()
            except XlsizerError:
                pass
            except Exception as exc:  # what the test looks for
                escapes.append(f"{field}={value!r:.20}: {type(exc).__name__}: {exc}")
    assert escapes == []
