"""Stored results (issue 13): every formula cell of every workbook xlsizer writes carries the
value the formula computes, so the file shows numbers where the add-in is missing.

The committed template and examples are checked cell by cell three ways: openpyxl
``data_only=True`` finds a stored value in every formula cell (array ranges included); that
value equals what the ``formulas`` engine computes from the file (Excel built-ins evaluated by
the engine, the xlsizer functions by the UDF module); the results equal the core's answer.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from xlsizer import size
from xlsizer.workbook import stored
from xlsizer.workbook.examples import EXAMPLES, EXAMPLES_DIR
from xlsizer.workbook.project import read_project
from xlsizer.workbook.stored import put_array, put_formula, save_with_values
from xlsizer.workbook.template import HEADLINE_CELL, SCENARIO_COLS, results_layout
from xlsizer.workbook.values import counta, countif, countifs, excel_sum, if_blank, range_values, udf

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbooks" / "xlsizer-template.xlsx"
WORKBOOKS = [TEMPLATE] + [EXAMPLES_DIR / f"{e.slug}.xlsx" for e in EXAMPLES]
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
C_TAG = f"{{{NS['m']}}}c"


# --- the mechanism ------------------------------------------------------------------------------
def _small(tmp_path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "It's A Sheet"  # a quote and spaces in the title
    ws["A1"] = 3
    put_formula(ws, "B1", "=A1*2", 6)
    put_formula(ws, "B2", '=IF(A1>1,"big","")', "big")
    put_formula(ws, "B3", "=A1>1", True)
    put_formula(ws, "B4", "=NA()", "#N/A")
    put_formula(ws, "B5", '=""', "")
    put_formula(ws, "B6", "=1/3", 1 / 3)
    put_formula(ws, "B7", "=2^60", 2**60)
    put_array(ws, "D3:E5", "=FOO()", [[1, "a"], [2, "b"]])  # smaller than its range: #N/A beyond
    put_array(ws, "G1:G3", "=BAR()", [[7]])  # one value: repeated over the range
    other = wb.create_sheet("Two")
    put_formula(other, "C9", "=1+1", 2)
    return save_with_values(wb, tmp_path / "small.xlsx")


def test_values_read_back_as_excel_would_show_them(tmp_path):
    wb = load_workbook(_small(tmp_path), data_only=True)
    ws = wb["It's A Sheet"]
    assert [ws[f"B{i}"].value for i in range(1, 8)] == [6, "big", True, "#N/A", None, 1 / 3, 2**60]
    assert [[c.value for c in row] for row in ws["D3:E5"]] == [[1, "a"], [2, "b"], ["#N/A", "#N/A"]]
    assert [c.value for (c,) in ws["G1:G3"]] == [7, 7, 7]
    assert wb["Two"]["C9"].value == 2
    formulas = load_workbook(tmp_path / "small.xlsx")
    assert formulas["It's A Sheet"]["B1"].value == "=A1*2"  # the formula is still there
    assert isinstance(formulas["It's A Sheet"]["D3"].value, ArrayFormula)


def test_cells_are_typed_as_excel_stores_cached_results(tmp_path):
    with zipfile.ZipFile(_small(tmp_path)) as z:
        root = etree.fromstring(z.read("xl/worksheets/sheet1.xml"))
        book = etree.fromstring(z.read("xl/workbook.xml"))
    cell = {c.get("r"): c for c in root.iter(C_TAG)}

    def tv(ref):
        return cell[ref].get("t"), cell[ref].findtext("m:v", namespaces=NS)

    assert tv("B1") == (None, "6")
    assert tv("B2") == ("str", "big")
    assert tv("B3") == ("b", "1")
    assert tv("B4") == ("e", "#N/A")
    assert tv("B5") == ("str", "")  # a formula showing an empty cell still has its <v>
    assert float(tv("B6")[1]) == 1 / 3
    assert tv("D5") == ("e", "#N/A") and tv("E3") == ("str", "a")
    dim = root.find("m:dimension", NS).get("ref")
    assert range_boundaries(dim)[2] >= 7  # the dimension covers the array ranges
    calc = book.find("m:calcPr", NS)
    assert calc.get("fullCalcOnLoad") in (None, "0", "false")
    assert int(calc.get("calcId")) == stored.CALC_ID
    assert calc.get("calcMode") in (None, "auto")


def test_encode():
    assert stored.encode(1.5) == (None, "1.5")
    assert stored.encode(2.0) == (None, "2")
    assert stored.encode(False) == ("b", "0")
    assert stored.encode(float("nan")) == ("e", "#NUM!")
    assert stored.encode("#VALUE!") == ("e", "#VALUE!")
    # the classic add-in's error line is text: that is what classic Excel shows in the cell
    assert stored.encode("#VALUE! target_tpot_ms must be between 5 and 1000, got -3")[0] == "str"
    assert stored.encode("bell\x07") == ("str", "bell")  # characters XML cannot hold are dropped


def test_same_workbook_same_bytes_and_atomic(tmp_path, monkeypatch):
    a = _small(tmp_path).read_bytes()
    b = _small(tmp_path).read_bytes()
    assert a == b
    target = tmp_path / "small.xlsx"

    def boom(_wb):
        raise RuntimeError("disk full")

    monkeypatch.setattr(stored, "workbook_bytes", boom)
    with pytest.raises(RuntimeError):
        save_with_values(Workbook(), target)
    assert target.read_bytes() == a  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["small.xlsx"]  # no temporary left behind


class _Clock:
    """Stands in for ``datetime.datetime`` inside openpyxl: ``now()`` answers a chosen instant."""

    def __init__(self, when):
        self.when = when

    def now(self, tz=None):
        return self.when.replace(tzinfo=tz)


def test_two_clocks_same_bytes_and_source_date_epoch(tmp_path, monkeypatch):
    """Issue 24: openpyxl stamps a new workbook with the clock to the second, so two saves either
    side of a second boundary differed (1 run in 40). With the clock faked to two different
    instants the bytes are equal; SOURCE_DATE_EPOCH, when set, is the stamp; a bad one is refused."""
    import datetime as dt
    import types

    from openpyxl.packaging import core

    from xlsizer.errors import XlsizerError

    saved = []
    for when in (dt.datetime(2031, 5, 5, 12, 0, 0, 999_999), dt.datetime(2031, 5, 5, 12, 0, 1)):
        monkeypatch.setattr(core, "datetime", types.SimpleNamespace(datetime=_Clock(when), timezone=dt.timezone))
        saved.append(_small(tmp_path).read_bytes())
    monkeypatch.undo()
    assert saved[0] == saved[1]
    with zipfile.ZipFile(tmp_path / "small.xlsx") as z:
        assert b"2026-01-01T00:00:00Z" in z.read("docProps/core.xml")  # stored.FIXED_TIME

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00:00 UTC
    assert _small(tmp_path).read_bytes() == saved[0]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    with zipfile.ZipFile(_small(tmp_path)) as z:
        core_xml = z.read("docProps/core.xml")
    assert core_xml.count(b"2023-11-14T22:13:20Z") == 2  # created and modified
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    before = (tmp_path / "small.xlsx").read_bytes()
    with pytest.raises(XlsizerError, match="SOURCE_DATE_EPOCH"):
        _small(tmp_path)
    assert (tmp_path / "small.xlsx").read_bytes() == before  # nothing half-written


def test_values_helpers_follow_excel():
    statuses = ["done", "DONE", "open", None, "in progress", "n/a"]
    assert countif(statuses, "done") == 2  # case-insensitive, as Excel
    assert countif(["ab", "abc", "xbc"], "a*") == 2 and countif(["ab", "abc"], "a?") == 1
    assert countif([1, "1", 2], 1) == 1
    assert countifs(["s1", "s1", "s2"], "s1", ["done", "open", "done"], "done") == 1
    assert counta(["a", "", None, 0]) == 3  # "" counts, an empty cell does not
    assert excel_sum([1, 2.5, None, "x", True]) == 3.5
    assert if_blank(None) == "" and if_blank(0) == 0 and if_blank(False) is False
    with pytest.raises(ValueError):
        countif([1, 2], ">1")  # not guessed


def test_range_values_reads_recorded_results():
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["A2"] = "concurrent_users", "model"
    put_formula(ws, "B1", "=100+20", 120)
    ws["B2"] = "llama-3.3-70b"
    assert range_values(wb, "Sheet!A1:B3") == [["concurrent_users", 120], ["model", "llama-3.3-70b"], [None, None]]
    assert udf("LLM_RESULT", range_values(wb, "Sheet!A1:B2"), "traffic.inflight_requests", "burst") > 0


def test_report_and_portfolio_store_their_values(tmp_path):
    from xlsizer.batch import run_batch

    summary = run_batch([EXAMPLES_DIR / "tc5-local-13b.xlsx", EXAMPLES_DIR / "tc1-7b-copilot.xlsx"],
                        tmp_path, progress=False)
    assert summary.ok == 2
    port = tmp_path / "portfolio.xlsx"
    f = load_workbook(port)["Portfolio"]
    v = load_workbook(port, data_only=True)["Portfolio"]
    sums = [c for row in f.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=SUM(")]
    assert sums
    for c in sums:
        col = c.column_letter
        expect = sum(v[f"{col}{r}"].value or 0 for r in range(4, c.row))
        assert v[c.coordinate].value == pytest.approx(expect), c.coordinate
    for out in summary.outputs:  # reports: no formula without its value
        wbf, wbv = load_workbook(out), load_workbook(out, data_only=True)
        for ws in wbf.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        assert wbv[ws.title][c.coordinate].value is not None, f"{out.name} {ws.title}!{c.coordinate}"


# --- the shipped workbooks --------------------------------------------------------------------
def _formula_cells(path: Path) -> list[tuple[str, str]]:
    """(sheet, cell) of every formula cell, every cell of an array formula's range included."""
    wb = load_workbook(path)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, ArrayFormula):
                    c1, r1, c2, r2 = range_boundaries(c.value.ref)
                    out += [(ws.title, f"{ws.cell(r, k).coordinate}") for r in range(r1, r2 + 1)
                            for k in range(c1, c2 + 1)]
                elif c.data_type == "f":
                    out.append((ws.title, c.coordinate))
    return out


def _close(a, b) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: p.stem)
def test_every_formula_cell_holds_the_value_it_computes(path):
    pytest.importorskip("formulas")
    from xlsizer.workbook.recalc import calculate

    cells = _formula_cells(path)
    assert len(cells) > 400, "the Results tables are formula ranges"
    stored_wb = load_workbook(path, data_only=True)
    computed = calculate(path)  # the formulas engine, xlsizer functions through the UDF module
    blanks = 0
    for sheet, ref in cells:
        got = stored_wb[sheet][ref].value
        want = computed[f"{sheet.upper()}!{ref}"]
        where = f"{path.name} {sheet}!{ref}"
        assert not (isinstance(got, str) and got.startswith("#")), f"{where}: {got}"
        if want in ("", None):  # a formula that shows an empty cell: "" stored, read back as None
            assert got is None, f"{where}: {got!r}"
            blanks += 1
            continue
        assert got is not None, f"{where}: no stored value"
        assert _close(got, want), f"{where}: stored {got!r}, computed {want!r}"
    # the only blanks: padding of the warnings/explanation tables and mirrors of empty inputs
    assert blanks < len(cells) * 0.8


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: p.stem)
def test_results_equal_the_core(path):
    result = size(read_project(path).inputs)
    ws = load_workbook(path, data_only=True)["Results"]
    assert ws[HEADLINE_CELL].value == result.headline
    lay = results_layout()
    by_field = {r.field: row for row, r in lay["rows"]}
    for sc, col in SCENARIO_COLS.items():
        s = result.scenarios[sc]
        for field, want in (("replicas", s.replicas), ("total_gpus", s.total_gpus), ("servers", s.servers),
                            ("it_kw", s.it_kw), ("facility_kw", s.facility_kw), ("memory.vram_gb", s.memory.vram_gb)):
            got = ws.cell(by_field[field], col).value
            assert _close(got, want), f"{path.name} {sc} {field}: {got!r} vs core {want!r}"


def test_every_xml_formula_cell_has_a_cached_value():
    """Straight from the XML: no <f> without a <v> (what LibreOffice and Excel read)."""
    for path in WORKBOOKS:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not name.startswith("xl/worksheets/sheet"):
                    continue
                root = etree.fromstring(z.read(name))
                for c in root.iter(C_TAG):
                    if c.find("m:f", NS) is not None:
                        assert c.find("m:v", NS) is not None, f"{path.name} {name} {c.get('r')}"


def test_no_temporary_files_next_to_the_workbooks():
    for folder in (TEMPLATE.parent, EXAMPLES_DIR):
        assert not [p for p in os.listdir(folder) if p.startswith(".~")]
