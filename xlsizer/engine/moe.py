"""Mixture-of-experts terms of a step: routed-expert GEMMs at grouped-kernel efficiency, load
imbalance across experts, experts touched (the all-to-all dispatch and combine is a
collective, in ``step._build_replica``).

Every term with its unit and source:

- **Experts touched** by T routed tokens, each picking k of E experts: E × (1 − (1 − k/E)^T)
  (each expert is missed by one token with probability 1 − k/E, independently to first
  order); their weight bytes stream once per pass.
- **Grouped kernels** (one launch over all local experts, as vLLM's fused_moe, SGLang's and
  TensorRT-LLM's MoE kernels do) stream expert weights and multiply at a lower share of peak
  than one large dense GEMM: ``GROUPED_BANDWIDTH_RATIO`` and ``GROUPED_COMPUTE_RATIO`` below,
  measured on an H100 and an H200 (shared reference gpu-measurements.md, scripts
  tools/gpu-probe/moe_probe.py).
- **Load imbalance**: the busiest expert paces a grouped kernel. With n = T·k assignments over
  E experts the load of one expert is about Poisson with mean m = n / E; the expected maximum
  of E such loads is m + sqrt(2 m ln E) (the Gaussian extreme-value approximation,
  E[max of E normals] ≈ μ + σ sqrt(2 ln E), σ = sqrt(m)), so the expert math takes
  I(T) = 1 + sqrt(2 ln E / m) times its balanced time. Check against the probe's random
  routing: deepseek-v3 shape T = 4096, m = 128: I = 1.29 (measured max/mean 1.2); T = 16384:
  1.15 (1.1); gpt-oss T = 1024, m = 32: 1.55 (1.4). It overestimates by 5-10%, the
  direction that keeps the sizing on the safe side.
- **Routed activation traffic**: every (token, expert) pair moves the token's hidden state
  through HBM several times besides the weights: the permute writes it (at the GEMM input
  format) and the grouped GEMM reads it back; the GEMM writes its BF16 output and the combine
  reads it; between the two GEMMs the gate/up outputs (BF16) are written and read by the
  activation, whose output (input format) is written and read. A GPU holding 1/ep of the
  experts and a 1/moe_tp slice of their width sees k/ep of each token's pairs, each over the
  full hidden size and the slice's width (``routed_activation_bytes``). Small beside the
  weights in decode; in prefill, with thousands of tokens a pass, it adds a quarter to a
  third to a MoE prompt's time (DeepSeek-V3: about 300 KB per token per MoE layer per GPU at
  moe_tp 8), which is what the engines' permute and finalize kernels spend.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xlsizer.engine.layers import ffn_matrices

if TYPE_CHECKING:
    from xlsizer.catalog.schema import ModelSpec
    from xlsizer.precision import Precision

ACTIVATION_BF16_BYTES: float = 2.0
"""Bytes per element of the grouped GEMMs' outputs (BF16 accumulate-and-store, as vLLM's
fused_moe, SGLang's and TensorRT-LLM's MoE kernels write them), bytes."""

GROUPED_BANDWIDTH_RATIO: float = 0.80
"""Expert weight streaming in grouped kernels, as a fraction of the dense weight streaming
rate, dimensionless, for a GPU without its own measurement. gpu-measurements.md: grouped
expert GEMMs at T = 16-1024 reach 2.64-3.23 TB/s on an H200 (dense GEMV-like streaming
4.15-4.26 TB/s: ratio 0.70) and 2.5-2.8 TB/s on an H100 (dense 2.84-2.88: ratio 0.93); those
two GPUs carry their measured ratio in the catalog (``GpuSpec.grouped_bandwidth_ratio``),
every other GPU the mean of the two, 0.80."""

GROUPED_COMPUTE_RATIO: float = 0.80
"""Expert GEMM math in grouped kernels at balanced load, as a fraction of the dense GEMM
rate, dimensionless. gpu-measurements.md, H200 at T = 16384 (compute-bound): 465-546 BF16
TFLOPS = 0.51 of peak on average with max/mean load 1.1, vs 0.67-0.79 (mean 0.73) for large
dense BF16 GEMMs; corrected for this module's imbalance factor at that T (1.15):
0.51 × 1.15 / 0.73 = 0.80."""


def imbalance(tokens: float, k_over_e: float, ln_e: float) -> float:
    """I(T) = 1 + sqrt(2 ln E / m), m = T·k/E: the busiest expert's load over the mean load
    (dimensionless, ≥ 1) for ``tokens`` routed tokens."""
    m = tokens * k_over_e
    if m <= 0.0:
        return 1.0
    return 1.0 + math.sqrt(2.0 * ln_e / m)


def busiest_expert_share(experts: int, ep: int) -> float:
    """The routed-expert weights the busiest GPU holds and streams over an even split's,
    dimensionless, ≥ 1: ceil(E/ep)·ep/E. Experts are whole: vLLM gives the remainder of E/ep
    one more expert each on the first ranks (``determine_expert_map``), and an expert-load
    balancer (EPLB) fills every GPU to ceil(E/ep) slots with redundant copies; either way a
    GPU holds ceil(E/ep) experts and the step waits for it. Qwen3-Coder-480B's 160 experts
    over 64 GPUs: 3 on a GPU, not 2.5 (1.2); DeepSeek-R1's 256 over 64: 1."""
    return math.ceil(experts / ep) * ep / experts if ep > 1 else 1.0


def touched_fraction(tokens: float, log_miss: float) -> float:
    """Expected share of the experts that ``tokens`` tokens touch: 1 − (1 − k/E)^T,
    ``log_miss`` = ln(1 − k/E)."""
    return 1.0 - math.exp(log_miss * tokens)


def routed_activation_bytes(model: ModelSpec, compute: Precision, tp: int, dp: int,
                            ep: int) -> float:
    """HBM bytes one GPU moves per token of a pass for the routed tokens' activations, over
    all MoE layers (0 for a dense model): k/ep pairs per token per MoE layer, each
    h × (2a + 2·2) for the permute, GEMM input, GEMM output and combine, plus the slice's
    width × (2·2·(matrices − 1) + 2a) between the GEMMs; a = bytes per element of the GEMM
    input format ``compute`` (FP8 1, FP4 0.5, BF16 2)."""
    moe = model.moe
    if moe is None:
        return 0.0
    a_in = compute.bytes_per_element
    ep_ = max(ep, 1)
    moe_tp = max((tp * dp) // ep_, 1)  # GPUs sharing one expert's width
    h = moe.expert_hidden_size or model.hidden_size
    width = moe.expert_intermediate_size / moe_tp
    pair = (h * (2.0 * a_in + 2.0 * ACTIVATION_BF16_BYTES)
            + width * (2.0 * (ffn_matrices(model) - 1) * ACTIVATION_BF16_BYTES + 2.0 * a_in))
    return moe.moe_layers * moe.experts_per_token / ep_ * pair
