"""The running service end to end on loopback: routes, /probe, token-protected reload, signals, shutdown."""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.app import service as service_module
from monitor.app.service import Service
from tests.clock import wait_until_blocking
from tests.peers import free_port, missing, require_program
from tests.service_harness import ROOT, loopback_config, running_service, service_process, wait_http

TOKEN = "t0ken-for-tests-\u0111"  # a non-ASCII character as well: compared as bytes


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


async def wait_for_sample(session: aiohttp.ClientSession, base: str, name: str, labels: dict[str, str]) -> float:
    key = tuple(sorted(labels.items()))
    deadline = time.monotonic() + 10
    while True:
        async with session.get(f"{base}/metrics") as response:
            found = samples(await response.text(), name)
        if key in found:
            return found[key]
        assert time.monotonic() < deadline, f"{name}{labels} never appeared; have {sorted(found)}"
        await asyncio.sleep(0.1)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIAOBAN_TEST_TOKEN", TOKEN)
    path = tmp_path / "giaoban.yml"
    path.write_text(loopback_config(free_port(), token_env="GIAOBAN_TEST_TOKEN"), encoding="utf-8")
    return path


def base_url(service: Service) -> str:
    return f"http://{service.listen}"


async def test_probes_run_and_metrics_are_served(config_file: Path) -> None:
    """Links and endpoints from the inventory are probed on schedule and exported on /metrics."""
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        base = base_url(service)
        async with session.get(f"{base}/-/healthy") as response:
            assert response.status == 200
        async with session.get(f"{base}/-/ready") as response:
            assert response.status == 200
        assert await wait_for_sample(session, base, "giaoban_link_up", {"site": "hub", "target": "127.0.0.1"}) == 1
        assert (
            await wait_for_sample(session, base, "giaoban_link_loss_ratio", {"site": "hub", "target": "127.0.0.1"}) == 0
        )
        web = {"site": "hub", "target": "self-http", "kind": "http"}
        assert await wait_for_sample(session, base, "giaoban_probe_success", web) == 1
        tcp = {"site": "tan-thinh", "target": "self-tcp", "kind": "tcp"}
        assert await wait_for_sample(session, base, "giaoban_probe_success", tcp) == 1
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
        assert TOKEN not in text


@pytest.mark.parametrize(
    ("query", "status", "expect"),
    [
        ("kind=icmp&target=127.0.0.1&count=2&interval=10ms", 200, "probe_success 1.0"),
        ("kind=icmp&target=127.0.0.1&count=2&debug=true", 200, "reason: ok"),
        ("kind=http&target=http://127.0.0.1:{port}/-/healthy", 200, "probe_http_status_code 200.0"),
        ("kind=http&target=http://127.0.0.1:{port}/nope", 200, "probe_success 0.0"),
        ("kind=tcp&target=127.0.0.1:{port}", 200, "probe_success 1.0"),
        ("kind=tcp&target=127.0.0.1:{closed}", 200, "probe_success 0.0"),
        ("kind=snmpx&target=127.0.0.1", 400, "kind must be one of"),
        ("kind=snmp&target=127.0.0.1", 400, "needs exactly one module of that kind"),
        ("kind=icmp", 400, "target is required"),
        ("kind=icmp&target=127.0.0.1&count=zero", 400, "count"),
        ("kind=icmp&target=127.0.0.1&colour=red", 400, "unknown option 'colour'"),
        ("kind=http&target=http://x/&bearer_token=abc", 400, "is a secret"),
        ("kind=icmp&target=127.0.0.1&deadline=-1s", 400, "deadline"),
    ],
    ids=[
        "icmp-ok",
        "icmp-debug",
        "http-ok",
        "http-404",
        "tcp-ok",
        "tcp-refused",
        "unknown-kind",
        "kind-without-module",
        "no-target",
        "bad-option-value",
        "unknown-option",
        "secret-in-url",
        "bad-deadline",
    ],
)
async def test_probe_endpoint(config_file: Path, query: str, status: int, expect: str) -> None:
    """/probe answers blackbox_exporter-style, and says what is wrong with a bad request."""
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        port = service.listen.rsplit(":", 1)[1]
        url = f"{base_url(service)}/probe?" + query.format(port=port, closed=free_port())
        async with session.get(url) as response:
            body = await response.text()
            assert response.status == status, body
        assert expect in body


async def test_probe_honours_scrape_timeout_header(config_file: Path) -> None:
    """Prometheus' scrape timeout bounds the probe, and an ICMP round shrinks to fit it rather than fail (issue 15)."""
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        if service.ctx.pinger is None:
            missing("ICMP permission (root, or net.ipv4.ping_group_range covering this group)")
        started = time.monotonic()
        url = f"{base_url(service)}/probe?kind=icmp&target=127.0.0.1&count=50&interval=100ms"
        async with session.get(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": "1"}) as response:
            body = await response.text()
        elapsed = time.monotonic() - started
        assert "probe_success 1.0" in body, body  # a round of 5 s, shrunk into the 0.5 s left
        sent = samples(body, "probe_icmp_packets_sent")[()]
        assert 1 <= sent < 50
        assert elapsed < 1.0, elapsed


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Basic " + TOKEN}, 401),
        ({"Authorization": "Bearer " + TOKEN}, 200),
    ],
    ids=["no-token", "wrong-token", "wrong-scheme", "right-token"],
)
async def test_reload_needs_the_token(config_file: Path, headers: dict[str, str], status: int) -> None:
    """POST /-/reload is a write: only the configured bearer token may trigger it."""
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        encoded = {k: v.encode().decode("latin-1") for k, v in headers.items()}
        async with session.post(f"{base_url(service)}/-/reload", headers=encoded) as response:
            assert response.status == status


async def test_writes_refused_without_a_configured_token(tmp_path: Path) -> None:
    """With no api.token in the config, writes are refused with a message saying how to enable them."""
    path = tmp_path / "giaoban.yml"
    path.write_text(loopback_config(free_port()), encoding="utf-8")
    async with running_service(path) as service, aiohttp.ClientSession() as session:
        async with session.post(f"{base_url(service)}/-/reload") as response:
            assert response.status == 403
            assert "api.token" in (await response.json())["error"]


async def test_reload_applies_a_good_file_and_keeps_running_on_a_bad_one(config_file: Path) -> None:
    """A new site appears after reload; a broken file is refused, the old inventory keeps running, the gauge says 0."""
    auth = {"Authorization": ("Bearer " + TOKEN).encode().decode("latin-1")}  # the UTF-8 bytes, as curl sends
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        base = base_url(service)
        port = int(service.listen.rsplit(":", 1)[1])
        extra = '  - {id: kim-phuong, name: "Xã Kim Phượng", parent: hub, link: {address: 127.0.0.3}}\n'
        config_file.write_text(loopback_config(port, token_env="GIAOBAN_TEST_TOKEN", extra=extra), encoding="utf-8")
        async with session.post(f"{base}/-/reload", headers=auth) as response:
            assert response.status == 200, await response.text()
        labels = {"site": "kim-phuong", "target": "127.0.0.3"}
        assert await wait_for_sample(session, base, "giaoban_link_up", labels) == 1
        assert await wait_for_sample(session, base, "giaoban_config_last_reload_successful", {}) == 1

        config_file.write_text("district: {name: x}\nsites:\n  - id: Bad Id\n", encoding="utf-8")
        async with session.post(f"{base}/-/reload", headers=auth) as response:
            assert response.status == 400
            problems = (await response.json())["problems"]
        assert any("sites[0]" in problem for problem in problems), problems
        assert await wait_for_sample(session, base, "giaoban_config_last_reload_successful", {}) == 0
        assert await wait_for_sample(session, base, "giaoban_link_up", labels) == 1  # still probing


async def test_reload_refuses_an_alias_bomb_and_keeps_serving(config_file: Path) -> None:
    """POST /-/reload shares the loader's bounds: 1 KB of nested aliases is a 400 with its position (issue 13)."""
    auth = {"Authorization": ("Bearer " + TOKEN).encode().decode("latin-1")}
    bomb = ROOT / "tests" / "config_cases" / "alias_bomb.yml"
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        base = base_url(service)
        config_file.write_text(bomb.read_text("utf-8"), encoding="utf-8")
        async with session.post(f"{base}/-/reload", headers=auth) as response:
            assert response.status == 400
            problems = (await response.json())["problems"]
        assert len(problems) == 1 and problems[0].startswith(f"{config_file}:11:10: <yaml>: alias *l4 ")
        assert await wait_for_sample(session, base, "giaoban_config_last_reload_successful", {}) == 0
        async with session.get(f"{base}/-/healthy") as response:
            assert response.status == 200


def test_sighup_reloads_and_sigterm_exits_zero(tmp_path: Path) -> None:
    """The real process: SIGHUP re-reads the file, SIGTERM cancels everything and exits 0."""
    port = free_port()
    path = tmp_path / "giaoban.yml"
    path.write_text(loopback_config(port, token_env="GIAOBAN_TEST_TOKEN"), encoding="utf-8")
    with service_process(path, env={"GIAOBAN_TEST_TOKEN": TOKEN}) as process:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        extra = '  - {id: kim-phuong, name: "Xã Kim Phượng", parent: hub, link: {address: 127.0.0.3}}\n'
        path.write_text(loopback_config(port, extra=extra, token_env="GIAOBAN_TEST_TOKEN"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)

        def loaded() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                return 'site="kim-phuong"' in response.read().decode()

        wait_until_blocking(loaded, timeout=10, what="SIGHUP to load the new site", every=0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert process.stdout is not None
        log = process.stdout.read().decode()
    assert "reloaded" in log and "stopped" in log
    assert "Traceback" not in log
    assert TOKEN not in log  # secrets never reach the logs


def test_bad_config_exits_2_with_positions(tmp_path: Path) -> None:
    """`giaoban run` on a broken inventory starts nothing and prints FILE:LINE:COL problems."""
    path = tmp_path / "broken.yml"
    path.write_text("district: {name: x}\nsites:\n  - {id: hub, name: Hub, colour: red}\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "-c", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 2
    assert f"{path}:3:" in run.stderr and "colour" in run.stderr


def test_metrics_pass_promtool_from_the_live_service(config_file: Path) -> None:
    """What a real scrape returns passes `promtool check metrics`."""
    promtool = require_program("promtool")

    async def scrape() -> bytes:
        async with running_service(config_file) as service, aiohttp.ClientSession() as session:
            base = base_url(service)
            await wait_for_sample(
                session, base, "giaoban_probe_success", {"site": "hub", "target": "self-http", "kind": "http"}
            )
            async with session.get(f"{base}/metrics") as response:
                return await response.read()

    text = asyncio.run(scrape())
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stderr.decode()


async def test_history_and_api_v1_through_the_service(config_file: Path) -> None:
    """Results flow scheduler → history writer → database → /api/v1, and survive a restart of the service."""
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        base = base_url(service)
        async with session.get(f"{base}/api/v1/sites") as response:
            sites = await response.json()
        assert response.status == 200, sites
        assert "tan-thinh" in json.dumps(sites, ensure_ascii=False)
        deadline = time.monotonic() + 15
        while True:
            await service.history.flush()
            async with session.get(f"{base}/api/v1/sites/tan-thinh/history") as response:
                history = await response.json()
            assert response.status == 200, history
            link_points = [p for p in history.get("points", []) if p["kind"] == "icmp"]
            if link_points:
                break
            assert time.monotonic() < deadline, history
            await asyncio.sleep(0.3)
        async with session.get(f"{base}/api/v1/status") as response:
            assert response.status == 200
        async with session.get(f"{base}/api/v1/openapi.json") as response:
            assert (await response.json())["openapi"].startswith("3.")
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        async with session.get(f"{base_url(service)}/api/v1/sites/tan-thinh/history") as response:
            again = await response.json()
    assert link_points[0]["loss"] == 0.0 and link_points[0]["rtt_avg"] is not None
    assert link_points[0]["availability"] == 1.0
    kept = [p for p in again.get("points", []) if p["kind"] == "icmp"]
    assert len(kept) >= len(link_points), "history did not survive the restart"


async def test_reload_with_the_database_gone_still_applies_the_inventory(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database fault during reload is logged; the new inventory is probed anyway and the reload counts."""
    async with running_service(config_file) as service, aiohttp.ClientSession() as session:
        port = int(service.listen.rsplit(":", 1)[1])
        extra = '  - {id: kim-phuong, name: "Xã Kim Phượng", parent: hub, link: {address: 127.0.0.3}}\n'
        config_file.write_text(loopback_config(port, token_env="GIAOBAN_TEST_TOKEN", extra=extra), encoding="utf-8")
        await service.storage.engine.dispose()
        service.storage.engine = create_async_engine("sqlite+aiosqlite:////nonexistent-dir/x.db")
        assert await service.reload() == []
        labels = {"site": "kim-phuong", "target": "127.0.0.3"}
        assert await wait_for_sample(session, base_url(service), "giaoban_link_up", labels) == 1
    assert "database could not be brought up to date" in caplog.text


async def test_what_the_started_targets_made_is_frozen_once_they_ran(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe tasks and what their first results made leave the collector's passes (issue 16): the service
    freezes once every target has run (its interval and timeout, at most SETTLE_LIMIT), again after a reload."""
    monkeypatch.setattr(service_module, "SETTLE_LIMIT", 2.0)  # the HTTP target's 10 s timeout would be the wait
    async with running_service(config_file) as service:
        settle = service._settle
        assert settle == 2.0
        before = gc.get_freeze_count()  # start-up froze the inventory before this
        await asyncio.sleep(settle + 1)
        assert gc.get_freeze_count() > before
        assert await service.reload() == []  # which freezes the new inventory as it loads
        before = gc.get_freeze_count()
        await asyncio.sleep(settle + 1)
        assert gc.get_freeze_count() > before
