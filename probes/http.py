"""HTTP(S) probe: status allow-list, body regex and JSON field checks, TLS expiry, per-phase durations."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from monitor.secrets import Secret
from monitor.units import Size
from probes.base import ProbeContext, ProbeResult, Settings

KIND = "http"


class JsonCheck(Settings):
    path: str = Field(description="dotted path into the JSON body, e.g. status.sip.registered or items[0].id")
    equals: Any = Field(None, description="value the field must equal; omitted: the field must exist")


class HttpSettings(Settings):
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(None, description="request body")
    bearer_token: Secret | None = Field(None, description="sent as Authorization: Bearer")
    valid_status_codes: list[int] = Field(default_factory=list, description="allowed codes; empty = any 2xx")
    body_regex: list[str] = Field(default_factory=list, description="every pattern must match the body")
    body_not_regex: list[str] = Field(default_factory=list, description="no pattern may match the body")
    json_checks: list[JsonCheck] = Field(default_factory=list)
    tls_verify: bool = True
    ca_file: str | None = None
    max_redirects: int = Field(10, ge=0, le=50, description="0 = do not follow redirects")
    max_body_size: Size = Field(1 << 20, ge=0, description="larger bodies fail the probe")

    @field_validator("body_regex", "body_not_regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return patterns

    @field_validator("valid_status_codes")
    @classmethod
    def _status_range(cls, codes: list[int]) -> list[int]:
        for code in codes:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status code (100–599)")
        return codes


async def probe(target: str, settings: HttpSettings, *, ctx: ProbeContext) -> ProbeResult:
    raise NotImplementedError  # filled in by the TCP/HTTP work
