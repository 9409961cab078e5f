"""The README's commands and options are the CLI's, both ways (issue 15: a documented `probe sip --port` was refused).

Three sources in README.md: the "Command reference" table (every command and option), the kinds tables (a probe
kind's options are its settings, as ``--option-name``), and every ``giaoban ...`` example anywhere in it. The CLI
side is argparse's tree as ``monitor.cli.main.build_parser()`` builds it.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from monitor.cli.main import build_parser, takes_port
from probes import KINDS
from tests.service_harness import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
CELL = re.compile(r"(?<!\\)\|")
PROBE_COMMON = {"--deadline", "--json"}  # every probe kind's; --port where the kind takes one


@dataclass(frozen=True, slots=True)
class Node:
    path: tuple[str, ...]
    parser: argparse.ArgumentParser

    @property
    def children(self) -> dict[str, argparse.ArgumentParser]:
        for action in self.parser._actions:  # argparse keeps its tree only here
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    @property
    def options(self) -> set[str]:
        return {
            option
            for action in self.parser._actions
            if not isinstance(action, argparse._HelpAction)
            for option in action.option_strings
        }


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    for name, parser in node.children.items():
        yield from _nodes(Node((*node.path, name), parser))


ROOT_NODE = Node((), build_parser())
NODES = {node.path: node for node in _nodes(ROOT_NODE)}
LEAVES = {path: node for path, node in NODES.items() if not node.children}


def _walk(words: list[str]) -> tuple[Node, list[str]]:
    """The command node the words name (``list|add`` names several: the first is kept), and the words left."""
    node = ROOT_NODE
    rest = list(words)
    while rest and (choice := rest[0].split("|")[0]) in node.children:
        node = NODES[(*node.path, choice)]
        rest.pop(0)
    return node, rest


def _alternatives(words: list[str]) -> list[Node]:
    """Every command a synopsis may mean: ``meetings list|add`` is two; a node with subcommands, all below it."""
    node = ROOT_NODE
    candidates = [node]
    for word in words:
        picks = [name for name in word.split("|") if name in node.children]
        if not picks:
            break
        candidates = [NODES[(*node.path, name)] for name in picks]
        node = candidates[0]
    return [leaf for c in candidates for path, leaf in LEAVES.items() if path[: len(c.path)] == c.path]


def _rows(heading: str) -> list[list[str]]:
    """The cells of each row of the first table after ``heading``."""
    section = README.split(heading, 1)[1]
    rows: list[list[str]] = []
    for line in section.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in CELL.split(line.strip().strip("|"))]
            if not set(cells[0]) <= set("-"):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header


def _code(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _options(text: str) -> set[str]:
    return {option for span in _code(text) for option in OPTION.findall(span.replace("\\|", "|"))}


def reference() -> dict[tuple[str, ...], set[str]]:
    """The Command reference table: command path → the options its row lists."""
    out: dict[tuple[str, ...], set[str]] = {}
    for command, options in _rows("### Command reference"):
        (span,) = _code(command)
        node, _ = _walk(span.split()[1:])
        out[node.path] = _options(options)
    return out


def kind_tables() -> dict[str, set[str]]:
    """Every kinds table (endpoints, devices): kind → the option names its address and options cells give."""
    out: dict[str, set[str]] = {}
    for heading in ("Endpoint kinds", "Devices (`devices[].snmp`)"):
        for cells in _rows(heading):
            (kind,) = _code(cells[0])
            out[kind] = {span for cell in cells[1:] for span in _code(cell) if IDENTIFIER.fullmatch(span)}
    return out


def _flags(kind: str, name: str) -> set[str]:
    flag = "--" + name.replace("_", "-")
    field = KINDS[kind].settings.model_fields.get(name)
    return {flag, "--no-" + flag[2:]} if field is not None and field.annotation is bool else {flag}


def examples() -> list[str]:
    """Every ``giaoban ...`` the README shows: lines of code blocks and inline code, one command each."""
    found: list[str] = []
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.DOTALL)
    for block in blocks:
        previous: str | None = None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and previous is not None and line.strip().startswith("["):
                found[-1] += " " + line.strip()  # a synopsis continued on the next line
                continue
            previous = None
            for part in line.split(" · "):
                if (at := part.find("giaoban ")) >= 0 and not part[:at].strip().endswith(("-m", "/")):
                    found.append(part[at:])
                    previous = part
    prose = re.sub(r"```.*?```", "", README, flags=re.DOTALL)
    found += [span for span in _code(prose) if span.startswith("giaoban ")]
    return found


def _words(example: str) -> list[str]:
    text = re.split(r"\s#\s", example, maxsplit=1)[0]  # a shell comment
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote in a synopsis
        return text.split()


def test_the_reference_lists_every_command() -> None:
    """Each command a user can run has its row, and no row names a command that is not there."""
    rows = set(reference())
    commands = {path for path in LEAVES if path[:1] != ("probe",)} | {(), ("probe",)}
    assert rows == commands


@pytest.mark.parametrize("path", [*sorted(path for path in LEAVES if path[:1] != ("probe",)), ()], ids=" ".join)
def test_reference_options_are_the_cli_options(path: tuple[str, ...]) -> None:
    """A command's row lists exactly its options, aliases included (-c and --config)."""
    assert reference()[path] == NODES[path].options


def test_probe_row_lists_the_common_options() -> None:
    """The probe row lists the options every kind has, and --port; any other it shows is some kind's."""
    row = reference()[("probe",)]
    assert PROBE_COMMON | {"--port"} <= row
    kinds_options = {option for kind in KINDS for option in NODES[("probe", kind)].options}
    assert row <= kinds_options


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_options_are_the_probe_options(kind: str) -> None:
    """A kind's table row names each of its settings (and port where its address takes one): its probe's options."""
    documented = kind_tables()[kind]
    settings = set(KINDS[kind].settings.model_fields)
    assert documented == settings | ({"port"} if takes_port(KINDS[kind]) else set())
    cli = NODES[("probe", kind)].options
    expected = PROBE_COMMON | {flag for name in documented for flag in _flags(kind, name)}
    assert cli == expected


@pytest.mark.parametrize("example", examples())
def test_every_example_is_a_real_command(example: str) -> None:
    """Each `giaoban ...` in the README names a command and only options that command (or one of its kinds) has."""
    words = _words(example)[1:]
    candidates = _alternatives(words)
    assert candidates, f"{example!r} names no command"
    _, rest = _walk(words)
    for option in {o for word in rest for o in OPTION.findall(word.strip("[]()"))} - {"-h", "--help"}:
        assert any(option in node.options for node in candidates), f"{example!r}: {option} is not an option of it"


def test_examples_were_found() -> None:
    """The scan sees the README's examples (a change of format must not make the test above vacuous)."""
    found = examples()
    assert len(found) > 20
    assert any("probe sip 127.0.0.1 --port" in example for example in found)
    init = [example for example in found if example.startswith("giaoban init --province NAME|CODE")]
    assert init and "--addresses" in init[0]  # the synopsis' continuation line is part of it
