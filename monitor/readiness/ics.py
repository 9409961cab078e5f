"""Import briefings from an iCalendar (.ics) file: its occurrences over the next year, one meeting each.

    report = await import_ics(storage, config, "lich-giao-ban.ics")    # or the file's bytes
    report.added, report.updated, report.unchanged, report.removed     # meeting ids
    report.skipped, report.notes                                      # what was left out, and why

The file is expanded by recurring-ical-events (monitor/readiness/ics_expand.py) over [now, now + 365 days],
and each occurrence is stored as a one-off meeting keyed by its UID and RECURRENCE-ID (issue 15): RDATE,
RANGE=THISANDFUTURE and moved or cancelled instances are then right by construction, where our own series
model (RRULE + EXDATE) got them wrong. Re-importing refreshes: an occurrence keeps its meeting (its id,
sites, call rate and lead times), a changed one is updated, one the file no longer has (an EXDATE added, an
instance cancelled, STATUS:CANCELLED) is removed unless it is over already; a meeting of a UID the file does
not have is left alone. A later import extends the year. Meetings stored as a series by an earlier version
are replaced by their occurrences, keeping their sites. What is not a briefing (all-day, zero length, ...)
is skipped and reported; a malformed file gives IcsError listing every problem, and nothing is written.
Sites, call rate and lead times are not in iCalendar: new meetings take the ones given to the import
(default all sites, 2048 kbit/s).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from monitor.config.models import Config
from monitor.readiness.ics_expand import HORIZON, TOO_FREQUENT, CalendarError, Found, Note, Skipped, expand
from monitor.readiness.meetings import (
    DEFAULT_CALL_RATE,
    Meeting,
    MeetingError,
    build_meeting,
    save_meetings,
)
from monitor.storage.database import Storage
from monitor.storage.tables import meetings

_OCCURRENCE_KEY = re.compile(r"^(.*)/\d{8}T\d{6}Z$", re.DOTALL)


class IcsError(MeetingError):
    """The .ics file cannot be imported; ``problems`` lists each fault with the event it is in."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems), "file")
        self.problems = problems


@dataclass(slots=True)
class ImportReport:
    """What an import did: the CLI prints it, the API answers it."""

    source: str
    window_start: datetime
    window_end: datetime
    events: int = 0  # VEVENTs in the file
    occurrences: int = 0  # stored in the window
    added: list[str] = field(default_factory=list)  # meeting ids
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))


def _base_uid(key: str) -> str:
    match = _OCCURRENCE_KEY.match(key)
    return match.group(1) if match else key


def _day(timestamp: float, zone: str) -> str:
    return f"{datetime.fromtimestamp(timestamp, ZoneInfo(zone)):%Y-%m-%d}"


def _same(row: Any, meeting: Meeting) -> bool:
    return (
        row["uid"] == meeting.uid
        and row["title"] == meeting.title
        and row["start"] == int(meeting.start.timestamp())
        and row["duration"] == round(meeting.duration)
        and row["timezone"] == meeting.timezone
        and row["rrule"] is None
        and not row["exdates"]
    )


async def _read(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "<ics>"
    try:
        return await asyncio.to_thread(Path(source).read_bytes), str(source)
    except OSError as exc:
        raise IcsError(str(source), [f"cannot read the file: {exc.strerror}"]) from None


async def import_ics(
    storage: Storage,
    config: Config,
    source: str | Path | bytes,
    *,
    sites: Any = "all",
    call_rate: int | str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> ImportReport:
    """Store the occurrences of the file in [start, end) (default: the next 365 days); see the module docstring.

    ``progress(done, total, title)`` is told as each occurrence is read (the CLI's terminal line).
    """
    data, name = await _read(source)
    window_start = (start or datetime.now(UTC)).astimezone(UTC)
    window_end = (end or window_start + HORIZON).astimezone(UTC)
    if window_end <= window_start:
        raise MeetingError("the import window must end after it starts", "end")
    # Checked once, not once per occurrence: a wrong site id is the caller's fault, not the file's.
    build_meeting(config, title="x", start=window_start, sites=sites, call_rate=call_rate)
    try:
        expansion = await asyncio.to_thread(
            expand, data, district_tz=config.organisation.timezone, start=window_start, end=window_end
        )
    except CalendarError as exc:
        raise IcsError(name, exc.problems) from None
    report = ImportReport(name, window_start, window_end, events=expansion.events, skipped=expansion.skipped)
    report.notes = expansion.notes
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(select(meetings).where(meetings.c.uid.is_not(None)))).mappings().all()
        taken = set((await conn.execute(select(meetings.c.id))).scalars().all())
    # An event whose rule is now refused (too frequent) keeps what an earlier import stored: nothing is lost.
    # A cancelled one is removed, as the file says.
    skipped = {s.uid for s in expansion.skipped if s.reason == TOO_FREQUENT}
    mine = [r for r in rows if _base_uid(r["uid"]) in expansion.uids and _base_uid(r["uid"]) not in skipped]
    by_key = {r["uid"]: r for r in mine}
    by_uid: dict[str, Any] = {}
    for row in sorted(mine, key=lambda r: r["rrule"] is None):  # a stored series first: its sites carry over
        by_uid.setdefault(_base_uid(row["uid"]), row)
    # An occurrence whose key the file no longer has, on a day that has a new one of the same event, was moved
    # within its day (the series' time changed): it keeps its meeting, so its readiness history goes on.
    keys = {f.key for f in expansion.occurrences}
    spare: dict[tuple[str, str], list[Any]] = {}
    for row in mine:
        if row["uid"] not in keys and row["rrule"] is None:
            spare.setdefault((_base_uid(row["uid"]), _day(row["start"], row["timezone"])), []).append(row)
    changed: list[Meeting] = []
    kept: set[str] = set()
    total = len(expansion.occurrences)
    for done, found in enumerate(expansion.occurrences, 1):
        if progress is not None:
            progress(done, total, found.title)
        old = by_key.get(found.key)
        if old is None and (same_day := spare.get((found.uid, _day(found.start.timestamp(), found.timezone)))):
            old = same_day.pop(0)
        like = old or by_uid.get(found.uid)
        meeting = _meeting(config, found, like, old, sites=sites, call_rate=call_rate, taken=taken)
        kept.add(meeting.id)
        if old is None:
            report.added.append(meeting.id)
        elif _same(old, meeting):
            report.unchanged.append(meeting.id)
            continue
        else:
            report.updated.append(meeting.id)
        changed.append(meeting)
    report.occurrences = len(expansion.occurrences)
    cutoff = window_start.timestamp()
    report.removed = [
        r["id"] for r in mine if r["id"] not in kept and (r["rrule"] is not None or r["start"] + r["duration"] > cutoff)
    ]  # a meeting that is over stays, as its readiness reports do; a stored series is replaced whole
    await save_meetings(storage, changed, remove=report.removed)
    return report


def _meeting(
    config: Config,
    found: Found,
    like: Any,
    old: Any,
    *,
    sites: Any,
    call_rate: int | str | None,
    taken: set[str],
) -> Meeting:
    if old is not None and old["rrule"] is None:
        meeting_id = old["id"]
    else:  # drawn here, not by build_meeting: thousands of occurrences make a clash of 8 hex digits likely
        meeting_id = secrets.token_hex(4)
        while meeting_id in taken:
            meeting_id = secrets.token_hex(4)
        taken.add(meeting_id)
    try:
        return build_meeting(
            config,
            title=found.title,
            start=found.start,
            duration=found.duration,
            sites=(like["sites"] if like else sites),
            call_rate=(like["call_rate"] if like else call_rate or DEFAULT_CALL_RATE),
            lead_times=(like["lead_times"] if like else None),
            timezone=found.timezone,
            source="ics",
            uid=found.key,
            meeting_id=meeting_id,
        )
    except MeetingError as exc:  # a stored meeting's sites no longer in the inventory, say
        raise IcsError(found.uid, [f"event {found.uid}: {exc}"]) from None
