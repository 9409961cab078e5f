"""Helpers of the readiness lab test (tests/test_readiness_lab.py): codecs, load and repairs inside lab namespaces.

    codec = start_kamailio_in(lab, site, folder)        # a real SIP peer at site.ns_addr:5060, inside the namespace
    load = start_blaster(site.void_addr, 8e6)           # UDP towards the namespace, paced; stop_process(load)
    undrop_icmp(lab, site); undelay(lab, site, releaser)   # repair what netlab's drop_icmp / delay did
    metric_samples(meeting_text(engine.snapshot), "giaoban_meeting_site_ready")  # {(("meeting", m), ("site", s)): 1.0}

Everything here sends only to addresses of namespaces the test made (198.18.0.0/15) and is stopped by PID.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.clock import wait_until_blocking
from tests.kamailio_lab import _CONFIG, _modules_dir
from tests.netlab import NFT_TABLE, Lab, Site
from tests.peers import require_program
from tests.test_snmp_lab import BLASTER

SIP_PORT = 5060  # each namespace has its own port space: the codec's standard port is free there


def whole_second(moment: datetime) -> datetime:
    """Meetings are stored to the second: a start the database gives back unchanged."""
    return datetime.fromtimestamp(int(moment.timestamp()), UTC)


def start_kamailio_in(lab: Lab, site: Site, folder: Path, port: int = SIP_PORT) -> subprocess.Popen[str]:
    """kamailio (tests/kamailio_lab.py routes: OPTIONS → 200) on site.ns_addr:port inside the site's namespace.

    ``lab.spawn`` records it, so Lab.close() stops it by PID if the test does not."""
    binary = require_program("kamailio")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "kamailio.cfg"
    text = _CONFIG.format(port=port, server="giaoban-lab codec", modules=_modules_dir())
    config.write_text(text.replace("127.0.0.1", site.ns_addr))
    log = (folder / "kamailio.log").open("wb")
    try:
        proc = lab.spawn(site, [binary, "-f", str(config), "-DD", "-E", "-Y", str(folder), "-w", str(folder)],
                         stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    finally:
        log.close()  # the child holds its own copy

    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"kamailio in {site.ns} exited: {(folder / 'kamailio.log').read_text()[-2000:]}")
        with socket.socket() as probe:  # kamailio listens on TCP too: a connect says it is up
            probe.settimeout(1)
            return probe.connect_ex((site.ns_addr, port)) == 0

    wait_until_blocking(listening, timeout=10, what=f"kamailio to listen on {site.ns_addr}:{port}")
    return proc


def start_blaster(address: str, payload_bps: float, seconds: float = 80.0) -> subprocess.Popen[bytes]:
    """UDP datagrams of 1200 bytes to ``address`` port 9, paced at ``payload_bps`` for at most ``seconds``.

    On the wire each is a 1242-byte frame (UDP, IP and Ethernet headers), so the link carries 3.5 % more."""
    return subprocess.Popen([sys.executable, "-c", BLASTER, address, "9", repr(payload_bps), repr(seconds)])


def undrop_icmp(lab: Lab, site: Site) -> None:
    """Remove netlab's drop_icmp rule: the line is clean again."""
    lab.run(site, require_program("nft"), "delete", "table", "inet", NFT_TABLE)


def undelay(lab: Lab, site: Site, releaser: subprocess.Popen[str]) -> None:
    """Remove netlab's delay: the NFQUEUE rule first (nothing is queued any more), then the releaser, by PID."""
    iptables = require_program("iptables")
    lab.run(site, iptables, "-D", "OUTPUT", "-o", site.ns_if, "-j", "NFQUEUE", "--queue-num", "1", "--queue-bypass")
    Lab._stop(releaser)  # SIGTERM: it accepts what it still holds


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric in exposition text, keyed by their (sorted) label pairs."""
    samples = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == name:
            labels = tuple(sorted(_LABEL.findall(match["labels"] or "")))
            samples[labels] = float(match["value"])
    return samples
