"""Fuzzing the SIP response parser and stream framer (hypothesis): for any bytes, a result or SipParseError.

Anyone can send a datagram to the probe's port, and a broken or hostile endpoint controls every byte of a
TCP reply. Thousands of inputs per run: random bytes, and valid responses mutated byte by byte, header by
header. Nothing may escape but SipParseError (the probe's "ignore it" signal), nothing may hang (each
example has a deadline), and a valid response must still parse to what was sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.core.result import ProbeFailed, Reason
from probes.sip.message import MAX_MESSAGE, SipParseError, SipRequest, build_options, parse_response
from probes.sip.probe import _Framer

FUZZ = settings(
    max_examples=3000,
    deadline=dt.timedelta(seconds=1),  # generous for a slow CI machine; a hang is minutes, not a second
    database=None,  # no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)

REQUEST = build_options(
    transport="udp", local=("127.0.0.1", 40000), remote=("127.0.0.1", 5060), request_user=None, from_user="giaoban"
)


def _response(request: SipRequest, status: int, reason: str, extra: list[str]) -> bytes:
    lines = [
        f"SIP/2.0 {status} {reason}",
        f"Via: SIP/2.0/UDP 127.0.0.1:40000;branch={request.branch};rport=40000;received=127.0.0.1",
        "From: <sip:giaoban@127.0.0.1>;tag=abc",
        "To: <sip:127.0.0.1:5060>;tag=def",
        f"Call-ID: {request.call_id}",
        f"CSeq: {request.cseq} OPTIONS",
        *extra,
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


VALID = [
    _response(REQUEST, 200, "OK", ["Server: kamailio (5.6.3 (x86_64/linux))"]),
    _response(REQUEST, 486, "Busy Here", ["User-Agent: Cisco/CE-11.5", "Allow: INVITE, ACK, OPTIONS"]),
    _response(REQUEST, 100, "Trying", []),
    # compact forms and a folded header (RFC 3261 §7.3.1, §7.3.3)
    (
        f"SIP/2.0 603 Decline\r\nv: SIP/2.0/TCP 192.0.2.1;branch=zz, SIP/2.0/UDP 127.0.0.1;branch={REQUEST.branch}\r\n"
        f"i: {REQUEST.call_id}\r\nCSeq: 1\r\n  OPTIONS\r\nl: 0\r\n\r\n"
    ).encode(),
]

header_names = st.sampled_from(["Via", "v", "Call-ID", "i", "CSeq", "Content-Length", "l", "Server", "X-Junk", ""])
header_values = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


def _check(data: bytes) -> None:
    """The property: a SipResponse with sane fields, or SipParseError; nothing else."""
    try:
        response = parse_response(data)
    except SipParseError:
        return
    assert 100 <= response.status <= 699
    assert response.cseq >= 0
    response.matches(REQUEST)  # must not raise either
    response.header("server")


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    """Arbitrary datagrams (scans, other protocols, noise) are refused cleanly."""
    _check(data)


@FUZZ
@given(st.binary(max_size=300).map(lambda tail: b"SIP/2.0 200 OK\r\n" + tail))
def test_random_bytes_after_a_status_line(data: bytes) -> None:
    """Past a plausible start line, garbage headers are refused cleanly (the deeper parser paths)."""
    _check(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid response with a few random edits: byte flips, insertions, deletions, extra or cut headers."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["flip", "insert", "delete", "header", "truncate", "crlf"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if edit == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif edit == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=40))
        elif edit == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif edit == "header":
            line = f"{draw(header_names)}:{draw(header_values)}\r\n".encode()
            at = data.find(b"\r\n") + 2
            data[at:at] = line
        elif edit == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.sampled_from([b"\r\n", b"\r\n ", b"\n", b"\r", b"\r\n\r\n", b":", b";", b","]))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_valid_responses(data: bytes) -> None:
    """Near-valid responses (the likeliest real faults) are parsed or refused, never crash the probe."""
    _check(data)


@settings(max_examples=500, deadline=dt.timedelta(seconds=1), database=None)
@given(
    st.integers(100, 699),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
    st.lists(
        st.tuples(
            st.text(alphabet="ABCXYZabcxyz0189-", min_size=1, max_size=20).map("X-".__add__),
            st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
        ),
        max_size=10,
    ),
)
def test_valid_responses_parse_exactly(status: int, reason: str, extra: list[tuple[str, str]]) -> None:
    """Whatever status, reason phrase and extra headers a real endpoint sends, it is read as sent and matched."""
    response = parse_response(_response(REQUEST, status, reason, [f"{k}: {v}" for k, v in extra]))
    assert (response.status, response.reason) == (status, reason.strip())
    assert response.matches(REQUEST)


def test_oversized_message_is_refused() -> None:
    """A datagram beyond the UDP maximum is refused without being scanned."""
    try:
        parse_response(VALID[0] + b"x" * MAX_MESSAGE)
    except SipParseError as exc:
        assert "larger" in str(exc)
    else:
        raise AssertionError("accepted an oversized message")


async def _frame(data: bytes) -> list[bytes]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    framer = _Framer(reader)
    messages = []
    try:
        while True:
            messages.append(await framer.message())
    except ProbeFailed as failed:
        assert failed.reason is Reason.PROTOCOL_ERROR
    return messages


@settings(max_examples=1500, deadline=dt.timedelta(seconds=1), database=None)
@given(st.one_of(mutated(), st.binary(max_size=2048), st.lists(st.sampled_from(VALID), max_size=4).map(b"".join)))
def test_stream_framer(data: bytes) -> None:
    """Over TCP the peer controls framing: any byte stream yields messages, then PROTOCOL_ERROR at its end."""
    messages = asyncio.run(_frame(data))
    assert sum(len(m) for m in messages) <= len(data)


@settings(max_examples=300, deadline=dt.timedelta(seconds=1), database=None)
@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=5), st.sampled_from([b"", b"\r\n", b"\r\n\r\n"]))
def test_stream_framer_splits_back_to_back_messages(messages: list[bytes], keepalive: bytes) -> None:
    """Responses sent back to back (a 100 then the 200) are split exactly, with keep-alive CRLFs between them."""
    framed = asyncio.run(_frame(b"".join(keepalive + m for m in messages)))
    assert framed == messages


STATUS_LINES = [
    ("SIP/2.0 200 OK", (200, "OK")),
    ("SIP/2.0 200", (200, "")),  # the reason phrase may be empty
    ("sip/2.0 486 Busy Here", (486, "Busy Here")),  # case-insensitive protocol name
    ("SIP/2.0 603 Từ chối", (603, "Từ chối")),  # UTF-8 reason phrase (RFC 3261 §25.1 allows it)
    ("SIP/2.0 2000 OK", None),
    ("SIP/2.0 099 Odd", None),
    ("SIP/2.0 700 Beyond", None),
    ("SIP/1.0 200 OK", None),
    ("OPTIONS sip:x SIP/2.0", None),  # a request, not a response
]


@pytest.mark.parametrize(("line", "expected"), STATUS_LINES, ids=[line for line, _ in STATUS_LINES])
def test_status_lines(line: str, expected: tuple[int, str] | None) -> None:
    """Only RFC 3261 status lines (three digits, 100–699) are responses; the reason phrase is kept as sent."""
    data = _response(REQUEST, 200, "OK", []).replace(b"SIP/2.0 200 OK", line.encode(), 1)
    if expected is None:
        with pytest.raises(SipParseError):
            parse_response(data)
    else:
        response = parse_response(data)
        assert (response.status, response.reason) == expected
