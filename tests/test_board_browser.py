"""What a person sees on the board of the running service, in headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import ViewportSize, async_playwright

from monitor.demo.inventory import MEETING_ID, MEETING_TITLE
from tests.peers import free_port, require_program
from tests.service_harness import ROOT, service_process, wait_http
from tests.test_board import XSS_SITE, board_config
from tests.test_demo import demo  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(120)

TOKEN = "bảng-thử"
ENV = "GIAOBAN_TEST_BOARD_TOKEN"
AUTH = {"Authorization": f"Bearer {TOKEN}".encode().decode("latin-1")}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOT = ROOT / "docs" / "board.png"


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    """`giaoban run` as a child process, with a token so the test can add a meeting and run its check."""
    port = free_port()
    config = tmp_path / "giaoban.yml"
    config.write_text(board_config(port, free_port(), token_env=ENV), encoding="utf-8")
    with service_process(config, env={ENV: TOKEN}):
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        yield url


async def _meeting_checked(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(minutes=30)
    body = {"title": "Giao ban trực tuyến sáng thứ Hai", "start": start.isoformat(), "duration": "2h"}
    async with http.post(f"{base}/api/v1/meetings", json=body, headers=AUTH) as response:
        assert response.status == 201, await response.text()
        meeting = (await response.json())["id"]
    async with http.post(f"{base}/api/v1/meetings/{meeting}/readiness", headers=AUTH) as response:
        assert response.status == 200, await response.text()
        report: dict[str, Any] = (await response.json())["report"]
    return report


async def _links_measured(http: aiohttp.ClientSession, base: str) -> None:
    """Wait for the scheduler's first round of every link, so the page (and its screenshot) is complete."""
    deadline = time.monotonic() + 15
    while True:
        async with http.get(base) as response:
            if "Chưa đo" not in await response.text():
                return
        assert time.monotonic() < deadline, "the links were never measured"
        await asyncio.sleep(0.1)


async def test_phone_sees_reason_in_vietnamese(base: str, tmp_path: Path) -> None:
    """A technician's phone shows who is not ready and why, in Vietnamese; hostile markup stays text; no side scroll."""
    chromium = require_program("chromium")
    async with aiohttp.ClientSession() as http:
        report = await _meeting_checked(http, base)
        await _links_measured(http, base)
    (not_ready,) = [site for site in report["sites"] if site["verdict"] == "NOT_READY"]
    assert not_ready["name"] == "Xã Lạng Động"
    reason = not_ready["reasons"][0]

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            page = await browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            blocked: list[str] = []
            page.on("console", lambda message: blocked.append(message.text) if message.type == "error" else None)
            response = await page.goto(base, wait_until="load")
            assert response is not None and response.status == 200

            assert await page.get_by_text(reason["message"]).is_visible()
            assert await page.get_by_text(reason["action"]).is_visible()
            assert await page.get_by_text("Chưa sẵn sàng", exact=False).first.is_visible()
            assert await page.get_by_text("Xã Lạng Động").first.is_visible()
            # Its link is up: in the compact list of links with nothing to act on (issue 14), as plain text.
            hostile = page.locator(".links .name").filter(has_text=XSS_SITE)
            assert await hostile.is_visible() and await hostile.inner_text() == XSS_SITE
            assert await page.evaluate("document.querySelectorAll('script, img').length") == 0
            assert dialogs == [] and blocked == []
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px wide"

            shot = tmp_path / "board-phone.png"
            await page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("GIAOBAN_UPDATE_SCREENSHOT"):  # tests never change tracked files unless asked
                SCREENSHOT.parent.mkdir(exist_ok=True)
                shutil.copyfile(shot, SCREENSHOT)

            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.screenshot(path=str(tmp_path / "board-desktop.png"), full_page=True)
            assert dialogs == []
        finally:
            await browser.close()


async def test_board_of_the_running_demo(demo: tuple[Any, str, Path], tmp_path: Path) -> None:  # noqa: F811
    """The demo's board: the unregistered codec of Xã Lam Vỹ shows its reason in Vietnamese, as a person sees it."""
    chromium = require_program("chromium")
    _, base, _ = demo
    report: dict[str, Any] | None = None
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while report is None:
            assert time.monotonic() < deadline, "the demo made no readiness report"
            try:
                async with http.get(f"{base}/api/v1/meetings/{MEETING_ID}/readiness") as response:
                    if response.status == 200:
                        report = (await response.json())["report"]
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    (lam_vy,) = [site for site in report["sites"] if site["site"] == "lam-vy"]
    assert lam_vy["verdict"] == "NOT_READY"
    reason = lam_vy["reasons"][0]
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True)
            response = await page.goto(base, wait_until="load")
            assert response is not None and response.status == 200
            assert await page.get_by_text(MEETING_TITLE).first.is_visible()
            assert await page.get_by_text(reason["message"]).is_visible()
            assert "chưa đăng ký" in reason["message"]
            assert await page.get_by_text(reason["action"]).is_visible()
            await page.screenshot(path=str(tmp_path / "demo-board-phone.png"), full_page=True)
        finally:
            await browser.close()
