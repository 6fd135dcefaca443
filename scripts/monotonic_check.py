"""Answers that move the wrong way with everything else fixed (issue 24 item 8): over N random
valid input sets (fixed seed), make one input harder at a time and count the sets where a
scenario then needs *fewer* GPUs (on-prem: fewer GPUs bought, every slot of a full baseboard
counted; an infeasible answer counts as unbounded, so "the easier input is refused, the harder
one fits" counts too).

    PYTHONPATH=$PWD python3 scripts/monotonic_check.py [--n 2000] [--seed 24] [--show 2]

Properties (the harder input on the right):
- tpot: a tighter TPOT target (x 0.4-0.95)        - ttft: a tighter TTFT target (x 0.4-0.95)
- output: longer outputs (x 1.05-3)               - prompt: longer prompts (x 1.05-3)
- users: more users (x 1.01-3)                    - rpm: more requests per user (x 1.05-3)
- burst: a higher peak / average (x 1.05-2)        - redundancy: more spares (N -> N+1 -> N+2)
- percentile: a stricter SLO percentile (50 -> 90 -> 95 -> 99 -> 99.9)
- bytes: more bytes per weight at no faster tensor math (fp8 -> bf16; not int4 -> int8, whose
  INT8 GEMMs run at twice the rate of INT4's weight-only BF16 ones, nor a MoE's fp4 -> fp8, whose
  FP4 checkpoints keep attention in BF16 where FP8 runs it at twice the rate), the KV format held (on
  "auto" the KV cache follows the weights: FP8 weights, FP8 KV, half of BF16's)
- opt-off: one of continuous batching, PagedAttention, prefix caching or KV offload switched
  off (each only takes work or memory away; the waterfall's steps)
- faster-gpu: a GPU of the same vendor at least as large and fast in every figure (memory,
  bandwidth, 16-bit and 8-bit tensor rate, GPUs per server, the link of a collective over 2-64
  GPUs: step.collective_link, NVLink bridges included) is *refused* where
  the slower one fits (feasibility only: whole-GPU replica shapes make counts incomparable)

Counts are split by GPU choice (fixed / auto) and method (roofline / course-table). With a
fixed GPU a count is a bug unless explained. ``explained`` counts, with ``gpu=auto``, jumps
where every scenario that dropped moved to another GPU and its answer says why (the "cheapest
adequate GPU is no longer ..." warning or the "Next cheapest GPU" explain row); and, for
longer outputs or prompts, answers that warn that static batches' outputs reach the cap of
max context - prompt (a tighter cap shortens a static batch's longest request: physics, not a
solver error), or that a request spends a material share of its slot time in prefill (the
capacity counts those slots as decoding, a gap the answer names: docs/method.md, "Answers that
must move the right way"); and, for a faster GPU, a refusal because one replica's servers
outgrow the rack's power limit (the faster GPU draws more per server) that names the rack power
that would hold it (``rack_power_limit_kw``). The course-table method's "tighter TPOT, fewer
GPUs" is the course's documented Little's-law effect (its in-flight KV shrinks): reported, not a
bug.

A last line checks the bill where the GPU count may move: with ``gpu=auto`` and the roofline
method on a cloud basis, the search ranks plans on GPUs in use x $/GPU-hour, so a harder input
never cuts a scenario's monthly bill, save by the precision gate (more bytes per weight opening
GPUs without the easier format's tensor cores) or with static batches; any other cut is a search
bug, printed with its inputs.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from typing import Any

from xlsizer.api import size
from xlsizer.catalog import load_catalog
from xlsizer.engine.memory import dense_weights_precision
from xlsizer.engine.performance import packaged_calibration
from xlsizer.engine.placement import full_baseboards
from xlsizer.engine.search import compute_precision
from xlsizer.engine.step import collective_link
from xlsizer.errors import InfeasibleError, XlsizerError
from xlsizer.inputs import make_inputs
from xlsizer.precision import Precision
from xlsizer.resolve import output_tokens, resolve_model
from xlsizer.results import SCENARIOS

PROPS = ("tpot", "ttft", "output", "prompt", "users", "rpm", "burst", "redundancy", "percentile", "bytes",
         "faster-gpu", "opt-off")
SAVERS = ("continuous_batching", "paged_attention", "prefix_caching", "kv_offload")
"""Optimizations that only take work or memory away, so switching one off is a harder input
(speculative decoding and disaggregated serving can cost more than they save: not among them)."""
PERCENTILES = ("50", "90", "95", "99", "99.9")
REDUNDANCY = ("N", "N+1", "N+2")
PRECISIONS = ("fp4", "int4", "fp8", "int8", "bf16", "fp16")


def random_inputs(rng: random.Random, models: list[str], gpus: list[str]) -> dict[str, Any]:
    """A random valid input set (the kinds of values the issue's campaign drew)."""
    d: dict[str, Any] = {
        "model": rng.choice(models),
        "gpu": rng.choice([*gpus, "auto", "auto", "auto", "auto", "auto"]),
        "precision": rng.choice(PRECISIONS),
        "concurrent_users": rng.choice([rng.randint(1, 300), rng.randint(1, 5000), rng.randint(1, 20_000)]),
        "workload_type": rng.choice(["rag", "interactive_chat", "code_completion", "batch", "agentic"]),
    }
    if rng.random() < 0.5:
        d["target_tpot_ms"] = round(rng.uniform(10, 300), 1)
    if rng.random() < 0.5:
        d["target_ttft_ms"] = round(rng.uniform(100, 5000), 1)
    if rng.random() < 0.5:
        d["avg_output_tokens"] = rng.randint(16, 4000)
    if rng.random() < 0.5:
        d["avg_prompt_tokens"] = rng.randint(16, 16_000)
    if rng.random() < 0.3:
        d["requests_per_user_per_minute"] = round(rng.uniform(0.1, 10), 2)
    if rng.random() < 0.3:
        d["burst_factor"] = round(rng.uniform(1, 5), 2)
    if rng.random() < 0.3:
        d["redundancy_mode"] = rng.choice(["N", "N+1", "N+2"])
    if rng.random() < 0.3:
        d["slo_percentile"] = rng.choice(PERCENTILES)
    if rng.random() < 0.2:
        d["length_cv"] = round(rng.uniform(0, 1.5), 2)
    if rng.random() < 0.2:
        d["arrivals"] = rng.choice(["bursty", "closed"])
        if d["arrivals"] == "bursty":
            d["arrival_scv"] = round(rng.uniform(1.5, 6), 2)
    if rng.random() < 0.3:
        d["serving_engine"] = rng.choice(["vllm", "trt-llm", "sglang", "triton"])
    if rng.random() < 0.15:
        d["throughput_source"] = "course-table"
    if rng.random() < 0.15:
        d["pricing_model"] = "on-prem"
    for flag, p in (("continuous_batching", 0.15), ("paged_attention", 0.1), ("prefix_caching", 0.15),
                    ("speculative_decoding", 0.1), ("kv_offload", 0.1), ("disaggregated", 0.1)):
        if rng.random() < p:
            d[flag] = flag in ("prefix_caching", "speculative_decoding", "kv_offload", "disaggregated")
    return d


Totals = tuple[list[float], list[str], list[bool], bool, list[float]]


def totals(d: dict[str, Any], memo: dict[str, Any]) -> Totals | None:
    """(total GPUs, GPU, whether the answer explains its automatic choice) per scenario, and
    whether it warns that static batches' outputs reach the context cap (or that prefill holds a
    material share of each slot), and the monthly bill of a cloud plan per scenario (the GPUs in
    use x $/GPU-hour: the cost the automatic choice ranks on; nan on-prem or unpriced); inf GPUs
    when infeasible, the flag then saying whether the refusal names the rack power that would
    hold a replica; None when the inputs are invalid (an InputError: not an answer to compare)."""
    key = repr(sorted(d.items()))
    if key in memo:
        return memo[key]
    try:
        r = size(d)
        why = {s.scenario for s in r.explain() if s.name == "Next cheapest GPU"}
        if any("cheapest adequate GPU is no longer" in w for w in r.warnings):
            why |= set(SCENARIOS)
        warned = any("reach the cap of max context" in w or "is not below max context" in w
                     or "in prefill (" in w for w in r.warnings)
        out: Totals | None = (
            [_bought(r.scenarios[s], d) for s in SCENARIOS], [r.scenarios[s].gpu for s in SCENARIOS],
            [s in why for s in SCENARIOS], warned, [cloud_bill(r.scenarios[s]) for s in SCENARIOS])
    except InfeasibleError as exc:
        # the flag of a refusal: a replica outgrew the rack's power limit (a faster GPU that
        # draws more per server holds fewer servers per rack), and the refusal names that input
        out = ([math.inf] * len(SCENARIOS), [""] * len(SCENARIOS), [False] * len(SCENARIOS),
               "rack_power_limit_kw" in str(exc), [math.inf] * len(SCENARIOS))
    except XlsizerError:
        out = None
    memo[key] = out
    return out


def _bought(sc: Any, d: dict[str, Any]) -> float:
    """The GPUs the plan pays for: on a cloud bill the GPUs its replicas use; on-prem, where a
    server's baseboard comes full (8x MI355X), every slot of every server bought. An N+2 fleet
    of 12 one-GPU replicas, four per 8-GPU server, buys 24 GPUs: more than N+1's 16 replicas
    on two full servers, though it uses fewer (placement.survivable_fleet ranks on the slots)."""
    if d.get("pricing_model") == "on-prem" and full_baseboards(load_catalog().gpu(sc.gpu)):
        return float(max(sc.servers * sc.gpus_per_server, sc.total_gpus))
    return float(sc.total_gpus)


def cloud_bill(sc: Any) -> float:
    """The monthly bill of a cloud plan's GPUs in use (what the automatic choice ranks: GPUs x
    $/GPU-hour, search.billed_gpus); nan on-prem (ranked on purchase, billed with power) or
    without a price."""
    cost = sc.extra.get("cost") if sc.extra else None
    if not isinstance(cost, dict) or cost.get("pricing_model") != "cloud" or cost.get("compute") is None:
        return math.nan
    return float(cost["compute"])


def _dominates(a: Any, b: Any) -> bool:
    """GPU a is at least b in every figure the sizing reads (and not the same GPU)."""
    if a.id == b.id or a.vendor != b.vendor or a.roadmap:
        return False
    if not (a.memory_bytes >= b.memory_bytes and a.memory_bandwidth_tb_s >= b.memory_bandwidth_tb_s
            and a.gpus_per_node >= b.gpus_per_node):
        return False
    # every collective's link, not the fabric's headline: an H100 NVL's bridge (600 GB/s) joins
    # pairs only, and its TP=4 meets at PCIe, below an A100 SXM's NVSwitch (step.collective_link)
    if any(collective_link(a, k)[0] < collective_link(b, k)[0] for k in (2, 4, 8, 16, 32, 64)):
        return False
    return all(p in a.dense_tflops and a.dense_tflops[p] >= v for p, v in b.dense_tflops.items())


def _rate(g: Any, p: Precision) -> float:
    """Tensor rate the GEMMs of weights in ``p`` run at on ``g`` (the pipeline's choice)."""
    c = compute_precision(g, p)
    return g.dense_flops(c) * (packaged_calibration().fp4_gemm_efficiency if c.compute is Precision.FP4 else 1.0)


def harder(prop: str, d: dict[str, Any], rng: random.Random, cat: Any) -> dict[str, Any] | None:
    """The input set with one input made harder, or None when the property does not apply."""
    inp = make_inputs(d)
    if prop == "tpot":
        return {**d, "target_tpot_ms": max(1.0, round(inp.tpot_ms * rng.uniform(0.4, 0.95), 1))}
    if prop == "ttft":
        return {**d, "target_ttft_ms": max(1.0, round(inp.ttft_ms * rng.uniform(0.4, 0.95), 1))}
    if prop == "output":
        out = output_tokens(inp, resolve_model(inp))
        return {**d, "avg_output_tokens": max(out + 1, int(out * rng.uniform(1.05, 3)))}
    if prop == "prompt":
        p = inp.avg_prompt_tokens
        return {**d, "avg_prompt_tokens": max(p + 1, int(p * rng.uniform(1.05, 3)))}
    if prop == "users":
        return {**d, "concurrent_users": min(100_000, math.ceil(inp.concurrent_users * rng.uniform(1.01, 3)))}
    if prop == "rpm":
        return {**d, "requests_per_user_per_minute": min(60.0, round(inp.requests_per_user_per_minute
                                                                   * rng.uniform(1.05, 3), 2))}
    if prop == "burst":
        b = inp.burst_factor
        return {**d, "burst_factor": min(10.0, round(b * rng.uniform(1.05, 2), 2))} if b < 10 else None
    if prop == "redundancy":
        k = REDUNDANCY.index(str(inp.redundancy_mode.value))
        return {**d, "redundancy_mode": REDUNDANCY[k + 1]} if k + 1 < len(REDUNDANCY) else None
    if prop == "percentile":
        k = PERCENTILES.index(f"{inp.slo_percentile:g}")
        return {**d, "slo_percentile": PERCENTILES[k + 1]} if k + 1 < len(PERCENTILES) else None
    if prop == "bytes":
        # more bytes per weight and no faster tensor math on any GPU the sizing may use (INT8
        # weights multiply at the INT8 rate, twice INT4's weight-only BF16: not a harder input)
        b = Precision(inp.precision).bytes_per_element
        use = [cat.gpu(d["gpu"])] if d["gpu"] != "auto" else list(cat.gpus.values())
        # a MoE at FP4 keeps its dense weights as released (memory.dense_weights_precision: gpt-oss's
        # attention in BF16), which FP8 would multiply at twice the rate: not a harder input either
        dense = dense_weights_precision(resolve_model(inp), inp.precision)
        more = [p for p in PRECISIONS if Precision(p).bytes_per_element > b
                and all(_rate(g, Precision(p)) <= min(_rate(g, inp.precision), _rate(g, dense)) for g in use)]
        # the KV cache's format pinned: on "auto" it follows the weights (FP8 weights, FP8 KV)
        return {**d, "precision": rng.choice(more), "kv_cache_dtype": inp.kv_precision.value} if more else None
    if prop == "opt-off":
        on = [f for f in SAVERS if getattr(inp, f)]
        return {**d, rng.choice(on): False} if on else None
    if prop == "faster-gpu":
        if d["gpu"] == "auto":
            return None
        g = cat.gpu(d["gpu"])
        faster = sorted(x.id for x in cat.gpus.values() if _dominates(x, g))
        return {**d, "gpu": rng.choice(faster)} if faster else None
    raise ValueError(prop)


def _cost_check(prop: str, d: dict[str, Any], h: dict[str, Any], base: Totals, after: Totals,
                cost: dict[str, Any], show: int) -> None:
    """The automatic choice ranks plans on their bill, so a harder input never cuts it: an easier
    input could always have bought the harder one's plan. Exceptions, counted apart: the
    precision gate (the choice keeps to GPUs with tensor cores for the weights' format, so more
    bytes per weight can open cheaper GPUs: FP4 to FP8 or BF16, FP8 to BF16 on an A100; the
    answer's what-ifs price FP8 where FP4 keeps the choice to Blackwell) and static batches, whose
    cycle the longest request sets (longer outputs or prompts can shorten it at the context
    cap). Tallied in ``cost``: tried, fell, gate, static, shown (examples)."""
    pairs = [(b, x) for b, x in zip(base[4], after[4], strict=True) if math.isfinite(b) and math.isfinite(x)]
    if not pairs:
        return
    cost["tried"] += 1
    if not any(x < b * (1.0 - 1e-9) for b, x in pairs):
        return
    cost["fell"] += 1
    prec = Precision(d["precision"])
    if prop == "bytes" and any(g and not load_catalog().gpu(g).supports(prec) for g in after[1]):
        cost["gate"] += 1  # the harder plan's GPU lacks the easier input's format: the gate kept it out
    elif d.get("continuous_batching") is False:
        cost["static"] += 1
    elif len(cost["shown"]) < show:
        changed = {k: v for k, v in h.items() if d.get(k) != v}
        cost["shown"].append(f"{prop}: {d} -> {changed}: {base[4]} -> {after[4]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="random input sets (default 2,000)")
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--show", type=int, default=2, help="counterexamples printed per property and kind")
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    cat = load_catalog()
    models = sorted(m for m in cat.models if not m.startswith("custom"))
    gpus = sorted(g.id for g in cat.gpus.values() if not g.roadmap)
    tried: Counter = Counter()
    bad: Counter = Counter()
    cost: dict[str, Any] = {"tried": 0, "fell": 0, "gate": 0, "static": 0, "shown": []}
    shown: dict[tuple[str, str], list[str]] = {}
    memo: dict[str, Any] = {}
    t0 = time.perf_counter()
    valid = 0
    for _ in range(a.n):
        d = random_inputs(rng, models, gpus)
        memo.clear()
        base = totals(d, memo)
        if base is None:
            continue
        valid += 1
        method = "course-table" if d.get("throughput_source") == "course-table" else "roofline"
        choice = "auto" if d["gpu"] == "auto" else "fixed"
        for prop in PROPS:
            h = harder(prop, d, rng, cat)
            if h is None:
                continue
            after = totals(h, memo)
            if after is None:
                continue
            kind = f"{choice}/{method}"
            tried[prop, kind] += 1
            if kind == "auto/roofline" and prop != "faster-gpu":
                _cost_check(prop, d, h, base, after, cost, a.show)
            if prop == "faster-gpu":
                wrong = math.isfinite(base[0][1]) and not math.isfinite(after[0][1])
            else:
                wrong = any(x < y for x, y in zip(after[0], base[0], strict=True))
            if not wrong:
                continue
            bad[prop, kind] += 1
            # explained: every scenario that dropped moved to another GPU and says why
            dropped = [i for i in range(len(SCENARIOS)) if after[0][i] < base[0][i]]
            if choice == "auto" and all(after[1][i] != base[1][i] and after[2][i] for i in dropped):
                bad[prop, kind + " explained"] += 1
            elif prop in ("output", "prompt") and (base[3] or after[3]):
                bad[prop, kind + " explained"] += 1  # a static cap or prefill-held slots, warned
            elif prop == "faster-gpu" and after[3]:
                bad[prop, kind + " explained"] += 1  # refused by the rack's power limit, named
            ex = shown.setdefault((prop, kind), [])
            if len(ex) < a.show:
                changed = {k: v for k, v in h.items() if d.get(k) != v}
                ex.append(f"{d} -> {changed}: {base[0]} -> {after[0]}")
    dt = time.perf_counter() - t0
    kinds = ("fixed/roofline", "fixed/course-table", "auto/roofline", "auto/course-table")
    print(f"{a.n:,} random input sets (seed {a.seed}), {valid:,} valid, in {dt:.0f} s")
    print(f"{'property':<11}" + "".join(f"{k:>22}" for k in kinds) + f"{'explained':>11}")
    for prop in PROPS:
        cells = [f"{bad[prop, k]:>6,} of {tried[prop, k]:>6,}" for k in kinds]
        expl = sum(bad[prop, k + " explained"] for k in kinds)
        print(f"{prop:<11}" + "".join(f"{c:>22}" for c in cells) + f"{expl:>11,}")
    print(f"total wrong-way answers: {sum(v for k, v in bad.items() if not k[1].endswith('explained')):,}")
    print(f"automatic choice, roofline, cloud: {cost['fell']:,} of {cost['tried']:,} harder inputs cut the "
          f"monthly bill of a scenario ({cost['gate']:,} by the precision gate, {cost['static']:,} with static "
          f"batches; {cost['fell'] - cost['gate'] - cost['static']:,} unexplained: each a search bug)")
    for e in cost["shown"]:
        print(f"  cost: {e}")
    for (prop, kind), ex in sorted(shown.items()):
        for e in ex:
            print(f"  {prop} [{kind}]: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
