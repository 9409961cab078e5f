"""Emulated room codecs for the demo: a SIP OPTIONS responder (UDP) and a status API per codec.

Each codec listens on its own loopback address. The status API answers in the shape the probes read
(probes/vc/cisco_xapi.py, probes/vc/poly_rest.py; field names as those modules' docstrings list them)::

    cisco-xapi   GET /getxml?location=/Status (Basic auth) → <Status> with SIP/Registration/Status,
                 SystemUnit/State/NumberOfActiveCalls, Cameras/Camera/Connected, Audio/Input/Connectors/
                 Microphone/ConnectionStatus, Audio/Microphones/Mute, Standby/State, SystemUnit/Uptime
    poly-rest    POST /rest/session (login → session_id cookie); GET /rest/system, /rest/system/status
                 (system.status.inacall/.microphones/.sipserver/.gatekeeper), /rest/cameras/near/all,
                 /rest/audio/muted

In-meeting calls (issue 18), in the shapes the call readers read (probes/vc/calls.py)::

    cisco-xapi   GET /getxml?location=/Status/Call → Call[n] RemoteNumber, DisplayName, Status, Duration;
                 GET /getxml?location=/Status/MediaChannels → Call[n]/Channel[m] Type, Direction, Netstat
                 (LastIntervalLost, LastIntervalReceived, Loss, Packets, Jitter, ChannelRate)
    poly-rest    GET /rest/conferences (session cookie) → [{id, connections: [{address, state, duration, terms}]}]
    bridge       a Cisco Meeting Server REST API (``EmulatedBridge``, ``bridge_app``): GET /api/v1/callLegs and
                 /api/v1/callLegs/{id} with status/state, durationSeconds, rx/txAudio and rx/txVideo
                 (packetLossPercentage, jitter, bitRate), HTTP Basic auth

The Python API the meeting watch's demo drives (all times are ``time.time()`` seconds)::

    state.set_call(connected=True, loss=0.04, remote="sip:hop-tinh@vc.example.org", drop_at=None)
        # the codec is in a call with ``remote``; ``loss`` (0..1) on what it receives; ``drop_at``: the wall
        # time from which the call is gone (a commune dropping out after 2 minutes: time.time() + 120)
    state.set_call(connected=False)          # no call
    state.call_connected()                   # what the codec reports now
    bridge.join("sip:tan-thinh@vc.example.org", "Xã Tân Thịnh", loss=0.0, drop_at=None) → leg id
    bridge.set_loss(remote, 0.04); bridge.leave(remote)
    farm.add_bridge(key, bridge, host) → port   # serves bridge_app(bridge) with the farm's lifetime

While a call is connected the codec counts as "in a call" for SIP and for the status API.

SIP (RFC 3261 §11): OPTIONS → 200 OK, or 486 Busy Here while "in a call"; other requests → 501 (ACK is
never answered). A codec that is ``reachable = False`` (behind a failed link) answers nothing at all: SIP
datagrams are dropped and HTTP requests hang until the client gives up, as they would over a dead line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hmac
import secrets
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast
from xml.sax.saxutils import escape

from aiohttp import web

from monitor.demo.bridge import EmulatedBridge, bridge_app
from monitor.demo.inventory import Vendor
from monitor.demo.snmp import bind_udp
from probes.sip.probe import DEFAULT_PORT as SIP_PORT

HANG = 3600.0  # how long an unreachable codec keeps an HTTP request waiting (the client times out first)
MCU_URI = "sip:mcu@vc.example.org"  # the far end of a codec's call unless set_call names one
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id"}


@dataclass
class EmulatedCall:
    """A codec's call: its far end, the loss on what it receives, when it drops (None: never)."""

    remote: str
    loss: float = 0.0
    drop_at: float | None = None
    jitter_ms: float = 4.0
    started: float = field(default_factory=time.time)

    def duration(self) -> int:
        return max(0, int(time.time() - self.started))


@dataclass
class CodecState:
    """What an emulated codec reports; the demo flips fields to make a site unhealthy."""

    name: str  # system name, e.g. "Xã Tân Thịnh - Hội trường"
    vendor: Vendor | None  # None: SIP only (the hub's MCU)
    user: str = "admin"
    password: str = "demo"
    registered: bool = True
    in_call: bool = False
    camera: bool = True
    microphone: bool = True
    muted: bool = False
    reachable: bool = True
    started: float = field(default_factory=lambda: time.time() - 3 * 86400 - secrets.randbelow(86400))
    sessions: set[str] = field(default_factory=set)  # poly-rest session cookies handed out
    call: EmulatedCall | None = None  # the in-meeting call (set_call)

    def uptime(self) -> int:
        return int(time.time() - self.started)

    def set_call(
        self,
        connected: bool,
        loss: float = 0.0,
        *,
        remote: str = "sip:mcu@vc.example.org",
        drop_at: float | None = None,
    ) -> None:
        """Put the codec in a call with ``remote`` (or out of any call); see the module docstring."""
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss is a ratio 0..1, got {loss}")
        self.call = EmulatedCall(remote=remote, loss=loss, drop_at=drop_at) if connected else None

    def call_connected(self) -> EmulatedCall | None:
        """The call as it is now: None once ``drop_at`` has passed."""
        call = self.call
        if call is None or (call.drop_at is not None and time.time() >= call.drop_at):
            return None
        return call

    def busy(self) -> bool:
        return self.in_call or self.call_connected() is not None


# --- SIP ------------------------------------------------------------------------------------------------------


def sip_answer(state: CodecState, data: bytes) -> bytes | None:
    """The response to one SIP request datagram, or None (unreachable, not a request, ACK, unparseable)."""
    if not state.reachable:
        return None
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].upper().startswith("SIP/2.0"):
        return None
    method = parts[0].upper()
    if method == "ACK":
        return None
    copied: list[str] = []
    to_value = ""
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        key = _COMPACT.get(name.strip().lower(), name.strip().lower())
        if not sep:
            continue
        if key in ("via", "from", "call-id", "cseq"):
            copied.append(f"{name.strip()}: {value.strip()}")
        elif key == "to":
            to_value = value.strip()
    if not any(line.lower().startswith(("call-id", "i:")) for line in copied):
        return None
    if to_value and ";tag=" not in to_value.replace(" ", ""):
        to_value += f";tag={secrets.token_hex(6)}"  # RFC 3261 §8.2.6.2: the UAS adds its tag
    if method != "OPTIONS":
        status = "501 Not Implemented"
    elif state.busy():
        status = "486 Busy Here"
    else:
        status = "200 OK"
    reply = [
        f"SIP/2.0 {status}",
        *copied,
        f"To: {to_value}",
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO",
        "Accept: application/sdp",
        f"Server: giaoban-demo codec ({state.vendor or 'mcu'})",
        "Content-Length: 0",
    ]
    return ("\r\n".join(reply) + "\r\n\r\n").encode()


class _SipResponder(asyncio.DatagramProtocol):
    def __init__(self, state: CodecState) -> None:
        self.state = state
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # a selector transport is one, untyped

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        answer = sip_answer(self.state, data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


# --- status APIs ----------------------------------------------------------------------------------------------

STATE: web.AppKey[CodecState] = web.AppKey("codec", CodecState)


def cisco_status(state: CodecState) -> bytes:
    """A /Status document trimmed to what the xAPI driver reads, plus a few neighbours."""
    registration = "Registered" if state.registered else "Failed"
    reason = "" if state.registered else "404 Not Found"
    return f"""<?xml version="1.0"?>
<Status product="Cisco Codec" version="ce9.15.3.17" apiVersion="4">
  <Audio>
    <Input><Connectors>
      <Microphone item="1"><ConnectionStatus>{"Connected" if state.microphone else "NotConnected"}</ConnectionStatus>
      </Microphone>
    </Connectors></Input>
    <Microphones><Mute>{"On" if state.muted else "Off"}</Mute></Microphones>
    <Volume>50</Volume>
  </Audio>
  <Cameras>
    <Camera item="1"><Connected>{"True" if state.camera else "False"}</Connected><Model>Precision 60</Model></Camera>
  </Cameras>
  <H323><Gatekeeper><Status>Inactive</Status></Gatekeeper></H323>
  <SIP>
    <Registration item="1"><Reason>{reason}</Reason><Status>{registration}</Status><URI>{escape(state.name)}</URI>
    </Registration>
  </SIP>
  <Standby><State>Off</State></Standby>
  <SystemUnit>
    <ProductId>Cisco Webex Room Kit (demo emulation)</ProductId>
    <Software><Version>ce9.15.3.17</Version></Software>
    <State>
      <NumberOfActiveCalls>{1 if state.busy() else 0}</NumberOfActiveCalls>
      <NumberOfInProgressCalls>0</NumberOfInProgressCalls>
    </State>
    <Uptime>{state.uptime()}</Uptime>
  </SystemUnit>
</Status>
""".encode()


# Packets per Netstat interval the emulation reports: loss ratios are then exact to 0.1 %.
_INTERVAL_PACKETS = 1000
_RATES = {"Audio": 64_000, "Video": 1_920_000}


def cisco_call_status(state: CodecState) -> bytes:
    """/Status/Call: the connected call, if any (shape of a recorded CE 9.6 answer)."""
    call = state.call_connected()
    body = ""
    if call is not None:
        body = f"""
  <Call item="1" maxOccurrence="n">
    <AnswerState>Answered</AnswerState><CallType>Video</CallType>
    <CallbackNumber>{escape(call.remote)}</CallbackNumber><DeviceType>MCU</DeviceType>
    <Direction>Outgoing</Direction><DisplayName>Hội nghị trực tuyến</DisplayName>
    <Duration>{call.duration()}</Duration><Protocol>SIP</Protocol>
    <ReceiveCallRate>2048</ReceiveCallRate><RemoteNumber>{escape(call.remote.removeprefix("sip:"))}</RemoteNumber>
    <Status>Connected</Status><TransmitCallRate>2048</TransmitCallRate>
  </Call>"""
    return f"""<?xml version="1.0"?>
<Status product="Cisco Codec" version="ce9.15.3.17" apiVersion="4">{body}
</Status>
""".encode()


def cisco_media_channels(state: CodecState) -> bytes:
    """/Status/MediaChannels: audio and video channels each way; ``loss`` on the incoming ones."""
    call = state.call_connected()
    channels = []
    if call is not None:
        item = 0
        for kind in ("Audio", "Video"):
            for direction in ("Incoming", "Outgoing"):
                item += 1
                loss = call.loss if direction == "Incoming" else 0.0
                lost = round(loss * _INTERVAL_PACKETS)
                total = max(1, call.duration()) * 50 * (1 if kind == "Audio" else 4)
                role = "<Video><ChannelRole>Main</ChannelRole></Video>" if kind == "Video" else ""
                channels.append(
                    f"""<Channel item="{item}" maxOccurrence="n"><Direction>{direction}</Direction>
      <Netstat><Bytes>{total * 1000}</Bytes><ChannelRate>{_RATES[kind]}</ChannelRate><Jitter>{call.jitter_ms:g}</Jitter>
      <LastIntervalLost>{lost}</LastIntervalLost><LastIntervalReceived>{_INTERVAL_PACKETS - lost}</LastIntervalReceived>
      <Loss>{round(total * loss)}</Loss><MaxJitter>{call.jitter_ms * 2:g}</MaxJitter>
      <Packets>{total - round(total * loss)}</Packets></Netstat>
      <Type>{kind}</Type>{role}</Channel>"""
                )
    calls = f'<Call item="1" maxOccurrence="n">{"".join(channels)}</Call>' if channels else ""
    return f"""<?xml version="1.0"?>
<Status product="Cisco Codec" version="ce9.15.3.17" apiVersion="4"><MediaChannels>{calls}</MediaChannels></Status>
""".encode()


def poly_conferences(state: CodecState) -> list[dict[str, object]]:
    """/rest/conferences: the active conference with its one connection (shape of recorded Poly OS answers)."""
    call = state.call_connected()
    if call is None:
        return []
    address = call.remote.removeprefix("sip:")
    term = {"address": address, "callerID": "MCU", "name": "Hội nghị trực tuyến", "id": "1", "termType": "REAL"}
    connection = {
        "address": address,
        "state": "CONNECTED",
        "type": "MCU",
        "callType": "SIP",
        "id": "6",
        "incoming": False,
        "duration": call.duration(),
        "rate": 2048,
        "terms": [term],
    }
    return [
        {"id": "0", "isActive": True, "connections": [connection], "terminals": [term], "duration": call.duration()}
    ]


def poly_documents(state: CodecState) -> dict[str, object]:
    """The Poly G7500 documents by path."""
    uptime = state.uptime()
    days, hours, minutes, seconds = uptime // 86400, uptime % 86400 // 3600, uptime % 3600 // 60, uptime % 60
    return {
        "/rest/system": {
            "model": "G7500 (demo emulation)",
            "softwareVersion": "3.14.1.1022",
            "state": "READY",
            "lanStatus": {"state": "LAN_UP", "speedMbps": 1000, "duplex": "FULL"},
            "uptime": f"{days} days {hours:02d}:{minutes:02d}:{seconds:02d}",
            "systemName": state.name,
        },
        "/rest/system/status": [
            {"name": "system.status.inacall", "state": ["on" if state.busy() else "off"]},
            {"name": "system.status.ipnetwork", "state": ["up"]},
            {"name": "system.status.microphones", "state": ["up" if state.microphone else "down"]},
            {"name": "system.status.sipserver", "state": ["up" if state.registered else "down"]},
            {"name": "system.status.gatekeeper", "state": ["off"]},
        ],
        "/rest/cameras/near/all": [
            {"cameraIndex": 1, "connected": state.camera, "model": "EagleEye IV", "sourceName": "Main Camera"},
        ],
        "/rest/audio/muted": state.muted,
        "/rest/conferences": poly_conferences(state),
    }


@web.middleware
async def _unreachable(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.app[STATE].reachable:
        await asyncio.sleep(HANG)  # a dead line: the request is never answered (cancelled at shutdown)
    response: web.StreamResponse = await handler(request)
    return response


def _basic_ok(request: web.Request, state: CodecState) -> bool:
    expected = "Basic " + base64.b64encode(f"{state.user}:{state.password}".encode()).decode()
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected.encode())


_CISCO_DOCUMENTS = {
    "/Status": cisco_status,
    "/Status/Call": cisco_call_status,
    "/Status/MediaChannels": cisco_media_channels,
}


async def _cisco_getxml(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not _basic_ok(request, state):
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="RoomOS"'}, text="Unauthorized")
    documents = {
        "/Status": cisco_status,
        "/Status/Call": cisco_call_status,
        "/Status/MediaChannels": cisco_media_channels,
    }
    document = documents.get(request.query.get("location", ""))
    if document is None:
        return web.Response(status=400, text="Invalid location")
    return web.Response(body=document(state), content_type="text/xml")


async def _poly_login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        login = await request.json()
    except ValueError:
        return web.json_response({"success": False, "reason": "bad request"}, status=400)
    if not isinstance(login, dict) or login.get("user") != state.user or login.get("password") != state.password:
        return web.json_response({"success": False, "reason": "Invalid credentials"}, status=401)
    token = secrets.token_hex(16)
    if len(state.sessions) > 64:  # a codec holds few sessions: the oldest ones are dropped
        state.sessions.clear()
    state.sessions.add(token)
    response = web.json_response({"success": True, "sessionId": token})
    response.set_cookie("session_id", token, path="/", httponly=True)
    return response


async def _poly_get(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.cookies.get("session_id") not in state.sessions:
        return web.json_response({"success": False, "reason": "Session expired"}, status=401)
    return web.json_response(poly_documents(state)[request.path])


def status_app(state: CodecState) -> web.Application:
    app = web.Application(middlewares=[_unreachable])
    app[STATE] = state
    if state.vendor == "cisco-xapi":
        app.router.add_get("/getxml", _cisco_getxml)
    elif state.vendor == "poly-rest":
        app.router.add_post("/rest/session", _poly_login)
        for path in poly_documents(state):
            app.router.add_get(path, _poly_get)
    return app


def tcp_listener(host: str, preferred: int) -> socket.socket:
    """A bound TCP socket on ``host``: the preferred port if free (and allowed), else any free port."""
    for port in (preferred, 0) if preferred else (0,):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As every server does: the last run's connections in TIME_WAIT must not push the next run off its port.
        # (Linux still refuses the port while another socket listens on it.)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            if port == 0 or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            continue
        return sock
    raise AssertionError("unreachable: port 0 either binds or raises")


@dataclass
class CodecPorts:
    sip: int
    api: int | None


class CodecFarm:
    """Every emulated codec of the demo; ``add`` starts one, leaving the context stops them all."""

    def __init__(self) -> None:
        self.codecs: dict[str, CodecState] = {}
        self.bridges: dict[str, EmulatedBridge] = {}
        self._transports: list[asyncio.DatagramTransport] = []
        self._runners: list[web.AppRunner] = []

    async def add(
        self, key: str, state: CodecState, host: str, *, sip_port: int = SIP_PORT, api_port: int = 8080
    ) -> CodecPorts:
        transport, sip = await bind_udp(lambda: _SipResponder(state), host, sip_port)
        self._transports.append(transport)
        api: int | None = None
        if state.vendor is not None:
            runner = web.AppRunner(status_app(state), access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            self._runners.append(runner)
            sock = tcp_listener(host, api_port)
            api = sock.getsockname()[1]
            await web.SockSite(runner, sock).start()
        self.codecs[key] = state
        return CodecPorts(sip=sip, api=api)

    async def add_bridge(self, key: str, bridge: EmulatedBridge, host: str, *, port: int = 8443) -> int:
        """Serve the demo bridge's CMS API (plain HTTP) on ``host``; the port it listens on."""
        runner = web.AppRunner(bridge_app(bridge), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        sock = tcp_listener(host, port)
        await web.SockSite(runner, sock).start()
        self.bridges[key] = bridge
        return int(sock.getsockname()[1])

    async def close(self) -> None:
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()


@contextlib.asynccontextmanager
async def codec_farm() -> AsyncIterator[CodecFarm]:
    farm = CodecFarm()
    try:
        yield farm
    finally:
        await farm.close()
