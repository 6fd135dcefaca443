"""The context a decoded token attends to when answers spread (``step.decode_context``): a long
answer carries more tokens and each at a longer context, so the tokens of all requests attend
to prompt + (1 + CV²) × answer / 2, not prompt + answer / 2. It set DeepSeek-R1's MLPerf Server
gap (docs/method.md, "DeepSeek-R1's Server gap is its answers' spread")."""

from __future__ import annotations

import pytest

from xlsizer.catalog import load_catalog
from xlsizer.engine import memory
from xlsizer.engine.latency import POISSON, Arrivals
from xlsizer.engine.performance import estimate
from xlsizer.engine.solver import _configured, slo_capacity
from xlsizer.engine.step import decode_context
from xlsizer.errors import InputError
from xlsizer.mlperf import predict


def test_the_mean_context_is_the_token_weighted_one():
    """Brute force over a three-length mix: every decoded token of every request, at its own
    context, averaged. The formula treats a request's L tokens as a continuum (L²/2 past the
    prompt), the sum as whole tokens (L(L + 1)/2): they differ by half a token."""
    prompt = 800
    mix = [(100, 0.5), (1_000, 0.3), (9_000, 0.2)]  # (answer tokens, share of requests)
    tokens = sum(p * length for length, p in mix)
    attended = sum(p * sum(prompt + t for t in range(1, length + 1)) for length, p in mix)
    mean = tokens
    var = sum(p * (length - mean) ** 2 for length, p in mix)
    cv = var ** 0.5 / mean
    assert decode_context(prompt, mean, cv) == pytest.approx(attended / tokens - 0.5, abs=1e-9)
    # equal answers: the middle of the one answer; the spread only adds
    assert decode_context(prompt, mean, 0.0) == prompt + mean / 2
    assert decode_context(prompt, mean, cv) > 2 * decode_context(prompt, mean, 0.0) - prompt


def test_spread_answers_read_more_kv_per_step_and_never_speed_it_up():
    """DeepSeek-R1 (no windowed layer) at MLPerf's lengths: each step reads the KV of the mean
    context, so the KV per sequence scales exactly by the contexts' ratio, and its step and the
    capacity at an 80 ms TPOT follow (more attention: a slower step, fewer requests/s)."""
    isl, osl, cv = 803.8, 3_750.0, 1.25
    key = ("deepseek-r1", "b200", 1, 1, 8, "fp4", None, "tensorrt-llm", None, isl, osl, None, None)
    flat = _configured(*key, POISSON)[3]
    spread = _configured(*key, Arrivals("poisson", 1.0, 0.5, cv))[3]
    ratio = decode_context(isl, osl, cv) / decode_context(isl, osl)
    assert spread.kv_read == pytest.approx(flat.kv_read * ratio, rel=1e-12)
    assert ratio == pytest.approx(2.09, abs=0.01)
    fast = estimate("deepseek-r1", "b200", 1, "fp4", isl, osl, 2_000, ep=8, engine="tensorrt-llm")
    slow = estimate("deepseek-r1", "b200", 1, "fp4", isl, osl, 2_000, ep=8, engine="tensorrt-llm", output_cv=cv)
    assert slow.tpot_s > fast.tpot_s
    caps = [slo_capacity("deepseek-r1", "b200", 1, "fp4", isl, osl, 0.08, ep=8, engine="tensorrt-llm",
                         slo_percentile=99.0, arrivals=Arrivals("poisson", 1.0, 0.5, c)).req_s
            for c in (0.0, 0.5, 1.0, 1.25)]
    assert caps == sorted(caps, reverse=True) and caps[-1] < caps[0]


def test_equal_answers_read_the_middle_answers_kv():
    """CV 0 (the default, and serving.csv's fixed-length runs): a step reads each sequence's KV
    at prompt + answer / 2, by hand from the model's FP8 KV per token; bursty arrivals with equal
    lengths read the same (the arrivals' kind shapes the queue, not the context)."""
    model = load_catalog().model("llama-3.1-8b")
    key = ("llama-3.1-8b", "h100-sxm", 1, 1, 1, "fp8", None, "vllm", None, 2_000.0, 400.0, None, None)
    by_hand = memory.kv_bytes_for_context(model, 2_000 + 400 / 2, 1)
    assert _configured(*key)[3].kv_read == by_hand
    assert _configured(*key, Arrivals("bursty", 4.0, 0.0))[3].kv_read == by_hand
    assert _configured(*key, Arrivals("poisson", 1.0, 0.0, 1.0))[3].kv_read == memory.kv_bytes_for_context(
        model, 2_000 + 400, 1)  # exponential-like answers (CV 1): prompt + answer


@pytest.mark.parametrize("bad", [-0.1, 4.5, True, "1", float("nan")])
def test_estimate_refuses_a_spread_it_cannot_take(bad):
    with pytest.raises(InputError, match="output_cv"):
        estimate("llama-3.1-8b", "h100-sxm", 1, "fp8", 2_000, 400, 8, output_cv=bad)


def test_mlperf_offline_ceilings_carry_the_answers_spread():
    """An Offline run keeps its batch full as answers end, so its steps see the same
    length-weighted context; the equal-length path (the sizer before issue 22) does not."""
    row = {"id": "t", "scenario": "Offline", "model": "deepseek-r1", "gpu": "b200", "gpu_count": "8",
           "precision": "fp4", "isl_mean": "803.8", "osl_mean": "3750", "engine": "tensorrt-llm"}
    spread, _ = predict(row, None)
    equal, _ = predict(row, None, percentile=None)
    assert spread < 0.8 * equal


def test_a_sizing_with_spread_answers_shows_the_context_and_buys_for_it():
    """DeepSeek-R1 FP4 on B200 at MLPerf-like lengths: answers spread as the dataset's (CV 1.25)
    attend to 800 + 2.5625 x 3,750 / 2 = 5,605 tokens, against 2,675 at equal lengths; the plan
    buys more GPUs for it and says why in explain(). Equal lengths and the course's table show
    no such row."""
    import xlsizer

    base = dict(model="deepseek-r1", gpu="b200", precision="fp4", concurrent_users=2000,
                avg_prompt_tokens=800, avg_output_tokens=3750)
    spread = xlsizer.size(**base, length_cv=1.25)
    equal = xlsizer.size(**base)
    rows = [e for e in spread.explain() if e.name == "Context per decoded token"]
    assert len(rows) == 1 and rows[0].value == pytest.approx(800 + 2.5625 * 3750 / 2)
    assert "2,675 tokens" in rows[0].formula
    assert spread.burst.total_gpus > equal.burst.total_gpus
    assert not [e for e in equal.explain() if e.name == "Context per decoded token"]
    course = xlsizer.size(**{**base, "concurrent_users": 100}, length_cv=1.25, throughput_source="course-table")
    assert not [e for e in course.explain() if e.name == "Context per decoded token"]


def test_equal_answers_are_questioned_where_attention_matters():
    """At length_cv 0 a sizing whose step leans on attention says what answers spread as an
    exponential's would do (DeepSeek-R1 at 3,750-token answers: a 24% longer step, each token at
    4,550 tokens instead of 2,675); a stated spread, or a short-answer chat, is not warned."""
    import xlsizer

    base = dict(model="deepseek-r1", gpu="b200", precision="fp4", concurrent_users=2000,
                avg_prompt_tokens=800, avg_output_tokens=3750)
    warned = [w for w in xlsizer.size(**base).warnings if "taken as all" in w]
    assert len(warned) == 1 and "4,550 tokens, not 2,675" in warned[0] and "24%" in warned[0]
    assert not [w for w in xlsizer.size(**base, length_cv=1.25).warnings if "taken as all" in w]
    chat = xlsizer.size(model="llama-3.1-8b", concurrent_users=500)
    assert not [w for w in chat.warnings if "taken as all" in w]
