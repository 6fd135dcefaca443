"""The optimization waterfall: start with every optimization off, switch them on one at a time
in a stated order, and report what each step does to the burst scenario.

The order follows the seed module's table (quantization first, then batching and memory
management, then the request-level techniques). A step appears only when the user's inputs
switch that optimization on; its "on" value is the user's own (e.g. their precision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlsizer.inputs import SizingInputs
from xlsizer.precision import Precision

# (label, field, value when off). The "on" value is the user's input. Fields that the inputs
# model does not have (yet) are skipped, so new optimizations only need a line here.
STEPS: tuple[tuple[str, str, Any], ...] = (
    ("FP8/low-precision weights", "precision", Precision.BF16),
    ("Low-precision KV cache", "kv_cache_dtype", Precision.BF16),
    ("Continuous batching", "continuous_batching", False),
    ("PagedAttention", "paged_attention", False),
    ("Prefix caching", "prefix_caching", False),
    ("Speculative decoding", "speculative_decoding", False),
    ("LoRA adapters (shared deployment)", "lora", False),
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
    vram_gb: float


def _is_on(field: str, value: Any, off: Any) -> bool:
    if field == "precision":
        return Precision(value).bytes_per_element < Precision(off).bytes_per_element
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
    state = {f: off for _, f, off in active}
    out: list[WaterfallStep] = []

    def record(label: str, field: str, value: Any) -> None:
        s = size(inputs.model_copy(update=state)).scenarios[scenario]
        out.append(WaterfallStep(label, field, value, s.replicas, s.total_gpus, s.gpus_per_replica, s.gpu,
                                 s.throughput_per_replica_tok_s, s.memory.vram_gb))

    record("Everything off", "", None)
    for label, f, _ in on_steps:
        state[f] = user[f]
        record(label, f, user[f])
    return out
