"""Lint every formula of every generated workbook: no LAMBDA, no unprefixed new functions, no
spilled (dynamic) arrays: array-returning functions only as fixed-size legacy array formulas
or read one cell at a time by INDEX with constant indices."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import FORMULAE
from openpyxl.worksheet.formula import ArrayFormula

from xlsizer.workbook.examples import EXAMPLES, write_examples
from xlsizer.workbook.recalc import udf_module
from xlsizer.workbook.template import write_template

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = [ROOT / "workbooks" / "xlsizer-template.xlsx", *sorted((ROOT / "workbooks" / "examples").glob("*.xlsx"))]
TABLE_FUNCTIONS = {"LLM_WARNINGS", "LLM_EXPLAIN", "LLM_SWEEP", "LLM_MODELS", "LLM_GPU_LIST"}
INDEXED = re.compile(r'=IFERROR\(INDEX\((?:LLM_WARNINGS|LLM_EXPLAIN)\([A-Za-z_]+,""\),\d+,\d+\),""\)')
"""A table function read one cell at a time with constant indices: a scalar, never a spill."""
CALL = re.compile(r'(?<![A-Za-z0-9_."])((?:_xlfn\.)?[A-Za-z][A-Za-z0-9_.]*)\s*\(')


def _strip_strings(f: str) -> str:
    return re.sub(r'"[^"]*"', '""', f)


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    d = tmp_path_factory.mktemp("lint")
    return [write_template(d / "template.xlsx"), *write_examples(d / "examples"), *COMMITTED]


def test_formulas_are_portable(workbooks):
    udfs = set(udf_module().__all__)
    assert not (udfs & FORMULAE), "an Excel function shadows a built-in"
    checked = 0
    for path in workbooks:
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    is_array = isinstance(v, ArrayFormula)
                    text = v.text if is_array else v
                    if not (isinstance(text, str) and text.startswith("=")):
                        continue
                    checked += 1
                    where = f"{path.name} {ws.title}!{c.coordinate}: {text}"
                    body = _strip_strings(text)
                    assert "LAMBDA" not in body.upper(), where
                    for name in CALL.findall(body):
                        if name.startswith("_xlfn."):
                            continue
                        assert name.upper() in FORMULAE or name in udfs, f"unknown/unprefixed {name}: {where}"
                        if name in TABLE_FUNCTIONS:
                            assert is_array or INDEXED.fullmatch(body), \
                                f"table function outside a legacy array formula or a fixed INDEX: {where}"
    assert checked > 100


def test_no_dynamic_array_metadata(workbooks):
    for path in workbooks:
        with zipfile.ZipFile(path) as z:
            assert not any("metadata" in n for n in z.namelist()), path
            for n in z.namelist():
                if n.startswith("xl/worksheets/"):
                    assert b' cm="' not in z.read(n), f"{path.name} {n}: spilled array"


def test_every_example_committed():
    assert {p.stem for p in COMMITTED[1:]} == {e.slug for e in EXAMPLES}
