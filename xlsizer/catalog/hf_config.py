"""Hugging Face ``config.json`` -> ``ModelSpec``: a model enters the catalog from its config alone.

What the importer does
----------------------
* Reads the text model (a nested ``text_config`` when there is one; vision and audio towers
  are ignored, with a note), lays the model out layer by layer (which token mixer: full,
  sliding-window or chunked attention, linear attention, Mamba-2, or none; which FFN: dense,
  MoE, both or none) and counts parameters from the tensor shapes that layout implies,
  never from the model's name.
* Fills the ``ModelSpec`` architecture fields the memory and performance models use (MLA
  latent, sliding-window layers with their own heads, K=V sharing, recurrent state per
  sequence, sparse-attention indexer, compressed KV, MoE layout, MTP layers, release
  precision).
* Refuses what it does not understand: a missing required key or a key it does not know
  is one line naming the key (``ConfigError``), never a silently wrong number.

Which keys are understood
-------------------------
A key is accepted when the importer reads it (the layout and shape keys below), or when it
is listed in ``IGNORED_KEYS`` / matches ``IGNORED_PATTERNS`` (token ids, dropout, norm
epsilons, rotary-embedding settings, router loss coefficients, generation defaults: values
that change neither parameter count nor cache size), or when its value is empty (null,
false, 0, [] or {}: an absent feature). Any other key is refused, because it may change the
architecture; add it to one of the two lists (with a reason) once its effect is known.

Judgement calls (all stated in the spec's notes when they apply)
----------------------------------------------------------------
* Norm weights, biases, routers, gates and indexers are counted; hyper-connection mixing
  weights (DeepSeek-V4 ``hc_mult``) are not (well under 0.1% of the total).
* DeepSeek-V4 layers with ``compress_ratio`` 0 are taken to keep an uncompressed, unbounded
  KV cache (the conservative reading for memory sizing).
* K=V sharing (``attention_k_eq_v``) caches one tensor for K and V on full-attention layers,
  as the model defines; an engine that stores both anyway needs twice that.
* Multi-token-prediction layers are reported separately (``mtp_layers``, ``mtp_params_b``)
  and are not in ``total_params_b``, as vendors count them.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xlsizer.catalog.bounded import MAX_CONFIG_BYTES, read_regular_file
from xlsizer.catalog.config_checks import config_problem
from xlsizer.catalog.schema import (
    MAX_NUMBER,
    CompressedKvSpec,
    MlaSpec,
    ModelSpec,
    MoeSpec,
    QuantizedRelease,
    RecurrentStateSpec,
    SlidingWindowSpec,
    SparseAttentionSpec,
)
from xlsizer.errors import XlsizerError
from xlsizer.precision import Precision


class ConfigError(XlsizerError, ValueError):
    """A config.json the importer cannot turn into a model: one line naming the key."""


# --------------------------------------------------------------------------- known keys
IGNORED_KEYS: frozenset[str] = frozenset({
    # bookkeeping and loading
    "architectures", "model_type", "transformers_version", "_name_or_path", "auto_map",
    "torch_dtype", "dtype", "use_cache", "tokenizer_class", "id2label", "label2id",
    "ignore_index", "image_placeholder", "video_placeholder", "use_unified_vision_chunk",
    "vision_soft_tokens_per_image", "use_bidirectional_attention", "language_model_only",
    "initializer_range", "pretraining_tp", "ep_size", "use_mamba_kernels", "num_logits_to_keep",
    "mamba_proj_bias", "use_conv_bias", "use_bias", "moe_router_dtype", "initial_context_length",
    # numerics that change no shape: scaling, clipping, activation constants, norm style
    "routed_scaling_factor", "moe_router_scaling_factor", "norm_topk_prob", "topk_method",
    "moe_renormalize", "moe_router_activation_func", "swiglu_limit", "swiglu_alpha",
    "attention_value_scale", "final_logit_softcapping", "attn_logit_softcapping",
    "query_pre_attn_scalar", "use_gemma_norm", "rescale_prenorm_residual", "residual_in_fp32",
    "time_step_floor", "time_step_limit", "time_step_max", "time_step_min", "chunk_size",
    "activation_situ_beta", "activation_situ_linear_beta", "hc_eps", "hc_sinkhorn_iters",
    "latent_moe_use_norm", "moe_shared_expert_overlap", "seq_aux", "mla_use_nope",
    "index_share_for_mtp_iteration", "index_skip_topk_offset", "index_topk_pattern",
    "sparse_disable_index_value", "sparse_score_type", "sparse_init_block", "attn_res_block_size",
    "output_router_logits", "router_aux_loss_coef", "aux_loss_alpha", "router_jitter_noise",
    "use_routing_bias", "use_moe_router_bias", "sliding_window_size", "hybrid_layer_pattern_note",
    "mamba_chunk_size", "mamba_norm_before_gate", "_from_model_config",
    # Granite: NoPE/RoPE choice and the output logit divisor change no shape
    "position_embedding_type", "logits_scaling",
    # generation defaults (PretrainedConfig)
    "bad_words_ids", "begin_suppress_tokens", "chunk_size_feed_forward", "cross_attention_hidden_size",
    "decoder_start_token_id", "diversity_penalty", "do_sample", "early_stopping",
    "encoder_no_repeat_ngram_size", "exponential_decay_length_penalty", "finetuning_task",
    "forced_bos_token_id", "forced_eos_token_id", "is_decoder", "is_encoder_decoder",
    "length_penalty", "max_length", "min_length", "no_repeat_ngram_size", "num_beam_groups",
    "num_beams", "num_return_sequences", "output_attentions", "output_hidden_states",
    "output_scores", "prefix", "problem_type", "pruned_heads", "remove_invalid_values",
    "repetition_penalty", "return_dict", "return_dict_in_generate", "sep_token_id",
    "suppress_tokens", "task_specific_params", "temperature", "tf_legacy_loss",
    "tie_encoder_decoder", "top_k", "top_p", "torchscript", "typical_p", "use_bfloat16",
    "add_cross_attention",
})
"""Keys that change neither parameter count nor cache size (see module docstring)."""

IGNORED_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    r"_token_id$", r"_token_ids$", r"_token_index$", r"dropout", r"_eps$", r"epsilon",
    r"^rope", r"rope_theta$", r"rotary", r"^mrope", r"rope_interleave$", r"^max_window_layers$",
    r"multiplier",
))
"""Token ids, dropout, norm epsilons, rotary-embedding settings (position encoding does not
change parameter count or cache size) and muP scaling constants (Falcon-H1, Granite:
``embedding_multiplier``, ``ssm_multipliers``...: scalars applied to activations, no weights)."""

GATED_ACTIVATIONS: frozenset[str] = frozenset({
    "silu", "swish", "gelu", "gelu_pytorch_tanh", "gelu_new", "swigluoai", "situ",
})
"""FFN activations used in gated form (gate, up and down matrices: 3 per FFN)."""
PLAIN_ACTIVATIONS: frozenset[str] = frozenset({"relu2", "relu"})
"""FFN activations used without a gate (up and down matrices: 2 per FFN; Nemotron-H)."""

IMPLICIT_SHARED_EXPERTS: dict[str, int] = {"llama4_text": 1, "llama4": 1}
"""Model types whose MoE layers always have a shared expert their config does not state
(Llama 4: ``Llama4TextMoe.shared_expert``, HF transformers)."""

LLAMA4_NO_ROPE_INTERVAL = 4
"""Llama 4 (iRoPE): every 4th layer is global NoPE attention, the others chunked local
(HF ``Llama4TextConfig.no_rope_layer_interval`` default 4)."""

WEIGHT_SUFFIXES: tuple[tuple[str, Precision], ...] = (
    ("-fp8-static-pertensor", Precision.FP8), ("-fp8-dynamic", Precision.FP8),
    ("-nvfp4", Precision.FP4), ("-mxfp4", Precision.FP4), ("-fp4", Precision.FP4),
    ("-fp8", Precision.FP8), ("-bf16", Precision.BF16), ("-int4", Precision.INT4),
)
"""Name endings of a quantized (or explicitly 16-bit) release and the precision they name."""


MAX_DIMENSION = MAX_NUMBER
"""Largest whole number a shape key may hold (10^10, the catalog schema's bound): far above any
real width or count, low enough that a typo is refused instead of sized."""
MAX_LAYERS = 10_000
"""Largest layer count accepted (the largest published models have under 200)."""


# --------------------------------------------------------------------------- reading
class _Cfg:
    """A config mapping that remembers which keys were read."""

    def __init__(self, data: Mapping[str, Any], where: str):
        self.d = data
        self.where = where
        self.used: set[str] = set()

    def has(self, key: str) -> bool:
        return self.d.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        v = self.d.get(key)
        return default if v is None else v

    def num(self, key: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_DIMENSION) -> int:
        v = self.get(key)
        if v is None:
            if default is None:
                raise ConfigError(f"{self.where}: missing key '{key}'")
            return default
        if not _is_whole(v) or not minimum <= v <= maximum:
            raise ConfigError(f"{self.where}: key '{key}' must be a whole number from {minimum} to {maximum}, "
                              f"got {v!r}")
        return int(v)

    def first_num(self, *keys: str, default: int | None = 0, minimum: int = 0) -> int | None:
        """The first of ``keys`` present, as a checked whole number (``default`` if none is)."""
        out: int | None = None
        for k in keys:
            if self.has(k) and out is None:
                out = self.num(k, minimum=minimum)
            self.used.add(k)
        return default if out is None else out

    def first(self, *keys: str) -> Any:
        """The value of the first key present (all are marked read)."""
        out = None
        for k in keys:
            v = self.get(k)
            if out is None and v is not None:
                out = v
        return out

    def unknown(self) -> list[str]:
        return [k for k, v in self.d.items() if k not in self.used and _unknown(k, v)]


def _is_whole(v: Any) -> bool:
    """A whole number (an int, or a float holding one); never True, NaN or an infinity."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return isinstance(v, int) or (math.isfinite(v) and v.is_integer())


def _whole(value: Any, what: str, minimum: int = 0) -> int:
    """A whole number read from a list or nested block, or ``ConfigError`` naming it."""
    if not _is_whole(value) or value < minimum:
        raise ConfigError(f"config.json: '{what}' must hold whole numbers >= {minimum}, got {value!r}")
    return int(value)


def _unknown(key: str, value: Any) -> bool:
    if key in IGNORED_KEYS or any(p.search(key) for p in IGNORED_PATTERNS):
        return False
    return value not in (None, False, 0, [], {}, "")


# --------------------------------------------------------------------------- layout
@dataclass
class _Layer:
    mixer: str = "full"  # full | sliding | chunked | linear | mamba | none
    ssm: bool = False  # a Mamba branch beside the attention in the same layer (Falcon-H1)
    ffn: str = "dense"  # dense | moe | dense+moe | none
    dense_width: int = 0
    kv_heads: int | None = None  # per-layer override (DeciLM)
    window: int | None = None  # per-layer override (DeciLM)
    indexer: bool = False  # keeps its own sparse-attention indexer keys
    sparse: bool = False
    compress: int = 0


@dataclass
class ImportedModel:
    """The importer's answer: the spec, what it noted, and the parameter breakdown."""

    spec: ModelSpec
    notes: tuple[str, ...]
    params: dict[str, float] = field(default_factory=dict)
    release: QuantizedRelease | None = None
    base_id: str = ""


def model_id_from_name(name: str) -> str:
    """Catalog id from a repository name: the part after the organisation, lowercased, with
    '_' as '-' (``MiniMaxAI/MiniMax-M2.5`` -> ``minimax-m2.5``; ``Org--Name.json`` files too)."""
    base = Path(name).name
    if base.endswith(".json"):
        base = base[: -len(".json")]
    base = base.split("--", 1)[-1].split("/")[-1]
    mid = re.sub(r"[^a-z0-9.\-]+", "-", base.strip().lower().replace("_", "-")).strip("-.")
    if not mid:
        raise ConfigError(f"cannot make a model id from {name!r}; give one with --id")
    return mid


def split_release(model_id: str) -> tuple[str, Precision | None]:
    """(base id, precision) for a quantized-release id: ``qwen3-32b-fp8`` -> (``qwen3-32b``, fp8)."""
    for suffix, prec in WEIGHT_SUFFIXES:
        if model_id.endswith(suffix) and len(model_id) > len(suffix):
            return model_id[: -len(suffix)], prec
    return model_id, None


def _act_gated(c: _Cfg, *keys: str) -> bool:
    act = str(c.first(*keys) or "silu").lower()
    if act in GATED_ACTIVATIONS:
        return True
    if act in PLAIN_ACTIVATIONS:
        return False
    raise ConfigError(f"{c.where}: unknown activation {act!r} in '{keys[0]}' (cannot tell gated from plain FFN)")


def _list(c: _Cfg, key: str, n: int) -> list[Any] | None:
    v = c.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        v = list(v)
    if not isinstance(v, list) or len(v) < n:
        raise ConfigError(f"{c.where}: key '{key}' must list at least {n} layers")
    return v[:n]


def _layout(c: _Cfg, n: int, notes: list[str]) -> list[_Layer]:
    """Per-layer token mixer and FFN kind, from whichever layout key the config uses."""
    layers = [_Layer() for _ in range(n)]
    if c.has("block_configs"):  # DeciLM / Nemotron-NAS: a block per layer
        blocks = _list(c, "block_configs", n) or []
        heads = c.num("num_attention_heads")
        hidden = c.num("hidden_size")
        for lay, b in zip(layers, blocks, strict=True):
            if not isinstance(b, Mapping) or not isinstance(b.get("attention"), Mapping) \
                    or not isinstance(b.get("ffn"), Mapping):
                raise ConfigError(f"{c.where}: each 'block_configs' entry needs 'attention' and 'ffn' blocks")
            att, ffn = b["attention"], b["ffn"]
            if any(part.get(k) for part in (att, ffn) for k in ("replace_with_linear", "sparsify")):
                raise ConfigError(f"{c.where}: block_configs 'replace_with_linear'/'sparsify' blocks are not supported")
            if att.get("no_op"):
                lay.mixer = "none"
            else:
                group = _whole(att.get("n_heads_in_group"), "block_configs.attention.n_heads_in_group", 1)
                lay.kv_heads = max(heads // group, 1)
                if att.get("window_length"):
                    lay.mixer = "sliding"
                    lay.window = _whole(att["window_length"], "block_configs.attention.window_length", 1)
            if ffn.get("no_op"):
                lay.ffn = "none"
            else:  # DeciLM _ffn_mult_to_intermediate_size: multiple of 256 above 2/3 * mult * hidden
                mult = ffn.get("ffn_mult")
                if isinstance(mult, bool) or not isinstance(mult, (int, float)) or not 0 < mult < math.inf:
                    raise ConfigError(f"{c.where}: 'block_configs.ffn.ffn_mult' must be a positive number, "
                                      f"got {mult!r}")
                width = int(2 * float(mult) * hidden / 3)
                lay.dense_width = math.ceil(width / 256) * 256
        notes.append("per-layer block_configs (Nemotron-NAS): attention skipped where no_op, FFN width per layer")
        return layers
    pattern = c.get("hybrid_override_pattern")
    types = c.get("layers_block_type")
    if pattern is not None or types is not None:  # Nemotron-H: one mixer OR one FFN per layer
        if not isinstance(pattern if pattern is not None else types, (str, list)):
            raise ConfigError(f"{c.where}: the hybrid layer pattern must be a string or a list")
        kinds = list(pattern) if pattern is not None else list(types)
        if len(kinds) != n:
            raise ConfigError(f"{c.where}: layer pattern has {len(kinds)} entries for {n} layers")
        table = {"M": ("mamba", "none"), "*": ("full", "none"), "E": ("none", "moe"), "-": ("none", "dense"),
                 "mamba": ("mamba", "none"), "attention": ("full", "none"), "moe": ("none", "moe"),
                 "mlp": ("none", "dense")}
        for lay, k in zip(layers, kinds, strict=True):
            if not isinstance(k, str) or k not in table:
                raise ConfigError(f"{c.where}: unknown layer kind {k!r} in the hybrid layer pattern")
            lay.mixer, lay.ffn = table[k]
        return layers
    if c.has("attn_layer_period"):  # Jamba: attention every period-th layer from the offset, Mamba between
        period, offset = c.num("attn_layer_period"), c.num("attn_layer_offset", 0, minimum=0)
        e_period, e_offset = c.num("expert_layer_period", 1), c.num("expert_layer_offset", 0, minimum=0)
        moe = c.first_num("num_experts", "num_local_experts") or 0
        for i, lay in enumerate(layers):
            lay.mixer = "full" if i % period == offset else "mamba"
            lay.ffn = "moe" if moe > 1 and i % e_period == e_offset else "dense"
        notes.append(f"Jamba layout: attention on layers i % {period} == {offset}, Mamba elsewhere; MoE FFN on "
                     f"layers i % {e_period} == {e_offset} (HF JambaConfig)")
        return layers
    if str(c.get("model_type") or "") == "falcon_h1" or c.has("mamba_d_ssm"):
        if c.get("attn_layer_indices"):
            raise ConfigError(f"{c.where}: key 'attn_layer_indices' (attention on some layers only) is not supported")
        if not c.get("mamba_use_mlp", True):
            raise ConfigError(f"{c.where}: key 'mamba_use_mlp' false (layers without an FFN) is not supported")
        for lay in layers:  # parallel hybrid: attention and a Mamba-2 branch side by side, then the FFN
            lay.ssm = True
        notes.append("parallel hybrid (Falcon-H1): every layer has attention and a Mamba-2 branch side by side")
        return layers
    lt = _list(c, "layer_types", n)
    if lt is not None:
        table = {"full_attention": "full", "sliding_attention": "sliding", "linear_attention": "linear",
                 "chunked_attention": "chunked", "attention": "full", "mamba": "mamba",
                 "deepseek_sparse_attention": "full"}  # DSA: full attention read through an indexer
        for lay, t in zip(layers, lt, strict=True):
            if not isinstance(t, str) or t not in table:
                raise ConfigError(f"{c.where}: unknown layer type {t!r} in 'layer_types'")
            lay.mixer = table[t]
        c.get("full_attention_interval")
    elif c.has("full_attention_interval"):  # Qwen3-Next: HF Qwen3NextConfig.layer_types default
        every = c.num("full_attention_interval")
        for i, lay in enumerate(layers):
            lay.mixer = "full" if (i + 1) % every == 0 else "linear"
    elif (hp := _list(c, "hybrid_layer_pattern", n)) is not None:  # MiMo: 0 full, 1 sliding
        for lay, t in zip(layers, hp, strict=True):
            lay.mixer = "sliding" if _whole(t, "hybrid_layer_pattern") == 1 else "full"
    elif isinstance(lac := c.get("linear_attn_config"), dict):  # Kimi linear: 1-based layer lists
        listed = lac.get("full_attn_layers") or []
        if not isinstance(listed, list):
            raise ConfigError(f"{c.where}: 'linear_attn_config.full_attn_layers' must list layer numbers")
        full = {_whole(i, "linear_attn_config.full_attn_layers") for i in listed}
        for i, lay in enumerate(layers):
            lay.mixer = "full" if (i + 1) in full else "linear"
    elif (atl := _list(c, "attn_type_list", n)) is not None:  # MiniMax: 1 softmax, 0 lightning
        for lay, t in zip(layers, atl, strict=True):
            lay.mixer = "full" if _whole(t, "attn_type_list") == 1 else "linear"
    elif (cr := c.get("compress_ratios")) is not None:  # DeepSeek-V4
        if not isinstance(cr, list) or len(cr) < n:
            raise ConfigError(f"{c.where}: key 'compress_ratios' must list at least {n} layers")
        window = c.get("sliding_window")
        for lay, r in zip(layers, cr[:n], strict=True):
            lay.compress = _whole(r, "compress_ratios")
            lay.mixer = "sliding" if window and lay.compress > 1 else "full"
        if any(lay.compress == 0 for lay in layers):
            notes.append("layers with compress_ratio 0 are taken to keep an uncompressed, unbounded KV cache "
                         "(conservative)")
    elif c.has("attention_chunk_size"):  # Llama 4 iRoPE
        for i, lay in enumerate(layers):
            lay.mixer = "full" if (i + 1) % LLAMA4_NO_ROPE_INTERVAL == 0 else "chunked"
        notes.append(f"every {LLAMA4_NO_ROPE_INTERVAL}th layer global NoPE attention, the others chunked local "
                     "(Llama 4 iRoPE)")
    elif c.has("sliding_window") and c.get("use_sliding_window", True):
        first = c.get("max_window_layers", 0) if "use_sliding_window" in c.d else 0
        for i, lay in enumerate(layers):
            lay.mixer = "sliding" if i >= first else "full"
    else:
        c.get("use_sliding_window")
        c.get("sliding_window")
    return layers


def _ffn_layout(c: _Cfg, layers: list[_Layer], experts: int) -> None:
    """Mark which layers have MoE, when the mixer layout did not already say."""
    n = len(layers)
    if any(lay.ffn in ("moe", "none") for lay in layers) or c.has("block_configs"):
        return  # hybrid pattern or block configs already decided
    if experts <= 1:
        return
    if c.get("enable_moe_block") is not None:  # Gemma 4: dense MLP and MoE block in every layer
        if c.get("enable_moe_block"):
            for lay in layers:
                lay.ffn = "dense+moe"
        return
    mlt = _list(c, "mlp_layer_types", n)
    freq = c.get("moe_layer_freq")
    c.get("first_k_dense_replace")  # superseded by an explicit per-layer list when there is one
    if mlt is not None:
        moe = [t == "sparse" for t in mlt]
        if not all(t in ("dense", "sparse") for t in mlt):
            raise ConfigError(f"{c.where}: unknown value in 'mlp_layer_types' (expected dense/sparse)")
    elif isinstance(freq, list):
        moe = [bool(_whole(x, "moe_layer_freq")) for x in freq[:n]]
        if len(moe) < n:
            raise ConfigError(f"{c.where}: key 'moe_layer_freq' must list {n} layers")
        c.get("first_k_dense_replace")
    elif c.has("first_k_dense_replace") or isinstance(freq, int):
        k = c.num("first_k_dense_replace", 0, minimum=0)
        f = _whole(freq or 1, "moe_layer_freq", 1)
        moe = [i >= k and i % f == 0 for i in range(n)]
    elif c.has("decoder_sparse_step") or c.has("mlp_only_layers"):
        step = c.num("decoder_sparse_step", 1)
        only_raw = c.get("mlp_only_layers", [])
        if not isinstance(only_raw, list):
            raise ConfigError(f"{c.where}: key 'mlp_only_layers' must be a list of layer numbers")
        only = {_whole(i, "mlp_only_layers") for i in only_raw}
        moe = [i not in only and (i + 1) % step == 0 for i in range(n)]
    elif c.has("interleave_moe_layer_step"):
        step = c.num("interleave_moe_layer_step", 1)
        moe = [(i + 1) % step == 0 for i in range(n)]
    else:
        moe = [True] * n
    for lay, m in zip(layers, moe, strict=True):
        lay.ffn = "moe" if m else "dense"


# --------------------------------------------------------------------------- import
def load_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a config.json; ``ConfigError`` with one line when it is not readable JSON."""
    p = Path(path)
    try:  # a regular file of bounded size only: `add-model /dev/zero` read until memory ran out
        data = json.loads(read_regular_file(p, MAX_CONFIG_BYTES))
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: file not found") from exc
    except RecursionError:
        raise ConfigError(f"{p}: not a readable JSON config (nested too deeply)") from None
    except (OSError, ValueError) as exc:  # also not UTF-8, too large, an integer of > 4,300 digits
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].split("; use sys.")[0]
        raise ConfigError(f"{p}: not a readable JSON config ({reason})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a JSON object")
    return data


def import_config(
    config: Mapping[str, Any], name: str, *, model_id: str | None = None, source: str = ""
) -> ImportedModel:
    """Turn one config.json mapping into a catalog ``ModelSpec``.

    ``name`` is the repository or file name (``Qwen/Qwen3-32B``, ``Qwen--Qwen3-32B.json``): it
    gives the id (unless ``model_id`` is given) and, for a quantized release such as
    ``...-FP8`` or ``...-NVFP4``, the base model's id and the release precision. Parameters are
    counted from the shapes the config implies, never from the name.
    """
    if not isinstance(config, Mapping):
        raise ConfigError("config.json: expected a JSON object")
    problem = config_problem(config)  # depth, huge numbers, inconsistent heads, malformed switches
    if problem:
        raise ConfigError(problem)
    notes: list[str] = []
    top = _Cfg(config, "config.json")
    readers = [top]
    if isinstance(config.get("text_config"), Mapping):
        c = _Cfg(config["text_config"], "text_config")
        readers.append(c)
        top.get("text_config")
        notes.append("architecture read from the nested text_config")
    else:
        c = top
    for tower in ("vision_config", "audio_config", "speech_config"):
        if top.get(tower):
            notes.append(f"{tower.split('_')[0]} tower ignored (sizing covers the text model)")

    full_id = model_id or model_id_from_name(name)
    base_id, name_precision = split_release(full_id)
    if model_id is not None:
        base_id, name_precision = model_id, None

    try:
        spec_kw, params = _architecture(c, top, notes)
    except ValidationError as exc:
        raise _invalid(exc) from None
    weights, experts_prec, release_prec = _precision(top, c, name_precision, notes)
    for r in readers:
        bad = r.unknown()
        if bad:
            raise ConfigError(
                f"{r.where}: unknown key '{bad[0]}' (the importer does not know how it changes "
                "the architecture; refusing rather than guessing)"
            )
    display = Path(name).name.removesuffix(".json").split("--", 1)[-1].split("/")[-1]
    org = Path(name).name.split("--", 1)[0] if "--" in Path(name).name else ""
    release = None
    if release_prec is not None and full_id != base_id:
        release = QuantizedRelease(alias=full_id, precision=release_prec,
                                   source=source or f"config.json of {org + '/' if org else ''}{display}")
    src = source or (f"https://huggingface.co/{org}/{display}/blob/main/config.json" if org else name)
    try:
        spec = _spec(base_id, display, release, c, top, src, notes, weights, experts_prec, spec_kw)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return ImportedModel(spec=spec, notes=tuple(dict.fromkeys(notes)), params=params, release=release,
                         base_id=base_id)


def _invalid(exc: ValidationError) -> ConfigError:
    """One line for values that are each well-formed but do not make a model together."""
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or exc.title
    return ConfigError(f"config.json: the values do not make a valid model ({loc}: {err['msg']})")


def _spec(base_id: str, display: str, release: QuantizedRelease | None, c: _Cfg, top: _Cfg, src: str,
          notes: list[str], weights: Precision | None, experts_prec: Precision | None,
          spec_kw: dict[str, Any]) -> ModelSpec:
    return ModelSpec(
        id=base_id,
        name=_strip_suffix(display) if release else display,
        family=str(c.get("model_type") or top.get("model_type") or "unknown"),
        aliases=(),
        sources=(src,),
        notes="; ".join(dict.fromkeys(notes)),
        weights_precision=weights,
        expert_weights_precision=experts_prec,
        quantized_releases=(release,) if release else (),
        **spec_kw,
    )


def _strip_suffix(display: str) -> str:
    low = display.lower()
    for suffix, _ in WEIGHT_SUFFIXES:
        if low.endswith(suffix):
            return display[: -len(suffix)]
    return display


def _precision(top: _Cfg, c: _Cfg, from_name: Precision | None, notes: list[str]
               ) -> tuple[Precision | None, Precision | None, Precision | None]:
    """(base weights, routed experts if different, release precision) from the config's
    quantization block, ``expert_dtype`` and dtype, and the release name."""
    q = top.get("quantization_config") or c.get("quantization_config")
    dtype = str(top.first("torch_dtype", "dtype") or c.first("torch_dtype", "dtype") or "bfloat16")
    base = {"bfloat16": Precision.BF16, "float16": Precision.FP16}.get(dtype, Precision.BF16)
    experts: Precision | None = None
    quant: Precision | None = None
    if isinstance(q, Mapping):
        method = str(q.get("quant_method", "")).lower()
        algo = str(q.get("quant_algo", "") or q.get("moe_quant_algo", "")).upper()
        fmt = str(q.get("format", "")).lower()
        if method == "mxfp4":
            experts = Precision.FP4
            notes.append("MoE experts released in MXFP4; attention, router and embeddings in 16-bit")
        elif "NVFP4" in algo or "mxfp4" in fmt or "nvfp4" in fmt:
            quant = Precision.FP4
        elif method == "fp8" or algo == "FP8":
            quant = Precision.FP8
        elif method == "compressed-tensors":
            groups = q.get("config_groups") or {}
            for g in groups.values() if isinstance(groups, Mapping) else ():
                w = (g.get("weights") if isinstance(g, Mapping) else None) or {}
                if not isinstance(w, Mapping):
                    continue
                bits, typ = w.get("num_bits"), w.get("type")
                if bits == 8:
                    quant = Precision.FP8 if typ == "float" else Precision.INT8
                elif bits == 4:
                    quant = Precision.FP4 if typ == "float" else Precision.INT4
        if q.get("moe_quant_algo") == "NVFP4" and method == "fp8":
            quant, experts = Precision.FP8, Precision.FP4
    if str(c.get("expert_dtype") or "").lower() in ("fp4", "mxfp4", "nvfp4"):
        experts = Precision.FP4
        notes.append("routed experts released in FP4 (expert_dtype)")
    if from_name is not None:
        # a named release (-FP8, -NVFP4) is the base model's architecture in the named format;
        # the base keeps its 16-bit dtype
        return base, experts, from_name
    if quant is not None:
        return quant, experts, None
    return base, experts, None


ATTENDS = ("full", "sliding", "chunked")
"""Token mixers that are softmax attention (they hold a KV cache)."""


@dataclass(frozen=True)
class _Attention:
    """Shapes of the softmax-attention layers, as the config states them."""

    h: int
    nq: int
    nkv: int
    head_dim: int
    v_dim: int
    mla_rank: int = 0
    q_lora: int = 0
    rope: int = 0
    nope: int = 0
    swa_q: int = 0
    swa_kv: int | None = None
    swa_hd: int | None = None
    swa_vd: int | None = None
    glob_hd: int | None = None
    glob_kv: int | None = None
    k_eq_v: bool = False
    out_gate: bool = False
    bias: bool = False
    sinks: bool = False
    qk_norm: bool = False
    o_lora: int = 0
    o_groups: int = 1
    idx_heads: int = 0
    idx_dim: int = 0

    def shape(self, sliding: bool) -> tuple[int, int, int, int]:
        """(query heads, KV heads, key width, value width) of a window or a full layer."""
        if sliding:
            return self.swa_q or self.nq, self.swa_kv or self.nkv, self.swa_hd or self.head_dim, \
                self.swa_vd or self.v_dim
        return self.nq, self.glob_kv or self.nkv, self.glob_hd or self.head_dim, self.glob_hd or self.v_dim

    def params(self, lay: _Layer) -> float:
        """Parameters of one attention layer: projections, norms, biases, sinks, indexer."""
        h = self.h
        if self.mla_rank:
            qk = self.nope + self.rope
            nq, r, ql, v = self.nq, self.mla_rank, self.q_lora, self.v_dim
            q = (h * ql + ql + ql * nq * qk) if ql else h * nq * qk
            kv = h * (r + self.rope) + r + r * nq * (self.nope + v)
            p = q + kv + nq * v * h + (h * nq * v if self.out_gate else 0)
        else:
            sliding = lay.mixer in ("sliding", "chunked")
            q_heads, kvh, kd, vd = self.shape(sliding)
            kvh = lay.kv_heads or kvh
            share = self.k_eq_v and not sliding  # K = V on full layers only (Gemma 4)
            if self.q_lora:
                q = h * self.q_lora + self.q_lora + self.q_lora * q_heads * kd
            else:
                q = h * q_heads * kd * (2 if self.out_gate else 1)
            kv = h * kvh * (kd + (0 if share else vd))
            # grouped low-rank output (DeepSeek-V4 o_lora_rank/o_groups) or a plain projection
            o = (q_heads * vd * self.o_lora + self.o_groups * self.o_lora * h) if self.o_lora else q_heads * vd * h
            p = q + kv + o
            if self.bias:
                p += q_heads * kd + kvh * (kd + vd) + h
            if self.qk_norm:
                p += 2 * kd
            if self.sinks:
                p += q_heads
            if lay.compress:  # DeepSeek-V4 compressor: KV and gate projections of the merged entries
                p += 2 * h * kvh * kd * (2 if lay.compress == 4 else 1)
        if lay.indexer and self.idx_heads:
            p += (self.q_lora or h) * self.idx_heads * self.idx_dim + h * self.idx_dim + h * self.idx_heads \
                + 2 * self.idx_dim
        return p + h  # attention-input norm


@dataclass(frozen=True)
class _Ffn:
    """Dense FFN and MoE shapes."""

    h: int
    mats: int  # 3 for a gated FFN, 2 for a plain one
    experts: int = 0
    top_k: int = 0
    expert_w: int = 0
    expert_h: int = 0  # width routed experts work in (latent MoE), else hidden
    latent: bool = False
    n_shared: int = 0
    shared_w: int = 0

    def params(self, lay: _Layer) -> tuple[float, float]:
        """(total, active) FFN parameters of one layer."""
        if lay.ffn == "none":
            return 0.0, 0.0
        h = self.h
        dense = self.mats * h * lay.dense_width + h if lay.ffn in ("dense", "dense+moe") else 0.0
        if lay.ffn in ("moe", "dense+moe"):
            routed_one = self.mats * self.expert_h * self.expert_w
            fixed = (h * self.experts  # router
                     + (2 * h * self.expert_h if self.latent else 0)  # into and out of the latent width
                     + self.n_shared * self.mats * h * self.shared_w + h)
            return dense + fixed + self.experts * routed_one, dense + fixed + self.top_k * routed_one
        return dense, dense


def _read_ffn(c: _Cfg, layers: list[_Layer], h: int, notes: list[str]) -> _Ffn:
    """MoE and dense-FFN widths; marks each layer's FFN kind and width."""
    experts = c.first_num("n_routed_experts", "num_local_experts", "num_experts") or 0
    top_k = c.first_num("num_experts_per_tok", "experts_per_token", "top_k_experts", "num_experts_per_token") or 0
    _ffn_layout(c, layers, experts)
    moe_width_key = c.first_num("moe_intermediate_size", "expert_intermediate_size")
    dense_key = c.first_num("dense_intermediate_size", "intermediate_size_mlp")
    mtype = str(c.get("model_type") or "")
    if mtype == "granitemoehybrid" and experts <= 1:  # dense Granite 4.0-H: the shared MLP is the FFN
        dense_key = c.num("shared_intermediate_size")
    if str(c.get("normalization_function") or "rmsnorm") != "rmsnorm":
        raise ConfigError(f"{c.where}: key 'normalization_function' other than rmsnorm is not supported")
    inter = c.num("intermediate_size", 0, minimum=0)
    expert_w = moe_width_key or inter or 0
    # intermediate_size is the dense width unless it is the only width an MoE model gives
    dense_w = dense_key or (inter if (moe_width_key or experts <= 1) else 0) or 0
    if not dense_w and experts > 1 and not moe_width_key:
        dense_w = inter  # one width for both, stated once (Jamba: JambaMLP for dense layers and experts)
    for lay in layers:
        if lay.ffn in ("dense", "dense+moe") and not lay.dense_width:
            if not dense_w:
                raise ConfigError(f"{c.where}: missing key 'intermediate_size' (dense FFN width)")
            lay.dense_width = dense_w
    if any(lay.ffn in ("moe", "dense+moe") for lay in layers) and (experts < 2 or top_k < 1 or expert_w < 1):
        raise ConfigError(f"{c.where}: MoE layers need 'num_experts_per_tok' and an expert width "
                          "('moe_intermediate_size')")
    n_shared = c.first_num("n_shared_experts", "num_shared_experts", default=None)
    shared_w = c.first_num("shared_expert_intermediate_size", "moe_shared_expert_intermediate_size",
                           "shared_intermediate_size", "share_expert_dim", default=None)
    if n_shared is None:
        n_shared = IMPLICIT_SHARED_EXPERTS.get(mtype, 1 if shared_w else 0)
        if mtype in IMPLICIT_SHARED_EXPERTS:
            notes.append("one always-on shared expert per MoE layer (implied by the model type)")
    if shared_w == 0:
        n_shared = 0
    latent = c.first_num("moe_latent_size", "routed_expert_hidden_size") or 0
    gated = _act_gated(c, "mlp_hidden_act", "hidden_act", "hidden_activation")
    return _Ffn(h=h, mats=3 if gated else 2, experts=experts, top_k=top_k, expert_w=expert_w,
                expert_h=latent or h, latent=bool(latent), n_shared=n_shared, shared_w=shared_w or expert_w)


def _read_sparse(c: _Cfg, layers: list[_Layer]) -> SparseAttentionSpec | None:
    """DeepSeek sparse attention (lightning indexer) or block-sparse attention; marks the
    layers that keep their own indexer keys."""
    n = len(layers)
    idx_heads = c.num("index_n_heads", 0, minimum=0)
    idx_dim = c.num("index_head_dim", 0, minimum=0)
    idx_topk = c.num("index_topk", 0, minimum=0)
    c.get("index_topk_freq")
    c.get("indexer_rope_interleave")
    sac = c.get("sparse_attention_config")
    if idx_topk:
        kind = "dsa"
        it = _list(c, "indexer_types", n)
        if it is not None and not all(t in ("full", "shared") for t in it):
            raise ConfigError(f"{c.where}: unknown value in 'indexer_types' (expected full/shared)")
        for i, lay in enumerate(layers):
            if lay.mixer in ATTENDS:
                lay.sparse = True
                lay.indexer = (it[i] == "full") if it is not None else True  # "shared" reuses another's
    elif isinstance(sac, Mapping) and sac.get("use_sparse_attention"):
        kind = "block"
        known = {"sparse_attention_freq", "sparse_block_size", "sparse_disable_index_value", "sparse_index_dim",
                 "sparse_init_block", "sparse_local_block", "sparse_num_index_heads", "sparse_score_type",
                 "sparse_topk_blocks", "use_sparse_attention"}
        extra = [k for k in sac if k not in known]
        if extra:
            raise ConfigError(f"{c.where}: unknown key 'sparse_attention_config.{extra[0]}'")
        freq = sac.get("sparse_attention_freq") or [1] * n
        if not isinstance(freq, list) or len(freq) < n:
            raise ConfigError(f"{c.where}: 'sparse_attention_config.sparse_attention_freq' must list {n} layers")

        def sval(key: str) -> int:
            return _whole(sac.get(key) or 0, f"sparse_attention_config.{key}")

        idx_heads, idx_dim, block = sval("sparse_num_index_heads"), sval("sparse_index_dim"), sval("sparse_block_size")
        idx_topk = block * (sval("sparse_topk_blocks") + sval("sparse_local_block") + sval("sparse_init_block"))
        for lay, f in zip(layers, freq[:n], strict=True):
            if _whole(f, "sparse_attention_config.sparse_attention_freq") and lay.mixer in ATTENDS:
                lay.sparse = lay.indexer = True
    else:
        return None
    n_idx = sum(lay.indexer for lay in layers)
    return SparseAttentionSpec(kind=kind, layers=n_idx or sum(lay.sparse for lay in layers), topk_tokens=idx_topk,
                               index_heads=idx_heads, index_head_dim=idx_dim)


def _read_attention(c: _Cfg, h: int, nq: int, mtype: str, sparse: SparseAttentionSpec | None,
                    notes: list[str]) -> _Attention:
    """Attention shapes: GQA/MQA/MHA, MLA, window-layer and global-layer overrides, gates."""
    nkv = c.num("num_key_value_heads", nq) if c.has("num_key_value_heads") else nq
    c.get("num_key_value_heads")
    head_dim = c.first_num("head_dim", "attention_head_dim", default=max(h // nq, 1), minimum=1) or 1
    v_dim = c.num("v_head_dim", head_dim)
    for key, what in (("num_kv_shared_layers", "cross-layer KV sharing"),
                      ("hidden_size_per_layer_input", "per-layer embeddings"),
                      ("use_double_wide_mlp", "double-wide MLP layers")):
        if c.get(key):
            raise ConfigError(f"{c.where}: key '{key}' ({what}) is not supported")
    c.get("vocab_size_per_layer_input")
    c.get("output_gate_type")  # the output gate's activation; its shape is the same
    if c.get("hc_mult"):
        notes.append(f"hyper-connections (hc_mult {c.get('hc_mult')}): mixing weights not counted (< 0.1%)")
    if c.get("num_hash_layers"):
        notes.append(f"first {c.get('num_hash_layers')} MoE layers route by token hash (no router weights)")
    k_eq_v = bool(c.get("attention_k_eq_v", False))
    glob_kv = c.num("num_global_key_value_heads", nkv) if c.has("num_global_key_value_heads") else None
    o_lora = c.num("o_lora_rank", 0, minimum=0)
    mla_rank = c.num("kv_lora_rank", 0, minimum=0)
    if mla_rank:
        c.get("qk_head_dim")  # = qk_nope_head_dim + qk_rope_head_dim
    return _Attention(
        h=h, nq=nq, nkv=nkv, head_dim=head_dim, v_dim=v_dim, mla_rank=mla_rank,
        q_lora=c.num("q_lora_rank", 0, minimum=0), rope=c.num("qk_rope_head_dim", 0, minimum=0),
        nope=c.num("qk_nope_head_dim", 0, minimum=0),
        swa_q=c.num("swa_num_attention_heads", nq),
        swa_kv=c.num("swa_num_key_value_heads", nkv) if c.has("swa_num_key_value_heads") else None,
        swa_hd=c.num("swa_head_dim", head_dim) if c.has("swa_head_dim") else None,
        swa_vd=c.num("swa_v_head_dim", v_dim) if c.has("swa_v_head_dim") else None,
        glob_hd=c.num("global_head_dim", head_dim) if c.has("global_head_dim") else None,
        glob_kv=glob_kv if k_eq_v else None,  # a separate global KV-head count goes with K=V (HF Gemma 4)
        k_eq_v=k_eq_v,
        out_gate=bool(c.first("attn_output_gate", "attention_output_gate", "mla_use_output_gate")),
        bias=bool(c.first("attention_bias", "qkv_bias")),
        # learned sinks: stated (MiMo), or part of the family (gpt-oss, DeepSeek-V4's grouped-output attention)
        sinks=(bool(c.first("add_swa_attention_sink_bias", "add_full_attention_sink_bias"))
               or mtype.startswith("gpt_oss") or bool(o_lora)),
        qk_norm=bool(c.first("use_qk_norm", "qk_norm_type")) or mtype.startswith(("qwen3", "gemma")),
        o_lora=o_lora, o_groups=c.num("o_groups", 1) if o_lora else 1,
        idx_heads=sparse.index_heads if sparse else 0, idx_dim=sparse.index_head_dim if sparse else 0,
    )


def _read_recurrent(c: _Cfg, layers: list[_Layer], h: int, att: _Attention
                    ) -> tuple[float, RecurrentStateSpec | None, list[str]]:
    """(parameters of one recurrent layer, the state spec, notes) for linear-attention or Mamba
    layers; (0, None, []) when there are none."""
    n = len(layers)
    n_linear = sum(lay.mixer == "linear" for lay in layers)
    n_mamba = sum(lay.mixer == "mamba" or lay.ssm for lay in layers)
    c.get("mamba_hidden_act")
    if n_linear and n_mamba:
        raise ConfigError(f"{c.where}: both linear-attention and Mamba layers in one model are not supported")
    if n_mamba:
        return _read_mamba(c, layers, h, n_mamba)
    if not n_linear:
        return 0.0, None, []
    note = ["hybrid linear attention: fixed state per sequence instead of KV on linear layers"]
    lac = c.get("linear_attn_config")
    if isinstance(lac, Mapping):  # Kimi delta attention
        nh = _whole(lac.get("num_heads"), "linear_attn_config.num_heads", 1)
        hd = _whole(lac.get("head_dim"), "linear_attn_config.head_dim", 1)
        kern = _whole(lac.get("short_conv_kernel_size", 4), "linear_attn_config.short_conv_kernel_size", 1)
        params = 6 * h * nh * hd + h * nh + 3 * nh * hd * kern + 2 * nh + hd
        spec = RecurrentStateSpec(kind="kimi_delta", layers=n_linear, state_elements_per_layer=nh * hd * hd,
                                  conv_elements_per_layer=(kern - 1) * 3 * nh * hd, heads=nh,
                                  pattern=f"{n_linear} Kimi-delta-attention layers, {n - n_linear} MLA layers")
        return params, spec, note
    if c.has("linear_num_value_heads"):  # gated DeltaNet (Qwen3-Next / Qwen3.5)
        nk, dk = c.num("linear_num_key_heads"), c.num("linear_key_head_dim")
        nv, dv = c.num("linear_num_value_heads"), c.num("linear_value_head_dim")
        kern = c.num("linear_conv_kernel_dim", 4)
        conv_ch = 2 * nk * dk + nv * dv
        params = h * (2 * nk * dk + 2 * nv * dv) + h * 2 * nv + conv_ch * kern + 2 * nv + dv + nv * dv * h
        state_b = _state_bytes(c, "mamba_ssm_dtype", "float32")
        spec = RecurrentStateSpec(
            kind="gated_deltanet", layers=n_linear, state_elements_per_layer=nv * dk * dv,
            conv_elements_per_layer=(kern - 1) * conv_ch, state_bytes_per_element=state_b, heads=nv,
            pattern=f"{n_linear} gated-DeltaNet layers, {n - n_linear} full attention")
        return params, spec, note
    # MiniMax lightning attention: a heads x d x d state, q/k/v/o projections
    spec = RecurrentStateSpec(kind="linear", layers=n_linear, state_elements_per_layer=att.nq * att.head_dim ** 2,
                              heads=att.nq, pattern=f"{n_linear} linear-attention layers")
    return 4 * h * att.nq * att.head_dim, spec, note


DTYPE_BYTES: dict[str, float] = {"float32": 4.0, "fp32": 4.0, "bfloat16": 2.0, "float16": 2.0, "bf16": 2.0,
                                  "fp16": 2.0}
"""Bytes per element of the dtype names configs use for recurrent state."""


def _state_bytes(c: _Cfg, key: str, default: str | None = None) -> float:
    """Bytes per recurrent-state element: the dtype the config states under ``key``; else
    ``default`` where the family fixes one; else the checkpoint's dtype (vLLM's
    ``mamba_ssm_cache_dtype="auto"``: the model dtype). vLLM sets float32 for Nemotron-H when
    its config is silent (``NemotronHForCausalLMConfig.DEFAULT_MAMBA_SSM_CACHE_DTYPE``, "only
    float32 is known to have no accuracy issues")."""
    stated = c.get(key)
    name = str(stated or default or c.d.get("torch_dtype") or c.d.get("dtype") or "bfloat16").lower()
    if name not in DTYPE_BYTES:
        raise ConfigError(f"{c.where}: key '{key}' names an unknown dtype {name!r}")
    return DTYPE_BYTES[name]


def _read_mamba(c: _Cfg, layers: list[_Layer], h: int, n_mamba: int
                ) -> tuple[float, RecurrentStateSpec, list[str]]:
    """One Mamba mixer's parameters (without the block's input norm), its state spec and notes.

    Mamba-2 (Nemotron-H, Falcon-H1, Granite 4.0-H; HF ``NemotronHMamba2Mixer``,
    ``FalconH1Mixer``): in_proj h -> (2 d_in + 2 groups d_state + heads), a depthwise conv over
    the d_in + 2 groups d_state channels, dt_bias/A_log/D per head, a gated RMSNorm over d_in
    (unless ``mamba_rms_norm`` is false), out_proj d_in -> h. State per sequence: SSM heads x
    head width x d_state, conv (kernel - 1) x channels.

    Mamba-1 (Jamba; HF ``JambaMambaMixer``): d_in = expand x h; in_proj h -> 2 d_in, conv over
    d_in, x_proj d_in -> dt_rank + 2 d_state, dt_proj dt_rank -> d_in (+ bias), A_log
    d_in x d_state, D, out_proj, and Jamba's three small RMSNorms (dt, B, C). State: d_in x
    d_state, conv (kernel - 1) x d_in.
    """
    n = len(layers)
    proj_bias = bool(c.first("mamba_proj_bias", "use_bias"))
    conv_bias = bool(c.first("mamba_conv_bias", "use_conv_bias") if (c.has("mamba_conv_bias")
                                                                    or c.has("use_conv_bias")) else True)
    kern = c.first_num("conv_kernel", "mamba_d_conv", default=4, minimum=1) or 4
    parallel = any(lay.ssm for lay in layers)
    where = f"{n_mamba} of {n} layers" if not parallel else f"all {n} layers, beside attention"
    mh = c.first_num("mamba_num_heads", "mamba_n_heads", default=None, minimum=1)
    if mh is None:  # Mamba-1: no heads
        expand = c.num("mamba_expand", 2)
        ds = c.num("mamba_d_state", 16)
        d_in = expand * h
        raw_rank = c.get("mamba_dt_rank", "auto")
        dt_rank = math.ceil(h / 16) if raw_rank == "auto" else _whole(raw_rank, "mamba_dt_rank", 1)
        params = (h * 2 * d_in + d_in * kern + d_in * (dt_rank + 2 * ds) + dt_rank * d_in + d_in
                  + d_in * ds + d_in + d_in * h)
        params += (2 * d_in + h) * proj_bias + d_in * conv_bias
        if str(c.get("model_type") or "") == "jamba":
            params += dt_rank + 2 * ds  # dt, B and C RMSNorms (HF JambaMambaMixer)
        spec = RecurrentStateSpec(
            kind="mamba1", layers=n_mamba, state_elements_per_layer=d_in * ds,
            conv_elements_per_layer=(kern - 1) * d_in, state_bytes_per_element=_state_bytes(c, "mamba_ssm_cache_dtype"),
            conv_bytes_per_element=_state_bytes(c, "mamba_conv_cache_dtype"),
            pattern=f"Mamba-1 on {where}")
        return params, spec, ["Mamba-1 hybrid: fixed SSM state per sequence instead of KV on Mamba layers",
                              _dtype_note(spec)]
    raw_md = c.first("mamba_head_dim", "mamba_d_head")
    d_ssm = c.num("mamba_d_ssm") if c.has("mamba_d_ssm") else None
    if raw_md in (None, "auto"):  # "auto" (Falcon-H1, Granite): d_inner / heads, d_inner = d_ssm or expand x h
        md = (d_ssm or c.first_num("expand", "mamba_expand", default=2, minimum=1) * h) // mh
    else:
        md = _whole(raw_md, "mamba_head_dim", 1)
    d_in = mh * md
    if d_ssm is not None and d_ssm != d_in:
        raise ConfigError(f"{c.where}: 'mamba_d_ssm' {d_ssm} is not mamba heads x head width ({mh} x {md})")
    ds = c.first_num("ssm_state_size", "mamba_d_state", default=None, minimum=1)
    if ds is None:
        raise ConfigError(f"{c.where}: missing key 'ssm_state_size' (Mamba state width)")
    ng = c.first_num("n_groups", "mamba_n_groups", default=1, minimum=1) or 1
    c.first("expand", "mamba_expand")  # d_in is stated directly as heads x head width
    conv_ch = d_in + 2 * ng * ds
    proj_out = 2 * d_in + 2 * ng * ds + mh
    gated_norm = bool(c.get("mamba_rms_norm", True))
    params = (h * proj_out + conv_ch * kern + 3 * mh + d_in * gated_norm + d_in * h
              + (proj_out + h) * proj_bias + conv_ch * conv_bias)
    family = str(c.get("model_type") or "")
    spec = RecurrentStateSpec(
        kind="mamba2", layers=n_mamba, state_elements_per_layer=mh * md * ds,
        conv_elements_per_layer=(kern - 1) * conv_ch,
        state_bytes_per_element=_state_bytes(c, "mamba_ssm_cache_dtype",
                                             "float32" if family.startswith("nemotron_h") else None),
        conv_bytes_per_element=_state_bytes(c, "mamba_conv_cache_dtype"),
        heads=mh, pattern=f"{n_mamba} Mamba-2 layers (of {n} blocks)" if not parallel else f"Mamba-2 on {where}")
    return params, spec, ["Mamba-2 hybrid: fixed SSM state per sequence instead of KV on Mamba layers",
                          _dtype_note(spec)]


def _dtype_note(spec: RecurrentStateSpec) -> str:
    return (f"state held at {spec.state_bytes_per_element:g} B per SSM element and {spec.conv_bytes_per_element:g} B "
            "per conv element (the config's mamba_ssm_cache_dtype, else vLLM's default for the family)")


def _read_mtp(c: _Cfg) -> int:
    """Multi-token-prediction layers shipped with the model."""
    mtp = c.first_num("num_nextn_predict_layers", "mtp_num_hidden_layers") or 0
    if c.get("use_mtp"):
        mtp = max(mtp, c.num("num_mtp_modules", 1) * c.num("mtp_transformer_layers", 1))
    else:
        c.get("num_mtp_modules")
        c.get("mtp_transformer_layers")
    if c.get("mtp_hybrid_override_pattern") or c.get("mtp_layers_block_type"):
        mtp = max(mtp, 1)
    c.get("mtp_use_dedicated_embeddings")
    return mtp


def _architecture(c: _Cfg, top: _Cfg, notes: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Layer layout, parameter count and the ``ModelSpec`` architecture fields."""
    h = c.num("hidden_size")
    pattern = c.d.get("hybrid_override_pattern") or c.d.get("layers_block_type")
    if pattern is not None and not isinstance(pattern, (str, list)):
        raise ConfigError(f"{c.where}: the hybrid layer pattern must be a string or a list")
    n = c.num("num_hidden_layers", maximum=MAX_LAYERS) if c.has("num_hidden_layers") or not pattern else len(pattern)
    if not 1 <= n <= MAX_LAYERS:
        raise ConfigError(f"{c.where}: layer pattern must list 1 to {MAX_LAYERS} layers")
    vocab = c.num("vocab_size")
    nq = c.num("num_attention_heads")
    mtype = str(c.get("model_type") or "")
    layers = _layout(c, n, notes)
    ffn = _read_ffn(c, layers, h, notes)
    sparse = _read_sparse(c, layers)
    att = _read_attention(c, h, nq, mtype, sparse, notes)
    rec_params, recurrent, rec_notes = _read_recurrent(c, layers, h, att)
    notes.extend(rec_notes)
    window = c.first_num("sliding_window", "attention_chunk_size", "sliding_window_size")

    # ---- parameters, layer by layer
    def mixer_params(lay: _Layer) -> float:
        if lay.mixer in ATTENDS:  # a parallel Mamba branch shares the attention's input norm
            return att.params(lay) + (rec_params if lay.ssm else 0.0)
        if lay.mixer == "mamba":
            return rec_params + h  # the Mamba block's own input norm
        return rec_params if lay.mixer == "linear" else 0.0

    total = active = att_sum = 0.0
    for lay in layers:
        a = mixer_params(lay)
        ft, fa = ffn.params(lay)
        att_sum += a
        total += a + ft
        active += a + fa
    # the outer config's tie flag wins for multimodal wrappers (Qwen3-VL states it there)
    tie = bool((top if "tie_word_embeddings" in top.d else c).get("tie_word_embeddings", False))
    c.get("tie_word_embeddings")
    emb = vocab * h * (1 if tie else 2)
    total += emb + h
    # active = total minus the routed experts a token does not use, embeddings included as for
    # a dense model (active = total there); vendors often quote it without the input
    # embedding (gpt-oss 5.1B, DeepSeek-V3 36.6B), which the engine subtracts itself
    active += emb + h

    # ---- MTP layers (reported apart, as vendors count them): one more attention + FFN layer each
    mtp = _read_mtp(c)
    mtp_params = 0.0
    att_layers = [lay for lay in layers if lay.mixer in ATTENDS]
    if not att_layers:
        raise ConfigError(f"{c.where}: no attention layer found; models without attention are not supported")
    if mtp:
        last_ffn = next((lay for lay in reversed(layers) if lay.ffn != "none"), layers[-1])
        mtp_params = mtp * (att.params(att_layers[-1]) + ffn.params(last_ffn)[0] + 2 * h * h + 3 * h)

    # ---- fields for the spec
    n_att = len(att_layers)
    bounded = [lay for lay in layers if lay.mixer in ("sliding", "chunked")]
    sw = None
    if bounded:
        wins = {lay.window or window for lay in bounded}
        if None in wins or 0 in wins or len(wins) != 1:
            raise ConfigError(f"{c.where}: missing key 'sliding_window' (window size of the bounded layers)")
        kind = "chunked" if bounded[0].mixer == "chunked" else "sliding"
        sw_shape, full_shape = att.shape(True)[1:], att.shape(False)[1:]
        own = sw_shape != full_shape  # bounded layers have their own KV shape: state all three
        sw = SlidingWindowSpec(
            window_tokens=int(wins.pop() or 0), bounded_layers=len(bounded), kind=kind,
            pattern=f"{len(bounded)} {kind} layers, {n_att - len(bounded)} full-attention layers",
            kv_heads=sw_shape[0] if own else None, head_dim=sw_shape[1] if own else None,
            v_head_dim=sw_shape[2] if own else None,
        )
    comp = Counter(lay.compress for lay in layers if lay.compress > 1)
    kv_layers = {lay.kv_heads for lay in layers if lay.kv_heads}
    if len(kv_layers) > 1:
        raise ConfigError(f"{c.where}: block_configs with different KV head counts per layer are not supported")
    model_kv = kv_layers.pop() if kv_layers else (att.glob_kv or att.nkv)
    mla = None
    if att.mla_rank:
        mla = MlaSpec(kv_lora_rank=att.mla_rank, qk_rope_head_dim=att.rope, q_lora_rank=att.q_lora or None,
                      qk_nope_head_dim=att.nope or None, v_head_dim=att.v_dim)
    moe = None
    n_moe = sum(lay.ffn in ("moe", "dense+moe") for lay in layers)
    if n_moe:
        first_dense = next((i for i, lay in enumerate(layers) if lay.ffn != "dense"), n)
        moe = MoeSpec(
            experts=ffn.experts, experts_per_token=ffn.top_k, shared_experts=ffn.n_shared,
            expert_intermediate_size=ffn.expert_w, moe_layers=n_moe,
            # leading dense layers, when every later layer is MoE (DeepSeek); 0 for interleaved layouts
            first_k_dense=first_dense if all(lay.ffn != "dense" for lay in layers[first_dense:]) else 0,
            shared_expert_intermediate_size=ffn.shared_w if ffn.n_shared and ffn.shared_w != ffn.expert_w else None,
            expert_hidden_size=ffn.expert_h if ffn.latent else None,
            router=_router_text(c, ffn.top_k), layer_pattern=_ffn_pattern(layers),
        )
    else:
        c.get("n_group")
    dense_ffn = sum(lay.ffn in ("dense", "dense+moe") for lay in layers)
    widths = Counter(lay.dense_width for lay in layers if lay.dense_width)
    max_ctx = c.num("max_position_embeddings", 0, minimum=0) or top.num("max_position_embeddings", 0, minimum=0)
    if not max_ctx:
        raise ConfigError(f"{c.where}: missing key 'max_position_embeddings'")
    attention = "mla" if mla else "mha" if model_kv == nq else "mqa" if model_kv == 1 else "gqa"
    if att.glob_hd and not att.k_eq_v:
        model_v: int | None = att.glob_hd
    else:
        model_v = att.v_dim if att.v_dim != att.head_dim and not mla else None
    kw: dict[str, Any] = dict(
        total_params_b=round(total / 1e9, 3),
        active_params_b=round(active / 1e9, 3) if moe else None,
        computed_total_params_b=round(total / 1e9, 3),
        layers=n, hidden_size=h,
        intermediate_size=widths.most_common(1)[0][0] if widths else None,
        attention_heads=nq, kv_heads=model_kv,
        head_dim=(att.glob_hd or att.head_dim) if not mla else (att.nope or att.head_dim),
        vocab_size=vocab, max_context_tokens=max_ctx, attention=attention,
        mla=mla, sliding_window=sw, moe=moe, v_head_dim=model_v,
        attention_layers=n_att if n_att != n else None,
        dense_ffn_layers=dense_ffn if (dense_ffn != n - n_moe) else None,
        k_eq_v=att.k_eq_v, attention_sinks=att.sinks, tied_embeddings=tie, recurrent=recurrent,
        sparse_attention=sparse,
        compressed_kv=tuple(CompressedKvSpec(ratio=r, layers=k) for r, k in sorted(comp.items())),
        mtp_layers=mtp, mtp_params_b=round(mtp_params / 1e9, 3),
    )
    params = {"total": total, "active": active, "embeddings": float(emb), "attention": att_sum, "mtp": mtp_params}
    return kw, params


def _router_text(c: _Cfg, top_k: int) -> str:
    score = str(c.first("scoring_func") or "softmax")
    groups = c.first_num("n_group", "num_expert_group", default=1) or 1
    tg = c.num("topk_group", 1, minimum=0) or 1
    c.get("use_grouped_topk")
    text = f"{score} top-{top_k}" + (", renormalised" if c.get("norm_topk_prob") else "")
    if groups > 1:
        text += f", {groups} groups, top-{tg} groups"
    return text


def _ffn_pattern(layers: list[_Layer]) -> str:
    counts = Counter(lay.ffn for lay in layers)
    parts = [f"{k} {v}" for k, v in (("moe", counts["moe"]), ("dense+moe", counts["dense+moe"]),
                                     ("dense", counts["dense"]), ("none", counts["none"])) if v]
    return "FFN per layer: " + ", ".join(parts)


def import_config_file(path: str | Path, *, model_id: str | None = None, name: str | None = None) -> ImportedModel:
    """Read and import one config.json file (the file name gives the id unless ``model_id``)."""
    p = Path(path)
    data = load_config_file(p)
    label = name or (str(data.get("_name_or_path") or "") if p.name == "config.json" else p.name)
    if not label and model_id is None:
        raise ConfigError(f"{p}: cannot tell the model's name from a bare config.json; give --id")
    try:
        return import_config(data, label or model_id or p.name, model_id=model_id)
    except ConfigError as exc:  # name the file the user gave, not "config.json" (issue 24)
        raise ConfigError(_in_file(str(exc), p)) from None


def _in_file(message: str, p: Path) -> str:
    """``message`` of ``import_config`` with the file ``p`` named where it says "config.json"."""
    if message.startswith("config.json"):
        return f"{p}{message.removeprefix('config.json')}"
    return message if message.startswith(str(p)) else f"{p}: {message}"
