"""Jitsi Videobridge over its private REST API: ``GET /about/health``, then ``GET /colibri/stats``.

Target: ``HOST[:PORT]`` (http and port 8080, the bridge's usual private REST port, unless set) or a base
URL. Settings: scheme (http), tls_verify, ca_file, max_body_size, require_stats, conference (read by the
meeting watch's reader only, probes/vc/jitsi_calls.py). Values, success and
reasons: see probes/vc/status.py, with these differences:

- ready = /about/health answers 200 and the bridge is neither draining nor shutting down gracefully
  (``drain`` / ``graceful_shutdown`` in the stats): a bridge that says so takes no new conference
  (NOT_READY). A non-200 health answer is NOT_READY with up 1.
- a bridge is a server, not a room: ``in_call`` is not reported (many conferences are its normal state),
  nor registered or peripherals. Its own values::

    conferences    conferences now on the bridge
    participants   participants now on the bridge
    stress_level   the bridge's load estimate (1.0 = its configured capacity)

  /colibri/stats is refreshed by the bridge every 5 s; a 404 (the stats endpoint disabled by
  ``--apis``) leaves these values absent unless ``require_stats: true``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from yarl import URL

from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.vc.status import SERIES as STATUS_SERIES
from probes.vc.status import (
    ApiError,
    Client,
    EndpointStatus,
    StatusApiSettings,
    expect_ok,
    parse_json,
    run_status_probe,
)

KIND = "jitsi"
DEFAULT_PORTS = {"http": 8080, "https": 8443}
_NUMBERS = ("conferences", "participants", "stress_level")


SERIES = STATUS_SERIES


class JitsiSettings(StatusApiSettings):
    scheme: Literal["https", "http"] = Field("http", description="when the target is a bare host")
    require_stats: bool = Field(False, description="fail (BAD_STATUS) when /colibri/stats is not served")
    conference: str = Field(
        "", max_length=200, description="meeting watch: only conferences whose room name contains this"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def read_stats(stats: Any, *, healthy: bool, problem: str) -> EndpointStatus:
    """Map /colibri/stats (and the health answer) to an EndpointStatus."""
    if not isinstance(stats, dict):
        raise ApiError(Reason.PROTOCOL_ERROR, "/colibri/stats: expected a JSON object", answered=True)
    values = {key: number for key in _NUMBERS if (number := _number(stats.get(key))) is not None}
    if stats.get("graceful_shutdown") is True:
        healthy, problem = False, problem or "the bridge is shutting down gracefully"
    elif stats.get("drain") is True:
        healthy, problem = False, problem or "the bridge is draining (no new conferences)"
    version = stats.get("version")
    info = {"software": version} if isinstance(version, str) and version else {}
    return EndpointStatus(healthy=healthy, problem=problem, info=info, extra=values)


async def _fetch(client: Client, base: URL, settings: JitsiSettings) -> EndpointStatus:
    health = await client.request("GET", base / "about" / "health")
    if health.status in (401, 403):
        expect_ok(health, "/about/health")
    healthy = health.status == 200
    problem = "" if healthy else f"/about/health answered {health.status}: the bridge reports itself unhealthy"
    reply = await client.request("GET", base / "colibri" / "stats")
    if reply.status == 404 and not settings.require_stats:
        return EndpointStatus(healthy=healthy, problem=problem)
    expect_ok(reply, "/colibri/stats")
    return read_stats(parse_json(reply.body, "/colibri/stats"), healthy=healthy, problem=problem)


async def probe(target: str, settings: JitsiSettings, *, ctx: ProbeContext) -> ProbeResult:
    return await run_status_probe(target, settings, ctx, default_ports=DEFAULT_PORTS, fetch=_fetch)
