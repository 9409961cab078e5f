"""The answer for a meeting from every agent's reports: each participant's newest verdict, grouped by province.

    report = await joined_report(storage, config, meeting, occurrence_start)   None: nobody reported yet
    joined = joined_for(storage)                       the storage's one cache, shared by engine, API and board
    report = await joined.latest(config, meeting, occurrence_start)

Agents share one PostgreSQL and each checks the sites it owns (``giaoban run --scope``), storing its own report
(issue 17). The answer takes, for every participant of the meeting, the newest verdict any agent stored for this
occurrence (``Storage.latest_verdicts``: one grouped query); a participant nobody reported on is ``UNKNOWN``
with the reason ``no_report``, never ready. Sites are ordered by province, the failing provinces first (not
ready, then unknown, then degraded; more failing sites first), and inside a province the worst sites first.

Linear in participants and results; the rows are fetched in bounded batches, and the decoding, grouping and
sorting run in a worker thread (3,321 communes are a few milliseconds, but never on the event loop).
``JoinedReports`` asks the database only for the newest report id per occurrence while nothing changed, so
the engine's 5-second tick, the board and the API do not join 3,321 results each time; concurrent askers
share one build.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from datetime import datetime

from monitor.config.models import Config
from monitor.i18n import Locale
from monitor.readiness.checks import SiteReadiness
from monitor.readiness.events import ReasonText
from monitor.readiness.meetings import Meeting as MeetingRef
from monitor.readiness.participants import group_of, meeting_site_ids
from monitor.readiness.report import UNKNOWN, GroupCount, ReadinessReport, SiteSource
from monitor.readiness.texts import render
from monitor.storage.database import LatestVerdict, Storage

# Worst first: inside a province, and to rank provinces (the first count that differs decides).
SITE_ORDER = {"NOT_READY": 0, UNKNOWN: 1, "DEGRADED": 2, "READY": 3}
CACHED_OCCURRENCES = 32  # joined reports kept per storage (a few MB each for a national conference)


def _reason(reason: dict[str, object]) -> ReasonText:
    fields = reason.get("fields")
    return ReasonText(
        str(reason["code"]),
        str(reason["message"]),
        str(reason["action"]),
        "soft" if reason.get("severity") == "soft" else "hard",
        fields if isinstance(fields, dict) else None,
    )


def build_joined(
    config: Config,
    meeting: MeetingRef,
    occurrence_start: datetime,
    verdicts: Sequence[LatestVerdict],
) -> ReadinessReport:
    """The joined report of ``verdicts`` (pure and linear: run it off the loop)."""
    locale: Locale = config.organisation.locale
    index = config.index
    ids = meeting_site_ids(config, meeting.sites)
    newest = {v.site_id: v for v in verdicts}
    provinces = group_of(config, ids)
    sites: dict[str, SiteReadiness] = {}
    sources: dict[str, SiteSource] = {}
    for ident in ids:
        found = newest.get(ident)
        if found is None:
            name = unit.name if (unit := index.site(ident)) is not None else ident
            fields: dict[str, object] = {"what": name}
            message, action = render("no_report", locale, fields)
            reason = ReasonText("no_report", message, action, "hard", fields)
            sites[ident] = SiteReadiness(ident, UNKNOWN, (reason,), (None,))
            continue
        reasons = [dict(r) for r in found.reasons]
        sites[ident] = SiteReadiness(
            ident, found.verdict, tuple(_reason(r) for r in reasons), tuple(r.get("target") for r in reasons)
        )
        sources[ident] = SiteSource(found.checked_at, found.agent, found.report_id)
    counts: dict[str, dict[str, int]] = {}
    for ident, verdict in sites.items():
        tally = counts.setdefault(provinces[ident], {"READY": 0, "DEGRADED": 0, "NOT_READY": 0, UNKNOWN: 0})
        tally[verdict.verdict if verdict.verdict in tally else "NOT_READY"] += 1
    order = index.order
    groups = [
        GroupCount(
            group,
            site.name if (site := index.site(group)) is not None else group,
            ready=tally["READY"],
            degraded=tally["DEGRADED"],
            not_ready=tally["NOT_READY"],
            unknown=tally[UNKNOWN],
        )
        for group, tally in counts.items()
    ]
    groups.sort(key=lambda g: (-g.not_ready, -g.unknown, -g.degraded, order.get(g.id, len(order))))
    rank = {group.id: position for position, group in enumerate(groups)}
    ranked = sorted(
        sites.values(),
        key=lambda s: (rank[provinces[s.site_id]], SITE_ORDER.get(s.verdict, 0), order.get(s.site_id, len(order))),
    )
    newest_source = max(sources.values(), key=lambda s: s.report_id, default=None)
    return ReadinessReport(
        meeting_id=meeting.id,
        title=meeting.title,
        occurrence_start=occurrence_start,
        lead_time=_lead_time(verdicts, newest_source),
        checked_at=newest_source.checked_at if newest_source is not None else occurrence_start,
        sites=tuple(ranked),
        names={ident: site.name for ident in ids if (site := index.site(ident)) is not None},
        report_id=newest_source.report_id if newest_source is not None else None,
        group_of=provinces,
        groups=tuple(groups),
        sources=sources,
    )


def _lead_time(verdicts: Sequence[LatestVerdict], newest: SiteSource | None) -> float:
    if newest is None:
        return 0.0
    return next((v.lead_time for v in verdicts if v.report_id == newest.report_id), 0.0)


async def build_report(
    storage: Storage, config: Config, meeting: MeetingRef, occurrence_start: datetime
) -> ReadinessReport | None:
    """The join done now, uncached (``joined_report`` is the cached way)."""
    verdicts = await storage.latest_verdicts(meeting.id, occurrence_start)
    if not verdicts:
        return None
    return await asyncio.to_thread(build_joined, config, meeting, occurrence_start, verdicts)


async def joined_report(
    storage: Storage, config: Config, meeting: MeetingRef, occurrence_start: datetime
) -> ReadinessReport | None:
    """Every agent's newest verdicts for one occurrence, joined; None when no agent has reported on it yet.

    From the storage's shared cache (``joined_for``): the board, the API and the engine asking at once for a
    national conference share one join, redone only when some agent stored a newer report.
    """
    return await joined_for(storage).latest(config, meeting, occurrence_start)


_Basis = tuple[object, ...]


class JoinedReports:
    """Joined reports per occurrence, rebuilt only when an agent stored a newer report (or the config changed).

    Concurrent askers of one occurrence await the same build (single flight): ten board and API requests
    during a national conference are one join, not ten. At most ``limit`` occurrences are kept (the oldest
    built is dropped first): the API may ask for past occurrences the engine's ``forget`` does not know of.
    """

    def __init__(self, storage: Storage, *, limit: int = CACHED_OCCURRENCES) -> None:
        self.storage = storage
        self.limit = limit
        self.builds = 0  # joins done (the rest were answered from the cache or a build in flight)
        self._cache: dict[tuple[str, int], tuple[_Basis, Config, ReadinessReport]] = {}
        self._building: dict[tuple[tuple[str, int], _Basis, int], asyncio.Future[ReadinessReport | None]] = {}

    async def latest(self, config: Config, meeting: MeetingRef, occurrence_start: datetime) -> ReadinessReport | None:
        key = (meeting.id, int(occurrence_start.timestamp()))
        newest = await self.storage.newest_report_id(meeting.id, occurrence_start)
        if newest is None:
            self._cache.pop(key, None)
            return None
        # What the answer depends on: the newest report, the meeting, the inventory (a reload is a new Config,
        # compared by identity: comparing two inventories field by field would cost more than the join).
        basis: _Basis = (newest, meeting.title, meeting.sites)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == basis and cached[1] is config:
            return cached[2]
        flight = (key, basis, id(config))
        pending = self._building.get(flight)
        if pending is None:
            pending = asyncio.ensure_future(self._build(key, basis, config, meeting, occurrence_start))
            self._building[flight] = pending
            pending.add_done_callback(lambda _: self._building.pop(flight, None))
        # Shielded: one asker cancelled (a client gone) does not cancel the build the others await.
        return await asyncio.shield(pending)

    async def _build(
        self, key: tuple[str, int], basis: _Basis, config: Config, meeting: MeetingRef, occurrence_start: datetime
    ) -> ReadinessReport | None:
        self.builds += 1
        report = await build_report(self.storage, config, meeting, occurrence_start)
        if report is not None:
            self._cache.pop(key, None)  # re-inserted last: the dict's order is the order built
            self._cache[key] = (basis, config, report)
            while len(self._cache) > self.limit:
                del self._cache[next(iter(self._cache))]
        return report

    def forget(self, keep: set[tuple[str, int]]) -> None:
        """Drop the occurrences no longer upcoming (the cache stays as small as the schedule)."""
        for key in [k for k in self._cache if k not in keep]:
            del self._cache[key]


_SHARED: weakref.WeakKeyDictionary[Storage, JoinedReports] = weakref.WeakKeyDictionary()


def joined_for(storage: Storage) -> JoinedReports:
    """The one cache of joined reports of ``storage``, shared by the engine, the API, the board and the CLI."""
    found = _SHARED.get(storage)
    if found is None:
        found = _SHARED[storage] = JoinedReports(storage)
    return found
