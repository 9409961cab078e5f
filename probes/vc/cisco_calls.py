"""In-meeting calls of a Cisco RoomOS / CE codec over the xAPI (issue 18): who it is connected to, and the media.

Two reads with HTTP Basic auth (the status probe's credentials, probes/vc/cisco_xapi.py)::

    GET /getxml?location=/Status/Call            Call[n] (item = call id): RemoteNumber (else CallbackNumber),
                                                 DisplayName, Status (Connected; Dialling, Ringing, Connecting,
                                                 OnHold, Disconnecting, Idle are "not connected"), Duration (s)
    GET /getxml?location=/Status/MediaChannels   Call[n]/Channel[m]: Type (Audio | Video; Data is skipped),
                                                 Direction (Incoming = rx, Outgoing = tx), Video/ChannelRole
                                                 (Presentation channels are skipped: the people stream counts),
                                                 Netstat: LastIntervalLost, LastIntervalReceived, Loss, Packets,
                                                 Jitter (ms, RFC 3550), ChannelRate (bit/s)

Field meanings are Cisco's RoomOS xAPI reference ("xStatus MediaChannels Call [n] Channel [n] Netstat ...":
Loss/Packets are the channel's packets lost / received or sent since the call began, LastIntervalLost /
LastIntervalReceived the same over the last interval, Jitter "at the present moment ... as specified by RFC
3550", ChannelRate "the bandwidth for the incoming or outgoing channel"), and the recorded ``Status/Call`` of a
CE 9.6 codec (tests/conformance/SOURCES.md). Loss ratio = lost / (lost + received) over the last interval when
the codec gives it (the state now, which is what a sustained-loss alert needs), else over the whole call.

A codec whose firmware does not know ``/Status/MediaChannels`` (an answer of 400 or 404, or no MediaChannels
element) reports ``media_reported = False``: its sites' quality is unknown, never good.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from yarl import URL

from probes.core.context import ProbeContext
from probes.vc.call_reader import MAX_PARTICIPANTS, jitter_seconds, lost_ratio, number, protocol_error, read_with
from probes.vc.cisco_xapi import DEFAULT_PORTS, KIND, CiscoXapiSettings
from probes.vc.media import CallReport, Direction, MediaKind, MediaStats, Participant
from probes.vc.status import Client, basic_authorization, expect_ok, parse_xml

_KINDS: dict[str, MediaKind] = {"audio": "audio", "video": "video"}
_DIRECTIONS: dict[str, Direction] = {"incoming": "rx", "outgoing": "tx"}


def _text(node: Element, path: str) -> str | None:
    found = node.find(path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def channel_stats(channel: Element) -> MediaStats | None:
    """One MediaChannels/Call/Channel as MediaStats; None for data, presentation or unknown channels."""
    kind = _KINDS.get((_text(channel, "Type") or "").lower())
    direction = _DIRECTIONS.get((_text(channel, "Direction") or "").lower())
    if kind is None or direction is None:
        return None
    if (_text(channel, "Video/ChannelRole") or _text(channel, "Audio/ChannelRole") or "").lower() == "presentation":
        return None
    netstat = channel.find("Netstat")
    if netstat is None:
        return None  # a channel being set up: nothing measured yet
    lost, received = number(_text(netstat, "LastIntervalLost")), number(_text(netstat, "LastIntervalReceived"))
    ratio = lost_ratio(lost, received)
    if ratio is None:
        ratio = lost_ratio(number(_text(netstat, "Loss")), number(_text(netstat, "Packets")))
    rate = number(_text(netstat, "ChannelRate"))
    return MediaStats(
        kind=kind,
        direction=direction,
        loss_ratio=ratio,
        jitter_seconds=jitter_seconds(_text(netstat, "Jitter")),
        rate_bps=rate if rate is not None and rate >= 0 else None,
    )


def _media_by_call(media: Element) -> dict[str, tuple[MediaStats, ...]]:
    found: dict[str, tuple[MediaStats, ...]] = {}
    for call in media.iterfind("MediaChannels/Call"):
        stats = [s for channel in call.iterfind("Channel") if (s := channel_stats(channel)) is not None]
        found[call.get("item", "")] = tuple(stats)
    return found


def read_calls(calls: Element, media: Element | None) -> CallReport:
    """The /Status/Call document and the /Status/MediaChannels one (None: not served) as a CallReport."""
    if calls.tag != "Status":
        raise protocol_error("/Status/Call", f"expected a <Status> document, got <{calls.tag[:40]}>")
    if media is not None and media.tag != "Status":
        raise protocol_error("/Status/MediaChannels", f"expected a <Status> document, got <{media.tag[:40]}>")
    reported = media is not None and media.find("MediaChannels") is not None
    by_call = _media_by_call(media) if media is not None else {}
    participants = []
    for call in calls.findall("Call")[:MAX_PARTICIPANTS]:
        item = call.get("item")
        remote = _text(call, "RemoteNumber") or _text(call, "CallbackNumber") or ""
        participants.append(
            Participant(
                remote=remote,
                name=_text(call, "DisplayName"),
                connected=(_text(call, "Status") or "").lower() == "connected",
                media=by_call.get(item or "", ()),
                duration_seconds=number(_text(call, "Duration")),
                id=item,
            )
        )
    return CallReport(source=KIND, participants=tuple(participants), media_reported=reported)


async def _read(client: Client, base: URL, settings: CiscoXapiSettings) -> CallReport:
    headers = await basic_authorization(settings.credentials)
    reply = await client.request("GET", (base / "getxml").with_query(location="/Status/Call"), headers=headers)
    expect_ok(reply, "/getxml?location=/Status/Call")
    calls = parse_xml(reply.body, "/Status/Call")
    reply = await client.request("GET", (base / "getxml").with_query(location="/Status/MediaChannels"), headers=headers)
    media: Element | None = None
    if reply.status not in (400, 404):  # older firmware: "Invalid location" — media unknown, attendance still read
        expect_ok(reply, "/getxml?location=/Status/MediaChannels")
        media = parse_xml(reply.body, "/Status/MediaChannels")
    return read_calls(calls, media)


async def read(target: str, settings: CiscoXapiSettings, ctx: ProbeContext) -> CallReport:
    """The codec's calls now (CallReader, probes/vc/calls.py)."""
    return await read_with(
        target, settings, ctx, kind=KIND, settings_type=CiscoXapiSettings, default_ports=DEFAULT_PORTS, read=_read
    )
