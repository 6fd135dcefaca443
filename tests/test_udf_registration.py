"""The UDF module registers under the real xlwings decorators.

Classic: ``xlwings.udfs`` (the Windows machinery) is imported with its pywin32 imports
stubbed, a fresh copy of xlsizer_udfs.py is executed with ``xlwings.func/arg`` swapped
for ``xlwings.udfs.xlfunc/xlarg``, and the recorded ``__xlfunc__`` metadata and the generated
VBA wrappers are checked. Office.js (Server/Lite): with an xlwings licence key in the
environment, ``xlwings.server.custom_functions_meta`` is generated over the module.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import os
import sys
import types
from pathlib import Path

import pytest

from xlsizer import docgen

ROOT = Path(__file__).resolve().parent.parent
UDF_PATH = ROOT / "udfs" / "xlsizer_udfs.py"

EXPECTED = [
    "KV_MEMORY", "KV_PER_TOKEN", "WEIGHTS_MEMORY", "LLM_VRAM", "LLM_RPS", "LLM_INFLIGHT",
    "LLM_TPOT", "LLM_TTFT", "LLM_THROUGHPUT", "LLM_MAX_BATCH",
    "LLM_REPLICAS", "LLM_GPUS", "LLM_SERVERS", "LLM_POWER_KW", "LLM_FACILITY_KW",
    "LLM_COST_MONTHLY", "LLM_COST_PER_MTOK", "LLM_RESULT", "LLM_EXPLAIN", "LLM_WARNINGS", "LLM_SWEEP",
    "LLM_MODELS", "LLM_GPU_LIST", "LLM_MODEL_INFO", "LLM_GPU_INFO",
]
PAIRS = [f"{k}{i}" for i in range(1, 7) for k in ("name", "value")]
SIGNATURES = {
    "KV_MEMORY": ["model", "tokens", "requests", "kv_precision"],
    "KV_PER_TOKEN": ["model", "kv_precision"],
    "WEIGHTS_MEMORY": ["model", "precision"],
    "LLM_VRAM": ["model", "users", "rpm", "prompt_tokens", "output_tokens", "tpot_ms", "burst", "precision",
                 "scenario"],
    "LLM_RPS": ["users", "rpm"],
    "LLM_INFLIGHT": ["users", "rpm", "output_tokens", "tpot_ms", "burst"],
    **{n: ["model", "gpu", "tp", "precision", "input_tokens", "output_tokens", "concurrency"]
       for n in ("LLM_TPOT", "LLM_TTFT", "LLM_THROUGHPUT", "LLM_MAX_BATCH")},
    **{n: ["inputs", "scenario", *PAIRS] for n in ("LLM_REPLICAS", "LLM_GPUS", "LLM_SERVERS", "LLM_POWER_KW",
                                                    "LLM_FACILITY_KW", "LLM_COST_MONTHLY", "LLM_COST_PER_MTOK",
                                                    "LLM_EXPLAIN", "LLM_WARNINGS")},
    "LLM_RESULT": ["inputs", "field", "scenario", *PAIRS],
    "LLM_SWEEP": ["inputs", "field", "values", "result_field", "scenario"],
    "LLM_MODELS": ["contains"],
    "LLM_GPU_LIST": ["contains"],
    "LLM_MODEL_INFO": ["model", "field"],
    "LLM_GPU_INFO": ["gpu", "field"],
}
REQUIRED = {
    "KV_MEMORY": 2, "KV_PER_TOKEN": 1, "WEIGHTS_MEMORY": 1, "LLM_VRAM": 1, "LLM_RPS": 2, "LLM_INFLIGHT": 4,
    "LLM_TPOT": 2, "LLM_TTFT": 2, "LLM_THROUGHPUT": 2, "LLM_MAX_BATCH": 2, "LLM_RESULT": 2, "LLM_SWEEP": 3,
    "LLM_MODELS": 0, "LLM_GPU_LIST": 0, "LLM_MODEL_INFO": 1, "LLM_GPU_INFO": 1,
}


def _exec_module(name: str):
    spec = importlib.util.spec_from_file_location(name, UDF_PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def classic():
    """A copy of the UDF module decorated by classic xlwings' real decorator code."""
    import xlwings

    stubs = {
        "pythoncom": types.SimpleNamespace(CoInitialize=lambda: None),
        "pywintypes": types.ModuleType("pywintypes"),
        "win32com": types.ModuleType("win32com"),
        "win32com.client": types.SimpleNamespace(Dispatch=lambda *a, **k: None),
    }
    saved_mods = {k: sys.modules.get(k) for k in [*stubs, "xlwings.udfs"]}
    sys.modules.update(stubs)
    saved = (xlwings.func, xlwings.arg, xlwings.ret)
    try:
        udfs = importlib.import_module("xlwings.udfs")
        xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
        mod = _exec_module("_xlsizer_udfs_classic")
        yield udfs, mod
    finally:
        xlwings.func, xlwings.arg, xlwings.ret = saved
        for k, v in saved_mods.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def test_module_imports_on_linux_as_plain_functions():
    mod = _exec_module("_xlsizer_udfs_plain")
    assert mod.__all__ == EXPECTED
    for name in EXPECTED:
        f = getattr(mod, name)
        assert callable(f) and not hasattr(f, "__xlfunc__")  # no-op decorators off Windows


def test_classic_names_and_argument_order(classic):
    _, mod = classic
    registered = sorted(n for n in dir(mod) if hasattr(getattr(mod, n), "__xlfunc__"))
    assert registered == sorted(EXPECTED)
    for name in EXPECTED:
        xlf = getattr(mod, name).__xlfunc__
        assert xlf["name"] == name
        assert [a["name"] for a in xlf["args"]] == SIGNATURES[name], name
        assert xlf["category"] == "xlsizer"
        assert xlf["volatile"] is False and xlf["async_mode"] is None and xlf["sub"] is False


def test_classic_optional_markers_and_defaults(classic):
    _, mod = classic
    for name in EXPECTED:
        f = getattr(mod, name)
        args = f.__xlfunc__["args"]
        n_req = REQUIRED.get(name, 1)
        assert all("optional" not in a for a in args[:n_req]), name
        assert all("optional" in a for a in args[n_req:]), name
        assert not any(a["vararg"] for a in args), name  # no *args: xlwings refuses them beside defaults
        params = inspect.signature(f).parameters
        for a in args[n_req:]:
            assert a["optional"] == params[a["name"]].default
    scen = {a["name"]: a for a in mod.LLM_REPLICAS.__xlfunc__["args"]}
    assert scen["scenario"]["optional"] == "burst"


def test_classic_docs_on_every_function_and_argument(classic):
    _, mod = classic
    for name in EXPECTED:
        xlf = getattr(mod, name).__xlfunc__
        doc = xlf["ret"]["doc"]
        assert doc and "\n" not in doc.strip() and len(doc) <= 255, name  # one line, fits the wizard
        for a in xlf["args"]:
            assert not a["doc"].startswith("Positional argument"), (name, a["name"])
            assert len(a["doc"]) <= 255, (name, a["name"])
    kv = {a["name"]: a["doc"] for a in mod.KV_MEMORY.__xlfunc__["args"]}
    assert "tokens" in kv["tokens"] and "empty = 1" in kv["requests"]


def test_classic_vba_wrappers(classic):
    udfs, mod = classic
    buf = io.StringIO()
    udfs.generate_vba_wrapper("xlsizer_udfs", mod, buf, types.SimpleNamespace(Name="Planner.xlsm"))
    vba = buf.getvalue()
    assert 'Function KV_MEMORY(model, tokens, Optional requests, Optional kv_precision)' in vba
    assert "Function LLM_REPLICAS(inputs, Optional scenario, Optional name1, Optional value1," in vba
    assert 'LLM_RESULT = XLPy.CallUDF("xlsizer_udfs", "LLM_RESULT"' in vba
    assert "ParamArray" not in vba
    for name in EXPECTED:
        assert f"Function {name}(" in vba


def test_names_are_not_cell_references_or_builtins():
    import re

    from openpyxl.utils import FORMULAE

    for name in EXPECTED:
        assert name.startswith(("LLM_", "KV_", "WEIGHTS_"))
        assert not re.fullmatch(r"[A-Z]{1,3}[0-9]+", name)
        assert name not in FORMULAE
        assert re.fullmatch(r"[A-Z][A-Z0-9_.]{2,}", name)


def test_functions_md_is_current():
    assert (ROOT / "docs" / "functions.md").read_text(encoding="utf-8") == docgen.render(), (
        "docs/functions.md is stale: run python -m xlsizer.docgen")


def test_reference_covers_every_function_with_unit_and_example():
    funcs = docgen.collect()
    assert [f.name for f in funcs] == EXPECTED
    for f in funcs:
        assert f.unit and f.example.startswith(f"={f.name}("), f.name
        assert all(a.doc for a in f.args), f.name


@pytest.mark.skipif(not os.environ.get("XLWINGS_LICENSE_KEY"),
                    reason="Office.js metadata needs xlwings.server, which refuses to import without an "
                           "XLWINGS_LICENSE_KEY (xlwings PRO/Server licence; none is set in this environment)")
def test_officejs_metadata():
    import xlwings
    from xlwings import server as xlserver
    from xlwings.pro import udfs_officejs

    saved = (xlwings.func, xlwings.arg, xlwings.ret)
    try:
        xlwings.func, xlwings.arg, xlwings.ret = udfs_officejs.func, udfs_officejs.arg, udfs_officejs.ret
        mod = _exec_module("_xlsizer_udfs_officejs")
    finally:
        xlwings.func, xlwings.arg, xlwings.ret = saved
    meta = {f["name"]: f for f in xlserver.custom_functions_meta(mod)["functions"]}
    assert set(EXPECTED) <= set(meta)
    for name in EXPECTED:
        params = meta[name]["parameters"]
        assert [p["name"] for p in params] == SIGNATURES[name]
        n_req = REQUIRED.get(name, 1)
        assert all(not p.get("optional") for p in params[:n_req]), name
        assert all(p.get("optional") is True for p in params[n_req:]), name
        assert all(p.get("description") for p in params), name
        assert meta[name]["description"]
