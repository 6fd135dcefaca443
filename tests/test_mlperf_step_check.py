"""scripts/mlperf_step_check.py reads public LoadGen logs and system names; its parsing is
what a wrong GPU count would silently skew (Little's law divides by it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "mlperf_step_check.py"
_spec = importlib.util.spec_from_file_location("mlperf_step_check", SCRIPT)
assert _spec is not None and _spec.loader is not None
step_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(step_check)


def test_system_names_give_the_gpu_and_its_count_not_the_cpus():
    # AMD names count CPUs too ("2xEPYC"): the GPUs' count is the one beside the GPU
    assert step_check.gpu_count("8xMI355X_2xEPYC_9575F") == 8
    assert step_check.gpu_count("87xMI355X_22xEPYC_9575F") == 87
    assert step_check.gpu_count("Cisco_UCS_16xMI350x") == 16
    assert step_check.gpu_count("HPE_ProLiant_XD685_B200_SXM_192GBx8_TRT") == 8
    assert step_check.gpu_count("GB300-NVL72_GB300-288GB_aarch64x72_TRT") == 72
    assert step_check.gpu_of("GB300-NVL72_GB300-288GB_aarch64x72_TRT") == "gb300"  # not b300
    assert step_check.gpu_of("XE7740_H200_NVL_141GBx8_TRT") == "h200-nvl"  # not the SXM part
    assert step_check.gpu_of("Cisco_UCS_16xMI350x") == "mi350x"
    assert step_check.gpu_of("1-node-4x-BMG-B60") is None  # not in the catalog: skipped


def test_loadgen_detail_lines_are_read_as_numbers():
    log = (':::MLLOG {"key": "result_completed_samples_per_sec", "value": 224.726, "time_ms": 1}\n'
           ':::MLLOG {"key": "result_time_to_output_token_mean", "value": 35422818, "time_ms": 2}\n'
           ':::MLLOG {"key": "result_validity", "value": "VALID", "time_ms": 3}\n'
           ':::MLLOG {"key": "result_token_throughput", "value": 2.81492e-08, "time_ms": 4}\n')
    v = step_check.log_values(log)
    assert v == {"result_completed_samples_per_sec": 224.726, "result_time_to_output_token_mean": 35422818.0,
                 "result_token_throughput": 2.81492e-08}


def test_configs_give_the_replica_and_drafting_runs_are_known():
    """DeepSeek-R1's MLPerf configs state tp 8 with attention data parallelism: the replica is
    the expert-parallel group of 8 ranks (the sizer's wide replica, tp 1), not TP=8; a dense
    config's tp is the replica; an MTP config is left out (its TPOT is not one step)."""
    dep = ("llm_fields.trtllm_build_flags: {\n    'enable_attention_dp': True,\n},\n"
           "llm_fields.tensor_parallelism: 8,\nllm_fields.moe_expert_parallelism: 8,\n")
    assert step_check.config_shape(dep) == (8, 8)
    assert step_check.config_shape("llm_fields.tensor_parallelism: 4,\n") == (4, 1)
    assert step_check.config_shape(dep.replace("True", "False")) == (8, 1)
    assert step_check.config_shape("") is None
    assert step_check.speculative("llm_fields.speculative_decoding: {'num_nextn_predict_layers': 3}")
    assert not step_check.speculative(dep)


def test_the_limits_a_run_sits_at_are_named_from_its_p99s():
    """A p99 at 0.9 of its limit or more binds; the spread table counts which ones do."""
    assert step_check.binds(0.95, 0.5) == "TTFT"
    assert step_check.binds(0.3, 0.9) == "TPOT"
    assert step_check.binds(1.0, 0.99) == "TTFT+TPOT"
    assert step_check.binds(0.89, 0.2) == "neither"


def test_the_models_spread_at_its_capacity_is_a_percentile_over_a_mean():
    """The model side of the spread table, on the case of the LoadGen log in docs/method.md:
    llama2-70b Interactive on one B200 at FP4 (TTFT 450 ms, TPOT 40 ms at p99). Both ratios are
    above 1 (a p99 over a mean) and the TPOT's is the capacity's own p99 over its mean step."""
    spread = step_check.model_spread("llama-2-70b", "b200", 1, 1, "fp4", 222.3, 272.0, 0.45, 0.04, "tensorrt-llm")
    assert spread is not None
    ttft, tpot, bound = spread
    assert 1.2 < ttft < 4.0 and 1.0 < tpot < 1.3
    assert "TPOT" in bound  # the run binds at its TPOT limit, as the measured one does (p99 38.1 of 40 ms)
    # a limit no single sequence meets: no capacity, no spread
    assert step_check.model_spread("llama-2-70b", "b200", 1, 1, "fp4", 222.3, 272.0, 0.45, 0.001,
                                   "tensorrt-llm") is None
