"""Placement: which GPU, how many per replica, how many replicas, how many servers
(course.md §10.3 steps 9, 10, 12, 13).

GPU pick (course step 9, with the precision gate the course describes but its code lacks):
    candidates in catalog search order (cheapest first) × n in (1, 2, 4, 8) GPUs;
    first with n × memory ≥ VRAM and n × bandwidth ≥ 1.3 × need (retry at 1.0×);
    a GPU without tensor cores for the compute precision is never a candidate;
    PCIe-only cards are skipped when weights exceed 30 GB;
    nothing fits in 8 → the largest-memory candidate, 8 per node, pipeline stages across nodes.
Replicas (step 12): active = ceil(demand ÷ throughput); total = active + spares, where
    N+2 in the resilient scenario also pairs failure domains: max(a + 2, 2 × ceil(a / 2)).
Servers (step 13): replicas that fit a node share it (⌊GPUs per node ÷ GPUs per replica⌋, as
    the course's worked example packs 4 two-GPU replicas per HGX); larger replicas span
    ceil(n ÷ GPUs per node) servers; at least 1/2/3 servers for N/N+1/N+2.
Redundancy rule (xlsizer, docs/method.md "Spares and servers"): with spares, losing any one
    server must leave at least the active replicas, so the spares cover the most replicas one
    server holds. ``survivable_fleet`` meets it by fewer replicas per server or by more spares,
    whichever costs less on the sizing's basis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from xlsizer.catalog.schema import GpuSpec
from xlsizer.precision import Precision


@dataclass(frozen=True, slots=True)
class GpuChoice:
    gpu: GpuSpec
    gpus_per_replica: int
    tp: int
    pp: int
    bandwidth_margin: float
    """1.3 when the preferred margin was met, 1.0 on the retry, 0 when nothing met it."""
    fits_one_node: bool


def parallelism(n: int, gpus_per_node: int) -> tuple[int, int]:
    """(TP, PP) for n GPUs: tensor parallel inside a node, pipeline stages across nodes."""
    if n <= gpus_per_node:
        return n, 1
    pp = math.ceil(n / gpus_per_node)
    return gpus_per_node, pp


def _eligible(g: GpuSpec, precision: Precision, weights_bytes: float, pcie_max_weights_bytes: float) -> bool:
    """The course's gates on a GPU: it supports the precision, and a PCIe card only for weights
    up to ``pcie_max_weights_bytes`` (tensor parallelism over PCIe is too slow beyond that)."""
    return g.supports(precision) and not (g.form_factor == "pcie" and weights_bytes > pcie_max_weights_bytes)


def pick_gpu(
    candidates: list[GpuSpec],
    precision: Precision,
    vram_bytes: float,
    bandwidth_need_bytes_per_s: float,
    weights_bytes: float,
    *,
    sizes: tuple[int, ...] = (1, 2, 4, 8),
    margin: float = 1.3,
    pcie_max_weights_bytes: float = 30e9,
) -> GpuChoice | None:
    """The course's first-fit search over (GPU, n); None when no candidate supports the precision."""
    eligible = [g for g in candidates if _eligible(g, precision, weights_bytes, pcie_max_weights_bytes)]
    if not eligible:
        return None
    for m in (margin, 1.0):
        for g in eligible:
            for n in sizes:
                if n > g.gpus_per_node:
                    continue
                fits = n * g.memory_bytes >= vram_bytes
                if fits and n * g.memory_bandwidth_bytes_per_s >= m * bandwidth_need_bytes_per_s:
                    tp, pp = parallelism(n, g.gpus_per_node)
                    return GpuChoice(g, n, tp, pp, m, True)
    # nothing fits one node: largest-memory candidate, whole nodes, pipeline across them
    g = max(eligible, key=lambda x: (x.memory_bytes, x.memory_bandwidth_bytes_per_s))
    return fixed_gpu(g, vram_bytes, bandwidth_need_bytes_per_s, sizes=sizes)


def adequate_configs(
    candidates: list[GpuSpec],
    precision: Precision,
    vram_bytes: float,
    bandwidth_need_bytes_per_s: float,
    weights_bytes: float,
    *,
    sizes: tuple[int, ...] = (1, 2, 4, 8),
    margin: float = 1.3,
    pcie_max_weights_bytes: float = 30e9,
    max_stages: int = 16,
) -> list[GpuChoice]:
    """Every (GPU, n) that passes the course's test (n x memory >= VRAM, n x bandwidth >=
    ``margin`` x need, the precision gate, the PCIe rule): n in ``sizes`` within a node, then
    whole nodes (pipeline stages) up to ``max_stages``, in catalog search order.

    The set only shrinks as the need grows, so its cheapest member can only get dearer as the
    load grows, which the course's first fit does not promise (issue 15: the first fit, 88x
    L40S, cost twice the 28x H100 that one more user moved it to)."""
    out: list[GpuChoice] = []
    for g in candidates:
        if not _eligible(g, precision, weights_bytes, pcie_max_weights_bytes):
            continue
        per_node = g.gpus_per_node
        ns = [n for n in sizes if n <= per_node] + [k * per_node for k in range(2, max_stages + 1)]
        for n in ns:
            bw = n * g.memory_bandwidth_bytes_per_s
            if n * g.memory_bytes >= vram_bytes and bw >= margin * bandwidth_need_bytes_per_s:
                tp, pp = parallelism(n, per_node)
                out.append(GpuChoice(g, n, tp, pp, margin, pp == 1))
    return out


def fixed_gpu(
    g: GpuSpec, vram_bytes: float, bandwidth_need_bytes_per_s: float, *, sizes: tuple[int, ...] = (1, 2, 4, 8)
) -> GpuChoice:
    """GPUs per replica for a GPU the user chose: the smallest n (power of two within a node,
    whole nodes beyond) whose memory holds the VRAM need and whose bandwidth meets the need."""
    per_node = g.gpus_per_node
    for n in sizes:
        fits = n * g.memory_bytes >= vram_bytes
        if n <= per_node and fits and n * g.memory_bandwidth_bytes_per_s >= bandwidth_need_bytes_per_s:
            return GpuChoice(g, n, n, 1, 1.0, True)
    by_mem = math.ceil(vram_bytes / g.memory_bytes)
    by_bw = math.ceil(bandwidth_need_bytes_per_s / g.memory_bandwidth_bytes_per_s)
    n = max(by_mem, by_bw, 1)
    if n <= per_node:
        n = next((s for s in sizes if s >= n and s <= per_node), per_node)
        tp, pp = parallelism(n, per_node)
        return GpuChoice(g, n, tp, pp, 1.0, True)
    nodes = math.ceil(n / per_node)
    n = nodes * per_node
    tp, pp = parallelism(n, per_node)
    return GpuChoice(g, n, tp, pp, 1.0, False)


def replica_count(active: int, offset: int, paired_failure_domains: bool) -> int:
    """Total replicas from active ones and spares (course step 12)."""
    total = active + offset
    if paired_failure_domains:
        total = max(total, 2 * math.ceil(active / 2))
    return total


def active_replicas(demand_tok_s: float, throughput_per_replica_tok_s: float) -> int:
    """Replicas needed to serve the demand, at least one."""
    if throughput_per_replica_tok_s <= 0:
        raise ValueError("throughput per replica must be positive")
    return max(1, math.ceil(demand_tok_s / throughput_per_replica_tok_s - 1e-9))


@dataclass(frozen=True, slots=True)
class ServerLayout:
    servers: int
    replicas_per_server: int
    """The most replicas any one server holds, with replicas spread evenly over the servers."""
    servers_per_replica: int
    gpus_per_server: int
    """GPUs installed in each server (whole HGX/OAM boards come with all their GPUs)."""


def full_baseboards(gpu: GpuSpec) -> bool:
    """Whether the GPU's servers ship with every slot filled (SXM/OAM baseboards, superchip
    trays): a server holding fewer replicas still has all its GPUs. PCIe servers hold only the
    cards needed."""
    return gpu.form_factor in ("sxm", "oam", "superchip")


def consolidate(
    replicas: int, gpus_per_replica: int, gpu: GpuSpec, min_servers: int, *, max_per_server: int | None = None
) -> ServerLayout:
    """Servers for the replicas (course step 13, packing whole replicas into each node, at most
    ``max_per_server`` of them when given)."""
    per_node = gpu.gpus_per_node
    if gpus_per_replica <= per_node:
        rps = per_node // gpus_per_replica
        if max_per_server is not None:
            rps = max(1, min(rps, max_per_server))
        servers = max(math.ceil(replicas / rps), min_servers)
        spr = 1
    else:
        rps = 1
        spr = math.ceil(gpus_per_replica / per_node)
        servers = max(replicas * spr, min_servers)
    if spr == 1:
        rps = math.ceil(replicas / servers)  # replicas spread evenly: the most any one server holds
    if full_baseboards(gpu):
        installed = per_node  # baseboards ship fully populated
    elif spr == 1:
        installed = rps * gpus_per_replica  # PCIe: only the cards needed
    else:
        installed = per_node
    return ServerLayout(servers, rps, spr, installed)


class Fleet(NamedTuple):
    """Replicas and their servers under the redundancy rule (``survivable_fleet``)."""

    replicas: int
    layout: ServerLayout
    added_spares: int
    """Spares beyond the scenario's N+1/N+2 that the rule added."""


def installed_slots(replicas: int, layout: ServerLayout) -> int:
    """GPU slots of the servers (what on-prem buys), never below the GPUs the replicas use."""
    return max(layout.servers * layout.gpus_per_server, replicas)


def survivable_fleet(
    active: int, offset: int, paired_failure_domains: bool, gpus_per_replica: int, gpu: GpuSpec, min_servers: int,
    per_gpu_bill: bool = False, server_cost: Callable[[int], float] | None = None,
) -> Fleet:
    """Replicas and servers such that one server failure leaves at least ``active`` replicas.

    The course packs replicas densely (step 13) and adds a fixed N+1/N+2 (step 12): 11 active
    1-GPU replicas + 1 spare on two 8-GPU servers lose 6 replicas with one server. Here each
    cap k on replicas per server (1 .. GPUs per node // GPUs per replica) is tried with spares
    ``max(offset, k)``, the cap's replicas packed densely; the fleet kept costs least on the
    bill's basis (``per_gpu_bill``: the GPUs in use, as a cloud rents them; else the installed
    GPU slots plus each server at ``server_cost`` of the GPUs it holds, as on-prem buys them:
    a server without GPUs priced in GPUs, by its size class. It orders PCIe fleets, whose
    servers hold only the cards needed (spreading 31 one-GPU replicas one per server, the
    fewest slots, cost 28% more than four per server at cost.py's class prices); a full
    baseboard's servers all hold the same, so its slots already order them), then installs the
    fewest GPU slots, then has the fewest servers. Fewer replicas per server (more servers) or more spares
    (fewer servers): whichever the bill prefers; for every cap the cost only grows with the load and the spares, so the
    cheapest does too. ``offset`` 0 (the baseline) promises no redundancy and keeps the
    course's packing; a replica spanning servers loses one replica per server failure, which
    any spare covers. Integer arithmetic in the loop (``consolidate``'s rules): the search
    calls this once per candidate configuration.
    """
    per_node = gpu.gpus_per_node
    if offset == 0 or gpus_per_replica > per_node:
        plain = replica_count(active, offset, paired_failure_domains)
        return Fleet(plain, consolidate(plain, gpus_per_replica, gpu, min_servers), 0)
    full_boards = full_baseboards(gpu)
    best_key: tuple[float, int, int, int] | None = None
    best_k = best_total = 0
    # a cap above the spares adds replicas, which a per-GPU bill never prefers: skip those caps
    caps = per_node // gpus_per_replica
    for k in range(1, (min(caps, offset) if per_gpu_bill else caps) + 1):
        total = replica_count(active, max(offset, k), paired_failure_domains)
        servers = max(-(-total // k), min_servers)
        per_server = per_node if full_boards else -(-total // servers) * gpus_per_replica
        slots = max(servers * per_server, total * gpus_per_replica)
        server = server_cost(per_server) if server_cost is not None and not per_gpu_bill else 0.0
        key = (total * gpus_per_replica if per_gpu_bill else slots + servers * server, slots, servers, total)
        if best_key is None or key < best_key:
            best_key, best_k, best_total = key, k, total
    plain = replica_count(active, offset, paired_failure_domains)
    return Fleet(best_total, consolidate(best_total, gpus_per_replica, gpu, min_servers, max_per_server=best_k),
                 best_total - plain)
