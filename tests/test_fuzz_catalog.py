"""Regression tests for issue 24's fuzzing of the user catalog and the config.json importer:
a hostile file in the user's catalog folder is skipped with one warning naming it (every other
command, model and Excel function keeps working); files are bounded in size, kind and depth
before they are parsed; a model row with an infinite or astronomically large figure is refused
with the field named; `add-model` refuses malformed and inconsistent configs in one line that
names the file; `catalog remove` never leaves the catalog folder."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xlsizer
from xlsizer import cells
from xlsizer.catalog import ModelSpec, load_catalog
from xlsizer.catalog.bounded import MAX_NESTING, MAX_USER_MODEL_BYTES
from xlsizer.catalog.hf_config import ConfigError, import_config
from xlsizer.catalog.loader import reload_catalog
from xlsizer.catalog.user import add_model, remove_user_model, spec_row
from xlsizer.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256, "num_hidden_layers": 4,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
         "max_position_embeddings": 4096, "torch_dtype": "bfloat16"}


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """An empty user catalog folder (with its models/ folder) for one test."""
    folder = tmp_path / "catalog"
    (folder / "models").mkdir(parents=True)
    monkeypatch.setenv("XLSIZER_CATALOG_DIR", str(folder))
    yield folder
    monkeypatch.undo()
    reload_catalog()  # back to the session's folder


def _good_row(model_id: str = "my-model") -> dict:
    return spec_row(import_config(SMALL, "acme/Acme-1", model_id=model_id).spec)


def _still_works() -> None:
    """The packaged catalog, sizing and an Excel function answer as usual."""
    cat = reload_catalog()
    assert "llama-3.1-8b" in cat.models
    assert xlsizer.size(model="llama-3.1-8b", concurrent_users=100).burst.total_gpus >= 1
    cells.cache_clear()
    assert cells.kv_per_token("llama-3.1-8b") == 2 * 32 * 8 * 128 * 1  # K and V, 32 layers, 8 heads x 128, FP8


# --- 1. the user catalog folder: bounded before parsing, a bad file skipped with one warning ----

def test_deeply_nested_yaml_is_skipped_not_fatal(user_dir, caplog):
    """Before: RecursionError from every command and every UDF."""
    (user_dir / "models" / "good.yaml").write_text(yaml.safe_dump(_good_row()))
    (user_dir / "models" / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    with caplog.at_level(logging.WARNING, logger="xlsizer.catalog"):
        _still_works()
    cat = load_catalog()
    assert cat.user_models == ("my-model",)  # the good file beside it still loads
    assert [e.split(":")[0] for e in cat.user_errors] == ["deep.yaml"]
    assert f"more than {MAX_NESTING} levels" in cat.user_errors[0]
    warned = [r.getMessage() for r in caplog.records if "deep.yaml" in r.getMessage()]
    assert len(warned) == 1, warned  # one warning, however many look-ups


def test_nesting_at_the_limit_is_still_read(user_dir):
    """The depth bound refuses only what passes it: a row nested MAX_NESTING deep is parsed
    (and refused by the schema, not by the bound)."""
    (user_dir / "models" / "edge.yaml").write_text("a: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "\n")
    (err,) = reload_catalog().user_errors
    assert err.startswith("edge.yaml:") and "levels" not in err


@pytest.mark.skipif(not hasattr(os, "symlink") or not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_link_to_a_device_is_refused_unread(user_dir):
    """Before: a link to /dev/zero read until memory ran out (5.9 GB)."""
    (user_dir / "models" / "zero.yaml").symlink_to("/dev/zero")
    _still_works()
    (err,) = load_catalog().user_errors
    assert err == "zero.yaml: not read (not a regular file)"


def test_oversized_file_is_refused_by_its_size(user_dir):
    """Before: a 50 MB YAML was parsed by every command (20 s each)."""
    big = user_dir / "models" / "big.yaml"
    row = _good_row("big-model")
    row["notes"] = "x" * MAX_USER_MODEL_BYTES
    big.write_text(yaml.safe_dump(row, width=10**9))
    _still_works()
    (err,) = load_catalog().user_errors
    assert err.startswith("big.yaml: not read (") and "bytes" in err
    assert "big-model" not in load_catalog().models


@pytest.mark.parametrize("text", [
    "hidden_size: " + "9" * 5000,  # an integer Python refuses to convert (> 4,300 digits)
    "\xff\xfe not text",
    "[unclosed",
], ids=["digits", "latin-1", "syntax"])
def test_unreadable_files_are_skipped(user_dir, text):
    (user_dir / "models" / "bad.yaml").write_bytes(text.encode("latin-1"))
    _still_works()
    assert [e.split(":")[0] for e in load_catalog().user_errors] == ["bad.yaml"]


def test_one_warning_line_on_the_command_line(user_dir):
    (user_dir / "models" / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    run = subprocess.run([sys.executable, "-m", "xlsizer", "size", "--set", "model=llama-3.1-8b"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "XLSIZER_CATALOG_DIR": str(user_dir)})
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        f"xlsizer: warning: user catalog: deep.yaml: not read (nested more than {MAX_NESTING} levels deep) "
        "(file skipped)"]


# --- 2. figures that validate must size: finite, bounded values --------------------------------

@pytest.mark.parametrize(("key", "value", "message"), [
    ("total_params_b", float("inf"), "finite number"),
    ("total_params_b", float("nan"), "finite number"),
    ("hidden_size", 10**400, r"at most 10\^10"),
    ("max_context_tokens", 10**11, r"at most 10\^10"),
], ids=["inf", "nan", "10**400", "10**11"])
def test_schema_refuses_infinite_and_huge_figures(key, value, message):
    """Before: these rows validated, then sizing crashed with an internal error."""
    row = {**_good_row(), key: value}
    with pytest.raises(ValueError, match=message):
        ModelSpec.model_validate(row)


def test_user_file_with_an_infinite_figure_is_skipped_and_sizing_works(user_dir):
    (user_dir / "models" / "inf.yaml").write_text(yaml.safe_dump({**_good_row("inf-model"), "total_params_b": 1e999}))
    _still_works()
    (err,) = load_catalog().user_errors
    assert err.startswith("inf.yaml: total_params_b:") and "finite" in err


def test_schema_refuses_more_kv_heads_than_heads():
    with pytest.raises(ValueError, match="multiple of kv_heads"):
        ModelSpec.model_validate({**_good_row(), "kv_heads": 8})
    with pytest.raises(ValueError, match="multiple of kv_heads"):
        ModelSpec.model_validate({**_good_row(), "attention_heads": 6, "kv_heads": 4})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(("name", "text", "reason"), [
    ("nan.json", json.dumps(SMALL).replace('"hidden_size": 256', '"hidden_size": NaN'), "hidden_size"),
    ("inf.json", json.dumps(SMALL).replace('"hidden_size": 256', '"hidden_size": Infinity'), "hidden_size"),
    ("ninf.json", json.dumps(SMALL).replace('"vocab_size": 1000', '"vocab_size": -Infinity'), "vocab_size"),
    ("digits.json", json.dumps(SMALL).replace('"hidden_size": 256', '"hidden_size": ' + "9" * 5000), "4300 digits"),
    ("huge.json", json.dumps({**SMALL, "bos_token_id": 10**40}), "bos_token_id"),
    ("deep.json", json.dumps({**SMALL, "rope_scaling": 1}).replace("1}", "[" * 100_000 + "]" * 100_000 + "}"),
     "nested too deeply"),
    ("kv.json", json.dumps({**SMALL, "num_attention_heads": 32, "num_key_value_heads": 64, "head_dim": 8}),
     "num_key_value_heads (64) exceeds num_attention_heads (32)"),
    ("group.json", json.dumps({**SMALL, "num_attention_heads": 6, "num_key_value_heads": 4, "head_dim": 8}),
     "not a multiple of num_key_value_heads"),
    ("width.json", json.dumps({**SMALL, "num_attention_heads": 6, "num_key_value_heads": 2}),
     "hidden_size (256) is not divisible by num_attention_heads (6)"),
    ("tie.json", json.dumps({**SMALL, "tie_word_embeddings": "yes"}), "'tie_word_embeddings' must be true or false"),
    ("q1.json", json.dumps({**SMALL, "quantization_config": "fp8"}), "'quantization_config' must be an object"),
    ("q2.json", json.dumps({**SMALL, "quantization_config": {"bits": 4}}), "neither quant_method nor quant_algo"),
    ("q3.json", json.dumps({**SMALL, "quantization_config": {"quant_method": "banana"}}), "'banana' is not supported"),
    ("q4.json", json.dumps({**SMALL, "quantization_config": {"quant_method": "compressed-tensors",
                                                             "config_groups": [1, 2]}}), "config_groups"),
], ids=lambda v: v if isinstance(v, str) and v.endswith(".json") else "")
def test_add_model_refuses_in_one_line_naming_the_file(tmp_path, user_dir, capsys, name, text, reason):
    """Before: NaN, Infinity and a 5,000-digit integer were internal errors (exit 1); the
    inconsistent configs were accepted; errors said "config.json" whatever the file's name."""
    path = _write(tmp_path, name, text)
    assert main(["catalog", "add-model", str(path), "--id", "acme-1"]) == 2
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith(f"xlsizer: error: {path}") and reason in line, line
    assert not any((user_dir / "models").iterdir())  # nothing written


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_add_model_refuses_a_device(user_dir):
    """Before: `add-model /dev/zero` read until memory ran out."""
    with pytest.raises(ConfigError, match="not a regular file"):
        add_model("/dev/zero", model_id="zero")


def test_infinity_in_a_key_that_changes_no_shape_is_still_accepted(user_dir):
    """Nemotron-3 Super's config holds ``time_step_limit: [0.0, Infinity]`` (a clamp, no shape):
    it must keep importing."""
    imp = import_config({**SMALL, "time_step_limit": [0.0, float("inf")]}, "acme/Acme-1")
    assert imp.spec.layers == 4


# --- 3. `catalog remove` stays inside the catalog folder ---------------------------------------

@pytest.mark.parametrize("bad_id", ["../../important", "../important", "..", "a/b", "a\\b", "/etc/passwd", ""])
def test_remove_refuses_ids_that_are_paths(tmp_path, user_dir, bad_id):
    """Before: `xlsizer catalog remove ../../important` deleted a .yaml outside the catalog."""
    important = tmp_path / "important.yaml"
    important.write_text("mine: true\n")
    (user_dir / "important.yaml").write_text("mine: true\n")
    with pytest.raises(ConfigError, match="not a model id"):
        remove_user_model(bad_id)
    assert important.exists() and (user_dir / "important.yaml").exists()
    assert main(["catalog", "remove", bad_id]) == 2
    assert important.exists()


def test_remove_still_removes_a_model_of_yours(user_dir):
    add_model(SMALL, model_id="acme-1")
    assert "acme-1" in load_catalog().models
    assert remove_user_model("acme-1") == user_dir / "models" / "acme-1.yaml"
    assert "acme-1" not in load_catalog().models


# --- the importer never crashes on a hostile value (the fuzz campaign's 22 of 164 crashes) -----

CONFIGS = sorted((ROOT / "xlsizer" / "catalog" / "configs").glob("*.json"))
HOSTILE = [float("nan"), float("inf"), -float("inf"), 10**5000, 1e300, -1, 0.5, "yes", [], {"a": [1]}, True]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CONFIGS), st.data())
def test_any_key_of_a_real_config_set_to_a_hostile_value_is_a_config_error(path, data):
    """Every key of a shipped config (top level or text_config), set to NaN, an infinity, a
    5,000-digit integer, a wrong type...: an import or a one-line ConfigError, never another
    exception. Before: 'cannot convert float NaN to integer', OverflowError, and str() of a
    5,000-digit integer ('Exceeds the limit (4300 digits)') escaped as internal errors."""
    from xlsizer.catalog.hf_config import load_config_file

    cfg = load_config_file(path)
    target = cfg["text_config"] if isinstance(cfg.get("text_config"), dict) and data.draw(st.booleans()) else cfg
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(st.sampled_from(HOSTILE))
    try:
        import_config(cfg, path.name)
    except ConfigError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 500
