"""Where tuned systems measured a slower decode step than the model's (``GpuSpec.measured_step``,
docs/method.md "What the latency-bound scenarios still miss"), a sizing in that range says so:
the HGX B200 / B300 step at a few hundred sequences per replica is 1.13-1.55x the model's in the
MLPerf v5.1 and v6.0 logs, the MI300X / MI325X / MI350X step at Interactive loads 1.11-1.31x, and
a plan that leans on it would buy too few GPUs without a word."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from xlsizer.calibrate.profile import FACTORS, Deployment, Factor, Profile, dump_profile
from xlsizer.catalog.loader import load_catalog
from xlsizer.catalog.schema import MeasuredStep
from xlsizer.engine.calibration import packaged_calibration
from xlsizer.engine.pipeline import size
from xlsizer.inputs import make_inputs

BASE = {"model": "llama-3.1-70b", "precision": "fp4", "serving_engine": "vllm", "concurrent_users": 2000,
        "throughput_source": "roofline"}


INSIDE = {**BASE, "gpu": "b200", "target_tpot_ms": 60, "avg_prompt_tokens": 600, "avg_output_tokens": 300}
"""A B200 plan whose replicas run about 340 sequences: inside the measured range."""


def _flagged(result) -> dict[str, tuple[int, bool]]:
    """Per scenario: (sequences per replica, whether its warnings carry the measured-step note)."""
    return {name: (s.extra["perf"]["batch"], any("tuned MLPerf systems" in w for w in s.warnings))
            for name, s in result.scenarios.items()}


def test_b200_in_the_measured_range_says_the_plan_is_optimistic() -> None:
    m = load_catalog().gpu("b200").measured_step
    assert m is not None and m.ratio_low > 1.0
    r = size(make_inputs(INSIDE))
    flagged = _flagged(r)
    # the note follows the batch each scenario runs: inside the measured range, and only there
    for batch, said in flagged.values():
        assert said == (m.sequences_low <= batch <= m.sequences_high), flagged
    assert any(said for _, said in flagged.values()), flagged
    note = next(w for w in r.warnings if "tuned MLPerf systems" in w)
    assert f"{m.ratio_low:g}-{m.ratio_high:g}x" in note and "xlsizer calibrate" in note


def test_no_note_outside_the_range_or_on_a_gpu_without_the_finding() -> None:
    tight = size(make_inputs({**BASE, "gpu": "b200", "target_tpot_ms": 20}))  # a few dozen sequences
    low = load_catalog().gpu("b200").measured_step.sequences_low
    assert all(batch < low and not said for batch, said in _flagged(tight).values())
    assert load_catalog().gpu("h200-sxm").measured_step is None
    hopper = size(make_inputs({**BASE, "gpu": "h200-sxm", "precision": "fp8", "target_tpot_ms": 80}))
    assert not any(said for _, said in _flagged(hopper).values())


def test_an_amd_plan_in_its_measured_range_says_so_too() -> None:
    # the v5.1 MI325X Interactive logs: 68-78 sequences per replica at 1.11-1.20x the model's step
    m = load_catalog().gpu("mi325x").measured_step
    assert m is not None and (m.sequences_low, m.sequences_high) == (68, 78)
    inside = {**BASE, "precision": "fp8", "gpu": "mi325x", "target_tpot_ms": 35, "avg_prompt_tokens": 300,
              "avg_output_tokens": 300}
    flagged = _flagged(size(make_inputs(inside)))
    assert all(said == (m.sequences_low <= batch <= m.sequences_high) for batch, said in flagged.values())
    assert any(said for _, said in flagged.values()), flagged
    assert load_catalog().gpu("mi355x").measured_step is None  # its v6.0 Interactive logs: 0.95-0.98x


def _profile(tmp_path, model: str, gpu: str, precision: str) -> str:
    """A team's profile for ``gpu`` with the packaged values (only its presence matters here)."""
    cal = packaged_calibration()
    prof = Profile(deployment=Deployment(model=model, gpu=gpu, engine="vllm", weights_precision=precision,
                                         gpu_count=1, tp=1),
                   factors={f.name: Factor(value=cal.engine_value("vllm", f.name),
                                           packaged=cal.engine_value("vllm", f.name)) for f in FACTORS},
                   range={})
    path = tmp_path / f"{gpu}.yaml"
    path.write_text(dump_profile(prof), encoding="utf-8")
    return str(path)


def test_a_teams_profile_for_the_gpu_replaces_the_note(tmp_path) -> None:
    # the team's own runs on this GPU replace the packaged step, so the public finding is not repeated
    path = _profile(tmp_path, "llama-3.1-70b", "b200", "fp4")
    inputs = INSIDE
    assert any(said for _, said in _flagged(size(make_inputs(inputs))).values())
    with_profile = size(make_inputs({**inputs, "calibration_profile": path}))
    assert not any(said for _, said in _flagged(with_profile).values())


def test_measured_step_ranges_must_be_ordered() -> None:
    ok = {"sequences_low": 240, "sequences_high": 831, "ratio_low": 1.24, "ratio_high": 1.49, "source": "logs"}
    assert MeasuredStep.model_validate(ok).ratio_high == 1.49
    for bad in ({"sequences_low": 900}, {"ratio_low": 1.6}, {"ratio_high": 0.0}, {"ratio_low": 1.0}):  # 1.0: not slower
        with pytest.raises(ValidationError):
            MeasuredStep.model_validate({**ok, **bad})


def test_the_burst_plans_band_reaches_the_measured_step() -> None:
    from xlsizer.engine.calibration import confidence_band
    from xlsizer.summary import confidence_range

    m = load_catalog().gpu("b200").measured_step
    low, high, _ = confidence_band("llama-3.1-70b", "vllm")
    inputs = {**BASE, "gpu": "b200", "avg_prompt_tokens": 1000}
    inside = size(make_inputs({**inputs, "target_tpot_ms": 60}))  # about 310 sequences per replica
    assert m.sequences_low <= inside.scenarios["burst"].extra["perf"]["batch"] <= m.sequences_high
    # a step 1.30x the model's carries at most 1 / 1.30 of the predicted rate
    assert inside.confidence["low"] == pytest.approx(1.0 / m.ratio_high - 1.0)
    assert inside.confidence["low"] < low
    assert inside.confidence["high"] == high and "measured_step" in inside.confidence["source"]
    total = inside.scenarios["burst"].total_gpus
    assert confidence_range(inside)[0][1] >= total * m.ratio_high - 1e-9  # the range reaches 1.30x the GPUs
    outside = size(make_inputs({**inputs, "target_tpot_ms": 40}))  # about 190: below the measured range
    assert outside.scenarios["burst"].extra["perf"]["batch"] < m.sequences_low
    assert (outside.confidence["low"], outside.confidence["high"]) == (low, high)


# --- a GPU the model is optimistic on (``GpuSpec.measured_results``) -------------------------------

L40S = {"model": "llama-3.1-8b", "precision": "fp8", "serving_engine": "vllm", "gpu": "l40s",
        "concurrent_users": 200, "throughput_source": "roofline"}


def _says_optimistic(result) -> dict[str, bool]:
    return {name: any("every MLPerf result on this GPU" in w for w in s.warnings)
            for name, s in result.scenarios.items()}


def test_every_plan_on_the_l40s_says_tuned_results_came_out_below_the_model() -> None:
    # every L40S result validate predicts measured 0.53-0.83 of the prediction (Dell, HPE, Red Hat)
    r_l40s = load_catalog().gpu("l40s").measured_results
    assert r_l40s is not None and r_l40s.ratio_high < 0.85 and r_l40s.submitters >= 2
    r = size(make_inputs(L40S))
    assert all(_says_optimistic(r).values())
    note = next(w for w in r.warnings if "every MLPerf result on this GPU" in w)
    assert f"{r_l40s.ratio_low:g}-{r_l40s.ratio_high:g}" in note and "1.9x" in note and "xlsizer calibrate" in note
    assert sum("every MLPerf result on this GPU" in w for w in r.warnings) == 1  # one note for the three scenarios
    # the band's low side reaches the lowest result: a plan that carries 0.53 of its rate needs 1 / 0.53 the GPUs
    assert r.confidence["low"] == pytest.approx(r_l40s.ratio_low - 1.0)
    assert "measured_results" in r.confidence["source"]


def test_no_such_note_on_gpus_without_the_finding_or_with_a_teams_profile(tmp_path) -> None:
    assert [g.id for g in load_catalog().gpus.values() if g.measured_results is not None] == ["l40s"]
    h100 = size(make_inputs({**L40S, "gpu": "h100-sxm"}))
    assert not any(_says_optimistic(h100).values())
    own = size(make_inputs({**L40S, "calibration_profile": _profile(tmp_path, "llama-3.1-8b", "l40s", "fp8")}))
    assert not any(_says_optimistic(own).values())  # the team's runs on this GPU replace the public finding
    course = size(make_inputs({**L40S, "throughput_source": "course-table"}))
    assert not any(_says_optimistic(course).values())  # the course's fixed table is not the model validated


def test_measured_results_must_be_below_the_mark_ordered_and_from_two_submitters() -> None:
    from xlsizer.catalog.schema import MeasuredResults

    ok = {"ratio_low": 0.53, "ratio_high": 0.83, "results": 6, "submitters": 3, "source": "validate"}
    assert MeasuredResults.model_validate(ok).results == 6
    for bad in ({"ratio_high": 0.9}, {"ratio_low": 0.84, "ratio_high": 0.6}, {"submitters": 1}, {"results": 0}):
        with pytest.raises(ValidationError):
            MeasuredResults.model_validate({**ok, **bad})
