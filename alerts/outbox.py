"""The outbox dispatcher: delivers the notifications the engine committed, retrying until each is done.

    outbox = Outbox(storage, channels=lambda: {n.id: n for n in config.notifiers}, http=session)
    task = group.create_task(outbox.run())          # until cancelled
    outbox.wake()                                   # after a commit: deliver now rather than at the next poll

One row per (notification, channel) lives in table ``outbox`` (alerts/store.py writes them with the alert
rows, in one transaction). A row is

    pending    → claimed (attempts + 1, next_attempt_at pushed out by a lease) → send() →
    delivered  when the channel said DELIVERED
    pending    again when it said RETRY: next_attempt_at = now + backoff (5 s doubling to 10 min, ±20 %
               jitter; never sooner than the receiver's Retry-After)
    rejected   when it said REJECTED (logged at ERROR with the detail), when its channel left the config,
               or when it stayed undeliverable for ``max_age`` (2 days).

Crash safety: a row is marked delivered only after send() returned DELIVERED. A process killed between the
send and the mark leaves the row pending with its lease; once the lease runs out it is sent again, with the
same idempotency key (webhook ``Idempotency-Key``, email ``Message-ID``, Alertmanager's labels), so a
receiver that honours the key sees it once. For one alert and one channel only the oldest pending row is
sent: a resolve never overtakes its firing notification.

Several agents (issue 17): ``sites`` gives the sites whose notifications this agent delivers (those whose scope
lease it holds, monitor/storage/leases.py); a row of an alert at another site is left to that site's holder, a
row with no alert row behind it (a meeting's summary) goes to whichever holder claims it first. None = every
row (one agent). The claim itself is exclusive (an advisory lock and the claim lease above), so a row claimed
by a holder that died is sent again by the new holder once its claim runs out, with the same key.

Concurrency: at most ``per_channel`` deliveries per channel and ``concurrency`` in all, so one channel that
hangs holds only its own slots. The pseudo-channel ``log`` writes one WARNING line (used when the config
names no notifier). Counters for /metrics are in ``stats`` (monitor/metrics/outbox.py renders them); a fault
of the outbox's own database access counts in ``stats.errors`` and in the ``outbox`` area of ``storage.health``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import exists, func, select, text, update

from alerts.notifiers import deliver
from alerts.notifiers.base import Delivery, Notification, NotifierContext, Outcome, Recipient
from monitor.storage.database import Storage
from monitor.storage.health import describe
from monitor.storage.tables import alerts, outbox

log = logging.getLogger(__name__)

LOG_CHANNEL = "log"
RESULTS = ("delivered", "retry", "rejected")
CHANNEL_REMOVED = "channel removed from the config"
_ADVISORY_KEY = 0x6F757462  # "outb": one claimer at a time when several agents share a PostgreSQL
_SCAN_LIMIT = 500
AREA = "outbox"  # in storage.health (monitor/storage/health.py)
FAULT_LOG_INTERVAL = 60.0  # the loop polls every second: one line a minute while the database is faulty

Channels = Callable[[], Mapping[str, Any]]  # channel id → its validated NotifierConfig (has .kind)
DeliveredSites = Callable[[], frozenset[str] | None]  # the sites this agent delivers for now; None = all


# --- serialisation of a Notification into the outbox's payload column -----------------------------------


def notification_to_json(notification: Notification) -> dict[str, Any]:
    """The Notification as JSON-able data (version 1); notification_from_json() reverses it exactly."""
    return {
        "v": 1,
        "key": notification.key,
        "alert_id": notification.alert_id,
        "event": notification.event,
        "alertname": notification.alertname,
        "severity": notification.severity,
        "labels": dict(notification.labels),
        "subject": notification.subject,
        "text": notification.text,
        "html": notification.html,
        "starts_at": notification.starts_at.isoformat(),
        "ends_at": notification.ends_at.isoformat() if notification.ends_at else None,
        "recipients": [
            {
                "id": r.id,
                "name": r.name,
                "telegram_chat_id": r.telegram_chat_id,
                "email": r.email,
                "zalo_user_id": r.zalo_user_id,
            }
            for r in notification.recipients
        ],
        "url": notification.url,
    }


def notification_from_json(data: Mapping[str, Any]) -> Notification:
    return Notification(
        key=data["key"],
        alert_id=data["alert_id"],
        event=data["event"],
        alertname=data["alertname"],
        severity=data["severity"],
        labels=dict(data["labels"]),
        subject=data["subject"],
        text=data["text"],
        html=data["html"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]) if data["ends_at"] else None,
        recipients=tuple(Recipient(**r) for r in data["recipients"]),
        url=data["url"],
    )


# --- the dispatcher --------------------------------------------------------------------------------------


@dataclass(slots=True)
class OutboxStats:
    """What /metrics shows: deliveries by (channel, result) since start, the rows still pending, and faults."""

    results: Counter[tuple[str, str]] = field(default_factory=Counter)
    pending: int = 0
    errors: int = 0  # the outbox could not be read or updated (the database), or a delivery raised
    channels: tuple[str, ...] = ()  # configured channel ids, so their series exist before the first send


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    channel_id: str
    attempts: int
    created_at: float
    payload: Mapping[str, Any]


class Outbox:
    def __init__(
        self,
        storage: Storage,
        channels: Channels,
        *,
        http: aiohttp.ClientSession,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        concurrency: int = 8,
        per_channel: int = 4,
        poll_interval: float = 1.0,
        backoff: tuple[float, float] = (5.0, 600.0),
        max_age: float = 2 * 86400.0,
        lease: float | None = None,
        sites: DeliveredSites | None = None,
    ) -> None:
        self.storage = storage
        self._sites = sites
        self.stats = OutboxStats()
        self._channels = channels
        self._ctx = NotifierContext(http=http, timeout=timeout)
        self._clock = clock
        self._concurrency = concurrency
        self._per_channel = per_channel
        self._poll_interval = poll_interval
        self._backoff = backoff
        self._max_age = max_age
        # A claimed row is left alone for this long: a send is bounded by ``timeout`` (plus a grace below),
        # so a row whose lease ran out belongs to a process that died, and another process may send it.
        self._lease = timeout + 25.0 if lease is None else lease
        if self._lease <= timeout:
            raise ValueError("the lease must be longer than the delivery timeout")
        self._wake = asyncio.Event()
        self._in_flight: dict[int, str] = {}  # row id → channel id
        self._logged_fault_at: float | None = None

    def _fault(self, exc: Exception) -> None:
        self.stats.errors += 1
        self.storage.health.failed(AREA, exc)

    def wake(self) -> None:
        """New rows were committed: look now instead of at the next poll."""
        self._wake.set()

    def _current_channels(self) -> Mapping[str, Any]:
        channels = self._channels()
        self.stats.channels = tuple(sorted({*channels, LOG_CHANNEL}))
        return channels

    async def run(self) -> None:
        """Deliver due rows until cancelled; in-flight deliveries are cancelled with it (their leases expire)."""
        async with asyncio.TaskGroup() as group:
            while True:
                self._wake.clear()
                next_due: float | None = None
                try:
                    for claim in await self._claim():
                        self._in_flight[claim.id] = claim.channel_id
                        group.create_task(self._deliver(claim))
                    next_due = await self._refresh_pending()
                except Exception as exc:  # a database outage must not end delivery: log and poll again
                    self._fault(exc)
                    if self._logged_fault_at is None or self._clock() - self._logged_fault_at > FAULT_LOG_INTERVAL:
                        self._logged_fault_at = self._clock()
                        log.error("outbox: cannot read the outbox (%s); retrying", describe(exc))
                else:
                    if self._logged_fault_at is not None:
                        log.info("outbox: the outbox can be read again")
                        self._logged_fault_at = None
                    self.storage.health.succeeded(AREA)
                delay = self._poll_interval
                if next_due is not None and next_due > self._clock():
                    delay = min(delay, next_due - self._clock())
                # A row already due that was not claimed waits for a slot or for its alert's older row:
                # a finished delivery wakes the loop, so there is no need to spin on it.
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def _refresh_pending(self) -> float | None:
        query = select(func.count(), func.min(outbox.c.next_attempt_at)).where(outbox.c.state == "pending")
        async with self.storage.engine.connect() as conn:
            count, soonest = (await conn.execute(query)).one()
        self.stats.pending = int(count)
        return float(soonest) if soonest is not None else None

    async def _claim(self) -> list[_Claim]:
        """Take the due rows there are free slots for; reject the rows of channels that left the config."""
        channels = self._current_channels()
        busy = Counter(self._in_flight.values())
        free_total = self._concurrency - len(self._in_flight)
        if free_total <= 0:
            return []
        delivered_sites = self._sites() if self._sites is not None else None
        if delivered_sites is not None and not delivered_sites:
            return []  # a standby: it holds no scope's lease
        now = self._clock()
        older = outbox.alias("older")
        head_of_its_alert = ~exists(
            select(older.c.id).where(
                older.c.channel_id == outbox.c.channel_id,
                older.c.alert_id == outbox.c.alert_id,
                older.c.state == "pending",
                older.c.id < outbox.c.id,
            )
        )
        query = (
            select(outbox.c.id, outbox.c.channel_id, outbox.c.attempts, outbox.c.created_at, outbox.c.payload)
            .where(outbox.c.state == "pending", outbox.c.next_attempt_at <= now, head_of_its_alert)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(_SCAN_LIMIT)
        )
        if delivered_sites is not None:
            foreign = exists(
                select(alerts.c.id).where(alerts.c.id == outbox.c.alert_id, alerts.c.site_id.not_in(delivered_sites))
            )
            query = query.where(~foreign)
        taken: list[_Claim] = []
        removed: list[tuple[int, str]] = []
        async with self.storage.begin() as conn:
            if self.storage.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            for row in (await conn.execute(query)).all():
                if row.id in self._in_flight:
                    continue
                if row.channel_id != LOG_CHANNEL and row.channel_id not in channels:
                    removed.append((row.id, row.channel_id))
                    continue
                if busy[row.channel_id] >= self._per_channel or len(taken) >= free_total:
                    continue
                busy[row.channel_id] += 1
                taken.append(_Claim(row.id, row.channel_id, row.attempts + 1, float(row.created_at), row.payload))
            if taken:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([c.id for c in taken]))
                    .values(attempts=outbox.c.attempts + 1, next_attempt_at=now + self._lease)
                )
            if removed:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row_id for row_id, _ in removed]))
                    .values(state="rejected", last_error=CHANNEL_REMOVED, next_attempt_at=now)
                )
        for row_id, channel_id in removed:
            log.error("outbox: notification %s for channel %s rejected: %s", row_id, channel_id, CHANNEL_REMOVED)
            self.stats.results[(channel_id, "rejected")] += 1
        return taken

    async def _deliver(self, claim: _Claim) -> None:
        try:
            delivery = await self._send(claim)
            await self._record(claim, delivery)
        except Exception as exc:  # recording the outcome failed (the database): the lease brings the row back
            self._fault(exc)
            log.exception("outbox: delivering notification %s through %s failed", claim.id, claim.channel_id)
        finally:
            self._in_flight.pop(claim.id, None)
            self._wake.set()  # a slot is free

    async def _send(self, claim: _Claim) -> Delivery:
        try:
            notification = notification_from_json(claim.payload)
        except (KeyError, TypeError, ValueError) as exc:  # written by another version: retrying cannot help
            return Delivery(Outcome.REJECTED, f"the stored notification cannot be read: {type(exc).__name__}: {exc}")
        if claim.channel_id == LOG_CHANNEL:
            log.warning("alert %s %s: %s", notification.event, notification.alert_id, notification.subject)
            return Delivery(Outcome.DELIVERED, "logged")
        settings = self._current_channels().get(claim.channel_id)
        if settings is None:
            return Delivery(Outcome.REJECTED, CHANNEL_REMOVED)
        return await deliver(notification, settings, ctx=self._ctx)

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with ±20 % jitter (spreads a burst of retries), at least ``retry_after``."""
        base, cap = self._backoff
        delay = min(cap, base * 2.0 ** max(0, attempts - 1)) * (0.8 + 0.4 * random.random())
        return max(delay, retry_after or 0.0)

    async def _record(self, claim: _Claim, delivery: Delivery) -> None:
        now = self._clock()
        detail = delivery.detail[:500] or None
        values: dict[str, Any]
        outcome = delivery.outcome
        if outcome is Outcome.RETRY and now - claim.created_at > self._max_age:
            outcome = Outcome.REJECTED
            detail = f"gave up after {claim.attempts} attempts: {delivery.detail}"[:500]
        if outcome is Outcome.DELIVERED:
            values = {"state": "delivered", "delivered_at": now, "last_error": None}
            log.info("outbox: notification %s delivered through %s", claim.id, claim.channel_id)
        elif outcome is Outcome.RETRY:
            delay = self.retry_delay(claim.attempts, delivery.retry_after)
            values = {"next_attempt_at": now + delay, "last_error": detail}
            log.warning(
                "outbox: notification %s through %s failed (attempt %d), retrying in %.0f s: %s",
                claim.id,
                claim.channel_id,
                claim.attempts,
                delay,
                delivery.detail,
            )
        else:
            values = {"state": "rejected", "last_error": detail, "next_attempt_at": now}
            log.error("outbox: notification %s rejected by %s: %s", claim.id, claim.channel_id, detail)
        async with self.storage.begin() as conn:
            await conn.execute(
                update(outbox).where(outbox.c.id == claim.id, outbox.c.state == "pending").values(values)
            )
        self.stats.results[(claim.channel_id, outcome.value)] += 1
