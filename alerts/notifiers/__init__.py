"""The one registry of notification channels.

Each channel is a module with ``KIND``, a settings model (pydantic, ``extra="forbid"``) and
``async def send(notification, settings, *, ctx) -> Delivery`` (outcomes in alerts/notifiers/base.py). The
config's discriminated union of notifiers (alerts/notifiers/config.py) is generated from ``NOTIFIERS``, so adding a
channel is one module and one line here (tests/test_notifiers_config.py proves the two agree).

``deliver(notification, settings, ctx=ctx)`` is the one way to make a delivery attempt: bounded in time and
never raising (but for cancellation). The outbox (alerts/outbox.py) uses it for the rows it stores, and the
database notice (alerts/database_notice.py) for the messages that must go out when the database cannot be used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from alerts.notifiers import alertmanager, email, telegram, webhook, zalo
from alerts.notifiers.base import (
    Delivery,
    Notification,
    NotifierContext,
    NotifierSettings,
    Outcome,
    PartialDeliveries,
    Recipient,
)

log = logging.getLogger(__name__)

# Channels bound themselves by ctx.timeout; this grace only guards against one that does not.
DELIVERY_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class NotifierKind:
    name: str
    settings: type[NotifierSettings]
    send: Callable[..., Awaitable[Delivery]]  # send(notification, settings, *, ctx)
    # The engine pushes a firing alert again every so often: Alertmanager forgets an alert that is not
    # re-sent within its resolve_timeout. Person-facing channels get reminders as their own events instead.
    resend_while_firing: bool = False


NOTIFIERS: dict[str, NotifierKind] = {
    alertmanager.KIND: NotifierKind(
        alertmanager.KIND, alertmanager.AlertmanagerSettings, alertmanager.send, resend_while_firing=True
    ),
    webhook.KIND: NotifierKind(webhook.KIND, webhook.WebhookSettings, webhook.send),
    email.KIND: NotifierKind(email.KIND, email.EmailSettings, email.send),
    telegram.KIND: NotifierKind(telegram.KIND, telegram.TelegramSettings, telegram.send),
    zalo.KIND: NotifierKind(zalo.KIND, zalo.ZaloSettings, zalo.send),
}


async def send(notification: Notification, settings: Any, *, ctx: NotifierContext) -> Delivery:
    """Deliver through the channel named by ``settings.kind`` (a validated NotifierConfig)."""
    return await NOTIFIERS[settings.kind].send(notification, settings, ctx=ctx)


async def deliver(notification: Notification, settings: Any, *, ctx: NotifierContext) -> Delivery:
    """One attempt through the channel ``settings.kind`` names; a hang is RETRY, a bug in a channel too."""
    kind = NOTIFIERS.get(settings.kind)
    if kind is None:
        return Delivery(Outcome.REJECTED, f"no channel kind {settings.kind!r}")
    try:
        async with asyncio.timeout(ctx.timeout + DELIVERY_GRACE):
            return await kind.send(notification, settings, ctx=ctx)
    except TimeoutError:
        return Delivery(Outcome.RETRY, f"the {kind.name} channel did not finish within {ctx.timeout:g} s")
    except Exception as exc:  # a bug in a channel must not stop its caller; the notification is retried
        log.exception("the %s channel raised", kind.name)
        return Delivery(Outcome.RETRY, f"the {kind.name} channel failed: {type(exc).__name__}: {exc}")


__all__ = [
    "NOTIFIERS",
    "Delivery",
    "Notification",
    "NotifierContext",
    "NotifierKind",
    "NotifierSettings",
    "Outcome",
    "PartialDeliveries",
    "Recipient",
    "deliver",
    "send",
]
