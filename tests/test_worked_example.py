"""The course's worked example (course.md §6): bank RAG assistant, Llama 3.3 70B, FP8
weights and KV, 80 users x 4 rpm, 6,000 + 250 tokens, TPOT 40 ms, burst 2.5, N+1.

The course rounds KV per request to 1 GB (it is 163,840 B x 6,250 = 1.024 GB) and the
in-flight count to 133 (it is 133.3); xlsizer keeps the unrounded values, so KV total and
VRAM land ~2-3% above the course's hand figures. Tolerances below say exactly that much.
"""

import pytest

from xlsizer import size

WORKED = dict(
    workload_type="rag", model="llama-3.3-70b", precision="fp8", kv_cache_dtype="fp8",
    avg_prompt_tokens=6000, avg_output_tokens=250, max_context_tokens=32768,
    concurrent_users=80, requests_per_user_per_minute=4, target_ttft_ms=500,
    target_tpot_ms=40, burst_factor=2.5, redundancy_mode="N+1", serving_engine="vllm",
    throughput_source="course-table",
)


@pytest.fixture(scope="module")
def burst():
    return size(**WORKED).burst


def test_weights_70_gb(burst):
    assert burst.memory.weights_gb == pytest.approx(70.0)


def test_kv_per_token_and_request(burst):
    assert burst.memory.kv_bytes_per_token == 163_840
    assert burst.memory.kv_per_request_gb == pytest.approx(1.024)  # course: "≈ 1 GB"


def test_rps_and_inflight(burst):
    assert burst.traffic.rps == pytest.approx(80 * 4 / 60)  # 5.33
    assert burst.traffic.inflight_requests == pytest.approx(133.33, abs=0.01)  # course: 133
    assert round(burst.traffic.inflight_requests) == 133


def test_kv_total_activations_headroom_vram(burst):
    m = burst.memory
    assert m.kv_total_gb == pytest.approx(133.33 * 1.024, rel=1e-3)  # 136.5; course 133 (1 GB/request)
    assert m.kv_total_gb == pytest.approx(133, rel=0.03)
    assert m.activations_gb == pytest.approx(3.5)
    assert m.headroom_gb == pytest.approx(0.25 * (70 + m.kv_total_gb + 3.5))
    assert m.vram_gb == pytest.approx(1.25 * (70 + m.kv_total_gb + 3.5))
    assert m.vram_gb == pytest.approx(258, rel=0.03)  # course: "about 258 GB"


def test_precision_gate_keeps_a100_and_l40s_out(burst):
    assert burst.gpu not in ("a100-80gb", "l40s")


def test_explain_chain_has_every_step():
    r = size(**WORKED)
    names = [s.name for s in r.explain() if s.scenario in ("all", "burst")]
    for step in ("Weights", "KV bytes per token", "KV per request", "RPS", "In-flight requests",
                 "KV total", "Activations", "Headroom", "VRAM", "Bandwidth needed", "GPU",
                 "Throughput per replica", "Replicas", "Servers", "IT power", "Facility power"):
        assert step in names, step
    for s in r.explain():
        assert s.unit is not None and s.formula and s.source


def test_demand_and_bandwidth(burst):
    assert burst.traffic.demand_tok_s == pytest.approx(80 * 4 / 60 * 6250 * 2.5)  # ≈ 83,000
    r = size(**WORKED)
    bw = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Bandwidth needed")
    assert bw.value == pytest.approx((70 + r.burst.memory.kv_total_gb) / 0.040, rel=1e-6)  # ≈ 5.1 TB/s


def test_course_default_trace_with_precision_gate():
    """course.md §10.4: the Sizer's default input as its UI sends it (KV FP16). The course's
    engine, with the precision gate added, gives VRAM 154.1 / 296.7 / 308.5 GB and
    3x2, 5x4, 6x4 H100 SXM. xlsizer's baseline is 0.4 GB lower because it does not round the
    in-flight count up (66.7 vs 67)."""
    r = size(throughput_source="course-table", kv_cache_dtype="fp16")
    vram = {k: s.memory.vram_gb for k, s in r.scenarios.items()}
    assert vram["baseline"] == pytest.approx(154.1, abs=0.5)
    assert vram["burst"] == pytest.approx(296.7, abs=0.05)
    assert vram["resilient"] == pytest.approx(308.5, abs=0.05)
    shape = {k: (s.gpu, s.gpus_per_replica, s.replicas) for k, s in r.scenarios.items()}
    assert shape == {"baseline": ("h100-sxm", 2, 3), "burst": ("h100-sxm", 4, 5), "resilient": ("h100-sxm", 4, 6)}
    assert r.burst.throughput_per_replica_tok_s == pytest.approx(3250 * 2 * 0.85 / 0.92)  # 6,005 tok/s
    assert r.burst.traffic.demand_tok_s == pytest.approx(20_000)


def test_worked_example_fp8_kv_trace():
    """course.md §10.4, M6 inputs with FP8 KV: burst 15 x 4 H100, baseline 11 x 2, resilient 19 x 4."""
    r = size(**WORKED)
    shape = {k: (s.gpus_per_replica, s.replicas) for k, s in r.scenarios.items()}
    assert shape == {"baseline": (2, 11), "burst": (4, 15), "resilient": (4, 19)}
