"""Decide once at start, off the event loop, how this process can send ICMP echo (as home-assistant's ping).

Unprivileged ICMP sockets (``SOCK_DGRAM``/``IPPROTO_ICMP``, allowed by ``net.ipv4.ping_group_range``) are
preferred: the kernel demultiplexes replies per socket and no privilege is needed. Raw sockets (root or
CAP_NET_RAW) come second. When neither works the message says exactly what to change, and the change it
suggests gives ICMP to giaoban alone (issue 14): ``net.ipv4.ping_group_range`` for giaoban's own group, or
``AmbientCapabilities=CAP_NET_RAW`` in its systemd unit (deploy/giaoban.service) — never a capability on the
system's Python, which every script run with it would inherit. The detection sends one echo to 127.0.0.1
(and one to ::1 to learn whether IPv6 is usable) with icmplib; it blocks for up to a second, so the service
calls it through ``asyncio.to_thread``::

    IcmpMode(mode="unprivileged", ipv6_available=True, gid=0, ping_group_range="0 2147483647",
             message="unprivileged ICMP sockets (net.ipv4.ping_group_range '0 2147483647' covers group 0); IPv6 usable")

A probe that cannot send (``mode="none"``) carries ``setup_info()`` in its result's ``info``, from which the
alerts and the board say the fix in Vietnamese and English (monitor/engine/setup.py).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import icmplib

log = logging.getLogger(__name__)

Mode = Literal["unprivileged", "privileged", "none"]

PING_GROUP_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")
DISABLE_IPV6 = Path("/proc/sys/net/ipv6/conf/all/disable_ipv6")

# ProbeResult.info["setup"] of a probe that could not send for want of ICMP permission (monitor/engine/setup.py).
SETUP_ICMP = "icmp_permission"
UNIT_FILE = "deploy/giaoban.service"


def sysctl_command(gid: int) -> str:
    """The sysctl that lets group ``gid`` alone open ICMP echo sockets (the range is one group wide)."""
    return f'sysctl -w net.ipv4.ping_group_range="{gid} {gid}"'


def covers(group_range: str, gid: int) -> bool:
    """Whether ping_group_range ("LOW HIGH"; "1 0", the default, is empty) lets group ``gid`` open echo sockets."""
    try:
        low, high = (int(part) for part in group_range.split())
    except ValueError:
        return False
    return low <= gid <= high


def how_to_enable(gid: int, group_range: str) -> str:
    """What to change, for the log and the probe's detail; the alerts and the board say it in vi/en from info."""
    if covers(group_range, gid):  # the sysctl is not what refuses: only the capability is left to suggest
        return (
            f"net.ipv4.ping_group_range ('{group_range}') already covers giaoban's group {gid}, so something else "
            "refuses the socket (a seccomp or address-family filter?); run giaoban from its systemd unit with "
            f"`AmbientCapabilities=CAP_NET_RAW` ({UNIT_FILE})"
        )
    return (
        f"allow ICMP echo sockets for giaoban's group only with `{sysctl_command(gid)}` (now '{group_range}'; "
        "the setting is per network namespace and covers IPv6 too; persist it in /etc/sysctl.d/), "
        f"or run giaoban from its systemd unit with `AmbientCapabilities=CAP_NET_RAW` ({UNIT_FILE})"
    )


@dataclass(frozen=True, slots=True)
class IcmpMode:
    """The one ICMP choice of this process, with a sentence for the log and for failed probes."""

    mode: Mode
    ipv6_available: bool
    message: str
    gid: int = 0  # this process's effective group, the one ping_group_range must cover
    ping_group_range: str = "unknown"  # the setting as read at detection

    @property
    def usable(self) -> bool:
        return self.mode != "none"

    @property
    def privileged(self) -> bool:
        return self.mode == "privileged"


_last: IcmpMode | None = None


def last_detected() -> IcmpMode | None:
    """The result of the last detection in this process (for a probe that has no pinger to ask)."""
    return _last


def _ping_group_range() -> str:
    try:
        return " ".join(PING_GROUP_RANGE.read_text().split())
    except OSError:
        return "unknown"


def _echo(address: str, *, privileged: bool) -> str | None:
    """Send one echo; None when a reply came back, else why not."""
    try:
        host = icmplib.ping(address, count=1, timeout=1, privileged=privileged)
    except icmplib.SocketPermissionError:
        return "not permitted"
    except (icmplib.ICMPLibError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if host.is_alive else f"no reply from {address}"


def _ipv6_state(mode: Mode) -> str | None:
    """None when IPv6 echo works in ``mode``, else why not."""
    if not socket.has_ipv6:
        return "Python was built without IPv6"
    try:
        if DISABLE_IPV6.read_text().strip() != "0":
            return "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1)"
    except OSError:
        return "the kernel has no IPv6 (no /proc/sys/net/ipv6)"
    return _echo("::1", privileged=mode == "privileged")


def detect_icmp_mode() -> IcmpMode:
    """Try unprivileged ICMP, then raw sockets; learn whether IPv6 works. Blocking: run it in a thread."""
    global _last  # noqa: PLW0603 - the once-per-process detection result, read by last_detected()
    group_range, gid = _ping_group_range(), os.getegid()
    unprivileged = _echo("127.0.0.1", privileged=False)
    privileged = _echo("127.0.0.1", privileged=True) if unprivileged else None
    mode: Mode
    if unprivileged is None:
        mode = "unprivileged"
        message = f"unprivileged ICMP sockets (net.ipv4.ping_group_range '{group_range}' covers group {gid})"
    elif privileged is None:
        mode = "privileged"
        message = (
            f"raw ICMP sockets (root or CAP_NET_RAW); unprivileged sockets failed ({unprivileged}; "
            f"net.ipv4.ping_group_range is '{group_range}', this process's group is {gid})"
        )
    else:
        mode = "none"
        message = (
            f"no way to send ICMP echo: unprivileged sockets failed ({unprivileged}; net.ipv4.ping_group_range "
            f"is '{group_range}', this process's group is {gid}) and raw sockets failed ({privileged}). "
            f"To fix it, {how_to_enable(gid, group_range)}"
        )
    ipv6_problem = _ipv6_state(mode) if mode != "none" else "no ICMP at all"
    if mode != "none":
        message += "; IPv6 usable" if ipv6_problem is None else f"; IPv6 not usable: {ipv6_problem}"
    _last = IcmpMode(mode, ipv6_problem is None, message, gid=gid, ping_group_range=group_range)
    log.debug("ICMP mode detected: %s", _last)
    return _last


def unavailable_message() -> str:
    """Why a probe cannot send ICMP: the detector's own sentence when it ran, else what to change."""
    if _last is not None and not _last.usable:
        return _last.message
    return f"ICMP is not available to this process; {how_to_enable(os.getegid(), _ping_group_range())}"


def setup_info() -> dict[str, str]:
    """What a probe that cannot send ICMP puts in its result's info: enough to say the fix in any language."""
    mode = _last if _last is not None and not _last.usable else None
    gid = mode.gid if mode is not None else os.getegid()
    group_range = mode.ping_group_range if mode is not None else _ping_group_range()
    covered = "yes" if covers(group_range, gid) else "no"
    return {"setup": SETUP_ICMP, "gid": str(gid), "ping_group_range": group_range, "covered": covered}
