"""The sizing search's bounds (issue 22's speed work): each must never fall below what the
full capacity solve finds, or the search would skip a configuration that could win."""

import math
import random
import zlib
from dataclasses import replace

import pytest

from xlsizer.catalog.loader import load_catalog
from xlsizer.engine.calibration import packaged_calibration
from xlsizer.engine.latency import POISSON, Arrivals, ttft_open
from xlsizer.engine.solver import (
    _configured,
    capacity_bound,
    slo_capacity,
    tpot_rate_bound,
    ttft_floor_bound,
    ttft_rate_bound,
)
from xlsizer.engine.step import (
    DEFAULT_TUNING,
    Tuning,
    _prefill_s,
    _step_s,
    decode_step_s,
    prefill_floor_s,
    step_floor_s,
    step_lines,
)
from xlsizer.errors import XlsizerError


def _max_rate(s, chunks, step, first, target, q, arr, qk=1.0):
    """The largest rate whose TTFT (``ttft_open``) meets the target, by fine bisection."""
    def ok(r):
        return ttft_open(r, s, chunks, step, q, arr, qk) + first <= target
    if not ok(0.0):
        return 0.0
    lo, hi = 0.0, 1.0 / (s * qk)
    for _ in range(80):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def test_ttft_rate_bound_is_an_upper_bound_and_tight():
    rng = random.Random(22)
    loosest = 0.0
    for _ in range(3000):
        s = 10 ** rng.uniform(-3, 1)
        chunks, step, first = rng.choice([1, 2, 5]), 10 ** rng.uniform(-3, -1), rng.uniform(0, 0.1)
        target = s * rng.uniform(0.5, 20)
        q = rng.choice([None, 50.0, 90.0, 95.0, 99.0, 99.9])
        arr = rng.choice([POISSON, Arrivals("bursty", rng.uniform(1.1, 10))])
        qk = rng.choice([1.0, 1.0, 0.3, 2.0, 3.7])  # a profile's queue_service_scale
        ub = ttft_rate_bound(s, chunks, step, first, 1, target, q, arr, qk)
        true = _max_rate(s, chunks, step, first, target, q, arr, qk)
        assert ub >= true * (1 - 1e-12), (s, chunks, step, first, target, q, arr, qk)
        if true > 0:
            loosest = max(loosest, ub / true - 1.0)
    assert loosest < 0.15  # tight enough to prune: three Newton-and-chord rounds


def test_ttft_rate_bound_with_spread_lengths_is_an_upper_bound():
    # the percentile of a wait plus a spread own time (latency.spread_quantile): the bound is
    # the prefill server's capacity, loose but never below the rate that meets the target
    rng = random.Random(23)
    for _ in range(150):
        s = 10 ** rng.uniform(-2, 0.5)
        chunks, step, first = rng.choice([1, 2, 5]), 10 ** rng.uniform(-3, -1), rng.uniform(0, 0.1)
        target = s * rng.uniform(0.5, 20)
        q = rng.choice([90.0, 95.0, 99.0, 99.9])
        arr = Arrivals(rng.choice(["poisson", "bursty"]), 1.0, rng.choice([0.3, 1.0, 2.0]))
        arr = arr._replace(scv=rng.uniform(1.1, 6)) if arr.kind == "bursty" else arr
        qk = rng.choice([1.0, 0.3, 2.0])
        ub = ttft_rate_bound(s, chunks, step, first, 1, target, q, arr, qk)
        assert ub >= _max_rate(s, chunks, step, first, target, q, arr, qk) * (1 - 1e-12)


def test_ttft_rate_bound_edges():
    assert ttft_rate_bound(1.0, 1, 0.01, 0.0, 1, 0.5, 95.0) == 0.0  # the prefill alone misses
    assert ttft_rate_bound(1.0, 1, 0.01, 0.0, 1, 5.0, 95.0, Arrivals("closed")) == math.inf
    assert ttft_rate_bound(0.0, 0, 0.01, 0.0, 1, 5.0, 95.0) == math.inf  # every prompt cached
    assert ttft_rate_bound(1.0, 1, 0.01, 0.0, 4, 5.0, None) == pytest.approx(
        4 * ttft_rate_bound(1.0, 1, 0.01, 0.0, 1, 5.0, None))  # one queue per attention rank


CASES = [  # (model, gpu, tp, pp, ep, precision): dense, MoE, stages, wide expert parallel
    ("llama-3.1-8b", "h100-sxm", 1, 1, 1, "fp8"),
    ("llama-3.3-70b", "h100-sxm", 4, 1, 1, "fp8"),
    ("llama-3.3-70b", "a100-80gb", 8, 2, 1, "bf16"),
    ("mixtral-8x7b", "h200", 2, 1, 1, "fp8"),
    ("deepseek-r1", "b200", 8, 1, 1, "fp8"),
    ("deepseek-r1", "b200", 1, 1, 8, "fp8"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-tp{c[2]}pp{c[3]}ep{c[4]}")
def test_floors_and_bounds_hold_against_the_full_solve(case):
    model, gpu, tp, pp, ep, prec = case
    cat = load_catalog()
    m, g = cat.model(model), cat.gpu(gpu)
    rng = random.Random(zlib.crc32(repr(case).encode()))  # the same cases every run
    # a team's profile that serves waiting prompts faster or slower than the physics
    cals = [None, replace(packaged_calibration(), queue_service_scale=0.5),
            replace(packaged_calibration(), queue_service_scale=2.5)]
    for i in range(40):
        cal = cals[i % 3]
        isl, osl = rng.randint(100, 16000), rng.randint(20, 3000)
        tpot = rng.choice([0.02, 0.04, 0.08])
        ttft = rng.choice([0.3, 1.0, 3.0, 10.0])
        q = rng.choice([None, 50.0, 95.0, 99.0])
        arr = rng.choice([POISSON, Arrivals("bursty", 4.0)])
        _, _, rep, st, prefill, step1 = _configured(m, g, tp, pp, ep, prec, None, "vllm", cal, isl, osl,
                                                    None, None)
        assert prefill_floor_s(rep, isl, st.prompt, DEFAULT_TUNING) <= prefill * (1 + 1e-12)  # (rounding)
        assert prefill == _prefill_s(rep, st)
        assert step_floor_s(rep, DEFAULT_TUNING) <= step1 <= _step_s(st, 64.0)
        kw = dict(pp=pp, ep=ep, target_ttft_s=ttft, slo_percentile=q, arrivals=arr, calibration=cal)
        cap = slo_capacity(m, g, tp, prec, isl, osl, tpot, **kw)
        tight = capacity_bound(m, g, tp, prec, isl, osl, **kw)
        loose = ttft_floor_bound(m, g, tp, prec, isl, **kw)
        assert cap.req_s <= tight.ttft_req_s * (1 + 1e-12)
        assert cap.req_s <= loose * (1 + 1e-12)
        if cap.feasible:
            assert tight.tpot_floor_s <= tpot and rep.kv_budget_bytes >= tight.seq_bytes
        assert tight.tpot_floor_s == pytest.approx(cap.tpot_floor_s)


def test_step_lines_and_decode_step_lie_under_the_step():
    """``step_lines`` (weights alone, math alone) and ``decode_step_s`` (no other prompts) are
    at most the step from one sequence on; the decode-only step is the step itself up to one
    sequence, where no other prompt shares it."""
    cat = load_catalog()
    rng = random.Random(24)
    for case in CASES:
        model, gpu, tp, pp, ep, prec = case
        for _ in range(10):
            isl, osl = rng.randint(50, 30000), rng.randint(1, 4000)
            st = _configured(cat.model(model), cat.gpu(gpu), tp, pp, ep, prec, None, "vllm", None, isl, osl,
                             None, None)[3]
            for b in (1.0, 1.5, 2.0, 7.3, 64.0, 900.0):
                s = _step_s(st, b)
                assert decode_step_s(st, b) <= s * (1 + 1e-12)
                for base, slope in step_lines(st):
                    assert base + slope * b <= s * (1 + 1e-12), (case, isl, osl, b)
            for b in (0.25, 1.0):
                assert decode_step_s(st, b) == pytest.approx(_step_s(st, b), rel=1e-12)


def test_tpot_rate_bound_is_an_upper_bound_on_the_full_solve():
    """Whatever the percentile, arrivals, TTFT target, drafter, cached prompt share, static
    batches and KV budget, ``tpot_rate_bound`` (closed form, no batch search) is never below the
    capacity the full solve finds: the search skips configurations on it. The long prompts with a
    few output tokens are the case where the full step's rate dips past one sequence (the other
    prompts at the mixed step's compute rate), which a bound on the full step would miss."""
    cat = load_catalog()
    rng = random.Random(25)
    models = ["llama-3.1-8b", "llama-3.3-70b", "qwen3-0.6b", "mixtral-8x7b", "deepseek-r1", "gpt-oss-120b",
              "qwen3-30b-a3b"]
    gpus = ["h100-sxm", "h200", "b200", "mi300x", "l40s", "a100-80gb"]
    checked = 0
    for _ in range(600):
        m, g = cat.model(rng.choice(models)), cat.gpu(rng.choice(gpus))
        tp, prec = rng.choice([1, 2, 4, 8]), rng.choice(["fp8", "bf16"])
        isl = float(rng.choice([rng.randint(1, 300), rng.randint(300, 4000), rng.randint(4000, 32000)]))
        osl = float(rng.choice([rng.randint(1, 30), rng.randint(30, 800), rng.randint(800, 8000)]))
        tpot = rng.choice([0.005, 0.01, 0.02, 0.04, 0.08, 0.2])
        a = rng.uniform(1.5, 3.5)
        kw = dict(engine=rng.choice(["vllm", "sglang", "tensorrt-llm"]),
                  prefill_tokens=rng.choice([None, None, isl * rng.random()]),
                  tuning=rng.choice([None, None, Tuning(decode_tokens_per_step=a + 1.0, accepted_tokens_per_step=a)]))
        budget = rng.choice([1e9, 1e10, 5e10, 2e11, 1e12])
        try:
            bound = tpot_rate_bound(m, g, tp, prec, isl, osl, tpot, **kw).at(budget)
            cap = slo_capacity(m, g, tp, prec, isl, osl, tpot, kv_budget_bytes=budget,
                               target_ttft_s=rng.choice([None, 0.2, 1.0, 5.0]),
                               slo_percentile=rng.choice([None, 50.0, 90.0, 99.0, 99.9]),
                               arrivals=rng.choice([POISSON, Arrivals("closed"), Arrivals("poisson", 1.0, 1.0, 1.0),
                                                    Arrivals("bursty", 4.0, 0.5)]),
                               static_output=(osl, 3 * osl) if rng.random() < 0.15 else None, **kw)
        except XlsizerError:
            continue  # a pairing the catalog refuses (format, memory)
        assert cap.req_s <= bound, (m.id, g.id, tp, prec, isl, osl, tpot, kw, budget)
        assert bound > 0.0 or not cap.feasible
        checked += 1
    assert checked > 300


def test_tpot_rate_bound_is_exact_where_no_prompt_shares_the_step_and_the_kv_budget_binds():
    """Every prompt token cached (no prefill mixed into decode steps) and a KV budget of three
    sequences: the full solve runs exactly the budget's batch, and the bound is its rate (to a
    hair above, for rounding); with room for one sequence fewer, both fall."""
    cat = load_catalog()
    m, g = cat.model("llama-3.3-70b"), cat.gpu("h100-sxm")
    st = _configured(m, g, 2, 1, 1, "fp8", None, "vllm", None, 8000.0, 500.0, 0.0, None)[3]
    budget = 3.5 * st.kv_reserved
    bound = tpot_rate_bound(m, g, 2, "fp8", 8000.0, 500.0, 0.2, prefill_tokens=0.0)
    cap = slo_capacity(m, g, 2, "fp8", 8000.0, 500.0, 0.2, kv_budget_bytes=budget, prefill_tokens=0.0)
    assert cap.batch == 3 and cap.binding == "memory capacity"
    assert bound.at(budget) == pytest.approx(cap.req_s, rel=1e-8)
    assert bound.at(2.5 * st.kv_reserved) < cap.req_s
    assert bound.at(0.5 * st.kv_reserved) == 0.0  # not one sequence fits
    assert tpot_rate_bound(m, g, 2, "fp8", 8000.0, 500.0, 0.001).at(budget) == 0.0  # below the floor
