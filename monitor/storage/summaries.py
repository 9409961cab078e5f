"""Reads for the site page and the reports: RTT spread per bucket, the briefings a site took part in.

    await rtt_spread(storage, "tan-thinh/link", since, until, step)     # SmokePing's smoke, per bucket
    await site_briefings(storage, "tan-thinh", limit=14)                 # the last briefings' verdicts
    await briefings_between(storage, since, until)                       # every briefing of a month

The spread is computed in the database (a window function, SQLite ≥ 3.25 and PostgreSQL alike): per bucket,
the per-round medians (history_raw.rtt_median) ranked, and the ranks of QUANTILES picked out, so at most
``buckets × len(QUANTILES)`` rows come back however many rounds were stored. Only raw rows have per-round
medians; hourly rows (past history.raw_retention) have min, mean and max, which the page shows instead.

The quantile of n sorted values at q percent is the value at 0-based index ``(n - 1) * q // 100`` (lower
nearest rank): integer arithmetic, the same on both databases and in the tests.

A briefing is one occurrence of a meeting; its verdict for a site is the one of its latest report (the check
closest to the start), as the board shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal, or_, select

from monitor.storage.database import Storage
from monitor.storage.queries import raw_boundary
from monitor.storage.tables import history_raw, meetings, readiness_reports, readiness_results, targets

QUANTILES = (10, 25, 50, 75, 90)  # percent: the smoke's bands and its median line
REPORTS_PER_BRIEFING = 8  # lead times checked per occurrence, at most, when reading a site's last briefings
IN_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True, slots=True)
class Spread:
    """The per-round median RTTs of one bucket: how many, and their QUANTILES (seconds)."""

    ts: datetime  # start of the bucket, UTC
    rounds: int
    quantiles: Mapping[int, float]  # percent → seconds


@dataclass(frozen=True, slots=True)
class Briefing:
    """One occurrence of a meeting and the verdicts of its latest report."""

    meeting_id: str
    title: str
    start: datetime
    lead_time: float
    checked_at: datetime
    verdicts: Mapping[str, tuple[str, tuple[Mapping[str, Any], ...]]]  # site → (verdict, stored reasons)


def quantile_index(count: int, percent: int) -> int:
    """The 0-based index of the ``percent`` quantile among ``count`` sorted values (lower nearest rank)."""
    return (count - 1) * percent // 100


async def raw_since(storage: Storage) -> float:
    """Epoch seconds from which history answers from raw rows (before: hourly rows; 0 before any roll-up)."""
    async with storage.engine.connect() as conn:
        return await raw_boundary(conn) / 1000


async def rtt_spread(storage: Storage, target_key: str, since: datetime, until: datetime, step: float) -> list[Spread]:
    """The spread of the per-round median RTT of ``target_key`` per ``step`` bucket in [since, until), raw rows only."""
    step_ms = int(step * 1000)
    start, end = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
    raw = history_raw.c
    async with storage.engine.connect() as conn:
        ident = (await conn.execute(select(targets.c.id).where(targets.c.key == target_key))).scalar_one_or_none()
        if ident is None:
            return []
        start = max(start, await raw_boundary(conn))  # before it, raw rows may be pruned: hourly rows answer
        if start >= end:
            return []
        bucket = (raw.ts // literal(step_ms)) * literal(step_ms)
        ranked = (
            select(
                bucket.label("bucket"),
                raw.rtt_median.label("value"),
                func.row_number().over(partition_by=bucket, order_by=(raw.rtt_median, raw.id)).label("rank"),
                func.count().over(partition_by=bucket).label("rounds"),
            )
            .where(raw.target_id == ident, raw.ts >= start, raw.ts < end, raw.rtt_median.is_not(None))
            .subquery()
        )
        wanted = [ranked.c.rank == (ranked.c.rounds - 1) * literal(q) // literal(100) + 1 for q in QUANTILES]
        rows = (
            await conn.execute(
                select(ranked.c.bucket, ranked.c.rank, ranked.c.rounds, ranked.c.value)
                .where(or_(*wanted))
                .order_by(ranked.c.bucket, ranked.c.rank)
            )
        ).all()
    found: dict[int, tuple[int, dict[int, float]]] = {}
    for row in rows:
        rounds = int(row.rounds)
        _, values = found.setdefault(int(row.bucket), (rounds, {}))
        for q in QUANTILES:
            if quantile_index(rounds, q) + 1 == int(row.rank):
                values[q] = float(row.value)
    return [
        Spread(datetime.fromtimestamp(ts / 1000, UTC), rounds, values) for ts, (rounds, values) in sorted(found.items())
    ]


async def site_briefings(storage: Storage, site_id: str, *, limit: int) -> list[Briefing]:
    """The last ``limit`` briefings ``site_id`` was checked for, newest first, with its verdict in each."""
    reports, results = readiness_reports.c, readiness_results.c
    query = (
        select(
            reports.meeting_id,
            reports.occurrence_start,
            reports.lead_time,
            reports.created_at,
            results.verdict,
            results.reasons,
            meetings.c.title,
        )
        .join(readiness_reports, reports.id == results.report_id)
        .outerjoin(meetings, meetings.c.id == reports.meeting_id)
        .where(results.site_id == site_id)
        .order_by(reports.occurrence_start.desc(), reports.created_at.desc(), reports.id.desc())
        .limit(limit * REPORTS_PER_BRIEFING)
    )
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    seen: dict[tuple[str, int], Briefing] = {}
    for row in rows:
        key = (row.meeting_id, int(row.occurrence_start))
        if key not in seen and len(seen) < limit:
            seen[key] = Briefing(
                meeting_id=row.meeting_id,
                title=row.title or row.meeting_id,
                start=datetime.fromtimestamp(int(row.occurrence_start), UTC),
                lead_time=float(row.lead_time),
                checked_at=datetime.fromtimestamp(int(row.created_at), UTC),
                verdicts={site_id: (row.verdict, tuple(row.reasons or ()))},
            )
    return list(seen.values())


async def briefings_between(storage: Storage, since: datetime, until: datetime) -> list[Briefing]:
    """Every briefing that started in [since, until), by start, with the verdicts of its latest report."""
    reports = readiness_reports.c
    query = (
        select(reports.id, reports.meeting_id, reports.occurrence_start, reports.lead_time, reports.created_at)
        .where(reports.occurrence_start >= int(since.timestamp()), reports.occurrence_start < int(until.timestamp()))
        .order_by(reports.occurrence_start, reports.meeting_id, reports.created_at.desc(), reports.id.desc())
    )
    async with storage.engine.connect() as conn:
        latest: dict[tuple[str, int], Any] = {}
        for row in (await conn.execute(query)).all():
            latest.setdefault((row.meeting_id, int(row.occurrence_start)), row)
        ids = [int(row.id) for row in latest.values()]
        wanted = sorted({meeting for meeting, _ in latest})
        titles: dict[str, str] = {}
        for chunk in range(0, len(wanted), IN_CHUNK):
            named = select(meetings.c.id, meetings.c.title).where(meetings.c.id.in_(wanted[chunk : chunk + IN_CHUNK]))
            titles.update({r.id: r.title for r in (await conn.execute(named)).all()})
        verdicts: dict[int, dict[str, tuple[str, tuple[Mapping[str, Any], ...]]]] = {}
        for chunk in range(0, len(ids), IN_CHUNK):
            part = ids[chunk : chunk + IN_CHUNK]
            found = await conn.execute(
                select(
                    readiness_results.c.report_id,
                    readiness_results.c.site_id,
                    readiness_results.c.verdict,
                    readiness_results.c.reasons,
                ).where(readiness_results.c.report_id.in_(part))
            )
            for r in found.all():
                verdicts.setdefault(int(r.report_id), {})[r.site_id] = (r.verdict, tuple(r.reasons or ()))
    return [
        Briefing(
            meeting_id=row.meeting_id,
            title=titles.get(row.meeting_id, row.meeting_id),
            start=datetime.fromtimestamp(int(row.occurrence_start), UTC),
            lead_time=float(row.lead_time),
            checked_at=datetime.fromtimestamp(int(row.created_at), UTC),
            verdicts=verdicts.get(int(row.id), {}),
        )
        for row in latest.values()
    ]


__all__ = [
    "QUANTILES",
    "Briefing",
    "Spread",
    "briefings_between",
    "quantile_index",
    "raw_since",
    "rtt_spread",
    "site_briefings",
]
