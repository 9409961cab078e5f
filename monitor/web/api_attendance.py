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
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from monitor.config.models import Config
from monitor.readiness.attendance_texts import STATES, describe
from monitor.readiness.meetings import Meeting, get_meeting
from monitor.readiness.watch import WatchSnapshot
from monitor.storage.attendance import latest_occurrence, load_attendance
from monitor.storage.database import Storage
from monitor.web.common import json_error

WATCH: web.AppKey[Callable[[], WatchSnapshot]] = web.AppKey("watch")
ATTENDANCE_STORAGE: web.AppKey[Storage] = web.AppKey("attendance_storage", Storage)
ATTENDANCE_CONFIG: web.AppKey[Callable[[], Config]] = web.AppKey("attendance_config")
_TIMES = ("joined_at", "last_joined_at", "left_at", "observed_at")


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


__all__ = ["add_attendance_routes", "attendance_json", "attendance_of"]
