"""The user's own catalog: models added from a config.json resolve everywhere.

Each model is one YAML file ``models/<id>.yaml`` in the user's catalog folder (``userdir``
says where and reads it) holding one ``ModelSpec`` row, written atomically; an existing model
is never overwritten unless the caller asks (``replace=True``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from xlsizer.catalog.hf_config import ConfigError, ImportedModel, import_config, import_config_file
from xlsizer.catalog.loader import load_catalog, reload_catalog
from xlsizer.catalog.schema import ID_PATTERN, ModelSpec
from xlsizer.catalog.userdir import (  # re-exported: callers have always found them here
    ENV_VAR,
    models_dir,
    read_user_models,
    user_catalog_dir,
    user_catalog_stamp,
)
from xlsizer.errors import quote
from xlsizer.outpaths import write_text_atomic

__all__ = ["ENV_VAR", "add_model", "read_user_models", "remove_user_model", "save_user_model", "spec_row",
           "user_catalog_dir", "user_catalog_stamp"]


def spec_row(spec: ModelSpec) -> dict[str, Any]:
    """The YAML/JSON row of a spec (defaults left out)."""
    return spec.model_dump(mode="json", exclude_defaults=True)


def save_user_model(spec: ModelSpec, *, replace: bool = False) -> Path:
    """Write ``spec`` into the user's catalog folder and reload the catalog.

    Refuses (``ConfigError``) an id or alias that the packaged catalog already has, and an
    existing user model unless ``replace``. The file appears complete or not at all.
    """
    cat = load_catalog()
    path = models_dir() / f"{spec.id}.yaml"
    mine = set(cat.user_models)
    for name in (spec.id, *spec.aliases, *(r.alias for r in spec.quantized_releases)):
        if cat.has_model(name):
            owner = cat.model(name).id
            if owner in mine and owner == spec.id:
                if not replace:
                    raise ConfigError(f"model {spec.id!r} is already in your catalog ({path}); "
                                      "use --replace to overwrite it")
                continue
            raise ConfigError(f"{name!r} already names catalog model {owner!r}; choose another id with --id")
    text = f"# Added by xlsizer catalog add-model\n{yaml.safe_dump(spec_row(spec), sort_keys=False, width=110)}"
    write_text_atomic(text, path)
    reload_catalog()
    return path


def add_model(config: str | Path | dict[str, Any], *, model_id: str | None = None, name: str | None = None,
              replace: bool = False) -> ImportedModel:
    """Import a config.json (a path or a parsed mapping) into the user's catalog.

    After it returns, the id resolves everywhere (CLI, Python, Excel functions, workbooks).
    Raises ``ConfigError`` (one line naming the key) for a config the importer refuses.
    """
    if isinstance(config, dict):
        if model_id is None and not name:
            raise ConfigError("a config given as a mapping needs model_id or name")
        imp = import_config(config, name or model_id or "", model_id=model_id)
    else:
        imp = import_config_file(config, model_id=model_id, name=name)
    save_user_model(imp.spec, replace=replace)
    return imp


MODEL_ID = re.compile(ID_PATTERN)
"""A catalog id as the schema defines it (no separator, never '.' or '..' alone): the only
names ``remove_user_model`` turns into a path."""


def remove_user_model(model_id: str) -> Path:
    """Delete a model from the user's catalog folder (packaged models cannot be removed)."""
    folder = models_dir()
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise ConfigError(f"{quote(model_id)} is not a model id (lower-case letters, digits, '.' and '-'; "
                          "no folders): see `xlsizer catalog list --user`")
    path = folder / f"{model_id}.yaml"
    if not (path.is_file() or path.is_symlink()):
        raise ConfigError(f"{quote(model_id)} is not in your catalog ({folder})")
    if os.path.realpath(path.parent) != os.path.realpath(folder):  # belt and braces: the id has no separator
        raise ConfigError(f"{quote(model_id)} is not in your catalog ({folder})")
    path.unlink()
    reload_catalog()
    return path
