"""What every /api/v1 handler module answers with: JSON errors, JSON bodies, validated input, OpenAPI pieces.

Shared by monitor/web/api_v1.py, api_readiness.py and api_alerts.py so that the whole API keeps one
convention: a fault answers ``{"error": "...", "field": "..."}`` (ErrorOut) naming the field to fix.

A body is bounded before any model sees it (issue 13: nested JSON and a 5000-digit integer gave 500s):
at most MAX_BODY bytes (413), MAX_DEPTH levels of nesting, numbers finite and at most MAX_NUMBER in size,
strings that are valid Unicode (a lone surrogate cannot be stored); each fault is a 400 naming the
top-level field it is in.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from monitor.storage.safe_text import clean_json

Model = TypeVar("Model", bound=BaseModel)

MAX_BODY = 64 * 1024  # bytes: a meeting or a window is a few hundred
MAX_DEPTH = 8  # the deepest model (a list of strings in an object) needs 2
MAX_NUMBER = 1e15  # past every bound of the models (a call rate of 10 Gbit/s, a duration of a year in ms)


class ErrorOut(BaseModel):
    error: str
    field: str | None = None


def json_error(status: int, message: str, field: str | None = None) -> web.Response:
    return web.json_response(ErrorOut(error=message, field=field).model_dump(), status=status)


def json_answer(model: BaseModel | list[Any], status: int = 200) -> web.Response:
    """A model, or a list of them, as JSON (UTF-8, not escaped: the texts are Vietnamese)."""
    if isinstance(model, list):
        body = json.dumps([m.model_dump(mode="json") for m in model], ensure_ascii=False)
    else:
        body = model.model_dump_json()
    return web.Response(text=body, status=status, content_type="application/json")


class _Refused:
    """A number json.loads must not build: kept as a marker so check_json can name the field it is in."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _number(text: str) -> int | _Refused:
    # Digits past 20 are past MAX_NUMBER anyway; past 4300 Python refuses to convert them at all (ValueError).
    return int(text) if len(text.lstrip("-")) <= 20 else _Refused(f"a number of {len(text)} digits")


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")  # Python's json reads NaN and Infinity; JSON has neither


def check_json(data: Any) -> tuple[str, str | None] | None:
    """(message, field) for the first value past the bounds above, else None; walks without recursion."""
    stack: list[tuple[Any, int, str | None]] = [(data, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if depth > MAX_DEPTH:
            return f"the body nests deeper than {MAX_DEPTH} levels", field
        if isinstance(value, dict):
            stack.extend((v, depth + 1, field or str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, field) for v in value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, _Refused):
            return f"{field or 'body'}: {value.why}", field
        elif isinstance(value, int | float):  # an int is compared as is: float() of 10**400 overflows
            if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_NUMBER:
                return f"{field or 'body'}: numbers must be finite and at most {MAX_NUMBER:.0e}", field
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{field or 'body'}: the text holds a lone UTF-16 surrogate", field
    return None


async def _read_bounded(request: web.Request) -> bytes | None:
    """The body, or None past MAX_BODY bytes (read no further than that)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    raw = await request.content.read(MAX_BODY + 1)
    while len(raw) <= MAX_BODY and (more := await request.content.read(MAX_BODY + 1 - len(raw))):
        raw += more
    return raw if len(raw) <= MAX_BODY else None


async def read_body(request: web.Request, model: type[Model], *, optional: bool = False) -> Model | web.Response:
    """The validated JSON body, or the 400 answer naming the field; ``optional``: an empty body is ``{}``."""
    raw = await _read_bounded(request)
    if raw is None:
        return json_error(413, f"the body is larger than {MAX_BODY // 1024} KiB")
    if optional and not raw.strip():
        return model.model_validate({})
    try:
        # "\ud83d" alone is valid JSON (a client that cut an emoji in half sends it), but pydantic refuses such a
        # str with an obscure message: it is made safe as the database columns make text (issue 13).
        data = clean_json(json.loads(raw, parse_int=_number, parse_constant=_constant))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return json_error(400, f"the body is not valid JSON: {exc}")
    except RecursionError:  # before any field: [[[[... 60 000 deep
        return json_error(400, f"the body nests deeper than {MAX_DEPTH} levels")
    if (problem := check_json(data)) is not None:
        return json_error(400, *problem)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else None
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return json_error(400, f"{where}: {first['msg']}", field)


def schema_ref(model: type[BaseModel] | str, *, array: bool = False) -> dict[str, Any]:
    """OpenAPI reference to a schema of components/schemas (by model or name), or to an array of it."""
    name = model if isinstance(model, str) else model.__name__
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {"type": "array", "items": ref} if array else ref


def json_schema_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI response object of a JSON answer."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


__all__ = ["ErrorOut", "json_answer", "json_error", "json_schema_answer", "read_body", "schema_ref"]
