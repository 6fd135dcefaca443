"""Expected failures, kept apart from bugs so callers (CLI, Excel cells, batch reports)
can report them in one short line.

Anything that is not an ``XlsizerError`` is a defect in xlsizer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

QUOTE_MAX = 60
"""Most characters of a bad value an error message quotes: a cell holds 32,767 characters and
a range can arrive as a value; the message must stay one readable line."""


def clip(text: str, limit: int = QUOTE_MAX) -> str:
    """``text`` cut to at most ``limit`` characters (``limit`` >= 40), saying how long it was."""
    text = str(text)
    if len(text) <= limit:
        return text
    tail = f"... ({len(text):,} characters)"
    return f"{text[: max(limit - len(tail), 10)]}{tail}"


LINE_WORD_MAX = 260
"""Most characters of one word (a run without spaces: a pasted value, a path, a name) that a
command-line error line shows; the rest is cut with an ellipsis and the word's length. 260 is
Windows' MAX_PATH: an error must name the file whole, so any path a planner can have fits."""
LINE_MAX = 800
"""Most characters of one command-line error line (about ten terminal lines: two whole paths
and the reason)."""


def one_line(message: str) -> str:
    """``message`` as one bounded line for the terminal: its first line, each over-long word
    cut by ``clip`` (the reason after it is kept), then the whole at most about ``LINE_MAX``
    characters. A 100,000-character argument no longer fills the screen (issue 24)."""
    lines = str(message).splitlines()
    text = lines[0] if lines else ""
    text = re.sub(rf"\S{{{LINE_WORD_MAX + 1},}}", lambda m: clip(m.group(), LINE_WORD_MAX), text)
    return clip(text, LINE_MAX)


def quote(value: Any, limit: int = QUOTE_MAX) -> str:
    """A bad value as an error message shows it: ``repr`` for text and numbers, a shape for a
    range, "nothing" for a missing one (an empty cell; Python's "None" means nothing to a
    planner), and never more than about ``limit`` characters."""
    if value is None:
        return "nothing"
    if isinstance(value, list | tuple):
        rows = len(value)
        cols = max((len(r) for r in value if isinstance(r, list | tuple)), default=1)
        return f"a range of {rows} x {cols} cells"
    if isinstance(value, dict):
        return f"an object of {len(value)} fields"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"  # str() refuses > 4,300
    text = repr(value)
    if len(text) <= limit:
        return text
    return clip(text, limit)


class XlsizerError(Exception):
    """Base class of every expected, user-facing error."""

    def short(self) -> str:
        """One line suitable for an Excel cell or a batch log."""
        return str(self).splitlines()[0] if str(self) else type(self).__name__


class InputError(XlsizerError, ValueError):
    """An input value is outside what the model accepts.

    Carries the field, the value and the allowed range so that every front end can show the
    same message: ``target_tpot_ms must be between 5 and 1000, got -3``.
    """

    def __init__(self, field: str, value: Any, allowed: str, detail: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        msg = f"{clip(field)} must be {allowed}, got {quote(value)}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class UnknownInputError(InputError):
    """An input name the sizer does not know (a typo in a JSON file, ``--set`` or a UDF's
    names): says so and names the closest input names, not "must be ..., got <its value>"."""

    def __init__(self, name: str, value: Any, suggestions: Iterable[str]):
        super().__init__(name, value, "a known input name")
        close = list(suggestions)
        hint = (f"; closest: {', '.join(close)}" if close
                else "; the Inputs sheet's column B and `xlsizer inputs` list the names")
        self.args = (f"unknown input {quote(name)}{hint}",)


class UnknownIdError(XlsizerError, KeyError):
    """A model or GPU id is not in the catalog; names the closest ids."""

    def __init__(self, kind: str, value: str, suggestions: Iterable[str]):
        self.kind = kind
        self.value = value
        self.suggestions = list(suggestions)
        hint = f"; closest: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"unknown {kind} {quote(value)}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class UnsupportedPrecisionError(XlsizerError):
    """The GPU has no hardware support for the requested compute precision.

    The catalog marks support by the presence of a dense-FLOPS figure; xlsizer never
    extrapolates one precision's FLOPS from another's.
    """

    def __init__(self, gpu_id: str, precision: str):
        self.gpu_id = gpu_id
        self.precision = precision
        super().__init__(f"{gpu_id} has no {precision} support (no dense {precision} FLOPS in the catalog)")


class InfeasibleError(XlsizerError):
    """No configuration in the catalog satisfies the inputs (memory, bandwidth, SLO)."""


class CatalogError(XlsizerError):
    """The packaged catalog data is inconsistent (a defect in the data, caught at load)."""


class ProjectFileError(XlsizerError):
    """A project workbook could not be read: names the file, sheet, cell and problem."""

    def __init__(self, path: str, problem: str, sheet: str | None = None, cell: str | None = None):
        problem = " ".join(str(problem).split())  # one line: parser messages carry newlines
        self.path = path
        self.sheet = sheet
        self.cell = cell
        self.problem = problem
        where = path if len(path) <= 200 else clip(path, 200)
        if sheet:  # cells are written one way everywhere: FILE: Inputs!C12: problem
            where += f": {sheet}" + (f"!{cell}" if cell else "")
        super().__init__(f"{where}: {problem}")


class NotAProjectError(ProjectFileError):
    """The workbook is one xlsizer wrote (``kind``: "a report", "a values-only copy", ...; see
    ``outpaths.xlsizer_output``), not a project: a folder batch leaves it out instead of failing."""

    def __init__(self, path: str, kind: str):
        self.kind = kind
        super().__init__(path, f"{kind} xlsizer wrote, not a project workbook (no Inputs sheet): use the project "
                         "it was made from")
