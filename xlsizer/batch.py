"""Batch reports: a folder of filled templates in, one report per project and portfolio.xlsx out.

Each project is handled in isolation: an expected failure (``ProjectFileError`` and the other
``XlsizerError``s) becomes one line ``FILE: sheet!cell: reason``; anything else becomes one
line with the exception type and message; the batch never stops for one project. Reports are
written atomically (see ``outpaths.save_atomic``); project workbooks are only read.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from xlsizer.errors import ProjectFileError, XlsizerError
from xlsizer.outpaths import ensure_folder

FORMATS = ("xlsx", "md")
PROJECT_SUFFIXES = (".xlsx", ".xlsm")
"""Project workbooks a folder is searched for: the template saved as is, or as a macro-enabled
workbook after xlwings' Import Functions (docs/excel.md). A project is only read, never written,
so an .xlsm is opened without its VBA (openpyxl keep_vba=False): the macros are never needed."""
PORTFOLIO = "portfolio.xlsx"
SUFFIX = {"xlsx": "-report.xlsx", "md": "-decision-log.md"}


@dataclass
class Outcome:
    """What happened to one project (picklable: workers return it)."""

    path: str
    output: str | None = None
    row: object | None = None  # workbook.portfolio.PortfolioRow
    failure: str | None = None


@dataclass
class BatchSummary:
    total: int = 0
    ok: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    portfolio: Path | None = None
    seconds: float = 0.0
    others: dict[str, int] = field(default_factory=dict)  # files of other kinds in the folders, by suffix

    @property
    def line(self) -> str:
        """One summary line for the terminal."""
        where = f" in {self.portfolio.parent}" if self.portfolio else ""
        skipped = f"; skipped {describe_others(self.others)}" if self.others else ""
        return (f"{self.ok} of {self.total} project(s) reported{where}, {self.failed} failed "
                f"({self.seconds:.1f} s){skipped}")


def describe_others(others: dict[str, int]) -> str:
    """'3 files of other kinds (2 .csv, 1 .docx)'."""
    n = sum(others.values())
    kinds = ", ".join(f"{c} {k}" for k, c in sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{n} file{'s' if n != 1 else ''} of other kinds ({kinds})"


# --------------------------------------------------------------------------------------------
def expand_paths(paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                 others: dict[str, int] | None = None) -> tuple[list[Path], list[str]]:
    """Files to report on (folders become their ``.xlsx`` and ``.xlsm`` files, sorted; ``~$``
    lock files and the output folder are skipped) and failure lines for paths that do not
    exist. Files of other kinds found in the folders are counted by suffix into ``others``."""
    out = Path(out_dir).resolve()
    files: list[Path] = []
    missing: list[str] = []
    seen: set[Path] = set()

    def add(f: Path) -> None:
        rf = f.resolve()
        if f.name.startswith("~$") or rf in seen:
            return
        if rf.parent == out and (f.name == PORTFOLIO or any(f.name.endswith(s) for s in SUFFIX.values())):
            return
        seen.add(rf)
        files.append(f)

    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if not f.is_file() or f.name.startswith("~$"):
                    continue
                if f.suffix.lower() in PROJECT_SUFFIXES:
                    add(f)
                elif others is not None and not (f.resolve().parent == out and f.name == PORTFOLIO):
                    kind = f.suffix.lower() or "(no extension)"
                    others[kind] = others.get(kind, 0) + 1
        elif p.is_file():
            add(p)
        else:
            missing.append(f"{p}: no such file or folder")
    return files, missing


def failure_line(path: str | os.PathLike[str], exc: BaseException) -> str:
    """``FILE: sheet!cell: reason`` for expected failures, ``FILE: Type: message`` otherwise."""
    if isinstance(exc, ProjectFileError):
        where = ""
        if exc.sheet:
            where = f"{exc.sheet}!{exc.cell}: " if exc.cell else f"{exc.sheet}: "
        return f"{path}: {where}{exc.problem}"
    if isinstance(exc, XlsizerError):
        return f"{path}: {exc.short()}"
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{path}: {type(exc).__name__}" + (f": {msg}" if msg else "")


def report_project(path: str, out_path: str, fmt: str = "xlsx", profile: str | None = None) -> Outcome:
    """Read one project, size it and write its report. Never raises. ``profile``: a
    calibration profile every project uses (``report --profile``), over the project's own."""
    try:
        from xlsizer.api import size
        from xlsizer.workbook.portfolio import portfolio_row
        from xlsizer.workbook.project import read_project

        project = read_project(path)
        if profile:
            from dataclasses import replace

            project = replace(project, inputs=project.inputs.model_copy(update={"calibration_profile": profile}))
        result = size(project.inputs)
        if fmt == "md":
            from xlsizer.workbook.markdown import write_markdown

            written = write_markdown(project, result, out_path)
        else:
            from xlsizer.workbook.report import write_report

            written = write_report(project, result, out_path)
        return Outcome(path, str(written), portfolio_row(project, result, str(written)))
    except Exception as exc:
        return Outcome(path, failure=failure_line(path, exc))


def _output_names(files: Sequence[Path], out_dir: Path, fmt: str) -> list[Path]:
    """One output per project, named after its file; a repeated name gets -2, -3 ..."""
    used: dict[str, int] = {}
    names = []
    for f in files:
        stem = f.stem
        n = used.get(stem.lower(), 0) + 1
        used[stem.lower()] = n
        names.append(out_dir / f"{stem if n == 1 else f'{stem}-{n}'}{SUFFIX[fmt]}")
    return names


class _Progress:
    """A plain ``\\r``-updated progress line on a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.on = enabled and total > 0 and bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0

    def step(self, name: str) -> None:
        self.done += 1
        if not self.on:
            return
        width = 24
        fill = int(width * self.done / self.total)
        line = f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} {name}"[:100]
        self.stream.write(line.ljust(100))
        self.stream.flush()

    def close(self) -> None:
        if self.on:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def run_batch(paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], fmt: str = "xlsx",
              jobs: int = 1, progress: bool = True, profile: str | None = None) -> BatchSummary:
    """Report on every project under ``paths`` into ``out_dir``; write portfolio.xlsx there."""
    if fmt not in FORMATS:
        raise XlsizerError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    start = time.perf_counter()
    out = Path(out_dir)
    paths = list(paths)
    others: dict[str, int] = {}
    files, missing = expand_paths(paths, out, others)
    if not files:  # nothing to report on is an error, not "0 of 0 reported"
        held = f"; found {describe_others(others)}" if others else ""
        gone = f"; {'; '.join(missing)}" if missing else ""
        where = ", ".join(str(p) for p in paths)
        raise XlsizerError(f"no project workbooks (.xlsx or .xlsm) in {where}{held}{gone}")
    ensure_folder(out)
    targets = _output_names(files, out, fmt)
    outcomes: list[Outcome | None] = [None] * len(files)
    bar = _Progress(len(files), progress)
    try:
        if jobs > 1 and len(files) > 1:
            with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
                futs = {pool.submit(report_project, str(f), str(t), fmt, profile): i
                        for i, (f, t) in enumerate(zip(files, targets, strict=True))}
                for fut in as_completed(futs):
                    i = futs[fut]
                    try:
                        outcomes[i] = fut.result()
                    except Exception as exc:  # a worker died (BrokenProcessPool, pickling ...)
                        outcomes[i] = Outcome(str(files[i]), failure=failure_line(files[i], exc))
                    bar.step(files[i].name)
        else:
            for i, (f, t) in enumerate(zip(files, targets, strict=True)):
                outcomes[i] = report_project(str(f), str(t), fmt, profile)
                bar.step(f.name)
    finally:
        bar.close()

    summary = BatchSummary(total=len(files) + len(missing), others=others)
    rows = []
    summary.failures.extend(missing)
    for o in outcomes:
        assert o is not None
        if o.failure:
            summary.failures.append(o.failure)
        else:
            summary.outputs.append(Path(o.output or ""))
            rows.append(o.row)
    summary.ok = len(summary.outputs)
    summary.failed = len(summary.failures)
    try:
        from xlsizer.workbook.portfolio import write_portfolio

        summary.portfolio = write_portfolio(rows, out / PORTFOLIO, summary.failures)  # type: ignore[arg-type]
    except Exception as exc:
        summary.failures.append(failure_line(out / PORTFOLIO, exc))
        summary.failed = len(summary.failures)
    summary.seconds = time.perf_counter() - start
    return summary
