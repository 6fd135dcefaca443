"""The optimization waterfall (issue 4): everything off, then one optimization at a time."""

import json

from xlsizer import make_inputs
from xlsizer.cli import main
from xlsizer.engine.waterfall import STEPS, step_notes, waterfall

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


def test_waterfall_cost_per_step_and_notes_where_replicas_and_gpus_part():
    from xlsizer import size
    from xlsizer.engine.waterfall import WaterfallStep

    inp = make_inputs(ALL_ON)
    steps = waterfall(inp)
    assert steps[-1].monthly_cost == size(inp).burst.extra["cost"]["monthly"]
    assert all(s.monthly_cost is not None and s.monthly_cost > 0 for s in steps if not s.note)
    notes = step_notes(steps)
    assert len(notes) == len(steps) and notes[0] == ""
    for prev, s, n in zip(steps[:-1], steps[1:], notes[1:], strict=True):
        opposite = (s.replicas - prev.replicas) * (s.total_gpus - prev.total_gpus) < 0
        assert ("replicas rise" in n or "replicas fall" in n) == opposite, (s.label, n)

    # hand-made: quantization halves GPUs per replica, so replicas rise while GPUs fall
    a = WaterfallStep("Everything off", "", None, 6, 24, 4, "h100-sxm", 1000.0, 100.0, monthly_cost=50_000.0)
    b = WaterfallStep("Low-precision weights", "precision", "fp8", 9, 18, 2, "h100-sxm", 900.0, 80.0,
                      monthly_cost=40_000.0)
    c = WaterfallStep("Step", "x", 1, 9, 16, 2, "b200", 900.0, 80.0, monthly_cost=45_000.0)
    out = step_notes([a, b, c])
    assert out[1] == ("replicas rise (6 -> 9) but GPUs fall (24 -> 18): each replica now uses 2x h100-sxm "
                      "instead of 4x h100-sxm")
    assert out[2] == "GPUs fall but cost rises: b200 instead of h100-sxm, priced differently"
    # the same GPUs per replica split another way at an equal cost: why tok/s per replica fell
    d = WaterfallStep("Static", "x", 1, 2, 16, 8, "mi300x", 7903.0, 80.0, monthly_cost=23_243.0, shape="DEP=8")
    e = WaterfallStep("Continuous batching", "y", 1, 2, 16, 8, "mi300x", 5628.0, 80.0, monthly_cost=23_243.0,
                      shape="TP=8")
    assert step_notes([d, e])[1] == ("each 8x mi300x replica now runs TP=8 instead of DEP=8, 5,628 tok/s each "
                                     "instead of 7,903: the same GPU count either way, and at equal cost the "
                                     "search keeps the first shape it lists")
    assert step_notes([e, d])[1] == "each 8x mi300x replica now runs DEP=8 instead of TP=8"
    assert step_notes([d, d])[1] == ""


def test_waterfall_steps_name_the_replica_shape():
    """DeepSeek-R1 at 5 users on MI300X: static batches pick attention data-parallel replicas
    (MLA's KV is not replicated over the ranks), continuous batching an equally cheap TP=8."""
    steps = waterfall(make_inputs(dict(model="deepseek-r1", concurrent_users=5)))
    shapes = {s.label: s.shape for s in steps}
    assert shapes["Low-precision weights"] == "DEP=8" and shapes["Continuous batching"] == "TP=8"
    note = step_notes(steps)[[s.label for s in steps].index("Continuous batching")]
    assert note.startswith("each 8x mi300x replica now runs TP=8 instead of DEP=8, ")


def test_waterfall_cost_names_its_currency(capsys, tmp_path):
    """Issue 24 item 7: the cost column had no currency (CLI table, --json, report sheet)."""
    assert main(["waterfall", "--set", "currency=EUR"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "EUR/month" in head and "cost/month" not in head
    assert main(["waterfall", "--set", "currency=EUR", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["currency"] for r in rows} == {"EUR"}
    # an unknown price still names the currency of the column
    steps = waterfall(make_inputs(dict(currency="CHF", pricing_model="on-prem", gpu="h200-nvl")))
    assert all(s.currency == "CHF" for s in steps)
