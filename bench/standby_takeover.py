"""The standby's takeover time over several SIGKILLs of the lease holder (issue 17), on a real PostgreSQL.

Two `giaoban run` agents own one scope (a province hub and 24 communes on loopback, as tests/test_standby.py);
each round SIGKILLs the holder by its PID, measures the time until the other agent's /api/v1/status/agent says
it holds the lease, then starts the killed agent again as the new standby. The bound is TTL + TTL/3 (the row
expires TTL after its last renewal, and the standby looks every TTL/3), 20 s with the default 15 s TTL.

Run as root (PostgreSQL's initdb runs as the `postgres` user):
    .venv/bin/python bench/standby_takeover.py [--kills 5] [--lease-ttl 15s]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.clock import wait_until
from tests.peers import free_port, stop_process
from tests.postgres_lab import postgres_server
from tests.service_harness import ROOT, wait_http
from tests.test_standby import SCOPE, holds, inventory


def start(config: Path, database: str, *, name: str, port: int, ttl: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [
                sys.executable, "-m", "monitor", "run", "-c", str(config), "--database", database,
                "--listen", f"127.0.0.1:{port}", "--scope", SCOPE, "--agent-name", name, "--lease-ttl", ttl,
            ],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def main(kills: int, ttl: str) -> None:
    with tempfile.TemporaryDirectory(prefix="giaoban-takeover-") as tmp, postgres_server() as lab:
        directory = Path(tmp)
        database = lab.fresh_database()
        config = directory / "giaoban.yml"
        config.write_text(inventory("http://127.0.0.1:9/hook", free_port()), encoding="utf-8")
        ports = {"agent-a": free_port(), "agent-b": free_port()}
        running: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, port in ports.items():
                running[name] = start(config, database, name=name, port=port, ttl=ttl, log=directory / f"{name}.log")
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/-/healthy", timeout=90)
                if name == "agent-a":
                    await wait_until(lambda: holds(ports["agent-a"]), timeout=30, what="agent-a to hold the lease")
            times: list[float] = []
            for round_ in range(kills):
                holder = next(name for name in ports if holds(ports[name]))
                standby = next(name for name in ports if name != holder)
                os.kill(running[holder].pid, signal.SIGKILL)
                killed = time.monotonic()
                await asyncio.to_thread(running[holder].wait, 30)
                port = ports[standby]
                await wait_until(lambda port=port: holds(port), timeout=60, what=f"{standby} to take over", every=0.1)
                times.append(time.monotonic() - killed)
                print(
                    f"kill {round_ + 1}: {holder} killed, {standby} held the lease after {times[-1]:.1f} s", flush=True
                )
                log = directory / f"{holder}.log"
                running[holder] = start(config, database, name=holder, port=ports[holder], ttl=ttl, log=log)
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{ports[holder]}/-/healthy", timeout=90)
            print(
                f"takeover over {kills} kills: min {min(times):.1f} s, median {statistics.median(times):.1f} s, "
                f"max {max(times):.1f} s (lease TTL {ttl}; bound TTL + TTL/3; the issue's bound 30 s)"
            )
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                stop_process(process)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--lease-ttl", default="15s")
    args = parser.parse_args()
    asyncio.run(main(args.kills, args.lease_ttl))
