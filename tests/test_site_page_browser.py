"""A site's page as a person sees it, in headless Chromium (Debian's): a phone at 390 px and a desktop at 1280 px.

The page is served by the service's routes over a simulated month of history (tests/site_lab.py). Screenshots
are kept in the test's temporary directory (pytest keeps the last runs'); GIAOBAN_UPDATE_SCREENSHOT=1 also
copies the top of the phone's to docs/site.png, the README's picture of a site page.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import FloatRect, ViewportSize, async_playwright

from monitor.web.app import make_app
from tests.peers import require_program
from tests.service_harness import ROOT
from tests.site_lab import NOW, SITE, site_lab

pytestmark = pytest.mark.timeout(120)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SCREENSHOT = ROOT / "docs" / "site.png"


async def test_site_page_on_a_phone_and_a_desktop(tmp_path: Path) -> None:
    chromium = require_program("chromium")
    lab = await site_lab(f"sqlite:///{tmp_path / 'giaoban.db'}")
    client = TestClient(TestServer(make_app(lab, clock=NOW.timestamp)))
    await client.start_server()
    try:
        url = str(client.make_url(f"/sites/{SITE}"))
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"], headless=True
            )
            try:
                page = await browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
                errors: list[str] = []
                page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
                requests: list[str] = []
                page.on("request", lambda request: requests.append(request.url))
                response = await page.goto(url, wait_until="load")
                assert response is not None and response.status == 200
                assert await page.get_by_role(
                    "heading", name="Độ trễ (trung vị và độ phân tán) và mất gói · 24 giờ qua"
                ).is_visible()
                assert await page.get_by_text("Đang chạy pin", exact=True).is_visible()
                assert await page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
                assert requests == [url] and errors == []  # nothing fetched from anywhere else, no CSP refusal
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px wide"
                # The charts fill the phone's width, and the RTT chart's time labels stay legible (≥ 9 px).
                boxes = await page.evaluate(
                    "[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width)"
                )
                assert len(boxes) == 6 and all(300 <= w <= 390 for w in boxes), boxes
                tick = await page.evaluate("document.querySelector('svg.chart .tick').getBoundingClientRect().height")
                assert tick >= 9, tick
                shot = tmp_path / "site-phone.png"
                await page.screenshot(path=str(shot), full_page=True)
                # The README's picture: from the top to the end of the 24 h chart.
                bottom = await page.evaluate("document.querySelector('#range-24h').getBoundingClientRect().bottom")
                top_part = tmp_path / "site-phone-top.png"
                clip: FloatRect = {"x": 0, "y": 0, "width": PHONE["width"], "height": bottom + 8}
                await page.screenshot(path=str(top_part), clip=clip, full_page=True)
                if os.environ.get("GIAOBAN_UPDATE_SCREENSHOT"):  # tests never change tracked files unless asked
                    shutil.copyfile(top_part, SCREENSHOT)

                await page.set_viewport_size(DESKTOP)
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= DESKTOP["width"]
                columns = await page.evaluate(
                    "new Set([...document.querySelectorAll('.charts > .range')].map(e => e.offsetLeft)).size"
                )
                assert columns >= 2  # on a wide screen the ranges sit side by side
                await page.screenshot(path=str(tmp_path / "site-desktop.png"), full_page=True)
                assert (tmp_path / "site-phone.png").stat().st_size > 10_000
            finally:
                await browser.close()
    finally:
        await client.close()
        await lab.storage.close()
