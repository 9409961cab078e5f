"""giaoban's /probe next to the real blackbox_exporter, both scraped by a real Prometheus (issue 15).

The same local targets (an HTTP server, an HTTPS one with a root → intermediate → leaf chain, their TCP ports,
127.0.0.1 for ICMP) through the same modules, scraped with blackbox's stock multi-target recipe (params module,
__param_target, instance, __address__). Then Prometheus' API says, per module, which probe_* series both write,
which only one does, which labels differ, and whether the values that must agree do. The known differences are
listed here exactly and in the README's "/probe and blackbox_exporter" table: a series gained or lost fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.peers import free_port, require_program, stop_process
from tests.prometheus_lab import query, running_prometheus
from tests.service_harness import loopback_config, running_service, wait_http
from tests.tls_certs import Chain, make_chain

pytestmark = pytest.mark.timeout(90)

# Module → (blackbox's settings, giaoban's, the targets both probe). {root}: the chain's root CA file.
MODULES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "http_2xx": ("{prober: http}", "{kind: http}", ("127.0.0.1:{plain}/ok", "http://127.0.0.1:{plain}/to-ok")),
    "http_ca": (
        "{prober: http, http: {tls_config: {ca_file: '{root}'}}}",
        "{kind: http, ca_file: '{root}'}",
        ("https://127.0.0.1:{tls}/ok",),
    ),
    "http_regex": (
        "{prober: http, http: {fail_if_body_not_matches_regexp: ['^bye']}}",
        "{kind: http, body_regex: ['^bye']}",
        ("http://127.0.0.1:{plain}/ok",),
    ),
    "tcp_connect": ("{prober: tcp}", "{kind: tcp}", ("127.0.0.1:{plain}",)),
    "tcp_tls": (
        "{prober: tcp, tcp: {tls: true, tls_config: {ca_file: '{root}'}}}",
        "{kind: tcp, tls: true, ca_file: '{root}'}",
        ("127.0.0.1:{tls}",),
    ),
    "icmp": ("{prober: icmp}", "{kind: icmp}", ("127.0.0.1",)),
}
EXPORTERS = ("blackbox", "giaoban")

# What giaoban writes beyond blackbox, per module (README table, "ours only"), and what only blackbox writes.
ICMP_OWN = {
    "probe_icmp_rtt_seconds",
    "probe_icmp_jitter_seconds",
    "probe_icmp_loss_ratio",
    "probe_icmp_mos",
    "probe_icmp_packets_sent",
    "probe_icmp_packets_received",
    "probe_icmp_round_duration_seconds",
}
OURS_ONLY = {
    "http_2xx": set(),
    "http_ca": set(),
    "http_regex": set(),
    "tcp_connect": {"probe_tcp_duration_seconds"},
    "tcp_tls": {"probe_tcp_duration_seconds"},
    "icmp": ICMP_OWN,
}
THEIRS_ONLY: dict[str, set[str]] = {module: set() for module in MODULES}
# Labels of a shared family that differ: (module, family) → (blackbox only, giaoban only). ICMP: blackbox times
# opening its socket (setup); giaoban's sockets are shared or opened inside the round.
LABELS_DIFFER = {("icmp", "probe_icmp_duration_seconds"): ({(("phase", "setup"),)}, set())}
# Families whose every sample must be the same in both, labels and value: what a dashboard or alert reads.
AGREE = (
    "probe_success",
    "probe_http_status_code",
    "probe_http_ssl",
    "probe_http_version",
    "probe_http_redirects",
    "probe_http_content_length",
    "probe_http_uncompressed_body_length",
    "probe_failed_due_to_regex",
    "probe_ip_protocol",
    "probe_ip_addr_hash",
    "probe_ssl_earliest_cert_expiry",
    "probe_ssl_last_chain_expiry_timestamp_seconds",
    "probe_tls_version_info",
    "probe_ssl_last_chain_info",
    "probe_icmp_reply_hop_limit",  # loopback: the host's default TTL for both
)
# Durations on loopback: both under this, not equal (seconds).
LOOSE = 0.5
SUCCESS = {"http_2xx": 1.0, "http_ca": 1.0, "http_regex": 0.0, "tcp_connect": 1.0, "tcp_tls": 1.0, "icmp": 1.0}

Samples = dict[str, dict[str, dict[tuple[tuple[str, str], ...], float]]]  # family → instance → labels → value


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="hello giaoban")


async def _to_ok(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


@contextlib.asynccontextmanager
async def targets(chain: Chain) -> AsyncIterator[dict[str, int]]:
    """The HTTP server plain and over TLS, on free loopback ports: {"plain": port, "tls": port}."""
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/to-ok", _to_ok)
    runner = web.AppRunner(app)
    await runner.setup()
    ports = {"plain": free_port(), "tls": free_port()}
    try:
        await web.TCPSite(runner, "127.0.0.1", ports["plain"]).start()
        await web.TCPSite(runner, "127.0.0.1", ports["tls"], ssl_context=chain.server).start()
        yield ports
    finally:
        await runner.cleanup()


def _fill(text: str, values: dict[str, Any]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@contextlib.contextmanager
def blackbox(tmp_path: Path, root: Path) -> Iterator[str]:
    binary = require_program("prometheus-blackbox-exporter")
    port = free_port()
    config = tmp_path / "blackbox.yml"
    lines = [f"  {name}: {_fill(theirs, {'root': root})}" for name, (theirs, _, _) in MODULES.items()]
    config.write_text("modules:\n" + "\n".join(lines) + "\n", encoding="utf-8")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/healthy")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)


@contextlib.contextmanager
def prometheus(tmp_path: Path, addresses: dict[str, str], ports: dict[str, int]) -> Iterator[str]:
    """A real Prometheus with blackbox's stock multi-target recipe, one job per (exporter, module)."""
    binary = require_program("prometheus")
    jobs = []
    for exporter in EXPORTERS:
        for module, (_, _, module_targets) in MODULES.items():
            probed = [_fill(target, ports) for target in module_targets]
            jobs.append(
                f"""\
  - job_name: {exporter}-{module}
    metrics_path: /probe
    params: {{module: [{module}]}}
    static_configs: [{{targets: {json.dumps(probed)}}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "{addresses[exporter]}"}}
"""
            )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 900ms}\nscrape_configs:\n" + "".join(jobs), encoding="utf-8"
    )
    with running_prometheus(binary, config, tmp_path / "data") as base:
        yield base


def _collect(base: str, ports: dict[str, int], *, timeout: float = 40.0) -> dict[tuple[str, str], Samples]:
    """Every probe_* sample by (exporter, module), once each job has scraped each of its targets."""
    wanted = {(e, m, _fill(t, ports)) for e in EXPORTERS for m, (_, _, ts) in MODULES.items() for t in ts}
    end = time.monotonic() + timeout
    while True:
        rows = query(base, '{__name__=~"probe_.+", job=~"(blackbox|giaoban)-.+"}')
        seen = {
            (row["metric"]["job"].split("-", 1)[0], row["metric"]["job"].split("-", 1)[1], row["metric"]["instance"])
            for row in rows
            if row["metric"]["__name__"] == "probe_duration_seconds"
        }
        if wanted <= seen or time.monotonic() > end:
            break
        time.sleep(0.5)
    assert wanted <= seen, f"not scraped in {timeout} s: {sorted(wanted - seen)}"
    time.sleep(1.5)  # one more scrape of each, so series written only on a later scrape are in too
    out: dict[tuple[str, str], Samples] = {}
    for row in query(base, '{__name__=~"probe_.+", job=~"(blackbox|giaoban)-.+"}'):
        metric = dict(row["metric"])
        exporter, module = metric.pop("job").split("-", 1)
        name, instance = metric.pop("__name__"), metric.pop("instance")
        labels = tuple(sorted(metric.items()))
        out.setdefault((exporter, module), {}).setdefault(name, {}).setdefault(instance, {})[labels] = float(
            row["value"][1]
        )
    return out


def _table(samples: dict[tuple[str, str], Samples]) -> str:
    lines = ["module        same  ours-only  theirs-only"]
    for module in MODULES:
        ours, theirs = set(samples[("giaoban", module)]), set(samples[("blackbox", module)])
        lines.append(f"{module:<12}  {len(ours & theirs):>4}  {len(ours - theirs):>9}  {len(theirs - ours):>11}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("chain"))


async def test_blackbox_parity(tmp_path: Path, chain: Chain) -> None:
    """Per module: blackbox's probe_* series but the listed ones, and the same values where they must agree."""
    service_port = free_port()
    modules = "\n".join(f"    {name}: {_fill(ours, {'root': chain.ca_file})}" for name, (_, ours, _) in MODULES.items())
    probe = f"probe:\n  allow: [127.0.0.0/8]\n  modules:\n{modules}"
    path = tmp_path / "giaoban.yml"
    path.write_text(loopback_config(service_port, probe=probe, interval="30s"), encoding="utf-8")
    async with targets(chain) as ports, running_service(path):
        with blackbox(tmp_path, chain.ca_file) as theirs:
            addresses = {"blackbox": theirs, "giaoban": f"127.0.0.1:{service_port}"}
            with prometheus(tmp_path, addresses, ports) as base:
                samples = await asyncio.to_thread(_collect, base, ports)
    print(_table(samples))  # the parity figures (pytest -s)
    for module in MODULES:
        ours, theirs = samples[("giaoban", module)], samples[("blackbox", module)]
        assert (module, set(ours) - set(theirs)) == (module, OURS_ONLY[module])
        assert (module, set(theirs) - set(ours)) == (module, THEIRS_ONLY[module])
        for name in set(ours) & set(theirs):
            for instance in theirs[name]:
                their_labels, our_labels = set(theirs[name][instance]), set(ours[name].get(instance, {}))
                differ = (their_labels - our_labels, our_labels - their_labels)
                assert (module, name, differ) == (module, name, LABELS_DIFFER.get((module, name), (set(), set())))
                if name in AGREE:
                    assert (module, name, ours[name][instance]) == (module, name, theirs[name][instance])
                elif name.endswith("_seconds") and not name.startswith("probe_ssl"):
                    both = [*ours[name][instance].values(), *theirs[name][instance].values()]
                    assert all(0 <= seconds < LOOSE for seconds in both), (module, name, both)
        for instance, values in ours["probe_success"].items():
            assert (module, instance, values) == (module, instance, {(): SUCCESS[module]})
