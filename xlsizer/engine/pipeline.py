"""The composition root: the course Sizer's steps (course.md §10.3), run once per scenario.

Each step is a call into a pure function of memory.py, traffic.py, search.py, placement.py,
throughput.py, performance.py, facility.py or cost.py; this module only wires them and
records every intermediate value (name, value, unit, formula, source) for
``SizingResult.explain()``. Records hold a format template and its arguments, formatted
only when someone asks for the explanation: a workbook recalculates thousands of cells.

Two ways to get a replica's capacity (``throughput_source``):
- ``roofline`` (default, ``search.py``): every candidate configuration (GPU × GPUs per
  replica) gets its capacity under the TPOT and TTFT targets from the performance model, with a KV budget of
  ``GPUs × memory / (1 + headroom) − weights − activations``; replicas = ceil(peak requests/s
  ÷ requests/s per replica) + spares; the automatic choice is the cheapest adequate
  configuration on the sizing's cost basis (cloud: catalog $/GPU-hour × GPUs; on-prem:
  purchase price per GPU plus its share of the server, among GPUs that have one), ties to fewer GPUs.
- ``course-table``: the course's first-fit GPU search on the whole deployment's VRAM and its
  throughput lookup table, kept to reproduce the course's answers.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from xlsizer.calibrate.profile import sizing_notes
from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec, MeasuredResults, MeasuredStep, ModelSpec
from xlsizer.engine import facility, guardrails, memory, placement, traffic
from xlsizer.engine.cost import API_PRICE_MODEL, api_price_warning, scenario_cost
from xlsizer.engine.latency import Arrivals, ttft_at_load_q, ttft_open
from xlsizer.engine.layers import deployed_weights_bytes
from xlsizer.engine.optimizations import SPEC_NOT_PAYING, host_link_bytes_per_s
from xlsizer.engine.performance import confidence_band, step_shares
from xlsizer.engine.scenarios import HEADROOM, MIN_SERVERS, RED_LABEL, scenario_burst, scenario_offset
from xlsizer.engine.search import (
    MAX_STAGES,
    PCIE_MAX_W,
    PICK,
    SIZES,
    Plan,
    auto_gpus,
    billed_gpus,
    compute_precision,
    evaluate,
    priced_fleet,
    rank_price,
    roofline_plan,
)
from xlsizer.engine.shared import Shared
from xlsizer.engine.slo import mean_wait_words, slo_latency
from xlsizer.engine.solver import (
    ENGINE_SEQS_BINDS,
    STATIC_BINDS,
    TTFT_BINDS,
    mean_step_s,
)
from xlsizer.engine.step import (
    REFERENCE_MAMF_GPU,
    collective_link,
    decode_context,
    expert_compute,
    gemm_compute,
    reference_mamf_efficiency,
    sustained_tensor_ratio,
)
from xlsizer.engine.throughput import PIPELINE_STAGE_FACTOR, course_table_throughput
from xlsizer.errors import InfeasibleError
from xlsizer.inputs import SizingInputs, ThroughputSource
from xlsizer.precision import Precision
from xlsizer.resolve import resolve_gpu, resolve_model
from xlsizer.results import SCENARIOS, Memory, Scenario, Server, SizingResult, Traffic, build, headline_for
from xlsizer.units import GB, TERA, count, figure

_D = read_data_file("defaults.yaml")
SPEC_VRAM: float = float(_D["speculative_vram_factor"])
KV_OFFLOAD_FRACTION: float = float(_D["kv_offload_gpu_fraction"])
WORST_KV_RATIO: float = float(_D["worst_case_kv_ratio"])
GUARD = _D["guardrails"]
CONF_TABLE = _D["confidence_course_table"]
NVL72_PUE = float(_D["nvl72_pue"])

CHEAPER_BY = 0.05
"""Course-table mode names a cheaper adequate configuration when it saves more than this share
of the first fit's cost (a judgement call: below 5% the catalog prices are not that precise)."""

S_COURSE = "course.md §10.3"
Rec = list[tuple[Any, ...]]


def size(inp: SizingInputs) -> SizingResult:
    """Size a deployment for all three scenarios. Pure: same inputs, same answer."""
    model = resolve_model(inp)
    fixed = resolve_gpu(inp)
    sh = Shared(inp, model)
    rec: Rec = [
        _weights_row(inp, model, sh),
        ("all", "KV bytes per token", sh.kv_tok, "B", _kv_formula(model), (inp.kv_precision.bytes_per_element,),
         _kv_source(model)),
        ("all", "KV per request", sh.kv_req / GB, "GB", "KV/token x ({:,} + {:,}) tokens{}{}",
         (sh.prompt, sh.out_tok, " (sliding-window layers capped)" if model.sliding_window else "",
          " + fixed state per sequence" if sh.state else ""), f"{S_COURSE} step 2"),
        *_state_rows(model),
        *_context_rows(inp, sh),
        ("all", "RPS", sh.rps, "req/s", "{} x {:g} rpm / 60",
         (count(inp.concurrent_users, "user"), inp.requests_per_user_per_minute), f"{S_COURSE} step 3"),
        ("all", "Time per request", sh.t_req, "s", "{:,} output tokens x {:g} ms", (sh.out_tok, inp.tpot_ms),
         f"{S_COURSE} step 3"),
        ("all", "Activations", sh.act / GB, "GB", "max(2 GB, 5% x weights)", (), f"{S_COURSE} step 5"),
    ]
    rec += sh.fx.explain
    scenarios = {name: _scenario(name, inp, sh, fixed, rec) for name in SCENARIOS}
    b = scenarios["burst"]
    headline = headline_for(b)
    top_warn: list[str] = [w for w in (_upcast_warning(inp, model, sh.w),) if w] + list(sh.fx.warnings)
    top_warn += [w for w in _scenario_warnings(scenarios) if w not in top_warn]
    # after the capacity warnings: it qualifies the API comparison, not the plan
    api_warn = api_price_warning(inp, model, load_catalog().model(API_PRICE_MODEL))
    if api_warn:
        top_warn.append(api_warn)
    confidence = _confidence(model, inp)
    if "burst" in sh.measured:
        confidence = _widened(confidence, *_step_low(sh.measured["burst"]))
    if "burst" in sh.optimistic:
        confidence = _widened(confidence, *_results_low(sh.optimistic["burst"]))
    if sh.profile is not None:  # issue 23: which factors the profile gave, its range, its band
        recs, warns, confidence = sizing_notes(sh.profile, model.id, inp.serving_engine.value, inp.precision.value,
                                               sh.prompt, sh.out_tok, scenarios, confidence)
        rec += recs
        top_warn += [w for w in warns if w not in top_warn]
    return build(SizingResult, inputs=inp, scenarios=scenarios, warnings=top_warn,
                 confidence=confidence, headline=headline, steps=rec)


MOE_SHARES: tuple[tuple[str, str, str], ...] = (
    ("expert_gemm", "MoE: expert GEMMs share of step",
     "routed-expert grouped GEMMs and their activation traffic / decode step at capacity"),
    ("imbalance", "MoE: imbalance share of step", "busiest expert pacing the kernel (part of the expert GEMMs)"),
    ("all_to_all", "MoE: all-to-all share of step", "expert-parallel dispatch + combine / decode step"),
)
"""The MoE step shares shown in explain() and extra["perf"] (issue 11)."""


def _kv_formula(model: ModelSpec) -> str:
    n = model.attention_layer_count  # a hybrid's state-space / linear layers hold no KV
    if model.mla is not None:
        return (f"{n} layers x ({model.mla.kv_lora_rank} + {model.mla.qk_rope_head_dim}) latent"
                " x {:g} B (MLA)")
    return f"2 x {n} attention layers x {model.kv_heads} KV heads x {model.head_dim} head dim x {{:g}} B"


def _state_rows(model: ModelSpec) -> list[Any]:
    """The explain row of a hybrid's fixed state per sequence (none for attention-only models)."""
    rec = model.recurrent
    if rec is None:
        return []
    return [("all", "State per sequence", rec.bytes_per_sequence / 1e6, "MB",
             "{} {} layers x ({:,} SSM state x {:g} B + {:,} conv state x {:g} B), whatever the context",
             (rec.layers, rec.kind, rec.state_elements_per_layer, rec.state_bytes_per_element,
              rec.conv_elements_per_layer, rec.conv_bytes_per_element),
             "config.json via the catalog (recurrent); engine/memory.py state_bytes_per_sequence")]


def _context_rows(inp: SizingInputs, sh: Shared) -> list[Any]:
    """The explain row of the context a decoded token attends to where the answers' lengths
    spread (``step.decode_context``; none at equal lengths, where it is the middle answer's, nor
    where the course's table or the user's override sets the throughput)."""
    cv = sh.arr.answer_cv
    if cv <= 0.0 or _fixed_throughput(inp):
        return []
    return [("all", "Context per decoded token", decode_context(sh.prompt, sh.out_tok, cv), "tokens",
             "{:,} prompt + (1 + {:g}²) x {:,} output / 2: a long answer carries more tokens, each at a longer "
             "context, so every step reads more KV and does more attention than answers all of the average "
             "length would ({:,.0f} tokens)", (sh.prompt, cv, sh.out_tok, decode_context(sh.prompt, sh.out_tok)),
             'docs/method.md "The context a decoded token attends to" (renewal reward: E[L²] / 2E[L])')]


def _kv_source(model: ModelSpec) -> str:
    """Where the KV-per-token formula comes from, by the model's attention kind."""
    src = ("course.md §4; catalog.md model note 3 (MLA)" if model.mla is not None
           else f"course.md §4 ({model.attention.upper()}: K and V per KV head per layer)")
    return src + ("; docs/method.md step 2 (sliding-window layers keep at most their window)"
                  if model.sliding_window else "")


def _fixed_throughput(inp: SizingInputs) -> bool:
    """Whether the course's table or the user's override sets the throughput per replica (the
    course's method), not the roofline model."""
    return inp.throughput_source is ThroughputSource.COURSE_TABLE or inp.throughput_override is not None


def _confidence(model: ModelSpec, inp: SizingInputs) -> dict[str, Any]:
    kind = "moe" if model.is_moe else "dense"
    if _fixed_throughput(inp):
        frac = float(CONF_TABLE[kind])
        return {"low": -frac, "high": frac, "kind": kind,
                "source": "course Sizer's fixed badge (course.md §10.2): ±15% dense/GQA, ±30% MoE, on the "
                          "throughput per replica (a judgement, not a measurement; TTFT not covered)"}
    low, high, src = confidence_band(model, inp.serving_engine.value)  # per family and engine
    return {"low": low, "high": high, "kind": kind, "source": src}


def _widened(conf: dict[str, Any], low: float, why: str) -> dict[str, Any]:
    """The band with its low side taken at least to ``low`` (a fraction, below 0), ``why`` said
    in its source (``_step_low``, ``_results_low``)."""
    if low >= conf["low"]:
        return conf
    return {**conf, "low": low, "source": f"{conf['source']} Its low side is taken to {low:.0%}: {why}."}


def _step_low(m: MeasuredStep) -> tuple[float, str]:
    """(1 / ``m.ratio_high`` − 1, why): where tuned systems measured a step that much slower than
    the model's at the plan's batch, the capacity they got was about that much lower (at a fixed
    TPOT target the batch also shrinks, so this is the least of it)."""
    return 1.0 / m.ratio_high - 1.0, (f"at this plan's batch tuned MLPerf systems on this GPU measured a decode step "
                                      f"{m.ratio_low:g}-{m.ratio_high:g}x the model's (catalog measured_step)")


def _results_low(r: MeasuredResults) -> tuple[float, str]:
    """(``r.ratio_low`` − 1, why): tuned systems on the GPU delivered as little as that share of
    the model's predicted throughput."""
    return r.ratio_low - 1.0, (f"tuned MLPerf systems on this GPU delivered {r.ratio_low:g}-{r.ratio_high:g} of the "
                               f"throughput the model predicts for them ({r.results} results, {r.submitters} "
                               "submitters; catalog measured_results)")


def _weights_row(inp: SizingInputs, model: ModelSpec, sh: Shared) -> tuple[Any, ...]:
    """Course step 1, the weights: params x bytes; a MoE at FP4 in two parts, its routed experts
    in 4 bits and the rest as released (``memory.dense_weights_precision``)."""
    prec = inp.precision
    dense = memory.dense_weights_precision(model, prec)
    if dense is prec:
        return ("all", "Weights", sh.w / GB, "GB", "{:g}B params x {:g} B ({})",
                (model.total_params_b, prec.bytes_per_element, prec.label), f"{S_COURSE} step 1")
    other_b = sh.w_dense / dense.bytes_per_element / 1e9
    return ("all", "Weights", sh.w / GB, "GB",
            "{:g}B routed-expert params x {:g} B ({}) + {:.2f}B other params (attention, shared experts, "
            "embeddings, head) x {:g} B ({}, as released)",
            (round(model.total_params_b - other_b, 2), prec.bytes_per_element, prec.label, other_b,
             dense.bytes_per_element, dense.label), f"{S_COURSE} step 1; engine/memory.py dense_weights_precision")


def _upcast_warning(inp: SizingInputs, model: ModelSpec, w: float) -> str | None:
    """A warning where the chosen precision holds the weights in more bytes than the model's
    release does (``memory.released_precision``): an upcast copy buys no accuracy, and the
    default FP8 sized gpt-oss-120b (MXFP4 experts) at 116.8 GB of weights against the 61.6 GB
    it ships in, and said nothing. It can still be the cheaper plan (FP8 math on a GPU that
    runs FP4 weight-only at the BF16 rate, or whose FP4 formats the automatic choice skips), so
    the warning names the trade and ``insights.what_ifs`` re-sizes the release. None otherwise."""
    prec = inp.precision
    rel = memory.upcast_release(model, prec)
    if rel is None:
        return None
    what = "its routed experts" if model.expert_weights_precision is not None else "its weights"
    w_rel = deployed_weights_bytes(model, rel)
    return (f"{model.id} is released with {what} in {rel.label}: {prec.label} holds them in "
            f"{prec.bytes_per_element / rel.bytes_per_element:g}x the bytes ({w / GB:,.1f} GB of weights against "
            f"{w_rel / GB:,.1f} GB as released), an upcast copy with no accuracy to gain; it pays only where a GPU "
            f"multiplies {prec.label} faster than it unpacks {rel.label} (precision {rel.value} sizes the release "
            "as it ships: 'Weights as released' among what would change the answer)")


def _course_plan(name: str, inp: SizingInputs, sh: Shared, fixed: GpuSpec | None, vram: float,
                 bw_need: float, demand: float, warn: list[str], rec: Rec) -> Plan:
    if fixed is None:
        choice = placement.pick_gpu(list(auto_gpus()), inp.precision, vram, bw_need, sh.w, sizes=SIZES,
                                    margin=float(PICK["bandwidth_margin"]), pcie_max_weights_bytes=PCIE_MAX_W)
        if choice is not None and name == "burst":  # the headline's scenario: one warning, not three
            _cheaper_alternative(name, inp, sh, choice, vram, bw_need, demand, warn)
        if choice is None:
            raise InfeasibleError(f"no GPU in the automatic search supports {inp.precision.label}; choose a GPU")
        if choice.bandwidth_margin < 1.3:
            warn.append(f"bandwidth: no configuration met the 1.3x margin; {choice.gpus_per_replica}x "
                        f"{choice.gpu.id} gives {choice.gpus_per_replica * choice.gpu.memory_bandwidth_tb_s:.1f} TB/s "
                        f"for a need of {bw_need / TERA:.1f} TB/s")
    else:
        choice = placement.fixed_gpu(fixed, vram, bw_need, sizes=SIZES)
        if not fixed.supports(inp.precision):
            warn.append(f"{fixed.id} has no {inp.precision.label} tensor cores: {inp.precision.label} weights run "
                        "weight-only (dequantized to BF16), so compute runs at the BF16 rate")
    g, n = choice.gpu, choice.gpus_per_replica
    if choice.pp > MAX_STAGES:
        raise InfeasibleError(
            f"{name}: one replica would need {choice.pp} nodes of {g.id} to hold {vram / GB:,.0f} GB "
            "(the course method puts every in-flight request's KV in one replica); "
            "reduce the load per replica or use throughput_source 'roofline'")
    if n * g.memory_bandwidth_bytes_per_s < bw_need:
        warn.append(f"bandwidth shortfall: {n}x {g.id} = {n * g.memory_bandwidth_tb_s:.1f} TB/s < "
                    f"{bw_need / TERA:.1f} TB/s needed for {inp.tpot_ms:g} ms TPOT")
    t = course_table_throughput(sh.model.total_params_b, g, n, choice.pp, inp.serving_engine.value,
                                inp.speculative_decoding)
    if choice.pp > 1 and inp.throughput_override is None:
        # the course's own rule (§10.3 steps 9-11), reproduced; the cause is worth a sentence,
        # since each stage halves the replica's table throughput and multiplies the replicas
        warn.append(f"the course method puts every in-flight request's KV in one replica ({vram / GB:,.0f} GB), "
                    f"so each replica spans {choice.pp} nodes of {g.id} at {PIPELINE_STAGE_FACTOR:g}^{choice.pp - 1} "
                    "of its table throughput (course §10.3 step 11); throughput_source 'roofline' sizes each "
                    "replica for the batch it runs")
    if t.extrapolated:
        warn.append(f"course table has no {t.bucket} row for {g.id}; throughput scaled from the nearest "
                    "listed GPU by memory bandwidth")
    active = placement.active_replicas(demand, t.tok_s)
    return Plan(g, n, choice.tp, choice.pp, active, t.tok_s, "course-table", ("{}", (t.basis,), f"{S_COURSE} step 11"),
                 vram=vram)


def _course_cost(name: str, inp: SizingInputs, sh: Shared, c: placement.GpuChoice,
                 demand: float) -> tuple[float, int]:
    """(ranking cost, total GPUs) of one course-method configuration: catalog $/GPU-hour x GPUs
    per replica x replicas (active from the course table, plus the scenario's spares)."""
    if inp.throughput_override is not None:
        tok = inp.throughput_override
    else:
        tok = course_table_throughput(sh.model.total_params_b, c.gpu, c.gpus_per_replica, c.pp,
                                      inp.serving_engine.value, inp.speculative_decoding).tok_s
    offset = scenario_offset(name, inp.redundancy_mode.offset)
    total = placement.replica_count(placement.active_replicas(demand, tok), offset,
                                    name == "resilient") * c.gpus_per_replica
    return total * rank_price(c.gpu, inp), total


def _cheaper_alternative(name: str, inp: SizingInputs, sh: Shared, choice: placement.GpuChoice, vram: float,
                         bw_need: float, demand: float, warn: list[str]) -> None:
    """Say when a configuration that passes the course's own test costs less than its first fit.

    The course takes the first fit in its list, which its text calls "cheapest first"; by the
    catalog's prices it is not, so under ``course-table`` more users can cost less (issue 15:
    88x L40S cost twice the 28x H100 that one more user moved the first fit to). xlsizer keeps
    the first fit, to reproduce the course's answers, and names the cheaper configuration; the
    default ``roofline`` method ranks by cost and never makes more load cheaper."""
    configs = placement.adequate_configs(
        list(auto_gpus()), inp.precision, vram, bw_need, sh.w, sizes=SIZES,
        margin=float(PICK["bandwidth_margin"]), pcie_max_weights_bytes=PCIE_MAX_W, max_stages=MAX_STAGES)
    if not configs:
        return
    ranked = min(((*_course_cost(name, inp, sh, c, demand), i, c) for i, c in enumerate(configs)),
                 key=lambda t: t[:3])
    cost, total, _, alt = ranked
    mine, mine_total = _course_cost(name, inp, sh, choice, demand)
    if not math.isfinite(mine):  # the first fit has no price on this basis: the headline says so
        return
    if cost < (1.0 - CHEAPER_BY) * mine and (alt.gpu.id, alt.gpus_per_replica) != (choice.gpu.id,
                                                                                      choice.gpus_per_replica):
        warn.append(f"the course's first-fit search picked {mine_total:,}x {choice.gpu.id}; "
                    f"{total:,}x {alt.gpu.id} ({alt.gpus_per_replica} per replica) also passes its memory and "
                    f"bandwidth test and costs {1.0 - cost / mine:.0%} less (catalog prices): set gpu "
                    f"{alt.gpu.id}, or use throughput_source 'roofline', which ranks by cost")


class _Need(NamedTuple):
    """What one scenario's load asks of the hardware (course steps 3-8 and 12)."""

    burst: float
    inflight: float
    course: bool  # the course's table mode (or a throughput override), not the roofline search
    kv_req: float  # KV bytes reserved per request
    kv_total: float  # bytes
    head: float  # headroom, bytes
    vram: float  # bytes
    bw_need: float  # bytes/s
    demand: float  # tokens/s
    offset: int  # spare replicas


class _Fleet(NamedTuple):
    """The replicas of every deployment packed into servers (course steps 12-13)."""

    deployments: list[tuple[int, float, Plan]]  # (count, share of the traffic, plan) per deployment
    replicas: int
    total_gpus: int
    servers: int
    active: int
    it_w: float  # W, all servers
    cap_tok_s: float  # tokens/s the active replicas carry
    layout: placement.ServerLayout  # the first deployment's packing (the one the headline shows)
    server_w: float  # W, one server of that packing
    added_spares: int  # spares the redundancy rule added to the first deployment's N+1/N+2
    whole_nodes: tuple[int, int] | None  # (servers, GPUs per server) when renting whole nodes packs differently
    shared: bool  # cloud hosts with slots the plan does not rent (other tenants'): site figures are the GPUs' share
    host_share: float  # the rented GPUs as full hosts (GPUs / GPUs per host) when shared, else the servers

    @property
    def several(self) -> bool:
        """One deployment per fine-tuned variant (no LoRA): more than one deployment."""
        return len(self.deployments) > 1 or self.deployments[0][0] > 1


class _Site(NamedTuple):
    """Racks, cooling and power of one scenario (course steps 15-16)."""

    racks: facility.RackPlan
    it_kw: float
    pue: float
    facility_kw: float
    fabric: str


def _scenario_warnings(scenarios: dict[str, Scenario]) -> list[str]:
    """Every scenario's warnings once, in order of first appearance; one that holds for some
    scenarios only names them ("baseline: pipeline parallelism: 4 stages ...", "burst, resilient:
    ..."), unless it already starts with a scenario's name: read side by side, "4 stages" and
    "9 stages" must say which answer each is about."""
    out: list[str] = []
    for s in scenarios.values():
        for wmsg in s.warnings:
            where = [n for n, other in scenarios.items() if wmsg in other.warnings]
            if len(where) < len(scenarios) and not wmsg.startswith(tuple(f"{n}:" for n in scenarios)):
                wmsg = f"{', '.join(where)}: {wmsg}"
            if wmsg not in out:
                out.append(wmsg)
    return out


def _scenario(name: str, inp: SizingInputs, sh: Shared, fixed: GpuSpec | None, rec: Rec) -> Scenario:
    """One scenario in the Sizer's order: the load's needs, a configuration and its capacity,
    replicas and servers, performance at peak, facility, latency checks, cost."""
    warn: list[str] = []
    need = _need(name, inp, sh, rec)
    plan, deployments = _configure(name, inp, sh, fixed, need, warn, rec)
    fleet = _fleet(name, inp, deployments, need.offset)
    _record_fleet(name, inp, sh, fixed, plan, fleet, need, rec)
    _fleet_warnings(name, sh, fixed, plan, fleet, need.offset, warn)
    extra = _performance(name, inp, sh, plan, fleet, need, warn, rec)
    site = _site(name, inp, sh, plan, fleet, need, warn, rec)
    _latency_warnings(name, inp, sh, plan, need, warn, rec)
    cb = scenario_cost(inp, plan.gpu, total_gpus=fleet.total_gpus, servers=fleet.servers,
                       gpus_per_server=fleet.layout.gpus_per_server, it_kw=site.it_kw, pue=site.pue, rps=sh.rps,
                       prompt_tokens=sh.prompt, output_tokens=sh.out_tok, capacity_tok_s=fleet.cap_tok_s,
                       whole_nodes=fleet.whole_nodes)
    extra["cost"] = cb.as_dict()
    rec += [(name, *row) for row in cb.explain]
    warn += cb.warnings
    return _scenario_result(name, inp, sh, plan, fleet, need, site, warn, extra)


def _need(name: str, inp: SizingInputs, sh: Shared, rec: Rec) -> _Need:
    """Course steps 3-8 and 12: requests in flight, their KV, the VRAM and bandwidth they need,
    and the token demand, at this scenario's burst."""
    rps, w, act = sh.rps, sh.w, sh.act
    burst = scenario_burst(name, inp.burst_factor)
    inflight = traffic.inflight_requests(rps, sh.t_req, burst)
    course = _fixed_throughput(inp)
    # roofline: KV reserved per request as the optimizations leave it (paging, shared prefix,
    # drafter) and memory held once per replica (adapters, drafter, shared prefix)
    kv_req = sh.kv_req if course else sh.kv_plan
    extra_res = 0.0 if course else sh.fx.extra_resident_bytes
    kv_total = inflight * kv_req
    if inp.kv_offload and course:
        kv_total *= KV_OFFLOAD_FRACTION
    head = memory.headroom_bytes(HEADROOM[name], w + extra_res, kv_total, act)
    vram = w + kv_total + act + extra_res + head
    if inp.speculative_decoding and inp.throughput_source is ThroughputSource.COURSE_TABLE:
        vram *= SPEC_VRAM
    bw_need = (sh.w_active + kv_total) / (inp.tpot_ms / 1000.0)
    demand = traffic.token_demand_per_s(rps, sh.prompt, sh.out_tok, burst)
    rec += [
        (name, "Burst factor", burst, "x", "baseline 1.0 / burst: user's / resilient: max(user's, 3.0)", (),
         f"{S_COURSE} step 12"),
        (name, "In-flight requests", inflight, "requests",
         "RPS x {:g} s x burst {:g} (Little's law: each request lasts output tokens x the TPOT target, so a "
         "tighter TPOT means fewer requests in flight and less KV{})",
         (sh.t_req, burst, "; in the course method also fewer GPUs, though each must then be faster"
          if course else ""), f"{S_COURSE} step 3 (Little's law)"),
        (name, "KV total", kv_total / GB, "GB", "in-flight x KV per request{}",
         (f" (of which fixed state {inflight * sh.state / GB:,.1f} GB)" if sh.state else "",), f"{S_COURSE} step 4"),
        (name, "Headroom", head / GB, "GB", "{:.0%} x (weights + KV + activations)", (HEADROOM[name],),
         f"{S_COURSE} step 6"),
        (name, "VRAM", vram / GB, "GB", "weights + KV + activations + headroom", (), f"{S_COURSE} step 7"),
        (name, "Bandwidth needed", bw_need / 1e9, "GB/s", "(active weights + KV) / {:g} ms", (inp.tpot_ms,),
         f"{S_COURSE} step 8"),
        (name, "Demand", demand, "tok/s", "RPS x ({:,} + {:,}) x burst {:g}", (sh.prompt, sh.out_tok, burst),
         f"{S_COURSE} step 12"),
    ]
    return _Need(burst, inflight, course, kv_req, kv_total, head, vram, bw_need, demand,
                 scenario_offset(name, inp.redundancy_mode.offset))


def _configure(name: str, inp: SizingInputs, sh: Shared, fixed: GpuSpec | None, need: _Need, warn: list[str],
               rec: Rec) -> tuple[Plan, list[tuple[int, float, Plan]]]:
    """Course steps 9-11: the configuration and its capacity per replica, by the course's table,
    the user's override or the roofline search; without LoRA, one deployment per fine-tuned
    variant, each with its own spares. Returns the headline plan and every deployment as
    (count, share of the traffic, plan)."""
    deployments: list[tuple[int, float, Plan]] = []
    if inp.throughput_override is not None:
        plan = _course_plan(name, inp, sh, fixed, need.vram, need.bw_need, need.demand, warn, rec)
        plan.tput, plan.source = inp.throughput_override, "override"
        plan.basis = ("user override", (), "input throughput_override")
        plan.active = placement.active_replicas(need.demand, plan.tput)
    elif inp.throughput_source is ThroughputSource.COURSE_TABLE:
        plan = _course_plan(name, inp, sh, fixed, need.vram, need.bw_need, need.demand, warn, rec)
    else:
        peak_rps = sh.rps * need.burst
        shares = sh.fx.lora_shares
        if sh.fx.lora_pool or len(shares) == 1:
            plan = roofline_plan(name, inp, sh, fixed, ((1, peak_rps),), need.offset, warn)
        else:
            # one deployment per variant, all of one configuration: the one whose deployments
            # together cost least. Searched each on its own, a small variant could land on another
            # GPU (60/30/10: two deployments on b200, one on 2x mi300x), a fleet priced, powered
            # and headlined as the first GPU's, whose cost could rise when a target loosened
            groups: dict[float, int] = {}
            for sv in shares:
                groups[round(sv, 12)] = groups.get(round(sv, 12), 0) + 1
            ordered = sorted(groups.items(), reverse=True)
            plan = roofline_plan(name, inp, sh, fixed, tuple((cnt, peak_rps * sv) for sv, cnt in ordered),
                                  need.offset, warn)
            deployments = [(cnt, sv, plan if k == 0 else plan.carrying(peak_rps * sv))
                           for k, (sv, cnt) in enumerate(ordered)]
    return plan, deployments or [(1, 1.0, plan)]


def _fleet(name: str, inp: SizingInputs, deployments: list[tuple[int, float, Plan]], offset: int) -> _Fleet:
    """Course steps 12-13: active replicas plus spares per deployment, packed into servers;
    except in the course-table method (which reproduces the course), one server failure
    leaves the active replicas (placement.survivable_fleet, docs/method.md "Spares and servers")."""
    survivable = inp.throughput_source is not ThroughputSource.COURSE_TABLE
    red = RED_LABEL[offset]
    paired = name == "resilient"
    replicas = servers = total_gpus = active = 0
    it_w = cap_tok_s = server_w = 0.0
    layout = None
    added = whole_servers = whole_per = 0
    shared, host_share = False, 0.0
    for cnt, _, p_v in deployments:
        if survivable:
            r_v, lay_v, add_v = priced_fleet(inp, p_v.active, offset, paired, p_v.n, p_v.gpu)
            # a cloud renting only whole nodes fills them with spares rather than spreading replicas
            whole = lay_v if inp.pricing_model == "on-prem" else \
                placement.survivable_fleet(p_v.active, offset, paired, p_v.n, p_v.gpu, MIN_SERVERS[red]).layout
            whole_servers += cnt * whole.servers
            whole_per = whole_per or whole.gpus_per_server
        else:
            r_v = placement.replica_count(p_v.active, offset, paired_failure_domains=paired)
            lay_v, add_v = placement.consolidate(r_v, p_v.n, p_v.gpu, MIN_SERVERS[red]), 0
        sw_v = facility.server_power_w(lay_v.gpus_per_server, p_v.gpu.tdp_w)
        # a cloud plan rents GPUs, not hosts: where its hosts hold slots it does not rent (the rule
        # spread the replicas, one per host for N+1), the provider shares those hosts with other
        # tenants, and the plan's power is its GPUs' share of a full host (docs/method.md)
        gpus_v = r_v * p_v.n
        shared_v = (survivable and inp.pricing_model != "on-prem" and lay_v.servers_per_replica == 1
                    and lay_v.servers * lay_v.gpus_per_server > gpus_v)
        shared = shared or shared_v
        replicas += cnt * r_v
        total_gpus += cnt * gpus_v
        servers += cnt * lay_v.servers
        active += cnt * p_v.active
        it_w += cnt * (sw_v * gpus_v / lay_v.gpus_per_server if shared_v else sw_v * lay_v.servers)
        host_share += cnt * (gpus_v / lay_v.gpus_per_server if shared_v else lay_v.servers)
        cap_tok_s += cnt * p_v.active * p_v.tput
        if layout is None:
            layout, server_w, added = lay_v, sw_v, add_v
    assert layout is not None
    return _Fleet(deployments, replicas, total_gpus, servers, active, it_w, cap_tok_s, layout, server_w, added,
                  (whole_servers, whole_per) if survivable else None, shared, host_share)


def _record_fleet(name: str, inp: SizingInputs, sh: Shared, fixed: GpuSpec | None, plan: Plan, fleet: _Fleet,
                  need: _Need, rec: Rec) -> None:
    """explain() rows of the chosen GPU, its replicas and servers."""
    offset = need.offset
    g, layout, red = plan.gpu, fleet.layout, RED_LABEL[offset]
    how = ("cheapest adequate configuration (cloud: catalog $/GPU-hour x GPUs; on-prem: purchase price per GPU "
           "+ its share of the server, priced GPUs only) among {}; precision gate {}"
           if fixed is None and plan.source == "roofline" else
           "first of {} x (1,2,4,8) with memory >= VRAM and bandwidth >= 1.3 x need; precision gate {}"
           if fixed is None else "user-chosen GPU ({}; {})")
    several = fleet.several
    # the Servers row counts replicas per server, or servers per replica when one spans several
    per_unit = layout.replicas_per_server if layout.servers_per_replica == 1 else layout.servers_per_replica
    rec += [
        (name, "GPU", g.id, "", how, (" > ".join(PICK["order"]) if fixed is None else g.id, inp.precision.label),
         f"{S_COURSE} step 9" + ("; xlsizer cost ranking" if plan.source == "roofline" else "")),
        (name, "GPUs per replica", plan.n, "GPUs", "TP={} x PP={}" if plan.ep == 1 else
         "attention data-parallel x {} ranks, experts over EP={} (wide expert parallelism)",
         (plan.tp, plan.pp) if plan.ep == 1 else (plan.n, plan.ep), f"{S_COURSE} steps 9-10"),
        (name, "Throughput per replica", plan.tput, "tok/s", plan.basis[0], plan.basis[1], plan.basis[2]),
        _active_row(name, sh, plan, fleet, sh.rps * need.burst),
        (name, "Replicas", fleet.replicas, "replicas", "active + spares ({}){}{}{}",
         (red, f" + {fleet.added_spares} more so that losing the server with the most replicas "
          f"({layout.replicas_per_server}) leaves the active ones" if fleet.added_spares else "",
          ", failure domains paired" if name == "resilient" else "",
          f", per deployment, summed over {len(sh.fx.lora_shares)} variant deployments (no LoRA)"
          if several else ""), f"{S_COURSE} step 12"),
        (name, "Servers", fleet.servers, "servers",
         "{} per {}-GPU server, at least {} for {}{}" if layout.servers_per_replica == 1 else
         "{} per replica ({}-GPU servers), at least {} for {}{}",
         (count(per_unit, "replica" if layout.servers_per_replica == 1 else "server"), g.gpus_per_node,
          MIN_SERVERS[red], red,
          ", spread so that a server failure takes out no more replicas than the spares ({})".format(
              "with the spares added above: the cheapest mix of servers and spares on this cost basis"
              if fleet.added_spares else "on this cost basis cheaper than adding spares")
          if _spread(fleet, plan, red) else ""),
         f"{S_COURSE} step 13; worked example §6 packing"),
    ]
    if plan.alternative is not None and plan.ev is not None:  # the automatic choice's runner-up (issue 24)
        gid, total, cost = plan.alternative
        mine = sum(cnt * billed_gpus(inp, p.active, offset, name == "resilient", p.n, g)[0]
                   for cnt, _, p in fleet.deployments) * rank_price(g, inp)
        rec.append((name, "Next cheapest GPU", gid, "", "{} in use, {:+.0%} cost against the {:,}x {} chosen "
                    "(ranked on cost, not GPU count: as inputs change the choice can move between GPUs and the "
                    "GPU count jump)", (count(total, "GPU"), cost / mine - 1.0, fleet.total_gpus, g.id),
                    "xlsizer cost ranking"))


def _pools(plan: Plan, fleet: _Fleet, peak_rps: float) -> tuple[int, int] | None:
    """(prefill, decode) active replicas of a disaggregated plan with one deployment (the
    replicas a planner deploys in each role; the spares are of the same shape, either); None
    otherwise."""
    ev = plan.ev
    if ev is None or not ev.disaggregated or fleet.several:
        return None
    return ev.pools(peak_rps)


def _active_row(name: str, sh: Shared, plan: Plan, fleet: _Fleet, peak_rps: float) -> tuple[Any, ...]:
    """The "Active replicas" explain() row; disaggregated, with its prefill and decode pools."""
    pools = _pools(plan, fleet, peak_rps)
    if pools is not None and plan.ev is not None:
        ev, (p, d) = plan.ev, pools
        return (name, "Active replicas", fleet.active, "replicas",
                "prefill pool ceil({} peak req/s / {} req/s per replica) = {:,} + decode pool ceil({} /"
                " {}) = {:,} (disaggregated)",
                (figure(peak_rps, 4), figure(ev.req_p), p, figure(peak_rps, 4), figure(ev.req_d), d),
                f"{S_COURSE} step 12")
    several = fleet.several
    return (name, "Active replicas", fleet.active, "replicas",
            ("ceil(peak req/s / req/s per replica)" if plan.source == "roofline"
             else "ceil(demand / throughput per replica)")
            + (", each variant's deployment on its share of the traffic, summed over {} deployments (no LoRA)"
               if several else ""), (len(sh.fx.lora_shares),) if several else (), f"{S_COURSE} step 12")


def _spread(fleet: _Fleet, plan: Plan, red: str) -> bool:
    """Whether the redundancy rule put the replicas on more servers than dense packing would."""
    if fleet.whole_nodes is None or fleet.several:
        return False
    if fleet.layout.servers_per_replica > 1:
        return False
    dense = max(math.ceil(fleet.replicas / (plan.gpu.gpus_per_node // plan.n)), MIN_SERVERS[red])
    return fleet.layout.servers > dense


def _fleet_warnings(name: str, sh: Shared, fixed: GpuSpec | None, plan: Plan, fleet: _Fleet, offset: int,
                    warn: list[str]) -> None:
    """What the chosen shape asks the planner to watch: pipeline stages, wide MoE replicas,
    servers holding more replicas than the spares cover, TP over PCIe."""
    layout = fleet.layout
    if plan.pp > 1 and plan.source == "roofline":
        # the course's "TPOT -10-20% per stage" read as a penalty still to come, while the
        # roofline step already holds each stage's hop (step.py: latency and activations' transfer)
        where = "nodes" if plan.tp == plan.gpu.gpus_per_node else f"groups of {plan.tp} GPUs"
        warn.append(f"pipeline parallelism: {plan.pp} stages across {where}: every step passes activations "
                    f"between {where}, which the TPOT shown includes (the course's rule of thumb: 10-20% slower "
                    "per stage)")
    elif plan.pp > 1:
        warn.append(f"pipeline parallelism: {plan.pp} stages across nodes (TPOT -10-20% per stage)")
    if plan.pp > GUARD["max_pipeline_stages"]:
        warn.append(f"pipeline depth {plan.pp} > {GUARD['max_pipeline_stages']}: consider a larger GPU"
                    + (" or expert parallelism" if sh.model.is_moe else ""))
    if sh.model.is_moe and plan.n > 8 and plan.ep == 1:  # a wide expert-parallel replica already is
        warn.append("MoE model above 8 GPUs per replica: consider expert parallelism")
    if layout.replicas_per_server > offset + fleet.added_spares and layout.servers > 1 and name != "baseline":
        warn.append(f"{name}: one server holds {layout.replicas_per_server} replicas, more than the "
                    f"{count(offset, 'spare')} (the course-table method keeps the course's packing): "
                    "a server failure takes out more than the redundancy covers")
    peers = plan.gpu.mesh_peers
    if peers is not None and 1 < plan.tp <= peers and plan.source == "roofline":
        # no switch: a TP group below the whole mesh all-reduces over part of each GPU's links
        warn.append(f"{plan.gpu.id} joins its GPUs pair by pair, without a switch: TP={plan.tp} all-reduces over "
                    f"{plan.tp - 1} of each GPU's {peers} links ({collective_link(plan.gpu, plan.tp)[0] / GB:,.0f} "
                    f"GB/s each way, of {collective_link(plan.gpu, peers + 1)[0] / GB:,.0f} for TP={peers + 1}), "
                    "which the TTFT and TPOT shown include")
    if fixed is not None and fixed.form_factor == "pcie" and plan.tp > 1:
        shown = ", which the TPOT shown includes" if plan.source == "roofline" else ""
        if fixed.bridge_gpus is not None:
            if plan.tp > fixed.bridge_gpus:  # within a bridge group the all-reduces stay on NVLink
                warn.append(f"{fixed.id}'s NVLink bridge joins {fixed.bridge_gpus} GPUs, so TP={plan.tp} all-reduces "
                            f"every layer over PCIe ({collective_link(fixed, plan.tp)[0] / GB:g} GB/s each way, not "
                            f"the bridge's {collective_link(fixed, fixed.bridge_gpus)[0] / GB:g}){shown}")
        elif sh.w > PCIE_MAX_W:
            warn.append(f"{fixed.id} is PCIe-only and the weights are {sh.w / GB:.0f} GB: tensor parallelism over "
                        f"PCIe all-reduces is slow{shown}")


def _racks_row(name: str, inp: SizingInputs, fleet: _Fleet, racks: facility.RackPlan, rack_hosts: int,
               domain: int | None) -> tuple[Any, ...]:
    """The "Racks" explain() row: servers packed to the rack power limit and the course's
    server slots per rack (``facility.MAX_SERVERS_PER_RACK``); an NVL72 system's 1U trays by
    NVLink domain (``facility.domain_trays_per_rack``)."""
    # shared cloud hosts: the racks of the rented GPUs' share
    head, head_args = (("the GPUs' share ({:g} full hosts' worth, rounded up to {}) ",
                        (round(fleet.host_share, 3), rack_hosts)) if fleet.shared else ("", ()))
    if domain:
        cap = racks.capacity  # the rack's product follows what the limit allows, not this deployment's trays
        kind = ("NVL72: the whole 18-tray NVLink domain per rack" if cap == domain else
                "NVL36x2: each 18-tray NVLink domain over two racks of 9, cabled" if cap == domain // 2
                else "fewer trays than an NVL36x2 rack: the limit is below any NVL72 product")
        return (name, "Racks", racks.racks, "racks", head + "{} per rack within {:g} kW ({})",
                (*head_args, count(racks.servers_per_rack, "tray"), inp.rack_power_limit_kw, kind),
                f"{S_COURSE} step 16; NVIDIA GB200 NVL72 / NVL36x2 rack configurations")
    return (name, "Racks", racks.racks, "racks", head + "packed to <= {:g} kW and <= {} servers",
            (*head_args, inp.rack_power_limit_kw, facility.MAX_SERVERS_PER_RACK), f"{S_COURSE} step 16")


def _pue_row(name: str, inp: SizingInputs, racks: facility.RackPlan, domain: int | None,
             tier_pue: float) -> tuple[Any, ...]:
    """The "PUE" explain() row: the user's facility PUE (``pue_override``), else an NVL72 rack's
    (liquid-cooled, ``nvl72_pue``) or the cooling tier's. It said "by cooling tier" for all three."""
    est = "GB200 NVL72 liquid-cooled rack" if domain is not None else f"by cooling tier ({racks.cooling_tier})"
    if inp.pue_override is not None:
        return (name, "PUE", inp.pue_override, "", "your facility's (input pue_override); {}: {:g}",
                (est, tier_pue), "input pue_override")
    return (name, "PUE", tier_pue, "", est, (), f"{S_COURSE} step 16")


def _offload_row(name: str, sh: Shared, plan: Plan, info: dict[str, Any], src: str) -> tuple[Any, ...]:
    """The "KV offload" explain() row where the input asks for it: host memory used per replica
    and the batch it allowed, or why none was used (the KV budget did not bind, or streaming the
    offloaded KV over the host link every step carried fewer requests than the GPUs alone). The
    option said nothing in the explanation either way."""
    if "used" not in info:  # evaluate tries host memory only where the KV budget binds
        return (name, "KV offload", 0.0, "GB per replica", "not needed: the KV budget does not bind ({} does)",
                (plan.cap.binding if plan.cap is not None else "",), src)
    if info["used"]:
        return (name, "KV offload", info["host_gb_used_per_replica"], "GB per replica",
                "host memory extends the KV budget: a batch of {} on the GPUs alone, {} with it; the offloaded share "
                "streams over the {:g} GB/s host link every step", (info["max_batch_gpu_only"],
                                                                   info["max_batch_with_host"],
                                                                   host_link_bytes_per_s(sh.fx, plan.gpu) / 1e9),
                src)
    return (name, "KV offload", 0.0, "GB per replica",
            "not used: the KV budget holds the batch at {}, and streaming the offloaded KV over the {:g} GB/s host link"
            " every step carried fewer requests/s than the GPUs alone at every share tried",
            (info["max_batch_gpu_only"], host_link_bytes_per_s(sh.fx, plan.gpu) / 1e9), src)


def _peak_ttft(arr: Arrivals, plan: Plan, offered_rps: float) -> tuple[float, str, tuple[Any, ...]]:
    """Mean TTFT, s, at the scenario's peak load under the arrivals ``arr``, with the formula
    and its arguments for explain(): the prefill pool's queue when disaggregated, else the
    decode replica's own (``slo.mean_wait_words`` names the queue)."""
    cap, ev = plan.cap, plan.ev
    if ev is not None and ev.disaggregated:  # the prefill pool's queue + KV transfer
        n_p = max(1, math.ceil(offered_rps / ev.req_p - 1e-9))
        # the pool's queue as slo.py reads its percentile (latency.ttft_open, no decode steps)
        ttft = (ttft_open(offered_rps / n_p, cap.prefill_s, 0.0, 0.0, None, arr, cap.queue_scale)
                + ev.ttft_fixed_s + cap.first_token_s)
        return ttft, ("{} + prefill {:.0f} ms + KV transfer {:.1f} ms + engine first-token overhead {:.0f} ms"), \
            (mean_wait_words(arr, pool=True, queue_scale=cap.queue_scale), cap.prefill_s * 1000.0,
             ev.ttft_fixed_s * 1000.0, cap.first_token_s * 1000.0)
    ttft = ttft_at_load_q(cap, min(offered_rps / plan.active, cap.req_s), None, arr)
    return ttft, ("{} + prefill {:.0f} ms + the decode work sharing its {:g} chunk step(s) + half the step"
                  " running on arrival + engine first-token overhead {:.0f} ms"), \
        (mean_wait_words(arr, queue_scale=cap.queue_scale), cap.prefill_s * 1000.0, cap.prefill_chunks,
         cap.first_token_s * 1000.0)


def _performance(name: str, inp: SizingInputs, sh: Shared, plan: Plan, fleet: _Fleet, need: _Need,
                 warn: list[str], rec: Rec) -> dict[str, Any]:
    """The roofline plan's performance at peak (extra["perf"]), what each optimization did
    (extra["optimizations"]) and, for MoE, where a step goes. Empty in the course's table mode."""
    extra: dict[str, Any] = {}
    cap = plan.cap
    if cap is None:
        return extra
    g, n, w, act = plan.gpu, plan.n, sh.w, sh.act
    src = sh.perf_source(g, inp)
    off_rps = sh.rps * need.burst * fleet.deployments[0][1]
    ttft, ttft_how, ttft_args = _peak_ttft(sh.arr, plan, off_rps)
    extra["perf"] = {
        "batch": cap.batch, "mean_batch": cap.mean_batch, "max_batch": cap.max_batch, "tpot_ms": cap.tpot_s * 1000.0,
        "tpot_floor_ms": cap.tpot_floor_s * 1000.0, "ttft_ms": ttft * 1000.0, "prefill_ms": cap.prefill_s * 1000.0,
        "out_tok_s_per_replica": cap.out_tok_s, "out_tok_s_per_gpu": cap.out_tok_s_per_gpu,
        "req_s_per_replica": plan.tput / (sh.prompt + sh.out_tok), "binding": cap.binding,
        "kv_budget_gb_per_replica": (n * g.memory_bytes / (1.0 + HEADROOM[name]) - w - plan.extra_w - act
                                     - sh.fx.extra_resident_bytes) / GB,
        "memory_per_replica_gb": (w + plan.extra_w + act + sh.fx.extra_resident_bytes + cap.batch * sh.kv_plan) / GB,
        "ep": plan.ep,
    }
    pools = _pools(plan, fleet, off_rps)
    if pools is not None:  # disaggregated: the active replicas by role
        extra["perf"]["prefill_replicas"], extra["perf"]["decode_replicas"] = pools
    extra["optimizations"] = _optimizations(name, inp, sh, plan, fleet.deployments, warn)
    if inp.kv_offload:
        rec.append(_offload_row(name, sh, plan, extra["optimizations"].get("kv_offload") or {}, src))
    if cap.binding == STATIC_BINDS:
        batch_how, batch_args = ("the static batch that carries the most requests/s (continuous batching off: a batch"
                                 " holds its slots until its longest request ends, and the longest of more requests is"
                                 " longer, so a larger one carries fewer), below the largest that the p{:g} TPOT"
                                 " {:g} ms and TTFT {:g} ms targets and the KV budget (max batch by KV {}) allow",
                                 (inp.slo_percentile, inp.tpot_ms, inp.ttft_ms, cap.max_batch))
    elif cap.binding == ENGINE_SEQS_BINDS:
        batch_how, batch_args = ("the serving engine's most sequences per replica ({}: its default limit, engines.yaml;"
                                 " an engine setting, not a GPU's), below the largest that the p{:g} TPOT {:g} ms"
                                 " target and the KV budget allow", (inp.serving_engine.value, inp.slo_percentile,
                                                                     inp.tpot_ms))
    elif cap.binding == TTFT_BINDS:
        batch_how, batch_args = ("mean sequences in flight (Little's law) where the p{:g} TTFT reaches the {:g} ms "
                                 "target{}", (inp.slo_percentile, inp.ttft_ms, _BELOW_ONE if cap.mean_batch < 1.0
                                              else ""))
    elif sh.fx.static_batching:
        batch_how, batch_args = ("largest static batch (a whole number of requests) with TPOT <= {:g} ms and KV in"
                                 " budget (max batch by KV {})", (inp.tpot_ms, cap.max_batch))
    else:
        batch_how, batch_args = ("largest mean batch (random arrivals: a mean, with a fraction) with TPOT <= {:g} ms"
                                 " and KV in budget (max batch by KV {})", (inp.tpot_ms, cap.max_batch))
    rec += [
        (name, "Batch per replica", cap.mean_batch, "sequences", batch_how, batch_args, src),
        (name, "TPOT at capacity", cap.tpot_s * 1000.0, "ms",
         "decode step at a mean batch of {} / tokens per step; floor {:.1f}"
         " ms", (figure(max(cap.mean_batch, 1.0), 4), cap.tpot_floor_s * 1000.0), src),
        (name, "TTFT at peak load", ttft * 1000.0, "ms", ttft_how, ttft_args, src),
        (name, "Binding resource", cap.binding, "", "what stops a larger batch", (), src),
    ]
    rec += _sustained_tensor(name, g)
    rec += _fp4_sustained(name, sh.model, g, plan.prec)
    rec += _fp4_scope(name, sh.model, plan.prec)
    extra["perf"].update(slo_latency(name, inp, cap, plan.ev, off_rps, plan.active, ttft, rec))
    if sh.model.is_moe and plan.prec is not None:  # issue 11: where a MoE step goes
        shares = step_shares(sh.model, g, plan.tp, plan.prec, sh.prompt, sh.out_tok, cap.batch, pp=plan.pp, ep=plan.ep,
                             kv_precision=inp.kv_precision, engine=inp.serving_engine.value,
                             prefill_tokens=sh.fx.prefill_tokens, tuning=plan.tuning, calibration=sh.cal(g, inp),
                             arrivals=sh.arr)
        extra["perf"].update({f"moe_{k}_share": v for k, v in shares.items()})
        for key, label, how in MOE_SHARES:
            rec.append((name, label, shares[key] * 100.0, "%", how, (), src))
    return extra


def _fp4_scope(name: str, model: ModelSpec, prec: Precision | None) -> Rec:
    """The explanation row of a MoE at FP4 whose weights outside the routed experts stay as
    released (``memory.dense_weights_precision``, a judgement call configurable per model); none
    elsewhere."""
    if prec is None:
        return []
    dense = memory.dense_weights_precision(model, prec)
    if dense is prec:
        return []
    return [(name, "FP4 weights", "routed experts", "",
             "attention, shared experts and LM head stay in {} as {}'s 4-bit checkpoints ship them "
             "(a judgement call, stated: catalog fp4_scope 'all' holds every weight in 4 bits)",
             (dense.value.upper(), model.id),
             "published quantization_config of the 4-bit MoE checkpoints; engine/memory.py dense_weights_precision")]


def _sustained_tensor(name: str, g: GpuSpec) -> Rec:
    """The explanation row of a GPU whose measured sustained tensor rate differs from the
    reference GPU's share of its datasheet (``step.sustained_tensor_ratio``); none where it
    is the reference's or not measured."""
    r = sustained_tensor_ratio(g)
    if abs(r - 1.0) < 0.005:
        return []
    return [(name, "Sustained tensor rate", r, "x",
             "{:,.0f} of {:,.0f} BF16 TFLOPS measured on {} ({:.0%} of its datasheet) against {:.0%} on {}: "
             "every tensor-core rate of this GPU is taken at {:.2f}x the reference's share (the clock its "
             "power limit holds under dense matrix load; a judgement call, stated: the BF16 measurement "
             "stands for every precision)",
             (g.mamf_bf16_tflops, g.dense_flops(Precision.BF16) / TERA, g.id, g.mamf_efficiency,
              reference_mamf_efficiency(), REFERENCE_MAMF_GPU, r),
             "xlsizer GPU catalog, measured max-achievable matmul (github.com/stas00/ml-engineering MAMF table)")]


def _fp4_sustained(name: str, model: ModelSpec, g: GpuSpec, prec: Precision | None) -> Rec:
    """The explanation row of a GPU whose FP4 math runs at less than its datasheet rate
    (``GpuSpec.fp4_sustained_ratio``), where this plan multiplies at FP4; none elsewhere."""
    r = g.fp4_sustained_ratio
    if r is None or prec is None or Precision.FP4 not in (gemm_compute(g, prec), expert_compute(model, g, prec)):
        return []
    peak = g.dense_flops(Precision.FP4) / TERA
    return [(name, "Sustained FP4 rate", r * peak, "TFLOPS",
             "{:g} x {:,.0f} dense FP4 TFLOPS on the datasheet: the share tuned systems sustain on {} "
             "(a judgement call, stated: fitted on public MLPerf Offline results, held out by model)",
             (r, peak, g.id), "xlsizer GPU catalog, sustained FP4 share (fitted on public MLPerf Offline results)")]


def _site(name: str, inp: SizingInputs, sh: Shared, plan: Plan, fleet: _Fleet, need: _Need,
          warn: list[str], rec: Rec) -> _Site:
    """Course steps 15-16: racks, cooling, PUE, facility power and fabric; refuses a replica
    that no rack holds or a deployment beyond the ceiling (engine/guardrails.py, issue 15)."""
    g, layout = plan.gpu, fleet.layout
    it_kw = fleet.it_w / 1000.0
    # shared cloud hosts: the racks and cooling of the rented GPUs' share, as whole hosts (rounded up)
    rack_hosts = math.ceil(fleet.host_share - 1e-9) if fleet.shared else fleet.servers
    host_kw = fleet.it_w / fleet.host_share / 1000.0 if fleet.shared else fleet.it_w / fleet.servers / 1000.0
    domain = facility.rack_domain_trays(g)
    racks = facility.rack_plan(rack_hosts, host_kw, inp.rack_power_limit_kw, g.liquid_cooling_required,
                               domain_trays=domain)
    # the facility's own PUE where the user gives it (pue_override): it is a measured fact of the
    # building, the tier's a course estimate, and the facility kW and the power bill must agree
    tier_pue = NVL72_PUE if domain is not None else racks.pue
    pue = inp.pue_override if inp.pue_override is not None else tier_pue
    fac_kw = it_kw * pue
    rack_servers = max(racks.capacity, domain or 0)
    # a denser rack holds the replica where its power limit, not its server slots, binds
    kw_needed = (layout.servers_per_replica * host_kw
                 if domain is None and layout.servers_per_replica <= facility.MAX_SERVERS_PER_RACK else None)
    guardrails.check_replica_fits_a_rack(name, g.id, plan.n, layout.servers_per_replica, rack_servers,
                                         inp.rack_power_limit_kw, need.course, kw_needed)
    alt = plan.alternative  # the automatic choice's runner-up: (GPU, GPUs in use, cost)
    guardrails.check_deployment_ceiling(name, g.id, fleet.total_gpus, fac_kw, inp.max_total_gpus,
                                        (alt[0], alt[1]) if alt is not None else None)
    fab = facility.fabric(layout.servers_per_replica, sh.model.is_moe, sh.model.total_params_b,
                          in_scale_up_domain=plan.n <= g.scaleup_gpus)
    if g.liquid_cooling_required:
        warn.append(f"{g.id} requires direct liquid cooling (and typically 415 V power distribution)")
    if domain and racks.capacity < domain // 2:  # what a rack can hold, not what this deployment puts there
        half = domain // 2
        warn.append(f"{g.id}: a rack of {inp.rack_power_limit_kw:g} kW holds {count(racks.capacity, 'tray')}, fewer "
                    f"than an NVL36x2 rack's {half} ({half * host_kw:.0f} kW; NVL72 {domain * host_kw:.0f} kW): no "
                    "NVL72 configuration fits the facility's racks")
    rec += [
        (name, "Server power", fleet.server_w / 1000.0, "kW", "{} x {:g} W + platform",
         (layout.gpus_per_server, g.tdp_w), "defaults.yaml server_power (DGX H100/B200 system maxima; course §10.5)"),
        (name, "IT power", it_kw, "kW", "{} x {:.3f} kW (TDP + its share of a full {}-GPU host's platform: "
         "the plan rents GPUs on {} shared with other tenants)" if fleet.shared else
         "{} x {:.2f} kW",
         (count(fleet.total_gpus, "GPU"), fleet.it_w / fleet.total_gpus / 1000, layout.gpus_per_server,
          count(fleet.servers, "host"))
         if fleet.shared else (count(fleet.servers, "server"), fleet.it_w / fleet.servers / 1000),
         f"{S_COURSE} step 16" + ("; xlsizer shared cloud hosts (docs/method.md 'Spares and servers')"
                                  if fleet.shared else "")),
        _racks_row(name, inp, fleet, racks, rack_hosts, domain),
        (name, "Cooling tier", racks.cooling_tier, "", "{:.1f} kW per rack", (racks.kw_per_rack,),
         f"{S_COURSE} step 16"),
        _pue_row(name, inp, racks, domain, tier_pue),
        (name, "Facility power", fac_kw, "kW", "IT kW x PUE", (), f"{S_COURSE} step 16"),
        (name, "Fabric", fab, "", "one node per replica: front-end only; spanning nodes: InfiniBand, or NVLink"
         " inside one scale-up domain (NVL72)", (),
         f"{S_COURSE} step 15"),
    ]
    return _Site(racks, it_kw, pue, fac_kw, fab)


def _latency_warnings(name: str, inp: SizingInputs, sh: Shared, plan: Plan, need: _Need, warn: list[str],
                      rec: Rec) -> None:
    """Course step 17 and the checks beside it: worst-case KV at max context (Burst), the
    prefill estimate against the TTFT target, an aggressive TTFT for long prompts."""
    g, n, model = plan.gpu, plan.n, sh.model
    if name == "burst":
        worst_kv = need.inflight * memory.kv_bytes_for_context(model, inp.max_context_tokens,
                                                               inp.kv_precision.bytes_per_element)
        if worst_kv > WORST_KV_RATIO * need.kv_total:
            # Little's law's mean in flight, a fraction at a light load ("0.00833 requests", not "0")
            reqs = round(need.inflight) if need.inflight >= 1.0 else need.inflight
            what = count(reqs, "request") if reqs >= 1 else f"{figure(reqs)} requests in flight on average"
            warn.append(f"worst case: {what} at max context ({inp.max_context_tokens:,} tokens) "
                        f"need{'s' if reqs == 1 else ''} {figure(worst_kv / GB)} GB of KV, over {WORST_KV_RATIO:g}x "
                        f"the sized {figure(need.kv_total / GB)} GB: cap the context or enable KV offload")
    cp = compute_precision(g, inp.precision)
    prefill_ms = 2 * sh.fx.prefill_tokens * model.active_params / (n * g.dense_flops(cp)) * 1000.0
    rec.append((name, "Prefill estimate", prefill_ms, "ms", "2 x {:,.0f} x {:g}B / ({} x {:,.0f} TFLOPS)",
                (sh.fx.prefill_tokens, model.active_params / 1e9, n, g.dense_flops(cp) / TERA), f"{S_COURSE} step 17"))
    if prefill_ms > inp.ttft_ms:
        warn.append(f"TTFT: prefill alone takes ~{prefill_ms:.0f} ms on {n}x {g.id}, above the {inp.ttft_ms:g} ms "
                    "target")
    if inp.ttft_ms < GUARD["short_ttft_ms"] and sh.prompt > GUARD["long_prompt_tokens"]:
        warn.append(f"TTFT target {inp.ttft_ms:g} ms with {sh.prompt:,}-token prompts is aggressive")
    _measured_step_warning(name, inp, sh, plan, warn)
    _measured_results_warning(name, inp, sh, plan, warn)
    if name == "burst":
        _equal_answers_warning(inp, sh, plan, warn)
        _prefill_slot_warning(sh, plan, warn)
        _static_wait_warning(sh, plan, warn)
    cap = plan.cap
    if name == "burst" and cap is not None and cap.binding == TTFT_BINDS and cap.mean_batch < 1.0:
        warn.append(f"TTFT: each replica holds {cap.mean_batch:.2f} sequences on average{_BELOW_ONE}: a looser TTFT "
                    f"target, shorter prompts or a faster prefill (more GPUs per replica, a faster GPU) need fewer "
                    "GPUs")


def _static_wait_warning(sh: Shared, plan: Plan, warn: list[str]) -> None:
    """With continuous batching off, say what the TTFT shown leaves out: a request that arrives
    while a static batch runs waits for that batch to end before its own starts. The TTFT model
    is the continuous engine's prefill queue; the batch's cycle (its prompts, then decode steps
    until its longest answer ends: the slot time the capacity already charges, prefill + output x
    TPOT / useful share) is the wait a static server adds, half of it on average for a steady
    cycle (``Effects.static_cycle_s``). Stated, not modelled: most TTFT targets are far below it."""
    cap = plan.cap
    fx = sh.fx
    if not fx.static_batching or cap is None or cap.batch < 1:
        return
    cycle = fx.static_cycle_s(cap.batch, cap.prefill_s, cap.tpot_s)
    warn.append(f"continuous batching off: a request that arrives while a static batch runs waits for it to end "
                f"before its own batch starts; a batch here runs {cycle:,.1f} s (its prompts, then until its longest "
                f"answer ends), so about {cycle / 2:,.1f} s of wait on average, which the TTFT shown (the continuous "
                f"engine's prefill queue) leaves out: a static server meets no TTFT target below that wait")


_BELOW_ONE = (", below one: it idles between requests so that a prompt seldom waits behind another's prefill, "
              "and the TTFT target, not the load, sets the replica count")


SPREAD_STEP_GAIN: float = 0.10
"""An equal-length sizing (length_cv 0) is warned when answers spread as an exponential's
(CV 1) would lengthen its decode step by more than this fraction at the plan's batch (a
definition of "matters", not a measurement)."""


def _equal_answers_warning(inp: SizingInputs, sh: Shared, plan: Plan, warn: list[str]) -> None:
    """Where every answer is taken at the average length (the default) and the plan's step
    leans on attention, say what a spread of answer lengths would do: a long answer's tokens
    attend to longer contexts (``step.decode_context``), so answers spread as an exponential's
    (CV 1) attend to prompt + output, not prompt + output / 2. Roofline plans only."""
    cap = plan.cap
    if cap is None or plan.prec is None or sh.arr.answer_cv > 0.0:
        return
    kw = dict(pp=plan.pp, ep=plan.ep, kv_precision=sh.kv_prec, engine=inp.serving_engine.value,
              prefill_tokens=0.0 if sh.fx.disaggregated else sh.fx.prefill_tokens, tuning=plan.tuning,
              calibration=sh.cal(plan.gpu, inp))
    b = cap.mean_batch
    equal = mean_step_s(sh.model, plan.gpu, plan.tp, plan.prec, sh.prompt, sh.out_tok, b, arrivals=sh.arr, **kw)
    spread = mean_step_s(sh.model, plan.gpu, plan.tp, plan.prec, sh.prompt, sh.out_tok, b,
                         arrivals=sh.arr._replace(output_cv=1.0), **kw)
    gain = spread / equal - 1.0
    if gain <= SPREAD_STEP_GAIN:
        return
    at_one, at_zero = decode_context(sh.prompt, sh.out_tok, 1.0), decode_context(sh.prompt, sh.out_tok)
    warn.append(f"answers are taken as all {sh.out_tok:,} tokens long (length_cv 0), and attention is a large part "
                f"of this plan's decode step: answers spread as an exponential's (CV 1) would lengthen it by "
                f"{gain:.0%} at the same batch (each token attending to {at_one:,.0f} tokens, not {at_zero:,.0f}), "
                "so they would need more GPUs; set length_cv from your request logs (MLPerf's DeepSeek-R1 answers "
                "spread with CV 1.25)")


PREFILL_SLOT_SHARE: float = 0.05
"""A plan is warned when its requests spend more than this share of the time they hold a
replica's slot in prefill (a definition of "matters", not a measurement: the capacity's
over-charge is at most about that share)."""


def _prefill_slot_warning(sh: Shared, plan: Plan, warn: list[str]) -> None:
    """Where a request spends a material share of its slot time in prefill (long prompts,
    short answers, a slow prefill), say that the capacity errs toward more GPUs by up to about
    that share: Little's law counts the slot for prefill + output x TPOT, while the step charges
    every slot as a decoding sequence (docs/method.md, "Answers that must move the right way").
    Continuous batching, one pool (a disaggregated decode pool runs no prefill)."""
    cap, ev = plan.cap, plan.ev
    if cap is None or ev is None or ev.disaggregated or sh.fx.static_batching:
        return
    share = cap.prefill_s / (cap.prefill_s + sh.out_tok * cap.tpot_s)
    if share <= PREFILL_SLOT_SHARE:
        return
    warn.append(f"each request spends {share:.0%} of its time in a replica in prefill ({sh.prompt:,}-token prompts, "
                f"{cap.prefill_s * 1000:,.0f} ms on its replica, against {sh.out_tok:,} output tokens): the capacity "
                "counts those sequences as decoding in every step, which errs toward more GPUs, by up to about "
                f"{share:.0%} (docs/method.md, \"Answers that must move the right way\")")


def _measured_step_warning(name: str, inp: SizingInputs, sh: Shared, plan: Plan, warn: list[str]) -> None:
    """Where tuned systems on the plan's GPU measured a slower mean decode step than the model's
    at as many sequences per replica as the plan runs (``GpuSpec.measured_step``), say so: the
    plan's TPOT is likely optimistic there, and the Burst scenario's finding widens the band
    (``_widened``). Not with a team's profile for that GPU (its own runs replace the packaged
    step), and not for the course table's fixed throughput."""
    m, cap = plan.gpu.measured_step, plan.cap
    if m is None or cap is None or sh.cal(plan.gpu, inp) is not None:
        return
    if m.sequences_low <= cap.batch <= m.sequences_high:
        sh.measured[name] = m
        # no count in the text: the scenarios' batches differ a little, and one note says it for all
        warn.append(f"{plan.gpu.id}: this plan runs its replicas at a batch where tuned MLPerf systems on this GPU "
                    f"measured a mean decode step {m.ratio_low:g}-{m.ratio_high:g}x the model's ({m.sequences_low}-"
                    f"{m.sequences_high} sequences per replica; docs/method.md), so its TPOT may come out that much "
                    "above the target: treat it as optimistic, or calibrate on your own runs (xlsizer calibrate)")


def _measured_results_warning(name: str, inp: SizingInputs, sh: Shared, plan: Plan, warn: list[str]) -> None:
    """Where every MLPerf result on the plan's GPU that the model predicts came out below its
    prediction (``GpuSpec.measured_results``), say so with any plan on it: the plan is likely
    optimistic, and the Burst scenario's finding widens the band (``_widened``). Not with a team's
    profile for that GPU, and not for the course table's fixed throughput."""
    r, cap = plan.gpu.measured_results, plan.cap
    if r is None or cap is None or sh.cal(plan.gpu, inp) is not None:
        return
    sh.optimistic[name] = r
    warn.append(f"{plan.gpu.id}: every MLPerf result on this GPU that xlsizer predicts came out below its prediction, "
                f"at {r.ratio_low:g}-{r.ratio_high:g} of the predicted throughput ({r.results} results from "
                f"{r.submitters} submitters; docs/method.md), so this plan is likely optimistic, by up to "
                f"{1.0 / r.ratio_low:.1f}x: buy with that margin, or calibrate on your own runs (xlsizer calibrate)")


def _scenario_result(name: str, inp: SizingInputs, sh: Shared, plan: Plan, fleet: _Fleet, need: _Need, site: _Site,
                     warn: list[str], extra: dict[str, Any]) -> Scenario:
    """The scenario's result model from its steps."""
    g, layout = plan.gpu, fleet.layout
    spec = facility.server_spec(g, layout.gpus_per_server, sh.w / GB, need.kv_total / GB, inp.kv_offload)
    return build(
        Scenario, name=name, gpu=g.id, gpu_name=g.name, gpus_per_replica=plan.n, tp=plan.tp, pp=plan.pp,
        active_replicas=fleet.active, replicas=fleet.replicas, total_gpus=fleet.total_gpus, servers=fleet.servers,
        replicas_per_server=layout.replicas_per_server, gpus_per_server=layout.gpus_per_server,
        shared_hosts=fleet.shared,
        throughput_per_replica_tok_s=plan.tput, throughput_source=plan.source,
        memory=build(Memory, weights_gb=sh.w / GB, kv_bytes_per_token=sh.kv_tok, kv_per_request_gb=need.kv_req / GB,
                     state_per_request_gb=sh.state / GB, state_total_gb=need.inflight * sh.state / GB,
                     kv_total_gb=need.kv_total / GB, activations_gb=sh.act / GB, headroom_gb=need.head / GB,
                     vram_gb=need.vram / GB),
        traffic=build(Traffic, rps=sh.rps, inflight_requests=need.inflight, demand_tok_s=need.demand),
        server=build(Server, gpus=spec.gpus, cpu=spec.cpu, ram_gb=spec.ram_gb, nvme_tb=spec.nvme_tb, nic=spec.nic),
        racks=site.racks.racks, kw_per_rack=site.racks.kw_per_rack, it_kw=site.it_kw, facility_kw=site.facility_kw,
        pue=site.pue, cooling_tier=site.racks.cooling_tier, fabric=site.fabric, warnings=list(dict.fromkeys(warn)),
        extra=extra,
    )


def _optimizations(name: str, inp: SizingInputs, sh: Shared, plan: Plan,
                   deployments: list[tuple[int, float, Plan]], warn: list[str]) -> dict[str, Any]:
    """What each technique did in this scenario (JSON ``extra.optimizations``); adds the
    warning when speculative decoding costs more than it gives at the sized batch."""
    fx = sh.fx
    out: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v
                           for k, v in fx.summary.items() if not k.startswith("_")}
    ev = plan.ev
    if ev is not None:
        for k, v in ev.info.items():
            out.setdefault(k, {}).update(v)
    out["lora"]["deployments"] = sum(c for c, _, _ in deployments)
    if fx.draft is not None and ev is not None and plan.prec is not None:
        tun0 = fx.tuning_for(plan.gpu, plan.n, compute_precision(plan.gpu, plan.prec), spec=False,
                             calibration=sh.cal(plan.gpu, inp))
        ev0, floor0 = evaluate(inp, sh, plan.gpu, plan.n, plan.tp, plan.pp, plan.prec, plan.budget, tun0, plan.ep)
        cap = ev.cap
        sd = out["speculative_decoding"]
        sd["tpot_floor_ms"] = cap.tpot_floor_s * 1000.0
        sd["tpot_floor_ms_without"] = floor0 * 1000.0
        sd["tpot_gain_at_batch_1"] = floor0 / cap.tpot_floor_s
        if ev0 is not None:
            sd["req_s_per_replica_without"] = ev0.req_d
            sd["throughput_gain"] = ev.req_d / ev0.req_d
            if ev.req_d < SPEC_NOT_PAYING * ev0.req_d:
                warn.append(f"{name}: speculative decoding does not pay at batch {cap.batch} on "
                            f"{plan.n}x {plan.gpu.id}: "
                            f"{figure(ev.req_d)} req/s per replica with it, {figure(ev0.req_d)} without (verifying "
                            f"{fx.spec_k + 1} tokens per sequence costs more compute than the "
                            f"{fx.spec_tokens_per_step:.2f} accepted tokens save)")
    return out
