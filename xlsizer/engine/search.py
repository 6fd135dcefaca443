"""The roofline search (course.md §10.3 steps 9-11, done by cost): every candidate
configuration (GPU × replica shape) with a lower bound on its cost, visited cheapest first and
evaluated by the performance model under the SLOs until no remaining one can beat the best;
with the automatic choice, then the best shape on another GPU (explain's "Next cheapest GPU").

Also here, because the search ranks on them: the automatic search's GPUs and their order, the
compute precision a GPU multiplies at, and the cost basis (price per GPU, GPUs billed, and the
replicas and servers a redundancy rule needs).
"""

from __future__ import annotations

import copy
import heapq
import math
from collections.abc import Callable
from dataclasses import replace as _replace
from functools import cache
from typing import Any

from xlsizer.catalog.loader import load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine import facility, placement
from xlsizer.engine.cost import gpu_purchase_price, server_price
from xlsizer.engine.latency import max_rate_within_ttft
from xlsizer.engine.layers import multiplied_active_params, output_head_params, tensor_parallel_refusal
from xlsizer.engine.moe import busiest_expert_share
from xlsizer.engine.optimizations import Effects, host_link_bytes_per_s, kv_transfer_s
from xlsizer.engine.performance import ReplicaCapacity, Tuning, packaged_calibration, slo_capacity
from xlsizer.engine.scenarios import HEADROOM, MAX_HEADROOM, MIN_SERVERS, RED_LABEL
from xlsizer.engine.shared import Shared
from xlsizer.engine.solver import (
    CapacityBound,
    TpotRateBound,
    capacity_bound,
    idle_ttft_s,
    lightest_tpot_q_s,
    tpot_rate_bound,
    ttft_floor_bound,
)
from xlsizer.engine.step import scaleout_bytes_per_s, sustained_compute_efficiency
from xlsizer.errors import InfeasibleError, XlsizerError
from xlsizer.inputs import SizingInputs
from xlsizer.precision import Precision
from xlsizer.units import GB, figure

PICK = read_data_file("defaults.yaml")["gpu_pick"]
SIZES: tuple[int, ...] = tuple(PICK["gpus_per_replica"])
MAX_STAGES: int = int(PICK["max_pipeline_stages"])
PCIE_MAX_W: float = float(PICK["pcie_max_weights_gb"]) * GB

OFFLOAD_TRIES = 6
"""Host-memory amounts tried per configuration with KV offload: all of it, then halves down to
1/32 (a search grid, not a physical constant)."""

PRUNE = True
"""Skip candidates whose cost lower bound cannot beat the best found (tests switch it off to
check that the pruned search returns the exhaustive search's answer)."""


@cache
def auto_gpus() -> tuple[GpuSpec, ...]:
    cat = load_catalog()
    return tuple(cat.gpu(g) for g in PICK["order"])


@cache
def auto_order() -> dict[str, int]:
    """GPU id -> its place in the automatic search's order (ties on cost go to the earlier)."""
    return {g.id: i for i, g in enumerate(auto_gpus())}


def compute_precision(gpu: GpuSpec, p: Precision) -> Precision:
    """The precision the GPU multiplies at: the weights' own, or BF16 when the GPU lacks it
    (weight-only kernels dequantize FP8/INT8 to BF16, e.g. vLLM's Marlin on A100)."""
    return p if gpu.supports(p) else Precision.BF16


def rank_price(g: GpuSpec, inp: SizingInputs) -> float:
    """Price per GPU used to rank candidate configurations, on the sizing's own cost basis.

    cloud: catalog $/GPU-hour (typical), a market price every automatic candidate has.
    on-prem: purchase price per GPU (the user's, else the catalog's typical) plus the GPU's
    share of a server without GPUs (cost.py's server class of a full node). A GPU without a
    purchase price ranks last (inf) so it is never chosen silently on cost; ``_candidate_table``
    drops it when a priced GPU is available.
    """
    if inp.pricing_model == "on-prem":
        gp = gpu_purchase_price(inp, g)
        if gp is None:
            return math.inf
        if placement.full_baseboards(g):
            return gp + server_price(inp, g.gpus_per_node) / g.gpus_per_node
        # PCIe: a server holds only the cards needed and is priced by its size class, so the
        # cheapest share of a server per card (4 cards in a 2-4 GPU host at cost.py's prices)
        # keeps GPUs in use x this price a lower bound of every fleet's bill (the search prunes on it)
        return gp + min(server_price(inp, k) / k for k in range(1, g.gpus_per_node + 1))
    p = g.cloud_price_per_gpu_hour
    # Without a price (only possible for a user-chosen GPU, whose candidates all share it)
    # the ranking falls back to the GPU count alone.
    return p.typical if p is not None else 1.0


def billed_gpus(inp: SizingInputs, active: int, offset: int, paired: bool, n: int, g: GpuSpec) -> tuple[float, int]:
    """(GPUs the bill counts, replicas) under the redundancy rule, on cost.py's basis, so that
    GPUs x ``rank_price`` is the bill: cloud rents the GPUs in use, and the rule never adds
    replicas to a per-GPU bill (it spreads them over hosts: placement.survivable_fleet), so no
    placement is needed; on-prem buys every installed slot of the servers the replicas are
    packed into, and each server: a full baseboard's slots carry its share of the server in the
    rank price, while a PCIe server holding fewer cards than it has slots costs a whole server
    (its GPU-equivalents here). Never below the GPUs in use, so ``GPUs in use x price`` stays a
    lower bound for the search's pruning."""
    if inp.pricing_model != "on-prem":
        reps = placement.replica_count(active, offset, paired)
        return reps * n, reps
    fl = priced_fleet(inp, active, offset, paired, n, g)
    slots = placement.installed_slots(fl.replicas * n, fl.layout)
    gp = gpu_purchase_price(inp, g)
    if gp is None or placement.full_baseboards(g):  # full servers: their slots carry them at the rank price
        return slots, fl.replicas
    lay = fl.layout  # PCIe: the cards installed and each server at its size class's price
    return (slots * gp + lay.servers * server_price(inp, lay.gpus_per_server)) / rank_price(g, inp), fl.replicas


def priced_fleet(inp: SizingInputs, active: int, offset: int, paired: bool, n: int, g: GpuSpec) -> placement.Fleet:
    """The scenario's replicas and servers under the redundancy rule, cheapest on the sizing's basis
    (on-prem: GPU slots and servers at their purchase prices)."""
    on_prem = inp.pricing_model == "on-prem"
    gp = gpu_purchase_price(inp, g) if on_prem else None
    return placement.survivable_fleet(
        active, offset, paired, n, g, MIN_SERVERS[RED_LABEL[offset]], per_gpu_bill=not on_prem,
        server_cost=(lambda k: server_price(inp, k) / gp) if gp else None)


def _priced(g: GpuSpec, inp: SizingInputs) -> bool:
    """Whether the sizing's cost basis has a price for GPU ``g``."""
    return rank_price(g, inp) < math.inf


class Plan:
    """One scenario's chosen configuration and the load it carries."""

    __slots__ = ("active", "alternative", "basis", "budget", "cap", "ep", "ev", "extra_w", "gpu", "n", "pp", "prec",
                 "source", "tp", "tput", "tuning", "vram")

    def __init__(self, gpu: GpuSpec, n: int, tp: int, pp: int, active: int, tput: float, source: str,
                 basis: tuple[str, tuple[Any, ...], str], cap: Any = None, vram: float = 0.0) -> None:
        self.gpu, self.n, self.tp, self.pp = gpu, n, tp, pp
        self.active, self.tput, self.source, self.basis, self.cap, self.vram = active, tput, source, basis, cap, vram
        self.ev: Eval | None = None
        self.ep, self.extra_w = 1, 0.0  # expert-parallel width; dense weights replicated per extra rank
        self.prec: Precision | None = None
        self.tuning: Tuning | None = None
        self.budget = 0.0
        self.alternative: tuple[str, int, float] | None = None
        """Automatic choice: (GPU, GPUs, cost) of the best adequate shape on a GPU cheaper per GPU."""

    def carrying(self, offered_rps: float) -> Plan:
        """The same configuration (GPU, shape, capacity per replica) with the active replicas
        that carry ``offered_rps``: a replica's capacity under the SLOs does not depend on how
        many replicas share the load."""
        assert self.ev is not None, "a roofline plan"
        other = copy.copy(self)
        other.active = self.ev.active(offered_rps)
        return other


def rack_servers(g: GpuSpec, rack_kw: float) -> int:
    """Servers of ``g`` one rack of ``rack_kw`` holds (``facility.servers_per_rack``), at least
    the trays of its rack-scale NVLink domain (an NVL72 rack holds its 18 trays: ``_site``)."""
    rack = facility.servers_per_rack(facility.server_power_w(g.gpus_per_node, g.tdp_w) / 1000.0, rack_kw)
    trays = facility.rack_domain_trays(g)
    return rack if trays is None else max(rack, trays)


def replica_configs(g: GpuSpec, resident: float, rack_kw: float, rack: int | None = None) -> list[tuple[int, int, int]]:
    """(GPUs, TP, PP) candidates for one GPU: 1/2/4/8 inside a node, then whole nodes with
    2 pipeline stages up to two more than the fewest nodes that hold ``resident`` bytes
    (weights, activations, adapters) with the largest scenario headroom and room for KV.

    Stages are offered whatever the weights: a node that barely holds them leaves little KV,
    and more stages (more KV per replica) can then carry more per GPU. Offering them only
    once the weights outgrew a node made heavier weights (BF16 against FP8) or a larger GPU
    (a node of H100 against nodes of A10G) lose the shapes that fit (issue 24); the search's
    bound prunes the stages that cannot pay. Stages also pay where a node holds the weights and
    its KV: a replica of k nodes pools k nodes' sequences in one scheduler, so its batch varies
    less for its size (a Poisson count's spread is the square root of its mean), and at a
    percentile TPOT it runs a larger mean batch per GPU (llama-4-scout FP8 on MI250X at p99:
    4-GPU replicas need 800 GPUs, 3 stages of 4 GPUs 768). Offering stages only where a node's
    KV could not hold the batch the TPOT target allows (the means' reasoning) left that out,
    and refused as "does not fit" gpt-j-6b on B50 at a 10.6 ms p95 TPOT, which 3 stages of 4
    GPUs serve. The extra stages stop at the servers one rack holds (a replica spanning racks
    is refused, guardrails.py: offering it made the search pick a shape the guardrail then
    refused where a shorter one fits)."""
    per_node = g.gpus_per_node
    out = [(n, n, 1) for n in SIZES if n <= per_node]
    k_fit = math.floor(resident * (1.0 + MAX_HEADROOM) / (per_node * g.memory_bytes)) + 1
    if rack is None:  # servers one rack holds (the caller's, where it has it)
        rack = rack_servers(g, rack_kw)
    nodes = range(2, min(MAX_STAGES, max(k_fit, min(k_fit + 2, rack))) + 1)
    out += [(k * per_node, per_node, k) for k in nodes]
    bridge = g.bridge_gpus
    if bridge is not None:
        # NVLink-bridged PCIe cards: tensor parallelism inside each bridge group and pipeline
        # stages between groups, whose hops pass one activation per token over PCIe where a
        # wider TP would all-reduce every layer over it (both offered: the search keeps the cheaper)
        out += [(n, bridge, n // bridge) for n in SIZES if bridge < n <= per_node]
        out += [(k * per_node, bridge, k * per_node // bridge) for k in nodes if k * per_node // bridge <= MAX_STAGES]
    return out


WIDE_EP_SIZES: tuple[int, ...] = (8, 16, 32, 64)
"""GPUs per replica of the wide expert-parallel shapes tried for a MoE model: attention
data-parallel (one rank per GPU, each with its own copy of the dense weights, scheduler and
prefill queue) and the routed experts spread over all of them, as tuned deployments serve
DeepSeek-R1 (DEP8 in an HGX node; DEP16-64 inside a GB200/GB300 NVL72 rack: TensorRT-LLM's
wide-EP and SGLang's large-scale EP deployments). Only inside one scale-up domain: beyond it
every token's all-gather would cross the network."""


def wide_ep_configs(g: GpuSpec, model: ModelSpec) -> list[tuple[int, int]]:
    """(GPUs, expert-parallel width) of the wide expert-parallel shapes for a MoE model on GPU
    ``g``: tp 1, dp = ep = GPUs, within the scale-up domain and at most one GPU per expert."""
    moe = model.moe
    if moe is None:
        return []
    return [(n, n) for n in WIDE_EP_SIZES
            if n <= g.scaleup_gpus and n <= moe.experts and n % g.gpus_per_node in (0, n)]


class Cand:
    """One candidate configuration with what the search bound needs, built once per sizing."""

    __slots__ = ("b_tpot", "bw", "ep", "extra_w", "g", "loose", "mem", "n", "order", "over_rack", "pp", "prec",
                 "price", "rate", "req_compute", "tight", "tp", "tun")

    def __init__(self, order: int, g: GpuSpec, prec: Precision, n: int, tp: int, pp: int, tun: Tuning,
                 req_compute: float, bw: float, b_tpot: float, price: float, ep: int = 1,
                 extra_w: float = 0.0, over_rack: bool = False) -> None:
        self.order, self.g, self.prec, self.n, self.tp, self.pp, self.tun = order, g, prec, n, tp, pp, tun
        self.price, self.ep, self.extra_w = price, ep, extra_w
        self.over_rack = over_rack  # one replica spans more servers than a rack holds (guardrails.py refuses it)
        self.mem = n * g.memory_bytes
        self.req_compute, self.bw, self.b_tpot = req_compute, bw, b_tpot
        self.loose: float | None = None  # its TTFT bound from the replica alone, on first need
        self.tight: CapacityBound | None = None  # its solver bounds, on first need (any scenario)
        self.rate: TpotRateBound | None = None  # its bound from the TPOT target, on first need (any scenario)


def choosable_gpus(inp: SizingInputs, weights_bytes: float) -> tuple[GpuSpec, ...]:
    """The GPUs the automatic choice may pick, in its order: those with tensor cores for the
    weights' format (the precision gate), no PCIe card above the course's weights limit, and,
    where any GPU has one, a price on the sizing's cost basis (on-prem: a purchase price)."""
    gpus = tuple(g for g in auto_gpus() if g.supports(inp.precision)
                 and not (g.form_factor == "pcie" and weights_bytes > PCIE_MAX_W))
    priced = tuple(g for g in gpus if _priced(g, inp))
    return priced or gpus


def _candidate_table(inp: SizingInputs, sh: Shared, fixed: GpuSpec | None) -> list[Cand]:
    """Every configuration the roofline search may choose (GPU × GPUs per replica), with the
    load- and scenario-independent parts of its bound (see ``_bound``)."""
    fx = sh.fx
    tpot_s = inp.tpot_ms / 1000.0
    gpus = (fixed,) if fixed is not None else choosable_gpus(inp, sh.w)
    out: list[Cand] = []
    pre = 0.0 if fx.disaggregated else fx.prefill_tokens  # prompt tokens each replica computes
    # the least GEMM math the step charges (step._build_replica): per decode token every
    # active weight but the looked-up input embedding; per prompt token, without the output
    # head too (its last token's head dropped here: a bound may only be lower)
    dec_flops = 2.0 * multiplied_active_params(sh.model)
    pre_flops = max(dec_flops - 2.0 * output_head_params(sh.model), 0.0)
    for g in gpus:
        order = auto_order()[g.id] if fixed is None else 0
        price = rank_price(g, inp)
        if price == math.inf:
            price = 1.0  # no priced GPU at all (or the user's own): rank on the GPU count alone
        cprec = compute_precision(g, inp.precision)
        # the weights' own format where a kernel streams it (natively, or 4-bit weight-only:
        # step.gemm_compute); passing the BF16 compute format streamed FP4 weights at 2 bytes,
        # so FP8 weights needed fewer GPUs than FP4 ones on a GPU without FP4 (issue 24).
        # FP8/INT8 without their tensor cores stay modelled as BF16 weights (step.py refuses them)
        prec = inp.precision if inp.precision is Precision.FP4 else cprec
        own = sh.cal(g, inp)  # a team's profile for this GPU, or None
        cal = own or packaged_calibration()
        peak = g.dense_flops(cprec) * sustained_compute_efficiency(g, cal)
        resident = sh.w + sh.act + fx.extra_resident_bytes
        rack = rack_servers(g, inp.rack_power_limit_kw)
        shapes = [(n, tp, pp, 1) for n, tp, pp in replica_configs(g, resident, inp.rack_power_limit_kw, rack)]
        if not fx.disaggregated:
            shapes += [(n, 1, 1, ep) for n, ep in wide_ep_configs(g, sh.model)]
        gpu_bw = g.memory_bandwidth_bytes_per_s * cal.bandwidth_efficiency
        for n, tp, pp, ep in shapes:
            if tensor_parallel_refusal(sh.model, tp) is not None:
                continue  # the engines refuse to split its heads so (Qwen2.5-7B at tp 8)
            tun = fx.tuning_for(g, n, cprec, calibration=own)
            a = tun.accepted_tokens_per_step
            flops = pre_flops * pre + dec_flops * sh.out_tok * tun.decode_tokens_per_step / a
            req_compute = n * peak * max(tun.gemm_rate_scale, 1.0) / flops
            bw = n * gpu_bw
            # pipeline stages: each of the pp micro-batches streams its stage's weights, so a
            # step reads the active weights pp times over the replica's bandwidth (step.py)
            b_tpot = (tpot_s * a * bw - pp * sh.w_active) / sh.kv_read_min
            extra_w = 0.0
            if ep > 1 and sh.model.moe is not None:
                # each attention rank's own dense weights, and the busiest GPU's whole experts
                # (moe.busiest_expert_share): every rank's KV room is that GPU's
                held = busiest_expert_share(sh.model.moe.experts, ep)
                extra_w = (n - 1) * sh.w_dense + (sh.w - sh.w_dense) * (held - 1.0)
            over_rack = -(-n // g.gpus_per_node) > rack  # servers per replica, rounded up
            out.append(Cand(order, g, prec, n, tp, pp, tun, req_compute, bw, b_tpot, price, ep, extra_w, over_rack))
    return out


def _bound(c: Cand, sh: Shared, kv_budget: float) -> float:
    """Upper bound on one replica's requests/s that the performance model can never exceed:
    compute (2 × active params FLOPs per token processed, the looked-up embedding left out and,
    for prompt tokens, the output head, at the calibrated fraction of peak)
    and memory (each decode step reads the active weights once per pipeline stage plus every sequence's KV at
    the calibrated fraction of bandwidth, and must finish within the TPOT target; the batch
    is also capped by the KV budget). 0 when the TPOT target is out of reach.

    The optimizations only add work (drafter, adapters, host streaming, static batches) except
    where this bound takes them in: the GEMM rate scale, prefix hits (fewer prompt tokens),
    disaggregation (decode replicas compute no prompts), the smallest KV reservation (shared
    prefix) and host memory (KV offload, passed in ``kv_budget``).

    Used only to skip configurations that cannot beat the best one already found.
    """
    b_max = min(c.b_tpot, kv_budget / sh.kv_res_min)
    if b_max < 1.0:
        return 0.0 if b_max <= 0 else c.req_compute
    out_bw = b_max * c.tun.accepted_tokens_per_step * c.bw / (c.pp * sh.w_active + b_max * sh.kv_read_min)
    return min(c.req_compute, out_bw / sh.out_tok)


class Eval:
    """One candidate configuration evaluated: decode capacity (and the prefill pool's, when
    disaggregated), and what each optimization did there."""

    __slots__ = ("cap", "info", "req_d", "req_p", "ttft_fixed_s")

    def __init__(self, cap: ReplicaCapacity, req_d: float, req_p: float, info: dict[str, Any],
                 ttft_fixed_s: float = 0.0) -> None:
        self.cap, self.req_d, self.req_p, self.info, self.ttft_fixed_s = cap, req_d, req_p, info, ttft_fixed_s

    @property
    def disaggregated(self) -> bool:
        """Whether prompts run in a prefill pool of their own (its req/s finite)."""
        return self.req_p < math.inf

    def pools(self, offered_rps: float) -> tuple[int, int]:
        """(prefill replicas, decode replicas) that carry ``offered_rps``: no prefill pool (0)
        unless disaggregated."""
        d = max(1, math.ceil(offered_rps / self.req_d - 1e-9))
        p = max(1, math.ceil(offered_rps / self.req_p - 1e-9)) if self.disaggregated else 0
        return p, d

    def active(self, offered_rps: float) -> int:
        p, d = self.pools(offered_rps)
        return p + d

    @property
    def req_s(self) -> float:
        """Requests/s per replica of the deployment (both pools when disaggregated)."""
        if self.req_p == math.inf:
            return self.req_d
        return 1.0 / (1.0 / self.req_d + 1.0 / self.req_p)


def evaluate(inp: SizingInputs, sh: Shared, g: GpuSpec, n: int, tp: int, pp: int, prec: Precision,
              budget: float, tuning: Tuning, ep: int = 1) -> tuple[Eval | None, float]:
    """(capacity of one configuration under the SLOs with the optimizations applied, or None
    when it cannot meet them; TPOT floor of one sequence alone)."""
    fx = sh.fx
    tpot_s = inp.tpot_ms / 1000.0
    ttft_s = inp.ttft_ms / 1000.0
    eng = inp.serving_engine.value
    info: dict[str, Any] = {}
    static = (fx.mean_output, fx.output_cap) if fx.static_batching else None

    def solve(tun: Tuning, bud: float, prefill: float, ttft: float | None) -> ReplicaCapacity:
        # the solver returns the largest batch meeting both TPOT and TTFT (issue 11), so the
        # best-over-batch-caps search issue 15 added here is no longer needed
        return slo_capacity(sh.model, g, tp, prec, sh.prompt, sh.out_tok, tpot_s, pp=pp, ep=ep,
                            kv_precision=sh.kv_prec, engine=eng, kv_budget_bytes=bud,
                            prefill_tokens=prefill, target_ttft_s=ttft, tuning=tun, calibration=sh.cal(g, inp),
                            static_output=static, slo_percentile=inp.slo_percentile, arrivals=sh.arr)

    def best(prefill: float, ttft: float | None) -> ReplicaCapacity:
        cap = solve(tuning, budget, prefill, ttft)
        cpu = fx.offload_cpu_bytes_per_server
        if cpu > 0.0 and cap.binding == "memory capacity":
            # host memory extends KV capacity; the offloaded share of every sequence's KV streams
            # over the host link each step. An engine offloads only as much as pays: try using
            # all of the replica's host memory, then halves of it, and keep the best.
            cpu_rep = cpu * n / g.gpus_per_node
            best_off: tuple[ReplicaCapacity, float] | None = None
            for j in range(OFFLOAD_TRIES):
                c = cpu_rep / 2 ** j
                x = c / (budget + c) if budget > 0 else 1.0
                off = solve(_replace(tuning, kv_host_fraction=x, host_link_bytes_per_s=host_link_bytes_per_s(fx, g)),
                            budget + c, prefill, ttft)
                if off.feasible and off.req_s > (best_off[0].req_s if best_off else cap.req_s):
                    best_off = (off, c)
            info["kv_offload"] = {"used": best_off is not None, "max_batch_gpu_only": cap.max_batch,
                                  "host_gb_used_per_replica": best_off[1] / GB if best_off else 0.0,
                                  "max_batch_with_host": best_off[0].max_batch if best_off else cap.max_batch}
            if best_off is not None:
                cap = best_off[0]
        return cap

    if fx.disaggregated:
        cap = best(0.0, None)  # decode pool: decode-only steps, no prompt in them
        if not cap.feasible or cap.req_s <= 0:
            return None, cap.tpot_floor_s
        full = solve(tuning, budget, fx.prefill_tokens, None)
        s_pre = full.prefill_s
        xfer = kv_transfer_s(sh.prompt, sh.kv_tok, n, scaleout_bytes_per_s(g))
        # the prefill pool samples the first token (issue 11); plus the engine's fixed overhead
        budget = ttft_s - xfer - cap.first_token_s
        if s_pre <= 0.0:
            req_p = math.inf  # every prompt fully cached: no prefill pool
        else:  # a queue in front of each prefill replica: its wait and the prompt within the budget
            req_p = max_rate_within_ttft(s_pre * cap.queue_scale, s_pre, budget, inp.slo_percentile, sh.arr)
            if req_p <= 0.0:
                return None, cap.tpot_floor_s
        info["disaggregated"] = {"prefill_ms": s_pre * 1000.0, "kv_transfer_ms": xfer * 1000.0,
                                 "prefill_req_s_per_replica": req_p, "decode_req_s_per_replica": cap.req_s}
        cap = cap._replace(prefill_s=s_pre)
        req_d = cap.req_s
        ttft_fixed = xfer
    else:
        cap = best(fx.prefill_tokens, ttft_s)
        if not cap.feasible or cap.req_s <= 0:
            return None, cap.tpot_floor_s
        req_d, req_p, ttft_fixed = cap.req_s, math.inf, 0.0
    if fx.static_batching:
        f = fx.req_s_factor(cap.batch, cap.prefill_s, cap.tpot_s)
        req_d *= f
        info["continuous_batching"] = {"static_useful_fraction": _static_useful(fx, cap.batch),
                                       "throughput_factor": f}
    return Eval(cap, req_d, req_p, info, ttft_fixed), cap.tpot_floor_s


def _static_useful(fx: Effects, batch: int) -> float:
    from xlsizer.engine.optimizations import static_useful_fraction

    return static_useful_fraction(batch, fx.mean_output, fx.output_cap)


def _lower_of(loads: tuple[tuple[int, float], ...], offset: int, paired: bool) -> Callable[[float, int], float]:
    """``lower(ub, n)``: the fewest GPUs a configuration of ``n`` GPUs per replica could need
    over every deployment of ``loads`` (count, req/s each) if each replica carried ``ub`` req/s
    (inf when it carries none): the active replicas, at least one, plus the scenario's spares
    (``placement.replica_count``). One call per bound: the search asks it for every one."""
    ceil = math.ceil

    def lower(ub: float, n: int) -> float:
        if ub <= 0:
            return math.inf
        total = 0
        for cnt, rps in loads:
            active = ceil(rps / ub - 1e-9)
            if active < 1:
                active = 1
            reps = active + offset  # placement.replica_count, inlined
            if paired and 2 * ceil(active / 2) > reps:
                reps = 2 * ceil(active / 2)
            total += cnt * reps * n
        return total

    return lower


def _tight(c: Cand, inp: SizingInputs, sh: Shared) -> CapacityBound:
    """``solver.capacity_bound`` of candidate ``c`` for this sizing's workload (once per sizing)."""
    if c.tight is None:
        c.tight = capacity_bound(
            sh.model, c.g, c.tp, c.prec, sh.prompt, sh.out_tok, pp=c.pp, ep=c.ep, kv_precision=sh.kv_prec,
            engine=inp.serving_engine.value, prefill_tokens=sh.fx.prefill_tokens, target_ttft_s=sh.ttft_s,
            tuning=c.tun, calibration=sh.cal(c.g, inp), slo_percentile=inp.slo_percentile, arrivals=sh.arr)
    return c.tight


class _Search:
    """One scenario's best-first search over the candidate table (``roofline_plan``): the
    queue of lower bounds on each shape's cost, the best plan found, and what each GPU's shapes
    showed, which explains the automatic choice (issue 24).

    Queue entries are (cost bound, GPUs bound, GPU order, shape index, bounds applied); keys of
    evaluated shapes are (cost, GPUs, GPU order, shape index), so ties go to the earlier shape
    of the table whatever the order of evaluation."""

    __slots__ = ("best", "chosen", "fits", "fixed", "floor_best", "floors", "inp", "lazy", "left", "loads", "lower",
                 "name", "offset", "paired", "plan", "queue", "runner", "sh", "shapes", "tpot_s", "within_rack")

    def __init__(self, name: str, inp: SizingInputs, sh: Shared, fixed: GpuSpec | None,
                 loads: tuple[tuple[int, float], ...], offset: int, within_rack: bool = False) -> None:
        self.name, self.inp, self.sh, self.fixed, self.loads, self.offset = name, inp, sh, fixed, loads, offset
        self.within_rack = within_rack  # leave out the shapes whose replica spans more servers than a rack holds
        self.paired = name == "resilient"
        self.tpot_s = inp.tpot_ms / 1000.0
        self.lower = _lower_of(loads, offset, self.paired)
        self.lazy = PRUNE and not sh.fx.disaggregated  # the lazy bounds (``refine``) hold for aggregated serving
        self.queue: list[tuple[float, float, int, int, int]] = []
        self.shapes: list[tuple[Cand, float, float]] = []  # (candidate, KV budget, bound req/s)
        self.floor_best = math.inf  # the best TPOT floor of the shapes ruled out or evaluated
        self.left: dict[str, int] = {}  # GPU id -> its shapes that hold the weights, not yet ruled out
        self.fits: dict[str, tuple[float, float, int, int]] = {}  # GPU id -> key of its best adequate shape
        self.floors: dict[str, float] = {}  # GPU id -> the best TPOT floor of its shapes ruled out or evaluated
        self.best: tuple[float, float, int, int] | None = None
        self.plan: Plan | None = None
        self.chosen: str | None = None  # the answer's GPU once no shape can beat it (automatic choice)
        self.runner: tuple[float, float, int, int] | None = None  # then the best key found on another GPU

    def note_floor(self, g: GpuSpec, floor: float) -> None:
        """Note the TPOT floor (s) of a shape of ``g`` ruled out or evaluated."""
        self.floor_best = min(self.floor_best, floor)
        if self.fixed is None:
            self.floors[g.id] = min(self.floors.get(g.id, math.inf), floor)

    def ruled_out(self, g: GpuSpec, floor: float) -> None:
        """A queued shape of ``g`` ruled out or evaluated (its TPOT floor, s): one fewer left."""
        self.note_floor(g, floor)
        if self.fixed is None:
            self.left[g.id] -= 1

    def seed(self, resident: float) -> None:
        """Queue every shape that holds the weights (``resident`` bytes) at its first bound
        (``_bound``), or at the tighter ones an earlier scenario already computed."""
        sh, fx, h = self.sh, self.sh.fx, HEADROOM[self.name]
        assert sh.cands is not None
        # locals: this loop runs over every shape of the table, three times per sizing
        queue, shapes, left, lower, lazy, fixed = self.queue, self.shapes, self.left, self.lower, self.lazy, self.fixed
        cpu_server = fx.offload_cpu_bytes_per_server
        within_rack = self.within_rack
        for c in sh.cands:
            budget = c.mem / (1.0 + h) - resident - c.extra_w
            if budget <= 0 or (within_rack and c.over_rack):
                continue
            cpu = cpu_server * c.n / c.g.gpus_per_node
            ub = _bound(c, sh, budget + cpu)
            level = 0  # the lazy bounds already applied (an earlier scenario computed them)
            if lazy and ub > 0.0:
                t = c.tight
                if t is not None:
                    if budget + cpu < t.seq_bytes or t.tpot_floor_s > self.tpot_s:  # ruled out, never queued
                        self.note_floor(c.g, t.tpot_floor_s)
                        if fixed is None:
                            left[c.g.id] = left.get(c.g.id, 0)
                        continue
                    ub, level = min(ub, t.ttft_req_s), 2
                    r = c.rate
                    if r is not None and cpu_server <= 0.0:
                        ub, level = min(ub, r.at(budget)), 3  # the TPOT-rate bound at this budget
                elif c.loose is not None:
                    ub, level = min(ub, c.loose), 1
            lb_total = lower(ub, c.n)
            queue.append((lb_total * c.price, lb_total, c.order, len(shapes), level))
            shapes.append((c, budget, ub))
            if fixed is None:
                left[c.g.id] = left.get(c.g.id, 0) + (ub > 0)
        heapq.heapify(queue)

    def requeue(self, i: int, ub: float, level: int, lb_now: float) -> bool:
        """Apply shape ``i``'s tighter bound ``ub``: put it back at the cost it allows and
        say so (True), or False where that cost is its popped one (``lb_now`` GPUs): it would be
        the next pop, so the caller goes on to the next bound at once."""
        c, budget, _ = self.shapes[i]
        lb_total = self.lower(ub, c.n)
        self.shapes[i] = (c, budget, ub)
        if lb_total == lb_now:
            return False
        heapq.heappush(self.queue, (lb_total * c.price, lb_total, c.order, i, level))
        return True

    def refine(self, i: int, refined: int, lb_total: float) -> bool:
        """Best first with lazy, tighter bounds, cheapest first: before the full capacity solve,
        bound shape ``i`` by the TTFT queue at floors of the prefill and the step
        (``solver.ttft_floor_bound``, the replica's constants), then by its workload's constants
        (KV for one sequence, TPOT floor, TTFT queue at the exact prefill and the fastest step:
        ``solver.capacity_bound``), then by the batch the TPOT target and this scenario's KV
        budget allow (``solver.tpot_rate_bound``, closed form). True where a bound requeued it
        at the cost it allows or ruled it out; False where none moved it: evaluate it now."""
        inp, sh = self.inp, self.sh
        fx = sh.fx
        c, budget, ub = self.shapes[i]
        g = c.g
        if refined == 0:
            if c.loose is None:
                c.loose = ttft_floor_bound(
                    sh.model, g, c.tp, c.prec, sh.prompt, pp=c.pp, ep=c.ep, kv_precision=sh.kv_prec,
                    engine=inp.serving_engine.value, prefill_tokens=fx.prefill_tokens, target_ttft_s=sh.ttft_s,
                    tuning=c.tun, calibration=sh.cal(g, inp), slo_percentile=inp.slo_percentile, arrivals=sh.arr)
            if c.loose < ub:
                ub = c.loose
                if self.requeue(i, ub, 1, lb_total):
                    return True
        if refined < 2:
            t = _tight(c, inp, sh)
            if (budget + fx.offload_cpu_bytes_per_server * c.n / g.gpus_per_node < t.seq_bytes
                    or t.tpot_floor_s > self.tpot_s):
                self.ruled_out(g, t.tpot_floor_s)  # as the full solve would have found
                return True
            if t.ttft_req_s < ub:
                ub = t.ttft_req_s
                if self.requeue(i, ub, 2, lb_total):
                    return True
        if fx.offload_cpu_bytes_per_server <= 0.0:  # with host memory the solve tries other tunings
            if c.rate is None:
                c.rate = tpot_rate_bound(
                    sh.model, g, c.tp, c.prec, sh.prompt, sh.out_tok, self.tpot_s, pp=c.pp, ep=c.ep,
                    kv_precision=sh.kv_prec, engine=inp.serving_engine.value, prefill_tokens=fx.prefill_tokens,
                    tuning=c.tun, calibration=sh.cal(g, inp), arrivals=sh.arr)
            ub3 = c.rate.at(budget)
            if ub3 < ub and self.requeue(i, ub3, 3, lb_total):
                return True
        return False

    def consider(self, i: int) -> None:
        """Evaluate shape ``i`` under the SLOs (``evaluate``) and keep it where it costs least."""
        inp, sh = self.inp, self.sh
        c, budget, _ = self.shapes[i]
        g, n = c.g, c.n
        ev, floor = evaluate(inp, sh, g, n, c.tp, c.pp, c.prec, budget, c.tun, c.ep)
        self.ruled_out(g, floor)
        if ev is None:
            return
        billed = total = 0.0
        for cnt, rps in self.loads:
            b_v, reps_v = billed_gpus(inp, ev.active(rps), self.offset, self.paired, n, g)
            billed, total = billed + cnt * b_v, total + cnt * reps_v * n
        key = (billed * c.price, total, c.order, i)
        if self.fixed is None and (g.id not in self.fits or key < self.fits[g.id]):
            self.fits[g.id] = key
            if self.chosen is not None and (self.runner is None or key < self.runner):
                self.runner = key  # the best shape off the chosen GPU (its shapes are skipped)
        if self.best is None or key < self.best:
            self.best = key
            self.plan = _roofline_plan_of(sh, inp, c, budget, ev, ev.active(self.loads[0][1]))

    def run(self) -> None:
        """Pop shapes cheapest bound first until none left can beat the best found; with the
        automatic choice, then until none can beat the best shape on another GPU."""
        queue, pop, lazy = self.queue, heapq.heappop, self.lazy
        while queue:
            lb_cost, lb_total, order, i, refined = pop(queue)
            chosen = self.chosen
            if PRUNE and chosen is None and self.best is not None and (lb_cost, lb_total, order, i) >= self.best:
                if self.fixed is not None or self.plan is None:
                    break
                # the answer is proven; the search goes on for the cheapest shape on another GPU
                # (explain's "Next cheapest GPU"), with the same bounds, until none can beat it
                chosen = self.chosen = self.plan.gpu.id
                self.runner = min((k for gid, k in self.fits.items() if gid != chosen), default=None)
            if chosen is not None:
                if self.runner is not None and (lb_cost, lb_total, order, i) >= self.runner:
                    break
                if self.shapes[i][0].g.id == chosen:
                    continue
            if lb_cost == math.inf:
                continue  # TPOT out of reach even at peak bandwidth
            if lazy and refined < 3 and self.refine(i, refined, lb_total):
                continue
            self.consider(i)


def _roofline_plan_of(sh: Shared, inp: SizingInputs, c: Cand, budget: float, ev: Eval, active: int) -> Plan:
    """The plan of shape ``c`` evaluated as ``ev``, ``active`` replicas, with its explain() basis."""
    g, n, cap, req_s = c.g, c.n, ev.cap, ev.req_s
    if ev.disaggregated:  # a replica of either pool, in the pools' proportion
        basis = ("{} x {} req/s (1 / (1/prefill + 1/decode): a prefill replica {} req/s, a decode"
                 " replica {} at a mean batch of {}, TPOT {:.1f} ms, {}) x (prompt + output) tokens",
                 (f"{n}x {g.id}", figure(req_s), figure(ev.req_p), figure(ev.req_d),
                  figure(cap.mean_batch, 4), cap.tpot_s * 1000, cap.binding),
                 sh.perf_source(g, inp))
    else:
        basis = ("{} x {} req/s at a mean batch of {} (TPOT {:.1f} ms, {}) x (prompt + output) tokens",
                 (f"{n}x {g.id}", figure(req_s), figure(cap.mean_batch, 4), cap.tpot_s * 1000, cap.binding),
                 sh.perf_source(g, inp))
    plan = Plan(g, n, c.tp, c.pp, active, req_s * (sh.prompt + sh.out_tok), "roofline", basis, cap=cap)
    plan.ev, plan.prec, plan.tuning, plan.budget = ev, c.prec, c.tun, budget
    plan.ep, plan.extra_w = c.ep, c.extra_w
    return plan


def roofline_plan(name: str, inp: SizingInputs, sh: Shared, fixed: GpuSpec | None,
                  loads: tuple[tuple[int, float], ...], offset: int, warn: list[str]) -> Plan:
    """The cheapest configuration whose replicas carry the offered load within the SLOs.

    ``loads``: (deployments, req/s each) of every deployment the configuration serves, each with
    its own spares (one variant per deployment without LoRA); the cost ranked is their sum, the
    plan's active replicas are the first deployment's (``Plan.carrying`` gives the others').

    Candidates are visited in order of a lower bound on their cost (from ``_bound``) and the
    search stops once no remaining candidate can beat the best found: the answer is the same
    as evaluating all of them, at a fraction of the performance-model calls. With the
    automatic choice it then goes on, skipping the answer's GPU, until no candidate can beat
    the best shape found on another GPU: explain's "Next cheapest GPU" (``_explain_choice``)
    is the true runner-up, not the best of those evaluated so far.
    """
    resident = sh.w + sh.act + sh.fx.extra_resident_bytes
    if sh.cands is None:
        sh.cands = _candidate_table(inp, sh, fixed)
    # The automatic choice first among the shapes a rack holds: a replica spanning more servers
    # than the rack power limit allows is refused (guardrails.py), and offered with the others it
    # was chosen and refused where another GPU's shape fits (kimi-k3 BF16: 48x B200 in 6 servers
    # at 80 kW, where 56x H200 fit in 7). Only where none meets the SLOs are they all searched,
    # so that the refusal says what rack would hold the replica. A fixed GPU offers them all.
    s = _Search(name, inp, sh, fixed, loads, offset, within_rack=fixed is None)
    s.seed(resident)
    s.run()
    if s.plan is None and s.within_rack and any(c.over_rack for c in sh.cands):
        s = _Search(name, inp, sh, fixed, loads, offset)
        s.seed(resident)
        s.run()
    plan = s.plan
    if plan is None:
        raise _no_plan_error(s, resident)
    if fixed is None:
        _explain_choice(name, inp, sh, plan, {k: (v[0], int(v[1])) for k, v in s.fits.items()},
                        {k: s.floors.get(k, math.inf) for k, v in s.left.items() if v == 0}, warn)
    limit = _tp_limit(sh.model, plan.tp, plan.gpu.gpus_per_node)
    if limit:
        warn.append(f"tensor parallelism: {limit}, so each replica stops at TP={plan.tp} and more load "
                    "takes more replicas")
    if fixed is not None and not fixed.supports(inp.precision):
        warn.append(f"{fixed.id} has no {inp.precision.label} tensor cores: {inp.precision.label} weights run "
                    "weight-only (dequantized to BF16), so compute runs at the BF16 rate")
    return plan


def _no_plan_error(s: _Search, resident: float) -> InfeasibleError:
    """Why no shape of the search meets the SLOs, in the order a planner can act on: no replica
    offered holds the weights; the TPOT target below one sequence's step; below the percentile
    step of the lightest load; the TTFT target below an idle replica's; else both together."""
    inp, sh, fixed, fx = s.inp, s.sh, s.fixed, s.sh.fx
    h = HEADROOM[s.name]
    where = fixed.id if fixed is not None else "any GPU of the automatic search"
    if not s.shapes and sh.cands:  # no configuration holds the weights
        c = max(sh.cands, key=lambda c: (c.mem / (1.0 + h) - c.extra_w, -c.order))
        room = c.mem / (1.0 + h) - c.extra_w
        stages = f" ({c.pp} pipeline stages, the most offered)" if c.pp == MAX_STAGES else ""
        return InfeasibleError(
            f"{sh.model.id} does not fit in memory on {where}: its weights and activations take "
            f"{resident / GB:,.0f} GB at {inp.precision.label}, and the largest replica offered, {c.n}x {c.g.id}"
            f"{stages}, holds {c.mem / GB:,.0f} GB, {room / GB:,.0f} GB after the {h:.0%} headroom; a GPU "
            "with more memory or a lower precision fit")
    floor_best = s.floor_best
    for c, _b, _u in s.shapes:  # rare path: the best TPOT floor
        floor_best = min(floor_best, _tight(c, inp, sh).tpot_floor_s)
    if floor_best < math.inf and floor_best > s.tpot_s:
        limit = _tp_limit(sh.model)
        return InfeasibleError(f"target_tpot_ms {inp.tpot_ms:g} is below the hardware floor on {where}: "
                               f"one sequence alone takes {floor_best * 1000:.1f} ms per token"
                               + (f"; {limit}" if limit else ""))
    light = _lightest_tpot(inp, sh, [c for c, _b, _u in s.shapes])
    if light is not None and light[0] > s.tpot_s:
        s_light, c = light
        return InfeasibleError(
            f"target_tpot_ms {inp.tpot_ms:g} is out of reach at p{inp.slo_percentile:g} on {where}: one sequence "
            f"alone takes {floor_best * 1000:.2f} ms per token, but the steps a request decodes in vary (the "
            "requests sharing its batch, the prompt chunks in its steps), and even at one sequence in flight per "
            f"replica on average its p{inp.slo_percentile:g} TPOT is {s_light * 1000:.2f} ms on the fastest shape "
            f"({c.n}x {c.g.id}); "
            "a looser TPOT target, a lower slo_percentile or a faster GPU fit")
    idle = _idle_ttft(inp, sh, [c for c, _b, _u in s.shapes])
    if idle is not None and idle[0] > sh.ttft_s:
        s_idle, c = idle
        alone = ("an idle prefill replica (prefill, KV transfer to the decode pool, first-token overhead)"
                 if fx.disaggregated else "an idle replica")
        return InfeasibleError(
            f"target_ttft_ms {inp.ttft_ms:g} is out of reach on {where}: one request alone, on {alone}, "
            f"takes {s_idle * 1000:,.0f} ms to its first token at p{inp.slo_percentile:g} on the fastest shape "
            f"that holds the weights ({c.n}x {c.g.id}, {sh.prompt:,}-token prompts); a looser TTFT target, "
            "shorter prompts or a faster GPU fit")
    return InfeasibleError(f"{sh.model.id} does not fit on {where} with the p{inp.slo_percentile:g} TTFT/TPOT "
                           f"targets ({inp.ttft_ms:g} / {inp.tpot_ms:g} ms)")


def _tp_limit(model: ModelSpec, tp: int | None = None, per_node: int = max(SIZES)) -> str | None:
    """Why ``model``'s replicas cannot use a wider tensor-parallel size inside a node of
    ``per_node`` GPUs (``layers.tensor_parallel_refusal``), when the plan's ``tp`` is already
    the widest its heads allow (any ``tp`` when None); None when nothing is refused there."""
    sizes = [n for n in SIZES if n <= per_node]
    ok = [n for n in sizes if tensor_parallel_refusal(model, n) is None]
    wider = [n for n in sizes if n > max(ok)]
    if not wider or (tp is not None and tp != max(ok)):
        return None
    return (f"{model.id}'s heads split evenly over {' or '.join(map(str, ok))} GPUs only: "
            f"{tensor_parallel_refusal(model, wider[0])}, and serving engines give each GPU whole heads")


def _least(cands: list[Cand], value: Callable[[Cand], float]) -> tuple[float, Cand] | None:
    """(the least ``value`` over the configurations, and that configuration), skipping those the
    solver cannot build; None without one."""
    best: tuple[float, Cand] | None = None
    for c in cands:
        try:
            t = value(c)
        except XlsizerError:
            continue
        if best is None or t < best[0]:
            best = (t, c)
    return best


def _solver_kw(inp: SizingInputs, sh: Shared, c: Cand, prefill_tokens: float) -> dict[str, Any]:
    """The keyword arguments a solver function takes for configuration ``c`` of this sizing."""
    return dict(pp=c.pp, ep=c.ep, kv_precision=sh.kv_prec, engine=inp.serving_engine.value,
                prefill_tokens=prefill_tokens, tuning=c.tun, calibration=sh.cal(c.g, inp),
                slo_percentile=inp.slo_percentile, arrivals=sh.arr)


def _lightest_tpot(inp: SizingInputs, sh: Shared, cands: list[Cand]) -> tuple[float, Cand] | None:
    """(the least TPOT, s, at the SLO percentile at one sequence in flight on average, over
    configurations that hold the weights, and that configuration): why no load fits where the
    TPOT target lies between the hardware floor and it (``solver.lightest_tpot_q_s``; a
    disaggregated decode pool's steps carry no prompt). None without a configuration to ask."""
    pre = 0.0 if sh.fx.disaggregated else sh.fx.prefill_tokens
    return _least(cands, lambda c: lightest_tpot_q_s(sh.model, c.g, c.tp, c.prec, sh.prompt, sh.out_tok,
                                                     **_solver_kw(inp, sh, c, pre)))


def _idle_ttft(inp: SizingInputs, sh: Shared, cands: list[Cand]) -> tuple[float, Cand] | None:
    """(the least TTFT, s, one request reaches on an idle replica at the SLO percentile, over
    configurations that hold the weights, and that configuration): why no load fits where the
    TTFT target is below it (``solver.idle_ttft_s``). Disaggregated: an idle prefill replica's
    prompt, the KV's transfer to the decode pool and the first-token overhead, the TTFT
    ``evaluate`` holds the prefill pool to. None without a configuration to ask."""
    dis = sh.fx.disaggregated
    return _least(cands, lambda c: idle_ttft_s(sh.model, c.g, c.tp, c.prec, sh.prompt, sh.out_tok, prefill_only=dis,
                                               **_solver_kw(inp, sh, c, sh.fx.prefill_tokens))
                  + (kv_transfer_s(sh.prompt, sh.kv_tok, c.n, scaleout_bytes_per_s(c.g)) if dis else 0.0))


def _explain_choice(name: str, inp: SizingInputs, sh: Shared, plan: Plan, fits: dict[str, tuple[float, int]],
                    floors: dict[str, float], warn: list[str]) -> None:
    """Say why the automatic choice is not another GPU (issue 24: a harder input can need
    *fewer* GPUs when it moves the choice to a dearer, faster GPU).

    ``plan.alternative`` (an explain() row): the cheapest adequate shape on another GPU (the
    ranking is on cost, not GPU count). The warning: the dearest GPU cheaper per GPU than the
    chosen one that holds the weights but cannot meet the latency targets, and why.
    ``floors``: GPUs whose every configuration holding the weights was ruled out (by the
    bound or evaluated), with their best TPOT floor (inf: bandwidth out of reach)."""
    others = [(cost, total, gid) for gid, (cost, total) in fits.items() if gid != plan.gpu.id]
    if others:
        cost, total, gid = min(others)
        plan.alternative = (gid, total, cost)
    if name != "burst":  # the headline's scenario: one warning, not three
        return
    chosen = rank_price(plan.gpu, inp)
    refused = sorted(((c.price, c.order, c.g) for c in sh.cands
                      if c.price < chosen and c.g.id not in fits and c.g.id in floors), key=lambda t: t[:2])
    if not refused:
        return
    g = refused[-1][2]
    floor = floors[g.id]
    if floor == math.inf:
        why = f"its memory bandwidth cannot reach the {inp.tpot_ms:g} ms TPOT target"
    elif floor > inp.tpot_ms / 1000.0:
        why = f"one sequence alone takes {floor * 1000:.1f} ms per token there"
    else:
        why = "no batch it holds meets both targets"
    warn.append(f"at TPOT <= {inp.tpot_ms:g} ms and TTFT <= {inp.ttft_ms:g} ms the cheapest adequate GPU is no "
                f"longer {g.id}, cheaper per GPU than {plan.gpu.id} ({why}): tighter targets or heavier loads move "
                "the automatic choice to dearer, faster GPUs, so they can show fewer GPUs")
