"""Memory: weights, KV cache, activations, headroom (course.md §4, §10.3 steps 1-2, 4-7).

Formulas:
    weights_bytes        = params × bytes_per_param                        (step 1; MoE counts all)
    kv_bytes_per_token   = 2 × L × H_kv × D_h × b_kv                       (GQA/MHA/MQA, §4)
                         = L × (kv_lora_rank + qk_rope_head_dim) × b_kv    (MLA latent cache)
    kv_bytes(context)    = full layers × per-layer bytes × context
                         + bounded layers × per-layer bytes × min(context, window)   (sliding/chunked)
    activations_bytes    = max(2 GB, 5% × weights)                         (step 5, course constant)
    headroom_bytes       = fraction × (weights + KV + activations)        (step 6)

The course multiplies standard-attention KV by 0.1 for MLA; here MLA uses its real latent
width (catalog.md model note 3), which for DeepSeek-V3/R1 is 70,272 B/token at FP16
instead of the course's ~0.1 × a GQA guess.
"""

from __future__ import annotations

from xlsizer.catalog.schema import ModelSpec

ACTIVATION_FLOOR_BYTES: float = 2e9
"""Minimum activation/workspace reserve per replica, bytes. course.md §10.3 step 5."""
ACTIVATION_FRACTION_OF_WEIGHTS: float = 0.05
"""Activation/workspace reserve as a fraction of weight bytes. course.md §10.3 step 5."""


def weights_bytes(params: float, bytes_per_param: float) -> float:
    """Weight memory, bytes, for ``params`` parameters (count, not billions)."""
    return params * bytes_per_param


def kv_bytes_per_token_per_layer(model: ModelSpec, bytes_per_element: float) -> float:
    """KV-cache bytes one token adds in one attention layer (K and V, or the MLA latent)."""
    if model.mla is not None:
        return (model.mla.kv_lora_rank + model.mla.qk_rope_head_dim) * bytes_per_element
    return 2.0 * model.kv_heads * model.head_dim * bytes_per_element


def kv_bytes_per_token(model: ModelSpec, bytes_per_element: float) -> float:
    """KV-cache bytes per token for the whole model, with every layer keeping every token.

    Llama 3.1 70B at FP8: 2 × 80 × 8 × 128 × 1 = 163,840 bytes (course.md §4).
    """
    return model.layers * kv_bytes_per_token_per_layer(model, bytes_per_element)


def kv_bytes_for_context(
    model: ModelSpec, context_tokens: float, bytes_per_element: float, window_aware: bool = True
) -> float:
    """KV-cache bytes one sequence of ``context_tokens`` holds.

    With ``window_aware`` (engines with a hybrid KV manager: vLLM, SGLang), sliding-window or
    chunked layers keep at most ``window_tokens``; otherwise every layer keeps every token
    (a naive paged allocator), which is an upper bound.
    """
    per_layer = kv_bytes_per_token_per_layer(model, bytes_per_element)
    sw = model.sliding_window
    if sw is None or not window_aware:
        return model.layers * per_layer * context_tokens
    full_layers = model.layers - sw.bounded_layers
    return per_layer * (
        full_layers * context_tokens + sw.bounded_layers * min(context_tokens, sw.window_tokens)
    )


def activations_bytes(weights: float) -> float:
    """Activation and workspace reserve, bytes: max(2 GB, 5% of weights)."""
    return max(ACTIVATION_FLOOR_BYTES, ACTIVATION_FRACTION_OF_WEIGHTS * weights)


def headroom_bytes(fraction: float, weights: float, kv: float, activations: float) -> float:
    """Headroom on top of weights + KV + activations, bytes."""
    return fraction * (weights + kv + activations)
