"""The alert engine's series, for the /metrics collector::

    giaoban_alerts_firing{severity="critical|warning|info"}   firing alerts (silenced and folded ones included,
                                                             like Prometheus' ALERTS{alertstate="firing"})

Every severity is always present, 0 when nothing fires, so a dashboard never shows "no data" for calm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from monitor.metrics.exposition import Family, TextSource, escape, fmt

ALERTS_FIRING = Family("giaoban_alerts_firing", "gauge", "Alerts firing now, by severity.")


def alert_lines(counts: Mapping[str, int]) -> str:
    """The exposition of ``AlertEngine.firing_counts()``."""
    lines = [ALERTS_FIRING.header()]
    lines += [f'{ALERTS_FIRING.name}{{severity="{escape(sev)}"}} {fmt(n)}\n' for sev, n in sorted(counts.items())]
    return "".join(lines)


def alerts_source(counts: Callable[[], Mapping[str, int]]) -> TextSource:
    """The /metrics source of ``counts`` (the engine's ``firing_counts``), read at each scrape."""
    return TextSource("alerts", (ALERTS_FIRING,), lambda: alert_lines(counts()))
