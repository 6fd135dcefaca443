"""config.json -> catalog model: every shared config imports, sizes match the published ones,
KV per token matches a hand count for each architecture, unknown configs are refused clearly,
and a never-seen architecture goes from config to sized report with no code change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xlsizer.catalog import load_catalog
from xlsizer.catalog.hf_config import ConfigError, import_config, import_config_file, load_config_file
from xlsizer.catalog.loader import reload_catalog
from xlsizer.catalog.user import add_model
from xlsizer.engine.memory import (
    kv_bytes_for_context,
    kv_bytes_per_token,
    kv_growth_bytes_per_token,
    state_bytes_per_sequence,
)
from xlsizer.precision import Precision

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "xlsizer" / "catalog" / "configs"
ALL_CONFIGS = sorted(CONFIGS.glob("*.json"))
BF16 = 2.0


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """An empty user catalog folder for one test."""
    monkeypatch.setenv("XLSIZER_CATALOG_DIR", str(tmp_path / "catalog"))
    yield tmp_path / "catalog"
    monkeypatch.undo()
    load_catalog()  # back to the session's folder


def _imp(stem: str):
    return import_config_file(CONFIGS / f"{stem}.json")


# --- every config in the shared folder imports ----------------------------------------------

def test_the_repo_holds_every_shared_config():
    assert len(ALL_CONFIGS) == 81  # copies of shared reference configs/models (README beside them)


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_every_config_imports(path):
    spec = import_config_file(path).spec
    assert spec.total_params_b > 0 and spec.layers > 0
    assert kv_growth_bytes_per_token(spec, BF16) > 0


def test_packaged_catalog_is_current():
    """models_imported.yaml is what scripts/import_models.py writes from these configs."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "import_models.py"), "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_every_config_resolves_in_the_catalog(path):
    """Every config's name resolves: to its own model or, for a -FP8/-NVFP4 release, to its
    base model with the release's precision."""
    org, _, name = path.stem.partition("--")
    cat = load_catalog()
    assert cat.has_model(f"{org}/{name}"), f"{org}/{name}"


# --- parameter totals within 3% of the published size ------------------------------------------
# (config stem, published total in billions, source). Sizes in a model's name are the vendor's
# own statement on its model card. Left out: models whose published size counts a vision tower
# (Qwen3-VL) and models with no published size in the material here (Step-3.7, MiniMax-M3,
# Kimi-K3, DeepSeek-V4, GLM-5.1/5.2).
PUBLISHED = [
    ("meta-llama--Meta-Llama-3.1-8B", 8.03, "Meta model card (8B); catalog.md 8.0B"),
    ("meta-llama--Meta-Llama-3.1-70B", 70.6, "Meta model card (70B); catalog.md 70B"),
    ("meta-llama--Meta-Llama-3.1-405B", 405, "Meta model card"),
    ("meta-llama--Llama-4-Scout-17B-16E-Instruct", 109,
     "Meta: 109B total incl. vision encoder (text 107.8, catalog.md)"),
    ("meta-llama--Llama-4-Maverick-17B-128E-Instruct", 400, "Meta: ~400B total (catalog.md)"),
    ("mistralai--Mixtral-8x7B-v0.1", 46.7, "Mistral AI: 46.7B total (catalog.md)"),
    ("mistralai--Mixtral-8x22B-v0.1", 141, "Mistral AI: 141B total (catalog.md)"),
    ("Qwen--Qwen3-0.6B", 0.6, "Qwen3 model card: 0.6B"),
    ("Qwen--Qwen3-1.7B", 1.7, "Qwen3 model card: 1.7B"),
    ("Qwen--Qwen3-8B", 8.2, "Qwen3 model card: 8.2B (catalog.md)"),
    ("Qwen--Qwen3-32B", 32.8, "Qwen3 model card: 32.8B (catalog.md)"),
    ("Qwen--Qwen3-30B-A3B", 30.5, "Qwen3 model card: 30.5B (catalog.md)"),
    ("Qwen--Qwen3-235B-A22B", 235, "Qwen3 model card: 235B (catalog.md)"),
    ("Qwen--Qwen3-Coder-480B-A35B-Instruct", 480, "model name: 480B"),
    ("Qwen--Qwen3.5-397B-A17B", 397, "model name: 397B"),
    ("Qwen--Qwen3.5-122B-A10B", 122, "model name: 122B"),
    ("Qwen--Qwen3.5-27B", 27, "model name: 27B"),
    ("nvidia--Qwen3.6-27B-NVFP4", 27, "model name: 27B"),
    ("nvidia--Qwen3.6-35B-A3B-NVFP4", 35, "model name: 35B"),
    ("deepseek-ai--DeepSeek-V3", 671, "DeepSeek-V3 report: 671B main model (+14B MTP = 685B)"),
    ("deepseek-ai--DeepSeek-R1", 671, "DeepSeek-R1 model card: 671B"),
    ("deepseek-ai--DeepSeek-V3.2", 671, "DeepSeek-V3.2: same 671B base as V3.1 (+ indexer)"),
    ("nvidia--DeepSeek-V3.1-NVFP4", 671, "DeepSeek-V3.1 model card: 671B"),
    ("moonshotai--Kimi-K2-Instruct", 1000, "Kimi K2 model card: 1T total, 32B active"),
    ("moonshotai--Kimi-K2.5", 1000, "Kimi K2.5 model card: 1T total"),
    ("openai--gpt-oss-120b", 116.8, "OpenAI gpt-oss model card: 116.8B (catalog.md)"),
    ("openai--gpt-oss-20b", 20.9, "OpenAI gpt-oss model card: 20.9B (catalog.md)"),
    ("MiniMaxAI--MiniMax-M2.5", 230, "MiniMax M2 series: 230B total, 10B active"),
    ("XiaomiMiMo--MiMo-V2-Flash", 309, "Xiaomi MiMo-V2-Flash: 309B total, 15B active"),
    ("zai-org--GLM-5", 744, "Z.ai GLM-5: 744B total, 40B active"),
    ("nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", 31.6, "NVIDIA model card: 31.6B total"),
    ("nvidia--NVIDIA-Nemotron-3-Super-120B-A12B-FP8", 120, "model name: 120B"),
    ("nvidia--NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16", 550, "model name: 550B"),
    ("nvidia--Llama-3_3-Nemotron-Super-49B-v1", 49, "model name: 49B"),
    ("nvidia--Gemma-4-31B-IT-NVFP4", 31, "model name: 31B"),
    ("nvidia--Gemma-4-26B-A4B-NVFP4", 26, "model name: 26B"),
]


@pytest.mark.parametrize(("stem", "published", "source"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_parameter_total_within_3_percent_of_published(stem, published, source):
    computed = _imp(stem).spec.computed_total_params_b
    assert computed == pytest.approx(published, rel=0.03), f"{computed:g}B vs {published:g}B ({source})"


@pytest.mark.parametrize(("stem", "active", "source"), [
    ("openai--gpt-oss-120b", 5.13, "OpenAI: 5.1B active = non-embedding + unembedding"),
    ("deepseek-ai--DeepSeek-V3", 36.6, "DeepSeek: 36.6B active including the output head"),
    ("Qwen--Qwen3-235B-A22B", 22, "name: A22B"),
    ("XiaomiMiMo--MiMo-V2-Flash", 15, "Xiaomi: 15B active"),
])
def test_active_parameters_within_3_percent(stem, active, source):
    """The spec's active count includes the input embedding, as a dense model's does; vendors
    leave that row look-up out, so it is taken off here before comparing."""
    spec = _imp(stem).spec
    input_embedding_b = spec.vocab_size * spec.hidden_size / 1e9
    assert spec.active_params_b - input_embedding_b == pytest.approx(active, rel=0.03), source


@pytest.mark.parametrize("path", [p for p in ALL_CONFIGS if _imp(p.stem).spec.moe is not None],
                         ids=lambda p: p.stem)
def test_catalog_active_parameters_count_the_input_embedding(path):
    """The engine takes the gathered input embedding off ``active_params_b`` itself
    (step._build_replica), so a curated vendor figure that already leaves it out (OpenAI's
    5.13 B for gpt-oss-120b) would count it out twice and drop the output head's math. Every
    MoE model in the packaged catalog must carry an active count within 3% of the importer's,
    embedding included."""
    spec = _imp(path.stem).spec
    row = load_catalog().model(spec.id)
    assert row.active_params_b == pytest.approx(spec.active_params_b, rel=0.03), (
        f"{row.id}: catalog {row.active_params_b:g} B active vs {spec.active_params_b:g} B counted "
        f"from config.json with the input embedding")


def test_parameters_come_from_shapes_not_the_name():
    cfg = load_config_file(CONFIGS / "meta-llama--Meta-Llama-3.1-8B.json")
    spec = import_config(cfg, "acme/Giant-999B").spec
    assert spec.id == "giant-999b" and spec.total_params_b == pytest.approx(8.03, abs=0.01)


# --- KV per token, one model of each architecture, counted by hand --------------------------------

def test_kv_dense_gqa_llama_70b():
    s = _imp("meta-llama--Meta-Llama-3.1-70B").spec
    assert kv_growth_bytes_per_token(s, BF16) == 2 * 80 * 8 * 128 * 2 == 327_680


def test_kv_mla_deepseek_v3():
    s = _imp("deepseek-ai--DeepSeek-V3").spec
    assert kv_growth_bytes_per_token(s, BF16) == 61 * (512 + 64) * 2 == 70_272


def test_kv_mla_with_sparse_attention_indexer_deepseek_v32():
    s = _imp("deepseek-ai--DeepSeek-V3.2").spec
    assert s.sparse_attention.topk_tokens == 2048
    # latent + the lightning indexer's 128-wide key per token per layer
    assert kv_growth_bytes_per_token(s, BF16) == 61 * (512 + 64) * 2 + 61 * 128 * 2 == 85_888


def test_kv_alternating_sliding_window_gpt_oss():
    s = _imp("openai--gpt-oss-120b").spec
    assert kv_growth_bytes_per_token(s, BF16) == 18 * 2 * 8 * 64 * 2 == 36_864  # 18 full layers
    assert kv_bytes_per_token(s, BF16) == 36 * 2 * 8 * 64 * 2  # every layer, windows ignored
    ctx = 100_000
    assert kv_bytes_for_context(s, ctx, BF16) == 36_864 * ctx + 36_864 * 128


def test_kv_global_local_k_eq_v_and_wider_global_heads_gemma4():
    s = _imp("nvidia--Gemma-4-31B-IT-NVFP4").spec
    # 10 global layers: 4 KV heads x 512 wide, K = V cached once
    assert kv_growth_bytes_per_token(s, BF16) == 10 * 4 * 512 * 2 == 40_960
    # 50 local layers: 16 KV heads x (256 K + 256 V), at most 1024 tokens
    assert kv_bytes_for_context(s, 50_000, BF16) == 40_960 * 50_000 + 50 * 16 * 512 * 2 * 1024


def test_kv_sliding_layers_with_their_own_heads_mimo():
    s = _imp("XiaomiMiMo--MiMo-V2-Flash").spec
    assert s.attention_sinks
    assert kv_growth_bytes_per_token(s, BF16) == 9 * 4 * (192 + 128) * 2 == 23_040
    assert kv_bytes_for_context(s, 10_000, BF16) == 23_040 * 10_000 + 39 * 8 * (192 + 128) * 2 * 128


def test_kv_chunked_attention_llama4():
    s = _imp("meta-llama--Llama-4-Scout-17B-16E-Instruct").spec
    assert (s.sliding_window.kind, s.sliding_window.bounded_layers) == ("chunked", 36)
    assert kv_growth_bytes_per_token(s, BF16) == 12 * 2 * 8 * 128 * 2 == 49_152


def test_kv_and_state_gated_deltanet_qwen35():
    s = _imp("Qwen--Qwen3.5-397B-A17B").spec
    assert kv_growth_bytes_per_token(s, BF16) == 15 * 2 * 2 * 256 * 2 == 30_720
    # 45 DeltaNet layers: 64 value heads x 128 x 128 FP32 state + 3 past conv inputs in BF16
    state = 45 * (64 * 128 * 128 * 4 + 3 * (2 * 16 * 128 + 64 * 128) * 2)
    assert state_bytes_per_sequence(s) == state == 192_061_440
    assert kv_bytes_for_context(s, 1000, BF16) == 30_720 * 1000 + state


def test_kv_and_state_mamba2_nemotron_h():
    s = _imp("nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-BF16").spec
    assert (s.attention_layer_count, s.recurrent.layers, s.moe.moe_layers) == (6, 23, 23)
    assert kv_growth_bytes_per_token(s, BF16) == 6 * 2 * 2 * 128 * 2 == 6_144
    state = 23 * (64 * 64 * 128 * 4 + 3 * (64 * 64 + 2 * 8 * 128) * 2)
    assert state_bytes_per_sequence(s) == state == 49_082_368


def test_kv_compressed_deepseek_v4():
    s = _imp("deepseek-ai--DeepSeek-V4-Pro").spec
    # one 512-wide KV head (K and V counted apart) = 2,048 B per entry per layer; 30 layers keep
    # one entry per 4 tokens, 31 one per 128, plus each layer's 128-wide indexer key
    assert kv_growth_bytes_per_token(s, BF16) == 30 * 2048 / 4 + 31 * 2048 / 128 + 61 * 128 * 2 == 31_472


def test_kv_per_layer_blocks_nemotron_nas():
    s = _imp("nvidia--Llama-3_3-Nemotron-Super-49B-v1").spec
    assert s.attention_layer_count == 49  # 31 of 80 layers skip attention
    assert kv_growth_bytes_per_token(s, BF16) == 49 * 2 * 8 * 128 * 2 == 200_704


def test_catalog_architecture_of_course_models_is_what_the_config_says():
    """The hand-written rows of the serving models equal the importer's reading (vendor totals
    are kept where the course relies on them; the computed count sits beside them)."""
    cat = load_catalog()
    assert cat.model("llama-3.1-70b").total_params_b == 70
    assert cat.model("llama-3.1-70b").computed_total_params_b == pytest.approx(70.55, abs=0.01)
    v3 = cat.model("deepseek-v3")
    assert (v3.mla.kv_lora_rank, v3.moe.first_k_dense, v3.mtp_layers) == (512, 3, 1)
    assert v3.weights_precision is Precision.FP8


# --- releases ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "base", "precision"), [
    ("nvidia/Qwen3-235B-A22B-NVFP4", "qwen3-235b-a22b", Precision.FP4),
    ("Qwen/Qwen3-32B-FP8", "qwen3-32b", Precision.FP8),
    ("zai-org/GLM-5-FP8", "glm-5", Precision.FP8),
    ("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4", "nvidia-nemotron-3-nano-30b-a3b", Precision.FP4),
])
def test_quantized_release_is_base_model_with_precision(name, base, precision):
    from xlsizer.inputs import make_inputs

    cat = load_catalog()
    assert cat.model(name).id == base and cat.release_precision(name) is precision
    assert make_inputs(model=name).precision is precision
    assert make_inputs(model=name, precision="bf16").precision is Precision.BF16  # an explicit choice wins


# --- refusals: one clear line, never a wrong number ----------------------------------------------

SMALL = {"architectures": ["AcmeForCausalLM"], "model_type": "acme", "hidden_size": 256, "num_hidden_layers": 4,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
         "max_position_embeddings": 4096, "torch_dtype": "bfloat16"}


def test_unknown_key_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"unknown key 'cross_layer_kv_groups'") as exc:
        import_config({**SMALL, "cross_layer_kv_groups": 2}, "acme/Acme-1")
    assert "\n" not in str(exc.value)


def test_missing_key_is_refused_by_name():
    cfg = {k: v for k, v in SMALL.items() if k != "vocab_size"}
    with pytest.raises(ConfigError, match=r"missing key 'vocab_size'"):
        import_config(cfg, "acme/Acme-1")


def test_empty_unknown_keys_and_harmless_keys_are_accepted():
    cfg = {**SMALL, "some_new_feature": None, "eos_token_id": 7, "rope_scaling": {"factor": 8},
           "attention_dropout": 0.1}
    assert import_config(cfg, "acme/Acme-1").spec.layers == 4


def test_unknown_layer_type_and_activation_are_refused():
    with pytest.raises(ConfigError, match="unknown layer type 'wormhole_attention'"):
        import_config({**SMALL, "layer_types": ["wormhole_attention"] * 4}, "acme/Acme-1")
    with pytest.raises(ConfigError, match="unknown activation 'quux'"):
        import_config({**SMALL, "hidden_act": "quux"}, "acme/Acme-1")


def test_bad_config_file_is_one_line_exit_2(tmp_path, user_dir):
    from xlsizer.cli import main

    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({**SMALL, "cross_layer_kv_groups": 2}))
    out = subprocess.run([sys.executable, "-m", "xlsizer", "catalog", "add-model", str(bad), "--id", "acme-1"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={**_env(), "XLSIZER_CATALOG_DIR": str(user_dir)})
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "cross_layer_kv_groups" in out.stderr
    assert not (user_dir / "models").exists() or not any((user_dir / "models").iterdir())  # nothing written
    bad.write_text("{not json")
    assert main(["catalog", "add-model", str(bad), "--id", "acme-1"]) == 2


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


# --- a new architecture family, end to end with no code change --------------------------------------
# "Acme-Hybrid": an architecture name nobody has written code for, built from known features in a
# new combination: sliding + global + gated-DeltaNet layers, MoE with a shared expert after one
# dense layer, a vision tower, nested text_config.
NEW_FAMILY = {
    "architectures": ["AcmeHybridForConditionalGeneration"], "model_type": "acme_hybrid",
    "vision_config": {"hidden_size": 1024, "depth": 24},
    "text_config": {
        "model_type": "acme_hybrid_text", "hidden_size": 2048, "num_hidden_layers": 12, "vocab_size": 64000,
        "num_attention_heads": 16, "num_key_value_heads": 4, "head_dim": 128, "max_position_embeddings": 262144,
        "layer_types": ["linear_attention", "sliding_attention", "linear_attention", "full_attention"] * 3,
        "sliding_window": 2048, "linear_num_key_heads": 8, "linear_num_value_heads": 16,
        "linear_key_head_dim": 128, "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4,
        "num_experts": 32, "num_experts_per_tok": 4, "moe_intermediate_size": 768, "intermediate_size": 6144,
        "first_k_dense_replace": 1, "n_shared_experts": 1, "hidden_act": "silu", "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
}


def test_new_architecture_added_sized_and_reported_end_to_end(tmp_path, user_dir):
    cfg_path = tmp_path / "acme--Acme-Hybrid-12B.json"
    cfg_path.write_text(json.dumps(NEW_FAMILY))
    env = {**_env(), "XLSIZER_CATALOG_DIR": str(user_dir)}
    run = subprocess.run([sys.executable, "-m", "xlsizer", "catalog", "add-model", str(cfg_path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["id"] == "acme-hybrid-12b" and info["layers"] == 12
    # only the 3 full-attention layers grow: 3 x 2 x 4 heads x 128 x 2 B
    assert info["kv_bytes_per_token"] == 3 * 2 * 4 * 128 * 2
    assert info["state_bytes_per_sequence"] == 6 * (16 * 128 * 128 * 4 + 3 * (2 * 8 * 128 + 16 * 128) * 2)
    assert info["moe"]["first_k_dense"] == 1 and info["recurrent"]["kind"] == "gated_deltanet"
    assert "vision tower ignored" in info["notes"]
    # the id now resolves in Python, the Excel functions and the CLI
    import xlsizer
    from xlsizer import cells

    cells.cache_clear()
    assert ["acme-hybrid-12b"] in cells.models("acme")
    result = xlsizer.size(model="acme-hybrid-12b", concurrent_users=100)
    assert result.burst.total_gpus >= 1
    listing = subprocess.run([sys.executable, "-m", "xlsizer", "catalog", "list", "--user", "--json"],
                             capture_output=True, text=True, cwd=ROOT, env=env)
    assert [r["id"] for r in json.loads(listing.stdout)] == ["acme-hybrid-12b"]
    # ... and in a workbook: a project on the new model is reported
    proj = subprocess.run([sys.executable, "-m", "xlsizer", "new-project", "acme", "--set", "model=acme-hybrid-12b",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proj.returncode == 0, proj.stderr
    rep = subprocess.run([sys.executable, "-m", "xlsizer", "report", str(tmp_path / "acme.xlsx"), "--out",
                          str(tmp_path / "out"), "--format", "md"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    text = "".join(p.read_text() for p in (tmp_path / "out").glob("*.md"))
    assert "acme-hybrid-12b" in text


def test_state_counts_per_request_in_sizing(user_dir):
    """A hybrid's fixed state per sequence is in the per-request memory the sizing uses."""
    import xlsizer

    add_model(NEW_FAMILY, model_id="acme-hybrid")
    from xlsizer.resolve import output_tokens

    r = xlsizer.size(model="acme-hybrid", concurrent_users=100, precision="bf16", kv_cache_dtype="bf16")
    spec = load_catalog().model("acme-hybrid")
    tokens = r.inputs.avg_prompt_tokens + output_tokens(r.inputs, spec)
    state = state_bytes_per_sequence(spec)
    assert state > 0
    assert r.burst.memory.kv_per_request_gb * 1e9 == pytest.approx(kv_bytes_for_context(spec, tokens, 2.0))
    assert kv_bytes_for_context(spec, tokens, 2.0) == pytest.approx(
        3 * 2 * 4 * 128 * 2 * tokens + 3 * 2 * 4 * 128 * 2 * min(tokens, 2048) + state)


def test_add_model_never_overwrites_without_being_asked(user_dir):
    add_model(NEW_FAMILY, model_id="acme-hybrid")
    with pytest.raises(ConfigError, match="already in your catalog"):
        add_model(NEW_FAMILY, model_id="acme-hybrid")
    add_model(NEW_FAMILY, model_id="acme-hybrid", replace=True)
    with pytest.raises(ConfigError, match="already names catalog model 'qwen3-32b'"):
        add_model(NEW_FAMILY, model_id="qwen3-32b")


def test_a_broken_user_file_is_skipped_with_its_reason(user_dir):
    add_model(NEW_FAMILY, model_id="acme-hybrid")
    (user_dir / "models" / "broken.yaml").write_text("id: broken\nname: x\n")
    cat = reload_catalog()
    assert "acme-hybrid" in cat.user_models
    assert any(e.startswith("broken.yaml:") for e in cat.user_errors)


@pytest.mark.parametrize(("stem", "key", "value"), [
    ("MiniMaxAI--MiniMax-M3", "n_shared_experts", []),
    ("MiniMaxAI--MiniMax-M2.5", "num_experts_per_tok", "eight"),
    ("Qwen--Qwen3-235B-A22B", "mlp_only_layers", -1),
    ("deepseek-ai--DeepSeek-R1", "q_lora_rank", "x"),
    ("nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "hybrid_override_pattern", -1),
    ("meta-llama--Meta-Llama-3.1-8B", "num_hidden_layers", 10**9),
    ("MiniMaxAI--MiniMax-M2.5", "num_local_experts", 3),  # fewer experts than top-k: not a model
    ("nvidia--Llama-3_3-Nemotron-Super-49B-v1", "block_configs", [{"attention": {}}] * 80),
])
def test_malformed_values_are_one_line_config_errors(stem, key, value):
    """Every malformed value found by corrupting each key of each shared config (a fuzz run
    during development) ends as a ConfigError, never a crash or a huge allocation."""
    cfg = load_config_file(CONFIGS / f"{stem}.json")
    cfg[key] = value
    with pytest.raises(ConfigError) as exc:
        import_config(cfg, f"{stem}.json")
    assert "\n" not in str(exc.value)


# --- hybrid state-space / linear-attention configs (tests/fixtures/hybrid, README there) ---------
HYBRID = ROOT / "tests" / "fixtures" / "hybrid"


def _hyb(stem: str):
    return import_config_file(HYBRID / f"{stem}.json")


def test_nemotron_h_counted_tensor_by_tensor():
    """Nemotron-H-8B (attention_head_dim, hybrid_override_pattern, Mamba-2, relu2 MLP blocks):
    every tensor of the HF checkpoint, by hand."""
    imp = _hyb("nvidia--Nemotron-H-8B-Base-8K")
    h, d_in, gs, heads = 4096, 128 * 64, 8 * 128, 128
    mamba = h * (2 * d_in + 2 * gs + heads) + (d_in + 2 * gs) * 5 + 3 * heads + d_in + d_in * h + h
    attn = h * 32 * 128 + 2 * h * 8 * 128 + 32 * 128 * h + h
    mlp = 2 * h * 21504 + h
    total = 24 * mamba + 4 * attn + 24 * mlp + 2 * 131072 * h + h
    assert imp.params["total"] == total == 8_100_852_736  # published: 8B (model name)
    s = imp.spec
    assert (s.layers, s.attention_layer_count, s.recurrent.layers, s.head_dim) == (52, 4, 24, 128)
    assert kv_growth_bytes_per_token(s, BF16) == 4 * 2 * 8 * 128 * 2 == 16_384
    # SSM state 128 heads x 64 x 128 at FP32 (vLLM's Nemotron-H default), conv 3 x 10,240 at BF16
    assert state_bytes_per_sequence(s) == 24 * (128 * 64 * 128 * 4 + 3 * 10_240 * 2) == 102_137_856


def test_jamba_mamba1_layout_and_size():
    """Jamba 1.5 Mini: attention every 8th layer from 4, MoE every 2nd from 1, Mamba-1 state."""
    imp = _hyb("ai21labs--AI21-Jamba-1.5-Mini")
    s = imp.spec
    assert (s.attention_layer_count, s.recurrent.layers, s.recurrent.kind) == (4, 28, "mamba1")
    assert (s.moe.moe_layers, s.moe.experts, s.moe.experts_per_token, s.dense_ffn_layer_count) == (16, 16, 2, 16)
    assert s.total_params_b == pytest.approx(52, rel=0.03)  # AI21 model card: 52B total
    assert s.active_params_b == pytest.approx(12, rel=0.03)  # 12B active
    assert kv_growth_bytes_per_token(s, BF16) == 4 * 2 * 8 * 128 * 2
    # d_inner 8192 x d_state 16 and 3 past conv inputs, both at the model dtype (BF16)
    assert state_bytes_per_sequence(s) == 28 * (8192 * 16 * 2 + 3 * 8192 * 2) == 8_716_288


def test_falcon_h1_parallel_hybrid_counted_exactly():
    """Falcon-H1: attention and a Mamba-2 branch side by side in every layer, then a gated MLP."""
    imp = _hyb("tiiuae--Falcon-H1-0.5B")
    h, d_in, gs = 1024, 24 * 64, 128
    attn = h * 8 * 64 + 2 * h * 2 * 64 + 8 * 64 * h
    mamba = h * (2 * d_in + 2 * gs + 24) + (d_in + 2 * gs) * 5 + 3 * 24 + d_in * h  # no gated norm
    layer = h + attn + mamba + 3 * h * 2048 + h
    assert imp.params["total"] == 36 * layer + 2 * 32784 * h + h == 521_411_104  # published: 0.5B
    s = imp.spec
    assert (s.attention_layer_count, s.recurrent.layers) == (36, 36)
    assert kv_growth_bytes_per_token(s, BF16) == 36 * 2 * 2 * 64 * 2 == 18_432
    assert state_bytes_per_sequence(s) == 36 * (24 * 64 * 128 * 2 + 3 * 1792 * 2) == 14_542_848


def test_qwen3_next_full_attention_interval():
    """Qwen3-Next states only full_attention_interval: every 4th layer attends, the rest are
    gated DeltaNet."""
    s = _hyb("Qwen--Qwen3-Next-80B-A3B-Thinking").spec
    assert (s.attention_layer_count, s.recurrent.layers, s.recurrent.kind) == (12, 36, "gated_deltanet")
    assert s.total_params_b == pytest.approx(80, rel=0.03)  # Qwen: 80B total
    assert kv_growth_bytes_per_token(s, BF16) == 12 * 2 * 2 * 256 * 2
    assert state_bytes_per_sequence(s) == 36 * (32 * 128 * 128 * 4 + 3 * (2 * 16 * 128 + 32 * 128) * 2)


def test_hybrid_state_is_per_request_in_the_sizing(user_dir):
    """A hybrid's sizing holds its fixed state once per in-flight request, shown apart."""
    import xlsizer

    add_model(HYBRID / "nvidia--Nemotron-H-8B-Base-8K.json", model_id="nemo-h")
    r = xlsizer.size(model="nemo-h", concurrent_users=200, precision="bf16", kv_cache_dtype="bf16")
    spec = load_catalog().model("nemo-h")
    m = r.burst.memory
    assert m.state_per_request_gb * 1e9 == pytest.approx(state_bytes_per_sequence(spec))
    assert m.state_total_gb == pytest.approx(r.burst.traffic.inflight_requests * m.state_per_request_gb)
    assert m.state_total_gb < m.kv_total_gb
    rows = {(s.scenario, s.name): s for s in r.explain()}
    assert rows[("all", "State per sequence")].value == pytest.approx(102.137856)
    assert "4 attention layers" in rows[("all", "KV bytes per token")].formula


def test_attention_only_models_have_no_state_rows():
    import xlsizer

    r = xlsizer.size(model="llama-3.1-8b", concurrent_users=50)
    assert r.burst.memory.state_total_gb == 0.0
    assert not [s for s in r.explain() if s.name == "State per sequence"]


def test_all_windowed_model_shows_per_token_kv_and_its_cap():
    """mistral-7b windows every layer: no KV beyond 4,096 tokens, but 131,072 B per token (BF16)
    within the window, capped at 4,096 tokens per sequence (issue 24 item 7)."""
    from xlsizer.cli_catalog import show_model

    info = show_model("mistral-7b")
    assert info["kv_bytes_per_token"] == 0
    assert info["kv_bytes_per_token_all_layers"] == 2 * 32 * 8 * 128 * 2 == 131_072
    assert info["kv_window_tokens"] == 4096
    assert info["kv_bytes_per_sequence_cap"] == 131_072 * 4096
    out = subprocess.run([sys.executable, "-m", "xlsizer", "catalog", "list"], capture_output=True, text=True,
                         cwd=ROOT)
    line = next(x for x in out.stdout.splitlines() if x.startswith("mistral-7b "))
    assert "131,072" in line and "4,096" in line


def test_granite_4_hybrid_layer_types_and_shared_mlp():
    """Granite 4.0-H (granitemoehybrid): layer_types 'mamba'/'attention', NoPE, muP scalars;
    the dense variant's FFN is its shared MLP. Fields of ibm-granite/granite-4.0-h-350m as a
    public test quotes them (trimmed: no genuine full config was reachable here)."""
    layer_types = (["mamba"] * 10 + ["attention"] + ["mamba"] * 2 + ["attention"] + ["mamba"] * 3
                   + ["attention"] + ["mamba"] * 9 + ["attention"] + ["mamba"] * 4)
    cfg = {"model_type": "granitemoehybrid", "attention_bias": False, "attention_multiplier": 0.015625,
           "embedding_multiplier": 12, "hidden_size": 768, "intermediate_size": 2048, "logits_scaling": 3,
           "layer_types": layer_types, "mamba_conv_bias": True, "mamba_d_conv": 4, "mamba_d_head": 32,
           "mamba_d_state": 128, "mamba_n_groups": 1, "mamba_n_heads": 48, "mamba_proj_bias": False,
           "max_position_embeddings": 32768, "num_attention_heads": 12, "num_experts_per_tok": 0,
           "num_hidden_layers": 32, "num_key_value_heads": 4, "num_local_experts": 0,
           "position_embedding_type": "nope", "residual_multiplier": 0.246, "rms_norm_eps": 1e-05,
           "shared_intermediate_size": 2048, "tie_word_embeddings": True, "vocab_size": 100352}
    imp = import_config(cfg, "ibm-granite/granite-4.0-h-350m")
    s = imp.spec
    assert (s.attention_layer_count, s.recurrent.layers, s.moe) == (4, 28, None)
    h, d_in, gs = 768, 48 * 32, 128
    mamba = h * (2 * d_in + 2 * gs + 48) + (d_in + 2 * gs) * 5 + 3 * 48 + d_in + d_in * h + h
    attn = h * 12 * 64 + 2 * h * 4 * 64 + 12 * 64 * h + h
    mlp = 3 * h * 2048 + h
    assert imp.params["total"] == 28 * mamba + 4 * attn + 32 * mlp + 100352 * h + h
    assert s.total_params_b == pytest.approx(0.35, rel=0.03)  # model name: 350M
    assert state_bytes_per_sequence(s) == 28 * (48 * 32 * 128 * 2 + 3 * 1792 * 2)


def test_nemotron_nano_2_pattern_with_adjacent_mamba_blocks():
    """NVIDIA-Nemotron-Nano-9B-v2: 'MM' runs in the pattern, Mamba heads 80 wide (fields as a
    public test quotes them); 27 Mamba-2, 4 attention, 25 MLP blocks; about 9B."""
    cfg = {"model_type": "nemotron_h", "num_hidden_layers": 56, "hidden_size": 4480, "intermediate_size": 15680,
           "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 131072,
           "hybrid_override_pattern": "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-",
           "ssm_state_size": 128, "conv_kernel": 4, "n_groups": 8, "mamba_num_heads": 128, "mamba_head_dim": 80,
           "mlp_hidden_act": "relu2", "max_position_embeddings": 131072}
    s = import_config(cfg, "nvidia/NVIDIA-Nemotron-Nano-9B-v2").spec
    assert (s.attention_layer_count, s.recurrent.layers, s.dense_ffn_layer_count) == (4, 27, 25)
    assert s.total_params_b == pytest.approx(9, rel=0.03)  # model name: 9B
    assert state_bytes_per_sequence(s) == 27 * (128 * 80 * 128 * 4 + 3 * (128 * 80 + 2 * 8 * 128) * 2)


def test_add_model_says_which_tensor_parallel_sizes_its_heads_allow(user_dir, tmp_path, capsys):
    """A model whose heads do not split over 4 or 8 GPUs (Phi-4's 40 heads, 10 KV heads) is
    sized with TP=1 or 2 only (layers.tensor_parallel_refusal); adding one says so, and
    `catalog show` lists the sizes."""
    from xlsizer.cli import main
    from xlsizer.cli_catalog import show_model

    cfg = json.loads((CONFIGS / "meta-llama--Meta-Llama-3.1-8B.json").read_text())
    cfg.update(num_attention_heads=40, num_key_value_heads=10, head_dim=128)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    assert main(["catalog", "add-model", str(path), "--id", "acme-40h"]) == 0
    out = capsys.readouterr().out
    assert ("note: its heads split evenly over 1 or 2 GPUs only: replicas use tensor parallelism up to TP=2 "
            "(40 attention heads, 10 KV heads)") in out
    assert show_model("acme-40h")["tensor_parallel_sizes"] == [1, 2]
    assert show_model("llama-3.1-8b")["tensor_parallel_sizes"] == [1, 2, 4, 8]
