"""Import briefings from an iCalendar (.ics) file: VEVENTs with RRULE and EXDATE, updated by UID.

    result = await import_ics(storage, config, "lich-giao-ban.ics")    # or the file's bytes
    result.added, result.updated, result.removed

Re-importing the same file changes nothing and never duplicates (the UID is the key). A modified
instance (a VEVENT with RECURRENCE-ID) becomes an EXDATE of its series plus a one-off meeting; a
cancelled event (STATUS:CANCELLED) removes the meeting it names. The whole file is checked before
anything is written: a malformed one gives ImportError listing what is wrong in which event, and the
schedule stays as it was. An event whose RRULE the schedule refuses (more often than hourly, never
occurring: issue 13) is skipped and reported in ``result.skipped``, the rest imported; a meeting it would
have updated keeps its stored version. Sites, call rate and lead times are not in iCalendar: a new meeting
takes the ones given to the import (default all sites, 2048 kbit/s), an updated one keeps its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select

from monitor.config.models import Config
from monitor.readiness.meetings import (
    DEFAULT_CALL_RATE,
    Meeting,
    MeetingError,
    RuleRefused,
    build_meeting,
    remove_meeting,
    save_meeting,
)
from monitor.storage.database import Storage
from monitor.storage.tables import meetings

DEFAULT_DURATION = 7200.0


class IcsError(MeetingError):
    """The .ics file cannot be imported; ``problems`` lists each fault with the event it is in."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems), "file")
        self.problems = problems


@dataclass(slots=True)
class ImportResult:
    added: list[str] = field(default_factory=list)  # meeting ids
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "event UID: why", one per event whose RRULE is refused


@dataclass(frozen=True, slots=True)
class _Event:
    uid: str
    title: str
    start: datetime  # aware
    duration: float
    timezone: str
    rrule: str | None
    exdates: tuple[datetime, ...]
    cancelled: bool


def _when(prop: Any, what: str, tz: tzinfo) -> datetime:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)  # floating time: district time
    if isinstance(value, date):
        raise ValueError(f"{what} is a whole day ({value}); a briefing needs a start time")
    raise ValueError(f"{what} is missing or not a date-time")


def _zone_name(start: datetime, district: str) -> str:
    key = getattr(start.tzinfo, "key", None)
    if isinstance(key, str):
        return key
    if start.utcoffset() == timedelta(0):
        return "UTC"
    return district  # a custom VTIMEZONE: its offset is applied to the start; repeats follow the district


def _exdates(event: Any, tz: tzinfo) -> list[datetime]:
    raw = event.get("EXDATE")
    lists = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [_when(item, "EXDATE", tz) for group in lists for item in group.dts]


def _parse_event(event: Any, district_tz: str) -> _Event:
    tz = ZoneInfo(district_tz)
    uid = str(event.get("UID", "")).strip()
    if not uid:
        raise ValueError("has no UID (needed to update it on re-import)")
    start = _when(event.get("DTSTART"), "DTSTART", tz)
    if event.get("DTEND") is not None:
        duration = (_when(event.get("DTEND"), "DTEND", start.tzinfo or tz) - start).total_seconds()
    elif event.get("DURATION") is not None:
        duration = event.get("DURATION").dt.total_seconds()
    else:
        duration = DEFAULT_DURATION
    if duration <= 0:
        raise ValueError("ends before it starts (DTEND/DURATION)")
    rule = event.get("RRULE")
    if isinstance(rule, list):
        raise ValueError("has several RRULEs; split it into one event per rule")
    return _Event(
        uid=uid,
        title=str(event.get("SUMMARY", "")).strip() or "Giao ban",
        start=start,
        duration=duration,
        timezone=_zone_name(start, district_tz),
        rrule=rule.to_ical().decode() if rule is not None else None,
        exdates=tuple(_exdates(event, start.tzinfo or tz)),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
    )


def parse_ics(data: bytes, source: str, district_tz: str) -> list[_Event]:
    """Every VEVENT of the file, or IcsError listing every problem found."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise IcsError(source, [f"not an iCalendar file: {exc}"]) from None
    if isinstance(calendar, list) or calendar.name != "VCALENDAR":
        raise IcsError(source, ["expected one VCALENDAR object"])
    events, problems = [], []
    overrides: dict[str, list[datetime]] = {}
    for index, event in enumerate(calendar.walk("VEVENT"), start=1):
        label = f"event {index} ({str(event.get('SUMMARY', '')).strip() or 'no SUMMARY'})"
        try:
            parsed = _parse_event(event, district_tz)
            if event.get("RECURRENCE-ID") is not None:
                instant = _when(event.get("RECURRENCE-ID"), "RECURRENCE-ID", ZoneInfo(district_tz))
                overrides.setdefault(parsed.uid, []).append(instant)
                parsed = replace(parsed, uid=f"{parsed.uid}/{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}", rrule=None)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # Overflow: a year 0001 in UTC
            problems.append(f"{label}: {exc}")
            continue
        events.append(parsed)
    if not events and not problems:
        problems.append("no VEVENT in the file")
    if problems:
        raise IcsError(source, problems)
    by_uid = {e.uid: e for e in events}
    for uid, instants in overrides.items():
        if uid in by_uid:  # the series skips the moved instances; each is its own one-off meeting
            series = by_uid[uid]
            by_uid[uid] = replace(series, exdates=series.exdates + tuple(instants))
    return list(by_uid.values())


async def import_ics(
    storage: Storage,
    config: Config,
    source: str | Path | bytes,
    *,
    sites: Any = "all",
    call_rate: int | str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> ImportResult:
    """Add or update one meeting per VEVENT (by UID); see the module docstring.

    ``progress(done, total, title)`` is told as each meeting is written (the CLI's terminal line).
    """
    if isinstance(source, bytes):
        data, name = source, "<ics>"
    else:
        name = str(source)
        try:
            data = await asyncio.to_thread(Path(source).read_bytes)
        except OSError as exc:
            raise IcsError(name, [f"cannot read the file: {exc.strerror}"]) from None
    events = await asyncio.to_thread(parse_ics, data, name, config.organisation.timezone)  # a big file parses slowly
    async with storage.engine.connect() as conn:
        rows = (
            (await conn.execute(select(meetings).where(meetings.c.uid.in_([e.uid for e in events])))).mappings().all()
        )
    existing = {r["uid"]: r for r in rows}
    plan: list[tuple[str, Meeting]] = []
    problems: list[str] = []
    result = ImportResult()
    for event in events:
        old = existing.get(event.uid)
        if event.cancelled:
            if old is not None:
                result.removed.append(old["id"])
            continue
        try:
            meeting = await asyncio.to_thread(
                build_meeting,
                config,
                title=event.title,
                start=event.start,
                duration=event.duration,
                sites=(old["sites"] if old else sites),
                call_rate=(old["call_rate"] if old else call_rate or DEFAULT_CALL_RATE),
                lead_times=(old["lead_times"] if old else None),
                rrule=event.rrule,
                exdates=event.exdates,
                timezone=event.timezone,
                source="ics",
                uid=event.uid,
                meeting_id=old["id"] if old else None,
            )
        except RuleRefused as exc:  # well-formed but refused: the calendar's other events are still worth having
            result.skipped.append(f"event {event.uid} ({event.title}): {exc}")
            continue
        except MeetingError as exc:
            problems.append(f"event {event.uid}: {exc}")
            continue
        plan.append(("update" if old else "add", meeting))
    if problems:
        raise IcsError(name, problems)
    total = len(plan) + len(result.removed)
    for done, (action, meeting) in enumerate(plan, 1):
        if action == "update" and _same(existing[meeting.uid], meeting):
            result.unchanged.append(meeting.id)
        else:
            (result.updated if action == "update" else result.added).append(meeting.id)
            await save_meeting(storage, meeting)
        if progress is not None:
            progress(done, total, meeting.title)
    for done, meeting_id in enumerate(result.removed, len(plan) + 1):
        await remove_meeting(storage, meeting_id)
        if progress is not None:
            progress(done, total, meeting_id)
    return result


def _same(row: Any, meeting: Meeting) -> bool:
    return (
        row["title"] == meeting.title
        and row["start"] == int(meeting.start.timestamp())
        and row["duration"] == round(meeting.duration)
        and row["timezone"] == meeting.timezone
        and row["rrule"] == meeting.rrule
        and sorted(row["exdates"]) == sorted(int(d.timestamp()) for d in meeting.exdates)
    )
