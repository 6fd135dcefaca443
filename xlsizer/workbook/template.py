"""Write the template workbook (and filled copies of it) with openpyxl.

Everything that describes an input comes from ``SizingInputs.model_fields`` and from
``form.py`` (labels, units, the Sizer's step order, what an empty cell means), so model and
sheets cannot drift. Layout, in sheet order:

- Start: what this is, how to use it, the project name, the headline and the notes.
- Inputs: one form, filled top to bottom in the Sizer's step order (1 Workload ... 6
  Advanced and costs, 7 Review). Each input row: a plain label, the field name small beside
  it, the value (a defined name equal to the field name), the value in force (a formula that
  shows what an empty cell means, e.g. the catalog's cloud price for the chosen GPU), its
  unit, its default, its choices, who owns it and what it moves. Columns B:C of the input
  rows are the two-column name/value range ``Inputs`` the functions read. Step 7 Review,
  below the inputs, shows the headline, the three scenarios, the confidence, the server and
  the warnings.
- Results: the Excel functions for Baseline, Burst and Resilient side by side, the VRAM
  waterfall, and the LLM_WARNINGS / LLM_EXPLAIN tables (one INDEX formula per cell).
- Checklist: course.md §7 entire, the decision log, with completion by native formulas.
- Catalog: models and GPUs with key facts, the workload presets and server prices the
  In-force formulas read, and the dropdown lists.
- xlwings.conf: the UDF module for classic xlwings.

Inputs, calculations and outputs stay apart (the FAST standard): yellow cells are typed,
blue cells are computed and locked, grey cells are reference data. Every formula is written
through ``stored.put_formula`` / ``put_array`` with the value it computes, found by calling
the same ``xlsizer.cells`` function the Excel function calls, on the same Inputs table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from itertools import pairwise
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from xlsizer import cells as xc
from xlsizer.catalog import load_catalog
from xlsizer.inputs import PRESETS, SizingInputs, _allowed, make_inputs
from xlsizer.workbook import form
from xlsizer.workbook import styles as st
from xlsizer.workbook.checklist import CHECKLIST, SECTIONS, STATUSES, ChecklistItem
from xlsizer.workbook.safe import clean_text, put_text
from xlsizer.workbook.stored import put_formula, save_with_values, stored_values

DEFAULT_NAME = "xlsizer project"
UDF_MODULE = "xlsizer_udfs"

SHEET_START = "Start"
SHEET_INPUTS = "Inputs"
SHEET_RESULTS = "Results"
SHEET_CHECKLIST = "Checklist"
SHEET_CATALOG = "Catalog"
SHEET_CONF = "xlwings.conf"

INPUTS_NAME = "Inputs"          # the two-column name/value range
PROJECT_NAME = "project_name"   # Start!B4
NOTES_CELL = "B17"              # Start!B17, read back by project.py
LIST_MODELS = "list_models"
LIST_GPUS = "list_gpus"
LIST_STATUS = "list_status"
LIST_CURRENCIES = "list_currencies"
LIST_SPLITS = "list_traffic_splits"
LIST_DRAFT_MODELS = "list_draft_models"
PRESETS_NAME = "workload_presets"
SERVER_PRICE_NAME = "server_price_by_class"

# Inputs sheet: header row and first form row; the columns of an input row.
HEADER_ROW = 4
FIRST_ROW = 5
COLUMNS = ("Input", "Name (for formulas)", "Value", "In force", "Unit", "Default", "Choices or range", "Owner",
           "What it is; what it moves")
(LABEL_COL, NAME_COL, VALUE_COL, IN_FORCE_COL, UNIT_COL, DEFAULT_COL, CHOICES_COL, OWNER_COL,
 NOTES_COL) = range(1, 10)
INPUT_WIDTHS = (30, 23, 14, 14, 13, 13, 24, 12, 46)
LAST_COL = len(COLUMNS)

# Fixed sizes of the array-formula tables (the functions pad to at least these sizes).
WARNINGS_ROWS = 16             # LLM_WARNINGS: 16 x 1, blank-padded
EXPLAIN_ROWS, EXPLAIN_COLS = 64, 5  # LLM_EXPLAIN: 64 x 5 with its own header row, blank-padded
EXPLAIN_SCENARIO = "burst"

CHECK_HEADER_ROW = 12
CHECK_COLUMNS = ("Section", "Item", "Owner", "Status", "Value", "Reason", "Date")

SCENARIOS = ("baseline", "burst", "resilient")
TOP = Alignment(vertical="top")
BOOL_FORMAT = '"TRUE";"TRUE";"FALSE"'  # Excel shows a boolean as TRUE/FALSE anyway; LibreOffice needs telling


# --- field descriptions ------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldInfo:
    name: str
    step: str
    label: str
    unit: str
    owner: str
    moves: str
    description: str
    default: Any
    allowed: str
    kind: str                       # bool, int, float, text
    options: tuple[str, ...] | None  # literal dropdown values
    list_name: str | None           # dropdown from a defined name (model, gpu, currency...)
    low: float | None
    high: float | None
    strict_list: bool = True        # False: the dropdown suggests, other values are accepted too


def _cell_value(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
    return v


# Choice inputs whose choices are not an enum: the words shown and the dropdown they get.
_CHOICES: dict[str, tuple[str, tuple[str, ...] | None, str | None, bool]] = {
    "model": ("a model id from the Catalog sheet, or custom", None, LIST_MODELS, True),
    "gpu": ("auto (the cheapest adequate GPU), a GPU id from the Catalog sheet, or custom", None, LIST_GPUS, True),
    "pricing_model": ("cloud or on-prem", ("cloud", "on-prem"), None, True),
    "arrivals": ("poisson, bursty or closed", ("poisson", "bursty", "closed"), None, True),
    "currency": ("a currency code from the list, or any label of up to 12 characters (no conversion)", None,
                 LIST_CURRENCIES, False),
    "spec_draft_model": ("empty (a draft head), or a model id from the Catalog sheet", None, LIST_DRAFT_MODELS, True),
    "lora_traffic_split": ("equal, or one share per variant separated by commas (e.g. 70,30)", None, LIST_SPLITS,
                           False),
}


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
        strict = True
        if info.annotation is bool:
            kind, options, allowed = "bool", ("TRUE", "FALSE"), "TRUE or FALSE"
        elif allowed.startswith("one of "):
            kind, options = "text", tuple(allowed[len("one of "):].split(", "))
            allowed = ", ".join(options)
        elif "int" in ann and "float" not in ann:
            kind = "int"
        elif "float" in ann:
            kind = "float"
        else:
            kind = "text"
        if name in _CHOICES:
            allowed, options, list_name, strict = _CHOICES[name]
            kind = "text"
        allowed = re.sub(r"\d{5,}", lambda m: f"{int(m.group()):,}", allowed)  # 10,000,000 reads at a glance
        out.append(FieldInfo(
            name=name, step=str(extra.get("step", "Other")), label=form.label(name), unit=form.unit(name),
            owner=str(extra.get("owner", "")), moves=str(extra.get("moves", "")),
            description=info.description or "", default=_cell_value(info.default), allowed=allowed,
            kind=kind, options=options, list_name=list_name, low=low, high=high, strict_list=strict))
    return out


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
    ResultRow("Sequences per replica (mean batch)", "sequences", "perf.mean_batch", None, "#,##0.00"),
    ResultRow("TPOT at that batch", "ms", "perf.tpot_ms", None, "#,##0.0"),
    ResultRow("TTFT at peak load", "ms", "perf.ttft_ms", None, "#,##0"),
    ResultRow("TPOT at the SLO percentile", "ms", "perf.tpot_q_ms", None, "#,##0.0"),
    ResultRow("TTFT at the SLO percentile, peak load", "ms", "perf.ttft_q_ms", None, "#,##0"),
    ResultRow("Memory per replica", "GB", "perf.memory_per_replica_gb", None, "#,##0.0"),
    ResultRow("Binding resource", "", "perf.binding", None, "General"),
    ResultRow("VRAM need, whole deployment (course method)", "GB", "memory.vram_gb", None, "#,##0.0"),
    ResultRow("KV cache, whole deployment", "GB", "memory.kv_total_gb", None, "#,##0.0"),
    ResultRow("KV cache: fixed state of hybrid layers", "GB", "memory.state_total_gb", None, "#,##0.0"),
    ResultRow("IT power", "kW", "it_kw", "LLM_POWER_KW", "#,##0.0"),
    ResultRow("Facility power", "kW", "facility_kw", "LLM_FACILITY_KW", "#,##0.0"),
    ResultRow("PUE", "", "pue", None, "0.00"),
    ResultRow("Racks", "racks", "racks", None, "#,##0"),
    ResultRow("Cooling", "", "cooling_tier", None, "General"),
    ResultRow("Fabric", "", "fabric", None, "General"),
    ResultRow("Cost per month", "currency per month", "cost.monthly", "LLM_COST_MONTHLY", "#,##0"),
    ResultRow("Cost per million tokens", "currency per M tokens", "cost.per_million_tokens", "LLM_COST_PER_MTOK",
              "#,##0.00"),
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
HEADLINE_MIN_CHARS = 480
"""Characters the Results headline's row is sized for at least: headlines run about 250-450
characters (the longest with a cost-unknown note), and a merged row does not grow in Excel."""
RESULTS_FIRST_ROW = 6
SCENARIO_COLS = {"baseline": 3, "burst": 4, "resilient": 5}
HEADLINE_CELL = "B3"

# Step 7 Review on the Inputs sheet: the scenario rows (label, unit or None for the currency
# unit formula, result field, number format).
REVIEW_ROWS: tuple[tuple[str, str | None, str, str], ...] = (
    ("GPU", "", "gpu_name", "General"),
    ("GPUs", "GPUs", "total_gpus", "#,##0"),
    ("Servers", "servers", "servers", "#,##0"),
    ("Replicas, spares included", "replicas", "replicas", "#,##0"),
    ("IT power", "kW", "it_kw", "#,##0.0"),
    ("Facility power", "kW", "facility_kw", "#,##0.0"),
    ("Racks", "racks", "racks", "#,##0"),
    ("Cost per month", " per month", "cost.monthly", "#,##0"),
    ("Cost per million tokens", " per M tokens", "cost.per_million_tokens", "#,##0.00"),
)
REVIEW_SERVER: tuple[tuple[str, str, str, str], ...] = (
    ("GPUs in each server", "", "server.gpus", "General"),
    ("CPUs", "", "server.cpu", "General"),
    ("Memory", "GB per server", "server.ram_gb", "#,##0"),
    ("Local NVMe", "TB per server", "server.nvme_tb", "#,##0"),
    ("Network cards", "", "server.nic", "General"),
    ("Fabric", "", "fabric", "General"),
    ("Cooling", "", "cooling_tier", "General"),
)
CONFIDENCE_FORMAT = "+0%;-0%;0%"


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


@dataclass(frozen=True)
class InputsLayout:
    """Where things are on the Inputs sheet."""

    rows: dict[str, int]                      # field -> row
    steps: list[tuple[int, int]]              # (step number, heading row), in sheet order
    last_input_row: int
    review: dict[str, Any]                    # headline, scenario rows, confidence, server, warnings


def inputs_layout() -> InputsLayout:
    """The Inputs sheet's rows: step headings, intros, sub-headings, inputs, then step 7 Review."""
    row = FIRST_ROW - 1
    rows: dict[str, int] = {}
    steps: list[tuple[int, int]] = []
    for step in form.form_steps():
        row += 1
        steps.append((step.number, row))
        row += 1                               # the step's intro
        for block in step.blocks:
            if block.heading:
                row += 1
            for f in block.fields:
                row += 1
                rows[f] = row
    last = row
    row += 2                                   # a blank row, then step 7
    steps.append((form.REVIEW_STEP, row))
    review: dict[str, Any] = {"intro": row + 1, "headline": row + 2, "table_header": row + 4}
    review["scenario_rows"] = [row + 5 + i for i in range(len(REVIEW_ROWS))]
    r = review["scenario_rows"][-1] + 1
    review["confidence"] = r
    review["server_title"] = r + 2
    review["server_rows"] = [r + 3 + i for i in range(len(REVIEW_SERVER))]
    review["warnings"] = review["server_rows"][-1] + 2
    return InputsLayout(rows=rows, steps=steps, last_input_row=last, review=review)


# --- writer helpers ----------------------------------------------------------------------------
def _add_name(wb: Workbook, name: str, sheet: str, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(sheet)}!{ref}")


def _abs(col: int, row: int) -> str:
    return f"${get_column_letter(col)}${row}"


def _widths(ws, widths: Iterable[float]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _grid(v: Any, rows: int, cols: int) -> list[list[Any]]:
    """An array function's result as a rows x cols grid (an error text fills the first cell)."""
    if not isinstance(v, list):
        v = [[v]]
    out = [list(r)[:cols] + [""] * (cols - len(r)) for r in v[:rows]]
    return out + [[""] * cols for _ in range(rows - len(out))]


def _merge_row(ws, row: int, first: int = 1, last: int = LAST_COL) -> None:
    ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _validation_for(f: FieldInfo) -> DataValidation | None:
    what = f"{f.label} ({f.name})"
    msg = f"{f.label} must be {f.allowed}"[:255]
    if f.list_name or f.options:
        formula = f"={f.list_name}" if f.list_name else '"' + ",".join(f.options or ()) + '"'
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                            errorTitle=what[:32], error=msg, showInputMessage=True, promptTitle=f.label[:32],
                            prompt=f"Choose from the list: {f.allowed}"[:255])
        if not f.strict_list:
            dv.errorStyle = "information"   # the list suggests; other values are accepted
        return dv
    if f.kind in ("int", "float") and f.low is not None and f.high is not None:
        return DataValidation(type="whole" if f.kind == "int" else "decimal", operator="between",
                              formula1=f"{f.low:g}", formula2=f"{f.high:g}", allow_blank=True,
                              showErrorMessage=True, errorTitle=what[:32], error=msg)
    return None


def _number_format(f: FieldInfo) -> str:
    if f.kind == "bool":
        return BOOL_FORMAT
    if f.kind == "int":
        return "#,##0"
    if f.kind == "float":
        return "#,##0.###"
    return "General"


# --- the Inputs form ---------------------------------------------------------------------------
def _write_inputs(wb: Workbook, ws, values: dict[str, Any]) -> InputsLayout:
    """The form (steps 1-6), the ``Inputs`` range, and step 7 Review."""
    lay = inputs_layout()
    infos = {f.name: f for f in field_infos()}
    ws["A1"] = "Inputs: fill the form top to bottom, steps 1 to 7"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("Type in the pale-yellow Value cells (a dropdown lists the choices). An empty cell means the Default; "
                "In force shows the value the sizing uses. Pale-blue cells are computed and locked. The small grey "
                "name is what formulas use, e.g. =LLM_GPUS(Inputs,\"burst\",\"concurrent_users\",300).")
    ws["A2"].font = st.NOTE_FONT
    ws["A2"].alignment = st.WRAP
    _merge_row(ws, 2)
    for i, h in enumerate(COLUMNS, start=1):
        ws.cell(HEADER_ROW, i, h)
    st.style_header(ws[HEADER_ROW])

    # the Inputs table exactly as the range B:C holds it (what the functions receive)
    table: list[list[Any]] = [[None, None] for _ in range(FIRST_ROW, lay.last_input_row + 1)]
    for name, row in lay.rows.items():
        table[row - FIRST_ROW] = [name, values.get(name)]

    step_rows = dict(lay.steps)
    for step in form.form_steps():
        r = step_rows[step.number]
        _write_step_heading(ws, r, step.heading, step.intro)
        r += 1
        for block in step.blocks:
            if block.heading:
                r += 1
                c = ws.cell(r, LABEL_COL, block.heading)
                c.font = st.SUBSECTION_FONT
                _merge_row(ws, r)
            for name in block.fields:
                r += 1
                _write_input_row(wb, ws, r, infos[name], values.get(name))
    _add_name(wb, INPUTS_NAME, SHEET_INPUTS, f"{_abs(NAME_COL, FIRST_ROW)}:{_abs(VALUE_COL, lay.last_input_row)}")

    # In force and the currency units: formulas over the rows above, in form order
    def ref(name: str) -> str:
        return f"{get_column_letter(IN_FORCE_COL)}{lay.rows[name]}"

    ctx = form.Ctx(table=table, in_force={})
    for step in form.form_steps():
        for name in step.fields:
            r = lay.rows[name]
            rule = form.when_empty(name)
            v_ref = f"{get_column_letter(VALUE_COL)}{r}"
            d_ref = f"{get_column_letter(DEFAULT_COL)}{r}"
            empty = f"ISBLANK({v_ref})"
            if rule.also_empty is not None:
                empty = f'OR({empty},{v_ref}="{rule.also_empty}")'
            expr = rule.expr(lambda n, d=d_ref: d if n == "" else ref(n)) if rule.expr else d_ref
            value = form.in_force_value(name, values.get(name), ctx)
            ctx.in_force[name] = value
            c = ws.cell(r, IN_FORCE_COL)
            put_formula(ws, c.coordinate, f"=IF({empty},{expr},{v_ref})", value)
            st.style_formula(c)
            c.number_format = _number_format(infos[name])
            c.alignment = TOP if not isinstance(value, str) else st.WRAP
    currency = ctx.in_force["currency"]
    for name, suffix in form.CURRENCY_UNITS.items():
        c = ws.cell(lay.rows[name], UNIT_COL)
        put_formula(ws, c.coordinate, f'={ref("currency")}&"{suffix}"', f"{currency}{suffix}")
        st.style_formula(c)
        c.alignment = st.WRAP

    _write_review(ws, lay, table, ref("currency"), currency)
    _widths(ws, INPUT_WIDTHS)
    ws.freeze_panes = f"{get_column_letter(VALUE_COL)}{FIRST_ROW}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    st.protect(ws)
    return lay


def _write_step_heading(ws, row: int, heading: str, intro: str) -> None:
    c = ws.cell(row, LABEL_COL, heading)
    c.font = st.STEP_FONT
    for col in range(1, LAST_COL + 1):
        ws.cell(row, col).fill = st.STEP_FILL
    _merge_row(ws, row)
    c = ws.cell(row + 1, LABEL_COL, intro)
    c.font = st.NOTE_FONT
    c.alignment = st.WRAP
    _merge_row(ws, row + 1)


def _write_input_row(wb: Workbook, ws, r: int, f: FieldInfo, value: Any) -> None:
    ws.cell(r, LABEL_COL, f.label).font = st.BOLD
    ws.cell(r, LABEL_COL).alignment = st.WRAP
    n = ws.cell(r, NAME_COL, f.name)
    n.font = st.NAME_FONT
    n.alignment = Alignment(vertical="top", shrink_to_fit=True)
    v = ws.cell(r, VALUE_COL)
    put_text(v, value)
    st.style_input(v)
    v.number_format = _number_format(f)
    v.alignment = TOP
    if f.unit:
        ws.cell(r, UNIT_COL, f.unit).alignment = st.WRAP
    d = ws.cell(r, DEFAULT_COL)
    default = form.when_empty(f.name).default
    put_text(d, default)
    d.fill = st.REFERENCE_FILL
    d.number_format = _number_format(f)
    d.alignment = st.WRAP if isinstance(default, str) else TOP
    for col, text in ((CHOICES_COL, f.allowed), (OWNER_COL, f.owner),
                      (NOTES_COL, f"{f.description} Moves: {f.moves}." if f.moves else f.description)):
        ws.cell(r, col, text).alignment = st.WRAP
    _add_name(wb, f.name, ws.title, _abs(VALUE_COL, r))
    dv = _validation_for(f)
    if dv is not None:
        ws.add_data_validation(dv)
        dv.add(v.coordinate)


def _write_review(ws, lay: InputsLayout, table: list[list[Any]], currency_ref: str, currency: str) -> None:
    """Step 7 Review: headline, the three scenarios, confidence, the server and the warnings."""
    rv = lay.review
    step_row = dict(lay.steps)[form.REVIEW_STEP]
    _write_step_heading(ws, step_row, f"Step {form.REVIEW_STEP}  {form.REVIEW_TITLE}", form.REVIEW_INTRO)

    def res(field: str, scenario: str = "burst") -> Any:
        return xc.result(table, field, scenario, ())

    r = rv["headline"]
    ws.cell(r, LABEL_COL, "Headline (Burst scenario)").font = st.BOLD
    ws.cell(r, LABEL_COL).alignment = st.WRAP
    c = ws.cell(r, NAME_COL)
    put_formula(ws, c.coordinate, f'=LLM_RESULT({INPUTS_NAME},"headline")', res("headline"))
    st.style_formula(c)
    c.alignment = st.WRAP
    _merge_row(ws, r, NAME_COL)

    r = rv["table_header"]
    for col, h in enumerate(("Result", "Unit", "Baseline", "Burst", "Resilient"), start=1):
        ws.cell(r, col, h)
    st.style_header(ws[r][:5])
    for col in range(3, 6):
        ws.cell(r, col).alignment = Alignment(horizontal="right", vertical="center")
    for r, (label, unit, field, fmt) in zip(rv["scenario_rows"], REVIEW_ROWS, strict=True):
        ws.cell(r, LABEL_COL, label).font = st.BOLD
        ws.cell(r, LABEL_COL).alignment = st.WRAP
        if unit is not None and unit.startswith(" "):
            c = ws.cell(r, NAME_COL)
            put_formula(ws, c.coordinate, f'={currency_ref}&"{unit}"', f"{currency}{unit}")
            st.style_formula(c)
        else:
            ws.cell(r, NAME_COL, unit)
        for sc, col in SCENARIO_COLS.items():
            c = ws.cell(r, col)
            put_formula(ws, c.coordinate, f'=LLM_RESULT({INPUTS_NAME},"{field}","{sc}")', res(field, sc))
            st.style_formula(c)
            c.number_format = fmt
            c.alignment = Alignment(horizontal="right", vertical="top", wrap_text=fmt == "General")

    r = rv["confidence"]
    ws.cell(r, LABEL_COL, "Confidence of the throughput per replica (not TTFT)").font = st.BOLD
    ws.cell(r, LABEL_COL).alignment = st.WRAP
    ws.cell(r, NAME_COL, "error range, %").alignment = st.WRAP
    for col, field in ((3, "confidence.low"), (4, "confidence.high")):
        c = ws.cell(r, col)
        put_formula(ws, c.coordinate, f'=LLM_RESULT({INPUTS_NAME},"{field}")', res(field))
        st.style_formula(c)
        c.number_format = CONFIDENCE_FORMAT
        c.alignment = Alignment(horizontal="right", vertical="top")
    c = ws.cell(r, 6)   # after a blank column, so "+9%" does not run into the text
    put_formula(ws, c.coordinate, f'=LLM_RESULT({INPUTS_NAME},"confidence.source")', res("confidence.source"))
    st.style_formula(c)
    c.alignment = st.WRAP
    _merge_row(ws, r, 6)

    r = rv["server_title"]
    ws.cell(r, LABEL_COL, "Each server (Burst scenario)").font = st.SUBSECTION_FONT
    _merge_row(ws, r)
    for r, (label, unit, field, fmt) in zip(rv["server_rows"], REVIEW_SERVER, strict=True):
        ws.cell(r, LABEL_COL, label).font = st.BOLD
        ws.cell(r, LABEL_COL).alignment = st.WRAP
        ws.cell(r, NAME_COL, unit).alignment = st.WRAP
        c = ws.cell(r, VALUE_COL)
        put_formula(ws, c.coordinate, f'=LLM_RESULT({INPUTS_NAME},"{field}")', res(field))
        st.style_formula(c)
        c.number_format = fmt
        c.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
        _merge_row(ws, r, VALUE_COL)

    r = rv["warnings"]
    ws.cell(r, LABEL_COL, "Warnings (Burst scenario; every scenario's are on the Results sheet)").font = st.BOLD
    ws.cell(r, LABEL_COL).alignment = st.WRAP
    joined = res("warnings")
    shown = "no warnings" if joined == "" else str(joined).replace("; ", "\n")
    c = ws.cell(r, NAME_COL)
    w = f'LLM_RESULT({INPUTS_NAME},"warnings")'
    put_formula(ws, c.coordinate, f'=IF({w}="","no warnings",SUBSTITUTE({w},"; ",CHAR(10)))', shown)
    st.style_formula(c)
    c.alignment = st.WRAP
    _merge_row(ws, r, NAME_COL)


# --- the other sheets --------------------------------------------------------------------------
def _write_start(wb: Workbook, ws, name: str, notes: str | None, table: list[list[Any]]) -> None:
    ws["A1"] = "xlsizer: LLM-inference capacity planner"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("One workbook per project. It follows the course Sizer's steps (aisle, course.md §10) and computes "
                "live through the xlsizer Excel functions (xlwings module xlsizer_udfs).")
    ws["A2"].font = st.NOTE_FONT
    ws["A4"] = "Project"
    ws["A4"].font = st.BOLD
    for ref in ("A4", "A6", "A17"):
        ws[ref].alignment = TOP
    put_text(ws["B4"], name)
    st.style_input(ws["B4"])
    _add_name(wb, PROJECT_NAME, ws.title, "$B$4")
    ws["A6"] = "Headline"
    ws["A6"].font = st.BOLD
    ws["A6"].alignment = TOP
    put_formula(ws, "B6", f'=LLM_RESULT({INPUTS_NAME},"headline")', xc.result(table, "headline", "burst", ()))
    st.style_formula(ws["B6"])
    ws["B6"].alignment = st.WRAP
    steps = [
        "How to use it",
        "1. Inputs sheet: fill the form top to bottom, steps 1 Workload to 6 Advanced and costs. Pale-yellow cells "
        "are yours; an empty cell means its Default, and In force shows the value the sizing uses.",
        "2. Step 7 Review at the bottom of the Inputs sheet: the headline, the three scenarios, the confidence, the "
        "server and the warnings.",
        "3. Results sheet: every figure for Baseline, Burst and Resilient, the VRAM breakdown, the warnings and the "
        "step-by-step explanation. Pale-blue cells are formulas and are locked (protection has no password).",
        "4. Checklist sheet: the IT-and-AI planning conversation; its status, owner, value, reason and date "
        "columns are the decision log.",
        "5. Catalog sheet: the models and GPUs, the workload presets and the server prices the defaults use.",
        "6. What-ifs in one cell: =LLM_REPLICAS(Inputs,\"burst\",\"concurrent_users\",300).",
        "Excel needs the xlwings add-in pointed at the module xlsizer_udfs (see the xlwings.conf sheet); "
        "scripts read this file with xlsizer.workbook.read_project(path).",
    ]
    for i, text in enumerate(steps, start=8):
        c = ws.cell(i, 1, text)
        c.font = st.BOLD if i == 8 else st.NOTE_FONT
        if i > 8:
            c.alignment = st.WRAP
            _merge_row(ws, i, 1, 2)
    ws["A17"] = "Notes"
    ws["A17"].font = st.BOLD
    ws["A17"].alignment = TOP
    put_text(ws[NOTES_CELL], notes)
    st.style_input(ws[NOTES_CELL])
    ws[NOTES_CELL].alignment = st.WRAP
    _widths(ws, (14, 110))
    st.protect(ws)


def _write_results(ws, table: list[list[Any]], currency_ref: str, currency: str) -> dict[str, Any]:
    """The Results sheet; returns the text of its array cells (for the row heights).
    ``currency_ref``: the In-force cell of the currency, which the cost units name."""
    lay = results_layout()
    texts: dict[str, Any] = {}
    ws["A1"] = "Results: the three scenarios"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("Formulas with the xlsizer Excel functions over the named range Inputs. Baseline = average "
                "traffic, Burst = peak, Resilient = peak plus the redundancy spares.")
    ws["A2"].font = st.NOTE_FONT
    ws["A3"] = "Headline"
    ws["A3"].font = st.BOLD
    ws["A3"].alignment = TOP
    headline = xc.result(table, "headline", "burst", ())
    put_formula(ws, HEADLINE_CELL, f'=LLM_RESULT({INPUTS_NAME},"headline")', headline)
    st.style_formula(ws[HEADLINE_CELL])
    # wrapped over the table's width (B:F), not one line that makes fit-to-width print tiny;
    # the row is sized for the stored sentence or HEADLINE_MIN_LINES, whichever is more, since
    # Excel does not grow a merged row when the sentence changes on recalculation
    ws[HEADLINE_CELL].alignment = st.WRAP
    ws.merge_cells(f"{HEADLINE_CELL}:F{ws[HEADLINE_CELL].row}")
    texts[HEADLINE_CELL] = headline if len(str(headline)) > HEADLINE_MIN_CHARS else "x " * (HEADLINE_MIN_CHARS // 2)
    # what the confidence band covers, beside the headline it would otherwise be read against
    ws["A4"] = "Confidence"
    ws["A4"].font = st.BOLD
    ws["A4"].alignment = TOP
    conf = str(xc.result(table, "confidence.source", "burst", ()))  # states the band, what it covers, its data
    put_formula(ws, "B4", f'=LLM_RESULT({INPUTS_NAME},"confidence.source")', conf)
    st.style_formula(ws["B4"])
    ws["B4"].alignment = st.WRAP
    ws.merge_cells("B4:F4")
    texts["B4"] = conf if len(conf) > HEADLINE_MIN_CHARS else "x " * (HEADLINE_MIN_CHARS // 2)
    header = ("Result", "Unit", "Baseline", "Burst", "Resilient", "Field (LLM_RESULT path)")
    for i, h in enumerate(header, start=1):
        ws.cell(RESULTS_HEADER_ROW, i, h)
    st.style_header(ws[RESULTS_HEADER_ROW])
    t = lay["waterfall_title"]
    ws.cell(t, 1, VRAM_TITLE).font = st.BOLD
    for i, h in enumerate(("Part", *header[1:]), start=1):
        ws.cell(t + 1, i, h)
    st.style_header(ws[t + 1])
    for hr in (RESULTS_HEADER_ROW, t + 1):
        for col in SCENARIO_COLS.values():
            ws.cell(hr, col).alignment = Alignment(horizontal="right", vertical="center")
        ws.cell(hr, 6).alignment = Alignment(horizontal="left", indent=1, vertical="center")
    for row, r in lay["rows"] + lay["waterfall"]:
        ws.cell(row, 1, r.label).font = st.BOLD
        ws.cell(row, 1).alignment = st.WRAP
        if r.unit.startswith("currency "):
            c = ws.cell(row, 2)
            suffix = r.unit[len("currency"):]
            put_formula(ws, c.coordinate, f'={currency_ref}&"{suffix}"', f"{currency}{suffix}")
            st.style_formula(c)
        else:
            ws.cell(row, 2, r.unit)
        ws.cell(row, 2).alignment = st.WRAP
        for sc, col in SCENARIO_COLS.items():
            c = ws.cell(row, col)
            put_formula(ws, c.coordinate, r.formula(sc), xc.result(table, r.field, sc, ()))
            st.style_formula(c)
            c.number_format = r.number_format
            # right-aligned like its header; text (GPU, fabric...) wraps within the column
            c.alignment = Alignment(horizontal="right", vertical="top", wrap_text=r.number_format == "General")
        ws.cell(row, 6, r.field).font = st.NOTE_FONT
        # left + indent: an indent without a horizontal alignment is ignored, and the Resilient
        # value, right-aligned beside it, then touched the field ("6replicas")
        ws.cell(row, 6).alignment = Alignment(horizontal="left", indent=1, vertical="top")
    wt = lay["warnings_title"]
    ws.cell(wt, 1, f"Warnings per scenario (LLM_WARNINGS, first {WARNINGS_ROWS})").font = st.BOLD
    for i, h in enumerate(("", "", "Baseline", "Burst", "Resilient"), start=1):
        ws.cell(wt + 1, i, h)
    st.style_header(ws[wt + 1])
    wf = lay["warnings_first"]
    for sc, col in SCENARIO_COLS.items():
        letter = get_column_letter(col)
        ref = f"{letter}{wf}:{letter}{wf + WARNINGS_ROWS - 1}"
        grid = _grid(xc.warnings(table, sc, ()), WARNINGS_ROWS, 1)
        for i, (c,) in enumerate(ws[ref]):
            # one INDEX per cell rather than one legacy array formula: LibreOffice recomputes array
            # formulas on load (#NAME? without the add-in) but shows a plain formula's stored value
            # IFERROR: a blank padding cell stores an empty result, which LibreOffice recomputes
            put_formula(ws, c.coordinate, f'=IFERROR(INDEX(LLM_WARNINGS({INPUTS_NAME},"{sc}"),{i + 1},1),"")',
                        grid[i][0])
            st.style_formula(c)
            c.alignment = st.WRAP
            texts[c.coordinate] = grid[i][0]
    et = lay["explain_title"]
    ws.cell(et, 1, f"How the {EXPLAIN_SCENARIO} scenario is computed (LLM_EXPLAIN, "
                   f"{EXPLAIN_ROWS} rows x {EXPLAIN_COLS} columns)").font = st.BOLD
    ef = lay["explain_first"]
    ref = f"A{ef}:{get_column_letter(EXPLAIN_COLS)}{ef + EXPLAIN_ROWS - 1}"
    grid = _grid(xc.explain(table, EXPLAIN_SCENARIO, ()), EXPLAIN_ROWS, EXPLAIN_COLS)
    for i, row in enumerate(ws[ref]):
        for j, c in enumerate(row):
            # per cell, like the warnings: readable wherever the file is opened. Each cell is one
            # add-in call over the cached sizing (~4 ms round trip in classic xlwings, so about
            # 1.3 s more per full recalculation); the array form was faster but unreadable there.
            put_formula(ws, c.coordinate,
                        f'=IFERROR(INDEX(LLM_EXPLAIN({INPUTS_NAME},"{EXPLAIN_SCENARIO}"),{i + 1},{j + 1}),"")',
                        grid[i][j])
            st.style_formula(c)
            c.alignment = st.WRAP
            if j == 1:  # the value column: grouped, at most three decimals (never 133.333333)
                c.number_format = "#,##0.0##"
            texts[c.coordinate] = grid[i][j]
    _widths(ws, (44, 16, 24, 24, 24, 30))
    ws.freeze_panes = ws.cell(RESULTS_FIRST_ROW, 3)
    ws.print_title_rows = f"{RESULTS_HEADER_ROW}:{RESULTS_HEADER_ROW}"
    st.protect(ws)
    return texts


def _write_checklist(wb: Workbook, ws, items: list[ChecklistItem]) -> None:
    first = CHECK_HEADER_ROW + 1
    last = CHECK_HEADER_ROW + len(items)
    ws["A1"] = "Checklist: the IT-and-AI planning conversation (course.md §7), and the decision log"
    ws["A1"].font = st.TITLE_FONT
    ws["A2"] = ("Status: open / in progress / done / n/a. Value, reason and date record each decision "
                "(\"why 14 replicas?\"). Review quarterly.")
    ws["A2"].font = st.NOTE_FONT
    rng = {c: f"${c}${first}:${c}${last}" for c in "ABD"}
    n = len(items)
    count = {s: sum(1 for it in items if it.status == s) for s in STATUSES}
    applicable = n - count["n/a"]
    summary = [
        ("Items", f"=COUNTA({rng['B']})", sum(1 for it in items if it.item not in (None, "")), "0"),
        ("Done", f'=COUNTIF({rng["D"]},"done")', count["done"], "0"),
        ("In progress", f'=COUNTIF({rng["D"]},"in progress")', count["in progress"], "0"),
        ("Not applicable", f'=COUNTIF({rng["D"]},"n/a")', count["n/a"], "0"),
        ("Open", "=B4-B5-B6-B7", n - count["done"] - count["in progress"] - count["n/a"], "0"),
        ("Complete (done / applicable)", "=IF(B4-B7=0,0,B5/(B4-B7))",
         0 if applicable == 0 else count["done"] / applicable, "0%"),
    ]
    for i, (label, formula, value, fmt) in enumerate(summary, start=4):
        ws.cell(i, 1, label).font = st.BOLD
        c = ws.cell(i, 2)
        put_formula(ws, c.coordinate, formula, value)
        st.style_formula(c)
        c.number_format = fmt
    # per section: the name across D:E (wide enough to read), done in F, items in G
    for col, h in ((4, "Section"), (6, "Done"), (7, "Items")):
        ws.cell(3, col, h).font = st.BOLD
    for col in (6, 7):
        ws.cell(3, col).alignment = Alignment(horizontal="right")
    for i, sec in enumerate(SECTIONS, start=4):
        ws.cell(i, 4, sec)
        _merge_row(ws, i, 4, 5)
        c = ws.cell(i, 6)
        put_formula(ws, c.coordinate, f'=COUNTIFS({rng["A"]},$D{i},{rng["D"]},"done")',
                    sum(1 for it in items if it.section == sec and it.status == "done"))
        st.style_formula(c)
        c = ws.cell(i, 7)
        put_formula(ws, c.coordinate, f"=COUNTIF({rng['A']},$D{i})", sum(1 for it in items if it.section == sec))
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
    ws.print_title_rows = f"{CHECK_HEADER_ROW}:{CHECK_HEADER_ROW}"
    st.protect(ws)


def _write_catalog(wb: Workbook, ws) -> None:
    cat = load_catalog()
    models = list(cat.models.values())
    gpus = list(cat.gpus.values())
    ws["A1"] = "Catalog: the models and GPUs xlsizer knows, and the defaults the Inputs sheet reads"
    ws["A1"].font = st.TITLE_FONT
    mh = ("Model id", "Name", "Family", "Total params (B)", "Active params (B)", "Layers", "KV heads",
          "Head dim", "Attention", "Max context")
    for i, h in enumerate(mh, start=1):
        ws.cell(3, i, h)
    st.style_header(ws[3][:len(mh)])
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
    st.style_header(ws[row][:len(gh)])
    for g in gpus:
        row += 1
        tf = {str(getattr(k, "value", k)): v for k, v in g.dense_tflops.items()}
        for i, v in enumerate((g.id, g.name, g.vendor, g.memory_gb, g.memory_bandwidth_tb_s,
                               tf.get("bf16", tf.get("fp16")), tf.get("fp8"), g.tdp_w, g.interconnect,
                               g.gpus_per_node, g.form_factor), start=1):
            ws.cell(row, i, v)
    # the tables the In-force formulas read (reference data: shown, never hidden in a formula)
    row += 2
    ws.cell(row, 1, "Workload presets: the latency targets an empty SLO cell takes (course.md §10.1)").font = st.BOLD
    row += 1
    for i, h in enumerate(("Workload", "TTFT target (ms)", "TPOT target (ms)"), start=1):
        ws.cell(row, i, h)
    st.style_header(ws[row][:3])
    first = row + 1
    for w, p in PRESETS.items():
        row += 1
        for i, v in enumerate((w, p["target_ttft_ms"], p["target_tpot_ms"]), start=1):
            ws.cell(row, i, v).fill = st.REFERENCE_FILL
    _add_name(wb, PRESETS_NAME, ws.title, f"$A${first}:$C${row}")
    row += 2
    ws.cell(row, 1, "Server price without its GPUs, by GPUs per server (defaults.yaml cost.server_price_by_class; "
                    "an empty server price takes the row of the chosen server)").font = st.BOLD
    row += 1
    for i, h in enumerate(("From GPUs per server", "Price (currency)", "Class"), start=1):
        ws.cell(row, i, h)
    st.style_header(ws[row][:3])
    first = row + 1
    for low, price, cls in form.SERVER_PRICE_TABLE:
        row += 1
        for i, v in enumerate((low, price, cls), start=1):
            ws.cell(row, i, v).fill = st.REFERENCE_FILL
        ws.cell(row, 2).number_format = "#,##0"
    _add_name(wb, SERVER_PRICE_NAME, ws.title, f"$A${first}:$C${row}")
    lists = {13: ("Model list", [m.id for m in models] + ["custom"], LIST_MODELS),
             14: ("GPU list", ["auto"] + [g.id for g in gpus] + ["custom"], LIST_GPUS),
             15: ("Draft models", [m.id for m in models], LIST_DRAFT_MODELS),
             16: ("Currencies", list(form.CURRENCIES), LIST_CURRENCIES),
             17: ("Traffic splits", list(form.TRAFFIC_SPLITS), LIST_SPLITS)}
    for col, (title, ids, name) in lists.items():
        ws.cell(3, col, title)
        ws.cell(3, col).font = st.BOLD
        for i, v in enumerate(ids, start=4):
            ws.cell(i, col, v)
        _add_name(wb, name, ws.title, f"{_abs(col, 4)}:{_abs(col, 3 + len(ids))}")
    _widths(ws, (18, 34, 12, 14, 14, 10, 10, 10, 14, 12, 12, 2, 18, 14, 16, 11, 13))
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
        if v is not None and v != "":
            out[name] = _cell_value(v)
    return out


# Page geometry for the manual page breaks (points). Landscape, margins as set below; the
# height/width ratio of the printable area of A4 (the smaller of A4 and US Letter, 0.667 vs
# 0.735), so a page break set for A4 is early enough on Letter too.
MARGINS_IN = {"left": 0.4, "right": 0.4, "top": 0.5, "bottom": 0.5, "header": 0.3, "footer": 0.3}
A4_PT = (842, 595)   # landscape width, height
_PRINTABLE_RATIO = ((A4_PT[1] - 72 * (MARGINS_IN["top"] + MARGINS_IN["bottom"]))
                    / (A4_PT[0] - 72 * (MARGINS_IN["left"] + MARGINS_IN["right"])))
DEFAULT_ROW_PT = 15.0


def _page_height_in_sheet_points(widths: Iterable[float]) -> float:
    """How many points of rows fit on one page when the columns are scaled to the page width.
    A column of width w is 7w + 5 pixels (Calibri 11), 0.75 point per pixel; 2 % spare."""
    sheet_width_pt = sum(7 * w + 5 for w in widths) * 0.75
    return sheet_width_pt * _PRINTABLE_RATIO * 0.98


def _page_breaks(ws, starts: list[int], last_row: int, widths: Iterable[float], repeated_pt: float) -> None:
    """Manual page breaks so that no unit (a step's heading with its first rows, a sub-heading
    with its rows) is split over two pages when it fits on one. ``starts``: each unit's first row."""
    from openpyxl.worksheet.pagebreak import Break

    budget = _page_height_in_sheet_points(widths)

    def height(r: int) -> float:
        return ws.row_dimensions[r].height or DEFAULT_ROW_PT

    used = sum(height(r) for r in range(1, starts[0]))
    bounds = [*starts, last_row + 1]
    for first, nxt in pairwise(bounds):
        h = sum(height(r) for r in range(first, nxt))
        if used + h > budget and used > repeated_pt:
            ws.row_breaks.append(Break(id=first - 1))
            used = repeated_pt
        used = (used + h) if used + h <= budget else (used + h) % budget


def _fit(wb: Workbook, ws, extra: dict[str, Any] | None = None) -> None:
    """Row heights from the text, formula results included."""
    texts = {ref: v for (sheet, ref), v in stored_values(wb).items() if sheet == ws.title and ":" not in ref}
    texts.update(extra or {})
    st.fit_row_heights(ws, texts)


def build_workbook(values: dict[str, Any] | None = None, checklist: list[ChecklistItem] | None = None,
                   name: str = DEFAULT_NAME, notes: str | None = None) -> Workbook:
    """The template (or a filled copy) as an openpyxl Workbook."""
    cell_values = _normalise(values)
    wb = Workbook()
    wb.properties.creator = "xlsizer"
    wb.properties.title = clean_text(str(name), 255)  # user text: XML-safe (issue 15)
    start = wb.active
    start.title = SHEET_START
    inputs_ws = wb.create_sheet(SHEET_INPUTS)
    res_ws = wb.create_sheet(SHEET_RESULTS)
    chk_ws = wb.create_sheet(SHEET_CHECKLIST)
    cat_ws = wb.create_sheet(SHEET_CATALOG)
    conf_ws = wb.create_sheet(SHEET_CONF)

    lay = _write_inputs(wb, inputs_ws, cell_values)
    table = [[inputs_ws.cell(r, NAME_COL).value, inputs_ws.cell(r, VALUE_COL).value]
             for r in range(FIRST_ROW, lay.last_input_row + 1)]
    _write_start(wb, start, name, notes, table)
    cur = f"{get_column_letter(IN_FORCE_COL)}{lay.rows['currency']}"
    res_texts = _write_results(res_ws, table, f"{quote_sheetname(SHEET_INPUTS)}!${cur[0]}${cur[1:]}",
                               stored_values(wb)[(SHEET_INPUTS, cur)])
    _write_checklist(wb, chk_ws, list(checklist) if checklist is not None else list(CHECKLIST))
    _write_catalog(wb, cat_ws)
    _write_conf(conf_ws)
    st.print_landscape(wb)
    _fit(wb, inputs_ws)
    _fit(wb, start)
    start.row_dimensions[17].height = max(90.0, start.row_dimensions[17].height or 0)
    _fit(wb, res_ws, res_texts)
    _fit(wb, chk_ws)
    _fit(wb, cat_ws)
    for ws in wb.worksheets:
        for side, inches in MARGINS_IN.items():
            setattr(ws.page_margins, side, inches)
    _page_breaks(inputs_ws, _form_units(lay), lay.review["warnings"], INPUT_WIDTHS,
                 inputs_ws.row_dimensions[HEADER_ROW].height or DEFAULT_ROW_PT)
    return wb


def _form_units(lay: InputsLayout) -> list[int]:
    """First rows of the parts of the Inputs form that should not be split over two pages."""
    starts: list[int] = []
    step_rows = dict(lay.steps)
    for step in form.form_steps():
        r = step_rows[step.number] + 1
        for i, block in enumerate(step.blocks):
            if block.heading:
                r += 1
                if i > 0:
                    starts.append(r)
            if i == 0:
                starts.append(step_rows[step.number])
            r += len(block.fields)
    rv = lay.review
    starts += [dict(lay.steps)[form.REVIEW_STEP], rv["confidence"], rv["server_title"], rv["warnings"]]
    return starts


def write_template(path: str | Path, values: dict[str, Any] | None = None,
                   checklist: list[ChecklistItem] | None = None, name: str = DEFAULT_NAME,
                   notes: str | None = None) -> Path:
    """Write the template, or a filled copy when ``values``/``checklist`` are given.

    ``values`` are input fields (validated first: a bad value raises ``InputError``);
    ``checklist`` replaces the blank course checklist. Saved atomically with
    ``save_with_values`` (every formula's result stored, fixed times): same arguments, same bytes.
    """
    return save_with_values(build_workbook(values, checklist, name, notes), Path(path))


def as_date(v: Any) -> date | None:
    """A date cell value as a date."""
    if isinstance(v, datetime):
        return v.date()
    return v if isinstance(v, date) else None
