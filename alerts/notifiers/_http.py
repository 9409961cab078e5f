"""One HTTP POST for the HTTP channels (Alertmanager, webhook, Telegram), with transport faults mapped to outcomes.

aiohttp and OS errors are translated here, at one boundary: connection refused, resets, TLS failures and
timeouts become RETRY; a URL aiohttp cannot use becomes REJECTED. Redirects are not followed: aiohttp would
turn a redirected POST into a GET, so a 3xx is REJECTED with the new address in the detail.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from alerts.notifiers.base import Delivery, NotifierContext, Outcome, redact

_BODY_LIMIT = 64 * 1024  # an error page is read only far enough to quote it


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    reason: str
    body: bytes
    retry_after: float | None  # from a Retry-After header (seconds or an HTTP date)
    location: str | None

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def excerpt(self, limit: int = 200) -> str:
        text = " ".join(self.body.decode("utf-8", "replace").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(value: str | None) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


async def post(
    ctx: NotifierContext, url: str, body: bytes, headers: dict[str, str], *, hide: tuple[str, ...] = ()
) -> Reply | Delivery:
    """POST ``body`` within ``ctx.timeout``; a Reply when the server answered, else a RETRY/REJECTED Delivery.

    ``hide``: secret values (a bot token in the URL) that must not appear in a detail.
    """
    shown = redact(_without_credentials(url), *hide)
    try:
        async with asyncio.timeout(ctx.timeout):
            async with ctx.http.post(url, data=body, headers=headers, allow_redirects=False) as response:
                payload = await response.content.read(_BODY_LIMIT)
                return Reply(
                    status=response.status,
                    reason=response.reason or "",
                    body=payload,
                    retry_after=retry_after(response.headers.get("Retry-After")),
                    location=response.headers.get("Location"),
                )
    except TimeoutError:
        return Delivery(Outcome.RETRY, f"no answer from {shown} within {ctx.timeout:g} s")
    except aiohttp.InvalidURL:
        return Delivery(Outcome.REJECTED, f"{shown} is not a usable URL")
    except aiohttp.ClientSSLError as exc:
        return Delivery(Outcome.RETRY, redact(f"TLS with {shown} failed: {exc}", *hide))
    except aiohttp.ClientConnectorError as exc:
        error = exc.os_error
        # asyncio's own strerror is "Connect call failed (...)"; the errno says why. DNS errors (gaierror) have
        # negative codes and their own text.
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 else error.strerror or str(error)
        return Delivery(Outcome.RETRY, redact(f"cannot connect to {shown}: {reason}", *hide))
    except (aiohttp.ClientError, OSError) as exc:
        return Delivery(Outcome.RETRY, redact(f"{shown} failed: {type(exc).__name__}: {exc}", *hide))


def by_status(reply: Reply, what: str, *, hide: tuple[str, ...] = ()) -> Delivery:
    """The usual meaning of an HTTP status for a push: 2xx done, 408/429/5xx later, anything else never."""
    said = redact(f"{what} answered {reply.status} {reply.reason}".rstrip(), *hide)
    excerpt = redact(reply.excerpt(), *hide)
    if 200 <= reply.status < 300:
        return Delivery(Outcome.DELIVERED, said)
    if reply.status in (408, 429) or reply.status >= 500:
        return Delivery(Outcome.RETRY, f"{said}: {excerpt}" if excerpt else said, reply.retry_after)
    if 300 <= reply.status < 400:
        target = redact(reply.location or "no Location", *hide)
        return Delivery(Outcome.REJECTED, f"{said} (redirect to {target}); configure the final URL")
    return Delivery(Outcome.REJECTED, f"{said}: {excerpt}" if excerpt else said)


def _without_credentials(url: str) -> str:
    """The URL as shown in a detail: no user:password, no query (it may hold a token)."""
    try:
        parsed = URL(url)
    except ValueError:
        return "the configured URL"
    return str(parsed.with_user(None).with_query(None).with_fragment(None))
