"""`xlsizer calibrate` (issue 23): readers on the tools' result shapes, the fit recovering known
factors from runs the model itself generated, bad inputs, --force, the profile's YAML round trip,
and a profile used / partly used / ignored by a sizing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from xlsizer.calibrate.fit import NOISE_FLOOR, _eligible, build_profile
from xlsizer.calibrate.profile import (
    ProfileError,
    applies,
    apply_factors,
    dump_profile,
    load_profile,
)
from xlsizer.calibrate.readers import CalibrationInputError, FileRuns, read_file
from xlsizer.cli import main
from xlsizer.engine.calibration import packaged_calibration
from xlsizer.validation import predict_row

FIX = Path(__file__).parent / "fixtures" / "calibrate"
DEPLOY = {"model": "llama-3.1-8b", "gpu": "h100-sxm", "tp": 1, "engine": "vllm", "weights_precision": "bf16"}


def _run(tmp_path: Path, *args: str) -> int:
    return main(["calibrate", *args])


# --- readers -------------------------------------------------------------------------------------


def test_vllm_result_three_appended_runs():
    f = read_file(FIX / "vllm_bench_serve.json", {"gpu": "h100-sxm", "tp": 1, "weights_precision": "bf16",
                                                 "engine": "vllm"})
    assert (f.format, f.runs, f.statistic) == ("vllm", 3, "mean")
    ttft = [r for r in f.rows if r["metric"] == "ttft_ms"]
    assert [r["concurrency"] for r in ttft] == ["4", "16", "64"]
    assert [r["value"] for r in ttft] == ["101.3", "131.9", "498.6"]
    assert {r["isl"] for r in ttft} == {"1024"} and {r["osl"] for r in ttft} == {"256"}
    assert ttft[0]["model"] == "meta-llama/Llama-3.1-8B-Instruct"  # the file's model_id, a catalog alias
    assert ttft[0]["benchmark_rounds"] == "50"  # 200 prompts over 4 clients started together


def test_sglang_jsonl_runs_and_engine():
    f = read_file(FIX / "sglang_bench_serving.jsonl", {"model": "llama-3.1-8b", "gpu": "h100-sxm", "tp": 1,
                                                      "weights_precision": "bf16"})
    assert (f.format, f.runs) == ("sglang", 2)
    assert {r["engine"] for r in f.rows} == {"sglang"}
    assert [r["value"] for r in f.rows if r["metric"] == "tpot_ms"] == ["8.9", "12.6"]


def test_aiperf_and_genai_perf_concurrency_from_input_config():
    sets = {"gpu": "h100-sxm", "tp": 1, "weights_precision": "bf16", "engine": "vllm"}
    a = read_file(FIX / "profile_export_aiperf.json", sets)
    g = read_file(FIX / "profile_export_genai_perf.json", sets)
    assert (a.format, a.runs, g.format, g.runs) == ("aiperf", 1, "aiperf", 1)
    assert {r["concurrency"] for r in a.rows} == {"16"} and {r["concurrency"] for r in g.rows} == {"4"}
    assert {r["metric"]: r["value"] for r in a.rows} == {"ttft_ms": "125.6", "tpot_ms": "9.75"}


def test_the_answers_spread_is_read_where_the_file_has_it(tmp_path):
    """A detailed vLLM result lists each request's output tokens (``output_lens``; a failed one
    as 0, left out): its population standard deviation over the mean is the run's ``osl_cv``.
    AIPerf states the std of ``output_sequence_length`` (51.2 / 256 in the fixture). A run
    without either has none (equal lengths), and ``--set osl_cv`` must be a number from 0 to 4."""
    lines = (FIX / "vllm_bench_serve.json").read_text(encoding="utf-8").splitlines()
    run = json.loads(lines[0])
    run["output_lens"] = [100, 300, 0, 200, 400]  # mean 250, population sd 111.8
    p = tmp_path / "detailed.json"
    p.write_text(json.dumps(run), encoding="utf-8")
    f = read_file(p, DEPLOY)
    assert {r["osl_cv"] for r in f.rows} == {f"{(12500 ** 0.5) / 250:.4g}"}
    a = read_file(FIX / "profile_export_aiperf.json", {k: v for k, v in DEPLOY.items() if k != "model"})
    assert {r["osl_cv"] for r in a.rows} == {"0.2"}
    plain = read_file(FIX / "vllm_bench_serve.json", DEPLOY)
    assert {r["osl_cv"] for r in plain.rows} == {""}
    assert {r["osl_cv"] for r in read_file(FIX / "vllm_bench_serve.json", {**DEPLOY, "osl_cv": "1"}).rows} == {"1"}
    for bad in ("abc", "5", "-1"):
        with pytest.raises(CalibrationInputError, match="osl_cv"):
            read_file(FIX / "vllm_bench_serve.json", {**DEPLOY, "osl_cv": bad})


def test_a_runs_spread_answers_are_predicted_with_their_longer_contexts():
    """The validation CSV's optional ``osl_cv`` column: a run whose answers spread decodes at
    longer contexts (step.decode_context), so its predicted TPOT is longer; aggregated and
    disaggregated alike. A spread above 4 is refused with the reason."""
    from xlsizer.validation import RowSkipped

    row = {"id": "r1", "model": "llama-3.1-8b", "gpu": "h100-sxm", "gpu_count": "1", "tp": "1",
           "weights_precision": "bf16", "engine": "vllm", "isl": "1024", "osl": "2048",
           "load": "concurrency", "concurrency": "64", "metric": "tpot_ms", "value": "1",
           "source": "team run", "notes": ""}
    equal, _ = predict_row(row)
    spread, note = predict_row({**row, "osl_cv": "1.2"})
    assert spread > 1.05 * equal and "answers spread with CV 1.2" in note
    assert predict_row({**row, "osl_cv": ""})[0] == equal
    dis = {**row, "mode": "disagg", "prefill_workers": "1", "prefill_tp": "1", "decode_workers": "1",
           "decode_tp": "1"}
    assert predict_row({**dis, "osl_cv": "1.2"})[0] > predict_row(dis)[0]
    with pytest.raises(RowSkipped, match="osl_cv"):
        predict_row({**row, "osl_cv": "9"})


def test_trtllm_bench_report_gives_parallelism():
    f = read_file(FIX / "trtllm_bench_report.json", {"gpu": "h100-sxm", "weights_precision": "bf16"})
    r = f.rows[0]
    assert (f.format, r["engine"], r["tp"], r["gpu_count"], r["max_num_tokens"]) == (
        "trtllm-bench", "tensorrt-llm", "1", "1", "8192")
    assert r["concurrency"] == "31.6"  # its measured mean concurrency; --set concurrency wins
    assert read_file(FIX / "trtllm_bench_report.json", {"gpu": "h100-sxm", "weights_precision": "bf16",
                                                        "concurrency": 32}).rows[0]["concurrency"] == "32"


def test_missing_fact_is_one_line_naming_it():
    with pytest.raises(CalibrationInputError, match=r"does not give gpu; add --set gpu="):
        read_file(FIX / "vllm_bench_serve.json", {"tp": 1, "weights_precision": "bf16", "engine": "vllm"})
    with pytest.raises(CalibrationInputError, match="weights_precision"):
        read_file(FIX / "vllm_bench_serve.json", {"gpu": "h100-sxm", "tp": 1, "engine": "vllm"})


@pytest.mark.parametrize(("text", "match"), [
    ("", "empty file"),
    ("   \n", "empty file"),
    ('{"accuracy": 0.8}', "another tool"),
    ("name,score\nx,1\n", "not a result file"),
    ("{not json", "not valid JSON"),
])
def test_unusable_files(tmp_path, text, match):
    p = tmp_path / "x.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CalibrationInputError, match=match):
        read_file(p, DEPLOY)


def _bench_run(**changes: object) -> str:
    """The first run of the vLLM fixture with some keys changed, as one JSON line."""
    run = json.loads((FIX / "vllm_bench_serve.json").read_text(encoding="utf-8").splitlines()[0])
    return json.dumps({**run, **changes})


@pytest.mark.parametrize(("text", "sets", "match"), [
    # each was an "internal error" of `xlsizer calibrate`, found by fuzzing every number of the fixtures
    (_bench_run(), {"isl": "abc"}, r"isl 'abc' is not a number of tokens"),
    (_bench_run(max_concurrency=0), {}, r"concurrency '0' is not a positive number"),
    (_bench_run(completed=float("nan")), {}, r"does not give isl"),  # NaN written by json.dumps
    ('{"mean_ttft_ms": 1' + "0" * 400 + ', "mean_tpot_ms": 12.0, "completed": 10}', {}, r"no TTFT in the file"),
])
def test_impossible_numbers_are_named_not_internal_errors(tmp_path, text, sets, match):
    p = tmp_path / "run.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CalibrationInputError, match=match):
        build_profile([read_file(p, {**DEPLOY, **sets})], "2026-12-08")


def test_an_infinite_gpu_count_in_a_csv_is_named(tmp_path):
    head = ("id,split,source,model,gpu,gpu_count,tp,ep,weights_precision,kv_precision,engine,isl,osl,load,"
            "concurrency,metric,value,quality,notes")
    rows = [f"r{i},public,x,llama-3.1-8b,h100-sxm,1,{'inf' if i == 0 else 1},,bf16,,vllm,1024,256,concurrency,"
            f"{c},{m},{v},A," for i, (c, m, v) in enumerate([(1, "ttft_ms", 40), (1, "tpot_ms", 9),
                                                             (8, "ttft_ms", 60), (8, "tpot_ms", 11)])]
    p = tmp_path / "runs.csv"
    p.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(CalibrationInputError, match="gpu_count, tp, ep and dp must be whole numbers"):
        build_profile([read_file(p)], "2026-12-08")


# --- the fit ---------------------------------------------------------------------------------------


def _model_rows(cal, concs=(2, 8, 32, 128), lengths=((1024, 256), (4096, 512))):
    """Runs predicted by the model itself under ``cal`` (the truth the fit must recover)."""
    rows = []
    for isl, osl in lengths:
        for c in concs:
            for m in ("ttft_ms", "tpot_ms"):
                row = {"id": f"{isl}-{c}-{m}", "model": "llama-3.1-8b", "gpu": "h100-sxm", "gpu_count": "1",
                       "tp": "1", "weights_precision": "bf16", "engine": "vllm", "isl": str(isl), "osl": str(osl),
                       "load": "concurrency", "concurrency": str(c), "metric": m, "value": "1",
                       "benchmark_rounds": "10", "_run": f"{isl}-{c}", "_file": "gen"}
                row["value"] = f"{predict_row(row, cal)[0]:.6g}"
                rows.append(row)
    return rows


def test_fit_recovers_known_factors():
    truth = apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.70,
                                                           "prefill_compute_efficiency": 0.35,
                                                           "request_overhead_s": 0.12})
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", _model_rows(truth))], "2026-01-02")
    f = prof.factors
    # on one model a per-step overhead trades against the weights' read time, so the bandwidth
    # comes back within 10% (the predictions, below, within 2%)
    assert f["bandwidth_efficiency"].value == pytest.approx(0.70, rel=0.10)
    assert f["prefill_compute_efficiency"].value == pytest.approx(0.35, rel=0.10)
    assert f["request_overhead_s"].value == pytest.approx(0.12, rel=0.15)
    # before: the packaged factors miss the runs by tens of percent; after: within 2%
    assert prof.error["tpot_ms"]["before"]["median_ape"] > 0.1
    assert prof.error["tpot_ms"]["after"]["median_ape"] < 0.02
    assert prof.error["ttft_ms"]["after"]["median_ape"] < 0.02
    assert prof.range["concurrency"].low == 2 and prof.range["concurrency"].high == 128
    assert prof.measured["date"] == "2026-01-02" and prof.measured["runs"] == 8


def test_fit_separates_the_queue_from_the_first_token_level():
    # a scheduler that holds waiting prompts twice as long as the physics says: TTFT grows with
    # the load faster (at 128 clients 2.6 s, not 0.37 s), while a lone request's overhead is a
    # factor of its own; the fit tells the two apart
    truth = apply_factors(packaged_calibration(), "vllm", {"queue_service_scale": 2.0, "request_overhead_s": 0.08})
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", _model_rows(truth))], "2026-01-02")
    f = prof.factors
    assert f["queue_service_scale"].value == pytest.approx(2.0, rel=0.05)
    assert f["request_overhead_s"].value == pytest.approx(0.08, rel=0.05)
    assert f["queue_service_scale"].packaged == 1.0
    assert prof.error["ttft_ms"]["before"]["median_ape"] > 0.2
    assert prof.error["ttft_ms"]["after"]["median_ape"] < 0.01


def _noisy(rows, amplitude=0.04):
    """``rows`` with a deterministic run-to-run spread of about ``amplitude`` (a benchmark's
    own noise): each run's values scaled by a fixed factor in [1 - a, 1 + a]."""
    runs = sorted({r["_run"] for r in rows})
    scale = {run: 1.0 + amplitude * ((7 * i) % 5 - 2) / 2.0 for i, run in enumerate(runs)}
    return [{**r, "value": f"{float(r['value']) * scale[r['_run']]:.6g}"} for r in rows]


def test_packaged_model_that_predicts_well_is_kept():
    # runs the packaged model predicts to within their own noise: nothing for a profile to
    # learn, so the guard keeps every packaged value (a fit would only chase the noise)
    rows = _noisy(_model_rows(packaged_calibration()))
    prof, res = build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")
    assert set(res.kept_packaged) == {"tpot_ms", "ttft_ms"}
    assert all(f.value == f.packaged for f in prof.factors.values())
    assert prof.measured["guard"]["chosen"] == "none (packaged values)"
    assert len(prof.measured["kept_packaged"]) == 2
    for m in ("tpot_ms", "ttft_ms"):
        assert prof.error[m]["after"]["median_ape"] == prof.error[m]["before"]["median_ape"]


def test_a_metric_the_packaged_values_predict_within_noise_is_not_fitted():
    # TPOT within 2% (the runs' own spread) and TTFT 50% off: only the first-token stage is
    # offered; the decode factors stay packaged and the profile says why
    rows = _noisy(_model_rows(apply_factors(packaged_calibration(), "vllm", {"request_overhead_s": 0.3})),
                  amplitude=0.02)
    prof, res = build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")
    assert prof.error["tpot_ms"]["before"]["median_ape"] <= NOISE_FLOOR < prof.error["ttft_ms"]["before"]["median_ape"]
    assert res.chosen == "ttft_ms" and res.kept_packaged == ("tpot_ms",)
    for name in ("bandwidth_efficiency", "compute_efficiency", "step_overhead_s", "layer_overhead_s"):
        assert prof.factors[name].value == prof.factors[name].packaged
    assert prof.factors["request_overhead_s"].value == pytest.approx(0.3, rel=0.1)
    guard = prof.measured["guard"]["candidates"]
    assert "within their noise" in guard["tpot_ms"]["not_fitted"] and not guard["tpot_ms+ttft_ms"]["eligible"]
    assert "within their noise" in prof.measured["kept_packaged"][0]


@pytest.mark.parametrize("truth", [
    {"bandwidth_efficiency": 0.55},
    {"step_overhead_s": 0.006, "request_overhead_s": 0.3},
    {"prefill_compute_efficiency": 0.25, "compute_efficiency": 0.3},
])
def test_profile_never_raises_the_error_of_its_runs(truth):
    # whatever the runs, the profile's median error on them, per metric, is at most the
    # packaged model's; where the runs differ from the packaged model it is lower
    rows = _noisy(_model_rows(apply_factors(packaged_calibration(), "vllm", truth)), amplitude=0.02)
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")
    for m in ("tpot_ms", "ttft_ms"):
        assert prof.error[m]["after"]["median_ape"] <= prof.error[m]["before"]["median_ape"]
    assert any(prof.error[m]["after"]["median_ape"] < prof.error[m]["before"]["median_ape"]
               for m in ("tpot_ms", "ttft_ms"))
    guard = prof.measured["guard"]
    assert guard["folds"] == 5 and guard["chosen"] != "none (packaged values)"
    chosen = guard["candidates"][guard["chosen"]]
    assert chosen["eligible"]
    for m in ("tpot_ms", "ttft_ms"):  # and on runs it was not fitted on, at most the packaged error
        assert chosen[m]["cross_validated"] <= chosen[m]["before"]


def test_a_side_effect_that_ruins_some_runs_of_the_other_metric_is_refused():
    # a decode-stage fit that halves the TPOT error and keeps the TTFT median (0.34 -> 0.34)
    # while a few high-load TTFT runs go far off (mean 0.40 -> 0.55): refused, since TTFT moved
    # only as a side effect of factors fitted on TPOT
    before, before_mean = {"tpot_ms": 0.11, "ttft_ms": 0.344}, {"tpot_ms": 0.12, "ttft_ms": 0.40}
    train, cv = {"tpot_ms": 0.03, "ttft_ms": 0.340}, {"tpot_ms": 0.036, "ttft_ms": 0.342}
    assert not _eligible(("tpot_ms",), before, before_mean, train, cv, {"tpot_ms": 0.05, "ttft_ms": 0.55}, 5)
    # the same with the side metric's mean held: eligible
    assert _eligible(("tpot_ms",), before, before_mean, train, cv, {"tpot_ms": 0.05, "ttft_ms": 0.39}, 5)
    # a metric the candidate fits is judged on its median (its own cross-validation), not its mean
    assert _eligible(("tpot_ms", "ttft_ms"), before, before_mean, train, cv,
                     {"tpot_ms": 0.2, "ttft_ms": 0.55}, 5)
    # the median rules stay: a side metric whose cross-validated median rises is refused
    assert not _eligible(("tpot_ms",), before, before_mean, train, {"tpot_ms": 0.036, "ttft_ms": 0.35},
                         {"tpot_ms": 0.05, "ttft_ms": 0.39}, 5)
    assert not _eligible(("tpot_ms",), before, before_mean, train, cv, {"tpot_ms": 0.05, "ttft_ms": 0.39}, 1)


def test_the_walk_through_prints_what_docs_calibrate_md_shows(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    # docs/calibrate.md section 2: the fixture command's error and guard lines, as printed
    doc = (Path(__file__).parent.parent / "docs" / "calibrate.md").read_text(encoding="utf-8")
    assert main(["calibrate", str(FIX / "vllm_bench_serve.json"), "--out", str(tmp_path / "try.yaml"), "--set",
                 "model=llama-3.1-8b", "gpu=h100-sxm", "tp=1", "engine=vllm", "weights_precision=bf16"]) == 0
    printed = [x for x in capsys.readouterr().out.splitlines()
               if x.startswith(("tpot_ms: median error", "ttft_ms: median error", "guard: "))]
    assert len(printed) == 3
    for line in printed:
        assert line in doc, line


def test_a_side_metric_already_within_the_noise_need_only_stay_there():
    # a first-token fit that cuts TTFT (0.31 -> 0.19) while TPOT, already predicted within the
    # noise (3.8%), keeps its median and nudges its mean (8.5% -> 8.8%): eligible, since a
    # rise below the noise is not evidence of harm (gpt-oss-120b with vLLM on 4x H100)
    before, before_mean = {"tpot_ms": 0.038, "ttft_ms": 0.31}, {"tpot_ms": 0.085, "ttft_ms": 0.40}
    train, cv = {"tpot_ms": 0.038, "ttft_ms": 0.17}, {"tpot_ms": 0.038, "ttft_ms": 0.19}
    assert _eligible(("ttft_ms",), before, before_mean, train, cv, {"tpot_ms": 0.088, "ttft_ms": 0.25}, 5)
    # within the noise still: a median rise to exactly the floor is allowed, past it refused
    assert _eligible(("ttft_ms",), before, before_mean, train, {"tpot_ms": NOISE_FLOOR, "ttft_ms": 0.19},
                     {"tpot_ms": 0.088, "ttft_ms": 0.25}, 5)
    assert not _eligible(("ttft_ms",), before, before_mean, train, {"tpot_ms": 0.051, "ttft_ms": 0.19},
                         {"tpot_ms": 0.088, "ttft_ms": 0.25}, 5)
    assert not _eligible(("ttft_ms",), before, before_mean, {"tpot_ms": 0.051, "ttft_ms": 0.17}, cv,
                         {"tpot_ms": 0.088, "ttft_ms": 0.25}, 5)
    # the same nudge on a side metric above the noise (TPOT 6%): the strict rules refuse it
    loud, loud_mean = {"tpot_ms": 0.06, "ttft_ms": 0.31}, {"tpot_ms": 0.085, "ttft_ms": 0.40}
    assert not _eligible(("ttft_ms",), loud, loud_mean, {"tpot_ms": 0.06, "ttft_ms": 0.17},
                         {"tpot_ms": 0.06, "ttft_ms": 0.19}, {"tpot_ms": 0.088, "ttft_ms": 0.25}, 5)
    # a fitted metric within the noise gets no such slack: it is judged by its own rules
    assert not _eligible(("tpot_ms", "ttft_ms"), before, before_mean, {"tpot_ms": 0.04, "ttft_ms": 0.17},
                         {"tpot_ms": 0.045, "ttft_ms": 0.19}, {"tpot_ms": 0.05, "ttft_ms": 0.25}, 5)


def test_the_guard_record_shows_the_side_metrics_mean():
    # TPOT off (bandwidth), TTFT as packaged: the decode-stage candidate's record carries the
    # TTFT mean error it was judged on, and a chosen candidate held it
    rows = _noisy(_model_rows(apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.55})),
                  amplitude=0.02)
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")
    guard = prof.measured["guard"]
    decode = guard["candidates"]["tpot_ms"]
    assert set(decode["ttft_ms"]) == {"before", "cross_validated", "before_mean", "cross_validated_mean"}
    assert "before_mean" not in decode["tpot_ms"]
    assert "mean error" in guard["rule"]
    assert guard["chosen"] == "tpot_ms" and decode["eligible"]
    assert decode["ttft_ms"]["cross_validated_mean"] <= decode["ttft_ms"]["before_mean"]


def test_runs_of_several_engine_versions_are_said(tmp_path, capsys):
    # a profile describes one stack: runs of two engine versions are fitted, and the profile and
    # the command's summary say that they mix
    rows = _model_rows(apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.6}))
    runs = sorted({r["_run"] for r in rows})
    mixed = [{**r, "engine_version": "0.10.1" if runs.index(r["_run"]) % 2 else "0.11.0"} for r in rows]
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", mixed)], "2026-01-02")
    (note,) = prof.measured["mixed_stack"]
    assert "2 engine versions (0.10.1, 0.11.0)" in note
    one, _ = build_profile([FileRuns("gen", "csv", "mean", [{**r, "engine_version": "0.11.0"} for r in rows])],
                           "2026-01-02")
    assert "mixed_stack" not in one.measured
    # through the command: the CSV written and read back, the note printed
    cols = [c for c in mixed[0] if not c.startswith("_")]
    csv_path = tmp_path / "runs.csv"
    csv_path.write_text(",".join(cols) + "\n" + "\n".join(",".join(r[c] for c in cols) for r in mixed) + "\n",
                        encoding="utf-8")
    assert main(["calibrate", str(csv_path), "--out", str(tmp_path / "p.yaml"), "--date", "2026-01-02"]) == 0
    assert "note: the runs mix 2 engine versions" in capsys.readouterr().out
    assert "mixed_stack" in (tmp_path / "p.yaml").read_text(encoding="utf-8")


def test_profile_without_guard_record_still_loads(tmp_path):
    # profiles written before the guard (no measured.guard) load and apply as before
    rows = _model_rows(apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.6}))
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")
    data = prof.model_dump(mode="json")
    del data["measured"]["guard"]
    p = tmp_path / "old.yaml"
    import yaml
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    old = load_profile(p)
    assert old.factors == prof.factors and old.profile_version == 1


@pytest.mark.parametrize(("where", "value", "match"), [
    (("factors", "bandwidth_efficiency", "value"), 0, r"factor 'bandwidth_efficiency' is 0, outside what is physically "
                                                      r"possible \(0.05 to 1 fraction of peak memory bandwidth\)"),
    (("factors", "bandwidth_efficiency", "value"), 1.5, "outside what is physically possible"),
    (("error", "tpot_ms", "after", "p90_ape"), "abc", r"p90_ape 'abc' is not a share"),
])
def test_a_hand_edited_profile_out_of_bounds_is_refused_in_one_line(tmp_path, where, value, match):
    """A profile edited by hand is read as the fit's output is: a factor outside its physical
    bounds, or an error figure that is not a number, is refused naming it (a bandwidth efficiency
    of 0 divided by zero in every sizing that used the profile; 'abc' stopped it with a ValueError)."""
    import yaml

    rows = _model_rows(apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.6}))
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")
    data = prof.model_dump(mode="json")
    node = data
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value
    p = tmp_path / "edited.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ProfileError, match=match):
        load_profile(p)


def test_one_run_is_not_enough():
    rows = _model_rows(packaged_calibration(), concs=(8,), lengths=((1024, 256),))
    with pytest.raises(CalibrationInputError, match="at least 2 runs"):
        build_profile([FileRuns("gen", "csv", "mean", rows)], "2026-01-02")


# --- the command -------------------------------------------------------------------------------


def _sets(**extra):
    base = {"gpu": "h100-sxm", "tp": "1", "weights_precision": "bf16", "engine": "vllm", **extra}
    return ["--set", *(f"{k}={v}" for k, v in base.items())]


def test_command_writes_readable_profile_and_round_trips(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    assert main(["calibrate", str(FIX / "vllm_bench_serve.json"), "--out", str(out), "--date", "2026-12-01",
                 *_sets()]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# xlsizer calibration profile: llama-3.1-8b on 1x h100-sxm")
    for word in ("deployment:", "factors:", "bandwidth_efficiency:", "meaning:", "range:", "concurrency:",
                 "error:", "before:", "after:", "measured:", "vllm_bench_serve.json", "date: '2026-12-01'"):
        assert word in text
    prof = load_profile(out)
    again = tmp_path / "q.yaml"
    again.write_text(dump_profile(prof), encoding="utf-8")
    assert load_profile(again).model_dump() == prof.model_dump()
    printed = capsys.readouterr().out
    assert "wrote" in printed
    assert text.startswith("# xlsizer calibration profile: llama-3.1-8b on 1x h100-sxm (1 GPU), vllm")
    assert "(1 GPU, ep 1, dp 1)" in printed
    # an overhead the packaged fit holds at its bound of 0 (1e-15 s) reads 0 in the table
    row = next(line.split() for line in printed.splitlines() if line.startswith("step_overhead_s"))
    assert row[1] == "0"


def test_factor_text():
    from xlsizer.calibrate.profile import factor_text

    assert factor_text(1.01e-15) == "0"
    assert factor_text(0.0) == "0"
    assert factor_text(6.5276e-05) == "6.528e-05"
    assert factor_text(0.447796) == "0.4478"


def test_existing_profile_needs_force(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    out.write_text("mine", encoding="utf-8")
    args = ["calibrate", str(FIX / "vllm_bench_serve.json"), "--out", str(out), "--date", "2026-12-01", *_sets()]
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "mine"
    assert main([*args, "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("# xlsizer calibration profile")


@pytest.mark.parametrize(("ttft", "tpot", "match"), [
    (-5.0, 8.0, "impossible"),
    (5.0, 8.0, "smaller than one decode step"),
])
def test_impossible_numbers_write_nothing(tmp_path, capsys, ttft, tpot, match):
    src = tmp_path / "r.json"
    lines = [json.loads(x) for x in (FIX / "vllm_bench_serve.json").read_text(encoding="utf-8").splitlines()]
    lines[1]["mean_ttft_ms"], lines[1]["mean_tpot_ms"] = ttft, tpot
    src.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    out = tmp_path / "p.yaml"
    assert main(["calibrate", str(src), "--out", str(out), *_sets()]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_bad_profile_file_is_one_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("just: text\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not a calibration profile"):
        load_profile(p)
    with pytest.raises(ProfileError, match="no such profile"):
        load_profile(tmp_path / "none.yaml")


# --- applying a profile ------------------------------------------------------------------------


def _saved(prof, path):
    """``prof`` written to ``path`` as ``xlsizer calibrate`` writes it; the path."""
    path.write_text(dump_profile(prof), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    truth = apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.70, "request_overhead_s": 0.06})
    prof, _ = build_profile([FileRuns("gen", "csv", "mean", _model_rows(truth))], "2026-01-02")
    return _saved(prof, tmp_path_factory.mktemp("prof") / "p.yaml")


def _carry_request_overhead(profile_path, tmp_path):
    """The profile with request_overhead_s scoped gpu+engine, as a team edits it."""
    prof = load_profile(profile_path)
    prof.factors["request_overhead_s"].scope = "gpu+engine"
    return _saved(prof, tmp_path / "carry.yaml")


def test_applies_used_partly_ignored(profile_path, tmp_path):
    prof = load_profile(profile_path)
    assert {f.scope for f in prof.factors.values()} == {"deployment"}  # calibrate carries nothing by default
    assert applies(prof, "llama-3.1-8b", "h100-sxm", "vllm", "bf16")[0] == "used"
    assert applies(prof, "Llama-3.1-8B-Instruct", "h100-sxm", "vLLM", "bf16")[0] == "used"  # aliases
    use, why = applies(prof, "qwen3-32b", "h100-sxm", "vllm", "bf16")
    assert use == "ignored" and "scoped to that model" in why
    assert applies(prof, "llama-3.1-8b", "b200", "vllm", "bf16")[0] == "ignored"
    assert applies(prof, "llama-3.1-8b", "h100-sxm", "sglang", "bf16")[0] == "ignored"
    carry = load_profile(_carry_request_overhead(profile_path, tmp_path))
    use, why = applies(carry, "qwen3-32b", "h100-sxm", "vllm", "bf16")
    assert use == "partly used" and "request_overhead_s" in why
    # partly used carries only the factors scoped gpu+engine
    part = carry.calibration("gpu+engine")
    assert part.bandwidth_efficiency == packaged_calibration().bandwidth_efficiency
    assert part.engine_value("vllm", "request_overhead_s") == carry.factors["request_overhead_s"].value


def _size(profile_path, **inputs):
    from xlsizer.api import size
    from xlsizer.inputs import make_inputs

    base = {"model": "llama-3.1-8b", "gpu": "h100-sxm", "precision": "bf16", "serving_engine": "vllm",
            "avg_prompt_tokens": 2000, "calibration_profile": str(profile_path)}
    return size(make_inputs({**base, **inputs}))


def test_sizing_uses_profile_and_says_so(profile_path):
    from xlsizer.api import size
    from xlsizer.inputs import make_inputs

    plain = size(make_inputs({"model": "llama-3.1-8b", "gpu": "h100-sxm", "precision": "bf16",
                              "serving_engine": "vllm", "avg_prompt_tokens": 2000}))
    used = _size(profile_path)
    steps = {(s.scenario, s.name): s for s in used.explain()}
    assert steps[("burst", "Calibration profile")].value == "used"
    assert steps[("burst", "Profile: bandwidth_efficiency")].value == load_profile(profile_path).factors[
        "bandwidth_efficiency"].value
    # a slower memory system (0.70 of peak, not 0.91): fewer tokens per replica, more GPUs
    assert (used.scenarios["burst"].throughput_per_replica_tok_s
            < plain.scenarios["burst"].throughput_per_replica_tok_s)
    assert "profile" in used.confidence["source"]
    # in_step_share only explains benchmark runs (their clients' bunching): not listed as used
    names = {s.name for s in used.explain()}
    assert "Profile: queue_service_scale" in names and "Profile: in_step_share" not in names


def test_performance_rows_name_the_profile_where_it_applies(profile_path, tmp_path):
    # the rows computed with the team's factors must not cite the packaged fit alone, and the
    # mean TTFT row names the queue factor where the profile moved it from 1
    from xlsizer.engine.shared import S_PERF, S_PERF_PROFILE

    prof = load_profile(profile_path)
    prof.factors["queue_service_scale"].value = 1.5
    used = _size(_saved(prof, tmp_path / "q.yaml"))
    steps = {(s.scenario, s.name): s for s in used.explain()}
    for row in ("Throughput per replica", "Batch per replica", "TPOT at capacity", "TTFT at peak load"):
        assert steps[("burst", row)].source == S_PERF_PROFILE, row
    assert "service time x 1.5: the calibration profile's queue_service_scale" in steps[
        ("burst", "TTFT at peak load")].formula
    ignored = {(s.scenario, s.name): s for s in _size(profile_path, gpu="b200").explain()}
    assert ignored[("burst", "Throughput per replica")].source == S_PERF
    assert "queue_service_scale" not in ignored[("burst", "TTFT at peak load")].formula


def test_editing_a_loaded_profile_does_not_change_the_cached_one(profile_path):
    from xlsizer.calibrate.profile import shared_profile

    edited = load_profile(profile_path)
    edited.factors["request_overhead_s"].scope = "gpu+engine"
    edited.factors["queue_service_scale"].value = 3.0
    again = load_profile(profile_path)
    assert again.factors["request_overhead_s"].scope == "deployment"
    assert again.factors["queue_service_scale"].value == shared_profile(profile_path).factors[
        "queue_service_scale"].value != 3.0
    assert shared_profile(profile_path) is shared_profile(profile_path)  # what a sizing reads, cached


def test_a_profile_written_before_the_queue_factor_still_sizes(profile_path, tmp_path):
    # profiles from before queue_service_scale existed have no such factor: the physics' own
    # queue (1) is used, and the sizing is the same as with the factor at 1
    data = yaml.safe_load(profile_path.read_text(encoding="utf-8"))
    del data["factors"]["queue_service_scale"]
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_profile(old).calibration("all").queue_service_scale == 1.0
    at_one = load_profile(profile_path)
    at_one.factors["queue_service_scale"].value = 1.0
    one = _saved(at_one, tmp_path / "one.yaml")
    kw = dict(concurrent_users=3000, requests_per_user_per_minute=4, target_ttft_ms=800)
    assert _size(old, **kw).scenarios["burst"].total_gpus == _size(one, **kw).scenarios["burst"].total_gpus


def test_a_slower_prefill_queue_never_needs_fewer_gpus(profile_path, tmp_path):
    # the same profile with the scheduler holding waiting prompts longer (queue_service_scale):
    # under a TTFT target the replicas carry less, so the plan needs at least as many GPUs, and
    # more where the TTFT target binds; the profile's factor is shown with its packaged value
    prof = load_profile(profile_path)
    gpus = []
    for k in (0.5, 1.0, 2.0, 4.0):
        prof.factors["queue_service_scale"].value = k
        r = _size(_saved(prof, tmp_path / f"k{k}.yaml"), concurrent_users=3000, requests_per_user_per_minute=4,
                  avg_prompt_tokens=4000, avg_output_tokens=256, target_ttft_ms=800)
        gpus.append(r.scenarios["burst"].total_gpus)
        steps = {(s.scenario, s.name): s for s in r.explain()}
        assert steps[("burst", "Profile: queue_service_scale")].value == k
    assert gpus == sorted(gpus) and gpus[-1] > gpus[1], gpus


def test_moe_step_shares_use_the_profile(profile_path, tmp_path):
    # the shares of a MoE step that explain() shows come from the step the plan was sized on:
    # the profile's calibration, not the packaged one
    from xlsizer.engine.performance import step_shares

    prof = load_profile(profile_path)
    prof.deployment.model = "mixtral-8x7b"
    r = _size(_saved(prof, tmp_path / "moe.yaml"), model="mixtral-8x7b", avg_output_tokens=300)
    s = r.scenarios["burst"]
    perf = s.extra["perf"]
    cal = prof.calibration("all")
    kw = dict(pp=s.pp, ep=perf["ep"], engine="vllm", tuning=None)
    args = ("mixtral-8x7b", "h100-sxm", s.tp, "bf16", 2000, 300, perf["batch"])
    with_profile = step_shares(*args, **kw, calibration=cal)
    assert perf["moe_expert_gemm_share"] == pytest.approx(with_profile["expert_gemm"])
    assert with_profile["expert_gemm"] != pytest.approx(step_shares(*args, **kw)["expert_gemm"])


def test_sizing_partly_and_ignored(profile_path, tmp_path):
    part = _size(_carry_request_overhead(profile_path, tmp_path), model="qwen3-32b")
    assert {s.value for s in part.explain() if s.name == "Calibration profile"} == {"partly used"}
    assert {s.name for s in part.explain() if s.name.startswith("Profile:")} == {"Profile: request_overhead_s"}
    ign = _size(profile_path, gpu="b200")
    assert {s.value for s in ign.explain() if s.name == "Calibration profile"} == {"ignored"}
    assert any("calibration profile not used" in w for w in ign.warnings)


def test_extrapolation_warns_and_widens_band(profile_path):
    inside = _size(profile_path, avg_prompt_tokens=2000)
    outside = _size(profile_path, avg_prompt_tokens=30000)
    assert not any("extrapolating" in w for w in inside.warnings if "prompt tokens" in w)
    warn = [w for w in outside.warnings if w.startswith("extrapolating the calibration profile")]
    assert len(warn) == 1
    # one phrase per quantity, not one per scenario: the prompt length is the sizing's own
    assert warn[0].count("prompt tokens 30,000") == 1
    assert "baseline:" not in warn[0]
    assert "With the profile applied beyond its measured range" in outside.confidence["source"]
    width = {k: r.confidence["high"] - r.confidence["low"] for k, r in (("in", inside), ("out", outside))}
    assert width["out"] >= width["in"]


def test_size_cli_profile_flag(profile_path, capsys):
    assert main(["size", "--set", "model=llama-3.1-8b", "gpu=b200", "precision=bf16", "--profile",
                 str(profile_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["inputs"]["calibration_profile"] == str(profile_path)
    assert main(["size", "--set", "model=llama-3.1-8b", "--profile", str(profile_path) + ".missing"]) == 2
    assert "no such profile" in capsys.readouterr().err


def test_waterfall_cli_says_whether_the_profile_applied(profile_path, capsys):
    base = ["waterfall", "--set", "model=llama-3.1-8b", "precision=bf16", "serving_engine=vllm"]
    assert main([*base, "gpu=h100-sxm", "--profile", str(profile_path)]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("calibration profile used: ")
    # measured on an H100: a B200 sizing ignores it, and the table alone would not say so
    assert main([*base, "gpu=b200", "--profile", str(profile_path)]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("calibration profile ignored: ")


def test_report_with_profile(profile_path, tmp_path):
    from xlsizer.batch import report_project

    example = Path(__file__).parent.parent / "workbooks" / "examples" / "tc1-7b-copilot.xlsx"
    out = report_project(str(example), str(tmp_path / "r.md"), "md", profile=str(profile_path))
    assert out.failure is None
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Calibration profile" in text


def test_validate_with_profile(profile_path, tmp_path, capsys):
    rows = _model_rows(apply_factors(packaged_calibration(), "vllm", {"bandwidth_efficiency": 0.70,
                                                                      "request_overhead_s": 0.06}))
    csv_path = tmp_path / "runs.csv"
    cols = [c for c in rows[0] if not c.startswith("_")]
    csv_path.write_text(",".join(cols) + "\n" + "\n".join(",".join(r[c] for c in cols) for r in rows) + "\n",
                        encoding="utf-8")
    assert main(["validate", "--data", str(csv_path), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)["summary"]["median_ape"]
    assert main(["validate", "--data", str(csv_path), "--profile", str(profile_path), "--json"]) == 0
    with_profile = json.loads(capsys.readouterr().out)["summary"]["median_ape"]
    assert with_profile < 0.02 < plain


def test_factor_at_its_bound_is_said(tmp_path):
    # the SGLang sample's TPOTs taken 40% faster: faster than the packaged physics allows at the
    # datasheet bandwidth (the sample as measured sits near it, so a refit could move it either side)
    f = read_file(FIX / "sglang_bench_serving.jsonl", {"model": "llama-3.1-8b", "gpu": "h100-sxm", "tp": 1,
                                                      "weights_precision": "bf16"})
    for row in f.rows:
        if row["metric"] == "tpot_ms":
            row["value"] = str(float(row["value"]) * 0.6)
    prof, _ = build_profile([f], "2026-12-01")
    assert prof.factors["bandwidth_efficiency"].value == 1.0
    assert any("bandwidth_efficiency at its bound" in n for n in prof.measured["at_bounds"])
