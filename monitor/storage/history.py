"""Probe history written in batches, off the scheduler's path.

The scheduler calls ``writer.offer(target, result)`` after each run: it appends to a bounded in-memory
queue and returns at once. ``writer.run()`` (a task owned by the service) inserts the queue in batches
every ``flush_interval`` seconds, or sooner once ``batch`` results wait. If the database cannot take the
batch (down, disk full, locked) the queue keeps up to ``max_pending`` results (the oldest are dropped beyond
that, counted and logged) and the writer retries with back-off, so the history catches up once it can;
cancelling ``run()`` flushes what is left first, within a bound.

A batch the database refuses because of a value in it (an integer out of range, a constraint: see
``is_row_fault`` in monitor/storage/health.py) is split in halves until the bad rows stand alone: they are
logged and dropped, every other row is written, and later batches are never held up (issue 13: one NUL
in a SIP reason phrase stopped the history of every site on PostgreSQL; text itself is made safe by the
column types, monitor/storage/safe_text.py).

One raw row per result (table history_raw): ts (epoch ms), target id, success, duration, reason, the
detail of a failure (200 characters), and rtt_min/avg/median/max, jitter, loss_ratio, mos, status_code
as nullable columns. Counters for the service's own metrics (monitor/metrics/history.py): ``written``,
``dropped`` (queue full), ``rejected`` (rows the database refused), ``failures`` (batches that could not be
written), ``pending``, ``last_success``; the ``history`` area of ``storage.health`` follows each attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from monitor.engine.targets import Target
from monitor.storage.database import Storage, target_row
from monitor.storage.health import describe, is_row_fault
from monitor.storage.spool import Spool, SpoolError
from monitor.storage.tables import VALUE_COLUMNS, history_raw
from monitor.storage.writeback import history_body
from probes.core.result import ProbeResult

log = logging.getLogger(__name__)

DETAIL_LIMIT = 200
SHUTDOWN_FLUSH_TIMEOUT = 10.0
MAX_BACKOFF = 60.0
AREA = "history"


def raw_row(target_id: int, result: ProbeResult) -> dict[str, Any]:
    values = result.values
    status = values.get("status_code")
    return {
        "target_id": target_id,
        "ts": int(result.timestamp * 1000),
        "success": result.success,
        "duration": result.duration,
        "reason": str(result.reason)[:32],
        "detail": result.detail[:DETAIL_LIMIT] if (result.detail and not result.success) else None,
        **{name: values.get(name) for name in VALUE_COLUMNS},
        "status_code": int(status) if status is not None else None,
    }


class HistoryWriter:
    def __init__(
        self, storage: Storage, *, batch: int = 1000, flush_interval: float = 5.0, max_pending: int = 200_000
    ) -> None:
        self.storage = storage
        self.batch = batch
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._queue: deque[tuple[Target, ProbeResult]] = deque()
        self._wake = asyncio.Event()
        self.written = 0
        self.spooled = 0  # results kept in the spool while the centre was unreachable (written back later)
        self.dropped = 0
        self.rejected = 0
        self.failures = 0
        self.last_success: float | None = None
        self._last_drop_log = 0.0

    @property
    def pending(self) -> int:
        return len(self._queue)

    def offer(self, target: Target, result: ProbeResult) -> None:
        """Queue one result; never blocks and never raises (the scheduler calls it on every run)."""
        if len(self._queue) >= self.max_pending:
            self._queue.popleft()
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 60:
                self._last_drop_log = now
                log.warning(
                    "history queue full (%s results, database unreachable?): dropping the oldest; %s dropped so far",
                    self.max_pending,
                    self.dropped,
                )
        self._queue.append((target, result))
        if len(self._queue) >= self.batch:
            self._wake.set()

    async def flush(self) -> None:
        """Write everything queued, batch by batch; on a database fault the unwritten results stay queued.

        With a spool (the centre's PostgreSQL, monitor/storage/spool.py) a fault of the database sends the
        queue to the spool instead, and so does every flush until the spool is written back; only when the
        spool cannot take them either (full, its own disk) do they stay queued here.
        """
        while self._queue:
            spool = self.storage.spool
            if spool is not None and spool.diverting and await self._spool(spool):
                continue
            chunk = [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]
            try:
                await self._write(chunk)
            except BaseException as exc:
                if isinstance(exc, Exception):
                    if spool is not None:
                        spool.cut_off(exc)  # the results went back to the queue: the spool takes them next
                        continue
                    self.storage.health.failed(AREA, exc)
                raise
            self.storage.health.succeeded(AREA)
            self.last_success = time.time()

    async def _spool(self, spool: Spool) -> bool:
        """Move one batch of the queue into the spool; False (the batch stays queued) when it cannot take it."""
        chunk = [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]
        bodies = [("history", history_body(target_row(t), raw_row(0, r))) for t, r in chunk]
        try:
            await spool.append(bodies)
        except SpoolError as exc:
            self._queue.extendleft(reversed(chunk))
            self.storage.health.failed(AREA, f"the centre is unreachable and {exc}")
            raise
        except BaseException:
            self._queue.extendleft(reversed(chunk))
            raise
        self.spooled += len(chunk)
        self.storage.health.succeeded(AREA)  # kept safe: the write-back brings them to the centre
        return True

    async def _write(self, chunk: list[tuple[Target, ProbeResult]]) -> None:
        """Insert ``chunk``; rows refused for their values are split off and dropped, the rest written."""
        parts = [chunk]  # a stack: the next part to try is on top, in queue order
        while parts:
            part = parts.pop()
            try:
                ids = await self.storage.target_ids(target for target, _ in part)
                rows = [raw_row(ids[target.key], result) for target, result in part]
                async with self.storage.begin() as conn:
                    await conn.execute(history_raw.insert(), rows)
            except BaseException as exc:
                if not isinstance(exc, Exception) or not is_row_fault(exc):
                    # Back to the queue in order (on cancel too, for the final flush): this part, then the stack's.
                    unwritten = [item for pending in (part, *reversed(parts)) for item in pending]
                    self._queue.extendleft(reversed(unwritten))
                    raise
                if len(part) > 1:
                    middle = len(part) // 2
                    parts += [part[middle:], part[:middle]]
                    continue
                self._reject(part[0], exc)
                continue
            self.written += len(rows)

    def _reject(self, item: tuple[Target, ProbeResult], exc: Exception) -> None:
        target, result = item
        self.rejected += 1
        log.error(
            "history: the database refused the result of %s at %.3f; dropped, the other results are written: %s",
            target.key,
            result.timestamp,
            describe(exc),
            exc_info=not isinstance(exc, SQLAlchemyError | UnicodeError | OverflowError),  # else a bug: show where
        )

    async def run(self) -> None:
        """Flush until cancelled; then flush what is left (at most SHUTDOWN_FLUSH_TIMEOUT) and re-raise."""
        backoff = self.flush_interval
        failing = False
        try:
            while True:
                if failing:
                    # The queue is past ``batch`` while the database is faulty, and offer() wakes the writer on
                    # every result: sleep out the back-off instead of hammering the database.
                    await asyncio.sleep(backoff)
                else:
                    try:
                        async with asyncio.timeout(backoff):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
                self._wake.clear()
                try:
                    await self.flush()
                except Exception as exc:  # the database's fault (is_row_fault): the results stay queued
                    self.failures += 1
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    if not failing:
                        log.error(
                            "history write failed (%s results kept, retrying with back-off): %s",
                            len(self._queue),
                            describe(exc),
                        )
                    else:
                        log.warning(
                            "history write failed again (%s results kept, retry in %.0fs): %s",
                            len(self._queue),
                            backoff,
                            describe(exc),
                        )
                    failing = True
                else:
                    if failing:
                        log.info("history written again after %s failed attempts", self.failures)
                    failing = False
                    backoff = self.flush_interval
        except asyncio.CancelledError:
            await self._final_flush()
            raise

    async def _final_flush(self) -> None:
        if not self._queue:
            return
        try:
            async with asyncio.timeout(SHUTDOWN_FLUSH_TIMEOUT):
                await self.flush()
        except Exception as exc:
            log.error("history: %s results not written at shutdown: %s", len(self._queue), describe(exc))
