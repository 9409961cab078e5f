"""Start the real service for a test: in-process (Service.run) or as a `giaoban run` subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from monitor.app.service import Service
from monitor.config.loader import load_config
from monitor.storage.database import Storage
from probes.context import probe_context
from tests.peers import stop_process

ROOT = Path(__file__).resolve().parent.parent


def loopback_config(
    port: int, *, extra: str = "", token_env: str | None = None, interval: str = "1s", probe: str = ""
) -> str:
    """A small inventory on loopback: a hub and two communes, the service probing itself over HTTP and TCP.

    ``probe``: a ``probe:`` section (YAML, top level), e.g. to open /probe's allow-list to 127.0.0.0/8.
    """
    api = f"api: {{token: {{env: {token_env}}}}}\n" if token_env else ""
    api += f"{probe.rstrip()}\n" if probe else ""
    return f"""\
district: {{name: "Huyện Thử", timezone: Asia/Ho_Chi_Minh, locale: vi}}
listen: "127.0.0.1:{port}"
defaults:
  interval: {interval}
  icmp: {{count: 3, interval: 20ms, timeout: 500ms}}
{api}sites:
  - id: hub
    name: "UBND huyện Thử"
    role: district
    link: {{address: 127.0.0.1}}
    endpoints:
      - {{id: self-http, kind: http, address: "http://127.0.0.1:{port}/-/healthy"}}
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    parent: hub
    link: {{address: 127.0.0.2}}
    endpoints:
      - {{id: self-tcp, kind: tcp, address: 127.0.0.1, port: {port}}}
{extra}"""


@contextlib.asynccontextmanager
async def running_service(config_file: Path) -> AsyncIterator[Service]:
    """The service in this event loop; stopped and awaited on exit."""
    config = load_config(config_file, resolve_secrets=True)
    stop = asyncio.Event()
    storage = await Storage.open(config.database or f"sqlite:///{config_file.parent / 'giaoban-test.db'}")
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(storage.close)
        ctx = await cleanup.enter_async_context(probe_context())
        service = Service(config_file, config, ctx=ctx, storage=storage)
        task = asyncio.create_task(service.run(stop))
        deadline = time.monotonic() + 10
        while not service.ready:
            if task.done():
                task.result()  # raises what made it stop
            assert time.monotonic() < deadline, "service did not become ready"
            await asyncio.sleep(0.02)
        try:
            yield service
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def wait_http(url: str, *, timeout: float = 15.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == status:
                    return
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the open response: a 503 while the peer starts
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s: {last}")


@contextlib.contextmanager
def service_process(config_file: Path, *, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m monitor run -c FILE` as a child; SIGTERM'd by its PID on exit if still running."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "run",
            "-c",
            str(config_file),
            "--database",
            f"sqlite:///{config_file.parent / 'giaoban-test.db'}",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the service's own clean shutdown path, then stop_process's
        stop_process(process)
