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

      TTFT_steady = S − S_b + R(n) + (chunks + ½) × decode step(B)

  That is steady traffic, as a deployment sees it. A benchmark is not: its clients all start
  together on an idle server (aiperf drains its warm-up before it measures) and every request
  has the same lengths. The n prompts then queue at once and are served back to back, the
  i-th waiting for the i − 1 before it:

      TTFT_burst = S + (n − 1)/2 × S_b

  Whether that first wave repeats is the scheduler's doing. An engine that schedules decodes
  first and fills the rest of the step with prompts (vLLM, TensorRT-LLM) starts each request
  decoding as soon as its prompt is done, so requests end one pass apart and the next round
  arrives spread out: only the first of the run's R rounds is a burst. An engine that runs
  waiting prompts before any decode (SGLang) prefills the whole wave before decoding it, so
  the wave ends together and the next round is a burst again; with fixed lengths every round
  would be, but admission limits and chunked prompts break waves up, so the share of rounds
  kept in step, s, is fitted (calibration ``in_step_share``, between 1/R and 1). The mean
  over the run is

      TTFT = (1 − w) × TTFT_steady + w × TTFT_burst,  w = 1/R (decodes first) or max(1/R, s)

The server's service time in every queue above (S in M/D/1, S_b in the closed loop and the
burst) is the physics' time times k, the calibration's ``queue_service_scale`` (1 in the
packaged calibration). A team's own runs fit k where their TTFT grows with load faster or
slower than the physics says (a scheduler that runs each waiting prompt in a step of its own
does not pack them to the token budget); k scales the waits only, never the prompt's own
prefill, so a lone request's TTFT does not move with it:

      TTFT_steady = max(S − S_b, 0) + S_b + (R_k(n) − k·S_b) + (chunks + ½) × decode step(B)
      TTFT_burst  = S + (n − 1)/2 × k·S_b

with R_k(n) the mean value analysis over service k·S_b (at k = 1 the formulas above).
"""

from __future__ import annotations

import math

from xlsizer.errors import InputError


def gg1_mean_wait(rate: float, service_s: float, ca2: float = 1.0, cs2: float = 0.0) -> float:
    """Mean wait, s, of a G/G/1 queue (Kingman/Allen-Cunneen); exactly Pollaczek-Khinchine
    for Poisson arrivals (ca2 = 1). ``inf`` at or past saturation."""
    rho = rate * service_s
    if rho >= 1.0:
        return math.inf
    return (ca2 + cs2) / 2.0 * rho * service_s / (1.0 - rho)


def ttft_poisson(rate_per_rank: float, prefill_s: float, chunks: float, decode_step_s: float,
                 queue_scale: float = 1.0) -> float:
    """Mean TTFT, s, of Poisson arrivals at ``rate_per_rank`` req/s on one attention rank whose
    prompt takes ``prefill_s`` alone and runs in ``chunks`` steps of ``decode_step_s`` s of
    decode work each; the queue's server holds each prompt ``queue_scale`` × ``prefill_s``.
    ``inf`` at or past saturation of prefill."""
    return gg1_mean_wait(rate_per_rank, prefill_s * queue_scale) + prefill_s + (chunks + 0.5) * decode_step_s


def closed_loop_response(clients: float, service_s: float, think_s: float) -> float:
    """Mean response time, s, of one server visited by ``clients`` clients that each think
    ``think_s`` s between visits (exact MVA, see the module docstring). Cost: one short loop
    per client (at most ``MVA_MAX_CLIENTS``; beyond, the saturated asymptote n·S − Z).

    ``clients`` may be a mean with a fraction (a sizing's clients per replica: a fleet of
    ⌊n⌋ on some servers and ⌈n⌉ on the rest, in the fraction's proportion): R is then the
    same mix of R(⌊n⌋) and R(⌈n⌉), continuous and rising in n. Rounding n instead made R a
    step, so a longer output, whose clients spend longer decoding, could cross a half client
    and carry more requests per replica at a TTFT target (17% more, 2.5 to 3.5 clients, in
    docs/method.md's example, "Answers that must move the right way"). Below one client: one
    (a lone client never waits)."""
    if service_s <= 0.0:
        return 0.0
    n = clients if clients > 1.0 else 1.0
    if n > MVA_MAX_CLIENTS:  # saturated long before: the asymptote is exact to rounding
        return max(n * service_s - think_s, closed_loop_response(MVA_MAX_CLIENTS, service_s, think_s))
    whole = math.floor(n)
    frac = n - whole
    q = 0.0
    r = service_s
    for k in range(1, whole + 1):
        r = service_s * (1.0 + q)
        q = k * r / (r + think_s)
    if frac <= 0.0:
        return r
    above = service_s * (1.0 + q)  # R(⌊n⌋ + 1): one more step of the recursion
    return r + frac * (above - r)


MVA_MAX_CLIENTS: int = 4096
"""Clients per rank beyond which ``closed_loop_response`` uses its saturated asymptote."""


def burst_weight(rounds: float | None, in_step_share: float = 0.0) -> float:
    """Share of a closed-loop run's requests that arrive in a burst (module docstring): 0 for
    steady traffic (``rounds`` None); else the first of the run's ``rounds`` rounds, or the
    ``in_step_share`` of them an engine that runs prompts before decodes keeps in step
    (0 for an engine that schedules decodes first)."""
    if rounds is None:
        return 0.0
    if not rounds >= 1.0:
        raise InputError("benchmark_rounds", rounds, ">= 1 or None")
    return max(1.0 / rounds, in_step_share)


def ttft_closed_loop(clients_per_rank: float, prefill_s: float, batched_prefill_s: float,
                     chunks: float, decode_step_s: float, think_s: float,
                     burst: float = 0.0, queue_scale: float = 1.0) -> float:
    """Mean TTFT, s, at a fixed concurrency of ``clients_per_rank`` per attention rank (closed
    loop, see the module docstring). Steady traffic: the prefill queue and service R(n) over
    the batched prefill, the prompt's own prefill beyond that, and the decode work of the
    steps its chunks share; ``think_s`` is the time a request spends decoding, (output − 1) ×
    TPOT. ``burst`` (``burst_weight``) is the share of requests that instead arrive with all
    the others on an idle server, as a benchmark's first round does, and wait for the
    prompts queued before theirs. ``queue_scale``: the server holds each waiting prompt that
    many times ``batched_prefill_s`` (the module docstring); the waits grow with it, the
    prompt's own service does not."""
    kb = queue_scale * batched_prefill_s
    r = closed_loop_response(clients_per_rank, kb, think_s)
    if queue_scale != 1.0:  # own service S_b plus the wait at service k·S_b
        r = batched_prefill_s + (r - kb)
    steady = max(prefill_s - batched_prefill_s, 0.0) + r + (chunks + 0.5) * decode_step_s
    if burst <= 0.0:
        return steady
    wave = prefill_s + max(clients_per_rank - 1.0, 0.0) / 2.0 * kb
    return (1.0 - burst) * steady + burst * wave
