"""The briefing schedule: meetings stored in UTC, repeated by RRULE in their own time zone, shown in the district's.

    m = await add_meeting(storage, config, title="Giao ban thứ Hai", start=datetime(2026, 12, 7, 7, 30),
                          duration=7200, sites="all", rrule="FREQ=WEEKLY;BYDAY=MO")
    for occ in await list_upcoming(storage, now=datetime.now(UTC), horizon=timedelta(days=14)): ...
    await remove_meeting(storage, m.id)

A naive start is wall-clock time in the district's zone (config.organisation.timezone). A recurrence repeats
at the same wall-clock time in the meeting's zone, so a 07:30 briefing stays at 07:30 across a DST change
wherever a zone has one (Asia/Ho_Chi_Minh has none). EXDATEs are instants (UTC) that are skipped;
monitor/recurrence.py does that arithmetic for meetings and maintenance windows alike.
Meetings come from the CLI, the API, .ics import (monitor/readiness/ics.py) and the config's static list;
each records its source, and the config's are replaced on every sync.

Every entry refuses a rule that repeats more often than hourly or cannot be expanded cheaply (issue 13:
FREQ=SECONDLY froze the service). A row stored before that, or written by hand, is not expanded: listings
return it in ``Schedule.broken`` with the reason, and log it once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor import recurrence
from monitor.config.models import Config
from monitor.errors import UsageError
from monitor.storage.database import Storage
from monitor.storage.tables import meetings
from probes.core.ids import is_id
from probes.core.units import parse_bandwidth, parse_duration

log = logging.getLogger(__name__)

DEFAULT_CALL_RATE = 2_048_000  # bit/s: 2048 kbit/s, a room codec's 720p-to-1080p call
MAX_CALL_RATE = 10_000_000_000  # 10 Gbit/s: past any briefing's call, and within the database's integers
MAX_DURATION = 7 * 86400.0
MAX_LEAD_TIME = 7 * 86400.0
SOURCES = ("cli", "api", "ics", "config")


class MeetingError(UsageError):
    """A meeting that cannot be stored as given; ``field`` names the input at fault (API: 400 with it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RuleRefused(MeetingError):
    """A well-formed RRULE the schedule refuses: more often than hourly, or never occurring (issue 13)."""


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    title: str
    start: datetime  # first occurrence, UTC
    duration: float  # seconds
    timezone: str
    sites: Literal["all"] | tuple[str, ...]
    call_rate: int  # bit/s
    lead_times: tuple[float, ...] | None = None  # seconds before start; None = the configured default
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()  # UTC
    source: str = "cli"
    uid: str | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    meeting: Meeting
    start: datetime  # UTC
    end: datetime  # UTC


@dataclass(frozen=True, slots=True)
class Schedule:
    """A listing: the occurrences in a window, and the stored meetings whose rule cannot be expanded."""

    occurrences: tuple[Occurrence, ...]
    broken: tuple[tuple[Meeting, str], ...] = ()  # (meeting, why)


class StaticMeeting(Protocol):
    """A meeting of the config's static list (the shape config.meetings entries have)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def duration(self) -> float: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def rrule(self) -> str | None: ...
    @property
    def exdates(self) -> Sequence[datetime]: ...
    @property
    def sites(self) -> str | Sequence[str]: ...
    @property
    def call_rate(self) -> int: ...
    @property
    def lead_times(self) -> Sequence[float] | None: ...


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return recurrence.zone(name)
    except recurrence.UnknownZone as exc:
        raise MeetingError(str(exc), field) from None


def to_utc(value: datetime, tz: ZoneInfo, field: str = "start") -> datetime:
    """An aware time as UTC; a naive one is wall-clock time in ``tz``. Years outside 1970–2100 are refused."""
    try:
        recurrence.check_moment(value, field)
    except recurrence.OutOfRange as exc:
        raise MeetingError(str(exc), field) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def parse_start(text: str, tz: ZoneInfo, field: str = "start") -> datetime:
    """'2026-12-07T07:30' (district time) or with an offset/Z → UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MeetingError(
            f"{text!r} is not a date and time; write e.g. 2026-12-07T07:30 (district time) or 2026-12-07T00:30Z", field
        ) from None
    return to_utc(value, tz, field)


def check_rule(rule_text: str, start: datetime, zone_name: str) -> None:
    """Refuse an RRULE that cannot repeat a series from ``start`` in ``zone_name``, or repeats more than hourly."""
    try:
        recurrence.check(recurrence.Series(start, 0.0, zone_name, rule_text))
    except recurrence.InvalidRule as exc:
        if exc.reason is None:
            raise MeetingError("rrule must be a single RRULE such as FREQ=WEEKLY;BYDAY=MO", "rrule") from None
        shown = rule_text if len(rule_text) <= 80 else rule_text[:80] + "…"
        raise MeetingError(f"rrule {shown!r} is not a valid RFC 5545 RRULE: {exc.reason}", "rrule") from None
    except recurrence.RecurrenceError as exc:
        raise RuleRefused(str(exc), "rrule") from None


def series(meeting: Meeting) -> recurrence.Series:
    """The meeting's times, for monitor/recurrence.py."""
    return recurrence.Series(meeting.start, meeting.duration, meeting.timezone, meeting.rrule, meeting.exdates)


def occurrences(meeting: Meeting, after: datetime, before: datetime) -> list[datetime]:
    """Starts (UTC) of the occurrences that overlap [after, before): running ones included.

    Bounded by the window and by recurrence.DEFAULT_LIMIT; RecurrenceError for a rule that breaks the rules
    of entry (a row stored before them). Up to a few hundred ms for a long walk: call it off the event loop.
    """
    return recurrence.occurrences(series(meeting), after, before)


def next_starts(
    meeting: Meeting, now: datetime, *, count: int, within: timedelta = timedelta(days=366)
) -> list[datetime]:
    """The running or next ``count`` starts within ``within`` (see occurrences for the bounds)."""
    return occurrences(meeting, now, now + within)[:count]


def _check_sites(sites: Any, config: Config) -> Literal["all"] | tuple[str, ...]:
    if sites == "all" or sites is None:
        return "all"
    ids = [s.strip() for s in sites.split(",")] if isinstance(sites, str) else list(sites)
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise MeetingError("sites must be 'all' or a list of site ids", "sites")
    known = {s.id for s in config.sites}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise MeetingError(f"unknown site(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}", "sites")
    return tuple(dict.fromkeys(ids))


def _seconds(value: Any, field: str, *, limit: float) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise MeetingError(str(exc), field) from None
    except OverflowError:  # a 5000-digit number
        raise MeetingError(f"{field} must be more than 0 and at most {limit / 86400:g} days", field) from None
    if not 0 < seconds <= limit:
        raise MeetingError(f"{field} must be more than 0 and at most {limit / 86400:g} days", field)
    return seconds


def build_meeting(
    config: Config,
    *,
    title: str,
    start: datetime | str,
    duration: float | str = 7200.0,
    sites: Any = "all",
    call_rate: int | str | None = None,
    lead_times: Iterable[float | str] | None = None,
    rrule: str | None = None,
    exdates: Iterable[datetime] = (),
    timezone: str | None = None,
    source: str = "cli",
    uid: str | None = None,
    meeting_id: str | None = None,
) -> Meeting:
    """Validate every input (MeetingError names the field) and normalise times to UTC."""
    tz_name = timezone or config.organisation.timezone
    tz = zone(tz_name)
    title = title.strip()
    if not title or len(title) > 500:
        raise MeetingError("title must be 1 to 500 characters", "title")
    start_utc = parse_start(start, tz) if isinstance(start, str) else to_utc(start, tz)
    try:
        rate = DEFAULT_CALL_RATE if call_rate is None else parse_bandwidth(call_rate)
    except ValueError as exc:
        raise MeetingError(str(exc), "call_rate") from None
    except OverflowError:  # an infinite or 5000-digit number
        raise MeetingError("call_rate must be at most 10Gbit", "call_rate") from None
    if rate > MAX_CALL_RATE:
        raise MeetingError("call_rate must be at most 10Gbit", "call_rate")
    leads = None
    if lead_times is not None:
        leads = tuple(sorted({_seconds(v, "lead_times", limit=MAX_LEAD_TIME) for v in lead_times}, reverse=True))
    if meeting_id is not None and not is_id(meeting_id):
        raise MeetingError(f"{meeting_id!r} is not a valid meeting id (lower-case letters, digits, - and _)", "id")
    meeting = Meeting(
        id=meeting_id or secrets.token_hex(4),
        title=title,
        start=start_utc,
        duration=_seconds(duration, "duration", limit=MAX_DURATION),
        timezone=tz_name,
        sites=_check_sites(sites, config),
        call_rate=rate,
        lead_times=leads,
        rrule=rrule.strip() if rrule else None,
        exdates=tuple(to_utc(d, tz, "exdates") for d in exdates),
        source=source,
        uid=uid,
    )
    if meeting.rrule is not None:
        check_rule(meeting.rrule, start_utc, tz_name)  # refuse a bad rule now, not at the first listing
    return meeting


def _row(meeting: Meeting, now: int) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "uid": meeting.uid,
        "source": meeting.source,
        "title": meeting.title,
        "start": int(meeting.start.timestamp()),
        "duration": round(meeting.duration),
        "timezone": meeting.timezone,
        "rrule": meeting.rrule,
        "exdates": sorted(int(d.timestamp()) for d in meeting.exdates),
        "sites": meeting.sites if meeting.sites == "all" else list(meeting.sites),
        "call_rate": meeting.call_rate,
        "lead_times": list(meeting.lead_times) if meeting.lead_times is not None else None,
        "created_at": now,
        "updated_at": now,
    }


def _meeting(row: Any) -> Meeting:
    sites = row["sites"]
    return Meeting(
        id=row["id"],
        title=row["title"],
        start=datetime.fromtimestamp(row["start"], UTC),
        duration=float(row["duration"]),
        timezone=row["timezone"],
        sites="all" if sites == "all" else tuple(sites),
        call_rate=int(row["call_rate"]),
        lead_times=tuple(float(v) for v in row["lead_times"]) if row["lead_times"] is not None else None,
        rrule=row["rrule"],
        exdates=tuple(datetime.fromtimestamp(v, UTC) for v in row["exdates"]),
        source=row["source"],
        uid=row["uid"],
    )


async def _store(conn: AsyncConnection, meeting: Meeting, now: int) -> None:
    row = _row(meeting, now)
    exists = (await conn.execute(select(meetings.c.id).where(meetings.c.id == meeting.id))).first()
    if exists:
        row.pop("created_at")
        await conn.execute(update(meetings).where(meetings.c.id == meeting.id).values(**row))
    else:
        await conn.execute(meetings.insert().values(**row))


async def save_meeting(storage: Storage, meeting: Meeting) -> Meeting:
    """Insert, or replace the meeting with the same id (created_at is kept)."""
    async with storage.begin() as conn:
        await _store(conn, meeting, int(time.time()))
    return meeting


async def save_meetings(storage: Storage, changed: Sequence[Meeting], *, remove: Sequence[str] = ()) -> None:
    """Save ``changed`` and delete the ids ``remove`` in one transaction: an import is applied whole or not at all."""
    now, ids = int(time.time()), [m.id for m in changed]
    async with storage.begin() as conn:
        existing: set[str] = set()
        for start in range(0, len(ids), 500):  # bound the statement's parameters
            chunk = ids[start : start + 500]
            existing.update((await conn.execute(select(meetings.c.id).where(meetings.c.id.in_(chunk)))).scalars())
        new = [_row(m, now) for m in changed if m.id not in existing]
        if new:
            await conn.execute(meetings.insert(), new)  # one executemany: thousands of occurrences from an .ics
        for meeting in changed:
            if meeting.id in existing:
                await _store(conn, meeting, now)
        for start in range(0, len(remove), 500):
            await conn.execute(delete(meetings).where(meetings.c.id.in_(remove[start : start + 500])))


async def add_meeting(storage: Storage, config: Config, **fields: Any) -> Meeting:
    """Validate (see build_meeting) and store a new meeting; returns it with its id."""
    fields.pop("meeting_id", None)
    # In a thread: checking a rule that never occurs walks up to a few hundred ms (monitor/recurrence.py).
    meeting = await asyncio.to_thread(partial(build_meeting, config, **fields))
    async with storage.engine.connect() as conn:
        while (await conn.execute(select(meetings.c.id).where(meetings.c.id == meeting.id))).first():
            meeting = build_meeting(config, **fields)  # an id collision (1 in 4 billion): draw again
    return await save_meeting(storage, meeting)


async def get_meeting(storage: Storage, meeting_id: str) -> Meeting | None:
    async with storage.engine.connect() as conn:
        row = (await conn.execute(select(meetings).where(meetings.c.id == meeting_id))).mappings().first()
    return _meeting(row) if row else None


async def all_meetings(storage: Storage) -> list[Meeting]:
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(select(meetings).order_by(meetings.c.start, meetings.c.id))).mappings().all()
    return [_meeting(r) for r in rows]


async def remove_meeting(storage: Storage, meeting_id: str) -> bool:
    """Delete a meeting (its readiness reports stay, as an audit); False if there was none."""
    async with storage.begin() as conn:
        return bool((await conn.execute(delete(meetings).where(meetings.c.id == meeting_id))).rowcount)


def expand(found: Iterable[Meeting], *, now: datetime, horizon: timedelta) -> Schedule:
    """Occurrences running at ``now`` or starting within ``horizon``, by start time; broken rules set aside."""
    upcoming: list[Occurrence] = []
    broken: list[tuple[Meeting, str]] = []
    for meeting in found:
        try:
            starts = occurrences(meeting, now, now + horizon)
        except recurrence.RecurrenceError as exc:
            broken.append((meeting, str(exc)))
            continue
        upcoming.extend(Occurrence(meeting, start, start + timedelta(seconds=meeting.duration)) for start in starts)
    upcoming.sort(key=lambda o: (o.start, o.meeting.id))
    return Schedule(tuple(upcoming), tuple(broken))


_reported: set[tuple[str, str | None, str]] = set()  # broken meetings already logged: once each, not every tick


def report_broken(meeting: Meeting, why: str) -> None:
    """Log a meeting whose rule cannot be expanded, once per process (the readiness engine lists every tick)."""
    key = (meeting.id, meeting.rrule, why)
    if key not in _reported:
        if len(_reported) > 10_000:
            _reported.clear()
        _reported.add(key)
        log.warning("meeting %s (%s, source %s) is skipped: %s", meeting.id, meeting.title, meeting.source, why)


async def read_schedule(storage: Storage, *, now: datetime, horizon: timedelta) -> Schedule:
    """The stored meetings expanded over [now, now + horizon), off the event loop; broken ones logged once."""
    schedule = await asyncio.to_thread(expand, await all_meetings(storage), now=now, horizon=horizon)
    for meeting, why in schedule.broken:
        report_broken(meeting, why)
    return schedule


async def list_upcoming(storage: Storage, *, now: datetime, horizon: timedelta) -> list[Occurrence]:
    """Occurrences running at ``now`` or starting within ``horizon``, by start time (read_schedule's)."""
    return list((await read_schedule(storage, now=now, horizon=horizon)).occurrences)


async def sync_config_meetings(storage: Storage, config: Config, static: Sequence[StaticMeeting]) -> None:
    """Make the stored config meetings equal the config's list (by id); other sources are untouched."""

    def build_all() -> list[Meeting]:
        return [
            build_meeting(
                config,
                title=m.title,
                start=m.start,
                duration=m.duration,
                sites=m.sites,
                call_rate=m.call_rate,
                lead_times=m.lead_times,
                rrule=m.rrule,
                exdates=m.exdates,
                timezone=m.timezone,
                source="config",
                meeting_id=m.id,
            )
            for m in static
        ]

    wanted = await asyncio.to_thread(build_all)  # each rule's check can walk a little: off the loop
    async with storage.engine.connect() as conn:
        clash = (
            (
                await conn.execute(
                    select(meetings.c.id).where(
                        meetings.c.id.in_([m.id for m in wanted]), meetings.c.source != "config"
                    )
                )
            )
            .scalars()
            .all()
        )
    if clash:
        raise MeetingError(f"meeting id(s) {', '.join(clash)} of the config are already used by other meetings", "id")
    for meeting in wanted:
        await save_meeting(storage, meeting)
    async with storage.begin() as conn:
        await conn.execute(
            delete(meetings).where(meetings.c.source == "config", meetings.c.id.not_in([m.id for m in wanted]))
        )
