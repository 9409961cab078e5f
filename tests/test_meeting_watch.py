"""The meeting watch (issue 18): attendance and media of a running meeting, its record, series and alerts.

The readers here are fakes returning the shapes of probes/vc/media.py (the drivers, issue 18's other half, have
their own tests against vendor samples); everything after them is the real code: the watch, the attendance
rules, the SQLite record, the alert engine with its store and outbox rows, the /metrics text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from alerts.engine import AlertEngine
from alerts.store import SqlAlertStore
from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.metrics.calls import call_text
from monitor.readiness.attendance import Attendance, Limits, SiteCall, match_key, quality, site_call
from monitor.readiness.meetings import sync_config_meetings
from monitor.readiness.watch import MeetingWatch
from monitor.storage.attendance import latest_occurrence, load_attendance
from monitor.storage.database import Storage
from monitor.storage.tables import outbox
from monitor.web.api_attendance import AttendanceOut
from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, Reason
from probes.vc.media import CallReport, MediaStats, Participant

START = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội
T0 = START.timestamp()

INVENTORY = """
organisation: {name: Tỉnh Thái Nguyên, timezone: Asia/Ho_Chi_Minh, locale: vi}
technicians:
  - {id: tuan, name: Nguyễn Văn Tuấn}
  - {id: hoa, name: Trần Thị Hoa}
alerts: {admins: [hoa], topology_grace: 0s, rules: {poor_media: {for: 30s}}}
calls: {interval: 10s, join_grace: 2m}
meetings:
  - {id: giao-ban, title: Giao ban tỉnh, start: "2026-12-07T07:30", duration: 1h,
     sites: [tan-thinh, lam-vy, kim-phuong, phu-dinh, bao-linh]}
bridges:
  - id: mcu-tinh
    kind: cms
    address: 198.51.100.20
    participants:
      tan-thinh: ["sip:tan-thinh@vc.example.org"]
      lam-vy: ["Phòng họp Lâm Vỹ"]
sites:
  - {id: tinh, name: UBND tỉnh, role: province}
  - {id: tan-thinh, name: Xã Tân Thịnh, parent: tinh, technicians: [tuan]}
  - {id: lam-vy, name: Xã Lam Vỹ, parent: tinh, technicians: [tuan]}
  - {id: kim-phuong, name: Xã Kim Phượng, parent: tinh, technicians: [tuan]}
  - id: phu-dinh
    name: Xã Phú Đình
    parent: tinh
    technicians: [tuan]
    endpoints: [{id: pd-codec, kind: cisco-xapi, address: 192.0.2.7}]
  - {id: bao-linh, name: Xã Bảo Linh, parent: tinh, technicians: [tuan]}
"""


class FakeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credentials: Any = None


def leg(remote: str, *, name: str | None = None, loss: float | None = None, media: bool = True) -> Participant:
    stats = (
        (
            MediaStats("audio", "rx", 0.0, 0.004, 64_000.0),
            MediaStats("video", "rx", loss if loss is not None else 0.001, 0.008, 1_900_000.0),
            MediaStats("video", "tx", 0.0, 0.006, 1_800_000.0),
        )
        if media
        else ()
    )
    return Participant(remote, name=name, media=stats)


class Devices:
    """What the fake bridge and the fake codec answer at the next poll."""

    def __init__(self) -> None:
        self.bridge: list[Participant] = []
        self.codec_fails = True
        self.reads: list[tuple[str, str]] = []

    async def read_bridge(self, target: str, settings: Any, ctx: ProbeContext) -> CallReport:
        self.reads.append(("bridge", target))
        return CallReport("cms", tuple(self.bridge), media_reported=True)

    async def read_codec(self, target: str, settings: Any, ctx: ProbeContext) -> CallReport:
        self.reads.append(("codec", target))
        if self.codec_fails:
            raise ProbeFailed(Reason.TIMEOUT, "no answer")
        return CallReport("cisco-xapi", (Participant("sip:mcu@vc.example.org"),), media_reported=False)


@pytest.fixture
async def storage(tmp_path: Path) -> Any:
    store = await Storage.open(f"sqlite:///{tmp_path / 'watch.db'}")
    try:
        yield store
    finally:
        await store.close()


def config_text(text: str = INVENTORY) -> Config:
    return load_config_text(text, "giaoban.yml")


async def test_attendance_media_record_and_alerts(storage: Storage) -> None:
    config = config_text()
    await storage.sync_inventory(config)
    await sync_config_meetings(storage, config, config.meetings)
    devices = Devices()
    now = [T0 + 5]
    readers = {
        "cms": (FakeSettings, devices.read_bridge),
        "cisco-xapi": (FakeSettings, devices.read_codec),
    }
    watch = MeetingWatch(
        config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: now[0], readers=readers
    )
    store = SqlAlertStore(storage)
    engine = AlertEngine(lambda: config, State(), store, clock=lambda: now[0], calls=watch.findings)

    async def at(offset: float) -> dict[str, dict[str, Any]]:
        now[0] = T0 + offset
        await watch.tick()
        await engine.evaluate()
        (watched,) = watch.snapshot.occurrences
        return {r["site"]: dict(r) for r in watched.records}

    # 07:30:05: Tân Thịnh by its address, Lam Vỹ by its configured name (another case), Kim Phượng by the site's
    # own name; Lam Vỹ receives video with 4 % loss; Kim Phượng's leg carries no statistics.
    devices.bridge = [
        leg("SIP:Tan-Thinh@vc.example.org"),
        leg("sip:203.0.113.9", name="phòng họp lâm vỹ", loss=0.04),
        leg("sip:kp@vc.example.org", name="Xã Kim Phượng", media=False),
        leg("sip:stranger@vc.example.org", name="Khách"),
    ]
    records = await at(5)
    assert ("bridge", "198.51.100.20") in devices.reads and ("codec", "192.0.2.7") in devices.reads
    assert {s: r["connected"] for s, r in records.items()} == {
        "tan-thinh": True, "lam-vy": True, "kim-phuong": True, "phu-dinh": False, "bao-linh": False,
    }  # fmt: skip
    # Phú Đình's codec failed, but the bridge answered without its leg: not connected.
    assert {s: r["quality"] for s, r in records.items()} == {
        "tan-thinh": "good", "lam-vy": "poor", "kim-phuong": "unknown", "phu-dinh": "unknown", "bao-linh": "unknown",
    }  # fmt: skip
    text = call_text(watch.snapshot, watch.stats)
    assert 'giaoban_call_media_good{meeting="giao-ban",site="kim-phuong"}' not in text  # unknown, never good
    assert 'giaoban_call_media_good{meeting="giao-ban",site="tan-thinh"} 1.0' in text
    assert 'giaoban_call_media_loss_ratio{meeting="giao-ban",site="lam-vy",direction="rx",kind="video"} 0.04' in text
    assert 'giaoban_call_connected{meeting="giao-ban",site="bao-linh"} 0.0' in text
    assert 'giaoban_call_read_failures_total{kind="cisco-xapi"} 1' in text
    assert await store.list_alerts(state="firing") == []  # poor media must last 30 s; not_joined waits 2 min

    # 07:30:45: Lam Vỹ's loss has lasted 40 s (> 30 s): poor_media fires, to its technician and the admin.
    records = await at(45)
    firing = {a.id: a for a in await store.list_alerts(state="firing")}
    assert set(firing) == {"poor_media/lam-vy/giao-ban"}
    assert firing["poor_media/lam-vy/giao-ban"].labels["meeting"] == "giao-ban"

    # 07:32:05: Tân Thịnh drops out; Bảo Linh and Phú Đình are still missing after the 2 minutes of grace.
    devices.bridge = [b for b in devices.bridge if "inh@" not in b.remote]
    records = await at(125)
    assert records["tan-thinh"]["left_at"] == pytest.approx(T0 + 125)
    firing = {a.id for a in await store.list_alerts(state="firing")}
    assert firing == {
        "poor_media/lam-vy/giao-ban",
        "dropped_out/tan-thinh/giao-ban",
        "not_joined/bao-linh/giao-ban",
        "not_joined/phu-dinh/giao-ban",
    }
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.alert_id, outbox.c.payload))).all()
    dropped = [payload for alert, payload in rows if alert == "dropped_out/tan-thinh/giao-ban"]
    (message,) = dropped
    assert message["subject"] == "[NGHIÊM TRỌNG] Xã Tân Thịnh rời cuộc họp Giao ban tỉnh lúc 07:32"
    assert [r["id"] for r in message["recipients"]] == ["tuan", "hoa"]

    # 07:33: Tân Thịnh is back (rejoined), Lam Vỹ's loss is gone: both all-clears go out.
    devices.bridge = [
        leg("sip:tan-thinh@vc.example.org"),
        leg("sip:203.0.113.9", name="Phòng họp Lâm Vỹ"),
        leg("sip:kp@vc.example.org", name="Xã Kim Phượng", media=False),
    ]
    records = await at(180)
    assert records["tan-thinh"]["rejoins"] == 1
    assert [e["event"] for e in records["tan-thinh"]["events"]] == ["joined", "left", "rejoined"]
    assert [e["event"] for e in records["lam-vy"]["events"]] == ["joined", "poor_media", "media_recovered"]
    firing = {a.id for a in await store.list_alerts(state="firing")}
    assert firing == {"not_joined/bao-linh/giao-ban", "not_joined/phu-dinh/giao-ban"}
    async with storage.engine.connect() as conn:
        events = {(a, e) for a, e in (await conn.execute(select(outbox.c.alert_id, outbox.c.event))).all()}
    assert ("dropped_out/tan-thinh/giao-ban", "resolved") in events
    assert ("poor_media/lam-vy/giao-ban", "resolved") in events

    # The record keeps attendance and the worst media per site; a restart mid-meeting carries it on.
    start = int(T0)
    assert await latest_occurrence(storage, "giao-ban") == start
    stored = {r["site"]: r for r in await load_attendance(storage, "giao-ban", start)}
    assert stored["lam-vy"]["worst"]["rx/video"]["loss_ratio"] == pytest.approx(0.04)
    assert stored["tan-thinh"]["left_at"] == pytest.approx(T0 + 125)
    again = MeetingWatch(
        config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: now[0], readers=readers
    )
    now[0] = T0 + 190
    await again.tick()
    (watched,) = again.snapshot.occurrences
    carried = {r["site"]: r for r in watched.records}
    assert carried["tan-thinh"]["rejoins"] == 1 and carried["tan-thinh"]["joined_at"] == pytest.approx(T0 + 5)

    # After the end, the watch stops and the meeting's alerts resolve.
    now[0] = T0 + 3600 + 5
    await watch.tick()
    await engine.evaluate()
    assert watch.snapshot.occurrences == ()
    assert await store.list_alerts(state="firing") == []


async def test_unknown_site_keeps_its_alert_and_maintenance_silences(storage: Storage) -> None:
    """A poll that cannot tell (every read failed) neither drops nor clears; a maintenance window silences."""
    text = INVENTORY.replace(
        "calls: {interval: 10s, join_grace: 2m}",
        "calls: {interval: 10s, join_grace: 2m}\n"
        'maintenance: [{id: bao-tri, title: "Bảo trì", start: "2026-12-07T07:00", duration: 3h, sites: [bao-linh]}]',
    )
    config = config_text(text)
    await sync_config_meetings(storage, config, config.meetings)
    devices = Devices()
    now = [T0 + 125]
    readers = {"cms": (FakeSettings, devices.read_bridge)}
    watch = MeetingWatch(
        config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: now[0], readers=readers
    )
    store = SqlAlertStore(storage)
    engine = AlertEngine(lambda: config, State(), store, clock=lambda: now[0], calls=watch.findings)
    await watch.tick()
    await engine.evaluate()
    alerts = {a.id: a for a in await store.list_alerts(state="firing")}
    assert alerts["not_joined/bao-linh/giao-ban"].suppressed_by == "maintenance:bao-tri"
    assert "not_joined/tan-thinh/giao-ban" in alerts

    async def failing(target: str, settings: Any, ctx: ProbeContext) -> CallReport:
        raise ProbeFailed(Reason.REFUSED, "connection refused")

    watch._readers = {"cms": (FakeSettings, failing)}  # the bridge stops answering
    now[0] += 10
    await watch.tick()
    await engine.evaluate()
    (watched,) = watch.snapshot.occurrences
    assert all(r["connected"] is None for r in watched.records)
    assert "not_joined/tan-thinh/giao-ban" in {a.id for a in await store.list_alerts(state="firing")}


async def test_bridge_without_reader_is_a_visible_fault(storage: Storage) -> None:
    config = config_text()
    await sync_config_meetings(storage, config, config.meetings)
    watch = MeetingWatch(config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: T0 + 5, readers={})
    await watch.tick()
    assert "bridge:mcu-tinh" in watch.stats.faults
    assert 'giaoban_call_watch_faults{source="bridge:mcu-tinh"} 1.0' in call_text(watch.snapshot, watch.stats)
    (watched,) = watch.snapshot.occurrences
    assert {r["connected"] for r in watched.records} == {None}  # nothing could tell: unknown, not "missing"


def test_site_call_and_quality_rules() -> None:
    limits = Limits(loss=0.01, jitter=0.030, loss_critical=0.05)
    codec = CallReport("cisco-xapi", (Participant("sip:mcu@vc.example.org"),), media_reported=False)
    bridge_leg = leg("sip:a@vc.example.org", loss=0.02)
    call = site_call([("c", codec)], [("b", bridge_leg)], bridges_answered=1)
    assert call.connected is True and call.source == "codec:c"
    assert quality(call, limits)[0] == "poor"  # the codec gave no statistics: the bridge's view of the call counts
    assert site_call([("c", None)], [], bridges_answered=0).connected is None
    assert site_call([("c", CallReport("x", (), True))], [], bridges_answered=0).connected is False
    jitter_only = SiteCall(True, media=(MediaStats("audio", "tx", jitter_seconds=0.045),))
    assert quality(jitter_only, limits)[0] == "poor"
    rate_only = SiteCall(True, media=(MediaStats("audio", "tx", rate_bps=64_000.0),))
    assert quality(rate_only, limits)[0] == "unknown"  # a rate says nothing of loss or jitter
    assert match_key(" SIP:Tan-Thinh@VC.example.org ") == "tan-thinh@vc.example.org"
    site = Attendance("a")
    assert site.observe(SiteCall(True), 1.0, limits) == ["joined"]
    assert site.observe(SiteCall(None), 2.0, limits) == []  # a failed poll is no departure
    assert site.observe(SiteCall(True), 3.0, limits) == []  # ... and its end no rejoin
    poor = SiteCall(True, media=(MediaStats("video", "rx", loss_ratio=0.04),))
    assert site.observe(poor, 3.5, limits) == ["poor_media"]
    assert site.observe(SiteCall(None), 3.6, limits) == []  # a failed read is no recovery
    assert site.observe(SiteCall(True), 3.7, limits) == []  # nor is a poll without statistics
    assert site.quality == "poor"
    assert site.observe(SiteCall(False), 4.0, limits) == ["left"]
    assert site.quality == "unknown"
    assert site.observe(SiteCall(True), 5.0, limits) == ["rejoined"]


def test_bridge_configuration_is_checked() -> None:
    from monitor.config.loader import ConfigError

    with pytest.raises(ConfigError) as caught:
        config_text(INVENTORY.replace("tan-thinh: [", "tan-thin: ["))
    assert "tan-thin" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        config_text(INVENTORY.replace("kind: cms", "kind: webex"))
    assert "kind" in str(caught.value)
    assert timedelta(seconds=config_text().calls.join_grace) == timedelta(minutes=2)


async def test_route_page_and_command_show_the_record(
    storage: Storage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GET /api/v1/meetings/{id}/attendance (live, then stored), /meetings/{id}/live in both languages, and
    `giaoban meetings attendance` on the stored record, from one watched meeting."""
    import argparse
    import json
    from types import SimpleNamespace

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from monitor.cli import meetings as cli_meetings
    from monitor.web.api_v1 import make_api_v1
    from monitor.web.board_call import live_handler

    database = tmp_path / "watch.db"
    text = INVENTORY + f"database: sqlite:///{database}\n"
    config = config_text(text)
    (tmp_path / "giaoban.yml").write_text(text, encoding="utf-8")
    await sync_config_meetings(storage, config, config.meetings)
    devices = Devices()
    devices.bridge = [leg("sip:tan-thinh@vc.example.org"), leg("sip:203.0.113.9", name="Phòng họp Lâm Vỹ", loss=0.04)]
    now = [T0 + 5]
    readers = {"cms": (FakeSettings, devices.read_bridge)}
    watch = MeetingWatch(
        config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: now[0], readers=readers
    )
    await watch.tick()
    devices.bridge = devices.bridge[1:]  # Tân Thịnh leaves at 07:42
    now[0] = T0 + 12 * 60
    await watch.tick()

    app = web.Application()
    service = SimpleNamespace(config=config, storage=storage)
    app.router.add_get("/meetings/{id}/live", live_handler(service, lambda: watch.snapshot, clock=lambda: now[0]))  # type: ignore[arg-type]
    api = make_api_v1(storage=storage, config=lambda: config, state=State(), watch=lambda: watch.snapshot)
    app.add_subapp("/api/v1", api)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/api/v1/meetings/giao-ban/attendance")
        assert answer.status == 200
        document = await answer.json()
        AttendanceOut.model_validate(document)  # the answer is what /api/v1/openapi.json says
        assert document["running"] is True and document["occurrence_start"] == START.isoformat()
        first = document["sites"][0]
        assert (first["site"], first["state"], first["text"]) == ("tan-thinh", "left", "rời cuộc họp lúc 07:42")
        by_site = {s["site"]: s for s in document["sites"]}
        assert by_site["lam-vy"]["state"] == "poor"
        assert "mất gói 4% hình ảnh chiều vào" in by_site["lam-vy"]["text"]
        assert by_site["kim-phuong"]["state"] == "missing"
        assert (await client.get("/api/v1/meetings/nope/attendance")).status == 404
        assert (await client.get("/api/v1/meetings/giao-ban/attendance?start=x")).status == 400
        page = await (await client.get("/meetings/giao-ban/live?lang=en")).text()
        assert "Xã Tân Thịnh</b>: left the meeting at 07:42" in page
        assert "4% video packet loss in" in page
        page = await (await client.get("/meetings/giao-ban/live")).text()
        assert "Xã Tân Thịnh</b>: rời cuộc họp lúc 07:42" in page

    # After the meeting: the stored record, through the command line.
    now[0] = T0 + 3605
    await watch.tick()
    top = argparse.ArgumentParser(prog="giaoban")
    cli_meetings.add_parser(top.add_subparsers(dest="command", required=True))
    options = ["-c", str(tmp_path / "giaoban.yml")]
    code = await cli_meetings.run(top.parse_args(["meetings", "attendance", "giao-ban", *options]))
    out = capsys.readouterr().out
    assert code == 0
    assert "✗ Xã Tân Thịnh: rời cuộc họp lúc 07:42" in out
    assert "! Xã Lam Vỹ: đã vào lúc 07:30; hình và tiếng kém: mất gói 4% hình ảnh chiều vào" in out
    code = await cli_meetings.run(top.parse_args(["meetings", "attendance", "giao-ban", *options, "--json"]))
    stored = json.loads(capsys.readouterr().out)
    assert code == 0 and stored["running"] is False
    AttendanceOut.model_validate(stored)  # the stored record answers in the same documented shape
    assert {s["site"]: s["state"] for s in stored["sites"]}["tan-thinh"] == "left"


def test_bridges_take_the_drivers_settings() -> None:
    """A bridge of its own (kind, address, credentials, settings) or one named by its endpoint: both become the
    real cms reader's settings (probes/vc/calls.py); an endpoint of another kind, or both forms at once, refused."""
    from monitor.config.loader import ConfigError
    from monitor.readiness.call_readers import call_readers, reader_settings

    text = INVENTORY.replace(
        "    participants:\n",
        "    credentials: {env: GIAOBAN_TEST_CMS}\n    settings: {scheme: http, page_size: 50}\n    participants:\n",
        1,
    ).replace(
        "  - {id: tinh, name: UBND tỉnh, role: province}",
        "  - id: tinh\n    name: UBND tỉnh\n    role: province\n"
        "    endpoints: [{id: hub-cms, kind: cms, address: 198.51.100.30, scheme: http}]",
    )
    text = text.replace("sites:\n  - id: tinh", "  - {id: mcu-hub, endpoint: hub-cms}\nsites:\n  - id: tinh", 1)
    config = config_text(text)
    kind_settings, _ = call_readers()["cms"]
    own, by_endpoint = config.bridges
    kind, target, given = MeetingWatch._bridge(config, own)
    settings = reader_settings(kind_settings, given)
    assert (kind, target) == ("cms", "198.51.100.20")
    assert settings.scheme == "http" and settings.page_size == 50  # type: ignore[attr-defined]
    assert settings.credentials is not None  # type: ignore[attr-defined]
    kind, target, given = MeetingWatch._bridge(config, by_endpoint)
    assert (kind, target) == ("cms", "198.51.100.30")
    assert reader_settings(kind_settings, given).scheme == "http"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="page_size"):
        reader_settings(kind_settings, {"page_size": 0})
    with pytest.raises(ConfigError, match="kind sip"):
        config_text(
            text.replace("{id: mcu-hub, endpoint: hub-cms}", "{id: mcu-hub, endpoint: pd-sip}").replace(
                "endpoints: [{id: pd-codec,",
                "endpoints: [{id: pd-sip, kind: sip, address: 192.0.2.8, port: 5060}, {id: pd-codec,",
            )
        )
    with pytest.raises(ConfigError, match="remove them here"):
        config_text(text.replace("{id: mcu-hub, endpoint: hub-cms}", "{id: mcu-hub, endpoint: hub-cms, kind: cms}"))


async def test_acknowledged_meeting_alert_has_no_reminder(storage: Storage) -> None:
    """The usual acknowledgement: an in-meeting alert acknowledged has no reminders; its resolve goes out."""
    text = INVENTORY.replace("alerts: {admins: [hoa],", "alerts: {admins: [hoa], reminder_interval: 30s,")
    config = config_text(text)
    await sync_config_meetings(storage, config, config.meetings)
    devices = Devices()
    devices.bridge = [leg("sip:tan-thinh@vc.example.org")]
    now = [T0 + 5]
    readers = {"cms": (FakeSettings, devices.read_bridge)}
    watch = MeetingWatch(
        config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: now[0], readers=readers
    )
    store = SqlAlertStore(storage)
    engine = AlertEngine(lambda: config, State(), store, clock=lambda: now[0], calls=watch.findings)

    async def events(alert: str) -> list[str]:
        async with storage.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.event).where(outbox.c.alert_id == alert))).all()
        return [row[0] for row in rows]

    for offset in (5, 20):
        now[0] = T0 + offset
        await watch.tick()
        await engine.evaluate()
    devices.bridge = []  # Tân Thịnh drops out at 07:30:20
    now[0] = T0 + 30
    await watch.tick()
    await engine.evaluate()
    alert = "dropped_out/tan-thinh/giao-ban"
    assert await events(alert) == ["firing"]
    assert await store.acknowledge(alert, "tuan", now[0] + 1) is not None
    for offset in (65, 100):  # past one and two reminder intervals
        now[0] = T0 + offset
        await watch.tick()
        await engine.evaluate()
    assert await events(alert) == ["firing"]
    devices.bridge = [leg("sip:tan-thinh@vc.example.org")]
    now[0] = T0 + 110
    await watch.tick()
    await engine.evaluate()
    assert await events(alert) == ["firing", "resolved"]


async def test_loss_above_loss_critical_is_a_critical_alert_beside_the_warning(storage: Storage) -> None:
    """Polycom RMX's bands: loss above calls.loss_critical (5 %) is critical, told on the channels that carry
    critical; the warning band stays open folded into it, and is told once the loss is back under 5 %."""
    text = INVENTORY.replace("calls: {interval: 10s, join_grace: 2m}", "calls: {interval: 10s, join_grace: 1h}")
    text = text.replace("{poor_media: {for: 30s}}", "{poor_media: {for: 30s}, poor_media_critical: {for: 30s}}")
    text += (
        "notifiers:\n"
        "  - {id: pager, kind: webhook, url: 'http://127.0.0.1:9/p', severities: [critical]}\n"
        "  - {id: chat, kind: webhook, url: 'http://127.0.0.1:9/c', severities: [warning]}\n"
    )
    config = config_text(text)
    await storage.sync_inventory(config)
    await sync_config_meetings(storage, config, config.meetings)
    devices = Devices()
    now = [T0 + 5]
    readers = {"cms": (FakeSettings, devices.read_bridge), "cisco-xapi": (FakeSettings, devices.read_codec)}
    watch = MeetingWatch(
        config=lambda: config, storage=storage, ctx=ProbeContext(), clock=lambda: now[0], readers=readers
    )
    store = SqlAlertStore(storage)
    engine = AlertEngine(lambda: config, State(), store, clock=lambda: now[0], calls=watch.findings)
    warning, critical = "poor_media/lam-vy/giao-ban", "poor_media_critical/lam-vy/giao-ban"

    async def at(offset: float, loss: float) -> dict[str, Any]:
        devices.bridge = [
            leg("sip:tan-thinh@vc.example.org"),
            leg("sip:203.0.113.9", name="Phòng họp Lâm Vỹ", loss=loss),
        ]
        now[0] = T0 + offset
        await watch.tick()
        await engine.evaluate()
        return {a.id: a for a in await store.list_alerts(state="firing")}

    async def sent() -> list[tuple[str, str, str]]:
        async with storage.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.alert_id, outbox.c.event, outbox.c.channel_id))).all()
        return sorted((str(a), str(e), str(c)) for a, e, c in rows)

    await at(5, 0.07)
    firing = await at(45, 0.07)  # 7 % for 40 s (> the 30 s `for`): both bands fire, the warning folded
    assert set(firing) == {warning, critical}
    assert firing[critical].severity == "critical" and firing[critical].labels["severity"] == "critical"
    assert firing[critical].labels["alertname"] == firing[warning].labels["alertname"] == "GiaobanCallPoorMedia"
    assert firing[warning].severity == "warning" and firing[warning].suppressed_by == critical
    assert await sent() == [(critical, "firing", "pager")]
    async with storage.engine.connect() as conn:
        (payload,) = (await conn.execute(select(outbox.c.payload))).scalars().all()
    assert payload["subject"].startswith("[NGHIÊM TRỌNG] Mất gói nghiêm trọng tại Xã Lam Vỹ")
    assert "7%, trên mức nghiêm trọng 5% (ngưỡng 1%)" in payload["text"]

    # 3 %: under loss_critical, still over loss. The critical resolves; the warning, never told, is told now.
    firing = await at(55, 0.03)
    assert set(firing) == {warning} and firing[warning].suppressed_by is None
    assert await sent() == sorted(
        [(critical, "firing", "pager"), (critical, "resolved", "pager"), (warning, "firing", "chat")]
    )

    # 7 % again: a new critical alert (its own `for`), the open warning folded again and not told twice.
    await at(65, 0.07)
    firing = await at(100, 0.07)
    assert set(firing) == {warning, critical} and firing[warning].suppressed_by == critical
    assert [s for s in await sent() if s[2] == "chat"] == [(warning, "firing", "chat")]

    # Good again: both resolve.
    assert await at(110, 0.001) == {}
    assert (warning, "resolved", "chat") in await sent()
