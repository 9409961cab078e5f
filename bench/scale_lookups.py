"""Large inventories on one agent (issue 16): alert pass, /metrics (plain and gzip), reload, at 1,000–10,000 sites.

Every site has a link (127.x.y.z, never probed: nothing here sends a packet), a router polled by SNMP that
carries the link, and a codec (tcp); one site in 50 heads a cluster (role district, under the hub) and the
communes hang under the heads, so the topology has depth. The live state is filled with results: a cluster
head down 1 time in 100 takes its whole cluster with it (link, router and codec of each commune under it:
what topology folds); elsewhere 1 % of routers and 2 % of codecs are down.

1. Alert engine: the first pass (every target computed, the pending alerts created), steady passes (a new
   result for 1/12 of the targets before each, as with 60 s probes and a pass every 5 s), and a pass that
   fires them all; an in-memory store, so the figure is the engine's own CPU on the event loop. The longest
   stall of the event loop during the passes is measured by a 1 ms ticker.
2. /metrics: the exposition of the same state, first render (formats every target) and later ones (1 % of
   targets with a new result), plain and gzip (compressed as the handler does), and the body sizes.
3. Reload: Service.reload of a new inventory file of the same size in which every target changed (a new
   interval): file read and checked, targets derived, scheduler brought up to date, the database's inventory
   synced to a SQLite file. Its time and the loop's longest stall meanwhile.

    .venv/bin/python bench/scale_lookups.py [--sites 1000,2000,5000,10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.engine import AlertEngine
from alerts.model import AlertRecord, MaintenanceWindow
from alerts.notifiers.base import Notification
from monitor.app.service import Service
from monitor.config.loader import load_config
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.storage.database import Storage
from probes.context import probe_context
from probes.core.result import ProbeResult, Reason
from tests.synthetic import LOOPBACK_ICMP_UP, cluster_sites

CLUSTER = 50


def inventory_data(n: int, interval: str = "60s") -> dict[str, Any]:
    """The hub, n // CLUSTER cluster heads (role district), and communes under them: n sites in all."""
    sites = cluster_sites(n, cluster=CLUSTER, technicians=100)
    return {
        "district": {"name": "Bench"},
        "defaults": {"interval": interval},
        "technicians": [{"id": f"t{i}", "name": f"Kỹ thuật {i}"} for i in range(100)],
        "alerts": {"admins": ["t0"]},
        "sites": sites,
    }


LINK_UP = LOOPBACK_ICMP_UP
LINK_DOWN = ProbeResult(
    success=False,
    duration=2.0,
    reason=Reason.TIMEOUT,
    detail="no reply",
    values={"loss_ratio": 1.0, "sent": 10, "received": 0},
)
UP = ProbeResult(success=True, duration=0.01)
DOWN = ProbeResult(success=False, duration=1.0, reason=Reason.TIMEOUT, detail="timed out")


def filled_state(config: Config, now: float) -> State:
    heads_down = {s.id for s in config.sites if s.role == "district" and s.id != "hub" and int(s.id[1:]) % 100 == 7}
    state = State()
    for target in targets_from_config(config):
        state.track(target)
        number = int(target.site[1:]) if target.site != "hub" else 0
        site = config.site(target.site)
        cut = target.site in heads_down or (site is not None and site.parent in heads_down)
        if target.role == "link":
            result = LINK_DOWN if cut else LINK_UP
        elif target.role == "device":
            result = DOWN if cut or number % 100 == 13 else UP
        else:
            result = DOWN if cut or number % 50 == 3 else UP
        state.record(target, replace(result, timestamp=now))
    return state


def new_results(state: State, share: float, now: float) -> None:
    """A new result (the same values, a new time) for ``share`` of the targets, a different slice each time."""
    step = max(1, round(1 / share))
    for entry in list(state)[int(now) % step :: step]:
        assert entry.latest is not None
        state.record(entry.target, replace(entry.latest, timestamp=now))


class MemoryStore:
    """alerts.engine.AlertStore in memory: the bench measures the engine, not the database."""

    def __init__(self) -> None:
        self.rows: dict[str, AlertRecord] = {}
        self.outbox = 0

    async def load_open(self) -> list[AlertRecord]:
        return []

    async def commit(self, records: Sequence[AlertRecord], outbox: Sequence[tuple[str, Notification]]) -> None:
        self.rows.update({r.id: r for r in records})
        self.outbox += len(outbox)

    async def acknowledgements(self, ids: Sequence[str]) -> dict[str, tuple[float, str]]:
        return {}

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        return []


class LoopWatch:
    """The event loop's longest stall while it is entered: a ticker that asks for a turn every millisecond.
    Also the longest pause of Python's cyclic garbage collector meanwhile (in any thread: it holds the GIL)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_gc = 0.0
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.longest_gc = max(self.longest_gc, time.perf_counter() - self._gc_started)

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0.01)
        self.longest = 0.0
        gc.callbacks.append(self._on_gc)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await asyncio.sleep(0.01)  # the ticker's turn after the last stall, so that it is counted
        gc.callbacks.remove(self._on_gc)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def bench_alerts(config: Config, state: State, repeats: int) -> dict[str, float]:
    clock = [time.time()]
    engine = AlertEngine(lambda: config, state, MemoryStore(), clock=lambda: clock[0])
    async with LoopWatch() as first_watch:
        started = time.perf_counter()
        await engine.evaluate()
        first = time.perf_counter() - started
    passes, cpu = [], []
    async with LoopWatch() as steady_watch:
        for _ in range(repeats):
            clock[0] += 5.0
            new_results(state, 5 / 60, clock[0])
            started, cpu_started = time.perf_counter(), time.process_time()
            await engine.evaluate()
            passes.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            await asyncio.sleep(0.01)  # a pass with nothing to wait for never yields: the ticker counts it now
    clock[0] += 600.0  # past every for: and the topology grace, so the firing notifications are rendered
    started = time.perf_counter()
    await engine.evaluate()
    firing = time.perf_counter() - started
    return {
        "first": first,
        "first_stall": first_watch.longest,
        "steady": statistics.median(passes),
        "steady_cpu": statistics.median(cpu),
        "steady_stall": steady_watch.longest,
        "firing": firing,
        "open": len(engine.open_alerts()),
        "suppressed": sum(1 for r in engine.open_alerts() if r.suppressed_by),
    }


def bench_metrics(state: State, repeats: int) -> dict[str, float]:
    exposition = Exposition.for_state(state, None, ReloadStatus())
    started = time.perf_counter()
    body = exposition.render()
    cold = time.perf_counter() - started
    plain, plain_cpu, zipped = [], [], []
    entries = list(state)
    for _ in range(repeats):
        for entry in entries[:: max(1, len(entries) // 100)]:  # ~1 % of targets got a new result
            state.record(entry.target, entry.latest)  # type: ignore[arg-type]  # a new result: filled, it has one
        started, cpu_started = time.perf_counter(), time.process_time()
        body = exposition.render()
        plain.append(time.perf_counter() - started)
        plain_cpu.append(time.process_time() - cpu_started)
        started = time.perf_counter()
        packed = compress(body)
        zipped.append(time.perf_counter() - started)
    return {
        "bytes": len(body),
        "gzip_bytes": len(packed),
        "cold": cold,
        "plain": statistics.median(plain),
        "plain_cpu": statistics.median(plain_cpu),
        "gzip": statistics.median(zipped),
    }


def compress(body: bytes) -> bytes:
    """What the /metrics handler sends to a scraper that accepts gzip (monitor/web/app.py)."""
    try:
        from monitor.web.app import gzipped
    except ImportError:  # before issue 16 the handler had no gzip: the stdlib's default level
        return gzip.compress(body)
    return gzipped([body])


async def bench_reload(n: int) -> dict[str, float]:
    """Service.reload of n sites whose every target changed; its time and the loop's longest stall."""
    os.environ.setdefault("C", "public")  # the routers' community, {env: C}; never sent: nothing is probed
    with tempfile.TemporaryDirectory(prefix="giaoban-bench-") as scratch:
        path = Path(scratch, "inventory.yml")
        path.write_text(yaml.safe_dump(inventory_data(n, "86400s"), allow_unicode=True), encoding="utf-8")
        storage = await Storage.open(f"sqlite:///{scratch}/bench.db")
        try:
            async with probe_context() as ctx:
                service = Service(path, load_config(path, resolve_secrets=True), ctx=ctx, storage=storage)
                await service.sync_storage()
                task = asyncio.create_task(service.scheduler.run(targets_from_config(service.config)))
                await asyncio.sleep(1.0)
                path.write_text(yaml.safe_dump(inventory_data(n, "86401s"), allow_unicode=True), encoding="utf-8")
                async with LoopWatch() as watch:
                    started = time.perf_counter()
                    problems = await service.reload()
                    took = time.perf_counter() - started
                    await asyncio.sleep(0.5)  # the tasks started last take their first step
                assert not problems, problems
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            await storage.close()
    return {"took": took, "stall": watch.longest, "gc": watch.longest_gc}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", default="1000,2000,5000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-reload", action="store_true", help="skip the reload (it loads the file twice)")
    args = parser.parse_args()
    print(
        "| sites | open alerts (folded) | alert pass: first (longest stall) | steady: wall, CPU (longest stall) | "
        "firing | /metrics | gzip | render first | render later: wall, CPU | gzip | reload (longest stall, "
        "longest GC pause) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in (int(s) for s in args.sites.split(",")):
        config = Config.model_validate(inventory_data(n))
        state = filled_state(config, time.time())
        alerts = await bench_alerts(config, state, args.repeats)
        metrics = bench_metrics(state, args.repeats)
        reload = {"took": math.nan, "stall": math.nan, "gc": math.nan} if args.no_reload else await bench_reload(n)
        print(
            f"| {n:,} | {alerts['open']} ({alerts['suppressed']}) | {alerts['first'] * 1000:.0f} ms "
            f"({alerts['first_stall'] * 1000:.0f} ms) | {alerts['steady'] * 1000:.0f}, "
            f"{alerts['steady_cpu'] * 1000:.0f} ms ({alerts['steady_stall'] * 1000:.0f} ms) | "
            f"{alerts['firing'] * 1000:.0f} ms | "
            f"{metrics['bytes'] / 1e6:.1f} MB | {metrics['gzip_bytes'] / 1e6:.2f} MB | "
            f"{metrics['cold'] * 1000:.0f} ms | {metrics['plain'] * 1000:.0f}, {metrics['plain_cpu'] * 1000:.0f} ms | "
            f"{metrics['gzip'] * 1000:.0f} ms | "
            f"{reload['took']:.1f} s ({reload['stall'] * 1000:.0f} ms, {reload['gc'] * 1000:.0f} ms) |",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
