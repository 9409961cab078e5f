"""A readiness report: each participating site's verdict for one meeting occurrence, as stored or as joined.

    report = ReadinessReport.from_stored(stored, title=..., names=...)   one agent's stored report
    report = await joined_report(...)                                  every agent's newest verdicts (joined.py)
    report.to_json()                                                   the API's and `--json`'s shape

A joined report (issue 17) covers every participant of the meeting: a site no agent has reported on is
``UNKNOWN``, never ready. It also carries the province groups (``groups``, failing first, with each province's
counts) and, per site, which agent checked it and when (``sources``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.readiness.checks import SiteReadiness
from monitor.readiness.events import ReasonText
from monitor.storage.database import Report

UNKNOWN = "UNKNOWN"  # no agent reported on the site: computed by the join, never stored


@dataclass(frozen=True, slots=True)
class GroupCount:
    """One province (or the subtree a site without a province belongs to) in a joined report."""

    id: str
    name: str
    ready: int = 0
    degraded: int = 0
    not_ready: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.ready + self.degraded + self.not_ready + self.unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "province": self.id,
            "name": self.name,
            "total": self.total,
            "ready": self.ready,
            "degraded": self.degraded,
            "not_ready": self.not_ready,
            "unknown": self.unknown,
        }


@dataclass(frozen=True, slots=True)
class SiteSource:
    """Who checked a site of a joined report, and when."""

    checked_at: datetime
    agent: str | None
    report_id: int


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    meeting_id: str
    title: str
    occurrence_start: datetime  # UTC; the check time for ad-hoc checks
    lead_time: float
    checked_at: datetime
    sites: tuple[SiteReadiness, ...]
    names: dict[str, str]
    report_id: int | None = None
    # Joined reports only (issue 17): the province of each site, the provinces failing first, the sources.
    group_of: dict[str, str] = field(default_factory=dict)
    groups: tuple[GroupCount, ...] = ()
    sources: dict[str, SiteSource] = field(default_factory=dict)

    @property
    def ready(self) -> int:
        return sum(1 for s in self.sites if s.verdict == "READY")

    @property
    def not_ready(self) -> tuple[str, ...]:
        return tuple(s.site_id for s in self.sites if s.verdict != "READY")

    @property
    def degraded(self) -> tuple[str, ...]:
        """The sites of ``not_ready`` that are only DEGRADED: usable, to be named as such, not as "not ready"."""
        return tuple(s.site_id for s in self.sites if s.verdict == "DEGRADED")

    @property
    def unknown(self) -> tuple[str, ...]:
        """The sites of ``not_ready`` that no agent has reported on (joined reports)."""
        return tuple(s.site_id for s in self.sites if s.verdict == UNKNOWN)

    @property
    def all_ready(self) -> bool:
        return self.ready == len(self.sites)

    def only(self, keep: set[str]) -> ReadinessReport:
        """The same report restricted to the sites of ``keep`` (an agent's own sites, for its /metrics)."""
        kept = tuple(s for s in self.sites if s.site_id in keep)
        return ReadinessReport(
            self.meeting_id,
            self.title,
            self.occurrence_start,
            self.lead_time,
            self.checked_at,
            kept,
            self.names,
            self.report_id,
        )

    @classmethod
    def from_stored(cls, stored: Report, *, title: str = "", names: dict[str, str] | None = None) -> ReadinessReport:
        sites = []
        for result in stored.results:
            reasons = [dict(r) for r in result.reasons]
            sites.append(
                SiteReadiness(
                    result.site_id,
                    result.verdict,
                    tuple(
                        ReasonText(r["code"], r["message"], r["action"], r.get("severity", "hard"), r.get("fields"))
                        for r in reasons
                    ),
                    tuple(r.get("target") for r in reasons),
                )
            )
        return cls(
            meeting_id=stored.meeting_id,
            title=title,
            occurrence_start=stored.occurrence_start,
            lead_time=stored.lead_time,
            checked_at=stored.created_at,
            sites=tuple(sites),
            names=names or {},
            report_id=stored.id,
        )

    def _site_json(self, site: SiteReadiness) -> dict[str, Any]:
        out: dict[str, Any] = {
            "site": site.site_id,
            "name": self.names.get(site.site_id, site.site_id),
            "verdict": site.verdict,
            "reasons": site.reason_dicts(),
        }
        if self.group_of:
            out["province"] = self.group_of.get(site.site_id)
        source = self.sources.get(site.site_id)
        if source is not None:
            out["checked_at"] = source.checked_at.isoformat()
            out["agent"] = source.agent
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.report_id,
            "meeting": self.meeting_id,
            "title": self.title,
            "occurrence_start": self.occurrence_start.isoformat(),
            "lead_time_seconds": self.lead_time,
            "checked_at": self.checked_at.isoformat(),
            "sites_total": len(self.sites),
            "sites_ready": self.ready,
            "not_ready": list(self.not_ready),
        }
        if self.group_of:  # a joined report: the counts and the provinces, failing first
            out["sites_degraded"] = len(self.degraded)
            out["sites_not_ready"] = sum(1 for s in self.sites if s.verdict == "NOT_READY")
            out["sites_unknown"] = len(self.unknown)
            out["provinces"] = [group.to_json() for group in self.groups]
        out["sites"] = [self._site_json(s) for s in self.sites]
        return out
