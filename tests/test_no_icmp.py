"""`giaoban demo` as an ordinary user without ICMP permission (issue 14): one alert to the admins, no link down.

The demo runs as nobody (uid/gid 65534, no capabilities) in a new network namespace with only loopback, whose
``net.ipv4.ping_group_range`` is "1 0" (closed): the machine's own setting is never touched. The test reads
/metrics and the board from inside that namespace (``nsenter --net``) and the webhook's notifications from
the demo's folder. Before issue 14 this run sent 77 notifications in three minutes.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.demo.inventory import TOKEN_ENV, demo_plan, faulty
from tests.clock import wait_until_blocking
from tests.peers import free_port, require_program, require_root, stop_process
from tests.service_harness import ROOT

PLAN = demo_plan()
UNITS = [site for site in PLAN if site.code is not None]  # every unit has a link; the hub is the other end
FAULTS = faulty(PLAN)
pytestmark = [pytest.mark.timeout(180), pytest.mark.root]

NOBODY = 65534
FIX = f'ping_group_range="{NOBODY} {NOBODY}"'


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    base: str
    folder: Path
    output: Path

    def get(self, path: str) -> str:
        """GET from inside the demo's network namespace (it listens on that namespace's loopback)."""
        fetch = (
            "import sys, urllib.request; "
            "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())"
        )
        argv = [require_program("nsenter"), f"--net=/proc/{self.process.pid}/ns/net", sys.executable, "-c", fetch]
        done = subprocess.run([*argv, self.base + path], capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def notifications(self) -> list[dict[str, Any]]:
        path = self.folder / "notifications.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture
def demo_without_icmp() -> Iterator[Demo]:
    require_root()
    unshare, setpriv = require_program("unshare"), require_program("setpriv")
    require_program("ip")
    # Not under pytest's tmp_path: nobody cannot enter root's 0700 folders. Removed at the end.
    top = Path(tempfile.mkdtemp(prefix="giaoban-no-icmp-"))
    folder = top / "demo"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)
    os.chmod(top, 0o755)
    port = free_port()
    setup = 'ip link set lo up && echo "1 0" > /proc/sys/net/ipv4/ping_group_range'
    drop = f"--reuid={NOBODY} --regid={NOBODY} --clear-groups --inh-caps=-all --bounding-set=-all"
    script = f'{setup} && exec "$0" {drop} "$1" -m monitor demo --listen 127.0.0.1:{port} --dir "$2"'
    env = {**os.environ, TOKEN_ENV: "no-icmp-test-token", "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"}
    output = top / "stdout.txt"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [unshare, "-n", "sh", "-c", script, setpriv, sys.executable, str(folder)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # unshare and sh exec: this PID is the demo's, its namespace the one the test reads from
        try:
            yield Demo(process, f"http://127.0.0.1:{port}", folder, output)
        finally:
            stop_process(process)
            shutil.rmtree(top, ignore_errors=True)


def test_demo_without_icmp_sends_one_setup_alert(demo_without_icmp: Demo) -> None:
    """Exactly one notification about ICMP, to the admins, with a fix for giaoban's own group; no per-site
    link alert; /metrics has no link down for the unmeasured links; the board shows the fix once."""
    demo = demo_without_icmp

    def setup_alert() -> list[dict[str, Any]] | None:
        assert demo.process.poll() is None, demo.output.read_text(errors="replace")
        found = [n for n in demo.notifications() if n["alertname"] == "GiaobanProbeSetup"]
        readiness = demo.folder / "readiness.jsonl"
        return found if found and readiness.exists() else None  # the T-150 s check has run by then too

    wait_until_blocking(setup_alert, timeout=120, what="the probe_setup notification", every=1.0)

    metrics = demo.get("/metrics")
    assert not re.search(r"^giaoban_link_up\{", metrics, re.M), "an unmeasured link is exported as down"
    measured = re.findall(r'^giaoban_probe_measured\{site="([^"]+)",target="[^"]+",kind="icmp"\} (\S+)$', metrics, re.M)
    assert {site for site, _ in measured} == {c.id for c in UNITS} and {v for _, v in measured} == {"0.0"}
    page = demo.get("/")
    seen = " ".join(
        html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", page, flags=re.S))).split()
    )
    assert seen.count(FIX) == 1, "the board shows the fix once"
    assert f"giaoban chưa đo được {len(measured)} mục kiểm tra icmp" in seen and "setcap" not in page
    assert "Không đo được đường truyền" not in seen, "no site card repeats it"

    # The T-90 s check too: its reminders reach the faulty sites, and still nothing more about ICMP.
    wait_until_blocking(
        lambda: any(n["event"] == "reminder" for n in demo.notifications()),
        timeout=60,
        what="the T-90 s check's reminders",
        every=1.0,
    )
    notes = demo.notifications()
    about_icmp = [n for n in notes if FIX in n["text"] or "ICMP" in n["subject"] or "icmp" in n["subject"]]
    assert len(about_icmp) == 1, [n["subject"] for n in about_icmp]
    (setup,) = about_icmp
    assert setup["alertname"] == "GiaobanProbeSetup" and "site" not in setup["labels"]
    assert [r["id"] for r in setup["recipients"]] == ["hoa"], "the admins only"
    assert "AmbientCapabilities=CAP_NET_RAW" in setup["text"] and "setcap" not in setup["text"]
    assert not [n for n in notes if n["alertname"].startswith("GiaobanLink")], "no per-site link alert"
    not_ready = {n["labels"]["site"] for n in notes if n["alertname"] == "GiaobanSiteNotReady"}
    assert not_ready <= set(FAULTS), f"sites announced for giaoban's own fault: {sorted(not_ready - set(FAULTS))}"
    assert all("Không đo được đường truyền" not in n["text"] for n in notes)
    events = [json.loads(line) for line in (demo.folder / "readiness.jsonl").read_text().splitlines()]
    assert {e["site"] for e in events if e["kind"] == "site_not_ready"} <= set(FAULTS)
    banner = demo.output.read_text(errors="replace")
    assert f"sysctl -w net.ipv4.{FIX}" in banner and "Chỉ cấp quyền cho nhóm của giaoban" in banner
