"""Local TLS/TCP peers for the probe tests: throw-away certificates and a raw asyncio server.

Certificates: a trustme CA with valid, expired and wrong-name leaves, and a self-signed one. Every server
certificate names 127.0.0.1 and localhost (except ``wrong_name``), so a failure is about the one property the
case varies. Clients trust ``ca_file`` (the trustme CA) only.

``make_chain``: root → intermediate → leaf, each expiring at its own time (root first, leaf last) and a leaf
subject with everything Go's name writer treats specially, for blackbox_exporter's probe_ssl_* series.

``RawServer``: a plain or TLS server on a free 127.0.0.1 port that runs a handler per connection and records
when the client hung up, so a test can prove that a cancelled probe left no connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.demo.portal import self_signed_context

NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True, slots=True)
class Certs:
    ca_file: Path  # PEM of the CA that issued valid, expired and wrong_name
    valid: ssl.SSLContext  # server contexts, one per certificate
    expired: ssl.SSLContext
    wrong_name: ssl.SSLContext  # valid, but for other.example only
    self_signed: ssl.SSLContext
    valid_not_after: float  # unix time, to compare with tls_cert_expiry
    self_signed_not_after: float


def _server_context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


def _leaf_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = _server_context()
    leaf.configure_cert(context)
    return context


def _self_signed(directory: Path, not_after: dt.datetime) -> ssl.SSLContext:
    """A certificate that signs itself: the usual state of a video endpoint's web UI out of the box."""
    return self_signed_context(directory, names=NAMES, common_name="giaoban self-signed test", not_after=not_after)


def make_certs(directory: Path) -> Certs:
    """Issue every test certificate into ``directory``."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    valid_not_after = now + dt.timedelta(days=90)
    self_signed_not_after = now + dt.timedelta(days=365)
    return Certs(
        ca_file=ca_file,
        valid=_leaf_context(ca.issue_cert(*NAMES, not_after=valid_not_after)),
        expired=_leaf_context(
            ca.issue_cert(*NAMES, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1))
        ),
        wrong_name=_leaf_context(ca.issue_cert("other.example", not_after=valid_not_after)),
        self_signed=_self_signed(directory, self_signed_not_after),
        valid_not_after=valid_not_after.timestamp(),
        self_signed_not_after=self_signed_not_after.timestamp(),
    )


@dataclass(frozen=True, slots=True)
class Chain:
    ca_file: Path  # PEM of the root only
    server: ssl.SSLContext  # sends the leaf and the intermediate
    leaf_der: bytes
    leaf_subject: x509.Name
    root_not_after: float  # unix times: root < intermediate < leaf
    intermediate_not_after: float
    leaf_not_after: float


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def make_chain(directory: Path) -> Chain:
    """Issue a root, an intermediate and a leaf for 127.0.0.1 and localhost into ``directory``."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expiry = {"root": now + dt.timedelta(days=30), "intermediate": now + dt.timedelta(days=45)}
    expiry["leaf"] = now + dt.timedelta(days=90)
    keys = {role: ec.generate_private_key(ec.SECP256R1()) for role in expiry}
    subjects = {
        "root": _name((NameOID.ORGANIZATION_NAME, "giaoban test"), (NameOID.COMMON_NAME, "giaoban test root")),
        "intermediate": _name((NameOID.COMMON_NAME, "giaoban test intermediate")),
        # Go writes CN first, two OUs as one "+"-joined RDN, the e-mail (no field of its own) last as #DER,
        # and escapes the comma: what probe_ssl_last_chain_info's subject label must match.
        "leaf": _name(
            (NameOID.EMAIL_ADDRESS, "admin@example.org"),
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.STATE_OR_PROVINCE_NAME, "Thái Nguyên"),
            (NameOID.ORGANIZATION_NAME, "UBND, tỉnh Thái Nguyên"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Sở KH&CN"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "TSLCD"),
            (NameOID.COMMON_NAME, "cong-thong-tin.example"),
        ),
    }
    issuers = {"root": "root", "intermediate": "root", "leaf": "intermediate"}
    certs: dict[str, x509.Certificate] = {}
    for role in ("root", "intermediate", "leaf"):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subjects[role])
            .issuer_name(subjects[issuers[role]])
            .public_key(keys[role].public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(expiry[role])
        )
        if role == "leaf":
            names = [x509.DNSName("localhost"), x509.DNSName("cong-thong-tin.example")]
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        else:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        certs[role] = builder.sign(keys[issuers[role]], hashes.SHA256())
    pem = {role: cert.public_bytes(serialization.Encoding.PEM) for role, cert in certs.items()}
    ca_file, chain_file, key_file = directory / "chain-root.pem", directory / "chain.pem", directory / "chain.key"
    ca_file.write_bytes(pem["root"])
    chain_file.write_bytes(pem["leaf"] + pem["intermediate"])
    key_file.write_bytes(
        keys["leaf"].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = _server_context()
    server.load_cert_chain(chain_file, key_file)
    return Chain(
        ca_file=ca_file,
        server=server,
        leaf_der=certs["leaf"].public_bytes(serialization.Encoding.DER),
        leaf_subject=subjects["leaf"],
        root_not_after=expiry["root"].timestamp(),
        intermediate_not_after=expiry["intermediate"].timestamp(),
        leaf_not_after=expiry["leaf"].timestamp(),
    )


Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A server on 127.0.0.1 (or ``host``) and a free port; ``hung_up`` is set when a client closed on it."""

    def __init__(self, handler: Handler, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self._handler, self._ssl, self._host = handler, ssl_context, host
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.hung_up = asyncio.Event()
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(
            self._serve, self._host, 0, ssl=self._ssl, ssl_shutdown_timeout=1.0 if self._ssl else None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def until_hangup(self, reader: asyncio.StreamReader) -> None:
        """Read and discard until the client closes (EOF or reset), then record it."""
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while await reader.read(4096):
                pass
        self.hung_up.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._handler(self, reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass  # the probe may hang up at any point; that is its right
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
