"""A site's verdict from fresh probe results: READY, DEGRADED or NOT_READY, with every failing check as a reason.

Pure: no I/O, so every rule of the README's "Readiness before a meeting" is tested on its own. A hard finding
(link down, loss beyond loss_critical, too little bandwidth, endpoint down or unregistered...) makes the site
NOT_READY; soft findings alone (loss between loss and loss_critical, microphone muted, router rebooted
recently...) make it DEGRADED.

``link_unchecked`` (giaoban could not probe the link: no ICMP permission...) is a soft reason like the others in the
report, but it is giaoban's set-up, not the site: ``SiteReadiness.own()`` leaves it out, and the engine announces a
site to its technicians only for what ``own()`` keeps (the admins hear of the set-up once, alerts' probe_setup).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config.models import Site, Thresholds
from monitor.engine.assessment import assess_link, device_reading, uplink, ups_on_battery
from monitor.i18n import Locale
from monitor.readiness.events import ReasonText
from monitor.readiness.texts import render
from probes.core.result import ProbeResult, Reason
from probes.snmp.readings import InterfaceReading


@dataclass(frozen=True, slots=True)
class SiteProbes:
    """What the readiness round measured for one site, just now."""

    site: Site
    link: ProbeResult | None = None  # the long ICMP round over the site's link
    router: ProbeResult | None = None  # a fresh poll of the router that carries the link
    router_id: str | None = None
    router_earlier: ProbeResult | None = None  # an earlier poll of that router (errors rising?)
    endpoints: Sequence[tuple[str, ProbeResult]] = ()  # (endpoint id, result)
    ups: Sequence[tuple[str, ProbeResult]] = ()  # other devices of the site with a UPS reading


@dataclass(frozen=True, slots=True)
class Meeting:
    """What a check needs of the meeting: how much it sends and how long it lasts."""

    call_rate: float  # bit/s
    duration: float  # seconds


@dataclass(slots=True)
class _Findings:
    locale: Locale
    reasons: list[tuple[ReasonText, str | None]] = field(default_factory=list)

    def add(self, code: str, target: str | None, *, soft: bool = False, **fields: object) -> None:
        self.record(code, target, fields, soft=soft)

    def record(self, code: str, target: str | None, fields: dict[str, object], *, soft: bool = False) -> None:
        message, action = render(code, self.locale, fields)
        self.reasons.append((ReasonText(code, message, action, "soft" if soft else "hard", fields), target))


# Reasons that are giaoban's own set-up, not the site's: no technician is told of them (issue 14).
SETUP_CODES = frozenset({"link_unchecked"})


def verdict_of(severities: Sequence[str]) -> str:
    """NOT_READY with a hard reason, DEGRADED with soft ones only, READY with none."""
    if "hard" in severities:
        return "NOT_READY"
    return "DEGRADED" if severities else "READY"


@dataclass(frozen=True, slots=True)
class SiteReadiness:
    site_id: str
    verdict: str  # READY, DEGRADED, NOT_READY
    reasons: tuple[ReasonText, ...]
    targets: tuple[str | None, ...]  # the target each reason is about (link address, device or endpoint id)

    def own(self) -> SiteReadiness:
        """The site's own findings: without giaoban's set-up reasons (SETUP_CODES), the verdict taken again."""
        kept = [(r, t) for r, t in zip(self.reasons, self.targets, strict=True) if r.code not in SETUP_CODES]
        if len(kept) == len(self.reasons):
            return self
        verdict = verdict_of([r.severity for r, _ in kept])
        return SiteReadiness(self.site_id, verdict, tuple(r for r, _ in kept), tuple(t for _, t in kept))

    def reason_dicts(self) -> list[dict[str, Any]]:
        return [
            {
                "code": r.code,
                "severity": r.severity,
                "message": r.message,
                "action": r.action,
                "target": t,
                "fields": dict(r.fields) if r.fields is not None else None,
            }
            for r, t in zip(self.reasons, self.targets, strict=True)
        ]


# A probe's fault goes into a reason as its code and its own English words (fault=, detail=): the sentence
# names the fault in the reader's language and quotes the words (monitor/readiness/texts.py).


def _link(findings: _Findings, address: str, result: ProbeResult, th: Thresholds) -> None:
    link = assess_link(result, th)
    if link.status == "unchecked":
        findings.add(
            "link_unchecked", address, soft=True, address=address, fault=str(result.reason), detail=result.detail
        )
        return
    if link.status == "down":
        findings.add("link_down", address, address=address, sent=int(link.sent or 0))
        return
    for found in link.metrics:
        name, scale = found.metric.name, found.metric.scale
        hard_code, soft_code = _LINK_CODES[name]
        if found.beyond_critical:
            findings.record(hard_code, address, {name: found.value * scale, "limit": found.critical * scale})
        elif found.beyond_soft:
            findings.record(soft_code, address, {name: found.value * scale, "limit": found.soft * scale}, soft=True)


# The codes of each link measure: (beyond the hard limit, beyond the soft one only).
_LINK_CODES = {
    "loss": ("link_loss_high", "link_loss_elevated"),
    "rtt": ("link_rtt_high", "link_rtt_elevated"),
    "jitter": ("link_jitter_high", "link_jitter_elevated"),
    "mos": ("link_mos_low", "link_mos_fair"),
}


def _errors(interface: InterfaceReading) -> int | None:
    if interface.in_errors_total is None and interface.out_errors_total is None:
        return None
    return (interface.in_errors_total or 0) + (interface.out_errors_total or 0)


def _router(findings: _Findings, probes: SiteProbes, th: Thresholds, meeting: Meeting, rebooted_within: float) -> None:
    device, result = probes.router_id or "?", probes.router
    assert result is not None
    reading = device_reading(result)
    if reading is None:
        findings.add(
            "router_unreachable", device, soft=True, device=device, fault=str(result.reason), detail=result.detail
        )
        return
    if reading.uptime_seconds < rebooted_within:
        findings.add("router_rebooted", device, soft=True, device=device, minutes=int(reading.uptime_seconds // 60))
    link = probes.site.link
    name = link.interface if link is not None else None
    if name is None:
        return
    if name in reading.missing_interfaces:
        findings.add("interface_unknown", device, soft=True, device=device, interface=name)
        return
    interface = uplink(reading, name)
    if interface is None:
        return
    if interface.oper_up is False:
        findings.add("interface_down", device, device=device, interface=name)
        return
    _bandwidth(findings, device, interface, th, meeting)
    earlier = device_reading(probes.router_earlier) if probes.router_earlier is not None else None
    if earlier is not None and not reading.rebooted:
        before = uplink(earlier, name)
        now_errors, then_errors = _errors(interface), _errors(before) if before else None
        if now_errors is not None and then_errors is not None and now_errors > then_errors:
            findings.add("interface_errors_rising", device, soft=True, interface=name, errors=now_errors - then_errors)


def _bandwidth(findings: _Findings, device: str, interface: InterfaceReading, th: Thresholds, meeting: Meeting) -> None:
    # The call flows both ways: the busier direction decides what is left for it.
    used = max(interface.receive_bps or 0.0, interface.transmit_bps or 0.0)
    if interface.speed_bits is None:
        return  # the port reports no speed and the inventory gives no bandwidth: nothing to compare with
    if interface.receive_bps is None and interface.transmit_bps is None:
        # No rate even after waiting (counters reset, or the agent froze them): say so rather than claim room.
        findings.add("bandwidth_unmeasured", device, soft=True, interface=interface.name)
        return
    free = interface.speed_bits - used
    need = meeting.call_rate * (1 + th.headroom)
    if free < need:
        findings.add(
            "bandwidth_insufficient",
            device,
            free=max(free, 0.0) / 1e6,
            need=need / 1e6,
            rate=meeting.call_rate / 1e6,
            headroom=round(th.headroom * 100),
            interface=interface.name,
        )


def _ups(findings: _Findings, device: str, result: ProbeResult, meeting: Meeting) -> None:
    reading = device_reading(result)
    ups = ups_on_battery(reading) if reading is not None else None
    if ups is None:
        return
    runtime = ups.runtime_seconds
    if runtime is not None and runtime < meeting.duration:
        findings.add("ups_on_battery_short", device, runtime=int(runtime // 60), duration=int(meeting.duration // 60))
    else:
        findings.add("ups_on_battery", device, soft=True, runtime=int(runtime // 60) if runtime is not None else "?")


# Faults an endpoint reports about itself → the finding that says so.
_DEVICE_FAULTS = {
    Reason.NOT_READY: "endpoint_not_ready",
    Reason.NETWORK_FAULT: "endpoint_network_fault",
    Reason.OVERHEATING: "endpoint_overheating",
}


def _endpoint(findings: _Findings, endpoint: str, result: ProbeResult) -> None:
    values = result.values
    if result.success:
        if result.reason == Reason.MICROPHONE_MUTED:
            findings.add("microphone_muted", endpoint, soft=True, endpoint=endpoint)
        return
    reason = result.reason
    if reason == Reason.ENDPOINT_BUSY or values.get("in_call") == 1.0:
        findings.add("endpoint_in_call", endpoint, endpoint=endpoint)
    if reason == Reason.NOT_REGISTERED or values.get("registered") == 0.0:
        findings.add("endpoint_not_registered", endpoint, endpoint=endpoint)
    if values.get("peripheral_camera") == 0.0:
        findings.add("camera_missing", endpoint, endpoint=endpoint)
    if values.get("peripheral_microphone") == 0.0:
        findings.add("microphone_missing", endpoint, endpoint=endpoint)
    if any(target == endpoint for _, target in findings.reasons):
        return
    if values.get("up") == 1.0 and reason in _DEVICE_FAULTS:
        # It answered and names its own fault (Cisco diagnostics): not "does not answer".
        code = _DEVICE_FAULTS[reason]
        findings.add(code, endpoint, endpoint=endpoint, fault=str(result.reason), detail=result.detail)
    else:
        findings.add("endpoint_down", endpoint, endpoint=endpoint, fault=str(result.reason), detail=result.detail)


def evaluate_site(
    probes: SiteProbes, *, thresholds: Thresholds, meeting: Meeting, locale: Locale, rebooted_within: float = 3600.0
) -> SiteReadiness:
    findings = _Findings(locale)
    site = probes.site
    if probes.link is not None and site.link is not None:
        _link(findings, site.link.address, probes.link, thresholds)
    if probes.router is not None:
        _router(findings, probes, thresholds, meeting, rebooted_within)
        _ups(findings, probes.router_id or "?", probes.router, meeting)
    for device, result in probes.ups:
        _ups(findings, device, result, meeting)
    for endpoint, result in probes.endpoints:
        _endpoint(findings, endpoint, result)
    return SiteReadiness(
        site.id,
        verdict_of([reason.severity for reason, _ in findings.reasons]),
        tuple(reason for reason, _ in findings.reasons),
        tuple(target for _, target in findings.reasons),
    )
