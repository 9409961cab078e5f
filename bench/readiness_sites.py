"""Benchmark: one readiness check of 23 sites against fping doing the same echoes, in the same run.

23 loopback sites (links 127.0.1.1-23, each with a TCP endpoint on a local listener), readiness.icmp_count
echoes 200 ms apart per link (the default round: 50 × 200 ms = 10 s of pacing), everything in parallel:

    ReadinessEngine.check_sites("all", ...)        wall time of the whole check, report stored in SQLite
    fping -C 50 -q -p 200 -i 0 -t 1000 ADDR...     the ICMP part alone, by the reference tool

The floor is the pacing itself (count × interval); the ratio shows what the check adds to it (TCP connects,
the report, storage). Issue 6 asks for well within 30 s. Writes the figures into the "Readiness" section of
bench/RESULTS.md.

Run: ``.venv/bin/python bench/readiness_sites.py [--sites 23] [--count 50] [--repeat 3]``. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config.loader import load_config_text
from monitor.readiness.engine import ReadinessEngine
from monitor.storage.database import Storage
from probes.context import probe_context

RESULTS = Path(__file__).with_name("RESULTS.md")
INTERVAL_MS = 200


def inventory(sites: int, count: int, port: int) -> str:
    lines = [
        'district: {name: "Huyện Định Hoá (bench)", timezone: Asia/Ho_Chi_Minh, locale: vi}',
        f"defaults: {{icmp: {{count: 10, interval: {INTERVAL_MS}ms, timeout: 1s}}}}",
        f"readiness: {{icmp_count: {count}}}",
        "sites:",
        '  - {id: hub, name: "UBND huyện", role: district}',
    ]
    for n in range(1, sites + 1):
        lines.append(
            f'  - {{id: xa-{n}, name: "Xã {n}", parent: hub, link: {{address: 127.0.1.{n}}}, '
            f"endpoints: [{{id: vc-{n}, kind: tcp, address: 127.0.0.1, port: {port}}}]}}"
        )
    return "\n".join(lines) + "\n"


async def check_once(text: str, db: Path) -> tuple[float, int, int]:
    config = load_config_text(text, "bench.yml")
    storage = await Storage.open(f"sqlite:///{db}")
    try:
        async with probe_context() as ctx:
            engine = ReadinessEngine(config=lambda: config, storage=storage, ctx=ctx)
            started = time.perf_counter()
            report = await engine.check_sites("all", call_rate=2_048_000, duration=7200)
            return time.perf_counter() - started, report.ready, len(report.sites)
    finally:
        await storage.close()


def fping_once(fping: str, sites: int, count: int) -> float:
    addrs = [f"127.0.1.{n}" for n in range(1, sites + 1)]
    started = time.perf_counter()
    subprocess.run(
        [fping, "-C", str(count), "-q", "-p", str(INTERVAL_MS), "-i", "0", "-t", "1000", *addrs],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=23)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fping = shutil.which("fping") or "/usr/bin/fping"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    text = inventory(args.sites, args.count, port)
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            wall, ready, total = asyncio.run(check_once(text, Path(tmp) / "bench.db"))
            ours.append(wall)
            theirs.append(fping_once(fping, args.sites, args.count))
            print(f"run {i + 1}: giaoban {wall:.2f}s ({ready}/{total} ready), fping {theirs[-1]:.2f}s")
    listener.close()
    g, f = statistics.median(ours), statistics.median(theirs)
    floor = args.count * INTERVAL_MS / 1000
    print(f"median: giaoban {g:.2f}s, fping {f:.2f}s, ratio {g / f:.2f}; pacing floor {floor:.1f}s")
    section = (
        "## Readiness: one check of 23 sites\n\n"
        f"Command: `.venv/bin/python bench/readiness_sites.py --sites {args.sites} --count {args.count} "
        f"--repeat {args.repeat}` ({platform.machine()}, {platform.python_version()}).\n\n"
        f"{args.sites + 1} sites (hub + {args.sites} communes on loopback), {args.count} echoes "
        f"{INTERVAL_MS} ms apart per link, a TCP endpoint per commune, report stored in SQLite.\n\n"
        "| | median wall time |\n|---|---|\n"
        f"| giaoban readiness check (all sites in parallel) | {g:.2f} s |\n"
        f"| `fping -C {args.count} -p {INTERVAL_MS}` (ICMP only) | {f:.2f} s |\n"
        f"| ratio | {g / f:.2f}× |\n\n"
        f"The pacing alone is {floor:.1f} s; issue 6 asks for a check of 23 sites within 30 s.\n"
    )
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"## Readiness: one check of 23 sites\n.*?(?=\n## |\Z)", re.S)
    updated = pattern.sub(section.rstrip("\n"), current) if pattern.search(current) else current + "\n" + section
    RESULTS.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
