"""Reading files the user points at (their catalog folder, a config.json) with bounds checked
BEFORE parsing: a regular file only (never a device, a pipe or a folder), at most a set
number of bytes, and YAML nested at most a set number of levels (issue 24: one deeply nested
YAML broke every command with a RecursionError; a link to /dev/zero read until memory ran
out; a 50 MB YAML slowed every command to 20 s).

Each refusal is a ``FileRefused`` (a ``ValueError``) with one line saying why; callers add
the file's name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_USER_MODEL_BYTES = 1 << 20
"""Largest user catalog file read, bytes (1 MiB). A model row the CLI writes is 1-3 kB (the
whole packaged models_imported.yaml, 80+ models, is 80 kB); every command reads the folder,
so a larger file is refused by its size alone, unread."""

MAX_CONFIG_BYTES = 32 << 20
"""Largest config.json read, bytes (32 MiB). The largest config here is 88 kB
(nvidia--Qwen3.6-27B-NVFP4.json, long quantization 'ignore' lists); a DeepSeek-size MoE
listing every expert's modules would be a few MB. Read once per ``add-model``."""

MAX_NESTING = 32
"""Deepest YAML nesting accepted in a user catalog file, levels. A model row nests 3 (row,
``compressed_kv`` list, its entries); far below the depth at which the parser's recursion fails
(about 1,000 with Python's default limit)."""


class FileRefused(ValueError):
    """A file that is not read or not parsed: not a regular file, too large, nested too deeply."""


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> str:
    """The UTF-8 text of ``path`` if it is a regular file of at most ``max_bytes`` bytes.

    The file is opened first and checked through its handle (a link to /dev/zero or a FIFO
    is refused without reading from it; O_NONBLOCK so opening a FIFO does not wait for a
    writer), and never more than ``max_bytes + 1`` bytes are read, so a file that grows in
    between is refused too. Raises ``FileNotFoundError``/``OSError`` as ``open`` does,
    ``FileRefused``, or ``UnicodeDecodeError``.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused("not a regular file")
        if st.st_size > max_bytes:
            raise FileRefused(f"{st.st_size:,} bytes, more than the {max_bytes:,} accepted")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"more than the {max_bytes:,} bytes accepted")
    return data.decode("utf-8")


def yaml_depth(text: str, limit: int = MAX_NESTING) -> int:
    """How deeply ``text`` nests (mappings and lists), read as parser events, which need no
    recursion; stops with ``FileRefused`` as soon as it passes ``limit``."""
    depth = deepest = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                raise FileRefused(f"nested more than {limit} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


def load_yaml_file(path: str | Path, max_bytes: int = MAX_USER_MODEL_BYTES, max_depth: int = MAX_NESTING) -> Any:
    """Parse one YAML file after ``read_regular_file`` and ``yaml_depth`` accept it (safe
    loader: plain data only)."""
    text = read_regular_file(path, max_bytes)
    yaml_depth(text, max_depth)
    return yaml.safe_load(text)
