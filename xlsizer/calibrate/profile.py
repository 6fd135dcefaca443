"""A calibration profile: a team's own measurements folded into the performance model.

``xlsizer calibrate`` fits a few physically meaningful factors on one deployment's measured
runs (``fit.py``) and writes them with their provenance to a readable YAML file; this module
reads such a file and turns it into the ``Calibration`` a sizing uses. It imports nothing
above the engine, so the pipeline can apply a profile without import circles.

What each factor replaces: the packaged fitted constant of the same name
(``engine/calibration.py`` ``Calibration``; values and provenance in
``catalog/data/calibration.yaml``). The per-engine constants (overheads) replace the packaged
value for the profile's engine only.

Where a profile applies (``applies``):
- ``used``: the sizing's model, GPU and engine are the profile's (any GPU count: the factors
  are per GPU and per step, the parallelism is modelled);
- ``partly used``: same GPU and engine, another model (or weight precision): only the factors
  whose ``scope`` in the profile is ``gpu+engine`` carry. ``xlsizer calibrate`` scopes every
  factor to its deployment: carried to another model on the same GPU and engine, none of them
  made the public runs' predictions better (most made them worse; scripts/calibrate_holdout.py,
  docs/calibrate.md section 5), so by default another model ignores the profile. A team that
  knows a factor is its stack's, not its model's (a gateway's request overhead), sets that
  factor's ``scope: gpu+engine`` in the YAML;
- ``ignored``: another GPU or engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xlsizer.catalog.loader import load_catalog
from xlsizer.engine.calibration import ENGINE_CONSTANTS, Calibration, packaged_calibration
from xlsizer.errors import XlsizerError

PROFILE_VERSION = 1
"""Format version written into every profile (``profile_version``)."""


@dataclass(frozen=True, slots=True)
class FactorSpec:
    """One fitted factor: the packaged constant it replaces and what the fit may do with it."""

    name: str
    unit: str
    meaning: str
    scope: Literal["gpu+engine", "deployment"]
    """``gpu+engine``: carried to another model on the same GPU and engine; ``deployment``:
    only for the profile's own model."""
    low: float
    high: float
    """Bounds of the fit, in ``unit``: what is physically possible, not what is plausible."""
    prior_sigma: float
    """How far the fit may move from the packaged value before the prior pulls back, as a
    standard deviation: of log(value) for efficiencies, in ``unit`` for overheads (a
    judgement call: wide enough that a few runs can move it, narrow enough that a factor the
    runs cannot see stays near the packaged fit)."""
    log: bool
    """True: fitted on log(value) (a multiplicative efficiency); False: on the value."""
    sizing: bool = True
    """False: the factor only explains benchmark runs and a sizing never uses it (so a sizing's
    explanation does not list it among the factors it used)."""


FACTORS: tuple[FactorSpec, ...] = (
    # Efficiencies: a fraction of the GPU's datasheet peak; above 1 is impossible, below 0.05
    # is a broken run, not an efficiency.
    FactorSpec("bandwidth_efficiency", "fraction of peak memory bandwidth",
               "achieved share of the datasheet HBM bandwidth when decode steps read weights and KV "
               "(the memory system and the engine's kernels)", "deployment", 0.05, 1.0, 0.25, True),
    FactorSpec("compute_efficiency", "fraction of dense tensor peak",
               "achieved share of the datasheet dense FLOPS in decode steps (GEMM shapes of this model)",
               "deployment", 0.05, 1.0, 0.25, True),
    FactorSpec("prefill_compute_efficiency", "fraction of dense tensor peak",
               "achieved share of the datasheet dense FLOPS in prefill passes (long prompts)",
               "deployment", 0.05, 1.0, 0.25, True),
    # Overheads: at least 0; the upper bounds are ten times the packaged fit's (scripts/
    # calibrate.py), room for a slow host or gateway without letting one factor absorb a
    # wrong model.
    FactorSpec("step_overhead_s", "s per engine step",
               "fixed time per engine step (scheduling, sampling, launches CUDA graphs do not hide)",
               "deployment", 0.0, 0.1, 0.002, False),
    FactorSpec("layer_overhead_s", "s per layer per step",
               "fixed time per layer per step (norms, RoPE, activation quantization and their launches)",
               "deployment", 0.0, 2e-3, 3e-5, False),
    FactorSpec("request_overhead_s", "s per request",
               "fixed time before a request's first token beyond the prefill math (tokenization, "
               "scheduling, the first step's launch, the network to the benchmark client)",
               "deployment", 0.0, 1.5, 0.05, False),
    # How the scheduler serves waiting prompts: the slope of TTFT with load, apart from its
    # level (the prefill efficiency and the request overhead). A multiple of the modelled
    # service time; the bounds (x0.25 to x4) are a judgement: wide enough for a scheduler that
    # runs each waiting prompt in a step of its own, narrow enough that it cannot stand in for
    # a broken run. Prior sigma 0.5 in log: x1.65 at one sigma.
    FactorSpec("queue_service_scale", "x the modelled service time",
               "time the scheduler holds a waiting prompt in the prefill queue, as a multiple of the modelled "
               "time (its prefill packed at the token budget and the decode work of the steps it shares): "
               "how fast TTFT grows with load; 1 = the physics alone",
               "deployment", 0.25, 4.0, 0.5, True),
    # How a benchmark's clients bunch: only predicts benchmark runs whose clients start
    # together on an engine that runs prompts first (queueing.burst_weight); a sizing is steady
    # traffic and never uses it. Fitted so that the runs' bursts do not bend the factors above.
    FactorSpec("in_step_share", "share of a benchmark's rounds",
               "benchmarks on a prompts-first engine (SGLang): share of the rounds whose clients stay in step "
               "(their prompts queue at once); not used by a sizing (steady traffic)",
               "deployment", 0.0, 1.0, 0.25, False, sizing=False),
)
FACTOR_BY_NAME: dict[str, FactorSpec] = {f.name: f for f in FACTORS}

MIN_BAND = 0.05
"""Narrowest confidence band a profile gives inside its measured range, as a fraction either
side: run-to-run spread of one benchmark on one deployment is a few percent (a judgement
call; a band narrower than the benchmark's own noise would be false precision)."""


class ProfileError(XlsizerError):
    """A profile file cannot be read or is not a profile."""


class Factor(BaseModel):
    """One fitted factor as written in the profile."""

    model_config = ConfigDict(extra="ignore")
    value: float
    packaged: float
    unit: str = ""
    scope: Literal["gpu+engine", "deployment"] = "deployment"
    meaning: str = ""

    @field_validator("value", "packaged")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v) or v < 0:
            raise ValueError("must be a finite number >= 0")
        return v


class Deployment(BaseModel):
    """The deployment the runs measured."""

    model_config = ConfigDict(extra="ignore")
    model: str
    gpu: str
    engine: str
    weights_precision: str
    gpu_count: int = Field(ge=1)
    tp: int = Field(ge=1)
    ep: int = Field(1, ge=1)
    dp: int = Field(1, ge=1)
    mode: str = "agg"


class Range(BaseModel):
    """Smallest and largest value the runs measured."""

    low: float
    high: float


class Profile(BaseModel):
    """A calibration profile (the YAML ``xlsizer calibrate`` writes)."""

    model_config = ConfigDict(extra="ignore")
    profile_version: int = PROFILE_VERSION
    deployment: Deployment
    factors: dict[str, Factor]
    measured: dict[str, Any] = Field(default_factory=dict)
    """Files, counts, date."""
    range: dict[str, Range]
    """concurrency, isl, osl: the loads and lengths the runs covered."""
    error: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per metric: the error on the runs before (packaged fit) and after (this profile)."""

    @field_validator("factors")
    @classmethod
    def _known(cls, v: dict[str, Factor]) -> dict[str, Factor]:
        unknown = sorted(set(v) - set(FACTOR_BY_NAME))
        if unknown:
            raise ValueError(f"unknown factor {unknown[0]!r} (known: {', '.join(FACTOR_BY_NAME)})")
        for name, f in v.items():  # the fit keeps to these; a hand-edited 0 divided by zero
            spec = FACTOR_BY_NAME[name]
            if not spec.low <= f.value <= spec.high:
                raise ValueError(f"factor {name!r} is {f.value:g}, outside what is physically possible "
                                 f"({spec.low:g} to {spec.high:g} {spec.unit})")
        return v

    @field_validator("error")
    @classmethod
    def _errors(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The errors' figures that the sizing reads (``tpot_band``) are numbers."""
        for metric, when in v.items():
            after = when.get("after") if isinstance(when, dict) else None
            p90 = after.get("p90_ape") if isinstance(after, dict) else None
            if p90 is not None and (isinstance(p90, bool) or not isinstance(p90, int | float)
                                    or not 0.0 <= p90 < math.inf):
                raise ValueError(f"{metric}.after.p90_ape {p90!r} is not a share >= 0")
        return v

    @property
    def engine(self) -> str:
        """The engine's canonical name (engines.yaml)."""
        return canonical_engine(self.deployment.engine)

    def calibration(self, scope: Literal["all", "gpu+engine"] = "all",
                    base: Calibration | None = None) -> Calibration:
        """``base`` (the packaged calibration) with this profile's factors in place: all of
        them, or only those that carry to another model on the same GPU and engine."""
        return apply_factors(base or packaged_calibration(), self.engine,
                             {n: f.value for n, f in self.factors.items()
                              if scope == "all" or f.scope == "gpu+engine"})

    def tpot_band(self) -> tuple[float, float]:
        """(low, high) of measured / predicted − 1 of throughput inside the measured range: the
        profile's own TPOT error on its runs (throughput at a batch is 1 / TPOT), at least
        ``MIN_BAND`` either side."""
        after = (self.error.get("tpot_ms") or {}).get("after") or {}
        p90 = float(after.get("p90_ape") or 0.0)
        half = max(MIN_BAND, p90)
        return -half, half


def canonical_engine(name: str) -> str:
    """An engine name or alias as engines.yaml names it ("trt-llm" → "tensorrt-llm")."""
    from xlsizer.engine.engines import engine_profile

    return engine_profile(name).name


def apply_factors(base: Calibration, engine: str, values: dict[str, float]) -> Calibration:
    """``base`` with ``values`` in place; per-engine constants replace ``engine``'s value."""
    glob = {n: v for n, v in values.items() if n not in ENGINE_CONSTANTS}
    per = {n: v for n, v in values.items() if n in ENGINE_CONSTANTS}
    engines = tuple(t for t in base.engines if not (t[0] == engine and t[1] in per))
    engines += tuple((engine, n, float(v)) for n, v in sorted(per.items()))
    return replace(base, **glob, engines=engines)


def packaged_value(name: str, engine: str) -> float:
    """The packaged calibration's value of factor ``name`` on ``engine``."""
    return packaged_calibration().engine_value(canonical_engine(engine), name)


# --- reading and writing ------------------------------------------------------------------------


def load_profile(path: str | Path) -> Profile:
    """Read a profile; ``ProfileError`` in one line if it is not one. Returns a copy, so a
    caller that edits it (a team's script changing a factor's scope) does not change what the
    next reader of the same file gets."""
    return shared_profile(path).model_copy(deep=True)


def shared_profile(path: str | Path) -> Profile:
    """``load_profile`` without the copy: the one cached object per file version, for readers
    that never edit it (a sizing reads it once per call; the copy would cost a seventh of a
    sizing)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _load(str(p.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=32)
def _load(path: str, _mtime: int, _size: int) -> Profile:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read ({exc})") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not a YAML file ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or "factors" not in data or "deployment" not in data:
        raise ProfileError(f"{path}: not a calibration profile (no 'deployment' and 'factors'; "
                           "write one with `xlsizer calibrate`)")
    try:
        prof = Profile.model_validate(data)
        canonical_engine(prof.deployment.engine)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ProfileError(f"{path}: {where}: {err['msg']}") from None
    except XlsizerError as exc:
        raise ProfileError(f"{path}: {exc.short()}") from None
    if prof.profile_version > PROFILE_VERSION:
        raise ProfileError(f"{path}: profile_version {prof.profile_version} is newer than this xlsizer "
                           f"reads ({PROFILE_VERSION})")
    return prof


def dump_profile(prof: Profile, header: str = "") -> str:
    """The profile as YAML text, in the order a reader wants it (deployment, factors, range,
    error, measured), with ``header`` as leading comment lines."""
    data = prof.model_dump(mode="json")
    order = ["profile_version", "deployment", "factors", "range", "error", "measured"]
    out = {k: data[k] for k in order if k in data}
    text = yaml.safe_dump(out, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    return ("\n".join(lines) + "\n" if lines else "") + text


# --- applying to a sizing ---------------------------------------------------------------------


Use = Literal["used", "partly used", "ignored"]


def _same(kind: Literal["model", "gpu"], a: str, b: str) -> bool:
    """Whether two names are one catalog model (or GPU): ids, aliases and vendor names alike;
    names the catalog does not know compare as text."""
    try:
        lookup = getattr(load_catalog(), kind)
        return lookup(a).id == lookup(b).id
    except (XlsizerError, KeyError, ValueError):
        return a.strip().lower() == b.strip().lower()


def applies(prof: Profile, model: str, gpu: str, engine: str, precision: str) -> tuple[Use, str]:
    """Whether ``prof`` applies to a configuration, and why, in one sentence."""
    d = prof.deployment
    try:
        eng = canonical_engine(engine)
    except XlsizerError:
        eng = engine
    if eng != prof.engine or not _same("gpu", gpu, d.gpu):
        return "ignored", (f"profile measured {d.model} on {d.gpu} with {prof.engine}; this configuration "
                           f"runs on {gpu} with {eng}: another GPU or engine, packaged fit used")
    if _same("model", model, d.model) and precision.lower() == d.weights_precision.lower():
        return "used", f"profile measured this deployment ({d.model}, {d.gpu}, {prof.engine}): all its factors used"
    carried = ", ".join(n for n, f in prof.factors.items() if f.scope == "gpu+engine")
    if not carried:
        return "ignored", (f"profile measured {d.model} ({d.weights_precision}); every factor is scoped to that "
                           "model (carried to another model on the same GPU and engine they did not make predictions "
                           "better on public runs, docs/calibrate.md); packaged fit used")
    return "partly used", (f"profile measured {d.model} ({d.weights_precision}) on the same GPU and engine; "
                           f"the factors its scope carries to other models used ({carried}), the others "
                           "packaged")


def calibration_for(prof: Profile | None, model: str, gpu: str, engine: str, precision: str
                    ) -> Calibration | None:
    """The calibration a configuration uses under ``prof`` (None: the packaged one)."""
    if prof is None:
        return None
    use, _ = applies(prof, model, gpu, engine, precision)
    if use == "used":
        return prof.calibration("all")
    if use == "partly used":
        return prof.calibration("gpu+engine")
    return None


def outside_range(prof: Profile, concurrency: float | None, isl: float, osl: float) -> list[str]:
    """What of a workload lies outside the loads and lengths the profile measured, one phrase each."""
    out: list[str] = []
    for key, value, what in (("concurrency", concurrency, "concurrency"), ("isl", isl, "prompt tokens"),
                             ("osl", osl, "output tokens")):
        r = prof.range.get(key)
        if r is None or value is None:
            continue
        if value < r.low * (1 - 1e-9) or value > r.high * (1 + 1e-9):
            out.append(f"{what} {value:,.0f} outside the measured {_span(r.low, r.high)}")
    return out


def factor_text(x: float) -> str:
    """A factor's value for people: 4 significant figures; a value at the fit's bound of 0 (an
    overhead the fit found absent, such as 1e-15 s) reads 0."""
    return "0" if abs(x) < 1e-12 else f"{x:.4g}"


def _span(low: float, high: float) -> str:
    """``1,024`` for a single value, else ``4-64``."""
    return f"{low:,.0f}" if f"{low:,.0f}" == f"{high:,.0f}" else f"{low:,.0f}-{high:,.0f}"


def _replica_concurrency(prof: Profile, value: float) -> float:
    """A run's concurrency per replica of the measured deployment (runs spread their clients
    over ``gpu_count`` / (tp × dp) replicas)."""
    d = prof.deployment
    replicas = max(1, d.gpu_count // max(1, d.tp * d.dp)) if d.mode == "agg" else 1
    return value / replicas


def sizing_notes(prof: Profile, model: str, engine: str, precision: str, isl: float, osl: float,
                 scenarios: Mapping[str, Any], confidence: dict[str, Any]
                 ) -> tuple[list[tuple[Any, ...]], list[str], dict[str, Any]]:
    """What a sizing says about its profile: explain() records (which factors it used per
    scenario), warnings (extrapolation, a profile not used) and the confidence band.

    The band: inside the measured range on the profile's own deployment, the profile's
    measured TPOT error (``Profile.tpot_band``); outside it, or carried to another model, the
    wider of that and the packaged band (the profile's accuracy is unknown there); ignored:
    the packaged band."""
    recs: list[tuple[Any, ...]] = []
    warns: list[str] = []
    src = f"calibration profile ({prof.deployment.model} on {prof.deployment.gpu}, {prof.engine}; " \
          f"{prof.measured.get('runs', '?')} runs measured {prof.measured.get('date', '?')})"
    uses: set[str] = set()
    batches: dict[str, float] = {}  # scenario -> its batch per replica, where outside the measured range
    rng = prof.range.get("concurrency")
    # the runs' concurrency per replica
    lo, hi = (_replica_concurrency(prof, rng.low), _replica_concurrency(prof, rng.high)) if rng else (0.0, 0.0)
    for name, sc in scenarios.items():
        use, why = applies(prof, model, sc.gpu, engine, precision)
        uses.add(use)
        factors = [n for n in prof.factors if (use == "used" or (use == "partly used"
                                                                 and prof.factors[n].scope == "gpu+engine"))
                   and (n not in FACTOR_BY_NAME or FACTOR_BY_NAME[n].sizing)]
        recs.append((name, "Calibration profile", use, "", why, src))
        for n in factors:
            f = prof.factors[n]
            recs.append((name, f"Profile: {n}", f.value, f.unit,
                         f"fitted on the team's runs (packaged {factor_text(f.packaged)})", src))
        if use == "ignored":
            continue
        batch = (sc.extra.get("perf") or {}).get("batch")
        if batch is not None and rng is not None and (batch < lo * (1 - 1e-9) or batch > hi * (1 + 1e-9)):
            batches[name] = float(batch)
    if uses == {"ignored"}:
        warns.append(f"calibration profile not used: it measured {prof.deployment.model} on {prof.deployment.gpu} "
                     f"with {prof.engine}, the sizing runs other GPUs or another engine")
        return recs, warns, confidence
    # one phrase per quantity, not per scenario: the lengths are the sizing's, the batch each scenario's
    outside = outside_range(prof, None, isl, osl)
    if batches:
        which = "every scenario" if len(batches) == len(scenarios) else " and ".join(batches)
        outside.insert(0, f"{_span(min(batches.values()), max(batches.values()))} sequences per replica in {which}, "
                          f"outside the measured {_span(lo, hi)}")
    if outside:
        shown = "; ".join(outside)
        warns.append(f"extrapolating the calibration profile beyond its measured runs ({shown}): its factors are "
                     "applied, its measured accuracy is not known there and the confidence band widens")
    low, high = prof.tpot_band()
    if uses == {"used"} and not outside:
        conf = {**confidence, "low": low, "high": high,
                "source": f"{src}: 80%+ of its runs within {low * 100:+.0f}% / {high * 100:+.0f}% of the "
                          "prediction (its TPOT error after the fit, at least the benchmark's own spread)"}
        return recs, warns, conf
    conf = {**confidence, "low": min(low, float(confidence["low"])), "high": max(high, float(confidence["high"])),
            "source": f"{confidence['source'].rstrip()} With the profile applied "
                      f"{'beyond its measured range' if outside else ''}"
                      f"{' and ' if outside and 'partly used' in uses else ''}"
                      f"{'to another model (its GPU and engine factors)' if 'partly used' in uses else ''}, "
                      "the band is the wider of its measured error and the packaged band."}
    return recs, warns, conf


__all__ = [
    "FACTORS",
    "FACTOR_BY_NAME",
    "MIN_BAND",
    "PROFILE_VERSION",
    "Deployment",
    "Factor",
    "FactorSpec",
    "Profile",
    "ProfileError",
    "Range",
    "applies",
    "apply_factors",
    "calibration_for",
    "canonical_engine",
    "dump_profile",
    "factor_text",
    "load_profile",
    "outside_range",
    "packaged_value",
    "shared_profile",
    "sizing_notes",
]
