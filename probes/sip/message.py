"""SIP OPTIONS messages: build one request, parse and match the responses (RFC 3261 §7, §8.1.1, §17.1.3).

No SIP stack: a probe only needs one request and its final response. The parser takes untrusted bytes
from the network (anyone can send a datagram to our port), so it is bounded and total: for any input it
returns a ``SipResponse`` or raises ``SipParseError`` (tests/test_sip_fuzz.py drives it with hypothesis).

A response belongs to our request when its topmost Via carries our branch and its Call-ID and CSeq
(number and method) are ours (RFC 3261 §17.1.3 matches on branch and CSeq method; the Call-ID check
costs nothing and keeps a stray reply to another client on the same port out).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from probes.core.settings import join_host_port
from probes.core.version import __version__

MAX_MESSAGE = 65_535  # the largest UDP payload; over TCP a larger header block is refused
MAX_HEADERS = 200  # more header fields than any real response has: refuse rather than work through them
MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7: branch of an RFC 3261 client transaction
USER_AGENT = f"giaoban/{__version__}"

# RFC 3261 §7.3.3 compact forms of the headers we read.
_COMPACT = {"v": "via", "i": "call-id", "l": "content-length", "f": "from", "t": "to", "m": "contact"}
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9])(?: ([^\r\n]*))?", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_BRANCH = re.compile(r";\s*branch\s*=\s*([^;,\s]+)", re.IGNORECASE)
_CSEQ = re.compile(r"([0-9]{1,10})\s+([A-Za-z]+)")


class SipParseError(ValueError):
    """The bytes are not a SIP response this client can use."""


@dataclass(frozen=True, slots=True)
class SipRequest:
    """One OPTIONS request and what identifies its responses."""

    data: bytes
    branch: str
    call_id: str
    cseq: int


@dataclass(frozen=True, slots=True)
class SipResponse:
    status: int
    reason: str
    branch: str  # of the topmost Via; "" when it has none
    call_id: str
    cseq: int
    cseq_method: str
    headers: tuple[tuple[str, str], ...]  # (lower-case full name, value), in order

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (full lower-case name)."""
        return next((value for key, value in self.headers if key == name), None)

    def matches(self, request: SipRequest) -> bool:
        return (
            self.branch == request.branch
            and self.call_id == request.call_id
            and self.cseq == request.cseq
            and self.cseq_method.upper() == "OPTIONS"
        )


def _token() -> str:
    return secrets.token_hex(8)


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def build_options(
    *,
    transport: str,
    local: tuple[str, int],
    remote: tuple[str, int],
    request_user: str | None,
    from_user: str,
) -> SipRequest:
    """An OPTIONS request from ``local`` to ``remote`` (addresses as used on the wire) over ``transport``."""
    branch, tag, call_id = MAGIC_COOKIE + _token(), _token(), f"{_token()}@giaoban"
    cseq = 1  # one request per Call-ID: nothing to increment
    here = join_host_port(*local)
    there = join_host_port(*remote)
    uri = f"sip:{request_user}@{there}" if request_user else f"sip:{there}"
    if transport != "udp":
        uri += f";transport={transport}"
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        # rport (RFC 3581): a codec behind NAT answers to the address and port we sent from.
        f"Via: SIP/2.0/{transport.upper()} {here};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{from_user}@{_uri_host(local[0])}>;tag={tag}",
        f"To: <{uri}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} OPTIONS",
        f"Contact: <sip:{from_user}@{here};transport={transport}>",
        "Accept: application/sdp",
        f"User-Agent: {USER_AGENT}",
        "Content-Length: 0",
    ]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return SipRequest(data=data, branch=branch, call_id=call_id, cseq=cseq)


def _unfold(block: str) -> list[str]:
    """Header lines with continuation lines (leading space or tab, RFC 3261 §7.3.1) joined."""
    lines: list[str] = []
    for line in block.split("\r\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def header_block_end(data: bytes | bytearray) -> int:
    """Index just past the blank line that ends the start line and headers, or -1 if it has not arrived."""
    end = data.find(b"\r\n\r\n")
    return -1 if end < 0 else end + 4


def content_length(head: bytes) -> int:
    """Content-Length of a header block (needed to frame a stream; RFC 3261 §18.3 makes it mandatory there)."""
    for line in _unfold(head.decode("utf-8", "replace")):
        name, sep, value = line.partition(":")
        if sep and _COMPACT.get(name.strip().lower(), name.strip().lower()) == "content-length":
            value = value.strip()
            if not value.isdigit() or len(value) > 9:
                raise SipParseError(f"bad Content-Length {value[:20]!r}")
            return int(value)
    raise SipParseError("no Content-Length on a stream transport")


def parse_response(data: bytes) -> SipResponse:
    """Parse one response (start line, headers; the body is not read). Raise SipParseError if unusable."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE}")
    end = header_block_end(data)
    # Over UDP a datagram is a whole message: a missing blank line means a truncated or foreign datagram,
    # but a lenient peer may also drop it after the last header; accept both.
    head = data[: end - 4] if end >= 0 else data.rstrip(b"\r\n")
    text = head.decode("utf-8", "replace")
    lines = _unfold(text)
    match = _STATUS_LINE.fullmatch(lines[0]) if lines else None
    if match is None:
        raise SipParseError(f"not a SIP response: {lines[0][:60]!r}" if lines else "empty message")
    if len(lines) - 1 > MAX_HEADERS:
        raise SipParseError(f"more than {MAX_HEADERS} header fields")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not _TOKEN.fullmatch(name):
            raise SipParseError(f"malformed header line {line[:60]!r}")
        headers.append((_COMPACT.get(name.lower(), name.lower()), value.strip()))
    via = next((value for key, value in headers if key == "via"), None)
    call_id = next((value for key, value in headers if key == "call-id"), None)
    cseq_text = next((value for key, value in headers if key == "cseq"), None)
    if via is None or call_id is None or cseq_text is None:
        raise SipParseError("response lacks Via, Call-ID or CSeq")
    top_via = via.split(",", 1)[0]  # several Via values may share one header line
    branch = _BRANCH.search(top_via)
    cseq = _CSEQ.fullmatch(cseq_text)
    if cseq is None:
        raise SipParseError(f"bad CSeq {cseq_text[:40]!r}")
    return SipResponse(
        status=int(match.group(1)),
        reason=(match.group(2) or "").strip(),
        branch=branch.group(1) if branch else "",
        call_id=call_id,
        cseq=int(cseq.group(1)),
        cseq_method=cseq.group(2),
        headers=tuple(headers),
    )
