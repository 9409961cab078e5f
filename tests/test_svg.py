"""The site page's charts (monitor/web/svg.py) as pure functions: scales, colours, bounds, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from monitor.web.svg import (
    LOSS_COLOURS,
    Bucket,
    Cell,
    line_chart,
    loss_colour,
    meter,
    nice_ceiling,
    smoke_chart,
    value_of,
    verdict_strip,
    y_of,
)

START = datetime(2026, 12, 6, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0042, 0.005), (0.005, 0.005), (0.0051, 0.01), (0.019, 0.02), (0.021, 0.025), (0.3, 0.5), (7, 10), (0, 1.0)],
)
def test_nice_ceiling(value: float, expected: float) -> None:
    assert nice_ceiling(value) == pytest.approx(expected)


def test_scale_maps_back_and_clamps() -> None:
    for value in (0.0, 0.013, 0.05, 0.1):
        assert value_of(y_of(value, 0.1, 8, 120), 0.1, 8, 120) == pytest.approx(value)
    assert y_of(5.0, 0.1, 8, 120) == 8 and y_of(-1.0, 0.1, 8, 120) == 128  # off the scale: at its edge


def test_loss_colours_follow_smokeping_steps() -> None:
    assert loss_colour(0.0) == LOSS_COLOURS[0][1] and loss_colour(0.005) == LOSS_COLOURS[1][1]
    assert loss_colour(0.03) == LOSS_COLOURS[2][1] and loss_colour(0.5) == LOSS_COLOURS[4][1]
    assert loss_colour(None) == "#8c959f"


def _smoke(buckets: list[Bucket], label: str = "RTT") -> ET.Element:
    svg = smoke_chart(
        buckets, start=START, step=900, count=4, label=label, time_label=lambda m: f"{m:%H:%M}", rtt_unit=str
    )
    return ET.fromstring(svg)


def test_smoke_chart_draws_each_bucket_once_inside_its_range() -> None:
    inside = [
        Bucket(START + timedelta(minutes=15 * i), 3, 0.02 + i / 1000, ((0.01, 0.04), (0.015, 0.03)), 0.0)
        for i in range(4)
    ]
    outside = [Bucket(START - timedelta(minutes=15), 3, 0.9, ((0.5, 0.9),), 0.5)]
    svg = _smoke(inside + outside)
    groups = [g for g in svg.iter(f"{SVG}g") if g.attrib.get("class") == "b"]
    assert [float(g.attrib["data-median"]) for g in groups] == [0.02, 0.021, 0.022, 0.023]
    assert float(svg.attrib["data-y-max"]) == 0.05  # 0.04 × 1.05 rounded up; the bucket outside is left out
    smoke = [r for g in groups for r in g if r.attrib.get("class") == "smoke"]
    assert len(smoke) == 8 and {r.attrib["fill-opacity"] for r in smoke} == {".25", ".45"}
    xs = [float(next(r for r in g if r.attrib.get("class") == "median").attrib["x"]) for g in groups]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_a_bucket_with_every_round_lost_shows_its_loss_only() -> None:
    svg = _smoke([Bucket(START, 3, None, (), 1.0)])
    (group,) = [g for g in svg.iter(f"{SVG}g") if g.attrib.get("class") == "b"]
    assert [r.attrib["class"] for r in group] == ["loss"] and group.attrib["data-loss"] == "1.0"


def test_labels_are_escaped() -> None:
    svg = smoke_chart([], start=START, step=900, count=4, label='<script>"x"</script>', time_label=str, rtt_unit=str)
    assert "<script>" not in svg and ET.fromstring(svg).attrib["aria-label"] == '<script>"x"</script>'
    strip = verdict_strip([Cell("READY", "<b>Giao ban</b> & họp")], label="x")
    assert "<b>" not in strip and ET.fromstring(strip).find(f"{SVG}rect/{SVG}title").text == "<b>Giao ban</b> & họp"


def test_line_chart_breaks_at_gaps() -> None:
    values = [(START, 4.0), (START + timedelta(minutes=15), 4.2), (START + timedelta(minutes=45), 3.0)]
    svg = ET.fromstring(
        line_chart(values, start=START, step=900, count=4, y_min=1.0, y_max=4.5, label="MOS", time_label=str, unit=str)
    )
    assert len(list(svg.iter(f"{SVG}polyline"))) == 1  # the lone last point is a dot, not a line
    assert [float(c.attrib["data-value"]) for c in svg.iter(f"{SVG}circle")] == [4.0, 4.2, 3.0]


def test_meter_and_strip_shapes() -> None:
    bar = ET.fromstring(meter(0.9, label="in", limit=0.8))
    assert bar.attrib["data-value"] == "0.9" and list(bar)[1].attrib["fill"] == "#c62828"
    assert "data-value" not in ET.fromstring(meter(None, label="in")).attrib
    strip = ET.fromstring(verdict_strip([Cell("READY", "a"), Cell("NOT_READY", "b"), Cell("?", "c")], label="s"))
    assert [r.attrib["fill"] for r in strip.iter(f"{SVG}rect")] == ["#1a7f37", "#c62828", "#d0d7de"]
