"""Installing xlsizer as a user would (issue 13), in fresh virtual environments:

- the wheel is pure Python and holds the UDF module and every data file of the package;
- after the README's install command, ``import xlsizer_udfs`` works from any folder;
- every command of docs/excel.md runs, in order, against the installed wheel (the Windows
  parts of ``excel setup``, installing the add-in into Excel's XLSTART, are stubbed);
- ``xlsizer lite``'s main.py, in an environment holding only what its requirements.txt
  installs plus a stand-in for xlwings Lite's own xlwings, answers exactly as the classic
  module does.

These tests create virtual environments and install packages from the configured index:
about half a minute.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "excel.md"


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def _venv(path: Path) -> Path:
    """A fresh virtual environment without pip in it (this interpreter's pip installs into it:
    faster, and the environment holds only what is installed)."""
    venv.EnvBuilder(with_pip=False, clear=True).create(path)
    return path / ("Scripts" if os.name == "nt" else "bin") / "python"


def _pip(py: Path, *args: str) -> list[str]:
    """``pip ARGS`` acting on the environment of ``py``."""
    return [sys.executable, "-m", "pip", "--python", str(py), *args]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(out), "-q"], cwd=out)
    (whl,) = out.glob("xlsizer-*.whl")
    return whl


def test_wheel_is_pure_python_with_module_and_data(wheel):
    assert wheel.name.endswith("-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "xlsizer_udfs.py" in names  # the module xlwings loads, top level
    data = {str(p.relative_to(ROOT)).replace(os.sep, "/") for p in (ROOT / "xlsizer").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert data and data <= names, f"package data missing from the wheel: {sorted(data - names)}"
    top = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("top_level.txt"))).decode().split()
    assert sorted(top) == ["xlsizer", "xlsizer_udfs"]


def test_readme_install_command_makes_the_module_importable_anywhere(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 -m pip install -e ." in readme  # the command this test runs
    py = _venv(tmp_path / "env")
    leftovers = [ROOT / "build", ROOT / "xlsizer.egg-info"]
    existed = {p for p in leftovers if p.exists()}
    try:
        _run(_pip(py, "install", "-q", "-e", "."), cwd=ROOT)
    finally:  # the editable build's scratch folders (git-ignored) go again
        for p in leftovers:
            if p not in existed:
                shutil.rmtree(p, ignore_errors=True)
    outside = tmp_path / "somewhere-else"
    outside.mkdir()
    proc = _run([str(py), "-c", "import xlsizer_udfs; print(xlsizer_udfs.__file__); "
                 "print(xlsizer_udfs.KV_MEMORY('llama-3.3-70b', 6250, 133, 'fp8'))"], cwd=outside)
    path, value = proc.stdout.split()
    assert Path(path) == ROOT / "udfs" / "xlsizer_udfs.py"  # the source under udfs/, imported by its name
    import xlsizer_udfs

    assert float(value) == xlsizer_udfs.KV_MEMORY("llama-3.3-70b", 6250, 133, "fp8")


# --- docs/excel.md, command by command ----------------------------------------------------------
WINDOWS_STUB = r"""
import sys
from pathlib import Path
import xlsizer.excel_setup as es

appdata, log = Path(sys.argv[1]), Path(sys.argv[2])

def run(cmd):  # stands in for Windows: installing the add-in copies xlwings.xlam into XLSTART
    with log.open("a", encoding="utf-8") as fh:
        fh.write(" ".join(cmd) + "\n")
    start = appdata / "Microsoft" / "Excel" / "XLSTART"
    start.mkdir(parents=True, exist_ok=True)
    (start / "xlwings.xlam").write_bytes(b"add-in")
    return 0

es.current_host = lambda: es.Host(system="Windows", python=sys.executable, appdata=appdata, run=run)
from xlsizer.cli import main
sys.exit(main(sys.argv[3:]))
"""


def doc_commands(text: str) -> list[str]:
    """Every command line of the ```bat blocks, in order (REM lines are comments)."""
    out = []
    for block in re.findall(r"```bat\n(.*?)```", text, re.DOTALL):
        out += [ln.strip() for ln in block.splitlines() if ln.strip() and not ln.strip().upper().startswith("REM")]
    return out


def _zip_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _conf(path: Path) -> dict[str, str]:
    ws = load_workbook(path)["xlwings.conf"]
    return {r[0].value: r[1].value for r in ws.iter_rows(max_col=2) if r[0].value}


def test_every_command_in_docs_excel_md_runs(wheel, tmp_path):
    commands = doc_commands(DOCS.read_text(encoding="utf-8"))
    assert len(commands) >= 9
    py = _venv(tmp_path / "env")
    work = tmp_path / "planner"
    work.mkdir()
    appdata, log = tmp_path / "AppData" / "Roaming", tmp_path / "runs.log"
    stub = tmp_path / "windows_stub.py"
    stub.write_text(WINDOWS_STUB, encoding="utf-8")
    before_in_place: dict[str, bytes] = {}
    for line in commands:
        words = [w.replace("\\", "/") for w in shlex.split(line)]
        assert words[0] == "py", line
        args = words[1:]
        if args == ["--version"]:
            _run([str(py), "--version"], cwd=work)
        elif args[:3] == ["-m", "pip", "install"]:
            assert args[3:] == [wheel.name], f"docs name {args[3:]}, the build makes {wheel.name}"
            _run(_pip(py, "install", "-q", str(wheel)), cwd=work)
        elif args[:3] == ["-m", "pip", "wheel"]:
            assert args[3:] == [".", "--no-deps", "-w", "dist"], line
            _run(_pip(py, "wheel", str(ROOT), "--no-deps", "-q", "-w", str(work / "dist")), cwd=work)
            assert list((work / "dist").glob("xlsizer-*-py3-none-any.whl")), line
        elif args[0] == "-c":
            assert "ready" in _run([str(py), *args], cwd=work).stdout
        elif args[:3] == ["-m", "xlsizer", "excel"]:
            if "--in-place" in args:
                before_in_place = _zip_parts(work / args[4])
            _run([str(py), str(stub), str(appdata), str(log), *args[2:]], cwd=work)
        elif args[:2] == ["-m", "xlsizer"]:
            _run([str(py), *args], cwd=work)
        else:
            pytest.fail(f"docs/excel.md has a command this test does not know how to run: {line}")

    # excel setup: the add-in installed once (then found), the template's conf sheet filled in
    assert log.read_text(encoding="utf-8").splitlines() == [f"{py} -m xlwings.cli addin install"]
    conf = _conf(work / "xlsizer-template.xlsx")
    assert conf == {"UDF Modules": "xlsizer_udfs", "Interpreter_Win": str(py)}  # no PYTHONPATH: pip-installed
    # --in-place changed the conf sheet and nothing else
    after = _zip_parts(work / "Bank-assistant.xlsx")
    changed = {n for n in after if after[n] != before_in_place.get(n)}
    assert len(changed) == 1 and changed.pop().startswith("xl/worksheets/")
    assert set(after) == set(before_in_place)
    assert _conf(work / "Bank-assistant.xlsx")["UDF Modules"] == "xlsizer_udfs"
    assert load_workbook(work / "Bank-assistant.xlsx", data_only=True)["Results"]["D6"].value is not None
    # report, lite and freeze left what the page says
    assert (work / "reports" / "portfolio.xlsx").is_file()
    assert (work / "reports" / "Bank-assistant-report.xlsx").is_file()
    req = (work / "xlsizer-lite" / "requirements.txt").read_text(encoding="utf-8")
    assert [ln for ln in req.splitlines() if ln and not ln.startswith("#")] == [
        "https://files.example.com/xlsizer/xlsizer-0.1.0-py3-none-any.whl"]
    frozen = load_workbook(work / "for finance" / "Bank assistant (values).xlsx")
    assert not [c for ws in frozen.worksheets for r in ws.iter_rows() for c in r if c.data_type == "f"]


# --- xlwings Lite: main.py in a clean environment ----------------------------------------------


def _lite_runner():
    """tests/lite_runner.py as a module (it also runs standalone and under Pyodide)."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import lite_runner
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return lite_runner


def _install_xlwings_stub(py: Path) -> Path:
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=py.parent).stdout.strip())
    (site / "xlwings").mkdir()
    (site / "xlwings" / "__init__.py").write_text(_lite_runner().XLWINGS_STUB, encoding="utf-8")
    info = site / "xlwings-0.37.8.dist-info"  # so pip sees xlwings as present, as in Lite
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: xlwings\nVersion: 0.37.8\n", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    (info / "INSTALLER").write_text("test\n", encoding="utf-8")
    return site


def test_lite_main_py_answers_like_the_classic_module(tmp_path, capsys):
    """With the wheel `xlsizer lite` itself writes beside main.py (issue 24), not pip's."""
    from xlsizer import lite as lite_cmd
    from xlsizer.cli import main

    lite = tmp_path / "lite"
    wheel = lite / lite_cmd.wheel_name()
    assert main(["lite", "--out", str(lite), "--wheel-url", wheel.as_uri()]) == 0
    assert wheel.is_file()
    capsys.readouterr()
    py = _venv(tmp_path / "env")
    site = _install_xlwings_stub(py)
    _run(_pip(py, "install", "-q", "-r", str(lite / "requirements.txt")), cwd=tmp_path)
    assert "decorators that register nothing" in (site / "xlwings" / "__init__.py").read_text(encoding="utf-8")
    installed = {d.name.split("-")[0].lower().replace("_", "-") for d in site.glob("*.dist-info")}
    allowed = {"xlsizer", "xlwings", "pydantic", "pydantic-core", "annotated-types", "typing-extensions",
               "typing-inspection", "pyyaml", "openpyxl", "et-xmlfile", "lxml", "defusedxml"}
    assert installed <= allowed, installed - allowed  # what requirements.txt brings, and nothing else
    assert (site / "xlsizer_udfs.py").is_file()  # the wheel carries the module too
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = _run([str(py), str(ROOT / "tests" / "lite_runner.py"), "main", str(lite)], cwd=outside)
    got = json.loads(proc.stdout)

    lite_runner = _lite_runner()
    want = lite_runner.run("xlsizer_udfs")
    assert got["functions"] == want["functions"] and len(want["functions"]) == 25
    for part in ("answers", "text_errors", "raised"):
        for case, value in want[part].items():
            assert lite_runner.same(got[part][case], value), (
                f"{part} {case}: lite {got[part][case]!r}, classic {value!r}")
    assert all(v.startswith("#VALUE! ") for v in want["text_errors"].values())
    assert want["raised"]["bad_tpot"] == want["text_errors"]["bad_tpot"].removeprefix("#VALUE! ")
