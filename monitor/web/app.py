"""HTTP routes on one aiohttp port (default 127.0.0.1:9876).

    GET  /                 the readiness board, HTML for phones (monitor/web/board.py)
    GET  /metrics          the live state in the text format (monitor/metrics/collector.py, cached per target)
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
from collections.abc import Callable
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


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _render(request: web.Request, registry: CollectorRegistry) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = web.Response(body=encoder(registry))
    response.headers["Content-Type"] = content_type
    return response


async def metrics(request: web.Request) -> web.Response:
    # Rendered off the loop so a scrape of a large inventory does not delay probes.
    body = await asyncio.to_thread(request.app[SERVICE].exposition.render)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
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
