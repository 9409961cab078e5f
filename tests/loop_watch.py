"""Watching a service under attack: the event loop's longest block, and the scheduler's lag quantiles.

async with LoopWatch() as watch:          # in the service's loop
    ... attack ...
watch.longest                             # seconds: the largest overshoot of a 5 ms sleep

before = LagWindow(service.scheduler)     # snapshot of giaoban_scheduler_lag_seconds
... attack ...
before.samples(), before.quantile(0.99)   # probe starts since, and the bucket bound holding the p99
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType

from monitor.engine.scheduler import LAG_BUCKETS, Scheduler


class LoopWatch:
    """A task sleeping ``tick`` in a loop; the longest it overslept is how long the loop was blocked."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.longest = max(self.longest, time.perf_counter() - began - self.tick)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class LagWindow:
    """The scheduler's lag histogram from now on (counts since this snapshot)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._start = list(scheduler.lag.counts)

    def _counts(self) -> list[int]:
        return [now - then for now, then in zip(self._scheduler.lag.counts, self._start, strict=True)]

    def samples(self) -> int:
        return sum(self._counts())

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket that holds the ``q`` quantile (inf past the last bucket)."""
        counts, seen = self._counts(), 0
        wanted = q * sum(counts)
        for bound, count in zip((*LAG_BUCKETS, float("inf")), counts, strict=True):
            seen += count
            if seen >= wanted:
                return bound
        return float("inf")
