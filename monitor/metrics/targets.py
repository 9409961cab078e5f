"""The per-target part of /metrics: the general probe series, then what the target's kind declares.

General series (labels site, target, kind)::

    giaoban_probe_success{site="tan-thinh",target="192.0.2.21",kind="icmp"} 1
    giaoban_probe_measured{site=...,target=...,kind=...}     0 when giaoban itself could not probe (see below)
    giaoban_probe_duration_seconds{site=...,target=...,kind="http",phase="total|resolve|connect|tls|processing|transfer"}
    giaoban_probe_last_run_timestamp_seconds{site=...,target=...,kind=...}
    giaoban_probes_total{site=...,target=...,kind=...,result="success|failure"}

Then every ``giaoban_*`` Series of the kind's SERIES (probes/core/series.py), labelled site, target, the
series' kind label (``kind`` or ``protocol``) and its fixed labels: the link's (probes/icmp/probe.py), TLS
and HTTP (probes/tls.py, probes/http.py), the endpoints' (probes/core/series.py, probes/sip/probe.py,
probes/vc/status.py), the devices' (probes/snmp/probe.py; interfaces from the payload, monitor/metrics/snmp.py).
A series is written only when its value is in the result: what a device does not report is absent, never
"ok". tests/golden/metrics.prom shows every family for a fixed state.

An unmeasured result (giaoban's own fault, probes/core/result.py OWN_FAULTS: no ICMP permission, a bad target,
an unreadable secret) says nothing about the target, so it writes none of its kind's series (the RTT histogram
since start excepted): without ICMP permission there is no ``giaoban_link_up 0`` for the shipped GiaobanLinkDown
rule to fire on, only ``giaoban_probe_measured 0``, on which GiaobanProbeSetup tells the admins once (issue 14).

Why not prometheus_client's collector and writer: at 1,000 links that is ~35,000 samples and its generic
writer took ~580 ms a scrape here (bench/RESULTS.md). A target's lines change only when it gets a new
result, so they are formatted once per result and cached, per family in the state's order; a scrape joins the
cached chunks, already encoded (at 10,000 links ~20–30 ms rather than 60–80 ms: bench/RESULTS.md, issue 16).

The reason for a failure is free text and so never a label; it is in the logs and the API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from monitor.engine.state import State, TargetState
from monitor.engine.targets import Target
from monitor.metrics.exposition import Family, escape, fmt, histogram_lines
from monitor.metrics.snmp import interface_lines
from probes import ProbeKind
from probes.core.result import ProbeResult
from probes.core.series import PAYLOAD, SAMPLES, SUCCESS, Series, SeriesConflict, families
from probes.snmp.readings import DeviceReading

PROBE_SUCCESS = Family("giaoban_probe_success", "gauge", "1 if the last probe succeeded.")
PROBE_MEASURED = Family(
    "giaoban_probe_measured", "gauge", "0 if giaoban itself could not probe the target (its own set-up), else 1."
)
PROBE_DURATION = Family("giaoban_probe_duration_seconds", "gauge", "Duration of the last probe, by phase.")
PROBE_LAST_RUN = Family("giaoban_probe_last_run_timestamp_seconds", "gauge", "When the last probe finished.")
PROBES = Family("giaoban_probes_total", "counter", "Probes run, by result.")
GENERAL = (PROBE_SUCCESS, PROBE_MEASURED, PROBE_DURATION, PROBE_LAST_RUN, PROBES)

# A kind whose numbers do not fit flat values declares PAYLOAD series; its payload's writer fills them in.
PayloadWriter = Callable[[dict[str, list[str]], str, Any], None]
PAYLOAD_WRITERS: dict[type, PayloadWriter] = {DeviceReading: interface_lines}


def _labels(series: Series, base: str, kind: str) -> str:
    text = base
    if series.kind_label is not None:
        text += f',{series.kind_label}="{escape(kind)}"'
    for label, value in series.labels:
        text += f',{label}="{escape(value)}"'
    return text


def _value(series: Series, result: ProbeResult) -> float | None:
    if series.key == PAYLOAD or result.unmeasured:
        return None  # an unmeasured result says nothing of the target: not measured is not down
    if series.key == SUCCESS:
        return 1.0 if result.success else 0.0
    return result.values.get(series.key, series.default)


def target_chunks(entry: TargetState) -> dict[str, bytes]:
    """Every line one target contributes, by family name, encoded once (a scrape joins bytes)."""
    target, result = entry.target, entry.latest
    kind = target.kind.name
    out: dict[str, list[str]] = {}
    base = f'site="{escape(target.site)}",target="{escape(target.name)}"'
    with_kind = f'{base},kind="{escape(kind)}"'
    if entry.runs:
        out[PROBES.name] = [
            f'{PROBES.name}{{{with_kind},result="success"}} {fmt(entry.runs - entry.failures)}\n',
            f'{PROBES.name}{{{with_kind},result="failure"}} {fmt(entry.failures)}\n',
        ]
    if result is not None:
        out[PROBE_SUCCESS.name] = [f"{PROBE_SUCCESS.name}{{{with_kind}}} {fmt(1 if result.success else 0)}\n"]
        out[PROBE_MEASURED.name] = [f"{PROBE_MEASURED.name}{{{with_kind}}} {fmt(0 if result.unmeasured else 1)}\n"]
        phases = [("total", result.duration), *result.phases.items()]
        out[PROBE_DURATION.name] = [
            f'{PROBE_DURATION.name}{{{with_kind},phase="{escape(phase)}"}} {fmt(seconds)}\n'
            for phase, seconds in phases
        ]
        out[PROBE_LAST_RUN.name] = [f"{PROBE_LAST_RUN.name}{{{with_kind}}} {fmt(result.timestamp)}\n"]
    for series in target.kind.series:
        if series.on_probe or (series.role is not None and series.role != target.role):
            continue
        if series.key == SAMPLES:  # since start: there even before the first result
            histogram = entry.histogram
            labels = _labels(series, base, kind)
            lines = histogram_lines(series.name, labels, histogram.cumulative(), histogram.total)
            out.setdefault(series.name, []).extend(lines)
        elif result is not None and (value := _value(series, result)) is not None:
            out.setdefault(series.name, []).append(f"{series.name}{{{_labels(series, base, kind)}}} {fmt(value)}\n")
    if result is not None and result.success and (writer := PAYLOAD_WRITERS.get(type(result.payload))) is not None:
        writer(out, base, result.payload)
    return {name: "".join(lines).encode() for name, lines in out.items()}


class TargetMetrics:
    """Every target's series; safe to render from a worker thread (the scrape runs off the event loop)."""

    name = "the per-target series (probe kinds)"

    def __init__(self, state: State, kinds: Iterable[ProbeKind]) -> None:
        declared = families((f"kind {kind.name}", kind.series) for kind in kinds)
        for family in GENERAL:
            if family.name in declared:
                raise SeriesConflict(f"{family.name} is written for every target: no kind may declare it")
        self._families = {family.name: family for family in GENERAL}
        for name, members in declared.items():
            if not members[0].on_probe:
                self._families[name] = Family(name, members[0].type, members[0].help)
        self._state = state
        # Per target: (runs, target, result) its chunks were made from, and the chunks by family name.
        self._cache: dict[str, tuple[int, Target, ProbeResult | None, dict[str, bytes]]] = {}
        # Per family: every target's chunk, in the state's order; a scrape joins these without a loop per line.
        self._rows: dict[str, dict[str, bytes]] = {name: {} for name in self._families}
        self._keys: list[str] = []  # the state's order at the last scrape
        self._lock = threading.Lock()

    def families(self) -> tuple[Family, ...]:
        return tuple(self._families.values())

    def render(self) -> list[bytes]:
        with self._lock:
            entries = list(self._state)
            keys = [entry.target.key for entry in entries]
            rows = self._rows
            grown: set[str] = set()  # families that got a target they did not have: put back in the state's order
            for entry in entries:
                key = entry.target.key
                cached = self._cache.get(key)
                # A new result or a redefined target (reload) changes the lines; nothing else does.
                if (
                    cached is not None
                    and cached[0] == entry.runs
                    and cached[1] is entry.target
                    and cached[2] is entry.latest
                ):
                    continue
                chunks = target_chunks(entry)
                if cached is not None:
                    for name in cached[3].keys() - chunks.keys():
                        rows.get(name, {}).pop(key, None)
                for name, text in chunks.items():
                    family = rows.get(name)
                    if family is None:  # a kind outside the ones given here: its names were never checked
                        continue
                    if key not in family:
                        grown.add(name)
                    family[key] = text
                self._cache[key] = (entry.runs, entry.target, entry.latest, chunks)
            for key in self._cache.keys() - set(keys):
                for name in self._cache.pop(key)[3]:
                    rows.get(name, {}).pop(key, None)
            if keys != self._keys:  # targets added, removed or re-added (reload): every family may be out of order
                grown = set(rows)
                self._keys = keys
            for name in grown:
                family = rows[name]
                rows[name] = {key: family[key] for key in keys if key in family}
            # The chunks themselves: the writer joins them once with the other sources' text.
            out: list[bytes] = []
            for name, family in rows.items():
                if family:
                    out.append(self._families[name].header().encode())
                    out += family.values()
            return out
