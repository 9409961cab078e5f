"""TCP connect probe: connect time, optional TLS handshake, optional send/expect."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from probes.base import ProbeContext, ProbeResult, Settings

KIND = "tcp"


class TcpSettings(Settings):
    tls: bool = Field(False, description="do a TLS handshake after connecting")
    tls_verify: bool = Field(True, description="verify the certificate chain and host name")
    tls_server_name: str | None = Field(None, description="SNI and name to verify, if not the target host")
    ca_file: str | None = Field(None, description="PEM bundle of CAs to trust instead of the system's")
    send: str | None = Field(None, description="text to send after connecting (\\r\\n escapes allowed)")
    expect: str | None = Field(None, description="regular expression the first reply must match")

    @field_validator("expect")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


async def probe(target: str, settings: TcpSettings, *, ctx: ProbeContext) -> ProbeResult:
    raise NotImplementedError  # filled in by the TCP/HTTP work
