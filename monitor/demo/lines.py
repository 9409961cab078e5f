"""Lossy lines for the demo: the service's pinger forgets the echo replies a failing line would have lost.

Loopback loses nothing, and making the kernel drop some packets needs root and changes the host (netem,
nftables), so the demo loses them where it can without either: between the pinger and the round it hands to
the ICMP probe. The echoes are still sent and answered by the kernel; everything after the round (loss, MOS,
thresholds, readiness, alerts) is the real service's.

Which replies are lost is deterministic: a line with loss ratio r loses echo k (counted over every round to
that address) when floor((k+1)·r) > floor(k·r), so any round of n echoes loses floor(n·r) or ceil(n·r) of
them. A readiness round of 50 echoes at 2 % always loses exactly one: the verdict does not flap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Literal

from probes.core.context import Echoes, IcmpModeInfo, Pinger


class LossyPinger:
    """A Pinger (probes/core/context.py) that loses a share of the replies from some addresses."""

    def __init__(self, inner: Pinger, loss: Mapping[str, Fraction]) -> None:
        self._inner = inner
        self._loss = {address: ratio for address, ratio in loss.items() if ratio > 0}
        self._sent: dict[str, int] = {}  # echoes to each lossy address so far

    @property
    def mode(self) -> IcmpModeInfo:
        return self._inner.mode

    @property
    def mode_name(self) -> Literal["unprivileged", "privileged"]:
        return self._inner.mode_name

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
    ) -> Echoes:
        ratio = self._loss.get(address)
        first = self._sent.get(address, 0)
        if ratio is not None:
            self._sent[address] = first + count  # before the await: rounds that overlap take their own echoes
        rtts = await self._inner.round(
            address,
            count=count,
            interval=interval,
            timeout=timeout,
            payload_size=payload_size,
            dscp=dscp,
            family=family,
        )
        if ratio is None:
            return rtts
        kept = [None if lost(first + seq, ratio) else rtt for seq, rtt in enumerate(rtts)]
        # The kernel's hop limit stays: what the demo loses never left the host.
        return Echoes(kept, rtts.hop_limit if any(rtt is not None for rtt in kept) else None)


def lost(echo: int, ratio: Fraction) -> bool:
    """Whether a line that loses ``ratio`` of its echoes loses echo number ``echo`` (from 0)."""
    return math.floor((echo + 1) * ratio) > math.floor(echo * ratio)
