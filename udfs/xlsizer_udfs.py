"""xlsizer's Excel functions: the module xlwings loads (classic, Server and Lite).

Only the decorators common to the three flavours are used (``func``, ``arg``; no
``expand=``, ``async_mode=``, ``caller``, ``namespace=``, ``cache=``; no ``*args``, which
xlwings refuses next to optional arguments). Each function converts nothing itself: it makes
one call into ``xlsizer.cells``, which handles empty cells (None or 0), floats for integers,
toggles, ranges, Excel error values, the result cache and the error text.

On Linux/macOS without ``XLWINGS_ON_SERVER`` the decorators are no-ops, so every function
here is a plain Python callable (that is how tests/test_udfs.py calls them).

Errors: classic xlwings cannot return a real error cell, so a bad argument returns one line
of text, ``"#VALUE! target_tpot_ms must be between 5 and 1000, got -3"``. Under xlwings
Server (``XLWINGS_ON_SERVER=true``) and xlwings Lite (Pyodide) the message is raised as
``xlwings.XlwingsError``: the cell shows ``#VALUE!`` and the message on hover.

Scenario-style functions take the template's two-column ``Inputs`` range, an optional
scenario (baseline, burst, resilient; empty = burst) and up to six name/value override pairs.
"""

from __future__ import annotations

import os
import sys

import xlwings as xw
from xlwings import arg, func

from xlsizer import cells

if os.environ.get("XLWINGS_ON_SERVER") == "true" or sys.platform == "emscripten":
    cells.configure(raise_as=xw.XlwingsError)  # Server / Lite: real #VALUE! with a message

CATEGORY = "xlsizer"
PAIRS = 6
"""How many trailing name/value override pairs the scenario-style functions accept."""

D_INPUTS = "Two-column name/value range of inputs (the template's Inputs); empty = all defaults"
D_SCENARIO = "baseline, burst or resilient (optional; empty = burst)"
D_MODEL = 'Catalog model id, e.g. "llama-3.3-70b" (see LLM_MODELS)'
D_GPU = 'Catalog GPU id, e.g. "h100-sxm" (see LLM_GPU_LIST)'
D_PRECISION = "Weight precision: fp8, bf16, fp16, int8, int4 or fp4 (optional; empty = fp8)"
D_KV_PRECISION = "KV-cache precision: fp8, bf16, fp16, int8, int4 or fp4 (optional; empty = fp8)"


def _overrides(f):
    """Document the name1/value1 ... override pairs (shared by every scenario-style function)."""
    for i in range(PAIRS, 0, -1):
        f = arg(f"value{i}", doc=f"Value for name{i} (optional; empty = that input's default)")(f)
        f = arg(f"name{i}", doc=f"Input name to override, e.g. concurrent_users (optional, pair {i})")(f)
    return f


# --- memory and traffic, positional -----------------------------------------------------------

@func(category=CATEGORY)
@arg("model", doc=D_MODEL)
@arg("tokens", doc="Tokens per request (prompt + output), tokens")
@arg("requests", doc="Concurrent requests (optional; empty = 1)")
@arg("kv_precision", doc=D_KV_PRECISION)
def KV_MEMORY(model, tokens, requests=1, kv_precision="fp8"):
    """KV-cache memory in GB (decimal) for requests x tokens of a catalog model."""
    return cells.kv_memory(model, tokens, requests, kv_precision)


@func(category=CATEGORY)
@arg("model", doc=D_MODEL)
@arg("kv_precision", doc=D_KV_PRECISION)
def KV_PER_TOKEN(model, kv_precision="fp8"):
    """KV-cache bytes one token adds across all layers (2 x layers x KV heads x head dim x bytes)."""
    return cells.kv_per_token(model, kv_precision)


@func(category=CATEGORY)
@arg("model", doc=D_MODEL)
@arg("precision", doc=D_PRECISION)
def WEIGHTS_MEMORY(model, precision="fp8"):
    """Weight memory in GB (decimal): parameters x bytes per parameter (a MoE at fp4: only its experts in 4 bits)."""
    return cells.weights_memory(model, precision)


@func(category=CATEGORY)
@arg("model", doc=D_MODEL)
@arg("users", doc="Concurrent users at peak (optional; empty = 80)")
@arg("rpm", doc="Requests per user per minute (optional; empty = 2)")
@arg("prompt_tokens", doc="Average prompt tokens (optional; empty = 2000)")
@arg("output_tokens", doc="Average output tokens (optional; empty = 500)")
@arg("tpot_ms", doc="Time-per-output-token target, ms (optional; empty = the RAG preset)")
@arg("burst", doc="Burst factor, peak / average (optional; empty = 3)")
@arg("precision", doc=D_PRECISION)
@arg("scenario", doc=D_SCENARIO)
def LLM_VRAM(model, users=None, rpm=None, prompt_tokens=None, output_tokens=None, tpot_ms=None, burst=None,
             precision=None, scenario="burst"):
    """Total VRAM in GB the sizing needs: weights + KV + activations + headroom."""
    return cells.vram(model, users, rpm, prompt_tokens, output_tokens, tpot_ms, burst, precision, scenario)


@func(category=CATEGORY)
@arg("users", doc="Concurrent users at peak")
@arg("rpm", doc="Requests per user per minute")
def LLM_RPS(users, rpm):
    """Average requests per second: users x requests per minute / 60."""
    return cells.rps(users, rpm)


@func(category=CATEGORY)
@arg("users", doc="Concurrent users at peak")
@arg("rpm", doc="Requests per user per minute")
@arg("output_tokens", doc="Average output tokens per request")
@arg("tpot_ms", doc="Time per output token, ms")
@arg("burst", doc="Burst factor, peak / average (optional; empty = 1)")
def LLM_INFLIGHT(users, rpm, output_tokens, tpot_ms, burst=1):
    """In-flight requests at peak by Little's law: RPS x output tokens x TPOT x burst."""
    return cells.inflight(users, rpm, output_tokens, tpot_ms, burst)


# --- speed, positional (performance model) -------------------------------------------------------

def _perf_args(f):
    """Document the arguments shared by LLM_TPOT, LLM_TTFT, LLM_THROUGHPUT and LLM_MAX_BATCH."""
    f = arg("concurrency", doc="Requests batched together (optional; empty = the largest batch that meets memory)")(f)
    f = arg("output_tokens", doc="Output tokens per request (optional; empty = 500)")(f)
    f = arg("input_tokens", doc="Prompt tokens per request (optional; empty = 2000)")(f)
    f = arg("precision", doc=D_PRECISION)(f)
    f = arg("tp", doc="Tensor-parallel GPUs per replica (optional; empty = 1)")(f)
    f = arg("gpu", doc=D_GPU)(f)
    return arg("model", doc=D_MODEL)(f)


@func(category=CATEGORY)
@_perf_args
def LLM_TPOT(model, gpu, tp=1, precision="fp8", input_tokens=2000, output_tokens=500, concurrency=None):
    """Mean time per output token in ms of one replica at that batch (percentile: LLM_RESULT perf.tpot_q_ms)."""
    return cells.performance("tpot_ms", model, gpu, tp, precision, input_tokens, output_tokens, concurrency)


@func(category=CATEGORY)
@_perf_args
def LLM_TTFT(model, gpu, tp=1, precision="fp8", input_tokens=2000, output_tokens=500, concurrency=None):
    """Mean time to first token in ms of one replica, that many in flight (percentile: LLM_RESULT perf.ttft_q_ms)."""
    return cells.performance("ttft_ms", model, gpu, tp, precision, input_tokens, output_tokens, concurrency)


@func(category=CATEGORY)
@_perf_args
def LLM_THROUGHPUT(model, gpu, tp=1, precision="fp8", input_tokens=2000, output_tokens=500, concurrency=None):
    """Output tokens per second of one replica (roofline performance model)."""
    return cells.performance("throughput", model, gpu, tp, precision, input_tokens, output_tokens, concurrency)


@func(category=CATEGORY)
@_perf_args
def LLM_MAX_BATCH(model, gpu, tp=1, precision="fp8", input_tokens=2000, output_tokens=500, concurrency=None):
    """Largest batch (concurrent requests) one replica holds in KV memory and serves within TPOT."""
    return cells.performance("max_batch", model, gpu, tp, precision, input_tokens, output_tokens, concurrency)


# --- scenario style over the Inputs range -----------------------------------------------------

@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_REPLICAS(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                 value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Model replicas for the scenario, spares included."""
    return cells.scenario_value("replicas", inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                                                name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_GPUS(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
             value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Total GPUs for the scenario: replicas x GPUs per replica."""
    return cells.scenario_value("total_gpus", inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                                                  name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_SERVERS(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Servers (nodes) for the scenario."""
    return cells.scenario_value("servers", inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                                               name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_POWER_KW(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                 value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """IT power in kW for the scenario (servers x server power)."""
    return cells.scenario_value("it_kw", inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                                             name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_FACILITY_KW(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                    value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Facility power in kW for the scenario (IT kW x PUE)."""
    return cells.scenario_value("facility_kw", inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                                                   name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_COST_MONTHLY(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                     value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Monthly cost of the scenario in the pricing currency (USD by default)."""
    return cells.scenario_value("cost.monthly", inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                                                    name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_COST_PER_MTOK(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                      value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Cost per million tokens (prompt + output) for the scenario, in the pricing currency."""
    return cells.scenario_value("cost.per_million_tokens", inputs, scenario,
                                (name1, value1, name2, value2, name3, value3, name4, value4, name5, value5,
                                 name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("field", doc='Result field by dotted path, e.g. "total_gpus", "memory.vram_gb", "cost.monthly"')
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_RESULT(inputs, field, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
               value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Any result field of a scenario, named by its dotted path in the result JSON."""
    return cells.result(inputs, field, scenario, (name1, value1, name2, value2, name3, value3,
                                                  name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc=D_SCENARIO)
@_overrides
def LLM_EXPLAIN(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Explanation table, 64 rows x 5 columns (step, value, unit, formula, source), blank-padded."""
    return cells.explain(inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                            name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("scenario", doc="baseline, burst, resilient or all (optional; empty = burst)")
@_overrides
def LLM_WARNINGS(inputs, scenario="burst", name1=None, value1=None, name2=None, value2=None, name3=None,
                 value3=None, name4=None, value4=None, name5=None, value5=None, name6=None, value6=None):
    """Warnings as a 16 x 1 column, blank-padded ("no warnings" when there are none)."""
    return cells.warnings(inputs, scenario, (name1, value1, name2, value2, name3, value3,
                                             name4, value4, name5, value5, name6, value6))


@func(category=CATEGORY)
@arg("inputs", doc=D_INPUTS)
@arg("field", doc='Input to vary, e.g. "concurrent_users"')
@arg("values", doc="Values to try: a row or column range, or one value")
@arg("result_field", doc='Result to report, dotted path (optional; empty = "replicas")')
@arg("scenario", doc=D_SCENARIO)
def LLM_SWEEP(inputs, field, values, result_field="replicas", scenario="burst"):
    """Sensitivity table: a header row, then one row per value with the result (errors per row)."""
    return cells.sweep(inputs, field, values, result_field, scenario)


# --- catalog --------------------------------------------------------------------------------------

@func(category=CATEGORY)
@arg("contains", doc="Only ids whose id, name or family contains this text (optional)")
def LLM_MODELS(contains=None):
    """Catalog model ids as a column, for dropdowns."""
    return cells.models(contains)


@func(category=CATEGORY)
@arg("contains", doc="Only ids whose id, name or vendor contains this text (optional)")
def LLM_GPU_LIST(contains=None):
    """Catalog GPU ids as a column, for dropdowns."""
    return cells.gpus(contains)


@func(category=CATEGORY)
@arg("model", doc=D_MODEL)
@arg("field", doc='Catalog field, e.g. "total_params_b", "layers", "kv_heads" (optional; empty = "name")')
def LLM_MODEL_INFO(model, field="name"):
    """One fact about a catalog model (architecture, parameters, context, sources)."""
    return cells.model_info(model, field)


@func(category=CATEGORY)
@arg("gpu", doc=D_GPU)
@arg("field", doc='Catalog field, e.g. "memory_gb", "memory_bandwidth_tb_s", "dense_tflops.fp8" '
                  '(optional; empty = "name")')
def LLM_GPU_INFO(gpu, field="name"):
    """One fact about a catalog GPU (memory, bandwidth, TFLOPS per precision, power, prices)."""
    return cells.gpu_info(gpu, field)


__all__ = [  # noqa: RUF022 - grouped as in the docs, not alphabetical
    "KV_MEMORY", "KV_PER_TOKEN", "WEIGHTS_MEMORY", "LLM_VRAM", "LLM_RPS", "LLM_INFLIGHT",
    "LLM_TPOT", "LLM_TTFT", "LLM_THROUGHPUT", "LLM_MAX_BATCH",
    "LLM_REPLICAS", "LLM_GPUS", "LLM_SERVERS", "LLM_POWER_KW", "LLM_FACILITY_KW",
    "LLM_COST_MONTHLY", "LLM_COST_PER_MTOK", "LLM_RESULT", "LLM_EXPLAIN", "LLM_WARNINGS", "LLM_SWEEP",
    "LLM_MODELS", "LLM_GPU_LIST", "LLM_MODEL_INFO", "LLM_GPU_INFO",
]

REFERENCE: dict[str, tuple[str, str]] = {
    "KV_MEMORY": ("GB (decimal)", '=KV_MEMORY("llama-3.3-70b", 6250, 133, "fp8")'),
    "KV_PER_TOKEN": ("bytes", '=KV_PER_TOKEN("llama-3.3-70b", "fp8")'),
    "WEIGHTS_MEMORY": ("GB (decimal)", '=WEIGHTS_MEMORY("llama-3.3-70b", "fp8")'),
    "LLM_VRAM": ("GB (decimal)", '=LLM_VRAM("llama-3.3-70b", 80, 4, 6000, 250, 40, 2.5, "fp8")'),
    "LLM_RPS": ("requests/s", "=LLM_RPS(80, 4)"),
    "LLM_INFLIGHT": ("requests", "=LLM_INFLIGHT(80, 4, 250, 40, 2.5)"),
    "LLM_TPOT": ("ms", '=LLM_TPOT("llama-3.3-70b", "h100-sxm", 4, "fp8", 6000, 250, 32)'),
    "LLM_TTFT": ("ms", '=LLM_TTFT("llama-3.3-70b", "h100-sxm", 4, "fp8", 6000, 250, 32)'),
    "LLM_THROUGHPUT": ("output tokens/s per replica", '=LLM_THROUGHPUT("llama-3.3-70b", "h100-sxm", 4)'),
    "LLM_MAX_BATCH": ("requests", '=LLM_MAX_BATCH("llama-3.3-70b", "h100-sxm", 4, "fp8", 6000, 250)'),
    "LLM_REPLICAS": ("replicas", '=LLM_REPLICAS(Inputs, "burst", "concurrent_users", 200)'),
    "LLM_GPUS": ("GPUs", "=LLM_GPUS(Inputs)"),
    "LLM_SERVERS": ("servers", '=LLM_SERVERS(Inputs, "resilient")'),
    "LLM_POWER_KW": ("kW (IT)", "=LLM_POWER_KW(Inputs)"),
    "LLM_FACILITY_KW": ("kW (facility, IT x PUE)", "=LLM_FACILITY_KW(Inputs)"),
    "LLM_COST_MONTHLY": ("currency per month", '=LLM_COST_MONTHLY(Inputs, "burst", "gpu", "h200-sxm")'),
    "LLM_COST_PER_MTOK": ("currency per million tokens", "=LLM_COST_PER_MTOK(Inputs)"),
    "LLM_RESULT": ("the field's unit (see its name)", '=LLM_RESULT(Inputs, "memory.vram_gb", "baseline")'),
    "LLM_EXPLAIN": ("table (64 x 5)", "=LLM_EXPLAIN(Inputs)"),
    "LLM_WARNINGS": ("table (16 x 1)", '=LLM_WARNINGS(Inputs, "all")'),
    "LLM_SWEEP": ("table (values + 1 rows x 2)", '=LLM_SWEEP(Inputs, "concurrent_users", D2:D8, "total_gpus")'),
    "LLM_MODELS": ("column of ids", "=LLM_MODELS()"),
    "LLM_GPU_LIST": ("column of ids", '=LLM_GPU_LIST("nvidia")'),
    "LLM_MODEL_INFO": ("the field's unit", '=LLM_MODEL_INFO("llama-3.3-70b", "kv_heads")'),
    "LLM_GPU_INFO": ("the field's unit", '=LLM_GPU_INFO("h100-sxm", "memory_bandwidth_tb_s")'),
}
"""Result unit and an example formula per function, for docs/functions.md (xlsizer.docgen)."""


if __name__ == "__main__":  # classic xlwings: debug the UDF server from an IDE
    xw.serve()
