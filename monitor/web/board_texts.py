"""Every word of the readiness board (GET /), in Vietnamese and English.

The verdict names and number formatting come from monitor/readiness/texts.py so the board, the CLI and the
alerts say the same thing. Templates use ``str.format`` fields; the board escapes the *values* it fills in.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

WEEKDAYS: dict[Lang, tuple[str, ...]] = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

TEXTS: dict[Lang, dict[str, str]] = {
    "vi": {
        "title": "Sẵn sàng giao ban",
        "updated": "Cập nhật lúc {time} · tự làm mới sau {seconds} giây",
        "switch": "English",
        "meetings": "Cuộc họp sắp tới",
        "no_meetings": "Không có cuộc họp nào trong {days} ngày tới.",
        "starts_in": "bắt đầu sau {duration}",
        "running": "đang diễn ra",
        "ready_count": "{ready}/{total} điểm cầu sẵn sàng",
        "all_ready": "Tất cả {total} điểm cầu đã sẵn sàng",
        "checked": "Kiểm tra lúc {time} (trước giờ họp {lead})",
        "checked_late": "Kiểm tra lúc {time}",
        "not_checked": "Chưa kiểm tra",
        "first_check": "Lần kiểm tra đầu tiên lúc {time}.",
        "first_check_now": "Lần kiểm tra đầu tiên sẽ chạy ngay.",
        "participants": "{n} điểm cầu tham gia.",
        "action": "Cần làm:",
        "ready_sites": "Đã sẵn sàng",
        "links": "Đường truyền",
        "links_up": "{up}/{total} đường truyền hoạt động",
        "no_links": "Danh mục chưa có đường truyền nào.",
        "site": "Điểm cầu",
        "state": "Trạng thái",
        "loss": "Mất gói",
        "rtt": "Độ trễ",
        "jitter": "Jitter",
        "mos": "MOS",
        "link_up": "Hoạt động",
        "link_down": "Mất kết nối",
        "link_poor": "Chất lượng kém",
        "link_pending": "Chưa đo",
        "alerts": "Cảnh báo đang mở",
        "no_alerts": "Không có cảnh báo nào.",
        "firing": "Đang báo",
        "pending": "Chờ xác nhận",
        "since": "từ {time}",
        "acked": "đã nhận bởi {who}",
        "suppressed": "gộp vào {parent}",
        "maintenance": "đang bảo trì",
        "more_alerts": "… và {n} cảnh báo khác (xem /api/v1/alerts).",
        "critical": "Nghiêm trọng",
        "warning": "Cảnh báo",
        "info": "Thông tin",
        "minutes": "{n} phút",
        "hours": "{h} giờ {m} phút",
        "days": "{d} ngày {h} giờ",
        "unknown": "—",
    },
    "en": {
        "title": "Briefing readiness",
        "updated": "Updated at {time} · refreshes every {seconds} s",
        "switch": "Tiếng Việt",
        "meetings": "Upcoming meetings",
        "no_meetings": "No meeting in the next {days} days.",
        "starts_in": "starts in {duration}",
        "running": "in progress",
        "ready_count": "{ready}/{total} sites ready",
        "all_ready": "All {total} sites are ready",
        "checked": "Checked at {time} ({lead} before the start)",
        "checked_late": "Checked at {time}",
        "not_checked": "Not checked yet",
        "first_check": "The first check is at {time}.",
        "first_check_now": "The first check runs now.",
        "participants": "{n} sites take part.",
        "action": "To do:",
        "ready_sites": "Ready",
        "links": "Links",
        "links_up": "{up}/{total} links up",
        "no_links": "The inventory has no links.",
        "site": "Site",
        "state": "State",
        "loss": "Loss",
        "rtt": "RTT",
        "jitter": "Jitter",
        "mos": "MOS",
        "link_up": "Up",
        "link_down": "Down",
        "link_poor": "Poor quality",
        "link_pending": "Not measured yet",
        "alerts": "Open alerts",
        "no_alerts": "No open alerts.",
        "firing": "Firing",
        "pending": "Pending",
        "since": "since {time}",
        "acked": "acknowledged by {who}",
        "suppressed": "folded into {parent}",
        "maintenance": "under maintenance",
        "more_alerts": "… and {n} more (see /api/v1/alerts).",
        "critical": "Critical",
        "warning": "Warning",
        "info": "Info",
        "minutes": "{n} min",
        "hours": "{h} h {m} min",
        "days": "{d} d {h} h",
        "unknown": "—",
    },
}


def text(lang: Lang, key: str, **fields: object) -> str:
    """The board's sentence ``key`` in ``lang`` with ``fields`` filled in (values are escaped by the caller)."""
    template = TEXTS[lang][key]
    return template.format(**fields) if fields else template


def span_text(seconds: float, lang: Lang) -> str:
    """'25 phút', '2 giờ 5 phút', '3 ngày 4 giờ': how long until a start, rounded up to the minute."""
    minutes = max(int(-(-seconds // 60)), 0)
    if minutes < 60:
        return text(lang, "minutes", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return text(lang, "hours", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return text(lang, "days", d=days, h=hours)
