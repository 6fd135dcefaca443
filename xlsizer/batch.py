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
from typing import TYPE_CHECKING, TextIO

from xlsizer.errors import NotAProjectError, ProjectFileError, XlsizerError, clip
from xlsizer.outpaths import check_outputs, ensure_folder, written_by_xlsizer
from xlsizer.units import count

if TYPE_CHECKING:
    from xlsizer.workbook.project import Project

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
    left_out: list[str] = field(default_factory=list)  # "FILE: reason" for workbooks not counted
    notes: list[str] = field(default_factory=list)  # things counted that a planner should check
    outputs: list[Path] = field(default_factory=list)
    portfolio: Path | None = None
    seconds: float = 0.0
    others: dict[str, int] = field(default_factory=dict)  # files of other kinds in the folders, by suffix

    @property
    def line(self) -> str:
        """One summary line for the terminal."""
        where = f" in {self.portfolio.parent}" if self.portfolio else ""
        skipped = f"; skipped {describe_others(self.others)}" if self.others else ""
        left = f", {len(self.left_out)} left out (not counted: see above)" if self.left_out else ""
        return (f"{self.ok} of {self.total} project(s) reported{where}{left}, {self.failed} failed "
                f"({self.seconds:.1f} s){skipped}")


def describe_others(others: dict[str, int]) -> str:
    """'3 files of other kinds (2 .csv, 1 .docx)'."""
    n = sum(others.values())
    kinds = ", ".join(f"{c} {k}" for k, c in sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{count(n, 'file')} of other kinds ({kinds})"


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
        if rf.parent == out and _is_output_name(f.name) and written_by_xlsizer(f):
            return  # an earlier batch's output in the output folder; a user's own file is read
        seen.add(rf)
        files.append(f)

    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if not f.is_file() or f.name.startswith("~$"):
                    continue
                if f.suffix.lower() in PROJECT_SUFFIXES:
                    add(f)
                elif others is not None and not (f.resolve().parent == out and _is_output_name(f.name)):
                    kind = f.suffix.lower() or "(no extension)"
                    others[kind] = others.get(kind, 0) + 1
        elif p.is_file():
            add(p)
        else:
            missing.append(f"{p}: no such file or folder")
    return files, missing


def _is_output_name(name: str) -> bool:
    return name == PORTFOLIO or any(name.endswith(s) for s in SUFFIX.values())


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


@dataclass
class ReadOutcome:
    """One workbook read (picklable: workers return it): the project or why not."""

    path: str
    project: Project | None = None
    failure: str | None = None
    left_out: str | None = None  # "FILE: reason": an output of xlsizer's, not a project (no failure)


def read_one(path: str) -> ReadOutcome:
    """Read one project workbook. Never raises. A report, portfolio or values-only copy that
    xlsizer wrote (``read_project`` raises ``NotAProjectError``) is left out with that reason:
    ``freeze`` writes its copy beside the project, and a batch failed on it ("there is no
    Inputs sheet")."""
    try:
        from xlsizer.workbook.project import read_project

        return ReadOutcome(path, read_project(path))
    except NotAProjectError as exc:
        what = "xlsizer freeze" if exc.kind == "a values-only copy" else "xlsizer report"
        return ReadOutcome(path, left_out=f"{path}: {exc.kind} ({what} wrote it), not a project workbook")
    except Exception as exc:
        return ReadOutcome(path, failure=failure_line(path, exc))


def report_project(path: str, out_path: str, fmt: str = "xlsx", profile: str | None = None) -> Outcome:
    """Read one project, size it and write its report. Never raises. ``profile``: see ``write_one``."""
    read = read_one(path)
    if read.project is None:
        return Outcome(path, failure=read.failure or read.left_out)
    return write_one(read.project, out_path, fmt, profile)


def write_one(project: Project, out_path: str, fmt: str = "xlsx", profile: str | None = None) -> Outcome:
    """Size a read project and write its report. Never raises. ``profile``: a calibration
    profile every project uses (``report --profile``), over the project's own."""
    path = str(project.path)
    try:
        from dataclasses import replace

        from xlsizer.api import size
        from xlsizer.workbook.portfolio import portfolio_row

        if profile:
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


# --- which workbooks count (issue 24) --------------------------------------------------------
def is_blank_template(project: Project) -> bool:
    """True for the template as ``xlsizer template`` / ``excel setup`` write it: the template's
    project name, every input at its default and the course checklist untouched. Such a file
    is not a project (docs/excel.md has the planner keep it in the projects folder)."""
    from xlsizer.inputs import make_inputs
    from xlsizer.workbook.checklist import CHECKLIST
    from xlsizer.workbook.template import DEFAULT_NAME

    return (project.name.strip().casefold() == DEFAULT_NAME.casefold() and project.inputs == make_inputs({})
            and list(project.checklist) == list(CHECKLIST))


def project_key(project: Project) -> tuple[str, str]:
    """What makes two workbooks the same project: the project name (case and runs of spaces
    ignored) and a fingerprint of every sizing input (SHA-256 of the validated inputs as
    JSON). Same key, same sizing: counting both would double the portfolio."""
    import hashlib

    name = " ".join(project.name.split()).casefold()
    return name, hashlib.sha256(project.inputs.model_dump_json().encode()).hexdigest()


def screen(projects: Sequence[Project]) -> tuple[list[int], list[str], list[str]]:
    """Which read projects count: (indices kept, "FILE: reason" for each left out, notes).

    Left out: a blank template; a second workbook of the same project (``project_key``), of
    which the one saved last (file modification time; on a tie the shorter, then the first
    name) is kept: that is the copy the planner worked in (``excel setup`` writes
    ``NAME-excel.xlsx`` beside ``NAME.xlsx``). Two workbooks with one project name but
    different inputs are both counted, with a note: they may be two projects that kept the
    template's name, or a stale copy."""
    left: list[str] = []
    groups: dict[tuple[str, str], list[int]] = {}
    for i, pr in enumerate(projects):
        if is_blank_template(pr):
            left.append(f"{pr.path}: a blank template (the template's project name, default inputs and checklist); "
                        "fill it in or give the project a name to count it")
        else:
            groups.setdefault(project_key(pr), []).append(i)

    def order(i: int) -> tuple[float, int, str]:  # saved last first, then the shorter name, then by name
        path = Path(projects[i].path)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        return -mtime, len(path.name), str(path)

    kept: list[int] = []
    for members in groups.values():
        best = min(members, key=order)
        kept.append(best)
        left += [f"{projects[i].path}: the same project as {projects[best].path} (project name "
                 f"{clip(projects[best].name, 80)!r} and the same inputs); counted once, from the one saved last"
                 for i in members if i != best]
    kept.sort()
    by_name: dict[str, list[int]] = {}
    for i in kept:
        by_name.setdefault(project_key(projects[i])[0], []).append(i)
    notes = [f"{len(ix)} workbooks name the project {clip(projects[ix[0]].name, 80)!r} with different inputs "
             f"({', '.join(str(projects[i].path) for i in ix)}): all counted; if one is an old copy, move it out "
             "of the folder" for ix in by_name.values() if len(ix) > 1]
    return kept, left, notes


# --- running ----------------------------------------------------------------------------------
def _worker_init() -> None:
    """Workers leave Ctrl-C to the parent (the terminal sends it to the whole process group):
    the parent cancels what is queued and waits for the one project each worker is on."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signum)  # the command line exits 128 + signum (143 for SIGTERM)


def _stop_pool(pool: ProcessPoolExecutor, grace_s: float = 10.0) -> None:
    """Cancel queued work, let each worker finish its current project (a report is written
    atomically, so none is left half-written), and end any worker still busy after ``grace_s``
    seconds (projects are bounded in size, so one takes well under a second)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(1.0)


def _each(pool: ProcessPoolExecutor | None, fn, calls: Sequence[tuple], on_error, bar: _Progress,
          names: Sequence[str]) -> list:
    """``fn(*call)`` for each call, in a worker when ``pool`` is given; results in call order.
    A worker that dies gives ``on_error(i, exc)`` for its call."""
    out: list = [None] * len(calls)
    if pool is None:
        for i, call in enumerate(calls):
            out[i] = fn(*call)
            bar.step(names[i])
        return out
    futs = {pool.submit(fn, *call): i for i, call in enumerate(calls)}
    for fut in as_completed(futs):
        i = futs[fut]
        try:
            out[i] = fut.result()
        except Exception as exc:  # a worker died (BrokenProcessPool, pickling ...)
            out[i] = on_error(i, exc)
        bar.step(names[i])
    return out


def run_batch(paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], fmt: str = "xlsx",
              jobs: int = 1, progress: bool = True, force: bool = False,
              profile: str | None = None) -> BatchSummary:
    """Report on every project under ``paths`` into ``out_dir``; write portfolio.xlsx there.

    An existing output is replaced only with ``force``, and never when a batch did not write
    it (``outpaths.check_outputs``); both are checked before any work. Blank templates and
    second copies of a project are left out, each with its reason (``screen``). Ctrl-C or
    SIGTERM stops promptly: queued projects are cancelled, workers finish the one they are on
    and exit, no portfolio is written, and ``KeyboardInterrupt`` reaches the caller."""
    import signal
    import threading

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
    targets = _output_names(files, out, fmt)  # named from all files: stable whatever is left out
    check_outputs([*targets, out / PORTFOLIO], force)
    ensure_folder(out)
    summary = BatchSummary(total=len(files) + len(missing), others=others)
    summary.failures.extend(missing)
    names = [f.name for f in files]
    bar = _Progress(2 * len(files), progress)
    main_thread = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, _raise_interrupt) if main_thread else None
    pool = (ProcessPoolExecutor(max_workers=min(jobs, len(files)), initializer=_worker_init)
            if jobs > 1 and len(files) > 1 else None)
    try:
        reads = _each(pool, read_one, [(str(f),) for f in files],
                      lambda i, exc: ReadOutcome(str(files[i]), failure=failure_line(files[i], exc)), bar, names)
        readable = [i for i, r in enumerate(reads) if r.project is not None]
        kept, screened, summary.notes = screen([reads[i].project for i in readable])
        summary.left_out = [r.left_out for r in reads if r.left_out] + screened
        chosen = [readable[k] for k in kept]
        bar.total = len(files) + len(chosen)
        written = _each(pool, write_one, [(reads[i].project, str(targets[i]), fmt, profile) for i in chosen],
                        lambda k, exc: Outcome(str(files[chosen[k]]), failure=failure_line(files[chosen[k]], exc)),
                        bar, [names[i] for i in chosen])
    except BaseException:
        if pool is not None:
            _stop_pool(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        if main_thread:
            signal.signal(signal.SIGTERM, old_term if old_term is not None else signal.SIG_DFL)
        bar.close()

    outcomes: dict[int, Outcome] = {i: Outcome(str(files[i]), failure=r.failure)
                                    for i, r in enumerate(reads) if r.failure}
    outcomes.update(zip(chosen, written, strict=True))
    rows = []
    for i in sorted(outcomes):
        o = outcomes[i]
        if o.failure:
            summary.failures.append(o.failure)
        else:
            summary.outputs.append(Path(o.output or ""))
            rows.append(o.row)
    summary.ok = len(summary.outputs)
    summary.failed = len(summary.failures)
    try:
        from xlsizer.workbook.portfolio import write_portfolio

        summary.portfolio = write_portfolio(rows, out / PORTFOLIO, summary.failures,  # type: ignore[arg-type]
                                            left_out=summary.left_out, notes=summary.notes)
    except Exception as exc:
        summary.failures.append(failure_line(out / PORTFOLIO, exc))
        summary.failed = len(summary.failures)
    summary.seconds = time.perf_counter() - start
    return summary
