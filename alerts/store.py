"""Alerts, acknowledgements and maintenance windows in the database (SQLite or PostgreSQL).

    store = SqlAlertStore(storage)
    open_alerts = await store.load_open()                  # the engine, at start-up: restart keeps state
    await store.commit(records, [(channel_id, notification), ...])   # one transaction per engine step
    await store.acknowledge("link_down/tan-thinh/link", by="tuan", now=time.time())   # API, CLI
    await store.add_maintenance(window); await store.remove_maintenance(window.id)

``commit`` upserts the alert rows and enqueues each (channel, notification) in the outbox at most once:
the outbox's UNIQUE(key, channel_id) makes a second enqueue of one transition a no-op, so an engine that
repeats a step after a crash cannot send it twice. An acknowledgement is written by the API while the
engine holds the alert in memory: the upsert therefore never clears an acknowledgement of the same
episode (same started_at); a new episode starts unacknowledged. Every resolved episode is also kept in
``alert_episodes`` for the history; ``prune_alerts`` bounds both tables and the outbox. Each commit's outcome
is the ``alerts`` area of ``storage.health``: a full disk that stops the engine's commits shows there.

With a spool (``storage.spool``: the centre's PostgreSQL, monitor/storage/spool.py) a commit the centre cannot
take goes to the spool instead, alert rows and notifications in one transaction there, and so does every
commit until the spool is written back (``spool_writers``), so a later state never lands before an earlier
one; the acknowledgements and maintenance windows last read are used while the centre is away.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.model import AlertRecord, AlertState, MaintenanceWindow, Severity
from alerts.notifiers.base import Notification
from alerts.outbox import notification_to_json
from monitor.storage.database import Storage
from monitor.storage.health import is_row_fault
from monitor.storage.spool import Outgoing, Spool
from monitor.storage.tables import alert_episodes, alerts, maintenance_windows, outbox
from monitor.storage.writeback import Writer

OPEN_STATES: tuple[AlertState, ...] = ("pending", "firing")
DEFAULT_ALERT_RETENTION = 400 * 86400.0  # a year of history and a month to compare with
DEFAULT_OUTBOX_RETENTION = 30 * 86400.0
AREA = "alerts"  # in storage.health (monitor/storage/health.py): the engine's commits


def _insert(storage: Storage, table: Any) -> Any:
    return (pg_dialect.insert if storage.dialect == "postgresql" else sqlite_dialect.insert)(table)


def _alert_row(record: AlertRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "rule": record.rule,
        "site_id": record.site,
        "target": record.target,
        "severity": record.severity,
        "state": record.state,
        "labels": dict(record.labels),
        "summary": record.summary,
        "started_at": record.started_at,
        "fired_at": record.fired_at,
        "resolved_at": record.resolved_at,
        "acked_at": record.acked_at,
        "acked_by": record.acked_by,
        "last_notified_at": record.last_notified_at,
        "suppressed_by": record.suppressed_by,
    }


def _outbox_row(channel_id: str, notification: Notification, now: float) -> dict[str, Any]:
    return {
        "key": notification.key,
        "channel_id": channel_id,
        "alert_id": notification.alert_id,
        "event": notification.event,
        "payload": notification_to_json(notification),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }


def _record(row: Mapping[Any, Any]) -> AlertRecord:
    return AlertRecord(
        id=row["id"],
        rule=row["rule"],
        site=row["site_id"],
        target=row["target"],
        severity=cast(Severity, row["severity"]),
        state=cast(AlertState, row["state"]),
        labels=dict(row["labels"] or {}),
        summary=row["summary"],
        started_at=float(row["started_at"]),
        fired_at=row["fired_at"],
        resolved_at=row["resolved_at"],
        acked_at=row["acked_at"],
        acked_by=row["acked_by"],
        last_notified_at=row["last_notified_at"],
        suppressed_by=row["suppressed_by"],
    )


def _episode(row: Mapping[Any, Any]) -> AlertRecord:
    return _record({**row, "id": row["alert_id"], "state": "resolved", "last_notified_at": None})


def _window_row(window: MaintenanceWindow, created_at: float) -> dict[str, Any]:
    return {
        "id": window.id,
        "title": window.title,
        "start": window.start,
        "duration": window.duration,
        "timezone": window.timezone,
        "rrule": window.rrule,
        "sites": list(window.sites),
        "targets": list(window.targets),
        "rules": list(window.rules),
        "source": window.source,
        "created_by": window.created_by,
        "created_at": created_at,
    }


def _window(row: Mapping[Any, Any]) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=row["id"],
        title=row["title"],
        start=float(row["start"]),
        duration=float(row["duration"]),
        timezone=row["timezone"],
        rrule=row["rrule"],
        sites=tuple(row["sites"]),
        targets=tuple(row["targets"]),
        rules=tuple(row["rules"]),
        source=row["source"],
        created_by=row["created_by"],
    )


class SqlAlertStore:
    """The engine's AlertStore, and the reads and writes of the API and CLI, over one Storage."""

    def __init__(
        self, storage: Storage, *, clock: Callable[[], float] = time.time, on_commit: Callable[[], None] | None = None
    ) -> None:
        self.storage = storage
        self._clock = clock
        self._on_commit = on_commit  # e.g. Outbox.wake: deliver new rows now rather than at the next poll
        # What the engine last read, kept to go on with while the centre is away (only with a spool).
        self._acks: dict[str, tuple[float, str]] = {}
        self._windows: list[MaintenanceWindow] = []

    # --- the engine's Protocol ------------------------------------------------------------------------

    async def load_open(self) -> list[AlertRecord]:
        """Pending and firing alerts, so a restart resumes where the last process stopped."""
        return await self.list_alerts(state=OPEN_STATES)

    async def commit(self, records: Sequence[AlertRecord], outbox_rows: Sequence[tuple[str, Notification]]) -> None:
        """In one transaction: upsert ``records``, keep resolved episodes, enqueue each (channel, notification) once.

        With a spool (the centre's PostgreSQL away, monitor/storage/spool.py) the same commit goes to the spool,
        as one transaction there: the notifications are delivered from it and the write-back brings both to
        the centre later, in order.
        """

        now = float(self._clock())
        spool = self.storage.spool
        try:
            if spool is not None and spool.diverting:
                await self._spool(spool, records, outbox_rows, now)
            else:
                try:
                    await self._commit(records, outbox_rows, now)
                except Exception as exc:
                    if spool is None or is_row_fault(exc):
                        raise
                    spool.cut_off(exc)
                    await self._spool(spool, records, outbox_rows, now)
        except Exception as exc:  # the engine keeps its state and repeats the pass; /-/ready and the notice say why
            self.storage.health.failed(AREA, exc)
            raise
        self.storage.health.succeeded(AREA)
        if outbox_rows and self._on_commit is not None:
            self._on_commit()

    async def _spool(
        self,
        spool: Spool,
        records: Sequence[AlertRecord],
        outbox_rows: Sequence[tuple[str, Notification]],
        now: float,
    ) -> None:
        items = [("alerts", {"records": [_alert_row(r) for r in records]})] if records else []
        outgoing = [
            Outgoing(n.key, channel_id, n.alert_id, _outbox_row(channel_id, n, now)) for channel_id, n in outbox_rows
        ]
        await spool.append(items, outgoing)

    async def _commit(
        self, records: Sequence[AlertRecord], outbox_rows: Sequence[tuple[str, Notification]], now: float
    ) -> None:
        async with self.storage.begin() as conn:
            await self.write_alerts(conn, records)
            if outbox_rows:
                rows = [_outbox_row(channel_id, notification, now) for channel_id, notification in outbox_rows]
                stmt = _insert(self.storage, outbox).on_conflict_do_nothing(index_elements=["key", "channel_id"])
                await conn.execute(stmt, rows)

    async def write_alerts(self, conn: AsyncConnection, records: Sequence[AlertRecord]) -> None:
        """Upsert ``records`` and keep the resolved episodes among them, in ``conn``'s transaction."""
        if records:
            await conn.execute(self._upsert_alerts(), [_alert_row(r) for r in records])
            episodes = [r for r in records if r.state == "resolved" and r.resolved_at is not None]
            if episodes:
                await conn.execute(self._upsert_episodes(), [self._episode_row(r) for r in episodes])

    async def write_spooled_outbox(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Outbox rows kept in the spool, with the state their delivery from the spool reached.

        A row the centre already holds (the commit reached it before the answer was lost) keeps its id; if
        it is still pending there and the spool delivered it, it is marked delivered, so it is not sent twice.
        """
        stmt = _insert(self.storage, outbox)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["key", "channel_id"],
            set_={"state": new.state, "delivered_at": new.delivered_at, "attempts": new.attempts},
            where=and_(outbox.c.state == "pending", new.state != "pending"),
        )
        await conn.execute(stmt, [dict(row) for row in rows])

    async def acknowledgements(self, ids: Sequence[str]) -> dict[str, tuple[float, str]]:
        """id → (acked_at, by) of the given alerts that are acknowledged (the last known while the centre is away)."""
        if not ids:
            return {}
        spool = self.storage.spool
        if spool is not None and spool.centre_down:
            return {i: self._acks[i] for i in ids if i in self._acks}
        query = select(alerts.c.id, alerts.c.acked_at, alerts.c.acked_by).where(
            alerts.c.id.in_(list(ids)), alerts.c.acked_at.is_not(None)
        )
        try:
            async with self.storage.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except Exception as exc:
            if spool is None or is_row_fault(exc):
                raise
            spool.cut_off(exc)  # probing and alerting go on with what was last read
            return {i: self._acks[i] for i in ids if i in self._acks}
        found = {row.id: (float(row.acked_at), row.acked_by or "") for row in rows}
        if spool is not None:
            self._acks = found  # only the ids the engine holds open: bounded by them
        return found

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        """Windows added through the API or the CLI, by start (the last known while the centre is away)."""
        spool = self.storage.spool
        if spool is not None and spool.centre_down:
            return list(self._windows)
        query = select(maintenance_windows).order_by(maintenance_windows.c.start, maintenance_windows.c.id)
        try:
            async with self.storage.engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
        except Exception as exc:
            if spool is None or is_row_fault(exc):
                raise
            spool.cut_off(exc)
            return list(self._windows)
        self._windows = [_window(row) for row in rows]
        return list(self._windows)

    def spool_writers(self) -> dict[str, Writer]:
        """The write-back of the spool's ``alerts`` and ``outbox`` entries (monitor/storage/writeback.py)."""

        async def alert_rows(conn: AsyncConnection, bodies: Sequence[Any]) -> None:
            # The last state of each alert, every episode: consecutive commits folded into one statement
            # (PostgreSQL refuses an upsert that touches one row twice).
            last: dict[str, AlertRecord] = {}
            episodes: dict[tuple[str, float], AlertRecord] = {}
            for body in bodies:
                for row in body["records"]:
                    record = _record(row)
                    last[record.id] = record
                    if record.state == "resolved" and record.resolved_at is not None:
                        episodes[(record.id, record.started_at)] = record
            if last:
                await conn.execute(self._upsert_alerts(), [_alert_row(r) for r in last.values()])
            if episodes:
                await conn.execute(self._upsert_episodes(), [self._episode_row(r) for r in episodes.values()])

        async def outbox_rows(conn: AsyncConnection, bodies: Sequence[Any]) -> None:
            await self.write_spooled_outbox(conn, bodies)

        return {"alerts": alert_rows, "outbox": outbox_rows}

    # --- API and CLI ------------------------------------------------------------------------------------

    async def list_alerts(
        self, state: AlertState | Sequence[AlertState] | None = None, site: str | None = None
    ) -> list[AlertRecord]:
        """Alerts, newest first; ``state`` one state or several, ``site`` one site id."""
        query = select(alerts).order_by(alerts.c.started_at.desc(), alerts.c.id)
        if state is not None:
            query = query.where(alerts.c.state.in_([state] if isinstance(state, str) else list(state)))
        if site is not None:
            query = query.where(alerts.c.site_id == site)
        async with self.storage.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_record(row) for row in rows]

    async def get_alert(self, alert_id: str) -> AlertRecord | None:
        async with self.storage.engine.connect() as conn:
            row = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).mappings().first()
        return _record(row) if row is not None else None

    async def acknowledge(self, alert_id: str, by: str, now: float) -> AlertRecord | None:
        """Acknowledge an open alert; the first acknowledgement of an episode stands.

        Returns the alert as stored afterwards (a resolved one unchanged: the caller can tell by its
        state), or None when there is no such alert.
        """
        async with self.storage.begin() as conn:
            await conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.state.in_(OPEN_STATES), alerts.c.acked_at.is_(None))
                .values(acked_at=now, acked_by=by)
            )
            row = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).mappings().first()
        return _record(row) if row is not None else None

    async def add_maintenance(self, window: MaintenanceWindow) -> None:
        """Store a window (replacing one of the same id)."""
        row = _window_row(window, float(self._clock()))
        stmt = _insert(self.storage, maintenance_windows)
        updates = {name: stmt.excluded[name] for name in row if name not in ("id", "created_at")}
        async with self.storage.begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=updates), [row])

    async def get_maintenance(self, window_id: str) -> MaintenanceWindow | None:
        query = select(maintenance_windows).where(maintenance_windows.c.id == window_id)
        async with self.storage.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _window(row) if row is not None else None

    async def remove_maintenance(self, window_id: str) -> bool:
        """Delete a window; False when there was none."""
        async with self.storage.begin() as conn:
            result = await conn.execute(delete(maintenance_windows).where(maintenance_windows.c.id == window_id))
        return bool(result.rowcount)

    async def history(
        self, *, site: str | None = None, since: float | None = None, until: float | None = None
    ) -> list[AlertRecord]:
        """Resolved episodes (state "resolved"), newest first: how often a site dropped, and for how long."""
        query = select(alert_episodes).order_by(alert_episodes.c.started_at.desc(), alert_episodes.c.alert_id)
        if site is not None:
            query = query.where(alert_episodes.c.site_id == site)
        if since is not None:
            query = query.where(alert_episodes.c.started_at >= since)
        if until is not None:
            query = query.where(alert_episodes.c.started_at < until)
        async with self.storage.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_episode(row) for row in rows]

    # --- statements -------------------------------------------------------------------------------------

    def _upsert_alerts(self) -> Any:
        stmt = _insert(self.storage, alerts)
        new = stmt.excluded
        same_episode = alerts.c.started_at == new.started_at
        updates: dict[str, Any] = {c.name: new[c.name] for c in alerts.columns if c.name != "id"}
        # The API may have acknowledged this episode after the engine read the acknowledgements: keep it.
        updates["acked_at"] = case((same_episode, func.coalesce(new.acked_at, alerts.c.acked_at)), else_=new.acked_at)
        updates["acked_by"] = case((same_episode, func.coalesce(new.acked_by, alerts.c.acked_by)), else_=new.acked_by)
        return stmt.on_conflict_do_update(index_elements=["id"], set_=updates)

    def _upsert_episodes(self) -> Any:
        stmt = _insert(self.storage, alert_episodes)
        updates = {c.name: stmt.excluded[c.name] for c in alert_episodes.columns if not c.primary_key}
        return stmt.on_conflict_do_update(index_elements=["alert_id", "started_at"], set_=updates)

    @staticmethod
    def _episode_row(record: AlertRecord) -> dict[str, Any]:
        row = _alert_row(record)
        del row["state"], row["last_notified_at"]
        row["alert_id"] = row.pop("id")
        return row


async def prune_alerts(
    storage: Storage,
    *,
    now: float | None = None,
    alert_retention: float = DEFAULT_ALERT_RETENTION,
    outbox_retention: float = DEFAULT_OUTBOX_RETENTION,
) -> int:
    """Delete resolved alerts and episodes older than ``alert_retention`` and finished outbox rows older than
    ``outbox_retention``; returns the rows deleted. The retention loop calls it (e.g. daily).

    An outbox row of an alert that is still open is kept whatever its age: its last firing notification is
    what the Alertmanager refresh re-sends.
    """
    moment = time.time() if now is None else now
    alert_cutoff = moment - alert_retention
    outbox_cutoff = moment - outbox_retention
    open_ids = select(alerts.c.id).where(alerts.c.state.in_(OPEN_STATES))
    deleted = 0
    async with storage.begin() as conn:
        deleted += await _count(
            conn, delete(alerts).where(alerts.c.state == "resolved", alerts.c.resolved_at < alert_cutoff)
        )
        deleted += await _count(conn, delete(alert_episodes).where(alert_episodes.c.resolved_at < alert_cutoff))
        finished = or_(outbox.c.state == "delivered", outbox.c.state == "rejected")
        deleted += await _count(
            conn,
            delete(outbox).where(
                and_(finished, outbox.c.created_at < outbox_cutoff, outbox.c.alert_id.not_in(open_ids))
            ),
        )
    return deleted


async def _count(conn: AsyncConnection, statement: Any) -> int:
    result = await conn.execute(statement)
    return int(result.rowcount or 0)
