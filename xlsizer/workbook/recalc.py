"""Recalculate a generated workbook outside Excel with the ``formulas`` package.

The xlsizer Excel functions are registered under their Excel names; each wrapper converts the
engine's arguments (``Ranges``, the EMPTY token) to what Excel hands xlwings (lists of rows,
None for an empty cell) and calls the real UDF module, so the same code path is tested.
``formulas`` is a test dependency and is imported only here, on use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def udf_module() -> ModuleType:
    """The UDF module xlwings loads (``xlsizer_udfs``, installed beside the package)."""
    return importlib.import_module("xlsizer_udfs")


def _to_python(arg: Any) -> Any:
    import numpy as np
    import schedula as sh

    def cell(v: Any) -> Any:
        if v is sh.EMPTY or (isinstance(v, sh.Token) and str(v) == "empty"):
            return None
        if isinstance(v, sh.Token):  # an Excel error value, e.g. #N/A
            return str(v)
        if isinstance(v, np.generic):
            return v.item()
        return v

    value = getattr(arg, "value", arg)
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return cell(value.reshape(-1)[0])
        return [[cell(v) for v in row] for row in value.tolist()]
    return cell(value)


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    import numpy as np
    from formulas.functions import wrap_func

    def wrapper(*args: Any) -> Any:
        out = fn(*(_to_python(a) for a in args))
        if isinstance(out, list):
            return np.array(out, dtype=object)
        return out

    wrapper.__name__ = getattr(fn, "__name__", "udf")
    return wrap_func(wrapper)  # ranges arrive as value arrays, as xlwings hands them


def register_udfs(module: ModuleType | None = None) -> list[str]:
    """Register every public function of the UDF module in the ``formulas`` registry."""
    import formulas

    module = module or udf_module()
    names = list(getattr(module, "__all__", [n for n in dir(module) if n.isupper()]))
    registry = formulas.get_functions()
    for name in names:
        registry[name] = _wrap(getattr(module, name))
    return names


def calculate(path: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Recalculate a workbook; returns ``{"SHEET!A1": value}`` (sheet names upper-cased by
    ``formulas``; ranges are split into cells). ``overrides`` maps ``"Sheet!A1"`` to a value."""
    import formulas
    import numpy as np

    path = Path(path)
    register_udfs()
    model = formulas.ExcelModel().loads(str(path)).finish()
    book = path.name.upper()
    inputs = {}
    for ref, v in (overrides or {}).items():
        sheet, cell = ref.split("!")
        inputs[f"'[{path.name}]{sheet.upper()}'!{cell.upper()}"] = v
    sol = model.calculate(inputs=inputs)
    out: dict[str, Any] = {}
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import range_boundaries

    for key, rng in sol.items():
        if "!" not in key:
            continue
        sheet_part, ref = key.rsplit("!", 1)
        sheet = sheet_part.split("]", 1)[1].strip("'") if "]" in sheet_part else sheet_part.strip("'")
        if not sheet_part.upper().startswith(f"'[{book}]"):
            continue
        values = np.asarray(getattr(rng, "value", rng), dtype=object)
        if values.ndim < 2:
            values = values.reshape(1, -1)
        try:
            c1, r1, _, _ = range_boundaries(ref)
        except ValueError:  # a defined name, not a cell range
            continue
        if c1 is None or r1 is None:  # whole rows or columns
            continue
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                out[f"{sheet}!{get_column_letter(c1 + j)}{r1 + i}"] = _to_python(v)
    return out
