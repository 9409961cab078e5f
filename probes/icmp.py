"""ICMP echo rounds: RTT spread, jitter, loss and an estimated MOS for each link."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.units import Dscp, Duration
from probes.base import ProbeContext, ProbeResult, Settings

KIND = "icmp"


class IcmpSettings(Settings):
    count: int = Field(10, ge=1, le=1000, description="echoes per round")
    interval: Duration = Field(0.2, gt=0, description="time between echoes")
    timeout: Duration = Field(2.0, gt=0, description="how long to wait for the last reply")
    payload_size: int = Field(56, ge=0, le=65000, description="ICMP payload bytes")
    dscp: Dscp = Field(34, description="DSCP mark; AF41 (34) like interactive video")
    ip_version: Literal[4, 6] | None = Field(None, description="force IPv4 or IPv6; default: as resolved")


async def probe(target: str, settings: IcmpSettings, *, ctx: ProbeContext) -> ProbeResult:
    raise NotImplementedError  # filled in by the ICMP engine work


def deadline(settings: IcmpSettings) -> float:
    """Longest a round can legitimately take; the scheduler cancels beyond this."""
    return (settings.count - 1) * settings.interval + settings.timeout + 1.0
