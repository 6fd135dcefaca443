"""``xlsizer excel setup [WORKBOOK]``: what a Windows user needs for the classic xlwings add-in.

1. Locates the xlwings add-in in Excel's XLSTART folder, or installs it
   (``python -m xlwings.cli addin install``; that command needs Windows and Excel).
2. Writes the workbook's ``xlwings.conf`` sheet: ``UDF Modules`` = ``xlsizer_udfs``,
   ``Interpreter_Win`` = this Python, and ``PYTHONPATH`` only where this Python cannot import
   ``xlsizer_udfs`` by itself (a checkout run through PYTHONPATH rather than pip install).
3. Prints what is left to do in Excel: a one-time Trust Center tick, then the one click,
   **Import Functions**.

Which workbook: without WORKBOOK, a fresh template is written as ``xlsizer-template.xlsx`` in
the current folder (``--out`` to choose). With WORKBOOK, the setup goes into a copy,
``NAME-excel.xlsx`` (``--out`` to choose), unless ``--in-place`` says to change the workbook
itself. An existing file is never replaced without ``--force`` (``--in-place`` is that
permission for WORKBOOK). Only the ``xlwings.conf`` sheet's part of the file is rewritten: every
other part (inputs, stored results, VBA of an ``.xlsm``) is copied byte for byte.

On Linux and macOS (no classic xlwings UDFs) the command says what it would do on Windows and
writes the workbook all the same with the settings a Windows machine would need filled in only
where they are known; ``--dry-run`` writes nothing anywhere.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from xlsizer.errors import XlsizerError

UDF_MODULE = "xlsizer_udfs"
CONF_SHEETS = ("xlwings.conf", "_xlwings.conf")
ADDIN = "xlwings.xlam"
TEMPLATE_NAME = "xlsizer-template.xlsx"


@dataclass
class Host:
    """The machine the setup runs for. Tests build a Windows one with a fake ``run``."""

    system: str                                   # "Windows", "Linux", "Darwin"
    python: str                                   # the interpreter Excel should start
    appdata: Path | None = None                   # %APPDATA% on Windows
    run: Callable[[Sequence[str]], int] = field(default=lambda cmd: subprocess.call(list(cmd)))

    @property
    def windows(self) -> bool:
        return self.system == "Windows"

    @property
    def xlstart(self) -> Path | None:
        """Excel's per-user start-up folder, where the xlwings add-in lives."""
        return self.appdata / "Microsoft" / "Excel" / "XLSTART" if self.appdata else None


def current_host() -> Host:
    import platform

    appdata = os.environ.get("APPDATA")
    return Host(system=platform.system(), python=sys.executable, appdata=Path(appdata) if appdata else None)


# --- what the interpreter can import ------------------------------------------------------------
def module_dir() -> Path:
    """The folder ``xlsizer_udfs`` is imported from in this process."""
    spec = importlib.util.find_spec(UDF_MODULE)
    if spec is None or spec.origin is None:
        raise XlsizerError(f"{UDF_MODULE} is not importable here: install xlsizer first (pip install xlsizer)")
    return Path(spec.origin).resolve().parent


def pythonpath_needed(python: str) -> str | None:
    """The folder to put on xlwings' PYTHONPATH, or None when ``python`` imports the module
    without help (a pip install). Checked by starting ``python`` without PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = f"import importlib.util as u; s = u.find_spec({UDF_MODULE!r}); print(s.origin if s else '')"
    try:
        out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False)
        found = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    here = module_dir()
    if found and Path(found).resolve().parent == here:
        return None
    return str(here)


def conf_rows(python: str | None, pythonpath: str | None) -> list[tuple[str, str]]:
    """The rows of the ``xlwings.conf`` sheet, in xlwings' key names. Without ``python`` (set up
    on a machine that is not Windows) there is no Interpreter_Win row: xlwings then starts the
    ``pythonw`` on the Windows PATH, where a Linux or macOS path would name nothing."""
    rows = [("UDF Modules", UDF_MODULE)]
    if python:
        rows.append(("Interpreter_Win", python))
    if pythonpath:
        rows.append(("PYTHONPATH", pythonpath))
    return rows


# --- the workbook's xlwings.conf sheet, rewritten inside the zip ------------------------------
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _conf_part(z: zipfile.ZipFile) -> str:
    """The zip part of the workbook's xlwings.conf sheet (``XlsizerError`` if it has none)."""
    from lxml import etree

    book = etree.fromstring(z.read("xl/workbook.xml"))
    rid = None
    for sh in book.iter(f"{{{_NS}}}sheet"):
        if sh.get("name") in CONF_SHEETS:
            rid = sh.get(f"{{{_REL_NS}}}id")
            break
    if rid is None:
        raise XlsizerError("the workbook has no xlwings.conf sheet; run the setup on a workbook xlsizer wrote "
                           "(xlsizer template / new-project), or add a sheet named xlwings.conf")
    rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{{{_PKG_REL_NS}}}Relationship"):
        if rel.get("Id") == rid:
            target = rel.get("Target")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise XlsizerError("the workbook's xlwings.conf sheet has no part in the file (damaged workbook)")


def conf_sheet_xml(rows: Sequence[tuple[str, str]]) -> bytes:
    """A worksheet part holding ``rows`` as two columns of text (keys in A, values in B)."""
    cells = []
    for i, (k, v) in enumerate(rows, start=1):
        cells.append(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{escape(k)}</t></is></c>'
                     f'<c r="B{i}" t="inlineStr"><is><t>{escape(v)}</t></is></c></row>')
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
            '<cols><col min="1" max="1" width="18" customWidth="1"/><col min="2" max="2" width="80" customWidth="1"/>'
            f'</cols><sheetData>{"".join(cells)}</sheetData></worksheet>').encode()


def write_conf(source: Path, target: Path, rows: Sequence[tuple[str, str]]) -> Path:
    """Copy ``source`` to ``target`` (atomically; the same path is allowed) with its
    xlwings.conf sheet replaced by ``rows``; every other part is copied unchanged."""
    import contextlib

    from xlsizer.outpaths import save_atomic
    from xlsizer.workbook.project import check_package

    if not zipfile.is_zipfile(source):
        raise XlsizerError(f"{source}: not an Excel workbook (.xlsx/.xlsm)")
    check_package(source)  # a user's file: bounded before any part is read (issue 15)

    def write(tmp: str) -> None:
        with zipfile.ZipFile(source) as zin:
            part = _conf_part(zin)
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
                for info in zin.infolist():
                    data = conf_sheet_xml(rows) if info.filename == part else zin.read(info.filename)
                    zout.writestr(info, data)
        with contextlib.suppress(OSError):  # the user's workbook keeps its permissions
            os.chmod(tmp, source.stat().st_mode & 0o777)

    return save_atomic(write, target)


# --- the command ------------------------------------------------------------------------------
@dataclass
class SetupPlan:
    addin: str = ""
    workbook: Path | None = None
    rows: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _target(workbook: Path | None, out: Path | None, in_place: bool) -> Path:
    if workbook is None:
        return out or Path(TEMPLATE_NAME)
    if in_place:
        if out is not None:
            raise XlsizerError("--in-place and --out exclude each other")
        return workbook
    return out or workbook.with_name(f"{workbook.stem}-excel{workbook.suffix}")


def setup(workbook: str | Path | None = None, out: str | Path | None = None, in_place: bool = False,
          force: bool = False, dry_run: bool = False, host: Host | None = None) -> SetupPlan:
    """Do (or with ``dry_run`` only describe) the Excel setup; returns what was done."""
    host = host or current_host()
    plan = SetupPlan()
    src = Path(workbook) if workbook is not None else None
    if src is not None and not src.exists():
        raise XlsizerError(f"{src}: no such file")
    target = _target(src, Path(out) if out else None, in_place)
    if target.exists() and not force and not (in_place and target == src):
        raise XlsizerError(f"{target} exists; pass --force to replace it (or --in-place to change WORKBOOK itself)")

    # 1. the add-in
    if not host.windows:
        plan.addin = (f"classic xlwings functions run only in Excel for Windows (this is {host.system}); on Windows "
                      f"this step finds {ADDIN} in Excel's XLSTART folder or runs: "
                      f"{host.python} -m xlwings.cli addin install. Mac and Excel on the web: see xlsizer lite.")
    elif host.xlstart is not None and (host.xlstart / ADDIN).exists():
        plan.addin = f"xlwings add-in found: {host.xlstart / ADDIN}"
    elif dry_run:
        plan.addin = f"would run: {host.python} -m xlwings.cli addin install"
    else:
        code = host.run([host.python, "-m", "xlwings.cli", "addin", "install"])
        if code != 0:
            raise XlsizerError("xlwings addin install failed (is Excel installed and closed?); run it by hand: "
                               f"{host.python} -m xlwings.cli addin install")
        plan.addin = "xlwings add-in installed into Excel's XLSTART folder"
    plan.lines.append(f"1. Add-in: {plan.addin}")

    # 2. the xlwings.conf sheet
    if host.windows:
        plan.rows = conf_rows(host.python, pythonpath_needed(host.python))
    else:  # this machine's interpreter and folders mean nothing to Excel for Windows (issue 24)
        plan.rows = conf_rows(None, None)
    plan.workbook = target
    settings = "; ".join(f"{k} = {v}" for k, v in plan.rows)
    if dry_run:
        plan.lines.append(f"2. Would write {target} with its xlwings.conf sheet: {settings}")
    else:
        if src is None:
            from xlsizer.workbook.template import write_template

            tmp_template = target.with_name(f".~{target.stem}.template.xlsx")
            try:
                write_template(tmp_template)
                write_conf(tmp_template, target, plan.rows)
            finally:
                tmp_template.unlink(missing_ok=True)
        else:
            write_conf(src, target, plan.rows)
        plan.lines.append(f"2. Wrote {target}: its xlwings.conf sheet says {settings}")
    if not host.windows:
        plan.lines.append(f"   Interpreter_Win and PYTHONPATH are left out: a path on this {host.system} machine means "
                          "nothing to Excel for Windows (xlwings then starts the pythonw on the Windows PATH). On the "
                          f"Windows PC run: py -m xlsizer excel setup {target.name} --in-place")

    # 3. what is left in Excel
    plan.lines.append("3. Left to do in Excel (Windows):")
    plan.lines.append("   once per computer: File > Options > Trust Center > Trust Center Settings > Macro Settings, "
                      "tick 'Trust access to the VBA project object model';")
    plan.lines.append(f"   then open {target.name}, go to the xlwings tab and click Import Functions "
                      "(save the workbook as .xlsm when Excel asks). The results then recalculate live.")
    return plan


def register(sub: Any) -> None:
    """Add ``xlsizer excel setup`` to the CLI's subcommands."""
    p = sub.add_parser("excel", help="set up Excel (classic xlwings add-in on Windows)")
    sub2 = p.add_subparsers(dest="excel_command", required=True, parser_class=type(p))
    s = sub2.add_parser("setup", help="install or find the xlwings add-in and write a workbook's xlwings.conf sheet")
    s.add_argument("workbook", metavar="WORKBOOK", nargs="?", default=None,
                   help=f"workbook to set up (default: a fresh template, {TEMPLATE_NAME})")
    s.add_argument("--out", metavar="FILE", default=None,
                   help="where to write (default: NAME-excel.xlsx beside WORKBOOK, or ./xlsizer-template.xlsx)")
    s.add_argument("--in-place", action="store_true", help="change WORKBOOK itself (only its xlwings.conf sheet)")
    s.add_argument("--force", action="store_true", help="replace the output file if it exists")
    s.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    s.set_defaults(func=_cmd)


def _cmd(args: Any) -> int:
    plan = setup(args.workbook, args.out, args.in_place, args.force, args.dry_run)
    print("\n".join(plan.lines))
    return 0
