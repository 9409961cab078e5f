"""Scheduler lag and /metrics render time at 1,000 targets (issue 2's performance aims).

1. 1,000 loopback links (127.0.x.y) probed by real ICMP rounds (10 echoes, 200 ms apart, as in
   production) on a 10 s interval for a few rounds: scheduler lag p50/p99/max from every probe start,
   and the process's CPU time per round, against fping doing the same echoes in the same run.
2. /metrics at 1,000 link targets with full results and RTT histograms: render time of the collector
   (the scrape's server-side cost) and of a real HTTP scrape through the running aiohttp app, plain and
   gzip (what Prometheus asks for), and the event loop's longest stall meanwhile.

Run as root (or with ping_group_range open): .venv/bin/python bench/scheduler_and_metrics.py [--rounds 3]
Only /metrics, 10,000 links (issue 16): .venv/bin/python bench/scheduler_and_metrics.py --targets 10000 --metrics-only
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.app.service import Service
from monitor.config.models import Config
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.storage.database import Storage
from probes.context import probe_context
from tests.synthetic import LOOPBACK_ICMP_UP


def addresses(n: int) -> list[str]:
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]


def inventory(n: int, interval: str) -> Config:
    sites = [{"id": "hub", "name": "Hub", "role": "district"}]
    sites += [
        {"id": f"c{i:04d}", "name": f"Xã {i}", "parent": "hub", "link": {"address": address}}
        for i, address in enumerate(addresses(n))
    ]
    return Config.model_validate(
        {
            "district": {"name": "Bench"},
            "defaults": {"interval": interval, "icmp": {"count": 10, "interval": "200ms", "timeout": "1s"}},
            "scheduler": {"concurrency": {"icmp": 1024}},
            "sites": sites,
        }
    )


class RecordingLag:
    """Scheduler.lag replacement that keeps every sample for percentiles."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.counts = [0] * 13
        self.total = 0.0
        self.samples = 0

    def observe(self, lag: float) -> None:
        self.values.append(lag)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_scheduler(n: int, rounds: int) -> dict[str, float]:
    config = inventory(n, "10s")
    async with probe_context() as ctx:
        if ctx.pinger is None:
            raise SystemExit("ICMP is not permitted here: run as root or open net.ipv4.ping_group_range")
        state = State()
        scheduler = Scheduler(ctx=ctx, state=state, concurrency=config.scheduler.concurrency)
        lag = RecordingLag()
        scheduler.lag = lag  # type: ignore[assignment]
        cpu0 = time.process_time()
        task = asyncio.create_task(scheduler.run(targets_from_config(config)))
        await asyncio.sleep(10 * rounds + 3.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        cpu = time.process_time() - cpu0
    received = sum(int(e.latest.values.get("received", 0)) for e in state if e.latest is not None)
    sent = sum(int(e.latest.values.get("sent", 0)) for e in state if e.latest is not None)
    return {
        "starts": len(lag.values),
        "p50": percentile(lag.values, 0.50),
        "p99": percentile(lag.values, 0.99),
        "max": max(lag.values),
        "cpu_per_round": cpu / (len(lag.values) / n),
        "last_round_received": received,
        "last_round_sent": sent,
    }


def fping_cpu(n: int) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        ["fping", "-c10", "-q", "-p", "200", "-i", "0", "-t", "1000", *addresses(n)],
        capture_output=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def filled_state(config: Config) -> State:
    state = State()
    for target in targets_from_config(config):
        state.track(target)
        state.record(target, LOOPBACK_ICMP_UP)
    return state


async def bench_metrics(n: int, repeats: int = 20) -> dict[str, float]:
    config = inventory(n, "60s")
    state = filled_state(config)
    exposition = Exposition.for_state(state, None, ReloadStatus())
    started = time.perf_counter()
    body = exposition.render()
    cold = time.perf_counter() - started  # the first scrape formats every target
    renders = []
    for _ in range(repeats):
        for entry in list(state)[:: max(1, n // 100)]:  # ~1% of targets got a new result since the last scrape
            state.record(entry.target, entry.latest)  # type: ignore[arg-type]  # a new result: filled, it has one
        started = time.perf_counter()
        body = exposition.render()
        renders.append(time.perf_counter() - started)
    # The peer: prometheus_client's own writer over the very same samples.
    families = list(text_string_to_metric_families(body.decode()))

    class Replay:
        def collect(self) -> list[Any]:
            return families

    reference = CollectorRegistry(auto_describe=False)
    reference.register(Replay())  # type: ignore[arg-type]
    peer = []
    for _ in range(5):
        started = time.perf_counter()
        generate_latest(reference)
        peer.append(time.perf_counter() - started)
    # Storage refuses an in-memory SQLite database (it would lose everything): a file of its own, removed after.
    scratch = tempfile.TemporaryDirectory(prefix="giaoban-bench-")
    storage = await Storage.open(f"sqlite:///{scratch.name}/bench.db")
    async with probe_context() as ctx:
        service = Service(
            Path("bench.yml"), config.model_copy(update={"listen": "127.0.0.1:0"}), ctx=ctx, storage=storage
        )
        service.state = state
        service.exposition = exposition
        from aiohttp import web

        from monitor.web.app import make_app

        runner = web.AppRunner(make_app(service))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        scrapes: dict[str, list[float]] = {"identity": [], "gzip": []}
        sizes: dict[str, int] = {}
        gaps: dict[str, list[float]] = {"identity": [], "gzip": []}  # the loop's stalls while scrapes run
        ticking, phase = True, "identity"

        async def ticker() -> None:
            last = time.perf_counter()
            while ticking:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps[phase].append(now - last)
                last = now

        watcher = asyncio.create_task(ticker())
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for encoding, times in scrapes.items():
                phase = encoding
                for _ in range(repeats):
                    for entry in list(state)[:: max(1, n // 100)]:  # as above: ~1% of targets changed
                        state.record(entry.target, entry.latest)  # type: ignore[arg-type]  # a new result: filled, it has one
                    started = time.perf_counter()
                    async with session.get(
                        f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": encoding}
                    ) as response:
                        sizes[encoding] = len(await response.read())
                    times.append(time.perf_counter() - started)
        ticking = False
        await watcher
        await runner.cleanup()
    await storage.close()
    scratch.cleanup()
    return {
        "bytes": len(body),
        "render_cold": cold,
        "peer_median": statistics.median(peer),
        "render_median": statistics.median(renders),
        "scrape_median": statistics.median(scrapes["identity"]),
        "scrape_max": max(scrapes["identity"]),
        "gzip_median": statistics.median(scrapes["gzip"]),
        "gzip_max": max(scrapes["gzip"]),
        "gzip_bytes": sizes["gzip"],
        "loop_stall": max(gaps["identity"]),
        "loop_stall_gzip": max(gaps["gzip"]),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--metrics-only", action="store_true", help="skip the ICMP scheduler part (needs root)")
    args = parser.parse_args()
    metrics = await bench_metrics(args.targets)
    print(
        f"/metrics at {args.targets} links: {metrics['bytes']} bytes, render: first "
        f"{metrics['render_cold'] * 1000:.1f} ms, then {metrics['render_median'] * 1000:.1f} ms (median of 20), "
        f"HTTP scrape {metrics['scrape_median'] * 1000:.1f} ms "
        f"(median), {metrics['scrape_max'] * 1000:.1f} ms (max); gzip {metrics['gzip_bytes']} bytes, "
        f"{metrics['gzip_median'] * 1000:.1f} ms (median), {metrics['gzip_max'] * 1000:.1f} ms (max); "
        f"longest event-loop stall during the scrapes (server and client share it): plain "
        f"{metrics['loop_stall'] * 1000:.1f} ms, gzip {metrics['loop_stall_gzip'] * 1000:.1f} ms"
    )
    print(
        f"peer: prometheus_client generate_latest over the same samples {metrics['peer_median'] * 1000:.1f} ms; "
        f"ratio giaoban/peer: first {metrics['render_cold'] / metrics['peer_median']:.2f}x, "
        f"steady {metrics['render_median'] / metrics['peer_median']:.2f}x"
    )
    if args.metrics_only:
        return
    sched = await bench_scheduler(args.targets, args.rounds)
    fping = fping_cpu(args.targets)
    print(
        f"scheduler, {args.targets} ICMP links x 10 echoes every 10 s, {sched['starts']} probe starts: lag p50 "
        f"{sched['p50'] * 1000:.2f} ms, p99 {sched['p99'] * 1000:.2f} ms, max {sched['max'] * 1000:.2f} ms; "
        f"last round {sched['last_round_received']}/{sched['last_round_sent']} replies"
    )
    print(
        f"CPU per round: giaoban {sched['cpu_per_round']:.3f} s (whole service: scheduler, probes, state), "
        f"fping -c10 -p200 same targets {fping:.3f} s, ratio {sched['cpu_per_round'] / fping:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
