"""`giaoban readiness`: is every site ready for a meeting? Exit 0 when all are, 1 when not, 2 on bad input.

    giaoban readiness MEETING [--now] [--json]      every agent's newest verdicts for its next occurrence,
                                                    by province, failing first; --now checks anew
    giaoban readiness --sites all|ID,ID --now [--call-rate 2048kbit] [--duration 2h] [--json]

Without --now the stored report is shown when one exists (the service checks at T-60/T-30/T-10);
otherwise a fresh check runs here, with the same probes the service uses, and is stored too. A fresh check
shows its progress on stderr when that is a terminal and the output is not --json (monitor/cli/progress.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_storage_arguments, run_with_storage
from monitor.cli.progress import TerminalProgress, terminal_progress
from monitor.config.models import Config
from monitor.errors import UsageError
from monitor.i18n import Locale, local_text, verdict_text
from monitor.readiness.checks import SiteReadiness
from monitor.readiness.engine import ReadinessEngine
from monitor.readiness.joined import joined_report
from monitor.readiness.meetings import get_meeting
from monitor.readiness.report import UNKNOWN, ReadinessReport
from monitor.recurrence import RecurrenceError
from monitor.storage.database import Storage
from monitor.web.api_readiness import latest_report, next_occurrence
from probes.context import probe_context
from probes.core.units import parse_bandwidth, parse_duration

_TEXT = {
    "vi": {
        "heading": "Sẵn sàng cho «{title}» lúc {when}: {ready}/{total} điểm cầu sẵn sàng (kiểm tra lúc {checked}).",
        "adhoc": "Kiểm tra {total} điểm cầu lúc {checked}: {ready}/{total} sẵn sàng.",
        "action": "cần làm",
        "all_ready": "Tất cả điểm cầu đã sẵn sàng.",
        "no_meeting": "Không có cuộc họp {id}.",
        "no_occurrence": "Cuộc họp {id} không còn buổi nào sắp diễn ra.",
        "broken": "Không kiểm tra được cuộc họp {id}: {why}",
        "group": "{name}: {ready}/{total} sẵn sàng, {degraded} suy giảm, {not_ready} chưa sẵn sàng, {unknown} chưa rõ",
        "unknown_note": "{n} điểm cầu chưa rõ: chưa có máy giám sát nào báo cáo; cần làm: {action}",
    },
    "en": {
        "heading": "Readiness for “{title}” at {when}: {ready}/{total} sites ready (checked {checked}).",
        "adhoc": "Checked {total} sites at {checked}: {ready}/{total} ready.",
        "action": "to do",
        "all_ready": "Every site is ready.",
        "no_meeting": "No meeting {id}.",
        "no_occurrence": "Meeting {id} has no occurrence to come.",
        "broken": "Meeting {id} cannot be checked: {why}",
        "group": "{name}: {ready}/{total} ready, {degraded} degraded, {not_ready} not ready, {unknown} unknown",
        "unknown_note": "{n} sites unknown: no agent has reported on them; to do: {action}",
    },
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "readiness",
        help="check that every site is ready for a meeting (exit 0 all ready, 1 not)",
        description="Show or run the readiness check of a meeting, or of a list of sites with --sites.",
    )
    parser.add_argument("meeting", nargs="?", help="meeting id (see giaoban meetings list)")
    parser.add_argument("--sites", help="check these sites instead of a meeting: all, or ids separated by commas")
    parser.add_argument("--now", action="store_true", help="run a fresh check now instead of showing the latest")
    parser.add_argument("--call-rate", default="2048kbit", help="with --sites: the call rate (default 2048kbit)")
    parser.add_argument("--duration", default="2h", help="with --sites: how long the session lasts (default 2h)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_storage_arguments(parser)


def render_report(report: ReadinessReport, config: Config) -> str:
    locale = config.organisation.locale
    text = _TEXT[locale]
    tz = ZoneInfo(config.organisation.timezone)
    fields = {
        "title": report.title,
        "when": local_text(report.occurrence_start, tz, locale),
        "ready": report.ready,
        "total": len(report.sites),
        "checked": local_text(report.checked_at, tz, locale),
    }
    lines = [text["adhoc" if report.meeting_id == "adhoc" else "heading"].format(**fields)]
    if report.groups:
        lines += _grouped(report, locale)
    else:
        for site in sorted(report.sites, key=lambda s: (s.verdict == "READY", s.site_id)):
            lines += _site_lines(report, site, locale)
    if report.all_ready:
        lines.append(text["all_ready"])
    return "\n".join(lines)


def _site_lines(report: ReadinessReport, site: SiteReadiness, locale: Locale, indent: str = "  ") -> list[str]:
    name = report.names.get(site.site_id, site.site_id)
    lines = [f"{indent}{verdict_text(site.verdict, locale):<15} {name} [{site.site_id}]"]
    for reason in site.reasons:
        message, action = reason.in_locale(locale)  # a stored report may come from a check in another locale
        lines.append(f"{indent}    - {message}")
        lines.append(f"{indent}      {_TEXT[locale]['action']}: {action}")
    return lines


def _grouped(report: ReadinessReport, locale: Locale) -> list[str]:
    """A joined report (issue 17): each province's counts, failing first, then its sites that are not ready.

    Ready sites are counted, not listed (3,321 lines would hide the few that matter); sites nobody reported
    on are listed by name, their one shared reason said once at the end."""
    text = _TEXT[locale]
    by_group: dict[str, list[SiteReadiness]] = {}
    for site in report.sites:  # already by province, failing first, worst first
        by_group.setdefault(report.group_of.get(site.site_id, ""), []).append(site)
    lines: list[str] = []
    unknown_action = ""
    unknown = 0
    for group in report.groups:
        lines.append("  " + text["group"].format(**group.to_json()))
        for site in by_group.get(group.id, []):
            if site.verdict == "READY":
                continue
            if site.verdict == UNKNOWN:
                unknown += 1
                unknown_action = site.reasons[0].in_locale(locale)[1] if site.reasons else ""
                name = report.names.get(site.site_id, site.site_id)
                lines.append(f"    {verdict_text(site.verdict, locale):<15} {name} [{site.site_id}]")
                continue
            lines += _site_lines(report, site, locale, indent="    ")
    if unknown:
        lines.append(text["unknown_note"].format(n=unknown, action=unknown_action))
    return lines


def _site_list(text: str) -> str | list[str]:
    if text.strip() == "all":
        return "all"
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise UsageError("--sites needs 'all' or site ids separated by commas")
    return ids


async def _report(args: argparse.Namespace, config: Config, storage: Storage) -> ReadinessReport | str:
    text = _TEXT[config.organisation.locale]
    if args.sites is not None:
        sites = _site_list(args.sites)
        if isinstance(sites, list):
            unknown = [s for s in sites if config.site(s) is None]
            if unknown:
                raise UsageError(f"--sites: no site {', '.join(unknown)} in {args.config}")
        try:
            call_rate, duration = parse_bandwidth(args.call_rate), parse_duration(args.duration)
        except ValueError as exc:
            raise UsageError(f"--call-rate/--duration: {exc}") from None
        async with probe_context() as ctx:
            engine = ReadinessEngine(config=lambda: config, storage=storage, ctx=ctx, progress=_progress(args))
            return await engine.check_sites(sites, call_rate=call_rate, duration=duration)
    meeting = await get_meeting(storage, args.meeting)
    if meeting is None:
        return text["no_meeting"].format(id=args.meeting)
    now = datetime.now(UTC)
    if not args.now:
        stored = await latest_report(storage, config, meeting, now)
        if stored is not None:
            return stored
    try:
        occurrence = next_occurrence(meeting, now)
    except RecurrenceError as exc:  # a stored rule from before the rules of entry: say so, exit 2
        return text["broken"].format(id=meeting.id, why=exc)
    if occurrence is None:
        return text["no_occurrence"].format(id=meeting.id)
    async with probe_context() as ctx:
        engine = ReadinessEngine(config=lambda: config, storage=storage, ctx=ctx, progress=_progress(args))
        checked = await engine.check_meeting(occurrence)
    # The answer with every other agent's verdicts (this check covered all participants, so it is the newest).
    return await joined_report(storage, config, meeting, occurrence.start) or checked


def _progress(args: argparse.Namespace) -> TerminalProgress | None:
    """A fresh check of many sites takes a while (each site's link is pinged ten times): show it on a terminal."""
    return terminal_progress("giaoban readiness", "điểm cầu / sites", quiet=args.json)


async def run(args: argparse.Namespace) -> int:
    if (args.meeting is None) == (args.sites is None):
        raise UsageError("name a meeting (giaoban readiness MEETING) or sites (giaoban readiness --sites all --now)")
    if args.sites is not None and not args.now:
        raise UsageError("--sites checks now: add --now")

    async def act(config: Config, storage: Storage) -> int:
        report = await _report(args, config, storage)
        if isinstance(report, str):
            print(report, file=sys.stderr)
            return EXIT_USAGE
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        else:
            print(render_report(report, config))
        return EXIT_OK if report.all_ready else EXIT_FAILED

    return await run_with_storage(args, act, resolve_secrets=True)
