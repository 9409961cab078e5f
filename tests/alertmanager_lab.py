"""A real Alertmanager (Debian's prometheus-alertmanager) on a free 127.0.0.1 port, with a webhook sink.

As measured here: no cluster port (``--cluster.listen-address=``), storage in a temporary folder, and a route with
``group_wait: 0s`` / ``group_interval: 1s`` so a pushed alert reaches the webhook within milliseconds and a
resolve within about a second. Any Alertmanager config can be given (to test the shipped inhibit rules, say);
``$WEBHOOK_URL`` in it is replaced with the sink's address::

    async with alertmanager_lab(tmp_path, config=MY_CONFIG) as lab:
        await push(lab.url, ...)
        alert = await lab.sink.wait_for_alert(status="firing", site="tan-thinh")
        assert not lab.sink.alerts(site="child")   # e.g. inhibited

The sink records every Alertmanager webhook payload (``version: "4"``) in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.clock import wait_until
from tests.peers import free_port, require_program, stop_process

WEBHOOK_URL = "$WEBHOOK_URL"

# Every alert is its own group ('...' = group by all labels), so each one arrives on its own.
DEFAULT_CONFIG = f"""\
route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: {WEBHOOK_URL}
        send_resolved: true
"""


@dataclass
class WebhookSink:
    """Records Alertmanager's webhook payloads; waiters are woken on each one."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        async with self._arrived:
            self.payloads.append(payload)
            self._arrived.notify_all()
        return web.Response(text="ok")

    def alerts(self, status: str | None = None, **labels: str) -> list[dict[str, Any]]:
        """Every alert received so far (from all payloads) with ``status`` and these label values."""
        return [
            alert
            for payload in self.payloads
            for alert in payload.get("alerts", [])
            if (status is None or alert.get("status") == status)
            and all(alert.get("labels", {}).get(name) == value for name, value in labels.items())
        ]

    async def wait_for(self, found: Callable[[], list[dict[str, Any]]], timeout: float = 20.0) -> dict[str, Any]:
        """The first item ``found()`` returns, waiting for payloads up to ``timeout`` seconds."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: bool(found()))
            return found()[0]

    async def wait_for_alert(self, status: str = "firing", timeout: float = 20.0, **labels: str) -> dict[str, Any]:
        return await self.wait_for(lambda: self.alerts(status, **labels), timeout)


@dataclass(frozen=True)
class AlertmanagerLab:
    url: str  # http://127.0.0.1:PORT, Alertmanager's base URL
    sink: WebhookSink
    config_file: Path
    log_file: Path


@contextlib.asynccontextmanager
async def alertmanager_lab(directory: Path, config: str = DEFAULT_CONFIG) -> AsyncIterator[AlertmanagerLab]:
    """Start the sink and Alertmanager with ``config`` (``$WEBHOOK_URL`` filled in); stop both on exit."""
    program = require_program("prometheus-alertmanager")
    sink = WebhookSink()
    app = web.Application()
    app.router.add_post("/hook", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sink_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sink_port).start()
    process: subprocess.Popen[bytes] | None = None
    try:
        config_file = directory / "alertmanager.yml"
        config_file.write_text(config.replace(WEBHOOK_URL, f"http://127.0.0.1:{sink_port}/hook"), encoding="utf-8")
        log_file = directory / "alertmanager.log"
        port = free_port()
        process = _spawn(
            [
                program,
                f"--config.file={config_file}",
                f"--storage.path={directory / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip port: a single, private instance
            ],
            log_file,
        )
        url = f"http://127.0.0.1:{port}"
        await _until_ready(process, url, log_file)
        yield AlertmanagerLab(url=url, sink=sink, config_file=config_file, log_file=log_file)
    finally:
        if process is not None:
            stop_process(process)
        await runner.cleanup()


def _spawn(command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """Start a peer with its output in ``log_file`` (Popen returns at once; stop it with stop_process)."""
    with log_file.open("wb") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


async def _until_ready(process: subprocess.Popen[bytes], url: str, log_file: Path, timeout: float = 15.0) -> None:
    async with aiohttp.ClientSession() as session:

        async def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"alertmanager exited with {process.returncode}:\n{log_file.read_text()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/-/ready") as response:
                    return response.status == 200
            return False

        await wait_until(
            ready, timeout=timeout, what=lambda: f"alertmanager to be ready:\n{log_file.read_text()}", every=0.05
        )


def amtool_check_config(config_file: Path) -> subprocess.CompletedProcess[str]:
    """``amtool check-config`` on a file (exit 0 when Alertmanager would load it)."""
    amtool = require_program("amtool")
    return subprocess.run([amtool, "check-config", str(config_file)], capture_output=True, text=True, timeout=30)
