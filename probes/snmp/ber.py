"""A lean BER codec for the community-based (SNMPv1/v2c) messages giaoban exchanges: requests out, responses in.

pysnmp decodes each answer generically through pyasn1, ≈ 57 µs of CPU per varbind (issue 16: 74–83 % of a
poll's CPU). The answers giaoban reads have one shape (RFC 3416 §3, RFC 1157 §4.1):

    SEQUENCE { version INTEGER, community OCTET STRING,
               GetResponse-PDU [2] { request-id, error-status, error-index INTEGER,
                                     varbinds SEQUENCE OF SEQUENCE { name OID, value } } }

with the values IF-MIB, UPS-MIB and system use. This module reads exactly that shape, iteratively (no
recursion on the agent's data), every length checked against its enclosing one; anything else raises
``BerError``. SNMPv3 (USM authentication and privacy) stays with pysnmp (probes/snmp/session.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Oid = tuple[int, ...]
Value = int | bytes | str  # None in a varbind: noSuchObject, noSuchInstance or endOfMibView

GET, GET_NEXT, RESPONSE, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5  # PDU tags (context, constructed)
_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
_UNSIGNED = frozenset({0x41, 0x42, 0x43, 0x46, 0x47})  # Counter32, Gauge32, TimeTicks, Counter64, UInteger32
_BYTES = frozenset({_OCTETS, 0x40, 0x44})  # OCTET STRING, IpAddress, Opaque
_ABSENT = frozenset({0x80, 0x81, 0x82})  # noSuchObject, noSuchInstance, endOfMibView (RFC 3416 §3)
MAX_MESSAGE = 65535  # the largest UDP payload; no longer length is believed
MAX_OID_ARCS = 128  # RFC 2578 §3.5
_MAX_INTEGER_OCTETS = 9  # Counter64 with its leading zero
_MAX_ARC_OCTETS = 5  # a 32-bit sub-identifier (RFC 2578 §3.5)


class BerError(ValueError):
    """The answer is not a well-formed SNMP response; ``request_id`` is set once it was read."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded community-based response PDU."""

    version: int  # 0 = SNMPv1, 1 = SNMPv2c
    community: bytes
    pdu: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Value | None]]


# --- encoding ---------------------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(n: int) -> bytes:
    return _tlv(_INTEGER, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (X.690 §8.19)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40) or min(oid) < 0:
        raise ValueError(f"not an OID: {oid}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk, rest = [arc & 0x7F], arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def encode_request(
    pdu: int, version: int, community: bytes, request_id: int, oids: Sequence[Oid], *, non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:  # fmt: skip
    """A GET, GETNEXT or GETBULK message asking for ``oids`` (values NULL)."""
    varbinds = b"".join(_tlv(_SEQUENCE, _tlv(_OID, encode_oid(oid)) + b"\x05\x00") for oid in oids)
    body = _integer(request_id) + _integer(non_repeaters) + _integer(max_repetitions) + _tlv(_SEQUENCE, varbinds)
    return _tlv(_SEQUENCE, _integer(version) + _tlv(_OCTETS, community) + _tlv(pdu, body))


# --- decoding ---------------------------------------------------------------------------------------------


def _header(data: bytes, at: int, end: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the TLV at ``at``, which must end by ``end``."""
    if at + 2 > end:
        raise BerError("truncated")
    tag = data[at]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-octet tag")
    n = data[at + 1]
    at += 2
    if n & 0x80:
        count = n & 0x7F
        if count == 0 or count > 3:  # indefinite form, or longer than any UDP datagram
            raise BerError("unsupported length form")
        if at + count > end:
            raise BerError("truncated length")
        n = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + n > end:
        raise BerError("length past the end")
    return tag, at, at + n


def _expect(data: bytes, at: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _header(data, at, end)
    if got != tag:
        raise BerError(f"{what}: tag 0x{got:02x}, expected 0x{tag:02x}")
    return start, stop


def _int(data: bytes, start: int, stop: int, *, unsigned: bool = False) -> int:
    if not 0 < stop - start <= _MAX_INTEGER_OCTETS:
        raise BerError("integer of bad length")
    # Some agents encode Counter32 values ≥ 2^31 without the leading zero; read them as unsigned, as net-snmp does.
    return int.from_bytes(data[start:stop], "big", signed=not unsigned)


def _oid(data: bytes, start: int, stop: int) -> Oid:
    if start == stop:
        raise BerError("empty OID")
    if stop - start < MAX_OID_ARCS and max(data[start:stop]) < 0x80:  # every arc one octet: the common case
        first = data[start]
        head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
        return (*head, *data[start + 1 : stop])
    arcs: list[int] = []
    arc = octets = 0
    for at in range(start, stop):
        byte = data[at]
        if octets == 0 and byte == 0x80:
            raise BerError("OID arc with a leading zero octet")
        arc = (arc << 7) | (byte & 0x7F)
        octets += 1
        if octets > _MAX_ARC_OCTETS:
            raise BerError("OID arc too large")
        if not byte & 0x80:
            arcs.append(arc)
            arc = octets = 0
    if octets:
        raise BerError("OID ends inside an arc")
    if len(arcs) >= MAX_OID_ARCS:
        raise BerError("OID too long")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(data: bytes, at: int, end: int) -> Value | None:
    tag, start, stop = _header(data, at, end)
    if stop != end:
        raise BerError("bytes after a varbind's value")
    if tag == _INTEGER:
        return _int(data, start, stop)
    if tag in _UNSIGNED:
        return _int(data, start, stop, unsigned=True)
    if tag in _BYTES:
        return data[start:stop]
    if tag == _NULL or tag in _ABSENT:
        if start != stop:
            raise BerError("NULL with content")
        return b"" if tag == _NULL else None
    if tag == _OID:
        return ".".join(map(str, _oid(data, start, stop)))
    raise BerError(f"unsupported value type 0x{tag:02x}")


def decode_response(data: bytes) -> Response:
    """The response in ``data``; BerError when it is anything else or malformed."""
    if len(data) > MAX_MESSAGE:
        raise BerError("message too long")
    start, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise BerError("bytes after the message")
    vstart, at = _expect(data, start, end, _INTEGER, "version")
    version = _int(data, vstart, at)
    cstart, at = _expect(data, at, end, _OCTETS, "community")
    community = data[cstart:at]
    pdu, at, pdu_end = _header(data, at, end)
    if pdu_end != end or pdu & 0xE0 != 0xA0:
        raise BerError("not a PDU")
    fields = []
    for what in ("request-id", "error-status", "error-index"):
        start, at = _expect(data, at, pdu_end, _INTEGER, what)
        fields.append(_int(data, start, at))
    request_id, status, index = fields
    try:
        at, list_end = _expect(data, at, pdu_end, _SEQUENCE, "varbind list")
        if list_end != pdu_end:
            raise BerError("bytes after the varbind list")
        varbinds: list[tuple[Oid, Value | None]] = []
        while at < list_end:
            at, bind_end = _expect(data, at, list_end, _SEQUENCE, "varbind")
            nstart, nstop = _expect(data, at, bind_end, _OID, "name")
            varbinds.append((_oid(data, nstart, nstop), _value(data, nstop, bind_end)))
            at = bind_end
    except BerError as exc:
        raise BerError(str(exc), request_id) from None
    return Response(version, community, pdu, request_id, status, index, varbinds)
