"""Prometheus text exposition (format 0.0.4) primitives shared by the metrics modules."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    type: str  # gauge | counter | histogram
    help: str

    def header(self) -> str:
        return f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.type}\n"


def fmt(value: float) -> str:
    """A sample value as Prometheus writes it (Go's float formatting: +Inf, -Inf, NaN)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


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
