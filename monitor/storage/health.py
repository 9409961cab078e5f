"""Whether giaoban can use its database: one view, fed by every area that writes to it, for metrics, /-/ready and
the admins' notice (issue 13: a full disk switched alerting off and nothing said so).

    health = storage.health
    health.failed("history", exc)      an area's access failed (kept, with the time of the first failure)
    health.succeeded("history")        ... and worked again (the fault is gone)
    health.faults()                    what fails now: [Fault("history", since, "database or disk is full"), ...]
    await health.run(storage.ping)     the reachability check: SELECT 1 every 10 s, 5 s allowed

Areas: ``history`` (monitor/storage/history.py), ``alerts`` (alerts/store.py commits), ``outbox``
(alerts/outbox.py); ``database`` is the reachability check. A full disk leaves the database reachable
(reads work) while every write fails: it shows as areas failing with ``up`` still true.

``is_row_fault(exc)`` tells an error caused by the values written (retrying them can never succeed: drop the
row) from one caused by the database's state (disk full, connection lost, locked: keep the rows and retry).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

log = logging.getLogger(__name__)

AREAS = ("history", "alerts", "outbox")
REACHABILITY = "database"
AREA_NAMES = {  # for /-/ready and logs (the admins' notice has its own words in alerts/texts.py)
    "history": "writing probe history",
    "alerts": "writing alert states",
    "outbox": "the notification outbox",
    REACHABILITY: "reaching the database",
}
CHECK_INTERVAL = 10.0
CHECK_TIMEOUT = 5.0
_ERROR_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Fault:
    """One area that cannot use the database: since when (epoch seconds) and the driver's last words."""

    area: str  # history | alerts | outbox | database (unreachable)
    since: float
    error: str


def describe(exc: BaseException) -> str:
    """One line for logs, /-/ready and messages: the driver's message without SQLAlchemy's SQL and links."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = f"{type(exc.orig).__name__}: {exc.orig}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split("[SQL:")[0].split())[:_ERROR_LIMIT] or type(exc).__name__


def is_row_fault(exc: BaseException) -> bool:
    """True when the rows themselves cannot be written (bad values), False when the database cannot take any."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        # PostgreSQL SQLSTATE class 22 is "data exception", 23 "integrity constraint violation"; the rest
        # (53 insufficient resources = disk full, 08 connection, 57 operator intervention, ...) is the server's.
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        return state[:2] in ("22", "23") or isinstance(exc.orig, UnicodeError | OverflowError)
    if isinstance(exc, StatementError):
        return True  # a value no bind processor could convert: no DBAPI call was made
    if isinstance(exc, SQLAlchemyError | OSError | TimeoutError):
        return False
    # The drivers raise UnicodeEncodeError and OverflowError for a value they cannot send (SQLite: an integer
    # beyond 64 bits); any other exception here comes from turning a result into a row: the row's fault too.
    return isinstance(exc, Exception)


class DatabaseHealth:
    """What the areas last saw of the database, and the reachability check's answer."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._failing: dict[str, Fault] = {}
        self.up = True  # the last check answered (optimistic until the first one)
        self.checked_at: float | None = None

    def failed(self, area: str, exc: BaseException | str) -> None:
        """``area``'s access failed; a fault already open keeps its start and takes the newer message."""
        error = exc if isinstance(exc, str) else describe(exc)
        previous = self._failing.get(area)
        self._failing[area] = Fault(area, previous.since if previous else self._clock(), error)

    def succeeded(self, area: str) -> None:
        fault = self._failing.pop(area, None)
        if fault is not None:
            log.info("database: %s works again (it failed for %.0f s)", area, self._clock() - fault.since)

    def failing(self, area: str) -> bool:
        return area in self._failing

    def faults(self) -> list[Fault]:
        """What cannot use the database now, oldest first (the reachability check included)."""
        return sorted(self._failing.values(), key=lambda fault: (fault.since, fault.area))

    async def check(self, ping: Callable[[], Awaitable[object]], *, timeout: float = CHECK_TIMEOUT) -> bool:
        """Run one reachability check; ``up`` and the ``database`` fault follow its answer."""
        try:
            async with asyncio.timeout(timeout):
                await ping()
        except TimeoutError:
            self.failed(REACHABILITY, f"no answer within {timeout:g} s")
            self.up = False
        except Exception as exc:  # the drivers' errors share no base class; any of them means unreachable
            self.failed(REACHABILITY, exc)
            self.up = False
        else:
            self.succeeded(REACHABILITY)
            self.up = True
        self.checked_at = self._clock()
        return self.up

    async def run(self, ping: Callable[[], Awaitable[object]], *, interval: float = CHECK_INTERVAL) -> None:
        """Check until cancelled; a change is logged once."""
        while True:
            was = self.up
            if not await self.check(ping) and was:
                log.error("database unreachable: %s", self._failing[REACHABILITY].error)
            await asyncio.sleep(interval)
