"""Writing the spool back to the centre (PostgreSQL) once it answers again: in order, in bounded batches.

    writeback = Writeback(storage, spool, writers={**storage_writers(storage), **alert_writers(store)})
    group.create_task(writeback.run())      # until cancelled

Every ``interval`` seconds while the spool holds entries (or the centre is marked down) one SELECT 1 is sent;
when it answers, ``spool.reconnected()`` stops the deliveries from the spool, the write-back waits for those
in flight to end, then writes the oldest ``batch`` entries in one transaction of the centre and deletes them
from the spool, and so on until the spool is empty. Entries of one kind that follow each other are written
together, and the kinds are written in the order they came, so a later alert state overwrites an earlier one.

Each writer is idempotent, so a restart between the commit at the centre and the delete in the spool writes
nothing twice: history rows already present (same target and time) are skipped, alert rows are upserts,
outbox rows are keyed by (idempotency key, channel), a readiness report is matched by meeting, occurrence,
lead time, creation time and agent. The JSON decoding and row building run on the event loop but a batch is bounded
(500 entries, each a small row), and the database round trips are asynchronous.

A batch the centre refuses for a value in it (``is_row_fault``) is retried one entry at a time: the entry it
refuses is logged and dropped (``spool.dropped``), never blocking the others. Any other fault marks the centre
down again and the write-back waits for the next check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.storage.database import Storage
from monitor.storage.health import describe, is_row_fault
from monitor.storage.spool import Entry, Spool
from monitor.storage.tables import history_raw, readiness_reports, readiness_results, targets

log = logging.getLogger(__name__)

BATCH = 500
INTERVAL = 5.0
TIMEOUT = 30.0  # one batch's transaction at the centre
Writer = Callable[[AsyncConnection, Sequence[Any]], Awaitable[None]]


class Writeback:
    def __init__(
        self,
        storage: Storage,
        spool: Spool,
        writers: Mapping[str, Writer],
        *,
        batch: int = BATCH,
        interval: float = INTERVAL,
    ) -> None:
        self.storage = storage
        self.spool = spool
        self.writers = dict(writers)
        self.batch = batch
        self.interval = interval

    async def run(self) -> None:
        while True:
            if self.spool.diverting:
                try:
                    await self.drain()
                except Exception as exc:  # the centre went away again (or the spool's disk): try later
                    if not self.spool.centre_down:  # once per outage: the check runs every few seconds
                        log.warning("write-back to the centre paused: %s", describe(exc))
                    self.spool.cut_off(exc)
            await asyncio.sleep(self.interval)

    async def drain(self) -> int:
        """Write back everything spooled; returns the entries written. Raises when the centre is still away."""
        if not await self.storage.health.check(self.storage.ping):  # /-/ready and /metrics follow its answer
            raise ConnectionError(f"the centre does not answer: {self.storage.health.faults()[0].error}")
        self.spool.reconnected()
        await self.spool.deliveries_done()  # a notification being sent from the spool is written back once sent
        written = 0
        while entries := await self.spool.batch(self.batch):
            try:
                async with asyncio.timeout(TIMEOUT):
                    await self._write(entries)
            except Exception as exc:
                if not is_row_fault(exc):
                    raise
                await self._one_by_one(entries)
            await self.spool.delete(entries)
            written += len(entries)
        self.spool.full = False  # empty: whatever it refused can come now
        return written

    async def _write(self, entries: Sequence[Entry]) -> None:
        async with self.storage.begin() as conn:
            for kind, bodies in _runs(entries):
                writer = self.writers.get(kind)
                if writer is None:
                    log.error("spool: %s entries of kind %s have no writer here; kept", len(bodies), kind)
                    raise RuntimeError(f"no writer for spooled {kind}")
                await writer(conn, bodies)

    async def _one_by_one(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            try:
                await self._write([entry])
            except Exception as exc:
                if not is_row_fault(exc):
                    raise
                self.spool.dropped[entry.kind] += 1
                log.error(
                    "spool: the centre refused a %s entry kept at %.3f; dropped: %s",
                    entry.kind,
                    entry.created_at,
                    describe(exc),
                )


def _runs(entries: Sequence[Entry]) -> list[tuple[str, list[Any]]]:
    """Consecutive entries of one kind together, in order; an outbox entry's body gets its delivery state."""
    out: list[tuple[str, list[Any]]] = []
    for entry in entries:
        body = entry.body
        if entry.kind == "outbox":
            body = {**body, "state": entry.state, "attempts": entry.attempts, "delivered_at": entry.delivered_at}
            if entry.next_attempt_at is not None:
                body["next_attempt_at"] = entry.next_attempt_at
        if out and out[-1][0] == entry.kind:
            out[-1][1].append(body)
        else:
            out.append((entry.kind, [body]))
    return out


# --- the storage floor's own kinds -------------------------------------------------------------------------------


def storage_writers(storage: Storage) -> dict[str, Writer]:
    async def history(conn: AsyncConnection, bodies: Sequence[Any]) -> None:
        await write_history(storage, conn, bodies)

    async def readiness(conn: AsyncConnection, bodies: Sequence[Any]) -> None:
        await write_reports(conn, bodies)

    return {"history": history, "readiness": readiness}


def history_body(target_row: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """A probe result as the spool keeps it: the target by key (its id is the centre's), the raw row's values."""
    return {"target": dict(target_row), "row": {k: v for k, v in row.items() if k != "target_id"}}


async def write_history(storage: Storage, conn: AsyncConnection, bodies: Sequence[Any]) -> None:
    """Insert spooled results, registering their targets; a result already stored (target, ts) is skipped."""
    wanted = {b["target"]["key"]: b["target"] for b in bodies}
    insert: Any = (pg_dialect.insert if storage.dialect == "postgresql" else sqlite_dialect.insert)(targets)
    await conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]), list(wanted.values()))
    found = await conn.execute(select(targets.c.key, targets.c.id).where(targets.c.key.in_(list(wanted))))
    ids = {key: int(ident) for key, ident in found.all()}
    rows = [{**b["row"], "target_id": ids[b["target"]["key"]]} for b in bodies]
    pairs = {(r["target_id"], r["ts"]) for r in rows}
    present = await conn.execute(
        select(history_raw.c.target_id, history_raw.c.ts).where(
            tuple_(history_raw.c.target_id, history_raw.c.ts).in_(sorted(pairs))
        )
    )
    stored = {(int(t), int(ts)) for t, ts in present.all()}
    fresh = [r for r in rows if (r["target_id"], r["ts"]) not in stored]
    if fresh:
        await conn.execute(history_raw.insert(), fresh)


async def write_reports(conn: AsyncConnection, bodies: Sequence[Any]) -> None:
    """Insert spooled readiness reports with their verdicts; one already at the centre is skipped.

    A report is known by meeting, occurrence, lead time, creation second and agent: two agents that checked
    the same occurrence in the same second (a standby and the lease holder, cut off together) made two reports,
    and both are kept. ``agent`` may be None (a report spooled before schema 5): ``== None`` is ``IS NULL``.
    """
    keys = ("meeting_id", "occurrence_start", "lead_time", "created_at", "agent")
    match = or_(*(and_(*(readiness_reports.c[k] == b.get(k) for k in keys)) for b in bodies))
    present = {tuple(row) for row in (await conn.execute(select(*(readiness_reports.c[k] for k in keys)).where(match)))}
    for body in bodies:
        identity = tuple(body.get(k) for k in keys)
        if identity in present:
            continue
        inserted = await conn.execute(
            readiness_reports.insert().values(**{k: body.get(k) for k in keys}).returning(readiness_reports.c.id)
        )
        report_id = int(inserted.scalar_one())
        if body["results"]:
            await conn.execute(readiness_results.insert(), [{**r, "report_id": report_id} for r in body["results"]])
