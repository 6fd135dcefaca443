"""Formula cells that carry their computed value, so a workbook shows numbers anywhere.

openpyxl writes a formula with an empty cached value; Excel with the add-in recalculates,
but LibreOffice, Excel on the web or a copy without xlwings show ``#NAME?``. Every writer in
xlsizer puts formulas through this module instead of assigning ``cell.value = "=..."``:

    put_formula(ws, "C5", '=LLM_GPUS(Inputs,"burst")', 24)
    put_array(ws, "A10:A25", '=LLM_WARNINGS(Inputs,"burst")', [[w] for w in warnings])
    save_with_values(wb, path)      # atomic; injects the recorded values as cached results

How the values get into the file: openpyxl's own writer (``ExcelWriter``) writes into a zip
archive that this module supplies. The archive rewrites each worksheet part that has recorded
values on its way into the zip (one lxml parse of that part, nothing else is re-read), so the
package is compressed once; every zip entry gets a fixed date, so equal workbooks give equal
bytes. The recorded value goes into the formula cell's ``<v>`` the way Excel itself stores a
cached result: a number as is, text with ``t="str"``, a boolean with ``t="b"``, an Excel
error code (``#N/A``...) with ``t="e"``. A legacy array formula stores its result grid in
every cell of its range (cells openpyxl left out are added).

Recalculation (``<calcPr>``): openpyxl marks every file ``fullCalcOnLoad="1"`` with the calc
engine id of Excel 2007 (124519). Either one makes Excel recalculate every formula on open,
which, where the add-in is missing, replaces each stored number with ``#NAME?``. So the file
says instead what a workbook last saved by current Excel says: calc engine 191029 (Excel
2019/2021/365) and no full calculation on load. Calculation mode stays automatic: in Excel
with the add-in, editing an input recalculates every result that depends on it through the
functions, and Ctrl+Alt+F9 recalculates everything. The stored values are the functions'
own answers for the inputs saved in the file, so nothing is stale at open.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.properties import CalcProperties
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from xlsizer.outpaths import save_atomic

_ATTR = "_xlsizer_stored_values"

CALC_ID = 191029
"""Calc engine id of Excel 2019/2021/Microsoft 365 (what those versions write in ``<calcPr>``).
A file with an older id is fully recalculated on open, which without the add-in is ``#NAME?``."""

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""Date of every zip entry (the zip format's epoch, as reproducible builds use): same workbook,
same bytes. The file's own modification time still says when it was written."""

FIXED_TIME = _dt.datetime(2026, 1, 1, 0, 0, 0)
"""The created/modified time written into every workbook's document properties (UTC) when
``SOURCE_DATE_EPOCH`` is not set. openpyxl stamps a new Workbook with the clock to the second,
so two saves either side of a second boundary differed (issue 24); a fixed stamp keeps equal
workbooks byte-equal. The file's own modification time still says when it was written."""


def stamp_time() -> _dt.datetime:
    """Created/modified time for saved workbooks: ``SOURCE_DATE_EPOCH`` (seconds since 1970,
    the reproducible-builds convention) when set, else ``FIXED_TIME``. A malformed value is
    refused, as that convention asks, rather than silently replaced by the clock."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return FIXED_TIME
    try:
        seconds = int(raw)
        return _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        from xlsizer.errors import XlsizerError

        raise XlsizerError(f"SOURCE_DATE_EPOCH={raw[:40]!r}: not a whole number of seconds since 1970-01-01; "
                           "unset it or give e.g. SOURCE_DATE_EPOCH=1767225600") from None

EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!"})
"""Texts stored as real error values (``t="e"``). Anything longer, e.g. the classic add-in's
``"#VALUE! target_tpot_ms must be ..."``, is text: that is what the cell shows in classic Excel."""

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_C = f"{{{_NS}}}c"
_F = f"{{{_NS}}}f"
_V = f"{{{_NS}}}v"
_IS = f"{{{_NS}}}is"
_ROW = f"{{{_NS}}}row"
_SHEETDATA = f"{{{_NS}}}sheetData"


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
    c1, r1, c2, r2 = range_boundaries(ref)
    for row in range(r1, r2 + 1):  # every cell of the range exists, so the sheet's dimension covers it
        for col in range(c1, c2 + 1):
            ws.cell(row, col)
    if isinstance(values, str) or not isinstance(values, Sequence):
        _registry(ws.parent)[(ws.title, ref)] = values  # one value: Excel repeats it over the range
    else:
        _registry(ws.parent)[(ws.title, ref)] = [list(row) if isinstance(row, Sequence) and not isinstance(row, str)
                                                 else [row] for row in values]


def stored_values(wb: Workbook) -> dict[tuple[str, str], Any]:
    """The recorded results: {(sheet title, cell or range ref): value or grid}."""
    return dict(_registry(wb))


def recorded_value(wb: Workbook, sheet: str, ref: str) -> tuple[bool, Any]:
    """(True, value) if a result is recorded for the formula cell ``sheet!ref`` (a single cell,
    also one inside a recorded array range), else (False, None)."""
    reg = _registry(wb)
    ref = ref.replace("$", "").upper()
    if (sheet, ref) in reg:
        return True, reg[(sheet, ref)]
    col, row = coordinate_from_string(ref)
    c = column_index_from_string(col)
    for (title, key), grid in reg.items():
        if title != sheet or ":" not in key:
            continue
        c1, r1, c2, r2 = range_boundaries(key)
        if c1 <= c <= c2 and r1 <= row <= r2:
            return True, _array_cell(grid, row - r1, c - c1)
    return False, None


# --- cell values as OOXML ---------------------------------------------------------------------
def _array_cell(grid: Any, i: int, j: int) -> Any:
    """The value an array formula shows at offset (i, j) of its range, as legacy Excel arrays
    do: a single value fills the range, a single row or column repeats, the rest is #N/A."""
    if not isinstance(grid, list):
        return grid
    if not grid:
        return "#N/A"
    if len(grid) == 1:
        i = 0
    if i >= len(grid):
        return "#N/A"
    row = grid[i]
    if len(row) == 1:
        j = 0
    if j >= len(row):
        return "#N/A"
    return row[j]


def encode(value: Any) -> tuple[str | None, str]:
    """(``t`` attribute or None, ``<v>`` text) for a formula result, the way Excel stores it."""
    if value is None:
        return "str", ""  # a formula that shows an empty cell returns ""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, _dt.datetime | _dt.date | _dt.time | _dt.timedelta):
        value = to_excel(value)
    if isinstance(value, int | float):
        f = float(value)
        if math.isnan(f) or math.isinf(f):
            return "e", "#NUM!"
        if isinstance(value, int) and abs(value) < 2**53:
            return None, str(value)
        return None, repr(f) if not f.is_integer() or abs(f) >= 1e16 else str(int(f))
    text = str(getattr(value, "value", value))  # enums as their value
    if text in EXCEL_ERRORS:
        return "e", text
    return "str", ILLEGAL_CHARACTERS_RE.sub("", text)


def _set_value(c: etree._Element, value: Any) -> None:
    t, text = encode(value)
    if t is None:
        c.attrib.pop("t", None)
    else:
        c.set("t", t)
    for child in c.findall(_IS):  # an inline string would contradict the stored result
        c.remove(child)
    v = c.find(_V)
    if v is None:
        v = etree.SubElement(c, _V)
    v.text = text


class _Grid:
    """The ``<sheetData>`` of one sheet, with its rows and cells found or added in order."""

    def __init__(self, root: etree._Element):
        data = root.find(_SHEETDATA)
        if data is None:  # openpyxl always writes sheetData; be safe anyway
            data = etree.SubElement(root, _SHEETDATA)
        self.data = data
        self.rows: dict[int, etree._Element] = {int(r.get("r")): r for r in data.iter(_ROW)}
        self.cells: dict[str, etree._Element] = {}
        for r in self.rows.values():
            for c in r.iter(_C):
                self.cells[c.get("r")] = c

    def cell(self, col: int, row: int) -> etree._Element:
        ref = f"{get_column_letter(col)}{row}"
        c = self.cells.get(ref)
        if c is not None:
            return c
        r = self.rows.get(row)
        if r is None:
            r = etree.Element(_ROW, r=str(row))
            after = [k for k in self.rows if k < row]
            if after:
                self.rows[max(after)].addnext(r)
            else:
                self.data.insert(0, r)
            self.rows[row] = r
        c = etree.Element(_C, r=ref)
        for other in r.iter(_C):
            if column_index_from_string(coordinate_from_string(other.get("r"))[0]) > col:
                other.addprevious(c)
                break
        else:
            r.append(c)
        if r.get("spans"):  # spans are optional hints; a new cell may fall outside them
            del r.attrib["spans"]
        self.cells[ref] = c
        return c


def inject(xml: bytes, values: dict[str, Any]) -> bytes:
    """A worksheet part with each recorded result stored: ``values`` maps a cell ("B6") to its
    value, or a range ("A10:A25") to its result grid."""
    root = etree.fromstring(xml)
    grid = _Grid(root)
    for ref, value in values.items():
        if ":" in ref:
            c1, r1, c2, r2 = range_boundaries(ref)
            for row in range(r1, r2 + 1):
                for col in range(c1, c2 + 1):
                    _set_value(grid.cell(col, row), _array_cell(value, row - r1, col - c1))
        else:
            col_s, row = coordinate_from_string(ref.replace("$", ""))
            _set_value(grid.cell(column_index_from_string(col_s), row), value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- saving -----------------------------------------------------------------------------------
class _Archive(zipfile.ZipFile):
    """A zip that stores every entry with a fixed date and injects results into worksheet parts."""

    def __init__(self, file: Any, patches: dict[str, dict[str, Any]]):
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._patches = patches
        self.patched: set[str] = set()

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: Any = None,
                 compresslevel: Any = None) -> None:
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else str(zinfo_or_arcname)
        if name in self._patches:
            data = inject(data.encode("utf-8") if isinstance(data, str) else bytes(data), self._patches[name])
            self.patched.add(name)
        info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        super().writestr(info, data)

    def write(self, filename: Any, arcname: Any = None, compress_type: Any = None,  # type: ignore[override]
              compresslevel: Any = None) -> None:
        self.writestr(str(arcname or filename), Path(filename).read_bytes())


def _patches(wb: Workbook) -> dict[str, dict[str, Any]]:
    """Per worksheet part (the name openpyxl gives it: sheetN.xml, N = position among the
    worksheets), the recorded values."""
    part = {ws.title: f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(wb.worksheets, start=1)}
    out: dict[str, dict[str, Any]] = {}
    for (title, ref), value in _registry(wb).items():
        if title not in part:  # the sheet was removed after the formula was written
            continue
        out.setdefault(part[title], {})[ref.replace("$", "").upper()] = value
    return out


def _calc_settings(wb: Workbook) -> None:
    calc = wb.calculation if wb.calculation is not None else CalcProperties()
    calc.calcId = CALC_ID
    calc.fullCalcOnLoad = False
    calc.forceFullCalc = None
    calc.calcMode = calc.calcMode or "auto"
    wb.calculation = calc


def workbook_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes, recorded results stored, fixed zip dates (deterministic)."""
    import io

    _calc_settings(wb)
    when = stamp_time()  # not openpyxl's clock: same workbook, same bytes
    wb.properties.created = when
    wb.properties.modified = when
    patches = _patches(wb)
    buf = io.BytesIO()
    archive = _Archive(buf, patches)
    try:
        ExcelWriter(wb, archive).save()  # closes the archive
    finally:
        if archive.fp is not None:
            archive.close()
    missing = set(patches) - archive.patched
    if missing:  # openpyxl named a sheet part differently: never ship a file without its values
        raise RuntimeError(f"stored results not written for {sorted(missing)}")
    return buf.getvalue()


def save_with_values(wb: Workbook, path: str | os.PathLike[str]) -> Path:
    """Save ``wb`` to ``path`` atomically with every recorded formula result stored in the file.

    The bytes are written to a temporary file beside ``path`` and renamed over it, so a failure
    leaves ``path`` as it was and no half-written file. Equal workbooks give equal bytes.
    """
    data = workbook_bytes(wb)
    return save_atomic(lambda tmp: Path(tmp).write_bytes(data), path)
