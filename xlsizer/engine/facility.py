"""Facility: server spec, fabric, power, racks, cooling (course.md §10.3 steps 14-16).

    server W     = GPUs × TDP + platform overhead (defaults.yaml server_power, sourced)
    IT kW        = server kW × servers
    racks        = servers packed up to the rack power limit, at most 10 per rack
    cooling/PUE  = tier by kW per rack: <15 air 1.5, ≤35 dense air 1.5, ≤80 RDHX 1.25, >80 DLC 1.15
    facility kW  = IT kW × PUE
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xlsizer.catalog.loader import read_data_file
from xlsizer.catalog.schema import GpuSpec

_D = read_data_file("defaults.yaml")
_POWER = _D["server_power"]
_RACKS = _D["racks"]
MAX_SERVERS_PER_RACK: int = int(_RACKS["max_servers"])  # server slots of a rack (course §10.3 step 16)
COOLING_TIERS: list[tuple[str, float, float]] = [
    (t["name"], float(t["max_kw_per_rack"]), float(t["pue"])) for t in _D["cooling_tiers"]
]
LIQUID_TIER: str = _D["liquid_required_tier"]
_FABRIC = _D["fabric"]
_SPEC = _D["server_spec"]


def server_power_w(gpus_in_server: int, gpu_tdp_w: float) -> float:
    """Sustained server power, W: GPUs at TDP (they run near it continuously, course §2)
    plus the platform overhead of that server class."""
    gpu_w = gpus_in_server * gpu_tdp_w
    if gpus_in_server >= _POWER["large_min_gpus"]:
        return gpu_w * (1.0 + _POWER["large_overhead_fraction_of_gpu_w"])
    if gpus_in_server >= 2:
        return gpu_w + _POWER["medium_overhead_w"]
    return gpu_w + _POWER["small_overhead_w"]


@dataclass(frozen=True, slots=True)
class RackPlan:
    racks: int
    servers_per_rack: int
    """Servers (NVL72: trays) in each rack as packed: the deployment spread evenly over its racks."""
    kw_per_rack: float
    cooling_tier: str
    pue: float
    capacity: int
    """Servers (trays) one rack can hold within the power limit (``servers_per_rack`` is what
    this deployment puts there, at most this)."""


def servers_per_rack(server_kw: float, rack_limit_kw: float) -> int:
    """Servers one rack holds: up to its power limit and its server slots."""
    return max(1, min(MAX_SERVERS_PER_RACK, math.floor(rack_limit_kw / server_kw + 1e-9)))


def rack_domain_trays(g: GpuSpec) -> int | None:
    """Trays (servers) of one rack-scale NVLink domain where ``g``'s scale-up domain spans
    several servers in one rack (GB200, GB300, Vera Rubin NVL72: 72 GPUs in 18 trays of 4;
    catalog ``scaleup_domain_gpus``), else None. A replica over several trays stays in that
    rack, and the rack's liquid cooling is the system's own."""
    domain = g.scaleup_domain_gpus
    if g.form_factor == "superchip" and domain is not None and domain > g.gpus_per_node:
        return domain // g.gpus_per_node
    return None


def domain_trays_per_rack(domain_trays: int, tray_kw: float, rack_limit_kw: float) -> int:
    """Trays one rack holds of a rack-scale NVLink system whose scale-up domain is
    ``domain_trays`` trays (GB200/GB300 NVL72: 18 trays of 4 GPUs): the whole domain where the
    rack power limit allows it (NVL72, about 120-135 kW), else half the domain over each of two
    racks joined by NVLink cables (NVIDIA's NVL36x2, about 66 kW), else as many as the limit
    allows (no such product: the facility needs denser racks). Not the course's 10 servers,
    which are 8-GPU chassis: an NVL72 tray is 1U."""
    if domain_trays * tray_kw <= rack_limit_kw + 1e-9:
        return domain_trays
    half = domain_trays // 2
    if half >= 1 and half * tray_kw <= rack_limit_kw + 1e-9:
        return half
    return max(1, math.floor(rack_limit_kw / tray_kw + 1e-9))


def rack_plan(servers: int, server_kw: float, rack_limit_kw: float, liquid_required: bool,
              domain_trays: int | None = None) -> RackPlan:
    """Pack servers into racks up to the power limit, then choose the cooling tier by kW per rack;
    ``domain_trays``: the servers are trays of a rack-scale NVLink domain (``domain_trays_per_rack``)."""
    fit = (domain_trays_per_rack(domain_trays, server_kw, rack_limit_kw) if domain_trays
           else servers_per_rack(server_kw, rack_limit_kw))
    racks = math.ceil(servers / fit)
    per_rack = math.ceil(servers / racks)
    kw_per_rack = per_rack * server_kw
    tier, pue = cooling_tier(kw_per_rack)
    if liquid_required and tier != LIQUID_TIER:
        tier, pue = next((n, p) for n, _, p in COOLING_TIERS if n == LIQUID_TIER)
    return RackPlan(racks, per_rack, kw_per_rack, tier, pue, fit)


def cooling_tier(kw_per_rack: float) -> tuple[str, float]:
    """(tier name, PUE) for a rack's power density."""
    for name, limit, pue in COOLING_TIERS:
        if kw_per_rack < limit or (limit == math.inf):
            return name, pue
    raise AssertionError("unreachable: last tier is unbounded")


def fabric(servers_per_replica: int, is_moe: bool, params_b: float, in_scale_up_domain: bool = False) -> str:
    """Network fabric for a replica layout (course step 15); ``in_scale_up_domain``: the replica's
    servers share one NVLink domain (NVL72 trays), so it spans them over NVLink."""
    if servers_per_replica <= 1:
        return _FABRIC["single_node"]
    if in_scale_up_domain:
        return _FABRIC["scale_up_domain"]
    if is_moe and params_b > _FABRIC["large_moe_params_b"]:
        return _FABRIC["multi_node_large_moe"]
    return _FABRIC["multi_node"]


@dataclass(frozen=True, slots=True)
class ServerSpec:
    gpus: str
    cpu: str
    ram_gb: int
    nvme_tb: float
    nic: str


def server_spec(gpu: GpuSpec, gpus_in_server: int, weights_gb: float, kv_gb: float, kv_offload: bool) -> ServerSpec:
    """CPU, RAM, NVMe and NICs of one server (course step 14)."""
    rnd = _SPEC["ram_round_gb"]
    vram_gb = gpus_in_server * gpu.memory_gb
    if gpus_in_server >= 5:
        s = _SPEC["large"]
        ram = max(s["min_ram_gb"], 2 * vram_gb)
        if kv_offload:
            ram = max(ram, s["offload_ram_gb"])
        nvme = max(s["min_nvme_tb"], (4 * weights_gb + 2 * kv_gb) / 1000)
    elif gpus_in_server >= 2:
        s = _SPEC["medium"]
        ram = max(s["min_ram_gb"], 2 * vram_gb if kv_offload else 0)
        nvme = s["min_nvme_tb"]
    else:
        s = _SPEC["small"]
        ram = s["large_vram_ram_gb"] if gpu.memory_gb >= 80 else s["min_ram_gb"]
        nvme = s["min_nvme_tb"]
    ram = int(math.ceil(ram / rnd) * rnd)
    return ServerSpec(f"{gpus_in_server}x {gpu.name}", s["cpu"], ram, round(nvme, 1), s["nic"])
