"""The public library API: what scripts, the Excel cells and the reports call."""

from __future__ import annotations

from typing import Any

from xlsizer.engine.insights import WhatIf, drivers, what_ifs
from xlsizer.engine.pipeline import size as _size
from xlsizer.engine.waterfall import WaterfallStep
from xlsizer.engine.waterfall import waterfall as _waterfall
from xlsizer.inputs import SizingInputs, make_inputs
from xlsizer.results import SizingResult


def size(inputs: SizingInputs | dict[str, Any] | None = None, **overrides: Any) -> SizingResult:
    """Size a deployment. Accepts ``SizingInputs``, a dict of fields, or keyword fields.

    >>> size(concurrent_users=200).burst.total_gpus  # doctest: +SKIP
    """
    if isinstance(inputs, SizingInputs) and not overrides:
        return _size(inputs)
    if isinstance(inputs, SizingInputs):
        inputs = inputs.model_dump(exclude_unset=True)
    return _size(make_inputs(inputs or {}, **overrides))


def waterfall(inputs: SizingInputs | dict[str, Any] | None = None, scenario: str = "burst",
              **overrides: Any) -> list[WaterfallStep]:
    """Replicas, GPUs, throughput and memory as each optimization is switched on in turn."""
    if not isinstance(inputs, SizingInputs) or overrides:
        base = inputs.model_dump(exclude_unset=True) if isinstance(inputs, SizingInputs) else (inputs or {})
        inputs = make_inputs(base, **overrides)
    return _waterfall(inputs, scenario)


def what_if(inputs: SizingInputs | dict[str, Any] | None = None, **overrides: Any) -> list[WhatIf]:
    """The course's "what would change the answer" lines, each a real re-sizing (Burst)."""
    if not isinstance(inputs, SizingInputs) or overrides:
        base = inputs.model_dump(exclude_unset=True) if isinstance(inputs, SizingInputs) else (inputs or {})
        inputs = make_inputs(base, **overrides)
    return what_ifs(inputs)


__all__ = ["WhatIf", "drivers", "size", "waterfall", "what_if"]
