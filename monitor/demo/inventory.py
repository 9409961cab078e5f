"""The demo district as data: the hub and the 23 communes of Định Hoá, where each one's emulated devices live on
loopback, which sites are deliberately unhealthy, and the inventory (YAML) the real service is given.

Addresses (all of 127.0.0.0/8 answers locally on Linux, without root)::

    127.0.1.N   commune N's router: the link's address (ICMP) and its SNMP agent
    127.0.2.N   commune N's room codec: SIP OPTIONS (UDP) and its status API (HTTP)
    127.0.3.N   commune N's UPS (SNMP, UPS-MIB), where the site has one
    N = 100     the hub (router, MCU)

Ports are chosen when the emulators bind (a preferred port, else any free one) and written into the
generated inventory, so two demos can run side by side.

Coordinates and unit codes: REFERENCE.md (as of 2022–2023; "est" ones are ±3–5 km, fine for a demo map).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Vendor = Literal["cisco-xapi", "poly-rest"]
Fault = Literal["unregistered", "camera_missing", "link_down", "saturated", "ups_on_battery"]

HUB_ID = "hub"
HUB_NUMBER = 100
WAN_INTERFACE = "GigabitEthernet0/0/1"  # the commune router's port towards the TSLCD network
HUB_INTERFACE = "TenGigabitEthernet0/1/0"  # the hub's port towards the communes
MEETING_ID = "giao-ban-demo"
MEETING_TITLE = "Giao ban trực tuyến (demo)"
WEEKLY_ID = "giao-ban-tuan-demo"
WEEKLY_TITLE = "Giao ban tuần (demo)"
MEETING_LEAD = 180.0  # the demo briefing starts this many seconds after the demo
LEAD_TIMES = (150.0, 90.0, 30.0)  # readiness checks before it: the first 30 s after the demo starts
TOKEN_ENV = "GIAOBAN_DEMO_TOKEN"


@dataclass(frozen=True, slots=True)
class Commune:
    code: str  # national unit code
    id: str
    name: str
    lat: float
    lon: float


COMMUNES: tuple[Commune, ...] = (
    Commune("05536", "cho-chu", "Thị trấn Chợ Chu", 21.9114, 105.6453),
    Commune("05539", "linh-thong", "Xã Linh Thông", 22.03, 105.62),
    Commune("05542", "lam-vy", "Xã Lam Vỹ", 22.00, 105.68),
    Commune("05545", "quy-ky", "Xã Quy Kỳ", 21.98, 105.63),
    Commune("05548", "tan-thinh", "Xã Tân Thịnh", 21.96, 105.71),
    Commune("05551", "kim-phuong", "Xã Kim Phượng", 21.94, 105.65),
    Commune("05554", "bao-linh", "Xã Bảo Linh", 21.93, 105.58),
    Commune("05560", "phuc-chu", "Xã Phúc Chu", 21.92, 105.62),
    Commune("05563", "tan-duong", "Xã Tân Dương", 21.92, 105.68),
    Commune("05566", "phuong-tien", "Xã Phượng Tiến", 21.89, 105.68),
    Commune("05569", "bao-cuong", "Xã Bảo Cường", 21.89, 105.64),
    Commune("05572", "dong-thinh", "Xã Đồng Thịnh", 21.8763, 105.5967),
    Commune("05575", "dinh-bien", "Xã Định Biên", 21.8774, 105.5778),
    Commune("05578", "thanh-dinh", "Xã Thanh Định", 21.8644, 105.5436),
    Commune("05581", "trung-hoi", "Xã Trung Hội", 21.86, 105.64),
    Commune("05584", "trung-luong", "Xã Trung Lương", 21.85, 105.61),
    Commune("05587", "binh-yen", "Xã Bình Yên", 21.85, 105.58),
    Commune("05590", "diem-mac", "Xã Điềm Mặc", 21.83, 105.55),
    Commune("05593", "phu-tien", "Xã Phú Tiến", 21.83, 105.66),
    Commune("05596", "boc-nhieu", "Xã Bộc Nhiêu", 21.79, 105.65),
    Commune("05599", "son-phu", "Xã Sơn Phú", 21.80, 105.58),
    Commune("05602", "phu-dinh", "Xã Phú Đình", 21.8011, 105.5250),
    Commune("05605", "binh-thanh", "Xã Bình Thành", 21.78, 105.61),
)

HUB_NAME = "UBND huyện Định Hoá"
HUB_LOCATION = (21.9114, 105.6453)  # Chợ Chu, the district centre

# The sites that are deliberately unhealthy, and how.
FAULTS: dict[str, Fault] = {
    "lam-vy": "unregistered",
    "binh-yen": "camera_missing",
    "phu-dinh": "link_down",
    "diem-mac": "saturated",
    "tan-duong": "ups_on_battery",
}

# What the readiness check reports for each fault (reason codes of monitor/readiness/texts.py) and the verdict.
EXPECTED: dict[Fault, tuple[str, tuple[str, ...]]] = {
    "unregistered": ("NOT_READY", ("endpoint_not_registered",)),
    "camera_missing": ("NOT_READY", ("camera_missing",)),
    "link_down": ("NOT_READY", ("interface_down", "endpoint_down")),
    "saturated": ("NOT_READY", ("bandwidth_insufficient",)),
    "ups_on_battery": ("DEGRADED", ("ups_on_battery",)),
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
}

TECHNICIANS: tuple[tuple[str, str], ...] = (
    ("hoa", "Trần Thị Hoa"),  # the district ICT office: admin
    ("tuan", "Nguyễn Văn Tuấn"),
    ("minh", "Lê Đức Minh"),
    ("lan", "Hoàng Thị Lan"),
)


@dataclass(frozen=True, slots=True)
class SitePlan:
    """One site of the demo and where its emulated devices listen."""

    id: str
    name: str
    number: int  # N of the 127.0.x.N addresses
    role: Literal["district", "commune"]
    lat: float
    lon: float
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
        return HUB_INTERFACE if self.role == "district" else WAN_INTERFACE


def district_plan() -> list[SitePlan]:
    """The hub, then the 23 communes in the order of their unit codes."""
    hub = SitePlan(
        id=HUB_ID,
        name=HUB_NAME,
        number=HUB_NUMBER,
        role="district",
        lat=HUB_LOCATION[0],
        lon=HUB_LOCATION[1],
        vendor=None,
        fault=None,
        contracted_bits=1_000_000_000,
        port_bits=10_000_000_000,
        technician="hoa",
    )
    plan = [hub]
    field_technicians = [tech for tech, _ in TECHNICIANS[1:]]
    for number, commune in enumerate(COMMUNES, start=1):
        fault = FAULTS.get(commune.id)
        vendor: Vendor = "cisco-xapi" if number % 2 else "poly-rest"
        if fault == "unregistered":
            vendor = "cisco-xapi"
        elif fault == "camera_missing":
            vendor = "poly-rest"
        plan.append(
            SitePlan(
                id=commune.id,
                name=commune.name,
                number=number,
                role="commune",
                lat=commune.lat,
                lon=commune.lon,
                vendor=vendor,
                fault=fault,
                contracted_bits=10_000_000 if fault == "saturated" else 100_000_000,
                port_bits=100_000_000 if fault == "saturated" else 1_000_000_000,
                technician=field_technicians[(number - 1) % len(field_technicians)],
            )
        )
    return plan


@dataclass(frozen=True, slots=True)
class Ports:
    """Where the emulators ended up listening (by site id), and the demo's own webhook receiver."""

    router: Mapping[str, int]
    sip: Mapping[str, int]
    api: Mapping[str, int]
    ups: Mapping[str, int]
    receiver_url: str
    portal: int | None = None  # the hub's HTTPS web portal (monitor/demo/portal.py)


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


def _site(site: SitePlan, ports: Ports, files: Files) -> list[str]:
    snmp = f"snmp: {{version: 2c, port: {ports.router[site.id]}, community: {{file: {_q(files.community)}}}"
    lines = [
        f"  - id: {site.id}",
        f"    name: {_q(site.name)}",
        f"    role: {site.role}",
    ]
    if site.role == "commune":
        lines.append(f"    parent: {HUB_ID}")
    lines.append(f"    location: {{lat: {site.lat}, lon: {site.lon}}}")
    if site.technician:
        lines.append(f"    technicians: [{site.technician}]")
    if site.role == "commune":
        lines.append(
            f"    link: {{address: {site.router_address}, device: {site.router_id}, "
            f"interface: {_q(site.wan_interface)}, bandwidth: {_bandwidth(site.contracted_bits)}}}"
        )
        lines.append("    devices:")
        lines.append(f"      - {{id: {site.router_id}, address: {site.router_address}, {snmp}}}}}")
    else:
        # The hub has no uplink of its own here; its core router's port towards the communes is polled.
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
    if site.role == "district" and ports.portal is not None:
        # The district's web portal: an https check (self-signed, so not verified) and a plain port check.
        url = f"https://127.0.0.1:{ports.portal}/"
        lines.append(f"      - {{id: cong-thong-tin, kind: http, address: {_q(url)}, tls_verify: false}}")
        lines.append(f"      - {{id: cong-thong-tin-tcp, kind: tcp, address: 127.0.0.1, port: {ports.portal}}}")
    return lines


def render_config(
    plan: Sequence[SitePlan],
    ports: Ports,
    files: Files,
    *,
    listen: str,
    now: datetime,
) -> str:
    """The demo's inventory as YAML text; ``now`` is aware, in the district's time zone (meetings are local)."""
    start = (now + timedelta(seconds=MEETING_LEAD)).replace(microsecond=0, tzinfo=None)
    tomorrow = (now + timedelta(days=1)).replace(hour=7, minute=30, second=0, microsecond=0, tzinfo=None)
    leads = ", ".join(f"{lead:g}s" for lead in LEAD_TIMES)
    head = f"""\
# giaoban demo: huyện Định Hoá simulated on loopback — written by `giaoban demo` at {now:%Y-%m-%d %H:%M:%S}.
# Every router, codec and UPS below is an emulator inside the demo process; this file is rewritten at each start.
# Sites with deliberate faults: {", ".join(f"{site} ({fault})" for site, fault in FAULTS.items())}.
organisation: {{name: "Huyện Định Hoá (demo)", timezone: Asia/Ho_Chi_Minh, locale: vi}}
listen: {_q(listen)}
defaults:
  interval: 5s          # short, so that rates and alerts show within a minute (60s in real use)
  timeout: 3s
  icmp: {{count: 5, interval: 100ms, timeout: 1s}}
readiness:
  icmp_count: 10
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
        "  topology_grace: 10s",
        f"  external_url: {_q('http://' + listen)}",
        "  rules:  # shortened so that the demo's faults alert within two minutes",
        "    link_down: {for: 30s}",
        "    device_down: {for: 30s}",
        "    interface_down: {for: 30s}",
        "    interface_saturated: {for: 60s}",
        "    endpoint_down: {for: 60s}",
        "    endpoint_unregistered: {for: 60s}",
        "    peripheral_missing: {for: 60s}",
        "    ups_on_battery: {for: 30s}",
        "notifiers:",
        f"  - {{id: demo-webhook, kind: webhook, url: {_q(ports.receiver_url)}}}",
        "meetings:",
        f"  - {{id: {MEETING_ID}, title: {_q(MEETING_TITLE)}, start: {_q(start.isoformat())}, duration: 1h,",
        f"     lead_times: [{leads}]}}",
        f"  - {{id: {WEEKLY_ID}, title: {_q(WEEKLY_TITLE)}, start: {_q(tomorrow.isoformat())}, duration: 2h}}",
        "sites:",
    ]
    for site in plan:
        lines += _site(site, ports, files)
    return "\n".join(lines) + "\n"
