"""Queueing: time to first token under load (waiting for the scheduler and for prefill).

Two arrival processes, one physics:

- **Poisson arrivals** at λ requests/s (the sizing): each attention rank is an M/D/1 queue in
  front of prefill, service time S = one prompt's prefill on its rank (``_prefill_s``), mean
  wait ρS / (2(1 − ρ)) with ρ = λS (Pollaczek-Khinchine). The prompt then runs in
  ``chunks`` = ⌈prompt / token budget⌉ engine steps, each shared with the decodes of the batch
  (chunked prefill), so it also waits out the decode part of those steps:

      TTFT = wait + S + chunks × decode step(B)

  With one chunk this is the older "wait + prefill + one decode step".

- **Closed loop at a fixed concurrency** n per attention rank (each client sends its next
  request when its last one ends; how serving benchmarks measure): the n clients start
  together, and with fixed prompt and output lengths their requests stay in waves, so a
  request's prompt is batched with the prompts of the others of its wave; the engine runs
  them back to back in chunks of its token budget. Request i of a wave has its first token
  after the first i prompts are through, so on average after (n + 1)/2 prompts' worth of
  prefill. The prompts of a wave share the GPU with the decodes of the previous one only
  partly, so the prefill rate is the idle replica's (S per prompt, batched prompts running at
  the token budget's efficiency, ``S_batched``):

      TTFT = S + (n − 1)/2 × S_batched × wave_fraction + chunks × decode step(B)

  ``wave_fraction`` (in [0, 1], fitted per engine, see engines.yaml) is the share of a wave's
  prompts a request finds ahead of it: 1 when every client's request arrives together, 0 for
  requests spread out evenly (then no one waits for another's prompt).
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
    return _md1_wait(rate_per_rank, prefill_s) + prefill_s + chunks * decode_step_s


def ttft_closed_loop(clients_per_rank: float, prefill_s: float, batched_prefill_s: float,
                     chunks: float, decode_step_s: float, wave_fraction: float) -> float:
    """Mean TTFT, s, at a fixed concurrency of ``clients_per_rank`` per attention rank (closed
    loop, see the module docstring): one prompt's prefill, the prompts of the wave ahead of
    it (``batched_prefill_s`` each) and the decode work of the steps its chunks share."""
    ahead = max(clients_per_rank - 1.0, 0.0) / 2.0 * wave_fraction
    return prefill_s + ahead * batched_prefill_s + chunks * decode_step_s


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
                        capacity.tpot_s)
