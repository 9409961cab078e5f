"""blackbox_exporter's facts in giaoban's results: address, HTTP, regex and TLS values, against real local servers.

The same facts are compared with the real blackbox_exporter through Prometheus in
tests/conformance/test_blackbox_parity.py; these cases pin each one down on its own, failures included.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.x509.oid import NameOID

from probes.core.address import address_values, fnv1a_32
from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.http import HttpSettings
from probes.http import probe as http_probe
from probes.tcp import TcpSettings
from probes.tcp import probe as tcp_probe
from probes.tls_facts import go_name
from tests.peers import free_port
from tests.tls_certs import Certs, Chain, RawServer, make_chain

pytestmark = pytest.mark.timeout(60)

# What the real blackbox_exporter 0.23.0 wrote for 127.0.0.1 (prober/utils.go ipHash), seen on its /probe.
BLACKBOX_HASH_127_0_0_1 = 3668918509.0
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("chain"))


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="hello giaoban")


async def _modified(request: web.Request) -> web.Response:
    return web.Response(text="old news", headers={"Last-Modified": request.query.get("at", LAST_MODIFIED)})


async def _chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"x" * 1000)
    await response.write_eof()
    return response


async def _to_ok(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


@contextlib.asynccontextmanager
async def serve(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/modified", _modified)
    app.router.add_get("/chunked", _chunked)
    app.router.add_get("/to-ok", _to_ok)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


def test_address_hash_is_blackboxs() -> None:
    """The hash of an address is the number blackbox writes for it, so dashboards built on it carry over."""
    assert address_values("127.0.0.1", lookup=0.0) == {
        "dns_lookup": 0.0,
        "ip_protocol": 4.0,
        "ip_addr_hash": BLACKBOX_HASH_127_0_0_1,
    }
    assert address_values("::ffff:127.0.0.1", lookup=0.0)["ip_addr_hash"] == BLACKBOX_HASH_127_0_0_1  # Go's To4()
    six = address_values("fe80::1%lo", lookup=0.25)  # the zone is no part of the address's 16 bytes
    assert six == {
        "dns_lookup": 0.25,
        "ip_protocol": 6.0,
        "ip_addr_hash": float(fnv1a_32(b"\xfe\x80" + 13 * b"\0" + b"\1")),
    }


@pytest.mark.parametrize(
    ("path", "options", "expected"),
    [
        pytest.param(
            "/ok",
            {},
            {
                "status_code": 200,
                "declared_length": 13,
                "content_length": 13,
                "redirects": 0,
                "ssl": 0,
                "http_version_number": 1.1,
                "failed_due_to_regex": 0,
                "ip_protocol": 4,
                "ip_addr_hash": BLACKBOX_HASH_127_0_0_1,
                "dns_lookup": 0,  # an IP literal is not looked up
            },
            id="plain",
        ),
        pytest.param("/chunked", {}, {"declared_length": -1, "content_length": 1000}, id="no-content-length"),
        pytest.param("/to-ok", {}, {"redirects": 1, "declared_length": 13}, id="redirected"),
        pytest.param("/modified", {}, {"last_modified": 1445412480}, id="last-modified"),
        pytest.param("/modified?at=yesterday", {}, {"last_modified": None}, id="last-modified-not-a-date"),
        pytest.param("/ok", {"body_regex": ["^bye"]}, {"failed_due_to_regex": 1}, id="regex-failed"),
        pytest.param("/ok", {"body_not_regex": ["giaoban"]}, {"failed_due_to_regex": 1}, id="not-regex-failed"),
        pytest.param("/ok", {"valid_status_codes": [204]}, {"failed_due_to_regex": 0}, id="status-is-no-regex"),
    ],
)
async def test_http_values(ctx: ProbeContext, path: str, options: dict[str, Any], expected: dict[str, Any]) -> None:
    """blackbox's http facts with its semantics: the header's length, the bytes read, the first hop's address."""
    async with serve() as base:
        result = await http_probe(base + path, HttpSettings(**options), ctx=ctx)
    assert {key: result.values.get(key) for key in expected} == expected, result.detail


async def test_http_name_is_looked_up_and_the_connected_address_counts(ctx: ProbeContext) -> None:
    """localhost resolves to ::1 and 127.0.0.1; the server listens on the latter, which is the address reported."""
    async with serve() as base:
        result = await http_probe(base.replace("127.0.0.1", "localhost") + "/ok", HttpSettings(), ctx=ctx)
    assert result.success, result.detail
    assert (result.values["ip_protocol"], result.values["ip_addr_hash"]) == (4, BLACKBOX_HASH_127_0_0_1)
    assert result.values["dns_lookup"] > 0


async def test_http_refused_still_knows_the_address(ctx: ProbeContext) -> None:
    """blackbox resolves before it connects: a refused connection still has its address facts, and no status."""
    result = await http_probe(f"http://127.0.0.1:{free_port()}/", HttpSettings(), ctx=ctx)
    assert result.reason is Reason.REFUSED
    assert result.values == {"dns_lookup": 0.0, "ip_protocol": 4.0, "ip_addr_hash": BLACKBOX_HASH_127_0_0_1}


def _leaf_fingerprint(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


async def test_https_chain_facts(ctx: ProbeContext, chain: Chain) -> None:
    """The presented chain's earliest expiry, the verified chain's (root included), and the leaf's labels."""
    async with serve(chain.server) as base:
        result = await http_probe(base + "/ok", HttpSettings(ca_file=str(chain.ca_file)), ctx=ctx)
        fingerprint = await asyncio.to_thread(_leaf_fingerprint, int(base.rsplit(":", 1)[1]))
    assert result.success, result.detail
    values, info = result.values, result.info
    assert values["ssl"] == 1
    assert values["tls_cert_expiry"] == chain.leaf_not_after  # giaoban's own: the leaf
    assert values["tls_earliest_expiry"] == chain.intermediate_not_after  # the server sent leaf + intermediate
    assert values["tls_last_chain_expiry"] == chain.root_not_after
    assert info["tls_fingerprint_sha256"] == fingerprint == hashlib.sha256(chain.leaf_der).hexdigest()
    assert info["tls_subject"] == (
        r"CN=cong-thong-tin.example,OU=Sở KH&CN+OU=TSLCD,O=UBND\, tỉnh Thái Nguyên,ST=Thái Nguyên,C=VN,"
        "1.2.840.113549.1.9.1=#0c1161646d696e406578616d706c652e6f7267"
    )
    assert info["tls_issuer"] == "CN=giaoban test intermediate"
    assert info["tls_subject_alternative"] == "localhost,cong-thong-tin.example"  # DNS names only, as blackbox
    assert info["tls_version_name"] in ("TLS 1.2", "TLS 1.3")


async def test_unverified_https_has_no_verified_chain(ctx: ProbeContext, certs: Certs) -> None:
    """Without verification there is no verified chain: its expiry is left out (blackbox writes year 1)."""
    async with serve(certs.self_signed) as base:
        result = await http_probe(base + "/ok", HttpSettings(tls_verify=False), ctx=ctx)
    assert result.success, result.detail
    assert result.values["tls_earliest_expiry"] == certs.self_signed_not_after
    assert "tls_last_chain_expiry" not in result.values


async def _banner(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Says hello and hangs up, so a pattern that does not match is known not to at once."""
    writer.write(b"220 ready\r\n")
    await writer.drain()


@pytest.mark.parametrize(
    ("options", "reason", "failed"),
    [
        pytest.param({"expect": "^220"}, Reason.OK, None, id="expect-matched"),
        pytest.param({"expect": "^554"}, Reason.EXPECT_MISMATCH, 1.0, id="expect-failed"),
    ],
)
async def test_tcp_values(ctx: ProbeContext, options: dict[str, Any], reason: Reason, failed: float | None) -> None:
    """tcp: the address facts, and failed_due_to_regex when expect did not match (0 on /probe by default)."""
    async with RawServer(_banner) as server:
        result = await tcp_probe(f"127.0.0.1:{server.port}", TcpSettings(**options), ctx=ctx)
    assert result.reason is reason, result.detail
    assert result.values.get("failed_due_to_regex") == failed
    assert result.values["ip_addr_hash"] == BLACKBOX_HASH_127_0_0_1


async def test_tcp_tls_chain_facts(ctx: ProbeContext, chain: Chain) -> None:
    """tcp with tls reads the same chain facts as https."""
    async with RawServer(_banner, ssl_context=chain.server) as server:
        settings = TcpSettings(tls=True, ca_file=str(chain.ca_file), tls_server_name="localhost", expect="^220")
        result = await tcp_probe(f"127.0.0.1:{server.port}", settings, ctx=ctx)
    assert result.success, result.detail
    assert result.values["tls_earliest_expiry"] == chain.intermediate_not_after
    assert result.values["tls_last_chain_expiry"] == chain.root_not_after
    assert result.info["tls_fingerprint_sha256"] == hashlib.sha256(chain.leaf_der).hexdigest()


def _n(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


@pytest.mark.parametrize(
    ("name", "written"),
    [
        pytest.param(
            _n((NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, "UBND"), (NameOID.COMMON_NAME, "portal")),
            "CN=portal,O=UBND,C=VN",
            id="usual-order",
        ),
        pytest.param(
            _n((NameOID.COMMON_NAME, "portal"), (NameOID.COUNTRY_NAME, "VN")),
            "CN=portal,C=VN",
            id="go-order-not-the-certificates",
        ),
        pytest.param(_n((NameOID.COMMON_NAME, "a,b;c")), r"CN=a\,b\;c", id="escaped"),
        pytest.param(_n((NameOID.COMMON_NAME, " #x ")), r"CN=\ #x\ ", id="edge-spaces"),
        pytest.param(_n((NameOID.COMMON_NAME, "#x")), r"CN=\#x", id="leading-hash"),
        pytest.param(_n((NameOID.COMMON_NAME, "old"), (NameOID.COMMON_NAME, "new")), "CN=new", id="last-cn-wins"),
        pytest.param(
            _n((NameOID.COMMON_NAME, "x"), (NameOID.DOMAIN_COMPONENT, "example")),
            "CN=x,0.9.2342.19200300.100.1.25=#1307six".replace("six", b"example".hex()),
            id="unknown-oid-printable",
        ),
        pytest.param(_n((NameOID.COMMON_NAME, "Ủy ban nhân dân")), "CN=Ủy ban nhân dân", id="vietnamese"),
    ],
)
def test_go_name(name: x509.Name, written: str) -> None:
    """Certificate names are written as Go's pkix.Name.String() does, so probe_ssl_last_chain_info's labels match."""
    assert go_name(name) == written


def test_chain_files_are_where_they_say(chain: Chain) -> None:
    """The root alone is the trust anchor: the intermediate has to come from the server."""
    roots = x509.load_pem_x509_certificates(Path(chain.ca_file).read_bytes())
    assert [cert.subject.rfc4514_string() for cert in roots] == ["CN=giaoban test root,O=giaoban test"]
