"""SNMP against an agent inside a lab namespace (tests/netlab.py): 200 interfaces, a shaped link, a dropped agent.

The namespace holds the site's veth end plus 100 veth pairs made with ``ip -batch`` (0.05 s for 100), so names are
looked up among 203 interfaces. snmpd runs inside it on the namespace's address; traffic goes only to
198.18.0.0/15 addresses of namespaces these tests create.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from probes.core.result import Reason
from probes.snmp.probe import DeviceReading, SnmpPoller, SnmpSettings, probe
from probes.snmp.rates import MIN_WINDOW
from tests.netlab import Lab, Site
from tests.peers import require_program
from tests.snmpd_lab import Snmpd, free_udp_port, parse_values
from tests.test_snmp import ctx_with

pytestmark = pytest.mark.timeout(120)

PAIRS = 100
ALIAS = "Uplink xã Tân Thịnh"  # ifAlias in UTF-8, as Vietnamese operators write them
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
WRITE = "labwrite"  # write community of the lab agent only: ifAlias is set over SNMP, as on a router
CACHE_TIMEOUT_IFTABLE = "1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2"  # NET-SNMP-AGENT-MIB nsCacheTimeout.ifTable


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab() as made:
        yield made


@pytest.fixture
def site(lab: Lab) -> Site:
    """A router namespace with 100 extra veth pairs (p0a/p0b ... p99a/p99b), the even ones up."""
    made = lab.add_site("router")
    ip = require_program("ip")
    lines = [f"link add p{i}a type veth peer name p{i}b" for i in range(PAIRS)]
    lines += [f"link set p{i}a up" for i in range(0, PAIRS, 2)] + [f"link set p{i}b up" for i in range(0, PAIRS, 2)]
    lab.run(made, ip, "-batch", "-", stdin="\n".join(lines) + "\n")
    return made


@pytest.fixture
def agent(lab: Lab, site: Site, tmp_path: Path) -> Iterator[Snmpd]:
    # A write community exists only on this lab agent: the utilisation test turns net-snmp's counter cache off.
    extra = [f"rwcommunity {WRITE} default"]
    with Snmpd(tmp_path / "snmpd", address=site.ns_addr, port=free_udp_port(), netns=site.ns, extra=extra) as running:
        yield running


@pytest.fixture
async def poller() -> AsyncIterator[SnmpPoller]:
    made = SnmpPoller()
    try:
        yield made
    finally:
        await made.close()


def settings(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> SnmpSettings:
    monkeypatch.setenv("GB_TEST_COMMUNITY", "labpublic")
    return SnmpSettings.model_validate({"community": {"env": "GB_TEST_COMMUNITY"}, **kw})


def kernel_indexes(lab: Lab, site: Site) -> dict[str, int]:
    """ifindex of every link in the namespace, by name (net-snmp's ifIndex on Linux)."""
    links = json.loads(lab.run(site, require_program("ip"), "-j", "link", "show"))
    return {link["ifname"]: int(link["ifindex"]) for link in links}


async def test_interfaces_found_by_name_among_200(
    lab: Lab, site: Site, agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ifName first, then ifAlias (UTF-8): each name maps to the right ifIndex among 203 interfaces."""
    indexes = kernel_indexes(lab, site)
    assert len(indexes) >= 2 * PAIRS + 2
    agent.cli("snmpset", f"{IF_ALIAS}.{indexes['p42a']}", "s", ALIAS, community=WRITE)
    agent.cli("snmpset", f"{IF_ALIAS}.{indexes['p3a']}", "s", "p5a", community=WRITE)
    # p3a's alias is "p5a": the interface *named* p5a must win over the one aliased so.
    names = ["p7a", "p8a", "p99b", ALIAS, site.ns_if, "p5a"]
    reading, _ = await poller.poll(agent.address, agent.port, settings(monkeypatch, interfaces=names))
    found = {i.name: i for i in reading.interfaces}
    assert reading.missing_interfaces == ()
    assert {name: i.index for name, i in found.items()} == {
        "p7a": indexes["p7a"],
        "p8a": indexes["p8a"],
        "p99b": indexes["p99b"],
        ALIAS: indexes["p42a"],
        site.ns_if: indexes[site.ns_if],
        "p5a": indexes["p5a"],
    }
    assert found[ALIAS].alias == ALIAS and found[ALIAS].descr == "p42a"
    oper = {int(k.rsplit(".", 1)[1]): int(v) for k, v in parse_values(agent.cli("snmpbulkwalk", IF_OPER)).items()}
    for interface in reading.interfaces:
        assert interface.oper_up is (oper[interface.index] == 1)
    assert found["p7a"].oper_up is False and found["p8a"].oper_up is True and found[site.ns_if].oper_up is True


async def test_removed_and_recreated_interfaces_are_noticed_at_once(
    lab: Lab, site: Site, tmp_path: Path, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll right after p10a is deleted and p12a re-created (new ifIndex) names p10a missing and reads the new
    p12a: a vanished index triggers a new name map at once."""
    ip = require_program("ip")
    extra = ["interface_fadeout 1"]  # net-snmp drops removed interfaces' rows after 1 s instead of 300 s
    with Snmpd(tmp_path / "snmpd", address=site.ns_addr, netns=site.ns, extra=extra) as agent:
        config = settings(monkeypatch, interfaces=["p10a", "p12a"])
        ctx = ctx_with(poller)
        first = await probe(agent.target, config, ctx=ctx)
        assert (first.success, first.reason) == (True, Reason.OK), first.detail
        lab.run(site, ip, "link", "del", "p10a")
        lab.run(site, ip, "link", "del", "p12a")
        lab.run(site, ip, "link", "add", "p12a", "type", "veth", "peer", "name", "p12c")
        await asyncio.sleep(3.5)  # net-snmp re-reads the kernel's interface list at most every 3 s
        second = await probe(agent.target, config, ctx=ctx)
    assert (second.success, second.reason) == (True, Reason.CONFIG_ERROR), second.detail
    assert "has no interface named 'p10a'" in second.detail
    assert isinstance(second.payload, DeviceReading)
    assert second.payload.missing_interfaces == ("p10a",)
    [p12a] = second.payload.interfaces
    assert (p12a.name, p12a.index) == ("p12a", kernel_indexes(lab, site)["p12a"])
    assert p12a.counter_reset is False  # another interface's counter starts a new baseline: it did not reset


async def test_repeated_name_picks_the_live_interface(
    lab: Lab, site: Site, agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """net-snmp keeps a deleted interface's row (5 minutes, as down) beside its re-created namesake: the name maps
    to the re-created interface, not to the stale row, whether the interface had been up or down."""
    ip = require_program("ip")
    for name in ("p12a", "p14a"):  # p12a was down, p14a up
        lab.run(site, ip, "link", "del", name)
        lab.run(site, ip, "link", "add", name, "type", "veth", "peer", "name", name.replace("a", "c"))
    await asyncio.sleep(3.5)  # net-snmp re-reads the kernel's interface list at most every 3 s
    names = {int(k.rsplit(".", 1)[1]): v for k, v in parse_values(agent.cli("snmpbulkwalk", IF_NAME)).items()}
    oper = {int(k.rsplit(".", 1)[1]): int(v) for k, v in parse_values(agent.cli("snmpbulkwalk", IF_OPER)).items()}
    stale_p14a = min(i for i, name in names.items() if name == "p14a")
    assert list(names.values()).count("p12a") == list(names.values()).count("p14a") == 2  # stale rows and new ones
    assert oper[stale_p14a] == 2  # the stale row of the deleted p14a (it was up) now says down
    config = settings(monkeypatch, interfaces=["p12a", "p14a"])
    reading, _ = await poller.poll(agent.address, agent.port, config)
    assert [i.index for i in reading.interfaces] == [
        kernel_indexes(lab, site)["p12a"],
        kernel_indexes(lab, site)["p14a"],
    ]


BLASTER = r"""
import socket, sys, time
host, port, rate_bps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
payload = b"\0" * 1200
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
gap = len(payload) * 8 / rate_bps
start = time.monotonic()
sent = 0
while time.monotonic() - start < seconds:
    due = start + sent * gap
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    try:
        sock.sendto(payload, (host, port))
    except OSError:
        pass  # the shaper's queue is full: the datagram is dropped, as intended
    sent += 1
"""


async def test_utilisation_matches_the_shaped_rate(
    lab: Lab, site: Site, agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 Mbit/s tbf towards the router, blasted at 12 Mbit/s: the router's receive rate reads 8 Mbit/s ± 10 %."""
    lab.shape(site, "8mbit", direction="in")
    # net-snmp caches ifTable for 3 s, which would shift either end of a window by up to 3 s: read live.
    agent.cli("snmpset", CACHE_TIMEOUT_IFTABLE, "i", "0", community=WRITE)
    config = settings(monkeypatch, interfaces=[site.ns_if], bandwidth={site.ns_if: "10mbit"})
    ctx = ctx_with(poller)
    blaster = subprocess.Popen([sys.executable, "-c", BLASTER, site.ns_addr, "9", "12e6", "16"])  # noqa: ASYNC220
    try:
        await asyncio.sleep(2.0)  # the shaper's queue fills; the link runs at its shaped rate from here
        readings = []
        for _ in range(3):
            result = await probe(agent.target, config, ctx=ctx)
            assert result.success, result.detail
            assert isinstance(result.payload, DeviceReading)
            readings.append(result.payload.interfaces[0])
            await asyncio.sleep(MIN_WINDOW + 1.0)
    finally:
        blaster.kill()
        blaster.wait()
    assert readings[0].receive_bps is None  # the first poll only sets the baseline
    for reading in readings[1:]:
        assert reading.receive_bps == pytest.approx(8e6, rel=0.10)
        assert reading.utilization_in == pytest.approx(0.8, rel=0.10)
        assert reading.speed_bits == 10e6 and reading.port_speed_bits == 10e9
        assert reading.transmit_bps is not None and reading.transmit_bps >= 0


async def test_dropped_snmp_is_a_timeout_and_polling_resumes(
    lab: Lab, site: Site, agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UDP to the agent dropped inside the namespace: device down with a timeout; once let through, read again."""
    iptables = require_program("iptables")
    config = settings(monkeypatch, interfaces=[site.ns_if], timeout="500ms", retries=1)
    ctx = ctx_with(poller)
    assert (await probe(agent.target, config, ctx=ctx)).success
    rule = ["INPUT", "-p", "udp", "--dport", str(agent.port), "-j", "DROP"]
    lab.run(site, iptables, "-A", *rule)
    down = await probe(agent.target, config, ctx=ctx)
    assert (down.success, down.reason) == (False, Reason.TIMEOUT)
    assert down.detail == f"no answer from {agent.address} port {agent.port}: wrong community or agent down?"
    assert down.payload is None
    lab.run(site, iptables, "-D", *rule)
    back = await probe(agent.target, config, ctx=ctx)
    assert back.success, back.detail
    assert isinstance(back.payload, DeviceReading) and not back.payload.rebooted
    interface = back.payload.interfaces[0]
    assert interface.receive_bps is None or interface.receive_bps >= 0
    assert interface.transmit_bps is None or interface.transmit_bps >= 0
