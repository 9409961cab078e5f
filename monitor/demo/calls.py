"""The demo's briefing in progress: every room in the call, one commune dropping out and one with 4 % loss
(issue 18's acceptance).

The hub and every unit whose codec is reachable (not the failing link's) are in the call on the hub's bridge, an
emulated Cisco Meeting Server (monitor/demo/bridge.py): each codec reports its call (monitor/demo/codecs.py
``set_call``) and the bridge lists each room's call leg, both read by the real drivers (probes/vc/calls.py).
Xã Tân Cương (DROPS_OUT) leaves ``drop_after`` seconds after the briefing's start (two minutes by default;
`giaoban demo --drop-after`); Xã Đức Lương (LOSSY) receives its video with 4 % loss, beyond the 1 % limit; the
others 0.2 %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.demo.bridge import EmulatedBridge
from monitor.demo.codecs import CodecState
from monitor.demo.inventory import SitePlan

DROPS_OUT = "05503"  # Xã Tân Cương: leaves the briefing after drop_after
LOSSY = "05776"  # Xã Đức Lương: 4 % video loss towards the site
LOSS = 0.04
BACKGROUND_LOSS = 0.002
DROP_AFTER = 120.0  # seconds after the start (the "after 2 minutes")


def takes_part(site: SitePlan) -> bool:
    """The hub's room and every unit with a room codec are in the briefing's call."""
    return site.role == "province" or site.vendor is not None


def participant_uri(site: SitePlan) -> str | None:
    """How the bridge names a site's call leg (the inventory's bridge lists it under the site); None: no leg."""
    return _uri(site) if takes_part(site) else None


def _uri(site: SitePlan) -> str:
    return f"sip:{site.id}@{site.codec_address}"


def stage_briefing(
    plan: Sequence[SitePlan],
    codecs: Mapping[str, CodecState],
    bridge: EmulatedBridge,
    *,
    bridge_uri: str,
    start: float,
    drop_after: float = DROP_AFTER,
) -> None:
    """Dial every room into the bridge now (the demo calls it just before ``start``); schedule the drop."""
    for site in plan:
        if not takes_part(site) or site.fault == "link_down":
            continue  # the failing link's codec never dials in
        loss = LOSS if site.code == LOSSY else BACKGROUND_LOSS
        drop_at = start + drop_after if site.code == DROPS_OUT else None
        bridge.join(_uri(site), f"{site.name} – phòng họp trực tuyến", loss=loss, drop_at=drop_at)
        codec = codecs.get(site.id)
        if codec is not None and codec.vendor is not None:
            codec.set_call(True, loss, remote=bridge_uri, drop_at=drop_at)
