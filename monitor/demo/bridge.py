"""The demo's conference bridge: a Cisco Meeting Server REST API listing the meeting's participants (issue 18).

Answers in the shape probes/vc/cms.py reads (CMS API reference; recorded answers in tests/conformance/SOURCES.md),
HTTP Basic auth on every request::

    GET /api/v1/system/status             <status><softwareVersion/><uptimeSeconds/><activated>true</activated>
                                          <callLegsActive/></status> (the cms status probe)
    GET /api/v1/callLegs?offset=&limit=   <callLegs total="T"><callLeg id><name/><remoteParty/><call/></callLeg>
    GET /api/v1/callLegs/{id}             <callLeg id><name/><remoteParty/><status><state>connected</state>
                                          <durationSeconds/><rxAudio/><txAudio/><rxVideo role="main"/>
                                          <txVideo role="main"/></status></callLeg>; 404 for a leg that left

Driven by the demo (``time.time()`` seconds)::

    bridge = EmulatedBridge(password="demo")
    leg = bridge.join("sip:tan-thinh@vc.example.org", "Xã Tân Thịnh", loss=0.0, drop_at=None)
    bridge.set_loss("sip:tan-thinh@vc.example.org", 0.04)   # what the site receives (the bridge's tx)
    bridge.leave("sip:tan-thinh@vc.example.org")            # or drop_at: gone from that time on

Served by ``CodecFarm.add_bridge`` (monitor/demo/codecs.py) for the farm's lifetime.
"""

from __future__ import annotations

import base64
import functools
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from aiohttp import web

CALL_ID = "6d6f3ad9-0d4b-4d3b-9a1e-6a0c0f1d2b01"  # the one call (coSpace meeting) the demo bridge hosts


@dataclass
class BridgeLeg:
    remote: str
    name: str
    loss: float = 0.0  # on what the site receives
    drop_at: float | None = None
    jitter_ms: float = 5.0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    joined: float = field(default_factory=time.time)

    def present(self, now: float) -> bool:
        return self.drop_at is None or now < self.drop_at


def _ratio(loss: float) -> float:
    if not 0.0 <= loss <= 1.0:
        raise ValueError(f"loss is a ratio 0..1, got {loss}")
    return loss


@dataclass
class EmulatedBridge:
    user: str = "admin"
    password: str = "demo"
    legs: dict[str, BridgeLeg] = field(default_factory=dict)  # remote → leg
    started: float = field(default_factory=lambda: time.time() - 12 * 86400)

    def join(self, remote: str, name: str, *, loss: float = 0.0, drop_at: float | None = None) -> str:
        leg = BridgeLeg(remote=remote, name=name, loss=_ratio(loss), drop_at=drop_at)
        self.legs[remote] = leg
        return leg.id

    def set_loss(self, remote: str, loss: float) -> None:
        self.legs[remote].loss = _ratio(loss)

    def leave(self, remote: str) -> None:
        self.legs.pop(remote, None)

    def present(self) -> list[BridgeLeg]:
        now = time.time()
        return [leg for leg in self.legs.values() if leg.present(now)]


BRIDGE: web.AppKey[EmulatedBridge] = web.AppKey("bridge", EmulatedBridge)


def _authorized(request: web.Request, bridge: EmulatedBridge) -> bool:
    expected = "Basic " + base64.b64encode(f"{bridge.user}:{bridge.password}".encode()).decode()
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected.encode())


def _basic_auth(
    handler: Callable[[web.Request, EmulatedBridge], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Every route asks for HTTP Basic first, as CMS's API does: 401 with its challenge, else the handler."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.Response:
        bridge = request.app[BRIDGE]
        if not _authorized(request, bridge):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="CMS"'})
        return await handler(request, bridge)

    return checked


def _xml(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, body=f'<?xml version="1.0"?>\n{text}\n'.encode(), content_type="text/xml")


def _leg_head(leg: BridgeLeg) -> str:
    """What the list and the detail document both say of a leg first (id, name, remote party, call)."""
    return (
        f'<callLeg id="{leg.id}"><name>{escape(leg.name)}</name><remoteParty>{escape(leg.remote)}</remoteParty>'
        f"<call>{CALL_ID}</call>"
    )


def leg_list(bridge: EmulatedBridge, offset: int, limit: int) -> str:
    legs = bridge.present()
    items = "".join(_leg_head(leg) + "</callLeg>" for leg in legs[offset : offset + limit])
    return f'<callLegs total="{len(legs)}">{items}</callLegs>'


def _stream(element: str, loss: float, jitter: float, rate: int, role: str = "") -> str:
    attribute = f' role="{role}"' if role else ""
    return (
        f"<{element}{attribute}><codec>h264</codec><packetLossPercentage>{loss * 100:.1f}</packetLossPercentage>"
        f"<jitter>{jitter:g}</jitter><bitRate>{rate}</bitRate></{element}>"
    )


def leg_detail(leg: BridgeLeg) -> str:
    duration = max(0, int(time.time() - leg.joined))
    streams = (
        _stream("rxAudio", 0.0, leg.jitter_ms, 64_000)
        + _stream("txAudio", leg.loss, leg.jitter_ms, 64_000)
        + _stream("rxVideo", 0.0, leg.jitter_ms, 1_920_000, "main")
        + _stream("txVideo", leg.loss, leg.jitter_ms, 1_920_000, "main")
    )
    return (
        _leg_head(leg) + "<type>sip</type>"
        f"<direction>incoming</direction><status><state>connected</state>"
        f"<durationSeconds>{duration}</durationSeconds><direction>incoming</direction>{streams}</status></callLeg>"
    )


@_basic_auth
async def _system_status(request: web.Request, bridge: EmulatedBridge) -> web.Response:
    uptime = int(time.time() - bridge.started)
    return _xml(
        f"<status><softwareVersion>3.8.1 (demo emulation)</softwareVersion><uptimeSeconds>{uptime}</uptimeSeconds>"
        f"<activated>true</activated><clusterEnabled>false</clusterEnabled>"
        f"<callLegsActive>{len(bridge.present())}</callLegsActive></status>"
    )


@_basic_auth
async def _list(request: web.Request, bridge: EmulatedBridge) -> web.Response:
    try:
        offset = max(0, int(request.query.get("offset", "0")))
        limit = min(100, max(1, int(request.query.get("limit", "10"))))
    except ValueError:
        return _xml('<failureDetails><parameterError parameter="offset"/></failureDetails>', 400)
    return _xml(leg_list(bridge, offset, limit))


@_basic_auth
async def _detail(request: web.Request, bridge: EmulatedBridge) -> web.Response:
    for leg in bridge.present():
        if leg.id == request.match_info["leg"]:
            return _xml(leg_detail(leg))
    return _xml("<failureDetails><callLegDoesNotExist/></failureDetails>", 404)


def bridge_app(bridge: EmulatedBridge) -> web.Application:
    app = web.Application()
    app[BRIDGE] = bridge
    app.router.add_get("/api/v1/system/status", _system_status)
    app.router.add_get("/api/v1/callLegs", _list)
    app.router.add_get("/api/v1/callLegs/{leg}", _detail)
    return app
