"""`giaoban alerts list|ack` and `giaoban maintenance list|add|remove`: alerts and silences from the command line.

    giaoban alerts list [--all] [--json]
    giaoban alerts ack ID [--by NAME]
    giaoban maintenance list
    giaoban maintenance add --title "Bảo trì tuyến cáp" --start 2026-12-07T22:00 --duration 2h \\
                            [--rrule FREQ=WEEKLY;BYDAY=SU] [--sites a,b] [--targets link] [--rules link_down,...] \\
                            [--timezone ZONE] [--by NAME]
    giaoban maintenance remove ID

Each takes -c FILE and --database URL like `giaoban meetings`. Times are shown in the district's time zone,
messages in Vietnamese (or English with district.locale: en). Exit 0 done, 1 nothing to act on (unknown or
resolved alert, unknown window), 2 bad input.
"""

from __future__ import annotations

import argparse
import getpass
import json
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.maintenance_input import MaintenanceError, build_window
from alerts.model import AlertRecord
from alerts.store import OPEN_STATES, SqlAlertStore
from alerts.texts import WORDS
from monitor.cli.common import EXIT_FAILED, EXIT_OK, add_storage_arguments, run_with_storage
from monitor.config.models import Config
from monitor.i18n import Locale, local_text
from monitor.storage.database import Storage
from monitor.web.api_alerts import alert_out, maintenance_out

_TEXT = {
    "vi": {
        "no_alerts": "Không có cảnh báo nào đang mở.",
        "no_alerts_all": "Chưa có cảnh báo nào.",
        "heading": "Cảnh báo (giờ {tz}):",
        "acked": "đã nhận: {by}",
        "suppressed": "gộp vào {by}",
        "maintenance": "đang bảo trì: {by}",
        "ack_done": "Đã xác nhận cảnh báo {id} ({by}).",
        "ack_resolved": "Cảnh báo {id} đã hết, không cần xác nhận.",
        "ack_missing": "Không có cảnh báo {id}.",
        "no_windows": "Không có lịch bảo trì nào.",
        "windows": "Lịch bảo trì (giờ {tz}):",
        "next": "lần tới {when}",
        "broken": "không dùng được: {why}",
        "over": "đã kết thúc",
        "repeats": "lặp lại: {rule}",
        "all": "tất cả",
        "scope": "điểm cầu: {sites}; đích: {targets}; quy tắc: {rules}",
        "added": "Đã thêm lịch bảo trì {id}: {title}, bắt đầu {when}.",
        "removed": "Đã xoá lịch bảo trì {id}.",
        "missing": "Không có lịch bảo trì {id}.",
    },
    "en": {
        "no_alerts": "No open alert.",
        "no_alerts_all": "No alert yet.",
        "heading": "Alerts ({tz} time):",
        "acked": "acknowledged: {by}",
        "suppressed": "folded into {by}",
        "maintenance": "under maintenance: {by}",
        "ack_done": "Acknowledged alert {id} ({by}).",
        "ack_resolved": "Alert {id} is already resolved; nothing to acknowledge.",
        "ack_missing": "No alert {id}.",
        "no_windows": "No maintenance window.",
        "windows": "Maintenance windows ({tz} time):",
        "next": "next {when}",
        "broken": "cannot be used: {why}",
        "over": "over",
        "repeats": "repeats: {rule}",
        "all": "all",
        "scope": "sites: {sites}; targets: {targets}; rules: {rules}",
        "added": "Added maintenance window {id}: {title}, starting {when}.",
        "removed": "Removed maintenance window {id}.",
        "missing": "No maintenance window {id}.",
    },
}


def _default_by() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def add_parsers(commands: Any) -> None:
    """Add `alerts` and `maintenance` to the `giaoban` parser's subcommands."""

    alerts = commands.add_parser("alerts", help="alerts: list, acknowledge")
    sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    listing = add_storage_arguments(sub.add_parser("list", help="open alerts (pending, firing)"))
    listing.add_argument("--all", action="store_true", help="also resolved alerts")
    listing.add_argument("--json", action="store_true", help="print JSON (as GET /api/v1/alerts)")
    ack = add_storage_arguments(
        sub.add_parser("ack", help="acknowledge an alert: reminders stop, the resolve still goes out")
    )
    ack.add_argument("id", help='the alert id, e.g. "link_down/tan-thinh/link"')
    ack.add_argument("--by", default=None, help="who acknowledges (default: your user name)")

    maintenance = commands.add_parser("maintenance", help="maintenance windows: list, add, remove")
    msub = maintenance.add_subparsers(dest="maintenance_command", required=True, metavar="ACTION")
    add_storage_arguments(msub.add_parser("list", help="windows added by the CLI and the API"))
    add = add_storage_arguments(msub.add_parser("add", help="add a one-off or recurring window"))
    add.add_argument("--title", required=True)
    add.add_argument("--start", required=True, help="2026-12-07T22:00 (district time) or with an offset")
    add.add_argument("--duration", required=True, help="e.g. 90m, 2h")
    add.add_argument("--rrule", help="RFC 5545 recurrence, e.g. FREQ=WEEKLY;BYDAY=SU")
    add.add_argument("--timezone", help="IANA zone of the start and of the recurrence (default: the district's)")
    add.add_argument("--sites", help="site ids separated by commas (default: every site)")
    add.add_argument("--targets", help="target names separated by commas (default: every target)")
    add.add_argument("--rules", help="rule names separated by commas, e.g. link_down,loss (default: every rule)")
    add.add_argument("--by", default=None, help="who adds it (default: your user name)")
    remove = add_storage_arguments(msub.add_parser("remove", help="remove a window"))
    remove.add_argument("id")


def _alert_line(record: AlertRecord, tz: ZoneInfo, locale: Locale, text: dict[str, Any]) -> str:
    since = local_text(datetime.fromtimestamp(record.fired_at or record.started_at, UTC), tz, locale)
    notes = []
    if record.acked_by:
        notes.append(text["acked"].format(by=record.acked_by))
    if record.suppressed_by:
        window = record.suppressed_by.removeprefix("maintenance:")
        note = "suppressed" if window == record.suppressed_by else "maintenance"
        notes.append(text[note].format(by=window))
    extra = f"  ({'; '.join(notes)})" if notes else ""
    words = WORDS[locale]
    state, severity = words[f"alert_{record.state}"], words.get(f"level_{record.severity}", record.severity)
    width = max(len(words[f"alert_{s}"]) for s in ("pending", "firing", "resolved"))
    levels = max(len(words[f"level_{s}"]) for s in ("critical", "warning", "info"))
    return f"  {state:<{width}} {severity:<{levels}} {since}  {record.id}  {record.summary}{extra}"


async def _alerts(args: argparse.Namespace, config: Config, store: SqlAlertStore, text: dict[str, Any]) -> int:
    tz = ZoneInfo(config.organisation.timezone)
    if args.alerts_command == "list":
        found = await store.list_alerts(state=None if args.all else OPEN_STATES)
        if args.json:
            print(json.dumps([alert_out(r).model_dump(mode="json") for r in found], ensure_ascii=False, indent=2))
            return EXIT_OK
        if not found:
            print(text["no_alerts_all" if args.all else "no_alerts"])
            return EXIT_OK
        print(text["heading"].format(tz=config.organisation.timezone))
        for record in found:
            print(_alert_line(record, tz, config.organisation.locale, text))
        return EXIT_OK
    acked = await store.acknowledge(args.id, args.by or _default_by(), time.time())
    if acked is None:
        print(text["ack_missing"].format(id=args.id))
        return EXIT_FAILED
    if acked.state == "resolved":
        print(text["ack_resolved"].format(id=args.id))
        return EXIT_FAILED
    print(text["ack_done"].format(id=acked.id, by=acked.acked_by))
    return EXIT_OK


async def _maintenance(args: argparse.Namespace, config: Config, store: SqlAlertStore, text: dict[str, Any]) -> int:
    tz, locale = ZoneInfo(config.organisation.timezone), config.organisation.locale
    command = args.maintenance_command
    if command == "list":
        windows = await store.maintenance_windows()
        if not windows:
            print(text["no_windows"])
            return EXIT_OK
        print(text["windows"].format(tz=config.organisation.timezone))
        now = datetime.now(UTC)
        for window in windows:
            shown = maintenance_out(window, now)
            if shown.error:
                when = text["broken"].format(why=shown.error)
            else:
                when = text["next"].format(when=local_text(shown.next, tz, locale)) if shown.next else text["over"]
            repeats = f"; {text['repeats'].format(rule=window.rrule)}" if window.rrule else ""
            scope = text["scope"].format(
                sites=", ".join(window.sites) or text["all"],
                targets=", ".join(window.targets) or text["all"],
                rules=", ".join(window.rules) or text["all"],
            )
            hours = f"{window.duration / 3600:g}h"
            print(f"  {window.id}  {window.title}  [{when}, {hours}{repeats}]  ({scope})")
        return EXIT_OK
    if command == "add":
        window = build_window(
            config,
            title=args.title,
            start=args.start,
            duration=args.duration,
            rrule=args.rrule,
            timezone=args.timezone,
            sites=args.sites,
            targets=args.targets,
            rules=args.rules,
            source="cli",
            created_by=args.by or _default_by(),
        )
        await store.add_maintenance(window)
        when = local_text(datetime.fromtimestamp(window.start, UTC), tz, locale)
        print(text["added"].format(id=window.id, title=window.title, when=when))
        return EXIT_OK
    if await store.remove_maintenance(args.id):
        print(text["removed"].format(id=args.id))
        return EXIT_OK
    print(text["missing"].format(id=args.id))
    return EXIT_FAILED


async def run(args: argparse.Namespace) -> int:
    """Carry out one `alerts` or `maintenance` command; ConfigError propagates (the CLI prints it, exit 2)."""

    async def act(config: Config, storage: Storage) -> int:
        store, text = SqlAlertStore(storage), _TEXT[config.organisation.locale]
        if args.command == "alerts":
            return await _alerts(args, config, store, text)
        return await _maintenance(args, config, store, text)

    return await run_with_storage(args, act, input_errors=(MaintenanceError,))
