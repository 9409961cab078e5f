"""The meeting watch: from each occurrence's start to its end, who is connected and with what media (issue 18).

    watch = MeetingWatch(config=lambda: config, storage=storage, ctx=ctx)      readers: call_readers()
    await watch.tick()              one poll of every running occurrence's sites (codecs) and of the bridges
    await watch.run()               tick every calls.interval while a meeting runs, forever
    watch.snapshot                  the running occurrences and each site's record (metrics, board, API)
    watch.findings(now)             not_joined / dropped_out / poor_media(_critical) for the engine, and the held ones

Each expected site's codecs (endpoints whose kind has a call reader) and every configured bridge are read once
per poll, concurrently, each within calls.timeout; a bridge's participants are matched to sites by the
addresses and names configured for them (monitor/config/calls.py). monitor/readiness/attendance.py turns the
answers into attendance, media quality and events; each site's record is written to meeting_attendance when
it changes and at least every calls.record_interval, and read back when the service restarts mid-meeting.

A read that fails is counted (``stats.failures`` by kind: giaoban_call_read_failures_total) and makes that
site unknown for the poll, never "left". A bridge whose kind has no reader, or whose settings its reader
refuses, is listed in ``stats.faults`` (giaoban_call_watch_faults): a disabled function shows in /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config.calls import BRIDGE_KINDS, BridgeConfig
from monitor.config.models import Config, Site
from monitor.i18n import span
from monitor.readiness.attendance import Attendance, Limits, SiteCall, match_key, site_call
from monitor.readiness.call_readers import CallKind, call_readers, reader_settings
from monitor.readiness.engine import participants
from monitor.readiness.meetings import Occurrence, read_schedule
from monitor.readiness.schedule import occurrence_key
from monitor.storage.attendance import load_attendance, save_attendance
from monitor.storage.database import Storage
from probes.core.context import ProbeContext
from probes.vc.media import CallReport, Participant

log = logging.getLogger(__name__)

IDLE_CHECK = 5.0  # how often the schedule is looked at while no meeting runs
READS_IN_FLIGHT = 64  # codec and bridge reads at once
CALL_RULES = ("not_joined", "dropped_out", "poor_media", "poor_media_critical")


@dataclass(frozen=True, slots=True)
class CallFinding:
    """A condition of one site in one running meeting; the alert engine makes it an alert (alerts/engine.py)."""

    rule: str  # one of CALL_RULES
    site: str
    meeting: str  # the meeting id: the alert's target
    fields: Mapping[str, object]
    observed_at: float


@dataclass(frozen=True, slots=True)
class CallFindings:
    findings: tuple[CallFinding, ...] = ()
    held: frozenset[tuple[str, str]] = frozenset()  # (site, meeting) the last poll could not tell: keep its alerts


@dataclass(frozen=True, slots=True)
class WatchedOccurrence:
    """One running occurrence as the last poll left it (immutable copies of the records)."""

    occurrence: Occurrence
    names: Mapping[str, str]
    records: tuple[Mapping[str, Any], ...]  # Attendance.to_json(), by site id


@dataclass(frozen=True, slots=True)
class WatchSnapshot:
    occurrences: tuple[WatchedOccurrence, ...] = ()
    polled_at: float = 0.0


@dataclass(slots=True)
class WatchStats:
    polls: int = 0
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # reads failed, by kind
    faults: dict[str, str] = field(default_factory=dict)  # "bridge:ID" → why it cannot be read
    last_poll: float = 0.0
    failing_since: float | None = None  # the watch's own round fails (database down...)


@dataclass(slots=True)
class _Watch:
    occurrence: Occurrence
    sites: dict[str, Attendance]
    names: dict[str, str]
    written: dict[str, float] = field(default_factory=dict)


class MeetingWatch:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        storage: Storage,
        ctx: ProbeContext,
        clock: Callable[[], float] = time.time,
        readers: Mapping[str, CallKind] | None = None,
    ) -> None:
        """``readers`` replaces the drivers' registry (call_readers()): tests and the demo bring their own."""
        self._config = config
        self.storage = storage
        self.ctx = ctx
        self.clock = clock
        self._readers = dict(readers) if readers is not None else None
        self._watches: dict[tuple[str, int], _Watch] = {}
        self.snapshot = WatchSnapshot()
        self.stats = WatchStats()
        # Told after a poll that changed someone's attendance or media: the service evaluates its alerts at once
        # rather than at the next pass, so a drop-out reaches the technician seconds after the poll saw it.
        self.on_change: Callable[[], Awaitable[None]] | None = None

    def readers(self) -> Mapping[str, CallKind]:
        return self._readers if self._readers is not None else call_readers()

    # --- the schedule ---------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Begin and end the watches of the occurrences starting and ending, then poll the running ones."""
        config = self._config()
        now = self.clock()
        moment = datetime.fromtimestamp(now, UTC)
        schedule = await read_schedule(self.storage, now=moment, horizon=timedelta(seconds=1))
        running = {occurrence_key(o): o for o in schedule.occurrences if o.start <= moment < o.end}
        for key in [k for k in self._watches if k not in running]:
            finished = self._watches.pop(key)
            await self._write(finished, now, everything=True)
            log.info("meeting watch: %s ended", finished.occurrence.meeting.id)
        for key, occurrence in running.items():
            if key not in self._watches:
                self._watches[key] = await self._begin(config, occurrence)
        changed = await self._poll(config, now) if self._watches else False
        self.snapshot = WatchSnapshot(
            tuple(
                WatchedOccurrence(w.occurrence, dict(w.names), tuple(a.to_json() for a in w.sites.values()))
                for w in self._watches.values()
            ),
            now,
        )
        if changed and self.on_change is not None:
            try:
                await self.on_change()
            except Exception:  # the alerting's fault: its own pass retries, the watch goes on
                log.exception("meeting watch: the alert evaluation after a change failed")

    async def _begin(self, config: Config, occurrence: Occurrence) -> _Watch:
        expected = participants(config, occurrence.meeting.sites)
        start = int(occurrence.start.timestamp())
        stored = {r["site"]: r for r in await load_attendance(self.storage, occurrence.meeting.id, start)}
        sites = {
            site.id: Attendance.from_json(stored[site.id]) if site.id in stored else Attendance(site.id)
            for site in expected
        }
        log.info("meeting watch: %s started, %d sites expected", occurrence.meeting.id, len(sites))
        return _Watch(occurrence, sites, {site.id: site.name for site in expected})

    async def run(self) -> None:
        """Tick forever: every calls.interval while a meeting runs, every few seconds otherwise."""
        while True:
            began = time.monotonic()
            try:
                await self.tick()
                self.stats.failing_since = None
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stats.failing_since is None:
                    self.stats.failing_since = self.clock()
                    log.exception("meeting watch: this round failed; retrying")
            interval = self._config().calls.interval
            wait = interval if self._watches else min(interval, IDLE_CHECK)
            # Polls start every interval, however long the last one waited for a silent codec.
            await asyncio.sleep(max(wait - (time.monotonic() - began), 0.5))

    # --- one poll -------------------------------------------------------------------------------------

    async def _poll(self, config: Config, now: float) -> bool:
        """One poll; whether any site's attendance or media quality changed."""
        readers = self.readers()
        limit = asyncio.Semaphore(READS_IN_FLIGHT)
        timeout = config.calls.timeout

        async def read(kind: str, target: str, settings: Any) -> CallReport | None:
            _, reader = readers[kind]
            async with limit:
                try:
                    async with asyncio.timeout(timeout):
                        return await reader(target, settings, self.ctx)
                except Exception as exc:  # the driver's ProbeFailed, a timeout, a bug: this read tells nothing
                    self.stats.failures[kind] += 1
                    log.debug("meeting watch: %s read of %s failed: %s", kind, target, exc)
                    return None

        expected: dict[str, Site] = {}
        for watch in self._watches.values():
            for site_id in watch.sites:
                site = config.site(site_id)
                if site is not None:
                    expected[site_id] = site
        codec_jobs: dict[tuple[str, str], Any] = {}
        for site in expected.values():
            for endpoint in site.endpoints:
                # A bridge configured as an endpoint is read as a bridge (bridges: endpoint), never as a codec.
                if endpoint.kind in readers and endpoint.kind not in BRIDGE_KINDS:
                    try:
                        own = endpoint.settings(config.defaults.for_kind(endpoint.kind))
                        settings = reader_settings(readers[endpoint.kind][0], own)
                    except ValueError as exc:
                        self.stats.faults[f"codec:{endpoint.id}"] = str(exc)
                        continue
                    codec_jobs[(site.id, endpoint.id)] = read(endpoint.kind, endpoint.target(), settings)
        bridge_jobs: dict[str, Any] = {}
        faults: dict[str, str] = {k: v for k, v in self.stats.faults.items() if k.startswith("codec:")}
        for bridge in config.bridges:
            kind, target, given = self._bridge(config, bridge)
            if kind is None or target is None:
                faults[f"bridge:{bridge.id}"] = f"endpoint {bridge.endpoint} is not in the inventory"
                continue
            if kind not in readers:
                faults[f"bridge:{bridge.id}"] = f"no reader for bridges of kind {kind} is installed"
                continue
            try:
                settings = reader_settings(readers[kind][0], given)
            except ValueError as exc:
                faults[f"bridge:{bridge.id}"] = f"settings refused by the {kind} reader: {exc}"
                continue
            bridge_jobs[bridge.id] = read(kind, target, settings)
        self.stats.faults = faults
        answers = await asyncio.gather(*codec_jobs.values(), *bridge_jobs.values())
        codec_answers = dict(zip(codec_jobs, answers[: len(codec_jobs)], strict=True))
        bridge_answers = dict(zip(bridge_jobs, answers[len(codec_jobs) :], strict=True))
        legs = self._match(config, expected, bridge_answers)
        reports: dict[str, list[tuple[str, CallReport | None]]] = defaultdict(list)
        for (site_id, endpoint_id), report in codec_answers.items():
            reports[site_id].append((endpoint_id, report))
        answered = sum(1 for report in bridge_answers.values() if report is not None)
        calls = {
            site_id: site_call(reports.get(site_id, ()), legs.get(site_id, ()), bridges_answered=answered)
            for site_id in expected
        }
        limits = Limits(config.calls.loss, config.calls.jitter, config.calls.loss_critical)
        anything = False
        for watch in self._watches.values():
            changed = False
            for site_id, attendance in watch.sites.items():
                before = (attendance.connected, attendance.quality)
                events = attendance.observe(calls.get(site_id, SiteCall(None)), now, limits)
                for event in events:
                    log.info("meeting watch: %s, %s %s", watch.occurrence.meeting.id, site_id, event)
                if events or before != (attendance.connected, attendance.quality):
                    watch.written.pop(site_id, None)  # written at this poll
                    changed = True
            due = changed or any(now - watch.written.get(s, 0.0) >= config.calls.record_interval for s in watch.sites)
            if due:
                await self._write(watch, now)
            anything = anything or changed
        self.stats.polls += 1
        self.stats.last_poll = now
        return anything

    @staticmethod
    def _bridge(config: Config, bridge: BridgeConfig) -> tuple[str | None, str | None, Any]:
        """(kind, target, settings) of a bridge: its own, or those of the endpoint it names."""
        if bridge.endpoint is not None:
            found = config.index.endpoint(bridge.endpoint)
            if found is None:
                return None, None, None
            endpoint = found[1]
            return endpoint.kind, endpoint.target(), endpoint.settings(config.defaults.for_kind(endpoint.kind))
        given = dict(bridge.settings)
        if bridge.credentials is not None:
            given["credentials"] = bridge.credentials
        return bridge.kind, bridge.target(), given

    def _match(
        self, config: Config, expected: Mapping[str, Site], answers: Mapping[str, CallReport | None]
    ) -> dict[str, list[tuple[str, Participant]]]:
        """Each bridge participant to the site it belongs to: its configured addresses or names, else its name."""
        by_name = {match_key(site.name): site.id for site in expected.values()}
        legs: dict[str, list[tuple[str, Participant]]] = defaultdict(list)
        for bridge in config.bridges:
            report = answers.get(bridge.id)
            if report is None:
                continue
            entries = {match_key(e): site for site, listed in bridge.participants.items() for e in listed}
            for participant in report.participants:
                keys = [match_key(participant.remote), *([match_key(participant.name)] if participant.name else [])]
                site_id = next((entries[k] for k in keys if k in entries), None)
                if site_id is None and participant.name:
                    site_id = by_name.get(match_key(participant.name))
                if site_id is not None and site_id in expected:
                    legs[site_id].append((bridge.id, participant))
        return legs

    async def _write(self, watch: _Watch, now: float, *, everything: bool = False) -> None:
        interval = self._config().calls.record_interval
        due = [
            a.to_json()
            for site_id, a in watch.sites.items()
            if everything or now - watch.written.get(site_id, 0.0) >= interval
        ]
        try:
            await save_attendance(
                self.storage, watch.occurrence.meeting.id, int(watch.occurrence.start.timestamp()), due
            )
        except Exception:  # the database is down: the record catches up at the next write
            log.exception("meeting watch: the attendance of %s could not be written", watch.occurrence.meeting.id)
            return
        for record in due:
            watch.written[record["site"]] = now

    # --- for the alert engine -------------------------------------------------------------------------

    def findings(self, now: float) -> CallFindings:
        """The conditions of every expected site in every running meeting, as of the last poll."""
        config = self._config()
        tz = ZoneInfo(config.organisation.timezone)
        grace = config.calls.join_grace
        found: list[CallFinding] = []
        held: set[tuple[str, str]] = set()

        def clock(moment: float | None) -> str | None:
            return f"{datetime.fromtimestamp(moment, tz):%H:%M}" if moment is not None else None

        for watch in self._watches.values():
            meeting = watch.occurrence.meeting
            start = watch.occurrence.start.timestamp()
            for site_id, a in watch.sites.items():
                if a.connected is None:
                    held.add((site_id, meeting.id))
                base: dict[str, object] = {
                    "meeting": meeting.title,
                    "start": f"{datetime.fromtimestamp(start, tz):%H:%M %d/%m/%Y}",
                    "joined": clock(a.joined_at),
                    "left": clock(a.left_at),
                }
                if a.joined_at is None and a.present is False and now >= start + grace:
                    fields = {**base, "grace": span(grace, config.organisation.locale)}
                    found.append(CallFinding("not_joined", site_id, meeting.id, fields, a.observed_at))
                if a.joined_at is not None and a.present is False:
                    found.append(CallFinding("dropped_out", site_id, meeting.id, base, a.observed_at))
                if a.quality == "poor" and a.poor:
                    worst = a.poor[0]
                    critical = (worst.loss_ratio or 0.0) > config.calls.loss_critical
                    fields = {
                        **base,
                        "direction": "in" if worst.direction == "rx" else "out",
                        "media": worst.kind,
                        "value": (worst.loss_ratio or 0.0) * 100,
                        "limit": config.calls.loss * 100,
                        "jitter": worst.jitter_seconds * 1000 if worst.jitter_seconds is not None else None,
                        "jitter_limit": config.calls.jitter * 1000,
                        "band": "critical" if critical else "major",
                        "limit_critical": config.calls.loss_critical * 100,
                    }
                    found.append(CallFinding("poor_media", site_id, meeting.id, fields, a.observed_at))
                    if critical:  # the critical band is its own alert beside poor_media (alerts/catalog.py)
                        found.append(CallFinding("poor_media_critical", site_id, meeting.id, fields, a.observed_at))
        return CallFindings(tuple(found), frozenset(held))
