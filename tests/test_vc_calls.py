"""The call readers (probes/vc/calls.py) against local servers answering in each vendor's documented shape.

Happy paths run against the demo's emulated codecs and bridge (monitor/demo/codecs.py, monitor/demo/bridge.py), so
the demo and the readers are held to the same shapes; the faults (401, oversized or malformed bodies, firmware
without media statistics, a refused Huawei login) against small servers built here. Shapes: the readers' module
docstrings, samples in tests/conformance/test_call_samples.py.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitor.demo.bridge import EmulatedBridge, bridge_app
from monitor.demo.codecs import CodecState, status_app
from probes import KINDS
from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.runner import run_probe
from probes.vc.calls import CALL_READERS, read_calls
from probes.vc.media import CallReport, MediaStats
from tests.conformance.test_call_samples import RMX_CONF, RMX_LIST
from tests.fake_codecs import BILLION_LAUGHS, serve

PASSWORD = "Gi@oBan-2024"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "vc.secret"
    path.write_text(f"admin:{PASSWORD}\n")
    return path


async def read(kind: str, app: web.Application, ctx: ProbeContext, secret: Path | None, **extra: Any) -> CallReport:
    model, reader = CALL_READERS[kind]
    options: dict[str, Any] = {"scheme": "http", **extra}
    if secret is not None:
        options["credentials"] = {"file": str(secret)}
    async with serve(app) as port:
        return await reader(f"127.0.0.1:{port}", model.model_validate(options), ctx)


async def failure(kind: str, app: web.Application, ctx: ProbeContext, secret: Path | None, **extra: Any) -> ProbeFailed:
    with pytest.raises(ProbeFailed) as caught:
        await read(kind, app, ctx, secret, **extra)
    return caught.value


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def app_of(handler: Handler) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def by_stream(media: tuple[MediaStats, ...]) -> dict[tuple[str, str], MediaStats]:
    return {(m.kind, m.direction): m for m in media}


def test_registry_covers_every_reader_kind() -> None:
    assert set(CALL_READERS) == {"cisco-xapi", "poly-rest", "huawei", "cms", "rmx", "jitsi"}
    for kind, (model, _) in CALL_READERS.items():  # each is also an endpoint kind: configured once, read both ways
        assert model is KINDS[kind].settings, kind


async def test_read_calls_is_bounded(ctx: ProbeContext, secret: Path) -> None:
    """A codec behind a dead line never answers: read_calls gives up with TIMEOUT, as a probe does."""
    state = codec("cisco-xapi", connected=True)
    state.reachable = False
    settings = KINDS["cisco-xapi"].settings.model_validate({"scheme": "http", "credentials": {"file": str(secret)}})
    async with serve(status_app(state)) as port:
        with pytest.raises(ProbeFailed) as caught:
            await read_calls("cisco-xapi", f"127.0.0.1:{port}", settings, ctx, timeout=0.5)
    assert caught.value.reason is Reason.TIMEOUT


async def test_read_calls_of_an_unknown_kind(ctx: ProbeContext) -> None:
    with pytest.raises(ProbeFailed) as caught:
        await read_calls("sip", "127.0.0.1", KINDS["sip"].settings(), ctx, timeout=1.0)
    assert caught.value.reason is Reason.CONFIG_ERROR


# --- cisco-xapi ---------------------------------------------------------------------------------------------


def codec(vendor: str, **call: Any) -> CodecState:
    state = CodecState(name="Xã Tân Thịnh", vendor=vendor, password=PASSWORD)  # type: ignore[arg-type]
    if call:
        state.set_call(**call)
    return state


async def test_cisco_call_with_loss(ctx: ProbeContext, secret: Path) -> None:
    """A codec in a call with 4 % loss on what it receives: the far end, connected, rx loss 0.04, tx 0."""
    state = codec("cisco-xapi", connected=True, loss=0.04, remote="sip:hoi-nghi@vc.example.org")
    report = await read("cisco-xapi", status_app(state), ctx, secret)
    assert report.source == "cisco-xapi" and report.media_reported
    (call,) = report.participants
    assert (call.remote, call.connected) == ("hoi-nghi@vc.example.org", True)
    streams = by_stream(call.media)
    assert streams[("video", "rx")].loss_ratio == pytest.approx(0.04)
    assert streams[("audio", "rx")].loss_ratio == pytest.approx(0.04)
    assert streams[("video", "tx")].loss_ratio == 0.0
    assert streams[("audio", "rx")].jitter_seconds == pytest.approx(0.004)
    assert streams[("video", "rx")].rate_bps == 1_920_000


async def test_cisco_dropped_call_is_gone(ctx: ProbeContext, secret: Path) -> None:
    """After the drop time the codec reports no call: no participant (the watch sees the site leave)."""
    state = codec("cisco-xapi", connected=True, drop_at=time.time() - 1)
    report = await read("cisco-xapi", status_app(state), ctx, secret)
    assert report.participants == () and report.media_reported


async def test_cisco_wrong_password_is_auth_failed(ctx: ProbeContext, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("admin:nope")
    problem = await failure("cisco-xapi", status_app(codec("cisco-xapi", connected=True)), ctx, wrong)
    assert problem.reason is Reason.AUTH_FAILED


async def test_cisco_without_credentials_is_a_config_error(ctx: ProbeContext) -> None:
    problem = await failure("cisco-xapi", status_app(codec("cisco-xapi")), ctx, None)
    assert problem.reason is Reason.CONFIG_ERROR


CALL = b"""<?xml version="1.0"?><Status><Call item="7"><RemoteNumber>mcu@vc.example.org</RemoteNumber>
<Status>Connected</Status><Duration>61</Duration></Call></Status>"""


def cisco_serving(media: Callable[[], web.Response]) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("location") == "/Status/Call":
            return web.Response(body=CALL, content_type="text/xml")
        return media()

    return app_of(handler)


async def test_cisco_firmware_without_media_channels(ctx: ProbeContext, secret: Path) -> None:
    """An old firmware answers 400 "Invalid location" to MediaChannels: attendance read, media unknown (not good)."""
    app = cisco_serving(lambda: web.Response(status=400, text="Invalid location"))
    report = await read("cisco-xapi", app, ctx, secret)
    (call,) = report.participants
    assert call.connected and call.duration_seconds == 61 and call.media == ()
    assert report.media_reported is False


async def test_cisco_channel_without_netstat_has_no_media(ctx: ProbeContext, secret: Path) -> None:
    """A channel still being set up (no Netstat) and a data channel give no statistics: media empty."""
    body = b"""<?xml version="1.0"?><Status><MediaChannels><Call item="7">
      <Channel item="1"><Type>Audio</Type><Direction>Incoming</Direction></Channel>
      <Channel item="2"><Type>Data</Type><Direction>Incoming</Direction><Netstat><Loss>9</Loss></Netstat></Channel>
      </Call></MediaChannels></Status>"""
    report = await read(
        "cisco-xapi", cisco_serving(lambda: web.Response(body=body, content_type="text/xml")), ctx, secret
    )
    assert report.media_reported and report.participants[0].media == ()


async def test_cisco_cumulative_loss_when_no_interval(ctx: ProbeContext, secret: Path) -> None:
    """Without LastInterval* the ratio is Loss / (Loss + Packets) over the call; presentation video is skipped."""
    body = b"""<?xml version="1.0"?><Status><MediaChannels><Call item="7">
      <Channel item="1"><Type>Video</Type><Direction>Incoming</Direction><Video><ChannelRole>Main</ChannelRole></Video>
        <Netstat><Loss>30</Loss><Packets>970</Packets><Jitter>12</Jitter><ChannelRate>768000</ChannelRate></Netstat></Channel>
      <Channel item="2"><Type>Video</Type><Direction>Incoming</Direction>
        <Video><ChannelRole>Presentation</ChannelRole></Video><Netstat><Loss>500</Loss><Packets>500</Packets></Netstat>
      </Channel></Call></MediaChannels></Status>"""
    report = await read(
        "cisco-xapi", cisco_serving(lambda: web.Response(body=body, content_type="text/xml")), ctx, secret
    )
    (stats,) = report.participants[0].media
    assert stats == MediaStats("video", "rx", loss_ratio=pytest.approx(0.03), jitter_seconds=0.012, rate_bps=768000)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<Status><Call", Reason.PROTOCOL_ERROR),
        (BILLION_LAUGHS, Reason.PROTOCOL_ERROR),
        (b"<Configuration/>", Reason.PROTOCOL_ERROR),
        (b"<Status>" + b"x" * 70_000 + b"</Status>", Reason.BODY_TOO_LARGE),
    ],
    ids=["malformed", "entities", "other-document", "too-large"],
)
async def test_cisco_hostile_media_document(ctx: ProbeContext, secret: Path, body: bytes, reason: Reason) -> None:
    app = cisco_serving(lambda: web.Response(body=body, content_type="text/xml"))
    problem = await failure("cisco-xapi", app, ctx, secret, max_body_size=65536)
    assert problem.reason is reason


async def test_unreachable_codec_is_refused(ctx: ProbeContext, secret: Path) -> None:
    async def nothing(request: web.Request) -> web.StreamResponse:
        return web.Response()

    async with serve(app_of(nothing)) as port:
        pass  # the port is closed again: nothing listens there now
    model, reader = CALL_READERS["cisco-xapi"]
    settings = model.model_validate({"scheme": "http", "credentials": {"file": str(secret)}})
    with pytest.raises(ProbeFailed) as caught:
        await reader(f"127.0.0.1:{port}", settings, ctx)
    assert caught.value.reason is Reason.REFUSED


# --- poly-rest ----------------------------------------------------------------------------------------------


async def test_poly_call_is_attendance_only(ctx: ProbeContext, secret: Path) -> None:
    """A Poly codec in a call: connected to its far end; media not reported (unknown, never good)."""
    state = codec("poly-rest", connected=True, loss=0.04, remote="sip:hoi-nghi@vc.example.org")
    report = await read("poly-rest", status_app(state), ctx, secret)
    (call,) = report.participants
    assert (call.remote, call.connected, call.media) == ("hoi-nghi@vc.example.org", True, ())
    assert report.media_reported is False


async def test_poly_idle_codec_has_no_participant(ctx: ProbeContext, secret: Path) -> None:
    report = await read("poly-rest", status_app(codec("poly-rest")), ctx, secret)
    assert report.participants == ()


async def test_poly_conferences_not_a_list(ctx: ProbeContext, secret: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/rest/session":
            response = web.json_response({"success": True})
            response.set_cookie("session_id", "abc")
            return response
        return web.json_response({"conferences": []})

    problem = await failure("poly-rest", app_of(handler), ctx, secret)
    assert problem.reason is Reason.PROTOCOL_ERROR


# --- cms ----------------------------------------------------------------------------------------------------


async def test_cms_bridge_lists_participants_with_media(ctx: ProbeContext, secret: Path) -> None:
    """25 legs over two pages (page_size 20), one with 4 % loss toward the site, one dropped already."""
    bridge = EmulatedBridge(password=PASSWORD)
    for n in range(25):
        bridge.join(f"sip:xa-{n}@vc.example.org", f"Xã {n}")
    bridge.set_loss("sip:xa-3@vc.example.org", 0.04)
    bridge.join("sip:xa-gone@vc.example.org", "Xã rời", drop_at=time.time() - 1)
    report = await read("cms", bridge_app(bridge), ctx, secret)
    assert report.media_reported and len(report.participants) == 25
    legs = {p.remote: p for p in report.participants}
    assert "sip:xa-gone@vc.example.org" not in legs
    poor = by_stream(legs["sip:xa-3@vc.example.org"].media)
    assert poor[("video", "rx")].loss_ratio == pytest.approx(0.04)  # the bridge's tx is what the site receives
    assert poor[("video", "tx")].loss_ratio == 0.0
    assert all(p.connected and p.name and p.id for p in report.participants)


async def test_cms_wrong_password(ctx: ProbeContext, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("admin:nope")
    problem = await failure("cms", bridge_app(EmulatedBridge(password=PASSWORD)), ctx, wrong)
    assert problem.reason is Reason.AUTH_FAILED


async def test_cms_leg_that_ended_meanwhile_is_left_out(ctx: ProbeContext, secret: Path) -> None:
    """A leg listed, then gone (404) when its detail is read: left out, the others read."""
    listing = b"""<?xml version="1.0"?><callLegs total="2"><callLeg id="a"/><callLeg id="b"/></callLegs>"""
    detail = b"""<callLeg id="a"><remoteParty>sip:a@vc.example.org</remoteParty><status><state>connected</state>
      </status></callLeg>"""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/callLegs":
            return web.Response(body=listing, content_type="text/xml")
        if request.path == "/api/v1/callLegs/a":
            return web.Response(body=detail, content_type="text/xml")
        return web.Response(status=404)

    report = await read("cms", app_of(handler), ctx, secret)
    (leg,) = report.participants
    assert leg.remote == "sip:a@vc.example.org" and leg.connected and leg.media == ()  # no stats: unknown


async def test_cms_listing_of_another_shape(ctx: ProbeContext, secret: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"<calls total='0'/>", content_type="text/xml")

    problem = await failure("cms", app_of(handler), ctx, secret)
    assert problem.reason is Reason.PROTOCOL_ERROR


# --- huawei -------------------------------------------------------------------------------------------------


def huawei_app(
    *,
    password: str = PASSWORD,
    status: dict[str, Any] | None = None,
    body: bytes | None = None,
    seen: list[str] | None = None,
    cookies: list[str] | None = None,
) -> web.Application:
    """The documented three steps: session cookie, certificate (CSRF token), call status. Fresh values per app:
    the reader keeps sessions per address, and a port can come back in a later test."""
    token = secrets.token_hex(16)
    issued = cookies if cookies is not None else [secrets.token_hex(6)]  # the last one is valid: append = restart

    async def handler(request: web.Request) -> web.StreamResponse:
        action = request.query.get("ActionID")
        if seen is not None:
            seen.append(action or "")
        if action == "WEB_RequestSessionIDAPI":
            response = web.json_response(
                {"success": 1, "data": json.dumps({"acSessionId": " ", "szTermType": "Box 300"})}
            )
            response.set_cookie("SessionID", issued[-1])
            return response
        if request.cookies.get("SessionID") != issued[-1]:
            return web.json_response({"success": 0, "error": {"id": 1, "code": 2, "params": []}})
        login = await request.json()
        if action == "WEB_RequestCertificateAPI":
            if login != {"user": "admin", "password": password}:
                return web.json_response({"success": 0, "error": {"id": 100666995, "code": 33558532, "params": []}})
            return web.json_response({"success": 1, "data": json.dumps({"acCSRFToken": token})})
        if action == "WEB_GetCallStatusInfoAPI" and login.get("acCSRFToken") == token:
            if body is not None:
                return web.Response(body=body, content_type="application/json")
            return web.json_response({"success": 1, "data": json.dumps(status or {})})
        return web.json_response({"success": 0, "error": {"id": 3, "code": 4, "params": []}})

    return app_of(handler)


async def test_huawei_call_with_loss(ctx: ProbeContext, secret: Path) -> None:
    status = {"sendRate": "1.92M", "revRate": "1.92M", "videoRateRev": "1856.00k", "videoLossPerRev": "4.00%"}
    report = await read("huawei", huawei_app(status={**status, "joinHour": 1, "joinMin": 2}), ctx, secret)
    (call,) = report.participants
    assert call.connected and call.duration_seconds == 3720
    streams = by_stream(call.media)
    assert streams[("video", "rx")].loss_ratio == pytest.approx(0.04)
    assert streams[("video", "rx")].rate_bps == pytest.approx(1_856_000)
    assert streams[("audio", "tx")].loss_ratio is None  # not in the answer: unknown


async def test_huawei_session_is_kept_and_renewed(ctx: ProbeContext, secret: Path) -> None:
    """Two reads, one login; once the system forgets the session (restarted: a new cookie), one login more."""
    seen: list[str] = []
    cookies = [secrets.token_hex(6)]
    app = huawei_app(status={"revRate": "1.92M", "joinMin": 1}, seen=seen, cookies=cookies)
    model, reader = CALL_READERS["huawei"]
    settings = model.model_validate({"scheme": "http", "credentials": {"file": str(secret)}})
    async with serve(app) as port:
        for _ in range(2):
            assert len((await reader(f"127.0.0.1:{port}", settings, ctx)).participants) == 1
        assert seen.count("WEB_RequestCertificateAPI") == 1 and seen.count("WEB_GetCallStatusInfoAPI") == 2
        cookies.append(secrets.token_hex(6))
        assert len((await reader(f"127.0.0.1:{port}", settings, ctx)).participants) == 1
        assert seen.count("WEB_RequestCertificateAPI") == 2


async def test_huawei_idle_system(ctx: ProbeContext, secret: Path) -> None:
    """Nothing flowing and no time in a meeting: no call."""
    status = {"sendRate": "--", "revRate": "--", "joinDay": 0, "joinHour": 0, "joinMin": 0}
    assert (await read("huawei", huawei_app(status=status), ctx, secret)).participants == ()


async def test_huawei_refused_login(ctx: ProbeContext, secret: Path) -> None:
    problem = await failure("huawei", huawei_app(password="other"), ctx, secret)
    assert problem.reason is Reason.AUTH_FAILED and "100666995" in problem.detail


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"success": 1, "data": "{not json"}', Reason.PROTOCOL_ERROR),
        (b'{"success": 0, "error": {"id": 7, "code": 8}}', Reason.BAD_STATUS),
        (b'["success"]', Reason.PROTOCOL_ERROR),
        (b'{"success": 1, "data": "' + b"x" * 70_000 + b'"}', Reason.BODY_TOO_LARGE),
    ],
    ids=["data-malformed", "refused", "other-shape", "too-large"],
)
async def test_huawei_bad_call_status(ctx: ProbeContext, secret: Path, body: bytes, reason: Reason) -> None:
    problem = await failure("huawei", huawei_app(body=body), ctx, secret, max_body_size=65536)
    assert problem.reason is reason


# --- jitsi --------------------------------------------------------------------------------------------------


def jitsi_app(status: int, document: Any) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path != "/debug":
            return web.Response(status=404)
        return web.json_response(document, status=status)

    return app_of(handler)


async def test_jitsi_participants_of_one_conference(ctx: ProbeContext) -> None:
    document = {
        "conferences": {
            "c1": {"id": "c1", "name": "giaoban@conference.meet.example.org", "endpoints": {"e1": "Tan-Thinh-3Ww"}},
            "c2": {"id": "c2", "name": "khac@conference.meet.example.org", "endpoints": {"e2": "Khac-1"}},
        }
    }
    report = await read("jitsi", jitsi_app(200, document), ctx, None, conference="giaoban")
    assert [(p.remote, p.name) for p in report.participants] == [("e1", "Tan-Thinh-3Ww")]
    assert report.media_reported is False


async def test_jitsi_without_debug_api_fails(ctx: ProbeContext) -> None:
    """No /debug (the debug API disabled): a failed read, never "nobody is connected"."""
    problem = await failure("jitsi", jitsi_app(404, {}), ctx, None)
    assert problem.reason is Reason.BAD_STATUS


async def test_jitsi_debug_of_another_shape(ctx: ProbeContext) -> None:
    problem = await failure("jitsi", jitsi_app(200, {"conferences": []}), ctx, None)
    assert problem.reason is Reason.PROTOCOL_ERROR


# --- the status probes of the two kinds added with the readers (cms, huawei) ---------------------------------


async def status(kind: str, app: web.Application, ctx: ProbeContext, secret: Path) -> ProbeResult:
    spec = KINDS[kind]
    settings = spec.settings.model_validate({"scheme": "http", "credentials": {"file": str(secret)}})
    async with serve(app) as port:
        return await run_probe(spec, f"127.0.0.1:{port}", settings, ctx=ctx, timeout=5.0)


async def test_cms_status_of_an_activated_bridge(ctx: ProbeContext, secret: Path) -> None:
    result = await status("cms", bridge_app(EmulatedBridge(password=PASSWORD)), ctx, secret)
    assert result.success and result.reason is Reason.OK
    assert result.values["up"] == 1.0 and result.values["uptime"] >= 12 * 86400
    assert "in_call" not in result.values and "registered" not in result.values  # a server: not reported
    assert result.info["software"].startswith("3.8.1")


async def test_cms_status_of_an_unlicensed_bridge(ctx: ProbeContext, secret: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = b"<status><softwareVersion>2.0(RC)</softwareVersion><uptimeSeconds>333717</uptimeSeconds>"
        return web.Response(body=body + b"<activated>false</activated></status>", content_type="text/xml")

    result = await status("cms", app_of(handler), ctx, secret)
    assert (result.success, result.reason) == (False, Reason.NOT_READY)
    assert result.values["uptime"] == 333717 and "not activated" in result.detail


async def test_cms_status_wrong_password(ctx: ProbeContext, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("admin:nope")
    result = await status("cms", bridge_app(EmulatedBridge(password=PASSWORD)), ctx, wrong)
    assert (result.success, result.reason, result.values["up"]) == (False, Reason.AUTH_FAILED, 1.0)


async def test_huawei_status_idle_and_busy(ctx: ProbeContext, secret: Path) -> None:
    idle = await status("huawei", huawei_app(status={"sendRate": "--", "revRate": "--"}), ctx, secret)
    assert idle.success and idle.values["in_call"] == 0.0 and idle.info["product"] == "Box 300"
    busy = await status("huawei", huawei_app(status={"sendRate": "1.92M", "joinMin": 3}), ctx, secret)
    assert (busy.success, busy.reason, busy.values["in_call"]) == (False, Reason.ENDPOINT_BUSY, 1.0)


async def test_huawei_status_refused_login(ctx: ProbeContext, secret: Path) -> None:
    result = await status("huawei", huawei_app(password="other"), ctx, secret)
    assert (result.success, result.reason) == (False, Reason.AUTH_FAILED)


# --- rmx ----------------------------------------------------------------------------------------------------


def rmx_app(*, password: str = PASSWORD) -> web.Application:
    """The XML API's three transactions, every one POSTed to /, the tokens checked as the bridge checks them."""
    ok = "<RETURN_STATUS><ID>0</ID><DESCRIPTION>Status OK</DESCRIPTION></RETURN_STATUS>"
    token = str(secrets.randbelow(10**9))  # per app: kept tokens of an earlier server on this port are refused

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method != "POST" or request.path != "/":
            return web.Response(status=404)
        body = (await request.read()).decode()
        if body.startswith("<TRANS_MCU>"):
            if f"<USER_NAME>admin</USER_NAME><PASSWORD>{password}</PASSWORD>" not in body:
                refused = (
                    "<RETURN_STATUS><ID>1</ID><DESCRIPTION>Invalid user name or password</DESCRIPTION></RETURN_STATUS>"
                )
                return web.Response(body=f"<RESPONSE_TRANS_MCU>{refused}</RESPONSE_TRANS_MCU>", content_type="text/xml")
            tokens = f"<MCU_TOKEN>{token}</MCU_TOKEN><MCU_USER_TOKEN>{token}</MCU_USER_TOKEN>"
            login = f"<ACTION><LOGIN>{tokens}</LOGIN></ACTION>"
            return web.Response(body=f"<RESPONSE_TRANS_MCU>{ok}{login}</RESPONSE_TRANS_MCU>", content_type="text/xml")
        if f"<MCU_TOKEN>{token}</MCU_TOKEN>" not in body:
            return web.Response(body=b"<RESPONSE_TRANS_CONF_LIST><RETURN_STATUS><ID>2</ID></RETURN_STATUS>", status=200)
        if body.startswith("<TRANS_CONF_LIST>"):
            return web.Response(body=RMX_LIST, content_type="text/xml")
        if body.startswith("<TRANS_CONF_2>") and "<ID>96</ID>" in body:
            return web.Response(body=RMX_CONF, content_type="text/xml")
        return web.Response(body=f"<RESPONSE_TRANS_CONF>{ok}<ACTION/></RESPONSE_TRANS_CONF>", content_type="text/xml")

    return app_of(handler)


async def test_rmx_parties_of_the_meetings_conference(ctx: ProbeContext, secret: Path) -> None:
    report = await read("rmx", rmx_app(), ctx, secret, conference="lxl")
    assert [p.remote for p in report.participants if p.connected] == ["40031@198.51.100.232", "198.51.100.66"]
    assert report.media_reported is False


async def test_rmx_conference_without_its_state(ctx: ProbeContext, secret: Path) -> None:
    """Every conference read: the empty one answers no GET/CONFERENCE, which is not a shape to guess from."""
    problem = await failure("rmx", rmx_app(), ctx, secret)
    assert problem.reason is Reason.PROTOCOL_ERROR


async def test_rmx_refused_login(ctx: ProbeContext, secret: Path) -> None:
    problem = await failure("rmx", rmx_app(password="other"), ctx, secret)
    assert problem.reason is Reason.AUTH_FAILED and "Invalid user name" in problem.detail


async def test_rmx_status(ctx: ProbeContext, secret: Path) -> None:
    result = await status("rmx", rmx_app(), ctx, secret)
    assert result.success and result.values["up"] == 1.0
    refused = await status("rmx", rmx_app(password="other"), ctx, secret)
    assert (refused.success, refused.reason) == (False, Reason.AUTH_FAILED)
