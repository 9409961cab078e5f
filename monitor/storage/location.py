"""Which database a command uses: one resolution for the service, the demo and every CLI command (issue 14).

    database_for(config, Path("/etc/giaoban/giaoban.yml"))                  its database:, else giaoban.db beside it
    database_for(config, inventory, override="sqlite:////tmp/x.db")         --database, in place of both

The inventory names the database; without ``database:`` it is ``giaoban.db`` in the inventory's directory. A
relative SQLite path (``sqlite:///giaoban.db``, three slashes) is taken from the inventory's directory, not from
the current one, so `giaoban alerts ack ID -c /etc/giaoban/giaoban.yml` opens the service's file from anywhere.
A relative ``--database`` path is taken from the current directory, as any path on a command line is.
PostgreSQL URLs are used as written.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from monitor.config.models import Config, Database

DEFAULT_DATABASE = "sqlite:///giaoban.db"  # relative: beside the inventory


def database_for(config: Config, inventory: Path, *, override: str | None = None) -> str | Database:
    """The database of ``inventory`` (its loaded ``config``), or ``override`` (--database) when given."""
    if override is not None:
        return anchored(override, Path.cwd())
    base = inventory.absolute().parent
    if config.database is None:
        return anchored(DEFAULT_DATABASE, base)
    return config.database.model_copy(update={"url": anchored(config.database.url, base)})


def sqlite_file(database: str | Database) -> Path | None:
    """The file of a SQLite database, None for PostgreSQL."""
    parsed = make_url(database.url if isinstance(database, Database) else database)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def anchored(url: str, base: Path) -> str:
    """``url`` with a relative SQLite path made absolute against ``base``; any other URL unchanged."""
    parsed = make_url(url)  # already checked (monitor/config/database.py): it parses
    if parsed.get_backend_name() != "sqlite" or not parsed.database or Path(parsed.database).is_absolute():
        return url
    return parsed.set(database=str(base / parsed.database)).render_as_string(hide_password=False)


__all__ = ["DEFAULT_DATABASE", "anchored", "database_for", "sqlite_file"]
