"""The schema migration runner: numbered modules, applied in order, each once, recorded in schema_version.

A small runner rather than Alembic: the service migrates itself on open (no alembic.ini, no env.py to
ship), both dialects run the same steps, and the rule "an upgrade never drops data" is enforced by review
of one short module per version. A step that needs ALTER TABLE on SQLite can use
``alembic.operations.Operations`` on the connection it is given if that day comes.

Several agents may open one PostgreSQL at once: a transaction-level advisory lock serialises them, and the
loser finds the work done. SQLite serialises writers by itself (BEGIN IMMEDIATE via the first write).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Connection, Integer, MetaData, Table, inspect, select, text

from monitor.storage.migrations import (
    m0001_initial,
    m0002_alerts,
    m0003_leases,
    m0004_attendance,
    m0005_report_agent,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(m0001_initial.VERSION, "initial", m0001_initial.upgrade),
    Migration(m0002_alerts.VERSION, "alerts", m0002_alerts.upgrade),
    Migration(m0003_leases.VERSION, "leases", m0003_leases.upgrade),
    Migration(m0004_attendance.VERSION, "attendance", m0004_attendance.upgrade),
    Migration(m0005_report_agent.VERSION, "report agent", m0005_report_agent.upgrade),
)
HEAD = MIGRATIONS[-1].version

_version_meta = MetaData()
schema_version = Table(
    "schema_version",
    _version_meta,
    Column("version", Integer, primary_key=True),
    Column("applied_at", BigInteger, nullable=False),
)
_ADVISORY_KEY = 0x6769616F  # "giao"


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer giaoban; this one must not write to it."""


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    found = conn.execute(select(schema_version.c.version).order_by(schema_version.c.version.desc())).first()
    return int(found[0]) if found else 0


def upgrade(conn: Connection) -> list[int]:
    """Bring the schema to HEAD inside the caller's transaction; returns the versions applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
    _version_meta.create_all(conn)
    version = current_version(conn)
    if version > HEAD:
        raise SchemaTooNew(
            f"the database is at schema version {version} but this giaoban knows only up to {HEAD}; "
            "upgrade giaoban (downgrades are not supported, to keep data)"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        log.info("applying schema migration %s (%s)", migration.version, migration.name)
        migration.upgrade(conn)
        conn.execute(schema_version.insert().values(version=migration.version, applied_at=int(time.time())))
        applied.append(migration.version)
    return applied
