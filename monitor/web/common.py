"""What every /api/v1 handler module answers with: JSON errors, JSON bodies, validated input, OpenAPI pieces.

Shared by monitor/web/api_v1.py, api_readiness.py and api_alerts.py so that the whole API keeps one
convention: a fault answers ``{"error": "...", "field": "..."}`` (ErrorOut) naming the field to fix.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from monitor.storage.safe_text import clean_json

Model = TypeVar("Model", bound=BaseModel)


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


async def read_body(request: web.Request, model: type[Model], *, optional: bool = False) -> Model | web.Response:
    """The validated JSON body, or the 400 answer naming the field; ``optional``: an empty body is ``{}``."""
    raw = await request.read()
    if optional and not raw.strip():
        return model.model_validate({})
    try:
        # "\ud83d" alone is valid JSON (a client that cut an emoji in half sends it), but pydantic refuses such a
        # str with an obscure message: it is made safe as the database columns make text (issue 13).
        data = clean_json(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return json_error(400, f"the body is not valid JSON: {exc}")
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
