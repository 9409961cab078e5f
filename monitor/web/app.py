"""HTTP routes on one aiohttp port (default 127.0.0.1:9876).

    GET  /                 the readiness board, HTML for phones (monitor/web/board.py)
    GET  /sites/{id}       a site's page: its link's RTT spread and loss over 24 h / 7 d / 30 d as SVG, its
                           equipment, briefings and alerts (monitor/web/site_page.py); 404 page for an unknown id
    GET  /metrics          the live state in the text format (monitor/metrics/collector.py, cached per target),
                           gzip-compressed when the scraper accepts it
    GET  /probe            one on-demand probe, blackbox_exporter-style: ?module=NAME&target=HOST (probe_guard.py)
    GET  /-/healthy        200 while the process runs
    GET  /-/ready          200 once the inventory is loaded and probing has started, and while alerting can
                           run; 503 with the reasons, one a line, while it cannot (database faults, alert
                           evaluation failing or stuck: ServiceView.problems()); 200 "ready, degraded" with
                           the notes of ServiceView.degraded() while the centre's database is unreachable and
                           the local spool keeps what it cannot take
    POST /-/reload         re-read the inventory (bearer token); a bad file keeps the running one

Every POST/DELETE needs ``Authorization: Bearer <api.token>``, compared in constant time; without a
configured token, writes are refused with a message that says how to enable them. /probe needs
``probe.token`` the same way when one is configured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from isal import isal_zlib
from prometheus_client.exposition import choose_encoder

from monitor.metrics.collector import CONTENT_TYPE
from monitor.metrics.probe import probe_families, result_registry
from monitor.readiness.watch import WatchSnapshot
from monitor.web.auth import check_token
from monitor.web.board import board_handler
from monitor.web.board_call import live_handler
from monitor.web.probe_guard import RESERVED, Gate, Refused, TargetPolicy, plan
from monitor.web.site_page import site_page_handler
from probes import KINDS
from probes.http import new_client_session
from probes.runner import run_probe

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from monitor.config.models import Config
    from monitor.web.view import ServiceView

log = logging.getLogger(__name__)

SERVICE: web.AppKey[ServiceView] = web.AppKey("service")
GZIP_LEVEL = 1
GZIP_BATCH = 1 << 20  # bytes of text handed to the compressor at a time


def _error(status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    fields = {k: v for k, v in extra.items() if v is not None}
    return web.json_response({"error": message, **fields}, status=status, headers=headers)


def _render(request: web.Request, registry: CollectorRegistry) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = web.Response(body=encoder(registry))
    response.headers["Content-Type"] = content_type
    return response


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (RFC 9110 §12.5.3: ``gzip;q=0`` refuses it)."""
    offered: dict[str, float] = {}
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        offered[coding.strip().lower()] = quality
    quality = offered.get("gzip", offered.get("x-gzip", offered.get("*", 0.0)))
    return quality > 0


def gzipped(parts: Sequence[bytes]) -> bytes:
    """The scrape compressed for a scraper that asks (Prometheus does): 32 MB → 1.5 MB at 10,000 links.

    ISA-L's deflate (python-isal) at level 1: ~21 ms there where zlib's level 1 took ~110 ms for a body 8 %
    larger (bench/RESULTS.md, issue 16). The pieces are compressed a megabyte at a time rather than joined
    first: the compressor releases the GIL while it works, a join of 32 MB would hold it (~15 ms of the event
    loop's time).
    """
    packer = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)  # 16+: gzip container
    out: list[bytes] = []
    batch: list[bytes] = []
    size = 0
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= GZIP_BATCH:
            out.append(packer.compress(b"".join(batch)))
            batch, size = [], 0
    out.append(packer.compress(b"".join(batch)))
    out.append(packer.flush())
    return b"".join(out)


async def metrics(request: web.Request) -> web.Response:
    exposition = request.app[SERVICE].exposition
    compress = accepts_gzip(request.headers.get("Accept-Encoding", ""))

    def scrape() -> bytes:
        return gzipped(exposition.render_parts()) if compress else exposition.render()

    # Rendered and compressed off the loop, so a scrape of a large inventory does not delay probes (issue 16).
    body = await asyncio.to_thread(scrape)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Vary"] = "Accept-Encoding"
    if compress:
        response.headers["Content-Encoding"] = "gzip"
    return response


class _ProbeState:
    """What /probe keeps between requests: the current config's allow-list, the concurrency gate, its session.

    The session's guard (probes.http.ConnectGuard) is this object, so a redirect or a name's address is
    checked against the allow-list of the config running now, reloads included.
    """

    def __init__(self, service: ServiceView) -> None:
        self._service = service
        self._config: Config | None = None
        self._policy: TargetPolicy | None = None
        self.gate = Gate()
        self.session: aiohttp.ClientSession | None = None

    def policy(self) -> TargetPolicy:
        config = self._service.config
        if self._policy is None or config is not self._config:
            self._config, self._policy = config, TargetPolicy.of(config)
        return self._policy

    def refusal(self, address: str, name: str | None) -> str | None:
        return self.policy().refusal(address, name)


PROBE_STATE: web.AppKey[_ProbeState] = web.AppKey("probe_state")


async def _probe_session(app: web.Application) -> AsyncIterator[None]:
    state = app[PROBE_STATE]
    state.session = new_client_session(guard=state)
    yield
    await state.session.close()


async def probe(request: web.Request) -> web.Response:
    service, state = request.app[SERVICE], request.app[PROBE_STATE]
    section = service.config.probe
    if section.token is not None and (denied := check_token(request, section.token)) is not None:
        return denied
    query = request.query
    pairs = [(k, v) for k, v in query.items() if k not in RESERVED]
    header = request.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
    try:
        run = plan(query, pairs, header, service.config, state.policy())
    except Refused as exc:
        return _error(exc.status, str(exc), field=exc.field)
    if not state.gate.enter(section.concurrency):
        return _error(
            429,
            f"{section.concurrency} /probe runs are already in progress (probe.concurrency); try again later",
            headers={"Retry-After": "1"},
        )
    try:
        ctx = dataclasses.replace(service.ctx, http=state.session)  # the allow-list holds for every connection
        result = await run_probe(run.kind, run.target, run.settings, ctx=ctx, timeout=run.timeout)
    finally:
        state.gate.leave()
    log.info("on-demand probe of %s (module %s): %s %s", run.target, run.module, result.reason, result.detail)
    if query.get("debug", "").lower() in ("1", "true"):
        lines = [
            f"module: {run.module}",
            f"kind: {run.kind.name}",
            f"target: {run.target}",
            *run.notes,
            f"success: {result.success}",
            f"reason: {result.reason}",
            f"detail: {result.detail}",
            f"duration: {result.duration:.6f}s",
            *(f"phase {k}: {v:.6f}s" for k, v in result.phases.items()),
            *(f"value {k}: {v}" for k, v in result.values.items()),
            *(f"info {k}: {v}" for k, v in result.info.items()),
        ]
        return web.Response(text="\n".join(lines) + "\n")
    return _render(request, result_registry(run.kind, result))


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="giaoban is healthy.\n")


async def ready(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not service.ready:
        return web.Response(status=503, text="giaoban is starting.\n")
    problems = service.problems()
    if problems:
        reasons = "".join(f"- {problem}\n" for problem in problems)
        return web.Response(status=503, text=f"giaoban is not ready: alerting cannot run.\n{reasons}")
    notes = service.degraded()
    if notes:  # probing and alerting run: ready, but say what is degraded (the centre unreachable)
        return web.Response(text="giaoban is ready, degraded.\n" + "".join(f"- {note}\n" for note in notes))
    return web.Response(text="giaoban is ready.\n")


async def reload(request: web.Request) -> web.Response:
    if (denied := check_token(request, request.app[SERVICE].config.api.token)) is not None:
        return denied
    problems = await request.app[SERVICE].reload()
    if problems:
        return _error(400, "the new configuration has problems; the running one is kept", problems=problems)
    return web.json_response({"status": "reloaded"})


def make_app(
    service: ServiceView,
    *,
    clock: Callable[[], float] = time.time,
    watch: Callable[[], WatchSnapshot] | None = None,
) -> web.Application:
    """The service's routes; ``clock`` is the board's wall time (tests move it); ``watch`` the meeting watch's
    snapshot, for the page of a meeting in progress."""
    for kind in KINDS.values():
        probe_families(kind)  # a kind's /probe series that clash with the general ones: refused at start-up
    app = web.Application()
    app[SERVICE] = service
    app[PROBE_STATE] = _ProbeState(service)
    app.cleanup_ctx.append(_probe_session)
    app.router.add_get("/", board_handler(service, clock=clock))
    app.router.add_get("/sites/{id}", site_page_handler(service, clock=clock))
    app.router.add_get("/meetings/{id}/live", live_handler(service, watch or WatchSnapshot, clock=clock))
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    return app
