"""The call readers' reading of answers others recorded or documented (issue 18; origins in SOURCES.md).

As in test_vendor_samples.py, no file of an unlicensed repository is copied: each case restates the recorded
answer's shape (field names, nesting, the recorded values of the fields the reader reads; the recordings'
own domain replaced by video.example.org) and cites where it comes from. Where no recording exists, the case
restates the vendor's documented example (Huawei) or the shape the vendor's source code writes (Jitsi).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from probes.vc import cisco_calls, cms, huawei, jitsi_calls, poly_calls, rmx
from probes.vc.media import MediaStats
from probes.vc.status import ApiError, parse_xml

# HL727/Meeting endpoint/tests/mock_data/cisco_ce.py @ 0e9d83a, "status.xml/in_call": a CE 9.6 codec in a call
# with a Pexip bridge (DeviceType MCU), 4 s after answering.
CE96_IN_CALL = b"""<?xml version="1.0"?>
<Status product="Cisco Codec" version="ce9.6.1.4516ae5aaa1" apiVersion="4">
  <Call item="80" maxOccurrence="n">
    <AnswerState>Answered</AnswerState>
    <CallType>Video</CallType>
    <CallbackNumber>sip:testcall@video.example.org</CallbackNumber>
    <DeviceType>MCU</DeviceType>
    <Direction>Incoming</Direction>
    <DisplayName>Test Call Service</DisplayName>
    <Duration>4</Duration>
    <Encryption><Type>AES-256</Type></Encryption>
    <FacilityServiceId>0</FacilityServiceId>
    <HoldReason>None</HoldReason>
    <Ice>Disabled</Ice>
    <PlacedOnHold>False</PlacedOnHold>
    <Protocol>SIP</Protocol>
    <ReceiveCallRate>3072</ReceiveCallRate>
    <RemoteNumber>testcall@video.example.org</RemoteNumber>
    <Status>Connected</Status>
    <TransmitCallRate>3072</TransmitCallRate>
  </Call>
</Status>
"""


def test_cisco_recorded_call_is_read() -> None:
    """The recorded call: its far end, name, duration and id; connected. Without a MediaChannels answer (an
    older firmware), the codec reports no media: unknown quality, never good."""
    report = cisco_calls.read_calls(parse_xml(CE96_IN_CALL, "/Status/Call"), None)
    (call,) = report.participants
    assert (call.remote, call.name, call.connected, call.duration_seconds, call.id) == (
        "testcall@video.example.org",
        "Test Call Service",
        True,
        4.0,
        "80",
    )
    assert call.media == () and report.media_reported is False


def test_cisco_recorded_call_while_dialling_is_not_connected() -> None:
    document = CE96_IN_CALL.replace(b"<Status>Connected</Status>", b"<Status>Dialling</Status>")
    (call,) = cisco_calls.read_calls(parse_xml(document, "/Status/Call"), None).participants
    assert call.connected is False


# HL727/Meeting conferencecenter/tests/mock_data/acano.py @ 0e9d83a, "GET callLegs" and "GET callLegs/976dacd8-...":
# a CMS call leg of an Acano client, 154 s connected (the recording's XML declaration follows whitespace, which
# no XML parser takes; it starts the document here).
CMS_LEGS = b"""<?xml version="1.0"?>
<callLegs total="1">
  <callLeg id="976dacd8-bc6b-4526-8bb7-d9050740b7c7">
    <name>Test</name>
    <remoteParty>test@video.example.org</remoteParty>
    <originalRemoteParty>test@video.example.or</originalRemoteParty>
    <call>935a38b8-0a80-4965-9db4-f02ab1a813d2</call>
  </callLeg>
</callLegs>
"""
CMS_LEG = b"""<?xml version="1.0"?>
<callLeg id="976dacd8-bc6b-4526-8bb7-d9050740b7c7">
  <name>Test</name>
  <remoteParty>test@video.example.org</remoteParty>
  <originalRemoteParty>test@video.example.or</originalRemoteParty>
  <call>935a38b8-0a80-4965-9db4-f02ab1a813d2</call>
  <type>acano</type>
  <direction>incoming</direction>
  <canMove>false</canMove>
  <configuration><defaultLayout>telepresence</defaultLayout><sipMediaEncryption>optional</sipMediaEncryption>
  </configuration>
  <status>
    <state>connected</state>
    <durationSeconds>154</durationSeconds>
    <direction>incoming</direction>
    <groupId>ab76c84c-74be-46e5-81d4-22e06e7de3ac</groupId>
    <encryptedMedia>true</encryptedMedia>
    <unencryptedMedia>false</unencryptedMedia>
    <cipherSuite>AES_CM_128_HMAC_SHA1_80</cipherSuite>
    <layout>allEqual</layout>
    <cameraControlAvailable>false</cameraControlAvailable>
    <rxAudio><codec>opus</codec><packetLossPercentage>0.0</packetLossPercentage><jitter>2</jitter>
      <bitRate>35961</bitRate><gainApplied>0.0</gainApplied></rxAudio>
    <txAudio><codec>opus</codec><packetLossPercentage>0.7</packetLossPercentage><jitter>3</jitter>
      <bitRate>64000</bitRate><roundTripTime>4</roundTripTime></txAudio>
    <rxVideo role="main"><codec>h264</codec><width>1280</width><height>720</height><frameRate>9.9</frameRate>
      <bitRate>20969</bitRate><packetLossPercentage>0.0</packetLossPercentage><jitter>10</jitter></rxVideo>
    <txVideo role="main"><codec>h264</codec><width>640</width><height>480</height><frameRate>6.9</frameRate>
      <bitRate>450018</bitRate><packetLossPercentage>0.0</packetLossPercentage><jitter>4</jitter>
      <roundTripTime>2</roundTripTime></txVideo>
  </status>
</callLeg>
"""


def test_cms_recorded_leg_list() -> None:
    assert cms.leg_list(parse_xml(CMS_LEGS, "/callLegs")) == (1, ["976dacd8-bc6b-4526-8bb7-d9050740b7c7"])


def test_cms_recorded_leg_media_from_the_sites_point_of_view() -> None:
    """The recorded leg: the bridge's tx (what the site receives) lost 0.7 % of audio, so the site's rx audio
    loss is 0.007; jitter in seconds, rates in bit/s; the bridge's rx is the site's tx."""
    report = cms.read_legs({"976dacd8": parse_xml(CMS_LEG, "/callLegs/{id}")})
    assert report.media_reported is True
    (leg,) = report.participants
    assert (leg.remote, leg.name, leg.connected, leg.duration_seconds) == (
        "test@video.example.org",
        "Test",
        True,
        154.0,
    )
    by_stream = {(m.kind, m.direction): m for m in leg.media}
    audio_rx = by_stream[("audio", "rx")]
    assert audio_rx.loss_ratio == pytest.approx(0.007)
    assert (audio_rx.jitter_seconds, audio_rx.rate_bps) == (0.003, 64000)
    assert by_stream[("audio", "tx")] == MediaStats("audio", "tx", loss_ratio=0.0, jitter_seconds=0.002, rate_bps=35961)
    assert by_stream[("video", "tx")].jitter_seconds == 0.010
    assert by_stream[("video", "rx")].rate_bps == 450018
    assert len(leg.media) == 4


def test_cms_recorded_leg_without_status_has_no_media() -> None:
    """The list entry's shape as a detail (no <status>): not connected, no media — never good by default."""
    document = CMS_LEG.split(b"<status>")[0] + b"</callLeg>"
    leg = cms.read_leg(parse_xml(document, "/callLegs/{id}"))
    assert leg.connected is False and leg.media == ()


def _poly_connection(address: str, state: str, duration: int, **extra: Any) -> dict[str, Any]:
    return {"address": address, "callInfo": "SIP", "callType": "SIP", "state": state, "duration": duration, **extra}


# HL727/Meeting endpoint/tests/mock_data/poly_x.py @ 0e9d83a, "GET conferences" in_call and incoming_call (the
# Group 500's poly_group.py answers alike): a Studio X30 in a call with a Pexip bridge, with the pending
# conference every answer carries; then an incoming call still ringing.
POLY_IN_CALL = [
    {
        "connections": [
            _poly_connection(
                "testcall@video.example.org",
                "CONNECTED",
                8,
                id="6",
                type="MCU",
                incoming=False,
                mediaType="AUDIOONLY",
                rate=64,
                terms=[
                    {"address": "testcall@video.example.org", "callerID": "testcall", "name": "testcall", "id": "1"}
                ],
            )
        ],
        "id": "0",
        "isActive": True,
        "isPendingConference": False,
        "duration": 8,
    },
    {"connections": [], "terminals": [], "id": "PENDING", "isActive": False, "isPendingConference": True},
]
POLY_INCOMING = [
    {
        "connections": [
            _poly_connection("hdx9000@video.example.org", "RINGING", 37, id="2", type="ENDPOINT", incoming=True)
        ],
        "id": "PENDING",
        "isActive": False,
    }
]


def test_poly_recorded_call_is_read() -> None:
    report = poly_calls.read_conferences(POLY_IN_CALL)
    (call,) = report.participants
    assert (call.remote, call.name, call.connected, call.duration_seconds, call.id) == (
        "testcall@video.example.org",
        "testcall",
        True,
        8.0,
        "0/6",
    )
    assert report.media_reported is False and call.media == ()


def test_poly_recorded_ringing_call_is_not_connected() -> None:
    (call,) = poly_calls.read_conferences(POLY_INCOMING).participants
    assert (call.remote, call.connected, call.name) == ("hdx9000@video.example.org", False, None)


# support.huaweicloud.com/ideahub-api/ideahub_05_0172.html (获取通话状态, WEB_GetCallStatusInfoAPI): the documented
# example answer, data as a JSON string, as written there.
HUAWEI_DATA = {
    "sendRate": "65.64k",
    "revRate": "733.31k",
    "videoRateSend": "2.08k",
    "videoFrameSend": 25,
    "videoRateRev": "655.24k",
    "videoFrameRev": 25,
    "mainFormatRev": "720p",
    "mainFormatSend": "720p",
    "auxVideoRateSend": "--",
    "auxAudioRateSend": "63.56k",
    "auxAudioRateRev": "78.06k",
    "videoLossPerSend": "0.00%",
    "videoLossNumSend": 0,
    "videoLossPerRev": "0.00%",
    "videoLossNumRev": 0,
    "AuxVideoLossPerSend": "--",
    "audioLossPerSend": "0.00%",
    "audioLossNumSend": 0,
    "audioLossPerRev": "0.00%",
    "audioLossNumRev": 0,
    "joinDay": 0,
    "joinHour": 0,
    "joinMin": 0,
    "auxTokenTxtID": "--",
}
HUAWEI_ANSWER = json.dumps({"success": 1, "data": json.dumps(HUAWEI_DATA)}).encode()


def test_huawei_documented_call_status() -> None:
    """The documented example: in a call for under a minute, no loss either way, rates in kbit/s."""
    report = huawei.read_call_status(huawei.envelope(HUAWEI_ANSWER, "WEB_GetCallStatusInfoAPI"))
    (call,) = report.participants
    assert call.connected and call.duration_seconds == 0 and call.remote == ""
    by_stream = {(m.kind, m.direction): m for m in call.media}
    assert by_stream[("video", "rx")] == MediaStats("video", "rx", loss_ratio=0.0, rate_bps=655_240.0)
    assert by_stream[("video", "tx")].rate_bps == pytest.approx(2_080.0)
    assert by_stream[("audio", "rx")].loss_ratio == 0.0 and by_stream[("audio", "rx")].jitter_seconds is None


def test_huawei_documented_loss_is_a_ratio() -> None:
    data = {**HUAWEI_DATA, "videoLossPerRev": "4.00%", "audioLossPerSend": "--", "joinMin": 12}
    (call,) = huawei.read_call_status(data).participants
    by_stream = {(m.kind, m.direction): m for m in call.media}
    assert by_stream[("video", "rx")].loss_ratio == pytest.approx(0.04)
    assert by_stream[("audio", "tx")].loss_ratio is None  # "--": not reported, not "no loss"
    assert call.duration_seconds == 720


def test_huawei_documented_failure_answer() -> None:
    """The documented error shape fails the read with the device's id and code."""
    body = b'{"success":0,"error":{"id":100666995,"code":33558532,"params":[]}}'
    with pytest.raises(ApiError, match="100666995"):
        huawei.envelope(body, "WEB_GetCallStatusInfoAPI")


# jitsi/jitsi-videobridge Videobridge.getDebugState and Conference.getDebugState (jvb/src/main/java/org/jitsi/
# videobridge/, Conference.java @ 313feee): GET /debug without full=true: each conference's id, name (the MUC
# room JID) and endpoints as endpoint id → stats id. No recorded answer was found; this is the shape that code writes.
JVB_DEBUG = {
    "shutdownInProgress": False,
    "time": 1_700_000_000_000,
    "health": "OK",
    "conferences": {
        "1a2b3c4d5e6f7a8b": {
            "id": "1a2b3c4d5e6f7a8b",
            "name": "giaoban-tinh@conference.meet.example.org",
            "endpoints": {"6f1e2d3c": "Tan-Thinh-3Ww", "0a9b8c7d": "Phu-Dinh-x1Q"},
        },
        "9f8e7d6c5b4a3928": {"id": "9f8e7d6c5b4a3928", "name": "other@conference.meet.example.org", "endpoints": {}},
        "expired": "null",
    },
}


def test_jitsi_debug_state_lists_endpoints_without_media() -> None:
    report = jitsi_calls.read_debug(JVB_DEBUG, conference="GIAOBAN-TINH")
    assert [(p.remote, p.name, p.connected) for p in report.participants] == [
        ("6f1e2d3c", "Tan-Thinh-3Ww", True),
        ("0a9b8c7d", "Phu-Dinh-x1Q", True),
    ]
    assert report.participants[0].id == "giaoban-tinh@conference.meet.example.org/6f1e2d3c"
    assert report.media_reported is False and all(p.media == () for p in report.participants)
    assert len(jitsi_calls.read_debug(JVB_DEBUG).participants) == 2  # no filter: every conference


# Poly RMX XML API answers quoted in the sources of public RMX clients (tests/conformance/SOURCES.md): a
# RESPONSE_TRANS_CONF_LIST of two conferences (one with 2 parties connected, one empty), and a RESPONSE_TRANS_CONF
# GET whose parties are connected (dial-in SIP, IP 0.0.0.0) or idle (an H.323 dial-out not yet called). The
# recordings' private addresses are replaced by documentation ones; fields the reader does not read are left out.
RMX_LIST = b"""<RESPONSE_TRANS_CONF_LIST>
  <RETURN_STATUS><ID>0</ID><DESCRIPTION>Status OK</DESCRIPTION><YOUR_TOKEN1>0</YOUR_TOKEN1>
    <YOUR_TOKEN2>0</YOUR_TOKEN2><MESSAGE_ID>1</MESSAGE_ID><DESCRIPTION_EX></DESCRIPTION_EX></RETURN_STATUS>
  <ACTION><GET_LS><CONF_SUMMARY_LS><OBJ_TOKEN>1268</OBJ_TOKEN><CHANGED>true</CHANGED>
    <CONF_SUMMARY><NAME>lxl_1601192784</NAME><ID>96</ID><CONF_CHANGE>new</CONF_CHANGE>
      <NUM_PARTIES>2</NUM_PARTIES><NUM_CONNECTED_PARTIES>2</NUM_CONNECTED_PARTIES><NUMERIC_ID>85533</NUMERIC_ID>
      <DISPLAY_NAME>lxl_1601192784</DISPLAY_NAME></CONF_SUMMARY>
    <CONF_SUMMARY><NAME>tty_2</NAME><ID>97</ID><CONF_CHANGE>new</CONF_CHANGE><NUM_PARTIES>0</NUM_PARTIES>
      <NUM_CONNECTED_PARTIES>0</NUM_CONNECTED_PARTIES><NUMERIC_ID>52011</NUMERIC_ID>
      <DISPLAY_NAME>\xe6\xb5\x8b\xe8\xaf\x95\xe4\xbc\x9a\xe8\xae\xae2</DISPLAY_NAME></CONF_SUMMARY>
    <DELETED_CONF_LIST/>
  </CONF_SUMMARY_LS></GET_LS></ACTION>
</RESPONSE_TRANS_CONF_LIST>
"""
RMX_CONF = b"""<RESPONSE_TRANS_CONF>
  <RETURN_STATUS><ID>0</ID><DESCRIPTION>Status OK</DESCRIPTION><MESSAGE_ID>16332</MESSAGE_ID></RETURN_STATUS>
  <ACTION><GET><CONFERENCE><OBJ_TOKEN>2818</OBJ_TOKEN><CHANGED>true</CHANGED>
    <RESERVATION><NAME>bb1302154987937</NAME><ID>774</ID></RESERVATION>
    <NUM_CONNECTED_PARTIES>2</NUM_CONNECTED_PARTIES>
    <ONGOING_PARTY_LIST>
      <ONGOING_PARTY><ONGOING_PARTY_CHANGE>new</ONGOING_PARTY_CHANGE>
        <PARTY><NAME>tttttttt</NAME><ID>0</ID><INTERFACE>h323</INTERFACE><CONNECTION>dial_out</CONNECTION>
          <ALIAS><NAME></NAME><ALIAS_TYPE>323_id</ALIAS_TYPE></ALIAS><IP>192.0.2.150</IP><SIP_ADDRESS></SIP_ADDRESS>
          <IP_V6>::</IP_V6></PARTY>
        <L_SYNC_LOSS>0</L_SYNC_LOSS><R_SYNC_LOSS>0</R_SYNC_LOSS>
        <ONGOING_PARTY_STATUS><ID>0</ID><DESCRIPTION>idle</DESCRIPTION></ONGOING_PARTY_STATUS>
        <ATTENDING_STATE>inconf</ATTENDING_STATE></ONGOING_PARTY>
      <ONGOING_PARTY><ONGOING_PARTY_CHANGE>new</ONGOING_PARTY_CHANGE>
        <PARTY><NAME>lxl_874449881_(001)</NAME><ID>4</ID><INTERFACE>sip</INTERFACE><CONNECTION>dial_in</CONNECTION>
          <ALIAS><NAME></NAME><ALIAS_TYPE>323_id</ALIAS_TYPE></ALIAS><IP>0.0.0.0</IP>
          <SIP_ADDRESS>40031@198.51.100.232</SIP_ADDRESS><IP_V6>::</IP_V6></PARTY>
        <L_VIDEO_SYNC_LOSS>1</L_VIDEO_SYNC_LOSS>
        <ONGOING_PARTY_STATUS><ID>1</ID><DESCRIPTION>connected</DESCRIPTION></ONGOING_PARTY_STATUS>
        <CONNECT_TIME>2023-07-06T01:07:08</CONNECT_TIME><TX_BAUD_RATE>1920000</TX_BAUD_RATE>
        <RX_BAUD_RATE>1920000</RX_BAUD_RATE></ONGOING_PARTY>
      <ONGOING_PARTY><ONGOING_PARTY_CHANGE>new</ONGOING_PARTY_CHANGE>
        <PARTY><NAME>lxl_874449881_(002)</NAME><ID>5</ID><INTERFACE>sip</INTERFACE><CONNECTION>dial_in</CONNECTION>
          <ALIAS><NAME></NAME><ALIAS_TYPE>323_id</ALIAS_TYPE></ALIAS><IP>0.0.0.0</IP>
          <SIP_ADDRESS>198.51.100.66</SIP_ADDRESS><IP_V6>::</IP_V6></PARTY>
        <ONGOING_PARTY_STATUS><ID>1</ID><DESCRIPTION>connected</DESCRIPTION></ONGOING_PARTY_STATUS></ONGOING_PARTY>
    </ONGOING_PARTY_LIST>
  </CONFERENCE></GET></ACTION>
</RESPONSE_TRANS_CONF>
"""


def test_rmx_quoted_conference_list() -> None:
    action = rmx.answer(parse_xml(RMX_LIST, "TRANS_CONF_LIST"), "TRANS_CONF_LIST")
    assert rmx.conference_ids(action) == ["96", "97"]
    assert rmx.conference_ids(action, conference="LXL_") == ["96"]


def test_rmx_quoted_parties() -> None:
    """Connected dial-in parties by their SIP address (IP 0.0.0.0 is none); the idle dial-out by its IP, not
    connected; the RMX gives no packet statistics here, so no media (unknown, never good)."""
    action = rmx.answer(parse_xml(RMX_CONF, "TRANS_CONF"), "TRANS_CONF")
    report = rmx.read_conferences([action])
    assert [(p.remote, p.name, p.connected, p.id) for p in report.participants] == [
        ("192.0.2.150", "tttttttt", False, "774/0"),
        ("40031@198.51.100.232", "lxl_874449881_(001)", True, "774/4"),
        ("198.51.100.66", "lxl_874449881_(002)", True, "774/5"),
    ]
    assert report.media_reported is False and all(p.media == () for p in report.participants)


def test_rmx_refused_transaction() -> None:
    refused = RMX_LIST.replace(b"<ID>0</ID><DESCRIPTION>Status OK", b"<ID>-1</ID><DESCRIPTION>Invalid token")
    with pytest.raises(ApiError, match="Invalid token"):
        rmx.answer(parse_xml(refused, "TRANS_CONF_LIST"), "TRANS_CONF_LIST")
