"""A kind's settings from flat text pairs: the /probe query string and `giaoban probe --OPTION VALUE`.

Lists take repeated options (``valid_status_codes=200&valid_status_codes=301``), maps take
``Name: value``, JSON checks take ``PATH`` or ``PATH=JSON``. Secrets are refused here: they belong in
the config file, never in a URL; on the command line they are named by source (``env:NAME``, ``file:PATH``).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.errors import UsageError
from probes import ProbeKind
from probes.core.secrets import is_secret_field
from probes.core.settings import Settings


def _shape(annotation: Any) -> str:
    """'list', 'dict', 'secret', 'model_list' or 'scalar' for a field's annotation."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if is_secret_field(annotation):
        return "secret"
    if origin is list:
        inner = args[0] if args else str
        return "model_list" if isinstance(inner, type) and issubclass(inner, BaseModel) else "list"
    if origin is dict:
        return "dict"
    return "scalar"


def field_shapes(kind: ProbeKind) -> dict[str, str]:
    return {name: _shape(field.annotation) for name, field in kind.settings.model_fields.items()}


def _json_check(text: str) -> dict[str, Any]:
    path, sep, raw = text.partition("=")
    if not sep:
        return {"path": path}
    try:
        return {"path": path, "equals": json.loads(raw)}
    except json.JSONDecodeError:
        return {"path": path, "equals": raw}  # a bare word compares as a string


def secret_source(key: str, text: str) -> dict[str, str]:
    """``env:NAME`` or ``file:PATH`` → a Secret's fields; a bare value is refused (shell history, ps)."""
    source, sep, where = text.partition(":")
    if not sep or source not in ("env", "file") or not where:
        raise UsageError(f"{key} takes where the secret is, env:NAME or file:PATH, never the value itself")
    return {source: where}


def settings_from_pairs(
    kind: ProbeKind,
    pairs: Iterable[tuple[str, str]],
    *,
    secret_sources: bool = False,
    base: Settings | None = None,
) -> Settings:
    """``secret_sources``: accept env:NAME / file:PATH for secrets (the CLI). Never over HTTP, where it would
    let a caller have the service send a local file's contents to an address of their choosing.
    ``base``: the settings the pairs change (a /probe module's); the kind's defaults without it."""
    shapes = field_shapes(kind)
    data: dict[str, Any] = {}
    for key, value in pairs:
        shape = shapes.get(key)
        if shape is None:
            raise UsageError(f"unknown option {key!r} for kind {kind.name}; options: {', '.join(sorted(shapes))}")
        if shape == "secret":
            if not secret_sources:
                raise UsageError(f"{key} is a secret: set it in the config file as {{env: NAME}} or {{file: PATH}}")
            data[key] = secret_source(key, value)
            continue
        if shape == "list":
            data.setdefault(key, []).append(value)
        elif shape == "model_list":
            data.setdefault(key, []).append(_json_check(value))
        elif shape == "dict":
            name, sep, text = value.partition(":") if ":" in value else value.partition("=")
            if not sep:
                raise UsageError(f"{key} takes 'Name: value', got {value!r}")
            data.setdefault(key, {})[name.strip()] = text.strip()
        elif key in data:
            raise UsageError(f"option {key!r} given twice")
        else:
            data[key] = value
    if base is not None:  # a caller's option replaces the module's whole value (a list too)
        data = {**{k: getattr(base, k) for k in base.model_fields_set}, **data}
    try:
        return kind.settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg'].removeprefix('Value error, ')}" for err in exc.errors()
        )
        raise UsageError(f"bad {kind.name} options: {problems}") from None
