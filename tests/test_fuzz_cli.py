"""Fuzz: the command line, in-process through ``main(argv)`` (issue 15).

Random subcommands, ``--set field=value`` pairs (known and unknown names; numbers, booleans,
text, huge integers, formula-like and very long values), ``--inputs`` JSON files (random JSON
values, deep nesting, huge integers, not JSON at all) and ``--out`` folders that are files or
cannot be created. Every run must end in exit 0, or 2 with one named line on stderr (a batch
whose projects failed: exit 1 with one "failed: FILE: reason" line each); "internal error", a
traceback, or a line longer than a screen line or two is an escape.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import fuzzstats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlsizer.cli import main
from xlsizer.inputs import FIELD_NAMES

values = st.one_of(
    st.sampled_from(["true", "false", "TRUE", "yes", "", "none", "0", "-1", "1e309", "nan", "inf", "1,000",
                     "9" * 5000, "(" * 5000, "=1+1", "llama-3.1-8b", "h100-sxm", "auto", "fp8", "N+2", "custom"]),
    st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(repr), st.text(max_size=30),
)
fields = st.one_of(st.sampled_from(list(FIELD_NAMES)), st.text(min_size=1, max_size=20))
assignments = st.lists(st.tuples(fields, values).map(lambda kv: f"{kv[0]}={kv[1]}"), max_size=4)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=10), kids, max_size=4)),
    max_leaves=12,
)
json_inputs = st.one_of(
    st.dictionaries(st.sampled_from(list(FIELD_NAMES)), json_values, max_size=5),
    json_values,
    st.sampled_from(["[" * 100_000 + "]" * 100_000, '{"concurrent_users": ' + "9" * 5000 + "}", "not json",
                     '{"inputs": {"concurrent_users": true}}', "\xff\xfe"]),
)

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse usage errors
            rc = int(e.code or 0)
    return rc, err.getvalue()


def _judge(argv: list[str], rc: int, err: str) -> None:
    fuzzstats.count("cli", "tried")
    batch_failed = argv[0] == "report" and rc == 1 and err.startswith("xlsizer: failed:")  # named per file
    escaped = (rc not in (0, 2) and not batch_failed) or "internal error" in err or "Traceback" in err \
        or max(map(len, err.splitlines() or [""])) > 400
    fuzzstats.count("cli", "escape" if escaped else f"exit {rc}")
    assert not escaped, (argv[:6], rc, err[:300])


@SETTINGS
@given(st.sampled_from(["size", "waterfall"]), assignments, st.booleans())
def test_size_and_waterfall_take_any_set(cmd, sets, as_json):
    argv = [cmd, *(["--set", *sets] if sets else []), *(["--json"] if as_json else [])]
    _judge(argv, *_run(argv))


@SETTINGS
@given(json_inputs)
def test_inputs_file_takes_any_json(data):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "in.json"
        f.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8", errors="surrogatepass")
        argv = ["size", "--inputs", str(f)]
        _judge(argv, *_run(argv))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["file", "under-file", "missing", "ok"]), st.sampled_from(["report", "new-project"]),
       st.text(min_size=1, max_size=20))
def test_out_folders_and_names(kind, cmd, name):
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        (base / "afile").write_text("x")
        out = {"file": base / "afile", "under-file": base / "afile" / "sub", "missing": base / "new" / "deeper",
               "ok": base}[kind]
        argv = ([cmd, str(base / "nothing-here"), "--out", str(out)] if cmd == "report"
                else [cmd, name, "--out", str(out), "--set", "concurrent_users=10"])
        _judge(argv, *_run(argv))
        if cmd == "new-project" and kind in ("ok", "missing"):
            _judge(argv, *_run(argv))  # the second time the file exists: refused, exit 2
