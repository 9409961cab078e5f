"""SNMP series from a device poll's DeviceReading (probes/snmp/probe.py), labels site and target (the device id)::

    giaoban_device_up{site,target}                                   1 when the agent answered
    giaoban_device_uptime_seconds{site,target}
    giaoban_interface_oper_up{site,target,interface}
    giaoban_interface_receive_bytes_total{site,target,interface}     raw octet counters (rate() them)
    giaoban_interface_transmit_bytes_total{site,target,interface}
    giaoban_interface_utilization_ratio{site,target,interface,direction="in|out"}   absent after a reset or reboot
    giaoban_interface_errors_total{site,target,interface,direction="in|out"}
    giaoban_interface_speed_bytes{site,target,interface}             per second; the contracted bandwidth when
                                                                     configured (DESIGN.md's _speed_bits: promtool
                                                                     wants base units, bytes)
    giaoban_ups_on_battery{site,target}                              absent when the UPS does not say
    giaoban_ups_runtime_seconds{site,target}

``interface`` is the name the inventory gives (a small fixed set), never the device's free text.
A device that did not answer exports giaoban_device_up 0 and nothing else: its last counters are not
repeated as if they were current.
"""

from __future__ import annotations

from monitor.metrics.exposition import Family, escape, fmt
from probes.core.result import ProbeResult
from probes.snmp.readings import DeviceReading

DEVICE_UP = Family("giaoban_device_up", "gauge", "1 if the device's SNMP agent answered the last poll.")
DEVICE_UPTIME = Family("giaoban_device_uptime_seconds", "gauge", "The device's sysUpTime.")
IF_OPER_UP = Family("giaoban_interface_oper_up", "gauge", "1 if the interface's ifOperStatus is up.")
IF_RX = Family("giaoban_interface_receive_bytes_total", "counter", "Octets received (ifHCInOctets or ifInOctets).")
IF_TX = Family("giaoban_interface_transmit_bytes_total", "counter", "Octets sent (ifHCOutOctets or ifOutOctets).")
IF_UTIL = Family(
    "giaoban_interface_utilization_ratio", "gauge", "Traffic over the interface's speed since the previous poll."
)
IF_ERRORS = Family("giaoban_interface_errors_total", "counter", "Interface errors (ifInErrors, ifOutErrors).")
IF_SPEED = Family("giaoban_interface_speed_bytes", "gauge", "Speed utilisation is measured against, bytes per second.")
UPS_ON_BATTERY = Family("giaoban_ups_on_battery", "gauge", "1 if the UPS output runs from its battery.")
UPS_RUNTIME = Family("giaoban_ups_runtime_seconds", "gauge", "The UPS's estimated runtime left.")
SNMP_FAMILIES = (
    DEVICE_UP, DEVICE_UPTIME, IF_OPER_UP, IF_RX, IF_TX, IF_UTIL, IF_ERRORS, IF_SPEED, UPS_ON_BATTERY, UPS_RUNTIME,
)  # fmt: skip


def device_lines(out: dict[Family, list[str]], base: str, result: ProbeResult) -> None:
    """Add one device poll's lines to ``out``; ``base`` is the site/target label text."""
    out[DEVICE_UP] = [f"giaoban_device_up{{{base}}} {fmt(1 if result.success else 0)}\n"]
    reading = result.payload
    if not result.success or not isinstance(reading, DeviceReading):
        return
    out[DEVICE_UPTIME] = [f"giaoban_device_uptime_seconds{{{base}}} {fmt(reading.uptime_seconds)}\n"]
    for iface in reading.interfaces:
        with_if = f'{base},interface="{escape(iface.name)}"'
        if iface.oper_up is not None:
            out.setdefault(IF_OPER_UP, []).append(f"{IF_OPER_UP.name}{{{with_if}}} {fmt(1 if iface.oper_up else 0)}\n")
        for family, total in ((IF_RX, iface.receive_bytes_total), (IF_TX, iface.transmit_bytes_total)):
            if total is not None:
                out.setdefault(family, []).append(f"{family.name}{{{with_if}}} {fmt(total)}\n")
        for direction, ratio, errors in (
            ("in", iface.utilization_in, iface.in_errors_total),
            ("out", iface.utilization_out, iface.out_errors_total),
        ):
            with_dir = f'{with_if},direction="{direction}"'
            if ratio is not None:
                out.setdefault(IF_UTIL, []).append(f"{IF_UTIL.name}{{{with_dir}}} {fmt(ratio)}\n")
            if errors is not None:
                out.setdefault(IF_ERRORS, []).append(f"{IF_ERRORS.name}{{{with_dir}}} {fmt(errors)}\n")
        if iface.speed_bits is not None:
            out.setdefault(IF_SPEED, []).append(f"{IF_SPEED.name}{{{with_if}}} {fmt(iface.speed_bits / 8)}\n")
    ups = reading.ups
    if ups is not None:
        if ups.on_battery is not None:
            out[UPS_ON_BATTERY] = [f"{UPS_ON_BATTERY.name}{{{base}}} {fmt(1 if ups.on_battery else 0)}\n"]
        if ups.runtime_seconds is not None:
            out[UPS_RUNTIME] = [f"{UPS_RUNTIME.name}{{{base}}} {fmt(ups.runtime_seconds)}\n"]
