"""The one link judgement and device reader (monitor/engine/assessment.py) that rules, readiness and the board share."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from monitor.config.models import Thresholds
from monitor.engine.assessment import (
    JITTER,
    LOSS,
    METRICS,
    MOS,
    RTT,
    LinkAssessment,
    Metric,
    MetricFinding,
    assess_link,
    assess_quality,
    device_reading,
    uplink,
    ups_on_battery,
)
from probes.core.result import ProbeResult, Reason
from probes.icmp.quality import LinkQuality, summarize
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading

DEFAULTS = Thresholds()  # rtt 150/400 ms, jitter 30/60 ms, loss 1/3 %, mos 3.6/3.1
GOOD = {"loss_ratio": 0.0, "rtt_median": 0.020, "jitter": 0.002, "mos": 4.4, "sent": 50.0, "received": 50.0}


def icmp(**changes: float) -> ProbeResult:
    return ProbeResult(success=True, duration=10.0, values={**GOOD, **changes})


STATUS_CASES = [
    pytest.param(icmp(), LinkAssessment("up", 50.0, assess_quality(GOOD, DEFAULTS)), id="replies-up"),
    pytest.param(
        ProbeResult.failure(Reason.NO_REPLY, "no reply", duration=10.0, values={"sent": 50.0, "received": 0.0}),
        LinkAssessment("down", 50.0),
        id="no-reply-down",
    ),
    # The ICMP probe never reports success without replies, but a round with none says "down" whoever made it.
    pytest.param(icmp(received=0.0, loss_ratio=1.0), LinkAssessment("down", 50.0), id="success-without-replies"),
    pytest.param(
        ProbeResult.failure(Reason.UNREACHABLE, "no route", duration=0.0), LinkAssessment("down"), id="unsent-down"
    ),
    pytest.param(
        ProbeResult.failure(Reason.PERMISSION, "no ICMP socket", duration=0.0),
        LinkAssessment("unchecked"),
        id="own-fault-unchecked",
    ),
]


@pytest.mark.parametrize(("result", "expected"), STATUS_CASES)
def test_link_status(result: ProbeResult, expected: LinkAssessment) -> None:
    """Down is a link fault, unchecked is giaoban's own: rules stay silent on it, readiness says so, both say down."""
    assert assess_link(result, DEFAULTS) == expected


# (metric, measured value in base units, thresholds) → (beyond soft, beyond critical)
JUDGEMENT_CASES = [
    pytest.param(LOSS, 0.0, DEFAULTS, False, False, id="loss-none"),
    pytest.param(LOSS, 0.01, DEFAULTS, False, False, id="loss-at-soft-is-within"),
    pytest.param(LOSS, 0.02, DEFAULTS, True, False, id="loss-fair"),
    pytest.param(LOSS, 0.03, DEFAULTS, True, False, id="loss-at-critical-is-soft-only"),
    pytest.param(LOSS, 0.06, DEFAULTS, True, True, id="loss-poor"),
    pytest.param(RTT, 0.2, DEFAULTS, True, False, id="rtt-soft"),
    pytest.param(RTT, 0.5, DEFAULTS, True, True, id="rtt-critical"),
    pytest.param(JITTER, 0.03, DEFAULTS, False, False, id="jitter-at-soft"),
    pytest.param(JITTER, 0.08, DEFAULTS, True, True, id="jitter-critical"),
    pytest.param(MOS, 4.4, DEFAULTS, False, False, id="mos-good"),
    pytest.param(MOS, 3.6, DEFAULTS, False, False, id="mos-at-soft-is-within"),
    pytest.param(MOS, 3.4, DEFAULTS, True, False, id="mos-fair-lower-is-worse"),
    pytest.param(MOS, 3.0, DEFAULTS, True, True, id="mos-poor"),
    # A critical limit set laxer than the soft one is read as the soft one: beyond soft is then critical too.
    pytest.param(LOSS, 0.02, Thresholds(loss=0.01, loss_critical=0.005), True, True, id="loss-critical-below-soft"),
    pytest.param(MOS, 3.5, Thresholds(mos=3.6, mos_critical=4.0), True, True, id="mos-critical-above-soft"),
    pytest.param(RTT, 0.2, Thresholds(rtt=0.1, rtt_critical=0.3), True, False, id="site-thresholds"),
]


@pytest.mark.parametrize(("metric", "value", "thresholds", "soft", "critical"), JUDGEMENT_CASES)
def test_metric_judgement(metric: Metric, value: float, thresholds: Thresholds, soft: bool, critical: bool) -> None:
    """Strictly beyond a limit counts, in the metric's bad direction; the alert, reason and board mark agree."""
    found = next(f for f in assess_quality({metric.key: value}, thresholds) if f.metric is metric)
    assert (found.value, found.beyond_soft, found.beyond_critical) == (value, soft, critical)
    assert found.critical == (max if metric.higher_is_worse else min)(found.soft, found.critical)


def test_findings_carry_limits_in_order() -> None:
    """Each finding names its soft and critical limit; the metrics come in one order (alert and reason order)."""
    findings = assess_quality(GOOD, Thresholds(rtt=0.1, rtt_critical=0.25))
    assert findings == (
        MetricFinding(LOSS, 0.0, 0.01, 0.03),
        MetricFinding(RTT, 0.020, 0.1, 0.25),
        MetricFinding(JITTER, 0.002, 0.030, 0.060),
        MetricFinding(MOS, 4.4, 3.6, 3.1),
    )


def test_unmeasured_metrics_have_no_finding() -> None:
    """Without RTT and jitter (a round's values without them) nothing is judged on them, nor marked on the board."""
    link = assess_link(icmp(), DEFAULTS)
    values = {"loss_ratio": 0.5, "mos": 2.0, "sent": 4.0, "received": 2.0}
    partial = assess_link(ProbeResult(success=True, duration=1.0, values=values), DEFAULTS)
    assert [f.metric.name for f in partial.metrics] == ["loss", "mos"]
    assert partial.finding("rtt") is None and link.finding("rtt") is not None
    assert [f.metric.name for f in partial.beyond_soft] == ["loss", "mos"] and link.beyond_soft == ()


def test_link_quality_is_judged_like_its_values() -> None:
    """A LinkQuality straight from the ICMP arithmetic gets the judgement its ProbeResult values get."""
    quality = summarize([0.180, None, 0.200, 0.190, 0.185])
    values = {key: value for key, value in dataclasses.asdict(quality).items() if value is not None}
    assert assess_quality(quality, DEFAULTS) == assess_quality(values, DEFAULTS)
    assert [f.metric.name for f in assess_quality(quality, DEFAULTS) if f.beyond_soft] == ["loss", "rtt", "mos"]


def test_metrics_name_real_fields() -> None:
    """Each metric's key is a LinkQuality field and its name a Thresholds pair: a rename breaks here, not silently."""
    quality_fields = {f.name for f in dataclasses.fields(LinkQuality)}
    for metric in METRICS:
        assert metric.key in quality_fields
        assert {metric.name, f"{metric.name}_critical"} <= set(Thresholds.model_fields)


def _interface(name: str) -> InterfaceReading:
    return InterfaceReading(
        name=name, index=2, descr=name, alias="", oper_up=True, admin_up=True, receive_bytes_total=0,
        transmit_bytes_total=0, in_errors_total=0, out_errors_total=0, in_discards_total=0, out_discards_total=0,
        speed_bits=10e6, port_speed_bits=1e9, receive_bps=None, transmit_bps=None, utilization_in=None,
        utilization_out=None, counter_bits=64, counter_reset=False,
    )  # fmt: skip


READING = DeviceReading("r", "router", 86400.0, False, (_interface("ge-0/0/0"), _interface("ge-0/0/1")), (), None)
ON_BATTERY = UpsReading(True, "battery", 1800.0, 60.0, 0.5, "normal")

DEVICE_CASES = [
    pytest.param(ProbeResult(success=True, duration=0.1, payload=READING), READING, id="answered"),
    pytest.param(ProbeResult.failure(Reason.TIMEOUT, "no answer", duration=2.0), None, id="silent"),
    pytest.param(ProbeResult(success=True, duration=0.1), None, id="not-an-snmp-poll"),
    pytest.param(ProbeResult(success=False, duration=0.1, payload=READING), None, id="failed-poll-is-not-read"),
]


@pytest.mark.parametrize(("result", "expected"), DEVICE_CASES)
def test_device_reading(result: ProbeResult, expected: DeviceReading | None) -> None:
    """Only a poll the device answered is read; anything else is "unreachable" to its caller."""
    assert device_reading(result) == expected


UPS_CASES = [
    pytest.param(None, False, id="no-ups"),
    pytest.param(replace(ON_BATTERY, on_battery=None, output_source=None), False, id="source-unknown-is-not-battery"),
    pytest.param(replace(ON_BATTERY, on_battery=False, output_source="normal"), False, id="on-mains"),
    pytest.param(ON_BATTERY, True, id="on-battery"),
    pytest.param(replace(ON_BATTERY, runtime_seconds=None), True, id="on-battery-runtime-unknown"),
]


@pytest.mark.parametrize(("ups", "on_battery"), UPS_CASES)
def test_ups_on_battery(ups: UpsReading | None, on_battery: bool) -> None:
    """The alert rule and the readiness check read the same UPS state from the poll's reading."""
    assert ups_on_battery(replace(READING, ups=ups)) == (ups if on_battery else None)


UPLINK_CASES = [
    pytest.param("ge-0/0/1", "ge-0/0/1", id="configured"),
    pytest.param("ge-0/0/9", None, id="not-read"),
    pytest.param(None, None, id="no-interface-configured"),
]


@pytest.mark.parametrize(("name", "expected"), UPLINK_CASES)
def test_uplink(name: str | None, expected: str | None) -> None:
    """The site's link interface is found by its configured name among the polled ones."""
    found = uplink(READING, name)
    assert (found.name if found is not None else None) == expected
