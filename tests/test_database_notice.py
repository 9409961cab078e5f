"""The admins' database notice (alerts/database_notice.py) against a local receiver, with the clock mocked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from alerts.database_notice import ALERTNAME, DatabaseNotice
from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.storage.health import DatabaseHealth
from tests.notifier_samples import notifier_context
from tests.peers import free_port

pytestmark = pytest.mark.timeout(60)

T0 = 1_796_000_000.0  # 2026-11-30T00:53:20Z


class Receiver:
    """A webhook and an Alertmanager API on one port; ``answers`` are popped per webhook request (then 204)."""

    def __init__(self) -> None:
        self.hook: list[dict[str, Any]] = []
        self.alertmanager: list[list[dict[str, Any]]] = []
        self.answers: list[int] = []
        self.port = free_port()

    async def on_hook(self, request: web.Request) -> web.Response:
        status = self.answers.pop(0) if self.answers else 204
        if status < 300:
            self.hook.append(json.loads(await request.read()))
        return web.Response(status=status)

    async def on_alertmanager(self, request: web.Request) -> web.Response:
        self.alertmanager.append(json.loads(await request.read()))
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    peer = Receiver()
    app = web.Application()
    app.router.add_post("/hook", peer.on_hook)
    app.router.add_post("/api/v2/alerts", peer.on_alertmanager)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.port).start()
    try:
        yield peer
    finally:
        await runner.cleanup()


def config_for(port: int, locale: str = "vi") -> Config:
    return load_config_text(
        f"""\
district: {{name: "Huyện Thử", timezone: Asia/Ho_Chi_Minh, locale: {locale}}}
technicians:
  - {{id: hoa, name: "Đào Thị Hoa"}}
  - {{id: tuan, name: "Nguyễn Văn Tuấn"}}
sites:
  - {{id: hub, name: "UBND huyện", technicians: [tuan]}}
alerts: {{admins: [hoa], resend_interval: 60s}}
notifiers:
  - {{id: hook, kind: webhook, url: "http://127.0.0.1:{port}/hook"}}
  - {{id: am, kind: alertmanager, url: "http://127.0.0.1:{port}"}}
  - {{id: quiet, kind: webhook, url: "http://127.0.0.1:{port}/never", severities: [warning, info]}}
""",
        "t.yml",
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def test_a_lasting_fault_is_told_once_and_its_end_once(receiver: Receiver) -> None:
    """A full disk reaches the admins' critical channels once after the hold, and its end once, without the database."""
    clock = Clock()
    health = DatabaseHealth(clock=clock)
    config = config_for(receiver.port)
    async with notifier_context() as ctx:
        notice = DatabaseNotice(lambda: config, health, ctx=ctx, clock=clock, hold=10.0)
        health.failed("history", "OperationalError: database or disk is full")
        clock.now += 9
        await notice.tick()
        assert (receiver.hook, receiver.alertmanager, notice.open) == ([], [], False)  # within the hold
        clock.now += 1
        health.failed("alerts", "OperationalError: database or disk is full")
        for _ in range(3):
            await notice.tick()
            clock.now += 5
        [firing] = receiver.hook
        assert firing["alertname"] == ALERTNAME and firing["event"] == "firing"
        assert firing["severity"] == "critical" and firing["starts_at"] == "2026-11-30T00:53:20Z"
        assert [r["id"] for r in firing["recipients"]] == ["hoa"]  # the admins, not the site's technicians
        assert firing["subject"] == "[NGHIÊM TRỌNG] giaoban không ghi được vào cơ sở dữ liệu"
        assert "Ghi lịch sử đo: lỗi từ 07:53 30/11/2026: OperationalError: database or disk is full" in firing["text"]
        assert "Ghi trạng thái cảnh báo: lỗi từ 07:53 30/11/2026" in firing["text"]
        [[pushed]] = receiver.alertmanager
        assert pushed["labels"] == {"alertname": ALERTNAME, "severity": "critical"} and "endsAt" not in pushed

        clock.now = T0 + 70  # a resend_interval into the episode: Alertmanager would forget an alert not re-sent
        await notice.tick()
        assert len(receiver.alertmanager) == 2 and len(receiver.hook) == 1

        health.succeeded("history")
        await notice.tick()
        assert len(receiver.hook) == 1  # the alert commits still fail
        health.succeeded("alerts")
        clock.now += 1
        await notice.tick()
        await notice.tick()
    resolved = receiver.hook[1]
    assert len(receiver.hook) == 2 and resolved["event"] == "resolved"
    assert resolved["subject"] == "[ĐÃ KHẮC PHỤC] giaoban đã ghi được vào cơ sở dữ liệu trở lại"
    assert resolved["ends_at"] == "2026-11-30T00:54:31Z" and "Thời gian sự cố: 1 phút" in resolved["text"]
    assert receiver.alertmanager[-1][0]["endsAt"] == "2026-11-30T00:54:31Z" and not notice.open


async def test_a_refused_delivery_is_retried_with_backoff(receiver: Receiver) -> None:
    """A receiver that answers 503 gets the notice again after the back-off; the database is never needed."""
    clock = Clock()
    health = DatabaseHealth(clock=clock)
    config = config_for(receiver.port, locale="en")
    receiver.answers = [503, 503]
    async with notifier_context() as ctx:
        notice = DatabaseNotice(lambda: config, health, ctx=ctx, clock=clock, hold=0.0, backoff=(5.0, 300.0))
        health.failed("database", "OSError: Connect call failed ('127.0.0.1', 5432)")
        await notice.tick()  # 503
        clock.now += 4
        await notice.tick()  # not due yet
        assert receiver.answers == [503]
        clock.now += 1
        await notice.tick()  # 503 again: next in 10 s
        clock.now += 10
        await notice.tick()
    [firing] = receiver.hook
    assert firing["subject"] == "[CRITICAL] giaoban cannot write to its database"
    assert "Connection to the database: failing since" in firing["text"]


async def test_an_end_before_anyone_heard_of_the_fault_is_not_sent(receiver: Receiver) -> None:
    """A fault that ends while its notice is still being retried ends quietly: no "fixed" about unheard news."""
    clock = Clock()
    health = DatabaseHealth(clock=clock)
    config = config_for(receiver.port)
    receiver.answers = [503]
    async with notifier_context() as ctx:
        notice = DatabaseNotice(lambda: config, health, ctx=ctx, clock=clock, hold=0.0)
        health.failed("outbox", "OperationalError: database is locked")
        await notice.tick()
        health.succeeded("outbox")
        clock.now += 600
        await notice.tick()
        await notice.tick()
    assert receiver.hook == []  # the webhook never got the firing, so no resolve either
    assert [alert[0].get("endsAt") is not None for alert in receiver.alertmanager] == [False, True]
