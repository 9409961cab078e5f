"""TCP connect probe: connect time, optional TLS handshake, optional send/expect (H.323 is a connect to 1720).

Target ``HOST:PORT`` or ``[IPv6]:PORT``. Every resolved address is tried in turn until one connects.

Phases (seconds)::

    resolve   name → addresses
    connect   TCP handshake (all attempts)
    tls       TLS handshake                                   (tls: true)
    expect    send, then read until ``expect`` matches         (send or expect)

Values::

    dns_lookup ip_protocol ip_addr_hash   of the address connected to, else the first resolved (probes/core/address.py)
    failed_due_to_regex  1 if ``expect`` did not match, else 0 (its default on /probe)
    tls_cert_expiry   notAfter of the peer's leaf certificate, unix time   (tls: true)
    tls_earliest_expiry tls_last_chain_expiry   and the TLS info of probes/tls_facts.py (tls: true)

Info: ``address`` (the address that answered), ``tls_version``.

Reasons: OK, BAD_TARGET, RESOLVE_FAILED, REFUSED, UNREACHABLE, RESET, PERMISSION (a local firewall),
TLS_EXPIRED, TLS_UNTRUSTED, TLS_HOSTNAME, TLS_ERROR, EXPECT_MISMATCH, REGEX_TIMEOUT; TIMEOUT comes from the runner.

``expect`` is searched (multi-line: ``^`` matches at each line; off the event loop, under the deadline: see
probes/core/patterns.py) in what the peer sent, read until it matches,
the peer closes, or 64 KiB have arrived. A peer that stays silent or keeps the connection open without ever
matching runs into the runner's deadline (TIMEOUT), as in blackbox_exporter; what arrived so far is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import socket
import ssl
import time

from pydantic import Field, field_validator

from probes import tls as tls_info
from probes import tls_facts
from probes.core.address import ADDRESS_SERIES, address_values
from probes.core.context import ProbeContext
from probes.core.patterns import REGEX_SERIES, check_pattern
from probes.core.patterns import search as pattern_search
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.core.settings import Settings, split_host_port

KIND = "tcp"
EXPECT_LIMIT = 64 * 1024  # bytes read while looking for ``expect``
_READ_SIZE = 4096
# The probe's result is final before the connection is closed; a peer that never answers our TLS
# close_notify must not hold the probe (or the event loop's cleanup) for asyncio's default 30 s.
_TLS_SHUTDOWN_SECONDS = 1.0
_ESCAPE = re.compile(r"\\(?:([rnt0\\])|x([0-9a-fA-F]{2}))")
_ESCAPED_CHARS = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}

log = logging.getLogger(__name__)

_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


SERIES = (*REGEX_SERIES, *ADDRESS_SERIES, *tls_info.TLS_SERIES)


class TcpSettings(Settings):
    tls: bool = Field(False, description="do a TLS handshake after connecting")
    tls_verify: bool = Field(True, description="verify the certificate chain and host name")
    tls_server_name: str | None = Field(None, description="SNI and name to verify, if not the target host")
    ca_file: str | None = Field(None, description="PEM bundle of CAs to trust instead of the system's")
    send: str | None = Field(None, description="text to send after connecting (\\r\\n escapes allowed)")
    expect: str | None = Field(None, description="regular expression the first reply must match")

    @field_validator("expect")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return value if value is None else check_pattern(value)  # in the engine that runs it (probes/core/patterns.py)


def unescape(text: str) -> bytes:
    r"""``\r``, ``\n``, ``\t``, ``\0``, ``\\`` and ``\xNN`` to bytes; the rest is sent as UTF-8."""
    out = bytearray()
    pos = 0
    for match in _ESCAPE.finditer(text):
        out += text[pos : match.start()].encode()
        out += _ESCAPED_CHARS[match.group(1)] if match.group(1) else bytes([int(match.group(2), 16)])
        pos = match.end()
    out += text[pos:].encode()
    return bytes(out)


def os_error_reason(exc: OSError) -> Reason:
    """Reason for an OS-level connection failure (shared with the HTTP probe)."""
    # asyncio raises some without an errno (ConnectionResetError("Connection lost")): check the class too.
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return Reason.REFUSED
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) or exc.errno in _RESET_ERRNOS:
        return Reason.RESET
    if exc.errno in (errno.EACCES, errno.EPERM):  # a local firewall rule rejected the connect
        return Reason.PERMISSION
    return Reason.UNREACHABLE  # ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, ...: the path to the peer is broken


def describe(exc: OSError) -> str:
    """The OS's words for an error ("Connection refused"), not asyncio's wrapper text."""
    return os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__


async def _resolve(host: str, port: int) -> list[tuple[int, tuple[object, ...]]]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ProbeFailed(Reason.RESOLVE_FAILED, f"cannot resolve {host}: {exc.strerror}") from None
    except UnicodeError:  # Python's IDNA encoding refuses it before any lookup
        raise ProbeFailed(
            Reason.BAD_TARGET, f"{host!r} is not a valid host name (labels of 1 to 63 characters)"
        ) from None
    return [(family, addr) for family, _, _, _, addr in infos]


async def _connect(host: str, port: int, addresses: list[tuple[int, tuple[object, ...]]]) -> socket.socket:
    """Connect to the first address that accepts; the caller owns the returned socket."""
    loop = asyncio.get_running_loop()
    last: OSError | None = None
    for family, addr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, addr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:  # cancelled by the runner's deadline: no socket may stay open
            sock.close()
            raise
        return sock
    assert last is not None  # getaddrinfo never returns an empty list
    where = ", ".join(str(addr[0]) for _, addr in addresses)
    raise ProbeFailed(os_error_reason(last), f"cannot connect to {host} port {port} ({where}): {describe(last)}")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: TcpSettings, target: str
) -> None:
    """Send, then read until ``expect`` matches."""
    if settings.send is not None:
        writer.write(unescape(settings.send))
        await writer.drain()
    if settings.expect is None:
        return
    received = bytearray()
    try:
        while len(received) < EXPECT_LIMIT:
            chunk = await reader.read(_READ_SIZE)
            if not chunk:
                break
            received += chunk
            if await pattern_search(settings.expect, received.decode("utf-8", "replace"), what="expect"):
                return
    except asyncio.CancelledError:
        log.info(
            "tcp %s: no match for %r before the deadline; received %r", target, settings.expect, bytes(received[:200])
        )
        raise
    text = received[:200].decode("utf-8", "replace")
    why = "the peer closed the connection" if len(received) < EXPECT_LIMIT else f"{EXPECT_LIMIT} bytes read"
    raise ProbeFailed(Reason.EXPECT_MISMATCH, f"no match for {settings.expect!r} before {why}; received {text!r}")


class _Connection:
    """What one probe run has opened and measured; closed in every path."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.values: dict[str, float] = {}
        self.info: dict[str, str] = {}
        self.sock: socket.socket | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self, *, graceful: bool) -> None:
        """Gracefully after a result; at once when cancelled, so no socket outlives the deadline."""
        if self.writer is None:
            if self.sock is not None:
                self.sock.close()  # not handed to a transport yet (or the transport already closed it)
            return
        if not graceful:
            self.writer.transport.abort()
            return
        self.writer.close()
        with contextlib.suppress(OSError):  # the peer dropped the connection first (also ssl.SSLError)
            await self.writer.wait_closed()


async def _run(conn: _Connection, host: str, port: int, settings: TcpSettings, target: str) -> None:
    mark = time.monotonic()
    addresses = await _resolve(host, port)
    conn.phases["resolve"], mark = time.monotonic() - mark, time.monotonic()
    conn.values |= address_values(str(addresses[0][1][0]), lookup=conn.phases["resolve"])
    conn.sock = await _connect(host, port, addresses)
    conn.phases["connect"], mark = time.monotonic() - mark, time.monotonic()
    conn.info["address"] = str(conn.sock.getpeername()[0])
    conn.values |= address_values(conn.info["address"], lookup=conn.phases["resolve"])
    if settings.tls:
        try:
            context = await tls_info.client_context(verify=settings.tls_verify, ca_file=settings.ca_file)
        except OSError as exc:  # also ssl.SSLError: not a PEM bundle
            raise ProbeFailed(Reason.TLS_ERROR, tls_info.ca_file_problem(settings.ca_file, exc)) from None
        mark = time.monotonic()  # a context is built once per process; that cost is not the peer's
        try:
            reader, conn.writer = await asyncio.open_connection(
                sock=conn.sock,
                ssl=context,
                server_hostname=settings.tls_server_name or host,
                ssl_shutdown_timeout=_TLS_SHUTDOWN_SECONDS,
            )
        finally:  # a rejected certificate still shows how long the handshake took
            conn.phases["tls"], mark = time.monotonic() - mark, time.monotonic()
        ssl_object = conn.writer.get_extra_info("ssl_object")
        if (expiry := tls_info.peer_cert_expiry(ssl_object)) is not None:
            conn.values["tls_cert_expiry"] = expiry
        if ssl_object is not None and (version := ssl_object.version()):
            conn.info["tls_version"] = version
        tls_values, tls_info_texts = tls_facts.facts(ssl_object)
        conn.values |= tls_values
        conn.info |= tls_info_texts
    else:
        reader, conn.writer = await asyncio.open_connection(sock=conn.sock)
    if settings.send is not None or settings.expect is not None:
        await _exchange(reader, conn.writer, settings, target)
        conn.phases["expect"] = time.monotonic() - mark


def _failure(exc: OSError | ProbeFailed, target: str, server_name: str) -> tuple[Reason, str]:
    """The one boundary where OS and TLS errors become reason codes."""
    if isinstance(exc, ProbeFailed):
        return exc.reason, exc.detail
    if isinstance(exc, ssl.SSLError):
        return tls_info.handshake_failure(exc, server_name)
    return os_error_reason(exc), f"connection to {target} failed: {describe(exc)}"


async def probe(target: str, settings: TcpSettings, *, ctx: ProbeContext) -> ProbeResult:
    started = time.monotonic()
    try:
        host, port = split_host_port(target)
    except ValueError as exc:
        return ProbeResult.failure(Reason.BAD_TARGET, str(exc), duration=time.monotonic() - started)
    conn = _Connection()
    result: ProbeResult | None = None
    try:
        await _run(conn, host, port, settings, target)
        result = ProbeResult(
            success=True, duration=time.monotonic() - started, phases=conn.phases, values=conn.values, info=conn.info
        )
    except (ProbeFailed, OSError) as exc:  # OSError includes ssl.SSLError; CancelledError passes through
        reason, detail = _failure(exc, target, settings.tls_server_name or host)
        if reason is Reason.EXPECT_MISMATCH:
            conn.values["failed_due_to_regex"] = 1.0
        result = ProbeResult.failure(
            reason, detail, duration=time.monotonic() - started, phases=conn.phases, values=conn.values, info=conn.info
        )
    finally:
        await conn.close(graceful=result is not None)
    return result
