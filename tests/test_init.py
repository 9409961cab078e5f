"""`giaoban init`: skeleton inventories from the official list, for every province and for the whole country."""

from __future__ import annotations

import csv
import io
import ipaddress
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli.check_config import check_config
from monitor.cli.main import main
from monitor.config.loader import ConfigError, load_config

DATA = Path(__file__).resolve().parent.parent / "monitor" / "config" / "data"
ROLES = {"Xã": "commune", "Phường": "ward", "Đặc": "special_zone"}  # "Đặc khu": the first word is enough


def _official() -> dict[str, dict[str, str]]:
    """{province as the CSV writes it: {code: name}}, read straight from the shipped file."""
    units: dict[str, dict[str, str]] = defaultdict(dict)
    with (DATA / "communes-2025.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            units[row["province"]][row["code"]] = row["name"]
    return dict(units)


OFFICIAL = _official()


def _init(tmp_path: Path, *args: str) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "giaoban.yml"
    assert main(["init", *args, "-o", str(out)]) == 0
    return out, yaml.load(out.read_text("utf-8"), Loader=yaml.CSafeLoader)


@pytest.mark.parametrize("province", sorted(OFFICIAL), ids=sorted(OFFICIAL))
def test_each_province_gets_exactly_its_official_units(tmp_path: Path, province: str) -> None:
    """Named as the CSV names it; the file's units are the list's (codes, names, roles), under one hub, valid."""
    path, data = _init(tmp_path, "--province", province, "--addresses", "test")
    hub, *units = data["sites"]
    assert hub["role"] == "province" and "parent" not in hub and "code" not in hub
    assert {u["code"]: u["name"] for u in units} == OFFICIAL[province]
    assert all(u["role"] == ROLES[u["name"].split(" ")[0]] and u["parent"] == hub["id"] for u in units)
    assert len(data["organisation"]["code"]) == 2
    config = load_config(path)  # validates: ids unique, codes well-formed, loopback addresses
    assert [s.code for s in config.sites[1:]] == list(OFFICIAL[province])
    assert all(ipaddress.ip_address(s.link.address).is_loopback for s in config.sites if s.link)


def test_skeleton_addresses_are_reported_until_filled_in(tmp_path: Path) -> None:
    """FILL-ME is no address: check-config names each unit still missing one, by name and code."""
    path, data = _init(tmp_path, "--province", "thai nguyen")
    assert data["organisation"] == {"name": "Tỉnh Thái Nguyên", "code": "19", "timezone": "Asia/Ho_Chi_Minh",
                                    "locale": "vi"}  # fmt: skip
    assert data["sites"][0] == {"id": "tinh-thai-nguyen", "name": "UBND tỉnh Thái Nguyên", "role": "province"}
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    messages = [problem.message for problem in caught.value.problems]
    assert len(messages) == 92 and all(p.path.endswith(".link.address") for p in caught.value.problems)
    assert "fill in the link address of Xã Định Hóa (code 05569)" in messages
    err = io.StringIO()
    assert check_config(str(path), out=io.StringIO(), err=err) == 2
    assert err.getvalue().splitlines()[-1] == f"{path}: 92 problems; nothing was loaded"


def test_national_inventory_holds_every_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One central site, 34 provincial hubs under it, 3,321 units under their hubs; it validates on loopback."""
    path, data = _init(tmp_path, "--national", "--addresses", "test")
    sites = data["sites"]
    roles = Counter(site["role"] for site in sites)
    assert roles["central"] == 1 and roles["province"] == 34
    assert roles["commune"] + roles["ward"] + roles["special_zone"] == 3321 == len(sites) - 35
    central = sites[0]["id"]
    hubs = {site["id"]: site["name"] for site in sites if site["role"] == "province"}
    assert all(site["parent"] == central for site in sites if site["id"] in hubs)
    codes = {site["code"]: site["name"] for site in sites if "code" in site}
    assert codes == {code: name for units in OFFICIAL.values() for code, name in units.items()}
    assert all(site["parent"] in hubs for site in sites if "code" in site)
    addresses = [ipaddress.ip_address(site["link"]["address"]) for site in sites if "link" in site]
    assert len(addresses) == len(set(addresses)) == 3355
    assert all(a in ipaddress.ip_network("127.0.0.0/8") and a.packed[-1] not in (0, 255) for a in addresses)
    assert len(load_config(path).sites) == 3356
    assert "\r" not in capsys.readouterr().err  # no progress when stderr is not a terminal


def test_national_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress goes to stderr when it is a terminal, and the inventory to stdout untouched by it."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err, out = Terminal(), io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.stdout", out)
    assert main(["init", "--national"]) == 0
    shown = err.getvalue()
    assert "\rgiaoban init: 3321/3321 đơn vị / units" in shown and shown.endswith("\n")
    assert shown.count("\r") == 34
    assert out.getvalue().startswith("# giaoban: cả nước") and "\r" not in out.getvalue()


@pytest.mark.parametrize(
    ("query", "listed"),
    [("ha", ["01  Thành phố Hà Nội", "31  Thành phố Hải Phòng", "42  Tỉnh Hà Tĩnh"]), ("Atlantis", None)],
    ids=["ambiguous", "unknown"],
)
def test_unknown_or_ambiguous_province_lists_candidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str, listed: list[str] | None
) -> None:
    """Exit 2, nothing written, and the provinces to choose from (all 34 when nothing matched)."""
    out = tmp_path / "x.yml"
    assert main(["init", "--province", query, "-o", str(out)]) == 2
    assert not out.exists()
    lines = capsys.readouterr().err.splitlines()
    assert query in lines[0]
    candidates = [line.strip() for line in lines[1:]]
    if listed is not None:
        assert candidates == listed
    else:
        with (DATA / "provinces-2025.csv").open(encoding="utf-8", newline="") as file:
            codes = [row["code"] for row in csv.DictReader(file)]
        assert [line.split()[0] for line in candidates] == codes and len(codes) == 34


def test_existing_file_is_kept_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An inventory someone already filled in is never overwritten by accident."""
    out = tmp_path / "giaoban.yml"
    out.write_text("# mine\n", "utf-8")
    assert main(["init", "--province", "19", "-o", str(out)]) == 2
    assert out.read_text("utf-8") == "# mine\n"
    assert "--force" in capsys.readouterr().err
    assert main(["init", "--province", "19", "-o", str(out), "--force"]) == 0
    assert out.read_text("utf-8").startswith("# giaoban: Tỉnh Thái Nguyên (mã/code 19)")


def test_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Without -o the skeleton is printed, so it can be piped or looked at first."""
    assert main(["init", "--province", "Thành phố Huế"]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    assert data["organisation"]["code"] == "46" and len(data["sites"]) == 41
