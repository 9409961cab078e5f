"""Recurring series (meetings, maintenance windows): an RFC 5545 RRULE repeated at a wall-clock time in a zone.

    weekly = Series(start=datetime(2026, 12, 7, 0, 30, tzinfo=UTC), duration=7200, zone="Asia/Ho_Chi_Minh",
                    rrule="FREQ=WEEKLY;BYDAY=MO", exdates=(datetime(2026, 12, 21, 0, 30, tzinfo=UTC),))
    occurrences(weekly, after, before)     # starts (UTC) of the occurrences overlapping [after, before)
    is_inside(weekly, instant)             # whether an occurrence is running at that instant

A recurrence keeps the wall-clock time of its first start in its own zone, so a 07:30 briefing stays at 07:30
across a DST change (Asia/Ho_Chi_Minh has none; Europe/Paris moves by an hour in UTC). EXDATEs are instants
that are skipped. Every expansion passes through `occurrences`, which is bounded twice: by its window and by
``limit``, the number of occurrences it may walk (dateutil walks from the series' first occurrence, so those
before the window count too). Past the limit it raises TooManyOccurrences instead of working on (issue 13).

    ValueError
    ├── UnknownZone          not an IANA zone name
    └── RecurrenceError
        ├── InvalidRule      not one RFC 5545 RRULE
        └── TooManyOccurrences
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

# Occurrences one expansion may walk, from the series' first: an hourly rule for 11 years, a daily one for 270, and
# at most about 0.4 s of dateutil's work. 10_000 would stop an hourly maintenance window in its second year.
DEFAULT_LIMIT = 100_000
_UNTIL_RE = re.compile(r"UNTIL=(\d{8})(?:T(\d{6}))?(?=;|$)", re.IGNORECASE)
_INSTANT = timedelta(microseconds=1)  # [at, at + 1 µs) is the instant `at` at datetime's resolution


class UnknownZone(ValueError):
    """A time zone name that is not in the IANA database."""


class RecurrenceError(ValueError):
    """A recurrence that cannot be expanded as written."""


class InvalidRule(RecurrenceError):
    """Not one RFC 5545 RRULE; ``reason`` is dateutil's (None: it holds several rules or dates)."""

    def __init__(self, rule: str, reason: str | None) -> None:
        if reason is None:
            message = "rrule must be one RRULE such as FREQ=WEEKLY;BYDAY=SU"
        else:
            message = f"rrule {rule!r} is not a valid RFC 5545 RRULE ({reason}); e.g. FREQ=WEEKLY;BYDAY=SU"
        super().__init__(message)
        self.rule = rule
        self.reason = reason


class TooManyOccurrences(RecurrenceError):
    """An expansion walked more than ``limit`` occurrences before reaching the end of its window."""

    def __init__(self, rule: str, limit: int, before: datetime) -> None:
        super().__init__(
            f"rrule {rule!r} repeats more than {limit} times from its start to {before.astimezone(UTC):%Y-%m-%d %H:%M}"
            " UTC; use a longer interval or end it with UNTIL or COUNT"
        )
        self.rule = rule
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Series:
    """A one-off or recurring span of time: what meetings and maintenance windows have in common."""

    start: datetime  # first occurrence, aware
    duration: float  # seconds
    zone: str  # IANA name: the recurrence keeps its wall-clock time here
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()  # aware instants that are skipped


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; UnknownZone says what to write instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory of the database, e.g. "America"
        raise UnknownZone(f"unknown time zone {name!r}; use an IANA name such as Asia/Ho_Chi_Minh") from None


def parse_rrule(text: str, local_start: datetime) -> rrule:
    """One RFC 5545 RRULE (an "RRULE:" prefix is allowed) anchored at ``local_start`` (aware, in the series' zone)."""
    body = text.strip()
    body = body[len("RRULE:") :] if body.upper().startswith("RRULE:") else body

    def until_utc(match: re.Match[str]) -> str:
        # RFC 5545 wants UNTIL in UTC with a zoned DTSTART; people and calendars also write local or date-only
        # UNTILs (a date-only one ends with that local day), which dateutil refuses with an aware DTSTART.
        local = datetime.strptime(match.group(1) + (match.group(2) or "235959"), "%Y%m%d%H%M%S")
        return f"UNTIL={local.replace(tzinfo=local_start.tzinfo).astimezone(UTC):%Y%m%dT%H%M%SZ}"

    try:
        parsed = rrulestr(_UNTIL_RE.sub(until_utc, body), dtstart=local_start)
    except (ValueError, TypeError) as exc:
        raise InvalidRule(text, str(exc)) from None
    if not isinstance(parsed, rrule):  # several RRULEs, or RDATE/EXDATE lines: a set, not one rule
        raise InvalidRule(text, None)
    return parsed


@lru_cache(maxsize=256)
def _rule(text: str, start: float, zone_name: str) -> rrule:
    # Parsed once per series: the alert engine asks about every window on every pass. The key holds the zone's
    # name because aware datetimes of the same instant in different zones are equal and hash alike.
    return parse_rrule(text, datetime.fromtimestamp(start, zone(zone_name)))


def occurrences(series: Series, after: datetime, before: datetime, *, limit: int = DEFAULT_LIMIT) -> list[datetime]:
    """Starts (UTC) of the occurrences that overlap [after, before), running ones included, in order."""
    span = timedelta(seconds=series.duration)
    if series.rrule is None:
        return [series.start.astimezone(UTC)] if series.start < before and series.start + span > after else []
    skipped = {d.timestamp() for d in series.exdates}
    found = []
    for walked, start in enumerate(_rule(series.rrule, series.start.timestamp(), series.zone), start=1):
        if start >= before:
            break
        if walked > limit:
            raise TooManyOccurrences(series.rrule, limit, before)
        if start + span > after and start.timestamp() not in skipped:
            found.append(start.astimezone(UTC))
    return found


def is_inside(series: Series, at: datetime, *, limit: int = DEFAULT_LIMIT) -> bool:
    """Whether an occurrence of ``series`` runs at the instant ``at``: start included, end excluded."""
    return bool(occurrences(series, at, at + _INSTANT, limit=limit))
