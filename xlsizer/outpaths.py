"""Where the command line writes: checked before any work, so a bad ``--out`` is one named
reason (exit 2) and nothing of the user's is overwritten without ``--force`` (issue 15)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from xlsizer.errors import XlsizerError, clip


def ensure_folder(path: str | os.PathLike[str], flag: str = "--out", create: bool = True) -> Path:
    """``path`` as an existing folder, created if missing; an ``XlsizerError`` naming the flag,
    the path and the reason if it is a file or cannot be created. With ``create=False`` only
    checks, so a command that may find nothing to do leaves no empty folder behind."""
    p = Path(path)
    shown = clip(str(p), 200)
    if p.exists() and not p.is_dir():
        raise XlsizerError(f"{flag} {shown}: exists and is not a folder; name a folder")
    if not create:
        base = next((a for a in (p, *p.absolute().parents) if a.exists()), None)
        if base is None or not base.is_dir() or not os.access(base, os.W_OK):
            raise XlsizerError(f"{flag} {shown}: cannot create the folder ({clip(str(base), 200)} is not a "
                               "writable folder)")
        return p
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XlsizerError(f"{flag} {shown}: cannot create the folder ({exc.strerror or type(exc).__name__})"
                           ) from None
    if not os.access(p, os.W_OK):
        raise XlsizerError(f"{flag} {shown}: the folder is not writable")
    return p


def check_new_file(path: str | os.PathLike[str], force: bool = False) -> Path:
    """``path`` for a new file: refused if something is there already, unless ``force``."""
    p = Path(path)
    if p.exists() and (p.is_dir() or not force):
        what = "a folder" if p.is_dir() else "a file"
        hint = "" if p.is_dir() else "; use --force to overwrite it, or choose another name"
        raise XlsizerError(f"{clip(str(p), 200)}: {what} of that name exists{hint}")
    return p


REPORT_SUBJECT = "xlsizer report"
PORTFOLIO_SUBJECT = "xlsizer portfolio"
"""The document subject (docProps/core.xml) of report and portfolio workbooks: how a batch tells
its own earlier output, which ``--force`` may replace, from a user's workbook of the same name,
which it never replaces (issue 24)."""
VALUES_SUBJECT = "xlsizer values"
"""The subject of a values-only copy (``xlsizer freeze``): a batch leaves it out with that reason
instead of failing on it (``freeze`` writes it beside the project, in the projects folder)."""
LEGACY_SHEETS = (("Summary", "Details", "Waterfall", "Sensitivity", "Warnings", "Checklist", "Assumptions"),
                 ("Portfolio", "Headlines", "Failures"))
"""Sheets of a report and of a portfolio written before the subject marks: such a file, saved
by openpyxl (its default creator), is an earlier batch's output too, so ``--force`` after an
upgrade replaces it instead of calling it the user's."""
LEGACY_VALUES_SHEETS = ("Summary", "Input values", "Results", "Warnings", "Explanation", "Checklist")
"""Sheets of a values-only copy written before its subject mark (its creator "xlsizer")."""
MARKDOWN_FIRST_LINE = "# Sizing decision log: "
"""First line of every Markdown decision log: the same mark for ``--format md`` outputs."""
_KINDS = {REPORT_SUBJECT: "a report", PORTFOLIO_SUBJECT: "a portfolio", VALUES_SUBJECT: "a values-only copy"}


def _zip_member(p: Path, name: str) -> str | None:
    """A small member (at most 64 KiB) of the zip ``p`` as text; None if absent, larger or unreadable."""
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            info = z.getinfo(name)
            if info.file_size > 1 << 16:
                return None
            return z.read(info).decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, EOFError):
        return None


def xlsizer_output(path: str | os.PathLike[str]) -> str | None:
    """What xlsizer output ``path`` is, by the marks above ("a report", "a portfolio", "a
    values-only copy", "a decision log"; a report or portfolio from before the marks by its
    sheets), or None for anything else: a project, or a user's own file. At most 64 KiB of each
    of two zip members is read."""
    import re

    p = Path(path)
    if p.suffix.lower() == ".md":
        try:
            with p.open("rb") as fh:
                head = fh.read(len(MARKDOWN_FIRST_LINE.encode())).decode("utf-8", "replace")
        except OSError:
            return None
        return "a decision log" if head == MARKDOWN_FIRST_LINE else None
    core = _zip_member(p, "docProps/core.xml")
    if core is None:
        return None
    m = re.search(r"<(?:[\w.-]+:)?subject\b[^>]*>([^<]*)</", core)  # Excel keeps it when it re-saves
    if m:
        return _KINDS.get(m.group(1))
    creator = re.search(r"<(?:[\w.-]+:)?creator\b[^>]*>([^<]*)</", core)
    if not creator or creator.group(1) not in ("openpyxl", "xlsizer"):
        return None
    book = _zip_member(p, "xl/workbook.xml") or ""
    sheets = tuple(re.findall(r'<(?:[\w.-]+:)?sheet\b[^>]*\bname="([^"]*)"', book))
    if creator.group(1) == "xlsizer":
        return "a values-only copy" if sheets == LEGACY_VALUES_SHEETS else None
    return {LEGACY_SHEETS[0]: "a report", LEGACY_SHEETS[1]: "a portfolio"}.get(sheets)


def written_by_xlsizer(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a report, portfolio or decision log a batch wrote (``xlsizer_output``),
    which ``--force`` may replace. Anything else, a values-only copy included (``freeze`` wrote
    it, not a batch), counts as the user's own file."""
    return xlsizer_output(path) in ("a report", "a portfolio", "a decision log")


def check_outputs(targets: list[Path], force: bool) -> None:
    """Refuse before any work if an output would replace a file: without ``force`` any existing
    file (named, up to five); with ``force`` still any file a batch did not write (a user's own
    workbook named like a report, e.g. when ``--out`` is the projects folder)."""
    existing = [t for t in targets if t.exists() or t.is_symlink()]
    if not existing:
        return

    def names(paths: list[Path]) -> str:
        shown = ", ".join(clip(str(p), 120) for p in paths[:5])
        return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")

    foreign = [t for t in existing if t.is_dir() or t.is_symlink() or not written_by_xlsizer(t)]
    if foreign:
        raise XlsizerError(f"{names(foreign)}: exists and is not a report xlsizer wrote; it is never replaced "
                           "(move it, or choose another --out)")
    if not force:
        raise XlsizerError(f"{names(existing)}: exists; use --force to replace the earlier reports, or choose "
                           "another --out")


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE: int = _file_mode()
"""Permissions of a file xlsizer writes: 0666 less the process umask (what ``open`` gives)."""


def save_atomic(write: Callable[[str], None], target: str | os.PathLike[str]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``target``, then rename it over
    ``target``. On any failure the temporary file is removed and ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".~{target.stem}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; a written file gets the usual permissions
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def write_text_atomic(text: str, target: str | os.PathLike[str]) -> Path:
    """Write ``text`` (UTF-8) to ``target`` whole or not at all (``save_atomic``)."""
    return save_atomic(lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), target)


PROJECT_NAME_MAX = 255
"""Most characters of a project name: it titles the Start sheet and the reports (a cell holds
32,767, a title line far fewer) and gives the file name (255 bytes on common file systems)."""
FILE_STEM_MAX = 100
"""Most characters of the file name made from a project name (before .xlsx)."""
FILE_STEM_MAX_BYTES = 200
"""...and most UTF-8 bytes of it: a file name may hold 255 bytes (NTFS, ext4, APFS)."""
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                              *(f"lpt{i}" for i in range(1, 10))})
"""Names Windows keeps for devices, with any extension ("con.xlsx" cannot be created there)."""


def project_name(name: str) -> str:
    """The project's name as ``new-project`` was given it, less a trailing ``.xlsx`` (any case):
    the file it writes is NAME.xlsx, and ``new-project plan.xlsx`` wrote plan.xlsx.xlsx titled
    "plan.xlsx"."""
    return name[:-5] if name.lower().endswith(".xlsx") and len(name) > 5 else name


def project_file_stem(name: str) -> str:
    """The file name (without ``.xlsx``) ``new-project`` writes for the project ``name``:
    letters, digits, '.', '_' and '-' kept (any script), other runs become '-', no leading or
    trailing '.' or '-'. A name that makes no file name (nothing left, dots only, a reserved
    device name) or is too long is an ``XlsizerError`` saying so (issue 24: ``new-project ".."``
    wrote "...xlsx", which ``report`` and ``freeze`` could not read)."""
    import re

    if len(name) > PROJECT_NAME_MAX:
        raise XlsizerError(f"the project name is {len(name):,} characters; give one of at most {PROJECT_NAME_MAX}")
    stem = re.sub(r"[^\w.\-]+", "-", name).strip("-.")[:FILE_STEM_MAX]
    while len(stem.encode("utf-8")) > FILE_STEM_MAX_BYTES:
        stem = stem[:-1]
    stem = stem.strip("-.")
    if not stem:
        raise XlsizerError(f"the project name {clip(repr(name), 80)} makes no file name (it needs a letter or "
                           "digit); choose another name")
    if stem.split(".")[0].lower() in WINDOWS_RESERVED:
        raise XlsizerError(f"the project name {clip(repr(name), 80)} would make {stem}.xlsx, a name Windows "
                           "reserves for a device; choose another name")
    return stem
