"""Catalog row schemas: what a GPU and a model are, in the units the data files use.

The data files (``data/gpus.yaml``, ``data/models.yaml``) state numbers the way datasheets
and config.json do (GB, TB/s, dense TFLOPS, billions of parameters); the properties here
convert them to base SI units for the engine. Every row carries its sources.

Precision support is the *presence* of a dense-FLOPS figure: a GPU without an ``fp8`` key
has no FP8 tensor cores. Zero is never used to mean "unsupported", and one precision's
figure is never extrapolated from another's.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from xlsizer.errors import UnsupportedPrecisionError, quote
from xlsizer.precision import Precision
from xlsizer.units import GB, TERA

ID_PATTERN = r"^[a-z0-9][a-z0-9.\-]*$"
"""A catalog id: lower-case letters, digits, '.' and '-', starting with a letter or digit (so
never a path: no separator, never '.' or '..')."""


MAX_NUMBER = 10**10
"""Largest number any catalog figure may hold, in the row's own unit (10^10: widths, counts,
tokens, GB, TFLOPS, billions of parameters, prices). The largest real figures are about 10^7
(context tokens, prices in USD); a typo or a hostile value such as ``hidden_size: 10**400``
is refused here with its field named instead of overflowing sizing's arithmetic later. The
config.json importer bounds shape keys by the same number (hf_config.MAX_DIMENSION)."""


class _Row(BaseModel):
    # allow_inf_nan=False: a row holding .inf or .nan is refused with the field named; sizing
    # would otherwise multiply an infinity into a crash or a meaningless plan (issue 24)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, v: Any) -> Any:
        """Every number, and every number in a mapping (``dense_tflops``), at most MAX_NUMBER."""
        values = v.values() if isinstance(v, dict) else (v,)
        for x in values:
            if isinstance(x, int | float) and not isinstance(x, bool):
                if isinstance(x, float) and not math.isfinite(x):
                    raise ValueError(f"must be a finite number, got {x}")
                if abs(x) > MAX_NUMBER:
                    raise ValueError(f"must be at most 10^10 (no catalog figure comes near it), got {quote(x)}")
        return v


class PriceRange(_Row):
    """A price range with where and when it was seen."""

    low: float = Field(gt=0, description="lowest price seen")
    typical: float = Field(gt=0, description="the price used as default")
    high: float = Field(gt=0, description="highest price seen")
    currency: str = "USD"
    as_of: str = Field(description="month the prices were seen, YYYY-MM")
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> PriceRange:
        if not self.low <= self.typical <= self.high:
            raise ValueError(f"price range must satisfy low <= typical <= high: {self}")
        return self


class MeasuredStep(_Row):
    """Where tuned systems on this GPU measured a mean decode step slower than the model's: a
    validation finding shown with a sizing that falls in its range, not a term of the model."""

    sequences_low: int = Field(gt=0, description="fewest sequences in flight per replica measured")
    sequences_high: int = Field(gt=0, description="most sequences in flight per replica measured")
    ratio_low: float = Field(gt=1, description="lowest measured / modelled mean decode step (above 1: slower)")
    ratio_high: float = Field(gt=0, description="highest measured / modelled mean decode step")
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> MeasuredStep:
        if not (self.sequences_low <= self.sequences_high and self.ratio_low <= self.ratio_high):
            raise ValueError(f"measured step ranges must be low <= high: {self}")
        return self


SHORT_OF_MODEL: float = 0.85
"""Measured over predicted (dimensionless) below which a tuned system fell short of the model:
issue 22's mark ("share below 0.85" of the GPUs the submissions used), for ``MeasuredResults``
and ``benchmarks/bench_mlperf.py``."""


class MeasuredResults(_Row):
    """Where every MLPerf result on this GPU that the model predicts came out below
    ``SHORT_OF_MODEL`` of its prediction, from at least two submitters: a validation finding
    shown with every plan on the GPU, not a term of the model (docs/method.md, "A GPU the model
    is optimistic on")."""

    ratio_low: float = Field(gt=0, lt=SHORT_OF_MODEL, description="lowest measured / predicted output rate")
    ratio_high: float = Field(gt=0, lt=SHORT_OF_MODEL, description="highest measured / predicted output rate")
    results: int = Field(gt=0, description="distinct results (a run submitted under two accuracy targets once)")
    submitters: int = Field(ge=2, description="organizations that submitted them")
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> MeasuredResults:
        if not self.ratio_low <= self.ratio_high:
            raise ValueError(f"measured results: ratio_low must be <= ratio_high: {self}")
        return self


class GpuSpec(_Row):
    """One accelerator SKU (per GPU, not per node)."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    vendor: Literal["nvidia", "amd", "intel", "google", "custom"]
    aliases: tuple[str, ...] = ()
    memory_gb: float = Field(gt=0, description="device memory, vendor GB (1e9 bytes)")
    memory_type: str = ""
    memory_bandwidth_tb_s: float = Field(gt=0, description="peak memory bandwidth, TB/s (1e12 B/s)")
    dense_tflops: dict[Precision, float] = Field(
        description="dense (no 2:4 sparsity) tensor TFLOPS (TOPS for int8) per precision; "
        "a missing key means the hardware lacks that precision"
    )
    tdp_w: float = Field(gt=0, description="board power, W")
    interconnect: str = Field(description="scale-up fabric name, e.g. 'NVLink 4' or 'PCIe'")
    interconnect_gb_s: float = Field(
        gt=0, description="scale-up bandwidth per GPU, GB/s, bidirectional aggregate"
    )
    gpus_per_node: int = Field(ge=1, le=72, description="GPUs in one typical server")
    scaleup_domain_gpus: int | None = Field(
        None, ge=1, le=576,
        description="GPUs joined by the scale-up fabric at interconnect_gb_s (an NVL72 rack: "
        "72); None = one node (gpus_per_node). Traffic beyond it uses scaleout_gb_s",
    )
    scaleout_gb_s: float | None = Field(
        None, gt=0,
        description="network bandwidth per GPU between scale-up domains, GB/s, ONE direction "
        "(e.g. one 400 Gb/s NIC per GPU = 50); None = not stated",
    )
    bridge_gpus: int | None = Field(
        None, ge=2, le=8,
        description="GPUs an NVLink bridge joins at interconnect_gb_s, where that is fewer than a "
        "node (PCIe cards bridged in pairs or quads: H100 NVL 2, H200 NVL 4); a collective over more "
        "GPUs of the node crosses the cards' PCIe slots at host_link_gb_s. None = the fabric joins the "
        "whole node (or scale-up domain)",
    )
    mesh_peers: int | None = Field(
        None, ge=1, le=71,
        description="peers each GPU reaches over direct links of its own, interconnect_gb_s split "
        "evenly among them (a fully connected mesh: AMD Instinct OAM platforms and Gaudi 3, 7 peers); "
        "a collective over k GPUs of the node runs over k-1 of the links. None = a switched fabric "
        "(NVSwitch), whose full rate joins any two GPUs",
    )
    host_link_gb_s: float | None = Field(
        None, gt=0,
        description="the GPU's link to its host's memory, GB/s ONE direction: its PCIe slot (Gen4 x16 "
        "32, Gen5 x16 64) or NVLink-C2C to a Grace CPU (450); what offloaded KV streams over, and "
        "what NVLink-bridged cards meet over beyond their bridge group (required with bridge_gpus). "
        "None = not stated (the input host_link_gb_s's fallback)",
    )
    grouped_bandwidth_ratio: float | None = Field(
        None, gt=0, le=1.2,
        description="expert-weight streaming rate of grouped MoE kernels as a fraction of the "
        "dense weight-streaming rate on this GPU, measured (gpu-measurements.md probe); None = "
        "not measured (the mean of the measured GPUs, engine/moe.py GROUPED_BANDWIDTH_RATIO)",
    )
    fp4_sustained_ratio: float | None = Field(
        None, gt=0, le=1,
        description="share of the datasheet dense FP4 rate that tuned LLM serving sustains on "
        "this GPU, beyond the FP4 GEMM efficiency every FP4 GPU shares (calibration.yaml "
        "fp4_gemm_efficiency); fitted on public MLPerf Offline results "
        "(scripts/fit_fp4_sustained.py), None = not derated",
    )
    mamf_bf16_tflops: float | None = Field(
        None, gt=0,
        description="maximum achievable BF16 matmul TFLOPS measured on this GPU (the best of a "
        "search over GEMM shapes at the clock its power limit sustains under dense tensor load, "
        "mamf-finder.py); the engine scales every tensor-core rate of the GPU by its share of the "
        "datasheet against the reference GPU's (engine/step.py sustained_tensor_ratio); None = not "
        "measured (the reference GPU's share)",
    )
    measured_step: MeasuredStep | None = Field(
        None,
        description="where tuned systems on this GPU measured a mean decode step slower than the "
        "model's (sequences per replica, ratio, source): a sizing in that range says so "
        "(docs/method.md, 'What the latency-bound scenarios still miss'); None = no such finding",
    )
    measured_results: MeasuredResults | None = Field(
        None,
        description="where every MLPerf result on this GPU that the model predicts measured below "
        f"{SHORT_OF_MODEL:g} of the prediction, from two submitters or more (ratios, results, source): every plan "
        "on it says so (docs/method.md, 'A GPU the model is optimistic on'); None = no such finding",
    )
    form_factor: Literal["sxm", "oam", "pcie", "superchip", "custom"]
    liquid_cooling_required: bool = False
    launch_year: int | None = None
    roadmap: bool = Field(False, description="announced but not shipping; never auto-picked")
    auto_pick: bool = Field(
        True, description="considered by the automatic GPU choice (course.md §10.3 step 9)"
    )
    cloud_price_per_gpu_hour: PriceRange | None = None
    purchase_price_per_gpu: PriceRange | None = None
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _has_16bit(self) -> GpuSpec:
        if Precision.BF16 not in self.dense_tflops and Precision.FP16 not in self.dense_tflops:
            raise ValueError(f"{self.id}: dense_tflops needs a bf16 or fp16 figure")
        for p, v in self.dense_tflops.items():
            if v <= 0:
                raise ValueError(f"{self.id}: dense_tflops[{p}] must be > 0 (omit the key if unsupported)")
        if self.bridge_gpus is not None and (self.host_link_gb_s is None or self.bridge_gpus >= self.gpus_per_node):
            raise ValueError(f"{self.id}: bridge_gpus needs host_link_gb_s (the link between bridge groups) and "
                             f"fewer GPUs than a node ({self.gpus_per_node}); a bridge over the whole node is "
                             "its interconnect_gb_s alone")
        if self.mamf_bf16_tflops is not None and self.mamf_bf16_tflops > self.dense_flops(Precision.BF16) / TERA:
            raise ValueError(f"{self.id}: mamf_bf16_tflops {self.mamf_bf16_tflops:g} is above the "
                             "datasheet BF16 rate (a measurement cannot beat the peak)")
        return self

    # --- base-unit views used by the engine ---------------------------------------------
    @property
    def memory_bytes(self) -> float:
        """Device memory, bytes."""
        return self.memory_gb * GB

    @property
    def memory_bandwidth_bytes_per_s(self) -> float:
        """Peak memory bandwidth, bytes/s."""
        return self.memory_bandwidth_tb_s * TERA

    @property
    def scaleup_gpus(self) -> int:
        """GPUs reachable over the scale-up fabric (the NVLink domain), at least one node."""
        return max(self.scaleup_domain_gpus or self.gpus_per_node, self.gpus_per_node)

    @property
    def interconnect_bytes_per_s(self) -> float:
        """Scale-up bandwidth per GPU per direction, bytes/s (half the bidirectional figure)."""
        return self.interconnect_gb_s * GB / 2.0

    @property
    def host_link_bytes_per_s(self) -> float | None:
        """Link to host memory per GPU per direction, bytes/s (``host_link_gb_s``); None when
        the catalog does not state it."""
        return None if self.host_link_gb_s is None else self.host_link_gb_s * GB

    @property
    def mamf_efficiency(self) -> float | None:
        """Measured maximum achievable BF16 matmul rate over the datasheet BF16 rate
        (dimensionless), None when not measured."""
        if self.mamf_bf16_tflops is None:
            return None
        return self.mamf_bf16_tflops * TERA / self.dense_flops(Precision.BF16)

    def supports(self, precision: Precision) -> bool:
        """True if the GPU has tensor cores for the precision's compute format."""
        return precision.compute in self.dense_tflops or (
            precision.compute is Precision.BF16 and Precision.FP16 in self.dense_tflops
        )

    def dense_flops(self, precision: Precision) -> float:
        """Dense tensor FLOP/s at the precision's compute format.

        Raises ``UnsupportedPrecisionError`` when the catalog has no figure for it.
        """
        c = precision.compute
        tf = self.dense_tflops.get(c)
        if tf is None and c is Precision.BF16:
            tf = self.dense_tflops.get(Precision.FP16)
        if tf is None:
            raise UnsupportedPrecisionError(self.id, c.value)
        return tf * TERA


class MlaSpec(_Row):
    """Multi-head latent attention (DeepSeek-V2/V3, Kimi K2, GLM-5): the KV cache holds a
    compressed latent (kv_lora_rank) plus one shared RoPE key (qk_rope_head_dim) per token
    and layer. The per-head widths below are compute shapes, not cache."""

    kv_lora_rank: int = Field(gt=0, description="latent width per layer, elements (cached)")
    qk_rope_head_dim: int = Field(ge=0, description="decoupled RoPE key width per layer, elements (cached)")
    q_lora_rank: int | None = Field(
        None, gt=0, description="query low-rank width, elements; None = queries projected at full rank"
    )
    qk_nope_head_dim: int | None = Field(
        None, gt=0, description="per-head query/key width without RoPE, elements; None = not stated"
    )
    v_head_dim: int | None = Field(None, gt=0, description="per-head value width, elements; None = not stated")


class SlidingWindowSpec(_Row):
    """Layers whose attention only looks back a bounded number of tokens."""

    window_tokens: int = Field(gt=0, description="tokens a bounded layer keeps")
    bounded_layers: int = Field(gt=0, description="how many layers are bounded (the rest keep all)")
    kind: Literal["sliding", "chunked"] = "sliding"
    pattern: str = Field("", description="how bounded and full layers alternate, in words")
    kv_heads: int | None = Field(
        None, gt=0, description="KV heads of a bounded layer; None = the model's kv_heads"
    )
    head_dim: int | None = Field(
        None, gt=0, description="key head width of a bounded layer, elements; None = the model's head_dim"
    )
    v_head_dim: int | None = Field(
        None, gt=0, description="value head width of a bounded layer, elements; None = its head_dim"
    )


class MoeSpec(_Row):
    """Mixture-of-experts layout."""

    experts: int = Field(ge=2, description="routed experts per MoE layer")
    experts_per_token: int = Field(ge=1, description="routed experts each token uses")
    shared_experts: int = Field(0, ge=0, description="always-on experts per MoE layer")
    expert_intermediate_size: int = Field(gt=0, description="FFN width of one routed expert")
    moe_layers: int = Field(gt=0, description="layers that are MoE (others are dense FFN)")
    first_k_dense: int = Field(
        0, ge=0, description="leading layers with a dense FFN instead of MoE (DeepSeek first_k_dense_replace)"
    )
    shared_expert_intermediate_size: int | None = Field(
        None, gt=0, description="FFN width of ONE shared expert; None = expert_intermediate_size"
    )
    expert_hidden_size: int | None = Field(
        None, gt=0,
        description="width routed experts work in when smaller than hidden_size (latent MoE: "
        "Nemotron-3 moe_latent_size, Kimi K3 routed_expert_hidden_size); None = hidden_size",
    )
    router: str = Field("", description="routing function in words, e.g. 'sigmoid, 8 groups, top-4 groups'")
    layer_pattern: str = Field("", description="which layers are MoE, in words")

    @property
    def shared_width(self) -> int:
        """FFN width of one shared expert, elements."""
        return self.shared_expert_intermediate_size or self.expert_intermediate_size


class RecurrentStateSpec(_Row):
    """Layers that carry a fixed-size state per sequence instead of a growing KV cache:
    linear attention (Qwen3-Next/Qwen3.5 gated DeltaNet, Kimi delta attention, MiniMax
    lightning attention), Mamba-2 (Nemotron-H, Falcon-H1, Granite 4.0-H) and Mamba-1 (Jamba).
    Their memory per request is constant in context length."""

    kind: Literal["gated_deltanet", "kimi_delta", "mamba2", "mamba1", "linear"]
    layers: int = Field(gt=0, description="how many layers are recurrent")
    state_elements_per_layer: int = Field(
        gt=0, description="recurrent (SSM / delta-rule) state per sequence per layer, elements"
    )
    conv_elements_per_layer: int = Field(
        0, ge=0, description="short-convolution state per sequence per layer, elements (kernel - 1 past inputs)"
    )
    state_bytes_per_element: float = Field(
        4.0, gt=0, description="bytes per state element; 4 = FP32, the dtype configs ask for "
        "(mamba_ssm_dtype / mamba_ssm_cache_dtype float32)"
    )
    conv_bytes_per_element: float = Field(2.0, gt=0, description="bytes per conv-state element (BF16)")
    heads: int | None = Field(None, gt=0, description="recurrent heads (value heads), for reference")
    pattern: str = Field("", description="how recurrent and attention layers alternate, in words")

    @property
    def bytes_per_sequence(self) -> float:
        """State one sequence holds across all recurrent layers, bytes (independent of context)."""
        return self.layers * (
            self.state_elements_per_layer * self.state_bytes_per_element
            + self.conv_elements_per_layer * self.conv_bytes_per_element
        )


class SparseAttentionSpec(_Row):
    """Attention that reads only a selected subset of past tokens (DeepSeek sparse attention's
    lightning indexer, MiniMax-M3 block-sparse). The KV of every token is still cached; each
    query reads at most ``topk_tokens`` of it, plus the small indexer keys."""

    kind: Literal["dsa", "block"]
    layers: int = Field(gt=0, description="layers that attend sparsely")
    topk_tokens: int = Field(gt=0, description="past tokens each query attends to at most")
    index_heads: int = Field(0, ge=0, description="indexer heads (score every past token)")
    index_head_dim: int = Field(
        0, ge=0, description="indexer key width cached per token per sparse layer, elements"
    )


class CompressedKvSpec(_Row):
    """Layers that cache one KV entry per ``ratio`` tokens (DeepSeek-V4 compressed attention:
    ``compress_ratios``); they also keep the model's sliding window uncompressed."""

    ratio: int = Field(gt=1, description="tokens merged into one cached entry")
    layers: int = Field(gt=0, description="layers compressed at this ratio")


class QuantizedRelease(_Row):
    """A quantized checkpoint of a model (nvidia/...-NVFP4, Qwen/...-FP8): same architecture,
    its weights in another format. Its name resolves to the base model and sets the precision."""

    alias: str
    precision: Precision = Field(
        description="weight format of the release (the routed experts' for MoE NVFP4 releases)"
    )
    source: str = ""


class ModelSpec(_Row):
    """One model's architecture, as its config.json states it."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    family: str
    aliases: tuple[str, ...] = ()
    total_params_b: float = Field(gt=0, description="all parameters, billions (vendor figure)")
    active_params_b: float | None = Field(
        None, gt=0, description="parameters used per token, billions (MoE); None = dense"
    )
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    intermediate_size: int | None = Field(None, gt=0, description="dense FFN width")
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0, description="key/value heads (GQA groups); for MLA see mla")
    head_dim: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    max_context_tokens: int = Field(gt=0)
    attention: Literal["mha", "gqa", "mqa", "mla"]
    mla: MlaSpec | None = None
    sliding_window: SlidingWindowSpec | None = None
    moe: MoeSpec | None = None
    # --- architecture facts beyond the course's fields (config.json; all optional) ---------
    v_head_dim: int | None = Field(
        None, gt=0, description="value head width when it differs from head_dim (non-MLA), elements"
    )
    attention_layers: int | None = Field(
        None, gt=0,
        description="layers with softmax attention (they hold KV); None = every layer. Hybrids "
        "(Qwen3.5, Nemotron-H) have fewer; the rest are recurrent",
    )
    dense_ffn_layers: int | None = Field(
        None, ge=0,
        description="layers with a dense FFN; None = layers - moe.moe_layers (0 for Nemotron-H, "
        "whose Mamba and attention blocks have no FFN)",
    )
    k_eq_v: bool = Field(
        False, description="full-attention layers cache one tensor used as both K and V (Gemma 4)"
    )
    attention_sinks: bool = Field(False, description="learned per-head attention sinks (gpt-oss, MiMo)")
    tied_embeddings: bool = Field(
        False, description="the output head multiplies by the input embedding's matrix (config.json "
        "tie_word_embeddings): counted once in the parameters, streamed and multiplied as the head"
    )
    recurrent: RecurrentStateSpec | None = None
    sparse_attention: SparseAttentionSpec | None = None
    compressed_kv: tuple[CompressedKvSpec, ...] = ()
    mtp_layers: int = Field(
        0, ge=0, description="multi-token-prediction layers shipped for speculative decoding "
        "(num_nextn_predict_layers); not counted in total_params_b"
    )
    mtp_params_b: float = Field(0.0, ge=0, description="parameters of those MTP layers, billions")
    weights_precision: Precision | None = Field(
        None, description="number format of the released checkpoint's weights (bf16, fp8, fp4); "
        "None = not stated (16-bit)"
    )
    expert_weights_precision: Precision | None = Field(
        None, description="format of the routed experts when it differs (gpt-oss: MXFP4 = fp4)"
    )
    fp4_scope: Literal["routed-experts", "all"] | None = Field(
        None, description="which weights a deployment at fp4 holds in 4 bits: 'routed-experts' (attention, "
        "shared experts, dense layers and the LM head stay as released, in weights_precision) or 'all'; "
        "None = 'routed-experts' for a MoE, 'all' for a dense model, as the published 4-bit checkpoints do "
        "(engine/memory.py dense_weights_precision)"
    )
    quantized_releases: tuple[QuantizedRelease, ...] = Field(
        (), description="quantized checkpoints of this model: each name is an alias that also "
        "sets the weight precision (e.g. 'qwen3-32b-fp8' -> fp8)",
    )
    computed_total_params_b: float | None = Field(
        None, gt=0, description="parameters counted from the config's shapes, billions (importer)"
    )
    reasoning: bool = Field(False, description="emits long reasoning traces before answering")
    default_output_tokens: int | None = Field(
        None, gt=0, description="output length the course pre-fills for reasoning models"
    )
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if (self.attention == "mla") != (self.mla is not None):
            raise ValueError(f"{self.id}: attention 'mla' and an mla block go together")
        if (self.moe is not None) != (self.active_params_b is not None):
            raise ValueError(f"{self.id}: MoE models need active_params_b, dense models must not set it")
        if self.kv_heads > self.attention_heads or self.attention_heads % self.kv_heads:
            # grouped-query attention shares each KV head among a whole group of query heads
            raise ValueError(f"{self.id}: attention_heads ({self.attention_heads}) must be a multiple of "
                             f"kv_heads ({self.kv_heads})")
        if self.active_params_b is not None and self.active_params_b > self.total_params_b:
            raise ValueError(f"{self.id}: active_params_b exceeds total_params_b")
        if self.sliding_window and self.sliding_window.bounded_layers > self.attention_layer_count:
            raise ValueError(f"{self.id}: more bounded layers than attention layers")
        if self.attention_layer_count > self.layers:
            raise ValueError(f"{self.id}: attention_layers exceeds layers")
        if self.moe is not None and self.moe.moe_layers > self.layers:
            raise ValueError(f"{self.id}: moe_layers exceeds layers")
        if self.sparse_attention and self.sparse_attention.layers > self.attention_layer_count:
            raise ValueError(f"{self.id}: more sparse-attention layers than attention layers")
        if sum(c.layers for c in self.compressed_kv) > self.attention_layer_count:
            raise ValueError(f"{self.id}: more compressed-KV layers than attention layers")
        return self

    @property
    def attention_layer_count(self) -> int:
        """Layers with softmax attention (they hold a KV cache)."""
        return self.attention_layers if self.attention_layers is not None else self.layers

    @property
    def dense_ffn_layer_count(self) -> int:
        """Layers with a dense FFN."""
        if self.dense_ffn_layers is not None:
            return self.dense_ffn_layers
        return self.layers - (self.moe.moe_layers if self.moe else 0)

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def active_params(self) -> float:
        """Parameters that take part in one token's forward pass (count, not billions)."""
        return (self.active_params_b or self.total_params_b) * 1e9

    @property
    def total_params(self) -> float:
        """All parameters (count)."""
        return self.total_params_b * 1e9

    @property
    def architecture(self) -> str:
        """The course's coarse label: dense / gqa / moe / mla."""
        if self.moe is not None:
            return "moe"
        if self.attention == "mla":
            return "mla"
        return "gqa" if self.attention in ("gqa", "mqa") else "dense"
