"""Schema version 3: one lease row per ownership unit, so that of two agents owning a scope one acts (issue 17).

Frozen: these definitions describe the table as version 3 created it; a later change is a new module.

A row names the unit (``ha-noi``, ``ha-noi:0/2``, ``*``), the agent holding it and until when (REAL epoch
seconds of the database's clock); monitor/storage/leases.py takes and renews it.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, MetaData, String, Table

VERSION = 3
metadata = MetaData()

leases = Table(
    "leases",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("renewed_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)


def upgrade(conn: Connection) -> None:
    metadata.create_all(conn)
