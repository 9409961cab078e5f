"""/metrics: the text exposition of the live state, rendered per scrape with per-target caching.

Series it produces (labels: site, target, kind, and fixed small sets only)::

    giaoban_build_info{version="0.1.0"} 1
    giaoban_config_last_reload_successful 1
    giaoban_config_last_reload_success_timestamp_seconds 1.7e9
    giaoban_targets{kind="icmp"} 24
    giaoban_scheduler_lag_seconds_bucket{le=...}        (histogram)
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
    giaoban_link_echo_rtt_seconds_bucket{site=...,target=...,le=...}          (every echo since start)
    giaoban_endpoint_up{site=...,target=...,protocol="sip|h323|cisco-xapi|poly-rest|jitsi"}
    giaoban_endpoint_response_seconds{site=...,target=...,protocol=...}
    giaoban_endpoint_sip_status_code{site=...,target=...}
    giaoban_endpoint_registered / giaoban_endpoint_in_call / giaoban_endpoint_standby{site=...,target=...}
    giaoban_endpoint_microphone_muted{site=...,target=...}
    giaoban_endpoint_peripheral_ok{site=...,target=...,peripheral="camera|microphone"}
    giaoban_endpoint_uptime_seconds{site=...,target=...}
      (each endpoint series only when the device reports it: unknown is absent, never "ok")

Why not prometheus_client's collector and writer: at 1,000 links that is ~35,000 samples and its generic
writer took ~580 ms a scrape here (bench/RESULTS.md). A target's lines change only when it gets a new
result, so they are formatted once per result and cached; a scrape joins the cached chunks. The output
is the text format 0.0.4, checked by `promtool check metrics` in the tests.

The reason for a failure is free text and so never a label; it is in the logs and the API.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from monitor import __version__
from monitor.engine.scheduler import LAG_BUCKETS, Scheduler
from monitor.engine.state import State, TargetState
from monitor.metrics.exposition import Family, escape, fmt, histogram_lines
from monitor.metrics.snmp import SNMP_FAMILIES, device_lines

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RTT_STATS = ("min", "avg", "median", "max")


@dataclass(slots=True)
class ReloadStatus:
    successful: bool = True
    last_success: float = 0.0


# Per-target families, in exposition order.
PROBE_SUCCESS = Family("giaoban_probe_success", "gauge", "1 if the last probe succeeded.")
PROBE_DURATION = Family("giaoban_probe_duration_seconds", "gauge", "Duration of the last probe, by phase.")
PROBE_LAST_RUN = Family("giaoban_probe_last_run_timestamp_seconds", "gauge", "When the last probe finished.")
PROBES = Family("giaoban_probes_total", "counter", "Probes run, by result.")
TLS_EXPIRY = Family("giaoban_tls_cert_expiry_timestamp_seconds", "gauge", "Expiry of the peer's TLS certificate.")
HTTP_STATUS = Family("giaoban_http_status_code", "gauge", "HTTP status of the last probe.")
LINK_UP = Family("giaoban_link_up", "gauge", "1 if at least one echo of the last round came back.")
LINK_RTT = Family("giaoban_link_rtt_seconds", "gauge", "Round-trip time of the last round.")
LINK_JITTER = Family("giaoban_link_jitter_seconds", "gauge", "Mean difference of successive RTTs in the last round.")
LINK_LOSS = Family("giaoban_link_loss_ratio", "gauge", "Share of echoes lost in the last round.")
LINK_MOS = Family("giaoban_link_mos", "gauge", "Estimated call quality (simplified E-model, 1-4.5).")
LINK_ECHO_RTT = Family("giaoban_link_echo_rtt_seconds", "histogram", "Every echo's round-trip time since start.")
ENDPOINT_UP = Family("giaoban_endpoint_up", "gauge", "1 if the endpoint answered its protocol.")
ENDPOINT_RESPONSE = Family("giaoban_endpoint_response_seconds", "gauge", "How long the endpoint took to answer.")
ENDPOINT_SIP_STATUS = Family("giaoban_endpoint_sip_status_code", "gauge", "Status code of the SIP OPTIONS answer.")
ENDPOINT_REGISTERED = Family("giaoban_endpoint_registered", "gauge", "1 if the codec is registered (SIP/H.323).")
ENDPOINT_IN_CALL = Family("giaoban_endpoint_in_call", "gauge", "1 if the codec is already in a call.")
ENDPOINT_STANDBY = Family("giaoban_endpoint_standby", "gauge", "1 if the codec is in standby.")
ENDPOINT_MUTED = Family("giaoban_endpoint_microphone_muted", "gauge", "1 if the codec's microphones are muted.")
ENDPOINT_PERIPHERAL = Family("giaoban_endpoint_peripheral_ok", "gauge", "1 if the peripheral is connected.")
ENDPOINT_UPTIME = Family("giaoban_endpoint_uptime_seconds", "gauge", "The codec's uptime.")
TARGET_FAMILIES = (
    PROBE_SUCCESS, PROBE_DURATION, PROBE_LAST_RUN, PROBES, TLS_EXPIRY, HTTP_STATUS,
    LINK_UP, LINK_RTT, LINK_JITTER, LINK_LOSS, LINK_MOS, LINK_ECHO_RTT,
    ENDPOINT_UP, ENDPOINT_RESPONSE, ENDPOINT_SIP_STATUS, ENDPOINT_REGISTERED, ENDPOINT_IN_CALL,
    ENDPOINT_STANDBY, ENDPOINT_MUTED, ENDPOINT_PERIPHERAL, ENDPOINT_UPTIME,
    *SNMP_FAMILIES,
)  # fmt: skip
# value key → family, for the endpoint states every status driver reports under the same keys
_ENDPOINT_VALUES = (
    ("sip_status_code", ENDPOINT_SIP_STATUS),
    ("registered", ENDPOINT_REGISTERED),
    ("in_call", ENDPOINT_IN_CALL),
    ("standby", ENDPOINT_STANDBY),
    ("microphone_muted", ENDPOINT_MUTED),
    ("uptime", ENDPOINT_UPTIME),
)
_PERIPHERALS = ("camera", "microphone")


def target_chunks(entry: TargetState) -> dict[Family, str]:
    """Every line one target contributes, grouped by family."""
    target, result = entry.target, entry.latest
    out: dict[Family, list[str]] = {}
    base = f'site="{escape(target.site)}",target="{escape(target.name)}"'
    with_kind = f'{base},kind="{target.kind.name}"'
    if entry.runs:
        out[PROBES] = [
            f'giaoban_probes_total{{{with_kind},result="success"}} {fmt(entry.runs - entry.failures)}\n',
            f'giaoban_probes_total{{{with_kind},result="failure"}} {fmt(entry.failures)}\n',
        ]
    if result is not None:
        values = result.values
        out[PROBE_SUCCESS] = [f"giaoban_probe_success{{{with_kind}}} {fmt(1 if result.success else 0)}\n"]
        phases = [("total", result.duration), *result.phases.items()]
        out[PROBE_DURATION] = [
            f'giaoban_probe_duration_seconds{{{with_kind},phase="{escape(phase)}"}} {fmt(seconds)}\n'
            for phase, seconds in phases
        ]
        out[PROBE_LAST_RUN] = [f"giaoban_probe_last_run_timestamp_seconds{{{with_kind}}} {fmt(result.timestamp)}\n"]
        if "tls_cert_expiry" in values:
            out[TLS_EXPIRY] = [
                f"giaoban_tls_cert_expiry_timestamp_seconds{{{with_kind}}} {fmt(values['tls_cert_expiry'])}\n"
            ]
        if "status_code" in values:
            out[HTTP_STATUS] = [f"giaoban_http_status_code{{{base}}} {fmt(values['status_code'])}\n"]
        if target.role == "link":
            out[LINK_UP] = [f"giaoban_link_up{{{base}}} {fmt(1 if result.success else 0)}\n"]
            rtts = [
                f'giaoban_link_rtt_seconds{{{base},stat="{stat}"}} {fmt(values[f"rtt_{stat}"])}\n'
                for stat in _RTT_STATS
                if f"rtt_{stat}" in values
            ]
            if rtts:
                out[LINK_RTT] = rtts
            for family, key in ((LINK_JITTER, "jitter"), (LINK_LOSS, "loss_ratio"), (LINK_MOS, "mos")):
                if key in values:
                    out[family] = [f"{family.name}{{{base}}} {fmt(values[key])}\n"]
        if target.role == "device":
            device_lines(out, base, result)
        if target.kind.endpoint_protocol or "up" in values:  # sip, h323, the codecs' status APIs
            _endpoint_lines(out, base, target.kind.name, values)
    if target.role == "link":
        histogram = entry.histogram
        out[LINK_ECHO_RTT] = histogram_lines(LINK_ECHO_RTT.name, base, histogram.cumulative(), histogram.total)
    return {family: "".join(lines) for family, lines in out.items()}


def _endpoint_lines(out: dict[Family, list[str]], base: str, protocol: str, values: Mapping[str, float]) -> None:
    with_protocol = f'{base},protocol="{escape(protocol)}"'
    up = values.get("up", 0.0)  # a run cut off by its deadline has no values: down
    out[ENDPOINT_UP] = [f"giaoban_endpoint_up{{{with_protocol}}} {fmt(up)}\n"]
    if "response_seconds" in values:
        out[ENDPOINT_RESPONSE] = [
            f"giaoban_endpoint_response_seconds{{{with_protocol}}} {fmt(values['response_seconds'])}\n"
        ]
    for key, family in _ENDPOINT_VALUES:
        if key in values:
            out[family] = [f"{family.name}{{{base}}} {fmt(values[key])}\n"]
    peripherals = [
        f'giaoban_endpoint_peripheral_ok{{{base},peripheral="{name}"}} {fmt(values[f"peripheral_{name}"])}\n'
        for name in _PERIPHERALS
        if f"peripheral_{name}" in values
    ]
    if peripherals:
        out[ENDPOINT_PERIPHERAL] = peripherals


class Exposition:
    """Renders /metrics; safe to call from a worker thread (the scrape runs off the event loop)."""

    def __init__(self, state: State, scheduler: Scheduler | None, reload: ReloadStatus) -> None:
        self._state = state
        self._scheduler = scheduler
        self._reload = reload
        self._cache: dict[str, tuple[int, object, object, dict[Family, str]]] = {}
        self._lock = threading.Lock()
        self._sources: list[Callable[[], str]] = []

    def add_source(self, render: Callable[[], str]) -> None:
        """Another module's families (readiness, alerts, outbox), rendered as complete text on each scrape."""
        self._sources.append(render)

    def _self_metrics(self) -> list[str]:
        out = [
            "# HELP giaoban_build_info Version of the running giaoban.\n# TYPE giaoban_build_info gauge\n",
            f'giaoban_build_info{{version="{escape(__version__)}"}} 1.0\n',
            "# HELP giaoban_config_last_reload_successful 1 if the last configuration load or reload succeeded.\n"
            "# TYPE giaoban_config_last_reload_successful gauge\n",
            f"giaoban_config_last_reload_successful {fmt(1 if self._reload.successful else 0)}\n",
            "# HELP giaoban_config_last_reload_success_timestamp_seconds When the configuration was last loaded "
            "successfully.\n# TYPE giaoban_config_last_reload_success_timestamp_seconds gauge\n",
            f"giaoban_config_last_reload_success_timestamp_seconds {fmt(self._reload.last_success)}\n",
        ]
        per_kind = Counter(entry.target.kind.name for entry in self._state)
        out.append("# HELP giaoban_targets Targets scheduled, by probe kind.\n# TYPE giaoban_targets gauge\n")
        out += [f'giaoban_targets{{kind="{kind}"}} {fmt(count)}\n' for kind, count in sorted(per_kind.items())]
        if self._scheduler is not None:
            lag = self._scheduler.lag
            running, cumulative = 0, []
            for bound, count in zip((*map(str, LAG_BUCKETS), "+Inf"), lag.counts, strict=True):
                running += count
                cumulative.append((bound, running))
            name = "giaoban_scheduler_lag_seconds"
            out.append(f"# HELP {name} How late probes started against their due time.\n# TYPE {name} histogram\n")
            out += histogram_lines(name, "", cumulative, lag.total)
        return out

    def render(self) -> bytes:
        with self._lock:
            grouped: dict[Family, list[str]] = {family: [] for family in TARGET_FAMILIES}
            live = set()
            for entry in self._state:
                key = entry.target.key
                live.add(key)
                cached = self._cache.get(key)
                # A new result or a redefined target (reload) changes the lines; nothing else does.
                if (
                    cached is None
                    or cached[0] != entry.runs
                    or cached[1] is not entry.target
                    or cached[2] is not entry.latest
                ):
                    cached = (entry.runs, entry.target, entry.latest, target_chunks(entry))
                    self._cache[key] = cached
                for family, text in cached[3].items():
                    grouped[family].append(text)
            for key in self._cache.keys() - live:
                del self._cache[key]
            out = self._self_metrics()
            for family in TARGET_FAMILIES:
                if grouped[family]:
                    out.append(family.header())
                    out += grouped[family]
            out += [render() for render in self._sources]
            return "".join(out).encode()


__all__ = ["CONTENT_TYPE", "Exposition", "ReloadStatus"]
