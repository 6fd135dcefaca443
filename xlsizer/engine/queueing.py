"""Queueing: time to first token under load (waiting for the scheduler and for prefill).

Two arrival processes, one physics:

- **Poisson arrivals** at λ requests/s (the sizing): each attention rank is an M/D/1 queue in
  front of prefill, service time S = one prompt's prefill on its rank (``_prefill_s``), mean
  wait ρS / (2(1 − ρ)) with ρ = λS (Pollaczek-Khinchine). The prompt then runs in
  ``chunks`` = ⌈prompt / token budget⌉ engine steps, each shared with the decodes of the batch
  (chunked prefill), so it also waits out the decode part of those steps; and it arrives while
  a step is running, which it waits to end before the scheduler can admit it (the mean
  residual of a steady stream of equal steps is half a step):

      TTFT = wait + S + (chunks + ½) × decode step(B)

- **Closed loop at a fixed concurrency** n per attention rank (each client sends its next
  request when its last one ends; how serving benchmarks measure): a closed queueing network
  of n clients, one "think" stage (the request decoding, (output − 1) × TPOT) and one
  server, the GPU's prefill, whose service time is one prompt's prefill when prompts are
  batched back to back at the token budget's efficiency (S_b). Its mean response time R(n)
  comes from exact mean value analysis (Reiser and Lavenberg 1980; the "machine repairman"
  model): R(k) = S_b (1 + Q(k − 1)), X(k) = k / (R(k) + Z), Q(k) = X(k) R(k), k = 1..n.
  At one client R = S_b; once prefill saturates, R grows by S_b per client. The prompt itself
  runs alone in S (not S_b) when no one waits, and its chunks share steps with decodes:

      TTFT = S − S_b + R(n) + f × (n − 1)/2 × S_b + (chunks + ½) × decode step(B)

  The f term (per-engine fitted, in [0, 1]) is what the steady state misses: clients that
  start together stay in step when every request has the same lengths, so a request waits for
  part of its wave's prompts too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xlsizer.errors import InputError

if TYPE_CHECKING:
    from xlsizer.engine.solver import ReplicaCapacity


def _md1_wait(rate: float, service: float) -> float:
    """Mean wait in an M/D/1 queue (Pollaczek-Khinchine), s; inf at or past saturation."""
    rho = rate * service
    if rho >= 1.0:
        return math.inf
    return rho * service / (2.0 * (1.0 - rho))


def ttft_poisson(rate_per_rank: float, prefill_s: float, chunks: float, decode_step_s: float) -> float:
    """Mean TTFT, s, of Poisson arrivals at ``rate_per_rank`` req/s on one attention rank whose
    prompt takes ``prefill_s`` alone and runs in ``chunks`` steps of ``decode_step_s`` s of
    decode work each. ``inf`` at or past saturation of prefill."""
    return _md1_wait(rate_per_rank, prefill_s) + prefill_s + (chunks + 0.5) * decode_step_s


def closed_loop_response(clients: float, service_s: float, think_s: float) -> float:
    """Mean response time, s, of one server visited by ``clients`` clients that each think
    ``think_s`` s between visits (exact MVA, see the module docstring). Cost: one short loop
    per client (at most ``MVA_MAX_CLIENTS``; beyond, the saturated asymptote n·S − Z)."""
    n = max(round(clients), 1)
    if service_s <= 0.0:
        return 0.0
    if n > MVA_MAX_CLIENTS:  # saturated long before: the asymptote is exact to rounding
        return max(n * service_s - think_s, closed_loop_response(MVA_MAX_CLIENTS, service_s, think_s))
    q = 0.0
    r = service_s
    for k in range(1, n + 1):
        r = service_s * (1.0 + q)
        q = k * r / (r + think_s)
    return r


MVA_MAX_CLIENTS: int = 4096
"""Clients per rank beyond which ``closed_loop_response`` uses its saturated asymptote."""


def ttft_closed_loop(clients_per_rank: float, prefill_s: float, batched_prefill_s: float,
                     chunks: float, decode_step_s: float, think_s: float,
                     wave_fraction: float = 0.0) -> float:
    """Mean TTFT, s, at a fixed concurrency of ``clients_per_rank`` per attention rank (closed
    loop, see the module docstring): the prefill queue and service R(n) over the batched
    prefill, the prompt's own prefill beyond that, and the decode work of the steps its
    chunks share. ``think_s``: the time a request spends decoding, (output − 1) × TPOT.
    ``wave_fraction`` f adds f × (n − 1)/2 prompts: clients that start together (as a
    benchmark's do) stay in step with fixed lengths, so a request also waits for part of its
    wave's prompts, which the steady-state MVA does not see (f = 0: steady state only)."""
    r = closed_loop_response(clients_per_rank, batched_prefill_s, think_s)
    r += wave_fraction * max(clients_per_rank - 1.0, 0.0) / 2.0 * batched_prefill_s
    return max(prefill_s - batched_prefill_s, 0.0) + r + (chunks + 0.5) * decode_step_s


def ttft_at_load(capacity: ReplicaCapacity, offered_rps: float) -> float:
    """Mean TTFT, s, when one replica receives ``offered_rps`` requests/s (Poisson arrivals).

    ``ttft_poisson`` on each of the replica's attention ranks at the capacity's batch.
    ``inf`` past the replica's capacity or at ρ ≥ 1.
    """
    if not offered_rps >= 0.0:
        raise InputError("offered_rps", offered_rps, ">= 0")
    if not capacity.feasible or offered_rps > capacity.req_s * (1.0 + 1e-9):
        return math.inf
    return ttft_poisson(offered_rps / capacity.ranks, capacity.prefill_s, capacity.prefill_chunks,
                        capacity.tpot_s) + capacity.first_token_s
