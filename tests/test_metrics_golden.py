"""/metrics for a fixed state, byte for byte against tests/golden/metrics.prom, which promtool accepts.

The state has every kind of target the writer knows: links up and down, an ICMP endpoint (no link series),
HTTP and TCP with certificates, SIP, H.323 cut off by its deadline, a codec status API, an SNMP router with a
UPS; plus the scheduler's lag, meetings, sites, alerts, the outbox and the local spool. After an intended
change, regenerate the file and read its diff::

    GIAOBAN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_metrics_golden.py
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.outbox import OutboxStats
from monitor.config.models import Config
from monitor.engine.ownership import OwnershipSpec
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.metrics.alerts import alerts_source
from monitor.metrics.calls import calls_source
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.leases import leases_source
from monitor.metrics.meetings import meetings_source
from monitor.metrics.outbox import outbox_source
from monitor.metrics.sites import sites_source
from monitor.metrics.spool import spool_source
from monitor.readiness.attendance import Attendance, Limits, SiteCall
from monitor.readiness.checks import SiteReadiness
from monitor.readiness.engine import MeetingSnapshot
from monitor.readiness.meetings import Meeting, Occurrence
from monitor.readiness.report import ReadinessReport
from monitor.readiness.schedule import occurrence_key
from monitor.readiness.watch import WatchedOccurrence, WatchSnapshot, WatchStats
from monitor.storage.spool import SpoolSnapshot
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading
from probes.vc.media import MediaStats
from tests.peers import require_program


@dataclass(frozen=True)
class GoldenLeases:
    """A standby's leases: it owns the whole inventory (unit "*") and does not hold it."""

    units: tuple[str, ...] = ("*",)
    held: frozenset[str] = frozenset()
    errors: int = 0


GOLDEN = Path(__file__).parent / "golden" / "metrics.prom"
# The centre unreachable for a while: results and two notifications kept, some written back already.
SPOOL = SpoolSnapshot(
    rows={"history": 1200, "alerts": 1, "outbox": 2},
    bytes=462848,
    max_bytes=256 * 2**20,
    oldest_age=75.5,
    written_back={"history": 300},
    diverting=True,
)
UPDATE = os.environ.get("GIAOBAN_UPDATE_GOLDEN", "") not in ("", "0")
T0 = 1_800_000_000.0
NOW = datetime.fromtimestamp(T0, UTC)

CONFIG = Config.model_validate(
    {
        "district": {"name": "Huyện Thử"},
        "sites": [
            {
                "id": "hub",
                "name": "UBND huyện",
                "role": "district",
                "location": {"lat": 21.9, "lon": 105.64},
                "link": {"address": "192.0.2.1"},
                "devices": [
                    {
                        "id": "hub-router",
                        "address": "192.0.2.2",
                        "snmp": {"community": {"env": "GOLDEN_COMMUNITY"}, "interfaces": ["wan", "lan"], "ups": True},
                    }
                ],
                "endpoints": [
                    {"id": "portal", "kind": "http", "address": "https://192.0.2.3/"},
                    {"id": "mcu", "kind": "h323", "address": "192.0.2.4"},
                    {"id": "mcu-tls", "kind": "tcp", "address": "192.0.2.4", "port": 443, "tls": True},
                ],
            },
            {
                "id": "tan-thinh",
                "name": "Xã Tân Thịnh",
                "parent": "hub",
                "link": {"address": "198.51.100.21"},
                "endpoints": [
                    {"id": "vcs", "kind": "sip", "address": "198.51.100.22"},
                    {"id": "codec", "kind": "cisco-xapi", "address": "198.51.100.23"},
                    {"id": "gw", "kind": "icmp", "address": "198.51.100.24"},
                ],
            },
            {
                # giaoban could not measure here (issue 14): no ICMP permission, an H.323 codec it cannot probe.
                "id": "kim-phuong",
                "name": "Xã Kim Phượng",
                "parent": "hub",
                "link": {"address": "198.51.100.31"},
                "endpoints": [{"id": "mcu2", "kind": "h323", "address": "198.51.100.32"}],
            },
        ],
    }
)

ICMP_PHASES = {"resolve": 0.0, "rtt": 1.85}
LINK_UP = ProbeResult(
    success=True,
    duration=1.85,
    phases=ICMP_PHASES,
    values={
        **{"rtt_min": 0.010, "rtt_avg": 0.012, "rtt_median": 0.011, "rtt_max": 0.020},
        **{"jitter": 0.002, "loss_ratio": 0.1, "mos": 4.2, "sent": 10.0, "received": 9.0, "hop_limit": 62.0},
    },
    samples=(0.010, 0.011, 0.011, 0.012, 0.012, 0.011, 0.010, 0.020, 0.011),
    timestamp=T0,
)
LINK_DOWN = ProbeResult.failure(
    Reason.NO_REPLY,
    "no reply",
    duration=3.4,
    phases={"resolve": 0.0, "rtt": 3.4},
    values={"loss_ratio": 1.0, "mos": 1.0, "sent": 10.0, "received": 0.0},
    timestamp=T0 + 1,
)
GATEWAY = ProbeResult(
    success=True,
    duration=0.5,
    phases={"resolve": 0.0, "rtt": 0.5},
    values={"rtt_min": 0.001, "rtt_avg": 0.001, "rtt_median": 0.001, "rtt_max": 0.001, "loss_ratio": 0.0},
    samples=(0.001, 0.001, 0.001),
    timestamp=T0 + 2,
)
PORTAL = ProbeResult(
    success=False,
    duration=0.05,
    reason=Reason.BAD_STATUS,
    detail="status 503, expected 2xx",
    phases={"resolve": 0.0, "connect": 0.001, "tls": 0.01, "processing": 0.03, "transfer": 0.001},
    values={"status_code": 503.0, "content_length": 120.0, "redirects": 0.0, "tls_cert_expiry": 1_900_000_000.0},
    timestamp=T0 + 3,
)
MCU_TLS = ProbeResult(
    success=True,
    duration=0.02,
    phases={"resolve": 0.0, "connect": 0.005, "tls": 0.015},
    values={"tls_cert_expiry": 1_850_000_000.0},
    timestamp=T0 + 4,
)
SIP = ProbeResult(
    success=True,
    duration=0.004,
    phases={"resolve": 0.0, "rtt": 0.004},
    values={"up": 1.0, "response_seconds": 0.004, "sip_status_code": 200.0},
    timestamp=T0 + 5,
)
CODEC = ProbeResult.failure(
    Reason.PERIPHERAL_MISSING,
    "no camera connected",
    duration=0.2,
    phases={"connect": 0.01, "processing": 0.18},
    values={
        **{"up": 1.0, "response_seconds": 0.2, "registered": 1.0, "in_call": 0.0, "standby": 0.0},
        **{"peripheral_camera": 0.0, "peripheral_microphone": 1.0, "microphone_muted": 0.0, "uptime": 86400.0},
    },
    timestamp=T0 + 6,
)
MCU_CUT_OFF = ProbeResult.failure(Reason.TIMEOUT, "no result within 10s", duration=10.0, timestamp=T0 + 7)
# Unmeasured: giaoban_probe_measured 0 and none of the kind's series (no giaoban_link_up 0, no endpoint_up 0).
NO_ICMP = ProbeResult.failure(
    Reason.PERMISSION,
    "no way to send ICMP echo",
    duration=0.0,
    info={"setup": "icmp_permission", "gid": "998", "ping_group_range": "1 0", "covered": "no"},
    timestamp=T0 + 9,
)
MCU_BAD_ADDRESS = ProbeResult.failure(Reason.BAD_TARGET, "bad port", duration=0.0, values={"up": 0.0}, timestamp=T0 + 9)


def _interface(name: str, index: int, **readings: object) -> InterfaceReading:
    fields: dict[str, object] = dict.fromkeys(
        (
            "receive_bytes_total",
            "transmit_bytes_total",
            "in_errors_total",
            "out_errors_total",
            "in_discards_total",
            "out_discards_total",
            "speed_bits",
            "port_speed_bits",
            "receive_bps",
            "transmit_bps",
            "utilization_in",
            "utilization_out",
        )
    )
    fields.update(name=name, index=index, descr=name, alias="", oper_up=True, admin_up=True)
    fields.update(counter_bits=64, counter_reset=False, **readings)
    return InterfaceReading(**fields)  # type: ignore[arg-type]


WAN = _interface(
    "wan",
    1,
    **{"receive_bytes_total": 123456789, "transmit_bytes_total": 98765432, "in_errors_total": 0},
    **{"out_errors_total": 2, "speed_bits": 100e6, "port_speed_bits": 1e9, "receive_bps": 4e6},
    **{"transmit_bps": 1e6, "utilization_in": 0.04, "utilization_out": 0.01},
)
LAN = _interface(  # the first poll after start: counters, no rates yet
    "lan",
    2,
    **{"oper_up": False, "receive_bytes_total": 5, "transmit_bytes_total": 7, "in_errors_total": 0},
    **{"out_errors_total": 0, "speed_bits": 1e9, "port_speed_bits": 1e9},
)
UPS = UpsReading(
    on_battery=False,
    output_source="normal",
    runtime_seconds=1800.0,
    seconds_on_battery=0.0,
    charge_ratio=1.0,
    battery_status="normal",
)
ROUTER = ProbeResult(
    success=True,
    duration=0.03,
    phases={"setup": 0.01, "poll": 0.02},
    values={
        **{"uptime": 360000.0, "rebooted": 0.0, "interfaces": 2.0, "interfaces_missing": 0.0},
        **{"interfaces_down": 1.0, "ups_on_battery": 0.0, "ups_runtime": 1800.0},
    },
    payload=DeviceReading("hub-router", "RouterOS", 360000.0, False, (WAN, LAN), (), UPS),
    timestamp=T0 + 8,
)
RESULTS = {
    "hub/link": (LINK_UP, LINK_UP),
    "tan-thinh/link": (LINK_DOWN,),
    "tan-thinh/gw": (GATEWAY,),
    "hub/portal": (PORTAL,),
    "hub/mcu-tls": (MCU_TLS,),
    "tan-thinh/vcs": (SIP,),
    "tan-thinh/codec": (CODEC,),
    "hub/mcu": (MCU_CUT_OFF,),
    "hub/hub-router": (ROUTER,),
    "kim-phuong/link": (NO_ICMP,),
    "kim-phuong/mcu2": (MCU_BAD_ADDRESS,),
}

MEETING = Meeting("mon", "Giao ban", NOW + timedelta(hours=1), 3600.0, "Asia/Ho_Chi_Minh", "all", 2_000_000)
OCCURRENCE = Occurrence(MEETING, MEETING.start, MEETING.start + timedelta(hours=1))
REPORT = ReadinessReport(
    meeting_id="mon",
    title="Giao ban",
    occurrence_start=MEETING.start,
    lead_time=3600.0,
    checked_at=NOW,
    sites=(
        SiteReadiness("hub", "READY", (), ()),
        SiteReadiness("tan-thinh", "DEGRADED", (), ()),
    ),
    names={"hub": "UBND huyện", "tan-thinh": "Xã Tân Thịnh"},
)
SNAPSHOT = MeetingSnapshot(upcoming=(OCCURRENCE,), latest={occurrence_key(OCCURRENCE): REPORT}, now=NOW)
# The running briefing (issue 18): Tân Thịnh connected with media, the hub's codec unknown, one bridge faulty.
RUNNING = Occurrence(MEETING, NOW - timedelta(minutes=10), NOW + timedelta(minutes=50))
_JOINED = Attendance("tan-thinh", joined_at=T0 - 590, last_joined_at=T0 - 590, left_at=T0 - 300, rejoins=1)
_JOINED.observe(
    SiteCall(True, "sip:mcu@vc.example.org", (MediaStats("video", "rx", 0.004, 0.012, 1_900_000.0),)),
    T0,
    Limits(0.01, 0.03, 0.05),
)
WATCH = WatchSnapshot(
    (
        WatchedOccurrence(
            RUNNING,
            {"tan-thinh": "Xã Tân Thịnh", "hub": "UBND huyện"},
            (_JOINED.to_json(), Attendance("hub").to_json()),
        ),
    ),
    T0,
)
WATCH_STATS = WatchStats(
    polls=60, failures={"cisco-xapi": 2}, faults={"bridge:mcu": "no reader for bridges of kind rmx"}
)
OUTBOX = OutboxStats(
    results=Counter({("hook", "delivered"): 3, ("hook", "retry"): 1}), pending=1, channels=("hook", "log")
)


def golden_exposition() -> Exposition:
    state = State()
    targets = {target.key: target for target in targets_from_config(CONFIG)}
    for target in targets.values():
        state.track(target)
    for key, results in RESULTS.items():
        for result in results:
            state.record(targets[key], result)
    scheduler = Scheduler(ctx=ProbeContext(), state=state, concurrency={})
    for lag in (0.0004, 0.003, 0.2):
        scheduler.lag.observe(lag)
    # A fixed version: the file must not change with each release.
    exposition = Exposition.for_state(state, scheduler, ReloadStatus(True, T0), version="0.0.0+golden")
    exposition.add_source(meetings_source(lambda: SNAPSHOT))
    owned = OwnershipSpec.parse(agent="agent-1").resolve(CONFIG)
    exposition.add_source(sites_source(lambda: CONFIG, lambda: owned))
    exposition.add_source(leases_source(GoldenLeases()))
    exposition.add_source(alerts_source(lambda: {"critical": 1, "info": 0, "warning": 2}))
    exposition.add_source(outbox_source(lambda: OUTBOX))
    exposition.add_source(spool_source(lambda: SPOOL))
    exposition.add_source(calls_source(lambda: WATCH, lambda: WATCH_STATS))
    return exposition


def test_metrics_match_the_golden_file() -> None:
    """Every name, label, HELP and TYPE line and value format of /metrics is pinned; the cached scrape too."""
    exposition = golden_exposition()
    first, cached = exposition.render(), exposition.render()
    if UPDATE:
        GOLDEN.write_bytes(first)
        pytest.skip(f"wrote {GOLDEN}: read its diff before committing")
    assert first == GOLDEN.read_bytes(), "see the module docstring to regenerate after an intended change"
    assert cached == first


def test_the_golden_file_passes_promtool() -> None:
    """What Prometheus' own linter says of the file: names, units, help, types, histogram shape."""
    promtool = require_program("promtool")
    checked = subprocess.run([promtool, "check", "metrics"], input=GOLDEN.read_bytes(), capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert checked.stdout == checked.stderr == b"", "promtool has remarks (lint warnings)"
