"""Schema version 4: the attendance record of running meetings (issue 18).

Frozen: these definitions describe the table as version 4 created it; a later change is a new module.

One row per (meeting, occurrence, site): whether the site was connected at the last poll, when it first joined
and last left, how often it rejoined, its media quality, and the whole record (media per direction and kind,
the worst values seen, the events) as JSON. Times are REAL epoch seconds, as in versions 2 and 3.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Connection, Float, Integer, MetaData, String, Table

VERSION = 4
metadata = MetaData()

meeting_attendance = Table(
    "meeting_attendance",
    metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("occurrence_start", BigInteger, primary_key=True),  # UTC epoch seconds
    Column("site_id", String(64), primary_key=True),
    Column("connected", Boolean, nullable=True),  # at the last poll; null: unknown
    Column("quality", String(16), nullable=False),  # good, poor, unknown
    Column("joined_at", Float, nullable=True),
    Column("left_at", Float, nullable=True),
    Column("rejoins", Integer, nullable=False),
    Column("record", JSON, nullable=False),  # monitor.readiness.attendance.Attendance.to_json()
    Column("updated_at", Float, nullable=False),
)


def upgrade(conn: Connection) -> None:
    metadata.create_all(conn)
