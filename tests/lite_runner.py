"""Call every Excel function of a UDF module with fixed arguments and print the answers as JSON.

Run as ``python lite_runner.py MODULE [FOLDER]``: imports MODULE (``main`` for the xlwings Lite
``main.py``, ``xlsizer_udfs`` for the classic module) from FOLDER and prints
``{"answers": {case: value}, "errors": {case: message}}``. The same file runs in the test
process, in a clean virtual environment and under Pyodide, so the answers can be compared.
Errors are collected twice: as the classic add-in returns them (text) and, with the
module configured as under xlwings Lite, as the raised ``xlwings.XlwingsError``'s message.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from typing import Any

INPUTS = [["name", "value"], ["model", "llama-3.3-70b"], ["concurrent_users", 80.0],
          ["requests_per_user_per_minute", 4.0], ["avg_prompt_tokens", 6000.0], ["avg_output_tokens", 250.0],
          ["target_tpot_ms", 40.0], ["burst_factor", 2.5], ["precision", "fp8"], ["kv_cache_dtype", "fp8"],
          ["redundancy_mode", "N+1"], ["gpu", None]]

CASES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "KV_MEMORY": ("KV_MEMORY", ("llama-3.3-70b", 6250.0, 133.0, "fp8")),
    "KV_PER_TOKEN": ("KV_PER_TOKEN", ("llama-3.3-70b", "fp8")),
    "WEIGHTS_MEMORY": ("WEIGHTS_MEMORY", ("llama-3.3-70b", "fp8")),
    "LLM_VRAM": ("LLM_VRAM", ("llama-3.3-70b", 80.0, 4.0, 6000.0, 250.0, 40.0, 2.5, "fp8")),
    "LLM_RPS": ("LLM_RPS", (80.0, 4.0)),
    "LLM_INFLIGHT": ("LLM_INFLIGHT", (80.0, 4.0, 250.0, 40.0, 2.5)),
    "LLM_TPOT": ("LLM_TPOT", ("llama-3.3-70b", "h100-sxm", 4.0, "fp8", 6000.0, 250.0, 32.0)),
    "LLM_TTFT": ("LLM_TTFT", ("llama-3.3-70b", "h100-sxm", 4.0, "fp8", 6000.0, 250.0, 32.0)),
    "LLM_THROUGHPUT": ("LLM_THROUGHPUT", ("llama-3.3-70b", "h100-sxm", 4.0)),
    "LLM_MAX_BATCH": ("LLM_MAX_BATCH", ("llama-3.3-70b", "h100-sxm", 4.0, "fp8", 6000.0, 250.0)),
    "LLM_REPLICAS": ("LLM_REPLICAS", (INPUTS, "burst", "concurrent_users", 200.0)),
    "LLM_GPUS": ("LLM_GPUS", (INPUTS,)),
    "LLM_SERVERS": ("LLM_SERVERS", (INPUTS, "resilient")),
    "LLM_POWER_KW": ("LLM_POWER_KW", (INPUTS,)),
    "LLM_FACILITY_KW": ("LLM_FACILITY_KW", (INPUTS, "baseline")),
    "LLM_COST_MONTHLY": ("LLM_COST_MONTHLY", (INPUTS, "burst", "gpu", "h200-sxm")),
    "LLM_COST_PER_MTOK": ("LLM_COST_PER_MTOK", (INPUTS,)),
    "LLM_RESULT": ("LLM_RESULT", (INPUTS, "memory.vram_gb", "baseline")),
    "LLM_RESULT_headline": ("LLM_RESULT", (INPUTS, "headline")),
    "LLM_EXPLAIN": ("LLM_EXPLAIN", (INPUTS,)),
    "LLM_WARNINGS": ("LLM_WARNINGS", (INPUTS, "all")),
    "LLM_SWEEP": ("LLM_SWEEP", (INPUTS, "concurrent_users", [[40.0], [80.0], [160.0]], "total_gpus")),
    "LLM_MODELS": ("LLM_MODELS", ()),
    "LLM_GPU_LIST": ("LLM_GPU_LIST", ("nvidia",)),
    "LLM_MODEL_INFO": ("LLM_MODEL_INFO", ("llama-3.3-70b", "kv_heads")),
    "LLM_GPU_INFO": ("LLM_GPU_INFO", ("h100-sxm", "memory_bandwidth_tb_s")),
}
BAD: dict[str, tuple[str, tuple[Any, ...]]] = {
    "bad_tpot": ("LLM_GPUS", (INPUTS, "burst", "target_tpot_ms", -3.0)),
    "bad_model": ("KV_MEMORY", ("no-such-model", 100.0)),
    "bad_scenario": ("LLM_REPLICAS", (INPUTS, "sometimes")),
}


XLWINGS_STUB = '''"""Stand-in for the xlwings that xlwings Lite provides (decorators that register nothing)."""


class XlwingsError(Exception):
    pass


def func(f=None, **kwargs):
    return f if callable(f) else (lambda g: g)


def arg(*args, **kwargs):
    return lambda g: g


def ret(*args, **kwargs):
    return lambda g: g


def script(f=None, **kwargs):
    return f if callable(f) else (lambda g: g)
'''


def same(a: Any, b: Any) -> bool:
    """Two answers agree: floats to 1e-12 relative, lists element by element, else equal."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def run(module_name: str) -> dict[str, Any]:
    mod = importlib.import_module(module_name)
    from xlsizer import cells

    out: dict[str, Any] = {"functions": sorted(mod.__all__), "answers": {}, "text_errors": {}, "raised": {}}
    cells.configure(raise_as=None)  # as the classic add-in: errors are one line of text
    for case, (name, args) in CASES.items():
        out["answers"][case] = getattr(mod, name)(*args)
    for case, (name, args) in BAD.items():
        out["text_errors"][case] = getattr(mod, name)(*args)
    import xlwings

    cells.configure(raise_as=xlwings.XlwingsError)  # as under xlwings Lite / Server
    for case, (name, args) in BAD.items():
        try:
            getattr(mod, name)(*args)
            out["raised"][case] = None
        except xlwings.XlwingsError as exc:
            out["raised"][case] = str(exc)
    cells.configure(raise_as=None)
    return out


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.path.insert(0, sys.argv[2])
    print(json.dumps(run(sys.argv[1])))
