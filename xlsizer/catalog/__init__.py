"""The catalog: GPUs and models as validated, sourced data."""

from xlsizer.catalog.loader import Catalog, load_catalog, read_data_file
from xlsizer.catalog.schema import GpuSpec, MlaSpec, ModelSpec, MoeSpec, PriceRange, SlidingWindowSpec

__all__ = [
    "Catalog",
    "GpuSpec",
    "MlaSpec",
    "ModelSpec",
    "MoeSpec",
    "PriceRange",
    "SlidingWindowSpec",
    "load_catalog",
    "read_data_file",
]
