"""The readiness board (GET /) of the real service: verdicts, reasons, languages, links, alerts, escaping, headers.

The service's wall clock (board, readiness checks, alerts) is a ManualClock at 07:00 in Hà Nội today, behind the
real time its probes stamp, so every time on the page is known; only the probing of loopback links is waited for.
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from alerts.model import alert_id
from alerts.store import SqlAlertStore
from monitor.app.service import Service
from monitor.config.loader import load_config_text
from monitor.engine.setup import setup_faults
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.i18n import WEEKDAYS
from monitor.readiness.checks import SiteReadiness
from monitor.readiness.events import ReasonText
from monitor.readiness.meetings import Occurrence, build_meeting, save_meeting
from monitor.readiness.report import ReadinessReport
from monitor.web.api_readiness import next_occurrence
from monitor.web.board import BoardData, LinkView, MeetingView, refresh_seconds, render
from monitor.web.board_filter import folded, matches
from monitor.web.board_texts import TEXTS
from probes.core.result import ProbeResult, Reason
from tests.clock import ManualClock, wait_until
from tests.notifier_samples import link_down_record
from tests.peers import free_port
from tests.service_harness import loopback_config, running_service

pytestmark = pytest.mark.timeout(90)

XSS_SITE = "<script>alert(1)</script>"
XSS_TITLE = "Giao ban sáng <img src=x onerror=alert(2)>"
READINESS = "readiness: {lead_times: [60m], icmp_count: 3, tick: 1s}\n"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def board_config(port: int, closed_port: int, *, token_env: str | None = None) -> str:
    """The loopback inventory plus a commune whose codec port is closed and one with a hostile name."""
    extra_sites = f"""\
  - id: lang-dong
    name: "Xã Lạng Động"
    parent: hub
    endpoints:
      - {{id: lang-dong-codec, kind: tcp, address: 127.0.0.1, port: {closed_port}}}
  - id: xss
    name: "{XSS_SITE}"
    parent: hub
    link: {{address: 127.0.0.3}}
"""
    return loopback_config(port, extra=extra_sites + READINESS, token_env=token_env)


@dataclass
class Board:
    service: Service
    base: str
    clock: ManualClock


@pytest.fixture
async def board(tmp_path: Path) -> AsyncIterator[Board]:
    port = free_port()
    config = tmp_path / "giaoban.yml"
    config.write_text(board_config(port, free_port()), encoding="utf-8")  # nothing listens on the second port
    # 00:00 UTC today: never ahead of the probes' real timestamps, so no result looks stale to the alert engine.
    clock = ManualClock(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    async with running_service(config, clock=clock.wall) as service:
        yield Board(service, f"http://127.0.0.1:{port}", clock)


async def _get(base: str, query: str = "") -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/{query}") as response:
        return response.status, dict(response.headers), await response.text()


async def _checked_meeting(board: Board, *, title: str, minutes: int) -> ReadinessReport:
    service, now = board.service, board.clock.now()
    meeting = build_meeting(service.config, title=title, start=now + timedelta(minutes=minutes), duration="1h")
    await save_meeting(service.storage, meeting)
    occurrence = next_occurrence(meeting, now)
    assert occurrence is not None
    return await service.readiness.check_meeting(occurrence)


async def _links_measured(service: Service) -> None:
    """The service's scheduler pings the loopback links on real time: wait for its first round of each."""
    keys = ("hub/link", "tan-thinh/link", "xss/link")
    await wait_until(
        lambda: all((entry := service.state.get(key)) is not None and entry.latest is not None for key in keys),
        timeout=10,
        what="the scheduler to probe every link",
    )


def _text(page: str) -> str:
    """What a reader sees: the page without its <style> and tags, entities decoded, whitespace collapsed."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_board_shows_verdicts_and_reasons_in_vietnamese(board: Board) -> None:
    """The chair's question answered: who is not ready for the meeting, why, and what to do — in Vietnamese."""
    report = await _checked_meeting(board, title="Giao ban sáng thứ Hai", minutes=30)
    verdicts = {s.site_id: s for s in report.sites}
    assert verdicts["lang-dong"].verdict == "NOT_READY" and verdicts["hub"].verdict == "READY", report
    reason = verdicts["lang-dong"].reasons[0]
    await _links_measured(board.service)

    status, headers, page = await _get(board.base)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="vi">' in page
    seen = _text(page)
    assert "Giao ban sáng thứ Hai" in seen
    assert "✗ 3/4 điểm cầu sẵn sàng" in seen  # hub, Tân Thịnh and the hostile-named site are ready
    assert "✗ Chưa sẵn sàng Xã Lạng Động" in seen
    # The ready ones, compact and in inventory order, after the one not ready.
    assert "✓ 3 điểm cầu sẵn sàng ✓ UBND huyện Thử ✓ Xã Tân Thịnh" in seen
    assert seen.index("Xã Lạng Động") < seen.index("3 điểm cầu sẵn sàng")
    assert reason.code == "endpoint_down" and "không trả lời" in reason.message
    assert f"{reason.message} Cần làm: {reason.action}" in seen
    assert "07:30 · bắt đầu sau 30 phút" in seen and "Kiểm tra lúc 07:00 (trước giờ họp 30 phút)" in seen
    assert "Cập nhật lúc 07:00:00" in seen
    # No link to act on: all three in one compact list, each with its RTT.
    assert "3/3 đường truyền hoạt động" in seen and "Tất cả đường truyền · 3 ✓ UBND huyện Thử " in seen
    assert re.search(r"✓ Xã Tân Thịnh [\d,]+ ms", seen), seen
    assert page == unicodedata.normalize("NFC", page)


async def test_board_in_english(board: Board) -> None:
    """?lang=en serves the technicians' English-speaking admins the same board; a link switches back."""
    await _checked_meeting(board, title="Weekly briefing", minutes=30)
    status, _, page = await _get(board.base, "?lang=en")
    assert status == 200 and '<html lang="en">' in page
    seen = _text(page)
    assert "Briefing readiness" in seen and "3/4 sites ready" in seen
    assert "07:30 · starts in 30 minutes" in seen and "Checked at 07:00 (30 minutes before the start)" in seen
    assert "✗ Not ready Xã Lạng Động" in seen and "To do:" in seen
    # Reasons are stored with their values, so they are rendered again in the reader's language.
    assert "does not answer" in seen and "không trả lời" not in seen
    assert "Tiếng Việt" in seen and 'href="?lang=vi&amp;refresh=30"' in page
    assert any(f"{day} " in seen for day in WEEKDAYS["en"])


async def test_hostile_names_render_as_text(board: Board) -> None:
    """A site name or meeting title holding markup is shown literally and never becomes markup."""
    await _checked_meeting(board, title=XSS_TITLE, minutes=45)
    await _links_measured(board.service)
    _, _, page = await _get(board.base)
    assert "<script" not in page and "<img" not in page
    assert html.escape(XSS_SITE) in page and html.escape(XSS_TITLE) in page
    seen = _text(page)
    assert XSS_TITLE in seen
    links = seen[seen.index("Đường truyền") :]
    assert f"✓ {XSS_SITE}" in seen[: seen.index("Đường truyền")]  # in the meeting's ready list
    assert f"✓ {XSS_SITE}" in links  # and among the links


async def test_security_headers(board: Board) -> None:
    """The board runs no script and may not be framed, cached or leak its address in a Referer."""
    _, headers, page = await _get(board.base)
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "<script" not in page and "http://" not in page and "https://" not in page  # nothing from elsewhere


async def test_meeting_not_checked_and_empty_board(board: Board) -> None:
    """Before any meeting the board says so; a meeting days away says when its first check will run."""
    _, _, page = await _get(board.base)
    assert "Không có cuộc họp nào trong 7 ngày tới." in _text(page)

    start = board.clock.now() + timedelta(days=2)  # 07:00 in Hà Nội
    await save_meeting(board.service.storage, build_meeting(board.service.config, title="Họp thứ Tư", start=start))
    _, _, page = await _get(board.base)
    seen = _text(page)
    assert "Họp thứ Tư" in seen and "Chưa kiểm tra" in seen
    # lead_times: [60m], so 06:00; more than a day away, so the time carries its date.
    assert f"Lần kiểm tra đầu tiên lúc 06:00 {start.astimezone(HANOI):%d/%m}. 4 điểm cầu tham gia." in seen


async def test_open_alerts_have_anchors(board: Board) -> None:
    """Alert messages link to /#alert-<id>: the board must carry that anchor, the site's name and the summary."""

    async def hold() -> None:  # the running engine would resolve this made-up alert: its link is fine
        return None

    board.service.alerts.evaluate = hold  # type: ignore[method-assign]
    now = board.clock.wall()  # 07:00 in Hà Nội
    record = link_down_record(
        id=alert_id("link_down", "lang-dong", "link"),
        site="lang-dong",
        labels={},
        summary="Mất kết nối <b>đường truyền</b>",
        started_at=now - 120,
        fired_at=now - 60,
    )
    await SqlAlertStore(board.service.storage).commit([record], [])
    _, _, page = await _get(board.base)
    assert 'id="alert-link_down/lang-dong/link"' in page
    assert "Nghiêm trọng · Xã Lạng Động : Mất kết nối <b>đường truyền</b> Đang báo · từ 06:58" in _text(page)
    assert "<b>đường" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [(None, 30), ("60", 60), ("1", 5), ("999999", 3600), ("abc", 30), ("-3", 5)],
    ids=["default", "given", "too-fast", "too-slow", "not-a-number", "negative"],
)
def test_refresh_is_clamped(query: str | None, expected: int) -> None:
    """A mistyped ?refresh= must neither hammer the service nor freeze a wall display."""
    assert refresh_seconds(query) == expected


async def test_refresh_reaches_the_page(board: Board) -> None:
    """The chosen refresh interval is what the page's meta refresh says, and the language link keeps it."""
    _, _, page = await _get(board.base, "?refresh=1&lang=xx")
    assert '<meta http-equiv="refresh" content="5">' in page and '<html lang="vi">' in page
    assert 'href="?lang=en&amp;refresh=5"' in page


def test_texts_complete_in_both_languages() -> None:
    """Every board sentence exists in both languages, in NFC, with the same fields to fill in."""
    assert TEXTS["vi"].keys() == TEXTS["en"].keys()
    fields = string.Formatter()
    for key, vi in TEXTS["vi"].items():
        en = TEXTS["en"][key]
        assert unicodedata.normalize("NFC", vi) == vi and unicodedata.normalize("NFC", en) == en, key
        assert {f for _, f, _, _ in fields.parse(vi) if f} == {f for _, f, _, _ in fields.parse(en) if f}, key
    assert "Chưa kiểm tra" in TEXTS["vi"].values() and "Mất kết nối" in TEXTS["vi"].values()


def test_render_degraded_down_and_running() -> None:
    """The states loopback cannot produce: a degraded site, a running meeting, a link down and one beyond limits."""
    config = load_config_text(board_config(free_port(), free_port()), "giaoban.yml")
    now = datetime(2026, 12, 7, 0, 40, tzinfo=UTC)  # 07:40 in Hanoi, ten minutes into the briefing
    meeting = build_meeting(config, title="Giao ban thứ Hai", start="2026-12-07T07:30", duration="2h")
    occurrence = Occurrence(meeting, meeting.start, meeting.start + timedelta(hours=2))
    soft = ReasonText("link_loss_elevated", "Mất gói 2% (trên mức tốt 1%).", "Theo dõi đường truyền.", "soft")
    report = ReadinessReport(
        meeting_id=meeting.id,
        title=meeting.title,
        occurrence_start=meeting.start,
        lead_time=600.0,
        checked_at=datetime(2026, 12, 7, 0, 20, tzinfo=UTC),
        sites=(
            SiteReadiness("hub", "READY", (), ()),
            SiteReadiness("tan-thinh", "DEGRADED", (soft,), ("127.0.0.2",)),
        ),
        names={s.id: s.name for s in config.sites},
    )
    sites = {s.id: s for s in config.sites}
    lossy = ProbeResult(True, 0.5, values={"loss_ratio": 0.02, "rtt_median": 0.012, "jitter": 0.001, "mos": 4.3})
    links = [
        LinkView(sites["hub"], ProbeResult(False, 2.0, Reason.NO_REPLY), config.thresholds_for(sites["hub"])),
        LinkView(sites["tan-thinh"], lossy, config.thresholds_for(sites["tan-thinh"])),
        LinkView(sites["xss"], None, config.thresholds_for(sites["xss"])),
    ]
    page = render(BoardData(config, now, [MeetingView(occurrence, report, 2, None)], links, []), lang="vi", refresh=30)
    seen = _text(page)
    assert "Giao ban thứ Hai Thứ Hai 07/12/2026 07:30 · đang diễn ra" in seen
    assert "! 1/2 điểm cầu sẵn sàng Kiểm tra lúc 07:20 (trước giờ họp 10 phút)" in seen
    assert "! Suy giảm Xã Tân Thịnh Mất gói 2% (trên mức tốt 1%). Cần làm: Theo dõi đường truyền." in seen
    assert "1/3 đường truyền hoạt động" in seen
    # Worst first; a value beyond its threshold is flagged with "!" and not only with colour; a link with
    # nothing to act on (not measured yet) in the compact list after them.
    assert seen.index("✗ Mất kết nối") < seen.index("! Chất lượng kém") < seen.index("Chưa đo")
    assert "! Chất lượng kém ! 2 % 12 ms 1 ms 4,3" in seen
    assert f"Các đường truyền còn lại · 1 … {XSS_SITE} Chưa đo" in seen
    assert "Không có cảnh báo nào." in seen


@pytest.mark.parametrize(
    ("first_check", "expected"),
    [
        (timedelta(minutes=-1), "Lần kiểm tra đầu tiên sẽ chạy ngay."),
        (None, "Lần kiểm tra đầu tiên sẽ chạy ngay."),
        (timedelta(minutes=20), "Lần kiểm tra đầu tiên lúc 07:20."),
        (timedelta(days=1, minutes=20), "Lần kiểm tra đầu tiên lúc 07:20 08/12."),
    ],
    ids=["due", "no-lead-time", "later-today", "tomorrow"],
)
def test_render_first_check(first_check: timedelta | None, expected: str) -> None:
    """A meeting not checked yet says when its first check runs: now once due, else at what time (and date)."""
    config = load_config_text(board_config(free_port(), free_port()), "giaoban.yml")
    now = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 07:00 in Hà Nội
    meeting = build_meeting(config, title="Họp", start="2026-12-09T07:30", duration="1h")
    occurrence = Occurrence(meeting, meeting.start, meeting.start + timedelta(hours=1))
    view = MeetingView(occurrence, None, 4, now + first_check if first_check is not None else None)
    seen = _text(render(BoardData(config, now, [view], [], []), lang="vi", refresh=30))
    assert f"Chưa kiểm tra {expected} 4 điểm cầu tham gia." in seen


def test_no_icmp_permission_shows_the_fix_once() -> None:
    """Without ICMP permission every link is unmeasured: the fix (for giaoban's group only) is said once, at the
    top, not on every site; sites whose only finding is that are one compact line, a real fault still shows."""
    config = load_config_text(board_config(free_port(), free_port()), "giaoban.yml")
    state = State()
    info = {"setup": "icmp_permission", "gid": "998", "ping_group_range": "1 0", "covered": "no"}
    detail = "no way to send ICMP echo: unprivileged sockets failed; To fix it, allow ICMP echo sockets ..."
    links = []
    for target in targets_from_config(config):
        state.track(target)
        if target.role == "link":
            state.record(target, ProbeResult.failure(Reason.PERMISSION, detail, duration=0.0, info=info))
    for site in config.sites:
        if site.link is not None:
            entry = state.get(f"{site.id}/link")
            assert entry is not None
            links.append(LinkView(site, entry.latest, config.thresholds_for(site)))
    now = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    meeting = build_meeting(config, title="Giao ban", start="2026-12-07T07:30", duration="1h")
    unchecked = ReasonText(
        "link_unchecked", f"Không đo được đường truyền tới 127.0.0.2: {detail}.", "Báo quản trị.", "soft",
        {"address": "127.0.0.2", "detail": detail},
    )  # fmt: skip
    down = ReasonText("endpoint_down", "Thiết bị hội nghị lang-dong-codec không trả lời.", "Kiểm tra.", "hard")
    report = ReadinessReport(
        meeting_id=meeting.id,
        title=meeting.title,
        occurrence_start=meeting.start,
        lead_time=1800.0,
        checked_at=now,
        sites=(
            SiteReadiness("hub", "DEGRADED", (unchecked,), ("127.0.0.1",)),
            SiteReadiness("tan-thinh", "DEGRADED", (unchecked,), ("127.0.0.2",)),
            SiteReadiness("lang-dong", "NOT_READY", (down,), ("lang-dong-codec",)),
            SiteReadiness("xss", "DEGRADED", (unchecked,), ("127.0.0.3",)),
        ),
        names={s.id: s.name for s in config.sites},
    )
    occurrence = Occurrence(meeting, meeting.start, meeting.start + timedelta(hours=1))
    faults = setup_faults(state)
    assert [(f.kind, f.count, f.sites) for f in faults] == [("icmp", 3, ("hub", "tan-thinh", "xss"))]
    data = BoardData(config, now, [MeetingView(occurrence, report, 4, None)], links, [], faults)
    for lang, fix in [("vi", "Chỉ cấp quyền cho nhóm của giaoban"), ("en", "Allow it for giaoban's group only")]:
        page = render(data, lang=lang, refresh=30)  # type: ignore[arg-type]
        seen = _text(page)
        assert seen.count('ping_group_range="998 998"') == 1 and seen.count(fix) == 1, seen
        assert "AmbientCapabilities=CAP_NET_RAW" in seen and "setcap" not in seen
        assert detail not in seen, "the probe's paragraph is not repeated per site"
        assert seen.index(fix) < seen.index("Giao ban") < seen.index("lang-dong-codec")
    seen = _text(render(data, lang="vi", refresh=30))
    assert "⚠ giaoban chưa đo được 3 mục kiểm tra icmp: cần sửa cài đặt của giaoban" in seen
    assert "? 3 điểm cầu chưa đo được đường truyền (lỗi cài đặt của giaoban, không phải của điểm cầu)" in seen
    assert "✗ Chưa sẵn sàng Xã Lạng Động Thiết bị hội nghị lang-dong-codec không trả lời." in seen
    assert "Mất kết nối" not in seen and "0/3 đường truyền hoạt động" in seen
    assert "? Xã Tân Thịnh Chưa đo được" in seen.split("Đường truyền", 1)[1]  # the link: not measurable, not down


def test_filter_words_ignore_case_and_diacritics() -> None:
    """A phone without a Vietnamese keyboard finds "Xã Lâm Vỹ" as "lam vy"; an id works too; others do not match."""
    assert folded("Xã Đồng Thịnh") == "xa dong thinh"
    assert matches("lam-vy", "Xã Lâm Vỹ", "lam vy") and matches("lam-vy", "Xã Lâm Vỹ", "LÂM")
    assert matches("lam-vy", "Xã Lâm Vỹ", "lam-vy") and matches("lam-vy", "Xã Lâm Vỹ", "")
    assert not matches("lam-vy", "Xã Lâm Vỹ", "lam son") and not matches("dong-thinh", "Xã Đồng Thịnh", "dang")
