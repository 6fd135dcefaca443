"""What every scenario of one sizing shares, computed once: the model's weights and KV, the
traffic, the optimizations' effects, the team's calibration profile, and the roofline search's
candidate table (built on first use)."""

from __future__ import annotations

from typing import Any

from xlsizer.calibrate.profile import calibration_for, shared_profile
from xlsizer.catalog.schema import GpuSpec, MeasuredResults, MeasuredStep, ModelSpec
from xlsizer.engine import memory, traffic
from xlsizer.engine.calibration import Calibration
from xlsizer.engine.layers import deployed_weights_bytes, routed_params
from xlsizer.engine.optimizations import Effects, effects
from xlsizer.inputs import SizingInputs
from xlsizer.resolve import output_tokens

S_PERF = ("xlsizer roofline model (docs/method.md, Capacity per replica), calibrated on published throughput "
          "measurements and published serving runs (NVIDIA aiconfigurator silicon sample)")
# where a team's calibration profile applies to the plan's GPU its fitted factors replace the
# packaged ones (the "Profile:" rows list them): the source must not name the packaged fit alone
S_PERF_PROFILE = ("xlsizer roofline model (docs/method.md, Capacity per replica), with the factors of the team's "
                  "calibration profile (the Profile rows) in place of the packaged fit")


class Shared:
    """Values every scenario of one sizing shares (computed once)."""

    __slots__ = ("act", "arr", "cals", "cands", "fx", "kv_plan", "kv_prec", "kv_read_min", "kv_req", "kv_res_min",
                 "kv_tok", "measured", "model", "optimistic", "out_tok", "profile", "prompt", "rps", "state", "t_req",
                 "ttft_s", "w", "w_active", "w_dense")

    def __init__(self, inp: SizingInputs, model: ModelSpec) -> None:
        self.model = model
        self.out_tok = output_tokens(inp, model)
        self.prompt = inp.avg_prompt_tokens
        self.arr = inp.arrival_process  # validated once: the search reads it per configuration
        self.ttft_s = inp.ttft_ms / 1000.0
        self.kv_prec = inp.kv_precision  # resolved once ('auto' by model and weights)
        kv_b = inp.kv_precision.bytes_per_element
        # a MoE at FP4 holds only its routed experts in 4 bits (memory.dense_weights_precision)
        self.w = deployed_weights_bytes(model, inp.precision)
        self.w_active = deployed_weights_bytes(model, inp.precision, model.active_params)
        self.w_dense = deployed_weights_bytes(model, inp.precision, model.total_params - routed_params(model))
        self.kv_tok = memory.kv_bytes_per_token(model, kv_b)
        self.kv_req = memory.kv_bytes_for_context(model, self.prompt + self.out_tok, kv_b)
        self.rps = traffic.requests_per_second(inp.concurrent_users, inp.requests_per_user_per_minute)
        self.t_req = self.out_tok * inp.tpot_ms / 1000.0
        self.act = memory.activations_bytes(self.w)
        self.fx: Effects = effects(inp, model, self.prompt, self.out_tok)
        # the roofline search's table (search.Cand), built on its first use; typed loosely
        # because search.py imports this module, and the package has no import circles
        self.cands: list[Any] | None = None
        # least KV a decoding sequence reads per step: its prompt's (for the search bounds)
        self.kv_read_min = memory.kv_bytes_for_context(model, self.prompt, kv_b)
        # KV reserved per request under the optimizations (paging, shared prefix, drafter): the
        # roofline memory plan's unit; the course-table mode keeps the course's prompt + output
        # (a hybrid's fixed state per sequence does not scale with the tokens reserved)
        self.state = memory.state_bytes_per_sequence(model)
        kv_only = self.kv_req - self.state
        self.kv_plan = self.state + kv_only * self.fx.kv_reserved_tokens / (self.prompt + self.out_tok)
        base = self.fx.kv_reserved_base if self.fx.kv_reserved_base is not None else self.prompt + self.out_tok
        self.kv_res_min = memory.kv_bytes_for_context(model, min(base, self.prompt + self.out_tok), kv_b)
        # issue 23: the team's calibration profile, applied per GPU (calibrate/profile.py ``applies``)
        self.profile = shared_profile(inp.calibration_profile) if inp.calibration_profile else None
        self.cals: dict[str, Calibration | None] = {}
        # scenario -> the GPU's measured-step finding its plan falls in (``_measured_step_warning``)
        self.measured: dict[str, MeasuredStep] = {}
        # scenario -> its GPU's finding that tuned results came out below the model's (``_measured_results_warning``)
        self.optimistic: dict[str, MeasuredResults] = {}

    def cal(self, g: GpuSpec, inp: SizingInputs) -> Calibration | None:
        """The calibration configurations on ``g`` use (None: the packaged one)."""
        if self.profile is None:
            return None
        if g.id not in self.cals:
            self.cals[g.id] = calibration_for(self.profile, self.model.id, g.id, inp.serving_engine.value,
                                              inp.precision.value)
        return self.cals[g.id]

    def perf_source(self, g: GpuSpec, inp: SizingInputs) -> str:
        """The readable source of the performance rows of a plan on ``g``: the packaged fit, or
        the team's profile where it applies to ``g``."""
        return S_PERF if self.cal(g, inp) is None else S_PERF_PROFILE
