"""Plain-text rendering of results for the terminal."""

from __future__ import annotations

from xlsizer.engine.insights import drivers, what_ifs
from xlsizer.results import SCENARIOS, Scenario, SizingResult


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


ROWS: list[tuple[str, str]] = [
    ("GPU", "gpu"),
    ("GPUs per replica (TP x PP)", "_par"),
    ("Replicas (active)", "_rep"),
    ("Total GPUs", "total_gpus"),
    ("Servers (replicas/server)", "_srv"),
    ("Throughput per replica, tok/s", "throughput_per_replica_tok_s"),
    ("In-flight requests", "traffic.inflight_requests"),
    ("Demand, tok/s", "traffic.demand_tok_s"),
    ("Weights, GB", "memory.weights_gb"),
    ("KV total, GB", "memory.kv_total_gb"),
    ("VRAM needed, GB", "memory.vram_gb"),
    ("IT power, kW", "it_kw"),
    ("Facility power, kW (PUE)", "_fac"),
    ("Cooling", "cooling_tier"),
    ("Fabric", "fabric"),
    ("Batch per replica", "extra.perf.batch"),
    ("TPOT at capacity, ms", "extra.perf.tpot_ms"),
    ("TTFT at peak, ms", "extra.perf.ttft_ms"),
    ("Binding resource", "extra.perf.binding"),
    ("Cost per month", "extra.cost.monthly"),
    ("Cost per M tokens", "extra.cost.per_million_tokens"),
]


def _cell(sc: Scenario, key: str) -> str:
    if key == "_par":
        return f"{sc.gpus_per_replica} ({sc.tp} x {sc.pp})"
    if key == "_rep":
        return f"{sc.replicas} ({sc.active_replicas})"
    if key == "_srv":
        return f"{sc.servers} ({sc.replicas_per_server})"
    if key == "_fac":
        return f"{sc.facility_kw:,.1f} ({sc.pue:g})"
    obj: object = sc
    for part in key.split("."):
        obj = obj.get(part, "") if isinstance(obj, dict) else getattr(obj, part, "")
    return "" if obj is None else _fmt(obj)


def result_table(r: SizingResult, what_if: bool = True) -> str:
    """Three scenarios side by side, then the headline, warnings, drivers and what-ifs."""
    head = ["", *[n.capitalize() for n in SCENARIOS]]
    body = [[label, *[_cell(r.scenarios[n], key) for n in SCENARIOS]] for label, key in ROWS]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    widths = [min(w, 40) for w in widths]
    lines = ["  ".join(c[:widths[i]].ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", r.headline]
    conf = r.confidence
    lines.append(f"Confidence: {conf['low']:+.0%} / {conf['high']:+.0%} ({conf['source']})")
    if r.warnings:
        lines += ["", "Warnings:"] + [f"  - {w}" for w in r.warnings]
    lines += ["", "Drivers (Burst):"] + [f"  - {d}" for d in drivers(r)]
    if what_if:
        lines += ["", "What would change the answer (Burst, re-sized):"]
        for w in what_ifs(r.inputs):
            now = r.burst.total_gpus
            lines.append(f"  - {w.change}: " + (f"{w.total_gpus} GPUs ({w.total_gpus - now:+d})"
                                               if w.total_gpus is not None else w.error))
    return "\n".join(lines)
