"""The recordings of snmpsim-data served by snmpsim on loopback, and net-snmp's own reading of them.

    recordings = trim_recordings(folder / "data")           # {community: Recording}: the objects giaoban reads
    with Snmpsim(folder, recordings) as agent:               # snmpsim-command-responder on 127.0.0.1:PORT
        agent.target                                         # "127.0.0.1:PORT"; the community names the device
        await netsnmp_columns(agent, "network/switch/cisco-c3560", COLUMNS)   # {column: {ifIndex: bytes|int}}

The recordings (snmpsim-data 1.0.1, BSD-2-Clause: tests/conformance/SOURCES.md) are walks of real devices
taken by their owners. snmpsim indexes each file it serves in a dbm; this Python has no gdbm, and its
dbm.dumb index of the whole package took 17 minutes and 14 GB. So each recording is cut, once per run, to
the subtrees giaoban reads (system, interfaces, ifXTable, UPS-MIB) with every line kept as recorded, and
the cut files are what snmpsim serves: both readers see the same agent answering the same values.
"""

from __future__ import annotations

import asyncio
import bz2
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from probes.snmp.session import Oid
from tests.peers import free_port, require_program, stop_process

# The subtrees giaoban's SNMP probe reads (probes/snmp/poller.py, ifmib.py, ups.py).
_WANTED = re.compile(rb"^1\.3\.6\.1\.2\.1\.(?:1|2|31\.1\.1|33)\.[^\n]*", re.MULTILINE)
_PAST = (1, 3, 6, 1, 2, 1, 34)  # recordings are sorted by OID: nothing wanted lies beyond this
_IF_INDEX = b"1.3.6.1.2.1.2.2.1.1."
_UPS = b"1.3.6.1.2.1.33."


@dataclass(frozen=True, slots=True)
class Recording:
    community: str  # snmpsim's community for the file: its path below data/, without the extension
    source: str  # the file in snmpsim-data
    interfaces: int  # rows of ifTable
    ups: bool  # implements UPS-MIB (RFC 1628)


def snmpsim_data() -> Path:
    """The recordings folder of the installed snmpsim-data package."""
    import snmpsim_data

    return Path(snmpsim_data.__file__).parent / "data"


def _past_end(block: bytes) -> bool:
    last = block.rstrip(b"\n").rsplit(b"\n", 1)[-1].split(b"|", 1)[0]
    try:
        return tuple(int(part) for part in last.split(b".")) >= _PAST
    except ValueError:
        return False


def _wanted_lines(path: Path) -> list[bytes]:
    kept: list[bytes] = []
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rb") as file:
        rest = b""
        while block := file.read(1 << 20):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            whole, rest = block[:cut], block[cut:]
            kept += _WANTED.findall(whole)
            if _past_end(whole):
                return kept
        kept += _WANTED.findall(rest)
    return kept


def trim_recordings(target: Path, source: Path | None = None) -> dict[str, Recording]:
    """Write each recording's wanted lines, unchanged, to ``target``; describe every recording."""
    source = source or snmpsim_data()
    found: dict[str, Recording] = {}
    for path in sorted(source.rglob("*.snmprec*")):
        lines = _wanted_lines(path)
        relative = path.relative_to(source)
        name = relative.name.removesuffix(".bz2")
        out = target / relative.parent / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"\n".join(lines) + b"\n")
        community = str(relative.parent / name.removesuffix(".snmprec"))
        found[community] = Recording(
            community=community,
            source=str(relative),
            interfaces=sum(1 for line in lines if line.startswith(_IF_INDEX)),
            ups=any(line.startswith(_UPS) for line in lines),
        )
    return found


class Snmpsim:
    """snmpsim-command-responder serving ``data`` on 127.0.0.1 and a free UDP port; stopped by its PID."""

    def __init__(self, folder: Path, data: Path, probe_community: str) -> None:
        self.folder, self.data, self.probe_community = folder, data, probe_community
        self.port = free_port(socket.SOCK_DGRAM)
        self.target = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Snmpsim:
        responder = Path(sys.executable).with_name("snmpsim-command-responder")
        cache = self.folder / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if os.geteuid() == 0:
            # snmpsim refuses root unless told to drop to a user; that user could not import the interpreter's
            # lazily loaded modules (dbm.dumb) from a root-only home. Loopback-only and short-lived: stay.
            env["SNMPSIM_ALLOW_ROOT"] = "true"
        log = (self.folder / "snmpsim.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(responder),
                f"--data-dir={self.data}",
                f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
                "--logging-method=stderr",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"snmpsim exited: {(self.folder / 'snmpsim.log').read_text()[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("snmpsim did not answer within 120 s")

    def _answers(self) -> bool:
        proc = subprocess.run(
            [
                require_program("snmpget"),
                "-v2c",
                "-c",
                self.probe_community,
                "-t",
                "0.3",
                "-r",
                "0",
                self.target,
                "1.3.6.1.2.1.1.1.0",
            ],
            capture_output=True,
            env=_cli_env(self.folder),
            check=False,
        )
        return proc.returncode == 0

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def _cli_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(folder / "netsnmp")}


def _oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip().lstrip(".").split("."))


def parse_quick(output: str) -> dict[Oid, bytes | int]:
    """net-snmp's ``-On -OQ -Oe -Ot -Ox`` lines → {OID: value}: strings as bytes (printed in hex, wrapped over
    several lines when long), numbers as int; ``No Such ...`` answers left out."""
    values: dict[Oid, bytes | int] = {}
    lines: list[tuple[Oid, str]] = []
    for line in output.splitlines():
        name, sep, rest = line.partition(" = ")
        if sep and name.startswith("."):
            lines.append((_oid(name), rest))
        elif lines:
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {line}")  # a hex string continued
    for oid, printed in lines:
        value = _value(printed)
        # At the end of the agent's tree a walk repeats its last OID as "No more variables": keep the value.
        if value is not _ABSENT:
            values[oid] = value
    return values


_ABSENT = b"\0absent"


def _value(text: str) -> bytes | int:
    text = text.strip()
    if text.startswith('"'):
        return bytes.fromhex(text.strip('"').replace(" ", ""))
    if text.startswith(("No Such", "No more variables")):
        return _ABSENT
    try:
        return int(text)
    except ValueError:
        return text.encode()  # an IpAddress, an OID value: not compared


async def _run(folder: Path, *argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_cli_env(folder)
    )
    out, err = await proc.communicate()
    if proc.returncode != 0 and b"No Such" not in out:
        raise RuntimeError(f"{' '.join(argv)}: {err.decode(errors='replace').strip()}")
    return out.decode("ascii", errors="replace")


async def netsnmp_columns(agent: Snmpsim, community: str, columns: Iterable[Oid]) -> dict[Oid, dict[int, bytes | int]]:
    """net-snmp's snmpbulkwalk of each column, by ifIndex (one process per column, run together)."""
    walk = require_program("snmpbulkwalk")
    columns = list(columns)
    base = ["-v2c", "-c", community, "-On", "-OQ", "-Oe", "-Ot", "-Ox", "-t", "3", "-r", "2", "-Cr25"]
    outputs = await asyncio.gather(
        *(_run(agent.folder, walk, *base, agent.target, ".".join(map(str, c))) for c in columns)
    )
    table: dict[Oid, dict[int, bytes | int]] = {}
    for column, output in zip(columns, outputs, strict=True):
        rows = parse_quick(output)
        table[column] = {oid[-1]: v for oid, v in rows.items() if oid[:-1] == column}
    return table


async def netsnmp_get(agent: Snmpsim, community: str, oids: Iterable[Oid]) -> Mapping[Oid, bytes | int]:
    """net-snmp's snmpget of these objects (absent ones left out)."""
    argv = [require_program("snmpget"), "-v2c", "-c", community, "-On", "-OQ", "-Oe", "-Ot", "-Ox", "-t", "3"]
    output = await _run(agent.folder, *argv, "-r", "2", agent.target, *(".".join(map(str, o)) for o in oids))
    return parse_quick(output)
