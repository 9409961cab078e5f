"""The words and formats every locale-dependent text shares: verdicts, weekdays, dates, durations, numbers.

    verdict_text("NOT_READY", "vi")           "Chưa sẵn sàng"
    verdict_both("READY")                     "Sẵn sàng / Ready"   (bilingual labels: dashboards, the demo)
    local_text(moment, tz, "vi")              "Thứ Tư 02/12/2026 07:30"   ("Wednesday 02/12/2026 07:30" in en)
    span(3900, "vi")                          "1 giờ 5 phút"   ("1 hour 5 minutes" in en)
    number(1.75, "vi")                        "1,8"   (a decimal comma, as Vietnamese readers write numbers)
    fault_text("timeout", "no result within 3s", "vi")
        'không có kết quả trong thời gian chờ (chi tiết kỹ thuật: "no result within 3s")'

A probe's ``detail`` is English by design (logs, the API): a Vietnamese text names the fault in its own
words from the reason code and quotes the detail after a label, so nobody mistakes it for our sentence.

The sentences themselves stay with their users (monitor/readiness/texts.py, alerts/texts.py,
monitor/web/board_texts.py, the CLI); this module sits at the floor with monitor.errors, so each may use it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Locale = Literal["vi", "en"]
LOCALES: tuple[Locale, ...] = ("vi", "en")

# verdict → locale → word; the verdicts of monitor/readiness/checks.py.
VERDICTS: dict[str, dict[Locale, str]] = {
    "READY": {"vi": "Sẵn sàng", "en": "Ready"},
    "DEGRADED": {"vi": "Suy giảm", "en": "Degraded"},
    "NOT_READY": {"vi": "Chưa sẵn sàng", "en": "Not ready"},
    "UNKNOWN": {"vi": "Chưa rõ", "en": "Unknown"},  # no agent reported on the site (joined reports, issue 17)
}

# Probe reason code (probes.core.result.Reason) → our words for it; a test checks every code has them.
FAULTS: dict[str, dict[Locale, str]] = {
    "ok": {"vi": "bình thường", "en": "ok"},
    "timeout": {"vi": "không có kết quả trong thời gian chờ", "en": "no result in time"},
    "resolve_failed": {"vi": "không phân giải được tên máy", "en": "the name does not resolve"},
    "ipv6_unavailable": {"vi": "máy chạy giaoban không dùng được IPv6", "en": "IPv6 is not available here"},
    "unreachable": {"vi": "không có đường tới địa chỉ này", "en": "no route to the address"},
    "connection_refused": {"vi": "kết nối bị từ chối", "en": "connection refused"},
    "connection_reset": {"vi": "kết nối bị ngắt giữa chừng", "en": "connection reset"},
    "no_reply": {"vi": "không có gói trả lời nào", "en": "no reply"},
    "partial_loss": {"vi": "mất một phần gói tin", "en": "some packets lost"},
    "permission_denied": {"vi": "giaoban không có quyền thực hiện phép đo này", "en": "permission denied"},
    "tls_cert_expired": {"vi": "chứng chỉ TLS đã hết hạn", "en": "the TLS certificate has expired"},
    "tls_cert_untrusted": {"vi": "chứng chỉ TLS không được tin cậy", "en": "the TLS certificate is not trusted"},
    "tls_hostname_mismatch": {
        "vi": "chứng chỉ TLS không khớp với tên máy",
        "en": "the TLS certificate does not match the host name",
    },
    "tls_error": {"vi": "lỗi kết nối TLS", "en": "TLS error"},
    "expect_mismatch": {"vi": "câu trả lời không như mong đợi", "en": "unexpected answer"},
    "bad_status": {"vi": "mã trạng thái HTTP không như mong đợi", "en": "unexpected HTTP status"},
    "body_mismatch": {"vi": "nội dung trả về không như mong đợi", "en": "unexpected content"},
    "regex_timeout": {
        "vi": "mẫu kiểm tra nội dung (biểu thức chính quy) chạy quá lâu",
        "en": "the content pattern (regular expression) took too long",
    },
    "json_mismatch": {"vi": "dữ liệu JSON trả về không như mong đợi", "en": "unexpected JSON"},
    "body_too_large": {"vi": "nội dung trả về quá lớn", "en": "the answer is too large"},
    "too_many_redirects": {"vi": "chuyển hướng quá nhiều lần", "en": "too many redirects"},
    "protocol_error": {"vi": "trả lời sai giao thức", "en": "protocol error"},
    "bad_target": {"vi": "địa chỉ trong cấu hình không dùng được", "en": "the configured address is not usable"},
    "config_error": {"vi": "cấu hình phép đo không dùng được", "en": "the probe settings are not usable"},
    "auth_failed": {"vi": "sai tên đăng nhập hoặc mật khẩu", "en": "wrong user name or password"},
    "endpoint_busy": {"vi": "thiết bị đang bận trong cuộc gọi khác", "en": "busy in another call"},
    "not_registered": {"vi": "chưa đăng ký với tổng đài", "en": "not registered"},
    "not_ready": {"vi": "thiết bị tự báo có lỗi", "en": "the device reports a problem"},
    "peripheral_missing": {"vi": "thiếu camera hoặc micro", "en": "a camera or microphone is missing"},
    "network_fault": {
        "vi": "thiết bị báo lỗi kết nối mạng của nó",
        "en": "the device reports a fault on its network link",
    },
    "overheating": {
        "vi": "thiết bị báo quá nhiệt hoặc hỏng quạt",
        "en": "the device reports overheating or a fan fault",
    },
    "microphone_muted": {"vi": "micro đang tắt tiếng", "en": "microphones muted"},
    "internal_error": {"vi": "lỗi bên trong giaoban", "en": "internal error in giaoban"},
}
# The label before a quoted technical detail in a Vietnamese text (tests/test_vi_texts.py looks for it).
DETAIL_LABEL: dict[Locale, str] = {"vi": 'chi tiết kỹ thuật: "{detail}"', "en": "{detail}"}
UNKNOWN: dict[Locale, str] = {"vi": "không rõ", "en": "unknown"}

# Monday first, as datetime.weekday() counts.
WEEKDAYS: dict[Locale, tuple[str, ...]] = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

# unit → (singular, plural); Vietnamese nouns do not inflect.
UNITS: dict[Locale, dict[str, tuple[str, str]]] = {
    "vi": {"day": ("ngày", "ngày"), "hour": ("giờ", "giờ"), "minute": ("phút", "phút"), "second": ("giây", "giây")},
    "en": {
        "day": ("day", "days"),
        "hour": ("hour", "hours"),
        "minute": ("minute", "minutes"),
        "second": ("second", "seconds"),
    },
}


def verdict_text(verdict: str, locale: Locale) -> str:
    """The verdict's word in ``locale``; an unknown verdict shows as its code rather than breaking a message."""
    words = VERDICTS.get(verdict)
    return words[locale] if words else verdict


def verdict_both(verdict: str) -> str:
    """'Sẵn sàng / Ready': the Vietnamese word first, for labels read by both; an unknown verdict as its code."""
    words = VERDICTS.get(verdict)
    return " / ".join(words[locale] for locale in LOCALES) if words else verdict


def fault_text(fault: object, detail: object, locale: Locale) -> str:
    """What went wrong, for a sentence: our words for ``fault`` (a reason code) and the probe's ``detail``.

    Vietnamese: 'kết nối bị từ chối (chi tiết kỹ thuật: "…")'; English keeps the probe's own words, which
    say more than the code. Either part may be missing (a stored reason of an older version has no code).
    """
    words = FAULTS.get(str(fault), {}).get(locale) if fault else None
    shown = str(detail).strip().rstrip(". ") if detail not in (None, "") else ""
    if locale == "en":
        return shown or words or UNKNOWN[locale]
    quoted = DETAIL_LABEL[locale].format(detail=shown) if shown else ""
    if words and quoted:
        return f"{words} ({quoted})"
    return words or quoted or UNKNOWN[locale]


def local_text(moment: datetime, tz: ZoneInfo, locale: Locale) -> str:
    """'Thứ Hai 07/12/2026 07:30' or 'Monday 07/12/2026 07:30' in ``tz``: day before month, as Vietnam writes it."""
    local = moment.astimezone(tz)
    return f"{WEEKDAYS[locale][local.weekday()]} {local:%d/%m/%Y %H:%M}"


def _amount(count: int, unit: str, locale: Locale) -> str:
    singular, plural = UNITS[locale][unit]
    return f"{count} {singular if count == 1 else plural}"


def span(seconds: float, locale: Locale, *, round_up: bool = False) -> str:
    """'3 ngày 4 giờ', '1 giờ 5 phút', '25 phút', '40 giây': the largest unit and the next one unless it is zero.

    Seconds show only under a minute. ``round_up`` counts whole minutes, rounded up, for a countdown: a
    meeting 30 s away "starts in 1 minute", never in 0.
    """
    total = max(0, math.ceil(seconds / 60) * 60 if round_up else round(seconds))
    amounts = [("day", total // 86400), ("hour", total % 86400 // 3600), ("minute", total % 3600 // 60)]
    first = next((i for i, (_, count) in enumerate(amounts) if count), None)
    if first is None:
        return _amount(0, "minute", locale) if round_up else _amount(total, "second", locale)
    shown = [amounts[first]]
    if first + 1 < len(amounts) and amounts[first + 1][1]:
        shown.append(amounts[first + 1])
    return " ".join(_amount(count, unit, locale) for unit, count in shown)


def number(value: float, locale: Locale, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals (trailing zeros dropped); a decimal comma in Vietnamese."""
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if locale == "vi" else text
