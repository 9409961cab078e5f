"""/probe guarded (issues 13 and 15): modules, params within limits, the allow-list, concurrency, token, deadline.

Each attack of issue 13 gets a refusal with a message or a bounded answer. Refused targets are never sent to:
the handler refuses before the runner is called (a test records its calls), and the one test that sends
toward a refused address uses one on loopback, so even a broken guard could not reach another host.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import monitor.web.app
from monitor.app.service import Service
from monitor.config.probe import BUILTIN_MODULES
from monitor.web.probe_guard import TargetPolicy
from probes import KINDS
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.http import HttpSettings, new_client_session
from probes.runner import run_probe
from tests.peers import LoopLag, free_port, missing
from tests.service_harness import loopback_config, running_service
from tests.test_service import samples

pytestmark = pytest.mark.timeout(60)

TOKEN = "probe-t0ken"

# A probe: section that names its own modules (the built-in ones are then gone, as in blackbox_exporter).
MODULES = """\
probe:
  concurrency: 1
  modules:
    web: {kind: http, params: [max_body_size]}
    ping: {kind: icmp, count: 3, interval: 20ms, params: [count, interval, payload_size]}
    silent: {kind: tcp, expect: "^never", limits: {max_deadline: 2s}}
    backtracking: {kind: http, body_regex: ["(a|aa)+$"]}
    device: {kind: snmp, community: {env: GIAOBAN_TEST_COMMUNITY}}
"""


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    """MODULES' snmp module reads its community from the environment, as a config would."""
    monkeypatch.setenv("GIAOBAN_TEST_COMMUNITY", "public")


@contextlib.asynccontextmanager
async def service_with(tmp_path: Path, probe: str = "") -> AsyncIterator[tuple[Service, str]]:
    path = tmp_path / "giaoban.yml"
    path.write_text(loopback_config(free_port(), probe=probe, interval="1h"), encoding="utf-8")
    async with running_service(path) as service:
        yield service, f"http://{service.listen}"


@contextlib.asynccontextmanager
async def web_server(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """``app`` on a free port of ``host`` (a loopback address); yields HOST:PORT."""
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind((host, 0))
    try:
        await web.SockSite(runner, sock).start()
        yield f"{host}:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


def _pages(**routes: Any) -> web.Application:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(f"/{path}", handler)
    return app


async def _backtrack(request: web.Request) -> web.Response:
    return web.Response(text="a" * 50_000 + "b")


@contextlib.contextmanager
def recorded_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The targets the /probe handler hands to the runner (and so may send to)."""
    calls: list[str] = []

    async def recording(kind: Any, target: str, settings: Any, **kw: Any) -> ProbeResult:
        calls.append(target)
        return await run_probe(kind, target, settings, **kw)

    monkeypatch.setattr(monitor.web.app, "run_probe", recording)
    yield calls


async def get(base: str, query: str, **kw: Any) -> tuple[int, str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/probe?{query}", **kw) as response:
        return response.status, await response.text(), response.headers


@pytest.mark.parametrize(
    ("query", "status", "expect"),
    [
        pytest.param(
            "kind=http&target=http://127.0.0.1:{port}/&body_regex=(a%2B)%2B",
            400,
            "option 'body_regex' is not open to callers of module http_2xx",
            id="caller-regex",
        ),
        pytest.param(
            "kind=icmp&target=127.0.0.1&count=1000", 400, "count 1000 is above module icmp's limit 100", id="count"
        ),
        pytest.param(
            "kind=icmp&target=127.0.0.1&interval=1ms",
            400,
            "interval 0.001 is below module icmp's limit 0.01",
            id="rate",
        ),
        pytest.param(
            "kind=icmp&target=127.0.0.1&payload_size=65000",
            400,
            "option 'payload_size' is not open to callers of module icmp",
            id="payload",
        ),
        pytest.param(
            "kind=http&target=http://127.0.0.1:{port}/&method=POST&body=x&headers=X-A:%20b",
            400,
            "option 'method' is not open",
            id="post-anything",
        ),
        pytest.param(
            "kind=http&target=http://127.0.0.1:{port}/&max_body_size=2GiB",
            400,
            "option 'max_body_size' is not open",
            id="body-size",
        ),
        pytest.param(
            "module=icmp&target=127.0.0.1&deadline=100000h",
            400,
            "deadline 100000h is above module icmp's limit 30s",
            id="deadline",
        ),
        pytest.param("module=http_post_2xx&target=127.0.0.1", 400, "unknown module 'http_post_2xx'", id="no-post"),
        pytest.param("target=127.0.0.1", 400, "module is required", id="no-module"),
        pytest.param("module=icmp&target=192.0.2.1", 403, "192.0.2.1 is neither in the inventory", id="not-allowed"),
        pytest.param("module=icmp&target=127.0.0.9", 403, "127.0.0.9 is neither in the inventory", id="loopback-too"),
        pytest.param(
            "module=tcp_connect&target=localhost:{port}", 403, "not a host name of the inventory", id="unknown-name"
        ),
        pytest.param("module=http_2xx&target=http://[::ffff:192.0.2.1]/", 403, "192.0.2.1 is neither", id="v4-mapped"),
        pytest.param("module=icmp&target=127.0.0.1&kind=tcp", 400, "module icmp is of kind icmp", id="kind-clash"),
    ],
)
async def test_issue_13_attacks_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str, status: int, expect: str
) -> None:
    """Every option issue 13 abused is refused with a message, before the runner (and so any traffic)."""
    async with service_with(tmp_path) as (service, base):
        with recorded_runs(monkeypatch) as calls:
            got, body, _ = await get(base, query.format(port=service.listen.rsplit(":", 1)[1]))
    assert (got, calls) == (status, []), body
    assert expect in body


async def test_module_http_2xx_takes_a_scheme_less_target(tmp_path: Path) -> None:
    """blackbox's stock recipe, params {module: [http_2xx]} with HOST:PORT as the target, gets a result (issue 15)."""
    async with service_with(tmp_path) as (_, base), web_server(_pages(health=_ok)) as peer:
        status, body, _ = await get(base, f"module=http_2xx&target={peer}/health")
    assert status == 200, body
    assert samples(body, "probe_success") == {(): 1.0}
    assert samples(body, "probe_http_status_code") == {(): 200.0}


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_icmp_round_shrinks_to_the_scrape_timeout(tmp_path: Path) -> None:
    """Under a 1 s scrape timeout the built-in icmp round (10 echoes 200 ms apart) shrinks, succeeds and says so."""
    async with service_with(tmp_path) as (service, base):
        if service.ctx.pinger is None:
            missing("ICMP permission (root, or net.ipv4.ping_group_range covering this group)")
        header = {"X-Prometheus-Scrape-Timeout-Seconds": "1"}
        started = time.monotonic()
        status, body, _ = await get(base, "module=icmp&target=127.0.0.1", headers=header)
        elapsed = time.monotonic() - started
        _, debug, _ = await get(base, "module=icmp&target=127.0.0.1&debug=true", headers=header)
    assert status == 200, body
    assert samples(body, "probe_success") == {(): 1.0}
    assert samples(body, "probe_icmp_packets_sent") == {(): 2.0}
    assert elapsed < 1.0, elapsed
    assert "deadline: 500ms (scrape timeout 1s minus 0.5s)" in debug
    assert "shrunk to fit the deadline: count 10→2, timeout 2→0.2" in debug
    assert "success: True" in debug


async def test_configured_modules_replace_the_built_in_ones(tmp_path: Path) -> None:
    """With probe.modules set only those exist; their params open options within their limits; secrets stay put."""
    async with service_with(tmp_path, MODULES) as (service, base):
        port = service.listen.rsplit(":", 1)[1]
        cases = {
            "module=http_2xx&target=127.0.0.1": (400, "unknown module 'http_2xx'; modules: backtracking, device"),
            f"module=web&target=127.0.0.1:{port}/-/healthy&max_body_size=2GiB": (400, "above module web's limit"),
            f"module=web&target=127.0.0.1:{port}/-/healthy&max_body_size=64KiB": (200, "probe_success 1.0"),
            "module=ping&target=127.0.0.1&payload_size=65000": (400, "payload_size 65000 is above module ping's"),
            "module=device&target=127.0.0.1&community=env:HOME": (400, "community is a secret"),
            "kind=http&target=127.0.0.1": (400, "needs exactly one module of that kind (several: backtracking, web)"),
            "module=silent&target=127.0.0.1:1&deadline=3s": (400, "above module silent's limit 2s"),
        }
        for query, (status, expect) in cases.items():
            got, body, _ = await get(base, query)
            assert (got, expect in body) == (status, True), f"{query}: {got} {body}"


async def test_backtracking_module_is_bounded(tmp_path: Path) -> None:
    """A module's catastrophic body_regex ends by the deadline as regex_timeout; the service stays responsive."""
    async with (
        service_with(tmp_path, MODULES) as (_, base),
        web_server(_pages(aaa=_backtrack)) as peer,
        LoopLag() as lag,
    ):
        started = time.monotonic()
        _, debug, _ = await get(base, f"module=backtracking&target={peer}/aaa&deadline=1s&debug=1")
        elapsed = time.monotonic() - started
    assert "reason: regex_timeout" in debug, debug
    assert elapsed < 1.5, elapsed
    assert lag.worst < 0.1, f"the event loop was blocked {lag.worst:.3f}s"


async def test_concurrency_cap_answers_429(tmp_path: Path) -> None:
    """probe.concurrency runs at once; one more is refused at once with Retry-After, not queued."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts into the backlog and never answers: the probe waits for its expect
    try:
        async with service_with(tmp_path, MODULES) as (_, base):
            target = f"127.0.0.1:{listener.getsockname()[1]}"
            first = asyncio.create_task(get(base, f"module=silent&target={target}&deadline=1s"))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            status, body, headers = await get(base, f"module=silent&target={target}")
            assert time.monotonic() - started < 0.5
            assert (status, headers.get("Retry-After")) == (429, "1"), body
            assert "probe.concurrency" in body
            assert (await first)[0] == 200
            assert (await get(base, f"module=silent&target={target}&deadline=200ms"))[0] == 200  # the slot is free
    finally:
        listener.close()


async def test_token_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With probe.token set, /probe needs it as a bearer token (Prometheus: authorization.credentials)."""
    monkeypatch.setenv("GIAOBAN_TEST_PROBE_TOKEN", TOKEN)
    async with service_with(tmp_path, "probe: {token: {env: GIAOBAN_TEST_PROBE_TOKEN}}") as (service, base):
        query = f"module=tcp_connect&target={service.listen}"
        assert (await get(base, query))[0] == 401
        assert (await get(base, query, headers={"Authorization": "Bearer wrong"}))[0] == 401
        status, body, _ = await get(base, query, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    assert "probe_success 1.0" in body


async def test_redirect_out_of_the_allow_list_is_not_followed(tmp_path: Path) -> None:
    """An allowed server cannot redirect the probe elsewhere: the connection is refused before its socket exists."""
    hits: list[str] = []

    async def outside(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="outside")

    async with (
        service_with(tmp_path) as (_, base),
        web_server(_pages(page=outside), host="127.0.0.9") as elsewhere,
    ):

        async def away(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"http://{elsewhere}/page")

        async with web_server(_pages(go=away)) as peer:
            _, debug, _ = await get(base, f"module=http_2xx&target={peer}/go&debug=true")
    assert "reason: permission_denied" in debug, debug
    assert hits == []


@pytest.mark.parametrize(
    ("probe", "status"),
    [
        pytest.param("", 403, id="default"),
        pytest.param("probe: {allow: [127.0.0.8/29]}", 200, id="allowed-network"),
        pytest.param("probe: {open: true}", 200, id="open"),
    ],
)
async def test_allow_list_opens_to_networks_or_all(tmp_path: Path, probe: str, status: int) -> None:
    """Beyond the inventory's hosts, probe.allow adds networks and probe.open allows any target."""
    async with service_with(tmp_path, probe) as (_, base), web_server(_pages(ok=_ok), host="127.0.0.9") as peer:
        got, body, _ = await get(base, f"module=http_2xx&target={peer}/ok")
    assert got == status, body


def test_builtin_modules_are_blackbox_names() -> None:
    """blackbox's usual names exist, of the expected kinds; there is no POST module unless the admin writes one."""
    assert {name: module.kind for name, module in BUILTIN_MODULES.items()} == {
        "http_2xx": "http",
        "tcp_connect": "tcp",
        "icmp": "icmp",
        "sip_options": "sip",
        "h323_connect": "h323",
    }
    assert all(module.kind in KINDS for module in BUILTIN_MODULES.values())
    assert BUILTIN_MODULES["http_2xx"].settings().method == "GET"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        pytest.param("localhost", True, id="inventory-name-resolves"),
        pytest.param("127.0.0.1", False, id="literal-not-listed"),
    ],
)
async def test_session_guard_knows_the_name_behind_an_address(host: str, allowed: bool) -> None:
    """An inventory name reaches the address it resolves to; the same address written as a literal does not."""
    policy = TargetPolicy(open=False, addresses=frozenset(), names=frozenset({"localhost"}), networks=())
    session = new_client_session(guard=policy)
    try:
        async with web_server(_pages(ok=_ok)) as peer:
            port = peer.rsplit(":", 1)[1]
            result = await run_probe(
                KINDS["http"], f"http://{host}:{port}/ok", HttpSettings(), ctx=ProbeContext(http=session), timeout=5
            )
    finally:
        await session.close()
    assert result.success is allowed, result.detail
    if not allowed:
        assert result.reason is Reason.PERMISSION
