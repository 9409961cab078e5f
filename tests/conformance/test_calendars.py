"""Calendars nobody here wrote: the test calendars of icalendar and recurring-ical-events, imported and compared.

Each shipped calendar (tests/conformance/calendars/, origins and licences in SOURCES.md) is imported into a
fresh SQLite database through giaoban's importer, listed over the calendar's own range, and compared with
recurring-ical-events' expansion of the same file (tests/conformance/oracle.py). Each calendar's outcome is
pinned below, so a regression in either direction fails: a refusal, a skip or a difference that appears, or
one that goes away. Then one test per defect of issue 15, each on a real artifact of the suite.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.readiness.ics import IcsError, import_ics
from monitor.readiness.ics_expand import MAX_PER_EVENT
from monitor.readiness.meetings import all_meetings, list_upcoming
from monitor.storage.database import Storage
from tests.conformance.oracle import Outcome, run_calendar

pytestmark = pytest.mark.timeout(120)

CALENDARS = Path(__file__).parent / "calendars"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CONFIG: Config = load_config_text(
    """\
district: {name: "Huyện Định Hoá", timezone: Asia/Ho_Chi_Minh}
sites:
  - {id: hub, name: "UBND huyện", role: district}
""",
    "test.yml",
)

# The first problem of a refused file, by the words that say which kind it is.
REFUSALS = (
    "not an iCalendar file",
    "expected one VCALENDAR object",
    "no VEVENT in the file",
    "ends before it starts",
    "RRULE",
    "cannot be read",
    "RFC 5545 allows one",
    "cannot expand",
)


def outcome_of(outcome: Outcome) -> tuple[str, dict[str, int]]:
    """('match N' | 'differ +A -M' | 'refused: KIND', events skipped by reason)."""
    skipped = outcome.report.skipped_by_reason() if outcome.report else {}
    if outcome.refused is not None:
        kind = next((k for k in REFUSALS if k in outcome.refused), outcome.refused)
        return f"refused: {kind}", skipped
    return outcome.summary(), skipped


# fmt: off
ICALENDAR: dict[str, tuple[str, dict[str, int]]] = {  # icalendar-7.3.2/
    "alarm_etar_future.ics": ("match 1", {}),
    "alarm_etar_notification.ics": ("match 1", {}),
    "alarm_etar_notification_clicked.ics": ("match 1", {}),
    "alarm_google_acknowledged.ics": ("match 1", {}),
    "alarm_google_future.ics": ("match 1", {}),
    "alarm_thunderbird_2_future.ics": ("match 1", {}),
    "alarm_thunderbird_2_notification_5_min_postponed.ics": ("match 1", {}),
    "alarm_thunderbird_2_notification_5_min_postponed_and_closed.ics": ("match 1", {}),
    "alarm_thunderbird_2_notification_5_min_postponed_and_popped_up.ics": ("match 1", {}),
    "alarm_thunderbird_2_notification_popped_up.ics": ("match 1", {}),
    "alarm_thunderbird_closed.ics": ("match 1", {}),
    "alarm_thunderbird_future.ics": ("match 1", {}),
    "alarm_thunderbird_snoozed_until_1457.ics": ("match 1", {}),
    "america_new_york.ics": ("match 1", {}),
    "america_new_york_forward_reference.ics": ("refused: RFC 5545 allows one", {}),
    "big_bad_calendar.ics": ("refused: not an iCalendar file", {}),
    "bom_calendar.ics": ("refused: no VEVENT in the file", {}),
    "broken_dtstart.ics": ("refused: cannot be read", {}),
    "broken_ical.ics": ("match 0", {"no_start": 1}),
    "calendar_with_unicode.ics": ("refused: no VEVENT in the file", {}),
    "created_calendar_with_unicode_fields.ics": ("match 2", {"no_start": 1}),
    "empty.ics": ("refused: no VEVENT in the file", {}),
    "empty_RDATE.ics": ("refused: no VEVENT in the file", {}),
    "example.ics": ("match 0", {"all_day": 3}),
    "fuzz_testcase_0_char_in_component_name.ics": ("refused: not an iCalendar file", {}),
    "fuzz_testcase_invalid_month.ics": ("refused: not an iCalendar file", {}),
    "fuzz_testcase_vtimezone_lone_cr.ics": ("refused: not an iCalendar file", {}),
    "invalid_duration.ics": ("refused: cannot be read", {}),
    "issue_104_broken_calendar.ics": ("refused: not an iCalendar file", {}),
    "issue_1050_all_components.ics": ("match 1", {}),
    "issue_1050_calendar_with_events_and_todos.ics": ("match 2", {}),
    "issue_1050_empty_calendar.ics": ("refused: no VEVENT in the file", {}),
    "issue_1050_forward_timezone_reference.ics": ("match 1", {}),
    "issue_1050_multiple_calendars.ics": ("refused: not an iCalendar file", {}),
    "issue_1050_simple_calendar.ics": ("match 1", {}),
    "issue_1050_timezone_only_calendar.ics": ("refused: no VEVENT in the file", {}),
    "issue_1050_uid_in_description.ics": ("match 0", {"no_start": 2}),
    "issue_1081_empty_rdate.ics": ("match 1", {}),
    "issue_1081_event_with_rrule.ics": ("match 10", {}),
    "issue_1081_freebusy_comma_separated.ics": ("refused: no VEVENT in the file", {}),
    "issue_1081_invalid_rrule_freq.ics": ("refused: RRULE", {}),
    "issue_1081_invalid_start_and_end.ics": ("refused: cannot be read", {}),
    "issue_1081_invalid_start_valid_end.ics": ("refused: cannot be read", {}),
    "issue_1081_list_of_properties.ics": ("match 1", {}),
    "issue_1081_tzid_param.ics": ("match 1", {}),
    "issue_1081_with_summary.ics": ("match 0", {"no_start": 1}),
    "issue_1231_recurrence.ics": ("match 1", {}),
    "issue_1238.ics": ("refused: no VEVENT in the file", {}),
    "issue_127_categories_with_commas.ics": ("match 1", {}),
    "issue_1426.ics": ("match 3", {}),
    "issue_1426_value_parameters.ics": ("match 0", {"all_day": 1}),
    "issue_1549_binary_attachment.ics": ("match 0", {"no_start": 1}),
    "issue_1561_image_value.ics": ("match 0", {"no_start": 4}),
    "issue_156_RDATE_with_PERIOD_TZID_khal.ics": ("match 1", {}),
    "issue_156_RDATE_with_PERIOD_TZID_khal_2.ics": ("match 1", {}),
    "issue_1633_freebusy_with_dates.ics": ("refused: no VEVENT in the file", {}),
    "issue_1633_rdate_with_dates.ics": ("match 2", {}),
    "issue_1633_rdate_with_dates_and_tzid.ics": ("match 2", {}),
    "issue_165_missing_event.ics": ("refused: RRULE", {}),
    "issue_168_expected_output.ics": ("match 1", {}),
    "issue_168_input.ics": ("match 1", {}),
    "issue_178_component_with_invalid_name_represented.ics": ("refused: expected one VCALENDAR object", {}),
    "issue_178_custom_component_contains_other.ics": ("refused: expected one VCALENDAR object", {}),
    "issue_178_custom_component_inside_other.ics": ("refused: no VEVENT in the file", {}),
    "issue_218_bad_tzid.ics": ("match 1", {}),
    "issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics": ("match 1", {}),
    "issue_27_multiple_periods_in_freebusy_multiple_freebusies.ics": ("refused: no VEVENT in the file", {}),
    "issue_27_multiple_periods_in_freebusy_one_freebusy.ics": ("refused: no VEVENT in the file", {}),
    "issue_313_globally_unique_tzid.ics": ("match 3", {}),
    "issue_321_assert_dst_offset_is_not_false.ics": ("match 1", {}),
    "issue_322_expected_calendar.ics": ("match 0", {"no_start": 1}),
    "issue_348_exception_parsing_value.ics": ("match 1", {}),
    "issue_350.ics": ("match 1", {}),
    "issue_351_whitespace_in_property_and_params.ics": ("match 1", {}),
    "issue_466_convert_tzid_with_slash.ics": ("match 52", {}),
    "issue_466_respect_unique_timezone.ics": ("match 52", {}),
    "issue_526_calendar_with_different_events.ics": ("match 2", {}),
    "issue_526_calendar_with_event_subset.ics": ("match 1", {}),
    "issue_526_calendar_with_events.ics": ("match 2", {}),
    "issue_526_calendar_with_shuffeled_events.ics": ("match 2", {}),
    "issue_722_missing_VTIMEZONE_custom.ics": ("match 1", {}),
    "issue_722_missing_timezones.ics": ("match 1", {"no_start": 1}),
    "issue_722_timezone_transition_ambiguity.ics": ("match 4", {}),
    "issue_798_freebusy.ics": ("refused: no VEVENT in the file", {}),
    "issue_798_related_to.ics": ("match 0", {"no_start": 1}),
    "issue_82_expected_output.ics": ("refused: expected one VCALENDAR object", {}),
    "issue_836_do_not_quote_tzid.ics": ("match 1", {}),
    "multiple_calendar_components.ics": ("refused: not an iCalendar file", {}),
    "multiple_timezones.ics": ("refused: cannot expand", {}),
    "pacific_fiji.ics": ("refused: RFC 5545 allows one", {}),
    "parsing_error.ics": ("match 0", {"all_day": 1}),
    "parsing_error_in_UTC_offset.ics": ("refused: not an iCalendar file", {}),
    "period_with_timezone.ics": ("match 9", {}),
    "pr_480_summary_with_colon.ics": ("refused: not an iCalendar file", {}),
    "property_params.ics": ("match 0", {"all_day": 1}),
    "rfc_5545_RDATE_example.ics": ("match 0", {"no_start": 6}),
    "rfc_6868.ics": ("match 0", {"no_start": 1}),
    "rfc_7256_multi_value_parameters.ics": ("match 0", {"no_start": 2}),
    "rfc_7265_appendix_example_1_ical.ics": ("match 0", {"all_day": 1}),
    "rfc_7265_appendix_example_2_ical.ics": ("match 6", {}),
    "rfc_7265_example_1.ics": ("refused: no VEVENT in the file", {}),
    "rfc_7529.ics": ("match 0", {"all_day": 4}),
    "rfc_7953_3.ics": ("refused: no VEVENT in the file", {}),
    "rfc_7986_conferences.ics": ("match 0", {"no_start": 1}),
    "rfc_7986_image.ics": ("match 0", {"no_start": 2}),
    "rfc_7986_properties.ics": ("refused: no VEVENT in the file", {}),
    "rfc_9253_examples.ics": ("match 2", {}),
    "rfc_9253_gap.ics": ("match 0", {"no_start": 2}),
    "rfc_9253_related_to.ics": ("match 0", {"no_start": 1}),
    "small_bad_calendar.ics": ("refused: not an iCalendar file", {}),
    "time.ics": ("refused: no VEVENT in the file", {}),
    "timezone_rdate.ics": ("match 1", {}),
    "timezone_same_start.ics": ("match 1", {}),
    "timezone_same_start_and_offset.ics": ("match 1", {}),
    "timezoned.ics": ("match 1", {}),
    "x_location.ics": ("match 260", {}),
}
RECURRING_ICAL_EVENTS: dict[str, tuple[str, dict[str, int]]] = {  # recurring-ical-events-3.8.2/
    "Germany.ics": ("match 0", {"all_day": 159}),
    "Germany_Holidays.ics": ("match 0", {"all_day": 34}),
    "after_many_events_in_order.ics": ("match 5", {"all_day": 1}),
    "alarm_15_min_before_event_snoozed.ics": ("match 1", {}),
    "alarm_1_week_before_event.ics": ("match 1", {}),
    "alarm_absolute.ics": ("match 1", {}),
    "alarm_absolute_edited.ics": ("match 1", {}),
    "alarm_absolute_repeat.ics": ("match 1", {}),
    "alarm_around_event_boundaries.ics": ("match 1", {}),
    "alarm_at_start_of_event.ics": ("match 1", {}),
    "alarm_of_repeated_event.ics": ("match 6", {}),
    "alarm_recurring_and_acknowledged_at_2024_11_27_16_27.ics": ("match 5", {}),
    "alarm_removed_and_moved.ics": ("match 6", {}),
    "alarm_several_in_one.ics": ("match 1", {}),
    "alarms_at_the_same_time.ics": ("match 3", {}),
    "alarms_different_in_same_event.ics": ("match 3", {}),
    "bad_rrule_missing_until_event.ics": ("refused: RRULE", {}),
    "daylight_saving_time.ics": ("match 485", {"all_day": 3}),
    "discourse_no_dtend.ics": ("match 4", {}),
    "duplicated_rrule.ics": ("match 20", {}),
    "duration.ics": ("match 2", {"all_day": 1}),
    "duration_edited.ics": ("match 3", {}),
    "each_week_but_one_deleted.ics": ("match 7", {}),
    "each_week_but_two_deleted.ics": ("match 6", {}),
    "end_before_start_event.ics": ("refused: ends before it starts", {}),
    "event_10_times.ics": ("match 10", {}),
    "fablab_cottbus.ics": ("match 39", {"all_day": 1}),
    "issue_107_omitting_last_event.ics": ("match 23", {}),
    "issue_113_period_in_rdate.ics": ("match 9", {}),
    "issue_113_period_rdate_duration.ics": ("match 2", {}),
    "issue_117_until_before_dtstart.ics": ("match 0", {"all_day": 1}),
    "issue_128_only_first_event.ics": ("match 0", {"all_day": 1}),
    "issue_132_swapped_start_and_end.ics": ("refused: ends before it starts", {}),
    "issue_148_edge_case_1.ics": ("match 0", {"all_day": 1}),
    "issue_148_edge_case_2.ics": ("match 0", {"all_day": 1}),
    "issue_148_exdate_and_rdate_unedited.ics": ("match 0", {"all_day": 1}),
    "issue_148_exdate_and_rdate_updated.ics": ("match 0", {"all_day": 1}),
    "issue_148_ignored_exdate.ics": ("match 0", {"all_day": 1}),
    "issue_151_macos_linux_difference.ics": ("match 1", {}),
    "issue_151_macos_linux_difference2.ics": ("match 1", {}),
    "issue_15_duplicated_events.ics": ("match 3", {}),
    "issue_163_deleted_modification.ics": ("match 0", {"all_day": 1}),
    "issue_164_duplicated_event.ics": ("match 0", {"all_day": 1}),
    "issue_173_only_modifications_error.ics": ("match 677", {"all_day": 44, "too_long": 1}),
    "issue_179_example.ics": ("match 0", {"all_day": 1}),
    "issue_186_invalid_trigger.ics": ("match 1", {}),
    "issue_18_cancel_status.ics": ("match 2", {"cancelled": 1}),
    "issue_201_mixed_datetime_and_date.ics": ("match 0", {"all_day": 1}),
    "issue_201_test_matrix.ics": ("differ +1 -1", {"all_day": 5}),
    "issue_20_exdate_ignored.ics": ("match 7", {}),
    "issue_223_one_event_with_sequence.ics": ("match 2", {}),
    "issue_223_thunderbird.ics": ("match 5", {}),
    "issue_243_recurrence_id_is_not_identical_to_dtstart.ics": ("match 364", {}),
    "issue_253_additional_recurrence_id.ics": ("match 0", {"all_day": 1}),
    "issue_253_edge_case_1.ics": ("match 0", {"all_day": 1}),
    "issue_253_recurrence_id_included.ics": ("match 0", {"all_day": 1}),
    "issue_27_t1.ics": ("match 2", {}),
    "issue_27_t2.ics": ("match 2", {}),
    "issue_28_rrule_with_UTC_endinginZ.ics": ("match 0", {"all_day": 2}),
    "issue_36_recurrence_ID_format.ics": ("match 52", {"all_day": 1}),
    "issue_4.ics": ("match 0", {"all_day": 1}),
    "issue_44_double_event.ics": ("match 0", {"all_day": 1}),
    "issue_48_daylight_aware_repeats.ics": ("match 52", {}),
    "issue_48_dst.ics": ("match 644", {}),
    "issue_4_rrule_until.ics": ("match 12", {}),
    "issue_4_weidenrinde.ics": ("match 0", {"all_day": 1}),
    "issue_61_time_zone_error.ics": ("match 0", {"all_day": 1}),
    "issue_62_moved_event.ics": ("match 1", {"zero_length": 1}),
    "issue_62_moved_event_2.ics": ("match 3", {"all_day": 1}),
    "issue_75_range_parameter.ics": ("match 183", {}),
    "issue_86_x_wr_timezone_without_time_zone_in_dt.ics": ("match 1", {}),
    "issue_97_simple_journal.ics": ("refused: no VEVENT in the file", {}),
    "issue_97_simple_todo.ics": ("refused: no VEVENT in the file", {}),
    "issue_97_todo_nodtstart.ics": ("refused: no VEVENT in the file", {}),
    "machbar_16_feb_2019.ics": ("match 485", {"all_day": 3}),
    "multiple_rrule.ics": ("match 22", {}),
    "no_events.ics": ("refused: no VEVENT in the file", {}),
    "one_day_event.ics": ("match 0", {"all_day": 1}),
    "one_day_event_repeat_every_day.ics": ("match 0", {"all_day": 1}),
    "one_event.ics": ("match 1", {}),
    "one_event_repeat_every_3_days.ics": ("match 122", {}),
    "rdate.ics": ("match 1188", {}),
    "rdate2.ics": ("match 425", {}),
    "rdate_falls_on_rrule_until.ics": ("match 8", {}),
    "rdate_hackerpublicradio.ics": ("match 12", {}),
    "recurrence_sequence_number.ics": ("match 0", {"all_day": 1}),
    "recurring_events_changed_duration.ics": ("match 6", {"all_day": 1}),
    "recurring_events_moved.ics": ("match 7", {}),
    "same_event_recurring_at_same_time.ics": ("match 6", {}),
    "several_events_at_the_same_time.ics": ("match 10", {}),
    "subcomponents.ics": ("match 1", {}),
    "three_events.ics": ("match 3", {}),
    "three_events_one_edited.ics": ("match 3", {}),
    "x_wr_timezone_simple_events_issue_59.ics": ("match 2", {}),
    "zero_size_event.ics": ("match 1", {}),
}
# fmt: on
EXPECTED = {f"icalendar-7.3.2/{k}": v for k, v in ICALENDAR.items()} | {
    f"recurring-ical-events-3.8.2/{k}": v for k, v in RECURRING_ICAL_EVENTS.items()
}

# Where giaoban and recurring-ical-events read a file differently, and why giaoban's reading stands.
DIFFERENCES = {
    # VEVENT-DATETIME-UTC: a floating DTSTART with a UTC DTEND. recurring-ical-events gives the start the zone of
    # the end; giaoban reads a floating DTSTART in district time, as it promises for every floating time.
    "recurring-ical-events-3.8.2/issue_201_test_matrix.ics",
}


def shipped() -> list[str]:
    return sorted(f"{p.parent.name}/{p.name}" for p in CALENDARS.glob("*/*.ics"))


def test_every_shipped_calendar_is_pinned() -> None:
    """The table covers the suite exactly: a calendar added or removed must be looked at."""
    assert shipped() == sorted(EXPECTED)
    assert {n for n, (result, _) in EXPECTED.items() if result.startswith("differ")} == DIFFERENCES


def test_tallies() -> None:
    """The figures README.md and SOURCES.md give, from the pinned table."""
    results = Counter(r.split(" ")[0].rstrip(":") for r, _ in EXPECTED.values())
    refused = Counter(r.removeprefix("refused: ") for r, _ in EXPECTED.values() if r.startswith("refused"))
    skipped: Counter[str] = Counter()
    for _, reasons in EXPECTED.values():
        skipped.update(reasons)
    occurrences = sum(int(r.split(" ")[1]) for r, _ in EXPECTED.values() if r.startswith("match"))
    assert len(EXPECTED) == 211
    assert results == {"match": 164, "differ": 1, "refused": 46}
    assert occurrences == 5418
    assert sum(1 for r, _ in EXPECTED.values() if r.startswith("match") and r != "match 0") == 120
    assert dict(refused) == {
        "no VEVENT in the file": 21, "not an iCalendar file": 10, "cannot be read": 4, "RRULE": 3,
        "expected one VCALENDAR object": 3, "RFC 5545 allows one": 2, "ends before it starts": 2, "cannot expand": 1,
    }  # fmt: skip
    assert dict(skipped) == {"all_day": 288, "no_start": 28, "too_long": 1, "cancelled": 1, "zero_length": 1}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_calendar(name: str, tmp_path: Path) -> None:
    """giaoban's stored occurrences against recurring-ical-events' expansion of the same shipped file."""
    outcome = await run_calendar((CALENDARS / name).read_bytes(), CONFIG, tmp_path)
    assert outcome_of(outcome) == EXPECTED[name]


# --- the defects of issue 15, each on a real artifact --------------------------------------------------


async def opened(tmp_path: Path) -> Storage:
    storage = await Storage.open(f"sqlite:///{tmp_path / 'giaoban.db'}")
    await storage.sync_inventory(CONFIG)
    return storage


def read(name: str) -> bytes:
    return (CALENDARS / name).read_bytes()


async def test_all_day_events_are_skipped_and_reported_not_refused(tmp_path: Path) -> None:
    """A real export with a holiday imports its timed events and names the all-day one (the file was refused)."""
    storage = await opened(tmp_path)
    try:
        start = datetime(2017, 10, 1, tzinfo=UTC)
        report = await import_ics(
            storage, CONFIG, read("recurring-ical-events-3.8.2/fablab_cottbus.ics"), start=start, end=start + YEAR
        )
        assert report.skipped_by_reason() == {"all_day": 1}
        assert report.occurrences == len(await all_meetings(storage)) > 10
        holidays = await import_ics(
            storage, CONFIG, read("recurring-ical-events-3.8.2/Germany_Holidays.ics"), start=start, end=start + YEAR
        )
        assert (holidays.occurrences, holidays.skipped_by_reason()) == (0, {"all_day": 34})
    finally:
        await storage.close()


YEAR = timedelta(days=365)


async def test_rdate_occurrences_are_imported(tmp_path: Path) -> None:
    """Hacker Public Radio's calendar is one VEVENT with twelve RDATEs: each is a meeting (RDATE was dropped)."""
    storage = await opened(tmp_path)
    try:
        start = datetime(2013, 8, 1, tzinfo=UTC)
        await import_ics(
            storage,
            CONFIG,
            read("recurring-ical-events-3.8.2/rdate_hackerpublicradio.ics"),
            start=start,
            end=start + YEAR,
        )
        found = await list_upcoming(storage, now=start, horizon=YEAR)
        assert [o.start for o in found] == [
            datetime(2013, 8, 3, 19, tzinfo=UTC), datetime(2013, 8, 31, 19, tzinfo=UTC),
            datetime(2013, 10, 5, 19, tzinfo=UTC), datetime(2013, 11, 2, 19, tzinfo=UTC),
            datetime(2013, 11, 30, 19, tzinfo=UTC), datetime(2014, 1, 4, 19, tzinfo=UTC),
            datetime(2014, 2, 1, 19, tzinfo=UTC), datetime(2014, 3, 1, 19, tzinfo=UTC),
            datetime(2014, 4, 5, 19, tzinfo=UTC), datetime(2014, 5, 3, 19, tzinfo=UTC),
            datetime(2014, 5, 31, 19, tzinfo=UTC), datetime(2014, 7, 5, 19, tzinfo=UTC),
        ]  # fmt: skip
        assert {o.meeting.title for o in found} == {"HPR Community News"}
    finally:
        await storage.close()


async def test_range_thisandfuture_moves_every_later_occurrence(tmp_path: Path) -> None:
    """RANGE=THISANDFUTURE moves the rest of the series, not one instance (most later ones were wrong)."""
    storage = await opened(tmp_path)
    try:
        start = datetime(2024, 9, 1, tzinfo=UTC)
        end = datetime(2024, 9, 30, tzinfo=UTC)
        await import_ics(
            storage, CONFIG, read("recurring-ical-events-3.8.2/issue_75_range_parameter.ics"), start=start, end=end
        )
        found = {o.start: o for o in await list_upcoming(storage, now=start, horizon=end - start)}
        assert datetime(2024, 9, 11, 12, tzinfo=UTC) in found  # before the range: as the series has it
        assert datetime(2024, 9, 13, 9, tzinfo=UTC) in found  # the override itself
        later = found[datetime(2024, 9, 17, 9, tzinfo=UTC)]  # 12:00 in the series, moved 3 h earlier by the range
        assert (later.meeting.title, later.end - later.start) == ("MODIFIED EVENT", timedelta(hours=7))
        assert datetime(2024, 9, 17, 12, tzinfo=UTC) not in found
        assert datetime(2024, 9, 15, 17, tzinfo=UTC) in found  # a single override inside the range
        assert found[datetime(2024, 9, 24, 14, 22, tzinfo=UTC)].meeting.title == "EDITED EVENT"  # the second range
    finally:
        await storage.close()


async def test_zero_length_event_is_skipped_not_refused(tmp_path: Path) -> None:
    """Google's export of a series with DTSTART = DTEND: skipped and reported; its timed override imported."""
    storage = await opened(tmp_path)
    try:
        start = datetime(2021, 11, 25, tzinfo=UTC)
        report = await import_ics(
            storage, CONFIG, read("recurring-ical-events-3.8.2/issue_62_moved_event.ics"), start=start, end=start + YEAR
        )
        assert report.skipped_by_reason() == {"zero_length": 1}
        assert [s.event for s in report.skipped] == ["event 2 (Karaoke)"]
        [moved] = await all_meetings(storage)
        assert moved.start == datetime(2021, 12, 17, 20, 30, tzinfo=UTC)  # 21:30 Europe/Berlin
    finally:
        await storage.close()


async def test_x_wr_timezone_reads_floating_times(tmp_path: Path) -> None:
    """A floating 21:00 in a calendar with X-WR-TIMEZONE:Europe/Brussels is 19:00 UTC, not district time."""
    storage = await opened(tmp_path)
    try:
        start = datetime(2021, 9, 1, tzinfo=UTC)
        data = read("recurring-ical-events-3.8.2/issue_86_x_wr_timezone_without_time_zone_in_dt.ics")
        report = await import_ics(storage, CONFIG, data, start=start, end=start + YEAR)
        assert [(n.code, n.detail) for n in report.notes] == [("x_wr_timezone", "Europe/Brussels")]
        [meeting] = await all_meetings(storage)
        assert (meeting.start, meeting.timezone) == (datetime(2021, 9, 16, 19, tzinfo=UTC), "Europe/Brussels")
        without = data.replace(b"X-WR-TIMEZONE:Europe/Brussels\r\n", b"").replace(
            b"X-WR-TIMEZONE:Europe/Brussels\n", b""
        )
        assert without != data
        await import_ics(storage, CONFIG, without, start=start, end=start + YEAR)
        [meeting] = await all_meetings(storage)
        assert meeting.start == datetime(2021, 9, 16, 21, tzinfo=HCM)  # no X-WR-TIMEZONE: district time
    finally:
        await storage.close()


async def test_events_without_uid_get_a_stable_id(tmp_path: Path) -> None:
    """icalevents' duration.ics has no UID at all: imported, and a second import changes nothing."""
    storage = await opened(tmp_path)
    try:
        start = datetime(2018, 1, 8, tzinfo=UTC)
        data = read("recurring-ical-events-3.8.2/duration.ics")
        first = await import_ics(storage, CONFIG, data, start=start, end=start + YEAR)
        assert (len(first.added), [(n.code, n.detail) for n in first.notes]) == (2, [("derived_uid", "3")])
        second = await import_ics(storage, CONFIG, data, start=start, end=start + YEAR)
        assert (second.added, second.removed, sorted(second.unchanged)) == ([], [], sorted(first.added))
    finally:
        await storage.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("rule", [b"FREQ=SECONDLY", b"FREQ=MINUTELY;INTERVAL=5", b"FREQ=DAILY;BYHOUR=0,6,12,18"])
async def test_a_rule_too_frequent_is_skipped_with_bounded_work(tmp_path: Path, rule: bytes) -> None:
    """fablab's monthly Repair Café made to repeat every second: skipped as too frequent, the rest imported."""
    data = read("recurring-ical-events-3.8.2/fablab_cottbus.ics")
    assert data.count(b"RRULE:FREQ=MONTHLY;BYDAY=1SA") == 1
    storage = await opened(tmp_path)
    try:
        start = datetime(2017, 10, 1, tzinfo=UTC)
        report = await import_ics(
            storage, CONFIG, data.replace(b"FREQ=MONTHLY;BYDAY=1SA", rule), start=start, end=start + YEAR
        )
        assert report.skipped_by_reason() == {"all_day": 1, "too_frequent": 1}
        assert "Repair" in next(s.event for s in report.skipped if s.reason == "too_frequent")
        assert 10 < report.occurrences <= MAX_PER_EVENT
    finally:
        await storage.close()


async def test_a_malformed_real_file_is_refused_whole(tmp_path: Path) -> None:
    """A shipped file whose event ends before it starts is refused, naming the event, and stores nothing."""
    storage = await opened(tmp_path)
    try:
        with pytest.raises(IcsError, match=r"event 1 \(test1\): ends before it starts"):
            await import_ics(storage, CONFIG, read("recurring-ical-events-3.8.2/end_before_start_event.ics"))
        assert await all_meetings(storage) == []
    finally:
        await storage.close()
