#!/usr/bin/env python3
"""How much a calibration profile helps on runs it did not see (issue 23, "Show").

For every deployment of validation/serving.csv with at least 8 runs (deployment = model, GPU,
gpu_count / tp / ep / dp, engine, mode, weight precision): sort its runs by input length,
output length and concurrency, fit a profile (xlsizer.calibrate) on every other run and
predict the rest with and without it. Then the same with the profile of another model on the
same GPU and engine carried over (its GPU and engine factors only, as a sizing does).

    python scripts/calibrate_holdout.py                  # every deployment (minutes on 2 cores)
    python scripts/calibrate_holdout.py --limit 6        # the first six, for development
    python scripts/calibrate_holdout.py --base packaged  # on top of the packaged fit

Baseline (``--base lomo``, default): each model's rows predicted by the packaged fit made
without that model (leave-one-model-out, what ``xlsizer validate`` reports), so neither side has
seen the model; the profile is fitted on top of that same calibration. ``--base packaged``
uses the packaged fit, which saw every row of serving.csv (in-sample).

Each profile is fitted as ``xlsizer calibrate`` fits it, guard included (xlsizer/calibrate/
fit.py: the stages are chosen by 5-fold cross-validation inside the training runs; the held-out
runs are never seen by the fit nor by the guard).

"Made worse": a deployment whose median error on its held-out runs (per metric) is higher with
the profile than without, with no tolerance (1e-9 absorbs float rounding only). Each one is
listed with the share of 400 paired bootstrap resamples of its held-out rows in which the
profile is worse (``worse_share``): how far the difference stands out from the chance of
which few runs were held out.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlsizer.calibrate.fit import build_profile  # noqa: E402
from xlsizer.calibrate.readers import FileRuns  # noqa: E402
from xlsizer.engine.calibration import Calibration, held_out_calibration, packaged_calibration  # noqa: E402
from xlsizer.errors import XlsizerError  # noqa: E402
from xlsizer.validation import percentile, read_rows, validate_rows  # noqa: E402

SERVING = ROOT / "validation" / "serving.csv"
MIN_RUNS = 8
KEY = ("model", "gpu", "gpu_count", "tp", "ep", "dp", "engine", "mode", "weights_precision")
RUN_COLUMNS_IGNORED = ("id", "metric", "value")


def runs_of(rows: list[dict[str, str]]) -> dict[tuple[str, ...], list[list[dict[str, str]]]]:
    """Deployment key -> its runs (the TTFT and TPOT rows of one measurement), sorted."""
    by_run: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_run[tuple(v for k, v in sorted(r.items()) if k not in RUN_COLUMNS_IGNORED)].append(r)
    deps: dict[tuple[str, ...], list[list[dict[str, str]]]] = defaultdict(list)
    for run_rows in by_run.values():
        r0 = run_rows[0]
        deps[tuple(r0.get(k, "") for k in KEY)].append(run_rows)
    for runs in deps.values():
        runs.sort(key=lambda rr: (float(rr[0]["isl"] or 0), float(rr[0]["osl"] or 0),
                                  float(rr[0]["concurrency"] or 0), rr[0]["id"]))
    return deps


def errors(rows: Sequence[dict[str, str]], cal: Calibration) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"tpot_ms": [], "ttft_ms": []}
    for r in validate_rows(rows, calibration=cal).rows:
        if r.ape is not None and r.metric in out:
            out[r.metric].append(r.ape)
    return out


def med(xs: Sequence[float]) -> float:
    return percentile(xs, 0.5) or 0.0


def worse_share(before: Sequence[float], after: Sequence[float], n: int = 400) -> float:
    """Share of paired bootstrap resamples of a deployment's held-out rows (seeded, so the
    output repeats) in which the median error with the profile exceeds the one without: near
    0.5 a difference the few held-out runs cannot tell from chance, above 0.95 a real one."""
    if len(before) != len(after) or not before:
        return float("nan")
    rng = random.Random(23)
    k = len(before)
    hits = 0
    for _ in range(n):
        ix = [rng.randrange(k) for _ in range(k)]
        hits += med([after[i] for i in ix]) > med([before[i] for i in ix])
    return hits / n


def pct(x: float) -> str:
    return f"{x * 100:5.1f}%"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N deployments (development)")
    ap.add_argument("--base", choices=("lomo", "packaged"), default="lomo")
    ap.add_argument("--no-carried", action="store_true", help="skip the carried-profile part (development)")
    args = ap.parse_args(argv)

    rows = read_rows(SERVING)
    deps = {k: v for k, v in runs_of(rows).items() if len(v) >= MIN_RUNS}
    keys = sorted(deps)
    if args.limit:
        keys = keys[: args.limit]

    def base_for(model: str) -> Calibration:
        if args.base == "lomo":
            return held_out_calibration(model) or packaged_calibration()
        return packaged_calibration()

    profiles = {}
    table = []
    all_b: dict[str, list[float]] = {"tpot_ms": [], "ttft_ms": []}
    all_a: dict[str, list[float]] = {"tpot_ms": [], "ttft_ms": []}
    for k in keys:
        runs = deps[k]
        train = [r for i, rr in enumerate(runs) if i % 2 == 0 for r in rr]
        test = [r for i, rr in enumerate(runs) if i % 2 == 1 for r in rr]
        for r in train:
            r["_run"] = r["isl"] + "|" + r["osl"] + "|" + r["concurrency"] + "|" + r.get("notes", "")[:80]
            r["_file"] = "serving.csv"
        base = base_for(k[0])
        try:
            prof, _ = build_profile([FileRuns("serving.csv", "csv", "as stated", train)], "2026-12-04", base)
        except XlsizerError as exc:
            print(f"skip {k}: {exc.short()}")
            continue
        profiles[k] = prof
        b = errors(test, base)
        a = errors(test, prof.calibration("all", base))
        for m in all_b:
            all_b[m] += b[m]
            all_a[m] += a[m]
        table.append((k, len(runs), b, a))
        print(f"{k[0]:<16} {k[1]:<9} {k[6]:<13} {k[7]:<6} tp{k[3] or '-':<3} ep{k[4] or '-':<3} dp{k[5] or '-':<3} "
              f"{k[8]:<5} runs {len(runs):>3}  TPOT {pct(med(b['tpot_ms']))} -> {pct(med(a['tpot_ms']))}  "
              f"TTFT {pct(med(b['ttft_ms']))} -> {pct(med(a['ttft_ms']))}", flush=True)

    print()
    print(f"deployments: {len(table)} (of {len(deps)} with >= {MIN_RUNS} runs); base: {args.base}")
    print(f"overall median APE on held-out runs: TPOT {pct(med(all_b['tpot_ms']))} -> {pct(med(all_a['tpot_ms']))}, "
          f"TTFT {pct(med(all_b['ttft_ms']))} -> {pct(med(all_a['ttft_ms']))}")
    dep_b = {m: [med(t[2][m]) for t in table if t[2][m]] for m in all_b}
    dep_a = {m: [med(t[3][m]) for t in table if t[3][m]] for m in all_a}
    print(f"median over deployments of their median APE: TPOT {pct(med(dep_b['tpot_ms']))} -> "
          f"{pct(med(dep_a['tpot_ms']))}, TTFT {pct(med(dep_b['ttft_ms']))} -> {pct(med(dep_a['ttft_ms']))}")
    chosen = Counter(str(p.measured.get("guard", {}).get("chosen", "?")) for p in profiles.values())
    print("guard's choice (stages fitted):" + "".join(f"\n    {n:>3}  {c}" for c, n in chosen.most_common()))
    # made worse: the deployment's median error on its held-out runs higher with the profile than
    # without (no tolerance; 1e-9 only absorbs float rounding)
    for m in ("tpot_ms", "ttft_ms"):
        worse = [t for t in table if t[2][m] and med(t[3][m]) > med(t[2][m]) + 1e-9]
        print(f"{m}: {len(worse)} deployment(s) worse with the profile" +
              "".join(f"\n    {t[0][0]} {t[0][1]} {t[0][6]} tp{t[0][3]}: {pct(med(t[2][m]))} -> {pct(med(t[3][m]))}"
                      f" (worse in {worse_share(t[2][m], t[3][m]):.0%} of resamples)" for t in worse))

    if args.no_carried:
        return 0
    # carried: the profile of another model on the same GPU and engine. First the factors a
    # sizing carries (scope gpu+engine), then each factor alone and all of them, to show which help.
    from xlsizer.calibrate.profile import FACTORS, apply_factors

    subsets: list[tuple[str, tuple[str, ...] | None]] = [("as a sizing carries (gpu+engine scope)", None)]
    subsets += [(f.name, (f.name,)) for f in FACTORS]
    subsets += [("all factors", tuple(f.name for f in FACTORS))]
    print("\ncarried to another model on the same GPU and engine (median of per-deployment median APE):")
    for label, names in subsets:
        cb: dict[str, list[float]] = {"tpot_ms": [], "ttft_ms": []}
        ca: dict[str, list[float]] = {"tpot_ms": [], "ttft_ms": []}
        for k in [t[0] for t in table]:
            test = [r for i, rr in enumerate(deps[k]) if i % 2 == 1 for r in rr]
            base = base_for(k[0])
            b = errors(test, base)
            for k2, prof in profiles.items():
                if k2[0] == k[0] or k2[1] != k[1] or k2[6] != k[6] or k2[7] != k[7]:
                    continue
                cal = (prof.calibration("gpu+engine", base) if names is None else
                       apply_factors(base, prof.engine, {n: prof.factors[n].value for n in names}))
                a = errors(test, cal)
                for m in cb:
                    if b[m] and a[m]:
                        cb[m].append(med(b[m]))
                        ca[m].append(med(a[m]))
        n = len(cb["tpot_ms"])
        better = {m: sum(1 for x, y in zip(cb[m], ca[m], strict=True) if y < x - 1e-9) for m in cb}
        print(f"  {label:<40} {n} pairs: TPOT {pct(med(cb['tpot_ms']))} -> {pct(med(ca['tpot_ms']))} "
              f"(better in {better['tpot_ms']}), TTFT {pct(med(cb['ttft_ms']))} -> {pct(med(ca['ttft_ms']))} "
              f"(better in {better['ttft_ms']})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
