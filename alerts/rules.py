"""The continuous alert rules: conditions over the live state (monitor/engine/state.py), one finding per bad thing.

    evaluation = evaluate_rules(config, state, now)
    evaluation = await RuleEvaluator().evaluate(config, state, now)   the same, computing only what changed
    evaluation.findings   {alert id: Finding}  every condition that is bad right now
    evaluation.unknown    target keys with no result yet: their open alerts keep their state
    evaluation.present    target keys in the inventory: an alert whose target left it resolves

A finding is (rule, site, target) plus the measurements its message shows (alerts/texts.py). The alert
``target`` is "link" for a site's uplink, the device or endpoint id, and "DEVICE:INTERFACE" for an
interface. A result giaoban could not measure (``ProbeResult.unmeasured``: no ICMP permission, a bad target,
an unreadable secret) raises no alert of its site; instead ``probe_setup`` (site ``-``, target the probe kind)
tells the admins once per kind what to change (monitor/engine/setup.py, issue 14). Thresholds are the site's
(``config.thresholds_for(site)``); the engine (alerts/engine.py) owns ``for`` durations, topology and maintenance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from alerts.catalog import SERVICE_SITE
from alerts.model import alert_id
from monitor.config.models import Config, Site
from monitor.engine.assessment import assess_link, device_reading, ups_on_battery
from monitor.engine.setup import setup_faults
from monitor.engine.state import State, TargetState
from monitor.engine.targets import Target
from probes.core.result import ProbeResult, Reason

# Reasons that are not "the endpoint is down": their own rules, or no fault at all (a codec in a call,
# muted microphones are choices; the readiness check before a meeting reports them).
_ENDPOINT_NOT_DOWN = {
    Reason.NOT_REGISTERED,
    Reason.PERIPHERAL_MISSING,
    Reason.MICROPHONE_MUTED,
    Reason.ENDPOINT_BUSY,
    Reason.TLS_EXPIRED,
}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    site: str
    target: str | None
    fields: Mapping[str, object] = field(default_factory=dict)  # what the message shows (alerts/texts.py)
    observed_at: float = 0.0  # when the probe result behind it was taken

    @property
    def id(self) -> str:
        return alert_id(self.rule, self.site, self.target)


@dataclass(frozen=True, slots=True)
class Evaluation:
    findings: dict[str, Finding]
    unknown: frozenset[str]
    present: frozenset[str]


def target_key(site: str, target: str | None) -> str:
    """The State key ("SITE/link", "SITE/DEVICE") an alert target is measured by."""
    return f"{site}/{(target or '-').split(':', 1)[0]}"


def evaluate_rules(config: Config, state: State, now: float) -> Evaluation:
    """One full pass over every target (the engine's passes go through RuleEvaluator, which skips the unchanged)."""
    findings: dict[str, Finding] = {}
    unknown: set[str] = set()
    present: set[str] = set()
    setup = _SetupTally()
    for entry in state:
        setup.note(entry)
        site = config.site(entry.target.site)
        if site is None:
            continue  # removed by a reload the scheduler has not caught up with: its alerts resolve
        present.add(entry.target.key)
        if entry.latest is None:
            unknown.add(entry.target.key)
            continue
        if entry.latest.unmeasured:
            continue  # says nothing of the site: probe_setup below tells the admins
        findings.update((f.id, f) for f in target_findings(config, site, entry, entry.latest, now))
    setup.add_to(config, findings, unknown, present)
    return Evaluation(findings, frozenset(unknown), frozenset(present))


def target_findings(config: Config, site: Site, entry: TargetState, result: ProbeResult, now: float) -> list[Finding]:
    """What is bad about one target's latest result."""
    role = entry.target.role
    found = (
        _link(config, site, entry, result)
        if role == "link"
        else _device(config, site, entry, result)
        if role == "device"
        else _endpoint(config, site, entry, result, now)
    )
    return [
        Finding(rule, site.id, target, fields, result.timestamp) for rule, target, fields in found
        if config.alerts.enabled(rule)
    ]  # fmt: skip


def _depends_on_time(result: ProbeResult) -> bool:
    """Whether the findings of ``result`` change with the clock alone: a certificate's days left do."""
    return "tls_cert_expiry" in result.values or result.reason == Reason.TLS_EXPIRED


@dataclass(slots=True)
class _Memo:
    config: Config
    target: Target  # a reload that redefines a target replaces it in the same TargetState
    result: ProbeResult
    findings: dict[str, Finding]
    timed: bool  # the findings change with the clock alone: computed on every pass


# What computing one target's findings costs against reusing them (~20 µs against ~1 µs): the pass yields to
# the event loop after slice_size targets computed, or as many reused ones as that costs.
COMPUTE_COST = 20


class RuleEvaluator:
    """evaluate_rules for the engine's passes every 5 s, at 10,000 sites without blocking the loop (issue 16).

    A target's findings are computed again only when it has a new result, its definition changed or the
    inventory was reloaded since the last pass (or when they depend on the clock: certificate expiry);
    the rest come from the last pass. The pass yields to the event loop after every ``slice_size``
    targets it computes, so a pass that must compute everything (the first, a reload) never holds the
    loop for long. The result is the same as evaluate_rules' at the same instant.
    """

    def __init__(self, *, slice_size: int = 200) -> None:
        # 200: ~4 ms a slice on a quick core, ~10 ms on the slow shared VM of bench/RESULTS.md (500 held the loop
        # up to ~35 ms there, a share of the probe starts' p99 at 10,000 sites); a loop turn costs ~50 µs.
        self._slice = slice_size * COMPUTE_COST
        self._memo: dict[str, _Memo] = {}
        self.computed = 0  # targets whose findings were computed, since start (tests read it)

    async def evaluate(self, config: Config, state: State, now: float) -> Evaluation:
        findings: dict[str, Finding] = {}
        unknown: set[str] = set()
        present: set[str] = set()
        memo: dict[str, _Memo] = {}
        previous = self._memo
        spent = 0
        sites = config.index.site_ids()
        setup = _SetupTally()  # gathered in this sliced pass rather than in more passes over the state
        for entry in state:
            target, result = entry.target, entry.latest
            setup.note(entry)
            site = sites.get(target.site)
            if site is None:
                continue  # removed by a reload the scheduler has not caught up with: its alerts resolve
            key = target.key
            present.add(key)
            if result is None:
                unknown.add(key)
                continue
            if result.unmeasured:
                continue  # says nothing of the site: probe_setup tells the admins
            last = previous.get(key)
            if (
                last is None
                or last.timed
                or last.config is not config
                or last.target is not target
                or last.result is not result
            ):
                found = {f.id: f for f in target_findings(config, site, entry, result, now)}
                last = _Memo(config, target, result, found, _depends_on_time(result))
                self.computed += 1
                spent += COMPUTE_COST
            else:
                spent += 1
            if last.findings:
                findings.update(last.findings)
            memo[key] = last
            if spent >= self._slice:
                spent = 0
                await asyncio.sleep(0)
        self._memo = memo
        setup.add_to(config, findings, unknown, present)
        return Evaluation(findings, frozenset(unknown), frozenset(present))


class _SetupTally:
    """What probe_setup needs of the state, noted entry by entry in the caller's own pass over it."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.unchecked: set[str] = set()  # kinds with a target that has no result yet
        self.unmeasured: list[TargetState] = []

    def note(self, entry: TargetState) -> None:
        kind, result = entry.target.kind.name, entry.latest
        self.kinds.add(kind)
        if result is None:
            self.unchecked.add(kind)
        elif result.unmeasured:
            self.unmeasured.append(entry)

    def add_to(self, config: Config, findings: dict[str, Finding], unknown: set[str], present: set[str]) -> None:
        """One probe_setup finding per probe kind that giaoban could not measure; held while a target of it is
        unknown."""
        present.update(target_key(SERVICE_SITE, kind) for kind in self.kinds)
        unknown.update(target_key(SERVICE_SITE, kind) for kind in self.unchecked)
        if not config.alerts.enabled("probe_setup"):
            return
        for fault in setup_faults(self.unmeasured):
            fields: dict[str, object] = {
                "kind": fault.kind,
                "count": fault.count,
                "sites": len(fault.sites),
                "fix": fault.fix(config.organisation.locale),
            }
            finding = Finding("probe_setup", SERVICE_SITE, fault.kind, fields, fault.observed_at)
            findings[finding.id] = finding


Found = Iterator[tuple[str, str | None, dict[str, object]]]


def _link(config: Config, site: Site, entry: TargetState, result: ProbeResult) -> Found:
    address = entry.target.address
    link = assess_link(result, config.thresholds_for(site))
    if link.status == "unchecked":
        return  # giaoban cannot probe (no ICMP permission...): the log says what to change; the link may be fine
    if link.status == "down":
        sent = int(link.sent) if link.sent else None
        yield "link_down", "link", {"address": address, "sent": sent, **_fault(result)}
        return  # loss is 100%: link_down says it, the quality rules would only repeat it
    for found in link.beyond_soft:
        value, limit = found.value * found.metric.scale, found.soft * found.metric.scale
        yield _LINK_RULES[found.metric.name], "link", {"address": address, "value": value, "limit": limit}


# The rule of each link metric beyond its soft limit (monitor/engine/assessment.py); the critical one is readiness's.
_LINK_RULES = {"loss": "link_loss", "rtt": "link_rtt", "jitter": "link_jitter", "mos": "link_mos"}


def _device(config: Config, site: Site, entry: TargetState, result: ProbeResult) -> Found:
    device = entry.target.name
    base: dict[str, object] = {"device": device, "address": entry.target.address}
    if not result.success:
        yield "device_down", device, {**base, **_fault(result)}
        return
    reading = device_reading(result)
    if reading is None:
        return
    if reading.uptime_seconds < config.alerts.rebooted_within:
        yield "device_rebooted", device, {**base, "value": reading.uptime_seconds / 60}
    saturation = config.alerts.saturation
    limit = saturation if saturation is not None else 1.0 - config.thresholds_for(site).headroom
    for iface in reading.interfaces:
        target = f"{device}:{iface.name}"
        if iface.oper_up is False:
            yield "interface_down", target, {**base, "interface": iface.name}
        peak = max(
            ((ratio, direction) for ratio, direction in ((iface.utilization_in, "in"), (iface.utilization_out, "out"))
             if ratio is not None),
            default=None,
        )  # fmt: skip
        if peak is not None and peak[0] > limit:
            yield (
                "interface_saturated",
                target,
                {**base, "interface": iface.name, "direction": peak[1], "value": peak[0] * 100, "limit": limit * 100},
            )
    ups = ups_on_battery(reading)
    if ups is not None:
        runtime = ups.runtime_seconds / 60 if ups.runtime_seconds is not None else None
        yield "ups_on_battery", device, {**base, "value": runtime}


def _endpoint(config: Config, site: Site, entry: TargetState, result: ProbeResult, now: float) -> Found:
    endpoint = entry.target.name
    base: dict[str, object] = {"endpoint": endpoint, "address": entry.target.address}
    expiry = result.values.get("tls_cert_expiry")
    if expiry is not None and expiry - now < config.alerts.certificate_warning:
        yield "certificate_expiring", endpoint, {**base, "value": max(0.0, (expiry - now) / 86400)}
    elif result.reason == Reason.TLS_EXPIRED:
        yield "certificate_expiring", endpoint, {**base, "value": 0.0}
    if result.success:
        return
    if result.reason == Reason.NOT_REGISTERED:
        # The device's own registration status ("SIP Failed; H.323 Inactive") says more than the probe's sentence.
        status = result.info.get("registration") or result.detail
        yield "endpoint_unregistered", endpoint, {**base, "fault": str(result.reason), "detail": status}
    elif result.reason == Reason.PERIPHERAL_MISSING:
        yield "peripheral_missing", endpoint, {**base, "missing": _missing(result), "detail": result.detail}
    elif result.reason not in _ENDPOINT_NOT_DOWN:
        yield "endpoint_down", endpoint, {**base, **_fault(result)}


def _fault(result: ProbeResult) -> dict[str, object]:
    """The reason code and the probe's own words: the message shows both per locale (alerts/templates.py)."""
    return {"fault": str(result.reason), "detail": result.detail}


def _missing(result: ProbeResult) -> str:
    """Which peripherals are missing, as a key of alerts/texts.py WORDS ("missing_camera"...)."""
    camera = result.values.get("peripheral_camera") == 0.0
    microphone = result.values.get("peripheral_microphone") == 0.0
    if camera or microphone:
        return "camera_microphone" if camera and microphone else "camera" if camera else "microphone"
    return "any"  # the device did not say which
