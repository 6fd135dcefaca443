"""portfolio.xlsx: one row per project (Burst scenario, the headline's), totals as native SUM
formulas, and the projects that failed with their reasons."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from xlsizer.results import SizingResult
from xlsizer.workbook.report import all_warnings, checklist_items, cost_of, is_open, item_field, save_atomic
from xlsizer.workbook.safe import put_text
from xlsizer.workbook.styles import print_landscape

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Project", "name"), ("File", "file"), ("Report", "report"), ("GPU", "gpu"),
    ("GPUs", "gpus"), ("Servers", "servers"), ("IT kW", "it_kw"), ("Facility kW", "facility_kw"),
    ("Monthly cost", "monthly_cost"), ("Open checklist items", "open_items"), ("Warnings", "warnings"),
    ("Headline", "headline"),
)
SUMMED = ("gpus", "servers", "it_kw", "facility_kw", "monthly_cost", "open_items", "warnings")


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
        warnings=len(all_warnings(result)), headline=result.headline)


def write_portfolio(rows: Sequence[PortfolioRow], out_path: str | os.PathLike[str],
                    failures: Sequence[str] = ()) -> Path:
    """Write portfolio.xlsx atomically; returns its path."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Portfolio"
    ws["A1"] = "Portfolio (Burst scenario of each project, the one its headline sentence uses)"
    ws["A1"].font = Font(bold=True, size=14)
    head = 3
    for j, (title, _) in enumerate(COLUMNS, start=1):
        c = ws.cell(row=head, column=j, value=title)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="D9E1F2")
    r = head + 1
    for row in rows:
        for j, (_, key) in enumerate(COLUMNS, start=1):
            c = put_text(ws.cell(row=r, column=j), getattr(row, key))  # names, paths: text (issue 15)
            if key in ("it_kw", "facility_kw"):
                c.number_format = "#,##0.0"
            elif key == "monthly_cost":
                c.number_format = "#,##0"
        r += 1
    total_row = r
    ws.cell(row=total_row, column=1, value="Total").font = Font(bold=True)
    for j, (_, key) in enumerate(COLUMNS, start=1):
        if key in SUMMED:
            col = ws.cell(row=head, column=j).column_letter
            c = ws.cell(row=total_row, column=j, value=f"=SUM({col}{head + 1}:{col}{max(head + 1, total_row - 1)})")
            c.font = Font(bold=True)
            if key in ("it_kw", "facility_kw"):
                c.number_format = "#,##0.0"
            elif key == "monthly_cost":
                c.number_format = "#,##0"
    for col, w in zip("ABCDEFGHIJKL", (28, 40, 40, 24, 8, 8, 10, 12, 14, 12, 10, 100), strict=True):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = ws.cell(row=head + 1, column=2)

    fs = wb.create_sheet("Failures")
    fs["A1"] = "Projects that got no report"
    fs["A1"].font = Font(bold=True, size=14)
    for i, line in enumerate(failures, start=3):
        put_text(fs.cell(row=i, column=1), line)
    if not failures:
        fs["A3"] = "none"
    fs.column_dimensions["A"].width = 140
    print_landscape(wb)
    return save_atomic(wb.save, out_path)
