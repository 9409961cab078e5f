"""What the status-API drivers share (probes/vc/status.py): targets, credentials, TLS, size and time bounds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.runner import run_probe
from probes.vc import cisco_xapi
from probes.vc import status as vc_status
from tests.fake_codecs import Codec, cisco_app, serve
from tests.peers import free_port
from tests.tls_certs import Certs

KIND = ProbeKind(cisco_xapi.KIND, cisco_xapi.CiscoXapiSettings, cisco_xapi.probe)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "vcs.secret"
    path.write_text(f"{Codec().user}:{Codec().password}")
    return path


def _settings(secret: Path | None, **extra: Any) -> cisco_xapi.CiscoXapiSettings:
    data: dict[str, Any] = {"scheme": "http", **extra}
    if secret is not None:
        data.setdefault("credentials", {"file": str(secret)})
    return cisco_xapi.CiscoXapiSettings.model_validate(data)


async def _probe(
    target: str, settings: cisco_xapi.CiscoXapiSettings, ctx: ProbeContext, timeout: float = 5
) -> ProbeResult:
    return await run_probe(KIND, target, settings, ctx=ctx, timeout=timeout)


# --- targets ------------------------------------------------------------------------------------------------

PORTS = {"https": 443, "http": 80}
BASE_URLS = [
    ("192.0.2.22", "https", "https://192.0.2.22:443"),
    ("192.0.2.22", "http", "http://192.0.2.22:80"),
    ("192.0.2.22:8443", "https", "https://192.0.2.22:8443"),
    ("[2001:db8::22]:8443", "https", "https://[2001:db8::22]:8443"),
    ("codec.example.org", "https", "https://codec.example.org:443"),
    ("http://192.0.2.22", "https", "http://192.0.2.22:80"),  # a URL's scheme wins over the setting
    ("https://192.0.2.22:8443/", "http", "https://192.0.2.22:8443"),
    ("https://proxy.example.org/codecs/tan-thinh/", "http", "https://proxy.example.org:443/codecs/tan-thinh"),
]


@pytest.mark.parametrize(("target", "scheme", "expected"), BASE_URLS, ids=[t for t, _, _ in BASE_URLS])
def test_base_url(target: str, scheme: str, expected: str) -> None:
    """A bare host takes the scheme setting and its port; a URL is used as written (a reverse proxy's prefix too)."""
    assert vc_status.base_url(target, scheme, PORTS) == URL(expected)


@pytest.mark.parametrize("target", ["ftp://192.0.2.22", "https://", "192.0.2.22:0", "[2001:db8::1", "http://h/?x=1"])
def test_bad_base_url(target: str) -> None:
    """A target the drivers cannot use is BAD_TARGET with what to write."""
    with pytest.raises(vc_status.ApiError) as caught:
        vc_status.base_url(target, "https", PORTS)
    assert caught.value.reason is Reason.BAD_TARGET


async def test_url_target_with_prefix(secret_file: Path, ctx: ProbeContext) -> None:
    """A codec behind a reverse-proxy prefix is reached under that prefix."""
    outer = web.Application()
    outer.add_subapp("/codecs/room1/", cisco_app(Codec()))
    async with serve(outer) as port:
        result = await _probe(f"http://127.0.0.1:{port}/codecs/room1", _settings(secret_file), ctx)
    assert result.success, result.detail


# --- credentials --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_text", "credentials", "words"),
    [
        (None, None, "credentials are missing"),
        ("admin-without-colon", "file", 'must hold "user:password"'),
        (":nopassworduser", "file", 'must hold "user:password"'),
        (None, {"env": "GIAOBAN_TEST_UNSET_VARIABLE"}, "GIAOBAN_TEST_UNSET_VARIABLE is not set"),
        (None, {"file": "/nonexistent/giaoban/vcs.secret"}, "cannot read secret file"),
    ],
    ids=["missing", "no-colon", "empty-user", "env-unset", "file-unreadable"],
)
async def test_credential_problems(
    secret_text: str | None, credentials: Any, words: str, tmp_path: Path, ctx: ProbeContext
) -> None:
    """Unusable credentials are a CONFIG_ERROR that names the source, never the secret, and send no request."""
    codec = Codec()
    if credentials == "file":
        path = tmp_path / "bad.secret"
        path.write_text(secret_text or "")
        credentials = {"file": str(path)}
    settings = cisco_xapi.CiscoXapiSettings.model_validate({"scheme": "http", "credentials": credentials})
    async with serve(cisco_app(codec)) as port:
        result = await _probe(f"127.0.0.1:{port}", settings, ctx)
    assert (result.success, result.reason) == (False, Reason.CONFIG_ERROR), result.detail
    assert words in result.detail
    assert codec.requests == []
    assert result.values == {"up": 0.0}


def test_settings_do_not_clash_with_endpoint_fields() -> None:
    """Endpoint fields (id, port, interval, timeout...) are not settings, so the kinds mix into the endpoint."""
    from probes.vc import jitsi, poly_rest

    reserved = {"id", "kind", "address", "port", "interval", "timeout", "call_rate"}
    for model in (cisco_xapi.CiscoXapiSettings, poly_rest.PolyRestSettings, jitsi.JitsiSettings):
        assert not reserved & set(model.model_fields), model


# --- transport: TLS, no listener, redirects -----------------------------------------------------------------


HTTPS_CASES = [
    # (id, server certificate, (settings, reason))
    ("trusted-ca", "valid", ({"ca_file": "CA"}, Reason.OK)),
    ("self-signed-verified", "self_signed", ({}, Reason.TLS_UNTRUSTED)),
    ("self-signed-unverified", "self_signed", ({"tls_verify": False}, Reason.OK)),
    ("expired", "expired", ({"ca_file": "CA"}, Reason.TLS_EXPIRED)),
]


@pytest.mark.parametrize(("server_cert", "case"), [c[1:] for c in HTTPS_CASES], ids=[c[0] for c in HTTPS_CASES])
async def test_https(
    server_cert: str, case: tuple[dict[str, Any], Reason], certs: Certs, secret_file: Path, ctx: ProbeContext
) -> None:
    """Codecs ship self-signed certificates: verified by default, trusted by ca_file, or tls_verify: false."""
    extra = {k: (str(certs.ca_file) if v == "CA" else v) for k, v in case[0].items()}
    reason = case[1]
    async with serve(cisco_app(Codec()), ssl_context=getattr(certs, server_cert)) as port:
        result = await _probe(f"127.0.0.1:{port}", _settings(secret_file, scheme="https", **extra), ctx)
    assert result.reason is reason, result.detail
    if reason is Reason.OK:
        assert result.phases["tls"] > 0
    else:
        assert result.values == {"up": 0.0}


async def test_no_listener_is_down(secret_file: Path, ctx: ProbeContext) -> None:
    """Nothing on the port: down (up 0) with REFUSED."""
    result = await _probe(f"127.0.0.1:{free_port()}", _settings(secret_file), ctx)
    assert (result.success, result.reason) == (False, Reason.REFUSED), result.detail
    assert result.values == {"up": 0.0}


async def test_redirect_is_not_followed(secret_file: Path, ctx: ProbeContext) -> None:
    """A redirect would carry the Basic credentials elsewhere: it is reported, not followed."""
    app = web.Application()

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("https://192.0.2.99/getxml")  # documentation address: never contacted

    app.router.add_get("/getxml", moved)
    async with serve(app) as port:
        result = await _probe(f"127.0.0.1:{port}", _settings(secret_file), ctx)
    assert (result.success, result.reason) == (False, Reason.BAD_STATUS), result.detail
    assert result.values == {"up": 1.0}


# --- time -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "codec",
    [Codec(slow=30), Codec(chunked=True, trickle=1.0)],
    ids=["slow-start", "slow-body"],
)
async def test_slow_answers_time_out(codec: Codec, secret_file: Path, ctx: ProbeContext) -> None:
    """A codec that answers slowly, or trickles its body, ends as TIMEOUT from the runner, never a hang."""
    async with serve(cisco_app(codec)) as port:
        result = await asyncio.wait_for(_probe(f"127.0.0.1:{port}", _settings(secret_file), ctx, timeout=0.5), 10)
    assert (result.success, result.reason) == (False, Reason.TIMEOUT), result.detail


async def test_without_shared_session(secret_file: Path) -> None:
    """The CLI passes no session: the driver makes its own and closes it (unclosed sessions fail this suite)."""
    async with serve(cisco_app(Codec())) as port:
        result = await _probe(f"127.0.0.1:{port}", _settings(secret_file), ProbeContext())
    assert result.success, result.detail
