"""What the in-meeting call readers share (issue 18): one bounded exchange per read, and the unit conversions.

A reader (probes/vc/calls.py lists them) resolves its target as the status probes do (probes/vc/status.py:
``HOST[:PORT]`` or a base URL), runs its requests on the same bounded ``Client`` (no redirects, body cap, TLS
settings) and returns a ``CallReport`` (probes/vc/media.py). Every failure of the exchange is an ``ApiError`` (a
``ProbeFailed``) with its reason: BAD_TARGET, CONFIG_ERROR, TLS_*, REFUSED, UNREACHABLE, RESOLVE_FAILED (no
answer), AUTH_FAILED, BAD_STATUS, BODY_TOO_LARGE, PROTOCOL_ERROR (an answer that is not the documented shape).
A reader never turns a failure into an empty report: "no participants" is only said when the device said so.

No metrics here: the meeting watch (monitor side) exports ``giaoban_call_*`` from the reports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import aiohttp
from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.http import client_error, new_client_session
from probes.vc.status import ApiError, Client, StatusApiSettings, base_url, tls_context

T = TypeVar("T")
S = TypeVar("S")
K = TypeVar("K", bound=StatusApiSettings)
MAX_PARTICIPANTS = 1000  # a bridge's legs read at most; a commune-level briefing has a few hundred at most

_NUMBER = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*([kKmM]?)\s*(?:bps|b/s|bit/s)?\s*$")
_PERCENT = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*%?\s*$")


async def run_read(
    target: str,
    settings: StatusApiSettings,
    ctx: ProbeContext,
    *,
    default_ports: Mapping[str, int],
    read: Callable[[Client, URL], Awaitable[T]],
) -> T:
    """Resolve the base URL, run ``read`` on a bounded Client; aiohttp and OS errors become ApiError."""
    url = base_url(target, settings.scheme, default_ports)
    context = await tls_context(settings)
    try:
        if ctx.http is not None:
            return await read(Client(ctx.http, settings, context), url)
        async with new_client_session() as session:  # one-shot use (the CLI, tests); the service shares its session
            return await read(Client(session, settings, context), url)
    except (aiohttp.ClientError, OSError) as exc:  # CancelledError and ApiError pass through
        reason, detail = client_error(exc)
        raise ApiError(reason, detail, answered=False) from None


async def read_with(
    target: str,
    settings: StatusApiSettings,
    ctx: ProbeContext,
    *,
    kind: str,
    settings_type: type[K],
    default_ports: Mapping[str, int],
    read: Callable[[Client, URL, K], Awaitable[T]],
) -> T:
    """``run_read`` for one kind's reader: settings of another kind are a CONFIG_ERROR, not a crash in ``read``."""
    if not isinstance(settings, settings_type):
        raise ApiError(Reason.CONFIG_ERROR, f"{kind}: settings of another kind", answered=False)
    checked = settings
    return await run_read(
        target, checked, ctx, default_ports=default_ports, read=lambda client, base: read(client, base, checked)
    )


class Sessions(Generic[S]):
    """Login sessions kept per (base URL, user), so a poll every few seconds does not log in every time: devices
    hold few sessions (an RMX refuses logins past its limit). Bounded: the oldest entry goes first."""

    def __init__(self, limit: int = 4096) -> None:
        self._items: dict[tuple[str, str], S] = {}
        self._limit = limit

    def get(self, base: URL, user: str) -> S | None:
        return self._items.get((str(base), user))

    def put(self, base: URL, user: str, session: S) -> None:
        if len(self._items) >= self._limit:
            self._items.pop(next(iter(self._items)))
        self._items[(str(base), user)] = session

    def drop(self, base: URL, user: str) -> None:
        self._items.pop((str(base), user), None)


# A kept session the device no longer accepts shows as one of these; the reader then logs in again, once.
STALE_SESSION = frozenset({Reason.AUTH_FAILED, Reason.BAD_STATUS})


async def with_login(
    sessions: Sessions[S],
    base: URL,
    user: str,
    login: Callable[[], Awaitable[S]],
    use: Callable[[S], Awaitable[T]],
) -> T:
    """``use`` the kept session; when the device refuses it (STALE_SESSION), log in again and retry once."""
    session = sessions.get(base, user)
    if session is not None:
        try:
            return await use(session)
        except ApiError as exc:
            if exc.reason not in STALE_SESSION:
                raise
            sessions.drop(base, user)
    session = await login()
    sessions.put(base, user, session)
    try:
        return await use(session)
    except ApiError as exc:
        if exc.reason in STALE_SESSION:
            sessions.drop(base, user)
        raise


# --- values as devices write them ------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None for anything else ("--", "", true)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def percent_ratio(value: Any) -> float | None:
    """A loss percentage (``0.7``, ``"4.00%"``) as a ratio 0..1; None when not reported ("--") or out of range."""
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        value = match.group(1) if match else None
    percent = number(value)
    if percent is None or not 0.0 <= percent <= 100.0:
        return None
    return percent / 100.0


def rate_bps(value: Any, *, unit: float = 1.0) -> float | None:
    """A bit rate in bit/s from a number in ``unit`` bit/s, or a string with an SI suffix ("733.31k" = kbit/s)."""
    if isinstance(value, str):
        match = _NUMBER.fullmatch(value)
        if not match:
            return None
        scale = {"": unit, "k": 1e3, "m": 1e6}[match.group(2).lower()]
        result = float(match.group(1)) * scale
    else:
        amount = number(value)
        if amount is None:
            return None
        result = amount * unit
    return result if result >= 0 else None


def lost_ratio(lost: float | None, received: float | None) -> float | None:
    """lost / (lost + received), the RFC 3550 fraction lost over a count of packets; None when nothing was counted."""
    if lost is None or received is None or lost < 0 or received < 0 or lost + received == 0:
        return None
    return lost / (lost + received)


def jitter_seconds(milliseconds: Any) -> float | None:
    value = number(milliseconds)
    return value / 1000.0 if value is not None and value >= 0 else None


def protocol_error(what: str, problem: str) -> ApiError:
    return ApiError(Reason.PROTOCOL_ERROR, f"{what}: {problem}", answered=True)
