"""xlwings Lite's main.py under Pyodide (Python on WebAssembly, what Lite runs), in Node.js:
every function answers as the classic module does (scripts/check_pyodide.py does the work).

Needs Node.js with npm, the npm registry and PyPI. Skipped where node is missing, except in CI
(env CI set), where that is a failure (.ci/run installs nodejs and npm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_lite_main_py_under_pyodide(tmp_path):
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js/npm are not installed; CI must install them (see .ci/run)")
        pytest.skip("Node.js/npm are not installed")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_pyodide.py"), "--work", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, check=False)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 difference(s)" in proc.stdout and "emscripten" in proc.stdout
