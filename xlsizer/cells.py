"""Excel values in, cell values out: everything the UDF module (``xlsizer_udfs``) needs,
with no xlwings import so that CI tests every Excel-facing behaviour as plain Python.

What Excel hands a UDF depends on the xlwings flavour (reference/xlwings.md §0, §3.3):

* an empty cell arrives as ``None`` (classic) or ``0`` (Office.js: Server and Lite); an
  omitted optional argument arrives as its Python default. ``""`` is empty too. For an
  argument or input whose allowed values exclude 0 (ids, precisions, most numbers), 0 counts
  as empty; for toggles 0 means FALSE.
* integers arrive as floats (classic): ``6250.0`` is read as ``6250``.
* toggles: TRUE/FALSE, "yes"/"no", "on"/"off", 1/0.
* a range arrives as a list of lists; a single row or column may arrive flat.
* an Excel error value (``#N/A``...) arrives as its text (``err_to_str``, Office.js) or as
  the COM integer code (classic); either one is reported, never read as a number.

Errors: every expected failure (``XlsizerError``) becomes one short line, ``"#VALUE! field
must be between X and Y, got V"``. Classic xlwings cannot return a real error cell, so the
text is returned; under xlwings Server/Lite the UDF module calls ``configure(raise_as=
xlwings.XlwingsError)`` and the message is raised, which Excel shows as ``#VALUE!`` with the
message on hover. Anything else is a bug: it is logged and a generic line is returned (tests
set ``STRICT = True`` so that path fails loudly instead).

Cache: inputs are normalised into the hashable, frozen ``SizingInputs`` and sized through an
``lru_cache``, so sixty cells over one Inputs range cost one sizing.
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from xlsizer.errors import InputError, XlsizerError, clip, quote
from xlsizer.inputs import ungroup
from xlsizer.results import SCENARIOS
from xlsizer.units import GB, s_to_ms

log = logging.getLogger("xlsizer.cells")

T = TypeVar("T")

# --- error policy ------------------------------------------------------------------------

STRICT: bool = False
"""True re-raises unexpected exceptions (tests); False logs them and returns a short line."""

_RAISE_AS: type[Exception] | None = None

BUG_MESSAGE = "#VALUE! internal error in xlsizer (details in the xlwings log); please report it"

COM_ERROR_CODES: dict[int, str] = {
    -2146826281: "#DIV/0!",
    -2146826246: "#N/A",
    -2146826259: "#NAME?",
    -2146826288: "#NULL!",
    -2146826252: "#NUM!",
    -2146826265: "#REF!",
    -2146826273: "#VALUE!",
}
"""Classic xlwings (pywin32) hands error cells to Python as these integers."""

ERROR_TEXTS: frozenset[str] = frozenset({
    *COM_ERROR_CODES.values(), "#SPILL!", "#CALC!", "#FIELD!", "#BUSY!", "#CONNECT!",
    "#BLOCKED!", "#UNKNOWN!", "#GETTING_DATA", "#N/A WAITING...",
})


class CellError(XlsizerError):
    """A cell argument has the wrong shape or type; ``code`` is the Excel error it maps to."""

    def __init__(self, message: str, code: str = "#VALUE!"):
        self.code = code
        super().__init__(message)


def configure(raise_as: type[Exception] | None = None) -> None:
    """Choose how errors reach the cell: ``None`` returns ``"#VALUE! message"`` text (classic
    xlwings); an exception class (``xlwings.XlwingsError`` on Server/Lite) is raised with the
    message, which Excel shows as a real ``#VALUE!`` with the message on hover."""
    global _RAISE_AS
    _RAISE_AS = raise_as


MESSAGE_MAX = 1_000
"""Most characters of an error text a cell receives. Messages quote at most QUOTE_MAX
characters of each bad value (errors.clip/quote); this is the last guard, far below Excel's
32,767-character cell limit, for a message that quotes several (issue 24)."""


def _fail(code: str, message: str) -> str:
    message = clip(message, MESSAGE_MAX)
    if _RAISE_AS is not None:
        raise _RAISE_AS(message)
    return f"{code} {message}"


def error_text(exc: XlsizerError) -> str:
    """The one-line cell text for an expected error."""
    code = exc.code if isinstance(exc, CellError) else "#VALUE!"
    return f"{code} {exc.short()}"


def guarded(fn: Callable[..., T]) -> Callable[..., T | str]:
    """Run a cell function; expected errors become one short line, bugs are logged."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T | str:
        try:
            return fn(*args, **kwargs)
        except XlsizerError as exc:
            return _fail(exc.code if isinstance(exc, CellError) else "#VALUE!", exc.short())
        except Exception:
            if STRICT:
                raise
            log.exception("bug in xlsizer cell function %s", fn.__name__)
            return _fail("#VALUE!", BUG_MESSAGE.removeprefix("#VALUE! "))

    return wrapper


# --- scalar conversion -------------------------------------------------------------------

def error_value(v: Any) -> str | None:
    """The Excel error text if ``v`` is an Excel error value as xlwings delivers it."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int) and v in COM_ERROR_CODES:
        return COM_ERROR_CODES[v]
    if isinstance(v, str) and v.strip().upper() in ERROR_TEXTS:
        return v.strip().upper()
    if isinstance(v, BaseException):
        return "#VALUE!"
    return None


def scalar(name: str, v: Any) -> Any:
    """The one value of a single cell: a 1x1 range is unwrapped; a larger range is a
    ``CellError`` that gives its shape (never its content: a 100x100 range would make a
    200,000-character message)."""
    while isinstance(v, list | tuple) and len(v) == 1:
        v = v[0]
    if isinstance(v, list | tuple):
        raise CellError(f"{clip(str(name))} must be a single cell, got a range")
    if isinstance(v, dict | set):
        raise CellError(f"{clip(str(name))} must be a single cell, got {type(v).__name__}")
    return v


def check_error(name: str, v: Any) -> None:
    """Raise ``CellError`` (with the same error code) if ``v`` is an Excel error value."""
    code = error_value(v)
    if code is not None:
        excel_code = code if code in COM_ERROR_CODES.values() else "#VALUE!"
        raise CellError(f"{clip(str(name))} refers to a cell holding {code}", excel_code)


def is_blank(v: Any) -> bool:
    """True for an empty cell as classic xlwings or a typed "" delivers it (not for 0)."""
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def is_empty(v: Any) -> bool:
    """True for an empty cell in any flavour: None, "", or 0 (Office.js)."""
    return is_blank(v) or (not isinstance(v, bool) and isinstance(v, int | float) and v == 0)


def _missing(name: str, v: Any, allowed: str) -> InputError:
    """The error of a required argument that ``is_empty`` read as missing: a typed 0 says it
    was 0 (Excel on the web passes 0 for an empty cell too), not that the cell is empty."""
    if is_blank(v):
        return InputError(name, None, allowed, "the cell is empty")
    return InputError(name, 0, allowed, "or an empty cell")


def clean(v: Any) -> Any:
    """Floats that hold whole numbers become ints; strings are stripped."""
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    if isinstance(v, str):
        return v.strip()
    return v


_TRUE = {"true", "yes", "y", "on", "1", "1.0", "x"}
_FALSE = {"false", "no", "n", "off", "0", "0.0"}


def to_bool(name: str, v: Any) -> bool:
    """TRUE/FALSE, "yes"/"no", "on"/"off", 1/0 as a toggle."""
    v = scalar(name, v)
    check_error(name, v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise InputError(name, clean(v), "TRUE or FALSE")


def _g(x: float) -> str:
    """A bound in words: 10000000 rather than 1e+07."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def to_number(name: str, v: Any, lo: float, hi: float, default: float | None = None, *,
              integer: bool = False, zero_is_empty: bool = True) -> float:
    """A number within [lo, hi]; an empty cell gives ``default`` (or an error if required)."""
    v = scalar(name, v)
    check_error(name, v)
    if is_blank(v) or (zero_is_empty and is_empty(v)):
        if default is None:
            raise _missing(name, v, f"a number between {_g(lo)} and {_g(hi)}")
        return default
    v = clean(v)
    if isinstance(v, str):
        try:
            v = clean(float(ungroup(name, v, f"a number between {_g(lo)} and {_g(hi)}")))
        except ValueError:
            raise InputError(name, v, f"a number between {_g(lo)} and {_g(hi)}") from None
    if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
        raise InputError(name, v, f"a number between {_g(lo)} and {_g(hi)}")
    if not lo <= v <= hi:
        raise InputError(name, v, f"between {_g(lo)} and {_g(hi)}")
    if integer and not float(v).is_integer():
        raise InputError(name, v, "a whole number")
    return v


def to_text(name: str, v: Any, default: str | None = None) -> str:
    """A non-empty text argument (ids, precisions, field names)."""
    v = scalar(name, v)
    check_error(name, v)
    if is_empty(v):
        if default is None:
            raise _missing(name, v, "given")
        return default
    v = clean(v)
    return str(v)


def to_precision(name: str, v: Any, default: str) -> Any:
    """A precision name (fp8, bf16, fp16, int8, int4, fp4, common aliases)."""
    from xlsizer.precision import Precision, parse_precision

    text = to_text(name, v, default)
    try:
        return parse_precision(text)
    except ValueError:
        raise InputError(name, text, "one of " + ", ".join(p.value for p in Precision)) from None


SCENARIO_NAMES: tuple[str, ...] = SCENARIOS
DEFAULT_SCENARIO = "burst"


def to_scenario(v: Any, allow_all: bool = False) -> str:
    """baseline, burst or resilient (case-insensitive); empty = burst."""
    text = to_text("scenario", v, DEFAULT_SCENARIO).lower()
    allowed = (*SCENARIO_NAMES, "all") if allow_all else SCENARIO_NAMES
    if text not in allowed:
        raise InputError("scenario", text, "one of " + ", ".join(allowed))
    return text


# --- name/value ranges -------------------------------------------------------------------

_HEADER_NAMES = {"name", "names", "input", "inputs", "field", "fields", "parameter", "setting", "key"}


def _drop_brackets(text: str) -> str:
    """``text`` without its "(...)" and "[...]" parts (a unit, a note), in linear time: a regex
    such as ``\\(.*?\\)`` rescans the rest of the text from every unclosed "(", so a cell of
    32,767 "(" took seconds (issue 15)."""
    out: list[str] = []
    i, n = 0, len(text)
    unclosed = {")": False, "]": False}  # no closer left after this point: stop searching
    while i < n:
        ch = text[i]
        if ch in "([":
            close = ")" if ch == "(" else "]"
            j = -1 if unclosed[close] else text.find(close, i + 1)
            if j >= 0:
                i = j + 1
                continue
            unclosed[close] = True
        out.append(ch)
        i += 1
    return "".join(out)


def _key_uncached(text: str) -> str:
    text = _drop_brackets(text).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


_key = functools.lru_cache(maxsize=1024)(_key_uncached)

KEY_CACHE_MAX = 256
"""Labels longer than this (never a field name) are not cached: 1,024 cells of 32,767
characters would pin 32 MB."""


def field_key(label: Any) -> str:
    """'Concurrent users' / 'target_tpot_ms (ms)' / 'target-tpot-ms' -> a field name."""
    text = str(label)
    key = _key(text) if len(text) <= KEY_CACHE_MAX else _key_uncached(text)
    if not key:
        raise CellError(f"{quote(text)} is not an input name (no letters or digits outside brackets)")
    return key


@functools.lru_cache(maxsize=512)
def _field_kind(field: str) -> str:
    """'bool', 'zero_ok' (0 is a valid value) or 'zero_empty' (0 means an empty cell)."""
    from xlsizer.inputs import SizingInputs

    info = SizingInputs.model_fields.get(field)
    if info is None:
        return "zero_empty"
    if info.annotation is bool:
        return "bool"
    for m in info.metadata:
        ge, gt = getattr(m, "ge", None), getattr(m, "gt", None)
        if (ge is not None and ge > 0) or (gt is not None and gt >= 0):
            return "zero_empty"
    text = str(info.annotation)
    return "zero_ok" if ("int" in text or "float" in text) and "Literal" not in text else "zero_empty"


def input_value(field: str, v: Any) -> tuple[bool, Any]:
    """(present, value) for one input cell: empty cells are absent (the field's default)."""
    v = scalar(field, v)
    check_error(field, v)
    kind = _field_kind(field)
    if kind == "bool":
        if is_blank(v):
            return False, None
        return True, to_bool(field, v)
    if is_blank(v) or (kind == "zero_empty" and is_empty(v)):
        return False, None
    return True, clean(v)


def _rows(inputs: Any) -> list[list[Any]]:
    """The range as rows; a single cell is no rows (empty) or a shape error."""
    if isinstance(inputs, tuple):
        inputs = list(inputs)
    if not isinstance(inputs, list):
        check_error("Inputs", inputs)
        if is_empty(inputs):
            return []
        raise CellError(f"Inputs must be a two-column name/value range, got the single value {quote(clean(inputs))}")
    if not inputs:
        return []
    if all(not isinstance(r, list | tuple) for r in inputs):
        if len(inputs) == 2:  # one row [name, value] arrives flat
            return [list(inputs)]
        raise CellError(f"Inputs must be a two-column name/value range, got one column/row of {len(inputs)} cells")
    rows = [list(r) if isinstance(r, list | tuple) else [r] for r in inputs]
    widths = {len(r) for r in rows}
    if widths != {2}:
        raise CellError(f"Inputs must be a two-column name/value range, got {max(widths)} columns")
    return rows


def pairs_from_range(inputs: Any) -> dict[str, Any]:
    """Fields from a two-column name/value range: blank rows skipped, a header row tolerated,
    empty values left to the defaults, duplicate names refused."""
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for i, (name, value) in enumerate(_rows(inputs)):
        if is_empty(name):
            if not is_empty(value):
                raise CellError(f"Inputs row {i + 1} has a value ({quote(clean(value))}) but no name")
            continue
        check_error(f"Inputs row {i + 1}", name)
        key = field_key(name)
        if i == 0 and key in _HEADER_NAMES:
            continue
        if key in seen:
            raise CellError(f"Inputs names {clip(key)} twice (rows with the same name)")
        seen.add(key)
        present, v = input_value(key, value)
        if present:
            out[key] = v
    return out


def pairs_from_args(args: Sequence[Any]) -> dict[str, Any]:
    """Override fields from trailing (name, value) arguments; an empty name skips the pair,
    a name with an empty value resets that field to its default."""
    out: dict[str, Any] = {}
    drop: set[str] = set()
    for j in range(0, len(args) - 1, 2):
        name, value = args[j], args[j + 1]
        n = j // 2 + 1
        if is_empty(name):
            if not is_empty(value):
                raise CellError(f"value{n} ({quote(clean(value))}) is given without name{n}")
            continue
        check_error(f"name{n}", name)
        key = field_key(name)
        present, v = input_value(key, value)
        if present:
            out[key] = v
        else:
            drop.add(key)
    out["__drop__"] = tuple(sorted(drop))
    return out


def _freeze(d: dict[str, Any]) -> tuple[tuple[str, str, Any], ...]:
    """The fields as a cache key: (name, type name, value) sorted by name. The type is part of
    the key because TRUE == 1 and FALSE == 0 in Python (equal and same hash) while the inputs
    model refuses TRUE where it takes 1: without it a cell's answer depended on which of the
    two was calculated first (issue 24)."""
    return tuple(sorted((k, type(v).__name__, v) for k, v in d.items()))


@functools.lru_cache(maxsize=512)
def _make_inputs(frozen: tuple[tuple[str, str, Any], ...]) -> Any:
    from xlsizer.inputs import make_inputs

    return make_inputs({k: v for k, _, v in frozen})


def build_inputs(inputs: Any, overrides: Sequence[Any] = ()) -> Any:
    """``SizingInputs`` from an Inputs range plus trailing override pairs (cached)."""
    data = pairs_from_range(inputs)
    over = pairs_from_args(overrides)
    for k in over.pop("__drop__"):
        data.pop(k, None)
    data.update(over)
    try:
        return _make_inputs(_freeze(data))
    except TypeError:  # an unhashable value (a range where a cell was expected)
        bad = next(k for k, v in data.items() if isinstance(v, list | dict))
        raise CellError(f"{bad} must be a single cell, got a range") from None


@functools.lru_cache(maxsize=256)
def sized(inp: Any) -> Any:
    """The core's answer for one ``SizingInputs`` (computed once per distinct inputs)."""
    from xlsizer.api import size

    return size(inp)


@functools.lru_cache(maxsize=256)
def _flat(inp: Any) -> dict[str, dict[str, Any]]:
    """Per scenario: every result field by dotted path ('memory.vram_gb', 'cost.monthly')."""
    j = sized(inp).to_json()
    top = {k: v for k, v in j.items() if k not in ("scenarios", "explain")}
    out: dict[str, dict[str, Any]] = {}
    for name, scen in j["scenarios"].items():
        flat: dict[str, Any] = {}
        _flatten(scen, "", flat)
        _flatten(top, "", flat, overwrite=False)
        out[name] = flat
    return out


def _flatten(obj: Any, prefix: str, out: dict[str, Any], overwrite: bool = True) -> None:
    if isinstance(obj, dict):
        if prefix and (overwrite or prefix not in out):
            out[prefix] = obj
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, overwrite)
    elif overwrite or prefix not in out:
        out[prefix] = obj


def _cell(v: Any) -> Any:
    """A result value as a cell: numbers/text as they are, lists joined, enums as text."""
    if isinstance(v, list | tuple):
        return "; ".join(str(x) for x in v)
    if v is None:
        return ""
    if isinstance(v, bool | int | float | str):
        return v
    return str(getattr(v, "value", v))


def closest(key: str, paths: list[str], n: int = 3) -> list[str]:
    """Dotted paths nearest to ``key``, by the whole path and by its last part ('vram' ->
    memory.vram_gb)."""
    leaf = {p: p.rsplit(".", 1)[-1] for p in paths}
    hits = [p for p in paths if key in leaf[p] or leaf[p].startswith(key)]
    hits += difflib.get_close_matches(key, paths, n=n, cutoff=0.6)
    by_leaf = difflib.get_close_matches(key, list(set(leaf.values())), n=n, cutoff=0.6)
    hits += [p for p in paths if leaf[p] in by_leaf]
    return list(dict.fromkeys(hits))[:n]


def result_field(inp: Any, field: str, scenario: str) -> Any:
    """One result field of a scenario by dotted path, with the closest names on a miss."""
    flat = _flat(inp)[scenario]
    key = field.strip().lower()
    if key not in flat:
        head = key.split(".")[0]
        if head == "perf" and "perf" not in flat:
            return "n/a"  # the per-replica plan exists only with throughput_source "roofline"
        close = closest(key, [k for k in flat if not isinstance(flat[k], dict)])
        hint = f"; closest: {', '.join(close)}" if close else "; see docs/functions.md for the fields"
        raise CellError(f"unknown result field {quote(field)}{hint}")
    v = flat[key]
    if isinstance(v, dict):
        subs = ", ".join(f"{key}.{k}" for k in list(v)[:6])
        raise CellError(f"{field} is a group of fields; ask for one of {subs}")
    return _cell(v)


# --- the cell functions ----------------------------------------------------------------------
# Each UDF in xlsizer_udfs.py is one call into one of these.

@guarded
def scenario_value(field: str, inputs: Any, scenario: Any, overrides: Sequence[Any]) -> Any:
    """A fixed result field (LLM_REPLICAS, LLM_GPUS...) for the Inputs range and overrides."""
    inp = build_inputs(inputs, overrides)
    return result_field(inp, field, to_scenario(scenario))


@guarded
def result(inputs: Any, field: Any, scenario: Any, overrides: Sequence[Any]) -> Any:
    """LLM_RESULT: any result field by dotted path."""
    name = to_text("field", field)
    inp = build_inputs(inputs, overrides)
    return result_field(inp, name, to_scenario(scenario))


EXPLAIN_ROWS = 64
"""LLM_EXPLAIN always returns this many rows (header included), padded with blanks, so it
also works as a legacy fixed-size array formula."""
EXPLAIN_HEADER = ("step", "value", "unit", "formula", "source")
WARNING_ROWS = 16
"""LLM_WARNINGS always returns this many rows (one column), padded with blanks."""


def _pad(rows: list[list[Any]], n_rows: int, n_cols: int, what: str) -> list[list[Any]]:
    if len(rows) > n_rows:
        extra = len(rows) - n_rows + 1
        rows = [*rows[: n_rows - 1], [f"... {extra} more {what}", *[""] * (n_cols - 1)]]
    return rows + [[""] * n_cols for _ in range(n_rows - len(rows))]


@guarded
def explain(inputs: Any, scenario: Any, overrides: Sequence[Any]) -> list[list[Any]]:
    """LLM_EXPLAIN: the chain of steps (shared steps and the scenario's), padded table."""
    inp = build_inputs(inputs, overrides)
    scen = to_scenario(scenario)
    rows: list[list[Any]] = [list(EXPLAIN_HEADER)]
    for st in sized(inp).explain():
        if st.scenario in ("all", scen):
            rows.append([st.name, _cell(st.value), st.unit, st.formula, st.source])
    return _pad(rows, EXPLAIN_ROWS, len(EXPLAIN_HEADER), "steps")


@guarded
def warnings(inputs: Any, scenario: Any, overrides: Sequence[Any]) -> list[list[Any]]:
    """LLM_WARNINGS: one warning per row ('no warnings' if none), padded column."""
    inp = build_inputs(inputs, overrides)
    scen = to_scenario(scenario, allow_all=True)
    res = sized(inp)
    msgs = list(res.warnings) if scen == "all" else list(res.scenarios[scen].warnings)
    rows = [[m] for m in msgs] or [["no warnings"]]
    return _pad(rows, WARNING_ROWS, 1, "warnings")


def _flat_values(values: Any) -> list[Any]:
    if isinstance(values, list | tuple):
        out: list[Any] = []
        for v in values:
            out.extend(_flat_values(v) if isinstance(v, list | tuple) else [v])
        return out
    return [values]


MAX_SWEEP = 1000


def _echo(v: Any) -> Any:
    """A swept value as its row shows it; text bounded like an error message."""
    c = _cell(clean(v))
    return clip(c, MESSAGE_MAX) if isinstance(c, str) else c


@guarded
def sweep(inputs: Any, field: Any, values: Any, output: Any, scenario: Any) -> list[list[Any]]:
    """LLM_SWEEP: one row per value of ``field`` with the ``output`` result; a header row first.
    A value that fails gets its error text in its row; blank values give blank rows."""
    name = field_key(to_text("field", field))
    out_name = to_text("output", output, "replicas").strip().lower()
    scen = to_scenario(scenario)
    vals = _flat_values(values)
    if len(vals) > MAX_SWEEP:
        raise CellError(f"values must be at most {MAX_SWEEP} cells, got {len(vals)}")
    base = build_inputs(inputs)
    base_data = base.model_dump(exclude_unset=True)
    rows: list[list[Any]] = [[clip(name), clip(out_name)]]  # headers echo the user's text: bounded
    for v in vals:
        if is_blank(v):
            rows.append(["", ""])
            continue
        try:
            present, cv = input_value(name, v)
            data = {k: x for k, x in base_data.items() if k != name}
            if present:
                data[name] = cv
            inp = _make_inputs(_freeze(data))
            rows.append([_echo(v), result_field(inp, out_name, scen)])
        except XlsizerError as exc:
            if isinstance(exc, CellError) and out_name not in _flat(base)[scen]:
                raise
            rows.append([_echo(v), error_text(exc)])
    return rows


# --- positional memory and traffic functions -----------------------------------------------

def _model(v: Any) -> Any:
    from xlsizer.catalog import load_catalog

    return load_catalog().model(to_text("model", v))


def _gpu(v: Any) -> Any:
    from xlsizer.catalog import load_catalog

    return load_catalog().gpu(to_text("gpu", v))


@guarded
def kv_memory(model: Any, tokens: Any, requests: Any = None, kv_precision: Any = None) -> float:
    """KV_MEMORY: GB of KV cache for ``requests`` sequences of ``tokens`` tokens each."""
    from xlsizer.engine.memory import kv_bytes_for_context

    spec = _model(model)
    n_tok = to_number("tokens", tokens, 1, 10_000_000)
    n_req = to_number("requests", requests, 0.001, 10_000_000, default=1)
    p = to_precision("kv_precision", kv_precision, "fp8")
    return kv_bytes_for_context(spec, n_tok, p.bytes_per_element) * n_req / GB


@guarded
def kv_per_token(model: Any, kv_precision: Any = None) -> float:
    """KV_PER_TOKEN: KV-cache bytes one token adds across all layers."""
    from xlsizer.engine.memory import kv_bytes_per_token

    spec = _model(model)
    return clean(float(kv_bytes_per_token(spec, to_precision("kv_precision", kv_precision, "fp8").bytes_per_element)))


@guarded
def weights_memory(model: Any, precision: Any = None) -> float:
    """WEIGHTS_MEMORY: GB of weights (all parameters, MoE included) at ``precision``; a MoE at
    fp4 holds its routed experts in 4 bits and the rest as released, as the sizing does."""
    from xlsizer.engine.layers import deployed_weights_bytes

    spec = _model(model)
    p = to_precision("precision", precision, "fp8")
    return deployed_weights_bytes(spec, p) / GB


@guarded
def rps(users: Any, rpm: Any) -> float:
    """LLM_RPS: average requests per second."""
    from xlsizer.engine.traffic import requests_per_second

    return requests_per_second(to_number("users", users, 1, 100_000_000), to_number("rpm", rpm, 0.001, 10_000))


@guarded
def inflight(users: Any, rpm: Any, output_tokens: Any, tpot_ms: Any, burst: Any = None) -> float:
    """LLM_INFLIGHT: concurrent requests at peak by Little's law."""
    from xlsizer.engine.traffic import inflight_requests, requests_per_second

    r = requests_per_second(to_number("users", users, 1, 100_000_000), to_number("rpm", rpm, 0.001, 10_000))
    out = to_number("output_tokens", output_tokens, 1, 1_000_000)
    tpot = to_number("tpot_ms", tpot_ms, 0.1, 100_000)
    b = to_number("burst", burst, 1, 100, default=1)
    return inflight_requests(r, out * tpot / 1000.0, b)


@guarded
def vram(model: Any, users: Any, rpm: Any, prompt_tokens: Any, output_tokens: Any, tpot_ms: Any,
         burst: Any, precision: Any, scenario: Any) -> float:
    """LLM_VRAM: total VRAM (GB) the core sizes for these workload numbers (other inputs default)."""
    data: dict[str, Any] = {"model": to_text("model", model)}
    for field, v in (("concurrent_users", users), ("requests_per_user_per_minute", rpm),
                     ("avg_prompt_tokens", prompt_tokens), ("avg_output_tokens", output_tokens),
                     ("target_tpot_ms", tpot_ms), ("burst_factor", burst), ("precision", precision)):
        present, cv = input_value(field, v)
        if present:
            data[field] = cv
    inp = _make_inputs(_freeze(data))
    return result_field(inp, "memory.vram_gb", to_scenario(scenario))


# --- performance model (positional functions) -------------------------------------------------

def _performance() -> Any:
    import importlib

    try:
        performance = importlib.import_module("xlsizer.engine.performance")
    except ImportError:
        raise CellError("the performance model (xlsizer.engine.performance) is not in this xlsizer build") from None
    if not hasattr(performance, "estimate"):
        raise CellError("the performance model has no estimate() in this xlsizer build")
    return performance


@functools.lru_cache(maxsize=1024)
def _estimate(model_id: str, gpu_id: str, tp: int, precision: str, input_tokens: int, output_tokens: int,
              concurrency: int | None) -> Any:
    perf = _performance()
    from xlsizer.catalog import load_catalog

    cat = load_catalog()
    return perf.estimate(cat.model(model_id), cat.gpu(gpu_id), tp=tp, precision=precision,
                         input_tokens=input_tokens, output_tokens=output_tokens, concurrency=concurrency)


PERF_FIELDS: dict[str, tuple[str, float]] = {
    "tpot_ms": ("tpot_s", 1000.0),
    "ttft_ms": ("ttft_s", 1000.0),
    "throughput": ("out_tok_s_per_replica", 1.0),
    "max_batch": ("max_batch", 1.0),
}


@guarded
def performance(what: str, model: Any, gpu: Any, tp: Any = None, precision: Any = None,
                input_tokens: Any = None, output_tokens: Any = None, concurrency: Any = None) -> Any:
    """LLM_TPOT / LLM_TTFT / LLM_THROUGHPUT / LLM_MAX_BATCH through performance.estimate."""
    m = _model(model)
    g = _gpu(gpu)
    est = _estimate(
        m.id, g.id,
        int(to_number("tp", tp, 1, 72, default=1, integer=True)),
        to_precision("precision", precision, "fp8").value,
        int(to_number("input_tokens", input_tokens, 1, 1_000_000, default=2000, integer=True)),
        int(to_number("output_tokens", output_tokens, 1, 1_000_000, default=500, integer=True)),
        None if is_empty(concurrency) and error_value(concurrency) is None
        else int(to_number("concurrency", concurrency, 1, 1_000_000, integer=True)),
    )
    attr, scale = PERF_FIELDS[what]
    v = getattr(est, attr)
    return clean(float(v) * scale) if attr == "max_batch" else float(v) * scale


def ms(seconds: float) -> float:
    """Seconds to milliseconds (re-exported for docs)."""
    return s_to_ms(seconds)


# --- catalog ---------------------------------------------------------------------------------

def _column(ids: Iterable[str]) -> list[list[Any]]:
    rows = [[i] for i in ids]
    return rows or [["(none)"]]


@guarded
def models(contains: Any = None) -> list[list[Any]]:
    """LLM_MODELS: catalog model ids (a column), optionally those containing some text."""
    from xlsizer.catalog import load_catalog

    text = "" if is_empty(contains) else to_text("contains", contains).lower()
    return _column(i for i, m in load_catalog().models.items() if text in f"{i} {m.name} {m.family}".lower())


@guarded
def gpus(contains: Any = None) -> list[list[Any]]:
    """LLM_GPU_LIST: catalog GPU ids (a column), optionally those containing some text."""
    from xlsizer.catalog import load_catalog

    text = "" if is_empty(contains) else to_text("contains", contains).lower()
    return _column(i for i, g in load_catalog().gpus.items() if text in f"{i} {g.name} {g.vendor}".lower())


def _first_names(flat: dict[str, Any], limit: int = 120) -> str:
    """The top-level field names, whole, as many as fit in ``limit`` characters (a cell's
    error stays one short line), then ", ..."."""
    names: list[str] = []
    for k in (k for k in flat if "." not in k):
        if len(", ".join([*names, k])) > limit:
            return ", ".join(names) + ", ..."
        names.append(k)
    return ", ".join(names)


def _spec_field(kind: str, spec: Any, field: Any, default: str) -> Any:
    key = to_text("field", field, default).strip().lower()
    flat: dict[str, Any] = {}
    _flatten(spec.model_dump(mode="json"), "", flat)
    if key not in flat:
        close = closest(key, [k for k in flat if not isinstance(flat[k], dict)])
        if key.startswith("dense_tflops."):
            raise CellError(f"{spec.id} has no {clip(key)} (no hardware support for that precision)")
        hint = f"; closest: {', '.join(close)}" if close else f"; its fields: {_first_names(flat)}"
        raise CellError(f"unknown {kind} field {quote(key)}{hint}")
    v = flat[key]
    if isinstance(v, dict):
        raise CellError(f"{key} is a group of fields; ask for one of " + ", ".join(f"{key}.{k}" for k in v))
    return _cell(v)


@guarded
def model_info(model: Any, field: Any = None) -> Any:
    """LLM_MODEL_INFO: one fact about a catalog model."""
    return _spec_field("model", _model(model), field, "name")


@guarded
def gpu_info(gpu: Any, field: Any = None) -> Any:
    """LLM_GPU_INFO: one fact about a catalog GPU."""
    return _spec_field("GPU", _gpu(gpu), field, "name")


def cache_clear() -> None:
    """Forget every cached sizing (for benchmarks and tests)."""
    for f in (_make_inputs, sized, _flat, _estimate):
        f.cache_clear()
