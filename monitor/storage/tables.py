"""The current schema as sqlmodel models; code imports tables from here, never from a migration.

Each model is a typed row (``SiteRow(id=..., name=...)``) and its ``__table__`` is the SQLAlchemy table the
storage code queries: bulk inserts, INSERT…SELECT roll-ups and ON CONFLICT upserts are written against
those tables in SQLAlchemy Core, the layer sqlmodel is built on, because they have no ORM form.

The migrations (monitor/storage/migrations/) are the other half: each version's module freezes the tables as that
version created them, and tests/test_storage_models.py proves these models describe exactly the schema
the migrations build, on SQLite and PostgreSQL. A schema change is therefore two edits: a new migration
module, and the model here.

Every text and JSON column is a type of monitor/storage/safe_text.py: a NUL, a lone surrogate or an over-long
value is made safe on its way in, the same on SQLite and PostgreSQL (issue 13; tests/test_storage_models.py
checks that no text column escapes it).

Times are integers: history in epoch milliseconds, everything else in epoch seconds (UTC); the alert tables of
version 2 (alerts, alert_episodes, maintenance_windows, outbox) use REAL epoch seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, MetaData, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from monitor.storage.safe_text import SafeJSON, SafeString, SafeText

# SQLite makes only an INTEGER PRIMARY KEY an alias of the rowid (auto-increment); PostgreSQL wants 64 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")

VALUE_COLUMNS = ("rtt_min", "rtt_avg", "rtt_median", "rtt_max", "jitter", "loss_ratio", "mos")


class SiteRow(SQLModel, table=True):
    """A site of the inventory; kept (inactive) when it leaves the config, so its history stays."""

    __tablename__ = "sites"
    id: str = Field(primary_key=True, sa_type=SafeString(64))
    name: str = Field(sa_type=SafeString(200))
    role: str = Field(sa_type=SafeString(16))
    parent: str | None = Field(default=None, sa_type=SafeString(64))
    active: bool = True
    updated_at: int = Field(sa_type=BigInteger)


class DeviceRow(SQLModel, table=True):
    __tablename__ = "devices"
    site_id: str = Field(primary_key=True, sa_type=SafeString(64))
    id: str = Field(primary_key=True, sa_type=SafeString(64))
    address: str = Field(sa_type=SafeString(255))
    active: bool = True
    updated_at: int = Field(sa_type=BigInteger)


class EndpointRow(SQLModel, table=True):
    __tablename__ = "endpoints"
    site_id: str = Field(primary_key=True, sa_type=SafeString(64))
    id: str = Field(primary_key=True, sa_type=SafeString(64))
    kind: str = Field(sa_type=SafeString(32))
    address: str = Field(sa_type=SafeString(1000))
    active: bool = True
    updated_at: int = Field(sa_type=BigInteger)


class TargetRow(SQLModel, table=True):
    """One probed target ("SITE/link", "SITE/ENDPOINT"); history refers to it by a small integer."""

    __tablename__ = "targets"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=SafeString(200), unique=True)
    site_id: str = Field(sa_type=SafeString(64), index=True)
    name: str = Field(sa_type=SafeString(1000))
    kind: str = Field(sa_type=SafeString(32))
    role: str = Field(sa_type=SafeString(16))
    active: bool = True


class HistoryRawRow(SQLModel, table=True):
    """One probe result, kept for history.raw_retention (default 2 days)."""

    __tablename__ = "history_raw"
    __table_args__ = (Index("ix_history_raw_target_ts", "target_id", "ts"), Index("ix_history_raw_ts", "ts"))
    id: int | None = Field(default=None, sa_column=Column("id", BigId, primary_key=True, autoincrement=True))
    target_id: int
    ts: int = Field(sa_type=BigInteger)  # epoch ms
    success: bool
    duration: float
    reason: str = Field(sa_type=SafeString(32))
    detail: str | None = Field(default=None, sa_type=SafeString(200))
    rtt_min: float | None = None
    rtt_avg: float | None = None
    rtt_median: float | None = None
    rtt_max: float | None = None
    jitter: float | None = None
    loss_ratio: float | None = None
    mos: float | None = None
    status_code: int | None = None


class HistoryHourlyRow(SQLModel, table=True):
    """One target's hour: counts and min/avg/max, kept for history.hourly_retention (default a year)."""

    __tablename__ = "history_hourly"
    __table_args__ = (Index("ix_history_hourly_ts", "ts"),)
    target_id: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    ts: int = Field(primary_key=True, sa_type=BigInteger)  # start of the hour, epoch ms
    samples: int
    successes: int
    duration_avg: float | None = None
    rtt_min: float | None = None
    rtt_avg: float | None = None
    rtt_max: float | None = None
    jitter_avg: float | None = None
    loss_avg: float | None = None
    mos_avg: float | None = None


class MetaRow(SQLModel, table=True):
    """Small facts the service keeps about itself (e.g. the last roll-up)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True, sa_type=SafeString(64))
    value: str = Field(sa_type=SafeString(200))


class MeetingRow(SQLModel, table=True):
    """A briefing: its first occurrence, duration and recurrence in the wall clock of its time zone."""

    __tablename__ = "meetings"
    id: str = Field(primary_key=True, sa_type=SafeString(64))
    uid: str | None = Field(default=None, sa_type=SafeString(255), unique=True)  # iCalendar UID: re-import updates
    source: str = Field(sa_type=SafeString(16))  # cli, api, ics, config
    title: str = Field(sa_type=SafeString(500))
    start: int = Field(sa_type=BigInteger)  # first occurrence, UTC epoch seconds
    duration: int  # seconds
    timezone: str = Field(sa_type=SafeString(64))
    rrule: str | None = Field(default=None, sa_type=SafeText)
    exdates: list[int] = Field(sa_type=SafeJSON)  # UTC epoch seconds of skipped occurrences
    sites: Any = Field(sa_type=SafeJSON)  # "all" or a list of site ids
    call_rate: int = Field(sa_type=BigInteger)  # bit/s
    lead_times: list[float] | None = Field(default=None, sa_type=SafeJSON)  # seconds before start; null = default
    created_at: int = Field(sa_type=BigInteger)
    updated_at: int = Field(sa_type=BigInteger)


class ReadinessReportRow(SQLModel, table=True):
    """One readiness check of one meeting occurrence at one lead time."""

    __tablename__ = "readiness_reports"
    __table_args__ = (Index("ix_readiness_reports_meeting", "meeting_id", "occurrence_start"),)
    id: int | None = Field(default=None, sa_column=Column("id", BigId, primary_key=True, autoincrement=True))
    meeting_id: str = Field(sa_type=SafeString(64))
    occurrence_start: int = Field(sa_type=BigInteger)
    lead_time: int
    created_at: int = Field(sa_type=BigInteger)
    agent: str | None = Field(default=None, sa_type=SafeString(64))  # version 5: who checked; None before


class ReadinessResultRow(SQLModel, table=True):
    """One site's verdict in a report, with its reasons (code, sentence, action)."""

    __tablename__ = "readiness_results"
    id: int | None = Field(default=None, sa_column=Column("id", BigId, primary_key=True, autoincrement=True))
    report_id: int = Field(
        sa_column=Column(
            "report_id", BigId, ForeignKey("readiness_reports.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    site_id: str = Field(sa_type=SafeString(64))
    verdict: str = Field(sa_type=SafeString(16))  # READY, DEGRADED, NOT_READY
    reasons: list[dict[str, Any]] = Field(sa_type=SafeJSON)


# --- version 2 (m0002_alerts): times are REAL epoch seconds, see that migration's docstring -------------


class AlertRow(SQLModel, table=True):
    """The current (or last) episode of one alert id; alerts/store.py reads and writes it."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state", "state"), Index("ix_alerts_resolved_at", "resolved_at"))
    id: str = Field(primary_key=True, sa_type=SafeString(300))
    rule: str = Field(sa_type=SafeString(64))
    site_id: str = Field(sa_type=SafeString(64))
    target: str | None = Field(default=None, sa_type=SafeString(200))
    severity: str = Field(sa_type=SafeString(16))
    state: str = Field(sa_type=SafeString(16))  # pending, firing, resolved
    labels: dict[str, str] = Field(sa_type=SafeJSON)
    summary: str = Field(sa_type=SafeText)
    started_at: float
    fired_at: float | None = None
    resolved_at: float | None = None
    acked_at: float | None = None
    acked_by: str | None = Field(default=None, sa_type=SafeString(100))
    last_notified_at: float | None = None
    suppressed_by: str | None = Field(default=None, sa_type=SafeString(300))


class AlertEpisodeRow(SQLModel, table=True):
    """One resolved episode of an alert, kept for the alert retention (history)."""

    __tablename__ = "alert_episodes"
    __table_args__ = (
        Index("ix_alert_episodes_resolved_at", "resolved_at"),
        Index("ix_alert_episodes_site_started", "site_id", "started_at"),
    )
    alert_id: str = Field(primary_key=True, sa_type=SafeString(300))
    started_at: float = Field(primary_key=True)
    rule: str = Field(sa_type=SafeString(64))
    site_id: str = Field(sa_type=SafeString(64))
    target: str | None = Field(default=None, sa_type=SafeString(200))
    severity: str = Field(sa_type=SafeString(16))
    labels: dict[str, str] = Field(sa_type=SafeJSON)
    summary: str = Field(sa_type=SafeText)
    fired_at: float | None = None
    resolved_at: float
    acked_at: float | None = None
    acked_by: str | None = Field(default=None, sa_type=SafeString(100))
    suppressed_by: str | None = Field(default=None, sa_type=SafeString(300))


class MaintenanceWindowRow(SQLModel, table=True):
    """A maintenance window added by the CLI or the API (the config's live in the config)."""

    __tablename__ = "maintenance_windows"
    id: str = Field(primary_key=True, sa_type=SafeString(64))
    title: str = Field(sa_type=SafeString(500))
    start: float  # first occurrence, UTC epoch seconds
    duration: float  # seconds
    timezone: str = Field(sa_type=SafeString(64))
    rrule: str | None = Field(default=None, sa_type=SafeText)
    sites: list[str] = Field(sa_type=SafeJSON)  # empty = every site
    targets: list[str] = Field(sa_type=SafeJSON)
    rules: list[str] = Field(sa_type=SafeJSON)
    source: str = Field(sa_type=SafeString(16))  # config, cli, api
    created_by: str | None = Field(default=None, sa_type=SafeString(100))
    created_at: float


class OutboxRow(SQLModel, table=True):
    """One notification for one channel, until delivered or rejected (alerts/outbox.py)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", "channel_id", name="uq_outbox_key_channel"),
        Index("ix_outbox_alert", "alert_id"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, sa_column=Column("id", BigId, primary_key=True, autoincrement=True))
    key: str = Field(sa_type=SafeString(400))  # the notification's idempotency key
    channel_id: str = Field(sa_type=SafeString(64))
    alert_id: str = Field(sa_type=SafeString(300))
    event: str = Field(sa_type=SafeString(16))  # firing, reminder, resolved
    payload: dict[str, Any] = Field(sa_type=SafeJSON)
    state: str = Field(sa_type=SafeString(16))  # pending, delivered, rejected
    attempts: int
    next_attempt_at: float
    last_error: str | None = Field(default=None, sa_type=SafeString(500))
    created_at: float
    delivered_at: float | None = None


class LeaseRow(SQLModel, table=True):
    """Who holds the lease of one ownership unit, and until when (monitor/storage/leases.py, issue 17)."""

    __tablename__ = "leases"
    scope: str = Field(primary_key=True, sa_type=SafeString(200))  # "ha-noi", "ha-noi:0/2", "*"
    holder: str = Field(sa_type=SafeString(64))  # the agent's --agent-name
    acquired_at: float  # when this holder took it (kept while it renews)
    renewed_at: float
    expires_at: float  # the database's clock: another agent may take it from then


# --- version 4 (m0004_attendance): the attendance record of running meetings (issue 18) -------------------


class MeetingAttendanceRow(SQLModel, table=True):
    """One site in one meeting occurrence: connected, joined, left, rejoined, media quality (the watch writes it)."""

    __tablename__ = "meeting_attendance"
    meeting_id: str = Field(primary_key=True, sa_type=SafeString(64))
    occurrence_start: int = Field(primary_key=True, sa_type=BigInteger)  # UTC epoch seconds
    site_id: str = Field(primary_key=True, sa_type=SafeString(64))
    connected: bool | None = None  # at the last poll; None: unknown
    quality: str = Field(sa_type=SafeString(16))  # good, poor, unknown
    joined_at: float | None = None
    left_at: float | None = None
    rejoins: int
    record: dict[str, Any] = Field(sa_type=SafeJSON)  # monitor.readiness.attendance.Attendance.to_json()
    updated_at: float


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


metadata: MetaData = SQLModel.metadata
sites = _table(SiteRow)
devices = _table(DeviceRow)
endpoints = _table(EndpointRow)
targets = _table(TargetRow)
history_raw = _table(HistoryRawRow)
history_hourly = _table(HistoryHourlyRow)
meta = _table(MetaRow)
meetings = _table(MeetingRow)
readiness_reports = _table(ReadinessReportRow)
readiness_results = _table(ReadinessResultRow)
alerts = _table(AlertRow)
alert_episodes = _table(AlertEpisodeRow)
maintenance_windows = _table(MaintenanceWindowRow)
outbox = _table(OutboxRow)
leases = _table(LeaseRow)
meeting_attendance = _table(MeetingAttendanceRow)

__all__ = [
    "VALUE_COLUMNS",
    "AlertEpisodeRow",
    "AlertRow",
    "DeviceRow",
    "EndpointRow",
    "HistoryHourlyRow",
    "HistoryRawRow",
    "LeaseRow",
    "MaintenanceWindowRow",
    "MeetingAttendanceRow",
    "MeetingRow",
    "MetaRow",
    "OutboxRow",
    "ReadinessReportRow",
    "ReadinessResultRow",
    "SiteRow",
    "TargetRow",
    "alert_episodes",
    "alerts",
    "devices",
    "endpoints",
    "history_hourly",
    "history_raw",
    "leases",
    "maintenance_windows",
    "meeting_attendance",
    "meetings",
    "meta",
    "metadata",
    "outbox",
    "readiness_reports",
    "readiness_results",
    "sites",
    "targets",
]
