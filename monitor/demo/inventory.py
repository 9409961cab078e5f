"""The demo province as data: the provincial hub and every commune-level unit of Tỉnh Thái Nguyên from the
official 2025 list (monitor/config/units2025.py), where each one's emulated devices live on loopback, which
units are deliberately unhealthy, and the inventory (YAML) the real service is given.

Addresses (all of 127.0.0.0/8 answers locally on Linux, without root)::

    127.0.1.N   unit N's router (N: its place in the official list): the link's address (ICMP) and SNMP agent
    127.0.2.N   unit N's room codec: SIP OPTIONS (UDP) and its status API (HTTP)
    127.0.3.N   unit N's UPS (SNMP, UPS-MIB), where the unit has one
    N = 254     the provincial hub (core router, MCU)

Ports are chosen when the emulators bind (a preferred port, else any free one) and written into the
generated inventory, so two demos can run side by side. Names, codes, roles and ids come from the official
list, the ids by the rule `giaoban init --province` uses; only the faults, people and places are the demo's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from monitor.config.units2025 import Province, UnitKind, find_provinces, site_ids, slug

Vendor = Literal["cisco-xapi", "poly-rest"]
Fault = Literal[
    "unregistered", "camera_missing", "link_down", "saturated", "ups_on_battery", "loss_elevated", "loss_high"
]
Role = Literal["province", UnitKind]

PROVINCE_CODE = "19"  # Tỉnh Thái Nguyên (merged with Bắc Kạn on 1 July 2025): 92 units, 77 xã and 15 phường
HUB_NUMBER = 254
WAN_INTERFACE = "GigabitEthernet0/0/1"  # the unit router's port towards the TSLCD network
HUB_INTERFACE = "TenGigabitEthernet0/1/0"  # the hub's port towards the units
MEETING_ID = "giao-ban-tinh"
MEETING_TITLE = "Giao ban UBND tỉnh với các xã, phường (demo)"
WEEKLY_ID = "giao-ban-tuan"
WEEKLY_TITLE = "Giao ban tuần UBND tỉnh"
CENTRAL_ID = "hoi-nghi-toan-quoc"
CENTRAL_TITLE = "Hội nghị trực tuyến toàn quốc của Chính phủ với các tỉnh, thành phố (demo)"
MEETING_LEAD = 180.0  # the demo briefing starts this many seconds after the demo
LEAD_TIMES = (150.0, 90.0, 30.0)  # readiness checks before it: the first 30 s after the demo starts
# The central conference follows the briefing; its first check (T-60 min) comes as the briefing starts.
CENTRAL_LEAD_TIMES = (3600.0, 1800.0, 600.0)
CENTRAL_CALL_RATE = "4096kbit"  # 1080p towards the national MCU
TOKEN_ENV = "GIAOBAN_DEMO_TOKEN"
# How often every target is probed: rates show within a minute (two polls), alerts within two, and the
# 93 sites' 371 targets keep the demo at about 5 % of a core (60 s in real use; 5 s measured 25 %).
INTERVAL = 30.0

# The former Huyện Định Hoá's 22 units became these 8 communes (REFERENCE.md); the demo breaks some of them.
FORMER_DINH_HOA = ("05569", "05587", "05581", "05563", "05602", "05605", "05551", "05542")

# The units that are deliberately unhealthy, and how, by official code: some of the former Định Hoá communes
# and some elsewhere in the province.
FAULTS: dict[str, Fault] = {
    "05542": "unregistered",  # Xã Lam Vỹ (former Định Hoá)
    "05587": "camera_missing",  # Xã Bình Yên (former Định Hoá)
    "05602": "link_down",  # Xã Phú Đình (former Định Hoá)
    "05569": "ups_on_battery",  # Xã Định Hóa (former Định Hoá)
    "05830": "saturated",  # Xã Đại Từ
    "01906": "loss_elevated",  # Xã Ba Bể
    "02155": "loss_high",  # Xã Na Rì
    "05719": "loss_high",  # Xã Sảng Mộc
}

# Echo replies a lossy line loses (monitor/demo/lines.py). Against the default thresholds (loss 1 %, critical
# 3 %): 2 % is DEGRADED, which only the readiness round's 50 echoes measure exactly (one lost); 12 % loses one
# or two of every live round's 10 echoes, so the live loss alert holds too.
LOSS: dict[Fault, Fraction] = {"loss_elevated": Fraction(2, 100), "loss_high": Fraction(12, 100)}

# What the readiness check reports for each fault (reason codes of monitor/readiness/texts.py) and the verdict.
EXPECTED: dict[Fault, tuple[str, tuple[str, ...]]] = {
    "unregistered": ("NOT_READY", ("endpoint_not_registered",)),
    "camera_missing": ("NOT_READY", ("camera_missing",)),
    "link_down": ("NOT_READY", ("interface_down", "endpoint_down")),
    "saturated": ("NOT_READY", ("bandwidth_insufficient",)),
    "ups_on_battery": ("DEGRADED", ("ups_on_battery",)),
    "loss_elevated": ("DEGRADED", ("link_loss_elevated",)),
    "loss_high": ("NOT_READY", ("link_loss_high",)),
}

# The central conference lasts two hours: the UPS's 95 minutes of battery outlast the briefing, not it.
CENTRAL_EXPECTED: dict[Fault, tuple[str, tuple[str, ...]]] = {
    **EXPECTED,
    "ups_on_battery": ("NOT_READY", ("ups_on_battery_short",)),
}

# One line per fault for the start-up banner: Vietnamese, then English.
FAULT_TEXT: dict[Fault, tuple[str, str]] = {
    "unregistered": ("thiết bị hội nghị chưa đăng ký SIP", "room codec not registered"),
    "camera_missing": ("mất kết nối camera", "camera missing"),
    "link_down": (
        "đường truyền hỏng: cổng WAN của bộ định tuyến mất kết nối, thiết bị hội nghị không trả lời",
        "failing link: the router's WAN port is down, the codec does not answer",
    ),
    "saturated": ("đường truyền 10 Mbit/s nghẽn (~95%)", "10 Mbit/s uplink saturated (~95%)"),
    "ups_on_battery": ("mất điện lưới, UPS đang chạy pin", "mains lost, UPS on battery"),
    **{
        fault: (f"đường truyền mất gói ~{float(ratio):.0%}", f"~{float(ratio):.0%} packet loss on the line")
        for fault, ratio in LOSS.items()
    },
}

# For the map: where the former Định Hoá unit that had the same code was (REFERENCE.md; estimates ±3-5 km
# except Phú Đình), as examples/thai-nguyen.yml places them. The official list gives no places for the others.
LOCATIONS: dict[str, tuple[float, float]] = {
    "05569": (21.89, 105.64),
    "05587": (21.85, 105.58),
    "05581": (21.86, 105.64),
    "05563": (21.92, 105.68),
    "05602": (21.8011, 105.525),
    "05605": (21.78, 105.61),
    "05551": (21.94, 105.65),
    "05542": (22.0, 105.68),
}

# The province's digital-transformation centre (Sở KH&CN) and its field technicians; each field technician
# takes a run of the official list, which follows the former districts.
TECHNICIANS: tuple[tuple[str, str], ...] = (
    ("hoa", "Trần Thị Hoa"),  # at the hub: admin
    ("tuan", "Nguyễn Văn Tuấn"),
    ("minh", "Lê Đức Minh"),
    ("lan", "Hoàng Thị Lan"),
    ("hung", "Ma Văn Hùng"),
    ("thu", "Triệu Thị Thu"),
    ("duc", "Nông Văn Đức"),
)
OPERATOR = "Trung tâm chuyển đổi số, Sở KH&CN tỉnh Thái Nguyên"  # who runs the TSLCD rooms (sysContact)


@functools.cache
def province() -> Province:
    """Tỉnh Thái Nguyên as the official list has it."""
    (found,) = find_provinces(PROVINCE_CODE)
    return found


@dataclass(frozen=True, slots=True)
class SitePlan:
    """One site of the demo and where its emulated devices listen."""

    id: str
    name: str
    code: str | None  # the official unit code (None: the hub)
    number: int  # N of the 127.0.x.N addresses
    role: Role
    location: tuple[float, float] | None
    vendor: Vendor | None  # the room codec's status API; None: the hub's MCU (SIP only)
    fault: Fault | None
    contracted_bits: int  # the link's contracted bandwidth
    port_bits: int  # the router port's physical speed
    technician: str | None

    @property
    def router_id(self) -> str:
        return f"{self.id}-router"

    @property
    def router_address(self) -> str:
        return f"127.0.1.{self.number}"

    @property
    def codec_address(self) -> str:
        return f"127.0.2.{self.number}"

    @property
    def ups_address(self) -> str | None:
        return f"127.0.3.{self.number}" if self.fault == "ups_on_battery" else None

    @property
    def wan_interface(self) -> str:
        return HUB_INTERFACE if self.role == "province" else WAN_INTERFACE

    @property
    def loss(self) -> Fraction | None:
        """The share of echo replies its line loses, if it is a lossy one."""
        return LOSS.get(self.fault) if self.fault is not None else None


def hub_id() -> str:
    """The hub's id, as `giaoban init --province` names it: "tinh-thai-nguyen"."""
    return slug(province().name)


def demo_plan() -> list[SitePlan]:
    """The hub, then every unit of the province in the official list's order."""
    units = province().units
    if len(units) >= HUB_NUMBER:  # one 127.0.x.N address each, and the hub's
        raise ValueError(f"{province().name} has {len(units)} units: more than the demo's addresses")
    strays = sorted((set(FAULTS) | set(LOCATIONS)) - {u.code for u in units})
    if strays:  # a fault nobody would see: the list and the demo's choices must agree
        raise ValueError(f"unit codes not in {province().name}: {', '.join(strays)}")
    hub = SitePlan(
        id=hub_id(),
        name=province().hub_name,
        code=None,
        number=HUB_NUMBER,
        role="province",
        location=None,
        vendor=None,
        fault=None,
        contracted_bits=10_000_000_000,
        port_bits=10_000_000_000,
        technician="hoa",
    )
    ids = site_ids(units, taken=[hub.id])
    field = [tech for tech, _ in TECHNICIANS[1:]]
    plan = [hub]
    for number, unit in enumerate(units, start=1):
        fault = FAULTS.get(unit.code)
        vendor: Vendor = "cisco-xapi" if number % 2 else "poly-rest"
        if fault == "unregistered":
            vendor = "cisco-xapi"
        elif fault == "camera_missing":
            vendor = "poly-rest"
        # VNPT doubled most commune links to 200 Mbit/s in 2025 (REFERENCE.md); some are still at 100.
        contracted = 10_000_000 if fault == "saturated" else 100_000_000 if number % 8 == 0 else 200_000_000
        plan.append(
            SitePlan(
                id=ids[unit.code],
                name=unit.name,
                code=unit.code,
                number=number,
                role=unit.kind,
                location=LOCATIONS.get(unit.code),
                vendor=vendor,
                fault=fault,
                contracted_bits=contracted,
                port_bits=100_000_000 if fault == "saturated" else 1_000_000_000,
                technician=field[(number - 1) * len(field) // len(units)],
            )
        )
    return plan


def faulty(plan: Sequence[SitePlan]) -> dict[str, Fault]:
    """Site id → fault, for the deliberately unhealthy sites of ``plan``."""
    return {site.id: site.fault for site in plan if site.fault is not None}


@dataclass(frozen=True, slots=True)
class Ports:
    """Where the emulators ended up listening (by site id), and the demo's own webhook receiver."""

    router: Mapping[str, int]
    sip: Mapping[str, int]
    api: Mapping[str, int]
    ups: Mapping[str, int]
    receiver_url: str
    portal: int | None = None  # the hub's HTTPS web portal (monitor/demo/portal.py)
    bridge: int | None = None  # the hub's conference bridge, a Cisco Meeting Server API (monitor/demo/bridge.py)


@dataclass(frozen=True, slots=True)
class Files:
    """Secrets the inventory reads ({file: PATH}): written by the demo next to demo.yml."""

    community: str
    codec_credentials: str


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML; diacritics kept as they are)."""
    return json.dumps(text, ensure_ascii=False)


def _bandwidth(bits: int) -> str:
    return f"{bits // 1_000_000_000}Gbit" if bits % 1_000_000_000 == 0 else f"{bits // 1_000_000}Mbit"


def _site(site: SitePlan, hub: str, ports: Ports, files: Files) -> list[str]:
    snmp = f"snmp: {{version: 2c, port: {ports.router[site.id]}, community: {{file: {_q(files.community)}}}"
    unit = site.role != "province"
    lines = [
        f"  - id: {site.id}",
        f"    name: {_q(site.name)}",
        f"    role: {site.role}",
    ]
    if site.code is not None:
        lines.append(f"    code: {_q(site.code)}")  # quoted: YAML reads an unquoted 05542 as an octal number
    if unit:
        lines.append(f"    parent: {hub}")
    if site.location is not None:
        lines.append(f"    location: {{lat: {site.location[0]}, lon: {site.location[1]}}}")
    if site.technician:
        lines.append(f"    technicians: [{site.technician}]")
    if unit:
        lines.append(
            f"    link: {{address: {site.router_address}, device: {site.router_id}, "
            f"interface: {_q(site.wan_interface)}, bandwidth: {_bandwidth(site.contracted_bits)}}}"
        )
        lines.append("    devices:")
        lines.append(f"      - {{id: {site.router_id}, address: {site.router_address}, {snmp}}}}}")
    else:
        # The hub has no uplink of its own here; its core router's port towards the units is polled.
        lines.append("    devices:")
        lines.append(
            f"      - {{id: {site.router_id}, address: {site.router_address}, {snmp}, "
            f"interfaces: [{_q(site.wan_interface)}], "
            f"bandwidth: {{{_q(site.wan_interface)}: {_bandwidth(site.contracted_bits)}}}}}}}"
        )
    if site.ups_address is not None:
        lines.append(
            f"      - {{id: {site.id}-ups, address: {site.ups_address}, snmp: {{version: 2c, port: "
            f"{ports.ups[site.id]}, community: {{file: {_q(files.community)}}}, ups: true}}}}"
        )
    lines.append("    endpoints:")
    codec = f"{site.id}-vcs" if site.vendor else f"{site.id}-mcu"
    lines.append(
        f"      - {{id: {codec}-sip, kind: sip, address: {site.codec_address}, port: {ports.sip[site.id]}, "
        "transport: udp}"
    )
    if site.vendor is not None:
        lines.append(
            f"      - {{id: {codec}, kind: {site.vendor}, address: {site.codec_address}, port: {ports.api[site.id]}, "
            f"scheme: http, credentials: {{file: {_q(files.codec_credentials)}}}}}"
        )
    if not unit and ports.portal is not None:
        # The province's web portal: an https check (self-signed, so not verified) and a plain port check.
        url = f"https://127.0.0.1:{ports.portal}/"
        lines.append(f"      - {{id: cong-thong-tin, kind: http, address: {_q(url)}, tls_verify: false}}")
        lines.append(f"      - {{id: cong-thong-tin-tcp, kind: tcp, address: 127.0.0.1, port: {ports.portal}}}")
    return lines


def _durations(seconds: Sequence[float]) -> str:
    return ", ".join(f"{lead // 60:g}m" if lead % 60 == 0 else f"{lead:g}s" for lead in seconds)


def meeting_start(now: datetime, lead: float = MEETING_LEAD) -> datetime:
    """When the demo briefing starts: ``lead`` (MEETING_LEAD, or `giaoban demo --meeting-in`) after ``now``."""
    return now.replace(microsecond=0) + timedelta(seconds=lead)


def central_start(now: datetime, lead: float = MEETING_LEAD) -> datetime:
    """When the central conference starts: as the one-hour briefing ends."""
    return meeting_start(now, lead) + timedelta(hours=1)


def render_config(
    plan: Sequence[SitePlan],
    ports: Ports,
    files: Files,
    *,
    listen: str,
    now: datetime,
    lead: float = MEETING_LEAD,
    bridge_uri: Callable[[SitePlan], str | None] | None = None,
) -> str:
    """The demo's inventory as YAML text; ``now`` is aware, in the province's time zone (meetings are local).

    ``bridge_uri`` names each site's call leg on the demo's bridge (monitor/demo/calls.py; None: the site has
    none): with it, the inventory has the bridge and the watch of the briefing in progress (issue 18)."""
    start = meeting_start(now, lead).replace(tzinfo=None)
    central = central_start(now, lead).replace(tzinfo=None)
    days = (7 - now.weekday()) % 7 or 7  # the next Monday, never today (its 07:30 may be past)
    monday = (now + timedelta(days=days)).replace(hour=7, minute=30, second=0, microsecond=0, tzinfo=None)
    hub = plan[0]
    where = province()
    faults = ", ".join(f"{site.id} ({site.fault})" for site in plan if site.fault is not None)
    head = f"""\
# giaoban demo: {where.name} simulated on loopback — written by `giaoban demo` at {now:%Y-%m-%d %H:%M:%S}.
# The hub and the {len(plan) - 1} units of the official list (province {where.code}). Every router, codec and UPS
# below is an emulator inside the demo process; this file is rewritten at each start.
# Sites with deliberate faults: {faults}.
organisation: {{name: {_q(where.name + " (demo)")}, code: {_q(where.code)}, timezone: Asia/Ho_Chi_Minh, locale: vi}}
listen: {_q(listen)}
defaults:
  interval: {INTERVAL:g}s         # rates within a minute, alerts within two, ~5% of a core (60s in real use)
  timeout: 3s
  icmp: {{count: 10, interval: 100ms, timeout: 1s}}
readiness:
  icmp_count: 50
  tick: 2s
  site_timeout: 30s
api: {{token: {{env: {TOKEN_ENV}}}}}
technicians:
"""
    lines = [head.rstrip("\n")]
    lines += [f"  - {{id: {tech}, name: {_q(name)}}}" for tech, name in TECHNICIANS]
    lines += [
        "alerts:",
        "  admins: [hoa]",
        "  topology_grace: 5s",
        f"  external_url: {_q('http://' + listen)}",
        "  rules:  # shortened so that the demo's faults alert within two minutes",
        "    link_down: {for: 30s}",
        "    link_loss: {for: 60s}",
        "    device_down: {for: 30s}",
        "    interface_down: {for: 30s}",
        "    interface_saturated: {for: 60s}",
        "    endpoint_down: {for: 60s}",
        "    endpoint_unregistered: {for: 60s}",
        "    peripheral_missing: {for: 60s}",
        "    ups_on_battery: {for: 30s}",
        "    poor_media: {for: 5s}  # 60s in real use: the demo's 4 % loss is told within 30 s",
        "notifiers:",
        f"  - {{id: demo-webhook, kind: webhook, url: {_q(ports.receiver_url)}}}",
        "meetings:",
        f"  - {{id: {MEETING_ID}, title: {_q(MEETING_TITLE)}, start: {_q(start.isoformat())}, duration: 1h,",
        f"     lead_times: [{_durations(LEAD_TIMES)}]}}",
        f"  - {{id: {WEEKLY_ID}, title: {_q(WEEKLY_TITLE)}, start: {_q(monday.isoformat())}, duration: 2h,",
        '     rrule: "FREQ=WEEKLY;BYDAY=MO"}',
        "  # The central government with all 34 provinces and every commune at once: the hub and every unit take",
        "  # part, at a higher call rate.",
        f"  - {{id: {CENTRAL_ID}, title: {_q(CENTRAL_TITLE)},",
        f"     start: {_q(central.isoformat())}, duration: 2h, sites: all, call_rate: {CENTRAL_CALL_RATE},",
        f"     lead_times: [{_durations(CENTRAL_LEAD_TIMES)}]}}",
    ]
    if bridge_uri is not None and ports.bridge is not None:
        lines += [
            "calls: {interval: 5s, timeout: 4s, join_grace: 60s}  # 10s, 5s and 5m in real use",
            "bridges:  # the hub's bridge (Cisco Meeting Server API); each site's call leg by its address",
            f"  - id: {hub.id}-mcu",
            "    kind: cms",
            f"    address: {hub.codec_address}",
            f"    port: {ports.bridge}",
            f"    credentials: {{file: {_q(files.codec_credentials)}}}",
            "    settings: {scheme: http}",
            "    participants:",
            *(f"      {site.id}: [{_q(uri)}]" for site in plan if (uri := bridge_uri(site)) is not None),
        ]
    lines.append("sites:")
    for site in plan:
        lines += _site(site, hub.id, ports, files)
    return "\n".join(lines) + "\n"
