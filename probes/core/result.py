"""What every probe returns: the result value and the reason codes that alert rules and readiness key on.

A probe is ``async def probe(target: str, settings: Settings, *, ctx: ProbeContext) -> ProbeResult`` (the
``Probe`` Protocol). It *returns* failure (``success=False`` with a reason code and a human detail) and never
raises for a fault of the thing probed; only the caller (the scheduler or the /probe handler) owns the deadline
and cancels it. ``asyncio.CancelledError`` is never swallowed.

Inside a probe, a step that fails raises ``ProbeFailed(reason, detail)``; the probe function catches it in one
place and returns ``failed.result(duration=...)``. It never leaves the probe function.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from probes.core.context import ProbeContext

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Reason(StrEnum):
    """Machine-readable reason codes; alert rules, readiness reasons and translations key on them."""

    OK = "ok"
    TIMEOUT = "timeout"
    RESOLVE_FAILED = "resolve_failed"
    IPV6_UNAVAILABLE = "ipv6_unavailable"
    UNREACHABLE = "unreachable"
    REFUSED = "connection_refused"
    RESET = "connection_reset"
    NO_REPLY = "no_reply"
    PARTIAL_LOSS = "partial_loss"
    PERMISSION = "permission_denied"
    TLS_EXPIRED = "tls_cert_expired"
    TLS_UNTRUSTED = "tls_cert_untrusted"
    TLS_HOSTNAME = "tls_hostname_mismatch"
    TLS_ERROR = "tls_error"
    EXPECT_MISMATCH = "expect_mismatch"
    BAD_STATUS = "bad_status"
    BODY_MISMATCH = "body_mismatch"
    REGEX_TIMEOUT = "regex_timeout"  # a body_regex or expect pattern could not finish before the deadline
    JSON_MISMATCH = "json_mismatch"
    BODY_TOO_LARGE = "body_too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    PROTOCOL_ERROR = "protocol_error"
    BAD_TARGET = "bad_target"
    CONFIG_ERROR = "config_error"
    AUTH_FAILED = "auth_failed"
    ENDPOINT_BUSY = "endpoint_busy"
    NOT_REGISTERED = "not_registered"
    NOT_READY = "not_ready"
    PERIPHERAL_MISSING = "peripheral_missing"
    NETWORK_FAULT = "network_fault"  # the device reports a fault of its own network link (Cisco diagnostics)
    OVERHEATING = "overheating"  # the device reports its temperature or fans out of bounds (Cisco diagnostics)
    MICROPHONE_MUTED = "microphone_muted"
    INTERNAL_ERROR = "internal_error"


# Faults of giaoban's own set-up (no ICMP permission, a bad target, a pattern too costly to run, a bug), not of
# the thing probed: alert rules and readiness never read them as "the link is down", /metrics writes no "up" of 0
# for them, and the admins get one alert that says what to change (issue 14; monitor/engine/setup.py).
OWN_FAULTS = frozenset(
    {Reason.PERMISSION, Reason.CONFIG_ERROR, Reason.INTERNAL_ERROR, Reason.BAD_TARGET, Reason.REGEX_TIMEOUT}
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe run.

    ``values`` holds the kind's numbers under stable keys (for ICMP ``rtt_min``, ``rtt_avg``,
    ``rtt_median``, ``rtt_max``, ``jitter``, ``loss_ratio``, ``mos``, ``sent``, ``received``; for HTTP
    ``status_code``, ``tls_cert_expiry``, ...), all in base units (seconds, ratios, bytes).
    ``samples`` are raw RTTs in seconds for the RTT histogram. ``phases`` are durations in seconds.
    """

    success: bool
    duration: float
    reason: Reason = Reason.OK
    detail: str = ""
    phases: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    values: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    samples: tuple[float, ...] = ()
    info: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    timestamp: float = field(default_factory=time.time)
    # A kind's structured reading where flat values don't fit (SNMP: one entry per interface);
    # a frozen dataclass of the kind's own module, read by that area's metrics collector.
    payload: object | None = None

    @property
    def unmeasured(self) -> bool:
        """giaoban could not measure the target at all (its own set-up, OWN_FAULTS): the result says nothing of it.

        A successful run with such a reason (an SNMP device that answered but lacks a configured interface) did
        measure, so it is not unmeasured.
        """
        return not self.success and self.reason in OWN_FAULTS

    @classmethod
    def failure(cls, reason: Reason, detail: str, *, duration: float, **kw: Any) -> ProbeResult:
        return cls(success=False, duration=duration, reason=reason, detail=detail, **kw)


class ProbeFailed(Exception):
    """A probe step failed: carries the reason code and the operator's sentence to where the probe builds its result."""

    reason: Reason
    detail: str

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail

    def result(self, *, duration: float, **kw: Any) -> ProbeResult:
        """The failed result this stands for; ``kw`` as for ``ProbeResult`` (phases, values, info)."""
        return ProbeResult.failure(self.reason, self.detail, duration=duration, **kw)


class Probe(Protocol):
    """One kind's probe function; ``settings`` is that kind's own Settings model."""

    async def __call__(self, target: str, settings: Any, *, ctx: ProbeContext) -> ProbeResult: ...
