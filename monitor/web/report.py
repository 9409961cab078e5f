"""The period report (`giaoban report`, GET /api/v1/report): per site and per parent unit, for the monthly report.

    period = parse_period("2026-11-01", "2026-11-30", config)     # local days, --to inclusive
    report = await gather_report(config, storage, period)         # reads, then the arithmetic in a thread

Per site, over [since, until):

- availability outside maintenance: Σ wₕ·successesₕ / Σ wₕ·samplesₕ over the link's hours, where
  wₕ = 1 − (the part of hour h under maintenance). A window counts for a site when it would silence that
  site's ``link_down`` alert (alerts/maintenance.py ``covers``: its sites, targets and rules); config windows
  and stored ones alike, recurring ones expanded (monitor/recurrence.py). An hour partly under maintenance
  counts for the rest of it: hourly rows have no finer times, and the probes are evenly spread over the hour.
- maintenance hours: the length of the site's windows inside the period (overlaps counted once);
- loss: its mean weighted as availability is, and the 95th percentile of the hourly means; RTT: the 50th and
  95th percentiles of the hourly means, over the hours not wholly under maintenance (lower nearest rank,
  monitor/storage/summaries.py ``quantile_index``);
- readiness per briefing (verdict and reasons, from the latest report of each occurrence) and the counts;
- alerts that fired (and were not folded into another alert or silenced) and the time to acknowledge:
  ``acked_at − fired_at``, its median and its longest.

Per parent unit (a site's ``parent``, or the site itself when it has none — a province's hub with its
communes): the same sums over its sites. Work: two history queries (hourly buckets) per SITES_PER_READ sites,
one for the briefings, two for the alerts; then linear in sites × hours, off the event loop, one batch of
points held at a time.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from alerts.maintenance import covers, report_broken, series, window_from_config
from alerts.model import AlertRecord, MaintenanceWindow
from alerts.store import OPEN_STATES, SqlAlertStore
from monitor.config.models import Config, Site
from monitor.recurrence import RecurrenceError, occurrences
from monitor.storage.database import Storage
from monitor.storage.queries import HistoryPoint, bucket_rows, to_points
from monitor.storage.summaries import Briefing, briefings_between, quantile_index
from monitor.storage.tables import targets

HOUR = 3600.0
MAX_DAYS = 400
SITES_PER_READ = 50  # sites whose hourly points are read and reduced at a time: ≤ 37,000 rows a month


class PeriodError(ValueError):
    """A period that cannot be reported: ``field`` names the input at fault (from, to); ``key`` its sentence in
    monitor/web/site_texts.py (the CLI speaks the locale; the API, like the rest of it, English)."""

    def __init__(self, message: str, field: str, key: str) -> None:
        super().__init__(message)
        self.field = field
        self.key = key


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime  # UTC, included
    until: datetime  # UTC, excluded
    zone: str


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour of a site's link: its probes, and how much of the hour was outside maintenance."""

    ts: float
    samples: int
    successes: float
    rtt: float | None
    loss: float | None
    weight: float  # 1 − the part of the hour under maintenance


@dataclass(frozen=True, slots=True)
class BriefingLine:
    meeting_id: str
    title: str
    start: datetime
    verdict: str
    reasons: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class AlertLine:
    id: str
    rule: str
    summary: str
    severity: str
    fired_at: float
    acked_at: float | None
    acked_by: str | None

    @property
    def to_acknowledge(self) -> float | None:
        return max(self.acked_at - self.fired_at, 0.0) if self.acked_at is not None else None


@dataclass(frozen=True, slots=True)
class Figures:
    """What the sites and the units share: the sums behind the ratios, so a unit's are its sites' sums."""

    weighted_samples: float = 0.0
    weighted_successes: float = 0.0
    maintenance_hours: float = 0.0
    ready: int = 0
    degraded: int = 0
    not_ready: int = 0
    alerts: tuple[AlertLine, ...] = ()

    @property
    def availability(self) -> float | None:
        return self.weighted_successes / self.weighted_samples if self.weighted_samples else None

    @property
    def briefings(self) -> int:
        return self.ready + self.degraded + self.not_ready

    @property
    def acknowledged(self) -> int:
        return sum(1 for a in self.alerts if a.acked_at is not None)

    @property
    def tta_median(self) -> float | None:
        waits = [a.to_acknowledge for a in self.alerts if a.to_acknowledge is not None]
        return statistics.median(waits) if waits else None

    @property
    def tta_max(self) -> float | None:
        waits = [a.to_acknowledge for a in self.alerts if a.to_acknowledge is not None]
        return max(waits) if waits else None


@dataclass(frozen=True, slots=True)
class SiteReport:
    site_id: str
    name: str
    group: str
    figures: Figures
    loss_mean: float | None
    loss_p95: float | None
    rtt_p50: float | None
    rtt_p95: float | None
    briefings: tuple[BriefingLine, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupReport:
    id: str
    name: str
    sites: int
    figures: Figures


@dataclass(frozen=True, slots=True)
class Report:
    organisation: str
    locale: str
    period: Period
    generated: datetime
    sites: tuple[SiteReport, ...]
    groups: tuple[GroupReport, ...]
    briefings: tuple[Briefing, ...] = field(default=())


# --- the period -----------------------------------------------------------------------------------------


def _moment(text: str, name: str, tz: ZoneInfo, *, end: bool) -> datetime:
    """A day (local midnight; as ``--to``, the end of that day) or an ISO time (local when it gives no offset)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tz)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            message = f"{name}: {text!r} is neither a date (2026-11-01) nor an ISO time"
            raise PeriodError(message, name, "report_date_error") from None
        moment = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
    if not 1970 <= moment.year <= 2100:
        raise PeriodError(f"{name} must be between the years 1970 and 2100", name, "report_year_error")
    return moment.astimezone(UTC)


def parse_period(since: str, until: str, config: Config) -> Period:
    """[since, until) from the command line or the API: dates in the organisation's zone, ``until`` inclusive."""
    zone = config.organisation.timezone
    tz = ZoneInfo(zone)
    start, end = _moment(since, "from", tz, end=False), _moment(until, "to", tz, end=True)
    if start >= end:
        raise PeriodError("from must be before to", "from", "report_order_error")
    if end - start > timedelta(days=MAX_DAYS):
        raise PeriodError(f"a report covers at most {MAX_DAYS} days", "to", "report_span_error")
    return Period(start, end, zone)


# --- maintenance ----------------------------------------------------------------------------------------


def window_spans(windows: Iterable[MaintenanceWindow], period: Period) -> list[tuple[MaintenanceWindow, float, float]]:
    """Every occurrence of every window inside the period, clipped to it: (window, start, end) epoch s."""
    low, high = period.since.timestamp(), period.until.timestamp()
    out = []
    for window in windows:
        try:
            starts = occurrences(series(window), period.since, period.until)
        except RecurrenceError as exc:
            report_broken(window, str(exc))
            continue
        for start in starts:
            begin, end = max(start.timestamp(), low), min(start.timestamp() + window.duration, high)
            if begin < end:
                out.append((window, begin, end))
    return out


def merged_spans(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping or touching spans joined, in order."""
    out: list[tuple[float, float]] = []
    for begin, end in sorted(spans):
        if out and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((begin, end))
    return out


def covered_per_hour(spans: Sequence[tuple[float, float]]) -> dict[float, float]:
    """Seconds under maintenance per hour (by the hour's start, epoch s) of merged spans."""
    covered: dict[float, float] = {}
    for begin, end in spans:
        hour = begin // HOUR * HOUR
        while hour < end:
            part = min(end, hour + HOUR) - max(begin, hour)
            covered[hour] = covered.get(hour, 0.0) + part
            hour += HOUR
    return covered


# --- the arithmetic -------------------------------------------------------------------------------------


def _quantile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[quantile_index(len(ordered), percent)]


def hours_of(points: Sequence[HistoryPoint], covered: Mapping[float, float]) -> list[Hour]:
    """The link's hourly points with their weight outside maintenance (two points of one hour are joined)."""
    by_hour: dict[float, list[HistoryPoint]] = {}
    for point in points:
        by_hour.setdefault(point.ts.timestamp(), []).append(point)
    out = []
    for ts, same in sorted(by_hour.items()):
        samples = sum(p.samples for p in same)
        rtts = [(p.rtt_avg, p.samples) for p in same if p.rtt_avg is not None]
        losses = [(p.loss, p.samples) for p in same if p.loss is not None]
        out.append(
            Hour(
                ts=ts,
                samples=samples,
                successes=sum(p.availability * p.samples for p in same),
                rtt=sum(v * n for v, n in rtts) / sum(n for _, n in rtts) if rtts else None,
                loss=sum(v * n for v, n in losses) / sum(n for _, n in losses) if losses else None,
                weight=max(1.0 - covered.get(ts, 0.0) / HOUR, 0.0),
            )
        )
    return out


def site_report(
    site: Site,
    *,
    group: str,
    hours: Sequence[Hour],
    maintenance_seconds: float,
    briefings: Sequence[BriefingLine],
    alerts: Sequence[AlertLine],
) -> SiteReport:
    """One site's figures from its hours, briefings and alerts (pure: the test's hand-computed case runs it)."""
    verdicts = [b.verdict for b in briefings]
    figures = Figures(
        weighted_samples=sum(h.samples * h.weight for h in hours),
        weighted_successes=sum(h.successes * h.weight for h in hours),
        maintenance_hours=maintenance_seconds / HOUR,
        ready=verdicts.count("READY"),
        degraded=verdicts.count("DEGRADED"),
        not_ready=verdicts.count("NOT_READY"),
        alerts=tuple(alerts),
    )
    counted = [h for h in hours if h.weight > 0]
    lossy = [(h.loss, h.samples * h.weight) for h in counted if h.loss is not None]
    weight = sum(n for _, n in lossy)
    return SiteReport(
        site_id=site.id,
        name=site.name,
        group=group,
        figures=figures,
        loss_mean=sum(v * n for v, n in lossy) / weight if weight else None,
        loss_p95=_quantile([h.loss for h in counted if h.loss is not None], 95),
        rtt_p50=_quantile([h.rtt for h in counted if h.rtt is not None], 50),
        rtt_p95=_quantile([h.rtt for h in counted if h.rtt is not None], 95),
        briefings=tuple(briefings),
    )


def group_report(group_id: str, name: str, sites: Sequence[SiteReport]) -> GroupReport:
    """A parent unit: the sums of its sites' figures."""
    figures = Figures(
        weighted_samples=sum(s.figures.weighted_samples for s in sites),
        weighted_successes=sum(s.figures.weighted_successes for s in sites),
        maintenance_hours=sum(s.figures.maintenance_hours for s in sites),
        ready=sum(s.figures.ready for s in sites),
        degraded=sum(s.figures.degraded for s in sites),
        not_ready=sum(s.figures.not_ready for s in sites),
        alerts=tuple(a for s in sites for a in s.figures.alerts),
    )
    return GroupReport(group_id, name, len(sites), figures)


def group_of(site: Site) -> str:
    return site.parent or site.id


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every site's figures draw on, computed once: the windows' spans, briefings and alerts by site."""

    spans: list[tuple[MaintenanceWindow, float, float]]
    briefings: dict[str, list[BriefingLine]]
    alerts: dict[str, list[AlertLine]]


def prepare(
    period: Period,
    windows: Sequence[MaintenanceWindow],
    briefings: Sequence[Briefing],
    alerts: Sequence[AlertRecord],
) -> Prepared:
    """The windows expanded over the period, the briefings and the alerts that count, by site (for a thread)."""
    per_site_briefings: dict[str, list[BriefingLine]] = {}
    for briefing in briefings:
        for site_id, (verdict, reasons) in briefing.verdicts.items():
            line = BriefingLine(briefing.meeting_id, briefing.title, briefing.start, verdict, reasons)
            per_site_briefings.setdefault(site_id, []).append(line)
    per_site_alerts: dict[str, list[AlertLine]] = {}
    low, high = period.since.timestamp(), period.until.timestamp()
    for alert in alerts:
        if alert.fired_at is None or alert.suppressed_by or not low <= alert.fired_at < high:
            continue
        fired = AlertLine(
            alert.id, alert.rule, alert.summary, alert.severity, alert.fired_at, alert.acked_at, alert.acked_by
        )
        per_site_alerts.setdefault(alert.site, []).append(fired)
    return Prepared(window_spans(windows, period), per_site_briefings, per_site_alerts)


def site_reports(
    sites: Sequence[Site], prepared: Prepared, points: Mapping[str, Sequence[HistoryPoint]]
) -> list[SiteReport]:
    """The figures of ``sites`` from their link's hourly points (for a thread): linear in sites × hours."""
    out = []
    for site in sites:
        own = merged_spans(
            (begin, end)
            for window, begin, end in prepared.spans
            if covers(window, rule="link_down", site=site.id, target="link")
        )
        out.append(
            site_report(
                site,
                group=group_of(site),
                hours=hours_of(points.get(site.id, ()), covered_per_hour(own)),
                maintenance_seconds=sum(end - begin for begin, end in own),
                briefings=prepared.briefings.get(site.id, []),
                alerts=sorted(prepared.alerts.get(site.id, []), key=lambda a: a.fired_at),
            )
        )
    return out


def assemble(
    config: Config, period: Period, sites: Sequence[SiteReport], briefings: Sequence[Briefing], generated: datetime
) -> Report:
    """The sites' figures summed per parent unit, in the inventory's order."""
    members: dict[str, list[SiteReport]] = {}
    for report in sites:
        members.setdefault(report.group, []).append(report)
    groups = []
    for group_id, reports in members.items():
        parent = config.site(group_id)
        groups.append(group_report(group_id, parent.name if parent is not None else group_id, reports))
    return Report(
        organisation=config.organisation.name,
        locale=config.organisation.locale,
        period=period,
        generated=generated,
        sites=tuple(sites),
        groups=tuple(groups),
        briefings=tuple(briefings),
    )


# --- the reads ------------------------------------------------------------------------------------------


def config_windows(config: Config) -> list[MaintenanceWindow]:
    return [window_from_config(entry, config.organisation.timezone) for entry in config.maintenance]


async def _link_rows(storage: Storage, sites: Sequence[Site], ids: Mapping[str, int], period: Period) -> list[Any]:
    """The database's hourly rows of the links of ``sites``: one query over raw rows, one over hourly rows."""
    wanted = [ids[f"{site.id}/link"] for site in sites if f"{site.id}/link" in ids]
    async with storage.engine.connect() as conn:
        return await bucket_rows(conn, wanted, period.since, period.until, HOUR)


def _batch_reports(
    sites: Sequence[Site], rows: list[Any], ids: Mapping[str, int], prepared: Prepared
) -> list[SiteReport]:
    """One batch's rows made points and reduced to its sites' figures (for a thread: 50 sites × 720 hours)."""
    keys = {ids[f"{s.id}/link"]: (f"{s.id}/link", "icmp") for s in sites if f"{s.id}/link" in ids}
    points: dict[str, list[HistoryPoint]] = {}
    for point in to_points(rows, keys):
        points.setdefault(point.target.rsplit("/", 1)[0], []).append(point)
    return site_reports(sites, prepared, points)


async def _alerts(storage: Storage, period: Period) -> list[AlertRecord]:
    """Resolved episodes that began up to a month before the period ends, and the open alerts; each once."""
    store = SqlAlertStore(storage)
    low, high = period.since.timestamp(), period.until.timestamp()
    episodes = await store.history(since=low - 31 * 86400, until=high)  # an episode may fire days after it began
    current = [a for a in await store.list_alerts(state=OPEN_STATES) if a.started_at < high]
    seen: set[tuple[str, float]] = set()
    alerts = []
    for alert in (*episodes, *current):
        if (alert.id, alert.started_at) not in seen:
            seen.add((alert.id, alert.started_at))
            alerts.append(alert)
    return alerts


async def gather_report(config: Config, storage: Storage, period: Period, *, now: datetime | None = None) -> Report:
    """Read what the period needs and compute the figures in a thread, SITES_PER_READ sites at a time.

    Only one batch of hourly points is held at once (a month of 168 communes is 121,000 hours), so memory stays
    bounded whatever the inventory's size; the event loop only waits.
    """
    async with storage.engine.connect() as conn:
        links = select(targets.c.id, targets.c.key).where(targets.c.role == "link")
        ids = {r.key: int(r.id) for r in (await conn.execute(links)).all()}
    windows = config_windows(config) + await SqlAlertStore(storage).maintenance_windows()
    briefings = await briefings_between(storage, period.since, period.until)
    prepared = await asyncio.to_thread(prepare, period, windows, briefings, await _alerts(storage, period))
    reports: list[SiteReport] = []
    sites = list(config.sites)
    for start in range(0, len(sites), SITES_PER_READ):
        batch = sites[start : start + SITES_PER_READ]
        rows = await _link_rows(storage, batch, ids, period)
        reports += await asyncio.to_thread(_batch_reports, batch, rows, ids, prepared)
    return assemble(config, period, reports, briefings, now or datetime.now(UTC))


__all__ = [
    "AlertLine",
    "BriefingLine",
    "Figures",
    "GroupReport",
    "Hour",
    "Period",
    "PeriodError",
    "Report",
    "SiteReport",
    "assemble",
    "gather_report",
    "parse_period",
    "prepare",
    "site_reports",
]
