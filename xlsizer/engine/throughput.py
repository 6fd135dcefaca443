"""Throughput per replica from the course Sizer's reference table (course.md §10.3 step 11).

    tok/s = table[bucket, gpu, n] × engine × 0.5^(pp-1) × (2.0 if speculative)
    with n not in the table: table[bucket, gpu, n0] × (n / n0) × tp_eff(n) / tp_eff(n0)

This is ``throughput_source="course-table"``: the course's numbers, kept so that its
answers can be reproduced. The table has no row for many GPU/size pairs (A100, L40S at 70B,
H100 at 405B+...); there xlsizer scales the nearest listed GPU of the same size bucket by
memory-bandwidth ratio (decode is bandwidth-bound, course.md §2) and says so in a warning,
where the course's code falls back to a silent constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec

_T = read_data_file("defaults.yaml")["throughput_table"]
TP_EFFICIENCY: dict[int, float] = {int(k): float(v) for k, v in _T["tp_efficiency"].items()}
ENGINE_MULTIPLIER: dict[str, float] = {k: float(v) for k, v in _T["engine_multiplier"].items()}
PIPELINE_STAGE_FACTOR: float = float(_T["pipeline_stage_factor"])
SPECULATIVE_FACTOR: float = float(_T["speculative_factor"])
BUCKETS: list[tuple[float, str]] = [(float(b["max_params_b"]), b["name"]) for b in _T["buckets"]]
ROWS: dict[tuple[str, str], dict[int, float]] = {}
for _r in _T["rows"]:
    ROWS.setdefault((_r["bucket"], _r["gpu"]), {})[int(_r["gpus"])] = float(_r["tok_s"])


@dataclass(frozen=True, slots=True)
class TableThroughput:
    tok_s: float
    bucket: str
    basis: str
    """Which table row it came from and how it was scaled, for the explanation."""
    extrapolated: bool


def size_bucket(params_b: float) -> str:
    """The course's model-size bucket for a parameter count in billions."""
    for limit, name in BUCKETS:
        if params_b <= limit:
            return name
    return BUCKETS[-1][1]


def tp_efficiency(n: int) -> float:
    """Tensor-parallel efficiency for n GPUs (course table; 0.75 beyond 8)."""
    if n in TP_EFFICIENCY:
        return TP_EFFICIENCY[n]
    return TP_EFFICIENCY[max(k for k in TP_EFFICIENCY if k <= n)] if n > 1 else 1.0


def _base(bucket: str, gpu: GpuSpec, n: int) -> TableThroughput:
    return _base_cached(bucket, gpu.id, gpu.memory_bandwidth_tb_s, n)


@lru_cache(maxsize=1024)
def _base_cached(bucket: str, gpu_id: str, bandwidth_tb_s: float, n: int) -> TableThroughput:
    rows = ROWS.get((bucket, gpu_id))
    bw_scale = 1.0
    source_gpu = gpu_id
    extrapolated = False
    if rows is None:
        # nearest listed GPU in this bucket by memory bandwidth
        cat = load_catalog()
        listed = [g for (b, g) in ROWS if b == bucket]
        ref = min(listed, key=lambda g: abs(cat.gpu(g).memory_bandwidth_tb_s - bandwidth_tb_s))
        rows = ROWS[(bucket, ref)]
        bw_scale = bandwidth_tb_s / cat.gpu(ref).memory_bandwidth_tb_s
        source_gpu = ref
        extrapolated = True
    n0 = n if n in rows else min(rows, key=lambda k: (abs(k - n), -k))
    tok = rows[n0] * bw_scale
    basis = f"table {bucket} {n0}x {source_gpu} = {rows[n0]:,.0f} tok/s"
    if bw_scale != 1.0:
        basis += f" x bandwidth ratio {bw_scale:.2f}"
    if n0 != n:
        tok *= (n / n0) * tp_efficiency(n) / tp_efficiency(n0)
        basis += f" x ({n}/{n0}) x tp_eff {tp_efficiency(n):.2f}/{tp_efficiency(n0):.2f}"
    return TableThroughput(tok, bucket, basis, extrapolated)


def course_table_throughput(
    params_b: float, gpu: GpuSpec, gpus_per_replica: int, pp: int, engine: str, speculative: bool
) -> TableThroughput:
    """Tokens/s per replica by the course's table and multipliers."""
    bucket = size_bucket(params_b)
    base = _base(bucket, gpu, gpus_per_replica)
    tok = base.tok_s * ENGINE_MULTIPLIER[engine] * PIPELINE_STAGE_FACTOR ** (pp - 1)
    basis = base.basis + f" x engine {ENGINE_MULTIPLIER[engine]:g}"
    if pp > 1:
        basis += f" x {PIPELINE_STAGE_FACTOR:g}^{pp - 1} (pipeline)"
    if speculative:
        tok *= SPECULATIVE_FACTOR
        basis += f" x {SPECULATIVE_FACTOR:g} (speculative)"
    return TableThroughput(tok, bucket, basis, base.extrapolated)
