"""Which ownership units this agent holds the lease of (monitor/storage/leases.py, issue 17)::

    giaoban_lease_held{scope="ha-noi"} 1            1 while this agent acts for the unit (announces, delivers)
    giaoban_lease_held{scope="ha-noi:0/2"} 0        0 on its standby
    giaoban_lease_errors_total 0                    renewals that failed (the database)

``scope`` is a lease unit of the agent's own --scope/--shard: a small fixed set per agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.metrics.exposition import Family, TextSource, escape, fmt


class LeaseView(Protocol):
    """What the series read of monitor/storage/leases.py's Leases."""

    @property
    def units(self) -> Sequence[str]: ...

    @property
    def held(self) -> frozenset[str]: ...

    @property
    def errors(self) -> int: ...


LEASE_HELD = Family("giaoban_lease_held", "gauge", "1 while this agent holds the lease of the scope, else 0.")
LEASE_ERRORS = Family("giaoban_lease_errors_total", "counter", "Lease renewals that failed (the database).")


def lease_lines(leases: LeaseView) -> list[str]:
    held = leases.held
    out = [LEASE_HELD.header()]
    out += [f'{LEASE_HELD.name}{{scope="{escape(unit)}"}} {fmt(unit in held)}\n' for unit in leases.units]
    out += [LEASE_ERRORS.header(), f"{LEASE_ERRORS.name} {fmt(leases.errors)}\n"]
    return out


def leases_source(leases: LeaseView) -> TextSource:
    return TextSource("leases", (LEASE_HELD, LEASE_ERRORS), lambda: "".join(lease_lines(leases)))
