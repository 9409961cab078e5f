"""Alert and maintenance routes of /api/v1 (mounted by monitor/web/api_v1.py with ``add_alert_routes``).

    GET    /alerts                  ?state=open|pending|firing|resolved|all (default open) &site=ID
    GET    /alerts/{id}             one alert; ids contain "/" ("link_down/tan-thinh/link"), sent as is or %2F
    POST   /alerts/{id}/ack         acknowledge (bearer token); body {"by": "tuan"} optional
    GET    /maintenance             windows added by the API and the CLI, with the next occurrence
    POST   /maintenance             add one (bearer token)
    GET    /maintenance/{id}
    DELETE /maintenance/{id}        (bearer token)

Same conventions as the rest of /api/v1: 400 ``{"error", "field"}`` naming the field, 404 for an unknown
id, 401 without the token, 409 when acknowledging an alert that is already resolved. The next occurrence
of each window is found off the event loop; a stored window whose rule breaks the rules of entry is listed
with ``error`` and no ``next`` (issue 13).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from alerts.maintenance import report_broken
from alerts.maintenance_input import MaintenanceError, build_window, next_times
from alerts.model import AlertRecord, AlertState, MaintenanceWindow
from alerts.store import OPEN_STATES, SqlAlertStore
from monitor.config.models import Config
from monitor.recurrence import RecurrenceError
from monitor.web.auth import check_token
from monitor.web.common import json_answer, json_error, read_body
from monitor.web.common import json_schema_answer as _answer
from monitor.web.common import schema_ref as _ref

log = logging.getLogger(__name__)

ALERT_STORE: web.AppKey[SqlAlertStore] = web.AppKey("alert_store", SqlAlertStore)
ALERT_CONFIG: web.AppKey[Callable[[], Config]] = web.AppKey("alert_config")
_STATES: dict[str, tuple[AlertState, ...] | None] = {
    "open": OPEN_STATES,
    "pending": ("pending",),
    "firing": ("firing",),
    "resolved": ("resolved",),
    "all": None,
}


class AlertOut(BaseModel):
    id: str = Field(examples=["link_down/tan-thinh/link"])
    rule: str
    site: str
    target: str | None
    severity: Literal["critical", "warning", "info"]
    state: Literal["pending", "firing", "resolved"]
    labels: dict[str, str]
    summary: str
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    suppressed_by: str | None = Field(description="the parent alert this one is folded into, or maintenance:ID")
    last_notified_at: datetime | None


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(None, min_length=1, max_length=100, examples=["tuan"], description="default: api")


class MaintenanceIn(BaseModel):
    """A maintenance window; a start without an offset is in the window's time zone (default the district's)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500, examples=["Bảo trì tuyến cáp quang"])
    start: str = Field(max_length=200, examples=["2026-12-07T22:00", "2026-12-07T15:00Z"])
    duration: str | float = Field(examples=["2h", 7200])
    rrule: str | None = Field(
        None, max_length=500, examples=["FREQ=WEEKLY;BYDAY=SU"], description="RFC 5545; at most once an hour"
    )
    timezone: str | None = Field(None, max_length=200, examples=["Asia/Ho_Chi_Minh"])
    sites: list[str] = Field(default_factory=list, max_length=1000, description="site ids; empty = every site")
    targets: list[str] = Field(default_factory=list, max_length=1000, description="target names; empty = all")
    rules: list[str] = Field(default_factory=list, max_length=100, examples=[["link_down"]], description="empty = all")
    created_by: str | None = Field(None, max_length=100)


class MaintenanceOut(BaseModel):
    id: str
    title: str
    start: datetime = Field(description="first occurrence, UTC")
    start_local: str = Field(description="first occurrence in the window's time zone")
    duration_seconds: float
    timezone: str
    rrule: str | None
    sites: list[str]
    targets: list[str]
    rules: list[str]
    source: str
    created_by: str | None
    next: datetime | None = Field(description="running or next occurrence (UTC); null when over")
    error: str | None = Field(None, description="why the rule cannot be expanded (a row stored before it was refused)")


MODELS: tuple[type[BaseModel], ...] = (AlertOut, AckIn, MaintenanceIn, MaintenanceOut)


def _at(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def alert_out(record: AlertRecord) -> AlertOut:
    return AlertOut(
        id=record.id,
        rule=record.rule,
        site=record.site,
        target=record.target,
        severity=record.severity,
        state=record.state,
        labels=dict(record.labels),
        summary=record.summary,
        started_at=datetime.fromtimestamp(record.started_at, UTC),
        fired_at=_at(record.fired_at),
        resolved_at=_at(record.resolved_at),
        acked_at=_at(record.acked_at),
        acked_by=record.acked_by,
        suppressed_by=record.suppressed_by,
        last_notified_at=_at(record.last_notified_at),
    )


def _next_of(window: MaintenanceWindow, now: datetime) -> datetime | str | None:
    """The running or next start, or why the window's rule cannot be expanded; bounded."""
    try:
        return next_times(window, now)
    except RecurrenceError as exc:
        report_broken(window, str(exc))
        return str(exc)


async def maintenance_list(windows: Sequence[MaintenanceWindow], now: datetime) -> list[MaintenanceOut]:
    """maintenance_out of each window, the occurrences found in a thread (a walk can take a few hundred ms)."""
    found = await asyncio.to_thread(lambda: [_next_of(w, now) for w in windows])
    return [_window_out(w, n) for w, n in zip(windows, found, strict=True)]


def maintenance_out(window: MaintenanceWindow, now: datetime) -> MaintenanceOut:
    """The window as the API shows it, its next occurrence found here (the CLI; handlers use maintenance_list)."""
    return _window_out(window, _next_of(window, now))


def _window_out(window: MaintenanceWindow, upcoming: datetime | str | None) -> MaintenanceOut:
    start = datetime.fromtimestamp(window.start, UTC)
    return MaintenanceOut(
        id=window.id,
        title=window.title,
        start=start,
        start_local=start.astimezone(ZoneInfo(window.timezone)).isoformat(),
        duration_seconds=window.duration,
        timezone=window.timezone,
        rrule=window.rrule,
        sites=list(window.sites),
        targets=list(window.targets),
        rules=list(window.rules),
        source=window.source,
        created_by=window.created_by,
        next=upcoming if isinstance(upcoming, datetime) else None,
        error=upcoming if isinstance(upcoming, str) else None,
    )


# --- handlers -----------------------------------------------------------------------------------------


async def list_alerts(request: web.Request) -> web.Response:
    state = request.query.get("state", "open")
    if state not in _STATES:
        return json_error(400, f"state must be one of {', '.join(_STATES)}", "state")
    found = await request.app[ALERT_STORE].list_alerts(state=_STATES[state], site=request.query.get("site"))
    return json_answer([alert_out(record) for record in found])


async def show_alert(request: web.Request) -> web.Response:
    alert_id = request.match_info["id"]
    record = await request.app[ALERT_STORE].get_alert(alert_id)
    if record is None:
        return json_error(404, f"no alert {alert_id!r}", "id")
    return json_answer(alert_out(record))


async def ack_alert(request: web.Request) -> web.Response:
    if (denied := check_token(request, request.app[ALERT_CONFIG]().api.token)) is not None:
        return denied
    given = await read_body(request, AckIn, optional=True)
    if isinstance(given, web.Response):
        return given
    alert_id = request.match_info["id"]
    record = await request.app[ALERT_STORE].acknowledge(alert_id, given.by or "api", time.time())
    if record is None:
        return json_error(404, f"no alert {alert_id!r}", "id")
    if record.state == "resolved":
        return json_error(409, f"alert {alert_id!r} is already resolved", "id")
    log.info("alert %s acknowledged by %s through the API", alert_id, record.acked_by)
    return json_answer(alert_out(record))


async def list_maintenance(request: web.Request) -> web.Response:
    now = datetime.now(UTC)
    windows = await request.app[ALERT_STORE].maintenance_windows()
    return json_answer(await maintenance_list(windows, now))


async def create_maintenance(request: web.Request) -> web.Response:
    config = request.app[ALERT_CONFIG]()
    if (denied := check_token(request, config.api.token)) is not None:
        return denied
    given = await read_body(request, MaintenanceIn)
    if isinstance(given, web.Response):
        return given
    try:
        # In a thread: checking a rule that never occurs walks up to a few hundred ms (monitor/recurrence.py).
        window = await asyncio.to_thread(partial(build_window, config, source="api", **given.model_dump()))
    except MaintenanceError as exc:
        return json_error(400, str(exc), exc.field)
    await request.app[ALERT_STORE].add_maintenance(window)
    log.info("maintenance window %s (%s) added through the API", window.id, window.title)
    (shown,) = await maintenance_list([window], datetime.now(UTC))
    return json_answer(shown, 201)


async def show_maintenance(request: web.Request) -> web.Response:
    window_id = request.match_info["id"]
    window = await request.app[ALERT_STORE].get_maintenance(window_id)
    if window is None:
        return json_error(404, f"no maintenance window {window_id!r}", "id")
    (shown,) = await maintenance_list([window], datetime.now(UTC))
    return json_answer(shown)


async def delete_maintenance(request: web.Request) -> web.Response:
    if (denied := check_token(request, request.app[ALERT_CONFIG]().api.token)) is not None:
        return denied
    window_id = request.match_info["id"]
    if not await request.app[ALERT_STORE].remove_maintenance(window_id):
        return json_error(404, f"no maintenance window {window_id!r}", "id")
    log.info("maintenance window %s removed through the API", window_id)
    return web.json_response({"deleted": window_id})


def add_alert_routes(app: web.Application, *, store: SqlAlertStore, config: Callable[[], Config]) -> None:
    """Register the routes above on the /api/v1 sub-application."""
    app[ALERT_STORE] = store
    app[ALERT_CONFIG] = config
    app.router.add_get("/alerts", list_alerts)
    app.router.add_post("/alerts/{id:.+}/ack", ack_alert)
    app.router.add_get("/alerts/{id:.+}", show_alert)
    app.router.add_get("/maintenance", list_maintenance)
    app.router.add_post("/maintenance", create_maintenance)
    app.router.add_get("/maintenance/{id}", show_maintenance)
    app.router.add_delete("/maintenance/{id}", delete_maintenance)


# --- OpenAPI -----------------------------------------------------------------------------------------


def openapi_paths() -> dict[str, Any]:
    """The paths above for /api/v1/openapi.json; schemas are MODELS plus ErrorOut (monitor/web/common.py)."""
    err = _ref("ErrorOut")
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    unauthorised = _answer("missing or wrong bearer token", err)
    return {
        "/alerts": {
            "get": {
                "summary": "alerts, newest first",
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(_STATES), "default": "open"},
                    },
                    {"name": "site", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _answer("alerts", _ref("AlertOut", array=True)),
                    "400": _answer("invalid parameter; `field` names it", err),
                },
            }
        },
        "/alerts/{id}": {
            "get": {
                "summary": "one alert",
                "parameters": [id_param],
                "responses": {
                    "200": _answer("alert", _ref("AlertOut")),
                    "404": _answer("unknown alert", err),
                },
            }
        },
        "/alerts/{id}/ack": {
            "post": {
                "summary": "acknowledge an open alert: reminders stop, the resolve still goes out",
                "security": bearer,
                "parameters": [id_param],
                "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("AckIn")}}},
                "responses": {
                    "200": _answer("the acknowledged alert", _ref("AlertOut")),
                    "400": _answer("invalid input; `field` names it", err),
                    "401": unauthorised,
                    "404": _answer("unknown alert", err),
                    "409": _answer("already resolved", err),
                },
            }
        },
        "/maintenance": {
            "get": {
                "summary": "maintenance windows added through the API and the CLI",
                "responses": {"200": _answer("windows", _ref("MaintenanceOut", array=True))},
            },
            "post": {
                "summary": "add a maintenance window (one-off or recurring)",
                "security": bearer,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("MaintenanceIn")}},
                },
                "responses": {
                    "201": _answer("the stored window", _ref("MaintenanceOut")),
                    "400": _answer("invalid input; `field` names it", err),
                    "401": unauthorised,
                },
            },
        },
        "/maintenance/{id}": {
            "get": {
                "summary": "one maintenance window",
                "parameters": [id_param],
                "responses": {
                    "200": _answer("window", _ref("MaintenanceOut")),
                    "404": _answer("unknown window", err),
                },
            },
            "delete": {
                "summary": "remove a maintenance window",
                "security": bearer,
                "parameters": [id_param],
                "responses": {
                    "200": _answer("deleted", {"type": "object", "properties": {"deleted": {"type": "string"}}}),
                    "401": unauthorised,
                    "404": _answer("unknown window", err),
                },
            },
        },
    }
