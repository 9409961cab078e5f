"""Participants of a Jitsi Videobridge's conferences over its private REST API (issue 18).

Target and settings are the jitsi status probe's (probes/vc/jitsi.py; http and port 8080 unless set), whose
``conference`` option is read here only: only conferences whose name (the MUC room JID, e.g.
``giaoban-2024@conference.meet.example``) contains it, case-insensitive; empty = every conference on the bridge.

Request (jitsi-videobridge ``doc/debugging.md``; the answer's shape from ``Videobridge.getDebugState`` and
``Conference.getDebugState``, tests/conformance/SOURCES.md)::

    GET /debug    {"conferences": {CONFERENCE_ID: {"id", "name", "endpoints": {ENDPOINT_ID: STATS_ID}}}, ...}

Mapping: one Participant per endpoint: remote ← the endpoint id (the bridge knows no SIP address or IP of a
participant), name ← its stats id (Jitsi Meet derives it from the display name, e.g. "Mable-3Ww"), connected ←
True (the bridge lists endpoints that are in the conference), id ← "CONFERENCE_NAME/ENDPOINT_ID". The watch
matches a site by the names configured for it.

Media: ``media_reported = False``: the non-full debug state carries no per-endpoint statistics, and the full one
(``?full=true``, about 25 KB per endpoint by the bridge's own documentation) is internal state with no stable
shape. A Jitsi participant's quality is therefore unknown, never good. A bridge that serves no /debug (404:
the debug API disabled) fails the read with BAD_STATUS: an empty list would say "nobody is connected".
"""

from __future__ import annotations

from typing import Any

from yarl import URL

from probes.core.context import ProbeContext
from probes.vc.call_reader import MAX_PARTICIPANTS, protocol_error, read_with
from probes.vc.jitsi import DEFAULT_PORTS, KIND, JitsiSettings
from probes.vc.media import CallReport, Participant
from probes.vc.status import Client, expect_ok, parse_json


def read_debug(document: Any, *, conference: str = "") -> CallReport:
    """A /debug answer as a CallReport."""
    conferences = document.get("conferences") if isinstance(document, dict) else None
    if not isinstance(conferences, dict):
        raise protocol_error("/debug", 'expected {"conferences": {...}}')
    wanted = conference.casefold()
    participants: list[Participant] = []
    for conference_id, state in conferences.items():
        if not isinstance(state, dict):
            continue  # "null": a conference that expired while the state was taken
        name = state.get("name") if isinstance(state.get("name"), str) else None
        if wanted and wanted not in (name or "").casefold():
            continue
        endpoints = state.get("endpoints") or {}
        if not isinstance(endpoints, dict):
            raise protocol_error("/debug", f"conference {conference_id[:40]}: endpoints is not an object")
        for endpoint_id, stats_id in endpoints.items():
            if len(participants) >= MAX_PARTICIPANTS:
                break
            participants.append(
                Participant(
                    remote=endpoint_id,
                    name=stats_id if isinstance(stats_id, str) and stats_id else None,
                    id=f"{name or conference_id}/{endpoint_id}",
                )
            )
    return CallReport(source=KIND, participants=tuple(participants), media_reported=False)


async def _read(client: Client, base: URL, settings: JitsiSettings) -> CallReport:
    reply = await client.request("GET", base / "debug")
    expect_ok(reply, "/debug")
    return read_debug(parse_json(reply.body, "/debug"), conference=settings.conference)


async def read(target: str, settings: JitsiSettings, ctx: ProbeContext) -> CallReport:
    """The bridge's participants now (CallReader, probes/vc/calls.py)."""
    return await read_with(
        target, settings, ctx, kind=KIND, settings_type=JitsiSettings, default_ports=DEFAULT_PORTS, read=_read
    )
