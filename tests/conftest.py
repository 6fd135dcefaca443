"""Test session setup shared by every test file, and the fuzz suites' summary line
(tests/fuzzstats.py) after the run."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import fuzzstats


def pytest_configure(config: object) -> None:
    # Models a developer added with `xlsizer catalog add-model` must not leak into the tests
    # (the template's Catalog sheet and LLM_MODELS list them): point the user catalog at an
    # empty folder. Tests that add models set their own folder with monkeypatch.
    folder = tempfile.mkdtemp(prefix="xlsizer-test-catalog-")
    os.environ["XLSIZER_CATALOG_DIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:
    lines = fuzzstats.lines()
    if lines:
        terminalreporter.section("fuzz summary")
        for line in lines:
            terminalreporter.write_line(line)
