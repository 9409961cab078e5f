"""Which sites an agent owns (issue 17): subtrees, hash shards, their intersection, and the errors for bad flags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.main import main
from monitor.config.models import Config
from monitor.config.units2025 import provinces, site_ids, slug
from monitor.engine.ownership import EVERYTHING, OwnershipSpec, Shard, hashmod, owned_targets
from monitor.engine.targets import targets_from_config
from monitor.errors import UsageError

pytestmark = pytest.mark.timeout(60)


@cache
def nation() -> Config:
    """Central, the 34 provincial hubs and the 3,321 units of monitor/config/data/communes-2025.csv, named as
    `giaoban init --national` names them (monitor/config/units2025.py), each with a loopback link."""
    everything = provinces()
    hubs = {p.code: slug(p.name) for p in everything}
    units = [u for p in everything for u in p.units]
    ids = site_ids(units, taken=["trung-uong", *hubs.values()])
    sites: list[dict[str, object]] = [{"id": "trung-uong", "name": "Trung ương", "role": "central"}]
    for province in everything:
        sites.append({"id": hubs[province.code], "name": province.hub_name, "role": "province", "parent": "trung-uong"})
        sites += [
            {"id": ids[u.code], "name": u.name, "parent": hubs[province.code], "link": {"address": "127.0.0.1"}}
            for u in province.units
        ]
    return Config.model_validate({"district": {"name": "Cả nước"}, "sites": sites})


def communes() -> list[str]:
    return [s.id for s in nation().sites if s.role not in ("central", "province")]


def test_hashmod_is_prometheus_hashmod() -> None:
    """The values of Prometheus' own relabel test (model/relabel/relabel_test.go, modulus 1000: "baz" → 976,
    "foo\\nbar" → 734), so a relabel rule `action: hashmod` over the site label picks the same shard."""
    assert hashmod("baz", 1000) == 976
    assert hashmod("foo\nbar", 1000) == 734


def test_shard_is_the_same_in_another_process_with_another_hash_seed() -> None:
    """Agents on other machines and after restarts agree: Python's salted hash() would not."""
    sample = communes()[:200]
    here = [hashmod(site, 7) for site in sample]
    script = "import sys; from monitor.engine.ownership import hashmod; print([hashmod(s, 7) for s in sys.argv[1:]])"
    for seed in ("12345",):
        there = subprocess.run(
            [sys.executable, "-c", script, *sample],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert there.strip() == str(here)


@pytest.mark.parametrize("count", [2, 3, 4, 8])
def test_shards_of_the_nation_are_balanced_and_partition_it(count: int) -> None:
    """Every commune in exactly one of N shards, each shard within 10 % of 3,321/N."""
    config = nation()
    owned = [OwnershipSpec.parse(agent=f"a{k}", shard=f"{k}/{count}").resolve(config) for k in range(count)]
    seen: Counter[str] = Counter()
    for ownership in owned:
        seen.update(list(ownership.lease_of))
    assert set(seen) == {s.id for s in config.sites} and set(seen.values()) == {1}
    units = communes()
    per_shard = [sum(1 for site in units if ownership.owns(site)) for ownership in owned]
    assert sum(per_shard) == len(units) == 3321
    fair = len(units) / count
    assert all(abs(n - fair) <= 0.10 * fair for n in per_shard), per_shard


def test_scope_is_the_subtree_and_shard_intersects_it() -> None:
    """--scope tinh-thai-nguyen owns the hub and its 92 units; with --shard 0/2 about half of them, all inside it."""
    config = nation()
    scope = OwnershipSpec.parse(agent="tn", scopes=["tinh-thai-nguyen"]).resolve(config)
    assert len(scope.lease_of) == 93 and set(scope.lease_of.values()) == {"tinh-thai-nguyen"}
    assert scope.owns("tinh-thai-nguyen") and not scope.owns("trung-uong") and not scope.owns("ha-noi")
    assert all(
        config.index.ancestors(s)[:1] == ("tinh-thai-nguyen",) for s in scope.lease_of if s != "tinh-thai-nguyen"
    )
    halves = [
        OwnershipSpec.parse(agent="tn", scopes=["tinh-thai-nguyen"], shard=f"{k}/2").resolve(config) for k in (0, 1)
    ]
    assert set(halves[0].lease_of) | set(halves[1].lease_of) == set(scope.lease_of)
    assert not set(halves[0].lease_of) & set(halves[1].lease_of)
    assert halves[1].units == ("tinh-thai-nguyen:1/2",) and 30 <= len(halves[1].lease_of) <= 63


def test_several_scopes_each_with_its_own_lease_and_the_whole_inventory_by_default() -> None:
    """A comma list and a repeated flag add up; each scope is its own lease unit; no --scope is the unit "*"."""
    config = nation()
    two = OwnershipSpec.parse(agent="north", scopes=["tinh-thai-nguyen,tinh-cao-bang", "tinh-cao-bang"]).resolve(config)
    assert two.units == ("tinh-thai-nguyen", "tinh-cao-bang")
    assert two.count_by_unit()["tinh-thai-nguyen"] == 93 and two.sites_of(["tinh-cao-bang"]) == {
        s for s, unit in two.lease_of.items() if unit == "tinh-cao-bang"
    }
    everything = OwnershipSpec.parse(agent="one").resolve(config)
    assert everything.units == (EVERYTHING,) and len(everything.lease_of) == len(config.sites)
    targets = targets_from_config(config)
    assert {t.site for t in owned_targets(targets, two)} == {s for s in two.lease_of if config.site(s).link}  # type: ignore[union-attr]


WRITE_K_N = "write K/N, e.g. 0/4 (shard K of N, K from 0 to N-1)"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param({"shard": "4/4"}, "--shard '4/4': K must be 0 to 3 (the hashmod remainder, as in Prometheus)"),
        pytest.param({"shard": "0/0"}, "--shard '0/0': N must be 1 to 1024", id="n-zero"),
        pytest.param({"shard": "1-4"}, f"--shard '1-4': {WRITE_K_N}", id="no-slash"),
        pytest.param({"shard": "-1/4"}, f"--shard '-1/4': {WRITE_K_N}", id="negative"),
        pytest.param(
            {"scopes": ["a,,b"]}, "--scope 'a,,b': an empty site id; write --scope SITE_ID[,SITE_ID...]", id="empty"
        ),
        pytest.param({"scopes": ["Hà Nội"]}, "--scope 'Hà Nội' is not a site id", id="name-not-id"),
        pytest.param(
            {"agent": "bad name"},
            "--agent-name 'bad name': use lower-case letters, digits, '-' and '_' (e.g. hn-agent-1), "
            "at most 64 characters",
            id="agent-name",
        ),
    ],
)  # fmt: skip
def test_bad_flags_are_refused_with_what_to_write(flags: dict[str, Any], message: str) -> None:
    """Each malformed flag is refused before the inventory is read, with a message that says what to write."""
    with pytest.raises(UsageError) as caught:
        OwnershipSpec.parse(
            agent=str(flags.get("agent", "a1")), scopes=flags.get("scopes", []), shard=flags.get("shard")
        )
    assert str(caught.value) == message


def test_unknown_and_nested_scopes_are_refused() -> None:
    """A typo gets a did-you-mean; a scope inside another would put a site under two leases."""
    config = nation()
    with pytest.raises(
        UsageError, match=r"^--scope: unknown site 'tinh-thai-nguyn' \(did you mean 'tinh-thai-nguyen'\?\)"
    ):
        OwnershipSpec.parse(agent="a", scopes=["tinh-thai-nguyn"]).resolve(config)
    commune = next(s for s in config.index.descendants("tinh-thai-nguyen"))
    with pytest.raises(UsageError, match=f"^--scope {commune} is inside --scope tinh-thai-nguyen"):
        OwnershipSpec.parse(agent="a", scopes=["tinh-thai-nguyen", commune]).resolve(config)


def test_shard_parse_bounds_the_input() -> None:
    """A 10,000-digit K/N is refused by its shape, without big-integer arithmetic."""
    with pytest.raises(UsageError, match="write K/N"):
        Shard.parse("1" * 10_000 + "/4")
    assert str(Shard.parse(" 3/8 ")) == "3/8"


def test_run_refuses_an_unknown_scope_before_opening_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`giaoban run --scope TYPO` exits 2 with one line naming the id and the closest one, and creates no database."""
    config = tmp_path / "giaoban.yml"
    config.write_text(
        'district: {name: "Huyện Thử"}\nsites:\n  - {id: hub, name: "UBND"}\n'
        '  - {id: tan-thinh, name: "Xã Tân Thịnh", parent: hub}\n',
        encoding="utf-8",
    )
    database = tmp_path / "giaoban.db"
    assert main(["run", "-c", str(config), "--database", f"sqlite:///{database}", "--scope", "tan-thin"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("giaoban: --scope: unknown site 'tan-thin' (did you mean 'tan-thinh'?); known: hub, tan-thinh")
    )
    assert not database.exists()
    assert main(["run", "-c", str(config), "--shard", "2/2"]) == 2
    assert "--shard '2/2': K must be 0 to 1" in capsys.readouterr().err
