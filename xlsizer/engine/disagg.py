"""Disaggregated serving: a prefill pool and a decode pool, each with its own parallelism and
worker count, the prompt's KV moved from one to the other.

At a fixed concurrency C (closed loop, clients spread over the decode workers):

- TPOT: a decode worker runs decode-only steps (no prompt chunks) for its C / workers
  sequences (``performance.estimate`` with no prompt tokens to compute, the KV of the whole
  context read each step).
- TTFT: the prefill pool samples the first token. Each prefill rank serves
  n = C / (workers × dp) clients that spend (output − 1) × TPOT decoding between prompts: a
  closed queue in front of prefill (``queueing.ttft_closed_loop``, exact mean value
  analysis; no decode steps shared). Its service time is one prompt's prefill in passes of at
  most the pool's batch of prompts per rank: a worker run at batch 1 (as the published
  disaggregated runs and the sizing's M/D/1 prefill pool are) serves one prompt per pass, its
  full prefill alone, so a queue of prompts is not packed into cheaper shared passes:

      TTFT = R(n) + prefill − batched prefill + engine overhead + KV transfer

  In a benchmark whose clients start together, the first round's prompts reach the prefill
  pool at once and queue there, and on an engine that runs prompts before decodes later
  rounds can stay in step too (``queueing.burst_weight``, as for one pool).

- KV transfer: the prompt's KV bytes over the links between the pools, each prefill GPU
  sending its shard over its own link (NVLink while both pools fit in one scale-up domain, a
  node or an NVL72 rack; else the network, ``step.collective_link``).
"""

from __future__ import annotations

from typing import NamedTuple

from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine.calibration import Calibration, packaged_calibration
from xlsizer.engine.engines import engine_profile
from xlsizer.engine.memory import kv_bytes_per_token_per_layer
from xlsizer.engine.performance import Tuning, estimate
from xlsizer.engine.queueing import burst_weight, ttft_closed_loop
from xlsizer.engine.step import _as_gpu, _as_model, _as_precision, collective_link, default_kv_precision
from xlsizer.errors import InputError


class PoolShape(NamedTuple):
    """One pool: ``workers`` identical workers of ``tp`` × ``dp`` GPUs, ``ep`` expert-parallel,
    each attention rank running at most ``batch`` requests at once (prefill workers are often
    run at 1: one prompt per pass, nothing batched; None = as many as the token budget holds)."""

    workers: int
    tp: int
    dp: int = 1
    ep: int = 1
    batch: int | None = 1


def kv_transfer_s(model: ModelSpec, gpu: GpuSpec, kv_bytes_per_element: float, prompt_tokens: float,
                  prefill_gpus: int, decode_gpus: int) -> float:
    """Seconds to move one prompt's KV from its prefill worker to a decode worker, s."""
    per_token = kv_bytes_per_token_per_layer(model, kv_bytes_per_element) * model.layers
    link = collective_link(gpu, prefill_gpus + decode_gpus)[0]
    return prompt_tokens * per_token / (max(min(prefill_gpus, decode_gpus), 1) * link)


def closed_loop(
    model: ModelSpec | str, gpu: GpuSpec | str, precision: str, isl: float, osl: float,
    concurrency: float, prefill: PoolShape, decode: PoolShape, *, kv_precision: str | None = None,
    engine: str = "vllm", calibration: Calibration | None = None, token_budget: int | None = None,
    benchmark_rounds: float | None = None, output_cv: float = 0.0,
) -> tuple[float, float]:
    """(mean TTFT s, mean TPOT s) of a disaggregated deployment at a fixed concurrency.
    ``token_budget``: the prefill workers' prompt tokens per step (None: the engine's default).
    ``benchmark_rounds``: the run is a benchmark whose clients start together and each send
    this many requests (``Tuning.benchmark_rounds``, ``queueing.burst_weight``). ``output_cv``:
    the answers' spread, which sets the decode pool's attention context (``step.decode_context``)."""
    m, g = _as_model(model), _as_gpu(gpu)
    if not concurrency > 0:
        raise InputError("concurrency", concurrency, "> 0")
    ep_p = prefill.ep if m.is_moe else 1
    ep_d = decode.ep if m.is_moe else 1
    dec = estimate(m, g, decode.tp, precision, isl, osl, concurrency / decode.workers, ep=ep_d,
                   dp=decode.dp, kv_precision=kv_precision, engine=engine, prefill_tokens=0.0,
                   calibration=calibration, output_cv=output_cv)
    pre = estimate(m, g, prefill.tp, precision, isl, osl, 1.0, ep=ep_p, dp=prefill.dp,
                   kv_precision=kv_precision, engine=engine, calibration=calibration,
                   prefill_batch=prefill.batch,
                   tuning=None if token_budget is None else Tuning(token_budget=token_budget))
    kvp = default_kv_precision(precision) if kv_precision is None else _as_precision(kv_precision)
    xfer = kv_transfer_s(m, g, kvp.bytes_per_element, isl, pre.gpus, dec.gpus)
    clients = concurrency / (prefill.workers * prefill.dp)
    cal = calibration or packaged_calibration()
    eng = engine_profile(engine)
    ttft = ttft_closed_loop(clients, pre.prefill_s, pre.batched_prefill_s, 0.0, 0.0,
                            (osl - 1.0) * dec.tpot_s,
                            burst_weight(benchmark_rounds, cal.in_step(eng.prefill_first)),
                            queue_scale=cal.queue_service_scale)
    ttft += xfer + cal.engine_value(eng.name, "request_overhead_s")
    return ttft, dec.tpot_s
