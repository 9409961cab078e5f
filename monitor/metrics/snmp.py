"""The SNMP interface series, written from a device poll's DeviceReading (probes/snmp/probe.py declares them)::

    giaoban_interface_oper_up{site,target,interface}
    giaoban_interface_receive_bytes_total{site,target,interface}     raw octet counters (rate() them)
    giaoban_interface_transmit_bytes_total{site,target,interface}
    giaoban_interface_utilization_ratio{site,target,interface,direction="in|out"}   absent after a reset or reboot
    giaoban_interface_errors_total{site,target,interface,direction="in|out"}
    giaoban_interface_speed_bytes{site,target,interface}             per second; the contracted bandwidth when
                                                                     configured (once named _speed_bits: promtool
                                                                     wants base units, bytes)

The device's own series (giaoban_device_up, giaoban_device_uptime_seconds, giaoban_ups_on_battery,
giaoban_ups_runtime_seconds) are flat values, written like every kind's (monitor/metrics/targets.py).
``interface`` is the name the inventory gives (a small fixed set), never the device's free text.
A device that did not answer exports giaoban_device_up 0 and nothing else: its last counters are not
repeated as if they were current.
"""

from __future__ import annotations

from monitor.metrics.exposition import escape, fmt
from probes.snmp.probe import IF_ERRORS, IF_OPER_UP, IF_RX, IF_SPEED, IF_TX, IF_UTIL
from probes.snmp.readings import DeviceReading


def interface_lines(out: dict[str, list[str]], base: str, reading: DeviceReading) -> None:
    """Add one successful poll's interface lines to ``out`` (family name → lines); ``base`` is site/target."""
    for iface in reading.interfaces:
        with_if = f'{base},interface="{escape(iface.name)}"'
        if iface.oper_up is not None:
            out.setdefault(IF_OPER_UP.name, []).append(
                f"{IF_OPER_UP.name}{{{with_if}}} {fmt(1 if iface.oper_up else 0)}\n"
            )
        for series, total in ((IF_RX, iface.receive_bytes_total), (IF_TX, iface.transmit_bytes_total)):
            if total is not None:
                out.setdefault(series.name, []).append(f"{series.name}{{{with_if}}} {fmt(total)}\n")
        for direction, ratio, errors in (
            ("in", iface.utilization_in, iface.in_errors_total),
            ("out", iface.utilization_out, iface.out_errors_total),
        ):
            with_dir = f'{with_if},direction="{direction}"'
            if ratio is not None:
                out.setdefault(IF_UTIL.name, []).append(f"{IF_UTIL.name}{{{with_dir}}} {fmt(ratio)}\n")
            if errors is not None:
                out.setdefault(IF_ERRORS.name, []).append(f"{IF_ERRORS.name}{{{with_dir}}} {fmt(errors)}\n")
        if iface.speed_bits is not None:
            out.setdefault(IF_SPEED.name, []).append(f"{IF_SPEED.name}{{{with_if}}} {fmt(iface.speed_bits / 8)}\n")
