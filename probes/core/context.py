"""The clients every probe shares, as Protocols: the kernel names what a probe may use, probes/context.py makes it.

Typed by Protocol so that probes.core imports no probe kind (docs/architecture.md): the ICMP pinger lives in
probes/icmp/pinger.py, the SNMP poller in probes/snmp/poller.py, and both satisfy these shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import aiohttp


class IcmpModeInfo(Protocol):
    """How this process sends ICMP echo, decided once at start (probes/icmp/mode.py)."""

    @property
    def ipv6_available(self) -> bool: ...

    @property
    def message(self) -> str: ...


class EchoRound(Protocol):
    """One round's replies, per echo in send order: RTT in seconds and hop limit, None where no reply came."""

    @property
    def rtts(self) -> list[float | None]: ...

    @property
    def hop_limits(self) -> list[int | None]: ...


class Pinger(Protocol):
    """ICMP echo rounds for the whole process (probes/icmp/pinger.py)."""

    @property
    def mode(self) -> IcmpModeInfo: ...

    @property
    def mode_name(self) -> Literal["unprivileged", "privileged"]: ...

    async def round(
        self,
        address: str,
        *,
        count: int,
        interval: float,
        timeout: float,
        payload_size: int = 56,
        dscp: int = 0,
        family: Literal[4, 6] | None = None,
    ) -> list[float | None]: ...

    async def echoes(
        self,
        address: str,
        *,
        count: int,
        interval: float,
        timeout: float,
        payload_size: int = 56,
        dscp: int = 0,
        family: Literal[4, 6] | None = None,
    ) -> EchoRound: ...


class SnmpPoller(Protocol):
    """Polls of SNMP devices through the process's one engine (probes/snmp/poller.py); raises ProbeFailed."""

    async def poll(self, host: str, port: int, settings: Any) -> tuple[Any, dict[str, float]]: ...


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """Clients made once per process and shared by every probe (STYLE.md)."""

    http: aiohttp.ClientSession | None = None
    pinger: Pinger | None = None
    snmp: SnmpPoller | None = None
