"""Report workbooks: numbers equal the core's, charts point at the right cells, LibreOffice
converts them, writes are atomic."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

import xlsizer
from xlsizer.results import SCENARIOS
from xlsizer.workbook import report as rp
from xlsizer.workbook.checklist import fill
from xlsizer.workbook.markdown import decision_log_markdown

EXAMPLES = Path(__file__).resolve().parents[1] / "workbooks" / "examples"

BUILT_IN = {
    "default": {},
    "worked": dict(workload_type="rag", model="llama-3.3-70b", precision="fp8", kv_cache_dtype="fp8",
                   avg_prompt_tokens=6000, avg_output_tokens=250, concurrent_users=80,
                   requests_per_user_per_minute=4, target_tpot_ms=40, burst_factor=2.5,
                   speculative_decoding=True),
    "small": dict(model="llama-3.1-8b", concurrent_users=20, workload_type="interactive_chat"),
}


def _example_paths() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.xlsx") if not p.name.startswith("~$")) if EXAMPLES.is_dir() else []


def _projects() -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    checklist = fill({"users": ("done", 80, "peak from the call-centre logs", None),
                      "latency": ("in progress", 40, "agreed with the app owner", None)})
    for name, values in BUILT_IN.items():
        inputs = xlsizer.make_inputs(values)
        out.append((name, SimpleNamespace(name=name, path=f"{name}.xlsx", inputs=inputs, checklist=checklist)))
    return out


PROJECTS = _projects()


def _read_project(path: Path):
    from xlsizer.workbook.project import read_project

    return read_project(path)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[tuple[object, Path]]:
    """(project, report path) for every built-in case and every shipped example."""
    out_dir = tmp_path_factory.mktemp("reports")
    items = [p for _, p in PROJECTS]
    from xlsizer.workbook.template import write_template

    for name in ("worked", "small"):  # round trip through a filled template
        tpl = write_template(out_dir / f"in-{name}.xlsx", values=BUILT_IN[name], checklist=PROJECTS[0][1].checklist,
                             name=f"template {name}")
        items.append(_read_project(tpl))
    for path in _example_paths():
        items.append(_read_project(path))
    done = []
    for i, project in enumerate(items):
        result = xlsizer.size(project.inputs)
        done.append((project, rp.write_report(project, result, out_dir / f"r{i}-{project.name}.xlsx")))
    return done


def same(v):
    """Excel keeps 15 significant digits; openpyxl writes floats that way."""
    return pytest.approx(v, rel=1e-14) if isinstance(v, float) else v


def summary_rows(ws) -> dict[str, int]:
    return {ws.cell(row=r, column=1).value: r for r in range(8, ws.max_row + 1)
            if isinstance(ws.cell(row=r, column=1).value, str)}


def test_examples_are_shipped():
    try:
        import xlsizer.workbook.examples  # noqa: F401
    except ImportError:
        if not _example_paths():
            pytest.skip("the example projects (xlsizer.workbook.examples) are not in this tree yet")
    assert _example_paths(), "workbooks/examples holds no filled templates"


def test_report_numbers_equal_the_core(reports):
    for project, path in reports:
        result = xlsizer.size(project.inputs)
        wb = load_workbook(path)
        ws = wb["Summary"]
        assert ws["B3"].value == result.headline
        assert ws["B3"].value.startswith("Plan on ")
        assert ws["B4"].value == result.confidence["low"] and ws["C4"].value == result.confidence["high"]
        rows = summary_rows(ws)
        for _title, section in rp.SUMMARY_SECTIONS:
            for label, _unit, get in section:
                for col, k in zip((2, 3, 4), SCENARIOS, strict=True):
                    want = rp._cell_value(get(result.scenarios[k]))
                    assert ws.cell(row=rows[label], column=col).value == same(want), (path.name, label, k)
        costs = [rp.cost_of(result.scenarios[k]) for k in SCENARIOS]
        if any(costs):
            for col, c in zip((2, 3, 4), costs, strict=True):
                assert ws.cell(row=rows["Monthly cost"], column=col).value == same(c["monthly"])
        # what would change the answer: each line is a real re-sizing
        r = rows["Change"] + 1
        for w in rp.what_ifs(project.inputs):
            assert ws.cell(row=r, column=1).value == w.change
            assert ws.cell(row=r, column=3).value == w.total_gpus
            r += 1
        # warnings, assumptions, checklist
        warn = [c.value for c in wb["Warnings"]["B"][3:] if c.value]
        assert warn == [w for _, w in rp.all_warnings(result)]
        steps = result.explain()
        asm = wb["Assumptions"]
        assert asm.max_row == 5 + len(steps)
        for i, st in enumerate(steps, start=6):
            assert [asm.cell(row=i, column=c).value for c in range(1, 7)] == [
                st.scenario, st.name, same(st.value), st.unit or None, st.formula, st.source]
        chk = wb["Checklist"]
        items = list(project.checklist or [])
        assert chk["B3"].value == len(items)
        assert chk["B4"].value == sum(1 for it in items if rp.is_open(it.status))


def _ref(obj) -> str:
    """A series' range without the $ signs."""
    return (obj.numRef or obj.strRef).f.replace("$", "")


def test_charts_point_at_the_right_cells(reports):
    for project, path in reports:
        wb = load_workbook(path)
        inputs = project.inputs
        # memory breakdown: one series per part (its row B:D), categories = the scenario header
        ws = wb["Summary"]
        rows = summary_rows(ws)
        (bar,) = ws._charts
        assert [s.tx.strRef.f.replace("$", "") for s in bar.series] == [
            f"'Summary'!A{rows[label]}" for label, _ in rp.MEMORY_PARTS]
        assert [_ref(s.val) for s in bar.series] == [f"'Summary'!B{rows[label]}:D{rows[label]}"
                                                     for label, _ in rp.MEMORY_PARTS]
        assert all(_ref(s.cat) == "'Summary'!B7:D7" for s in bar.series)
        assert [ws.cell(row=7, column=c).value for c in (2, 3, 4)] == ["Baseline", "Burst", "Resilient"]

        # waterfall: replicas and total GPUs per step
        from xlsizer.engine.waterfall import waterfall

        steps = waterfall(inputs)
        wf = wb["Waterfall"]
        (wbar,) = wf._charts
        last = 3 + len(steps)
        assert [_ref(s.val) for s in wbar.series] == [f"'Waterfall'!B4:B{last}", f"'Waterfall'!C4:C{last}"]
        assert _ref(wbar.series[0].cat) == f"'Waterfall'!A4:A{last}"
        for i, st in enumerate(steps, start=4):
            assert (wf.cell(row=i, column=1).value, wf.cell(row=i, column=2).value,
                    wf.cell(row=i, column=3).value) == (st.label, st.replicas, st.total_gpus)

        # sensitivity: two line charts, three replica series each, x values as categories
        sens = wb["Sensitivity"]
        assert len(sens._charts) == 2
        for chart, field in zip(sens._charts, ("concurrent_users", "target_tpot_ms"), strict=True):
            cat = _ref(chart.series[0].cat)  # 'Sensitivity'!A5:A14
            top, last = (int(x.split("!")[-1][1:]) for x in cat.split(":"))
            assert cat == f"'Sensitivity'!A{top}:A{last}"
            assert 8 <= last - top + 1 <= 10
            assert [_ref(s.val) for s in chart.series] == [f"'Sensitivity'!{c}{top}:{c}{last}" for c in "BCD"]
            for r in range(top, last + 1):
                x = sens.cell(row=r, column=1).value
                try:
                    res = xlsizer.size(inputs.model_dump(exclude_unset=True) | {field: x})
                except xlsizer.XlsizerError:
                    assert sens.cell(row=r, column=6).value
                    continue
                assert [sens.cell(row=r, column=c).value for c in (2, 3, 4)] == [
                    res.scenarios[k].replicas for k in SCENARIOS]


def test_libreoffice_converts_every_report(reports, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    paths = [str(p) for _, p in reports]
    env = {**os.environ, "HOME": str(tmp_path)}  # its own profile: no clash with a running soffice
    proc = subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), *paths],
                          capture_output=True, text=True, timeout=300, env=env)
    for p in paths:
        pdf = tmp_path / "pdf" / (Path(p).stem + ".pdf")
        assert pdf.is_file() and pdf.stat().st_size > 5000, (p, proc.stdout, proc.stderr)
        assert pdf.read_bytes().startswith(b"%PDF")


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    _name, project = PROJECTS[0]
    result = xlsizer.size(project.inputs)
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"old")

    def boom(path):
        Path(path).write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        rp.save_atomic(boom, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]
    rp.write_report(project, result, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]
    assert load_workbook(target).sheetnames == ["Summary", "Waterfall", "Sensitivity", "Warnings", "Checklist",
                                                "Assumptions"]


def test_markdown_decision_log_has_inputs_owners_reasons_results_warnings():
    _, project = PROJECTS[1]
    result = xlsizer.size(project.inputs)
    md = decision_log_markdown(project, result)
    assert result.headline in md
    for head in ("## Inputs", "## Results", "## Warnings", "## Checklist", "## Assumptions and sources"):
        assert head in md
    assert "| 3 Traffic | concurrent_users | Application owner | 80 | users | peak from the call-centre logs |" in md
    assert f"| Total GPUs | {result.baseline.total_gpus} | {result.burst.total_gpus} | " in md
