"""Run ``xlsizer lite``'s main.py under Pyodide (Python compiled to WebAssembly, what xlwings Lite
runs) in Node.js, and compare every function's answer with the classic module's.

    python scripts/check_pyodide.py [--work DIR]

Needs Node.js and npm, and the npm registry and PyPI (nothing from Pyodide's CDN):

1. ``npm install pyodide`` (the Pyodide runtime, ~14 MB) into DIR;
2. ``pip download`` of micropip and of the package's dependencies as Pyodide can load them:
   pure-Python wheels, and pydantic-core's WebAssembly wheel (``pyemscripten`` platform);
   PyYAML has no such wheel on PyPI, so a pure-Python PyYAML wheel is built from its sdist
   (PyYAML runs without its C extension);
3. the xlsizer wheel ``xlsizer lite`` writes beside main.py;
4. Node loads Pyodide, installs the wheels with micropip (``deps=False``: lxml and openpyxl
   are not needed by the functions, and lxml's WebAssembly build is only on Pyodide's CDN),
   puts a stand-in for Lite's xlwings (``lite_runner.XLWINGS_STUB``) on the path, imports main.py and runs
   tests/lite_runner.py; the answers are compared with the classic module's here.

Prints the Pyodide and Python versions, the seconds taken and any difference; exit 1 on a
difference. In xlwings Lite itself Pyodide's own repository supplies lxml, PyYAML and pydantic.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "udfs"))  # this checkout's xlsizer_udfs, not an installed copy

PYODIDE_NPM = "pyodide@314.0.7"  # Python 3.14; its lock file names micropip 0.11.1 and the ABI below
EMSCRIPTEN_PLATFORM = "pyemscripten_2026_0_wasm32"
PY_VERSION = "3.14"

NODE_SCRIPT = r"""
import { loadPyodide } from "pyodide";
import fs from "node:fs";
import path from "node:path";
const [wheelDir, liteDir, runner] = process.argv.slice(2);
const py = await loadPyodide({ stdout: () => {}, stderr: () => {} });
await py.loadPackage("micropip", { messageCallback: () => {}, errorCallback: () => {} });
py.FS.mkdirTree("/w"); py.FS.mkdirTree("/lite"); py.FS.mkdirTree("/stub/xlwings");
const wheels = fs.readdirSync(wheelDir).filter(f => f.endsWith(".whl"));
for (const f of wheels) py.FS.writeFile("/w/" + f, fs.readFileSync(path.join(wheelDir, f)));
py.FS.writeFile("/lite/main.py", fs.readFileSync(path.join(liteDir, "main.py")));
py.FS.writeFile("/lite/lite_runner.py", fs.readFileSync(runner));
await py.pyimport("micropip").install(wheels.map(f => "emfs:/w/" + f), { deps: false });
const out = py.runPython(`
import importlib, json, sys
sys.path[:0] = ["/stub", "/lite"]
import lite_runner
with open("/stub/xlwings/__init__.py", "w") as fh:
    fh.write(lite_runner.XLWINGS_STUB)
importlib.invalidate_caches()
r = lite_runner.run("main")
r["platform"], r["python"] = sys.platform, sys.version.split()[0]
json.dumps(r)
`);
process.stdout.write("RESULT " + out + "\n");
"""


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def main() -> int:
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="xlsizer-pyodide-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("Node.js and npm are needed to run Pyodide outside a browser")
        return 2
    _run(["npm", "install", PYODIDE_NPM, "--no-audit", "--no-fund", "--silent"], cwd=work)
    wheels = work / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir()
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "download", "micropip==0.11.1", "--python-version", PY_VERSION, "--only-binary=:all:", "--no-deps",
          "-d", str(work)], cwd=work)
    shutil.copy(next(work.glob("micropip-0.11.1-*.whl")), work / "node_modules" / "pyodide")
    _run([*pip, "download", "pydantic>=2.6,<3", "typing-extensions", "annotated-types", "typing-inspection",
          "--python-version", PY_VERSION, "--only-binary=:all:", "--no-deps", "-d", str(wheels)], cwd=work)
    pydantic = next(wheels.glob("pydantic-2*.whl"))
    import zipfile

    meta = zipfile.ZipFile(pydantic).read(next(n for n in zipfile.ZipFile(pydantic).namelist()
                                               if n.endswith("METADATA"))).decode()
    pin = "Requires-Dist: pydantic-core=="
    core = next(ln.split("==")[1].strip() for ln in meta.splitlines() if ln.startswith(pin))
    _run([*pip, "download", f"pydantic-core=={core}", "--platform", EMSCRIPTEN_PLATFORM, "--python-version",
          PY_VERSION, "--only-binary=:all:", "--no-deps", "-d", str(wheels)], cwd=work)
    env = {**os.environ, "PYYAML_FORCE_LIBYAML": "0"}  # PyYAML without its C extension: a pure-Python wheel
    _run([*pip, "wheel", "pyyaml>=6", "--no-binary", "pyyaml", "--no-deps", "-w", str(wheels)], cwd=work, env=env)
    lite_dir = work / "lite"
    from xlsizer.lite import write_lite

    built = write_lite(lite_dir, force=True)[-1]  # the wheel `xlsizer lite` ships beside main.py
    shutil.copy(built, wheels / built.name)
    script = work / "run.mjs"
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    t1 = time.perf_counter()
    out = _run(["node", str(script), str(wheels), str(lite_dir), str(ROOT / "tests" / "lite_runner.py")], cwd=work)
    t2 = time.perf_counter()
    got = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[7:])
    import lite_runner

    want = lite_runner.run("xlsizer_udfs")
    diffs = [f"{part} {case}: pyodide {got[part].get(case)!r}, classic {v!r}"
             for part in ("answers", "text_errors", "raised") for case, v in want[part].items()
             if not lite_runner.same(got[part].get(case), v)]
    if got["functions"] != want["functions"]:
        diffs.append(f"functions differ: {sorted(set(got['functions']) ^ set(want['functions']))}")
    print(f"Pyodide {PYODIDE_NPM.split('@')[1]} ({got['platform']}, Python {got['python']}): "
          f"{len(want['answers'])} answers, {len(want['raised'])} errors compared; setup {t1 - t0:.1f} s, "
          f"run {t2 - t1:.1f} s; {len(diffs)} difference(s)")
    for d in diffs:
        print(" ", d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
