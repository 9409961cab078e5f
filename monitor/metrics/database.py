"""Whether giaoban can use its database (monitor/storage/health.py), for the /metrics collector::

    giaoban_database_up 1                                      1 if the last check (SELECT 1, every 10 s)
                                                               answered within 5 s
    giaoban_database_access_failing{area="history"} 0         1 while the area's last access failed
    giaoban_database_access_failing{area="alerts"} 0          (alerts: the engine's commits; outbox: reading
    giaoban_database_access_failing{area="outbox"} 0          and updating the notification outbox)

A full disk leaves ``giaoban_database_up`` at 1 (reads work) while the areas that write fail: alert on both
(GiaobanDatabaseFault in alerts/prometheus/rules.yml).
"""

from __future__ import annotations

from monitor.metrics.exposition import Family, TextSource, escape, fmt
from monitor.storage.health import AREAS, DatabaseHealth

UP = Family("giaoban_database_up", "gauge", "1 if the database answered the last check.")
FAILING = Family("giaoban_database_access_failing", "gauge", "1 while the area's last access to the database failed.")


def database_lines(health: DatabaseHealth) -> str:
    """The exposition of ``health``; every area always present."""
    lines = [UP.header(), f"{UP.name} {fmt(1 if health.up else 0)}\n", FAILING.header()]
    lines += [f'{FAILING.name}{{area="{escape(area)}"}} {fmt(1 if health.failing(area) else 0)}\n' for area in AREAS]
    return "".join(lines)


def database_source(health: DatabaseHealth) -> TextSource:
    """The /metrics source of what the service last saw of its database, read at each scrape."""
    return TextSource("database", (UP, FAILING), lambda: database_lines(health))
