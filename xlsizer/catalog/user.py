"""The user's own catalog folder: models added from a config.json resolve everywhere.

Where: ``XLSIZER_CATALOG_DIR`` when set, else the platform's per-user data folder
(Windows ``%LOCALAPPDATA%\\xlsizer\\catalog``, macOS ``~/Library/Application
Support/xlsizer/catalog``, elsewhere ``$XDG_DATA_HOME/xlsizer/catalog`` or
``~/.local/share/xlsizer/catalog``). Each model is one YAML file ``models/<id>.yaml`` holding
one ``ModelSpec`` row, written atomically; an existing model is never overwritten unless the
caller asks (``replace=True``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from xlsizer.catalog.hf_config import ConfigError, ImportedModel, import_config, import_config_file
from xlsizer.catalog.schema import ModelSpec

ENV_VAR = "XLSIZER_CATALOG_DIR"


def user_catalog_dir() -> Path:
    """The user's catalog folder (it may not exist yet)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "xlsizer" / "catalog"


def _models_dir() -> Path:
    return user_catalog_dir() / "models"


def user_catalog_stamp() -> tuple[str, int]:
    """(folder, modification time in ns; 0 when absent): changes whenever a model file is
    added, replaced or removed, so the loader knows to read the folder again."""
    folder = _models_dir()
    try:
        return str(folder), folder.stat().st_mtime_ns
    except OSError:
        return str(folder), 0


def read_user_models() -> tuple[list[tuple[str, ModelSpec]], list[str]]:
    """(file name, spec) for every loadable user model, and 'file: reason' for the others."""
    folder = _models_dir()
    rows: list[tuple[str, ModelSpec]] = []
    errors: list[str] = []
    if not folder.is_dir():
        return rows, errors
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            rows.append((path.name, ModelSpec.model_validate(data)))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            errors.append(f"{path.name}: unreadable ({str(exc).splitlines()[0]})")
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "row"
            errors.append(f"{path.name}: {loc}: {first['msg']}")
    return rows, errors


def spec_row(spec: ModelSpec) -> dict[str, Any]:
    """The YAML/JSON row of a spec (defaults left out)."""
    return spec.model_dump(mode="json", exclude_defaults=True)


def save_user_model(spec: ModelSpec, *, replace: bool = False) -> Path:
    """Write ``spec`` into the user's catalog folder and reload the catalog.

    Refuses (``ConfigError``) an id or alias that the packaged catalog already has, and an
    existing user model unless ``replace``. The file appears complete or not at all.
    """
    from xlsizer.catalog.loader import load_catalog, reload_catalog

    cat = load_catalog()
    path = _models_dir() / f"{spec.id}.yaml"
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
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# Added by xlsizer catalog add-model\n{yaml.safe_dump(spec_row(spec), sort_keys=False, width=110)}"
    fd, tmp = tempfile.mkstemp(prefix=f".{spec.id}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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


def remove_user_model(model_id: str) -> Path:
    """Delete a model from the user's catalog folder (packaged models cannot be removed)."""
    from xlsizer.catalog.loader import reload_catalog

    path = _models_dir() / f"{model_id}.yaml"
    if not path.is_file():
        raise ConfigError(f"{model_id!r} is not in your catalog ({_models_dir()})")
    path.unlink()
    reload_catalog()
    return path
