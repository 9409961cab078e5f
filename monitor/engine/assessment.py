"""One judgement of a link's quality and one reader of a device's poll, for the alert rules, readiness and the board.

    assess_link(result, thresholds)
    → LinkAssessment(status="up", sent=50.0, metrics=(
          MetricFinding(LOSS, value=0.02, soft=0.01, critical=0.03),   beyond_soft, not beyond_critical
          MetricFinding(RTT, value=0.012, soft=0.150, critical=0.400), within both
          ...))

A link is "unchecked" when giaoban itself could not probe it (probes.core.result.OWN_FAULTS), "down" when no
reply came back, else "up" with one finding per metric the round measured (loss, rtt, jitter, mos, in that
order). Each finding holds the measured value, the soft limit (beyond it: degraded, an alert) and the
critical one (beyond it: not ready), both from the site's Thresholds; a critical limit set laxer than the
soft one is read as the soft one. What each caller makes of a finding (an alert rule, a readiness reason, a
mark on the board) stays with the caller.

The device helpers read an SNMP poll from its DeviceReading payload (probes/snmp/readings.py) only; the
flat ``values`` the probe derives from it (``ups_on_battery``, ``ups_runtime``) are not read for judgement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from monitor.config.models import Thresholds
from probes.core.result import OWN_FAULTS, ProbeResult
from probes.icmp.quality import LinkQuality
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading

LinkStatus = Literal["unchecked", "down", "up"]


@dataclass(frozen=True, slots=True)
class Metric:
    """One measure of a link: where the probe puts it and how messages show it."""

    name: str  # the word rules, reasons and the board use; also the Thresholds field of its soft limit
    key: str  # the ProbeResult.values key (and LinkQuality attribute), in base units
    scale: float  # base unit → the unit messages show it in
    unit: str  # that unit: "%", "ms", or "" for a score
    higher_is_worse: bool

    def limits(self, thresholds: Thresholds) -> tuple[float, float]:
        """(soft, critical) from ``thresholds``; the critical limit is never laxer than the soft one."""
        soft: float = getattr(thresholds, self.name)
        critical: float = getattr(thresholds, f"{self.name}_critical")
        return soft, max(critical, soft) if self.higher_is_worse else min(critical, soft)


LOSS = Metric("loss", "loss_ratio", 100.0, "%", higher_is_worse=True)
RTT = Metric("rtt", "rtt_median", 1000.0, "ms", higher_is_worse=True)
JITTER = Metric("jitter", "jitter", 1000.0, "ms", higher_is_worse=True)
MOS = Metric("mos", "mos", 1.0, "", higher_is_worse=False)
METRICS = (LOSS, RTT, JITTER, MOS)


@dataclass(frozen=True, slots=True)
class MetricFinding:
    """A metric's measured value against its soft and critical limits (all in base units)."""

    metric: Metric
    value: float
    soft: float
    critical: float

    def _beyond(self, limit: float) -> bool:
        return self.value > limit if self.metric.higher_is_worse else self.value < limit

    @property
    def beyond_soft(self) -> bool:
        return self._beyond(self.soft)

    @property
    def beyond_critical(self) -> bool:
        return self._beyond(self.critical)


@dataclass(frozen=True, slots=True)
class LinkAssessment:
    status: LinkStatus
    sent: float | None = None  # echoes sent in the round; None when the probe did not say
    metrics: tuple[MetricFinding, ...] = ()  # "up": one per metric measured, in METRICS order; else none

    def finding(self, name: str) -> MetricFinding | None:
        return next((f for f in self.metrics if f.metric.name == name), None)

    @property
    def beyond_soft(self) -> tuple[MetricFinding, ...]:
        return tuple(f for f in self.metrics if f.beyond_soft)


def assess_quality(measured: Mapping[str, float] | LinkQuality, thresholds: Thresholds) -> tuple[MetricFinding, ...]:
    """Each metric a round measured (its ProbeResult values, or the LinkQuality) against ``thresholds``."""
    values: Mapping[str, float | None] = (
        {m.key: getattr(measured, m.key) for m in METRICS} if isinstance(measured, LinkQuality) else measured
    )
    return tuple(
        MetricFinding(m, value, *m.limits(thresholds)) for m in METRICS if (value := values.get(m.key)) is not None
    )


def assess_link(result: ProbeResult, thresholds: Thresholds) -> LinkAssessment:
    """The ICMP round over a link: unchecked, down, or up with each metric judged."""
    sent = result.values.get("sent")
    if result.reason in OWN_FAULTS:
        return LinkAssessment("unchecked", sent)  # no ICMP permission...: says nothing about the link
    if not result.success or result.values.get("received") == 0:
        return LinkAssessment("down", sent)
    return LinkAssessment("up", sent, assess_quality(result.values, thresholds))


def device_reading(result: ProbeResult) -> DeviceReading | None:
    """What an SNMP poll read, when the device answered."""
    reading = result.payload
    return reading if result.success and isinstance(reading, DeviceReading) else None


def ups_on_battery(reading: DeviceReading) -> UpsReading | None:
    """The device's UPS when it says its output runs from the battery; None on mains, when unknown or without UPS."""
    return reading.ups if reading.ups is not None and reading.ups.on_battery else None


def uplink(reading: DeviceReading, interface: str | None) -> InterfaceReading | None:
    """The configured interface (a site's link.interface) among those the poll read; None without one."""
    return next((i for i in reading.interfaces if i.name == interface), None) if interface else None
