"""Poly codecs over their REST API, both families: RealPresence Group Series (6.x) and Poly OS (Studio X,
G7500; 3.x and later). A login session, then three status reads.

Target, values, success and reasons: see probes/vc/status.py. Settings: scheme (https), tls_verify,
ca_file, max_body_size, credentials ({env:}|{file:} holding "user:password"), require_registration.

Requests (shapes from recorded answers of both families, tests/conformance/SOURCES.md)::

    POST /rest/session {"action": "Login", "user", "password"}   → the session: a cookie (Group Series), or
                                      {"session": {"sessionId": ...}} in the body (Poly OS), sent back as
                                      the cookie session_id
    GET  /rest/system                 uptime, softwareVersion, model, state (READY, ASLEEP, ...)
    GET  /rest/system/status          [{name, state: [...]}] (Group Series) or [{name, stateList: [...]}]
                                      (Poly OS): system.status.inacall, .sipserver, .gatekeeper,
                                      .microphones / .mr.audio, .mr.camera, .trackablecamera
    GET  /rest/cameras/near/all       [{sourceType: SRC_PEOPLE | SRC_CONTENT, connected: bool, ...}]
    GET  /rest/audio/muted            true / false   (404: unknown)

Mapping: in_call ← inacall (on/up = 1, off/down = 0); registered ← sipserver / gatekeeper (1 if any is up,
0 if reported and none is: off = not configured counts as not registered, see require_registration);
peripheral_microphone ← microphones or mr.audio (up, all_up = 1; down, all_down = 0); peripheral_camera ←
the people sources of /rest/cameras/near/all (a content input or a UI layer "connected" is no camera:
issue 15) and mr.camera / trackablecamera: 1 if any says connected or up, 0 if some say not and none says
yes; standby ← system state ASLEEP (1), READY (0).

A codec allows few concurrent sessions, so the session is kept per (base URL, user) and reused by the
next probe; a 401 on a read means it expired: log in again, once, and retry (a second 401 is AUTH_FAILED).
``uptime`` is seconds when the device gives a number, else parsed from "D days HH:MM:SS".
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Set
from typing import Any, TypeVar

from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.vc.status import SERIES as STATUS_SERIES
from probes.vc.status import (
    ApiError,
    Client,
    CredentialSettings,
    EndpointStatus,
    Reply,
    expect_ok,
    parse_json,
    run_status_probe,
    user_password,
)

KIND = "poly-rest"
DEFAULT_PORTS = {"https": 443, "http": 80}
_MAX_SESSIONS = 4096  # bound the cache: one entry per endpoint of the inventory is expected
_UPTIME = re.compile(r"(?:(\d+)\s*days?,?\s*)?(\d+):(\d\d):(\d\d)")
_TOKEN = re.compile(r"[!#-+\--:<-\[\]-~]+")  # RFC 6265 cookie-octet: no space, quote, comma, semicolon, backslash
_PEOPLE = "SRC_PEOPLE"
_YES, _NO = frozenset({"up", "on", "all_up"}), frozenset({"down", "all_down"})
_STANDBY = {"ASLEEP": True, "READY": False}

log = logging.getLogger(__name__)
T = TypeVar("T")

# (base URL, user) → Cookie header value of the codec's session.
_sessions: dict[tuple[str, str], str] = {}


SERIES = STATUS_SERIES


class PolyRestSettings(CredentialSettings):
    """Credentials of the codec's admin (or a REST API user)."""


class Expired(Exception):
    """A read answered 401: the session cookie is no longer valid."""


async def _login(client: Client, base: URL, user: str, password: str) -> str:
    reply = await client.request(
        "POST", base / "rest" / "session", json_body={"action": "Login", "user": user, "password": password}
    )
    expect_ok(reply, "login (POST /rest/session)")
    cookies = dict(reply.cookies)
    if "session_id" not in cookies and (token := login_session(reply.body)):
        cookies["session_id"] = token  # Poly OS answers the session in the body; reads send it as this cookie
    if not cookies:
        raise ApiError(
            Reason.PROTOCOL_ERROR,
            "login (POST /rest/session) answered with neither a session cookie nor a session.sessionId",
            answered=True,
        )
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    if len(_sessions) >= _MAX_SESSIONS:
        _sessions.pop(next(iter(_sessions)))
    _sessions[(str(base), user)] = cookie
    return cookie


def login_session(body: bytes) -> str | None:
    """The sessionId of a Poly OS login answer ({"session": {"sessionId": ...}, "success": true}), if any."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    session = document.get("session") if isinstance(document, dict) else None
    token = session.get("sessionId") if isinstance(session, dict) else None
    # A cookie value cannot hold separators; a token that would need quoting is not one we can send back.
    return token if isinstance(token, str) and token and _TOKEN.fullmatch(token) else None


async def get_json(client: Client, url: URL, cookie: str, *, optional: bool = False) -> Any:
    reply: Reply = await client.request("GET", url, headers={"Cookie": cookie})
    if reply.status == 401:
        raise Expired
    if optional and reply.status == 404:
        return None
    expect_ok(reply, f"GET {url.path}")
    return parse_json(reply.body, url.path)


def _states(document: Any) -> dict[str, list[str]]:
    """system.status.* name → its states, lower-case; entries of another shape are skipped."""
    if not isinstance(document, list):
        raise ApiError(Reason.PROTOCOL_ERROR, "/rest/system/status: expected a JSON list", answered=True)
    found: dict[str, list[str]] = {}
    for entry in document:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            state = entry.get("state", entry.get("stateList"))  # Group Series: state; Poly OS: stateList
            states = state if isinstance(state, list) else [state]
            found[entry["name"].removeprefix("system.status.")] = [str(s).lower() for s in states if s is not None]
    return found


def _state(states: dict[str, list[str]], name: str, yes: Set[str], no: Set[str]) -> bool | None:
    values = states.get(name, [])
    if any(v in yes for v in values):
        return True
    if any(v in no for v in values):
        return False
    return None  # absent or "unknown"


def _either(*answers: bool | None) -> bool | None:
    """True if any source says yes, False if some say no and none yes, None if none says anything."""
    known = [a for a in answers if a is not None]
    return any(known) if known else None


def _people_cameras(cameras: Any) -> bool | None:
    """Whether a people camera is connected; content inputs and UI layers are sources, not cameras.

    An entry without ``sourceType`` (older firmware) counts as a camera, as it always did.
    """
    if not isinstance(cameras, list):
        return None
    connected = [
        c["connected"]
        for c in cameras
        if isinstance(c, dict) and isinstance(c.get("connected"), bool) and c.get("sourceType", _PEOPLE) == _PEOPLE
    ]
    return any(connected) if connected else None


def _uptime(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value.strip().isdigit():
            return float(value)
        if match := _UPTIME.search(value):
            days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
            return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
    return None


def read_status(system: Any, status: Any, cameras: Any, muted: Any) -> EndpointStatus:
    """Map the three (four) documents to an EndpointStatus."""
    if not isinstance(system, dict):
        raise ApiError(Reason.PROTOCOL_ERROR, "/rest/system: expected a JSON object", answered=True)
    states = _states(status)
    protocols = [_state(states, name, {"up"}, {"down", "off"}) for name in ("sipserver", "gatekeeper")]
    known = [p for p in protocols if p is not None]
    camera = _either(
        _people_cameras(cameras),
        _state(states, "mr.camera", _YES, _NO),
        _state(states, "trackablecamera", _YES, _NO),
    )
    microphone = _either(_state(states, "microphones", _YES, _NO), _state(states, "mr.audio", _YES, _NO))
    state = system.get("state")
    if isinstance(muted, dict):  # some firmware wraps it: {"muted": true}
        muted = muted.get("muted", muted.get("result"))
    info = {}
    words = [
        f"SIP {states['sipserver'][0]}" if states.get("sipserver") else "",
        f"H.323 {states['gatekeeper'][0]}" if states.get("gatekeeper") else "",
    ]
    if any(words):
        info["registration"] = "; ".join(w for w in words if w)
    for key, source in (("software", "softwareVersion"), ("product", "model")):
        if isinstance(system.get(source), str) and system[source]:
            info[key] = system[source]
    return EndpointStatus(
        registered=any(known) if known else None,
        in_call=_state(states, "inacall", {"on", "up"}, {"off", "down"}),
        standby=_STANDBY.get(state) if isinstance(state, str) else None,
        uptime=_uptime(system.get("uptime")),
        camera=camera,
        microphone=microphone,
        microphone_muted=muted if isinstance(muted, bool) else None,
        info=info,
    )


async def _read_all(client: Client, base: URL, cookie: str) -> EndpointStatus:
    system = await get_json(client, base / "rest" / "system", cookie)
    status = await get_json(client, base / "rest" / "system" / "status", cookie)
    cameras = await get_json(client, base / "rest" / "cameras" / "near" / "all", cookie, optional=True)
    muted = await get_json(client, base / "rest" / "audio" / "muted", cookie, optional=True)
    return read_status(system, status, cameras, muted)


async def with_session(
    client: Client, base: URL, settings: PolyRestSettings, reads: Callable[[Client, URL, str], Awaitable[T]]
) -> T:
    """Run ``reads`` with the codec's session cookie: the kept one, else (or when it expired) a fresh login, once.

    Shared by the status probe and the in-meeting reader (probes/vc/poly_calls.py), so both use one session.
    """
    user, password = await user_password(settings.credentials)
    cookie = _sessions.get((str(base), user))
    if cookie is not None:
        try:
            return await reads(client, base, cookie)
        except Expired:
            log.info("poly-rest %s: session expired; logging in again", base)
    cookie = await _login(client, base, user, password)
    try:
        return await reads(client, base, cookie)
    except Expired:
        _sessions.pop((str(base), user), None)
        raise ApiError(
            Reason.AUTH_FAILED, "a fresh session was refused (401) right after login", answered=True
        ) from None


async def _fetch(client: Client, base: URL, settings: PolyRestSettings) -> EndpointStatus:
    return await with_session(client, base, settings, _read_all)


async def probe(target: str, settings: PolyRestSettings, *, ctx: ProbeContext) -> ProbeResult:
    return await run_status_probe(
        target,
        settings,
        ctx,
        default_ports=DEFAULT_PORTS,
        fetch=_fetch,
        require_registration=settings.require_registration,
    )
