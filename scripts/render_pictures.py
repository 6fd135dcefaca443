"""Render the pictures in docs/img/: the template, a report and the portfolio, as a planner
sees them on paper (LibreOffice headless to PDF, pdftoppm to PNG).

    python3 scripts/render_pictures.py            # regenerate docs/img/*.png and manifest.json
    python3 scripts/render_pictures.py --check    # exit 1 if the pictures are out of date

The workbooks are generated fresh: the template with ``write_template``, the report and the
portfolio with ``xlsizer report workbooks/examples --out DIR``. ``docs/img/manifest.json``
records, for each picture, the SHA-256 of the content of the workbook it was made from (every
cell's formula and stored value, number format, font, fill, alignment, merges, column widths,
row heights, page set-up: what a render shows, not zip timestamps). tests/test_pictures.py
recomputes those hashes from the current code, so a change to what a workbook shows fails the
test until this script is rerun and its pictures looked at.

Needs ``soffice`` (LibreOffice) and ``pdftoppm`` (poppler-utils) on PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IMG_DIR = ROOT / "docs" / "img"
MANIFEST = IMG_DIR / "manifest.json"
EXAMPLES = ROOT / "workbooks" / "examples"
REPORT_PROJECT = "course-worked-example"
DPI = 100
"""Pixels per inch of the PNGs: a landscape page is about 1,100 px wide, readable on a screen
and small in the repository."""


@dataclass(frozen=True)
class Picture:
    """One PNG: which workbook, and the page whose text contains ``marker``."""

    png: str
    workbook: str          # key in the dict of generated workbooks
    marker: str            # a text that appears on the wanted page (first page that has it)
    caption: str


PICTURES: tuple[Picture, ...] = (
    Picture("template-inputs.png", "template", "Kind of application", "The template's Inputs form, steps 1 and 2"),
    Picture("template-review.png", "template", "Each server (Burst scenario)",
            "Step 7 Review: the answer for the inputs above"),
    Picture("report-summary.png", "report", "", f"The report for {REPORT_PROJECT}: first page"),
    Picture("portfolio.png", "portfolio", "", "The portfolio across the example projects: first page"),
)


# --- the workbooks ---------------------------------------------------------------------------
def generate(out: Path) -> dict[str, Path]:
    """Write the template, the reports and the portfolio into ``out``; returns them by name."""
    from xlsizer.cli import main
    from xlsizer.workbook.template import write_template

    template = write_template(out / "xlsizer-template.xlsx")
    reports = out / "reports"
    code = main(["report", str(EXAMPLES), "--out", str(reports)])
    if code != 0:
        raise SystemExit(f"xlsizer report failed with exit code {code}")
    return {"template": template, "report": reports / f"{REPORT_PROJECT}-report.xlsx",
            "portfolio": reports / "portfolio.xlsx"}


def _colour(c: Any) -> Any:
    return getattr(c, "rgb", None) if c is not None else None


def content(path: Path, replace: dict[str, str] | None = None) -> dict[str, Any]:
    """What a render of the workbook shows, as plain data (deterministic; no zip times)."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.formula import ArrayFormula

    replace = replace or {}

    def norm(v: Any) -> Any:
        if isinstance(v, ArrayFormula):
            v = f"{{{v.ref}}}{v.text}"
        if isinstance(v, str):
            for old, new in replace.items():
                v = v.replace(old, new)
            return v
        if v is None or isinstance(v, bool | int | float):
            return v
        return str(v)

    wb = load_workbook(path)
    values = load_workbook(path, data_only=True)
    out: dict[str, Any] = {"sheets": wb.sheetnames}
    for ws in wb.worksheets:
        vs = values[ws.title]
        cells = []
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and not c.has_style:
                    continue
                a = c.alignment
                cells.append([c.coordinate, norm(c.value), norm(vs[c.coordinate].value), c.number_format,
                              bool(c.font.b), bool(c.font.i), c.font.sz, _colour(c.font.color),
                              _colour(c.fill.fgColor) if c.fill.fill_type else None,
                              a.horizontal, a.vertical, bool(a.wrap_text), a.indent])
        ps = ws.page_setup
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "widths": {k: d.width for k, d in sorted(ws.column_dimensions.items())},
            "heights": {str(k): d.height for k, d in sorted(ws.row_dimensions.items()) if d.height},
            "page": [ps.orientation, ps.fitToWidth, ps.fitToHeight, ps.paperSize,
                     [b.id for b in ws.row_breaks.brk], ws.print_title_rows],
            "charts": len(getattr(ws, "_charts", [])),
        }
    return out


def digest(path: Path, replace: dict[str, str] | None = None) -> str:
    """SHA-256 of ``content(path)`` as canonical JSON."""
    text = json.dumps(content(path, replace), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def digests(books: dict[str, Path], out: Path) -> dict[str, str]:
    """The hash of each generated workbook, with the temporary folder's path taken out."""
    replace = {str(out): "<out>", str(ROOT): "<repo>"}
    return {name: digest(path, replace) for name, path in books.items()}


def manifest(hashes: dict[str, str]) -> dict[str, Any]:
    return {"about": "SHA-256 of the workbook content each picture was rendered from; regenerate with "
                     "python3 scripts/render_pictures.py (tests/test_pictures.py checks it).",
            "pictures": {p.png: {"workbook": p.workbook, "sha256": hashes[p.workbook], "caption": p.caption}
                         for p in PICTURES}}


# --- rendering -------------------------------------------------------------------------------
def _pdf(xlsx: Path, out: Path) -> Path:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise SystemExit("LibreOffice (soffice) is not installed")
    profile = (out / "lo-profile").resolve()
    subprocess.run([exe, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(out), str(xlsx)],
                   check=True, capture_output=True, timeout=300)
    pdf = out / f"{xlsx.stem}.pdf"
    if not pdf.exists():
        raise SystemExit(f"LibreOffice wrote no PDF for {xlsx.name}")
    return pdf


def _page_with(pdf: Path, marker: str) -> int:
    """The first page whose text contains ``marker`` (1 when the marker is empty)."""
    if not marker:
        return 1
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")
    squash = " ".join(marker.split())
    for i, text in enumerate(pages, start=1):
        if marker in text or squash in " ".join(text.split()):
            return i
    raise SystemExit(f"{pdf.name}: no page shows {marker!r}")


def render(books: dict[str, Path], out: Path, img_dir: Path) -> list[Path]:
    """One PNG per picture into ``img_dir``."""
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm (poppler-utils) is not installed")
    pdfs = {name: _pdf(path, out) for name, path in books.items()}
    img_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p in PICTURES:
        page = _page_with(pdfs[p.workbook], p.marker)
        target = img_dir / p.png
        subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdfs[p.workbook]), str(target.with_suffix(""))], check=True, timeout=120)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare the manifest with the current code")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xlsizer-pictures-") as tmp:
        out = Path(tmp)
        books = generate(out)
        hashes = digests(books, out)
        want = manifest(hashes)
        if args.check:
            have = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
            stale = [p for p, v in want["pictures"].items() if have.get("pictures", {}).get(p) != v]
            for p in stale:
                print(f"out of date: docs/img/{p}")
            return 1 if stale else 0
        for png in render(books, out, IMG_DIR):
            print(png.relative_to(ROOT))
        MANIFEST.write_text(json.dumps(want, indent=2, sort_keys=True) + "\n")
        print(MANIFEST.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
