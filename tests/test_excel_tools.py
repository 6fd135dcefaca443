"""xlsizer freeze, xlsizer excel setup and xlsizer lite (issue 13)."""

from __future__ import annotations

import hashlib
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlsizer import excel_setup, lite, size
from xlsizer.cli import main
from xlsizer.workbook.examples import EXAMPLES, EXAMPLES_DIR
from xlsizer.workbook.freeze import freeze
from xlsizer.workbook.project import read_project
from xlsizer.workbook.report import all_warnings
from xlsizer.workbook.template import RESULT_ROWS, write_template

ROOT = Path(__file__).resolve().parents[1]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# --- freeze -------------------------------------------------------------------------------------
@pytest.mark.parametrize("slug", [e.slug for e in EXAMPLES])
def test_freeze_every_example(slug, tmp_path):
    src = tmp_path / f"{slug}.xlsx"
    shutil.copy(EXAMPLES_DIR / src.name, src)
    before = _sha(src)
    out = freeze(src)
    assert out == tmp_path / f"{slug}-values.xlsx"
    assert _sha(src) == before  # the source is only read
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Input values", "Results", "Warnings", "Explanation", "Checklist"]
    assert not [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    project = read_project(src)
    result = size(project.inputs)
    assert wb["Summary"]["B6"].value == result.headline
    res = wb["Results"]
    rows = {res.cell(r, 1).value: r for r in range(2, 2 + len(RESULT_ROWS))}
    for col, sc in ((3, "baseline"), (4, "burst"), (5, "resilient")):
        s = result.scenarios[sc]
        assert res.cell(rows["GPUs"], col).value == s.total_gpus
        assert res.cell(rows["Replicas (with spares)"], col).value == s.replicas
        assert res.cell(rows["IT power"], col).value == pytest.approx(s.it_kw)
    warns = [c.value for c in wb["Warnings"]["B"][1:]]
    assert warns == ([w for _, w in all_warnings(result)] or ["no warnings"])
    chk = wb["Checklist"]
    assert chk.max_row - 1 == len(project.checklist)
    assert [chk.cell(r, 4).value for r in range(2, chk.max_row + 1)] == [it.status for it in project.checklist]
    # a frozen copy is not a project: reading it as one fails with a clear reason
    from xlsizer.errors import ProjectFileError

    with pytest.raises(ProjectFileError, match="no Inputs sheet"):
        read_project(out)


def test_freeze_refuses_to_overwrite_and_never_writes_the_source(tmp_path, capsys):
    src = tmp_path / "p.xlsx"
    shutil.copy(EXAMPLES_DIR / "tc5-local-13b.xlsx", src)
    out = tmp_path / "copy.xlsx"
    out.write_text("mine", encoding="utf-8")
    assert main(["freeze", str(src), "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "mine"
    assert main(["freeze", str(src), "--out", str(out), "--force"]) == 0
    assert load_workbook(out).sheetnames[0] == "Summary"
    before = _sha(src)
    assert main(["freeze", str(src), "--out", str(src), "--force"]) == 2
    assert "never writes over its source" in capsys.readouterr().err
    assert _sha(src) == before


def test_freeze_user_text_stays_text(tmp_path):
    src = write_template(tmp_path / "evil.xlsx", name='=HYPERLINK("http://x","y")', notes="=1+1")
    wb = load_workbook(freeze(src))
    assert wb["Summary"]["B3"].data_type == "s" and wb["Summary"]["B7"].data_type == "s"


# --- excel setup --------------------------------------------------------------------------------
class FakeWindows:
    """Windows as excel setup sees it: %APPDATA% and a runner that records commands."""

    def __init__(self, root: Path, addin_present: bool = False, exit_code: int = 0):
        self.appdata = root / "AppData" / "Roaming"
        self.calls: list[list[str]] = []
        self.exit_code = exit_code
        if addin_present:
            self._install()

    def _install(self) -> None:
        start = self.appdata / "Microsoft" / "Excel" / "XLSTART"
        start.mkdir(parents=True, exist_ok=True)
        (start / "xlwings.xlam").write_bytes(b"add-in")

    def run(self, cmd):
        self.calls.append(list(cmd))
        if self.exit_code == 0:
            self._install()
        return self.exit_code

    def host(self) -> excel_setup.Host:
        return excel_setup.Host(system="Windows", python=r"C:\Python311\python.exe", appdata=self.appdata,
                                run=self.run)


def _conf(path: Path) -> dict:
    ws = load_workbook(path)["xlwings.conf"]
    return {r[0].value: r[1].value for r in ws.iter_rows(max_col=2) if r[0].value}


def test_setup_installs_the_addin_once_and_writes_the_template(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    win = FakeWindows(tmp_path)
    plan = excel_setup.setup(host=win.host())
    assert win.calls == [[r"C:\Python311\python.exe", "-m", "xlwings.cli", "addin", "install"]]
    assert plan.workbook == Path("xlsizer-template.xlsx")
    conf = _conf(tmp_path / "xlsizer-template.xlsx")
    assert conf["UDF Modules"] == "xlsizer_udfs" and conf["Interpreter_Win"] == r"C:\Python311\python.exe"
    # this Python does not exist here, so it cannot import the module: PYTHONPATH is set to where it is
    assert conf["PYTHONPATH"] == str(excel_setup.module_dir())
    assert "Import Functions" in plan.lines[-1]
    # stored results survive the setup
    assert load_workbook(tmp_path / "xlsizer-template.xlsx", data_only=True)["Results"]["D6"].value is not None
    # a second run finds the add-in, and refuses to replace the template without --force
    with pytest.raises(Exception, match="exists; pass --force"):
        excel_setup.setup(host=win.host())
    plan = excel_setup.setup(force=True, host=win.host())
    assert len(win.calls) == 1 and "found" in plan.addin


def test_setup_pythonpath_only_when_needed(tmp_path):
    # this interpreter, started without PYTHONPATH: finds the module only where it is installed
    needed = excel_setup.pythonpath_needed(sys.executable)
    here = excel_setup.module_dir()
    assert needed in (None, str(here))
    assert excel_setup.conf_rows("py", None) == [("UDF Modules", "xlsizer_udfs"), ("Interpreter_Win", "py")]
    assert excel_setup.conf_rows("py", "C:/x")[-1] == ("PYTHONPATH", "C:/x")


def test_setup_of_a_workbook_goes_to_a_copy_unless_in_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "Plan.xlsx"
    shutil.copy(EXAMPLES_DIR / "course-worked-example.xlsx", src)
    before = _sha(src)
    win = FakeWindows(tmp_path, addin_present=True)
    plan = excel_setup.setup(src, host=win.host())
    assert plan.workbook == tmp_path / "Plan-excel.xlsx" and _sha(src) == before and not win.calls
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(plan.workbook) as b:
        changed = [n for n in a.namelist() if a.read(n) != b.read(n)]
        assert a.namelist() == b.namelist() and len(changed) == 1 and changed[0].startswith("xl/worksheets/")
    plan = excel_setup.setup(src, in_place=True, host=win.host())
    assert plan.workbook == src and _sha(src) != before
    assert _conf(src)["UDF Modules"] == "xlsizer_udfs"
    assert read_project(src).inputs == read_project(EXAMPLES_DIR / "course-worked-example.xlsx").inputs


def test_setup_dry_run_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    win = FakeWindows(tmp_path)
    plan = excel_setup.setup(dry_run=True, host=win.host())
    assert not win.calls and not list(tmp_path.glob("*.xlsx"))
    assert plan.addin.startswith("would run:") and plan.lines[1].startswith("2. Would write")


def test_setup_failures_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    win = FakeWindows(tmp_path, exit_code=1)
    monkeypatch.setattr(excel_setup, "current_host", win.host)
    assert main(["excel", "setup"]) == 2
    assert "xlwings addin install failed" in capsys.readouterr().err
    assert not (tmp_path / "xlsizer-template.xlsx").exists()
    other = tmp_path / "other.xlsx"
    from openpyxl import Workbook

    Workbook().save(other)
    win.exit_code = 0
    assert main(["excel", "setup", str(other), "--in-place"]) == 2
    assert "no xlwings.conf sheet" in capsys.readouterr().err
    assert main(["excel", "setup", str(tmp_path / "missing.xlsx")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_setup_off_windows_says_what_it_would_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran: list = []
    host = excel_setup.Host(system="Linux", python=sys.executable, run=lambda c: ran.append(c) or 0)
    plan = excel_setup.setup(host=host)
    assert not ran and "only in Excel for Windows" in plan.addin and "addin install" in plan.addin
    assert (tmp_path / "xlsizer-template.xlsx").is_file()
    # issue 24: no Linux path in Interpreter_Win (or PYTHONPATH); the workbook says only the module
    assert _conf(tmp_path / "xlsizer-template.xlsx") == {"UDF Modules": "xlsizer_udfs"}
    assert any("--in-place" in ln and "Windows PC" in ln for ln in plan.lines)


# --- lite ---------------------------------------------------------------------------------------
def test_lite_files(tmp_path, capsys):
    out = tmp_path / "lite"
    assert main(["lite", "--out", str(out)]) == 0
    main_py = (out / "main.py").read_text(encoding="utf-8")
    source = (ROOT / "udfs" / "xlsizer_udfs.py").read_text(encoding="utf-8")
    assert 'if __name__ == "__main__"' not in main_py and "xw.serve()" not in main_py
    body = source[: source.index('if __name__ == "__main__"')].rstrip()
    assert body in main_py  # the classic module, unchanged
    compile(main_py, "main.py", "exec")
    req = [ln for ln in (out / "requirements.txt").read_text(encoding="utf-8").splitlines()
           if ln and not ln.startswith("#")]
    assert req == [f"xlsizer=={lite.version()}"]
    assert main(["lite", "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    name = f"xlsizer-{lite.version()}-py3-none-any.whl"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for url, why in (("ftp://nope", "not an https:// URL"), (f"http://h/{name}", "http:// is refused"),
                     ("https://h/xlsizer.whl", f"must end in {name}"),
                     ("https://h/xlsizer-0.0.9-py3-none-any.whl", f"must end in {name}")):
        assert main(["lite", "--out", str(out), "--force", "--wheel-url", url]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"xlsizer: error: --wheel-url {url}: {why}"), err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written on a refusal
    assert main(["lite", "--out", str(out), "--force", "--wheel-url", f"https://h/dl/{name}"]) == 0
    assert f"https://h/dl/{name}" in (out / "requirements.txt").read_text(encoding="utf-8")
    assert main(["lite", "--out", str(out), "--force", "--wheel-url", "https://h/dl/"]) == 0  # the name appended
    assert f"\nhttps://h/dl/{name}\n" in (out / "requirements.txt").read_text(encoding="utf-8")


def test_lite_writes_the_wheel_it_names(tmp_path):
    """Issue 24: requirements.txt named xlsizer==0.1.0, which no public index has. The command
    writes the wheel beside main.py: the package with its data and the UDF module, the same
    files pip's build puts in (tests/test_install.py checks an install of it answers), the
    same bytes each time, and its RECORD is right."""
    import base64
    import hashlib
    import zipfile

    out = tmp_path / "lite"
    assert main(["lite", "--out", str(out)]) == 0
    wheel = out / f"xlsizer-{lite.version()}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "xlsizer_udfs.py" in names and "xlsizer/cli.py" in names
        assert z.read("xlsizer_udfs.py") == (ROOT / "udfs" / "xlsizer_udfs.py").read_bytes()
        data = {p.relative_to(ROOT).as_posix() for p in (ROOT / "xlsizer").rglob("*")
                if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
        assert data and data <= set(names)
        info = f"xlsizer-{lite.version()}.dist-info"
        meta = z.read(f"{info}/METADATA").decode()
        assert f"Version: {lite.version()}" in meta and "Requires-Dist: pydantic" in meta
        assert names[-1] == f"{info}/RECORD"
        for line in z.read(f"{info}/RECORD").decode().splitlines():
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                continue
            body = z.read(path)
            want = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={want}" and int(size) == len(body), path
    assert lite.wheel_bytes() == wheel.read_bytes()  # reproducible


def test_lite_reenter_script_rewrites_formula_cells_only():
    """The Lite-only script in main.py writes each formula back into its cell (F2, Enter for
    every cell at once) and leaves values alone: run against a stand-in for Lite's Book."""
    import asyncio
    import types

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import lite_runner
    finally:
        sys.path.remove(str(ROOT / "tests"))
    stub = types.ModuleType("xlwings")
    exec(lite_runner.XLWINGS_STUB, stub.__dict__)
    namespace: dict = {}
    saved = sys.modules.get("xlwings")
    sys.modules["xlwings"] = stub
    try:
        exec(compile(lite.LITE_SCRIPT, "main.py", "exec"), {"xw": stub, **namespace}, namespace)
    finally:
        if saved is not None:
            sys.modules["xlwings"] = saved
    written: list = []

    class Rng:
        row, column = 2, 3  # used range starts at C2

        def options(self, **kw):
            return self

        async def get_formula(self):
            return [["Name", "=LLM_GPUS(Inputs)"], [12, '=IFERROR(LLM_HEADLINE(Inputs),"")']]

    class Sheet:
        def __init__(self, name):
            self.name, self.used_range = name, Rng()

        def range(self, cell):
            sheet = self

            class Cell:
                @property
                def formula(self):
                    raise AssertionError("not read synchronously")

                @formula.setter
                def formula(self, text):
                    written.append((sheet.name, cell, text))
            return Cell()

    book = types.SimpleNamespace(sheets=[Sheet("Results"), Sheet("xlwings.conf")])
    asyncio.run(namespace["xlsizer_reenter_formulas"](book))
    assert written == [("Results", (2, 4), "=LLM_GPUS(Inputs)"),
                       ("Results", (3, 4), '=IFERROR(LLM_HEADLINE(Inputs),"")')]


def test_freeze_is_reproducible_with_source_date_epoch(tmp_path, monkeypatch):
    """Issue 24: with SOURCE_DATE_EPOCH set, "Frozen at" is that time, not the clock, so the
    same project freezes to the same bytes."""
    import datetime as dt

    src = write_template(tmp_path / "p.xlsx", {"concurrent_users": 120}, name="P")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    a = freeze(src, tmp_path / "a.xlsx").read_bytes()
    b = freeze(src, tmp_path / "b.xlsx").read_bytes()
    assert a == b
    assert load_workbook(tmp_path / "a.xlsx")["Summary"]["B5"].value == dt.datetime(2023, 11, 14, 22, 13, 20)
