"""HTTP routes on one aiohttp port (default 127.0.0.1:9876).

    GET  /                 the readiness board, HTML for phones (monitor/web/board.py)
    GET  /metrics          the live state in the text format (monitor/metrics/collector.py, cached per target),
                           gzip-compressed when the scraper accepts it
    GET  /probe            one on-demand probe, blackbox_exporter-style: ?kind=icmp&target=HOST[&OPTION=VALUE...]
    GET  /-/healthy        200 while the process runs
    GET  /-/ready          200 once the inventory is loaded and probing has started, and while alerting can
                           run; 503 with the reasons, one a line, while it cannot (database faults, alert
                           evaluation failing or stuck: ServiceView.problems())
    POST /-/reload         re-read the inventory (bearer token); a bad file keeps the running one

Every POST/DELETE needs ``Authorization: Bearer <api.token>``, compared in constant time; without a
configured token, writes are refused with a message that says how to enable them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from monitor.errors import UsageError
from monitor.metrics.collector import CONTENT_TYPE
from monitor.metrics.probe import probe_families, result_registry
from monitor.web.auth import check_token
from monitor.web.board import board_handler
from monitor.web.probe_options import settings_from_pairs
from probes import KINDS
from probes.core.units import parse_duration
from probes.runner import run_probe

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from monitor.web.view import ServiceView

log = logging.getLogger(__name__)

SERVICE: web.AppKey[ServiceView] = web.AppKey("service")
# blackbox_exporter's default: leave Prometheus half a second to receive the answer.
SCRAPE_TIMEOUT_OFFSET = 0.5
GZIP_LEVEL = 1
GZIP_BATCH = 1 << 20  # bytes of text handed to zlib at a time


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


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
    """The scrape compressed for a scraper that asks (Prometheus does): 31 MB → 1.6 MB at 10,000 links.

    Level 1 takes ~60 ms there; level 6 takes 3× and level 9 (gzip's default) 13× as long for a body 13 % and
    21 % smaller (bench/RESULTS.md). The pieces are compressed a megabyte at a time rather than joined first:
    zlib releases the GIL while it works, a join of 31 MB would hold it (~15 ms of the event loop's time).
    """
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: the gzip container
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


async def probe(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    query = request.query
    kind_name, target = query.get("kind", ""), query.get("target", "")
    kind = KINDS.get(kind_name)
    if kind is None:
        return _error(400, f"kind must be one of: {', '.join(sorted(KINDS))}", field="kind")
    if not target:
        return _error(
            400,
            "target is required, e.g. target=192.0.2.1 (icmp), HOST:PORT (tcp), a URL (http)",
            field="target",
        )
    pairs = [(k, v) for k, v in query.items() if k not in ("kind", "target", "deadline", "debug")]
    try:
        settings = settings_from_pairs(kind, pairs)
        timeout = _probe_timeout(
            request, kind.deadline(settings) if kind.deadline else None, service.config.defaults.timeout
        )
    except UsageError as exc:
        return _error(400, str(exc))
    result = await run_probe(kind, target, settings, ctx=service.ctx, timeout=timeout)
    log.info("on-demand %s probe of %s: %s %s", kind.name, target, result.reason, result.detail)
    if query.get("debug", "").lower() in ("1", "true"):
        lines = [
            f"kind: {kind.name}",
            f"target: {target}",
            f"success: {result.success}",
            f"reason: {result.reason}",
            f"detail: {result.detail}",
            f"duration: {result.duration:.6f}s",
            *(f"phase {k}: {v:.6f}s" for k, v in result.phases.items()),
            *(f"value {k}: {v}" for k, v in result.values.items()),
            *(f"info {k}: {v}" for k, v in result.info.items()),
        ]
        return web.Response(text="\n".join(lines) + "\n")
    return _render(request, result_registry(kind, result))


def _probe_timeout(request: web.Request, natural: float | None, default: float) -> float:
    """?deadline=, else Prometheus' scrape timeout header minus an offset, else the kind's own deadline.

    Not ``timeout``: that name is a kind's own setting (icmp: how long to wait for the last reply).
    """
    text = request.query.get("deadline") or request.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
    if text is None:
        return natural or default
    try:
        # The header is bare seconds ("10"); the query parameter takes units too ("1m").
        value = parse_duration(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise UsageError(f"deadline: {exc}") from None
    if "deadline" not in request.query:
        value -= SCRAPE_TIMEOUT_OFFSET
    if value <= 0:
        raise UsageError("deadline must be greater than zero")
    return value


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
    return web.Response(text="giaoban is ready.\n")


async def reload(request: web.Request) -> web.Response:
    if (denied := check_token(request, request.app[SERVICE].config.api.token)) is not None:
        return denied
    problems = await request.app[SERVICE].reload()
    if problems:
        return _error(400, "the new configuration has problems; the running one is kept", problems=problems)
    return web.json_response({"status": "reloaded"})


def make_app(service: ServiceView, *, clock: Callable[[], float] = time.time) -> web.Application:
    """The service's routes; ``clock`` is the board's wall time (tests move it)."""
    for kind in KINDS.values():
        probe_families(kind)  # a kind's /probe series that clash with the general ones: refused at start-up
    app = web.Application()
    app[SERVICE] = service
    app.router.add_get("/", board_handler(service, clock=clock))
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    return app
