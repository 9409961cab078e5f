"""Leases of the ownership units in PostgreSQL: of the agents owning a scope, one holder acts for it (issue 17).

    leases = Leases(storage, holder="hn-1", units=("ha-noi",), ttl=15.0, on_change=callback)
    task = group.create_task(leases.run())     # take and renew until cancelled; a clean stop releases them
    leases.held                                # frozenset of the units this agent holds now
    leases.status()                            # every unit's holder and expiry, as last read

A lease is a row ``leases(scope, holder, acquired_at, renewed_at, expires_at)``. Every ``renew`` seconds (a
third of ``ttl``) each agent runs, per unit, one upsert that takes the row when it is free, expired or already
its own, and leaves it alone otherwise::

    INSERT INTO leases VALUES (unit, me, now, now, now + ttl)
    ON CONFLICT (scope) DO UPDATE SET holder = me, renewed_at = now, expires_at = now + ttl, ...
      WHERE leases.holder = me OR leases.expires_at < now
    RETURNING holder

``now`` is the database's clock (clock_timestamp()), so agents on machines whose clocks differ still agree on
expiry. Why a row rather than ``pg_advisory_lock`` on a dedicated connection: an advisory lock lives as long as
its session, and a session outlives its agent when the network between them breaks (until TCP keepalive ends it,
minutes by default) while the row expires after ``ttl`` whatever happens to the connection; the row works
through the pooled SQLAlchemy engine (no connection pinned per agent, and a PgBouncer in transaction mode is
fine); and its holder and expiry are plain data that /api/v1/status and an operator's ``SELECT`` can show.

The holder trusts its lease only until ``ttl - margin`` after the start of its last successful renewal (by its
own monotonic clock): if the database cannot be reached it stops acting before another agent may take over, so
two holders never act at once unless a process stalls longer than the margin. A SIGKILLed holder stops
renewing; its standby takes the row at its first renewal after the expiry, so within ``ttl + renew``. A clean
stop releases the rows, so the standby takes over at its next renewal.

On SQLite there is one agent by construction: it holds every unit without touching the database.
Exposition (monitor/metrics/leases.py): ``giaoban_lease_held{scope}`` 1/0 and ``giaoban_lease_errors_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Float, case, cast, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from monitor.storage.database import Storage
from monitor.storage.health import describe
from monitor.storage.tables import leases

log = logging.getLogger(__name__)

DEFAULT_TTL = 15.0
MIN_TTL = 3.0
MAX_TTL = 300.0  # a standby that waits longer than minutes for a dead holder is no standby


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """One unit's row as last read: who holds it, since when and until when (epoch seconds, database clock)."""

    scope: str
    holder: str | None
    acquired_at: float | None
    expires_at: float | None


class Leases:
    def __init__(
        self,
        storage: Storage,
        *,
        holder: str,
        units: Sequence[str],
        ttl: float = DEFAULT_TTL,
        renew: float | None = None,
        on_change: Callable[[frozenset[str]], Awaitable[None]] | None = None,
        centre_away: Callable[[], bool] | None = None,
    ) -> None:
        """``centre_away``: whether the database is unreachable and the local spool stands in for it
        (monitor/storage/spool.py); while it says so, the leases held at the last renewal stay held."""
        if ttl < MIN_TTL:
            raise ValueError(f"a lease lasts at least {MIN_TTL:g} s")
        self.storage = storage
        self.holder = holder
        self.units = tuple(units)
        self.ttl = ttl
        self.renew = ttl / 3 if renew is None else renew
        if not 0 < self.renew < ttl:
            raise ValueError("leases are renewed more often than they last")
        self.margin = min(self.renew, ttl / 3)  # stop acting this long before another agent may take over
        self.shared = storage.dialect == "postgresql"
        self.errors = 0
        self._on_change = on_change
        self._centre_away = centre_away or (lambda: False)
        self._renewal_failed = False
        self._held: frozenset[str] = frozenset(self.units) if not self.shared else frozenset()
        self._trusted_until = float("inf") if not self.shared else 0.0
        self._rows: dict[str, LeaseInfo] = {}
        self._announced = self._held  # what on_change last said: a lapse of trust between rounds counts too

    @property
    def last_held(self) -> frozenset[str]:
        """What this agent held at its last successful renewal, kept while the database cannot be reached: an agent
        cut off from the centre delivers from its local spool only if it held a lease then, so of two agents of
        one scope only the holder sends (alerts/spool_outbox.py)."""
        return self._held

    @property
    def held(self) -> frozenset[str]:
        """The units this agent may act for now: none once its last renewal is too old to trust, unless the
        centre is away altogether. Then no other agent can take a lease either (they share the one database), and
        the holder goes on alerting and notifying from its spool for what it held (issue 17: nothing lost). A
        standby that still reaches the database while the holder does not takes over as well: that partition is
        the one case where a receiver may hear from both (README: Scale-out)."""
        if time.monotonic() >= self._trusted_until and not (self._renewal_failed and self._centre_away()):
            return frozenset()
        return self._held

    def holds(self, unit: str) -> bool:
        return unit in self.held

    def status(self) -> list[LeaseInfo]:
        """Each unit's holder as last read (this agent for every unit on SQLite)."""
        if not self.shared:
            return [LeaseInfo(unit, self.holder, None, None) for unit in self.units]
        return [self._rows.get(unit, LeaseInfo(unit, None, None, None)) for unit in self.units]

    async def run(self) -> None:
        """Take and renew the leases every ``renew`` seconds until cancelled; then release them."""
        if not self.shared:
            await asyncio.Event().wait()  # nothing to renew: hold every unit until cancelled
            return
        try:
            while True:
                started = time.monotonic()
                await self._round(started)
                await asyncio.sleep(max(0.0, self.renew - (time.monotonic() - started)))
        finally:
            with contextlib.suppress(Exception):  # best effort: the expiry frees them anyway
                await asyncio.shield(self._release())

    async def _round(self, started: float) -> None:
        before = self._announced
        try:
            taken = await self._take()
        except Exception as exc:  # the database: keep what is held until it can no longer be trusted
            self.errors += 1
            self._renewal_failed = True
            log.warning(
                "leases: cannot renew %s (%s); acting until the leases run out", ", ".join(before), describe(exc)
            )
        else:
            self._renewal_failed = False
            self._held = taken
            self._trusted_until = started + self.ttl - self.margin
        after = self.held
        if after != before:
            self._announced = after
            for unit in sorted(after - before):
                log.info("leases: %s now holds %s", self.holder, unit)
            for unit in sorted(before - after):
                log.warning("leases: %s no longer holds %s (held by %s)", self.holder, unit, self._holder_of(unit))
            if self._on_change is not None:
                await self._on_change(after)

    def _holder_of(self, unit: str) -> str:
        row = self._rows.get(unit)
        return row.holder if row is not None and row.holder else "nobody"

    async def _take(self) -> frozenset[str]:
        now = cast(func.extract("epoch", func.clock_timestamp()), Float)
        taken: set[str] = set()
        mine = leases.c.holder == self.holder
        async with self.storage.begin() as conn:
            for unit in self.units:
                insert = pg_insert(leases).values(
                    scope=unit, holder=self.holder, acquired_at=now, renewed_at=now, expires_at=now + self.ttl
                )
                new = insert.excluded
                stmt = insert.on_conflict_do_update(
                    index_elements=["scope"],
                    set_={
                        "holder": self.holder,
                        "renewed_at": new.renewed_at,
                        "expires_at": new.expires_at,
                        "acquired_at": case((mine, leases.c.acquired_at), else_=new.acquired_at),
                    },
                    where=or_(mine, leases.c.expires_at < new.renewed_at),
                ).returning(leases.c.holder)
                if (await conn.execute(stmt)).first() is not None:
                    taken.add(unit)
            rows = (await conn.execute(select(leases).where(leases.c.scope.in_(self.units)))).mappings().all()
        self._rows = {
            row["scope"]: LeaseInfo(row["scope"], row["holder"], float(row["acquired_at"]), float(row["expires_at"]))
            for row in rows
        }
        return frozenset(taken)

    async def _release(self) -> None:
        """A clean stop: give the rows up so that the standby need not wait for their expiry."""
        if not self._held:
            return
        async with self.storage.begin() as conn:
            await conn.execute(
                delete(leases).where(leases.c.scope.in_(list(self._held)), leases.c.holder == self.holder)
            )
        log.info("leases: %s released %s", self.holder, ", ".join(sorted(self._held)))
        self._held = frozenset()
