"""The official list of units shipped in the package (monitor/config/units2025.py) and its lookups."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from monitor.config import units2025
from probes.core.ids import is_id

DATA = Path(__file__).resolve().parent.parent / "monitor" / "config" / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_every_unit_of_the_csv_is_read_once_in_its_province() -> None:
    """34 provinces, 3,321 units, codes unique; each unit in the province the CSV names (official figures)."""
    provinces = units2025.provinces()
    assert len(provinces) == 34
    units = [u for p in provinces for u in p.units]
    assert len(units) == len({u.code for u in units}) == 3321
    by_code = {row["code"]: row for row in _rows("communes-2025.csv")}
    for province in provinces:
        for unit in province.units:
            row = by_code[unit.code]
            assert unit.name == row["name"] and units2025.fold(row["province"]) == units2025.fold(province.name)
    sizes = sorted(len(p.units) for p in provinces)
    assert (sizes[0], sizes[-1]) == (38, 168)
    assert Counter(u.kind for u in units)["special_zone"] == 13


def test_province_codes_are_the_official_ones() -> None:
    """The 2-digit codes of Công văn 915/CTK-CSCL, as shipped; Thái Nguyên is 19, Hà Nội 01, Cà Mau 96."""
    shipped = {row["code"]: row["name"] for row in _rows("provinces-2025.csv")}
    assert {p.code: p.short_name for p in units2025.provinces()} == {
        code: name.removeprefix("Thành phố ") for code, name in shipped.items()
    }
    assert [(p.code, p.name) for p in units2025.find_provinces("19")] == [("19", "Tỉnh Thái Nguyên")]
    assert units2025.provinces()[0].name == "Thành phố Hà Nội" and units2025.provinces()[-1].code == "96"


def test_thai_nguyen_and_the_former_dinh_hoa() -> None:
    """Tỉnh Thái Nguyên: 92 units, 77 xã and 15 phường; Định Hoá's 22 former units are 8 communes now."""
    (province,) = units2025.find_provinces("Tỉnh Thái Nguyên")
    assert len(province.units) == 92
    assert Counter(u.kind for u in province.units) == {"commune": 77, "ward": 15}
    dinh_hoa = {"05569": "Định Hóa", "05587": "Bình Yên", "05581": "Trung Hội", "05563": "Phượng Tiến",
                "05602": "Phú Đình", "05605": "Bình Thành", "05551": "Kim Phượng", "05542": "Lam Vỹ"}  # fmt: skip
    for code, short in dinh_hoa.items():
        unit = units2025.unit(code)
        assert unit is not None and (unit.short_name, unit.kind, unit.province_code) == (short, "commune", "19")
    assert units2025.unit("99999") is None


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("thai nguyen", ["19"]),
        ("THÁI NGUYÊN", ["19"]),
        ("  19 ", ["19"]),
        ("9", []),
        ("Tp Hải Phòng", ["31"]),
        ("Thành phố Hà Nội", ["01"]),
        ("hue", ["46"]),
        ("ha", ["01", "31", "42"]),
        ("ninh", ["22", "24", "37", "80"]),
        ("ai", []),
        ("", []),
        ("Atlantis", []),
    ],
    ids=["ascii", "upper-diacritics", "code", "no-such-code", "abbreviated-city", "whole-name", "short", "ambiguous",
         "ambiguous-word", "inside-a-word", "empty", "unknown"],
)  # fmt: skip
def test_find_provinces(query: str, found: list[str]) -> None:
    """A code, the whole name or word starts, without case or diacritics; an exact name beats a part."""
    assert [p.code for p in units2025.find_provinces(query)] == found


def test_site_ids_are_readable_and_unique() -> None:
    """Bare names where unique, the kind where that tells them apart, the code as the last resort."""
    every = [u for p in units2025.provinces() for u in p.units]
    ids = units2025.site_ids(every, taken=["trung-uong"])
    assert len(set(ids.values())) == 3321 and all(is_id(i) for i in ids.values())
    (province,) = units2025.find_provinces("19")
    local = units2025.site_ids(province.units, taken=["dinh-hoa"])
    assert local["05569"] == "xa-dinh-hoa"  # its bare name is taken: the kind is added
    assert (local["05665"], local["02143"]) == ("van-lang-05665", "van-lang-02143")  # Văn Lăng and Văn Lang
    assert units2025.site_ids(province.units)["05569"] == "dinh-hoa"
    (dong_thap,) = units2025.find_provinces("dong thap")
    by_kind = units2025.site_ids(dong_thap.units)  # Phường Mỹ Tho and Xã Mỹ Thọ are both "my-tho" bare
    assert (by_kind["28261"], by_kind["30076"]) == ("phuong-my-tho", "xa-my-tho")
    assert units2025.slug("Phường Văn Miếu - Quốc Tử Giám") == "phuong-van-mieu-quoc-tu-giam"
