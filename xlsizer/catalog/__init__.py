"""The catalog: GPUs and models as validated, sourced data."""

from xlsizer.catalog.loader import Catalog, load_catalog, read_data_file, reload_catalog
from xlsizer.catalog.schema import (
    CompressedKvSpec,
    GpuSpec,
    MlaSpec,
    ModelSpec,
    MoeSpec,
    PriceRange,
    QuantizedRelease,
    RecurrentStateSpec,
    SlidingWindowSpec,
    SparseAttentionSpec,
)

__all__ = [
    "Catalog",
    "CompressedKvSpec",
    "GpuSpec",
    "MlaSpec",
    "ModelSpec",
    "MoeSpec",
    "PriceRange",
    "QuantizedRelease",
    "RecurrentStateSpec",
    "SlidingWindowSpec",
    "SparseAttentionSpec",
    "load_catalog",
    "read_data_file",
    "reload_catalog",
]
