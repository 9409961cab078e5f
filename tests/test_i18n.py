"""The shared words and formats (monitor/i18n.py): verdicts, weekdays, dates, durations, numbers in both locales."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from monitor.i18n import (
    LOCALES,
    UNITS,
    VERDICTS,
    WEEKDAYS,
    Locale,
    local_text,
    number,
    span,
    verdict_both,
    verdict_text,
)

pytestmark = pytest.mark.timeout(10)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_every_word_exists_in_every_locale_in_nfc() -> None:
    """A word missing in one locale would fail in front of a reader; Vietnamese must compare equal in NFC."""
    assert get_args(Locale) == LOCALES
    tables: list[Mapping[Locale, object]] = [*VERDICTS.values(), WEEKDAYS, UNITS]
    for table in tables:
        assert set(table) == set(LOCALES), table
    words = [word for verdict in VERDICTS.values() for word in verdict.values()]
    words += [day for days in WEEKDAYS.values() for day in days]
    words += [form for units in UNITS.values() for forms in units.values() for form in forms]
    for word in words:
        assert unicodedata.is_normalized("NFC", word), word
    assert set(VERDICTS) == {"READY", "DEGRADED", "NOT_READY", "UNKNOWN"}  # UNKNOWN: joined reports only
    assert all(len(days) == 7 for days in WEEKDAYS.values())


@pytest.mark.parametrize(
    ("verdict", "locale", "expected"),
    [
        ("READY", "vi", "Sẵn sàng"),
        ("DEGRADED", "vi", "Suy giảm"),
        ("NOT_READY", "vi", "Chưa sẵn sàng"),
        ("NOT_READY", "en", "Not ready"),
        ("SOMETHING_NEW", "vi", "SOMETHING_NEW"),
    ],
    ids=["ready-vi", "degraded-vi", "not-ready-vi", "not-ready-en", "unknown-shows-its-code"],
)
def test_verdict_text(verdict: str, locale: Locale, expected: str) -> None:
    """The board, the CLI and the alerts name a verdict with the same word; an unknown one does not crash them."""
    assert verdict_text(verdict, locale) == expected


def test_verdict_both_puts_vietnamese_first() -> None:
    """Bilingual labels (dashboards, the demo) read Vietnamese first, then English."""
    assert verdict_both("NOT_READY") == "Chưa sẵn sàng / Not ready"
    assert verdict_both("?") == "?"


@pytest.mark.parametrize(
    ("moment", "locale", "expected"),
    [
        (datetime(2026, 12, 7, 0, 30, tzinfo=UTC), "vi", "Thứ Hai 07/12/2026 07:30"),
        (datetime(2026, 12, 2, 0, 30, tzinfo=UTC), "en", "Wednesday 02/12/2026 07:30"),
        (datetime(2026, 12, 12, 17, 0, tzinfo=UTC), "vi", "Chủ Nhật 13/12/2026 00:00"),
    ],
    ids=["monday-vi", "wednesday-en", "after-midnight-is-the-next-day-locally"],
)
def test_local_text(moment: datetime, locale: Locale, expected: str) -> None:
    """Times show in district time, weekday first and day before month, as a Vietnamese reader writes them."""
    assert local_text(moment, HCM, locale) == expected


@pytest.mark.parametrize(
    ("seconds", "locale", "round_up", "expected"),
    [
        (0, "vi", False, "0 giây"),
        (45, "vi", False, "45 giây"),
        (100, "vi", False, "1 phút"),
        (1860, "vi", False, "31 phút"),
        (3900, "vi", False, "1 giờ 5 phút"),
        (7200, "vi", False, "2 giờ"),
        (timedelta(days=3, hours=4, minutes=5).total_seconds(), "vi", False, "3 ngày 4 giờ"),
        (61, "en", False, "1 minute"),
        (3900, "en", False, "1 hour 5 minutes"),
        (90000, "en", False, "1 day 1 hour"),
        (30, "vi", True, "1 phút"),
        (1741, "vi", True, "30 phút"),
        (-5, "vi", True, "0 phút"),
        (-5, "en", False, "0 seconds"),
    ],
    ids=[
        "zero",
        "seconds-under-a-minute",
        "seconds-dropped-after-a-minute",
        "minutes",
        "hours-and-minutes",
        "zero-minutes-not-said",
        "days-and-hours",
        "singular-en",
        "plural-en",
        "day-en",
        "countdown-rounds-up",
        "countdown-rounds-up-to-the-minute",
        "countdown-past",
        "negative-is-zero",
    ],
)
def test_span(seconds: float, locale: Locale, round_up: bool, expected: str) -> None:
    """A duration in words: two units at most, seconds only under a minute, countdowns never say 0 too early."""
    assert span(seconds, locale, round_up=round_up) == expected


@pytest.mark.parametrize(
    ("value", "locale", "digits", "expected"),
    [
        (5.0, "vi", 1, "5"),
        (2.46, "vi", 2, "2,46"),
        (2.46, "en", 2, "2.46"),
        (1.72, "vi", 1, "1,7"),
        (1200.5, "vi", 1, "1200,5"),
    ],
    ids=["trailing-zeros-dropped", "decimal-comma-vi", "decimal-point-en", "rounded-to-digits", "no-grouping"],
)
def test_number(value: float, locale: Locale, digits: int, expected: str) -> None:
    """Vietnamese decimals use a comma (1,7 Mbit/s); trailing zeros are dropped."""
    assert number(value, locale, digits) == expected
