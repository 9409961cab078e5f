"""The drivers' reading of answers that real codecs and bridges gave, recorded by others (issue 15).

The repositories holding these recordings either carry no licence (HL727/Meeting) or the GPL-3.0
(systemli/prometheus-jitsi-meet-exporter), so no file of theirs is copied here: each case below restates the
recorded answer's shape — its field names, nesting and the recorded values of the fields the driver reads —
and cites where it was recorded (tests/conformance/SOURCES.md). The driver reads them through its own parsing
(``read_status`` on the decoded JSON, ``parse_xml`` on the XML text), exactly as it reads a live answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from probes.core.result import Reason
from probes.vc import cisco_xapi, jitsi, poly_rest
from probes.vc.status import EndpointStatus, parse_xml

# HL727/Meeting endpoint/tests/mock_data/poly_group.py @ 0e9d83a: a RealPresence Group 500, 6.2.2.8, asleep.
GROUP_500_SYSTEM = {
    "model": "RealPresence Group 500",
    "softwareVersion": "Release - 6.2.2.8-670021",
    "state": "ASLEEP",
    "uptime": 324967.72,
    "lanStatus": {"duplex": "FULL", "state": "LAN_UP", "speedMbps": 1000},
}
GROUP_500_STATUS = [
    {"name": "system.status.inacall", "languageTag": "IN_A_CALL", "state": ["off"]},
    {"name": "system.status.remotecontrol", "languageTag": "REMOTE_CONTROL", "state": ["up"]},
    {"name": "system.status.microphones", "languageTag": "MICROPHONES", "state": ["up"]},
    {"name": "system.status.ipnetwork", "languageTag": "IP_NETWORK", "state": ["up"]},
    {"name": "system.status.gatekeeper", "languageTag": "GATEKEEPER", "state": ["unknown"]},
    {"name": "system.status.sipserver", "languageTag": "SIP_SERVER", "state": ["up"]},
    {"name": "system.status.provisioning", "languageTag": "PROVISIONING", "state": ["down"]},
]
# Its /rest/cameras/near/all: the people camera disconnected, a UI layer (a content source) "connected".
GROUP_500_CAMERAS = [
    {"cameraIndex": 1, "name": "Main", "sourceType": "SRC_PEOPLE", "connected": False, "nearCamera": True},
    {"cameraIndex": 2, "name": "Input_2", "sourceType": "SRC_CONTENT", "connected": False, "nearCamera": True},
    {"cameraIndex": 6, "name": "PPCIP", "sourceType": "SRC_CONTENT", "connected": False, "nearCamera": True},
    {"cameraIndex": 7, "name": "UILAYER1", "sourceType": "SRC_CONTENT", "connected": True, "nearCamera": True},
    {"cameraIndex": 9, "name": "rdpLP", "sourceType": "SRC_CONTENT", "connected": False, "nearCamera": True},
]

# HL727/Meeting endpoint/tests/mock_data/poly_x.py @ 0e9d83a: a Studio X30 on Poly OS 3.10.
STUDIO_X30_SESSION = "PS6UmUeGR666666666666666666666666/VDyCIuC/Ag6AYRCE"
STUDIO_X30_LOGIN = {
    "loginStatus": {"failedLogins": 0, "loginResult": "NOLOCKOUT"},
    "session": {"isAuthenticated": True, "role": "ADMIN", "sessionId": STUDIO_X30_SESSION},
    "success": True,
}
STUDIO_X30_SYSTEM = {"model": "StudioX30", "softwareVersion": "3.10.0", "state": "READY", "uptime": 3068321.1}
STUDIO_X30_STATUS = [
    {"langtag": "PROVISIONING_SERVICE_HEADING", "name": "system.status.provisioning", "stateList": ["down"]},
    {"langtag": "LAN_NETWORK_HEADING", "name": "system.status.ipnetwork", "stateList": ["up"]},
    {"langtag": "CAMERA_MODEL_BUILT_IN_1.0", "name": "system.status.trackablecamera", "stateList": ["up"]},
    {"langtag": "SIP_SERVER_HEADING", "name": "system.status.sipserver", "stateList": ["up"]},
    {"langtag": "CAMERAS_HEADING", "name": "system.status.mr.camera", "stateList": ["all_up"]},
    {"langtag": "MICROPHONES_HEADING", "name": "system.status.mr.audio", "stateList": ["all_up"]},
    {"langtag": "REMOTE_CONTROL_HEADING", "name": "system.status.remotecontrol", "stateList": ["off"]},
    {"langtag": "GATEKEEPER_HEADING", "name": "system.status.gatekeeper", "stateList": ["unknown"]},
]
STUDIO_X30_CAMERAS = [
    {"cameraIndex": 1, "name": "Main", "sourceType": "SRC_PEOPLE", "connected": True},
    {"cameraIndex": 2, "name": "HDMI Input", "sourceType": "SRC_CONTENT", "connected": False},
]


def test_group_series_content_layer_is_no_camera() -> None:
    """A Group 500 whose people camera is disconnected is missing its camera, although a UI layer (SRC_CONTENT)
    says connected; ASLEEP is standby, and the SIP server up is registered."""
    status = poly_rest.read_status(GROUP_500_SYSTEM, GROUP_500_STATUS, GROUP_500_CAMERAS, None)
    assert status.camera is False
    assert status.standby is True
    assert (status.registered, status.in_call, status.microphone) == (True, False, True)
    assert status.info["product"] == "RealPresence Group 500"


def test_poly_os_states_are_read() -> None:
    """A Studio X30's stateList answer is read: registered, cameras and microphones from mr.camera / mr.audio."""
    status = poly_rest.read_status(STUDIO_X30_SYSTEM, STUDIO_X30_STATUS, STUDIO_X30_CAMERAS, None)
    assert (status.registered, status.camera, status.microphone, status.standby) == (True, True, True, False)
    assert status.uptime == 3068321.1


def test_poly_os_unregistered_is_not_ready() -> None:
    """The same answer with the SIP server down is NOT registered (before issue 15, stateList went unread and the
    codec was "ready whatever its registration")."""
    answer = [{**e, "stateList": ["down"]} if e["name"].endswith("sipserver") else e for e in STUDIO_X30_STATUS]
    assert poly_rest.read_status(STUDIO_X30_SYSTEM, answer, STUDIO_X30_CAMERAS, None).registered is False


def test_poly_os_session_comes_from_the_login_body() -> None:
    """Poly OS answers the login with the session in its body and no cookie: that sessionId is the session."""
    body = json.dumps(STUDIO_X30_LOGIN).encode()
    assert poly_rest.login_session(body) == STUDIO_X30_SESSION


# HL727/Meeting endpoint/tests/mock_data/cisco_ce.py @ 0e9d83a, "status.xml/with_warnings": a CE 9.6 codec's
# Diagnostics (the Description's line breaks as recorded).
CE96_DIAGNOSTICS = b"""<?xml version="1.0"?>
<Status product="Cisco Codec" version="ce9.6.1.4516ae5aaa1" apiVersion="4">
  <Diagnostics>
    <Message item="1" maxOccurrence="n">
      <Description>
      There is one or more users without a passphrase set
      </Description>
      <Level>Critical</Level><References/><Type>ValidPasswords</Type>
    </Message>
    <Message item="9" maxOccurrence="n">
      <Description>Provisioning mode is set, but provisioning status is not reporting Provisioned.</Description>
      <Level>Warning</Level><References/><Type>ProvisioningModeAndStatus</Type>
    </Message>
    <Message item="10" maxOccurrence="n">
      <Description>Provisioning is in an error state.</Description>
      <Level>Error</Level>
      <References>status=Failed&amp;host=192.0.2.216&amp;reason=Couldn't connect to server</References>
      <Type>ProvisioningStatus</Type>
    </Message>
  </Diagnostics>
</Status>
"""


def test_cisco_diagnostics_of_a_recorded_codec() -> None:
    """A CE 9.6 codec's diagnostics are read (type, level, description without its line breaks); none of its
    messages concerns a peripheral, the network or the temperature, so none fails readiness."""
    root = parse_xml(CE96_DIAGNOSTICS, "/Status")
    found = cisco_xapi.diagnostics(root)
    assert [(d.type, d.level) for d in found] == [
        ("ValidPasswords", "Critical"),
        ("ProvisioningModeAndStatus", "Warning"),
        ("ProvisioningStatus", "Error"),
    ]
    assert found[0].description == "There is one or more users without a passphrase set"
    status = cisco_xapi.read_status(root)
    assert status.faults == () and status.camera is None and status.microphone is None
    assert "Critical ValidPasswords: There is one or more users" in status.info["diagnostics"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("MicrophoneDisconnected", Reason.PERIPHERAL_MISSING),
        ("CameraDetected", Reason.PERIPHERAL_MISSING),
        ("NetLinkStatus", Reason.NETWORK_FAULT),
        ("TemperatureCheck", Reason.OVERHEATING),
    ],
)
def test_cisco_severe_diagnostics_in_the_recorded_shape(kind: str, reason: Reason) -> None:
    """The recorded message shape with a microphone, camera, network or temperature type at level Error maps to
    its reason code (the type names follow RoomOS's diagnostics; no public recording of these was found)."""
    document = CE96_DIAGNOSTICS.replace(b"<Type>ProvisioningStatus</Type>", f"<Type>{kind}</Type>".encode())
    status = cisco_xapi.read_status(parse_xml(document, "/Status"))
    assert [r for r, _ in status.faults] == [reason]


# systemli/prometheus-jitsi-meet-exporter main_test.go @ 101988c: a jitsi-videobridge /colibri/stats dump
# (the fields the driver reads, with their recorded values; the dump has no version and no drain field).
JVB_STATS: dict[str, Any] = {
    "conferences": 0,
    "participants": 0,
    "largest_conference": 0,
    "stress_level": 0.6,
    "graceful_shutdown": False,
    "region": "eu-west-1",
    "relay_id": "192.0.2.5:4096",
    "threads": 59,
    "current_timestamp": "2019-03-14 11:02:15.184",
}


def test_jitsi_colibri_dump() -> None:
    """A recorded bridge's stats read as it reported them: no conference, stress 0.6, not shutting down."""
    status: EndpointStatus = jitsi.read_stats(JVB_STATS, healthy=True, problem="")
    assert status.healthy and status.extra == {"conferences": 0.0, "participants": 0.0, "stress_level": 0.6}
    assert status.info == {}
