"""Counts the fuzz tests keep, printed by conftest.py at the end of the run: the numbers they
tried, what came back, and escapes (exceptions that are not xlsizer's expected errors: must be 0)."""

from __future__ import annotations

from collections import Counter, defaultdict

COUNTS: dict[str, Counter] = defaultdict(Counter)


def count(suite: str, outcome: str) -> None:
    COUNTS[suite][outcome] += 1


def lines() -> list[str]:
    out = []
    for suite, c in sorted(COUNTS.items()):
        parts = ", ".join(f"{k} {v:,}" for k, v in sorted(c.items()) if k != "tried")
        out.append(f"fuzz {suite}: tried {c['tried']:,} ({parts}); escapes {c['escape']:,}")
    return out
