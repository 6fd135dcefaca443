"""Serving engines as data: memory policy, sequence and token limits per engine
(``catalog/data/engines.yaml``, each value with its source)."""

from __future__ import annotations

from dataclasses import dataclass

from xlsizer.catalog.loader import read_data_file
from xlsizer.errors import InputError

# --- serving engines: memory policy, sequence and token limits (sourced, not fitted) -----


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """How a serving engine uses memory and how much it runs in one step (its defaults)."""

    name: str
    kv_fraction: float
    """Share of device memory for weights + activations + KV (``of_free`` False), or share of
    what weights and activations leave that goes to KV (``of_free`` True)."""
    of_free: bool
    max_seqs_large: int
    """Running-sequence cap on GPUs with ≥ 70 GiB (vLLM: except A100)."""
    max_seqs_small: int
    token_budget_large: int
    """Tokens one step may process (prefill chunk + decode), GPUs with ≥ 70 GiB."""
    token_budget_small: int
    source: str
    prefill_first: bool = False
    """The scheduler runs a batch of waiting prompts before the running decodes (SGLang) rather
    than decodes first with prompts in the rest of the token budget (vLLM, TensorRT-LLM)."""
    scheduler_source: str = ""
    """Where ``prefill_first`` comes from (the engine's scheduler source)."""
    step_overhead_s: float = 0.0
    """Fixed time per engine step on top of the calibrated overheads (scheduler, sampling,
    what CUDA graphs do not hide), s; fitted on public rows (calibration.yaml)."""


def _load() -> tuple[dict[str, EngineProfile], dict[str, str]]:
    data = read_data_file("engines.yaml")["engines"]
    engines: dict[str, EngineProfile] = {}
    aliases: dict[str, str] = {}
    for name, e in data.items():
        engines[name] = EngineProfile(
            name, float(e["kv_fraction"]), bool(e["of_free"]), int(e["max_seqs_large"]),
            int(e["max_seqs_small"]), int(e["token_budget_large"]), int(e["token_budget_small"]),
            " ".join(str(e["source"]).split()), bool(e["prefill_first"]),
            " ".join(str(e["scheduler_source"]).split()),
            float(e.get("speed", {}).get("step_overhead_s", {}).get("value", 0.0)))
        for alias in e.get("aliases", [name]):
            aliases[str(alias)] = name
    return engines, aliases


ENGINES, ENGINE_ALIASES = _load()


def engine_profile(engine: str) -> EngineProfile:
    """The profile for an engine name or alias, case-insensitive, a version suffix allowed
    ("vLLM 0.6.0", "tensorrt-llm-1.0"); InputError if unknown."""
    name = str(engine).strip().lower().replace(" ", "-")
    key = ENGINE_ALIASES.get(name)
    if key is None:
        for alias in sorted(ENGINE_ALIASES, key=len, reverse=True):
            if name.startswith(alias) and not name[len(alias):len(alias) + 1].isalpha():
                key = ENGINE_ALIASES[alias]
                break
    if key is None:
        raise InputError("engine", engine, f"one of {', '.join(sorted(ENGINE_ALIASES))}")
    return ENGINES[key]
