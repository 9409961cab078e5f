"""The one registry of probe kinds.

Each kind is a module with ``KIND``, a settings model (pydantic, ``extra="forbid"``) and
``async def probe(target, settings, *, ctx) -> ProbeResult``. The config's discriminated union of
endpoint kinds and the /probe handler are both built from ``KINDS``, so adding a kind is one entry here
(tests/test_registry.py proves the config and the registry agree).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from probes import http, icmp, tcp
from probes.base import ProbeContext, ProbeResult, Reason, Settings


@dataclass(frozen=True, slots=True)
class ProbeKind:
    name: str
    settings: type[Settings]
    probe: Callable[..., Awaitable[ProbeResult]]
    default_port: int | None = None  # joined to an endpoint's address when it gives none
    target_is_url: bool = False  # the endpoint's address is a URL (http)
    # How long one run may take when its duration follows from its settings (an ICMP round);
    # None: the endpoint's or the defaults' timeout applies.
    deadline: Callable[[Any], float] | None = None


KINDS: dict[str, ProbeKind] = {
    icmp.KIND: ProbeKind(icmp.KIND, icmp.IcmpSettings, icmp.probe, deadline=icmp.deadline),
    tcp.KIND: ProbeKind(tcp.KIND, tcp.TcpSettings, tcp.probe),
    http.KIND: ProbeKind(http.KIND, http.HttpSettings, http.probe, target_is_url=True),
}

__all__ = ["KINDS", "ProbeContext", "ProbeKind", "ProbeResult", "Reason", "Settings"]
