"""The live state: the latest result of every target, a short ring of a device's recent polls, RTT histograms.

Written only by the scheduler (one event loop, so no locks); read by the alert and readiness engines, and
by the metrics writer, which asks for a journal of the entries that changed (``State.changes``) so that it
encodes each new result once (monitor/metrics/targets.py). A journal is the one part read from another
thread (the scrape's), so it has a lock. Removing a target from the inventory removes its state, so its series
disappear from /metrics instead of going stale.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from monitor.engine.targets import Target
from probes.core.result import ProbeResult

# SmokePing-like resolution where links live (1–300 ms), coarse beyond; seconds.
RTT_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0,
)  # fmt: skip
# A device's recent polls: readiness compares the interface error counters with a poll up to 15 minutes old
# (monitor/readiness/engine.py). Nothing reads older results of the other roles, so they keep none: at
# 10,000 sites, 60 results per link were 600,000 objects for each full pass of the garbage collector to walk
# (a pass held the GIL 200-400 ms on the bench VM; issue 16).
RING_SIZE = 60


@dataclass(slots=True)
class RttHistogram:
    """Cumulative over the process's life, like a Prometheus histogram (rate() makes windows of it)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(RTT_BUCKETS) + 1))
    total: float = 0.0
    samples: int = 0

    def observe(self, rtts: tuple[float, ...]) -> None:
        for rtt in rtts:
            self.counts[bisect.bisect_left(RTT_BUCKETS, rtt)] += 1
            self.total += rtt
        self.samples += len(rtts)


@dataclass(slots=True)
class TargetState:
    target: Target
    latest: ProbeResult | None = None
    recent: deque[ProbeResult] = field(default_factory=lambda: deque(maxlen=RING_SIZE))
    histogram: RttHistogram = field(default_factory=RttHistogram)
    runs: int = 0
    failures: int = 0


class Changes:
    """The keys of the entries changed since their reader last took them, each once, oldest first.

    Bounded by the number of targets (a key changed twice is listed once); filled on the event loop, taken by
    the loop or by a scrape's thread."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = dict.fromkeys(keys)
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = None

    def take(self, limit: int | None = None) -> list[str]:
        """Up to ``limit`` keys (all without one), no longer listed."""
        with self._lock:
            if limit is None or limit >= len(self._keys):
                taken = list(self._keys)
                self._keys.clear()
                return taken
            taken = []
            for key in self._keys:
                if len(taken) == limit:
                    break
                taken.append(key)
            for key in taken:
                del self._keys[key]
            return taken

    def __len__(self) -> int:
        return len(self._keys)


class State:
    def __init__(self) -> None:
        self._targets: dict[str, TargetState] = {}
        self._journals: weakref.WeakSet[Changes] = weakref.WeakSet()  # one per reader; gone with the reader

    def changes(self) -> Changes:
        """A new journal of changed entries: every target there is now, then each one tracked, redefined,
        recorded or forgotten. It lives as long as its reader holds it."""
        journal = Changes(self._targets)
        self._journals.add(journal)
        return journal

    def _changed(self, key: str) -> None:
        for journal in self._journals:
            journal.add(key)

    def track(self, target: Target) -> None:
        """Register a target (before its first run, so it is listed even while pending)."""
        current = self._targets.get(target.key)
        if current is None:
            ring = RING_SIZE if target.role == "device" else 0
            self._targets[target.key] = TargetState(target, recent=deque(maxlen=ring))
        elif current.target != target:
            current.target = target  # definition changed on reload: keep the history
        else:
            return
        self._changed(target.key)

    def forget(self, key: str) -> None:
        if self._targets.pop(key, None) is not None:
            self._changed(key)

    def record(self, target: Target, result: ProbeResult) -> None:
        entry = self._targets.get(target.key)
        if entry is None or entry.target != target:
            return  # a run that finished after its target was removed or redefined by a reload
        entry.latest = result
        entry.recent.append(result)
        entry.runs += 1
        entry.failures += not result.success
        if result.samples:
            entry.histogram.observe(result.samples)
        self._changed(target.key)  # last: a reader that took the entry half-written takes it again

    def get(self, key: str) -> TargetState | None:
        return self._targets.get(key)

    def keys(self) -> list[str]:
        """Every target's key, in the state's order (a copy: safe from another thread)."""
        return list(self._targets)

    def __iter__(self) -> Iterator[TargetState]:
        return iter(list(self._targets.values()))

    def __len__(self) -> int:
        return len(self._targets)
