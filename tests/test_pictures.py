"""The pictures in docs/img/ are current: the workbooks the current code generates hash to
what docs/img/manifest.json recorded when the pictures were rendered
(scripts/render_pictures.py regenerates both)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "render_pictures.py"


def _script():
    spec = importlib.util.spec_from_file_location("render_pictures", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod      # dataclasses look their module up while the script loads
    spec.loader.exec_module(mod)
    return mod


def test_pictures_are_current(tmp_path):
    rp = _script()
    books = rp.generate(tmp_path)
    want = rp.manifest(rp.digests(books, tmp_path))
    have = json.loads(rp.MANIFEST.read_text())
    stale = [p for p, v in want["pictures"].items() if have["pictures"].get(p) != v]
    assert not stale, f"out of date: {stale}; run python3 scripts/render_pictures.py and look at docs/img/"
    for p in want["pictures"]:
        png = rp.IMG_DIR / p
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, p


def test_content_hash_sees_what_a_render_shows(tmp_path):
    """Equal content hashes equal (whatever the zip times); a changed label, width or stored
    value changes the hash."""
    from openpyxl import load_workbook

    from xlsizer.workbook.template import write_template

    rp = _script()
    a = write_template(tmp_path / "a.xlsx")
    b = write_template(tmp_path / "b.xlsx")
    assert rp.digest(a) == rp.digest(b)
    for change in ("label", "width", "height"):
        wb = load_workbook(a)
        ws = wb["Inputs"]
        if change == "label":
            ws["A7"] = "Kind of app"
        elif change == "width":
            ws.column_dimensions["C"].width = 30
        else:
            ws.row_dimensions[7].height = 80
        wb.save(tmp_path / f"{change}.xlsx")
        assert rp.digest(tmp_path / f"{change}.xlsx") != rp.digest(a), change
