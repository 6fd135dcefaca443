"""Sizing results: three scenarios, top-level warnings, confidence, and the explanation.

Results are pydantic models so that the JSON shape is declared in one place; the engine
builds them with ``model_construct`` (its numbers are already checked), which keeps a full
sizing fast enough for thousands of Excel cells.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from xlsizer.inputs import SizingInputs
from xlsizer.units import count

_M = TypeVar("_M", bound=BaseModel)

SCENARIOS: tuple[str, ...] = ("baseline", "burst", "resilient")


def build(cls: type[_M], **values: Any) -> _M:
    """Construct a result model from values the engine has already checked.

    Equivalent to pydantic's ``model_construct`` for models without defaults-to-fill or
    private attributes, at half its cost (this runs 13 times per sizing, and a workbook
    recalculates thousands of cells).
    """
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


class Step(BaseModel):
    """One link of the explanation chain."""

    model_config = ConfigDict(frozen=True)
    scenario: str = Field(description="baseline, burst, resilient, or 'all' for shared steps")
    name: str
    value: float | int | str
    unit: str
    formula: str
    source: str


class Memory(BaseModel):
    weights_gb: float
    kv_bytes_per_token: float
    kv_per_request_gb: float
    kv_total_gb: float
    state_per_request_gb: float = Field(
        0.0, description="fixed state of a hybrid's state-space / linear-attention layers per in-flight "
        "request, GB (included in kv_per_request_gb); 0 for attention-only models")
    state_total_gb: float = Field(0.0, description="that state for all in-flight requests, GB (in kv_total_gb)")
    activations_gb: float
    headroom_gb: float
    vram_gb: float


class Traffic(BaseModel):
    rps: float
    inflight_requests: float
    demand_tok_s: float


class Server(BaseModel):
    gpus: str
    cpu: str
    ram_gb: int
    nvme_tb: float
    nic: str


class Scenario(BaseModel):
    """One scenario's answer (Baseline, Burst or Resilient)."""

    name: str
    gpu: str
    gpu_name: str
    gpus_per_replica: int
    tp: int
    pp: int
    active_replicas: int
    replicas: int
    total_gpus: int
    servers: int
    replicas_per_server: int
    gpus_per_server: int
    shared_hosts: bool = Field(False, description=(
        "cloud: the hosts hold GPU slots the plan does not rent (the redundancy rule spread the replicas, "
        "anti-affinity); the provider shares them with other tenants, and it_kw, racks and cooling are the "
        "rented GPUs' share of full hosts, not the hosts whole"))
    throughput_per_replica_tok_s: float
    throughput_source: str
    memory: Memory
    traffic: Traffic
    server: Server
    racks: int
    kw_per_rack: float
    it_kw: float
    facility_kw: float
    pue: float
    cooling_tier: str
    fabric: str
    warnings: list[str]
    extra: dict[str, Any] = Field(default_factory=dict, description="later engine issues add keys here")


def replica_shape(s: Scenario) -> str:
    """How a scenario's replica splits the model over its GPUs: "TP=8", "TP=4, PP=2", or
    "DEP=8" for a wide expert-parallel replica (attention data-parallel, experts over its GPUs)."""
    ep = int((s.extra.get("perf") or {}).get("ep", 1) or 1)
    return f"DEP={s.gpus_per_replica}" if ep > 1 else f"TP={s.tp}" + (f", PP={s.pp}" if s.pp > 1 else "")


def headline_for(b: Scenario) -> str:
    """The headline sentence (Burst scenario): what to buy, then the cost basis (what is bought
    or rented and what it costs a month; engine/cost.py ``basis_sentence``)."""
    from xlsizer.engine.cost import basis_sentence

    s = "s" if b.servers != 1 else ""
    ep = int((b.extra.get("perf") or {}).get("ep", 1) or 1)
    # a wide expert-parallel replica runs attention data-parallel (TP=1 per rank): "TP=1" alone
    # read as one GPU's worth of parallelism on an 8-GPU replica
    shape = replica_shape(b) + (f": attention data-parallel, experts over {ep} GPUs" if ep > 1 else "")
    perf0 = b.extra.get("perf") or {}
    if "prefill_replicas" in perf0:  # disaggregated: the replicas by role
        shape += (f"; disaggregated: {perf0['prefill_replicas']:,} prefill + {perf0['decode_replicas']:,} decode"
                  f" active")
    deps = int(((b.extra.get("optimizations") or {}).get("lora") or {}).get("deployments", 1))
    if deps > 1:  # fine-tuned variants without LoRA: why N+1 shows several spares
        shape += f"; {deps:,} deployments, one per fine-tuned variant, each with its own spares"
    reps = (f"{count(b.total_gpus, 'GPU')} across {count(b.replicas, 'replica')}"
            f" of {b.gpus_per_replica}x {b.gpu} ({shape})")
    if b.shared_hosts:  # cloud renting GPUs on hosts shared with other tenants: no whole servers to plan on
        per = "one" if b.replicas_per_server == 1 else f"at most {b.replicas_per_server:,}"
        text = (f"Plan on {reps}, {per} per host (anti-affinity), on {b.servers:,} shared {b.gpus_per_server}x"
                f" {b.gpu_name} host{s}; the GPUs' share: {b.it_kw:,.1f} kW IT / {b.facility_kw:,.1f} kW facility,"
                f" {b.cooling_tier}.")
    else:
        text = (f"Plan on {b.servers:,} server{s} of {b.gpus_per_server}x {b.gpu_name} - {reps},"
                f" {b.it_kw:,.1f} kW IT / {b.facility_kw:,.1f} kW facility, {b.cooling_tier}.")
    perf = b.extra.get("perf")
    if perf and "slo_percentile" in perf:
        from xlsizer.engine.slo import slo_sentence

        text += " " + slo_sentence(perf)
    cost = b.extra.get("cost")
    if cost:
        text += " " + basis_sentence(cost, b.gpu_name, b.gpus_per_server)
    return text


class SizingResult(BaseModel):
    """The answer to one set of inputs."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    inputs: SizingInputs
    scenarios: dict[str, Scenario]
    warnings: list[str]
    confidence: dict[str, Any]
    headline: str
    steps: list[tuple[Any, ...]] = Field(default_factory=list, exclude=True, repr=False)
    """Raw explanation records: (scenario, name, value, unit, formula, source) or
    (scenario, name, value, unit, formula template, template args, source); formatted on demand."""

    def explain(self) -> list[Step]:
        """The ordered chain of steps: name, value, unit, formula, source (per scenario)."""
        out = []
        for rec in self.steps:
            if len(rec) == 7:
                s, n, v, u, fmt, args, src = rec
                f = fmt.format(*args)
            else:
                s, n, v, u, f, src = rec
            if isinstance(v, float):
                v = round(v, 6)
            out.append(Step(scenario=s, name=n, value=v, unit=u, formula=f, source=src))
        return out

    @property
    def baseline(self) -> Scenario:
        return self.scenarios["baseline"]

    @property
    def burst(self) -> Scenario:
        return self.scenarios["burst"]

    @property
    def resilient(self) -> Scenario:
        return self.scenarios["resilient"]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (see README)."""
        scen = {}
        for k, s in self.scenarios.items():
            d = s.model_dump(exclude={"extra"})
            d.update(s.extra)
            scen[k] = d
        return {
            "inputs": self.inputs.model_dump(mode="json"),
            "scenarios": scen,
            "headline": self.headline,
            "warnings": list(self.warnings),
            "confidence": dict(self.confidence),
            "explain": [st.model_dump() for st in self.explain()],
        }
