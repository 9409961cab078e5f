"""In-meeting call state of a Huawei room system (IdeaHub, TE/Box series) over its HTTP API (issue 18).

Target: ``HOST[:PORT]`` (https and 443 unless set) or a base URL. Settings: scheme (https), tls_verify,
ca_file, max_body_size, credentials ({env:}|{file:} holding "user:password" of the web administrator),
site_handle (255).

Requests (Huawei "IdeaHub Pro, S, Enterprise HTTP API 编程参考", support.huaweicloud.com/ideahub-api/:
ideahub_05_0025 请求会话ID, ideahub_05_0026 请求认证, ideahub_05_0172 获取通话状态)::

    GET  /action.cgi?ActionID=WEB_RequestSessionIDAPI     the session id, in a cookie (kept for the next two)
    POST /action.cgi?ActionID=WEB_RequestCertificateAPI   {"user", "password"} → data.acCSRFToken; every later
                                                          JSON request carries it (sent as the body field
                                                          acCSRFToken: the documentation says "carry the CSRF
                                                          token field" without naming where)
    POST /action.cgi?ActionID=WEB_GetCallStatusInfoAPI    {"siteHandle": 255} (255: the system's own call when
                                                          it is not hosting a multipoint call) → data

Every answer is ``{"success": 1, "data": ...}`` or ``{"success": 0, "error": {"id", "code", "params"}}``; ``data``
is a JSON object encoded as a string (as documented) or an object. Fields read from the call status, per the
documented example: videoLossPerRev / videoLossPerSend, audioLossPerRev / audioLossPerSend ("0.00%"; "--" = not
reported), videoRateRev / videoRateSend ("655.24k" = kbit/s), joinDay / joinHour / joinMin (time in the meeting).
``Rev`` is what the site receives (rx), ``Send`` what it sends (tx). No jitter and no far-end address are given:
the participant's ``remote`` is empty and jitter unknown.

The session (cookie and token) is kept per system and user; when the system refuses it, one fresh login and
one retry follow. Status probe (kind ``huawei``, probes/__init__.py): the same session, then the call status: ``up``,
``response_seconds``, ``in_call`` (1 when the call status shows a call); info ``product`` (szTermType of the
session answer). Registration and peripherals are not read (absent, never "ok"); a refused login is AUTH_FAILED.

In a call or not: the API documents that it "has information only after joining"; a success answer with no rate
and no time in the meeting is read as "not in a call" (no participant), a ``success: 0`` answer fails the read
(BAD_STATUS with the device's error id and code) rather than being guessed to mean either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field
from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.vc.call_reader import Sessions, number, percent_ratio, protocol_error, rate_bps, read_with, with_login
from probes.vc.media import CallReport, MediaStats, Participant
from probes.vc.status import SERIES as STATUS_SERIES
from probes.vc.status import (
    ApiError,
    Client,
    EndpointStatus,
    Reply,
    UserSettings,
    expect_ok,
    parse_json,
    run_status_probe,
    user_password,
)

KIND = "huawei"
DEFAULT_PORTS = {"https": 443, "http": 80}
_KBIT = 1000.0
SERIES = STATUS_SERIES


class HuaweiSettings(UserSettings):
    """The web administrator's account of the room system."""

    site_handle: int = Field(255, ge=0, le=255, description="255: the system's own call (not a hosted multipoint)")


def envelope(body: bytes, what: str) -> dict[str, Any]:
    """The ``data`` object of a success answer; ApiError for a failure answer or another shape."""
    document = parse_json(body, what)
    if not isinstance(document, dict) or document.get("success") not in (0, 1):
        raise protocol_error(what, 'expected {"success": 0|1, ...}')
    if document["success"] != 1:
        error = document.get("error")
        words = f"error id {error.get('id')}, code {error.get('code')}" if isinstance(error, dict) else "no error given"
        raise ApiError(Reason.BAD_STATUS, f"{what}: the device refused ({words})", answered=True)
    data = document.get("data", {})
    if isinstance(data, str):  # documented: the object, JSON-encoded once more
        data = parse_json(data.encode(), what) if data.strip() else {}
    if not isinstance(data, dict):
        raise protocol_error(what, "data is not an object")
    return data


def read_call_status(data: dict[str, Any]) -> CallReport:
    """A WEB_GetCallStatusInfoAPI ``data`` object as a CallReport (0 or 1 participant)."""
    video_rx, video_tx = rate_bps(data.get("videoRateRev"), unit=_KBIT), rate_bps(data.get("videoRateSend"), unit=_KBIT)
    rates = [rate_bps(data.get(key), unit=_KBIT) for key in ("sendRate", "revRate")] + [video_rx, video_tx]
    minutes = [number(data.get(key)) for key in ("joinDay", "joinHour", "joinMin")]
    in_meeting = [m for m in minutes if m is not None]
    if not any(r for r in rates if r) and not any(in_meeting):
        return CallReport(source=KIND, participants=(), media_reported=True)
    duration = None
    if in_meeting:  # a field left out counts 0 (a call of 2 h 5 min may leave joinDay out)
        days, hours, mins = (m or 0.0 for m in minutes)
        duration = ((days * 24 + hours) * 60 + mins) * 60
    media = (
        MediaStats("video", "rx", loss_ratio=percent_ratio(data.get("videoLossPerRev")), rate_bps=video_rx),
        MediaStats("video", "tx", loss_ratio=percent_ratio(data.get("videoLossPerSend")), rate_bps=video_tx),
        MediaStats("audio", "rx", loss_ratio=percent_ratio(data.get("audioLossPerRev"))),
        MediaStats("audio", "tx", loss_ratio=percent_ratio(data.get("audioLossPerSend"))),
    )
    participant = Participant(remote="", connected=True, media=media, duration_seconds=duration)
    return CallReport(source=KIND, participants=(participant,), media_reported=True)


def _action(base: URL, action: str) -> URL:
    return (base / "action.cgi").with_query(ActionID=action)


def _cookie(reply: Reply) -> str:
    return "; ".join(f"{name}={value}" for name, value in reply.cookies.items())


@dataclass(frozen=True, slots=True)
class _Session:
    cookie: str
    token: str
    product: str | None


_sessions: Sessions[_Session] = Sessions()


async def _login(client: Client, base: URL, user: str, password: str) -> _Session:
    reply = await client.request("GET", _action(base, "WEB_RequestSessionIDAPI"))
    expect_ok(reply, "WEB_RequestSessionIDAPI")
    session = envelope(reply.body, "WEB_RequestSessionIDAPI")
    cookie = _cookie(reply)
    if not cookie:
        raise protocol_error("WEB_RequestSessionIDAPI", "no session cookie in the answer")
    login = {"user": user, "password": password}
    headers = {"Cookie": cookie}
    reply = await client.request("POST", _action(base, "WEB_RequestCertificateAPI"), headers=headers, json_body=login)
    expect_ok(reply, "WEB_RequestCertificateAPI")
    try:
        certificate = envelope(reply.body, "WEB_RequestCertificateAPI")
    except ApiError as exc:
        if exc.reason is Reason.BAD_STATUS:  # the documented failure of this step is a refused user or password
            raise ApiError(Reason.AUTH_FAILED, f"{exc.detail}: check the user and password", answered=True) from None
        raise
    token = certificate.get("acCSRFToken")
    if not isinstance(token, str) or not token:
        raise protocol_error("WEB_RequestCertificateAPI", "no acCSRFToken in the answer")
    product = session.get("szTermType")
    return _Session(cookie, token, product.strip() if isinstance(product, str) and product.strip() else None)


async def _call_status(client: Client, base: URL, settings: HuaweiSettings, session: _Session) -> CallReport:
    reply = await client.request(
        "POST",
        _action(base, "WEB_GetCallStatusInfoAPI"),
        headers={"Cookie": session.cookie},
        json_body={"siteHandle": settings.site_handle, "acCSRFToken": session.token},
    )
    expect_ok(reply, "WEB_GetCallStatusInfoAPI")
    return read_call_status(envelope(reply.body, "WEB_GetCallStatusInfoAPI"))


async def _with_session(client: Client, base: URL, settings: HuaweiSettings) -> tuple[_Session, CallReport]:
    user, password = await user_password(settings.credentials)

    async def use(session: _Session) -> tuple[_Session, CallReport]:
        return session, await _call_status(client, base, settings, session)

    return await with_login(_sessions, base, user, lambda: _login(client, base, user, password), use)


async def _read(client: Client, base: URL, settings: HuaweiSettings) -> CallReport:
    return (await _with_session(client, base, settings))[1]


async def _fetch_status(client: Client, base: URL, settings: HuaweiSettings) -> EndpointStatus:
    session, report = await _with_session(client, base, settings)
    return EndpointStatus(
        in_call=bool(report.participants), info={"product": session.product} if session.product else {}
    )


async def probe(target: str, settings: HuaweiSettings, *, ctx: ProbeContext) -> ProbeResult:
    """Status probe: the API answers, the login is accepted, and whether the system is already in a call."""
    return await run_status_probe(target, settings, ctx, default_ports=DEFAULT_PORTS, fetch=_fetch_status)


async def read(target: str, settings: HuaweiSettings, ctx: ProbeContext) -> CallReport:
    """The room system's call now (CallReader, probes/vc/calls.py)."""
    return await read_with(
        target, settings, ctx, kind=KIND, settings_type=HuaweiSettings, default_ports=DEFAULT_PORTS, read=_read
    )
