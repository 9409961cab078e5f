"""Issue 18's acceptance, on the demo: a briefing in progress in which one commune drops out and one has 4 % loss.

`giaoban demo` runs as a child process with the briefing 30 s after its start and Xã Tân Cương leaving 30 s
into it (--meeting-in, --drop-after: the defaults, 3 and 2 minutes, would make the test needlessly long). The test
reads the notifications the demo's webhook received, the board's page of the meeting in headless Chromium
(Debian's), the attendance API and `giaoban meetings attendance`. The bound on how late a notification may
arrive (30 s after the event) is the issue's acceptance criterion, measured against the demo's own clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import ViewportSize, async_playwright

from monitor.demo.calls import DROPS_OUT, LOSSY
from monitor.demo.inventory import MEETING_ID, TOKEN_ENV, demo_plan
from tests.peers import free_port, require_program, stop_process

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parent.parent
MEETING_IN, DROP_AFTER = 30.0, 30.0
ACCEPTANCE = 30.0  # seconds from an event to its notification (issue 18)
PHONE: ViewportSize = {"width": 390, "height": 844}
PLAN = {site.code: site for site in demo_plan()}
DROPPED, LOSSY_SITE = PLAN[DROPS_OUT], PLAN[LOSSY]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    listen = f"127.0.0.1:{free_port()}"
    command = [
        sys.executable, "-m", "monitor", "demo", "--listen", listen, "--dir", str(tmp_path / "demo"),
        "--meeting-in", f"{MEETING_IN:g}", "--drop-after", f"{DROP_AFTER:g}",
    ]  # fmt: skip
    with open(tmp_path / "stdout.txt", "wb") as out, open(tmp_path / "stderr.txt", "wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, TOKEN_ENV: "t"}, stdout=out, stderr=err)
        try:
            yield f"http://{listen}", tmp_path / "demo"
        finally:
            stop_process(process)


def notifications(directory: Path) -> list[dict[str, Any]]:
    path = directory / "notifications.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def attendance(http: aiohttp.ClientSession, base: str) -> dict[str, Any] | None:
    try:
        async with http.get(f"{base}/api/v1/meetings/{MEETING_ID}/attendance") as response:
            return dict(await response.json()) if response.status == 200 else None
    except aiohttp.ClientError:
        return None


def firing(found: list[dict[str, Any]], alert: str) -> dict[str, Any] | None:
    return next((n for n in found if n.get("alert_id") == alert and n.get("event") == "firing"), None)


async def test_briefing_in_progress(demo: tuple[str, Path], tmp_path: Path) -> None:
    chromium = require_program("chromium")
    base, directory = demo
    dropped_alert = f"dropped_out/{DROPPED.id}/{MEETING_ID}"
    poor_alert = f"poor_media/{LOSSY_SITE.id}/{MEETING_ID}"
    deadline = time.monotonic() + MEETING_IN + DROP_AFTER + 120
    record: dict[str, Any] | None = None
    async with aiohttp.ClientSession() as http:
        while True:
            assert time.monotonic() < deadline, (
                f"no alerts of the meeting: {[n['alert_id'] for n in notifications(directory)]}"
            )
            found = notifications(directory)
            if firing(found, dropped_alert) and firing(found, poor_alert):
                record = await attendance(http, base)
                if record is not None and record["running"]:
                    break
            await asyncio.sleep(1.0)
    assert record is not None
    start = datetime.fromisoformat(record["occurrence_start"]).timestamp()
    found = notifications(directory)
    dropped, poor = firing(found, dropped_alert), firing(found, poor_alert)
    assert dropped is not None and poor is not None
    # The drop happens DROP_AFTER after the start (the demo bridge's schedule); the loss from the start, when the
    # commune joins.
    dropped_late = datetime.fromisoformat(dropped["received_at"]).timestamp() - (start + DROP_AFTER)
    poor_late = datetime.fromisoformat(poor["received_at"]).timestamp() - start
    print(f"notified {dropped_late:.1f} s after the drop-out, {poor_late:.1f} s after the loss began")
    assert 0 < dropped_late <= ACCEPTANCE
    assert 0 < poor_late <= ACCEPTANCE
    assert dropped["subject"].startswith(f"[NGHIÊM TRỌNG] {DROPPED.name} rời cuộc họp")
    assert {r["id"] for r in dropped["recipients"]} == {DROPPED.technician, "hoa"}
    assert "chiều vào 4%" in poor["text"]  # the codec's or the bridge's loss on what the commune receives

    # The record: attendance and media per site, through the API (live) and the CLI (stored).
    sites = {s["site"]: s for s in record["sites"]}
    assert sites[DROPPED.id]["state"] == "left" and sites[DROPPED.id]["left_at"] is not None
    assert sites[LOSSY_SITE.id]["state"] == "poor"
    worst = sites[LOSSY_SITE.id]["worst"]
    assert max(worst[k]["loss_ratio"] for k in worst if k.startswith("rx/")) == pytest.approx(0.04)
    link_down = next(site for site in PLAN.values() if site.fault == "link_down")
    assert sites[link_down.id]["state"] == "missing"
    connected = [s for s in sites.values() if s["state"] == "connected"]
    assert len(connected) == len(sites) - 3 and all(s["quality"] == "good" for s in connected)
    cli = subprocess.run(
        [sys.executable, "-m", "monitor", "meetings", "attendance", MEETING_ID, "-c", str(directory / "demo.yml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert f"✗ {DROPPED.name}: rời cuộc họp lúc" in cli.stdout
    assert f"! {LOSSY_SITE.name}: đã vào lúc" in cli.stdout and "mất gói 4%" in cli.stdout

    # The board, as a phone shows it: the meeting's card links to its page; both sites there, in both languages.
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True)
            await page.goto(base, wait_until="load")
            await page.get_by_text("Theo dõi trong cuộc họp").first.click()
            await page.wait_for_load_state("load")
            assert page.url.endswith(f"/meetings/{MEETING_ID}/live?lang=vi")
            left = page.locator("li.site.left", has_text=DROPPED.name)
            assert await left.is_visible()
            assert "rời cuộc họp lúc" in await left.inner_text()
            lossy = page.locator("li.site.poor", has_text=LOSSY_SITE.name)
            assert "mất gói 4%" in await lossy.inner_text() and "chiều vào" in await lossy.inner_text()
            await page.screenshot(path=str(tmp_path / "meeting-live-vi.png"), full_page=True)
            await page.get_by_text("English").click()
            await page.wait_for_load_state("load")
            assert "left the meeting at" in await page.locator("li.site.left", has_text=DROPPED.name).inner_text()
            lossy_en = await page.locator("li.site.poor", has_text=LOSSY_SITE.name).inner_text()
            assert "poor picture and sound: 4%" in lossy_en and "packet loss in" in lossy_en
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px wide"
        finally:
            await browser.close()
