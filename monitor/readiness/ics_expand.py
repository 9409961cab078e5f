"""An iCalendar file as the occurrences of its VEVENTs in a window, expanded by recurring-ical-events.

    expansion = expand(data, district_tz="Asia/Ho_Chi_Minh", start=now, end=now + HORIZON)
    expansion.occurrences     # one per start, keyed by (UID, RECURRENCE-ID)
    expansion.skipped         # the VEVENTs that are not briefings, each with its reason
    expansion.notes           # what was read in a way worth saying (a derived UID, X-WR-TIMEZONE, ...)

A well-kept expander rather than our own (issue 15): RDATE, EXDATE, RECURRENCE-ID overrides,
RANGE=THISANDFUTURE and SEQUENCE are recurring-ical-events' work, tested against the exports of Google,
Outlook and Thunderbird. Floating times are X-WR-TIMEZONE's where the file names an IANA zone, else the
district's; they are pinned here before the expansion (see _pin_floating). What is not a briefing is
skipped and reported, never a reason to refuse the file: an all-day event (holidays are in almost every
export), one that ends when it starts, one longer than a meeting can be, one without DTSTART, one
repeating too often. A VEVENT without UID gets one derived from its DTSTART and SUMMARY, the same on every
import. What is malformed (a date that is not one, an RRULE that cannot be read, an end before the start)
refuses the file, naming each event at fault.

The work is bounded (issue 13): every RRULE is first walked by monitor/recurrence.py from its DTSTART to the
window's end, which stops after ``recurrence.DEFAULT_LIMIT`` steps (dateutil, inside recurring-ical-events,
walks from DTSTART too), an event keeps at most MAX_PER_EVENT occurrences in the window, a file MAX_PER_FILE.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.prop import vDDDLists, vDDDTypes

from monitor import recurrence
from monitor.storage.safe_text import clean_text

HORIZON = timedelta(days=365)  # how far ahead an import stores occurrences; a later import extends it
DEFAULT_DURATION = timedelta(hours=2)  # a timed VEVENT with neither DTEND nor DURATION
MAX_DURATION = timedelta(days=7)  # as monitor/readiness/meetings.py allows
MAX_PER_EVENT = 1000  # occurrences of one VEVENT in the window: nearly three a day for a year
MAX_PER_FILE = 20_000
MAX_TITLE = 500
MAX_KEY = 255  # the uid column
DEFAULT_TITLE = "Giao ban"

# Why a VEVENT is not imported; monitor/cli/meetings.py words each in Vietnamese and English.
ALL_DAY = "all_day"
ZERO_LENGTH = "zero_length"
TOO_LONG = "too_long"
NO_START = "no_start"
TOO_FREQUENT = "too_frequent"
CANCELLED = "cancelled"
REASONS = (ALL_DAY, ZERO_LENGTH, TOO_LONG, NO_START, TOO_FREQUENT, CANCELLED)

# What is worth saying about how a file was read (codes, with one argument each).
DERIVED_UID = "derived_uid"  # argument: how many VEVENTs had no UID
X_WR_TIMEZONE = "x_wr_timezone"  # the zone floating times were read in
UNKNOWN_X_WR_TIMEZONE = "unknown_x_wr_timezone"  # not an IANA name: floating times are the district's
PARSER_WARNING = "parser_warning"  # icalendar's own warning (English), e.g. a guessed TZID


class CalendarError(ValueError):
    """The file cannot be imported; ``problems`` lists each fault with the event it is in."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str  # one of REASONS
    number: int  # the VEVENT's place in the file, from 1
    summary: str  # its SUMMARY, cut to 80 characters; "" when it has none
    uid: str

    @property
    def event(self) -> str:
        """'event 3 (Tết Dương lịch)', as the refusals name events."""
        return f"event {self.number} ({self.summary or 'no SUMMARY'})"


@dataclass(frozen=True, slots=True)
class Note:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Found:
    """One occurrence to store: ``key`` is the event's UID, and its RECURRENCE-ID where the event repeats."""

    key: str
    uid: str  # the event's UID as keys begin with it (``key`` without the RECURRENCE-ID)
    title: str
    start: datetime  # UTC
    duration: float  # seconds
    timezone: str  # the zone its start was written in, else the district's


@dataclass(slots=True)
class Expansion:
    events: int = 0  # VEVENTs read
    occurrences: list[Found] = field(default_factory=list)
    uids: set[str] = field(default_factory=set)  # every UID of the file as keys begin: its occurrences are refreshed
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Check:
    """What reading one VEVENT found: a problem refuses the file; a skip is reported, ``drop`` before expansion."""

    problem: str | None = None
    skip: str | None = None
    drop: bool = False
    derived_uid: bool = False


def _label(index: int, component: Any) -> Skipped:
    """The event's name in reports; ``reason`` is filled in where it is skipped."""
    summary = str(component.get("SUMMARY", "")).strip()[:80]
    return Skipped("", index, summary, str(component.get("UID", "")))


def _named(labels: dict[str, Skipped], uid: str) -> Skipped:
    return labels.get(uid) or Skipped("", 0, "", uid)


def _value(component: Any, name: str) -> Any:
    """The property's value (.dt) or None; ValueError if it is broken or repeated."""
    prop = component.get(name)
    if prop is None:
        return None
    if isinstance(prop, list):
        raise ValueError(f"has {len(prop)} {name} properties; RFC 5545 allows one")
    try:
        return prop.dt
    except (ValueError, AttributeError) as exc:  # icalendar keeps a broken value and raises on access
        raise ValueError(f"{name} cannot be read: {exc}") from None


def _as_datetime(value: date, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime(value.year, value.month, value.day, tzinfo=tz)


def _derived_uid(component: Any) -> str:
    """The same id for the same event on every import (issue 15: files without UID were refused)."""
    start = component.get("DTSTART")
    raw = b"|".join([start.to_ical() if start is not None else b"", str(component.get("SUMMARY", "")).encode()])
    return "giaoban-" + hashlib.sha256(raw).hexdigest()[:32]


def _walk_rules(component: Any, start: datetime, district: str, end: datetime) -> None:
    """Walk each RRULE from DTSTART to ``end``, bounded (TooManyOccurrences past the limit)."""
    rules = component.get("RRULE")
    zone_name = getattr(start.tzinfo, "key", None) or district
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        text = rule.to_ical().decode()
        series = recurrence.Series(start, 0.0, zone_name, text)
        recurrence.occurrences(series, end - timedelta(microseconds=1), end)


def _dates(component: Any, name: str) -> None:
    """ValueError if an RDATE or EXDATE cannot be read."""
    props = component.get(name)
    for prop in props if isinstance(props, list) else [props] if props is not None else []:
        try:
            [d.dt for d in prop.dts]
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{name} cannot be read: {exc}") from None


def _span(component: Any, begin: datetime) -> timedelta:
    """DTEND - DTSTART, or DURATION; a missing end is 2 h, set on the component for the expansion."""
    stop, length = _value(component, "DTEND"), _value(component, "DURATION")
    if stop is not None:
        if not isinstance(stop, date):
            raise ValueError(f"DTEND is not a date or date-time ({stop!r})")
        return _as_datetime(stop, begin.tzinfo or UTC) - begin
    if length is not None:
        if not isinstance(length, timedelta):
            raise ValueError(f"DURATION is not a duration ({length!r})")
        return length
    component.add("DURATION", DEFAULT_DURATION)  # as before issue 15: a briefing written without an end lasts 2 h
    return DEFAULT_DURATION


def _check(component: Any, district_tz: ZoneInfo, end: datetime) -> _Check:
    """Read one VEVENT's times and rules; set a missing UID and a missing end on the component."""
    derived = False
    if not str(component.get("UID", "")).strip():
        component["UID"] = _derived_uid(component)
        derived = True
    override = component.get("RECURRENCE-ID") is not None
    try:
        start = _value(component, "DTSTART")
        if start is None:
            return _Check(skip=NO_START, drop=True, derived_uid=derived)
        if not isinstance(start, date):
            return _Check(problem=f"DTSTART is not a date or date-time ({start!r})")
        if not isinstance(start, datetime):
            # Out of the expansion, unread: a holiday is no briefing. An all-day override stays in, so that the
            # timed instance it replaces is not imported; its occurrence is dropped after the expansion.
            return _Check(skip=ALL_DAY, drop=not override, derived_uid=derived)
        begin = _as_datetime(start, district_tz)
        span = _span(component, begin)
        if span < timedelta(0):
            return _Check(problem="ends before it starts (DTEND/DURATION)")
        _value(component, "RECURRENCE-ID")
        _dates(component, "RDATE")
        _dates(component, "EXDATE")
        _walk_rules(component, begin, district_tz.key, end)
    except (recurrence.TooManyOccurrences, recurrence.TooFrequent):
        # More often than hourly (monitor/recurrence.py's rule at every entry): skipped and reported, the rest kept.
        return _Check(skip=TOO_FREQUENT, drop=True, derived_uid=derived)
    except recurrence.RecurrenceError as exc:
        return _Check(problem=f"RRULE: {exc}")
    except ValueError as exc:
        return _Check(problem=str(exc))
    if span == timedelta(0):
        return _Check(skip=ZERO_LENGTH, derived_uid=derived)
    if span > MAX_DURATION:
        return _Check(skip=TOO_LONG, derived_uid=derived)
    return _Check(derived_uid=derived)


def _floating_zone(calendar: Any, district_tz: ZoneInfo, notes: list[Note]) -> ZoneInfo:
    name = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    if not name:
        return district_tz
    try:
        zone = recurrence.zone(name)
    except recurrence.UnknownZone:
        notes.append(Note(UNKNOWN_X_WR_TIMEZONE, name))
        return district_tz
    notes.append(Note(X_WR_TIMEZONE, name))
    return zone


def _pinned(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, tuple):  # a PERIOD: (start, end or duration)
        return tuple(_pinned(v, zone) for v in value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _pin_floating(component: Any, zone: tzinfo) -> None:
    """Floating date-times of one VEVENT as wall-clock time in ``zone``, every parameter kept.

    Where DTSTART has a zone, the other floating times of the event take it, as recurring-ical-events does.
    """
    start = getattr(component.get("DTSTART"), "dt", None)
    if isinstance(start, datetime) and start.tzinfo is not None:
        zone = start.tzinfo
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = component.get(name)
        if prop is not None and not isinstance(prop, list) and _pinned(prop.dt, zone) is not prop.dt:
            component[name] = vDDDTypes(_pinned(prop.dt, zone), params=dict(prop.params))
    for name in ("RDATE", "EXDATE"):
        props = component.get(name)
        if props is None:
            continue
        lists = props if isinstance(props, list) else [props]
        pinned = [vDDDLists([_pinned(d.dt, zone) for d in p.dts], params=dict(p.params)) for p in lists]
        component[name] = pinned if isinstance(props, list) else pinned[0]


def _key(uid: str, instant: datetime | None) -> str:
    """``uid`` or ``uid/20261214T003000Z``, cleaned as the column stores it; a UID too long for it is hashed."""
    base = clean_text(uid)
    if len(base) > MAX_KEY - len("/20261214T003000Z"):
        base = "sha256:" + hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()
    return base if instant is None else f"{base}/{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _zone_name(start: datetime, district: str) -> str:
    key = getattr(start.tzinfo, "key", None)
    if isinstance(key, str):
        return key
    return "UTC" if start.utcoffset() == timedelta(0) else district  # a custom VTIMEZONE: shown in district time


def _occurrence(component: Any, uid: str, repeats: bool, zone: ZoneInfo) -> tuple[Found | None, str | None]:
    """One expanded occurrence, or why it is not a briefing."""
    start, end = component["DTSTART"].dt, component["DTEND"].dt
    if not isinstance(start, datetime):
        return None, ALL_DAY
    if str(component.get("STATUS", "")).upper() == "CANCELLED":
        return None, CANCELLED
    start, end = _as_datetime(start, zone), _as_datetime(end, zone)
    span = end - start
    if span <= timedelta(0):
        return None, ZERO_LENGTH
    if span > MAX_DURATION:
        return None, TOO_LONG
    instant = None
    if repeats:
        # The original start names the occurrence, so a moved one keeps its meeting; recurring-ical-events gives
        # the occurrences a RANGE=THISANDFUTURE override moves that override's RECURRENCE-ID: those go by start.
        rid = component.get("RECURRENCE-ID")
        moved_range = rid is not None and str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE"
        instant = start if rid is None or moved_range else _as_datetime(rid.dt, start.tzinfo or zone)
    title = clean_text(str(component.get("SUMMARY", "")).strip(), MAX_TITLE).strip() or DEFAULT_TITLE
    found = Found(
        key=_key(uid, instant),
        uid=_key(uid, None),
        title=title,
        start=start.astimezone(UTC),
        duration=span.total_seconds(),
        timezone=_zone_name(start, zone.key),
    )
    return found, None


def _parse(data: bytes) -> Any:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise CalendarError([f"not an iCalendar file: {exc}"]) from None
    if isinstance(calendar, list) or calendar.name != "VCALENDAR":
        raise CalendarError(["expected one VCALENDAR object"])
    return calendar


def _read(data: bytes, district_tz: ZoneInfo, start: datetime, end: datetime) -> Expansion:
    calendar = _parse(data)
    result = Expansion()
    problems: list[str] = []
    dropped: set[int] = set()  # VEVENTs left out of the expansion (by id(), components are not hashable)
    too_frequent: set[str] = set()
    skipped_uids: dict[tuple[str, str], Skipped] = {}  # (uid, reason) → the event, one report per event
    derived = 0
    events = list(calendar.walk("VEVENT"))
    result.events = len(events)
    if not events:
        raise CalendarError(["no VEVENT in the file"])
    labels: dict[str, Skipped] = {}
    for index, component in enumerate(events, start=1):
        check = _check(component, district_tz, end)
        label = _label(index, component)
        derived += check.derived_uid
        uid = str(component["UID"])
        labels.setdefault(uid, label)
        if check.problem is not None:
            problems.append(f"{label.event}: {check.problem}")
            continue
        if check.skip is not None:
            skipped_uids.setdefault((uid, check.skip), label)
        if check.drop:
            dropped.add(id(component))
        if check.skip == TOO_FREQUENT:
            too_frequent.add(uid)
    if problems:
        raise CalendarError(problems)
    if derived:
        result.notes.append(Note(DERIVED_UID, str(derived)))
    # A series that repeats too often goes whole: its overrides alone would become one-off meetings.
    calendar.subcomponents = [
        c
        for c in calendar.subcomponents
        if not (c.name == "VEVENT" and (id(c) in dropped or str(c.get("UID")) in too_frequent))
    ]
    result.uids = {_key(str(c["UID"]), None) for c in events}
    repeating = {str(c["UID"]) for c in events if c.get("RRULE") or c.get("RDATE") or c.get("RECURRENCE-ID")}
    zone = _floating_zone(calendar, district_tz, result.notes)
    for component in calendar.walk("VEVENT"):
        try:
            _pin_floating(component, zone)
        except ValueError as exc:  # a broken value of an event kept unread (an all-day override)
            raise CalendarError([f"{_named(labels, str(component['UID'])).event}: {exc}"]) from None
    # Done here rather than by recurring-ical-events (x-wr-timezone): it takes a VTIMEZONE without TZNAME for a
    # floating time and rebuilds RECURRENCE-ID without its RANGE parameter; an unknown name would stop it.
    calendar.pop("X-WR-TIMEZONE", None)
    try:
        query = recurring_ical_events.of(calendar)
    except (ValueError, TypeError, KeyError) as exc:
        raise CalendarError([f"cannot expand: {exc}"]) from None
    seen: set[str] = set()
    for series in query.series:
        uid = str(series.uid)
        found = []
        try:
            for occurrence in series.between(start, end):
                item, why = _occurrence(occurrence.as_component(False), uid, uid in repeating, zone)
                if why is not None:
                    skipped_uids.setdefault((uid, why), _named(labels, uid))
                elif item is not None:
                    found.append(item)
                if len(found) > MAX_PER_EVENT:
                    break
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"{_named(labels, uid).event}: cannot expand: {exc}")
            continue
        if len(found) > MAX_PER_EVENT:
            skipped_uids.setdefault((uid, TOO_FREQUENT), _named(labels, uid))
            continue
        for item in found:
            if item.key not in seen:  # two occurrences one key: an override moved onto a start the rule has
                seen.add(item.key)
                result.occurrences.append(item)
        if len(result.occurrences) > MAX_PER_FILE:
            problems.append(
                f"more than {MAX_PER_FILE} occurrences between {start:%Y-%m-%d} and {end:%Y-%m-%d}; split the file"
            )
            break
    if problems:
        raise CalendarError(problems)
    result.occurrences.sort(key=lambda f: (f.start, f.key))
    result.skipped = [replace(label, reason=reason) for (_, reason), label in skipped_uids.items()]
    return result


def expand(data: bytes, *, district_tz: str, start: datetime, end: datetime) -> Expansion:
    """The file's occurrences overlapping [start, end), or CalendarError listing every problem found."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _read(data, ZoneInfo(district_tz), start, end)
    said = Counter(str(w.message) for w in caught)
    result.notes.extend(Note(PARSER_WARNING, text) for text in said)
    return result
