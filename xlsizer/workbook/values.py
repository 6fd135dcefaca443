"""The value each formula a writer puts in a workbook computes, found in Python (issue 13).

Writers store a formula's result beside it (``stored.put_formula``). Where the formula calls
an xlsizer Excel function, its value comes from calling that very function of the UDF module
(``xlsizer_udfs``) with the arguments Excel would hand it: :func:`udf`. Where it is an Excel
built-in (COUNTIF, COUNTA, SUM ...), the small functions here compute what Excel computes, for
the cases xlsizer's workbooks use (an unsupported case raises rather than guessing).

    rows = inputs_rows(cells)                       # the Inputs range, as Excel hands it
    put_formula(ws, "B6", '=LLM_RESULT(Inputs,"headline")', udf("LLM_RESULT", rows, "headline"))
    put_formula(ws, "B5", '=COUNTIF($D$13:$D$60,"done")', countif(statuses, "done"))

:func:`range_values` reads a range back from an openpyxl workbook being written, with each
formula cell in it replaced by its recorded result, so a formula over other formulas gets the
values Excel would see.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Sequence
from enum import Enum
from types import ModuleType
from typing import Any

from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula

from xlsizer.workbook.stored import recorded_value


@functools.cache
def udf_module() -> ModuleType:
    """The UDF module xlwings loads (``xlsizer_udfs``)."""
    return importlib.import_module("xlsizer_udfs")


def udf(name: str, *args: Any) -> Any:
    """What ``=NAME(args...)`` shows in classic Excel: the UDF module's function called with the
    arguments as Excel hands them (a range as a list of rows, an empty cell as None)."""
    fn = getattr(udf_module(), name, None)
    if fn is None or name not in udf_module().__all__:
        raise KeyError(f"{name} is not an xlsizer Excel function")
    return fn(*args)


def _cell(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def inputs_rows(values: dict[str, Any], names: Iterable[str] | None = None) -> list[list[Any]]:
    """The template's two-column ``Inputs`` range as Excel hands it to a function: one
    ``[field, value]`` row per input field (``names``, default every ``SizingInputs`` field),
    ``None`` where the cell is empty. Row order does not change any function's answer."""
    if names is None:
        from xlsizer.inputs import SizingInputs

        names = SizingInputs.model_fields
    return [[n, _cell(values.get(n))] for n in names]


def if_blank(value: Any, blank: Any = "") -> Any:
    """``=IF(ISBLANK(x),"",x)``: ISBLANK is true only for an empty cell (not for 0 or FALSE)."""
    return blank if value is None else _cell(value)


def range_values(wb: Workbook, ref: str) -> list[list[Any]]:
    """The cell values of a range (a defined name, or ``Sheet!A1:B9``) as Excel sees them:
    a formula cell gives its recorded result (``KeyError`` if none was recorded), an empty cell
    None."""
    if "!" in ref:
        sheet, cells = ref.rsplit("!", 1)
        sheet = sheet.strip("'")
    else:
        dn = wb.defined_names.get(ref)
        if dn is None:
            raise KeyError(f"no defined name {ref!r}")
        sheet, cells = next(iter(dn.destinations))
    ws = wb[sheet]
    c1, r1, c2, r2 = range_boundaries(cells.replace("$", ""))
    out: list[list[Any]] = []
    for row in ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2):
        vals = []
        for c in row:
            v = c.value
            if isinstance(v, ArrayFormula) or (isinstance(v, str) and v.startswith("=") and c.data_type == "f"):
                found, v = recorded_value(wb, sheet, c.coordinate)
                if not found:
                    raise KeyError(f"{sheet}!{c.coordinate} holds a formula with no recorded result")
            elif c.data_type != "f" and v is None:
                # an empty cell inside a recorded array range shows the array's value
                found, rv = recorded_value(wb, sheet, c.coordinate)
                v = rv if found else None
            vals.append(v)
        out.append(vals)
    return out


def column(rows: Sequence[Sequence[Any]]) -> list[Any]:
    """The cells of a range, row by row, as one list."""
    return [v for row in rows for v in row]


# --- Excel built-ins ----------------------------------------------------------------------------
def counta(values: Iterable[Any]) -> int:
    """``COUNTA``: cells that are not empty (a formula's "" counts, as in Excel)."""
    return sum(1 for v in values if v is not None)


_OPERATOR = re.compile(r"^(<=|>=|<>|<|>|=)")


def _criterion(criterion: Any) -> Any:
    """A predicate for a COUNTIF criterion: a number, or text matched whole and without regard
    to case, with Excel's wildcards (``*``, ``?``, ``~`` escapes)."""
    if isinstance(criterion, bool):
        return lambda v: isinstance(v, bool) and v == criterion
    if isinstance(criterion, int | float):
        return lambda v: not isinstance(v, bool) and isinstance(v, int | float) and v == criterion
    text = "" if criterion is None else str(criterion)
    if _OPERATOR.match(text):
        raise ValueError(f"COUNTIF criterion {text!r}: comparison operators are not supported here")
    pattern, i = "", 0
    while i < len(text):
        ch = text[i]
        if ch == "~" and i + 1 < len(text):
            pattern += re.escape(text[i + 1])
            i += 2
            continue
        pattern += ".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
        i += 1
    rx = re.compile(pattern, re.IGNORECASE | re.DOTALL)
    if text == "":
        return lambda v: v is None or v == ""
    return lambda v: isinstance(v, str) and rx.fullmatch(v) is not None


def countif(values: Iterable[Any], criterion: Any) -> int:
    """``COUNTIF(range, criterion)`` for text and number criteria."""
    match = _criterion(criterion)
    return sum(1 for v in values if match(v))


def countifs(*pairs: Any) -> int:
    """``COUNTIFS(range1, criterion1, range2, criterion2, ...)``: ranges of equal size."""
    if len(pairs) % 2 or not pairs:
        raise ValueError("COUNTIFS takes range, criterion pairs")
    ranges = [list(pairs[i]) for i in range(0, len(pairs), 2)]
    tests = [_criterion(pairs[i]) for i in range(1, len(pairs), 2)]
    if len({len(r) for r in ranges}) != 1:
        raise ValueError("COUNTIFS ranges must have the same size")
    return sum(1 for cells in zip(*ranges, strict=True) if all(t(v) for t, v in zip(tests, cells, strict=True)))


def excel_sum(values: Iterable[Any]) -> float | int:
    """``SUM`` over a range: numbers add up; text, booleans and empty cells are skipped."""
    total: float | int = 0
    for v in values:
        if isinstance(v, int | float) and not isinstance(v, bool):
            total += v
    return total
