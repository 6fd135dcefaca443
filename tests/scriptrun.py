"""Run a script of scripts/ or benchmarks/ in the test process: load it as a module and call its
``main(argv)``, keeping what it prints (the benchmark and check scripts print their verdicts)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str) -> ModuleType:
    """The script at ``relative`` (to the repository root) as a module."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def printout(relative: str, argv: list[str]) -> str:
    """What the script's ``main(argv)`` prints; it must return 0."""
    mod = load(relative)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert mod.main(argv) == 0
    return buf.getvalue()
