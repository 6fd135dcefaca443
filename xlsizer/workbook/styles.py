"""One look for every generated workbook: inputs look like inputs, formulas like formulas."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")      # pale yellow: type here
FORMULA_FILL = PatternFill("solid", fgColor="DDEBF7")    # pale blue: computed, locked
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")     # dark blue header rows
SECTION_FILL = PatternFill("solid", fgColor="D9D9D9")    # grey section labels
MIRROR_FILL = PatternFill("solid", fgColor="EDEDED")     # read-only copies of inputs set elsewhere

FONT_NAME = "Calibri"  # named, so LibreOffice substitutes a sans font as for the body text, not a serif one
TITLE_FONT = Font(name=FONT_NAME, bold=True, size=16, color="1F4E78")
HEADER_FONT = Font(name=FONT_NAME, bold=True, color="FFFFFF")
BOLD = Font(name=FONT_NAME, bold=True)
NOTE_FONT = Font(name=FONT_NAME, italic=True, color="595959")
FORMULA_FONT = Font(name=FONT_NAME, color="1F3864")

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


# --- row heights ---------------------------------------------------------------------------------
# Excel and LibreOffice do not grow a row for wrapped text when the file sets no height, and
# openpyxl cannot measure text, so writers set each height from the text's length.
LINE_PT = 15.0
"""Height of one line of 11-pt text, in points (Excel's default row height)."""
CHARS_PER_WIDTH = 1.1
"""Characters of 11-pt regular text per unit of column width, on the safe side. A width unit
is one '0' of Calibri 11; mixed text averages about 1.2 characters per unit in Calibri and,
measured on LibreOffice renders with DejaVu Sans standing in for Calibri, 1.2 for regular and
1.05 for bold text (``BOLD_WIDTH``). 1.1 keeps wrapped text inside its row in both."""
BOLD_WIDTH = 1.12
"""Bold text is about 12 % wider than regular (DejaVu Sans Bold vs Book, measured on renders)."""
NAME_FONT = Font(name=FONT_NAME, size=8, color="7F7F7F")
"""The field name beside an input's label: small and grey, there for formulas."""
SUBSECTION_FONT = Font(name=FONT_NAME, bold=True, italic=True, color="1F4E78")
STEP_FILL = PatternFill("solid", fgColor="1F4E78")
STEP_FONT = Font(name=FONT_NAME, bold=True, size=12, color="FFFFFF")
REFERENCE_FILL = PatternFill("solid", fgColor="F2F2F2")   # defaults and lookup tables: read, not typed


def text_lines(text: str, width: float, size: float = 11.0, bold: bool = False) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` units wide at ``size`` points."""
    import textwrap

    per_line = max(1, int(width * CHARS_PER_WIDTH * 11.0 / size / (BOLD_WIDTH if bold else 1.0)))
    return sum(max(1, len(textwrap.wrap(part, per_line, break_long_words=True))) for part in str(text).split("\n"))


def fit_row_heights(ws, texts: dict[str, object] | None = None, first_row: int = 1) -> None:
    """Set the height of every row from ``first_row`` that holds wrapped text, so the text fits.

    ``texts`` gives the text of formula cells ({"B7": stored result}); merged cells count the
    width of their whole range. Rows without wrapped text keep the default height."""
    from openpyxl.utils import get_column_letter

    texts = texts or {}
    merged = {}
    for rng in ws.merged_cells.ranges:
        merged[(rng.min_row, rng.min_col)] = sum(
            ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(rng.min_col, rng.max_col + 1))
    for row in ws.iter_rows(min_row=first_row):
        need = 0.0
        for c in row:
            if c.value is None or not (c.alignment and c.alignment.wrap_text):
                continue
            if c.coordinate in texts:
                text = texts[c.coordinate]
            elif isinstance(c.value, str) and not c.value.startswith("="):
                text = c.value
            else:
                continue  # a number, a date or a formula without a known result
            if text is None:
                continue
            width = merged.get((c.row, c.column), ws.column_dimensions[get_column_letter(c.column)].width or 8.43)
            size = float(c.font.sz or 11) if c.font else 11.0
            lines = text_lines(str(text), width - 1, size, bool(c.font and c.font.b))
            need = max(need, lines * LINE_PT * size / 11.0 + 3)
        if need > LINE_PT + 3:
            ws.row_dimensions[row[0].row].height = round(need, 1)
