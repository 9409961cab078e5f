"""`giaoban meetings list|add|remove|import`: the briefing schedule from the command line.

    giaoban meetings list [--days 14]
    giaoban meetings add --title "Giao ban thứ Hai" --start 2026-12-07T07:30 --duration 2h \\
                         --sites all|ID,ID --call-rate 2048kbit [--lead-times 60m,30m,10m] \\
                         [--rrule FREQ=WEEKLY;BYDAY=MO] [--timezone ZONE]
    giaoban meetings remove ID
    giaoban meetings import FILE.ics [--sites ...] [--call-rate ...]

Each takes -c FILE (the inventory: district time zone, site ids, its database) and --database URL
(monitor/cli/common.py). Times are read and shown in the district's time zone, in Vietnamese (or English
with district.locale: en); an import shows its progress on a terminal's stderr. Exit 0 done, 1 nothing to
remove, 2 bad input (a rule more often than hourly among them). A stored meeting whose rule cannot be
expanded, and an .ics event whose rule is refused, are named on stderr; the rest is listed or imported.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.cli.common import EXIT_FAILED, EXIT_OK, add_storage_arguments, run_with_storage
from monitor.cli.progress import terminal_progress
from monitor.config.models import Config
from monitor.i18n import Locale, local_text
from monitor.readiness.ics import import_ics
from monitor.readiness.meetings import (
    MeetingError,
    Occurrence,
    add_meeting,
    read_schedule,
    remove_meeting,
)
from monitor.storage.database import Storage

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
        "skipped": "Bỏ qua {what}",
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
        "skipped": "Skipped {what}",
    },
}


def add_parser(commands: Any) -> None:
    """Add `meetings` and its subcommands to the `giaoban` parser's subcommands."""
    meetings = commands.add_parser("meetings", help="the briefing schedule: list, add, remove, import .ics")
    sub = meetings.add_subparsers(dest="meetings_command", required=True, metavar="ACTION")

    listing = add_storage_arguments(sub.add_parser("list", help="upcoming meetings, in the district's time"))
    listing.add_argument("--days", type=int, default=14, help="how far ahead (default 14)")
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


def _line(occurrence: Occurrence, tz: ZoneInfo, locale: Locale, text: dict[str, str]) -> str:
    meeting = occurrence.meeting
    sites = text["all_sites"] if meeting.sites == "all" else text["sites"].format(ids=", ".join(meeting.sites))
    extra = f"; {text['repeats'].format(rule=meeting.rrule)}" if meeting.rrule else ""
    when, end = local_text(occurrence.start, tz, locale), occurrence.end.astimezone(tz)
    return f"  {when}–{end:%H:%M}  {meeting.title}  [{meeting.id}]  ({sites}{extra})"


async def _act(args: argparse.Namespace, config: Config, storage: Storage, text: dict[str, str]) -> int:
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    command = args.meetings_command
    if command == "list":
        days = max(args.days, 1)
        schedule = await read_schedule(storage, now=datetime.now(UTC), horizon=timedelta(days=days))
        for meeting, why in schedule.broken:
            print(text["broken"].format(id=meeting.id, title=meeting.title, why=why), file=sys.stderr)
        found = schedule.occurrences
        if not found:
            print(text["none"].format(days=days))
            return EXIT_OK
        print(text["heading"].format(days=days, tz=config.organisation.timezone))
        for occurrence in found:
            print(_line(occurrence, tz, locale, text))
        return EXIT_OK
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
    if command == "remove":
        if await remove_meeting(storage, args.id):
            print(text["removed"].format(id=args.id))
            return EXIT_OK
        print(text["missing"].format(id=args.id))
        return EXIT_FAILED
    progress = terminal_progress("giaoban meetings import", "cuộc họp / meetings")
    result = await import_ics(
        storage, config, Path(args.file), sites=args.sites, call_rate=args.call_rate, progress=progress
    )
    print(
        text["imported"].format(
            file=args.file,
            added=len(result.added),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
            removed=len(result.removed),
        )
    )
    for what in result.skipped:
        print(text["skipped"].format(what=what), file=sys.stderr)
    return EXIT_OK


async def run(args: argparse.Namespace) -> int:
    """Carry out one `meetings` command; ConfigError propagates (the CLI prints it and exits 2)."""

    async def act(config: Config, storage: Storage) -> int:
        return await _act(args, config, storage, _TEXT[config.organisation.locale])

    return await run_with_storage(args, act, input_errors=(MeetingError,))
