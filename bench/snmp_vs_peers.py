"""Benchmark: giaoban's SNMP poller against snmpbulkwalk and prometheus-snmp-exporter on the same net-snmp agents.

1. Walk: the 11 IF-MIB columns a poll needs (ifName, ifAdminStatus, ifOperStatus, ifHCIn/OutOctets,
   ifIn/OutErrors, ifIn/OutDiscards, ifSpeed, ifHighSpeed) for every interface of an agent in a namespace
   with 100 veth pairs (202 interfaces), max-repetitions 25 for all three:
     ours     SnmpPoller.poll with every interface configured (→ the column-walk path), name map warm
     peer     snmpbulkwalk -v2c -Cr25 once per column (5.9 walks one OID per run)   CPU: RUSAGE_CHILDREN
     peer     prometheus-snmp-exporter 0.21, a module walking the same 11 columns  CPU: /proc/PID/stat
2. Cycle: 200 devices × 4 interfaces — 4 snmpd × 50 ports in a namespace that has exactly 4 interfaces —
   polled all at once ("burst", the worst case for the event loop) and spread evenly over --spread seconds
   (as the scheduler spreads them); CPU per cycle and the event loop's lag (a 5 ms ticker's overshoot),
   for v2c and v3 authPriv (SHA/AES). snmp_exporter scrapes the same 200 targets at once. One of them is also
   polled alone, one poll after another ("one device, 4 interfaces"), against one snmp_exporter scrape.

Our CPU is getrusage(RUSAGE_SELF) around the work only (imports, engine creation and the first, map-building
poll of each device are reported apart). Runs are interleaved; medians are printed with ratios to the peers,
and written with the exact command into the "SNMP" section of bench/RESULTS.md (other sections untouched).

Run (root: namespaces): ``sudo .venv/bin/python bench/snmp_vs_peers.py [--repeat 5] [--spread 60]``.
Traffic stays in 198.18.0.0/15 namespaces this script creates and removes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from probes.snmp.ifmib import (
    HC_COLUMNS,
    IF_IN_DISCARDS,
    IF_IN_ERRORS,
    IF_NAME,
    IF_OUT_DISCARDS,
    IF_OUT_ERRORS,
    STATUS_COLUMNS,
)
from probes.snmp.probe import SnmpPoller, SnmpSettings
from tests.netlab import Lab, Site
from tests.peers import free_port
from tests.snmpd_lab import COMMUNITY, USERS, Snmpd

RESULTS = Path(__file__).with_name("RESULTS.md")
COLUMNS = [".".join(map(str, c)) for c in (IF_NAME, *STATUS_COLUMNS, *HC_COLUMNS)]
COUNTERS = {".".join(map(str, c)) for c in (*HC_COLUMNS, IF_IN_ERRORS, IF_OUT_ERRORS, IF_IN_DISCARDS, IF_OUT_DISCARDS)}
REPETITIONS = 25
PAIRS = 100
AGENTS, PORTS_PER_AGENT = 4, 50
DEVICES = AGENTS * PORTS_PER_AGENT
V3 = USERS[0]  # SHA / AES
MODES = (("as is", False), ("gc.freeze() after start-up", True))


@dataclass
class Run:
    wall: float
    cpu: float
    lag_max: float = 0.0
    lag_p99: float = 0.0


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(pid: int) -> float:
    """utime + stime of a process from /proc (clock ticks → seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(runs: Sequence[Run]) -> Run:
    return Run(
        wall=statistics.median(r.wall for r in runs),
        cpu=statistics.median(r.cpu for r in runs),
        lag_max=statistics.median(r.lag_max for r in runs),
        lag_p99=statistics.median(r.lag_p99 for r in runs),
    )


def settings(names: list[str], *, v3: bool = False) -> SnmpSettings:
    if v3:
        os.environ["GB_BENCH_AUTH"], os.environ["GB_BENCH_PRIV"] = V3.auth_key, V3.priv_key
        data: dict[str, Any] = {
            "version": "3",
            "user": V3.name,
            "auth": "SHA",
            "auth_key": {"env": "GB_BENCH_AUTH"},
            "priv": "AES",
            "priv_key": {"env": "GB_BENCH_PRIV"},
        }
    else:
        os.environ["GB_BENCH_COMMUNITY"] = COMMUNITY
        data = {"community": {"env": "GB_BENCH_COMMUNITY"}}
    # A long timeout: 200 SNMPv3 polls at once through pysnmp take longer than the default to be answered.
    return SnmpSettings.model_validate(
        {**data, "interfaces": names, "max_repetitions": REPETITIONS, "timeout": 10.0, "retries": 1}
    )


TICK = 0.005  # the lag ticker's period; its own CPU is measured idle and subtracted


async def measured(work: Callable[[], Awaitable[object]], *, idle_cpu_per_second: float = 0.0) -> Run:
    """Wall and CPU of ``work`` on this event loop, and how late a 5 ms ticker ran meanwhile."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = loop.time()
            await asyncio.sleep(TICK)
            lags.append(max(0.0, loop.time() - start - TICK))

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    wall, cpu = time.perf_counter(), cpu_self()
    await work()
    elapsed = time.perf_counter() - wall
    run = Run(wall=elapsed, cpu=max(0.0, cpu_self() - cpu - idle_cpu_per_second * elapsed))
    done.set()
    await tick
    lags.sort()
    run.lag_max = lags[-1] if lags else 0.0
    run.lag_p99 = lags[int(len(lags) * 0.99)] if lags else 0.0
    return run


# --- snmp_exporter 0.21 (old configuration format: the module is top-level, auth inside it) ---------------


def exporter_config(path: Path) -> None:
    metrics = []
    for oid in COLUMNS:
        kind = "DisplayString" if oid == COLUMNS[0] else "counter" if oid in COUNTERS else "gauge"
        metrics.append(
            f"    - name: c_{oid.replace('.', '_')}\n      oid: {oid}\n      type: {kind}\n"
            "      indexes:\n        - labelname: ifIndex\n          type: gauge\n"
        )
    walk = "".join(f"    - {oid}\n" for oid in COLUMNS)
    v2c = f"  version: 2\n  auth:\n    community: {COMMUNITY}\n"
    v3 = (
        "  version: 3\n  auth:\n"
        f"    username: {V3.name}\n    security_level: authPriv\n    password: {V3.auth_key}\n"
        f"    auth_protocol: SHA\n    priv_protocol: AES\n    priv_password: {V3.priv_key}\n"
    )
    common = (
        f"  max_repetitions: {REPETITIONS}\n  retries: 1\n  timeout: 5s\n  walk:\n{walk}  metrics:\n{''.join(metrics)}"
    )
    path.write_text(f"giaoban_v2c:\n{v2c}{common}giaoban_v3:\n{v3}{common}")


class Exporter:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("prometheus-snmp-exporter")
        if binary is None:
            raise SystemExit("prometheus-snmp-exporter is missing: apt-get install prometheus-snmp-exporter")
        config = folder / "snmp.yml"
        exporter_config(config)
        self.port = free_port()
        self.log = (folder / "exporter.log").open("wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"snmp_exporter did not start: {(folder / 'exporter.log').read_text()}") from None
                time.sleep(0.05)

    def url(self, target: str, module: str) -> str:
        return f"http://127.0.0.1:{self.port}/snmp?module={module}&target={target}"

    def scrape(self, target: str, module: str = "giaoban_v2c") -> tuple[Run, str]:
        wall, cpu = time.perf_counter(), cpu_of(self.proc.pid)
        body = urllib.request.urlopen(self.url(target, module), timeout=60).read().decode()
        return Run(wall=time.perf_counter() - wall, cpu=cpu_of(self.proc.pid) - cpu), body

    async def scrape_all(self, targets: Sequence[str], module: str) -> Run:
        async with aiohttp.ClientSession() as session:

            async def one(target: str) -> None:
                async with session.get(self.url(target, module), timeout=aiohttp.ClientTimeout(total=120)) as reply:
                    body = await reply.text()
                    if "snmp_scrape_walk_duration_seconds" not in body or "c_1_3_6_1_2_1_31_1_1_1_6" not in body:
                        raise RuntimeError(f"snmp_exporter failed on {target}: {body[:300]}")

            wall, cpu = time.perf_counter(), cpu_of(self.proc.pid)
            await asyncio.gather(*(one(t) for t in targets))
            return Run(wall=time.perf_counter() - wall, cpu=cpu_of(self.proc.pid) - cpu)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def snmpbulkwalk(agent: Snmpd) -> Run:
    """The 11 columns, one snmpbulkwalk process each (net-snmp 5.9 walks only the first OID given)."""
    binary = shutil.which("snmpbulkwalk") or "snmpbulkwalk"
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(agent.folder / "cli")}
    wall, cpu = time.perf_counter(), cpu_children()
    lines = 0
    for oid in COLUMNS:
        out = subprocess.run(
            [binary, "-v2c", "-c", COMMUNITY, "-On", f"-Cr{REPETITIONS}", agent.target, oid],
            capture_output=True, text=True, env=env, check=True,
        ).stdout  # fmt: skip
        lines += out.count("\n")
    if lines < len(COLUMNS) * 2 * PAIRS:
        raise RuntimeError(f"snmpbulkwalk read only {lines} values")
    return Run(wall=time.perf_counter() - wall, cpu=cpu_children() - cpu)


# --- the two scenarios ------------------------------------------------------------------------------------


def make_walk_site(lab: Lab) -> Site:
    site = lab.add_site("walk")
    lines = [f"link add p{i}a type veth peer name p{i}b" for i in range(PAIRS)]
    lab.run(site, "ip", "-batch", "-", stdin="\n".join(lines) + "\n")
    return site


def make_cycle_site(lab: Lab) -> Site:
    site = lab.add_site("cycle")
    lab.run(site, "ip", "link", "add", "p0a", "type", "veth", "peer", "name", "p0b")
    return site


async def walk_scenario(agent: Snmpd, exporter: Exporter, site: Site, repeat: int, *, freeze: bool) -> dict[str, Any]:
    names = [f"p{i}{end}" for i in range(PAIRS) for end in "ab"] + [site.ns_if, "lo"]
    poller = SnmpPoller()
    await poller.start()
    if freeze:
        gc.freeze()  # as a service would once after start-up (SnmpPoller.start's docstring)
    config = settings(names)
    first = await measured(lambda: poller.poll(agent.address, agent.port, config))
    reading, _ = await poller.poll(agent.address, agent.port, config)
    assert not reading.missing_interfaces and len(reading.interfaces) == len(names), reading.missing_interfaces
    ours, bulk, exp = [], [], []
    for _ in range(repeat):
        ours.append(await measured(lambda: poller.poll(agent.address, agent.port, config)))
        bulk.append(snmpbulkwalk(agent))
        run, body = exporter.scrape(agent.target)
        if body.count("c_1_3_6_1_2_1_31_1_1_1_6{") < 2 * PAIRS:
            raise RuntimeError(f"snmp_exporter read too little: {body[:300]}")
        exp.append(run)
    await poller.close()
    gc.unfreeze()
    return {"first": first, "ours": median(ours), "snmpbulkwalk": median(bulk), "exporter": median(exp)}


async def cycle_scenario(
    agents: Sequence[Snmpd], exporter: Exporter, site: Site, repeat: int, spread: float, *, v3: bool, freeze: bool
) -> dict[str, Any]:
    devices = [(a.address, p) for a in agents for p in a.ports]
    config = settings(["lo", site.ns_if, "p0a", "p0b"], v3=v3)
    idle = await measured(lambda: asyncio.sleep(5.0))  # the lag ticker alone, before any pysnmp engine runs
    idle_rate = idle.cpu / idle.wall
    poller = SnmpPoller()
    await poller.start()
    if freeze:
        gc.freeze()

    async def burst() -> None:
        readings = await asyncio.gather(*(poller.poll(host, port, config) for host, port in devices))
        assert all(len(r.interfaces) == 4 for r, _ in readings)

    async def spread_out() -> None:
        async def later(i: int, host: str, port: int) -> None:
            await asyncio.sleep(i * spread / len(devices))
            reading, _ = await poller.poll(host, port, config)
            assert len(reading.interfaces) == 4

        await asyncio.gather(*(later(i, h, p) for i, (h, p) in enumerate(devices)))

    first = await measured(burst)  # engine, SNMPv3 discovery, the name maps
    bursts, exp, one, one_exp = [], [], [], []
    module = "giaoban_v3" if v3 else "giaoban_v2c"
    targets = [f"{h}:{p}" for h, p in devices]
    host, port = devices[0]
    for _ in range(repeat):
        bursts.append(await measured(burst))
        exp.append(await exporter.scrape_all(targets, module))
        for _ in range(5):
            one.append(await measured(lambda: poller.poll(host, port, config)))
            run, body = exporter.scrape(targets[0], module)
            if "c_1_3_6_1_2_1_31_1_1_1_6{" not in body:
                raise RuntimeError(f"snmp_exporter failed on {targets[0]}: {body[:300]}")
            one_exp.append(run)
    spread_run = await measured(spread_out, idle_cpu_per_second=idle_rate)
    await poller.close()
    gc.unfreeze()
    return {
        "first": first,
        "burst": median(bursts),
        "spread": spread_run,
        "exporter": median(exp),
        "one": median(one),
        "one_exporter": median(one_exp),
    }


def fmt(run: Run) -> str:
    return f"{run.wall:.3f} | {run.cpu:.3f}"


def write_section(text: str) -> None:
    """Replace the SNMP section of RESULTS.md (other sections belong to other benchmarks)."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    match = re.search(r"^## SNMP\b.*?(?=^## |\Z)", old, flags=re.M | re.S)
    new = old[: match.start()] + text + old[match.end() :] if match else old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new)


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gb-snmp-bench-") as tmp, Lab() as lab:
        folder = Path(tmp)
        walk_site, cycle_site = make_walk_site(lab), make_cycle_site(lab)
        walk_agent = Snmpd(folder / "walk", address=walk_site.ns_addr, netns=walk_site.ns)
        cycle_agents = []
        for n in range(AGENTS):
            # The namespace is new and empty: any port is free there (free_udp_port() may repeat itself).
            ports = [20000 + n * PORTS_PER_AGENT + i for i in range(PORTS_PER_AGENT)]
            agent = Snmpd(
                folder / f"cycle{n}",
                address=cycle_site.ns_addr,
                port=ports[0],
                more_ports=ports[1:],
                netns=cycle_site.ns,
            )
            cycle_agents.append(agent)
        exporter = Exporter(folder)
        try:
            for agent in [walk_agent, *cycle_agents]:
                agent.start()
            walk, cycles = {}, {}
            for mode, freeze in MODES[:1] if args.no_freeze else MODES:
                walk[mode] = await walk_scenario(walk_agent, exporter, walk_site, args.repeat, freeze=freeze)
                for name, v3 in (("v2c", False), ("v3 authPriv SHA/AES", True)):
                    cycles[(mode, name)] = await cycle_scenario(
                        cycle_agents, exporter, cycle_site, args.repeat, args.spread, v3=v3, freeze=freeze
                    )
        finally:
            exporter.close()
            for agent in [walk_agent, *cycle_agents]:
                agent.stop()

    walk_lines = [
        "| contender | wall s | CPU s | loop lag max ms | wall ÷ snmp_exporter | CPU ÷ snmp_exporter |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for mode, w in walk.items():
        base = w["exporter"]
        for label, key in (
            (f"giaoban SnmpPoller, {mode}, name map warm", "ours"),
            (f"giaoban, {mode}, first poll (+ ifName walk)", "first"),
        ):
            r = w[key]
            walk_lines.append(
                f"| {label} | {fmt(r)} | {r.lag_max * 1000:.0f} | {r.wall / base.wall:.2f} | "
                f"{r.cpu / max(base.cpu, 1e-3):.2f} |"
            )
        for label, key in (
            ("snmpbulkwalk 5.9.3 × 11 processes", "snmpbulkwalk"),
            ("prometheus-snmp-exporter 0.21", "exporter"),
        ):
            r = w[key]
            walk_lines.append(
                f"| {label} (same run) | {fmt(r)} | | {r.wall / base.wall:.2f} | {r.cpu / max(base.cpu, 1e-3):.2f} |"
            )
    cycle_lines = [
        f"| cycle of {DEVICES} devices × 4 interfaces | wall s | CPU s | loop lag max / p99 ms | CPU ÷ snmp_exporter "
        f"| {DEVICES} devices every 60 s: % of one core |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (mode, name), c in cycles.items():
        base_cpu = max(c["exporter"].cpu, 1e-3)
        for label, key in (("burst", "burst"), (f"spread over {args.spread:g} s", "spread"), ("first (maps)", "first")):
            r = c[key]
            share = f"{r.cpu / 60 * 100:.1f} %" if key != "first" else ""
            cycle_lines.append(
                f"| giaoban {name}, {mode}, {label} | {fmt(r)} | {r.lag_max * 1000:.0f} / {r.lag_p99 * 1000:.0f} | "
                f"{r.cpu / base_cpu:.2f} | {share} |"
            )
        e = c["exporter"]
        cycle_lines.append(
            f"| snmp_exporter 0.21 {name}, {DEVICES} scrapes at once (same run) | {fmt(e)} | | 1.00 | "
            f"{e.cpu / 60 * 100:.1f} % |"
        )
        o, oe = c["one"], c["one_exporter"]
        cycle_lines.append(
            f"| giaoban {name}, {mode}, one device, 4 interfaces: wall ms {o.wall * 1000:.1f} ÷ snmp_exporter's "
            f"{oe.wall * 1000:.1f} = {o.wall / oe.wall:.2f}× | {fmt(o)} | {o.lag_max * 1000:.0f} / "
            f"{o.lag_p99 * 1000:.0f} | {o.cpu / max(oe.cpu, 1e-3):.2f} | |"
        )
    walk_table, cycle_table = "\n".join(walk_lines), "\n".join(cycle_lines)
    print(walk_table, "", cycle_table, sep="\n")
    if args.no_write:
        return 0
    command = f"sudo .venv/bin/python bench/snmp_vs_peers.py --repeat {args.repeat} --spread {args.spread:g}"
    command += " --no-freeze" if args.no_freeze else ""
    section = f"""## SNMP

`bench/snmp_vs_peers.py` — net-snmp 5.9.3 agents in lab namespaces, {args.repeat} interleaved runs (medians),
max-repetitions {REPETITIONS} for every contender, same machine, same run. pysnmp {pysnmp_version()}.

- Command: `{command}`
- Walk: the 11 IF-MIB columns a poll needs for all 202 interfaces of one agent (100 veth pairs). Ours:
  `SnmpPoller.poll` with every interface configured, so it walks the columns with GETBULK; CPU is
  `getrusage(RUSAGE_SELF)` around the poll. snmpbulkwalk: `snmpbulkwalk -v2c -c {COMMUNITY} -On -Cr{REPETITIONS}
  ADDR:PORT OID` once per column (CPU `RUSAGE_CHILDREN`, process start-up included). snmp_exporter: one
  `/snmp?module=giaoban_v2c` scrape of a module walking the same 11 OIDs (CPU from `/proc/PID/stat`, 10 ms ticks).
- Cycle: {DEVICES} devices = {AGENTS} snmpd × {PORTS_PER_AGENT} UDP ports in a namespace with exactly 4 interfaces;
  each poll reads sysUpTime/sysName/sysDescr (a GET) and its 4 named interfaces — the whole table, so one GETBULK
  of the 11 columns, 5 rows each (a router with more interfaces than named gets GETs instead). "burst" = all at
  once (the event loop's worst case), "spread" = evenly over the interval as the scheduler does.
  snmp_exporter: {DEVICES} concurrent scrapes of the same targets (it walks the 11 columns;
  with 4 interfaces that is the same data).
- Machine: Python {platform.python_version()}, kernel {platform.release()}, {os.cpu_count()} CPUs.

{walk_table}

{cycle_table}

{findings(walk, cycles)}
"""
    write_section(section)
    print(f"wrote the SNMP section of {RESULTS}")
    return 0


def findings(walk: dict[str, Any], cycles: dict[tuple[str, str], dict[str, Any]]) -> str:
    """What the figures say, against issue 16's aim: needed columns ≤ 2× snmp_exporter at 4 and at 200 interfaces."""
    ours, peer = walk["as is"]["ours"], walk["as is"]["exporter"]
    per_varbind = ours.cpu / (len(COLUMNS) * (2 * PAIRS + 2)) * 1e6
    v2c, v3 = cycles[("as is", "v2c")], cycles[("as is", "v3 authPriv SHA/AES")]
    one = v2c["one"].wall / v2c["one_exporter"].wall
    return f"""Findings (v1/v2c answers are decoded by probes/snmp/ber.py; SNMPv3 still goes through pysnmp/pyasn1):
- 202-interface walk: {ours.wall / peer.wall:.1f}× snmp_exporter's wall time,
  {ours.cpu / max(peer.cpu, 1e-3):.1f}× its CPU; ≈ {per_varbind:.0f} µs of CPU per varbind, the whole poll included.
- One device, 4 interfaces (v2c): {v2c["one"].wall * 1000:.1f} ms against snmp_exporter's
  {v2c["one_exporter"].wall * 1000:.1f} ms ({one:.2f}×); v3 authPriv {v3["one"].wall * 1000:.1f} ms against
  {v3["one_exporter"].wall * 1000:.1f} ms.
- {DEVICES} devices at once: v2c {v2c["burst"].cpu:.2f} s of CPU (snmp_exporter {v2c["exporter"].cpu:.2f} s), the
  loop's longest block {v2c["burst"].lag_max * 1000:.0f} ms; v3 {v3["burst"].cpu:.2f} s, longest block
  {v3["burst"].lag_max * 1000:.0f} ms. Run-to-run CPU varies ±20 % on this shared 2-core VM: compare rows of
  the same run."""


def pysnmp_version() -> str:
    from importlib.metadata import version

    return version("pysnmp")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="interleaved runs of each contender")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the spread cycle takes (the interval)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--no-freeze", action="store_true", help="skip the gc.freeze() runs")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the agents live in network namespaces")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
