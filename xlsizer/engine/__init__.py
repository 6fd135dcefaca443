"""The sizing engine: pure functions, no I/O, split by concern.

memory.py (weights, KV, activations, headroom), traffic.py (RPS, Little's law),
throughput.py (course lookup table), performance.py (roofline), placement.py (GPU choice,
parallelism, replicas, servers), facility.py (server spec, fabric, power, cooling),
guardrails.py (warnings), scenarios.py (each scenario's headroom, burst and spares),
shared.py (what every scenario of one sizing shares), search.py (the roofline search for the
cheapest configuration that meets the SLOs), pipeline.py (the composition root, one pass per
scenario).
"""
