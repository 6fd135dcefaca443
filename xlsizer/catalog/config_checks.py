"""Checks on a config.json as a whole, before the importer reads its shapes (issue 24's
fuzzing: 22 of 164 hostile configs ended in an internal error, and inconsistent ones were
accepted). Kept apart from ``hf_config`` (which reads architectures) so each stays short.

``config_problem`` returns one line naming the key, or None; the importer raises it as a
``ConfigError`` (exit 2 on the command line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xlsizer.errors import clip, quote

MAX_CONFIG_NESTING = 64
"""Deepest nesting accepted in a config.json, levels. Real configs nest at most 5
(quantization_config.config_groups.group_0.weights.num_bits); 64 is far above that and far
below Python's recursion limit."""

MAX_CONFIG_INT = 2**63 - 1
"""Largest whole number accepted anywhere in a config.json: the int64 that frameworks read a
config's integers into. Anything larger is not a real setting (and a number of more than 4,300
digits cannot even be printed by Python)."""

BOOLEAN_KEYS: tuple[str, ...] = (
    "tie_word_embeddings", "attention_k_eq_v", "attn_output_gate", "attention_output_gate",
    "mla_use_output_gate", "attention_bias", "qkv_bias", "add_swa_attention_sink_bias",
    "add_full_attention_sink_bias", "use_qk_norm",
)
"""Switches the importer reads as true/false: "yes", 1 or "false" there is a malformed config
(``bool("false")`` is True), refused rather than guessed."""

QUANT_METHODS: frozenset[str] = frozenset({"fp8", "mxfp4", "modelopt", "compressed-tensors"})
"""``quantization_config.quant_method`` values whose weight format the importer reads
(hf_config._precision). Others (gptq, awq, bitsandbytes...) are refused: sizing them as 16-bit
would overstate the weights 2-4x."""


def config_problem(config: Mapping[str, Any]) -> str | None:
    """One line naming what makes ``config`` unusable, or None when it may be imported."""
    problem = _structure(config)
    if problem:
        return problem
    readers: list[tuple[str, Mapping[str, Any]]] = [("config.json", config)]
    if isinstance(config.get("text_config"), Mapping):
        readers.append(("text_config", config["text_config"]))
    for where, d in readers:
        problem = _switches(where, d) or _heads(where, d) or _quantization(where, d)
        if problem:
            return problem
    return None


def _structure(config: Mapping[str, Any]) -> str | None:
    """Nesting depth and integer size, walked without recursion."""
    stack: list[tuple[str, Any, int]] = [("", config, 1)]
    while stack:
        path, v, depth = stack.pop()
        if isinstance(v, Mapping | list | tuple):
            if depth > MAX_CONFIG_NESTING:
                return f"config.json: nested more than {MAX_CONFIG_NESTING} levels deep (at '{clip(path, 80)}')"
            items = v.items() if isinstance(v, Mapping) else enumerate(v)
            for k, x in items:
                stack.append((f"{path}.{k}" if path else str(k), x, depth + 1))
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_CONFIG_INT:
            return f"config.json: key '{clip(path, 80)}' holds {quote(v)}, beyond any real setting"
    return None


def _switches(where: str, d: Mapping[str, Any]) -> str | None:
    for key in BOOLEAN_KEYS:
        v = d.get(key)
        if v is not None and not isinstance(v, bool):
            return f"{where}: key '{key}' must be true or false, got {quote(v)}"
    return None


def _count(v: Any) -> int | None:
    """A positive whole number, or None (the importer's own reader names other values)."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def _heads(where: str, d: Mapping[str, Any]) -> str | None:
    nq = _count(d.get("num_attention_heads"))
    nkv = _count(d.get("num_key_value_heads"))
    h = _count(d.get("hidden_size"))
    if nq and nkv:
        if nkv > nq:
            return (f"{where}: num_key_value_heads ({nkv}) exceeds num_attention_heads ({nq}); each KV head "
                    "serves a group of query heads")
        if nq % nkv:
            return (f"{where}: num_attention_heads ({nq}) is not a multiple of num_key_value_heads ({nkv}); "
                    "each KV head serves an equal group of query heads")
    mla = _count(d.get("kv_lora_rank"))  # MLA heads take their widths from qk_*_head_dim, not hidden_size
    if nq and h and d.get("head_dim") is None and not mla and h % nq:
        return (f"{where}: hidden_size ({h}) is not divisible by num_attention_heads ({nq}) and no head_dim "
                "is given, so the head width is unknown")
    return None


def _quantization(where: str, d: Mapping[str, Any]) -> str | None:
    q = d.get("quantization_config")
    if q is None:
        return None
    if not isinstance(q, Mapping):
        return f"{where}: key 'quantization_config' must be an object (the checkpoint's quantization), got {quote(q)}"
    method, algo = q.get("quant_method"), q.get("quant_algo")
    if method is None and algo is None:
        return f"{where}: quantization_config names neither quant_method nor quant_algo"
    if method is not None and (not isinstance(method, str) or method.lower() not in QUANT_METHODS):
        return (f"{where}: quantization_config.quant_method {quote(method)} is not supported (known: "
                f"{', '.join(sorted(QUANT_METHODS))}); the weight format cannot be told")
    if algo is not None and not isinstance(algo, str):
        return f"{where}: quantization_config.quant_algo must be text, got {quote(algo)}"
    groups = q.get("config_groups")
    if groups is not None and not (isinstance(groups, Mapping)
                                   and all(isinstance(g, Mapping) for g in groups.values())):
        return f"{where}: quantization_config.config_groups must be an object of groups"
    return None
