"""One look for every generated workbook: inputs look like inputs, formulas like formulas."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")      # pale yellow: type here
FORMULA_FILL = PatternFill("solid", fgColor="DDEBF7")    # pale blue: computed, locked
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")     # dark blue header rows
SECTION_FILL = PatternFill("solid", fgColor="D9D9D9")    # grey section labels
MIRROR_FILL = PatternFill("solid", fgColor="EDEDED")     # read-only copies of inputs set elsewhere

TITLE_FONT = Font(bold=True, size=16, color="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
BOLD = Font(bold=True)
NOTE_FONT = Font(italic=True, color="595959")
FORMULA_FONT = Font(color="1F3864")

UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)
WRAP = Alignment(wrap_text=True, vertical="top")
THIN = Border(bottom=Side(style="thin", color="BFBFBF"))


def style_input(cell) -> None:
    """An editable input cell."""
    cell.fill = INPUT_FILL
    cell.protection = UNLOCKED
    cell.border = THIN


def style_formula(cell) -> None:
    """A computed, locked cell."""
    cell.fill = FORMULA_FILL
    cell.font = FORMULA_FONT
    cell.protection = LOCKED


def style_header(row_cells) -> None:
    for c in row_cells:
        c.fill = HEADER_FILL
        c.font = HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="center")


def style_section(cell) -> None:
    cell.fill = SECTION_FILL
    cell.font = BOLD


def protect(ws) -> None:
    """Sheet protection without a password: a guard against accidental edits of formulas."""
    ws.protection.sheet = True
    ws.protection.formatCells = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def print_landscape(wb) -> None:
    """Every sheet prints landscape, one page wide (as many pages tall as it needs)."""
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
