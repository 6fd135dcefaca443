"""``xlsizer lite [--out DIR]``: the two files an xlwings Lite user pastes into the add-in's editor.

xlwings Lite (Excel on Windows, macOS and the web; Python in the browser through Pyodide)
keeps a workbook's code in two tabs: ``main.py`` and ``requirements.txt``. This writes both:

- ``main.py`` is the classic UDF module itself (``xlsizer_udfs.py``, the very file pip
  installs), so the functions have the same names, arguments and answers; only its
  ``xw.serve()`` debugging footer, which has no meaning in the browser, is left out. Under
  Pyodide the module raises errors as ``xlwings.XlwingsError`` (a real ``#VALUE!`` with the
  message on hover) instead of returning the classic add-in's text.
- ``requirements.txt`` names the xlsizer wheel: the URL given with ``--wheel-url`` (where the
  company hosts ``xlsizer-VERSION-py3-none-any.whl``), else ``xlsizer==VERSION`` for a private
  package index (self-hosted Lite's ``XLWINGS_PYPI_INDEX_URL``). Its dependencies come from
  Pyodide (pydantic, PyYAML, lxml) or PyPI (openpyxl); xlwings is Lite's own.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from xlsizer.errors import XlsizerError

DEFAULT_DIR = "xlsizer-lite"
_FOOTER = re.compile(r'\n+if __name__ == "__main__":.*\Z', re.DOTALL)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("xlsizer")
    except PackageNotFoundError:  # a checkout run through PYTHONPATH: the version in pyproject.toml
        import xlsizer

        return str(getattr(xlsizer, "__version__", "0.1.0"))


def udf_source() -> str:
    """The source of the installed ``xlsizer_udfs`` module."""
    spec = importlib.util.find_spec("xlsizer_udfs")
    if spec is None or spec.origin is None:
        raise XlsizerError("xlsizer_udfs is not importable: install xlsizer first")
    return Path(spec.origin).read_text(encoding="utf-8")


def main_py() -> str:
    """``main.py`` for xlwings Lite: the UDF module without its classic debugging footer."""
    body = _FOOTER.sub("\n", udf_source())
    head = (f"# xlwings Lite main.py for xlsizer {version()}, written by `xlsizer lite`.\n"
            "# The same functions as the classic add-in's module xlsizer_udfs (names, arguments, answers).\n"
            "# requirements.txt must name the xlsizer wheel (see docs/excel.md, 'Mac and Excel on the web').\n")
    return head + body


def requirements_txt(wheel_url: str | None = None) -> str:
    """``requirements.txt`` for xlwings Lite."""
    v = version()
    lines = ["# xlsizer for xlwings Lite (written by `xlsizer lite`)."]
    if wheel_url:
        lines += ["# The company's copy of the xlsizer wheel (served over HTTPS with CORS allowed):", wheel_url]
    else:
        lines += ["# From your company's package index (self-hosted xlwings Lite: XLWINGS_PYPI_INDEX_URL),",
                  "# or replace this line by the HTTPS URL of xlsizer-" + v + "-py3-none-any.whl.",
                  f"xlsizer=={v}"]
    lines += ["# pydantic, PyYAML and lxml come from Pyodide (do not pin them); openpyxl from PyPI.", ""]
    return "\n".join(lines)


def write_lite(out: str | Path = DEFAULT_DIR, wheel_url: str | None = None, force: bool = False) -> list[Path]:
    """Write ``main.py`` and ``requirements.txt`` into ``out``; returns their paths."""
    from xlsizer.outpaths import save_atomic

    folder = Path(out)
    files = {"main.py": main_py(), "requirements.txt": requirements_txt(wheel_url)}
    existing = [folder / n for n in files if (folder / n).exists()]
    if existing and not force:
        raise XlsizerError(f"{existing[0]} exists; pass --force to replace it, or --out another folder")
    if wheel_url is not None and not wheel_url.startswith(("https://", "http://", "emfs:", "file:")):
        raise XlsizerError(f"--wheel-url must be a URL (https://...), got {wheel_url!r}")
    return [save_atomic(lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"), folder / name)
            for name, text in files.items()]


def register(sub: Any) -> None:
    """Add ``xlsizer lite`` to the CLI's subcommands."""
    p = sub.add_parser("lite", help="write main.py and requirements.txt for xlwings Lite (Mac, Excel on the web)")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_DIR, help=f"folder to write into (default: {DEFAULT_DIR})")
    p.add_argument("--wheel-url", metavar="URL", default=None,
                   help="where your company serves the xlsizer wheel (default: xlsizer==VERSION from an index)")
    p.add_argument("--force", action="store_true", help="replace main.py / requirements.txt if they exist")
    p.set_defaults(func=_cmd)


def _cmd(args: Any) -> int:
    for path in write_lite(args.out, args.wheel_url, args.force):
        print(path)
    print("Paste main.py into xlwings Lite's main.py tab and requirements.txt into its requirements.txt tab.")
    return 0
