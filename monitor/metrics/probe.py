"""One on-demand probe rendered blackbox_exporter-style, so existing multi-target scrape configs work.

Series (a fresh registry per request): the general ones, then the kind's ``probe_*`` SERIES
(probes/core/series.py), each when its value is in the result or it has a default (what blackbox
pre-creates, so it is there on failure too). The README's "/probe and blackbox_exporter" table lists
them against blackbox's, and tests/conformance/test_blackbox_parity.py compares the two through Prometheus::

    probe_success 1
    probe_duration_seconds 0.012
    probe_http_duration_seconds{phase="resolve|connect|tls|processing|transfer"}   (every phase of the result)
    probe_icmp_duration_seconds{phase="resolve|rtt"}      (declared by the kind: rtt is one echo's RTT)
    probe_dns_lookup_time_seconds  probe_ip_protocol  probe_ip_addr_hash
    probe_http_status_code  probe_http_version  probe_http_ssl  probe_http_content_length ...
    probe_ssl_earliest_cert_expiry  probe_tls_version_info{version="TLS 1.3"} 1  probe_ssl_last_chain_info{...} 1
    probe_icmp_rtt_seconds{stat="min|avg|median|max"}  probe_icmp_round_duration_seconds ...   (giaoban's own)

A kind's ``probe_{kind}_duration_seconds`` is every phase of its result unless the kind declares that family
itself (ICMP: blackbox's ``rtt`` phase is one echo, giaoban's round has many).
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

from probes import ProbeKind
from probes.core.result import ProbeResult
from probes.core.series import INFO, Series, SeriesConflict, grouped


def phase_family(kind: ProbeKind) -> str:
    return f"probe_{kind.name}_duration_seconds"


def probe_families(kind: ProbeKind) -> dict[str, tuple[Series, ...]]:
    """The kind's ``probe_*`` families; SeriesConflict for a name the general lines below already write."""
    declared = grouped(series for series in kind.series if series.on_probe)
    for name in ("probe_success", "probe_duration_seconds"):
        if name in declared:
            raise SeriesConflict(f"{name} is written for every /probe run: kind {kind.name} may not declare it")
    phases = declared.get(phase_family(kind))
    if phases is not None and phases[0].label_names != ("phase",):
        raise SeriesConflict(f"{phase_family(kind)}: kind {kind.name} declares it, but not by phase")
    return declared


def _sample(series: Series, result: ProbeResult) -> tuple[list[str], float] | None:
    """The label values and value of one declared series for this result, None when it has none."""
    info_values = [result.info.get(key) for _, key in series.info_labels]
    if any(value is None for value in info_values):
        return None
    labels = [value for _, value in series.labels] + [str(value) for value in info_values]
    if series.key == INFO:
        return labels, 1.0
    source = result.phases if series.source == "phases" else result.values
    value = source.get(series.key, series.default)
    return None if value is None else (labels, value)


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
    declared = probe_families(kind)
    if result.phases and phase_family(kind) not in declared:
        phases = GaugeMetricFamily(phase_family(kind), "Duration of each phase of the probe.", labels=["phase"])
        for phase, seconds in result.phases.items():
            phases.add_metric([phase], seconds)
        families.append(phases)
    for name, members in declared.items():
        present = [sample for series in members if (sample := _sample(series, result)) is not None]
        if not present:
            continue
        family = GaugeMetricFamily(name, members[0].help, labels=list(members[0].label_names))
        for labels, value in present:
            family.add_metric(labels, value)
        families.append(family)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families))
    return registry
