"""Formula cells that carry their computed value, so a workbook shows numbers anywhere.

openpyxl writes a formula with an empty cached value; Excel with the add-in recalculates,
but LibreOffice, Excel on the web or a copy without xlwings show ``#NAME?``. Every writer in
xlsizer puts formulas through this module instead of assigning ``cell.value = "=..."``:

    put_formula(ws, "C5", '=LLM_GPUS(Inputs,"burst")', 24)
    put_array(ws, "A10:A25", '=LLM_WARNINGS(Inputs,"burst")', [[w] for w in warnings])
    save_with_values(wb, path)      # atomic; injects the recorded values as cached results

Issue 13 (stored results). Interface fixed first so the template, examples, reports and
portfolio writers can use it while the injection is built.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

_ATTR = "_xlsizer_stored_values"


def _registry(wb: Workbook) -> dict[tuple[str, str], Any]:
    reg = getattr(wb, _ATTR, None)
    if reg is None:
        reg = {}
        setattr(wb, _ATTR, reg)
    return reg


def put_formula(ws: Worksheet, ref: str, formula: str, value: Any) -> None:
    """Write ``formula`` into cell ``ref`` and record ``value`` (number, text, bool or None) as its result."""
    ws[ref] = formula
    _registry(ws.parent)[(ws.title, ref)] = value


def put_array(ws: Worksheet, ref: str, formula: str, values: Sequence[Sequence[Any]]) -> None:
    """Write a legacy (Ctrl+Shift+Enter) array formula over ``ref`` ("A1:B4") and record its result grid."""
    first = ref.split(":")[0]
    ws[first] = ArrayFormula(ref, formula)
    _registry(ws.parent)[(ws.title, ref)] = [list(row) for row in values]


def stored_values(wb: Workbook) -> dict[tuple[str, str], Any]:
    """The recorded results: {(sheet title, cell or range ref): value or grid}."""
    return dict(_registry(wb))


def save_with_values(wb: Workbook, path: str | os.PathLike[str]) -> Path:
    """Save ``wb`` to ``path`` atomically with every recorded formula result stored in the file."""
    from xlsizer.workbook.report import save_atomic  # atomic write lives with the report writer

    return save_atomic(wb.save, path)
