"""Just enough BER (ITU-T X.690) for the demo's SNMPv2c agent: read a request, write its response.

    request = decode_request(datagram)          # BerError for anything that is not a v2c message
    encode_response(request, [(oid, value)])    # value: an encoded TLV, e.g. counter32(n), octets(b"x")

pyasn1 did this before, at about 2.5 ms per message: with a hundred emulated routers polled every few
seconds that was most of the demo's CPU. The messages an agent handles are small and fixed in shape (RFC 3416
§3; RFC 1901 for the v2c wrapper), so a few byte operations do it; net-snmp's tools and the project's poller
check the result (tests/test_demo.py). Only definite lengths are read, as every SNMP implementation writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Oid = tuple[int, ...]

# Universal and SNMP application tags (RFC 2578 §7.1), v2c exceptions and PDUs (RFC 3416 §3).
INTEGER, OCTET_STRING, NULL, OBJECT_IDENTIFIER, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
COUNTER32, GAUGE32, TIMETICKS, COUNTER64 = 0x41, 0x42, 0x43, 0x46
GET, GET_NEXT, RESPONSE, SET, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5
VERSION_2C = 1  # the version field of an SNMPv2c message (RFC 1901)
NO_SUCH_OBJECT = b"\x80\x00"
NO_SUCH_INSTANCE = b"\x81\x00"
END_OF_MIB_VIEW = b"\x82\x00"


class BerError(ValueError):
    """The datagram is not a well-formed SNMPv2c message."""


@dataclass(frozen=True, slots=True)
class Request:
    version: int
    community: bytes
    pdu: int  # GET, GET_NEXT, SET, GET_BULK, or another PDU tag
    request_id: bytes  # the encoded INTEGER, echoed as it came (it may be negative)
    first: int  # error-status; non-repeaters in a GetBulkRequest
    second: int  # error-index; max-repetitions in a GetBulkRequest
    varbinds: tuple[tuple[Oid, bytes], ...]  # each OID with its value's encoded TLV


# --- reading -------------------------------------------------------------------------------------------------


def _tlv(data: bytes, at: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the element at ``at``, which must end by ``end``."""
    if at + 2 > end:
        raise BerError("truncated element")
    tag, first = data[at], data[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + count > end:
            raise BerError("unsupported or truncated length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > end:
        raise BerError("element longer than its container")
    return tag, at, at + length


def _expect(data: bytes, at: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = _tlv(data, at, end)
    if found != tag:
        raise BerError(f"expected tag 0x{tag:02x}, found 0x{found:02x}")
    return start, stop


def _integer(data: bytes, at: int, end: int) -> tuple[int, int]:
    """The INTEGER at ``at`` and where the next element starts."""
    start, stop = _expect(data, at, end, INTEGER)
    if start == stop:
        raise BerError("empty INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def _oid(body: bytes) -> Oid:
    if not body or body[-1] & 0x80:
        raise BerError("malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    head = arcs[0]
    first = min(head // 40, 2)
    return (first, head - 40 * first, *arcs[1:])


def decode_request(data: bytes) -> Request:
    """The message in ``data``; BerError if it is not SNMPv2c or not well formed."""
    start, stop = _expect(data, 0, len(data), SEQUENCE)
    version, at = _integer(data, start, stop)
    if version != VERSION_2C:
        raise BerError(f"SNMP version field {version}: not v2c")
    community_start, at = _expect(data, at, stop, OCTET_STRING)
    community = data[community_start:at]
    pdu, at, pdu_end = _tlv(data, at, stop)
    tag, _, id_end = _tlv(data, at, pdu_end)
    if tag != INTEGER:
        raise BerError("request-id is not an INTEGER")
    request_id = data[at:id_end]
    first, at = _integer(data, id_end, pdu_end)
    second, at = _integer(data, at, pdu_end)
    list_start, list_end = _expect(data, at, pdu_end, SEQUENCE)
    varbinds: list[tuple[Oid, bytes]] = []
    at = list_start
    while at < list_end:
        bind_start, bind_end = _expect(data, at, list_end, SEQUENCE)
        oid_start, oid_end = _expect(data, bind_start, bind_end, OBJECT_IDENTIFIER)
        _, _, value_end = _tlv(data, oid_end, bind_end)
        varbinds.append((_oid(data[oid_start:oid_end]), data[oid_end:value_end]))
        at = bind_end
    return Request(version, community, pdu, request_id, first, second, tuple(varbinds))


# --- writing -------------------------------------------------------------------------------------------------


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def integer(value: int, tag: int = INTEGER) -> bytes:
    """An INTEGER, or an unsigned application type (Counter32, Gauge32, TimeTicks, Counter64) by ``tag``."""
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1  # the fewest octets, sign bit included
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def octets(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def object_identifier(oid: Oid) -> bytes:
    if len(oid) < 2:
        raise ValueError(f"an OBJECT IDENTIFIER has two arcs at least: {oid}")
    body = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]  # base 128, most significant group first, every group but the last with bit 8 set
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(body))


def encode_response(
    request: Request, varbinds: Sequence[tuple[Oid, bytes]], *, error_status: int = 0, error_index: int = 0
) -> bytes:
    """The Response-PDU message to ``request``, carrying ``varbinds`` (each value an encoded TLV)."""
    binds = b"".join(tlv(SEQUENCE, object_identifier(oid) + value) for oid, value in varbinds)
    pdu = request.request_id + integer(error_status) + integer(error_index) + tlv(SEQUENCE, binds)
    return tlv(SEQUENCE, integer(request.version) + octets(request.community) + tlv(RESPONSE, pdu))
