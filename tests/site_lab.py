"""A service-shaped object over a real database holding a simulated month of one commune's link, for the site page.

    lab = await site_lab(database_url)      # config, storage, state; history rows written and rolled up
    app = make_app(lab, clock=lambda: NOW.timestamp())

The month: a round every 30 minutes for 30 days before NOW and one every 5 minutes in the last day, each with
a median RTT that varies with its time (so quantiles differ from means) and a few lost rounds; then the
retention roll-up and pruning of the service (raw rows kept 2 days), so the 24 h chart reads raw rows, the
7 d and 30 d ones both raw and hourly rows. ``lab.rows`` is every row inserted, for the expected values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.storage.database import SiteVerdict, Storage
from monitor.storage.retention import prune, rollup
from monitor.storage.tables import alerts, history_raw
from probes.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading

NOW = datetime(2026, 12, 7, 0, 7, 30, tzinfo=UTC)  # 07:07:30 in Hà Nội
SITE = "tan-thinh"
CONFIG_TEXT = """\
district: {name: "Tỉnh Thử", timezone: Asia/Ho_Chi_Minh, locale: vi}
sites:
  - {id: hub, name: "UBND tỉnh", role: province, link: {address: 192.0.2.1}}
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    parent: hub
    link: {address: 192.0.2.2, device: r1, interface: Gi0/0}
    devices:
      - {id: r1, address: 192.0.2.3, snmp: {community: {env: GIAOBAN_LAB_COMMUNITY}}}
      - {id: ups1, address: 192.0.2.4, snmp: {community: {env: GIAOBAN_LAB_COMMUNITY}, ups: true}}
    endpoints: [{id: codec, kind: tcp, address: 192.0.2.20, port: 5060}]
"""


@dataclass
class SiteLab:
    config: Config
    storage: Storage
    state: State
    rows: list[dict[str, Any]] = field(default_factory=list)
    ready: bool = True

    @property
    def ctx(self) -> ProbeContext:
        raise AssertionError("the site page needs no probe context")

    @property
    def exposition(self) -> Any:
        raise AssertionError("the site page needs no exposition")

    def problems(self) -> list[str]:
        return []

    async def reload(self) -> list[str]:
        return []


def rtt_at(ts_ms: int) -> float:
    """A median RTT that moves with time: 20 ms plus up to 31 ms, different from round to round."""
    return 0.020 + ((ts_ms // 300_000) * 7919 % 32) / 1000


def lost(ts_ms: int) -> bool:
    return (ts_ms // 300_000) % 37 == 0


def month_rows(target_id: int) -> list[dict[str, Any]]:
    end = int(NOW.timestamp() * 1000)
    times = list(range(end - 30 * 86_400_000, end - 86_400_000, 1_800_000))
    times += list(range(end - 86_400_000, end, 300_000))
    rows = []
    for ts in times:
        down = lost(ts)
        rtt = None if down else rtt_at(ts)
        rows.append(
            {
                "target_id": target_id,
                "ts": ts,
                "success": not down,
                "duration": 0.1,
                "reason": "TIMEOUT" if down else "OK",
                "detail": None,
                "rtt_min": None if rtt is None else rtt - 0.004,
                "rtt_avg": None if rtt is None else rtt + 0.001,
                "rtt_median": rtt,
                "rtt_max": None if rtt is None else rtt + 0.015,
                "jitter": None if rtt is None else 0.002,
                "loss_ratio": 1.0 if down else (0.02 if ts // 300_000 % 11 == 0 else 0.0),
                "mos": 1.0 if down else 4.2,
                "status_code": None,
            }
        )
    return rows


async def site_lab(database_url: str) -> SiteLab:
    config = load_config_text(CONFIG_TEXT, "site-lab.yml")
    storage = await Storage.open(database_url)
    await storage.sync_inventory(config)
    state = State()
    targets = targets_from_config(config)
    for target in targets:
        state.track(target)
    link = next(t for t in targets if t.key == f"{SITE}/link")
    ids = await storage.target_ids([link])
    rows = month_rows(ids[link.key])
    async with storage.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(history_raw.insert(), rows[start : start + 5000])
    await rollup(storage, now=NOW.timestamp())
    await prune(storage, raw_retention=2 * 86400, now=NOW.timestamp())
    for days, verdict in ((3, "READY"), (2, "NOT_READY"), (1, "DEGRADED")):
        start = NOW - timedelta(days=days)
        reasons = () if verdict == "READY" else ({"code": "link_down", "message": "Mất kết nối", "action": "Gọi"},)
        await storage.insert_report(
            "giao-ban", start, 600, [SiteVerdict(SITE, verdict, reasons)], created_at=start - timedelta(minutes=10)
        )
    async with storage.begin() as conn:
        await conn.execute(
            alerts.insert().values(
                id=f"ups_on_battery/{SITE}/ups1", rule="ups_on_battery", site_id=SITE, target="ups1",
                severity="warning", state="firing", labels={}, summary="Bộ lưu điện ups1 đang chạy pin",
                started_at=NOW.timestamp() - 600, fired_at=NOW.timestamp() - 540,
            )
        )  # fmt: skip
    record_live(state, targets)
    return SiteLab(config, storage, state, rows)


def _interface(utilisation_in: float, utilisation_out: float) -> InterfaceReading:
    speed = 20e6
    return InterfaceReading(
        "Gi0/0", 1, "GigabitEthernet0/0", "WAN", True, True, 10**9, 10**8, 0, 0, 0, 0, speed, 1e9,
        utilisation_in * speed, utilisation_out * speed, utilisation_in, utilisation_out, 64, False,
    )  # fmt: skip


def record_live(state: State, targets: list[Any]) -> None:
    """The scheduler's latest round of each target: link up, router at 62 %/18 %, UPS on battery, codec refusing."""
    by_key = {t.key: t for t in targets}
    now = NOW.timestamp()
    link = {"rtt_min": 0.018, "rtt_avg": 0.024, "rtt_median": 0.023, "rtt_max": 0.041, "jitter": 0.003}
    link |= {"loss_ratio": 0.0, "mos": 4.3, "sent": 20.0}
    router = DeviceReading("r1", "RouterOS", 86_400 * 3 + 3600, False, (_interface(0.62, 0.18),), (), None)
    ups = UpsReading(True, "battery", 1500.0, 600.0, 0.8, "normal")
    results = {
        f"{SITE}/link": ProbeResult(True, 0.2, Reason.OK, values=link, timestamp=now),
        f"{SITE}/r1": ProbeResult(True, 0.05, Reason.OK, payload=router, timestamp=now),
        f"{SITE}/ups1": ProbeResult(
            True, 0.05, Reason.OK, payload=DeviceReading("ups1", "UPS", 9e5, False, (), (), ups), timestamp=now
        ),
        f"{SITE}/codec": ProbeResult.failure(Reason.REFUSED, "connection refused", duration=0.01),
    }
    for key, result in results.items():
        state.record(by_key[key], result)
