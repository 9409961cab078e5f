"""Local aiohttp servers that answer like room codecs' status APIs, with the documented field names
(those probes/vc/cisco_xapi.py and poly_rest.py list), for the cisco-xapi, poly-rest and jitsi driver tests.

One ``Codec`` holds the state a device reports (registered, in a call, camera, microphones, ...) and how
it misbehaves (slow, a replaced body); a test flips one field and reads what the driver makes of it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Codec:
    """What the fake device reports, and how it misbehaves."""

    user: str = "admin"
    password: str = "Gi@oBan-2024"
    registered: bool = True
    in_call: bool = False
    camera: bool = True
    microphone: bool = True
    muted: bool = False
    standby: str = "Off"  # Cisco: Off, Halfwake, EnteringStandby, Standby
    uptime: int = 356_400
    software: str = "ce9.15.3.17"
    healthy: bool = True  # jitsi /about/health
    draining: bool = False  # jitsi drain
    slow: float = 0.0  # seconds before each answer
    body: bytes | None = None  # replaces the status document (malformed, oversized, hostile)
    chunked: bool = False  # send ``body`` without Content-Length
    trickle: float = 0.0  # seconds between 1 KiB pieces of a chunked body (a slow body, not a slow start)
    old_tc_layout: bool = False  # Cisco TC 7: SIP/Profile/Registration/Status
    stats_enabled: bool = True  # jitsi: /colibri/stats served
    # Poly: the sessions the device considers valid, and how often the driver logged in.
    sessions: set[str] = field(default_factory=set)
    accept_sessions: bool = True  # False: login succeeds, yet every read answers 401 (a broken session store)
    logins: int = 0
    requests: list[str] = field(default_factory=list)
    # Poly OS (Studio X, G7500 3.x): the session in the login body only, stateList and mr.* status names
    # (shapes of recorded answers, tests/conformance/SOURCES.md); Group Series 6.x otherwise.
    poly_os: bool = False
    # Cisco Diagnostics/Message entries as (Type, Level, Description); under SystemUnit/ as older CE put them
    diagnostics: list[tuple[str, str, str]] = field(default_factory=list)
    diagnostics_in_system_unit: bool = False
    system_state: str = "READY"  # Poly /rest/system state: READY, ASLEEP

    def expire_sessions(self) -> None:
        self.sessions.clear()


CODEC = web.AppKey("codec", Codec)


# --- Cisco xAPI ---------------------------------------------------------------------------------------------


def cisco_status_xml(codec: Codec) -> bytes:
    """A /Status document as a Room Kit sends it (trimmed to the branches the driver reads, plus neighbours)."""
    sip_state = "Registered" if codec.registered else "Failed"
    registration = (
        f"""<Profile item="1" maxOccurrence="1"><Registration item="1" maxOccurrence="n">
      <Reason></Reason><Status>{sip_state}</Status><URI>room@example.org</URI></Registration></Profile>"""
        if codec.old_tc_layout
        else f"""<Registration item="1" maxOccurrence="n">
      <Reason>{"" if codec.registered else "404 Not Found"}</Reason>
      <Status>{sip_state}</Status>
      <URI>tan-thinh@vc.example.org</URI>
    </Registration>"""
    )
    calls = 1 if codec.in_call else 0
    messages = "".join(
        f"""<Message item="{n}" maxOccurrence="n"><Description>{text}</Description><Level>{level}</Level>
        <References></References><Type>{kind}</Type></Message>"""
        for n, (kind, level, text) in enumerate(codec.diagnostics, 1)
    )
    diagnostics = f"<Diagnostics>{messages}</Diagnostics>" if messages else ""
    top, in_unit = ("", diagnostics) if codec.diagnostics_in_system_unit else (diagnostics, "")
    return f"""<?xml version="1.0"?>
<Status product="Cisco Codec" version="{codec.software}" apiVersion="4">
  <Audio>
    <Input>
      <Connectors>
        <Microphone item="1" maxOccurrence="n">
          <ConnectionStatus>{"Connected" if codec.microphone else "NotConnected"}</ConnectionStatus>
        </Microphone>
        <Microphone item="2" maxOccurrence="n">
          <ConnectionStatus>NotConnected</ConnectionStatus>
        </Microphone>
      </Connectors>
    </Input>
    <Microphones>
      <Mute>{"On" if codec.muted else "Off"}</Mute>
    </Microphones>
    <Volume>50</Volume>
  </Audio>
  {top}
  <Call item="7" maxOccurrence="n"{"" if codec.in_call else ' ghost="True"'}/>
  <Cameras>
    <Camera item="1" maxOccurrence="n">
      <Capabilities><Options>ptzf</Options></Capabilities>
      <Connected>{"True" if codec.camera else "False"}</Connected>
      <Manufacturer>Cisco</Manufacturer>
      <Model>Precision 60</Model>
    </Camera>
  </Cameras>
  <H323>
    <Gatekeeper>
      <Address></Address>
      <Port>0</Port>
      <Reason></Reason>
      <Status>Inactive</Status>
    </Gatekeeper>
    <Mode><Reason></Reason><Status>Disabled</Status></Mode>
  </H323>
  <Peripherals>
    <ConnectedDevice item="1007" maxOccurrence="n">
      <HardwareInfo>101401-5 [08]</HardwareInfo>
      <ID>00:50:60:83:6f:13</ID>
      <Name>Cisco Webex Room Navigator</Name>
      <SoftwareInfo>RoomOS 2023-03-27</SoftwareInfo>
      <Status>Connected</Status>
      <Type>TouchPanel</Type>
    </ConnectedDevice>
  </Peripherals>
  <SIP>
    <Authentication>Off</Authentication>
    {registration}
  </SIP>
  <Standby>
    <State>{codec.standby}</State>
  </Standby>
  <SystemUnit>
    <ProductId>Cisco Webex Room Kit</ProductId>
    <ProductPlatform>Room Kit</ProductPlatform>
    <Software>
      <DisplayName>RoomOS 9.15.3.17 abe1ecbc530</DisplayName>
      <Name>s53200</Name>
      <Version>{codec.software}</Version>
    </Software>
    <State>
      <NumberOfActiveCalls>{calls}</NumberOfActiveCalls>
      <NumberOfInProgressCalls>0</NumberOfInProgressCalls>
      <NumberOfSuspendedCalls>0</NumberOfSuspendedCalls>
    </State>
    <Uptime>{codec.uptime}</Uptime>
    {in_unit}
  </SystemUnit>
</Status>
""".encode()


def _basic_ok(request: web.Request, codec: Codec) -> bool:
    expected = base64.b64encode(f"{codec.user}:{codec.password}".encode()).decode()
    return request.headers.get("Authorization") == f"Basic {expected}"


async def _answer(request: web.Request, codec: Codec, document: bytes, content_type: str) -> web.StreamResponse:
    if codec.slow:
        await asyncio.sleep(codec.slow)
    body = codec.body if codec.body is not None else document
    if not codec.chunked:
        return web.Response(body=body, content_type=content_type)
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    piece = 1024 if codec.trickle else 64 * 1024
    for start in range(0, len(body), piece):
        await response.write(body[start : start + piece])
        await asyncio.sleep(codec.trickle)
    await response.write_eof()
    return response


async def _cisco_getxml(request: web.Request) -> web.StreamResponse:
    codec = request.app[CODEC]
    codec.requests.append(str(request.rel_url))
    if not _basic_ok(request, codec):
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="RoomOS"'}, text="Unauthorized")
    if request.query.get("location") != "/Status":
        return web.Response(status=400, text="Invalid location")
    return await _answer(request, codec, cisco_status_xml(codec), "text/xml")


def cisco_app(codec: Codec) -> web.Application:
    app = web.Application()
    app[CODEC] = codec
    app.router.add_get("/getxml", _cisco_getxml)
    return app


# --- Poly REST ----------------------------------------------------------------------------------------------


def poly_documents(codec: Codec) -> dict[str, object]:
    """The documents of a G7500 by path."""
    on_off = "on" if codec.in_call else "off"
    return {
        "/rest/system": {
            "model": "G7500",
            "softwareVersion": "3.14.1.1022",
            "serialNumber": "8L20252E1A2B3C",
            "state": codec.system_state,
            "lanStatus": {"state": "LAN_UP", "speedMbps": 1000, "duplex": "FULL"},
            "uptime": f"{codec.uptime // 86400} days {codec.uptime % 86400 // 3600:02d}:"
            f"{codec.uptime % 3600 // 60:02d}:{codec.uptime % 60:02d}",
            "systemName": "Tan Thinh Hoi truong",
        },
        "/rest/system/status": poly_os_status(codec)
        if codec.poly_os
        else [
            {"langtag": "system.status.inacall", "name": "system.status.inacall", "state": [on_off]},
            {"langtag": "system.status.ipnetwork", "name": "system.status.ipnetwork", "state": ["up"]},
            {
                "langtag": "system.status.microphones",
                "name": "system.status.microphones",
                "state": ["up" if codec.microphone else "down"],
            },
            {
                "langtag": "system.status.sipserver",
                "name": "system.status.sipserver",
                "state": ["up" if codec.registered else "down"],
            },
            {"langtag": "system.status.gatekeeper", "name": "system.status.gatekeeper", "state": ["off"]},
            {"langtag": "system.status.remotecontrol", "name": "system.status.remotecontrol", "state": ["unknown"]},
        ],
        "/rest/cameras/near/all": [
            {"cameraIndex": 1, "connected": codec.camera, "model": "EagleEye IV", "sourceName": "Main Camera"},
        ],
        "/rest/audio/muted": codec.muted,
    }


def poly_os_status(codec: Codec) -> list[dict[str, object]]:
    """/rest/system/status as Poly OS words it: stateList, mr.camera / mr.audio with all_up."""
    return [
        {"langtag": "LAN_NETWORK_HEADING", "name": "system.status.ipnetwork", "stateList": ["up"]},
        {"langtag": "SIP_SERVER_HEADING", "name": "system.status.sipserver", "stateList": [
            "up" if codec.registered else "down"]},
        {"langtag": "CAMERAS_HEADING", "name": "system.status.mr.camera", "stateList": [
            "all_up" if codec.camera else "all_down"]},
        {"langtag": "MICROPHONES_HEADING", "name": "system.status.mr.audio", "stateList": [
            "all_up" if codec.microphone else "all_down"]},
        {"langtag": "GATEKEEPER_HEADING", "name": "system.status.gatekeeper", "stateList": ["unknown"]},
    ]  # fmt: skip


async def _poly_login(request: web.Request) -> web.Response:
    codec = request.app[CODEC]
    codec.requests.append("POST /rest/session")
    try:
        login = await request.json()
    except ValueError:
        return web.Response(status=400, text="bad request")
    if login.get("user") != codec.user or login.get("password") != codec.password:
        return web.json_response({"success": False, "reason": "Invalid credentials"}, status=401)
    codec.logins += 1
    token = secrets.token_hex(16)
    if codec.accept_sessions:
        codec.sessions.add(token)
    if codec.poly_os:  # the session in the body only; the reads expect it back as the cookie session_id
        return web.json_response({"loginStatus": {"failedLogins": 0}, "session": {"sessionId": token}, "success": True})
    response = web.json_response({"success": True, "sessionId": token, "isPasswordChangeRequired": False})
    response.set_cookie("session_id", token, path="/", httponly=True, secure=False)
    return response


async def _poly_get(request: web.Request) -> web.StreamResponse:
    codec = request.app[CODEC]
    codec.requests.append(f"GET {request.path}")
    if request.cookies.get("session_id") not in codec.sessions:
        return web.json_response({"success": False, "reason": "Session expired"}, status=401)
    document = poly_documents(codec)[request.path]
    return await _answer(request, codec, json.dumps(document).encode(), "application/json")


def poly_app(codec: Codec) -> web.Application:
    app = web.Application()
    app[CODEC] = codec
    app.router.add_post("/rest/session", _poly_login)
    for path in poly_documents(codec):
        app.router.add_get(path, _poly_get)
    return app


# --- Jitsi Videobridge --------------------------------------------------------------------------------------


def jitsi_stats(codec: Codec) -> dict[str, object]:
    """A /colibri/stats document of jitsi-videobridge 2.3 (a subset of its many fields)."""
    return {
        "inactive_endpoints": 0,
        "inactive_conferences": 0,
        "total_ice_succeeded_relayed": 0,
        "total_loss_degraded_participant_seconds": 0,
        "bit_rate_download": 2048,
        "muc_clients_connected": 1,
        "total_participants": 42,
        "total_packets_received": 1_234_567,
        "rtt_aggregate": 12.5,
        "packet_rate_upload": 500,
        "p2p_conferences": 0,
        "local_active_endpoints": 3,
        "octo_version": 1,
        "total_dominant_speaker_changes": 17,
        "endpoints_sending_audio": 2,
        "conferences": 1 if codec.in_call else 0,
        "participants": 3 if codec.in_call else 0,
        "largest_conference": 3 if codec.in_call else 0,
        "stress_level": 0.04 if codec.in_call else 0.0,
        "graceful_shutdown": False,
        "drain": codec.draining,
        "threads": 120,
        "version": "2.3.105-ge155b81e",
        "time": 1732690000000,
    }


async def _jitsi_health(request: web.Request) -> web.Response:
    codec = request.app[CODEC]
    codec.requests.append("GET /about/health")
    if codec.slow:
        await asyncio.sleep(codec.slow)
    if codec.healthy:
        return web.Response(status=200)
    return web.json_response({"error": "IceFailed"}, status=500)


async def _jitsi_stats(request: web.Request) -> web.StreamResponse:
    codec = request.app[CODEC]
    codec.requests.append("GET /colibri/stats")
    if not codec.stats_enabled:
        return web.Response(status=404, text="Not Found")
    return await _answer(request, codec, json.dumps(jitsi_stats(codec)).encode(), "application/json")


def jitsi_app(codec: Codec) -> web.Application:
    app = web.Application()
    app[CODEC] = codec
    app.router.add_get("/about/health", _jitsi_health)
    app.router.add_get("/colibri/stats", _jitsi_stats)
    return app


# --- serving ------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve(app: web.Application, *, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serve ``app`` on 127.0.0.1 and a free port; yield the port."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Status [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Status><SystemUnit><ProductId>&lol9;</ProductId></SystemUnit></Status>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Status [<!ENTITY secret SYSTEM "file:///etc/shadow">]>
<Status><SystemUnit><ProductId>&secret;</ProductId></SystemUnit></Status>
"""

# An internal DTD without entities: harmless itself, refused anyway (a status document never has one).
DOCTYPE_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE Status [<!ELEMENT Status ANY>]>
<Status/>
"""
