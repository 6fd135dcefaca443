"""scripts/auto_choice_check.py on a small sample: the automatic choice never bills more than a
GPU of its own list fixed (cloud, roofline). The check fails on real search bugs: with the
automatic table's 8-GPU shapes left out, 147 of 634 plans here billed more; with replicas a rack
cannot hold offered among the others (before 2026-12-08), kimi-k3 BF16 was refused where H200
fit (4 of 7,958 plans at seed 5)."""

from __future__ import annotations

import re

from scriptrun import printout


def test_the_automatic_choice_never_bills_more_than_a_gpu_it_could_have_chosen() -> None:
    out = printout("scripts/auto_choice_check.py", ["--n", "150", "--seed", "6"])
    m = re.search(r"([\d,]+) plans with a GPU of their list fixed: (\d+) where", out)
    assert m, out
    assert int(m.group(1).replace(",", "")) >= 300, out  # enough fixed plans to compare with
    assert m.group(2) == "0", out
