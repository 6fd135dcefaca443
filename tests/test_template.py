"""The template and the example workbooks: content is reproducible, and every workbook
recalculates end to end in the ``formulas`` engine with the real Excel functions registered,
giving the core's numbers."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from xlsizer import make_inputs, size
from xlsizer.inputs import SizingInputs
from xlsizer.workbook.checklist import CHECKLIST, SECTIONS
from xlsizer.workbook.examples import EXAMPLES, EXAMPLES_DIR
from xlsizer.workbook.template import (
    EXPLAIN_COLS,
    EXPLAIN_ROWS,
    HEADLINE_CELL,
    INPUTS_NAME,
    SCENARIO_COLS,
    SHEET_ADVANCED,
    SHEET_COSTS,
    SHEET_INPUTS,
    UDF_MODULE,
    WARNINGS_ROWS,
    field_infos,
    results_layout,
    write_template,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbooks" / "xlsizer-template.xlsx"
WORKBOOKS = [TEMPLATE] + [EXAMPLES_DIR / f"{e.slug}.xlsx" for e in EXAMPLES]

formulas = pytest.importorskip("formulas")


def content(path: Path) -> dict:
    """Everything that matters in a workbook, comparable: values/formulas, names, validations."""
    wb = load_workbook(path)
    out: dict = {"sheets": wb.sheetnames,
                 "names": {n: d.attr_text for n, d in wb.defined_names.items()}}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula):
                    v = ("array", v.ref, v.text)
                if v is not None:
                    cells[c.coordinate] = v
        out[ws.title] = cells
        out[ws.title + ":dv"] = sorted((str(d.sqref), d.type, d.formula1, d.formula2)
                                       for d in ws.data_validations.dataValidation)
        out[ws.title + ":protected"] = ws.protection.sheet
    return out


def test_committed_template_is_current(tmp_path):
    fresh = write_template(tmp_path / "t.xlsx")
    assert content(fresh) == content(TEMPLATE), "run: xlsizer template (and commit workbooks/)"


def test_committed_examples_are_current(tmp_path):
    from xlsizer.workbook.examples import write_examples

    for fresh in write_examples(tmp_path):
        assert content(fresh) == content(EXAMPLES_DIR / fresh.name), f"run: xlsizer examples ({fresh.name})"


def test_byte_stable(tmp_path):
    a = write_template(tmp_path / "a.xlsx").read_bytes()
    b = write_template(tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_every_field_is_a_named_input_cell_grouped_by_step():
    wb = load_workbook(TEMPLATE)
    fields = field_infos()
    assert [f.name for f in fields] == list(SizingInputs.model_fields)
    names_in_range = []
    dest = next(iter(wb.defined_names[INPUTS_NAME].destinations))
    assert dest[0] == SHEET_INPUTS
    for row in wb[SHEET_INPUTS][dest[1].replace("$", "")]:
        assert len(row) == 2, "Inputs is one two-column range"
        names_in_range.append(row[0].value)
    assert sorted(names_in_range) == sorted(SizingInputs.model_fields)
    for f in fields:
        sheet, ref = next(iter(wb.defined_names[f.name].destinations))
        expected_sheet = (SHEET_ADVANCED if f.step.startswith("6") else SHEET_COSTS if f.step.startswith("8")
                          else SHEET_INPUTS)
        assert sheet == expected_sheet, f.name
        cell = wb[sheet][ref.replace("$", "")]
        assert cell.protection.locked is False, f"{f.name} input cell must be unlocked"
        assert cell.fill.fgColor.rgb.endswith("FFF2CC")
        row = cell.row
        ws = wb[sheet]
        assert ws.cell(row, 2).value == f.name
        assert ws.cell(row, 7).value == f.owner and f.owner
        assert ws.cell(row, 8).value == f.moves
        if f.kind == "bool":
            assert isinstance(cell.value, bool)
            dvs = [d for d in ws.data_validations.dataValidation if cell.coordinate in d.sqref]
            assert dvs and dvs[0].formula1 == '"TRUE,FALSE"'
        if f.name in ("model", "gpu"):
            dvs = [d for d in ws.data_validations.dataValidation if cell.coordinate in d.sqref]
            assert dvs and dvs[0].formula1 in ("=list_models", "=list_gpus")
    assert all(wb[s].protection.sheet for s in wb.sheetnames if s != "xlwings.conf")
    conf = wb["xlwings.conf"]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", UDF_MODULE)


def test_formula_cells_are_locked_and_coloured():
    wb = load_workbook(TEMPLATE)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if (isinstance(c.value, str) and c.value.startswith("=")) or isinstance(c.value, ArrayFormula):
                    assert c.protection.locked, f"{ws.title}!{c.coordinate}"
                    assert c.fill.fgColor.rgb[-6:] in ("DDEBF7", "EDEDED"), f"{ws.title}!{c.coordinate}"


def test_checklist_holds_course_section_7_entire():
    counts = {s: sum(1 for c in CHECKLIST if c.section == s) for s in SECTIONS}
    assert counts["Eight questions for the AI team"] == 8
    assert counts["Questions the AI team will ask back"] == 3
    assert counts["Five red flags"] == 5
    assert counts["What done looks like"] == 3
    owners = {c.owner for c in CHECKLIST if c.section == "Owners and decisions"}
    assert {"Application owner", "AI team", "IT team"} <= owners


# --- recalculation in the formulas engine ------------------------------------------------------
def _flat(obj, prefix="", out=None):
    out = {} if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flat(v, f"{prefix}.{k}" if prefix else k, out)
    else:
        out[prefix] = obj
    return out


def _same(got, want) -> bool:
    if isinstance(want, (bool, str)):
        return got == want
    if isinstance(want, int | float):
        return isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return got == want


def check_against_core(values: dict, inputs: SizingInputs, label: str) -> None:
    result = size(inputs)
    j = result.to_json()
    lay = results_layout()
    assert values[f"RESULTS!{HEADLINE_CELL}"] == result.headline
    assert values["START!B6"] == result.headline
    for row, r in lay["rows"] + lay["waterfall"]:
        for sc, col in SCENARIO_COLS.items():
            ref = f"RESULTS!{'ABCDEF'[col - 1]}{row}"
            got = values[ref]
            assert got is not None and not (isinstance(got, str) and got.startswith("#")), f"{label} {ref}: {got}"
            want = _flat(j["scenarios"][sc]).get(r.field)
            assert _same(got, want), f"{label} {ref} {r.field} {sc}: workbook {got!r}, core {want!r}"
    first = lay["warnings_first"]
    for sc, col in SCENARIO_COLS.items():
        letter = "ABCDEF"[col - 1]
        got = [values[f"RESULTS!{letter}{first + i}"] for i in range(WARNINGS_ROWS)]
        want = list(result.scenarios[sc].warnings) or ["no warnings"]
        assert [g for g in got if g] == want[:WARNINGS_ROWS], f"{label} warnings {sc}"
    ef = lay["explain_first"]
    table = [[values[f"RESULTS!{'ABCDE'[c]}{ef + r}"] for c in range(EXPLAIN_COLS)] for r in range(EXPLAIN_ROWS)]
    assert table[0] == ["step", "value", "unit", "formula", "source"]
    steps = [s for s in result.explain() if s.scenario in ("all", "burst")]
    assert [row[0] for row in table[1:1 + len(steps)]] == [s.name for s in steps][:EXPLAIN_ROWS - 1]
    assert not any(isinstance(v, str) and v.startswith("#") for row in table for v in row), label


TIMINGS: dict[str, float] = {}


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: p.stem)
def test_recalculates_to_the_cores_answer(path):
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.recalc import calculate

    t = time.perf_counter()
    values = calculate(path)
    TIMINGS[path.stem] = time.perf_counter() - t
    check_against_core(values, read_project(path).inputs, path.stem)
    # the checklist's native completion formulas
    proj = read_project(path)
    n = len(proj.checklist)
    done = sum(1 for c in proj.checklist if c.status == "done")
    na = sum(1 for c in proj.checklist if c.status == "n/a")
    prog = sum(1 for c in proj.checklist if c.status == "in progress")
    assert values["CHECKLIST!B4"] == n
    assert values["CHECKLIST!B5"] == done
    assert values["CHECKLIST!B6"] == prog
    assert values["CHECKLIST!B7"] == na
    assert values["CHECKLIST!B8"] == n - done - na - prog
    assert math.isclose(values["CHECKLIST!B9"], done / (n - na) if n - na else 0)
    for i, sec in enumerate(SECTIONS, start=4):
        assert values[f"CHECKLIST!E{i}"] == sum(1 for c in proj.checklist if c.section == sec and c.status == "done")
        assert values[f"CHECKLIST!F{i}"] == sum(1 for c in proj.checklist if c.section == sec)


def test_changing_an_input_cell_changes_the_results():
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.recalc import calculate

    path = EXAMPLES_DIR / "course-worked-example.xlsx"
    proj = read_project(path)
    users_cell = proj.cells["concurrent_users"]
    base = calculate(path)
    what_if = calculate(path, {users_cell: 300})
    lay = results_layout()
    replicas_row = lay["rows"][0][0]
    assert what_if[f"RESULTS!D{replicas_row}"] > base[f"RESULTS!D{replicas_row}"]
    new_inputs = make_inputs({**proj.inputs.model_dump(exclude_unset=True), "concurrent_users": 300})
    check_against_core(what_if, new_inputs, "what-if 300 users")


def test_toggle_on_advanced_sheet_flows_through_the_mirror():
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.recalc import calculate

    path = EXAMPLES_DIR / "course-worked-example.xlsx"
    proj = read_project(path)
    cell = proj.cells["speculative_decoding"]
    assert cell.startswith(SHEET_ADVANCED)
    what_if = calculate(path, {cell: True})
    new_inputs = make_inputs({**proj.inputs.model_dump(exclude_unset=True), "speculative_decoding": True})
    check_against_core(what_if, new_inputs, "speculative decoding on")


def test_report_recalculation_time():
    print("recalculation seconds per workbook:", {k: round(v, 2) for k, v in TIMINGS.items()})
