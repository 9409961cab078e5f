"""The clients every probe shares, as Protocols: the kernel names what a probe may use, probes/context.py makes it.

Typed by Protocol so that probes.core imports no probe kind (docs/architecture.md): the ICMP pinger lives in
probes/icmp/pinger.py, the SNMP poller in probes/snmp/poller.py, and both satisfy these shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
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


class Echoes(list[float | None]):
    """A round's RTTs in seconds in send order (None: no reply), and its first reply's hop limit.

    A list, so that what handled a round's RTTs still does; ``hop_limit`` is the IPv4 TTL / IPv6 hop limit of
    the first reply in send order (blackbox_exporter's ``probe_icmp_reply_hop_limit`` of its one echo), None
    without a reply or where the kernel did not say.
    """

    __slots__ = ("hop_limit",)

    def __init__(self, rtts: Iterable[float | None] = (), hop_limit: int | None = None) -> None:
        super().__init__(rtts)
        self.hop_limit = hop_limit


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
    ) -> Echoes: ...


class SnmpPoller(Protocol):
    """Polls of SNMP devices through the process's one engine (probes/snmp/poller.py); raises ProbeFailed."""

    async def poll(self, host: str, port: int, settings: Any) -> tuple[Any, dict[str, float]]: ...


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """Clients made once per process and shared by every probe."""

    http: aiohttp.ClientSession | None = None
    pinger: Pinger | None = None
    snmp: SnmpPoller | None = None
