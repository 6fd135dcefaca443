"""``xlsizer freeze PROJECT.xlsx``: a values-only copy of a project for people without the add-in.

The copy holds no formula at all, so it reads the same in Excel without xlwings, Excel on a
Mac or the web, LibreOffice, Numbers or a mail preview. It is computed afresh from the
project's saved inputs (not from whatever values the file last cached), through the same
functions the workbook's formulas call, so its numbers are the template's numbers:

- Summary: project, source file, when it was frozen, the headline, the notes.
- Input values: every input with its value (defaults included), unit, owner and description.
- Results: the template's result rows and the VRAM waterfall for Baseline, Burst, Resilient.
- Warnings: every warning by scenario.
- Explanation: the step-by-step chain of the Burst scenario (value, unit, formula, source).
- Checklist: the decision log as the project holds it.

The source is only read. The copy is written atomically; an existing file is replaced only
with ``force`` (``--force``), and never the source itself.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from xlsizer.errors import XlsizerError

SUFFIX = "-values.xlsx"


def default_out(source: Path) -> Path:
    """``PROJECT-values.xlsx`` beside the source."""
    return source.with_name(source.stem + SUFFIX)


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str | dt.date):
        return v
    return str(getattr(v, "value", v))


def build_frozen(project: Any, frozen_at: dt.datetime | None = None) -> Workbook:
    """The values-only workbook for a read project (``workbook.project.Project``)."""
    from xlsizer import cells
    from xlsizer.api import size
    from xlsizer.outpaths import VALUES_SUBJECT
    from xlsizer.results import SCENARIOS
    from xlsizer.workbook import styles as st
    from xlsizer.workbook.report import all_warnings
    from xlsizer.workbook.safe import put_text
    from xlsizer.workbook.template import RESULT_ROWS, VRAM_TITLE, WATERFALL_ROWS, field_infos

    inputs = project.inputs
    result = size(inputs)
    if frozen_at is None and os.environ.get("SOURCE_DATE_EPOCH"):  # reproducible output asked for
        from xlsizer.workbook.stored import stamp_time

        frozen_at = stamp_time()
    when = (frozen_at or dt.datetime.now()).replace(microsecond=0)
    wb = Workbook()
    wb.properties.creator = "xlsizer"
    wb.properties.title = f"{project.name} (values)"
    wb.properties.subject = VALUES_SUBJECT  # a batch over the projects folder leaves it out, saying why

    ws = wb.active
    ws.title = "Summary"
    ws["A1"] = "xlsizer project: values only (no formulas; made by xlsizer freeze)"
    ws["A1"].font = st.TITLE_FONT
    rows = (("Project", project.name), ("Source file", str(project.path)), ("Frozen at", when),
            ("Headline (Burst scenario)", result.headline), ("Notes", project.notes))
    for i, (label, value) in enumerate(rows, start=3):
        ws.cell(i, 1, label).font = st.BOLD
        c = put_text(ws.cell(i, 2), _cell(value))
        c.alignment = st.WRAP
    ws["B5"].number_format = "yyyy-mm-dd hh:mm"
    ws["A9"] = ("These numbers were computed by xlsizer from the inputs saved in the source file. To change an "
                "input, edit the source project in Excel with the xlsizer add-in and freeze it again.")
    ws["A9"].font = st.NOTE_FONT
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110

    wi = wb.create_sheet("Input values")  # not "Inputs": a frozen copy must never pass for a project
    header = ("Step", "Input", "Value", "Unit", "Owner of the decision", "What it is")
    for j, h in enumerate(header, start=1):
        wi.cell(1, j, h)
    st.style_header(wi[1])
    for i, f in enumerate(field_infos(), start=2):
        v = getattr(inputs, f.name)
        if f.name == "target_tpot_ms" and v is None:
            v = inputs.tpot_ms  # the preset's value, as the sizing used it
        elif f.name == "target_ttft_ms" and v is None:
            v = inputs.ttft_ms
        for j, value in enumerate((f.step, f.name, _cell(v), f.unit, f.owner, f.description), start=1):
            put_text(wi.cell(i, j), value)
    for col, w in zip("ABCDEF", (16, 30, 22, 10, 22, 80), strict=True):
        wi.column_dimensions[col].width = w
    wi.freeze_panes = "C2"

    wr = wb.create_sheet("Results")
    titles = ("Result", "Unit", *(s.capitalize() for s in SCENARIOS), "Field")
    for j, h in enumerate(titles, start=1):
        wr.cell(1, j, h)
    st.style_header(wr[1])
    r = 2
    for block_title, block in ((None, RESULT_ROWS), (VRAM_TITLE, WATERFALL_ROWS)):
        if block_title:
            r += 1
            wr.cell(r, 1, block_title).font = st.BOLD
            r += 1
        for row in block:
            wr.cell(r, 1, row.label).font = st.BOLD
            wr.cell(r, 2, row.unit)
            for j, sc in enumerate(SCENARIOS, start=3):
                value = cells.result_field(inputs, row.field, sc)  # what =LLM_RESULT(Inputs, field, sc) shows
                c = put_text(wr.cell(r, j), value)
                c.number_format = row.number_format
            wr.cell(r, 3 + len(SCENARIOS), row.field).font = st.NOTE_FONT
            r += 1
    for col, w in zip("ABCDEF", (44, 12, 24, 24, 24, 30), strict=True):
        wr.column_dimensions[col].width = w
    wr.freeze_panes = "C2"

    ww = wb.create_sheet("Warnings")
    for j, h in enumerate(("Scenario", "Warning"), start=1):
        ww.cell(1, j, h)
    st.style_header(ww[1])
    warns = all_warnings(result)
    for i, (sc, w) in enumerate(warns or [("all", "no warnings")], start=2):
        ww.cell(i, 1, sc)
        put_text(ww.cell(i, 2), w).alignment = st.WRAP
    ww.column_dimensions["A"].width = 12
    ww.column_dimensions["B"].width = 120

    we = wb.create_sheet("Explanation")
    for j, h in enumerate(("Step", "Value", "Unit", "Formula", "Source"), start=1):
        we.cell(1, j, h)
    st.style_header(we[1])
    steps = [s for s in result.explain() if s.scenario in ("all", "burst")]
    for i, s in enumerate(steps, start=2):
        for j, v in enumerate((s.name, _cell(s.value), s.unit, s.formula, s.source), start=1):
            put_text(we.cell(i, j), v)
    for col, w in zip("ABCDE", (30, 16, 12, 60, 50), strict=True):
        we.column_dimensions[col].width = w

    wc = wb.create_sheet("Checklist")
    cols = ("Section", "Item", "Owner", "Status", "Value", "Reason", "Date")
    for j, h in enumerate(cols, start=1):
        wc.cell(1, j, h)
    st.style_header(wc[1])
    for i, it in enumerate(project.checklist, start=2):
        for j, v in enumerate((it.section, it.item, it.owner, it.status, it.value, it.reason, it.date), start=1):
            c = put_text(wc.cell(i, j), _cell(v))
            c.alignment = st.WRAP
        wc.cell(i, 7).number_format = "yyyy-mm-dd"
    for col, w in zip("ABCDEFG", (26, 70, 20, 14, 24, 50, 12), strict=True):
        wc.column_dimensions[col].width = w
    st.print_landscape(wb)
    return wb


def freeze(source: str | Path, out: str | Path | None = None, force: bool = False) -> Path:
    """Write the values-only copy of ``source``; returns its path. ``XlsizerError`` if the
    target exists (without ``force``) or is the source itself."""
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.stored import save_with_values

    src = Path(source)
    target = Path(out) if out else default_out(src)
    if target.exists() and src.exists() and target.resolve() == src.resolve():
        raise XlsizerError(f"{target}: that is the project itself; freeze never writes over its source")
    if target.exists() and not force:
        raise XlsizerError(f"{target} exists; pass --force to replace it, or --out another file")
    project = read_project(src)
    return save_with_values(build_frozen(project), target)


def register(sub: Any) -> None:
    """Add ``xlsizer freeze`` to the CLI's subcommands."""
    p = sub.add_parser("freeze", help="write a values-only copy of a project (for people without the add-in)")
    p.add_argument("project", metavar="PROJECT.xlsx", help="a filled project workbook (only read)")
    p.add_argument("--out", metavar="FILE", default=None, help="where to write (default: PROJECT-values.xlsx)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=_cmd)


def _cmd(args: Any) -> int:
    print(freeze(args.project, args.out, args.force))
    return 0
