"""UPS-MIB (RFC 1628) for a UPS in the inventory: on battery, runtime left, battery health.

Read with one GET of five scalars. A value the agent does not report stays None ("unknown"), never a
reassuring default: a UPS that says nothing about its source is not "on mains".

    upsBatteryStatus              1.3.6.1.2.1.33.1.2.1.0   unknown(1) batteryNormal(2) batteryLow(3) batteryDepleted(4)
    upsSecondsOnBattery           1.3.6.1.2.1.33.1.2.2.0   0 when on mains
    upsEstimatedMinutesRemaining  1.3.6.1.2.1.33.1.2.3.0   → runtime_seconds
    upsEstimatedChargeRemaining   1.3.6.1.2.1.33.1.2.4.0   percent → charge_ratio
    upsOutputSource               1.3.6.1.2.1.33.1.4.1.0   battery(5) → on_battery
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from probes.snmp.session import Oid, Value

UPS_BATTERY: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 2)
BATTERY_STATUS: Oid = (*UPS_BATTERY, 1, 0)
SECONDS_ON_BATTERY: Oid = (*UPS_BATTERY, 2, 0)
MINUTES_REMAINING: Oid = (*UPS_BATTERY, 3, 0)
CHARGE_REMAINING: Oid = (*UPS_BATTERY, 4, 0)
OUTPUT_SOURCE: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 4, 1, 0)
UPS_OIDS: tuple[Oid, ...] = (BATTERY_STATUS, SECONDS_ON_BATTERY, MINUTES_REMAINING, CHARGE_REMAINING, OUTPUT_SOURCE)

BATTERY_STATUSES = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
OUTPUT_SOURCES = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer"}
_BATTERY = 5


@dataclass(frozen=True, slots=True)
class UpsReading:
    on_battery: bool | None  # upsOutputSource == battery(5)
    output_source: str | None  # "normal", "battery", "bypass", ...
    runtime_seconds: float | None  # upsEstimatedMinutesRemaining × 60
    seconds_on_battery: float | None
    charge_ratio: float | None  # upsEstimatedChargeRemaining / 100
    battery_status: str | None  # "normal", "low", "depleted", or "unknown" when the UPS itself says so

    @property
    def reported(self) -> bool:
        """Whether the agent implements any of the UPS-MIB objects read."""
        fields = (
            self.on_battery,
            self.runtime_seconds,
            self.seconds_on_battery,
            self.charge_ratio,
            self.battery_status,
        )
        return any(v is not None for v in fields)


def _int(values: Mapping[Oid, Value], oid: Oid) -> int | None:
    value = values.get(oid)
    return value if isinstance(value, int) else None


def ups_reading(values: Mapping[Oid, Value]) -> UpsReading:
    """The UPS's state from a GET of UPS_OIDS (every field None when the agent implements none of them)."""
    source = _int(values, OUTPUT_SOURCE)
    status = _int(values, BATTERY_STATUS)
    minutes = _int(values, MINUTES_REMAINING)
    seconds = _int(values, SECONDS_ON_BATTERY)
    charge = _int(values, CHARGE_REMAINING)
    return UpsReading(
        on_battery=None if source is None else source == _BATTERY,
        output_source=None if source is None else OUTPUT_SOURCES.get(source, f"code {source}"),
        runtime_seconds=None if minutes is None else minutes * 60.0,
        seconds_on_battery=None if seconds is None else float(seconds),
        charge_ratio=None if charge is None else charge / 100,
        battery_status=None if status is None else BATTERY_STATUSES.get(status, "unknown"),
    )
