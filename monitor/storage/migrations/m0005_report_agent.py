"""Schema version 5: each readiness report names the agent that made it (issue 17).

Several agents share one PostgreSQL, each checking the sites it owns: a report of agent A says nothing about
whether agent B has done its T-30 check, and the national answer tells who reported each site. ``agent`` is
nullable: reports written before this version (one agent per database) have none.

Frozen: ``readiness_reports`` as this version leaves it (the models' test compares against it); the upgrade
adds the column to the table version 1 created, the one ALTER both SQLite and PostgreSQL run unchanged.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, Index, Integer, MetaData, String, Table, text

VERSION = 5
metadata = MetaData()

BigId = BigInteger().with_variant(Integer(), "sqlite")

readiness_reports = Table(
    "readiness_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("meeting_id", String(64), nullable=False),
    Column("occurrence_start", BigInteger, nullable=False),
    Column("lead_time", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("agent", String(64), nullable=True),
    Index("ix_readiness_reports_meeting", "meeting_id", "occurrence_start"),
)


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE readiness_reports ADD COLUMN agent VARCHAR(64)"))
