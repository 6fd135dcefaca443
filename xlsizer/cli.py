"""Command line: a thin front over library functions (each command is a few lines).

    xlsizer size [--inputs FILE.json|PROJECT.xlsx] [--set field=value ...] [--json]
    xlsizer inputs [--json]
    xlsizer validate --data FILE.csv [--json]
    xlsizer report PATH... --out DIR [--format xlsx|md] [--jobs N] [--force]
    xlsizer template [PATH] [--force]
    xlsizer new-project NAME [--set field=value ...] [--out DIR]
    xlsizer examples [--out DIR] [--force]
    xlsizer waterfall [--inputs FILE.json] [--set field=value ...] [--scenario NAME] [--json]
    xlsizer freeze PROJECT.xlsx [--out FILE] [--force]
    xlsizer excel setup [WORKBOOK] [--out FILE | --in-place] [--dry-run]
    xlsizer lite [--out DIR] [--wheel-url https://.../xlsizer-VERSION-py3-none-any.whl] [--force]
    xlsizer calibrate FILE... --out PROFILE.yaml [--set field=value ...] [--json] [--force]
    (size, validate, waterfall and report take --profile PROFILE.yaml)
    xlsizer catalog add-model CONFIG.json [--id ID] [--json] | list [--json] | show ID [--json]

Expected failures print one line to stderr and exit 2; nothing prints a traceback. ``xlsizer``
alone prints the usage and the commands (exit 2). Numbers given with ``--set`` may carry
thousands separators in whole groups of three ("1,000", "1 000"; see ``SizingInputs._thousands``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xlsizer.errors import XlsizerError, one_line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: one line, exit 2
        self.exit(2, f"xlsizer: error: {one_line(message)}\n")


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``field=value`` pairs to a dict; values stay text and are converted by the inputs model."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise XlsizerError(f"--set expects field=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = _coerce(v.strip())
    return out


def _coerce(text: str) -> Any:
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("", "none", "null"):
        return None
    return text


def load_inputs_file(path: str) -> dict[str, Any]:
    """Read a JSON object of inputs (either the inputs alone or a ``size --json`` output), or
    a project workbook (.xlsx/.xlsm, read as ``report`` reads it: same checks, same inputs)."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm") or (p.is_file() and zipfile.is_zipfile(p)):
        from xlsizer.workbook.project import read_project

        return read_project(p).inputs.model_dump(mode="json", exclude_unset=True)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XlsizerError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XlsizerError(f"{path}: not a readable JSON file ({exc})") from None
    except RecursionError:
        raise XlsizerError(f"{path}: not a readable JSON file (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise XlsizerError(f"{path}: not a readable JSON file ({str(exc).split(':')[0]})") from None
    if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
        data = data["inputs"]
    if not isinstance(data, dict):
        raise XlsizerError(f"{path}: expected a JSON object of input fields")
    return data


def _cmd_size(args: argparse.Namespace) -> int:
    from xlsizer.api import size
    from xlsizer.inputs import make_inputs
    from xlsizer.textout import result_table

    data = load_inputs_file(args.inputs) if args.inputs else {}
    data.update(parse_assignments(args.set or []))
    if args.profile:
        data["calibration_profile"] = args.profile
    result = size(make_inputs(data))
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print(result_table(result))
    return 0


def _cmd_inputs(args: argparse.Namespace) -> int:
    from xlsizer.textout import input_list, inputs_table

    items = input_list()
    print(json.dumps(items, indent=2, default=str) if args.json else inputs_table(items))
    return 0


def _cmd_waterfall(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from xlsizer.engine.waterfall import waterfall, waterfall_table
    from xlsizer.inputs import make_inputs

    data = load_inputs_file(args.inputs) if args.inputs else {}
    data.update(parse_assignments(args.set or []))
    if args.profile:
        data["calibration_profile"] = args.profile
    inp = make_inputs(data)
    steps = waterfall(inp, args.scenario)
    if args.json:
        print(json.dumps([asdict(s) for s in steps], indent=2, default=str))
    else:
        print(waterfall_table(steps))
        if inp.calibration_profile:
            print(_profile_use(inp, args.scenario))
    return 0


def _profile_use(inp: Any, scenario: str) -> str:
    """One line under the waterfall: whether the profile applied to the final step's sizing (a
    profile measured on another GPU or engine is ignored, and a table alone would not say so)."""
    from xlsizer.api import size

    try:
        rows = [s for s in size(inp).explain() if s.scenario == scenario and s.name == "Calibration profile"]
    except XlsizerError as exc:
        return f"calibration profile not applied: {exc.short()}"
    return f"calibration profile {rows[0].value}: {rows[0].formula}" if rows else "calibration profile not applied"


def _cmd_validate(args: argparse.Namespace) -> int:
    from xlsizer.validation import validate_command

    if args.profile:
        from xlsizer.cli_calibrate import validate_with_profile

        text, code = validate_with_profile(args.data, args.profile, args.json)
    else:
        text, code = validate_command(args.data, args.json)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


def _cmd_report(args: argparse.Namespace) -> int:
    from xlsizer.batch import run_batch
    from xlsizer.outpaths import ensure_folder

    ensure_folder(args.out, create=False)  # named reason now; created once there are projects
    summary = run_batch(args.paths, args.out, fmt=args.format, jobs=args.jobs, force=args.force,
                        profile=args.profile)
    for line in summary.failures:
        print(f"xlsizer: failed: {line}", file=sys.stderr)
    for line in summary.left_out:
        print(f"xlsizer: left out: {line}", file=sys.stderr)
    for line in summary.notes:
        print(f"xlsizer: note: {line}", file=sys.stderr)
    print(summary.line)
    return 1 if summary.failed else 0


def _cmd_template(args: argparse.Namespace) -> int:
    from xlsizer.outpaths import check_new_file
    from xlsizer.workbook.template import write_template

    check_new_file(args.path, force=args.force)  # a filled project of that name is never replaced unasked
    print(write_template(args.path))
    return 0


def _cmd_new_project(args: argparse.Namespace) -> int:
    from xlsizer.outpaths import check_new_file, ensure_folder, project_file_stem, project_name
    from xlsizer.workbook.template import write_template

    name = project_name(args.name)
    stem = project_file_stem(name)  # refused before any folder is made
    target = check_new_file(ensure_folder(args.out) / f"{stem}.xlsx", force=args.force)
    print(write_template(target, parse_assignments(args.set or []), name=name))
    return 0


def _cmd_examples(args: argparse.Namespace) -> int:
    from xlsizer.outpaths import check_new_file, ensure_folder
    from xlsizer.workbook.examples import EXAMPLES, example_path, write_examples

    if args.out:
        ensure_folder(args.out, create=False)  # a file named like the folder: one named reason
    for ex in EXAMPLES:
        check_new_file(example_path(ex, args.out), force=args.force)
    for path in write_examples(args.out):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="xlsizer", description="LLM-inference capacity planner (the aisle Sizer, in Excel).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("size", help="size one deployment and print the three scenarios")
    s.add_argument("--inputs", metavar="FILE", help="JSON object of input fields, or a project workbook (.xlsx/.xlsm)")
    s.add_argument("--set", metavar="FIELD=VALUE", nargs="+", action="extend", help="override an input")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.add_argument("--profile", metavar="PROFILE.yaml", help="calibration profile from `xlsizer calibrate`")
    s.set_defaults(func=_cmd_size)

    i = sub.add_parser("inputs", help="list every input with its unit, allowed values and default")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=_cmd_inputs)

    w = sub.add_parser("waterfall", help="switch the optimizations on one at a time from everything off")
    w.add_argument("--inputs", metavar="FILE", help="JSON object of input fields, or a project workbook (.xlsx/.xlsm)")
    w.add_argument("--set", metavar="FIELD=VALUE", nargs="+", action="extend", help="override an input")
    w.add_argument("--scenario", choices=("baseline", "burst", "resilient"), default="burst",
                   help="scenario to report (default burst)")
    w.add_argument("--json", action="store_true", help="print JSON instead of a table")
    w.add_argument("--profile", metavar="PROFILE.yaml", help="calibration profile from `xlsizer calibrate`")
    w.set_defaults(func=_cmd_waterfall)

    v = sub.add_parser("validate", help="predict published measurements and print the error")
    v.add_argument("--data", metavar="FILE.csv", required=True,
                   help="measurements in the format of validation/calibration.csv, serving.csv (measured "
                        "serving runs) or mlperf.csv (MLPerf Inference results); validation/README.md")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.add_argument("--profile", metavar="PROFILE.yaml", help="calibration profile from `xlsizer calibrate`")
    v.set_defaults(func=_cmd_validate)

    r = sub.add_parser("report", help="write a report workbook per filled template, and portfolio.xlsx")
    r.add_argument("paths", metavar="PATH", nargs="+", help="filled templates, or folders of them")
    r.add_argument("--out", metavar="DIR", required=True, help="folder for the reports")
    r.add_argument("--format", choices=("xlsx", "md"), default="xlsx", help="xlsx reports or Markdown logs")
    r.add_argument("--force", action="store_true",
                   help="replace reports and portfolio.xlsx an earlier batch wrote (never a workbook of yours)")
    r.add_argument("--jobs", metavar="N", type=int, default=1, help="worker processes (default 1)")
    r.add_argument("--profile", metavar="PROFILE.yaml", help="calibration profile from `xlsizer calibrate`")
    r.set_defaults(func=_cmd_report)

    t = sub.add_parser("template", help="write the template workbook")
    t.add_argument("path", nargs="?", default="workbooks/xlsizer-template.xlsx", help="where to write it")
    t.add_argument("--force", action="store_true", help="replace the file if it exists")
    t.set_defaults(func=_cmd_template)

    n = sub.add_parser("new-project", help="write a filled copy of the template for a new project")
    n.add_argument("name", help="project name (also the file name: NAME.xlsx; a trailing .xlsx is not doubled)")
    n.add_argument("--set", metavar="FIELD=VALUE", nargs="+", action="extend", help="fill an input")
    n.add_argument("--out", metavar="DIR", default=".", help="folder for NAME.xlsx (default: here)")
    n.add_argument("--force", action="store_true", help="overwrite NAME.xlsx if it exists")
    n.set_defaults(func=_cmd_new_project)

    e = sub.add_parser("examples", help="regenerate the filled example workbooks")
    e.add_argument("--out", metavar="DIR", default=None, help="folder (default: workbooks/examples)")
    e.add_argument("--force", action="store_true", help="replace example files that exist")
    e.set_defaults(func=_cmd_examples)

    from xlsizer import excel_setup, lite  # issue 13: each command lives in its own module
    from xlsizer.workbook import freeze

    for command in (freeze, excel_setup, lite):
        command.register(sub)

    from xlsizer.cli_calibrate import register as register_calibrate
    from xlsizer.cli_catalog import register as register_catalog

    register_catalog(sub)
    register_calibrate(sub, parse_assignments)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # bare `xlsizer`: the usage and the commands, not a bare error
        sys.stderr.write(parser.format_help())
        return 2
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except XlsizerError as exc:
        print(f"xlsizer: error: {one_line(exc.short())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C: 130; a signal a batch turned into this: 128 + its number
        print("xlsizer: interrupted", file=sys.stderr)
        signum = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 2
        return 128 + signum
    except BrokenPipeError:  # `xlsizer size | head`: the reader left; not an error of the input
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file or folder the command was given: name it and the reason
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"xlsizer: error: {one_line(f'{where}{exc.strerror or exc}')}", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError) as exc:
        print(f"xlsizer: error: the input is too large or nested too deeply ({type(exc).__name__})",
              file=sys.stderr)
        return 2
    except Exception as exc:  # a defect in xlsizer, not in the input: say so in one line
        if os.environ.get("XLSIZER_DEBUG"):
            raise
        print(f"xlsizer: internal error ({type(exc).__name__}: {one_line(str(exc))}); rerun with XLSIZER_DEBUG=1 "
              "for the traceback and please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
