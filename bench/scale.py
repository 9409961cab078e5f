"""The whole service at 1,000–10,000 loopback sites, side by side with fping in the same run (issue 16).

Each size runs in a fresh child process (its own RSS, collector and event loop): the app's ``Service`` with
everything it starts in production (scheduler, history writer to a SQLite file, alert engine every 5 s,
readiness engine, outbox, database health, HTTP server), on an inventory of N sites under one hub, each with
one ICMP link on 127.x (``bench/scheduler_and_metrics.py``'s inventory: 10 echoes 200 ms apart, 1 s timeout,
every 60 s). After the service is ready, and ``--warmup`` seconds more (a service runs for days: the first
minute is start-up, until every target has run once and the service freezes what they made for the collector),
the child measures for ``--duration`` seconds:

- CPU: the process's user + system seconds (``getrusage``) over the window, and its share of the wall time;
  per round of every site, to compare with fping;
- scheduler lag p50/p99/max over every probe start in the window (``Scheduler.lag``, each value kept);
- rounds finished, echoes sent and answered, failed rounds (result not a success: a deadline or no reply),
  rounds with any echo lost;
- false alerts: every alert open (pending or firing) at any time in the window, sampled every second; on
  healthy loopback links every one is false;
- RSS at the end and the peak (VmRSS / VmHWM);
- /metrics: ``curl -H 'Accept-Encoding: gzip'`` (as Prometheus asks) from a separate process every 15 s:
  time and compressed size; the first scrape formats every target.

Then, in the parent, fping does the same rounds on the same addresses, one after the other (not at the same
time: every raw ICMP socket sees every reply, so running both at once would charge each with the other's
replies): ``fping -C 10 -p 200 -i 0 -q -t 1000 ADDR...`` once per round, its CPU from ``RUSAGE_CHILDREN``,
start-up included. ``-i 0`` is fping's cheapest setting (all first echoes at once); its share of a core at a
60 s interval is one round's CPU / 60 s.

The machine is shared: the load average is recorded with each size; compare CPU-seconds and counts, not wall.

    sudo .venv/bin/python bench/scale.py [--sizes 1000,2000,5000,10000] [--duration 180] [--warmup 0] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from icmp_vs_fping import RESULTS, children_cpu, self_cpu, write_section
from scheduler_and_metrics import RecordingLag, addresses, inventory, percentile

HEADING = "Whole service at scale, against fping"
INTERVAL = 60.0
COUNT, PERIOD_MS, TIMEOUT_MS = 10, 200, 1000
SCRAPE_EVERY = 15.0


def _threads_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of the event loop's thread and of the others (database, gzip), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name = "main" if task.name == str(os.getpid()) else "others"  # Python does not name its OS threads
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _proc_status(field: str) -> int:
    """VmRSS / VmHWM of this process in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


async def _scrape(port: int) -> tuple[float, int]:
    """One /metrics scrape by curl, gzip as Prometheus asks: its time and the bytes on the wire."""
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", "-w", "%{time_total} %{size_download}",
        f"http://127.0.0.1:{port}/metrics",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    seconds, size = out.decode().split()
    return float(seconds), int(size)


async def measure(n: int, duration: float, warmup: float = 0.0) -> dict[str, Any]:
    """The child's job: run the service on n sites, measure the window after it is ready."""
    import socket

    from monitor.app.service import Service
    from monitor.storage.database import Storage
    from probes.context import probe_context

    with socket.socket() as s:  # a free port for the HTTP server, which curl scrapes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = inventory(n, f"{INTERVAL:g}s").model_copy(update={"listen": f"127.0.0.1:{port}"})
    scratch = tempfile.TemporaryDirectory(prefix="giaoban-scale-")
    storage = await Storage.open(f"sqlite:///{scratch.name}/scale.db")
    t_start, cpu_start = time.perf_counter(), self_cpu()
    out: dict[str, Any] = {"sites": n, "load_before": os.getloadavg()}
    async with probe_context() as ctx:
        if ctx.pinger is None:
            raise SystemExit("ICMP is not permitted here: run as root or open net.ipv4.ping_group_range")
        out["mode"] = ctx.pinger.mode_name
        service = Service(Path(scratch.name) / "inventory.yml", config, ctx=ctx, storage=storage)
        lag = RecordingLag()
        service.scheduler.lag = lag  # type: ignore[assignment]
        rounds: list[tuple[bool, int, int]] = []  # success, sent, received of each result in the window
        counting = [False]
        offer = service.scheduler._on_result

        def on_result(target: Any, result: Any) -> None:
            if counting[0]:
                rounds.append(
                    (result.success, int(result.values.get("sent", 0)), int(result.values.get("received", 0)))
                )
            if offer is not None:
                offer(target, result)

        service.scheduler._on_result = on_result
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        while not service.ready:
            if running.done():
                await running  # raises what stopped it
            await asyncio.sleep(0.05)
        out["startup_s"], out["startup_cpu_s"] = time.perf_counter() - t_start, self_cpu() - cpu_start
        await asyncio.sleep(warmup)
        lag.values.clear()
        counting[0] = True
        alerts: dict[str, tuple[str, str]] = {}  # id → rule, state (the latest seen)
        scrapes: list[tuple[float, int]] = []
        threads0, usage0 = _threads_cpu(), resource.getrusage(resource.RUSAGE_SELF)
        cpu0, t0 = self_cpu(), time.perf_counter()
        next_scrape = t0
        while (now := time.perf_counter()) < t0 + duration:
            for record in service.alerts.open_alerts():
                alerts[record.id] = (record.rule, str(record.state))
            if now >= next_scrape:
                scrapes.append(await _scrape(port))
                next_scrape += SCRAPE_EVERY
            await asyncio.sleep(1.0)
        cpu, wall = self_cpu() - cpu0, time.perf_counter() - t0
        threads = {name: seconds - threads0.get(name, 0.0) for name, seconds in _threads_cpu().items()}
        out["threads"] = {name: round(seconds, 2) for name, seconds in threads.items() if seconds >= 0.01}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out["user"], out["sys"] = usage.ru_utime - usage0.ru_utime, usage.ru_stime - usage0.ru_stime
        out["switches"] = usage.ru_nvcsw - usage0.ru_nvcsw, usage.ru_nivcsw - usage0.ru_nivcsw  # voluntary, not
        counting[0] = False
        out["rss"], out["rss_peak"] = _proc_status("VmRSS"), _proc_status("VmHWM")
        stop.set()
        await running
    await storage.close()
    scratch.cleanup()
    starts = lag.values
    rules: dict[str, int] = {}
    for rule, _state in alerts.values():
        rules[rule] = rules.get(rule, 0) + 1
    out.update(
        wall=wall,
        cpu=cpu,
        starts=len(starts),
        lag_p50=percentile(starts, 0.50) if starts else 0.0,
        lag_p99=percentile(starts, 0.99) if starts else 0.0,
        lag_max=max(starts, default=0.0),
        rounds=len(rounds),
        failed=sum(not ok for ok, _, _ in rounds),
        lossy=sum(received < sent for _, sent, received in rounds),
        sent=sum(sent for _, sent, _ in rounds),
        received=sum(received for _, _, received in rounds),
        false_alerts=len(alerts),
        alert_rules=rules,
        scrape_first=scrapes[0][0] if scrapes else None,
        scrape_later=[s for s, _ in scrapes[1:]],
        scrape_bytes=scrapes[-1][1] if scrapes else None,
        load_after=os.getloadavg(),
    )
    return out


FPING_CHUNK = 5000  # fping numbers its echoes with 16 bits: 65,535 in flight at most, so 10,000 × 10 is two runs


def fping_rounds(fping: str, n: int, rounds: int) -> dict[str, Any]:
    """``rounds`` rounds of fping on the same n addresses, back to back: CPU per round, echoes answered.

    Above ``FPING_CHUNK`` targets a round is several fping runs one after the other ("not enough sequence
    numbers available" otherwise), their CPU added up.
    """
    addrs = addresses(n)
    argv = [fping, "-C", str(COUNT), "-p", str(PERIOD_MS), "-i", "0", "-q", "-t", str(TIMEOUT_MS)]
    cpus, received = [], 0
    load_before = os.getloadavg()
    for _ in range(rounds):
        cpu0 = children_cpu()
        for first in range(0, n, FPING_CHUNK):
            chunk = addrs[first : first + FPING_CHUNK]
            proc = subprocess.run([*argv, *chunk], capture_output=True, text=True, check=False)
            lines = [line for line in proc.stderr.splitlines() if " : " in line]
            if len(lines) != len(chunk):
                raise SystemExit(f"fping did not report every target (exit {proc.returncode}): {proc.stderr[-500:]}")
            received += sum(value != "-" for line in lines for value in line.split(" : ", 1)[1].split())
        cpus.append(children_cpu() - cpu0)
    return {
        "cpu_per_round": statistics.median(cpus),
        "sent": COUNT * n * rounds,
        "received": received,
        "load_before": load_before,
    }


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f}"


def _load(pair: tuple[list[float], list[float]] | tuple[Any, Any]) -> str:
    before, after = pair
    return f"{before[0]:.1f} → {after[0]:.1f}"


def table(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    lines = [
        "| sites | load avg (1 min) | CPU s in window (wall s) | share of a core | CPU s per round of all sites "
        "| fping CPU s per round | ÷ fping | fping share at 60 s | lag p50 / p99 / max ms | rounds (failed, lossy) "
        "| echoes answered / sent | fping answered / sent | false alerts | RSS MB (peak) "
        "| /metrics gzip first / later median / max ms (KB) | start-up s (CPU s) | user / sys s (other threads) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for ours, theirs in rows:
        n = ours["sites"]
        per_round = ours["cpu"] / (ours["rounds"] / n) if ours["rounds"] else float("nan")
        later = ours["scrape_later"]
        scrape = (
            f"{_ms(ours['scrape_first'])} / {_ms(statistics.median(later)) if later else ''} / "
            f"{_ms(max(later)) if later else ''} ({(ours['scrape_bytes'] or 0) / 1024:.0f})"
        )
        alerts = str(ours["false_alerts"])
        if ours["alert_rules"]:
            alerts += " (" + ", ".join(f"{rule} {k}" for rule, k in sorted(ours["alert_rules"].items())) + ")"
        lines.append(
            f"| {n:,} | {_load((ours['load_before'], ours['load_after']))} | {ours['cpu']:.2f} ({ours['wall']:.0f}) "
            f"| {ours['cpu'] / ours['wall']:.1%} | {per_round:.3f} | {theirs['cpu_per_round']:.3f} "
            f"| {per_round / theirs['cpu_per_round']:.2f} | {theirs['cpu_per_round'] / INTERVAL:.2%} "
            f"| {_ms(ours['lag_p50'])} / {_ms(ours['lag_p99'])} / {_ms(ours['lag_max'])} "
            f"| {ours['rounds']:,} ({ours['failed']}, {ours['lossy']}) | {ours['received']:,} / {ours['sent']:,} "
            f"| {theirs['received']:,} / {theirs['sent']:,} | {alerts} "
            f"| {ours['rss'] / 2**20:.0f} ({ours['rss_peak'] / 2**20:.0f}) | {scrape} "
            f"| {ours['startup_s']:.1f} ({ours['startup_cpu_s']:.1f}) "
            f"| {ours['user']:.2f} / {ours['sys']:.2f} ({ours['threads'].get('others', 0.0):.2f}) |"
        )
    return "\n".join(lines)


def write(text: str, args: argparse.Namespace, mode: str) -> None:
    sizes = ",".join(map(str, args.sizes))
    section = f"""## {HEADING}

`bench/scale.py` — the app's `Service` (scheduler, history writer to SQLite, alert engine every 5 s, readiness,
outbox, HTTP server) on N loopback sites (127.0.x.y), one ICMP link each: 10 echoes 200 ms apart, 1 s timeout,
every 60 s, {mode} mode; measured for {args.duration:g} s from {args.warmup:g} s after it is ready, each size in a fresh
process. Then,
in the same run, fping does as many rounds on the same addresses, back to back:
`fping -C 10 -p 200 -i 0 -q -t 1000 ADDR...` (CPU from `RUSAGE_CHILDREN`, start-up included; median round;
at most {FPING_CHUNK:,} addresses per fping run, whose 16-bit echo numbers allow 65,535 in flight).

- Command: `sudo .venv/bin/python bench/scale.py --sizes {sizes} --duration {args.duration:g} --warmup {args.warmup:g}`
- CPU: user + system seconds of the service process over the window (`getrusage`); "per round" = window CPU ÷
  (rounds finished ÷ sites), the whole service included. Lag: every probe start in the window. False alerts:
  alerts open (pending or firing) at any second of the window; the links are healthy loopback, so every one
  is false. /metrics: `curl -H 'Accept-Encoding: gzip'` from another process every {SCRAPE_EVERY:g} s.
- Machine: Python {platform.python_version()}, kernel {platform.release()}, {os.cpu_count()} CPUs shared with
  other agents' test runs (load average at the start → end of each size's window): compare CPU seconds and
  counts, which the load disturbs less than wall times and lag.
- Aims (issue 16): at 10,000 sites lag p99 < 50 ms, no echo missing, no false alert, under 15 % of a core;
  at 2,000 sites whole-service CPU ≤ 3× fping.

{text}
"""
    write_section(section, HEADING)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000, 5000, 10000])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds measured per size (3 rounds)")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds after ready before the window")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one size, JSON on stdout
    args = parser.parse_args()
    if args.one is not None:
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(asyncio.run(measure(args.one, args.duration, args.warmup))))
        return 0
    fping = shutil.which("fping")
    if fping is None or shutil.which("curl") is None:
        raise SystemExit("needs fping and curl (apt-get install fping curl)")
    rows, mode = [], ""
    for n in args.sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--duration", str(args.duration), "--warmup", str(args.warmup)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"{n} sites: the service run failed:\n{child.stderr[-3000:]}")
        ours = json.loads(child.stdout.strip().splitlines()[-1])
        mode = ours["mode"]
        theirs = fping_rounds(fping, n, max(1, round(ours["rounds"] / n)))
        rows.append((ours, theirs))
        print(table(rows[-1:]), flush=True)
    text = table(rows)
    print(text)
    if not args.no_write:
        write(text, args, mode)
        print(f"wrote the '{HEADING}' section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
