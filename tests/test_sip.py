"""SIP OPTIONS probe against a real kamailio (200, 486, 603, 503, 1xx, silence; UDP and TCP) and local responders."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import cast

import pydantic
import pytest

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.runner import run_probe
from probes.sip import probe as sip
from probes.sip.message import build_options
from tests.kamailio_lab import SERVER_HEADER, Kamailio, kamailio
from tests.peers import free_port
from tests.tls_certs import Certs, RawServer

CTX = ProbeContext()


@pytest.fixture(scope="module")
def kam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    with kamailio(tmp_path_factory.mktemp("kamailio")) as peer:
        yield peer


KIND = ProbeKind(sip.KIND, sip.SipSettings, sip.probe, default_port=sip.DEFAULT_PORT)


async def _run(target: str, timeout: float = 5.0, **settings: object) -> ProbeResult:
    """Through the runner, as the scheduler calls it: its deadline is the only one."""
    return await run_probe(KIND, target, sip.SipSettings.model_validate(settings), ctx=CTX, timeout=timeout)


# --- against kamailio ---------------------------------------------------------------------------------------

KAMAILIO_CASES = [
    # (id, transport, request user, (status, success, reason))
    ("udp-200", "udp", None, (200, True, Reason.OK)),
    ("udp-486-busy", "udp", "busy", (486, False, Reason.ENDPOINT_BUSY)),
    ("udp-603-decline", "udp", "decline", (603, False, Reason.ENDPOINT_BUSY)),
    ("udp-503-not-ready", "udp", "unavailable", (503, False, Reason.NOT_READY)),
    ("udp-180-then-200", "udp", "ringing", (200, True, Reason.OK)),
    ("tcp-200", "tcp", None, (200, True, Reason.OK)),
    ("tcp-486-busy", "tcp", "busy", (486, False, Reason.ENDPOINT_BUSY)),
    ("tcp-503-not-ready", "tcp", "unavailable", (503, False, Reason.NOT_READY)),
    ("tcp-180-then-200", "tcp", "ringing", (200, True, Reason.OK)),
]


@pytest.mark.parametrize(
    ("transport", "user", "expected"),
    [case[1:] for case in KAMAILIO_CASES],
    ids=[case[0] for case in KAMAILIO_CASES],
)
async def test_kamailio_answers(
    kam: Kamailio, transport: str, user: str | None, expected: tuple[int, bool, Reason]
) -> None:
    """Each final status maps to ready / busy / alive-not-ready, with latency and the Server header recorded."""
    status, success, reason = expected
    result = await _run(kam.target(), transport=transport, request_user=user)
    assert (result.success, result.reason) == (success, reason), result.detail
    assert result.values["up"] == 1.0
    assert result.values["sip_status_code"] == status
    assert 0 < result.values["response_seconds"] < 5
    assert result.info["server"] == SERVER_HEADER
    assert result.info["transport"] == transport
    assert result.info["status"].startswith(str(status))
    if transport == "tcp":
        assert "connect" in result.phases


async def test_kamailio_silent_route_times_out(kam: Kamailio) -> None:
    """A peer that drops our OPTIONS is down: the runner's deadline ends the retransmissions as TIMEOUT."""
    result = await _run(kam.target(), timeout=1.2, request_user="silent", t1="0.1s")
    assert not result.success
    assert result.reason is Reason.TIMEOUT


async def test_kamailio_silent_until_timer_f(kam: Kamailio) -> None:
    """With a short T1, Timer F (64·T1) ends the transaction first: NO_REPLY, up 0, retransmissions counted."""
    result = await _run(kam.target(), timeout=5, request_user="silent", t1="10ms")
    assert (result.success, result.reason) == (False, Reason.NO_REPLY), result.detail
    assert result.values == {"up": 0.0}
    # At 10, 30, 70, 150, 310, 630 ms: six fit in Timer F's 640 ms; a busy machine may lose the last ones.
    assert int(result.info["retransmissions"]) >= 4


# --- no listener --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_no_listener_is_refused(transport: str) -> None:
    """Nothing on the port: ICMP port unreachable (UDP) or RST (TCP) says down at once, not after the deadline."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    result = await _run(f"127.0.0.1:{free_port(kind)}", transport=transport)
    assert (result.success, result.reason) == (False, Reason.REFUSED), result.detail
    assert result.values == {"up": 0.0}


class _Responder(asyncio.DatagramProtocol):
    """A UDP peer on 127.0.0.1 that records requests and answers with what ``reply`` makes of each."""

    def __init__(self, reply: Callable[[bytes], list[bytes]]) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests.append(data)
        assert self.transport is not None
        for datagram in self.reply(data):
            self.transport.sendto(datagram, addr)


@contextlib.asynccontextmanager
async def udp_responder(reply: Callable[[bytes], list[bytes]]) -> AsyncIterator[tuple[_Responder, int]]:
    """The responder and its port, closed on exit."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: _Responder(reply), local_addr=("127.0.0.1", 0))
    try:
        yield proto, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


def _headers(request: bytes) -> dict[str, str]:
    lines = request.decode().split("\r\n")
    return {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:] if line)}


def answer(
    request: bytes,
    status: str = "200 OK",
    *,
    branch: str | None = None,
    call_id: str | None = None,
    cseq: str | None = None,
    extra: str = "",
    body: bytes = b"",
) -> bytes:
    """A response to ``request`` as a UA builds it (RFC 3261 §8.2.6), with fields to spoil one at a time."""
    head = _headers(request)
    via = head["via"] if branch is None else re.sub(r"branch=[^;]+", f"branch={branch}", head["via"])
    lines = [
        f"SIP/2.0 {status}",
        f"Via: {via};received=127.0.0.1",
        f"From: {head['from']}",
        f"To: {head['to']};tag=lab",
        f"Call-ID: {call_id or head['call-id']}",
        f"CSeq: {cseq or head['cseq']}",
        *([extra] if extra else []),
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_request_is_well_formed() -> None:
    """The request carries what RFC 3261 §8.1.1 requires, so real endpoints answer it rather than drop it."""
    async with udp_responder(lambda data: [answer(data, extra="User-Agent: PolyLab/1.0")]) as (peer, port):
        result = await _run(f"127.0.0.1:{port}", request_user="room1")
    assert result.success, result.detail
    assert result.info["user_agent"] == "PolyLab/1.0"
    request = peer.requests[0].decode()
    start, *_ = request.split("\r\n")
    head = _headers(peer.requests[0])
    assert start == f"OPTIONS sip:room1@127.0.0.1:{port} SIP/2.0"
    assert re.fullmatch(r"SIP/2\.0/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]{16};rport", head["via"])
    assert re.fullmatch(r"<sip:giaoban@127\.0\.0\.1>;tag=[0-9a-f]{16}", head["from"])
    assert head["to"] == f"<sip:room1@127.0.0.1:{port}>"
    assert head["cseq"] == "1 OPTIONS"
    assert head["max-forwards"] == "70"
    assert head["content-length"] == "0"
    assert head["call-id"]
    assert request.endswith("\r\n\r\n")


async def test_stray_and_malformed_datagrams_are_ignored() -> None:
    """Garbage, replies to other requests and 1xx must not be taken as the answer, nor break the probe."""

    def reply(data: bytes) -> list[bytes]:
        return [
            b"\x00\xff garbage",
            b"SIP/2.0 200 OK\r\nVia: broken\r\n\r\n",  # no Call-ID or CSeq
            answer(data, "200 OK", branch="z9hG4bKother"),
            answer(data, "200 OK", call_id="someone-else@host"),
            answer(data, "200 OK", cseq="2 OPTIONS"),
            answer(data, "200 OK", cseq="1 INVITE"),
            answer(data, "100 Trying"),
            answer(data, "486 Busy Here"),
        ]

    async with udp_responder(reply) as (_, port):
        result = await _run(f"127.0.0.1:{port}")
    assert (result.success, result.reason) == (False, Reason.ENDPOINT_BUSY), result.detail
    assert result.values["sip_status_code"] == 486
    assert result.info["ignored"] == "6"


async def test_retransmissions_are_identical_and_a_late_answer_counts() -> None:
    """A lost request is sent again unchanged (same branch), and the answer to a retransmission matches."""
    seen: list[bytes] = []

    def reply(data: bytes) -> list[bytes]:
        seen.append(data)
        return [answer(data)] if len(seen) == 3 else []  # the first two copies are "lost"

    async with udp_responder(reply) as (_, port):
        result = await _run(f"127.0.0.1:{port}", t1="20ms")
    assert result.success, result.detail
    assert int(result.info["retransmissions"]) >= 2  # exactly 2 unless the answer is slower than T1·4
    assert len(set(seen)) == 1  # every copy byte for byte the same: same branch, same transaction


async def test_silent_udp_peer_times_out() -> None:
    """A bound socket that never answers (a firewall that drops) is down with TIMEOUT from the runner."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        result = await _run(f"127.0.0.1:{sink.getsockname()[1]}", timeout=0.8)
    assert (result.success, result.reason) == (False, Reason.TIMEOUT)


# --- TCP and TLS against raw servers ------------------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _stream_handler(make: Callable[[bytes], bytes], *, close: bool = False) -> Callable[..., object]:
    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        writer.write(make(request))
        await writer.drain()
        if not close:
            await server.until_hangup(reader)

    return handler


_BROKEN = (False, Reason.PROTOCOL_ERROR, 0.0)
STREAM_CASES: list[tuple[str, Callable[[bytes], bytes], tuple[bool, Reason, float]]] = [
    # (id, what the server writes, (success, reason, up))
    ("keepalive-body-then-200", lambda r: b"\r\n\r\n" + answer(r, body=b"v=0\r\n"), (True, Reason.OK, 1.0)),
    ("100-then-200", lambda r: answer(r, "100 Trying") + answer(r), (True, Reason.OK, 1.0)),
    ("http-not-sip", lambda r: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", _BROKEN),
    ("no-content-length", lambda r: answer(r).replace(b"Content-Length: 0\r\n", b""), _BROKEN),
    ("closed-without-answer", lambda r: b"", _BROKEN),
    ("closed-inside-body", lambda r: answer(r).replace(b"Content-Length: 0", b"Content-Length: 50"), _BROKEN),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in STREAM_CASES], ids=[c[0] for c in STREAM_CASES])
async def test_tcp_framing(make: Callable[[bytes], bytes], expected: tuple[bool, Reason, float]) -> None:
    """Over a stream a response is framed by Content-Length; anything unusable is a protocol error, not a hang."""
    success, reason, up = expected
    async with RawServer(_stream_handler(make, close=True)) as server:  # type: ignore[arg-type]
        result = await _run(f"127.0.0.1:{server.port}", transport="tcp")
    assert (result.success, result.reason) == (success, reason), result.detail
    assert result.values["up"] == up


async def test_tls_transport(certs: Certs) -> None:
    """SIP over TLS: the handshake is timed apart and the Via says TLS."""
    requests: list[bytes] = []

    def make(request: bytes) -> bytes:
        requests.append(request)
        return answer(request)

    async with RawServer(_stream_handler(make), ssl_context=certs.valid) as server:  # type: ignore[arg-type]
        result = await _run(f"127.0.0.1:{server.port}", transport="tls", ca_file=str(certs.ca_file))
    assert result.success, result.detail
    assert {"connect", "tls", "response"} <= set(result.phases)
    assert b"Via: SIP/2.0/TLS 127.0.0.1:" in requests[0]
    assert b";transport=tls SIP/2.0\r\n" in requests[0]


async def test_tls_untrusted_certificate(certs: Certs) -> None:
    """A self-signed certificate is reported as untrusted (down), with what to do about it."""
    async with RawServer(_stream_handler(answer), ssl_context=certs.self_signed) as server:  # type: ignore[arg-type]
        result = await _run(f"127.0.0.1:{server.port}", transport="tls", ca_file=str(certs.ca_file))
    assert (result.success, result.reason) == (False, Reason.TLS_UNTRUSTED), result.detail
    assert result.values["up"] == 0.0


# --- targets and settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["127.0.0.1:0", "127.0.0.1:99999", "[::1", "host name:5060"])
async def test_bad_target(target: str) -> None:
    """A target that cannot be probed says what to write instead; it is not a crash."""
    result = await _run(target)
    assert result.reason in (Reason.BAD_TARGET, Reason.RESOLVE_FAILED), result.detail
    assert not result.success


@pytest.mark.parametrize("field", ["request_user", "from_user"])
@pytest.mark.parametrize("value", ["a@b", "with space", "x\r\nVia: injected"])
def test_uri_users_are_validated(field: str, value: str) -> None:
    """A user part that would break the Request-URI or inject a header is a config error."""
    with pytest.raises(pydantic.ValidationError):
        sip.SipSettings.model_validate({field: value})


def test_settings_do_not_clash_with_endpoint_fields() -> None:
    """Endpoint fields (id, port, interval, timeout...) are not settings, so sip settings mix into the endpoint."""
    reserved = {"id", "kind", "address", "port", "interval", "timeout", "call_rate"}
    assert not reserved & set(sip.SipSettings.model_fields)


async def test_deadline_closes_the_tcp_connection() -> None:
    """A TCP peer that accepts and never answers: TIMEOUT from the runner, and our side of the connection is closed."""

    async def silent(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.until_hangup(reader)

    async with RawServer(silent) as server:
        result = await _run(f"127.0.0.1:{server.port}", timeout=0.5, transport="tcp")
        await asyncio.wait_for(server.hung_up.wait(), 5)
    assert (result.success, result.reason) == (False, Reason.TIMEOUT)


def test_ipv6_addresses_are_bracketed() -> None:
    """Over IPv6 the Via sent-by and the URIs carry [brackets] (RFC 3261 §25.1), or a peer cannot parse them."""
    request = build_options(
        transport="udp", local=("2001:db8::1", 40000), remote=("2001:db8::2", 5060), request_user=None, from_user="g"
    )
    text = request.data.decode()
    assert text.startswith("OPTIONS sip:[2001:db8::2]:5060 SIP/2.0\r\n")
    assert f"Via: SIP/2.0/UDP [2001:db8::1]:40000;branch={request.branch};rport\r\n" in text
    assert "From: <sip:g@[2001:db8::1]>;tag=" in text
