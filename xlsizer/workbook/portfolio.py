"""portfolio.xlsx: one row per project (Burst scenario, the headline's), readable on paper.

Sheets:
  Portfolio   one row per project: GPU type, GPUs in use and paid for, servers, power, monthly
              cost with its currency, open checklist items, warnings. Totals that mean something:
              power, checklist items and warnings summed over all projects; GPUs and servers
              totalled per GPU type (an H100 and an L40S are not the same thing to buy); money
              totalled per currency (no conversion). Landscape, one page wide, as many pages tall
              as it needs, with the header row repeated on each page.
  Headlines   each project's headline sentence and its report and project files.
  Failures    the projects that got no report, with the reason.

Every total is a native formula (SUM, SUMIF, COUNTIF) written through ``stored.put_formula``
with the value it computes, and the file is saved with ``stored.save_with_values``, so the
totals show in any viewer, with or without the add-in. Text from projects (names, currency,
headlines, paths) goes through ``safe.put_text``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlsizer.results import SizingResult
from xlsizer.workbook.report import (
    all_warnings,
    checklist_items,
    cost_of,
    fit_rows,
    is_open,
    item_field,
)
from xlsizer.workbook.safe import put_text
from xlsizer.workbook.stored import put_formula, save_with_values
from xlsizer.workbook.styles import print_landscape

FONT = "Calibri"
BOLD = Font(name=FONT, bold=True)
TITLE = Font(name=FONT, bold=True, size=14)
NOTE = Font(name=FONT, italic=True, size=9, color="595959")
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="top", wrap_text=True)
INDENT = Alignment(horizontal="left", vertical="top", wrap_text=True, indent=1)
"""Text right of a right-aligned number (currency after the cost): indented so they never touch."""
INT = "#,##0"
D1 = "#,##0.0"

# (header, PortfolioRow attribute, width, number format or None for text)
COLUMNS: tuple[tuple[str, str, float, str | None], ...] = (
    ("Project", "name", 30, None),
    ("GPU", "gpu", 24, None),
    ("GPUs in use", "gpus", 11, INT),
    ("GPUs paid for", "gpus_paid", 11, INT),
    ("Servers", "servers", 11, INT),
    ("IT kW", "it_kw", 9, D1),
    ("Facility kW", "facility_kw", 10, D1),
    ("Monthly cost", "monthly_cost", 13, INT),
    ("Currency", "currency", 10, None),
    ("Pricing", "pricing_model", 9, None),
    ("Open checklist items", "open_items", 12, INT),
    ("Warnings", "warnings", 9, INT),
)
SUMMED = ("it_kw", "facility_kw", "open_items", "warnings")
"""Columns whose grand total means something across projects (kW, counts)."""
HEAD_ROW = 3


@dataclass
class PortfolioRow:
    name: str
    file: str
    report: str
    gpu: str
    gpus: int
    servers: int
    it_kw: float
    facility_kw: float
    monthly_cost: float | None
    open_items: int
    warnings: int
    headline: str
    currency: str = ""
    pricing_model: str = ""
    gpus_paid: int = 0


def portfolio_row(project: Any, result: SizingResult, report: str = "") -> PortfolioRow:
    """The portfolio line of one project (picklable, so --jobs workers can return it)."""
    b = result.burst
    cost = cost_of(b) or {}
    monthly = cost.get("monthly")
    items = checklist_items(project)
    return PortfolioRow(
        name=str(getattr(project, "name", "") or ""), file=str(getattr(project, "path", "") or ""),
        report=report, gpu=b.gpu_name, gpus=b.total_gpus, servers=b.servers, it_kw=b.it_kw,
        facility_kw=b.facility_kw, monthly_cost=float(monthly) if isinstance(monthly, int | float) else None,
        open_items=sum(1 for it in items if is_open(item_field(it, "status"))),
        warnings=len(all_warnings(result)), headline=result.headline,
        currency=str(cost.get("currency", result.inputs.currency)), pricing_model=str(cost.get("pricing_model", "")),
        gpus_paid=int(cost.get("gpus_paid") or b.total_gpus))


def _col(key: str) -> str:
    return get_column_letter(next(i for i, c in enumerate(COLUMNS, start=1) if c[1] == key))


def _header(ws: Worksheet, row: int, titles: Sequence[str], numeric: Sequence[bool]) -> None:
    for j, (t, num) in enumerate(zip(titles, numeric, strict=True), start=1):
        c = ws.cell(row=row, column=j)
        put_text(c, t)
        c.font = BOLD
        c.fill = HEAD_FILL
        c.alignment = RIGHT if num else INDENT if t == "Currency" else LEFT


def _formula(ws: Worksheet, row: int, col: int, formula: str, value: Any, fmt: str) -> None:
    ref = f"{get_column_letter(col)}{row}"
    put_formula(ws, ref, formula, value)
    c = ws[ref]
    c.number_format = fmt
    c.font = BOLD
    c.alignment = RIGHT


def _portfolio_sheet(ws: Worksheet, rows: Sequence[PortfolioRow]) -> None:
    ws.title = "Portfolio"
    put_text(ws["A1"], "Portfolio: the Burst scenario of each project (the one its headline uses)")
    ws["A1"].font = TITLE
    put_text(ws["A2"], "GPUs and servers are totalled per GPU type and money per currency (below the table); "
                       "headlines and files are on the Headlines sheet.")
    ws["A2"].font = NOTE
    _header(ws, HEAD_ROW, [c[0] for c in COLUMNS], [c[3] is not None for c in COLUMNS])
    first = HEAD_ROW + 1
    r = first
    for row in rows:
        for j, (_, key, _w, fmt) in enumerate(COLUMNS, start=1):
            c = ws.cell(row=r, column=j)
            v = getattr(row, key)
            if key == "monthly_cost" and v is None:
                v = "no price"
            put_text(c, v)
            if fmt is not None and isinstance(v, int | float):
                c.number_format = fmt
            c.alignment = RIGHT if fmt is not None else INDENT if key == "currency" else LEFT
        r += 1
    last = max(first, r - 1)
    total = r
    put_text(ws.cell(row=total, column=1), "Total")
    ws.cell(row=total, column=1).font = BOLD
    ws.cell(row=total, column=1).alignment = LEFT
    for j, (_, key, _w, fmt) in enumerate(COLUMNS, start=1):
        if key in SUMMED and fmt is not None:
            col = get_column_letter(j)
            _formula(ws, total, j, f"=SUM({col}{first}:{col}{last})", sum(getattr(x, key) for x in rows), fmt)
    put_text(ws.cell(row=total, column=2), "GPUs: per type below")
    ws.cell(row=total, column=2).font = NOTE
    ws.cell(row=total, column=2).alignment = LEFT

    # totals per GPU type
    r = total + 2
    put_text(ws.cell(row=r, column=1), "Totals by GPU type")
    ws.cell(row=r, column=1).font = BOLD
    r += 1
    _header(ws, r, ["GPU", "Projects", "GPUs in use", "GPUs paid for", "Servers", "IT kW", "Facility kW"],
            [False, True, True, True, True, True, True])
    g = _col("gpu")
    gcol = f"${g}${first}:${g}${last}"
    for gpu in sorted({x.gpu for x in rows}):
        r += 1
        mine = [x for x in rows if x.gpu == gpu]
        put_text(ws.cell(row=r, column=1), gpu)
        ws.cell(row=r, column=1).alignment = LEFT
        _formula(ws, r, 2, f"=COUNTIF({gcol},A{r})", len(mine), INT)
        for j, key, fmt in ((3, "gpus", INT), (4, "gpus_paid", INT), (5, "servers", INT), (6, "it_kw", D1),
                            (7, "facility_kw", D1)):
            col = _col(key)
            _formula(ws, r, j, f"=SUMIF({gcol},A{r},${col}${first}:${col}${last})",
                     sum(getattr(x, key) for x in mine), fmt)
    # totals per currency
    r += 2
    put_text(ws.cell(row=r, column=1), "Totals in money (per currency, no conversion)")
    ws.cell(row=r, column=1).font = BOLD
    r += 1
    _header(ws, r, ["Currency", "Projects", "Projects with a price", "Monthly cost", "Annual cost"],
            [False, True, True, True, True])
    ccol = f"${_col('currency')}${first}:${_col('currency')}${last}"
    mcol = f"${_col('monthly_cost')}${first}:${_col('monthly_cost')}${last}"
    for cur in sorted({x.currency for x in rows}):
        r += 1
        mine = [x for x in rows if x.currency == cur]
        monthly = sum(x.monthly_cost for x in mine if x.monthly_cost is not None)
        put_text(ws.cell(row=r, column=1), cur)
        ws.cell(row=r, column=1).alignment = LEFT
        _formula(ws, r, 2, f"=COUNTIF({ccol},A{r})", len(mine), INT)
        _formula(ws, r, 3, f'=COUNTIFS({ccol},A{r},{mcol},"<>no price")',
                 sum(1 for x in mine if x.monthly_cost is not None), INT)
        _formula(ws, r, 4, f"=SUMIF({ccol},A{r},{mcol})", monthly, INT)
        _formula(ws, r, 5, f"=D{r}*12", monthly * 12, INT)
        put_text(ws.cell(row=r, column=6), f"{cur}/month and {cur}/year")
        ws.cell(row=r, column=6).font = NOTE
        ws.cell(row=r, column=6).alignment = Alignment(horizontal="left", vertical="top", indent=1)  # runs on

    for j, (_, _k, w, _f) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(row=HEAD_ROW + 1, column=2)
    ws.print_title_rows = f"{HEAD_ROW}:{HEAD_ROW}"
    fit_rows(ws, HEAD_ROW)


def _headlines_sheet(wb: Workbook, rows: Sequence[PortfolioRow]) -> None:
    ws = wb.create_sheet("Headlines")
    put_text(ws["A1"], "Headline of each project, with its report and project files")
    ws["A1"].font = TITLE
    _header(ws, 3, ["Project", "Headline (Burst scenario)", "Report", "Project file"], [False] * 4)
    for r, row in enumerate(rows, start=4):
        for j, v in enumerate((row.name, row.headline, row.report, row.file), start=1):
            c = ws.cell(row=r, column=j)
            put_text(c, v)
            c.alignment = LEFT
    for col, w in zip("ABCD", (26, 80, 34, 34), strict=True):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "B4"
    ws.print_title_rows = "3:3"
    fit_rows(ws, 3)


def _left_out_sheet(wb: Workbook, left_out: Sequence[str], notes: Sequence[str]) -> None:
    ws = wb.create_sheet("Left out")
    put_text(ws["A1"], "Workbooks not counted in the totals, and why")
    ws["A1"].font = TITLE
    r = 3
    for line in left_out or ["none"]:
        put_text(ws.cell(row=r, column=1), line).alignment = LEFT
        r += 1
    if notes:
        r += 1
        put_text(ws.cell(row=r, column=1), "Counted, but check").font = BOLD
        for line in notes:
            r += 1
            put_text(ws.cell(row=r, column=1), line).alignment = LEFT
    ws.column_dimensions["A"].width = 140
    fit_rows(ws, 3)
    if left_out or notes:  # said where the totals are, not only on a sheet nobody opens
        said = [f"{len(left_out)} workbook(s) left out of the totals"] if left_out else []
        said += [f"{len(notes)} note(s) on what is counted"] if notes else []
        c = put_text(wb["Portfolio"]["A2"], f"{'; '.join(said)}: see the Left out sheet. "
                                            f"{wb['Portfolio']['A2'].value}")
        c.font = Font(name=FONT, italic=True, bold=True, size=9, color="C00000")


def build_portfolio(rows: Sequence[PortfolioRow], failures: Sequence[str] = (), left_out: Sequence[str] = (),
                    notes: Sequence[str] = ()) -> Workbook:
    """The portfolio as an in-memory workbook (formulas recorded with their values).

    ``left_out``: "FILE: reason" for workbooks the batch did not count (a blank template, a
    second copy of a project); ``notes``: things counted that the planner should check. Both
    are said under the Portfolio sheet's title and listed on the "Left out" sheet."""
    from xlsizer.outpaths import PORTFOLIO_SUBJECT

    wb = Workbook()
    wb.properties.creator = "xlsizer"
    wb.properties.subject = PORTFOLIO_SUBJECT  # a later batch may replace it (--force), never a user's file
    _portfolio_sheet(wb.active, rows)
    _headlines_sheet(wb, rows)
    fs = wb.create_sheet("Failures")
    put_text(fs["A1"], "Projects that got no report")
    fs["A1"].font = TITLE
    for i, line in enumerate(failures, start=3):
        c = fs.cell(row=i, column=1)
        put_text(c, line)
        c.alignment = LEFT
    if not failures:
        fs["A3"] = "none"
    fs.column_dimensions["A"].width = 140
    fit_rows(fs, 3)
    _left_out_sheet(wb, left_out, notes)
    print_landscape(wb)  # one page wide, as many pages tall as needed
    for ws in wb.worksheets:
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
    return wb


def write_portfolio(rows: Sequence[PortfolioRow], out_path: str | os.PathLike[str],
                    failures: Sequence[str] = (), left_out: Sequence[str] = (), notes: Sequence[str] = ()) -> Path:
    """Write portfolio.xlsx atomically, totals with their stored values; returns its path."""
    return save_with_values(build_portfolio(rows, failures, left_out, notes), out_path)
