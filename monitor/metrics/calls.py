"""The ``giaoban_call_*`` series: who is connected in each running meeting, and with what media (issue 18).

Series, from the meeting watch's snapshot (monitor/readiness/watch.py); ``meeting`` is the meeting's id, ``site``
an expected site's id, ``direction`` rx (what the site receives) or tx, ``kind`` audio or video::

    giaoban_call_expected_sites{meeting}                                 sites expected in the running occurrence
    giaoban_call_connected{meeting,site}                                 1 connected, 0 not; absent while unknown
    giaoban_call_joined_timestamp_seconds{meeting,site}                  when the site first joined
    giaoban_call_left_timestamp_seconds{meeting,site}                    when it last left
    giaoban_call_rejoins{meeting,site}                                   times it joined again after leaving
    giaoban_call_media_good{meeting,site}                                1 good, 0 poor; absent while unknown
    giaoban_call_media_loss_ratio{meeting,site,direction,kind}           as the codec or bridge reports it
    giaoban_call_media_jitter_seconds{meeting,site,direction,kind}
    giaoban_call_media_rate_bytes_per_second{meeting,site,direction,kind}   bits/8, as Prometheus names units
    giaoban_call_polls_total                                             polls of the running meetings, since start
    giaoban_call_read_failures_total{kind}                               codec or bridge reads that failed
    giaoban_call_watch_faults{source}                                    1 per bridge or codec that cannot be read
                                                                         (no reader, settings refused)
    giaoban_call_watch_failing                                           1 while the watch's own round fails

A statistic the device does not report has no sample: a site without media is unknown, never good.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.metrics.exposition import Family, TextSource, escape, fmt
from monitor.readiness.watch import WatchSnapshot, WatchStats

EXPECTED = Family("giaoban_call_expected_sites", "gauge", "Sites expected in the running meeting.")
CONNECTED = Family("giaoban_call_connected", "gauge", "Site connected to the running meeting (1) or not (0).")
JOINED = Family("giaoban_call_joined_timestamp_seconds", "gauge", "When the site first joined the meeting.")
LEFT = Family("giaoban_call_left_timestamp_seconds", "gauge", "When the site last left the meeting.")
REJOINS = Family("giaoban_call_rejoins", "gauge", "Times the site joined the meeting again after leaving it.")
GOOD = Family("giaoban_call_media_good", "gauge", "The site's media within the limits (1) or beyond them (0).")
LOSS = Family("giaoban_call_media_loss_ratio", "gauge", "Media packet loss, per direction and kind.")
JITTER = Family("giaoban_call_media_jitter_seconds", "gauge", "Media jitter, per direction and kind.")
RATE = Family(
    "giaoban_call_media_rate_bytes_per_second", "gauge", "Media rate in bytes per second, per direction and kind."
)
POLLS = Family("giaoban_call_polls_total", "counter", "Polls of the running meetings' codecs and bridges.")
FAILURES = Family("giaoban_call_read_failures_total", "counter", "Codec or bridge reads that failed, by kind.")
FAULTS = Family("giaoban_call_watch_faults", "gauge", "A bridge or codec that cannot be read at all (1).")
FAILING = Family("giaoban_call_watch_failing", "gauge", "The meeting watch's own round fails (1).")
FAMILIES = (EXPECTED, CONNECTED, JOINED, LEFT, REJOINS, GOOD, LOSS, JITTER, RATE, POLLS, FAILURES, FAULTS, FAILING)
_MEDIA = ((LOSS, "loss_ratio"), (JITTER, "jitter_seconds"), (RATE, "rate_bps"))


def call_text(snapshot: WatchSnapshot, stats: WatchStats) -> str:
    lines: dict[Family, list[str]] = {family: [] for family in FAMILIES}
    for watched in snapshot.occurrences:
        meeting = f'meeting="{escape(watched.occurrence.meeting.id)}"'
        lines[EXPECTED].append(f"{EXPECTED.name}{{{meeting}}} {fmt(len(watched.records))}\n")
        for record in watched.records:
            labels = f'{meeting},site="{escape(str(record["site"]))}"'
            if record["connected"] is not None:
                lines[CONNECTED].append(f"{CONNECTED.name}{{{labels}}} {fmt(1.0 if record['connected'] else 0.0)}\n")
            for family, key in ((JOINED, "joined_at"), (LEFT, "left_at")):
                if record[key] is not None:
                    lines[family].append(f"{family.name}{{{labels}}} {fmt(record[key])}\n")
            lines[REJOINS].append(f"{REJOINS.name}{{{labels}}} {fmt(record['rejoins'])}\n")
            if record["quality"] != "unknown":
                lines[GOOD].append(f"{GOOD.name}{{{labels}}} {fmt(1.0 if record['quality'] == 'good' else 0.0)}\n")
            for media in record["media"]:
                channel = f'{labels},direction="{media["direction"]}",kind="{media["kind"]}"'
                for family, key in _MEDIA:
                    if media[key] is not None:
                        value = media[key] / 8 if family is RATE else media[key]  # devices say bit/s
                        lines[family].append(f"{family.name}{{{channel}}} {fmt(value)}\n")
    lines[POLLS].append(f"{POLLS.name} {fmt(stats.polls)}\n")
    for kind, count in sorted(dict(stats.failures).items()):
        lines[FAILURES].append(f'{FAILURES.name}{{kind="{escape(kind)}"}} {fmt(count)}\n')
    for source in sorted(dict(stats.faults)):
        lines[FAULTS].append(f'{FAULTS.name}{{source="{escape(source)}"}} 1.0\n')
    lines[FAILING].append(f"{FAILING.name} {fmt(1.0 if stats.failing_since is not None else 0.0)}\n")
    return "".join(family.header() + "".join(rows) for family, rows in lines.items() if rows)


def calls_source(snapshot: Callable[[], WatchSnapshot], stats: Callable[[], WatchStats]) -> TextSource:
    """The /metrics source of the meeting watch, read at each scrape."""
    return TextSource("calls", FAMILIES, lambda: call_text(snapshot(), stats()))
