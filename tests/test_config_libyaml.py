"""The inventory loader on libyaml's parser: used when PyYAML has it, and the same to the letter as the pure one.

Same means: the same data, the same mark (line, column) for every node (schema problems are placed by them),
the same duplicate keys, and the same problems for every bad-config case in tests/config_cases/. A file
libyaml refuses, or one with a tab, goes to the pure loader, so that its messages are PyYAML's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config import loader
from monitor.config.loader import ConfigError, load_config_text
from tests.peers import missing

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "tests" / "config_cases").glob("*.yml")) + sorted((ROOT / "examples").glob("*.yml"))

# What the case files do not show: wide characters before a value, other line breaks, merges, flow and block
# styles, quoted and folded scalars, keys that are not text.
CRAFTED = {
    "vietnamese": 'district: {name: "Định Hoá"}\nsites:\n  - {id: chợ, name: "Xã Bảo Linh 🙂", bad: 1}\n',
    "crlf": "district:\r\n  name: D\r\nsites:\r\n  - id: a\r\n    name: 'A'\r\n    bogus: [1, 2]\r\n",
    "nel-and-ls": 'district: {name: D}\x85sites: [{id: a, name: "x\u2028y"}]\u2029extra: 1\n',
    "merges": "base: &b {port: 161, community: {env: C}}\nsites:\n  - {id: a, snmp: {<<: *b, port: 1161}}\n",
    "scalars": "a: |\n  two\n  lines\nb: >-\n  folded\n  text\nc: 'it''s'\nd: \"\\u00e9\\t\"\n1: int key\n",
    "duplicates": "district: {name: A}\nsites: []\ndistrict: {name: B}\nx: {k: 1, k: 2}\n",
    "document-markers": "%YAML 1.1\n---\ndistrict: {name: D}\n...\n",
    "flow-colons": "a: {url: http://192.0.2.1:80/x, b: a:b}\nc: [x:y, 'q', ? k]\nd: 2026-12-07 07:30:00\n",
    "mid-file-bom": 'district: {name: "\ufeffD"}\n',
}


def need_libyaml() -> None:
    if loader._FastLoader is None:
        missing("PyYAML built with libyaml (the wheels on PyPI are)")


def parse_with(fast: type[loader._Checks] | None, text: str) -> tuple[object, ...]:
    """What pass 1 gives, as plain values; or the problems when it refuses the text."""
    saved = loader._FastLoader
    loader._FastLoader = fast
    try:
        doc = loader._parse(text, "f.yml")
    except ConfigError as exc:
        return ("refused", [str(problem) for problem in exc.problems])
    finally:
        loader._FastLoader = saved
    marks = {
        loc: (node.value.line, node.value.column, None if node.key is None else (node.key.line, node.key.column))
        for loc, node in doc.nodes.items()
    }
    return (doc.data, marks, [str(problem) for problem in doc.duplicates])


def problems_with(fast: type[loader._Checks] | None, text: str) -> list[str]:
    saved = loader._FastLoader
    loader._FastLoader = fast
    try:
        load_config_text(text, "f.yml")
    except ConfigError as exc:
        return [str(problem) for problem in exc.problems]
    finally:
        loader._FastLoader = saved
    return []


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    assert (loader._FastLoader is not None) == bool(getattr(yaml, "__with_libyaml__", False))
    need_libyaml()


def test_the_pure_scanner_is_not_run_on_a_valid_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the time went (~90 % in the pure scanner and parser): with libyaml, neither runs at all."""
    need_libyaml()

    def refuse(*args: object) -> None:
        raise AssertionError("the pure-Python scanner ran")

    monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens", refuse)
    config = load_config_text((ROOT / "examples" / "thai-nguyen.yml").read_text(encoding="utf-8"), "t.yml")
    assert len(config.sites) > 20


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_files_parse_the_same_on_either_parser(path: Path) -> None:
    need_libyaml()
    text = path.read_text(encoding="utf-8")
    assert parse_with(loader._FastLoader, text) == parse_with(None, text)
    assert problems_with(loader._FastLoader, text) == problems_with(None, text)


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_texts_parse_the_same_on_either_parser(name: str) -> None:
    need_libyaml()
    text = CRAFTED[name]
    fast, pure = parse_with(loader._FastLoader, text), parse_with(None, text)
    assert fast == pure
    assert fast[0] != "refused"  # these are valid YAML: the comparison is of what libyaml itself gave
    assert problems_with(loader._FastLoader, text) == problems_with(None, text)


@pytest.mark.parametrize(
    "text",
    [
        "district: {name: D\nsites: []\n",  # an unclosed flow mapping: libyaml words it otherwise
        "district: [a,\tb]\n",  # libyaml accepts a tab here, PyYAML does not
        "a: *nowhere\n",  # an undefined alias: composed in Python either way
        "a: 1\n b: 2\n",  # bad indentation
        "a: '\x07'\n",  # a control character: PyYAML's reader refuses it before parsing
    ],
    ids=["unclosed", "tab-in-flow", "undefined-alias", "indentation", "control-character"],
)
def test_refused_texts_get_the_pure_loaders_message(text: str) -> None:
    need_libyaml()
    fast = parse_with(loader._FastLoader, text)
    assert fast[0] == "refused"
    assert fast == parse_with(None, text)
