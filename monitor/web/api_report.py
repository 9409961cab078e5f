"""GET /api/v1/report?from=DATE&to=DATE&format=json|csv|html: the period report (monitor/web/report.py).

    GET /api/v1/report?from=2026-11-01&to=2026-11-30                 JSON
    GET /api/v1/report?from=2026-11-01&to=2026-11-30&format=csv      text/csv, one table (report_render.py)
    GET /api/v1/report?from=2026-11-01&to=2026-11-30&format=html     the A4 document, in ?lang= or the locale

Dates are days in the organisation's zone, ``to`` included; ISO times are taken as given. A period is at most
400 days; a fault answers 400 naming ``from``, ``to``, ``format`` or ``lang``. The reads are bounded (one
history query pair for every site at once, in hourly buckets) and the arithmetic and rendering run in a thread;
at most REPORTS_AT_ONCE reports are computed at a time, others get 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from monitor.config.models import Config
from monitor.i18n import LOCALES, Locale
from monitor.storage.database import Storage
from monitor.web.common import json_error
from monitor.web.report import PeriodError, gather_report, parse_period
from monitor.web.report_render import to_csv, to_html, to_json

REPORT_STORAGE: web.AppKey[Storage] = web.AppKey("report_storage")
REPORT_CONFIG: web.AppKey[Callable[[], Config]] = web.AppKey("report_config")
REPORT_GATE: web.AppKey[asyncio.Semaphore] = web.AppKey("report_gate")
FORMATS = ("json", "csv", "html")
REPORTS_AT_ONCE = 2


async def report(request: web.Request) -> web.Response:
    config = request.app[REPORT_CONFIG]()
    query = request.query
    if "from" not in query or "to" not in query:
        missing = "from" if "from" not in query else "to"
        return json_error(400, f"{missing} is required: a date such as 2026-11-01 (to is included)", missing)
    shape = query.get("format", "json")
    if shape not in FORMATS:
        return json_error(400, f"format must be one of {', '.join(FORMATS)}", "format")
    asked = query.get("lang", config.organisation.locale)
    lang: Locale | None = next((known for known in LOCALES if known == asked), None)
    if lang is None:
        return json_error(400, f"lang must be one of {', '.join(LOCALES)}", "lang")
    try:
        period = parse_period(query["from"][:40], query["to"][:40], config)
    except PeriodError as exc:
        return json_error(400, str(exc), exc.field)
    gate = request.app[REPORT_GATE]
    if gate.locked():
        return web.json_response(
            {"error": f"{REPORTS_AT_ONCE} reports are being made; try again shortly"},
            status=429,
            headers={"Retry-After": "5"},
        )
    async with gate:
        made = await gather_report(config, request.app[REPORT_STORAGE], period)
        if shape == "csv":
            body = await asyncio.to_thread(to_csv, made)
            name = f"giaoban-{period.since:%Y%m%d}-{period.until:%Y%m%d}.csv"
            return web.Response(
                text=body,
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        if shape == "html":
            page = await asyncio.to_thread(to_html, made, lang=lang)
            return web.Response(text=page, content_type="text/html", charset="utf-8")
        return web.Response(text=await asyncio.to_thread(to_json, made), content_type="application/json")


def report_paths() -> dict[str, Any]:
    """The route's OpenAPI entry."""
    params = [
        {"name": "from", "in": "query", "required": True, "schema": {"type": "string"}, "description": "2026-11-01"},
        {"name": "to", "in": "query", "required": True, "schema": {"type": "string"}, "description": "included"},
        {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS)}},
        {"name": "lang", "in": "query", "schema": {"type": "string", "enum": list(LOCALES)}},
    ]
    return {
        "/report": {
            "get": {
                "summary": "per site and parent unit: availability outside maintenance, loss and RTT percentiles, "
                "readiness per briefing, alerts and time to acknowledge",
                "parameters": params,
                "responses": {
                    "200": {
                        "description": "the report",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/csv": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "400": {"description": "a bad parameter; `field` names it"},
                    "429": {"description": "too many reports at once"},
                },
            }
        }
    }


def add_report_routes(app: web.Application, *, storage: Storage, config: Callable[[], Config]) -> None:
    app[REPORT_STORAGE] = storage
    app[REPORT_CONFIG] = config
    app[REPORT_GATE] = asyncio.Semaphore(REPORTS_AT_ONCE)
    app.router.add_get("/report", report)


__all__ = ["add_report_routes", "report_paths"]
