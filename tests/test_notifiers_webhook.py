"""The generic webhook channel against a local aiohttp receiver that verifies signatures as a user would."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from alerts.notifiers import webhook
from alerts.notifiers.base import Outcome
from tests.notifier_samples import HOA, SUBJECT_VI, TUAN, notifier_context, resolved, sample
from tests.peers import free_port

SECRET = "khóa-bí-mật"


class Receiver:
    """A receiver that checks X-Giaoban-Signature over the raw body before parsing it; /status/N answers N."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any], bool]] = []  # headers, body, signature ok
        self.port = 0

    async def hook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(request.headers.get("X-Giaoban-Signature", ""), expected)
        self.received.append((dict(request.headers), json.loads(raw), valid))
        return web.Response(status=204)

    async def status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        headers = {"Retry-After": "30"} if code == 503 else {}
        if 300 <= code < 400:
            headers["Location"] = "https://elsewhere.example/hook"
        return web.Response(status=code, text=f"answer {code}", headers=headers)

    async def hang(self, request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.hook)
    app.router.add_post("/status/{code}", hook.status)
    app.router.add_post("/hang", hook.hang)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    hook.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", hook.port).start()
    try:
        yield hook
    finally:
        await runner.cleanup()


def settings(url: str, *, signed: bool = False) -> webhook.WebhookSettings:
    secret = {"secret": {"env": "GIAOBAN_TEST_HOOK_SECRET"}} if signed else {}
    return webhook.WebhookSettings.model_validate({"url": url} | secret)


async def test_signed_body_verifies_on_the_receiver(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver must be able to trust the body: the HMAC over the raw bytes verifies with the shared secret."""
    monkeypatch.setenv("GIAOBAN_TEST_HOOK_SECRET", SECRET)
    notification = resolved(sample(recipients=(TUAN, HOA)))
    async with notifier_context() as ctx:
        delivery = await webhook.send(notification, settings(receiver.url(), signed=True), ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    ((headers, body, valid),) = receiver.received
    assert valid
    assert headers["Idempotency-Key"] == notification.key
    assert headers["X-Giaoban-Event"] == "resolved"
    assert body["key"] == notification.key and body["alert_id"] == notification.alert_id
    assert body["event"] == "resolved" and body["subject"] == SUBJECT_VI
    assert body["labels"]["site"] == "tan-thinh"
    assert body["starts_at"] == "2024-05-06T01:02:03Z" and body["ends_at"].endswith("Z")
    assert body["recipients"] == [{"id": "tuan", "name": TUAN.name}, {"id": "hoa", "name": HOA.name}]


async def test_a_tampered_body_fails_verification(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The signature covers the body: signed with another secret, the receiver's check fails (it is not decorative)."""
    monkeypatch.setenv("GIAOBAN_TEST_HOOK_SECRET", SECRET + "x")
    async with notifier_context() as ctx:
        await webhook.send(sample(), settings(receiver.url(), signed=True), ctx=ctx)
    ((_, _, valid),) = receiver.received
    assert not valid


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (429, Outcome.RETRY),
        (408, Outcome.RETRY),
        (410, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (301, Outcome.REJECTED),
        (202, Outcome.DELIVERED),
    ],
    ids=str,
)
async def test_status_decides_retry(receiver: Receiver, code: int, outcome: Outcome) -> None:
    """Server trouble is retried; a receiver saying the hook is gone (410) or wrong (4xx, redirect) stops retries."""
    async with notifier_context() as ctx:
        delivery = await webhook.send(sample(), settings(receiver.url(f"/status/{code}")), ctx=ctx)
    assert delivery.outcome is outcome
    assert str(code) in delivery.detail
    if code == 503:
        assert delivery.retry_after == 30
    if code == 301:
        assert "elsewhere.example" in delivery.detail


async def test_hanging_receiver_is_retried(receiver: Receiver) -> None:
    """A receiver that never answers costs one timeout, then RETRY."""
    async with notifier_context(timeout=0.3) as ctx:
        delivery = await webhook.send(sample(), settings(receiver.url("/hang")), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert "no answer" in delivery.detail


async def test_refused_connection_is_retried() -> None:
    """A receiver being restarted refuses connections: retry, saying so."""
    async with notifier_context() as ctx:
        delivery = await webhook.send(sample(), settings(f"http://127.0.0.1:{free_port()}/hook"), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert "refused" in delivery.detail.lower()


async def test_unreadable_secret_is_rejected(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret, no unsigned fallback: REJECTED naming the variable, and nothing is sent."""
    monkeypatch.delenv("GIAOBAN_TEST_HOOK_SECRET", raising=False)
    async with notifier_context() as ctx:
        delivery = await webhook.send(sample(), settings(receiver.url(), signed=True), ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "GIAOBAN_TEST_HOOK_SECRET" in delivery.detail
    assert not receiver.received


async def test_cancellation_propagates(receiver: Receiver) -> None:
    """Shutdown cancels a pending delivery: the channel must let CancelledError through, not turn it into RETRY."""
    async with notifier_context(timeout=30) as ctx:
        task = asyncio.create_task(webhook.send(sample(), settings(receiver.url("/hang")), ctx=ctx))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
