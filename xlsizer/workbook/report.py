"""One report workbook per project, written from (project, result) with native Excel charts.

Sheets (the first is the brief a reviewer reads in a minute; the rest are the detail):
  Summary      one printed page: the headline, the confidence range as GPUs and money, the
               three scenarios side by side (what each sizes for, the hardware, the cost with
               currency and period, units in their own column), the top three warnings and
               the drivers.
  Details      every figure per scenario (sizing, traffic, memory, server, fabric, power, full
               cost breakdown), the memory breakdown chart and "what would change the answer".
  Waterfall    replicas, GPUs and monthly cost as each optimization is switched on (chart),
               with a note where they move in opposite directions.
  Sensitivity  total GPUs and monthly cost against concurrent users and against the TPOT
               target (scatter charts on value axes, the current input marked).
  Warnings     every warning, by scenario.
  Checklist    status counts, the checklist (the decision log) and every input with its owner.
  Assumptions  the confidence band and the explanation chain (name, value, unit, formula,
               readable source).

Numbers are written unrounded and every numeric cell has a number format (no "General"), so a
report cell equals the core's value and reads like a finance sheet. Headers over numbers are
right-aligned like the numbers; text from the user's project goes through ``safe.put_text``.
The file is written to a temporary name in the output folder and renamed, so a half-written
report is never left behind. The project workbook is never opened for writing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from xlsizer.engine.insights import WhatIf, drivers, resize, scenario_story, what_ifs
from xlsizer.engine.waterfall import step_notes, waterfall
from xlsizer.errors import XlsizerError
from xlsizer.inputs import SizingInputs
from xlsizer.results import SCENARIOS, Scenario, SizingResult
from xlsizer.summary import (
    D1,
    D2,
    INT,
    SCENARIO_TITLES,
    TEXT,
    Row,
    confidence_range,
    perf_value,
    readable_source,
    summary_rows,
)
from xlsizer.workbook.safe import put_text
from xlsizer.workbook.stored import save_with_values
from xlsizer.workbook.styles import print_landscape, text_lines

FONT = "Calibri"  # named: without a name LibreOffice falls back to a serif face for styled cells
BOLD = Font(name=FONT, bold=True)
TITLE = Font(name=FONT, bold=True, size=14)
SMALL = Font(name=FONT, italic=True, size=9, color="595959")
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
SECTION_FILL = PatternFill("solid", fgColor="EDEDED")
WRAP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right", vertical="top", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
UNIT = Alignment(horizontal="left", vertical="top", wrap_text=True, indent=1)
"""The unit column: indented so a right-aligned number beside it never touches its unit."""
LINE_PT = 15.0
"""Row height per line of 11-pt text (points): Calibri 11 needs about 14.3 pt."""

MEMORY_PARTS: tuple[tuple[str, str], ...] = (
    ("Weights", "weights_gb"), ("KV cache", "kv_total_gb"),
    ("Activations", "activations_gb"), ("Headroom", "headroom_gb"),
)
CLOSED_STATUSES = frozenset({
    "done", "closed", "agreed", "signed off", "signed-off", "complete", "completed", "resolved",
    "n/a", "na", "not applicable", "yes", "ok", "decided", "confirmed", "answered", "accepted",
})

# Which inputs a checklist item (by its key, workbook/checklist.py) decides: its reason is theirs.
CHECKLIST_INPUTS: dict[str, tuple[str, ...]] = {
    "use_case": ("workload_type",),
    "users": ("concurrent_users", "requests_per_user_per_minute"),
    "latency": ("target_ttft_ms", "target_tpot_ms"),
    "redundancy": ("redundancy_mode", "burst_factor"),
    "model": ("model", "parameter_count_b", "model_architecture", "active_params_b"),
    "precision": ("precision", "kv_cache_dtype"),
    "engine": ("serving_engine", "throughput_source", "throughput_override"),
    "optimisations": ("prefix_caching", "speculative_decoding", "kv_offload"),
    "context": ("avg_prompt_tokens", "avg_output_tokens", "max_context_tokens"),
    "gpu_sku": ("gpu",),
    "power_cooling": ("rack_power_limit_kw",),
}


# Details rows: (label, unit, getter). A getter returns the value for one scenario.
Getter = Callable[[Scenario], Any]
SUMMARY_SECTIONS: tuple[tuple[str, tuple[tuple[str, str, Getter], ...]], ...] = (
    ("Sizing", (
        ("GPU", "", lambda s: s.gpu_name),
        ("GPU id", "", lambda s: s.gpu),
        ("GPUs per replica", "GPUs", lambda s: s.gpus_per_replica),
        ("Tensor parallel (TP)", "GPUs", lambda s: s.tp),
        ("Pipeline parallel (PP)", "stages", lambda s: s.pp),
        ("Active replicas", "replicas", lambda s: s.active_replicas),
        ("Replicas", "replicas", lambda s: s.replicas),
        ("Total GPUs", "GPUs", lambda s: s.total_gpus),
        ("Servers", "servers", lambda s: s.servers),
        ("Replicas per server", "replicas", lambda s: s.replicas_per_server),
        ("GPUs per server", "GPUs", lambda s: s.gpus_per_server),
        ("Throughput per replica", "tok/s", lambda s: s.throughput_per_replica_tok_s),
        ("Throughput source", "", lambda s: s.throughput_source),
    )),
    ("Traffic", (
        ("RPS", "req/s", lambda s: s.traffic.rps),
        ("In-flight requests", "requests", lambda s: s.traffic.inflight_requests),
        ("Demand", "tok/s", lambda s: s.traffic.demand_tok_s),
    )),
    ("Memory need (whole deployment, course method, aisle course §10.3 steps 1-7)", (
        ("Weights", "GB", lambda s: s.memory.weights_gb),
        ("KV cache", "GB", lambda s: s.memory.kv_total_gb),
        ("Activations", "GB", lambda s: s.memory.activations_gb),
        ("Headroom", "GB", lambda s: s.memory.headroom_gb),
        ("VRAM needed", "GB", lambda s: s.memory.vram_gb),
        ("KV per request", "GB", lambda s: s.memory.kv_per_request_gb),
        ("KV per request: fixed state (hybrid layers)", "GB", lambda s: s.memory.state_per_request_gb),
        ("KV bytes per token", "B", lambda s: s.memory.kv_bytes_per_token),
    )),
    ("One replica at capacity (roofline model)", (
        ("Sequences per replica (mean batch)", "sequences", lambda s: perf_value(s, "mean_batch")),
        ("TPOT at that batch", "ms", lambda s: perf_value(s, "tpot_ms")),
        ("TTFT at peak load", "ms", lambda s: perf_value(s, "ttft_ms")),
        ("TPOT at the SLO percentile", "ms", lambda s: perf_value(s, "tpot_q_ms")),
        ("TTFT at the SLO percentile, peak load", "ms", lambda s: perf_value(s, "ttft_q_ms")),
        ("Memory per replica", "GB", lambda s: perf_value(s, "memory_per_replica_gb")),
        ("KV budget per replica", "GB", lambda s: perf_value(s, "kv_budget_gb_per_replica")),
        ("Binding resource", "", lambda s: perf_value(s, "binding")),
        ("MoE: expert GEMMs share of step", "fraction", lambda s: perf_value(s, "moe_expert_gemm_share")),
        ("MoE: imbalance share of step", "fraction", lambda s: perf_value(s, "moe_imbalance_share")),
        ("MoE: all-to-all share of step", "fraction", lambda s: perf_value(s, "moe_all_to_all_share")),
    )),
    ("Server", (
        ("Server GPUs", "", lambda s: s.server.gpus),
        ("CPU", "", lambda s: s.server.cpu),
        ("RAM", "GB", lambda s: s.server.ram_gb),
        ("Local NVMe", "TB", lambda s: s.server.nvme_tb),
        ("NIC", "", lambda s: s.server.nic),
    )),
    ("Fabric", (
        ("Fabric", "", lambda s: s.fabric),
    )),
    ("Power and cooling", (
        ("Racks", "racks", lambda s: s.racks),
        ("kW per rack", "kW", lambda s: s.kw_per_rack),
        ("IT power", "kW", lambda s: s.it_kw),
        ("PUE", "ratio", lambda s: s.pue),
        ("Facility power", "kW", lambda s: s.facility_kw),
        ("Cooling tier", "", lambda s: s.cooling_tier),
    )),
)
# Details cost rows: (label, key of the cost object, unit with {cur} for the currency).
COST_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Pricing model", "pricing_model", ""),
    ("Cost basis", "basis", ""),
    ("GPUs paid for", "gpus_paid", "GPUs"),
    ("Monthly cost", "monthly", "{cur}/month"),
    ("Annual cost", "annual", "{cur}/year"),
    ("Monthly cost, whole nodes", "monthly_whole_nodes", "{cur}/month"),
    ("Compute cost, monthly", "compute", "{cur}/month"),
    ("Maintenance cost, monthly", "maintenance", "{cur}/month"),
    ("Power cost, monthly", "power", "{cur}/month"),
    ("Facility cost, monthly", "facility", "{cur}/month"),
    ("Capex (purchase)", "capex", "{cur}, one-off"),
    ("Cost per million output tokens", "per_million_output_tokens", "{cur}/M output tokens"),
    ("Cost per million tokens", "per_million_tokens", "{cur}/M tokens"),
    ("Cost per user", "per_user_month", "{cur}/user/month"),
    ("Tokens served", "tokens_per_month", "tokens/month"),
    ("API cost at the same volume", "api_monthly_at_expected_load", "{cur}/month"),
    ("API break-even volume", "breakeven_api_monthly_tokens", "tokens/month"),
    ("API break-even spend", "breakeven_api_annual_spend", "{cur}/year"),
)
_UNIT_FMT: dict[str, str] = {"GB": D1, "kW": D1, "TB": D1, "tok/s": INT, "requests": INT, "B": INT,
                             "req/s": D2, "ms": D1, "ratio": D2, "sequences": INT}


# --------------------------------------------------------------------------------------------
# data computed for the report (re-sizings), kept apart from the writing
# --------------------------------------------------------------------------------------------
@dataclass
class SensitivityPoint:
    x: float
    replicas: dict[str, int | None]
    total_gpus: dict[str, int | None]
    error: str = ""
    monthly: dict[str, float | None] = field(default_factory=dict)


@dataclass
class ReportData:
    users: list[SensitivityPoint] = field(default_factory=list)
    tpot: list[SensitivityPoint] = field(default_factory=list)
    waterfall: list[Any] | None = None
    waterfall_note: str = ""
    what_if: list[WhatIf] = field(default_factory=list)


def _points(base: float, factors: Sequence[float], lo: float, hi: float, integer: bool) -> list[float]:
    pts = {min(hi, max(lo, round(base * f) if integer else round(base * f, 1))) for f in factors}
    pts.add(base)
    return sorted(pts)


USER_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
TPOT_FACTORS = (0.4, 0.5, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0)


def sensitivity(inputs: SizingInputs, field_name: str, values: Iterable[float]) -> list[SensitivityPoint]:
    """Re-size with one input varied; an infeasible point keeps its error and no numbers."""
    out = []
    for x in values:
        try:
            r = resize(inputs, **{field_name: x})
        except XlsizerError as exc:
            none: dict[str, int | None] = dict.fromkeys(SCENARIOS)
            out.append(SensitivityPoint(x, none, dict(none), exc.short(), dict.fromkeys(SCENARIOS)))
            continue
        out.append(SensitivityPoint(x, {k: r.scenarios[k].replicas for k in SCENARIOS},
                                    {k: r.scenarios[k].total_gpus for k in SCENARIOS}, "",
                                    {k: (cost_of(r.scenarios[k]) or {}).get("monthly") for k in SCENARIOS}))
    return out


def _waterfall(inputs: SizingInputs) -> tuple[list[Any] | None, str]:
    try:
        return list(waterfall(inputs)), ""
    except XlsizerError as exc:
        return None, f"waterfall not computed: {exc.short()}"


def report_data(inputs: SizingInputs) -> ReportData:
    """Everything beyond the one sizing that a report shows (about 25 re-sizings, ~20 ms)."""
    users = _points(inputs.concurrent_users, USER_FACTORS, 1, 100_000, integer=True)
    tpots = _points(inputs.tpot_ms, TPOT_FACTORS, 5, 1000, integer=False)
    wf, note = _waterfall(inputs)
    return ReportData(users=sensitivity(inputs, "concurrent_users", users),
                      tpot=sensitivity(inputs, "target_tpot_ms", tpots),
                      waterfall=wf, waterfall_note=note, what_if=what_ifs(inputs))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def cost_of(s: Scenario) -> dict[str, Any] | None:
    c = s.extra.get("cost") if s.extra else None
    if c is None:
        return None
    return c if isinstance(c, dict) else getattr(c, "model_dump", lambda: dict(vars(c)))()


def is_open(status: Any) -> bool:
    """A checklist item is open unless its status says it is settled."""
    return str(status or "").strip().lower() not in CLOSED_STATUSES


def checklist_items(project: Any) -> list[Any]:
    return list(getattr(project, "checklist", None) or [])


def item_field(it: Any, name: str) -> Any:
    return it.get(name) if isinstance(it, dict) else getattr(it, name, None)


def all_warnings(result: SizingResult) -> list[tuple[str, str]]:
    """(scenarios, warning) pairs without duplicates, in the result's order: 'all' for one that
    holds for every scenario (or the sizing as a whole), else the scenarios it names
    ("burst, resilient": ``pipeline._scenario_warnings`` leads such a warning with their names),
    with the text after them. A scenario warning missing from the result's list comes last."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for w in result.warnings:
        if w in seen:
            continue
        seen.add(w)
        head, sep, rest = w.partition(": ")
        if sep and all(n in SCENARIOS for n in head.split(", ")):
            seen.add(rest)
            out.append((head, rest))
        else:
            out.append(("all", w))
    for k in SCENARIOS:
        for w in result.scenarios[k].warnings:
            if w not in seen:
                seen.add(w)
                out.append((k, w))
    return out


def warning_line(scenario: str, warning: str) -> str:
    """One warning as a sentence that names its scenarios where it is not for all of them."""
    return warning if scenario == "all" else f"{scenario}: {warning}"


def input_rows(inputs: SizingInputs, project: Any = None) -> list[tuple[str, str, str, Any, str, str]]:
    """(step, input, owner, value, unit, reason) for every input; the reason comes from a
    checklist item whose item names the input."""
    reasons: dict[str, str] = {}
    for it in checklist_items(project):
        reason = item_field(it, "reason")
        if not reason:
            continue
        key = str(item_field(it, "key") or "")
        for name in CHECKLIST_INPUTS.get(key, ()):
            reasons.setdefault(name, str(reason))
        reasons.setdefault(_norm(item_field(it, "item")), str(reason))
    rows = []
    for name, info in SizingInputs.model_fields.items():
        meta = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        value = getattr(inputs, name)
        if name == "target_tpot_ms" and value is None:
            value = inputs.tpot_ms
        elif name == "target_ttft_ms" and value is None:
            value = inputs.ttft_ms
        if value is None and str(meta.get("step", "")).startswith("Custom"):
            continue
        rows.append((str(meta.get("step", "")), name, str(meta.get("owner", "")), _cell_value(value),
                     str(meta.get("unit", "")), reasons.get(name) or reasons.get(_norm(name), "")))
    return rows


def _norm(text: Any) -> str:
    return " ".join(str(text or "").lower().replace("_", " ").split())


def _cell_value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(getattr(v, "value", v))


def auto_format(v: Any, unit: str = "") -> str | None:
    """The number format for a value without a stated one (None for text)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if isinstance(v, int):
        return INT
    if unit in _UNIT_FMT:
        return _UNIT_FMT[unit]
    if abs(v) >= 1000:
        return INT
    if abs(v) >= 10:
        return D1
    if abs(v) >= 0.01 or v == 0:
        return D2
    return "0.000"


def _put(ws: Worksheet, row: int, col: int, v: Any, fmt: str | None = None, align: Alignment | None = None,
         font: Font | None = None) -> Cell:
    """Write one cell: text as text (never a formula), numbers with a number format."""
    c = ws.cell(row=row, column=col)
    v = _cell_value(v)
    put_text(c, v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        c.number_format = fmt if fmt and fmt != TEXT else (auto_format(v) or INT)
    if align is not None:
        c.alignment = align
    if font is not None:
        c.font = font
    return c


def _widths(ws: Worksheet, widths: dict[str, float]) -> None:
    for col, w in widths.items():
        ws.column_dimensions[col].width = w


def fit_rows(ws: Worksheet, first: int = 1) -> None:
    """Give every row with wrapped text the height its longest cell needs (LibreOffice and Excel
    do not grow rows written by openpyxl), merged cells measured across their columns."""
    spans: dict[tuple[int, int], float] = {}
    for rng in ws.merged_cells.ranges:
        w = sum(ws.column_dimensions[get_column_letter(c)].width or 8.43
                for c in range(rng.min_col, rng.max_col + 1))
        spans[(rng.min_row, rng.min_col)] = w
    for row in ws.iter_rows(min_row=first):
        n = 1
        size = 11.0
        for c in row:
            if c.value is None or not isinstance(c.value, str) or c.data_type == "f":
                continue  # numbers and formulas do not wrap
            wrap = c.alignment is not None and c.alignment.wrap_text
            if not wrap:
                continue
            width = spans.get((c.row, c.column)) or ws.column_dimensions[c.column_letter].width or 8.43
            # one measure for every workbook (styles.text_lines, checked on LibreOffice renders); the
            # report's own, 1.25 letters per unit, cut the last line of long headlines
            n = max(n, text_lines(c.value, width - 1, float(c.font.sz or 11.0), bool(c.font.b)))
            size = max(size, float(c.font.sz or 11.0))
        if n > 1 or size > 11.0:
            ws.row_dimensions[row[0].row].height = n * LINE_PT * size / 11.0 + 3


def _header(ws: Worksheet, row: int, values: Sequence[Any], right_from: int = 2, right_to: int | None = None,
            unit_col: int | None = None) -> None:
    """A header row; columns ``right_from``..``right_to`` hold numbers, so their headers are
    right-aligned like the numbers below them; ``unit_col`` is indented like its units."""
    right_to = right_to if right_to is not None else len(values)
    for i, v in enumerate(values, start=1):
        align = RIGHT if right_from <= i <= right_to else UNIT if i == unit_col else LEFT
        c = _put(ws, row, i, v, font=BOLD, align=align)
        c.fill = HEAD_FILL


def _section(ws: Worksheet, row: int, title: str, ncols: int) -> None:
    """A section heading across the table (one line: it runs over the empty cells beside it)."""
    _put(ws, row, 1, title, font=BOLD, align=Alignment(horizontal="left", vertical="top"))
    for c in range(1, ncols + 1):
        ws.cell(row=row, column=c).fill = SECTION_FILL


def _text_line(ws: Worksheet, row: int, text: str, last_col: int, font: Font | None = None) -> None:
    """A paragraph across columns A..last_col (merged, wrapped)."""
    _put(ws, row, 1, text, align=LEFT, font=font)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)


def _scenario_table(ws: Worksheet, top: int, rows: Sequence[Row]) -> tuple[int, dict[str, int]]:
    """Header at ``top`` then the rows with section headings; returns (next free row, {key: row})."""
    _header(ws, top, ["", *(SCENARIO_TITLES[k] for k in SCENARIOS), "Unit"], right_from=2, right_to=4, unit_col=5)
    r = top + 1
    where: dict[str, int] = {}
    sec = None
    for row in rows:
        if row.section != sec:
            sec = row.section
            _section(ws, r, sec, 5)
            r += 1
        _put(ws, r, 1, row.label, align=LEFT)
        for j, v in enumerate(row.values, start=2):
            _put(ws, r, j, v, fmt=row.fmt, align=RIGHT)
        _put(ws, r, 5, row.unit, align=UNIT)
        where[row.key or row.label] = r
        r += 1
    return r, where


# --------------------------------------------------------------------------------------------
# sheets
# --------------------------------------------------------------------------------------------
@dataclass
class SummaryLayout:
    """Where things landed on the Summary sheet (the tests use it)."""
    header_row: int = 0
    rows: dict[str, int] = field(default_factory=dict)


SUMMARY_WIDTHS = {"A": 34, "B": 24, "C": 24, "D": 24, "E": 22}
TOP_WARNINGS = 3


def _summary(wb: Workbook, project: Any, result: SizingResult) -> SummaryLayout:
    ws = wb.active
    ws.title = "Summary"
    _widths(ws, SUMMARY_WIDTHS)
    name = getattr(project, "name", None) or "project"
    _put(ws, 1, 1, f"Sizing report: {name}", font=TITLE)
    _put(ws, 2, 1, "Project file", font=BOLD, align=LEFT)
    _put(ws, 2, 2, str(getattr(project, "path", "") or ""), align=LEFT)
    ws.merge_cells("B2:E2")
    _put(ws, 3, 1, "Headline (Burst scenario)", font=BOLD, align=LEFT)
    _put(ws, 3, 2, result.headline, font=BOLD, align=LEFT)
    ws.merge_cells("B3:E3")

    lay = SummaryLayout()
    conf = result.confidence
    lo, hi = conf.get("low"), conf.get("high")
    rng = confidence_range(result)
    cur = (cost_of(result.burst) or {}).get("currency", "")
    _header(ws, 5, ["Confidence range (Burst)", "Low", "High", "", "Unit"], right_from=2, right_to=3, unit_col=5)
    r = 6
    if rng is not None:
        _put(ws, r, 1, "Total GPUs", align=LEFT)
        _put(ws, r, 2, rng[0][0], INT, RIGHT)
        _put(ws, r, 3, rng[0][1], INT, RIGHT)
        _put(ws, r, 5, "GPUs", align=UNIT)
        lay.rows["conf_gpus"] = r
        r += 1
        _put(ws, r, 1, "Monthly cost", align=LEFT)
        if rng[1] is not None:
            _put(ws, r, 2, rng[1][0], INT, RIGHT)
            _put(ws, r, 3, rng[1][1], INT, RIGHT)
        else:
            _put(ws, r, 2, "no price", align=RIGHT)
        _put(ws, r, 5, f"{cur}/month", align=UNIT)
        lay.rows["conf_money"] = r
        r += 1
        _put(ws, r, 1, "Model error on throughput per replica (not TTFT)", align=LEFT)
        _put(ws, r, 2, lo, "+0%;-0%;0%", RIGHT)
        _put(ws, r, 3, hi, "+0%;-0%;0%", RIGHT)
        _put(ws, r, 5, "see Assumptions", align=UNIT)
        lay.rows["conf_band"] = r
        r += 1

    lay.header_row = r + 1
    r, where = _scenario_table(ws, lay.header_row, summary_rows(result))
    lay.rows.update(where)
    _text_line(ws, r, scenario_story(result), 5, SMALL)
    lay.rows["story"] = r
    r += 1

    r += 1
    warns = all_warnings(result)
    head = (f"Top warnings ({min(TOP_WARNINGS, len(warns))} of {len(warns)}; all on the Warnings sheet)" if warns
            else "Warnings: none")
    _text_line(ws, r, head, 5, BOLD)
    lay.rows["warnings"] = r
    r += 1
    for sc, w in warns[:TOP_WARNINGS]:
        _text_line(ws, r, f"- {warning_line(sc, w)}", 5)
        r += 1
    r += 1
    _text_line(ws, r, "Drivers (Burst scenario)", 5, BOLD)
    lay.rows["drivers"] = r
    r += 1
    for d in drivers(result):
        _text_line(ws, r, f"- {d}", 5)
        r += 1
    r += 1
    _text_line(ws, r, "Detail sheets: Details (every figure per scenario, what would change the answer), "
               "Waterfall, Sensitivity, Warnings, Checklist, Assumptions (every step with its source).", 5, SMALL)
    fit_rows(ws)
    ws.print_area = f"A1:E{r}"
    return lay


def _details_sheet(wb: Workbook, result: SizingResult, data: ReportData) -> dict[str, int]:
    ws = wb.create_sheet("Details")
    _widths(ws, {"A": 34, "B": 26, "C": 26, "D": 26, "E": 20})
    _put(ws, 1, 1, "Every figure per scenario", font=TITLE)
    header = 3
    _header(ws, header, ["", *(SCENARIO_TITLES[k] for k in SCENARIOS), "Unit"], right_from=2, right_to=4, unit_col=5)
    rows: dict[str, int] = {}
    r = header + 1
    for title, sec in SUMMARY_SECTIONS:
        _section(ws, r, title, 5)
        r += 1
        for label, unit, get in sec:
            _put(ws, r, 1, label, align=LEFT)
            for j, k in enumerate(SCENARIOS, start=2):
                v = _cell_value(get(result.scenarios[k]))
                _put(ws, r, j, v, fmt=auto_format(v, unit), align=RIGHT)
            _put(ws, r, 5, unit, align=UNIT)
            rows[label] = r
            r += 1
    costs = {k: cost_of(result.scenarios[k]) for k in SCENARIOS}
    if any(costs.values()):
        cur = next(c for c in costs.values() if c)["currency"]
        _section(ws, r, f"Cost ({cur})", 5)
        r += 1
        for label, key, unit in COST_ROWS:
            _put(ws, r, 1, label, align=LEFT)
            for j, k in enumerate(SCENARIOS, start=2):
                v = (costs[k] or {}).get(key)
                fmt = D2 if key.startswith("per_") else INT
                _put(ws, r, j, v, fmt=fmt, align=RIGHT)
            _put(ws, r, 5, unit.format(cur=cur), align=UNIT)
            rows[label] = r
            r += 1

    # memory breakdown chart: one series per part (rows), categories = scenarios (header)
    first, last = rows["Weights"], rows["Headroom"]
    bar = BarChart()
    bar.type = "col"
    bar.grouping = "stacked"
    bar.overlap = 100
    bar.title = "Memory need by part, whole deployment (GB)"
    bar.y_axis.title = "GB"
    bar.add_data(Reference(ws, min_col=1, max_col=4, min_row=first, max_row=last), from_rows=True,
                 titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=2, max_col=4, min_row=header, max_row=header))
    bar.height, bar.width = 8, 14
    ws.add_chart(bar, "G3")

    r += 1
    _put(ws, r, 1, "What would change the answer (Burst scenario, each a full re-sizing)", font=BOLD)
    r += 1
    _header(ws, r, ["Change", "Burst replicas", "Burst total GPUs", "GPUs vs now", "Note"], right_from=2, right_to=4,
            unit_col=5)
    rows["Change"] = r
    r += 1
    b = result.burst
    for w in data.what_if:
        _put(ws, r, 1, w.change, align=LEFT)
        _put(ws, r, 2, w.replicas, INT, RIGHT)
        _put(ws, r, 3, w.total_gpus, INT, RIGHT)
        if w.total_gpus is not None:
            _put(ws, r, 4, w.total_gpus - b.total_gpus, "+0;-0;0", RIGHT)
        # the GPU when it changed, and money: fewer GPUs of a dearer kind can cost more
        _put(ws, r, 5, w.error if w.total_gpus is None else w.detail(b), align=UNIT)
        r += 1
    fit_rows(ws)
    ws.freeze_panes = f"B{header + 1}"
    return rows


def _waterfall_sheet(wb: Workbook, result: SizingResult, data: ReportData) -> None:
    ws = wb.create_sheet("Waterfall")
    _put(ws, 1, 1, "Optimization waterfall: GPUs, replicas and cost as each optimization is switched on "
         "(Burst scenario)", font=TITLE)
    _widths(ws, {"A": 34, "B": 11, "C": 11, "D": 11, "E": 14, "F": 16, "G": 16, "H": 60})
    if not data.waterfall:
        _put(ws, 3, 1, data.waterfall_note or "no waterfall steps")
        return
    cur = result.inputs.currency  # also when no step has a price
    _header(ws, 3, ["Step", "Replicas", "Total GPUs", "GPUs per replica", "GPU", f"Monthly cost ({cur}/month)",
                    "Throughput per replica (tok/s)", "Note"], right_from=2, right_to=7, unit_col=8)
    notes = step_notes(data.waterfall)
    for i, st in enumerate(data.waterfall, start=4):
        _put(ws, i, 1, str(_get(st, "label")), align=LEFT)
        _put(ws, i, 2, _get(st, "replicas"), INT, RIGHT)
        _put(ws, i, 3, _get(st, "total_gpus"), INT, RIGHT)
        _put(ws, i, 4, _get(st, "gpus_per_replica"), INT, RIGHT)
        _put(ws, i, 5, _get(st, "gpu"), align=RIGHT)
        cost = _get(st, "monthly_cost")
        _put(ws, i, 6, cost if cost is not None else "no price", INT, RIGHT)
        _put(ws, i, 7, _get(st, "throughput_per_replica_tok_s"), INT, RIGHT)
        _put(ws, i, 8, _get(st, "note") or notes[i - 4], align=UNIT)
    last = 3 + len(data.waterfall)
    bar = BarChart()
    bar.type = "col"
    bar.title = "Replicas and total GPUs per optimization step"
    bar.y_axis.title = "count"
    bar.add_data(Reference(ws, min_col=2, max_col=3, min_row=3, max_row=last), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=1, min_row=4, max_row=last))
    bar.height, bar.width = 8, 16
    ws.add_chart(bar, f"A{last + 3}")
    fit_rows(ws)


def _get(obj: Any, name: str) -> Any:
    v = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return _cell_value(v)


SENS_HEAD = ("{x}", "Baseline GPUs", "Burst GPUs", "Resilient GPUs", "Baseline cost", "Burst cost", "Resilient cost",
             "Current: Burst GPUs", "Current: Burst cost", "Note")


def _scatter(ws: Worksheet, title: str, ytitle: str, xtitle: str, xref: Reference, cols: Sequence[int],
             current_col: int, head: int, top: int, last: int, anchor: str) -> ScatterChart:
    """Straight lines with markers on a value axis, one series per column, plus the current input
    as a lone marker."""
    ch = ScatterChart()
    ch.title = title
    ch.style = 2
    ch.y_axis.title = ytitle
    ch.x_axis.title = xtitle
    for col in cols:
        s = Series(Reference(ws, min_col=col, min_row=top, max_row=last), xref, title_from_data=False,
                   title=str(ws.cell(row=head, column=col).value))
        s.marker.symbol = "circle"
        s.marker.size = 5
        s.smooth = False
        ch.series.append(s)
    cur = Series(Reference(ws, min_col=current_col, min_row=top, max_row=last), xref, title="Current input")
    cur.marker.symbol = "diamond"
    cur.marker.size = 11
    cur.marker.graphicalProperties = GraphicalProperties(solidFill="000000")
    cur.marker.graphicalProperties.line.solidFill = "000000"
    cur.graphicalProperties.line.noFill = True
    cur.smooth = False
    ch.series.append(cur)
    ch.x_axis.delete = False
    ch.y_axis.delete = False
    ch.height, ch.width = 7.5, 13
    ws.add_chart(ch, anchor)
    return ch


def _sensitivity_block(ws: Worksheet, top: int, title: str, xlabel: str, pts: list[SensitivityPoint],
                       base: float, cur: str, xname: str) -> int:
    _put(ws, top, 1, title, font=BOLD)
    head = top + 1
    _header(ws, head, [h.format(x=xlabel) for h in SENS_HEAD], right_from=1, right_to=9, unit_col=10)
    xfmt = INT if xlabel.startswith("Concurrent") else D1
    for i, p in enumerate(pts, start=head + 1):
        _put(ws, i, 1, p.x, xfmt, RIGHT)
        for j, k in enumerate(SCENARIOS, start=2):
            _put(ws, i, j, p.total_gpus[k], INT, RIGHT)
            _put(ws, i, j + 3, p.monthly.get(k), INT, RIGHT)
        now = p.x == base
        if now:
            _put(ws, i, 8, p.total_gpus["burst"], INT, RIGHT)
            _put(ws, i, 9, p.monthly.get("burst"), INT, RIGHT)
        _put(ws, i, 10, p.error or ("current input" if now else ""), align=UNIT)
    last = head + len(pts)
    xref = Reference(ws, min_col=1, min_row=head + 1, max_row=last)
    for ch in (_scatter(ws, f"Total GPUs vs {xname}", "GPUs", xlabel, xref, (2, 3, 4), 8, head, head + 1, last,
                        f"A{last + 2}"),
               _scatter(ws, f"Monthly cost ({cur}/month) vs {xname}", f"{cur}/month", xlabel, xref, (5, 6, 7), 9,
                        head, head + 1, last, f"F{last + 2}")):
        ch.x_axis.number_format = "#,##0"
        ch.y_axis.number_format = "#,##0"
    return last + 2 + 16


def _sensitivity_sheet(wb: Workbook, result: SizingResult, data: ReportData) -> None:
    ws = wb.create_sheet("Sensitivity")
    _put(ws, 1, 1, "Sensitivity: total GPUs and monthly cost when one input changes (each point a full re-sizing)",
         font=TITLE)
    cur = (cost_of(result.burst) or {}).get("currency", "")
    _put(ws, 2, 1, f"Costs in {cur}/month. The diamond marks the current input.", font=SMALL)
    inp = result.inputs
    nxt = _sensitivity_block(ws, 3, "Against concurrent users", "Concurrent users", data.users,
                             inp.concurrent_users, cur, "concurrent users")
    ws.row_breaks.append(Break(id=nxt - 1))  # each block (table and its charts) on a page of its own
    _sensitivity_block(ws, nxt, "Against the TPOT target", "TPOT target (ms)", data.tpot, inp.tpot_ms, cur,
                       "TPOT target")
    _widths(ws, {"A": 16, "B": 12, "C": 12, "D": 12, "E": 13, "F": 13, "G": 13, "H": 13, "I": 13, "J": 40})
    fit_rows(ws)


def _warnings_sheet(wb: Workbook, result: SizingResult) -> None:
    ws = wb.create_sheet("Warnings")
    _put(ws, 1, 1, "Warnings", font=TITLE)
    _widths(ws, {"A": 12, "B": 110})
    _header(ws, 3, ["Scenario", "Warning"], right_from=99)
    rows = all_warnings(result)
    for i, (sc, w) in enumerate(rows, start=4):
        _put(ws, i, 1, sc, align=LEFT)
        _put(ws, i, 2, w, align=WRAP)
    if not rows:
        _put(ws, 4, 1, "none")
    fit_rows(ws)


def _checklist_sheet(wb: Workbook, project: Any, result: SizingResult) -> None:
    ws = wb.create_sheet("Checklist")
    _widths(ws, {"A": 22, "B": 44, "C": 20, "D": 14, "E": 16, "F": 44, "G": 12})
    _put(ws, 1, 1, "Checklist status and decision log", font=TITLE)
    items = checklist_items(project)
    n_open = sum(1 for it in items if is_open(item_field(it, "status")))
    for r, (label, v) in enumerate((("Checklist items", len(items)), ("Open", n_open),
                                    ("Settled", len(items) - n_open)), start=3):
        _put(ws, r, 1, label, font=BOLD)
        _put(ws, r, 2, v, INT, LEFT)
    r = 7
    _put(ws, r, 1, "Decision log (the project's checklist)", font=BOLD)
    r += 1
    cols = ["section", "item", "owner", "status", "value", "reason", "date"]
    _header(ws, r, [c.capitalize() for c in cols], right_from=99)
    r += 1
    if not items:
        _put(ws, r, 1, "no checklist in this project")
        r += 1
    for it in items:
        for j, c in enumerate(cols, start=1):
            v = item_field(it, c)
            if hasattr(v, "isoformat"):
                cell = ws.cell(row=r, column=j, value=v)
                cell.number_format = "yyyy-mm-dd"
                cell.alignment = LEFT
            else:
                _put(ws, r, j, v, align=LEFT)
        r += 1
    r += 1
    _put(ws, r, 1, "Inputs: owner, value and reason", font=BOLD)
    r += 1
    _header(ws, r, ["Step", "Input", "Owner", "Value", "Unit", "Reason"], right_from=99)
    r += 1
    for row in input_rows(result.inputs, project):
        for j, v in enumerate(row, start=1):
            _put(ws, r, j, v, align=LEFT)
        r += 1
    fit_rows(ws)


ASSUMPTIONS_FIRST = 7
"""First row of the explanation chain on the Assumptions sheet (header above it)."""


def _assumptions_sheet(wb: Workbook, result: SizingResult) -> None:
    ws = wb.create_sheet("Assumptions")
    _widths(ws, {"A": 11, "B": 28, "C": 16, "D": 18, "E": 54, "F": 54})
    _put(ws, 1, 1, "Assumptions and their sources", font=TITLE)
    conf = result.confidence
    _header(ws, 3, ["Confidence band", "", "Low", "High", "Source", ""], right_from=3, right_to=4)
    _put(ws, 4, 1, f"Replica capacity, {conf.get('kind', '')} model", align=LEFT)
    ws.merge_cells("A4:B4")
    _put(ws, 4, 3, conf.get("low"), "+0%;-0%;0%", RIGHT)
    _put(ws, 4, 4, conf.get("high"), "+0%;-0%;0%", RIGHT)
    _put(ws, 4, 5, readable_source(conf.get("source", "")), align=WRAP)
    ws.merge_cells("E4:F4")
    _header(ws, 6, ["Scenario", "Step", "Value", "Unit", "Formula", "Source"], right_from=3, right_to=3, unit_col=4)
    for i, st in enumerate(result.explain(), start=ASSUMPTIONS_FIRST):
        _put(ws, i, 1, st.scenario, align=LEFT)
        _put(ws, i, 2, st.name, align=WRAP)
        _put(ws, i, 3, st.value, auto_format(st.value, st.unit), RIGHT)
        _put(ws, i, 4, st.unit, align=UNIT)
        _put(ws, i, 5, st.formula, align=WRAP)
        _put(ws, i, 6, readable_source(st.source), align=WRAP)
    ws.freeze_panes = f"A{ASSUMPTIONS_FIRST}"
    ws.print_title_rows = "6:6"
    fit_rows(ws)


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def build_report(project: Any, result: SizingResult, data: ReportData | None = None) -> Workbook:
    """The report as an in-memory workbook."""
    from xlsizer.outpaths import REPORT_SUBJECT

    data = data if data is not None else report_data(result.inputs)
    wb = Workbook()
    wb.properties.creator = "xlsizer"
    wb.properties.subject = REPORT_SUBJECT  # a later batch may replace it (--force), never a user's file
    _summary(wb, project, result)
    _details_sheet(wb, result, data)
    _waterfall_sheet(wb, result, data)
    _sensitivity_sheet(wb, result, data)
    _warnings_sheet(wb, result)
    _checklist_sheet(wb, project, result)
    _assumptions_sheet(wb, result)
    print_landscape(wb)
    wb["Summary"].page_setup.fitToHeight = 1  # the brief: one printed page
    for ws in wb.worksheets:
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
    return wb


def write_report(project: Any, result: SizingResult, out_path: str | os.PathLike[str],
                 data: ReportData | None = None) -> Path:
    """Write the report workbook for one project atomically; returns its path."""
    wb = build_report(project, result, data)
    return save_with_values(wb, out_path)  # atomic; stores any formula's result (issue 13)
