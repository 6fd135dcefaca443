"""Turn the inputs' model and GPU choices into catalog specs (catalog row, overrides, or custom)."""

from __future__ import annotations

import math
from functools import lru_cache

from xlsizer.catalog.loader import load_catalog
from xlsizer.catalog.schema import GpuSpec, MlaSpec, ModelSpec, MoeSpec
from xlsizer.errors import InputError
from xlsizer.inputs import SizingInputs
from xlsizer.precision import Precision

CUSTOM_MOE_EXPERTS = 8
"""Routed experts assumed for a custom MoE model (Mixtral-like 8 experts, top-2), because the
course's custom-model fields do not include the expert layout. Only the MoE weight-read
estimate at small batch depends on it."""
CUSTOM_MOE_TOP_K = 2
CUSTOM_MLA = MlaSpec(kv_lora_rank=512, qk_rope_head_dim=64)
"""Latent sizes assumed for a custom MLA model: DeepSeek-V2/V3's (catalog.md model note 3)."""
DENSE_PARAMS_PER_LAYER_PER_HIDDEN2 = 12.0
"""A dense transformer layer holds about 12·d² parameters (4·d² attention + 8·d² MLP); used
only to estimate the hidden size of a custom model from its parameter count and layers."""
PCIE_GEN5_X16_GB_S = 128.0
"""PCIe Gen5 x16, GB/s bidirectional (64 per direction): the fallback scale-up path of a
custom GPU without a stated interconnect."""


@lru_cache(maxsize=256)
def _custom_model(p_b: float, arch: str, active_b: float | None, layers: int, kv_heads: int,
                  head_dim: int, max_ctx: int) -> ModelSpec:
    hidden = max(head_dim, round(math.sqrt(p_b * 1e9 / (DENSE_PARAMS_PER_LAYER_PER_HIDDEN2 * layers)) / 128) * 128)
    # dense = multi-head attention: as many query heads as the KV heads the user gave; grouped
    # attention: the nearest whole number of query heads per KV head (the schema requires it)
    heads = kv_heads if arch == "dense" else kv_heads * max(1, round(hidden / head_dim / kv_heads))
    attention = {"dense": "mha", "gqa": "gqa", "moe": "gqa", "mla": "mla"}[arch]
    moe = None
    if arch == "moe":
        moe = MoeSpec(experts=CUSTOM_MOE_EXPERTS, experts_per_token=CUSTOM_MOE_TOP_K,
                      expert_intermediate_size=4 * hidden, moe_layers=layers)
    return ModelSpec(
        id="custom", name=f"Custom {p_b:g}B {arch}", family="custom",
        total_params_b=p_b, active_params_b=(active_b if arch == "moe" else None),
        layers=layers, hidden_size=hidden, attention_heads=heads, kv_heads=kv_heads,
        head_dim=head_dim, vocab_size=128256, max_context_tokens=max_ctx, attention=attention,
        mla=CUSTOM_MLA if arch == "mla" else None, moe=moe,
        sources=("user input; hidden size estimated as sqrt(P / (12 L))",),
    )


def resolve_model(inp: SizingInputs) -> ModelSpec:
    """The model spec the engine sizes: a catalog row (with any overrides) or a custom model."""
    if inp.model.lower() == "custom":
        assert inp.parameter_count_b and inp.model_architecture and inp.num_layers
        assert inp.num_kv_heads and inp.head_dim
        return _custom_model(inp.parameter_count_b, inp.model_architecture, inp.active_params_b,
                             inp.num_layers, inp.num_kv_heads, inp.head_dim, max(inp.max_context_tokens, 1))
    spec = load_catalog().model(inp.model)
    if inp.model_architecture is not None and inp.model_architecture != spec.architecture:
        raise InputError("model_architecture", inp.model_architecture,
                         f"empty or '{spec.architecture}' for {spec.id}",
                         "use model 'custom' to size a different architecture")
    update: dict[str, object] = {}
    if inp.parameter_count_b is not None and inp.parameter_count_b != spec.total_params_b:
        update["total_params_b"] = inp.parameter_count_b
    if inp.active_params_b is not None:
        if not spec.is_moe:
            raise InputError("active_params_b", inp.active_params_b, f"empty for dense model {spec.id}")
        update["active_params_b"] = inp.active_params_b
    if inp.num_layers is not None:
        update["layers"] = inp.num_layers
    if inp.num_kv_heads is not None:
        update["kv_heads"] = inp.num_kv_heads
    if inp.head_dim is not None:
        update["head_dim"] = inp.head_dim
    if not update:
        return spec
    new = spec.model_copy(update=update)
    if new.active_params_b is not None and new.active_params_b > new.total_params_b:
        raise InputError("active_params_b", new.active_params_b, f"at most {new.total_params_b:g}")
    return new


@lru_cache(maxsize=256)
def _custom_gpu(mem: float, bw: float, bf16: float, fp8: float | None, fp4: float | None,
                int8: float | None, tdp: float, per_node: int, ic: float | None) -> GpuSpec:
    tflops = {Precision.BF16: bf16, Precision.FP16: bf16}
    for p, v in ((Precision.FP8, fp8), (Precision.FP4, fp4), (Precision.INT8, int8)):
        if v is not None:
            tflops[p] = v
    return GpuSpec(
        id="custom", name=f"Custom GPU {mem:g} GB", vendor="custom", memory_gb=mem,
        memory_bandwidth_tb_s=bw, dense_tflops=tflops, tdp_w=tdp,
        interconnect="custom" if ic else "PCIe Gen5 x16", interconnect_gb_s=ic or PCIE_GEN5_X16_GB_S,
        gpus_per_node=per_node, form_factor="custom", sources=("user input",),
    )


def resolve_gpu(inp: SizingInputs) -> GpuSpec | None:
    """The GPU the user fixed, or None for the automatic choice."""
    g = inp.gpu.lower()
    if g == "auto":
        return None
    if g == "custom":
        assert inp.gpu_memory_gb and inp.gpu_bandwidth_tb_s and inp.gpu_bf16_tflops and inp.gpu_tdp_w
        return _custom_gpu(inp.gpu_memory_gb, inp.gpu_bandwidth_tb_s, inp.gpu_bf16_tflops,
                           inp.gpu_fp8_tflops, inp.gpu_fp4_tflops, inp.gpu_int8_tops, inp.gpu_tdp_w,
                           inp.gpu_per_node or 8, inp.gpu_interconnect_gb_s)
    return load_catalog().gpu(inp.gpu)


def output_tokens(inp: SizingInputs, model: ModelSpec) -> int:
    """Average output tokens: the input, else the model's reasoning default, else 500 (course)."""
    if inp.avg_output_tokens is not None:
        return inp.avg_output_tokens
    return model.default_output_tokens or DEFAULT_OUTPUT_TOKENS


DEFAULT_OUTPUT_TOKENS = 500
"""course.md §10.1: avg_output_tokens default."""
