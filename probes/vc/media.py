"""In-meeting call state, as room codecs and conference bridges report it (issue 18).

One shape for every driver, so the meeting watch (monitor side) does not know vendors:

- a room codec reports its own calls: usually 0 or 1 ``Participant`` whose ``remote`` is the far end it is connected
  to (the bridge or the hub's MCU), with the media statistics of that call;
- a bridge reports every participant (call leg) it holds; the watch matches each to a site by the addresses or names
  configured for that site.

Directions are the site's point of view: ``rx`` is what the site receives, ``tx`` what it sends. A statistic the
device does not report is ``None``; a participant with no ``MediaStats`` at all has *unknown* quality, never good.
A reader raises ``ProbeFailed`` (with a Reason) when the exchange fails; it never returns a made-up empty report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from probes.core.context import ProbeContext

Direction = Literal["rx", "tx"]
MediaKind = Literal["audio", "video"]


@dataclass(frozen=True, slots=True)
class MediaStats:
    """One media channel (or the device's sum for one kind and direction)."""

    kind: MediaKind
    direction: Direction
    loss_ratio: float | None = None  # 0..1, packets lost / expected, over the device's own window
    jitter_seconds: float | None = None
    rate_bps: float | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    """One call of a codec, or one call leg of a bridge."""

    remote: str  # codec: the far end it is connected to; bridge: the participant's address (URI, number, IP)
    name: str | None = None  # display name, when the device reports one
    connected: bool = True  # False: the call exists but is not (yet / any more) connected
    media: tuple[MediaStats, ...] = ()  # empty: the device reported no statistics for this call
    duration_seconds: float | None = None  # how long the call has lasted, when reported
    id: str | None = None  # the device's own call or leg id, when reported


@dataclass(frozen=True, slots=True)
class CallReport:
    """What one device said at one poll."""

    source: str  # the driver kind: "cisco-xapi", "poly-rest", "huawei", "cms", "rmx", "jitsi"
    participants: tuple[Participant, ...]
    media_reported: bool  # False: this device (or its API) gives no media statistics at all


# A driver's reader: the probe target (as for its status probe), its settings object, the probe context.
CallReader = Callable[[str, Any, ProbeContext], Awaitable[CallReport]]
