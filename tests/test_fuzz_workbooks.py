"""Fuzz: hostile project workbooks, built by the tests themselves (issue 15).

Mutations of a filled template: input cells set to any value a spreadsheet can hold (formulas,
formula-like and very long text, booleans, errors, dates, huge numbers), checklist cells the
same, defined names pointed anywhere (ranges, whole sheets and columns, other sheets, other
workbooks, formulas), and parts added or rewritten (XML entities, parts that inflate past the
bound, tens of thousands of cells, garbage). ``read_project`` must return a project or raise
``ProjectFileError`` naming the file; ``report_project`` must never raise and give one short
line; both in bounded time.
"""

from __future__ import annotations

import functools
import io
import re
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

import fuzzstats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from xlsizer.batch import report_project
from xlsizer.errors import ProjectFileError
from xlsizer.inputs import FIELD_NAMES
from xlsizer.workbook import project as project_mod
from xlsizer.workbook import read_project, write_template

SECONDS = 10.0
"""Most time one hostile file may take to refuse or report (the quadratic and unbounded paths
took minutes or exhausted memory)."""


@functools.cache
def template_bytes() -> bytes:
    """A filled template, built once (not a fixture: hypothesis would print it in a failure)."""
    with tempfile.TemporaryDirectory() as d:
        return write_template(Path(d) / "p.xlsx", {"concurrent_users": 120}).read_bytes()


cell_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    st.sampled_from(["=1+1", '=HYPERLINK("http://example.invalid","x")', "=cmd|' /C calc'!A0", "#N/A", "#REF!",
                     "x" * 32_767, "(" * 32_767, "TRUE", "1,000", "custom", "auto", "llama-3.1-8b", "gb200",
                     "done", "open", "n/a"]),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
)
targets = st.one_of(
    st.sampled_from(["'Inputs'!$A$1:$XFD$1048576", "'Inputs'!$C:$C", "'Inputs'!$5:$5", "'Inputs'!$C$6:$D$9",
                     "'Inputs'!$C$6,'Inputs'!$C$7", "[1]Inputs!$C$6", "#REF!", "OFFSET(Inputs!$C$6,0,0)",
                     "'Catalog'!$A$1", "'Nope'!$A$1", "'Inputs'!$XFD$1048576", "'Inputs'!$C$0", "Inputs!C6",
                     "", "'Inputs'!$ZZZZ$1"]),
    st.text(max_size=30).map(lambda t: t.replace("<", "").replace("&", "")),
)
parts = st.sampled_from(["dtd-workbook", "dtd-sheet", "bomb", "many-cells", "garbage-sheet", "garbage-workbook",
                         "drop-workbook", "deep-row", "none"])


def _rewrite(raw: bytes, part: str) -> bytes:
    out = io.BytesIO()
    dtd = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            n = item.filename
            dtd_here = (part, n) == ("dtd-workbook", "xl/workbook.xml") or (
                part == "dtd-sheet" and n.endswith("sheet2.xml"))
            if dtd_here:
                data = dtd + re.sub(rb"^<\?xml[^>]*\?>", b"", data)
            elif part == "bomb" and n.endswith("sheet7.xml"):
                data = data.replace(b"</worksheet>", b" " * (project_mod.MAX_PART_BYTES + 10) + b"</worksheet>")
            elif part == "many-cells" and n.endswith("sheet7.xml"):
                rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r) for r in range(3000, 55_000))
                data = data.replace(b"</sheetData>", rows + b"</sheetData>")
            elif part == "garbage-sheet" and n.endswith("sheet2.xml"):
                data = data[: len(data) // 2]
            elif part == "garbage-workbook" and n == "xl/workbook.xml":
                data = b"<workbook><<<"
            elif part == "drop-workbook" and n == "xl/workbook.xml":
                continue
            elif part == "deep-row" and n.endswith("sheet6.xml"):
                data = data.replace(b"</sheetData>", b'<row r="900000"><c r="B900000" t="inlineStr"><is><t>x</t>'
                                                     b"</is></c></row></sheetData>")
            zout.writestr(item, data)
    return out.getvalue()


def _retarget(raw: bytes, name: str, target: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = re.sub(rf'(<definedName name="{name}">)[^<]*(</definedName>)'.encode(),
                              lambda m: m.group(1) + target.encode() + m.group(2), data)
            zout.writestr(item, data)
    return out.getvalue()


def _judge(path: Path) -> None:
    fuzzstats.count("workbooks", "tried")
    start = time.perf_counter()
    try:
        read_project(path)
        outcome = "read"
    except ProjectFileError as exc:
        assert str(path) in str(exc)
        outcome = "refused"
    except Exception:
        fuzzstats.count("workbooks", "escape")
        raise
    with tempfile.TemporaryDirectory() as d:
        res = report_project(str(path), str(Path(d) / "r.xlsx"))
    if res.failure is not None:
        assert len(res.failure) < 500 and "\n" not in res.failure, res.failure[:300]
    fuzzstats.count("workbooks", outcome)
    assert time.perf_counter() - start < SECONDS


SETTINGS = settings(deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(SETTINGS, max_examples=15)
@given(st.lists(st.tuples(st.sampled_from(list(FIELD_NAMES)), cell_values), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(13, 60), st.integers(1, 7), cell_values), max_size=3))
def test_any_cell_values(inputs, checklist):
    wb = load_workbook(io.BytesIO(template_bytes()))
    for field, value in inputs:
        sheet, ref = next(iter(wb.defined_names[field].destinations))
        wb[sheet][ref.replace("$", "")].value = value
    for r, c, value in checklist:
        wb["Checklist"].cell(r, c).value = value
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fuzz.xlsx"
        wb.save(p)
        _judge(p)


@settings(SETTINGS, max_examples=40)
@given(st.sampled_from(["model", "gpu", "concurrent_users", "project_name", "kv_offload", "currency"]), targets,
       parts)
def test_any_names_and_parts(name, target, part):
    raw = _rewrite(_retarget(template_bytes(), name, target), part)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fuzz.xlsx"
        p.write_bytes(raw)
        _judge(p)
