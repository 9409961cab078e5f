"""ICMP echo rounds for the whole process: ``await pinger.round(address, count=..., ...) -> [rtt or None, ...]``.

``pinger.echoes(...)`` gives the same round with each reply's hop limit (IPv4 TTL) as well, blackbox_exporter's
``probe_icmp_reply_hop_limit``: from the IP header on raw IPv4 sockets, from IP_RECVTTL / IPV6_RECVHOPLIMIT
ancillary data otherwise.

Echoes go out ``interval`` apart on a timer while replies are read concurrently by the event loop's reader
callbacks, so a lost echo never stalls a round; the round ends when every reply is in or ``timeout`` after
the last send. Each round has a random echo id and an 8-byte random token at the head of its payload; a
reply counts only when its id, sequence, source address and payload all match. Sends due in the same
millisecond share one event-loop timer; a late loop never bursts a round's echoes closer than half an
interval. An echo that cannot be sent ends the round with ``PingError`` (its errno), a full send buffer
only loses that echo.

Two engines, chosen once at start by ``probes.icmp.mode``:

- unprivileged (``SOCK_DGRAM``/``IPPROTO_ICMP[V6]``): one socket per round, bound to a random "port", which
  the kernel writes into the echo id and uses to hand each socket only its own replies (ids are kept
  unique within the process: the kernel lets two ping sockets bind one id and then feeds only one);
- privileged (raw): ONE raw socket per address family for the whole process. Every raw socket sees every
  ICMP packet, so a socket per round costs O(rounds²) work and lost half the replies at 256 concurrent
  targets (LAB.md "ICMP"); here one reader demultiplexes replies by (id, sequence) to the waiting rounds,
  and a kernel filter (ICMP_FILTER / ICMP6_FILTER) passes only echo replies, so our own echo requests on
  loopback never reach user space. The socket's own IP_TOS / IPV6_TCLASS is the first round's DSCP
  (AF41 normally, for every round); a round with another mark sends it as per-packet ancillary data.

RTTs: the send time is ``time.monotonic_ns()`` taken right before the send call; the receive time is the
kernel's arrival stamp (SO_TIMESTAMPNS) mapped onto the monotonic clock, so a busy event loop does not
inflate RTTs; without a kernel stamp ``time.monotonic_ns()`` at read time is used.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from probes.icmp.mode import IcmpMode

log = logging.getLogger(__name__)

# Linux values that Python 3.11's socket module does not export (asm-generic/socket.h, linux/icmp.h,
# linux/icmpv6.h); the same on x86-64 and arm64.
SO_TIMESTAMPNS = 35
SOL_RAW = 255
ICMP_FILTER = 1
ICMP6_FILTER = 1
IP_RECVTTL = 12  # linux/in.h; the reply's TTL arrives as an IP_TTL control message
_INT = struct.Struct("@i")
# Room for the two control messages a reply carries: its arrival stamp and its hop limit.
ANCILLARY_SIZE = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4)

ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
TOKEN_SIZE = 8  # random bytes at the head of each round's payload
SHARED_RCVBUF = 4 * 1024 * 1024  # a burst of replies from hundreds of targets must fit (LAB.md: 256+)
_HEADER = struct.Struct("!BBHHH")
_ID_SEQ = struct.Struct("!HH")
_TIMESPEC = struct.Struct("@qq")


class PingError(Exception):
    """An echo could not be sent (or no socket opened); ``errno`` tells the probe which reason code applies."""

    def __init__(self, address: str, exc: OSError) -> None:
        self.address = address
        self.errno = exc.errno
        super().__init__(f"cannot send ICMP echo to {address}: {exc.strerror or exc}")


def _resolve_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _checksum(data: bytes) -> int:
    """Internet checksum sum (RFC 1071) of ``data`` before folding and inversion."""
    if len(data) % 2:
        data += b"\0"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    return sum(words)


def _fold(total: int) -> int:
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _rx_ns(ancdata: list[tuple[int, int, bytes]], offset: int) -> int:
    """Arrival time on the monotonic clock: the kernel's realtime stamp minus the realtime-monotonic offset."""
    for level, kind, data in ancdata:  # the stamp and the hop limit, unless the kernel adds something new
        if kind == SO_TIMESTAMPNS and level == socket.SOL_SOCKET and len(data) >= _TIMESPEC.size:
            sec: int
            nsec: int
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec - offset
    return time.monotonic_ns()


_HOP_MESSAGES = frozenset({(socket.IPPROTO_IP, socket.IP_TTL), (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)})


def _hop_limit(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    """The reply's TTL (IPv4) or hop limit (IPv6) from its control messages, if the kernel gave one."""
    for level, kind, data in ancdata:
        if ((level, kind) in _HOP_MESSAGES) and len(data) >= _INT.size:
            value: int = _INT.unpack_from(data)[0]
            return value
    return None


def _enable_hop_limits(sock: socket.socket, family: int) -> None:
    try:
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    except OSError as exc:  # the series is then absent, as in blackbox
        log.debug("reply hop limits unavailable (%s)", exc)


@dataclass(frozen=True, slots=True)
class Echoes:
    """One round: per echo, its RTT in seconds and its reply's hop limit, None where no reply came."""

    rtts: list[float | None]
    hop_limits: list[int | None]


def _enable_timestamps(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError as exc:  # an exotic kernel: fall back to stamping at read time
        log.debug("SO_TIMESTAMPNS unavailable (%s); RTTs include event-loop delay", exc)


class _Round:
    """One round's state; replies are matched to it by the engine that read them."""

    __slots__ = ("done", "family", "hops", "ident", "payload", "peer", "received", "rtts", "sent_ns", "sockaddr")

    def __init__(
        self,
        peer: str,
        *,
        sockaddr: tuple[str, int] | tuple[str, int, int, int],
        family: int,
        count: int,
        payload: bytes,
        done: asyncio.Future[None],
    ) -> None:
        self.peer = peer
        self.sockaddr = sockaddr
        self.family = family
        self.payload = payload
        self.ident = 0
        self.sent_ns = [0] * count
        self.rtts: list[float | None] = [None] * count
        self.hops: list[int | None] = [None] * count
        self.received = 0
        self.done = done

    def send(self, sock: socket.socket, packet: bytes, ancdata: list[tuple[int, int, bytes]], seq: int) -> None:
        """Send one echo (with ``ancdata`` when its DSCP differs from the socket's) and note when."""
        stamp = time.monotonic_ns()
        try:
            if ancdata:
                sock.sendmsg((packet,), ancdata, 0, self.sockaddr)
            else:
                sock.sendto(packet, self.sockaddr)
        except (BlockingIOError, InterruptedError):  # send buffer full: this echo is lost, the round goes on
            log.debug("ICMP echo %d to %s dropped: socket send buffer full", seq, self.peer)
            return
        except OSError as exc:
            raise PingError(self.peer, exc) from exc
        self.sent_ns[seq] = stamp

    def on_reply(self, seq: int, rx_ns: int, source: str, data: bytes, start: int, *, hop: int | None) -> None:
        """A reply read from a socket; its payload is ``data[start:]`` (compared without copying)."""
        payload = self.payload
        if seq >= len(self.sent_ns) or source != self.peer or len(data) - start != len(payload):
            return
        if not data.endswith(payload):
            return
        sent = self.sent_ns[seq]
        if sent == 0 or self.rtts[seq] is not None:  # not sent by us yet, or a duplicate reply
            return
        self.rtts[seq] = max(rx_ns - sent, 0) / 1e9
        self.hops[seq] = hop
        self.received += 1
        if self.received == len(self.sent_ns) and not self.done.done():
            self.done.set_result(None)


class _SharedRaw:
    """The one raw socket of an address family, read by one event-loop reader for every round."""

    def __init__(self, family: int, rounds: dict[int, _Round]) -> None:
        self.family = family
        self.rounds = rounds  # ident → round, owned by the Pinger
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
                _enable_hop_limits(self.sock, family)  # raw IPv4 sockets hand over the IP header and its TTL
            try:  # root may exceed net.core.rmem_max; CAP_NET_RAW alone gets the capped size
                self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), SHARED_RCVBUF)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SHARED_RCVBUF)
            _enable_timestamps(self.sock)
        except BaseException:
            self.sock.close()
            raise
        self.bufsize = 2048
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dscp: int | None = None

    def set_dscp(self, dscp: int) -> None:
        """The mark of echoes sent without ancillary data; other marks travel per packet."""
        if self.family == socket.AF_INET:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, dscp << 2)
        else:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, dscp << 2)
        self.dscp = dscp

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read on ``loop``; a Pinger used from a new loop (tests) moves its reader there."""
        if self.loop is loop:
            return
        self.detach()
        loop.add_reader(self.sock.fileno(), self.on_readable)
        self.loop = loop

    def detach(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(self.sock.fileno())
        self.loop = None

    def on_readable(self) -> None:
        offset = time.time_ns() - time.monotonic_ns()
        header = 0
        while True:
            try:
                data, ancdata, _flags, addr = self.sock.recvmsg(self.bufsize, ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # a pending socket error, reported once; the loop calls again if data waits
                log.debug("raw ICMP socket: %s", exc)
                return
            if self.family == socket.AF_INET:  # raw IPv4 sockets deliver the IP header, IPv6 ones do not
                header = (data[0] & 0x0F) * 4
                if len(data) < header + 8 or data[header] != 0:
                    continue
                hop: int | None = data[8]  # the header's TTL
            elif len(data) < 8 or data[0] != 129:
                continue
            else:
                hop = _hop_limit(ancdata)
            ident, seq = _ID_SEQ.unpack_from(data, header + 4)
            rnd = self.rounds.get(ident)
            if rnd is not None:
                rnd.on_reply(seq, _rx_ns(ancdata, offset), addr[0], data, header + 8, hop=hop)

    def close(self) -> None:
        self.detach()
        self.sock.close()


class _Scheduler:
    """Runs the echo sends due in the same millisecond from ONE event-loop timer.

    A timer per echo costs a heap operation each (compared in Python); with hundreds of targets in step
    the sends fall due together, so a millisecond bucket turns thousands of timers into a few.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buckets: dict[int, list[tuple[Callable[[int], None], int]]] = {}

    def at(self, when: float, fn: Callable[[int], None], arg: int) -> None:
        tick = math.ceil(when * 1000)
        bucket = self.buckets.get(tick)
        if bucket is None:
            bucket = self.buckets[tick] = []
            self.loop.call_at(tick / 1000, self._run, tick)
        bucket.append((fn, arg))

    def _run(self, tick: int) -> None:
        for fn, arg in self.buckets.pop(tick):
            fn(arg)


class Pinger:
    """Runs ICMP echo rounds in the mode detected at start; make one per process and ``close()`` it."""

    def __init__(self, mode: IcmpMode) -> None:
        if not mode.usable:
            raise ValueError(f"ICMP is not usable: {mode.message}")
        self.mode = mode
        self._shared: dict[int, _SharedRaw] = {}
        self._rounds: dict[int, dict[int, _Round]] = {socket.AF_INET: {}, socket.AF_INET6: {}}
        self._closed = False
        self._schedulers: dict[asyncio.AbstractEventLoop, _Scheduler] = {}

    def _scheduler(self, loop: asyncio.AbstractEventLoop) -> _Scheduler:
        scheduler = self._schedulers.get(loop)
        if scheduler is None:
            self._schedulers = {loop: (scheduler := _Scheduler(loop))}  # forget the loops of earlier tests
        return scheduler

    @property
    def mode_name(self) -> Literal["unprivileged", "privileged"]:
        return "privileged" if self.mode.privileged else "unprivileged"

    async def round(
        self,
        address: str,
        *,
        count: int,
        interval: float,
        timeout: float,
        payload_size: int = 56,
        dscp: int = 0,
        family: Literal[4, 6] | None = None,
    ) -> list[float | None]:
        """Send ``count`` echoes to the IP address; RTT in seconds per echo, None where no reply came."""
        round_ = await self.echoes(
            address,
            count=count,
            interval=interval,
            timeout=timeout,
            payload_size=payload_size,
            dscp=dscp,
            family=family,
        )
        return round_.rtts

    async def echoes(
        self,
        address: str,
        *,
        count: int,
        interval: float,
        timeout: float,
        payload_size: int = 56,
        dscp: int = 0,
        family: Literal[4, 6] | None = None,
    ) -> Echoes:
        """As ``round``, with each reply's hop limit."""
        if self._closed:
            raise RuntimeError("the Pinger is closed")
        host, _, scope = address.partition("%")
        af = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:  # canonical text, as the kernel reports reply sources (cheaper than ipaddress, per round)
            peer = socket.inet_ntop(af, socket.inet_pton(af, host))
        except OSError:
            raise ValueError(f"{address!r} is not an IP address") from None
        if family is not None and family != (4 if af == socket.AF_INET else 6):
            raise ValueError(f"{address} is not an IPv{family} address")
        sockaddr: tuple[str, int] | tuple[str, int, int, int] = (
            (peer, 0) if af == socket.AF_INET else (f"{peer}%{scope}" if scope else peer, 0, 0, 0)
        )
        token = random.randbytes(TOKEN_SIZE)  # tells our replies from strays; no secret
        payload = (token + bytes(range(256)) * (payload_size // 256 + 1))[:payload_size]
        loop = asyncio.get_running_loop()
        rnd = _Round(peer, sockaddr=sockaddr, family=af, count=count, payload=payload, done=loop.create_future())
        send, cleanup = self._open_raw(rnd, loop, dscp) if self.mode.privileged else self._open_dgram(rnd, loop, dscp)
        timer: asyncio.TimerHandle | None = None
        schedule = self._scheduler(loop)
        start = loop.time()

        def fire(seq: int) -> None:
            """Send echo ``seq`` and schedule the next one, or arm the end of the round."""
            nonlocal timer
            if rnd.done.done():  # ended (cancelled, closed) while this echo waited its turn
                return
            try:
                send(seq)
            except Exception as exc:  # PingError, or a bug: either way it ends this round, raised to its caller
                rnd.done.set_exception(exc)
                return
            if seq + 1 < count:
                # On schedule, but never closer than half an interval to the previous echo when the
                # loop runs late: a burst would queue on a real link and inflate the RTTs it measures.
                schedule.at(max(start + (seq + 1) * interval, loop.time() + interval / 2), fire, seq + 1)
            else:
                timer = loop.call_later(timeout, _resolve_once, rnd.done)

        try:
            fire(0)
            await rnd.done
        finally:
            _resolve_once(rnd.done)  # echoes still queued in the scheduler see the round is over
            if timer is not None:
                timer.cancel()
            cleanup()
        return Echoes(rnd.rtts, rnd.hops)

    def _open_raw(
        self, rnd: _Round, loop: asyncio.AbstractEventLoop, dscp: int
    ) -> tuple[Callable[[int], None], Callable[[], None]]:
        shared = self._shared.get(rnd.family)
        if shared is None:
            try:
                shared = self._shared[rnd.family] = _SharedRaw(rnd.family, self._rounds[rnd.family])
            except OSError as exc:
                raise PingError(rnd.peer, exc) from exc
        shared.attach(loop)
        shared.bufsize = max(shared.bufsize, len(rnd.payload) + 128)
        rounds = self._rounds[rnd.family]
        ident = random.randrange(1, 0x10000)
        while ident in rounds:  # unique among this process's rounds in flight
            ident = random.randrange(1, 0x10000)
        rnd.ident = ident
        rounds[ident] = rnd
        if shared.dscp is None:  # the first round's mark becomes the socket's own (normally AF41 for all)
            shared.set_dscp(dscp)
        ancdata: list[tuple[int, int, bytes]] = []
        if rnd.family == socket.AF_INET:
            if dscp != shared.dscp:
                ancdata = [(socket.IPPROTO_IP, socket.IP_TOS, struct.pack("i", dscp << 2))]
            base = _checksum(rnd.payload) + (ECHO_REQUEST[rnd.family] << 8) + ident
        else:  # the kernel computes ICMPv6 checksums on raw sockets (RFC 3542 §3.1)
            if dscp != shared.dscp:
                ancdata = [(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, struct.pack("i", dscp << 2))]
            base = -1
        sock, request, payload = shared.sock, ECHO_REQUEST[rnd.family], rnd.payload

        def send(seq: int) -> None:
            checksum = _fold(base + seq) if base >= 0 else 0
            rnd.send(sock, _HEADER.pack(request, 0, checksum, ident, seq) + payload, ancdata, seq)

        def cleanup() -> None:
            if rounds.get(ident) is rnd:
                del rounds[ident]

        return send, cleanup

    def _open_dgram(
        self, rnd: _Round, loop: asyncio.AbstractEventLoop, dscp: int
    ) -> tuple[Callable[[int], None], Callable[[], None]]:
        v4 = rnd.family == socket.AF_INET
        try:
            sock = socket.socket(rnd.family, socket.SOCK_DGRAM, socket.IPPROTO_ICMP if v4 else socket.IPPROTO_ICMPV6)
        except OSError as exc:
            raise PingError(rnd.peer, exc) from exc
        try:
            sock.setblocking(False)
            if v4:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, dscp << 2)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, dscp << 2)
            _enable_timestamps(sock)
            _enable_hop_limits(sock, rnd.family)
            rnd.ident = self._bind_random_id(sock, rnd.family)
        except OSError as exc:
            sock.close()
            raise PingError(rnd.peer, exc) from exc
        rounds = self._rounds[rnd.family]
        rounds[rnd.ident] = rnd
        reply = ECHO_REPLY[rnd.family]

        bufsize = len(rnd.payload) + 64

        def on_readable() -> None:
            # One datagram per call: a round's socket rarely holds two, and the event loop calls again
            # while data waits; draining until EAGAIN would cost an exception per reply.
            try:
                data, ancdata, _flags, addr = sock.recvmsg(bufsize, ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # a pending socket error, reported once
                log.debug("ICMP socket for %s: %s", rnd.peer, exc)
                return
            # Ping sockets hand over the ICMP message without IP header, the id already matched.
            if len(data) >= 8 and data[0] == reply:
                _ident, seq = _ID_SEQ.unpack_from(data, 4)
                offset = time.time_ns() - time.monotonic_ns()
                rnd.on_reply(seq, _rx_ns(ancdata, offset), addr[0], data, 8, hop=_hop_limit(ancdata))

        loop.add_reader(sock.fileno(), on_readable)
        request, payload = ECHO_REQUEST[rnd.family], rnd.payload

        def send(seq: int) -> None:
            # id and checksum are filled in by the kernel for ping sockets
            rnd.send(sock, _HEADER.pack(request, 0, 0, 0, seq) + payload, [], seq)

        def cleanup() -> None:
            if rounds.get(rnd.ident) is rnd:
                del rounds[rnd.ident]
            if not loop.is_closed():
                loop.remove_reader(sock.fileno())
            sock.close()

        return send, cleanup

    def _bind_random_id(self, sock: socket.socket, family: int) -> int:
        """Bind a ping socket to a random id no other round of this process uses.

        The kernel (6.x) lets two ping sockets bind the same id and then hands each reply to only one of
        them, so uniqueness within the process is ours to keep; the kernel's own choice would be sequential.
        """
        rounds = self._rounds[family]
        for _ in range(64):
            ident = random.randrange(1, 0x10000)
            if ident in rounds:
                continue
            try:
                sock.bind(("0.0.0.0", ident) if family == socket.AF_INET else ("::", ident, 0, 0))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            return ident
        raise OSError(errno.EADDRINUSE, "no free ICMP echo id (65535 rounds in flight?)")

    def close(self) -> None:
        """Close the shared sockets and end the rounds still waiting (they return what they have)."""
        self._closed = True
        for rounds in self._rounds.values():
            for rnd in rounds.values():
                if not rnd.done.done() and not rnd.done.get_loop().is_closed():
                    rnd.done.set_result(None)
        for shared in self._shared.values():
            shared.close()
        self._shared.clear()
