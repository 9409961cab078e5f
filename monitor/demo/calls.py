"""The demo's conference bridge: the provincial briefing in progress, with one commune dropping out and one with
4 % loss (issue 18's acceptance).

The hub and every unit whose codec is reachable (not the failing link's) are in the call from the start; Xã Tân
Cương (DROPS_OUT) leaves ``drop_after`` seconds after the start (two minutes by default; `giaoban demo
--drop-after`); Xã Đức Lương (LOSSY) receives its video with 4 % loss, beyond the 1 % limit. The others have
0.2 % loss and 8 ms of jitter.

The bridge answers in process, in the shapes of probes/vc/media.py, as the reader of bridges of kind ``cms``:
the demo hands it to the service (Service(call_readers=...)). It stands in for the Cisco Meeting Server driver
and its emulation (issue 18's drivers), which replace it once merged: the inventory's bridge entry stays the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from monitor.demo.inventory import SitePlan
from probes.core.context import ProbeContext
from probes.core.secrets import Secret
from probes.vc.media import CallReport, MediaStats, Participant

DROPS_OUT = "05503"  # Xã Tân Cương: leaves the briefing after drop_after
LOSSY = "05776"  # Xã Đức Lương: 4 % video loss towards the site
LOSS = 0.04
DROP_AFTER = 120.0  # seconds after the start (the "after 2 minutes")


class DemoBridgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credentials: Secret | None = None


def participant_uri(site: SitePlan) -> str | None:
    """How the bridge names a site's call leg (the inventory's bridge lists it under the site); None: no leg."""
    return _uri(site) if takes_part(site) else None


def _uri(site: SitePlan) -> str:
    return f"sip:{site.id}@{site.codec_address}"


def takes_part(site: SitePlan) -> bool:
    """The hub's room (its MCU's own leg) and every unit with a room codec are in the briefing's call."""
    return site.role == "province" or site.vendor is not None


def _media(loss: float) -> tuple[MediaStats, ...]:
    return (
        MediaStats("audio", "rx", 0.0, 0.006, 64_000.0),
        MediaStats("audio", "tx", 0.0, 0.005, 64_000.0),
        MediaStats("video", "rx", loss, 0.008, 1_920_000.0),
        MediaStats("video", "tx", 0.002, 0.007, 1_920_000.0),
    )


@dataclass
class DemoBridge:
    """The briefing's call legs as of now: who is connected, with what media."""

    plan: Sequence[SitePlan]
    start: float  # the briefing's start, epoch seconds
    drop_after: float = DROP_AFTER
    clock: Callable[[], float] = time.time
    reads: int = field(default=0)

    def participants(self) -> tuple[Participant, ...]:
        now = self.clock()
        if now < self.start:
            return ()
        legs = []
        for site in self.plan:
            if not takes_part(site) or site.fault == "link_down":
                continue  # the failing link's codec never dials in
            if site.code == DROPS_OUT and now >= self.start + self.drop_after:
                continue
            loss = LOSS if site.code == LOSSY else 0.002
            legs.append(
                Participant(
                    _uri(site),
                    name=f"{site.name} – phòng họp trực tuyến",
                    media=_media(loss),
                    duration_seconds=now - self.start,
                )
            )
        return tuple(legs)

    async def read(self, target: str, settings: Any, ctx: ProbeContext) -> CallReport:
        self.reads += 1
        return CallReport("cms", self.participants(), media_reported=True)
