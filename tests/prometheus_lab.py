"""A real Prometheus on a free loopback port, and its query API: shared by the tests that scrape giaoban with it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.peers import free_port, stop_process
from tests.service_harness import wait_http


@contextlib.contextmanager
def running_prometheus(binary: str, config: Path, data: Path) -> Iterator[str]:
    """Prometheus with ``config``, its TSDB in ``data``; yields its base URL once /-/ready answers."""
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # never read: a pipe would fill and stall Prometheus
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def query(base: str, promql: str) -> list[dict[str, Any]]:
    """An instant query's result vector."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
