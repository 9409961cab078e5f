"""What one SNMP poll read from a device: the ``payload`` of its ProbeResult (metrics: probes/snmp/probe.py)."""

from __future__ import annotations

from dataclasses import dataclass

from probes.snmp.ups import UpsReading


@dataclass(frozen=True, slots=True)
class InterfaceReading:
    name: str  # as configured
    index: int
    descr: str
    alias: str
    oper_up: bool | None
    admin_up: bool | None
    receive_bytes_total: int | None  # raw octet counters (exported as Prometheus counters)
    transmit_bytes_total: int | None
    in_errors_total: int | None
    out_errors_total: int | None
    in_discards_total: int | None
    out_discards_total: int | None
    speed_bits: float | None  # what utilisation is measured against: the bandwidth override, else port_speed_bits
    port_speed_bits: float | None  # ifSpeed, or ifHighSpeed × 10^6 above 4.29 Gbit/s
    receive_bps: float | None  # None on the first poll, after a counter reset or a reboot
    transmit_bps: float | None
    utilization_in: float | None  # receive_bps / speed_bits
    utilization_out: float | None
    counter_bits: int  # 64 (ifHC*Octets) or 32
    counter_reset: bool  # the counters were discontinuous at this poll: rates start again next poll
    shared_by: tuple[int, ...] = ()  # the name is ambiguous: every ifIndex carrying it (``index`` is the one polled)
    name_column: str = "ifName"  # where the name was found: ifName, ifDescr or ifAlias


@dataclass(frozen=True, slots=True)
class DeviceReading:
    sys_name: str
    sys_descr: str
    uptime_seconds: float
    rebooted: bool  # the agent restarted since the previous poll (sysUpTime went back)
    interfaces: tuple[InterfaceReading, ...]
    missing_interfaces: tuple[str, ...]  # configured names the device does not have
    ups: UpsReading | None

    @property
    def ambiguous_interfaces(self) -> tuple[InterfaceReading, ...]:
        """The interfaces whose configured name several interfaces of the device carry."""
        return tuple(i for i in self.interfaces if i.shared_by)
