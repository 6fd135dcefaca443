"""Numeric precisions: storage bytes per element and the tensor-core rate they compute at.

Bytes per element follow course.md §5 (FP16/BF16 = 2, FP8/INT8 = 1, INT4 = 0.5) and the
OCP microscaling formats for FP4: ``bytes_per_element``, the figure the course's memory plan
uses. What a kernel actually streams also carries the block formats' scale factors:
``stored_bytes_per_element`` (used by the performance model):
- FP4 as NVFP4: one FP8 (E4M3) scale per 16 values, 0.5 + 1/16 = 0.5625 B (NVIDIA
  TensorRT Model Optimizer NVFP4 format; MXFP4's one E8M0 scale per 32 values, 0.53125 B,
  is within 6% of it and is counted the same);
- INT4 weight-only (AWQ/GPTQ, group size 128): one FP16 scale and one packed zero point per
  128 values, 0.5 + (2 + 0.5)/128 ≈ 0.5195 B;
- FP8 block-scaled (DeepSeek-V3's 128×128 blocks, one FP32 scale each): 1 + 4/16384 B, and
  per-tensor FP8 1 B: both counted as 1.0 (0.02% apart);
- INT8 per-channel scales: 1 B (one scale per 4k-16k values).
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    """A storage or compute number format."""

    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"
    FP4 = "fp4"

    @property
    def bytes_per_element(self) -> float:
        """Storage bytes per value."""
        return _BYTES[self]

    @property
    def stored_bytes_per_element(self) -> float:
        """Bytes per value a kernel streams, the block scale factors included (see above)."""
        return _STORED_BYTES.get(self, _BYTES[self])

    @property
    def compute(self) -> Precision:
        """The tensor-core format a matmul with weights in this format runs at.

        INT4 is a weight-only format (W4A16: AWQ/GPTQ kernels dequantize to 16-bit and
        multiply at the BF16 rate), so it needs no INT4 tensor cores. FP8, INT8 and FP4 run
        on their own tensor-core paths and need the hardware to have them.
        """
        if self in (Precision.INT4, Precision.FP16):
            return Precision.BF16
        return self

    @property
    def label(self) -> str:
        """Upper-case label as the course writes it (FP8, BF16)."""
        return self.value.upper()


_BYTES: dict[Precision, float] = {
    Precision.FP16: 2.0,
    Precision.BF16: 2.0,
    Precision.FP8: 1.0,
    Precision.INT8: 1.0,
    Precision.INT4: 0.5,
    Precision.FP4: 0.5,
}

_STORED_BYTES: dict[Precision, float] = {
    Precision.FP4: 0.5 + 1.0 / 16.0,  # NVFP4: one FP8 scale per 16 values
    Precision.INT4: 0.5 + 2.5 / 128.0,  # AWQ/GPTQ group 128: FP16 scale + 4-bit zero point
}

ALIASES: dict[str, Precision] = {
    "float16": Precision.FP16,
    "half": Precision.FP16,
    "bfloat16": Precision.BF16,
    "e4m3": Precision.FP8,
    "fp8_e4m3": Precision.FP8,
    "float8": Precision.FP8,
    "nvfp4": Precision.FP4,
    "mxfp4": Precision.FP4,
    "w4a16": Precision.INT4,
}


def parse_precision(value: object) -> Precision:
    """Read a precision from user text (case-insensitive, common aliases accepted)."""
    if isinstance(value, Precision):
        return value
    text = str(value).strip().lower().replace("-", "_")
    if text in ALIASES:
        return ALIASES[text]
    return Precision(text)


def default_kv_precision(weights: Precision) -> Precision:
    """KV-cache format when the user leaves it on 'auto': the weights' format for 16- and 8-bit
    weights (course.md §10.3 step 2: KV follows precision), BF16 for INT4 (weight-only
    AWQ/GPTQ keep 16-bit activations and KV), FP8 for FP4 (NVIDIA's FP4 checkpoints keep KV
    in FP8)."""
    if weights is Precision.INT4:
        return Precision.BF16
    if weights is Precision.FP4:
        return Precision.FP8
    return weights
