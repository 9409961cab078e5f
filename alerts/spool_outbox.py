"""Delivering notifications from the local spool while the centre's PostgreSQL is unreachable.

    spooled = SpoolOutbox(spool, channels=lambda: {n.id: n for n in config.notifiers}, http=session,
                          stats=outbox.stats)
    group.create_task(spooled.run())        # until cancelled

The engine's commits go to the spool while the centre is away (alerts/store.py), their notifications with
them, one entry per (notification, channel) with the idempotency key of the centre's outbox. This loop sends
them as alerts/outbox.py sends the centre's rows: the same channel modules, the oldest pending entry of an
(alert, channel) first so a resolve never overtakes its firing, RETRY with back-off (5 s doubling to 10 min,
±20 %), REJECTED when the channel says so or left the config. It claims only while ``spool.centre_down``:
an agent that must not deliver (``allowed``: a standby without its scope's lease) only keeps them. Once
the centre answers, the write-back (monitor/storage/writeback.py) waits for the deliveries in flight
and writes every entry to the centre's outbox with the state it reached, so the centre's outbox never sends
a delivered one again and takes over the pending ones, under the same key.

A process killed during a send leaves the entry pending in the spool file: it is sent again after the restart
with the same idempotency key (at least once, as the centre's outbox). Results count in the outbox's
``stats`` (``giaoban_notifications_total``); the spool's own series are in monitor/metrics/spool.py.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import aiohttp

from alerts.notifiers import deliver
from alerts.notifiers.base import Delivery, NotifierContext, Outcome
from alerts.outbox import CHANNEL_REMOVED, LOG_CHANNEL, Channels, OutboxStats, notification_from_json
from monitor.storage.spool import Entry, Spool, SpoolError

log = logging.getLogger(__name__)


class SpoolOutbox:
    def __init__(
        self,
        spool: Spool,
        channels: Channels,
        *,
        http: aiohttp.ClientSession,
        stats: OutboxStats,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        backoff: tuple[float, float] = (5.0, 600.0),
        allowed: Callable[[], bool] | None = None,
    ) -> None:
        """``allowed``: whether this agent may deliver now (e.g. it held its scope's lease when the centre went
        away, so that a standby that commits the same alerts does not send them too); default always."""
        self.spool = spool
        self._allowed = allowed or (lambda: True)
        self.stats = stats
        self._channels = channels
        self._ctx = NotifierContext(http=http, timeout=timeout)
        self._clock = clock
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._backoff = backoff
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            while True:
                self._wake.clear()
                free = self._concurrency - len(self._in_flight)
                if self.spool.centre_down and free > 0 and self._allowed():
                    try:
                        due = await self.spool.due(self._clock(), free, skip=self._in_flight)
                    except SpoolError as exc:
                        self.stats.errors += 1
                        log.error("spool: cannot read the notifications kept there: %s", exc)
                        due = []
                    for entry in due:
                        self._in_flight.add(entry.seq)
                        self.spool.delivery_started()
                        group.create_task(self._deliver(entry))
                try:
                    async with asyncio.timeout(self._poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def _deliver(self, entry: Entry) -> None:
        try:
            delivery = await self._send(entry)
            await self._record(entry, delivery)
        except Exception:  # the spool's disk: the entry stays pending and is sent again
            self.stats.errors += 1
            log.exception("spool: delivering notification %s through %s failed", entry.key, entry.channel_id)
        finally:
            self._in_flight.discard(entry.seq)
            self.spool.delivery_ended()
            self._wake.set()

    async def _send(self, entry: Entry) -> Delivery:
        try:
            notification = notification_from_json(entry.body["payload"])
        except (KeyError, TypeError, ValueError) as exc:
            return Delivery(Outcome.REJECTED, f"the stored notification cannot be read: {type(exc).__name__}: {exc}")
        if entry.channel_id == LOG_CHANNEL:
            log.warning("alert %s %s: %s", notification.event, notification.alert_id, notification.subject)
            return Delivery(Outcome.DELIVERED, "logged")
        settings = self._channels().get(entry.channel_id or "")
        if settings is None:
            return Delivery(Outcome.REJECTED, CHANNEL_REMOVED)
        return await deliver(notification, settings, ctx=self._ctx)

    async def _record(self, entry: Entry, delivery: Delivery) -> None:
        now = self._clock()
        detail = delivery.detail[:500] or None
        channel = entry.channel_id or ""
        if delivery.outcome is Outcome.DELIVERED:
            await self.spool.record(entry, state="delivered", next_attempt_at=now, error=None)
            log.info("spool: notification %s delivered through %s (the centre is unreachable)", entry.key, channel)
        elif delivery.outcome is Outcome.RETRY:
            base, cap = self._backoff
            delay = min(cap, base * 2.0**entry.attempts) * (0.8 + 0.4 * random.random())
            delay = max(delay, delivery.retry_after or 0.0)
            await self.spool.record(entry, state="pending", next_attempt_at=now + delay, error=detail)
            log.warning(
                "spool: notification %s through %s failed, retrying in %.0f s: %s",
                entry.key,
                channel,
                delay,
                delivery.detail,
            )
        else:
            await self.spool.record(entry, state="rejected", next_attempt_at=now, error=detail)
            log.error("spool: notification %s rejected by %s: %s", entry.key, channel, detail)
        self.stats.results[(channel, delivery.outcome.value)] += 1
