"""One report workbook per project, written from (project, result) with native Excel charts.

Sheets:
  Summary      headline sentence (Burst scenario), confidence band, the three scenarios side by
               side (sizing, traffic, memory, server, fabric, power and cooling, cost), the memory
               breakdown chart, drivers and "what would change the answer" (re-sized).
  Waterfall    replicas and total GPUs as each optimization is switched on (chart).
  Sensitivity  replicas vs concurrent users and vs the TPOT target (two line charts).
  Warnings     every warning, by scenario.
  Checklist    status counts, the checklist (the decision log) and every input with its owner.
  Assumptions  the confidence band and the explanation chain (name, value, unit, formula, source).

Numbers are written unrounded (cell formats do the rounding), so a report cell equals the
core's value. The file is written to a temporary name in the output folder and renamed, so a
half-written report is never left behind. The project workbook is never opened for writing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from xlsizer.engine.insights import WhatIf, drivers, resize, what_ifs
from xlsizer.engine.waterfall import waterfall
from xlsizer.errors import XlsizerError
from xlsizer.inputs import SizingInputs
from xlsizer.results import SCENARIOS, Scenario, SizingResult
from xlsizer.workbook.styles import print_landscape

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
SECTION_FILL = PatternFill("solid", fgColor="EDEDED")
WRAP = Alignment(wrap_text=True, vertical="top")

SCENARIO_TITLES = {"baseline": "Baseline", "burst": "Burst", "resilient": "Resilient"}
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

def _perf(s: Scenario, key: str) -> Any:
    """A figure of the roofline plan (absent for the course-table method and overrides)."""
    return s.extra.get("perf", {}).get(key)


# Summary rows: (label, unit, getter). A getter returns the value for one scenario.
Getter = Callable[[Scenario], Any]
SUMMARY_SECTIONS: tuple[tuple[str, tuple[tuple[str, str, Getter], ...]], ...] = (
    ("Sizing", (
        ("GPU", "", lambda s: s.gpu_name),
        ("GPU id", "", lambda s: s.gpu),
        ("GPUs per replica", "GPUs", lambda s: s.gpus_per_replica),
        ("Tensor parallel (TP)", "", lambda s: s.tp),
        ("Pipeline parallel (PP)", "", lambda s: s.pp),
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
    ("Memory need (whole deployment, course method, course.md §10.3 steps 1-7)", (
        ("Weights", "GB", lambda s: s.memory.weights_gb),
        ("KV cache", "GB", lambda s: s.memory.kv_total_gb),
        ("Activations", "GB", lambda s: s.memory.activations_gb),
        ("Headroom", "GB", lambda s: s.memory.headroom_gb),
        ("VRAM needed", "GB", lambda s: s.memory.vram_gb),
        ("KV per request", "GB", lambda s: s.memory.kv_per_request_gb),
        ("KV bytes per token", "B", lambda s: s.memory.kv_bytes_per_token),
    )),
    ("One replica at capacity (roofline model)", (
        ("Sequences per replica (batch)", "sequences", lambda s: _perf(s, "batch")),
        ("TPOT at that batch", "ms", lambda s: _perf(s, "tpot_ms")),
        ("TTFT at peak load", "ms", lambda s: _perf(s, "ttft_ms")),
        ("Memory per replica", "GB", lambda s: _perf(s, "memory_per_replica_gb")),
        ("KV budget per replica", "GB", lambda s: _perf(s, "kv_budget_gb_per_replica")),
        ("Binding resource", "", lambda s: _perf(s, "binding")),
        ("MoE: expert GEMMs share of step", "fraction", lambda s: _perf(s, "moe_expert_gemm_share")),
        ("MoE: imbalance share of step", "fraction", lambda s: _perf(s, "moe_imbalance_share")),
        ("MoE: all-to-all share of step", "fraction", lambda s: _perf(s, "moe_all_to_all_share")),
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
        ("PUE", "", lambda s: s.pue),
        ("Facility power", "kW", lambda s: s.facility_kw),
        ("Cooling tier", "", lambda s: s.cooling_tier),
    )),
)
COST_ROWS: tuple[tuple[str, str], ...] = (
    ("Monthly cost", "monthly"), ("Annual cost", "annual"),
    ("Compute, monthly", "compute"), ("Power, monthly", "power"), ("Facility, monthly", "facility"),
    ("Per million output tokens", "per_million_output_tokens"),
    ("Per million tokens", "per_million_tokens"), ("Per user per month", "per_user_month"),
    ("API break-even, tokens per month", "breakeven_api_monthly_tokens"),
    ("Pricing model", "pricing_model"), ("Currency", "currency"),
)


# --------------------------------------------------------------------------------------------
# data computed for the report (re-sizings), kept apart from the writing
# --------------------------------------------------------------------------------------------
@dataclass
class SensitivityPoint:
    x: float
    replicas: dict[str, int | None]
    total_gpus: dict[str, int | None]
    error: str = ""


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
            out.append(SensitivityPoint(x, none, dict(none), exc.short()))
            continue
        out.append(SensitivityPoint(x, {k: r.scenarios[k].replicas for k in SCENARIOS},
                                    {k: r.scenarios[k].total_gpus for k in SCENARIOS}))
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
    """(scenario, warning) pairs without duplicates: top-level ones are 'all'."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for w in result.warnings:
        if w not in seen:
            seen.add(w)
            out.append(("all", w))
    for k in SCENARIOS:
        for w in result.scenarios[k].warnings:
            if w not in seen:
                seen.add(w)
                out.append((k, w))
    return out


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


def _autowidth(ws: Worksheet, widths: dict[str, float]) -> None:
    for col, w in widths.items():
        ws.column_dimensions[col].width = w


def _header(ws: Worksheet, row: int, values: Sequence[Any]) -> None:
    for i, v in enumerate(values, start=1):
        c = ws.cell(row=row, column=i, value=v)
        c.font = BOLD
        c.fill = HEAD_FILL


def _fmt_for(unit: str, v: Any) -> str | None:
    if not isinstance(v, float):
        return None
    if unit in ("GB", "kW", "TB"):
        return "#,##0.0"
    if unit in ("tok/s", "requests", "B"):
        return "#,##0"
    return "#,##0.00"


# --------------------------------------------------------------------------------------------
# sheets
# --------------------------------------------------------------------------------------------
@dataclass
class SummaryLayout:
    """Where things landed on the Summary sheet (the tests and the charts use it)."""
    header_row: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def _summary(wb: Workbook, project: Any, result: SizingResult, data: ReportData) -> SummaryLayout:
    ws = wb.active
    ws.title = "Summary"
    name = getattr(project, "name", None) or "project"
    ws["A1"] = f"xlsizer report: {name}"
    ws["A1"].font = TITLE
    ws["A2"], ws["B2"] = "Project file", str(getattr(project, "path", "") or "")
    ws["A3"], ws["B3"] = "Headline (Burst scenario)", result.headline
    ws["B3"].font = BOLD
    conf = result.confidence
    ws["A4"], ws["B4"], ws["C4"], ws["D4"] = ("Confidence band", conf.get("low"), conf.get("high"),
                                              str(conf.get("source", "")))
    ws["B4"].number_format = ws["C4"].number_format = "+0%;-0%;0%"
    b = result.burst
    lo, hi = conf.get("low"), conf.get("high")
    ws["A5"] = "Burst total GPUs, band"
    if isinstance(lo, int | float) and isinstance(hi, int | float):
        ws["B5"], ws["C5"] = b.total_gpus * (1 + lo), b.total_gpus * (1 + hi)
        ws["B5"].number_format = ws["C5"].number_format = "0.0"
    for ref in ("A2", "A3", "A4", "A5"):
        ws[ref].font = BOLD

    lay = SummaryLayout(header_row=7)
    _header(ws, 7, ["", *(SCENARIO_TITLES[k] for k in SCENARIOS), "Unit"])
    r = 8
    sections = list(SUMMARY_SECTIONS)
    for title, rows in sections:
        ws.cell(row=r, column=1, value=title).font = BOLD
        for c in range(1, 6):
            ws.cell(row=r, column=c).fill = SECTION_FILL
        r += 1
        for label, unit, get in rows:
            ws.cell(row=r, column=1, value=label)
            for j, k in enumerate(SCENARIOS, start=2):
                v = _cell_value(get(result.scenarios[k]))
                c = ws.cell(row=r, column=j, value=v)
                fmt = _fmt_for(unit, v)
                if fmt:
                    c.number_format = fmt
            ws.cell(row=r, column=5, value=unit)
            lay.rows[label] = r
            r += 1
    # cost (from the cost engine, when present)
    ws.cell(row=r, column=1, value="Cost").font = BOLD
    for c in range(1, 6):
        ws.cell(row=r, column=c).fill = SECTION_FILL
    r += 1
    costs = {k: cost_of(result.scenarios[k]) for k in SCENARIOS}
    if any(costs.values()):
        for label, key in COST_ROWS:
            ws.cell(row=r, column=1, value=label)
            for j, k in enumerate(SCENARIOS, start=2):
                v = (costs[k] or {}).get(key)
                c = ws.cell(row=r, column=j, value=_cell_value(v))
                if isinstance(v, float):
                    c.number_format = "#,##0" if "tokens per month" in label else "#,##0.00"
            lay.rows[label] = r
            r += 1
    else:
        ws.cell(row=r, column=1, value="Cost not available (no cost figures in this sizing)")
        r += 1

    # memory breakdown chart: one series per part (rows), categories = scenarios (header)
    first, last = lay.rows["Weights"], lay.rows["Headroom"]
    bar = BarChart()
    bar.type = "col"
    bar.grouping = "stacked"
    bar.overlap = 100
    bar.title = "Memory need by part, whole deployment (GB)"
    bar.y_axis.title = "GB"
    bar.add_data(Reference(ws, min_col=1, max_col=4, min_row=first, max_row=last), from_rows=True,
                 titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=2, max_col=4, min_row=lay.header_row, max_row=lay.header_row))
    bar.height, bar.width = 8, 14
    ws.add_chart(bar, "G7")

    # drivers and what would change the answer
    r += 1
    ws.cell(row=r, column=1, value="Drivers (Burst scenario)").font = BOLD
    r += 1
    for d in drivers(result):
        ws.cell(row=r, column=1, value=f"- {d}")
        r += 1
    r += 1
    ws.cell(row=r, column=1, value="What would change the answer").font = BOLD
    r += 1
    _header(ws, r, ["Change", "Burst replicas", "Burst total GPUs", "GPUs vs now", "Note"])
    r += 1
    lay.rows["what_if_first"] = r
    for w in data.what_if:
        ws.cell(row=r, column=1, value=w.change)
        ws.cell(row=r, column=2, value=w.replicas)
        ws.cell(row=r, column=3, value=w.total_gpus)
        if w.total_gpus is not None:
            ws.cell(row=r, column=4, value=w.total_gpus - b.total_gpus).number_format = "+0;-0;0"
        ws.cell(row=r, column=5, value=w.error)
        r += 1
    _autowidth(ws, {"A": 34, "B": 26, "C": 26, "D": 26, "E": 10})
    ws.freeze_panes = "B8"
    return lay


def _waterfall_sheet(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Waterfall")
    ws["A1"] = "Optimization waterfall: replicas as each optimization is switched on"
    ws["A1"].font = TITLE
    if not data.waterfall:
        ws["A3"] = data.waterfall_note or "no waterfall steps"
        return
    _header(ws, 3, ["Step", "Replicas", "Total GPUs", "Throughput per replica (tok/s)", "VRAM (GB)"])
    for i, st in enumerate(data.waterfall, start=4):
        ws.cell(row=i, column=1, value=str(_get(st, "label")))
        ws.cell(row=i, column=2, value=_get(st, "replicas"))
        ws.cell(row=i, column=3, value=_get(st, "total_gpus"))
        ws.cell(row=i, column=4, value=_get(st, "throughput_per_replica_tok_s")).number_format = "#,##0"
        ws.cell(row=i, column=5, value=_get(st, "vram_gb")).number_format = "#,##0.0"
    last = 3 + len(data.waterfall)
    bar = BarChart()
    bar.type = "col"
    bar.title = "Replicas and total GPUs per optimization step"
    bar.y_axis.title = "count"
    bar.add_data(Reference(ws, min_col=2, max_col=3, min_row=3, max_row=last), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=1, min_row=4, max_row=last))
    bar.height, bar.width = 8, 16
    ws.add_chart(bar, "G3")
    _autowidth(ws, {"A": 40, "B": 12, "C": 12, "D": 28, "E": 12})


def _get(obj: Any, name: str) -> Any:
    v = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return _cell_value(v)


def _sensitivity_block(ws: Worksheet, top: int, title: str, xlabel: str, pts: list[SensitivityPoint],
                       anchor: str, base: float) -> None:
    ws.cell(row=top, column=1, value=title).font = BOLD
    _header(ws, top + 1, [xlabel, *(f"{SCENARIO_TITLES[k]} replicas" for k in SCENARIOS),
                          "Burst total GPUs", "Note"])
    for i, p in enumerate(pts, start=top + 2):
        ws.cell(row=i, column=1, value=p.x)
        for j, k in enumerate(SCENARIOS, start=2):
            ws.cell(row=i, column=j, value=p.replicas[k])
        ws.cell(row=i, column=5, value=p.total_gpus["burst"])
        note = p.error or ("current input" if p.x == base else "")
        ws.cell(row=i, column=6, value=note)
    last = top + 1 + len(pts)
    ch = LineChart()
    ch.title = title
    ch.y_axis.title = "replicas"
    ch.x_axis.title = xlabel
    ch.add_data(Reference(ws, min_col=2, max_col=4, min_row=top + 1, max_row=last), titles_from_data=True)
    ch.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last))
    ch.height, ch.width = 7.5, 15
    ws.add_chart(ch, anchor)


def _sensitivity_sheet(wb: Workbook, result: SizingResult, data: ReportData) -> None:
    ws = wb.create_sheet("Sensitivity")
    ws["A1"] = "Sensitivity: replicas when one input changes (each point is a full re-sizing)"
    ws["A1"].font = TITLE
    inp = result.inputs
    _sensitivity_block(ws, 3, "Replicas vs concurrent users", "Concurrent users", data.users, "H3",
                       inp.concurrent_users)
    top2 = 3 + len(data.users) + 4
    _sensitivity_block(ws, top2, "Replicas vs TPOT target", "TPOT target (ms)", data.tpot, f"H{top2}",
                       inp.tpot_ms)
    _autowidth(ws, {"A": 18, "B": 18, "C": 16, "D": 18, "E": 16, "F": 30})


def _warnings_sheet(wb: Workbook, result: SizingResult) -> None:
    ws = wb.create_sheet("Warnings")
    ws["A1"] = "Warnings"
    ws["A1"].font = TITLE
    _header(ws, 3, ["Scenario", "Warning"])
    rows = all_warnings(result)
    for i, (sc, w) in enumerate(rows, start=4):
        ws.cell(row=i, column=1, value=sc)
        ws.cell(row=i, column=2, value=w).alignment = WRAP
    if not rows:
        ws["A4"] = "none"
    _autowidth(ws, {"A": 12, "B": 110})


def _checklist_sheet(wb: Workbook, project: Any, result: SizingResult) -> None:
    ws = wb.create_sheet("Checklist")
    ws["A1"] = "Checklist status and decision log"
    ws["A1"].font = TITLE
    items = checklist_items(project)
    n_open = sum(1 for it in items if is_open(item_field(it, "status")))
    ws["A3"], ws["B3"] = "Checklist items", len(items)
    ws["A4"], ws["B4"] = "Open", n_open
    ws["A5"], ws["B5"] = "Settled", len(items) - n_open
    for ref in ("A3", "A4", "A5"):
        ws[ref].font = BOLD
    r = 7
    ws.cell(row=r, column=1, value="Decision log (the project's checklist)").font = BOLD
    r += 1
    cols = ["section", "item", "owner", "status", "value", "reason", "date"]
    _header(ws, r, [c.capitalize() for c in cols])
    r += 1
    if not items:
        ws.cell(row=r, column=1, value="no checklist in this project")
        r += 1
    for it in items:
        for j, c in enumerate(cols, start=1):
            v = item_field(it, c)
            cell = ws.cell(row=r, column=j, value=_cell_value(v) if not hasattr(v, "isoformat") else v)
            if c in ("item", "reason"):
                cell.alignment = WRAP
        r += 1
    r += 1
    ws.cell(row=r, column=1, value="Inputs: owner, value and reason").font = BOLD
    r += 1
    _header(ws, r, ["Step", "Input", "Owner", "Value", "Unit", "Reason"])
    r += 1
    for row in input_rows(result.inputs, project):
        for j, v in enumerate(row, start=1):
            ws.cell(row=r, column=j, value=v)
        r += 1
    _autowidth(ws, {"A": 18, "B": 44, "C": 20, "D": 14, "E": 24, "F": 50, "G": 12})


def _assumptions_sheet(wb: Workbook, result: SizingResult) -> None:
    ws = wb.create_sheet("Assumptions")
    ws["A1"] = "Assumptions and their sources"
    ws["A1"].font = TITLE
    conf = result.confidence
    ws["A3"], ws["B3"], ws["C3"] = "Confidence band", conf.get("low"), conf.get("high")
    ws["B3"].number_format = ws["C3"].number_format = "+0%;-0%;0%"
    ws["D3"] = str(conf.get("kind", ""))
    ws["E3"] = str(conf.get("source", ""))
    ws["A3"].font = BOLD
    _header(ws, 5, ["Scenario", "Step", "Value", "Unit", "Formula", "Source"])
    for i, st in enumerate(result.explain(), start=6):
        ws.cell(row=i, column=1, value=st.scenario)
        ws.cell(row=i, column=2, value=st.name)
        ws.cell(row=i, column=3, value=st.value)
        ws.cell(row=i, column=4, value=st.unit)
        ws.cell(row=i, column=5, value=st.formula)
        ws.cell(row=i, column=6, value=st.source)
    _autowidth(ws, {"A": 11, "B": 26, "C": 16, "D": 10, "E": 60, "F": 50})


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def build_report(project: Any, result: SizingResult, data: ReportData | None = None) -> Workbook:
    """The report as an in-memory workbook."""
    data = data if data is not None else report_data(result.inputs)
    wb = Workbook()
    _summary(wb, project, result, data)
    _waterfall_sheet(wb, data)
    _sensitivity_sheet(wb, result, data)
    _warnings_sheet(wb, result)
    _checklist_sheet(wb, project, result)
    _assumptions_sheet(wb, result)
    print_landscape(wb)
    return wb


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def save_atomic(write: Callable[[str], None], target: str | os.PathLike[str]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``target``, then rename it over
    ``target``. On any failure the temporary file is removed and ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".~{target.stem}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; a report gets the usual permissions
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def write_report(project: Any, result: SizingResult, out_path: str | os.PathLike[str],
                 data: ReportData | None = None) -> Path:
    """Write the report workbook for one project atomically; returns its path."""
    wb = build_report(project, result, data)
    return save_atomic(wb.save, out_path)
