"""`giaoban demo`: the real service against a simulated province on loopback, in one asyncio process.

    giaoban demo [--listen HOST:PORT] [--database URL] [--dir DIR]

Starts emulated peers — a router (SNMP, monitor/demo/snmp.py) and a room codec (SIP OPTIONS and a status API,
monitor/demo/codecs.py) per commune and ward of Tỉnh Thái Nguyên (the official 2025 list), a UPS, the hub's
router and MCU, all asyncio servers of this one process — then the real service (monitor/app/service.py) with
an inventory generated for them (monitor/demo/inventory.py), written to DIR/demo.yml. A few units are
deliberately unhealthy (inventory.FAULTS; lossy lines: monitor/demo/lines.py). The provincial briefing starts
three minutes later, with readiness checks at T-150 s, T-90 s and T-30 s, so reports and alerts show within two
minutes; the central government's conference follows it, and its first check (T-60 min) runs as the briefing
starts.

What it prints on stdout (Vietnamese, then English): the URLs and the API token at start, then one line per
readiness event (site not ready, recovered, the T-0 summary; taken from the readiness engine's sink, which
still passes each event on to the alert engine) and one line per notification that reaches the demo's webhook
receiver (the inventory's only notifier, so every alert the service sends shows up). Files in DIR (default
./giaoban-demo/)::

    demo.yml              the generated inventory (rewritten at each start); it names the database, so that
                          `giaoban alerts ack ID -c DIR/demo.yml` (printed in every alert) finds it
    demo.db               the service's database (database: sqlite:///demo.db, beside demo.yml; or --database)
    notifications.jsonl   one JSON document per notification received by the demo's webhook
    readiness.jsonl       one JSON document per readiness event
    snmp-community, codec-credentials   secrets the inventory reads ({file: ...}); database-password too when
                                        --database holds one

SIGTERM or Ctrl-C stops the service, then the emulators; the exit status is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.engine import make_url

from monitor.app.service import Service
from monitor.config.database import database_option
from monitor.config.loader import load_config
from monitor.demo.bridge import EmulatedBridge
from monitor.demo.calls import DROP_AFTER, LOSS, participant_uri, stage_briefing
from monitor.demo.codecs import CodecFarm, CodecState, codec_farm, tcp_listener
from monitor.demo.inventory import (
    CENTRAL_TITLE,
    FAULT_TEXT,
    LEAD_TIMES,
    MEETING_ID,
    MEETING_LEAD,
    MEETING_TITLE,
    OPERATOR,
    TOKEN_ENV,
    Files,
    Ports,
    SitePlan,
    central_start,
    demo_plan,
    meeting_start,
    province,
    render_config,
)
from monitor.demo.lines import LossyPinger
from monitor.demo.portal import portal
from monitor.demo.snmp import (
    SOFTWARE_LOOPBACK,
    EmulatedDevice,
    EmulatedInterface,
    EmulatedUps,
    SnmpAgent,
    Traffic,
)
from monitor.engine.setup import icmp_fix
from monitor.errors import UsageError
from monitor.i18n import verdict_both
from monitor.readiness.events import ReadinessEvent
from monitor.storage.database import Storage
from monitor.storage.location import anchored, database_for
from probes.context import probe_context
from probes.core.context import ProbeContext
from probes.core.settings import split_host_port
from probes.icmp.mode import last_detected, setup_info

DEFAULT_LISTEN = "127.0.0.1:9876"
DEFAULT_DIR = "giaoban-demo"
DEMO_DATABASE = "sqlite:///demo.db"  # relative: beside demo.yml (monitor/storage/location.py)
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# How the banner counts units: Vietnamese, English.
UNIT_WORDS = {"commune": ("xã", "communes"), "ward": ("phường", "wards"), "special_zone": ("đặc khu", "special zones")}


def add_parser(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the service against a simulated province on loopback",
        description="Start emulated routers, room codecs and a UPS for every commune and ward of Tỉnh Thái Nguyên "
        "on 127.0.0.0/8, and the real service watching them, with a briefing three minutes ahead. Ctrl-C stops it.",
    )
    demo.add_argument(
        "--listen", default=DEFAULT_LISTEN, help=f"HOST:PORT of the board and API (default {DEFAULT_LISTEN})"
    )
    demo.add_argument(
        "--database",
        type=database_option,
        help="database URL, written into DIR/demo.yml (default sqlite:///demo.db: DIR/demo.db)",
    )
    demo.add_argument(
        "--dir", default=DEFAULT_DIR, help=f"where the config, database and logs go (default ./{DEFAULT_DIR})"
    )
    demo.add_argument(
        "--meeting-in",
        type=float,
        default=MEETING_LEAD,
        metavar="SECONDS",
        help=f"when the provincial briefing starts (default {MEETING_LEAD:g} s from now)",
    )
    demo.add_argument(
        "--drop-after",
        type=float,
        default=DROP_AFTER,
        metavar="SECONDS",
        help=f"when Xã Tân Cương leaves the briefing, after its start (default {DROP_AFTER:g} s)",
    )


def run(args: Any) -> int:
    status: int = asyncio.run(
        run_demo(
            listen=args.listen,
            database=args.database,
            directory=Path(args.dir).absolute(),
            meeting_in=args.meeting_in,
            drop_after=args.drop_after,
        )
    )
    return status


# --- output ---------------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def _clock() -> str:
    return datetime.now(TIMEZONE).strftime("%H:%M:%S")


class JsonLines:
    """Appends one JSON document per line to a file, in order, off the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    def _append(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    async def write(self, document: dict[str, Any]) -> None:
        line = json.dumps(document, ensure_ascii=False)
        async with self._lock:
            await asyncio.to_thread(self._append, line)


def readiness_line(event: ReadinessEvent) -> str:
    where = f"{event.meeting_title}, T-{event.lead_time:.0f}s"
    if event.kind == "summary":
        missing = ", ".join(s for s in event.not_ready if s not in event.degraded) or "—"
        degraded = f"; {verdict_both('DEGRADED')}: {', '.join(event.degraded)}" if event.degraded else ""
        return (
            f"[{_clock()}] SẴN SÀNG / READINESS  {event.meeting_title}, T-0: {event.ready}/{event.total} điểm cầu sẵn "
            f"sàng / sites ready; {verdict_both('NOT_READY').lower()}: {missing}{degraded}"
        )
    site = event.site_name or event.site_id or "-"
    if event.kind == "site_recovered":
        return f"[{_clock()}] SẴN SÀNG / READINESS  {where}: {site} đã sẵn sàng trở lại / recovered"
    reasons = " ".join(f"[{r.code}] {r.message}" for r in event.reasons)  # each message ends with a full stop
    verdict = verdict_both(event.verdict or "?")
    return f"[{_clock()}] SẴN SÀNG / READINESS  {where}: {site} {verdict.upper()} — {reasons}"


def readiness_json(event: ReadinessEvent) -> dict[str, Any]:
    return {
        "received_at": datetime.now(UTC).isoformat(),
        "kind": event.kind,
        "meeting": event.meeting_id,
        "title": event.meeting_title,
        "occurrence_start": event.occurrence_start.isoformat(),
        "lead_time_seconds": event.lead_time,
        "site": event.site_id,
        "site_name": event.site_name,
        "verdict": event.verdict,
        "reasons": [
            {"code": r.code, "severity": r.severity, "message": r.message, "action": r.action} for r in event.reasons
        ],
        "ready": event.ready,
        "total": event.total,
        "not_ready": list(event.not_ready),
        "degraded": list(event.degraded),
    }


# --- the webhook receiver -------------------------------------------------------------------------------------

LOG_FILE: web.AppKey[JsonLines] = web.AppKey("notifications", JsonLines)


async def _notification(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        document = json.loads(body)
    except ValueError:
        return web.json_response({"error": "expected a JSON document"}, status=400)
    if not isinstance(document, dict):
        return web.json_response({"error": "expected a JSON object"}, status=400)
    labels = document.get("labels")
    site = labels.get("site", "") if isinstance(labels, dict) else ""
    say(
        f"[{_clock()}] THÔNG BÁO / NOTIFICATION  {document.get('event', '?')} {document.get('severity', '?')} "
        f"{site}: {document.get('subject', '')}"
    )
    await request.app[LOG_FILE].write({"received_at": datetime.now(UTC).isoformat(), **document})
    return web.json_response({"ok": True})


@contextlib.asynccontextmanager
async def webhook_receiver(log_file: JsonLines) -> AsyncIterator[str]:
    """An aiohttp receiver on 127.0.0.1 (any free port) for the service's webhook notifier; yields its URL."""
    app = web.Application()
    app[LOG_FILE] = log_file
    app.router.add_post("/notifications", _notification)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    sock = tcp_listener("127.0.0.1", 0)
    port = sock.getsockname()[1]
    try:
        await web.SockSite(runner, sock).start()
        yield f"http://127.0.0.1:{port}/notifications"
    finally:
        await runner.cleanup()


# --- the simulated province -----------------------------------------------------------------------------------


def _uplink(site: SitePlan) -> Traffic:
    """What a unit's WAN port carries: a share of the contract, or a saturated line."""
    if site.fault == "saturated":  # a constant ~95% of the contracted 10 Mbit/s: someone is downloading all day
        return Traffic(site.contracted_bits * 0.95, site.contracted_bits * 0.4, daily=False, wobble=0.01)
    wan_in = site.contracted_bits * random.uniform(0.08, 0.3)
    return Traffic(wan_in, wan_in * random.uniform(0.3, 0.6))


def _router(site: SitePlan, traffic: Traffic) -> EmulatedDevice:
    return EmulatedDevice(
        sys_name=site.router_id,
        sys_descr=f"giaoban demo: emulated router of {site.name}",
        location=site.name,
        contact=OPERATOR,
        interfaces=[
            EmulatedInterface(
                1,
                "GigabitEthernet0/0/0",
                "GigabitEthernet0/0/0",
                alias=f"LAN {site.name}",
                traffic=Traffic(traffic.transmit_bps, traffic.receive_bps),
            ),
            EmulatedInterface(
                2,
                site.wan_interface,
                site.wan_interface,
                alias=f"TSLCD VNPT – {site.name}",
                port_bits=site.port_bits,
                traffic=traffic,
                oper_up=site.fault != "link_down",  # the failing link: the WAN port has lost its carrier
            ),
            EmulatedInterface(3, "Loopback0", "Loopback0", port_bits=8_000_000_000, kind=SOFTWARE_LOOPBACK),
        ],
    )


def _hub_router(site: SitePlan, uplinks: list[Traffic]) -> EmulatedDevice:
    # The hub's port carries the sum of the units' traffic, in the other direction.
    receive = sum(t.transmit_bps for t in uplinks)
    transmit = sum(t.receive_bps for t in uplinks)
    return EmulatedDevice(
        sys_name=site.router_id,
        sys_descr=f"giaoban demo: emulated core router of {site.name}",
        location=site.name,
        contact=OPERATOR,
        interfaces=[
            EmulatedInterface(1, site.wan_interface, site.wan_interface, alias="TSLCD cấp II", port_bits=site.port_bits,
                              traffic=Traffic(receive, transmit)),
            EmulatedInterface(2, "Loopback0", "Loopback0", port_bits=8_000_000_000, kind=SOFTWARE_LOOPBACK),
        ],
    )  # fmt: skip


def _ups(site: SitePlan) -> EmulatedDevice:
    return EmulatedDevice(
        sys_name=f"{site.id}-ups",
        sys_descr=f"giaoban demo: emulated UPS of {site.name} (UPS-MIB)",
        location=site.name,
        interfaces=[EmulatedInterface(1, "eth0", "eth0", port_bits=100_000_000, traffic=Traffic(4_000, 4_000))],
        # Mains went off four minutes before the demo; 95 minutes of battery left outlast the 1 h briefing.
        ups=EmulatedUps(on_battery=True, minutes_at_start=95, charge_at_start=81, since=time.time() - 240),
    )


async def start_province(
    plan: list[SitePlan], agent: SnmpAgent, farm: CodecFarm, *, password: str, receiver_url: str
) -> Ports:
    """Start every emulated device of ``plan``; where each one listens. Every codec has one account, admin with
    ``password``: one credentials file keeps the inventory short."""
    router: dict[str, int] = {}
    sip: dict[str, int] = {}
    api: dict[str, int] = {}
    ups: dict[str, int] = {}
    uplinks = {site.id: _uplink(site) for site in plan if site.role != "province"}
    for site in plan:
        if site.role == "province":
            device = _hub_router(site, list(uplinks.values()))
        else:
            device = _router(site, uplinks[site.id])
        router[site.id] = await agent.add(device, site.router_address)
        if site.ups_address is not None:
            ups[site.id] = await agent.add(_ups(site), site.ups_address)
        codec = CodecState(
            name=f"{site.name} – phòng họp trực tuyến" if site.vendor else f"MCU {site.name}",
            vendor=site.vendor,
            password=password,
            registered=site.fault != "unregistered",
            camera=site.fault != "camera_missing",
            reachable=site.fault != "link_down",
        )
        ports = await farm.add(site.id, codec, site.codec_address)
        sip[site.id] = ports.sip
        if ports.api is not None:
            api[site.id] = ports.api
    return Ports(router=router, sip=sip, api=api, ups=ups, receiver_url=receiver_url)


def database_yaml(url: str, directory: Path) -> str:
    """The inventory's ``database:`` line for ``url``; a password in it goes to a secret file (never into demo.yml).

    Every command then opens the demo's database with ``-c DIR/demo.yml`` alone (issue 14).
    """
    parsed = make_url(url)
    if parsed.password is None:
        return f"database: {json.dumps(url)}\n"
    secret = directory / "database-password"
    _write_secret(secret, str(parsed.password))
    bare = parsed._replace(password=None).render_as_string(hide_password=False)  # set(password=None) keeps it
    return f"database: {{url: {json.dumps(bare)}, password: {{file: {json.dumps(str(secret))}}}}}\n"


def lossy(ctx: ProbeContext, plan: list[SitePlan]) -> ProbeContext:
    """``ctx`` with a pinger that loses the replies the plan's lossy lines lose (unchanged if ICMP cannot run)."""
    if ctx.pinger is None:
        return ctx
    loss = {site.router_address: site.loss for site in plan if site.loss is not None}
    return replace(ctx, pinger=LossyPinger(ctx.pinger, loss))


def _write_secret(path: Path, value: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(value + "\n", encoding="utf-8")


# --- the run --------------------------------------------------------------------------------------------------


def banner(
    plan: list[SitePlan],
    *,
    listen: str,
    directory: Path,
    token: str,
    token_given: bool,
    config: Path,
    now: datetime,
    lead: float = MEETING_LEAD,
    drop_after: float = DROP_AFTER,
) -> str:
    base = f"http://{listen}"
    icmp = last_detected()
    if icmp is None or not icmp.usable:
        # No per-site alert will say it (issue 14): the admins get one, and the board shows the fix at the top.
        info = setup_info()
        icmp_line = (
            "  ICMP: KHÔNG dùng được — giaoban không đo được đường truyền nào; quản trị viên nhận một cảnh báo "
            f"nói cách sửa. {icmp_fix(info, 'vi')}\n"
            "  ICMP: NOT available — giaoban measures no link; the admins get one alert saying what to change. "
            f"{icmp_fix(info, 'en')}"
        )
    else:
        icmp_line = f"  ICMP: {icmp.mode} — {icmp.message}"
    faults = [
        f"    {site.name} ({site.id}): {vi} / {en}"
        for site in plan
        if site.fault is not None
        for vi, en in [FAULT_TEXT[site.fault]]
    ]
    leads = ", ".join(f"T-{lead:g}s" for lead in LEAD_TIMES)
    token_note = f"(từ / from ${TOKEN_ENV})" if token_given else f"(tạo ngẫu nhiên; đặt / set ${TOKEN_ENV} to choose)"
    units: Counter[str] = Counter(site.role for site in plan if site.role != "province")
    kinds_vi, kinds_en = (
        ", ".join(f"{units[role]} {words[i]}" for role, words in UNIT_WORDS.items() if units[role]) for i in (0, 1)
    )
    where = province().name
    lines = [
        f"giaoban demo — {where[0].lower()}{where[1:]} mô phỏng trên loopback / a simulated province on loopback",
        f"  {plan[0].name} và {units.total()} điểm cầu ({kinds_vi}) / the provincial hub and {units.total()} sites "
        f"({kinds_en})",
        f"  Bảng sẵn sàng / Readiness board:   {base}/",
        f"  Chỉ số / Metrics:                  {base}/metrics",
        f"  Trạng thái / Status API:           {base}/api/v1/status",
        f"  Báo cáo sẵn sàng / Readiness:      {base}/api/v1/meetings/{MEETING_ID}/readiness",
        f"  Thông báo / Notifications:         {directory / 'notifications.jsonl'}",
        f"  Sự kiện sẵn sàng / Readiness log:  {directory / 'readiness.jsonl'}",
        f"  Cấu hình / Config:                 {config}",
        f"  Mã API / API token:                {token} {token_note}",
        f'    curl -X POST -H "Authorization: Bearer {token}" {base}/api/v1/meetings/{MEETING_ID}/readiness',
        f"  Cuộc họp / Meeting: «{MEETING_TITLE}» lúc / at {meeting_start(now, lead):%H:%M:%S} "
        f"(giờ Việt Nam / Vietnam time); kiểm tra / checks at {leads}",
        f"  Trong họp / In the meeting:        {base}/meetings/{MEETING_ID}/live — Xã Tân Cương rời cuộc họp sau "
        f"{drop_after:g} giây / leaves after {drop_after:g} s; Xã Đức Lương mất gói {LOSS:.0%} / {LOSS:.0%} loss",
        f"  Hội nghị / Conference: «{CENTRAL_TITLE}» lúc / at {central_start(now, lead):%H:%M:%S}, "
        "tỉnh và mọi điểm cầu tham dự / the province and every site take part",
        "  Điểm cầu có sự cố cố ý / Sites with deliberate faults:",
        *faults,
        icmp_line,
        "Nhấn Ctrl-C để dừng / Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def _quiet_probe_log() -> None:
    """Every failing probe is logged at INFO each interval: on a demo console that buries the rest."""
    scheduler = logging.getLogger("monitor.engine.scheduler")
    if scheduler.getEffectiveLevel() >= logging.INFO:
        scheduler.setLevel(logging.WARNING)


def _wrap_readiness(service: Service, log_file: JsonLines) -> None:
    """Print and record every readiness event, then pass it on to whatever the service had attached."""
    passed_on: Callable[[ReadinessEvent], Any] | None = service.readiness.sink

    async def sink(event: ReadinessEvent) -> None:
        say(readiness_line(event))
        await log_file.write(readiness_json(event))
        if passed_on is not None:
            await passed_on(event)

    service.readiness.sink = sink


async def run_demo(
    *,
    listen: str = DEFAULT_LISTEN,
    database: str | None = None,
    directory: Path,
    meeting_in: float = MEETING_LEAD,
    drop_after: float = DROP_AFTER,
) -> int:
    """Run the demo until SIGTERM/SIGINT (``directory`` absolute); UsageError when it cannot start."""
    if not 0 < meeting_in <= 86400 or not 0 < drop_after <= 3000:
        raise UsageError("--meeting-in takes 1 to 86400 seconds, --drop-after 1 to 3000 (the briefing lasts 1 h)")
    try:
        split_host_port(listen)
    except ValueError as exc:
        raise UsageError(f"--listen {listen!r}: {exc}") from None
    try:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--dir {directory}: {exc.strerror}") from None
    token_given = bool(os.environ.get(TOKEN_ENV))
    token = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(18)
    os.environ[TOKEN_ENV] = token  # the generated inventory reads the API token from {env: GIAOBAN_DEMO_TOKEN}
    files = Files(community=str(directory / "snmp-community"), codec_credentials=str(directory / "codec-credentials"))
    community = f"demo-{secrets.token_hex(6)}"
    await asyncio.to_thread(_write_secret, Path(files.community), community)
    _quiet_probe_log()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    agent = SnmpAgent(community)
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(agent.close)
            farm = await stack.enter_async_context(codec_farm())
            receiver_url = await stack.enter_async_context(
                webhook_receiver(JsonLines(directory / "notifications.jsonl"))
            )
            plan = demo_plan()
            password = secrets.token_urlsafe(12)  # a new one at each run
            await asyncio.to_thread(_write_secret, Path(files.codec_credentials), f"admin:{password}")
            ports = await start_province(plan, agent, farm, password=password, receiver_url=receiver_url)
            ports = replace(ports, portal=await stack.enter_async_context(portal()))
            now = datetime.now(TIMEZONE)
            config_path = directory / "demo.yml"
            # The briefing's call on the hub's bridge (issue 18): every room dials in, one leaves, one loses 4 %.
            hub = plan[0]
            bridge = EmulatedBridge(password=password)
            ports = replace(ports, bridge=await farm.add_bridge(hub.id, bridge, hub.codec_address))
            start = meeting_start(now, meeting_in).timestamp()
            mcu = f"sip:mcu@{hub.codec_address}"
            # The rooms dial in two seconds before the start: after the last readiness check (a codec in a call
            # is busy), before the watch's first poll.
            dial_in = asyncio.get_running_loop().call_later(
                max(0.0, start - 2.0 - time.time()),
                lambda: stage_briefing(plan, farm.codecs, bridge, bridge_uri=mcu, start=start, drop_after=drop_after),
            )
            stack.callback(dial_in.cancel)
            text = render_config(
                plan, ports, files, listen=listen, now=now, lead=meeting_in, bridge_uri=participant_uri
            )
            chosen = anchored(database, Path.cwd()) if database else DEMO_DATABASE  # a command-line path: from here
            text += await asyncio.to_thread(database_yaml, chosen, directory)
            await asyncio.to_thread(config_path.write_text, text, encoding="utf-8")
            config = await asyncio.to_thread(load_config, config_path, resolve_secrets=True)
            storage = await Storage.open(database_for(config, config_path))  # as every CLI command finds it
            stack.push_async_callback(storage.close)
            ctx = lossy(await stack.enter_async_context(probe_context()), plan)
            service = Service(config_path, config, ctx=ctx, storage=storage, listen=listen)
            _wrap_readiness(service, JsonLines(directory / "readiness.jsonl"))
            task = asyncio.create_task(service.run(stop))
            while not service.ready and not task.done():
                await asyncio.wait([task], timeout=0.05)
            if task.done():
                await _started_or_stopped(task, listen)  # raises unless a signal stopped it while starting
            else:
                say(
                    banner(
                        plan,
                        listen=listen,
                        directory=directory,
                        token=token,
                        token_given=token_given,
                        config=config_path,
                        now=now,
                        lead=meeting_in,
                        drop_after=drop_after,
                    )
                )
            await task
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    say("giaoban demo: đã dừng / stopped")
    return 0


async def _started_or_stopped(task: asyncio.Task[None], listen: str) -> None:
    """The service ended before it was ready: fine after SIGTERM/SIGINT, else say why it could not start."""
    try:
        await task
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {listen}: {exc.strerror or exc}; choose another address with --listen 127.0.0.1:PORT"
        ) from None
