"""The words and formats every locale-dependent text shares: verdicts, weekdays, dates, durations, numbers.

    verdict_text("NOT_READY", "vi")           "Chưa sẵn sàng"
    verdict_both("READY")                     "Sẵn sàng / Ready"   (bilingual labels: dashboards, the demo)
    local_text(moment, tz, "vi")              "Thứ Tư 02/12/2026 07:30"   ("Wednesday 02/12/2026 07:30" in en)
    span(3900, "vi")                          "1 giờ 5 phút"   ("1 hour 5 minutes" in en)
    number(1.75, "vi")                        "1,8"   (a decimal comma, as Vietnamese readers write numbers)

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
}

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
