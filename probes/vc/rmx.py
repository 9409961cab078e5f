"""Participants of a Poly (Polycom) RealPresence Collaboration Server / RMX bridge over its XML API (issue 18).

Target: ``HOST[:PORT]`` (https and 443 unless set; many RMX answer the XML API on plain http too) or a base URL.
Settings: scheme (https), tls_verify, ca_file, max_body_size, credentials ({env:}|{file:} holding
"user:password" of an RMX operator), conference (only conferences whose name contains it).

Every request is an XML transaction POSTed to the bridge's root; every answer is ``RESPONSE_<TRANS>`` with
``RETURN_STATUS/ID`` (0 = "Status OK") and ``DESCRIPTION``. Shapes from public RMX API clients (their request
templates and the answers they quote in their sources; tests/conformance/SOURCES.md)::

    TRANS_MCU / LOGIN        USER_NAME, PASSWORD, STATION_NAME, MCU_IP → ACTION/LOGIN/MCU_TOKEN, MCU_USER_TOKEN
    TRANS_CONF_LIST / GET_LS (OBJ_TOKEN -1)  → ACTION/GET_LS/CONF_SUMMARY_LS/CONF_SUMMARY: ID, NAME, DISPLAY_NAME
    TRANS_CONF_2 / GET ID    → ACTION/GET/CONFERENCE/ONGOING_PARTY_LIST/ONGOING_PARTY: PARTY (NAME, ID, IP,
                               SIP_ADDRESS, ALIAS/NAME), ONGOING_PARTY_STATUS/DESCRIPTION (connected, idle, ...)

Mapping: one Participant per ongoing party: remote ← SIP_ADDRESS, else ALIAS/NAME, else IP (0.0.0.0 and :: are
"none"); name ← NAME; connected ← the status description starts with "connected"; id ← "CONF_ID/PARTY_ID".
Media: ``media_reported = False``: the conference state carries sync-loss counters, not packet loss, jitter or
rates, and no public sample of the RMX's per-party channel statistics was found. A failed login (RETURN_STATUS
not 0) is AUTH_FAILED with the bridge's own description; any other refused transaction BAD_STATUS.

The tokens are kept per bridge and user (an RMX holds few logins); a refused transaction with kept tokens
is followed by one fresh login and one retry. Status probe (kind ``rmx``): the login and the conference
list; ready = both answered "Status OK".
At most 50 conferences are read per poll, one after the other (one transaction at a time, as the clients do).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from pydantic import Field
from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.vc.call_reader import MAX_PARTICIPANTS, Sessions, protocol_error, read_with, with_login
from probes.vc.media import CallReport, Participant
from probes.vc.status import SERIES as STATUS_SERIES
from probes.vc.status import (
    ApiError,
    Client,
    EndpointStatus,
    UserSettings,
    expect_ok,
    parse_xml,
    run_status_probe,
    user_password,
)

KIND = "rmx"
DEFAULT_PORTS = {"https": 443, "http": 80}
SERIES = STATUS_SERIES
MAX_CONFERENCES = 50
_NO_ADDRESS = frozenset({"", "0.0.0.0", "::"})
_XML = {"Content-Type": "text/xml; charset=utf-8"}


class RmxSettings(UserSettings):
    """An operator account of the RMX."""

    conference: str = Field("", max_length=200, description="only conferences whose name contains this")


def _text(node: Element | None, path: str) -> str:
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def answer(root: Element, transaction: str) -> Element:
    """The ACTION of a ``RESPONSE_<transaction>``; ApiError when the bridge refused it or answered another shape."""
    if root.tag != f"RESPONSE_{transaction}":
        raise protocol_error(transaction, f"expected <RESPONSE_{transaction}>, got <{root.tag[:40]}>")
    status = root.find("RETURN_STATUS")
    if status is None:
        raise protocol_error(transaction, "no RETURN_STATUS in the answer")
    if _text(status, "ID") != "0":
        words = _text(status, "DESCRIPTION")[:200] or "no description"
        raise ApiError(Reason.BAD_STATUS, f"{transaction}: the bridge refused ({words})", answered=True)
    action = root.find("ACTION")
    if action is None:
        raise protocol_error(transaction, "no ACTION in the answer")
    return action


def conference_ids(action: Element, *, conference: str = "") -> list[str]:
    """The ids of the listed conferences (GET_LS), those whose name contains ``conference`` if given."""
    wanted = conference.casefold()
    ids = []
    for summary in action.iterfind("GET_LS/CONF_SUMMARY_LS/CONF_SUMMARY"):
        names = f"{_text(summary, 'NAME')} {_text(summary, 'DISPLAY_NAME')}".casefold()
        if _text(summary, "ID") and (not wanted or wanted in names):
            ids.append(_text(summary, "ID"))
    return ids[:MAX_CONFERENCES]


def parties(action: Element) -> list[Participant]:
    """The ongoing parties of a TRANS_CONF_2 GET answer."""
    conference = action.find("GET/CONFERENCE")
    if conference is None:
        raise protocol_error("TRANS_CONF_2", "no GET/CONFERENCE in the answer")
    conf_id = _text(conference, "RESERVATION/ID")
    found = []
    for ongoing in conference.iterfind("ONGOING_PARTY_LIST/ONGOING_PARTY"):
        party = ongoing.find("PARTY")
        candidates = (_text(party, "SIP_ADDRESS"), _text(party, "ALIAS/NAME"), _text(party, "IP"))
        remote = next((c for c in candidates if c not in _NO_ADDRESS), "")
        found.append(
            Participant(
                remote=remote,
                name=_text(party, "NAME") or None,
                connected=_text(ongoing, "ONGOING_PARTY_STATUS/DESCRIPTION").lower().startswith("connected"),
                id=f"{conf_id}/{_text(party, 'ID')}",
            )
        )
    return found


def read_conferences(actions: list[Element]) -> CallReport:
    participants = [p for action in actions for p in parties(action)][:MAX_PARTICIPANTS]
    return CallReport(source=KIND, participants=tuple(participants), media_reported=False)


@dataclass(frozen=True, slots=True)
class _Session:
    token: str
    user_token: str


def _common(session: _Session | None) -> str:
    token, user_token = (session.token, session.user_token) if session else ("-1", "-1")
    return (
        f"<TRANS_COMMON_PARAMS><MCU_TOKEN>{escape(token)}</MCU_TOKEN><MCU_USER_TOKEN>{escape(user_token)}"
        "</MCU_USER_TOKEN><MESSAGE_ID>0</MESSAGE_ID></TRANS_COMMON_PARAMS>"
    )


async def _transaction(client: Client, base: URL, transaction: str, body: str) -> Element:
    reply = await client.request("POST", base.with_path(base.path or "/"), headers=_XML, data=body.encode())
    expect_ok(reply, transaction)
    return answer(parse_xml(reply.body, transaction), transaction)


_sessions: Sessions[_Session] = Sessions()


async def _login(client: Client, base: URL, user: str, password: str) -> _Session:
    body = (
        f"<TRANS_MCU>{_common(None)}<ACTION><LOGIN><MCU_IP><IP>{escape(base.host or '')}</IP>"
        f"<LISTEN_PORT>{base.port or ''}</LISTEN_PORT></MCU_IP><USER_NAME>{escape(user)}</USER_NAME>"
        f"<PASSWORD>{escape(password)}</PASSWORD><STATION_NAME>giaoban</STATION_NAME></LOGIN></ACTION></TRANS_MCU>"
    )
    try:
        action = await _transaction(client, base, "TRANS_MCU", body)
    except ApiError as exc:
        if exc.reason is Reason.BAD_STATUS:  # a refused login is the user or the password
            raise ApiError(Reason.AUTH_FAILED, f"{exc.detail}: check the user and password", answered=True) from None
        raise
    token, user_token = _text(action, "LOGIN/MCU_TOKEN"), _text(action, "LOGIN/MCU_USER_TOKEN")
    if not token:
        raise protocol_error("TRANS_MCU", "no LOGIN/MCU_TOKEN in the answer")
    return _Session(token, user_token or token)


async def _list(client: Client, base: URL, session: _Session) -> Element:
    action = "<ACTION><GET_LS><OBJ_TOKEN>-1</OBJ_TOKEN></GET_LS></ACTION>"
    body = f"<TRANS_CONF_LIST>{_common(session)}{action}</TRANS_CONF_LIST>"
    return await _transaction(client, base, "TRANS_CONF_LIST", body)


async def _conferences(client: Client, base: URL, settings: RmxSettings, session: _Session) -> CallReport:
    actions = []
    for conf_id in conference_ids(await _list(client, base, session), conference=settings.conference):
        body = (
            f"<TRANS_CONF_2>{_common(session)}<ACTION><GET><ID>{escape(conf_id)}</ID><OBJ_TOKEN>-1</OBJ_TOKEN>"
            "</GET></ACTION></TRANS_CONF_2>"
        )
        actions.append(await _transaction(client, base, "TRANS_CONF", body))
    return read_conferences(actions)


async def _read(client: Client, base: URL, settings: RmxSettings) -> CallReport:
    user, password = await user_password(settings.credentials)
    return await with_login(
        _sessions,
        base,
        user,
        lambda: _login(client, base, user, password),
        lambda session: _conferences(client, base, settings, session),
    )


async def read(target: str, settings: RmxSettings, ctx: ProbeContext) -> CallReport:
    """The bridge's parties now (CallReader, probes/vc/calls.py)."""
    return await read_with(
        target, settings, ctx, kind=KIND, settings_type=RmxSettings, default_ports=DEFAULT_PORTS, read=_read
    )


async def _fetch_status(client: Client, base: URL, settings: RmxSettings) -> EndpointStatus:
    user, password = await user_password(settings.credentials)
    await with_login(
        _sessions,
        base,
        user,
        lambda: _login(client, base, user, password),
        lambda session: _list(client, base, session),
    )
    return EndpointStatus()


async def probe(target: str, settings: RmxSettings, *, ctx: ProbeContext) -> ProbeResult:
    return await run_status_probe(target, settings, ctx, default_ports=DEFAULT_PORTS, fetch=_fetch_status)
