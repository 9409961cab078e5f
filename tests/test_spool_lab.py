"""The centre's PostgreSQL stopped under a running agent (issue 17): probing never stops, nothing is lost.

A private PostgreSQL cluster (tests/postgres_lab.py) is the centre; the real service runs on loopback targets
with a local spool. The cluster is stopped (pg_ctl -m fast) for GIAOBAN_SPOOL_OUTAGE seconds (default 60);
meanwhile a codec on loopback goes away and comes back, so an alert fires and clears. The test checks that
probing went on through the outage, that both notifications reached a local webhook during it (delivered
from the spool), that /-/ready stayed 200 and said the centre is unreachable, and, once the cluster is
started again, that every probe result the service produced, the alert and its episode, and both outbox rows
are in PostgreSQL: none missing, none twice, and no notification delivered a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from monitor.engine.targets import Target
from monitor.storage.database import Storage
from monitor.storage.tables import alert_episodes, alerts, history_raw, outbox, targets
from probes.core.result import ProbeResult
from tests.clock import wait_until_blocking
from tests.peers import free_port, stop_process
from tests.postgres_lab import PostgresLab, postgres_server
from tests.service_harness import ROOT, loopback_config, running_service, wait_http
from tests.test_database_faults import ServiceHttp, eventually, scrape_value, serving_hook

OUTAGE = float(os.environ.get("GIAOBAN_SPOOL_OUTAGE", "60"))
pytestmark = [pytest.mark.root, pytest.mark.timeout(240)]


class Receiver:
    """A technician's webhook: every notification it got, with the Idempotency-Key it came with."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, dict[str, Any], float]] = []

    async def receive(self, request: web.Request) -> web.Response:
        self.received.append((request.headers.get("Idempotency-Key", ""), await request.json(), time.time()))
        return web.Response(status=204)

    def of(self, alertname: str, event: str) -> list[tuple[str, dict[str, Any], float]]:
        return [r for r in self.received if r[1]["alertname"] == alertname and r[1]["event"] == event]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    async with serving_hook(hook.port, hook.receive):
        yield hook


@contextlib.contextmanager
def private_postgres() -> Iterator[PostgresLab]:
    """A cluster of this test's own: stopping it must not touch the one the other tests share."""
    with postgres_server() as lab:
        yield lab


async def _codec(port: int) -> asyncio.Server:
    return await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port, reuse_address=True)


async def test_the_centre_stopped_for_a_minute_loses_nothing(tmp_path: Path) -> None:
    with private_postgres() as lab:
        url = lab.fresh_database()
        codec_port = free_port()
        codec = await _codec(codec_port)
        async with receiver() as hook:
            port = free_port()
            extra = f"""\
  - id: kim-phuong
    name: "Xã Kim Phượng"
    parent: hub
    technicians: [hoa]
    endpoints:
      - {{id: codec, kind: tcp, address: 127.0.0.1, port: {codec_port}}}
technicians:
  - {{id: hoa, name: "Đào Thị Hoa"}}
alerts: {{topology_grace: 0s, rules: {{endpoint_down: {{for: 0s}}}}}}
notifiers:
  - {{id: hoa-hook, kind: webhook, url: "http://127.0.0.1:{hook.port}/hook"}}
history: {{flush_interval: 500ms}}
database: "{url}"
spool: {{path: agent-spool.db}}
"""
            config_file = tmp_path / "giaoban.yml"
            config_file.write_text(loopback_config(port, extra=extra), encoding="utf-8")
            produced: list[tuple[str, int]] = []  # every probe result the scheduler handed to the history
            async with running_service(config_file) as service, aiohttp.ClientSession() as session:
                offer = service.history.offer

                def recording(target: Target, result: ProbeResult) -> None:
                    produced.append((target.key, int(result.timestamp * 1000)))
                    offer(target, result)

                service.scheduler._on_result = recording  # from here on, every result is counted
                base = f"http://{service.listen}"
                assert service.storage.spool is not None and service.storage.spool.path == tmp_path / "agent-spool.db"

                http = ServiceHttp(session, base)
                value, ready = http.value, http.ready

                async def probed() -> float:
                    return await value(
                        "giaoban_probe_last_run_timestamp_seconds", site="kim-phuong", target="codec", kind="tcp"
                    )

                await eventually(lambda: value("giaoban_history_rows_written_total"), "history written at start")

                # --- the outage --------------------------------------------------------------------------------
                await asyncio.to_thread(lab.stop)
                stopped = time.time()
                await eventually(lambda: value("giaoban_spool_active"), "writes going to the spool")
                codec.close()
                await codec.wait_closed()
                fired = await eventually(
                    lambda: _some(hook.of("GiaobanEndpointDown", "firing")), "the firing delivered from the spool"
                )
                codec = await _codec(codec_port)
                resolved = await eventually(
                    lambda: _some(hook.of("GiaobanEndpointDown", "resolved")), "the resolve delivered from the spool"
                )
                status, text = await ready()
                assert status == 200 and "degraded" in text and "unreachable" in text, text
                last = await probed()
                while time.time() < stopped + OUTAGE:  # probing goes on through the whole outage
                    await eventually(lambda seen=last: _later(probed, seen), "probing while the centre is away")
                    last = await probed()
                    await asyncio.sleep(1)
                assert await value("giaoban_spool_rows", kind="history") > 0
                assert await value("giaoban_spool_oldest_seconds") > 0
                assert await value("giaoban_spool_rows", kind="outbox") == 2
                restarted = time.time()
                assert fired[0][2] < restarted and resolved[0][2] < restarted  # both arrived during the outage

                # --- the centre is back ---------------------------------------------------------------------------
                await asyncio.to_thread(lab.start)

                async def drained() -> bool:
                    return await value("giaoban_spool_active") == 0

                await eventually(drained, "the spool written back", timeout=90)

                async def plainly_ready() -> bool:
                    return await ready() == (200, "giaoban is ready.\n")

                await eventually(plainly_ready, "/-/ready without the degraded notes")
                written_back = await value("giaoban_spool_writeback_total", kind="history")
                assert written_back > 0
                assert await value("giaoban_spool_writeback_total", kind="outbox") == 2
                await asyncio.sleep(3)  # the centre's outbox polls every second: it must not send them again
                await service.history.flush()
                assert await value("giaoban_history_rows_dropped_total", reason="queue_full") == 0
            codec.close()
            await codec.wait_closed()

        # --- what the centre holds ------------------------------------------------------------------------------
        storage = await Storage.open(url)
        try:
            async with storage.engine.connect() as conn:
                query = select(targets.c.key, history_raw.c.ts).join(targets, targets.c.id == history_raw.c.target_id)
                stored = Counter((key, int(ts)) for key, ts in (await conn.execute(query)).all())
                query = select(alerts).where(alerts.c.rule == "endpoint_down")
                alert_rows = (await conn.execute(query)).mappings().all()
                episodes = (await conn.execute(select(func.count()).select_from(alert_episodes))).scalar_one()
                mail = (await conn.execute(select(outbox).where(outbox.c.channel_id == "hoa-hook"))).mappings().all()
        finally:
            await storage.close()
        during = [p for p in produced if stopped * 1000 <= p[1] <= restarted * 1000]
        assert len(during) > OUTAGE  # three targets a second: every one of them is expected at the centre
        missing = [p for p in produced if p not in stored]
        assert not missing, f"{len(missing)} of {len(produced)} results not at the centre, e.g. {missing[:3]}"
        twice = [p for p, n in stored.items() if n > 1]
        assert not twice, f"{len(twice)} results stored twice, e.g. {twice[:3]}"
        [alert] = alert_rows
        assert alert["state"] == "resolved" and alert["site_id"] == "kim-phuong"
        assert episodes == 1
        assert sorted((m["event"], m["state"]) for m in mail) == [("firing", "delivered"), ("resolved", "delivered")]
        keys = Counter(key for key, body, _ in hook.received if body["alertname"] == "GiaobanEndpointDown")
        assert len(keys) == len(mail) == 2 and set(keys.values()) == {1}, keys  # each once, none again


async def _some(items: list[Any]) -> list[Any] | None:
    return items or None


def _central_config(lab: PostgresLab, tmp_path: Path) -> tuple[str, int, Path]:
    """A loopback agent writing to a fresh database of ``lab`` (history flushed every 500 ms): URL, port, file."""
    url = lab.fresh_database()
    port = free_port()
    extra = f'history: {{flush_interval: 500ms}}\ndatabase: "{url}"\n'
    config_file = tmp_path / "giaoban.yml"
    config_file.write_text(loopback_config(port, extra=extra), encoding="utf-8")
    return url, port, config_file


async def _later(read: Any, than: float) -> bool:
    return bool(await read() > than)


async def test_a_full_spool_is_told_and_nothing_it_took_is_lost(tmp_path: Path) -> None:
    """The spool full during an outage: /-/ready 503 and /metrics say so, results wait in memory; then all written."""
    with private_postgres() as lab:
        url, _, config_file = _central_config(lab, tmp_path)
        produced: list[tuple[str, int]] = []
        async with running_service(config_file) as service, aiohttp.ClientSession() as session:
            offer = service.history.offer

            def recording(target: Target, result: ProbeResult) -> None:
                produced.append((target.key, int(result.timestamp * 1000)))
                offer(target, result)

            service.scheduler._on_result = recording
            spool = service.storage.spool
            assert spool is not None and spool.path == tmp_path / "giaoban-spool.db"  # the default: beside it
            spool.max_bytes = 24 * 1024  # a few hundred results: full within seconds (the config's unit is 1 MB)
            base = f"http://{service.listen}"

            http = ServiceHttp(session, base)
            value, ready = http.value, http.ready

            await eventually(lambda: value("giaoban_history_rows_written_total"), "history written at start")
            await asyncio.to_thread(lab.stop)
            await eventually(lambda: value("giaoban_spool_full"), "the spool full", timeout=90)
            assert await value("giaoban_spool_refused_total", kind="history") > 0

            async def refused() -> tuple[int, str] | None:
                answer = await ready()
                return answer if answer[0] == 503 and "is full" in answer[1] else None

            await eventually(refused, "/-/ready 503 saying the spool is full")
            await eventually(lambda: value("giaoban_history_pending_rows"), "results waiting in memory")
            await asyncio.to_thread(lab.start)

            async def recovered() -> bool:
                return (
                    await value("giaoban_spool_active") == 0
                    and await value("giaoban_spool_full") == 0
                    and (await ready())[0] == 200
                )

            await eventually(recovered, "the spool written back and room again", timeout=90)
            await service.history.flush()
            assert await value("giaoban_history_rows_dropped_total", reason="queue_full") == 0
        storage = await Storage.open(url)
        try:
            async with storage.engine.connect() as conn:
                query = select(targets.c.key, history_raw.c.ts).join(targets, targets.c.id == history_raw.c.target_id)
                stored = Counter((key, int(ts)) for key, ts in (await conn.execute(query)).all())
        finally:
            await storage.close()
        missing = [p for p in produced if p not in stored]
        assert not missing, f"{len(missing)} of {len(produced)} results not at the centre, e.g. {missing[:3]}"
        assert all(n == 1 for n in stored.values())


def test_an_agent_killed_during_the_outage_writes_back_after_its_restart(tmp_path: Path) -> None:
    """`giaoban run` SIGKILLed while the centre is away: what its spool held reaches the centre after a restart."""
    with private_postgres() as lab:
        url, port, config_file = _central_config(lab, tmp_path)
        base = f"http://127.0.0.1:{port}"
        spool_file = tmp_path / "giaoban-spool.db"
        with agent(config_file) as first:
            wait_http(f"{base}/-/ready", timeout=90)  # a loaded machine imports slowly
            lab.stop()
            wait_until_blocking(
                lambda: _metric(base, "giaoban_spool_rows", kind="history") >= 20, timeout=60, what="results spooled"
            )
            first.kill()  # SIGKILL, by its PID: no flush, no goodbye
            first.wait(10)
        with sqlite3.connect(spool_file) as conn:  # what the killed agent had kept
            kept = {
                (json.loads(body)["target"]["key"], json.loads(body)["row"]["ts"])
                for (body,) in conn.execute("SELECT body FROM entries WHERE kind = 'history'")
            }
        assert len(kept) >= 20
        lab.start()
        with agent(config_file):
            wait_http(f"{base}/-/ready", timeout=90)
            wait_until_blocking(
                lambda: (
                    _metric(base, "giaoban_spool_rows", kind="history") == 0
                    and _metric(base, "giaoban_spool_active") == 0
                ),
                timeout=60,
                what="the spool written back after the restart",
            )
        stored = asyncio.run(_stored(url))
        assert not [k for k in kept if k not in stored], "results kept in the spool are missing at the centre"
        assert all(stored[k] == 1 for k in kept)


@contextlib.contextmanager
def agent(config_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m monitor run -c FILE` with the inventory's own database (the centre) and default spool."""
    log = (config_file.parent / "agent.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config_file)], cwd=ROOT, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        stop_process(process)
        log.close()


def _metric(base: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        return scrape_value(response.read().decode(), name, **labels) or 0.0


async def _stored(url: str) -> Counter[tuple[str, int]]:
    """Every (target key, ts) of the centre's history, with how often it is there."""
    storage = await Storage.open(url)
    try:
        async with storage.engine.connect() as conn:
            query = select(targets.c.key, history_raw.c.ts).join(targets, targets.c.id == history_raw.c.target_id)
            return Counter((key, int(ts)) for key, ts in (await conn.execute(query)).all())
    finally:
        await storage.close()
