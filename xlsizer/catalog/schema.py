"""Catalog row schemas: what a GPU and a model are, in the units the data files use.

The data files (``data/gpus.yaml``, ``data/models.yaml``) state numbers the way datasheets
and config.json do (GB, TB/s, dense TFLOPS, billions of parameters); the properties here
convert them to base SI units for the engine. Every row carries its sources.

Precision support is the *presence* of a dense-FLOPS figure: a GPU without an ``fp8`` key
has no FP8 tensor cores. Zero is never used to mean "unsupported", and one precision's
figure is never extrapolated from another's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xlsizer.precision import Precision
from xlsizer.units import GB, TERA


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class GpuSpec(_Row):
    """One accelerator SKU (per GPU, not per node)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
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
    def interconnect_bytes_per_s(self) -> float:
        """Scale-up bandwidth per GPU per direction, bytes/s (half the bidirectional figure)."""
        return self.interconnect_gb_s * GB / 2.0

    def supports(self, precision: Precision) -> bool:
        """True if the GPU has tensor cores for the precision's compute format."""
        return precision.compute in self.dense_tflops or (
            precision.compute is Precision.BF16 and Precision.FP16 in self.dense_tflops
        )

    def dense_flops(self, precision: Precision) -> float:
        """Dense tensor FLOP/s at the precision's compute format.

        Raises ``UnsupportedPrecisionError`` when the catalog has no figure for it.
        """
        from xlsizer.errors import UnsupportedPrecisionError

        c = precision.compute
        tf = self.dense_tflops.get(c)
        if tf is None and c is Precision.BF16:
            tf = self.dense_tflops.get(Precision.FP16)
        if tf is None:
            raise UnsupportedPrecisionError(self.id, c.value)
        return tf * TERA


class MlaSpec(_Row):
    """Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds a compressed latent."""

    kv_lora_rank: int = Field(gt=0, description="latent width per layer, elements")
    qk_rope_head_dim: int = Field(ge=0, description="decoupled RoPE key width per layer, elements")


class SlidingWindowSpec(_Row):
    """Layers whose attention only looks back a bounded number of tokens."""

    window_tokens: int = Field(gt=0, description="tokens a bounded layer keeps")
    bounded_layers: int = Field(gt=0, description="how many layers are bounded (the rest keep all)")
    kind: Literal["sliding", "chunked"] = "sliding"
    pattern: str = Field("", description="how bounded and full layers alternate, in words")


class MoeSpec(_Row):
    """Mixture-of-experts layout."""

    experts: int = Field(ge=2, description="routed experts per MoE layer")
    experts_per_token: int = Field(ge=1, description="routed experts each token uses")
    shared_experts: int = Field(0, ge=0, description="always-on experts per MoE layer")
    expert_intermediate_size: int = Field(gt=0, description="FFN width of one expert")
    moe_layers: int = Field(gt=0, description="layers that are MoE (others are dense FFN)")


class ModelSpec(_Row):
    """One model's architecture, as its config.json states it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
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
        if self.active_params_b is not None and self.active_params_b > self.total_params_b:
            raise ValueError(f"{self.id}: active_params_b exceeds total_params_b")
        if self.sliding_window and self.sliding_window.bounded_layers > self.layers:
            raise ValueError(f"{self.id}: more bounded layers than layers")
        return self

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
