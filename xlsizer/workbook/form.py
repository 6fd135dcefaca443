"""The Inputs sheet as a form a planner fills top to bottom: the Sizer's step order, plain
labels with units, the choices of every choice input, and what an empty cell means.

This module is data and pure functions (no openpyxl): ``template.py`` lays it out.

- ``FORM``: the Sizer's wizard steps (course.md §10.1: 1 Workload, 2 Model, 3 Traffic,
  4 SLOs, 5 Reliability, 6 Advanced, 7 Review) with xlsizer's extra inputs placed where a
  planner meets them: the GPU, the custom GPU and the rack limit with the hardware in step 5,
  the optimizations and the finance assumptions in step 6. Step 7 is the Review block.
- ``LABELS`` / ``UNITS``: what a planner reads; the field name sits small beside the label
  because formulas and the ``Inputs`` range use it.
- ``WHEN_EMPTY``: for each input, what is used when its cell is left empty, as an Excel
  expression (the "In force" column) and as the same computation in Python (its stored
  value). Constants are never hidden in a formula: a default is shown in its own cell
  (the "Default" column) or in a table on the Catalog sheet, and the formula points at it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xlsizer import cells
from xlsizer.catalog.loader import read_data_file
from xlsizer.engine.optimizations import HOST_LINK_FALLBACK_GB_S
from xlsizer.inputs import PRESETS, SizingInputs
from xlsizer.resolve import DEFAULT_OUTPUT_TOKENS, PCIE_GEN5_X16_GB_S

_DEFAULTS = read_data_file("defaults.yaml")
COST_DEFAULTS: dict[str, Any] = _DEFAULTS["cost"]
"""defaults.yaml ``cost``: the finance defaults the engine applies to empty cost inputs."""
LARGE_MIN_GPUS = int(_DEFAULTS["server_power"]["large_min_gpus"])
MEDIUM_MIN_GPUS = 2
"""Server classes as engine/cost.py ``server_class``: 1 GPU small, 2-4 medium, large from
defaults.yaml ``server_power.large_min_gpus``."""
SERVER_PRICE_TABLE: tuple[tuple[int, float, str], ...] = (
    (1, float(COST_DEFAULTS["server_price_by_class"]["small"]), "small (1 GPU)"),
    (MEDIUM_MIN_GPUS, float(COST_DEFAULTS["server_price_by_class"]["medium"]), f"medium (2-{LARGE_MIN_GPUS - 1} GPUs)"),
    (LARGE_MIN_GPUS, float(COST_DEFAULTS["server_price_by_class"]["large"]), f"large ({LARGE_MIN_GPUS}+ GPUs)"),
)
"""(minimum GPUs per server, price without GPUs, class): the Catalog sheet's
``server_price_by_class`` table, read by an approximate-match VLOOKUP."""

CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "INR", "CNY",
                               "SGD")
"""Offered in the currency dropdown; any label of up to 12 characters is accepted (no conversion)."""
TRAFFIC_SPLITS: tuple[str, ...] = ("equal", "50,50", "60,40", "70,30", "80,20", "50,30,20", "40,30,30")
"""Offered in the LoRA traffic-split dropdown; any list of positive shares, one per variant, is accepted."""

# --- what a planner reads ----------------------------------------------------------------------
LABELS: dict[str, str] = {
    "workload_type": "Kind of application",
    "model": "Model",
    "precision": "Weight precision",
    "kv_cache_dtype": "KV-cache precision",
    "parameter_count_b": "Total parameters",
    "model_architecture": "Architecture",
    "active_params_b": "Parameters used per token (MoE)",
    "num_layers": "Transformer layers",
    "num_kv_heads": "Key/value heads",
    "head_dim": "Attention head size",
    "concurrent_users": "Concurrent users at peak",
    "requests_per_user_per_minute": "Requests per user per minute",
    "avg_prompt_tokens": "Average prompt length",
    "avg_output_tokens": "Average answer length",
    "max_context_tokens": "Longest context the app allows",
    "length_cv": "Spread of prompt and answer lengths (CV)",
    "target_ttft_ms": "Time to first token, target",
    "target_tpot_ms": "Time per output token, target",
    "slo_percentile": "Share of requests meeting both targets (percentile)",
    "arrivals": "How requests arrive",
    "arrival_scv": "Burstiness of arrivals (bursty only)",
    "burst_factor": "Burst factor: peak over average traffic",
    "redundancy_mode": "Spare replicas",
    "serving_engine": "Serving engine",
    "gpu": "GPU",
    "rack_power_limit_kw": "Power a rack can take",
    "max_total_gpus": "Largest deployment to accept as a plan",
    "gpu_memory_gb": "Custom GPU: memory",
    "gpu_bandwidth_tb_s": "Custom GPU: memory bandwidth",
    "gpu_bf16_tflops": "Custom GPU: BF16 compute, dense",
    "gpu_fp8_tflops": "Custom GPU: FP8 compute, dense",
    "gpu_fp4_tflops": "Custom GPU: FP4 compute, dense",
    "gpu_int8_tops": "Custom GPU: INT8 compute, dense",
    "gpu_tdp_w": "Custom GPU: board power",
    "gpu_per_node": "Custom GPU: GPUs per server",
    "gpu_interconnect_gb_s": "Custom GPU: GPU-to-GPU bandwidth",
    "throughput_source": "Capacity per replica comes from",
    "throughput_override": "Measured throughput per replica",
    "calibration_profile": "Calibration profile (xlsizer calibrate)",
    "continuous_batching": "Continuous batching",
    "paged_attention": "PagedAttention (KV in blocks)",
    "compute_precision": "Precision the GPUs multiply at",
    "prefix_caching": "Prefix caching",
    "prefix_shared_tokens": "Prompt tokens every request shares",
    "prefix_hit_rate": "Prefix cache hit rate",
    "speculative_decoding": "Speculative decoding",
    "spec_acceptance_rate": "Draft tokens accepted",
    "spec_draft_tokens": "Draft tokens per step",
    "spec_draft_model": "Draft model",
    "spec_draft_head_params_b": "Draft head size",
    "kv_offload": "KV cache offload to CPU memory",
    "cpu_memory_per_server_gb": "CPU memory per server for KV",
    "host_link_gb_s": "Host-to-GPU link per GPU",
    "lora_variants": "Fine-tuned variants served",
    "lora_enabled": "Serve the variants as LoRA adapters",
    "lora_rank": "LoRA adapter rank",
    "lora_traffic_split": "Traffic share of each variant",
    "disaggregated": "Separate prefill and decode pools",
    "pricing_model": "Rent in the cloud or buy (on-prem)",
    "currency": "Currency of all prices",
    "cloud_price_per_gpu_hour": "Cloud price per GPU-hour",
    "gpu_purchase_price": "Purchase price per GPU",
    "server_purchase_price": "Server price without its GPUs",
    "amortization_years": "Amortization period",
    "maintenance_pct_per_year": "Hardware support per year",
    "electricity_price_per_kwh": "Electricity price",
    "pue_override": "Your facility's PUE",
    "colocation_price_per_kw_month": "Colocation rent per kW of IT load",
    "hours_per_month": "Hours billed or powered per month",
    "expected_utilization": "Average load, as a share of the peak",
    "api_price_per_million_tokens": "API price to compare against",
}

UNITS: dict[str, str] = {
    "num_layers": "layers", "num_kv_heads": "heads", "head_dim": "values per head", "lora_rank": "rank",
    "burst_factor": "x average", "prefix_hit_rate": "share, 0-1", "spec_acceptance_rate": "share, 0-1",
    "expected_utilization": "share, 0-1", "pue_override": "facility / IT",
    "maintenance_pct_per_year": "% of capex/year",
    "gpu_per_node": "GPUs/server", "throughput_override": "tok/s per replica",
    "cpu_memory_per_server_gb": "GB per server", "host_link_gb_s": "GB/s per GPU",
}
"""Units for the rows whose field metadata has none (or a terse one): one unit per row."""

CURRENCY_UNITS: dict[str, str] = {
    "cloud_price_per_gpu_hour": " per GPU-hour", "gpu_purchase_price": " per GPU",
    "server_purchase_price": " per server", "electricity_price_per_kwh": " per kWh",
    "colocation_price_per_kw_month": " per kW-month", "api_price_per_million_tokens": " per M tokens",
}
"""Rows priced in the project's currency: the unit cell is a formula, the currency & this."""


# --- the form's order ------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """A group of rows under an optional sub-heading."""

    heading: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """One step of the Sizer's wizard as a band of the form."""

    number: int
    title: str
    intro: str
    blocks: tuple[Block, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for b in self.blocks for f in b.fields)

    @property
    def heading(self) -> str:
        return f"Step {self.number}  {self.title}"


FORM: tuple[Step, ...] = (
    Step(1, "Workload", "What the application is. Its preset sets the latency targets of step 4 left empty.",
         (Block(None, ("workload_type",)),)),
    Step(2, "Model", "Which model, at what precision. A catalog model brings its own architecture; a custom "
                     "model needs the rows under 'Custom model'.",
         (Block(None, ("model", "precision", "kv_cache_dtype")),
          Block("Custom model: needed only when Model is custom (empty = the catalog's figures)",
                ("parameter_count_b", "model_architecture", "active_params_b", "num_layers", "num_kv_heads",
                 "head_dim")))),
    Step(3, "Traffic", "How much traffic at the peak: active users, how often they ask, how long prompts and "
                       "answers are.",
         (Block(None, ("concurrent_users", "requests_per_user_per_minute", "avg_prompt_tokens", "avg_output_tokens",
                       "length_cv", "max_context_tokens")),)),
    Step(4, "SLOs", "How fast it must feel. Empty = the preset of the kind of application (In force shows it).",
         (Block(None, ("target_ttft_ms", "target_tpot_ms", "slo_percentile", "arrivals", "arrival_scv")),)),
    Step(5, "Reliability and hardware", "Headroom for bursts, spare replicas, the serving engine, the GPU and "
                                        "the racks.",
         (Block(None, ("burst_factor", "redundancy_mode", "serving_engine", "gpu", "rack_power_limit_kw",
                      "max_total_gpus")),
          Block("Custom GPU: needed only when GPU is custom",
                ("gpu_memory_gb", "gpu_bandwidth_tb_s", "gpu_bf16_tflops", "gpu_fp8_tflops", "gpu_fp4_tflops",
                 "gpu_int8_tops", "gpu_tdp_w", "gpu_per_node", "gpu_interconnect_gb_s")))),
    Step(6, "Advanced: optimizations and costs", "Levers the AI team switches (course.md §8) and the finance "
                                                 "assumptions. Every row has a working default.",
         (Block("Capacity per replica", ("throughput_source", "throughput_override", "calibration_profile")),
          Block("Batching and memory", ("continuous_batching", "paged_attention", "compute_precision")),
          Block("Prefix caching", ("prefix_caching", "prefix_shared_tokens", "prefix_hit_rate")),
          Block("Speculative decoding", ("speculative_decoding", "spec_acceptance_rate", "spec_draft_tokens",
                                         "spec_draft_model", "spec_draft_head_params_b")),
          Block("KV cache offload", ("kv_offload", "cpu_memory_per_server_gb", "host_link_gb_s")),
          Block("Fine-tuned variants (LoRA)", ("lora_variants", "lora_enabled", "lora_rank", "lora_traffic_split")),
          Block("Disaggregated serving", ("disaggregated",)),
          Block("Costs (Finance)", ("pricing_model", "currency", "cloud_price_per_gpu_hour", "gpu_purchase_price",
                                    "server_purchase_price", "amortization_years", "maintenance_pct_per_year",
                                    "electricity_price_per_kwh", "pue_override", "colocation_price_per_kw_month",
                                    "hours_per_month", "expected_utilization", "api_price_per_million_tokens")))),
)
REVIEW_STEP = 7
REVIEW_TITLE = "Review"
REVIEW_INTRO = ("The answer for the inputs above (computed, locked). Baseline = average traffic; Burst = the peak; "
                "Resilient = the peak with the spares. The Results sheet has every figure, the memory breakdown and "
                "the step-by-step explanation.")


def form_steps() -> tuple[Step, ...]:
    """``FORM``, with any input it does not place (a field added later) appended to step 6 under
    'Other inputs', so every input always has its row and its defined name."""
    placed = {f for s in FORM for f in s.fields}
    rest = tuple(f for f in SizingInputs.model_fields if f not in placed)
    if not rest:
        return FORM
    last = FORM[-1]
    return (*FORM[:-1], Step(last.number, last.title, last.intro, (*last.blocks, Block("Other inputs", rest))))


def label(name: str) -> str:
    """The plain-language label of an input (a field added later gets its name in words)."""
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def unit(name: str) -> str:
    """The unit shown on an input's row ('' for a choice or a toggle)."""
    if name in UNITS:
        return UNITS[name]
    extra = SizingInputs.model_fields[name].json_schema_extra
    u = str(extra.get("unit", "")) if isinstance(extra, dict) else ""
    return "" if u.startswith("currency") else u


# --- what an empty cell means ------------------------------------------------------------------
@dataclass(frozen=True)
class Ctx:
    """What an in-force computation may read: the Inputs table as the range holds it and the
    in-force values of the rows above (by field name)."""

    table: list[list[Any]]
    in_force: dict[str, Any]

    def result(self, field: str) -> Any:
        return cells.result(self.table, field, "burst", ())


@dataclass(frozen=True)
class WhenEmpty:
    """What is used when an input's cell is empty.

    ``default``: what the Default column shows (a value the formula reads, or words for a
    default the workbook computes). ``expr(ref)``: the Excel expression of the value in force
    for an empty cell, given ``ref(field)`` -> that field's In-force cell and ``ref("")`` ->
    this row's Default cell; None = the Default cell itself. ``value(ctx)``: the same in
    Python. ``also_empty``: a value that means the same as empty ('auto').
    """

    default: Any
    expr: Callable[[Callable[[str], str]], str] | None = None
    value: Callable[[Ctx], Any] | None = None
    also_empty: str | None = None


def _isnum(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is(v: Any, text: str) -> bool:
    """Excel's case-insensitive ``=`` between a cell and a text."""
    return isinstance(v, str) and v.lower() == text.lower()


def _catalog_model(fact: str, custom: str = "required for a custom model") -> WhenEmpty:
    """A model fact from the catalog row of the model in force."""
    def expr(ref: Callable[[str], str]) -> str:
        m = ref("model")
        info = f'LLM_MODEL_INFO({m},"{fact}")'
        return f'IF({m}="custom","{custom}",IF(ISNUMBER({info}),{info},"not in the catalog"))'

    def value(ctx: Ctx) -> Any:
        m = ctx.in_force["model"]
        if _is(m, "custom"):
            return custom
        v = cells.model_info(m, fact)
        return v if _isnum(v) else "not in the catalog"

    return WhenEmpty("the catalog's", expr, value)


def _architecture() -> WhenEmpty:
    def expr(ref: Callable[[str], str]) -> str:
        m = ref("model")
        info = f'LLM_MODEL_INFO({m},"attention")'
        return f'IF({m}="custom","required for a custom model","catalog: "&{info}&" attention")'

    def value(ctx: Ctx) -> Any:
        m = ctx.in_force["model"]
        if _is(m, "custom"):
            return "required for a custom model"
        return f"catalog: {cells.model_info(m, 'attention')} attention"

    return WhenEmpty("the catalog's", expr, value)


def _active_params() -> WhenEmpty:
    def expr(ref: Callable[[str], str]) -> str:
        info = f'LLM_MODEL_INFO({ref("model")},"active_params_b")'
        return f'IF(ISNUMBER({info}),{info},"all parameters")'

    def value(ctx: Ctx) -> Any:
        v = cells.model_info(ctx.in_force["model"], "active_params_b")
        return v if _isnum(v) else "all parameters"

    return WhenEmpty("the catalog's, or all", expr, value)


def _output_tokens() -> WhenEmpty:
    """500 (course.md §10.1), or the catalog's default answer length of a reasoning model."""
    def expr(ref: Callable[[str], str]) -> str:
        info = f'LLM_MODEL_INFO({ref("model")},"default_output_tokens")'
        return f'IF(ISNUMBER({info}),{info},{ref("")})'

    def value(ctx: Ctx) -> Any:
        v = cells.model_info(ctx.in_force["model"], "default_output_tokens")
        return v if _isnum(v) else DEFAULT_OUTPUT_TOKENS

    return WhenEmpty(DEFAULT_OUTPUT_TOKENS, expr, value)


def _preset(column: int, key: str) -> WhenEmpty:
    """The workload preset (the Catalog sheet's ``workload_presets`` table, course.md §10.1)."""
    def expr(ref: Callable[[str], str]) -> str:
        return f'VLOOKUP({ref("workload_type")},workload_presets,{column},FALSE)'

    def value(ctx: Ctx) -> Any:
        return PRESETS[str(ctx.in_force["workload_type"]).lower()][key]

    return WhenEmpty("workload preset", expr, value)


def _result(field: str, default: str) -> WhenEmpty:
    """A figure the sizing computes (Burst scenario)."""
    def expr(ref: Callable[[str], str]) -> str:
        return f'LLM_RESULT(Inputs,"{field}")'

    return WhenEmpty(default, expr, lambda ctx: ctx.result(field))


def _custom_gpu(default: Any) -> WhenEmpty:
    """A custom-GPU figure: not used unless GPU is custom; then the Default column."""
    def expr(ref: Callable[[str], str]) -> str:
        return f'IF({ref("gpu")}="custom",{ref("")},"not used")'

    def value(ctx: Ctx) -> Any:
        return default if _is(ctx.in_force["gpu"], "custom") else "not used"

    return WhenEmpty(default, expr, value)


def _gpu_price(fact: str) -> WhenEmpty:
    """The catalog's typical price for the GPU in force."""
    def expr(ref: Callable[[str], str]) -> str:
        info = f'LLM_GPU_INFO({ref("gpu")},"{fact}.typical")'
        return f'IF(ISNUMBER({info}),{info},"none in the catalog: enter one")'

    def value(ctx: Ctx) -> Any:
        v = cells.gpu_info(ctx.in_force["gpu"], f"{fact}.typical")
        return v if _isnum(v) else "none in the catalog: enter one"

    return WhenEmpty("catalog, chosen GPU", expr, value)


def _host_link() -> WhenEmpty:
    """The host link of the GPU in force (its catalog row), one direction; the fallback where the
    row states none (a custom GPU); words for the automatic choice, whose GPU the sizing picks."""

    def expr(ref: Callable[[str], str]) -> str:
        info = f'LLM_GPU_INFO({ref("gpu")},"host_link_gb_s")'
        fallback = f"{HOST_LINK_FALLBACK_GB_S:g}"
        return f'IF(ISNUMBER({info}),{info},IF({ref("gpu")}="auto","the chosen GPU\'s",{fallback}))'

    def value(ctx: Ctx) -> Any:
        gpu = ctx.in_force["gpu"]
        if _is(gpu, "auto"):
            return "the chosen GPU's"
        v = cells.gpu_info(gpu, "host_link_gb_s")
        return v if _isnum(v) else HOST_LINK_FALLBACK_GB_S

    return WhenEmpty("catalog, chosen GPU", expr, value)


def _server_price() -> WhenEmpty:
    def expr(ref: Callable[[str], str]) -> str:
        return 'VLOOKUP(LLM_RESULT(Inputs,"gpus_per_server"),server_price_by_class,2,TRUE)'

    def value(ctx: Ctx) -> Any:
        n = ctx.result("gpus_per_server")
        if not _isnum(n):
            return n
        return [price for low, price, _ in SERVER_PRICE_TABLE if n >= low][-1]

    return WhenEmpty("by server class", expr, value)


def _utilization() -> WhenEmpty:
    def expr(ref: Callable[[str], str]) -> str:
        return f'1/{ref("burst_factor")}'

    return WhenEmpty("1 / burst factor", expr, lambda ctx: 1 / ctx.in_force["burst_factor"])


SPECIAL: dict[str, WhenEmpty] = {
    "gpu": WhenEmpty("auto", lambda ref: 'LLM_RESULT(Inputs,"gpu")', lambda ctx: ctx.result("gpu"), "auto"),
    "kv_cache_dtype": WhenEmpty("auto", lambda ref: 'LLM_RESULT(Inputs,"optimizations.precision.kv_cache")',
                                lambda ctx: ctx.result("optimizations.precision.kv_cache"), "auto"),
    "parameter_count_b": _catalog_model("total_params_b"),
    "model_architecture": _architecture(),
    "active_params_b": _active_params(),
    "num_layers": _catalog_model("layers"),
    "num_kv_heads": _catalog_model("kv_heads"),
    "head_dim": _catalog_model("head_dim"),
    "avg_output_tokens": _output_tokens(),
    "target_ttft_ms": _preset(2, "target_ttft_ms"),
    "target_tpot_ms": _preset(3, "target_tpot_ms"),
    "throughput_override": _result("throughput_per_replica_tok_s", "computed"),
    "gpu_memory_gb": _custom_gpu("required"),
    "gpu_bandwidth_tb_s": _custom_gpu("required"),
    "gpu_bf16_tflops": _custom_gpu("required"),
    "gpu_fp8_tflops": _custom_gpu("none"),
    "gpu_fp4_tflops": _custom_gpu("none"),
    "gpu_int8_tops": _custom_gpu("none"),
    "gpu_tdp_w": _custom_gpu("required"),
    "gpu_per_node": _custom_gpu(8),
    "gpu_interconnect_gb_s": _custom_gpu(PCIE_GEN5_X16_GB_S),
    "spec_draft_model": WhenEmpty("none: a draft head"),
    "calibration_profile": WhenEmpty("none: the packaged fit"),
    "arrival_scv": WhenEmpty("none: needed only for bursty arrivals"),
    "cloud_price_per_gpu_hour": _gpu_price("cloud_price_per_gpu_hour"),
    "gpu_purchase_price": _gpu_price("purchase_price_per_gpu"),
    "server_purchase_price": _server_price(),
    "host_link_gb_s": _host_link(),
    "amortization_years": WhenEmpty(COST_DEFAULTS["amortization_years"]),
    "maintenance_pct_per_year": WhenEmpty(COST_DEFAULTS["maintenance_pct_per_year"]),
    "electricity_price_per_kwh": WhenEmpty(COST_DEFAULTS["electricity_price_per_kwh"]),
    "api_price_per_million_tokens": WhenEmpty(COST_DEFAULTS["api_price_per_million_tokens"]),
    "pue_override": _result("pue", "cooling tier's PUE"),
    "colocation_price_per_kw_month": WhenEmpty("none: own data center"),
    "expected_utilization": _utilization(),
}


def when_empty(name: str) -> WhenEmpty:
    """What an empty cell of this input means (the field's own default unless said otherwise)."""
    if name in SPECIAL:
        return SPECIAL[name]
    d = SizingInputs.model_fields[name].default
    d = getattr(d, "value", d)
    return WhenEmpty("(none)" if d is None else d)


def in_force_value(name: str, cell: Any, ctx: Ctx) -> Any:
    """The value in force for an input whose cell holds ``cell`` (what the In-force formula gives)."""
    rule = when_empty(name)
    if not (cell is None or (isinstance(cell, str) and cell == "") or
            (rule.also_empty is not None and _is(cell, rule.also_empty))):
        return cell
    return rule.value(ctx) if rule.value is not None else rule.default
