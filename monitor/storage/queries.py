"""Reads of probe history: a site's points over a range, and the latest result of every target.

``points_of(conn, ids, since, until, step)`` is the same read for any set of targets (the site page, the report).

``history(storage, site_id, since, until, step)`` returns one HistoryPoint per target and step bucket:
from raw rows where they are still kept (raw_retention, default 2 days), from hourly aggregates before
that (so a one-year range costs at most 8,760 hourly rows a target). The step is at least one minute,
at least an hour over hourly rows, and coarse enough for at most MAX_POINTS buckets a target. Inactive
targets (a site renamed or removed from the inventory) are included: history outlives the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.storage.database import Storage
from monitor.storage.retention import HOUR_MS, read_watermark
from monitor.storage.tables import history_hourly, history_raw, targets

MIN_STEP = 60.0
MAX_POINTS = 2000  # per target: a wider range gets a coarser step


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    target: str  # the target key, SITE/link or SITE/ENDPOINT
    kind: str
    ts: datetime  # start of the bucket, UTC
    samples: int
    availability: float  # successes / samples
    duration_avg: float | None
    rtt_min: float | None
    rtt_avg: float | None
    rtt_max: float | None
    jitter: float | None
    loss: float | None
    mos: float | None


@dataclass(frozen=True, slots=True)
class LatestPoint:
    target: str
    site: str
    kind: str
    ts: datetime
    success: bool
    reason: str
    rtt_avg: float | None
    loss: float | None


def choose_step(since: datetime, until: datetime, step: float | None) -> float:
    span = max((until - since).total_seconds(), 0.0)
    return max(step or 0.0, MIN_STEP, span / MAX_POINTS)


async def history(
    storage: Storage, site_id: str, since: datetime, until: datetime | None = None, step: float | None = None
) -> list[HistoryPoint]:
    """Points of every target of ``site_id`` in [since, until), ordered by target then time."""
    until = until or datetime.now(UTC)
    async with storage.engine.connect() as conn:
        ids = {
            int(row.id): (row.key, row.kind)
            for row in (
                await conn.execute(
                    select(targets.c.id, targets.c.key, targets.c.kind).where(targets.c.site_id == site_id)
                )
            ).all()
        }
        return await points_of(conn, ids, since, until, choose_step(since, until, step))


async def points_of(
    conn: AsyncConnection, ids: dict[int, tuple[str, str]], since: datetime, until: datetime, step: float
) -> list[HistoryPoint]:
    """Points of the targets ``ids`` (id → (key, kind)) in [since, until) at ``step`` seconds, by target then time.

    One query over raw rows and one over hourly rows, whatever the number of targets (the site page, the
    monthly report of every site); the step is taken as given.
    """
    return to_points(await bucket_rows(conn, list(ids), since, until, step), ids)


async def bucket_rows(
    conn: AsyncConnection, ids: list[int], since: datetime, until: datetime, step: float
) -> list[Any]:
    """The database's rows behind points_of; to_points makes them points (off the event loop when they are many)."""
    if not ids:
        return []
    step_ms = int(step * 1000)
    start, end = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
    boundary = await raw_boundary(conn)
    rows: list[Any] = []
    if start < boundary:
        hourly_step = max(step_ms // HOUR_MS, 1) * HOUR_MS
        rows += (await conn.execute(_hourly_query(ids, start, min(end, boundary), hourly_step))).all()
    if end > boundary:
        rows += (await conn.execute(_raw_query(ids, max(start, boundary), end, step_ms))).all()
    return rows


def to_points(rows: list[Any], ids: dict[int, tuple[str, str]]) -> list[HistoryPoint]:
    """bucket_rows' rows as points, by target then time (pure: a thread may run it)."""
    points = [
        HistoryPoint(
            target=ids[int(r.target_id)][0],
            kind=ids[int(r.target_id)][1],
            ts=datetime.fromtimestamp(int(r.bucket) / 1000, UTC),
            samples=int(r.samples),
            availability=float(r.successes) / int(r.samples) if r.samples else 0.0,
            duration_avg=_float(r.duration_avg),
            rtt_min=_float(r.rtt_min),
            rtt_avg=_float(r.rtt_avg),
            rtt_max=_float(r.rtt_max),
            jitter=_float(r.jitter),
            loss=_float(r.loss),
            mos=_float(r.mos),
        )
        for r in rows
    ]
    points.sort(key=lambda p: (p.target, p.ts))
    return points


async def raw_boundary(conn: AsyncConnection) -> int:
    """Epoch ms from which raw rows answer: the first whole hour of raw history, if it was rolled up.

    Before it, hourly rows (complete: raw rows are pruned only once rolled up); from it, raw rows at the
    requested step. Before any roll-up everything is raw.
    """
    mark = await read_watermark(conn)
    if mark is None:
        return 0
    oldest = (await conn.execute(select(func.min(history_raw.c.ts)))).scalar_one_or_none()
    if oldest is None:
        return mark
    return min(-(-int(oldest) // HOUR_MS) * HOUR_MS, mark)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)  # PostgreSQL's avg() of a float is float, of ints Decimal


def _raw_query(ids: list[int], start: int, end: int, step_ms: int) -> Any:
    raw = history_raw.c
    bucket = (raw.ts // literal(step_ms)) * literal(step_ms)
    return (
        select(
            raw.target_id,
            bucket.label("bucket"),
            func.count().label("samples"),
            func.sum(case((raw.success, 1), else_=0)).label("successes"),
            func.avg(raw.duration).label("duration_avg"),
            func.min(raw.rtt_min).label("rtt_min"),
            func.avg(raw.rtt_avg).label("rtt_avg"),
            func.max(raw.rtt_max).label("rtt_max"),
            func.avg(raw.jitter).label("jitter"),
            func.avg(raw.loss_ratio).label("loss"),
            func.avg(raw.mos).label("mos"),
        )
        .where(raw.target_id.in_(ids), raw.ts >= start, raw.ts < end)
        .group_by(raw.target_id, bucket)
    )


def _hourly_query(ids: list[int], start: int, end: int, step_ms: int) -> Any:
    hourly = history_hourly.c
    bucket = (hourly.ts // literal(step_ms)) * literal(step_ms)
    return (
        select(
            hourly.target_id,
            bucket.label("bucket"),
            func.sum(hourly.samples).label("samples"),
            func.sum(hourly.successes).label("successes"),
            func.avg(hourly.duration_avg).label("duration_avg"),
            func.min(hourly.rtt_min).label("rtt_min"),
            func.avg(hourly.rtt_avg).label("rtt_avg"),
            func.max(hourly.rtt_max).label("rtt_max"),
            func.avg(hourly.jitter_avg).label("jitter"),
            func.avg(hourly.loss_avg).label("loss"),
            func.avg(hourly.mos_avg).label("mos"),
        )
        .where(hourly.target_id.in_(ids), hourly.ts >= start // HOUR_MS * HOUR_MS, hourly.ts < end)
        .group_by(hourly.target_id, bucket)
    )


async def latest_status(storage: Storage) -> list[LatestPoint]:
    """The newest stored result of every active target (one index probe per target, not a scan)."""
    raw = history_raw.c
    inner = history_raw.alias("newest")
    newest = select(func.max(inner.c.ts)).where(inner.c.target_id == targets.c.id).correlate(targets).scalar_subquery()
    query = (
        select(
            targets.c.key,
            targets.c.site_id,
            targets.c.kind,
            raw.ts,
            raw.success,
            raw.reason,
            raw.rtt_avg,
            raw.loss_ratio,
        )
        .join(history_raw, raw.target_id == targets.c.id)
        .where(targets.c.active, raw.ts == newest)
        .order_by(targets.c.key)
    )
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    seen: dict[str, LatestPoint] = {}
    for r in rows:  # two results of one target in the same millisecond: keep one
        seen.setdefault(
            r.key,
            LatestPoint(
                target=r.key,
                site=r.site_id,
                kind=r.kind,
                ts=datetime.fromtimestamp(int(r.ts) / 1000, UTC),
                success=bool(r.success),
                reason=r.reason,
                rtt_avg=_float(r.rtt_avg),
                loss=_float(r.loss_ratio),
            ),
        )
    return list(seen.values())
