"""Collectives over the scale-up domain vs across it (engine/step.py): NCCL's latency model
and the attention-data-parallel all-gather / reduce-scatter of MoE layers."""

from __future__ import annotations

import pytest

from xlsizer.catalog.loader import load_catalog
from xlsizer.engine.step import (
    ALLREDUCE_LATENCY_S,
    _setup,
    collective_link,
    ring_latency_s,
    tree_network_latency_s,
)


def test_nvl72_keeps_32_gpus_on_nvlink_a_b200_node_does_not():
    cat = load_catalog()
    gb200, b200 = cat.gpu("gb200"), cat.gpu("b200")
    assert collective_link(gb200, 32) == (gb200.interconnect_bytes_per_s, 1)  # one NVL72 rack
    bw, domains = collective_link(b200, 64)
    assert domains == 8 and bw == pytest.approx(100e9)  # the catalog's 100 GB/s per GPU out
    assert collective_link(b200, 8) == (b200.interconnect_bytes_per_s, 1)


def test_nccl_latency_model_by_hand():
    # tree all-reduce over 8 domains: 2 x ceil(log2 8) network hops of 5 us
    assert tree_network_latency_s(8) == pytest.approx(30e-6)
    assert tree_network_latency_s(1) == 0.0
    # 8-GPU ring inside a node: 6.6 + 7 x 0.47 us = 9.89 us (the 10 us all-reduce constant)
    assert ring_latency_s(8, 1) == pytest.approx(9.89e-6)
    assert ring_latency_s(8, 1) == pytest.approx(ALLREDUCE_LATENCY_S, rel=0.02)
    # 64 GPUs in 8 nodes: 56 NVLink steps at 0.47 x 1.8 us, 7 network steps at 2.7 us
    assert ring_latency_s(64, 8) == pytest.approx(6.6e-6 + 56 * 0.846e-6 + 7 * 2.7e-6)


def test_tensor_parallel_beyond_a_node_pays_the_network():
    *_, inside = _setup("llama-3.1-70b", "h100-sxm", 8, 1, 1, "fp8", "fp8", "vllm", None)
    *_, across = _setup("llama-3.1-70b", "h100-sxm", 16, 1, 1, "fp8", "fp8", "vllm", None)
    # 160 all-reduces per pass (80 layers x attention + FFN), each 2 x 1 x 5 us more over 2 nodes
    assert across.comm_fixed_s - inside.comm_fixed_s == pytest.approx(160 * 10e-6)
    assert across.comm_per_token_s > inside.comm_per_token_s  # 50 GB/s NIC vs NVLink


def test_attention_data_parallel_moe_gathers_every_rank_tokens():
    """DEP: each GPU receives and sends (dp - 1)/dp of all the pass's tokens per MoE layer
    (all-gather + reduce-scatter), far more than attention-TP's one all-reduce of its share."""
    m = load_catalog().model("deepseek-v3")
    g = load_catalog().gpu("b200")
    *_, dep = _setup(m, g, 1, 1, 8, "fp4", "fp8", "tensorrt-llm", None, dp=8)
    h2 = m.hidden_size * 2.0
    per_token = 2 * 58 * (7 / 8) * h2 / g.interconnect_bytes_per_s
    assert dep.a2a_per_token_s == pytest.approx(per_token)
    assert dep.a2a_fixed_s == pytest.approx(2 * 58 * ring_latency_s(8, 1))
    *_, tep = _setup(m, g, 8, 1, 8, "fp4", "fp8", "tensorrt-llm", None)
    # attention TP 8 with 8-way EP: the MoE output summed by one all-reduce per MoE layer
    assert tep.a2a_fixed_s == pytest.approx(58 * ALLREDUCE_LATENCY_S)


def test_nvlink_bridged_cards_meet_at_pcie_beyond_their_bridge():
    """H100 NVL bridges pairs and H200 NVL quads: a collective over more GPUs of the server
    crosses the cards' PCIe Gen5 x16 slots (128 GB/s both ways, 64 GB/s each way)."""
    cat = load_catalog()
    h100_nvl, h200_nvl, sxm = cat.gpu("h100-nvl"), cat.gpu("h200-nvl"), cat.gpu("h100-sxm")
    assert collective_link(h100_nvl, 2) == (300e9, 1)  # the bridge: 600 GB/s both ways
    assert collective_link(h100_nvl, 4) == (64e9, 1)
    assert collective_link(h200_nvl, 4) == (450e9, 1)
    assert collective_link(h200_nvl, 8) == (64e9, 1)
    assert collective_link(sxm, 8) == (450e9, 1)  # NVSwitch joins the whole node
    # TP over PCIe moves the same bytes 300/64 times slower than over the bridge would
    *_, bridged = _setup("llama-3.1-70b", h100_nvl, 8, 1, 1, "fp8", "fp8", "vllm", None)
    free = h100_nvl.model_copy(update={"bridge_gpus": None, "host_link_gb_s": None})
    *_, whole = _setup("llama-3.1-70b", free, 8, 1, 1, "fp8", "fp8", "vllm", None)
    assert bridged.comm_per_token_s == pytest.approx(whole.comm_per_token_s * 300 / 64)
    # 160 all-reduces of 2 x 7/8 x 8,192 x 2 bytes per token at 64 GB/s
    assert bridged.comm_per_token_s == pytest.approx(160 * 2 * 7 / 8 * 8192 * 2 / 64e9)


def test_a_bridge_needs_its_pcie_link_and_fewer_gpus_than_a_node():
    row = load_catalog().gpu("h100-nvl").model_dump()
    from xlsizer.catalog.schema import GpuSpec

    with pytest.raises(ValueError, match="bridge_gpus needs host_link_gb_s"):
        GpuSpec.model_validate({**row, "host_link_gb_s": None})
    with pytest.raises(ValueError, match="fewer GPUs than a node"):
        GpuSpec.model_validate({**row, "bridge_gpus": 8})


def test_amd_mesh_collectives_run_over_one_link_per_peer():
    """MI300X-class platforms and Gaudi 3 join each pair of GPUs by its own link (no switch): a
    collective over k GPUs uses k - 1 of a GPU's 7 links, "(N-1) x 76.8 GB/s" on MI355X (vLLM
    PR 39080); the catalog's interconnect figure is all seven."""
    cat = load_catalog()
    mi300x = cat.gpu("mi300x")
    assert [collective_link(mi300x, k)[0] for k in (2, 4, 8)] == pytest.approx([64e9, 192e9, 448e9])
    assert [collective_link(cat.gpu("mi355x"), k)[0] for k in (2, 4, 8)] == pytest.approx(
        [76.5e9, 229.5e9, 535.5e9])
    assert collective_link(cat.gpu("gaudi3"), 2)[0] == pytest.approx(75e9)  # 3 of its 21 RoCE ports
    # TP=2's all-reduce bytes take 7x as long as the seven links' sum promised
    *_, mesh = _setup("llama-3.1-70b", mi300x, 2, 1, 1, "fp8", "fp8", "vllm", None)
    *_, switched = _setup("llama-3.1-70b", mi300x.model_copy(update={"mesh_peers": None}), 2, 1, 1, "fp8", "fp8",
                          "vllm", None)
    assert mesh.comm_per_token_s == pytest.approx(7 * switched.comm_per_token_s)
