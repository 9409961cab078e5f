"""GET /meetings/{id}/live: a meeting in progress on the board — who is connected, missing, with poor media.

    GET /meetings/giao-ban/live            Vietnamese by default (district.locale); ?lang=en English
    GET /meetings/giao-ban/live?refresh=10 reload every 10 s (5..3600; default 15)

Linked from the meeting's card on the board (GET /) while it runs. Worst first: the sites that left
("rời cuộc họp lúc 07:42"), those that have not joined, those with poor media (the loss and jitter), those
nothing can tell about, then the connected ones (good media, or media unknown: never shown as good). After the
meeting, the page shows its record. Server-rendered, no script, every user value escaped (as the board).
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from monitor.i18n import LOCALES, local_text
from monitor.i18n import Locale as Lang
from monitor.readiness.attendance_texts import STATES, describe
from monitor.readiness.meetings import get_meeting
from monitor.readiness.watch import WatchSnapshot
from monitor.web.api_attendance import attendance_of
from monitor.web.board import CSS, HEADERS, refresh_seconds

if TYPE_CHECKING:
    from monitor.web.view import ServiceView

REFRESH_DEFAULT = 15

TEXTS: dict[Lang, dict[str, str]] = {
    "vi": {
        "title": "Theo dõi cuộc họp",
        "back": "Về bảng sẵn sàng",
        "switch": "English",
        "running": "đang diễn ra",
        "ended": "đã kết thúc; biên bản tham dự",
        "none": "Cuộc họp chưa có dữ liệu tham dự.",
        "summary": "{connected}/{total} điểm cầu đang kết nối · {missing} vắng · {poor} hình/tiếng kém",
        "updated": "Cập nhật lúc {time} · tự làm mới sau {seconds} giây",
        "state_left": "Rời cuộc họp",
        "state_missing": "Chưa vào",
        "state_poor": "Hình và tiếng kém",
        "state_unknown": "Không rõ",
        "state_connected": "Đang kết nối",
    },
    "en": {
        "title": "Meeting in progress",
        "back": "Back to the readiness board",
        "switch": "Tiếng Việt",
        "running": "in progress",
        "ended": "ended; attendance record",
        "none": "The meeting has no attendance data yet.",
        "summary": "{connected}/{total} sites connected · {missing} missing · {poor} with poor media",
        "updated": "Updated at {time} · reloads in {seconds} s",
        "state_left": "Left the meeting",
        "state_missing": "Not joined",
        "state_poor": "Poor picture and sound",
        "state_unknown": "Unknown",
        "state_connected": "Connected",
    },
}
CSS_OF = {"left": "NOT_READY", "missing": "NOT_READY", "poor": "DEGRADED", "unknown": "PENDING", "connected": "READY"}
SYMBOL = {"left": "✗", "missing": "✗", "poor": "!", "unknown": "?", "connected": "✓"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def live_href(meeting_id: str, lang: Lang) -> str:
    """The page's URL for a meeting, ready for an href attribute (the board links it)."""
    return _e(f"/meetings/{meeting_id}/live?lang={lang}")


def render_live(
    *,
    title: str,
    start: datetime | None,
    running: bool,
    sites: list[tuple[str, str, str]],  # (state, name, sentence)
    organisation: str,
    tz: ZoneInfo,
    lang: Lang,
    now: datetime,
    refresh: int,
    meeting_id: str,
) -> str:
    words = TEXTS[lang]
    other: Lang = "en" if lang == "vi" else "vi"
    counts = {state: sum(1 for s, _, _ in sites if s == state) for state in STATES}
    body: list[str] = []
    if start is None:
        body.append(f'<p class="muted">{_e(words["none"])}</p>')
    else:
        when = f"{local_text(start, tz, lang)} · {words['running'] if running else words['ended']}"
        body.append(f'<p class="when">{_e(when)}</p>')
        summary = words["summary"].format(
            connected=counts["connected"] + counts["poor"],
            total=len(sites),
            missing=counts["left"] + counts["missing"],
            poor=counts["poor"],
        )
        body.append(f'<p class="summary">{_e(summary)}</p>')
        for state in STATES:
            chosen = [(name, sentence) for s, name, sentence in sites if s == state]
            if not chosen:
                continue
            items = "".join(
                f'<li class="site {state}"><span class="badge {CSS_OF[state]}">{SYMBOL[state]}</span> '
                f"<b>{_e(name)}</b>: {_e(sentence)}</li>"
                for name, sentence in chosen
            )
            heading = f"{_e(words['state_' + state])} · {len(chosen)}"
            body.append(f'<section class="card"><h3>{heading}</h3><ul>{items}</ul></section>')
    updated = words["updated"].format(time=f"{now.astimezone(tz):%H:%M:%S}", seconds=refresh)
    return (
        "<!doctype html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="refresh" content="{refresh}">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{_e(words['title'])} · {_e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><div><h1>{_e(title)}</h1><p class="district">{_e(organisation)}</p></div>'
        f'<a href="{live_href(meeting_id, other)}" lang="{other}" hreflang="{other}">{_e(words["switch"])}</a>'
        "</header><main>"
        f'<p><a href="/?lang={lang}">{_e(words["back"])}</a></p>'
        f'<p class="updated">{_e(updated)}</p>'
        f"{''.join(body)}"
        "</main></body></html>\n"
    )


def live_handler(
    service: ServiceView, snapshot: Callable[[], WatchSnapshot], *, clock: Callable[[], float]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def live(request: web.Request) -> web.Response:
        config = service.config
        asked = request.query.get("lang", "")
        lang: Lang = next((known for known in LOCALES if known == asked), config.organisation.locale)
        meeting = await get_meeting(service.storage, request.match_info["id"])
        if meeting is None:
            raise web.HTTPNotFound(text=f"no meeting {request.match_info['id']!r}")
        start, running, records = await attendance_of(service.storage, snapshot(), meeting)
        tz = ZoneInfo(config.organisation.timezone)
        names = {site.id: site.name for site in config.sites}
        sites: list[tuple[str, str, str]] = []
        for record in records:
            state, sentence = describe(record, tz, lang)
            sites.append((state, names.get(str(record["site"]), str(record["site"])), sentence))
        sites.sort(key=lambda s: (STATES.index(s[0]), s[1]))
        query: Any = request.query.get("refresh")
        body = render_live(
            title=meeting.title,
            start=datetime.fromtimestamp(start, UTC) if start is not None else None,
            running=running,
            sites=sites,
            organisation=config.organisation.name,
            tz=tz,
            lang=lang,
            now=datetime.fromtimestamp(clock(), UTC),
            refresh=refresh_seconds(query) if query is not None else REFRESH_DEFAULT,
            meeting_id=meeting.id,
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=HEADERS)

    return live
