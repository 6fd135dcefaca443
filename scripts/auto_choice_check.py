"""The automatic choice never bills more than a GPU it could have chosen: over N random valid
input sets (fixed seed; ``monotonic_check``'s, a fifth of them with fine-tuned variants, pooled
under LoRA or one deployment each) with ``gpu=auto``, the roofline method and a cloud cost basis, size each
again with every GPU of the automatic search's list fixed (those with the weights' tensor
format, a cloud price, and not a PCIe card above the course's weights limit: the same gate the
search applies) and count the scenarios whose automatic plan bills more per month for its GPUs
than the fixed GPU's plan (or is refused where the fixed GPU fits).

One refusal is not a bug, and is counted apart: the automatic plan above ``max_total_gpus`` (a
guard against absurd inputs, not a constraint of the search) where the refusal names the
cheapest plan on another GPU that stays within it.

    PYTHONPATH=$PWD python3 scripts/auto_choice_check.py [--n 400] [--seed 5] [--show 5]

The search ranks every shape of every GPU on GPUs in use x $/GPU-hour (``search.billed_gpus``)
and prunes on lower bounds of that bill, so a count above zero is a search bug: a bound that is
not a bound, a shape the automatic table leaves out, or a runner-up search that moved the
answer. The fixed GPU's own plan is the cheapest shape of that GPU, so the check also catches an
automatic plan that missed a cheaper shape of the GPU it chose. On-prem plans are ranked on
purchase prices but billed with power and space, so only the cloud basis is checked.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from xlsizer.api import size
from xlsizer.catalog import load_catalog
from xlsizer.engine import search
from xlsizer.engine.guardrails import PlanTooLargeError
from xlsizer.engine.layers import deployed_weights_bytes
from xlsizer.errors import XlsizerError
from xlsizer.inputs import make_inputs
from xlsizer.resolve import resolve_model
from xlsizer.results import SCENARIOS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monotonic_check import cloud_bill, random_inputs  # the same random input sets and bill


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=400, help="random automatic input sets (default 400)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--show", type=int, default=5, help="counterexamples printed")
    args = ap.parse_args(argv)
    cat = load_catalog()
    models, gpus = sorted(cat.models), sorted(cat.gpus)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    sets = compared = auto_refused = too_large = 0
    bad: list[str] = []
    while sets < args.n:
        d = random_inputs(rng, models, gpus)
        d = {k: v for k, v in d.items() if k not in ("throughput_source", "pricing_model")}
        d["gpu"] = "auto"
        if rng.random() < 0.2:  # fine-tuned variants: one pooled deployment (LoRA) or one each
            d.update(lora_variants=rng.choice([2, 3, 5]), lora_enabled=rng.random() < 0.5,
                     lora_traffic_split=rng.choice(["equal", "60,30,10", "50,50", "70,20,5,5"]))
        try:
            inp = make_inputs(d)
        except XlsizerError:
            continue
        sets += 1
        named = False  # refused above max_total_gpus, naming a GPU within it
        try:
            auto = size(inp)
        except XlsizerError as exc:
            auto = None
            auto_refused += 1
            named = isinstance(exc, PlanTooLargeError) and "is within it" in str(exc)
            too_large += named
        weights = deployed_weights_bytes(resolve_model(inp), inp.precision)
        for gid in (g.id for g in search.choosable_gpus(inp, weights)):
            try:
                fixed = size(inp.model_copy(update={"gpu": gid}))
            except XlsizerError:
                continue
            compared += 1
            if auto is None:
                if not named:
                    bad.append(f"automatic refused, {gid} fits: {json.dumps(d)}")
                break
            for s in SCENARIOS:
                a, f = cloud_bill(auto.scenarios[s]), cloud_bill(fixed.scenarios[s])
                if a > f * (1.0 + 1e-9):
                    bad.append(f"{s}: automatic {auto.scenarios[s].gpu} {a:,.0f} USD/month > {gid} {f:,.0f}: "
                               f"{json.dumps(d)}")
    for line in bad[: args.show]:
        print("  " + line)
    print(f"{sets:,} automatic input sets ({auto_refused:,} refused, {too_large:,} of them above max_total_gpus "
          f"naming a GPU within it), {compared:,} plans with a GPU of their list fixed: {len(bad)} where the "
          f"automatic choice bills more or is refused where that GPU fits ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
