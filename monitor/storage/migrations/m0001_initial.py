"""Schema version 1: inventory, probe history (raw and hourly), meetings, readiness reports.

Frozen: these definitions describe the database as version 1 created it. A later change is a new module
(m0002_...) that alters what exists; it never edits this one, so a fresh database and an upgraded one
end up identical.

Times are integers: history in epoch milliseconds (integer division buckets them the same way on SQLite
and PostgreSQL), everything else in epoch seconds (UTC). Probe values are fixed nullable columns, not
JSON: the hourly roll-up aggregates them in SQL, and a REAL column costs 8 bytes where a JSON key costs
its name in every row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

VERSION = 1
metadata = MetaData()

# SQLite makes only an INTEGER PRIMARY KEY an alias of the rowid (auto-increment); PostgreSQL wants 64 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")

sites = Table(
    "sites",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("parent", String(64), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", BigInteger, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("address", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", BigInteger, nullable=False),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("address", String(1000), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", BigInteger, nullable=False),
)

# One row per probed target ("SITE/link", "SITE/ENDPOINT"); history refers to it by a small integer.
targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("site_id", String(64), nullable=False, index=True),
    Column("name", String(1000), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

_VALUES = ("rtt_min", "rtt_avg", "rtt_median", "rtt_max", "jitter", "loss_ratio", "mos")

history_raw = Table(
    "history_raw",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("target_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("success", Boolean, nullable=False),
    Column("duration", Float, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", String(200), nullable=True),
    *(Column(name, Float, nullable=True) for name in _VALUES),
    Column("status_code", Integer, nullable=True),
    Index("ix_history_raw_target_ts", "target_id", "ts"),
    Index("ix_history_raw_ts", "ts"),
)

history_hourly = Table(
    "history_hourly",
    metadata,
    Column("target_id", Integer, primary_key=True),
    Column("ts", BigInteger, primary_key=True),  # start of the hour, epoch ms
    Column("samples", Integer, nullable=False),
    Column("successes", Integer, nullable=False),
    Column("duration_avg", Float, nullable=True),
    Column("rtt_min", Float, nullable=True),
    Column("rtt_avg", Float, nullable=True),
    Column("rtt_max", Float, nullable=True),
    Column("jitter_avg", Float, nullable=True),
    Column("loss_avg", Float, nullable=True),
    Column("mos_avg", Float, nullable=True),
    Index("ix_history_hourly_ts", "ts"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("uid", String(255), nullable=True, unique=True),  # iCalendar UID: re-import updates, never duplicates
    Column("source", String(16), nullable=False),  # cli, api, ics, config
    Column("title", String(500), nullable=False),
    Column("start", BigInteger, nullable=False),  # first occurrence, UTC epoch seconds
    Column("duration", Integer, nullable=False),  # seconds
    Column("timezone", String(64), nullable=False),  # wall clock in which the recurrence repeats
    Column("rrule", Text, nullable=True),
    Column("exdates", JSON, nullable=False),  # UTC epoch seconds of skipped occurrences
    Column("sites", JSON, nullable=False),  # "all" or a list of site ids
    Column("call_rate", BigInteger, nullable=False),  # bit/s
    Column("lead_times", JSON, nullable=True),  # seconds before start; null = the configured default
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

readiness_reports = Table(
    "readiness_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("meeting_id", String(64), nullable=False),
    Column("occurrence_start", BigInteger, nullable=False),
    Column("lead_time", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_readiness_reports_meeting", "meeting_id", "occurrence_start"),
)

readiness_results = Table(
    "readiness_results",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("report_id", BigId, ForeignKey("readiness_reports.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("site_id", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),  # READY, DEGRADED, NOT_READY
    Column("reasons", JSON, nullable=False),
)


def upgrade(conn: Connection) -> None:
    metadata.create_all(conn)
