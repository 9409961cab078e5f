"""ICMP echo rounds for the whole process: ``await pinger.round(address, count=..., ...) -> [rtt or None, ...]``.

One pacing loop per event loop runs every round, as fping and smokeping_prober do (issue 16): on each
wake-up it sends every echo that is due, across all rounds, reads every reply waiting on the sockets in one
burst, ends the rounds whose time is up, and sleeps on one timer until the next thing is due. Rounds wait
in buckets keyed by the time they next need it (a time wheel): their next echo, or, once all are sent,
their next reading (every ``POLL_NS``) and their end. A round's echoes are ``interval`` apart on a grid of
at most ``TICK_NS`` (± half of it), so that the echoes of different rounds share wake-ups, and never
closer than half an interval when the loop runs late (a burst would queue on a real link and inflate the
RTTs it measures). The sockets are not watched by the event loop: a reply wake-up per echo was most of the
cost (issue 16), and replies wait in the socket with their kernel stamps until the next wake-up reads
them. Per echo there is no timer, future or closure: a list append, a send, a read.

A round ends when every reply is in, or ``timeout`` after its last echo (a reply that arrives later does
not count). Each round has a random echo id and an 8-byte random token at the head of its payload; a reply
counts only when its id, sequence, source address and payload all match. An echo that cannot be sent ends
the round with ``PingError`` (its errno), a full send buffer only loses that echo.

RTTs: the send time is ``time.monotonic_ns()`` taken right before the send call; the receive time is the
kernel's arrival stamp (SO_TIMESTAMPNS) mapped onto the monotonic clock, so neither a busy event loop nor
reading replies in bursts inflates RTTs; without a kernel stamp the read time is used. A round returns its RTTs as
``Echoes``, a list that also carries the hop limit (IPv4 TTL) of its first reply in send order, read with
each reply at no extra system call (probes.icmp.sockets). The sockets of the
two modes (chosen once at start by ``probes.icmp.mode``) are in ``probes.icmp.sockets``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import socket
import time
from typing import Literal

from probes.core.context import Echoes
from probes.icmp.mode import IcmpMode
from probes.icmp.sockets import (
    ECHO_FIELDS,
    TOKEN_SIZE,
    PingError,
    PingSockets,
    RawSocket,
    checksum_base,
    echo_template,
    stamp_offset,
)

__all__ = ["PingError", "Pinger"]

log = logging.getLogger(__name__)

NS = 1_000_000_000
# Echoes paced 200 ms apart go on a 50 ms grid (± 25 ms: 150-250 ms apart, never under half the interval), so
# rounds share wake-ups: at a 60 s interval a wake-up of this VM costs 100-300 µs of CPU under load, which a
# 10 ms grid paid for every 1-2 echoes (bench/RESULTS.md, "Whole service at scale"). Fast rounds (tests:
# 10-20 ms apart) get a grid of a quarter of their interval.
TICK_NS = 50_000_000
GRID_SHARE = 4
POLL_NS = 10_000_000  # a round that sent its last echo has its replies read this often until its end
EARLY_NS = 100_000  # a wake-up sends what falls due this soon rather than sleeping again for it
NEVER = 1 << 62
_monotonic_ns = time.monotonic_ns
_FILLER = bytes(range(256)) * 256  # the payload after the token: bytes 0, 1, 2, ... (up to 64 KiB)
_ECHO_FIELDS_INTO = ECHO_FIELDS.pack_into


class _Round:
    """One round: its echoes' send stamps and RTTs in preallocated slots, and the one future it awaits."""

    __slots__ = (
        "ancdata",
        "base",
        "count",
        "deadline_ns",
        "done",
        "family",
        "fd",
        "grid",
        "hop_limit",
        "hop_seq",
        "ident",
        "interval_ns",
        "next_seq",
        "over",
        "packet",
        "payload",
        "peer",
        "received",
        "rtts",
        "sent_ns",
        "sockaddr",
        "start_ns",
        "timeout_ns",
        "tx",
    )

    def __init__(
        self,
        peer: str,
        *,
        sockaddr: tuple[str, int] | tuple[str, int, int, int],
        family: int,
        count: int,
        interval: float,
        timeout: float,
        payload: bytes,
        done: asyncio.Future[None],
    ) -> None:
        self.peer = peer
        self.family = family
        self.sockaddr = sockaddr
        self.payload = payload
        self.count = count
        self.interval_ns = round(interval * NS)
        # Rounds paced 200 ms apart share the 50 ms grid; fast ones (tests: 10 ms) get a finer one.
        self.grid = min(TICK_NS, self.interval_ns // GRID_SHARE)
        self.timeout_ns = round(timeout * NS)
        self.done = done
        self.sent_ns = [0] * count
        self.rtts: list[float | None] = [None] * count
        self.received = 0
        self.hop_limit = -1  # of the first reply in send order (hop_seq), as blackbox_exporter's one echo
        self.hop_seq = count
        self.next_seq = 0
        self.start_ns = 0
        self.deadline_ns = NEVER
        self.over = False
        self.ident = 0
        self.tx: socket.socket  # the socket it sends on, the shared raw one or its own, set when opened
        self.fd = -1  # its own ping socket's, to close
        self.packet = echo_template(family, payload)
        self.ancdata: list[tuple[int, int, bytes]] = []
        self.base = -1  # the checksum's sum without the sequence; -1: the kernel computes it

    def fire(self, now: int) -> int:
        """Send the next echo; return when this round next needs the pacer (its next echo, or a reading)."""
        seq = self.next_seq
        self.next_seq = seq + 1
        packet = self.packet
        base = self.base
        if base >= 0:  # RFC 1071 checksum: the round's sum plus the sequence, folded
            base += seq
            base = (base >> 16) + (base & 0xFFFF)
            base = ~(base + (base >> 16)) & 0xFFFF
        else:
            base = 0
        _ECHO_FIELDS_INTO(packet, 2, base, self.ident, seq)
        stamp = _monotonic_ns()
        try:
            if self.ancdata:
                self.tx.sendmsg((packet,), self.ancdata, 0, self.sockaddr)
            else:
                self.tx.sendto(packet, self.sockaddr)
        except (BlockingIOError, InterruptedError):  # send buffer full: this echo is lost, the round goes on
            log.debug("ICMP echo %d to %s dropped: socket send buffer full", seq, self.peer)
        except OSError as exc:
            raise PingError(self.peer, exc) from exc
        else:
            self.sent_ns[seq] = stamp
        if seq + 1 < self.count:
            # On schedule, but never closer than half an interval to the previous echo when the
            # loop runs late: a burst would queue on a real link and inflate the RTTs it measures.
            due = self.start_ns + (seq + 1) * self.interval_ns
            earliest = stamp + (self.interval_ns >> 1)
            due = earliest if due < earliest else due  # not max(): this runs per echo
            grid = self.grid
            return (due + (grid >> 1)) // grid * grid if grid else due
        self.deadline_ns = stamp + self.timeout_ns
        return self.recheck(now)

    def recheck(self, now: int) -> int:
        """When to read this round's replies next: after ``POLL_NS`` (on its grid), at the latest at its end."""
        grid = self.grid
        soon = -(-(now + POLL_NS) // grid) * grid if grid else now + POLL_NS
        end = -(-self.deadline_ns // grid) * grid if grid else self.deadline_ns
        return min(soon, end)

    def on_reply(self, seq: int, rx_ns: int, source: str, data: bytes, start: int, hop: int) -> None:  # noqa: PLR0917 (per reply: positional is cheaper)
        if seq >= self.count or source != self.peer or len(data) - start != len(self.payload):
            return
        sent = self.sent_ns[seq]
        if sent == 0 or self.rtts[seq] is not None or rx_ns > self.deadline_ns:  # not ours yet, duplicate, late
            return
        if not data.endswith(self.payload):
            return
        self.rtts[seq] = max(rx_ns - sent, 0) / NS
        if seq < self.hop_seq:
            self.hop_seq, self.hop_limit = seq, hop
        self.received += 1
        if self.received == self.count:
            self.finish()

    def finish(self) -> None:
        self.over = True
        if not self.done.done():
            self.done.set_result(None)


class _Pacer:
    """The one pacing loop of an event loop: sends due echoes, reads replies, ends rounds; one timer.

    Rounds wait in buckets keyed by the (grid) time they next need the pacer, a time wheel: filing a round
    is a dict lookup and a list append; only the bucket times are in a heap, one per grid step in use.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, pinger: Pinger) -> None:
        self.loop = loop
        self.pinger = pinger
        self.buckets: dict[int, list[_Round]] = {}  # due time → the rounds that need the pacer then
        self.times: list[int] = []  # heap of the buckets' times
        self.timer: asyncio.TimerHandle | None = None
        self.timer_ns = NEVER

    def start(self, rnd: _Round) -> None:
        """Queue the round: its first echo goes now, or with the pacer's next wake-up if that is this close."""
        now = _monotonic_ns()
        if self.timer is not None and self.timer_ns - now <= rnd.grid:
            # The pacer wakes within one grid step anyway: the first echo goes with that batch.
            rnd.start_ns = self.timer_ns
            self._file(self.timer_ns, rnd)
            return
        rnd.start_ns = now
        due = rnd.fire(now)
        self._file(due, rnd)
        self._arm(due, now)

    def _file(self, due: int, rnd: _Round) -> None:
        bucket = self.buckets.get(due)
        if bucket is None:
            self.buckets[due] = [rnd]
            heapq.heappush(self.times, due)
        else:
            bucket.append(rnd)

    def _arm(self, when_ns: int, now_ns: int) -> None:
        if self.timer is not None:
            if self.timer_ns <= when_ns:
                return
            self.timer.cancel()
        self.timer_ns = when_ns
        self.timer = self.loop.call_later(max(when_ns - now_ns, 0) / NS, self._wake)

    def _wake(self) -> None:
        self.timer, self.timer_ns = None, NEVER
        now = _monotonic_ns()
        times, buckets, file = self.times, self.buckets, self._file
        ending: list[_Round] = []
        try:
            limit = now + EARLY_NS
            while times and times[0] <= limit:
                for rnd in buckets.pop(heapq.heappop(times)):
                    if rnd.over:
                        continue
                    if rnd.next_seq < rnd.count:
                        try:
                            file(rnd.fire(now), rnd)
                        except Exception as exc:  # PingError, or a bug: it ends the round, raised to its caller
                            rnd.over = True
                            if not rnd.done.done():
                                rnd.done.set_exception(exc)
                    elif limit >= rnd.deadline_ns:  # time is up: ended below, once what came in is read
                        ending.append(rnd)
                    else:  # all sent, replies awaited: read again soon (the drain below reads this time's)
                        file(rnd.recheck(now), rnd)
            self.pinger.drain()
        finally:
            for rnd in ending:
                rnd.finish()
            # Buckets of rounds answered in full need no wake-up.
            while times and all(rnd.over for rnd in buckets[times[0]]):
                del buckets[heapq.heappop(times)]
            if times:
                self._arm(times[0], now)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.timer_ns = None, NEVER
        self.buckets.clear()
        self.times.clear()


class Pinger:
    """Runs ICMP echo rounds in the mode detected at start; make one per process and ``close()`` it.

    Privileged: ONE raw socket per address family for every round (a socket per round costs O(rounds²):
    every raw socket sees every ICMP packet); unprivileged: a ping socket per round, whose bound "port" is
    the round's echo id (probes.icmp.sockets).
    """

    def __init__(self, mode: IcmpMode) -> None:
        if not mode.usable:
            raise ValueError(f"ICMP is not usable: {mode.message}")
        self.mode = mode
        self._raw: dict[int, RawSocket] = {}
        self._ping = PingSockets()
        self._rounds: dict[int, dict[int, _Round]] = {socket.AF_INET: {}, socket.AF_INET6: {}}  # echo id → round
        self._pacer: _Pacer | None = None
        self._closed = False

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
    ) -> Echoes:
        """Send ``count`` echoes to the IP address; RTT in seconds per echo, None where no reply came."""
        if self._closed:
            raise RuntimeError("the Pinger is closed")
        if count < 1:
            raise ValueError(f"a round needs at least one echo, not {count}")
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
        payload = (token + _FILLER[: max(payload_size - TOKEN_SIZE, 0)])[:payload_size]
        loop = asyncio.get_running_loop()
        pacer = self._pacer_on(loop)
        rnd = _Round(
            peer,
            sockaddr=sockaddr,
            family=af,
            count=count,
            interval=interval,
            timeout=timeout,
            payload=payload,
            done=loop.create_future(),
        )
        if self.mode.privileged:
            self._open_raw(rnd, dscp)
        else:
            self._open_ping(rnd, dscp)
        try:
            pacer.start(rnd)
            await rnd.done
        finally:
            rnd.finish()  # the pacer drops its entry when it comes up
            self._release(rnd)
        return Echoes(rnd.rtts, rnd.hop_limit if rnd.hop_limit >= 0 else None)

    def _pacer_on(self, loop: asyncio.AbstractEventLoop) -> _Pacer:
        pacer = self._pacer
        if pacer is None or pacer.loop is not loop:
            if pacer is not None:  # a new loop (tests): rounds of a closed loop can never finish
                if not pacer.loop.is_closed():
                    pacer.stop()
                for rounds in self._rounds.values():
                    for rnd in [r for r in rounds.values() if r.done.get_loop().is_closed()]:
                        self._release(rnd)
            pacer = self._pacer = _Pacer(loop, self)
        return pacer

    def drain(self) -> None:
        """Read every reply waiting on any socket, in one burst per socket."""
        offset = stamp_offset()
        for raw in self._raw.values():
            raw.drain(self._rounds[raw.family], offset)
        if self._ping.count:
            self._ping.drain(offset)

    def _open_raw(self, rnd: _Round, dscp: int) -> None:
        raw = self._raw.get(rnd.family)
        if raw is None:
            try:
                raw = self._raw[rnd.family] = RawSocket(rnd.family)
            except OSError as exc:
                raise PingError(rnd.peer, exc) from exc
        raw.bufsize = max(raw.bufsize, len(rnd.payload) + 128)
        rounds = self._rounds[rnd.family]
        ident = random.randrange(1, 0x10000)
        while ident in rounds:  # unique among this process's rounds in flight
            ident = random.randrange(1, 0x10000)
        rnd.ident = ident
        rounds[ident] = rnd
        rnd.tx = raw.sock
        rnd.ancdata = raw.ancdata_for(dscp)
        if rnd.family == socket.AF_INET:
            ECHO_FIELDS.pack_into(rnd.packet, 2, 0, ident, 0)
            rnd.base = checksum_base(bytes(rnd.packet))
        # else: the kernel computes ICMPv6 checksums on raw sockets (RFC 3542 §3.1)

    def _open_ping(self, rnd: _Round, dscp: int) -> None:
        rounds = self._rounds[rnd.family]
        try:
            rnd.fd, rnd.ident = self._ping.open(
                rnd, family=rnd.family, dscp=dscp, payload_size=len(rnd.payload), taken=rounds
            )
        except OSError as exc:
            raise PingError(rnd.peer, exc) from exc
        rnd.tx = self._ping.socket(rnd.fd)  # the kernel fills in id and checksum of its echoes
        rounds[rnd.ident] = rnd

    def _release(self, rnd: _Round) -> None:
        rounds = self._rounds[rnd.family]
        if rounds.get(rnd.ident) is rnd:
            del rounds[rnd.ident]
        if rnd.fd >= 0:
            self._ping.close(rnd.fd)
            rnd.fd = -1

    def close(self) -> None:
        """Close the sockets and end the rounds still waiting (they return what they have)."""
        self._closed = True
        for rounds in self._rounds.values():
            for rnd in rounds.values():
                if not rnd.done.get_loop().is_closed():
                    rnd.finish()
        if self._pacer is not None and not self._pacer.loop.is_closed():
            self._pacer.stop()
        for raw in self._raw.values():
            raw.close()
        self._raw.clear()
        self._ping.close_all()
