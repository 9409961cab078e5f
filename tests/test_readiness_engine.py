"""The readiness schedule with an injected clock: lead times, late meetings, restarts, edits, cancels, T-0, events.

Probes are real (TCP connects to local ports this test opens and closes); only the clock is mocked.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.metrics.meetings import meeting_text
from monitor.readiness.engine import ReadinessEngine
from monitor.readiness.events import ReadinessEvent
from monitor.readiness.meetings import Meeting, Occurrence, build_meeting, get_meeting, remove_meeting, save_meeting
from monitor.storage.database import Storage
from probes.core.context import ProbeContext
from tests.clock import ManualClock
from tests.peers import free_port

pytestmark = pytest.mark.timeout(60)

# The meeting at 00:15 in Hà Nội on Tuesday 8 December 2026: its checks fall on the Monday, across midnight.
START = datetime(2026, 12, 7, 17, 15, tzinfo=UTC)  # 00:15 on the 8th, local time
NOW = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 20:00 on the 7th: the clock starts before every lead time (3 h)


def inventory(open_port: int, closed_port: int) -> Config:
    return load_config_text(
        f"""\
district: {{name: "Huyện Thử", timezone: Asia/Ho_Chi_Minh, locale: vi}}
readiness: {{lead_times: [60m, 30m, 10m]}}
sites:
  - {{id: hub, name: "UBND huyện", role: district}}
  - id: c1
    name: "Xã Một"
    parent: hub
    endpoints: [{{id: vc1, kind: tcp, address: 127.0.0.1, port: {open_port}, timeout: 1s}}]
  - id: c2
    name: "Xã Hai"
    parent: hub
    endpoints: [{{id: vc2, kind: tcp, address: 127.0.0.1, port: {closed_port}, timeout: 1s}}]
""",
        "test.yml",
    )


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


class Rig:
    def __init__(self, config: Config, storage: Storage, clock: ManualClock) -> None:
        self.config, self.storage, self.clock = config, storage, clock
        self.events: list[ReadinessEvent] = []

    def at(self, before_start: timedelta, start: datetime = START) -> None:
        """Move the clock (forward) to ``before_start`` before ``start``."""
        self.clock.set(start - before_start)

    def engine(self) -> ReadinessEngine:
        async def sink(event: ReadinessEvent) -> None:
            self.events.append(event)

        return ReadinessEngine(
            config=lambda: self.config, storage=self.storage, ctx=ProbeContext(), sink=sink, clock=self.clock.wall
        )

    async def meeting(self, **fields: object) -> Meeting:
        values: dict[str, object] = {"title": "Giao ban đầu tuần", "start": START, "meeting_id": "mon", **fields}
        return await save_meeting(self.storage, build_meeting(self.config, source="cli", **values))  # type: ignore[arg-type]

    async def leads(self, meeting_id: str = "mon") -> list[float]:
        return sorted(r.lead_time for r in await self.storage.reports(meeting_id))


@pytest.fixture
def rig(listener: socket.socket, storage: Storage) -> Rig:
    return Rig(inventory(listener.getsockname()[1], free_port()), storage, ManualClock(NOW))


async def test_a_check_at_each_lead_time_and_one_summary(rig: Rig) -> None:
    """T-60, T-30, T-10 each run once, across local midnight; T-0 sends one summary to the admins."""
    await rig.meeting()
    engine = rig.engine()
    for before, expected in [
        (timedelta(minutes=61), []),
        (timedelta(minutes=60), [3600.0]),
        (timedelta(minutes=59), [3600.0]),
        (timedelta(minutes=30), [1800.0, 3600.0]),
        (timedelta(minutes=10), [600.0, 1800.0, 3600.0]),
        (timedelta(minutes=1), [600.0, 1800.0, 3600.0]),
    ]:
        rig.at(before)
        await engine.tick()
        assert await rig.leads() == expected, before
    rig.at(timedelta(seconds=-5))
    await engine.tick()
    await engine.tick()
    summaries = [e for e in rig.events if e.kind == "summary"]
    assert len(summaries) == 1
    assert (summaries[0].ready, summaries[0].total, summaries[0].not_ready) == (2, 3, ("c2",))


async def test_meeting_added_late_is_checked_at_once_then_on_schedule(rig: Rig) -> None:
    """Added 20 minutes before: one check now (standing for T-60 and T-30, recorded as 20 minutes left), then T-10."""
    rig.at(timedelta(minutes=20))
    await rig.meeting()
    engine = rig.engine()
    await engine.tick()
    await engine.tick()
    assert await rig.leads() == [1200.0]
    rig.at(timedelta(minutes=10))
    await engine.tick()
    assert await rig.leads() == [600.0, 1200.0]


async def test_restart_between_lead_times_neither_repeats_nor_misses(rig: Rig) -> None:
    """A new engine (a restarted service) knows from the stored reports what was checked."""
    await rig.meeting()
    rig.at(timedelta(minutes=60))
    await rig.engine().tick()
    rig.at(timedelta(minutes=45))
    await rig.engine().tick()
    assert await rig.leads() == [3600.0]
    rig.at(timedelta(minutes=25))  # the service was down at T-30: the missed check runs at once
    await rig.engine().tick()
    assert await rig.leads() == [1500.0, 3600.0]  # recorded with the time really left
    rig.at(timedelta(minutes=20))
    await rig.engine().tick()
    assert await rig.leads() == [1500.0, 3600.0]  # and it stands for T-30: nothing more until T-10


async def test_cancelled_meeting_is_not_checked_again(rig: Rig) -> None:
    """A meeting removed after its first check gets no more checks and no summary."""
    await rig.meeting()
    engine = rig.engine()
    rig.at(timedelta(minutes=60))
    await engine.tick()
    assert await remove_meeting(rig.storage, "mon")
    for before in (timedelta(minutes=30), timedelta(minutes=10), timedelta(seconds=-1)):
        rig.at(before)
        await engine.tick()
    assert await rig.leads() == [3600.0]
    assert not [e for e in rig.events if e.kind == "summary"]


async def test_moved_meeting_is_checked_on_its_new_schedule(rig: Rig) -> None:
    """Moving the start an hour later after the T-60 check: the old T-30 passes silently, the new T-60 checks."""
    meeting = await rig.meeting()
    engine = rig.engine()
    rig.at(timedelta(minutes=60))
    await engine.tick()
    later = START + timedelta(hours=1)
    await save_meeting(rig.storage, replace(meeting, start=later))
    rig.at(timedelta(minutes=30))  # = T-90 of the new start
    await engine.tick()
    assert await rig.leads() == [3600.0]
    rig.at(timedelta(minutes=60), start=later)
    await engine.tick()
    reports = await rig.storage.reports("mon")
    assert [(r.occurrence_start, r.lead_time) for r in reports] == [(later, 3600.0), (START, 3600.0)]


async def test_meeting_lead_times_override_the_default(rig: Rig) -> None:
    """A meeting's own lead times replace readiness.lead_times."""
    await rig.meeting(lead_times=["15m"])
    engine = rig.engine()
    for minutes in (60, 30, 15, 10):
        rig.at(timedelta(minutes=minutes))
        await engine.tick()
    assert await rig.leads() == [900.0]


async def test_meeting_lead_time_beyond_the_default_runs_on_time(rig: Rig) -> None:
    """A meeting's own lead time longer than every default one is checked when it comes, not later."""
    await rig.meeting(lead_times=["3h"])
    engine = rig.engine()
    rig.at(timedelta(hours=3))
    await engine.tick()
    assert await rig.leads() == [10800.0]


async def test_not_ready_site_then_all_clear(rig: Rig, listener: socket.socket) -> None:
    """A site whose codec does not answer is reported with its reason; once it answers, an all-clear follows."""
    await rig.meeting()
    engine = rig.engine()
    rig.at(timedelta(minutes=60))
    (report,) = await engine.tick()
    assert {s.site_id: s.verdict for s in report.sites} == {"hub": "READY", "c1": "READY", "c2": "NOT_READY"}
    (event,) = rig.events
    assert (event.kind, event.site_id, event.site_name, event.verdict) == (
        "site_not_ready",
        "c2",
        "Xã Hai",
        "NOT_READY",
    )
    assert [r.code for r in event.reasons] == ["endpoint_down"]
    assert event.reasons[0].message.startswith("Thiết bị hội nghị vc2 không trả lời")
    metrics = meeting_text(engine.snapshot)
    assert 'giaoban_meeting_site_ready{meeting="mon",site="c2"} 0.0' in metrics
    assert 'giaoban_meeting_ready_sites{meeting="mon"} 2.0' in metrics
    assert f'giaoban_meeting_start_timestamp_seconds{{meeting="mon"}} {START.timestamp()!r}' in metrics

    # The technician fixes the codec: c2 now answers on the port the inventory names.
    fixed = socket.socket()
    fixed.bind(("127.0.0.1", 0))
    fixed.listen(4)
    try:
        port = fixed.getsockname()[1]
        rig.config = inventory(listener.getsockname()[1], port)
        rig.at(timedelta(minutes=30))
        (report,) = await engine.tick()
    finally:
        fixed.close()
    assert report.all_ready
    assert [(e.kind, e.site_id) for e in rig.events[1:]] == [("site_recovered", "c2")]
    assert 'giaoban_meeting_site_ready{meeting="mon",site="c2"} 1.0' in meeting_text(engine.snapshot)


async def test_a_check_already_running_is_joined_not_repeated(rig: Rig) -> None:
    """The API asking while the schedule checks the same occurrence gets that check: one report, one event per site."""
    meeting = await rig.meeting()
    engine = rig.engine()
    rig.at(timedelta(minutes=40))
    occurrence = Occurrence(meeting, START, START + timedelta(seconds=meeting.duration))
    first, second = await asyncio.gather(engine.check_meeting(occurrence), engine.check_meeting(occurrence))
    assert first is second
    assert await rig.leads() == [2400.0]
    assert [(e.kind, e.site_id) for e in rig.events] == [("site_not_ready", "c2")]


async def test_a_failing_sink_does_not_stop_the_check(rig: Rig) -> None:
    """The alerting refusing an event is logged; the report is stored all the same."""

    async def broken(event: ReadinessEvent) -> None:
        raise RuntimeError("alerting down")

    await rig.meeting()
    engine = ReadinessEngine(
        config=lambda: rig.config, storage=rig.storage, ctx=ProbeContext(), sink=broken, clock=rig.clock.wall
    )
    rig.at(timedelta(minutes=60))
    await engine.tick()
    assert await rig.leads() == [3600.0]


async def test_weekly_meeting_checks_each_occurrence(rig: Rig) -> None:
    """A weekly briefing: next week's occurrence gets its own T-60 check."""
    await rig.meeting(rrule="FREQ=WEEKLY")
    engine = rig.engine()
    rig.at(timedelta(minutes=60))
    await engine.tick()
    next_week = START + timedelta(days=7)
    rig.at(timedelta(minutes=60), start=next_week)
    await engine.tick()
    reports = await rig.storage.reports("mon")
    assert sorted(r.occurrence_start for r in reports) == [START, next_week]
    assert (await get_meeting(rig.storage, "mon")) is not None
    await asyncio.sleep(0)


def linked(open_port: int, codec_port: int) -> Config:
    """inventory() with a link on each commune (probed by ICMP)."""
    text = f"""\
district: {{name: "Huyện Thử", timezone: Asia/Ho_Chi_Minh, locale: vi}}
readiness: {{lead_times: [60m, 30m, 10m], icmp_count: 2}}
sites:
  - {{id: hub, name: "UBND huyện", role: district}}
  - id: c1
    name: "Xã Một"
    parent: hub
    link: {{address: 127.0.0.1}}
    endpoints: [{{id: vc1, kind: tcp, address: 127.0.0.1, port: {open_port}, timeout: 1s}}]
  - id: c2
    name: "Xã Hai"
    parent: hub
    link: {{address: 127.0.0.2}}
    endpoints: [{{id: vc2, kind: tcp, address: 127.0.0.1, port: {codec_port}, timeout: 1s}}]
"""
    return load_config_text(text, "test.yml")


async def test_unmeasured_links_stay_in_the_report_but_are_no_site_news(
    listener: socket.socket, storage: Storage
) -> None:
    """Without ICMP permission every link is link_unchecked in the report and the summary, as before, but a site
    is announced to its technician only for its own findings: one event for the codec that is down, none for
    the links (the admins hear of the set-up once, alerts' probe_setup; issue 14)."""
    open_port = listener.getsockname()[1]
    rig = Rig(linked(open_port, free_port()), storage, ManualClock(NOW))
    rig.at(timedelta(minutes=20))
    await rig.meeting()
    engine = rig.engine()  # ProbeContext() has no pinger: every ICMP round is "permission_denied"
    (report,) = await engine.tick()
    verdicts = {s.site_id: (s.verdict, [r.code for r in s.reasons]) for s in report.sites}
    assert verdicts == {
        "hub": ("READY", []),
        "c1": ("DEGRADED", ["link_unchecked"]),
        "c2": ("NOT_READY", ["link_unchecked", "endpoint_down"]),
    }
    (event,) = rig.events
    assert (event.kind, event.site_id, event.verdict) == ("site_not_ready", "c2", "NOT_READY")
    assert [r.code for r in event.reasons] == ["endpoint_down"]

    rig.config = linked(open_port, open_port)  # c2's codec answers again; the links are still unmeasured
    rig.at(timedelta(minutes=10))
    (report,) = await engine.tick()
    assert {s.site_id: s.verdict for s in report.sites} == {"hub": "READY", "c1": "DEGRADED", "c2": "DEGRADED"}
    assert [(e.kind, e.site_id) for e in rig.events[1:]] == [("site_recovered", "c2")]
    rig.at(timedelta(seconds=-5))
    await engine.tick()
    (summary,) = rig.events[2:]
    assert (summary.kind, summary.ready, summary.total, summary.not_ready) == ("summary", 1, 3, ("c1", "c2"))
