"""The scheduler: own interval per target, spread starts, deadlines, isolation, reload, clean shutdown."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from typing import Any

import pytest

from monitor.engine.scheduler import Scheduler, phase_offset
from monitor.engine.state import State
from monitor.engine.targets import Target
from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.core.settings import Settings


class Behaviour(Settings):
    hang: bool = False
    sleep: float = 0.0


class Recorder:
    """A probe kind whose behaviour the test sets; it records when each target's runs started."""

    def __init__(self) -> None:
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0

    async def probe(self, target: str, settings: Behaviour, *, ctx: ProbeContext) -> ProbeResult:
        self.starts[target].append(time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if settings.hang:
                await asyncio.Future()
            await asyncio.sleep(settings.sleep)
            return ProbeResult(success=True, duration=settings.sleep)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


def make_target(kind: ProbeKind, name: str, *, interval: float, timeout: float = 5.0, **behaviour: Any) -> Target:
    return Target(
        key=f"site/{name}",
        site="site",
        name=name,
        kind=kind,
        address=name,
        settings=Behaviour(**behaviour),
        interval=interval,
        timeout=timeout,
        role="endpoint",
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def kind(recorder: Recorder) -> ProbeKind:
    return ProbeKind("fake", Behaviour, recorder.probe)


async def run_for(scheduler: Scheduler, targets: list[Target], seconds: float) -> None:
    task = asyncio.create_task(scheduler.run(targets))
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_each_target_keeps_its_own_interval(recorder: Recorder, kind: ProbeKind) -> None:
    """Two targets on different intervals each run at their own pace."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={})
    fast = make_target(kind, "fast", interval=0.1)
    slow = make_target(kind, "slow", interval=0.4)
    await run_for(scheduler, [fast, slow], 1.25)
    assert 11 <= len(recorder.starts["fast"]) <= 13
    assert 3 <= len(recorder.starts["slow"]) <= 4
    gaps = [b - a for a, b in zip(recorder.starts["fast"], recorder.starts["fast"][1:], strict=False)]
    assert all(0.07 < gap < 0.13 for gap in gaps), gaps


async def test_dead_target_does_not_delay_healthy_one(recorder: Recorder, kind: ProbeKind) -> None:
    """A target that never answers is cut at its deadline and never shifts another target's schedule."""
    state = State()
    scheduler = Scheduler(ctx=ProbeContext(), state=state, concurrency={})
    dead = make_target(kind, "dead", interval=0.2, timeout=0.15, hang=True)
    healthy = make_target(kind, "healthy", interval=0.1)
    await run_for(scheduler, [dead, healthy], 1.05)
    starts = recorder.starts["healthy"]
    assert len(starts) >= 9
    assert max(b - a for a, b in itertools.pairwise(starts)) < 0.14
    entry = state.get("site/dead")
    assert entry is not None and entry.latest is not None
    assert entry.latest.reason is Reason.TIMEOUT
    assert entry.failures == entry.runs >= 4


async def test_overrunning_probe_skips_missed_slots(recorder: Recorder, kind: ProbeKind) -> None:
    """A run longer than the interval is followed by the next free slot, not by a burst of catch-up runs."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={})
    slowpoke = make_target(kind, "slowpoke", interval=0.1, sleep=0.25)
    await run_for(scheduler, [slowpoke], 1.0)
    starts = recorder.starts["slowpoke"]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps and all(gap >= 0.25 for gap in gaps), gaps
    assert len(starts) <= 4


async def test_concurrency_is_bounded_per_kind(recorder: Recorder, kind: ProbeKind) -> None:
    """No more probes of one kind run at once than the configured limit."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={"fake": 3})
    targets = [make_target(kind, f"t{i}", interval=0.05, sleep=0.04) for i in range(20)]
    await run_for(scheduler, targets, 0.5)
    assert recorder.max_in_flight == 3


async def test_starts_are_spread_over_the_interval(recorder: Recorder, kind: ProbeKind) -> None:
    """100 targets on one interval start at hashed offsets, not all in the same instant."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={})
    targets = [make_target(kind, f"t{i}", interval=1.0) for i in range(100)]
    await run_for(scheduler, targets, 1.05)
    firsts = sorted(starts[0] for starts in recorder.starts.values())
    assert len(firsts) == 100
    # Spread over most of the second, and no tenth of it holds more than a third of the starts.
    assert firsts[-1] - firsts[0] > 0.7
    buckets: dict[int, int] = defaultdict(int)
    for first in firsts:
        buckets[int((first - firsts[0]) * 10)] += 1
    assert max(buckets.values()) < 34
    offsets = {round(phase_offset(f"site/t{i}", 60.0), 3) for i in range(100)}
    assert len(offsets) > 95  # stable, distinct offsets


async def test_reload_keeps_unchanged_restarts_changed_stops_removed(recorder: Recorder, kind: ProbeKind) -> None:
    """apply() touches only what changed; a removed target's state is dropped, a kept one's is not."""
    state = State()
    scheduler = Scheduler(ctx=ProbeContext(), state=state, concurrency={})
    keep = make_target(kind, "keep", interval=0.05)
    change = make_target(kind, "change", interval=0.05)
    drop = make_target(kind, "drop", interval=0.05)
    task = asyncio.create_task(scheduler.run([keep, change, drop]))
    await asyncio.sleep(0.3)
    kept_runs = state.get("site/keep").runs  # type: ignore[union-attr]
    changed = make_target(kind, "change", interval=0.05, sleep=0.01)
    added = make_target(kind, "added", interval=0.05)
    same_keep = make_target(kind, "keep", interval=0.05)  # equal by value: not restarted
    assert scheduler.apply([same_keep, changed, added]) == (2, 2, 1)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state.get("site/drop") is None
    assert state.get("site/keep").runs > kept_runs  # type: ignore[union-attr]
    assert state.get("site/change").target.settings == Behaviour(sleep=0.01)  # type: ignore[union-attr]
    assert state.get("site/added").runs > 0  # type: ignore[union-attr]
    assert {t.name for t in scheduler.targets} == {"keep", "change", "added"}


async def test_cancel_awaits_every_probe(recorder: Recorder, kind: ProbeKind) -> None:
    """Shutdown cancels probes in flight and waits for them: nothing is left running."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={})
    targets = [make_target(kind, f"h{i}", interval=0.05, hang=True, timeout=30) for i in range(10)]
    await run_for(scheduler, targets, 0.2)
    assert recorder.in_flight == 0
    assert recorder.cancelled == 10


async def test_lag_is_measured(recorder: Recorder, kind: ProbeKind) -> None:
    """Every start is observed in the lag histogram (its size is a benchmark's business, bench/)."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={})
    await run_for(scheduler, [make_target(kind, "a", interval=0.05)], 0.5)
    assert scheduler.lag.samples == len(recorder.starts["a"]) >= 8
    assert sum(scheduler.lag.counts) == scheduler.lag.samples
