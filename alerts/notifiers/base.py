"""What every notification channel shares: the message, its recipients, the outcome of one delivery attempt.

A channel is a module with a settings model and
``async def send(notification, settings, *, ctx) -> Delivery``. ``send`` never raises for a fault of the
receiver; it returns one of three outcomes, which the outbox acts on:

    DELIVERED  the receiver accepted the message                                  → done
    RETRY      refused connection, timeout, 5xx, 408, 429, SMTP 4xx               → try again later (backoff,
               at the earliest after ``retry_after`` seconds when the receiver said so)
    REJECTED   any other 4xx, SMTP 5xx, a secret that cannot be read, no recipient → retrying cannot help;
               ``detail`` says what to fix

``asyncio.CancelledError`` always propagates. ``detail`` never contains a secret's value.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import aiohttp
from pydantic import AfterValidator, BaseModel, ConfigDict

from probes.core.secrets import Secret, SecretUnavailable


@dataclass(frozen=True, slots=True)
class Recipient:
    """A technician from the inventory, with the addresses the channels can use."""

    id: str
    name: str
    telegram_chat_id: str | None = None
    email: str | None = None
    zalo_user_id: str | None = None  # the technician's id as a follower of the district's Zalo OA


@dataclass(frozen=True, slots=True)
class Notification:
    """One transition of one alert, already rendered in the district's locale."""

    key: str  # idempotency key, unique per (alert, transition); receivers de-duplicate on it
    alert_id: str  # stable id of the alert, e.g. "link_down/tan-thinh/tan-thinh/link"
    event: str  # "firing" | "reminder" | "resolved"
    alertname: str  # e.g. "GiaobanLinkDown", "GiaobanSiteNotReady"
    severity: str  # "critical" | "warning" | "info"
    labels: Mapping[str, str]  # alertname, severity, site, parent, target, meeting (when any), rule
    subject: str  # one line
    text: str  # plain-text body
    html: str  # HTML body, user strings already escaped by the renderer
    starts_at: datetime  # aware UTC
    ends_at: datetime | None  # set on "resolved"
    recipients: tuple[Recipient, ...] = ()
    url: str | None = None  # link to acknowledge / the board

    def destinations(self, own: Callable[[Recipient], str | None], configured: Iterable[str]) -> list[str]:
        """Every destination once: the technicians' own (``own(recipient)``) first, then the channel's."""
        found = [value for recipient in self.recipients if (value := own(recipient))]
        return list(dict.fromkeys([*found, *configured]))


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    detail: str = ""
    retry_after: float | None = None  # seconds the receiver asked us to wait (Telegram, HTTP Retry-After)


class PartialDeliveries:
    """Destinations that already got a notification in this process, so a retry skips them.

    A channel with several destinations per message (Telegram chats) may succeed for some and fail
    transiently for others; the outbox then retries the whole notification. Remembering (key, destination)
    keeps the chats that already have it from getting it twice. In memory only and bounded: after a restart
    a retry resends to every destination, which is the documented at-least-once fallback.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._done: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._limit = limit

    def done(self, key: str, destination: str) -> bool:
        return (key, destination) in self._done

    def mark(self, key: str, destination: str) -> None:
        self._done[(key, destination)] = None
        self._done.move_to_end((key, destination))
        while len(self._done) > self._limit:
            self._done.popitem(last=False)

    def forget(self, key: str) -> None:
        """The notification reached everyone: nothing left to skip."""
        for pair in [pair for pair in self._done if pair[0] == key]:
            del self._done[pair]


@dataclass(frozen=True, slots=True)
class NotifierContext:
    """What the service makes once and shares between channels."""

    http: aiohttp.ClientSession  # the process's shared session
    timeout: float = 10.0  # bound on one delivery attempt
    partial: PartialDeliveries = field(default_factory=PartialDeliveries)


class NotifierSettings(BaseModel):
    """Base of every channel's settings: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
        raise ValueError(f"{value!r} is not a URL; write http://HOST[:PORT][/PATH] or https://...")
    return value


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]


def rfc3339(moment: datetime) -> str:
    """UTC with a Z, as Alertmanager and most webhook receivers expect (RFC 3339 §5.6)."""
    if moment.tzinfo is None:
        raise ValueError("notification times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def reveal(secret: Secret, what: str) -> str | Delivery:
    """The secret's value, or a REJECTED delivery naming its source (never a value)."""
    try:
        # A file is read off the event loop; an environment variable is a dictionary lookup.
        return await asyncio.to_thread(secret.reveal) if secret.file is not None else secret.reveal()
    except SecretUnavailable as exc:
        return Delivery(Outcome.REJECTED, f"{what} is unavailable: {exc}")  # exc names the source


def redact(text: str, *secrets: str) -> str:
    """``text`` with every non-empty secret value replaced, for details and logs."""
    for value in secrets:
        if value:
            text = text.replace(value, "<redacted>")
    return text


def ids_as_text(value: Any) -> Any:
    """A ``mode="before"`` validator for chat and user ids: they are long numbers (Telegram groups negative) and
    YAML reads them as such; a channel addresses them as text."""
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def body_within(notification: Notification, limit: int, *, framing: int) -> str:
    """The body, shortened with "…" so that subject, body, link and ``framing`` characters fit ``limit``."""
    url = notification.url
    room = limit - len(notification.subject) - (len(url) + 2 if url else 0) - framing
    text = notification.text.strip()
    if len(text) > room:
        text = text[: max(room - 1, 0)] + "…"
    return text
