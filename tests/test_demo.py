"""`giaoban demo`: the real service against the simulated province, and the demo's emulators against real clients.

The end-to-end test runs `python -m monitor demo` as a subprocess, reads /metrics and a readiness report, and
stops it with SIGTERM. The emulators are also checked on their own: the SNMP agent against net-snmp's
snmpbulkwalk/snmpget and the project's SNMP probe, the codecs against the SIP and status-API probes, the lossy
lines against the loss they promise.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pyasn1.codec.ber.decoder import decode as pyasn1_decode
from pyasn1.codec.ber.encoder import encode as pyasn1_encode
from pysnmp.proto import api

from monitor.demo import ber
from monitor.demo.codecs import CodecState, Vendor, codec_farm
from monitor.demo.inventory import (
    CENTRAL_EXPECTED,
    CENTRAL_ID,
    EXPECTED,
    FORMER_DINH_HOA,
    INTERVAL,
    MEETING_ID,
    TOKEN_ENV,
    Fault,
    demo_plan,
    faulty,
    province,
)
from monitor.demo.lines import LossyPinger, lost
from monitor.demo.snmp import EmulatedDevice, EmulatedInterface, EmulatedUps, SnmpAgent, Traffic
from probes import KINDS
from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.core.secrets import Secret
from probes.icmp.mode import detect_icmp_mode
from probes.icmp.pinger import Pinger
from probes.snmp.probe import SnmpPoller, SnmpSettings
from probes.snmp.readings import DeviceReading
from tests.clock import wait_until_blocking
from tests.peers import free_port, missing, require_program, stop_process
from tests.service_harness import wait_http

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
TOKEN = "demo-test-token-3f9a"
UPLINK = "GigabitEthernet0/0/1"
PLAN = demo_plan()
HUB, UNITS = PLAN[0], PLAN[1:]
FAULTS = faulty(PLAN)
LOSSY = {site.id for site in UNITS if site.loss is not None}


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric: sorted label pairs → value."""
    found = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and match["name"] == name:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match["labels"])))
            found[labels] = float(match["value"])
    return found


def by(series: dict[tuple[tuple[str, str], ...], float], key: str) -> dict[str, float]:
    return {dict(labels)[key]: value for labels, value in series.items()}


def fetch(url: str, *, method: str = "GET", token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the demo must start none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    listen = f"127.0.0.1:{port}"
    with open(tmp_path / "stdout.txt", "wb") as out, open(tmp_path / "stderr.txt", "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--listen", listen, "--dir", str(tmp_path / "demo")],
            cwd=ROOT,
            env={**os.environ, TOKEN_ENV: TOKEN},
            stdout=out,
            stderr=err,
        )
        try:
            yield process, f"http://{listen}", tmp_path
        finally:
            stop_process(process)


def wait_metrics(base: str, *, timeout: float = 2 * INTERVAL + 30) -> str:
    """/metrics once every router has a utilisation (two polls), every codec and link was probed, the UPS read."""
    routers = {site.router_id for site in PLAN}
    codecs = {f"{site.id}-vcs" for site in UNITS if site.fault != "link_down"}  # that one never answers
    text = ""

    def complete() -> str | None:
        nonlocal text
        _, text = fetch(f"{base}/metrics")
        utilisation = by(samples(text, "giaoban_interface_utilization_ratio"), "target")
        registered = by(samples(text, "giaoban_endpoint_registered"), "target")
        losses = by(samples(text, "giaoban_link_loss_ratio"), "site")
        ups = by(samples(text, "giaoban_ups_on_battery"), "target")
        done = routers <= set(utilisation) and codecs <= set(registered) and len(losses) == len(UNITS) and ups
        return text if done else None

    return wait_until_blocking(
        complete, timeout=timeout, what=lambda: f"a utilisation for every router:\n{text[-3000:]}", every=0.5
    )


def wait_notified(path: Path, sites: set[str], *, timeout: float = 20.0) -> set[str]:
    """Sites named by the GiaobanSiteNotReady notifications the demo's webhook wrote, once ``sites`` are among them."""
    notified: set[str] = set()

    def arrived() -> set[str] | None:
        nonlocal notified
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        documents = [json.loads(line) for line in lines]
        notified = {d["labels"]["site"] for d in documents if d["alertname"] == "GiaobanSiteNotReady"}
        return notified if sites <= notified else None

    return wait_until_blocking(
        arrived,
        timeout=timeout,
        what=lambda: f"the webhook to get notifications for {sorted(sites - notified)}",
        every=0.2,
    )


def readiness_now(base: str, meeting: str) -> dict[str, tuple[str, set[str]]]:
    """A readiness check of ``meeting`` run now through the API: site → (verdict, reason codes)."""
    status, body = fetch(f"{base}/api/v1/meetings/{meeting}/readiness", method="POST", token=TOKEN)
    assert status == 200, body
    report = json.loads(body)["report"]
    return {s["site"]: (s["verdict"], {r["code"] for r in s["reasons"]}) for s in report["sites"]}


def assert_faults_reported(
    verdicts: dict[str, tuple[str, set[str]]], expected: dict[Fault, tuple[str, tuple[str, ...]]]
) -> None:
    """Each broken site with its verdict and reasons, every other site READY."""
    for site, fault in FAULTS.items():
        verdict, codes = expected[fault]
        assert verdicts[site][0] == verdict and set(codes) <= verdicts[site][1], (site, verdicts[site])
    healthy = {site: v for site, v in verdicts.items() if site not in FAULTS}
    assert all(verdict == "READY" for verdict, _ in healthy.values()), healthy


@pytest.mark.timeout(2 * INTERVAL + 150)
def test_demo_runs_the_province_and_reports_its_faults(demo: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    """The one-command demo must show a newcomer the whole product: the province's 92 units from the official
    list, polled routers, lossy lines, codec faults, a readiness report naming each broken site with the right
    reason for the provincial briefing and for the central conference, and a clean stop."""
    process, base, tmp = demo
    wait_http(f"{base}/metrics", timeout=30)
    status, board = fetch(f"{base}/")
    assert status == 200 and "<html" in board.lower()
    text = wait_metrics(base)

    sites = {dict(labels)["site"]: dict(labels) for labels in samples(text, "giaoban_site_info")}
    assert sites[HUB.id]["role"] == "province" and sites[HUB.id]["parent"] == "" and len(sites) == 93
    units = {info["code"]: info for site, info in sites.items() if site != HUB.id}
    assert set(units) == {u.code for u in province().units} and set(FORMER_DINH_HOA) <= set(units)
    assert [info["role"] for info in units.values()].count("ward") == 15 and len(units) == 92
    assert {info["role"] for info in units.values()} == {"commune", "ward"}
    assert {info["parent"] for info in units.values()} == {HUB.id}
    assert (units["05569"]["site"], units["05542"]["site"]) == ("dinh-hoa", "lam-vy")
    links = by(samples(text, "giaoban_link_up"), "site")
    assert set(links) == {site.id for site in UNITS}
    assert all(up == 1.0 for site, up in links.items() if site not in FAULTS), links
    losses = by(samples(text, "giaoban_link_loss_ratio"), "site")
    assert losses["na-ri"] >= 0.09 and losses["sang-moc"] >= 0.09  # 12%: one or two of every round's 10 echoes
    assert all(value == 0.0 for site, value in losses.items() if site not in LOSSY), losses
    devices = by(samples(text, "giaoban_device_up"), "target")
    assert len(devices) == 94 and set(devices.values()) == {1.0}, devices  # 93 routers, 1 UPS
    inbound = {
        dict(labels)["site"]: value
        for labels, value in samples(text, "giaoban_interface_utilization_ratio").items()
        if dict(labels)["direction"] == "in"
    }
    assert 0.9 < inbound["dai-tu"] < 1.0  # ~95% of the contracted 10 Mbit/s
    assert all(value < 0.5 for site, value in inbound.items() if site != "dai-tu"), inbound
    registered = by(samples(text, "giaoban_endpoint_registered"), "target")
    assert registered["lam-vy-vcs"] == 0.0 and registered["phan-dinh-phung-vcs"] == 1.0
    assert sum(registered.values()) == len(UNITS) - 2  # Lam Vỹ's is not registered, Phú Đình's does not answer
    cameras = {
        dict(labels)["target"]: value
        for labels, value in samples(text, "giaoban_endpoint_peripheral_ok").items()
        if dict(labels)["peripheral"] == "camera"
    }
    assert cameras["binh-yen-vcs"] == 0.0 and cameras["trung-hoi-vcs"] == 1.0
    assert by(samples(text, "giaoban_ups_on_battery"), "target") == {"dinh-hoa-ups": 1.0}
    sip = by(samples(text, "giaoban_endpoint_sip_status_code"), "target")
    assert sip["trung-hoi-vcs-sip"] == 200 and sip[f"{HUB.id}-mcu-sip"] == 200

    assert fetch(f"{base}/api/v1/meetings/{MEETING_ID}/readiness", method="POST")[0] == 401
    briefing = readiness_now(base, MEETING_ID)
    assert set(briefing) == {site.id for site in PLAN}
    assert_faults_reported(briefing, EXPECTED)
    central = readiness_now(base, CENTRAL_ID)  # the province takes part: its hub and every unit
    assert set(central) == {site.id for site in PLAN}
    assert_faults_reported(central, CENTRAL_EXPECTED)

    events = [json.loads(line) for line in (tmp / "demo" / "readiness.jsonl").read_text().splitlines()]
    assert {e["site"] for e in events if e["kind"] == "site_not_ready"} == set(FAULTS)
    broken = {site for site, fault in FAULTS.items() if EXPECTED[fault][0] == "NOT_READY"}
    notified = wait_notified(tmp / "demo" / "notifications.jsonl", broken)
    assert not notified - set(FAULTS), notified  # no healthy site is announced as not ready
    assert children(process.pid) == []

    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    out = (tmp / "stdout.txt").read_text()
    assert f"{base}/metrics" in out and "Bảng sẵn sàng / Readiness board" in out and TOKEN in out
    assert "Xã Lam Vỹ CHƯA SẴN SÀNG / NOT READY — [endpoint_not_registered]" in out
    assert re.search(r"THÔNG BÁO / NOTIFICATION  firing critical lam-vy: .*Xã Lam Vỹ", out)
    assert out.rstrip().endswith("đã dừng / stopped")
    config = (tmp / "demo" / "demo.yml").read_text()
    assert 'name: "Xã Định Hóa"' in config and 'code: "05569"' in config
    assert TOKEN not in config  # the token comes from the environment


# --- the emulators on their own -------------------------------------------------------------------------------


def _router(*, oper_up: bool = True) -> EmulatedDevice:
    return EmulatedDevice(
        sys_name="tan-thinh-router",
        sys_descr="demo router",
        location="Xã Tân Thịnh",
        interfaces=[
            EmulatedInterface(1, "GigabitEthernet0/0/0", "GigabitEthernet0/0/0", alias="LAN"),
            EmulatedInterface(
                2,
                UPLINK,
                UPLINK,
                alias="TSLCD – Xã Tân Thịnh",
                port_bits=100_000_000,
                oper_up=oper_up,
                traffic=Traffic(9_500_000, 2_000_000, daily=False, wobble=0.0),
            ),
        ],
        ups=EmulatedUps(on_battery=True, minutes_at_start=42),
    )


@pytest.fixture
async def agent() -> AsyncIterator[tuple[SnmpAgent, int]]:
    snmp = SnmpAgent("labcommunity")
    port = await snmp.add(_router(), "127.0.0.1", 0)
    try:
        yield snmp, port
    finally:
        snmp.close()


async def _net_snmp(tmp_path: Path, *argv: str) -> tuple[int, str]:
    """Run a net-snmp client without blocking the loop the agent answers on."""
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(tmp_path / "persist")}
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_snmp_agent_answers_net_snmp(agent: tuple[SnmpAgent, int], tmp_path: Path) -> None:
    """snmpbulkwalk and snmpget are the reference clients: if they read the agent, any poller can."""
    _, port = agent
    target = f"127.0.0.1:{port}"
    walk = require_program("snmpbulkwalk")
    code, out = await _net_snmp(tmp_path, walk, "-v2c", "-c", "labcommunity", "-On", "-Cr7", target, "1.3.6.1.2.1")
    assert code == 0, out
    assert f'.1.3.6.1.2.1.31.1.1.1.1.2 = STRING: "{UPLINK}"' in out
    assert ".1.3.6.1.2.1.2.2.1.8.2 = INTEGER: 1" in out  # ifOperStatus up
    assert re.search(r"\.1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.6\.2 = Counter64: \d+", out)
    assert ".1.3.6.1.2.1.31.1.1.1.15.2 = Gauge32: 100" in out  # ifHighSpeed
    assert ".1.3.6.1.2.1.33.1.4.1.0 = INTEGER: 5" in out  # upsOutputSource battery(5)
    assert ".1.3.6.1.2.1.33.1.2.3.0 = INTEGER: 42" in out
    oids = [line.split(" = ")[0] for line in out.splitlines() if " = " in line and "No more variables" not in line]
    assert len(oids) == len(set(oids)) == 58  # every object once, over several GETBULK pages of 7 rows
    assert out.rstrip().endswith("(It is past the end of the MIB tree)")  # endOfMibView ends the walk

    get = require_program("snmpget")
    code, out = await _net_snmp(
        tmp_path, get, "-v2c", "-c", "labcommunity", "-On", target, "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.2.1.10.9"
    )
    assert re.search(r"\.1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: \(\d+\) \d+ days", out), out
    assert "No Such Instance" in out
    code, out = await _net_snmp(
        tmp_path, get, "-v2c", "-c", "wrong", "-t", "0.3", "-r", "0", target, "1.3.6.1.2.1.1.3.0"
    )
    assert code != 0 and "Timeout" in out  # a wrong community gets silence, as from net-snmp
    code, out = await _net_snmp(
        tmp_path, get, "-v1", "-c", "labcommunity", "-t", "0.3", "-r", "0", target, "1.3.6.1.2.1.1.3.0"
    )
    assert code != 0 and "Timeout" in out  # SNMPv1 is not spoken: silence too
    snmpset = require_program("snmpset")
    code, out = await _net_snmp(
        tmp_path, snmpset, "-v2c", "-c", "labcommunity", target, "1.3.6.1.2.1.1.5.0", "s", "renamed"
    )
    assert code != 0 and "notWritable" in out, out


async def test_project_probe_reads_utilisation_from_the_agent(
    agent: tuple[SnmpAgent, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's own SNMP probe must measure the emulated traffic (95% of a 10 Mbit/s contract) and the UPS."""
    snmp, port = agent
    monkeypatch.setenv("GIAOBAN_TEST_DEMO_COMMUNITY", "labcommunity")
    settings = SnmpSettings(
        community=Secret(env="GIAOBAN_TEST_DEMO_COMMUNITY"),
        port=port,
        interfaces=[UPLINK],
        bandwidth={UPLINK: 10_000_000},
        ups=True,
    )
    poller = SnmpPoller()
    ctx = ProbeContext(snmp=poller)
    kind = KINDS["snmp"]
    try:
        first = await kind.probe(f"127.0.0.1:{port}", settings, ctx=ctx)
        assert first.success, first.detail
        await asyncio.sleep(5.3)  # probes/snmp/rates.py measures over at least 5 s
        second = await kind.probe(f"127.0.0.1:{port}", settings, ctx=ctx)
    finally:
        await poller.close()
    reading = second.payload
    assert isinstance(reading, DeviceReading)
    uplink = reading.interfaces[0]
    assert uplink.utilization_in is not None and uplink.utilization_out is not None
    assert uplink.utilization_in == pytest.approx(0.95, abs=0.03)
    assert uplink.utilization_out == pytest.approx(0.20, abs=0.03)
    assert uplink.oper_up is True and uplink.speed_bits == 10_000_000
    assert reading.ups is not None and reading.ups.on_battery is True and reading.ups.runtime_seconds == 42 * 60
    assert not reading.rebooted and reading.uptime_seconds > 86400  # not "rebooted recently": sites stay READY
    snmp.devices[("127.0.0.1", port)].interfaces[1].oper_up = False
    third = await KINDS["snmp"].probe(f"127.0.0.1:{port}", settings, ctx=ProbeContext())
    assert third.values["interfaces_down"] == 1.0  # the demo's failing link


@pytest.mark.parametrize("vendor", ["cisco-xapi", "poly-rest"])
async def test_codec_emulator_answers_the_probes(vendor: Vendor, tmp_path: Path) -> None:
    """What each emulated codec reports must be what the SIP and status-API probes read: busy, camera, silence."""
    credentials = tmp_path / "credentials"
    credentials.write_text("admin:s3cret\n")
    async with codec_farm() as farm:
        busy = CodecState(name="Xã Tân Thịnh", vendor=vendor, password="s3cret", in_call=True, camera=False)
        dead = CodecState(name="Xã Phú Đình", vendor=vendor, password="s3cret", reachable=False)
        busy_ports = await farm.add("busy", busy, "127.0.0.1", sip_port=0, api_port=0)
        dead_ports = await farm.add("dead", dead, "127.0.0.1", sip_port=0, api_port=0)
        sip, api = KINDS["sip"], KINDS[vendor]
        sip_settings = sip.settings()
        api_settings = api.settings.model_validate({"scheme": "http", "credentials": {"file": str(credentials)}})
        ctx = ProbeContext()
        answered = await sip.probe(f"127.0.0.1:{busy_ports.sip}", sip_settings, ctx=ctx)
        assert answered.reason == Reason.ENDPOINT_BUSY and answered.values["sip_status_code"] == 486
        status = await api.probe(f"127.0.0.1:{busy_ports.api}", api_settings, ctx=ctx)
        assert status.values["in_call"] == 1.0 and status.values["peripheral_camera"] == 0.0
        assert status.values["registered"] == 1.0 and status.values["peripheral_microphone"] == 1.0
        busy.in_call, busy.camera = False, True
        assert (await sip.probe(f"127.0.0.1:{busy_ports.sip}", sip_settings, ctx=ctx)).success
        assert (await api.probe(f"127.0.0.1:{busy_ports.api}", api_settings, ctx=ctx)).success
        silent = await asyncio.wait_for(
            asyncio.gather(
                asyncio.wait_for(sip.probe(f"127.0.0.1:{dead_ports.sip}", sip_settings, ctx=ctx), 1.0),
                asyncio.wait_for(api.probe(f"127.0.0.1:{dead_ports.api}", api_settings, ctx=ctx), 1.0),
                return_exceptions=True,
            ),
            5.0,
        )
        assert all(isinstance(outcome, TimeoutError) for outcome in silent)  # a dead line answers nothing


@pytest.mark.parametrize(
    ("percent", "count", "allowed"),
    [
        pytest.param(2, 50, {1}, id="2%-readiness-round-loses-exactly-one"),
        pytest.param(12, 10, {1, 2}, id="12%-live-round-always-loses-some"),
        pytest.param(12, 50, {6}, id="12%-readiness-round"),
        pytest.param(2, 10, {0, 1}, id="2%-live-round"),
    ],
)
def test_lossy_line_loses_its_share_in_every_round(percent: int, count: int, allowed: set[int]) -> None:
    """The demo's verdicts hang on this: whatever echo a round starts at, it loses floor or ceil of its share."""
    ratio = Fraction(percent, 100)
    per_round = {sum(lost(start + seq, ratio) for seq in range(count)) for start in range(500)}
    assert per_round == allowed
    assert sum(lost(echo, ratio) for echo in range(10_000)) == percent * 100  # the long-run rate is exact


async def test_lossy_pinger_forgets_replies_of_lossy_lines_only() -> None:
    """Real echoes go out and come back; only the lossy address's round has gaps, overlapping rounds included."""
    mode = await asyncio.to_thread(detect_icmp_mode)
    if not mode.usable:
        missing(f"ICMP echo on loopback ({mode.message})")
    inner = Pinger(mode)
    pinger = LossyPinger(inner, {"127.0.1.7": Fraction(12, 100)})
    try:
        rounds = await asyncio.gather(
            pinger.round("127.0.1.7", count=50, interval=0.002, timeout=0.5),
            pinger.round("127.0.1.7", count=10, interval=0.002, timeout=0.5),
            pinger.round("127.0.1.8", count=50, interval=0.002, timeout=0.5),
        )
    finally:
        inner.close()
    lossy_long, lossy_short, clean = ([rtt is None for rtt in rtts] for rtts in rounds)
    assert sum(lossy_long) == 6 and sum(lossy_short) in (1, 2)
    assert not any(clean) and len(clean) == 50
    assert pinger.mode_name == inner.mode_name


# The agent's BER against pyasn1's, the encoder pysnmp (and so the service's poller) is built on.
V2C: Any = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


@pytest.mark.parametrize(
    ("tag", "kind", "value"),
    [
        pytest.param(ber.INTEGER, "Integer", value, id=f"integer-{value}")
        for value in (0, 1, 127, 128, 255, 256, 2**31 - 1, -1, -128, -129, -(2**31))
    ]
    + [pytest.param(ber.GAUGE32, "Gauge32", value, id=f"gauge32-{value}") for value in (2**31, 2**32 - 1)]
    + [pytest.param(ber.COUNTER32, "Counter32", 2**32 - 1, id="counter32-max")]
    + [pytest.param(ber.TIMETICKS, "TimeTicks", 123456, id="timeticks")]
    + [pytest.param(ber.COUNTER64, "Counter64", value, id=f"counter64-{value}") for value in (2**63, 2**64 - 1)],
)
def test_ber_integers_match_pyasn1(tag: int, kind: str, value: int) -> None:
    """Two's complement in the fewest octets (X.690 §8.3.2), a leading zero where the high bit is set: what every
    SNMP manager decodes. Byte for byte pyasn1's, except that pyasn1 pads some negative numbers (-128)."""
    ours = ber.integer(value, tag)
    decoded, rest = pyasn1_decode(ours, asn1Spec=getattr(V2C, kind)())
    assert int(decoded) == value and rest == b""
    body = ours[2:]
    assert ours[1] == len(body) and not (len(body) > 1 and body[0] in (0x00, 0xFF) and (body[0] ^ body[1]) < 0x80)
    if value >= 0:
        assert ours == pyasn1_encode(getattr(V2C, kind)(value))


def test_ber_request_and_response_round_trip_through_pyasn1() -> None:
    """A GETBULK as pysnmp writes it (a negative request-id, OIDs with arcs over 127) is read right, and the
    answer, long enough to need a long-form length, is what pysnmp reads back."""
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, "lab")
    pdu = V2C.GetBulkRequestPDU()
    V2C.apiBulkPDU.set_defaults(pdu)
    V2C.apiBulkPDU.set_request_id(pdu, -123456)
    V2C.apiBulkPDU.set_non_repeaters(pdu, 1)
    V2C.apiBulkPDU.set_max_repetitions(pdu, 25)
    oids = [(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)]
    V2C.apiBulkPDU.set_varbinds(pdu, [(oid, V2C.Null("")) for oid in oids])
    V2C.apiMessage.set_pdu(message, pdu)
    request = ber.decode_request(pyasn1_encode(message))
    assert (request.version, request.community, request.pdu) == (1, b"lab", ber.GET_BULK)
    assert (request.first, request.second) == (1, 25)
    assert [oid for oid, _ in request.varbinds] == oids

    name = "Xã Định Hóa – phòng họp".encode()
    varbinds = [(oids[1], ber.octets(name * 8)), (oids[0], ber.integer(4242, ber.TIMETICKS))]
    answer, _ = pyasn1_decode(ber.encode_response(request, varbinds), asn1Spec=V2C.Message())
    response = V2C.apiMessage.get_pdu(answer)
    assert int(V2C.apiPDU.get_request_id(response)) == -123456
    read = [(tuple(oid), value) for oid, value in V2C.apiPDU.get_varbinds(response)]
    assert read[0] == (oids[1], name * 8) and read[1] == (oids[0], 4242)
    with pytest.raises(ber.BerError):
        ber.decode_request(pyasn1_encode(message)[:-3])  # truncated
