"""The admins' notice that giaoban cannot use its database, sent around the outbox (issue 13).

The outbox lives in the database: with the disk full or the server unreachable no alert can be stored, so
none is sent, and eight endpoints went down with 0 alerts. This notice goes straight through the channel
modules (``alerts.notifiers.deliver``), kept in memory only:

    notice = DatabaseNotice(lambda: config, storage.health, ctx=NotifierContext(http=session))
    group.create_task(notice.run())     # until cancelled

- firing: once a fault of ``storage.health`` (monitor/storage/health.py) has lasted ``hold`` seconds (a lock
  that clears within SQLite's busy_timeout is not news): one message naming every failing area and its error.
- resolved: when nothing fails any more, to each channel that got the firing (a firing not yet delivered
  is dropped instead: "fixed" about a fault nobody heard of is noise).
- Channels: the notifiers carrying "critical" (alerts/routing.py; the ``log`` pseudo-channel when none), with
  ``alerts.admins`` as recipients; Alertmanager-like channels get the firing again every
  ``alerts.resend_interval`` while it lasts, or Alertmanager would resolve it on its own.
- A RETRY outcome is tried again with back-off (5 s doubling to 5 min) while it is still news; REJECTED is logged.

Users of their own Prometheus get the same from the GiaobanDatabaseFault rule (alerts/prometheus/rules.yml).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from alerts.notifiers import NOTIFIERS, deliver
from alerts.notifiers.base import Notification, NotifierContext, Outcome
from alerts.routing import LOG_CHANNEL, channels, recipients
from alerts.templates import render_database_fault
from monitor.config.models import Config
from monitor.storage.health import DatabaseHealth, Fault

log = logging.getLogger(__name__)

ALERTNAME = "GiaobanDatabaseFault"
ALERT_ID = "giaoban/database"
SEVERITY = "critical"
DEFAULT_HOLD = 10.0


@dataclass(slots=True, eq=False)  # compared by identity: two sends of one message are two entries
class _Pending:
    channel: str
    notification: Notification
    attempts: int = 0
    next_at: float = 0.0


class DatabaseNotice:
    """Watches ``health`` and tells the admins of a database fault, and of its end, without the database."""

    def __init__(
        self,
        config: Callable[[], Config],
        health: DatabaseHealth,
        *,
        ctx: NotifierContext,
        clock: Callable[[], float] = time.time,
        hold: float = DEFAULT_HOLD,
        interval: float = 1.0,
        backoff: tuple[float, float] = (5.0, 300.0),
    ) -> None:
        self._config = config
        self._health = health
        self._ctx = ctx
        self._clock = clock
        self.hold = hold
        self._interval = interval
        self._backoff = backoff
        self._host = socket.gethostname()
        self._since: float | None = None  # start of the episode told (the oldest fault), None when calm
        self._told: set[str] = set()  # channels the episode's firing reached
        self._refreshed = 0
        self._pending: list[_Pending] = []

    @property
    def open(self) -> bool:
        """Whether a fault episode has been announced and not yet resolved."""
        return self._since is not None

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self._interval)

    async def tick(self) -> None:
        """Look at the faults once; queue what is news and send what is due."""
        now = self._clock()
        config = self._config()
        faults = self._health.faults()
        if self._since is None:
            if faults and now - faults[0].since >= self.hold:
                self._since = faults[0].since
                self._told.clear()
                self._refreshed = 0
                log.error("database fault for %.0f s: telling the admins around the outbox", now - self._since)
                self._queue(config, faults, "firing", now, n=0)
        elif not faults:
            self._resolve(config, now)
        elif (interval := config.alerts.resend_interval) > 0:
            n = int((now - self._since) // interval)
            if n > self._refreshed:
                self._refreshed = n
                self._queue(config, faults, "refresh", now, n=n)
        await self._send_due(config, now)

    def _resolve(self, config: Config, now: float) -> None:
        since = self._since
        assert since is not None
        self._pending = [p for p in self._pending if p.notification.event != "firing"]
        log.info("database works again after %.0f s: telling the admins", now - since)
        self._queue(config, [], "resolved", now, n=0, only=set(self._told))
        self._since = None

    def _queue(
        self, config: Config, faults: list[Fault], event: str, now: float, *, n: int, only: set[str] | None = None
    ) -> None:
        since = self._since if self._since is not None else now
        shown = "resolved" if event == "resolved" else "firing"
        rendered = render_database_fault(config, faults, event=shown, since=since, now=now, host=self._host)
        notification = Notification(
            key=f"{ALERT_ID}/{shown}/{int(since)}/{n}",
            alert_id=ALERT_ID,
            event=shown,
            alertname=ALERTNAME,
            severity=SEVERITY,
            labels={"alertname": ALERTNAME, "severity": SEVERITY},
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            starts_at=_utc(since),
            ends_at=_utc(now) if shown == "resolved" else None,
            recipients=recipients(config, None, technicians=False),
            url=config.alerts.external_url,
        )
        for channel in channels(config, SEVERITY, event=event):
            if only is None or channel in only:
                self._pending.append(_Pending(channel, notification, next_at=now))

    async def _send_due(self, config: Config, now: float) -> None:
        due = [p for p in self._pending if p.next_at <= now]
        if not due:
            return
        settings = {n.id: n for n in config.notifiers}
        await asyncio.gather(*(self._send(p, settings.get(p.channel), now) for p in due))

    async def _send(self, pending: _Pending, settings: object, now: float) -> None:
        notification = pending.notification
        if pending.channel == LOG_CHANNEL:
            log.error("%s\n%s", notification.subject, notification.text)  # no notifier carries critical alerts
            self._done(pending)
            return
        if settings is None or getattr(settings, "kind", None) not in NOTIFIERS:
            self._pending.remove(pending)  # the channel left the config
            return
        delivery = await deliver(notification, settings, ctx=self._ctx)
        pending.attempts += 1
        if delivery.outcome is Outcome.DELIVERED:
            log.info("database notice (%s) delivered through %s", notification.event, pending.channel)
            self._done(pending)
        elif delivery.outcome is Outcome.RETRY:
            base, cap = self._backoff
            delay = max(min(cap, base * 2.0 ** (pending.attempts - 1)), delivery.retry_after or 0.0)
            pending.next_at = self._clock() + delay
            log.warning(
                "database notice through %s failed (attempt %d), retrying in %.0f s: %s",
                pending.channel,
                pending.attempts,
                delay,
                delivery.detail,
            )
        else:
            log.error("database notice rejected by %s: %s", pending.channel, delivery.detail)
            self._pending.remove(pending)

    def _done(self, pending: _Pending) -> None:
        if pending in self._pending:
            self._pending.remove(pending)
        if pending.notification.event == "firing":
            self._told.add(pending.channel)


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)
