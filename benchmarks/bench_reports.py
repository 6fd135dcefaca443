"""Batch-report throughput: generate N filled templates, report on them with --jobs 1 and 2,
print projects per minute (target: 600 per minute on two cores).

    python benchmarks/bench_reports.py [--projects 200] [--jobs 1 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from xlsizer.batch import run_batch
from xlsizer.workbook.template import write_template

MODELS = ("llama-3.3-70b", "llama-3.1-8b")
WORKLOADS = ("rag", "interactive_chat", "code_completion", "agentic")


def generate(folder: Path, n: int) -> list[Path]:
    """N distinct filled templates (users, model, workload, TPOT and burst varied)."""
    folder.mkdir(parents=True, exist_ok=True)
    combos = itertools.cycle(itertools.product(MODELS, WORKLOADS, (None, 30, 50, 80)))
    paths = []
    for i in range(n):
        model, workload, tpot = next(combos)
        values = {"model": model, "workload_type": workload, "concurrent_users": 20 + 7 * i,
                  "burst_factor": 1.5 + (i % 5) * 0.5}
        if tpot is not None:
            values["target_tpot_ms"] = tpot
        paths.append(write_template(folder / f"project-{i:03d}.xlsx", values=values, name=f"Project {i:03d}"))
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=200)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--keep", metavar="DIR", help="keep the projects and reports here")
    args = ap.parse_args(argv)

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xlsizer-bench-"))
    try:
        t0 = time.perf_counter()
        generate(root / "projects", args.projects)
        print(f"generated {args.projects} filled templates in {time.perf_counter() - t0:.1f} s "
              f"({os.cpu_count()} CPUs visible)")
        for jobs in args.jobs:
            out = root / f"reports-j{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            s = run_batch([root / "projects"], out, jobs=jobs, progress=False)
            dt = time.perf_counter() - t
            if s.failed:
                print("\n".join(s.failures[:5]), file=sys.stderr)
                return 1
            print(f"--jobs {jobs}: {s.ok} reports in {dt:.1f} s = {s.ok / dt * 60:,.0f} projects per minute")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
