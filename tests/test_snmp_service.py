"""SNMP through the running service: device targets from the inventory, series on /metrics, promtool-clean."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.peers import free_port, require_program
from tests.service_harness import ROOT, running_service
from tests.snmpd_lab import COMMUNITY, Snmpd


def inventory(service_port: int, agent: Snmpd) -> str:
    return f"""\
district: {{name: "Huyện Thử"}}
listen: "127.0.0.1:{service_port}"
defaults: {{interval: 1s, icmp: {{count: 2, interval: 10ms, timeout: 300ms}}}}
sites:
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    link: {{address: 127.0.0.1, device: router, interface: lo, bandwidth: 10Mbit}}
    devices:
      - id: router
        address: {agent.address}
        snmp: {{version: 2c, port: {agent.port}, community: {{env: GIAOBAN_TEST_COMMUNITY}}, ups: true}}
"""


async def scrape(
    session: aiohttp.ClientSession, port: int
) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, values


async def test_device_series_from_a_real_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The link's router is polled: up, uptime, the link interface's counters and utilisation, UPS state."""
    monkeypatch.setenv("GIAOBAN_TEST_COMMUNITY", COMMUNITY)
    promtool = require_program("promtool")
    with Snmpd(tmp_path / "snmpd", ups=True) as agent:
        agent.set_ups({"output_source": 5, "minutes_remaining": 42, "battery_status": 2})
        port = free_port()
        path = tmp_path / "giaoban.yml"
        path.write_text(inventory(port, agent), encoding="utf-8")
        device = (("site", "tan-thinh"), ("target", "router"))
        lo = (("interface", "lo"), *device)
        async with running_service(path), aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 30
            while True:  # utilisation needs two polls at least 5 s apart (net-snmp caches counters for 3 s)
                text, values = await scrape(session, port)
                key = ("giaoban_interface_utilization_ratio", tuple(sorted((*lo, ("direction", "in")))))
                if key in values:
                    break
                assert time.monotonic() < deadline, text[-3000:]
                await asyncio.sleep(0.2)
    assert values[("giaoban_device_up", device)] == 1
    assert values[("giaoban_device_uptime_seconds", device)] > 0
    assert values[("giaoban_interface_oper_up", tuple(sorted(lo)))] == 1
    assert values[("giaoban_interface_receive_bytes_total", tuple(sorted(lo)))] > 0
    assert values[("giaoban_interface_speed_bytes", tuple(sorted(lo)))] == 10_000_000 / 8  # the link's bandwidth
    assert 0 <= values[key] < 1
    assert values[("giaoban_ups_on_battery", device)] == 1
    assert values[("giaoban_ups_runtime_seconds", device)] == 42 * 60
    assert COMMUNITY not in text
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stderr.decode()


async def test_silent_agent_is_device_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No agent behind the address: giaoban_device_up 0, and no stale interface series."""
    monkeypatch.setenv("GIAOBAN_TEST_COMMUNITY", COMMUNITY)
    silent = Snmpd(tmp_path / "silent")  # configured, never started: its port answers nothing
    port = free_port()
    path = tmp_path / "giaoban.yml"
    path.write_text(inventory(port, silent).replace("ups: true", "ups: false, timeout: 200ms, retries: 0"), "utf-8")
    device = (("site", "tan-thinh"), ("target", "router"))
    async with running_service(path), aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 15
        while ("giaoban_device_up", device) not in (values := (await scrape(session, port))[1]):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    assert values[("giaoban_device_up", device)] == 0
    assert not any(name.startswith("giaoban_interface_") for name, _ in values)


def test_cli_probe_names_secrets_by_source(tmp_path: Path) -> None:
    """`giaoban probe snmp` takes --community env:NAME and prints the summary; a bare value is refused."""
    with Snmpd(tmp_path / "snmpd") as agent:
        env = {**os.environ, "GIAOBAN_TEST_COMMUNITY": COMMUNITY}
        ok = subprocess.run(
            [sys.executable, "-m", "monitor", "probe", "snmp", agent.target,
             "--community", "env:GIAOBAN_TEST_COMMUNITY", "--interfaces", "lo"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        bare = subprocess.run(
            [sys.executable, "-m", "monitor", "probe", "snmp", agent.target, "--community", COMMUNITY],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "sys_name" in ok.stdout and "lab-snmpd" in ok.stdout and "interface lo" in ok.stdout
    assert bare.returncode == 2 and "env:NAME or file:PATH" in bare.stderr
