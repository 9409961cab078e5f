"""Write examples/thai-nguyen.yml: the reference inventory of Tỉnh Thái Nguyên and its 92 units.

    .venv/bin/python examples/make_thai_nguyen.py            rewrite examples/thai-nguyen.yml
    .venv/bin/python examples/make_thai_nguyen.py --check    exit 1 if the file is not what this writes

The units (names, codes, kinds) come from the official list shipped in the package
(monitor/config/units2025.py), their ids from the same rule `giaoban init` uses. Everything else (devices,
codecs, people, channels, briefings) is made up for the example, and every address is a documentation
address (RFC 5737):

    192.0.2.0/24      the provincial hub (.1-.20); UPS of some units (.21-.99); the out-of-band management
                      address of every fourth unit's router (.101-.192)
    198.51.100.0/24   each unit's link, which is also its router's address unless it has a management one
    203.0.113.0/24    each unit's room codec

92 units take 92 link, 92 codec, 23 management and 31 UPS addresses, the hub 9 more: 247 of the 762
that the three ranges hold (.1-.254 each), so every address is distinct.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from monitor.config.units2025 import Unit, find_provinces, site_ids, slug

OUT = Path(__file__).with_name("thai-nguyen.yml")
PROVINCE = find_provinces("19")[0]
HUB = slug(PROVINCE.name)

# Field technicians, each for a run of the official list (which follows the former districts); hoa and
# minh at the province's digital-transformation centre get everything (alerts.admins).
TECHNICIANS = [
    ("hoa", "Đào Thị Hoa", None, "101"),
    ("minh", "Lê Quang Minh", "100000010", "102"),
    ("tuan", "Nguyễn Văn Tuấn", "100000001", "111"),
    ("lan", "Hoàng Thị Lan", "100000002", "112"),
    ("hung", "Ma Văn Hùng", "100000003", "113"),
    ("thu", "Triệu Thị Thu", "100000004", "114"),
    ("duc", "Nông Văn Đức", "100000005", "115"),
    ("mai", "Lục Thị Mai", "100000006", "116"),
]
FIELD = [ident for ident, *_ in TECHNICIANS[2:]]

# Where the official code is also the code of a former unit of Huyện Định Hoá with a known place
# (its 2022-2023 coordinates, as in examples/dinh-hoa.yml): that place, for the map. Estimates (±3-5 km)
# except Phú Đình.
LOCATIONS = {
    "05569": (21.89, 105.64),
    "05587": (21.85, 105.58),
    "05581": (21.86, 105.64),
    "05563": (21.92, 105.68),
    "05602": (21.8011, 105.525),
    "05605": (21.78, 105.61),
    "05551": (21.94, 105.65),
    "05542": (22.0, 105.68),
}

HEADER = """\
# giaoban inventory for Tỉnh Thái Nguyên (code 19, merged with Bắc Kạn on 1 July 2025): the provincial hub
# and its 92 commune-level units (77 xã, 15 phường) from the official list (Công văn 1027/CTK-CSCL; see
# monitor/config/data/README.md). This file is the configuration reference: every key the schema accepts is
# shown or described here. It is written by examples/make_thai_nguyen.py (run it again after changing
# that script; the tests check the two agree). `giaoban init --province 19` writes the bare skeleton.
#
# Check it with `giaoban check-config examples/thai-nguyen.yml`; every problem is reported at once as
# FILE:LINE:COL: path: message. Unknown keys are errors, so a typo never silently does nothing.
#
# All addresses are documentation ranges (RFC 5737): 192.0.2.0/24 the hub, UPS and router management
# addresses; 198.51.100.0/24 the units' links; 203.0.113.0/24 their room codecs. Replace them with the
# real TSLCD addresses before use. Nothing here is ever probed by the tests.
#
# Units: durations 200ms, 10s, 1m30s, 2h (a bare number is seconds); bandwidth 2048kbit, 100Mbit,
# 1Gbit (bits per second); ratios 1% or 0.01; sizes 1MiB; DSCP a name (AF41, EF, CS5) or a number 0-63.
#
# Secrets are never written here: {env: NAME} reads an environment variable, {file: PATH} reads a file
# (a relative PATH is taken from this file's directory; one trailing newline is dropped). A plain
# string where a secret belongs is an error. Secrets never appear in logs, metrics, the API or
# check-config output.

# Who owns the hub: its name as shown on the board and in alerts, its official code (a province has two
# digits), the IANA time zone that meeting times and maintenance windows are read in, and the language of
# messages (vi or en). Older files call this block `district:`; it is still read, with a warning.
organisation: {name: "Tỉnh Thái Nguyên", code: "19", timezone: Asia/Ho_Chi_Minh, locale: vi}

# Defaults for every target; a site, link or endpoint may override some of them.
defaults:
  interval: 60s          # how often each target is probed
  timeout: 10s           # deadline of one tcp or http probe
  # One ICMP round per link: `count` echoes `interval` apart, marked like video traffic (AF41, RFC 4594);
  # loss, RTT spread, jitter and an estimated MOS come from one round. Also: payload_size, ip_version.
  icmp: {count: 10, interval: 200ms, timeout: 2s, dscp: AF41}
  # tcp settings: tls, tls_verify, tls_server_name, ca_file, send, expect (a regular expression).
  tcp: {}
  # http settings: method, headers, body, bearer_token (a secret), valid_status_codes (empty: any 2xx),
  # body_regex, body_not_regex, json_checks [{path, equals}], tls_verify, ca_file, max_redirects,
  # max_body_size.
  http: {max_redirects: 3}
  # SIP OPTIONS (RFC 3261 §11): 200 ready, 486/600/603 alive but busy, other answers alive but not
  # ready, silence down. Also: request_user, from_user, tls_server_name, ca_file.
  sip: {transport: udp, t1: 500ms}
  # Room codecs' status APIs: credentials (a secret holding "user:password"), scheme, tls_verify, ca_file,
  # max_body_size, require_registration (false for codecs dialled by IP only). Codecs usually ship a
  # self-signed certificate: give its CA as ca_file, or (as here) do not verify.
  cisco-xapi: {scheme: https, tls_verify: false}
  poly-rest: {scheme: https, tls_verify: false}
  # Quality limits for interactive video: ITU-T G.114 (150 ms), Cisco (loss 1%, jitter 30 ms, call
  # rate + 20% headroom free on the uplink). Beyond them a site is DEGRADED; beyond the *_critical twins
  # (rtt_critical 400ms, jitter_critical 60ms, loss_critical 3%, mos_critical 3.1) it is NOT_READY.
  thresholds: {rtt: 150ms, jitter: 30ms, loss: 1%, mos: 3.6, headroom: 20%}

# People who fix things. A site lists the ids of its technicians; alerts go to them on every channel
# that has their address (telegram_chat_id, email, phone). Numbers and addresses here are placeholders.
technicians:
"""

SITE_KEYS = """
# The tree of sites. Keys of a site:
#   id           stable ASCII id (lower-case letters, digits, - and _): used in metrics, storage and the API
#   name         the name people read
#   role         central | province | district | commune (default) | ward | special_zone | other
#   code         the official five-digit unit code, in quotes ("05569": unquoted, YAML reads some codes as
#                octal numbers); unique in the inventory; exported as giaoban_site_info{code}
#   parent       id of the site this one is reached through; when the parent's link or router is down,
#                its children's alerts fold into one
#   location     {lat, lon} for the map
#   technicians  ids from the list above
#   link         the site's uplink, probed by ICMP: address; device and interface (the router port that
#                carries it, polled by SNMP); bandwidth (contracted, if less than the port speed);
#                interval; icmp (overrides of defaults.icmp)
#   devices      routers, switches, UPS polled by SNMP: id (unique in the whole inventory), address,
#                interval, snmp {version 1|2c|3, port, community (v1/v2c), user, auth MD5|SHA|SHA224|
#                SHA256|SHA384|SHA512, auth_key, priv DES|AES|AES128|AES192|AES256, priv_key, context,
#                timeout, retries, max_repetitions, interfaces, bandwidth, ups}
#   endpoints    what a room's readiness is read from: id (unique in the whole inventory), kind (icmp,
#                tcp, http, sip, h323, cisco-xapi, poly-rest, jitsi), address (host or IP; for http the
#                URL), port, interval, timeout, call_rate, and the kind's own settings (see defaults)
#   thresholds   overrides of defaults.thresholds for this site
sites:
  - id: @HUB@
    name: "@HUB_NAME@"
    role: province
    technicians: [hoa, minh]
    # The hub's uplink towards the central government's network: when it is down, the communes cannot
    # join a central conference through the hub and their alerts are folded into this one.
    link: {address: 192.0.2.2, device: hub-core, interface: GigabitEthernet0/0/0, bandwidth: 1Gbit}
    devices:
      # SNMPv3 authPriv: user-based security with SHA authentication and AES privacy (RFC 3414, 3826).
      - id: hub-core
        address: 192.0.2.1
        snmp:
          version: 3
          user: giaoban
          auth: SHA
          auth_key: {env: HUB_AUTH}
          priv: AES
          priv_key: {file: /etc/giaoban/hub.priv}
          interfaces: [GigabitEthernet0/0/1, GigabitEthernet0/0/2]   # the two trunks towards the communes
          bandwidth: {GigabitEthernet0/0/2: 500Mbit}
      # The hub's UPS (UPS-MIB, RFC 1628): on battery, and minutes of runtime left.
      - {id: hub-ups, address: 192.0.2.5, snmp: {version: 2c, community: {env: TSLCD_COMMUNITY}, ups: true}}
    endpoints:
      # The provincial MCU: SIP OPTIONS over TCP, its H.323 listener (H.225, TCP 1720: a connect proves a
      # listener only) and its web status page (self-signed: not verified).
      - {id: hub-mcu, kind: sip, address: 192.0.2.10, port: 5060, transport: tcp}
      - {id: hub-mcu-h323, kind: h323, address: 192.0.2.10}
      - {id: hub-mcu-web, kind: http, address: "https://192.0.2.11/", valid_status_codes: [200], tls_verify: false}
      # The hub's own meeting room, and the Jitsi bridge used when the MCU is down (/about/health).
      - id: hub-room
        kind: cisco-xapi
        address: 192.0.2.12
        credentials: {file: /etc/giaoban/cisco.secret}
        call_rate: 4096kbit
      - {id: hub-jitsi, kind: jitsi, address: 192.0.2.13, scheme: https, require_stats: true}

  # The 92 commune-level units, in the official list's order. Each has a link to the hub, its router
  # (SNMP v2c with one community for the whole TSLCD network, written once with the YAML anchor
  # &commune-snmp and reused as *commune-snmp; wards' routers use SNMPv3, &ward-snmp), its room codec
  # (Poly, Cisco or SIP only) and, at some, a UPS. Every fourth router is managed on its own address.
"""

TAIL = """
# Briefings in the config's schedule (more come from `giaoban meetings add`, the API and .ics imports).
# start is wall-clock time in the organisation's zone; rrule repeats it (RFC 5545); exdates skip
# occurrences; sites: all (default) or a list of site ids; call_rate sizes the bandwidth check (+ headroom);
# lead_times override readiness.lead_times.
meetings:
  - id: giao-ban-tuan
    title: "Giao ban tuần UBND tỉnh với các xã, phường"
    start: "2026-01-05T07:30"
    duration: 2h
    rrule: "FREQ=WEEKLY;BYDAY=MO"
    exdates: ["2026-02-16T07:30"]      # Tết Bính Ngọ
  - id: giao-ban-thang
    title: "Giao ban tháng"
    start: "2026-01-06T14:00"
    duration: 3h
    rrule: "FREQ=MONTHLY;BYDAY=1TU"     # the first Tuesday of every month
    call_rate: 4096kbit
  # A conference of the central government with all 34 provinces and every commune at once: the communes
  # join through the provincial MCU, so the hub's uplink and every room must be ready early.
  - id: hoi-nghi-trung-uong
    title: "Hội nghị trực tuyến toàn quốc của Chính phủ"
    start: "2026-03-02T08:00"
    duration: 4h
    sites: all
    call_rate: 4096kbit
    lead_times: [2h, 60m, 30m, 10m]

# Readiness before each meeting (giaoban readiness MEETING; GET /api/v1/meetings/ID/readiness): fresh checks
# of every participating site at each lead time.
readiness:
  lead_times: [60m, 30m, 10m]
  icmp_count: 50          # echoes in each link's readiness round (at defaults.icmp.interval: 10 s)
  rate_window: 5s         # SNMP counter window when no recent poll gives a rate
  rebooted_within: 1h     # a router restarted this recently makes the site DEGRADED
  site_timeout: 45s       # bound on one site's checks
  summary_grace: 15m      # how late after a start the T-0 summary still goes out

# Alerts from the live state (rules: link_down, link_loss, link_rtt, link_jitter, link_mos,
# device_down, device_rebooted, interface_down, interface_saturated, ups_on_battery, endpoint_down,
# endpoint_unregistered, peripheral_missing, certificate_expiring) and from readiness (site_not_ready).
# Each rule has a severity and a `for`; override them here (or enabled: false). Admins receive every
# alert; technicians those of their sites (or of the nearest parent site that has technicians).
alerts:
  admins: [hoa, minh]
  reminder_interval: 30m          # until acknowledged (giaoban alerts ack ID, POST /api/v1/alerts/ID/ack)
  resend_interval: 1m             # firing alerts pushed to Alertmanager again (below its resolve_timeout)
  topology_grace: 1m              # a child site waits this long: its parent may be the one that is down
  external_url: https://giaoban.example.org
  certificate_warning: 14d
  rules:
    link_down: {for: 2m}
    link_mos: {severity: warning, for: 10m}
    interface_saturated: {for: 5m}

# Maintenance windows silence matching alerts (one-off or recurring, in the organisation's time zone);
# sites, targets ("link", a device or an endpoint id) and rules narrow them. More come from
# `giaoban maintenance add` and POST /api/v1/maintenance.
maintenance:
  - id: vnpt-sunday
    title: "VNPT bảo trì định kỳ"
    start: "2026-01-04T22:00"
    duration: 2h
    rrule: "FREQ=WEEKLY;BYDAY=SU"
  - id: nang-cap-dinh-hoa
    title: "Nâng cấp phần mềm bộ định tuyến xã Định Hóa"
    start: "2026-01-10T21:00"
    duration: 90m
    sites: [dinh-hoa]
    targets: [link, dinh-hoa-router]
    rules: [link_down, device_down, device_rebooted]

# Where notifications go; each channel takes the severities listed (default all). Technicians' chat ids and
# e-mail addresses come from the technicians list. Without any notifier, notifications are logged.
notifiers:
  - {id: am, kind: alertmanager, url: "http://alertmanager.example:9093", severities: [critical, warning]}
  # Telegram: base_url for a local Bot API server (default https://api.telegram.org); chat_ids are fixed
  # chats (a group of the province's technicians) on top of each technician's own.
  - id: tg
    kind: telegram
    bot_token: {env: TG_TOKEN}
    base_url: "https://telegram-bot-api.example"
    chat_ids: ["-100000000001"]
  - id: mail
    kind: email
    from: giaoban@example.org
    to: [ict@example.org]
    smtp: {host: mail.example, port: 587, starttls: true, user: giaoban, password: {env: SMTP_PASS}}
  # A generic webhook (JSON, signed with the secret): e.g. a relay to a Zalo Official Account.
  - {id: hook, kind: webhook, url: "https://ops.example/hook", secret: {env: HOOK_SECRET}, severities: [critical]}

# Bearer token for the API's POST/DELETE routes (meetings, acknowledgements). Without a token every
# write is refused.
api: {token: {env: GIAOBAN_TOKEN}}

# Where the HTTP server listens (/metrics, the API, the board).
listen: 127.0.0.1:9876
# The database of the service and of every command given -c this file (giaoban alerts ack, meetings, readiness):
# SQLite (four slashes: an absolute path; a relative path is taken from this file's directory; without database:,
# giaoban.db beside this file), or postgresql://USER@HOST:PORT/NAME with its password as {url:, password: {env:}}.
database: sqlite:////var/lib/giaoban/giaoban.db
# Probe history kept in the database: raw points, then hourly aggregates.
history: {raw_retention: 2d, hourly_retention: 365d, batch: 1000, flush_interval: 5s}

# Probes of one kind in flight at once.
scheduler:
  concurrency: {icmp: 512, tcp: 256, http: 128, sip: 256, snmp: 64, cisco-xapi: 64, poly-rest: 64}
"""


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _technicians() -> list[str]:
    lines = []
    for ident, name, chat, phone in TECHNICIANS:
        chat_part = f', telegram_chat_id: "{chat}"' if chat else ""
        lines.append(
            f"  - {{id: {ident}, name: {_q(name)}{chat_part}, email: {ident}@example.org, "
            f'phone: "+84 000 000 {phone}"}}'
        )
    return lines


class _Anchors:
    """A YAML anchor is written where it is first used and referred to after."""

    def __init__(self) -> None:
        self.defined: set[str] = set()

    def use(self, name: str, body: str) -> str:
        if name in self.defined:
            return f"*{name}"
        self.defined.add(name)
        return f"&{name} {body}"


def _unit(n: int, unit: Unit, ident: str, anchors: _Anchors) -> list[str]:
    """The n-th unit (1-based) of the list, with its link, router, codec and maybe a UPS."""
    link = f"198.51.100.{n}"
    router = f"{ident}-router"
    management = f"192.0.2.{100 + n}" if n % 4 == 0 else link
    bandwidth = "100Mbit" if n % 8 == 0 else "200Mbit"  # most commune links were doubled to 200 Mbit/s in 2025
    technician = FIELD[(n - 1) * len(FIELD) // 92]
    if unit.kind == "ward":
        snmp = anchors.use(
            "ward-snmp",
            "{version: 3, user: giaoban, auth: SHA256, auth_key: {env: WARD_SNMP_AUTH}, priv: AES256, "
            "priv_key: {file: /etc/giaoban/ward.priv}}",
        )
    else:
        snmp = anchors.use("commune-snmp", "{version: 2c, community: {env: TSLCD_COMMUNITY}}")
    lines = [
        f"  - id: {ident}",
        f"    name: {_q(unit.name)}",
        f"    role: {unit.kind}",
        f'    code: "{unit.code}"',
        f"    parent: {HUB}",
    ]
    if unit.code in LOCATIONS:
        lat, lon = LOCATIONS[unit.code]
        lines.append(f"    location: {{lat: {lat}, lon: {lon}}}   # the former unit with this code")
    lines += [
        f"    technicians: [{technician}]",
        f"    link: {{address: {link}, device: {router}, interface: GigabitEthernet0/0/1, bandwidth: {bandwidth}}}",
        "    devices:",
        f"      - {{id: {router}, address: {management}, snmp: {snmp}}}",
    ]
    if n % 3 == 1:
        ups = anchors.use("ups-snmp", "{version: 2c, community: {env: TSLCD_COMMUNITY}, ups: true}")
        lines.append(f"      - {{id: {ident}-ups, address: 192.0.2.{21 + n // 3}, snmp: {ups}}}")
    codec = f"203.0.113.{n}"
    if n % 3 == 0:
        endpoint = f"kind: cisco-xapi, address: {codec}, credentials: {{file: /etc/giaoban/cisco.secret}}"
    elif n % 3 == 1:
        endpoint = f"kind: poly-rest, address: {codec}, credentials: {{env: POLY_CREDENTIALS}}"
    else:  # a codec without a status API: SIP OPTIONS only, dialled by IP
        endpoint = f"kind: sip, address: {codec}, port: 5060"
    lines += ["    endpoints:", f"      - {{id: {ident}-vcs, {endpoint}, call_rate: 2048kbit}}"]
    return lines


def render() -> str:
    ids = site_ids(PROVINCE.units, taken=[HUB])
    anchors = _Anchors()
    units = [line for n, u in enumerate(PROVINCE.units, 1) for line in _unit(n, u, ids[u.code], anchors)]
    sites = SITE_KEYS.replace("@HUB@", HUB).replace("@HUB_NAME@", PROVINCE.hub_name)
    return HEADER + "\n".join(_technicians()) + "\n" + sites + "\n".join(units) + "\n" + TAIL


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run {Path(__file__).name} again", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
