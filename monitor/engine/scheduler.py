"""The probe scheduler: every target on its own interval, in one asyncio process.

- Each target runs in its own task, so a slow or dead target never delays another's schedule.
- Start times are spread over the interval by a hash of the target's key (as Prometheus spreads its
  scrapes) and aligned to wall-clock multiples of the interval, so probes don't fire in bursts and a
  restart keeps each target's phase.
- Concurrency is bounded per kind (a semaphore each); the scheduler owns every probe's deadline
  through probes.runner.run_probe.
- A run that overruns its interval skips the slots it missed rather than bursting to catch up.
- A run starts on the next ``START_TICK`` (50 ms) of the monotonic clock at or after its due time: the ICMP
  pacer's grid (probes/icmp/pinger.py), so that the timers of round starts fire in the wake-ups the pacer
  makes anyway. At 60 s intervals a wake-up costs more CPU than the echoes it sends (issue 16).

Exposes (via monitor.metrics.collector): ``giaoban_scheduler_lag_seconds`` — how late each probe *started*
against its due time (its tick), waiting for a concurrency slot included.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from collections.abc import Callable, Generator, Iterable

from monitor.engine.state import State
from monitor.engine.targets import Target
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult
from probes.runner import run_probe

log = logging.getLogger(__name__)

START_TICK = 0.05  # seconds; = probes.icmp.pinger.TICK_NS (tests/test_scheduler.py checks they agree)
LAG_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LagHistogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(LAG_BUCKETS) + 1)
        self.total = 0.0
        self.samples = 0

    def observe(self, lag: float) -> None:
        index = next((i for i, bound in enumerate(LAG_BUCKETS) if lag <= bound), len(LAG_BUCKETS))
        self.counts[index] += 1
        self.total += lag
        self.samples += 1


def phase_offset(key: str, interval: float) -> float:
    """A stable offset in [0, interval) for this target."""
    return (zlib.crc32(key.encode()) / 2**32) * interval


class Scheduler:
    def __init__(
        self,
        *,
        ctx: ProbeContext,
        state: State,
        concurrency: dict[str, int],
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_result: Callable[[Target, ProbeResult], None] | None = None,
        start_tick: float = START_TICK,
    ) -> None:
        self._ctx = ctx
        self._tick = start_tick  # 0: start at the exact due time
        self._state = state
        self._monotonic = monotonic
        self._wall = wall
        self._on_result = on_result  # e.g. the history writer's offer(): must not block
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._concurrency: dict[str, int] = {}
        self._tasks: dict[str, tuple[Target, asyncio.Task[None]]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._pending: list[Target] | None = None
        self._updating = asyncio.Lock()  # one update() at a time: each yields between its steps
        self.lag = LagHistogram()
        self.set_concurrency(concurrency)

    def set_concurrency(self, concurrency: dict[str, int]) -> None:
        """New limits apply to runs that start from now on; runs in flight keep their slot."""
        if concurrency != self._concurrency:
            self._concurrency = dict(concurrency)
            self._limits = {}

    def _limit(self, kind: str) -> asyncio.Semaphore:
        limit = self._limits.get(kind)
        if limit is None:
            limit = self._limits[kind] = asyncio.Semaphore(self._concurrency.get(kind, 64))
        return limit

    @property
    def targets(self) -> list[Target]:
        return [target for target, _ in self._tasks.values()]

    async def run(self, targets: Iterable[Target]) -> None:
        """Probe until cancelled; cancelling cancels and awaits every probe task."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                await self.update(targets)
                await asyncio.Future()  # until cancelled
            finally:
                self._group = None

    def apply(self, targets: Iterable[Target]) -> tuple[int, int, int]:
        """Bring the running set to ``targets``: (started, stopped, kept); a changed target is stopped and started."""
        steps = self._bring(targets)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                counts: tuple[int, int, int] = done.value
                return counts

    async def update(self, targets: Iterable[Target], *, slice_size: int = 500) -> tuple[int, int, int]:
        """apply(), giving the event loop a turn after every ``slice_size`` targets (issue 16: starting or
        reloading 10,000 sites in one go held the loop, and so every probe and scrape, for over a second)."""
        async with self._updating:
            steps = self._bring(targets)
            done = 0
            while True:
                try:
                    next(steps)
                except StopIteration as finished:
                    counts: tuple[int, int, int] = finished.value
                    return counts
                done += 1
                if done % slice_size == 0:
                    await asyncio.sleep(0)  # also lets the tasks started so far take their first step

    def _bring(self, targets: Iterable[Target]) -> Generator[None, None, tuple[int, int, int]]:
        """The work of apply(), one step (a target compared, stopped or started) per yield."""
        assert self._group is not None, "apply() before run()"
        group = self._group
        wanted = {target.key: target for target in targets}
        stopped = 0
        for key, (target, task) in list(self._tasks.items()):
            if wanted.get(key) != target:
                task.cancel()
                del self._tasks[key]
                if key not in wanted:
                    self._state.forget(key)
                stopped += 1
            yield
        started = 0
        for key, target in wanted.items():
            if key not in self._tasks:
                self._state.track(target)
                self._tasks[key] = (target, group.create_task(self._loop(target), name=f"probe {key}"))
                started += 1
                yield
        kept = len(wanted) - started
        log.info(
            "scheduler: %d targets (%d started, %d stopped, %d unchanged)",
            len(wanted),
            started,
            stopped,
            kept,
        )
        return started, stopped, kept

    def _first_due(self, target: Target) -> float:
        """Next monotonic instant at wall-clock k*interval + offset."""
        now_wall, now_mono = self._wall(), self._monotonic()
        offset = phase_offset(target.key, target.interval)
        slot = math.floor((now_wall - offset) / target.interval) + 1
        return now_mono + (slot * target.interval + offset - now_wall)

    async def _loop(self, target: Target) -> None:
        due = self._first_due(target)
        tick = self._tick
        while True:
            start = math.ceil(due / tick) * tick if tick else due
            delay = start - self._monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Looked up per run, so that a reload's new limit reaches targets that keep running.
            async with self._limit(target.kind.name):
                self.lag.observe(max(0.0, self._monotonic() - start))
                result = await run_probe(
                    target.kind, target.address, target.settings, ctx=self._ctx, timeout=target.timeout
                )
            self._state.record(target, result)
            if self._on_result is not None:
                self._on_result(target, result)
            if not result.success:
                log.info(
                    "%s %s (%s): %s: %s",
                    target.kind.name,
                    target.key,
                    target.address,
                    result.reason,
                    result.detail,
                )
            due += target.interval
            now = self._monotonic()
            if due < now:  # overran: skip the missed slots instead of bursting
                due += math.ceil((now - due) / target.interval) * target.interval
