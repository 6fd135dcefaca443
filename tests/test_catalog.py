"""The packaged catalog: it loads, ids resolve, and the facts the engine relies on are right."""

from __future__ import annotations

import re

import pytest

from xlsizer.catalog import load_catalog
from xlsizer.errors import UnknownIdError, UnsupportedPrecisionError
from xlsizer.precision import Precision

# The distinct `model` and `gpu` ids used in validation/calibration.csv, copied here so the
# tests never read the shared reference folder at run time.
CALIBRATION_MODEL_IDS = (
    "llama-3.3-70b",
    "llama-3.1-8b",
    "llama-3-70b",
    "deepseek-r1",
    "gpt-j-6b",
    "llama-2-7b",
    "mistral-7b",
    "llama-2-70b",
    "gpt-3-175b",
    "opt-13b",
    "llama-3.1-70b",
)
CALIBRATION_GPU_IDS = ("h100-sxm", "h200-sxm", "b200", "gb200", "h800", "mi300x")

# course.md §10.3 step 9: the only SKUs the automatic GPU search considers.
AUTO_PICK_IDS = {"l40s", "a100-80gb", "h100-sxm", "h200-sxm", "mi300x", "b200"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _all_rows(catalog):
    return [*catalog.gpus.values(), *catalog.models.values()]


# --- loading and id resolution ------------------------------------------------------------


def test_catalog_loads_with_expected_rows(catalog):
    assert len(catalog.gpus) >= 25
    assert len(catalog.models) >= 33
    assert load_catalog() is catalog  # parsed once, then shared


@pytest.mark.parametrize("model_id", CALIBRATION_MODEL_IDS)
def test_calibration_model_ids_resolve(catalog, model_id):
    assert catalog.model(model_id).id == model_id


@pytest.mark.parametrize("gpu_id", CALIBRATION_GPU_IDS)
def test_calibration_gpu_ids_resolve(catalog, gpu_id):
    assert catalog.gpu(gpu_id).id == gpu_id


@pytest.mark.parametrize(
    ("alias", "gpu_id"),
    [
        ("H100", "h100-sxm"),
        ("h200", "h200-sxm"),
        ("A100", "a100-80gb"),
        ("A100 80GB SXM", "a100-80gb"),
        ("DGX B200", "b200"),
        ("b200-sxm", "b200"),
    ],
)
def test_gpu_aliases_resolve(catalog, alias, gpu_id):
    assert catalog.gpu(alias).id == gpu_id


@pytest.mark.parametrize(
    ("alias", "model_id"),
    [
        ("Llama 3.1 8B", "llama-3.1-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
        ("mistral-7b-v0.1", "mistral-7b"),
    ],
)
def test_model_aliases_resolve(catalog, alias, model_id):
    assert catalog.model(alias).id == model_id


def test_unknown_gpu_names_close_ids(catalog):
    with pytest.raises(UnknownIdError) as exc:
        catalog.gpu("h100-sxn")
    assert "h100-sxm" in exc.value.suggestions
    assert "h100-sxm" in str(exc.value)


def test_unknown_model_names_close_ids(catalog):
    with pytest.raises(UnknownIdError) as exc:
        catalog.model("llama-3.1-7b")
    assert "llama-3.1-8b" in exc.value.suggestions
    assert isinstance(exc.value, KeyError)  # callers may catch it as a lookup failure


# --- precision support ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu_id", "precision", "supported"),
    [
        ("a100-80gb", Precision.FP8, False),  # Ampere: no FP8 tensor cores
        ("a100-80gb", Precision.INT8, True),
        ("a100-80gb", Precision.INT4, True),  # weight-only, computes at BF16
        ("h100-sxm", Precision.FP8, True),
        ("h100-sxm", Precision.FP4, False),  # Hopper: no FP4
        ("b200", Precision.FP4, True),
        ("l40s", Precision.FP8, True),  # Ada has FP8 despite the course page
        ("l4", Precision.FP8, True),
        ("mi300x", Precision.FP8, True),
        ("mi300x", Precision.FP4, False),
    ],
)
def test_precision_support(catalog, gpu_id, precision, supported):
    assert catalog.gpu(gpu_id).supports(precision) is supported


def test_missing_precision_raises_instead_of_extrapolating(catalog):
    with pytest.raises(UnsupportedPrecisionError):
        catalog.gpu("a100-80gb").dense_flops(Precision.FP8)
    assert catalog.gpu("b200").dense_flops(Precision.FP4) == pytest.approx(9000e12)


def test_no_zero_flops_and_every_gpu_has_16bit(catalog):
    for gpu in catalog.gpus.values():
        assert gpu.supports(Precision.BF16), gpu.id
        assert all(v > 0 for v in gpu.dense_tflops.values()), gpu.id


def test_key_gpu_figures(catalog):
    h100 = catalog.gpu("h100-sxm")
    assert h100.memory_bytes == pytest.approx(80e9)
    assert h100.memory_bandwidth_bytes_per_s == pytest.approx(3.35e12)
    assert h100.interconnect_bytes_per_s == pytest.approx(450e9)  # 900 GB/s bidirectional / 2
    b200 = catalog.gpu("b200")
    assert (b200.memory_gb, b200.memory_bandwidth_tb_s) == (180, 7.7)  # HGX figures
    h800 = catalog.gpu("h800")
    assert h800.dense_tflops == h100.dense_tflops
    assert h800.interconnect_gb_s == 400
    assert catalog.gpu("l40s").interconnect_gb_s == 64  # PCIe Gen4 x16, bidirectional


# --- GPU selection flags ----------------------------------------------------------------------


def test_auto_pick_is_exactly_the_course_six(catalog):
    assert {g.id for g in catalog.gpus.values() if g.auto_pick} == AUTO_PICK_IDS


def test_roadmap_rows_are_never_auto_picked(catalog):
    roadmap = {g.id for g in catalog.gpus.values() if g.roadmap}
    assert roadmap == {"vera-rubin"}
    assert not any(catalog.gpu(g).auto_pick for g in roadmap)


def test_liquid_cooling_flags(catalog):
    liquid = {g.id for g in catalog.gpus.values() if g.liquid_cooling_required}
    assert {"gb200", "b300", "mi355x", "vera-rubin"} <= liquid
    assert "b200" not in liquid  # DGX B200 is an air-cooled chassis


# --- KV-relevant architecture facts -----------------------------------------------------------


def test_llama_31_70b_kv_shape(catalog):
    m = catalog.model("llama-3.1-70b")
    assert (m.layers, m.kv_heads, m.head_dim) == (80, 8, 128)
    assert m.attention == "gqa"
    assert m.total_params_b == 70
    assert m.max_context_tokens == 131072


def test_llama_3_70b_is_31_architecture_with_8k_context(catalog):
    m3, m31 = catalog.model("llama-3-70b"), catalog.model("llama-3.1-70b")
    shape = ("layers", "hidden_size", "intermediate_size", "kv_heads", "head_dim", "vocab_size")
    assert all(getattr(m3, f) == getattr(m31, f) for f in shape)
    assert m3.max_context_tokens == 8192


def test_deepseek_r1_is_mla_moe_reasoning(catalog):
    m = catalog.model("deepseek-r1")
    assert m.layers == 61
    assert m.attention == "mla"
    assert (m.mla.kv_lora_rank, m.mla.qk_rope_head_dim) == (512, 64)
    assert (m.moe.experts, m.moe.experts_per_token, m.moe.shared_experts) == (256, 8, 1)
    assert m.moe.moe_layers == 58
    assert (m.total_params_b, m.active_params_b) == (671, 37)
    assert m.reasoning and m.default_output_tokens == 8000
    # KV per token at FP16 from the latent: 61 x (512 + 64) x 2 = 70,272 bytes
    assert m.layers * (m.mla.kv_lora_rank + m.mla.qk_rope_head_dim) * 2 == 70_272


def test_qwq_is_reasoning_with_course_output_default(catalog):
    m = catalog.model("qwq-32b")
    assert m.reasoning and m.default_output_tokens == 6000


@pytest.mark.parametrize(
    ("model_id", "window", "bounded", "kind"),
    [
        ("mistral-7b", 4096, 32, "sliding"),
        ("gemma-2-27b", 4096, 23, "sliding"),
        ("gemma-3-27b", 1024, 52, "sliding"),
        ("gpt-oss-20b", 128, 12, "sliding"),
        ("gpt-oss-120b", 128, 18, "sliding"),
        ("llama-4-scout", 8192, 36, "chunked"),
        ("llama-4-maverick", 8192, 36, "chunked"),
    ],
)
def test_sliding_window_layouts(catalog, model_id, window, bounded, kind):
    sw = catalog.model(model_id).sliding_window
    assert (sw.window_tokens, sw.bounded_layers, sw.kind) == (window, bounded, kind)


def test_mistral_v03_has_no_sliding_window(catalog):
    assert catalog.model("mistral-7b-v0.3").sliding_window is None


def test_moe_layouts(catalog):
    assert catalog.model("llama-4-maverick").moe.moe_layers == 24  # every 2nd of 48 layers
    assert catalog.model("llama-4-scout").moe.moe_layers == 48
    mixtral = catalog.model("mixtral-8x7b")
    assert (mixtral.total_params_b, mixtral.active_params_b) == (46.7, 12.9)


def test_attention_label_matches_head_counts(catalog):
    for m in catalog.models.values():
        if m.mla is not None:
            expected = "mla"
        elif m.kv_heads == m.attention_heads:
            expected = "mha"
        elif m.kv_heads == 1:
            expected = "mqa"
        else:
            expected = "gqa"
        assert m.attention == expected, m.id


def test_moe_active_params_below_total(catalog):
    for m in catalog.models.values():
        if m.is_moe:
            assert 0 < m.active_params_b < m.total_params_b, m.id


# --- provenance -------------------------------------------------------------------------------


def test_every_row_is_sourced(catalog):
    for row in _all_rows(catalog):
        assert row.sources, row.id
        for src in row.sources:
            assert src.startswith(("http", "shared reference")), (row.id, src)


def test_prices_are_dated_and_sourced(catalog):
    for gpu in catalog.gpus.values():
        for price in (gpu.cloud_price_per_gpu_hour, gpu.purchase_price_per_gpu):
            if price is None:
                continue
            assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", price.as_of), gpu.id
            assert price.source.startswith("http"), gpu.id
            assert price.currency == "USD"


def test_ids_are_lowercase_and_aliases_unambiguous(catalog):
    for row in _all_rows(catalog):
        assert row.id == row.id.lower()
    # the loader rejects an alias naming two ids; resolving each alias returns its own row
    for gpu in catalog.gpus.values():
        assert all(catalog.gpu(a).id == gpu.id for a in gpu.aliases)
    for model in catalog.models.values():
        assert all(catalog.model(a).id == model.id for a in model.aliases)


# --- serving.csv ids and the architecture facts the performance model reads ---------------

# The distinct `gpu` and `model` ids of validation/serving.csv, copied here (no run-time read
# of the shared folder).
SERVING_GPU_IDS = ("h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300")
SERVING_MODEL_IDS = ("deepseek-v3", "deepseek-v3.1", "llama-3.1-70b", "gpt-oss-120b", "qwen3-32b",
                     "llama-3.1-8b", "qwen3-235b-a22b")


@pytest.mark.parametrize("gpu_id", [*SERVING_GPU_IDS, "h100", "h200", "a30", "b60", "a100-pcie"])
def test_serving_and_system_gpu_ids_resolve(catalog, gpu_id):
    assert catalog.has_gpu(gpu_id)


@pytest.mark.parametrize("model_id", SERVING_MODEL_IDS)
def test_serving_model_ids_resolve(catalog, model_id):
    assert catalog.model(model_id).id == model_id


def test_nvl72_domains(catalog):
    # aiconfigurator gb200.yaml / gb300.yaml: 4 GPUs per tray, 72 per NVLink rack
    for gid in ("gb200", "gb300"):
        g = catalog.gpu(gid)
        assert (g.gpus_per_node, g.scaleup_gpus) == (4, 72)
    assert catalog.gpu("h100-sxm").scaleup_gpus == 8  # no domain stated: one node
    gb300 = catalog.gpu("gb300")
    assert gb300.dense_tflops[Precision.FP4] == 15000 and gb300.dense_tflops[Precision.INT8] == 165
    assert not catalog.gpu("b60").supports(Precision.FP8)  # no native FP8 matrix compute


def test_deepseek_mla_moe_mtp_facts(catalog):
    m = catalog.model("deepseek-v3")
    assert (m.mla.q_lora_rank, m.mla.qk_nope_head_dim, m.mla.v_head_dim) == (1536, 128, 128)
    assert (m.moe.first_k_dense, m.moe.moe_layers, m.dense_ffn_layer_count) == (3, 58, 3)
    assert m.mtp_layers == 1 and m.weights_precision is Precision.FP8


def test_gpt_oss_releases_mxfp4_experts_with_sinks(catalog):
    m = catalog.model("gpt-oss-120b")
    assert m.attention_sinks and m.expert_weights_precision is Precision.FP4
    assert m.weights_precision is Precision.BF16


@pytest.mark.parametrize(
    ("alias", "model_id", "precision"),
    [("Qwen3-32B-FP8", "qwen3-32b", Precision.FP8),
     ("qwen3-235b-a22b-nvfp4", "qwen3-235b-a22b", Precision.FP4),
     ("llama-3.1-70b-instruct-fp8", "llama-3.1-70b", Precision.FP8),
     ("qwen3-32b", "qwen3-32b", None)],
)
def test_quantized_release_is_an_alias_that_sets_precision(catalog, alias, model_id, precision):
    assert catalog.model(alias).id == model_id
    assert catalog.release_precision(alias) is precision


# --- GPU names as vendors and benchmarks write them (issue 25) ---------------------------------
def _mlperf_names() -> list[tuple[str, str]]:
    import csv
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "mlperf_accelerators.csv"
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    return [(r["accelerator"], r["expected"]) for r in csv.DictReader(lines)]


@pytest.mark.parametrize(("name", "expected"), _mlperf_names(), ids=lambda x: str(x))
def test_every_mlperf_accelerator_name_resolves(name, expected):
    """Every accelerator name in the MLPerf results (tests/fixtures/mlperf_accelerators.csv)
    names a catalog GPU, the one with that memory."""
    cat = load_catalog()
    assert cat.has_gpu(name)
    assert cat.gpu(name).id == expected


def test_mlperf_fixture_covers_the_new_accelerators():
    expected = {e for _, e in _mlperf_names()}
    assert {"mi350x", "b50", "b60", "b70", "b60-dual", "rtx-pro-4500", "gh200-144gb"} <= expected


@pytest.mark.parametrize(("name", "gpu"), [
    ("NVIDIA B200-SXM-180GB", "b200"), ("AMD Instinct MI350X 288GB HBM3e", "mi350x"),
    ("Intel(R) Arc Pro(R) B60", "b60"), ("Virtualized NVIDIA H100-SXM-80GB", "h100-sxm"),
    ("NVIDIA A100-SXM4-80GB", "a100-80gb"), ("AMD Instinct MI355X 288GB HBM3e (Power Cap 1000 W)", "mi355x"),
    ("amd instinct mi350p", "mi350p"), ("NVIDIA H100 80GB HBM3", "h100-sxm"),
    ("Google TPU v6e", "tpu-v6e"), ("Google Cloud TPU v6e Trillium (per chip)", "tpu-v6e"),
])
def test_vendor_and_benchmark_spellings(name, gpu):
    assert load_catalog().gpu(name).id == gpu


@pytest.mark.parametrize("name", ["NVIDIA H100-SXM-94GB", "A100 40GB PCIe", "NVIDIA H200-SXM-80GB"])
def test_a_stated_memory_size_must_match_the_row(name):
    """A name whose memory size differs from the row it would fall back to is not that GPU:
    refused with the closest ids, never sized on the wrong card."""
    with pytest.raises(UnknownIdError) as err:
        load_catalog().gpu(name)
    assert err.value.suggestions


def test_unknown_gpu_still_gets_closest_matches():
    with pytest.raises(UnknownIdError) as err:
        load_catalog().gpu("mi350")
    assert "mi350x" in err.value.suggestions or "mi350p" in err.value.suggestions


def test_new_accelerators_have_datasheet_facts():
    cat = load_catalog()
    x, p = cat.gpu("mi350x"), cat.gpu("mi350p")
    # MI350P is half an MI350X: half the HBM, bandwidth and matrix rate (STH table)
    assert (p.memory_gb, p.memory_bandwidth_tb_s) == (x.memory_gb / 2, x.memory_bandwidth_tb_s / 2)
    assert p.dense_flops(Precision.FP8) == x.dense_flops(Precision.FP8) / 2
    assert (x.tdp_w, p.tdp_w, x.form_factor, p.form_factor) == (1000, 600, "oam", "pcie")
    # Intel Xe2 has no FP8 matrix engines: FP8 is refused, not extrapolated
    for gid, tops in (("b50", 170), ("b70", 367), ("b60-dual", 197)):
        g = cat.gpu(gid)
        assert g.dense_tflops[Precision.INT8] == tops and not g.supports(Precision.FP8)
        assert g.sources
    assert cat.gpu("rtx-pro-4500").memory_gb == 32 and cat.gpu("rtx-pro-4500").tdp_w == 200
