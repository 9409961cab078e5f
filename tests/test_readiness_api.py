"""Readiness through the running service (GET/POST /api/v1/meetings/{id}/readiness, /metrics) and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.app.service import Service
from monitor.engine.ownership import default_agent_name
from monitor.readiness.report import ReadinessReport
from tests.peers import free_port
from tests.service_harness import ROOT, loopback_config, running_service

pytestmark = pytest.mark.timeout(90)

TOKEN = "bí-mật-thử"
ENV = "GIAOBAN_TEST_READINESS_TOKEN"
AUTH = {"Authorization": f"Bearer {TOKEN}".encode().decode("latin-1")}
READINESS = "readiness: {lead_times: [60m], icmp_count: 3, tick: 1s}\n"


@pytest.fixture
async def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Service, str]]:
    monkeypatch.setenv(ENV, TOKEN)
    port = free_port()
    config = tmp_path / "giaoban.yml"
    config.write_text(loopback_config(port, token_env=ENV, extra=READINESS), encoding="utf-8")
    async with running_service(config) as running:
        yield running, f"http://127.0.0.1:{port}"


async def _meeting(http: aiohttp.ClientSession, base: str, start: datetime) -> str:
    body = {"title": "Giao ban sáng thứ Hai", "start": start.isoformat(), "duration": "1h", "sites": "all"}
    async with http.post(f"{base}/api/v1/meetings", json=body, headers=AUTH) as response:
        assert response.status == 201, await response.text()
        meeting_id: str = (await response.json())["id"]
        return meeting_id


async def test_readiness_through_the_api(service: tuple[Service, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A meeting within its first lead time is checked by the service on its own; POST checks again on demand."""
    _, base = service
    async with aiohttp.ClientSession() as http:
        meeting = await _meeting(http, base, datetime.now(UTC) + timedelta(minutes=30))
        url = f"{base}/api/v1/meetings/{meeting}/readiness"
        async with http.post(url) as response:
            assert response.status == 401
        async with http.get(f"{base}/api/v1/meetings/nope/readiness") as response:
            assert (response.status, (await response.json())["field"]) == (404, "id")
        async with http.post(url, headers=AUTH) as response:
            assert response.status == 200, await response.text()
            report = (await response.json())["report"]
        verdicts = {site["site"]: site["verdict"] for site in report["sites"]}
        assert verdicts == {"hub": "READY", "tan-thinh": "READY"}, report
        assert (report["sites_ready"], report["sites_total"], report["not_ready"]) == (2, 2, [])
        encoded = []
        to_json = ReadinessReport.to_json
        monkeypatch.setattr(ReadinessReport, "to_json", lambda self: encoded.append(1) or to_json(self))
        async with http.get(url) as response:
            shown = (await response.json())["report"]
        assert shown["id"] >= report["id"]
        async with http.get(url) as response:  # nothing new: the join and the text of the first answer
            assert (await response.json())["report"] == shown
        assert len(encoded) <= 1
        async with http.get(f"{base}/metrics") as response:
            metrics = await response.text()
    assert f'giaoban_meeting_site_ready{{meeting="{meeting}",site="tan-thinh"}} 1.0' in metrics
    assert f'giaoban_meeting_sites{{meeting="{meeting}"}} 2.0' in metrics
    agent = default_agent_name()  # no --agent-name: the host name
    assert (
        f'giaoban_site_info{{site="tan-thinh",parent="hub",role="commune",code="",lat="",lon="",agent="{agent}"}} 1.0'
        in metrics
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "readiness", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_sites_now(tmp_path: Path) -> None:
    """`giaoban readiness --sites all --now`: exit 1 and the reason in Vietnamese when a site is not ready."""
    config = tmp_path / "giaoban.yml"
    # Nothing listens on the service's port here: the hub's endpoints are down, the commune's link is up.
    config.write_text(loopback_config(free_port(), extra=READINESS), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'g.db'}"
    done = _cli("--sites", "all", "--now", "-c", str(config), "--database", db)
    assert done.returncode == 1, done.stderr
    assert "Chưa sẵn sàng" in done.stdout and "UBND huyện Thử" in done.stdout
    assert "không trả lời" in done.stdout and "cần làm:" in done.stdout
    done = _cli("--sites", "tan-thinh", "--now", "--json", "-c", str(config), "--database", db)
    assert done.returncode == 1, done.stderr
    (site,) = json.loads(done.stdout)["sites"]
    # Its link (127.0.0.2) answers; its endpoint (the absent service's port) does not.
    assert [r["code"] for r in site["reasons"]] == ["endpoint_down"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name a meeting"),
        (("--sites", "all"), "add --now"),
        (("--sites", "nowhere", "--now"), "no site nowhere"),
        (("ghost",), "Không có cuộc họp ghost"),
    ],
    ids=["nothing", "sites-without-now", "unknown-site", "unknown-meeting"],
)
def test_cli_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """Bad usage exits 2 with a message saying what to write."""
    config = tmp_path / "giaoban.yml"
    config.write_text(loopback_config(free_port(), extra=READINESS), encoding="utf-8")
    done = _cli(*args, "-c", str(config), "--database", f"sqlite:///{tmp_path / 'g.db'}")
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
