"""A site's page (GET /sites/{id}): the plotted points are the history's, bounded, in both languages, 404 in kind.

The history is a simulated month (tests/site_lab.py) on SQLite and PostgreSQL; the page is read back as XML
(each chart is well-formed SVG) and every bucket's numbers — and the geometry that draws them — compared with
the rows inserted (the last 24 h, raw rows: quantiles of the rounds' medians) and with /api/v1/sites/{id}/history
at the same step (7 d and 30 d, raw and hourly rows).
"""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.storage.summaries import quantile_index
from monitor.web.api_v1 import make_api_v1
from monitor.web.app import make_app
from monitor.web.board import BoardData, LinkView, render
from monitor.web.site_page import RANGES, bounds, collect
from monitor.web.site_page import render as render_site
from monitor.web.svg import value_of
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)
from tests.site_lab import NOW, SITE, SiteLab, site_lab

pytestmark = pytest.mark.timeout(120)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def lab(database_url: str) -> AsyncIterator[tuple[SiteLab, TestClient[web.Request, web.Application]]]:
    service = await site_lab(database_url)
    app = make_app(service, clock=NOW.timestamp)
    app.add_subapp("/api/v1", make_api_v1(storage=service.storage, config=lambda: service.config, state=service.state))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield service, client
    finally:
        await client.close()
        await service.storage.close()


def charts(page: str, css: str = "chart") -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(rf'<svg class="{css}".*?</svg>', page, flags=re.S)]


def plotted(svg: ET.Element) -> dict[float, dict[str, str]]:
    return {float(g.attrib["data-ts"]): g.attrib for g in svg.iter(f"{SVG}g") if g.attrib.get("class") == "b"}


def quantile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[quantile_index(len(ordered), percent)]


async def test_the_plotted_points_are_the_history_rows(lab: tuple[SiteLab, TestClient[web.Request, web.Application]]):
    service, client = lab
    response = await client.get(f"/sites/{SITE}")
    assert response.status == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    page = await response.text()
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    smoke = [svg for svg in charts(page) if "data-count" in svg.attrib]
    assert len(smoke) == len(RANGES)

    # 24 h: every 15-minute bucket against the rows inserted (raw rows, a round every 5 minutes).
    day = RANGES[0]
    start, end = bounds(day, NOW)
    expected: dict[float, list[dict[str, object]]] = {}
    for row in service.rows:
        if start.timestamp() * 1000 <= row["ts"] < end.timestamp() * 1000:
            bucket = row["ts"] // 1000 // int(day.step) * int(day.step)
            expected.setdefault(float(bucket), []).append(row)
    got = plotted(smoke[0])
    assert set(got) == set(expected) and len(got) <= day.count
    y_max = float(smoke[0].attrib["data-y-max"])
    _, top, _, height = map(float, smoke[0].attrib["data-plot"].split())
    for ts, rows in expected.items():
        attrs = got[ts]
        medians = [float(r["rtt_median"]) for r in rows if r["rtt_median"] is not None]
        assert attrs["data-src"] == "raw"
        assert int(attrs["data-samples"]) == len(rows)
        assert float(attrs["data-loss"]) == pytest.approx(sum(float(r["loss_ratio"]) for r in rows) / len(rows))
        if not medians:  # every round of the bucket lost: its loss only
            assert "data-median" not in attrs and float(attrs["data-loss"]) == 1.0
            continue
        assert float(attrs["data-median"]) == quantile(medians, 50)
        assert (float(attrs["data-lo"]), float(attrs["data-hi"])) == (quantile(medians, 10), quantile(medians, 90))
    # The geometry says the same: each median bar's centre maps back to its value on the chart's scale.
    for group in smoke[0].iter(f"{SVG}g"):
        bar = next((r for r in group if r.attrib.get("class") == "median"), None)
        if bar is not None:
            back = value_of(float(bar.attrib["y"]) + 1, y_max, top, height)
            assert back == pytest.approx(float(group.attrib["data-median"]), abs=y_max * 0.01 / height + 1e-9)

    # 7 d and 30 d: every bucket against the history API at the same step (hourly rows beyond 2 days, raw after).
    for rng, svg in zip(RANGES[1:], smoke[1:], strict=True):
        start, end = bounds(rng, NOW)
        query = {"since": start.isoformat(), "until": end.isoformat(), "step": f"{int(rng.step)}s"}
        api = await (await client.get(f"/api/v1/sites/{SITE}/history", params=query)).json()
        points: dict[float, list[dict[str, object]]] = {}
        for point in api["points"]:
            if point["target"] == f"{SITE}/link":
                points.setdefault(datetime.fromisoformat(point["ts"]).timestamp(), []).append(point)
        got = plotted(svg)
        assert set(got) == set(points) and len(got) <= rng.count
        assert {a["data-src"] for a in got.values()} == {"raw", "hourly"}, rng
        for ts, same in points.items():
            samples = sum(int(p["samples"]) for p in same)
            attrs = got[ts]
            assert int(attrs["data-samples"]) == samples
            loss = sum(float(p["loss"]) * int(p["samples"]) for p in same) / samples
            assert float(attrs["data-loss"]) == pytest.approx(loss)
            if attrs["data-src"] == "hourly":
                rtts = [(float(p["rtt_avg"]), int(p["samples"])) for p in same if p["rtt_avg"] is not None]
                mean = sum(v * n for v, n in rtts) / sum(n for _, n in rtts)
                assert float(attrs["data-median"]) == pytest.approx(mean)
                assert float(attrs["data-lo"]) == min(float(p["rtt_min"]) for p in same if p["rtt_min"] is not None)
        # Raw buckets of these ranges are the quantiles of the rows kept raw (30-minute and 5-minute rounds).
        for ts, attrs in got.items():
            if attrs["data-src"] == "raw" and "data-median" in attrs:
                medians = [
                    float(r["rtt_median"])
                    for r in service.rows
                    if ts * 1000 <= r["ts"] < (ts + rng.step) * 1000 and r["rtt_median"] is not None
                ]
                assert float(attrs["data-median"]) == quantile(medians, 50)


async def test_page_texts_strip_and_bounds(lab: tuple[SiteLab, TestClient[web.Request, web.Application]]) -> None:
    _, client = lab
    page = await (await client.get(f"/sites/{SITE}")).text()
    assert '<html lang="vi">' in page and "Độ trễ (trung vị và độ phân tán)" in page and "30 ngày qua" in page
    assert "Bộ lưu điện ups1 đang chạy pin" in page and 'id="alert-ups_on_battery/tan-thinh/ups1"' in page
    assert "Bộ định tuyến r1" in page and "Bộ lưu điện ups1" in page and "Thiết bị hội nghị codec" in page
    text = " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S)).split())
    assert "Đường truyền Hoạt động Mất gói 0 % · Độ trễ 23 ms · Jitter 3 ms · MOS 4,3" in text  # the latest round
    assert "Bộ định tuyến r1 Hoạt động hoạt động liên tục 3 ngày 1 giờ" in text
    assert "Bộ lưu điện ups1 Đang chạy pin còn 25 phút" in text
    assert "Thiết bị hội nghị codec Mất kết nối connection refused" in text
    (receive, transmit) = [float(m) for m in re.findall(r'class="meter"[^>]*data-value="([0-9.]+)"', page)]
    assert (receive, transmit) == (0.62, 0.18) and "62 %" in text and "18 %" in text
    (strip,) = charts(page, "strip")
    verdicts = [r.attrib["data-verdict"] for r in strip.iter(f"{SVG}rect")]
    assert verdicts == ["READY", "NOT_READY", "DEGRADED"]  # oldest first
    assert "Mất kết nối" in page  # the latest briefing's reason
    # A month of history is drawn with a fixed number of buckets, whatever it holds.
    for svg, rng in zip((s for s in charts(page) if "data-count" in s.attrib), RANGES, strict=True):
        assert len(plotted(svg)) <= rng.count == int(svg.attrib["data-count"])

    english = await (await client.get(f"/sites/{SITE}?lang=en")).text()
    assert '<html lang="en">' in english and "Round-trip time (median and spread)" in english
    assert "Router r1" in english and "UPS ups1" in english

    for lang, words in (("vi", "Không có điểm cầu này"), ("en", "No such site")):
        missing = await client.get("/sites/%3Cscript%3E", params={"lang": lang})
        assert missing.status == 404
        body = await missing.text()
        assert words in body and "&lt;script&gt;" in body and "<script>" not in body
    assert not math.isnan(float(charts(page)[0].attrib["data-y-max"]))


async def test_names_and_titles_are_text(lab: tuple[SiteLab, TestClient[web.Request, web.Application]]) -> None:
    service, _ = lab
    site = service.config.site(SITE)
    assert site is not None
    data = await collect(service, site, NOW)
    hostile = dataclasses.replace(data, site=site.model_copy(update={"name": "<script>alert(1)</script>"}))
    page = render_site(hostile, lang="vi", refresh=30)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_every_site_on_the_board_links_to_its_page() -> None:
    from monitor.config.loader import load_config_text
    from tests.site_lab import CONFIG_TEXT

    config = load_config_text(CONFIG_TEXT, "t.yml")
    links = [LinkView(site, None, config.thresholds_for(site)) for site in config.sites if site.link is not None]
    page = render(BoardData(config, NOW, [], links, []), lang="vi", refresh=30)
    assert 'href="sites/hub?lang=vi"' in page and 'href="sites/tan-thinh?lang=vi"' in page
    english = render(BoardData(config, datetime.now(UTC), [], links, []), lang="en", refresh=30)
    assert 'href="sites/tan-thinh?lang=en"' in english


def test_every_text_exists_in_both_languages_and_the_vietnamese_has_no_english() -> None:
    from monitor.web.site_texts import TEXTS
    from tests.test_vi_texts import english_words

    assert set(TEXTS["vi"]) == set(TEXTS["en"])
    mixed = {key: words for key, value in TEXTS["vi"].items() if (words := english_words(value))}
    assert mixed == {}
