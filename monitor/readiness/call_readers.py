"""Which reader reads the calls of a codec or a bridge, by kind: the one lookup the meeting watch uses.

    readers = call_readers()                 {"cisco-xapi": (CiscoXapiSettings, read_calls), "cms": ...}
    settings = reader_settings(kind_settings, given)   the reader's settings object, or ValueError saying why

The drivers (issue 18) register their readers in ``probes.vc.calls.CALL_READERS`` (kind → settings class,
reader); this module is the only place that looks there, so the registry can move without touching the watch.
Tests may hand the watch a mapping of their own instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from probes.vc.calls import CALL_READERS
from probes.vc.media import CallReader

CallKind = tuple[type[BaseModel], CallReader]


def call_readers() -> dict[str, CallKind]:
    """The drivers' readers by kind (probes/vc/calls.py)."""
    return dict(CALL_READERS)


def reader_settings(kind: type[BaseModel], given: BaseModel | Mapping[str, Any]) -> BaseModel:
    """``given`` (an endpoint's status-probe settings, or a bridge's plain settings) as ``kind``'s settings.

    A status probe's settings object of the same class is used as it is; another is converted field by field
    (the fields both share: scheme, credentials...). ValueError names what the reader refuses.
    """
    if isinstance(given, kind):
        return given
    if isinstance(given, BaseModel):
        values = {name: getattr(given, name) for name in type(given).model_fields if name in kind.model_fields}
    else:
        values = dict(given)
    try:
        return kind.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
