"""How long a month's report and a site's page take at province scale (issue 19), on SQLite in a temporary folder.

Run: ``.venv/bin/python bench/report_scale.py [SITES]`` (default 168, the largest province). Writes a month of
hourly rows for every site's link (the state after the roll-up and pruning), two days of raw rounds every minute
for one site, then times ``gather_report`` with its CSV and HTML, and the site page's reads and rendering.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config.loader import load_config_text
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.storage.database import Storage
from monitor.storage.retention import HOUR_MS, WATERMARK
from monitor.storage.tables import history_hourly, history_raw, meta
from monitor.web.report import gather_report, parse_period
from monitor.web.report_render import to_csv, to_html
from monitor.web.site_page import collect, render

UNTIL = datetime(2026, 12, 1, tzinfo=UTC)


def inventory(sites: int) -> str:
    lines = ['organisation: {name: "Tỉnh Đo", timezone: Asia/Ho_Chi_Minh}', "sites:"]
    lines.append('  - {id: hub, name: "Trung tâm", role: province, link: {address: 192.0.2.1}}')
    lines += [
        f'  - {{id: xa-{i:03d}, name: "Xã {i:03d}", parent: hub, link: {{address: 198.18.{i // 250}.{i % 250 + 1}}}}}'
        for i in range(sites - 1)
    ]
    return "\n".join(lines) + "\n"


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        config = load_config_text(inventory(count), "bench.yml")
        storage = await Storage.open(f"sqlite:///{Path(work) / 'bench.db'}")
        await storage.sync_inventory(config)
        links = [t for t in targets_from_config(config) if t.role == "link"]
        ids = await storage.target_ids(links)
        end_ms = int(UNTIL.timestamp() * 1000)
        start_ms = end_ms - 30 * 86_400_000
        rows = [
            {"target_id": ids[t.key], "ts": ts, "samples": 60, "successes": 59 + (ts // HOUR_MS) % 2,
             "rtt_min": 0.01, "rtt_avg": 0.02 + (ts // HOUR_MS) % 7 / 1000, "rtt_max": 0.05, "loss_avg": 0.01}
            for t in links
            for ts in range(start_ms, end_ms, HOUR_MS)
        ]  # fmt: skip
        async with storage.begin() as conn:
            for at in range(0, len(rows), 20_000):
                await conn.execute(history_hourly.insert(), rows[at : at + 20_000])
            raw = [
                {"target_id": ids["xa-000/link"], "ts": ts, "success": True, "duration": 0.1, "reason": "OK",
                 "rtt_median": 0.02 + ts % 13 / 1000, "rtt_min": 0.01, "rtt_avg": 0.025, "rtt_max": 0.05,
                 "loss_ratio": 0.0, "mos": 4.3}
                for ts in range(end_ms, end_ms + 2 * 86_400_000, 60_000)
            ]  # fmt: skip
            await conn.execute(history_raw.insert(), raw)
            await conn.execute(meta.insert(), [{"key": WATERMARK, "value": str(end_ms)}])
        print(f"{count} sites: {len(rows)} hourly rows, {len(raw)} raw rows of one site")

        period = parse_period("2026-11-01", "2026-11-30", config)
        started = time.perf_counter()
        report = await gather_report(config, storage, period)
        gathered = time.perf_counter() - started
        started = time.perf_counter()
        csv_text, page = to_csv(report), to_html(report, lang="vi")
        rendered = time.perf_counter() - started
        print(f"report: gathered {gathered:.2f} s, CSV {len(csv_text) // 1024} KiB + HTML {len(page) // 1024} KiB "
              f"rendered in {rendered:.2f} s")  # fmt: skip

        class View:
            def __init__(self) -> None:
                self.config, self.storage, self.state = config, storage, State()

        site = config.site("xa-000")
        assert site is not None
        now = UNTIL + timedelta(days=2)
        started = time.perf_counter()
        data = await collect(View(), site, now)  # type: ignore[arg-type]
        read = time.perf_counter() - started
        started = time.perf_counter()
        html = render(data, lang="vi", refresh=30)
        drawn = time.perf_counter() - started
        print(f"site page: read {read * 1000:.0f} ms, rendered {drawn * 1000:.0f} ms, {len(html) // 1024} KiB")
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 168))
