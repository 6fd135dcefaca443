"""``xlsizer calibrate``: turn a team's measured benchmark runs into a calibration profile.

    xlsizer calibrate FILE... --out PROFILE.yaml [--set field=value ...] [--json] [--force]
                      [--date YYYY-MM-DD]

FILE: the validation CSV format, vLLM ``bench serve --save-result`` JSON, SGLang
``bench_serving`` JSONL, AIPerf / GenAI-Perf ``profile_export`` JSON or a trtllm-bench report
(``calibrate/readers.py``). ``--set`` gives what the files do not say (model, gpu, tp, engine,
weights_precision, ...); in a CSV it also picks one deployment among several. The profile is
written only when everything succeeded, and never over an existing file without ``--force``.
``validate_with_profile`` is ``xlsizer validate --profile``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xlsizer.errors import XlsizerError
from xlsizer.outpaths import write_text_atomic
from xlsizer.units import count


def _header(prof: Any) -> str:
    d = prof.deployment
    return (f"xlsizer calibration profile: {d.model} on {d.tp}x {d.gpu} ({count(d.gpu_count, 'GPU')}), {prof.engine}, "
            f"{d.weights_precision}\n"
            "Written by `xlsizer calibrate` from the measured runs listed under 'measured'. Each factor replaces\n"
            "the packaged fitted constant of the same name (xlsizer/catalog/data/calibration.yaml); use it with\n"
            "`xlsizer size --profile THIS.yaml` or the template's 'Calibration profile' input (Step 6).\n"
            "Errors are fractions (0.05 = 5%): ape = |predicted / measured - 1|, signed = predicted / measured - 1.\n"
            "A factor's scope: deployment = this model only; gpu+engine = also other models on this GPU and engine.")


def calibrate(files: list[str], out: str, sets: dict[str, Any], date: str | None = None,
              force: bool = False) -> tuple[Any, str]:
    """Fit a profile on ``files`` and write it to ``out``; (profile, YAML text). Nothing is
    written when anything fails (``XlsizerError`` in one line)."""
    from xlsizer.calibrate.fit import build_profile
    from xlsizer.calibrate.profile import dump_profile
    from xlsizer.calibrate.readers import read_files
    from xlsizer.outpaths import check_new_file

    target = Path(out)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise XlsizerError(f"--out {out}: a profile is a YAML file (name it .yaml)")
    check_new_file(target, force=force)
    when = date or dt.date.today().isoformat()
    try:
        dt.date.fromisoformat(when)
    except ValueError:
        raise XlsizerError(f"--date {when!r}: expected YYYY-MM-DD") from None
    prof, _ = build_profile(read_files(files, sets), when)
    text = dump_profile(prof, _header(prof))
    write_text_atomic(text, target)  # whole or not at all
    return prof, text


def _summary(prof: Any, out: str) -> str:
    from xlsizer.calibrate.profile import factor_text

    lines = [f"wrote {out}", ""]
    d = prof.deployment
    lines.append(f"deployment: {d.model} on {d.tp}x {d.gpu} ({count(d.gpu_count, 'GPU')}, ep {d.ep}, dp {d.dp}), "
                 f"{prof.engine}, {d.weights_precision}, {d.mode}")
    lines.append(f"runs: {prof.measured.get('runs')} from {len(prof.measured.get('files', []))} file(s)")
    for k, r in prof.range.items():
        lines.append(f"  {k:<12} {r.low:,.0f} - {r.high:,.0f}")
    lines.append("")
    lines.append(f"{'factor':<28} {'packaged':>12} {'fitted':>12}  unit")
    for n, f in prof.factors.items():
        lines.append(f"{n:<28} {factor_text(f.packaged):>12} {factor_text(f.value):>12}  {f.unit}")
    lines.append("")
    for m, e in prof.error.items():
        b, a = e.get("before") or {}, e.get("after") or {}
        if b and a:
            lines.append(f"{m}: median error {b['median_ape'] * 100:.1f}% -> {a['median_ape'] * 100:.1f}%, "
                         f"p90 {b['p90_ape'] * 100:.1f}% -> {a['p90_ape'] * 100:.1f}% ({a['rows']} runs)")
    guard = prof.measured.get("guard") or {}
    if guard:
        lines.append(f"guard: fitted {guard.get('chosen')} (chosen by {guard.get('folds')}-fold cross-validation "
                     "over these runs)")
    for note in (prof.measured.get("kept_packaged", []) + prof.measured.get("at_bounds", [])
                 + prof.measured.get("mixed_stack", [])):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    prof, _ = calibrate(args.files, args.out, args.parse_sets(args.set or []), args.date, args.force)
    if args.json:
        print(json.dumps({"out": args.out, **prof.model_dump(mode="json")}, indent=2))
    else:
        print(_summary(prof, args.out))
    return 0


def validate_with_profile(data: str, profile: str, as_json: bool) -> tuple[str, int]:
    """``xlsizer validate --data FILE --profile PROFILE``: each row predicted with the profile
    where it applies to the row's deployment (used / partly used), else as ``validate`` does."""
    from xlsizer.calibrate.profile import ProfileError, calibration_for, load_profile
    from xlsizer.engine.calibration import held_out_calibration
    from xlsizer.validation import (
        MeasurementFileError,
        ValidationReport,
        format_text,
        read_rows,
        to_json,
        validate_rows,
    )

    try:
        prof = load_profile(profile)
        rows = read_rows(data)
    except (MeasurementFileError, ProfileError) as exc:
        return f"error: {exc.short()}", 2
    out = []
    for row in rows:  # one row at a time: the calibration depends on the row's deployment
        try:
            cal = calibration_for(prof, row.get("model", ""), row.get("gpu", ""), row.get("engine", "") or "vllm",
                                  row.get("weights_precision", ""))
        except XlsizerError:
            cal = None
        if cal is None:
            cal = held_out_calibration(row.get("model", ""))
        out += validate_rows([row], data, cal).rows
    report = ValidationReport(data, tuple(out))
    if as_json:
        return json.dumps(to_json(report), indent=2), 0
    return f"rows of {prof.deployment.model} on {prof.deployment.gpu} ({prof.engine}) predicted with the profile\n" \
           + format_text(report), 0


def register(sub: Any, parse_sets: Callable[[Sequence[str]], dict[str, Any]]) -> None:
    """Add ``calibrate`` to the CLI's subcommands; ``parse_sets`` reads ``--set`` pairs as every
    command does (``cli.parse_assignments``, passed in: this module does not import the CLI)."""
    c = sub.add_parser("calibrate", help="fit a calibration profile on your own benchmark runs")
    c.add_argument("files", metavar="FILE", nargs="+",
                   help="validation CSV, vLLM/SGLang/AIPerf/GenAI-Perf/trtllm-bench result files")
    c.add_argument("--out", metavar="PROFILE.yaml", required=True, help="where to write the profile")
    c.add_argument("--set", metavar="FIELD=VALUE", nargs="+", action="extend",
                   help="a fact the files do not give (model, gpu, tp, engine, weights_precision, ...)")
    c.add_argument("--date", metavar="YYYY-MM-DD", help="date recorded in the profile (default: today)")
    c.add_argument("--json", action="store_true", help="print the profile as JSON")
    c.add_argument("--force", action="store_true", help="replace PROFILE.yaml if it exists")
    c.set_defaults(func=_cmd_calibrate, parse_sets=parse_sets)


__all__ = ["calibrate", "register", "validate_with_profile"]
