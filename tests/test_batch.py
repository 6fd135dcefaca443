"""Batch reports: failures are isolated and named, the others get their reports, the exit code
says so, nothing half-written is left, inputs are not modified."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

import xlsizer
from xlsizer.batch import _Progress, expand_paths, failure_line, run_batch
from xlsizer.cli import main
from xlsizer.errors import ProjectFileError
from xlsizer.workbook.project import read_project
from xlsizer.workbook.template import write_template

EXAMPLES = Path(__file__).resolve().parents[1] / "workbooks" / "examples"
FILLED = {
    "bank-rag": dict(model="llama-3.3-70b", concurrent_users=80, requests_per_user_per_minute=4,
                     avg_prompt_tokens=6000, avg_output_tokens=250, target_tpot_ms=40, burst_factor=2.5),
    "hr-helpdesk": dict(model="llama-3.1-8b", concurrent_users=30, workload_type="interactive_chat"),
}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture()
def batch_dir(tmp_path) -> Path:
    """The shipped examples (or two filled templates when none are shipped yet) and three bad files."""
    d = tmp_path / "projects"
    d.mkdir()
    examples = sorted(EXAMPLES.glob("*.xlsx")) if EXAMPLES.is_dir() else []
    for p in examples:
        shutil.copy(p, d / p.name)
    if not examples:
        for name, values in FILLED.items():
            write_template(d / f"{name}.xlsx", values=values, name=name)
    (d / "corrupt.xlsx").write_bytes(os.urandom(4096))
    (d / "notes.xlsx").write_text("this is a text file, renamed\n", encoding="utf-8")
    neg = write_template(d / "negative-users.xlsx", values={"concurrent_users": 50})
    wb = load_workbook(neg)
    sheet, ref = next(iter(wb.defined_names["concurrent_users"].destinations))
    wb[sheet][ref.replace("$", "")] = -5
    wb.save(neg)
    (d / "~$bank-rag.xlsx").write_bytes(b"lock file")
    return d


def test_batch_isolates_failures_and_exits_nonzero(batch_dir, tmp_path, capsys):
    before = _digest(batch_dir)
    out = tmp_path / "reports"
    code = main(["report", str(batch_dir), "--out", str(out)])
    err = capsys.readouterr()
    assert code != 0
    good = sorted(p for p in batch_dir.glob("*.xlsx")
                  if not p.name.startswith("~$") and p.stem not in ("corrupt", "notes", "negative-users"))
    assert good
    # the good projects got reports, with the core's numbers
    for p in good:
        rep = out / f"{p.stem}-report.xlsx"
        assert rep.is_file(), err
        result = xlsizer.size(read_project(p).inputs)
        assert load_workbook(rep)["Summary"]["B3"].value == result.headline
    # each failure names the file, the place and the reason
    lines = [ln for ln in err.err.splitlines() if ln.startswith("xlsizer: failed:")]
    assert len(lines) == 3, err.err
    text = "\n".join(lines)
    assert f"{batch_dir / 'corrupt.xlsx'}: not an .xlsx or .xlsm workbook" in text
    assert f"{batch_dir / 'notes.xlsx'}: not an .xlsx or .xlsm workbook" in text
    neg = next(ln for ln in lines if "negative-users.xlsx" in ln)
    assert "Inputs!" in neg and "concurrent_users must be between 1 and 100000" in neg
    assert f"{len(good)} of {len(good) + 3} project(s) reported" in err.out
    assert "3 failed" in err.out
    # portfolio, no temp files, inputs untouched
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["portfolio.xlsx", *(f"{p.stem}-report.xlsx" for p in good)])
    assert _digest(batch_dir) == before
    assert "Traceback" not in err.err


def test_portfolio_rows_and_sum_totals(batch_dir, tmp_path):
    summary = run_batch([batch_dir], tmp_path / "out", jobs=2, progress=False)
    assert summary.failed == 3 and summary.ok == summary.total - 3
    wb = load_workbook(summary.portfolio)
    ws = wb["Portfolio"]
    head = [c.value for c in ws[3]]
    assert head[:12] == ["Project", "GPU", "GPUs in use", "GPUs paid for", "Servers", "IT kW", "Facility kW",
                         "Monthly cost", "Currency", "Pricing", "Open checklist items", "Warnings"]
    rows = list(range(4, 4 + summary.ok))
    files = wb["Headlines"]
    by_file = {files.cell(row=r, column=4).value: r for r in rows}
    for f, r in by_file.items():
        project = read_project(f)
        b = xlsizer.size(project.inputs).burst
        assert ws.cell(row=r, column=1).value == files.cell(row=r, column=1).value
        assert ws.cell(row=r, column=3).value == b.total_gpus
        assert ws.cell(row=r, column=5).value == b.servers
        assert ws.cell(row=r, column=11).value == sum(1 for it in project.checklist if it.status not in ("done", "n/a"))
    total = 4 + summary.ok
    assert ws.cell(row=total, column=1).value == "Total"
    assert ws.cell(row=total, column=3).value is None  # GPUs of different types are not summed
    assert ws.cell(row=total, column=6).value == f"=SUM(F4:F{total - 1})"
    fails = [c.value for c in wb["Failures"]["A"][2:]]
    assert len(fails) == 3


def test_markdown_format(batch_dir, tmp_path):
    out = tmp_path / "md"
    good = next(p for p in sorted(batch_dir.glob("*.xlsx"))
                if p.stem not in ("corrupt", "notes", "negative-users") and not p.name.startswith("~$"))
    summary = run_batch([batch_dir / "negative-users.xlsx", good], out, fmt="md", progress=False)
    assert summary.ok == 1 and summary.failed == 1
    (md,) = out.glob("*-decision-log.md")
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Sizing decision log:") and "## Inputs" in text and "## Warnings" in text


def test_unexpected_errors_become_one_line(tmp_path, monkeypatch, batch_dir):
    import xlsizer.workbook.report as rp

    def broken(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(rp, "write_report", broken)
    summary = run_batch([batch_dir], tmp_path / "o", progress=False)
    assert summary.ok == 0
    assert any(line.endswith(": ZeroDivisionError: boom") for line in summary.failures)
    err = ProjectFileError("f.xlsx", "bad value", "Inputs", "C7")
    assert failure_line("f.xlsx", err) == "f.xlsx: Inputs!C7: bad value"
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["portfolio.xlsx"]


def test_expand_skips_lock_files_and_outputs(batch_dir, tmp_path):
    out = batch_dir / "reports"
    out.mkdir()
    (out / "x-report.xlsx").write_bytes(b"")
    files, missing = expand_paths([batch_dir, tmp_path / "nope"], out)
    assert not any(f.name.startswith("~$") or f.parent == out for f in files)
    assert missing == [f"{tmp_path / 'nope'}: no such file or folder"]


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    quiet, tty = io.StringIO(), Tty()
    for stream in (quiet, tty):
        bar = _Progress(2, True, stream)
        bar.step("a.xlsx")
        bar.step("b.xlsx")
        bar.close()
    assert quiet.getvalue() == ""
    assert "\r[" in tty.getvalue() and "2/2 b.xlsx" in tty.getvalue()


def test_values_copies_and_reports_in_the_projects_folder_are_left_out_not_failed(tmp_path, capsys):
    # `xlsizer freeze` writes its copy beside the project, in the folder a batch then reads: the
    # batch failed on it ("there is no Inputs sheet", exit 1). Now it, a report copied back into
    # the folder and a values copy from before the subject mark are left out with their reason
    import re
    import zipfile

    from xlsizer.outpaths import written_by_xlsizer, xlsizer_output
    from xlsizer.workbook.freeze import freeze

    d = tmp_path / "projects"
    d.mkdir()
    project = write_template(d / "bank-rag.xlsx", values=FILLED["bank-rag"], name="bank-rag")
    values = freeze(project)
    assert values.parent == d and xlsizer_output(values) == "a values-only copy"
    assert not written_by_xlsizer(values)  # a batch's --force never replaces it: freeze wrote it
    first = tmp_path / "first"
    assert main(["report", str(project), "--out", str(first)]) == 0
    shutil.copy(first / "bank-rag-report.xlsx", d / "bank-rag-report.xlsx")
    legacy = d / "old-values.xlsx"  # the same copy as written before the mark: no subject
    with zipfile.ZipFile(values) as src, zipfile.ZipFile(legacy, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"<dc:subject\b[^>]*>xlsizer values</dc:subject>", b"", data)
                assert b"xlsizer values" not in data
            dst.writestr(item, data)
    assert xlsizer_output(legacy) == "a values-only copy"
    capsys.readouterr()
    code = main(["report", str(d), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr()
    assert code == 0, err.err
    assert "1 of 4 project(s) reported" in err.out and "3 left out" in err.out and "0 failed" in err.out
    left = sorted(ln for ln in err.err.splitlines() if ln.startswith("xlsizer: left out:"))
    assert left == sorted([
        f"xlsizer: left out: {d / 'bank-rag-report.xlsx'}: a report (xlsizer report wrote it), not a project workbook",
        f"xlsizer: left out: {values}: a values-only copy (xlsizer freeze wrote it), not a project workbook",
        f"xlsizer: left out: {legacy}: a values-only copy (xlsizer freeze wrote it), not a project workbook"])
    assert "failed" not in err.err


def test_sizing_a_values_copy_names_what_it_is(tmp_path, capsys):
    # `xlsizer size --inputs` on a freeze copy: say it is one, and to use its project
    from xlsizer.workbook.freeze import freeze

    project = write_template(tmp_path / "bank-rag.xlsx", values=FILLED["bank-rag"], name="bank-rag")
    values = freeze(project)
    capsys.readouterr()
    assert main(["size", "--inputs", str(values)]) == 2
    assert ("a values-only copy xlsizer wrote, not a project workbook (no Inputs sheet): use the project it was "
            "made from") in capsys.readouterr().err
