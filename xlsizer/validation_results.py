"""What a validation produces: one result per measured row and the report over a file, with
the statistics both the serving-run predictions (validation.py) and the MLPerf ones
(mlperf.py) summarise them by. A module of its own so that neither imports the other."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xlsizer.catalog.loader import load_catalog
from xlsizer.errors import UnknownIdError, XlsizerError


@dataclass(frozen=True, slots=True)
class RowResult:
    """One row of a measurement file: a prediction or the reason there is none."""

    id: str
    metric: str
    measured: float | None = None
    predicted: float | None = None
    skipped: str | None = None
    note: str = ""
    model: str = ""
    family: str = ""
    """"dense" or "moe" (empty when the model is unknown)."""
    engine: str = ""
    gpu: str = ""
    mode: str = ""
    """"agg" or "disagg"."""
    scenario: str = ""
    """MLPerf scenario (Server, Interactive, Offline); empty for other files."""
    precision: str = ""
    round: str = ""
    """MLPerf round (v5.0, ...)."""

    @property
    def error(self) -> float | None:
        """Signed error of the prediction, predicted / measured − 1."""
        if self.predicted is None or not self.measured:
            return None
        return self.predicted / self.measured - 1.0

    @property
    def ape(self) -> float | None:
        """Absolute percentage error, as a fraction."""
        e = self.error
        return None if e is None else abs(e)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """All rows of one file and the summary over the predicted ones."""

    source: str
    rows: tuple[RowResult, ...]
    cross_validated: bool = False
    """True when each row of a model the packaged fit has seen was predicted by the fit made
    without that model (leave-one-model-out)."""
    dimensions: tuple[str, ...] | None = None
    """The groups' dimensions (None: ``GROUP_DIMENSIONS``; mlperf.csv has its own)."""

    @property
    def predicted_rows(self) -> tuple[RowResult, ...]:
        return tuple(r for r in self.rows if r.ape is not None)

    @property
    def coverage(self) -> float:
        """Share of rows predicted."""
        return len(self.predicted_rows) / len(self.rows) if self.rows else 0.0

    def apes(self, metrics: Iterable[str] | None = None) -> list[float]:
        keep = set(metrics) if metrics is not None else None
        return [
            r.ape for r in self.predicted_rows
            if r.ape is not None and (keep is None or r.metric in keep)
        ]

    @property
    def median_ape(self) -> float | None:
        return percentile(self.apes(), 0.5)

    @property
    def p90_ape(self) -> float | None:
        return percentile(self.apes(), 0.9)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile (0..1) with linear interpolation between order statistics."""
    xs = sorted(values)
    if not xs:
        return None
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def with_catalog_model(row: Mapping[str, str]) -> Mapping[str, str]:
    """The row with its ``model`` as the catalog id where it names a catalog model by an alias
    (MLPerf's "llama3.1-8b", a Hugging Face repo id), else the row itself. Every lookup by model
    reads the id: the fit made without that model (leave-one-model-out), the dataset's length
    spread, the groups. An alias once took the fit that had seen the model, and no spread."""
    model = row.get("model", "")
    try:
        mid = load_catalog().model(model).id if model else model
    except (UnknownIdError, XlsizerError, ValueError):
        return row
    return row if mid == model else {**row, "model": mid}


def family_of(model: str) -> str:
    """"moe" or "dense" for a catalog model id or alias; "" when unknown."""
    try:
        return "moe" if load_catalog().model(model).is_moe else "dense"
    except (UnknownIdError, XlsizerError, ValueError):
        return ""
