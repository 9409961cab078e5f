"""Load the inventory YAML into a Config, reporting every problem at once as FILE:LINE:COL: path: message.

    load_config(path, *, resolve_secrets=False) -> Config        raises ConfigError(problems)
    load_config_text(text, filename, ...) -> Config              the same from a string

For example::

    giaoban.yml:12:7: defaults.icmp.intervall: unknown key 'intervall' (did you mean 'interval'?);
        allowed keys here: count, interval, timeout, payload_size, dscp, ip_version     (one line)
    giaoban.yml:40:5: sites[3].parent: unknown parent site 'hubb' (did you mean 'hub'?); known: hub, cho-chu, ...

Passes, reported together as far as the earlier ones allow:
  0. bounds (issue 13): a file over MAX_FILE_BYTES is refused unread, and aliases may bring in at most
     MAX_ALIAS_NODES nodes, so a small file of nested aliases cannot take the CPU and memory of check-config
     or of a running service's reload;
  1. YAML → plain data, plus the start mark of every node (a syntax error stops here; a duplicate key,
     which PyYAML would silently resolve by keeping the last value, does not);
  2. the pydantic schema (monitor.config.models), each error mapped through the node marks and reworded to
     say what to fix;
  3. cross-references (monitor.config.references), on the plain data so they run even when 2 fails;
  4. secrets: relative ``{file: PATH}`` paths are made absolute against the config file's directory;
     with ``resolve_secrets`` every secret must be readable. No message ever contains a secret's value.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from monitor.config.models import Config
from monitor.config.references import Loc, check_references, format_loc
from monitor.errors import GiaobanError
from probes.core.secrets import Secret, SecretUnavailable

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

MAX_FILE_BYTES = 4 * 1024 * 1024  # the 24-site example is 19 KB: a whole province fits many times over
MAX_ALIAS_NODES = 100_000  # nodes that aliases (and ``<<:`` merges) may bring in, in the whole file


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the inventory, where it is, and what to do about it (line/col 1-based)."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"


class ConfigError(GiaobanError):
    """The inventory cannot be used; ``problems`` holds every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def load_config(path: str | Path, *, resolve_secrets: bool = False) -> Config:
    """Read and validate the inventory at ``path``; raise ConfigError listing every problem."""
    name = str(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # never more: the file could be anything, even /dev/zero
    except OSError as exc:
        raise ConfigError([Problem(name, 1, 1, "<file>", f"cannot read the file: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([_too_large(name)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
        raise ConfigError([Problem(name, line, col, "<file>", message)]) from None
    base_dir = Path(path).absolute().parent
    return load_config_text(text, name, resolve_secrets=resolve_secrets, base_dir=base_dir)


def load_config_text(
    text: str, filename: str, *, resolve_secrets: bool = False, base_dir: Path | None = None
) -> Config:
    """Validate inventory YAML held in ``text``; ``filename`` only names it in problems.

    Relative secret file paths are taken against ``base_dir`` (left as they are when it is None).
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ConfigError([_too_large(filename)])
    doc = _parse(text, filename)
    report = _Report(filename, doc)
    report.problems.extend(doc.duplicates)
    config: Config | None = None
    try:
        config = Config.model_validate(doc.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=True):
            report.schema_error(error)
    for loc, message in check_references(doc.data):
        report.add(loc, message)
    if config is not None:
        config = _map_secrets(config, (), lambda loc, secret: _rebase(secret, base_dir))
        if resolve_secrets:
            for loc, secret in _secrets(config, ()):
                if (why := _unreadable(secret)) is not None:
                    report.add(loc, why)
    if report.problems or config is None:
        raise ConfigError(report.sorted())
    return config


# --- pass 1: YAML with positions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """Where a value sits: the start of the value, and of its key when it is a mapping entry."""

    value: yaml.Mark
    key: yaml.Mark | None


@dataclass(slots=True)
class _Document:
    data: dict[str, Any]
    nodes: dict[Loc, _Node]
    duplicates: list[Problem]


def _too_large(filename: str) -> Problem:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    message = f"the file is larger than {limit} MiB, more than any inventory needs; is it the right file?"
    return Problem(filename, 1, 1, "<file>", message)


class _AliasBoundError(yaml.composer.ComposerError):
    """Aliases bring in more than MAX_ALIAS_NODES: refused by our composer, the same message on either parser."""


class _Checks(yaml.composer.Composer, yaml.constructor.SafeConstructor):
    """Bounds alias expansion and records every repeated key instead of keeping the last silently.

    PyYAML's composer shares an aliased node, so ten lines of aliases nested nine deep compose quickly into
    a graph whose tree is 9**9 nodes: whatever walks it (constructor merges, the position index, pydantic)
    would visit each path. Each node's size as a tree is known once it is composed, so each alias adds its
    target's size to ``through_aliases`` and the one that passes MAX_ALIAS_NODES is refused, where it stands.

    Mixed into both loaders below: the composer and constructor are PyYAML's Python ones in each, only the
    scanner and parser underneath differ.
    """

    def _start_checks(self) -> None:
        self.repeated: list[tuple[yaml.Node, yaml.Node]] = []  # (first key node, repeated key node)
        self.through_aliases = 0
        self._sizes: dict[int, int] = {}  # id(composed node) -> its node count as a tree, aliases expanded
        self._checked: set[int] = set()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        node = super().compose_node(parent, index)
        if node is None:
            return None
        if isinstance(event, yaml.AliasEvent):
            # An alias to a node still being composed (a recursive one) has no size yet: the walk stops there.
            self.through_aliases += self._sizes.get(id(node), 1)
            if self.through_aliases > MAX_ALIAS_NODES:
                raise _AliasBoundError(
                    None,
                    None,
                    f"alias *{event.anchor} takes what aliases bring in past {MAX_ALIAS_NODES:,} nodes; "
                    "write the repeated values out, or reuse anchors fewer times and less deeply",
                    typing.cast(yaml.Mark, event.start_mark),
                )
        elif isinstance(node, yaml.SequenceNode):
            self._sizes[id(node)] = 1 + sum(self._sizes.get(id(item), 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            pairs = node.value
            self._sizes[id(node)] = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in pairs)
        return node

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # Runs before every mapping is built and before merged ("<<") entries are spliced in: a key
        # given here and also merged from an anchor is an intended override, not a duplicate.
        if id(node) not in self._checked:
            self._checked.add(id(node))
            first: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in first:
                    self.repeated.append((first[key], key_node))
                else:
                    first[key] = key_node
        super().flatten_mapping(node)


class _Loader(_Checks, yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.resolver.Resolver):
    """PyYAML's pure-Python SafeLoader with the checks: the reference, and the one whose messages we show."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)  # checks for control characters right here
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._start_checks()


_FastLoader: type[_Checks] | None = None
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure loader does it all, ~10 times slower
    pass
else:

    class _CLoader(_Checks, CParser, yaml.resolver.Resolver):
        """libyaml's scanner and parser (C) under PyYAML's composer and constructor (Python), with the checks.

        Scanning and parsing are ~90 % of the pure loader's time on the national inventory. yaml.CSafeLoader
        composes in C too, where no compose_node could bound aliases; composing in Python keeps the bound and
        the node marks exactly as the pure loader has them. _Checks comes first so that its Composer, not
        CParser's C composer, answers get_single_node.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._start_checks()

    _FastLoader = _CLoader


def _compose(loader_class: type[_Checks], text: str) -> tuple[_Checks, yaml.Node | None, Any]:
    """Compose and construct ``text``: the loader (its repeated keys and constructor), the root node, the data."""
    loader = loader_class(text)  # type: ignore[call-arg]
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()  # type: ignore[attr-defined]
    return loader, root, data


def _parse(text: str, filename: str) -> _Document:
    composed = None
    if _FastLoader is not None and "\t" not in text:
        # libyaml accepts tabs in places PyYAML refuses them (inside flow collections): such a file goes to the
        # pure loader, so that what loads, and every message, is the same with or without libyaml.
        try:
            composed = _compose(_FastLoader, text)
        except _AliasBoundError as exc:
            raise ConfigError([_yaml_problem(filename, exc)]) from None
        except yaml.YAMLError:
            composed = None  # libyaml's messages differ from PyYAML's: let the pure loader say what is wrong
    try:
        if composed is None:
            composed = _compose(_Loader, text)
        loader, root, data = composed
        if not isinstance(data, dict) or root is None:
            shape = "empty" if data is None else _shape(data)
            mark = root.start_mark if root is not None else None
            where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            message = f"the top level must be a mapping of keys (district:, sites:, ...); this file is {shape}"
            raise ConfigError([Problem(filename, *where, "<top>", message)])
        index = _Index(loader)
        index.visit(root, (), None)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_yaml_problem(filename, exc)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_reader_problem(filename, text, exc)]) from None
    duplicates = []
    for first, again in loader.repeated:
        loc = index.key_locs.get(id(again), ())
        key = loc[-1] if loc else again.value
        message = (
            f"duplicate key {key!r}, first given at line {first.start_mark.line + 1}; "
            "only one is kept, so remove or rename the other"
        )
        mark = again.start_mark
        duplicates.append(Problem(filename, mark.line + 1, mark.column + 1, format_loc(loc), message))
    return _Document(data, index.nodes, duplicates)


class _Index:
    """The marks of every node, by the path pydantic will use for it."""

    def __init__(self, loader: _Checks) -> None:
        self.loader = loader
        self.nodes: dict[Loc, _Node] = {}
        self.key_locs: dict[int, Loc] = {}  # id(key node) -> loc, to name duplicate keys
        self._active: set[int] = set()

    def visit(self, node: yaml.Node, loc: Loc, key: yaml.Mark | None) -> None:
        self.nodes[loc] = _Node(node.start_mark, key)
        if id(node) in self._active:  # a recursive alias; its positions are already recorded above it
            return
        self._active.add(id(node))
        if isinstance(node, yaml.MappingNode):
            # After construction node.value is flattened: merged entries first, explicit ones after, so
            # an explicit key overwrites the merged one here exactly as it does in the data.
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                # A plain text key is its node's value (what construct_yaml_str returns): no constructor call.
                name = key_node.value if key_node.tag == _STR_TAG else self.loader.construct_object(key_node)
                if isinstance(name, str | int):
                    self.key_locs[id(key_node)] = (*loc, name)
                    self.visit(value_node, (*loc, name), key_node.start_mark)
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                self.visit(item, (*loc, position), None)
        self._active.discard(id(node))


def _reader_problem(filename: str, text: str, exc: yaml.YAMLError) -> Problem:
    """A ReaderError (a control character) has no mark, only a character index."""
    position = getattr(exc, "position", 0)
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    return Problem(filename, line, col, "<yaml>", str(exc).splitlines()[0])


def _yaml_problem(filename: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = exc.problem or "invalid YAML"
    if exc.context:
        context_mark = exc.context_mark
        at = f" at line {context_mark.line + 1}" if context_mark is not None else ""
        message = f"{message} ({exc.context}{at})"
    if "'\\t'" in message:
        message += "; indent with spaces, YAML does not allow tabs"
    return Problem(filename, line, col, "<yaml>", message)


# --- pass 2: schema errors ------------------------------------------------------------------------


class _Report:
    """Collects problems, placing each loc on the YAML node it names."""

    def __init__(self, filename: str, doc: _Document) -> None:
        self.filename = filename
        self.nodes = doc.nodes
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()  # a list scan per add was quadratic: 20,000 problems took minutes

    def add(self, loc: Loc, message: str, *, at_key: bool = False) -> None:
        node = self._node(loc)
        mark = node.key if at_key and node.key is not None else node.value
        problem = Problem(self.filename, mark.line + 1, mark.column + 1, format_loc(loc), message)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line, p.col))

    def _node(self, loc: Loc) -> _Node:
        """The node at ``loc``, or the deepest one above it that the file has (defaults have none)."""
        for end in range(len(loc), -1, -1):
            if (node := self.nodes.get(loc[:end])) is not None:
                return node
        return self.nodes[()]

    def schema_error(self, error: ErrorDetails) -> None:
        loc, leaf = _yaml_loc(error["loc"])
        kind, ctx = error["type"], error.get("ctx", {})
        if kind == "missing":
            # Point at the mapping that lacks the key: the key itself is nowhere in the file.
            self.add(loc[:-1], f"missing required key {loc[-1]!r}")
        elif kind == "extra_forbidden":
            parent = _yaml_loc(error["loc"][:-1])[1]
            self.add(loc, _unknown_key(str(loc[-1]), parent), at_key=True)
        elif kind == "union_tag_invalid":
            tags = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected_tags", ""))))
            field = str(ctx.get("discriminator", "kind")).strip("'")
            self.add((*loc, field), f"unknown {field} {ctx.get('tag')!r}; must be one of: {tags}")
        elif kind == "union_tag_not_found":
            field = str(ctx.get("discriminator", "kind")).strip("'")
            tags = ", ".join(_tags(_type_at(loc)))
            self.add(loc, f"missing required key {field!r} (one of: {tags})")
        else:
            self.add(loc, _message(error, loc, leaf), at_key="[key]" in error["loc"])


def _yaml_loc(loc: tuple[int | str, ...]) -> tuple[Loc, Any]:
    """pydantic's loc without the tags it inserts for union members, and the type found at its end.

    ('sites', 0, 'endpoints', 1, 'http', 'max_redirects') -> ('sites', 0, 'endpoints', 1, 'max_redirects').
    """
    out: list[str | int] = []
    tp: Any = Config
    for part in loc:
        tp = _unwrap(tp)
        if part == "[key]":  # a dict key failed: the problem sits on the key, one level up
            continue
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            tp = field.annotation if field is not None else None
        elif typing.get_origin(tp) in (list, tuple, set, frozenset) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif _is_union(tp) and isinstance(part, str) and part in (tagged := _tagged(tp)):
            tp = tagged[part]  # the discriminator tag pydantic puts into loc: not a key in the file
            continue
        else:
            tp = None
        out.append(part)
    return tuple(out), _unwrap(tp)


def _type_at(loc: Loc) -> Any:
    """The model (or type) that validates the value at a tag-free YAML loc."""
    tp: Any = Config
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            field = tp.model_fields.get(part)
            tp = field.annotation if field is not None else None
        elif typing.get_origin(tp) in (list, tuple) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)


def _unwrap(tp: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the type that matters."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif _is_union(tp) and len(members := [m for m in typing.get_args(tp) if m is not type(None)]) == 1:
            tp = members[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _tagged(tp: Any) -> dict[str, Any]:
    """{tag: model} for the members of a union discriminated by a Literal field (endpoint kinds)."""
    out: dict[str, Any] = {}
    for member in typing.get_args(tp):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for field in member.model_fields.values():
                if typing.get_origin(field.annotation) is typing.Literal:
                    args = typing.get_args(field.annotation)
                    if len(args) == 1 and isinstance(args[0], str):
                        out[args[0]] = member
    return out


def _tags(tp: Any) -> list[str]:
    return list(_tagged(tp)) if _is_union(tp) else []


def _unknown_key(key: str, model: Any) -> str:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return f"unknown key {key!r}"
    allowed = list(model.model_fields)  # the schema's order
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed keys here: {', '.join(allowed)}"


def _shape(value: Any) -> str:
    """A YAML value's kind, for "expected X, got Y" (never the value: it might be a secret)."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_TYPE_MESSAGES: dict[str, str] = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "set_type": "expected a list",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
}


def _message(error: ErrorDetails, loc: Loc, leaf: Any) -> str:
    """Reword one pydantic error as what to fix; our validators' own messages are kept as they are."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in _TYPE_MESSAGES:
        hint = " (put it in quotes)" if kind == "string_type" and isinstance(value, int | float) else ""
        return f"{_TYPE_MESSAGES[kind]}, got {_shape(value)}{hint}"
    if kind == "literal_error":
        if typing.get_origin(leaf) is typing.Literal:
            return "must be one of: " + ", ".join(str(arg) for arg in typing.get_args(leaf))
        return "must be one of: " + ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    bounds: dict[str, Callable[[dict[str, Any]], str]] = {
        "greater_than": lambda c: f"must be greater than {_number(c['gt'])}",
        "greater_than_equal": lambda c: f"must be at least {_number(c['ge'])}",
        "less_than": lambda c: f"must be less than {_number(c['lt'])}",
        "less_than_equal": lambda c: f"must be at most {_number(c['le'])}",
        "string_too_long": lambda c: f"must be at most {c['max_length']} characters long",
        "too_long": lambda c: f"may hold at most {c['max_length']} entries",
        "string_pattern_mismatch": lambda c: f"does not have the expected form (pattern {c['pattern']})",
    }
    if kind in bounds:
        return bounds[kind](ctx)
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must be at least {minimum} characters long"
    if kind == "too_short":
        if loc == ("sites",):
            return "list at least one site"
        minimum = ctx.get("min_length", 1)
        return f"needs at least {minimum} {'entry' if minimum == 1 else 'entries'}"
    return error["msg"]


# --- pass 4: secrets ------------------------------------------------------------------------------

_T = typing.TypeVar("_T")


def _map_secrets(obj: _T, loc: Loc, fn: Callable[[Loc, Secret], Secret]) -> _T:
    """``obj`` with every Secret below it replaced by ``fn(loc, secret)``; unchanged parts are kept."""
    if isinstance(obj, Secret):
        return typing.cast(_T, fn(loc, obj))
    if isinstance(obj, BaseModel):
        changes = {}
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            new = _map_secrets(value, (*loc, name), fn)
            if new is not value:
                changes[name] = new
        return obj.model_copy(update=changes) if changes else obj
    if isinstance(obj, list | tuple):
        items = [_map_secrets(item, (*loc, index), fn) for index, item in enumerate(obj)]
        if any(new is not old for new, old in zip(items, obj, strict=True)):
            return typing.cast(_T, type(obj)(items))
        return obj
    if isinstance(obj, dict):
        entries = {key: _map_secrets(value, (*loc, key), fn) for key, value in obj.items()}
        if any(entries[key] is not value for key, value in obj.items()):
            return typing.cast(_T, entries)
    return obj


def _secrets(obj: Any, loc: Loc) -> Iterator[tuple[Loc, Secret]]:
    """Every Secret in a validated config, with the loc it was written at."""
    found: list[tuple[Loc, Secret]] = []

    def collect(where: Loc, secret: Secret) -> Secret:
        found.append((where, secret))
        return secret

    _map_secrets(obj, loc, collect)
    return iter(found)


def _rebase(secret: Secret, base_dir: Path | None) -> Secret:
    """A relative ``{file: PATH}`` taken against the config file's directory, not the working directory."""
    if secret.file is None or base_dir is None or Path(secret.file).is_absolute():
        return secret
    return secret.model_copy(update={"file": str(base_dir / secret.file)})


def _unreadable(secret: Secret) -> str | None:
    """Why the secret cannot be used, or None; says where it looked, never what it found."""
    try:
        value = secret.reveal()
    except SecretUnavailable as exc:
        return str(exc)
    if not value:
        return f"environment variable {secret.env} is empty" if secret.env else f"secret file {secret.file} is empty"
    return None


def secrets_of(config: Config) -> list[Secret]:
    """Every secret the config refers to (for summaries: callers print ``source()``, never the value)."""
    return [secret for _, secret in _secrets(config, ())]
