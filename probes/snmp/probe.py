"""SNMP polling of routers and UPSes: uptime and reboots, the inventory's interfaces, UPS-MIB (issue 3).

Target ``HOST`` or ``HOST:PORT`` (``[v6]:PORT``); the port defaults to ``settings.port``. One poll reads
sysUpTime/sysName/sysDescr, the configured interfaces (probes/snmp/ifmib.py) and, with ``ups: true``,
UPS-MIB (probes/snmp/ups.py). State between polls — the one pysnmp engine, each device's ifIndex map and
counters — lives in the process's ``SnmpPoller`` (``ctx.snmp``); without one a poll makes its own, so a
one-shot ``giaoban probe snmp`` works too (its rates are then None: one sample is no rate).

Result: ``success`` = the device answered. ``payload`` is a ``DeviceReading`` (probes/snmp/readings.py).
Values (flat, for /probe and the CLI)::

    uptime              sysUpTime in seconds
    rebooted            1 when the agent restarted since the previous poll, else 0
    interfaces          configured interfaces found        interfaces_missing   configured but not found
    interfaces_down     found with ifOperStatus not up     interfaces_ambiguous found, but the name is shared
    ups_on_battery      1/0 (absent when unknown)          ups_runtime          seconds left (absent when unknown)

Phases: ``setup`` (address, SNMPv3 engine discovery), ``map`` (name → ifIndex, when refreshed), ``poll``.
Info: ``sys_name``, ``sys_descr``, one ``interface NAME`` line each, ``ups``.

Reasons: OK; CONFIG_ERROR (a secret cannot be read; or configured interfaces the device lacks, or names
that several of its interfaces carry — then the probe still succeeds, the found interfaces are reported and
the detail lists every ifIndex an ambiguous name matched); TIMEOUT (no answer: for v1/v2c also what a
wrong community looks like); PERMISSION (SNMPv3 unknown user, wrong auth_key, wrong priv_key, security
level not allowed; access denied by the agent's view); PROTOCOL_ERROR (malformed or inconsistent answers);
RESOLVE_FAILED; BAD_TARGET.

What /metrics exports of a poll, as ``SERIES`` below declares it (the README's metric names; labels site, target plus
those shown; the interface lines are written from the ``DeviceReading`` by monitor/metrics/snmp.py)::

    giaoban_device_up                                   result.success (1 also with missing interfaces)
    giaoban_device_uptime_seconds                       uptime_seconds (value uptime)
    giaoban_interface_oper_up{interface}                oper_up (absent when None)
    giaoban_interface_receive_bytes_total{interface}    receive_bytes_total   (counter; absent when None)
    giaoban_interface_transmit_bytes_total{interface}   transmit_bytes_total  (counter)
    giaoban_interface_utilization_ratio{interface,direction="in|out"}   utilization_in / utilization_out
                                                        (absent when None: first poll, reset, reboot)
    giaoban_interface_errors_total{interface,direction="in|out"}        in_errors_total / out_errors_total
    giaoban_interface_speed_bytes{interface}            speed_bits / 8 (the bandwidth override when configured)
    giaoban_ups_on_battery                              ups.on_battery (value ups_on_battery; absent when None)
    giaoban_ups_runtime_seconds                         ups.runtime_seconds (value ups_runtime; absent when None)

``interface`` is the name as configured in the inventory (a fixed, small set), never ifDescr or ifAlias.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, ProbeResult, Reason
from probes.core.secrets import Secret
from probes.core.series import PAYLOAD, SUCCESS, Series
from probes.core.settings import Settings, split_host_port
from probes.core.units import Bandwidth, Duration
from probes.snmp.poller import SnmpPoller
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.ups import UpsReading

KIND = "snmp"
DEFAULT_PORT = 161

__all__ = [
    "KIND",
    "DeviceReading",
    "InterfaceReading",
    "SnmpPoller",
    "SnmpSettings",
    "UpsReading",
    "deadline",
    "probe",
    "summary",
]


# The interface families are written from the DeviceReading payload (monitor/metrics/snmp.py), one per interface.
IF_OPER_UP = Series(PAYLOAD, "giaoban_interface_oper_up", "1 if the interface's ifOperStatus is up.")
IF_RX = Series(
    PAYLOAD, "giaoban_interface_receive_bytes_total", "Octets received (ifHCInOctets or ifInOctets).", "counter"
)
IF_TX = Series(
    PAYLOAD, "giaoban_interface_transmit_bytes_total", "Octets sent (ifHCOutOctets or ifOutOctets).", "counter"
)
IF_UTIL = Series(
    PAYLOAD, "giaoban_interface_utilization_ratio", "Traffic over the interface's speed since the previous poll."
)
IF_ERRORS = Series(PAYLOAD, "giaoban_interface_errors_total", "Interface errors (ifInErrors, ifOutErrors).", "counter")
IF_SPEED = Series(PAYLOAD, "giaoban_interface_speed_bytes", "Speed utilisation is measured against, bytes per second.")
SERIES = (
    Series(SUCCESS, "giaoban_device_up", "1 if the device's SNMP agent answered the last poll."),
    Series("uptime", "giaoban_device_uptime_seconds", "The device's sysUpTime."),
    IF_OPER_UP,
    IF_RX,
    IF_TX,
    IF_UTIL,
    IF_ERRORS,
    IF_SPEED,
    Series("ups_on_battery", "giaoban_ups_on_battery", "1 if the UPS output runs from its battery."),
    Series("ups_runtime", "giaoban_ups_runtime_seconds", "The UPS's estimated runtime left."),
)


class SnmpSettings(Settings):
    """Poll a router or UPS by SNMP: uptime, the named interfaces' traffic and health, UPS-MIB."""

    version: Literal["1", "2c", "3"] = "2c"
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    community: Secret | None = None
    user: str | None = None
    auth: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: Secret | None = None
    priv: Literal["DES", "AES", "AES128", "AES192", "AES256"] | None = None
    priv_key: Secret | None = None
    context: str = ""
    timeout: Duration = Field(2.0, gt=0, description="wait for each answer")
    retries: int = Field(1, ge=0, le=10, description="resend an unanswered request this many times")
    max_repetitions: int = Field(25, ge=1, le=1000, description="rows per GETBULK when walking")
    interfaces: list[str] = Field(default_factory=list, description="interfaces to poll, by ifName, ifDescr or ifAlias")
    bandwidth: dict[str, Bandwidth] = Field(
        default_factory=dict,
        description="speed to measure utilisation against, per interface, when less than the port's "
        "(a 100Mbit service on a 1Gbit port)",
    )
    ups: bool = Field(False, description="also read UPS-MIB (RFC 1628)")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # YAML reads `version: 3` as a number

    @field_validator("interfaces")
    @classmethod
    def _interface_names(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if not name.strip():
                raise ValueError("an interface name cannot be empty")
            if name in seen:
                raise ValueError(f"interface {name!r} is listed twice")
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _credentials_match_version(self) -> SnmpSettings:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"SNMP v{self.version} needs community: {{env: NAME}} or {{file: PATH}}")
            if self.user or self.auth or self.priv:
                raise ValueError("user/auth/priv are SNMPv3 settings; remove them or set version: 3")
        else:
            if not self.user:
                raise ValueError("SNMPv3 needs user:")
            if self.community is not None:
                raise ValueError("community is for v1/v2c; SNMPv3 uses user, auth_key and priv_key")
            if (self.auth is None) != (self.auth_key is None):
                raise ValueError("auth and auth_key go together: give both or neither")
            if (self.priv is None) != (self.priv_key is None):
                raise ValueError("priv and priv_key go together: give both or neither")
            if self.priv is not None and self.auth is None:
                raise ValueError("privacy (priv) needs authentication: add auth and auth_key")
        return self

    @model_validator(mode="after")
    def _bandwidth_names_interfaces(self) -> SnmpSettings:
        for name in self.bandwidth:
            if name not in self.interfaces:
                raise ValueError(f"bandwidth names interface {name!r}, which is not in interfaces")
        return self


def deadline(settings: SnmpSettings) -> float:
    """A bound on one poll: discovery, a map walk and the GETs may each wait out every retry."""
    return settings.timeout * (settings.retries + 1) * 3 + 10.0


def _rate(bps: float | None, ratio: float | None) -> str:
    if bps is None:
        return "-"
    text = f"{bps / 1e6:.3f} Mbit/s"
    return f"{text} ({ratio * 100:.1f} %)" if ratio is not None else text


def _interface_line(i: InterfaceReading) -> str:
    state = {True: "up", False: "down", None: "status unknown"}[i.oper_up]
    if i.admin_up is False:
        state += " (admin down)"
    speed = f"{i.speed_bits / 1e6:g} Mbit/s" if i.speed_bits else "speed unknown"
    reset = ", counters reset" if i.counter_reset else ""
    shared = f"; the {i.name_column} of ifIndex {_indexes(i.shared_by)} too" if i.shared_by else ""
    return (
        f"ifIndex {i.index} {i.descr!r}, {state}, {speed}, rx {_rate(i.receive_bps, i.utilization_in)}, "
        f"tx {_rate(i.transmit_bps, i.utilization_out)}, errors in/out {i.in_errors_total}/{i.out_errors_total}, "
        f"{i.counter_bits}-bit counters{reset}{shared}"
    )


def _indexes(indexes: tuple[int, ...]) -> str:
    return ", ".join(map(str, indexes))


def _ambiguous(i: InterfaceReading) -> str:
    return (
        f"{i.name!r} is the {i.name_column} of {len(i.shared_by)} interfaces (ifIndex {_indexes(i.shared_by)}); "
        f"polling ifIndex {i.index}"
    )


def _ups_line(ups: UpsReading) -> str:
    source = {True: "on battery", False: f"on {ups.output_source}", None: "source unknown"}[ups.on_battery]
    runtime = f"{ups.runtime_seconds / 60:g} min left" if ups.runtime_seconds is not None else "runtime unknown"
    return f"{source}, {runtime}, battery {ups.battery_status or 'unknown'}"


def summary(reading: DeviceReading) -> dict[str, str]:
    """A device and interface summary as label → text (the CLI prints it as the probe's info)."""
    info = {"sys_name": reading.sys_name, "sys_descr": reading.sys_descr[:120]}
    for i in reading.interfaces:
        info[f"interface {i.name}"] = _interface_line(i)
    for name in reading.missing_interfaces:
        info[f"interface {name}"] = "not found in ifName, ifDescr or ifAlias"
    if reading.ups is not None:
        info["ups"] = _ups_line(reading.ups)
    return info


def _values(reading: DeviceReading) -> dict[str, float]:
    values = {
        "uptime": reading.uptime_seconds,
        "rebooted": 1.0 if reading.rebooted else 0.0,
        "interfaces": float(len(reading.interfaces)),
        "interfaces_missing": float(len(reading.missing_interfaces)),
        "interfaces_down": float(sum(1 for i in reading.interfaces if i.oper_up is False)),
        "interfaces_ambiguous": float(len(reading.ambiguous_interfaces)),
    }
    if reading.ups is not None and reading.ups.on_battery is not None:
        values["ups_on_battery"] = 1.0 if reading.ups.on_battery else 0.0
    if reading.ups is not None and reading.ups.runtime_seconds is not None:
        values["ups_runtime"] = reading.ups.runtime_seconds
    return values


def _result(target: str, reading: DeviceReading, phases: dict[str, float], started: float) -> ProbeResult:
    reason, details = Reason.OK, []
    if reading.missing_interfaces:
        reason = Reason.CONFIG_ERROR
        missing = ", ".join(repr(n) for n in reading.missing_interfaces)
        details.append(f"{target} has no interface named {missing} (looked in ifName, ifDescr and ifAlias)")
    if ambiguous := reading.ambiguous_interfaces:
        # Issue 15: a shared ifAlias or a repeated ifName was resolved to one interface without a word.
        reason = Reason.CONFIG_ERROR
        shared = "; ".join(_ambiguous(i) for i in ambiguous)
        details.append(f"{target}: {shared}: name each interface by a unique ifName or ifDescr")
    if reading.rebooted:
        details.append(f"the agent restarted {reading.uptime_seconds:.0f} s ago")
    down = [i.name for i in reading.interfaces if i.oper_up is False]
    if down:
        details.append(f"interface {', '.join(down)} down")
    if reading.ups is not None and reading.ups.on_battery:
        details.append(f"UPS {_ups_line(reading.ups)}")
    if reading.ups is not None and not reading.ups.reported:
        details.append(f"{target} reports no UPS-MIB (RFC 1628) values")
    return ProbeResult(
        success=True,
        duration=time.monotonic() - started,
        reason=reason,
        detail="; ".join(details),
        phases=phases,
        values=_values(reading),
        info=summary(reading),
        payload=reading,
    )


async def probe(target: str, settings: SnmpSettings, *, ctx: ProbeContext) -> ProbeResult:
    started = time.monotonic()
    try:
        host, port = split_host_port(target, default_port=settings.port)
    except ValueError as exc:
        return ProbeResult.failure(Reason.BAD_TARGET, str(exc), duration=time.monotonic() - started)
    shared: SnmpPoller | None = getattr(ctx, "snmp", None)
    poller = shared if shared is not None else SnmpPoller()
    try:
        reading, phases = await poller.poll(host, port, settings)
    except ProbeFailed as failed:
        return failed.result(duration=time.monotonic() - started)
    finally:
        if shared is None:
            await poller.close()
    return _result(target, reading, phases, started)
