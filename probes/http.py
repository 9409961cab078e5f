"""HTTP(S) probe: status allow-list, body regex and JSON field checks, TLS expiry, per-phase durations.

Target: an ``http://`` or ``https://`` URL. The service shares ONE session made by ``new_client_session()``
(traced, no deadline of its own, no cookies); without one, the probe makes and closes its own.

Phases (seconds, summed over redirect hops; every phase is present, 0 when it did not happen)::

    resolve      name → addresses
    connect      TCP handshake
    tls          TLS handshake
    processing   request headers sent → response headers received
    transfer     response headers → body read (final response)

Values::

    status_code       status of the final response (0 without one)
    declared_length   its Content-Length header, -1 without one (0 without a response)
    content_length    body bytes read (after decompression; stops just past max_body_size)
    redirects         redirects followed
    ssl               1 if the final response came over TLS, else 0
    http_version_number  1.1, 2, ... of the final response (0 without one; the info http_version as a number)
    failed_due_to_regex  1 if body_regex or body_not_regex failed the probe, else 0
    last_modified     its Last-Modified header, unix time (when sent and valid)
    dns_lookup ip_protocol ip_addr_hash   of the first connection (probes/core/address.py)
    tls_cert_expiry   notAfter of the final connection's leaf certificate, unix time (https, verified or not)
    tls_earliest_expiry tls_last_chain_expiry   and the TLS info of probes/tls_facts.py (https)

Info: ``http_version``, ``final_url``, ``server`` (Server header, when sent), ``tls_version`` (https).

Series on /probe are blackbox_exporter's (prober/http.go), those it always writes with its defaults (0, so
they exist on failure too); the README's "/probe and blackbox_exporter" table says where they differ.

``body_regex`` and ``body_not_regex`` run under the deadline, off the event loop (probes/core/patterns.py).

Reasons: OK, BAD_STATUS, BODY_MISMATCH, REGEX_TIMEOUT, JSON_MISMATCH, BODY_TOO_LARGE, TOO_MANY_REDIRECTS, TLS_EXPIRED,
TLS_UNTRUSTED, TLS_HOSTNAME, TLS_ERROR, REFUSED, RESET, RESOLVE_FAILED, UNREACHABLE, PERMISSION, PROTOCOL_ERROR,
BAD_TARGET, CONFIG_ERROR (an unset bearer_token secret); TIMEOUT comes from the runner.
"""

from __future__ import annotations

import asyncio
import codecs
import contextvars
import datetime
import email.utils
import errno
import functools
import json
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, Literal, Protocol

import aiohttp
from pydantic import Field, field_validator
from yarl import URL

from probes import tls as tls_info
from probes import tls_facts
from probes.core.address import ADDRESS_SERIES, address_values
from probes.core.context import ProbeContext
from probes.core.patterns import REGEX_SERIES, check_pattern
from probes.core.patterns import search as pattern_search
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.core.secrets import Secret, SecretUnavailable
from probes.core.series import Series
from probes.core.settings import Settings
from probes.core.units import Size
from probes.core.version import __version__
from probes.tcp import describe, os_error_reason

KIND = "http"
log = logging.getLogger(__name__)
USER_AGENT = f"giaoban/{__version__}"
PHASES = ("resolve", "connect", "tls", "processing", "transfer")
_CHUNK = 64 * 1024  # body read size: at most max_body_size + one chunk is ever held
_NO_BODY_STATUS = frozenset({204, 304})
_PATH_KEY = re.compile(r"[^.\[\]]+")
_PATH_INDEX = re.compile(r"\[(\d+)\]")


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """``status.sip.registered`` → ('status', 'sip', 'registered'); ``items[0].id`` → ('items', 0, 'id')."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            match = _PATH_INDEX.match(path, pos)
            if match is None:
                raise ValueError(f"{path!r}: expected [N] at character {pos + 1}, e.g. items[0].id")
            parts.append(int(match.group(1)))
        else:
            if parts:
                if path[pos] != ".":
                    raise ValueError(f"{path!r}: expected '.' or '[' at character {pos + 1}")
                pos += 1
            match = _PATH_KEY.match(path, pos)
            if match is None:
                raise ValueError(f"{path!r}: empty name at character {pos + 1}; write e.g. status.sip.registered")
            parts.append(match.group(0))
        pos = match.end()
    if not parts:
        raise ValueError("empty path; write e.g. status.sip.registered or items[0].id")
    return tuple(parts)


SERIES = (
    Series("status_code", "giaoban_http_status_code", "HTTP status of the last probe."),
    Series("status_code", "probe_http_status_code", "HTTP status code of the final response.", default=0.0),
    Series("declared_length", "probe_http_content_length", "Content-Length of the final response.", default=0.0),
    Series(
        "content_length",
        "probe_http_uncompressed_body_length",
        "Bytes of body read, after decompression.",
        default=0.0,
    ),
    Series("redirects", "probe_http_redirects", "Redirects followed.", default=0.0),
    Series("ssl", "probe_http_ssl", "1 if the final response came over TLS.", default=0.0),
    Series("http_version_number", "probe_http_version", "HTTP version of the final response.", default=0.0),
    Series(
        "last_modified",
        "probe_http_last_modified_timestamp_seconds",
        "Last-Modified of the final response, unix time.",
    ),
    *REGEX_SERIES,
    *ADDRESS_SERIES,
    *tls_info.TLS_SERIES,
)


class JsonCheck(Settings):
    path: str = Field(description="dotted path into the JSON body, e.g. status.sip.registered or items[0].id")
    equals: Any = Field(None, description="value the field must equal; omitted: the field must exist")

    @field_validator("path")
    @classmethod
    def _parses(cls, path: str) -> str:
        parse_json_path(path)
        return path


class HttpSettings(Settings):
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(None, description="request body")
    bearer_token: Secret | None = Field(None, description="sent as Authorization: Bearer")
    valid_status_codes: list[int] = Field(default_factory=list, description="allowed codes; empty = any 2xx")
    body_regex: list[str] = Field(default_factory=list, description="every pattern must match the body")
    body_not_regex: list[str] = Field(default_factory=list, description="no pattern may match the body")
    json_checks: list[JsonCheck] = Field(default_factory=list)
    tls_verify: bool = True
    ca_file: str | None = None
    max_redirects: int = Field(10, ge=0, le=50, description="0 = do not follow redirects")
    max_body_size: Size = Field(1 << 20, ge=0, description="larger bodies fail the probe")

    @field_validator("body_regex", "body_not_regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            check_pattern(pattern)  # in the engine that runs it, under the deadline (probes/core/patterns.py)
        return patterns

    @field_validator("headers")
    @classmethod
    def _one_line(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not name or any(c in name for c in "\r\n: "):
                raise ValueError(f"{name!r} is not a header name")
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {name}: a value cannot span lines")
        return headers

    @field_validator("valid_status_codes")
    @classmethod
    def _status_range(cls, codes: list[int]) -> list[int]:
        for code in codes:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status code (100–599)")
        return codes


# --- phase timing -------------------------------------------------------------------------------------------


class PhaseTimer:
    """One request's phase clock: passed as ``trace_request_ctx``, filled in by the session's TraceConfig."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.ssl_object: ssl.SSLObject | None = None  # TLS of the final hop's connection
        # The first connection's address and name lookup, as blackbox resolves the target once (probe_ip_*).
        self.address: str | None = None
        self.lookup: float | None = None
        self._attempts: list[tuple[socket.socket, str]] = []
        self._dns_started: float | None = None
        self._create_started: float | None = None
        self._create_dns = 0.0
        self._tls_started: float | None = None
        self._sent: float | None = None
        self._headers: float | None = None

    def dns_start(self) -> None:
        self._dns_started = time.monotonic()

    def dns_end(self) -> None:
        if self._dns_started is not None:
            spent = time.monotonic() - self._dns_started
            self.phases["resolve"] += spent
            self._create_dns += spent
            self._dns_started = None
            if self.address is None and self.lookup is None:
                self.lookup = spent

    def create_start(self) -> None:
        self._create_started, self._create_dns, self._tls_started = time.monotonic(), 0.0, None

    def socket_made(self, sock: socket.socket, address: str) -> None:
        if self.address is None:
            self._attempts.append((sock, address))

    def _settle_address(self) -> None:
        """The first connection's address: the attempt still open (happy eyeballs closes the others)."""
        if self.address is None and self._attempts:
            self.address = next((a for s, a in self._attempts if s.fileno() != -1), self._attempts[0][1])
        self._attempts.clear()

    def tls_start(self, ssl_object: ssl.SSLObject) -> None:
        self._tls_started, self.ssl_object = time.monotonic(), ssl_object

    def create_end(self) -> None:
        """Split the connection's creation (resolve, then TCP, then TLS) into its phases."""
        self._settle_address()
        if self._create_started is None:
            return
        now = time.monotonic()
        tcp_done = self._tls_started if self._tls_started is not None else now
        self.phases["connect"] += tcp_done - self._create_started - self._create_dns
        self.phases["tls"] += now - tcp_done
        self._create_started = None

    def headers_sent(self) -> None:
        self._sent = time.monotonic()

    def response_headers(self) -> None:
        self._headers = time.monotonic()
        if self._sent is not None:
            self.phases["processing"] += self._headers - self._sent
            self._sent = None

    def redirected(self) -> None:
        self.response_headers()
        self.ssl_object = None  # the next hop opens its own connection (force_close)

    def failed(self) -> None:
        """A connection that failed mid-way (e.g. a rejected certificate) still shows where time went."""
        self.create_end()

    def body_read(self) -> None:
        if self._headers is not None:
            self.phases["transfer"] += time.monotonic() - self._headers

    def address_values(self) -> dict[str, float]:
        """dns_lookup, ip_protocol and ip_addr_hash of the first connection, once one was attempted."""
        self._settle_address()
        return {} if self.address is None else address_values(self.address, lookup=self.lookup or 0.0)


# aiohttp has no TLS-handshake trace signal. asyncio wraps the connected socket with the context's wrap_bio
# just before the handshake, in the task that sent on_connection_create_start: a context subclass marks
# that moment on the timer of the request the current task is making.
_CURRENT: contextvars.ContextVar[PhaseTimer | None] = contextvars.ContextVar("giaoban_http_timer", default=None)


class TimedContext(ssl.SSLContext):
    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        ssl_object = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        if (timer := _CURRENT.get()) is not None:
            timer.tls_start(ssl_object)
        return ssl_object


def _timer(trace_ctx: SimpleNamespace) -> PhaseTimer | None:
    timer = trace_ctx.trace_request_ctx
    return timer if isinstance(timer, PhaseTimer) else None  # other users of the session pass none


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()

    async def request_start(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: object) -> None:
        _CURRENT.set(_timer(ctx))

    async def request_end(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: object) -> None:
        if (timer := _timer(ctx)) is not None:
            timer.response_headers()
        _CURRENT.set(None)

    async def request_exception(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: object) -> None:
        if (timer := _timer(ctx)) is not None:
            timer.failed()
        _CURRENT.set(None)

    def call(method: str) -> Callable[[aiohttp.ClientSession, SimpleNamespace, object], Awaitable[None]]:
        async def handler(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: object) -> None:
            if (timer := _timer(ctx)) is not None:
                getattr(timer, method)()

        return handler

    config.on_request_start.append(request_start)
    config.on_request_end.append(request_end)
    config.on_request_exception.append(request_exception)
    config.on_dns_resolvehost_start.append(call("dns_start"))
    config.on_dns_resolvehost_end.append(call("dns_end"))
    config.on_connection_create_start.append(call("create_start"))
    config.on_connection_create_end.append(call("create_end"))
    config.on_request_headers_sent.append(call("headers_sent"))
    config.on_request_redirect.append(call("redirected"))
    return config


class ConnectGuard(Protocol):
    """Decides, before a socket exists, whether a session may connect to an address (/probe's allow-list)."""

    def refusal(self, address: str, name: str | None) -> str | None:
        """Why not (None: allowed); ``name``: the host name that resolved to ``address``, None for a literal."""
        ...


# The host name the current connection attempt resolved, set by the guard's trace before the socket is made.
_RESOLVING: contextvars.ContextVar[str | None] = contextvars.ContextVar("giaoban_http_resolving", default=None)


def _guard_trace() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()

    async def create_start(_s: aiohttp.ClientSession, _c: SimpleNamespace, _p: object) -> None:
        _RESOLVING.set(None)  # an IP literal is not resolved: no name stands behind it

    async def dns_start(_s: aiohttp.ClientSession, _c: SimpleNamespace, params: Any) -> None:
        _RESOLVING.set(str(params.host))

    config.on_connection_create_start.append(create_start)
    config.on_dns_resolvehost_start.append(dns_start)
    return config


def _socket_factory(guard: ConnectGuard | None) -> Callable[[Any], socket.socket]:
    """Sockets for the session: refused by the guard before they exist, noted on the request's timer."""

    def make(addr_info: Any) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0]).partition("%")[0]
        if guard is not None and (why := guard.refusal(address, _RESOLVING.get())) is not None:
            log.warning("http: refused to connect to %s: %s", address, why)
            raise PermissionError(errno.EACCES, why)  # reported as permission_denied, before any packet
        sock = socket.socket(family, type_, proto)
        if (timer := _CURRENT.get()) is not None:
            timer.socket_made(sock, address)
        return sock

    return make


def new_client_session(*, guard: ConnectGuard | None = None) -> aiohttp.ClientSession:
    """The session the service makes once and shares between HTTP probes (one pool, one DNS cache).

    ``guard`` sees every address the session connects to, after each redirect too, and may refuse it:
    /probe's allow-list (monitor/web/probe_guard.py), which a redirect must not get around.
    """
    connector = aiohttp.TCPConnector(
        force_close=True,  # each probe measures its own connect and TLS; no pooled connection hides a dead server
        use_dns_cache=False,  # each probe resolves, so a DNS failure shows up when it happens
        limit=0,  # the scheduler bounds concurrency; a queue here would eat into probe deadlines
        socket_factory=_socket_factory(guard),
    )
    traces = [_trace_config(), *([_guard_trace()] if guard is not None else [])]
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),  # the runner owns every deadline
        cookie_jar=aiohttp.DummyCookieJar(),  # a cookie from one probe must not change the next
        trace_configs=traces,
        headers={"User-Agent": USER_AGENT},
    )


# --- the probe ----------------------------------------------------------------------------------------------


def _parse_target(target: str) -> URL:
    try:
        url = URL(target)
    except ValueError:
        url = URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ProbeFailed(Reason.BAD_TARGET, f"{target!r} is not an http(s) URL; write e.g. https://HOST[:PORT]/PATH")
    return url


async def _request_headers(settings: HttpSettings) -> dict[str, str]:
    headers = dict(settings.headers)
    token = settings.bearer_token
    if token is not None:
        try:
            # Read at each probe, so a rotated token is picked up; a file is read off the event loop.
            value = await asyncio.to_thread(token.reveal) if token.file is not None else token.reveal()
        except SecretUnavailable as exc:
            raise ProbeFailed(Reason.CONFIG_ERROR, f"bearer_token: {exc}") from None
        headers["Authorization"] = f"Bearer {value}"
    return headers


async def _ssl_context(settings: HttpSettings) -> ssl.SSLContext:
    try:
        return await tls_info.client_context(verify=settings.tls_verify, ca_file=settings.ca_file, cls=TimedContext)
    except OSError as exc:  # also ssl.SSLError: not a PEM bundle
        raise ProbeFailed(Reason.TLS_ERROR, tls_info.ca_file_problem(settings.ca_file, exc)) from None


async def _read_body(resp: aiohttp.ClientResponse, settings: HttpSettings) -> tuple[bytes, int, bool]:
    """(body kept for the checks, bytes read, too large); holds at most max_body_size + one chunk."""
    cap = settings.max_body_size
    declared = resp.content_length
    has_body = resp.method != "HEAD" and resp.status >= 200 and resp.status not in _NO_BODY_STATUS
    if has_body and declared is not None and declared > cap:
        return b"", 0, True  # refuse before a byte of it crosses a thin link
    keep = bool(settings.body_regex or settings.body_not_regex or settings.json_checks)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            return b"", size, True
        if keep:
            chunks.append(chunk)
    return b"".join(chunks), size, False


def _decode(body: bytes, charset: str | None) -> str:
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = None
    return body.decode(charset or "utf-8", "replace")


def _json_equal(actual: Any, expected: Any) -> bool:
    """JSON equality without Python's True == 1."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(map(_json_equal, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(_json_equal(actual[k], expected[k]) for k in actual)
    return type(actual) is type(expected) and bool(actual == expected)


def _lookup(document: Any, path: str) -> Any:
    node, walked = document, ""
    for part in parse_json_path(path):
        where = walked or "the body"
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ProbeFailed(Reason.JSON_MISMATCH, f"{path}: {where} is not a list")
            if part >= len(node):
                raise ProbeFailed(Reason.JSON_MISMATCH, f"{path}: {where} has only {len(node)} items")
            node, walked = node[part], f"{walked}[{part}]"
        else:
            if not isinstance(node, dict):
                raise ProbeFailed(Reason.JSON_MISMATCH, f"{path}: {where} is not an object")
            if part not in node:
                raise ProbeFailed(Reason.JSON_MISMATCH, f"{path}: {where} has no field {part!r}")
            node, walked = node[part], f"{walked}.{part}" if walked else part
    return node


def _check_json(text: str, checks: list[JsonCheck]) -> None:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ProbeFailed(Reason.JSON_MISMATCH, f"body is not JSON ({exc}); json_checks need a JSON response") from None
    except RecursionError:  # '[[[[...' a few thousand deep: the parser's stack, not a bug of ours
        raise ProbeFailed(Reason.JSON_MISMATCH, "body is JSON nested too deeply to check") from None
    for check in checks:
        actual = _lookup(document, check.path)
        # ``equals`` given (even as null) compares; left out, the field only has to exist.
        if "equals" in check.model_fields_set and not _json_equal(actual, check.equals):
            shown = json.dumps(actual, ensure_ascii=False)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise ProbeFailed(Reason.JSON_MISMATCH, f"{check.path} is {shown}, expected {json.dumps(check.equals)}")


async def _check(resp: aiohttp.ClientResponse, body: bytes, too_large: bool, settings: HttpSettings) -> None:
    """Raise ProbeFailed for the first check the response fails, in the order an operator would fix them."""
    allowed = settings.valid_status_codes
    if (resp.status not in allowed) if allowed else not 200 <= resp.status < 300:
        expected = ", ".join(map(str, allowed)) if allowed else "2xx"
        raise ProbeFailed(Reason.BAD_STATUS, f"status {resp.status}, expected {expected}")
    if too_large:
        cap = settings.max_body_size
        declared = f" (Content-Length {resp.content_length})" if resp.content_length is not None else ""
        raise ProbeFailed(Reason.BODY_TOO_LARGE, f"body larger than max_body_size {cap} bytes{declared}")
    if not (settings.body_regex or settings.body_not_regex or settings.json_checks):
        return
    text = _decode(body, resp.charset)
    for pattern in settings.body_regex:
        if not await pattern_search(pattern, text, what="body_regex"):
            raise ProbeFailed(Reason.BODY_MISMATCH, f"body does not match {pattern!r}")
    for pattern in settings.body_not_regex:
        if await pattern_search(pattern, text, what="body_not_regex"):
            raise ProbeFailed(Reason.BODY_MISMATCH, f"body matches {pattern!r}, which it must not")
    if settings.json_checks:
        _check_json(text, settings.json_checks)


async def _request(
    session: aiohttp.ClientSession,
    url: URL,
    settings: HttpSettings,
    *,
    headers: dict[str, str],
    ssl_context: ssl.SSLContext,
    timer: PhaseTimer,
    started: float,
) -> ProbeResult:
    async with session.request(
        settings.method,
        url,
        headers=headers,
        data=settings.body.encode() if settings.body is not None else None,
        ssl=ssl_context,
        allow_redirects=settings.max_redirects > 0,
        max_redirects=settings.max_redirects + 1,  # aiohttp fails AT its limit; ours is the number followed
        trace_request_ctx=timer,
    ) as resp:
        body, size, too_large = await _read_body(resp, settings)
        timer.body_read()
        duration = time.monotonic() - started
        declared = resp.headers.get("Content-Length", "")
        values = {
            "status_code": float(resp.status),
            "declared_length": float(declared) if declared.isdigit() else -1.0,
            "content_length": float(size),
            "redirects": float(len(resp.history)),
            "ssl": 1.0 if timer.ssl_object is not None else 0.0,
            "http_version_number": float(f"{resp.version.major}.{resp.version.minor}") if resp.version else 0.0,
            "failed_due_to_regex": 0.0,
            **timer.address_values(),
        }
        if (modified := _http_date(resp.headers.get("Last-Modified"))) is not None:
            values["last_modified"] = modified
        info = {
            "http_version": f"{resp.version.major}.{resp.version.minor}" if resp.version else "",
            "final_url": str(resp.url.with_user(None)),
        }
        if server := resp.headers.get("Server"):
            info["server"] = server
        if timer.ssl_object is not None:
            if (expiry := tls_info.peer_cert_expiry(timer.ssl_object)) is not None:
                values["tls_cert_expiry"] = expiry
            if version := timer.ssl_object.version():
                info["tls_version"] = version
            tls_values, tls_info_texts = tls_facts.facts(timer.ssl_object)
            values |= tls_values
            info |= tls_info_texts
        try:
            await _check(resp, body, too_large, settings)
        except ProbeFailed as failed:
            if failed.reason is Reason.BODY_MISMATCH:  # body_regex / body_not_regex (json_checks fail otherwise)
                values["failed_due_to_regex"] = 1.0
            return failed.result(duration=duration, phases=timer.phases, values=values, info=info)
        return ProbeResult(success=True, duration=duration, phases=timer.phases, values=values, info=info)


def _http_date(text: str | None) -> float | None:
    """An HTTP date (RFC 9110 §5.6.7) as unix time; None when absent or not a date."""
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)).timestamp()


def _failure(exc: Exception, settings: HttpSettings) -> tuple[Reason, str]:
    """The http probe's own failures first, then the shared mapping of client errors."""
    if isinstance(exc, ProbeFailed):
        return exc.reason, exc.detail
    if isinstance(exc, aiohttp.TooManyRedirects):
        where = exc.history[-1].headers.get("Location", "?") if exc.history else "?"
        return Reason.TOO_MANY_REDIRECTS, f"more than {settings.max_redirects} redirects; the last one to {where}"
    if isinstance(exc, aiohttp.RedirectClientError):
        return Reason.PROTOCOL_ERROR, f"the server redirected to an unusable location: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return Reason.BAD_TARGET, f"{exc}: write e.g. https://HOST[:PORT]/PATH"
    return client_error(exc)


def client_error(exc: Exception) -> tuple[Reason, str]:
    """The one boundary where aiohttp, TLS and OS errors become reason codes (http probe and status drivers)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError) and isinstance(exc.certificate_error, ssl.SSLError):
        return tls_info.handshake_failure(exc.certificate_error, exc.host)
    if isinstance(exc, aiohttp.ClientConnectorSSLError) and isinstance(exc.os_error, ssl.SSLError):
        return tls_info.handshake_failure(exc.os_error, exc.host)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, socket.gaierror):
            return Reason.RESOLVE_FAILED, f"cannot resolve {exc.host}: {exc.os_error.strerror}"
        return os_error_reason(exc.os_error), f"cannot connect to {exc.host} port {exc.port}: {describe(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Reason.PROTOCOL_ERROR, "the server closed the connection before a complete response"
    if isinstance(exc, aiohttp.ClientResponseError):
        return Reason.PROTOCOL_ERROR, f"invalid HTTP response: {exc.message}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return Reason.PROTOCOL_ERROR, f"response body broken off: {exc}"
    if isinstance(exc, ssl.SSLError):
        return Reason.TLS_ERROR, f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, OSError):  # also aiohttp.ClientOSError
        return os_error_reason(exc), f"connection failed: {describe(exc)}"
    return Reason.PROTOCOL_ERROR, f"HTTP request failed: {type(exc).__name__}: {exc}"


async def probe(target: str, settings: HttpSettings, *, ctx: ProbeContext) -> ProbeResult:
    timer = PhaseTimer()
    started = time.monotonic()
    try:
        url = _parse_target(target)
        headers, ssl_context = await _request_headers(settings), await _ssl_context(settings)
        # Our own setup (the CA store, read once per process; a token file) is not the server's time.
        started = time.monotonic()
        request = functools.partial(
            _request, url=url, settings=settings, headers=headers, ssl_context=ssl_context, timer=timer, started=started
        )
        if ctx.http is not None:
            return await request(ctx.http)
        async with new_client_session() as session:  # one-shot use (the CLI); the service shares its session
            return await request(session)
    except (ProbeFailed, aiohttp.ClientError, OSError) as exc:  # CancelledError passes through to the runner
        reason, detail = _failure(exc, settings)
        return ProbeResult.failure(
            reason, detail, duration=time.monotonic() - started, phases=timer.phases, values=timer.address_values()
        )
