"""The ICMP sockets of the two modes, echo packets, and reading replies in bursts with their kernel stamps.

- privileged (raw): ONE raw socket per address family for the whole process. Every raw socket sees every
  ICMP packet, so a socket per round costs O(rounds²) work and lost half the replies at 256 concurrent
  targets; here one read burst demultiplexes replies by echo id to the waiting rounds,
  and a kernel filter (ICMP_FILTER / ICMP6_FILTER) passes only echo replies, so our own echo requests on
  loopback never reach user space. The socket's own IP_TOS / IPV6_TCLASS is the first round's DSCP
  (AF41 normally, for every round); a round with another mark sends it as per-packet ancillary data.
- unprivileged (``SOCK_DGRAM``/``IPPROTO_ICMP[V6]``): one socket per round, bound to a random "port", which
  the kernel writes into the echo id and uses to hand each socket only its own replies (ids are kept
  unique within the process: the kernel lets two ping sockets bind one id and then feeds only one). The
  sockets are watched by one epoll set of our own, so a read burst asks the kernel once which have replies.

Each reply's hop limit (IPv4 TTL) comes with it for free or nearly: raw IPv4 sockets hand over the IP header
(its TTL byte), the others are asked for it as ancillary data next to the kernel's time stamp (IP_RECVTTL,
IPV6_RECVHOPLIMIT), so a read burst stays one ``recvmsg`` per reply; -1 where the kernel gave none.
"""

from __future__ import annotations

import errno
import logging
import random
import select
import socket
import struct
import time
from collections.abc import Callable, Container, Mapping
from typing import Protocol

log = logging.getLogger(__name__)

# Linux values that Python 3.11's socket module does not export (asm-generic/socket.h, linux/icmp.h,
# linux/icmpv6.h); the same on x86-64 and arm64.
SO_TIMESTAMPNS = 35
SOL_RAW = 255
ICMP_FILTER = 1
ICMP6_FILTER = 1
IP_RECVTTL = 12  # linux/in.h; the TTL then arrives as an IP_TTL control message

ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
TOKEN_SIZE = 8  # random bytes at the head of each round's payload
SHARED_RCVBUF = 4 * 1024 * 1024  # a burst of replies from hundreds of targets must fit (256+ at once)
ANCBUF = 64  # room for SCM_TIMESTAMPNS (CMSG_SPACE(16) = 32) and a TTL / hop limit (CMSG_SPACE(4) = 24)
ECHO_FIELDS = struct.Struct("!HHH")  # checksum, id, sequence: bytes 2-7 of an echo message
_ID_SEQ = struct.Struct("!HH")
_SEQ = struct.Struct("!H")
_TIMESPEC = struct.Struct("@qq")
_TIMESPEC_FROM = _TIMESPEC.unpack_from
_SOL_SOCKET = socket.SOL_SOCKET
_INT = struct.Struct("@i")
_HOP_KINDS = {(socket.IPPROTO_IP, socket.IP_TTL), (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)}


class PingError(Exception):
    """An echo could not be sent (or no socket opened); ``errno`` tells the probe which reason code applies."""

    def __init__(self, address: str, exc: OSError) -> None:
        self.address = address
        self.errno = exc.errno
        super().__init__(f"cannot send ICMP echo to {address}: {exc.strerror or exc}")


class Receiver(Protocol):
    """A round as the sockets see it: told of every reply carrying its echo id."""

    def on_reply(self, seq: int, rx_ns: int, source: str, data: bytes, start: int, hop: int) -> None:  # noqa: PLR0917 (per reply: positional is cheaper)
        """A reply, its payload ``data[start:]``, stamped ``rx_ns`` on the monotonic clock; its hop limit or -1."""


def echo_template(family: int, payload: bytes) -> bytearray:
    """An echo request with zero checksum, id and sequence, to be filled in by ``ECHO_FIELDS`` per echo."""
    return bytearray(bytes((ECHO_REQUEST[family], 0, 0, 0, 0, 0, 0, 0)) + payload)


def checksum_base(message: bytes) -> int:
    """Internet checksum sum (RFC 1071) of an ICMP message before folding and inversion."""
    if len(message) % 2:
        message += b"\0"
    words: tuple[int, ...] = struct.unpack(f"!{len(message) // 2}H", message)
    return sum(words)


def fold(total: int) -> int:
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def stamp_offset(*, samples: int = 3, clocks: tuple[Callable[[], int], Callable[[], int]] | None = None) -> int:
    """The realtime clock minus the monotonic one, to map the kernel's (realtime) stamps onto monotonic time.

    Each sample reads the realtime clock between two monotonic reads; the narrowest bracket wins. Another
    thread (the /metrics render) can take the GIL between any two reads for milliseconds, and a single pair
    read across such a switch shifts every RTT of that drain by the switch: at 10,000 sites that made a
    false ``link_jitter`` on healthy loopback (bench/RESULTS.md, "Whole service at scale", quiet machine).
    """
    realtime, monotonic = clocks if clocks is not None else (time.time_ns, time.monotonic_ns)
    best_width, best = -1, 0
    for _ in range(samples):
        before = monotonic()
        now = realtime()
        after = monotonic()
        width = after - before
        if best_width < 0 or width < best_width:
            best_width, best = width, now - (before + after) // 2
    return best


def _rx_ns(ancdata: list[tuple[int, int, bytes]], offset: int) -> int:
    """Arrival time on the monotonic clock: the kernel's realtime stamp minus the realtime-monotonic offset."""
    for level, kind, data in ancdata:  # the stamp and perhaps the hop limit, unless the kernel adds more
        if kind == SO_TIMESTAMPNS and level == socket.SOL_SOCKET and len(data) >= _TIMESPEC.size:
            sec: int
            nsec: int
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec - offset
    return time.monotonic_ns()


def _hop(ancdata: list[tuple[int, int, bytes]]) -> int:
    """The reply's hop limit from its IP_TTL / IPV6_HOPLIMIT control message; -1 without one."""
    for level, kind, data in ancdata:
        if (level, kind) in _HOP_KINDS and len(data) >= _INT.size:
            hop: int = _INT.unpack_from(data)[0]
            return hop
    return -1


def _enable_hop_limits(sock: socket.socket, family: int) -> None:
    try:
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    except OSError as exc:  # not fatal: the hop limit is a detail, the RTTs are the measurement
        log.debug("the kernel will not report reply hop limits (%s)", exc)


def _enable_timestamps(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError as exc:  # an exotic kernel: fall back to stamping at read time
        log.debug("SO_TIMESTAMPNS unavailable (%s); RTTs include the wait until the replies are read", exc)


def _set_dscp(sock: socket.socket, family: int, dscp: int) -> None:
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, dscp << 2)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, dscp << 2)


class RawSocket:
    """The one raw socket of an address family, shared by every round of the process."""

    def __init__(self, family: int) -> None:
        self.family = family
        proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
        self.sock = socket.socket(family, socket.SOCK_RAW, proto)
        try:
            self.sock.setblocking(False)
            if family == socket.AF_INET:
                # ICMP_FILTER: a bit set = that type is dropped in the kernel; pass only echo replies.
                self.sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~(1 << 0) & 0xFFFFFFFF))
            else:
                words = [0xFFFFFFFF] * 8  # struct icmp6_filter: a bit set = blocked
                words[129 >> 5] &= ~(1 << (129 & 31))
                self.sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *words))
            try:  # root may exceed net.core.rmem_max; CAP_NET_RAW alone gets the capped size
                self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), SHARED_RCVBUF)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SHARED_RCVBUF)
            _enable_timestamps(self.sock)
            if family == socket.AF_INET6:  # IPv4: the TTL is in the IP header raw sockets deliver
                _enable_hop_limits(self.sock, family)
        except BaseException:
            self.sock.close()
            raise
        self.bufsize = 2048
        self.dscp: int | None = None

    def ancdata_for(self, dscp: int) -> list[tuple[int, int, bytes]]:
        """What a round with this mark sends along each echo: nothing when it is the socket's own mark."""
        if self.dscp is None:  # the first round's mark becomes the socket's own (normally AF41 for all)
            _set_dscp(self.sock, self.family, dscp)
            self.dscp = dscp
        if dscp == self.dscp:
            return []
        if self.family == socket.AF_INET:
            return [(socket.IPPROTO_IP, socket.IP_TOS, struct.pack("i", dscp << 2))]
        return [(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, struct.pack("i", dscp << 2))]

    def drain(self, rounds: Mapping[int, Receiver], offset: int) -> None:
        """Read every waiting reply (until EAGAIN) and hand each to the round its echo id names."""
        recvmsg, bufsize, v4 = self.sock.recvmsg, self.bufsize, self.family == socket.AF_INET
        header = 0
        hop = -1
        while True:
            try:
                data, ancdata, _flags, addr = recvmsg(bufsize, ANCBUF)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # a pending socket error, reported once
                log.debug("raw ICMP socket: %s", exc)
                return
            if v4:  # raw IPv4 sockets deliver the IP header, IPv6 ones do not
                header = (data[0] & 0x0F) * 4
                if len(data) < header + 8 or data[header] != 0:
                    continue
                hop = data[8]  # the IP header's TTL
            elif len(data) < 8 or data[0] != 129:
                continue
            ident, seq = _ID_SEQ.unpack_from(data, header + 4)
            rnd = rounds.get(ident)
            if rnd is None:
                continue
            # The kernel's stamp, read inline (this runs per reply); _rx_ns handles anything unusual.
            if len(ancdata) == 1 and ancdata[0][1] == SO_TIMESTAMPNS and ancdata[0][0] == _SOL_SOCKET:
                sec, nsec = _TIMESPEC_FROM(ancdata[0][2])
                rx_ns = sec * 1_000_000_000 + nsec - offset
            else:
                rx_ns = _rx_ns(ancdata, offset)
                if not v4:
                    hop = _hop(ancdata)
            rnd.on_reply(seq, rx_ns, addr[0], data, header + 8, hop)

    def close(self) -> None:
        self.sock.close()


class PingSockets:
    """The unprivileged mode's sockets, one per round in flight, and the epoll set that watches them."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._open: dict[int, tuple[socket.socket, int, int, Receiver]] = {}  # fd → socket, bufsize, reply type, round

    @property
    def count(self) -> int:
        return len(self._open)

    def open(
        self, rnd: Receiver, *, family: int, dscp: int, payload_size: int, taken: Container[int]
    ) -> tuple[int, int]:
        """A ping socket for one round, watched for replies; return its fd and the echo id it is bound to.

        Not connected: on a connected ping socket a router's "administratively prohibited" becomes an error
        of the next send (the kernel's ping_err); unconnected, such an echo just counts as lost.
        """
        v4 = family == socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM, socket.IPPROTO_ICMP if v4 else socket.IPPROTO_ICMPV6)
        try:
            sock.setblocking(False)
            _set_dscp(sock, family, dscp)
            _enable_timestamps(sock)
            _enable_hop_limits(sock, family)
            ident = _bind_random_id(sock, family, taken)
            if self._epoll is None:
                self._epoll = select.epoll()
            self._epoll.register(sock.fileno(), select.EPOLLIN)
        except BaseException:
            sock.close()
            raise
        self._open[sock.fileno()] = (sock, payload_size + 64, ECHO_REPLY[family], rnd)
        return sock.fileno(), ident

    def socket(self, fd: int) -> socket.socket:
        return self._open[fd][0]

    def drain(self, offset: int) -> None:
        """Read every waiting reply: ask epoll which sockets hold one, read one from each, until none do."""
        if self._epoll is None:
            return
        poll, sockets = self._epoll.poll, self._open
        for _ in range(64):  # bounded, should a socket stay readable without yielding a datagram
            ready = poll(0)
            if not ready:
                return
            for fd, _events in ready:
                entry = sockets.get(fd)
                if entry is None:
                    continue
                sock, bufsize, reply, rnd = entry
                try:
                    data, ancdata, _flags, addr = sock.recvmsg(bufsize, ANCBUF)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:  # a pending socket error, reported once
                    log.debug("ICMP socket of a round: %s", exc)
                    continue
                # Ping sockets hand over the ICMP message without IP header, the id already matched.
                if len(data) < 8 or data[0] != reply:
                    continue
                # The kernel's stamp then the hop limit, read inline (this runs per reply); else the helpers.
                if (
                    len(ancdata) == 2
                    and ancdata[0][1] == SO_TIMESTAMPNS
                    and ancdata[0][0] == _SOL_SOCKET
                    and (ancdata[1][0], ancdata[1][1]) in _HOP_KINDS
                ):
                    sec, nsec = _TIMESPEC_FROM(ancdata[0][2])
                    rx_ns = sec * 1_000_000_000 + nsec - offset
                    hop = _INT.unpack_from(ancdata[1][2])[0]
                else:
                    rx_ns, hop = _rx_ns(ancdata, offset), _hop(ancdata)
                rnd.on_reply(_SEQ.unpack_from(data, 6)[0], rx_ns, addr[0], data, 8, hop)

    def close(self, fd: int) -> None:
        entry = self._open.pop(fd, None)
        if entry is None:
            return
        if self._epoll is not None:
            self._epoll.unregister(fd)
        entry[0].close()

    def close_all(self) -> None:
        for fd in list(self._open):
            self.close(fd)
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None


def _bind_random_id(sock: socket.socket, family: int, taken: Container[int]) -> int:
    """Bind a ping socket to a random id no other round of this process uses.

    The kernel (6.x) lets two ping sockets bind the same id and then hands each reply to only one of
    them, so uniqueness within the process is ours to keep; the kernel's own choice would be sequential.
    """
    for _ in range(64):
        ident = random.randrange(1, 0x10000)
        if ident in taken:
            continue
        try:
            sock.bind(("0.0.0.0", ident) if family == socket.AF_INET else ("::", ident, 0, 0))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return ident
    raise OSError(errno.EADDRINUSE, "no free ICMP echo id (65535 rounds in flight?)")
