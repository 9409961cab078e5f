"""HTTP(S) probe against real local aiohttp servers: status, body and JSON checks, redirects, sizes, TLS, deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from probes import KINDS
from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.http import PHASES, HttpSettings, JsonCheck, new_client_session, probe
from probes.runner import run_probe
from tests.netlab import Lab
from tests.peers import LoopLag, free_port
from tests.tls_certs import Certs, RawServer

DOC = {"status": {"sip": {"registered": True}, "camera": None}, "items": [{"id": 7}, {"id": 8}], "version": "1.2"}
SEEN = web.AppKey("seen", list[dict[str, str]])


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="hello giaoban")


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status page")


async def _json(request: web.Request) -> web.Response:
    return web.json_response(DOC)


async def _text(request: web.Request) -> web.Response:
    return web.Response(text="<html>not json</html>", content_type="text/html")


async def _redirect(request: web.Request) -> web.Response:
    left = int(request.match_info["left"])
    if left == 0:
        return web.Response(text="landed")
    raise web.HTTPFound(f"/redirect/{left - 1}")


async def _backtrack(request: web.Request) -> web.Response:
    """'aaaa…ab': nested or alternated repetition anchored at $ backtracks over every split of the a's."""
    return web.Response(text="a" * int(request.match_info["size"]) + "b")


async def _deep(request: web.Request) -> web.Response:
    return web.Response(text="[" * 100_000, content_type="application/json")


async def _moved(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/ok")


async def _big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * int(request.match_info["size"]))  # with Content-Length


async def _stream(request: web.Request) -> web.StreamResponse:
    """A chunked body (no Content-Length), so only reading can tell its size."""
    size = int(request.match_info["size"])
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):  # the probe hangs up once it has seen enough
        for start in range(0, size, 8192):
            await response.write(b"x" * min(8192, size - start))
        await response.write_eof()
    return response


async def _echo(request: web.Request) -> web.Response:
    request.app[SEEN].append(
        {
            "method": request.method,
            "body": await request.text(),
            "authorization": request.headers.get("Authorization", ""),
            "user_agent": request.headers.get("User-Agent", ""),
            "cookie": request.headers.get("Cookie", ""),
        }
    )
    response = web.Response(text="echo")
    response.set_cookie("session", "from-an-earlier-probe")
    return response


def _app() -> web.Application:
    app = web.Application()
    app[SEEN] = []
    app.router.add_get("/ok", _ok)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/json", _json)
    app.router.add_get("/text", _text)
    app.router.add_get("/redirect/{left}", _redirect)
    app.router.add_get("/moved", _moved)
    app.router.add_get("/backtrack/{size}", _backtrack)
    app.router.add_get("/deep", _deep)
    app.router.add_get("/big/{size}", _big)
    app.router.add_get("/stream/{size}", _stream)
    app.router.add_route("*", "/echo", _echo)
    return app


@contextlib.asynccontextmanager
async def serve(app: web.Application, ssl_context: Any = None) -> AsyncIterator[str]:
    """Run ``app`` on a free 127.0.0.1 port; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        scheme = "https" if ssl_context else "http"
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


def check(path: str, equals: Any = ...) -> dict[str, Any]:
    return {"path": path} if equals is ... else {"path": path, "equals": equals}


@pytest.mark.parametrize(
    ("path", "options", "reason", "detail"),
    [
        pytest.param("/ok", {}, Reason.OK, "", id="get-ok"),
        pytest.param("/ok", {"body_regex": ["^hello", "giaoban$"]}, Reason.OK, "", id="body-regex-all-match"),
        pytest.param(
            "/ok",
            {"body_regex": ["^hello", "^bye"]},
            Reason.BODY_MISMATCH,
            "does not match '^bye'",
            id="body-regex-one-fails",
        ),
        pytest.param("/ok", {"body_not_regex": ["giaoban"]}, Reason.BODY_MISMATCH, "must not", id="body-not-regex"),
        pytest.param("/status/503", {}, Reason.BAD_STATUS, "status 503, expected 2xx", id="bad-status"),
        pytest.param("/status/404", {"valid_status_codes": [404]}, Reason.OK, "", id="listed-non-2xx"),
        pytest.param(
            "/ok", {"valid_status_codes": [204]}, Reason.BAD_STATUS, "status 200, expected 204", id="2xx-not-listed"
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("status.sip.registered", True), check("items[1].id", 8), check("version", "1.2")]},
            Reason.OK,
            "",
            id="json-equals",
        ),
        pytest.param("/json", {"json_checks": [check("items[0]")]}, Reason.OK, "", id="json-exists"),
        pytest.param("/json", {"json_checks": [check("status.camera", None)]}, Reason.OK, "", id="json-equals-null"),
        pytest.param(
            "/json",
            {"json_checks": [check("status.sip.registered", None)]},
            Reason.JSON_MISMATCH,
            "is true, expected null",
            id="json-explicit-null-compares",
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("status.sip.registered", False)]},
            Reason.JSON_MISMATCH,
            "status.sip.registered is true, expected false",
            id="json-wrong-value",
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("status.sip.registered", 1)]},
            Reason.JSON_MISMATCH,
            "expected 1",
            id="json-true-is-not-1",
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("version", 1.2)]},
            Reason.JSON_MISMATCH,
            'is "1.2"',
            id="json-string-vs-number",
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("status.h323.registered")]},
            Reason.JSON_MISMATCH,
            "status has no field 'h323'",
            id="json-missing",
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("items[5].id")]},
            Reason.JSON_MISMATCH,
            "only 2 items",
            id="json-index-beyond",
        ),
        pytest.param(
            "/json",
            {"json_checks": [check("version[0]")]},
            Reason.JSON_MISMATCH,
            "not a list",
            id="json-index-non-list",
        ),
        pytest.param(
            "/text", {"json_checks": [check("status")]}, Reason.JSON_MISMATCH, "body is not JSON", id="json-not-json"
        ),
        pytest.param("/redirect/3", {}, Reason.OK, "", id="redirects-followed"),
        pytest.param("/redirect/2", {"max_redirects": 2}, Reason.OK, "", id="redirects-at-cap"),
        pytest.param(
            "/redirect/3",
            {"max_redirects": 2},
            Reason.TOO_MANY_REDIRECTS,
            "more than 2 redirects",
            id="redirects-capped",
        ),
        pytest.param("/moved", {"max_redirects": 0}, Reason.BAD_STATUS, "status 301, expected 2xx", id="no-follow"),
        pytest.param(
            "/moved", {"max_redirects": 0, "valid_status_codes": [200, 301]}, Reason.OK, "", id="no-follow-301-allowed"
        ),
        pytest.param("/ok", {"method": "HEAD"}, Reason.OK, "", id="head"),
        pytest.param("/big/5000", {"max_body_size": 5000}, Reason.OK, "", id="body-at-cap"),
        pytest.param(
            "/big/5000", {"max_body_size": 1000}, Reason.BODY_TOO_LARGE, "Content-Length 5000", id="declared-too-large"
        ),
        pytest.param("/stream/5000", {"max_body_size": "1MiB"}, Reason.OK, "", id="chunked-within-cap"),
        pytest.param(
            "/stream/300000", {"max_body_size": "100KiB"}, Reason.BODY_TOO_LARGE, "102400", id="chunked-too-large"
        ),
    ],
)
async def test_response(ctx: ProbeContext, path: str, options: dict[str, Any], reason: Reason, detail: str) -> None:
    """Each check on the response fails with its own reason and a detail that says what was wrong."""
    async with serve(_app()) as base:
        result = await probe(base + path, HttpSettings(**options), ctx=ctx)
    assert (result.reason, result.success) == (reason, reason is Reason.OK), result.detail
    assert detail in result.detail
    assert set(result.phases) == set(PHASES)


@pytest.mark.parametrize(
    ("path", "options", "values", "final_path"),
    [
        pytest.param("/ok", {}, {"status_code": 200, "content_length": 13, "redirects": 0}, "/ok", id="plain"),
        pytest.param("/ok", {"method": "HEAD"}, {"status_code": 200, "content_length": 0}, "/ok", id="head-reads-none"),
        pytest.param("/redirect/3", {}, {"status_code": 200, "redirects": 3}, "/redirect/0", id="redirects"),
        pytest.param(
            "/moved",
            {"max_redirects": 0, "valid_status_codes": [301]},
            {"status_code": 301, "redirects": 0},
            "/moved",
            id="not-followed",
        ),
        pytest.param(
            "/big/5000",
            {"max_body_size": 1000},
            {"status_code": 200, "content_length": 0},
            "/big/5000",
            id="refused-unread",
        ),
    ],
)
async def test_values(
    ctx: ProbeContext, path: str, options: dict[str, Any], values: dict[str, float], final_path: str
) -> None:
    """status_code, content_length, redirects and final_url describe the response the checks saw."""
    async with serve(_app()) as base:
        result = await probe(base + path, HttpSettings(**options), ctx=ctx)
    assert {key: result.values[key] for key in values} == values
    assert result.info["final_url"] == base + final_path
    assert result.info["http_version"] == "1.1"
    assert "aiohttp" in result.info["server"]
    assert "tls_cert_expiry" not in result.values


async def test_chunked_body_stops_at_cap(ctx: ProbeContext) -> None:
    """An oversized chunked body is read only until the cap is passed, not to its end."""
    async with serve(_app()) as base:
        result = await probe(f"{base}/stream/300000", HttpSettings(max_body_size=100_000), ctx=ctx)
    assert result.reason is Reason.BODY_TOO_LARGE
    assert 100_000 < result.values["content_length"] <= 100_000 + 64 * 1024


async def test_post_with_body_and_bearer_token(ctx: ProbeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST sends its body, the bearer token comes from the Secret, and the probe says who it is."""
    monkeypatch.setenv("GIAOBAN_TEST_TOKEN", "s3cret-token")
    app = _app()
    settings = HttpSettings(
        method="POST",
        body='{"ping": 1}',
        headers={"Content-Type": "application/json"},
        bearer_token={"env": "GIAOBAN_TEST_TOKEN"},
    )
    async with serve(app) as base:
        result = await probe(f"{base}/echo", settings, ctx=ctx)
    assert result.success, result.detail
    [seen] = app[SEEN]
    assert seen["method"] == "POST"
    assert seen["body"] == '{"ping": 1}'
    assert seen["authorization"] == "Bearer s3cret-token"
    assert seen["user_agent"].startswith("giaoban/")
    assert "s3cret-token" not in repr(settings)


async def test_bearer_token_from_file(ctx: ProbeContext, tmp_path: Path) -> None:
    """A token kept in a file (written with echo, so with a newline) is sent without the newline."""
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    app = _app()
    async with serve(app) as base:
        result = await probe(f"{base}/echo", HttpSettings(bearer_token={"file": str(token_file)}), ctx=ctx)
    assert result.success, result.detail
    assert app[SEEN][0]["authorization"] == "Bearer file-token"


async def test_missing_token_is_a_result(ctx: ProbeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset token variable fails the probe with its name instead of sending no credentials."""
    monkeypatch.delenv("GIAOBAN_TEST_TOKEN", raising=False)
    settings = HttpSettings(bearer_token={"env": "GIAOBAN_TEST_TOKEN"})
    async with serve(_app()) as base:
        result = await probe(f"{base}/echo", settings, ctx=ctx)
    assert result.reason is Reason.CONFIG_ERROR
    assert "GIAOBAN_TEST_TOKEN is not set" in result.detail


async def test_no_cookies_between_probes(ctx: ProbeContext) -> None:
    """A cookie set in one probe is not sent by the next: every probe sees the server as a newcomer."""
    app = _app()
    async with serve(app) as base:
        for _ in range(2):
            assert (await probe(f"{base}/echo", HttpSettings(), ctx=ctx)).success
    assert [seen["cookie"] for seen in app[SEEN]] == ["", ""]


async def test_without_shared_session() -> None:
    """The CLI's one-shot probe (no shared session) works and closes what it opened."""
    async with serve(_app()) as base:
        result = await probe(
            f"{base}/json", HttpSettings(json_checks=[JsonCheck(path="items[0].id", equals=7)]), ctx=ProbeContext()
        )
    assert result.success, result.detail


@pytest.mark.parametrize(
    ("target", "reason", "detail"),
    [
        pytest.param("ftp://127.0.0.1/", Reason.BAD_TARGET, "https://HOST", id="not-http"),
        pytest.param("127.0.0.1:8080", Reason.BAD_TARGET, "not an http(s) URL", id="no-scheme"),
        pytest.param("http://", Reason.BAD_TARGET, "not an http(s) URL", id="no-host"),
        # glibc rejects a name with a space before asking DNS, so no query leaves the machine.
        pytest.param("http://no such host/", Reason.RESOLVE_FAILED, "cannot resolve no such host", id="unresolvable"),
    ],
)
async def test_bad_target(ctx: ProbeContext, target: str, reason: Reason, detail: str) -> None:
    """A URL that cannot be probed says what to write instead of raising."""
    result = await probe(target, HttpSettings(), ctx=ctx)
    assert result.reason is reason, result.detail
    assert detail in result.detail


async def test_refused(ctx: ProbeContext) -> None:
    """No listener on the port is REFUSED."""
    result = await probe(f"http://127.0.0.1:{free_port()}/", HttpSettings(), ctx=ctx)
    assert result.reason is Reason.REFUSED
    assert "Connection refused" in result.detail


@pytest.mark.parametrize(
    ("cert", "host", "options", "reason", "expiry"),
    [
        pytest.param("valid", "127.0.0.1", {"ca_file": "CA"}, Reason.OK, "valid", id="trusted"),
        pytest.param("valid", "localhost", {"ca_file": "CA", "method": "HEAD"}, Reason.OK, "valid", id="trusted-head"),
        pytest.param("valid", "127.0.0.1", {}, Reason.TLS_UNTRUSTED, None, id="ca-not-in-system-store"),
        pytest.param("self_signed", "127.0.0.1", {"ca_file": "CA"}, Reason.TLS_UNTRUSTED, None, id="self-signed"),
        pytest.param(
            "self_signed", "127.0.0.1", {"tls_verify": False}, Reason.OK, "self_signed", id="self-signed-unverified"
        ),
        pytest.param("expired", "127.0.0.1", {"ca_file": "CA"}, Reason.TLS_EXPIRED, None, id="expired"),
        pytest.param("wrong_name", "127.0.0.1", {"ca_file": "CA"}, Reason.TLS_HOSTNAME, None, id="wrong-name"),
        pytest.param(
            "valid", "127.0.0.1", {"ca_file": "/nonexistent/ca.pem"}, Reason.TLS_ERROR, None, id="ca-file-missing"
        ),
    ],
)
async def test_tls(
    ctx: ProbeContext,
    certs: Certs,
    *,
    cert: str,
    host: str,
    options: dict[str, Any],
    reason: Reason,
    expiry: str | None,
) -> None:
    """Certificate problems get their own reasons; a completed handshake reports expiry and TLS timing."""
    if options.get("ca_file") == "CA":
        options = {**options, "ca_file": str(certs.ca_file)}
    async with serve(_app(), ssl_context=getattr(certs, cert)) as base:
        url = base.replace("127.0.0.1", host) + "/ok"
        result = await probe(url, HttpSettings(**options), ctx=ctx)
    assert (result.reason, result.success) == (reason, reason is Reason.OK), result.detail
    if expiry is None:
        assert "tls_cert_expiry" not in result.values
    else:
        assert result.values["tls_cert_expiry"] == getattr(certs, f"{expiry}_not_after")
        assert result.info["tls_version"].startswith("TLS")
        assert result.phases["tls"] > 0  # the handshake was timed apart from the TCP connect
    if reason is Reason.TLS_ERROR:
        assert "cannot load ca_file /nonexistent/ca.pem" in result.detail


async def test_concurrent_probes_keep_their_own_certificates(ctx: ProbeContext, certs: Certs) -> None:
    """Probes sharing the session at the same moment each report their own server's certificate."""
    async with serve(_app(), ssl_context=certs.valid) as valid, serve(_app(), ssl_context=certs.self_signed) as own:
        results = await asyncio.gather(
            *(
                probe(f"{base}/redirect/2", HttpSettings(ca_file=str(certs.ca_file), tls_verify=base == valid), ctx=ctx)
                for base in [valid, own] * 10
            )
        )
    expiries = [result.values["tls_cert_expiry"] for result in results]
    assert expiries == [certs.valid_not_after, certs.self_signed_not_after] * 10
    assert all(result.phases["tls"] > 0 for result in results)


async def test_https_redirect_to_http_reports_no_expiry(ctx: ProbeContext, certs: Certs) -> None:
    """The expiry belongs to the final response's connection, not to an earlier hop."""
    async with serve(_app()) as plain:

        async def to_plain(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{plain}/ok")

        app = web.Application()
        app.router.add_get("/", to_plain)
        async with serve(app, ssl_context=certs.valid) as secure:
            result = await probe(f"{secure}/", HttpSettings(ca_file=str(certs.ca_file)), ctx=ctx)
    assert result.success, result.detail
    assert result.values["redirects"] == 1
    assert "tls_cert_expiry" not in result.values


async def test_https_to_plain_port(ctx: ProbeContext) -> None:
    """https:// to a plain-text port is a TLS error that says so."""
    async with serve(_app()) as base:
        result = await probe(base.replace("http:", "https:") + "/ok", HttpSettings(), ctx=ctx)
    assert result.reason is Reason.TLS_ERROR
    assert "plain text" in result.detail


async def _reads_request(server: RawServer, reader: asyncio.StreamReader) -> None:
    while (await reader.readline()) not in (b"\r\n", b""):
        pass


async def _never_answers(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _reads_request(server, reader)
    await server.until_hangup(reader)


async def _slow_body(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _reads_request(server, reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    await writer.drain()
    await server.until_hangup(reader)


async def _hangs_up(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _reads_request(server, reader)


async def _not_http(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _reads_request(server, reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    await writer.drain()


async def _truncated(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _reads_request(server, reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    await writer.drain()


@pytest.mark.parametrize(
    "handler",
    [pytest.param(_never_answers, id="no-response"), pytest.param(_slow_body, id="slow-body")],
)
async def test_deadline_leaves_no_connection(ctx: ProbeContext, handler: Any) -> None:
    """The runner's deadline ends a stuck request as TIMEOUT and the server sees the connection closed."""
    async with RawServer(handler) as server:
        result = await run_probe(
            KINDS["http"], f"http://127.0.0.1:{server.port}/", HttpSettings(), ctx=ctx, timeout=0.5
        )
        assert result.reason is Reason.TIMEOUT
        await asyncio.wait_for(server.hung_up.wait(), 5)


@pytest.mark.root
async def test_silent_site_runs_into_the_deadline(ctx: ProbeContext) -> None:
    """A site whose link swallows packets (no reply at all) ends as TIMEOUT, owned by the runner."""
    with Lab() as lab:
        site = lab.add_site("http")
        result = await run_probe(KINDS["http"], f"http://{site.void_addr}/", HttpSettings(), ctx=ctx, timeout=0.5)
    assert result.reason is Reason.TIMEOUT


@pytest.mark.parametrize(
    ("handler", "detail"),
    [
        pytest.param(_hangs_up, "closed the connection", id="closed-without-response"),
        pytest.param(_not_http, "invalid HTTP response", id="not-http"),
        pytest.param(_truncated, "broken off", id="truncated-body"),
    ],
)
async def test_broken_server(ctx: ProbeContext, handler: Any, detail: str) -> None:
    """A server that breaks HTTP is a PROTOCOL_ERROR, not a crash of the probe."""
    async with RawServer(handler) as server:
        result = await probe(f"http://127.0.0.1:{server.port}/", HttpSettings(), ctx=ctx)
    assert result.reason is Reason.PROTOCOL_ERROR, result.detail
    assert detail in result.detail


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"headers": {"X-A": "one\r\nX-B: two"}}, "cannot span lines", id="header-injection"),
        pytest.param({"headers": {"Bad Name": "x"}}, "not a header name", id="header-name"),
        pytest.param({"body_regex": ["(unclosed"]}, "not a valid regular expression", id="bad-regex"),
        pytest.param({"valid_status_codes": [2000]}, "not an HTTP status code", id="bad-status-code"),
        pytest.param({"max_body_size": "lots"}, "not a size", id="bad-size"),
    ],
)
def test_settings_are_validated(options: dict[str, Any], message: str) -> None:
    """Settings that could never work are refused when the config loads."""
    with pytest.raises(ValueError, match=re.escape(message)):
        HttpSettings(**options)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("a..b", "empty name", id="double-dot"),
        pytest.param("items[x]", "expected [N]", id="bad-index"),
        pytest.param(".a", "empty name", id="leading-dot"),
        pytest.param("", "empty path", id="empty"),
    ],
)
def test_json_path_is_validated(path: str, message: str) -> None:
    """A malformed JSON path is a config error at load time, not a failing probe at 07:25."""
    with pytest.raises(ValueError, match=re.escape(message)):
        JsonCheck(path=path)


async def test_session_shape() -> None:
    """The shared session has no deadline of its own and keeps no cookies (the runner owns time)."""
    session = new_client_session()
    try:
        assert session.timeout.total is None
        assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("pattern", "option", "reasons"),
    [
        pytest.param("(a+)+$", "body_regex", {Reason.BODY_MISMATCH, Reason.REGEX_TIMEOUT}, id="nested-plus"),
        pytest.param("(a|aa)+$", "body_regex", {Reason.REGEX_TIMEOUT}, id="alternation"),
        pytest.param("(a|aa)+$", "body_not_regex", {Reason.REGEX_TIMEOUT}, id="alternation-not-regex"),
    ],
)
async def test_backtracking_regex_is_bounded_by_the_deadline(
    ctx: ProbeContext, pattern: str, option: str, reasons: set[Reason]
) -> None:
    """A pattern that backtracks without end fails by the 1 s deadline and never blocks the event loop (issue 13)."""
    async with serve(_app()) as base, LoopLag() as lag:
        started = time.monotonic()
        settings = HttpSettings.model_validate({option: [pattern]})
        result = await run_probe(KINDS["http"], f"{base}/backtrack/50000", settings, ctx=ctx, timeout=1.0)
        elapsed = time.monotonic() - started
    assert result.reason in reasons, result.detail
    assert not result.success
    assert elapsed < 1.3, elapsed
    assert lag.worst < 0.1, f"the event loop was blocked {lag.worst:.3f}s"
    if result.reason is Reason.REGEX_TIMEOUT:
        assert f"{option} {pattern!r} did not finish" in result.detail


async def test_deeply_nested_json_is_a_mismatch(ctx: ProbeContext) -> None:
    """A body nested past the parser's stack fails the JSON check; it is not an internal error of giaoban."""
    async with serve(_app()) as base:
        result = await probe(f"{base}/deep", HttpSettings(json_checks=[JsonCheck(path="a")]), ctx=ctx)
    assert result.reason is Reason.JSON_MISMATCH
    assert "nested too deeply" in result.detail
