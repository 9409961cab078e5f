"""/metrics: a collector that reads the live state on every scrape (no global registry, no stale series).

Series it produces (labels: site, target, kind, and fixed small sets only)::

    giaoban_build_info{version="0.1.0"} 1
    giaoban_config_last_reload_successful 1
    giaoban_config_last_reload_success_timestamp_seconds 1.7e9
    giaoban_targets{kind="icmp"} 24
    giaoban_probe_success{site="tan-thinh",target="192.0.2.21",kind="icmp"} 1
    giaoban_probe_duration_seconds{site=...,target=...,kind="http",phase="total|resolve|connect|tls|processing|transfer"}
    giaoban_probe_last_run_timestamp_seconds{site=...,target=...,kind=...}
    giaoban_probes_total{site=...,target=...,kind=...,result="success|failure"}
    giaoban_tls_cert_expiry_timestamp_seconds{site=...,target=...,kind=...}
    giaoban_http_status_code{site=...,target=...}
    giaoban_link_up{site=...,target=...} 1
    giaoban_link_rtt_seconds{site=...,target=...,stat="min|avg|median|max"}    (absent while no reply)
    giaoban_link_jitter_seconds{site=...,target=...}                           (absent while no reply)
    giaoban_link_loss_ratio{site=...,target=...}
    giaoban_link_mos{site=...,target=...}
    giaoban_link_echo_rtt_seconds_bucket{site=...,target=...,le=...}   (every echo since start)
    giaoban_scheduler_lag_seconds_bucket{le=...}

The reason for a failure is free text and so never a label; it is in the logs and the API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from monitor import __version__
from monitor.scheduler import LAG_BUCKETS, Scheduler
from monitor.state import State

_TARGET = ["site", "target", "kind"]
_LINK = ["site", "target"]
_RTT_STATS = ("min", "avg", "median", "max")


@dataclass(slots=True)
class ReloadStatus:
    successful: bool = True
    last_success: float = 0.0


class StateCollector(Collector):
    def __init__(self, state: State, scheduler: Scheduler | None, reload: ReloadStatus) -> None:
        self._state = state
        self._scheduler = scheduler
        self._reload = reload

    def collect(self) -> Iterator[Metric]:
        yield from self._self_metrics()
        yield from self._probe_metrics()

    def _self_metrics(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("giaoban_build_info", "Version of the running giaoban.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily(
            "giaoban_config_last_reload_successful",
            "1 if the last configuration load or reload succeeded.",
            value=1 if self._reload.successful else 0,
        )
        yield GaugeMetricFamily(
            "giaoban_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully.",
            value=self._reload.last_success,
        )
        per_kind = Counter(entry.target.kind.name for entry in self._state)
        targets = GaugeMetricFamily("giaoban_targets", "Targets scheduled, by probe kind.", labels=["kind"])
        for kind, count in sorted(per_kind.items()):
            targets.add_metric([kind], count)
        yield targets
        if self._scheduler is not None:
            lag = self._scheduler.lag
            buckets, running = [], 0
            for bound, count in zip((*map(str, LAG_BUCKETS), "+Inf"), lag.counts, strict=True):
                running += count
                buckets.append((bound, running))
            family = HistogramMetricFamily(
                "giaoban_scheduler_lag_seconds",
                "How late probes started against their due time.",
                unit="",
            )
            family.add_metric([], buckets, lag.total)
            yield family

    def _probe_metrics(self) -> Iterator[Metric]:
        success = GaugeMetricFamily("giaoban_probe_success", "1 if the last probe succeeded.", labels=_TARGET)
        duration = GaugeMetricFamily(
            "giaoban_probe_duration_seconds",
            "Duration of the last probe, by phase.",
            labels=[*_TARGET, "phase"],
        )
        last_run = GaugeMetricFamily(
            "giaoban_probe_last_run_timestamp_seconds", "When the last probe finished.", labels=_TARGET
        )
        runs = CounterMetricFamily("giaoban_probes", "Probes run, by result.", labels=[*_TARGET, "result"])
        cert = GaugeMetricFamily(
            "giaoban_tls_cert_expiry_timestamp_seconds",
            "Expiry of the peer's TLS certificate.",
            labels=_TARGET,
        )
        status = GaugeMetricFamily("giaoban_http_status_code", "HTTP status of the last probe.", labels=_LINK)
        up = GaugeMetricFamily("giaoban_link_up", "1 if at least one echo of the last round came back.", labels=_LINK)
        rtt = GaugeMetricFamily(
            "giaoban_link_rtt_seconds", "Round-trip time of the last round.", labels=[*_LINK, "stat"]
        )
        jitter = GaugeMetricFamily(
            "giaoban_link_jitter_seconds",
            "Mean difference of successive RTTs in the last round.",
            labels=_LINK,
        )
        loss = GaugeMetricFamily("giaoban_link_loss_ratio", "Share of echoes lost in the last round.", labels=_LINK)
        mos = GaugeMetricFamily("giaoban_link_mos", "Estimated call quality (simplified E-model, 1–4.5).", labels=_LINK)
        histogram = HistogramMetricFamily(
            "giaoban_link_echo_rtt_seconds", "Every echo's round-trip time since start.", labels=_LINK
        )
        for entry in self._state:
            target, result = entry.target, entry.latest
            labels = [target.site, target.name, target.kind.name]
            if entry.runs:
                runs.add_metric([*labels, "success"], entry.runs - entry.failures)
                runs.add_metric([*labels, "failure"], entry.failures)
            if result is None:
                continue
            values = result.values
            success.add_metric(labels, 1 if result.success else 0)
            duration.add_metric([*labels, "total"], result.duration)
            for phase, seconds in result.phases.items():
                duration.add_metric([*labels, phase], seconds)
            last_run.add_metric(labels, result.timestamp)
            if "tls_cert_expiry" in values:
                cert.add_metric(labels, values["tls_cert_expiry"])
            if "status_code" in values:
                status.add_metric(labels[:2], values["status_code"])
            if target.role != "link":
                continue
            link = labels[:2]
            up.add_metric(link, 1 if result.success else 0)
            for stat in _RTT_STATS:
                if f"rtt_{stat}" in values:
                    rtt.add_metric([*link, stat], values[f"rtt_{stat}"])
            if "jitter" in values:
                jitter.add_metric(link, values["jitter"])
            if "loss_ratio" in values:
                loss.add_metric(link, values["loss_ratio"])
            if "mos" in values:
                mos.add_metric(link, values["mos"])
            histogram.add_metric(link, entry.histogram.cumulative(), entry.histogram.total)
        yield from (success, duration, last_run, runs, cert, status, up, rtt, jitter, loss, mos, histogram)


def make_registry(state: State, scheduler: Scheduler | None, reload: ReloadStatus) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(state, scheduler, reload))
    return registry
