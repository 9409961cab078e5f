"""The `alerts:` and `maintenance:` sections of the inventory (pydantic; monitor/config/models.py holds them).

    alerts:
      admins: [hoa]                       # technician ids who get every alert and the meeting summaries
      reminder_interval: 30m              # 0 = no reminders
      external_url: https://giaoban.example   # links in messages to the board: {external_url}/#alert-ID
      rules:
        link_loss: {for: 10m, severity: critical}
        endpoint_down: {enabled: false}
    maintenance:
      - {id: vnpt-sunday, title: "Bảo trì VNPT", start: "2026-12-06T22:00", duration: 3h,
         rrule: "FREQ=WEEKLY;BYDAY=SU", sites: [hub]}

Rule names come from alerts/catalog.py; cross-references (admins, maintenance sites and targets) are
checked in monitor/config/references.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.catalog import RULES, RuleSpec
from alerts.model import Severity
from monitor.recurrence import Series, check, check_moment, zone
from probes.core.ids import check_id, unknown
from probes.core.units import Duration, Ratio


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _known_rules(names: Iterable[str], *, meeting_ok: bool = True) -> None:
    known = [name for name, spec in RULES.items() if meeting_ok or spec.continuous]
    for name in names:
        if name not in known:
            raise ValueError(unknown("alert rule", name, known))


class RuleOverride(_Strict):
    """Changes to one rule's defaults (alerts/catalog.py)."""

    for_: Duration | None = Field(None, alias="for", ge=0, description="how long the condition holds before firing")
    severity: Severity | None = None
    enabled: bool = True


class AlertsConfig(_Strict):
    rules: dict[str, RuleOverride] = Field(default_factory=dict, description="per-rule for/severity/enabled")
    admins: list[str] = Field(default_factory=list, description="technician ids who receive every alert")
    reminder_interval: Duration = Field(1800.0, ge=0, description="repeat a firing, unacknowledged alert; 0 = off")
    resend_interval: Duration = Field(
        60.0, gt=0, description="push firing alerts to Alertmanager again this often (below its resolve_timeout)"
    )
    topology_grace: Duration = Field(
        60.0, ge=0, description="extra wait before an alert of a site with a parent fires (its parent may be down)"
    )
    external_url: str | None = Field(None, description="the service's public URL, for links in messages")
    certificate_warning: Duration = Field(14 * 86400.0, gt=0, description="warn when a certificate expires sooner")
    rebooted_within: Duration = Field(600.0, ge=0, description="a device up for less than this has rebooted")
    saturation: Ratio | None = Field(None, description="interface utilisation that alerts; default 1 - headroom")
    meeting_alert_expiry: Duration = Field(
        4 * 3600.0, gt=0, description="a meeting's not-ready alerts resolve this long after its start"
    )

    @field_validator("rules")
    @classmethod
    def _rule_names(cls, value: dict[str, RuleOverride]) -> dict[str, RuleOverride]:
        _known_rules(value)
        return value

    @field_validator("external_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not a URL; write e.g. https://giaoban.example.org")
        return value.rstrip("/") if value else value

    def rule(self, name: str) -> RuleSpec:
        """The rule as configured: the catalogue's defaults with this config's overrides."""
        spec = RULES[name]
        override = self.rules.get(name)
        if override is None:
            return spec
        return RuleSpec(
            name=spec.name,
            alertname=spec.alertname,
            severity=override.severity or spec.severity,
            for_=spec.for_ if override.for_ is None else override.for_,
            topology_root=spec.topology_root,
            continuous=spec.continuous,
            service=spec.service,
            in_meeting=spec.in_meeting,
            band_of=spec.band_of,
        )

    def enabled(self, name: str) -> bool:
        override = self.rules.get(name)
        return override is None or override.enabled


class MaintenanceConfig(_Strict):
    """A maintenance window: matching alerts are silenced while it is active."""

    id: str
    title: str = Field(min_length=1, max_length=500)
    start: datetime = Field(description="naive = the window's (else the district's) time, e.g. \"2026-12-06T22:00\"")
    duration: Duration = Field(gt=0)
    timezone: str | None = None
    rrule: str | None = Field(None, description="recurrence, e.g. FREQ=WEEKLY;BYDAY=SU")
    sites: list[str] = Field(default_factory=list, description="site ids; empty = every site")
    targets: list[str] = Field(default_factory=list, description="link, device or endpoint ids; empty = all")
    rules: list[str] = Field(default_factory=list, description="alert rule names; empty = every rule")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_id(value)

    @field_validator("start")
    @classmethod
    def _sane_start(cls, value: datetime) -> datetime:
        check_moment(value)  # year 0001 or 9999: a typing mistake, and out of datetime's range once in UTC
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)  # its ValueError says what to write instead
        return value

    @field_validator("rules")
    @classmethod
    def _rule_names(cls, value: list[str]) -> list[str]:
        _known_rules(value)
        return value

    @model_validator(mode="after")
    def _valid_rrule(self) -> MaintenanceConfig:
        if self.rrule is not None:  # also refuses one more often than hourly (issue 13)
            name = self.timezone or "UTC"
            start = self.start if self.start.tzinfo else self.start.replace(tzinfo=zone(name))
            check(Series(start, self.duration, name, self.rrule))
        return self
