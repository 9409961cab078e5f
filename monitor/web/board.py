"""The readiness board at GET /: "are all the communes ready for 07:30?" on a phone, on a closed network.

    GET /                 Vietnamese by default (district.locale)
    GET /?lang=en         English
    GET /?refresh=60      reload every 60 s (clamped to 5..3600; default 30)
    GET /?q=lam vy        only the sites whose name or id holds "lam vy" (case and diacritics ignored)

One server-rendered HTML page with its CSS inline (monitor/web/board.css) and no script, font or CDN from
elsewhere; the filter is a plain GET form. Built for a province (92 to 168 communes, issue 14), worst first:

- what giaoban itself cannot measure (no ICMP permission, its own misconfiguration), once, with the fix
  (monitor/engine/setup.py), instead of the same paragraph on every site;
- the next meetings of the coming week (the next occurrence of each, up to five): the verdict, then every
  site not ready or degraded with each reason and what to do; sites whose only finding is giaoban's set-up in
  one compact line; the ready ones as a compact list (folded away when there are many);
- the open alerts (anchors ``#alert-<id>``, the links that alert messages carry);
- the links that are down or poor with their loss, RTT, jitter and MOS; the others as one compact list.

On a wide screen the lists flow into columns. Every site's name links to its page, ``sites/{id}?lang=``
(monitor/web/site_page.py). Built from the stored reports and alerts and the in-memory
state: one query for the meetings, one report (two queries) per meeting shown, one for the alerts. Every
value that came from a user — site names, meeting titles, reason texts, ids, the filter — is escaped; a
strict Content-Security-Policy forbids scripts anyway. Reasons are shown as the readiness engine stored
them, rendered again in the reader's language when their values were stored.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from alerts.catalog import SERVICE_SITE
from alerts.model import AlertRecord
from alerts.store import OPEN_STATES, SqlAlertStore
from monitor.config.models import Config, Site, Thresholds
from monitor.engine.assessment import MOS, RTT, LinkAssessment, MetricFinding, assess_link
from monitor.engine.setup import SetupFault, setup_faults
from monitor.i18n import LOCALES, local_text, number, span, verdict_text
from monitor.i18n import Locale as Lang  # the board names its locale after its ?lang= parameter
from monitor.readiness.checks import SiteReadiness
from monitor.readiness.events import ReasonText
from monitor.readiness.joined import joined_report
from monitor.readiness.meetings import Occurrence, list_upcoming
from monitor.readiness.participants import meeting_site_ids
from monitor.readiness.report import UNKNOWN, GroupCount, ReadinessReport
from monitor.readiness.schedule import lead_times_of
from monitor.storage.database import Storage
from monitor.web.board_filter import matches
from monitor.web.board_texts import text
from probes.core.result import ProbeResult

if TYPE_CHECKING:
    from monitor.web.view import ServiceView

HORIZON = timedelta(days=7)
MEETINGS_SHOWN = 5
ALERTS_SHOWN = 100
REFRESH_DEFAULT, REFRESH_MIN, REFRESH_MAX = 30, 5, 3600
CSS = files("monitor.web").joinpath("board.css").read_text(encoding="utf-8")
QUERY_MAX = 100  # characters of ?q= kept: a name or an id, never a paragraph
OPEN_UP_TO = 30  # a compact list of more entries is folded away (<details>) unless the reader filtered
# No script at all, so none is allowed; frame-ancestors and form-action are not covered by default-src. The
# filter form submits to the board itself.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
SYMBOLS = {"READY": "✓", "DEGRADED": "!", "NOT_READY": "✗", UNKNOWN: "?"}
VERDICT_ORDER = {"NOT_READY": 0, UNKNOWN: 1, "DEGRADED": 2, "READY": 3}
SITES_PER_PROVINCE = 50  # sites with findings shown in full per province; the rest counted (the filter finds them)
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
MEASURES = ("loss", "rtt", "jitter", "mos")  # the link table's numbers, in column order


@dataclass(frozen=True, slots=True)
class MeetingView:
    occurrence: Occurrence
    report: ReadinessReport | None  # the latest report of this very occurrence
    participants: int
    first_check: datetime | None  # when the engine checks it first (None: no lead time)


@dataclass(frozen=True, slots=True)
class LinkView:
    site: Site
    result: ProbeResult | None  # the scheduler's latest round, None before the first
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class BoardData:
    config: Config
    now: datetime
    meetings: list[MeetingView]
    links: list[LinkView]
    alerts: list[AlertRecord]
    setup: tuple[SetupFault, ...] = ()  # what giaoban cannot measure, per probe kind (shown once, at the top)
    query: str = ""  # ?q=: only the sites whose name or id matches


# --- gathering ------------------------------------------------------------------------------------------


async def open_alerts(service: ServiceView) -> list[AlertRecord]:
    """Pending and firing alerts, from the same store /api/v1/alerts reads (empty until the engine writes)."""
    records = await SqlAlertStore(service.storage).list_alerts(state=OPEN_STATES)
    return sorted(
        records,
        key=lambda a: (a.state != "firing", SEVERITY_ORDER.get(a.severity, 9), -a.started_at, a.id),
    )


async def _report(storage: Storage, config: Config, occurrence: Occurrence) -> ReadinessReport | None:
    # This occurrence's reports only (last week's says nothing about today's), every agent's joined (issue 17).
    return await joined_report(storage, config, occurrence.meeting, occurrence.start)


def _participants(config: Config, sites: str | tuple[str, ...]) -> int:
    # Counted here, not with readiness.participants: that one logs each missing site, and the board renders often.
    return len(meeting_site_ids(config, sites))


def _first_check(occurrence: Occurrence, config: Config) -> datetime | None:
    leads = lead_times_of(occurrence, config.readiness.lead_times)
    return occurrence.start - timedelta(seconds=leads[0]) if leads else None


async def collect(service: ServiceView, now: datetime, *, query: str = "") -> BoardData:
    """Everything the board shows, read once per request."""
    config = service.config
    shown: dict[str, Occurrence] = {}
    for occurrence in await list_upcoming(service.storage, now=now, horizon=HORIZON):
        # The next (or running) occurrence of each meeting: a daily briefing must not fill the board alone.
        if occurrence.meeting.id not in shown and len(shown) < MEETINGS_SHOWN:
            shown[occurrence.meeting.id] = occurrence
    meetings = [
        MeetingView(
            occurrence=occurrence,
            report=await _report(service.storage, config, occurrence),
            participants=_participants(config, occurrence.meeting.sites),
            first_check=_first_check(occurrence, config),
        )
        for occurrence in shown.values()
    ]
    links = []
    for site in config.sites:
        if site.link is not None:
            entry = service.state.get(f"{site.id}/link")
            links.append(LinkView(site, entry.latest if entry else None, config.thresholds_for(site)))
    alerts = await open_alerts(service)
    return BoardData(config, now, meetings, links, alerts, setup_faults(service.state), query)


# --- rendering ------------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _t(lang: Lang, key: str, **fields: object) -> str:
    """A board sentence with every filled-in value escaped (the templates themselves are ours)."""
    return text(lang, key, **{name: _e(value) for name, value in fields.items()})


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def _clock(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """'07:05', or '07:05 06/12' when it is not today."""
    local, today = _local(moment, tz), _local(now, tz)
    return f"{local:%H:%M}" if local.date() == today.date() else f"{local:%H:%M %d/%m}"


def _badge(verdict: str, lang: Lang) -> str:
    return f'<span class="badge {verdict}">{SYMBOLS[verdict]} {_e(verdict_text(verdict, lang))}</span>'


def _href(lang: Lang, refresh: int, query: str = "") -> str:
    """The board's own URL with these parameters, ready for an href attribute."""
    return _e(f"?{urlencode({'lang': lang, 'refresh': refresh, **({'q': query} if query else {})})}")


def _site_link(site_id: str, name: str, lang: Lang) -> str:
    """The site's name as a link to its page (GET /sites/{id}, monitor/web/site_page.py), in the reader's language."""
    href = _e(f"sites/{quote(site_id, safe='')}?lang={lang}")
    return f'<a class="site-link" href="{href}">{_e(name)}</a>'


def _compact(summary: str, items: list[str], *, opened: bool, css: str = "") -> str:
    """A compact list under a one-line summary; folded away (<details>, no script) when long."""
    return (
        f'<details class="group {css}"{" open" if opened else ""}><summary>{summary}</summary>'
        f'<ul class="compact">{"".join(items)}</ul></details>'
    )


def _filter(data: BoardData, lang: Lang, refresh: int) -> str:
    """The GET form of ?q=: works without script, keeps the language and the refresh interval."""
    query = data.query
    out = [
        '<form class="filter" method="get" role="search">',
        f'<label for="q" class="hidden">{_t(lang, "filter_label")}</label>',
        f'<input id="q" type="search" name="q" value="{_e(query)}" maxlength="{QUERY_MAX}" '
        f'placeholder="{_t(lang, "filter_placeholder")}" autocomplete="off">',
        f'<input type="hidden" name="lang" value="{lang}"><input type="hidden" name="refresh" value="{refresh}">',
        f'<button type="submit">{_t(lang, "filter_button")}</button>',
    ]
    if query:
        out.append(f'<a href="{_href(lang, refresh)}">{_t(lang, "filter_clear")}</a>')
    out.append("</form>")
    if query:
        n = sum(1 for site in data.config.sites if matches(site.id, site.name, query))
        key = "filter_active" if n else "filter_none"
        out.append(f'<p class="filtered">{_t(lang, key, query=query, n=n)}</p>')
    return "".join(out)


def _setup(data: BoardData, lang: Lang) -> str:
    """What giaoban cannot measure and how to fix it: once for the whole board, not on every site."""
    out = []
    for fault in data.setup:
        out.append(
            f'<section class="setup" aria-labelledby="h-setup-{_e(fault.kind)}">'
            f'<h2 id="h-setup-{_e(fault.kind)}">⚠ {_t(lang, "setup_title", count=fault.count, kind=fault.kind)}</h2>'
            f"<p>{_t(lang, 'setup_what', sites=len(fault.sites))}</p>"
            f'<p class="fix"><b>{_t(lang, "setup_fix")}</b> {_e(fault.fix(lang))}</p></section>'
        )
    return "".join(out)


def _reason_items(reasons: Sequence[ReasonText], lang: Lang) -> str:
    items = []
    for reason in reasons:
        message, action = reason.in_locale(lang)
        items.append(
            f'<li><span class="message">{_e(message)}</span> <span class="action">'
            f"<b>{_t(lang, 'action')}</b> {_e(action)}</span></li>"
        )
    return '<ul class="reasons">' + "".join(items) + "</ul>"


def _site(site: SiteReadiness, own: SiteReadiness, report: ReadinessReport, lang: Lang, *, opened: bool) -> str:
    """A site with findings of its own: its verdict, the first reason and what to do; the others folded below it.

    Reasons come in the order an operator fixes them (a port down before the codec behind it), so the first is
    the one to act on; folding the rest keeps every failing commune of a province on the first screen (issue 14).
    """
    out = [f'<li class="site site-{_e(site.verdict)}">{_badge(site.verdict, lang)}']
    name = _site_link(site.site_id, report.names.get(site.site_id, site.site_id), lang)
    out.append(f'<span class="site-name">{name}</span>')
    if own.reasons:
        first, rest = own.reasons[:1], own.reasons[1:]
        out.append(_reason_items(first, lang))
        if rest:
            out.append(
                f'<details class="more"{" open" if opened else ""}><summary>'
                f"{_t(lang, 'more_reasons', n=len(rest))}</summary>{_reason_items(rest, lang)}</details>"
            )
    if len(own.reasons) < len(site.reasons):  # giaoban's set-up too: said once at the top, not here
        out.append(f'<p class="note">{_t(lang, "unchecked_note")}</p>')
    out.append("</li>")
    return "".join(out)


def _provinces(report: ReadinessReport, data: BoardData, lang: Lang) -> str:
    """A meeting of several provinces (issue 17): each province's counts, failing first; then, per province, its
    sites with findings (up to SITES_PER_PROVINCE in full), and those nobody reported on in one compact list."""
    by_group: dict[str, list[SiteReadiness]] = {}
    for site in report.sites:  # already by province, failing first, worst first (monitor/readiness/joined.py)
        if matches(site.site_id, report.names.get(site.site_id, site.site_id), data.query):
            by_group.setdefault(report.group_of.get(site.site_id, ""), []).append(site)
    if not by_group:
        return f'<p class="muted">{_t(lang, "filter_none", query=data.query)}</p>'
    heads = [_t(lang, key) for key in ("province",)] + [_e(verdict_text(v, lang)) for v in VERDICT_COLUMNS]
    out = [
        '<table class="provinces"><thead><tr>',
        f'<th scope="col">{heads[0]}</th>',
        *(f'<th scope="col" class="num">{head}</th>' for head in heads[1:]),
        "</tr></thead><tbody>",
    ]
    for group in report.groups:
        numbers = (group.ready, group.degraded, group.not_ready, group.unknown)
        worst = _worst(group)
        out.append(f'<tr><th scope="row"><span class="badge {worst}">{SYMBOLS[worst]}</span> {_e(group.name)}</th>')
        out.extend(f'<td class="num" data-label="{head}">{n}</td>' for head, n in zip(heads[1:], numbers, strict=True))
        out.append("</tr>")
    out.append("</tbody></table>")
    for group in report.groups:
        sites = by_group.get(group.id, [])
        own = {s.site_id: s.own() for s in sites}
        problems = [s for s in sites if s.verdict != UNKNOWN and own[s.site_id].verdict != "READY"]
        unknown = [s for s in sites if s.verdict == UNKNOWN]
        if not problems and not unknown:
            continue
        counts = _t(lang, "province_counts", **group.to_json())
        opened = bool(data.query) or len(problems) + len(unknown) <= OPEN_UP_TO
        out.append(
            f'<details class="province"{" open" if opened else ""}><summary>{_e(group.name)} · {counts}</summary>'
        )
        if problems:
            out.append('<ul class="sites">')
            shown = problems[:SITES_PER_PROVINCE]
            out.extend(_site(s, own[s.site_id], report, lang, opened=bool(data.query)) for s in shown)
            out.append("</ul>")
            if len(problems) > SITES_PER_PROVINCE:
                out.append(f'<p class="muted">{_t(lang, "more_sites", n=len(problems) - SITES_PER_PROVINCE)}</p>')
        if unknown:
            summary = f'<span class="badge UNKNOWN">?</span> {_t(lang, "unknown_group", n=len(unknown))}'
            items = [f"<li>? {_e(report.names.get(s.site_id, s.site_id))}</li>" for s in unknown]
            out.append(_compact(summary, items, opened=bool(data.query) or len(unknown) <= OPEN_UP_TO))
        out.append("</details>")
    return "".join(out)


VERDICT_COLUMNS = ("READY", "DEGRADED", "NOT_READY", UNKNOWN)


def _worst(group: GroupCount) -> str:
    """A province's badge: not ready, else unknown, else degraded, else ready (the order groups are sorted in)."""
    if group.not_ready:
        return "NOT_READY"
    if group.unknown:
        return UNKNOWN
    return "DEGRADED" if group.degraded else "READY"


def _meeting_sites(report: ReadinessReport, data: BoardData, lang: Lang) -> str:
    """Sites with problems of their own first, worst first; then those only giaoban could not measure; then the
    ready ones, compact. A meeting of several provinces is shown by province (_provinces)."""
    if len(report.groups) > 1:
        return _provinces(report, data, lang)
    order = {site.id: index for index, site in enumerate(data.config.sites)}
    ranked = sorted(report.sites, key=lambda s: (VERDICT_ORDER.get(s.verdict, 0), order.get(s.site_id, len(order))))
    shown = [s for s in ranked if matches(s.site_id, report.names.get(s.site_id, s.site_id), data.query)]
    if not shown:
        return f'<p class="muted">{_t(lang, "filter_none", query=data.query)}</p>'
    own = {s.site_id: s.own() for s in shown}
    problems = [s for s in shown if own[s.site_id].verdict != "READY"]
    unchecked = [s for s in shown if s.verdict != "READY" and own[s.site_id].verdict == "READY"]
    ready = [s for s in shown if s.verdict == "READY"]
    out = []
    opened = bool(data.query)
    if problems:
        out.append('<ul class="sites">')
        out.extend(_site(s, own[s.site_id], report, lang, opened=opened) for s in problems)
        out.append("</ul>")

    def names(sites: list[SiteReadiness], symbol: str) -> list[str]:
        return [
            f"<li>{symbol} {_site_link(s.site_id, report.names.get(s.site_id, s.site_id), lang)}</li>" for s in sites
        ]

    if unchecked:
        summary = f'<span class="badge PENDING">?</span> {_t(lang, "unchecked_group", n=len(unchecked))}'
        out.append(_compact(summary, names(unchecked, "?"), opened=opened or len(unchecked) <= OPEN_UP_TO))
    if ready:
        summary = f'<span class="badge READY">✓</span> {_t(lang, "ready_group", n=len(ready))}'
        out.append(_compact(summary, names(ready, "✓"), opened=opened or len(ready) <= OPEN_UP_TO, css="ok"))
    return "".join(out)


def _meeting(view: MeetingView, data: BoardData, tz: ZoneInfo, lang: Lang) -> str:
    occurrence, report = view.occurrence, view.report
    start = occurrence.start
    when = local_text(start, tz, lang)
    timing = (
        _t(lang, "running")
        if start <= data.now
        else _t(lang, "starts_in", duration=span((start - data.now).total_seconds(), lang, round_up=True))
    )
    failing = report is not None and not report.all_ready
    out = [
        # A meeting with failing sites takes the whole width: its communes flow into as many columns as fit.
        f'<article class="card meeting{" problems" if failing else ""}">',
        f"<h3>{_e(occurrence.meeting.title)}</h3>",
        f'<p class="when"><time datetime="{_e(start.isoformat())}">{_e(when)}</time> · {timing}</p>',
    ]
    if start <= data.now:  # in progress: who is connected, missing, with poor media (monitor/web/board_call.py)
        live = _e(f"/meetings/{occurrence.meeting.id}/live?lang={lang}")
        out.append(f'<p class="live"><a href="{live}">{_t(lang, "live")}</a></p>')
    if report is None:
        if view.first_check is None or view.first_check <= data.now:
            due = _t(lang, "first_check_now")
        else:
            due = _t(lang, "first_check", time=_clock(view.first_check, tz, data.now))
        out.append(f'<p class="summary PENDING">{_t(lang, "not_checked")}</p>')
        out.append(f'<p class="checked">{due} {_t(lang, "participants", n=view.participants)}</p>')
        out.append("</article>")
        return "".join(out)
    total, ready = len(report.sites), report.ready
    if report.all_ready:
        overall, summary = "READY", _t(lang, "all_ready", total=total)
    else:
        # A site nobody reported on is never ready: it weighs as not ready in the meeting's verdict.
        overall = "NOT_READY" if any(s.verdict in ("NOT_READY", UNKNOWN) for s in report.sites) else "DEGRADED"
        summary = _t(lang, "ready_count", ready=ready, total=total)
    checked_at = _clock(report.checked_at, tz, data.now)
    checked = (
        _t(lang, "checked", time=checked_at, lead=span(report.lead_time, lang, round_up=True))
        if report.lead_time >= 60
        else _t(lang, "checked_late", time=checked_at)
    )
    out.append(f'<p class="summary {overall}">{SYMBOLS[overall]} {summary}</p>')
    out.append(f'<p class="checked">{checked}</p>')
    out.append(_meeting_sites(report, data, lang))
    out.append("</article>")
    return "".join(out)


def _alerts(data: BoardData, tz: ZoneInfo, lang: Lang) -> str:
    names = {site.id: site.name for site in data.config.sites}
    names[SERVICE_SITE] = "giaoban"  # an alert about giaoban itself (probe_setup)
    # Filtered, the alerts of the matching sites only (giaoban's own are not a site's).
    shown = [
        a
        for a in data.alerts
        if not data.query or (a.site in names and a.site != SERVICE_SITE and matches(a.site, names[a.site], data.query))
    ]
    if not shown:
        return f'<p class="muted">{_t(lang, "no_alerts")}</p>'
    listed = shown[:ALERTS_SHOWN]
    items = {alert.id: _alert(alert, names, data, tz, lang) for alert in listed}
    firing = [items[a.id] for a in listed if a.state == "firing"]
    # Pending: not yet long enough to notify anyone; at province scale a dozen of them would bury the firing ones.
    pending = [items[a.id] for a in listed if a.state != "firing"]
    out = [f'<ul class="alerts">{"".join(firing)}</ul>'] if firing else []
    if pending:
        out.append(
            f'<details class="group"{" open" if data.query else ""}><summary>'
            f"{_t(lang, 'alerts_pending', n=len(pending))}</summary>"
            f'<ul class="alerts">{"".join(pending)}</ul></details>'
        )
    if len(shown) > ALERTS_SHOWN:
        out.append(f'<p class="muted">{_t(lang, "more_alerts", n=len(shown) - ALERTS_SHOWN)}</p>')
    return "".join(out)


def _alert(alert: AlertRecord, names: dict[str, str], data: BoardData, tz: ZoneInfo, lang: Lang) -> str:
    """One open alert: severity, site, its one-line summary, state and since when (anchor #alert-ID)."""
    meta = [
        _t(lang, alert.state),
        _t(lang, "since", time=_clock(datetime.fromtimestamp(alert.started_at, UTC), tz, data.now)),
    ]
    if alert.acked_by:
        meta.append(_t(lang, "acked", who=alert.acked_by))
    if alert.suppressed_by:
        parent = alert.suppressed_by
        meta.append(
            _t(lang, "maintenance") if parent.startswith("maintenance:") else _t(lang, "suppressed", parent=parent)
        )
    severity = alert.severity if alert.severity in SEVERITY_ORDER else "critical"
    known = alert.site in names and alert.site != SERVICE_SITE  # giaoban's own alerts have no site page
    site = _site_link(alert.site, names[alert.site], lang) if known else _e(names.get(alert.site, alert.site))
    return (
        f'<li class="alert {severity}" id="alert-{_e(alert.id)}"><b>{_t(lang, severity)}</b> · '
        f"<b>{site}</b>: {_e(alert.summary or alert.rule)}"
        f'<span class="meta">{" · ".join(meta)}</span></li>'
    )


def _link_state(view: LinkView) -> tuple[str, str, LinkAssessment | None]:
    """(state key, css verdict class, the assessment of the latest round)."""
    if view.result is None:
        return "link_pending", "PENDING", None
    link = assess_link(view.result, view.thresholds)
    if link.status == "unchecked":  # giaoban could not probe (OWN_FAULTS): not the link's fault, said at the top
        return "link_unchecked", "PENDING", link
    if link.status == "down":
        return "link_down", "NOT_READY", link
    return ("link_poor", "DEGRADED", link) if link.beyond_soft else ("link_up", "READY", link)


def _measure(found: MetricFinding | None, *, label: str, lang: Lang) -> str:
    """One number of the link table ("2 %", "12 ms", "4,3"); one beyond its soft limit is marked with "!" and colour."""
    if found is None:
        return f'<td class="num" data-label="{label}">{_t(lang, "unknown")}</td>'
    over = found.beyond_soft
    shown = _e(_amount(found, lang))
    css = "num over" if over else "num"
    return f'<td class="{css}" data-label="{label}">{"! " if over else ""}{shown}</td>'


def _amount(found: MetricFinding, lang: Lang) -> str:
    """A measured value in the unit people read ("2 %", "12 ms", "4,3")."""
    metric = found.metric
    value = number(found.value * metric.scale, lang, 2 if metric is MOS else 1)
    return f"{value} {metric.unit}" if metric.unit else value


def _link_item(view: LinkView, state: str, css: str, link: LinkAssessment | None, lang: Lang) -> str:
    """A link with nothing to act on, in one short line: its RTT when up, else why it has no numbers."""
    name = f'<span class="name">{_site_link(view.site.id, view.site.name, lang)}</span>'
    if state == "link_up" and link is not None:
        rtt = link.finding(RTT.name)
        detail = _e(_amount(rtt, lang)) if rtt is not None else _t(lang, "link_up")
        return f'<li class="{css}">{SYMBOLS.get(css, "✓")} {name} <span class="num">{detail}</span></li>'
    symbol = "?" if state == "link_unchecked" else "…"
    return f'<li class="{css}">{symbol} {name} <span class="state">{_t(lang, state)}</span></li>'


def _links(data: BoardData, lang: Lang) -> str:
    links = [v for v in data.links if matches(v.site.id, v.site.name, data.query)]
    if not links:
        key = "filter_none" if data.query else "no_links"
        return f'<p class="muted">{_t(lang, key, query=data.query)}</p>'
    order = {"NOT_READY": 0, "DEGRADED": 1, "PENDING": 2, "READY": 3}
    rows = sorted(((view, *_link_state(view)) for view in links), key=lambda row: order[row[2]])
    up = sum(1 for _, _, css, _ in rows if css in ("READY", "DEGRADED"))
    out = [f'<p class="muted">{_t(lang, "links_up", up=up, total=len(rows))}</p>']
    problems = [row for row in rows if row[2] in ("NOT_READY", "DEGRADED")]
    if problems:
        site_head, state_head, *number_heads = [_t(lang, key) for key in ("site", "state", *MEASURES)]
        out += [
            f'<table><thead><tr><th scope="col">{site_head}</th><th scope="col">{state_head}</th>',
            *(f'<th scope="col" class="num">{head}</th>' for head in number_heads),
            "</tr></thead><tbody>",
        ]
        for view, state, css, link in problems:
            out.append(
                f'<tr><th scope="row">{_site_link(view.site.id, view.site.name, lang)}</th>'
                f'<td data-label="{state_head}">'
                f'<span class="badge {css}">{SYMBOLS.get(css, "…")} {_t(lang, state)}</span></td>'
            )
            out.extend(
                _measure(link.finding(key) if link is not None else None, label=head, lang=lang)
                for key, head in zip(MEASURES, number_heads, strict=True)
            )
            out.append("</tr>")
        out.append("</tbody></table>")
    rest = [row for row in rows if row[2] not in ("NOT_READY", "DEGRADED")]
    if rest:
        items = [_link_item(view, state, css, link, lang) for view, state, css, link in rest]
        summary = _t(lang, "links_rest" if problems else "links_all", n=len(rest))
        out.append(_compact(summary, items, opened=bool(data.query) or len(rest) <= OPEN_UP_TO, css="links"))
    return "".join(out)


def render(data: BoardData, *, lang: Lang, refresh: int) -> str:
    """The whole page; pure, so tests and the demo can render without a server."""
    tz = ZoneInfo(data.config.organisation.timezone)
    other: Lang = "en" if lang == "vi" else "vi"
    district = _e(data.config.organisation.name)
    meetings = (
        '<div class="cards">' + "".join(_meeting(m, data, tz, lang) for m in data.meetings) + "</div>"
        if data.meetings
        else f'<p class="muted">{_t(lang, "no_meetings", days=HORIZON.days)}</p>'
    )
    updated = _t(lang, "updated", time=f"{_local(data.now, tz):%H:%M:%S}", seconds=refresh)
    return (
        "<!doctype html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="refresh" content="{refresh}">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{_t(lang, 'title')} · {district}</title><style>{CSS}</style></head><body>"
        f'<header><div><h1>{_t(lang, "title")}</h1><p class="district">{district}</p></div>'
        f'<a href="{_href(other, refresh, data.query)}" lang="{other}" hreflang="{other}">{_t(lang, "switch")}</a>'
        "</header><main>"
        f"{_filter(data, lang, refresh)}"
        f'<p class="updated">{updated}</p>'
        f"{_setup(data, lang)}"
        f'<section aria-labelledby="h-meetings"><h2 id="h-meetings">{_t(lang, "meetings")}</h2>{meetings}</section>'
        f'<section aria-labelledby="h-alerts"><h2 id="h-alerts">{_t(lang, "alerts")}</h2>{_alerts(data, tz, lang)}'
        "</section>"
        f'<section aria-labelledby="h-links"><h2 id="h-links">{_t(lang, "links")}</h2>{_links(data, lang)}</section>'
        "</main></body></html>\n"
    )


# --- the handler ----------------------------------------------------------------------------------------


def refresh_seconds(value: str | None) -> int:
    """?refresh=N clamped to 5..3600 s; anything else is the default (a bad link must still show the board)."""
    try:
        seconds = int(value) if value is not None else REFRESH_DEFAULT
    except ValueError:
        return REFRESH_DEFAULT
    return min(max(seconds, REFRESH_MIN), REFRESH_MAX)


def board_handler(
    service: ServiceView, *, clock: Callable[[], float] = time.time
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The GET / handler for ``service`` (its config is read per request, so a reload shows at once)."""

    async def board(request: web.Request) -> web.Response:
        asked = request.query.get("lang", "")
        lang: Lang = next((known for known in LOCALES if known == asked), service.config.organisation.locale)
        query = " ".join(request.query.get("q", "").split())[:QUERY_MAX]
        data = await collect(service, datetime.fromtimestamp(clock(), UTC), query=query)
        # In a worker thread: a national conference's page lists 3,321 communes (render is pure).
        body = await asyncio.to_thread(render, data, lang=lang, refresh=refresh_seconds(request.query.get("refresh")))
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=HEADERS)

    return board


__all__ = ["BoardData", "board_handler", "collect", "open_alerts", "refresh_seconds", "render"]
