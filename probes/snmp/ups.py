"""UPS-MIB (RFC 1628) for a UPS in the inventory: on battery, runtime left, battery health.

Read with one GET of five scalars. A value the agent does not report stays None ("unknown"), never a
reassuring default: a UPS that says nothing about its source is not "on mains". So does a value outside the
range RFC 1628 gives the object: agents write -1 or 0 for "not estimated" (a Huawei UPS2000 answers -1 for
minutes and charge; EastPower and Phoenixtec cards answer 0 minutes on mains at 100 %, snmpsim-data), and
"-1 minutes left" is not a runtime (issue 15).

    object                        OID                      RFC 1628 range        read as
    upsBatteryStatus              1.3.6.1.2.1.33.1.2.1.0   1..4                  unknown normal low depleted
    upsSecondsOnBattery           1.3.6.1.2.1.33.1.2.2.0   0..2147483647         0 when on mains
    upsEstimatedMinutesRemaining  1.3.6.1.2.1.33.1.2.3.0   1..2147483647         → runtime_seconds
    upsEstimatedChargeRemaining   1.3.6.1.2.1.33.1.2.4.0   0..100 (percent)      → charge_ratio
    upsOutputSource               1.3.6.1.2.1.33.1.4.1.0   1..7                  battery(5) → on_battery
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
_INT32_MAX = 2**31 - 1
# object → the values RFC 1628 allows it; anything else means "unknown" and leaves the field None.
_RANGES: dict[Oid, range] = {
    BATTERY_STATUS: range(1, 5),
    SECONDS_ON_BATTERY: range(0, _INT32_MAX + 1),
    MINUTES_REMAINING: range(1, _INT32_MAX + 1),  # PositiveInteger: 0 and -1 are "not estimated"
    CHARGE_REMAINING: range(0, 101),
    OUTPUT_SOURCE: range(1, 8),
}


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
    """The object's value when it is an integer within its RFC 1628 range, else None (unknown)."""
    value = values.get(oid)
    return value if isinstance(value, int) and value in _RANGES[oid] else None


def ups_reading(values: Mapping[Oid, Value]) -> UpsReading:
    """The UPS's state from a GET of UPS_OIDS (every field None when the agent implements none of them)."""
    source = _int(values, OUTPUT_SOURCE)
    status = _int(values, BATTERY_STATUS)
    minutes = _int(values, MINUTES_REMAINING)
    seconds = _int(values, SECONDS_ON_BATTERY)
    charge = _int(values, CHARGE_REMAINING)
    return UpsReading(
        on_battery=None if source is None else source == _BATTERY,
        output_source=None if source is None else OUTPUT_SOURCES[source],
        runtime_seconds=None if minutes is None else minutes * 60.0,
        seconds_on_battery=None if seconds is None else float(seconds),
        charge_ratio=None if charge is None else charge / 100,
        battery_status=None if status is None else BATTERY_STATUSES[status],
    )
