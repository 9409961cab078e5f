"""The outbox's series for /metrics, from Outbox.stats (alerts/outbox.py)::

    giaoban_notifications_total{channel="hook",result="delivered|retry|rejected"}   delivery attempts since start
    giaoban_outbox_pending 3                                                        rows not yet delivered or rejected
    giaoban_outbox_errors_total 0                                                   the outbox could not be read or
                                                                                    updated (its database), or a
                                                                                    delivery raised

``channel`` is a configured notifier id (or ``log``), a small fixed set; every configured channel has all
three results from the start, so a rate() over them works before the first failure.
"""

from __future__ import annotations

from collections.abc import Callable

from alerts.outbox import RESULTS, OutboxStats
from monitor.metrics.exposition import Family, TextSource, escape, fmt

NOTIFICATIONS = Family(
    "giaoban_notifications_total", "counter", "Notification delivery attempts, by channel and result."
)
OUTBOX_PENDING = Family("giaoban_outbox_pending", "gauge", "Notifications in the outbox not yet delivered or rejected.")
OUTBOX_ERRORS = Family("giaoban_outbox_errors_total", "counter", "Faults of the outbox itself: reading or updating it.")


def outbox_lines(stats: OutboxStats) -> list[str]:
    """The exposition lines, headers included; safe from the scrape's worker thread (reads copies)."""
    results = dict(stats.results)
    channels = sorted({*stats.channels, *(channel for channel, _ in results)})
    out = [NOTIFICATIONS.header()]
    for channel in channels:
        for result in RESULTS:
            count = results.get((channel, result), 0)
            out.append(f'{NOTIFICATIONS.name}{{channel="{escape(channel)}",result="{result}"}} {fmt(count)}\n')
    out.append(OUTBOX_PENDING.header())
    out.append(f"{OUTBOX_PENDING.name} {fmt(stats.pending)}\n")
    out.append(OUTBOX_ERRORS.header())
    out.append(f"{OUTBOX_ERRORS.name} {fmt(stats.errors)}\n")
    return out


def outbox_source(stats: Callable[[], OutboxStats]) -> TextSource:
    """The /metrics source of the outbox's ``stats``, read at each scrape."""
    return TextSource("outbox", (NOTIFICATIONS, OUTBOX_PENDING), lambda: "".join(outbox_lines(stats())))
