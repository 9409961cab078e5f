"""`giaoban meetings list|add|remove|import`: the briefing schedule from the command line.

    giaoban meetings list [--days 14 | --from DATE --to DATE] [--json]
    giaoban meetings add --title "Giao ban thứ Hai" --start 2026-12-07T07:30 --duration 2h \\
                         --sites all|ID,ID --call-rate 2048kbit [--lead-times 60m,30m,10m] \\
                         [--rrule FREQ=WEEKLY;BYDAY=MO] [--timezone ZONE]
    giaoban meetings remove ID
    giaoban meetings import FILE.ics [--sites ...] [--call-rate ...] [--from DATE] [--to DATE]
    giaoban meetings attendance ID [--start EPOCH] [--json]

Each takes -c FILE (the inventory: district time zone, site ids) and --database URL (default: the
config's ``database``, else sqlite:///giaoban.db). Times are read and shown in the district's time zone,
in Vietnamese (or English with district.locale: en). Exit 0 done, 1 nothing to remove, 2 bad input.
`list --json` prints the occurrences as JSON (meeting id, title, UTC start and end); `import` prints its
report: occurrences stored over [--from, --to) (default the next 365 days), events skipped and why.
`attendance` prints the record of the meeting's last watched occurrence (or --start's): each site's attendance
and media quality, worst first (exit 1 when there is none); --json the same as GET /api/v1/meetings/ID/attendance.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.cli.common import EXIT_FAILED, EXIT_OK, add_storage_arguments, run_with_storage
from monitor.cli.progress import terminal_progress
from monitor.config.models import Config
from monitor.i18n import Locale, local_text
from monitor.readiness.ics import ImportReport, import_ics
from monitor.readiness.meetings import (
    MeetingError,
    Occurrence,
    add_meeting,
    get_meeting,
    parse_start,
    read_schedule,
    remove_meeting,
)
from monitor.storage.database import Storage
from monitor.web.api_attendance import attendance_json, attendance_of

_TEXT = {
    "vi": {
        "heading": "Lịch giao ban {days} ngày tới (giờ {tz}):",
        "none": "Không có cuộc họp nào trong {days} ngày tới.",
        "all_sites": "tất cả điểm cầu",
        "sites": "điểm cầu: {ids}",
        "repeats": "lặp lại: {rule}",
        "added": "Đã thêm cuộc họp {id}: {title}, bắt đầu {when}.",
        "removed": "Đã xoá cuộc họp {id}.",
        "missing": "Không có cuộc họp {id}.",
        "imported": "Đã nhập {file}: thêm {added}, cập nhật {updated}, không đổi {unchanged}, xoá {removed}.",
        "broken": "Bỏ qua cuộc họp {id} ({title}): {why}",
        "window": "  {occurrences} lần họp của {events} sự kiện, từ {start} đến {end} (giờ {tz}).",
        "range_heading": "Lịch giao ban từ {start} đến {end} (giờ {tz}):",
        "range_none": "Không có cuộc họp nào từ {start} đến {end}.",
        "skipped": "  Bỏ qua {count} sự kiện: {reasons}.",
        "skipped_more": "    … và {count} sự kiện khác",
        "all_day": "cả ngày",
        "zero_length": "bắt đầu và kết thúc cùng lúc",
        "too_long": "dài quá 7 ngày",
        "no_start": "không có giờ bắt đầu (DTSTART)",
        "too_frequent": "lặp lại quá dày",
        "cancelled": "đã huỷ",
        "event": "sự kiện {number} ({summary})",
        "no_summary": "không có SUMMARY",
        "derived_uid": "  {detail} sự kiện không có UID: đã tạo mã ổn định từ DTSTART và SUMMARY.",
        "x_wr_timezone": "  Giờ không kèm múi giờ được hiểu theo X-WR-TIMEZONE {detail}.",
        "unknown_x_wr_timezone": (
            "  X-WR-TIMEZONE {detail} không phải múi giờ IANA: giờ không kèm múi giờ theo giờ của huyện."
        ),
        "parser_warning": "  Cảnh báo của trình đọc iCalendar: {detail}",
        "attendance": "Tham dự cuộc họp {title} lúc {when}:",
        "no_attendance": "Cuộc họp {id} chưa có biên bản tham dự.",
    },
    "en": {
        "heading": "Briefings in the next {days} days ({tz} time):",
        "none": "No meeting in the next {days} days.",
        "all_sites": "all sites",
        "sites": "sites: {ids}",
        "repeats": "repeats: {rule}",
        "added": "Added meeting {id}: {title}, starting {when}.",
        "removed": "Removed meeting {id}.",
        "missing": "No meeting {id}.",
        "imported": "Imported {file}: {added} added, {updated} updated, {unchanged} unchanged, {removed} removed.",
        "broken": "Skipped meeting {id} ({title}): {why}",
        "window": "  {occurrences} occurrences of {events} events, from {start} to {end} ({tz} time).",
        "range_heading": "Briefings from {start} to {end} ({tz} time):",
        "range_none": "No meeting from {start} to {end}.",
        "skipped": "  Skipped {count} events: {reasons}.",
        "skipped_more": "    … and {count} more",
        "all_day": "all-day",
        "zero_length": "ends when it starts",
        "too_long": "longer than 7 days",
        "no_start": "no start (DTSTART)",
        "too_frequent": "repeats too often",
        "cancelled": "cancelled",
        "event": "event {number} ({summary})",
        "no_summary": "no SUMMARY",
        "derived_uid": "  {detail} events without UID: a stable id was derived from DTSTART and SUMMARY.",
        "x_wr_timezone": "  Times without a zone were read in X-WR-TIMEZONE {detail}.",
        "unknown_x_wr_timezone": (
            "  X-WR-TIMEZONE {detail} is not an IANA zone: times without a zone are district time."
        ),
        "parser_warning": "  iCalendar reader's warning: {detail}",
        "attendance": "Attendance of the meeting {title} at {when}:",
        "no_attendance": "Meeting {id} has no attendance record yet.",
    },
}


def add_parser(commands: Any) -> None:
    """Add `meetings` and its subcommands to the `giaoban` parser's subcommands."""
    meetings = commands.add_parser("meetings", help="the briefing schedule: list, add, remove, import .ics")
    sub = meetings.add_subparsers(dest="meetings_command", required=True, metavar="ACTION")

    listing = add_storage_arguments(sub.add_parser("list", help="upcoming meetings, in the district's time"))
    listing.add_argument("--days", type=int, default=14, help="how far ahead (default 14)")
    listing.add_argument("--from", dest="start", help="from DATE (2026-12-07 or 2026-12-07T07:30, district time)")
    listing.add_argument("--to", dest="end", help="to DATE (default: --days after --from)")
    listing.add_argument("--json", action="store_true", help="occurrences as JSON: meeting id, title, UTC start")
    add = add_storage_arguments(sub.add_parser("add", help="add a meeting"))
    add.add_argument("--title", required=True)
    add.add_argument("--start", required=True, help="2026-12-07T07:30 (district time) or with an offset")
    add.add_argument("--duration", default="2h", help="e.g. 90m, 2h (default 2h)")
    add.add_argument("--sites", default="all", help="all, or site ids separated by commas")
    add.add_argument("--call-rate", help="e.g. 2048kbit (default 2048kbit)")
    add.add_argument("--lead-times", help="checks before start, e.g. 60m,30m,10m (default: the configured ones)")
    add.add_argument("--rrule", help="RFC 5545 recurrence, e.g. FREQ=WEEKLY;BYDAY=MO")
    add.add_argument("--timezone", help="IANA zone of the start and of the recurrence (default: the district's)")
    remove = add_storage_arguments(sub.add_parser("remove", help="remove a meeting"))
    remove.add_argument("id")
    ics = add_storage_arguments(sub.add_parser("import", help="add or update meetings from an iCalendar file (by UID)"))
    ics.add_argument("file")
    ics.add_argument("--sites", default="all", help="sites of new meetings: all, or ids separated by commas")
    ics.add_argument("--call-rate", help="call rate of new meetings (default 2048kbit)")
    ics.add_argument("--from", dest="start", help="store occurrences from DATE (default: now)")
    ics.add_argument("--to", dest="end", help="...until DATE (default: 365 days after --from)")
    attendance = add_storage_arguments(
        sub.add_parser("attendance", help="who joined a meeting, who left, with what media (its record)")
    )
    attendance.add_argument("id")
    attendance.add_argument("--start", type=int, help="the occurrence's start, epoch seconds (default: the last)")
    attendance.add_argument("--json", action="store_true", help="the record as JSON, as the API gives it")


def _line(occurrence: Occurrence, tz: ZoneInfo, locale: Locale, text: dict[str, str]) -> str:
    meeting = occurrence.meeting
    sites = text["all_sites"] if meeting.sites == "all" else text["sites"].format(ids=", ".join(meeting.sites))
    extra = f"; {text['repeats'].format(rule=meeting.rrule)}" if meeting.rrule else ""
    when, end = local_text(occurrence.start, tz, locale), occurrence.end.astimezone(tz)
    return f"  {when}–{end:%H:%M}  {meeting.title}  [{meeting.id}]  ({sites}{extra})"


def _window(args: argparse.Namespace, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    start = parse_start(args.start, tz, "from") if args.start else None
    end = parse_start(args.end, tz, "to") if args.end else None
    return start, end


def _occurrence_json(occurrence: Occurrence) -> dict[str, str]:
    return {
        "meeting_id": occurrence.meeting.id,
        "title": occurrence.meeting.title,
        "start": f"{occurrence.start:%Y-%m-%dT%H:%M:%SZ}",
        "end": f"{occurrence.end:%Y-%m-%dT%H:%M:%SZ}",
    }


async def _list(args: argparse.Namespace, config: Config, storage: Storage, text: dict[str, str]) -> int:
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    days = max(args.days, 1)
    start, end = _window(args, tz)
    start = start or datetime.now(UTC)
    end = end or start + timedelta(days=days)
    if end <= start:
        raise MeetingError("--to must be after --from", "to")
    schedule = await read_schedule(storage, now=start, horizon=end - start)
    for meeting, why in schedule.broken:  # a stored rule that cannot be expanded: named, never expanded unbounded
        print(text["broken"].format(id=meeting.id, title=meeting.title, why=why), file=sys.stderr)
    found = schedule.occurrences
    if args.json:
        print(json.dumps([_occurrence_json(o) for o in found], ensure_ascii=False, indent=1))
        return EXIT_OK
    ranged = args.start is not None or args.end is not None
    span = {"start": local_text(start, tz, locale), "end": local_text(end, tz, locale), "days": days}
    if not found:
        print(text["range_none" if ranged else "none"].format(**span))
        return EXIT_OK
    print(text["range_heading" if ranged else "heading"].format(**span, tz=config.organisation.timezone))
    for occurrence in found:
        print(_line(occurrence, tz, locale, text))
    return EXIT_OK


def _print_report(report: ImportReport, file: str, config: Config, text: dict[str, str]) -> None:
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    print(
        text["imported"].format(
            file=file,
            added=len(report.added),
            updated=len(report.updated),
            unchanged=len(report.unchanged),
            removed=len(report.removed),
        )
    )
    print(
        text["window"].format(
            occurrences=report.occurrences,
            events=report.events,
            start=local_text(report.window_start, tz, locale),
            end=local_text(report.window_end, tz, locale),
            tz=config.organisation.timezone,
        )
    )
    if report.skipped:
        reasons = ", ".join(f"{n} {text[reason]}" for reason, n in report.skipped_by_reason().items())
        print(text["skipped"].format(count=len(report.skipped), reasons=reasons))
        for skipped in report.skipped[:10]:
            summary = skipped.summary or text["no_summary"]
            print(f"    - {text['event'].format(number=skipped.number, summary=summary)}: {text[skipped.reason]}")
        if len(report.skipped) > 10:
            print(text["skipped_more"].format(count=len(report.skipped) - 10))
    for note in report.notes:
        print(text[note.code].format(detail=note.detail))


async def _act(args: argparse.Namespace, config: Config, storage: Storage, text: dict[str, str]) -> int:
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    command = args.meetings_command
    if command == "list":
        return await _list(args, config, storage, text)
    if command == "add":
        meeting = await add_meeting(
            storage,
            config,
            title=args.title,
            start=args.start,
            duration=args.duration,
            sites=args.sites,
            call_rate=args.call_rate,
            lead_times=args.lead_times.split(",") if args.lead_times else None,
            rrule=args.rrule,
            timezone=args.timezone,
            source="cli",
        )
        print(text["added"].format(id=meeting.id, title=meeting.title, when=local_text(meeting.start, tz, locale)))
        return EXIT_OK
    if command == "attendance":
        return await _attendance(args, config, storage, text)
    if command == "remove":
        if await remove_meeting(storage, args.id):
            print(text["removed"].format(id=args.id))
            return EXIT_OK
        print(text["missing"].format(id=args.id))
        return EXIT_FAILED
    start, end = _window(args, tz)
    progress = terminal_progress("giaoban meetings import", "cuộc họp / meetings")
    report = await import_ics(
        storage,
        config,
        Path(args.file),
        sites=args.sites,
        call_rate=args.call_rate,
        start=start,
        end=end,
        progress=progress,
    )
    _print_report(report, args.file, config, text)
    return EXIT_OK


async def _attendance(args: argparse.Namespace, config: Config, storage: Storage, text: dict[str, str]) -> int:
    meeting = await get_meeting(storage, args.id)
    if meeting is None:
        print(text["missing"].format(id=args.id))
        return EXIT_FAILED
    start, running, records = await attendance_of(storage, None, meeting, args.start)
    document = attendance_json(config, meeting, start, running, records)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return EXIT_OK if start is not None else EXIT_FAILED
    if start is None:
        print(text["no_attendance"].format(id=meeting.id))
        return EXIT_FAILED
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    when = local_text(datetime.fromtimestamp(start, UTC), tz, locale)
    print(text["attendance"].format(title=meeting.title, when=when))
    for site in document["sites"]:
        print(f"  {SYMBOLS[site['state']]} {site['name']}: {site['text']}")
    return EXIT_OK


SYMBOLS = {"left": "✗", "missing": "✗", "poor": "!", "unknown": "?", "connected": "✓"}


async def run(args: argparse.Namespace) -> int:
    """Carry out one `meetings` command; ConfigError propagates (the CLI prints it and exits 2)."""

    async def act(config: Config, storage: Storage) -> int:
        return await _act(args, config, storage, _TEXT[config.organisation.locale])

    return await run_with_storage(args, act, input_errors=(MeetingError,))
