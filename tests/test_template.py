"""The template and the example workbooks: content is reproducible, and every workbook
recalculates end to end in the ``formulas`` engine with the real Excel functions registered,
giving the core's numbers."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from xlsizer import make_inputs, size
from xlsizer.inputs import SizingInputs
from xlsizer.workbook import form
from xlsizer.workbook.checklist import CHECKLIST, SECTIONS
from xlsizer.workbook.examples import EXAMPLES, EXAMPLES_DIR
from xlsizer.workbook.stored import stored_values
from xlsizer.workbook.template import (
    EXPLAIN_COLS,
    EXPLAIN_ROWS,
    HEADLINE_CELL,
    IN_FORCE_COL,
    INPUTS_NAME,
    LABEL_COL,
    NAME_COL,
    OWNER_COL,
    SCENARIO_COLS,
    SHEET_INPUTS,
    UDF_MODULE,
    VALUE_COL,
    WARNINGS_ROWS,
    build_workbook,
    field_infos,
    inputs_layout,
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
    assert content(fresh) == content(TEMPLATE), "run: xlsizer template --force (and commit workbooks/)"


def test_committed_examples_are_current(tmp_path):
    from xlsizer.workbook.examples import write_examples

    for fresh in write_examples(tmp_path):
        assert content(fresh) == content(EXAMPLES_DIR / fresh.name), f"run: xlsizer examples --force ({fresh.name})"


def test_byte_stable(tmp_path):
    a = write_template(tmp_path / "a.xlsx").read_bytes()
    b = write_template(tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_every_field_is_a_named_input_cell_on_the_form():
    wb = load_workbook(TEMPLATE)
    fields = field_infos()
    assert [f.name for f in fields] == list(SizingInputs.model_fields)
    names_in_range = []
    dest = next(iter(wb.defined_names[INPUTS_NAME].destinations))
    assert dest[0] == SHEET_INPUTS
    for row in wb[SHEET_INPUTS][dest[1].replace("$", "")]:
        assert len(row) == 2, "Inputs is one two-column range"
        if row[0].value is not None:
            names_in_range.append(row[0].value)
    assert sorted(names_in_range) == sorted(SizingInputs.model_fields), "each input once in the range"
    ws = wb[SHEET_INPUTS]
    for f in fields:
        sheet, ref = next(iter(wb.defined_names[f.name].destinations))
        assert sheet == SHEET_INPUTS, f"{f.name}: one form, one sheet"
        cell = ws[ref.replace("$", "")]
        assert cell.column == VALUE_COL
        assert cell.protection.locked is False, f"{f.name} input cell must be unlocked"
        assert cell.fill.fgColor.rgb.endswith("FFF2CC")
        row = cell.row
        assert ws.cell(row, NAME_COL).value == f.name
        assert ws.cell(row, NAME_COL).font.sz < (ws.cell(row, LABEL_COL).font.sz or 11), "the field name is small"
        assert ws.cell(row, LABEL_COL).value == form.label(f.name)
        assert ws.cell(row, OWNER_COL).value == f.owner and f.owner
        in_force = ws.cell(row, IN_FORCE_COL).value
        assert isinstance(in_force, str) and in_force.startswith("=IF(") and cell.coordinate in in_force, f.name
        if f.kind == "bool":
            assert isinstance(cell.value, bool)
    assert all(wb[s].protection.sheet for s in wb.sheetnames if s != "xlwings.conf")
    conf = wb["xlwings.conf"]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", UDF_MODULE)


SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def test_no_input_label_is_a_bare_snake_case_name():
    assert set(form.LABELS) == set(SizingInputs.model_fields), "every input has a written label"
    labels = list(form.LABELS.values())
    assert len(set(labels)) == len(labels), "labels are unique"
    ws = load_workbook(TEMPLATE)[SHEET_INPUTS]
    lay = inputs_layout()
    for name, row in lay.rows.items():
        label = ws.cell(row, LABEL_COL).value
        assert label and not SNAKE.match(label) and label != name, f"{name}: label {label!r}"
        assert label[0].isupper(), f"{name}: {label!r} reads as a label"


def _list_values(wb, formula1: str) -> list[str]:
    """The values a list validation offers: a literal list, or the cells of a defined name."""
    if formula1.startswith('"'):
        return formula1.strip('"').split(",")
    sheet, ref = next(iter(wb.defined_names[formula1.lstrip("=")].destinations))
    return [str(c.value) for row in wb[sheet][ref.replace("$", "")] for c in row if c.value is not None]


def test_every_choice_input_has_a_list_validation_of_its_valid_values():
    from xlsizer.catalog import load_catalog

    wb = load_workbook(TEMPLATE)
    ws = wb[SHEET_INPUTS]
    cat = load_catalog()
    choice = [f for f in field_infos() if f.options or f.list_name]
    # every bool, enum and literal field, and the free-text fields with a set of usual values
    assert {"model", "gpu", "precision", "kv_cache_dtype", "compute_precision", "pricing_model", "currency",
            "spec_draft_model", "lora_traffic_split", "workload_type", "redundancy_mode", "serving_engine",
            "model_architecture", "throughput_source", "prefix_caching"} <= {f.name for f in choice}
    expected = {"model": {*cat.models, "custom"}, "gpu": {"auto", *cat.gpus, "custom"},
                "spec_draft_model": set(cat.models), "pricing_model": {"cloud", "on-prem"}}
    closed = [f for f in field_infos() if SizingInputs.model_fields[f.name].annotation is bool
              or any(k in str(SizingInputs.model_fields[f.name].annotation).lower() for k in ("literal", "enum"))]
    assert len(closed) >= 15
    for f in closed:
        assert f in choice, f"{f.name} is a choice input"
    for f in choice:
        cell = ws[next(iter(wb.defined_names[f.name].destinations))[1].replace("$", "")]
        dvs = [d for d in ws.data_validations.dataValidation if cell.coordinate in d.sqref]
        assert len(dvs) == 1 and dvs[0].type == "list", f.name
        offered = _list_values(wb, dvs[0].formula1)
        assert "valid" not in f.allowed.lower().split(), f"{f.name}: choices say what is valid, not 'valid'"
        if f.name in expected:
            assert set(offered) == expected[f.name], f.name
        elif f.options:
            assert offered == list(f.options), f.name
        for v in offered:     # every offered value is accepted by the inputs model
            if v in ("custom", "TRUE", "FALSE"):
                continue
            make_inputs({f.name: v, **({"lora_variants": len(v.split(","))} if "," in v else {}),
                         **({"arrival_scv": 4} if v == "bursty" else {})})  # bursty states its variability


def test_row_heights_fit_their_text():
    """Every wrapped text on the form fits its row at the measured density of the LibreOffice
    render (1.2 characters per width unit, 1.07 bold; 13 pt per line of 11-pt text)."""
    import textwrap

    from openpyxl.utils import get_column_letter

    wb = build_workbook(EXAMPLES[0].values, EXAMPLES[0].checklist(), EXAMPLES[0].name, EXAMPLES[0].notes)
    results = {ref: v for (sheet, ref), v in stored_values(wb).items() if sheet == SHEET_INPUTS}
    for ws in (wb[SHEET_INPUTS], wb["Start"], wb["Checklist"]):
        merged = {(r.min_row, r.min_col): sum(ws.column_dimensions[get_column_letter(c)].width
                                              for c in range(r.min_col, r.max_col + 1))
                  for r in ws.merged_cells.ranges}
        checked = 0
        for row in ws.iter_rows():
            for c in row:
                text = results.get(c.coordinate, c.value) if ws.title == SHEET_INPUTS else c.value
                if not (isinstance(text, str) and c.alignment.wrap_text) or text.startswith("="):
                    continue
                width = merged.get((c.row, c.column), ws.column_dimensions[get_column_letter(c.column)].width)
                per_line = int(width * (1.07 if c.font.b else 1.2) * 11 / (c.font.sz or 11))
                lines = sum(max(1, len(textwrap.wrap(p, per_line))) for p in text.split("\n"))
                height = ws.row_dimensions[c.row].height or 15
                assert height >= lines * 13 * (c.font.sz or 11) / 11, f"{ws.title}!{c.coordinate}: {text[:50]!r}"
                checked += 1
        assert checked > (5 if ws.title == "Start" else 20), ws.title


def test_form_follows_the_sizers_steps_in_order():
    ws = load_workbook(TEMPLATE)[SHEET_INPUTS]
    lay = inputs_layout()
    headings = [(r, ws.cell(r, LABEL_COL).value) for r in range(1, ws.max_row + 1)
                if isinstance(ws.cell(r, LABEL_COL).value, str) and ws.cell(r, LABEL_COL).value.startswith("Step ")]
    assert [int(h.split()[1]) for _, h in headings] == [1, 2, 3, 4, 5, 6, 7]
    assert [h.split(None, 2)[2] for _, h in headings][:5] == ["Workload", "Model", "Traffic", "SLOs",
                                                               "Reliability and hardware"]
    assert headings[-1][1].endswith("Review")
    bounds = [r for r, _ in headings]
    for step in form.form_steps():
        first, nxt = bounds[step.number - 1], bounds[step.number]
        for name in step.fields:
            assert first < lay.rows[name] < nxt, f"{name} sits in step {step.number}"
    # the course's inputs in the course's order (course.md §10.1)
    course = ["workload_type", "model", "precision", "concurrent_users",
              "requests_per_user_per_minute", "avg_prompt_tokens", "avg_output_tokens", "max_context_tokens",
              "target_ttft_ms", "target_tpot_ms", "burst_factor", "redundancy_mode", "serving_engine",
              "throughput_override", "prefix_caching", "speculative_decoding", "kv_offload"]
    rows = [lay.rows[n] for n in course]
    assert rows == sorted(rows)
    assert lay.last_input_row < bounds[-1], "Review comes after every input"
    # step labels are never cut: each heading spans the whole form width
    for r, _ in headings:
        assert any(m.min_row == r and m.min_col == 1 and m.max_col == 9 for m in ws.merged_cells.ranges)


def test_review_block_shows_the_answer():
    e = EXAMPLES[0]
    wb = build_workbook(e.values, e.checklist(), e.name, e.notes)
    ws = wb[SHEET_INPUTS]
    stored = stored_values(wb)
    rv = inputs_layout().review
    result = size(make_inputs(e.values))
    head = ws.cell(rv["headline"], NAME_COL).coordinate
    assert ws[head].value == '=LLM_RESULT(Inputs,"headline")' and stored[(SHEET_INPUTS, head)] == result.headline
    labels = {ws.cell(r, LABEL_COL).value: r for r in rv["scenario_rows"]}
    for sc, col in SCENARIO_COLS.items():
        ref = ws.cell(labels["GPUs"], col).coordinate
        assert ws[ref].value == f'=LLM_RESULT(Inputs,"total_gpus","{sc}")'
        assert stored[(SHEET_INPUTS, ref)] == result.scenarios[sc].total_gpus
    cost_unit = ws.cell(labels["Cost per month"], NAME_COL).coordinate
    assert stored[(SHEET_INPUTS, cost_unit)] == "USD per month"
    conf = [stored[(SHEET_INPUTS, ws.cell(rv["confidence"], c).coordinate)] for c in (3, 4)]
    assert conf[0] < 0 < conf[1]
    cpu = ws.cell(rv["server_rows"][1], VALUE_COL).coordinate
    assert stored[(SHEET_INPUTS, cpu)] == result.scenarios["burst"].server.cpu
    warn = stored[(SHEET_INPUTS, ws.cell(rv["warnings"], NAME_COL).coordinate)]
    assert warn.split("\n") == (list(result.scenarios["burst"].warnings) or ["no warnings"])


@pytest.mark.parametrize(("values", "field", "want"), [
    ({"gpu": "h100-sxm"}, "cloud_price_per_gpu_hour", "catalog h100-sxm cloud"),
    ({"gpu": "h100-sxm", "cloud_price_per_gpu_hour": 2.5}, "cloud_price_per_gpu_hour", 2.5),
    ({"workload_type": "interactive_chat"}, "target_ttft_ms", 500),
    ({"workload_type": "batch"}, "target_tpot_ms", 100),
    ({}, "gpu", "chosen"),
    ({"burst_factor": 4}, "expected_utilization", 0.25),
    ({"gpu": "h200-sxm"}, "server_purchase_price", 90000),
    ({"gpu": "l40s"}, "gpu_memory_gb", "not used"),
    ({}, "parameter_count_b", 70),
])
def test_in_force_shows_what_an_empty_cell_means(values, field, want):
    from xlsizer.catalog import load_catalog

    wb = build_workbook(values)
    ws = wb[SHEET_INPUTS]
    row = inputs_layout().rows[field]
    ref = ws.cell(row, IN_FORCE_COL).coordinate
    got = stored_values(wb)[(SHEET_INPUTS, ref)]
    if want == "catalog h100-sxm cloud":
        want = load_catalog().gpu("h100-sxm").cloud_price_per_gpu_hour.typical
        assert "LLM_GPU_INFO" in ws[ref].value
    if want == "chosen":
        want = size(make_inputs(values)).scenarios["burst"].gpu
    assert got == want


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


def check_stored_values(values: dict, wb, label: str) -> int:
    """Every formula's stored result equals what the formulas engine computes from the file."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    n = 0
    for (sheet, ref), want in stored_values(wb).items():
        if ":" in ref:
            c1, r1, _, _ = range_boundaries(ref)
            cells = [(f"{get_column_letter(c1 + j)}{r1 + i}", v)
                     for i, row in enumerate(want) for j, v in enumerate(row)]
        else:
            cells = [(ref, want)]
        for cell, w in cells:
            got = values.get(f"{sheet.upper()}!{cell}")
            assert _same(got, w) or (w == "" and got in ("", None)), \
                f"{label} {sheet}!{cell}: file {got!r}, stored {w!r}"
            n += 1
    return n


TIMINGS: dict[str, float] = {}


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: p.stem)
def test_recalculates_to_the_cores_answer(path):
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.recalc import calculate

    t = time.perf_counter()
    values = calculate(path)
    TIMINGS[path.stem] = time.perf_counter() - t
    check_against_core(values, read_project(path).inputs, path.stem)
    proj = read_project(path)
    wb = build_workbook(proj.inputs.model_dump(exclude_unset=True), proj.checklist, proj.name, proj.notes)
    assert check_stored_values(values, wb, path.stem) > 500
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
        assert values[f"CHECKLIST!F{i}"] == sum(1 for c in proj.checklist if c.section == sec and c.status == "done")
        assert values[f"CHECKLIST!G{i}"] == sum(1 for c in proj.checklist if c.section == sec)


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


def test_advanced_toggle_flows_through_the_inputs_range():
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.recalc import calculate

    path = EXAMPLES_DIR / "course-worked-example.xlsx"
    proj = read_project(path)
    cell = proj.cells["speculative_decoding"]
    assert cell.startswith(SHEET_INPUTS)
    what_if = calculate(path, {cell: True})
    new_inputs = make_inputs({**proj.inputs.model_dump(exclude_unset=True), "speculative_decoding": True})
    check_against_core(what_if, new_inputs, "speculative decoding on")


def test_report_recalculation_time():
    print("recalculation seconds per workbook:", {k: round(v, 2) for k, v in TIMINGS.items()})


def test_results_headline_and_columns_print_readably(tmp_path):
    """Issue 24 item 6: the Results headline wraps over the table's width in a row tall enough
    for it (one unwrapped line made fit-to-width print the page tiny); the field column is
    left-aligned with an indent, so the Resilient value beside it never touches it ("6replicas");
    the sheet prints landscape, one page wide. Checked on the saved file."""
    from openpyxl.utils import get_column_letter

    from xlsizer.workbook.styles import LINE_PT, text_lines

    e = EXAMPLES[0]
    path = tmp_path / "p.xlsx"
    write_template(path, values=e.values, checklist=e.checklist(), name=e.name)  # saved with its results
    wb = load_workbook(path)
    ws = wb["Results"]
    head = ws[HEADLINE_CELL]
    assert head.alignment.wrap_text and head.alignment.vertical == "top"
    span = next(r for r in ws.merged_cells.ranges if r.min_row == head.row and r.min_col == head.column)
    assert get_column_letter(span.max_col) == "F"  # across Unit .. Field, the table's width
    width = sum(ws.column_dimensions[get_column_letter(c)].width for c in range(span.min_col, span.max_col + 1))
    headline = size(make_inputs(e.values)).headline
    assert ws.row_dimensions[head.row].height >= text_lines(headline, width - 1) * LINE_PT
    assert ws.row_dimensions[head.row].height >= 4 * LINE_PT  # room for a longer sentence after recalculation
    lay = results_layout()
    values = load_workbook(path, data_only=True)["Results"]  # the results stored in the file
    checked = 0
    for row, _ in lay["rows"]:
        f = ws.cell(row, 6).alignment
        assert f.horizontal == "left" and f.indent >= 1, row
        assert ws.cell(row, SCENARIO_COLS["resilient"]).alignment.horizontal == "right"
        for col in SCENARIO_COLS.values():  # a number never outgrows its column (it would print ###)
            c = ws.cell(row, col)
            v = values.cell(row, col).value
            if isinstance(v, int | float) and not isinstance(v, bool):
                assert len(f"{v:,.3f}") + 2 <= ws.column_dimensions[get_column_letter(col)].width, c.coordinate
                checked += 1
            elif isinstance(v, str):
                assert c.alignment.wrap_text, c.coordinate  # text wraps inside its column
    assert checked > 60
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
