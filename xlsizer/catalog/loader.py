"""Loads the catalog once (packaged rows, imported rows, then the user's own models),
validates every row, and resolves ids and aliases."""

from __future__ import annotations

import difflib
import logging
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.catalog.userdir import ENV_VAR, read_user_models, user_catalog_stamp
from xlsizer.errors import CatalogError, UnknownIdError, quote
from xlsizer.precision import Precision

log = logging.getLogger("xlsizer.catalog")


def _norm(text: str) -> str:
    """Lower-case, spaces/underscores to dashes: 'Llama 3.3 70B' -> 'llama-3.3-70b'."""
    return re.sub(r"[\s_]+", "-", text.strip().lower())


_DECORATION = re.compile(r"\((?:r|tm)\)|[®™]", re.IGNORECASE)
_VENDOR_WORDS = ("nvidia-", "amd-instinct-", "amd-", "instinct-", "intel-", "ms-intel-", "google-cloud-", "google-")
_SIZE = re.compile(r"-(\d+(?:\.\d+)?)-?gb?(?:-hbm\w*|-gddr\w*)?$")


def gpu_name_candidates(key: str) -> list[tuple[str, float | None]]:
    """Normalised spellings to look a GPU name up by, most literal first, each with the
    memory size (GB) it states when that size was cut off (None otherwise).

    Benchmark results write GPUs as vendors sell them: "NVIDIA H200-SXM-141GB", "Intel(R) Arc
    Pro(R) B60", "AMD Instinct MI355X 288GB HBM3e (Power Cap 1000 W)", "Virtualized NVIDIA
    H100-SXM-80GB", "[MAXSUN] MS-Intel Arc Pro B60 Dual 48G Turbo". Tried in turn: the name
    as given; without trademark marks, a "Virtualized" prefix, a leading [board maker] and
    trailing (notes); without the vendor word; then without a trailing memory size, which must
    then match the catalog row's memory within 2% (so "A100 40GB PCIe" never resolves to the
    80 GB card)."""
    text = _DECORATION.sub("", key)
    text = re.sub(r"^\s*\[[^\]]*\]\s*", "", text)
    text = re.sub(r"^\s*virtuali[sz]ed\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"(\s*\([^)]*\))+\s*$", "", text)
    out: list[tuple[str, float | None]] = [(_norm(key), None), (_norm(text), None)]
    base = _norm(text)
    for word in _VENDOR_WORDS:
        if base.startswith(word):
            base = base[len(word):]
            out.append((base, None))
    m = _SIZE.search(base)
    if m:
        out.append((base[: m.start()], float(m.group(1))))
    return out


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
    user_models: tuple[str, ...] = ()
    """Ids of the models read from the user's catalog folder (``xlsizer catalog add-model``)."""
    user_errors: tuple[str, ...] = ()
    """'file: reason' for each user catalog file that could not be loaded (it was skipped)."""

    def gpu(self, key: str) -> GpuSpec:
        """The GPU for an id, alias or vendor/benchmark name (``gpu_name_candidates``);
        ``UnknownIdError`` names the closest."""
        found = self._gpu_by_name(str(key))
        return self.gpus[found] if found else self.gpus[_resolve(key, self._gpu_alias, "GPU")]

    def _gpu_by_name(self, key: str) -> str | None:
        """The id a vendor or benchmark spelling names, or None (see ``gpu_name_candidates``)."""
        for cand, size_gb in gpu_name_candidates(key):
            gid = self._gpu_alias.get(cand)
            if gid and (size_gb is None or abs(self.gpus[gid].memory_gb - size_gb) <= 0.02 * size_gb):
                return gid
        return None

    def model(self, key: str) -> ModelSpec:
        """The model for an id or alias (case-insensitive); ``UnknownIdError`` names the closest."""
        return self.models[_resolve(key, self._model_alias, "model")]

    def has_gpu(self, key: str) -> bool:
        return self._gpu_by_name(str(key)) is not None

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


PACKAGED_MODEL_FILES: tuple[str, ...] = ("models.yaml", "models_imported.yaml")
"""Hand-curated rows (models with no config.json here), then the rows scripts/import_models.py
generates from the packaged config.json files."""


def load_catalog() -> Catalog:
    """The catalog (parsed and validated on first use, then shared): packaged GPUs and models
    plus the models in the user's catalog folder (``user_catalog_dir()``). A user file that
    does not load is skipped and listed in ``user_errors``; packaged data must load.

    The user folder is checked on every call by its path and modification time (one stat),
    so a model added from another process (the CLI while Excel is open) appears without a
    restart; otherwise the parsed catalog is reused.
    """
    env = os.environ.get(ENV_VAR)
    now = time.monotonic()
    last = _LAST
    if last.catalog is not None and last.env == env and now - last.checked < USER_DIR_CHECK_S:
        return last.catalog
    last.catalog, last.env, last.checked = _load_catalog(user_catalog_stamp()), env, now
    return last.catalog


USER_DIR_CHECK_S: float = 1.0
"""Seconds between looks at the user catalog folder: a model added from another process
(the CLI while Excel is open) appears within a second, and a busy sheet's thousands of
catalog look-ups cost a dictionary read, not a file-system call, each."""


class _Last:
    catalog: Catalog | None = None
    env: str | None = None
    checked: float = 0.0


_LAST = _Last()


@lru_cache(maxsize=1)
def _packaged() -> tuple[dict[str, GpuSpec], dict[str, ModelSpec], dict[str, str]]:
    """The packaged GPUs and models and the models' alias index (parsed once per process:
    a change in the user's folder re-reads only that folder)."""
    gpus = _rows(read_data_file("gpus.yaml"), GpuSpec, "gpus.yaml")
    models: dict[str, ModelSpec] = {}
    for fname in PACKAGED_MODEL_FILES:
        for mid, row in _rows(read_data_file(fname), ModelSpec, fname).items():
            if mid in models:
                raise CatalogError(f"{fname}: duplicate id {mid}")
            models[mid] = row
    return gpus, models, _index(models, "model")


@lru_cache(maxsize=1)
def _load_catalog(stamp: tuple[str, int]) -> Catalog:
    gpus, packaged, packaged_index = _packaged()
    models, index = dict(packaged), dict(packaged_index)
    user_rows, errors = read_user_models()
    added: list[str] = []
    for fname, row in user_rows:
        clash = [n for n in (row.id, *row.aliases, *(r.alias for r in row.quantized_releases))
                 if _norm(n) in index]
        if clash:
            errors.append(f"{fname}: id or alias {quote(clash[0])} is already in the catalog")
            continue
        models[row.id] = row
        index.update(_index({row.id: row}, "model"))
        added.append(row.id)
    for err in errors:  # once per load of the folder (this function is cached), not once per call
        log.warning("xlsizer: warning: user catalog: %s (file skipped)", err)
    return Catalog(gpus, models, _index(gpus, "GPU"), index, tuple(added), tuple(errors))


def reload_catalog() -> Catalog:
    """Forget the loaded catalog and read it again (after the user's folder changed)."""
    _load_catalog.cache_clear()
    _LAST.catalog = None
    return load_catalog()
