"""xlsizer: LLM-inference capacity planning, from Python and from Excel.

    >>> import xlsizer
    >>> r = xlsizer.size(concurrent_users=200, target_tpot_ms=40)   # doctest: +SKIP
    >>> r.burst.total_gpus, r.headline                              # doctest: +SKIP
"""

from xlsizer.api import drivers, size, waterfall, what_if
from xlsizer.catalog import GpuSpec, ModelSpec, load_catalog
from xlsizer.catalog.hf_config import ConfigError
from xlsizer.catalog.user import add_model, remove_user_model
from xlsizer.cli_catalog import list_models, show_model
from xlsizer.errors import (
    InfeasibleError,
    InputError,
    UnknownIdError,
    UnsupportedPrecisionError,
    XlsizerError,
)
from xlsizer.inputs import SizingInputs, make_inputs
from xlsizer.precision import Precision
from xlsizer.results import Scenario, SizingResult, Step

__all__ = [
    "ConfigError",
    "GpuSpec",
    "InfeasibleError",
    "InputError",
    "ModelSpec",
    "Precision",
    "Scenario",
    "SizingInputs",
    "SizingResult",
    "Step",
    "UnknownIdError",
    "UnsupportedPrecisionError",
    "XlsizerError",
    "add_model",
    "drivers",
    "list_models",
    "load_catalog",
    "make_inputs",
    "read_project",
    "remove_user_model",
    "show_model",
    "size",
    "waterfall",
    "what_if",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``xlsizer.read_project`` without importing openpyxl for users of the core alone."""
    if name == "read_project":
        from xlsizer.workbook.project import read_project

        return read_project
    raise AttributeError(f"module 'xlsizer' has no attribute {name!r}")
