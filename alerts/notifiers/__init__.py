"""The one registry of notification channels.

Each channel is a module with ``KIND``, a settings model (pydantic, ``extra="forbid"``) and
``async def send(notification, settings, *, ctx) -> Delivery`` (outcomes in alerts/notifiers/base.py). The
config's discriminated union of notifiers (alerts/notifiers/config.py) is generated from ``NOTIFIERS``, so adding a
channel is one module and one line here (tests/test_notifiers_config.py proves the two agree).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from alerts.notifiers import alertmanager, email, telegram, webhook
from alerts.notifiers.base import (
    Delivery,
    Notification,
    NotifierContext,
    NotifierSettings,
    Outcome,
    PartialDeliveries,
    Recipient,
)


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
}


async def send(notification: Notification, settings: Any, *, ctx: NotifierContext) -> Delivery:
    """Deliver through the channel named by ``settings.kind`` (a validated NotifierConfig)."""
    return await NOTIFIERS[settings.kind].send(notification, settings, ctx=ctx)


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
    "send",
]
