"""A site's page at GET /sites/{id}: its link over a day, a week and a month, its equipment, briefings and alerts.

    GET /sites/tan-thinh             Vietnamese by default (organisation.locale)
    GET /sites/tan-thinh?lang=en     English
    GET /sites/nowhere               404, a page in the same language saying there is no such site

Server-rendered HTML with inline SVG (monitor/web/svg.py) and the board's CSS (board.css, site.css): no script,
no font, nothing fetched from elsewhere; the board's Content-Security-Policy holds. Readable on a 390 px phone.

What it shows, and where each number comes from:

- RTT median and spread with loss (SmokePing-style smoke) and the estimated MOS, per bucket of a fixed count
  for each range (RANGES: 96 × 15 min, 84 × 2 h, 90 × 8 h), whatever the history holds: the buckets are
  the history API's points (monitor/storage/queries.py, the same read as /api/v1/sites/{id}/history at that
  step) and the spread of the rounds' medians per bucket (monitor/storage/summaries.py, in the database).
- the state of the link, the router carrying it, the room systems (endpoints) and the UPSes, and the
  router's interface utilisation: the latest results in memory (monitor/engine/state.py);
- the last briefings' verdicts as a strip, with the latest one's reasons; the site's open alerts.

Work per request: six history reads (two per range), one for the briefings, one for the alerts; rendering runs
in a thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from alerts.model import AlertRecord
from alerts.store import OPEN_STATES, SqlAlertStore
from monitor.config.models import Config, Site
from monitor.engine.assessment import MOS, MetricFinding, assess_link, device_reading
from monitor.i18n import LOCALES, local_text, number, span, verdict_text
from monitor.i18n import Locale as Lang
from monitor.storage.queries import HistoryPoint, history
from monitor.storage.summaries import QUANTILES, Briefing, Spread, raw_since, rtt_spread, site_briefings
from monitor.web.board import CSS, HEADERS, refresh_seconds
from monitor.web.board_texts import text as board_text
from monitor.web.site_html import escape as _e
from monitor.web.site_html import escaped_text as _t
from monitor.web.site_html import stored_reason
from monitor.web.site_texts import text
from monitor.web.svg import Bucket, Cell, line_chart, meter, smoke_chart, verdict_strip
from probes.core.result import ProbeResult

if TYPE_CHECKING:
    from monitor.web.view import ServiceView

SITE_CSS = files("monitor.web").joinpath("site.css").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Range:
    key: str  # "24h": the texts' range_24h
    count: int  # buckets
    step: float  # seconds; a whole number of hours past a day, so raw and hourly rows share the buckets


RANGES = (Range("24h", 96, 900.0), Range("7d", 84, 7200.0), Range("30d", 90, 28800.0))
BRIEFINGS_SHOWN = 14


@dataclass(frozen=True, slots=True)
class RangeData:
    range: Range
    start: datetime  # of the first bucket
    points: list[HistoryPoint]  # the link's, as the history API gives them at this step
    spreads: dict[float, Spread]  # by bucket start (epoch s)
    raw_from: float  # epoch s from which raw rows answer (before it, hourly rows)


@dataclass(frozen=True, slots=True)
class Component:
    kind: str  # link, router, codec, ups
    id: str
    result: ProbeResult | None
    ups: bool = False


@dataclass(frozen=True, slots=True)
class SitePageData:
    config: Config
    site: Site
    now: datetime
    ranges: list[RangeData]
    components: list[Component]
    briefings: list[Briefing]  # newest first
    alerts: list[AlertRecord]


def bounds(rng: Range, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of ``rng``'s buckets: aligned on the step, the last one holding ``now``."""
    end = (now.timestamp() // rng.step + 1) * rng.step
    return datetime.fromtimestamp(end - rng.count * rng.step, UTC), datetime.fromtimestamp(end, UTC)


def merged(points: list[HistoryPoint]) -> HistoryPoint:
    """One point of several for the same bucket: the bucket that straddles the raw/hourly boundary comes twice."""
    if len(points) == 1:
        return points[0]
    samples = sum(p.samples for p in points)

    def mean(values: list[tuple[float | None, int]]) -> float | None:
        known = [(v, n) for v, n in values if v is not None]
        weight = sum(n for _, n in known)
        return sum(v * n for v, n in known) / weight if weight else None

    def of(name: str) -> list[tuple[float | None, int]]:
        return [(getattr(p, name), p.samples) for p in points]

    lows = [p.rtt_min for p in points if p.rtt_min is not None]
    highs = [p.rtt_max for p in points if p.rtt_max is not None]
    first = points[0]
    return HistoryPoint(
        target=first.target,
        kind=first.kind,
        ts=first.ts,
        samples=samples,
        availability=sum(p.availability * p.samples for p in points) / samples if samples else 0.0,
        duration_avg=mean(of("duration_avg")),
        rtt_min=min(lows) if lows else None,
        rtt_avg=mean(of("rtt_avg")),
        rtt_max=max(highs) if highs else None,
        jitter=mean(of("jitter")),
        loss=mean(of("loss")),
        mos=mean(of("mos")),
    )


def link_points(data: RangeData, link_key: str) -> list[HistoryPoint]:
    """The link's points of the range, one per bucket (in order)."""
    by_bucket: dict[datetime, list[HistoryPoint]] = {}
    for point in data.points:
        if point.target == link_key:
            by_bucket.setdefault(point.ts, []).append(point)
    return [merged(same) for _, same in sorted(by_bucket.items())]


def buckets_of(data: RangeData, link_key: str) -> list[Bucket]:
    """The smoke chart's buckets: the rounds' quantiles where raw rows are kept, the hourly min–mean–max beyond."""
    out = []
    counts = {p.ts: 0 for p in data.points}
    for point in data.points:
        if point.target == link_key:
            counts[point.ts] += 1
    for point in link_points(data, link_key):
        spread = data.spreads.get(point.ts.timestamp())
        # A bucket that straddles the raw/hourly boundary has two points and its spread only of the raw part.
        if counts[point.ts] == 1 and point.ts.timestamp() >= data.raw_from:
            if spread is None or len(spread.quantiles) != len(QUANTILES):  # every round of the bucket lost
                out.append(Bucket(point.ts, point.samples, None, (), point.loss, "raw"))
                continue
            q = spread.quantiles
            out.append(Bucket(point.ts, point.samples, q[50], ((q[10], q[90]), (q[25], q[75])), point.loss, "raw"))
        else:
            band = ((point.rtt_min, point.rtt_max),) if point.rtt_min is not None and point.rtt_max is not None else ()
            out.append(Bucket(point.ts, point.samples, point.rtt_avg, band, point.loss, "hourly"))
    return out


def components_of(service: ServiceView, site: Site) -> list[Component]:
    """The link, the router carrying it, the other SNMP devices (UPSes among them) and the endpoints, latest results."""

    def latest(key: str) -> ProbeResult | None:
        entry = service.state.get(f"{site.id}/{key}")
        return entry.latest if entry is not None else None

    out = []
    if site.link is not None:
        out.append(Component("link", "link", latest("link")))
    router = site.link.device if site.link is not None else None
    for device in site.devices:
        ups = device.snmp is not None and device.snmp.ups
        kind = "router" if device.id == router or not ups else "ups"
        out.append(Component(kind, device.id, latest(device.id), ups=ups))
    out.extend(Component("codec", endpoint.id, latest(endpoint.id)) for endpoint in site.endpoints)
    return out


async def collect(service: ServiceView, site: Site, now: datetime) -> SitePageData:
    """Everything the page shows, read once per request: bounded by RANGES and BRIEFINGS_SHOWN."""
    storage = service.storage
    ranges = []
    raw_from = await raw_since(storage)
    for rng in RANGES:
        start, end = bounds(rng, now)
        points = await history(storage, site.id, start, end, rng.step)
        spreads = await rtt_spread(storage, f"{site.id}/link", start, end, rng.step)
        ranges.append(RangeData(rng, start, points, {s.ts.timestamp(): s for s in spreads}, raw_from))
    briefings = await site_briefings(storage, site.id, limit=BRIEFINGS_SHOWN)
    alerts = await SqlAlertStore(storage).list_alerts(state=OPEN_STATES, site=site.id)
    return SitePageData(service.config, site, now, ranges, components_of(service, site), briefings, alerts)


# --- rendering ------------------------------------------------------------------------------------------


def _ms(seconds: float, lang: Lang) -> str:
    return f"{number(seconds * 1000, lang, 1)} ms"


def _percent(ratio: float, lang: Lang) -> str:
    return f"{number(ratio * 100, lang, 1)} %"


def _time_label(rng: Range, tz: ZoneInfo) -> Callable[[datetime], str]:
    if rng.step < 3600:
        return lambda moment: f"{moment.astimezone(tz):%H:%M}"
    return lambda moment: f"{moment.astimezone(tz):%d/%m}"


def _range_section(data: RangeData, site: Site, tz: ZoneInfo, lang: Lang) -> str:
    rng = data.range
    name = _t(lang, f"range_{rng.key}")
    buckets = buckets_of(data, f"{site.id}/link")
    title = _t(lang, "smoke", range=text(lang, f"range_{rng.key}"))
    out = [f'<section class="card range" id="range-{rng.key}" aria-label="{name}"><h3>{title}</h3>']
    if not buckets:
        out.append(f'<p class="muted">{_t(lang, "no_history")}</p></section>')
        return "".join(out)
    label = _time_label(rng, tz)
    out.append(
        smoke_chart(
            buckets,
            start=data.start,
            step=rng.step,
            count=rng.count,
            label=text(lang, "smoke", range=text(lang, f"range_{rng.key}")),
            time_label=label,
            rtt_unit=lambda v: _ms(v, lang),
        )
    )
    out.append(_summary(buckets, link_points(data, f"{site.id}/link"), lang))
    mos = [(p.ts, p.mos) for p in link_points(data, f"{site.id}/link") if p.mos is not None]
    if mos:
        mos_title = text(lang, "mos", range=text(lang, f"range_{rng.key}"))
        out.append(f"<h4>{_e(mos_title)}</h4>")
        out.append(
            line_chart(
                mos,
                start=data.start,
                step=rng.step,
                count=rng.count,
                y_min=1.0,
                y_max=4.5,
                label=mos_title,
                time_label=label,
                unit=lambda v: number(v, lang, 1),
            )
        )
    out.append("</section>")
    return "".join(out)


def _summary(buckets: list[Bucket], own: list[HistoryPoint], lang: Lang) -> str:
    """The range in one line: the median of the buckets' medians, loss and availability weighted by samples."""
    medians = sorted(b.median for b in buckets if b.median is not None)
    samples = sum(p.samples for p in own)
    unknown = text(lang, "unknown")
    rtt = _ms(medians[(len(medians) - 1) // 2], lang) if medians else unknown
    lossy = [(p.loss, p.samples) for p in own if p.loss is not None]
    weight = sum(n for _, n in lossy)
    loss = _percent(sum(v * n for v, n in lossy) / weight, lang) if weight else unknown
    availability = _percent(sum(p.availability * p.samples for p in own) / samples, lang) if samples else unknown
    return f'<p class="muted">{_t(lang, "summary_line", rtt=rtt, loss=loss, availability=availability)}</p>'


def _component_state(component: Component, config: Config, site: Site, lang: Lang) -> tuple[str, str, str]:
    """(css verdict class, state words, detail) of one component."""
    result = component.result
    if result is None:
        return "PENDING", text(lang, "pending"), ""
    if component.kind == "link":
        link = assess_link(result, config.thresholds_for(site))
        if link.status == "unchecked":
            return "PENDING", text(lang, "unchecked"), result.detail
        if link.status == "down":
            return "NOT_READY", text(lang, "down"), result.detail
        measured = [f"{board_text(lang, f.metric.name)} {_amount(f, lang)}" for f in link.metrics]
        css, words = ("DEGRADED", text(lang, "poor")) if link.beyond_soft else ("READY", text(lang, "up"))
        return css, words, " · ".join(measured)
    if not result.success:
        return "NOT_READY", text(lang, "down"), result.detail
    reading = device_reading(result)
    if component.ups and reading is not None and reading.ups is not None:
        ups = reading.ups
        runtime = text(lang, "runtime", minutes=round(ups.runtime_seconds / 60)) if ups.runtime_seconds else ""
        if ups.on_battery:
            return "NOT_READY", text(lang, "on_battery"), runtime
        return "READY", text(lang, "on_mains"), runtime
    if reading is not None:
        return "READY", text(lang, "up"), text(lang, "uptime", duration=span(reading.uptime_seconds, lang))
    return "READY", text(lang, "up"), result.detail if result.detail else ""


def _amount(finding: MetricFinding, lang: Lang) -> str:
    """A measured value in the unit people read ("2 %", "12 ms", "4,3"), as the board writes it."""
    metric = finding.metric
    shown = number(finding.value * metric.scale, lang, 2 if metric is MOS else 1)
    return f"{shown} {metric.unit}" if metric.unit else shown


def _components(data: SitePageData, lang: Lang) -> str:
    rows = []
    for component in data.components:
        css, words, detail = _component_state(component, data.config, data.site, lang)
        name = text(lang, component.kind, id=component.id) if component.kind != "link" else text(lang, "link")
        rows.append(
            f'<tr><th scope="row">{_e(name)}</th><td data-label="{_t(lang, "state")}">'
            f'<span class="badge {css}">{_e(words)}</span></td>'
            f'<td data-label="{_t(lang, "detail")}">{_e(detail)}</td></tr>'
        )
    kinds = {c.kind for c in data.components}
    for kind in ("link", "router", "codec"):
        if kind not in kinds:
            name = text(lang, kind, id="") if kind != "link" else text(lang, "link")
            rows.append(
                f'<tr><th scope="row">{_e(name.strip())}</th><td data-label="{_t(lang, "state")}">'
                f'<span class="badge PENDING">{_t(lang, "none_configured")}</span></td><td></td></tr>'
            )
    head = "".join(f'<th scope="col">{_t(lang, key)}</th>' for key in ("component", "state", "detail"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _utilisation(data: SitePageData, lang: Lang) -> str:
    headroom = data.config.thresholds_for(data.site).headroom
    out = []
    for component in data.components:
        reading = device_reading(component.result) if component.result is not None else None
        if component.kind != "router" or reading is None:
            continue
        for interface in reading.interfaces:
            rows = []
            for key, ratio in (("receive", interface.utilization_in), ("transmit", interface.utilization_out)):
                shown = _percent(ratio, lang) if ratio is not None else text(lang, "unknown")
                label = f"{text(lang, 'interface', name=interface.name)} · {text(lang, key)} {shown}"
                rows.append(
                    f'<div class="meter-row"><span>{_t(lang, key)}</span>'
                    f"{meter(ratio, label=label, limit=1 - headroom)}<span class='num'>{_e(shown)}</span></div>"
                )
            out.append(
                f'<div class="interface"><b>{_t(lang, "interface", name=f"{component.id} {interface.name}")}</b>'
                f"{''.join(rows)}</div>"
            )
    return "".join(out) or f'<p class="muted">{_t(lang, "no_utilisation")}</p>'


def _briefings(data: SitePageData, tz: ZoneInfo, lang: Lang) -> str:
    if not data.briefings:
        return f'<p class="muted">{_t(lang, "no_briefings")}</p>'
    cells = []
    for briefing in reversed(data.briefings):  # oldest on the left, as time reads
        verdict, _ = briefing.verdicts[data.site.id]
        when = local_text(briefing.start, tz, lang)
        words = text(lang, "briefing_cell", title=briefing.title, when=when, verdict=verdict_text(verdict, lang))
        cells.append(Cell(verdict, words))
    out = [verdict_strip(cells, label=text(lang, "briefings"))]
    latest = data.briefings[0]
    verdict, reasons = latest.verdicts[data.site.id]
    when = local_text(latest.start, tz, lang)
    out.append(
        f'<p class="muted">{_t(lang, "latest_reasons", title=latest.title, when=when)} '
        f'<span class="badge {_e(verdict)}">{_e(verdict_text(verdict, lang))}</span></p>'
    )
    if reasons:
        out.append('<ul class="reasons">')
        for stored in reasons:
            reason = stored_reason(stored)
            message, action = reason.in_locale(lang)
            out.append(f'<li>{_e(message)}<span class="action">{_e(action)}</span></li>')
        out.append("</ul>")
    return "".join(out)


def _alerts(data: SitePageData, tz: ZoneInfo, lang: Lang) -> str:
    if not data.alerts:
        return f'<p class="muted">{_t(lang, "no_alerts")}</p>'
    items = []
    for alert in data.alerts:
        since = local_text(datetime.fromtimestamp(alert.started_at, UTC), tz, lang)
        meta = [board_text(lang, alert.state), text(lang, "since", time=since)]
        if alert.acked_by:
            meta.append(text(lang, "acked", who=alert.acked_by))
        severity = alert.severity if alert.severity in ("critical", "warning", "info") else "critical"
        items.append(
            f'<li class="alert {severity}" id="alert-{_e(alert.id)}"><b>{_e(board_text(lang, severity))}</b> · '
            f'{_e(alert.summary or alert.rule)}<span class="meta">{_e(" · ".join(meta))}</span></li>'
        )
    return f'<ul class="alerts">{"".join(items)}</ul>'


def _page(lang: Lang, title: str, header: str, body: str, refresh: int | None) -> str:
    meta_refresh = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        "<!doctype html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'{meta_refresh}<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{title}</title><style>{CSS}{SITE_CSS}</style></head><body>"
        f"<header>{header}</header><main>{body}</main></body></html>\n"
    )


def render(data: SitePageData, *, lang: Lang, refresh: int) -> str:
    """The whole page; pure (tests render it without a server)."""
    tz = ZoneInfo(data.config.organisation.timezone)
    other: Lang = "en" if lang == "vi" else "vi"
    site = data.site
    parent = data.config.site(site.parent) if site.parent else None
    title = _t(lang, "site_title", name=site.name)
    header = (
        f'<div><a class="back" href="../?lang={lang}">{_t(lang, "back")}</a><h1>{title}</h1>'
        f'<p class="district">{_e(data.config.organisation.name)}'
        + (f" · {_t(lang, 'parent', name=parent.name)}" if parent is not None else "")
        + "</p></div>"
        f'<a href="?lang={other}&amp;refresh={refresh}" lang="{other}" hreflang="{other}">{_t(lang, "switch")}</a>'
    )
    updated = _t(lang, "updated", time=f"{data.now.astimezone(tz):%H:%M:%S}", seconds=refresh)
    body = (
        f'<p class="updated">{updated}</p>'
        f'<section aria-labelledby="h-state"><h2 id="h-state">{_t(lang, "components")}</h2>'
        f"{_components(data, lang)}</section>"
        f'<section aria-labelledby="h-briefings"><h2 id="h-briefings">{_t(lang, "briefings")}</h2>'
        f'<div class="card">{_briefings(data, tz, lang)}</div></section>'
        f'<section aria-labelledby="h-alerts"><h2 id="h-alerts">{_t(lang, "alerts")}</h2>{_alerts(data, tz, lang)}'
        "</section>"
        f'<section aria-labelledby="h-link"><h2 id="h-link">{_t(lang, "link")}</h2>'
        f'<p class="muted legend">{_t(lang, "smoke_legend")}</p><div class="charts">'
        + "".join(_range_section(r, site, tz, lang) for r in data.ranges)
        + "</div></section>"
        f'<section aria-labelledby="h-util"><h2 id="h-util">{_t(lang, "utilisation")}</h2>'
        f'<div class="card">{_utilisation(data, lang)}</div></section>'
    )
    return _page(lang, f"{title} · {_e(data.config.organisation.name)}", header, body, refresh)


def render_not_found(config: Config, site_id: str, *, lang: Lang) -> str:
    """The 404 page, in the reader's language, naming the id asked for (escaped)."""
    header = (
        f'<div><a class="back" href="../?lang={lang}">{_t(lang, "back")}</a>'
        f'<h1>{_t(lang, "not_found_title")}</h1><p class="district">{_e(config.organisation.name)}</p></div>'
    )
    body = f'<p class="card">{_t(lang, "not_found", id=site_id)}</p>'
    return _page(lang, _t(lang, "not_found_title"), header, body, None)


def site_href(site_id: str, lang: Lang) -> str:
    """The page of ``site_id`` relative to the board (GET /), ready for an href attribute."""
    return _e(f"sites/{quote(site_id, safe='')}?lang={lang}")


def site_page_handler(
    service: ServiceView, *, clock: Callable[[], float] = time.time
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The GET /sites/{id} handler for ``service`` (its config read per request, so a reload shows at once)."""

    async def site_page(request: web.Request) -> web.Response:
        config = service.config
        asked = request.query.get("lang", "")
        lang: Lang = next((known for known in LOCALES if known == asked), config.organisation.locale)
        site_id = request.match_info["id"]
        site = config.site(site_id)
        if site is None:
            body = await asyncio.to_thread(render_not_found, config, site_id[:200], lang=lang)
            return web.Response(status=404, text=body, content_type="text/html", charset="utf-8", headers=HEADERS)
        data = await collect(service, site, datetime.fromtimestamp(clock(), UTC))
        body = await asyncio.to_thread(render, data, lang=lang, refresh=refresh_seconds(request.query.get("refresh")))
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=HEADERS)

    return site_page


__all__ = ["RANGES", "SitePageData", "bounds", "buckets_of", "collect", "render", "site_href", "site_page_handler"]
