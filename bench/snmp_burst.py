"""Benchmark: N SNMPv2c devices polled all at once — CPU, wall time, the event loop's lag and the GC pauses meanwhile.

Devices are net-snmp agents on 127.0.0.1, ``--per-agent`` UDP ports each (snmpd answers on at most ~128 ports per
process here, so 2,000 devices are 16 agents × 125 ports). Each poll reads sysUpTime/sysName/sysDescr and
interface ``lo``: one GET and one GETBULK of the 11 IF-MIB columns. ``gc.freeze()`` after start-up, as a service
does. Prints one line per burst after a first (map-building) one.

Run: ``.venv/bin/python bench/snmp_burst.py --agents 16 --per-agent 125`` (2,000 devices) or
``--agents 4 --per-agent 50`` (200).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.snmp_vs_peers import measured, settings
from probes.snmp.probe import SnmpPoller
from tests.snmpd_lab import Snmpd

FIRST_PORT = 31000


async def run(args: argparse.Namespace) -> None:
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((int(info["generation"]), time.perf_counter() - started[0]))

    gc.callbacks.append(watch)
    with tempfile.TemporaryDirectory(prefix="gb-snmp-burst-") as tmp:
        agents = []
        for n in range(args.agents):
            first = FIRST_PORT + n * args.per_agent
            ports = list(range(first + 1, first + args.per_agent))
            agents.append(Snmpd(Path(tmp) / f"agent{n}", port=first, more_ports=ports))
        for agent in agents:
            agent.start()
        try:
            devices = [(agent.address, port) for agent in agents for port in agent.ports]
            config = settings(["lo"])
            poller = SnmpPoller()
            await poller.start()
            gc.freeze()

            async def burst() -> None:
                await asyncio.gather(*(poller.poll(host, port, config) for host, port in devices))

            await measured(burst)
            for _ in range(args.repeat):
                pauses.clear()
                r = await measured(burst)
                worst = max((d for _, d in pauses), default=0.0)
                print(
                    f"{len(devices)} devices at once: wall {r.wall * 1000:.0f} ms, CPU {r.cpu * 1000:.0f} ms "
                    f"({r.cpu / len(devices) * 1e6:.0f} µs per poll), loop lag max {r.lag_max * 1000:.0f} ms, "
                    f"{len(pauses)} GC passes, longest {worst * 1000:.0f} ms"
                )
            await poller.close()
        finally:
            for agent in agents:
                agent.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--per-agent", type=int, default=50, help="UDP ports (devices) per snmpd, ≤ 125")
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
