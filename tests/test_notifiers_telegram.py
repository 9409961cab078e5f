"""The Telegram channel against a local server speaking the Bot API's sendMessage shape."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from alerts.notifiers import telegram
from alerts.notifiers.base import Outcome, Recipient
from tests.notifier_samples import HOA, TUAN, notifier_context, sample
from tests.peers import free_port

TOKEN = "123456:AAH-test-token-never-shown"


class BotApi:
    """sendMessage as https://core.telegram.org/bots/api describes it; each chat id picks a behaviour."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []  # accepted sendMessage bodies
        self.tokens: list[str] = []
        self.busy: set[str] = set()  # chats answered with 429 until removed
        self.port = 0

    async def send_message(self, request: web.Request) -> web.Response:
        self.tokens.append(request.match_info["token"])
        body = await request.json()
        chat = str(body["chat_id"])
        if chat == "hang":
            await asyncio.sleep(3600)
        if chat in self.busy:
            return self._error(429, "Too Many Requests: retry after 7", {"retry_after": 7})
        if chat == "404":
            return self._error(400, "Bad Request: chat not found")
        if chat == "500":
            return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
        if chat == "-55":
            return self._error(
                400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": -10055}
            )
        self.messages.append(body)
        return web.json_response({"ok": True, "result": {"message_id": len(self.messages), "chat": {"id": chat}}})

    @staticmethod
    def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
        answer: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            answer["parameters"] = parameters
        return web.json_response(answer, status=code)

    def chats(self) -> list[str]:
        return [str(m["chat_id"]) for m in self.messages]


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApi]:
    api = BotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", api.send_message)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    api.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", api.port).start()
    try:
        yield api
    finally:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIAOBAN_TEST_TG_TOKEN", TOKEN)


def settings(port: int, **extra: Any) -> telegram.TelegramSettings:
    return telegram.TelegramSettings.model_validate(
        {"bot_token": {"env": "GIAOBAN_TEST_TG_TOKEN"}, "base_url": f"http://127.0.0.1:{port}"} | extra
    )


def to(*chats: str) -> tuple[Recipient, ...]:
    return tuple(Recipient(id=f"t{i}", name=f"T {i}", telegram_chat_id=chat) for i, chat in enumerate(chats))


@asynccontextmanager
async def context(timeout: float = 5.0) -> AsyncIterator[Any]:
    async with notifier_context(timeout) as ctx:
        yield ctx


async def test_user_strings_are_escaped(bot_api: BotApi) -> None:
    """A site name with markup must arrive as text: Telegram refuses a whole message on a stray tag."""
    hostile = sample(subject="Xã <script>alert(1)</script> & Co: mất kết nối", text='a < b > c & "d"')
    async with context() as ctx:
        delivery = await telegram.send(hostile, settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    (message,) = bot_api.messages
    assert message["parse_mode"] == "HTML" and message["disable_web_page_preview"] is True
    assert message["chat_id"] == TUAN.telegram_chat_id
    text = message["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    assert 'a &lt; b &gt; c &amp; "d"' in text
    assert set(re.findall(r"</?([a-z]+)", text)) <= {"b", "a"}  # only tags we wrote, from Telegram's subset
    assert bot_api.tokens == [TOKEN]


async def test_rate_limit_is_retried_after_the_wait_telegram_asks(bot_api: BotApi) -> None:
    """Telegram's 429 says how long to wait; retrying sooner prolongs the ban, so the outbox must get the number."""
    bot_api.busy.add("1001")
    async with context() as ctx:
        delivery = await telegram.send(sample(), settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert delivery.retry_after == 7
    assert "retry after 7" in delivery.detail


async def test_chat_not_found_is_rejected(bot_api: BotApi) -> None:
    """A wrong chat id never starts working by itself: REJECTED with Telegram's own description."""
    async with context() as ctx:
        delivery = await telegram.send(sample(recipients=to("404")), settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "chat 404" in delivery.detail and "chat not found" in delivery.detail


async def test_bad_gateway_is_retried(bot_api: BotApi) -> None:
    """A proxy's 5xx HTML page is a passing fault, not an answer from Telegram."""
    async with context() as ctx:
        delivery = await telegram.send(sample(recipients=to("500")), settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert "502" in delivery.detail


async def test_hanging_server_is_retried_within_the_timeout(bot_api: BotApi) -> None:
    """A server that never answers must not hold the outbox: the attempt ends at ctx.timeout with RETRY."""
    async with context(timeout=0.3) as ctx:
        delivery = await telegram.send(sample(recipients=to("hang")), settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert "no answer" in delivery.detail


async def test_token_never_appears_in_a_detail() -> None:
    """The token sits in the URL path; a connection error's detail must not carry it into logs."""
    async with context() as ctx:
        delivery = await telegram.send(sample(), settings(free_port()), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert TOKEN not in delivery.detail and "AAH-test" not in delivery.detail
    assert "<redacted>" in delivery.detail


async def test_retry_goes_only_to_chats_that_missed_it(bot_api: BotApi) -> None:
    """Several chats, one rate-limited: the retry must not send the others a duplicate."""
    bot_api.busy.add("-1002")
    notification = sample(recipients=(TUAN, HOA))
    config = settings(bot_api.port, chat_ids=[-1003])
    async with context() as ctx:
        first = await telegram.send(notification, config, ctx=ctx)
        assert first.outcome is Outcome.RETRY
        assert "2 of 3 chat(s)" in first.detail
        assert sorted(bot_api.chats()) == ["-1003", "1001"]
        bot_api.busy.clear()
        second = await telegram.send(notification, config, ctx=ctx)
    assert second.outcome is Outcome.DELIVERED, second.detail
    assert sorted(bot_api.chats()) == ["-1002", "-1003", "1001"]


async def test_migrated_group_gets_the_message_and_a_fix_is_asked(bot_api: BotApi) -> None:
    """A group upgraded to a supergroup changes id: deliver there now and tell the admin which id to configure."""
    async with context() as ctx:
        delivery = await telegram.send(sample(recipients=to("-55")), settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    assert bot_api.chats() == ["-10055"]
    assert "-10055" in delivery.detail and "inventory" in delivery.detail


async def test_no_chat_is_rejected(bot_api: BotApi) -> None:
    """Nobody to message is a config problem: no technician chat id and no chat_ids."""
    async with context() as ctx:
        delivery = await telegram.send(
            sample(recipients=(Recipient(id="x", name="X"),)), settings(bot_api.port), ctx=ctx
        )
    assert delivery.outcome is Outcome.REJECTED
    assert "chat" in delivery.detail
    assert not bot_api.messages


async def test_unset_token_is_rejected_naming_the_variable(bot_api: BotApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing secret says which environment variable to set."""
    monkeypatch.delenv("GIAOBAN_TEST_TG_TOKEN")
    async with context() as ctx:
        delivery = await telegram.send(sample(), settings(bot_api.port), ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "GIAOBAN_TEST_TG_TOKEN" in delivery.detail


def test_long_body_is_shortened_to_telegram_limit() -> None:
    """Telegram refuses messages over 4096 characters; a long body is cut, the subject and link kept."""
    text = telegram.message_html(sample(text="x" * 10_000))
    visible = re.sub(r"<[^>]+>", "", text)
    assert len(visible) <= 4096
    assert text.startswith("<b>") and text.rstrip().endswith("</a>")
