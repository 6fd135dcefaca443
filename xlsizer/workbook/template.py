"""Write the template workbook (and filled copies of it) with openpyxl.

Everything that describes an input comes from ``SizingInputs.model_fields`` at run time, so
fields added later (the Advanced step, the finance view) appear without edits here; fields
are grouped by their ``step`` metadata. Layout, in sheet order:

- Start: what this is, how to use it, the project name and the headline formula.
- Inputs: one row per input (steps 1-5 and every other step but Advanced and Costs); the
  value cell is a defined name equal to the field name. Columns B:C of all rows form the
  one two-column name/value range ``Inputs`` that the scenario-style functions read; the
  Advanced and Costs fields appear there as read-only mirrors of their own sheets.
- Advanced, Costs: the step "6 ..." and "8 ..." fields, same columns.
- Results: the Excel functions for Baseline, Burst and Resilient side by side, the VRAM
  waterfall, and LLM_WARNINGS / LLM_EXPLAIN as fixed-size legacy array formulas.
- Checklist: course.md §7 entire, the decision log, with completion by native formulas.
- Catalog: models and GPUs with key facts; the dropdown lists.
- xlwings.conf: the UDF module for classic xlwings.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula

from xlsizer.catalog import load_catalog
from xlsizer.inputs import SizingInputs, _allowed, make_inputs
from xlsizer.workbook import styles as st
from xlsizer.workbook.checklist import CHECKLIST, SECTIONS, STATUSES, ChecklistItem
from xlsizer.workbook.safe import clean_text, put_text

DEFAULT_NAME = "xlsizer project"
UDF_MODULE = "xlsizer_udfs"
FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)  # workbook properties: byte-stable output
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)

SHEET_START = "Start"
SHEET_INPUTS = "Inputs"
SHEET_ADVANCED = "Advanced"
SHEET_COSTS = "Costs"
SHEET_RESULTS = "Results"
SHEET_CHECKLIST = "Checklist"
SHEET_CATALOG = "Catalog"
SHEET_CONF = "xlwings.conf"

INPUTS_NAME = "Inputs"          # the two-column name/value range
PROJECT_NAME = "project_name"   # Start!B4
LIST_MODELS = "list_models"
LIST_GPUS = "list_gpus"
LIST_STATUS = "list_status"

# Input sheets: header row and first data row (same columns on Inputs, Advanced, Costs).
HEADER_ROW = 4
FIRST_ROW = 5
COLUMNS = ("Step", "Input (name)", "Value", "Unit", "Allowed", "Default", "Owner of the decision",
           "What it moves", "What it is")
NAME_COL, VALUE_COL = 2, 3

# Fixed sizes of the array-formula tables (the functions pad to at least these sizes).
WARNINGS_ROWS = 16             # LLM_WARNINGS: 16 x 1, blank-padded
EXPLAIN_ROWS, EXPLAIN_COLS = 64, 5  # LLM_EXPLAIN: 64 x 5 with its own header row, blank-padded
EXPLAIN_SCENARIO = "burst"

CHECK_HEADER_ROW = 12
CHECK_COLUMNS = ("Section", "Item", "Owner", "Status", "Value", "Reason", "Date")


def sheet_for_step(step: str) -> str:
    """Which sheet holds the inputs of a wizard step."""
    if step.startswith("6"):
        return SHEET_ADVANCED
    if step.startswith("8"):
        return SHEET_COSTS
    return SHEET_INPUTS


# --- field descriptions ------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldInfo:
    name: str
    step: str
    unit: str
    owner: str
    moves: str
    description: str
    default: Any
    allowed: str
    kind: str                       # bool, int, float, text
    options: tuple[str, ...] | None  # literal dropdown values
    list_name: str | None           # dropdown from a defined name (model, gpu)
    low: float | None
    high: float | None

    @property
    def sheet(self) -> str:
        return sheet_for_step(self.step)


def _cell_value(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
    return v


def field_infos() -> list[FieldInfo]:
    """Every input field, in declaration order, with what the sheets show."""
    out = []
    for name, info in SizingInputs.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        ann = str(info.annotation)
        low = high = None
        for m in info.metadata:
            for attr in ("ge", "gt"):
                if getattr(m, attr, None) is not None:
                    low = float(getattr(m, attr))
            for attr in ("le", "lt"):
                if getattr(m, attr, None) is not None:
                    high = float(getattr(m, attr))
        allowed = _allowed(name)
        options = list_name = None
        if info.annotation is bool:
            kind, options = "bool", ("TRUE", "FALSE")
        elif allowed.startswith("one of "):
            kind, options = "text", tuple(allowed[len("one of "):].split(", "))
        elif "int" in ann and "float" not in ann:
            kind = "int"
        elif "float" in ann:
            kind = "float"
        else:
            kind = "text"
        if name == "model":
            list_name, allowed = LIST_MODELS, "a model id from the Catalog sheet, or custom"
        elif name == "gpu":
            list_name, allowed = LIST_GPUS, "auto, a GPU id from the Catalog sheet, or custom"
        out.append(FieldInfo(
            name=name, step=str(extra.get("step", "Other")), unit=str(extra.get("unit", "")),
            owner=str(extra.get("owner", "")), moves=str(extra.get("moves", "")),
            description=info.description or "", default=_cell_value(info.default), allowed=allowed,
            kind=kind, options=options, list_name=list_name, low=low, high=high))
    return out


def _display_default(v: Any) -> Any:
    if v is None:
        return "(empty)"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return v


# --- results rows ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResultRow:
    """One Results row: a label and the dotted result path the formula asks for."""

    label: str
    unit: str
    field: str                    # dotted path in the result JSON (as LLM_RESULT takes it)
    function: str | None          # a dedicated function, else LLM_RESULT(Inputs, field, scenario)
    number_format: str

    def formula(self, scenario: str) -> str:
        if self.function:
            return f'={self.function}({INPUTS_NAME},"{scenario}")'
        return f'=LLM_RESULT({INPUTS_NAME},"{self.field}","{scenario}")'


RESULT_ROWS: tuple[ResultRow, ...] = (
    ResultRow("Replicas (with spares)", "replicas", "replicas", "LLM_REPLICAS", "#,##0"),
    ResultRow("Active replicas", "replicas", "active_replicas", None, "#,##0"),
    ResultRow("GPUs", "GPUs", "total_gpus", "LLM_GPUS", "#,##0"),
    ResultRow("Servers", "servers", "servers", "LLM_SERVERS", "#,##0"),
    ResultRow("GPU", "", "gpu", None, "General"),
    ResultRow("GPUs per replica", "GPUs", "gpus_per_replica", None, "#,##0"),
    ResultRow("Tensor parallel", "x", "tp", None, "#,##0"),
    ResultRow("Throughput per replica", "tok/s", "throughput_per_replica_tok_s", None, "#,##0"),
    ResultRow("Demand", "tok/s", "traffic.demand_tok_s", None, "#,##0"),
    ResultRow("In-flight requests", "requests", "traffic.inflight_requests", None, "#,##0.0"),
    ResultRow("Sequences per replica (batch)", "sequences", "perf.batch", None, "#,##0"),
    ResultRow("TPOT at that batch", "ms", "perf.tpot_ms", None, "#,##0.0"),
    ResultRow("TTFT at peak load", "ms", "perf.ttft_ms", None, "#,##0"),
    ResultRow("Memory per replica", "GB", "perf.memory_per_replica_gb", None, "#,##0.0"),
    ResultRow("Binding resource", "", "perf.binding", None, "General"),
    ResultRow("VRAM need, whole deployment (course method)", "GB", "memory.vram_gb", None, "#,##0.0"),
    ResultRow("KV cache, whole deployment", "GB", "memory.kv_total_gb", None, "#,##0.0"),
    ResultRow("IT power", "kW", "it_kw", "LLM_POWER_KW", "#,##0.0"),
    ResultRow("Facility power", "kW", "facility_kw", "LLM_FACILITY_KW", "#,##0.0"),
    ResultRow("PUE", "", "pue", None, "0.00"),
    ResultRow("Racks", "racks", "racks", None, "#,##0"),
    ResultRow("Cooling", "", "cooling_tier", None, "General"),
    ResultRow("Fabric", "", "fabric", None, "General"),
    ResultRow("Cost per month", "currency", "cost.monthly", "LLM_COST_MONTHLY", "#,##0"),
    ResultRow("Cost per million tokens", "currency", "cost.per_million_tokens", "LLM_COST_PER_MTOK", "#,##0.00"),
)

VRAM_TITLE = "VRAM need of the whole deployment (course.md §10.3 steps 1-7): weights + KV + activations + headroom"

WATERFALL_ROWS: tuple[ResultRow, ...] = (
    ResultRow("Weights", "GB", "memory.weights_gb", None, "#,##0.0"),
    ResultRow("KV cache", "GB", "memory.kv_total_gb", None, "#,##0.0"),
    ResultRow("Activations", "GB", "memory.activations_gb", None, "#,##0.0"),
    ResultRow("Headroom", "GB", "memory.headroom_gb", None, "#,##0.0"),
    ResultRow("VRAM need", "GB", "memory.vram_gb", None, "#,##0.0"),
)

RESULTS_HEADER_ROW = 5
RESULTS_FIRST_ROW = 6
SCENARIO_COLS = {"baseline": 3, "burst": 4, "resilient": 5}
HEADLINE_CELL = "B3"


def results_layout() -> dict[str, Any]:
    """Where things are on the Results sheet (the tests read the same layout)."""
    first = RESULTS_FIRST_ROW
    wf_title = first + len(RESULT_ROWS) + 1
    wf_first = wf_title + 2
    warn_title = wf_first + len(WATERFALL_ROWS) + 1
    warn_first = warn_title + 2
    expl_title = warn_first + WARNINGS_ROWS + 1
    expl_first = expl_title + 1
    return {"rows": [(first + i, r) for i, r in enumerate(RESULT_ROWS)],
            "waterfall": [(wf_first + i, r) for i, r in enumerate(WATERFALL_ROWS)],
            "waterfall_title": wf_title, "warnings_title": warn_title, "warnings_first": warn_first,
            "explain_title": expl_title, "explain_first": expl_first}


# --- writer ------------------------------------------------------------------------------------
def _add_name(wb: Workbook, name: str, sheet: str, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(sheet)}!{ref}")


def _abs(col: int, row: int) -> str:
    return f"${get_column_letter(col)}${row}"


def _widths(ws, widths: Iterable[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _validation_for(f: FieldInfo) -> DataValidation | None:
    if f.list_name:
        return DataValidation(type="list", formula1=f"={f.list_name}", allow_blank=True, showErrorMessage=True,
                              errorTitle=f.name, error=f"{f.name} must be {f.allowed}")
    if f.options:
        return DataValidation(type="list", formula1='"' + ",".join(f.options) + '"', allow_blank=True,
                              showErrorMessage=True, errorTitle=f.name, error=f"{f.name} must be {f.allowed}")
    if f.kind in ("int", "float") and f.low is not None and f.high is not None:
        return DataValidation(type="whole" if f.kind == "int" else "decimal", operator="between",
                              formula1=f"{f.low:g}", formula2=f"{f.high:g}", allow_blank=True,
                              showErrorMessage=True, errorTitle=f.name, error=f"{f.name} must be {f.allowed}")
    return None


def _write_field_sheet(wb: Workbook, ws, title: str, intro: str, fields: list[FieldInfo],
                       values: dict[str, Any], mirrors: list[FieldInfo] | None = None) -> int:
    """Rows of inputs with their metadata; returns the last data row."""
    ws["A1"] = title
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = intro
    ws["A2"].font = st.NOTE_FONT
    for i, h in enumerate(COLUMNS, start=1):
        ws.cell(HEADER_ROW, i, h)
    st.style_header(ws[HEADER_ROW])
    row = FIRST_ROW - 1
    last_step = None
    for f in fields:
        row += 1
        if f.step != last_step:
            ws.cell(row, 1, f.step)
            st.style_section(ws.cell(row, 1))
            last_step = f.step
        ws.cell(row, NAME_COL, f.name).font = st.BOLD
        v = put_text(ws.cell(row, VALUE_COL), values.get(f.name))  # user text never a formula (issue 15)
        st.style_input(v)
        if f.kind == "int":
            v.number_format = "#,##0"
        elif f.kind == "float":
            v.number_format = "#,##0.###"
        for col, text in ((4, f.unit), (5, f.allowed), (6, _display_default(f.default)), (7, f.owner),
                          (8, f.moves), (9, f.description)):
            c = ws.cell(row, col, text)
            c.alignment = st.WRAP
        _add_name(wb, f.name, ws.title, _abs(VALUE_COL, row))
        dv = _validation_for(f)
        if dv is not None:
            ws.add_data_validation(dv)
            dv.add(ws.cell(row, VALUE_COL).coordinate)
    for f in mirrors or []:
        row += 1
        if f.step != last_step:
            ws.cell(row, 1, f"{f.step} (set on the {f.sheet} sheet)")
            st.style_section(ws.cell(row, 1))
            last_step = f.step
        ws.cell(row, NAME_COL, f.name).font = st.BOLD
        c = ws.cell(row, VALUE_COL, f'=IF(ISBLANK({f.name}),"",{f.name})')
        st.style_formula(c)
        c.fill = st.MIRROR_FILL
        for col, text in ((4, f.unit), (5, f.allowed), (6, _display_default(f.default)), (7, f.owner),
                          (8, f.moves), (9, f"Set on the {f.sheet} sheet. {f.description}")):
            ws.cell(row, col, text).alignment = st.WRAP
    _widths(ws, (16, 30, 18, 10, 30, 14, 20, 30, 60))
    ws.freeze_panes = ws.cell(FIRST_ROW, 1)
    st.protect(ws)
    return row


def _write_start(wb: Workbook, ws, name: str, notes: str | None) -> None:
    ws["A1"] = "xlsizer: LLM-inference capacity planner"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("One workbook per project. It follows the course Sizer's steps (aisle, course.md §10) and computes "
                "live through the xlsizer Excel functions (xlwings module xlsizer_udfs).")
    ws["A2"].font = st.NOTE_FONT
    ws["A4"] = "Project"
    ws["A4"].font = st.BOLD
    put_text(ws["B4"], name)
    st.style_input(ws["B4"])
    _add_name(wb, PROJECT_NAME, ws.title, "$B$4")
    ws["A6"] = "Headline"
    ws["A6"].font = st.BOLD
    ws["B6"] = f'=LLM_RESULT({INPUTS_NAME},"headline")'
    st.style_formula(ws["B6"])
    ws["B6"].alignment = st.WRAP
    ws.row_dimensions[6].height = 48
    steps = [
        "How to use it",
        "1. Inputs sheet: fill the pale-yellow cells, step by step (1 Workload to 5 Reliability). An empty cell "
        "means the default shown next to it. Each row says who owns the decision (course.md §7).",
        "2. Advanced sheet: the optimization toggles (TRUE/FALSE) and their parameters.",
        "3. Costs sheet: prices and finance assumptions (when present).",
        "4. Results sheet: Baseline, Burst and Resilient side by side, the VRAM waterfall, warnings and the "
        "step-by-step explanation. Pale-blue cells are formulas and are locked (protection has no password).",
        "5. Checklist sheet: the IT-and-AI planning conversation; its status, owner, value, reason and date "
        "columns are the decision log.",
        "6. What-ifs in one cell: =LLM_REPLICAS(Inputs,\"burst\",\"concurrent_users\",300).",
        "Excel needs the xlwings add-in pointed at the module xlsizer_udfs (see the xlwings.conf sheet); "
        "scripts read this file with xlsizer.workbook.read_project(path).",
    ]
    for i, text in enumerate(steps, start=8):
        ws.cell(i, 1, text)
        ws.cell(i, 1).font = st.BOLD if i == 8 else st.NOTE_FONT
    ws["A17"] = "Notes"
    ws["A17"].font = st.BOLD
    put_text(ws["B17"], notes)
    st.style_input(ws["B17"])
    ws["B17"].alignment = st.WRAP
    ws.row_dimensions[17].height = 90
    _widths(ws, (14, 120))
    st.protect(ws)


def _write_results(ws) -> None:
    lay = results_layout()
    ws["A1"] = "Results: the three scenarios"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("Formulas with the xlsizer Excel functions over the named range Inputs. Baseline = average "
                "traffic, Burst = peak, Resilient = peak plus the redundancy spares.")
    ws["A2"].font = st.NOTE_FONT
    ws["A3"] = "Headline"
    ws["A3"].font = st.BOLD
    ws[HEADLINE_CELL] = f'=LLM_RESULT({INPUTS_NAME},"headline")'
    st.style_formula(ws[HEADLINE_CELL])
    header = ("Result", "Unit", "Baseline", "Burst", "Resilient", "Field (LLM_RESULT path)")
    for i, h in enumerate(header, start=1):
        ws.cell(RESULTS_HEADER_ROW, i, h)
    st.style_header(ws[RESULTS_HEADER_ROW])
    t = lay["waterfall_title"]
    ws.cell(t, 1, VRAM_TITLE).font = st.BOLD
    for i, h in enumerate(("Part", *header[1:]), start=1):
        ws.cell(t + 1, i, h)
    st.style_header(ws[t + 1])
    for row, r in lay["rows"] + lay["waterfall"]:
        ws.cell(row, 1, r.label).font = st.BOLD
        ws.cell(row, 2, r.unit)
        for sc, col in SCENARIO_COLS.items():
            c = ws.cell(row, col, r.formula(sc))
            st.style_formula(c)
            c.number_format = r.number_format
        ws.cell(row, 6, r.field).font = st.NOTE_FONT
    wt = lay["warnings_title"]
    ws.cell(wt, 1, f"Warnings per scenario (LLM_WARNINGS: array formulas of {WARNINGS_ROWS} rows)").font = st.BOLD
    for i, h in enumerate(("", "", "Baseline", "Burst", "Resilient"), start=1):
        ws.cell(wt + 1, i, h)
    st.style_header(ws[wt + 1])
    wf = lay["warnings_first"]
    for sc, col in SCENARIO_COLS.items():
        letter = get_column_letter(col)
        ref = f"{letter}{wf}:{letter}{wf + WARNINGS_ROWS - 1}"
        ws[f"{letter}{wf}"] = ArrayFormula(ref, f'=LLM_WARNINGS({INPUTS_NAME},"{sc}")')
        for (c,) in ws[ref]:
            st.style_formula(c)
            c.alignment = st.WRAP
    et = lay["explain_title"]
    ws.cell(et, 1, f"How the {EXPLAIN_SCENARIO} scenario is computed (LLM_EXPLAIN: array formula of "
                   f"{EXPLAIN_ROWS} rows x {EXPLAIN_COLS} columns)").font = st.BOLD
    ef = lay["explain_first"]
    ref = f"A{ef}:{get_column_letter(EXPLAIN_COLS)}{ef + EXPLAIN_ROWS - 1}"
    ws[f"A{ef}"] = ArrayFormula(ref, f'=LLM_EXPLAIN({INPUTS_NAME},"{EXPLAIN_SCENARIO}")')
    for row in ws[ref]:
        for c in row:
            st.style_formula(c)
    _widths(ws, (44, 12, 24, 24, 24, 30))
    ws.freeze_panes = ws.cell(RESULTS_FIRST_ROW, 3)
    st.protect(ws)


def _write_checklist(wb: Workbook, ws, items: list[ChecklistItem]) -> None:
    first = CHECK_HEADER_ROW + 1
    last = CHECK_HEADER_ROW + len(items)
    ws["A1"] = "Checklist: the IT-and-AI planning conversation (course.md §7), and the decision log"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("Status: open / in progress / done / n/a. Value, reason and date record each decision "
                "(\"why 14 replicas?\"). Review quarterly.")
    ws["A2"].font = st.NOTE_FONT
    rng = {c: f"${c}${first}:${c}${last}" for c in "ABD"}
    summary = [
        ("Items", f"=COUNTA({rng['B']})", "0"),
        ("Done", f'=COUNTIF({rng["D"]},"done")', "0"),
        ("In progress", f'=COUNTIF({rng["D"]},"in progress")', "0"),
        ("Not applicable", f'=COUNTIF({rng["D"]},"n/a")', "0"),
        ("Open", "=B4-B5-B6-B7", "0"),
        ("Complete (done / applicable)", "=IF(B4-B7=0,0,B5/(B4-B7))", "0%"),
    ]
    for i, (label, formula, fmt) in enumerate(summary, start=4):
        ws.cell(i, 1, label).font = st.BOLD
        c = ws.cell(i, 2, formula)
        st.style_formula(c)
        c.number_format = fmt
    ws.cell(3, 4, "Section").font = st.BOLD
    ws.cell(3, 5, "Done").font = st.BOLD
    ws.cell(3, 6, "Items").font = st.BOLD
    for i, sec in enumerate(SECTIONS, start=4):
        ws.cell(i, 4, sec)
        c = ws.cell(i, 5, f'=COUNTIFS({rng["A"]},$D{i},{rng["D"]},"done")')
        st.style_formula(c)
        c = ws.cell(i, 6, f"=COUNTIF({rng['A']},$D{i})")
        st.style_formula(c)
    for i, h in enumerate(CHECK_COLUMNS, start=1):
        ws.cell(CHECK_HEADER_ROW, i, h)
    st.style_header(ws[CHECK_HEADER_ROW])
    dv = DataValidation(type="list", formula1=f"={LIST_STATUS}", allow_blank=True, showErrorMessage=True,
                        errorTitle="Status", error="Status must be one of " + ", ".join(STATUSES))
    ws.add_data_validation(dv)
    dv.add(f"D{first}:D{last}")
    for r, it in enumerate(items, start=first):
        put_text(ws.cell(r, 1), it.section).alignment = st.WRAP
        put_text(ws.cell(r, 2), it.item).alignment = st.WRAP
        for col, val in ((3, it.owner), (4, it.status), (5, it.value), (6, it.reason), (7, it.date)):
            c = put_text(ws.cell(r, col), val)
            st.style_input(c)
            c.alignment = st.WRAP
        ws.cell(r, 7).number_format = "yyyy-mm-dd"
    # the status list, beside the table
    ws.cell(3, 9, "Statuses").font = st.BOLD
    for i, s in enumerate(STATUSES, start=4):
        ws.cell(i, 9, s)
    _add_name(wb, LIST_STATUS, ws.title, f"$I$4:$I${3 + len(STATUSES)}")
    _widths(ws, (26, 70, 20, 14, 24, 50, 12, 2, 12))
    ws.freeze_panes = ws.cell(first, 3)
    st.protect(ws)


def _write_catalog(wb: Workbook, ws) -> None:
    cat = load_catalog()
    models = list(cat.models.values())
    gpus = list(cat.gpus.values())
    ws["A1"] = "Catalog: the models and GPUs xlsizer knows (the dropdowns read the lists on the right)"
    ws["A1"].font = st.TITLE_FONT
    mh = ("Model id", "Name", "Family", "Total params (B)", "Active params (B)", "Layers", "KV heads",
          "Head dim", "Attention", "Max context")
    for i, h in enumerate(mh, start=1):
        ws.cell(3, i, h)
    st.style_header(ws[3])
    row = 3
    for m in models:
        row += 1
        for i, v in enumerate((m.id, m.name, m.family, m.total_params_b, m.active_params_b, m.layers,
                               m.kv_heads, m.head_dim, m.attention, m.max_context_tokens), start=1):
            ws.cell(row, i, v)
    row += 2
    gh = ("GPU id", "Name", "Vendor", "Memory (GB)", "Bandwidth (TB/s)", "BF16 TFLOPS", "FP8 TFLOPS",
          "TDP (W)", "Interconnect", "GPUs per server", "Form factor")
    for i, h in enumerate(gh, start=1):
        ws.cell(row, i, h)
    st.style_header(ws[row])
    for g in gpus:
        row += 1
        tf = {str(getattr(k, "value", k)): v for k, v in g.dense_tflops.items()}
        for i, v in enumerate((g.id, g.name, g.vendor, g.memory_gb, g.memory_bandwidth_tb_s,
                               tf.get("bf16", tf.get("fp16")), tf.get("fp8"), g.tdp_w, g.interconnect,
                               g.gpus_per_node, g.form_factor), start=1):
            ws.cell(row, i, v)
    lists = {13: ("Model list", [m.id for m in models] + ["custom"], LIST_MODELS),
             14: ("GPU list", ["auto"] + [g.id for g in gpus] + ["custom"], LIST_GPUS)}
    for col, (title, ids, name) in lists.items():
        ws.cell(3, col, title)
        ws.cell(3, col).font = st.BOLD
        for i, v in enumerate(ids, start=4):
            ws.cell(i, col, v)
        _add_name(wb, name, ws.title, f"{_abs(col, 4)}:{_abs(col, 3 + len(ids))}")
    _widths(ws, (18, 34, 12, 14, 14, 10, 10, 10, 14, 12, 12, 2, 18, 14))
    st.protect(ws)


def _write_conf(ws) -> None:
    ws["A1"] = "UDF Modules"
    ws["B1"] = UDF_MODULE
    _widths(ws, (16, 20))


def _normalise(values: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a dict of inputs (``InputError`` if bad) and return the cell values: every field
    with a value, defaults included; fields whose default is empty stay empty."""
    inp = make_inputs(dict(values or {}))
    out: dict[str, Any] = {}
    for name in SizingInputs.model_fields:
        v = getattr(inp, name)
        if v is not None:
            out[name] = _cell_value(v)
    return out


def build_workbook(values: dict[str, Any] | None = None, checklist: list[ChecklistItem] | None = None,
                   name: str = DEFAULT_NAME, notes: str | None = None) -> Workbook:
    """The template (or a filled copy) as an openpyxl Workbook."""
    cells = _normalise(values)
    fields = field_infos()
    wb = Workbook()
    wb.properties.creator = "xlsizer"
    wb.properties.title = clean_text(str(name), 255)  # user text: XML-safe (issue 15)
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    start = wb.active
    start.title = SHEET_START
    inputs_ws = wb.create_sheet(SHEET_INPUTS)
    adv_ws = wb.create_sheet(SHEET_ADVANCED)
    cost_ws = wb.create_sheet(SHEET_COSTS)
    res_ws = wb.create_sheet(SHEET_RESULTS)
    chk_ws = wb.create_sheet(SHEET_CHECKLIST)
    cat_ws = wb.create_sheet(SHEET_CATALOG)
    conf_ws = wb.create_sheet(SHEET_CONF)

    main_fields = [f for f in fields if f.sheet == SHEET_INPUTS]
    adv_fields = [f for f in fields if f.sheet == SHEET_ADVANCED]
    cost_fields = [f for f in fields if f.sheet == SHEET_COSTS]
    _write_start(wb, start, name, notes)
    last = _write_field_sheet(
        wb, inputs_ws, "Inputs: the Sizer's steps",
        "Pale-yellow cells are inputs (empty = the default). Columns B:C are the named range Inputs that "
        "the functions read; Advanced and Costs rows at the bottom mirror their own sheets.",
        main_fields, cells, mirrors=adv_fields + cost_fields)
    _add_name(wb, INPUTS_NAME, SHEET_INPUTS, f"{_abs(NAME_COL, FIRST_ROW)}:{_abs(VALUE_COL, last)}")
    _write_field_sheet(wb, adv_ws, "Advanced: optimization toggles and their parameters",
                       "AI-team levers (course.md §8): TRUE/FALSE toggles and the numbers they use.",
                       adv_fields, cells)
    if cost_fields:
        _write_field_sheet(wb, cost_ws, "Costs: prices and finance assumptions",
                           "Finance inputs for the monthly cost and the cost per million tokens.",
                           cost_fields, cells)
    else:
        cost_ws["A1"] = "Costs: prices and finance assumptions"
        cost_ws["A1"].font = st.TITLE_FONT
        cost_ws["A2"] = "No cost inputs are defined in this version of xlsizer; the catalog's prices apply."
        st.protect(cost_ws)
    _write_results(res_ws)
    _write_checklist(wb, chk_ws, list(checklist) if checklist is not None else list(CHECKLIST))
    _write_catalog(wb, cat_ws)
    _write_conf(conf_ws)
    st.print_landscape(wb)
    return wb


def _stable_bytes(wb: Workbook) -> bytes:
    """Save, then rewrite the zip with fixed entry times so equal content gives equal bytes."""
    raw = io.BytesIO()
    wb.save(raw)
    raw.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, zin.read(item.filename))
    return out.getvalue()


def write_template(path: str | Path, values: dict[str, Any] | None = None,
                   checklist: list[ChecklistItem] | None = None, name: str = DEFAULT_NAME,
                   notes: str | None = None) -> Path:
    """Write the template, or a filled copy when ``values``/``checklist`` are given.

    ``values`` are input fields (validated first: a bad value raises ``InputError``);
    ``checklist`` replaces the blank course checklist. Same arguments, same bytes.
    """
    wb = build_workbook(values, checklist, name, notes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_stable_bytes(wb))
    return path


def as_date(v: Any) -> date | None:
    """A date cell value as a date."""
    if isinstance(v, datetime):
        return v.date()
    return v if isinstance(v, date) else None
