"""Which database URLs giaoban can use: one check for the config's ``database`` and every ``--database`` (issue 13).

    parse_database_url("postgresql://giaoban@db.example:5432/giaoban")   -> sqlalchemy URL
    parse_database_url("mysql://giaoban@db/giaoban")
        ValueError: mysql:// is not supported; write sqlite:///PATH or postgresql://USER@HOST:PORT/NAME

Accepted: sqlite:///PATH (a file: an in-memory database would lose the history at every restart) and
postgresql://, postgres://, postgresql+asyncpg://. The storage opens them with the asynchronous drivers
(monitor.storage.database.engine_url). Messages never contain the URL, which may hold a password.
"""

from __future__ import annotations

import argparse

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

FORMS = "sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"


def parse_database_url(url: str) -> URL:
    """``url`` parsed, if the service can open it; otherwise ValueError saying what to write instead."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"not a URL; write {FORMS}") from None
    except ValueError:  # make_url turns the port into an int and lets int()'s error through
        raise ValueError(f"the port after the host is not a number; write {FORMS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("an in-memory SQLite database would lose everything at each restart; write sqlite:///PATH")
        return parsed
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        if not parsed.database:
            raise ValueError(f"the URL names no database after the host; write {FORMS}")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise ValueError(f"port {parsed.port} is not from 1 to 65535; write {FORMS}")
        return parsed
    raise ValueError(f"{parsed.drivername}:// is not supported; write {FORMS}")


def database_option(value: str) -> str:
    """The argparse ``type`` of --database: the same check, refused by argparse as a usage error (exit 2)."""
    try:
        parse_database_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value
