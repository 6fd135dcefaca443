"""Test session setup shared by every test file."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def pytest_configure(config: object) -> None:
    # Models a developer added with `xlsizer catalog add-model` must not leak into the tests
    # (the template's Catalog sheet and LLM_MODELS list them): point the user catalog at an
    # empty folder. Tests that add models set their own folder with monkeypatch.
    folder = tempfile.mkdtemp(prefix="xlsizer-test-catalog-")
    os.environ["XLSIZER_CATALOG_DIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
