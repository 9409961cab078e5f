"""Keep the database bounded: roll raw history up into hours, then delete what is older than retention.

Hourly row per target (history_hourly): samples, successes (availability = successes / samples),
duration_avg, rtt_min (min of mins), rtt_avg, rtt_max (max of maxes), jitter_avg, loss_avg, mos_avg.

The roll-up is idempotent (delete-then-insert per window, in one transaction) and redoes the last few
hours each time, so results that arrive late (a writer that caught up after a database outage) still
count. Raw rows are deleted only once rolled up, in bounded batches, so no single statement holds the
database for long. The watermark lives in table meta ("rollup_until", epoch ms).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import case, delete, func, insert, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.storage.database import Storage
from monitor.storage.tables import history_hourly, history_raw, meta

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SETTLE_MS = 5 * 60_000  # an hour is rolled up 5 minutes after it ends: in-flight batches have landed
REROLL_MS = 3 * HOUR_MS
WATERMARK = "rollup_until"
DEFAULT_RAW_RETENTION = 2 * 86400.0
DEFAULT_HOURLY_RETENTION = 365 * 86400.0


async def read_watermark(conn: AsyncConnection) -> int | None:
    value = (await conn.execute(select(meta.c.value).where(meta.c.key == WATERMARK))).scalar_one_or_none()
    return int(value) if value is not None else None


async def watermark(storage: Storage) -> int | None:
    """Epoch ms up to which raw history has been rolled up (None before the first roll-up)."""
    async with storage.engine.connect() as conn:
        return await read_watermark(conn)


def _rollup_select(start: int, end: int) -> Any:
    raw = history_raw.c
    hour = (raw.ts // literal(HOUR_MS)) * literal(HOUR_MS)
    return (
        select(
            raw.target_id,
            hour,
            func.count(),
            func.sum(case((raw.success, 1), else_=0)),
            func.avg(raw.duration),
            func.min(raw.rtt_min),
            func.avg(raw.rtt_avg),
            func.max(raw.rtt_max),
            func.avg(raw.jitter),
            func.avg(raw.loss_ratio),
            func.avg(raw.mos),
        )
        .where(raw.ts >= start, raw.ts < end)
        .group_by(raw.target_id, hour)
    )


async def rollup(storage: Storage, *, now: float | None = None) -> int:
    """Aggregate every completed hour not yet rolled up (and the last few again); returns hours processed."""
    now_ms = int((time.time() if now is None else now) * 1000)
    until = (now_ms - SETTLE_MS) // HOUR_MS * HOUR_MS
    async with storage.engine.connect() as conn:
        mark = await read_watermark(conn)
        if mark is None:
            oldest = (await conn.execute(select(func.min(history_raw.c.ts)))).scalar_one_or_none()
            if oldest is None:
                return 0
            start = int(oldest) // HOUR_MS * HOUR_MS
        else:
            start = max(mark - REROLL_MS, 0)
    hours = 0
    columns = [c.name for c in history_hourly.columns]
    while start < until:
        end = min(start + DAY_MS, until)  # one day per transaction: bounded work per statement
        async with storage.begin() as conn:
            await conn.execute(delete(history_hourly).where(history_hourly.c.ts >= start, history_hourly.c.ts < end))
            await conn.execute(insert(history_hourly).from_select(columns, _rollup_select(start, end)))
            row = {"key": WATERMARK, "value": str(end)}
            await conn.execute(storage.upsert(meta, [row], ["key"]), row)
        hours += (end - start) // HOUR_MS
        start = end
        await asyncio.sleep(0)
    return hours


async def prune(
    storage: Storage,
    *,
    raw_retention: float = DEFAULT_RAW_RETENTION,
    hourly_retention: float = DEFAULT_HOURLY_RETENTION,
    now: float | None = None,
    batch: int = 20_000,
) -> tuple[int, int]:
    """Delete raw rows past raw_retention (only once rolled up) and hourly rows past hourly_retention."""
    now_ms = int((time.time() if now is None else now) * 1000)
    async with storage.engine.connect() as conn:
        mark = await read_watermark(conn)
    raw_deleted = hourly_deleted = 0
    if mark is not None:
        cut = min(now_ms - int(raw_retention * 1000), mark)
        while True:
            victims = select(history_raw.c.id).where(history_raw.c.ts < cut).limit(batch).scalar_subquery()
            async with storage.begin() as conn:
                gone = (await conn.execute(delete(history_raw).where(history_raw.c.id.in_(victims)))).rowcount
            raw_deleted += gone
            await asyncio.sleep(0)
            if gone < batch:
                break
    cut = now_ms - int(hourly_retention * 1000)
    async with storage.engine.connect() as conn:
        oldest = (await conn.execute(select(func.min(history_hourly.c.ts)))).scalar_one_or_none()
    # Hourly rows have no single id: delete a day of them at a time (24 rows a target).
    while oldest is not None and oldest < cut:
        upto = min(int(oldest) + DAY_MS, cut)
        async with storage.begin() as conn:
            hourly_deleted += (await conn.execute(delete(history_hourly).where(history_hourly.c.ts < upto))).rowcount
        oldest = upto
        await asyncio.sleep(0)
    return raw_deleted, hourly_deleted


async def retention_loop(
    storage: Storage,
    *,
    raw_retention: float = DEFAULT_RAW_RETENTION,
    hourly_retention: float = DEFAULT_HOURLY_RETENTION,
    every: float = 600.0,
) -> None:
    """Roll up and prune every ``every`` seconds until cancelled; a database error is logged and retried."""
    while True:
        try:
            hours = await rollup(storage)
            raw, hourly = await prune(storage, raw_retention=raw_retention, hourly_retention=hourly_retention)
            if raw or hourly:
                log.info("history retention: %s hours rolled up, %s raw and %s hourly rows deleted", hours, raw, hourly)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("history retention failed, retrying in %.0fs: %s", every, exc)
        await asyncio.sleep(every)
