"""``--format md``: the decision log as Markdown, in the spirit of the course Sizer's export:
inputs with owner, value and reason; the results of the three scenarios; warnings; the
checklist; the confidence band and the assumptions' sources."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xlsizer.engine.insights import scenario_story
from xlsizer.outpaths import MARKDOWN_FIRST_LINE, save_atomic
from xlsizer.results import SCENARIOS, SizingResult
from xlsizer.summary import SCENARIO_TITLES, confidence_range, format_value, performance_rows, summary_rows
from xlsizer.workbook.report import (
    COST_ROWS,
    SUMMARY_SECTIONS,
    all_warnings,
    checklist_items,
    cost_of,
    input_rows,
    is_open,
    item_field,
    readable_source,
)
from xlsizer.workbook.safe import md_text


def _md(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, int):
        return f"{v:,}"
    return md_text(v)  # input text (names, notes, checklist, currency) can never become a link or HTML


def _table(head: list[str], rows: list[list[Any]], right: tuple[int, ...] = ()) -> list[str]:
    """A Markdown table; columns in ``right`` (numbers) are right-aligned, header included."""
    rule = "|".join("--:" if i in right else "---" for i in range(len(head)))
    out = ["| " + " | ".join(head) + " |", "|" + rule + "|"]
    out += ["| " + " | ".join(v if isinstance(v, str) and i in right else _md(v) for i, v in enumerate(r)) + " |"
            for r in rows]
    return out


def decision_log_markdown(project: Any, result: SizingResult) -> str:
    """The Markdown text of one project's decision log."""
    name = getattr(project, "name", None) or "project"
    conf = result.confidence
    lines = [f"{MARKDOWN_FIRST_LINE}{md_text(name)}", ""]  # the mark a later batch recognises
    if getattr(project, "path", None):
        lines += [f"Project file: {md_text(project.path)}", ""]
    lines += [f"**{md_text(result.headline)}**", ""]
    lo, hi = conf.get("low"), conf.get("high")
    rng = confidence_range(result)
    if rng is not None and isinstance(lo, int | float) and isinstance(hi, int | float):
        cur = (cost_of(result.burst) or {}).get("currency", "")
        money = (f"; monthly cost {rng[1][0]:,.0f} to {rng[1][1]:,.0f} {md_text(cur)}/month"
                 if rng[1] is not None else "")
        lines += [f"Confidence range (Burst): {rng[0][0]:,} to {rng[0][1]:,} GPUs{money} "
                  f"(model error {lo:+.0%} / {hi:+.0%}: {md_text(readable_source(conf.get('source', '')))})", ""]

    lines += ["## Summary", ""]
    srows = summary_rows(result) + performance_rows(result)
    lines += _table(["", *(SCENARIO_TITLES[k] for k in SCENARIOS), "Unit"],
                    [[r.label, *(format_value(v, r.fmt) for v in r.values), r.unit] for r in srows], right=(1, 2, 3))
    lines += ["", scenario_story(result)]

    lines += ["", "## Inputs", ""]
    lines += _table(["Step", "Input", "Owner", "Value", "Unit", "Reason"],
                    [list(r) for r in input_rows(result.inputs, project)])

    lines += ["", "## Results", ""]
    rows: list[list[Any]] = []
    for _title, sec in SUMMARY_SECTIONS:
        for label, unit, get in sec:
            rows.append([label, *(get(result.scenarios[k]) for k in SCENARIOS), unit])
    costs = {k: cost_of(result.scenarios[k]) for k in SCENARIOS}
    if any(costs.values()):
        cur = next(c for c in costs.values() if c)["currency"]
        for label, key, unit in COST_ROWS:
            rows.append([label, *((costs[k] or {}).get(key) for k in SCENARIOS), unit.format(cur=cur)])
    lines += _table(["", *(SCENARIO_TITLES[k] for k in SCENARIOS), "Unit"],
                    [[r[0], *(_md(v) for v in r[1:4]), r[4]] for r in rows], right=(1, 2, 3))

    lines += ["", "## Warnings", ""]
    warns = all_warnings(result)
    lines += [f"- ({sc}) {md_text(w)}" for sc, w in warns] or ["- none"]

    items = checklist_items(project)
    lines += ["", "## Checklist", ""]
    if items:
        n_open = sum(1 for it in items if is_open(item_field(it, "status")))
        lines += [f"{len(items) - n_open} of {len(items)} items settled, {n_open} open.", ""]
        lines += _table(["Section", "Item", "Owner", "Status", "Value", "Reason", "Date"],
                        [[item_field(it, c) for c in ("section", "item", "owner", "status", "value", "reason",
                                                      "date")] for it in items])
    else:
        lines.append("No checklist in this project.")

    lines += ["", "## Assumptions and sources", ""]
    lines += _table(["Scenario", "Step", "Value", "Unit", "Formula", "Source"],
                    [[s.scenario, s.name, s.value, s.unit, s.formula, readable_source(s.source)]
                     for s in result.explain()])
    return "\n".join(lines) + "\n"


def write_markdown(project: Any, result: SizingResult, out_path: str | os.PathLike[str]) -> Path:
    """Write the Markdown decision log atomically; returns its path."""
    text = decision_log_markdown(project, result)
    return save_atomic(lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), out_path)
