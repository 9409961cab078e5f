"""GET /api/v1/meetings/{id}/attendance: who is (or was) in a meeting, with what media (issue 18).

    GET /meetings/{id}/attendance              the running occurrence (live, from the meeting watch), else the
                                               last occurrence with a record; {"occurrence_start": null, "sites": []}
                                               when the meeting has none yet
    GET /meetings/{id}/attendance?start=EPOCH  one occurrence's record

An answer: {"meeting", "title", "occurrence_start" (ISO, UTC), "running", "sites": [{"site", "name", "state",
"text", "connected", "joined_at", "left_at", "rejoins", "quality", "media", "worst", "events"}]}; times are ISO
8601 UTC, ``text`` the site's state in the district's locale (monitor/readiness/attendance_texts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from monitor.config.models import Config
from monitor.readiness.attendance_texts import STATES, describe
from monitor.readiness.meetings import Meeting, get_meeting
from monitor.readiness.watch import WatchSnapshot
from monitor.storage.attendance import latest_occurrence, load_attendance
from monitor.storage.database import Storage
from monitor.web.common import json_error, json_schema_answer, schema_ref

WATCH: web.AppKey[Callable[[], WatchSnapshot]] = web.AppKey("watch")
ATTENDANCE_STORAGE: web.AppKey[Storage] = web.AppKey("attendance_storage", Storage)
ATTENDANCE_CONFIG: web.AppKey[Callable[[], Config]] = web.AppKey("attendance_config")
_TIMES = ("joined_at", "last_joined_at", "left_at", "observed_at")


# --- the answer's schema, for /api/v1/openapi.json (tests validate real answers against it) --------------


class MediaOut(BaseModel):
    """One channel of the call, as the codec or bridge reports it (None: not reported)."""

    model_config = ConfigDict(extra="forbid")
    direction: Literal["rx", "tx"]  # rx what the site receives, tx what it sends
    kind: str  # audio, video, content
    loss_ratio: float | None
    jitter_seconds: float | None
    rate_bps: float | None


class AttendanceEventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: str | None  # ISO 8601 UTC
    event: Literal["joined", "left", "rejoined", "poor_media", "media_recovered"]


class AttendanceSiteOut(BaseModel):
    """One expected site: its state (worst first: left, missing, poor, unknown, connected) and its record."""

    model_config = ConfigDict(extra="forbid")
    site: str
    name: str
    state: Literal["left", "missing", "poor", "unknown", "connected"]
    text: str  # the state in the district's locale, e.g. "rời cuộc họp lúc 07:42"
    connected: bool | None  # as of the last poll; None: nothing could tell
    present: bool | None  # the last definite answer
    joined_at: str | None
    last_joined_at: str | None
    left_at: str | None
    observed_at: str | None
    rejoins: int
    remote: str | None  # the far end or participant the site was matched by
    source: str | None  # what told: a codec or a bridge
    quality: Literal["good", "poor", "unknown"]
    media: list[MediaOut]  # at the last poll
    poor: list[MediaOut]  # the channels beyond calls.loss / calls.jitter, worst loss first
    worst: dict[str, dict[str, float]]  # "rx/video" -> {loss_ratio, jitter_seconds}: the worst seen
    events: list[AttendanceEventOut]


class AttendanceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meeting: str
    title: str
    occurrence_start: str | None  # ISO 8601 UTC; None when the meeting has no occurrence with a record yet
    running: bool
    sites: list[AttendanceSiteOut]


MODELS: tuple[type[BaseModel], ...] = (MediaOut, AttendanceEventOut, AttendanceSiteOut, AttendanceOut)


def attendance_paths() -> dict[str, Any]:
    """The route's OpenAPI entry; its schemas are MODELS plus ErrorOut (monitor/web/common.py)."""
    err = schema_ref("ErrorOut")
    return {
        "/meetings/{id}/attendance": {
            "get": {
                "summary": "who is (or was) in a meeting, with what media: the running occurrence, else the last "
                "one with a record, else the occurrence starting at `start`",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "start",
                        "in": "query",
                        "schema": {"type": "integer"},
                        "description": "an occurrence's start in epoch seconds",
                    },
                ],
                "responses": {
                    "200": json_schema_answer("attendance", schema_ref(AttendanceOut)),
                    "400": json_schema_answer("start is not an integer", err),
                    "404": json_schema_answer("unknown meeting", err),
                },
            }
        }
    }


def _iso(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment is not None else None


async def attendance_of(
    storage: Storage, snapshot: WatchSnapshot | None, meeting: Meeting, start: int | None = None
) -> tuple[int | None, bool, Sequence[Mapping[str, Any]]]:
    """(occurrence start, running, records): the live records of the running occurrence, else the stored ones."""
    if snapshot is not None:
        for watched in snapshot.occurrences:
            at = int(watched.occurrence.start.timestamp())
            if watched.occurrence.meeting.id == meeting.id and start in (None, at):
                return at, True, watched.records
    if start is None:
        start = await latest_occurrence(storage, meeting.id)
    if start is None:
        return None, False, ()
    return start, False, await load_attendance(storage, meeting.id, start)


def attendance_json(
    config: Config, meeting: Meeting, start: int | None, running: bool, records: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    names = {site.id: site.name for site in config.sites}
    sites = []
    for record in records:
        state, text = describe(record, tz, locale)
        sites.append(
            {
                "site": record["site"],
                "name": names.get(str(record["site"]), record["site"]),
                "state": state,
                "text": text,
                **{k: v for k, v in record.items() if k not in ("site", *_TIMES)},
                **{k: _iso(record.get(k)) for k in _TIMES},
                "events": [{"at": _iso(e["at"]), "event": e["event"]} for e in record.get("events") or ()],
            }
        )
    sites.sort(key=lambda s: (STATES.index(s["state"]), s["name"]))
    return {
        "meeting": meeting.id,
        "title": meeting.title,
        "occurrence_start": _iso(start) if start is not None else None,
        "running": running,
        "sites": sites,
    }


async def show_attendance(request: web.Request) -> web.Response:
    storage, config = request.app[ATTENDANCE_STORAGE], request.app[ATTENDANCE_CONFIG]()
    meeting = await get_meeting(storage, request.match_info["id"])
    if meeting is None:
        return json_error(404, f"no meeting {request.match_info['id']!r}", "id")
    start: int | None = None
    if "start" in request.query:
        try:
            start = int(request.query["start"])
        except ValueError:
            return json_error(400, "start is an occurrence's start in epoch seconds, e.g. 1796607000", "start")
    found_start, running, records = await attendance_of(storage, request.app[WATCH](), meeting, start)
    return web.json_response(attendance_json(config, meeting, found_start, running, records))


def add_attendance_routes(
    app: web.Application, *, storage: Storage, config: Callable[[], Config], watch: Callable[[], WatchSnapshot]
) -> None:
    app[ATTENDANCE_STORAGE] = storage
    app[ATTENDANCE_CONFIG] = config
    app[WATCH] = watch
    app.router.add_get("/meetings/{id}/attendance", show_attendance)


__all__ = ["MODELS", "AttendanceOut", "add_attendance_routes", "attendance_json", "attendance_of", "attendance_paths"]
