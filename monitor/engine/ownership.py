"""Which sites one agent owns: subtrees (``--scope SITE_ID``) and/or a hash shard (``--shard K/N``), intersected.

    spec = OwnershipSpec.parse(agent="hn-1", scopes=["ha-noi"], shard="0/2")   # UsageError when malformed
    owned = spec.resolve(config)                                                 # UsageError for unknown ids
    owned.owns("phuong-hoan-kiem")           a site this agent probes
    owned.lease_of["phuong-hoan-kiem"]       "ha-noi:0/2", the lease (monitor/storage/leases.py) it is under

Every agent reads the one shared inventory and keeps only the targets of the sites it owns (issue 17). A scope is
a site and everything under it (a province hub and its communes); without ``--scope`` the scope is the whole
inventory, named ``*``. A shard keeps the sites whose id hashes to K modulo N with Prometheus' ``hashmod``
(the MD5 of the value, its low 64 bits big-endian, modulo N; relabel.go ``sum64(md5.Sum(...)) % Modulus``), so
the assignment is the same in every agent, every restart and every Python, and a Prometheus relabel rule
``action: hashmod`` over the ``site`` label computes the same K. Python's ``hash()`` is salted per process, so
it cannot be used.

Each (scope, shard) pair is one lease unit, named ``SCOPE`` or ``SCOPE:K/N``. Agents started with the same
``--scope``/``--shard`` share those units: both probe, and only the holder of a unit's lease announces and
delivers for its sites (a standby). Scopes of one agent must not overlap, so each owned site has one lease.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.config.models import Config
from monitor.engine.targets import Target
from monitor.errors import UsageError
from probes.core.ids import is_id, unknown

EVERYTHING = "*"  # the scope of an agent started without --scope: the whole inventory
MAX_SHARDS = 1024  # more shards than that is a typo, not a deployment (3,321 communes at ~100 a shard is 34)
MAX_SCOPES = 200  # bounded work on the command line; a nation has 34 provinces
MAX_AGENT_NAME = 64  # it becomes a label value and a lease holder


def hashmod(value: str, modulus: int) -> int:
    """Prometheus' relabel ``hashmod``: md5 of the UTF-8 value, its last 8 bytes as a big-endian uint64, mod N."""
    digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # K, 0 ≤ K < N: the hashmod remainder, as a Prometheus relabel rule would write it
    count: int  # N

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 0 ≤ K < N ≤ MAX_SHARDS; UsageError saying what to write otherwise."""
        head, slash, tail = text.strip().partition("/")
        if not slash or not head.isdigit() or not tail.isdigit() or len(head) > 4 or len(tail) > 4:
            raise UsageError(f"--shard {text!r}: write K/N, e.g. 0/4 (shard K of N, K from 0 to N-1)")
        index, count = int(head), int(tail)
        if not 1 <= count <= MAX_SHARDS:
            raise UsageError(f"--shard {text!r}: N must be 1 to {MAX_SHARDS}")
        if index >= count:
            raise UsageError(f"--shard {text!r}: K must be 0 to {count - 1} (the hashmod remainder, as in Prometheus)")
        return cls(index, count)

    def holds(self, site_id: str) -> bool:
        return hashmod(site_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def default_agent_name() -> str:
    """The host name, made a valid id (lower case, dots and other characters as '-'), as the default --agent-name."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname().lower()).strip("-_")
    return name[:MAX_AGENT_NAME].strip("-_") or "giaoban"


@dataclass(frozen=True, slots=True)
class OwnershipSpec:
    """What the command line asked for, checked for shape only (the inventory is not needed)."""

    agent: str
    scopes: tuple[str, ...] = ()  # site ids; empty = the whole inventory
    shard: Shard | None = None

    @classmethod
    def parse(cls, *, agent: str | None, scopes: Iterable[str] = (), shard: str | None = None) -> OwnershipSpec:
        """``scopes``: each a site id or a comma list (``--scope a,b --scope c``); repeats are kept once."""
        name = default_agent_name() if agent is None else agent.strip()
        if not is_id(name):
            raise UsageError(
                f"--agent-name {name[:80]!r}: use lower-case letters, digits, '-' and '_' (e.g. hn-agent-1), "
                f"at most {MAX_AGENT_NAME} characters"
            )
        chosen: list[str] = []
        for item in scopes:
            for part in item.split(","):
                ident = part.strip()
                if not ident:
                    raise UsageError(f"--scope {item[:80]!r}: an empty site id; write --scope SITE_ID[,SITE_ID...]")
                if not is_id(ident):
                    raise UsageError(f"--scope {ident[:80]!r} is not a site id")
                if ident not in chosen:
                    chosen.append(ident)
                if len(chosen) > MAX_SCOPES:
                    raise UsageError(f"--scope: at most {MAX_SCOPES} scopes per agent")
        return cls(name, tuple(chosen), Shard.parse(shard) if shard is not None else None)

    def unit(self, scope: str) -> str:
        """The lease unit of one scope under this spec's shard: ``ha-noi``, ``ha-noi:0/2``, ``*:1/4``."""
        return scope if self.shard is None else f"{scope}:{self.shard}"

    @property
    def owns_everything(self) -> bool:
        return not self.scopes and self.shard is None

    def resolve(self, config: Config) -> Ownership:
        """The sites this agent owns in ``config``; UsageError naming unknown or overlapping scopes."""
        index = config.index
        problems = [unknown("site", s, list(index.site_ids())) for s in self.scopes if index.site(s) is None]
        if problems:
            raise UsageError("--scope: " + "; ".join(problems[:10]))
        scope_set = set(self.scopes)
        for scope in self.scopes:
            inside = next((a for a in index.ancestors(scope) if a in scope_set), None)
            if inside is not None:
                raise UsageError(
                    f"--scope {scope} is inside --scope {inside}: give the outer one alone (each site has one lease)"
                )
        lease_of: dict[str, str] = {}
        roots = [(s, [s, *index.descendants(s)]) for s in self.scopes] or [(EVERYTHING, list(index.site_ids()))]
        for scope, members in roots:
            unit = self.unit(scope)
            for site_id in members:
                if self.shard is None or self.shard.holds(site_id):
                    lease_of[site_id] = unit
        units = tuple(self.unit(scope) for scope, _ in roots)
        return Ownership(self, units, lease_of)


@dataclass(frozen=True, slots=True)
class Ownership:
    """The owned sites of one inventory, each with its lease unit."""

    spec: OwnershipSpec
    units: tuple[str, ...]  # the lease units, in the order of --scope
    lease_of: Mapping[str, str]  # owned site id → its unit
    _by_unit: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def owns(self, site_id: str) -> bool:
        return site_id in self.lease_of

    def sites_of(self, units: Iterable[str]) -> frozenset[str]:
        """The owned sites under the given lease units (cached per unit: the outbox asks every second)."""
        out: set[str] = set()
        for unit in units:
            members = self._by_unit.get(unit)
            if members is None:
                members = frozenset(s for s, u in self.lease_of.items() if u == unit)
                self._by_unit[unit] = members
            out |= members
        return frozenset(out)

    def count_by_unit(self) -> dict[str, int]:
        counts = dict.fromkeys(self.units, 0)
        for unit in self.lease_of.values():
            counts[unit] += 1
        return counts


def owned_targets(targets: Sequence[Target], ownership: Ownership) -> list[Target]:
    """The targets of the owned sites: what this agent's scheduler probes."""
    if ownership.spec.owns_everything:
        return list(targets)
    return [target for target in targets if target.site in ownership.lease_of]
