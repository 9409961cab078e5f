"""The official administrative units since 1 July 2025: 34 provinces and their 3,321 commune-level units.

    provinces() -> tuple[Province, ...]          in the order of their codes (01 Hà Nội ... 96 Cà Mau)
    find_provinces("thai nguyen") -> [Province]  by code ("19") or a case- and diacritic-insensitive part
                                                 of the name (word starts: "thai ng"); a whole name wins
    unit("05569") -> Unit | None                 one unit by its five-digit code
    site_ids(units) -> {code: id}                readable ids that are unique within one inventory

The lists are read from the CSV files in monitor/config/data/ (their sources: data/README.md) once, on
first use. A unit's kind follows its name's prefix: Xã (commune), Phường (ward), Đặc khu (special zone).
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

from probes.core.ids import is_id

UnitKind = Literal["commune", "ward", "special_zone"]

# Longest first: every name starts with exactly one of these (a test reads the whole list).
_PREFIXES: tuple[tuple[str, UnitKind], ...] = (("Đặc khu ", "special_zone"), ("Phường ", "ward"), ("Xã ", "commune"))
_CITY = "Thành phố "


@dataclass(frozen=True, slots=True)
class Unit:
    """A commune-level unit: xã, phường or đặc khu."""

    code: str  # five digits, e.g. "05569"
    name: str  # as the official list writes it, e.g. "Xã Định Hóa"
    province_code: str
    kind: UnitKind

    @property
    def short_name(self) -> str:
        """The name without its prefix: "Định Hóa"."""
        return next(self.name.removeprefix(prefix) for prefix, kind in _PREFIXES if kind == self.kind)


@dataclass(frozen=True, slots=True)
class Province:
    """A province or centrally-run city, with its units in the official list's order."""

    code: str  # two digits, e.g. "19"
    name: str  # "Tỉnh Thái Nguyên", "Thành phố Hà Nội"
    units: tuple[Unit, ...]

    @property
    def short_name(self) -> str:
        """The name without "Tỉnh" or "Thành phố": "Thái Nguyên"."""
        return self.name.removeprefix("Tỉnh ").removeprefix(_CITY)

    @property
    def hub_name(self) -> str:
        """The provincial People's Committee that hosts the briefings: "UBND tỉnh Thái Nguyên"."""
        return "UBND " + self.name[0].lower() + self.name[1:]


def provinces() -> tuple[Province, ...]:
    """The 34 provinces, in the order of their codes."""
    return _load()[0]


def unit(code: str) -> Unit | None:
    """The unit with this five-digit code, if there is one."""
    return _load()[1].get(code)


def find_provinces(query: str) -> list[Province]:
    """The provinces ``query`` names: by code, by the whole name, else by a part of it; [] if none."""
    text = query.strip()
    if text.isdigit():
        return [p for p in provinces() if p.code == text.zfill(2)]
    wanted = fold(text)
    if not wanted:
        return []
    exact = [p for p in provinces() if wanted in (fold(p.name), fold(p.short_name))]
    return exact or [p for p in provinces() if _part_of(wanted.split(), fold(p.name).split())]


def _part_of(words: list[str], name: list[str]) -> bool:
    """Whether ``words`` begin consecutive words of ``name``: "thai ng" is part of "tinh thai nguyen", "ai" is not."""
    return any(
        all(name[start + i].startswith(word) for i, word in enumerate(words))
        for start in range(len(name) - len(words) + 1)
    )


def fold(text: str) -> str:
    """Lower case, without diacritics, words joined by one space: "Tp Hồ Chí Minh" -> "thanh pho ho chi minh"."""
    plain = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    if words[:1] == ["tp"]:  # the commune list abbreviates "Thành phố" as "Tp"
        words[:1] = ["thanh", "pho"]
    return " ".join(words)


def slug(text: str) -> str:
    """An id made from a name: "Xã Định Hóa" -> "xa-dinh-hoa"."""
    return fold(text).replace(" ", "-")


def site_ids(units: Iterable[Unit], *, taken: Iterable[str] = ()) -> dict[str, str]:
    """An id per unit code: the bare name ("dinh-hoa") where it is unique among ``units`` and not ``taken``,
    else with the kind ("xa-dinh-hoa", "phuong-dinh-hoa"), else with the code ("tan-thanh-05923")."""
    chosen = list(units)
    used = set(taken)
    bare = Counter(slug(u.short_name) for u in chosen)
    ids: dict[str, str] = {}
    for u in chosen:
        if bare[slug(u.short_name)] == 1 and slug(u.short_name) not in used:
            ids[u.code] = slug(u.short_name)
    used |= set(ids.values())
    rest = [u for u in chosen if u.code not in ids]
    prefixed = Counter(slug(u.name) for u in rest)
    for u in rest:
        if prefixed[slug(u.name)] == 1 and slug(u.name) not in used:
            ids[u.code] = slug(u.name)
    used |= set(ids.values())
    for u in rest:
        if u.code not in ids:
            ids[u.code] = f"{slug(u.short_name)[:57].rstrip('-')}-{u.code}"  # the code is unique: so is this
    for code, ident in ids.items():
        if not is_id(ident):  # only a name of more than 60 letters could get here
            ids[code] = f"unit-{code}"
    return ids


@functools.cache
def _load() -> tuple[tuple[Province, ...], dict[str, Unit]]:
    data = resources.files("monitor.config") / "data"
    heads = [(row["code"], _full_name(row["name"])) for row in _rows(data / "provinces-2025.csv")]
    code_of = {fold(name): code for code, name in heads}
    members: dict[str, list[Unit]] = {code: [] for code, _ in heads}
    for row in _rows(data / "communes-2025.csv"):
        province_code = code_of[fold(row["province"])]  # a KeyError here is a broken data file
        name = unicodedata.normalize("NFC", row["name"].strip())
        members[province_code].append(Unit(row["code"], name, province_code, _kind(name)))
    ordered = tuple(Province(code, name, tuple(members[code])) for code, name in sorted(heads))
    return ordered, {u.code: u for p in ordered for u in p.units}


def _rows(path: Traversable) -> list[dict[str, str]]:
    # splitlines: the commune list keeps the source's CRLF line ends
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def _full_name(name: str) -> str:
    """The 915 list writes "Cao Bằng" and "Thành phố Hà Nội"; the provinces' own names say "Tỉnh"."""
    name = unicodedata.normalize("NFC", name.strip())
    return name if name.startswith(_CITY) else "Tỉnh " + name


def _kind(name: str) -> UnitKind:
    for prefix, kind in _PREFIXES:
        if name.startswith(prefix):
            return kind
    raise ValueError(f"unit {name!r} in the official list has none of the prefixes Xã, Phường, Đặc khu")
