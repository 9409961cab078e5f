"""A nation of communes (issue 17): one agent's cost at ~1,100 sites, and the time to a national readiness answer.

The inventory is `giaoban init --national --addresses test` (34 provincial hubs, 3,321 units, each link an ICMP
target on 127/8), with production probe settings (a round of 10 echoes 200 ms apart every 60 s per link), on a
PostgreSQL of its own (tests/postgres_lab.py, durable settings). One agent runs in this process with
``--scope`` a third of the provinces (every third province, ~1,100 sites) and a national conference of all 34
provinces due now, so its first readiness check (its own ~1,100 participants) falls in the window.

1. Per agent, over --seconds after the service is ready: CPU seconds (getrusage), RSS (VmRSS now and VmHWM, the
   peak), the event loop's lag (a 10 ms sleeper's lateness: max and p99), and when its readiness report was stored.
2. The national answer: the two other thirds' reports are written as other agents would (one report each, every
   participant READY), then GET /api/v1/meetings/{id}/readiness (the join over 3,355 participants, grouped by
   province, encoded) and GET / (the board) are timed --repeats times each, with the loop lag meanwhile.

    sudo .venv/bin/python bench/national.py [--seconds 120] [--repeats 5]      (root: raw ICMP sockets)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.app.service import Service
from monitor.cli.init import _Addresses, national_inventory
from monitor.config.loader import load_config
from monitor.engine.ownership import OwnershipSpec
from monitor.readiness.participants import meeting_site_ids
from monitor.storage.database import SiteVerdict, Storage
from probes.context import probe_context
from tests.peers import free_port
from tests.postgres_lab import postgres_server

MEETING = "hoi-nghi-toan-quoc"


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Lag:
    """The lateness of a 10 ms sleeper: what any request or probe waits for the loop."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.running = True

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.samples.append(loop.time() - before - 0.01)

    def summary(self) -> str:
        if not self.samples:
            return "-"
        ordered = sorted(self.samples)
        return f"max {ordered[-1] * 1000:.0f} ms, p99 {ordered[int(len(ordered) * 0.99)] * 1000:.0f} ms"


async def main(seconds: float, repeats: int) -> None:
    with postgres_server(durable=True) as lab, tempfile.TemporaryDirectory(prefix="giaoban-national-") as tmp:
        database = lab.fresh_database()
        inventory = yaml.load(national_inventory(_Addresses(test=True)), Loader=yaml.CSafeLoader)
        provinces = [s["id"] for s in inventory["sites"] if s["role"] == "province"]
        start = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
        inventory["meetings"] = [
            {"id": MEETING, "title": "Hội nghị toàn quốc", "start": start.isoformat(), "sites": provinces}
        ]
        port = free_port()
        inventory["listen"] = f"127.0.0.1:{port}"
        inventory["database"] = database
        path = Path(tmp) / "national.yml"
        path.write_text(yaml.safe_dump(inventory, allow_unicode=True, sort_keys=False), encoding="utf-8")
        thirds = [provinces[k::3] for k in range(3)]
        started = time.perf_counter()
        config = load_config(path, resolve_secrets=True)
        loaded = time.perf_counter() - started
        storage = await Storage.open(database)
        spec = OwnershipSpec.parse(agent="bench-1", scopes=thirds[0])
        lag = Lag()
        async with probe_context() as ctx:
            service = Service(path, config, ctx=ctx, storage=storage, ownership=spec)
            owned = len(service.ownership.lease_of)
            stop = asyncio.Event()
            running = asyncio.create_task(service.run(stop))
            while not service.ready:  # noqa: ASYNC110  (the service sets a flag, not an event: poll it)
                await asyncio.sleep(0.1)
            watcher = asyncio.create_task(lag.watch())
            cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            await asyncio.sleep(seconds)
            cpu1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
            rss, peak = rss_kib("VmRSS"), rss_kib("VmHWM")
            agent_lag = lag.summary()
            ours = await storage.reports(MEETING, limit=5)
            print(f"inventory: {len(config.sites)} sites, loaded in {loaded:.1f} s; this agent owns {owned}")
            print(
                f"agent over {wall1 - wall0:.0f} s: CPU {cpu:.1f} s ({cpu / (wall1 - wall0) * 100:.1f} % of a core), "
                f"RSS {rss / 1024:.0f} MiB (peak {peak / 1024:.0f} MiB), loop lag {agent_lag}; "
                f"its readiness reports: {[len(r.results) for r in ours]}"
            )
            # The other two thirds, as their agents would write them.
            participants = meeting_site_ids(config, provinces)
            occurrence = start
            for k, third in enumerate(thirds[1:], start=2):
                mine = set(meeting_site_ids(config, third))
                verdicts = [SiteVerdict(s, "READY") for s in participants if s in mine]
                await storage.insert_report(MEETING, occurrence, 1800, verdicts, agent=f"bench-{k}")
            lag.samples.clear()
            answers, boards, sizes = [], [], {}
            async with aiohttp.ClientSession() as http:
                for _ in range(repeats):
                    t = time.perf_counter()
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/meetings/{MEETING}/readiness") as response:
                        # Decoded in a thread: the client shares the service's loop here, and 1 MB of JSON
                        # decoded on it would be counted as the service's lag.
                        body = await asyncio.to_thread(json.loads, await response.read())
                        sizes["api"] = response.content_length or 0
                    answers.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    async with http.get(f"http://127.0.0.1:{port}/") as response:
                        sizes["board"] = len(await response.read())
                    boards.append(time.perf_counter() - t)
            report = body["report"]
            print(
                f"national answer: {report['sites_total']} participants, {report['sites_unknown']} unknown, "
                f"{len(report['provinces'])} provinces; "
                f"GET readiness median {statistics.median(answers) * 1000:.0f} ms "
                f"(max {max(answers) * 1000:.0f} ms, {sizes['api'] / 1e6:.1f} MB); GET / median "
                f"{statistics.median(boards) * 1000:.0f} ms (max {max(boards) * 1000:.0f} ms, "
                f"{sizes['board'] / 1e3:.0f} kB); loop lag meanwhile {lag.summary()}"
            )
            lag.running = False
            await watcher
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.seconds, options.repeats))
