"""The SLO percentile a sizing meets, as the results show it (issue 22): TTFT and TPOT at the
chosen percentile beside their means, with the arrivals assumed. The physics is in
``latency.py``; the capacity solver (``solver.py``) already sized the batch so that the
percentile, not the mean, meets each target."""

from __future__ import annotations

import math
from typing import Any

from xlsizer.engine.latency import Arrivals, ttft_at_load_q, ttft_open
from xlsizer.engine.solver import ReplicaCapacity
from xlsizer.inputs import SizingInputs

S_SLO = ("xlsizer latency percentiles (engine/latency.py: Pollaczek-Khinchine / Kingman wait, exponential "
         "wait tail (two-moment hyperexponential with spread lengths), binomial chunked-prefill steps, M/G/inf "
         "batch spread)")


def _kind_words(arr: Arrivals) -> str:
    """The arrival process in words, without the lengths' spread."""
    if arr.kind == "bursty":
        return f"bursty arrivals (squared CV of gaps {arr.scv:g})"
    return "a closed loop of clients" if arr.kind == "closed" else "Poisson arrivals"


def arrivals_words(inp: SizingInputs) -> str:
    """The arrivals in words, for the explanation and the headline."""
    arr = inp.arrival_process
    return _kind_words(arr) + (f", lengths spread (CV {arr.length_cv:g})" if arr.length_cv > 0 else "")


def mean_wait_words(arr: Arrivals, pool: bool = False, queue_scale: float = 1.0) -> str:
    """The arrivals and the queue the mean TTFT at peak load is computed with, for its
    explanation row: ``latency.ttft_open``'s Pollaczek-Khinchine / Kingman mean wait (M/D/1 for
    Poisson arrivals of equal prompts, M/G/1 when lengths spread, G/D/1 or G/G/1 when bursty),
    or ``latency.ttft_closed``'s mean value analysis for a closed loop. ``pool``: a disaggregated
    prefill pool, an open queue whatever sends to it (its clients' prompts arrive as a Poisson
    stream: ``latency.max_rate_within_ttft``). Saying "Poisson, M/D/1" for bursty arrivals or a
    closed loop described a formula the number was not computed with. ``queue_scale``: the
    queue's service time over the modelled one (a team profile's ``queue_service_scale``), named
    where it is not 1 since it moves the wait and nothing else."""
    where = "at the prefill pool" if pool else "per attention rank"
    service = "G" if arr.length_cv > 0.0 else "D"
    kind = _kind_words(arr)
    scaled = (f" (service time x {queue_scale:.3g}: the calibration profile's queue_service_scale)"
              if queue_scale != 1.0 else "")
    if arr.kind == "closed":
        if pool:
            return f"{kind}, their prompts queued {where} as Poisson arrivals: M/{service}/1 wait{scaled}"
        return f"{kind} {where}: prefill queue by mean value analysis{scaled}"
    if arr.kind == "bursty":
        return f"{kind} {where}: G/{service}/1 wait (Kingman){scaled}"
    return f"{kind} {where}: M/{service}/1 wait" + (" (Pollaczek-Khinchine)" if service == "G" else "") + scaled


def slo_latency(name: str, inp: SizingInputs, cap: ReplicaCapacity, ev: Any, offered_rps: float,
                active: int, ttft_mean_s: float, rec: list[tuple[Any, ...]]) -> dict[str, Any]:
    """TTFT at peak load and TPOT at capacity at the SLO percentile; appends their explanation
    records to ``rec`` and returns the values for ``extra["perf"]`` (ms). ``ev``: the
    pipeline's evaluated configuration (a disaggregated one queues prompts in its prefill pool)."""
    q = inp.slo_percentile
    arr = inp.arrival_process
    pool = ev is not None and ev.disaggregated
    if pool:  # disaggregated: the prefill pool's queue
        n_p = max(1, math.ceil(offered_rps / ev.req_p - 1e-9))
        ttft_q = (ttft_open(offered_rps / n_p, cap.prefill_s, 0.0, 0.0, q, arr, cap.queue_scale)
                  + ev.ttft_fixed_s + cap.first_token_s)
    else:
        ttft_q = ttft_at_load_q(cap, min(offered_rps / max(active, 1), cap.req_s), q, arr)
    words = arrivals_words(inp)
    # a disaggregated prefill pool runs prompts alone (no chunk steps shared with decodes, no
    # step running on arrival) and hands the KV over; its decode pool's steps carry no prompts
    if pool and arr.length_cv > 0.0:
        how = ("{} at the prefill pool: p{:g} of the sum of the queue wait (waits with probability = utilization;"
               " tail from the wait's first two moments, Takacs) and the prompt's own prefill (lognormal lengths),"
               " + KV transfer + engine first-token overhead; mean {:.0f} ms; target {:g} ms")
        how_args: tuple[Any, ...] = (words, q, ttft_mean_s * 1000.0, inp.ttft_ms)
    elif pool:
        how = ("{} at the prefill pool: queue wait at its p{:g} (waits with probability = utilization,"
               " exponential tail) + prefill + KV transfer + engine first-token overhead; mean {:.0f} ms;"
               " target {:g} ms")
        how_args = (words, q, ttft_mean_s * 1000.0, inp.ttft_ms)
    elif arr.length_cv > 0.0:
        how = ("{}: p{:g} of the sum of the queue wait (waits with probability = utilization; tail from the "
               "wait's first two moments, Takacs) and the prompt's own prefill and chunk steps (lognormal "
               "lengths), + p{:g} of the step running on arrival; mean {:.0f} ms; target {:g} ms")
        how_args = (words, q, q, ttft_mean_s * 1000.0, inp.ttft_ms)
    else:
        how = ("{}: queue wait at its p{:g} (waits with probability = utilization, exponential tail) + prefill + "
               "chunk steps + p{:g} of the step running on arrival; mean {:.0f} ms; target {:g} ms")
        how_args = (words, q, q, ttft_mean_s * 1000.0, inp.ttft_ms)
    # what spreads one request's mean step (latency.tpot_quantile_slope): the prompt chunks that
    # share its steps (none in a decode pool) and, under open arrivals, the batch it sees (a
    # closed loop holds the batch at its clients)
    parts = ["decode-only steps" if pool else "prompt-chunk steps, binomial",
             "batch fixed by the clients" if arr.kind == "closed" else "batch it sees"]
    spread = "; ".join(parts) + ", {}"
    rec += [
        (name, f"TTFT p{q:g} at peak load", ttft_q * 1000.0, "ms", how, how_args, S_SLO),
        (name, f"TPOT p{q:g} at capacity", cap.tpot_q_s * 1000.0, "ms",
         "mean {:.1f} ms + z({:g}%) x spread of one request's steps (" + spread + "); target {:g} ms",
         (cap.tpot_s * 1000.0, q, words, inp.tpot_ms), S_SLO),
    ]
    return {"slo_percentile": q, "arrivals": arr.kind, "arrival_scv": arr.scv, "length_cv": arr.length_cv,
            "ttft_q_ms": ttft_q * 1000.0, "tpot_q_ms": cap.tpot_q_s * 1000.0,
            "target_ttft_ms": inp.ttft_ms, "target_tpot_ms": inp.tpot_ms}


def _ms(v: float) -> str:
    return f"{v / 1000.0:g} s" if v >= 1000.0 else f"{v:g} ms"


def slo_sentence(perf: dict[str, Any]) -> str:
    """'Sized for p95 TTFT 1.5 s, p95 TPOT 40 ms (Poisson arrivals).' from ``extra["perf"]``."""
    q = perf["slo_percentile"]
    kind = perf.get("arrivals", "poisson")
    words = {"poisson": "Poisson arrivals", "closed": "a closed loop of clients"}.get(
        kind, f"bursty arrivals, squared CV {perf.get('arrival_scv', 1.0):g}")
    if perf.get("length_cv", 0.0) > 0:
        words += f", lengths spread CV {perf['length_cv']:g}"
    return (f"Sized for p{q:g} TTFT {_ms(perf['target_ttft_ms'])}, p{q:g} TPOT {_ms(perf['target_tpot_ms'])}"
            f" ({words}).")
