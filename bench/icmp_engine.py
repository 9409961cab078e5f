"""Benchmark: the ICMP engine at 1,000 and 5,000 targets at production pacing, against fping (issue 16).

N loopback targets (127.1.x.y; loopback answers all of 127.0.0.0/8) × 10 echoes 200 ms apart, 1 s timeout.
Our rounds start spread over 1 s by the scheduler's own hash (``phase_offset``) on its 50 ms ticks
(``START_TICK``), each on a timer that creates its task, as the scheduler starts probes; fping pings the
same addresses in the same run:

    fping -C 10 -p 200 -i 0 -q -t 1000 ADDR...   (CPU from RUSAGE_CHILDREN, start-up included)

``-i 0`` is fping's cheapest setting: its default ``-i 10`` caps it at 100 echoes/s (100 s for 1,000 targets)
and a gap that keeps the 200 ms pace (``-i 0.2``) costs it ~6× more CPU per echo (a wake-up per packet).

Ours: CPU from RUSAGE_SELF from the first start to the last round's end (the task per round included),
echoes answered, median RTT (kernel receive stamps, so the event loop's load should not show), and event-loop
wake-ups (selector calls) per echo. Each ICMP mode this host allows; 3 interleaved runs, medians.

Run: ``sudo .venv/bin/python bench/icmp_engine.py [--targets 1000 5000] [--runs 3] [--label after]``; the
table goes under "### LABEL" in the "ICMP engine at scale" section of bench/RESULTS.md (other labels kept).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from icmp_vs_fping import RESULTS, _can_open, children_cpu, self_cpu, unprivileged_allowed, write_section

from monitor.engine.scheduler import START_TICK, phase_offset
from probes.icmp.mode import IcmpMode, Mode
from probes.icmp.pinger import Pinger

HEADING = "ICMP engine at scale"
STARTS = "starts only (timers and tasks, no ICMP)"
COUNT, PERIOD_MS, TIMEOUT_MS, SPREAD_S = 10, 200, 1000, 1.0


@dataclass
class Run:
    cpu: float
    wall: float
    sent: int
    answered: int
    rtt_median_ms: float
    wakeups: int | None = None


def targets(n: int) -> list[str]:
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]


def fping_argv(fping: str, addrs: list[str]) -> list[str]:
    return [fping, "-C", str(COUNT), "-p", str(PERIOD_MS), "-i", "0", "-q", "-t", str(TIMEOUT_MS), *addrs]


def run_fping(fping: str, addrs: list[str]) -> Run:
    cpu0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.run(fping_argv(fping, addrs), capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    rtts = [
        float(value)
        for line in proc.stderr.splitlines()
        if " : " in line
        for value in line.split(" : ", 1)[1].split()
        if value != "-"
    ]
    lines = sum(" : " in line for line in proc.stderr.splitlines())
    if lines != len(addrs):
        raise SystemExit(f"fping did not report every target (exit {proc.returncode}): {proc.stderr[-500:]}")
    return Run(cpu, wall, COUNT * len(addrs), len(rtts), statistics.median(rtts) if rtts else float("nan"))


async def _spread_rounds(pinger: Pinger | StartsOnly, addrs: list[str]) -> Run:
    loop = asyncio.get_running_loop()
    selector: Any = getattr(loop, "_selector", None)
    wakeups = [0]
    if selector is not None:  # count event-loop wake-ups: every iteration calls the selector once
        select = selector.select

        def counting(timeout: float | None = None) -> Any:
            wakeups[0] += 1
            return select(timeout)

        selector.select = counting
    results: list[list[float | None]] = []
    pending = [len(addrs)]
    finished = loop.create_future()
    tasks: set[asyncio.Task[None]] = set()

    async def one(address: str) -> None:
        results.append(await pinger.round(address, count=COUNT, interval=PERIOD_MS / 1000, timeout=TIMEOUT_MS / 1000))
        pending[0] -= 1
        if pending[0] == 0:
            finished.set_result(None)

    def start(address: str) -> None:
        task = loop.create_task(one(address))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    gc.collect()
    cpu0, t0 = self_cpu(), time.perf_counter()
    base = loop.time() + 0.01
    for address in addrs:  # on the scheduler's ticks, as it starts probes
        when = base + phase_offset(address, SPREAD_S)
        loop.call_at(math.ceil(when / START_TICK) * START_TICK if START_TICK else when, start, address)
    await finished
    wall, cpu = time.perf_counter() - t0, self_cpu() - cpu0
    if selector is not None:
        del selector.select
    rtts = [rtt * 1000 for rtts in results for rtt in rtts if rtt is not None]
    return Run(cpu, wall, COUNT * len(addrs), len(rtts), statistics.median(rtts) if rtts else 0.0, wakeups[0])


class StartsOnly:
    """Rounds that return at once: what starting them costs (the timers and tasks), without any ICMP."""

    async def round(self, address: str, *, count: int, interval: float, timeout: float) -> list[float | None]:
        return [0.0] * count


def run_ours(mode: str | None, addrs: list[str]) -> Run:
    async def main() -> Run:
        if mode is None:
            return await _spread_rounds(StartsOnly(), addrs)
        pinger = Pinger(IcmpMode(cast(Mode, mode), False, "bench"))
        try:
            await pinger.round("127.0.0.1", count=1, interval=0.01, timeout=1.0)  # open shared sockets first
            return await _spread_rounds(pinger, addrs)
        finally:
            pinger.close()

    # As the service does once started (probes/context.py): long-lived objects out of the collector's passes.
    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(main())
    finally:
        gc.unfreeze()


def median(runs: list[Run]) -> Run:
    wakeups = [r.wakeups for r in runs if r.wakeups is not None]
    return Run(
        statistics.median(r.cpu for r in runs),
        statistics.median(r.wall for r in runs),
        runs[0].sent,
        min(r.answered for r in runs),
        statistics.median(r.rtt_median_ms for r in runs),
        int(statistics.median(wakeups)) if wakeups else None,
    )


def table(rows: list[tuple[int, str, Run, Run, Run | None]]) -> str:
    """One row per contender; "engine" is ours minus the starts-only run (the scheduler's share)."""
    lines = [
        "| targets | contender | CPU s (median) | CPU µs per echo | ÷ fping | engine µs per echo (minus starts) "
        "| engine ÷ fping | wall s | answered (worst run) | RTT median ms | loop wake-ups per echo |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, name, run, base, starts in rows:
        per_echo = run.cpu / run.sent * 1e6
        wake = f"{run.wakeups / run.sent:.2f}" if run.wakeups is not None else ""
        engine = ratio = ""
        if starts is not None:
            engine_cpu = run.cpu - starts.cpu
            engine, ratio = f"{engine_cpu / run.sent * 1e6:.1f}", f"{engine_cpu / base.cpu:.2f}"
        answered = f"{run.answered:,}/{run.sent:,}" if name != STARTS else ""
        rtt = f"{run.rtt_median_ms:.3f}" if name != STARTS else ""
        lines.append(
            f"| {n:,} | {name} | {run.cpu:.3f} | {per_echo:.1f} | {run.cpu / base.cpu:.2f} | {engine} | {ratio} "
            f"| {run.wall:.2f} | {answered} | {rtt} | {wake} |"
        )
    return "\n".join(lines)


def write(label: str, text: str, args: argparse.Namespace) -> None:
    """Rewrite the section's preamble; replace this label's table, keep the others."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    section = re.search(rf"^## {re.escape(HEADING)}\n.*?(?=^## |\Z)", old, flags=re.M | re.S)
    kept = []
    if section:
        for match in re.finditer(r"^### (\S+)\n.*?(?=^### |\Z)", section.group(0), flags=re.M | re.S):
            if match.group(1) != label:
                kept.append(match.group(0).rstrip("\n") + "\n")
    fping_cmd = " ".join(fping_argv("fping", ["127.1.0.1", "127.1.0.2", "..."]))
    command = (
        f"bench/icmp_engine.py --targets {' '.join(map(str, args.targets))} --runs {args.runs} "
        f"--spread {args.spread:g} --label LABEL"
    )
    preamble = f"""## {HEADING}

`bench/icmp_engine.py` — N loopback targets (127.1.x.y) × {COUNT} echoes {PERIOD_MS} ms apart, {TIMEOUT_MS} ms
timeout, our rounds started spread over {SPREAD_S:g} s by the scheduler's hash (`phase_offset`), a task per round
as the scheduler makes them; {args.runs} interleaved runs, medians; same machine, same run.

- Command: `sudo .venv/bin/python {command}`
- Peer, on the same addresses: `{fping_cmd}`
- `-i 0` is fping's cheapest setting: its default `-i 10` caps it at 100 echoes/s, and `-i 0.2`, which keeps
  the pace at 1,000 targets, costs it ~34 µs per echo. Its CPU from `getrusage(RUSAGE_CHILDREN)`, start-up
  included; ours from `getrusage(RUSAGE_SELF)` from the first round's start to the last round's end, after
  `gc.freeze()` as the service does once started. "starts only": the same start timers and tasks with rounds
  that return at once (the scheduler's share); "engine" = ours minus that. Wake-ups: calls of the event
  loop's selector (one per loop iteration).
- Machine: Python {platform.python_version()}, kernel {platform.release()}, {os.cpu_count()} CPUs, shared
  with other jobs (compare rows of one run; CPU varies ±20 % between runs).
- Aim (issue 16): the ICMP engine ≤ 1.5× fping's CPU per echo.

"""
    parts = sorted([*kept, f"### {label}\n\n{text}\n"], key=lambda part: (not part.startswith("### before"), part))
    write_section(preamble + "\n".join(parts) + "\n", HEADING)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each contender; medians")
    parser.add_argument("--modes", nargs="+", choices=["privileged", "unprivileged"])
    parser.add_argument(
        "--spread",
        type=float,
        default=1.0,
        help="seconds the starts are spread over (1,000 sites at 60 s: 200 over 12)",
    )
    parser.add_argument(
        "--previous-grid",
        action="store_true",
        help="the settings before the 50 ms grid: a 10 ms pacer grid, starts at their exact offsets (comparison)",
    )
    parser.add_argument("--label", default="after", help="sub-heading of this table in bench/RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    global SPREAD_S  # noqa: PLW0603 (one run, one spread: read by _spread_rounds and the preamble)
    SPREAD_S = args.spread
    if args.previous_grid:
        global START_TICK
        pinger_module = sys.modules["probes.icmp.pinger"]
        pinger_module.TICK_NS, pinger_module.GRID_SHARE, START_TICK = 10_000_000, 20, 0.0
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping is not installed (apt-get install fping)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    rows: list[tuple[int, str, Run, Run, Run | None]] = []
    with unprivileged_allowed() as unprivileged:
        modes = (["privileged"] if _can_open(socket.SOCK_RAW) else []) + (["unprivileged"] if unprivileged else [])
        modes = [m for m in modes if args.modes is None or m in args.modes]
        if not modes:
            raise SystemExit("neither raw nor unprivileged ICMP sockets are available: run as root")
        for n in args.targets:
            addrs = targets(n)
            theirs: list[Run] = []
            ours: dict[str | None, list[Run]] = {mode: [] for mode in [None, *modes]}
            for i in range(args.runs):  # interleaved, so a slow moment of the machine hits every contender
                theirs.append(run_fping(fping, addrs))
                for mode, runs in ours.items():
                    runs.append(run_ours(mode, addrs))
                    print(
                        f"N={n} run {i + 1}: fping {theirs[-1].cpu / theirs[-1].sent * 1e6:.1f} µs/echo, "
                        f"{mode or 'starts only'} {runs[-1].cpu / runs[-1].sent * 1e6:.1f} µs/echo",
                        flush=True,
                    )
            base, starts = median(theirs), median(ours.pop(None))
            rows.append((n, "fping 5.1 `-i 0`", base, base, None))
            rows.append((n, STARTS, starts, base, None))
            rows.extend((n, f"giaoban Pinger, {mode}", median(runs), base, starts) for mode, runs in ours.items())
    text = (
        f"`sudo .venv/bin/python bench/icmp_engine.py --targets {' '.join(map(str, args.targets))} --runs {args.runs} "
        f"--spread {args.spread:g}{' --previous-grid' if args.previous_grid else ''} --label {args.label}` "
        f"(starts spread over {args.spread:g} s)\n\n" + table(rows)
    )
    print(text)
    if not args.no_write:
        write(args.label, text, args)
        print(f"wrote '### {args.label}' in the '{HEADING}' section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
