"""The tests' shared clock and waits (tests/clock.py): what the scheduler's and engines' tests rely on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.clock import ManualClock, wait_until, wait_until_blocking

pytestmark = pytest.mark.timeout(30)

START = datetime(2026, 12, 7, tzinfo=UTC)


def test_timers_fire_at_their_own_instants_in_order() -> None:
    """elapse() stops at every due timer, so each sleeper wakes at exactly its time, wall and monotonic alike."""
    clock = ManualClock(START, monotonic=100.0)
    woke: list[tuple[str, float, float]] = []

    async def sleeper(name: str, delay: float, times: int) -> None:
        for _ in range(times):
            await asyncio.sleep(delay)
            woke.append((name, clock.monotonic(), clock.wall() - START.timestamp()))

    async def main() -> None:
        tasks = [asyncio.create_task(sleeper("a", 3, 4)), asyncio.create_task(sleeper("b", 5, 4))]
        await clock.elapse(10)
        assert woke == [("a", 103, 3), ("b", 105, 5), ("a", 106, 6), ("a", 109, 9), ("b", 110, 10)]
        await clock.elapse(10)
        await asyncio.gather(*tasks)

    clock.run(main())
    assert woke == [
        ("a", 103, 3),
        ("b", 105, 5),
        ("a", 106, 6),
        ("a", 109, 9),
        ("b", 110, 10),
        ("a", 112, 12),
        ("b", 115, 15),
        ("b", 120, 20),
    ]
    assert clock.monotonic() == 120 and clock.now() == START + timedelta(seconds=20)


def test_deadlines_follow_the_clock() -> None:
    """asyncio.timeout and wait_for expire when the clock says, not when the machine gets there."""
    clock = ManualClock(START)
    expired: list[float] = []

    async def hang(seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await asyncio.Future()
        except TimeoutError:
            expired.append(clock.monotonic())

    async def main() -> None:
        first, second = asyncio.create_task(hang(15)), asyncio.create_task(hang(2.5))
        waiting = asyncio.create_task(asyncio.wait_for(asyncio.Future[None](), 7))
        await clock.elapse(14.999)
        assert expired == [2.5] and waiting.done()
        await clock.elapse(0.001)
        assert expired == [2.5, 15] and first.done() and second.done()
        with pytest.raises(TimeoutError):
            waiting.result()

    clock.run(main())


def test_time_runs_forward_only() -> None:
    """set() and advance() move both forms; backwards is refused, and so is jumping over a timer inside run()."""
    clock = ManualClock(START, monotonic=5.0)
    clock.set(START + timedelta(minutes=2))
    clock.advance(30)
    assert (clock.monotonic(), clock.now()) == (155.0, START + timedelta(minutes=2, seconds=30))
    with pytest.raises(ValueError, match="forward only"):
        clock.set(START)
    with pytest.raises(ValueError, match="forward only"):
        clock.advance(-1)

    async def main() -> None:
        sleeping = asyncio.create_task(asyncio.sleep(10))
        await clock.elapse(0)
        clock.advance(9)  # nothing due in the span: allowed
        with pytest.raises(AssertionError, match="await elapse"):
            clock.advance(2)
        await clock.elapse(1)
        assert sleeping.done()

    clock.run(main())


def test_elapse_needs_the_clocks_own_loop() -> None:
    """elapse() in a loop on real time would move nothing the loop waits on: it refuses."""
    clock = ManualClock(START)
    with pytest.raises(AssertionError, match="inside this clock's run"):
        asyncio.run(clock.elapse(1))
    with pytest.raises(AssertionError, match="inside this clock's run"):
        ManualClock().run(clock.elapse(1))


async def test_wait_until_returns_the_value_or_names_what_it_waited_for() -> None:
    """The wait for real peers: the predicate's first truthy value, sync or async; on timeout, what it waited for."""
    answers = iter([None, 0, "up"])
    assert await wait_until(lambda: next(answers), timeout=10, what="the peer", every=0) == "up"

    async def ready() -> list[int]:
        return [1]

    assert await wait_until(ready, timeout=10, what="the peer") == [1]
    with pytest.raises(AssertionError, match=r"timed out after 0\.05 s waiting for the codec \(log: empty\)"):
        await wait_until(lambda: False, timeout=0.05, what=lambda: "the codec (log: empty)")


def test_wait_until_blocking() -> None:
    """The same wait for synchronous tests."""
    answers = iter(["", "ok"])
    assert wait_until_blocking(lambda: next(answers), timeout=10, what="x", every=0) == "ok"
    with pytest.raises(AssertionError, match="waiting for snmpd"):
        wait_until_blocking(lambda: None, timeout=0.05, what="snmpd")


def test_wait_until_refuses_the_manual_clock() -> None:
    """Polling in real time while the clock stands still would wait forever: it says to elapse() instead."""
    clock = ManualClock(START)
    with pytest.raises(AssertionError, match="elapse"):
        clock.run(wait_until(lambda: True, timeout=1, what="anything"))
