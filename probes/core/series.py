"""What a probe kind exports: one ``Series`` per number, declared in the kind's module beside its registry entry.

A kind's ``SERIES`` tuple, carried by the registry as ``ProbeKind.series``, is all the metrics writers know of
the kind: /metrics (monitor/metrics/targets.py) writes its ``giaoban_*`` series for every target of the kind,
/probe (monitor/metrics/probe.py) its ``probe_*`` series (blackbox_exporter's names) for one on-demand run.
So a new kind touches its own module and one registry line, never the writers.

Series of one name are one family: one help, one type, told apart by fixed labels (``stat="min"`` ...
``stat="max"``). A /probe series may also read a phase (``source="phases"``) or carry labels whose values
come from the result's info (``info_labels``, e.g. ``probe_tls_version_info{version="TLS 1.3"} 1``, key INFO),
as blackbox_exporter's do; /metrics keeps to values and fixed labels (free text never becomes its label).

A family has one declaration: kinds that export the same family share the very objects (``ENDPOINT_SERIES``
below, probes/tls.py's ``TLS_SERIES``, probes/core/address.py's ``ADDRESS_SERIES``), and ``families``
refuses, at start-up, two kinds that declare one name differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

SeriesType = Literal["gauge", "counter", "histogram"]
Source = Literal["values", "phases"]

# Keys that are not ProbeResult.values keys (those never start with "@").
SUCCESS = "@success"  # 1 if the run succeeded, else 0
INFO = "@info"  # /probe: 1, written when the result's info has every one of the series' info_labels
SAMPLES = "@samples"  # the target's histogram of every RTT sample since start (monitor/engine/state.py)
PAYLOAD = "@payload"  # written from the result's payload by that payload's writer (SNMP: per interface)


class SeriesConflict(ValueError):
    """A metric name declared twice, or declared inconsistently: the service refuses to start with it."""


@dataclass(frozen=True, slots=True)
class Series:
    key: str  # the ProbeResult.values key it is read from, or SUCCESS, SAMPLES, PAYLOAD
    name: str  # giaoban_* is written on /metrics, probe_* on /probe
    help: str
    type: SeriesType = "gauge"
    labels: tuple[tuple[str, str], ...] = ()  # fixed labels telling this key from the others of its family
    # /metrics only: which label carries the kind's name besides site and target ("kind", "protocol"), if any.
    kind_label: str | None = None
    # Written with this value when the key is absent (a run cut off by its deadline has no values); on /probe,
    # what blackbox_exporter pre-creates, so the series exists on failure too (probe_http_status_code 0).
    default: float | None = None
    # /metrics only: written for targets of this role only (monitor/engine/targets.py: link, endpoint, device).
    role: str | None = None
    # /probe only: read ``key`` from the result's phases instead of its values.
    source: Source = "values"
    # /probe only: (label, info key) pairs; the label's value is the result's info under that key.
    info_labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.name.startswith(("giaoban_", "probe_")):
            raise ValueError(f"{self.name}: a series is named giaoban_* (/metrics) or probe_* (/probe)")
        if (self.type == "histogram") != (self.key == SAMPLES):
            raise ValueError(f"{self.name}: the one histogram a target has is its RTT samples (key SAMPLES)")
        if self.on_probe and (self.type != "gauge" or (self.key.startswith("@") and self.key != INFO)):
            raise ValueError(f"{self.name}: /probe writes gauges of the run's values only")
        if not self.on_probe and (self.source != "values" or self.info_labels or self.key == INFO):
            raise ValueError(f"{self.name}: only /probe series read phases or take labels from the result's info")
        if (self.key == INFO) != bool(self.info_labels):
            raise ValueError(f"{self.name}: an info series (key INFO) has info_labels, and only it")

    @property
    def on_probe(self) -> bool:
        """Written by /probe (one on-demand run), not by /metrics."""
        return self.name.startswith("probe_")

    @property
    def label_names(self) -> tuple[str, ...]:
        """The labels a /probe sample of it carries, fixed ones first."""
        return tuple(label for label, _ in self.labels) + tuple(label for label, _ in self.info_labels)


# What every room-codec protocol exports (sip, h323, the status APIs of probes/vc/).
ENDPOINT_SERIES = (
    # default 0: a run cut off by its deadline has no values, and the endpoint did not answer.
    Series("up", "giaoban_endpoint_up", "1 if the endpoint answered its protocol.", kind_label="protocol", default=0.0),
    Series(
        "response_seconds",
        "giaoban_endpoint_response_seconds",
        "How long the endpoint took to answer.",
        kind_label="protocol",
    ),
)


def grouped(series: Iterable[Series]) -> dict[str, tuple[Series, ...]]:
    """Series by family name, in declaration order."""
    out: dict[str, list[Series]] = {}
    for one in series:
        out.setdefault(one.name, []).append(one)
    return {name: tuple(members) for name, members in out.items()}


def families(declared: Iterable[tuple[str, Sequence[Series]]]) -> dict[str, tuple[Series, ...]]:
    """Every family of ``(owner, series)`` pairs (a kind's name and its SERIES), first declared first.

    Raises SeriesConflict when one family's members disagree on help or type, repeat their labels, or when
    two owners declare one name with different series.
    """
    out: dict[str, tuple[Series, ...]] = {}
    owner_of: dict[str, str] = {}
    for owner, series in declared:
        for name, members in grouped(series).items():
            first = members[0]
            if any((s.help, s.type) != (first.help, first.type) for s in members):
                raise SeriesConflict(f"{name}: {owner} declares it with different help or type texts")
            if any(s.label_names != first.label_names for s in members):
                raise SeriesConflict(f"{name}: {owner} declares it with different label names")
            if len({s.labels for s in members}) != len(members):
                raise SeriesConflict(f"{name}: {owner} declares the same labels twice")
            if name in out and out[name] != members:
                raise SeriesConflict(
                    f"{name} is declared by {owner_of[name]} and by {owner} differently: one family has one "
                    "declaration (share the Series objects)"
                )
            out.setdefault(name, members)
            owner_of.setdefault(name, owner)
    return out
