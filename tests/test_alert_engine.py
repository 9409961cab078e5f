"""The alert engine over a real engine State: for durations, topology folding, maintenance, acks, readiness.

The store is an in-memory fake of alerts/store.py's contract (commit = upsert rows + insert outbox rows,
skipping an existing (key, channel)); the real store is tested with the database. Time is an injected clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.config import AlertsConfig
from alerts.engine import AlertEngine
from alerts.model import AlertRecord, MaintenanceWindow
from alerts.notifiers.base import Notification
from monitor.config.loader import load_config, load_config_text
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.engine.targets import Target, targets_from_config
from monitor.readiness.events import ReadinessEvent, ReasonText
from probes.core.result import ProbeResult, Reason
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading
from tests.clock import ManualClock

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_780_000_000.0  # 2026-05-28, a fixed instant

SMALL = """
district: {name: "Huyện Thử", locale: vi}
technicians:
  - {id: hoa, name: "Đào Thị Hoa", email: hoa@example.org}
  - {id: tuan, name: "Nguyễn Văn Tuấn", telegram_chat_id: "100000001"}
sites:
  - id: hub
    name: "UBND huyện"
    role: district
    technicians: [hoa]
    link: {address: 192.0.2.1}
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    parent: hub
    technicians: [tuan]
    link: {address: 198.51.100.21, device: tt-router, interface: Gi0/0/1}
    devices: [{id: tt-router, address: 198.51.100.21, snmp: {version: 2c, community: {env: C}}}]
    endpoints: [{id: tt-vcs, kind: tcp, address: 203.0.113.21, port: 1720}]
  - id: kim-phuong
    name: "Xã Kim Phượng"
    parent: hub
    link: {address: 198.51.100.22}
    thresholds: {loss: 5%}
alerts: {admins: [hoa], reminder_interval: 30m}
notifiers:
  - {id: hook, kind: webhook, url: "http://127.0.0.1:9/hook"}
  - {id: am, kind: alertmanager, url: "http://127.0.0.1:9/"}
"""


class FakeStore:
    """alerts/store.py's contract in memory: one commit is atomic; (key, channel) rows are unique."""

    def __init__(self) -> None:
        self.rows: dict[str, AlertRecord] = {}
        self.outbox: dict[tuple[str, str], Notification] = {}
        self.acks: dict[str, tuple[float, str]] = {}
        self.windows: list[MaintenanceWindow] = []
        self.fail_next_commit = False
        self.attempted: list[tuple[str, Notification]] = []

    async def load_open(self) -> list[AlertRecord]:
        return [r for r in self.rows.values() if r.state != "resolved"]

    async def commit(self, records: Sequence[AlertRecord], outbox: Sequence[tuple[str, Notification]]) -> None:
        self.attempted.extend(outbox)
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise RuntimeError("database is locked")
        for record in records:
            self.rows[record.id] = record
        for channel, notification in outbox:
            self.outbox.setdefault((notification.key, channel), notification)

    async def acknowledgements(self, ids: Sequence[str]) -> dict[str, tuple[float, str]]:
        return {i: self.acks[i] for i in ids if i in self.acks}

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        return list(self.windows)

    def sent(self, channel: str = "hook", event: str | None = None) -> list[Notification]:
        return [n for (_, ch), n in self.outbox.items() if ch == channel and (event is None or n.event == event)]


class World:
    """A config, a real State fed probe results, a fake store, a clock and the engine under test."""

    def __init__(self, config: Config, store: FakeStore | None = None, clock: ManualClock | None = None) -> None:
        self.config = config
        self.state = State()
        self.targets: dict[str, Target] = {}
        for target in targets_from_config(config):
            self.state.track(target)
            self.targets[target.key] = target
        self.store = store or FakeStore()
        self.clock = clock or ManualClock(T0)
        self.engine = AlertEngine(lambda: self.config, self.state, self.store, clock=self.clock.wall)

    def feed(self, key: str, result: ProbeResult) -> None:
        self.state.record(self.targets[key], result)

    def link(self, site: str, *, up: bool = True, loss: float = 0.0, rtt: float = 0.02) -> None:
        values = {"loss_ratio": 1.0 if not up else loss, "rtt_median": rtt, "jitter": 0.002, "mos": 4.3, "sent": 10.0}
        detail = "" if up else "10 of 10 echoes got no reply"
        reason = Reason.OK if up else Reason.NO_REPLY
        self.feed(f"{site}/link", ProbeResult(up, 2.0, reason, detail, values=values, timestamp=self.clock.wall()))

    def device(self, site: str, device: str, *, up: bool = True, **reading: object) -> None:
        if not up:
            result = ProbeResult.failure(Reason.TIMEOUT, "no SNMP answer", duration=3.0, timestamp=self.clock.wall())
        else:
            payload = DeviceReading("r", "router", float(reading.get("uptime", 86400.0)), False,
                                    tuple(reading.get("interfaces", ())), (), reading.get("ups"))  # type: ignore[arg-type]  # fmt: skip
            result = ProbeResult(True, 0.1, payload=payload, timestamp=self.clock.wall())
        self.feed(f"{site}/{device}", result)

    def endpoint(self, site: str, endpoint: str, *, up: bool = True, reason: Reason = Reason.REFUSED) -> None:
        result = (
            ProbeResult(True, 0.01, timestamp=self.clock.wall())
            if up
            else ProbeResult.failure(reason, "connection refused", duration=0.01, timestamp=self.clock.wall())
        )
        self.feed(f"{site}/{endpoint}", result)

    async def step(self, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)
        await self.engine.evaluate()


def small(**alerts: object) -> Config:
    config = load_config_text(SMALL, "small.yml")
    if alerts:
        config = config.model_copy(update={"alerts": config.alerts.model_copy(update=alerts)})
    return config


async def test_fires_exactly_when_for_has_elapsed() -> None:
    """A `for` of 1m means firing at 60 s, not one pass earlier: shorter blips must not page anyone."""
    world = World(small())
    world.link("hub", up=False)
    await world.step()
    assert world.engine.firing() == [] and world.store.rows["link_down/hub/link"].state == "pending"
    await world.step(59.0)
    assert world.store.sent() == []
    await world.step(1.0)
    [note] = world.store.sent()
    assert note.event == "firing" and note.alertname == "GiaobanLinkDown" and note.severity == "critical"
    assert note.key == f"link_down/hub/link/firing/{int(T0 + 60)}/0"
    assert "Mất kết nối UBND huyện" in note.subject and "192.0.2.1" in note.text
    assert world.engine.firing_counts() == {"critical": 1, "warning": 0, "info": 0}
    await world.step(5.0)
    assert len(world.store.sent()) == 1, "a firing alert is announced once"


def no_icmp(world: World) -> None:
    """Every link probed without ICMP permission, as probes/icmp/probe.py reports it (gid 998, sysctl closed)."""
    info = {"setup": "icmp_permission", "gid": "998", "ping_group_range": "1 0", "covered": "no"}
    for site in ("hub", "tan-thinh", "kim-phuong"):
        failed = ProbeResult.failure(
            Reason.PERMISSION, "no way to send ICMP echo", duration=0.0, info=info, timestamp=world.clock.wall()
        )
        world.feed(f"{site}/link", failed)


async def test_no_icmp_permission_is_one_alert_for_the_admins() -> None:
    """giaoban's own fault (no ICMP socket) never pages technicians about every link: the admins get one
    message saying what to change, for giaoban's group only (issue 14), and nothing is a link down."""
    world = World(small())
    no_icmp(world)
    world.device("tan-thinh", "tt-router")
    world.endpoint("tan-thinh", "tt-vcs")
    await world.step()
    await world.step(59.0)
    assert world.store.sent() == []
    await world.step(1.0)
    await world.step(600.0)
    assert set(world.store.rows) == {"probe_setup/-/icmp"}, "no per-site alert"
    [note] = world.store.sent()
    assert note.alertname == "GiaobanProbeSetup" and note.severity == "warning"
    assert "site" not in note.labels and note.labels["target"] == "icmp"
    assert [r.id for r in note.recipients] == ["hoa"], "the admins only: no site, so no technician"
    assert note.subject == "[CẢNH BÁO] giaoban không đo được 3 mục kiểm tra icmp: cần sửa cài đặt của giaoban"
    assert 'sysctl -w net.ipv4.ping_group_range="998 998"' in note.text and "(hiện là '1 0')" in note.text
    assert "AmbientCapabilities=CAP_NET_RAW" in note.text and "setcap" not in note.text
    assert "Điểm cầu:" not in note.text
    assert {n.alert_id for n in world.store.sent("am")} == {"probe_setup/-/icmp"}  # with its refreshes


async def test_probe_setup_survives_a_restart_and_resolves_once_measured() -> None:
    """After a restart the results are not in yet: the open alert is held, not resolved and fired again;
    once giaoban measures again (restarted with the permission) it resolves, once."""
    world = World(small())
    no_icmp(world)
    await world.step()
    await world.step(60.0)
    assert len(world.store.sent()) == 1
    restarted = World(small(), store=world.store, clock=world.clock)
    await restarted.step(5.0)
    assert restarted.store.rows["probe_setup/-/icmp"].state == "firing" and len(world.store.sent()) == 1
    for site in ("hub", "tan-thinh", "kim-phuong"):
        restarted.link(site)
    await restarted.step(5.0)
    [resolved] = world.store.sent(event="resolved")
    assert resolved.subject == "[ĐÃ KHẮC PHỤC] giaoban đã đo được lại các mục kiểm tra icmp"
    assert restarted.store.rows["probe_setup/-/icmp"].state == "resolved"


async def test_resolves_when_the_condition_clears() -> None:
    """The technician who was told of a fault hears it is fixed, with the outage's length and an end time."""
    world = World(small())
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    world.link("hub", up=True)
    await world.step(40.0)
    [resolved] = world.store.sent(event="resolved")
    assert resolved.key == f"link_down/hub/link/resolved/{int(T0 + 60)}/0"
    assert resolved.ends_at == datetime.fromtimestamp(T0 + 100, UTC)
    assert "Đã có lại kết nối UBND huyện" in resolved.subject and "1 phút 40 giây" not in resolved.text
    assert world.engine.firing() == [] and world.store.rows["link_down/hub/link"].state == "resolved"


async def test_flapping_shorter_than_for_never_notifies() -> None:
    """A link that drops for 30 s every minute is a pending alert that restarts, never a page storm."""
    world = World(small())
    for _ in range(10):
        world.link("hub", up=False)
        await world.step(30.0)
        world.link("hub", up=True)
        await world.step(30.0)
    assert world.store.outbox == {}
    assert all(r.state == "resolved" for r in world.store.rows.values()), "no pending row is left behind"


async def test_loss_threshold_follows_the_site_override() -> None:
    """Kim Phượng allows 5% loss in its own thresholds; the same 2% loss pages only where the limit is 1%."""
    world = World(small(topology_grace=0.0))
    for site in ("hub", "tan-thinh", "kim-phuong"):
        world.link(site, loss=0.02)
    await world.step()
    await world.step(300.0)
    assert [n.alert_id for n in world.store.sent()] == ["link_loss/hub/link", "link_loss/tan-thinh/link"]
    note = world.store.sent()[1]
    assert note.severity == "warning" and "Mất gói 2% (ngưỡng 1%)" in note.text


async def test_rule_overrides_change_for_severity_and_enable() -> None:
    """alerts.rules.<name> tunes a rule per district: a longer for, another severity, or off."""
    config = small()
    rules = {
        "link_down": {"for": "2m", "severity": "warning"},
        "link_loss": {"enabled": False},
    }
    config = config.model_copy(update={"alerts": AlertsConfig.model_validate({"admins": ["hoa"], "rules": rules})})
    world = World(config)
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    assert world.store.sent() == []
    await world.step(60.0)
    [note] = world.store.sent()
    assert note.severity == "warning" and note.labels["severity"] == "warning"
    world.link("hub", loss=0.5)
    await world.step(600.0)
    assert world.store.sent(event="firing") == [note], "a disabled rule never fires"


async def test_hub_down_is_one_message_listing_every_commune_then_communes_alert_on_their_own() -> None:
    """Định Hoá's hub uplink down with 23 communes behind it: one message per channel naming all 23, not 24
    (Uptime Kuma #1089); after the hub recovers, the communes still down are reported one by one."""
    config = load_config(ROOT / "examples" / "dinh-hoa.yml")
    config = config.model_copy(
        update={
            "alerts": AlertsConfig(admins=["hoa"]),
            "notifiers": small().notifiers,
        }
    )
    world = World(config)
    communes = [s for s in config.sites if s.parent == "hub"]
    assert len(communes) == 23

    def everything_down() -> None:
        for site in communes:  # the communes' probes notice a few seconds before the hub's
            world.link(site.id, up=False)
            world.device(site.id, f"{site.id}-router", up=False)
            world.endpoint(site.id, f"{site.id}-vcs", up=False)

    everything_down()
    await world.step()
    await world.step(5.0)
    world.link("hub", up=False)
    world.device("hub", "hub-core", up=False)
    world.endpoint("hub", "hub-mcu", up=False)
    world.endpoint("hub", "hub-mcu-web", up=False)
    for _ in range(80):  # 400 s: past every rule's for (endpoint_down: 5 m) and the grace
        everything_down()
        await world.step(5.0)
    [note] = world.store.sent("hook")
    assert note.alert_id == "link_down/hub/link"
    assert "23 điểm cầu bị ảnh hưởng" in note.subject
    for site in communes:
        assert site.name in note.text
    # Alertmanager gets the same one alert, pushed again while it fires (its resolve_timeout), nothing else.
    assert {n.alert_id for n in world.store.sent("am")} == {"link_down/hub/link"}
    assert world.store.sent("am")[0].key == note.key
    folded = [r for r in world.engine.firing() if r.id != "link_down/hub/link"]
    assert len(folded) > 23 * 3 - 1
    assert {r.suppressed_by for r in folded} == {"link_down/hub/link"}
    # The hub comes back; until a fresh probe confirms them, stale commune results must not page anyone.
    world.link("hub", up=True)
    world.device("hub", "hub-core", up=True)
    world.endpoint("hub", "hub-mcu", up=True)
    world.endpoint("hub", "hub-mcu-web", up=True)
    await world.step(5.0)
    assert [n.alert_id for n in world.store.sent(event="resolved")] == ["link_down/hub/link"]
    assert len(world.store.sent(event="firing")) == 1
    still_down = communes[:3]
    for site in communes[3:]:
        world.link(site.id, up=True)
        world.device(site.id, f"{site.id}-router", up=True)
        world.endpoint(site.id, f"{site.id}-vcs", up=True)
    for site in still_down:
        world.link(site.id, up=False)
        world.device(site.id, f"{site.id}-router", up=False)
        world.endpoint(site.id, f"{site.id}-vcs", up=False)
    await world.step(5.0)
    firing = sorted(n.alert_id for n in world.store.sent("hook", event="firing")[1:])
    assert firing == sorted(f"link_down/{s.id}/link" for s in still_down), "one message per commune still down"
    assert world.store.sent(event="resolved")[0].alert_id == "link_down/hub/link"
    assert len(world.store.sent(event="resolved")) == 1, "folded alerts never announced are not resolved aloud"


async def test_child_down_just_before_its_parent_is_folded() -> None:
    """The commune's probe sees the outage 50 s before the hub's: the grace holds it, the hub's message carries it."""
    world = World(small(reminder_interval=0.0))
    world.link("tan-thinh", up=False)
    await world.step()
    world.link("tan-thinh", up=False)
    await world.step(50.0)
    world.link("hub", up=False)
    for _ in range(30):
        world.link("tan-thinh", up=False)
        await world.step(5.0)
    assert [n.alert_id for n in world.store.sent()] == ["link_down/hub/link"]


async def test_child_alert_without_a_parent_outage_fires_after_for_and_grace() -> None:
    """The grace only delays: a commune down on its own pages after for + topology_grace."""
    world = World(small())
    world.link("hub")
    world.link("tan-thinh", up=False)
    await world.step()
    await world.step(119.0)
    assert world.store.sent() == []
    await world.step(1.0)
    [note] = world.store.sent()
    assert note.alert_id == "link_down/tan-thinh/link" and note.labels["parent"] == "hub"
    assert [r.name for r in note.recipients] == ["Nguyễn Văn Tuấn", "Đào Thị Hoa"], "technicians, then admins"


async def test_one_off_maintenance_silences_then_still_bad_alerts_notify() -> None:
    """Planned VNPT work must not page anyone; if the link is still down when the window ends, it does."""
    config = small()
    config = config.model_copy(
        update={
            "maintenance": [
                *config.maintenance,
                *load_config_text(
                    SMALL + 'maintenance: [{id: vnpt, title: "Bảo trì VNPT", start: "2026-05-29T04:00", '
                    "duration: 30m, sites: [hub]}]\n",
                    "m.yml",
                ).maintenance,
            ]
        }
    )
    start = datetime(2026, 5, 28, 21, 0, tzinfo=UTC).timestamp()  # 04:00 in Asia/Ho_Chi_Minh
    world = World(config, clock=ManualClock(start))
    world.link("hub", up=False)
    await world.step()
    await world.step(120.0)
    [record] = world.engine.firing()
    assert record.suppressed_by == "maintenance:vnpt" and world.store.sent() == []
    world.link("hub", up=False)
    await world.step(30 * 60 - 120.0)
    [note] = world.store.sent()
    assert note.alert_id == "link_down/hub/link" and world.engine.firing()[0].suppressed_by is None


async def test_weekly_window_from_the_store_spans_midnight_utc() -> None:
    """A CLI/API window every Monday 06:00-08:00 Hà Nội time is Sunday 23:00 UTC to Monday 01:00 UTC."""
    store = FakeStore()
    monday_local_6 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC).timestamp() - 7 * 3600  # Monday 1 June 2026
    store.windows = [
        MaintenanceWindow("weekly", "Bảo trì hằng tuần", monday_local_6, 7200.0, rrule="FREQ=WEEKLY;BYDAY=MO",
                          sites=("hub",), rules=("link_down",)),
    ]  # fmt: skip
    sunday_2330_utc = datetime(2026, 6, 14, 23, 30, tzinfo=UTC).timestamp()  # Monday 06:30 local, two weeks on
    world = World(small(), store=store, clock=ManualClock(sunday_2330_utc))
    world.link("hub", up=False)
    await world.step()
    await world.step(120.0)
    assert world.engine.firing()[0].suppressed_by == "maintenance:weekly" and store.sent() == []
    world.link("hub", up=False)
    await world.step(3600.0)  # 00:32 UTC Monday = 07:32 local: still inside
    assert store.sent() == []
    world.link("hub", up=False)
    await world.step(3600.0)  # 01:32 UTC Monday = 08:32 local: the window is over
    assert [n.alert_id for n in store.sent()] == ["link_down/hub/link"]


async def test_acknowledgement_stops_reminders_and_the_resolve_still_goes() -> None:
    """Once someone has it in hand, reminders stop; the all-clear still reaches everyone."""
    world = World(small())
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    await world.step(30 * 60.0)
    [reminder] = world.store.sent(event="reminder")
    assert reminder.key == f"link_down/hub/link/reminder/{int(T0 + 60)}/1" and "[NHẮC LẠI]" in reminder.subject
    assert "Vẫn chưa khắc phục sau 31 phút" in reminder.text
    world.store.acks["link_down/hub/link"] = (world.clock.wall() + 60, "tuan")
    await world.step(120.0)
    assert world.engine.firing()[0].acked_by == "tuan"
    for _ in range(4):
        await world.step(30 * 60.0)
    assert len(world.store.sent(event="reminder")) == 1
    world.link("hub", up=True)
    await world.step(5.0)
    assert len(world.store.sent(event="resolved")) == 1
    assert world.store.sent("am", event="reminder") == [], "Alertmanager has its own repeat_interval"


async def test_an_old_acknowledgement_does_not_silence_a_new_outage() -> None:
    """The ack of yesterday's outage (same alert id) must not swallow today's reminders."""
    world = World(small())
    world.store.acks["link_down/hub/link"] = (T0 - 86400, "tuan")
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    await world.step(30 * 60.0)
    assert world.engine.firing()[0].acked_at is None and len(world.store.sent(event="reminder")) == 1


async def test_firing_alerts_are_pushed_again_to_alertmanager_only() -> None:
    """Alertmanager forgets an alert not re-sent within resolve_timeout; people must not get a copy a minute."""
    world = World(small(reminder_interval=0.0))
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    for _ in range(5):
        await world.step(30.0)
    refreshes = world.store.sent("am")[1:]
    assert [n.key for n in refreshes] == [f"link_down/hub/link/firing/{int(T0 + 60)}/{n}" for n in (1, 2)]
    assert all(n.event == "firing" for n in refreshes) and len(world.store.sent("hook")) == 1


async def test_restart_does_not_announce_a_firing_alert_again() -> None:
    """The service restarts during an outage: the new engine reads the store and stays quiet."""
    world = World(small())
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    assert len(world.store.outbox) == 2
    again = World(small(), store=world.store, clock=ManualClock(world.clock.wall() + 30))
    await again.step()  # no probe result yet after the restart: the alert keeps its state
    assert again.engine.firing()[0].id == "link_down/hub/link"
    again.link("hub", up=False)
    await again.step(5.0)
    assert len(world.store.sent("hook")) == 1
    again.link("hub", up=True)
    await again.step(5.0)
    assert len(world.store.sent("hook", event="resolved")) == 1


async def test_a_pass_replayed_after_a_failed_commit_enqueues_the_same_keys() -> None:
    """A crash between deciding and committing must not change the keys, or receivers would get duplicates."""
    world = World(small())
    world.link("hub", up=False)
    await world.step()
    world.store.fail_next_commit = True
    with pytest.raises(RuntimeError):
        await world.step(60.0)
    first = [n.key for _, n in world.store.attempted]
    assert first and world.store.outbox == {}
    again = World(small(), store=world.store, clock=ManualClock(world.clock.wall() + 7))
    again.link("hub", up=False)
    await again.step()
    assert sorted(key for key, _ in world.store.outbox) == sorted(first)


async def test_a_target_removed_from_the_inventory_resolves_its_alerts() -> None:
    """A codec taken out of the inventory must not stay 'down' for ever."""
    world = World(small(topology_grace=0.0))
    world.endpoint("tan-thinh", "tt-vcs", up=False)
    await world.step()
    await world.step(300.0)
    assert [n.alert_id for n in world.store.sent()] == ["endpoint_down/tan-thinh/tt-vcs"]
    world.state.forget("tan-thinh/tt-vcs")
    await world.step(5.0)
    assert [n.alert_id for n in world.store.sent(event="resolved")] == ["endpoint_down/tan-thinh/tt-vcs"]


async def test_device_rules_read_the_snmp_reading() -> None:
    """Reboot, interface down or saturated and UPS on battery come from one SNMP poll's DeviceReading."""
    world = World(small(topology_grace=0.0, reminder_interval=0.0))
    iface = InterfaceReading("Gi0/0/1", 1, "Gi0/0/1", "", False, True, 1, 1, 0, 0, 0, 0, 1e8, 1e8, None, None,
                             None, None, 64, False)  # fmt: skip
    busy = InterfaceReading("Gi0/0/2", 2, "Gi0/0/2", "", True, True, 1, 1, 0, 0, 0, 0, 1e8, 1e8, 9.5e7, 1e6,
                            0.95, 0.01, 64, False)  # fmt: skip
    ups = UpsReading(True, "battery", 1200.0, 300.0, 0.8, "normal")
    world.link("tan-thinh")
    world.device("tan-thinh", "tt-router", uptime=120.0, interfaces=(iface, busy), ups=ups)
    await world.step()
    await world.step(300.0)
    ids = sorted(n.alert_id for n in world.store.sent())
    assert ids == [
        "device_rebooted/tan-thinh/tt-router",
        "interface_down/tan-thinh/tt-router:Gi0/0/1",
        "interface_saturated/tan-thinh/tt-router:Gi0/0/2",
        "ups_on_battery/tan-thinh/tt-router",
    ]
    saturated = next(n for n in world.store.sent() if n.alert_id.startswith("interface_saturated"))
    assert "dùng 95% băng thông (ngưỡng 80%)" in saturated.text
    on_battery = next(n for n in world.store.sent() if n.alert_id.startswith("ups_on_battery"))
    assert "20 phút" in on_battery.text


async def test_endpoint_reasons_pick_their_rule() -> None:
    """A codec not registered is a different fix from a codec that is off; a call in progress is no fault."""
    world = World(small(topology_grace=0.0))
    world.endpoint("tan-thinh", "tt-vcs", up=False, reason=Reason.NOT_REGISTERED)
    await world.step()
    await world.step(300.0)
    assert [n.alert_id for n in world.store.sent()] == ["endpoint_unregistered/tan-thinh/tt-vcs"]
    world.endpoint("tan-thinh", "tt-vcs", up=False, reason=Reason.ENDPOINT_BUSY)
    await world.step(5.0)
    assert [n.alert_id for n in world.store.sent(event="resolved")] == ["endpoint_unregistered/tan-thinh/tt-vcs"]
    assert world.engine.firing() == []


def _event(kind: str, *, lead: float = 1800.0, **kw: object) -> ReadinessEvent:
    start = datetime.fromtimestamp(T0 + 3600, UTC)
    return ReadinessEvent(kind, "giao-ban", "Giao ban thứ Hai", start, lead, **kw)  # type: ignore[arg-type]


async def test_readiness_events_reach_technicians_and_admins_with_reasons() -> None:
    """A commune not ready 30 minutes before the briefing: its technician and the admin get what to fix."""
    world = World(small())
    loss = ReasonText("link_loss_high", "Mất gói 5,2% (giới hạn 3%).", "Kiểm tra cáp và cổng mạng.")
    not_ready = dict(site_id="tan-thinh", site_name="Xã Tân Thịnh", verdict="NOT_READY", reasons=(loss,))
    await world.engine.on_readiness(_event("site_not_ready", **not_ready))
    [note] = world.store.sent()
    assert note.alertname == "GiaobanSiteNotReady" and note.severity == "critical"
    assert note.labels["meeting"] == "giao-ban" and note.labels["site"] == "tan-thinh"
    assert [r.id for r in note.recipients] == ["tuan", "hoa"]
    # Each problem, then what to do about it; the meeting's start and the moment it was seen are told apart.
    assert "- Mất gói 5,2% (giới hạn 3%).\n  Việc cần làm: Kiểm tra cáp và cổng mạng.\n" in note.text
    assert "còn 30 phút" in note.text and "(họp lúc " in note.subject and "\nPhát hiện lúc: " in note.text
    await world.engine.on_readiness(_event("site_not_ready", **not_ready))
    assert len(world.store.sent()) == 1, "the same findings at the same lead time are not news"
    world.clock.advance(1200)
    await world.engine.on_readiness(_event("site_not_ready", lead=600.0, **not_ready))
    [reminder] = world.store.sent(event="reminder")
    assert "còn 10 phút" in reminder.text and reminder.key.endswith("/reminder/" + str(int(T0)) + "/600")
    await world.engine.on_readiness(_event("site_recovered", lead=600.0, site_id="tan-thinh", verdict="READY"))
    [clear] = world.store.sent(event="resolved")
    assert "Xã Tân Thịnh đã sẵn sàng cho cuộc họp Giao ban thứ Hai" in clear.subject
    await world.engine.on_readiness(_event("summary", lead=0.0, ready=1, total=3, not_ready=("kim-phuong", "hub")))
    summary = world.store.sent(event="firing")[-1]
    assert summary.severity == "info" and [r.id for r in summary.recipients] == ["hoa"]
    assert "1/3 điểm cầu sẵn sàng" in summary.subject and "Xã Kim Phượng, UBND huyện" in summary.text
    assert world.store.sent("am", event="firing")[-1].alertname == "GiaobanSiteNotReady", "no summary to Alertmanager"


async def test_degraded_site_is_a_warning_in_english() -> None:
    """locale: en renders in English, and a DEGRADED site is a warning, not a page."""
    config = small()
    english = config.organisation.model_copy(update={"locale": "en"})
    config = config.model_copy(update={"organisation": english, "district": english})
    world = World(config)
    jitter = ReasonText("link_jitter_elevated", "Jitter 35 ms (above 30 ms).", "Watch the link.", "soft")
    await world.engine.on_readiness(
        _event("site_not_ready", lead=600.0, site_id="kim-phuong", verdict="DEGRADED", reasons=(jitter,))
    )
    [note] = world.store.sent()
    assert note.severity == "warning" and "10 minutes left" in note.text
    assert note.subject.startswith("[WARNING] Xã Kim Phượng is degraded for the meeting Giao ban thứ Hai")
    assert [r.id for r in note.recipients] == ["hoa"], "no technician of its own: the parent's, then the admins"


async def test_without_notifiers_everything_goes_to_the_log_channel() -> None:
    """A fresh install with no notifier configured still says something (a WARNING log line), never nothing."""
    config = small().model_copy(update={"notifiers": []})
    world = World(config)
    world.link("hub", up=False)
    await world.step()
    await world.step(60.0)
    assert [n.alert_id for n in world.store.sent("log")] == ["link_down/hub/link"]
