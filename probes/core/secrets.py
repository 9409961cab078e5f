"""Secrets in the inventory: only ``{env: NAME}`` or ``{file: PATH}``, never an inline value.

A ``Secret`` remembers where its value lives, not the value; ``reveal()`` reads it when a client needs it.
Its repr and its serialisation name the source only, so a secret cannot leak through logs,
check-config output, /metrics or the API by accident.
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class SecretUnavailable(Exception):
    """The environment variable is unset or the file cannot be read."""


class Secret(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_inline(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("write a secret as {env: NAME} or {file: PATH}, never the value itself")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Secret:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret needs exactly one of env: NAME or file: PATH")
        if self.env is not None and not self.env:
            raise ValueError("env: needs the name of an environment variable")
        if self.file is not None and not self.file:
            raise ValueError("file: needs a path")
        return self

    def source(self) -> str:
        return f"env {self.env}" if self.env is not None else f"file {self.file}"

    def reveal(self) -> str:
        """The secret's value; a file's trailing newline is dropped (files written by `echo`)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretUnavailable(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return Path(self.file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretUnavailable(f"cannot read secret file {self.file}: {exc.strerror}") from None

    def __repr__(self) -> str:
        return f"Secret({self.source()})"

    __str__ = __repr__


def is_secret_field(annotation: Any) -> bool:
    """Whether a settings field's annotation is a Secret (``Secret`` or ``Secret | None``)."""
    return annotation is Secret or Secret in typing.get_args(annotation)
