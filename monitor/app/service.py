"""The running service: inventory, shared probe clients, scheduler and HTTP API in one asyncio process.

SIGHUP and POST /-/reload re-read the inventory; a bad file keeps the running configuration and sets
``giaoban_config_last_reload_successful 0``. SIGTERM/SIGINT cancel and await everything, then exit 0.

A fault that disables a function is visible (issue 13): /metrics has the history writer's, the alert engine's,
the outbox's and the database's series; ``problems()`` is why /-/ready answers 503 (the database cannot be
used, alert evaluation fails or is stuck); and the admins hear of a database fault through their channels
directly (alerts/database_notice.py), since the outbox needs the database.

Scale-out (issue 17): the agent probes only the sites it owns (``--scope``/``--shard``, monitor/engine/ownership.py),
and acts (alert evaluation, readiness announcements, outbox delivery) only for the scopes whose lease it holds
(monitor/storage/leases.py, monitor/app/leased.py); on SQLite it holds them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from alerts.database_notice import DatabaseNotice
from alerts.engine import AlertEngine
from alerts.notifiers.base import NotifierContext
from alerts.outbox import Outbox
from alerts.spool_outbox import SpoolOutbox
from alerts.store import SqlAlertStore, prune_alerts
from monitor.app.leased import OwnedAlertStore, OwnedState, held_sites
from monitor.config.loader import ConfigError, load_config
from monitor.config.models import Config
from monitor.engine.ownership import Ownership, OwnershipSpec, owned_targets
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.engine.targets import Target, targets_from_config
from monitor.errors import UsageError
from monitor.metrics.alerts import alerts_source, evaluation_source
from monitor.metrics.calls import calls_source
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.database import database_source
from monitor.metrics.history import history_source
from monitor.metrics.leases import leases_source
from monitor.metrics.meetings import meetings_source
from monitor.metrics.outbox import outbox_source
from monitor.metrics.sites import sites_source
from monitor.metrics.spool import spool_source
from monitor.readiness.call_readers import CallKind
from monitor.readiness.engine import ReadinessEngine
from monitor.readiness.events import ReadinessEvent
from monitor.readiness.meetings import sync_config_meetings
from monitor.readiness.watch import CallFindings, MeetingWatch
from monitor.storage.database import Storage, StorageError
from monitor.storage.health import AREA_NAMES, AREAS, REACHABILITY
from monitor.storage.history import HistoryWriter
from monitor.storage.leases import DEFAULT_TTL, Leases
from monitor.storage.location import anchored, database_for
from monitor.storage.retention import retention_loop
from monitor.storage.spool import Spool, SpoolError, SpoolSnapshot
from monitor.storage.writeback import Writeback, storage_writers
from monitor.web.api_v1 import make_api_v1
from monitor.web.app import make_app
from probes.context import probe_context
from probes.core.context import ProbeContext
from probes.core.settings import split_host_port

log = logging.getLogger(__name__)

ALERT_INTERVAL = 5.0
# A pass normally takes milliseconds; one that has not completed for this long is stuck (e.g. a lock).
ALERT_STALE_AFTER = 60.0
SPOOL_FILE = "giaoban-spool.db"  # beside the inventory unless spool.path (or --spool) says otherwise
SPOOLED_AREAS = frozenset({*AREAS, REACHABILITY})  # what the spool takes over while the centre is away


class Service:
    def __init__(
        self,
        config_path: Path,
        config: Config,
        *,
        ctx: ProbeContext,
        storage: Storage,
        listen: str | None = None,
        clock: Callable[[], float] = time.time,
        database_option: str | None = None,
        spool_path: Path | None = None,
        ownership: OwnershipSpec | None = None,
        lease_ttl: float = DEFAULT_TTL,
        call_readers: Mapping[str, CallKind] | None = None,
    ) -> None:
        """``database_option``: the --database the service was started with, which the ack command must repeat;
        ``spool_path``: the local spool's file (--spool), used when the database is PostgreSQL;
        ``ownership``: what this agent owns (--scope/--shard/--agent-name), by default everything under the host
        name. An unknown scope raises UsageError; ``call_readers``: the meeting watch's readers instead of the
        drivers' registry (tests)."""
        self.config_path = config_path
        self.config = config
        self.ownership_spec = ownership or OwnershipSpec.parse(agent=None)
        self.ownership: Ownership = self.ownership_spec.resolve(config)
        self.ctx = ctx
        self.storage = storage
        self.listen = listen or config.listen
        self.state = State()
        # The wall time of the alerts, the readiness checks and the board (tests move it); the scheduler keeps
        # its own pair of wall and monotonic clocks, which must move together.
        self.clock = clock
        self.reload_status = ReloadStatus(successful=True, last_success=time.time())
        self.history = HistoryWriter(storage, batch=config.history.batch, flush_interval=config.history.flush_interval)
        self.scheduler = Scheduler(
            ctx=ctx, state=self.state, concurrency=config.scheduler.concurrency, on_result=self.history.offer
        )
        self.exposition = Exposition.for_state(self.state, self.scheduler, self.reload_status)
        # Alerting: engine → store (alerts + outbox rows in one transaction) → outbox → channels.
        assert ctx.http is not None, "the service's context has the shared HTTP session (probes.context)"
        self._http = ctx.http
        self.leases = Leases(
            storage, holder=self.ownership_spec.agent, units=self.ownership.units, ttl=lease_ttl,
            on_change=self._leases_changed, centre_away=self._centre_away,
        )  # fmt: skip
        self.spool_path = spool_path
        self.spool_outbox: SpoolOutbox | None = None  # run() makes it with the spool (PostgreSQL only)
        self.outbox = Outbox(
            storage, lambda: {n.id: n for n in self.config.notifiers}, http=ctx.http, sites=self._delivered_sites
        )
        self.alert_store = SqlAlertStore(storage, on_commit=self._wake_outboxes)
        self._ack_options = ack_options(config_path, database_option)
        # The meeting watch: who is connected in a running meeting, with what media (issue 18). Made before the
        # alert engine, which reads its findings (and is made again at every lease change).
        self.watch = MeetingWatch(
            config=lambda: self.config, storage=storage, ctx=ctx, clock=clock, readers=call_readers
        )
        self.alerts = self._alert_engine(self.leases.held)
        self._alerting: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self.database_notice = DatabaseNotice(lambda: self.config, storage.health, ctx=NotifierContext(http=ctx.http))
        # Each agent checks the participants it owns and stores its reports under its name; the answers join
        # every agent's (monitor/readiness/joined.py), so an agent of one province still answers for the nation.
        self.readiness = ReadinessEngine(
            config=lambda: self.config,
            storage=storage,
            ctx=ctx,
            state=self.state,
            sink=self.on_readiness,
            clock=clock,
            agent=self.ownership_spec.agent,
            owns=lambda site_id: self.ownership.owns(site_id),  # noqa: PLW0108  (a reload replaces self.ownership)
        )
        self.watch.on_change = self._evaluate_alerts  # a change of attendance is alerted on at once
        self.exposition.add_source(meetings_source(lambda: self.readiness.snapshot))
        self.exposition.add_source(calls_source(lambda: self.watch.snapshot, lambda: self.watch.stats))
        self.exposition.add_source(sites_source(lambda: self.config, lambda: self.ownership))
        self.exposition.add_source(leases_source(self.leases))
        self.exposition.add_source(alerts_source(self._firing_counts))
        self.exposition.add_source(outbox_source(lambda: self.outbox.stats))
        self.exposition.add_source(evaluation_source(lambda: self.alerts.stats))
        self.exposition.add_source(history_source(self.history))
        self.exposition.add_source(database_source(storage.health))
        self.exposition.add_source(spool_source(lambda: storage.spool.snapshot() if storage.spool else SpoolSnapshot()))
        self.ready = False
        self.started_at = time.time()  # run() sets it again: a stuck engine is measured from the start
        self._reload_lock = asyncio.Lock()
        self._settling = asyncio.Event()  # set when targets were started: freeze what they made once it settles
        self._settle = 0.0

    def _wake_outboxes(self) -> None:
        self.outbox.wake()
        if self.spool_outbox is not None:
            self.spool_outbox.wake()

    def _centre_away(self) -> bool:
        """The centre's database unreachable and the local spool taking what it cannot (not full)."""
        spool = self.storage.spool
        return spool is not None and spool.centre_down and not spool.full

    def _spool_covers(self) -> bool:
        """The spool takes what the centre cannot: its faults degrade the service instead of stopping alerting."""
        spool = self.storage.spool
        return spool is not None and not spool.full

    def problems(self) -> list[str]:
        """Why alerting cannot run now, one sentence each (/-/ready answers 503 with them); empty when it can."""
        now = time.time()
        covered = SPOOLED_AREAS if self._spool_covers() else frozenset()
        out = [
            f"database: {AREA_NAMES.get(f.area, f.area)} failing since {_iso(f.since)}: {f.error}"
            for f in self.storage.health.faults()
            if f.area not in covered
        ]
        spool = self.storage.spool
        if spool is not None and spool.full:
            out.append(
                f"the local spool {spool.path} is full ({spool.bytes} of {spool.max_bytes} bytes): what the "
                "centre's database cannot take is no longer kept"
            )
        stats = self.alerts.stats
        if stats.failing_since is not None:
            out.append(
                f"alert evaluation failing since {_iso(stats.failing_since)} "
                f"({stats.streak} passes in a row): {stats.last_error}"
            )
        elif (idle := now - max(stats.last_success, self.started_at)) > ALERT_STALE_AFTER:
            out.append(f"alert evaluation has not completed a pass for {idle:.0f} s")
        return out

    def degraded(self) -> list[str]:
        """What runs degraded though alerting can (/-/ready answers 200 with them): the centre unreachable."""
        spool = self.storage.spool
        if spool is None:
            return []
        out = [
            f"the spool file {d.path} was damaged ({d.error}): set aside, {d.salvaged} entries carried over"
            for d in spool.damaged
        ]
        faults = [f for f in self.storage.health.faults() if f.area in SPOOLED_AREAS]
        if spool.centre_down or faults:
            moment = spool.down_since if spool.down_since is not None else min(f.since for f in faults)
            error = spool.error or faults[0].error
            out.append(
                f"the centre's database is unreachable since {_iso(moment)} ({error}): probing and notifications "
                f"go on; {spool.total} entries kept in the local spool {spool.path}, written back when it answers"
            )
        elif spool.total:
            out.append(f"writing back {spool.total} entries kept in the local spool {spool.path} to the centre")
        return out

    # -- ownership and leases (issue 17) ------------------------------------------------------------------

    def _acting_sites(self) -> frozenset[str] | None:
        """The sites this agent acts for now; None when it is the only agent (SQLite: no lease to share)."""
        if not self.leases.shared:
            return None
        held = self.leases.held
        if held and self.ownership_spec.owns_everything:
            return None  # the whole inventory's lease: every row, without a list of 10,000 ids in each claim
        return held_sites(self.ownership, held)

    def _delivered_sites(self) -> frozenset[str] | None:
        return self._acting_sites()

    def _alert_engine(self, held: frozenset[str]) -> AlertEngine:
        """An engine over the held scopes' targets and alerts (every target when the agent is alone)."""
        state: State = self.state
        store: SqlAlertStore | OwnedAlertStore = self.alert_store
        if self.leases.shared:
            sites = held_sites(self.ownership, held)
            state, store = OwnedState(self.state, sites), OwnedAlertStore(self.alert_store, sites)
        engine = AlertEngine(lambda: self.config, state, store, clock=self.clock, ack_options=self._ack_options)
        engine.calls = self._call_findings
        return engine

    def _call_findings(self, now: float) -> CallFindings:
        """The meeting watch's findings for the sites this agent acts for (all of them when it is alone)."""
        found = self.watch.findings(now)
        acting = self._acting_sites()
        if acting is None:
            return found
        return CallFindings(
            tuple(f for f in found.findings if f.site in acting),
            frozenset(pair for pair in found.held if pair[0] in acting),
        )

    async def _evaluate_alerts(self) -> None:
        await self.alerts.evaluate()  # the engine of the moment: a lease change replaces it

    async def _leases_changed(self, held: frozenset[str]) -> None:
        """A lease was taken or lost: a new engine, which loads what the previous holder committed."""
        self._restart_alerting(held)
        self.outbox.wake()

    def _restart_alerting(self, held: frozenset[str]) -> None:
        previous = self._alerting
        if previous is not None:
            previous.cancel()  # its commit, if one was under way, is rolled back: nothing half-written
        self.alerts = self._alert_engine(held)
        if self._group is not None:
            self._alerting = self._group.create_task(self._alert_loop(previous))

    async def _alert_loop(self, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # one engine at a time: the old one's lock is released first
        await self.alerts.run(ALERT_INTERVAL)

    async def _readiness_loop(self) -> None:
        """The readiness schedule, on a holder only: a lead time is done once any agent stored its report, so a
        standby that checked first would leave the holder nothing to announce. A standby shows the stored reports."""
        while True:
            try:
                if not self.leases.shared or self.leases.held:
                    await self.readiness.tick()
                else:
                    await self.readiness.refresh_metrics()
            except Exception:  # the database: logged, retried at the next tick (ReadinessEngine.run does the same)
                log.exception("readiness: this round failed; retrying in %ss", self.config.readiness.tick)
            await asyncio.sleep(self.config.readiness.tick)

    def _firing_counts(self) -> dict[str, int]:
        return self.alerts.firing_counts()  # the engine of the moment: a lease change replaces it

    def _owned(self, targets: list[Target]) -> list[Target]:
        return owned_targets(targets, self.ownership)

    async def on_readiness(self, event: ReadinessEvent) -> None:
        """Readiness events become meeting alerts: the site's technicians and the admins are notified.

        Of two agents owning a site only the lease holder announces (the standby's checks stay in its reports).
        """
        acting = self._acting_sites()
        if acting is not None and (event.site_id not in acting if event.site_id is not None else not acting):
            log.debug("readiness %s of %s: not announced here, the lease is held elsewhere", event.kind, event.site_id)
            return
        log.info("readiness %s: meeting %s, site %s", event.kind, event.meeting_id, event.site_id or "-")
        await self.alerts.on_readiness(event)

    async def reload(self) -> list[str]:
        """Re-read the inventory; on success apply it, else keep the running one. Returns the problems."""
        async with self._reload_lock:
            try:
                with _collector_paused():
                    config = await asyncio.to_thread(load_config, self.config_path, resolve_secrets=True)
            except ConfigError as exc:
                self.reload_status.successful = False
                problems = [str(problem) for problem in exc.problems]
                log.error(
                    "reload of %s failed; keeping the running configuration:\n  %s",
                    self.config_path,
                    "\n  ".join(problems),
                )
                return problems
            _log_deprecations(self.config_path, config)
            if config.listen != self.config.listen:
                log.warning("listen changed to %s: takes effect on restart", config.listen)
            try:
                ownership = self.ownership_spec.resolve(config)
            except UsageError as exc:  # a scope this agent was started with left the inventory
                self.reload_status.successful = False
                log.error("reload of %s failed; keeping the running configuration: %s", self.config_path, exc)
                return [str(exc)]
            # Off the loop, then in slices (issue 16): 10,000 sites are 30,000 targets to derive and compare.
            targets = owned_targets(await asyncio.to_thread(targets_from_config, config), ownership)
            self.config = config
            owned_before, self.ownership = self.ownership.lease_of, ownership
            if self.leases.shared and ownership.lease_of != owned_before:
                self._restart_alerting(self.leases.held)  # the engine's view of the held sites follows the file
            self.scheduler.set_concurrency(config.scheduler.concurrency)
            await self.scheduler.update(targets)
            self._started(targets)
            self.reload_status.successful = True
            self.reload_status.last_success = time.time()
            log.info("reloaded %s", self.config_path)  # in force from here: /metrics already shows the new sites
            try:
                await self.sync_storage()
            except Exception:  # the database is not the inventory: probing goes on with the new file
                log.exception("reload: the database could not be brought up to date; probing uses the new inventory")
            return []

    def _started(self, targets: list[Target]) -> None:
        """Targets were started: once each has run (its interval and timeout), freeze what they made."""
        self._settle = min(SETTLE_LIMIT, max((t.interval + t.timeout for t in targets), default=0.0))
        self._settling.set()

    async def _freeze_when_settled(self) -> None:
        """gc.freeze() once the targets started have each run: out of every later pass of the collector.

        What start-up froze is the inventory; then come the probe tasks, the state's entries, the metrics'
        layouts and the rules' memos, ~30 objects a target: at 10,000 sites a full pass walked ~330,000 of
        them and held the GIL 200-300 ms every few minutes on the bench VM (probe starts late; issue 16).
        What is frozen and later replaced (a result, its chunks) is freed by reference counting as before; only
        cyclic garbage made before the freeze stays (a bounded amount, once per start or reload).
        """
        while True:
            await self._settling.wait()
            self._settling.clear()
            await asyncio.sleep(self._settle)
            gc.freeze()

    async def sync_storage(self) -> None:
        """Sites, devices, endpoints and the config's meetings into the database (history is kept)."""
        await self.storage.sync_inventory(self.config)
        await sync_config_meetings(self.storage, self.config, self.config.meetings)

    async def open_spool(self) -> Spool | None:
        """The local spool when the database is the centre's PostgreSQL (a SQLite file is the agent's own)."""
        if self.storage.dialect != "postgresql" or self.storage.spool is not None:
            return None
        path = self.spool_path or Path(self.config.spool.path or SPOOL_FILE)
        if not path.is_absolute():
            path = self.config_path.absolute().parent / path
        try:
            spool = await Spool.open(path, max_bytes=self.config.spool.max_megabytes * 2**20)
        except SpoolError as exc:
            raise StorageError(str(exc)) from None
        self.storage.spool = spool
        log.info("local spool %s: keeps what the centre's database cannot take while it is unreachable", path)
        return spool

    async def run(self, stop: asyncio.Event) -> None:
        host, port = split_host_port(self.listen)
        await self.sync_storage()
        spool = await self.open_spool()
        try:
            await self._run(stop, host, port)
        finally:
            if spool is not None:
                self.storage.spool = None
                await spool.close()

    async def _run(self, stop: asyncio.Event, host: str, port: int) -> None:
        app = make_app(self, clock=self.clock, watch=lambda: self.watch.snapshot)
        app.add_subapp(
            "/api/v1",
            make_api_v1(
                storage=self.storage,
                config=lambda: self.config,
                state=self.state,
                readiness=self.readiness,
                ownership=lambda: self.ownership,
                leases=self.leases,
                watch=lambda: self.watch.snapshot,
            ),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            log.info("listening on http://%s/ (metrics at /metrics)", self.listen)
            async with asyncio.TaskGroup() as group:
                self._group = group
                targets = self._owned(await asyncio.to_thread(targets_from_config, self.config))
                log.info(
                    "agent %s owns %d of %d sites (%s)",
                    self.ownership_spec.agent, len(self.ownership.lease_of), len(self.config.sites),
                    ", ".join(self.ownership.units),
                )  # fmt: skip
                probing = group.create_task(self.scheduler.run(targets))
                self._started(targets)
                freezing = group.create_task(self._freeze_when_settled())
                leasing = group.create_task(self.leases.run())
                writing = group.create_task(self.history.run())
                encoding = group.create_task(self.exposition.run())
                history = self.config.history
                retention = group.create_task(
                    retention_loop(
                        self.storage, raw_retention=history.raw_retention, hourly_retention=history.hourly_retention
                    )
                )
                checking = group.create_task(self._readiness_loop())
                watching = group.create_task(self.watch.run())
                self._alerting = group.create_task(self._alert_loop(None))
                delivering = group.create_task(self.outbox.run())
                checking_database = group.create_task(self.storage.health.run(self.storage.ping))
                noticing = group.create_task(self.database_notice.run())
                pruning = group.create_task(_alert_retention(self.storage))
                spooling: list[asyncio.Task[None]] = []
                if (spool := self.storage.spool) is not None:
                    writers = {**storage_writers(self.storage), **self.alert_store.spool_writers()}
                    self.spool_outbox = SpoolOutbox(
                        spool,
                        lambda: {n.id: n for n in self.config.notifiers},
                        http=self._http,
                        stats=self.outbox.stats,
                        allowed=lambda: not self.leases.shared or bool(self.leases.last_held),
                    )
                    spooling = [
                        group.create_task(Writeback(self.storage, spool, writers).run()),
                        group.create_task(self.spool_outbox.run()),
                    ]
                self.started_at = time.time()
                self.ready = True
                await stop.wait()
                self._group = None  # no new engine from here: a lease change now only ends the old one
                alerting = self._alerting
                assert alerting is not None, "started above"
                checking.cancel()
                watching.cancel()
                alerting.cancel()
                pruning.cancel()
                await asyncio.wait([checking, watching, alerting])
                delivering.cancel()  # rows not yet delivered stay in the outbox and go out at the next start
                await asyncio.wait([delivering])
                leasing.cancel()  # after the deliveries: released, the standby takes over at once
                noticing.cancel()
                checking_database.cancel()
                log.info("stopping: cancelling probes")
                probing.cancel()
                await asyncio.wait([probing])
                writing.cancel()  # after the probes: its cancel flushes what they produced
                await asyncio.wait([writing])
                retention.cancel()
                encoding.cancel()
                freezing.cancel()
                for task in spooling:  # the spool file stays: what it holds is written back at the next start
                    task.cancel()
        finally:
            self.ready = False
            await runner.cleanup()


SETTLE_LIMIT = 300.0  # seconds: the longest wait for started targets to have run before their objects are frozen


def ack_options(config_path: Path, database_option: str | None) -> list[str]:
    """What the messages' ack command adds so that, pasted in any directory, it opens this service's database:
    the inventory, absolute, and the --database the service was given unless it holds a password (never shown)."""
    options = ["-c", str(config_path.absolute())]
    if database_option is not None and make_url(database_option).password is None:
        options += ["--database", anchored(database_option, Path.cwd())]
    return options


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while an inventory loads, then the new one frozen, as at start-up.

    Loading 10,000 sites makes millions of objects (YAML nodes, then the models); each time the long-lived ones
    grow by a quarter Python's collector walks every object of the process, holding the GIL: ~20 such passes
    of up to 1.8 s stalled the event loop during one reload (issue 16, bench/RESULTS.md). The YAML nodes are
    freed by reference counting when the load ends; the models of the new inventory are long-lived, so they
    go where probes/context.py put the first one: gc.freeze(), out of every later pass. (What is frozen and
    later becomes cyclic garbage is not reclaimed: the models are acyclic, and a reload is rare.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()  # not after a failed load: its exception and traceback are garbage soon
    finally:
        if enabled:
            gc.enable()


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _alert_retention(storage: Storage, every: float = 3600.0) -> None:
    """Resolved alerts and delivered notifications are kept for a while (history), then pruned."""
    while True:
        try:
            await prune_alerts(storage)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("alert retention failed, retrying in %.0fs: %s", every, exc)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def _signals(stop: asyncio.Event, service: Service | None) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[list[str]]] = set()

    def on_hup() -> None:
        if service is not None:
            task = loop.create_task(service.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for task in list(reloads):
            task.cancel()


async def serve(
    config_path: Path,
    *,
    listen: str | None = None,
    database: str | None = None,
    spool: Path | None = None,
    ownership: OwnershipSpec | None = None,
    lease_ttl: float = DEFAULT_TTL,
) -> int:
    """Run until SIGTERM/SIGINT. Config errors raise ConfigError, database errors StorageError, an unknown
    --scope UsageError (exit 2).

    The database is the inventory's, as for every CLI command (monitor/storage/location.py), unless ``database``.
    """
    with _collector_paused():  # half the start-up time of 10,000 sites (issue 16)
        config = await asyncio.to_thread(load_config, config_path, resolve_secrets=True)
    _log_deprecations(config_path, config)
    (ownership or OwnershipSpec.parse(agent=None)).resolve(config)  # an unknown --scope: before the database opens
    stop = asyncio.Event()
    if database is not None:
        log.info(
            "--database replaces the database of %s: the other commands need the same --database (the alerts' ack "
            "command repeats it); written in the inventory as database:, -c alone finds it",
            config_path,
        )
    storage = await Storage.open(database_for(config, config_path, override=database))
    try:
        async with probe_context() as ctx:
            service = Service(
                config_path,
                config,
                ctx=ctx,
                storage=storage,
                listen=listen,
                database_option=database,
                spool_path=spool,
                ownership=ownership,
                lease_ttl=lease_ttl,
            )
            async with _signals(stop, service):
                await service.run(stop)
    finally:
        await storage.close()
    log.info("stopped")
    return 0


def _log_deprecations(config_path: Path, config: Config) -> None:
    """Older keys still load; say once per load what to rename (check-config says the same)."""
    for notice in config.deprecations():
        log.warning("%s: %s", config_path, notice["en"])
