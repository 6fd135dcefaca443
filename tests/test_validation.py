"""``xlsizer validate``: predicting measurement files (xlsizer/validation.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from xlsizer.engine.calibration import held_out_calibration
from xlsizer.errors import InputError
from xlsizer.validation import (
    format_text,
    groups,
    percentile,
    to_json,
    validate,
    validate_command,
    validate_rows,
)

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION_CSV = ROOT / "validation" / "calibration.csv"
HEADER = ("id,split,source,model,gpu,gpu_count,tp,ep,weights_precision,kv_precision,engine,"
          "isl,osl,load,concurrency,metric,value,quality,notes")


def _write(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped calibration file --------------------------------------------------------


def test_calibration_file_summary_and_coverage():
    report = validate(CALIBRATION_CSV)
    assert len(report.rows) == 211
    predicted = report.predicted_rows
    assert len(predicted) >= 120  # every throughput row except spec-decoding/no-load ones
    assert report.coverage == pytest.approx(len(predicted) / 211)
    assert report.median_ape is not None and report.median_ape <= 0.15
    skipped = {r.id: r.skipped for r in report.rows if r.skipped}
    assert skipped["opt-001"].startswith("ratio row")
    assert "speculative decoding" in skipped["opt-029"]
    assert skipped["mbu-014"] == "load not given"


def test_text_output_has_one_line_per_row_and_a_summary():
    text, code = validate_command(str(CALIBRATION_CSV), as_json=False)
    assert code == 0
    lines = text.splitlines()
    assert any(line.startswith("trt3b-002") and "%" in line for line in lines)
    assert any(line.startswith("opt-001") and "skipped: ratio row" in line for line in lines)
    for label in ("rows:", "predicted:", "coverage:", "median APE:", "p90 APE:"):
        assert any(line.startswith(label) for line in lines), label
    assert sum(1 for line in lines if line.split()[:1] and line.split()[0].startswith(
        ("trt3b-", "opt-", "mbu-"))) == 211


def test_json_output_has_exactly_the_documented_keys():
    text, code = validate_command(str(CALIBRATION_CSV), as_json=True)
    assert code == 0
    data = json.loads(text)
    assert set(data) == {"rows", "summary", "groups"}  # issue 11 added groups
    assert set(data["summary"]) == {"rows", "predicted", "coverage", "median_ape", "p90_ape"}
    assert data["summary"]["rows"] == 211
    for row in data["rows"]:
        if "skipped" in row:
            assert set(row) == {"id", "skipped"} and row["skipped"]
        else:
            assert set(row) == {"id", "metric", "measured", "predicted", "ape", "ratio"}
            assert row["ape"] == pytest.approx(abs(row["predicted"] / row["measured"] - 1))
            assert row["ratio"] == pytest.approx(row["measured"] / row["predicted"])
    # errors are fractions, not percentages
    assert 0.0 < data["summary"]["median_ape"] < 1.0


# --- a user's own measurements -------------------------------------------------------------


def test_user_file_with_latency_metrics_and_loads(tmp_path):
    rows = [
        "u1,public,x,llama-3.3-70b,h100-sxm,2,2,,fp8,,nim,5000,500,concurrency,1,ttft_ms,406.77,A,",
        "u2,public,x,llama-3.3-70b,h100-sxm,2,2,,fp8,,nim,5000,500,concurrency,1,itl_ms,18.58,A,",
        "u3,public,x,llama-3.3-70b,h100-sxm,2,2,,fp8,,nim,5000,500,concurrency,50,"
        "out_tok_s_total,814.37,A,",
        "u4,public,x,llama-3.1-8b,h100-sxm,1,1,,bf16,,vllm,1000,200,rate,,e2e_ms,4000,B,"
        '"Poisson arrivals, rate 2 QPS"',
        "u5,public,x,llama-3.1-8b,h100-sxm,1,1,,bf16,,vllm,1000,200,rate,,req_s,2,B,rate=2",
        "u6,public,x,llama-3.1-8b,h100-sxm,8,1,,fp8,,vllm,1000,200,concurrency,64,tpot_ms,12,B,",
        "u7,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,tensorrt-llm,128,128,max,,ttft_ms,9000,A,"
        "num_requests 30000",
        "u8,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,tensorrt-llm,128,128,max,,ttft_ms,9000,A,",
        "u9,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,my-engine,1000,200,max,,out_tok_s_per_gpu,"
        "9000,A,",
    ]
    report = validate(_write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n"))
    by_id = {r.id: r for r in report.rows}
    for rid in ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u9"):
        assert by_id[rid].predicted is not None, (rid, by_id[rid].skipped)
        assert by_id[rid].predicted > 0
    # u1: NIM's TTFT at one client; TensorRT-LLM's fitted first-token overhead (135 ms, fitted on
    # serving.csv's TensorRT-LLM runs) puts it 46% high
    assert by_id["u1"].ape < 0.5 and by_id["u2"].ape < 0.2 and by_id["u3"].ape < 0.2
    assert by_id["u5"].predicted == pytest.approx(2.0)  # an open loop carries what it's offered
    assert "num_requests" in by_id["u8"].skipped
    assert "vLLM's memory policy" in by_id["u9"].note
    assert len(report.rows) == 9 and report.coverage == pytest.approx(8 / 9)


def test_unpredictable_rows_are_listed_with_the_reason(tmp_path):
    rows = [
        "s1,public,x,llama-9-1t,h100-sxm,1,1,,fp8,,vllm,100,100,max,,out_tok_s_per_gpu,1,A,",
        "s2,public,x,llama-3.1-8b,h1000,1,1,,fp8,,vllm,100,100,max,,out_tok_s_per_gpu,1,A,",
        "s3,public,x,llama-3.1-8b,a100-80gb,1,1,,fp8,,vllm,100,100,max,,out_tok_s_per_gpu,1,A,",
        "s4,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,vllm,100,100,max,,ratio,2,A,unit=x",
        "s5,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,vllm,,,max,,out_tok_s_per_gpu,1,A,",
        "s6,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,vllm,100,100,max,,goodput,1,A,",
        "s7,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,vllm,100,100,max,,out_tok_s_per_gpu,abc,A,",
        "s8,public,x,llama-3.1-405b,h100-sxm,1,1,,bf16,,vllm,100,100,max,,out_tok_s_per_gpu,1,A,",
        "s9,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,vllm,100,100,max,,out_tok_s_per_gpu,1,A,"
        "EAGLE-3 speculative decoding",
        "s10,public,x,llama-3.1-8b,h100-sxm,1,1,,fp8,,vllm,100,100,,,out_tok_s_per_gpu,1,A,",
    ]
    report = validate(_write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n"))
    reasons = {r.id: r.skipped for r in report.rows}
    assert all(reasons.values()), reasons
    assert "unknown model" in reasons["s1"] and "closest" in reasons["s1"]
    assert "unknown GPU" in reasons["s2"]
    assert "fp8" in reasons["s3"]  # A100 has no FP8 tensor cores
    assert reasons["s4"].startswith("ratio row")
    assert reasons["s5"] == "isl/osl not given"
    assert "goodput" in reasons["s6"]
    assert "not a number" in reasons["s7"]
    assert "cannot hold" in reasons["s8"]
    assert "speculative decoding" in reasons["s9"]
    assert reasons["s10"] == "load not given"
    assert report.median_ape is None
    text = format_text(report)
    assert "median APE: n/a" in text
    assert to_json(report)["summary"]["predicted"] == 0


def test_validate_rows_accepts_plain_dicts():
    report = validate_rows([{"id": "a", "metric": "out_tok_s_per_gpu", "value": "100",
                             "model": "llama-3.1-8b", "gpu": "h100-sxm", "tp": "1",
                             "weights_precision": "fp8", "isl": "100", "osl": "100",
                             "load": "concurrency", "concurrency": "1"}])
    assert report.rows[0].predicted is not None


def test_rate_in_a_notes_field_of_20000_digits_parses_in_linear_time():
    """The rate-with-unit pattern once backtracked from every digit (quadratic: tens of seconds
    here); the row now parses at once, and rates in the usual spellings still read."""
    import time

    base = {"id": "r", "metric": "req_s", "value": "2", "model": "llama-3.1-8b", "gpu": "h100-sxm",
            "tp": "1", "weights_precision": "bf16", "engine": "vllm", "isl": "1000", "osl": "200",
            "load": "rate"}
    t0 = time.perf_counter()
    report = validate_rows([{**base, "notes": "7" * 20_000}, {**base, "notes": "1." * 10_000 + " x"}])
    assert time.perf_counter() - t0 < 1.0
    assert all(r.skipped == "load 'rate' but the notes give no rate" for r in report.rows)
    for notes in ("Poisson arrivals at 2 QPS", "2.0 req/s", "2 requests per second"):
        r = validate_rows([{**base, "notes": notes}]).rows[0]
        assert r.predicted == pytest.approx(2.0), notes


# --- files that cannot be read: exit code 2 and one line --------------------------------------


@pytest.mark.parametrize("content", [
    "this is not a csv file\njust prose, with a comma\n",
    "id,metric\nx,out_tok_s_per_gpu\n",
    "",
    HEADER + "\n",
    HEADER + "\n" + "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w\n",
])
def test_malformed_file_gives_exit_2_and_one_line(tmp_path, content):
    text, code = validate_command(str(_write(tmp_path, content)), as_json=False)
    assert code == 2
    assert "\n" not in text and text.startswith("xlsizer: error:")
    assert "Traceback" not in text


def test_missing_unreadable_and_binary_files(tmp_path):
    for path in (tmp_path / "nope.csv", tmp_path):
        text, code = validate_command(str(path), as_json=True)
        assert code == 2 and "\n" not in text and text.startswith(f"xlsizer: error: {path}: ")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    text, code = validate_command(str(binary), as_json=False)
    assert code == 2 and "\n" not in text


def test_a_workbook_is_told_to_be_a_csv(tmp_path):
    """Issue 24: `validate --data My-app.xlsx` said "not a UTF-8 text file"."""
    from xlsizer.workbook.template import write_template

    book = write_template(tmp_path / "My-app.xlsx")
    text, code = validate_command(str(book), as_json=False)
    assert code == 2 and text == (f"xlsizer: error: {book}: an Excel workbook; validate reads a CSV file with the "
                                  "columns of validation/calibration.csv, serving.csv or mlperf.csv (in Excel: "
                                  "File > Save As > CSV UTF-8)")


def test_a_csv_of_other_columns_names_what_is_missing_and_the_three_formats(tmp_path):
    bad = tmp_path / "runs.csv"
    bad.write_text("model,ttft\nllama-3.1-8b,120\n", encoding="utf-8")
    text, code = validate_command(str(bad), as_json=False)
    assert code == 2 and text == (f"xlsizer: error: {bad}: not a measurement CSV (missing columns id, metric, value; "
                                  "the formats of validation/calibration.csv, serving.csv and mlperf.csv: "
                                  "validation/README.md)")


def test_percentile_interpolates():
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.9) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)


# --- serving.csv (issue 11): its columns, disaggregated runs, the groups table ------------------

SERVING_CSV = ROOT / "validation" / "serving.csv"
SERVING_HEADER = HEADER + (",engine_version,dp,moe_tp,moe_precision,mode,prefill_workers,prefill_tp,"
                           "prefill_dp,prefill_ep,prefill_batch,decode_workers,decode_tp,decode_dp,"
                           "decode_ep,decode_batch")


def test_serving_csv_is_predicted_almost_everywhere_and_grouped():
    report = validate(SERVING_CSV, cross_validated=True)
    assert len(report.rows) == 4184  # 2,092 runs (issue 22: the shared set removed 110 bad runs)
    assert report.coverage >= 0.95  # issue 11's bar
    gs = groups(report)
    dims = {g.by for g in gs}
    assert {"model", "family", "engine", "gpu", "metric", "mode", "family/metric"} <= dims
    fm = {g.value: g for g in gs if g.by == "family/metric"}
    for key in ("dense/tpot_ms", "dense/ttft_ms", "moe/tpot_ms", "moe/ttft_ms"):
        assert fm[key].predicted > 500 and fm[key].median_ape is not None
    modes = {g.value: g for g in gs if g.by == "mode"}
    assert modes["disagg"].coverage > 0.9 and modes["agg"].coverage > 0.95
    skipped = [r.skipped for r in report.rows if r.skipped]
    # what is left out says why: only rows whose parallelism columns contradict each other or
    # whose weights leave no room for one request's KV
    assert all("inconsistent parallelism" in s or "cannot hold" in s for s in skipped), set(skipped)


def test_serving_columns_dp_ep_and_disaggregated_pools(tmp_path):
    common = "public,x,{m},h200-sxm,{n},{tp},{ep},fp8,,{eng},4000,500,concurrency,{c},{metric},{v},A,"
    rows = [
        # DEP8: attention data-parallel 8 ranks of tp 1, experts over 8 GPUs
        "d1," + common.format(m="deepseek-v3", n=8, tp=1, ep=8, eng="sglang", c=64, metric="tpot_ms",
                              v=30) + ",0.5.9,8,1,,agg" + "," * 10,
        # dense, dp 0 (not stated) means one rank
        "d2," + common.format(m="llama-3.1-70b", n=4, tp=4, ep="", eng="vllm", c=16, metric="ttft_ms",
                              v=300) + ",0.11.2,0,,,agg" + "," * 10,
        # disaggregated: 2 prefill workers of TP4, 1 decode worker of TP8
        "d3," + common.format(m="llama-3.1-70b", n=16, tp="", ep="", eng="tensorrt-llm", c=64,
                              metric="ttft_ms", v=500) + ",1.0.0,,,,disagg,2,4,1,1,1,1,8,1,1,64",
        "d4," + common.format(m="llama-3.1-70b", n=16, tp="", ep="", eng="tensorrt-llm", c=64,
                              metric="tpot_ms", v=20) + ",1.0.0,,,,disagg,2,4,1,1,1,1,8,1,1,64",
        # experts over moe_tp x ep = 2 GPUs but attention on tp x dp = 1: contradictory
        "d5," + common.format(m="qwen3-235b-a22b", n=1, tp=1, ep=1, eng="vllm", c=8, metric="tpot_ms",
                              v=20) + ",0.11.2,1,2,,agg" + "," * 10,
    ]
    report = validate(_write(tmp_path, SERVING_HEADER + "\n" + "\n".join(rows) + "\n"))
    by_id = {r.id: r for r in report.rows}
    for rid in ("d1", "d2", "d3", "d4"):
        assert by_id[rid].predicted is not None and by_id[rid].predicted > 0, by_id[rid].skipped
    assert by_id["d1"].family == "moe" and by_id["d2"].family == "dense"
    assert by_id["d3"].mode == "disagg" and by_id["d3"].engine == "tensorrt-llm"
    assert "inconsistent parallelism" in by_id["d5"].skipped
    data = to_json(report)
    assert set(data) == {"rows", "summary", "groups"}
    g = data["groups"][0]
    assert set(g) == {"by", "value", "rows", "predicted", "coverage", "median_ape", "p90_ape",
                      "median_signed_error"}
    text = format_text(report)
    assert "family/metric" in text and "median err" in text


def test_runs_keep_the_token_budget_their_configuration_gave():
    """aiconfigurator's generator sets the engines' prompt tokens per step to the prompt +
    1,500 (its rule files; serving.csv's runs are its configurations): an aiconfigurator row
    is predicted at that budget, a row that states max_num_tokens at its own, any other row at
    the engine's default. A 1,024-token prompt then packs 2 to a step, not 8, so a DeepSeek
    prompt queued behind others costs more of the MoE weights' streaming."""
    from xlsizer.engine.performance import Tuning, estimate
    from xlsizer.validation import RowSkipped, aic_token_budget

    aic = {"source": "https://github.com/ai-dynamo/aiconfigurator/blob/x/silicon_sample.csv",
           "notes": "aiconfigurator silicon_sample row x"}
    assert aic_token_budget(aic, 1024) == 2524
    assert aic_token_budget({**aic, "max_num_tokens": "4096"}, 1024) == 4096
    assert aic_token_budget({"source": "vendor blog", "max_num_tokens": "8192"}, 1024) == 8192
    assert aic_token_budget({"source": "vendor blog", "notes": ""}, 1024) is None
    with pytest.raises(RowSkipped, match="max_num_tokens"):
        aic_token_budget({"source": "vendor blog", "max_num_tokens": "0"}, 1024)
    args = ("deepseek-v3", "b200", 8, "fp4", 1024, 1024, 64)
    default = estimate(*args, engine="tensorrt-llm")
    tight = estimate(*args, engine="tensorrt-llm", tuning=Tuning(token_budget=2524))
    assert tight.batched_prefill_s > 1.2 * default.batched_prefill_s
    long = estimate("llama-3.1-8b", "h100-sxm", 1, "bf16", 8192, 256, 8,
                    tuning=Tuning(token_budget=2048))
    assert long.prefill_chunks == 4
    with pytest.raises(InputError):
        estimate(*args, tuning=Tuning(token_budget=0))
    # a disaggregated prefill worker takes a 15,000-token prompt in one pass at its budget
    # (15,000 + 1,500), in two at the engine's 8,192 default: one pass's overheads fewer
    from xlsizer.engine.disagg import PoolShape, closed_loop

    pools = ("qwen3-32b", "b200", "fp4", 15000, 500, 64, PoolShape(4, 1), PoolShape(2, 4))
    two = closed_loop(*pools, engine="tensorrt-llm")
    one = closed_loop(*pools, engine="tensorrt-llm", token_budget=16500)
    assert one[0] < two[0] and one[1] == pytest.approx(two[1])


def test_benchmark_runs_are_predicted_with_their_first_burst(tmp_path):
    """aiconfigurator's harness runs aiperf with 20 requests per client after a drained
    warm-up, so its clients start together: its rows are predicted with that burst. A file
    may state its own rounds; any other fixed-concurrency row is steady traffic."""
    from xlsizer.validation import AIC_BENCHMARK_ROUNDS, RowSkipped, benchmark_rounds, predict_row

    aic = {"source": "https://github.com/ai-dynamo/aiconfigurator/blob/x/silicon_sample.csv",
           "notes": "aiconfigurator silicon_sample row x"}
    assert AIC_BENCHMARK_ROUNDS == 20 and benchmark_rounds(aic) == 20
    assert benchmark_rounds({**aic, "benchmark_rounds": "5"}) == 5
    assert benchmark_rounds({"source": "vendor blog", "notes": ""}) is None
    with pytest.raises(RowSkipped, match="benchmark_rounds"):
        benchmark_rounds({"source": "vendor blog", "benchmark_rounds": "x"})
    row = {"id": "r1", "model": "qwen3-32b", "gpu": "h100-sxm", "gpu_count": "2", "tp": "2",
           "weights_precision": "fp8", "engine": "sglang", "isl": "2048", "osl": "256",
           "load": "concurrency", "concurrency": "64", "metric": "ttft_ms", "value": "1",
           "source": "vendor blog", "notes": ""}
    steady = predict_row(row)[0]
    one = predict_row({**row, "benchmark_rounds": "1"})[0]
    assert one > 2 * steady  # one round: all of it a burst
    vllm = {**row, "engine": "vllm"}
    assert predict_row({**vllm, "benchmark_rounds": "20"})[0] > predict_row(vllm)[0]


# --- issue 22: MLPerf results, predicted as each scenario runs -------------------------------


def test_mlperf_dataset_lengths_match_the_results_file_and_the_catalog():
    """benchmark_lengths.yaml: every dataset's model is in the catalog, and its prompt mean is
    mlperf.csv's isl_mean for that model (the two files come from one source); a model whose
    spread is not published (gpt-oss-120b) keeps equal lengths."""
    import csv

    from xlsizer.catalog.loader import load_catalog
    from xlsizer.engine.latency import POISSON
    from xlsizer.mlperf import dataset_lengths, mlperf_arrivals

    with (ROOT / "validation" / "mlperf.csv").open(newline="", encoding="utf-8") as f:
        isl = {(r["model"], float(r["isl_mean"])) for r in csv.DictReader(f)}
    lengths = dataset_lengths()
    assert set(lengths) == {"llama-2-70b", "llama-3.1-405b", "llama-3.1-8b", "mixtral-8x7b", "deepseek-r1"}
    for model, d in lengths.items():
        load_catalog().model(model)
        assert (model, d.prompt_mean) in isl
        assert 0.3 < d.prompt_cv < 1.0 and 0.3 < d.output_cv < 1.5
        assert mlperf_arrivals(model).length_cv == d.prompt_cv and mlperf_arrivals(model).output_cv == d.output_cv
    assert mlperf_arrivals("gpt-oss-120b") == POISSON


def test_mlperf_rows_are_predicted_per_scenario_and_grouped():
    from xlsizer.engine.latency import Arrivals
    from xlsizer.engine.performance import slo_capacity
    from xlsizer.mlperf import mlperf_arrivals

    text, code = validate_command(str(ROOT / "validation" / "mlperf.csv"), as_json=True)
    assert code == 0
    data = json.loads(text)
    assert data["summary"]["rows"] == 782
    rows = {r["id"]: r for r in data["rows"]}
    skipped = [r for r in data["rows"] if "skipped" in r]
    assert skipped and all("not in the catalog" in r["skipped"] or "precision" in r["skipped"]
                           or "no replica size" in r["skipped"] or "not tokens/s" in r["skipped"]
                           for r in skipped)
    assert data["summary"]["coverage"] > 0.85
    by = {(g["by"], g["value"]) for g in data["groups"]}
    for dim, value in (("scenario", "Server"), ("scenario", "Offline"), ("round", "v5.1"), ("precision", "fp8"),
                       ("model/scenario", "llama-2-70b/Server"), ("gpu", "h200-sxm")):
        assert (dim, value) in by
    # a Server row: the best TP size's capacity within both p99 limits, Poisson arrivals with the
    # dataset's spread of lengths, x replicas
    r = rows["mlperf-v5.1-0361"]  # llama-3.1-405b Interactive, 8x B200, fp4: 4.5 s / 80 ms p99
    assert r["scenario"] == "Interactive" and r["ratio"] == pytest.approx(r["measured"] / r["predicted"])
    assert "the dataset's lengths spread (CV prompts 0.43, answers 0.38)" in r["note"]
    arrivals = Arrivals("poisson", 1.0, 0.43, 0.38)
    assert mlperf_arrivals("llama-3.1-405b") == arrivals
    best = 0.0
    for n in (1, 2, 4, 8):
        try:
            cap = slo_capacity("llama-3.1-405b", "b200", n, "fp4", 9428.6, 653.1, 0.080, engine="tensorrt-llm",
                               target_ttft_s=4.5, calibration=held_out_calibration("llama-3.1-405b"),
                               slo_percentile=99, arrivals=arrivals)
        except Exception:
            continue
        best = max(best, cap.out_tok_s * 8 / n if cap.feasible else 0.0)
    assert r["predicted"] == pytest.approx(best)
    # p99 promises no more than the mean would (the limits were means before issue 22)
    from xlsizer.mlperf import predict

    with open(ROOT / "validation" / "mlperf.csv", encoding="utf-8") as f:
        import csv

        raw = [x for x in csv.DictReader(f) if x["scenario"] == "Server" and x["gpu"]][:12]
    for x in raw:
        cal = held_out_calibration(x["model"])
        assert predict(x, cal)[0] <= predict(x, cal, percentile=None)[0] * (1 + 1e-9)


def test_mlperf_rows_without_gpu_or_precision_follow_the_files_own_rule():
    """Rows whose results table states no precision (and whose GPU the file's catalog lacked)
    are resolved by the accelerator's alias and the file's rule (FP4 on Blackwell and MI355X,
    FP8 on Hopper, MI300X and MI325X; MI350X is MI355X's silicon), or the format the L40S
    submissions state (FP8); the rest (Intel Arc Pro, whose table values are not all tokens/s)
    are skipped, named."""
    from xlsizer.mlperf import Skip, resolved

    base = {"gpu": "", "precision": ""}
    assert resolved({**base, "accelerator": "AMD Instinct MI350X 288GB HBM3e"}) == ("mi350x", "fp4")
    assert resolved({**base, "accelerator": "NVIDIA RTX PRO 4500 Blackwell"}) == ("rtx-pro-4500", "fp4")
    assert resolved({"gpu": "h200-sxm", "precision": "fp8", "accelerator": "x"}) == ("h200-sxm", "fp8")
    assert resolved({**base, "accelerator": "NVIDIA L40S"}) == ("l40s", "fp8")
    for name, why in (("Intel(R) Arc Pro(R) B60", "covers b60"),
                      ("MS-Intel Arc Pro B60 Dual 48G Turbo", "covers b60-dual"),
                      ("Acme Matrix 9000", "not in the catalog")):
        with pytest.raises(Skip, match=why):
            resolved({**base, "accelerator": name})
    # in the rounds whose table gives Arc Pro figures in other units, the row says so, whatever
    # its precision; a later round's row on the same GPU is read as any other
    arc = {"gpu": "", "accelerator": "Intel(R) Arc Pro(R) B60", "precision": "int8"}
    with pytest.raises(Skip, match="samples/s, not tokens/s"):
        resolved({**arc, "round": "v6.0"})
    assert resolved({**arc, "round": "v7.0"}) == ("b60", "int8")
    text, _ = validate_command(str(ROOT / "validation" / "mlperf.csv"), as_json=True)
    rows = json.loads(text)["rows"]
    assert all("samples/s, not tokens/s" in r["skipped"] for r in rows if "skipped" in r)
    mi350x = [r for r in rows if r.get("gpu") == "mi350x"]
    assert len(mi350x) == 14 and all("skipped" not in r and r["precision"] == "fp4" for r in mi350x)
    l40s = [r for r in rows if r.get("gpu") == "l40s"]
    assert len(l40s) == 10 and all("skipped" not in r and r["precision"] == "fp8" for r in l40s)
    assert sum("skipped" in r for r in rows) == 32  # the Intel Arc Pro rows


def test_mlperf_engine_is_the_systems_own_where_the_file_guessed_it_from_the_vendor():
    """The file guesses the engine from the vendor ("tensorrt-llm (inferred from vendor)" for any
    NVIDIA GPU); a system whose own name says vLLM ran vLLM. A stated engine stands, and a name
    that says nothing leaves the guess."""
    from xlsizer.mlperf import engine_of

    guess = "tensorrt-llm (inferred from vendor)"
    assert engine_of({"engine": guess, "system": "IBM Cloud gx3 instance 1xL40S-PCIE-48GB vLLM"}) == "vllm"
    assert engine_of({"engine": guess, "system": "Dell PowerEdge XE8640 (1xH100-SXM-80GB vLLM)"}) == "vllm"
    assert engine_of({"engine": "vllm (inferred from vendor)", "system": "C845A_L40Sx8_TRT"}) == "tensorrt-llm"
    assert engine_of({"engine": guess, "system": "srv-sglang-8x"}) == "sglang"
    # llm-d serves with vLLM (Red Hat's v6.0 systems: "framework: LLM-D v0.5.0, vLLM 0.14.1")
    assert engine_of({"engine": guess, "system": "LLM-D v0.5.0Openshift 4.20.12NVIDIA 8xB200-SXM-180GB"}) == "vllm"
    assert engine_of({"engine": guess, "system": "8x B200 LLM TensorRT"}) == "tensorrt-llm"  # "llm" alone is not llm-d
    assert engine_of({"engine": guess, "system": "Dell PowerEdge XE9680 (8x H100-SXM-80GB)"}) == "tensorrt-llm"
    assert engine_of({"engine": "tensorrt-llm", "system": "box vLLM"}) == "tensorrt-llm"  # stated: it stands


def test_mlperf_interactive_rows_run_the_models_own_mtp_head():
    """DeepSeek-R1 ships an MTP head; MLPerf's Interactive runs draft 3 tokens with it, so the
    prediction takes the sizer's speculative-decoding terms (more per GPU than without), and a
    model without a head is predicted as before."""
    from xlsizer.engine.calibration import held_out_calibration
    from xlsizer.mlperf import MTP_DRAFT_TOKENS, mtp_tuning, sized_capacity

    assert MTP_DRAFT_TOKENS == 3
    t = mtp_tuning("deepseek-r1", "gb200", 8, "fp4", 1500, 3886.2)
    assert t.decode_tokens_per_step == 4.0 and 2.0 < t.accepted_tokens_per_step < 4.0 and t.extra_resident_bytes > 0
    assert mtp_tuning("llama-3.1-8b", "h200-sxm", 1, "fp8", 1000, 200) is None
    cal = held_out_calibration("deepseek-r1")
    args = ("deepseek-r1", "gb200", "fp4", 1500.0, 3886.2, 0.015, 1.5, "tensorrt-llm", 72, cal)
    with_mtp, without = sized_capacity(*args, mtp=True)[0], sized_capacity(*args)[0]
    assert with_mtp > 2.0 * without
    text, _ = validate_command(str(ROOT / "validation" / "mlperf.csv"), as_json=True)
    rows = [r for r in json.loads(text)["rows"]
            if r.get("model") == "deepseek-r1" and r.get("scenario") == "Interactive"]
    assert rows and all("MTP head with 3 draft tokens" in r["note"] for r in rows)


def test_mlperf_predictions_try_the_replica_shapes_a_sizing_buys():
    """A sizing picks wide expert-parallel replicas for a MoE (DEP8 for DeepSeek-R1 on a B200
    node), so the MLPerf comparison predicts with them too: a dense model gets tensor-parallel
    replicas only, and the chosen DeepSeek-R1 shape is the one a sizing of it buys."""
    from xlsizer import make_inputs, size
    from xlsizer.engine.calibration import held_out_calibration
    from xlsizer.mlperf import replica_shapes, sized_capacity

    assert replica_shapes("llama-3.1-8b", "b200") == [(1, 1), (2, 1), (4, 1), (8, 1)]
    assert (8, 8) in replica_shapes("deepseek-r1", "b200")
    cal = held_out_calibration("deepseek-r1")
    out, n, ep = sized_capacity("deepseek-r1", "b200", "fp4", 803.8, 3623.5, 0.08, 2.0, "tensorrt-llm", 8, cal)
    assert (n, ep) == (8, 8) and out > 0
    res = size(make_inputs({"model": "deepseek-r1", "gpu": "b200", "precision": "fp4", "concurrent_users": 5000}))
    assert res.burst.gpus_per_replica == 8 and res.burst.tp == 1


def test_bench_mlperf_reads_a_newer_round_and_names_the_rows_it_skips(tmp_path):
    """benchmarks/bench_mlperf.py --data: a held-out file in mlperf.csv's format (a newer round)
    is read as the packaged one is; a row whose model or accelerator the catalog lacks is
    counted with its reason, not sized and not a crash."""
    import importlib.util
    from collections import Counter

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_mlperf.py"
    spec = importlib.util.spec_from_file_location("bench_mlperf", script)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with bench.DATA.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = [r for r in reader if r["round"] == "v6.0" and r["model"] == "llama-2-70b"
                and r["scenario"] == "Server" and r["gpu"] == "b200"][:2]
    assert len(rows) == 2
    newer = [dict(r, round="v9.9") for r in rows]
    newer.append(dict(rows[0], round="v9.9", model="no-such-model"))
    newer.append(dict(rows[0], round="v9.9", gpu="", accelerator="No Such Accelerator 1TB"))
    newer.append(dict(rows[0], round="v9.9", scenario="Offline"))  # not sized: a ceiling, no limits
    newer.append(dict(rows[0], round="v9.9", isl_mean=""))  # a field left empty: named, not a crash
    newer.append(dict(rows[1], round="v9.9", model="llama2-70b"))  # MLPerf's own name: read as the catalog id
    path = tmp_path / "newer.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(newer)
    skipped: Counter[str] = Counter()
    kept = bench.results(False, path, skipped)
    assert [r["round"] for r in kept] == ["v9.9"] * 3 and all(r["model"] == "llama-2-70b" for r in kept)
    assert skipped == Counter({"model 'no-such-model' is not in the catalog": 1,
                               "accelerator 'No Such Accelerator 1TB' is not in the catalog": 1,
                               "isl_mean not given": 1})
    ((key, n, med, *_),) = bench.table(99.0, data=path)
    assert key == "llama-2-70b/Server" and n == 3 and med > 0
    assert bench.sized_both(kept[2], 99.0) == bench.sized_both(dict(kept[2], model="llama-2-70b"), 99.0)


def test_a_row_naming_its_model_by_an_alias_is_predicted_as_the_catalog_id():
    """MLPerf names its benchmarks "llama3.1-8b"; a held-out file may too. Read as the catalog
    id, the row gets the fit made without that model and the dataset's length spread; read raw,
    it got the fit that had seen the model (an in-sample leak) and equal lengths."""
    from xlsizer.mlperf import validate_rows as mlperf_rows

    root = Path(__file__).resolve().parent.parent / "validation"
    with (root / "mlperf.csv").open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["model"] == "llama-3.1-8b" and r["scenario"] == "Server")
    own, alias = mlperf_rows([row, dict(row, id="alias", model="llama3.1-8b")]).rows
    assert alias.model == "llama-3.1-8b" and alias.predicted == own.predicted and alias.note == own.note
    with (root / "serving.csv").open(encoding="utf-8") as f:
        srow = next(r for r in csv.DictReader(f) if r["model"] == "llama-3.1-8b")
    rep = validate_rows([srow, dict(srow, id="alias", model="meta-llama/Llama-3.1-8B-Instruct")],
                        calibration_for=held_out_calibration)
    own, alias = rep.rows
    assert own.predicted is not None and alias.predicted == own.predicted and alias.model == "llama-3.1-8b"


def test_mlperf_row_of_a_model_the_catalog_lacks_is_skipped_not_fatal():
    """A newer round can bring a model the catalog lacks: validate skips that row with the
    catalog's reason and predicts the rest (it used to stop the whole file at that row)."""
    from xlsizer.mlperf import validate_rows

    with (Path(__file__).resolve().parent.parent / "validation" / "mlperf.csv").open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["model"] == "llama-2-70b" and r["scenario"] == "Server"
                   and r["gpu"] == "h200-sxm")
    report = validate_rows([row, dict(row, id="new-1", model="no-such-model")], "newer.csv")
    kept, new = report.rows
    assert kept.skipped is None and kept.predicted > 0
    assert new.skipped is not None and "unknown model 'no-such-model'" in new.skipped
    # a format the sizer has no rate for is named as such, an alias of one it has is read as it
    odd, alias = validate_rows([dict(row, id="fp6", precision="fp6"), dict(row, id="e4m3", precision="e4m3")]).rows
    assert odd.skipped is not None and odd.skipped.startswith("precision 'fp6' is not one xlsizer sizes")
    assert alias.skipped is None and alias.predicted == pytest.approx(kept.predicted)


@pytest.mark.parametrize(("column", "value"), [("tpot_p99_limit_ms", "inf"), ("tpot_p99_limit_ms", "1e308"),
                                               ("gpu_count", "inf"), ("isl_mean", "")])
def test_an_absurd_mlperf_number_skips_its_row_and_never_stops_the_file(column, value):
    """A held-out file's typo is one skipped row with its reason: an infinite or 1e308 ms TPOT
    limit stopped validate (the solver's squares overflowed to NaN), as did an infinite GPU count."""
    from xlsizer.mlperf import validate_rows as mlperf_rows

    with (ROOT / "validation" / "mlperf.csv").open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["model"] == "llama-2-70b" and r["scenario"] == "Interactive"
                   and r["gpu"] == "b200")
    good, odd = mlperf_rows([row, dict(row, id="odd", **{column: value})]).rows
    assert good.predicted is not None
    # a TPOT limit no batch reaches is a valid (if odd) target: the engine's limit then binds
    assert odd.skipped is not None or (column == "tpot_p99_limit_ms" and odd.predicted >= good.predicted)


@pytest.mark.parametrize("column", ["dp", "prefill_workers", "decode_dp", "tp"])
def test_a_count_past_any_deployment_skips_a_serving_row(column):
    """'1e308' workers or ranks stopped validate with an OverflowError; a count past 10,000,000
    (max_total_gpus's bound) is now the row's skip reason."""
    with (ROOT / "validation" / "serving.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    row = next(r for r in rows if r["mode"] == ("disagg" if column in ("prefill_workers", "decode_dp") else "agg"))
    (odd,) = validate_rows([dict(row, **{column: "1e308"})]).rows
    assert odd.skipped is not None and "is not a whole number from 1 to 10,000,000" in odd.skipped
