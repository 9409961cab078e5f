"""poly-rest driver against a local server answering like a G7500: states, session reuse and expiry, faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.runner import run_probe
from probes.vc import poly_rest
from tests.fake_codecs import Codec, poly_app, serve

KIND = ProbeKind(poly_rest.KIND, poly_rest.PolyRestSettings, poly_rest.probe)
IDLE = {
    "up": 1.0,
    "registered": 1.0,
    "in_call": 0.0,
    "standby": 0.0,  # system state READY
    "uptime": 4 * 86400 + 3 * 3600.0,  # "4 days 03:00:00"
    "peripheral_camera": 1.0,
    "peripheral_microphone": 1.0,
    "microphone_muted": 0.0,
}


@pytest.fixture
def settings(tmp_path: Path) -> poly_rest.PolyRestSettings:
    path = tmp_path / "poly.secret"
    path.write_text(f"{Codec().user}:{Codec().password}")
    return poly_rest.PolyRestSettings.model_validate({"scheme": "http", "credentials": {"file": str(path)}})


async def _probe(port: int, settings: poly_rest.PolyRestSettings, ctx: ProbeContext) -> ProbeResult:
    return await run_probe(KIND, f"127.0.0.1:{port}", settings, ctx=ctx, timeout=5)


STATES: list[tuple[str, dict[str, Any], tuple[bool, Reason], dict[str, float]]] = [
    # (id, codec state, (success, reason), values that differ from IDLE)
    ("registered-idle", {}, (True, Reason.OK), {}),
    ("unregistered", {"registered": False}, (False, Reason.NOT_REGISTERED), {"registered": 0.0}),
    ("in-a-call", {"in_call": True}, (False, Reason.ENDPOINT_BUSY), {"in_call": 1.0}),
    ("camera-disconnected", {"camera": False}, (False, Reason.PERIPHERAL_MISSING), {"peripheral_camera": 0.0}),
    ("microphone-missing", {"microphone": False}, (False, Reason.PERIPHERAL_MISSING), {"peripheral_microphone": 0.0}),
    ("microphone-muted", {"muted": True}, (True, Reason.MICROPHONE_MUTED), {"microphone_muted": 1.0}),
]


@pytest.mark.parametrize(("state", "verdict", "changed"), [s[1:] for s in STATES], ids=[s[0] for s in STATES])
async def test_device_states(
    state: dict[str, Any],
    verdict: tuple[bool, Reason],
    changed: dict[str, float],
    settings: poly_rest.PolyRestSettings,
    ctx: ProbeContext,
) -> None:
    """Each state the codec reports becomes its value and the verdict."""
    async with serve(poly_app(Codec(**state))) as port:
        result = await _probe(port, settings, ctx)
    assert (result.success, result.reason) == verdict, result.detail
    values = dict(result.values)
    assert values.pop("response_seconds") > 0
    assert values == IDLE | changed
    assert result.info["product"] == "G7500"
    assert result.info["software"] == "3.14.1.1022"


async def test_session_is_reused(settings: poly_rest.PolyRestSettings, ctx: ProbeContext) -> None:
    """A codec allows few sessions: the next probe reuses the cookie instead of logging in each minute."""
    codec = Codec()
    async with serve(poly_app(codec)) as port:
        first = await _probe(port, settings, ctx)
        second = await _probe(port, settings, ctx)
    assert first.success and second.success, (first.detail, second.detail)
    assert codec.logins == 1


async def test_session_expiry_logs_in_again_once(settings: poly_rest.PolyRestSettings, ctx: ProbeContext) -> None:
    """A 401 on a read means the session expired: one fresh login, then the reads succeed."""
    codec = Codec()
    async with serve(poly_app(codec)) as port:
        await _probe(port, settings, ctx)
        codec.expire_sessions()
        codec.requests.clear()
        result = await _probe(port, settings, ctx)
    assert result.success, result.detail
    assert codec.logins == 2
    assert codec.requests[:3] == ["GET /rest/system", "POST /rest/session", "GET /rest/system"]


async def test_session_refused_after_login(settings: poly_rest.PolyRestSettings, ctx: ProbeContext) -> None:
    """A codec that rejects its own fresh session is AUTH_FAILED after one retry, not a login loop."""
    codec = Codec(accept_sessions=False)
    async with serve(poly_app(codec)) as port:
        result = await _probe(port, settings, ctx)
    assert (result.success, result.reason) == (False, Reason.AUTH_FAILED), result.detail
    assert codec.logins == 1


FAULTS = [
    # (id, codec, reason, words in the detail)
    ("wrong-password", Codec(password="other"), Reason.AUTH_FAILED, "check the user and password"),
    ("malformed-json", Codec(body=b'{"model": "G7500",'), Reason.PROTOCOL_ERROR, "malformed JSON"),
    ("wrong-shape", Codec(body=b'{"model": "G7500"}'), Reason.PROTOCOL_ERROR, "expected a JSON list"),
    ("deep-nesting", Codec(body=b"[" * 200_000), Reason.PROTOCOL_ERROR, "malformed JSON"),
    ("oversized", Codec(body=b'"' + b"x" * (3 << 20) + b'"'), Reason.BODY_TOO_LARGE, "max_body_size"),
]


@pytest.mark.parametrize(("codec", "reason", "words"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
async def test_faults(
    codec: Codec, reason: Reason, words: str, settings: poly_rest.PolyRestSettings, ctx: ProbeContext
) -> None:
    """A wrong password or a broken document is up (it answered), not ready, with the reason; no crash."""
    async with serve(poly_app(codec)) as port:
        result = await _probe(port, settings, ctx)
    assert (result.success, result.reason) == (False, reason), result.detail
    assert words in result.detail
    assert result.values == {"up": 1.0}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (356400, 356400.0),
        ("356400", 356400.0),
        ("4 days 03:00:00", 356400.0),
        ("1 day, 00:00:05", 86405.0),
        ("00:01:00", 60.0),
        ("soon", None),
        (True, None),
        (None, None),
    ],
)
def test_uptime_forms(text: object, seconds: float | None) -> None:
    """Uptime as a number or as Poly's "D days HH:MM:SS"; anything else is unknown, not zero."""
    document = {"uptime": text}
    status = poly_rest.read_status(document, [], None, None)
    assert status.uptime == seconds


POLY_OS = [
    # (id, codec state, (success, reason), values that differ from IDLE) — Poly OS: stateList, mr.* names
    ("registered-idle", {}, (True, Reason.OK), {}),
    ("unregistered", {"registered": False}, (False, Reason.NOT_REGISTERED), {"registered": 0.0}),
    ("cameras-down", {"camera": False}, (False, Reason.PERIPHERAL_MISSING), {"peripheral_camera": 0.0}),
    ("audio-down", {"microphone": False}, (False, Reason.PERIPHERAL_MISSING), {"peripheral_microphone": 0.0}),
    ("asleep", {"system_state": "ASLEEP"}, (True, Reason.OK), {"standby": 1.0}),
]


@pytest.mark.parametrize(("state", "verdict", "changed"), [s[1:] for s in POLY_OS], ids=[s[0] for s in POLY_OS])
async def test_poly_os_family(
    state: dict[str, Any],
    verdict: tuple[bool, Reason],
    changed: dict[str, float],
    settings: poly_rest.PolyRestSettings,
    ctx: ProbeContext,
) -> None:
    """Poly OS answers the login with the session in its body and the status with stateList and mr.camera /
    mr.audio: read, so an unregistered Studio X is not reported ready (issue 15); ASLEEP is standby."""
    codec = Codec(poly_os=True, **state)
    async with serve(poly_app(codec)) as port:
        result = await _probe(port, settings, ctx)
    assert (result.success, result.reason) == verdict, result.detail
    values = dict(result.values)
    values.pop("response_seconds")
    not_said = {"in_call"}  # this Poly OS answer has no system.status.inacall
    assert values == {k: v for k, v in IDLE.items() if k not in not_said} | changed
    assert codec.logins == 1
    assert codec.requests[0] == "POST /rest/session" and codec.requests[1] == "GET /rest/system"


async def test_login_without_any_session(settings: poly_rest.PolyRestSettings, ctx: ProbeContext) -> None:
    """A login answered with neither a cookie nor a sessionId is a protocol error, said in those words."""

    async def bare_login(request: web.Request) -> web.Response:
        return web.json_response({"success": True})

    app = web.Application()
    app.router.add_post("/rest/session", bare_login)
    async with serve(app) as port:
        result = await _probe(port, settings, ctx)
    assert (result.success, result.reason) == (False, Reason.PROTOCOL_ERROR)
    assert "neither a session cookie nor a session.sessionId" in result.detail
