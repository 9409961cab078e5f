"""The period report (monitor/web/report.py) as CSV, as HTML that prints on A4, and as JSON.

    to_csv(report)            one table, a ``section`` column first: site, unit, briefing, alert (for a spreadsheet)
    to_html(report, lang=)    a document for people: the units, the sites, every briefing, the alerts; @page A4
    to_json(report)           the API's answer

CSV keeps machine forms (ratios, seconds, ISO times in UTC, English column names) so that a spreadsheet can
compute; the HTML speaks the organisation's language with its numbers (decimal comma in Vietnamese), times in
its zone. Every value that came from a user (names, titles, reasons, who acknowledged) is escaped in HTML; a
CSV cell that a spreadsheet would read as a formula (=, +, -, @) is prefixed with an apostrophe (OWASP's advice
against CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.i18n import Locale, local_text, number, span, verdict_text
from monitor.web.report import Figures, Report, SiteReport
from monitor.web.site_html import escape as _e
from monitor.web.site_html import escaped_text as _t
from monitor.web.site_html import stored_reason
from monitor.web.site_texts import text

COLUMNS = (
    "section", "group", "site", "name", "availability", "maintenance_hours", "loss_mean", "loss_p95", "rtt_p50",
    "rtt_p95", "briefings", "ready", "degraded", "not_ready", "alerts", "acknowledged", "tta_median", "tta_max",
    "meeting", "start", "verdict", "reasons", "alert", "rule", "fired_at", "acked_at", "acked_by",
)  # fmt: skip

PRINT_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.35 "Noto Sans", "DejaVu Sans", system-ui, sans-serif; color: #111; margin: 0 auto;
  max-width: 190mm; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; break-after: avoid; }
p { margin: 1mm 0; }
.muted { color: #444; font-size: 9.5pt; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 3mm; font-size: 8.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 0.3mm solid #999; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #e8ecf2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td p { margin: 0 0 1mm; }
.READY { color: #1a7f37; font-weight: 700; } .DEGRADED { color: #8a5a00; font-weight: 700; }
.NOT_READY { color: #c62828; font-weight: 700; }
@media screen { body { padding: 8mm; } }
"""


# --- machine forms --------------------------------------------------------------------------------------


def _iso(moment: datetime | float | None) -> str:
    if moment is None:
        return ""
    value = moment if isinstance(moment, datetime) else datetime.fromtimestamp(moment, UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _codes(reasons: tuple[Mapping[str, Any], ...]) -> str:
    return " ".join(str(r.get("code", "")) for r in reasons)


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "availability": f.availability,
        "maintenance_hours": f.maintenance_hours,
        "briefings": f.briefings,
        "ready": f.ready,
        "degraded": f.degraded,
        "not_ready": f.not_ready,
        "alerts": len(f.alerts),
        "acknowledged": f.acknowledged,
        "tta_median": f.tta_median,
        "tta_max": f.tta_max,
    }


def _site(s: SiteReport) -> dict[str, Any]:
    return {"loss_mean": s.loss_mean, "loss_p95": s.loss_p95, "rtt_p50": s.rtt_p50, "rtt_p95": s.rtt_p95}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    shown = str(value)
    return f"'{shown}" if shown[:1] in ("=", "+", "-", "@", "\t", "\r") else shown


def to_csv(report: Report) -> str:
    """Every site, unit, site × briefing and alert as rows of one table (machine forms; see the module)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()

    def row(**values: Any) -> None:
        writer.writerow({key: _cell(value) for key, value in values.items()})

    for group in report.groups:
        row(section="unit", group=group.id, name=group.name, **_figures(group.figures))
    for site in report.sites:
        row(
            section="site", group=site.group, site=site.site_id, name=site.name, **_figures(site.figures), **_site(site)
        )
    for site in report.sites:
        for b in site.briefings:
            row(
                section="briefing",
                group=site.group,
                site=site.site_id,
                name=site.name,
                meeting=b.title,
                start=_iso(b.start),
                verdict=b.verdict,
                reasons=_codes(b.reasons),
            )
    for site in report.sites:
        for a in site.figures.alerts:
            row(
                section="alert",
                group=site.group,
                site=site.site_id,
                name=site.name,
                alert=a.id,
                rule=a.rule,
                fired_at=_iso(a.fired_at),
                acked_at=_iso(a.acked_at),
                acked_by=a.acked_by,
                tta_median=a.to_acknowledge,
            )
    return out.getvalue()


def to_json(report: Report) -> str:
    """The API's answer: the period, every unit and site with its figures, briefings and alerts."""
    body = {
        "organisation": report.organisation,
        "from": _iso(report.period.since),
        "to": _iso(report.period.until),
        "timezone": report.period.zone,
        "generated": _iso(report.generated),
        "units": [{"id": g.id, "name": g.name, "sites": g.sites, **_figures(g.figures)} for g in report.groups],
        "sites": [
            {
                "id": s.site_id,
                "name": s.name,
                "unit": s.group,
                **_figures(s.figures),
                **_site(s),
                "briefings": [
                    {
                        "meeting": b.meeting_id,
                        "title": b.title,
                        "start": _iso(b.start),
                        "verdict": b.verdict,
                        "reasons": [dict(r) for r in b.reasons],
                    }
                    for b in s.briefings
                ],
                "alerts": [
                    {
                        "id": a.id,
                        "rule": a.rule,
                        "severity": a.severity,
                        "summary": a.summary,
                        "fired_at": _iso(a.fired_at),
                        "acked_at": _iso(a.acked_at),
                        "acked_by": a.acked_by,
                        "to_acknowledge": a.to_acknowledge,
                    }
                    for a in s.figures.alerts
                ],
            }
            for s in report.sites
        ],
    }
    return json.dumps(body, ensure_ascii=False)


# --- the document ---------------------------------------------------------------------------------------


def _pct(ratio: float | None, lang: Locale, digits: int = 2) -> str:
    return f"{number(ratio * 100, lang, digits)} %" if ratio is not None else text(lang, "unknown")


def _ms(seconds: float | None, lang: Locale) -> str:
    return f"{number(seconds * 1000, lang, 1)} ms" if seconds is not None else text(lang, "unknown")


def _wait(seconds: float | None, lang: Locale) -> str:
    return span(seconds, lang) if seconds is not None else text(lang, "unknown")


def _table(heads: list[tuple[str, bool]], rows: list[list[str]], lang: Locale) -> str:
    if not rows:
        return f'<p class="muted">{_t(lang, "no_rows")}</p>'
    head = "".join(f'<th scope="col"{" class=num" if num else ""}>{label}</th>' for label, num in heads)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if num else ''}>{cell}</td>" for cell, (_, num) in zip(row, heads, strict=True))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _reasons(reasons: tuple[Mapping[str, Any], ...], lang: Locale) -> str:
    shown = []
    for stored in reasons:
        reason = stored_reason(stored)
        shown.append(_e(reason.in_locale(lang)[0]))
    return "<br>".join(shown)


def to_html(report: Report, *, lang: Locale) -> str:
    """The report as a document that prints on A4 (@page, repeated table heads, rows kept whole)."""
    tz = ZoneInfo(report.period.zone)
    last_day = datetime.fromtimestamp(report.period.until.timestamp() - 1, UTC)
    since, until = local_text(report.period.since, tz, lang), local_text(last_day, tz, lang)
    names = {s.site_id: s.name for s in report.sites}
    figures_heads = [
        (_t(lang, "availability"), True),
        (_t(lang, "maintenance_hours"), True),
        (_t(lang, "ready_briefings"), True),
        (_t(lang, "alerts_count"), True),
        (_t(lang, "acked_count"), True),
        (_t(lang, "tta_median"), True),
        (_t(lang, "tta_max"), True),
    ]

    def figures(f: Figures) -> list[str]:
        return [
            _pct(f.availability, lang),
            number(f.maintenance_hours, lang, 1),
            f"{f.ready}/{f.briefings}",
            str(len(f.alerts)),
            str(f.acknowledged),
            _e(_wait(f.tta_median, lang)),
            _e(_wait(f.tta_max, lang)),
        ]

    groups = _table(
        [(_t(lang, "group"), False), (_t(lang, "sites_count"), True), *figures_heads],
        [[_e(g.name), str(g.sites), *figures(g.figures)] for g in report.groups],
        lang,
    )
    sites = _table(
        [
            (_t(lang, "site"), False),
            *figures_heads[:2],
            (_t(lang, "loss_mean"), True),
            (_t(lang, "loss_p95"), True),
            (_t(lang, "rtt_p50"), True),
            (_t(lang, "rtt_p95"), True),
            *figures_heads[2:],
        ],
        [
            [
                _e(s.name),
                *figures(s.figures)[:2],
                _pct(s.loss_mean, lang),
                _pct(s.loss_p95, lang),
                _ms(s.rtt_p50, lang),
                _ms(s.rtt_p95, lang),
                *figures(s.figures)[2:],
            ]
            for s in report.sites
        ],
        lang,
    )
    # One row per briefing: a province has 100+ communes, so the ready ones are counted and the others listed
    # with their reasons (the CSV has every site of every briefing).
    briefing_rows = []
    for briefing in report.briefings:
        ready = sum(1 for verdict, _ in briefing.verdicts.values() if verdict == "READY")
        others = sorted(
            ((site, v) for site, v in briefing.verdicts.items() if v[0] != "READY"),
            key=lambda item: (item[1][0] != "NOT_READY", names.get(item[0], item[0])),
        )
        listed = "".join(
            f'<p><b>{_e(names.get(site_id, site_id))}</b>: <span class="{_e(verdict)}">'
            f"{_e(verdict_text(verdict, lang))}</span>" + (f" — {_reasons(reasons, lang)}" if reasons else "") + "</p>"
            for site_id, (verdict, reasons) in others
        )
        briefing_rows.append(
            [
                _e(briefing.title),
                _e(local_text(briefing.start, tz, lang)),
                f"{ready}/{len(briefing.verdicts)}",
                listed,
            ]
        )
    briefings = _table(
        [
            (_t(lang, "briefing"), False),
            (_t(lang, "when"), False),
            (_t(lang, "ready_sites"), True),
            (_t(lang, "not_ready_sites"), False),
        ],
        briefing_rows,
        lang,
    )
    alert_rows = [
        [
            _e(s.name),
            _e(a.summary or a.rule),
            _e(local_text(datetime.fromtimestamp(a.fired_at, UTC), tz, lang)),
            _e(local_text(datetime.fromtimestamp(a.acked_at, UTC), tz, lang)) if a.acked_at is not None else "",
            _e(a.acked_by or ""),
            _e(_wait(a.to_acknowledge, lang)),
        ]
        for s in report.sites
        for a in s.figures.alerts
    ]
    alerts = _table(
        [
            (_t(lang, "site"), False),
            (_t(lang, "rule"), False),
            (_t(lang, "fired"), False),
            (_t(lang, "ack"), False),
            (_t(lang, "ack_by"), False),
            (_t(lang, "tta"), True),
        ],
        alert_rows,
        lang,
    )
    generated = local_text(report.generated, tz, lang)
    title = _t(lang, "report_title")
    return (
        "<!doctype html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{title} · {_e(report.organisation)}</title><style>{PRINT_CSS}</style></head><body>"
        f"<h1>{title}</h1><p><b>{_e(report.organisation)}</b></p>"
        f"<p>{_t(lang, 'report_period', start=since, end=until, zone=report.period.zone)}</p>"
        f'<p class="muted">{_t(lang, "report_generated", time=generated)}. {_t(lang, "report_rule")}</p>'
        f"<h2>{_t(lang, 'groups')}</h2>{groups}"
        f"<h2>{_t(lang, 'sites')}</h2>{sites}"
        f"<h2>{_t(lang, 'briefing_table')}</h2>{briefings}"
        f"<h2>{_t(lang, 'alert_table')}</h2>{alerts}"
        "</body></html>\n"
    )


__all__ = ["COLUMNS", "to_csv", "to_html", "to_json"]
