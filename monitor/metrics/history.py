"""The history writer's series (monitor/storage/history.py), for the /metrics collector::

    giaoban_history_rows_written_total 1234                          probe results stored since start
    giaoban_history_rows_dropped_total{reason="queue_full"} 0        lost: the queue overflowed while the
                                                                     database could not take them
    giaoban_history_rows_dropped_total{reason="rejected"} 0          lost: the database refused the row itself
    giaoban_history_write_failures_total 0                           batch writes that failed (kept, retried)
    giaoban_history_pending_rows 12                                  results waiting to be written
    giaoban_history_last_write_success_timestamp_seconds 1.7e9       0 before the first write

Every series exists from the start, so rate() and increase() work before the first fault.
"""

from __future__ import annotations

from monitor.metrics.exposition import Family, TextSource, fmt
from monitor.storage.history import HistoryWriter

WRITTEN = Family("giaoban_history_rows_written_total", "counter", "Probe results written to the history.")
DROPPED = Family("giaoban_history_rows_dropped_total", "counter", "Probe results never written, by reason.")
FAILURES = Family(
    "giaoban_history_write_failures_total", "counter", "History batch writes that failed; their rows are retried."
)
PENDING = Family("giaoban_history_pending_rows", "gauge", "Probe results waiting to be written to the history.")
LAST_SUCCESS = Family(
    "giaoban_history_last_write_success_timestamp_seconds", "gauge", "When a history batch was last written."
)


def history_lines(writer: HistoryWriter) -> str:
    """The exposition of the writer's counters; safe from the scrape's worker thread (reads numbers only)."""
    return "".join(
        [
            WRITTEN.header(),
            f"{WRITTEN.name} {fmt(writer.written)}\n",
            DROPPED.header(),
            f'{DROPPED.name}{{reason="queue_full"}} {fmt(writer.dropped)}\n',
            f'{DROPPED.name}{{reason="rejected"}} {fmt(writer.rejected)}\n',
            FAILURES.header(),
            f"{FAILURES.name} {fmt(writer.failures)}\n",
            PENDING.header(),
            f"{PENDING.name} {fmt(writer.pending)}\n",
            LAST_SUCCESS.header(),
            f"{LAST_SUCCESS.name} {fmt(writer.last_success or 0.0)}\n",
        ]
    )


def history_source(writer: HistoryWriter) -> TextSource:
    """The /metrics source of the history writer's counters, read at each scrape."""
    return TextSource("history", (WRITTEN, DROPPED, FAILURES, PENDING, LAST_SUCCESS), lambda: history_lines(writer))
