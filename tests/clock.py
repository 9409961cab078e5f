"""Test time: one manual clock that code under test reads and sleeps on, and one wait for real peers.

    clock = ManualClock(datetime(2026, 12, 7, tzinfo=UTC))   # monotonic 0.0; time moves only when the test says
    AlertEngine(..., clock=clock.wall)                        # wall readers take clock.wall (clock.now: a datetime)
    Scheduler(..., monotonic=clock.monotonic, wall=clock.wall)
    clock.advance(30); clock.set(start - timedelta(minutes=10))   # both forms move together, never backwards
    clock.run(main())                  # an event loop whose time is this clock: asyncio.sleep, timeouts follow it
        await clock.elapse(20)         # inside: every timer due in those 20 s fires at its own instant
    await wait_until(lambda: peer.ready, timeout=10, what="the peer")   # real time, only for real peers
    wait_until_blocking(lambda: process_ready(), timeout=10, what="snmpd")  # the same, in synchronous code

Why an event loop and not only an injected ``sleep``: the scheduler's probes run under ``asyncio.timeout``
(probes/runner.py owns the deadline), so a deadline cut at t=20.15 needs the loop's own time to be the clock's.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

T = TypeVar("T")

# 07:00 in Hà Nội on a Monday; midnight UTC, so a multiple of any interval that divides a day.
DEFAULT_WALL = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
SETTLE_TURNS = 10_000  # loop turns elapse() allows woken code before calling it a busy loop


class ManualClock:
    """Wall and monotonic time that move only through advance(), set() or elapse()."""

    def __init__(self, wall: datetime | float = DEFAULT_WALL, *, monotonic: float = 0.0) -> None:
        self._wall = wall.timestamp() if isinstance(wall, datetime) else float(wall)
        self._monotonic = monotonic
        self._timers: list[tuple[float, int, asyncio.TimerHandle]] = []  # of the loop run() made, by due time
        self._order = itertools.count()

    # --- reading: pass these as the code under test's clocks -------------------------------------------------

    def wall(self) -> float:
        """Seconds since the epoch, as time.time()."""
        return self._wall

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps, as time.monotonic() (and the loop's time inside run())."""
        return self._monotonic

    def now(self) -> datetime:
        """The wall time as an aware UTC datetime, as datetime.now(UTC)."""
        return datetime.fromtimestamp(self._wall, UTC)

    # --- moving --------------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move both forms forward; inside run(), only across a span no timer is due in (else use elapse)."""
        if seconds < 0:
            raise ValueError(f"time runs forward only, not by {seconds} s")
        due = self._next_due()
        if due is not None and due <= self._monotonic + seconds:
            raise AssertionError("a timer is due in this span: await elapse() so it fires at its own instant")
        self._move(self._monotonic + seconds)

    def set(self, moment: datetime | float) -> None:
        """Move forward to this wall time (advance() by the difference)."""
        target = moment.timestamp() if isinstance(moment, datetime) else float(moment)
        self.advance(target - self._wall)

    async def elapse(self, seconds: float) -> None:
        """Let ``seconds`` pass in run()'s loop: each due timer fires at its instant, woken code runs until it waits."""
        if seconds < 0:
            raise ValueError(f"time runs forward only, not by {seconds} s")
        end = self._monotonic + seconds
        await self._settle()
        while (due := self._next_due()) is not None and due <= end:
            self._move(max(due, self._monotonic))
            await self._settle()
        self._move(end)
        await self._settle()

    async def _settle(self) -> None:
        """Turn the loop until nothing is ready to run and no timer is due: everything woken waits again."""
        loop = asyncio.get_running_loop()
        if not isinstance(loop, _ManualLoop) or loop._manual is not self:
            raise AssertionError("elapse() runs inside this clock's run(): the loop must keep the clock's time")
        for _ in range(SETTLE_TURNS):
            while (due := self._next_due()) is not None and due <= self._monotonic:
                heapq.heappop(self._timers)  # due: the loop fires it in the turn the sleep below gives it
            await asyncio.sleep(0)
            if loop.idle() and ((due := self._next_due()) is None or due > self._monotonic):
                return
        raise AssertionError(f"the code under test did not wait within {SETTLE_TURNS} loop turns: a busy loop?")

    def _move(self, monotonic: float) -> None:
        self._wall += monotonic - self._monotonic
        self._monotonic = monotonic

    def _next_due(self) -> float | None:
        while self._timers and self._timers[0][2].cancelled():
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def _track(self, handle: asyncio.TimerHandle) -> None:
        heapq.heappush(self._timers, (handle.when(), next(self._order), handle))

    # --- an event loop on this clock -----------------------------------------------------------------------

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` to completion in a new event loop whose time is this clock's monotonic time."""
        with asyncio.Runner(loop_factory=lambda: _ManualLoop(self)) as runner:
            return runner.run(main)


class _ManualLoop(asyncio.SelectorEventLoop):
    """An event loop reading the time from a ManualClock and telling it of every timer (call_later uses call_at)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self._manual = clock

    def time(self) -> float:
        return self._manual.monotonic()

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.TimerHandle:
        handle = super().call_at(when, callback, *args, context=context)
        self._manual._track(handle)
        return handle

    def idle(self) -> bool:
        """Nothing is ready to run but the caller (BaseEventLoop's ready queue is empty)."""
        return not self._ready  # type: ignore[attr-defined]


@overload
async def wait_until(
    predicate: Callable[[], Awaitable[T | None]], *, timeout: float, what: str | Callable[[], str], every: float = 0.02
) -> T: ...


@overload
async def wait_until(
    predicate: Callable[[], T | None], *, timeout: float, what: str | Callable[[], str], every: float = 0.02
) -> T: ...


async def wait_until(
    predicate: Callable[[], Any], *, timeout: float, what: str | Callable[[], str], every: float = 0.02
) -> Any:
    """Poll ``predicate()`` (sync or async) in real time until it is truthy and return that value; fail naming ``what``.

    Only for a real peer (a process, a socket, the service's own scheduler); code on a ManualClock is driven
    with elapse() instead, never polled. ``what`` may be a function, called on failure (to add a log's tail)."""
    if isinstance(asyncio.get_running_loop(), _ManualLoop):
        raise AssertionError("wait_until() waits in real time: on a ManualClock, await clock.elapse() instead")
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what)
        await asyncio.sleep(every)


def wait_until_blocking(
    predicate: Callable[[], T | None], *, timeout: float, what: str | Callable[[], str], every: float = 0.05
) -> T:
    """wait_until() for synchronous tests and the labs' process starters: the same polling, with time.sleep."""
    deadline = time.monotonic() + timeout
    while True:
        if value := predicate():
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what)
        time.sleep(every)


def _timed_out(timeout: float, what: str | Callable[[], str]) -> AssertionError:
    return AssertionError(f"timed out after {timeout:g} s waiting for {what() if callable(what) else what}")


__all__ = ["DEFAULT_WALL", "ManualClock", "wait_until", "wait_until_blocking"]
