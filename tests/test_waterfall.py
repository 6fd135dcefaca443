"""The optimization waterfall (issue 4): everything off, then one optimization at a time."""

import json

from xlsizer import make_inputs
from xlsizer.cli import main
from xlsizer.engine.waterfall import STEPS, waterfall

# The course's bank RAG example with every technique switched on (70B FP8, 8 variants).
ALL_ON = dict(model="llama-3.3-70b", avg_prompt_tokens=6000, prefix_shared_tokens=4200, speculative_decoding=True,
              spec_draft_model="llama-3.1-8b", lora_variants=8, kv_offload=True, disaggregated=True,
              concurrent_users=40)


def test_waterfall_starts_off_and_ends_at_the_users_sizing():
    from xlsizer import size

    inp = make_inputs(ALL_ON)
    steps = waterfall(inp)
    assert steps[0].label == "Everything off"
    labels = [s.label for s in steps[1:]]
    assert labels == [lab for lab, f, _ in STEPS if lab in labels]  # the stated order
    assert {"Continuous batching", "PagedAttention", "Prefix caching", "Speculative decoding",
            "LoRA adapters (shared deployment)"} <= set(labels)
    last, user = steps[-1], size(inp).burst
    assert (last.replicas, last.total_gpus) == (user.replicas, user.total_gpus)
    assert steps[0].total_gpus > 3 * last.total_gpus  # naive serving needs several times the GPUs
    assert all(s.memory_per_replica_gb > 0 for s in steps if not s.note)


def test_waterfall_cli(capsys):
    assert main(["waterfall", "--set", "lora_variants=4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["label"] == "Everything off" and rows[-1]["total_gpus"] > 0
    assert main(["waterfall"]) == 0
    assert "Everything off" in capsys.readouterr().out
