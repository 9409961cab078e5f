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
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from monitor.app.service import Service
from monitor.config.loader import load_config
from monitor.storage.database import Storage
from probes.context import probe_context
from tests.clock import wait_until, wait_until_blocking
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
async def running_service(config_file: Path, *, clock: Callable[[], float] = time.time) -> AsyncIterator[Service]:
    """The service in this event loop (``clock``: its wall time, see Service); stopped and awaited on exit."""
    config = load_config(config_file, resolve_secrets=True)
    stop = asyncio.Event()
    storage = await Storage.open(config.database or f"sqlite:///{config_file.parent / 'giaoban-test.db'}")
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(storage.close)
        ctx = await cleanup.enter_async_context(probe_context())
        service = Service(config_file, config, ctx=ctx, storage=storage, clock=clock)
        task = asyncio.create_task(service.run(stop))

        def started() -> bool:
            if task.done():
                task.result()  # raises what made it stop
            return service.ready

        await wait_until(started, timeout=10, what="the service to become ready")
        try:
            yield service
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def wait_http(url: str, *, timeout: float = 15.0, status: int = 200) -> None:
    last: object = None

    def answered() -> bool:
        nonlocal last
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == status)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the open response: a 503 while the peer starts
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = exc
        return False

    wait_until_blocking(answered, timeout=timeout, what=lambda: f"{url} to answer {status} (last: {last})")


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
