"""Guardrails that refuse (issue 15): a plan beyond what anyone would build is an error that
says what to change, not an answer with warnings.

Two limits, both checked per scenario after placement:

* one replica must fit in one rack: a model replica whose tensor/pipeline stages span more
  servers than a rack holds (at most 10 servers, fewer when the rack's power limit binds:
  ``facility.rack_plan``) runs its per-token traffic between racks every step; no serving
  engine is deployed that way. The course-table method reaches it by putting the whole
  deployment's KV in each replica (deepseek-r1 on L4: 12 servers per replica).
* the deployment must stay under ``max_total_gpus`` (an input; default 100,000 GPUs, the
  scale of the largest single clusters built by 2025, e.g. xAI Colossus: 100,000 H100 in 2024,
  200,000 GPUs in 2025). Past it the answer is a sizing mistake (wrong unit, users for
  registered accounts, a GPU far too small), not a purchase order: 10,485,888 L4s and 1.36 GW
  were once returned as a plan.

Both are ``PlanTooLargeError`` (an ``InfeasibleError``): one line for a cell, the batch log
and the CLI.
"""

from __future__ import annotations

import math

from xlsizer.errors import InfeasibleError


class PlanTooLargeError(InfeasibleError):
    """The plan exceeds what anyone would build; the message says what to change."""


def check_replica_fits_a_rack(scenario: str, gpu_id: str, gpus_per_replica: int, servers_per_replica: int,
                              servers_per_rack: int, rack_kw: float, course_method: bool,
                              rack_kw_needed: float | None = None) -> None:
    """Refuse a replica spanning more servers than one rack holds. ``rack_kw_needed``: the rack
    power that would hold the replica where the power limit, not the rack's server slots, is
    what binds (kW; None otherwise): the message then names that input too, since a planner
    told only "more memory" may already be on the GPU with the most (kimi-k3 BF16 on MI355X:
    4 servers of 20.2 kW against an 80 kW rack)."""
    if servers_per_replica <= servers_per_rack:
        return
    ways = ["a GPU with more memory", "a lower precision"]
    if course_method:
        ways.insert(0, "throughput_source 'roofline' (the course method puts every in-flight request's KV in "
                       "one replica)")
    if rack_kw_needed is not None:
        ways.append(f"racks of at least {math.ceil(rack_kw_needed - 1e-9):,} kW (rack_power_limit_kw)")
    fix = ("use " if course_method else "choose ") + ", ".join(ways[:-1]) + f" or {ways[-1]}"
    raise PlanTooLargeError(
        f"{scenario}: one replica of {gpus_per_replica:,}x {gpu_id} spans {servers_per_replica:,} servers, more "
        f"than the {servers_per_rack} a {rack_kw:g} kW rack holds; {fix}")


def check_deployment_ceiling(scenario: str, gpu_id: str, total_gpus: int, facility_kw: float, ceiling: int,
                             alternative: tuple[str, int] | None = None) -> None:
    """Refuse a deployment above ``max_total_gpus``. ``alternative``: (GPU, GPUs in use) of the
    automatic choice's cheapest plan on another GPU, named where it stays within the ceiling (the
    ceiling refuses a plan as a likely mistake; it does not steer the choice to a dearer GPU)."""
    if total_gpus <= ceiling:
        return
    other = ""
    if alternative is not None and alternative[1] <= ceiling:
        gid, n = alternative
        other = (f"; the cheapest plan on another GPU, {n:,} {gid} in use, is within it, at a higher cost "
                 f"(gpu {gid})")
    raise PlanTooLargeError(
        f"{scenario}: {total_gpus:,}x {gpu_id} ({facility_kw / 1000:,.1f} MW) is above max_total_gpus "
        f"{ceiling:,}; check the users (active at peak, not registered), the load and the GPU, or raise "
        f"max_total_gpus{other}")
