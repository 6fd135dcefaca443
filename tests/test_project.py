"""read_project: round-trips every example; bad cells are errors naming the sheet and cell."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlsizer import make_inputs
from xlsizer.cli import main
from xlsizer.errors import ProjectFileError
from xlsizer.workbook import read_project, write_template
from xlsizer.workbook.examples import EXAMPLES, EXAMPLES_DIR


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda e: e.slug)
def test_examples_round_trip(ex):
    proj = read_project(EXAMPLES_DIR / f"{ex.slug}.xlsx")
    assert proj.name == ex.name
    assert proj.inputs == make_inputs(ex.values)
    want = ex.checklist()
    assert [(c.section, c.item, c.owner, c.status, c.value, c.reason, c.date) for c in proj.checklist] == \
           [(c.section, c.item, c.owner, c.status, c.value, c.reason, c.date) for c in want]
    statuses = {c.status for c in proj.checklist}
    assert "done" in statuses and "open" in statuses, "partly filled"
    assert proj.notes == ex.notes


def test_template_reads_as_defaults():
    proj = read_project(Path(__file__).resolve().parents[1] / "workbooks" / "xlsizer-template.xlsx")
    assert proj.inputs == make_inputs({})


def _corrupt(tmp_path: Path, field: str, value) -> Path:
    src = write_template(tmp_path / "p.xlsx", {"concurrent_users": 100})
    wb = load_workbook(src)
    sheet, ref = next(iter(wb.defined_names[field].destinations))
    wb[sheet][ref.replace("$", "")] = value
    out = tmp_path / "bad.xlsx"
    wb.save(out)
    return out


@pytest.mark.parametrize(("field", "value", "sheet", "cell", "words"), [
    ("concurrent_users", "lots", "Inputs", "C", "concurrent_users"),
    ("target_tpot_ms", -3, "Inputs", "C", "between 5 and 1000"),
    ("burst_factor", 50, "Inputs", "C", "between 1 and 10"),
    ("speculative_decoding", "perhaps", "Inputs", "C", "speculative_decoding"),
    ("pricing_model", "lease", "Inputs", "C", "cloud, on-prem"),
    ("model", "gpt-9", "Inputs", "C", "gpt-9"),
])
def test_bad_cell_names_sheet_and_cell(tmp_path, field, value, sheet, cell, words):
    bad = _corrupt(tmp_path, field, value)
    with pytest.raises(ProjectFileError) as exc:
        read_project(bad)
    e = exc.value
    assert e.sheet == sheet and e.cell and e.cell.startswith(cell)
    assert f": {sheet}!{e.cell}: " in str(e) and words in str(e) and "bad.xlsx" in str(e)


def test_missing_inputs_sheet(tmp_path):
    src = write_template(tmp_path / "p.xlsx")
    wb = load_workbook(src)
    del wb["Inputs"]
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ProjectFileError, match=r"\.xlsx: not an xlsizer project workbook: there is no Inputs sheet"):
        read_project(tmp_path / "bad.xlsx")


def test_bad_checklist_status(tmp_path):
    src = write_template(tmp_path / "p.xlsx")
    wb = load_workbook(src)
    wb["Checklist"]["D13"] = "finished"
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ProjectFileError, match=r": Checklist!D13: status"):
        read_project(tmp_path / "bad.xlsx")


def test_not_a_workbook(tmp_path):
    (tmp_path / "notes.xlsx").write_text("hello")
    with pytest.raises(ProjectFileError, match=r"not an \.xlsx"):
        read_project(tmp_path / "notes.xlsx")
    src = write_template(tmp_path / "p.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(src[: len(src) // 2])
    with pytest.raises(ProjectFileError):
        read_project(tmp_path / "cut.xlsx")
    with pytest.raises(ProjectFileError, match="no such file"):
        read_project(tmp_path / "missing.xlsx")


def test_other_workbook_is_not_a_project(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Inputs"
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(ProjectFileError, match="defined name"):
        read_project(tmp_path / "other.xlsx")


def test_cli_template_and_new_project(tmp_path, capsys):
    assert main(["template", str(tmp_path / "t.xlsx")]) == 0
    assert read_project(tmp_path / "t.xlsx").inputs == make_inputs({})
    assert main(["new-project", "Call centre bot", "--set", "concurrent_users=300", "gpu=h200-sxm",
                 "speculative_decoding=true", "--out", str(tmp_path)]) == 0
    proj = read_project(tmp_path / "Call-centre-bot.xlsx")
    assert proj.name == "Call centre bot"
    assert proj.inputs.concurrent_users == 300 and proj.inputs.gpu == "h200-sxm"
    assert proj.inputs.speculative_decoding is True
    assert main(["new-project", "x", "--set", "burst_factor=99", "--out", str(tmp_path)]) == 2
    assert "burst_factor" in capsys.readouterr().err
    assert main(["examples", "--out", str(tmp_path / "ex")]) == 0
    assert len(list((tmp_path / "ex").glob("*.xlsx"))) == len(EXAMPLES)


def test_template_and_examples_never_replace_a_file_unasked(tmp_path, capsys):
    """A filled project that happens to share the name is not overwritten without --force."""
    filled = tmp_path / "t.xlsx"
    assert main(["new-project", "t", "--set", "concurrent_users=300", "--out", str(tmp_path)]) == 0
    before = filled.read_bytes()
    assert main(["template", str(filled)]) == 2
    assert "--force" in capsys.readouterr().err and filled.read_bytes() == before
    assert main(["template", str(filled), "--force"]) == 0
    assert read_project(filled).inputs.concurrent_users != 300
    assert main(["examples", "--out", str(tmp_path / "ex")]) == 0
    assert main(["examples", "--out", str(tmp_path / "ex")]) == 2
    assert main(["examples", "--out", str(tmp_path / "ex"), "--force"]) == 0


def test_copy_keeps_reading(tmp_path):
    dst = tmp_path / "copy.xlsx"
    shutil.copy(EXAMPLES_DIR / "tc4-nightly-batch.xlsx", dst)
    assert "50,000" in read_project(dst).notes
