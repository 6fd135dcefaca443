"""Plain-text rendering for the terminal, at most 100 columns wide.

The scenario table is the report Summary's (``xlsizer.summary``): what each scenario sizes
for, the hardware, the cost with currency and period, units in their own column. Long text
wraps inside its column; sentences (headline, warnings, drivers) wrap below the table.
"""

from __future__ import annotations

import textwrap
from typing import Any

from xlsizer.engine.insights import drivers, scenario_story, what_ifs
from xlsizer.results import SCENARIOS, SizingResult
from xlsizer.summary import SCENARIO_TITLES, format_value, performance_rows, readable_source, summary_rows

WIDTH = 100
"""Widest line any text output prints (columns)."""
COLS: tuple[int, ...] = (30, 15, 15, 15, 17)
"""Label, Baseline, Burst, Resilient, Unit: 30 + 3 x 15 + 17 + 4 gaps of 2 = 100."""
GAP = "  "


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _row(cells: list[str], right: tuple[bool, ...]) -> list[str]:
    """One table row; a cell too long for its column wraps onto extra lines."""
    parts = [_wrap(c, w) for c, w in zip(cells, COLS, strict=True)]
    n = max(len(p) for p in parts)
    out = []
    for i in range(n):
        line = [(p[i] if i < len(p) else "") for p in parts]
        out.append(GAP.join(s.rjust(w) if r else s.ljust(w)
                            for s, w, r in zip(line, COLS, right, strict=True)).rstrip())
    return out


def _para(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False) or [first.rstrip()]


def result_table(r: SizingResult, what_if: bool = True) -> str:
    """Three scenarios side by side, then the headline, confidence, warnings, drivers, what-ifs."""
    right = (False, True, True, True, False)
    lines = _row(["", *(SCENARIO_TITLES[k] for k in SCENARIOS), "Unit"], right)
    lines.append(GAP.join("-" * w for w in COLS))
    section = None
    for row in summary_rows(r, gpu_names=False) + performance_rows(r):
        if row.section != section:
            section = row.section
            lines.append(f"[{section}]")
        lines += _row([row.label, *(format_value(v, row.fmt) for v in row.values), row.unit], right)
    lines += _para(scenario_story(r))
    lines.append("")
    lines += _para(r.headline)
    conf = r.confidence
    lines += _para(f"Confidence of the throughput per replica (not TTFT): {conf['low']:+.0%} / {conf['high']:+.0%} "
                   f"({readable_source(conf['source'])})")
    if r.warnings:
        lines += ["", "Warnings:"]
        for w in r.warnings:
            lines += _para(w, "  - ", "    ")
    lines += ["", "Drivers (Burst):"]
    for d in drivers(r):
        lines += _para(d, "  - ", "    ")
    if what_if:
        lines += ["", "What would change the answer (Burst, re-sized):"]
        for w in what_ifs(r.inputs):
            lines += _para(f"{w.change}: {w.versus(r.burst)}", "  - ", "    ")
    return "\n".join(lines)


_ALLOWED_TEXT: dict[str, str] = {
    "pricing_model": "one of cloud, on-prem",
    "currency": "a label of 1 to 12 characters shown with the money (no conversion), e.g. USD, EUR",
    "lora_traffic_split": "'equal' or one share per variant, separated by commas (e.g. 50,30,20)",
}
"""Allowed values in words for the text inputs whose declaration says only 'valid'."""


def input_list() -> list[dict[str, Any]]:
    """Every input: name, step, unit, what is allowed, default and description (``xlsizer inputs``)."""
    from xlsizer.catalog.loader import load_catalog
    from xlsizer.inputs import SizingInputs, _allowed

    cat = load_catalog()
    out = []
    for name, info in SizingInputs.model_fields.items():
        meta = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        allowed = _allowed(name)
        if name == "model":
            allowed = "a catalog model id or 'custom': " + ", ".join(sorted(cat.models))
        elif name == "gpu":
            allowed = "'auto' or a catalog GPU id: " + ", ".join(sorted(cat.gpus))
        elif name == "spec_draft_model":
            allowed = "empty (a draft head) or a catalog model id: " + ", ".join(sorted(cat.models))
        elif allowed == "valid":
            allowed = _ALLOWED_TEXT.get(name, allowed)
        default = info.default
        out.append({"name": name, "step": str(meta.get("step", "")), "unit": str(meta.get("unit", "")),
                    "allowed": allowed, "default": getattr(default, "value", default),
                    "description": info.description or ""})
    return out


def inputs_table(items: list[dict[str, Any]]) -> str:
    """The inputs as text: one block per input, at most 100 columns wide."""
    lines: list[str] = []
    step = None
    for it in items:
        if it["step"] != step:
            step = it["step"]
            lines += ["", f"== {step} ==" if step else "== Other =="]
        d = it["default"]
        default = "empty" if d is None or d == "" else ("TRUE" if d is True else "FALSE" if d is False else str(d))
        head = f"{it['name']}" + (f" [{it['unit']}]" if it["unit"] else "") + f"  default: {default}"
        lines += _para(head)
        lines += _para(f"allowed: {it['allowed']}", "    ", "    ")
        if it["description"]:
            lines += _para(it["description"], "    ", "    ")
    lines.append("")
    lines += _para("Set any of them with: xlsizer size --set name=value ... Numbers may use thousands separators "
                   "in whole groups of three (1,000 or 1 000); decimals take a point (1.5).")
    return "\n".join(lines).lstrip("\n")
