"""What a lease holder acts for: the alert engine's view of the live state and of the stored alerts (issue 17).

Two agents owning one scope both probe it, but only the holder of the scope's lease (monitor/storage/leases.py)
evaluates its alerts, announces its readiness and delivers its notifications. The service gives its alert engine

    OwnedState(state, sites)        the targets of the held sites only (the standby's are invisible to it)
    OwnedAlertStore(store, sites)   the open alerts of the held sites only, loaded when the engine starts

and makes a new engine whenever the set of held leases changes. The new holder's engine therefore starts from
the alerts its predecessor committed (same ``started_at`` and ``fired_at``, so the same notification keys) and
sends nothing its predecessor already enqueued; the engine of a lease that was lost is dropped without
resolving anything. Service alerts (site ``-``) go with any held lease.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from alerts.catalog import SERVICE_SITE
from alerts.model import AlertRecord, MaintenanceWindow
from alerts.notifiers.base import Notification
from alerts.store import SqlAlertStore
from monitor.engine.ownership import Ownership
from monitor.engine.state import State, TargetState


def held_sites(ownership: Ownership, held: frozenset[str]) -> frozenset[str]:
    """The sites a holder of ``held`` acts for, with the service's own pseudo-site when it holds anything."""
    if not held:
        return frozenset()
    return ownership.sites_of(held) | {SERVICE_SITE}


class OwnedState(State):
    """A read-only view of a State: only the targets of ``sites`` (what the rules and the engine read)."""

    def __init__(self, base: State, sites: frozenset[str]) -> None:
        super().__init__()
        self._base = base
        self._sites = sites

    def get(self, key: str) -> TargetState | None:
        entry = self._base.get(key)
        return entry if entry is not None and entry.target.site in self._sites else None

    def __iter__(self) -> Iterator[TargetState]:
        return iter([entry for entry in self._base if entry.target.site in self._sites])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class OwnedAlertStore:
    """The engine's AlertStore over SqlAlertStore, loading only the open alerts of ``sites``."""

    def __init__(self, store: SqlAlertStore, sites: frozenset[str]) -> None:
        self._store = store
        self._sites = sites

    async def load_open(self) -> list[AlertRecord]:
        return [record for record in await self._store.load_open() if record.site in self._sites]

    async def commit(self, records: Sequence[AlertRecord], outbox: Sequence[tuple[str, Notification]]) -> None:
        await self._store.commit(records, outbox)

    async def acknowledgements(self, ids: Sequence[str]) -> dict[str, tuple[float, str]]:
        return await self._store.acknowledgements(ids)

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        return await self._store.maintenance_windows()
