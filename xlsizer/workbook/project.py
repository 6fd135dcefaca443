"""Read a filled project workbook back: its inputs (validated) and its checklist.

Every problem is a ``ProjectFileError`` that names the file, the sheet, the cell and what is
wrong, so a planner can go straight to the cell.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import column_index_from_string

from xlsizer.errors import InputError, NotAProjectError, ProjectFileError, UnknownIdError, clip
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


def xml_defused() -> bool:
    """True when openpyxl parses worksheets and shared strings with defusedxml (it decides once,
    at import: the package is installed and OPENPYXL_DEFUSEDXML is not "False")."""
    import openpyxl
    from openpyxl.xml import functions

    return bool(openpyxl.DEFUSEDXML) and functions.iterparse.__module__.startswith("defusedxml")


def _open(path: Path):
    from openpyxl import load_workbook

    if not xml_defused():
        raise ProjectFileError(str(path), "refusing to read workbooks without defusedxml (pip install defusedxml; "
                                          "do not set OPENPYXL_DEFUSEDXML=False)")

    if not path.exists():
        raise ProjectFileError(str(path), "no such file")
    if not path.is_file():
        raise ProjectFileError(str(path), "not a file")
    if not zipfile.is_zipfile(path):
        raise ProjectFileError(str(path), "not an .xlsx or .xlsm workbook (not a zip package)")
    check_package(path)
    try:
        return load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged packages
        msg = clip(str(exc), 120)
        raise ProjectFileError(str(path),
                               f"not a readable .xlsx or .xlsm workbook ({type(exc).__name__}: {msg})") from None


# --- hostile-file bounds (issue 15): checked on the zip directory and a streamed pass over the
# parts BEFORE openpyxl parses anything, so any file is refused in bounded time and memory. ------

MAX_FILE_BYTES = 32 * 2**20
"""Largest project file read (compressed): the template is ~40 KB, an Excel-saved project with
charts and a logo a few MB."""
MAX_PARTS = 300
"""Most zip entries (the template has 16; Excel adds a few per sheet, chart or image)."""
MAX_PART_BYTES = 8 * 2**20
"""Largest inflated size of one part (the template's largest sheet is ~50 KB)."""
MAX_TOTAL_BYTES = 32 * 2**20
"""Largest inflated size of the whole package (the template is ~190 KB)."""
MAX_CELLS = 50_000
"""Most cells in all sheets together (the template has ~2,400, a project is a few hundred
inputs and checklist rows): openpyxl holds ~400 bytes per cell, so this bounds memory at
~20 MB and loading at ~1 s."""
MAX_XML_ELEMENTS = 500_000
"""Most XML elements in all parts together (the template has ~13,000): bounds the objects
openpyxl builds for styles, shared strings and drawings."""
MAX_CHECKLIST_ROWS = 2_000
"""Checklist rows read below the header (the course's checklist has ~40 items)."""

_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 20
_TAIL = 64


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def sheet_part(raw: bytes, title: str) -> str:
    """The zip part ("xl/worksheets/sheet4.xml") that holds sheet ``title`` of a package, found
    through the workbook's relationships (for tools that build test and soak files)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
        rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    sheet = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*>', book)
    rid = re.search(r'r:id="([^"]+)"', sheet.group(0)) if sheet else None
    rel = re.search(rf'<Relationship [^>]*Id="{re.escape(rid.group(1))}"[^>]*>', rels) if rid else None
    target = re.search(r'Target="([^"]+)"', rel.group(0)) if rel else None
    if target is None:
        raise KeyError(f"no sheet {title!r} in the package")
    path = target.group(1)
    return path.lstrip("/") if path.startswith("/") else f"xl/{path}"


def check_package(path: Path) -> None:
    """Refuse a zip package that could exhaust time or memory when parsed, naming the part and
    the bound: too large on disk, too many parts, a part or the whole inflating past its bound
    (zip bombs: the sizes are the zip directory's, and ``zipfile`` never inflates a part past
    its declared size), more cells or XML elements than any project has, or an XML DTD
    (entity expansion and external entities: Excel never writes one)."""
    p = str(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ProjectFileError(p, f"the file is {_mib(size)}, more than the {_mib(MAX_FILE_BYTES)} a project "
                                  "workbook can be")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_PARTS:
                raise ProjectFileError(p, f"the package has {len(infos):,} parts, more than {MAX_PARTS} "
                                          "(not a project workbook)")
            total = 0
            for info in infos:
                if info.file_size > MAX_PART_BYTES:
                    raise ProjectFileError(p, f"part {clip(info.filename, 60)!r} inflates to "
                                              f"{info.file_size:,} bytes, more than {_mib(MAX_PART_BYTES)} "
                                              "(a zip bomb or not a project workbook)")
                total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise ProjectFileError(p, f"the package inflates to {total:,} bytes, more than "
                                          f"{_mib(MAX_TOTAL_BYTES)} (a zip bomb or not a project workbook)")
            cells = elements = 0
            for info in infos:
                name = info.filename.lower()
                if not name.endswith((".xml", ".rels", ".vml")):
                    continue
                c, e = _scan_part(z, info, p)
                cells += c
                elements += e
                if cells > MAX_CELLS:
                    raise ProjectFileError(p, f"the sheets hold more than {MAX_CELLS:,} cells (part "
                                              f"{clip(info.filename, 60)!r}); a project workbook holds a few "
                                              "thousand")
                if elements > MAX_XML_ELEMENTS:
                    raise ProjectFileError(p, f"the package holds more than {MAX_XML_ELEMENTS:,} XML elements "
                                              f"(part {clip(info.filename, 60)!r}); not a project workbook")
    except ProjectFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, NotImplementedError,
            EOFError, ValueError, zlib.error) as exc:  # damaged, encrypted or unsupported compression
        raise ProjectFileError(p, f"not a readable .xlsx workbook ({type(exc).__name__}: {clip(str(exc), 120)})"
                               ) from None


def _scan_part(z: zipfile.ZipFile, info: zipfile.ZipInfo, p: str) -> tuple[int, int]:
    """(cells, XML elements) in one part, streamed in 1 MiB chunks; refuses a DTD."""
    is_sheet = "worksheets/" in info.filename.lower()
    cells = elements = 0
    tail = b""
    with z.open(info) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            elements += chunk.count(b"<")
            buf = tail + chunk
            if _DTD.search(buf):
                raise ProjectFileError(p, f"part {clip(info.filename, 60)!r} declares an XML DTD or entity "
                                          "(entity-expansion attack; Excel never writes one)")
            if is_sheet:
                cells += sum(1 for m in _CELL_TAG.finditer(buf) if m.start() >= len(tail))
            tail = buf[-_TAIL:]
    return cells, elements


_CELL_REF = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")


def _locate(wb, name: str, sheets: tuple[str, ...] | None = None, path: str = "") -> tuple[str, str] | None:
    """Where the defined name ``name`` points: (sheet, "C5"), or None if the workbook has no
    such name. It must point at ONE cell of one of ``sheets`` (when given) of this workbook:
    a range (a whole sheet would make openpyxl build billions of cells), several areas, a
    formula, another workbook or another sheet is refused, naming the name and the reason."""
    dn = wb.defined_names.get(name)
    if dn is None:
        return None

    def bad(reason: str) -> ProjectFileError:
        return ProjectFileError(path, f"the defined name {name!r} {reason}; it must point at one cell"
                                      + (f" of the {' or '.join(sheets)} sheet" if sheets else "")
                                      + " (regenerate the workbook from the template)")

    if not (dn.attr_text or "").strip():
        raise bad("is empty")
    text = clip(str(dn.attr_text or ""), 60)
    if "[" in str(dn.attr_text or ""):
        raise bad(f"points into another workbook ({text})")
    try:  # openpyxl parses the reference text lazily and raises on some malformed ones
        external, kind, dests = dn.is_external, dn.type, list(dn.destinations)
    except Exception:
        raise bad(f"cannot be read as a reference ({text})") from None
    if external:
        raise bad(f"points into another workbook ({text})")
    if kind != "RANGE":
        raise bad(f"is a formula, not a cell ({text})")
    if len(dests) != 1:
        raise bad(f"points at {len(dests)} areas ({text})")
    sheet, ref = dests[0]
    m = _CELL_REF.fullmatch(ref)
    if m is None:
        raise bad(f"points at the range {clip(ref, 40)}, not a single cell")
    col, row = m.group(1), int(m.group(2))
    if column_index_from_string(col) > 16_384 or not 1 <= row <= 1_048_576:
        raise bad(f"points outside a sheet ({clip(ref, 40)})")
    if sheets is not None and sheet not in sheets:
        raise bad(f"points at the {clip(sheet, 40)!r} sheet")
    if sheet not in wb.sheetnames:
        raise bad(f"points at a missing sheet ({clip(sheet, 40)!r})")
    return sheet, f"{col}{row}"


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
        from xlsizer.outpaths import xlsizer_output

        kind = xlsizer_output(path)  # say what it is where xlsizer wrote it: a freeze copy, a report
        # no sheet in the location: "FILE: Inputs: ... no Inputs sheet" pointed at what is missing
        if kind:
            raise NotAProjectError(p, kind)
        raise ProjectFileError(p, "not an xlsizer project workbook: there is no Inputs sheet")
    values: dict[str, Any] = {}
    cells: dict[str, str] = {}
    homes = _field_sheets()
    for fname in SizingInputs.model_fields:
        loc = _locate(wb, fname, homes.get(fname), p)
        if loc is None and fname in ADDED_LATER:
            continue  # a project written before the input existed: its default
        if loc is None:
            raise ProjectFileError(p, f"the defined name {fname!r} (the {fname} input cell) is missing; "
                                      "regenerate the workbook from the template", SHEET_INPUTS)
        sheet, ref = loc
        if sheet not in wb.sheetnames:
            raise ProjectFileError(p, f"the {fname} input points at a missing sheet", sheet, ref)
        cell = wb[sheet][ref]
        v = cell.value
        cells[fname] = f"{sheet}!{ref}"
        if cell.data_type == "f" or not isinstance(v, str | int | float | bool | datetime | None):
            raise ProjectFileError(p, f"{fname} must be a plain value (number, text, TRUE/FALSE), not a formula "
                                      f"({clip(str(v), 60)})", sheet, ref)
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
    loc = _locate(wb, PROJECT_NAME, (SHEET_START,), p)
    notes = None
    if loc:
        name = str(wb[loc[0]][loc[1]].value or "")
    if SHEET_START in wb.sheetnames:
        notes = wb[SHEET_START]["B17"].value
    return Project(name=name or path.stem, inputs=inputs, checklist=_read_checklist(wb, p), path=path,
                   notes=notes, cells=cells)


ADDED_LATER: frozenset[str] = frozenset({"max_total_gpus", "calibration_profile", "slo_percentile", "arrivals",
                                         "arrival_scv", "length_cv"})
"""Inputs added after project workbooks were in use: a project without the defined name gets
the input's default instead of being refused."""


LEGACY_INPUT_SHEETS: tuple[str, ...] = ("Advanced", "Costs")
"""Sheets on which templates before the one-form Inputs sheet (issue 14) kept the optimization
and cost inputs: projects filled in those still read."""


def _field_sheets() -> dict[str, tuple[str, ...]]:
    """The sheets an input's cell may be on (a defined name elsewhere is refused): the template's
    Inputs form, or the sheets of earlier templates."""
    from xlsizer.workbook.template import SHEET_INPUTS, field_infos

    return {f.name: (SHEET_INPUTS, *LEGACY_INPUT_SHEETS) for f in field_infos()}


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
    if ws.max_row > CHECK_HEADER_ROW + MAX_CHECKLIST_ROWS:  # reading would create every cell above it
        raise ProjectFileError(p, f"the checklist runs to row {ws.max_row:,}; at most {MAX_CHECKLIST_ROWS:,} "
                                  "rows below the header are read (clear the cells far below the list)",
                               SHEET_CHECKLIST)
    for r in range(CHECK_HEADER_ROW + 1, ws.max_row + 1):
        section, item, owner, status, value, reason, when = (ws.cell(r, c).value for c in range(1, 8))
        if item is None and section is None:
            continue
        status = (str(status).strip().lower() if status is not None else "open") or "open"
        if status not in STATUSES:
            raise ProjectFileError(p, f"status must be one of {', '.join(STATUSES)}, got {clip(status, 60)!r}",
                                   SHEET_CHECKLIST, f"D{r}")
        d = as_date(when)
        if when is not None and d is None:
            raise ProjectFileError(p, f"date must be a date, got {clip(repr(when), 60)}", SHEET_CHECKLIST, f"G{r}")
        items.append(ChecklistItem(section=str(section or ""), item=str(item or ""), owner=str(owner or ""),
                                   status=status, value=value, reason=reason, date=d))
    return items
