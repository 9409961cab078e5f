"""Participants of a Cisco Meeting Server (CMS, formerly Acano) bridge over its REST API (issue 18).

Target: ``HOST[:PORT]`` (the web admin's HTTPS port, 443 unless set) or a base URL. Settings: scheme
(https), tls_verify, ca_file, max_body_size, credentials ({env:}|{file:} holding "user:password" of an API
user), page_size. HTTP Basic auth on every request, as CMS's API requires.

Requests (CMS API reference, "Call leg related methods"; shapes of recorded answers, tests/conformance/SOURCES.md)::

    GET /api/v1/callLegs?offset=N&limit=M   <callLegs total="T"><callLeg id=...><name/><remoteParty/><call/>
                                            </callLeg>...</callLegs>, paged until T legs (at most 1000) are read
    GET /api/v1/callLegs/{id}               <callLeg id=...><name/><remoteParty/><status><state/>
                                            <durationSeconds/><rxAudio/><txAudio/><rxVideo role=main/>
                                            <txVideo role=main/></status></callLeg>; a 404 = the leg has just
                                            ended, it is left out

Mapping: remote ← remoteParty (the participant's SIP URI or address), name ← name, connected ← status/state is
``connected`` (initial, ringing, onHold are not), duration ← durationSeconds, id ← the leg's id. Media per
element: packetLossPercentage (%) → loss ratio, jitter (ms), bitRate (bit/s). The bridge's ``rx`` is what it
receives *from* the site, so CMS rxAudio/rxVideo are the site's ``tx`` and txAudio/txVideo (whose loss is the one
the site reports back in RTCP) the site's ``rx``. Presentation video (role other than main) is left out. A leg
without any of these elements has no media (unknown quality); the bridge itself reports media (media_reported).

The detail reads run at most four at a time, so a large briefing does not flood the bridge's API.

Status probe (kind ``cms``, probes/__init__.py)::

    GET /api/v1/system/status   <status><softwareVersion/><uptimeSeconds/><activated/><clusterEnabled/>
                                <callLegsActive/>...</status>  (CMS API reference, "System status")

Values: ``up``, ``response_seconds``, ``uptime`` (uptimeSeconds); info ``software`` (softwareVersion). A bridge is a
server: registration, calls and peripherals are not reported. Ready = the API answered and the bridge is
activated; ``activated`` false is NOT_READY (an unlicensed Call Bridge takes no calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from pydantic import Field
from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import ProbeResult
from probes.vc.call_reader import (
    MAX_PARTICIPANTS,
    jitter_seconds,
    number,
    percent_ratio,
    protocol_error,
    rate_bps,
    read_with,
)
from probes.vc.media import CallReport, Direction, MediaKind, MediaStats, Participant
from probes.vc.status import SERIES as STATUS_SERIES
from probes.vc.status import (
    Client,
    EndpointStatus,
    UserSettings,
    basic_authorization,
    expect_ok,
    parse_xml,
    run_status_probe,
)

KIND = "cms"
DEFAULT_PORTS = {"https": 443, "http": 80}
_PARALLEL = 4
SERIES = STATUS_SERIES
# CMS element → (kind, the site's direction): the bridge's receive is the site's send.
_STREAMS: dict[str, tuple[MediaKind, Direction]] = {
    "rxAudio": ("audio", "tx"),
    "txAudio": ("audio", "rx"),
    "rxVideo": ("video", "tx"),
    "txVideo": ("video", "rx"),
}


class CmsSettings(UserSettings):
    """An API user of the bridge (the "api" role is enough to read call legs)."""

    page_size: int = Field(20, ge=1, le=100, description="call legs per list request (limit=)")


def _text(node: Element, path: str) -> str | None:
    found = node.find(path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def leg_list(root: Element) -> tuple[int | None, list[str]]:
    """A /callLegs page: its ``total`` attribute (None if absent) and the leg ids in it."""
    if root.tag != "callLegs":
        raise protocol_error("/api/v1/callLegs", f"expected <callLegs>, got <{root.tag[:40]}>")
    total = number(root.get("total"))
    ids = [leg.get("id", "") for leg in root.iterfind("callLeg")]
    if any(not leg_id for leg_id in ids):
        raise protocol_error("/api/v1/callLegs", "a <callLeg> without an id")
    return (int(total) if total is not None and total >= 0 else None), ids


def leg_media(status: Element | None) -> tuple[MediaStats, ...]:
    if status is None:
        return ()
    stats = []
    for element, (kind, direction) in _STREAMS.items():
        for stream in status.iterfind(element):
            if kind == "video" and stream.get("role", "main") != "main":
                continue  # presentation (content) stream
            stats.append(
                MediaStats(
                    kind=kind,
                    direction=direction,
                    loss_ratio=percent_ratio(_text(stream, "packetLossPercentage")),
                    jitter_seconds=jitter_seconds(_text(stream, "jitter")),
                    rate_bps=rate_bps(_text(stream, "bitRate")),
                )
            )
    return tuple(stats)


def read_leg(root: Element) -> Participant:
    """One /callLegs/{id} document as a Participant."""
    if root.tag != "callLeg" or not root.get("id"):
        raise protocol_error("/api/v1/callLegs/{id}", f"expected <callLeg id=...>, got <{root.tag[:40]}>")
    status = root.find("status")
    state = (_text(status, "state") or "").lower() if status is not None else ""
    return Participant(
        remote=_text(root, "remoteParty") or "",
        name=_text(root, "name"),
        connected=state == "connected",
        media=leg_media(status),
        duration_seconds=number(_text(status, "durationSeconds")) if status is not None else None,
        id=root.get("id"),
    )


def read_legs(details: Mapping[str, Element]) -> CallReport:
    """The legs' detail documents (leg id → document) as the bridge's report."""
    return CallReport(source=KIND, participants=tuple(read_leg(doc) for doc in details.values()), media_reported=True)


def read_system_status(root: Element) -> EndpointStatus:
    """A /api/v1/system/status document as an EndpointStatus."""
    if root.tag != "status":
        raise protocol_error("/api/v1/system/status", f"expected <status>, got <{root.tag[:40]}>")
    activated = (_text(root, "activated") or "").lower()
    software = _text(root, "softwareVersion")
    return EndpointStatus(
        uptime=number(_text(root, "uptimeSeconds")),
        healthy=activated != "false",
        problem="the Call Bridge is not activated (no licence): it takes no calls" if activated == "false" else "",
        info={"software": software} if software else {},
    )


async def _fetch_status(client: Client, base: URL, settings: CmsSettings) -> EndpointStatus:
    reply = await client.request(
        "GET", base / "api" / "v1" / "system" / "status", headers=await basic_authorization(settings.credentials)
    )
    expect_ok(reply, "GET /api/v1/system/status")
    return read_system_status(parse_xml(reply.body, "/api/v1/system/status"))


async def probe(target: str, settings: CmsSettings, *, ctx: ProbeContext) -> ProbeResult:
    return await run_status_probe(target, settings, ctx, default_ports=DEFAULT_PORTS, fetch=_fetch_status)


async def _read(client: Client, base: URL, settings: CmsSettings) -> CallReport:
    headers = await basic_authorization(settings.credentials)
    ids: list[str] = []
    while len(ids) < MAX_PARTICIPANTS:
        url = (base / "api" / "v1" / "callLegs").with_query(offset=len(ids), limit=settings.page_size)
        reply = await client.request("GET", url, headers=headers)
        expect_ok(reply, "GET /api/v1/callLegs")
        total, page = leg_list(parse_xml(reply.body, "/api/v1/callLegs"))
        ids += page
        if not page or total is None or len(ids) >= total:
            break
    ids = list(dict.fromkeys(ids))[:MAX_PARTICIPANTS]  # a leg listed on two pages (legs ended meanwhile) once
    gate = asyncio.Semaphore(_PARALLEL)

    async def detail(leg_id: str) -> Element | None:
        async with gate:
            reply = await client.request("GET", base / "api" / "v1" / "callLegs" / leg_id, headers=headers)
        if reply.status == 404:
            return None  # ended between the list and now
        expect_ok(reply, "GET /api/v1/callLegs/{id}")
        return parse_xml(reply.body, "/api/v1/callLegs/{id}")

    tasks = [asyncio.create_task(detail(leg_id)) for leg_id in ids]
    try:
        documents = await asyncio.gather(*tasks)
    except BaseException:  # one failed or the read was cancelled: the other requests stop too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return read_legs({leg_id: doc for leg_id, doc in zip(ids, documents, strict=True) if doc is not None})


async def read(target: str, settings: CmsSettings, ctx: ProbeContext) -> CallReport:
    """The bridge's call legs now (CallReader, probes/vc/calls.py)."""
    return await read_with(
        target, settings, ctx, kind=KIND, settings_type=CmsSettings, default_ports=DEFAULT_PORTS, read=_read
    )
