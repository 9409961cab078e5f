"""A real Prometheus scrapes the running service: own metrics and blackbox-style multi-target /probe."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.peers import free_port, require_program
from tests.prometheus_lab import query, running_prometheus
from tests.service_harness import loopback_config, running_service


@contextlib.contextmanager
def prometheus(tmp_path: Path, service_port: int, *, rule_files: Sequence[Path] = ()) -> Iterator[str]:
    """A Prometheus scraping the service at ``service_port`` every second, evaluating ``rule_files`` as often."""
    binary = require_program("prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""\
global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}}
rule_files: {json.dumps([str(path) for path in rule_files])}
scrape_configs:
  - job_name: giaoban
    static_configs: [{{targets: ["127.0.0.1:{service_port}"]}}]
  # The stock blackbox_exporter multi-target recipe, pointed at giaoban's /probe.
  - job_name: giaoban-probe-icmp
    metrics_path: /probe
    params: {{kind: [icmp], count: ["3"], interval: [20ms]}}
    static_configs: [{{targets: ["127.0.0.1", "127.0.0.4"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{service_port}"}}
  # blackbox's own module names, a scheme-less http target, and the icmp module's round of 10 echoes 200 ms
  # apart, which must shrink into the 900 ms scrape timeout (issue 15).
  - job_name: giaoban-probe-module
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs: [{{targets: ["127.0.0.1:{service_port}/-/healthy"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{service_port}"}}
  - job_name: giaoban-probe-icmp-module
    metrics_path: /probe
    params: {{module: [icmp]}}
    static_configs: [{{targets: ["127.0.0.1"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{service_port}"}}
""",
        encoding="utf-8",
    )
    with running_prometheus(binary, config, tmp_path / "data") as base:
        yield base


def poll(base: str, promql: str, *, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Prometheus 2.42 makes the first sample queryable ~6 s after start (a fixed 5 s tick): poll, don't sleep."""
    deadline = time.monotonic() + timeout
    while True:
        result = query(base, promql)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


async def test_prometheus_scrapes_the_service(tmp_path: Path) -> None:
    """giaoban_link_loss_ratio for a named site and /probe results are queryable through Prometheus' API."""
    port = free_port()
    path = tmp_path / "giaoban.yml"
    # 127.0.0.4 is in no site: /probe reaches it through probe.allow.
    path.write_text(loopback_config(port, probe="probe: {allow: [127.0.0.0/8]}"), encoding="utf-8")
    async with running_service(path):
        with prometheus(tmp_path, port) as base:
            loss = await asyncio.to_thread(poll, base, 'giaoban_link_loss_ratio{site="tan-thinh"}')
            assert loss and loss[0]["metric"]["target"] == "127.0.0.2"
            assert float(loss[0]["value"][1]) == 0.0
            up = await asyncio.to_thread(poll, base, 'up{job="giaoban"}')
            assert up and up[0]["value"][1] == "1"
            probed = await asyncio.to_thread(poll, base, 'probe_success{job="giaoban-probe-icmp",instance="127.0.0.4"}')
            assert probed and probed[0]["value"][1] == "1"
            web = await asyncio.to_thread(poll, base, 'probe_success{job="giaoban-probe-module"}')
            assert web and web[0]["value"][1] == "1", web
            shrunk = await asyncio.to_thread(poll, base, 'probe_icmp_packets_sent{job="giaoban-probe-icmp-module"}')
            assert shrunk and float(shrunk[0]["value"][1]) < 10, shrunk
            up = await asyncio.to_thread(poll, base, 'probe_success{job="giaoban-probe-icmp-module"}')
            assert up and up[0]["value"][1] == "1", up
            heat = await asyncio.to_thread(
                poll, base, 'sum by (le) (rate(giaoban_link_echo_rtt_seconds_bucket{site="hub"}[1m]))'
            )
            assert heat, "the RTT histogram is not usable for a heatmap"
