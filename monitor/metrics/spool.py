"""The local spool's series (monitor/storage/spool.py), for the /metrics collector::

    giaoban_spool_active 0                                   1 while writes go to the spool: the centre's
                                                             PostgreSQL is unreachable, or spooled entries
                                                             wait to be written back
    giaoban_spool_rows{kind="history|alerts|outbox|readiness"} 0       entries kept, by kind
    giaoban_spool_bytes 0 / giaoban_spool_max_bytes 268435456          the file's pages in use, and its bound
    giaoban_spool_full 0                                     1 while the last append was refused for size
    giaoban_spool_oldest_seconds 0                           age of the oldest entry (0 when empty)
    giaoban_spool_writeback_total{kind} 0                    entries written back to the centre
    giaoban_spool_refused_total{kind} 0                      entries not kept: the spool was full
    giaoban_spool_writeback_rejected_total{kind} 0           entries the centre refused for their values
    giaoban_spool_damaged_files 0                            damaged spool files set aside at start

An agent on SQLite has no spool: every series is 0 (``max_bytes`` too), so the same rules and dashboards
work everywhere. Every kind is always present, so increase() works before the first outage.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.metrics.exposition import Family, TextSource, fmt
from monitor.storage.spool import KINDS, SpoolSnapshot

ACTIVE = Family("giaoban_spool_active", "gauge", "1 while writes go to the local spool instead of the centre.")
ROWS = Family("giaoban_spool_rows", "gauge", "Entries kept in the local spool, by kind.")
BYTES = Family("giaoban_spool_bytes", "gauge", "Bytes of the spool file in use.")
MAX_BYTES = Family("giaoban_spool_max_bytes", "gauge", "The spool's size bound in bytes (0: no spool).")
FULL = Family("giaoban_spool_full", "gauge", "1 while the spool refuses entries for lack of room.")
OLDEST = Family("giaoban_spool_oldest_seconds", "gauge", "Age of the oldest spooled entry (0 when empty).")
WRITTEN_BACK = Family("giaoban_spool_writeback_total", "counter", "Spooled entries written back to the centre.")
REFUSED = Family("giaoban_spool_refused_total", "counter", "Entries the spool could not keep (full), by kind.")
REJECTED = Family(
    "giaoban_spool_writeback_rejected_total", "counter", "Spooled entries the centre refused for their values."
)
DAMAGED = Family("giaoban_spool_damaged_files", "gauge", "Damaged spool files set aside (and salvaged) at start.")
FAMILIES = (ACTIVE, ROWS, BYTES, MAX_BYTES, FULL, OLDEST, WRITTEN_BACK, REFUSED, REJECTED, DAMAGED)


def spool_lines(snap: SpoolSnapshot) -> str:
    out = [ACTIVE.header(), f"{ACTIVE.name} {fmt(1 if snap.diverting else 0)}\n", ROWS.header()]
    out += [f'{ROWS.name}{{kind="{kind}"}} {fmt(snap.rows.get(kind, 0))}\n' for kind in KINDS]
    for family, value in ((BYTES, snap.bytes), (MAX_BYTES, snap.max_bytes), (FULL, 1 if snap.full else 0)):
        out += [family.header(), f"{family.name} {fmt(value)}\n"]
    out += [OLDEST.header(), f"{OLDEST.name} {fmt(snap.oldest_age)}\n"]
    for family, counts in ((WRITTEN_BACK, snap.written_back), (REFUSED, snap.refused), (REJECTED, snap.dropped)):
        out.append(family.header())
        out += [f'{family.name}{{kind="{kind}"}} {fmt(counts.get(kind, 0))}\n' for kind in KINDS]
    out += [DAMAGED.header(), f"{DAMAGED.name} {fmt(snap.damaged)}\n"]
    return "".join(out)


def spool_source(snapshot: Callable[[], SpoolSnapshot]) -> TextSource:
    """The /metrics source of the spool, read at each scrape (``SpoolSnapshot()`` when there is none)."""
    return TextSource("spool", FAMILIES, lambda: spool_lines(snapshot()))
