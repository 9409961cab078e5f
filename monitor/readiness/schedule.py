"""When readiness checks are due: each meeting occurrence at each of its lead times, and its T-0 summary.

Pure and clock-free: the engine passes ``now`` and what has already been checked (from the stored reports),
so a restart, an edited or cancelled meeting and a meeting added late all follow from the same rule:

- a lead time L of an occurrence starting at S is due from S - L until S;
- it is done when a report of that occurrence exists with a lead time ≤ L (a later check covers the earlier
  ones: a meeting added 20 minutes before its start gets one check now, not three);
- several due lead times of one occurrence collapse into one check, recorded under the smallest of them.

Cancelling a meeting removes its occurrences, so nothing of it is due; moving it makes new occurrences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.readiness.meetings import Occurrence


@dataclass(frozen=True, slots=True)
class DueCheck:
    occurrence: Occurrence
    lead_time: float  # the nominal lead time this check stands for, seconds


def lead_times_of(occurrence: Occurrence, default: Sequence[float]) -> list[float]:
    chosen = occurrence.meeting.lead_times or default
    return sorted({float(lead) for lead in chosen if lead > 0}, reverse=True)


def occurrence_key(occurrence: Occurrence) -> tuple[str, int]:
    return occurrence.meeting.id, int(occurrence.start.timestamp())


def due_checks(
    occurrences: Iterable[Occurrence],
    done: Mapping[tuple[str, int], Sequence[float]],
    *,
    now: datetime,
    default_lead_times: Sequence[float],
) -> list[DueCheck]:
    """The checks to run now: at most one per occurrence, the soonest-starting first."""
    due = []
    for occurrence in occurrences:
        if occurrence.start <= now:
            continue  # started: no more lead-time checks (the T-0 summary is separate)
        before = (occurrence.start - now).total_seconds()
        checked = done.get(occurrence_key(occurrence), ())
        reached = [lead for lead in lead_times_of(occurrence, default_lead_times) if lead >= before]
        pending = [lead for lead in reached if not any(c <= lead for c in checked)]
        if pending:
            due.append(DueCheck(occurrence, min(pending)))
    due.sort(key=lambda d: (d.occurrence.start, d.occurrence.meeting.id))
    return due


def due_summaries(
    occurrences: Iterable[Occurrence], sent: set[tuple[str, int]], *, now: datetime, grace: float
) -> list[Occurrence]:
    """Occurrences whose start has come within ``grace`` seconds and whose summary has not been sent."""
    return [
        o
        for o in occurrences
        if o.start <= now and (now - o.start).total_seconds() <= grace and occurrence_key(o) not in sent
    ]
