"""SIP OPTIONS probe (RFC 3261 §11): is the endpoint there, and would it take a call now?

Target ``HOST[:PORT]`` (port 5060 when none is given), ``[IPv6][:PORT]``. One OPTIONS request per run, over
UDP (one connected socket per probe, so the kernel hands us only this peer's datagrams and reports an
ICMP port unreachable), TCP, or TLS. Over UDP the request is retransmitted as a non-INVITE client
transaction does (RFC 3261 §17.1.2.2): after T1, then doubling up to T2 = 4 s, until Timer F = 64·T1; the
runner's deadline usually ends it first (a silent peer is then TIMEOUT). Provisional (1xx) responses,
responses to other requests and malformed datagrams are ignored.

Values::

    up                 1 when a final response to our request arrived, else 0
    response_seconds   first transmission → final response (retransmissions included)
    sip_status_code    status of the final response

Phases (seconds): ``resolve``; ``connect`` and ``tls`` (tcp/tls); ``response`` (request → final response).

Info: ``address``, ``transport``, ``status`` ("486 Busy Here"), ``server`` / ``user_agent`` (headers, when
sent), ``retransmissions`` (udp), ``ignored`` (datagrams that were not a response to our request).

Success and reasons: 200 = ready (OK). 486, 600, 603 = alive but busy (ENDPOINT_BUSY, up 1). Any other final
response = alive, not ready (NOT_READY, up 1). No answer: NO_REPLY after Timer F or TIMEOUT from the runner
(up 0). REFUSED (ICMP port unreachable, or TCP RST), UNREACHABLE, RESET, RESOLVE_FAILED, BAD_TARGET,
TLS_* and PROTOCOL_ERROR (a stream peer that sent no usable response) are down too (up 0).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
import time
from typing import Any, Literal

from pydantic import Field, field_validator

from probes import tls as tls_info
from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.core.series import ENDPOINT_SERIES, Series
from probes.core.settings import Settings, split_host_port
from probes.core.units import Duration
from probes.sip.message import (
    MAX_MESSAGE,
    SipParseError,
    SipRequest,
    SipResponse,
    build_options,
    content_length,
    header_block_end,
    parse_response,
)
from probes.tcp import describe, os_error_reason

KIND = "sip"
DEFAULT_PORT = 5060
T2 = 4.0  # RFC 3261 §17.1.2.2: the longest retransmission interval of a non-INVITE request
BUSY_CODES = frozenset({486, 600, 603})  # Busy Here, Busy Everywhere, Decline: alive, in a call
_TLS_SHUTDOWN_SECONDS = 1.0
_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")  # RFC 3261 §25.1 user (unreserved / escaped / user-unreserved)

log = logging.getLogger(__name__)


SERIES = (
    *ENDPOINT_SERIES,
    Series("sip_status_code", "giaoban_endpoint_sip_status_code", "Status code of the SIP OPTIONS answer."),
)


class SipSettings(Settings):
    transport: Literal["udp", "tcp", "tls"] = "udp"
    request_user: str | None = Field(None, description="user part of the Request-URI (sip:USER@host), if any")
    from_user: str = Field("giaoban", description="user part of our From and Contact")
    t1: Duration = Field(0.5, gt=0, le=10, description="first UDP retransmission interval (RFC 3261 T1)")
    tls_verify: bool = Field(True, description="verify the certificate chain and host name (tls)")
    tls_server_name: str | None = Field(None, description="SNI and name to verify, if not the target host")
    ca_file: str | None = Field(None, description="PEM bundle of CAs to trust instead of the system's")

    @field_validator("request_user", "from_user")
    @classmethod
    def _sip_user(cls, value: str | None) -> str | None:
        if value is not None and not _USER.fullmatch(value):
            raise ValueError(f"{value!r} is not a SIP URI user part; use letters, digits and - _ . ! ~ * ' ( )")
        return value


class _Run:
    """What one probe run measured, whatever its outcome."""

    def __init__(self, transport: str) -> None:
        self.phases: dict[str, float] = {}
        self.info: dict[str, str] = {"transport": transport}
        self.retransmissions = 0
        self.ignored = 0
        self.sent_at = 0.0  # first transmission of the request


# --- UDP ----------------------------------------------------------------------------------------------------


class _UdpClient(asyncio.DatagramProtocol):
    """Receives for one request on a connected socket; ``answer`` gets the final response or the socket error."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.request: SipRequest | None = None
        self.answer: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self.provisional = False

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            response = parse_response(data)
        except SipParseError as exc:
            self.run.ignored += 1
            log.debug("sip: ignored a datagram from %s: %s", addr, exc)
            return
        if self.request is None or not response.matches(self.request):
            self.run.ignored += 1
            log.debug("sip: ignored a response from %s to another request (%s)", addr, response.call_id)
            return
        if response.status < 200:
            self.provisional = True
        elif not self.answer.done():
            self.answer.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # On a connected socket the kernel reports an ICMP port/host unreachable here (ECONNREFUSED, ...).
        if not self.answer.done() and isinstance(exc, OSError):
            self.answer.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        # None: we closed it after the result. An error: the socket failed while we were waiting.
        if exc is not None and not self.answer.done():
            self.answer.set_exception(exc)


async def _udp(run: _Run, address: tuple[str, int], family: int, settings: SipSettings) -> SipResponse | None:
    """Send and retransmit until a final response, Timer F, or a socket error (raised as OSError)."""
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(lambda: _UdpClient(run), remote_addr=address, family=family)
    try:
        local = transport.get_extra_info("sockname")
        request = build_options(
            transport="udp",
            local=(local[0], local[1]),
            remote=address,
            request_user=settings.request_user,
            from_user=settings.from_user,
        )
        client.request = request
        run.sent_at = time.monotonic()
        give_up = run.sent_at + 64 * settings.t1  # Timer F
        interval = settings.t1
        transport.sendto(request.data)
        while True:
            wait = min(interval, give_up - time.monotonic())
            if wait > 0:
                await asyncio.wait({client.answer}, timeout=wait)
            if client.answer.done():
                return client.answer.result()  # raises the socket's OSError
            if time.monotonic() >= give_up:
                return None
            transport.sendto(request.data)
            run.retransmissions += 1
            # After a provisional response the client retransmits every T2 (§17.1.2.2, "Proceeding").
            interval = T2 if client.provisional else min(interval * 2, T2)
    finally:
        transport.close()
        if client.answer.done() and not client.answer.cancelled():
            client.answer.exception()  # retrieved: a late socket error is not "never retrieved"


# --- TCP and TLS --------------------------------------------------------------------------------------------


class _Framer:
    """Splits a stream into SIP messages by Content-Length (RFC 3261 §18.3); keeps what was read ahead."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buffer = bytearray()

    async def _fill(self, why: str) -> None:
        chunk = await self.reader.read(4096)
        if not chunk:
            raise ProbeFailed(Reason.PROTOCOL_ERROR, why)
        self.buffer += chunk

    async def message(self) -> bytes:
        """The next message's start line and headers; its body is read and dropped."""
        while True:
            # RFC 5626 CRLF keep-alives may come between messages.
            del self.buffer[: len(self.buffer) - len(self.buffer.lstrip(b"\r\n"))]
            if (end := header_block_end(self.buffer)) >= 0:
                break
            if len(self.buffer) > MAX_MESSAGE:
                raise ProbeFailed(Reason.PROTOCOL_ERROR, f"no end of the SIP headers within {MAX_MESSAGE} bytes")
            await self._fill("the peer closed the connection without a final response")
        head = bytes(self.buffer[:end])
        try:
            length = content_length(head)
        except SipParseError as exc:
            raise ProbeFailed(Reason.PROTOCOL_ERROR, f"unusable SIP message: {exc}") from None
        if length > MAX_MESSAGE:
            raise ProbeFailed(Reason.PROTOCOL_ERROR, f"Content-Length {length} is larger than {MAX_MESSAGE}")
        while len(self.buffer) < end + length:
            await self._fill("the peer closed the connection inside a message body")
        del self.buffer[: end + length]
        return head


async def _stream(run: _Run, address: tuple[str, int], family: int, host: str, settings: SipSettings) -> SipResponse:
    loop = asyncio.get_running_loop()
    context: ssl.SSLContext | None = None
    server_name = settings.tls_server_name or host
    if settings.transport == "tls":
        try:
            context = await tls_info.client_context(verify=settings.tls_verify, ca_file=settings.ca_file)
        except OSError as exc:  # also ssl.SSLError: not a PEM bundle
            raise ProbeFailed(Reason.TLS_ERROR, tls_info.ca_file_problem(settings.ca_file, exc)) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    writer: asyncio.StreamWriter | None = None
    mark = time.monotonic()
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
        run.phases["connect"], mark = time.monotonic() - mark, time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(
                sock=sock,
                ssl=context,
                server_hostname=server_name if context else None,
                ssl_shutdown_timeout=_TLS_SHUTDOWN_SECONDS if context else None,
            )
        finally:
            if context is not None:
                run.phases["tls"] = time.monotonic() - mark
        local = sock.getsockname()
        request = build_options(
            transport=settings.transport,
            local=(local[0], local[1]),
            remote=address,
            request_user=settings.request_user,
            from_user=settings.from_user,
        )
        run.sent_at = time.monotonic()
        writer.write(request.data)
        await writer.drain()
        framer = _Framer(reader)
        while True:
            head = await framer.message()
            try:
                response = parse_response(head)
            except SipParseError as exc:  # a stream cannot be re-synchronised after garbage
                raise ProbeFailed(Reason.PROTOCOL_ERROR, f"not a SIP response: {exc}") from None
            if not response.matches(request):
                run.ignored += 1
            elif response.status >= 200:
                return response
    finally:
        if writer is not None:
            writer.transport.abort()  # the result is known; a lingering close would only hold the probe
        else:
            sock.close()


# --- the probe ----------------------------------------------------------------------------------------------


async def _resolve(host: str, port: int, kind: int) -> tuple[int, tuple[str, int]]:
    try:  # an address needs no lookup: loop.getaddrinfo would still cost a thread-pool round trip
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (socket.AF_INET6 if address.version == 6 else socket.AF_INET), (str(address), port)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=kind)
    except socket.gaierror as exc:
        raise ProbeFailed(Reason.RESOLVE_FAILED, f"cannot resolve {host}: {exc.strerror}") from None
    except UnicodeError:
        raise ProbeFailed(Reason.BAD_TARGET, f"{host!r} is not a valid host name") from None
    family, _, _, _, addr = infos[0]
    return family, (str(addr[0]), int(addr[1]))


def _final(response: SipResponse, run: _Run, duration: float, latency: float) -> ProbeResult:
    status = f"{response.status} {response.reason}".strip()
    info = dict(run.info, status=status)
    if server := response.header("server"):
        info["server"] = server
    if agent := response.header("user-agent"):
        info["user_agent"] = agent
    values = {"up": 1.0, "response_seconds": latency, "sip_status_code": float(response.status)}
    who = f" from {server or agent}" if server or agent else ""
    if response.status == 200:
        success, reason, detail = True, Reason.OK, f"{status}{who}"
    elif response.status in BUSY_CODES:
        success, reason, detail = False, Reason.ENDPOINT_BUSY, f"{status}{who}: the endpoint is busy (in a call)"
    else:
        success, reason, detail = False, Reason.NOT_READY, f"{status}{who}: alive, but would not take a call now"
    return ProbeResult(
        success=success, duration=duration, reason=reason, detail=detail, phases=run.phases, values=values, info=info
    )


def _down(reason: Reason, detail: str, run: _Run, duration: float) -> ProbeResult:
    return ProbeResult.failure(reason, detail, duration=duration, phases=run.phases, values={"up": 0.0}, info=run.info)


async def probe(target: str, settings: SipSettings, *, ctx: ProbeContext) -> ProbeResult:
    started = time.monotonic()
    run = _Run(settings.transport)
    try:
        host, port = split_host_port(target, default_port=DEFAULT_PORT)
    except ValueError as exc:
        return _down(Reason.BAD_TARGET, str(exc), run, time.monotonic() - started)
    udp = settings.transport == "udp"
    where = f"{target} ({settings.transport.upper()})"
    try:
        family, address = await _resolve(host, port, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        run.phases["resolve"] = time.monotonic() - started
        run.info["address"] = address[0]
        try:
            if udp:
                response = await _udp(run, address, family, settings)
            else:
                response = await _stream(run, address, family, host, settings)
        finally:
            if udp:
                run.info["retransmissions"] = str(run.retransmissions)
            if run.ignored:
                run.info["ignored"] = str(run.ignored)
        latency = time.monotonic() - run.sent_at
        run.phases["response"] = latency
    except ProbeFailed as exc:
        return _down(exc.reason, f"{where}: {exc.detail}", run, time.monotonic() - started)
    except ssl.SSLError as exc:
        reason, detail = tls_info.handshake_failure(exc, settings.tls_server_name or host)
        return _down(reason, detail, run, time.monotonic() - started)
    except OSError as exc:
        reason = os_error_reason(exc)
        hint = " (ICMP port unreachable: nothing listens there)" if udp and reason is Reason.REFUSED else ""
        return _down(reason, f"{where}: {describe(exc)}{hint}", run, time.monotonic() - started)
    if response is None:
        waited = 64 * settings.t1
        detail = f"{where}: no response in {waited:g}s ({run.retransmissions} retransmissions)"
        return _down(Reason.NO_REPLY, detail, run, time.monotonic() - started)
    return _final(response, run, time.monotonic() - started, latency)
