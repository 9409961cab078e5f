"""Prometheus text exposition (format 0.0.4) primitives shared by the metrics modules, and the one protocol of
a /metrics source (monitor/metrics/collector.py's Exposition joins the sources)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    type: str  # gauge | counter | histogram
    help: str

    def header(self) -> str:
        return f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.type}\n"


_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def fmt(value: float) -> str:
    """A sample value as Prometheus writes it (Go's float formatting: +Inf, -Inf, NaN).

    One repr and a look at its last character: a finite float's repr ends with a digit. (Called ~40 times per
    target and result; two math tests first cost as much again: issue 16.)"""
    text = repr(float(value))
    return _SPECIAL[text] if text[-1] in "nf" else text


def fmt_count(count: int) -> str:
    """fmt() of a count: what repr(float(count)) gives (``12.0``) while the float holds it exactly, faster."""
    return f"{count}.0" if 0 <= count < 2**53 else fmt(count)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def histogram_lines(name: str, base: str, cumulative: list[tuple[str, int]], total: float) -> list[str]:
    """Lines of one histogram; ``base`` is the label text inside the braces, without them."""
    sep = "," if base else ""
    suffix = "{" + base + "}" if base else ""
    lines = [f'{name}_bucket{{{base}{sep}le="{le}"}} {fmt(count)}\n' for le, count in cumulative]
    lines.append(f"{name}_sum{suffix} {fmt(total)}\n")
    lines.append(f"{name}_count{suffix} {fmt(cumulative[-1][1])}\n")  # the +Inf bucket is the count
    return lines


class MetricSource(Protocol):
    """One part of /metrics: the families it may write (declared once, checked at start-up) and its text."""

    @property
    def name(self) -> str:
        """Who it is, for the message that refuses a family name two sources declare."""
        ...

    def families(self) -> tuple[Family, ...]: ...

    def render(self) -> str | list[bytes]:
        """Its complete text for one scrape, headers included; called from the scrape's worker thread.

        A list of bytes: the text already encoded as UTF-8, in pieces the writer joins once with the rest (the
        per-target part, tens of MB at 10,000 sites: each copy of it costs ~30 ms; issue 16)."""
        ...


@dataclass(frozen=True, slots=True)
class TextSource:
    """A source whose text one function renders from a snapshot it reads (meetings, sites, alerts, outbox)."""

    name: str
    declared: tuple[Family, ...]
    text: Callable[[], str]

    def families(self) -> tuple[Family, ...]:
        return self.declared

    def render(self) -> str:
        return self.text()
