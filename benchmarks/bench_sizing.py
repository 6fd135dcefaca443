"""Full sizings per second (all three scenarios), on one core.

    python3 benchmarks/bench_sizing.py [--n 3000] [--source course-table|roofline] [--length-cv 1]

Wall-clock time on a shared machine varies by 2x for the same code. The CPU instructions do not:

    export PYTHONHASHSEED=0
    valgrind --tool=cachegrind --cache-sim=no python3 benchmarks/bench_sizing.py --n 200 --no-sweep
    valgrind --tool=cachegrind --cache-sim=no python3 benchmarks/bench_sizing.py --n 200 --count-only

The difference of the two "I refs" totals / 200 is the instructions per full sizing (the second
run draws, validates and warms up the same inputs, then stops before the timed sizings). Give
valgrind the interpreter binary itself (``python3 -c "import sys; print(sys.executable)"``), not
a shell shim such as pyenv's. Fix the hash seed: with Python's per-process string hashing, three
runs of the same code counted 10.205-10.262 million per sizing; with ``PYTHONHASHSEED=0`` two
counted 10.210 and 10.211. Count where the package's bytecode is already compiled (run it once
first): compiling it inside one run and not the other moves the difference too.

Inputs are drawn at random (fixed seed) from realistic ranges so caches of sub-results do
not flatter the figure; input validation is timed separately.
"""

from __future__ import annotations

import argparse
import random
import time

from xlsizer.engine.pipeline import size
from xlsizer.errors import InfeasibleError
from xlsizer.inputs import make_inputs

MODELS = ["llama-3.1-8b", "llama-3.3-70b", "qwen3-32b", "mixtral-8x7b", "llama-3.1-405b", "deepseek-r1"]


def random_inputs(rng: random.Random, source: str | None, length_cv: float = 0.0) -> dict:
    d = dict(
        model=rng.choice(MODELS),
        precision=rng.choice(["fp8", "bf16"]),
        concurrent_users=rng.randint(10, 5000),
        requests_per_user_per_minute=round(rng.uniform(0.5, 10), 2),
        avg_prompt_tokens=rng.randint(200, 12000),
        avg_output_tokens=rng.randint(50, 2000),
        target_tpot_ms=rng.choice([25, 30, 40, 50, 80]),
        burst_factor=round(rng.uniform(1, 4), 1),
        redundancy_mode=rng.choice(["N", "N+1", "N+2"]),
    )
    if source:
        d["throughput_source"] = source
    if length_cv:
        d["length_cv"] = length_cv
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--source", default=None, help="throughput_source (default: the inputs' default)")
    ap.add_argument("--length-cv", type=float, default=0.0,
                    help="length_cv of every input set (default 0: equal lengths, the inputs' default)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the users sweep after the timed sizings")
    ap.add_argument("--count-only", action="store_true",
                    help="stop after the warm-up (the baseline of an instruction count; see the docstring)")
    args = ap.parse_args()
    rng = random.Random(42)
    raw = [random_inputs(rng, args.source, args.length_cv) for _ in range(args.n)]
    t0 = time.perf_counter()
    inputs = [make_inputs(d) for d in raw]
    t1 = time.perf_counter()
    def run(inp) -> bool:
        try:
            size(inp)
            return True
        except InfeasibleError:  # a sized answer too ("does not fit"), counted as work done
            return False

    for inp in inputs[:50]:  # import and catalog load happen once per process, as in a workbook
        run(inp)
    if args.count_only:
        return
    t2 = time.perf_counter()
    feasible = sum(run(inp) for inp in inputs)
    t3 = time.perf_counter()
    per_s = args.n / (t3 - t2)
    print(f"input validation: {(t1 - t0) / args.n * 1e6:.1f} us per input set")
    print(f"full sizing (3 scenarios): {(t3 - t2) / args.n * 1e6:.1f} us each = {per_s:,.0f} sizings/s on one core")
    print(f"({feasible} of {args.n} random input sets were feasible; the rest end in a clear InfeasibleError)")
    if not args.no_sweep:
        # a sensitivity table: one workload, users varied (capacity per configuration is reused)
        sweep = [inputs[0].model_copy(update={"concurrent_users": u}) for u in range(10, 2010, 2)]
        t4 = time.perf_counter()
        for inp in sweep:
            run(inp)
        t5 = time.perf_counter()
        print(f"users sweep over one workload: {(t5 - t4) / len(sweep) * 1e6:.1f} us each = "
              f"{len(sweep) / (t5 - t4):,.0f} sizings/s")
    print(f"validation + sizing: {args.n / ((t1 - t0) + (t3 - t2)):,.0f} per second")


if __name__ == "__main__":
    main()
