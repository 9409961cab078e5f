"""The one recurrence module: RRULE in a series' own zone, EXDATE, UNTIL forms, window edges, the walk's limit,
and the check that refuses, cheaply, a rule that repeats too often or cannot be expanded (issue 13)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from monitor import recurrence
from monitor.recurrence import (
    InvalidRule,
    NoOccurrence,
    OutOfRange,
    RecurrenceError,
    Series,
    TooFrequent,
    TooManyOccurrences,
    UnknownZone,
    check,
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
        pytest.param(Series(hcm(12, 7), 60, "UTC", "FREQ=HOURLY"), (hcm(12, 7), hcm(12, 12)), 100, None,
                     id="hourly-for-five-days"),
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


def series(rule: str, start: datetime | None = None, zone_name: str = "Asia/Ho_Chi_Minh") -> Series:
    return Series(start or hcm(12, 7, 7, 30), 3600, zone_name, rule)


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        pytest.param("FREQ=SECONDLY", TooFrequent, "repeats every 1 s", id="secondly"),
        pytest.param("FREQ=MINUTELY;INTERVAL=5", TooFrequent, "repeats every 5 min", id="every-five-minutes"),
        pytest.param("FREQ=HOURLY;BYMINUTE=0,30", TooFrequent, "repeats every 30 min", id="hourly-twice"),
        pytest.param("FREQ=DAILY;BYHOUR=7;BYMINUTE=0,1", TooFrequent, "repeats every 1 min", id="daily-a-minute-apart"),
        pytest.param("FREQ=WEEKLY;BYDAY=MO;BYSECOND=0,30", TooFrequent, "repeats every 30 s", id="weekly-bysecond"),
        pytest.param("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", NoOccurrence, "never occurs", id="30-february"),
        pytest.param("FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31", NoOccurrence, "never occurs", id="31-april-hourly"),
        # From a Monday every 7 days is always a Monday: a Tuesday never comes.
        pytest.param("FREQ=DAILY;INTERVAL=7;BYDAY=TU", NoOccurrence, "never occurs", id="interval-misses-the-day"),
        pytest.param("FREQ=DAILY;UNTIL=20261201", NoOccurrence, "never occurs", id="until-before-start"),
        pytest.param("FREQ=DAILY;COUNT=0", NoOccurrence, "never occurs", id="count-zero"),
        pytest.param("DTSTART:19000101T000000\nRRULE:FREQ=DAILY", InvalidRule, "one RRULE", id="own-dtstart"),
        pytest.param("DTSTART:19000101T000000 RRULE:FREQ=DAILY", InvalidRule, "unknown parameter", id="dtstart-inline"),
        pytest.param("FREQ=DAILY;BYEASTER=1000", InvalidRule, "unknown parameter 'BYEASTER'", id="byeaster"),
        pytest.param("FREQ=DAILY;INTERVAL=0", InvalidRule, "INTERVAL must be at least 1", id="interval-zero"),
        pytest.param("FREQ=DAILY;INTERVAL=999999999", InvalidRule, "more than 100 years", id="interval-huge"),
        pytest.param("FREQ=HOURLY;BYHOUR=99", InvalidRule, "BYHOUR values are 0 to 23", id="byhour-99"),
        pytest.param("FREQ=DAILY;BYHOUR=\u0663", InvalidRule, "invalid 'BYHOUR'", id="arabic-digit"),
        pytest.param("FREQ=DAILY;COUNT=2;COUNT=3", InvalidRule, "COUNT given twice", id="twice"),
        pytest.param("FREQ=DAILY;" + "BYHOUR=7;" * 100, InvalidRule, "longer than 500 characters", id="too-long"),
    ],
)  # fmt: skip
def test_check_refuses(rule: str, error: type[RecurrenceError], message: str) -> None:
    """Each rule is refused with the reason that says what to change, fast: never a walk to year 9999."""
    began = time.perf_counter()
    with pytest.raises(error, match=message):
        check(series(rule))
    assert time.perf_counter() - began < 2.0  # the bounded walk of a rule that never occurs: ~0.3 s at worst


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=MO", "FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=60", "FREQ=DAILY;BYHOUR=7,8",
        # 00:30 and 23:30: an hour apart across midnight, no closer
        "FREQ=DAILY;BYHOUR=0,23;BYMINUTE=30",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",  # a Monday 29 February: first in 2044
        "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261221T050000", "freq=weekly;byday=mo",
        "FREQ=YEARLY;UNTIL=99991231",
    ],
)  # fmt: skip
def test_check_accepts(rule: str) -> None:
    """Briefings and windows as people write them pass, DST zones and far UNTILs included."""
    check(series(rule))
    check(series(rule, datetime(2026, 3, 23, 7, 30, tzinfo=PARIS), "Europe/Paris"))


def test_check_minimum_is_a_parameter() -> None:
    """The minimum interval is the caller's: 0 turns the spacing check off (the walk's limit still holds)."""
    with pytest.raises(TooFrequent, match="at most once every 2 h"):
        check(series("FREQ=HOURLY"), min_interval=7200)
    check(series("FREQ=MINUTELY"), min_interval=0)
    with pytest.raises(TooManyOccurrences):
        occurrences(series("FREQ=MINUTELY"), hcm(12, 7), hcm(12, 8), limit=100, min_interval=0)


def test_occurrences_refuse_a_too_frequent_rule_without_walking() -> None:
    """A stored FREQ=SECONDLY row (31 M occurrences a year) is refused before any walk, and on every call."""
    secondly = series("FREQ=SECONDLY")
    for _ in range(3):
        began = time.perf_counter()
        with pytest.raises(TooFrequent) as caught:
            occurrences(secondly, hcm(12, 7), hcm(12, 7) + timedelta(days=366))
        assert time.perf_counter() - began < 0.05
    with pytest.raises(TooFrequent) as again:
        is_inside(secondly, hcm(12, 8))
    assert again.value is not caught.value  # made afresh: a cached exception would grow its traceback


def test_out_of_range_start() -> None:
    """A start in year 0001 or 9999 is refused by name, never converted (its UTC form leaves datetime)."""
    with pytest.raises(OutOfRange, match="start 0001-01-01 is outside the years 1970 to 2100"):
        recurrence.check_moment(datetime(1, 1, 1))
    with pytest.raises(OutOfRange, match="exdate 9999-12-31"):
        recurrence.check_moment(datetime(9999, 12, 31, tzinfo=UTC), "exdate")
    with pytest.raises(OutOfRange):
        check(Series(datetime(1960, 1, 1, tzinfo=UTC), 60, "UTC", "FREQ=DAILY"))


@pytest.mark.parametrize(
    "rule",
    ["FREQ=WEEKLY;BYDAY=MO", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "FREQ=MONTHLY;BYDAY=-1FR",
     "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20301231",
     "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"],
)  # fmt: skip
def test_moved_rule_finds_the_same_occurrences(rule: str) -> None:
    """The check's walk runs 400·k years later, where dateutil stops at year 9999: the calendar repeats every 400
    years, so the moved rule must find the very occurrences of the real one, k·400 years on."""
    start = hcm(12, 7, 7, 30)
    real = parse_rrule(rule, start)
    moved = recurrence._moved(recurrence._body(rule), start)
    years = next(iter(moved)).year - next(iter(real)).year
    assert years > 7000 and years % 400 == 0
    assert [d.replace(year=d.year + years) for d in islice(real, 12)] == list(islice(moved, 12))
