"""The JSON API under /api/v1, an aiohttp sub-application (mounted with ``app.add_subapp("/api/v1", ...)``).

    GET    /sites                        the inventory's sites
    GET    /status                       latest result of every target, grouped by site (live state), with owner
    GET    /status/agent                 what this agent owns and who holds each scope's lease (issue 17)
    GET    /sites/{id}/history           ?since=7d|ISO&until=ISO&step=5m  raw or hourly points
    GET    /meetings                     stored meetings with their next occurrence
    POST   /meetings                     add one (bearer token)
    GET    /meetings/{id}                one meeting and its next occurrences
    DELETE /meetings/{id}                remove one (bearer token)
    POST   /meetings/import              an .ics file as the body (bearer token): its occurrences, and the report
    GET    /meetings/{id}/readiness      latest readiness report (monitor/web/api_readiness.py)
    GET    /meetings/{id}/attendance     who is connected, with what media (monitor/web/api_attendance.py)
    POST   /meetings/{id}/readiness      check now (bearer token)
    GET    /alerts                       ?state=open|pending|firing|resolved|all&site=ID (monitor/web/api_alerts.py)
    GET    /alerts/{id}                  one alert
    POST   /alerts/{id}/ack              acknowledge (bearer token)
    GET    /maintenance                  maintenance windows; POST adds one, DELETE /maintenance/{id} removes
    GET    /report                       ?from=DATE&to=DATE&format=json|csv|html  the period report (api_report.py)
    GET    /openapi.json                 OpenAPI 3.1 description of all of the above

Input is validated with pydantic; a fault answers 400 ``{"error": "...", "field": "..."}`` naming the
field, an unknown id 404, a write without the token 401. Bodies, numbers and dates are bounded
(monitor/web/common.py): no input gives a 500. Every query is parameterised (SQLAlchemy), so ids from
the URL are data, never SQL. Answers never carry secrets (tokens, SNMP communities, passwords).
Occurrences are expanded off the event loop; a stored meeting whose rule breaks the rules of entry is
listed with ``error`` and no ``next`` (issue 13).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from alerts.store import SqlAlertStore
from monitor.config.models import Config
from monitor.engine.ownership import Ownership
from monitor.engine.state import State
from monitor.readiness.engine import ReadinessEngine
from monitor.readiness.ics import import_ics
from monitor.readiness.ics_expand import REASONS
from monitor.readiness.meetings import (
    Meeting,
    MeetingError,
    add_meeting,
    all_meetings,
    get_meeting,
    next_starts,
    parse_start,
    remove_meeting,
    report_broken,
)
from monitor.readiness.watch import WatchSnapshot
from monitor.recurrence import RecurrenceError
from monitor.storage.database import Storage
from monitor.storage.leases import Leases
from monitor.storage.queries import choose_step, history
from monitor.web.api_agent import LEASES, OWNERSHIP, AgentOut, LeaseOut, add_agent_routes
from monitor.web.api_alerts import MODELS as ALERT_MODELS
from monitor.web.api_alerts import add_alert_routes
from monitor.web.api_alerts import openapi_paths as alert_paths
from monitor.web.api_attendance import MODELS as ATTENDANCE_MODELS
from monitor.web.api_attendance import add_attendance_routes, attendance_paths
from monitor.web.api_readiness import add_readiness_routes
from monitor.web.api_report import add_report_routes, report_paths
from monitor.web.auth import check_token
from monitor.web.common import ErrorOut, json_answer, json_error, read_body
from monitor.web.common import json_schema_answer as _answer
from monitor.web.common import schema_ref as _ref
from probes.core.units import parse_duration

log = logging.getLogger(__name__)

STORAGE: web.AppKey[Storage] = web.AppKey("storage", Storage)
CONFIG: web.AppKey[Callable[[], Config]] = web.AppKey("config")
STATE: web.AppKey[State] = web.AppKey("state", State)
DEFAULT_HISTORY = 86400.0
MAX_HISTORY = 400 * 86400.0
MAX_TEXT = 200  # start, duration, timezone: longer is never a date, a duration or a zone name


# --- models: validation of input and the schemas of /openapi.json -----------------------------------


class MeetingIn(BaseModel):
    """A new meeting; a start without an offset is in the district's time zone."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500, examples=["Giao ban trực tuyến thứ Hai"])
    start: str = Field(max_length=MAX_TEXT, examples=["2026-12-07T07:30", "2026-12-07T00:30Z"])
    duration: str | float = Field("2h", examples=["2h", 5400])
    sites: Literal["all"] | list[str] = Field("all", examples=["all", ["hub", "tan-thinh"]])
    call_rate: str | int | None = Field(None, examples=["2048kbit"], description="default 2048kbit, at most 10Gbit")
    lead_times: list[str | float] | None = Field(None, max_length=20, examples=[["60m", "30m", "10m"]])
    rrule: str | None = Field(
        None, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO"], description="RFC 5545; at most once an hour"
    )
    timezone: str | None = Field(
        None, max_length=MAX_TEXT, examples=["Asia/Ho_Chi_Minh"], description="default: the district's"
    )


class MeetingOut(BaseModel):
    id: str
    title: str
    start: datetime = Field(description="first occurrence, UTC")
    start_local: str = Field(description="first occurrence in the district's time zone")
    duration_seconds: float
    timezone: str
    rrule: str | None
    exdates: list[datetime]
    sites: Literal["all"] | list[str]
    call_rate_bps: int
    lead_times_seconds: list[float] | None
    source: str
    uid: str | None
    next: list[datetime] = Field(description="next occurrences (UTC), running one included")
    error: str | None = Field(None, description="why the rule cannot be expanded (a row stored before it was refused)")


class ImportSkippedOut(BaseModel):
    reason: str = Field(examples=["all_day"], description=", ".join(REASONS))
    event: str = Field(examples=["event 3 (Tết Dương lịch)"])
    number: int = Field(description="the VEVENT's place in the file, from 1")
    summary: str
    uid: str


class ImportNoteOut(BaseModel):
    code: str = Field(examples=["x_wr_timezone"])
    detail: str


class ImportReportOut(BaseModel):
    """What an .ics import did (monitor/readiness/ics.py); the CLI prints the same report."""

    window_start: datetime
    window_end: datetime
    events: int = Field(description="VEVENTs in the file")
    occurrences: int = Field(description="occurrences stored in the window, one meeting each")
    added: list[str] = Field(description="meeting ids")
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    skipped_by_reason: dict[str, int]
    skipped: list[ImportSkippedOut]
    notes: list[ImportNoteOut]


class SiteOut(BaseModel):
    id: str
    name: str
    role: str
    code: str | None = Field(description="official five-digit unit code, when the inventory gives one")
    parent: str | None
    link: str | None
    endpoints: list[dict[str, str]]


class TargetStatus(BaseModel):
    target: str
    name: str
    kind: str
    role: str
    success: bool | None = Field(description="null before the first run")
    reason: str | None
    detail: str | None
    timestamp: datetime | None
    values: dict[str, float]


class SiteStatus(BaseModel):
    site: str
    name: str
    up: bool | None = Field(description="all targets succeeded; null while none has run")
    targets: list[TargetStatus]
    agent: str | None = Field(None, description="this agent's name when it owns (probes) the site, else null")
    scope: str | None = Field(None, description="the lease unit the site is under in this agent (issue 17)")
    lease_holder: str | None = Field(None, description="the agent holding that unit's lease, as last read")


class PointOut(BaseModel):
    target: str
    kind: str
    ts: datetime
    samples: int
    availability: float
    duration_avg: float | None
    rtt_min: float | None
    rtt_avg: float | None
    rtt_max: float | None
    jitter: float | None
    loss: float | None
    mos: float | None


class HistoryOut(BaseModel):
    site: str
    since: datetime
    until: datetime
    step_seconds: float
    points: list[PointOut]


def _upcoming(found: Sequence[Meeting], now: datetime, count: int) -> list[list[datetime] | str]:
    """Each meeting's next ``count`` starts, or why its rule cannot be expanded; bounded, run in a thread."""
    out: list[list[datetime] | str] = []
    for meeting in found:
        try:
            out.append(next_starts(meeting, now, count=count))
        except RecurrenceError as exc:
            report_broken(meeting, str(exc))
            out.append(str(exc))
    return out


async def _meetings_out(found: Sequence[Meeting], tz: ZoneInfo, now: datetime, *, count: int) -> list[MeetingOut]:
    upcoming = await asyncio.to_thread(_upcoming, found, now, count)
    return [_meeting_out(m, tz, u) for m, u in zip(found, upcoming, strict=True)]


def _meeting_out(meeting: Meeting, tz: ZoneInfo, upcoming: list[datetime] | str) -> MeetingOut:
    return MeetingOut(
        id=meeting.id,
        title=meeting.title,
        start=meeting.start,
        start_local=meeting.start.astimezone(tz).isoformat(),
        duration_seconds=meeting.duration,
        timezone=meeting.timezone,
        rrule=meeting.rrule,
        exdates=list(meeting.exdates),
        sites=meeting.sites if meeting.sites == "all" else list(meeting.sites),
        call_rate_bps=meeting.call_rate,
        lead_times_seconds=list(meeting.lead_times) if meeting.lead_times is not None else None,
        source=meeting.source,
        uid=meeting.uid,
        next=[] if isinstance(upcoming, str) else upcoming,
        error=upcoming if isinstance(upcoming, str) else None,
    )


# --- handlers -----------------------------------------------------------------------------------------


async def sites(request: web.Request) -> web.Response:
    config = request.app[CONFIG]()
    return json_answer(
        [
            SiteOut(
                id=s.id,
                name=s.name,
                role=s.role,
                code=s.code,
                parent=s.parent,
                link=s.link.address if s.link else None,
                endpoints=[{"id": e.id, "kind": e.kind} for e in s.endpoints],
            )
            for s in config.sites
        ]
    )


async def status(request: web.Request) -> web.Response:
    config = request.app[CONFIG]()
    by_site: dict[str, list[TargetStatus]] = {s.id: [] for s in config.sites}
    for entry in request.app[STATE]:
        target, latest = entry.target, entry.latest
        by_site.setdefault(target.site, []).append(
            TargetStatus(
                target=target.key,
                name=target.name,
                kind=target.kind.name,
                role=target.role,
                success=latest.success if latest else None,
                reason=str(latest.reason) if latest else None,
                detail=(latest.detail or None) if latest else None,
                timestamp=datetime.fromtimestamp(latest.timestamp, UTC) if latest else None,
                values=dict(latest.values) if latest else {},
            )
        )
    names = {s.id: s.name for s in config.sites}
    ownership, leases = request.app.get(OWNERSHIP), request.app.get(LEASES)
    owned = ownership().lease_of if ownership is not None else {}
    agent = ownership().spec.agent if ownership is not None else None
    holders = {info.scope: info.holder for info in leases.status()} if leases is not None else {}
    out = []
    for site_id, found in by_site.items():
        ran = [t.success for t in found if t.success is not None]
        up = all(ran) if ran else None
        scope = owned.get(site_id)
        out.append(
            SiteStatus(
                site=site_id,
                name=names.get(site_id, site_id),
                up=up,
                targets=found,
                agent=agent if scope is not None else None,
                scope=scope,
                lease_holder=holders.get(scope or ""),
            )
        )
    return json_answer(out)


def _moment(text: str, field: str, now: datetime) -> datetime:
    """An ISO time (UTC if no offset) or a duration back from now ('7d', '90m'), within 1970–2100."""
    try:
        value: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is not None:
        if not 1970 <= value.year <= 2100:  # year 0001 with an offset is not even a datetime once in UTC
            raise MeetingError(f"{field} must be between the years 1970 and 2100", field)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        back = parse_duration(text)
    except ValueError:
        raise MeetingError(
            f"{field} must be an ISO time such as 2026-12-01T00:00Z or a duration back from now such as 7d", field
        ) from None
    if back > 50 * 366 * 86400:  # also keeps `now - back` inside datetime's years
        raise MeetingError(f"{field} goes back more than 50 years", field)
    return now - timedelta(seconds=back)


async def site_history(request: web.Request) -> web.Response:
    site_id = request.match_info["id"]
    config = request.app[CONFIG]()
    storage = request.app[STORAGE]
    known = {s.id for s in config.sites} | {s.id for s in await storage.sites(include_inactive=True)}
    if site_id not in known:
        return json_error(404, f"no site {site_id!r}", "id")
    now = datetime.now(UTC)
    query = request.query
    try:
        since = _moment(query["since"], "since", now) if "since" in query else now - timedelta(seconds=DEFAULT_HISTORY)
        until = _moment(query["until"], "until", now) if "until" in query else now
        step = None
        if "step" in query:
            try:
                step = parse_duration(query["step"])
            except ValueError as exc:
                raise MeetingError(str(exc), "step") from None
            if not 0 < step <= MAX_HISTORY:
                raise MeetingError("step must be greater than zero and at most 400 days", "step")
    except MeetingError as exc:
        return json_error(400, str(exc), exc.field)
    if since >= until:
        return json_error(400, "since must be before until", "since")
    if (until - since).total_seconds() > MAX_HISTORY:
        return json_error(400, "the range is limited to 400 days", "since")
    points = await history(storage, site_id, since, until, step)
    return json_answer(
        HistoryOut(
            site=site_id,
            since=since,
            until=until,
            step_seconds=choose_step(since, until, step),
            points=[PointOut.model_validate(p, from_attributes=True) for p in points],
        )
    )


async def list_meetings(request: web.Request) -> web.Response:
    tz = ZoneInfo(request.app[CONFIG]().organisation.timezone)
    now = datetime.now(UTC)
    found = await all_meetings(request.app[STORAGE])
    return json_answer(await _meetings_out(found, tz, now, count=1))


async def create_meeting(request: web.Request) -> web.Response:
    config = request.app[CONFIG]()
    if (denied := check_token(request, config.api.token)) is not None:
        return denied
    given = await read_body(request, MeetingIn)
    if isinstance(given, web.Response):
        return given
    try:
        meeting = await add_meeting(request.app[STORAGE], config, source="api", **given.model_dump(exclude_none=True))
    except MeetingError as exc:
        return json_error(400, str(exc), exc.field)
    log.info("meeting %s (%s) added through the API", meeting.id, meeting.title)
    (shown,) = await _meetings_out([meeting], ZoneInfo(config.organisation.timezone), datetime.now(UTC), count=10)
    return json_answer(shown, 201)


async def import_meetings(request: web.Request) -> web.Response:
    """The body is the .ics file; ?sites=all|ID,ID&call_rate=2048kbit&from=DATE&to=DATE as for the CLI."""
    config = request.app[CONFIG]()
    if (denied := check_token(request, config.api.token)) is not None:
        return denied
    tz = ZoneInfo(config.organisation.timezone)
    query = request.query
    try:
        start = parse_start(query["from"], tz, "from") if "from" in query else None
        end = parse_start(query["to"], tz, "to") if "to" in query else None
        report = await import_ics(
            request.app[STORAGE],
            config,
            await request.read(),
            sites=query.get("sites", "all"),
            call_rate=query.get("call_rate"),
            start=start,
            end=end,
        )
    except MeetingError as exc:  # IcsError too: "field" is "file"
        return json_error(400, str(exc), exc.field)
    log.info("imported an .ics file through the API: %d occurrences", report.occurrences)
    return json_answer(
        ImportReportOut(
            window_start=report.window_start,
            window_end=report.window_end,
            events=report.events,
            occurrences=report.occurrences,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            removed=report.removed,
            skipped_by_reason=report.skipped_by_reason(),
            skipped=[
                ImportSkippedOut(reason=s.reason, event=s.event, number=s.number, summary=s.summary, uid=s.uid)
                for s in report.skipped
            ],
            notes=[ImportNoteOut(code=n.code, detail=n.detail) for n in report.notes],
        )
    )


async def show_meeting(request: web.Request) -> web.Response:
    meeting = await get_meeting(request.app[STORAGE], request.match_info["id"])
    if meeting is None:
        return json_error(404, f"no meeting {request.match_info['id']!r}", "id")
    tz = ZoneInfo(request.app[CONFIG]().organisation.timezone)
    (shown,) = await _meetings_out([meeting], tz, datetime.now(UTC), count=10)
    return json_answer(shown)


async def delete_meeting(request: web.Request) -> web.Response:
    if (denied := check_token(request, request.app[CONFIG]().api.token)) is not None:
        return denied
    meeting_id = request.match_info["id"]
    meeting = await get_meeting(request.app[STORAGE], meeting_id)
    if meeting is None:
        return json_error(404, f"no meeting {meeting_id!r}", "id")
    if meeting.source == "config":
        return json_error(409, f"meeting {meeting_id!r} is defined in the configuration; remove it there", "id")
    await remove_meeting(request.app[STORAGE], meeting_id)
    log.info("meeting %s removed through the API", meeting_id)
    return web.json_response({"deleted": meeting_id})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


# --- OpenAPI -----------------------------------------------------------------------------------------

_MODELS: tuple[type[BaseModel], ...] = (
    ErrorOut,
    MeetingIn,
    MeetingOut,
    ImportReportOut,
    SiteOut,
    TargetStatus,
    SiteStatus,
    AgentOut,
    LeaseOut,
    PointOut,
    HistoryOut,
    *ALERT_MODELS,
    *ATTENDANCE_MODELS,
)


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1: schemas generated from the pydantic models the handlers validate and answer with."""
    schemas: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    err = _ref(ErrorOut)
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    written = {
        "400": _answer("invalid input; `field` names it", err),
        "401": _answer("missing or wrong bearer token", err),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "giaoban API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/sites": {
                "get": {
                    "summary": "sites of the inventory",
                    "responses": {"200": _answer("sites", _ref(SiteOut, array=True))},
                }
            },
            "/status": {
                "get": {
                    "summary": "latest result of every target, by site",
                    "responses": {"200": _answer("status", _ref(SiteStatus, array=True))},
                }
            },
            "/status/agent": {
                "get": {
                    "summary": "what this agent owns (scopes, shard, sites) and who holds each scope's lease",
                    "responses": {"200": _answer("agent", _ref(AgentOut))},
                }
            },
            "/sites/{id}/history": {
                "get": {
                    "summary": "history of a site's targets: raw points within raw retention, hourly beyond",
                    "parameters": [
                        id_param,
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "ISO time or duration back (7d); default 1d",
                        },
                        {
                            "name": "until",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "ISO time; default now",
                        },
                        {
                            "name": "step",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "bucket, e.g. 5m, 1h",
                        },
                    ],
                    "responses": {
                        "200": _answer("points", _ref(HistoryOut)),
                        "400": _answer("invalid parameter; `field` names it", err),
                        "404": _answer("unknown site", err),
                    },
                }
            },
            "/meetings": {
                "get": {
                    "summary": "meetings",
                    "responses": {"200": _answer("meetings", _ref(MeetingOut, array=True))},
                },
                "post": {
                    "summary": "add a meeting",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref(MeetingIn)}},
                    },
                    "responses": {"201": _answer("the stored meeting", _ref(MeetingOut)), **written},
                },
            },
            "/meetings/import": {
                "post": {
                    "summary": "import an .ics file: its occurrences in the window, one meeting each; the report",
                    "security": bearer,
                    "parameters": [
                        {"name": "sites", "in": "query", "schema": {"type": "string"}, "description": "all or ID,ID"},
                        {"name": "call_rate", "in": "query", "schema": {"type": "string"}, "description": "2048kbit"},
                        {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "default now"},
                        {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "default +365d"},
                    ],
                    "requestBody": {"required": True, "content": {"text/calendar": {"schema": {"type": "string"}}}},
                    "responses": {"200": _answer("the import report", _ref(ImportReportOut)), **written},
                },
            },
            "/meetings/{id}": {
                "get": {
                    "summary": "one meeting with its next occurrences",
                    "parameters": [id_param],
                    "responses": {
                        "200": _answer("meeting", _ref(MeetingOut)),
                        "404": _answer("unknown meeting", err),
                    },
                },
                "delete": {
                    "summary": "remove a meeting (not one defined in the configuration)",
                    "security": bearer,
                    "parameters": [id_param],
                    "responses": {
                        "200": _answer("deleted", {"type": "object", "properties": {"deleted": {"type": "string"}}}),
                        "401": written["401"],
                        "404": _answer("unknown meeting", err),
                        "409": _answer("defined in the configuration", err),
                    },
                },
            },
            **alert_paths(),
            **attendance_paths(),
            **report_paths(),
            "/openapi.json": {
                "get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
            },
        },
    }


@web.middleware
async def _json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """404/405 from routing as JSON too, so every answer of the API has one shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return json_error(exc.status, exc.reason)
        raise


def make_api_v1(
    *,
    storage: Storage,
    config: Callable[[], Config],
    state: State,
    readiness: ReadinessEngine | None = None,
    ownership: Callable[[], Ownership] | None = None,
    leases: Leases | None = None,
    watch: Callable[[], WatchSnapshot] | None = None,
) -> web.Application:
    """The /api/v1 sub-application; ``config`` is a getter because a reload swaps the configuration;
    ``ownership`` and ``leases``: what this agent owns and holds (GET /status/agent, issue 17)."""
    app = web.Application(middlewares=[_json_errors])
    app[STORAGE] = storage
    app[CONFIG] = config
    app[STATE] = state
    app.router.add_get("/sites", sites)
    app.router.add_get("/status", status)
    app.router.add_get("/sites/{id}/history", site_history)
    app.router.add_get("/meetings", list_meetings)
    app.router.add_post("/meetings", create_meeting)
    app.router.add_post("/meetings/import", import_meetings)
    app.router.add_get("/meetings/{id}", show_meeting)
    app.router.add_delete("/meetings/{id}", delete_meeting)
    add_alert_routes(app, store=SqlAlertStore(storage), config=config)
    add_report_routes(app, storage=storage, config=config)
    app.router.add_get("/openapi.json", openapi)
    if readiness is not None:
        add_readiness_routes(app, readiness)
    if ownership is not None and leases is not None:
        add_agent_routes(app, config=config, ownership=ownership, leases=leases)
    add_attendance_routes(app, storage=storage, config=config, watch=watch or WatchSnapshot)
    return app
