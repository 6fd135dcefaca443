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
    (["size", "--set", "bogus=1"], "unknown input 'bogus'"),
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


# --- issue 14: fits 100 columns, usage, the list of inputs, thousands separators ----------------
WIDE_CASES = [
    [],
    ["model=llama-3.1-405b", "concurrent_users=2000", "currency=SwissFranc"],
    ["pricing_model=on-prem", "gpu=a100-80gb", "model=llama-3.1-8b"],
    ["throughput_source=course-table", "speculative_decoding=true", "prefix_caching=true", "kv_offload=true"],
    # the median: at p95 a 12,000-token prompt's queue misses the 800 ms preset on an L40S
    ["gpu=l40s", "model=llama-3.1-8b", "max_context_tokens=131072", "avg_prompt_tokens=12000",
     "slo_percentile=50"],
]


@pytest.mark.parametrize("sets", WIDE_CASES)
def test_size_table_fits_100_columns(sets, capsys):
    assert main(["size", *(["--set", *sets] if sets else [])]) == 0
    out = capsys.readouterr().out
    widths = [len(line) for line in out.splitlines()]
    assert max(widths) <= 100, [line for line in out.splitlines() if len(line) > 100]
    # nothing is cut: every warning and the headline appear in full once the wrapping is undone
    flat = " ".join(out.split())
    import xlsizer

    r = xlsizer.size(__import__("xlsizer.cli", fromlist=["parse_assignments"]).parse_assignments(sets))
    assert " ".join(r.headline.split()) in flat
    for w in r.warnings:
        assert " ".join(w.split()) in flat
    # the scenario meaning rows are part of the table
    assert "Burst factor (peak / average)" in out and "Spare replicas" in out


def test_waterfall_table_fits_100_columns(capsys):
    assert main(["waterfall", "--set", "precision=fp8", "speculative_decoding=true", "prefix_caching=true"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "USD/month" in out  # the cost column names its currency


def test_bare_xlsizer_prints_usage(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: xlsizer")
    for cmd in ("size", "inputs", "report", "template", "waterfall"):
        assert cmd in err


def test_inputs_lists_every_input_with_unit_range_default(capsys):
    from xlsizer.inputs import SizingInputs

    assert main(["inputs", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [it["name"] for it in items] == list(SizingInputs.model_fields)
    by = {it["name"]: it for it in items}
    assert by["concurrent_users"]["unit"] == "users"
    assert by["concurrent_users"]["default"] == SizingInputs.model_fields["concurrent_users"].default
    assert by["concurrent_users"]["allowed"] == "between 1 and 100000"
    assert by["redundancy_mode"]["allowed"].startswith("one of N, N+1, N+2")
    assert "llama-3.3-70b" in by["model"]["allowed"] and "h100-sxm" in by["gpu"]["allowed"]
    assert [it["name"] for it in items if it["allowed"] == "valid"] == []
    assert main(["inputs"]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 100
    for name in SizingInputs.model_fields:
        assert f"\n{name}" in "\n" + text, name
    assert f"concurrent_users [users]  default: {by['concurrent_users']['default']}" in text


@pytest.mark.parametrize("text", ["1,000", "1 000", "1\u00a0000", "1000"])
def test_thousands_separators_in_set(text, capsys):
    assert main(["size", "--json", "--set", f"concurrent_users={text}", "gpu_purchase_price=25,000"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inputs"]["concurrent_users"] == 1000
    assert data["inputs"]["gpu_purchase_price"] == 25000


def test_thousands_separators_in_json_file(tmp_path, capsys):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"concurrent_users": "2,500", "max_context_tokens": "32,768"}))
    assert main(["size", "--inputs", str(f), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inputs"]["concurrent_users"] == 2500 and data["inputs"]["max_context_tokens"] == 32768


@pytest.mark.parametrize("text", ["1,5", "1,00", "1,000 000", "10,00,000"])
def test_ambiguous_separators_are_refused_with_the_fix(text, capsys):
    assert main(["size", "--set", f"concurrent_users={text}"]) == 2
    err = capsys.readouterr().err
    assert "concurrent_users must be between 1 and 100000" in err and "write 1000 or 1,000" in err


def test_thousands_separators_in_workbook_text_cells(tmp_path):
    """A number typed as text in a filled template ("1,000" in a text-formatted cell) reads as a number."""
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.template import write_template

    path = write_template(tmp_path / "p.xlsx", values={"concurrent_users": "1,000", "max_context_tokens": "32 768"},
                          name="separators")
    inputs = read_project(path).inputs
    assert inputs.concurrent_users == 1000 and inputs.max_context_tokens == 32768


def test_readme_example_quotes_what_the_command_prints():
    """Issue 24 item 7: the README quoted "24 GPUs across 6 replicas" where the command printed
    12 across 12. The README's example is run as written, in Python and as the equivalent
    `python3 -m xlsizer size --set ...`, and the sentence it quotes must be what both print."""
    import ast
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    call = re.search(r"^r = xlsizer\.size\((.*)\)\s*$", readme, re.M)
    quoted = re.search(r"^print\(r\.headline\)\s+# \"(.*?)( \.\.\.)?\"\s*$", readme, re.M)
    assert call and quoted, "the README's Python example moved: update this test"
    kwargs = {k.arg: ast.literal_eval(k.value) for k in ast.parse(f"f({call.group(1)})").body[0].value.keywords}
    said = quoted.group(1)
    assert re.search(r"\d+ GPUs across \d+ replicas", said), said  # the numbers a reader takes away

    import xlsizer

    assert xlsizer.size(**kwargs).headline.startswith(said)
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "xlsizer", "size", "--set", *(f"{k}={v}" for k, v in kwargs.items())],
                         capture_output=True, text=True, check=True, env=env, cwd=root).stdout
    assert said in " ".join(out.split())  # the table's paragraph wraps the headline
