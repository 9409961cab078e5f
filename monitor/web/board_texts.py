"""Every word of the readiness board (GET /), in Vietnamese and English.

Verdict names, weekdays, durations and number formatting come from monitor/i18n.py, an alert's state and
severity from alerts/texts.py, so the board, the CLI and the alerts say the same thing. Templates use
``str.format`` fields; the board escapes the *values* it fills in.
"""

from __future__ import annotations

from alerts.texts import WORDS
from monitor.i18n import Locale


def _alert_words(lang: Locale) -> dict[str, str]:
    """'Đang báo', 'Nghiêm trọng'...: the alert lists' words, capitalised as the board's labels are."""
    words = WORDS[lang]
    keys = {"firing": "alert_firing", "pending": "alert_pending"}
    keys |= {level: f"level_{level}" for level in ("critical", "warning", "info")}
    return {key: words[word][:1].upper() + words[word][1:] for key, word in keys.items()}


TEXTS: dict[Locale, dict[str, str]] = {
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
        "since": "từ {time}",
        "acked": "đã nhận bởi {who}",
        "suppressed": "gộp vào {parent}",
        "maintenance": "đang bảo trì",
        "more_alerts": "… và {n} cảnh báo khác (xem /api/v1/alerts).",
        "unknown": "—",
        **_alert_words("vi"),
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
        "since": "since {time}",
        "acked": "acknowledged by {who}",
        "suppressed": "folded into {parent}",
        "maintenance": "under maintenance",
        "more_alerts": "… and {n} more (see /api/v1/alerts).",
        "unknown": "—",
        **_alert_words("en"),
    },
}


def text(lang: Locale, key: str, **fields: object) -> str:
    """The board's sentence ``key`` in ``lang`` with ``fields`` filled in (values are escaped by the caller)."""
    template = TEXTS[lang][key]
    return template.format(**fields) if fields else template
