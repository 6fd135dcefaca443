"""Fuzz: the Excel functions called as Excel calls them (issue 15).

Every UDF in the module xlsizer_udfs gets random arguments of the kinds xlwings hands over: None
and 0 (empty cells, classic and Office.js), floats for integers, NaN and infinities, booleans,
text (numbers as text, ids, toggles, field names, Excel error texts, formula-like and very
long strings), COM error codes, and ranges (flat rows and lists of rows). Each call must return
a value or one short ``#...`` error line; anything else (an exception with ``cells.STRICT``
on, an "internal error" line, a message longer than a cell should show) is an escape.
Deterministic (``derandomize``): CI runs the same examples every time.
"""

from __future__ import annotations

import importlib.util
import inspect
import math

import fuzzstats
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlsizer import cells
from xlsizer.inputs import FIELD_NAMES

udfs = importlib.import_module("xlsizer_udfs")  # the installed module xlwings loads

FUNCTIONS = sorted(n for n in dir(udfs) if n.isupper() and callable(getattr(udfs, n)) and not n.startswith("_")
                   and n not in ("CATEGORY", "PAIRS"))

MAX_MESSAGE = 400
"""An error line longer than this is an escape (a cell holds 32,767 characters; a readable
message is one line)."""

scalars = st.one_of(
    st.none(), st.just(0), st.just(0.0), st.just(""), st.just("   "),
    st.booleans(),
    st.integers(-10**6, 10**7), st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0.1, 1e6), st.integers(1, 100_000).map(float),
    st.sampled_from(["llama-3.1-8b", "llama-3.3-70b", "mixtral-8x7b", "deepseek-r1", "custom", "h100-sxm", "l40s",
                     "gb200", "auto", "fp8", "bf16", "int4", "baseline", "burst", "resilient", "all", "replicas",
                     "memory.vram_gb", "cost.monthly", "perf.batch", "TRUE", "no", "on", "1,000", "1e3", "-5",
                     "N+1", "vllm", "course-table", "roofline"]),
    st.sampled_from(list(FIELD_NAMES)),
    st.sampled_from(sorted(cells.ERROR_TEXTS)), st.sampled_from(sorted(cells.COM_ERROR_CODES)),
    st.sampled_from(['=HYPERLINK("http://example.invalid")', "=cmd|' /C calc'!A0", "(" * 32_767, "[" * 5000,
                     "x" * 40_000, "\x00\x07", "Concurrent users (users)", "9" * 5000]),
    st.text(max_size=40),
)
names = st.one_of(st.sampled_from(list(FIELD_NAMES)), st.text(max_size=30), st.sampled_from(["", None, 0, "(((("]))
pairs = st.lists(st.tuples(names, scalars).map(list), min_size=0, max_size=6)
ranges = st.one_of(
    pairs,
    st.lists(st.lists(scalars, min_size=1, max_size=3), min_size=1, max_size=4),
    st.lists(scalars, min_size=1, max_size=4),
)
argument = st.one_of(scalars, scalars, scalars, ranges)

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(name: str, out) -> None:
    assert not (isinstance(out, str) and "internal error" in out), f"{name}: {out[:200]}"
    if isinstance(out, str) and out.startswith("#"):
        assert len(out) <= MAX_MESSAGE and "\n" not in out, f"{name}: message of {len(out)} characters"
    if isinstance(out, float):
        assert not math.isnan(out), f"{name} returned NaN"


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setattr(cells, "STRICT", True)  # an unexpected exception raises instead of a generic line


@pytest.mark.parametrize("name", FUNCTIONS)
@SETTINGS
@given(data=st.data())
def test_functions_take_any_excel_value(name, data):
    fn = getattr(udfs, name)
    params = list(inspect.signature(fn).parameters.values())
    required = sum(1 for p in params if p.default is inspect.Parameter.empty)
    n = data.draw(st.integers(required, len(params)), label="arguments")
    args = []
    for p in params[:n]:
        if p.name == "inputs":
            args.append(data.draw(st.one_of(pairs, argument), label=p.name))
        elif p.name.startswith("name"):
            args.append(data.draw(names, label=p.name))
        else:
            args.append(data.draw(argument, label=p.name))
    fuzzstats.count("cells", "tried")
    try:
        out = fn(*args)
    except Exception:
        fuzzstats.count("cells", "escape")
        raise
    is_error = isinstance(out, str) and out.startswith("#")
    fuzzstats.count("cells", "errors" if is_error else "values")
    _check(name, out)
