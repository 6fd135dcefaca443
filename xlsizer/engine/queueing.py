"""Queueing: TTFT under load (waiting for the scheduler and for prefill)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xlsizer.errors import (
    InputError,
)

if TYPE_CHECKING:
    from xlsizer.engine.solver import ReplicaCapacity


def _md1_wait(rate: float, service: float) -> float:
    """Mean wait in an M/D/1 queue (Pollaczek-Khinchine), s; inf at or past saturation."""
    rho = rate * service
    if rho >= 1.0:
        return math.inf
    return rho * service / (2.0 * (1.0 - rho))


def ttft_at_load(capacity: ReplicaCapacity, offered_rps: float) -> float:
    """Mean TTFT, s, when one replica receives ``offered_rps`` requests/s (Poisson).

    Queueing model: M/D/1 in front of prefill; service time S = one prompt's prefill
    (``capacity.prefill_s``), ρ = offered_rps × S, mean wait ρS / (2(1 − ρ)); TTFT = wait + S
    + one decode step at capacity. ``inf`` past the replica's capacity or at ρ ≥ 1.
    """
    if not offered_rps >= 0.0:
        raise InputError("offered_rps", offered_rps, ">= 0")
    if not capacity.feasible or offered_rps > capacity.req_s * (1.0 + 1e-9):
        return math.inf
    return _md1_wait(offered_rps, capacity.prefill_s) + capacity.prefill_s + capacity.tpot_s
