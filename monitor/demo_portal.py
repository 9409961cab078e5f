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
from collections.abc import AsyncIterator
from ipaddress import ip_address
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.demo_codecs import tcp_listener

CERT_DAYS = 90  # like a Let's Encrypt certificate: the expiry panel shows a believable countdown


def self_signed_context(host: str, folder: Path) -> ssl.SSLContext:
    """A server context for ``host`` with a fresh self-signed P-256 certificate (the files stay in ``folder``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cong-thong-tin.dinhhoa.demo")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address(host))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "portal.crt", folder / "portal.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


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
            context = await asyncio.to_thread(self_signed_context, host, Path(folder))  # key generation, files
            await web.SockSite(runner, sock, ssl_context=context).start()
            yield sock.getsockname()[1]
    finally:
        await runner.cleanup()
