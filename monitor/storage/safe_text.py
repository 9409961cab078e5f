"""Text made safe for both databases, in one place: the column types every table of monitor/storage/tables.py uses.

PostgreSQL refuses a NUL character in text ("invalid byte sequence for encoding UTF8: 0x00") and both
drivers refuse a lone surrogate (a str that cannot be encoded as UTF-8); SQLite stores the NUL and PostgreSQL
rejects the whole statement, so one device answer with a NUL in its SIP reason phrase stopped the history of
every site on PostgreSQL only, and a meeting title with ``\\u0000`` was 201 on SQLite and 500 on PostgreSQL
(issue 13). Every bound value of a text or JSON column therefore passes ``clean_text`` on its way in, on both
databases alike:

    clean_text("Busy\\x00Here")       → "Busy\\ufffdHere"     NUL → U+FFFD REPLACEMENT CHARACTER
    clean_text("a\\ud800b")           → "a\\ufffdb"           a lone surrogate → U+FFFD
    clean_text("\\ud83d\\ude00")       → "😀"                 a surrogate pair → the character it encodes
    clean_text("x" * 300, 200)       → "x" * 200            longer than the column: cut (PostgreSQL refuses it)

U+FFFD rather than nothing: the reader sees that something unreadable stood there. A WHERE clause on such a
column is cleaned the same way, so a lookup of the text as it came in finds the row as it was stored.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str, length: int | None = None) -> str:
    """``value`` with NUL and lone surrogates replaced by U+FFFD, surrogate pairs joined, cut to ``length``."""
    if _UNSAFE.search(value) is not None:
        if _SURROGATE.search(value) is not None:
            # Through UTF-16 a valid pair becomes its character again; only the lone halves are replaced.
            value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        value = value.replace("\x00", REPLACEMENT)
    if length is not None and len(value) > length:
        value = value[:length]
    return value


def clean_json(value: Any) -> Any:
    """A JSON document with every string in it (keys too) cleaned; other values unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_json(key): clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(item) for item in value]
    return value


class SafeString(TypeDecorator[str]):
    """VARCHAR(length) whose bound values are cleaned and cut to the length."""

    impl = String
    cache_ok = True  # the cache key is the length (an __init__ argument kept as an attribute of that name)

    def __init__(self, length: int | None = None) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value, self.length)


class SafeText(TypeDecorator[str]):
    """TEXT whose bound values are cleaned."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value)


class SafeJSON(TypeDecorator[Any]):
    """JSON whose strings are cleaned before serialisation (readiness reasons carry device answers)."""

    impl = JSON
    cache_ok = True

    @property
    def should_evaluate_none(self) -> bool:  # type: ignore[override]
        # As JSON itself: a Python None is stored as JSON null, not left out of the INSERT.
        return bool(self.impl_instance.should_evaluate_none)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_json(value)
