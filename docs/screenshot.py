"""Take docs/board.png, the README's picture of the board: the demo province on a phone, after its first check.

Run: ``.venv/bin/python docs/screenshot.py`` (needs Debian's chromium and the test extras; loopback only).
Starts ``giaoban demo`` on a free port in a temporary folder, waits for the first readiness report and for a
utilisation of every router (two polls), opens the board in headless Chromium at 390×844 and saves the top of
the page; stops the demo by its PID.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.demo.inventory import INTERVAL, MEETING_ID, demo_plan  # noqa: E402

OUT = ROOT / "docs" / "board.png"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_report(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/meetings/{MEETING_ID}/readiness", timeout=2) as response:
                if json.load(response).get("report"):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("the demo made no readiness report in time")


def wait_for_rates(base: str) -> None:
    """Until every router has a measured utilisation, so the link table is complete."""
    routers = {site.router_id for site in demo_plan()}
    deadline = time.monotonic() + 2 * INTERVAL + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
            lines = response.read().decode().splitlines()
        measured = {
            line.split('target="', 1)[1].split('"', 1)[0]
            for line in lines
            if line.startswith("giaoban_interface_utilization_ratio{")
        }
        if routers <= measured:
            return
        time.sleep(1)
    raise SystemExit("the demo's routers were not all measured in time")


async def shoot(url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = await browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        await page.goto(url)
        await page.screenshot(path=str(OUT), full_page=False)
        await browser.close()


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        demo = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--listen", f"127.0.0.1:{port}", "--dir", folder],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_report(base)
            wait_for_rates(base)
            asyncio.run(shoot(f"{base}/"))
        finally:
            demo.send_signal(signal.SIGTERM)
            demo.wait(30)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
