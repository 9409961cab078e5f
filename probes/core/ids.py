"""Ids in the inventory, the schedule and the API: one rule for all, and one way to say an id is unknown."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
_MAX_LISTED = 12  # longer lists of known ids are cut, with the total, to keep one problem on one line


def is_id(value: str) -> bool:
    """Whether ``value`` is a valid id (lower-case letters, digits, '-' and '_', at most 64 characters)."""
    return ID_RE.match(value) is not None


def check_id(value: str) -> str:
    """``value`` when it is a valid id; ValueError with what to write instead."""
    if not is_id(value):
        raise ValueError(
            f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_' "
            "(e.g. tan-thinh), at most 64 characters, starting and ending with a letter or digit"
        )
    return value


def unknown(what: str, value: str, known: Sequence[str]) -> str:
    """'unknown technician 'x'; known: a, b' with a did-you-mean when one id is close."""
    close = difflib.get_close_matches(value, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if not known:
        return f"unknown {what} {value!r}{hint}; none are defined"
    listed = ", ".join(known[:_MAX_LISTED])
    if len(known) > _MAX_LISTED:
        listed += f", ... ({len(known)} in all)"
    return f"unknown {what} {value!r}{hint}; known: {listed}"
