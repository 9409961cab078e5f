"""A site's readiness verdict from measured results, one rule at a time (monitor/readiness/checks.py)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.config.models import Site, Thresholds
from monitor.i18n import VERDICTS
from monitor.readiness.checks import _DEVICE_FAULTS, _LINK_CODES, Meeting, SiteProbes, SiteReadiness, evaluate_site
from monitor.readiness.texts import TEXTS, render
from probes.core.result import ProbeResult, Reason
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading

SITE = Site.model_validate(
    {
        "id": "tan-thinh",
        "name": "Xã Tân Thịnh",
        "parent": "hub",
        "link": {"address": "192.0.2.21", "device": "router", "interface": "ge-0/0/1", "bandwidth": 10_000_000},
        "devices": [{"id": "router", "address": "192.0.2.21"}],
    }
)
MEETING = Meeting(call_rate=2_048_000, duration=7200)
VI_LETTERS = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE)


def icmp(*, loss: float = 0.0, rtt: float = 0.02, jitter: float = 0.002, mos: float = 4.4) -> ProbeResult:
    sent = 50.0
    received = sent * (1 - loss)
    if received == 0:
        return ProbeResult.failure(Reason.NO_REPLY, "no reply", duration=10.0, values={"sent": sent, "received": 0.0})
    values = {"rtt_median": rtt, "jitter": jitter, "loss_ratio": loss, "mos": mos, "sent": sent, "received": received}
    return ProbeResult(success=True, duration=10.0, values=values)


def interface(**changes: object) -> InterfaceReading:
    base = InterfaceReading(
        name="ge-0/0/1", index=2, descr="ge-0/0/1", alias="", oper_up=True, admin_up=True,
        receive_bytes_total=10**9, transmit_bytes_total=10**9, in_errors_total=0, out_errors_total=0,
        in_discards_total=0, out_discards_total=0, speed_bits=10e6, port_speed_bits=1e9,
        receive_bps=1e6, transmit_bps=0.5e6, utilization_in=0.1, utilization_out=0.05, counter_bits=64,
        counter_reset=False,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def router(*, uptime: float = 86400.0, ups: UpsReading | None = None, **iface: object) -> ProbeResult:
    reading = DeviceReading("r", "router", uptime, False, (interface(**iface),), (), ups)
    values: dict[str, float] = {"uptime": uptime}
    if ups is not None and ups.on_battery is not None:
        values["ups_on_battery"] = 1.0 if ups.on_battery else 0.0
    if ups is not None and ups.runtime_seconds is not None:
        values["ups_runtime"] = ups.runtime_seconds
    return ProbeResult(success=True, duration=0.1, values=values, payload=reading)


def verdict(probes: SiteProbes, thresholds: Thresholds | None = None, locale: str = "vi") -> SiteReadiness:
    return evaluate_site(probes, thresholds=thresholds or Thresholds(), meeting=MEETING, locale=locale)  # type: ignore[arg-type]


def codes(result: SiteReadiness) -> list[str]:
    return [r.code for r in result.reasons]


def ups(on_battery: bool, runtime: float) -> UpsReading:
    return UpsReading(on_battery, "battery" if on_battery else "normal", runtime, 60.0, 0.5, "normal")


CASES = [
    ("healthy", SiteProbes(SITE, link=icmp(), router=router(), router_id="router"), "READY", []),
    ("loss-fair", SiteProbes(SITE, link=icmp(loss=0.02)), "DEGRADED", ["link_loss_elevated"]),
    ("loss-poor", SiteProbes(SITE, link=icmp(loss=0.06)), "NOT_READY", ["link_loss_high"]),
    ("link-down", SiteProbes(SITE, link=icmp(loss=1.0)), "NOT_READY", ["link_down"]),
    (
        "no-icmp-permission",
        SiteProbes(SITE, link=ProbeResult.failure(Reason.PERMISSION, "no ICMP socket", duration=0)),
        "DEGRADED",
        ["link_unchecked"],
    ),
    ("rtt-soft", SiteProbes(SITE, link=icmp(rtt=0.2)), "DEGRADED", ["link_rtt_elevated"]),
    ("rtt-hard", SiteProbes(SITE, link=icmp(rtt=0.5)), "NOT_READY", ["link_rtt_high"]),
    ("jitter-hard", SiteProbes(SITE, link=icmp(jitter=0.08)), "NOT_READY", ["link_jitter_high"]),
    ("mos-fair", SiteProbes(SITE, link=icmp(mos=3.4)), "DEGRADED", ["link_mos_fair"]),
    (
        "saturated",
        SiteProbes(SITE, link=icmp(), router=router(receive_bps=8.5e6), router_id="router"),
        "NOT_READY",
        ["bandwidth_insufficient"],
    ),
    (
        "no-rate-yet",
        SiteProbes(SITE, router=router(receive_bps=None, transmit_bps=None), router_id="router"),
        "DEGRADED",
        ["bandwidth_unmeasured"],
    ),
    (
        "interface-down",
        SiteProbes(SITE, router=router(oper_up=False), router_id="router"),
        "NOT_READY",
        ["interface_down"],
    ),
    (
        "errors-rising",
        SiteProbes(SITE, router=router(in_errors_total=120), router_id="router", router_earlier=router()),
        "DEGRADED",
        ["interface_errors_rising"],
    ),
    ("rebooted", SiteProbes(SITE, router=router(uptime=300.0), router_id="router"), "DEGRADED", ["router_rebooted"]),
    (
        "router-silent",
        SiteProbes(SITE, router=ProbeResult.failure(Reason.TIMEOUT, "no answer", duration=2), router_id="router"),
        "DEGRADED",
        ["router_unreachable"],
    ),
    (
        "ups-short",
        SiteProbes(SITE, router=router(ups=ups(True, 1800.0)), router_id="router"),
        "NOT_READY",
        ["ups_on_battery_short"],
    ),
    (
        "ups-long",
        SiteProbes(SITE, router=router(ups=ups(True, 9000.0)), router_id="router"),
        "DEGRADED",
        ["ups_on_battery"],
    ),
    (
        "codec-down",
        SiteProbes(SITE, endpoints=[("vcs", ProbeResult.failure(Reason.TIMEOUT, "no answer", duration=2))]),
        "NOT_READY",
        ["endpoint_down"],
    ),
    (
        "unregistered",
        SiteProbes(
            SITE,
            endpoints=[
                ("vcs", ProbeResult.failure(Reason.NOT_REGISTERED, "inactive", duration=1, values={"registered": 0.0}))
            ],
        ),
        "NOT_READY",
        ["endpoint_not_registered"],
    ),
    (
        "busy",
        SiteProbes(SITE, endpoints=[("vcs", ProbeResult.failure(Reason.ENDPOINT_BUSY, "486", duration=1))]),
        "NOT_READY",
        ["endpoint_in_call"],
    ),
    (
        "camera-missing",
        SiteProbes(
            SITE,
            endpoints=[
                (
                    "vcs",
                    ProbeResult.failure(
                        Reason.PERIPHERAL_MISSING, "no camera", duration=1, values={"up": 1.0, "peripheral_camera": 0.0}
                    ),
                )
            ],
        ),
        "NOT_READY",
        ["camera_missing"],
    ),
    (
        "sip-not-ready",
        SiteProbes(
            SITE, endpoints=[("vcs", ProbeResult.failure(Reason.NOT_READY, "503", duration=1, values={"up": 1.0}))]
        ),
        "NOT_READY",
        ["endpoint_not_ready"],
    ),
    *(
        (
            f"device-says-{reason}",  # Cisco diagnostics: it answered and names its own fault (issue 15)
            SiteProbes(
                SITE,
                endpoints=[("vcs", ProbeResult.failure(reason, "network: link down", duration=1, values={"up": 1.0}))],
            ),
            "NOT_READY",
            [code],
        )
        for reason, code in (
            (Reason.NETWORK_FAULT, "endpoint_network_fault"),
            (Reason.OVERHEATING, "endpoint_overheating"),
        )
    ),
    (
        "muted",
        SiteProbes(SITE, endpoints=[("vcs", ProbeResult(success=True, duration=1, reason=Reason.MICROPHONE_MUTED))]),
        "DEGRADED",
        ["microphone_muted"],
    ),
    (
        "hard-and-soft",
        SiteProbes(
            SITE,
            link=icmp(loss=0.02),
            endpoints=[("vcs", ProbeResult.failure(Reason.TIMEOUT, "no answer", duration=2))],
        ),
        "NOT_READY",
        ["link_loss_elevated", "endpoint_down"],
    ),
]


@pytest.mark.parametrize(("probes", "expected", "reasons"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_verdict(probes: SiteProbes, expected: str, reasons: list[str]) -> None:
    """Each finding of the README's readiness list maps to its verdict and reason code; soft ones alone only degrade."""
    result = verdict(probes)
    assert (result.verdict, codes(result)) == (expected, reasons)
    assert all(r.message and r.action for r in result.reasons)


def test_bandwidth_sentence_in_vietnamese_names_the_numbers() -> None:
    """The technician reads how much is free and how much the call needs, with decimal commas."""
    result = verdict(SiteProbes(SITE, router=router(receive_bps=8.5e6), router_id="router"))
    message = result.reasons[0].message
    assert "1,5 Mbit/s" in message and "2,5 Mbit/s" in message and "20%" in message, message
    assert result.targets == ("router",)


def test_site_thresholds_override() -> None:
    """A per-site threshold (a long rural link) changes that site's verdict only."""
    lenient = Thresholds(loss=0.05, loss_critical=0.08)
    assert verdict(SiteProbes(SITE, link=icmp(loss=0.06)), lenient).verdict == "DEGRADED"


def test_english_locale() -> None:
    """district.locale: en gives English sentences."""
    result = verdict(SiteProbes(SITE, link=icmp(loss=0.06)), locale="en")
    assert result.reasons[0].message.startswith("Packet loss 6%")


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_every_reason_has_both_locales(code: str) -> None:
    """Every reason code speaks Vietnamese (NFC, with diacritics) and English, and its fields match."""
    vi, en = TEXTS[code]["vi"], TEXTS[code]["en"]
    for text in (*vi, *en):
        assert unicodedata.is_normalized("NFC", text), text
    assert VI_LETTERS.search(vi[0]) and VI_LETTERS.search(vi[1]), vi
    fields = set(re.findall(r"\{(\w+)\}", vi[0] + vi[1]))
    assert fields == set(re.findall(r"\{(\w+)\}", en[0] + en[1])), code
    rendered = render(code, "vi", dict.fromkeys(fields, 1.5))
    assert "{" not in rendered[0] + rendered[1]


def test_every_code_the_checks_emit_has_texts() -> None:
    """A reason added to monitor/readiness/checks.py without its sentences fails here, not in front of a technician."""
    source = (Path(__file__).parent.parent / "monitor" / "readiness" / "checks.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'add\(\s*"(\w+)"', source)) | {code for pair in _LINK_CODES.values() for code in pair}
    emitted |= set(_DEVICE_FAULTS.values())
    assert emitted and emitted <= set(TEXTS)
    assert set(VERDICTS) == {"READY", "DEGRADED", "NOT_READY", "UNKNOWN"}  # UNKNOWN: joined reports only
