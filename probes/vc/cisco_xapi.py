"""Cisco RoomOS / CE / TC codecs over the xAPI: ``GET /getxml?location=/Status`` with HTTP Basic auth.

Target, values, success and reasons: see probes/vc/status.py. Settings: scheme (https), tls_verify,
ca_file, max_body_size, credentials ({env:}|{file:} holding "user:password"), require_registration.

What is read from the Status document (RoomOS/CE xAPI, ``GET /getxml?location=/Status``; paths below /Status)::

    registered         SIP/Registration[n]/Status (older TC: SIP/Profile/Registration/Status) or
                       H323/Gatekeeper/Status: 1 if any is "Registered", 0 if reported and none is
    in_call            SystemUnit/State/NumberOfActiveCalls (+ NumberOfInProgressCalls) > 0
    standby            Standby/State: Standby or EnteringStandby (Halfwake and Off are awake)
    uptime             SystemUnit/Uptime
    peripheral_camera  Cameras/Camera[n]/Connected: 1 if any is True
    peripheral_microphone  Audio/Input/Connectors/Microphone[n]/ConnectionStatus, or a Peripherals/
                       ConnectedDevice of a microphone type: 1 if any is connected
    microphone_muted   Audio/Microphones/Mute: On / Off
    diagnostics        Diagnostics/Message[n] (CE 9 and later) or SystemUnit/Diagnostics/Message[n]: each
                       {Type, Level, Description}. A message of level Error or Critical whose Type concerns
                       a microphone or a camera makes that peripheral 0 (PERIPHERAL_MISSING, the device's
                       words in the detail); the network link (Net*, Network*, Ethernet*) → NETWORK_FAULT;
                       temperature or fans → OVERHEATING (issue 15: a disconnected microphone showed only
                       there). Other types (passwords, provisioning, HTTP feedback, registration — read
                       from SIP/H323 already) and levels Warning/Info are listed in info, never a failure.
    info               software (SystemUnit/Software/Version or the root's version attribute), product
                       (SystemUnit/ProductId), registration ("SIP Registered; H.323 Inactive"), diagnostics
                       ("Error MicrophoneDisconnected: ...; Warning HTTPFeedbackFailed: ...")

The whole /Status tree is fetched in one request (tens of KiB on a Room Kit) rather than one request per
path: one round trip over a thin commune link, and one consistent snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.vc.status import SERIES as STATUS_SERIES
from probes.vc.status import (
    ApiError,
    Client,
    CredentialSettings,
    EndpointStatus,
    basic_authorization,
    expect_ok,
    parse_xml,
    run_status_probe,
)

KIND = "cisco-xapi"
DEFAULT_PORTS = {"https": 443, "http": 80}
_STANDBY = frozenset({"standby", "enteringstandby"})
_SEVERE = frozenset({"error", "critical"})  # the levels that make a diagnostic a fault (Warning, Info do not)
_INFO_LIMIT = 500  # characters of diagnostics text kept in info: a codec may list dozens of messages


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One Diagnostics/Message of the codec."""

    type: str
    level: str
    description: str

    @property
    def area(self) -> str | None:
        """What the message concerns, when it is one giaoban acts on: microphone, camera, network, temperature."""
        kind = self.type.lower()
        if "microphone" in kind:
            return "microphone"
        if "camera" in kind:
            return "camera"
        if "temperature" in kind or kind.startswith("fan"):
            return "temperature"
        if kind.startswith(("net", "ethernet")):
            return "network"
        return None

    @property
    def severe(self) -> bool:
        return self.level.lower() in _SEVERE

    def words(self) -> str:
        return f"{self.description or 'no description'} ({self.type}, {self.level})"


_AREA_REASONS = {"network": Reason.NETWORK_FAULT, "temperature": Reason.OVERHEATING}


SERIES = STATUS_SERIES


class CiscoXapiSettings(CredentialSettings):
    """Basic-auth credentials of a codec user with the 'User' role at least (read-only status)."""


def _texts(root: Element, path: str) -> list[str]:
    return [(node.text or "").strip() for node in root.iterfind(path)]


def _text(root: Element, path: str) -> str | None:
    values = _texts(root, path)
    return values[0] if values and values[0] else None


def _any(states: list[str], yes: set[str]) -> bool | None:
    """True if any reported state is a yes, False if some were reported and none is, None if none were."""
    states = [s.lower() for s in states if s]
    return any(s in yes for s in states) if states else None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def diagnostics(root: Element) -> list[Diagnostic]:
    """The codec's diagnostics messages (Diagnostics/Message on CE 9+, SystemUnit/Diagnostics/Message before)."""
    messages = [*root.iterfind("Diagnostics/Message"), *root.iterfind("SystemUnit/Diagnostics/Message")]
    return [
        Diagnostic(_text(m, "Type") or "", _text(m, "Level") or "", " ".join((_text(m, "Description") or "").split()))
        for m in messages
    ]


def read_status(root: Element) -> EndpointStatus:
    """Map a /Status document (root element <Status>) to an EndpointStatus."""
    if root.tag != "Status":
        raise ApiError(
            Reason.PROTOCOL_ERROR, f"/Status: expected a <Status> document, got <{root.tag[:40]}>", answered=True
        )
    sip = _texts(root, "SIP/Registration/Status") or _texts(root, "SIP/Profile/Registration/Status")
    h323 = _texts(root, "H323/Gatekeeper/Status")
    registered = _any(sip + h323, {"registered"})
    words = [
        f"SIP {', '.join(s for s in sip if s)}" if any(sip) else "",
        f"H.323 {h323[0]}" if h323 and h323[0] else "",
    ]

    calls = [
        _number(_text(root, f"SystemUnit/State/{name}")) for name in ("NumberOfActiveCalls", "NumberOfInProgressCalls")
    ]
    known_calls = [c for c in calls if c is not None]
    in_call = sum(known_calls) > 0 if known_calls else None

    standby_state = _text(root, "Standby/State")
    cameras = _texts(root, "Cameras/Camera/Connected")
    connectors = _texts(root, "Audio/Input/Connectors/Microphone/ConnectionStatus")
    devices = [
        (_text(device, "Status") or "")
        for device in root.iterfind("Peripherals/ConnectedDevice")
        if "microphone" in (_text(device, "Type") or "").lower()
    ]
    mute = _text(root, "Audio/Microphones/Mute")

    found = diagnostics(root)
    faults = [d for d in found if d.severe and d.area is not None]
    camera = _any(cameras, {"true"})
    microphone = _any(connectors + devices, {"connected"})
    if any(d.area == "camera" for d in faults):
        camera = False
    if any(d.area == "microphone" for d in faults):
        microphone = False

    info = {"registration": "; ".join(w for w in words if w)} if any(words) else {}
    if found:
        listed = "; ".join(f"{d.level} {d.type}: {d.description}" for d in found)
        info["diagnostics"] = listed if len(listed) <= _INFO_LIMIT else listed[: _INFO_LIMIT - 1] + "…"
    software = _text(root, "SystemUnit/Software/Version") or root.get("version")
    if software:
        info["software"] = software
    if product := _text(root, "SystemUnit/ProductId"):
        info["product"] = product
    return EndpointStatus(
        registered=registered,
        in_call=in_call,
        standby=standby_state.lower() in _STANDBY if standby_state else None,
        uptime=_number(_text(root, "SystemUnit/Uptime")),
        camera=camera,
        microphone=microphone,
        microphone_muted={"on": True, "off": False}.get(mute.lower()) if mute else None,
        faults=tuple(
            (_AREA_REASONS.get(d.area or "", Reason.PERIPHERAL_MISSING), f"{d.area}: {d.words()}") for d in faults
        ),
        info=info,
    )


async def _fetch(client: Client, base: URL, settings: CiscoXapiSettings) -> EndpointStatus:
    url = (base / "getxml").with_query(location="/Status")
    reply = await client.request("GET", url, headers=await basic_authorization(settings.credentials))
    expect_ok(reply, "/getxml?location=/Status")
    return read_status(parse_xml(reply.body, "/Status"))


async def probe(target: str, settings: CiscoXapiSettings, *, ctx: ProbeContext) -> ProbeResult:
    return await run_status_probe(
        target,
        settings,
        ctx,
        default_ports=DEFAULT_PORTS,
        fetch=_fetch,
        require_registration=settings.require_registration,
    )
