"""What the room-codec status-API drivers share (cisco-xapi, poly-rest, jitsi): targets, bounded HTTP, safe
parsing, and one mapping from what a device reports to values, success and reason.

Target: ``HOST``, ``HOST:PORT``, ``[IPv6]:PORT`` (scheme from the ``scheme`` setting, port from the scheme
unless given), or a base URL ``http(s)://HOST[:PORT][/PREFIX]`` whose scheme and port win.

Values (a field the device does not report is ABSENT, never "ok")::

    up                     1: the API answered over HTTP (also with 401 or a broken document); 0: no answer
    response_seconds       first request sent → last status body read (login included)
    registered             1 registered (SIP or H.323, any), 0 reported but not registered
    in_call                1 in a call, 0 idle
    standby                1 in standby, 0 awake
    uptime                 seconds since the codec started
    peripheral_camera      1 a camera connected, 0 cameras reported but none connected
    peripheral_microphone  1 a microphone present, 0 reported missing
    microphone_muted       1 muted, 0 not muted

Phases (seconds, summed over the run's requests): resolve, connect, tls, processing, transfer.
Info: ``software``, ``product``, ``registration`` (as the device words it), ``server`` (HTTP header).

Success = the endpoint is READY: the API answered, registered (unless unknown or ``require_registration:
false``), not in a call, and no camera or microphone reported missing. Reasons in the order an operator
fixes them: NOT_REGISTERED, ENDPOINT_BUSY, PERIPHERAL_MISSING, then the faults the device reports itself
(Cisco diagnostics: NETWORK_FAULT, OVERHEATING); the detail lists every problem. A muted
microphone is a soft problem: success stays True and the reason is MICROPHONE_MUTED (readiness: DEGRADED).
Failures of the exchange: AUTH_FAILED (401/403), BAD_STATUS, BODY_TOO_LARGE, PROTOCOL_ERROR (malformed
document, or XML with a DTD or entities: refused unexpanded), CONFIG_ERROR (credentials unreadable or not
"user:password"), TLS_*, REFUSED, UNREACHABLE, RESOLVE_FAILED, BAD_TARGET; TIMEOUT from the runner.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import defusedxml
import defusedxml.ElementTree
from pydantic import Field
from yarl import URL

from probes import tls as tls_info
from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.core.secrets import Secret, SecretUnavailable
from probes.core.series import ENDPOINT_SERIES, Series
from probes.core.settings import Settings, join_host_port, split_host_port
from probes.core.units import Size
from probes.http import PhaseTimer, TimedContext, client_error, new_client_session

_CHUNK = 64 * 1024


# What status_result can write, for every status-API driver (a field the device does not report stays absent).
SERIES = (
    *ENDPOINT_SERIES,
    Series("registered", "giaoban_endpoint_registered", "1 if the codec is registered (SIP/H.323)."),
    Series("in_call", "giaoban_endpoint_in_call", "1 if the codec is already in a call."),
    Series("standby", "giaoban_endpoint_standby", "1 if the codec is in standby."),
    Series("microphone_muted", "giaoban_endpoint_microphone_muted", "1 if the codec's microphones are muted."),
    *(
        Series(
            f"peripheral_{peripheral}",
            "giaoban_endpoint_peripheral_ok",
            "1 if the peripheral is connected.",
            labels=(("peripheral", peripheral),),
        )
        for peripheral in ("camera", "microphone")
    ),
    Series("uptime", "giaoban_endpoint_uptime_seconds", "The codec's uptime."),
)


class StatusApiSettings(Settings):
    """Options every status-API driver takes."""

    scheme: Literal["https", "http"] = Field("https", description="when the target is a bare host")
    tls_verify: bool = Field(True, description="verify the certificate (codecs often ship self-signed ones)")
    ca_file: str | None = Field(None, description="PEM bundle of CAs to trust instead of the system's")
    max_body_size: Size = Field(2 << 20, ge=1024, description="larger answers fail the probe (BODY_TOO_LARGE)")


class UserSettings(StatusApiSettings):
    """A device or server API read as one user (HTTP Basic or a login with these)."""

    credentials: Secret | None = Field(None, description='{env: NAME} or {file: PATH} holding "user:password"')


class CredentialSettings(UserSettings):
    """A codec's: its user, and whether it must be registered to be ready (servers are not asked this)."""

    require_registration: bool = Field(
        True, description="false for codecs dialled by IP only: registered is still reported, but not required"
    )


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """What a driver read; None = the device did not say."""

    registered: bool | None = None
    in_call: bool | None = None
    standby: bool | None = None
    uptime: float | None = None
    camera: bool | None = None
    microphone: bool | None = None
    microphone_muted: bool | None = None
    healthy: bool = True  # False: the device itself says it is not able to serve (jitsi health)
    problem: str = ""  # the device's words when not healthy
    faults: tuple[tuple[Reason, str], ...] = ()  # faults the device reports itself (Cisco diagnostics), its words
    info: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, float] = field(default_factory=dict)  # a driver's own values (jitsi conferences)


class ApiError(ProbeFailed):
    """A failed exchange; ``answered``: an HTTP response did arrive (the API is up)."""

    def __init__(self, reason: Reason, detail: str, *, answered: bool) -> None:
        super().__init__(reason, detail)
        self.answered = answered


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    cookies: Mapping[str, str]


# --- targets and credentials --------------------------------------------------------------------------------


def base_url(target: str, scheme: str, default_ports: Mapping[str, int]) -> URL:
    """The API's base URL from a bare host (scheme and port from the settings) or a URL."""
    if "://" in target:
        try:
            url = URL(target)
        except ValueError:
            url = URL()
        if url.scheme not in ("http", "https") or not url.host or url.query_string or url.fragment:
            raise ApiError(Reason.BAD_TARGET, f"{target!r}: write HOST[:PORT] or http(s)://HOST[:PORT]", answered=False)
        if not url.explicit_port and url.scheme in default_ports:
            url = url.with_port(default_ports[url.scheme])
        return url.with_path(url.path.rstrip("/"))
    try:
        host, port = split_host_port(target, default_port=default_ports[scheme])
    except ValueError as exc:
        raise ApiError(Reason.BAD_TARGET, str(exc), answered=False) from None
    try:
        return URL(f"{scheme}://{join_host_port(host, port)}")
    except ValueError:
        raise ApiError(Reason.BAD_TARGET, f"{target!r} is not a host name or address", answered=False) from None


async def user_password(secret: Secret | None) -> tuple[str, str]:
    if secret is None:
        raise ApiError(
            Reason.CONFIG_ERROR,
            'credentials are missing: set credentials: {file: PATH} with "user:password"',
            answered=False,
        )
    try:
        # Read at each probe, so a changed password is picked up; a file is read off the event loop.
        value = await asyncio.to_thread(secret.reveal) if secret.file is not None else secret.reveal()
    except SecretUnavailable as exc:
        raise ApiError(Reason.CONFIG_ERROR, f"credentials: {exc}", answered=False) from None
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise ApiError(
            Reason.CONFIG_ERROR, f'credentials ({secret.source()}) must hold "user:password"', answered=False
        )
    return user, password


async def basic_authorization(secret: Secret | None) -> dict[str, str]:
    """The HTTP Basic header of the "user:password" in ``secret`` (read now, as ``user_password``)."""
    user, password = await user_password(secret)
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def tls_context(settings: StatusApiSettings) -> ssl.SSLContext:
    """The client TLS context of ``settings``; a CA file that cannot be read is a TLS_ERROR (no request made)."""
    try:
        return await tls_info.client_context(verify=settings.tls_verify, ca_file=settings.ca_file, cls=TimedContext)
    except OSError as exc:  # also ssl.SSLError: not a PEM bundle
        raise ApiError(Reason.TLS_ERROR, tls_info.ca_file_problem(settings.ca_file, exc), answered=False) from None


# --- bounded HTTP -------------------------------------------------------------------------------------------


class Client:
    """One probe run's requests: shared session, TLS context, phase timer, body cap; no redirects followed
    (a redirect would carry the password elsewhere), no cookie jar (the driver handles its session cookie)."""

    def __init__(self, session: aiohttp.ClientSession, settings: StatusApiSettings, context: ssl.SSLContext) -> None:
        self.session, self.settings, self.context = session, settings, context
        self.timer = PhaseTimer()
        self.first_sent: float | None = None
        self.last_read: float | None = None
        self.server: str | None = None

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,  # a raw body (the RMX XML API); give its Content-Type in headers
    ) -> Reply:
        if self.first_sent is None:
            self.first_sent = time.monotonic()
        async with self.session.request(
            method,
            url,
            headers=dict(headers or {}),
            json=json_body,
            data=data,
            ssl=self.context,
            allow_redirects=False,
            trace_request_ctx=self.timer,
        ) as resp:
            self.server = resp.headers.get("Server", self.server)
            body = await self._read(resp, url)
            self.timer.body_read()
            self.last_read = time.monotonic()
            cookies = {name: morsel.value for name, morsel in resp.cookies.items()}
            return Reply(status=resp.status, body=body, cookies=cookies)

    async def _read(self, resp: aiohttp.ClientResponse, url: URL) -> bytes:
        cap = self.settings.max_body_size
        if resp.content_length is not None and resp.content_length > cap:
            raise ApiError(
                Reason.BODY_TOO_LARGE,
                f"{url.path}: answer of {resp.content_length} bytes is larger than max_body_size {cap}",
                answered=True,
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise ApiError(
                    Reason.BODY_TOO_LARGE, f"{url.path}: answer larger than max_body_size {cap} bytes", answered=True
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @property
    def response_seconds(self) -> float:
        if self.first_sent is None or self.last_read is None:
            return 0.0
        return self.last_read - self.first_sent


def expect_ok(reply: Reply, what: str) -> None:
    """401/403 → AUTH_FAILED, other non-2xx → BAD_STATUS."""
    if reply.status in (401, 403):
        raise ApiError(Reason.AUTH_FAILED, f"{what}: {reply.status}: check the user and password", answered=True)
    if not 200 <= reply.status < 300:
        raise ApiError(Reason.BAD_STATUS, f"{what}: HTTP {reply.status}, expected 200", answered=True)


# --- safe parsing -------------------------------------------------------------------------------------------


def parse_xml(body: bytes, what: str) -> Element:
    """Parse without DTDs or entities: a billion-laughs or external-entity document is refused, unexpanded."""
    try:
        return defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise ApiError(
            Reason.PROTOCOL_ERROR, f"{what}: refused an XML document with a DTD or entities ({exc})", answered=True
        ) from None
    except ParseError as exc:
        raise ApiError(Reason.PROTOCOL_ERROR, f"{what}: malformed XML ({exc})", answered=True) from None


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ApiError(Reason.PROTOCOL_ERROR, f"{what}: malformed JSON ({type(exc).__name__})", answered=True) from None


# --- from status to result ----------------------------------------------------------------------------------


# The order an operator fixes a device's own faults in, after registration, calls and peripherals.
_FAULT_ORDER = (Reason.PERIPHERAL_MISSING, Reason.NETWORK_FAULT, Reason.OVERHEATING, Reason.NOT_READY)


def _flag(values: dict[str, float], key: str, state: bool | None) -> None:
    if state is not None:
        values[key] = 1.0 if state else 0.0


def status_result(status: EndpointStatus, client: Client, *, require_registration: bool, started: float) -> ProbeResult:
    values: dict[str, float] = {"up": 1.0, "response_seconds": client.response_seconds}
    _flag(values, "registered", status.registered)
    _flag(values, "in_call", status.in_call)
    _flag(values, "standby", status.standby)
    _flag(values, "peripheral_camera", status.camera)
    _flag(values, "peripheral_microphone", status.microphone)
    _flag(values, "microphone_muted", status.microphone_muted)
    if status.uptime is not None:
        values["uptime"] = status.uptime
    values.update(status.extra)
    info = dict(status.info)
    if client.server:
        info["server"] = client.server
    problems: list[tuple[Reason, str]] = []
    if not status.healthy:
        problems.append((Reason.NOT_READY, status.problem or "the device reports it is not healthy"))
    if status.registered is False and require_registration:
        problems.append((Reason.NOT_REGISTERED, f"not registered ({info.get('registration', 'no registration')})"))
    if status.in_call:
        problems.append((Reason.ENDPOINT_BUSY, "already in a call"))
    if status.camera is False:
        problems.append((Reason.PERIPHERAL_MISSING, "no camera connected"))
    if status.microphone is False:
        problems.append((Reason.PERIPHERAL_MISSING, "no microphone connected"))
    problems += sorted(status.faults, key=lambda fault: _FAULT_ORDER.index(fault[0]))
    duration = time.monotonic() - started
    kw: dict[str, Any] = {"duration": duration, "phases": client.timer.phases, "values": values, "info": info}
    if problems:
        return ProbeResult.failure(problems[0][0], "; ".join(text for _, text in problems), **kw)
    if status.microphone_muted:
        return ProbeResult(
            success=True, reason=Reason.MICROPHONE_MUTED, detail="ready, but the microphones are muted", **kw
        )
    return ProbeResult(success=True, detail="ready", **kw)


A = TypeVar("A", bound=StatusApiSettings)


async def run_status_probe(
    target: str,
    settings: A,
    ctx: ProbeContext,
    *,
    default_ports: Mapping[str, int],
    fetch: Callable[[Client, URL, A], Awaitable[EndpointStatus]],
    require_registration: bool = True,
) -> ProbeResult:
    """Resolve the base URL, run ``fetch(client, base, settings)``, and turn its status or failure into the result."""
    started = time.monotonic()
    client: Client | None = None
    try:
        url = base_url(target, settings.scheme, default_ports)
        context = await tls_context(settings)
        started = time.monotonic()  # our own setup (the CA store, read once per process) is not the device's time
        if ctx.http is not None:
            client = Client(ctx.http, settings, context)
            status = await fetch(client, url, settings)
        else:
            async with new_client_session() as session:  # one-shot use (the CLI); the service shares its session
                client = Client(session, settings, context)
                status = await fetch(client, url, settings)
        return status_result(status, client, require_registration=require_registration, started=started)
    except ApiError as exc:
        return _failed(exc.reason, exc.detail, exc.answered, client, started)
    except (aiohttp.ClientError, OSError) as exc:  # CancelledError passes through to the runner
        reason, detail = client_error(exc)
        return _failed(reason, detail, False, client, started)


def _failed(reason: Reason, detail: str, answered: bool, client: Client | None, started: float) -> ProbeResult:
    values = {"up": 1.0 if answered else 0.0}
    info: dict[str, str] = {}
    if client is not None and client.server:
        info["server"] = client.server
    return ProbeResult.failure(
        reason,
        detail,
        duration=time.monotonic() - started,
        phases=client.timer.phases if client is not None else {},
        values=values,
        info=info,
    )
