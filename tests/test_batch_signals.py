"""`xlsizer report --jobs 2` stopped by Ctrl-C or SIGTERM (issue 24, fuzzing): before, Ctrl-C let
the batch run on through every queued project (70 s) and SIGTERM left two worker processes
alive. A real subprocess gets the signal a terminal or a scheduler sends; it must stop before
the queued projects are done, exit 130 (143 for SIGTERM), write no portfolio, leave no temporary file and no
worker process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from xlsizer.workbook.template import write_template

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir() or os.name != "posix", reason="POSIX signals, /proc")

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = 16
NAME = "Signal test project"


def _projects(folder: Path) -> None:
    """PROJECTS distinct projects (distinct names: copies of one would be one project), made
    by renaming the project in the Start sheet's part of one written template (cheap)."""
    src = write_template(folder / "p00.xlsx", {"concurrent_users": 100}, name=NAME)
    with zipfile.ZipFile(src) as z:
        parts = [(i, z.read(i)) for i in z.infolist()]
    for n in range(1, PROJECTS):
        with zipfile.ZipFile(folder / f"p{n:02d}.xlsx", "w", zipfile.ZIP_DEFLATED) as out:
            for info, data in parts:
                if info.filename == "xl/worksheets/sheet1.xml":
                    data = data.replace(NAME.encode(), f"{NAME} {n:02d}".encode())
                out.writestr(info, data)


def _terminal_signals() -> None:
    """Ctrl-C at its default, as a terminal starts a job. A test run that is itself a shell's
    background job (`pytest ... &` in a script) has SIGINT ignored, the child would inherit
    that, and Python then leaves Ctrl-C ignored: the batch ran to the end and exited 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_batch_stops_on_signal_without_leftovers(tmp_path, how):
    src, out = tmp_path / "projects", tmp_path / "reports"
    src.mkdir()
    _projects(src)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "xlsizer", "report", str(src), "--out", str(out), "--jobs", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,  # its own process group, as a terminal job
                            preexec_fn=_terminal_signals)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*-report.xlsx")):  # working: the first report is written
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no report within 120 s"
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers, "no worker processes found"
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole group
        else:
            os.kill(proc.pid, signal.SIGTERM)  # a scheduler signals the command only
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == (130 if how == "ctrl-c" else 143), err  # 128 + the signal's number
    assert "xlsizer: interrupted" in err and "Traceback" not in err
    written = list(out.glob("*-report.xlsx"))
    assert 0 < len(written) < PROJECTS  # stopped: the queued projects were not all run
    assert not (out / "portfolio.xlsx").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temporary files
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them to the next test
        os.kill(w, signal.SIGKILL)
    assert not left, f"worker processes still alive after the batch exited: {left}"
