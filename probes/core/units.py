"""Human units in the inventory: durations ("200ms", "1m30s"), bandwidth ("100Mbit"), ratios ("1%"), DSCP.

Each parser raises ValueError with a message that shows an accepted spelling; pydantic turns that into
a positioned config error. The ``Annotated`` aliases at the bottom are what the config models use.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_BANDWIDTH_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9, "tbit": 10**12}
_BANDWIDTH_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|tbit)(?:/s|ps)?$", re.IGNORECASE)

# RFC 2474 / RFC 2597 / RFC 3246 code points by name.
DSCP_NAMES: dict[str, int] = {
    "BE": 0,
    "DF": 0,
    "EF": 46,
    **{f"CS{n}": n * 8 for n in range(8)},
    **{f"AF{c}{d}": c * 8 + d * 2 for c in range(1, 5) for d in range(1, 4)},
}


def parse_duration(value: Any) -> float:
    """'200ms' → 0.2, '1m30s' → 90.0; a bare number is seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 200ms, 10s or 1m30s")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, seconds = 0, 0.0
        for match in _DURATION_RE.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValueError(f"{value!r} is not a duration; write e.g. 200ms, 10s, 1m30s or 2h")
    else:
        raise ValueError("expected a duration such as 200ms, 10s or 1m30s")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not math.isfinite(seconds):  # 400 nines: float() gives inf, which no setting can mean
        raise ValueError(f"{value!r} is too long a duration; write e.g. 365d")
    return seconds


def parse_bandwidth(value: Any) -> int:
    """'100Mbit' → 100_000_000 bits per second; a bare number is bit/s."""
    if isinstance(value, bool):
        raise ValueError("expected a bandwidth such as 2048kbit or 100Mbit")
    if isinstance(value, int | float):
        bits = float(value)
    elif isinstance(value, str) and (match := _BANDWIDTH_RE.match(value.strip())):
        bits = float(match.group(1)) * _BANDWIDTH_UNITS[match.group(2).lower()]
    else:
        raise ValueError(f"{value!r} is not a bandwidth; write e.g. 2048kbit, 100Mbit or 1Gbit (bits per second)")
    if bits <= 0:
        raise ValueError("a bandwidth must be greater than zero")
    return round(bits)


def parse_ratio(value: Any) -> float:
    """'1%' → 0.01; a bare number is already a ratio and must lie in [0, 1]."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as 1% or a ratio such as 0.01")
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"{value!r}: write a percentage with a % sign, e.g. 1% or 0.5%")
        try:
            ratio = float(text[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage; write e.g. 1% or 0.5%") from None
    elif isinstance(value, int | float):
        ratio = float(value)
    else:
        raise ValueError("expected a percentage such as 1% or a ratio such as 0.01")
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{value!r} is out of range; a percentage lies between 0% and 100%")
    return ratio


def parse_dscp(value: Any) -> int:
    """'AF41' → 34 (video, RFC 4594); a number 0–63 is taken as is."""
    if isinstance(value, bool):
        raise ValueError("expected a DSCP name such as AF41 or EF, or a number from 0 to 63")
    if isinstance(value, int):
        code = value
    elif isinstance(value, str) and value.strip().upper() in DSCP_NAMES:
        code = DSCP_NAMES[value.strip().upper()]
    elif isinstance(value, str) and value.strip().isdigit():
        code = int(value.strip())
    else:
        raise ValueError(f"{value!r} is not a DSCP value; use a name such as AF41, EF, CS5 or a number 0–63")
    if not 0 <= code <= 63:
        raise ValueError(f"DSCP {code} is out of range; it must be from 0 to 63")
    return code


_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)$", re.IGNORECASE)


def parse_size(value: Any) -> int:
    """'1MiB' → 1048576 bytes; a bare number is bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512KiB or 1MiB")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE_RE.match(value.strip())):
        size = round(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    else:
        raise ValueError(f"{value!r} is not a size; write e.g. 512KiB, 1MiB or 10MB")
    if size < 0:
        raise ValueError("a size cannot be negative")
    return size


def format_duration(seconds: float) -> str:
    """A duration as parse_duration reads it back to the same float: 365d, 2h, 90s, 200ms, 1.5s, 0.0001s.

    The largest unit that holds it a whole number of times, so that dumped settings read as written; else
    decimal seconds, never an exponent ('3.1536e+07s', what ``:g`` gave for 365d, is refused by the parser
    and ``:g`` kept only 6 digits).
    """
    if not math.isfinite(seconds):  # parse_duration refuses these; a computed value in a message may be one
        return f"{seconds}s"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    for unit in ("d", "h", "m", "s") if seconds >= 1 else ("ms",):
        count = round(seconds / _DURATION_UNITS[unit])
        if count >= 1 and count * _DURATION_UNITS[unit] == seconds:  # what parse_duration computes
            return f"{count}{unit}"
    return f"{Decimal(repr(seconds)):f}s"  # repr: the shortest digits that read back to the same float


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
Bandwidth = Annotated[int, BeforeValidator(parse_bandwidth)]
Ratio = Annotated[float, BeforeValidator(parse_ratio)]
Size = Annotated[int, BeforeValidator(parse_size)]
Dscp = Annotated[int, BeforeValidator(parse_dscp)]
