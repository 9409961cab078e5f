"""One on-demand probe rendered blackbox_exporter-style, so existing multi-target scrape configs work.

Series (a fresh registry per request)::

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

from probes.core.result import ProbeResult

_SIMPLE = {
    "jitter": ("jitter_seconds", "Mean difference of successive RTTs."),
    "loss_ratio": ("loss_ratio", "Share of echoes lost."),
    "mos": ("mos", "Estimated call quality (simplified E-model)."),
    "sent": ("packets_sent", "Echo requests sent."),
    "received": ("packets_received", "Echo replies received."),
    "status_code": ("status_code", "HTTP status code of the final response."),
    "content_length": ("content_length", "Bytes of body read."),
    "redirects": ("redirects", "Redirects followed."),
}


class _Fixed:
    """A collector over families built once for this one result."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self._families


def result_registry(kind: str, result: ProbeResult) -> CollectorRegistry:
    families = [
        GaugeMetricFamily("probe_success", "Whether the probe succeeded.", value=1 if result.success else 0),
        GaugeMetricFamily("probe_duration_seconds", "How long the probe took.", value=result.duration),
    ]
    if result.phases:
        phases = GaugeMetricFamily(
            f"probe_{kind}_duration_seconds", "Duration of each phase of the probe.", labels=["phase"]
        )
        for phase, seconds in result.phases.items():
            phases.add_metric([phase], seconds)
        families.append(phases)
    stats = [(s, result.values[f"rtt_{s}"]) for s in ("min", "avg", "median", "max") if f"rtt_{s}" in result.values]
    if stats:
        rtt = GaugeMetricFamily(f"probe_{kind}_rtt_seconds", "Round-trip time.", labels=["stat"])
        for stat, seconds in stats:
            rtt.add_metric([stat], seconds)
        families.append(rtt)
    for key, (suffix, help_text) in _SIMPLE.items():
        if key in result.values:
            families.append(GaugeMetricFamily(f"probe_{kind}_{suffix}", help_text, value=result.values[key]))
    if "tls_cert_expiry" in result.values:
        families.append(
            GaugeMetricFamily(
                "probe_ssl_earliest_cert_expiry",
                "Expiry of the peer's certificate, unix time.",
                value=result.values["tls_cert_expiry"],
            )
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families))
    return registry
