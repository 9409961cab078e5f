"""What the readiness engine tells the alerting: a site not ready at a lead time, a site recovered, the T-0 summary.

The readiness engine (monitor/readiness/engine.py) emits these; the alert engine (alerts/) turns them into alerts
and notifications for the site's technicians and the district's administrators. Sentences are already in
the district's locale: the engine that measured knows best what to say and what to do about it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor.i18n import Locale
from monitor.readiness.texts import TEXTS, render

EventKind = Literal["site_not_ready", "site_recovered", "summary"]


@dataclass(frozen=True, slots=True)
class ReasonText:
    """One failing check: a stable code (alert rules and translations key on it), a sentence and an action."""

    code: str
    message: str
    action: str
    severity: Literal["hard", "soft"] = "hard"  # soft: only DEGRADED
    fields: Mapping[str, Any] | None = None  # the measured values the sentence was made from

    def in_locale(self, locale: Locale) -> tuple[str, str]:
        """(sentence, action) in another locale, when the values are known; else as they were written."""
        if self.fields is None or self.code not in TEXTS:
            return self.message, self.action
        return render(self.code, locale, self.fields)


@dataclass(frozen=True, slots=True)
class ReadinessEvent:
    kind: EventKind
    meeting_id: str
    meeting_title: str
    occurrence_start: datetime  # aware, UTC
    lead_time: float  # seconds before the start at which the check ran; 0 for the summary
    site_id: str | None = None  # None for the summary
    site_name: str | None = None
    verdict: Literal["READY", "DEGRADED", "NOT_READY"] | None = None
    reasons: tuple[ReasonText, ...] = ()
    ready: int = 0  # summary: sites ready
    total: int = 0  # summary: participating sites
    not_ready: tuple[str, ...] = ()  # summary: ids of the sites not ready (DEGRADED ones included)
    degraded: tuple[str, ...] = ()  # summary: those of not_ready that are only DEGRADED (named as such)
    report_id: int | None = None

    @property
    def alert_id(self) -> str:
        """Stable id of the meeting alert this event opens or closes (one per meeting occurrence and site)."""
        return f"site_not_ready/{self.meeting_id}/{int(self.occurrence_start.timestamp())}/{self.site_id or '-'}"


ReadinessSink = Callable[[ReadinessEvent], Awaitable[None]]
