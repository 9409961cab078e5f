"""The one recurrence module: RRULE in a series' own zone, EXDATE, UNTIL forms, window edges and the walk's limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.recurrence import (
    InvalidRule,
    Series,
    TooManyOccurrences,
    UnknownZone,
    is_inside,
    occurrences,
    parse_rrule,
    zone,
)

pytestmark = pytest.mark.timeout(30)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7 all year: no DST
PARIS = ZoneInfo("Europe/Paris")  # CET → CEST on 29 March 2026


def hcm(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


def monday(rrule: str | None = "FREQ=WEEKLY;BYDAY=MO", exdates: tuple[datetime, ...] = ()) -> Series:
    """The Monday briefing: 07:30–09:30 Hà Nội time from 7 December 2026."""
    return Series(hcm(12, 7, 7, 30).astimezone(UTC), 7200, "Asia/Ho_Chi_Minh", rrule, exdates)


DECEMBER = (hcm(12, 1), hcm(12, 31, 23, 59))


@pytest.mark.parametrize(
    ("series", "window", "local_starts"),
    [
        pytest.param(monday(), DECEMBER,
                     [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30), hcm(12, 21, 7, 30), hcm(12, 28, 7, 30)],
                     id="weekly-in-a-dst-free-zone"),
        pytest.param(monday("RRULE:FREQ=WEEKLY;BYDAY=MO"), DECEMBER,
                     [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30), hcm(12, 21, 7, 30), hcm(12, 28, 7, 30)],
                     id="rrule-prefix"),
        pytest.param(monday(exdates=(hcm(12, 21, 7, 30).astimezone(UTC),)), DECEMBER,
                     [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30), hcm(12, 28, 7, 30)], id="exdate-skipped"),
        # 05:00 local on the 21st is 22:00 UTC on the 20th: read as UTC it would keep the 21st.
        pytest.param(monday("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261221T050000"), DECEMBER,
                     [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30)], id="until-local"),
        pytest.param(monday("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261214"), DECEMBER,
                     [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30)], id="until-date-only-ends-that-local-day"),
        # 00:30Z is the 21st's start exactly; read as local 00:30 it would end on the 20th.
        pytest.param(monday("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261221T003000Z"), DECEMBER,
                     [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30), hcm(12, 21, 7, 30)], id="until-utc"),
        pytest.param(monday("FREQ=WEEKLY;COUNT=2"), DECEMBER, [hcm(12, 7, 7, 30), hcm(12, 14, 7, 30)], id="count"),
        pytest.param(monday(), (hcm(11, 1), hcm(12, 7, 7, 30)), [], id="window-before-the-first-start"),
        pytest.param(monday(), (hcm(12, 7, 8, 30), hcm(12, 7, 8, 31)), [hcm(12, 7, 7, 30)], id="running-at-after"),
        pytest.param(monday(), (hcm(12, 7, 9, 30), hcm(12, 14, 7, 30)), [], id="ended-at-after-starts-at-before"),
        pytest.param(monday(), (hcm(12, 14, 7, 30), hcm(12, 14, 7, 31)), [hcm(12, 14, 7, 30)],
                     id="starts-at-after"),
        pytest.param(monday(None), DECEMBER, [hcm(12, 7, 7, 30)], id="one-off"),
        pytest.param(monday(None), (hcm(12, 7, 9, 30), hcm(12, 8)), [], id="one-off-over"),
    ],
)  # fmt: skip
def test_occurrences(series: Series, window: tuple[datetime, datetime], local_starts: list[datetime]) -> None:
    """Each form of rule and each edge of the window [after, before) gives exactly the occurrences it should."""
    starts = occurrences(series, *window)
    assert starts == local_starts
    assert all(s.tzinfo is UTC for s in starts)


def test_wall_clock_kept_across_dst() -> None:
    """In a zone with DST a 07:30 series stays at 07:30 local, so its UTC time moves by an hour."""
    weekly = Series(datetime(2026, 3, 23, 7, 30, tzinfo=PARIS), 3600, "Europe/Paris", "FREQ=WEEKLY;COUNT=3")
    starts = occurrences(weekly, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert [s.hour for s in starts] == [6, 5, 5]


def test_same_instant_in_two_zones_is_two_series() -> None:
    """The parse cache must not hand a Paris series the rule of a UTC one that starts at the same instant."""
    first = datetime(2026, 3, 27, 6, 30, tzinfo=UTC)  # 07:30 in Paris (CET)
    window = (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    in_utc = occurrences(Series(first, 60, "UTC", "FREQ=DAILY"), *window)
    in_paris = occurrences(Series(first, 60, "Europe/Paris", "FREQ=DAILY"), *window)
    assert [s.hour for s in in_utc] == [6, 6, 6, 6]
    assert [s.hour for s in in_paris] == [6, 6, 5, 5]


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        pytest.param(hcm(12, 7, 7, 29), False, id="before-the-first"),
        pytest.param(hcm(12, 7, 7, 30), True, id="start-included"),
        pytest.param(hcm(12, 7, 9, 29), True, id="during"),
        pytest.param(hcm(12, 7, 9, 30), False, id="end-excluded"),
        pytest.param(hcm(12, 14, 8), True, id="a-later-occurrence"),
        pytest.param(hcm(12, 21, 8), False, id="an-excluded-occurrence"),
        pytest.param(hcm(12, 16, 8), False, id="between-occurrences"),
    ],
)
def test_is_inside(at: datetime, inside: bool) -> None:
    """An instant is inside an occurrence from its start (included) to its end (excluded), EXDATEs aside."""
    assert is_inside(monday(exdates=(hcm(12, 21, 7, 30),)), at) is inside


@pytest.mark.parametrize(
    ("series", "window", "limit", "found"),
    [
        pytest.param(Series(hcm(12, 7), 60, "UTC", "FREQ=MINUTELY"), (hcm(12, 7), hcm(12, 8)), 100, None,
                     id="minutely-for-a-day"),
        # 300 daily occurrences walked before the window reaches December: they count.
        pytest.param(Series(hcm(1, 1), 60, "UTC", "FREQ=DAILY"), (hcm(12, 7), hcm(12, 8)), 300, None,
                     id="walked-before-the-window"),
        pytest.param(Series(hcm(1, 1), 60, "UTC", "FREQ=DAILY"), (hcm(12, 7), hcm(12, 8)), 400, 1,
                     id="same-walk-under-the-limit"),
        pytest.param(Series(hcm(12, 7), 60, "UTC", "FREQ=DAILY;COUNT=5"), DECEMBER, 5, 5,
                     id="limit-reached-not-exceeded"),
        pytest.param(Series(hcm(12, 7), 60, "UTC", "FREQ=DAILY;COUNT=6"), DECEMBER, 5, None, id="one-over-the-limit"),
    ],
)  # fmt: skip
def test_limit(series: Series, window: tuple[datetime, datetime], limit: int, found: int | None) -> None:
    """An expansion stops with TooManyOccurrences once it has walked more than ``limit`` occurrences."""
    if found is None:
        with pytest.raises(TooManyOccurrences, match=f"more than {limit} times") as caught:
            occurrences(series, *window, limit=limit)
        assert caught.value.limit == limit
        with pytest.raises(TooManyOccurrences):
            is_inside(series, window[1] - timedelta(seconds=30), limit=limit)
    else:
        assert len(occurrences(series, *window, limit=limit)) == found


def test_default_limit_allows_years_of_an_hourly_window() -> None:
    """A maintenance window every hour, two years old, still answers with the default limit."""
    hourly = Series(hcm(1, 1, year=2025), 600, "Asia/Ho_Chi_Minh", "FREQ=HOURLY")
    assert is_inside(hourly, hcm(12, 7, 10, 5)) and not is_inside(hourly, hcm(12, 7, 10, 15))


@pytest.mark.parametrize("name", ["Asia/Hanoi_X", "America", "", "/etc/localtime"], ids=str)
def test_unknown_zone(name: str) -> None:
    """A misspelt zone, a folder of the database or an empty name is a ValueError that names a real zone."""
    with pytest.raises(UnknownZone) as caught:
        zone(name)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"unknown time zone {name!r}; use an IANA name such as Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    ("text", "reason", "message"),
    [
        pytest.param("FREQ=FORTNIGHTLY", "invalid 'FREQ': FORTNIGHTLY",
                     "rrule 'FREQ=FORTNIGHTLY' is not a valid RFC 5545 RRULE (invalid 'FREQ': FORTNIGHTLY); "
                     "e.g. FREQ=WEEKLY;BYDAY=SU", id="bad-freq"),
        pytest.param("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", None,
                     "rrule must be one RRULE such as FREQ=WEEKLY;BYDAY=SU", id="two-rules"),
    ],
)  # fmt: skip
def test_invalid_rule(text: str, reason: str | None, message: str) -> None:
    """A rule dateutil refuses, or several rules, is InvalidRule: a reason for callers, a message saying what to do."""
    with pytest.raises(InvalidRule) as caught:
        parse_rrule(text, hcm(12, 7, 7, 30))
    assert (caught.value.reason, str(caught.value)) == (reason, message)
