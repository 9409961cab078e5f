"""Network-namespace lab for tests: sites behind veth links in 198.18.0.0/15, with loss, delay and shaping.

Impaired links without netem (nft drop, tc tbf, NFQUEUE delay); every test gets its own names and
subnets and everything is removed at the end, on failure too. Needs root and iproute2: ``Lab()`` skips
outside CI and fails under CI=true (tests/peers.py)::

    with Lab() as lab:
        site = lab.add_site("commune1")       # namespace + veth pair + a /24 routed to it
        lab.drop_icmp(site, 5)                # nft: drop 5 % of echo requests arriving in the namespace
        lab.delay(site, 50, jitter_ms=10)     # NFQUEUE releaser on the namespace's OUTPUT: RTT ≈ 50 ms
        lab.shape(site, "8mbit")              # tc tbf on the namespace's uplink
        lab.spawn(site, ["snmpd", ...])       # a peer inside the namespace, stopped by its PID at the end
        ... probe site.ns_addr (answers), site.void_addr (routed into the namespace, nothing behind it)

Addressing of a site with block 198.18.X.0/24: host end 198.18.X.1/30, namespace end 198.18.X.2/30,
198.18.X.128/25 routed to the namespace, which has no host there (``void_addr`` = 198.18.X.200).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import ipaddress
import json
import os
import random
import re
import secrets
import select
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.peers import missing, require_program, require_root

LAB_RANGE = ipaddress.IPv4Network("198.18.0.0/15")  # RFC 2544 benchmarking range: never routed anywhere
NS_PREFIX = "gblab-"
LOCK_FILE = Path("/tmp/giaoban-netlab.lock")  # serialises subnet choice between concurrent test runs
RELEASER = Path(__file__).with_name("nfq_releaser.py")
NFT_TABLE = "giaoban_impair"


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    ns: str
    host_if: str
    ns_if: str
    host_addr: str
    ns_addr: str
    block: ipaddress.IPv4Network
    void_addr: str


class LabError(RuntimeError):
    pass


def _run(argv: Sequence[str], *, stdin: str | None = None) -> str:
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


class Lab:
    """Namespaces, veth links and impairments made by one test; ``close()`` (or ``with``) removes them all."""

    def __init__(self) -> None:
        require_root()
        self.ip = require_program("ip")
        self.token = secrets.token_hex(3)
        self.sites: list[Site] = []
        self.procs: list[subprocess.Popen[str]] = []
        with self._locked():
            self._reap_stale()

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with LOCK_FILE.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _reap_stale(self) -> None:
        """Delete lab namespaces left by a test process that died (named gblab-PID-...)."""
        for line in _run([self.ip, "netns", "list"]).splitlines():
            name = line.split()[0] if line.strip() else ""
            match = re.fullmatch(rf"{NS_PREFIX}(\d+)-\w+", name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                with contextlib.suppress(LabError):
                    _run([self.ip, "netns", "del", name])

    def _free_block(self) -> ipaddress.IPv4Network:
        """A /24 of 198.18.0.0/15 that no address or route on this host uses yet (call under the lock)."""
        used = _run([self.ip, "-4", "-o", "addr", "show"]) + _run([self.ip, "-4", "route", "show", "table", "all"])
        blocks = list(LAB_RANGE.subnets(new_prefix=24))
        random.shuffle(blocks)
        for block in blocks:
            stem = str(block.network_address).rsplit(".", 1)[0] + "."
            if stem not in used:
                return block
        raise LabError("no free /24 left in 198.18.0.0/15 (stale lab namespaces? see `ip netns list`)")

    def add_site(self, name: str) -> Site:
        """A namespace joined to this host by a veth pair, with a /24 routed to it."""
        index = len(self.sites)
        ns = f"{NS_PREFIX}{os.getpid()}-{self.token}{index}"
        host_if, ns_if = f"gb{self.token}h{index}", f"gb{self.token}n{index}"
        with self._locked():
            block = self._free_block()
            hosts = list(block.hosts())
            host_addr, ns_addr, void = str(hosts[0]), str(hosts[1]), block.network_address + 200
            void_net = ipaddress.ip_network(f"{block.network_address + 128}/25")
            _run([self.ip, "netns", "add", ns])
            site = Site(name, ns, host_if, ns_if, host_addr, ns_addr, block, str(void))
            self.sites.append(site)  # from here on close() removes it, whatever fails next
            _run([self.ip, "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns])
            _run([self.ip, "addr", "add", f"{host_addr}/30", "dev", host_if])
            _run([self.ip, "link", "set", host_if, "up"])
            _run([self.ip, "-n", ns, "addr", "add", f"{ns_addr}/30", "dev", ns_if])
            _run([self.ip, "-n", ns, "link", "set", ns_if, "up"])
            _run([self.ip, "-n", ns, "link", "set", "lo", "up"])
            _run([self.ip, "route", "add", str(void_net), "via", ns_addr, "dev", host_if])
        return site

    def run(self, site: Site, *argv: str, stdin: str | None = None) -> str:
        """Run a command inside the site's namespace; its stdout, or LabError with its stderr."""
        return _run([self.ip, "netns", "exec", site.ns, *argv], stdin=stdin)

    def spawn(self, site: Site, argv: Sequence[str], **popen: Any) -> subprocess.Popen[str]:
        """Start a long-running peer inside the namespace; it is stopped by its PID at close()."""
        proc: subprocess.Popen[str] = subprocess.Popen(
            [self.ip, "netns", "exec", site.ns, *argv], text=True, **popen
        )  # `ip netns exec` execs the command: this PID is the peer's own
        self.procs.append(proc)
        return proc

    def drop_icmp(self, site: Site, percent: float) -> None:
        """nft random drop of echo requests arriving in the namespace (measured 4-6 % at 5 %)."""
        nft = require_program("nft")
        threshold = round(percent * 100)  # numgen over 10000 gives 0.01 % steps
        rules = (
            f"table inet {NFT_TABLE} {{\n chain in {{\n  type filter hook input priority 0; policy accept;\n"
            f"  ip protocol icmp icmp type echo-request numgen random mod 10000 < {threshold} counter drop\n }}\n}}\n"
        )
        self.run(site, nft, "-f", "-", stdin=rules)

    def dropped(self, site: Site) -> int:
        """Echo requests the drop_icmp rule has dropped so far (its nft counter)."""
        nft = require_program("nft")
        listing = json.loads(self.run(site, nft, "-j", "list", "table", "inet", NFT_TABLE))
        for item in listing["nftables"]:
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
        raise LabError(f"no counter in nft table {NFT_TABLE} of {site.ns}")

    def delay(self, site: Site, ms: float, jitter_ms: float = 0.0, *, drop_percent: float = 0.0) -> None:
        """Delay every packet leaving the namespace by ms ± uniform jitter_ms (NFQUEUE + tests/nfq_releaser.py)."""
        iptables = require_program("iptables")
        if importlib.util.find_spec("fnfqueue") is None:  # fail early, naming the package
            missing("Python package fnfqueue (pip install -e '.[test]')")
        queue = "1"  # NFQUEUE numbers are per network namespace
        self.run(site, iptables, "-A", "OUTPUT", "-o", site.ns_if, "-j", "NFQUEUE", "--queue-num", queue,
                 "--queue-bypass")  # fmt: skip
        argv = [sys.executable, str(RELEASER), "--queue", queue, "--delay-ms", str(ms), "--jitter-ms", str(jitter_ms)]
        if drop_percent:
            argv += ["--drop-percent", str(drop_percent)]
        proc = self.spawn(site, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self._stop(proc)
            stderr = proc.stderr.read() if proc.stderr else ""
            raise LabError(f"nfq_releaser in {site.ns} did not start: {line.strip()} {stderr.strip()}")

    def shape(
        self, site: Site, rate: str, *, burst: str = "32kbit", latency: str = "50ms", direction: str = "out"
    ) -> None:
        """tc tbf on the site's link: ``out`` = traffic leaving the namespace, ``in`` = traffic towards it."""
        tc = require_program("tc")
        argv = ["qdisc", "replace", "dev"]
        shape = ["root", "tbf", "rate", rate, "burst", burst, "latency", latency]
        if direction == "out":
            self.run(site, tc, *argv, site.ns_if, *shape)
        elif direction == "in":
            _run([tc, *argv, site.host_if, *shape])
        else:
            raise ValueError(f"direction must be 'out' or 'in', not {direction!r}")

    @staticmethod
    def _stop(proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Stop the peers (by PID), then delete the namespaces; their veth pairs and routes go with them."""
        errors = []
        for proc in reversed(self.procs):
            try:
                self._stop(proc)
            except (OSError, subprocess.SubprocessError) as exc:
                errors.append(f"stopping PID {proc.pid}: {exc}")
        self.procs.clear()
        for site in reversed(self.sites):
            # The host end first: deleting it removes the pair and its routes at once (netns teardown is lazy).
            for argv in ([self.ip, "link", "del", site.host_if], [self.ip, "netns", "del", site.ns]):
                try:
                    _run(argv)
                except LabError as exc:
                    if "Cannot find device" not in str(exc):
                        errors.append(str(exc))
        self.sites.clear()
        if errors:  # never hide a leak: say what was left behind
            raise LabError("lab cleanup left something behind: " + "; ".join(errors))
