"""Memory: weights, KV cache, activations, headroom (course.md §4, §10.3 steps 1-2, 4-7).

Formulas:
    weights_bytes        = params × bytes_per_param                        (step 1; MoE counts all)
    kv_bytes_per_token   = 2 × L × H_kv × D_h × b_kv                       (GQA/MHA/MQA, §4)
                         = L × (kv_lora_rank + qk_rope_head_dim) × b_kv    (MLA latent cache)
    kv_bytes(context)    = full layers × per-layer bytes × context
                         + bounded layers × bounded per-layer bytes × min(context, window)
                         + compressed layers × per-layer bytes × (context / ratio + window)
                         + sparse layers × indexer key bytes × context             (DSA)
                         + recurrent layers × fixed state                          (DeltaNet, Mamba-2)
    activations_bytes    = max(2 GB, 5% × weights)                         (step 5, course constant)
    headroom_bytes       = fraction × (weights + KV + activations)        (step 6)

The course multiplies standard-attention KV by 0.1 for MLA; here MLA uses its real latent
width (catalog.md model note 3), which for DeepSeek-V3/R1 is 70,272 B/token at FP16
instead of the course's ~0.1 × a GQA guess.

Hybrid models: only ``attention_layers`` hold KV; linear-attention and Mamba layers hold a
fixed state per sequence (``RecurrentStateSpec``), counted once per request whatever its
length. Models without these fields (every course model) get exactly the formulas above.
"""

from __future__ import annotations

from xlsizer.catalog.schema import ModelSpec
from xlsizer.precision import Precision

ACTIVATION_FLOOR_BYTES: float = 2e9
"""Minimum activation/workspace reserve per replica, bytes. course.md §10.3 step 5."""
ACTIVATION_FRACTION_OF_WEIGHTS: float = 0.05
"""Activation/workspace reserve as a fraction of weight bytes. course.md §10.3 step 5."""


def weights_bytes(params: float, bytes_per_param: float) -> float:
    """Weight memory, bytes, for ``params`` parameters (count, not billions)."""
    return params * bytes_per_param


def dense_weights_precision(model: ModelSpec, prec: Precision) -> Precision:
    """The format a deployment at ``prec`` holds the weights outside the routed experts in
    (attention, shared experts, dense FFN layers, LM head).

    ``prec``, except for a MoE at FP4: the published 4-bit MoE checkpoints quantize the routed
    experts only and keep the rest as the model was released. gpt-oss's MXFP4 release leaves
    ``self_attn``, the router, the embeddings and ``lm_head`` in BF16 (its config.json
    ``quantization_config.modules_to_not_convert``); NVIDIA's NVFP4 releases of DeepSeek-V4,
    Kimi-K2.5, MiniMax-M2.5, GLM-5.1 and Qwen3.5 list attention, shared experts and the head in
    ``quantization_config.ignore`` (shared reference configs/models/nvidia--*-NVFP4.json), so
    those stay in the base checkpoint's format (FP8 for DeepSeek, BF16 for the others). A
    judgement call for a checkpoint that states nothing, configurable per model:
    ``ModelSpec.fp4_scope`` ('all' holds every weight in 4 bits; a dense model's default)."""
    if prec is not Precision.FP4 or model.moe is None:
        return prec
    scope = model.fp4_scope or "routed-experts"
    released = model.weights_precision or Precision.BF16
    if scope == "all" or released is Precision.FP4:
        return prec
    return released


def released_precision(model: ModelSpec) -> Precision:
    """The format the model's release holds its weights in: its routed experts' where they
    differ from the rest (gpt-oss: MXFP4 experts beside 16-bit attention; catalog
    ``expert_weights_precision``), else ``weights_precision`` (16-bit where not stated)."""
    return model.expert_weights_precision or model.weights_precision or Precision.BF16


def upcast_release(model: ModelSpec, prec: Precision) -> Precision | None:
    """The release's format (``released_precision``) where ``prec`` holds the weights in more
    bytes than it (an upcast copy), else None."""
    rel = released_precision(model)
    return rel if prec.bytes_per_element > rel.bytes_per_element else None


def kv_bytes_per_token_per_layer(model: ModelSpec, bytes_per_element: float) -> float:
    """KV-cache bytes one token adds in one full-attention layer (K and V, or the MLA latent).

    K is ``head_dim`` wide and V ``v_head_dim`` (equal unless the config says otherwise); with
    ``k_eq_v`` one tensor serves as both, so it is cached once.
    """
    if model.mla is not None:
        return (model.mla.kv_lora_rank + model.mla.qk_rope_head_dim) * bytes_per_element
    k = model.head_dim
    v = 0 if model.k_eq_v else (model.v_head_dim or model.head_dim)
    return model.kv_heads * (k + v) * bytes_per_element


def bounded_kv_bytes_per_token_per_layer(model: ModelSpec, bytes_per_element: float) -> float:
    """KV bytes one token adds in one sliding-window/chunked layer (its own heads and widths
    where the config gives them, e.g. MiMo's 8 KV heads on window layers vs 4 on full ones)."""
    sw = model.sliding_window
    if sw is None or model.mla is not None:
        return kv_bytes_per_token_per_layer(model, bytes_per_element)
    heads = sw.kv_heads or model.kv_heads
    k = sw.head_dim or model.head_dim
    v = sw.v_head_dim or (sw.head_dim if sw.head_dim else (model.v_head_dim or model.head_dim))
    return heads * (k + v) * bytes_per_element


def _indexer_bytes_per_token(model: ModelSpec, bytes_per_element: float) -> float:
    """Indexer keys of sparse-attention layers, bytes per token (all such layers)."""
    sa = model.sparse_attention
    return sa.layers * sa.index_head_dim * bytes_per_element if sa is not None else 0.0


def kv_bytes_per_token(model: ModelSpec, bytes_per_element: float) -> float:
    """KV-cache bytes per token for the whole model, with every attention layer keeping every
    token (windows ignored: the naive-allocator upper bound).

    Llama 3.1 70B at FP8: 2 × 80 × 8 × 128 × 1 = 163,840 bytes (course.md §4).
    """
    layers = model.attention_layer_count
    bounded = model.sliding_window.bounded_layers if model.sliding_window else 0
    return ((layers - bounded) * kv_bytes_per_token_per_layer(model, bytes_per_element)
            + bounded * bounded_kv_bytes_per_token_per_layer(model, bytes_per_element)
            + _indexer_bytes_per_token(model, bytes_per_element))


def kv_growth_bytes_per_token(model: ModelSpec, bytes_per_element: float) -> float:
    """KV bytes each further token of a long context adds: only layers whose cache grows
    without bound (sliding-window, chunked, linear-attention and Mamba layers add none;
    compressed layers add 1/ratio). ``xlsizer catalog show`` reports it at BF16."""
    per_layer = kv_bytes_per_token_per_layer(model, bytes_per_element)
    compressed = sum(c.layers for c in model.compressed_kv)
    bounded = model.sliding_window.bounded_layers if model.sliding_window else 0
    # compressed layers are counted among the bounded ones when the model has a window
    full = model.attention_layer_count - bounded - (0 if model.sliding_window else compressed)
    growth = full * per_layer + sum(c.layers * per_layer / c.ratio for c in model.compressed_kv)
    return growth + _indexer_bytes_per_token(model, bytes_per_element)


def state_bytes_per_sequence(model: ModelSpec) -> float:
    """Fixed recurrent state one sequence holds (linear-attention / Mamba layers), bytes."""
    return model.recurrent.bytes_per_sequence if model.recurrent is not None else 0.0


def kv_bytes_for_context(
    model: ModelSpec, context_tokens: float, bytes_per_element: float, window_aware: bool = True
) -> float:
    """Cache bytes one sequence of ``context_tokens`` holds: its KV plus any fixed recurrent
    state (the state is per request and does not grow with context).

    With ``window_aware`` (engines with a hybrid KV manager: vLLM, SGLang), sliding-window or
    chunked layers keep at most ``window_tokens``; otherwise every layer keeps every token
    (a naive paged allocator), which is an upper bound.
    """
    state = state_bytes_per_sequence(model)
    sw = model.sliding_window
    if not window_aware:
        return kv_bytes_per_token(model, bytes_per_element) * context_tokens + state
    per_layer = kv_bytes_per_token_per_layer(model, bytes_per_element)
    bounded = sw.bounded_layers if sw is not None else 0
    window = min(context_tokens, sw.window_tokens) if sw is not None else 0.0
    compressed = sum(c.layers for c in model.compressed_kv)
    full = model.attention_layer_count - bounded - (0 if sw is not None else compressed)
    kv = per_layer * full * context_tokens
    kv += bounded * bounded_kv_bytes_per_token_per_layer(model, bytes_per_element) * window
    kv += sum(c.layers * per_layer * context_tokens / c.ratio for c in model.compressed_kv)
    kv += _indexer_bytes_per_token(model, bytes_per_element) * context_tokens
    return kv + state


def activations_bytes(weights: float) -> float:
    """Activation and workspace reserve, bytes: max(2 GB, 5% of weights)."""
    return max(ACTIVATION_FLOOR_BYTES, ACTIVATION_FRACTION_OF_WEIGHTS * weights)


def headroom_bytes(fraction: float, weights: float, kv: float, activations: float) -> float:
    """Headroom on top of weights + KV + activations, bytes."""
    return fraction * (weights + kv + activations)
