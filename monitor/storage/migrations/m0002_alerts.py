"""Schema version 2: alerts, their episodes (history), maintenance windows and the notification outbox.

Frozen: these definitions describe the tables as version 2 created them; a later change is a new module.

Times here are REAL epoch seconds (UTC), not the integers of version 1: the engine keeps alert times as
floats, and the outbox's next_attempt_at schedules retries a few seconds apart, so rounding would reorder
them. ``alerts`` holds the current (or last) episode of each alert id; ``alert_episodes`` keeps every
resolved episode, so "how often did Tân Thịnh drop last month?" has an answer after the alert fired again.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

VERSION = 2
metadata = MetaData()

# SQLite makes only an INTEGER PRIMARY KEY an alias of the rowid (auto-increment); PostgreSQL wants 64 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(300), primary_key=True),  # alerts.model.alert_id(): "rule/site/target"
    Column("rule", String(64), nullable=False),
    Column("site_id", String(64), nullable=False),
    Column("target", String(200), nullable=True),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending, firing, resolved
    Column("labels", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("fired_at", Float, nullable=True),
    Column("resolved_at", Float, nullable=True),
    Column("acked_at", Float, nullable=True),
    Column("acked_by", String(100), nullable=True),
    Column("last_notified_at", Float, nullable=True),
    Column("suppressed_by", String(300), nullable=True),
    Index("ix_alerts_state", "state"),
    Index("ix_alerts_resolved_at", "resolved_at"),
)

alert_episodes = Table(
    "alert_episodes",
    metadata,
    Column("alert_id", String(300), primary_key=True),
    Column("started_at", Float, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("site_id", String(64), nullable=False),
    Column("target", String(200), nullable=True),
    Column("severity", String(16), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("fired_at", Float, nullable=True),
    Column("resolved_at", Float, nullable=False),
    Column("acked_at", Float, nullable=True),
    Column("acked_by", String(100), nullable=True),
    Column("suppressed_by", String(300), nullable=True),
    Index("ix_alert_episodes_site_started", "site_id", "started_at"),
    Index("ix_alert_episodes_resolved_at", "resolved_at"),
)

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(500), nullable=False),
    Column("start", Float, nullable=False),  # first occurrence, UTC epoch seconds
    Column("duration", Float, nullable=False),  # seconds
    Column("timezone", String(64), nullable=False),  # wall clock in which the recurrence repeats
    Column("rrule", Text, nullable=True),
    Column("sites", JSON, nullable=False),  # list of site ids; empty = every site
    Column("targets", JSON, nullable=False),
    Column("rules", JSON, nullable=False),
    Column("source", String(16), nullable=False),  # config, cli, api
    Column("created_by", String(100), nullable=True),
    Column("created_at", Float, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),  # the notification's idempotency key
    Column("channel_id", String(64), nullable=False),
    Column("alert_id", String(300), nullable=False),
    Column("event", String(16), nullable=False),  # firing, reminder, resolved
    Column("payload", JSON, nullable=False),  # alerts.outbox.notification_to_json()
    Column("state", String(16), nullable=False),  # pending, delivered, rejected
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    UniqueConstraint("key", "channel_id", name="uq_outbox_key_channel"),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
    Index("ix_outbox_alert", "alert_id"),
)


def upgrade(conn: Connection) -> None:
    metadata.create_all(conn)
