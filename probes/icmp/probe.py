"""ICMP echo rounds: RTT spread, jitter, loss and an estimated MOS for each link.

Target: an IPv4/IPv6 address (``[v6]`` brackets allowed) or a name; ``ip_version`` forces the family.
One round of ``count`` echoes ``interval`` apart through the process's shared ``Pinger``; the link is up
(success) when at least one reply came back: a lossy link is up, its loss is a measurement.

Values (seconds and ratios; the rtt_* values and jitter are absent when no reply came back)::

    rtt_min rtt_avg rtt_median rtt_max   RTT of the replies received
    jitter                               mean absolute difference of successive RTTs (0 with one reply)
    loss_ratio                           1 - received / sent
    mos                                  estimated MOS, simplified E-model (1.0 when nothing came back)
    sent received                        echoes sent, replies received
    echo_rtt                             RTT of the round's first reply, in send order (absent without one)
    hop_limit                            that reply's IPv4 TTL / IPv6 hop limit (absent without one)
    dns_lookup ip_protocol ip_addr_hash  of the address probed (probes/core/address.py)

Samples: the received RTTs in seconds (for the RTT histogram). Phases: ``resolve``, ``rtt`` (the round).

On /probe, ``probe_icmp_duration_seconds{phase="rtt"}`` is ``echo_rtt``, one echo's RTT as blackbox_exporter
measures it (it sends one echo; the first reply is that echo's counterpart in a round, median of an even count
would be no echo's), and the round's length is giaoban's ``probe_icmp_round_duration_seconds``.
Info: ``ip`` (the address probed), ``mode`` (``unprivileged`` or ``privileged``); without any way to send ICMP,
``setup``, ``gid``, ``ping_group_range`` and ``covered`` instead (probes/icmp/mode.py ``setup_info``).
Reasons: ok, partial_loss (up, but some echoes lost), no_reply, resolve_failed, ipv6_unavailable,
unreachable, permission_denied, bad_target.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import time
from typing import Literal

import icmplib
from pydantic import Field

from probes.core.address import ADDRESS_SERIES, address_values
from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.core.series import SAMPLES, SUCCESS, Series
from probes.core.settings import Settings
from probes.core.units import Dscp, Duration
from probes.icmp import mode as icmp_mode
from probes.icmp import quality
from probes.icmp.pinger import PingError

KIND = "icmp"
log = logging.getLogger(__name__)

_SEND_ERRORS: dict[int, tuple[Reason, str]] = {
    errno.ENETUNREACH: (Reason.UNREACHABLE, "no route to that network from this host"),
    errno.EHOSTUNREACH: (Reason.UNREACHABLE, "no route to that host from this host"),
    errno.EACCES: (Reason.PERMISSION, "the kernel refused the echo (a firewall rule or missing privilege)"),
    errno.EPERM: (Reason.PERMISSION, "the kernel refused the echo (a firewall rule or missing privilege)"),
    errno.EAFNOSUPPORT: (Reason.IPV6_UNAVAILABLE, "this host has no IPv6"),
    errno.EADDRNOTAVAIL: (Reason.IPV6_UNAVAILABLE, "this host has no address to send from in that family"),
}


RTT_STATS = ("min", "avg", "median", "max")
_PHASES_HELP = "Duration of resolving the target, and one echo's round trip (rtt: the round's first reply)."
# The giaoban_link_* series are the site's link (role "link"): an ICMP endpoint exports the general ones only.
SERIES = (
    Series(SUCCESS, "giaoban_link_up", "1 if at least one echo of the last round came back.", role="link"),
    *(
        Series(
            f"rtt_{stat}",
            "giaoban_link_rtt_seconds",
            "Round-trip time of the last round.",
            labels=(("stat", stat),),
            role="link",
        )
        for stat in RTT_STATS
    ),
    Series(
        "jitter", "giaoban_link_jitter_seconds", "Mean difference of successive RTTs in the last round.", role="link"
    ),
    Series("loss_ratio", "giaoban_link_loss_ratio", "Share of echoes lost in the last round.", role="link"),
    Series("mos", "giaoban_link_mos", "Estimated call quality (simplified E-model, 1-4.5).", role="link"),
    Series(
        "hop_limit",
        "giaoban_link_reply_hop_limit",
        "Hop limit (IPv4 TTL) of the last round's first reply: a change means another path.",
        role="link",
    ),
    Series(
        SAMPLES, "giaoban_link_echo_rtt_seconds", "Every echo's round-trip time since start.", "histogram", role="link"
    ),
    *(
        Series(f"rtt_{stat}", "probe_icmp_rtt_seconds", "Round-trip time.", labels=(("stat", stat),))
        for stat in RTT_STATS
    ),
    Series("jitter", "probe_icmp_jitter_seconds", "Mean difference of successive RTTs."),
    Series("loss_ratio", "probe_icmp_loss_ratio", "Share of echoes lost."),
    Series("mos", "probe_icmp_mos", "Estimated call quality (simplified E-model)."),
    Series("sent", "probe_icmp_packets_sent", "Echo requests sent."),
    Series("received", "probe_icmp_packets_received", "Echo replies received."),
    # blackbox_exporter's (prober/icmp.go): its phases, rtt being one echo's; "setup" has no counterpart here
    # (sockets are shared, or opened inside the round).
    Series(
        "resolve",
        "probe_icmp_duration_seconds",
        _PHASES_HELP,
        labels=(("phase", "resolve"),),
        source="phases",
        default=0.0,
    ),
    Series("echo_rtt", "probe_icmp_duration_seconds", _PHASES_HELP, labels=(("phase", "rtt"),), default=0.0),
    Series("rtt", "probe_icmp_round_duration_seconds", "How long the round of echoes took.", source="phases"),
    Series("hop_limit", "probe_icmp_reply_hop_limit", "Replied packet hop limit (TTL for ipv4)"),
    *ADDRESS_SERIES,
)


class IcmpSettings(Settings):
    count: int = Field(10, ge=1, le=1000, description="echoes per round")
    interval: Duration = Field(0.2, gt=0, description="time between echoes")
    timeout: Duration = Field(2.0, gt=0, description="how long to wait for the last reply")
    payload_size: int = Field(56, ge=0, le=65000, description="ICMP payload bytes")
    dscp: Dscp = Field(34, description="DSCP mark; AF41 (34) like interactive video")
    ip_version: Literal[4, 6] | None = Field(None, description="force IPv4 or IPv6; default: as resolved")


async def _resolve(host: str, ip_version: Literal[4, 6] | None) -> str:
    """The address to probe: a literal as given, a name through the system resolver."""
    try:
        literal = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        pass
    else:
        if ip_version is not None and literal.version != ip_version:
            raise ProbeFailed(
                Reason.BAD_TARGET, f"{host} is an IPv{literal.version} address but ip_version is {ip_version}"
            )
        return host
    try:
        addresses: list[str] = await icmplib.async_resolve(host, family=ip_version)
    except icmplib.NameLookupError:
        family = f" to an IPv{ip_version} address" if ip_version else ""
        raise ProbeFailed(Reason.RESOLVE_FAILED, f"the name {host!r} does not resolve{family}") from None
    except UnicodeError as exc:  # the IDNA codec rejects e.g. an empty label or one over 63 characters
        raise ProbeFailed(Reason.BAD_TARGET, f"{host!r} is not a valid host name: {exc}") from None
    return addresses[0]


async def probe(target: str, settings: IcmpSettings, *, ctx: ProbeContext) -> ProbeResult:
    started = time.monotonic()
    pinger = ctx.pinger
    if pinger is None:
        return ProbeResult.failure(
            Reason.PERMISSION,
            icmp_mode.unavailable_message(),
            duration=time.monotonic() - started,
            info=icmp_mode.setup_info(),
        )
    host = target.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = await _resolve(host, settings.ip_version)
        if icmplib.is_ipv6_address(address) and not pinger.mode.ipv6_available:
            raise ProbeFailed(
                Reason.IPV6_UNAVAILABLE,
                f"{target} is IPv6 ({address}) but this host cannot send IPv6 echoes ({pinger.mode.message})",
            )
    except ProbeFailed as failed:
        return failed.result(duration=time.monotonic() - started)
    resolved = time.monotonic()
    info = {"ip": address, "mode": pinger.mode_name}
    try:
        rtts = await pinger.round(
            address,
            count=settings.count,
            interval=settings.interval,
            timeout=settings.timeout,
            payload_size=settings.payload_size,
            dscp=settings.dscp,
            family=settings.ip_version,
        )
    except PingError as exc:
        reason, why = _SEND_ERRORS.get(exc.errno or 0, (Reason.UNREACHABLE, "the echo could not be sent"))
        log.info("icmp %s: %s", target, exc)
        return ProbeResult.failure(
            reason,
            f"{exc}: {why}",
            duration=time.monotonic() - started,
            values=address_values(address, lookup=resolved - started),
            info=info,
        )
    finished = time.monotonic()
    q = quality.summarize(rtts)
    values = {
        "rtt_min": q.rtt_min,
        "rtt_avg": q.rtt_avg,
        "rtt_median": q.rtt_median,
        "rtt_max": q.rtt_max,
        "jitter": q.jitter,
        "loss_ratio": q.loss_ratio,
        "mos": q.mos,
        "sent": float(q.sent),
        "received": float(q.received),
        **address_values(address, lookup=resolved - started),
    }
    first = next((seq for seq, rtt in enumerate(rtts) if rtt is not None), None)
    if first is not None:
        values["echo_rtt"] = rtts[first]
    if rtts.hop_limit is not None:
        values["hop_limit"] = float(rtts.hop_limit)
    if q.received == 0:
        reason, detail = Reason.NO_REPLY, f"no reply to {q.sent} echoes from {address}"
    elif q.received < q.sent:
        reason = Reason.PARTIAL_LOSS
        detail = f"{q.sent - q.received} of {q.sent} echoes to {address} got no reply ({q.loss_ratio:.1%} loss)"
    else:
        reason, detail = Reason.OK, ""
    return ProbeResult(
        success=q.received > 0,
        duration=finished - started,
        reason=reason,
        detail=detail,
        phases={"resolve": resolved - started, "rtt": finished - resolved},
        values={key: value for key, value in values.items() if value is not None},
        samples=tuple(rtt for rtt in rtts if rtt is not None),
        info=info,
    )


# Beyond the round itself: resolving a name, opening the socket, the answer's way back.
_SLACK = 1.0


def deadline(settings: IcmpSettings) -> float:
    """Longest a round can legitimately take; the scheduler cancels beyond this."""
    return (settings.count - 1) * settings.interval + settings.timeout + _SLACK


def fit(settings: IcmpSettings, seconds: float) -> IcmpSettings:
    """The round shrunk to end within ``seconds``: fewer echoes, a shorter wait for the last reply.

    A scrape under Prometheus' 1 s timeout leaves 0.5 s; a round of 10 echoes 200 ms apart would be cut off
    and report a healthy link down (issue 15). The interval is kept: it is what the link is measured at.
    """
    if deadline(settings) <= seconds:
        return settings
    slack = min(_SLACK, seconds * 0.2)
    budget = seconds - slack
    wait = min(settings.timeout, budget / 2)
    # The small epsilon keeps 0.2 / 0.2 from flooring to 0 through rounding.
    count = max(1, min(settings.count, int((budget - wait) / settings.interval + 1e-9) + 1))
    if count == 1:
        wait = min(settings.timeout, budget)  # a single echo may wait for the whole budget
    return settings.model_copy(update={"count": count, "timeout": wait})
