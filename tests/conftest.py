"""Shared test hooks: the fuzz suites' summary line (tests/fuzzstats.py) after the run."""

from __future__ import annotations

import fuzzstats


def pytest_terminal_summary(terminalreporter) -> None:
    lines = fuzzstats.lines()
    if lines:
        terminalreporter.section("fuzz summary")
        for line in lines:
            terminalreporter.write_line(line)
