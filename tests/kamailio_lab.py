"""A real kamailio on 127.0.0.1 (Debian's 5.6), answering OPTIONS by the Request-URI user, for the SIP probe tests.

Routes (one instance, UDP and TCP on the same free port)::

    sip:HOST:PORT            200 OK
    sip:busy@HOST:PORT       486 Busy Here
    sip:decline@HOST:PORT    603 Decline
    sip:unavailable@...      503 Service Unavailable
    sip:ringing@...          180 Ringing, then 200 OK (a provisional response must be skipped)
    sip:silent@...           dropped: no answer at all

Started in a temporary folder, stopped by the PID it was started with (kamailio's main process takes its
children down on SIGTERM).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.clock import wait_until_blocking
from tests.peers import free_port, require_program

SERVER_HEADER = "giaoban-lab kamailio"

_CONFIG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
dns=no
rev_dns=no
auto_aliases=no
server_header="Server: {server}"
mpath="{modules}"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
request_route {{
    if (!is_method("OPTIONS")) {{ sl_send_reply("501", "Not Implemented"); exit; }}
    if ($rU == "busy") {{ sl_send_reply("486", "Busy Here"); exit; }}
    if ($rU == "decline") {{ sl_send_reply("603", "Decline"); exit; }}
    if ($rU == "unavailable") {{ sl_send_reply("503", "Service Unavailable"); exit; }}
    if ($rU == "silent") {{ drop; }}
    if ($rU == "ringing") {{ sl_send_reply("180", "Ringing"); }}
    sl_send_reply("200", "OK");
}}
"""


@dataclass(frozen=True, slots=True)
class Kamailio:
    port: int
    pid: int

    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _free_udp_and_tcp_port() -> int:
    for _ in range(20):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both UDP and TCP")


def _modules_dir() -> str:
    for candidate in Path("/usr/lib").glob("*/kamailio/modules"):
        return str(candidate)
    return "/usr/lib/x86_64-linux-gnu/kamailio/modules"


@contextlib.contextmanager
def kamailio(directory: Path) -> Iterator[Kamailio]:
    """Start kamailio with the routes above; stop it (by its PID) on exit."""
    binary = require_program("kamailio")
    port = _free_udp_and_tcp_port()
    config = directory / "kamailio.cfg"
    config.write_text(_CONFIG.format(port=port, server=SERVER_HEADER, modules=_modules_dir()))
    log = (directory / "kamailio.log").open("wb")
    process = subprocess.Popen(
        [binary, "-f", str(config), "-DD", "-E", "-Y", str(directory), "-w", str(directory)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(port, process, directory)
        yield Kamailio(port=port, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], directory: Path) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"kamailio exited with {process.returncode}: {(directory / 'kamailio.log').read_text()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until_blocking(listening, timeout=10, what=f"kamailio to listen on 127.0.0.1:{port}")
