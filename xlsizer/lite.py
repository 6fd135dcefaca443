"""``xlsizer lite [--out DIR] [--wheel-url URL]``: everything an xlwings Lite user needs.

xlwings Lite (Excel on Windows, macOS and the web; Python in the browser through Pyodide)
keeps a workbook's code in two tabs: ``main.py`` and ``requirements.txt``. This writes both,
and the xlsizer wheel they need beside them (issue 24: no public index has xlsizer):

- ``main.py`` is the classic UDF module itself (``udfs/xlsizer_udfs.py``, the very file pip
  installs), so the functions have the same names, arguments and answers; only its
  ``xw.serve()`` debugging footer, which has no meaning in the browser, is left out. Under
  Pyodide the module raises errors as ``xlwings.XlwingsError`` (a real ``#VALUE!`` with the
  message on hover) instead of returning the classic add-in's text. One Lite-only script is
  added: ``xlsizer_reenter_formulas`` writes every formula back into its cell (what F2, Enter
  does), for a workbook whose formulas Excel did not bind to the add-in's functions.
- ``xlsizer-VERSION-py3-none-any.whl``: the package and the UDF module as a pure-Python wheel,
  built from the xlsizer that runs the command (no network, no build tools), byte-for-byte
  the same for the same xlsizer. The company serves it over HTTPS with CORS allowed.
- ``requirements.txt`` names that wheel at the URL given with ``--wheel-url`` (refused unless
  it is https:// and ends in the wheel's exact file name, which micropip reads the version
  from), else ``xlsizer==VERSION`` for a company package index (self-hosted Lite's
  ``XLWINGS_PYPI_INDEX_URL``). Its dependencies come from Pyodide (pydantic, PyYAML, lxml) or
  PyPI (openpyxl, defusedxml); xlwings is Lite's own.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from xlsizer.errors import XlsizerError, clip

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


LITE_SCRIPT = '''

# --- xlwings Lite only (added by `xlsizer lite`) ---------------------------------------------
from xlwings import script  # noqa: E402


@script
async def xlsizer_reenter_formulas(book: xw.Book):
    """Write every formula of every sheet back into its cell: what F2, Enter does, for all
    cells at once. For a workbook whose xlsizer formulas show #NAME? under xlwings Lite after
    Ctrl+Alt+F9 (docs/excel.md). Values and formats are not touched."""
    for sheet in book.sheets:
        if sheet.name.lower() in ("xlwings.conf", "_xlwings.conf"):
            continue
        rng = sheet.used_range
        grid = await rng.options(ndim=2).get_formula()
        for i, row in enumerate(grid):
            for j, text in enumerate(row):
                if isinstance(text, str) and text.startswith("="):
                    sheet.range((rng.row + i, rng.column + j)).formula = text
'''
"""A script for the Lite runtime only (classic xlwings before 0.33 has no ``script``), so it is
added to main.py, not to the classic module."""


def main_py() -> str:
    """``main.py`` for xlwings Lite: the UDF module without its classic debugging footer, and
    the Lite-only formula re-entry script."""
    body = _FOOTER.sub("\n", udf_source()).rstrip("\n") + "\n"
    head = (f"# xlwings Lite main.py for xlsizer {version()}, written by `xlsizer lite`.\n"
            "# The same functions as the classic add-in's module xlsizer_udfs (names, arguments, answers).\n"
            f"# requirements.txt must name the wheel {wheel_name()} (see docs/excel.md, 'Mac and Excel on the web').\n")
    return head + body + LITE_SCRIPT


# --- the wheel --------------------------------------------------------------------------------
PACKAGE_DATA = (".py", ".yaml", ".yml", ".csv", ".json", ".md")
"""Files of the package that go into the wheel: the code and pyproject.toml's package-data."""


def wheel_name() -> str:
    return f"xlsizer-{version()}-py3-none-any.whl"


def _metadata() -> str:
    """METADATA of the wheel: the checkout's pyproject.toml when run from one (the source of
    truth), else the installed distribution's own METADATA."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {version()}",
                 f"Summary: {project.get('description', '')}",
                 f"Requires-Python: {project.get('requires-python', '>=3.11')}"]
        lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
        return "\n".join(lines) + "\n"
    from importlib.metadata import distribution

    text = distribution("xlsizer").read_text("METADATA")
    if not text:
        raise XlsizerError("the installed xlsizer has no METADATA to build the Lite wheel from; reinstall xlsizer")
    return text


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_bytes() -> bytes:
    """A pure-Python wheel of the running xlsizer: the package (code and data), the top-level
    module xlsizer_udfs, and its dist-info. Entries sorted, fixed dates: same xlsizer, same bytes."""
    import xlsizer
    from xlsizer.workbook.stored import ZIP_DATE

    pkg = Path(xlsizer.__file__).resolve().parent
    files: dict[str, bytes] = {}
    for f in sorted(pkg.rglob("*")):
        if f.is_file() and f.suffix in PACKAGE_DATA and "__pycache__" not in f.parts:
            files["xlsizer/" + f.relative_to(pkg).as_posix()] = f.read_bytes()
    files["xlsizer_udfs.py"] = udf_source().encode("utf-8")
    info = f"xlsizer-{version()}.dist-info"
    files[f"{info}/METADATA"] = _metadata().encode("utf-8")
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: xlsizer lite\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nxlsizer = xlsizer.cli:main\n"
    files[f"{info}/top_level.txt"] = b"xlsizer\nxlsizer_udfs\n"
    record = "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():  # dist-info last, RECORD last of all (the wheel spec's order)
            entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            z.writestr(entry, data)
    return buf.getvalue()


def check_wheel_url(url: str) -> str:
    """The URL requirements.txt names, checked: https:// (file: and emfs: for local tests and
    Pyodide's own file system), ending in the wheel's exact file name; a URL ending in "/" gets
    the name appended. Anything else is refused with what to give instead."""
    name = wheel_name()
    shown = clip(url, 200)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "http":
        raise XlsizerError(f"--wheel-url {shown}: http:// is refused: xlwings Lite runs in an https:// page and the "
                           "browser blocks plain http:// downloads from it (mixed content); serve the wheel over "
                           "https://")
    if scheme not in ("https", "file", "emfs"):
        raise XlsizerError(f"--wheel-url {shown}: not an https:// URL (e.g. https://files.example.com/xlsizer/{name})")
    if url.endswith("/"):
        url += name
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if last != name:
        raise XlsizerError(f"--wheel-url {shown}: must end in {name}, the file this command writes (pip and micropip "
                           f"read the package, its version and tags from the file name; main.py is xlsizer "
                           f"{version()}), got {clip(last, 80)!r}")
    return url


def requirements_txt(wheel_url: str | None = None) -> str:
    """``requirements.txt`` for xlwings Lite."""
    v = version()
    lines = ["# xlsizer for xlwings Lite (written by `xlsizer lite`)."]
    if wheel_url:
        lines += [f"# The company's copy of {wheel_name()}, written beside this file (HTTPS, CORS allowed):",
                  wheel_url]
    else:
        lines += ["# xlsizer is on no public index: this line needs your company's package index (self-hosted",
                  "# xlwings Lite: XLWINGS_PYPI_INDEX_URL). Otherwise host the wheel written beside this file",
                  f"# ({wheel_name()}) over HTTPS and run: xlsizer lite --wheel-url https://.../{wheel_name()} --force",
                  f"xlsizer=={v}"]
    lines += ["# pydantic, PyYAML and lxml come from Pyodide (do not pin them); openpyxl from PyPI.", ""]
    return "\n".join(lines)


def write_lite(out: str | Path = DEFAULT_DIR, wheel_url: str | None = None, force: bool = False) -> list[Path]:
    """Write ``main.py``, ``requirements.txt`` and the wheel into ``out`` (each atomically; none
    if one exists, unless ``force``); returns their paths, the wheel last."""
    from xlsizer.outpaths import ensure_folder, save_atomic

    if wheel_url is not None:
        wheel_url = check_wheel_url(wheel_url)
    folder = ensure_folder(out, create=False)
    files: dict[str, bytes] = {"main.py": main_py().encode("utf-8"),
                               "requirements.txt": requirements_txt(wheel_url).encode("utf-8"),
                               wheel_name(): wheel_bytes()}
    existing = [folder / n for n in files if (folder / n).exists()]
    if existing and not force:
        raise XlsizerError(f"{existing[0]} exists; pass --force to replace it, or --out another folder")
    return [save_atomic(lambda tmp, data=data: Path(tmp).write_bytes(data), folder / name)
            for name, data in files.items()]


def register(sub: Any) -> None:
    """Add ``xlsizer lite`` to the CLI's subcommands."""
    p = sub.add_parser("lite", help="write main.py and requirements.txt for xlwings Lite (Mac, Excel on the web)")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_DIR, help=f"folder to write into (default: {DEFAULT_DIR})")
    p.add_argument("--wheel-url", metavar="URL", default=None,
                   help="https:// address where your company serves the wheel this writes, ending in its file name "
                        "(default: xlsizer==VERSION from a company index)")
    p.add_argument("--force", action="store_true", help="replace main.py, requirements.txt and the wheel if they exist")
    p.set_defaults(func=_cmd)


def _cmd(args: Any) -> int:
    paths = write_lite(args.out, args.wheel_url, args.force)
    for path in paths:
        print(path)
    wheel = paths[-1]
    if args.wheel_url:
        print(f"1. Put {wheel} at {check_wheel_url(args.wheel_url)} (an HTTPS server that sends "
              "Access-Control-Allow-Origin, docs/excel.md).")
    else:
        print(f"1. requirements.txt names xlsizer=={version()}, which only a company package index has. Or host "
              f"{wheel} over HTTPS (CORS allowed) and rerun with --wheel-url https://.../{wheel.name} --force.")
    print("2. Paste main.py into xlwings Lite's main.py tab and requirements.txt into its requirements.txt tab.")
    return 0
