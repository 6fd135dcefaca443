"""The optimization waterfall: start with every optimization off, switch them on one at a time
in a stated order, and report what each step does to one scenario (burst by default).

"Everything off" is a naive deployment: BF16 weights and KV cache (compute at the weights'
format), static batching, KV reserved up to the max context per request (no paging), no
prefix caching, no speculative decoding, each fine-tuned variant on a deployment of its own,
no KV offload, prefill and decode on the same GPUs. The order then follows the seed module
(quantization first; then batching and memory management, which every serving engine has;
then the request-level techniques; then the course's "honourable mentions"). A step appears
only when the user's inputs switch that optimization on, and its "on" value is the user's own
(e.g. their precision), so the last row is the user's sizing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlsizer.errors import XlsizerError
from xlsizer.inputs import SizingInputs
from xlsizer.precision import Precision
from xlsizer.results import replica_shape

# (label, field, value when off). The "on" value is the user's input. Fields that the inputs
# model does not have are skipped, so new optimizations only need a line here.
STEPS: tuple[tuple[str, str, Any], ...] = (
    ("Low-precision weights", "precision", Precision.BF16),
    ("Low-precision KV cache", "kv_cache_dtype", Precision.BF16),
    ("Compute precision", "compute_precision", "auto"),
    ("Continuous batching", "continuous_batching", False),
    ("PagedAttention", "paged_attention", False),
    ("Prefix caching", "prefix_caching", False),
    ("Speculative decoding", "speculative_decoding", False),
    ("LoRA adapters (shared deployment)", "lora_enabled", False),
    ("KV offload to CPU memory", "kv_offload", False),
    ("Disaggregated prefill/decode", "disaggregated", False),
)


@dataclass(frozen=True, slots=True)
class WaterfallStep:
    label: str
    field: str
    value: Any
    replicas: int
    total_gpus: int
    gpus_per_replica: int
    gpu: str
    throughput_per_replica_tok_s: float
    """Input + output tokens/s one replica carries under the SLOs."""
    vram_gb: float
    """Memory the deployment needs for the scenario's in-flight requests (course VRAM plan)."""
    memory_per_replica_gb: float = 0.0
    """Weights + activations + adapters/drafter/prefix + KV of the sized batch, one replica."""
    kv_per_request_gb: float = 0.0
    note: str = ""
    """Why the step has no sizing (e.g. infeasible with everything off)."""
    monthly_cost: float | None = None
    """The scenario's monthly cost at this step (engine/cost.py; None when a price is unknown)."""
    currency: str = ""
    """The currency of ``monthly_cost`` (the input's label, per month)."""
    shape: str = ""
    """How a replica's GPUs split the model: "TP=8", "TP=4, PP=2" or "DEP=8" (attention
    data-parallel, experts over the replica's GPUs)."""


def _is_on(field: str, value: Any, off: Any) -> bool:
    if field in ("precision", "kv_cache_dtype"):
        return Precision(value).bytes_per_element < Precision(off).bytes_per_element
    if field == "lora_enabled":
        return bool(value)
    return value != off


def waterfall(inputs: SizingInputs, scenario: str = "burst") -> list[WaterfallStep]:
    """Sizing with all optimizations off, then each of the user's switched on in turn."""
    from xlsizer.engine.pipeline import size

    fields = SizingInputs.model_fields
    active = [(label, f, off) for label, f, off in STEPS if f in fields]
    user = {f: getattr(inputs, f) for _, f, _ in active}
    if "kv_cache_dtype" in user:
        user["kv_cache_dtype"] = inputs.kv_precision  # resolve 'auto'
    on_steps = [(label, f, off) for label, f, off in active if _is_on(f, user[f], off)]
    if getattr(inputs, "lora_variants", 1) <= 1:
        on_steps = [s for s in on_steps if s[1] != "lora_enabled"]  # one variant: nothing to share
    state = {f: off for _, f, off in active}
    out: list[WaterfallStep] = []

    def record(label: str, field: str, value: Any) -> None:
        try:
            s = size(inputs.model_copy(update=state)).scenarios[scenario]
        except XlsizerError as exc:
            out.append(WaterfallStep(label, field, value, 0, 0, 0, "", 0.0, 0.0, note=exc.short(),
                                     currency=inputs.currency))
            return
        perf = s.extra.get("perf", {})
        monthly = (s.extra.get("cost") or {}).get("monthly")
        out.append(WaterfallStep(label, field, value, s.replicas, s.total_gpus, s.gpus_per_replica, s.gpu,
                                 s.throughput_per_replica_tok_s, s.memory.vram_gb,
                                 float(perf.get("memory_per_replica_gb", 0.0)), s.memory.kv_per_request_gb,
                                 monthly_cost=monthly, currency=inputs.currency, shape=replica_shape(s)))

    record("Everything off", "", None)
    for label, f, _ in on_steps:
        state[f] = user[f]
        record(label, f, user[f])
    return out


def _way(a: float, b: float) -> int:
    return (b > a) - (b < a)


def step_notes(steps: list[WaterfallStep]) -> list[str]:
    """For each step, a note where replicas, GPUs and cost move in opposite directions against the
    step before (a planner reading "replicas up" would otherwise expect more GPUs), and where the
    same GPUs per replica split the model another way (TP or DEP), which can lower the
    throughput per replica at an unchanged cost."""
    out: list[str] = []
    prev: WaterfallStep | None = None
    for s in steps:
        notes: list[str] = []
        if prev is not None and not s.note and not prev.note:
            r, g = _way(prev.replicas, s.replicas), _way(prev.total_gpus, s.total_gpus)
            if r * g < 0:
                notes.append(f"replicas {'rise' if r > 0 else 'fall'} ({prev.replicas} -> {s.replicas}) but GPUs "
                             f"{'rise' if g > 0 else 'fall'} ({prev.total_gpus} -> {s.total_gpus}): each replica now "
                             f"uses {s.gpus_per_replica}x {s.gpu} instead of {prev.gpus_per_replica}x {prev.gpu}")
            if s.monthly_cost is not None and prev.monthly_cost is not None:
                c = _way(prev.monthly_cost, s.monthly_cost)
                if c * g < 0:
                    notes.append(f"GPUs {'rise' if g > 0 else 'fall'} but cost {'rises' if c > 0 else 'falls'}: "
                                 f"{s.gpu} instead of {prev.gpu}, priced differently"
                                 if s.gpu != prev.gpu else
                                 f"GPUs {'rise' if g > 0 else 'fall'} but cost {'rises' if c > 0 else 'falls'}: "
                                 "whole servers and power move in steps")
            same_gpus = (s.gpu, s.gpus_per_replica) == (prev.gpu, prev.gpus_per_replica)
            if same_gpus and s.shape and prev.shape and s.shape != prev.shape:
                a, b = prev.throughput_per_replica_tok_s, s.throughput_per_replica_tok_s
                why = (f", {b:,.0f} tok/s each instead of {a:,.0f}: the same GPU count either way, and at equal "
                       "cost the search keeps the first shape it lists" if b < a and g == 0 else "")
                notes.append(f"each {s.gpus_per_replica}x {s.gpu} replica now runs {s.shape} instead of "
                             f"{prev.shape}{why}")
        out.append("; ".join(notes))
        prev = s
    return out


def waterfall_table(steps: list[WaterfallStep]) -> str:
    """The waterfall as a fixed-width text table (the CLI's output, under 100 columns), with the
    notes where replicas, GPUs and cost move in opposite directions below the table."""
    cur = next((s.currency for s in steps if s.currency), "")
    cost_head = f"{cur}/month" if cur else "cost/month"  # the money's unit, as every other cost column
    cw = max(11, len(cost_head))
    head = (f"{'step':<34} {'replicas':>8} {'GPUs':>5} {'config':>13} {cost_head:>{cw}} {'tok/s/replica':>13} "
            f"{'GB/replica':>10}")
    lines = [head, "-" * len(head)]
    notes = step_notes(steps)
    for s in steps:
        if s.note:
            lines.append(f"{s.label[:34]:<34} {s.note}")
            continue
        cost = f"{s.monthly_cost:,.0f}" if s.monthly_cost is not None else "no price"
        lines.append(f"{s.label[:34]:<34} {s.replicas:>8} {s.total_gpus:>5} {f'{s.gpus_per_replica}x {s.gpu}':>13} "
                     f"{cost:>{cw}} {s.throughput_per_replica_tok_s:>13,.0f} {s.memory_per_replica_gb:>10,.1f}")
    marked = [(s.label, n) for s, n in zip(steps, notes, strict=True) if n]
    if marked:
        lines += ["", "Notes:"]
        for label, n in marked:
            lines += _wrap(f"{label}: {n}", 98, "  - ", "    ")
    return "\n".join(lines)


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest) or [first.rstrip()]
