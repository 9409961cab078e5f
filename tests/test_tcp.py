"""TCP probe against real local peers: connect, refused, reset, send/expect, TLS certificates, deadlines."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

import pytest

from probes import KINDS
from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.runner import run_probe
from probes.tcp import TcpSettings, probe, unescape
from tests.netlab import Lab
from tests.peers import LoopLag, free_port, require_program
from tests.tls_certs import Certs, RawServer

CTX = ProbeContext()


async def silent(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, never write (also never answers a ClientHello), notice the hang-up."""
    await server.until_hangup(reader)


async def smtp_like(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A banner, one command, one answer, then close: 221 to QUIT, 500 to anything else."""
    writer.write(b"220 giaoban-test ESMTP ready\r\n")
    await writer.drain()
    line = await reader.readline()
    if not line:
        server.hung_up.set()
        return
    writer.write(b"221 bye\r\n" if line.strip() == b"QUIT" else b"500 unknown command\r\n")
    await writer.drain()


async def backtracking(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """'aaaa…ab' and then silence, the connection left open: only the pattern's cost can end the probe early.

    Under one read (4096 bytes), so the probe never searches a prefix of bare a's, which would match.
    """
    writer.write(b"a" * 3000 + b"b")
    await writer.drain()
    await server.until_hangup(reader)


async def resets(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then drop the connection with a RST (SO_LINGER 0), like a crashed service."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize(
    ("handler", "options", "reason", "detail"),
    [
        pytest.param(silent, {}, Reason.OK, "", id="connect"),
        pytest.param(smtp_like, {"expect": "^220 "}, Reason.OK, "", id="banner-matches"),
        pytest.param(smtp_like, {"send": "QUIT\\r\\n", "expect": "^221 bye"}, Reason.OK, "", id="send-expect-matches"),
        pytest.param(
            smtp_like,
            {"send": "HELP\\r\\n", "expect": "^221"},
            Reason.EXPECT_MISMATCH,
            "500 unknown command",
            id="send-expect-mismatch",
        ),
        pytest.param(
            smtp_like, {"expect": "^SSH-2\\.0", "send": "QUIT\r\n"}, Reason.EXPECT_MISMATCH, "220", id="wrong-banner"
        ),
        pytest.param(resets, {"expect": "."}, Reason.RESET, "reset", id="reset-by-peer"),
        pytest.param(smtp_like, {"tls": True}, Reason.TLS_ERROR, "plain text", id="tls-to-plaintext-server"),
    ],
)
async def test_plain_peer(handler: Any, options: dict[str, Any], reason: Reason, detail: str) -> None:
    """What a plain peer does (answer, refuse the dialogue, reset, speak no TLS) is the reason reported."""
    async with RawServer(handler) as server:
        result = await probe(f"127.0.0.1:{server.port}", TcpSettings(**options), ctx=CTX)
    assert (result.reason, result.success) == (reason, reason is Reason.OK), result.detail
    assert detail in result.detail
    assert result.info["address"] == "127.0.0.1"
    assert {"resolve", "connect"} <= result.phases.keys()
    if reason is Reason.OK and "expect" in options:
        assert "expect" in result.phases


async def test_refused() -> None:
    """A port with no listener is REFUSED, the commonest 'service is down' on a live host."""
    result = await probe(f"127.0.0.1:{free_port()}", TcpSettings(), ctx=CTX)
    assert result.reason is Reason.REFUSED
    assert "Connection refused" in result.detail


@pytest.mark.parametrize(
    ("target", "reason", "detail"),
    [
        pytest.param("127.0.0.1", Reason.BAD_TARGET, "HOST:PORT", id="no-port"),
        pytest.param("[::1", Reason.BAD_TARGET, "missing ']'", id="unclosed-bracket"),
        pytest.param("127.0.0.1:99999", Reason.BAD_TARGET, "1 to 65535", id="port-out-of-range"),
        pytest.param("bad..name:80", Reason.BAD_TARGET, "not a valid host name", id="empty-label"),
        # glibc rejects a name with a space before asking DNS, so no query leaves the machine.
        pytest.param("no such host:80", Reason.RESOLVE_FAILED, "cannot resolve no such host", id="unresolvable"),
    ],
)
async def test_bad_target(target: str, reason: Reason, detail: str) -> None:
    """A target that cannot be probed says what to write instead of raising."""
    result = await probe(target, TcpSettings(), ctx=CTX)
    assert result.reason is reason
    assert detail in result.detail


async def test_ipv6_target() -> None:
    """A bracketed IPv6 target connects over IPv6."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    async with RawServer(silent, host="::1") as server:
        result = await probe(f"[::1]:{server.port}", TcpSettings(), ctx=CTX)
    assert result.success, result.detail
    assert result.info["address"] == "::1"


@pytest.mark.parametrize(
    ("cert", "host", "options", "reason", "expiry"),
    [
        pytest.param("valid", "127.0.0.1", {"ca_file": "CA"}, Reason.OK, "valid", id="trusted-ip"),
        pytest.param("valid", "localhost", {"ca_file": "CA"}, Reason.OK, "valid", id="trusted-name"),
        pytest.param("valid", "127.0.0.1", {}, Reason.TLS_UNTRUSTED, None, id="ca-not-in-system-store"),
        pytest.param("self_signed", "127.0.0.1", {"ca_file": "CA"}, Reason.TLS_UNTRUSTED, None, id="self-signed"),
        pytest.param(
            "self_signed", "127.0.0.1", {"tls_verify": False}, Reason.OK, "self_signed", id="self-signed-unverified"
        ),
        pytest.param("expired", "127.0.0.1", {"ca_file": "CA"}, Reason.TLS_EXPIRED, None, id="expired"),
        pytest.param(
            "valid",
            "127.0.0.1",
            {"ca_file": "CA", "tls_server_name": "other.example"},
            Reason.TLS_HOSTNAME,
            None,
            id="server-name-not-in-cert",
        ),
        pytest.param("wrong_name", "127.0.0.1", {"ca_file": "CA"}, Reason.TLS_HOSTNAME, None, id="ip-not-in-cert"),
        pytest.param(
            "wrong_name",
            "127.0.0.1",
            {"ca_file": "CA", "tls_server_name": "other.example"},
            Reason.OK,
            "valid",
            id="server-name-overrides-host",
        ),
        pytest.param(
            "valid", "127.0.0.1", {"ca_file": "/nonexistent/ca.pem"}, Reason.TLS_ERROR, None, id="ca-file-missing"
        ),
    ],
)
async def test_tls(
    certs: Certs, *, cert: str, host: str, options: dict[str, Any], reason: Reason, expiry: str | None
) -> None:
    """Each certificate problem gets its own reason, and a verified or unverified handshake reports the expiry."""
    if options.get("ca_file") == "CA":
        options = {**options, "ca_file": str(certs.ca_file)}
    async with RawServer(silent, ssl_context=getattr(certs, cert)) as server:
        result = await probe(f"{host}:{server.port}", TcpSettings(tls=True, **options), ctx=CTX)
    assert (result.reason, result.success) == (reason, reason is Reason.OK), result.detail
    if expiry is None:
        assert "tls_cert_expiry" not in result.values
    else:
        assert result.values["tls_cert_expiry"] == getattr(certs, f"{expiry}_not_after")
        assert result.info["tls_version"].startswith("TLS")
        assert "tls" in result.phases
    if reason is Reason.TLS_ERROR:
        assert "cannot load ca_file /nonexistent/ca.pem" in result.detail


async def test_tls_detail_names_the_fix(certs: Certs) -> None:
    """An untrusted certificate's detail tells the operator what to configure."""
    async with RawServer(silent, ssl_context=certs.self_signed) as server:
        result = await probe(f"127.0.0.1:{server.port}", TcpSettings(tls=True), ctx=CTX)
    assert result.reason is Reason.TLS_UNTRUSTED
    assert "self-signed" in result.detail
    assert "ca_file" in result.detail


@pytest.mark.parametrize(
    ("options", "use_tls"),
    [
        pytest.param({"expect": "^220"}, False, id="silent-peer-with-expect"),
        pytest.param({"tls": True}, False, id="stalled-tls-handshake"),
        pytest.param({"tls": True, "tls_verify": False, "expect": "^220"}, True, id="silent-peer-after-tls"),
    ],
)
async def test_deadline_leaves_no_connection(certs: Certs, options: dict[str, Any], use_tls: bool) -> None:
    """The runner's deadline ends a stuck probe as TIMEOUT and the peer sees the connection closed."""
    async with RawServer(silent, ssl_context=certs.valid if use_tls else None) as server:
        result = await run_probe(KINDS["tcp"], f"127.0.0.1:{server.port}", TcpSettings(**options), ctx=CTX, timeout=0.5)
        assert result.reason is Reason.TIMEOUT
        await asyncio.wait_for(server.hung_up.wait(), 5)


async def test_through_runner_and_registry() -> None:
    """The registry's tcp kind is this probe, so the scheduler and /probe reach it."""
    async with RawServer(smtp_like) as server:
        result = await run_probe(
            KINDS["tcp"], f"127.0.0.1:{server.port}", TcpSettings(expect="^220"), ctx=CTX, timeout=5
        )
    assert result.success, result.detail


# A port in the namespace that answers a SYN with ICMP host-unreachable, as a router does for a dead site.
_REJECT = """table inet giaoban_tcp_test {{
  chain in {{
    type filter hook input priority 0; policy accept;
    tcp dport {port} reject with icmp type host-unreachable
  }}
}}
"""


@pytest.mark.root
async def test_link_faults_in_a_namespace() -> None:
    """A dead site behind a router is UNREACHABLE, a silent one runs into the deadline, a closed port is REFUSED."""
    nft = require_program("nft")
    with Lab() as lab:
        site = lab.add_site("tcp")
        lab.run(site, nft, "-f", "-", stdin=_REJECT.format(port=9))
        unreachable = await probe(f"{site.ns_addr}:9", TcpSettings(), ctx=CTX)
        refused = await probe(f"{site.ns_addr}:10", TcpSettings(), ctx=CTX)
        silent = await run_probe(KINDS["tcp"], f"{site.void_addr}:80", TcpSettings(), ctx=CTX, timeout=0.5)
    assert (unreachable.reason, refused.reason, silent.reason) == (Reason.UNREACHABLE, Reason.REFUSED, Reason.TIMEOUT)
    assert "No route to host" in unreachable.detail


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        pytest.param("QUIT\\r\\n", b"QUIT\r\n", id="crlf"),
        pytest.param("a\\tb\\\\n", b"a\tb\\n", id="tab-and-escaped-backslash"),
        pytest.param("\\x00\\xff", b"\x00\xff", id="hex-bytes"),
        pytest.param("xin chào\r\n", "xin chào\r\n".encode(), id="utf8-and-real-crlf"),
        pytest.param("\\d", b"\\d", id="unknown-escape-kept"),
    ],
)
def test_unescape(text: str, wire: bytes) -> None:
    """``send`` written in YAML or on the command line reaches the wire as the operator meant."""
    assert unescape(text) == wire


async def test_backtracking_expect_is_bounded_by_the_deadline() -> None:
    """An expect pattern that backtracks without end fails by the deadline, the event loop free meanwhile (issue 13)."""
    async with RawServer(backtracking) as server, LoopLag() as lag:
        started = time.monotonic()
        result = await run_probe(
            KINDS["tcp"], f"127.0.0.1:{server.port}", TcpSettings(expect="(a|aa)+$"), ctx=CTX, timeout=1.0
        )
        elapsed = time.monotonic() - started
    assert result.reason is Reason.REGEX_TIMEOUT, result.detail
    assert "expect '(a|aa)+$' did not finish" in result.detail
    assert elapsed < 1.3, elapsed
    assert lag.worst < 0.1, f"the event loop was blocked {lag.worst:.3f}s"
