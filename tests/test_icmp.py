"""ICMP probe and engine on loopback, in both modes: values, DSCP and echo ids on the wire, many targets.

Unprivileged mode needs net.ipv4.ping_group_range to cover our group: as root the fixture opens it for the
test and restores the original value. Privileged mode needs root (raw sockets). Cases that must not reach
the network (a name that does not resolve, a missing route, a host without IPv6) run in a fresh network
namespace with only loopback (``unshare -n``), so no DNS query or echo can leave this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from probes.core.address import fnv1a_32
from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.icmp.mode import PING_GROUP_RANGE, IcmpMode, covers, how_to_enable
from probes.icmp.pinger import Pinger
from probes.icmp.probe import IcmpSettings, deadline, fit, probe
from probes.icmp.sockets import SO_TIMESTAMPNS, stamp_offset
from tests.peers import missing, require_program, require_root

pytestmark = pytest.mark.timeout(60)

MODES = ["unprivileged", "privileged"]
VALUE_KEYS = {"rtt_min", "rtt_avg", "rtt_median", "rtt_max", "jitter", "loss_ratio", "mos", "sent", "received"}
# blackbox_exporter's facts of the same round (probes/core/address.py; the first reply's RTT and hop limit).
BLACKBOX_KEYS = {"echo_rtt", "hop_limit", "dns_lookup", "ip_protocol", "ip_addr_hash"}
REPO = Path(__file__).resolve().parent.parent


def _can_open(kind: int) -> bool:
    try:
        socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    return True


def host_has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _ping_group_open() -> Iterator[None]:
    """Allow unprivileged ICMP sockets for the test's duration; restore the host's original setting."""
    if _can_open(socket.SOCK_DGRAM):
        yield
        return
    require_root()
    original = PING_GROUP_RANGE.read_text()
    PING_GROUP_RANGE.write_text("0 2147483647")
    try:
        yield
    finally:
        PING_GROUP_RANGE.write_text(original)


@contextlib.contextmanager
def pinger_in_mode(mode: str) -> Iterator[Pinger]:
    """A Pinger forced into ``mode`` (the detector's own choice is tested separately)."""
    ipv6 = host_has_ipv6_loopback()
    if mode == "privileged":
        if not _can_open(socket.SOCK_RAW):
            missing("root or CAP_NET_RAW (raw ICMP sockets)")
        pinger = Pinger(IcmpMode("privileged", ipv6, "raw ICMP sockets (forced by the test)"))
        try:
            yield pinger
        finally:
            pinger.close()
        return
    with _ping_group_open():
        pinger = Pinger(IcmpMode("unprivileged", ipv6, "unprivileged ICMP sockets (forced by the test)"))
        try:
            yield pinger
        finally:
            pinger.close()


@pytest.fixture(params=MODES)
def pinger(request: pytest.FixtureRequest) -> Iterator[Pinger]:
    with pinger_in_mode(request.param) as made:
        yield made


def _require_ipv6() -> None:
    if not host_has_ipv6_loopback():
        pytest.skip("this host has no IPv6 loopback (::1 is not configured), so IPv6 echo cannot be tested")


@pytest.mark.parametrize("target", ["127.0.0.1", "127.0.5.9", "localhost"])
async def test_loopback_round(pinger: Pinger, target: str) -> None:
    """A clean round reports every value in base units, all echoes answered, and how it was sent."""
    result = await probe(target, IcmpSettings(count=4, interval=0.01, timeout=1.0), ctx=ProbeContext(pinger=pinger))
    assert result.success, result.detail
    assert result.reason is Reason.OK
    assert set(result.values) == VALUE_KEYS | BLACKBOX_KEYS
    assert (result.values["sent"], result.values["received"], result.values["loss_ratio"]) == (4, 4, 0.0)
    v = result.values
    assert 0 < v["rtt_min"] <= v["rtt_median"] <= v["rtt_max"] < 1.0
    assert v["rtt_min"] <= v["rtt_avg"] <= v["rtt_max"]
    assert v["rtt_min"] <= v["echo_rtt"] <= v["rtt_max"]
    assert (v["ip_protocol"], v["ip_addr_hash"]) == (4, fnv1a_32(socket.inet_aton(result.info["ip"])))
    assert v["mos"] > 4.0  # loopback: no delay, no loss
    # The reply left this host with its default TTL and crossed no router (the IP header's, or IP_RECVTTL's).
    assert v["hop_limit"] == int(Path("/proc/sys/net/ipv4/ip_default_ttl").read_text())
    assert len(result.samples) == 4
    assert set(result.phases) == {"resolve", "rtt"}
    assert dict(result.info) == {"ip": "127.0.0.1" if target == "localhost" else target, "mode": pinger.mode_name}


@pytest.mark.parametrize("target", ["::1", "[::1]"])
async def test_ipv6_loopback(pinger: Pinger, target: str) -> None:
    """ICMPv6 echo (types 128/129) works in both modes, with or without the brackets of a URL-style host."""
    _require_ipv6()
    result = await probe(target, IcmpSettings(count=3, interval=0.01, timeout=1.0), ctx=ProbeContext(pinger=pinger))
    assert result.success, result.detail
    assert result.values["received"] == 3
    assert result.info["ip"] == "::1"
    assert result.values["ip_protocol"] == 6
    # IPV6_RECVHOPLIMIT: the hop limit loopback's replies are sent with.
    assert result.values["hop_limit"] == int(Path("/proc/sys/net/ipv6/conf/lo/hop_limit").read_text())


async def test_family_mismatch_is_a_bad_target(pinger: Pinger) -> None:
    """An IPv4 literal with ip_version 6 is a configuration mistake, said as such, not a dead link."""
    result = await probe(
        "127.0.0.1", IcmpSettings(count=1, ip_version=6, interval=0.01, timeout=1.0), ctx=ProbeContext(pinger=pinger)
    )
    assert (result.success, result.reason) == (False, Reason.BAD_TARGET)
    assert "ip_version is 6" in result.detail


class EchoRequestTap:
    """A raw socket recording the echo requests sent to one destination: (echo id, DSCP) of each."""

    def __init__(self, family: int, destination: str, payload_size: int) -> None:
        require_root()
        self.family, self.destination, self.payload_size = family, destination, payload_size
        proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
        self.sock = socket.socket(family, socket.SOCK_RAW, proto)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # It sees every ICMP packet of the test (other rounds' too) and is read only at the end: room for all.
        self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 * 1024 * 1024)
        self.stamps: list[float] = []  # kernel arrival time of each request seen, seconds (realtime clock)
        if family == socket.AF_INET6:  # no IP header on raw IPv6 sockets: ask for tclass and destination
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)

    def requests(self) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        while True:
            try:
                data, ancdata, _flags, _addr = self.sock.recvmsg(65535, 256)
            except BlockingIOError:
                return seen
            if self.family == socket.AF_INET:
                header = (data[0] & 0x0F) * 4
                tos, destination, icmp = data[1], socket.inet_ntoa(data[16:20]), data[header:]
                request = 8
            else:
                tos, destination, icmp, request = -1, "", data, 128
                for level, kind, value in ancdata:
                    if (level, kind) == (socket.IPPROTO_IPV6, socket.IPV6_TCLASS):
                        tos = struct.unpack("i", value)[0]
                    elif (level, kind) == (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO):
                        destination = str(ipaddress.IPv6Address(value[:16]))
            if icmp[0] == request and destination == self.destination and len(icmp) - 8 == self.payload_size:
                seen.append((struct.unpack_from("!H", icmp, 4)[0], tos >> 2))
                for level, kind, value in ancdata:
                    if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS):
                        sec, nsec = struct.unpack("@qq", value[:16])
                        self.stamps.append(sec + nsec / 1e9)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
async def test_dscp_marks_every_echo(pinger: Pinger, family: int) -> None:
    """Echoes carry each round's DSCP on the wire (AF41, EF, best effort in turn, through one pinger)."""
    if family == socket.AF_INET6:
        _require_ipv6()
    destination = "127.0.77.34" if family == socket.AF_INET else "::1"
    marks = [34, 46, 0]  # the first sets the shared raw socket's own mark, the others travel per packet
    seen = []
    for size, dscp in enumerate(marks, start=41):  # an odd payload size tells this round's echoes from others
        tap = EchoRequestTap(family, destination, payload_size=size)
        try:
            rtts = await pinger.round(destination, count=3, payload_size=size, dscp=dscp, interval=0.01, timeout=1.0)
            await asyncio.sleep(0.05)
            requests = tap.requests()
        finally:
            tap.close()
        assert None not in rtts
        seen.append([mark for _ident, mark in requests])
    assert seen == [[dscp] * 3 for dscp in marks]


async def test_echo_ids_are_random_per_round(pinger: Pinger) -> None:
    """Each round picks a fresh random echo id (NAT drops repeated ones), not one per process nor a sequential one."""
    tap = EchoRequestTap(socket.AF_INET, "127.0.77.35", payload_size=43)
    try:
        for _ in range(4):
            await pinger.round("127.0.77.35", count=2, payload_size=43, interval=0.01, timeout=1.0)
        await asyncio.sleep(0.05)
        seen = tap.requests()
    finally:
        tap.close()
    ids = [ident for ident, _mark in seen[::2]]  # one id per round, shared by its two echoes
    assert len(seen) == 8
    assert [ident for ident, _mark in seen[1::2]] == ids
    assert len(set(ids)) > 1
    assert [b - a for a, b in itertools.pairwise(ids)] != [1, 1, 1]  # not a counter


async def test_echoes_keep_their_pace_among_other_rounds(pinger: Pinger) -> None:
    """Echoes 200 ms apart leave 200 ms apart (± half the pacer's grid) while 50 other rounds share the pacer."""
    tap = EchoRequestTap(socket.AF_INET, "127.0.77.36", payload_size=45)
    loop = asyncio.get_running_loop()

    async def other(n: int) -> list[float | None]:
        await asyncio.sleep(n * 0.007)  # started spread, as the scheduler starts them
        return await pinger.round(f"127.0.78.{n + 1}", count=5, interval=0.2, timeout=1.0)

    try:
        others = [loop.create_task(other(n)) for n in range(50)]
        await asyncio.sleep(0.1)
        rtts = await pinger.round("127.0.77.36", count=5, interval=0.2, payload_size=45, timeout=1.0)
        assert all(None not in r for r in await asyncio.gather(*others))
        await asyncio.sleep(0.05)
        tap.requests()
        stamps = tap.stamps
    finally:
        tap.close()
    assert None not in rtts
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) == 4
    # Never a burst: at most the grid's half step early (and 10 ms of slack), and never closer than half an
    # interval even when a busy loop made the previous echo late. How late a loaded machine runs is not
    # asserted (no timing bounds).
    early = 0.2 - HALF_GRID - 0.01
    assert all(gap >= early or (gap >= 0.1 and late) for gap, late in zip(gaps, _late(gaps), strict=True)), gaps


HALF_GRID = sys.modules["probes.icmp.pinger"].TICK_NS / 2e9  # the 200 ms rounds' grid step, halved


def _late(gaps: list[float]) -> list[bool]:
    """Whether the echo before each gap left late (its own gap from the one before was over the interval)."""
    return [False] + [previous > 0.2 + HALF_GRID + 0.005 for previous in gaps[:-1]]


async def test_answered_round_ends_before_its_timeout(pinger: Pinger) -> None:
    """A round whose replies are all in returns at once, not when its timeout would have run out."""
    started = asyncio.get_running_loop().time()
    rtts = await pinger.round("127.0.77.37", count=3, interval=0.01, timeout=5.0)
    assert None not in rtts
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_many_concurrent_rounds_lose_nothing(pinger: Pinger) -> None:
    """300 targets at once: the raw-socket collapse measured here (half the replies lost, RTTs 50-160 ms) is gone."""
    targets = [f"127.0.{n // 250 + 10}.{n % 250 + 1}" for n in range(300)]
    rounds = await asyncio.gather(*(pinger.round(t, count=3, interval=0.01, timeout=2.0) for t in targets))
    lost = [(t, seq) for t, rtts in zip(targets, rounds, strict=True) for seq, rtt in enumerate(rtts) if rtt is None]
    assert lost == []
    rtts = sorted(rtt for r in rounds for rtt in r if rtt is not None)
    assert rtts[len(rtts) // 2] < 0.02  # kernel receive stamps: a busy event loop does not inflate RTTs


async def test_pacer_work_per_round_does_not_grow_with_the_rounds(
    pinger: Pinger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing: the pacer files a round once per echo (and per reading of its replies) whatever else runs.

    Every visit the pacing loop pays for a round goes through ``_Pacer._file`` (each filed entry is popped once);
    a scan of all rounds per wake-up or per echo would make the filings per round grow as the rounds double.
    """
    pacer_type = sys.modules["probes.icmp.pinger"]._Pacer
    filings = [0]
    original = pacer_type._file

    def counting(self: Any, due: int, rnd: Any) -> None:
        filings[0] += 1
        original(self, due, rnd)

    monkeypatch.setattr(pacer_type, "_file", counting)
    per_round = {}
    for n in (200, 400):
        filings[0] = 0
        targets = [f"127.0.{i // 250 + 20}.{i % 250 + 1}" for i in range(n)]
        rounds = await asyncio.gather(*(pinger.round(t, count=3, interval=0.01, timeout=2.0) for t in targets))
        assert sum(rtt is not None for rtts in rounds for rtt in rtts) == 3 * n
        per_round[n] = filings[0] / n
    # 3 echoes: the next echo filed after each of the first two, a reading after the last, a spare reading or two.
    assert per_round[400] <= 1.25 * per_round[200] and max(per_round.values()) <= 3 + 3, per_round


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_cancelled_round_releases_everything(pinger: Pinger) -> None:
    """A round cut short by the scheduler's deadline closes its socket and leaves the pinger usable."""
    # From here the shared raw socket (privileged mode) exists and is not counted as a leak.
    await pinger.round("127.0.0.1", count=1, interval=0.01, timeout=1.0)
    before = _open_fds()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pinger.round("127.0.0.1", count=50, interval=0.01, timeout=1.0)
    assert _open_fds() == before
    assert None not in await pinger.round("127.0.0.1", count=2, interval=0.01, timeout=1.0)


async def test_no_pinger_says_what_to_change() -> None:
    """Without ICMP the probe fails as permission_denied, unmeasured, and names the fixes that give ICMP to
    giaoban alone: ping_group_range for its own group, or the systemd unit's capability (issue 14)."""
    result = await probe("127.0.0.1", IcmpSettings(count=1), ctx=ProbeContext(pinger=None))
    assert (result.success, result.reason, result.unmeasured) == (False, Reason.PERMISSION, True)
    gid = os.getegid()
    # The machine's own range decides the advice: widen it for giaoban's group only, or, when it already covers
    # that group, the capability alone (test_ping_group_range_coverage pins both texts).
    if result.info["covered"] == "no":
        assert f'sysctl -w net.ipv4.ping_group_range="{gid} {gid}"' in result.detail
    else:
        assert "sysctl -w" not in result.detail and "already covers" in result.detail
    assert "AmbientCapabilities=CAP_NET_RAW" in result.detail and "setcap" not in result.detail
    assert result.info["setup"] == "icmp_permission" and result.info["gid"] == str(gid)


@pytest.mark.parametrize(
    ("group_range", "gid", "covered"),
    [("1 0", 0, False), ("0 0", 0, True), ("100 200", 150, True), ("100 200", 201, False), ("junk", 0, False)],
    ids=["closed", "just-root", "inside", "outside", "unreadable"],
)
def test_ping_group_range_coverage(group_range: str, gid: int, covered: bool) -> None:
    """When the range already covers giaoban's group, the sysctl cannot be the fix: only the capability is offered."""
    assert covers(group_range, gid) is covered
    advice = how_to_enable(gid, group_range)
    assert "AmbientCapabilities=CAP_NET_RAW" in advice
    assert (f'ping_group_range="{gid} {gid}"' in advice) is not covered


def run_isolated(script: str, *, setup: str = "ip link set lo up", drop_net_raw: bool = False) -> object:
    """Run Python ``script`` in a new network namespace with only loopback; return what it prints (JSON).

    Nothing sent there can leave the machine: no DNS query reaches the configured name server.
    """
    require_root()
    unshare = require_program("unshare")
    require_program("ip")
    command = [unshare, "-n", "sh", "-c", f'{setup} && exec "$0" -c "$1"', sys.executable, script]
    if drop_net_raw:  # root without CAP_NET_RAW: raw sockets refused, as for an ordinary user
        setpriv = require_program("setpriv")
        command = [unshare, "-n", "sh", "-c", f'{setup} && exec "$0" --inh-caps=-net_raw --bounding-set=-net_raw '
                   '"$1" -c "$2"', setpriv, sys.executable, script]  # fmt: skip
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"}  # ip lives in /usr/sbin
    proc = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=REPO, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


PROBE_SCRIPT = """
import asyncio, json
from probes.core.address import fnv1a_32
from probes.core.context import ProbeContext
from probes.icmp.probe import IcmpSettings, deadline, fit, probe
from probes.icmp.mode import detect_icmp_mode
from probes.icmp.pinger import Pinger
from probes.icmp.sockets import SO_TIMESTAMPNS

async def main():
    mode = detect_icmp_mode()
    pinger = Pinger(mode)
    try:
        result = await probe(TARGET, IcmpSettings(count=1, interval=0.01, timeout=0.5), ctx=ProbeContext(pinger=pinger))
    finally:
        pinger.close()
    print(json.dumps({"reason": str(result.reason), "success": result.success, "detail": result.detail}))

asyncio.run(main())
"""


ISOLATED_CASES = [
    pytest.param("no-such-host.invalid", "ip link set lo up", "resolve_failed", "does not resolve", id="unresolvable"),
    pytest.param("198.18.0.1", "ip link set lo up", "unreachable", "no route", id="no-route"),
    pytest.param(
        "::1",
        "ip link set lo up && echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6",
        "ipv6_unavailable",
        "cannot send IPv6 echoes",
        id="host-without-ipv6",
    ),
]


@pytest.mark.parametrize(("target", "setup", "reason", "words"), ISOLATED_CASES)
def test_failures_are_reasons(target: str, setup: str, reason: str, words: str) -> None:
    """Names that do not resolve, missing routes and a host without IPv6 each give their own reason code."""
    got = run_isolated(PROBE_SCRIPT.replace("TARGET", repr(target)), setup=setup)
    assert isinstance(got, dict)
    assert (got["success"], got["reason"]) == (False, reason)
    assert words in got["detail"]


DETECT_SCRIPT = """
import dataclasses, json
from probes.icmp.mode import detect_icmp_mode
print(json.dumps(dataclasses.asdict(detect_icmp_mode())))
"""

DETECT_CASES = [
    # A new namespace starts with ping_group_range "1 0" (off): root falls back to raw sockets.
    pytest.param("ip link set lo up", False, "privileged", ["raw ICMP sockets", "ping_group_range is '1 0'"], id="raw"),
    pytest.param(
        "ip link set lo up && echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range",
        False,
        "unprivileged",
        ["unprivileged ICMP sockets", "'0 2147483647' covers group 0"],
        id="unprivileged",
    ),
    pytest.param(
        "ip link set lo up",
        True,
        "none",
        [  # root's group 0 only, not every group; the unit's capability, not one on the system's Python
            'sysctl -w net.ipv4.ping_group_range="0 0"',
            "(now '1 0';",
            "covers IPv6 too",
            "AmbientCapabilities=CAP_NET_RAW",
        ],
        id="none",
    ),
]


@pytest.mark.parametrize(("setup", "drop_net_raw", "mode", "words"), DETECT_CASES)
def test_mode_detection(setup: str, drop_net_raw: bool, mode: str, words: list[str]) -> None:
    """The detector prefers unprivileged sockets, falls back to raw, and otherwise says exactly what to change."""
    got = run_isolated(DETECT_SCRIPT, setup=setup, drop_net_raw=drop_net_raw)
    assert isinstance(got, dict)
    assert got["mode"] == mode, got["message"]
    for phrase in words:
        assert phrase in got["message"]
    assert "setcap" not in got["message"] and '2147483647"' not in got["message"], "advice stays with giaoban"
    assert got["ipv6_available"] is (mode != "none")
    assert got["gid"] == 0 and got["ping_group_range"] in ("1 0", "0 2147483647")


@pytest.mark.parametrize(
    ("options", "seconds", "count", "timeout"),
    [
        pytest.param({}, 10.0, 10, 2.0, id="fits-as-it-is"),
        pytest.param({}, 0.5, 2, 0.2, id="scrape-timeout-1s"),
        pytest.param({}, 0.4, 1, 0.32, id="one-echo-waits-the-budget"),
        pytest.param({"count": 50, "interval": 0.1}, 0.5, 3, 0.2, id="many-echoes"),
        pytest.param({"count": 100, "interval": 0.2, "timeout": 1.0}, 9.0, 36, 1.0, id="long-round-under-max-deadline"),
    ],
)
def test_round_shrinks_to_fit_a_deadline(options: dict[str, float], seconds: float, count: int, timeout: float) -> None:
    """/probe under a short scrape timeout sends fewer echoes at the same interval, ending within the deadline."""
    settings = IcmpSettings.model_validate(options)
    fitted = fit(settings, seconds)
    assert (fitted.count, fitted.timeout) == pytest.approx((count, timeout))
    assert fitted.interval == settings.interval
    assert (fitted.count - 1) * fitted.interval + fitted.timeout <= seconds
    if deadline(settings) <= seconds:
        assert fitted is settings


def test_stamp_offset_ignores_a_thread_switch_between_its_clock_reads() -> None:
    """A sample read across a GIL switch (here 40 ms between the clock reads) must not become the offset:
    it would shift every RTT of that drain by the switch. The narrowest of the brackets wins."""
    true_offset = 1_700_000_000_000_000_000
    monotonic_now = [5_000_000_000]
    switches = iter([40_000_000, 0, 0])  # another thread runs 40 ms just before the first realtime read

    def monotonic() -> int:
        monotonic_now[0] += 1_000
        return monotonic_now[0]

    def realtime() -> int:
        monotonic_now[0] += next(switches)
        return monotonic_now[0] + true_offset

    assert abs(stamp_offset(samples=1, clocks=(realtime, monotonic)) - true_offset) > 10_000_000  # one pair: off
    switches = iter([40_000_000, 0, 0])

    offset = stamp_offset(clocks=(realtime, monotonic))
    assert abs(offset - true_offset) <= 1_000  # within a clock read, not 20 ms off
