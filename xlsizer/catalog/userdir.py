"""The user's catalog folder: where it is, and reading the models in it.

Where: ``XLSIZER_CATALOG_DIR`` when set, else the platform's per-user data folder
(Windows ``%LOCALAPPDATA%\\xlsizer\\catalog``, macOS ``~/Library/Application
Support/xlsizer/catalog``, elsewhere ``$XDG_DATA_HOME/xlsizer/catalog`` or
``~/.local/share/xlsizer/catalog``). Each model is one YAML file ``models/<id>.yaml`` holding
one ``ModelSpec`` row.

The loader (``loader.py``) reads the folder through this module and ``user.py`` writes to it
and reloads the catalog: loader -> userdir, user -> loader and userdir, no import circle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from xlsizer.catalog.bounded import FileRefused, load_yaml_file
from xlsizer.catalog.schema import ModelSpec
from xlsizer.errors import clip

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


def models_dir() -> Path:
    """The folder of the user's model files (``<catalog>/models``)."""
    return user_catalog_dir() / "models"


def user_catalog_stamp() -> tuple[str, int]:
    """(folder, modification time in ns; 0 when absent): changes whenever a model file is
    added, replaced or removed, so the loader knows to read the folder again."""
    folder = models_dir()
    try:
        return str(folder), folder.stat().st_mtime_ns
    except OSError:
        return str(folder), 0


def read_user_models() -> tuple[list[tuple[str, ModelSpec]], list[str]]:
    """(file name, spec) for every loadable user model, and 'file: reason' for the others.

    A file that is not a regular file, is too large or nests too deeply is refused before it
    is parsed (``bounded``); no file can stop the others, the packaged catalog, sizing or the
    Excel functions from loading.
    """
    folder = models_dir()
    rows: list[tuple[str, ModelSpec]] = []
    errors: list[str] = []
    if not folder.is_dir():
        return rows, errors
    for path in sorted(folder.glob("*.yaml")):
        name = clip(path.name, 80)
        try:
            data = load_yaml_file(path)
            rows.append((path.name, ModelSpec.model_validate(data)))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "row"
            errors.append(f"{name}: {clip(loc, 80)}: {clip(first['msg'], 200)}")
        except FileRefused as exc:
            errors.append(f"{name}: not read ({exc})")
        except RecursionError:  # the depth check makes this unreachable; kept as the last guard
            errors.append(f"{name}: not read (nested too deeply)")
        except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: UTF-8, > 4,300-digit numbers
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            errors.append(f"{name}: unreadable ({clip(reason, 200)})")
    return rows, errors
