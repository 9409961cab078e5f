"""The period report over a simulated month: the figures equal a case computed by hand (SQLite and PostgreSQL).

November 2026 in Hà Nội (UTC+7): 720 hours, a link probe every 15 minutes (4 an hour) for three sites, written as
raw rows, rolled up into hours and the raw rows pruned, as the service's retention does after a month. Rows just
outside the month are failures: counting them would move every figure. The arithmetic of each expected number is
in the comment beside it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alerts.model import MaintenanceWindow
from alerts.store import SqlAlertStore
from monitor.cli.main import main
from monitor.config.loader import load_config
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.readiness.meetings import build_meeting, save_meeting
from monitor.storage.database import SiteVerdict, Storage
from monitor.storage.retention import prune, rollup
from monitor.storage.tables import alert_episodes, alerts, history_raw
from monitor.web.api_report import REPORT_GATE
from monitor.web.api_v1 import make_api_v1
from monitor.web.report import Period, PeriodError, gather_report, parse_period
from monitor.web.report_render import to_csv, to_html
from tests.peers import require_program
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SINCE = datetime(2026, 11, 1, tzinfo=HANOI)
UNTIL = datetime(2026, 12, 1, tzinfo=HANOI)
CONFIG = """\
organisation: {name: "Tỉnh Thử", timezone: Asia/Ho_Chi_Minh, locale: vi}
sites:
  - {id: hub, name: "Trung tâm tỉnh", role: province, link: {address: 192.0.2.1}}
  - {id: xa-a, name: "Xã An", parent: hub, link: {address: 192.0.2.2}}
  - {id: xa-b, name: "Xã Bình", parent: hub, link: {address: 192.0.2.3}}
maintenance:
  # Xã An, 22:00 on 15 November for 3 h: three whole hours of its link out of the count.
  - {id: bt-a, title: "Thay bộ định tuyến", start: "2026-11-15T22:00", duration: 3h, sites: [xa-a]}
  # The hub, every Sunday 23:00 for 1 h: the five Sundays of November (1, 8, 15, 22, 29).
  - {id: bt-hub, title: "Bảo trì tuần", start: "2026-10-04T23:00", duration: 1h, rrule: "FREQ=WEEKLY;BYDAY=SU",
     sites: [hub]}
  # Xã Bình at the same time as bt-a, but only its jitter alerts: not maintenance of its link.
  - {id: jitter-b, title: "Đo thử", start: "2026-11-15T22:00", duration: 3h, sites: [xa-b], rules: [link_jitter]}
"""


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=HANOI).timestamp()


def failing(site: str, ts: float) -> bool:
    if site == "xa-a":
        outage = local(10, 2) <= ts < local(10, 6)  # 4 hours: 16 probes lost
        in_bt_a = local(15, 22) <= ts < local(16, 1)  # 12 probes lost under maintenance
        in_bt_a2 = local(20, 1, 30) <= ts < local(20, 2, 30)  # 4 probes lost under the stored half-hour windows
        return outage or in_bt_a or in_bt_a2
    if site == "xa-b":
        return local(15, 22) <= ts < local(16, 1)  # 12 probes lost, no maintenance of its link
    return False


def slow(ts: float) -> bool:
    return local(5, 0) <= ts < local(6, 16)  # 40 hours at 50 ms instead of 20 ms


async def simulate_month(database_url: str, config_file: Path) -> Storage:
    config = load_config(config_file)
    storage = await Storage.open(database_url)
    await storage.sync_inventory(config)
    links = [t for t in targets_from_config(config) if t.role == "link"]
    ids = await storage.target_ids(links)
    rows = []
    first, last = int(SINCE.timestamp()) - 3600, int(UNTIL.timestamp()) + 3600  # an hour each side, all lost
    for target in links:
        site = target.site
        for ts in range(first, last, 900):
            outside = not SINCE.timestamp() <= ts < UNTIL.timestamp()
            down = outside or failing(site, ts)
            rtt = None if down else (0.050 if slow(ts) else 0.020)
            rows.append(
                {
                    "target_id": ids[target.key],
                    "ts": ts * 1000,
                    "success": not down,
                    "duration": 0.1,
                    "reason": "TIMEOUT" if down else "OK",
                    "rtt_min": rtt,
                    "rtt_avg": rtt,
                    "rtt_median": rtt,
                    "rtt_max": rtt,
                    "loss_ratio": 1.0 if down else 0.0,
                    "mos": 1.0 if down else 4.3,
                }
            )
    async with storage.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(history_raw.insert(), rows[start : start + 5000])
    now = UNTIL.timestamp() + 3 * 86400
    await rollup(storage, now=now)
    await prune(storage, raw_retention=2 * 86400, now=now)  # a month later only hourly rows are left

    store = SqlAlertStore(storage)
    # A window stored through the API: Xã An, 20 November 01:30 for 1 h — half of hour 01 and half of hour 02.
    await store.add_maintenance(
        MaintenanceWindow("bt-a2", "Kiểm tra", local(20, 1, 30), 3600.0, "Asia/Ho_Chi_Minh", sites=("xa-a",))
    )
    episodes = [
        ("link_down/xa-a/link", "xa-a", local(10, 2, 5), 300.0, None),  # acknowledged after 5 min
        ("link_down/xa-a/link", "xa-a", local(20, 2, 0), 900.0, None),  # after 15 min
        ("link_down/xa-a/link", "xa-a", local(15, 22, 5), None, "maintenance:bt-a"),  # silenced: not counted
        ("link_down/xa-a/link", "xa-a", local(30, 10, month=10), 60.0, None),  # October: not counted
    ]
    async with storage.begin() as conn:
        for alert_id, site, fired, wait, suppressed in episodes:
            await conn.execute(
                alert_episodes.insert().values(
                    alert_id=alert_id, started_at=fired - 60, rule="link_down", site_id=site, target="link",
                    severity="critical", labels={}, summary="Mất kết nối", fired_at=fired, resolved_at=fired + 3600,
                    acked_at=fired + wait if wait is not None else None, acked_by="Lan" if wait else None,
                    suppressed_by=suppressed,
                )
            )  # fmt: skip
        await conn.execute(
            alerts.insert().values(
                id="link_down/xa-b/link", rule="link_down", site_id="xa-b", target="link", severity="critical",
                state="firing", labels={}, summary="Mất kết nối", started_at=local(15, 22, 4),
                fired_at=local(15, 22, 5),
            )
        )  # fmt: skip

    meeting = build_meeting(config, title="Giao ban trực tuyến", start=datetime(2026, 11, 2, 7, 30), duration="2h")
    await save_meeting(storage, meeting)
    lost = ({"code": "link_down", "severity": "hard", "message": "Đường truyền mất kết nối", "action": "Gọi nhà mạng"},)
    for day, verdicts in (
        (2, {"hub": "READY", "xa-a": "READY", "xa-b": "READY"}),
        (16, {"hub": "READY", "xa-a": "NOT_READY", "xa-b": "DEGRADED"}),
        (1, {"hub": "NOT_READY", "xa-a": "NOT_READY", "xa-b": "NOT_READY"}),  # 1 December: outside
    ):
        start = datetime(2026, 12 if day == 1 else 11, day, 7, 30, tzinfo=HANOI)
        if day == 16:  # an earlier check of the same briefing: the latest report's verdict is the one counted
            await storage.insert_report(
                meeting.id, start, 3600, [SiteVerdict("xa-a", "READY")], created_at=start - timedelta(hours=1)
            )
        results = [SiteVerdict(site, v, lost if v == "NOT_READY" else ()) for site, v in verdicts.items()]
        await storage.insert_report(meeting.id, start, 600, results, created_at=start - timedelta(minutes=10))
    return storage


@pytest.fixture
def month(database_url: str, tmp_path: Path) -> tuple[Path, str]:
    config_file = tmp_path / "giaoban.yml"
    config_file.write_text(CONFIG, encoding="utf-8")

    async def build() -> None:
        storage = await simulate_month(database_url, config_file)
        await storage.close()

    asyncio.run(build())
    return config_file, database_url


def _report(config_file: Path, database_url: str) -> Any:
    async def made() -> Any:
        config = load_config(config_file)
        storage = await Storage.open(database_url)
        try:
            return await gather_report(config, storage, parse_period("2026-11-01", "2026-11-30", config))
        finally:
            await storage.close()

    return asyncio.run(made())


def test_month_figures_equal_the_hand_computed_case(month: tuple[Path, str]) -> None:
    report = _report(*month)
    assert report.period == Period(SINCE.astimezone(UTC), UNTIL.astimezone(UTC), "Asia/Ho_Chi_Minh")
    sites = {s.site_id: s for s in report.sites}
    a, b, hub = sites["xa-a"].figures, sites["xa-b"].figures, sites["hub"].figures

    # Xã An: 720 h × 4 = 2880 probes. bt-a takes 3 whole hours (12 probes, all lost) out; bt-a2 covers half of
    # hour 01 and half of hour 02 on the 20th, so each counts ½: 8 probes × ½ = 4 out → 2880 − 12 − 4 = 2864.
    # Lost and counted: the outage's 16, and in each half hour 2 lost × ½ = 1 → 18. 2864 − 18 = 2846.
    assert a.weighted_samples == pytest.approx(2864)
    assert a.weighted_successes == pytest.approx(2846)
    assert a.availability == pytest.approx(2846 / 2864)  # 99.3715 %
    assert a.maintenance_hours == pytest.approx(3 + 1)  # bt-a 3 h + bt-a2 1 h
    # Xã Bình: its 12 lost probes count (jitter-b silences only link_jitter): (2880 − 12) / 2880.
    assert b.availability == pytest.approx(2868 / 2880) and b.maintenance_hours == 0  # 99.5833 %
    # The hub: never lost; five Sunday hours out (5 × 4 = 20 probes): 2860 / 2860.
    assert hub.weighted_samples == pytest.approx(2860) and hub.availability == 1.0 and hub.maintenance_hours == 5

    # Loss: Xã An's weighted mean is 18 / 2864; its hourly means are 711 zeros, two ½ and four 1s over the 717
    # hours not wholly under maintenance, so P95 (index (717 − 1) × 95 // 100 = 680) is 0.
    assert sites["xa-a"].loss_mean == pytest.approx(18 / 2864) and sites["xa-a"].loss_p95 == 0.0
    # RTT: 713 hours with a mean (717 less the 4 of the outage): 673 at 20 ms, 40 at 50 ms. P50 is index 356 →
    # 20 ms; P95 is index 712 × 95 // 100 = 676 ≥ 673 → 50 ms.
    assert (sites["xa-a"].rtt_p50, sites["xa-a"].rtt_p95) == (0.020, 0.050)

    # Briefings: 2 and 16 November (1 December is outside); on the 16th the latest check (T−10) counts.
    assert (a.ready, a.degraded, a.not_ready) == (1, 0, 1)
    assert (b.ready, b.degraded, b.not_ready) == (1, 1, 0) and (hub.ready, hub.briefings) == (2, 2)
    (_, second) = sites["xa-a"].briefings
    assert second.verdict == "NOT_READY" and second.reasons[0]["code"] == "link_down"

    # Alerts: Xã An's two that fired in November (the silenced one and October's left out), acknowledged after
    # 300 s and 900 s: median (300 + 900) / 2 = 600, longest 900. Xã Bình's firing one, never acknowledged.
    assert (len(a.alerts), a.acknowledged, a.tta_median, a.tta_max) == (2, 2, 600.0, 900.0)
    assert (len(b.alerts), b.acknowledged, b.tta_median) == (1, 0, None)

    # The province's unit (the hub and its two communes): the sums. (2860 + 2846 + 2868) / (2860 + 2864 + 2880).
    (unit,) = report.groups
    assert (unit.id, unit.name, unit.sites) == ("hub", "Trung tâm tỉnh", 3)
    assert unit.figures.availability == pytest.approx(8574 / 8604)  # 99.6513 %
    assert unit.figures.maintenance_hours == pytest.approx(9) and (unit.figures.ready, unit.figures.briefings) == (4, 6)
    assert (len(unit.figures.alerts), unit.figures.acknowledged, unit.figures.tta_median) == (3, 2, 600.0)

    page = to_html(report, lang="vi")
    assert "@page { size: A4" in page and "99,37 %" in page and "99,58 %" in page and "99,65 %" in page
    assert "Chưa sẵn sàng" in page and "Đường truyền mất kết nối" in page and "10 phút" in page  # 600 s
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    site_row = next(r for r in rows if r["section"] == "site" and r["site"] == "xa-a")
    assert float(site_row["availability"]) == pytest.approx(2846 / 2864, abs=1e-6)
    assert [r["verdict"] for r in rows if r["section"] == "briefing" and r["site"] == "xa-a"] == ["READY", "NOT_READY"]


def test_the_command_writes_csv_html_and_refuses_bad_dates(
    month: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file, database_url = month
    base = ["report", "-c", str(config_file), "--database", database_url, "--from", "2026-11-01", "--to", "2026-11-30"]
    assert main([*base, "--format", "csv", "-o", str(tmp_path / "t11.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t11.csv").read_text(encoding="utf-8"))))
    unit = next(r for r in rows if r["section"] == "unit")
    assert float(unit["availability"]) == pytest.approx(8574 / 8604, abs=1e-6) and unit["ready"] == "4"
    assert "Đã ghi báo cáo vào" in capsys.readouterr().err
    assert main(base) == 0
    assert "Báo cáo chất lượng đường truyền và sẵn sàng giao ban" in capsys.readouterr().out
    assert main([*base[:5], "--from", "2026-11-30", "--to", "2026-11-01"]) == 2
    assert "--from phải trước --to" in capsys.readouterr().err
    assert main([*base[:5], "--from", "tháng 11", "--to", "2026-11-30"]) == 2
    assert "--from phải là một ngày" in capsys.readouterr().err


def test_the_api_answers_json_csv_html(month: tuple[Path, str]) -> None:
    config_file, database_url = month

    async def ask() -> None:
        config = load_config(config_file)
        storage = await Storage.open(database_url)
        app = web.Application()
        api = make_api_v1(storage=storage, config=lambda: config, state=State())
        app.add_subapp("/api/v1", api)
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            period = {"from": "2026-11-01", "to": "2026-11-30"}
            answer = await client.get("/api/v1/report", params=period)
            assert answer.status == 200
            body = json.loads(await answer.text())
            xa_a = next(s for s in body["sites"] if s["id"] == "xa-a")
            assert xa_a["availability"] == pytest.approx(2846 / 2864) and xa_a["tta_median"] == 600.0
            assert body["from"] == "2026-10-31T17:00:00Z" and body["units"][0]["ready"] == 4
            answer = await client.get("/api/v1/report", params={**period, "format": "csv"})
            assert answer.content_type == "text/csv" and "section,group,site" in await answer.text()
            answer = await client.get("/api/v1/report", params={**period, "format": "html", "lang": "en"})
            assert '<html lang="en">' in await answer.text()
            refused = [
                ({"from": "x", "to": "2026-11-30"}, "from"),
                ({"to": "2026-11-30"}, "from"),
                ({**period, "format": "xls"}, "format"),
                ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
            ]
            for bad, field in refused:
                answer = await client.get("/api/v1/report", params=bad)
                assert answer.status == 400 and (await answer.json())["field"] == field, bad
            gate = api[REPORT_GATE]  # two reports being made: a third waits for none of them, it is told to retry
            async with gate, gate:
                answer = await client.get("/api/v1/report", params=period)
                assert answer.status == 429 and answer.headers["Retry-After"] == "5"
            assert (await client.get("/api/v1/report", params=period)).status == 200
        finally:
            await client.close()
            await storage.close()

    asyncio.run(ask())


def test_period_is_local_days_to_included() -> None:
    config = load_config_text_minimal()
    period = parse_period("2026-11-01", "2026-11-30", config)
    assert period.since == datetime(2026, 10, 31, 17, tzinfo=UTC) and period.until == datetime(
        2026, 11, 30, 17, tzinfo=UTC
    )
    exact = parse_period("2026-11-01T08:00+07:00", "2026-11-01T09:30", config)  # ISO times as given (local if naive)
    assert (exact.until - exact.since).total_seconds() == 5400
    with pytest.raises(PeriodError) as refused:
        parse_period("1900-01-01", "2026-01-01", config)
    assert refused.value.field == "from"


def load_config_text_minimal() -> Any:
    from monitor.config.loader import load_config_text

    return load_config_text(CONFIG, "t.yml")


def test_the_command_prints_a_pdf_with_chromium(month: tuple[Path, str], tmp_path: Path) -> None:
    """--format pdf: the A4 HTML printed by the installed Chromium (Debian's), a real PDF of A4 pages."""
    require_program("chromium")
    config_file, database_url = month
    out = tmp_path / "bao-cao-thang-11.pdf"
    base = ["report", "-c", str(config_file), "--database", database_url, "--from", "2026-11-01", "--to", "2026-11-30"]
    assert main([*base, "--format", "pdf", "-o", str(out)]) == 0
    document = out.read_bytes()
    boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", document)
    assert document.startswith(b"%PDF-") and boxes, document[:200]
    assert all(round(float(w)) == 595 and round(float(h)) == 842 for w, h in boxes)  # A4: 210 × 297 mm in points
    assert main([*base, "--format", "pdf"]) == 2  # a PDF goes to a file, never to a terminal
