"""A real net-snmp snmpd for tests and benchmarks (Debian's snmpd 5.9), on loopback or inside a lab namespace.

    with Snmpd(tmp_path, port=free_udp_port()) as agent:     # v2c community + v3 users of USERS
        agent.target                                          # "127.0.0.1:PORT"
        agent.cli("snmpget", "1.3.6.1.2.1.1.3.0")             # net-snmp's own answer, v2c by default
        agent.restart()                                       # same engine ID, engineBoots + 1, uptime from 0
        agent.set_ups({"output_source": 5, ...})              # UPS-MIB values its pass_persist script serves

The agent reads its configuration from its own folder plus a persistent folder (SNMPCONFPATH), so a restart
keeps the SNMPv3 engine ID and raises engineBoots as a real router's reboot does (with ``-C`` it would not).
It is stopped by the PID this module started; ``ip netns exec`` execs snmpd, so that PID is snmpd's own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.peers import require_program

COMMUNITY = "labpublic"


@dataclass(frozen=True, slots=True)
class User:
    name: str
    auth: str | None = None  # net-snmp spelling: MD5, SHA, SHA-256, SHA-512, ...
    auth_key: str = ""
    priv: str | None = None  # DES, AES, AES-256, ...
    priv_key: str = ""

    def create_line(self) -> str:
        line = f"createUser {self.name}"
        if self.auth:
            line += f' {self.auth} "{self.auth_key}"'
            if self.priv:
                line += f' {self.priv} "{self.priv_key}"'
        return line

    def level(self) -> str:
        return "priv" if self.priv else "auth" if self.auth else "noauth"

    def cli_args(self) -> list[str]:
        args = [
            "-v3",
            "-u",
            self.name,
            "-l",
            {"priv": "authPriv", "auth": "authNoPriv"}.get(self.level(), "noAuthNoPriv"),
        ]
        if self.auth:
            args += ["-a", self.auth, "-A", self.auth_key]
        if self.priv:
            args += ["-x", self.priv, "-X", self.priv_key]
        return args


USERS = (
    User("labv3user", "SHA", "labAuthPass123", "AES", "labPrivPass123"),
    User("md5des", "MD5", "labAuthPass123", "DES", "labPrivPass123"),
    User("sha256aes256", "SHA-256", "labAuthPass256", "AES-256", "labPrivPass256"),
    User("authonly", "SHA-512", "labAuthPass512"),
    User("noauth"),
)

# pass_persist handler serving UPS-MIB (RFC 1628) scalars from a JSON file the test rewrites; snmpd runs it.
UPS_AGENT = r"""
import json, sys
STATE = sys.argv[1]
TYPES = {"integer": "integer", "gauge": "gauge"}
def table():
    try:
        with open(STATE) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    rows = [(tuple(int(p) for p in oid.strip(".").split(".")), kind, value) for oid, (kind, value) in data.items()]
    return sorted(rows)
def answer(row):
    oid, kind, value = row
    return "." + ".".join(map(str, oid)) + "\n" + kind + "\n" + str(value) + "\n"
for line in sys.stdin:
    command = line.strip()
    if command == "PING":
        sys.stdout.write("PONG\n")
    elif command in ("get", "getnext"):
        wanted = tuple(int(p) for p in sys.stdin.readline().strip().strip(".").split(".") if p)
        rows = table()
        if command == "get":
            found = [r for r in rows if r[0] == wanted]
        else:
            found = [r for r in rows if r[0] > wanted]
        sys.stdout.write(answer(found[0]) if found else "NONE\n")
    elif command == "set":
        sys.stdin.readline(); sys.stdin.readline()
        sys.stdout.write("not-writable\n")
    sys.stdout.flush()
"""

UPS_OIDS = {
    "battery_status": "1.3.6.1.2.1.33.1.2.1.0",
    "seconds_on_battery": "1.3.6.1.2.1.33.1.2.2.0",
    "minutes_remaining": "1.3.6.1.2.1.33.1.2.3.0",
    "charge_remaining": "1.3.6.1.2.1.33.1.2.4.0",
    "output_source": "1.3.6.1.2.1.33.1.4.1.0",
}


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class SnmpdError(RuntimeError):
    pass


class Snmpd:
    """One snmpd; ``netns`` runs it inside that namespace (tests/netlab.py), listening on ``address`` at ``port``
    (and ``more_ports``: one agent standing in for many devices in a benchmark)."""

    def __init__(
        self,
        folder: Path,
        *,
        address: str = "127.0.0.1",
        port: int | None = None,
        community: str = COMMUNITY,
        users: Sequence[User] = USERS,
        sys_name: str = "lab-snmpd",
        ups: bool = False,
        netns: str | None = None,
        extra: Sequence[str] = (),
        more_ports: Sequence[int] = (),
    ) -> None:
        self.snmpd = require_program("snmpd")
        self.folder = folder
        self.address, self.port = address, port if port is not None else free_udp_port()
        self.ports = (self.port, *more_ports)
        self.community, self.users, self.netns = community, tuple(users), netns
        self.proc: subprocess.Popen[bytes] | None = None
        for sub in ("conf", "persist", "cli", "empty-mibs"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self.log = folder / "snmpd.log"
        self.ups_state = folder / "ups.json"
        lines = [
            "agentAddress " + ",".join(f"udp:{address}:{port}" for port in self.ports),
            f"rocommunity {community} default",
            *(u.create_line() for u in self.users),
            *(f"rouser {u.name} {u.level()}" for u in self.users),
            f"sysName {sys_name}",
            "dontLogTCPWrappersConnects yes",  # no line per request in the log
            *extra,
        ]
        if ups:
            script = folder / "ups_agent.py"
            script.write_text(UPS_AGENT)
            lines.append(f"pass_persist .1.3.6.1.2.1.33 {sys.executable} {script} {self.ups_state}")
        (folder / "conf" / "snmpd.conf").write_text("\n".join(lines) + "\n")

    @property
    def target(self) -> str:
        return f"{self.address}:{self.port}"

    def __enter__(self) -> Snmpd:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        env = {
            **os.environ,
            "SNMPCONFPATH": f"{self.folder / 'conf'}:{self.folder / 'persist'}",
            "SNMP_PERSISTENT_DIR": str(self.folder / "persist"),
        }
        argv = [self.snmpd, "-f", "-Lo", "-M", str(self.folder / "empty-mibs"), "-m", ""]
        if self.netns is not None:
            argv = [require_program("ip"), "netns", "exec", self.netns, *argv]
        start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[start:].decode(errors="replace")
            if "NET-SNMP version" in text:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise SnmpdError(f"snmpd did not start on {self.target}: {self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        """SIGTERM by PID (snmpd then saves engineBoots), SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def set_ups(self, values: Mapping[str, int]) -> None:
        """Serve these UPS-MIB values (keys of UPS_OIDS) from now on; keys left out are absent."""
        state = {UPS_OIDS[key]: ["integer", value] for key, value in values.items()}
        partial = self.ups_state.with_suffix(".tmp")
        partial.write_text(json.dumps(state))
        partial.replace(self.ups_state)  # atomic: the handler never reads half a file

    def cli(
        self, command: str, *argv: str, user: User | None = None, version: str = "2c", community: str | None = None
    ) -> str:
        """Run a net-snmp command (snmpget, snmpbulkwalk, snmpset) against this agent; numeric output.
        SNMPv3 as ``user``, else ``version`` ("1" or "2c") with ``community`` (default: the agent's)."""
        auth = user.cli_args() if user else [f"-v{version}", "-c", community or self.community]
        env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(self.folder / "cli")}
        args = [require_program(command), *auth, "-On", "-Oe", "-t", "2", "-r", "1", self.target, *argv]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30, check=False)
        if proc.returncode != 0:
            raise SnmpdError(f"{' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout


def parse_values(output: str) -> dict[str, str]:
    """``.1.3.6... = Counter64: 123`` lines → {"1.3.6...": "123"} (strings kept as printed)."""
    values = {}
    for line in output.splitlines():
        name, sep, rest = line.partition(" = ")
        if sep:
            values[name.lstrip(".")] = rest.partition(": ")[2].strip().strip('"')
    return values
