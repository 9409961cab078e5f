"""`giaoban report`: the period report a province sends upwards, as HTML (A4), CSV, JSON or PDF.

    giaoban report --from 2026-11-01 --to 2026-11-30                      HTML on stdout, in the inventory's locale
    giaoban report --from 2026-11-01 --to 2026-11-30 --format csv -o thang11.csv
    giaoban report --from 2026-11-01 --to 2026-11-30 --format pdf -o thang11.pdf   (needs chromium)

DATE is a day in the organisation's zone (``--to`` included) or an ISO time. The figures and how they are
counted: monitor/web/report.py. PDF is the HTML printed by the installed Chromium (``--headless
--print-to-pdf``), bounded by PDF_TIMEOUT. Exit 0 written, 2 bad input (the field named in the locale).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from monitor.cli.common import EXIT_OK, EXIT_USAGE, add_storage_arguments, run_with_storage
from monitor.config.models import Config
from monitor.i18n import Locale
from monitor.storage.database import Storage
from monitor.web.report import MAX_DAYS, PeriodError, gather_report, parse_period
from monitor.web.report_render import to_csv, to_html, to_json
from monitor.web.site_texts import text

FORMATS = ("html", "csv", "json", "pdf")
PDF_TIMEOUT = 120.0
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
_PDF_MISSING = {
    "vi": "không tìm thấy chromium để in PDF; hãy cài (apt install chromium) hoặc dùng --format html rồi in "
    "từ trình duyệt",
    "en": "chromium was not found to print the PDF; install it (apt install chromium) or use --format html and print",
}
_PDF_FAILED = {"vi": "chromium không in được PDF: {why}", "en": "chromium could not print the PDF: {why}"}
_NEEDS_FILE = {"vi": "--format pdf cần -o TỆP", "en": "--format pdf needs -o FILE"}


def add_parser(commands: Any) -> None:
    parser = add_storage_arguments(
        commands.add_parser(
            "report",
            help="the period report: availability outside maintenance, loss, RTT, readiness, alerts",
            description="Per site and per parent unit over a period: link availability outside maintenance, loss "
            "and RTT percentiles, readiness per briefing with reasons, alerts and time to acknowledge.",
        )
    )
    parser.add_argument("--from", dest="since", required=True, help="first day, e.g. 2026-11-01 (or an ISO time)")
    parser.add_argument("--to", dest="until", required=True, help="last day, included, e.g. 2026-11-30")
    parser.add_argument(
        "--format", choices=FORMATS, default="html", help="html (prints on A4; default), csv, json, pdf"
    )
    parser.add_argument("--lang", choices=("vi", "en"), help="language of the HTML (default: the inventory's locale)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")


def _chromium() -> str | None:
    return next((found for name in CHROMIUM if (found := shutil.which(name)) is not None), None)


def print_pdf(page: str, output: Path, lang: Locale) -> str | None:
    """The HTML printed to ``output`` by headless Chromium; the problem in ``lang``, or None when written."""
    chromium = _chromium()
    if chromium is None:
        return _PDF_MISSING[lang]
    with tempfile.TemporaryDirectory(prefix="giaoban-report-") as work:
        source = Path(work) / "report.html"
        source.write_text(page, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={work}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={output.absolute()}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PDF_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return _PDF_FAILED[lang].format(why=f"> {PDF_TIMEOUT:.0f} s")
    if done.returncode != 0 or not output.exists():
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return _PDF_FAILED[lang].format(why=why[0])
    return None


async def run(args: argparse.Namespace) -> int:
    async def act(config: Config, storage: Storage) -> int:
        lang: Locale = args.lang or config.organisation.locale
        try:
            period = parse_period(args.since, args.until, config)
        except PeriodError as exc:
            message = text(lang, exc.key, field=f"--{exc.field}", days=MAX_DAYS)
            print(f"giaoban report: {message}", file=sys.stderr)
            return EXIT_USAGE
        if args.format == "pdf" and not args.output:
            print(f"giaoban report: {_NEEDS_FILE[lang]}", file=sys.stderr)
            return EXIT_USAGE
        made = await gather_report(config, storage, period)
        if args.format == "csv":
            body = await asyncio.to_thread(to_csv, made)
        elif args.format == "json":
            body = await asyncio.to_thread(to_json, made) + "\n"
        else:
            body = await asyncio.to_thread(to_html, made, lang=lang)
        if args.format == "pdf":
            problem = await asyncio.to_thread(print_pdf, body, Path(args.output), lang)
            if problem is not None:
                print(f"giaoban report: {problem}", file=sys.stderr)
                return EXIT_USAGE
        elif args.output:
            await asyncio.to_thread(Path(args.output).write_text, body, encoding="utf-8", newline="")
        else:
            sys.stdout.write(body)
            return EXIT_OK
        print(text(lang, "report_written", file=args.output), file=sys.stderr)
        return EXIT_OK

    return await run_with_storage(args, act)
