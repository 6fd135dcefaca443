"""The three scenarios' rules (course.md §10.3 step 12; defaults.yaml ``scenarios``,
``resilient_min_burst``, ``min_servers``): the memory headroom each keeps, the burst it sizes
for, the spare replicas it adds and the servers its redundancy mode needs at least."""

from __future__ import annotations

from xlsizer.catalog.loader import read_data_file

_D = read_data_file("defaults.yaml")
HEADROOM: dict[str, float] = {k: float(v["headroom_fraction"]) for k, v in _D["scenarios"].items()}
"""Scenario -> memory headroom, a fraction of weights + KV + activations (course step 6)."""
MAX_HEADROOM: float = max(HEADROOM.values())
RESILIENT_MIN_BURST: float = float(_D["resilient_min_burst"])
MIN_SERVERS: dict[str, int] = dict(_D["min_servers"])
"""Redundancy mode ("N", "N+1", "N+2") -> the fewest servers its plan may use."""
RED_LABEL = {0: "N", 1: "N+1", 2: "N+2"}
"""Spare replicas -> the redundancy mode's name."""


def scenario_burst(name: str, user_burst: float) -> float:
    """Burst factor a scenario sizes for (course step 12)."""
    if name == "baseline":
        return 1.0
    if name == "burst":
        return user_burst
    return max(user_burst, RESILIENT_MIN_BURST)


def scenario_offset(name: str, user_offset: int) -> int:
    """Spare replicas a scenario adds (course step 12)."""
    if name == "baseline":
        return 0
    if name == "burst":
        return max(1, user_offset)
    return 2
