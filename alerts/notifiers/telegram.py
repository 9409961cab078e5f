"""Telegram channel: one Bot API ``sendMessage`` per chat (the recipients' telegram_chat_id plus ``chat_ids``).

Request: ``POST {base_url}/bot{TOKEN}/sendMessage`` with
``{"chat_id": ID, "text": HTML, "parse_mode": "HTML", "disable_web_page_preview": true}``. The text is
``<b>subject</b>``, the plain-text body and the link, every user string escaped: Telegram's HTML mode takes
only a few tags (<b>, <i>, <a>, <code>, ...) and refuses the whole message on a stray ``<``
(https://core.telegram.org/bots/api#html-style). The Bot API answers ``{"ok": true, "result": {...}}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": S}}``.

Outcomes per chat: ok → delivered; 429 → retry after ``parameters.retry_after``; 5xx, timeouts, refused
connections → retry; other 4xx (400 chat not found, 401 bad token, 403 bot blocked) → rejected. A chat that
became a supergroup (``parameters.migrate_to_chat_id``) gets the message at its new id, and the detail asks to
update the inventory.

Several chats: all are sent to concurrently within one timeout. The notification is RETRY when any chat needs
a retry, else REJECTED when any chat refused it, else DELIVERED. Chats that got the message are remembered in
``ctx.partial`` so a retry goes only to the others; after a restart a retry resends to every chat (Telegram has
no idempotency key; at least once beats never).

The bot token is part of the URL: it is redacted from every detail.
"""

from __future__ import annotations

import asyncio
import json
from html import escape
from typing import Any

from pydantic import Field, field_validator

from alerts.notifiers import _http
from alerts.notifiers.base import (
    Delivery,
    HttpUrl,
    Notification,
    NotifierContext,
    NotifierSettings,
    Outcome,
    body_within,
    ids_as_text,
    reveal,
)
from probes.core.secrets import Secret

KIND = "telegram"
_MESSAGE_LIMIT = 4096  # characters after entities are parsed (Bot API sendMessage)


class TelegramSettings(NotifierSettings):
    bot_token: Secret
    base_url: HttpUrl = "https://api.telegram.org"  # a local Bot API server or a proxy
    chat_ids: list[str] = Field(default_factory=list)  # fixed chats on top of the technicians' own

    _ids = field_validator("chat_ids", mode="before")(classmethod(lambda cls, v: ids_as_text(v)))


def message_html(notification: Notification) -> str:
    """The message in Telegram's HTML subset; the body is shortened to fit Telegram's length limit."""
    url = notification.url
    text = body_within(notification, _MESSAGE_LIMIT, framing=4)
    parts = [f"<b>{escape(notification.subject, quote=False)}</b>"]
    if text:
        parts.append(escape(text, quote=False))
    if url:
        parts.append(f'<a href="{escape(url)}">{escape(url, quote=False)}</a>')
    return "\n\n".join(parts)


def chats(notification: Notification, settings: TelegramSettings) -> list[str]:
    """Every chat once, the technicians' first."""
    return notification.destinations(lambda recipient: recipient.telegram_chat_id, settings.chat_ids)


async def send(notification: Notification, settings: TelegramSettings, *, ctx: NotifierContext) -> Delivery:
    targets = chats(notification, settings)
    if not targets:
        return Delivery(Outcome.REJECTED, "no Telegram chat: no recipient has a telegram_chat_id and chat_ids is empty")
    token = await reveal(settings.bot_token, "the Telegram bot token")
    if isinstance(token, Delivery):
        return token
    pending = [chat for chat in targets if not ctx.partial.done(notification.key, chat)]
    text = message_html(notification)
    results = await asyncio.gather(*(_send_to(ctx, settings.base_url, token, chat, text) for chat in pending))
    for chat, result in zip(pending, results, strict=True):
        if result.outcome is Outcome.DELIVERED:
            ctx.partial.mark(notification.key, chat)
    return _overall(notification.key, ctx, len(targets), dict(zip(pending, results, strict=True)))


def _overall(key: str, ctx: NotifierContext, total: int, results: dict[str, Delivery]) -> Delivery:
    failed = {chat: d for chat, d in results.items() if d.outcome is not Outcome.DELIVERED}
    notes = [f"chat {chat}: {d.detail}" for chat, d in results.items() if d.detail and d.outcome is Outcome.DELIVERED]
    if not failed:
        ctx.partial.forget(key)
        return Delivery(Outcome.DELIVERED, "; ".join([f"delivered to {total} chat(s)", *notes]))
    summary = f"{total - len(failed)} of {total} chat(s) have it"
    detail = "; ".join([summary, *(f"chat {chat}: {d.detail}" for chat, d in failed.items()), *notes])
    retries = [d for d in failed.values() if d.outcome is Outcome.RETRY]
    if retries:
        waits = [d.retry_after for d in retries if d.retry_after is not None]
        return Delivery(Outcome.RETRY, detail, max(waits) if waits else None)
    return Delivery(Outcome.REJECTED, detail)


async def _send_to(ctx: NotifierContext, base_url: str, token: str, chat: str, text: str) -> Delivery:
    delivery, migrated_to = await _call(ctx, base_url, token, chat, text)
    if migrated_to is None:
        return delivery
    # The group became a supergroup with a new id; the old one will never work again.
    delivery, _ = await _call(ctx, base_url, token, migrated_to, text)
    fix = f"the group moved to chat {migrated_to}: put that id in the inventory"
    return Delivery(delivery.outcome, f"{delivery.detail}; {fix}".lstrip("; "), delivery.retry_after)


async def _call(ctx: NotifierContext, base_url: str, token: str, chat: str, text: str) -> tuple[Delivery, str | None]:
    """One sendMessage; the second value is the new chat id when Telegram says the chat migrated."""
    body = {"chat_id": chat, "text": text, "parse_mode": "HTML", "disable_web_page_preview": True}
    url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
    data = json.dumps(body, ensure_ascii=False).encode()
    reply = await _http.post(ctx, url, data, {"Content-Type": "application/json"}, hide=(token,))
    if isinstance(reply, Delivery):
        return reply, None
    answer = reply.json()
    answer = answer if isinstance(answer, dict) else {}
    if 200 <= reply.status < 300 and answer.get("ok") is True:
        return Delivery(Outcome.DELIVERED), None
    parameters: dict[str, Any] = answer["parameters"] if isinstance(answer.get("parameters"), dict) else {}
    code = answer.get("error_code", reply.status)
    said = str(answer.get("description") or reply.excerpt() or reply.reason)
    said = f"Telegram answered {code}: {said}".replace(token, "<redacted>")
    if parameters.get("migrate_to_chat_id") is not None:
        return Delivery(Outcome.REJECTED, said), str(parameters["migrate_to_chat_id"])
    if code == 429 or reply.status == 429:
        wait = parameters.get("retry_after")
        wait = float(wait) if isinstance(wait, int | float) else reply.retry_after
        return Delivery(Outcome.RETRY, f"{said} (retry after {wait:g} s)" if wait else said, wait), None
    if reply.status >= 500 or reply.status == 408:
        return Delivery(Outcome.RETRY, said), None
    return Delivery(Outcome.REJECTED, said), None
