"""Unit conversions: the only place they live.

Internal values are in base SI units with the unit as a name suffix (``_bytes``, ``_s``,
``_flops``, ``_bytes_per_s``, ``_w``). Decimal prefixes throughout, as GPU vendors use them:
1 GB = 1e9 bytes (not GiB), 1 TB/s = 1e12 bytes/s, 1 TFLOPS = 1e12 FLOP/s.

Also how a number and its unit read in text (``count``: "1 GPU", "3 GPUs"; ``figure``: three
significant digits, never an exponent).
"""

from __future__ import annotations

import math

GB: float = 1e9
"""bytes per (decimal, vendor) gigabyte."""
TB: float = 1e12
"""bytes per terabyte."""
GIB: float = 2.0**30
"""bytes per gibibyte; only for reading configs that state GiB."""
TERA: float = 1e12
"""1 TFLOPS = 1e12 FLOP/s; 1 TB/s = 1e12 bytes/s."""
GIGA: float = 1e9
KILO: float = 1e3
MS: float = 1e-3
"""seconds per millisecond."""
SECONDS_PER_MINUTE: float = 60.0
HOURS_PER_MONTH: float = 730.0
"""8,760 hours a year / 12 months."""


def bytes_to_gb(n_bytes: float) -> float:
    """Bytes to decimal GB."""
    return n_bytes / GB


def gb_to_bytes(gb: float) -> float:
    """Decimal GB to bytes."""
    return gb * GB


def s_to_ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds / MS


def ms_to_s(ms: float) -> float:
    """Milliseconds to seconds."""
    return ms * MS


def w_to_kw(watts: float) -> float:
    """Watts to kilowatts."""
    return watts / KILO


def count(n: float, noun: str) -> str:
    """``n`` with its unit in words, plural where n is not 1: "1 GPU", "3 GPUs", "0 spare
    replicas", "1,024 sequences", "2.5 users" (the plural is the noun + "s")."""
    whole = isinstance(n, int) or float(n).is_integer()
    number = f"{int(n):,}" if whole else f"{n:,g}"
    return f"{number} {noun}{'' if n == 1 else 's'}"


def figure(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, never in exponent form: "0.0000641", "0.063",
    "4.41", "45", "716", "1,235" (whole from 10 ** (digits - 1) up, thousands separated)."""
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    text = f"{x:.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
