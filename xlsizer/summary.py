"""The scenario table a planner reads first, as data: one list of rows shared by the report's
Summary sheet, the Markdown decision log and the CLI table, so the three never disagree.

Each row has a label, a unit in its own column, one value per scenario (Baseline, Burst,
Resilient) and the Excel number format the values are shown in. The first section says what
each scenario adds (load sized for, burst factor with the Resilient floor, spare replicas,
memory headroom), so a planner sees *why* Resilient needs more GPUs than Burst; the cost
section labels every money row with its currency and period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from xlsizer.engine.scenarios import HEADROOM, RESILIENT_MIN_BURST, scenario_burst
from xlsizer.results import SCENARIOS, Scenario, SizingResult

INT = "#,##0"
D1 = "#,##0.0"
D2 = "#,##0.00"
PCT = "0%"
TEXT = "@"

SCENARIO_TITLES: dict[str, str] = {"baseline": "Baseline", "burst": "Burst", "resilient": "Resilient"}
NO_PRICE = "no price"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the scenario table: values in scenario order (None = nothing to show)."""

    label: str
    unit: str
    values: tuple[Any, ...]
    fmt: str = INT
    """Excel number format of the numeric values (text values are written as text)."""
    section: str = ""
    """The section heading this row sits under."""
    key: str = ""
    """Stable name for tests and callers (labels may be reworded)."""


def _cost(s: Scenario) -> dict[str, Any]:
    c = s.extra.get("cost")
    return c if isinstance(c, dict) else {}


def meaning_rows(r: SizingResult) -> list[Row]:
    """What each scenario sizes for and adds (course.md §10.3 steps 6 and 12)."""
    sec = "What each scenario sizes for"
    user = r.inputs.burst_factor
    sc = [r.scenarios[k] for k in SCENARIOS]
    floor = f"peak, at least {RESILIENT_MIN_BURST:g}x"
    return [
        Row("Load sized for", "", ("average", "your peak", floor), TEXT, sec, "load"),
        Row("Burst factor (peak / average)", "x", tuple(scenario_burst(k, user) for k in SCENARIOS), D1, sec,
            "burst_factor"),
        Row("Spare replicas", "replicas", tuple(s.replicas - s.active_replicas for s in sc), INT, sec, "spares"),
        Row("Memory headroom", "of need", tuple(HEADROOM[k] for k in SCENARIOS), PCT, sec, "headroom"),
        Row("Failure domains", "", ("single", "single", "paired"), TEXT, sec, "domains"),
    ]


def perf_value(s: Any, key: str) -> Any:
    """A figure of the scenario's roofline plan, ``extra["perf"][key]``; None where absent (the
    course-table method and overrides have no perf)."""
    return ((s.extra or {}).get("perf") or {}).get(key)


def sizing_rows(r: SizingResult, gpu_names: bool = True) -> list[Row]:
    """The hardware each scenario needs."""
    sec = "Sizing"
    sc = [r.scenarios[k] for k in SCENARIOS]
    shared = any(s.shared_hosts for s in sc)
    rows = [
        Row("GPU", "", tuple(s.gpu_name if gpu_names else s.gpu for s in sc), TEXT, sec, "gpu"),
        Row("GPUs per replica", "GPUs", tuple(s.gpus_per_replica for s in sc), INT, sec, "gpus_per_replica"),
        Row("Active replicas", "replicas", tuple(s.active_replicas for s in sc), INT, sec, "active_replicas"),
        # disaggregated: the active replicas by role (blank rows otherwise, dropped below)
        Row("  of which prefill", "replicas", tuple(perf_value(s, "prefill_replicas") for s in sc), INT, sec,
            "prefill_replicas"),
        Row("  of which decode", "replicas", tuple(perf_value(s, "decode_replicas") for s in sc), INT, sec,
            "decode_replicas"),
        Row("Replicas (active + spares)", "replicas", tuple(s.replicas for s in sc), INT, sec, "replicas"),
        Row("Total GPUs in use", "GPUs", tuple(s.total_gpus for s in sc), INT, sec, "total_gpus"),
        Row("Servers (shared hosts)" if shared else "Servers", "servers",
            tuple(s.servers for s in sc), INT, sec, "servers"),
        # a shared cloud host's other slots are other tenants' GPUs: nothing the plan installs (blank)
        Row("GPUs installed (whole servers)", "GPUs",
            tuple(None if s.shared_hosts else s.servers * s.gpus_per_server for s in sc), INT, sec, "installed_gpus"),
        Row("IT power", "kW", tuple(s.it_kw for s in sc), D1, sec, "it_kw"),
        Row("Facility power", "kW", tuple(s.facility_kw for s in sc), D1, sec, "facility_kw"),
        Row("Racks", "racks", tuple(s.racks for s in sc), INT, sec, "racks"),
        Row("Cooling", "", tuple(s.cooling_tier for s in sc), TEXT, sec, "cooling"),
    ]
    return [row for row in rows if any(v is not None for v in row.values)]


def performance_rows(r: SizingResult) -> list[Row]:
    """One replica at capacity (roofline model); absent in course-table mode."""
    sc = [r.scenarios[k] for k in SCENARIOS]
    perf = [s.extra.get("perf") or {} for s in sc]
    if not any(perf):
        return []
    sec = "One replica at capacity"
    q = r.inputs.slo_percentile
    pools = any("prefill_replicas" in p for p in perf)  # disaggregated: the batch is a decode replica's
    return [
        Row("Sequences per decode replica, mean" if pools else "Sequences per replica, mean", "sequences",
            tuple(p.get("mean_batch") for p in perf), D2, sec, "batch"),
        Row("TPOT at that batch, mean", "ms", tuple(p.get("tpot_ms") for p in perf), D1, sec, "tpot_ms"),
        Row(f"TPOT at that batch, p{q:g}", "ms", tuple(p.get("tpot_q_ms") for p in perf), D1, sec, "tpot_q_ms"),
        Row("TTFT at peak load, mean", "ms", tuple(p.get("ttft_ms") for p in perf), INT, sec, "ttft_ms"),
        Row(f"TTFT at peak load, p{q:g}", "ms", tuple(p.get("ttft_q_ms") for p in perf), INT, sec, "ttft_q_ms"),
    ]


def cost_section(r: SizingResult) -> str:
    c = _cost(r.burst)
    return f"Cost ({c.get('pricing_model', 'n/a')}, {c.get('currency', '')})".replace(", )", ")")


def cost_rows(r: SizingResult) -> list[Row]:
    """Money rows, each with currency and period in its unit; what the bill counts first."""
    sc = [r.scenarios[k] for k in SCENARIOS]
    cs = [_cost(s) for s in sc]
    if not any(cs):
        return []
    c0 = cs[1] or next(c for c in cs if c)
    cur = c0.get("currency", "")
    cloud = c0.get("pricing_model") == "cloud"
    sec = cost_section(r)

    def money(key: str) -> tuple[Any, ...]:
        return tuple(NO_PRICE if c.get("monthly") is None else c.get(key) for c in cs)

    rows = [
        Row("GPUs paid for", "GPUs, rented" if cloud else "GPUs, bought",
            tuple(c.get("gpus_paid") for c in cs), INT, sec, "gpus_paid"),
        Row("Monthly cost", f"{cur}/month", money("monthly"), INT, sec, "monthly"),
    ]
    if cloud and any(c.get("whole_node_gpus", 0) > c.get("gpus_in_use", 0) for c in cs):
        rows.append(Row("Monthly cost, whole nodes", f"{cur}/month", money("monthly_whole_nodes"), INT, sec,
                        "monthly_whole_nodes"))
    rows.append(Row("Annual cost", f"{cur}/year", money("annual"), INT, sec, "annual"))
    if not cloud:
        rows.append(Row("Capex (purchase)", f"{cur}, one-off", money("capex"), INT, sec, "capex"))
    rows += [
        Row("Cost per million tokens", f"{cur}/M tokens", money("per_million_tokens"), D2, sec, "per_million_tokens"),
        Row("Cost per user", f"{cur}/user/month", money("per_user_month"), D2, sec, "per_user_month"),
    ]
    return rows


def summary_rows(r: SizingResult, gpu_names: bool = True) -> list[Row]:
    """The Summary's scenario table: meaning, sizing, cost."""
    return meaning_rows(r) + sizing_rows(r, gpu_names) + cost_rows(r)


def confidence_range(r: SizingResult) -> tuple[tuple[int, int], tuple[float, float] | None] | None:
    """(Burst total GPUs low and high, Burst monthly cost low and high) over the confidence band.

    The band is the performance model's error on a replica's capacity: measured capacity =
    predicted x (1 + e) with e in [low, high]. GPUs needed scale with 1 / capacity, so the
    range is total / (1 + high) to total / (1 + low), rounded up to whole GPUs; the monthly
    cost scales the same way (an approximation: whole servers and power move in steps)."""
    import math

    lo, hi = r.confidence.get("low"), r.confidence.get("high")
    if not isinstance(lo, int | float) or not isinstance(hi, int | float) or lo <= -1:
        return None
    b = r.burst
    gpus = (max(1, math.ceil(b.total_gpus / (1 + hi) - 1e-9)), math.ceil(b.total_gpus / (1 + lo) - 1e-9))
    m = _cost(b).get("monthly")
    money = (m / (1 + hi), m / (1 + lo)) if isinstance(m, int | float) else None
    return gpus, money


def format_value(v: Any, fmt: str) -> str:
    """A value as the Excel format shows it (for text outputs: CLI, Markdown)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        if fmt == PCT:
            return f"{v:.0%}"
        if fmt == D1:
            return f"{v:,.1f}"
        if fmt == D2:
            return f"{v:,.2f}"
        return f"{v:,.0f}"
    return str(v)


# Sources written for developers ("course.md §10.3 step 4", "engine/performance.py") in the
# words a reviewer can look up (document and section). Sources in the catalog and defaults
# data are written readable at the source; these cover the engine's fixed labels.
_SOURCE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bvalidation/calibration\.csv"), "xlsizer validation set"),
    (re.compile(r"\bcourse(?:\.md)? §"), "aisle course, §"),
    (re.compile(r"\bcourse\.md\b"), "aisle course"),
    (re.compile(r"\bcatalog\.md model note (\d+)"), r"xlsizer model catalog, note \1"),
    (re.compile(r"\bdefaults\.yaml server_power\b"), "xlsizer defaults, server power"),
    (re.compile(r"\bdefaults\.yaml\b"), "xlsizer defaults"),
    (re.compile(r"\bengine/\w+\.py:?\s*"), ""),  # "(engine/latency.py: ...)" left "(: ..."
    (re.compile(r";?\s*\bissue \d+\b"), ""),
    (re.compile(r"\s*\(\s*;?\s*\)"), ""),
)


def readable_source(text: Any) -> str:
    """A source in a reviewer's words: document and section, never a code path."""
    out = str(text or "")
    for pat, rep in _SOURCE_WORDS:
        out = pat.sub(rep, out)
    return out.strip()
