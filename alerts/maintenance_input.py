"""Maintenance windows as the CLI and the API receive them: validated, in the district's time, stored in UTC.

    window = build_window(config, title="Bảo trì tuyến cáp", start="2026-12-07T22:00", duration="2h",
                          rrule="FREQ=WEEKLY;BYDAY=SU", sites=["tan-thinh"], rules=["link_down"], source="cli")
    await store.add_maintenance(window)
    next_times(window, now)          # the running or next occurrence, for listings

A naive start is wall-clock time in the window's zone (default: the district's); a recurrence repeats at the
same wall-clock time there, exactly as meetings do (monitor/recurrence.py computes both). Empty ``sites``,
``targets`` or ``rules`` mean "all". Every fault is a MaintenanceError naming the field (API: 400 with it);
a rule that repeats more often than hourly is one (issue 13).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal

from alerts.maintenance import series
from alerts.model import MaintenanceWindow
from monitor.config.models import Config
from monitor.errors import UsageError
from monitor.readiness.meetings import MeetingError, check_rule, parse_start, to_utc, zone
from monitor.recurrence import occurrences
from probes.core.units import parse_duration

MAX_DURATION = 366 * 86400.0
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./:-]{0,199}$")


class MaintenanceError(UsageError):
    """A window that cannot be stored as given; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _names(values: str | Iterable[str] | None, field: str) -> tuple[str, ...]:
    if values is None:
        return ()
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)
    bad = [v for v in items if not isinstance(v, str) or not _NAME_RE.match(v)]
    if bad:
        raise MaintenanceError(f"{field}: {bad[0]!r} is not an id (letters, digits, - _ . / :)", field)
    return tuple(dict.fromkeys(items))


def build_window(
    config: Config,
    *,
    title: str,
    start: str | datetime,
    duration: str | float,
    rrule: str | None = None,
    timezone: str | None = None,
    sites: str | Iterable[str] | None = None,
    targets: str | Iterable[str] | None = None,
    rules: str | Iterable[str] | None = None,
    source: Literal["config", "cli", "api"] = "api",
    created_by: str | None = None,
    window_id: str | None = None,
) -> MaintenanceWindow:
    """Validate every input (MaintenanceError names the field) and normalise the start to UTC."""
    title = title.strip()
    if not title or len(title) > 500:
        raise MaintenanceError("title must be 1 to 500 characters", "title")
    tz_name = timezone or config.organisation.timezone
    try:
        tz = zone(tz_name)
        start_utc = parse_start(start, tz) if isinstance(start, str) else to_utc(start, tz)
    except MeetingError as exc:
        raise MaintenanceError(str(exc), exc.field) from None
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise MaintenanceError(str(exc), "duration") from None
    except OverflowError:  # a 5000-digit number
        seconds = float("inf")
    if not 0 < seconds <= MAX_DURATION:
        raise MaintenanceError("duration must be more than 0 and at most 366 days", "duration")
    site_ids = _names(sites, "sites")
    known = {s.id for s in config.sites}
    unknown = [s for s in site_ids if s not in known]
    if unknown:
        raise MaintenanceError(f"unknown site(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}", "sites")
    if created_by is not None and not 0 < len(created_by) <= 100:
        raise MaintenanceError("created_by must be 1 to 100 characters", "created_by")
    window = MaintenanceWindow(
        id=window_id or f"mw-{secrets.token_hex(4)}",
        title=title,
        start=start_utc.timestamp(),
        duration=seconds,
        timezone=tz_name,
        rrule=rrule.strip() if rrule and rrule.strip() else None,
        sites=site_ids,
        targets=_names(targets, "targets"),
        rules=_names(rules, "rules"),
        source=source,
        created_by=created_by,
    )
    if window.rrule is not None:
        try:  # refuse a bad rule now, not when the engine first evaluates it
            check_rule(window.rrule, start_utc, tz_name)
        except MeetingError as exc:
            raise MaintenanceError(str(exc), "rrule") from None
    return window


def next_times(
    window: MaintenanceWindow, now: datetime, *, horizon: timedelta = timedelta(days=400)
) -> datetime | None:
    """Start (UTC) of the running or next occurrence, None when the window is over.

    RecurrenceError for a stored rule that breaks the rules of entry; bounded, but call it off the event loop.
    """
    after = max(now, datetime.fromtimestamp(window.start, UTC))  # a future window: from its own start
    found = occurrences(series(window), after, after + horizon)
    return found[0] if found else None
