"""What storing formula results costs (issue 13): milliseconds per save, openpyxl's plain
``wb.save`` against ``save_with_values``, for a report (few formulas), the portfolio and the
template (about 150 formula cells and 450 array cells, all with stored values).

    python benchmarks/bench_stored.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xlsizer.api import size
from xlsizer.workbook.examples import EXAMPLES_DIR
from xlsizer.workbook.portfolio import portfolio_row
from xlsizer.workbook.project import read_project
from xlsizer.workbook.report import build_report, report_data
from xlsizer.workbook.stored import save_with_values, stored_values
from xlsizer.workbook.template import build_workbook


def _ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    project = read_project(EXAMPLES_DIR / "course-worked-example.xlsx")
    result = size(project.inputs)
    report = build_report(project, result, report_data(project.inputs))
    template = build_workbook()

    from xlsizer.workbook.portfolio import write_portfolio

    rows = [portfolio_row(project, result, "r.xlsx")] * 50
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        print(f"median of {args.repeat} saves, ms (stored values / plain openpyxl save)")
        for label, wb in (("report", report), ("template", template)):
            n = len(stored_values(wb))
            stored = _ms(lambda wb=wb: save_with_values(wb, out / "a.xlsx"), args.repeat)
            plain = _ms(lambda wb=wb: wb.save(out / "b.xlsx"), args.repeat)
            print(f"  {label:9s} {n:4d} recorded formulas/ranges: {stored:7.1f} / {plain:7.1f}")
        t = _ms(lambda: write_portfolio(rows, out / "portfolio.xlsx"), args.repeat)
        print(f"  portfolio of 50 rows (SUM totals stored), whole write: {t:.1f}")
        t = _ms(lambda: build_workbook(), max(3, args.repeat // 4))
        print(f"  template build incl. computing every value through the UDFs: {t:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
