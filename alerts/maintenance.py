"""Maintenance windows: is a window active at an instant, and does it cover an alert.

    window = window_from_config(entry, district_zone)        # the config's `maintenance:` entries
    active_window(windows, rule="link_down", site="tan-thinh", target="link", at=time.time())

A one-off window is active in [start, start + duration). A recurring one repeats its RRULE at the same
wall-clock time in its own time zone (like meetings; monitor/recurrence.py computes both), so "every Sunday
22:00 for 3 h" in Asia/Ho_Chi_Minh is Sunday 15:00–18:00 UTC, and a window that starts before midnight local
time and ends after it is still one occurrence.

    active_windows(windows, at)     # the engine's pass, off the event loop: broken rules logged, never active

A stored window whose rule breaks the rules of entry (FREQ=SECONDLY, from before they existed) silences
nothing: it is logged once and counted inactive, so its alerts still go out (issue 13).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from alerts.model import MaintenanceWindow
from monitor.recurrence import RecurrenceError, Series, is_inside, zone

log = logging.getLogger(__name__)
_reported: set[tuple[str, str | None, str]] = set()  # broken windows already logged: once each, not every pass


def series(window: MaintenanceWindow) -> Series:
    """The window's times, for monitor/recurrence.py."""
    return Series(datetime.fromtimestamp(window.start, UTC), window.duration, window.timezone, window.rrule)


def is_active(window: MaintenanceWindow, at: float) -> bool:
    """Whether an occurrence of ``window`` covers the instant ``at`` (epoch seconds); RecurrenceError if broken."""
    return is_inside(series(window), datetime.fromtimestamp(at, UTC))


def active_windows(windows: Iterable[MaintenanceWindow], at: float) -> list[MaintenanceWindow]:
    """The windows active at ``at``; a broken one is logged once and left out. Bounded; for a thread."""
    found = []
    for window in windows:
        try:
            if is_active(window, at):
                found.append(window)
        except RecurrenceError as exc:
            report_broken(window, str(exc))
    return found


def report_broken(window: MaintenanceWindow, why: str) -> None:
    """Log a window whose rule cannot be expanded, once per process (the engine passes every few seconds)."""
    key = (window.id, window.rrule, why)
    if key not in _reported:
        if len(_reported) > 10_000:
            _reported.clear()
        _reported.add(key)
        log.warning("maintenance window %s (%s) silences nothing: %s", window.id, window.title, why)


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


def covering(
    windows: Iterable[MaintenanceWindow], *, rule: str, site: str, target: str | None
) -> MaintenanceWindow | None:
    """The first of ``windows`` (active ones, from active_windows) that covers the alert, if any."""
    return next((w for w in windows if covers(w, rule=rule, site=site, target=target)), None)


def active_window(
    windows: Iterable[MaintenanceWindow], *, rule: str, site: str, target: str | None, at: float
) -> MaintenanceWindow | None:
    """The first window that is active at ``at`` and covers the alert, if any."""
    return covering(active_windows(windows, at), rule=rule, site=site, target=target)


def window_from_config(entry: Any, district_zone: str) -> MaintenanceWindow:
    """A config `maintenance:` entry (alerts.config.MaintenanceConfig) as a window; a naive start is local time."""
    zone_name = entry.timezone or district_zone
    start: datetime = entry.start
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone(zone_name))
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
