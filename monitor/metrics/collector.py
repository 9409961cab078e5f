"""/metrics: the one writer, which joins its sources' text, and the service's own series.

Sources, each a MetricSource (monitor/metrics/exposition.py), in exposition order: ServiceMetrics (below),
TargetMetrics (every target's series, cached per target: monitor/metrics/targets.py), then those the
service adds (meetings, sites, alerts, outbox: monitor/metrics/*.py, added in monitor/app/service.py).

A family name belongs to one source and one declaration: adding a source that declares a name already
declared raises SeriesConflict, so the service refuses to start instead of writing a family twice (Prometheus'
parser rejects a whole scrape with a second TYPE line for one name). The output is the text format 0.0.4,
checked by `promtool check metrics` in the tests; tests/golden/metrics.prom is all of it for a fixed state.

ServiceMetrics' series::

    giaoban_build_info{version="0.1.0"} 1
    giaoban_config_last_reload_successful 1
    giaoban_config_last_reload_success_timestamp_seconds 1.7e9
    giaoban_targets{kind="icmp"} 24
    giaoban_scheduler_lag_seconds_bucket{le=...}        (histogram)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from monitor import __version__
from monitor.engine.scheduler import LAG_BUCKETS, Scheduler
from monitor.engine.state import State
from monitor.metrics.exposition import Family, MetricSource, escape, fmt, histogram_lines
from monitor.metrics.targets import TargetMetrics
from probes import KINDS, ProbeKind
from probes.core.series import SeriesConflict

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

BUILD_INFO = Family("giaoban_build_info", "gauge", "Version of the running giaoban.")
RELOAD_OK = Family(
    "giaoban_config_last_reload_successful", "gauge", "1 if the last configuration load or reload succeeded."
)
RELOAD_TIME = Family(
    "giaoban_config_last_reload_success_timestamp_seconds",
    "gauge",
    "When the configuration was last loaded successfully.",
)
TARGETS = Family("giaoban_targets", "gauge", "Targets scheduled, by probe kind.")
SCHEDULER_LAG = Family("giaoban_scheduler_lag_seconds", "histogram", "How late probes started against their due time.")


@dataclass(slots=True)
class ReloadStatus:
    successful: bool = True
    last_success: float = 0.0


class ServiceMetrics:
    """The service's own series: build, configuration reloads, targets per kind, scheduler lag."""

    name = "the service's own series"

    def __init__(
        self, state: State, scheduler: Scheduler | None, reload: ReloadStatus, *, version: str = __version__
    ) -> None:
        self._state = state
        self._scheduler = scheduler
        self._reload = reload
        self._version = version

    def families(self) -> tuple[Family, ...]:
        return (BUILD_INFO, RELOAD_OK, RELOAD_TIME, TARGETS, SCHEDULER_LAG)

    def render(self) -> str:
        out = [
            BUILD_INFO.header(),
            f'{BUILD_INFO.name}{{version="{escape(self._version)}"}} 1.0\n',
            RELOAD_OK.header(),
            f"{RELOAD_OK.name} {fmt(1 if self._reload.successful else 0)}\n",
            RELOAD_TIME.header(),
            f"{RELOAD_TIME.name} {fmt(self._reload.last_success)}\n",
            TARGETS.header(),
        ]
        per_kind = Counter(entry.target.kind.name for entry in self._state)
        out += [f'{TARGETS.name}{{kind="{kind}"}} {fmt(count)}\n' for kind, count in sorted(per_kind.items())]
        if self._scheduler is not None:
            lag = self._scheduler.lag
            running, cumulative = 0, []
            for bound, count in zip((*map(str, LAG_BUCKETS), "+Inf"), lag.counts, strict=True):
                running += count
                cumulative.append((bound, running))
            out.append(SCHEDULER_LAG.header())
            out += histogram_lines(SCHEDULER_LAG.name, "", cumulative, lag.total)
        return "".join(out)


class Exposition:
    """The one /metrics writer: its sources' text joined in order; every family name declared by one source."""

    def __init__(self, *sources: MetricSource) -> None:
        self._sources: list[MetricSource] = []
        self._owners: dict[str, str] = {}
        for source in sources:
            self.add_source(source)

    @classmethod
    def for_state(
        cls,
        state: State,
        scheduler: Scheduler | None,
        reload: ReloadStatus,
        *,
        kinds: Iterable[ProbeKind] | None = None,
        version: str = __version__,
    ) -> Exposition:
        """The service's own series and every target's (of ``kinds``: the registry's unless given)."""
        return cls(
            ServiceMetrics(state, scheduler, reload, version=version),
            TargetMetrics(state, KINDS.values() if kinds is None else kinds),
        )

    def add_source(self, source: MetricSource) -> None:
        """Write ``source`` after the others; SeriesConflict if it declares a name already declared."""
        owners = dict(self._owners)
        for family in source.families():
            other = owners.get(family.name)
            if other is not None:
                by = f"twice by {other}" if other == source.name else f"by {other} and by {source.name}"
                raise SeriesConflict(f"{family.name} is declared {by}: a family has one source")
            owners[family.name] = source.name
        self._owners = owners
        self._sources.append(source)

    async def run(self, every: float = 1.0, slice_size: int = 500) -> None:
        """On the service's loop: encode the targets' new results once a second, ``slice_size`` targets between
        loop turns (a reload redefines all of them), so that a scrape finds them done (monitor/metrics/targets.py).
        """
        encoders = [source for source in self._sources if isinstance(source, TargetMetrics)]
        while True:
            for encoder in encoders:
                while True:
                    left = encoder.refresh(slice_size, wait=False)
                    if not left:
                        break
                    await asyncio.sleep(0)  # a loop turn between slices
            await asyncio.sleep(every)

    def families(self) -> tuple[Family, ...]:
        """Every family this exposition may write."""
        return tuple(family for source in self._sources for family in source.families())

    def render(self) -> bytes:
        """Safe to call from a worker thread (the scrape runs off the event loop)."""
        return b"".join(self.render_parts())

    def render_parts(self) -> list[bytes]:
        """render() in pieces, for a writer that need not join them (gzip: monitor/web/app.py)."""
        parts: list[bytes] = []
        for source in self._sources:
            text = source.render()
            if isinstance(text, str):
                parts.append(text.encode())
            else:
                parts += text
        return parts


__all__ = ["CONTENT_TYPE", "Exposition", "ReloadStatus", "ServiceMetrics"]
