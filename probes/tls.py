"""TLS helpers shared by the TCP and HTTP probes: client contexts, certificate expiry, handshake failures.

Values these helpers feed::

    tls_cert_expiry   notAfter of the peer's leaf certificate, unix time (→ giaoban_tls_cert_expiry_timestamp_seconds)

and, through probes/tls_facts.py, blackbox_exporter's probe_ssl_* and probe_tls_version_info on /probe.

A failed certificate check is told apart by OpenSSL's verify code (``X509_V_ERR_*`` in
openssl/x509_vfy.h), so an alert can say "expired" or "not trusted" instead of "TLS error".
"""

from __future__ import annotations

import asyncio
import ssl

from cryptography import x509

from probes import tls_facts
from probes.core.result import Reason
from probes.core.series import Series

# What a TLS connection's facts become, for every kind that reads a certificate (tcp, http).
TLS_SERIES = (
    Series(
        "tls_cert_expiry",
        "giaoban_tls_cert_expiry_timestamp_seconds",
        "Expiry of the peer's TLS certificate.",
        kind_label="kind",
    ),
    *tls_facts.SERIES,
)

# OpenSSL X509_V_ERR_* codes (openssl/x509_vfy.h).
_EXPIRED = frozenset({10})  # CERT_HAS_EXPIRED
_NOT_YET_VALID = frozenset({9})  # CERT_NOT_YET_VALID
# UNABLE_TO_GET_ISSUER_CERT, DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
# UNABLE_TO_GET_ISSUER_CERT_LOCALLY, UNABLE_TO_VERIFY_LEAF_SIGNATURE
_UNTRUSTED = frozenset({2, 18, 19, 20, 21})
_HOSTNAME = frozenset({62, 64})  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH

# One context per distinct (class, verify, ca_file): building one reads the CA store from disk, and a
# context is safe to share between connections. A changed ca_file is read again after a restart.
_CONTEXTS: dict[tuple[type[ssl.SSLContext], bool, str | None], ssl.SSLContext] = {}


def _build_context(cls: type[ssl.SSLContext], verify: bool, ca_file: str | None) -> ssl.SSLContext:
    context = cls(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


async def client_context(
    *, verify: bool, ca_file: str | None, cls: type[ssl.SSLContext] = ssl.SSLContext
) -> ssl.SSLContext:
    """The shared client context for these options; raises OSError / ssl.SSLError if ca_file is unusable."""
    key = (cls, verify, ca_file if verify else None)
    context = _CONTEXTS.get(key)
    if context is None:
        # Reading the CA store is file I/O: keep it off the event loop.
        context = await asyncio.to_thread(_build_context, *key)
        _CONTEXTS[key] = context
    return context


def ca_file_problem(ca_file: str | None, exc: Exception) -> str:
    """Say why the CA bundle could not be loaded and what to give instead."""
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot load ca_file {ca_file}: {why}; give a readable PEM bundle of CA certificates"


def cert_not_after(der: bytes) -> float:
    """notAfter of a DER certificate as unix time."""
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def peer_cert_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """notAfter of the peer's leaf certificate, also when it was not verified (tls_verify: false)."""
    if ssl_object is None:
        return None
    try:
        # binary_form returns the certificate even without verification, unlike the dict form.
        der = ssl_object.getpeercert(binary_form=True)
    except ValueError:  # handshake not complete
        return None
    return cert_not_after(der) if der else None


def handshake_failure(exc: ssl.SSLError, server_name: str) -> tuple[Reason, str]:
    """Reason and human detail for a TLS failure (handshake or later) with ``server_name``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code, message = exc.verify_code, exc.verify_message
        if code in _EXPIRED:
            return Reason.TLS_EXPIRED, f"the certificate of {server_name} has expired ({message}); renew it"
        if code in _NOT_YET_VALID:
            return Reason.TLS_ERROR, f"the certificate of {server_name} is not valid yet; check the server's clock"
        if code in _UNTRUSTED:
            return Reason.TLS_UNTRUSTED, (
                f"the certificate of {server_name} is not trusted ({message}); "
                "give its CA in ca_file, or set tls_verify: false"
            )
        if code in _HOSTNAME:
            return Reason.TLS_HOSTNAME, (
                f"the certificate does not name {server_name} ({message}); "
                "set tls_server_name to a name the certificate lists"
            )
        return Reason.TLS_ERROR, f"certificate of {server_name} rejected: {message} (verify code {code})"
    if exc.reason == "WRONG_VERSION_NUMBER":  # the first bytes back were not a TLS record
        return Reason.TLS_ERROR, f"{server_name} did not answer in TLS (WRONG_VERSION_NUMBER); is the port plain text?"
    return Reason.TLS_ERROR, f"TLS with {server_name} failed: {exc.reason or exc}"
