"""Batch reports read .xlsm projects (macro-enabled, as a workbook is after xlwings' Import
Functions), say what else a folder held, and refuse a folder without projects (issue 13)."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

import xlsizer
from xlsizer.cli import main
from xlsizer.workbook.examples import EXAMPLES_DIR
from xlsizer.workbook.project import read_project

MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def write_xlsm(source: Path, target: Path) -> Path:
    """A real macro-enabled copy of a project: the VBA project of xlwings' standalone
    quickstart workbook (the xlwings module Import Functions relies on) and Excel's .xlsm
    content type, as Excel saves a project after Import Functions."""
    import xlwings

    vba_source = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    wb = load_workbook(source)
    wb.vba_archive = zipfile.ZipFile(vba_source)  # openpyxl writes its vbaProject.bin and the xlsm type
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def xlsm_folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("xlsm")
    for slug in ("tc1-7b-copilot", "tc5-local-13b", "course-worked-example"):
        write_xlsm(EXAMPLES_DIR / f"{slug}.xlsx", d / f"{slug}.xlsm")
    (d / "budget.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (d / "minutes.docx").write_bytes(b"PK\x03\x04 not really")
    (d / "old.csv").write_text("x\n", encoding="utf-8")
    (d / "~$tc1-7b-copilot.xlsm").write_bytes(b"lock")
    return d


def test_the_xlsm_files_are_real_macro_enabled_workbooks(xlsm_folder):
    for p in xlsm_folder.glob("*.xlsm"):
        if p.name.startswith("~$"):
            continue
        with zipfile.ZipFile(p) as z:
            assert "xl/vbaProject.bin" in z.namelist()
            assert MACRO_WORKBOOK in z.read("[Content_Types].xml").decode()


def test_folder_of_xlsm_projects_is_reported(xlsm_folder, tmp_path, capsys):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in xlsm_folder.iterdir()}
    out = tmp_path / "reports"
    code = main(["report", str(xlsm_folder), "--out", str(out)])
    err = capsys.readouterr()
    assert code == 0, err.err
    assert "3 of 3 project(s) reported" in err.out
    assert "skipped 3 files of other kinds (2 .csv, 1 .docx)" in err.out
    for p in sorted(xlsm_folder.glob("[!~]*.xlsm")):
        rep = out / f"{p.stem}-report.xlsx"
        result = xlsizer.size(read_project(p).inputs)
        assert load_workbook(rep)["Summary"]["B3"].value == result.headline
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in xlsm_folder.iterdir()} == before


def test_xlsx_and_xlsm_of_the_same_name_both_reported(tmp_path):
    from xlsizer.batch import run_batch

    d = tmp_path / "mixed"
    d.mkdir()
    shutil.copy(EXAMPLES_DIR / "tc1-7b-copilot.xlsx", d / "plan.xlsx")
    write_xlsm(EXAMPLES_DIR / "tc5-local-13b.xlsx", d / "plan.xlsm")
    summary = run_batch([d], tmp_path / "out", progress=False)
    assert summary.ok == 2 and not summary.others
    assert sorted(p.name for p in summary.outputs) == ["plan-2-report.xlsx", "plan-report.xlsx"]


@pytest.mark.parametrize("content", ["empty", "other-kinds"])
def test_folder_without_projects_is_an_error(tmp_path, capsys, content):
    d = tmp_path / "projects"
    d.mkdir()
    if content == "other-kinds":
        (d / "notes.txt").write_text("hello", encoding="utf-8")
        (d / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")  # Excel 97-2003: not read
    out = tmp_path / "out"
    code = main(["report", str(d), "--out", str(out)])
    err = capsys.readouterr()
    assert code == 2
    assert err.err.startswith("xlsizer: error: no project workbooks (.xlsx or .xlsm) in")
    if content == "other-kinds":
        assert "found 2 files of other kinds (1 .txt, 1 .xls)" in err.err
    assert "0 of 0" not in err.out + err.err
    assert not out.exists()  # nothing written


def test_missing_folder_is_an_error(tmp_path, capsys):
    code = main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr()
    assert code == 2 and "no such file or folder" in err.err
