"""Access to real peers and privileges for tests.

A test whose peer program or privilege is missing is skipped on a developer's machine and fails under
CI=true, so a skip can never hide a broken feature in CI (brief: "must fail under CI=true").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip outside CI; fail in CI."""
    if IN_CI:
        pytest.fail(f"required under CI=true but missing: {what}", pytrace=False)
    pytest.skip(f"missing: {what}")


def require_root() -> None:
    if os.geteuid() != 0:
        missing("root (network namespaces, raw sockets)")


def require_program(name: str) -> str:
    path = shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/sbin", "/usr/bin") if os.access(p := os.path.join(d, name), os.X_OK)),
        None,
    )
    if path is None:
        missing(f"program {name!r} (the test command installs it: bash tests/run.sh)")
        raise AssertionError  # unreachable: missing() raises
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """Stop a peer we started, by its PID: SIGTERM, then SIGKILL after ``grace``; close its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class LoopLag:
    """Watches the running event loop: ``worst`` is the longest it was late to wake a 10 ms sleeper."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - before - 0.01)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)  # running before the watched work starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
