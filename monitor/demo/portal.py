"""The demo district's web portal at the hub: HTTPS with a self-signed certificate made at start.

It gives the demo what a real district has besides codecs — an ``http`` endpoint over TLS (status code,
phases, the certificate's expiry) and a plain ``tcp`` check of the same port — so every dashboard panel and
alert rule has data to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
import tempfile
from collections.abc import AsyncIterator, Sequence
from ipaddress import ip_address
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.demo.codecs import tcp_listener

CERT_DAYS = 90  # like a Let's Encrypt certificate: the expiry panel shows a believable countdown


def self_signed_context(
    folder: Path, *, names: Sequence[str], common_name: str, not_after: dt.datetime, stem: str = "self-signed"
) -> ssl.SSLContext:
    """A server context with a fresh self-signed P-256 certificate for ``names`` (IP addresses or DNS names),
    valid until ``not_after``; the PEM files stay in ``folder``. The tests' self-signed peer is made here too."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    alt_names: list[x509.GeneralName] = []
    for entry in names:
        try:
            alt_names.append(x509.IPAddress(ip_address(entry)))
        except ValueError:
            alt_names.append(x509.DNSName(entry))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def _portal_context(host: str, folder: Path) -> ssl.SSLContext:
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=CERT_DAYS)
    return self_signed_context(
        folder, names=[host], common_name="cong-thong-tin.dinhhoa.demo", not_after=not_after, stem="portal"
    )


async def _home(_request: web.Request) -> web.Response:
    return web.Response(text="Cổng thông tin điện tử huyện Định Hoá (demo)\n")


@contextlib.asynccontextmanager
async def portal(host: str = "127.0.0.1") -> AsyncIterator[int]:
    """Serve the portal over HTTPS on ``host`` (any free port); yields the port."""
    app = web.Application()
    app.router.add_get("/", _home)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    sock = tcp_listener(host, 0)
    try:
        with tempfile.TemporaryDirectory(prefix="giaoban-demo-tls-") as folder:
            context = await asyncio.to_thread(_portal_context, host, Path(folder))  # key generation, files
            await web.SockSite(runner, sock, ssl_context=context).start()
            yield sock.getsockname()[1]
    finally:
        await runner.cleanup()
