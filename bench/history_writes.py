"""History storage at scale, on SQLite and on PostgreSQL (issue 5's performance aims).

1. Sustained writes: 1,000 targets, each result offered to HistoryWriter every 10 s (all 1,000 in one
   burst, the worst case for the loop), for --seconds; event-loop lag measured by a 10 ms ticker
   (p50/p99/max of its oversleep), rows written, writer failures.
2. A year of 1-minute history for 24 sites (12.6 M raw rows), loaded day by day through one bulk insert
   per day, each day followed by roll-up and retention as the service's loop would run them: total load
   time, database size at the end, row counts, and the time of a one-week and a one-year history query.

Run as root (PostgreSQL's initdb runs as the `postgres` user):
    .venv/bin/python bench/history_writes.py [--seconds 60] [--days 365] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from monitor.config.models import Config
from monitor.engine.targets import Target, targets_from_config
from monitor.storage.database import Storage
from monitor.storage.history import HistoryWriter
from monitor.storage.queries import history
from monitor.storage.retention import prune, rollup
from monitor.storage.tables import history_hourly, history_raw
from probes.core.result import ProbeResult
from tests.postgres_lab import postgres_server


def inventory(n: int) -> Config:
    sites = [
        {"id": f"xa-{i:04d}", "name": f"Xã {i}", "link": {"address": f"192.0.{2 + i // 250}.{1 + i % 250}"}}
        for i in range(n)
    ]
    return Config.model_validate({"district": {"name": "Bench"}, "sites": sites})


@contextlib.contextmanager
def database(backend: str) -> Iterator[tuple[str, Path | None]]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="giaoban-bench-") as tmp:
            path = Path(tmp) / "giaoban.db"
            yield f"sqlite:///{path}", path
        return
    with postgres_server(durable=True) as lab:
        yield lab.fresh_database(), None


async def size_of(storage: Storage, path: Path | None) -> int:
    if path is not None:
        async with storage.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    async with storage.engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_database_size(current_database())"))).scalar_one())


async def sustained(url: str, seconds: float) -> dict[str, Any]:
    config = inventory(1000)
    storage = await Storage.open(url)
    await storage.sync_inventory(config)
    targets = targets_from_config(config)
    writer = HistoryWriter(storage)
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    async def producer() -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.time()
            for target in targets:
                writer.offer(target, result(now))
            await asyncio.sleep(10)
        stop.set()

    writing = asyncio.create_task(writer.run())
    await asyncio.gather(ticker(), producer())
    writing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writing
    rows = await storage.count(history_raw)
    await storage.close()
    lags.sort()
    return {
        "rows": rows,
        "failures": writer.failures,
        "lag_p50_ms": statistics.median(lags) * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
        "lag_max_ms": lags[-1] * 1000,
    }


def result(ts: float) -> ProbeResult:
    values = {"rtt_min": 0.01, "rtt_avg": 0.02, "rtt_median": 0.02, "rtt_max": 0.04, "jitter": 0.003,
              "loss_ratio": 0.0, "mos": 4.3}  # fmt: skip
    return ProbeResult(success=True, duration=2.0, values=values, timestamp=ts)


def day_rows(ids: list[int], day_start: float) -> list[dict[str, Any]]:
    rows = []
    for minute in range(1440):
        ts = int((day_start + minute * 60) * 1000)
        for n, target_id in enumerate(ids):
            ok = (minute + n) % 97 != 0
            rtt = 0.015 + 0.001 * (n % 10)
            rows.append({"target_id": target_id, "ts": ts, "success": ok, "duration": 2.0,
                         "reason": "ok" if ok else "no_reply", "rtt_min": rtt if ok else None,
                         "rtt_avg": rtt * 1.2 if ok else None, "rtt_median": rtt * 1.1 if ok else None,
                         "rtt_max": rtt * 2 if ok else None, "jitter": 0.002 if ok else None,
                         "loss_ratio": 0.0 if ok else 1.0, "mos": 4.3 if ok else None})  # fmt: skip
    return rows


async def year(url: str, path: Path | None, days: int) -> dict[str, Any]:
    config = inventory(24)
    storage = await Storage.open(url)
    await storage.sync_inventory(config)
    links: list[Target] = targets_from_config(config)
    ids = list((await storage.target_ids(links)).values())
    end = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    start = end - days * 86400
    began = time.perf_counter()
    insert_s = maintain_s = 0.0
    for day in range(days):
        rows = day_rows(ids, start + day * 86400)
        t0 = time.perf_counter()
        for offset in range(0, len(rows), 10_000):
            async with storage.engine.begin() as conn:
                await conn.execute(history_raw.insert(), rows[offset : offset + 10_000])
        t1 = time.perf_counter()
        now = start + (day + 1) * 86400
        await rollup(storage, now=now)
        await prune(storage, now=now)
        maintain_s += time.perf_counter() - t1
        insert_s += t1 - t0
    load_s = time.perf_counter() - began
    if storage.dialect == "postgresql":
        async with storage.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))  # VACUUM cannot run inside a transaction
    figures: dict[str, Any] = {
        "days": days,
        "raw_rows": await storage.count(history_raw),
        "hourly_rows": await storage.count(history_hourly),
        "load_s": load_s,
        "insert_s": insert_s,
        "rollup_prune_s": maintain_s,
        "size_mb": await size_of(storage, path) / 1e6,
    }
    until = datetime.fromtimestamp(end, UTC)
    for label, span, step in (("week", 7, 3600.0), ("year", days, 86400.0)):
        timings = []
        for _ in range(5):
            t0 = time.perf_counter()
            points = await history(storage, "xa-0007", until - timedelta(days=span), until, step)
            timings.append(time.perf_counter() - t0)
        figures[f"{label}_query_ms"] = statistics.median(timings) * 1000
        figures[f"{label}_points"] = len(points)
    await storage.close()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for backend in args.backends.split(","):
        with database(backend) as (url, path):
            print(backend, "sustained", await sustained(url, args.seconds), flush=True)
        with database(backend) as (url, path):
            print(backend, "year", await year(url, path, args.days), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
