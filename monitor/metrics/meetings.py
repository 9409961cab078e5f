"""The ``giaoban_meeting_*`` series: the readiness engine's latest reports of each upcoming meeting.

Series (``meeting`` is the meeting's id)::

    giaoban_meeting_start_timestamp_seconds{meeting}          next (or running) occurrence, within a day
    giaoban_meeting_sites{meeting}                           sites in the latest report of that occurrence
    giaoban_meeting_ready_sites{meeting}                     of which READY
    giaoban_meeting_site_ready{meeting,site}                 1 ready, 0.5 degraded, 0 not ready
    giaoban_readiness_check_timestamp_seconds{meeting}       when that report was made
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from monitor.metrics.exposition import Family, TextSource, escape, fmt
from monitor.readiness.engine import MeetingSnapshot
from monitor.readiness.schedule import occurrence_key

READY_VALUE = {"READY": 1.0, "DEGRADED": 0.5, "NOT_READY": 0.0}

MEETING_START = Family("giaoban_meeting_start_timestamp_seconds", "gauge", "Start of the meeting's next occurrence.")
MEETING_SITES = Family("giaoban_meeting_sites", "gauge", "Sites taking part in the meeting's next occurrence.")
MEETING_READY = Family("giaoban_meeting_ready_sites", "gauge", "Sites READY in the latest readiness report.")
SITE_READY = Family("giaoban_meeting_site_ready", "gauge", "Site readiness: 1 ready, 0.5 degraded, 0 not ready.")
CHECKED = Family("giaoban_readiness_check_timestamp_seconds", "gauge", "When the latest readiness report was made.")
FAMILIES = (MEETING_START, MEETING_SITES, MEETING_READY, SITE_READY, CHECKED)


def meeting_text(snapshot: MeetingSnapshot) -> str:
    """The meeting series of ``snapshot``: each meeting's next occurrence within a day and its latest report."""
    upcoming, latest, now = snapshot.upcoming, snapshot.latest, snapshot.now
    lines: dict[Family, list[str]] = {family: [] for family in FAMILIES}
    seen: set[str] = set()
    for occurrence in upcoming:  # by start: the first of each meeting is its next (or running) one
        meeting = occurrence.meeting
        if meeting.id in seen or occurrence.start > now + timedelta(days=1):
            continue
        seen.add(meeting.id)
        label = f'meeting="{escape(meeting.id)}"'
        lines[MEETING_START].append(f"{MEETING_START.name}{{{label}}} {fmt(occurrence.start.timestamp())}\n")
        report = latest.get(occurrence_key(occurrence))
        if report is None:
            continue
        lines[MEETING_SITES].append(f"{MEETING_SITES.name}{{{label}}} {fmt(len(report.sites))}\n")
        lines[MEETING_READY].append(f"{MEETING_READY.name}{{{label}}} {fmt(report.ready)}\n")
        lines[CHECKED].append(f"{CHECKED.name}{{{label}}} {fmt(report.checked_at.timestamp())}\n")
        for r in report.sites:
            value = READY_VALUE[r.verdict]
            lines[SITE_READY].append(f'{SITE_READY.name}{{{label},site="{escape(r.site_id)}"}} {fmt(value)}\n')
    return "".join(family.header() + "".join(rows) for family, rows in lines.items() if rows)


def meetings_source(snapshot: Callable[[], MeetingSnapshot]) -> TextSource:
    """The /metrics source of the readiness engine's ``snapshot``, read at each scrape."""
    return TextSource("meetings", FAMILIES, lambda: meeting_text(snapshot()))
