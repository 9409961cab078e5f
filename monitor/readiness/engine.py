"""The readiness engine: fresh checks of every participating site before each meeting, stored and announced.

    engine = ReadinessEngine(config=lambda: config, storage=storage, ctx=ctx, state=state, sink=alerts.on_readiness)
    report = await engine.check_meeting(occurrence)                     # one check now
    await engine.run()                                                  # T-60/T-30/T-10 and T-0, forever

Every check probes anew — a long ICMP round over each link, a poll of the router carrying it, every
endpoint — never the scheduler's cached results (those only serve as the "earlier" reading against which
interface errors are compared). All sites run in parallel, each bounded by readiness.site_timeout.

Each report is stored; a site that is not ready produces a ``site_not_ready`` event, a site that was not
ready in the previous report of the same occurrence and is ready now a ``site_recovered`` (the all-clear),
and the start of the meeting a ``summary`` for the administrators (monitor/readiness/events.py). Events judge
the site by its own findings (``SiteReadiness.own()``): a link giaoban could not probe (no ICMP permission) stays
a reason in the report and the summary, but is no news for the site's technician (issue 14).

Its latest reports per upcoming occurrence (``engine.snapshot``) are rendered as the ``giaoban_meeting_*``
series by monitor/metrics/meetings.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config.models import Config, Site
from monitor.engine.assessment import device_reading, uplink
from monitor.engine.state import State
from monitor.engine.targets import Target, targets_from_config
from monitor.i18n import Locale
from monitor.readiness.checks import SETUP_CODES, Meeting, SiteProbes, SiteReadiness, evaluate_site, verdict_of
from monitor.readiness.events import ReadinessEvent, ReadinessSink, ReasonText
from monitor.readiness.joined import joined_for
from monitor.readiness.meetings import Occurrence, list_upcoming
from monitor.readiness.participants import meeting_site_ids, missing_sites
from monitor.readiness.report import ReadinessReport
from monitor.readiness.schedule import due_checks, due_summaries, lead_times_of, occurrence_key
from monitor.readiness.texts import render
from monitor.storage.database import SiteVerdict, Storage
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult
from probes.runner import run_probe
from probes.snmp.rates import MIN_WINDOW

log = logging.getLogger(__name__)

EARLIER_WINDOW = 900.0  # interface errors count as rising against a poll at most this old

ADHOC = "adhoc"  # meeting id of checks run for a list of sites rather than a meeting


def participants(config: Config, sites: str | Sequence[str]) -> list[Site]:
    """ "all" is the hubs and every commune-level unit (Config.everyone); a list names sites, a hub standing for
    its subtree (monitor/readiness/participants.py); unknown ones are logged."""
    for site_id in missing_sites(config, sites):
        log.warning("readiness: site %s is no longer in the inventory; not checked", site_id)
    index = config.index
    return [site for ident in meeting_site_ids(config, sites) if (site := index.site(ident)) is not None]


def _earlier(state: State | None, key: str, now: float) -> ProbeResult | None:
    entry = state.get(key) if state is not None else None
    if entry is None:
        return None
    for result in entry.recent:  # oldest first
        if now - result.timestamp <= EARLIER_WINDOW and device_reading(result) is not None:
            return result
    return None


def _has_rate(result: ProbeResult, interface: str | None) -> bool:
    reading = device_reading(result)
    if reading is None or interface is None:
        return True  # nothing to wait for
    found = uplink(reading, interface)
    return found is None or found.receive_bps is not None or found.transmit_bps is not None


@dataclass(frozen=True, slots=True)
class MeetingSnapshot:
    """The upcoming occurrences and the latest report of each, as of ``now`` (what /metrics shows of meetings)."""

    upcoming: tuple[Occurrence, ...]
    latest: dict[tuple[str, int], ReadinessReport]
    now: datetime


class ReadinessEngine:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        storage: Storage,
        ctx: ProbeContext,
        state: State | None = None,
        sink: ReadinessSink | None = None,
        clock: Callable[[], float] = time.time,
        progress: Callable[[int, int, str], None] | None = None,
        agent: str | None = None,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        """``progress(done, total, site name)`` is told as each site's check ends (the CLI's terminal line).

        Several agents on one database (issue 17): ``agent`` names this one in the reports it stores (its own
        T-60/T-30/T-10 are judged from its own reports), ``owns(site_id)`` says which participants it checks
        (default: all). Answers and the T-0 summary join every agent's reports (monitor/readiness/joined.py);
        /metrics shows this agent's own sites."""
        self._config = config
        self.agent = agent
        self.owns = owns
        self.joined = joined_for(storage)  # shared with the API and the board
        self.storage = storage
        self.ctx = ctx
        self.state = state
        self.sink = sink
        self.clock = clock
        self.progress = progress
        self._summaries_sent: set[tuple[str, int]] = set()
        self._running: dict[tuple[str, int], asyncio.Future[ReadinessReport]] = {}
        self.snapshot = MeetingSnapshot((), {}, datetime.fromtimestamp(0, UTC))

    def config(self) -> Config:
        return self._config()

    # --- one check -------------------------------------------------------------------------------------

    async def _probe(self, target: Target, settings: Any = None) -> ProbeResult:
        settings = settings if settings is not None else target.settings
        timeout = target.kind.deadline(settings) if target.kind.deadline is not None else target.timeout
        return await run_probe(target.kind, target.address, settings, ctx=self.ctx, timeout=timeout)

    async def _router(self, target: Target, interface: str | None) -> ProbeResult:
        result = await self._probe(target)
        if not _has_rate(result, interface):
            # No earlier counters in this process (first poll, or a reset): measure over a short window.
            # Rates need two readings at least MIN_WINDOW apart (probes/snmp/rates.py).
            await asyncio.sleep(max(self._config().readiness.rate_window, MIN_WINDOW))
            result = await self._probe(target)
        return result

    async def _measure(self, site: Site, targets: dict[str, Target]) -> SiteProbes:
        readiness = self._config().readiness
        jobs: dict[str, Any] = {}
        link = targets.get(f"{site.id}/link")
        if link is not None:
            long_round = link.settings.model_copy(update={"count": readiness.icmp_count})
            jobs["link"] = self._probe(link, long_round)
        router_id = site.link.device if site.link is not None else None
        router = targets.get(f"{site.id}/{router_id}") if router_id else None
        if router is not None:
            jobs["router"] = self._router(router, site.link.interface if site.link else None)
        ups = [d for d in site.devices if d.id != router_id and d.snmp is not None and d.snmp.ups]
        for device in ups:
            jobs[f"ups/{device.id}"] = self._probe(targets[f"{site.id}/{device.id}"])
        for endpoint in site.endpoints:
            jobs[f"endpoint/{endpoint.id}"] = self._probe(targets[f"{site.id}/{endpoint.id}"])
        results = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        return SiteProbes(
            site=site,
            link=results.get("link"),
            router=results.get("router"),
            router_id=router_id,
            router_earlier=_earlier(self.state, router.key, self.clock()) if router is not None else None,
            endpoints=[(e.id, results[f"endpoint/{e.id}"]) for e in site.endpoints],
            ups=[(d.id, results[f"ups/{d.id}"]) for d in ups],
        )

    async def _check_site(self, site: Site, targets: dict[str, Target], meeting: Meeting) -> SiteReadiness:
        config = self._config()
        locale: Locale = config.organisation.locale
        try:
            async with asyncio.timeout(config.readiness.site_timeout):
                probes = await self._measure(site, targets)
        except TimeoutError:
            fields: dict[str, object] = {"what": site.name, "limit": config.readiness.site_timeout}
            message, action = render("check_failed", locale, fields)
            reason = ReasonText("check_failed", message, action, "hard", fields)
            return SiteReadiness(site.id, "NOT_READY", (reason,), (None,))
        return evaluate_site(
            probes,
            thresholds=config.thresholds_for(site),
            meeting=meeting,
            locale=locale,
            rebooted_within=config.readiness.rebooted_within,
        )

    async def check_sites(
        self,
        sites: str | Sequence[str],
        *,
        call_rate: float,
        duration: float,
        meeting_id: str = ADHOC,
        title: str = "",
        occurrence_start: datetime | None = None,
        lead_time: float = 0.0,
    ) -> ReadinessReport:
        """Check ``sites`` now, store the report and announce what changed."""
        config = self._config()
        chosen = participants(config, sites)
        if self.owns is not None and meeting_id != ADHOC:  # another agent checks the rest
            chosen = [site for site in chosen if self.owns(site.id)]
        # Off the loop: at 10,000 sites deriving every target takes a few hundred ms (issue 16).
        targets = {t.key: t for t in await asyncio.to_thread(targets_from_config, config)}
        meeting = Meeting(call_rate=call_rate, duration=duration)
        started = time.monotonic()
        done = 0

        async def check(site: Site) -> SiteReadiness:
            nonlocal done
            verdict = await self._check_site(site, targets, meeting)
            done += 1
            if self.progress is not None:
                self.progress(done, len(chosen), site.name)
            return verdict

        verdicts = await asyncio.gather(*(check(site) for site in chosen))
        now = datetime.fromtimestamp(self.clock(), UTC)
        report = ReadinessReport(
            meeting_id=meeting_id,
            title=title,
            occurrence_start=occurrence_start or now,
            lead_time=lead_time,
            checked_at=now,
            sites=tuple(verdicts),
            names={s.id: s.name for s in chosen},
        )
        previous = await self._previous(report)
        report_id = await self.storage.insert_report(
            meeting_id,
            report.occurrence_start,
            lead_time,
            [SiteVerdict(s.site_id, s.verdict, tuple(s.reason_dicts())) for s in verdicts],
            created_at=now,
            agent=self.agent,
        )
        report = replace(report, report_id=report_id)
        log.info(
            "readiness of %s at T-%s: %d/%d sites ready in %.1fs%s",
            meeting_id,
            timedelta(seconds=round(lead_time)),
            report.ready,
            len(verdicts),
            time.monotonic() - started,
            f"; not ready: {', '.join(report.not_ready)}" if report.not_ready else "",
        )
        if meeting_id != ADHOC:
            await self._announce(report, previous)
        return report

    async def check_meeting(self, occurrence: Occurrence, *, scheduled: bool = False) -> ReadinessReport:
        """A check of one occurrence now, recorded with the time left before its start (the lead time the
        technician reads: "còn 5 phút" after a late start, not the nominal 10). A check of the same occurrence
        already running (the schedule's, or another request's) is joined, not repeated: one event per site."""
        key = occurrence_key(occurrence)
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(self._check_occurrence(occurrence))
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        report = await running  # cancelling the caller cancels the check: shutdown must not leave it behind
        if not scheduled:  # on demand (API, CLI): the schedule's tick will not re-render for a while
            await self.refresh_metrics()
        return report

    async def _check_occurrence(self, occurrence: Occurrence) -> ReadinessReport:
        meeting = occurrence.meeting
        left = max((occurrence.start - datetime.fromtimestamp(self.clock(), UTC)).total_seconds(), 0.0)
        return await self.check_sites(
            meeting.sites,
            call_rate=meeting.call_rate,
            duration=meeting.duration,
            meeting_id=meeting.id,
            title=meeting.title,
            occurrence_start=occurrence.start,
            lead_time=left,
        )

    async def _previous(self, report: ReadinessReport) -> dict[str, str]:
        """Each site's verdict before this report: the newest any agent stored for the occurrence (a standby's
        report counts: the all-clear follows whoever saw the site fail)."""
        if report.meeting_id == ADHOC:
            return {}
        found = await self.storage.latest_verdicts(report.meeting_id, report.occurrence_start)
        # As announced: by the site's own findings (SiteReadiness.own), not giaoban's set-up.
        return {
            v.site_id: verdict_of([x.get("severity", "hard") for x in v.reasons if x.get("code") not in SETUP_CODES])
            for v in found
        }

    async def _announce(self, report: ReadinessReport, previous: dict[str, str]) -> None:
        for site in (s.own() for s in report.sites):
            kind = None
            if site.verdict != "READY":
                kind = "site_not_ready"
            elif previous.get(site.site_id, "READY") != "READY":
                kind = "site_recovered"
            if kind is not None:
                await self._emit(
                    ReadinessEvent(
                        kind=kind,  # type: ignore[arg-type]
                        meeting_id=report.meeting_id,
                        meeting_title=report.title,
                        occurrence_start=report.occurrence_start,
                        lead_time=report.lead_time,
                        site_id=site.site_id,
                        site_name=report.names.get(site.site_id),
                        verdict=site.verdict,  # type: ignore[arg-type]
                        reasons=site.reasons,
                        report_id=report.report_id,
                    )
                )

    async def _emit(self, event: ReadinessEvent) -> None:
        if self.sink is None:
            log.warning("readiness event %s for %s: no alerting attached", event.kind, event.site_id or "-")
            return
        try:
            await self.sink(event)
        except Exception:  # alerting's fault must not stop the next site's check
            log.exception("readiness: the alerting refused event %s of %s", event.kind, event.alert_id)

    # --- the schedule ----------------------------------------------------------------------------------

    async def _upcoming(self, now: datetime) -> list[Occurrence]:
        config = self._config()
        longest = max([*config.readiness.lead_times, *(lead for m in config.meetings for lead in (m.lead_times or ()))])
        horizon = timedelta(seconds=max(longest, 86400.0))
        return await list_upcoming(self.storage, now=now, horizon=horizon)

    async def tick(self) -> list[ReadinessReport]:
        """Run the checks due now and the T-0 summaries; refresh the meeting metrics."""
        config = self._config()
        now = datetime.fromtimestamp(self.clock(), UTC)
        upcoming = await self._upcoming(now)
        default_leads = config.readiness.lead_times
        soon = [
            o for o in upcoming if o.start <= now + timedelta(seconds=max(lead_times_of(o, default_leads), default=0.0))
        ]
        done: dict[tuple[str, int], list[float]] = {}
        latest: dict[tuple[str, int], ReadinessReport] = {}
        for occurrence in soon:
            # This agent's own reports decide what it still has to check; the answer joins everyone's.
            done[occurrence_key(occurrence)] = await self.storage.lead_times(
                occurrence.meeting.id, occurrence.start, agent=self.agent
            )
            joined = await self.joined.latest(config, occurrence.meeting, occurrence.start)
            if joined is not None:
                latest[occurrence_key(occurrence)] = joined
        checks = [
            d
            for d in due_checks(soon, done, now=now, default_lead_times=config.readiness.lead_times)
            if occurrence_key(d.occurrence) not in self._running
        ]
        reports = list(await asyncio.gather(*(self.check_meeting(d.occurrence, scheduled=True) for d in checks)))
        for check in checks:  # the new reports joined with the other agents'
            joined = await self.joined.latest(config, check.occurrence.meeting, check.occurrence.start)
            if joined is not None:
                latest[occurrence_key(check.occurrence)] = joined
        for occurrence in due_summaries(soon, self._summaries_sent, now=now, grace=config.readiness.summary_grace):
            self._summaries_sent.add(occurrence_key(occurrence))
            last = latest.get(occurrence_key(occurrence))
            if last is not None:
                await self._emit(summary_event(occurrence, last))
        self.joined.forget({occurrence_key(o) for o in soon} | set(latest))
        self.snapshot = MeetingSnapshot(tuple(upcoming), self._own(latest), now)
        return reports

    def _own(self, latest: dict[tuple[str, int], ReadinessReport]) -> dict[tuple[str, int], ReadinessReport]:
        """The reports as this agent's /metrics shows them: only its own sites (each site's series from its owners)."""
        owns = self.owns
        if owns is None:
            return latest
        return {key: r.only({s.site_id for s in r.sites if owns(s.site_id)}) for key, r in latest.items()}

    async def refresh_metrics(self) -> None:
        """Re-render the meeting metrics from the stored reports (after a check run outside the schedule)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        upcoming = await self._upcoming(now)
        config = self._config()
        latest: dict[tuple[str, int], ReadinessReport] = {}
        for occurrence in {o.meeting.id: o for o in reversed(upcoming)}.values():  # the first of each meeting
            report = await self.joined.latest(config, occurrence.meeting, occurrence.start)
            if report is not None:
                latest[occurrence_key(occurrence)] = report
        self.snapshot = MeetingSnapshot(tuple(upcoming), self._own(latest), now)

    async def run(self) -> None:
        """Tick forever; a failing tick (database down) is logged and retried at the next one."""
        failing = False
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:  # the traceback once; a database away for an hour must not fill the log
                    log.exception("readiness: this round failed; retrying in %ss", self._config().readiness.tick)
                else:
                    log.warning("readiness: this round failed again: %s: %s", type(exc).__name__, exc)
                failing = True
            else:
                if failing:
                    log.info("readiness: the rounds work again")
                failing = False
            await asyncio.sleep(self._config().readiness.tick)


def summary_event(occurrence: Occurrence, report: ReadinessReport) -> ReadinessEvent:
    """The T-0 summary of ``occurrence`` from its latest report."""
    return ReadinessEvent(
        kind="summary",
        meeting_id=occurrence.meeting.id,
        meeting_title=occurrence.meeting.title,
        occurrence_start=occurrence.start,
        lead_time=0.0,
        ready=report.ready,
        total=len(report.sites),
        not_ready=report.not_ready,
        degraded=report.degraded,
        report_id=report.report_id,
    )
