"""The current schema, as the migrations leave it (monitor/migrations/); code imports tables from here.

While the schema is at version 1 these are m0001's tables. A migration that changes a table defines the
new shape here too, so the code never depends on a migration module's frozen copy.
"""

from __future__ import annotations

from monitor.migrations.m0001_initial import (
    devices,
    endpoints,
    history_hourly,
    history_raw,
    meetings,
    meta,
    metadata,
    readiness_reports,
    readiness_results,
    sites,
    targets,
)

VALUE_COLUMNS = ("rtt_min", "rtt_avg", "rtt_median", "rtt_max", "jitter", "loss_ratio", "mos")

__all__ = [
    "VALUE_COLUMNS",
    "devices",
    "endpoints",
    "history_hourly",
    "history_raw",
    "meetings",
    "meta",
    "metadata",
    "readiness_reports",
    "readiness_results",
    "sites",
    "targets",
]
