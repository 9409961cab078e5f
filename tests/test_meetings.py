"""The briefing schedule on SQLite and PostgreSQL: add/list/remove, recurrence, .ics import, static meetings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.readiness.ics import IcsError, import_ics
from monitor.readiness.meetings import (
    Meeting,
    MeetingError,
    add_meeting,
    all_meetings,
    get_meeting,
    list_upcoming,
    occurrences,
    remove_meeting,
    sync_config_meetings,
)
from monitor.storage.database import Storage
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CONFIG: Config = load_config_text(
    """\
district: {name: "Huyện Định Hoá", timezone: Asia/Ho_Chi_Minh}
sites:
  - {id: hub, name: "UBND huyện", role: district}
  - {id: tan-thinh, name: "Xã Tân Thịnh", parent: hub}
  - {id: bao-linh, name: "Xã Bảo Linh", parent: hub}
""",
    "test.yml",
)

WEEKLY_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//UBND huyen//Lich giao ban//VI\r
BEGIN:VEVENT\r
UID:giao-ban-thu-hai@dinhhoa.example\r
SUMMARY:Giao ban tr\xe1\xbb\xb1c tuy\xe1\xba\xbfn th\xe1\xbb\xa9 Hai\r
DTSTART;TZID=Asia/Ho_Chi_Minh:20261207T073000\r
DTEND;TZID=Asia/Ho_Chi_Minh:20261207T093000\r
RRULE:FREQ=WEEKLY;BYDAY=MO\r
EXDATE;TZID=Asia/Ho_Chi_Minh:20261228T073000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:hop-dot-xuat-1@dinhhoa.example\r
SUMMARY:H\xe1\xbb\x8dp \xc4\x91\xe1\xbb\x99t xu\xe1\xba\xa5t\r
DTSTART:20261210T020000Z\r
DURATION:PT1H30M\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def opened(url: str) -> Storage:
    storage = await Storage.open(url)
    await storage.sync_inventory(CONFIG)
    return storage


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


def test_weekly_rule_with_exdate_gives_mondays_at_0730_local() -> None:
    """A weekly Monday 07:30 briefing repeats at 07:30 Hà Nội time and skips the excluded date."""
    meeting = Meeting(
        id="gb",
        title="Giao ban",
        start=local(2026, 12, 7, 7, 30).astimezone(UTC),
        duration=7200,
        timezone="Asia/Ho_Chi_Minh",
        sites="all",
        call_rate=2_048_000,
        rrule="FREQ=WEEKLY;BYDAY=MO",
        exdates=(local(2026, 12, 21, 7, 30).astimezone(UTC),),
    )
    starts = occurrences(meeting, local(2026, 12, 1), local(2027, 1, 1))
    assert [s.astimezone(HCM) for s in starts] == [local(2026, 12, 7, 7, 30), local(2026, 12, 14, 7, 30),
                                                   local(2026, 12, 28, 7, 30)]  # fmt: skip
    assert all(s.tzinfo == UTC for s in starts)
    assert starts[0] == datetime(2026, 12, 7, 0, 30, tzinfo=UTC)


def test_recurrence_keeps_wall_clock_across_dst() -> None:
    """In a zone with DST the briefing stays at 07:30 local: the UTC time moves by an hour instead."""
    paris = ZoneInfo("Europe/Paris")
    meeting = Meeting(
        id="gb", title="Réunion", start=datetime(2026, 3, 23, 7, 30, tzinfo=paris).astimezone(UTC), duration=3600,
        timezone="Europe/Paris", sites="all", call_rate=1, rrule="FREQ=WEEKLY;COUNT=3",
    )  # fmt: skip
    starts = occurrences(meeting, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert [s.astimezone(paris).hour for s in starts] == [7, 7, 7]
    assert [s.hour for s in starts] == [6, 5, 5]  # CET (+1) then CEST (+2) from 29 March


def test_running_occurrence_is_listed() -> None:
    """A briefing that started 10 minutes ago is still 'upcoming' for readiness until it ends."""
    meeting = Meeting(
        id="gb", title="x", start=datetime(2026, 12, 7, 0, 30, tzinfo=UTC), duration=7200, timezone="UTC",
        sites="all", call_rate=1,
    )  # fmt: skip
    assert occurrences(meeting, datetime(2026, 12, 7, 0, 40, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))
    assert not occurrences(meeting, datetime(2026, 12, 7, 2, 31, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))


async def test_add_list_remove_survive_restart(database_url: str) -> None:
    """A naive start is district time, stored in UTC; meetings survive a restart; remove deletes one."""
    storage = await opened(database_url)
    added = await add_meeting(
        storage, CONFIG, title="Giao ban thứ Hai", start="2026-12-07T07:30", duration="2h",
        sites="hub,tan-thinh", call_rate="2048kbit", lead_times=["60m", "10m"], rrule="FREQ=WEEKLY;BYDAY=MO",
    )  # fmt: skip
    one_off = await add_meeting(storage, CONFIG, title="Họp đột xuất", start=datetime(2026, 12, 9, 14, 0))
    await storage.close()

    storage = await Storage.open(database_url)
    try:
        again = await get_meeting(storage, added.id)
        assert again == added
        assert again.start == datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
        assert again.sites == ("hub", "tan-thinh")
        assert again.lead_times == (3600.0, 600.0)
        assert again.call_rate == 2_048_000
        upcoming = await list_upcoming(storage, now=local(2026, 12, 6), horizon=timedelta(days=9))
        assert [(o.meeting.id, o.start.astimezone(HCM)) for o in upcoming] == [
            (added.id, local(2026, 12, 7, 7, 30)),
            (one_off.id, local(2026, 12, 9, 14, 0)),
            (added.id, local(2026, 12, 14, 7, 30)),
        ]
        assert await remove_meeting(storage, one_off.id) is True
        assert await remove_meeting(storage, one_off.id) is False
        assert [m.id for m in await all_meetings(storage)] == [added.id]
    finally:
        await storage.close()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"start": "next monday"}, "start"),
        ({"duration": "forever"}, "duration"),
        ({"duration": "0s"}, "duration"),
        ({"sites": "hub,xa-khong-co"}, "sites"),
        ({"sites": []}, "sites"),
        ({"call_rate": "fast"}, "call_rate"),
        ({"lead_times": ["-5m"]}, "lead_times"),
        ({"rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
    ids=[
        "blank-title",
        "bad-start",
        "bad-duration",
        "zero-duration",
        "unknown-site",
        "no-sites",
        "bad-rate",
        "negative-lead",
        "bad-rrule",
        "bad-zone",
    ],
)
async def test_add_rejects_bad_input_naming_the_field(database_url: str, fields: dict[str, object], field: str) -> None:
    """Each bad input is refused with the field named (the API answers 400 with it) and nothing is stored."""
    storage = await opened(database_url)
    try:
        base: dict[str, object] = {"title": "Giao ban", "start": "2026-12-07T07:30"}
        with pytest.raises(MeetingError) as info:
            await add_meeting(storage, CONFIG, **{**base, **fields})
        assert info.value.field == field
        assert await all_meetings(storage) == []
    finally:
        await storage.close()


DECEMBER = {"start": datetime(2026, 12, 1, tzinfo=HCM), "end": datetime(2027, 1, 10, tzinfo=HCM)}


async def test_ics_import_is_idempotent_and_updates_by_uid(database_url: str, tmp_path: Path) -> None:
    """Re-importing never duplicates; a changed event updates the same meetings, keeping their sites."""
    storage = await opened(database_url)
    try:
        path = tmp_path / "lich.ics"
        path.write_bytes(WEEKLY_ICS)
        first = await import_ics(storage, CONFIG, path, sites=["hub", "bao-linh"], **DECEMBER)
        assert (len(first.added), first.updated, first.unchanged, first.occurrences) == (5, [], [], 5)
        second = await import_ics(storage, CONFIG, path, **DECEMBER)
        assert (second.added, second.updated, len(second.unchanged)) == ([], [], 5)
        assert len(await all_meetings(storage)) == 5

        upcoming = await list_upcoming(storage, now=local(2026, 12, 1), horizon=timedelta(days=35))
        weekly = [o.start.astimezone(HCM) for o in upcoming if o.meeting.uid.startswith("giao-ban-thu-hai")]
        assert weekly == [local(2026, 12, d, 7, 30) for d in (7, 14, 21)] + [local(2027, 1, 4, 7, 30)]
        one_off = next(o for o in upcoming if o.meeting.uid == "hop-dot-xuat-1@dinhhoa.example")
        assert one_off.start == datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
        assert one_off.end - one_off.start == timedelta(minutes=90)
        assert one_off.meeting.title == "Họp đột xuất"

        moved = WEEKLY_ICS.replace(b"T073000", b"T080000").replace(b"T093000", b"T100000")
        third = await import_ics(storage, CONFIG, moved, **DECEMBER)
        assert (third.added, len(third.updated), third.removed) == ([], 4, [])  # each Monday keeps its meeting
        mondays = [m for m in await all_meetings(storage) if m.uid and m.uid.startswith("giao-ban-thu-hai")]
        assert [m.start.astimezone(HCM).hour for m in mondays] == [8] * 4
        assert {m.sites for m in mondays} == {("hub", "bao-linh")}  # not in iCalendar: kept from the first import
    finally:
        await storage.close()


async def test_ics_moved_instance_and_cancellation(database_url: str) -> None:
    """A RECURRENCE-ID override moves one Monday and keeps its meeting; STATUS:CANCELLED removes the event."""
    override = b"""BEGIN:VEVENT\r
UID:giao-ban-thu-hai@dinhhoa.example\r
RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:20261214T073000\r
SUMMARY:Giao ban (doi gio)\r
DTSTART;TZID=Asia/Ho_Chi_Minh:20261215T140000\r
DURATION:PT2H\r
END:VEVENT\r
END:VCALENDAR\r
"""
    storage = await opened(database_url)
    try:
        await import_ics(storage, CONFIG, WEEKLY_ICS, **DECEMBER)
        before = {m.start.astimezone(HCM): m.id for m in await all_meetings(storage)}
        result = await import_ics(storage, CONFIG, WEEKLY_ICS.replace(b"END:VCALENDAR\r\n", override), **DECEMBER)
        assert (result.added, len(result.updated), result.removed) == ([], 1, [])
        upcoming = await list_upcoming(storage, now=local(2026, 12, 1), horizon=timedelta(days=20))
        assert [o.start.astimezone(HCM) for o in upcoming] == [
            local(2026, 12, 7, 7, 30), local(2026, 12, 10, 9, 0), local(2026, 12, 15, 14, 0)
        ]  # fmt: skip
        assert upcoming[2].meeting.id == before[local(2026, 12, 14, 7, 30)]  # its readiness history goes on
        cancelled = WEEKLY_ICS.replace(b"DURATION:PT1H30M\r\n", b"DURATION:PT1H30M\r\nSTATUS:CANCELLED\r\n")
        result = await import_ics(storage, CONFIG, cancelled, **DECEMBER)
        assert result.removed == [before[local(2026, 12, 10, 9, 0)]]
        assert result.skipped_by_reason() == {"cancelled": 1}
        assert len(await all_meetings(storage)) == 4  # the Mondays, the override undone by the file without it
    finally:
        await storage.close()


async def test_ics_import_replaces_a_stored_series(database_url: str) -> None:
    """A series stored by an earlier version (RRULE in the row) becomes its occurrences, keeping its sites."""
    storage = await opened(database_url)
    try:
        await add_meeting(
            storage, CONFIG, title="Giao ban", start=local(2026, 12, 7, 7, 30), rrule="FREQ=WEEKLY;BYDAY=MO",
            sites="tan-thinh", source="ics", uid="giao-ban-thu-hai@dinhhoa.example",
        )  # fmt: skip
        result = await import_ics(storage, CONFIG, WEEKLY_ICS, **DECEMBER)
        assert (len(result.added), len(result.removed)) == (5, 1)
        stored = await all_meetings(storage)
        assert all(m.rrule is None for m in stored)
        assert {m.sites for m in stored if m.uid and m.uid.startswith("giao-ban")} == {("tan-thinh",)}
    finally:
        await storage.close()


async def test_ics_import_leaves_past_meetings(database_url: str) -> None:
    """Occurrences that are over stay when a later import no longer has them, as their readiness reports do."""
    storage = await opened(database_url)
    try:
        await import_ics(storage, CONFIG, WEEKLY_ICS, **DECEMBER)
        later = {"start": datetime(2026, 12, 16, tzinfo=HCM), "end": datetime(2027, 1, 10, tzinfo=HCM)}
        shortened = WEEKLY_ICS.replace(b"BYDAY=MO", b"BYDAY=MO;UNTIL=20261221T000000Z")
        result = await import_ics(storage, CONFIG, shortened, **later)
        assert len(result.removed) == 2  # 21 December and 4 January; 7 and 14 December are over
        starts = sorted(m.start.astimezone(HCM) for m in await all_meetings(storage) if m.uid.startswith("giao"))
        assert starts == [local(2026, 12, 7, 7, 30), local(2026, 12, 14, 7, 30)]
    finally:
        await storage.close()


async def test_ics_import_of_a_long_uid_is_idempotent(database_url: str) -> None:
    """A UID longer than the column (some exporters write 300 characters) still updates, never duplicates."""
    long_uid = b"giao-ban-thu-hai-" + b"x" * 300 + b"@dinhhoa.example"
    data = WEEKLY_ICS.replace(b"giao-ban-thu-hai@dinhhoa.example", long_uid)
    storage = await opened(database_url)
    try:
        first = await import_ics(storage, CONFIG, data, **DECEMBER)
        second = await import_ics(storage, CONFIG, data, **DECEMBER)
        assert (len(first.added), second.added, len(second.unchanged)) == (5, [], 5)
        assert len(await all_meetings(storage)) == 5
    finally:
        await storage.close()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not a calendar", "not an iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no VEVENT"),
        (WEEKLY_ICS.replace(b"20261207T093000", b"20261207T060000"), "ends before it starts"),
        (WEEKLY_ICS.replace(b"BYDAY=MO", b"BYDAY=XX"), "RRULE"),
        (WEEKLY_ICS.replace(b"DTSTART:20261210T020000Z", b"DTSTART:2026-12-10"), "DTSTART"),
    ],
    ids=["garbage", "empty", "negative", "bad-rrule", "bad-dtstart"],
)
async def test_malformed_ics_is_refused_whole(database_url: str, data: bytes, message: str) -> None:
    """A malformed file names what is wrong and changes nothing, even where other events were fine."""
    storage = await opened(database_url)
    try:
        with pytest.raises(IcsError, match=message):
            await import_ics(storage, CONFIG, data, **DECEMBER)
        assert await all_meetings(storage) == []
    finally:
        await storage.close()


async def test_missing_ics_file() -> None:
    """A path that cannot be read says so, with the path."""
    with pytest.raises(IcsError, match=r"nope\.ics: cannot read"):
        await import_ics(Storage.__new__(Storage), CONFIG, "/nonexistent/nope.ics")


@dataclass(frozen=True)
class Static:
    id: str
    title: str
    start: datetime
    duration: float = 7200
    timezone: str | None = None
    rrule: str | None = "FREQ=WEEKLY;BYDAY=MO"
    exdates: list[datetime] = field(default_factory=list)
    sites: str | list[str] = "all"
    call_rate: int = 2_048_000
    lead_times: list[float] | None = None


async def test_static_meetings_follow_the_config(database_url: str) -> None:
    """Config meetings are replaced on each sync; meetings added by hand are never touched."""
    storage = await opened(database_url)
    try:
        manual = await add_meeting(storage, CONFIG, title="Họp tay", start="2026-12-09T14:00")
        monday = Static("giao-ban-thu-hai", "Giao ban thứ Hai", datetime(2026, 12, 7, 7, 30))
        friday = Static("giao-ban-thu-sau", "Giao ban thứ Sáu", datetime(2026, 12, 11, 7, 30), rrule="FREQ=WEEKLY")
        await sync_config_meetings(storage, CONFIG, [monday, friday])
        await sync_config_meetings(storage, CONFIG, [monday, friday])
        assert sorted(m.id for m in await all_meetings(storage)) == sorted([manual.id, monday.id, friday.id])
        await sync_config_meetings(storage, CONFIG, [Static(monday.id, "Giao ban sáng thứ Hai", monday.start)])
        by_id = {m.id: m for m in await all_meetings(storage)}
        assert set(by_id) == {manual.id, monday.id}
        assert by_id[monday.id].title == "Giao ban sáng thứ Hai"
        assert by_id[monday.id].source == "config"
        with pytest.raises(MeetingError, match="already used"):
            await sync_config_meetings(storage, CONFIG, [Static(manual.id, "x", monday.start)])
    finally:
        await storage.close()
