"""The Sizer's "drivers" and "what would change the answer" lines (course.md §10.2).

Drivers explain the Burst scenario from its own numbers; each "what would change the answer"
line is a real re-sizing with one input changed (the course prints fixed bullets such as
"relaxing TPOT by 20 ms trims replicas 20-40%"; here the figure is computed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlsizer.catalog.loader import load_catalog
from xlsizer.engine.memory import upcast_release
from xlsizer.engine.optimizations import expected_tokens_per_step
from xlsizer.engine.pipeline import size
from xlsizer.engine.scenarios import RESILIENT_MIN_BURST, scenario_burst
from xlsizer.engine.solver import ENGINE_SEQS_BINDS, STATIC_BINDS
from xlsizer.errors import XlsizerError
from xlsizer.inputs import SizingInputs, ThroughputSource, make_inputs
from xlsizer.precision import Precision
from xlsizer.results import Scenario, SizingResult
from xlsizer.units import count, figure


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One changed input and the Burst scenario it gives (None and an error when infeasible)."""

    change: str
    replicas: int | None
    total_gpus: int | None
    error: str = ""
    gpu: str = ""
    """The GPU the re-sizing chose (under gpu=auto a changed input can move the choice)."""
    monthly: float | None = None
    """Monthly cost of the re-sized Burst scenario, in the project's currency (None without a price)."""

    def versus(self, now: Any) -> str:
        """This case against the current Burst scenario ``now``, in words: GPUs, the GPU when it
        changed and money, so fewer GPUs of a dearer kind never reads as a saving."""
        if self.total_gpus is None:
            return self.error
        detail = self.detail(now)
        head = f"{count(self.total_gpus, 'GPU')} ({self.total_gpus - now.total_gpus:+,d})"
        return head if not detail else f"{head} {detail}" if detail.startswith("of ") else f"{head}, {detail}"

    def detail(self, now: Any) -> str:
        """What the GPU count alone does not say: the GPU when it changed, and the monthly cost."""
        parts = [f"of {self.gpu} instead of {now.gpu}"] if self.gpu and self.gpu != now.gpu else []
        cost = now.extra.get("cost") if now.extra else None
        base = cost.get("monthly") if isinstance(cost, dict) else None
        if self.monthly is not None and base is not None:
            parts.append(f"{self.monthly:,.0f} {cost.get('currency', '')}/month ({self.monthly - base:+,.0f})")
        return ", ".join(parts)


def drivers(result: SizingResult) -> list[str]:
    """What sets the Burst answer, in the words of the course's "drivers" bullets."""
    inp, b = result.inputs, result.burst
    m = b.memory
    lines = [
        f"Model {inp.model} at {inp.precision.label}: {m.weights_gb:,.1f} GB of weights per replica",
        f"{count(round(b.traffic.inflight_requests), 'request')} in flight at burst x{inp.burst_factor:g} "
        f"({count(inp.concurrent_users, 'user')} x {inp.requests_per_user_per_minute:g} req/min): "
        f"{m.kv_total_gb:,.1f} GB of KV cache across the deployment"
        + (f" (of which {m.state_total_gb:,.1f} GB the fixed state of state-space / linear layers, "
           f"{m.state_per_request_gb * 1e3:,.1f} MB per request)" if m.state_total_gb else ""),
        f"TPOT target {inp.tpot_ms:g} ms and {b.traffic.demand_tok_s:,.0f} tok/s of demand: "
        f"{count(b.active_replicas, 'active replica')} of {b.gpus_per_replica}x {b.gpu} "
        f"at {b.throughput_per_replica_tok_s:,.0f} tok/s each",
        f"Redundancy {inp.redundancy_mode.value}: {count(b.replicas - b.active_replicas, 'spare replica')}",
    ]
    perf = b.extra.get("perf")
    if perf:
        # the replica at capacity (the table's "One replica at capacity"), not at this load
        lines.append(f"At capacity each replica runs {_sequences_text(b)} on average at "
                     f"{perf['tpot_ms']:.1f} ms per token; "
                     f"{perf['binding']} binds")
    spec = speculative_saving(result)
    if spec:
        lines.append(spec)
    return lines


def speculative_saving(result: SizingResult) -> str | None:
    """What switching speculative decoding on would save, re-sized, and why; None when it is
    already on, in the course's table mode, when nothing suggests it pays, or when the
    re-sizing saves neither GPUs nor money.

    It is tried where it can pay: the model ships its own draft head (multi-token-prediction
    layers: DeepSeek-V3/R1, GLM-5, Qwen3.5), or the TPOT target holds each replica to a batch
    whose step is bound by streaming the weights, so verifying k + 1 tokens per sequence
    costs little more than one and each accepted token saves a whole step."""
    inp, b = result.inputs, result.burst
    if inp.speculative_decoding or inp.throughput_source is not ThroughputSource.ROOFLINE:
        return None
    perf = b.extra.get("perf") if b.extra else None
    if not perf:
        return None
    try:
        mtp = load_catalog().model(inp.model).mtp_layers
    except XlsizerError:
        mtp = 0
    # a static batch below every limit (STATIC_BINDS) runs a small, usually weight-streaming
    # step, and a batch the engine's sequence limit holds (ENGINE_SEQS_BINDS) gains only by more
    # tokens per sequence per step: tried too (the line is shown only where the re-sizing saves)
    binding = perf.get("binding")
    streaming = binding in ("memory bandwidth", STATIC_BINDS, ENGINE_SEQS_BINDS)
    if not mtp and not streaming:
        return None
    try:
        on = resize(inp, speculative_decoding=True).burst
    except XlsizerError:
        return None
    cost, cost_on = b.extra.get("cost"), on.extra.get("cost") if on.extra else None
    monthly = cost.get("monthly") if isinstance(cost, dict) else None
    monthly_on = cost_on.get("monthly") if isinstance(cost_on, dict) else None
    saves_money = monthly is not None and monthly_on is not None and monthly_on < monthly
    if on.total_gpus >= b.total_gpus and not saves_money:
        return None
    k, alpha = int(inp.spec_draft_tokens), float(inp.spec_acceptance_rate)
    e_tok = expected_tokens_per_step(alpha, k)
    why = (f"{inp.model} ships {count(mtp, 'multi-token-prediction layer')} to draft with"
           if mtp else f"the serving engine's sequence limit holds each replica at {_sequences_text(b)}, "
           "so only more tokens per sequence per step add throughput"
           if binding == ENGINE_SEQS_BINDS else f"at TPOT {inp.tpot_ms:g} ms each replica's step is bound by "
           f"streaming the weights (a mean batch of {_mean_batch_text(b)})")
    money = ""
    if monthly is not None and monthly_on is not None:
        money = (f", {monthly_on:,.0f} instead of {monthly:,.0f} {cost.get('currency', '')}/month"
                 f" ({monthly_on - monthly:+,.0f})")
    gpu = f" {on.gpu}" if on.gpu != b.gpu else ""
    return (f"Speculative decoding would size this at {on.total_gpus:,}{gpu} GPUs instead of {b.total_gpus:,}"
            f"{money}: {why}; with {k} draft tokens at acceptance {alpha:g} each step verifies {k + 1} tokens "
            f"per sequence and keeps {e_tok:.2f} on average (Leviathan et al. 2023 eq. 1), so each replica "
            f"runs {_sequences_text(on)} on average within the "
            f"target. Switch it on in the Advanced step to size with it (the acceptance rate is an input: "
            f"measure it on your traffic).")


def _mean_batch_text(s: Scenario) -> str:
    """The mean batch a scenario's replica carries, as the text shows it: four significant
    digits with thousands separators (0.9749, 112.2, 5,233); '?' when unknown."""
    perf = (s.extra or {}).get("perf") or {}
    b = perf.get("mean_batch", perf.get("batch"))
    return "?" if b is None else figure(b, 4)


def _sequences_text(s: Scenario) -> str:
    """``_mean_batch_text`` with its noun: "1 sequence", "22.19 sequences"."""
    b = _mean_batch_text(s)
    return f"{b} sequence{'' if b == '1' else 's'}"


def scenario_story(result: SizingResult) -> str:
    """Why the three scenarios need different hardware, from their own numbers: the load each
    sizes for (burst factor, with the Resilient floor of course.md §10.3 step 12) and the spare
    replicas it adds."""
    inp = result.inputs
    parts = []
    for k, title in (("baseline", "Baseline"), ("burst", "Burst"), ("resilient", "Resilient")):
        s = result.scenarios[k]
        bf = scenario_burst(k, inp.burst_factor)
        load = ("the average load" if k == "baseline" else f"your peak (x{bf:g})" if k == "burst"
                else f"x{bf:g} (the larger of your x{inp.burst_factor:g} and its x{RESILIENT_MIN_BURST:g} floor)")
        spares = s.replicas - s.active_replicas
        parts.append(f"{title} sizes for {load}: ({s.active_replicas:,} active + {spares:,} spare) "
                     f"replica{'' if s.replicas == 1 else 's'} x {count(s.gpus_per_replica, 'GPU')} = "
                     f"{count(s.total_gpus, 'GPU')}")
    return "; ".join(parts) + "."


def resize(inputs: SizingInputs, **changes: Any) -> SizingResult:
    """The same sizing with some inputs changed (fields the user set are kept)."""
    data = inputs.model_dump(exclude_unset=True)
    data.update(changes)
    return size(make_inputs(data))


def what_ifs(inputs: SizingInputs) -> list[WhatIf]:
    """The course's "what would change the answer" bullets, each re-sized (Burst scenario)."""
    cases: list[tuple[str, dict[str, Any]]] = []
    try:  # weights held in more bytes than the release: the release as it ships (pipeline._upcast_warning)
        rel = upcast_release(load_catalog().model(inputs.model), inputs.precision)
    except XlsizerError:
        rel = None
    if rel is not None:
        cases.append((f"Weights as released ({rel.label} instead of {inputs.precision.label})",
                      {"precision": rel.value}))
    if inputs.gpu == "auto" and inputs.precision is Precision.FP4 and rel is None:
        # the automatic choice never picks a GPU without the weights' format (search._candidate_table):
        # at FP4 that leaves the B200 alone in its list, and a small model can cost several times a plan on
        # older GPUs at FP8 (qwen3-8b, 23 agentic users, burst: 2x b200 at 7,665 USD/month, 2x mi300x at 2,905)
        cases.append(("FP8 weights (FP4 keeps the automatic choice to GPUs with FP4 tensor cores)",
                      {"precision": Precision.FP8.value}))
    if not inputs.speculative_decoding:
        cases.append(("Speculative decoding on", {"speculative_decoding": True}))
    if inputs.throughput_source is ThroughputSource.ROOFLINE:  # prompts in their own pool, or not
        cases.append(("Disaggregated serving off" if inputs.disaggregated else
                      "Disaggregated serving (prefill and decode pools)", {"disaggregated": not inputs.disaggregated}))
    cases.append((f"TPOT target relaxed by 20 ms (to {inputs.tpot_ms + 20:g} ms)",
                  {"target_tpot_ms": min(1000.0, inputs.tpot_ms + 20)}))
    if inputs.tpot_ms - 20 >= 5:
        # the course's method can answer a tighter target with fewer GPUs (docs/method.md, "Answers
        # that must move the right way"): the line says why, where a planner would distrust it
        why = (" (the course's Little's law: shorter requests, fewer in flight, less KV)"
               if inputs.throughput_source is ThroughputSource.COURSE_TABLE else "")
        cases.append((f"TPOT target tightened by 20 ms (to {inputs.tpot_ms - 20:g} ms){why}",
                      {"target_tpot_ms": inputs.tpot_ms - 20}))
    if inputs.ttft_ms * 2 <= 10_000:  # the input's bound; a TTFT target that binds is a lever of its own
        cases.append((f"TTFT target doubled (to {inputs.ttft_ms * 2:,.0f} ms)", {"target_ttft_ms": inputs.ttft_ms * 2}))
    cases.append(("Concurrent users +50%", {"concurrent_users": min(100_000, inputs.concurrent_users * 1.5)}))
    if inputs.burst_factor > 1.5:
        cases.append((f"Burst factor {inputs.burst_factor - 0.5:g} instead of {inputs.burst_factor:g}",
                       {"burst_factor": inputs.burst_factor - 0.5}))
    if inputs.max_context_tokens > 16_384 and inputs.avg_prompt_tokens + (inputs.avg_output_tokens or 0) < 16_384:
        cases.append(("Context capped at 16K", {"max_context_tokens": 16_384}))
    out = []
    for label, ch in cases:
        try:
            b = resize(inputs, **ch).burst
            cost = b.extra.get("cost") if b.extra else None
            monthly = cost.get("monthly") if isinstance(cost, dict) else None
            out.append(WhatIf(label, b.replicas, b.total_gpus, gpu=b.gpu, monthly=monthly))
        except XlsizerError as exc:
            out.append(WhatIf(label, None, None, exc.short()))
    return out
