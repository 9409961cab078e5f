"""The local spool (monitor/storage/spool.py) and its write-back (monitor/storage/writeback.py).

Bounded size with a clear refusal, durability across a reopen, a damaged file set aside and salvaged (never
deleted), and a write-back that is idempotent: a restart between the commit at the centre and the delete in
the spool writes nothing twice. The write-back runs against SQLite and a real PostgreSQL (database_url).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.model import AlertRecord
from alerts.notifiers.base import Notification, Recipient
from alerts.store import SqlAlertStore
from monitor.storage.database import SiteVerdict, Storage
from monitor.storage.history import HistoryWriter
from monitor.storage.spool import Spool, SpoolError, SpoolFull
from monitor.storage.tables import alert_episodes, history_raw, outbox, readiness_reports, readiness_results
from monitor.storage.writeback import Writeback, storage_writers
from tests.clock import wait_until
from tests.peers import free_port
from tests.postgres_lab import PostgresLab, database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)
from tests.service_harness import loopback_config, running_service
from tests.test_storage import HUB, TAN_THINH, inventory, result, target_of


def _body(n: int) -> dict[str, object]:
    return {"n": n, "text": "Xã Tân Thịnh " * 4}


async def test_a_full_spool_refuses_clearly_and_keeps_what_it_holds(tmp_path: Path) -> None:
    spool = await Spool.open(tmp_path / "spool.db", max_bytes=64 * 1024)
    try:
        kept = 0
        with pytest.raises(SpoolFull, match="is full"):
            for n in range(10_000):
                await spool.append([("history", _body(n))])
                kept += 1
        assert 0 < kept < 10_000 and spool.full
        assert spool.refused["history"] == 1 and spool.snapshot().full
        entries = await spool.batch(100_000)
        assert [e.body["n"] for e in entries] == list(range(kept))  # every one stored, in order
        await spool.delete(entries[: kept // 2])
        await spool.append([("history", _body(-1))])  # room again once entries are written back
        assert not spool.full and spool.counts["history"] == kept - kept // 2 + 1
    finally:
        await spool.close()


async def test_the_spool_survives_a_reopen(tmp_path: Path) -> None:
    spool = await Spool.open(tmp_path / "spool.db")
    await spool.append([("history", _body(1)), ("alerts", {"records": []})])
    await spool.close()
    again = await Spool.open(tmp_path / "spool.db")
    try:
        assert [(e.kind, e.body) for e in await again.batch(10)] == [("history", _body(1)), ("alerts", {"records": []})]
        assert again.diverting and again.counts["history"] == 1 and again.oldest is not None
    finally:
        await again.close()


async def test_a_garbage_file_is_set_aside_untouched_and_a_new_spool_works(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    garbage = b"this is not a SQLite database\n" * 200
    path.write_bytes(garbage)
    spool = await Spool.open(path)
    try:
        [damaged] = spool.damaged
        assert damaged.path.name.startswith("spool.db.damaged-") and damaged.path.read_bytes() == garbage
        assert damaged.salvaged == 0 and "not a database" in damaged.error
        await spool.append([("history", _body(1))])
        assert spool.snapshot().damaged == 1 and spool.counts["history"] == 1
    finally:
        await spool.close()


async def test_a_damaged_file_gives_back_the_entries_it_still_holds(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = await Spool.open(path)
    await spool.append([("history", _body(n)) for n in range(2000)])
    await spool.close()
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, so the damage below is the whole story
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with path.open("r+b") as file:  # the last pages: a disk that lost the end of the file
        file.seek(size - 8192)
        file.write(b"\xff" * 8192)
    again = await Spool.open(path)
    try:
        [damaged] = again.damaged
        assert damaged.path.exists() and damaged.path.stat().st_size == size  # kept as it was found
        entries = await again.batch(10_000)
        assert 0 < damaged.salvaged == len(entries) < 2000
        assert [e.body["n"] for e in entries] == list(range(len(entries)))  # the order kept
    finally:
        await again.close()


async def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="does not exist"):
        await Spool.open(tmp_path / "nowhere" / "spool.db")


# --- write-back ------------------------------------------------------------------------------------------------


CONFIG = inventory(HUB, TAN_THINH)
CODEC = target_of(CONFIG, "tan-thinh/vc")


async def _count(storage: Storage, table: object) -> int:
    async with storage.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_writeback_writes_everything_once_even_when_repeated(tmp_path: Path, database_url: str) -> None:
    storage = await Storage.open(database_url)
    await storage.sync_inventory(CONFIG)
    spool = await Spool.open(tmp_path / "spool.db")
    storage.spool = spool
    try:
        writer = HistoryWriter(storage, batch=7)
        await writer.flush()
        spool.cut_off("the test cut the centre off")  # as a writer that met it unreachable would
        start = time.time()
        for n in range(20):
            writer.offer(CODEC, result(start + n, success=n % 2 == 0))
        await writer.flush()
        assert writer.spooled == 20 and spool.counts["history"] == 20 and await _count(storage, history_raw) == 0

        store = SqlAlertStore(storage)
        record = AlertRecord(
            id="endpoint_down/tan-thinh/vc", rule="endpoint_down", site="tan-thinh", target="vc", severity="warning",
            state="firing", labels={"alertname": "GiaobanEndpointDown"}, summary="Thiết bị mất kết nối",
            started_at=start, fired_at=start,
        )  # fmt: skip
        note = Notification(
            key="endpoint_down/tan-thinh/vc@1/firing", alert_id=record.id, event="firing",
            alertname="GiaobanEndpointDown",
            severity="warning", labels={}, subject="s", text="t", html="", starts_at=datetime.now(UTC), ends_at=None,
            recipients=(Recipient(id="hoa", name="Đào Thị Hoa"),), url=None,
        )  # fmt: skip
        await store.commit([record], [("hook", note)])
        await store.commit([record], [("hook", note)])  # an engine repeating a step: enqueued once
        resolved = replace(record, state="resolved", resolved_at=start + 30)
        await store.commit([resolved], [])
        [mail] = await spool.due(time.time() + 1, 10)
        await spool.record(mail, state="delivered", next_attempt_at=time.time(), error=None)  # sent from the spool
        report = await storage.insert_report("m", datetime.now(UTC), 600, [SiteVerdict("hub", "READY")])
        assert report is None and spool.counts["readiness"] == 1 and spool.counts["outbox"] == 1

        writeback = Writeback(storage, spool, {**storage_writers(storage), **store.spool_writers()}, batch=6)
        entries = await spool.batch(1000)
        assert await writeback.drain() == len(entries) and not spool.diverting
        await writeback._write(entries)  # a restart after the centre's commit, before the spool's delete

        assert await _count(storage, history_raw) == 20
        assert await _count(storage, readiness_reports) == 1 and await _count(storage, readiness_results) == 1
        [alert] = await store.list_alerts()
        assert alert.state == "resolved" and alert.resolved_at == start + 30
        assert await _count(storage, alert_episodes) == 1
        async with storage.engine.connect() as conn:
            rows = (await conn.execute(select(outbox))).mappings().all()
        assert [(r["key"], r["state"]) for r in rows] == [(note.key, "delivered")]  # never sent again
        assert spool.written_back["history"] == 20 and spool.total == 0

        writer.offer(CODEC, result(start + 100))  # the spool empty: straight to the centre again
        await writer.flush()
        assert await _count(storage, history_raw) == 21 and spool.total == 0
    finally:
        storage.spool = None
        await spool.close()
        await storage.close()


async def test_two_agents_reports_of_the_same_second_are_both_written_back(tmp_path: Path, database_url: str) -> None:
    """Two agents checked the same occurrence at the same lead time in the same second: agent-a stored its report
    at the centre, agent-b (cut off) spooled its own, as did an agent of before schema 5 (no agent). On write-back
    agent-b's is not taken for agent-a's: all three are kept, and a repeated write-back adds none."""
    storage = await Storage.open(database_url)
    await storage.sync_inventory(CONFIG)
    spool = await Spool.open(tmp_path / "spool.db")
    storage.spool = spool
    try:
        occurrence, created = datetime(2026, 12, 3, 1, 30, tzinfo=UTC), datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
        verdicts = [SiteVerdict("hub", "READY")]
        assert await storage.insert_report("m", occurrence, 1800, verdicts, created_at=created, agent="agent-a")
        spool.cut_off("the test cut the centre off")
        for agent, site in (("agent-b", "tan-thinh"), (None, "hub")):
            verdicts = [SiteVerdict(site, "READY")]
            assert await storage.insert_report("m", occurrence, 1800, verdicts, created_at=created, agent=agent) is None
        writeback = Writeback(storage, spool, storage_writers(storage))
        entries = await spool.batch(10)
        assert await writeback.drain() == 2
        await writeback._write(entries)  # a restart after the centre's commit, before the spool's delete
        reports = await storage.reports("m", occurrence_start=occurrence)
        assert sorted((r.agent or "", [v.site_id for v in r.results]) for r in reports) == [
            ("", ["hub"]),
            ("agent-a", ["hub"]),
            ("agent-b", ["tan-thinh"]),
        ]
        assert await _count(storage, readiness_results) == 3
    finally:
        storage.spool = None
        await spool.close()
        await storage.close()


async def test_a_spool_left_by_an_earlier_run_is_written_back_at_start(
    tmp_path: Path, postgres_lab: PostgresLab
) -> None:
    """The agent stopped (or killed) before the write-back ended: the next start writes the rest, once."""
    url = postgres_lab.fresh_database()
    config_file = tmp_path / "giaoban.yml"
    config_file.write_text(loopback_config(free_port(), extra=f'database: "{url}"\n'), encoding="utf-8")
    storage = await Storage.open(url)
    spool = await Spool.open(tmp_path / "giaoban-spool.db")
    storage.spool = spool
    writer = HistoryWriter(storage)
    spool.cut_off("the earlier run lost the centre")
    start = time.time() - 600
    for n in range(50):
        writer.offer(CODEC, result(start + n))
    await writer.flush()
    [first] = await spool.batch(1)
    storage.spool = None
    await spool.close()
    await storage.sync_inventory(CONFIG)
    async with storage.begin() as conn:  # that run wrote the first entry back, then died before deleting it
        await storage_writers(storage)["history"](conn, [first.body])
    await storage.close()

    async with running_service(config_file) as service:
        assert service.storage.spool is not None

        def drained() -> bool:
            return service.storage.spool is not None and service.storage.spool.total == 0

        await wait_until(drained, timeout=30, what="the leftover spool written back")
        async with service.storage.engine.connect() as conn:
            query = select(history_raw.c.ts).where(history_raw.c.ts < int((start + 60) * 1000))
            stamps = sorted(int(ts) for ts in (await conn.execute(query)).scalars())
    assert stamps == [int((start + n) * 1000) for n in range(50)]  # all fifty, the first not twice
