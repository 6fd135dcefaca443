"""Per-layer architecture in the step physics (engine/layers.py): one hand-computed figure
per architecture family for one decode step at BF16 KV on one GPU (tp = pp = 1)."""

from __future__ import annotations

import pytest

from xlsizer.catalog.loader import load_catalog
from xlsizer.engine import layers
from xlsizer.engine.memory import kv_bytes_for_context
from xlsizer.engine.step import DEFAULT_TUNING, _setup, _workload


def _step(model_id: str, isl: float, osl: float, gpu: str = "h200-sxm", tp: int = 1):
    *_, rep = _setup(model_id, gpu, tp, 1, 1, "bf16", "bf16", "vllm", None)
    return rep, _workload(rep, isl, osl, None, DEFAULT_TUNING)


def test_dense_gqa_reads_every_layer_every_token() -> None:
    # Llama 3.1 70B: 80 layers x 8 KV heads x (128 + 128) x 2 B = 4,096 B per token per layer;
    # mean decode context 1000 + 200/2 = 1100 tokens
    _, st = _step("llama-3.1-70b", 1000, 200)
    assert st.kv_read == pytest.approx(80 * 4096 * 1100)
    # attention math: 2 x 64 heads x (128 + 128) per (query, token) per layer
    assert st.attn_flops == pytest.approx(80 * 2 * 64 * 256 * 1100)


def test_sliding_window_layers_read_at_most_their_window() -> None:
    # gpt-oss-120b: 18 full + 18 window-128 layers, 8 KV heads x (64 + 64) x 2 B = 2,048 B
    _, st = _step("gpt-oss-120b", 1000, 200)
    assert st.kv_read == pytest.approx(18 * 2048 * 1100 + 18 * 2048 * 128)


def test_window_layers_with_their_own_heads() -> None:
    # MiMo-V2-Flash: window layers have 8 KV heads of 192/128 (config swa_*), full ones 4
    m = load_catalog().model("mimo-v2-flash")
    sw = m.sliding_window
    assert sw is not None and sw.kv_heads == 8
    _, st = _step("mimo-v2-flash", 3999, 2)  # mean context 4,000
    full = m.attention_layer_count - sw.bounded_layers
    k, v = m.head_dim, m.v_head_dim or m.head_dim
    wk, wv = sw.head_dim, sw.v_head_dim or sw.head_dim
    expected = (full * m.kv_heads * (k + v) * 2 * 4000
                + sw.bounded_layers * 8 * (wk + wv) * 2 * sw.window_tokens)
    assert st.kv_read == pytest.approx(expected)


def test_hybrid_recurrent_layers_move_their_state_not_kv() -> None:
    # Qwen3.5-122B-A10B: 12 attention layers (2 KV heads x (256 + 256) x 2 B = 2,048 B) and
    # 36 gated-DeltaNet layers whose state (1,048,576 FP32 + 36,864 BF16 conv elements each)
    # is read and written back every step: 2 x 36 x 4,268,032 B
    _, st = _step("qwen3.5-122b-a10b", 1000, 200)
    state = 36 * (1_048_576 * 4 + 36_864 * 2)
    assert st.kv_read == pytest.approx(12 * 2048 * 1100 + 2 * state)
    # a request holds its KV for 1,200 tokens plus one state
    assert st.kv_reserved == pytest.approx(12 * 2048 * 1200 + state)


def test_sparse_attention_reads_top_k_plus_indexer_keys() -> None:
    # DeepSeek-V3.2 (DSA): 61 MLA layers, latent (512 + 64) x 2 B = 1,152 B per token, each
    # query reads the top 2,048; the indexer reads every token's 128-wide key (x 2 B)
    _, st = _step("deepseek-v3.2", 9000, 2000, gpu="b200")
    assert st.kv_read == pytest.approx(61 * 1152 * 2048 + 61 * 256 * 10_000)
    # the cache holds every token
    assert st.kv_reserved == pytest.approx(61 * (1152 + 256) * 11_000)


def test_mla_decodes_absorbed_and_prefills_expanded() -> None:
    m = load_catalog().model("deepseek-v3")
    (t,) = layers.attention_terms(m, 2.0)
    assert t.decode_flops == 2 * 128 * (2 * 512 + 64)  # over the latent
    assert t.prefill_flops == 2 * 128 * ((128 + 64) + 128)  # d_qk 192, d_v 128


@pytest.mark.parametrize("model_id", sorted(load_catalog().models))
def test_step_cache_equals_memory_model(model_id: str) -> None:
    """The cache a request reserves in the step physics is memory.py's window-aware KV plus
    state, for every catalog model (compressed DeepSeek-V4 and sparse layers included)."""
    m = load_catalog().model(model_id)
    _, st = _step(model_id, 3000, 1000, gpu="b200")
    assert st.kv_reserved == pytest.approx(kv_bytes_for_context(m, 4000, 2.0))


def test_non_gated_and_latent_experts() -> None:
    # Nemotron-3 Super: relu^2 experts (2 matrices; 3 would exceed the model's 120.7B),
    # 512 experts working in a 1,024-wide latent: 2 x 1024 x 2688 per expert
    m = load_catalog().model("nvidia-nemotron-3-super-120b-a12b")
    assert layers.ffn_matrices(m) == 2
    assert layers.expert_params(m) == 2 * 1024 * 2688
    # its 88 blocks are mixers (8 attention + 40 Mamba-2) or MoE (40): one all-reduce each
    assert layers.mixer_blocks(m) + layers.ffn_blocks(m) == 88
    q = load_catalog().model("qwen3-235b-a22b")
    assert layers.ffn_matrices(q) == 3
    assert layers.mixer_blocks(q) + layers.ffn_blocks(q) == 2 * q.layers


def test_first_k_dense_layers_stream_no_experts() -> None:
    # DeepSeek-V3: 58 MoE layers of 256 gated experts 3 x 7168 x 2048 (the first 3 dense);
    # routed bytes at BF16 on one GPU (the config's routed share of the stated 671 B, counted
    # 671.03 B: 4e-5 off the shapes; 61 MoE layers would be 5% more)
    rep, _ = _step("deepseek-v3", 1000, 200, gpu="b200", tp=8)
    assert rep.routed_bytes * 8 == pytest.approx(58 * 256 * 3 * 7168 * 2048 * 2.0, rel=1e-4)


def test_expert_parallel_gpus_hold_whole_experts() -> None:
    """Qwen3-Coder-480B's 160 experts over 64 GPUs: a GPU holds 3 experts, not 2.5 (vLLM puts
    the remainder on the first ranks; a load balancer fills every GPU's slots with copies),
    and the step streams, and the KV budget pays for, the busiest GPU's 3."""
    from xlsizer.engine.moe import busiest_expert_share

    assert busiest_expert_share(160, 64) == pytest.approx(1.2)
    assert busiest_expert_share(256, 64) == busiest_expert_share(160, 8) == busiest_expert_share(160, 1) == 1.0
    assert busiest_expert_share(256, 144) == pytest.approx(2 * 144 / 256)  # DeepSeek-R1 at EP144: 2 slots each

    def replica(ep: int):
        *_, rep = _setup("qwen3-coder-480b-a35b-instruct", "gb200", 1, 1, ep, "fp8", "fp8", "vllm", None, dp=ep)
        return rep

    even, uneven = replica(32), replica(64)  # 5 experts on every GPU; 3 on the busiest, 2.5 on average
    per_expert = even.routed_bytes * 32 / 160
    assert uneven.routed_bytes == pytest.approx(3 * per_expert)
    assert even.routed_bytes == pytest.approx(5 * per_expert)
    # each rank's KV room is the busiest GPU's: 64 x 3 expert slots come off the memory, not 160
    from xlsizer.engine.engines import engine_profile
    from xlsizer.engine.memory import activations_bytes

    eng = engine_profile("vllm")
    held = uneven.weights_resident_bytes + 32 * per_expert  # + 0.5 expert on each of the 64 GPUs
    mem, act = 64 * load_catalog().gpu("gb200").memory_bytes, activations_bytes(uneven.weights_resident_bytes)
    expected = eng.kv_fraction * (mem - held - act) if eng.of_free else eng.kv_fraction * mem - held - act
    assert uneven.kv_budget_bytes == pytest.approx(expected)
