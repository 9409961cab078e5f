"""Benchmark: SIP OPTIONS to 1,000 loopback responders — giaoban's sip probe, and sipsak as the named peer.

Responders: one child process binds 1,000 UDP sockets (127.0.x.y, one port) and answers every OPTIONS with
200 OK, echoing Via/From/To/Call-ID/CSeq as a UA does; its CPU is not ours. Contenders, same run:

    giaoban udp      await asyncio.gather(*(run_probe(sip, target) for target in 1,000 targets))
                     one connected UDP socket per probe; CPU from RUSAGE_SELF around the round
    giaoban → kamailio (udp, tcp)  the same, 1,000 probes against ONE real kamailio (tests/kamailio_lab), to check that
                     the figures hold against a real SIP server's answers (kamailio's CPU not counted)
    sipsak           `sipsak -s sip:ADDR:PORT` once per target, 8 at a time (a monitoring plugin's way:
                     one process per check); CPU from RUSAGE_CHILDREN

Prints a Markdown section for bench/RESULTS.md ("SIP"). Loopback only.

Run: ``.venv/bin/python bench/sip_options.py [--targets 1000] [--rounds 5]`` (root not needed).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.runner import run_probe
from probes.sip import probe as sip

KIND = ProbeKind(sip.KIND, sip.SipSettings, sip.probe, default_port=sip.DEFAULT_PORT)
SIPSAK_PARALLEL = 8


def addresses(n: int) -> list[str]:
    return [f"127.0.{i // 250}.{i % 250 + 1}" for i in range(n)]


# --- the responder process ----------------------------------------------------------------------------------

_ECHO = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")


def _reply(request: bytes) -> bytes | None:
    lines = request.split(b"\r\n")
    if not lines or not lines[0].startswith(b"OPTIONS "):
        return None
    echoed = [line for line in lines[1:] if line.split(b":", 1)[0].strip().lower().decode("latin-1") in _ECHO]
    head = [b"SIP/2.0 200 OK", *echoed, b"Server: bench-responder", b"Content-Length: 0"]
    return b"\r\n".join(head) + b"\r\n\r\n"


def serve(n: int, port: int) -> None:
    """Bind n UDP sockets and answer until stdin closes (the parent ends)."""
    selector = selectors.DefaultSelector()
    socks = []
    for addr in addresses(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((addr, port))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        socks.append(sock)
    selector.register(sys.stdin, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                return
            ready = key.fileobj
            assert isinstance(ready, socket.socket)
            while True:
                try:
                    data, peer = ready.recvfrom(65535)
                except BlockingIOError:
                    break
                if (answer := _reply(data)) is not None:
                    ready.sendto(answer, peer)


# --- contenders ---------------------------------------------------------------------------------------------


@dataclass
class Round:
    wall: float
    cpu: float
    ok: int
    retransmissions: int


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def giaoban_round(targets: list[str], transport: str) -> Round:
    settings = sip.SipSettings(transport=transport)
    ctx = ProbeContext()
    cpu, wall = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    results = await asyncio.gather(*(run_probe(KIND, t, settings, ctx=ctx, timeout=10) for t in targets))
    wall, cpu = time.perf_counter() - wall, _cpu(resource.RUSAGE_SELF) - cpu
    retrans = sum(int(r.info.get("retransmissions", "0")) for r in results)
    return Round(wall, cpu, sum(r.success for r in results), retrans)


async def sipsak_round(targets: list[str], sipsak: str) -> Round:
    gate = asyncio.Semaphore(SIPSAK_PARALLEL)

    async def one(target: str) -> bool:
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                sipsak, "-s", f"sip:{target}", "-H", "127.0.0.1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            return await proc.wait() == 0

    cpu, wall = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    ok = await asyncio.gather(*(one(t) for t in targets))
    wall, cpu = time.perf_counter() - wall, _cpu(resource.RUSAGE_CHILDREN) - cpu
    return Round(wall, cpu, sum(ok), 0)


def _kamailio(directory: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    binary = shutil.which("kamailio") or ("/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)
    if binary is None:
        return None
    from tests import kamailio_lab  # the suite's own config: 200 for a plain Request-URI

    port = kamailio_lab._free_udp_and_tcp_port()
    config = directory / "kamailio.cfg"
    text = kamailio_lab._CONFIG.format(port=port, server="bench kamailio", modules=kamailio_lab._modules_dir())
    config.write_text(text.replace("children=1\n", "children=2\n"))
    log = (directory / "kamailio.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-f", str(config), "-DD", "-E", "-Y", str(directory), "-w", str(directory)], stdout=log, stderr=log
    )
    kamailio_lab._wait_listening(port, proc, directory)
    return proc, port


async def rounds(n: int, make: Callable[[], Awaitable[Round]]) -> list[Round]:
    await make()  # warm-up: imports, first sockets, the kernel's neighbour state
    return [await make() for _ in range(n)]


def row(name: str, runs: list[Round], count: int, peer_cpu: float | None) -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    worst = min(r.ok for r in runs)
    retrans = max(r.retransmissions for r in runs)
    ratio = f"{cpu / peer_cpu:.2f}" if peer_cpu else "—"
    return f"| {name} | {wall:.3f} | {cpu:.3f} | {cpu / count * 1e6:.0f} | {ratio} | {worst}/{count} | {retrans} |"


async def measure(args: argparse.Namespace, targets: list[str]) -> tuple[list[str], float | None]:
    """Rows of the table, and sipsak's median CPU (the denominator of the ratios)."""
    ours = await rounds(args.rounds, functools.partial(giaoban_round, targets, "udp"))
    sipsak = shutil.which("sipsak")
    peer = await rounds(args.rounds, functools.partial(sipsak_round, targets, sipsak)) if sipsak else None
    peer_cpu = statistics.median(r.cpu for r in peer) if peer else None
    lines = [row(f"giaoban sip, udp → {args.targets} responders", ours, args.targets, peer_cpu)]
    if peer:
        name = f"sipsak 0.9.8 × {args.targets} ({SIPSAK_PARALLEL} at a time)"
        lines.append(row(name, peer, args.targets, peer_cpu))
    return lines, peer_cpu


async def against_kamailio(args: argparse.Namespace, port: int, peer_cpu: float | None) -> list[str]:
    lines = []
    kam = [f"127.0.0.1:{port}"] * args.targets
    for transport in ("udp", "tcp"):
        runs = await rounds(args.rounds, functools.partial(giaoban_round, kam, transport))
        lines.append(
            row(f"giaoban sip, {transport} → 1 kamailio × {args.targets} probes", runs, args.targets, peer_cpu)
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=15060)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.targets, args.port)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.targets + 256)), hard))
    targets = [f"{a}:{args.port}" for a in addresses(args.targets)]
    responder = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--targets", str(args.targets), "--port", str(args.port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert responder.stdout is not None
        if responder.stdout.readline().strip() != b"ready":
            raise SystemExit("responder failed to start")
        lines, peer_cpu = asyncio.run(measure(args, targets))
    finally:
        assert responder.stdin is not None
        responder.stdin.close()  # the responder's signal to stop
        responder.wait(timeout=10)
    with tempfile.TemporaryDirectory() as tmp:
        started = _kamailio(Path(tmp))
        if started is not None:
            proc, port = started
            try:
                lines += asyncio.run(against_kamailio(args, port, peer_cpu))
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    print(
        "| contender | wall s (median) | CPU s (median) | CPU µs per target | CPU ÷ sipsak | answered (worst round) "
        "| retransmissions (worst round) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
    print(
        f"\nMachine: Python {platform.python_version()}, kernel {platform.release()}, {os.cpu_count()} CPUs; "
        f"{args.rounds} rounds after a warm-up."
    )


if __name__ == "__main__":
    main()
