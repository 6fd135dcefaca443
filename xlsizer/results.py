"""Sizing results: three scenarios, top-level warnings, confidence, and the explanation.

Results are pydantic models so that the JSON shape is declared in one place; the engine
builds them with ``model_construct`` (its numbers are already checked), which keeps a full
sizing fast enough for thousands of Excel cells.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from xlsizer.inputs import SizingInputs

SCENARIOS: tuple[str, ...] = ("baseline", "burst", "resilient")


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


class SizingResult(BaseModel):
    """The answer to one set of inputs."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    inputs: SizingInputs
    scenarios: dict[str, Scenario]
    warnings: list[str]
    confidence: dict[str, Any]
    headline: str
    _steps: list[tuple[str, str, Any, str, str, str]] = PrivateAttr(default_factory=list)

    def explain(self) -> list[Step]:
        """The ordered chain of steps: name, value, unit, formula, source (per scenario)."""
        return [Step(scenario=s, name=n, value=v, unit=u, formula=f, source=src)
                for (s, n, v, u, f, src) in self._steps]

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
