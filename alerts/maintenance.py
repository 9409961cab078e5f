"""Maintenance windows: is a window active at an instant, and does it cover an alert.

    window = window_from_config(entry, district_zone)        # the config's `maintenance:` entries
    active_window(windows, rule="link_down", site="tan-thinh", target="link", at=time.time())

A one-off window is active in [start, start + duration). A recurring one repeats its RRULE at the same
wall-clock time in its own time zone (like meetings, monitor/readiness/meetings.py), so "every Sunday 22:00 for
3 h" in Asia/Ho_Chi_Minh is Sunday 15:00–18:00 UTC, and a window that starts before midnight local time
and ends after it is still one occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from alerts.model import MaintenanceWindow

_UNTIL_RE = re.compile(r"UNTIL=(\d{8})(?:T(\d{6}))?(?=;|$)", re.IGNORECASE)


def parse_rrule(text: str, local_start: datetime) -> rrule:
    """One RFC 5545 RRULE anchored at ``local_start`` (aware); ValueError says what to write instead."""
    body = text.strip()
    body = body[len("RRULE:") :] if body.upper().startswith("RRULE:") else body

    def until_utc(match: re.Match[str]) -> str:
        # RFC 5545 wants UNTIL in UTC with a zoned DTSTART; people write local or date-only UNTILs.
        local = datetime.strptime(match.group(1) + (match.group(2) or "235959"), "%Y%m%d%H%M%S")
        return f"UNTIL={local.replace(tzinfo=local_start.tzinfo).astimezone(UTC):%Y%m%dT%H%M%SZ}"

    try:
        parsed: Any = rrulestr(_UNTIL_RE.sub(until_utc, body), dtstart=local_start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"rrule {text!r} is not a valid RFC 5545 RRULE ({exc}); e.g. FREQ=WEEKLY;BYDAY=SU") from None
    if not isinstance(parsed, rrule):
        raise ValueError("rrule must be one RRULE such as FREQ=WEEKLY;BYDAY=SU")
    return parsed


def is_active(window: MaintenanceWindow, at: float) -> bool:
    """Whether an occurrence of ``window`` covers the instant ``at`` (epoch seconds)."""
    if at < window.start:
        return False
    if window.rrule is None:
        return at < window.start + window.duration
    tz = ZoneInfo(window.timezone)
    rule = _recurrence(window.rrule, window.start, window.timezone)
    moment = datetime.fromtimestamp(at, tz)
    last = rule.before(moment, inc=True)  # the latest occurrence that started at or before `at`
    return last is not None and moment < last + timedelta(seconds=window.duration)


@lru_cache(maxsize=256)
def _recurrence(text: str, start: float, zone_name: str) -> rrule:
    # Parsed once per window definition; the engine asks every evaluation.
    return parse_rrule(text, datetime.fromtimestamp(start, ZoneInfo(zone_name)))


def covers(window: MaintenanceWindow, *, rule: str, site: str, target: str | None) -> bool:
    """Whether ``window``'s sites, targets and rules (empty = all) match an alert.

    A target matches itself and what belongs to it: window target "hub-core" covers the alert targets
    "hub-core" and "hub-core:GigabitEthernet0/0/0" (an interface of that device).
    """
    if window.sites and site not in window.sites:
        return False
    if window.rules and rule not in window.rules:
        return False
    if window.targets:
        return target is not None and any(target == t or target.startswith(f"{t}:") for t in window.targets)
    return True


def active_window(
    windows: Iterable[MaintenanceWindow], *, rule: str, site: str, target: str | None, at: float
) -> MaintenanceWindow | None:
    """The first window that is active at ``at`` and covers the alert, if any."""
    for window in windows:
        if covers(window, rule=rule, site=site, target=target) and is_active(window, at):
            return window
    return None


def window_from_config(entry: Any, district_zone: str) -> MaintenanceWindow:
    """A config `maintenance:` entry (alerts.config.MaintenanceConfig) as a window; a naive start is local time."""
    zone_name = entry.timezone or district_zone
    start: datetime = entry.start
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(zone_name))
    return MaintenanceWindow(
        id=entry.id,
        title=entry.title,
        start=start.timestamp(),
        duration=float(entry.duration),
        timezone=zone_name,
        rrule=entry.rrule,
        sites=tuple(entry.sites),
        targets=tuple(entry.targets),
        rules=tuple(entry.rules),
        source="config",
    )
