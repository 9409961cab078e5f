"""The alert engine's series, for the /metrics collector::

    giaoban_alerts_firing{severity="critical|warning|info"}   firing alerts (silenced and folded ones included,
                                                             like Prometheus' ALERTS{alertstate="firing"})

    giaoban_alert_evaluation_failures_total 0                  passes of the engine that failed (the store,
                                                             e.g. a full disk, or a bug); each is repeated
    giaoban_alert_evaluation_last_success_timestamp_seconds 1.7e9   the last pass that completed; 0 before

Every severity is always present, 0 when nothing fires, so a dashboard never shows "no data" for calm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from alerts.engine import EvaluationStats
from monitor.metrics.exposition import Family, TextSource, escape, fmt

ALERTS_FIRING = Family("giaoban_alerts_firing", "gauge", "Alerts firing now, by severity.")
EVALUATION_FAILURES = Family(
    "giaoban_alert_evaluation_failures_total", "counter", "Alert engine passes that failed and were repeated."
)
EVALUATION_SUCCESS = Family(
    "giaoban_alert_evaluation_last_success_timestamp_seconds", "gauge", "When an alert engine pass last completed."
)


def alert_lines(counts: Mapping[str, int]) -> str:
    """The exposition of ``AlertEngine.firing_counts()``."""
    lines = [ALERTS_FIRING.header()]
    lines += [f'{ALERTS_FIRING.name}{{severity="{escape(sev)}"}} {fmt(n)}\n' for sev, n in sorted(counts.items())]
    return "".join(lines)


def alerts_source(counts: Callable[[], Mapping[str, int]]) -> TextSource:
    """The /metrics source of ``counts`` (the engine's ``firing_counts``), read at each scrape."""
    return TextSource("alerts", (ALERTS_FIRING,), lambda: alert_lines(counts()))


def evaluation_lines(stats: EvaluationStats) -> str:
    """The exposition of ``AlertEngine.stats``."""
    return "".join(
        [
            EVALUATION_FAILURES.header(),
            f"{EVALUATION_FAILURES.name} {fmt(stats.failures)}\n",
            EVALUATION_SUCCESS.header(),
            f"{EVALUATION_SUCCESS.name} {fmt(stats.last_success)}\n",
        ]
    )


def evaluation_source(stats: Callable[[], EvaluationStats]) -> TextSource:
    """The /metrics source of the engine's evaluation health, read at each scrape."""
    return TextSource("alert-evaluation", (EVALUATION_FAILURES, EVALUATION_SUCCESS), lambda: evaluation_lines(stats()))
