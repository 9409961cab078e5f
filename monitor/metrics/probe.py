"""One on-demand probe rendered blackbox_exporter-style, so existing multi-target scrape configs work.

Series (a fresh registry per request): the general ones, then the kind's ``probe_*`` SERIES
(probes/core/series.py), each only when its value is in the result::

    probe_success 1
    probe_duration_seconds 0.012
    probe_icmp_duration_seconds{phase="resolve|rtt"}        probe_http_duration_seconds{phase=...}
    probe_icmp_rtt_seconds{stat="min|avg|median|max"}       probe_icmp_jitter_seconds
    probe_icmp_loss_ratio   probe_icmp_mos   probe_icmp_packets_sent   probe_icmp_packets_received
    probe_http_status_code  probe_http_content_length  probe_http_redirects
    probe_ssl_earliest_cert_expiry                          (https, or tcp with tls)
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

from probes import ProbeKind
from probes.core.result import ProbeResult
from probes.core.series import Series, SeriesConflict, grouped


def probe_families(kind: ProbeKind) -> dict[str, tuple[Series, ...]]:
    """The kind's ``probe_*`` families; SeriesConflict for a name the general lines below already write."""
    declared = grouped(series for series in kind.series if series.on_probe)
    for name in ("probe_success", "probe_duration_seconds", f"probe_{kind.name}_duration_seconds"):
        if name in declared:
            raise SeriesConflict(f"{name} is written for every /probe run: kind {kind.name} may not declare it")
    return declared


class _Fixed:
    """A collector over families built once for this one result."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self._families


def result_registry(kind: ProbeKind, result: ProbeResult) -> CollectorRegistry:
    families = [
        GaugeMetricFamily("probe_success", "Whether the probe succeeded.", value=1 if result.success else 0),
        GaugeMetricFamily("probe_duration_seconds", "How long the probe took.", value=result.duration),
    ]
    if result.phases:
        phases = GaugeMetricFamily(
            f"probe_{kind.name}_duration_seconds", "Duration of each phase of the probe.", labels=["phase"]
        )
        for phase, seconds in result.phases.items():
            phases.add_metric([phase], seconds)
        families.append(phases)
    for name, members in probe_families(kind).items():
        present = [(series, result.values[series.key]) for series in members if series.key in result.values]
        if not present:
            continue
        family = GaugeMetricFamily(name, members[0].help, labels=[label for label, _ in members[0].labels])
        for series, value in present:
            family.add_metric([label_value for _, label_value in series.labels], value)
        families.append(family)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families))
    return registry
