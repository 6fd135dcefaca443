"""Read a filled project workbook back: its inputs (validated) and its checklist.

Every problem is a ``ProjectFileError`` that names the file, the sheet, the cell and what is
wrong, so a planner can go straight to the cell.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsizer.errors import InputError, ProjectFileError, UnknownIdError
from xlsizer.inputs import SizingInputs, make_inputs
from xlsizer.workbook.checklist import STATUSES, ChecklistItem
from xlsizer.workbook.template import (
    CHECK_HEADER_ROW,
    PROJECT_NAME,
    SHEET_CHECKLIST,
    SHEET_INPUTS,
    SHEET_START,
    as_date,
)


@dataclass
class Project:
    """A project workbook's content."""

    name: str
    inputs: SizingInputs
    checklist: list[ChecklistItem]
    path: Path
    notes: str | None = None
    cells: dict[str, str] = field(default_factory=dict)  # field -> "Sheet!A1"


def _open(path: Path):
    from openpyxl import load_workbook

    if not path.exists():
        raise ProjectFileError(str(path), "no such file")
    if not zipfile.is_zipfile(path):
        raise ProjectFileError(str(path), "not an .xlsx or .xlsm workbook (not a zip package)")
    try:
        return load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged packages
        raise ProjectFileError(str(path), f"not a readable .xlsx or .xlsm workbook ({type(exc).__name__}: {exc})"
                               ) from None


def _locate(wb, name: str) -> tuple[str, str] | None:
    dn = wb.defined_names.get(name)
    if dn is None:
        return None
    dests = list(dn.destinations)
    if len(dests) != 1:
        return None
    sheet, ref = dests[0]
    return sheet, ref.replace("$", "")


def _cell_value(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return None if v == "" else v
    return v


def read_project(path: str | Path) -> Project:
    """Read a project workbook written from the xlsizer template."""
    path = Path(path)
    p = str(path)
    wb = _open(path)
    if SHEET_INPUTS not in wb.sheetnames:
        raise ProjectFileError(p, "not an xlsizer project workbook: there is no Inputs sheet", SHEET_INPUTS)
    values: dict[str, Any] = {}
    cells: dict[str, str] = {}
    for fname in SizingInputs.model_fields:
        loc = _locate(wb, fname)
        if loc is None:
            raise ProjectFileError(p, f"the defined name {fname!r} (the {fname} input cell) is missing; "
                                      "regenerate the workbook from the template", SHEET_INPUTS)
        sheet, ref = loc
        if sheet not in wb.sheetnames:
            raise ProjectFileError(p, f"the {fname} input points at a missing sheet", sheet, ref)
        v = wb[sheet][ref].value
        cells[fname] = f"{sheet}!{ref}"
        if isinstance(v, str) and v.startswith("="):
            raise ProjectFileError(p, f"{fname} must be a value, not a formula ({v})", sheet, ref)
        v = _cell_value(v)
        if v is not None:
            values[fname] = v
    try:
        inputs = make_inputs(values)
    except InputError as exc:
        field_ = exc.field if exc.field in cells else "model"
        sheet, ref = cells[field_].split("!")
        raise ProjectFileError(p, str(exc), sheet, ref) from None
    _check_ids(inputs, cells, p)
    name = ""
    loc = _locate(wb, PROJECT_NAME)
    notes = None
    if loc and loc[0] in wb.sheetnames:
        name = str(wb[loc[0]][loc[1]].value or "")
    if SHEET_START in wb.sheetnames:
        notes = wb[SHEET_START]["B17"].value
    return Project(name=name or path.stem, inputs=inputs, checklist=_read_checklist(wb, p), path=path,
                   notes=notes, cells=cells)


def _check_ids(inputs: SizingInputs, cells: dict[str, str], p: str) -> None:
    """Model and GPU ids must be in the catalog (or custom / auto)."""
    from xlsizer.catalog import load_catalog

    cat = load_catalog()
    for fname, value, lookup, free in (("model", inputs.model, cat.model, ("custom",)),
                                       ("gpu", inputs.gpu, cat.gpu, ("auto", "custom"))):
        if value.lower() in free:
            continue
        try:
            lookup(value)
        except UnknownIdError as exc:
            sheet, ref = cells[fname].split("!")
            raise ProjectFileError(p, f"{fname}: {exc}", sheet, ref) from None


def _read_checklist(wb, p: str) -> list[ChecklistItem]:
    if SHEET_CHECKLIST not in wb.sheetnames:
        raise ProjectFileError(p, "not an xlsizer project workbook: there is no Checklist sheet", SHEET_CHECKLIST)
    ws = wb[SHEET_CHECKLIST]
    items = []
    for r in range(CHECK_HEADER_ROW + 1, ws.max_row + 1):
        section, item, owner, status, value, reason, when = (ws.cell(r, c).value for c in range(1, 8))
        if item is None and section is None:
            continue
        status = (str(status).strip().lower() if status is not None else "open") or "open"
        if status not in STATUSES:
            raise ProjectFileError(p, f"status must be one of {', '.join(STATUSES)}, got {status!r}",
                                   SHEET_CHECKLIST, f"D{r}")
        d = as_date(when)
        if when is not None and d is None:
            raise ProjectFileError(p, f"date must be a date, got {when!r}", SHEET_CHECKLIST, f"G{r}")
        items.append(ChecklistItem(section=str(section or ""), item=str(item or ""), owner=str(owner or ""),
                                   status=status, value=value, reason=reason, date=d))
    return items
