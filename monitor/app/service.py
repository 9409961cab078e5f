"""The running service: inventory, shared probe clients, scheduler and HTTP API in one asyncio process.

SIGHUP and POST /-/reload re-read the inventory; a bad file keeps the running configuration and sets
``giaoban_config_last_reload_successful 0``. SIGTERM/SIGINT cancel and await everything, then exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from alerts.engine import AlertEngine
from alerts.outbox import Outbox
from alerts.store import SqlAlertStore, prune_alerts
from monitor.config.loader import ConfigError, load_config
from monitor.config.models import Config
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.metrics.alerts import alert_lines
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.meetings import meeting_text
from monitor.metrics.outbox import outbox_lines
from monitor.metrics.sites import site_info_text
from monitor.readiness.engine import ReadinessEngine
from monitor.readiness.events import ReadinessEvent
from monitor.readiness.meetings import sync_config_meetings
from monitor.storage.database import DEFAULT_DATABASE, Storage
from monitor.storage.history import HistoryWriter
from monitor.storage.retention import retention_loop
from monitor.web.api_v1 import make_api_v1
from monitor.web.app import make_app
from probes.context import probe_context
from probes.core.context import ProbeContext
from probes.core.settings import split_host_port

log = logging.getLogger(__name__)


class Service:
    def __init__(
        self, config_path: Path, config: Config, *, ctx: ProbeContext, storage: Storage, listen: str | None = None
    ) -> None:
        self.config_path = config_path
        self.config = config
        self.ctx = ctx
        self.storage = storage
        self.listen = listen or config.listen
        self.state = State()
        self.reload_status = ReloadStatus(successful=True, last_success=time.time())
        self.history = HistoryWriter(storage, batch=config.history.batch, flush_interval=config.history.flush_interval)
        self.scheduler = Scheduler(
            ctx=ctx, state=self.state, concurrency=config.scheduler.concurrency, on_result=self.history.offer
        )
        self.exposition = Exposition(self.state, self.scheduler, self.reload_status)
        # Alerting: engine → store (alerts + outbox rows in one transaction) → outbox → channels.
        assert ctx.http is not None, "the service's context has the shared HTTP session (probes.context)"
        self.outbox = Outbox(storage, lambda: {n.id: n for n in self.config.notifiers}, http=ctx.http)
        self.alert_store = SqlAlertStore(storage, on_commit=self.outbox.wake)
        self.alerts = AlertEngine(lambda: self.config, self.state, self.alert_store)
        self.readiness = ReadinessEngine(
            config=lambda: self.config, storage=storage, ctx=ctx, state=self.state, sink=self.on_readiness
        )
        self.exposition.add_source(lambda: meeting_text(self.readiness.snapshot))
        self.exposition.add_source(lambda: site_info_text(self.config))
        self.exposition.add_source(lambda: alert_lines(self.alerts.firing_counts()))
        self.exposition.add_source(lambda: "".join(outbox_lines(self.outbox.stats)))
        self.ready = False
        self._reload_lock = asyncio.Lock()

    async def on_readiness(self, event: ReadinessEvent) -> None:
        """Readiness events become meeting alerts: the site's technicians and the admins are notified."""
        log.info("readiness %s: meeting %s, site %s", event.kind, event.meeting_id, event.site_id or "-")
        await self.alerts.on_readiness(event)

    async def reload(self) -> list[str]:
        """Re-read the inventory; on success apply it, else keep the running one. Returns the problems."""
        async with self._reload_lock:
            try:
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
            self.config = config
            self.scheduler.set_concurrency(config.scheduler.concurrency)
            self.scheduler.apply(targets_from_config(config))
            self.reload_status.successful = True
            self.reload_status.last_success = time.time()
            log.info("reloaded %s", self.config_path)  # in force from here: /metrics already shows the new sites
            try:
                await self.sync_storage()
            except Exception:  # the database is not the inventory: probing goes on with the new file
                log.exception("reload: the database could not be brought up to date; probing uses the new inventory")
            return []

    async def sync_storage(self) -> None:
        """Sites, devices, endpoints and the config's meetings into the database (history is kept)."""
        await self.storage.sync_inventory(self.config)
        await sync_config_meetings(self.storage, self.config, self.config.meetings)

    async def run(self, stop: asyncio.Event) -> None:
        host, port = split_host_port(self.listen)
        await self.sync_storage()
        app = make_app(self)
        app.add_subapp(
            "/api/v1",
            make_api_v1(storage=self.storage, config=lambda: self.config, state=self.state, readiness=self.readiness),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            log.info("listening on http://%s/ (metrics at /metrics)", self.listen)
            async with asyncio.TaskGroup() as group:
                probing = group.create_task(self.scheduler.run(targets_from_config(self.config)))
                writing = group.create_task(self.history.run())
                history = self.config.history
                retention = group.create_task(
                    retention_loop(
                        self.storage, raw_retention=history.raw_retention, hourly_retention=history.hourly_retention
                    )
                )
                checking = group.create_task(self.readiness.run())
                alerting = group.create_task(self.alerts.run())
                delivering = group.create_task(self.outbox.run())
                pruning = group.create_task(_alert_retention(self.storage))
                self.ready = True
                await stop.wait()
                checking.cancel()
                alerting.cancel()
                pruning.cancel()
                await asyncio.wait([checking, alerting])
                delivering.cancel()  # rows not yet delivered stay in the outbox and go out at the next start
                log.info("stopping: cancelling probes")
                probing.cancel()
                await asyncio.wait([probing])
                writing.cancel()  # after the probes: its cancel flushes what they produced
                await asyncio.wait([writing])
                retention.cancel()
        finally:
            self.ready = False
            await runner.cleanup()


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


async def serve(config_path: Path, *, listen: str | None = None, database: str | None = None) -> int:
    """Run until SIGTERM/SIGINT. Config errors raise ConfigError, database errors StorageError (exit 2)."""
    config = await asyncio.to_thread(load_config, config_path, resolve_secrets=True)
    _log_deprecations(config_path, config)
    stop = asyncio.Event()
    storage = await Storage.open(database or config.database or DEFAULT_DATABASE)
    try:
        async with probe_context() as ctx:
            service = Service(config_path, config, ctx=ctx, storage=storage, listen=listen)
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
