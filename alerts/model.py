"""The values the alert engine, its store and the outbox pass between them.

An alert is (rule, site, target) with a state: pending → firing → resolved (README "Alerts"). The engine
decides transitions; the store (alerts/store.py) keeps alerts, acknowledgements and maintenance windows in
the database; the outbox (alerts/outbox.py) holds one row per (notification, channel) until delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

AlertState = Literal["pending", "firing", "resolved"]
Severity = Literal["critical", "warning", "info"]


def alert_id(rule: str, site: str, target: str | None) -> str:
    """Stable id of an alert: "link_down/tan-thinh/link"; the API and acknowledgements use it."""
    return f"{rule}/{site}/{target or '-'}"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: str
    rule: str
    site: str
    target: str | None
    severity: Severity
    state: AlertState
    labels: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""  # one line in the district's locale, for lists (API, board, CLI)
    started_at: float = 0.0  # condition first seen (epoch s)
    fired_at: float | None = None
    resolved_at: float | None = None
    acked_at: float | None = None
    acked_by: str | None = None
    last_notified_at: float | None = None
    suppressed_by: str | None = None  # id of the parent alert this one is folded into, or "maintenance:ID"


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Silences matching alerts while active; recurring windows repeat in their own time zone."""

    id: str
    title: str
    start: float  # first occurrence, epoch s (UTC)
    duration: float  # seconds
    timezone: str = "Asia/Ho_Chi_Minh"
    rrule: str | None = None
    sites: tuple[str, ...] = ()  # empty = every site
    targets: tuple[str, ...] = ()  # empty = every target of those sites
    rules: tuple[str, ...] = ()  # empty = every rule
    source: Literal["config", "cli", "api"] = "api"
    created_by: str | None = None
