"""Loads the packaged catalog once, validates every row, and resolves ids and aliases."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.errors import CatalogError, UnknownIdError
from xlsizer.precision import Precision


def _norm(text: str) -> str:
    """Lower-case, spaces/underscores to dashes: 'Llama 3.3 70B' -> 'llama-3.3-70b'."""
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def read_data_file(name: str) -> Any:
    """Parse one YAML file from ``xlsizer/catalog/data``."""
    text = resources.files("xlsizer.catalog").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Catalog:
    """All GPUs and models, keyed by id, with an alias index for each."""

    gpus: dict[str, GpuSpec]
    models: dict[str, ModelSpec]
    _gpu_alias: dict[str, str]
    _model_alias: dict[str, str]

    def gpu(self, key: str) -> GpuSpec:
        """The GPU for an id or alias (case-insensitive); ``UnknownIdError`` names the closest."""
        return self.gpus[_resolve(key, self._gpu_alias, "GPU")]

    def model(self, key: str) -> ModelSpec:
        """The model for an id or alias (case-insensitive); ``UnknownIdError`` names the closest."""
        return self.models[_resolve(key, self._model_alias, "model")]

    def has_gpu(self, key: str) -> bool:
        return _norm(str(key)) in self._gpu_alias

    def has_model(self, key: str) -> bool:
        return _norm(str(key)) in self._model_alias

    def release_precision(self, key: str) -> Precision | None:
        """The weight precision a quantized-release name implies ('qwen3-32b-fp8' -> fp8), or
        None when ``key`` names the model itself or an ordinary alias."""
        spec = self.model(key)
        k = _norm(str(key))
        for rel in spec.quantized_releases:
            if _norm(rel.alias) == k:
                return rel.precision
        return None


def _resolve(key: str, index: dict[str, str], kind: str) -> str:
    k = _norm(str(key))
    if k in index:
        return index[k]
    close = difflib.get_close_matches(k, list(index), n=6, cutoff=0.5)
    ids: list[str] = []
    for c in close:
        if index[c] not in ids:
            ids.append(index[c])
    raise UnknownIdError(kind, str(key), ids[:3])


def _index(rows: dict[str, Any], kind: str) -> dict[str, str]:
    idx: dict[str, str] = {}
    for rid, row in rows.items():
        releases = tuple(r.alias for r in getattr(row, "quantized_releases", ()))
        for name in (rid, *row.aliases, *releases):
            k = _norm(name)
            if k in idx and idx[k] != rid:
                raise CatalogError(f"{kind} alias {name!r} names both {idx[k]} and {rid}")
            idx[k] = rid
    return idx


def _rows(raw: Any, cls: type, fname: str) -> dict[str, Any]:
    if not isinstance(raw, list):
        raise CatalogError(f"{fname}: expected a list of rows")
    out: dict[str, Any] = {}
    for i, item in enumerate(raw):
        try:
            row = cls.model_validate(item)
        except ValidationError as exc:
            rid = item.get("id", f"row {i}") if isinstance(item, dict) else f"row {i}"
            raise CatalogError(f"{fname}: {rid}: {exc}") from exc
        if row.id in out:
            raise CatalogError(f"{fname}: duplicate id {row.id}")
        out[row.id] = row
    return out


@cache
def load_catalog() -> Catalog:
    """The packaged catalog (parsed and validated on first use, then shared)."""
    gpus = _rows(read_data_file("gpus.yaml"), GpuSpec, "gpus.yaml")
    models = _rows(read_data_file("models.yaml"), ModelSpec, "models.yaml")
    return Catalog(gpus, models, _index(gpus, "GPU"), _index(models, "model"))
