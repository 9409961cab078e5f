"""The calendar suite's two sides: giaoban's stored occurrences and recurring-ical-events' expansion of the same file.

    window = window_of(data, zone)                          # the calendar's own range, bounded
    outcome = await run_calendar(data, config, tmp_path)    # import, list, expand, compare

The oracle expands the file as it was shipped, read the way giaoban promises to read it: floating times in
X-WR-TIMEZONE where the file names one (recurring-ical-events does that), else in the district's zone; all-day,
zero-length, cancelled and over-long occurrences are not briefings, nor VEVENTs without DTSTART (see
_read_as_giaoban); the events giaoban reported as repeating too often are left out (their count is pinned).
Both sides are compared as multisets of (UTC start, title) over occurrences starting in the window.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from monitor.config.models import Config
from monitor.readiness.ics import IcsError, ImportReport, import_ics
from monitor.readiness.ics_expand import DEFAULT_DURATION, DEFAULT_TITLE, MAX_DURATION, MAX_TITLE, TOO_FREQUENT
from monitor.readiness.meetings import list_upcoming
from monitor.storage.database import Storage
from monitor.storage.safe_text import clean_text

MIN_SPAN = timedelta(days=365)  # a window holds a year of a series at least...
MAX_SPAN = timedelta(days=3 * 365)  # ...and three at most
AFTER_LAST = timedelta(days=90)
DEFAULT_WINDOW = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC))

Item = tuple[datetime, str]  # UTC start, title


@dataclass
class Outcome:
    refused: str | None = None  # the first problem, when giaoban refuses the file
    stored: Counter[Item] = field(default_factory=Counter)
    expected: Counter[Item] | None = None  # None: recurring-ical-events cannot expand it either
    oracle_error: str | None = None
    report: ImportReport | None = None

    @property
    def matches(self) -> bool:
        return self.refused is None and self.expected is not None and self.stored == self.expected

    def summary(self) -> str:
        """'refused', 'match N', 'differ +A -M' or 'no oracle'."""
        if self.refused is not None:
            return "refused"
        if self.expected is None:
            return "no oracle"
        if self.matches:
            return f"match {sum(self.stored.values())}"
        extra = sum((self.stored - self.expected).values())
        missing = sum((self.expected - self.stored).values())
        return f"differ +{extra} -{missing}"


def _instants(component: Any, zone: ZoneInfo) -> list[datetime]:
    found = []
    for name in ("DTSTART", "RECURRENCE-ID", "RDATE"):
        props = component.get(name)
        for prop in props if isinstance(props, list) else [props] if props is not None else []:
            try:
                values = [d.dt for d in prop.dts] if hasattr(prop, "dts") else [prop.dt]
            except (ValueError, AttributeError):
                continue
            for raw in values:
                value = raw[0] if isinstance(raw, tuple) else raw  # a PERIOD
                if isinstance(value, datetime):
                    found.append(value if value.tzinfo is not None else value.replace(tzinfo=zone))
                elif isinstance(value, date):
                    found.append(datetime(value.year, value.month, value.day, tzinfo=zone))
    return found


def _calendar(data: bytes) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except ValueError:
            return None
    return None if isinstance(calendar, list) else calendar


def window_of(data: bytes, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From a day before the first start to 90 days after the last, at least a year and at most three."""
    calendar = _calendar(data)
    instants = [i.astimezone(UTC) for c in calendar.walk("VEVENT") for i in _instants(c, zone)] if calendar else []
    if not instants:
        return DEFAULT_WINDOW
    first, last = min(instants), max(instants)
    start = first.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    end = min(max(last + AFTER_LAST, start + MIN_SPAN), start + MAX_SPAN)
    return start, end


def _read_as_giaoban(calendar: Any) -> None:
    """giaoban's reading rules applied to the input: they are documented in monitor/readiness/ics_expand.py.

    A VEVENT without DTSTART, or with a whole day as DTSTART (not an override), is no briefing and left out;
    recurring-ical-events cannot expand the first and makes a timed occurrence of the second where its DTEND is
    a date-time. A timed VEVENT written without an end lasts 2 h. A VEVENT without UID gets one.
    """
    kept = []
    for index, component in enumerate(calendar.subcomponents):
        if component.name == "VEVENT":
            start = getattr(component.get("DTSTART"), "dt", None)
            if start is None or (not isinstance(start, datetime) and component.get("RECURRENCE-ID") is None):
                continue
            if not str(component.get("UID", "")).strip():
                component["UID"] = f"oracle-{index}"  # recurring-ical-events uses id(): any distinct UID does
            if isinstance(start, datetime) and not (component.get("DTEND") or component.get("DURATION")):
                component.add("DURATION", DEFAULT_DURATION)
        kept.append(component)
    calendar.subcomponents = kept


def _title(component: Any) -> str:
    return clean_text(str(component.get("SUMMARY", "")).strip(), MAX_TITLE).strip() or DEFAULT_TITLE


def expected(data: bytes, zone: ZoneInfo, window: tuple[datetime, datetime], leave_out: set[str]) -> Counter[Item]:
    """recurring-ical-events' occurrences of the file that are briefings, starting in the window."""
    calendar = _calendar(data)
    if calendar is None:
        raise ValueError("icalendar cannot read it")
    _read_as_giaoban(calendar)
    start, end = window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = recurring_ical_events.of(calendar).between(start - timedelta(days=1), end + timedelta(days=1))
    items: Counter[Item] = Counter()
    for component in found:
        begin, stop = component["DTSTART"].dt, component["DTEND"].dt
        uid = str(component.get("UID", ""))
        if not isinstance(begin, datetime) or uid in leave_out:
            continue
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue
        begin = begin if begin.tzinfo is not None else begin.replace(tzinfo=zone)
        stop = stop if stop.tzinfo is not None else stop.replace(tzinfo=zone)
        if stop <= begin or stop - begin > MAX_DURATION:
            continue
        if start <= begin < end:
            items[(begin.astimezone(UTC), _title(component))] += 1
    return items


async def run_calendar(data: bytes, config: Config, directory: Path) -> Outcome:
    """Import into a fresh SQLite database, list the window, expand the file with the oracle, compare."""
    zone = ZoneInfo(config.district.timezone)
    window = window_of(data, zone)
    outcome = Outcome()
    storage = await Storage.open(f"sqlite:///{directory / 'giaoban.db'}")
    try:
        await storage.sync_inventory(config)
        try:
            outcome.report = await import_ics(storage, config, data, start=window[0], end=window[1])
        except IcsError as exc:
            outcome.refused = exc.problems[0]
            return outcome
        listed = await list_upcoming(storage, now=window[0], horizon=window[1] - window[0])
    finally:
        await storage.close()
    outcome.stored = Counter((o.start, o.meeting.title) for o in listed if window[0] <= o.start < window[1])
    too_frequent = {s.uid for s in outcome.report.skipped if s.reason == TOO_FREQUENT}
    try:
        outcome.expected = expected(data, zone, window, too_frequent)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        outcome.oracle_error = f"{type(exc).__name__}: {exc}"
    return outcome
