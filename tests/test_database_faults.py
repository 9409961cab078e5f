"""A full disk under the running service (issue 13): the fault is visible, the admins hear of it, nothing is lost.

The SQLite database lives on a 2 MB tmpfs that the test fills until writes fail. The service must keep probing,
show the failures on /metrics, answer 503 on /-/ready with the reason, tell the admins' webhook directly (the
outbox is in that database), and once space is freed write the history it held and say the fault is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from alerts.database_notice import ALERTNAME
from alerts.store import SqlAlertStore
from monitor.app.service import Service
from monitor.storage.tables import history_raw
from tests.peers import free_port, require_program, require_root
from tests.service_harness import loopback_config, running_service

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2M") -> Iterator[Path]:
    """A size-limited tmpfs at ``path``, unmounted on exit."""
    require_root()
    mount, umount = require_program("mount"), require_program("umount")
    path.mkdir()
    subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True, timeout=10)
    try:
        yield path
    finally:
        if subprocess.run([umount, str(path)], check=False, timeout=10).returncode != 0:
            subprocess.run([umount, "-l", str(path)], check=False, timeout=10)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has no space left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


class Webhook:
    """The admins' webhook: every JSON body it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.port = free_port()

    async def receive(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(status=204)

    def notices(self, event: str) -> list[dict[str, Any]]:
        return [b for b in self.bodies if b["alertname"] == ALERTNAME and b["event"] == event]


@contextlib.asynccontextmanager
async def serving_hook(port: int, receive: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[None]:
    """``receive`` answering POST /hook on 127.0.0.1:``port`` until the block ends (a webhook notifier's peer)."""
    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    async with serving_hook(hook.port, hook.receive):
        yield hook


class ServiceHttp:
    """A running service's /metrics and /-/ready, as the fault tests poll them."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def metrics(self) -> str:
        async with self.session.get(f"{self.base}/metrics") as response:
            return await response.text()

    async def ready(self) -> tuple[int, str]:
        async with self.session.get(f"{self.base}/-/ready") as response:
            return response.status, await response.text()

    async def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 while the series is not there yet."""
        return scrape_value(await self.metrics(), name, **labels) or 0.0


def scrape_value(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll the async ``check`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        await asyncio.sleep(0.2)


async def stored_ids(service: Service) -> set[int]:
    async with service.storage.engine.connect() as conn:
        return set((await conn.execute(select(history_raw.c.id))).scalars())


async def rows_taken(service: Service, since_ms: int, until_ms: int) -> int:
    query = select(func.count()).where(history_raw.c.ts >= since_ms, history_raw.c.ts < until_ms)
    async with service.storage.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_a_full_disk_is_visible_told_and_caught_up(tmp_path: Path) -> None:
    """Disk full: probing goes on, /metrics and /-/ready say why, the admins hear it; freed: the history catches up."""
    codec = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)  # a codec that goes away later
    codec_port = codec.sockets[0].getsockname()[1]
    with small_disk(tmp_path / "disk") as disk:
        async with webhook() as hook:
            port = free_port()
            extra = f"""\
  - id: kim-phuong
    name: "Xã Kim Phượng"
    parent: hub
    endpoints:
      - {{id: codec, kind: tcp, address: 127.0.0.1, port: {codec_port}}}
technicians:
  - {{id: hoa, name: "Đào Thị Hoa"}}
alerts: {{admins: [hoa]}}
notifiers:
  - {{id: admins-hook, kind: webhook, url: "http://127.0.0.1:{hook.port}/hook"}}
history: {{flush_interval: 500ms}}
database: "sqlite:///{disk}/giaoban.db"
"""
            config_file = tmp_path / "giaoban.yml"
            config_file.write_text(loopback_config(port, extra=extra), encoding="utf-8")
            async with running_service(config_file) as service, aiohttp.ClientSession() as session:
                http = ServiceHttp(session, f"http://{service.listen}")
                ready, value = http.ready, http.value

                async def last_probe() -> float:
                    return await value(
                        "giaoban_probe_last_run_timestamp_seconds", site="hub", target="self-http", kind="http"
                    )

                await eventually(lambda: value("giaoban_history_rows_written_total"), "history written at start")
                assert (await ready())[0] == 200
                stored_before = await stored_ids(service)
                filled_at_ms = int(time.time() * 1000)
                await asyncio.to_thread(fill, disk / "filler")
                codec.close()  # the codec goes down while the disk is full: an alert transition to commit
                await codec.wait_closed()

                await eventually(lambda: value("giaoban_history_write_failures_total"), "history failures shown")
                await eventually(
                    lambda: value("giaoban_database_access_failing", area="history"), "history area failing"
                )
                await eventually(lambda: value("giaoban_alert_evaluation_failures_total"), "evaluation failures")
                assert await value("giaoban_database_access_failing", area="alerts") == 1
                assert await value("giaoban_database_up") == 1  # reachable: reads work, writes do not

                async def not_ready() -> tuple[int, str] | None:
                    answer = await ready()
                    return answer if answer[0] == 503 and "alert evaluation failing" in answer[1] else None

                _, reason = await eventually(not_ready, "/-/ready answering 503 with the reasons")
                assert "writing probe history failing since" in reason
                assert "database or disk is full" in reason

                [notice] = await eventually(lambda: _now(hook.notices("firing")), "the admins' webhook notified")
                assert notice["severity"] == "critical" and [r["id"] for r in notice["recipients"]] == ["hoa"]
                assert "database or disk is full" in notice["text"] and "Ghi lịch sử đo" in notice["text"]

                probed = await last_probe()
                await eventually(lambda: _later(last_probe, probed), "probing going on during the fault")
                assert await value("giaoban_history_pending_rows") > 0  # held in memory, not lost

                freed_at_ms = int(time.time() * 1000)
                os.remove(disk / "filler")

                await eventually(lambda: _status_is(ready, 200), "/-/ready 200 again", timeout=90)
                await eventually(lambda: _now(hook.notices("resolved")), "the admins told it is over")
                assert len(hook.notices("firing")) == 1  # once per episode

                async def caught_up() -> bool:
                    await service.history.flush()
                    return await value("giaoban_history_pending_rows") == 0

                await eventually(caught_up, "the held history written")
                assert await value("giaoban_history_rows_dropped_total", reason="queue_full") == 0
                assert await value("giaoban_history_rows_dropped_total", reason="rejected") == 0
                assert stored_before <= await stored_ids(service)  # nothing already stored is lost
                during = await rows_taken(service, filled_at_ms + 1000, freed_at_ms)
                assert during > 0, "results taken while the disk was full were not written after it was freed"
                assert await value("giaoban_database_access_failing", area="history") == 0
                pending = await SqlAlertStore(service.storage).list_alerts(state="pending", site="kim-phuong")
                assert [a.rule for a in pending] == ["endpoint_down"]  # the transition the full disk held back


async def _now(items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return items or None


async def _later(read: Callable[[], Any], than: float) -> bool:
    return bool(await read() > than)


async def _status_is(read: Callable[[], Any], status: int) -> bool:
    return bool((await read())[0] == status)
