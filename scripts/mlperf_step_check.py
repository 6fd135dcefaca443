#!/usr/bin/env python3
"""Development check (not a test, not the validation): the mean step of tuned MLPerf runs
against the model's step at the same batch (issue 22, "what the latency-bound scenarios still
miss").

    PYTHONPATH=$PWD python3 scripts/mlperf_step_check.py RESULTS_CLONE [--rows]

RESULTS_CLONE is a git clone of a public MLPerf Inference results repository of a round
validation/mlperf.csv already holds (v6.0: github.com/mlcommons/inference_results_v6.0;
v5.1: github.com/mlcommons/inference_results_v5.1; a bare mirror works too). Nothing from it
is copied into the project.

Each Server or Interactive LoadGen log (``closed/<org>/results/<system>/<benchmark>/<scenario>/
performance/run_1/mlperf_log_detail.txt``) states the completed requests/s, the mean
latency, the mean and p99 TPOT and TTFT, and the output tokens/s. Little's law gives the
sequences in flight per GPU (rate x mean latency / GPUs); times the tensor-parallel size of
the submission's config (where it states one; 1 otherwise) that is the batch of one replica;
with attention data parallelism (``enable_attention_dp``, DeepSeek-R1) the replica is its
expert-parallel group, modelled as the sizer's wide replica (tp 1, ep of the config). The
model's mean TPOT of that replica at that batch (``estimate(concurrency=...)``, each model's
held-out serving.csv fit, the outputs spread as the dataset's: ``step.decode_context``) is set
beside the measured mean TPOT:

- ratio measured / model > 1: the real step at that batch is slower than the model's;
- p99 / mean TPOT: how much of the limit the run's own spread takes (the model's
  percentile term, ``latency.py``, covers this part).

The second table checks that percentile term itself, apart from the step: the p99 / mean of
TTFT and of TPOT each run measured, beside the model's at its own capacity within the run's
limits (LoadGen's ``requested_server_ttft_latency`` and ``_tpot_latency``) for the same replica
(``mlperf.shape_capacity``: Poisson arrivals, the dataset's spread of lengths; the TTFT's from
``latency.ttft_at_load_q``, the TPOT's ``ReplicaCapacity.tpot_q_s / tpot_s``), and which limit
binds (p99 at 0.9 of the limit or more: ``BINDS_AT``), measured and modelled. Every log with a
shape the model can run enters it, the batch cap notwithstanding.

Logs whose batch is above what the model lets one replica run (its engine profile's sequence
cap, or the KV budget) are skipped: the model's step there is not a step at that batch.
Speculative-decoding runs (DeepSeek-R1's MTP, named in their config) are left out: their TPOT
is not one step.
The GPU count is read from the system name (``8xMI355X``, ``...GBx8``, ``aarch64x72``).
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlsizer.engine.calibration import held_out_calibration  # noqa: E402
from xlsizer.engine.latency import ttft_at_load_q  # noqa: E402
from xlsizer.engine.performance import estimate  # noqa: E402
from xlsizer.errors import XlsizerError  # noqa: E402
from xlsizer.mlperf import Skip, mlperf_arrivals, resolved, shape_capacity  # noqa: E402

BENCHMARKS = {"llama2-70b-99": "llama-2-70b", "llama3.1-8b": "llama-3.1-8b", "gpt-oss-120b": "gpt-oss-120b",
              "llama3.1-405b": "llama-3.1-405b", "mixtral-8x7b": "mixtral-8x7b", "deepseek-r1": "deepseek-r1"}
"""MLPerf benchmark directory -> catalog model (the -99.9 copies repeat the -99 runs)."""

GPUS = (("GB300", "gb300"), ("GB200", "gb200"), ("B300", "b300"), ("B200", "b200"), ("H200_NVL", "h200-nvl"),
        ("H200NVL", "h200-nvl"), ("H200", "h200-sxm"), ("H100", "h100-sxm"), ("MI355X", "mi355x"),
        ("MI350X", "mi350x"), ("MI325X", "mi325x"), ("MI300X", "mi300x"), ("RTX_PRO_6000", "rtx-pro-6000"),
        ("RTXPRO6000", "rtx-pro-6000"), ("RTX_PRO_4500", "rtx-pro-4500"))
"""System-name fragment (upper case) -> catalog GPU; the first match wins (GB300 before B300)."""

BINDS_AT = 0.9
"""A p99 at or above this share of its limit is said to bind (a definition, for the table)."""

LOG = re.compile(r"^closed/([^/]+)/results/([^/]+)/([^/]+)/(Server|Interactive)/performance/run_1/"
                 r"mlperf_log_detail\.txt$")


class Repo:
    """Read files of a results clone (work tree or bare) at HEAD through git."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[str]:
        out = subprocess.run(["git", "-C", str(self.path), "ls-tree", "-r", "--name-only", "HEAD"],
                             capture_output=True, text=True, check=True)
        return out.stdout.splitlines()

    def text(self, name: str) -> str | None:
        out = subprocess.run(["git", "-C", str(self.path), "show", f"HEAD:{name}"], capture_output=True, text=True)
        return out.stdout if out.returncode == 0 else None


def gpu_of(system: str) -> str | None:
    """Catalog GPU of a system directory name, None when the catalog has none of its names."""
    upper = system.upper()
    if "MI300X" in upper and "MI325X" in upper:
        return None  # a mixed system (its GPUs are not one kind)
    return next((gpu for frag, gpu in GPUS if frag in upper), None)


def gpu_count(system: str) -> int | None:
    """GPUs of a system from its name: ``8xMI355X_2xEPYC`` -> 8, ``..._192GBx8_TRT`` -> 8,
    ``..._aarch64x72_TRT`` -> 72."""
    m = re.search(r"(\d+)x(?:MI3|B[23]00|H[12]00|RTX|GB)", system, re.IGNORECASE)
    if m:
        return int(m.group(1))
    tail = re.findall(r"(?:GB|aarch64|x86)x(\d+)(?:_|$)", system)
    return int(tail[-1]) if tail else None


def log_values(text: str) -> dict[str, float]:
    """Numeric ``"key": ..., "value": ...`` pairs of a LoadGen detail log."""
    out: dict[str, float] = {}
    for m in re.finditer(r'"key": "([^"]+)", "value": (-?[0-9][0-9.e+-]*)', text):
        out[m.group(1)] = float(m.group(2))
    return out


def config_text(repo: Repo, org: str, system: str, scenario: str, bench: str) -> str:
    """The submission's config for the run (NVIDIA's Python configs), "" when none is found."""
    name = bench.removesuffix("-99")
    for sysname in (system, system.removesuffix("_TRT")):
        text = repo.text(f"closed/{org}/configs/{sysname}/{scenario}/{name}.py")
        if text:
            return text
    return ""


def config_shape(text: str) -> tuple[int, int] | None:
    """(GPUs per replica, expert-parallel width) a config states: attention data parallelism
    makes the expert-parallel group the replica (tp 1 in the sizer's terms), else the
    tensor-parallel size with width 1; None when it states neither."""
    tp = re.search(r"tensor_parallelism:\s*(\d+)", text)
    ep = re.search(r"moe_expert_parallelism:\s*(\d+)", text)
    if re.search(r"""['"]enable_attention_dp['"]:\s*True""", text) and ep:
        return int(ep.group(1)), int(ep.group(1))
    return (int(tp.group(1)), 1) if tp else None


def speculative(text: str) -> bool:
    """Whether the config drafts tokens (DeepSeek-R1's MTP): its TPOT is not one step."""
    return bool(re.search(r"speculative_decoding|num_nextn_predict_layers", text))


def binds(ttft_use: float, tpot_use: float) -> str:
    """Which p99 limits a run sits at, from each p99 as a share of its limit (``BINDS_AT``)."""
    return "+".join(n for n, u in (("TTFT", ttft_use), ("TPOT", tpot_use)) if u >= BINDS_AT) or "neither"


def model_spread(model: str, gpu: str, width: int, ep: int, precision: str, isl: float, osl: float,
                 ttft_limit_s: float, tpot_limit_s: float, engine: str) -> tuple[float, float, str] | None:
    """(p99 / mean TTFT, p99 / mean TPOT, the limits that bind) of the model at its own capacity
    within the limits on one replica of the shape; None where the shape cannot meet them."""
    cal, arr = held_out_calibration(model), mlperf_arrivals(model)
    cap = shape_capacity(model, gpu, width, ep, precision, isl, osl, tpot_limit_s, ttft_limit_s, engine, cal)
    if not cap.feasible or cap.req_s <= 0.0:
        return None
    rate = cap.req_s * (1.0 - 1e-9)
    t99, tmean = ttft_at_load_q(cap, rate, 99.0, arr), ttft_at_load_q(cap, rate, None, arr)
    return t99 / tmean, cap.tpot_q_s / cap.tpot_s, binds(t99 / ttft_limit_s, cap.tpot_q_s / tpot_limit_s)


def _most(xs: list[str]) -> str:
    return max(sorted(set(xs)), key=xs.count) if xs else "-"


def prompt_means() -> dict[str, float]:
    """Mean prompt tokens per model: the dataset's, as validation/mlperf.csv states it."""
    with (ROOT / "validation" / "mlperf.csv").open(encoding="utf-8") as f:
        return {row["model"]: float(row["isl_mean"]) for row in csv.DictReader(f)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, help="a clone of an MLPerf Inference results repository")
    ap.add_argument("--rows", action="store_true", help="print every log, not only the groups")
    args = ap.parse_args()
    repo = Repo(args.results)
    isl = prompt_means()
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    spread: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    # per (model, scenario, gpu): (measured TTFT p99/mean, model's, measured TPOT p99/mean, model's,
    # measured binds, model's)
    shapes: dict[tuple[str, str, str], list[tuple[float, float, float, float, str, str]]] = defaultdict(list)
    for name in repo.files():
        m = LOG.match(name)
        if not m or m.group(3) not in BENCHMARKS:
            continue
        org, system, bench, scenario = m.groups()
        model, gpu, n = BENCHMARKS[bench], gpu_of(system), gpu_count(system)
        text = repo.text(name)
        if gpu is None or not n or text is None:
            continue
        v = log_values(text)
        need = ("result_completed_samples_per_sec", "result_mean_latency_ns", "result_time_to_output_token_mean",
                "result_completed_tokens_per_second", "result_first_token_mean_latency_ns")
        if any(k not in v for k in need):
            continue
        rate = v["result_completed_samples_per_sec"]
        osl = v["result_completed_tokens_per_second"] / rate
        conf = config_text(repo, org, system, scenario, bench)
        if speculative(conf):
            print(f"skip {name}: speculative decoding (MTP)", file=sys.stderr)
            continue
        width, ep = config_shape(conf) or (1, 1)
        tp = width if ep == 1 else 1
        batch = rate * v["result_mean_latency_ns"] / 1e9 / n * width  # Little, per replica
        ttft = v["result_first_token_mean_latency_ns"] / 1e6
        engine = "vllm" if gpu.startswith("mi") else "tensorrt-llm"
        try:
            _, precision = resolved({"gpu": gpu})  # the validation's precision rule for the GPU
            est = estimate(model, gpu, tp, precision, isl[model], osl, batch, ep=ep, engine=engine,
                           calibration=held_out_calibration(model), output_cv=mlperf_arrivals(model).answer_cv)
        except (Skip, XlsizerError) as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        limits = (v.get("requested_server_ttft_latency", 0.0) / 1e9, v.get("requested_server_tpot_latency", 0.0) / 1e9)
        t99 = v.get("result_first_token_99.00_percentile_latency_ns", 0.0)
        p99_ns = v.get("result_time_per_output_token_99.00_percentile_ns", 0.0)
        if all(limits) and t99 and p99_ns:
            try:
                modelled = model_spread(model, gpu, width, ep, precision, isl[model], osl, *limits, engine)
            except XlsizerError:
                modelled = None
            if modelled is not None:
                tpot_ns = v["result_time_to_output_token_mean"]
                shapes[(model, scenario, gpu)].append(
                    (t99 / v["result_first_token_mean_latency_ns"], modelled[0], p99_ns / tpot_ns, modelled[1],
                     binds(t99 / 1e9 / limits[0], p99_ns / 1e9 / limits[1]), modelled[2]))
        if batch > est.max_batch:  # the engine profile's sequence cap or the KV budget: not a step at that batch
            print(f"skip {name}: {batch:.0f} in flight per replica, above the model's {est.max_batch}", file=sys.stderr)
            continue
        tpot = v["result_time_to_output_token_mean"] / 1e6
        p99 = v.get("result_time_per_output_token_99.00_percentile_ns", 0.0) / 1e6
        ratio = tpot / (est.tpot_s * 1000.0)
        key = (model, scenario, gpu)
        groups[key].append(ratio)
        if p99:
            spread[key].append(p99 / tpot)
        if args.rows:
            print(f"{model:15} {scenario:11} {gpu:13} {org:16} {width}x ep {ep}  batch {batch:6.0f}"
                  f"  TPOT mean {tpot:6.1f} ms"
                  f" (p99 {p99:6.1f})  model {est.tpot_s * 1000:6.1f} ms  ratio {ratio:4.2f}"
                  f"  TTFT mean {ttft:6.0f} ms")
    print(f"{'model':15} {'scenario':11} {'gpu':13} {'logs':>4}  {'measured/model mean TPOT (median)':>34}"
          f"  {'p99/mean TPOT (median)':>22}")
    for key in sorted(groups):
        rs = groups[key]
        sp = statistics.median(spread[key]) if spread[key] else float("nan")
        print(f"{key[0]:15} {key[1]:11} {key[2]:13} {len(rs):>4}  {statistics.median(rs):>34.2f}  {sp:>22.2f}")
    print_spreads(shapes)


def print_spreads(shapes: dict[tuple[str, str, str], list[tuple[float, float, float, float, str, str]]]) -> None:
    """The second table: measured against modelled p99 / mean of TTFT and TPOT, and the limits
    that bind (medians per group; "all" per scenario last)."""
    print(f"\n{'model':15} {'scenario':11} {'gpu':13} {'logs':>4}  {'p99/mean TTFT':>14}  {'p99/mean TPOT':>14}"
          f"  limits that bind (most)")
    print(f"{'':15} {'':11} {'':13} {'':>4}  {'meas.  model':>14}  {'meas.  model':>14}  measured / model")
    rows = sorted(shapes.items())
    for scenario in ("Interactive", "Server"):
        rows.append((("all", scenario, ""), [x for k, xs in shapes.items() if k[1] == scenario for x in xs]))
    for (model, scenario, gpu), xs in rows:
        if not xs:
            continue
        med = [statistics.median(x[i] for x in xs) for i in range(4)]
        print(f"{model:15} {scenario:11} {gpu:13} {len(xs):>4}  {med[0]:>6.2f} {med[1]:>6.2f}  "
              f"{med[2]:>6.2f} {med[3]:>6.2f}  {_most([x[4] for x in xs])} / {_most([x[5] for x in xs])}")


if __name__ == "__main__":
    main()
