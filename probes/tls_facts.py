"""What blackbox_exporter reports of a TLS connection, read from the connection's SSL object (tcp, http).

Values::

    tls_earliest_expiry    earliest notAfter of the chain the peer sent (probe_ssl_earliest_cert_expiry)
    tls_last_chain_expiry  earliest notAfter of the verified chain, root included
                           (probe_ssl_last_chain_expiry_timestamp_seconds; only when the chain was verified)

Info: ``tls_version_name`` ("TLS 1.3", as blackbox names it), and of the leaf ``tls_fingerprint_sha256``,
``tls_subject``, ``tls_issuer`` (written as Go's ``pkix.Name.String()`` writes them, so the labels of
``probe_ssl_last_chain_info`` are blackbox's) and ``tls_subject_alternative`` (its DNS names, comma-separated).

The chains come from ``get_unverified_chain`` / ``get_verified_chain``, public from Python 3.13 and present
on the C object behind ``SSLObject`` since 3.10; without either, the leaf stands for the chain.
"""

from __future__ import annotations

import _ssl
import hashlib
import ssl
from collections.abc import Callable, Iterable

from cryptography import x509
from cryptography.x509.oid import NameOID

from probes.core.series import INFO, Series

SERIES = (
    Series("tls_earliest_expiry", "probe_ssl_earliest_cert_expiry", "Earliest expiry of the peer's chain, unix time."),
    Series(
        "tls_last_chain_expiry",
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        "Earliest expiry in the verified chain, unix time.",
    ),
    Series(
        INFO, "probe_tls_version_info", "TLS version of the connection.", info_labels=(("version", "tls_version_name"),)
    ),
    Series(
        INFO,
        "probe_ssl_last_chain_info",
        "The peer's leaf certificate.",
        info_labels=(
            ("fingerprint_sha256", "tls_fingerprint_sha256"),
            ("subject", "tls_subject"),
            ("issuer", "tls_issuer"),
            ("subjectalternative", "tls_subject_alternative"),
        ),
    ),
)

_VERSION_NAMES = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}

# Go's crypto/x509/pkix: the attributes it parses into named fields, in the order ToRDNSequence() writes
# them (String() prints the sequence backwards), and their short names.
_GO_ORDER = (
    (NameOID.COUNTRY_NAME, "C"),
    (NameOID.STATE_OR_PROVINCE_NAME, "ST"),
    (NameOID.LOCALITY_NAME, "L"),
    (NameOID.STREET_ADDRESS, "STREET"),
    (NameOID.POSTAL_CODE, "POSTALCODE"),
    (NameOID.ORGANIZATION_NAME, "O"),
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "OU"),
    (NameOID.COMMON_NAME, "CN"),
    (NameOID.SERIAL_NUMBER, "SERIALNUMBER"),
)
_SINGLE = frozenset({NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER})  # Go keeps the last one of these
_PRINTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def _escape(value: str) -> str:
    """RFC 2253 escaping as Go does it."""
    out = []
    last = len(value.encode()) - 1
    at = 0  # byte offset, as Go's range loop counts
    for char in value:
        escape = char in ',+"\\<>;' or (char == " " and at in (0, last)) or (char == "#" and at == 0)
        out.append("\\" + char if escape else char)
        at += len(char.encode())
    return "".join(out)


def _der_string(value: str) -> bytes:
    """asn1.Marshal of a Go string: a PrintableString when it can be one, else a UTF8String."""
    body = value.encode()
    tag = 0x13 if set(value) <= _PRINTABLE else 0x0C
    size = len(body)
    length = (
        bytes([size])
        if size < 0x80
        else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes((size.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + length + body


def go_name(name: x509.Name) -> str:
    """``name`` as Go's ``pkix.Name.String()`` writes a parsed certificate's subject or issuer."""
    known = {oid for oid, _ in _GO_ORDER}
    rdns: list[list[str]] = []
    for attribute in name:  # attributes Go has no field for come first, each its own RDN
        if attribute.oid not in known:
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode("latin-1")
            rdns.append([f"{attribute.oid.dotted_string}=#{_der_string(value).hex()}"])
    for oid, short in _GO_ORDER:
        values = [str(a.value) for a in name.get_attributes_for_oid(oid)]
        if oid in _SINGLE:
            values = values[-1:]
        if values:
            rdns.append([f"{short}={_escape(value)}" for value in values])
    return ",".join("+".join(rdn) for rdn in reversed(rdns))


def _chain(ssl_object: ssl.SSLObject | ssl.SSLSocket, method: str) -> list[bytes] | None:
    get: Callable[[], Iterable[object]] | None = getattr(ssl_object, method, None)
    if get is None:
        get = getattr(getattr(ssl_object, "_sslobj", None), method, None)
    if get is None:
        return None
    try:
        certs = get()
    except (ValueError, ssl.SSLError):  # no handshake yet
        return None
    if not certs:
        return None
    return [cert if isinstance(cert, bytes) else cert.public_bytes(_ssl.ENCODING_DER) for cert in certs]  # type: ignore[attr-defined]


def _earliest(chain: list[bytes]) -> float:
    return min(x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp() for der in chain)


def facts(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> tuple[dict[str, float], dict[str, str]]:
    """(values, info) above for a connection whose handshake is done; empty before it or without TLS."""
    if ssl_object is None:
        return {}, {}
    try:
        leaf = ssl_object.getpeercert(binary_form=True)
    except ValueError:  # handshake not complete
        return {}, {}
    info = {"tls_version_name": _VERSION_NAMES.get(ssl_object.version() or "", "unknown")}
    if not leaf:
        return {}, info
    cert = x509.load_der_x509_certificate(leaf)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    info |= {
        "tls_fingerprint_sha256": hashlib.sha256(leaf).hexdigest(),
        "tls_subject": go_name(cert.subject),
        "tls_issuer": go_name(cert.issuer),
        "tls_subject_alternative": ",".join(dns_names),
    }
    values = {"tls_earliest_expiry": _earliest(_chain(ssl_object, "get_unverified_chain") or [leaf])}
    # Without verification there is no verified chain (blackbox then writes year 1, -62135596800): left out.
    if ssl_object.context.verify_mode != ssl.CERT_NONE and (verified := _chain(ssl_object, "get_verified_chain")):
        values["tls_last_chain_expiry"] = _earliest(verified)
    return values, info
