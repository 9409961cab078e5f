"""In-meeting calls of a Poly codec over its REST API (issue 18): Group Series 6.x and Poly OS (Studio X, G7500).

The status probe's session (probes/vc/poly_rest.py: login, cookie kept per codec, one re-login on 401), then::

    GET /rest/conferences   [{id, isActive, connections: [{id, address, state, duration, type, incoming,
                            terms: [{name, callerID, address}]}]}]  (recorded answers of both families,
                            tests/conformance/SOURCES.md; "PENDING" is the conference of a call being set up)

Mapping: one Participant per connection: remote ← address, name ← the first term's name (else callerID),
connected ← state ``CONNECTED`` (RINGING, CONNECTING, DISCONNECTING ... are not), duration ← duration (s),
id ← "conference/connection".

Media: ``media_reported = False``. Poly's REST API references name per-conference media statistics, but no
public recording or documented response shape of them was found (tests/conformance/SOURCES.md), and a
reader built on guessed field names could report a broken picture as good. Sites on Poly codecs therefore
show attendance from the codec and quality "unknown" unless a bridge (cms, jitsi) reports their media.
"""

from __future__ import annotations

from typing import Any

from yarl import URL

from probes.core.context import ProbeContext
from probes.vc.call_reader import MAX_PARTICIPANTS, number, protocol_error, read_with
from probes.vc.media import CallReport, Participant
from probes.vc.poly_rest import DEFAULT_PORTS, KIND, PolyRestSettings, get_json, with_session
from probes.vc.status import Client


def _name(connection: dict[str, Any]) -> str | None:
    for term in connection.get("terms") or []:
        if isinstance(term, dict):
            for key in ("name", "callerID"):
                if isinstance(term.get(key), str) and term[key].strip():
                    return str(term[key]).strip()
    return None


def read_conferences(conferences: Any) -> CallReport:
    """The /rest/conferences answer as a CallReport (attendance only; see the module docstring)."""
    if not isinstance(conferences, list):
        raise protocol_error("/rest/conferences", "expected a JSON list")
    participants: list[Participant] = []
    for conference in conferences:
        if not isinstance(conference, dict):
            raise protocol_error("/rest/conferences", "an entry that is not an object")
        connections = conference.get("connections") or []
        if not isinstance(connections, list):
            raise protocol_error("/rest/conferences", "connections is not a list")
        for connection in connections:
            if not isinstance(connection, dict) or len(participants) >= MAX_PARTICIPANTS:
                continue
            address = connection.get("address")
            state = connection.get("state")
            participants.append(
                Participant(
                    remote=address.strip() if isinstance(address, str) else "",
                    name=_name(connection),
                    connected=isinstance(state, str) and state.upper() == "CONNECTED",
                    duration_seconds=number(connection.get("duration")),
                    id=f"{conference.get('id', '')}/{connection.get('id', '')}",
                )
            )
    return CallReport(source=KIND, participants=tuple(participants), media_reported=False)


async def _conferences(client: Client, base: URL, cookie: str) -> CallReport:
    return read_conferences(await get_json(client, base / "rest" / "conferences", cookie))


async def read(target: str, settings: PolyRestSettings, ctx: ProbeContext) -> CallReport:
    """The codec's calls now (CallReader, probes/vc/calls.py)."""
    return await read_with(
        target,
        settings,
        ctx,
        kind=KIND,
        settings_type=PolyRestSettings,
        default_ports=DEFAULT_PORTS,
        read=lambda client, base, checked: with_session(client, base, checked, _conferences),
    )
