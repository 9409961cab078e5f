"""Scope leases on a real PostgreSQL (monitor/storage/leases.py): one holder, takeover after expiry, release on stop;
and the outbox of a standby delivers nothing of the scopes it does not hold (issue 17)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from pydantic import TypeAdapter
from sqlalchemy import select, text

from alerts.model import AlertRecord
from alerts.notifiers.config import NotifierConfig
from alerts.outbox import Outbox
from alerts.store import SqlAlertStore
from monitor.storage.database import Storage
from monitor.storage.leases import Leases
from monitor.storage.tables import leases, outbox
from probes.http import new_client_session
from tests.clock import wait_until
from tests.notifier_samples import sample
from tests.peers import free_port
from tests.postgres_lab import PostgresLab, postgres_lab_fixture  # noqa: F401  (fixture)
from tests.service_harness import running_service

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def storage(postgres_lab: PostgresLab) -> AsyncIterator[Storage]:
    opened = await Storage.open(postgres_lab.fresh_database())
    try:
        yield opened
    finally:
        await opened.close()


async def run_round(keeper: Leases) -> None:
    """One take-or-renew round, as the keeper's loop runs it every ``renew`` seconds."""
    await keeper._round(time.monotonic())


async def test_one_holder_per_unit_and_the_other_takes_over_after_expiry(storage: Storage) -> None:
    """Two agents on one unit: the first holds it, the second does not while it is renewed, and takes it once the
    holder stops renewing (a SIGKILL) and the row expired."""
    changes: list[tuple[str, frozenset[str]]] = []

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def record(held: frozenset[str]) -> None:
            changes.append((name, held))

        return record

    a = Leases(storage, holder="agent-a", units=("ha-noi", "*:0/2"), ttl=3.0, on_change=recorder("a"))
    b = Leases(storage, holder="agent-b", units=("ha-noi", "*:0/2"), ttl=3.0, on_change=recorder("b"))
    await run_round(a)
    await run_round(b)
    assert a.held == {"ha-noi", "*:0/2"} and b.held == frozenset()
    assert {info.scope: info.holder for info in b.status()} == {"ha-noi": "agent-a", "*:0/2": "agent-a"}
    await run_round(a)  # a renewal keeps it, and keeps when it was taken
    async with storage.engine.connect() as conn:
        row = (await conn.execute(select(leases).where(leases.c.scope == "ha-noi"))).mappings().one()
    assert row["holder"] == "agent-a" and row["acquired_at"] < row["renewed_at"] < row["expires_at"]
    await run_round(b)
    assert b.held == frozenset()

    # agent-a stops renewing (killed); once the row has expired by the database's clock, agent-b takes both units.
    async def b_took_over() -> bool:
        await run_round(b)
        return b.held == {"ha-noi", "*:0/2"}

    await wait_until(b_took_over, timeout=10, what="agent-b to take the expired leases")
    assert ("b", frozenset({"ha-noi", "*:0/2"})) in changes
    await run_round(a)  # the old holder, back, finds the rows taken and says so
    assert a.held == frozenset() and ("a", frozenset()) == changes[-1]


async def test_a_clean_stop_releases_at_once(storage: Storage) -> None:
    """A holder that stops deletes its rows: the standby takes over at its next round, not after the TTL."""
    a = Leases(storage, holder="agent-a", units=("hue",), ttl=60.0, renew=0.2)
    b = Leases(storage, holder="agent-b", units=("hue",), ttl=60.0, renew=0.2)
    task = asyncio.get_running_loop().create_task(a.run())
    await wait_until(lambda: a.held == {"hue"}, timeout=10, what="agent-a to take the lease")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await run_round(b)
    assert b.held == {"hue"}  # a 60 s lease, taken at once


async def test_an_unrenewed_lease_is_not_trusted_past_its_margin(storage: Storage) -> None:
    """A holder whose renewals fail (here the table is gone) stops acting before another agent may take over."""
    a = Leases(storage, holder="agent-a", units=("hue",), ttl=3.0)
    await run_round(a)
    assert a.held == {"hue"}
    async with storage.begin() as conn:
        await conn.execute(text("DROP TABLE leases"))
    await run_round(a)
    assert a.errors == 1 and a.held == {"hue"}  # still inside ttl - margin of the last renewal
    await wait_until(lambda: not a.held, timeout=5, what="the unrenewed lease to stop being trusted")


async def test_a_holder_cut_off_from_the_centre_keeps_its_leases_while_the_spool_stands_in(storage: Storage) -> None:
    """With the whole centre away no agent can take a lease, so the holder goes on acting for what it held (its
    alerts resolve and are delivered from the spool); once the spool no longer stands in, trust lapses as usual."""
    away = True
    a = Leases(storage, holder="agent-a", units=("hue",), ttl=3.0, centre_away=lambda: away)
    await run_round(a)
    async with storage.begin() as conn:
        await conn.execute(text("DROP TABLE leases"))
    await run_round(a)
    await asyncio.sleep(a.ttl)  # past the last renewal's ttl: without the spool this lease is no longer trusted
    await run_round(a)
    assert a.errors == 2 and a.held == {"hue"} and a.last_held == {"hue"}
    away = False
    assert not a.held


async def test_sqlite_holds_every_unit_without_a_row(tmp_path: Path) -> None:
    """One agent by construction: it acts for everything and writes no lease."""
    opened = await Storage.open(f"sqlite:///{tmp_path / 'giaoban.db'}")
    try:
        keeper = Leases(opened, holder="solo", units=("*",))
        assert keeper.held == {"*"} and not keeper.shared
        assert [(i.scope, i.holder) for i in keeper.status()] == [("*", "solo")]
    finally:
        await opened.close()


def test_bad_lease_timings_are_refused() -> None:
    """A lease renewed less often than it lasts is no lease."""

    class _Fake:
        dialect = "postgresql"

    with pytest.raises(ValueError, match="at least 3 s"):
        Leases(_Fake(), holder="a", units=("*",), ttl=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more often"):
        Leases(_Fake(), holder="a", units=("*",), ttl=10.0, renew=10.0)  # type: ignore[arg-type]


async def test_outbox_delivers_only_the_held_sites_and_siteless_rows(storage: Storage) -> None:
    """The standby's outbox claims nothing; a holder of one scope leaves the other scope's rows to its holder."""
    got: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((await request.json())["alert_id"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    store = SqlAlertStore(storage)
    records, rows = [], []
    for site in ("xa-a", "xa-b"):
        ident = f"link_down/{site}/link"
        records.append(
            AlertRecord(id=ident, rule="link_down", site=site, target="link", severity="critical", state="firing",
                        started_at=1.0, fired_at=1.0)
        )  # fmt: skip
        rows.append(("hook", sample(key=f"{ident}/firing/1/0", alert_id=ident)))
    rows.append(("hook", sample(key="readiness_summary/m/1/-/firing/1/0", alert_id="readiness_summary/m/1/-")))
    await store.commit(records, rows)
    channel = TypeAdapter(NotifierConfig).validate_python(
        {"id": "hook", "kind": "webhook", "url": f"http://127.0.0.1:{port}/hook"}
    )
    session: aiohttp.ClientSession = new_client_session()
    held: frozenset[str] = frozenset()
    box = Outbox(storage, lambda: {"hook": channel}, http=session, poll_interval=0.05, sites=lambda: held)
    task = asyncio.get_running_loop().create_task(box.run())
    try:
        await asyncio.sleep(0.5)
        assert got == []  # a standby: nothing
        held = frozenset({"xa-a", "-"})
        await wait_until(lambda: len(got) == 2, timeout=10, what="the held site's row and the summary")
        await asyncio.sleep(0.3)
        assert sorted(got) == ["link_down/xa-a/link", "readiness_summary/m/1/-"]
        held = frozenset({"xa-b"})
        await wait_until(lambda: len(got) == 3, timeout=10, what="the other scope's row, by its holder")

        async def all_marked() -> bool:
            async with storage.engine.connect() as conn:
                return {r.state for r in (await conn.execute(select(outbox))).all()} == {"delivered"}

        await wait_until(all_marked, timeout=10, what="every row marked delivered")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
        await runner.cleanup()
    assert sorted(got) == ["link_down/xa-a/link", "link_down/xa-b/link", "readiness_summary/m/1/-"]  # each once


async def test_a_standby_runs_no_readiness_check_until_it_holds_the_lease(
    tmp_path: Path, postgres_lab: PostgresLab
) -> None:
    """A lead time is done once any agent stored its report: a standby that checked first would leave the holder
    nothing to announce. The standby checks nothing while another agent holds the scope, and checks once it holds."""
    database = postgres_lab.fresh_database()
    start = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None, microsecond=0) + timedelta(minutes=5)
    config_file = tmp_path / "giaoban.yml"
    config_file.write_text(
        f"""\
organisation: {{name: "Tỉnh Thử", timezone: Asia/Ho_Chi_Minh, locale: vi}}
listen: "127.0.0.1:{free_port()}"
database: "{database}"
readiness: {{tick: 0.2s, site_timeout: 5s}}
meetings:
  - {{id: giao-ban, title: "Giao ban", start: "{start.isoformat()}", lead_times: [10m]}}
sites:
  - {{id: hub, name: "UBND tỉnh", role: province}}
  - id: xa-1
    name: "Xã Một"
    parent: hub
    endpoints: [{{id: vcs-1, kind: tcp, address: 127.0.0.1, port: {free_port()}}}]
""",
        encoding="utf-8",
    )
    storage = await Storage.open(database)
    try:
        async with storage.begin() as conn:  # another agent holds the whole inventory's lease for a while
            now = time.time()
            await conn.execute(
                leases.insert().values(scope="*", holder="other", acquired_at=now, renewed_at=now, expires_at=now + 600)
            )
        async with running_service(config_file) as service:
            assert service.leases.shared and not service.leases.held
            await asyncio.sleep(2.0)  # ten readiness ticks
            assert await storage.reports("giao-ban") == []
            async with storage.begin() as conn:  # the other agent stops: its row goes
                await conn.execute(leases.delete())
            await wait_until(lambda: service.leases.held == {"*"}, timeout=15, what="the lease")

            async def checked() -> bool:
                return bool(await storage.reports("giao-ban"))

            await wait_until(checked, timeout=20, what="the holder's readiness report")
    finally:
        await storage.close()
