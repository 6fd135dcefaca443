"""The command line: a table, JSON with the documented keys, and one-line errors (exit 2)."""

import json

import pytest

from xlsizer.cli import main

SCENARIO_KEYS = {"gpu", "gpus_per_replica", "tp", "pp", "active_replicas", "replicas", "total_gpus", "servers",
                 "replicas_per_server", "throughput_per_replica_tok_s", "memory", "traffic", "it_kw",
                 "facility_kw", "pue", "cooling_tier", "fabric", "warnings"}
MEMORY_KEYS = {"weights_gb", "kv_bytes_per_token", "kv_per_request_gb", "kv_total_gb", "activations_gb",
               "headroom_gb", "vram_gb"}


def test_size_table(capsys):
    assert main(["size"]) == 0
    out = capsys.readouterr().out
    assert "Baseline" in out and "Burst" in out and "Resilient" in out and "Plan on" in out


def test_size_json_keys(capsys):
    assert main(["size", "--json", "--set", "concurrent_users=200", "target_tpot_ms=40"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"inputs", "scenarios", "warnings", "confidence", "explain"} <= set(data)
    assert data["inputs"]["concurrent_users"] == 200
    assert set(data["scenarios"]) == {"baseline", "burst", "resilient"}
    for s in data["scenarios"].values():
        assert set(s) >= SCENARIO_KEYS
        assert set(s["memory"]) >= MEMORY_KEYS
        assert {"rps", "inflight_requests", "demand_tok_s"} <= set(s["traffic"])
    assert all({"name", "value", "unit", "formula", "source"} <= set(st) for st in data["explain"])


def test_inputs_file_roundtrip(tmp_path, capsys):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"concurrent_users": 300, "model": "llama-3.1-8b"}))
    assert main(["size", "--inputs", str(f), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    f2 = tmp_path / "again.json"
    f2.write_text(json.dumps(first))  # a size --json output is accepted as inputs too
    assert main(["size", "--inputs", str(f2), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scenarios"] == first["scenarios"]


@pytest.mark.parametrize("argv,needle", [
    (["size", "--set", "target_tpot_ms=-3"], "target_tpot_ms must be between 5 and 1000, got '-3'"),
    (["size", "--set", "model=gpt-5"], "unknown model 'gpt-5'"),
    (["size", "--set", "gpu=h10"], "closest: h100"),
    (["size", "--set", "concurrent_users"], "--set expects field=value"),
    (["size", "--set", "bogus=1"], "bogus must be a known input name"),
    (["size", "--set", "model=custom"], "missing parameter_count_b"),
    (["size", "--inputs", "/nonexistent.json"], "no such file"),
    (["size", "--nope"], "unrecognized arguments"),
])
def test_errors_are_one_line_exit_2(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors exit through SystemExit
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_json_file(tmp_path, capsys):
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    assert main(["size", "--inputs", str(f)]) == 2
    assert "not a readable JSON file" in capsys.readouterr().err
