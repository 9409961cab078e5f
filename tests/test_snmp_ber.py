# pysnmp and pyasn1 ship no type information.
# mypy: disable-error-code="import-untyped"
"""The lean SNMPv1/v2c codec (probes/snmp/ber.py) against pyasn1/pysnmp, and its transport against hostile answers.

Responses pysnmp encodes must decode to what the pysnmp path made of them (session._python); requests we encode
must decode in pysnmp to what we asked; random and mutated bytes raise only BerError; a malformed answer from
the address asked fails the request with PROTOCOL_ERROR, while answers from elsewhere are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905

from probes.core.result import ProbeFailed, Reason
from probes.snmp import ber
from probes.snmp.session import _python, _socket
from probes.snmp.v2c import Transport

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

arcs = st.integers(0, 2**32 - 1)
oids = st.builds(
    lambda first, second, rest: (first, second % 40 if first < 2 else second, *rest),
    st.integers(0, 2),
    st.integers(0, 2**20),
    st.lists(arcs, max_size=30),
)
values = st.one_of(
    st.builds(rfc1902.Integer32, st.integers(-(2**31), 2**31 - 1)),
    st.builds(rfc1902.OctetString, st.binary(max_size=300)),
    st.builds(rfc1902.ObjectIdentifier, oids),
    st.builds(rfc1902.Counter32, st.integers(0, 2**32 - 1)),
    st.builds(rfc1902.Gauge32, st.integers(0, 2**32 - 1)),
    st.builds(rfc1902.TimeTicks, st.integers(0, 2**32 - 1)),
    st.builds(rfc1902.Counter64, st.integers(0, 2**64 - 1)),
    st.builds(rfc1902.IpAddress, st.binary(min_size=4, max_size=4)),
    st.builds(rfc1902.Opaque, st.binary(max_size=20)),
    st.just(rfc1902.Null("")),
    st.just(rfc1905.NoSuchObject("")),
    st.just(rfc1905.NoSuchInstance("")),
    st.just(rfc1905.EndOfMibView("")),
)
varbind_lists = st.lists(st.tuples(oids, values), max_size=60)


def response(
    version: int, community: bytes, request_id: int, varbinds: Any, *, status: int = 0, index: int = 0
) -> bytes:
    """A Response message as pysnmp encodes it."""
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_error_index(pdu, index)
    V2C.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), value) for oid, value in varbinds])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    message["version"] = version
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    varbind_lists,
    st.integers(0, 1),
    st.binary(max_size=40),
    st.tuples(st.integers(-(2**31), 2**31 - 1), st.integers(0, 18), st.integers(0, 60)),
)
def test_responses_pysnmp_encodes_decode_as_the_pysnmp_path_read_them(
    varbinds: list[tuple[tuple[int, ...], Any]], version: int, community: bytes, header: tuple[int, int, int]
) -> None:
    request_id, status, index = header
    got = ber.decode_response(response(version, community, request_id, varbinds, status=status, index=index))
    assert (got.version, got.community, got.pdu) == (version, community, ber.RESPONSE)
    assert (got.request_id, got.error_status, got.error_index) == (request_id, status, index)
    assert got.varbinds == [(oid, _python(value)) for oid, value in varbinds]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([ber.GET, ber.GET_NEXT, ber.GET_BULK]),
    st.lists(oids, min_size=1, max_size=40),
    st.integers(1, 2**31 - 1),
    st.integers(0, 100),
    st.binary(max_size=40),
)
def test_requests_we_encode_decode_in_pysnmp_as_asked(
    pdu: int, asked: list[tuple[int, ...]], request_id: int, repetitions: int, community: bytes
) -> None:
    reps = repetitions if pdu == ber.GET_BULK else 0
    data = ber.encode_request(pdu, 1, community, request_id, asked, max_repetitions=reps)
    message, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    assert int(message["version"]) == 1 and bytes(V2C.apiMessage.get_community(message)) == community
    request = V2C.apiMessage.get_pdu(message)
    kind = {ber.GET: V2C.GetRequestPDU, ber.GET_NEXT: V2C.GetNextRequestPDU, ber.GET_BULK: V2C.GetBulkRequestPDU}
    assert isinstance(request, kind[pdu])
    assert int(V2C.apiPDU.get_request_id(request)) == request_id
    if pdu == ber.GET_BULK:
        assert int(V2C.apiBulkPDU.get_max_repetitions(request)) == repetitions
    assert [tuple(name) for name, _ in V2C.apiPDU.get_varbinds(request)] == asked


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_ber_error(data: bytes) -> None:
    with contextlib.suppress(ber.BerError):
        ber.decode_response(data)


@settings(max_examples=1000, deadline=None)
@given(varbind_lists, st.data())
def test_mutated_answers_raise_only_ber_error(varbinds: list[tuple[tuple[int, ...], Any]], data: st.DataObject) -> None:
    valid = bytearray(response(1, b"public", 7, varbinds))
    cut = data.draw(st.integers(0, len(valid)))
    mutated = valid[:cut]
    for _ in range(data.draw(st.integers(0, 4))):
        if mutated:
            mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    try:
        got = ber.decode_response(bytes(mutated))
    except ber.BerError:
        return
    assert isinstance(got, ber.Response)


def _nested(depth: int) -> bytes:
    data = b"\x05\x00"
    for _ in range(depth):
        data = b"\x30\x83" + len(data).to_bytes(3, "big") + data
    return data


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x30" + b"\x84\x00\x00\x00\x10" + b"\x00" * 16, "length form"),  # 4 length octets
        (b"\x30\x80\x02\x01\x01\x00\x00", "length form"),  # indefinite
        (b"\x30\x7f\x02\x01\x01", "past the end"),
        (_nested(5000), "version: tag 0x30"),  # deep nesting: read as the fixed shape, no recursion
        (response(1, b"c", 1, [((1, 3, 6), rfc1902.Integer32(1))]) + b"\x00", "after the message"),
        (response(1, b"c", 1, [((1, 3, 6), rfc1902.Integer32(1))])[:-3] + b"\x03\x01\x01", "type 0x03"),
    ],
)
def test_malformed_shapes_are_named(data: bytes, words: str) -> None:
    with pytest.raises(ber.BerError, match=words):
        ber.decode_response(data)


def test_an_oid_arc_beyond_32_bits_is_refused_and_names_the_request() -> None:
    data = response(1, b"c", 42, [((1, 3, 6, 2**40), rfc1902.Integer32(1))])
    with pytest.raises(ber.BerError, match="arc too large") as caught:
        ber.decode_response(data)
    assert caught.value.request_id == 42


class _Agent(asyncio.DatagramProtocol):
    """A fake agent on 127.0.0.1 answering each request with ``answer(request)`` (bytes or None: silence)."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.transport = answer, None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message, _ = decoder.decode(data, asn1Spec=V2C.Message())
        request_id = int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))
        reply = self.answer(request_id)
        if reply is not None:
            assert self.transport is not None
            self.transport.sendto(reply, addr)


async def _ask(answer: Any) -> ber.Response | None:
    loop = asyncio.get_running_loop()
    agent_transport, _ = await loop.create_datagram_endpoint(lambda: _Agent(answer), local_addr=("127.0.0.1", 0))
    transport = Transport(_socket)
    try:
        port = agent_transport.get_extra_info("sockname")[1]
        return await transport.request(
            ("127.0.0.1", port), 1, b"public", ber.GET, [(1, 3, 6, 1, 2, 1, 1, 3, 0)], timeout=0.3, retries=1
        )
    finally:
        transport.close()
        agent_transport.close()


async def test_a_good_answer_is_returned() -> None:
    got = await _ask(lambda rid: response(1, b"public", rid, [((1, 3, 6, 1, 2, 1, 1, 3, 0), rfc1902.TimeTicks(5))]))
    assert got is not None and got.varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), 5)]


async def test_a_malformed_answer_from_the_agent_is_a_protocol_error() -> None:
    with pytest.raises(ProbeFailed) as caught:
        await _ask(lambda rid: b"\x30\x03\x02\x01")
    assert caught.value.reason is Reason.PROTOCOL_ERROR and "malformed SNMP answer" in caught.value.detail


@pytest.mark.parametrize(
    "answer",
    [
        lambda rid: response(1, b"other", rid, []),  # another community
        lambda rid: response(0, b"public", rid, []),  # another version
        lambda rid: response(1, b"public", rid + 1, []),  # another request
    ],
)
async def test_answers_not_to_our_request_are_ignored(answer: Any) -> None:
    assert await _ask(answer) is None  # timed out after both tries


async def test_an_answer_from_another_port_is_ignored() -> None:
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    try:

        def spoof(rid: int) -> None:
            stranger.sendto(response(1, b"public", rid, []), sent_to[0])

        loop = asyncio.get_running_loop()
        sent_to: list[Any] = []

        class Recorder(_Agent):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                sent_to.append(addr)
                super().datagram_received(data, addr)

        agent_transport, _ = await loop.create_datagram_endpoint(lambda: Recorder(spoof), local_addr=("127.0.0.1", 0))
        transport = Transport(_socket)
        try:
            port = agent_transport.get_extra_info("sockname")[1]
            got = await transport.request(("127.0.0.1", port), 1, b"public", ber.GET, [(1, 3)], timeout=0.2, retries=0)
        finally:
            transport.close()
            agent_transport.close()
    finally:
        stranger.close()
    assert got is None
