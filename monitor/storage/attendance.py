"""The attendance record of meeting occurrences (table meeting_attendance, schema version 3; issue 18).

    await save_attendance(storage, "giao-ban", start, [record, ...])     upsert by (meeting, occurrence, site)
    await load_attendance(storage, "giao-ban", start)                     the records of one occurrence
    await latest_occurrence(storage, "giao-ban")                          the last occurrence with a record

A record is monitor.readiness.attendance.Attendance.to_json(): this module stores and returns it as JSON and
copies the few fields a query filters on (connected, quality, joined_at, left_at, rejoins) into columns.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from monitor.storage.database import Storage
from monitor.storage.tables import meeting_attendance

MAX_SITES = 20_000  # records of one occurrence returned at most


async def save_attendance(
    storage: Storage, meeting_id: str, occurrence_start: int, records: Sequence[Mapping[str, Any]]
) -> None:
    if not records:
        return
    now = time.time()
    rows = [
        {
            "meeting_id": meeting_id,
            "occurrence_start": occurrence_start,
            "site_id": record["site"],
            "connected": record.get("connected"),
            "quality": record.get("quality") or "unknown",
            "joined_at": record.get("joined_at"),
            "left_at": record.get("left_at"),
            "rejoins": int(record.get("rejoins") or 0),
            "record": dict(record),
            "updated_at": now,
        }
        for record in records
    ]
    async with storage.begin() as conn:
        await conn.execute(
            storage.upsert(meeting_attendance, rows, ["meeting_id", "occurrence_start", "site_id"]), rows
        )


async def load_attendance(storage: Storage, meeting_id: str, occurrence_start: int) -> list[dict[str, Any]]:
    """The records of one occurrence, by site id."""
    query = (
        select(meeting_attendance.c.record)
        .where(meeting_attendance.c.meeting_id == meeting_id, meeting_attendance.c.occurrence_start == occurrence_start)
        .order_by(meeting_attendance.c.site_id)
        .limit(MAX_SITES)
    )
    async with storage.engine.connect() as conn:
        return [dict(row[0]) for row in (await conn.execute(query)).all()]


async def latest_occurrence(storage: Storage, meeting_id: str) -> int | None:
    """The start (epoch seconds) of the meeting's last occurrence that has a record, or None."""
    query = select(func.max(meeting_attendance.c.occurrence_start)).where(meeting_attendance.c.meeting_id == meeting_id)
    async with storage.engine.connect() as conn:
        found = (await conn.execute(query)).scalar()
    return int(found) if found is not None else None
