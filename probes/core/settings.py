"""The base of every kind's settings, and the one way to split and join ``host:port``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    """Base of every kind's options: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def split_host_port(target: str, *, default_port: int | None = None) -> tuple[str, int]:
    """Split ``host:port`` / ``[v6]:port``; raise ValueError with what to write instead."""
    host, sep, port_text = target.rpartition(":")
    if target.startswith("["):
        end = target.find("]")
        if end < 0:
            raise ValueError(f"{target!r}: missing ']' after the IPv6 address")
        host, rest = target[1:end], target[end + 1 :]
        if rest.startswith(":"):
            port_text, sep = rest[1:], ":"
        elif rest:
            raise ValueError(f"{target!r}: expected ':PORT' after ']'")
        else:
            sep = ""
    elif not sep or ":" in host:  # no port, or a bare IPv6 address
        host, sep = target, ""
    if not sep:
        if default_port is None:
            raise ValueError(f"{target!r}: give the port, as HOST:PORT or [IPv6]:PORT")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{target!r}: port must be a number from 1 to 65535")
    return host, int(port_text)


def join_host_port(host: str, port: int | None) -> str:
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
