"""The composition root: the course Sizer's steps (course.md §10.3), run once per scenario.

Each step is a call into a pure function of memory.py, traffic.py, placement.py,
throughput.py or facility.py; this module only wires them and records every intermediate
value (name, value, unit, formula, source) for ``SizingResult.explain()``.
"""

from __future__ import annotations

from typing import Any

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine import facility, memory, placement, traffic
from xlsizer.engine.throughput import course_table_throughput
from xlsizer.errors import InfeasibleError
from xlsizer.inputs import SizingInputs, ThroughputSource
from xlsizer.precision import Precision
from xlsizer.resolve import output_tokens, resolve_gpu, resolve_model
from xlsizer.results import SCENARIOS, Memory, Scenario, Server, SizingResult, Traffic, build
from xlsizer.units import GB, TERA

_D = read_data_file("defaults.yaml")
HEADROOM: dict[str, float] = {k: float(v["headroom_fraction"]) for k, v in _D["scenarios"].items()}
RESILIENT_MIN_BURST: float = float(_D["resilient_min_burst"])
MIN_SERVERS: dict[str, int] = dict(_D["min_servers"])
SPEC_VRAM: float = float(_D["speculative_vram_factor"])
KV_OFFLOAD_FRACTION: float = float(_D["kv_offload_gpu_fraction"])
WORST_KV_RATIO: float = float(_D["worst_case_kv_ratio"])
PICK = _D["gpu_pick"]
GUARD = _D["guardrails"]
CONF_TABLE = _D["confidence_course_table"]
NVL72_PUE = float(_D["nvl72_pue"])

S_COURSE = "course.md §10.3"
Rec = list[tuple[str, str, Any, str, str, str]]


def _candidates() -> list[GpuSpec]:
    cat = load_catalog()
    return [cat.gpu(g) for g in PICK["order"]]


def scenario_burst(name: str, user_burst: float) -> float:
    """Burst factor a scenario sizes for (course step 12)."""
    if name == "baseline":
        return 1.0
    if name == "burst":
        return user_burst
    return max(user_burst, RESILIENT_MIN_BURST)


def scenario_offset(name: str, user_offset: int) -> int:
    """Spare replicas a scenario adds (course step 12)."""
    if name == "baseline":
        return 0
    if name == "burst":
        return max(1, user_offset)
    return 2


def _compute_precision(gpu: GpuSpec, p: Precision) -> Precision:
    """The precision the GPU multiplies at: the weights' own, or BF16 when the GPU lacks it
    (weight-only kernels dequantize FP8/INT8 to BF16, e.g. vLLM's Marlin on A100)."""
    return p if gpu.supports(p) else Precision.BF16


def size(inp: SizingInputs) -> SizingResult:
    """Size a deployment for all three scenarios. Pure: same inputs, same answer."""
    model = resolve_model(inp)
    fixed = resolve_gpu(inp)
    out_tok = output_tokens(inp, model)
    prompt = inp.avg_prompt_tokens
    tpot_s = inp.tpot_ms / 1000.0
    rec: Rec = []
    top_warn: list[str] = []

    # --- shared steps -------------------------------------------------------------------
    bpp = inp.precision.bytes_per_element
    kv_b = inp.kv_precision.bytes_per_element
    w = memory.weights_bytes(model.total_params, bpp)
    w_active = memory.weights_bytes(model.active_params, bpp)
    kv_tok = memory.kv_bytes_per_token(model, kv_b)
    ctx = prompt + out_tok
    kv_req = memory.kv_bytes_for_context(model, ctx, kv_b)
    rps = traffic.requests_per_second(inp.concurrent_users, inp.requests_per_user_per_minute)
    t_req = out_tok * tpot_s
    act = memory.activations_bytes(w)
    rec += [
        ("all", "Weights", w / GB, "GB", f"{model.total_params_b:g}B params x {bpp:g} B ({inp.precision.label})",
         f"{S_COURSE} step 1"),
        ("all", "KV bytes per token", kv_tok, "B", _kv_formula(model, kv_b), "course.md §4; catalog.md model note 3 (MLA)"),
        ("all", "KV per request", kv_req / GB, "GB", f"KV/token x ({prompt:,} + {out_tok:,}) tokens"
         + (" (sliding-window layers capped)" if model.sliding_window else ""), f"{S_COURSE} step 2"),
        ("all", "RPS", rps, "req/s", f"{inp.concurrent_users:g} users x {inp.requests_per_user_per_minute:g} rpm / 60",
         f"{S_COURSE} step 3"),
        ("all", "Time per request", t_req, "s", f"{out_tok:,} output tokens x {inp.tpot_ms:g} ms", f"{S_COURSE} step 3"),
        ("all", "Activations", act / GB, "GB", "max(2 GB, 5% x weights)", f"{S_COURSE} step 5"),
    ]

    scenarios: dict[str, Scenario] = {}
    for name in SCENARIOS:
        scenarios[name] = _scenario(name, inp, model, fixed, w, w_active, kv_tok, kv_req, rps, t_req, act,
                                    prompt, out_tok, rec)

    conf = _confidence(model, inp)
    b = scenarios["burst"]
    headline = (f"Plan on {b.servers} server{'s' if b.servers != 1 else ''} of {b.gpus_per_server}x {b.gpu_name}"
                f" - {b.total_gpus} GPUs across {b.replicas} replica{'s' if b.replicas != 1 else ''}"
                f" of {b.gpus_per_replica}x {b.gpu} (TP={b.tp}{f', PP={b.pp}' if b.pp > 1 else ''}),"
                f" {b.it_kw:.1f} kW IT / {b.facility_kw:.1f} kW facility, {b.cooling_tier}.")
    seen: set[str] = set()
    for s in scenarios.values():
        for wmsg in s.warnings:
            if wmsg not in seen:
                seen.add(wmsg)
                top_warn.append(wmsg)
    return build(SizingResult, inputs=inp, scenarios=scenarios, warnings=top_warn, confidence=conf,
                 headline=headline, steps=rec)


def _kv_formula(model: ModelSpec, kv_b: float) -> str:
    if model.mla is not None:
        return f"{model.layers} layers x ({model.mla.kv_lora_rank} + {model.mla.qk_rope_head_dim}) latent x {kv_b:g} B (MLA)"
    return f"2 x {model.layers} layers x {model.kv_heads} KV heads x {model.head_dim} head dim x {kv_b:g} B"


def _confidence(model: ModelSpec, inp: SizingInputs) -> dict[str, Any]:
    kind = "moe" if model.is_moe else "dense"
    frac = float(CONF_TABLE[kind])
    return {"low": -frac, "high": frac, "kind": kind,
            "source": "course Sizer's fixed badge (course.md §10.2): ±15% dense/GQA, ±30% MoE"}


def _scenario(
    name: str, inp: SizingInputs, model: ModelSpec, fixed: GpuSpec | None, w: float, w_active: float,
    kv_tok: float, kv_req: float, rps: float, t_req: float, act: float, prompt: int, out_tok: int, rec: Rec,
) -> Scenario:
    warn: list[str] = []
    burst = scenario_burst(name, inp.burst_factor)
    inflight = traffic.inflight_requests(rps, t_req, burst)
    kv_total = inflight * kv_req
    if inp.kv_offload:
        kv_total *= KV_OFFLOAD_FRACTION
    head = memory.headroom_bytes(HEADROOM[name], w, kv_total, act)
    vram = w + kv_total + act + head
    if inp.speculative_decoding:
        vram *= SPEC_VRAM
    bw_need = (w_active + kv_total) / (inp.tpot_ms / 1000.0)
    rec += [
        (name, "Burst factor", burst, "x", "1.0 / user / max(user, 3.0)", f"{S_COURSE} step 12"),
        (name, "In-flight requests", inflight, "requests", f"RPS x {t_req:g} s x burst {burst:g}", f"{S_COURSE} step 3 (Little's law)"),
        (name, "KV total", kv_total / GB, "GB", "in-flight x KV per request" + (" x 0.5 (offload)" if inp.kv_offload else ""),
         f"{S_COURSE} step 4"),
        (name, "Headroom", head / GB, "GB", f"{HEADROOM[name]:.0%} x (weights + KV + activations)", f"{S_COURSE} step 6"),
        (name, "VRAM", vram / GB, "GB", "weights + KV + activations + headroom" + (" x 1.10 (speculative)" if inp.speculative_decoding else ""),
         f"{S_COURSE} step 7"),
        (name, "Bandwidth needed", bw_need / 1e9, "GB/s", f"(active weights + KV) / {inp.tpot_ms:g} ms", f"{S_COURSE} step 8"),
    ]

    # --- GPU choice ---------------------------------------------------------------------
    if fixed is None:
        choice = placement.pick_gpu(_candidates(), inp.precision, vram, bw_need, w,
                                    sizes=tuple(PICK["gpus_per_replica"]), margin=float(PICK["bandwidth_margin"]),
                                    pcie_max_weights_bytes=float(PICK["pcie_max_weights_gb"]) * GB)
        if choice is None:
            raise InfeasibleError(f"no GPU in the automatic search supports {inp.precision.label}; choose a GPU")
        how = f"first of {' > '.join(PICK['order'])} x (1,2,4,8) with memory >= VRAM and bandwidth >= {choice.bandwidth_margin:g} x need; precision gate {inp.precision.label}"
    else:
        choice = placement.fixed_gpu(fixed, vram, bw_need, sizes=tuple(PICK["gpus_per_replica"]))
        how = "user-chosen GPU; smallest count that holds the VRAM and meets the bandwidth need"
        if not fixed.supports(inp.precision):
            warn.append(f"{fixed.id} has no {inp.precision.label} tensor cores: {inp.precision.label} weights run "
                        f"weight-only (dequantized to BF16), so compute runs at the BF16 rate")
        if fixed.form_factor == "pcie" and w > float(PICK["pcie_max_weights_gb"]) * GB:
            warn.append(f"{fixed.id} is PCIe-only and the weights are {w / GB:.0f} GB (> {PICK['pcie_max_weights_gb']} GB): "
                        "tensor parallelism over PCIe is slow")
    g = choice.gpu
    n = choice.gpus_per_replica
    if choice.pp > PICK["max_pipeline_stages"]:
        raise InfeasibleError(
            f"{name}: one replica would need {choice.pp} nodes of {g.id} to hold {vram / GB:,.0f} GB "
            f"(the course method puts every in-flight request's KV in one replica); "
            "reduce the load per replica or use throughput_source 'roofline'")
    if choice.bandwidth_margin < 1.3 and fixed is None:
        warn.append(f"bandwidth: no configuration met the 1.3x margin; {n}x {g.id} gives "
                    f"{n * g.memory_bandwidth_tb_s:.1f} TB/s for a need of {bw_need / TERA:.1f} TB/s")
    if n * g.memory_bandwidth_bytes_per_s < bw_need:
        warn.append(f"bandwidth shortfall: {n}x {g.id} = {n * g.memory_bandwidth_tb_s:.1f} TB/s < "
                    f"{bw_need / TERA:.1f} TB/s needed for {inp.tpot_ms:g} ms TPOT")
    rec += [
        (name, "GPU", g.id, "", how, f"{S_COURSE} step 9"),
        (name, "GPUs per replica", n, "GPUs", f"TP={choice.tp} x PP={choice.pp}", f"{S_COURSE} steps 9-10"),
    ]
    if choice.pp > 1:
        warn.append(f"pipeline parallelism: {choice.pp} stages across nodes (TPOT -10-20% per stage)")
        if choice.pp > GUARD["max_pipeline_stages"]:
            warn.append(f"pipeline depth {choice.pp} > {GUARD['max_pipeline_stages']}: consider a larger GPU"
                        + (" or expert parallelism" if model.is_moe else ""))
    if model.is_moe and n > 8:
        warn.append("MoE model above 8 GPUs per replica: consider expert parallelism")

    # --- throughput per replica -----------------------------------------------------------
    if inp.throughput_override is not None:
        tput = inp.throughput_override
        t_src, t_basis = "override", "user override"
    elif inp.throughput_source is ThroughputSource.COURSE_TABLE:
        t = course_table_throughput(model.total_params_b, g, n, choice.pp, inp.serving_engine.value,
                                    inp.speculative_decoding)
        tput, t_src, t_basis = t.tok_s, "course-table", t.basis
        if t.extrapolated:
            warn.append(f"course table has no {t.bucket} row for {g.id}; throughput scaled from the nearest "
                        "listed GPU by memory bandwidth")
    else:  # pragma: no cover - roofline arrives with the performance model
        raise NotImplementedError("roofline throughput")
    rec.append((name, "Throughput per replica", tput, "tok/s", t_basis, f"{S_COURSE} step 11"))

    # --- replicas, servers ------------------------------------------------------------------
    demand = traffic.token_demand_per_s(rps, prompt, out_tok, burst)
    active = placement.active_replicas(demand, tput)
    offset = scenario_offset(name, inp.redundancy_mode.offset)
    replicas = placement.replica_count(active, offset, paired_failure_domains=(name == "resilient"))
    red_label = {0: "N", 1: "N+1", 2: "N+2"}[offset]
    layout = placement.consolidate(replicas, n, g, MIN_SERVERS[red_label])
    total_gpus = replicas * n
    rec += [
        (name, "Demand", demand, "tok/s", f"RPS x ({prompt:,} + {out_tok:,}) x burst {burst:g}", f"{S_COURSE} step 12"),
        (name, "Active replicas", active, "replicas", "ceil(demand / throughput per replica)", f"{S_COURSE} step 12"),
        (name, "Replicas", replicas, "replicas", f"active + {red_label} spares"
         + (", failure domains paired" if name == "resilient" else ""), f"{S_COURSE} step 12"),
        (name, "Servers", layout.servers, "servers",
         f"{layout.replicas_per_server} replica(s) per {g.gpus_per_node}-GPU server" if layout.servers_per_replica == 1
         else f"{layout.servers_per_replica} servers per replica", f"{S_COURSE} step 13; worked example §6 packing"),
    ]
    if layout.replicas_per_server > offset and layout.servers > 1 and name != "baseline":
        warn.append(f"{name}: one server holds {layout.replicas_per_server} replicas, more than the "
                    f"{offset} spare(s): a server failure takes out more than the redundancy covers")

    # --- facility --------------------------------------------------------------------------
    server_w = facility.server_power_w(layout.gpus_per_server, g.tdp_w)
    it_kw = server_w * layout.servers / 1000.0
    plan = facility.rack_plan(layout.servers, server_w / 1000.0, inp.rack_power_limit_kw, g.liquid_cooling_required)
    pue = plan.pue
    tier = plan.cooling_tier
    if "nvl72" in g.notes.lower() and g.form_factor == "superchip":
        pue = NVL72_PUE
    fac_kw = it_kw * pue
    fab = facility.fabric(layout.servers_per_replica, model.is_moe, model.total_params_b)
    spec = facility.server_spec(g, layout.gpus_per_server, w / GB, kv_total / GB, inp.kv_offload)
    if g.liquid_cooling_required:
        warn.append(f"{g.id} requires direct liquid cooling (and typically 415 V power distribution)")
    rec += [
        (name, "Server power", server_w / 1000.0, "kW", f"{layout.gpus_per_server} x {g.tdp_w:g} W + platform",
         "defaults.yaml server_power (DGX H100/B200 system maxima; course §10.5)"),
        (name, "IT power", it_kw, "kW", f"{layout.servers} servers x {server_w / 1000:.2f} kW", f"{S_COURSE} step 16"),
        (name, "Racks", plan.racks, "racks", f"packed to <= {inp.rack_power_limit_kw:g} kW and <= 10 servers",
         f"{S_COURSE} step 16"),
        (name, "Cooling tier", tier, "", f"{plan.kw_per_rack:.1f} kW per rack", f"{S_COURSE} step 16"),
        (name, "PUE", pue, "", "by cooling tier", f"{S_COURSE} step 16"),
        (name, "Facility power", fac_kw, "kW", "IT kW x PUE", f"{S_COURSE} step 16"),
        (name, "Fabric", fab, "", "one node per replica -> front-end only; spanning -> InfiniBand", f"{S_COURSE} step 15"),
    ]

    # --- guardrails ------------------------------------------------------------------------
    worst_kv = inflight * memory.kv_bytes_for_context(model, inp.max_context_tokens, inp.kv_precision.bytes_per_element)
    if worst_kv > WORST_KV_RATIO * kv_total and name == "burst":
        warn.append(f"worst case: {inflight:.0f} requests at max context ({inp.max_context_tokens:,} tokens) need "
                    f"{worst_kv / GB:,.0f} GB of KV, over {WORST_KV_RATIO:g}x the sized {kv_total / GB:,.0f} GB: "
                    "cap the context or enable KV offload")
    cp = _compute_precision(g, inp.precision)
    prefill_ms = 2 * prompt * model.active_params / (n * g.dense_flops(cp)) * 1000.0
    rec.append((name, "Prefill estimate", prefill_ms, "ms",
                f"2 x {prompt:,} x {model.active_params / 1e9:g}B / ({n} x {g.dense_flops(cp) / TERA:,.0f} TFLOPS)",
                f"{S_COURSE} step 17"))
    if prefill_ms > inp.ttft_ms:
        warn.append(f"TTFT: prefill alone takes ~{prefill_ms:.0f} ms on {n}x {g.id}, above the {inp.ttft_ms:g} ms target")
    if inp.ttft_ms < GUARD["short_ttft_ms"] and prompt > GUARD["long_prompt_tokens"]:
        warn.append(f"TTFT target {inp.ttft_ms:g} ms with {prompt:,}-token prompts is aggressive")

    extra: dict[str, Any] = {}
    # --- cost (issue 5): engine/cost.py; every assumption goes into the explanation --------
    from xlsizer.engine.cost import scenario_cost

    cb = scenario_cost(inp, g, total_gpus=total_gpus, servers=layout.servers, gpus_per_server=layout.gpus_per_server,
                       it_kw=it_kw, pue=pue, rps=rps, prompt_tokens=prompt, output_tokens=out_tok,
                       capacity_tok_s=active * tput)
    extra["cost"] = cb.as_dict()
    rec += [(name, *row) for row in cb.explain]
    warn += cb.warnings

    return build(Scenario, 
        name=name, gpu=g.id, gpu_name=g.name, gpus_per_replica=n, tp=choice.tp, pp=choice.pp,
        active_replicas=active, replicas=replicas, total_gpus=total_gpus, servers=layout.servers,
        replicas_per_server=layout.replicas_per_server, gpus_per_server=layout.gpus_per_server,
        throughput_per_replica_tok_s=tput, throughput_source=t_src,
        memory=build(Memory, weights_gb=w / GB, kv_bytes_per_token=kv_tok, kv_per_request_gb=kv_req / GB,
                                      kv_total_gb=kv_total / GB, activations_gb=act / GB, headroom_gb=head / GB,
                                      vram_gb=vram / GB),
        traffic=build(Traffic, rps=rps, inflight_requests=inflight, demand_tok_s=demand),
        server=build(Server, gpus=spec.gpus, cpu=spec.cpu, ram_gb=spec.ram_gb, nvme_tb=spec.nvme_tb, nic=spec.nic),
        racks=plan.racks, kw_per_rack=plan.kw_per_rack, it_kw=it_kw, facility_kw=fac_kw, pue=pue,
        cooling_tier=tier, fabric=fab, warnings=warn, extra=extra,
    )

