"""The sizing engine: pure functions, no I/O, split by concern.

memory.py (weights, KV, activations, headroom), traffic.py (RPS, Little's law),
throughput.py (course lookup table), performance.py (roofline), placement.py (GPU choice,
parallelism, replicas, servers), facility.py (server spec, fabric, power, cooling),
guardrails.py (warnings), pipeline.py (the composition root, one pass per scenario).
"""
