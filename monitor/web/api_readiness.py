"""Readiness routes of /api/v1 (added to the sub-application by make_api_v1 when the service has an engine).

    GET  /meetings/{id}/readiness     every agent's newest verdicts for the meeting's next (or running)
                                      occurrence, joined (else for the occurrence checked last);
                                      {"report": null} before the first check
    POST /meetings/{id}/readiness     check this agent's sites of the next occurrence now (bearer token);
                                      answers the joined report

A report: {"id", "meeting", "title", "occurrence_start", "lead_time_seconds", "checked_at", "sites_total",
"sites_ready", "not_ready": [site ids], "sites": [{"site", "name", "verdict", "reasons": [{"code", "severity",
"message", "action", "target"}], "province", "checked_at", "agent"}], "sites_degraded", "sites_not_ready",
"sites_unknown", "provinces": [{"province", "name", "total", "ready", "degraded", "not_ready", "unknown"}]};
the provinces failing first and the sites by province, worst first; a participant no agent reported on is
"UNKNOWN" (issue 17). Messages in the district's locale. The next occurrence is found off the
event loop; a meeting whose stored rule breaks the rules of entry answers its latest report (GET) or 409
naming ``rrule`` (POST), never an unbounded expansion (issue 13).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from aiohttp import web

from monitor.config.models import Config
from monitor.readiness.engine import ReadinessEngine
from monitor.readiness.joined import joined_report
from monitor.readiness.meetings import Meeting, Occurrence, get_meeting, occurrences
from monitor.readiness.report import ReadinessReport
from monitor.recurrence import RecurrenceError
from monitor.storage.database import Storage
from monitor.web.auth import check_token
from monitor.web.common import json_error

ENGINE: web.AppKey[ReadinessEngine] = web.AppKey("readiness", ReadinessEngine)
# The last answer encoded per meeting, with the report it encodes: the joined report comes from the shared
# cache (monitor/readiness/joined.py), the same object until an agent stores a newer one, so each answer is
# encoded once, not per request (a national conference's is 3,321 sites, json.dumps holding the GIL in C).
ENCODED: web.AppKey[dict[str, tuple[ReadinessReport | None, str]]] = web.AppKey("readiness_encoded", dict)
ENCODED_MEETINGS = 32


def next_occurrence(meeting: Meeting, now: datetime) -> Occurrence | None:
    """The occurrence running at ``now``, else the next one within a year; RecurrenceError for a broken rule.

    Bounded (monitor/recurrence.py), but a long walk takes a few hundred ms: await it with asyncio.to_thread.
    """
    for start in occurrences(meeting, now - timedelta(seconds=meeting.duration), now + timedelta(days=366)):
        end = start + timedelta(seconds=meeting.duration)
        if end > now:
            return Occurrence(meeting, start, end)
    return None


async def latest_report(storage: Storage, config: Config, meeting: Meeting, now: datetime) -> ReadinessReport | None:
    """Every agent's newest verdicts for the next (or running) occurrence, joined and grouped by province
    (monitor/readiness/joined.py); before its first check, the occurrence checked last; None before any."""
    try:
        upcoming = await asyncio.to_thread(next_occurrence, meeting, now)
    except RecurrenceError:  # a broken stored rule: its latest report is still worth showing
        upcoming = None
    report = None
    if upcoming is not None:
        report = await joined_report(storage, config, meeting, upcoming.start)
    if report is None:
        starts = await storage.reports(meeting.id, limit=1)
        if starts:
            report = await joined_report(storage, config, meeting, starts[0].occurrence_start)
    return report


async def show_readiness(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    meeting = await get_meeting(engine.storage, request.match_info["id"])
    if meeting is None:
        return json_error(404, f"no meeting {request.match_info['id']!r}", "id")
    report = await latest_report(engine.storage, engine.config(), meeting, datetime.now(UTC))
    return await _answer(request.app, meeting.id, report)


async def _answer(app: web.Application, meeting_id: str, report: ReadinessReport | None) -> web.Response:
    """The JSON answer, encoded in a worker thread (a national conference's is 3,321 sites, about a megabyte),
    once per report: asked again for the same report, the text encoded before."""
    encoded = app[ENCODED]
    cached = encoded.get(meeting_id)
    if cached is not None and report is not None and cached[0] is report:
        return web.Response(text=cached[1], content_type="application/json")

    def encode() -> str:
        return json.dumps({"meeting": meeting_id, "report": report.to_json() if report else None}, ensure_ascii=False)

    text = await asyncio.to_thread(encode)
    encoded.pop(meeting_id, None)  # re-inserted last: the oldest encoded is dropped first
    encoded[meeting_id] = (report, text)
    while len(encoded) > ENCODED_MEETINGS:
        del encoded[next(iter(encoded))]
    return web.Response(text=text, content_type="application/json")


async def run_readiness(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    if (denied := check_token(request, engine.config().api.token)) is not None:
        return denied
    meeting = await get_meeting(engine.storage, request.match_info["id"])
    if meeting is None:
        return json_error(404, f"no meeting {request.match_info['id']!r}", "id")
    try:
        occurrence = await asyncio.to_thread(next_occurrence, meeting, datetime.now(UTC))
    except RecurrenceError as exc:
        return json_error(409, f"meeting {meeting.id!r} cannot be checked: {exc}", "rrule")
    if occurrence is None:
        return json_error(409, f"meeting {meeting.id!r} has no occurrence to come", "id")
    report = await engine.check_meeting(occurrence)  # this agent's own sites
    joined = await joined_report(engine.storage, engine.config(), meeting, occurrence.start)  # with the others'
    return await _answer(request.app, meeting.id, joined or report)


def add_readiness_routes(app: web.Application, engine: ReadinessEngine) -> None:
    app[ENGINE] = engine
    app[ENCODED] = {}
    app.router.add_get("/meetings/{id}/readiness", show_readiness)
    app.router.add_post("/meetings/{id}/readiness", run_readiness)


__all__ = ["add_readiness_routes", "latest_report", "next_occurrence"]
