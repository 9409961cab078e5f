"""`giaoban init`: write a commented skeleton inventory from the official list of units (1 July 2025).

    giaoban init --province "Tỉnh Thái Nguyên" [-o FILE] [--force] [--addresses placeholder|test]
    giaoban init --province 19                   the same, by the province's code ("thai nguyen" works too)
    giaoban init --national [-o FILE] ...        central site, 34 provincial hubs, all 3,321 units

The skeleton holds the organisation, the hub(s) and every commune, ward and special zone with its role,
official ``code`` and a readable id (monitor/config/units2025.py). Addresses are ``FILL-ME``, which
check-config reports one by one until they are filled in; ``--addresses test`` writes loopback addresses
(127.0.0.0/8, derived from each site's place in the file) instead, so the file validates and runs locally.
Without -o the skeleton goes to stdout; an existing FILE is kept unless --force. Exit 0 written, 2 the
province is unknown or ambiguous (the candidates are listed), or FILE exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from monitor.cli.progress import terminal_progress
from monitor.config.placeholders import PLACEHOLDER
from monitor.config.units2025 import Province, Unit, find_provinces, provinces, site_ids, slug

EXIT_OK, EXIT_USAGE = 0, 2
CENTRAL_ID = "trung-uong"
_KIND_WORDS = {"commune": "xã", "ward": "phường", "special_zone": "đặc khu"}

Progress = Callable[[int, int, str], None]  # units done, units in all, the province just written


def add_parser(commands: Any) -> None:
    """Add `init` to the `giaoban` parser's subcommands."""
    init = commands.add_parser(
        "init",
        help="write a skeleton inventory for a province (or the whole country) from the official list",
        description="Write a commented skeleton inventory: the organisation, the hub and every commune-level "
        "unit of a province from the official list of 1 July 2025 (Công văn 1027/CTK-CSCL), with its "
        "code and role. Addresses are FILL-ME for you to fill in (check-config lists them).",
    )
    which = init.add_mutually_exclusive_group(required=True)
    which.add_argument("--province", metavar="NAME|CODE", help='e.g. "Tỉnh Thái Nguyên", "thai nguyen" or 19')
    which.add_argument("--national", action="store_true", help="the central site, 34 provincial hubs, all units")
    init.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    init.add_argument("--force", action="store_true", help="replace FILE if it exists")
    init.add_argument(
        "--addresses",
        choices=["placeholder", "test"],
        default="placeholder",
        help="placeholder: FILL-ME (default); test: loopback addresses 127.x.y.z, so the file runs locally",
    )


def run(args: argparse.Namespace) -> int:
    addresses = _Addresses(test=args.addresses == "test")
    if args.national:
        text = national_inventory(addresses, progress=terminal_progress("giaoban init", "đơn vị / units"))
    else:
        found = find_provinces(args.province)
        if len(found) != 1:
            _no_single_province(args.province, found, sys.stderr)
            return EXIT_USAGE
        text = province_inventory(found[0], addresses)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    path = Path(args.output)
    try:
        with path.open("w" if args.force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        print(
            f"giaoban init: {path} đã có; thêm --force để ghi đè / {path} exists; add --force to replace it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except OSError as exc:
        print(f"giaoban init: không ghi được / cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"giaoban init: đã ghi / wrote {path}; giaoban check-config {path}", file=sys.stderr)
    return EXIT_OK


def province_inventory(province: Province, addresses: _Addresses) -> str:
    """A province's skeleton: its hub (role province) and every unit of it, linked to the hub."""
    hub = slug(province.name)
    ids = site_ids(province.units, taken=[hub])
    lines = [
        *_header(f"{province.name} (mã/code {province.code}): {_counted(province.units)}", addresses),
        _organisation(province.name, province.code),
        *_technicians_hint(),
        "sites:",
        "  # The provincial hub, where giaoban runs. Add its MCU and core router, e.g.",
        "  #   devices: [{id: hub-core, address: ..., snmp: {version: 3, user: giaoban, auth: SHA,",
        "  #             auth_key: {env: HUB_AUTH}, priv: AES, priv_key: {file: /etc/giaoban/hub.priv}}}]",
        "  #   endpoints: [{id: hub-mcu, kind: sip, address: ...}]",
        _site(hub, province.hub_name, "province"),
        "",
        f"  # {len(province.units)} commune-level units. link: the unit's TSLCD uplink, probed by ICMP from the hub.",
        "  # Add each room's router (devices:) and codec (endpoints:) as examples/thai-nguyen.yml shows.",
        *(_unit(u, ids[u.code], hub, addresses) for u in province.units),
        *_meetings_hint(),
    ]
    return "\n".join(lines) + "\n"


def national_inventory(addresses: _Addresses, *, progress: Progress | None = None) -> str:
    """The central level: a central site, each province's hub under it, and each unit under its hub."""
    everything = provinces()
    hubs = {p.code: slug(p.name) for p in everything}
    units = [u for p in everything for u in p.units]
    ids = site_ids(units, taken=[CENTRAL_ID, *hubs.values()])
    lines = [
        *_header(f"cả nước / the whole country: 34 tỉnh, {_counted(units)}", addresses),
        _organisation("Trung ương", None),
        *_technicians_hint(),
        "sites:",
        "  # The central site, where giaoban runs; each provincial hub's link is probed from here.",
        _site(CENTRAL_ID, "Điểm cầu Trung ương", "central"),
    ]
    done = 0
    for province in everything:
        hub = hubs[province.code]
        lines += [
            "",
            f"  # {province.name} (mã/code {province.code}): {_counted(province.units)}",
            _site(hub, province.hub_name, "province", parent=CENTRAL_ID, link=addresses.next()),
            *(_unit(u, ids[u.code], hub, addresses) for u in province.units),
        ]
        done += len(province.units)
        if progress is not None:
            progress(done, len(units), province.name)
    lines += _meetings_hint()
    return "\n".join(lines) + "\n"


class _Addresses:
    """FILL-ME, or loopback test addresses 127.a.b.c numbered in file order (c never 0 or 255)."""

    def __init__(self, *, test: bool) -> None:
        self.test = test
        self._index = 0

    def next(self) -> str:
        if not self.test:
            return PLACEHOLDER
        index, self._index = self._index, self._index + 1
        rest, host = divmod(index, 254)
        high, middle = divmod(rest, 256)
        if high > 255:
            raise ValueError("more sites than 127.0.0.0/8 holds test addresses for")
        return f"127.{high}.{middle}.{host + 1}"


def _header(what: str, addresses: _Addresses) -> Iterator[str]:
    yield f"# giaoban: {what}"
    yield "# from the official list of 1 July 2025 (Công văn 1027/CTK-CSCL; monitor/config/data/README.md)."
    if addresses.test:
        yield "# Địa chỉ thử trên loopback (127.0.0.0/8) / loopback test addresses: replace them before real use."
    else:
        yield f"# Điền mọi địa chỉ {PLACEHOLDER} rồi chạy `giaoban check-config FILE`: nó liệt kê những chỗ còn thiếu."
        yield f"# Fill in every {PLACEHOLDER} address, then run `giaoban check-config FILE`: it lists each one left."
    yield "# examples/thai-nguyen.yml shows every other key: routers, codecs, technicians, channels, briefings."
    yield ""


def _organisation(name: str, code: str | None) -> str:
    fields = [f"name: {_quote(name)}"] + ([f"code: {_quote(code)}"] if code else [])
    return f"organisation: {{{', '.join(fields)}, timezone: Asia/Ho_Chi_Minh, locale: vi}}\n"


def _technicians_hint() -> list[str]:
    return [
        "# Who fixes things; a site lists their ids under technicians: [...]",
        "# technicians:",
        '#   - {id: tuan, name: "Nguyễn Văn Tuấn", telegram_chat_id: "100000001", phone: "+84 000 000 000"}',
        "",
    ]


def _meetings_hint() -> list[str]:
    return [
        "",
        "# Briefings (more come from `giaoban meetings add` and .ics imports), e.g. every Monday at 07:30:",
        "# meetings:",
        '#   - {id: giao-ban-tuan, title: "Giao ban tuần", start: "2026-01-05T07:30", duration: 2h,',
        '#      rrule: "FREQ=WEEKLY;BYDAY=MO"}',
    ]


def _unit(unit: Unit, ident: str, parent: str, addresses: _Addresses) -> str:
    return _site(ident, unit.name, unit.kind, code=unit.code, parent=parent, link=addresses.next())


def _site(
    ident: str, name: str, role: str, *, code: str | None = None, parent: str | None = None, link: str | None = None
) -> str:
    fields = [f"id: {ident}", f"name: {_quote(name)}", f"role: {role}"]
    if code is not None:
        fields.append(f"code: {_quote(code)}")  # quoted: YAML reads an unquoted 05542 as an octal number
    if parent is not None:
        fields.append(f"parent: {parent}")
    if link is not None:
        fields.append(f"link: {{address: {link}}}")
    return f"  - {{{', '.join(fields)}}}"


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is one), keeping Vietnamese letters as they are."""
    return json.dumps(text, ensure_ascii=False)


def _counted(units: tuple[Unit, ...] | list[Unit]) -> str:
    """'92 đơn vị / units: 77 xã, 15 phường'."""
    parts = [f"{n} {word}" for kind, word in _KIND_WORDS.items() if (n := sum(1 for u in units if u.kind == kind))]
    return f"{len(units)} đơn vị / units ({', '.join(parts)})"


def _no_single_province(query: str, found: list[Province], err: TextIO) -> None:
    if found:
        print(f"giaoban init: {query!r} khớp nhiều tỉnh / matches several provinces; chọn một / pick one:", file=err)
    else:
        print(f"giaoban init: không có tỉnh / no province {query!r}; các tỉnh / the provinces:", file=err)
    for province in found or provinces():
        print(f"  {province.code}  {province.name}", file=err)
