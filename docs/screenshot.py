"""Take docs/board.png, the README's picture of the board: the demo district on a phone, after its first check.

Run: ``.venv/bin/python docs/screenshot.py`` (needs Debian's chromium and the test extras; loopback only).
Starts ``giaoban demo`` on a free port in a temporary folder, waits for the first readiness report, opens the
board in headless Chromium at 390×844 and saves the whole page; stops the demo by its PID.
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

from monitor.demo.inventory import MEETING_ID  # noqa: E402

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
            time.sleep(6)  # a second poll of every router, so utilisation shows in the link table
            asyncio.run(shoot(f"{base}/"))
        finally:
            demo.send_signal(signal.SIGTERM)
            demo.wait(30)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
