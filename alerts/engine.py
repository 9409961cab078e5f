"""The alert engine: conditions over the live state and readiness events → alert states → notifications.

    engine = AlertEngine(lambda: config, state, store, clock=time.time, ack_options=["-c", "/etc/giaoban/giaoban.yml"])
    await engine.evaluate()            one pass: rules, ``for`` durations, topology, maintenance, acks, commit
    await engine.run(interval=5.0)     evaluate forever (cancel to stop); engine.stats counts failed passes
    await engine.on_readiness(event)   site_not_ready / site_recovered / summary (monitor/readiness/events.py)
    engine.firing(), engine.firing_counts()    for the API and giaoban_alerts_firing{severity}

An alert is (rule, site, target): pending while its condition has lasted less than the rule's ``for``,
then firing, resolved when the condition clears or its target leaves the inventory (Prometheus'
semantics; a target with no result yet keeps its alerts as they are, so a restart does not resolve
and re-fire everything). Each pass computes every transition, then commits the changed alert rows
and their outbox rows in ONE store transaction; the in-memory state moves on only after the commit.

Notifications carry a deterministic key, ``{alert id}/{event}/{int(fired_at)}/{n}``: ``fired_at`` is
``started_at + for`` (not the moment of the pass), ``n`` the reminder number (refreshes for Alertmanager
count the same way; meeting reminders use the seconds left before the start), so a pass replayed after
a crash enqueues the same keys and the store skips them.

Who is told what:
- firing: once, when the alert fires and is neither folded nor in maintenance; if it was silenced, when
  the silence ends and it is still firing. Reminders every ``alerts.reminder_interval`` until acknowledged
  (an acknowledgement counts when made after the alert started). Resolved: iff a firing went out.
- Topology (alerts/topology.py): while a site's link_down or router device_down fires, every alert of
  its descendants, and the site's own other alerts (its router, its codecs: unreachable through a dead
  link), is suppressed (``suppressed_by`` = that alert's id, the topmost one) and the root's
  message lists the affected sites by name: one message, not 24. Races are handled by holding, not by
  timing: an alert of a site that has a parent waits ``alerts.topology_grace`` beyond its ``for`` (its
  parent's outage may be seen one probe interval later), and does not fire while a root alert of an
  ancestor or of its own site is pending. When the root resolves, an alert it folded that is still bad
  notifies on its own once a probe result taken after the recovery confirms it (stale results from
  during the outage do not leak 23 messages).
- Service alerts (probe_setup: giaoban cannot measure, alerts/catalog.py ``service``): site "-", no site label,
  never folded, sent to alerts.admins only (no site, so no technician); held like any alert while a target
  of its probe kind has no result yet, so a restart neither resolves nor repeats it.
- Running meetings (monitor/readiness/watch.py, ``calls``): not_joined, dropped_out and poor_media findings join
  every pass's, target the meeting's id, and go through the same ``for``, topology, maintenance, acks and
  routing; a site the watch's last poll could not tell is held like a target with no result yet.
- Critical bands (alerts/catalog.py ``band_of``: poor_media_critical over poor_media): a separate alert with the
  same alertname and severity critical, as Prometheus writes bands; while it fires, its warning band for the same
  site and target is folded into it (``suppressed_by`` = its id), and told again, if still bad, when it resolves.
- Maintenance (alerts/maintenance.py): matching alerts keep their state with ``suppressed_by`` =
  "maintenance:ID" and send nothing but their resolve (a technician who was told of a fault hears it is fixed).

At 10,000 sites (issue 16) a pass looks sites up by index (monitor/config/index.py), computes the rules only
for targets with a new result (alerts/rules.py, RuleEvaluator), and yields to the event loop between slices.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from alerts.catalog import RULES, SUMMARY_ALERTNAME
from alerts.maintenance import active_windows, covering, window_from_config
from alerts.model import AlertRecord, MaintenanceWindow, Severity
from alerts.notifiers.base import Notification
from alerts.routing import channels, recipients
from alerts.rules import Evaluation, Finding, RuleEvaluator, target_key
from alerts.templates import AlertView, alert_url, local_time, render_alert, render_summary
from alerts.topology import SiteTree, is_topology_root
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.i18n import span, verdict_text
from monitor.readiness.events import ReadinessEvent, ReasonText
from monitor.readiness.watch import CallFindings
from monitor.storage.health import describe

log = logging.getLogger(__name__)

SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
ADVANCE_SLICE = 200  # alerts advanced between two turns of the event loop (issue 16)


class AlertStore(Protocol):
    async def load_open(self) -> list[AlertRecord]: ...  # pending/firing at start-up (restart keeps state)

    async def commit(self, records: Sequence[AlertRecord], outbox: Sequence[tuple[str, Notification]]) -> None:
        """ONE transaction: upsert the alert rows, insert (channel_id, notification) outbox rows; an outbox
        row whose (notification.key, channel_id) already exists is skipped."""

    async def acknowledgements(self, ids: Sequence[str]) -> dict[str, tuple[float, str]]: ...  # id -> (at, by)

    async def maintenance_windows(self) -> list[MaintenanceWindow]: ...  # from the API and CLI


def alert_labels(
    config: Config,
    tree: SiteTree,
    *,
    rule: str,
    site: str,
    target: str | None,
    severity: str,
    meeting: str | None = None,
) -> dict[str, str]:
    """The labels every pushed notification carries; the one place they are built (Alertmanager routes and
    inhibit rules match on them, so they must stay stable for the life of an alert: no measured values)."""
    labels = {"alertname": RULES[rule].alertname, "severity": severity, "rule": rule}
    if not RULES[rule].service:  # an alert about giaoban itself has no site (its site is SERVICE_SITE)
        labels["site"] = site
    if target:
        labels["target"] = target
    parent = tree.parent.get(site)
    if parent:
        labels["parent"] = parent
    if meeting is None and RULES[rule].in_meeting:
        meeting = target  # a running meeting's alert: its target is the meeting's id
    if meeting:
        labels["meeting"] = meeting
    if RULES[rule].topology_root:
        # The Alertmanager channel pushes a GiaobanParentDown marker beside this alert, so the shipped inhibit
        # rule (deploy/alertmanager.yml) mutes the alerts of this site's children, from this or another agent.
        labels["inhibits_children"] = "true"
    return labels


@dataclass(slots=True)
class EvaluationStats:
    """How run()'s passes go, for /metrics (monitor/metrics/alerts.py) and /-/ready."""

    failures: int = 0  # passes that raised, since start
    last_success: float = 0.0  # epoch seconds of the last pass that completed; 0 before the first
    failing_since: float | None = None  # the first failure of the current streak, None while passes work
    streak: int = 0  # failed passes in a row
    last_error: str | None = None


@dataclass(slots=True)
class _Pass:
    """What one evaluation decided: rows to commit, outbox rows, and memory to update after the commit."""

    now: float
    config: Config
    tree: SiteTree
    records: dict[str, AlertRecord] = field(default_factory=dict)  # every alert after this pass
    outbox: list[tuple[str, Notification]] = field(default_factory=list)
    recovered: dict[str, float] = field(default_factory=dict)  # site -> when the root above it resolved
    refreshed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Meeting:
    """What the last readiness event said about a meeting alert (in memory: a restart forgets it)."""

    lead: float
    reasons: tuple[tuple[str, str], ...]
    fields: Mapping[str, object]
    reason_texts: tuple[ReasonText, ...]


class AlertEngine:
    def __init__(
        self,
        config_provider: Callable[[], Config],
        state: State,
        store: AlertStore,
        *,
        clock: Callable[[], float] = time.time,
        ack_options: Sequence[str] = (),
        calls: Callable[[float], CallFindings] | None = None,
    ) -> None:
        """``calls``: the meeting watch's findings (monitor/readiness/watch.py), merged into every pass."""
        self._config = config_provider
        self.calls = calls
        self._state = state
        self._store = store
        self._clock = clock
        self._ack_options = tuple(ack_options)  # -c INVENTORY in the messages' ack command: it works when pasted
        self._open: dict[str, AlertRecord] = {}
        self._findings: dict[str, Finding] = {}
        self._meetings: dict[str, _Meeting] = {}
        self._recovered: dict[str, float] = {}
        self._refreshed: dict[str, int] = {}
        self._rules = RuleEvaluator()
        self._loaded = False
        self._lock = asyncio.Lock()
        self.stats = EvaluationStats()

    # -- reading -------------------------------------------------------------------------------------------

    def firing(self) -> list[AlertRecord]:
        return sorted((r for r in self._open.values() if r.state == "firing"), key=lambda r: r.id)

    def open_alerts(self) -> list[AlertRecord]:
        return sorted(self._open.values(), key=lambda r: r.id)

    def firing_counts(self) -> dict[str, int]:
        """Firing alerts by severity, every severity present (giaoban_alerts_firing{severity})."""
        counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for record in self._open.values():
            if record.state == "firing":
                counts[record.severity] = counts.get(record.severity, 0) + 1
        return counts

    # -- the loop ------------------------------------------------------------------------------------------

    async def run(self, interval: float = 5.0) -> None:
        """Evaluate every ``interval`` seconds until cancelled; a failed pass is counted and repeated."""
        while True:
            try:
                await self.evaluate()
            except Exception as exc:  # the store or a bug: count it, keep alerting on the next pass
                self._failed(exc, interval)
            else:
                self._succeeded()
            await asyncio.sleep(interval)

    def _failed(self, exc: Exception, interval: float) -> None:
        stats = self.stats
        stats.failures += 1
        stats.last_error = describe(exc)
        if stats.failing_since is None:
            stats.failing_since = self._clock()
            log.exception("alert evaluation failed; retrying every %.0f s", interval)
        else:  # the traceback once per episode is enough; the count is in /metrics
            log.warning("alert evaluation failed again (%s in a row): %s", stats.streak + 1, stats.last_error)
        stats.streak += 1

    def _succeeded(self) -> None:
        stats = self.stats
        if stats.failing_since is not None:
            log.info("alert evaluation works again after %s failed passes", stats.streak)
        stats.failing_since, stats.last_error, stats.streak = None, None, 0
        stats.last_success = self._clock()

    async def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._open = {r.id: r for r in await self._store.load_open() if r.state != "resolved"}
            self._loaded = True

    async def _windows(self, config: Config, now: float) -> list[MaintenanceWindow]:
        configured = [window_from_config(entry, config.organisation.timezone) for entry in config.maintenance]
        stored = await self._store.maintenance_windows()
        # Off the loop: an hourly window's walk from its first start can take a few hundred milliseconds.
        return await asyncio.to_thread(active_windows, [*configured, *stored], now)

    # -- continuous rules ----------------------------------------------------------------------------------

    async def evaluate(self) -> None:
        """One pass over the live state; commits what changed."""
        async with self._lock:
            await self._ensure_loaded()
            now = self._clock()
            config = self._config()
            step = _Pass(now, config, SiteTree.of(config))
            evaluation = await self._rules.evaluate(config, self._state, now)
            if self.calls is not None:
                evaluation = _with_calls(config, evaluation, self.calls(now))
            windows = await self._windows(config, now)
            acks = await self._store.acknowledgements(sorted({*self._open, *evaluation.findings}))
            live, stale = self._conditions(step, evaluation)
            await self._advance(step, live, stale=stale, evaluation=evaluation, windows=windows, acks=acks)
            await self._commit(step)
            self._findings = {
                i: evaluation.findings.get(i) or self._findings[i]
                for i in self._open
                if i in evaluation.findings or i in self._findings
            }

    def _conditions(self, step: _Pass, evaluation: Evaluation) -> tuple[dict[str, AlertRecord], set[str]]:
        """Open or new alerts whose condition holds (or cannot be told yet); resolve the others."""
        config, now = step.config, step.now
        live: dict[str, AlertRecord] = {}
        stale: set[str] = set()
        for ident, finding in evaluation.findings.items():
            record = self._open.get(ident)
            if record is None:
                spec = config.alerts.rule(finding.rule)
                record = AlertRecord(
                    id=ident,
                    rule=finding.rule,
                    site=finding.site,
                    target=finding.target,
                    severity=spec.severity,
                    state="pending",
                    started_at=now,
                )
            live[ident] = record
        for ident, record in self._open.items():
            if ident in live:
                continue
            catalogued = RULES.get(record.rule)
            if catalogued is not None and not catalogued.continuous:
                if now < _occurrence_start(ident) + config.alerts.meeting_alert_expiry:
                    step.records[ident] = record  # meeting alerts change on readiness events only
                else:
                    self._resolve(step, record)
                continue
            service = catalogued is not None and catalogued.service
            known = (service or config.site(record.site) is not None) and config.alerts.enabled(record.rule)
            if known and target_key(record.site, record.target) in evaluation.unknown:
                live[ident] = record  # no result since start-up: neither confirmed nor cleared
                stale.add(ident)
            else:
                self._resolve(step, record)
        return live, stale

    async def _advance(
        self,
        step: _Pass,
        live: dict[str, AlertRecord],
        *,
        stale: set[str],
        evaluation: Evaluation,
        windows: list[MaintenanceWindow],
        acks: Mapping[str, tuple[float, str]],
    ) -> None:
        """pending → firing, folding under a root alert, maintenance, acknowledgements, notifications."""
        config, tree, now = step.config, step.tree, step.now
        roots_firing: dict[str, str] = {}  # site -> its firing root alert
        roots_pending: set[str] = set()
        bands_firing: dict[tuple[str, str, str | None], str] = {}  # (warning rule, site, target) -> critical id

        # Ancestors first, and within a site its link_down, then its router's device_down, then the critical
        # bands, then the rest: an alert's fold and hold depend on the roots above it (and its own site's) and on
        # its critical band, decided already.
        def order(record: AlertRecord) -> tuple[int, int, str]:
            catalogued = RULES.get(record.rule)
            band = catalogued is not None and catalogued.band_of is not None
            rank = 0 if record.rule == "link_down" else 1 if record.rule == "device_down" else 2 if band else 3
            return tree.depth(record.site), rank, record.id

        for position, current in enumerate(sorted(live.values(), key=order), 1):
            if position % ADVANCE_SLICE == 0:
                # Each alert renders its summary: thousands of them (a district cut off) must not hold the loop.
                await asyncio.sleep(0)
            spec = config.alerts.rule(current.rule)
            ancestors = tree.ancestors(current.site)
            chain = [*reversed(ancestors), current.site]  # the topmost root folds everything below it
            fold = next((roots_firing[a] for a in chain if roots_firing.get(a, current.id) != current.id), None)
            # The warning band while its critical band fires: one alert told, as Alertmanager's inhibit rule does.
            fold = fold or bands_firing.get((current.rule, current.site, current.target))
            held = any(a in roots_pending for a in chain)
            due_at = current.started_at + spec.for_ + (config.alerts.topology_grace if ancestors else 0.0)
            fires = current.state == "pending" and current.id not in stale and now >= due_at and (fold or not held)
            window = covering(windows, rule=current.rule, site=current.site, target=current.target)
            ack = acks.get(current.id)
            acked = ack is not None and ack[0] >= current.started_at
            record = replace(
                current,
                state="firing" if fires else current.state,
                fired_at=due_at if fires else current.fired_at,
                severity=spec.severity,
                labels=alert_labels(
                    config, tree, rule=current.rule, site=current.site, target=current.target, severity=spec.severity
                ),
                suppressed_by=fold or (f"maintenance:{window.id}" if window else None),
                acked_at=ack[0] if ack is not None and acked else current.acked_at,
                acked_by=ack[1] if ack is not None and acked else current.acked_by,
            )
            if is_topology_root(config, record.rule, record.site, record.target):
                if record.state == "firing":
                    roots_firing.setdefault(record.site, record.id)
                else:
                    roots_pending.add(record.site)
            if spec.band_of is not None and record.state == "firing":
                bands_firing[(spec.band_of, record.site, record.target)] = record.id
            finding = evaluation.findings.get(record.id)
            view = self._view(step, record, finding)
            record = replace(record, summary=_summary(config, view, now))
            step.records[record.id] = self._notify(step, record, view, finding)

    def _notify(self, step: _Pass, record: AlertRecord, view: AlertView, finding: Finding | None) -> AlertRecord:
        """Firing, reminder and Alertmanager refresh notifications of one firing alert."""
        config, now = step.config, step.now
        fired = record.fired_at
        if record.state != "firing" or fired is None:
            return record
        if record.suppressed_by is None:
            if record.last_notified_at is None:
                recovered = step.recovered.get(record.site, self._recovered.get(record.site))
                if recovered is None or (finding is not None and finding.observed_at >= recovered):
                    self._enqueue(step, record, view, "firing", 0)
                    record = replace(record, last_notified_at=now)
            elif record.acked_at is None and (interval := config.alerts.reminder_interval) > 0:
                n = int((now - fired) // interval)
                if n >= 1 and record.last_notified_at < fired + n * interval:
                    self._enqueue(step, record, view, "reminder", n)
                    record = replace(record, last_notified_at=now)
        if record.last_notified_at is not None and channels(config, record.severity, event="refresh"):
            # Alertmanager forgets an alert not pushed again within its resolve_timeout; silenced or
            # acknowledged, the alert is still firing, so the push goes on until the resolve.
            n = int((now - fired) // config.alerts.resend_interval)
            last = self._refreshed.get(record.id, n)
            step.refreshed[record.id] = last
            if n > last:
                self._enqueue(step, record, view, "refresh", n)
                step.refreshed[record.id] = n
        return record

    def _resolve(self, step: _Pass, record: AlertRecord) -> None:
        resolved = replace(record, state="resolved", resolved_at=step.now)
        step.records[record.id] = resolved
        if record.last_notified_at is not None:
            view = self._view(step, resolved, self._findings.get(record.id))
            self._enqueue(step, resolved, view, "resolved", 0)
        if record.state == "firing" and is_topology_root(step.config, record.rule, record.site, record.target):
            for site in [record.site, *step.tree.descendants(record.site)]:
                step.recovered[site] = step.now

    # -- messages ------------------------------------------------------------------------------------------

    def _view(self, step: _Pass, record: AlertRecord, finding: Finding | None) -> AlertView:
        config, tree = step.config, step.tree
        fields: dict[str, object] = {}
        reasons: tuple[ReasonText, ...] = ()
        if record.rule == "site_not_ready":
            memo = self._meetings.get(record.id)
            fields = dict(memo.fields) if memo else _meeting_fields(config, record)
            reasons = memo.reason_texts if memo else ()
        else:
            fields = self._target_fields(record)
            if finding is not None:
                fields.update(finding.fields)
            elif (last := self._findings.get(record.id)) is not None:
                fields.update(last.fields)
        affected: list[str] = []
        if is_topology_root(config, record.rule, record.site, record.target):
            affected = [tree.name(site) for site in tree.descendants(record.site)]
        service = record.rule in RULES and RULES[record.rule].service
        return AlertView(
            id=record.id,
            rule=record.rule,
            severity=record.severity,
            site_name="" if service else tree.name(record.site),
            started_at=record.started_at,
            fields=fields,
            affected=affected,
            reasons=reasons,
        )

    def _target_fields(self, record: AlertRecord) -> dict[str, object]:
        """Names the message needs even without a current measurement (after a restart, on resolve)."""
        target = record.target or ""
        name, _, interface = target.partition(":")
        entry = self._state.get(target_key(record.site, record.target))
        address = entry.target.address if entry is not None else None
        fields: dict[str, object] = {"device": name, "endpoint": name, "interface": interface, "address": address}
        if record.rule in RULES and RULES[record.rule].service:
            fields["kind"] = name  # a service alert's target is the probe kind (probe_setup)
        return fields

    def _enqueue(self, step: _Pass, record: AlertRecord, view: AlertView, event: str, n: int) -> None:
        config, now = step.config, step.now
        shown = "reminder" if event == "reminder" else "resolved" if event == "resolved" else "firing"
        rendered = render_alert(config, view, event=shown, now=now, ack_options=self._ack_options)
        fired = int(record.fired_at if record.fired_at is not None else record.started_at)
        key_event = "firing" if event == "refresh" else event
        notification = Notification(
            key=f"{record.id}/{key_event}/{fired}/{n}",
            alert_id=record.id,
            event=shown,
            alertname=RULES[record.rule].alertname,
            severity=record.severity,
            labels=dict(record.labels),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            starts_at=_utc(record.started_at),
            ends_at=_utc(record.resolved_at or now) if event == "resolved" else None,
            recipients=recipients(config, record.site, tree=step.tree),
            url=alert_url(config, record.id),
        )
        for channel in channels(config, record.severity, event=event):
            step.outbox.append((channel, notification))

    # -- commit --------------------------------------------------------------------------------------------

    async def _commit(self, step: _Pass) -> None:
        changed = [r for i, r in step.records.items() if self._open.get(i) != r]
        changed += [r for i, r in self._open.items() if i not in step.records]  # not expected; keep the store true
        if changed or step.outbox:
            await self._store.commit(changed, step.outbox)
        self._open = {i: r for i, r in step.records.items() if r.state != "resolved"}
        self._recovered.update(step.recovered)
        self._refreshed = {i: n for i, n in {**self._refreshed, **step.refreshed}.items() if i in self._open}
        self._meetings = {i: m for i, m in self._meetings.items() if i in self._open}

    # -- readiness -----------------------------------------------------------------------------------------

    async def on_readiness(self, event: ReadinessEvent) -> None:
        """Turn a readiness event into a meeting alert transition or the admins' summary."""
        async with self._lock:
            await self._ensure_loaded()
            config = self._config()
            step = _Pass(self._clock(), config, SiteTree.of(config))
            step.records = dict(self._open)
            if event.kind == "summary":
                self._summary(step, event)
            elif event.kind == "site_not_ready" and event.site_id is not None:
                if not config.alerts.enabled("site_not_ready"):
                    return
                windows = await self._windows(config, step.now)
                acks = await self._store.acknowledgements([event.alert_id])
                self._not_ready(step, event, windows, acks)
            elif event.kind == "site_recovered":
                record = self._open.get(event.alert_id)
                if record is None:
                    return
                del step.records[record.id]
                self._resolve(step, record)
            await self._commit(step)

    def _not_ready(
        self,
        step: _Pass,
        event: ReadinessEvent,
        windows: list[MaintenanceWindow],
        acks: Mapping[str, tuple[float, str]],
    ) -> None:
        config, tree, now = step.config, step.tree, step.now
        assert event.site_id is not None
        ident = event.alert_id
        spec = config.alerts.rule("site_not_ready")
        severity: Severity = spec.severity if event.verdict == "NOT_READY" else "warning"
        window = covering(windows, rule="site_not_ready", site=event.site_id, target=None)
        reasons = tuple((r.code, r.message) for r in event.reasons)
        memo = _Meeting(
            lead=event.lead_time,
            reasons=reasons,
            fields={
                "meeting": event.meeting_title,
                "start": local_time(event.occurrence_start.timestamp(), config),
                "left": span(event.lead_time, config.organisation.locale),
                "verdict": verdict_text(event.verdict or "NOT_READY", config.organisation.locale),
                "verdict_code": event.verdict,  # the title says "not ready" or "degraded" (alerts/texts.py)
            },
            reason_texts=event.reasons,
        )
        previous = self._meetings.get(ident)
        self._meetings[ident] = memo  # the message renders from it; dropped again if the alert resolves
        record = self._open.get(ident)
        labels = alert_labels(
            config, tree, rule="site_not_ready", site=event.site_id, target=None, severity=severity,
            meeting=event.meeting_id,
        )  # fmt: skip
        if record is None:
            record = AlertRecord(
                id=ident, rule="site_not_ready", site=event.site_id, target=None, severity=severity,
                state="firing", started_at=now, fired_at=now,
            )  # fmt: skip
        ack = acks.get(ident)
        record = replace(
            record,
            severity=severity,
            labels=labels,
            suppressed_by=f"maintenance:{window.id}" if window else None,
            acked_at=ack[0] if ack and ack[0] >= record.started_at else record.acked_at,
            acked_by=ack[1] if ack and ack[0] >= record.started_at else record.acked_by,
        )
        view = self._view(step, record, None)
        record = replace(record, summary=_summary(config, view, now))
        if record.suppressed_by is None:
            if record.last_notified_at is None:
                self._enqueue(step, record, view, "firing", 0)
                record = replace(record, last_notified_at=now)
            elif record.acked_at is None and (
                previous is None or previous.reasons != reasons or int(previous.lead) != int(event.lead_time)
            ):
                # A new lead time says "còn 10 phút"; the same findings at the same lead time are not news.
                self._enqueue(step, record, view, "reminder", int(event.lead_time))
                record = replace(record, last_notified_at=now)
        step.records[ident] = record

    def _summary(self, step: _Pass, event: ReadinessEvent) -> None:
        config, tree = step.config, step.tree
        names = [tree.name(site) for site in event.not_ready]
        rendered = render_summary(config, event, names)
        start = int(event.occurrence_start.timestamp())
        ident = f"readiness_summary/{event.meeting_id}/{start}/-"
        notification = Notification(
            key=f"{ident}/firing/{start}/0",
            alert_id=ident,
            event="firing",
            alertname=SUMMARY_ALERTNAME,
            severity="info",
            labels={"alertname": SUMMARY_ALERTNAME, "severity": "info", "meeting": event.meeting_id},
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            starts_at=_utc(step.now),
            ends_at=None,
            recipients=recipients(config, None, technicians=False),
            url=config.alerts.external_url,
        )
        # A summary is news for people, not an alert: Alertmanager-like channels do not get it.
        for channel in channels(config, "info", event="summary"):
            step.outbox.append((channel, notification))


def _with_calls(config: Config, evaluation: Evaluation, calls: CallFindings) -> Evaluation:
    """The pass's findings with those of the running meetings; a site the last poll could not tell keeps its
    alerts as they are (its target counts as unknown), like a target with no result yet."""
    findings = dict(evaluation.findings)
    for found in calls.findings:
        if config.alerts.enabled(found.rule):
            finding = Finding(found.rule, found.site, found.meeting, found.fields, found.observed_at)
            findings[finding.id] = finding
    held = {target_key(site, meeting) for site, meeting in calls.held}
    return Evaluation(findings, evaluation.unknown | held, evaluation.present | held)


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _occurrence_start(ident: str) -> float:
    """site_not_ready/{meeting}/{occurrence start}/{site} → the start (ReadinessEvent.alert_id)."""
    parts = ident.split("/")
    try:
        return float(parts[2])
    except (IndexError, ValueError):
        return 0.0


def _meeting_fields(config: Config, record: AlertRecord) -> dict[str, object]:
    """A meeting alert's fields when the event that opened it was before a restart."""
    return {
        "meeting": record.labels.get("meeting", "?"),
        "start": local_time(_occurrence_start(record.id), config),
        "left": "?",
        "verdict": "?",
    }


def _summary(config: Config, view: AlertView, now: float) -> str:
    """One line for lists (API, board, CLI): the firing subject without measurements that change each pass."""
    return render_alert(config, replace(view, fields={**view.fields, "value": None}), event="firing", now=now).subject
