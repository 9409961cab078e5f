"""The scheduler: own interval per target, spread starts, deadlines, isolation, reload, clean shutdown.

Every case runs on a ManualClock (tests/clock.py): the scheduler's sleeps and the probes' deadlines follow it,
so each run is asserted at the instant the scheduler computes for it, whatever the machine's speed.
The clock starts at wall time START, a multiple of every interval here, so a target's runs come at
monotonic ``phase_offset(key, interval) + k * interval``.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import pytest

from monitor.engine.scheduler import LAG_BUCKETS, START_TICK, Scheduler, phase_offset
from monitor.engine.state import State
from monitor.engine.targets import Target
from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.core.settings import Settings
from tests.clock import DEFAULT_WALL as START
from tests.clock import ManualClock

pytestmark = pytest.mark.timeout(30)


class Behaviour(Settings):
    hang: bool = False
    sleep: float = 0.0


class Recorder:
    """A probe kind whose behaviour the test sets; it records when (on the clock) each target's runs started."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.walls: dict[str, list[float]] = defaultdict(list)
        self.settings: dict[str, list[Behaviour]] = defaultdict(list)
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0

    async def probe(self, target: str, settings: Behaviour, *, ctx: ProbeContext) -> ProbeResult:
        self.starts[target].append(self.clock.monotonic())
        self.walls[target].append(self.clock.wall())
        self.settings[target].append(settings)
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


def slots(name: str, interval: float, *, until: float, after: float = 0.0) -> list[float]:
    """The instants in (after, until] at which the scheduler runs ``name``: its hashed phase, then every interval."""
    assert START.timestamp() % interval == 0, "START must be a multiple of the interval for slots() to hold"
    offset = phase_offset(f"site/{name}", interval)
    return [t for k in range(int(until / interval) + 2) if after < (t := offset + k * interval) <= until]


def first_come_first_served(dues: Sequence[float], *, limit: int, duration: float) -> list[float]:
    """When runs due at ``dues`` start if at most ``limit`` run at once and waiting runs go in the order they came."""
    free = [0.0] * limit  # when each slot is free again
    starts = []
    for due in sorted(dues):
        start = max(due, heapq.heappop(free))
        heapq.heappush(free, start + duration)
        starts.append(start)
    return starts


def exactly(expected: object) -> Any:
    """Equal to the microsecond: computed instants, with the float rounding of epoch seconds (2.4e-7 s near 1.8e9)."""
    return pytest.approx(expected, rel=0, abs=1e-6)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def recorder(clock: ManualClock) -> Recorder:
    return Recorder(clock)


@pytest.fixture
def kind(recorder: Recorder) -> ProbeKind:
    return ProbeKind("fake", Behaviour, recorder.probe)


def make_scheduler(clock: ManualClock, state: State | None = None, **options: Any) -> Scheduler:
    options.setdefault("concurrency", {})
    options.setdefault("start_tick", 0.0)  # exact due times; the tick has its own test
    return Scheduler(
        ctx=ProbeContext(),
        state=state if state is not None else State(),
        monotonic=clock.monotonic,
        wall=clock.wall,
        **options,
    )


async def run_for(clock: ManualClock, scheduler: Scheduler, targets: list[Target], seconds: float) -> None:
    task = asyncio.create_task(scheduler.run(targets))
    await clock.elapse(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_each_target_keeps_its_own_interval(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """Two targets on different intervals each run at their own pace, every run at its own slot."""
    scheduler = make_scheduler(clock)
    targets = [make_target(kind, "fast", interval=10), make_target(kind, "slow", interval=40)]
    clock.run(run_for(clock, scheduler, targets, 125))
    assert recorder.starts["fast"] == exactly(slots("fast", 10, until=125))
    assert recorder.starts["slow"] == exactly(slots("slow", 40, until=125))
    assert len(recorder.starts["fast"]) in (12, 13) and len(recorder.starts["slow"]) in (3, 4)


def test_dead_target_does_not_delay_healthy_one(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """A target that never answers is cut exactly at its deadline and never shifts another target's schedule."""
    state = State()
    results: list[tuple[str, float, ProbeResult]] = []
    scheduler = make_scheduler(clock, state, on_result=lambda t, r: results.append((t.name, clock.monotonic(), r)))
    dead = make_target(kind, "dead", interval=20, timeout=15, hang=True)
    healthy = make_target(kind, "healthy", interval=10)
    clock.run(run_for(clock, scheduler, [dead, healthy], 105))
    assert recorder.starts["healthy"] == exactly(slots("healthy", 10, until=105))
    assert recorder.starts["dead"] == exactly(slots("dead", 20, until=105))
    cut = [t + 15 for t in slots("dead", 20, until=105 - 15)]  # each run ends at its start + timeout
    assert [at for name, at, _ in results if name == "dead"] == exactly(cut)
    assert {r.reason for name, _, r in results if name == "dead"} == {Reason.TIMEOUT}
    entry = state.get("site/dead")
    assert entry is not None and entry.latest is not None
    assert entry.latest.reason is Reason.TIMEOUT and entry.latest.detail == "no result within 15s"
    assert entry.failures == entry.runs == len(cut) >= 4
    assert recorder.cancelled == len(recorder.starts["dead"])  # each hung run: by its deadline, the last at shutdown


@pytest.mark.parametrize(
    ("duration", "gap"),
    [(4, 10), (10, 10), (25, 30), (30, 30)],
    ids=["shorter", "exactly-one-interval", "overruns-into-third-slot", "ends-on-a-slot"],
)
def test_overrunning_probe_skips_missed_slots(
    clock: ManualClock, recorder: Recorder, kind: ProbeKind, duration: float, gap: float
) -> None:
    """A run longer than the interval is followed by the next free slot, not by a burst of catch-up runs."""
    scheduler = make_scheduler(clock)
    clock.run(run_for(clock, scheduler, [make_target(kind, "slowpoke", interval=10, timeout=60, sleep=duration)], 100))
    first = phase_offset("site/slowpoke", 10)
    assert recorder.starts["slowpoke"] == exactly([first + k * gap for k in range(100) if first + k * gap <= 100])


def test_concurrency_is_bounded_per_kind(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """No more probes of one kind run at once than the limit; the others start as slots free, in the order due."""
    scheduler = make_scheduler(clock, concurrency={"fake": 2})
    targets = [make_target(kind, f"t{i}", interval=1200, timeout=200, sleep=100) for i in range(30)]
    clock.run(run_for(clock, scheduler, targets, 1100))  # first runs only: the second ones are due after 1200
    dues = {target.key: phase_offset(target.key, 1200) for target in targets}
    expected = first_come_first_served(list(dues.values()), limit=2, duration=100)
    started = sorted(start for starts in recorder.starts.values() for start in starts)
    assert started == exactly([start for start in expected if start <= 1100])
    assert recorder.max_in_flight == 2
    # The lag counts the wait for a slot (monitor/engine/scheduler.py): exactly start - due of each run.
    waits = [recorder.starts[t.address][0] - dues[t.key] for t in targets if recorder.starts[t.address]]
    assert max(waits) > 100 and scheduler.lag.samples == len(started)
    assert scheduler.lag.total == exactly(sum(waits))
    histogram = Counter(next((i for i, b in enumerate(LAG_BUCKETS) if w <= b + 1e-9), len(LAG_BUCKETS)) for w in waits)
    assert scheduler.lag.counts == [histogram[i] for i in range(len(LAG_BUCKETS) + 1)]


def test_a_new_concurrency_limit_reaches_running_targets(
    clock: ManualClock, recorder: Recorder, kind: ProbeKind
) -> None:
    """After a reload raises the limit, targets that kept running use it from their next run on."""
    scheduler = make_scheduler(clock, concurrency={"fake": 1})
    targets = [make_target(kind, f"t{i}", interval=600, timeout=200, sleep=100) for i in range(6)]

    async def scenario() -> None:
        task = asyncio.create_task(scheduler.run(targets))
        await clock.elapse(1200)
        assert recorder.max_in_flight == 1
        scheduler.set_concurrency({"fake": 6})
        recorder.max_in_flight = 0
        await clock.elapse(1800)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    clock.run(scenario())
    assert recorder.max_in_flight > 1


def test_starts_are_spread_over_the_interval(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """100 targets on one interval each start at their hashed offset, not all in the same instant."""
    scheduler = make_scheduler(clock)
    targets = [make_target(kind, f"t{i}", interval=60) for i in range(100)]
    clock.run(run_for(clock, scheduler, targets, 60))
    firsts = {target: starts[0] for target, starts in recorder.starts.items()}
    assert firsts == exactly({t.address: phase_offset(t.key, 60) for t in targets})
    # Spread over most of the minute, and no tenth of it holds more than a third of the starts.
    assert max(firsts.values()) - min(firsts.values()) > 42
    assert max(Counter(int(first / 6) for first in firsts.values()).values()) < 34
    assert len({round(first, 3) for first in firsts.values()}) > 95  # distinct offsets
    assert phase_offset("site/t0", 60) == phase_offset("site/t0", 60) == 2 * phase_offset("site/t0", 30)  # stable


def test_restart_keeps_each_targets_phase(recorder: Recorder, kind: ProbeKind) -> None:
    """Started at any moment, a target runs at the same wall-clock phase: k * interval + its offset."""
    target = make_target(kind, "phase", interval=10)
    offset = phase_offset(target.key, 10)
    for started_at in (0.0, 3.3, offset + 0.5, 9.99):
        clock = ManualClock(START.timestamp() + started_at, monotonic=500.0)
        recorder.clock, recorder.walls = clock, defaultdict(list)
        clock.run(run_for(clock, make_scheduler(clock), [target], 30))
        walls = [wall - START.timestamp() for wall in recorder.walls["phase"]]
        # The next slot strictly after the start, then every 10 s.
        expected = [t for k in range(5) if started_at < (t := offset + 10 * k) <= started_at + 30]
        assert walls == exactly(expected), started_at


def test_reload_keeps_unchanged_restarts_changed_stops_removed(
    clock: ManualClock, recorder: Recorder, kind: ProbeKind
) -> None:
    """apply() touches only what changed; a removed target's state is dropped, a kept one's is not."""
    state = State()
    scheduler = make_scheduler(clock, state)
    keep = make_target(kind, "keep", interval=10)
    change = make_target(kind, "change", interval=10)
    drop = make_target(kind, "drop", interval=10)
    changed = make_target(kind, "change", interval=10, sleep=1)
    added = make_target(kind, "added", interval=10)
    same_keep = make_target(kind, "keep", interval=10)  # equal by value: not restarted

    async def scenario() -> tuple[int, int, int]:
        task = asyncio.create_task(scheduler.run([keep, change, drop]))
        await clock.elapse(30)
        assert state.get("site/keep").runs == 3  # type: ignore[union-attr]
        applied = scheduler.apply([same_keep, changed, added])
        await clock.elapse(30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return applied

    assert clock.run(scenario()) == (2, 2, 1)
    assert state.get("site/drop") is None
    assert recorder.starts["drop"] == exactly(slots("drop", 10, until=30))
    assert recorder.starts["keep"] == exactly(slots("keep", 10, until=60))  # its schedule never noticed
    assert state.get("site/keep").runs == 6  # type: ignore[union-attr]
    assert recorder.starts["change"] == exactly(slots("change", 10, until=60))  # restarted on its own phase
    assert recorder.settings["change"] == [Behaviour()] * 3 + [Behaviour(sleep=1)] * 3
    assert state.get("site/change").target.settings == Behaviour(sleep=1)  # type: ignore[union-attr]
    assert recorder.starts["added"] == exactly(slots("added", 10, after=30, until=60))
    assert state.get("site/added").runs == 3  # type: ignore[union-attr]
    assert {t.name for t in scheduler.targets} == {"keep", "change", "added"}


def test_cancel_awaits_every_probe(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """Shutdown cancels probes in flight and waits for them: nothing is left running."""
    scheduler = make_scheduler(clock)
    targets = [make_target(kind, f"h{i}", interval=5, hang=True, timeout=30) for i in range(10)]
    clock.run(run_for(clock, scheduler, targets, 5))
    assert [len(recorder.starts[t.address]) for t in targets] == [1] * 10  # every one was in flight
    assert recorder.in_flight == 0
    assert recorder.cancelled == 10


def test_lag_is_measured(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """Every start is observed in the lag histogram; on time, with a slot free, the lag is zero."""
    scheduler = make_scheduler(clock)
    clock.run(run_for(clock, scheduler, [make_target(kind, "a", interval=5)], 50))
    assert scheduler.lag.samples == len(recorder.starts["a"]) == len(slots("a", 5, until=50)) >= 9
    assert scheduler.lag.counts[0] == scheduler.lag.samples  # all in the first bucket, <= 1 ms
    assert scheduler.lag.total == exactly(0.0)


def test_starts_fall_on_the_icmp_pacers_ticks(clock: ManualClock, recorder: Recorder, kind: ProbeKind) -> None:
    """Each run starts on the first 50 ms tick of the monotonic clock at or after its due time (issue 16).

    The tick is the ICMP pacer's grid, so a round's start timer fires in a wake-up the pacer makes anyway; the
    lag is measured from the tick, and the wall-clock phase moves by less than a tick.
    """
    import probes.icmp.pinger  # noqa: F401 (the module, not probes.icmp's attribute of that name)

    assert START_TICK * 1e9 == sys.modules["probes.icmp.pinger"].TICK_NS
    scheduler = make_scheduler(clock, start_tick=START_TICK)
    targets = [make_target(kind, f"t{i}", interval=60) for i in range(50)]
    clock.run(run_for(clock, scheduler, targets, 130))
    for target in targets:
        dues = [phase_offset(target.key, 60) + 60 * k for k in range(3)]
        ticks = [math.ceil(due / START_TICK) * START_TICK for due in dues]
        assert recorder.starts[target.address] == exactly([tick for tick in ticks if tick <= 130])
        assert all(0 <= tick - due < START_TICK + 1e-6 for tick, due in zip(ticks, dues, strict=True))
    # Started on their ticks: no lag at all with an idle scheduler.
    assert scheduler.lag.samples == sum(map(len, recorder.starts.values())) >= 100
    assert scheduler.lag.total == exactly(0)
