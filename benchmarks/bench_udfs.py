"""Python time per Excel cell through the UDF functions: cached cells vs fresh sizings.

    python benchmarks/bench_udfs.py

"cached" = the same Inputs range in every cell (a sheet of result cells over one Inputs):
range normalisation + cache hit. "fresh" = a distinct input per call (cache misses), so
each call pays one full sizing through the functions. Excludes xlwings/COM/HTTP overhead
(classic adds ~4 ms per call, Office.js ~0.4 ms in-process; reference/xlwings.md).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "udfs"))  # this checkout's module
import xlsizer_udfs as u

from xlsizer import cells

INPUTS = [["Name", "Value"], ["model", "llama-3.3-70b"], ["precision", "fp8"], ["kv_cache_dtype", "fp8"],
          ["avg_prompt_tokens", 6000.0], ["avg_output_tokens", 250.0], ["concurrent_users", 80.0],
          ["requests_per_user_per_minute", 4.0], ["target_ttft_ms", 500.0], ["target_tpot_ms", 40.0],
          ["burst_factor", 2.5], ["redundancy_mode", "N+1"], [None, None]]


def per_call(fn, n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n


def main() -> None:
    cells.cache_clear()
    u.LLM_REPLICAS(INPUTS)  # warm imports and catalog
    n = 5000
    cached = per_call(lambda i: u.LLM_GPUS([list(r) for r in INPUTS], "burst"), n)
    cached_ovr = per_call(lambda i: u.LLM_GPUS(INPUTS, "burst", "concurrent_users", 200.0), n)
    m = 400
    fresh = per_call(lambda i: u.LLM_GPUS(INPUTS, "burst", "concurrent_users", 1000.0 + i), m)
    fresh_result = per_call(lambda i: u.LLM_RESULT(INPUTS, "memory.vram_gb", "burst",
                                                   "concurrent_users", 5000.0 + i), m)
    kv = per_call(lambda i: u.KV_MEMORY("llama-3.3-70b", 6250.0, 133.0, "fp8"), n)
    sweep_vals = [[float(v)] for v in range(20, 420, 20)]
    cells.cache_clear()
    sweep = per_call(lambda i: u.LLM_SWEEP(INPUTS, "concurrent_users", [[v[0] + i * 1000] for v in sweep_vals],
                                           "total_gpus"), 20)
    print(f"cached cell   (LLM_GPUS over one Inputs range)           {cached * 1e6:8.1f} us/cell")
    print(f"cached cell   (same, with one override pair)             {cached_ovr * 1e6:8.1f} us/cell")
    print(f"fresh sizing  (LLM_GPUS, new inputs every call)          {fresh * 1e3:8.2f} ms/call")
    print(f"fresh sizing  (LLM_RESULT memory.vram_gb, new inputs)    {fresh_result * 1e3:8.2f} ms/call")
    print(f"positional    (KV_MEMORY)                                {kv * 1e6:8.1f} us/cell")
    print(f"sweep         (LLM_SWEEP, 20 fresh values)               {sweep * 1e3:8.2f} ms/table")


if __name__ == "__main__":
    main()
