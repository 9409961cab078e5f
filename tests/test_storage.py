"""Storage on SQLite and on a real PostgreSQL: migrations, inventory sync, history, retention, reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.engine.targets import Target, targets_from_config
from monitor.storage import migrations
from monitor.storage.database import SiteVerdict, Storage, StorageError, engine_url
from monitor.storage.history import HistoryWriter
from monitor.storage.queries import history, latest_status
from monitor.storage.retention import prune, rollup
from monitor.storage.tables import history_hourly, history_raw, metadata, sites, targets
from probes.core.result import ProbeResult, Reason
from tests.clock import wait_until
from tests.peers import free_port
from tests.postgres_lab import PostgresLab, database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(180)

NOW = datetime(2026, 12, 7, 0, 0, tzinfo=UTC).timestamp()


def inventory(*site_lines: str) -> Config:
    sites_text = "\n".join(site_lines)
    return load_config_text(
        f'district: {{name: "Huyện Thử", timezone: Asia/Ho_Chi_Minh}}\nsites:\n{sites_text}\n', "test.yml"
    )


HUB = '  - {id: hub, name: "UBND huyện", role: district, link: {address: 192.0.2.1}}'
TAN_THINH = (
    '  - {id: tan-thinh, name: "Xã Tân Thịnh", parent: hub, link: {address: 192.0.2.2},'
    " endpoints: [{id: vc, kind: tcp, address: 192.0.2.20, port: 5060}]}"
)
TAN_THINH_RENAMED = TAN_THINH.replace("Xã Tân Thịnh", "Thị trấn Tân Thịnh")


def result(ts: float, *, success: bool = True, rtt: float = 0.02, loss: float = 0.0) -> ProbeResult:
    values = {"rtt_min": rtt / 2, "rtt_avg": rtt, "rtt_median": rtt, "rtt_max": rtt * 2, "loss_ratio": loss}
    if success:
        return ProbeResult(success=True, duration=0.5, values=values, timestamp=ts)
    return ProbeResult.failure(Reason.NO_REPLY, "no reply from 192.0.2.2", duration=2.0, timestamp=ts)


def target_of(config: Config, key: str) -> Target:
    return next(t for t in targets_from_config(config) if t.key == key)


async def write(storage: Storage, items: list[tuple[Target, ProbeResult]]) -> None:
    writer = HistoryWriter(storage, batch=100, flush_interval=0.05)
    for target, res in items:
        writer.offer(target, res)
    await writer.flush()
    assert writer.pending == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/lib/giaoban/g.db", "sqlite+aiosqlite:///var/lib/giaoban/g.db"),
        ("postgresql://u:p@db:5432/g", "postgresql+asyncpg://u:p@db:5432/g"),
        ("postgres://u@db/g", "postgresql+asyncpg://u@db/g"),
        ("postgresql+asyncpg://u@db/g", "postgresql+asyncpg://u@db/g"),
    ],
    ids=["sqlite", "postgresql", "postgres-alias", "explicit-asyncpg"],
)
def test_engine_url(given: str, expected: str) -> None:
    """Plain URLs from a config map to the async drivers, so blocking drivers are never used."""
    assert engine_url(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("mysql://u@db/g", "not supported"),
        ("postgresql+psycopg2://u@db/g", "not supported"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "not a URL"),
        ("postgresql://u@db:notaport/g", "port after the host is not a number"),
        ("postgresql://u@db:5432", "names no database"),
    ],
    ids=["mysql", "sync-driver", "memory", "memory-named", "garbage", "port-not-a-number", "no-database-name"],
)
def test_engine_url_rejects(given: str, message: str) -> None:
    """A database the service cannot use is refused with what to write instead."""
    with pytest.raises(StorageError, match=message):
        engine_url(given)


async def test_open_migrates_to_head_and_reopen_is_idempotent(database_url: str) -> None:
    """A new database gets every table; opening it again applies nothing and loses nothing."""
    storage = await Storage.open(database_url)
    await storage.sync_inventory(inventory(HUB))
    await storage.close()
    storage = await Storage.open(database_url)
    try:
        async with storage.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = await conn.run_sync(migrations.current_version)
        assert set(metadata.tables) <= names
        assert version == migrations.HEAD
        if storage.dialect == "sqlite":  # readers (API) never wait for the history writer
            async with storage.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
        assert [s.id for s in await storage.sites()] == ["hub"]
    finally:
        await storage.close()


async def test_schema_newer_than_code_is_refused(database_url: str) -> None:
    """A database migrated by a newer giaoban is not written to by an older one (no silent damage)."""
    storage = await Storage.open(database_url)
    async with storage.engine.begin() as conn:
        await conn.execute(migrations.schema_version.insert().values(version=migrations.HEAD + 1, applied_at=0))
    await storage.close()
    with pytest.raises(StorageError, match="upgrade giaoban"):
        await Storage.open(database_url)


async def test_unreachable_database_is_a_clear_error() -> None:
    """A PostgreSQL that does not answer gives StorageError naming the database, without its password."""
    url = f"postgresql://giaoban:s3cret@127.0.0.1:{free_port()}/giaoban"
    with pytest.raises(StorageError) as info:
        await Storage.open(url)
    assert "127.0.0.1" in str(info.value)
    assert "s3cret" not in str(info.value)


PG_PASSWORD = "s3cret/pg@pw:'%"  # characters a URL would have to escape: the secret never goes through one


async def test_password_secret_opens_a_real_postgresql(
    postgres_lab: PostgresLab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`database: {url:, password: {env:}}` logs in with the secret; a wrong or missing one is refused, unshown."""
    url = postgres_lab.password_database(PG_PASSWORD)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("GIAOBAN_TEST_PGPASSWORD", PG_PASSWORD)
    database = f'database: {{url: "{url}", password: {{env: GIAOBAN_TEST_PGPASSWORD}}}}'
    config = load_config_text(f"district: {{name: x}}\nsites:\n{HUB}\n{database}\n", "pg.yml", resolve_secrets=True)
    assert config.database is not None
    with pytest.raises(StorageError, match="password authentication failed"):
        await Storage.open(url)  # the role really needs a password: the URL alone is refused
    caplog.set_level("INFO")
    storage = await Storage.open(config.database)
    try:
        await storage.sync_inventory(config)
        assert [s.id for s in await storage.sites()] == ["hub"]
    finally:
        await storage.close()
    assert "migrated" in caplog.text
    monkeypatch.setenv("GIAOBAN_TEST_PGPASSWORD", "not-the-password")
    with pytest.raises(StorageError, match="password authentication failed") as wrong:
        await Storage.open(config.database)
    monkeypatch.delenv("GIAOBAN_TEST_PGPASSWORD")
    with pytest.raises(StorageError) as unset:
        await Storage.open(config.database)
    assert str(unset.value) == "database password: environment variable GIAOBAN_TEST_PGPASSWORD is not set"
    for shown in (caplog.text, str(wrong.value), str(unset.value)):
        assert PG_PASSWORD not in shown and "not-the-password" not in shown


async def test_rename_and_removal_keep_history(database_url: str) -> None:
    """Renaming a site (same id) or removing it from the config loses none of its history."""
    storage = await Storage.open(database_url)
    try:
        config = inventory(HUB, TAN_THINH)
        await storage.sync_inventory(config)
        link = target_of(config, "tan-thinh/link")
        await write(storage, [(link, result(NOW - 600 + i * 60)) for i in range(10)])

        await storage.sync_inventory(inventory(HUB, TAN_THINH_RENAMED))
        renamed = {s.id: s.name for s in await storage.sites()}
        assert renamed["tan-thinh"] == "Thị trấn Tân Thịnh"

        await storage.sync_inventory(inventory(HUB))
        assert [s.id for s in await storage.sites()] == ["hub"]
        every = {s.id: s.active for s in await storage.sites(include_inactive=True)}
        assert every == {"hub": True, "tan-thinh": False}

        since = datetime.fromtimestamp(NOW - 3600, UTC)
        points = await history(storage, "tan-thinh", since, datetime.fromtimestamp(NOW, UTC), 60)
        assert sum(p.samples for p in points) == 10

        await storage.sync_inventory(config)  # back in the inventory: active again, same thread
        assert {s.id: s.active for s in await storage.sites(include_inactive=True)}["tan-thinh"] is True
    finally:
        await storage.close()


async def test_restart_keeps_history_and_reports(database_url: str) -> None:
    """Closing and reopening the database keeps probe history and readiness reports."""
    config = inventory(HUB, TAN_THINH)
    storage = await Storage.open(database_url)
    await storage.sync_inventory(config)
    await write(storage, [(target_of(config, "hub/link"), result(NOW - 60))])
    occurrence = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
    reasons = ({"code": "loss", "text": "mất gói 2.5% > 1%"},)
    report_id = await storage.insert_report(
        "giao-ban-thu-hai",
        occurrence,
        1800,
        [SiteVerdict("hub", "READY"), SiteVerdict("tan-thinh", "DEGRADED", reasons)],
    )
    await storage.close()

    storage = await Storage.open(database_url)
    try:
        [report] = await storage.reports("giao-ban-thu-hai")
        assert report.id == report_id
        assert report.occurrence_start == occurrence
        assert report.lead_time == 1800
        assert [(r.site_id, r.verdict, r.reasons) for r in report.results] == [
            ("hub", "READY", ()),
            ("tan-thinh", "DEGRADED", reasons),
        ]
        [latest] = [p for p in await latest_status(storage) if p.target == "hub/link"]
        assert latest.success and latest.rtt_avg == pytest.approx(0.02)
    finally:
        await storage.close()


async def test_report_rejects_unknown_verdict(database_url: str) -> None:
    """Only READY, DEGRADED and NOT_READY are verdicts: a typo must not reach the audit trail."""
    storage = await Storage.open(database_url)
    try:
        with pytest.raises(ValueError, match="NOT_READY"):
            await storage.insert_report("m", datetime.now(UTC), 600, [SiteVerdict("hub", "OK")])
        assert await storage.reports("m") == []
    finally:
        await storage.close()


async def test_writer_flushes_on_cancel(database_url: str) -> None:
    """Results still queued when the service stops are written, not lost."""
    config = inventory(HUB)
    storage = await Storage.open(database_url)
    try:
        await storage.sync_inventory(config)
        writer = HistoryWriter(storage, batch=1000, flush_interval=3600)
        task = asyncio.create_task(writer.run())
        await asyncio.sleep(0.05)
        link = target_of(config, "hub/link")
        for i in range(25):
            writer.offer(link, result(NOW + i, success=i % 5 != 0))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (writer.written, writer.pending) == (25, 0)
        assert await storage.count(history_raw) == 25
        async with storage.engine.connect() as conn:
            details = (await conn.execute(select(history_raw.c.detail).where(~history_raw.c.success))).scalars().all()
        assert details == ["no reply from 192.0.2.2"] * 5
    finally:
        await storage.close()


async def test_writer_keeps_a_bounded_queue_while_the_database_is_down() -> None:
    """With the database unreachable, offer() never blocks or raises; the oldest results go past the limit."""
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    storage = Storage(engine)
    config = inventory(HUB)
    link = target_of(config, "hub/link")
    writer = HistoryWriter(storage, batch=2, flush_interval=0.01, max_pending=5)
    try:
        task = asyncio.create_task(writer.run())
        for i in range(8):
            writer.offer(link, result(NOW + i))
        await wait_until(lambda: writer.failures, timeout=10, what="a flush to fail on the refused connection")
        assert (writer.pending, writer.dropped, writer.written) == (5, 3, 0)
        # Connection refused is the database's fault, not the rows': nothing is dropped as refused.
        assert writer.rejected == 0 and storage.health.failing("history")
        assert not await storage.health.check(storage.ping)
        assert [f.area for f in storage.health.faults()] == ["history", "database"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert writer.pending == 5  # the final flush failed too: kept, and logged
    finally:
        await storage.close()


@pytest.mark.parametrize(
    ("detail", "stored"),
    [
        ("SIP/2.0 486 Busy\x00Here", "SIP/2.0 486 Busy\ufffdHere"),
        ("lỗi \ud800 lạ", "lỗi \ufffd lạ"),
        ("\ud83d\ude00 \x00", "😀 \ufffd"),
    ],
    ids=["nul", "lone-surrogate", "surrogate-pair"],
)
async def test_unsafe_text_in_a_result_is_stored_cleaned(database_url: str, detail: str, stored: str) -> None:
    """A device answer with a NUL or a lone surrogate is stored with U+FFFD in its place, with its batch (issue 13)."""
    config = inventory(HUB, TAN_THINH)
    storage = await Storage.open(database_url)
    try:
        await storage.sync_inventory(config)
        link, vc = target_of(config, "hub/link"), target_of(config, "tan-thinh/vc")
        answer = ProbeResult.failure(Reason.NOT_READY, detail, duration=0.1, timestamp=NOW + 1)
        await write(storage, [(link, result(NOW)), (vc, answer), (link, result(NOW + 2))])
        async with storage.engine.connect() as conn:
            details = (await conn.execute(select(history_raw.c.detail).where(~history_raw.c.success))).scalars().all()
        assert details == [stored]
        assert await storage.count(history_raw) == 3
    finally:
        await storage.close()


async def test_a_row_the_database_refuses_is_dropped_and_the_rest_written(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A value no column can hold costs its own row only: the rest of its batch and later batches are written."""
    config = inventory(HUB)
    storage = await Storage.open(database_url)
    try:
        await storage.sync_inventory(config)
        link = target_of(config, "hub/link")
        writer = HistoryWriter(storage, batch=100, flush_interval=3600)
        # 2**63 fits neither SQLite's 64-bit INTEGER nor PostgreSQL's INTEGER column.
        poisoned = ProbeResult(success=True, duration=0.5, values={"status_code": 2.0**63}, timestamp=NOW + 3.5)
        for i in range(3):
            writer.offer(link, result(NOW + i))
        writer.offer(link, poisoned)
        for i in range(3, 7):
            writer.offer(link, result(NOW + i))
        await writer.flush()
        assert (writer.written, writer.rejected, writer.pending, writer.failures) == (7, 1, 0, 0)
        writer.offer(link, result(NOW + 100))
        await writer.flush()
        assert writer.written == 8
        async with storage.engine.connect() as conn:
            stamps = (await conn.execute(select(history_raw.c.ts).order_by(history_raw.c.ts))).scalars().all()
        assert stamps == [int((NOW + i) * 1000) for i in (*range(7), 100)]
        assert "refused the result of hub/link" in caplog.text
        assert not storage.health.failing("history")
    finally:
        await storage.close()


async def bulk_minutes(storage: Storage, config: Config, *, start: float, minutes: int) -> int:
    """One result a minute for every link, every 10th a failure; inserted in large batches."""
    links = [t for t in targets_from_config(config) if t.role == "link"]
    ids = await storage.target_ids(links)
    rows = []
    for i in range(minutes):
        ts = int((start + i * 60) * 1000)
        ok = i % 10 != 0
        for link in links:
            rows.append(
                {
                    "target_id": ids[link.key],
                    "ts": ts,
                    "success": ok,
                    "duration": 0.5,
                    "reason": "ok" if ok else "no_reply",
                    "rtt_min": 0.01 if ok else None,
                    "rtt_avg": 0.02 if ok else None,
                    "rtt_max": 0.04 if ok else None,
                    "loss_ratio": 0.0 if ok else 1.0,
                }
            )
    for offset in range(0, len(rows), 20_000):
        async with storage.engine.begin() as conn:
            await conn.execute(history_raw.insert(), rows[offset : offset + 20_000])
    return len(rows)


async def test_retention_rolls_up_then_bounds_raw(database_url: str) -> None:
    """Three days of 1-minute history for 24 sites: raw keeps 2 days, hours keep all, queries span both."""
    lines = [f"  - {{id: xa-{n:02d}, name: Xã {n}, link: {{address: 192.0.2.{n + 1}}}}}" for n in range(24)]
    config = inventory(*lines)
    storage = await Storage.open(database_url)
    try:
        await storage.sync_inventory(config)
        start = NOW - 3 * 86400
        inserted = await bulk_minutes(storage, config, start=start, minutes=3 * 1440)
        assert inserted == 24 * 3 * 1440
        hours = await rollup(storage, now=NOW)
        assert hours == 71  # the last hour is not settled yet (5 minutes after its end)
        raw_deleted, hourly_deleted = await prune(storage, raw_retention=2 * 86400, now=NOW, batch=5000)
        assert (raw_deleted, hourly_deleted) == (24 * 1440, 0)
        assert await storage.count(history_raw) == 24 * 2 * 1440
        assert await storage.count(history_hourly) == 24 * 71
        async with storage.engine.connect() as conn:
            oldest = (await conn.execute(select(text("min(ts)")).select_from(history_raw))).scalar_one()
        assert oldest >= (NOW - 2 * 86400) * 1000

        # A rerun changes nothing: the roll-up is idempotent.
        await rollup(storage, now=NOW)
        assert await storage.count(history_hourly) == 24 * 71

        points = await history(
            storage, "xa-03", datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(NOW, UTC), 3600
        )
        assert len(points) == 72
        assert all(p.samples == 60 for p in points)
        assert all(p.availability == pytest.approx(0.9) for p in points)
        assert all(p.rtt_min == pytest.approx(0.01) and p.rtt_max == pytest.approx(0.04) for p in points)
        assert points[0].loss == pytest.approx(0.1)

        # Within raw retention the answer keeps the 1-minute resolution, roll-up or not.
        recent = datetime.fromtimestamp(NOW - 7200, UTC)
        minutes = await history(storage, "xa-03", recent, datetime.fromtimestamp(NOW, UTC), 60)
        assert len(minutes) == 120 and all(p.samples == 1 for p in minutes)

        # Hourly rows past their retention go too.
        _, hourly_deleted = await prune(storage, raw_retention=2 * 86400, hourly_retention=86400, now=NOW)
        assert hourly_deleted == 24 * 48  # hours starting more than a day before NOW
    finally:
        await storage.close()


@pytest.mark.parametrize(
    "evil",
    ["hub' OR '1'='1", "hub; DROP TABLE sites; --", "' UNION SELECT key FROM targets --", "ｈｕｂ\x00"],
    ids=["or-true", "drop-table", "union", "nul-fullwidth"],
)
async def test_injection_in_site_id_is_inert(database_url: str, evil: str) -> None:
    """A site id from a URL is a bound parameter: no rows leak and no table is touched."""
    config = inventory(HUB)
    storage = await Storage.open(database_url)
    try:
        await storage.sync_inventory(config)
        await write(storage, [(target_of(config, "hub/link"), result(NOW - 30))])
        since = datetime.fromtimestamp(NOW - 3600, UTC)
        assert await history(storage, evil.replace("\x00", ""), since, since + timedelta(hours=2)) == []
        assert await storage.count(sites) == 1
        assert await storage.count(targets) == 1
    finally:
        await storage.close()
