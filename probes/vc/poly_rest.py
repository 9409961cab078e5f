"""Poly Group Series / G7500 codecs over their REST API: a login session, then three status reads.

Target, values, success and reasons: see probes/vc/status.py. Settings: scheme (https), tls_verify,
ca_file, max_body_size, credentials ({env:}|{file:} holding "user:password"), require_registration.

Requests (field names from Poly Group Series / G7500 test data; unverified against Poly's guide)::

    POST /rest/session {"action": "Login", "user", "password"}   → session cookie
    GET  /rest/system                 uptime, softwareVersion, model
    GET  /rest/system/status          [{name, state: [...]}]: system.status.inacall, .microphones,
                                      .sipserver, .gatekeeper  (states up / down / off / on / unknown)
    GET  /rest/cameras/near/all       [{connected: bool, ...}]
    GET  /rest/audio/muted            true / false   (404: unknown)

Mapping: in_call ← inacall (on/up = 1, off/down = 0); registered ← sipserver / gatekeeper (1 if any is up,
0 if reported and none is: off = not configured counts as not registered, see require_registration);
peripheral_microphone ← microphones (up = 1, down = 0); peripheral_camera ← any camera connected.

A codec allows few concurrent sessions, so the session cookie is kept per (base URL, user) and reused by
the next probe; a 401 on a read means it expired: log in again, once, and retry (a second 401 is
AUTH_FAILED). ``uptime`` is seconds when the device gives a number, else parsed from "D days HH:MM:SS".
"""

from __future__ import annotations

import logging
import re
from typing import Any

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

log = logging.getLogger(__name__)

# (base URL, user) → Cookie header value of the codec's session.
_sessions: dict[tuple[str, str], str] = {}


SERIES = STATUS_SERIES


class PolyRestSettings(CredentialSettings):
    """Credentials of the codec's admin (or a REST API user)."""


class _Expired(Exception):
    """A read answered 401: the session cookie is no longer valid."""


async def _login(client: Client, base: URL, user: str, password: str) -> str:
    reply = await client.request(
        "POST", base / "rest" / "session", json_body={"action": "Login", "user": user, "password": password}
    )
    expect_ok(reply, "login (POST /rest/session)")
    if not reply.cookies:
        raise ApiError(
            Reason.PROTOCOL_ERROR, "login (POST /rest/session) answered without a session cookie", answered=True
        )
    cookie = "; ".join(f"{name}={value}" for name, value in reply.cookies.items())
    if len(_sessions) >= _MAX_SESSIONS:
        _sessions.pop(next(iter(_sessions)))
    _sessions[(str(base), user)] = cookie
    return cookie


async def _get(client: Client, url: URL, cookie: str, *, optional: bool = False) -> Any:
    reply: Reply = await client.request("GET", url, headers={"Cookie": cookie})
    if reply.status == 401:
        raise _Expired
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
            state = entry.get("state")
            states = state if isinstance(state, list) else [state]
            found[entry["name"].removeprefix("system.status.")] = [str(s).lower() for s in states if s is not None]
    return found


def _state(states: dict[str, list[str]], name: str, yes: set[str], no: set[str]) -> bool | None:
    values = states.get(name, [])
    if any(v in yes for v in values):
        return True
    if any(v in no for v in values):
        return False
    return None  # absent or "unknown"


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
    connected = (
        [c.get("connected") for c in cameras if isinstance(c, dict) and isinstance(c.get("connected"), bool)]
        if isinstance(cameras, list)
        else []
    )
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
        uptime=_uptime(system.get("uptime")),
        camera=any(connected) if connected else None,
        microphone=_state(states, "microphones", {"up", "on"}, {"down"}),
        microphone_muted=muted if isinstance(muted, bool) else None,
        info=info,
    )


async def _read_all(client: Client, base: URL, cookie: str) -> EndpointStatus:
    system = await _get(client, base / "rest" / "system", cookie)
    status = await _get(client, base / "rest" / "system" / "status", cookie)
    cameras = await _get(client, base / "rest" / "cameras" / "near" / "all", cookie, optional=True)
    muted = await _get(client, base / "rest" / "audio" / "muted", cookie, optional=True)
    return read_status(system, status, cameras, muted)


async def _fetch(client: Client, base: URL, settings: PolyRestSettings) -> EndpointStatus:
    user, password = await user_password(settings.credentials)
    cookie = _sessions.get((str(base), user))
    if cookie is not None:
        try:
            return await _read_all(client, base, cookie)
        except _Expired:
            log.info("poly-rest %s: session expired; logging in again", base)
    cookie = await _login(client, base, user, password)
    try:
        return await _read_all(client, base, cookie)
    except _Expired:
        _sessions.pop((str(base), user), None)
        raise ApiError(
            Reason.AUTH_FAILED, "a fresh session was refused (401) right after login", answered=True
        ) from None


async def probe(target: str, settings: PolyRestSettings, *, ctx: ProbeContext) -> ProbeResult:
    return await run_status_probe(
        target,
        settings,
        ctx,
        default_ports=DEFAULT_PORTS,
        fetch=lambda client, base: _fetch(client, base, settings),
        require_registration=settings.require_registration,
    )
