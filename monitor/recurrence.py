"""Recurring series (meetings, maintenance windows): an RFC 5545 RRULE repeated at a wall-clock time in a zone.

    weekly = Series(start=datetime(2026, 12, 7, 0, 30, tzinfo=UTC), duration=7200, zone="Asia/Ho_Chi_Minh",
                    rrule="FREQ=WEEKLY;BYDAY=MO", exdates=(datetime(2026, 12, 21, 0, 30, tzinfo=UTC),))
    check(weekly)                          # refuse a rule that repeats too often or cannot be expanded cheaply
    occurrences(weekly, after, before)     # starts (UTC) of the occurrences overlapping [after, before)
    is_inside(weekly, instant)             # whether an occurrence is running at that instant

A recurrence keeps the wall-clock time of its first start in its own zone, so a 07:30 briefing stays at 07:30
across a DST change (Asia/Ho_Chi_Minh has none; Europe/Paris moves by an hour in UTC). EXDATEs are instants
that are skipped.

Every expansion is bounded (issue 13). `check` refuses, without expanding, a rule whose occurrences can be
closer than ``min_interval`` (default 1 h: a briefing is not every second), one with parts outside RFC 5545
(a DTSTART of its own, BYEASTER, INTERVAL=0), and, with one walk that cannot run past year 9999, a rule that
never occurs (dateutil would walk to year 9999 looking for it: 10 s for a daily one). It keeps its verdict
per series, so a stored row that breaks the rule costs that work once. `occurrences` checks first, then
walks bounded twice: by its window and by ``limit``, the number of occurrences it may walk (dateutil walks
from the series' first occurrence, so those before the window count too).

    ValueError
    ├── UnknownZone          not an IANA zone name
    └── RecurrenceError
        ├── InvalidRule      not one RFC 5545 RRULE of the parts this module expands
        ├── OutOfRange       a start outside FIRST_YEAR..LAST_YEAR (year 0001, 9999)
        ├── TooFrequent      occurrences closer than the minimum interval
        ├── NoOccurrence     the rule never occurs from its start
        └── TooManyOccurrences
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from itertools import pairwise, product
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

# Occurrences one expansion may walk, from the series' first: an hourly rule for 11 years, a daily one for 270, and
# at most about 0.4 s of dateutil's work. 10_000 would stop an hourly maintenance window in its second year.
DEFAULT_LIMIT = 100_000
MIN_INTERVAL = 3600.0  # seconds: briefings and maintenance windows repeat at most a few times a day
MAX_RULE_LENGTH = 500
MAX_STEP = 100 * 366 * 86400.0  # INTERVAL × FREQ: a larger step (DAILY;INTERVAL=10^9) makes dateutil loop for ever
FIRST_YEAR, LAST_YEAR = 1970, 2100  # a start outside is a typing mistake, and year 1 makes every walk long
_UNTIL_RE = re.compile(r"UNTIL=(\d{8})(?:T(\d{6}))?(?=;|$)", re.IGNORECASE)
_UNTIL_UTC_RE = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
_INSTANT = timedelta(microseconds=1)  # [at, at + 1 µs) is the instant `at` at datetime's resolution
_UNIT = {"YEARLY": 366 * 86400, "MONTHLY": 31 * 86400, "WEEKLY": 7 * 86400, "DAILY": 86400, "HOURLY": 3600,
         "MINUTELY": 60, "SECONDLY": 1}  # fmt: skip
_DAY = r"(?:[+-]?\d{1,2})?(?:MO|TU|WE|TH|FR|SA|SU)"
# The recur-rule-parts of RFC 5545 §3.3.10, each value's form. BYEASTER (a dateutil extension) and DTSTART are
# not among them: the first can make dateutil fail mid-walk, the second would move the start back to year 1.
_PARTS = {
    "FREQ": r"[A-Z]+",  # its value is dateutil's to judge: "FREQ=FORTNIGHTLY" keeps dateutil's reason
    "UNTIL": r"\d{8}(?:T\d{6}Z?)?",
    "COUNT": r"\d{1,9}",
    "INTERVAL": r"\d{1,9}",
    "BYSECOND": r"\d{1,2}(?:,\d{1,2})*",
    "BYMINUTE": r"\d{1,2}(?:,\d{1,2})*",
    "BYHOUR": r"\d{1,2}(?:,\d{1,2})*",
    "BYDAY": rf"{_DAY}(?:,{_DAY})*",
    "BYMONTHDAY": r"[+-]?\d{1,2}(?:,[+-]?\d{1,2})*",
    "BYYEARDAY": r"[+-]?\d{1,3}(?:,[+-]?\d{1,3})*",
    "BYWEEKNO": r"[+-]?\d{1,2}(?:,[+-]?\d{1,2})*",
    "BYMONTH": r"\d{1,2}(?:,\d{1,2})*",
    "BYSETPOS": r"[+-]?\d{1,3}(?:,[+-]?\d{1,3})*",
    "WKST": r"MO|TU|WE|TH|FR|SA|SU",
}
_RANGES = {"BYSECOND": 59, "BYMINUTE": 59, "BYHOUR": 23}
# The Gregorian calendar repeats every 400 years (146,097 days, a whole number of weeks): a rule moved by a
# multiple of that finds the same occurrences, and dateutil's walk stops at year 9999 whatever the rule.
_CYCLE_YEARS = 400
_SEARCH_YEARS = 50  # a rule must occur within this many years of its start (the walk covers 50 to 450 years)


class UnknownZone(ValueError):
    """A time zone name that is not in the IANA database."""


class RecurrenceError(ValueError):
    """A recurrence that cannot be expanded as written."""


def _shown(rule: str) -> str:
    return repr(rule if len(rule) <= 80 else rule[:80] + "…")


class InvalidRule(RecurrenceError):
    """Not one RFC 5545 RRULE; ``reason`` is dateutil's or ours (None: it holds several rules or dates)."""

    def __init__(self, rule: str, reason: str | None) -> None:
        if reason is None:
            message = "rrule must be one RRULE such as FREQ=WEEKLY;BYDAY=SU"
        else:
            message = f"rrule {_shown(rule)} is not a valid RFC 5545 RRULE ({reason}); e.g. FREQ=WEEKLY;BYDAY=SU"
        super().__init__(message)
        self.rule = rule
        self.reason = reason


class OutOfRange(RecurrenceError):
    """A start (or an excluded date) outside FIRST_YEAR..LAST_YEAR."""

    def __init__(self, what: str, moment: datetime) -> None:
        super().__init__(f"{what} {moment.date().isoformat()} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
        self.what = what


class TooFrequent(RecurrenceError):
    """Occurrences of the rule can be ``gap`` seconds apart, closer than ``minimum``."""

    def __init__(self, rule: str, gap: float, minimum: float) -> None:
        super().__init__(
            f"rrule {_shown(rule)} repeats every {span_text(gap)}; a briefing or a maintenance window repeats at"
            f" most once every {span_text(minimum)}: use a coarser FREQ, a longer INTERVAL or fewer BYHOUR, BYMINUTE"
            " or BYSECOND values"
        )
        self.rule = rule
        self.gap = gap
        self.minimum = minimum


class NoOccurrence(RecurrenceError):
    """The rule has no occurrence within _SEARCH_YEARS of its start (or none at all)."""

    def __init__(self, rule: str) -> None:
        super().__init__(
            f"rrule {_shown(rule)} never occurs within {_SEARCH_YEARS} years of its start; check its BYMONTH,"
            " BYMONTHDAY, BYDAY, INTERVAL, COUNT and UNTIL"
        )
        self.rule = rule


class TooManyOccurrences(RecurrenceError):
    """An expansion walked more than ``limit`` occurrences before reaching the end of its window."""

    def __init__(self, rule: str, limit: int, before: datetime) -> None:
        super().__init__(
            f"rrule {_shown(rule)} repeats more than {limit} times from its start to"
            f" {before.astimezone(UTC):%Y-%m-%d %H:%M} UTC; use a longer interval or end it with UNTIL or COUNT"
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


def span_text(seconds: float) -> str:
    """3600 → '1 h', 90 → '1 min 30 s': how long a gap is, in the units a reader expects."""
    whole = round(seconds)
    if whole < 1:
        return f"{seconds:g} s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; UnknownZone says what to write instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory of the database, e.g. "America"
        raise UnknownZone(f"unknown time zone {name!r}; use an IANA name such as Asia/Ho_Chi_Minh") from None


def check_moment(moment: datetime, what: str = "start") -> None:
    """Refuse a start or excluded date outside FIRST_YEAR..LAST_YEAR (naive or aware, in its own zone)."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise OutOfRange(what, moment)


def _parts(text: str) -> dict[str, str]:
    """The NAME=VALUE parts of one RRULE body, upper-cased and checked against RFC 5545's forms."""
    if len(text) > MAX_RULE_LENGTH:
        raise InvalidRule(text, f"longer than {MAX_RULE_LENGTH} characters")
    if any(c in text for c in "\r\n"):
        raise InvalidRule(text, None)  # lines of their own: DTSTART, RDATE, another RRULE
    found: dict[str, str] = {}
    for part in text.upper().split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            raise InvalidRule(text, f"{part!r} is not NAME=VALUE")
        form = _PARTS.get(name)
        if form is None:
            raise InvalidRule(text, f"unknown parameter {name!r}")
        if name in found:
            raise InvalidRule(text, f"{name} given twice")
        if not re.fullmatch(form, value, re.ASCII):
            raise InvalidRule(text, f"invalid {name!r}: {value}")
        top = _RANGES.get(name)
        if top is not None and any(int(v) > top for v in value.split(",")):
            raise InvalidRule(text, f"{name} values are 0 to {top}")
        found[name] = value
    if found.get("INTERVAL") is not None and int(found["INTERVAL"]) < 1:
        raise InvalidRule(text, "INTERVAL must be at least 1")
    return found


def _body(text: str) -> str:
    body = text.strip()
    return body[len("RRULE:") :] if body.upper().startswith("RRULE:") else body


def _utc_until(body: str, local_start: datetime) -> str:
    def until_utc(match: re.Match[str]) -> str:
        # RFC 5545 wants UNTIL in UTC with a zoned DTSTART; people and calendars also write local or date-only
        # UNTILs (a date-only one ends with that local day), which dateutil refuses with an aware DTSTART.
        local = datetime.strptime(match.group(1) + (match.group(2) or "235959"), "%Y%m%d%H%M%S")
        return f"UNTIL={local.replace(tzinfo=local_start.tzinfo).astimezone(UTC):%Y%m%dT%H%M%SZ}"

    try:
        return _UNTIL_RE.sub(until_utc, body)
    except (ValueError, OverflowError) as exc:  # UNTIL=99999999, or one that leaves datetime's years
        raise InvalidRule(body, f"invalid 'UNTIL': {exc}") from None


def parse_rrule(text: str, local_start: datetime) -> rrule:
    """One RFC 5545 RRULE (an "RRULE:" prefix is allowed) anchored at ``local_start`` (aware, in the series' zone)."""
    body = _body(text)
    _parts(body)
    try:
        parsed = rrulestr(_utc_until(body, local_start), dtstart=local_start)
    except (ValueError, TypeError) as exc:
        raise InvalidRule(text, str(exc)) from None
    if not isinstance(parsed, rrule):  # several RRULEs, or RDATE/EXDATE lines: a set, not one rule
        raise InvalidRule(text, None)
    return parsed


def _gap(parts: dict[str, str], local_start: datetime) -> float:
    """The smallest distance two occurrences can have, from FREQ, INTERVAL and the BYHOUR/MINUTE/SECOND sets.

    Within a step (a day for DAILY and coarser, an hour for HOURLY...) the times are the product of the BY sets;
    across steps the distance is at least the step less their spread. Day filters (BYDAY, BYMONTH, BYSETPOS)
    only remove occurrences, so they never make a gap smaller: this bound is safe without expanding anything.
    """
    freq = parts.get("FREQ", "")
    step = int(parts.get("INTERVAL", "1")) * _UNIT.get(freq, 86400)

    def values(name: str, default: int) -> list[int]:
        return [int(v) for v in parts[name].split(",")] if name in parts else [default]

    seconds = values("BYSECOND", local_start.second)
    if freq == "SECONDLY":
        times = [0]
    elif freq == "MINUTELY":
        times = seconds
    elif freq == "HOURLY":
        times = [m * 60 + s for m, s in product(values("BYMINUTE", local_start.minute), seconds)]
    else:
        hours, minutes = values("BYHOUR", local_start.hour), values("BYMINUTE", local_start.minute)
        times = [h * 3600 + m * 60 + s for h, m, s in product(hours, minutes, seconds)]
        step = step if freq == "DAILY" else 86400  # weekly or monthly days can be consecutive (BYDAY=MO,TU)
    times = sorted(set(times))
    inside = [b - a for a, b in pairwise(times)]
    return float(min([*inside, step - (times[-1] - times[0])]))


def _moved(body: str, local_start: datetime) -> rrule:
    """The rule from its start moved by whole 400-year cycles to just before year 9999 - _SEARCH_YEARS."""
    years = max(0, (9999 - _SEARCH_YEARS - local_start.year) // _CYCLE_YEARS) * _CYCLE_YEARS

    def until_moved(match: re.Match[str]) -> str:
        until = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
        if until.year + years > 9998:
            return "UNTIL=99981231T000000Z"  # past the end of the walk anyway
        return f"UNTIL={until.replace(year=until.year + years):%Y%m%dT%H%M%S}Z"

    moved = _UNTIL_UTC_RE.sub(until_moved, _utc_until(body, local_start))
    parsed = rrulestr(moved, dtstart=local_start.replace(year=local_start.year + years))
    assert isinstance(parsed, rrule)  # parse_rrule said so of the same body
    return parsed


@lru_cache(maxsize=256)
def _rule(text: str, start: float, zone_name: str) -> rrule:
    # Parsed once per series: the alert engine asks about every window on every pass. The key holds the zone's
    # name because aware datetimes of the same instant in different zones are equal and hash alike.
    return parse_rrule(text, datetime.fromtimestamp(start, zone(zone_name)))


@lru_cache(maxsize=1024)
def _verdict(text: str, start: float, zone_name: str, min_interval: float) -> Callable[[], RecurrenceError] | None:
    # What check() raises, made afresh each time (an exception raised again keeps growing its traceback).
    try:
        local_start = datetime.fromtimestamp(start, zone(zone_name))
    except (OverflowError, OSError, ValueError) as exc:  # a stored start past datetime's years, or an unknown zone
        return partial(InvalidRule, text, f"its start cannot be read: {exc}")
    if not FIRST_YEAR <= local_start.year <= LAST_YEAR:
        return partial(OutOfRange, "start", local_start)
    try:
        _rule(text, start, zone_name)
    except InvalidRule as exc:
        return partial(InvalidRule, exc.rule, exc.reason)
    body = _body(text)
    parts = _parts(body)
    step = int(parts.get("INTERVAL", "1")) * _UNIT.get(parts.get("FREQ", ""), 86400)
    if step > MAX_STEP:
        return partial(InvalidRule, text, "INTERVAL makes more than 100 years between occurrences")
    if min_interval > 0 and (gap := _gap(parts, local_start)) < min_interval:
        return partial(TooFrequent, text, gap, min_interval)
    try:
        first = next(iter(_moved(body, local_start)), None)
    except (ValueError, TypeError, IndexError, OverflowError) as exc:  # dateutil failing in the middle of a walk
        return partial(InvalidRule, text, str(exc))
    return partial(NoOccurrence, text) if first is None else None


def check(series: Series, *, min_interval: float = MIN_INTERVAL) -> None:
    """Refuse a recurrence that repeats more often than ``min_interval`` (0: any) or cannot be expanded cheaply."""
    if series.rrule is not None:
        problem = _verdict(series.rrule, series.start.timestamp(), series.zone, min_interval)
        if problem is not None:
            raise problem()


def occurrences(
    series: Series,
    after: datetime,
    before: datetime,
    *,
    limit: int = DEFAULT_LIMIT,
    min_interval: float = MIN_INTERVAL,
) -> list[datetime]:
    """Starts (UTC) of the occurrences that overlap [after, before), running ones included, in order."""
    span = timedelta(seconds=series.duration)
    if series.rrule is None:
        return [series.start.astimezone(UTC)] if series.start < before and series.start + span > after else []
    check(series, min_interval=min_interval)
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
