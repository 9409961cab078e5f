"""H.323 probe: a TCP connect to the H.225 call-signalling port (1720) — it proves a listener, nothing more.

An H.323 endpoint accepts the connection whether it is idle, in a call or unregistered from its
gatekeeper; telling those apart needs a Q.931 SETUP (a real call attempt), which a monitor must not make
(H.225 call signalling is TCP 1720, RAS UDP 1719: a connect proves a listener only). Use the codec's
status API (cisco-xapi, poly-rest) for that.

Target ``HOST[:PORT]`` (port 1720 when none is given).

Values::

    up                 1 when the connection was accepted, else 0
    response_seconds   TCP handshake time

Phases: ``resolve``, ``connect``. Info: ``address``.
Reasons: as the tcp probe (REFUSED, UNREACHABLE, RESET, PERMISSION, RESOLVE_FAILED, BAD_TARGET); TIMEOUT from
the runner.
"""

from __future__ import annotations

from probes import tcp
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.core.series import ENDPOINT_SERIES
from probes.core.settings import Settings, join_host_port, split_host_port

KIND = "h323"
DEFAULT_PORT = 1720


SERIES = ENDPOINT_SERIES


class H323Settings(Settings):
    """No options: the probe is a connect, and its deadline is the endpoint's timeout."""


async def probe(target: str, settings: H323Settings, *, ctx: ProbeContext) -> ProbeResult:
    try:
        host, port = split_host_port(target, default_port=DEFAULT_PORT)
    except ValueError as exc:
        return ProbeResult.failure(Reason.BAD_TARGET, str(exc), duration=0.0, values={"up": 0.0})
    result = await tcp.probe(join_host_port(host, port), tcp.TcpSettings(), ctx=ctx)
    connect = result.phases.get("connect")
    values = {"up": 1.0, "response_seconds": connect or 0.0} if result.success else {"up": 0.0}
    detail = result.detail or f"H.225 listener on {join_host_port(host, port)} accepted the connection"
    return ProbeResult(
        success=result.success,
        duration=result.duration,
        reason=result.reason,
        detail=detail,
        phases=result.phases,
        values=values,
        info=result.info,
    )
