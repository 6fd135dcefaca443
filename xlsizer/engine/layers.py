"""The model's layers as a decode or prefill step meets them, read from the catalog's
per-layer architecture facts (``catalog/schema.py``, docs/catalog.md). Pure functions.

A model's mixer layers are of a few kinds, each with its own cost per step:

- **Full attention**: a decode query reads every cached token's K and V (or MLA latent);
  the attention math is 2 × heads × (d_qk + d_v) FLOPs per (query, cached token)
  (scores QKᵀ and the weighted sum PV, one multiply-add = 2 FLOPs). MLA decodes in the
  absorbed form over its latent: 2 × heads × (2 × kv_lora_rank + qk_rope_head_dim)
  (DeepSeek-V2 paper §2.1.2 "absorbed" W_UK/W_UV; FlashMLA), and prefills in the
  expanded form, d_qk = qk_nope_head_dim + qk_rope_head_dim, d_v = v_head_dim.
- **Sliding-window / chunked layers** read at most their window, with their own KV heads
  and head widths where the config gives them (MiMo, Gemma 4).
- **Compressed-KV layers** (DeepSeek-V4 ``compress_ratios``) cache one entry per ``ratio``
  tokens (and keep the model's window uncompressed, counted with the window layers).
- **Sparse attention** (DeepSeek sparse attention, MiniMax-M3 block-sparse) reads at most
  ``topk_tokens`` cached entries per query; its lightning indexer reads every token's small
  index key and scores it: 2 × index_heads × index_head_dim FLOPs per (query, token)
  (DeepSeek-V3.2-Exp report §2.1).
- **Recurrent layers** (gated DeltaNet, Kimi delta attention, lightning attention, Mamba-1
  and Mamba-2: Jamba, Nemotron-H, Falcon-H1) hold a fixed state per sequence: a decode step
  reads it and writes it back (2 × its bytes, SSM plus conv state; bytes per sequence per
  step, whatever the context) and does about ``RECURRENT_FLOPS_PER_STATE_ELEMENT`` FLOPs per
  state element per token. Their projections (Mamba in/out_proj, conv) are weights like any
  layer's, streamed once per step and counted in the model's parameters.

Feed-forward blocks: routed experts have 3 weight matrices when gated (SwiGLU: gate, up,
down) and 2 when not (Nemotron-H's squared-ReLU experts); ``ffn_matrices`` decides from the
published parameter count (the gated count would exceed it). Latent experts work in
``expert_hidden_size`` instead of ``hidden_size``.

Every figure below is per token or per cached entry for the whole model (all its layers of
that kind), before any split across GPUs; ``step._build_replica`` divides by tensor and
pipeline parallelism.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from xlsizer.catalog.schema import ModelSpec
from xlsizer.engine.memory import (
    bounded_kv_bytes_per_token_per_layer,
    dense_weights_precision,
    kv_bytes_per_token_per_layer,
    weights_bytes,
)
from xlsizer.precision import Precision

RECURRENT_FLOPS_PER_STATE_ELEMENT: float = 6.0
"""FLOPs per recurrent-state element per token, dimensionless count. Gated delta rule
(Yang et al. 2024, "Gated Delta Networks", eq. 5): kᵀS (2), the decayed rank-1 update
S ← αS + β k vᵀ (2 with the decay folded in, +1 for the decay), the readout qᵀS (2): about 6-7.
Mamba-2's SSD recurrence and Mamba-1's selective scan (h ← exp(Δ·A)·h + Δ·B·x, then
y = C·h; Gu & Dao 2023, Algorithm 2) are about the same. 6 is the lower figure;
decode is bound by reading the state, not by this math."""

GATED_FFN_MATRICES: int = 3
"""Weight matrices of a gated (SwiGLU/GeGLU) FFN: gate, up, down (Llama, Mixtral, Qwen,
DeepSeek, gpt-oss configs)."""

PLAIN_FFN_MATRICES: int = 2
"""Weight matrices of a non-gated FFN: up, down (Nemotron-H's relu² experts)."""


class AttnTerm(NamedTuple):
    """One kind of attention work: ``layers`` layers, each query touching
    ``scale × min(context, cap)`` cached entries (context in tokens)."""

    layers: float
    """How many layers do this (count)."""
    cap: float
    """Context tokens beyond which the entries touched stop growing (window, or top-k × ratio
    for sparse selection); inf if none."""
    scale: float
    """Cached entries per context token (1 / compression ratio; 1 if uncompressed)."""
    entry_bytes: float
    """Bytes one cached entry holds in one layer, whole model (all KV heads), at the KV
    precision."""
    kv_heads: int
    """KV heads the entry spans (0: one latent shared by all heads, MLA or indexer keys:
    replicated on every tensor-parallel rank)."""
    decode_flops: float
    """Decode attention FLOPs per (query token, entry touched) in one layer, all heads."""
    prefill_flops: float
    """Prefill attention FLOPs per (query token, entry touched) in one layer, all heads."""
    cached: bool = True
    """False for a term that only reads (a sparse layer's top-k, whose cache is the
    uncapped term beside it)."""


def ffn_matrices(model: ModelSpec) -> int:
    """Weight matrices per routed expert (count): 3 for gated experts unless that would make
    the routed experts alone outnumber the model's published parameters, then 2 (non-gated,
    e.g. Nemotron-H's squared ReLU: 3 matrices would give 1.4x its total)."""
    moe = model.moe
    if moe is None:
        return GATED_FFN_MATRICES
    h = moe.expert_hidden_size or model.hidden_size
    gated = moe.moe_layers * moe.experts * GATED_FFN_MATRICES * h * moe.expert_intermediate_size
    return GATED_FFN_MATRICES if gated <= model.total_params else PLAIN_FFN_MATRICES


ELEMENTWISE_BYTES_PER_ELEMENT: float = 2.0
"""Bytes per activation element the element-wise kernels read and write (``elementwise_bytes``):
activations stay BF16 between the GEMMs with FP8/FP4 weights, and aiconfigurator counts its
``ElementWise`` operations at dim × 2 bytes in and out (sdk/models/llama.py)."""


def tensor_parallel_refusal(model: ModelSpec, tp: int) -> str | None:
    """Why serving engines refuse to split ``model``'s attention over ``tp`` GPUs, or None.

    Tensor parallelism gives each GPU whole attention heads: vLLM refuses a tp that does not
    divide the attention heads ("Total number of attention heads (28) must be divisible by
    tensor parallel size", ``ModelConfig.verify_with_parallel_config``), and splits the KV
    heads evenly when there are at least tp of them, else replicates each on tp / KV heads
    GPUs (``QKVParallelLinear``: both divisions must be exact); SGLang and TensorRT-LLM shard
    heads the same way. So Qwen2.5-7B (28 heads) runs at tp 1, 2 or 4, not 8, and Phi-4
    (40 heads, 10 KV heads) at tp 1 or 2. A custom model's query heads are an estimate
    (resolve.py), so only its KV heads, which the user gave, are held to this."""
    if tp <= 1:
        return None
    heads, kv = model.attention_heads, model.kv_heads
    if heads % tp and model.id != "custom":
        return f"its {heads} attention heads do not split evenly over {tp} GPUs"
    if kv and (kv % tp if tp < kv else tp % kv):
        return f"its {kv} KV heads neither split evenly over {tp} GPUs nor replicate evenly on them"
    return None


def elementwise_bytes(model: ModelSpec, tp: int) -> float:
    """HBM bytes one GPU of a tensor-parallel group moves per token, over all layers, in the
    element-wise kernels between the GEMMs (aiconfigurator's ``ElementWise`` operations,
    github.com/ai-dynamo/aiconfigurator sdk/models/llama.py ``add_norm_1``, ``add_norm_2``,
    ``act_gate``): every block's residual add and norm, 2h elements in and 2h out, which each
    tensor-parallel rank runs on the whole hidden state; every dense FFN's activation, gated
    2I in and I out (else I and I), and the shared experts' alike, split over the ranks. A
    GEMM's own inputs and outputs move inside its kernel, under its math; the routed experts'
    activations are ``moe.routed_activation_bytes``."""
    h = model.hidden_size
    norms = (mixer_blocks(model) + ffn_blocks(model)) * 4.0 * h
    act = model.dense_ffn_layer_count * ffn_matrices(model) * (model.intermediate_size or 0)
    moe = model.moe
    if moe is not None and moe.shared_experts:
        act += moe.moe_layers * moe.shared_experts * GATED_FFN_MATRICES * moe.shared_width
    return (norms + act / max(tp, 1)) * ELEMENTWISE_BYTES_PER_ELEMENT


def expert_params(model: ModelSpec) -> float:
    """Parameters of one routed expert in one layer (count): matrices × width × expert FFN
    width, in the latent width for latent experts."""
    moe = model.moe
    if moe is None:
        return 0.0
    h = moe.expert_hidden_size or model.hidden_size
    return float(ffn_matrices(model) * h * moe.expert_intermediate_size)


def gathered_embedding_params(model: ModelSpec) -> float:
    """Parameters of the input embedding a step only looks up (count): vocabulary × hidden
    size, neither streamed nor multiplied; 0 for a tied model, whose one matrix is also its
    output head (``ModelSpec.tied_embeddings``), streamed and multiplied every pass."""
    return 0.0 if model.tied_embeddings else float(model.vocab_size * model.hidden_size)


def multiplied_active_params(model: ModelSpec) -> float:
    """Active parameters a token multiplies (count; the routed experts' active share included):
    the active count less the input embedding it only looks up (``gathered_embedding_params``),
    and never below half the active count (a hand-written count smaller than its embedding)."""
    return max(model.active_params - gathered_embedding_params(model), 0.5 * model.active_params)


def output_head_params(model: ModelSpec) -> float:
    """Parameters of the output head (count): vocabulary × hidden size, its own matrix or the
    input embedding it is tied to. It is multiplied only for tokens whose next token is
    sampled: every decode (and draft) token, and the last token of each prompt; engines
    compute no logits for the rest of a prompt (vLLM's ``logits_indices``, TensorRT-LLM without
    ``gather_context_logits``, SGLang without input log-probabilities)."""
    return float(model.vocab_size * model.hidden_size)


ROUTED_SHARE_CAP: float = 0.98
"""Most of a MoE's parameters counted as routed experts, as a share of its stated total, for a
model whose total was not counted from its config (a hand-written row, a custom model): expert
shapes times counts can exceed a total a card states (rounding, shared weights), and attention,
embeddings and the head are never nothing."""


def routed_params(model: ModelSpec) -> float:
    """Parameters of all routed experts (count; 0 for a dense model), from the expert shapes.

    Where the importer counted the model's total from the same config
    (``computed_total_params_b``), the routed share is the config's own, applied to the stated
    total (which may round: Llama-4-Scout 109 B stated, 107.8 B counted), so attention, dense
    layers and the head keep exactly their count. Elsewhere at most ``ROUTED_SHARE_CAP`` of the
    total. (The cap applied to every model held Kimi-K2's routed share at 0.98 where its
    config says 0.9886, streaming 8.8 B of experts as dense weights every step.)"""
    moe = model.moe
    if moe is None:
        return 0.0
    raw = moe.moe_layers * moe.experts * expert_params(model)
    counted = model.computed_total_params_b
    if counted:
        return raw * model.total_params_b / counted
    return min(raw, ROUTED_SHARE_CAP * model.total_params)


def deployed_weights_bytes(model: ModelSpec, prec: Precision, params: float | None = None) -> float:
    """Weight bytes of ``params`` parameters (default: all of them) of ``model`` deployed at
    ``prec``, at the course's bytes per element (no block scales): a MoE at FP4 holds its
    routed experts in 4 bits and the rest as released (``memory.dense_weights_precision``);
    every non-expert weight is among the active ones, so ``params`` = the active parameters
    gives the bytes read per token."""
    n = model.total_params if params is None else params
    other = model.total_params - routed_params(model)
    dense = dense_weights_precision(model, prec)
    return weights_bytes(n, prec.bytes_per_element) + other * (dense.bytes_per_element - prec.bytes_per_element)


def _qk_v(model: ModelSpec) -> tuple[int, int]:
    """(d_qk, d_v) per head of a full layer in the expanded (prefill) form, elements."""
    mla = model.mla
    if mla is not None:
        qk = (mla.qk_nope_head_dim or model.head_dim) + mla.qk_rope_head_dim
        return qk, mla.v_head_dim or model.head_dim
    return model.head_dim, model.v_head_dim or model.head_dim


def attention_terms(model: ModelSpec, kv_bytes_per_element: float) -> tuple[AttnTerm, ...]:
    """The model's attention work by kind (see the module docstring), whole model.

    Layer counts: full layers = attention layers − window layers − (compressed layers when
    the model has no window; with one, DeepSeek-V4's compressed layers are among its window
    layers and add their compressed entries on top). Sparse selection caps first the full
    layers, then the compressed ones (lowest ratio first) at top-k entries.
    """
    heads = model.attention_heads
    per_layer = kv_bytes_per_token_per_layer(model, kv_bytes_per_element)
    qk, v = _qk_v(model)
    pre = 2.0 * heads * (qk + v)
    mla = model.mla
    if mla is not None:
        dec = 2.0 * heads * (2 * mla.kv_lora_rank + mla.qk_rope_head_dim)
        kvh = 0
    else:
        dec = pre
        kvh = model.kv_heads
    sw = model.sliding_window
    bounded = sw.bounded_layers if sw else 0
    compressed = sum(c.layers for c in model.compressed_kv)
    full = model.attention_layer_count - bounded - (0 if sw else compressed)
    full = max(full, 0)
    sa = model.sparse_attention
    sparse_left = sa.layers if sa else 0
    topk = float(sa.topk_tokens) if sa else math.inf

    terms: list[AttnTerm] = []

    def add(layers: float, scale: float, cap_tokens: float) -> None:
        """``layers`` layers of full-shape entries at ``scale`` entries per token, sparse
        selection capping as many of them as it covers."""
        nonlocal sparse_left
        if layers <= 0:
            return
        capped = min(layers, sparse_left)
        sparse_left -= capped
        if capped:  # cached in full, read at most top-k entries
            terms.append(AttnTerm(capped, math.inf, scale, per_layer, kvh, 0.0, 0.0, True))
            terms.append(AttnTerm(capped, min(cap_tokens, topk / scale), scale, per_layer, kvh,
                                  dec, pre, False))
        if layers - capped:
            terms.append(AttnTerm(layers - capped, cap_tokens, scale, per_layer, kvh, dec, pre))

    add(full, 1.0, math.inf)
    for c in sorted(model.compressed_kv, key=lambda c: c.ratio):
        add(c.layers, 1.0 / c.ratio, math.inf)
    if bounded:
        assert sw is not None
        wk = sw.head_dim or (model.head_dim if mla is None else qk)
        wv = sw.v_head_dim or (sw.head_dim if sw.head_dim else v)
        wpre = 2.0 * heads * (wk + wv)
        wdec = dec if (mla is not None and not sw.head_dim) else wpre
        terms.append(AttnTerm(bounded, float(sw.window_tokens), 1.0,
                              bounded_kv_bytes_per_token_per_layer(model, kv_bytes_per_element),
                              0 if mla is not None else (sw.kv_heads or model.kv_heads),
                              wdec, wpre))
    if sa is not None and sa.index_head_dim:
        idx = 2.0 * max(sa.index_heads, 1) * sa.index_head_dim
        terms.append(AttnTerm(sa.layers, math.inf, 1.0, sa.index_head_dim * kv_bytes_per_element,
                              0, idx, idx))
    return tuple(terms)


def recurrent_bytes_per_step(model: ModelSpec) -> float:
    """Bytes one sequence's recurrent state moves in one decode step, whole model: read once
    and written back once (2 × state bytes); 0 without recurrent layers."""
    rec = model.recurrent
    return 2.0 * rec.bytes_per_sequence if rec is not None else 0.0


def recurrent_flops_per_token(model: ModelSpec) -> float:
    """Recurrent-layer FLOPs per token, whole model (state update and readout)."""
    rec = model.recurrent
    if rec is None:
        return 0.0
    return RECURRENT_FLOPS_PER_STATE_ELEMENT * rec.state_elements_per_layer * rec.layers


def mixer_blocks(model: ModelSpec) -> int:
    """Token-mixing blocks (attention or recurrent), count: every layer unless the config
    names attention and recurrent layers separately (hybrids)."""
    if model.attention_layers is None:
        return model.layers
    rec = model.recurrent.layers if model.recurrent is not None else 0
    return min(model.attention_layer_count + rec, model.layers)


def ffn_blocks(model: ModelSpec) -> int:
    """Feed-forward blocks (dense FFN or MoE), count (Nemotron-H: only its MoE blocks)."""
    moe_layers = model.moe.moe_layers if model.moe is not None else 0
    return model.dense_ffn_layer_count + moe_layers
