"""Probe history written in batches, off the scheduler's path.

The scheduler calls ``writer.offer(target, result)`` after each run: it appends to a bounded in-memory
queue and returns at once. ``writer.run()`` (a task owned by the service) inserts the queue in batches
every ``flush_interval`` seconds, or sooner once ``batch`` results wait. If the database is down the
queue keeps up to ``max_pending`` results (the oldest are dropped beyond that, counted and logged) and
the writer retries with back-off; cancelling ``run()`` flushes what is left first, within a bound.

One raw row per result (table history_raw): ts (epoch ms), target id, success, duration, reason, the
detail of a failure (200 characters), and rtt_min/avg/median/max, jitter, loss_ratio, mos, status_code
as nullable columns. Counters for the service's own metrics: ``written``, ``dropped``, ``failures``,
``pending``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from monitor.engine.targets import Target
from monitor.storage.database import Storage
from monitor.storage.tables import VALUE_COLUMNS, history_raw
from probes.core.result import ProbeResult

log = logging.getLogger(__name__)

DETAIL_LIMIT = 200
SHUTDOWN_FLUSH_TIMEOUT = 10.0
MAX_BACKOFF = 60.0


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
        self.dropped = 0
        self.failures = 0
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
        """Write everything queued, batch by batch; on a database error the unwritten results stay queued."""
        while self._queue:
            chunk = [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]
            try:
                ids = await self.storage.target_ids(target for target, _ in chunk)
                rows = [raw_row(ids[target.key], result) for target, result in chunk]
                async with self.storage.begin() as conn:
                    await conn.execute(history_raw.insert(), rows)
            except BaseException:
                self._queue.extendleft(reversed(chunk))  # keep order; on cancel too, for the final flush
                raise
            self.written += len(rows)

    async def run(self) -> None:
        """Flush until cancelled; then flush what is left (at most SHUTDOWN_FLUSH_TIMEOUT) and re-raise."""
        backoff = self.flush_interval
        try:
            while True:
                try:
                    async with asyncio.timeout(backoff):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
                try:
                    await self.flush()
                    backoff = self.flush_interval
                except (SQLAlchemyError, OSError) as exc:
                    self.failures += 1
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    log.warning(
                        "history write failed (%s results kept, retry in %.0fs): %s", len(self._queue), backoff, exc
                    )
        except asyncio.CancelledError:
            await self._final_flush()
            raise

    async def _final_flush(self) -> None:
        if not self._queue:
            return
        try:
            async with asyncio.timeout(SHUTDOWN_FLUSH_TIMEOUT):
                await self.flush()
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            log.error("history: %s results not written at shutdown: %s", len(self._queue), exc or "timed out")
