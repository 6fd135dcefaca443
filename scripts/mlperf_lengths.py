"""Request-length spread of the MLPerf Inference LLM datasets, for
xlsizer/catalog/data/benchmark_lengths.yaml (issue 22: model each validation source's traffic
as it ran).

    python3 scripts/mlperf_lengths.py PATH/TO/performance-dashboard/mlperf-data/summaries

The summaries are per-sample token counts of the MLCommons datasets (input_length,
output_length), published in github.com/openshift-psap/performance-dashboard (Apache-2.0),
the same source as validation/mlperf.csv's results tables. Prints, per file, the number of
samples, the mean and the coefficient of variation (population standard deviation / mean) of
each length, and the p99 / mean against a lognormal's of the same CV (how well the sizer's
lognormal length model describes the dataset's tail).
"""

from __future__ import annotations

import csv
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xlsizer.mlperf import dataset_lengths


def lognormal_p99(cv: float) -> float:
    """p99 / mean of a lognormal length with coefficient of variation ``cv``."""
    s2 = math.log1p(cv * cv)
    return math.exp(math.sqrt(s2) * statistics.NormalDist().inv_cdf(0.99) - s2 / 2.0)


def main(folder: str) -> None:
    for model, d in dataset_lengths().items():  # the files the catalog data names
        name = d.file
        with (Path(folder) / name).open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        out = [f"{model:15s} {name:28s} samples {len(rows):6d}"]
        for col in ("input_length", "output_length"):
            xs = sorted(float(r[col]) for r in rows)
            mean = statistics.fmean(xs)
            cv = statistics.pstdev(xs) / mean
            p99 = xs[int(0.99 * len(xs))] / mean
            out.append(f"{col.split('_')[0]}: mean {mean:7.1f} cv {cv:.2f} p99/mean {p99:.2f} "
                       f"(lognormal {lognormal_p99(cv):.2f})")
        print("  ".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
