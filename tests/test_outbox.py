"""The outbox against real local webhook receivers: retries until delivered, exactly once, across a SIGKILL."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import TypeAdapter
from sqlalchemy import select

from alerts.notifiers.config import NotifierConfig
from alerts.outbox import CHANNEL_REMOVED, Outbox
from alerts.store import SqlAlertStore
from monitor.metrics.outbox import outbox_lines
from monitor.storage.database import Storage
from monitor.storage.tables import outbox
from probes.http import new_client_session
from tests.clock import wait_until
from tests.notifier_samples import resolved, sample
from tests.peers import free_port, require_program, stop_process
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """A webhook receiver that honours Idempotency-Key; ``mode`` per path: "ok", "500", "hang" or "gone"."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mode: dict[str, str] = {}  # path → mode; default "ok"
        self.processed: Counter[str] = Counter()  # key → times acted on (must end at 1)
        self.requests: list[tuple[str, str, str]] = []  # (path, key, event) of every webhook request
        self.pushes: list[Any] = []  # Alertmanager bodies
        self.hold_next = False  # act on the next new key, then never answer (the SIGKILL test)
        self.held = asyncio.Event()
        self.hanging = 0
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if request.path == "/api/v2/alerts":  # Alertmanager's shape: a list of alerts, identity in the labels
            self.pushes.append(body)
            return web.json_response({})
        key = request.headers["Idempotency-Key"]
        self.requests.append((request.path, key, body["event"]))
        mode = self.mode.get(request.path, "ok")
        if mode == "500":
            return web.Response(status=500, text="cơ sở dữ liệu bận")
        if mode == "gone":
            return web.Response(status=410, text="this hook was retired")
        if mode == "hang":
            self.hanging += 1
            await self._release.wait()
            return web.Response(status=503)
        if key in self.processed:
            return web.json_response({"duplicate": True})  # de-duplicated: acknowledged, not acted on again
        self.processed[key] += 1
        if self.hold_next:
            self.hold_next = False
            self.held.set()
            await self._release.wait()  # acted on, but the sender never hears back
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    peer = Receiver()
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture
async def any_storage(database_url: str) -> AsyncIterator[Storage]:
    """The claim query and the PostgreSQL advisory lock, on both databases."""
    opened = await Storage.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = new_client_session()
    try:
        yield session
    finally:
        await session.close()


def notifier(channel_id: str, kind: str, url: str) -> Any:
    return TypeAdapter(NotifierConfig).validate_python({"id": channel_id, "kind": kind, "url": url})


def make_outbox(storage: Storage, http: aiohttp.ClientSession, channels: Mapping[str, Any], **kw: Any) -> Outbox:
    options: dict[str, Any] = {"timeout": 0.5, "backoff": (0.05, 0.2), "poll_interval": 0.05, **kw}
    return Outbox(storage, lambda: channels, http=http, **options)


async def running(box: Outbox) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(box.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def rows(storage: Storage) -> list[Mapping[str, Any]]:
    async with storage.engine.connect() as conn:
        return list((await conn.execute(select(outbox).order_by(outbox.c.id))).mappings().all())


async def all_finished(storage: Storage) -> bool:
    return all(row["state"] != "pending" for row in await rows(storage))


async def enqueue(storage: Storage, *items: tuple[str, Any]) -> None:
    await SqlAlertStore(storage).commit([], list(items))


async def test_refused_500_hang_then_delivered_once(storage: Storage, http: aiohttp.ClientSession) -> None:
    """A receiver that is down, then fails, then hangs gets the notification once it is back — exactly once."""
    peer = Receiver()
    box = make_outbox(storage, http, {"hook": notifier("hook", "webhook", peer.url())})
    await enqueue(storage, ("hook", sample()))
    task = await running(box)
    try:
        await wait_until(lambda: _attempts(storage, 2), timeout=30, what="two refused connections")
        assert "cannot connect" in (await rows(storage))[0]["last_error"]
        peer.mode["/hook"] = "500"
        await peer.start()
        await wait_until(lambda: len(peer.requests) >= 2, timeout=30, what="two 500 answers")
        peer.mode["/hook"] = "hang"
        await wait_until(lambda: peer.hanging >= 2, timeout=30, what="two requests left hanging")
        peer.mode["/hook"] = "ok"
        await wait_until(lambda: all_finished(storage), timeout=30, what="delivery")
    finally:
        await stop(task)
        await peer.stop()
    (row,) = await rows(storage)
    assert row["state"] == "delivered" and row["last_error"] is None and row["attempts"] >= 6
    assert peer.processed == Counter({sample().key: 1})
    assert box.stats.results[("hook", "delivered")] == 1
    assert box.stats.results[("hook", "retry")] >= 5


async def _attempts(storage: Storage, at_least: int) -> bool:
    found = await rows(storage)
    return bool(found) and found[0]["attempts"] >= at_least and found[0]["last_error"] is not None


async def test_rejection_and_removed_channel(
    any_storage: Storage, http: aiohttp.ClientSession, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A 410 and a channel gone from the config end the retries, as rejected rows logged at ERROR."""
    storage = any_storage
    receiver.mode["/gone"] = "gone"
    await receiver.start()
    box = make_outbox(storage, http, {"hook": notifier("hook", "webhook", receiver.url("/gone"))})
    await enqueue(storage, ("hook", sample()), ("old-hook", sample()))
    task = await running(box)
    try:
        await wait_until(lambda: all_finished(storage), timeout=30, what="both rows finished")
    finally:
        await stop(task)
    by_channel = {row["channel_id"]: row for row in await rows(storage)}
    assert by_channel["hook"]["state"] == "rejected" and "410" in by_channel["hook"]["last_error"]
    assert by_channel["old-hook"]["state"] == "rejected"
    assert by_channel["old-hook"]["last_error"] == CHANNEL_REMOVED
    assert len(receiver.requests) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("410" in m for m in errors) and any(CHANNEL_REMOVED in m for m in errors)


async def test_log_channel_writes_one_warning(
    storage: Storage, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """With no notifier configured the engine routes to "log": the alert is still visible, in one line."""
    box = make_outbox(storage, http, {})
    await enqueue(storage, ("log", sample()))
    task = await running(box)
    try:
        await wait_until(lambda: all_finished(storage), timeout=30, what="the log delivery")
    finally:
        await stop(task)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "alerts.outbox"]
    assert warnings == [f"alert firing {sample().alert_id}: {sample().subject}"]
    assert (await rows(storage))[0]["state"] == "delivered"


async def test_resolve_never_overtakes_its_firing(
    any_storage: Storage, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """While the firing notification is being retried, the resolve behind it waits: the receiver sees them in order."""
    storage = any_storage
    receiver.mode["/hook"] = "500"
    await receiver.start()
    box = make_outbox(storage, http, {"hook": notifier("hook", "webhook", receiver.url())})
    await enqueue(storage, ("hook", sample()))
    await enqueue(storage, ("hook", resolved(sample())))
    task = await running(box)
    try:
        await wait_until(lambda: len(receiver.requests) >= 3, timeout=30, what="three failed attempts")
        receiver.mode["/hook"] = "ok"
        await wait_until(lambda: all_finished(storage), timeout=30, what="both delivered")
    finally:
        await stop(task)
    assert {event for _, _, event in receiver.requests[:3]} == {"firing"}
    assert [event for _, key, event in receiver.requests if key in receiver.processed][-2:] == ["firing", "resolved"]


async def test_slow_channel_does_not_block_others(
    storage: Storage, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """A hanging channel holds only its own slots; another channel's notifications go out meanwhile."""
    receiver.mode["/slow"] = "hang"
    await receiver.start()
    channels = {
        "slow": notifier("slow", "webhook", receiver.url("/slow")),
        "fast": notifier("fast", "webhook", receiver.url("/fast")),
    }
    box = make_outbox(storage, http, channels, timeout=30.0, concurrency=4, per_channel=2)
    notes = [dataclasses.replace(sample(), key=f"k{i}", alert_id=f"a{i}") for i in range(6)]
    await enqueue(storage, *[("slow", n) for n in notes], *[("fast", n) for n in notes])
    task = await running(box)
    try:
        await wait_until(lambda: len(receiver.processed) == 6, timeout=30, what="the fast channel's six notifications")
        assert receiver.hanging == 2  # per_channel: the slow channel never had more in flight
    finally:
        await stop(task)


async def test_retry_delay_doubles_caps_and_honours_retry_after(storage: Storage, http: aiohttp.ClientSession) -> None:
    """Backoff: 5 s doubling to the 10 min cap with ±20 % jitter, never sooner than the receiver asked."""
    box = Outbox(storage, dict, http=http)
    for attempt, nominal in ((1, 5.0), (2, 10.0), (4, 40.0), (20, 600.0)):
        delays = [box.retry_delay(attempt, None) for _ in range(50)]
        assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays), (attempt, min(delays), max(delays))
    assert box.retry_delay(1, 120.0) == 120.0


async def test_metrics_lines(storage: Storage, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """Every configured channel has all three results from the start; promtool accepts the text."""
    box = make_outbox(storage, http, {"hook": notifier("hook", "webhook", "http://127.0.0.1:9/")})
    box._current_channels()
    box.stats.results[("hook", "retry")] += 2
    box.stats.pending = 3
    text = "".join(outbox_lines(box.stats))
    assert 'giaoban_notifications_total{channel="hook",result="retry"} 2.0\n' in text
    assert 'giaoban_notifications_total{channel="log",result="delivered"} 0.0\n' in text
    assert "giaoban_outbox_pending 3.0\n" in text
    promtool = require_program("promtool")
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_sigkill_mid_delivery_loses_nothing_and_sends_nothing_twice(tmp_path: Path, receiver: Receiver) -> None:
    """The worker dies after the receiver acted on a notification but before it was marked: after a restart every
    notification has arrived, and the re-sent one is recognised by its key, so none is acted on twice."""
    database = f"sqlite:///{tmp_path / 'giaoban.db'}"
    storage = await Storage.open(database)
    notes = [
        dataclasses.replace(sample(), key=f"link_down/xa-{i}#1:firing", alert_id=f"link_down/xa-{i}") for i in range(6)
    ]
    try:
        await enqueue(storage, *[("hook", n) for n in notes])
        receiver.hold_next = True
        await receiver.start()
        worker = _start_worker(database, receiver.url())
        try:
            await wait_until(
                receiver.held.is_set, timeout=30, what="the receiver to act on a notification and hold its answer"
            )
            await wait_until(
                lambda: len(receiver.processed) == len(notes),
                timeout=30,
                what="every notification to reach the receiver",
            )
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            await asyncio.to_thread(worker.wait, 30)
            stop_process(worker)
        left = [row["key"] for row in await rows(storage) if row["state"] == "pending"]
        assert left, "the held notification must still be pending after the kill"
        restarted = _start_worker(database, receiver.url())
        try:
            await wait_until(lambda: all_finished(storage), timeout=60, what="the restarted worker to finish")
        finally:
            stop_process(restarted)
        assert {row["state"] for row in await rows(storage)} == {"delivered"}
        assert receiver.processed == Counter({n.key: 1 for n in notes})
        resent = Counter(key for _, key, _ in receiver.requests)
        assert all(resent[key] >= 2 for key in left)  # the re-send happened and was de-duplicated
    finally:
        await storage.close()


def _start_worker(database: str, url: str) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_worker", database, url, "--timeout", "5", "--lease", "5.5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == b"ready"
    return worker


async def test_commit_wakes_the_outbox(storage: Storage, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    """The store's on_commit hook starts delivery at once, not at the next poll (here a minute away)."""
    await receiver.start()
    box = make_outbox(storage, http, {"hook": notifier("hook", "webhook", receiver.url())}, poll_interval=60.0)
    store = SqlAlertStore(storage, on_commit=box.wake)
    task = await running(box)
    try:
        await asyncio.sleep(0.1)  # the loop has looked once and gone to sleep
        await store.commit([], [("hook", sample())])
        await wait_until(lambda: receiver.processed, timeout=20, what="the woken delivery")
    finally:
        await stop(task)
