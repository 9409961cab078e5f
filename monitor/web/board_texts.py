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
        "live": "Theo dõi trong cuộc họp: ai đã vào, ai vắng, chất lượng hình và tiếng",
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
        # Province scale and giaoban's own set-up (issue 14).
        "filter_label": "Tìm điểm cầu",
        "filter_placeholder": "Tên hoặc mã điểm cầu",
        "filter_button": "Lọc",
        "filter_clear": "Bỏ lọc",
        "filter_active": "Đang lọc «{query}»: {n} điểm cầu khớp.",
        "filter_none": "Không có điểm cầu nào khớp «{query}».",
        "setup_title": "giaoban chưa đo được {count} mục kiểm tra {kind}: cần sửa cài đặt của giaoban",
        "setup_what": (
            "Lỗi nằm ở máy chạy giaoban, không phải ở {sites} điểm cầu liên quan: không báo cho kỹ thuật viên "
            "nào, chỉ báo quản trị viên một lần."
        ),
        "setup_fix": "Cách sửa:",
        "unchecked_group": "{n} điểm cầu chưa đo được đường truyền (lỗi cài đặt của giaoban, không phải của điểm cầu)",
        "unchecked_note": "Đường truyền chưa đo được: lỗi cài đặt của giaoban (xem đầu trang).",
        "ready_group": "{n} điểm cầu sẵn sàng",
        "unknown_group": "{n} điểm cầu chưa rõ: chưa có máy giám sát nào báo cáo",
        "province": "Tỉnh, thành phố",
        "province_counts": (
            "{ready}/{total} sẵn sàng · {degraded} suy giảm · {not_ready} chưa sẵn sàng · {unknown} chưa rõ"
        ),
        "more_sites": "… và {n} điểm cầu khác (lọc theo tên để xem)",
        "more_reasons": "Thêm {n} vấn đề khác",
        "link_unchecked": "Chưa đo được",
        "links_rest": "Các đường truyền còn lại · {n}",
        "links_all": "Tất cả đường truyền · {n}",
        "alerts_pending": "{n} cảnh báo đang theo dõi (chưa đủ thời gian để gửi đi)",
    },
    "en": {
        "title": "Briefing readiness",
        "updated": "Updated at {time} · refreshes every {seconds} s",
        "switch": "Tiếng Việt",
        "meetings": "Upcoming meetings",
        "no_meetings": "No meeting in the next {days} days.",
        "starts_in": "starts in {duration}",
        "running": "in progress",
        "live": "Follow the meeting: who joined, who is missing, picture and sound quality",
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
        # Province scale and giaoban's own set-up (issue 14).
        "filter_label": "Find a site",
        "filter_placeholder": "Site name or id",
        "filter_button": "Filter",
        "filter_clear": "Clear",
        "filter_active": "Filtered by «{query}»: {n} sites match.",
        "filter_none": "No site matches «{query}».",
        "setup_title": "giaoban cannot measure {count} {kind} checks: its set-up needs a change",
        "setup_what": (
            "The fault is on giaoban's host, not at the {sites} sites concerned: no technician is alerted, the "
            "admins are told once."
        ),
        "setup_fix": "To fix:",
        "unchecked_group": "{n} sites whose link giaoban cannot measure (giaoban's set-up, not the sites')",
        "unchecked_note": "Link not measured: giaoban's set-up (see the top of the page).",
        "ready_group": "{n} sites ready",
        "unknown_group": "{n} sites unknown: no monitoring agent has reported on them",
        "province": "Province",
        "province_counts": "{ready}/{total} ready · {degraded} degraded · {not_ready} not ready · {unknown} unknown",
        "more_sites": "… and {n} more sites (filter by name to see them)",
        "more_reasons": "{n} more to fix",
        "link_unchecked": "Not measurable",
        "links_rest": "The other links · {n}",
        "links_all": "Every link · {n}",
        "alerts_pending": "{n} pending alerts (not long enough yet to be sent)",
    },
}


def text(lang: Locale, key: str, **fields: object) -> str:
    """The board's sentence ``key`` in ``lang`` with ``fields`` filled in (values are escaped by the caller)."""
    template = TEXTS[lang][key]
    return template.format(**fields) if fields else template
