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
            out.append(WaterfallStep(label, field, value, 0, 0, 0, "", 0.0, 0.0, note=exc.short()))
            return
        perf = s.extra.get("perf", {})
        out.append(WaterfallStep(label, field, value, s.replicas, s.total_gpus, s.gpus_per_replica, s.gpu,
                                 s.throughput_per_replica_tok_s, s.memory.vram_gb,
                                 float(perf.get("memory_per_replica_gb", 0.0)), s.memory.kv_per_request_gb))

    record("Everything off", "", None)
    for label, f, _ in on_steps:
        state[f] = user[f]
        record(label, f, user[f])
    return out


def waterfall_table(steps: list[WaterfallStep]) -> str:
    """The waterfall as a fixed-width text table (the CLI's output)."""
    head = (f"{'step':<36} {'replicas':>8} {'GPUs':>6} {'config':>14} {'tok/s/replica':>14} {'GB/replica':>11} "
            f"{'VRAM GB':>9}")
    lines = [head, "-" * len(head)]
    for s in steps:
        if s.note:
            lines.append(f"{s.label:<36} {s.note}")
            continue
        lines.append(f"{s.label:<36} {s.replicas:>8} {s.total_gpus:>6} {f'{s.gpus_per_replica}x {s.gpu}':>14} "
                     f"{s.throughput_per_replica_tok_s:>14,.0f} {s.memory_per_replica_gb:>11,.1f} {s.vram_gb:>9,.1f}")
    return "\n".join(lines)
