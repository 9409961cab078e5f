"""Charts as inline SVG for the site page (monitor/web/site_page.py): pure functions, text in, text out.

    smoke_chart(buckets, start=..., step=..., ...)   RTT median and its spread, SmokePing-style, with loss
    line_chart(values, ...)                          one value per bucket on a fixed scale (MOS, utilisation)
    verdict_strip(cells)                             the last briefings' verdicts, oldest first
    meter(ratio)                                     one ratio as a bar (an interface's utilisation)

No script, no font, no external reference: the page's Content-Security-Policy allows none. Every chart scales
to the width of its box (viewBox, width 100 %), so one drawing serves a 390 px phone and a desktop.

Each bucket is one ``<g class="b">`` carrying what it plots as data attributes (``data-ts`` epoch seconds,
``data-median`` and ``data-lo``/``data-hi`` seconds, ``data-loss`` ratio, ``data-samples``), and the chart
carries its scale (``data-y-max`` seconds at the top, ``data-plot`` the plotting area): a reader — a test,
or a person saving the page — gets the numbers back exactly, and the geometry maps back to them.

SmokePing's colours for the median: green without loss, then blue, purple, orange and red as loss grows
(LOSS_COLOURS); the smoke's darker band is the middle half of the rounds (25–75 %), the lighter one 10–90 %.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 480, 190  # viewBox units; rendered at the box's width
LEFT, RIGHT, TOP = 44, 6, 8
LOSS_HEIGHT = 22  # the loss strip under the RTT plot
AXIS = 18  # room for the time labels
LOSS_COLOURS = ((0.0, "#1a7f37"), (0.01, "#0969da"), (0.05, "#8250df"), (0.20, "#bc4c00"), (1.01, "#c62828"))
VERDICT_COLOURS = {"READY": "#1a7f37", "DEGRADED": "#f5c542", "NOT_READY": "#c62828"}
NICE = (1, 2, 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of a link's history as the smoke chart draws it (times in seconds, loss a ratio)."""

    ts: datetime
    samples: int
    median: float | None  # the median of the rounds' medians; the mean where only hourly rows are left
    bands: tuple[tuple[float, float], ...] = ()  # (low, high), widest first: 10–90 %, 25–75 %, or min–max
    loss: float | None = None
    source: str = "raw"  # "raw": quantiles of rounds; "hourly": min, mean and max of hours


@dataclass(frozen=True, slots=True)
class Cell:
    """One briefing in the readiness strip."""

    verdict: str  # READY, DEGRADED, NOT_READY, or anything else (grey)
    title: str  # the tooltip: the briefing, its time, its verdict and reasons
    href: str | None = None


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    """A coordinate with two decimals at most: short, and the same text for the same number."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (> 0): the top of an axis people read."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(f * power for f in NICE if f * power >= value * (1 - 1e-12)))


def loss_colour(loss: float | None) -> str:
    """The median's colour for a bucket's loss ratio (SmokePing's scale); grey when unknown."""
    if loss is None:
        return "#8c959f"
    return next(colour for bound, colour in LOSS_COLOURS if loss <= bound)


def y_of(value: float, y_max: float, top: float, height: float) -> float:
    """The vertical coordinate of ``value`` on a scale 0..y_max drawn from ``top`` down ``height`` (clamped)."""
    return top + height * (1 - min(max(value / y_max, 0.0), 1.0))


def value_of(y: float, y_max: float, top: float, height: float) -> float:
    """The inverse of y_of inside the scale: what a coordinate stands for."""
    return (1 - (y - top) / height) * y_max


def _frame(label: str, y_max: float, plot: tuple[float, float, float, float], extra: str = "") -> str:
    x, y, w, h = plot
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{_e(label)}" '
        f'preserveAspectRatio="xMidYMid meet" data-y-max="{y_max!r}" '
        f'data-plot="{_n(x)} {_n(y)} {_n(w)} {_n(h)}"{extra} xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(label)}</title>"
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="#fff" stroke="#d0d7de"/>'
    )


def _grid(y_max: float, plot: tuple[float, float, float, float], unit: Callable[[float], str]) -> list[str]:
    """Four horizontal lines with their values on the left."""
    x, top, w, h = plot
    out = []
    for i in range(1, 5):
        value = y_max * i / 4
        y = y_of(value, y_max, top, h)
        out.append(f'<line x1="{_n(x)}" x2="{_n(x + w)}" y1="{_n(y)}" y2="{_n(y)}" stroke="#eef1f5"/>')
        out.append(f'<text x="{_n(x - 4)}" y="{_n(y + 4)}" text-anchor="end" class="tick">{_e(unit(value))}</text>')
    return out


def _time_axis(
    start: datetime, step: float, count: int, plot: tuple[float, float, float, float], label: Callable[[datetime], str]
) -> list[str]:
    """Five time labels under the plot, at 0, ¼, ½, ¾ and the end of the range."""
    x, _, w, _ = plot
    out = []
    for i, anchor in enumerate(("start", "middle", "middle", "middle", "end")):
        offset = count * step * i / 4
        moment = datetime.fromtimestamp(start.timestamp() + offset, start.tzinfo)
        out.append(
            f'<text x="{_n(x + w * i / 4)}" y="{HEIGHT - 4}" text-anchor="{anchor}" class="tick">'
            f"{_e(label(moment))}</text>"
        )
    return out


def smoke_chart(
    buckets: Sequence[Bucket],
    *,
    start: datetime,
    step: float,
    count: int,
    label: str,
    time_label: Callable[[datetime], str],
    rtt_unit: Callable[[float], str],
    floor: float = 0.005,
) -> str:
    """RTT median and spread per bucket over ``count`` buckets of ``step`` s from ``start``, loss under it.

    Buckets outside the range are left out; a bucket without RTT (every round lost) shows only its loss. The
    scale's top is the highest band (at least ``floor`` s), rounded up to a value people read.
    """
    first = start.timestamp()
    inside = [b for b in buckets if 0 <= (b.ts.timestamp() - first) / step < count]
    highest = max((hi for b in inside for _, hi in b.bands[:1]), default=0.0)
    highest = max(highest, *(b.median for b in inside if b.median is not None), floor)
    y_max = nice_ceiling(highest * 1.05)
    plot_h = HEIGHT - TOP - AXIS - LOSS_HEIGHT - 4
    plot = (float(LEFT), float(TOP), float(WIDTH - LEFT - RIGHT), float(plot_h))
    x0, top, w, h = plot
    width = w / count
    loss_top = top + h + 4
    out = [_frame(label, y_max, plot, f' data-step="{step!r}" data-start="{first!r}" data-count="{count}"')]
    out += _grid(y_max, plot, rtt_unit)
    out.append(
        f'<rect x="{_n(x0)}" y="{_n(loss_top)}" width="{_n(w)}" height="{LOSS_HEIGHT}" fill="#fff" stroke="#d0d7de"/>'
    )
    for bucket in inside:
        index = round((bucket.ts.timestamp() - first) / step)
        x = x0 + index * width
        attrs = [f'data-ts="{bucket.ts.timestamp()!r}"', f'data-samples="{bucket.samples}"']
        attrs.append(f'data-src="{bucket.source}"')
        parts = []
        for level, (low, high) in enumerate(bucket.bands):
            y_hi, y_lo = y_of(high, y_max, top, h), y_of(low, y_max, top, h)
            opacity = ".25" if level == 0 else ".45"
            parts.append(
                f'<rect class="smoke" x="{_n(x)}" y="{_n(y_hi)}" width="{_n(width)}" '
                f'height="{_n(max(y_lo - y_hi, 0.5))}" fill="#57606a" fill-opacity="{opacity}"/>'
            )
        if bucket.bands:
            attrs += [f'data-lo="{bucket.bands[0][0]!r}"', f'data-hi="{bucket.bands[0][1]!r}"']
        if bucket.median is not None:
            y = y_of(bucket.median, y_max, top, h)
            attrs.append(f'data-median="{bucket.median!r}"')
            parts.append(
                f'<rect class="median" x="{_n(x)}" y="{_n(y - 1)}" width="{_n(width)}" height="2" '
                f'fill="{loss_colour(bucket.loss)}"/>'
            )
        if bucket.loss is not None:
            attrs.append(f'data-loss="{bucket.loss!r}"')
            if bucket.loss > 0:
                tall = max(LOSS_HEIGHT * min(bucket.loss, 1.0), 1.0)
                parts.append(
                    f'<rect class="loss" x="{_n(x)}" y="{_n(loss_top + LOSS_HEIGHT - tall)}" width="{_n(width)}" '
                    f'height="{_n(tall)}" fill="{loss_colour(bucket.loss)}"/>'
                )
        out.append(f'<g class="b" {" ".join(attrs)}>{"".join(parts)}</g>')
    out += _time_axis(start, step, count, plot, time_label)
    out.append("</svg>")
    return "".join(out)


def line_chart(
    values: Sequence[tuple[datetime, float]],
    *,
    start: datetime,
    step: float,
    count: int,
    y_min: float,
    y_max: float,
    label: str,
    time_label: Callable[[datetime], str],
    unit: Callable[[float], str],
    limit: float | None = None,
) -> str:
    """One value per bucket on the fixed scale y_min..y_max as a line (a gap where a bucket has none).

    ``limit``: a dashed line at that value (the threshold a reader compares with).
    """
    first = start.timestamp()
    plot_h = HEIGHT - TOP - AXIS - 4
    plot = (float(LEFT), float(TOP), float(WIDTH - LEFT - RIGHT), float(plot_h))
    x0, top, w, h = plot
    span = y_max - y_min
    width = w / count

    def y(value: float) -> float:
        return y_of(value - y_min, span, top, h)

    out = [_frame(label, y_max, plot, f' data-y-min="{y_min!r}" data-step="{step!r}" data-start="{first!r}"')]
    out += _grid(span, plot, lambda v: unit(v + y_min))
    if limit is not None:
        out.append(
            f'<line x1="{_n(x0)}" x2="{_n(x0 + w)}" y1="{_n(y(limit))}" y2="{_n(y(limit))}" stroke="#c62828" '
            'stroke-dasharray="4 3"/>'
        )
    runs: list[list[str]] = []
    previous = None
    for ts, value in sorted(values):
        index = round((ts.timestamp() - first) / step)
        if not 0 <= index < count:
            continue
        cx, cy = _n(x0 + (index + 0.5) * width), _n(y(value))
        point = f"{cx},{cy}"
        if previous is None or index != previous + 1:
            runs.append([])
        runs[-1].append(point)
        previous = index
        out.append(
            f'<circle class="p" cx="{cx}" cy="{cy}" r="1.5" fill="#0b3d91" '
            f'data-ts="{ts.timestamp()!r}" data-value="{value!r}"/>'
        )
    out += [
        f'<polyline points="{" ".join(run)}" fill="none" stroke="#0b3d91" stroke-width="1.5"/>'
        for run in runs
        if len(run) > 1
    ]
    out += _time_axis(start, step, count, plot, time_label)
    out.append("</svg>")
    return "".join(out)


def verdict_strip(cells: Sequence[Cell], *, label: str, size: int = 24, gap: int = 4) -> str:
    """One square per briefing, oldest on the left, coloured by verdict, its text in the tooltip (<title>)."""
    width = max(len(cells) * (size + gap) - gap, size)
    out = [
        f'<svg class="strip" viewBox="0 0 {width} {size}" width="{width}" height="{size}" role="img" '
        f'aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg"><title>{_e(label)}</title>'
    ]
    for i, cell in enumerate(cells):
        colour = VERDICT_COLOURS.get(cell.verdict, "#d0d7de")
        square = (
            f'<rect x="{i * (size + gap)}" y="0" width="{size}" height="{size}" rx="4" fill="{colour}" '
            f'data-verdict="{_e(cell.verdict)}"><title>{_e(cell.title)}</title></rect>'
        )
        out.append(f'<a href="{_e(cell.href)}">{square}</a>' if cell.href else square)
    out.append("</svg>")
    return "".join(out)


def meter(ratio: float | None, *, label: str, limit: float | None = None) -> str:
    """A ratio (0..1) as a horizontal bar, red past ``limit``; an empty bar when unknown."""
    width, height = 200, 12
    filled = 0.0 if ratio is None else min(max(ratio, 0.0), 1.0) * width
    colour = "#c62828" if ratio is not None and limit is not None and ratio > limit else "#0b3d91"
    value = "" if ratio is None else f' data-value="{ratio!r}"'
    return (
        f'<svg class="meter" viewBox="0 0 {width} {height}" width="100%" height="{height}" role="img" '
        f'aria-label="{_e(label)}" preserveAspectRatio="none"{value} xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{width}" height="{height}" rx="3" fill="#eef1f5"/>'
        f'<rect width="{_n(filled)}" height="{height}" rx="3" fill="{colour}"/></svg>'
    )


__all__ = [
    "Bucket",
    "Cell",
    "line_chart",
    "loss_colour",
    "meter",
    "nice_ceiling",
    "smoke_chart",
    "value_of",
    "verdict_strip",
    "y_of",
]
