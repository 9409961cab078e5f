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
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from monitor.engine.state import RTT_BUCKETS, State, TargetState
from monitor.engine.targets import Target
from monitor.metrics.exposition import Family, escape, fmt, fmt_count
from monitor.metrics.snmp import interface_lines
from probes import ProbeKind
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
BUCKET_LE = (*map(str, RTT_BUCKETS), "+Inf")  # the histogram's le values, as written


def _labels(series: Series, base: str, kind: str) -> str:
    text = base
    if series.kind_label is not None:
        text += f',{series.kind_label}="{escape(kind)}"'
    for label, value in series.labels:
        text += f',{label}="{escape(value)}"'
    return text


@dataclass(frozen=True, slots=True)
class Layout:
    """Every part of a target's lines that its definition alone fixes: names, labels, the series that apply.

    Made once per Target (a reload makes new ones), so a new result only formats its values: ~2-3× less work
    per result than building every label text again (issue 16)."""

    base: str  # site and target, for the payload writers
    probes: tuple[str, str]  # the giaoban_probes_total lines up to their value: success, failure
    success: str
    measured: str
    duration: str  # up to the phase's name
    last_run: str
    # The histogram's family, the start of its bucket lines (up to le's value), of its _sum's and _count's.
    histogram: tuple[str, str, str, str] | None
    values: tuple[tuple[str, str, Series], ...]  # family, line up to the value, series: in declaration order

    @classmethod
    def of(cls, target: Target) -> Layout:
        kind = target.kind.name
        base = f'site="{escape(target.site)}",target="{escape(target.name)}"'
        with_kind = f'{base},kind="{escape(kind)}"'
        histogram, values = None, []
        for series in target.kind.series:
            if series.on_probe or (series.role is not None and series.role != target.role):
                continue
            labels = _labels(series, base, kind)
            if series.key == SAMPLES:
                histogram = (
                    series.name,
                    f'{series.name}_bucket{{{labels},le="',
                    f"{series.name}_sum{{{labels}}} ",
                    f"{series.name}_count{{{labels}}} ",
                )
            elif series.key != PAYLOAD:
                values.append((series.name, f"{series.name}{{{labels}}} ", series))
        return cls(
            base=base,
            probes=(
                f'{PROBES.name}{{{with_kind},result="success"}} ',
                f'{PROBES.name}{{{with_kind},result="failure"}} ',
            ),
            success=f"{PROBE_SUCCESS.name}{{{with_kind}}} ",
            measured=f"{PROBE_MEASURED.name}{{{with_kind}}} ",
            duration=f'{PROBE_DURATION.name}{{{with_kind},phase="',
            last_run=f"{PROBE_LAST_RUN.name}{{{with_kind}}} ",
            histogram=histogram,
            values=tuple(values),
        )


def target_chunks(entry: TargetState, layout: Layout) -> dict[str, bytes]:
    """Every line one target contributes, by family name, encoded once (a scrape joins bytes); ``layout`` is
    ``Layout.of(entry.target)``, kept by the caller."""
    result = entry.latest
    out: dict[str, list[str]] = {}
    if entry.runs:
        out[PROBES.name] = [
            f"{layout.probes[0]}{fmt_count(entry.runs - entry.failures)}\n",
            f"{layout.probes[1]}{fmt_count(entry.failures)}\n",
        ]
    if result is not None:
        out[PROBE_SUCCESS.name] = [layout.success + ("1.0\n" if result.success else "0.0\n")]
        out[PROBE_MEASURED.name] = [layout.measured + ("0.0\n" if result.unmeasured else "1.0\n")]
        duration = layout.duration
        out[PROBE_DURATION.name] = [f'{duration}total"}} {fmt(result.duration)}\n'] + [
            f'{duration}{escape(phase)}"}} {fmt(seconds)}\n' for phase, seconds in result.phases.items()
        ]
        out[PROBE_LAST_RUN.name] = [f"{layout.last_run}{fmt(result.timestamp)}\n"]
    if layout.histogram is not None:  # since start: there even before the first result
        name, bucket, total, count = layout.histogram
        histogram = entry.histogram
        cumulative = list(accumulate(histogram.counts))
        lines = [f'{bucket}{le}"}} {fmt_count(running)}\n' for le, running in zip(BUCKET_LE, cumulative, strict=True)]
        lines.append(f"{total}{fmt(histogram.total)}\n")
        lines.append(f"{count}{fmt_count(cumulative[-1])}\n")  # the +Inf bucket is the count
        out[name] = lines
    if result is not None and not result.unmeasured:  # an unmeasured result says nothing of the target
        values = result.values
        for name, start, series in layout.values:
            if series.key == SUCCESS:
                value: float | None = 1.0 if result.success else 0.0
            else:
                value = values.get(series.key, series.default)
            if value is not None:
                out.setdefault(name, []).append(f"{start}{fmt(value)}\n")
    if result is not None and result.success and (writer := PAYLOAD_WRITERS.get(type(result.payload))) is not None:
        writer(out, layout.base, result.payload)
    return {name: "".join(lines).encode() for name, lines in out.items()}


class TargetMetrics:
    """Every target's series, encoded when its entry changes; rendered from a worker thread (the scrape).

    The state keeps a journal of the entries that changed (monitor/engine/state.py, ``State.changes``). The
    service's loop calls ``refresh`` once a second (``Exposition.run``), in slices, so a target's lines are
    encoded within a second of its result, a few at a time; a scrape encodes only what changed since the last
    refresh and joins the rest. Before, a scrape at 10,000 sites encoded the ~2,500 results of the last 15 s in
    its thread while the loop waited for the GIL at each system call: scrapes of ~0.5 s and probe starts
    ~100 ms late (bench/RESULTS.md, issue 16).
    """

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
        self._changes = state.changes()  # every target there is now, then each that changes
        # Per target: its layout (with the Target it was made for) and its chunks by family name.
        self._cache: dict[str, tuple[Target, Layout, dict[str, bytes]]] = {}
        # Per family: every target's chunk, in the state's order; a scrape joins these without a loop per line.
        self._rows: dict[str, dict[str, bytes]] = {name: {} for name in self._families}
        self._grown: set[str] = set()  # families given a target they did not have: out of the state's order
        self._keys: list[str] = []  # the state's order at the last scrape
        self._lock = threading.Lock()  # the loop's refresh against the scrape's thread

    def families(self) -> tuple[Family, ...]:
        return tuple(self._families.values())

    def refresh(self, limit: int | None = None, *, wait: bool = True) -> int:
        """Encode up to ``limit`` of the targets changed since the last refresh; how many are left.

        ``wait=False`` (the event loop's call) gives up at once, leaving them all, while a scrape holds the lock.
        """
        if not self._lock.acquire(blocking=wait):
            return 0
        try:
            rows, cache, state = self._rows, self._cache, self._state
            for key in self._changes.take(limit):
                entry, cached = state.get(key), cache.get(key)
                if cached is not None and (entry is None or cached[0] is not entry.target):
                    for name in cached[2]:  # removed or redefined: its old lines go
                        rows.get(name, {}).pop(key, None)
                    cached = None
                if entry is None:
                    cache.pop(key, None)
                    continue
                layout = Layout.of(entry.target) if cached is None else cached[1]
                chunks = target_chunks(entry, layout)
                if cached is not None:
                    for name in cached[2].keys() - chunks.keys():
                        rows.get(name, {}).pop(key, None)
                for name, text in chunks.items():
                    family = rows.get(name)
                    if family is None:  # a kind outside the ones given here: its names were never checked
                        continue
                    if key not in family:
                        self._grown.add(name)
                    family[key] = text
                cache[key] = (entry.target, layout, chunks)
            return len(self._changes)
        finally:
            self._lock.release()

    def render(self) -> list[bytes]:
        self.refresh()  # what changed since the loop's last refresh
        with self._lock:
            keys = self._state.keys()
            rows = self._rows
            grown, self._grown = self._grown, set()
            if keys != self._keys:  # targets added, removed or re-added (reload): every family may be out of order
                grown = set(rows)
                self._keys = keys
            for name in grown:
                family = rows[name]
                rows[name] = {key: family[key] for key in keys if key in family}
            # A piece per family, joined here in C (~1 MB each at 10,000 links): the writer then handles ~40 pieces,
            # not one per target and family (~110,000 at 10,000 links, a Python loop of ~15 ms in the scrape).
            out: list[bytes] = []
            for name, family in rows.items():
                if family:
                    out.append(self._families[name].header().encode())
                    out.append(b"".join(family.values()))
            return out
