"""docs/excel.md's day-to-day flow replayed as a planner types it (issue 24): `excel setup` in
the projects folder (the blank template lands there), a project, `excel setup` on it (a copy,
NAME-excel.xlsx, beside it), `report .`: the portfolio counts the one project once and says
what it left out and why. Also: what `report` may overwrite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

import xlsizer
from xlsizer.cli import main
from xlsizer.workbook.project import read_project
from xlsizer.workbook.template import write_template


def _gpu_totals(portfolio: Path) -> dict[str, int]:
    """GPU type -> GPUs in use, from the portfolio's "Totals by GPU type" table (stored values)."""
    ws = load_workbook(portfolio, data_only=True)["Portfolio"]
    col_a = [c.value for c in ws["A"]]
    head = col_a.index("Totals by GPU type") + 2  # title, header row, then one row per GPU type
    out = {}
    for r in range(head + 1, ws.max_row + 1):
        if not ws.cell(r, 1).value:
            break
        out[ws.cell(r, 1).value] = ws.cell(r, 3).value
    return out


def test_docs_flow_counts_the_project_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["excel", "setup"]) == 0  # writes xlsizer-template.xlsx here
    assert main(["new-project", "Bank assistant", "--set", "concurrent_users=200"]) == 0
    assert main(["excel", "setup", "Bank-assistant.xlsx"]) == 0  # the copy: Bank-assistant-excel.xlsx
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Bank-assistant-excel.xlsx", "Bank-assistant.xlsx",
                                                          "xlsizer-template.xlsx"]
    os.utime("Bank-assistant.xlsx", (1_700_000_000, 1_700_000_000))  # the copy is the one saved last
    os.utime("Bank-assistant-excel.xlsx", (1_700_000_100, 1_700_000_100))
    capsys.readouterr()

    assert main(["report", ".", "--out", "reports"]) == 0
    out, err = capsys.readouterr()
    assert "1 of 3 project(s) reported in reports, 2 left out" in out
    left = [ln for ln in err.splitlines() if ln.startswith("xlsizer: left out: ")]
    assert len(left) == 2, err
    assert "xlsizer-template.xlsx: a blank template" in left[0]
    assert "Bank-assistant.xlsx: the same project as Bank-assistant-excel.xlsx" in left[1]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["Bank-assistant-excel-report.xlsx",
                                                                       "portfolio.xlsx"]

    result = xlsizer.size(read_project(tmp_path / "Bank-assistant.xlsx").inputs)
    portfolio = tmp_path / "reports" / "portfolio.xlsx"
    assert _gpu_totals(portfolio) == {result.burst.gpu_name: result.burst.total_gpus}
    wb = load_workbook(portfolio, data_only=True)
    assert "2 workbook(s) left out of the totals" in wb["Portfolio"]["A2"].value
    said = [c.value for c in wb["Left out"]["A"] if c.value]
    assert any("blank template" in s for s in said) and any("the same project as" in s for s in said)


def test_same_name_different_inputs_both_counted_with_a_note(tmp_path, capsys):
    d = tmp_path / "p"
    write_template(d / "a.xlsx", {"concurrent_users": 100}, name="Chat")
    write_template(d / "b.xlsx", {"concurrent_users": 300}, name=" chat ")
    write_template(d / "named-defaults.xlsx", name="Pilot")  # named by the planner: a project, not blank
    assert main(["report", str(d), "--out", str(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    assert "3 of 3 project(s) reported" in out and "left out" not in out
    assert "xlsizer: note: 2 workbooks name the project 'Chat' with different inputs" in err
    wb = load_workbook(tmp_path / "r" / "portfolio.xlsx", data_only=True)
    assert "1 note(s)" in wb["Portfolio"]["A2"].value


def test_report_refuses_to_overwrite_without_force(tmp_path, capsys):
    d, out = tmp_path / "p", tmp_path / "r"
    write_template(d / "a.xlsx", {"concurrent_users": 100}, name="A")
    assert main(["report", str(d), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["report", str(d), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xlsizer: error: ") and "a-report.xlsx" in err and "portfolio.xlsx" in err
    assert "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    assert main(["report", str(d), "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


@pytest.mark.parametrize("fmt", ["xlsx", "md"])
def test_report_never_replaces_a_users_workbook(tmp_path, capsys, fmt):
    """--out is the projects folder, which holds the planner's own budget-report.xlsx (or .md
    log): --force replaces only what a batch wrote."""
    d = tmp_path / "p"
    write_template(d / "budget.xlsx", {"concurrent_users": 100}, name="Budget")
    own = d / ("budget-report.xlsx" if fmt == "xlsx" else "budget-decision-log.md")
    own.write_bytes(b"the planner's own file")
    assert main(["report", str(d), "--out", str(d), "--format", fmt, "--force"]) == 2
    err = capsys.readouterr().err
    assert f"{own}: exists and is not a report xlsizer wrote" in err
    assert own.read_bytes() == b"the planner's own file"
    assert not (d / "portfolio.xlsx").exists()
    own.unlink()
    assert main(["report", str(d), "--out", str(d), "--format", fmt]) == 0
    assert main(["report", str(d), "--out", str(d), "--format", fmt, "--force"]) == 0  # its own output: replaced
    out = capsys.readouterr().out
    assert "1 of 1 project(s) reported" in out  # the earlier report in the folder is not read as a project


def test_size_and_waterfall_read_a_project_workbook(tmp_path, capsys):
    """Issue 24: `size --inputs My-app.xlsx` said "not a readable JSON file"; it sizes the
    workbook's project as `report` reads it, and `--set` still overrides."""
    import json

    book = write_template(tmp_path / "My-app.xlsx", {"concurrent_users": 250, "model": "llama-3.1-8b"},
                          name="My app")
    expected = xlsizer.size(read_project(book).inputs)
    assert main(["size", "--inputs", str(book), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["inputs"]["concurrent_users"] == 250 and got["inputs"]["model"] == "llama-3.1-8b"
    assert got["headline"] == expected.headline
    assert main(["size", "--inputs", str(book), "--set", "concurrent_users=500", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inputs"]["concurrent_users"] == 500
    assert main(["waterfall", "--inputs", str(book)]) == 0
    bad = tmp_path / "broken.xlsx"
    bad.write_text("not a workbook")
    assert main(["size", "--inputs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"xlsizer: error: {bad}: not an .xlsx or .xlsm workbook")


@pytest.mark.parametrize("command", [
    ["size", "--inputs", "{bad}"], ["waterfall", "--inputs", "{bad}"], ["validate", "--data", "{book}"],
    ["freeze", "{bad}"], ["excel", "setup", "{bad}"], ["lite", "--out", "{bad}"], ["examples", "--out", "{bad}"],
    ["new-project", "x", "--out", "{bad}"], ["template", "{bad}"], ["size", "--inputs", "{missing}"],
    ["freeze", "{missing}"], ["report", "{missing}", "--out", "{out}"],
])
def test_every_command_errs_the_same_way(tmp_path, capsys, command):
    """Issue 24: each command's error is one line "xlsizer: error: ...", names the file, exit 2."""
    book = write_template(tmp_path / "My-app.xlsx", name="My app")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    names = {"bad": bad, "book": book, "missing": tmp_path / "missing.xlsx", "out": tmp_path / "out"}
    argv = [a.format(**names) for a in command]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    file = next(str(v) for k, v in names.items() if "{" + k + "}" in " ".join(command) and k != "out")
    assert err.startswith("xlsizer: error: ") and err.count("\n") == 1 and file in err, err


def test_force_replaces_reports_from_before_the_marks(tmp_path):
    """A report and portfolio an earlier xlsizer wrote (no subject mark; openpyxl's creator and
    the report's sheets) are replaced with --force; a workbook of the same name with other
    sheets is not."""
    from openpyxl import Workbook

    from xlsizer.outpaths import written_by_xlsizer

    def old(path: Path, sheets: tuple[str, ...]) -> Path:
        wb = Workbook()
        wb.active.title = sheets[0]
        for s in sheets[1:]:
            wb.create_sheet(s)
        wb.save(path)  # openpyxl's own save: creator "openpyxl", no subject
        return path

    report = old(tmp_path / "a-report.xlsx", ("Summary", "Details", "Waterfall", "Sensitivity", "Warnings",
                                              "Checklist", "Assumptions"))
    portfolio = old(tmp_path / "portfolio.xlsx", ("Portfolio", "Headlines", "Failures"))
    budget = old(tmp_path / "b-report.xlsx", ("Summary", "Budget"))
    assert written_by_xlsizer(report) and written_by_xlsizer(portfolio)
    assert not written_by_xlsizer(budget)
