"""A small SNMP v2c agent for the demo: the system group, IF-MIB and UPS-MIB of emulated routers and UPSes.

No root and no snmpd: each emulated device answers on its own loopback address and UDP port through an
asyncio datagram endpoint; messages are read and written by monitor/demo/ber.py. The agent
answers GET, GETNEXT and GETBULK (SET gets notWritable) over a sorted table of OIDs rebuilt at each request,
so counters and uptime move with the wall clock. A wrong community or an SNMPv1/v3 message is dropped
without an answer, as net-snmp does.

What a device serves (the columns probes/snmp/ifmib.py and probes/snmp/ups.py read, and their neighbours)::

    1.3.6.1.2.1.1      sysDescr, sysObjectID, sysUpTime (days, so no "rebooted recently"), sysContact, sysName,
                       sysLocation
    1.3.6.1.2.1.2      ifNumber; ifTable: ifIndex, ifDescr, ifType, ifMtu, ifSpeed, ifPhysAddress, ifAdminStatus,
                       ifOperStatus, ifLastChange, ifInOctets, ifInUcastPkts, ifInDiscards, ifInErrors, ifOutOctets,
                       ifOutUcastPkts, ifOutDiscards, ifOutErrors
    1.3.6.1.2.1.31     ifXTable: ifName, ifHCInOctets, ifHCOutOctets, ifHighSpeed, ifAlias
    1.3.6.1.2.1.33     (a UPS) upsIdentManufacturer, upsIdentModel, upsBatteryStatus, upsSecondsOnBattery,
                       upsEstimatedMinutesRemaining, upsEstimatedChargeRemaining, upsOutputSource

Traffic: each interface has a mean rate per direction, shaped by the hour of the day in Vietnam (busy in
office hours, quiet at night) and a slow wobble (a sum of sines with random phases), integrated into the
octet counters, so the rates a poller measures over a few seconds move smoothly. An interface that is
down counts nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import errno
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from monitor.demo import ber
from monitor.demo.ber import COUNTER32, COUNTER64, GAUGE32, TIMETICKS, Oid, integer, octets

log = logging.getLogger(__name__)

Value = bytes  # an encoded TLV (monitor/demo/ber.py)

SYSTEM: Oid = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER: Oid = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_X_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
UPS_MIB: Oid = (1, 3, 6, 1, 2, 1, 33, 1)
NET_SNMP_LINUX: Oid = (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)  # sysObjectID: honest about what answers
UTC_OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh, no daylight saving time
MAX_VARBINDS = 1000  # a GETBULK answer stays well inside one UDP datagram
NOT_WRITABLE = 17  # RFC 3416 error-status
ETHERNET, SOFTWARE_LOOPBACK = 6, 24  # ifType (IANAifType-MIB)
UP, DOWN = 1, 2

# The shape of a working day on a commune's link: a share of the mean rate by hour (local time).
_QUIET = 0.2


def diurnal(now: float) -> float:
    """1 at the busiest hour of office time, about 0.2 at night; continuous through the day."""
    hour = ((now + UTC_OFFSET) / 3600) % 24
    day = math.sin(math.pi * (hour - 6.5) / 12) if 6.5 <= hour <= 18.5 else 0.0
    return _QUIET + (1 - _QUIET) * max(day, 0.0)


@dataclass(slots=True)
class Traffic:
    """Mean rates in bit/s (receive = towards the router from the TSLCD side) and how they vary."""

    receive_bps: float
    transmit_bps: float
    daily: bool = True  # follow office hours; False: a constant load (a saturated link stays saturated)
    wobble: float = 0.3  # relative amplitude of the slow random variation
    phases: tuple[float, ...] = field(default_factory=lambda: tuple(random.uniform(0, 2 * math.pi) for _ in range(6)))

    def rates(self, now: float) -> tuple[float, float]:
        shape = diurnal(now) if self.daily else 1.0
        periods = (97.0, 311.0, 1301.0)
        wobble_in = sum(math.sin(2 * math.pi * now / p + self.phases[i]) for i, p in enumerate(periods)) / 3
        wobble_out = sum(math.sin(2 * math.pi * now / p + self.phases[3 + i]) for i, p in enumerate(periods)) / 3
        return (
            max(0.0, self.receive_bps * shape * (1 + self.wobble * wobble_in)),
            max(0.0, self.transmit_bps * shape * (1 + self.wobble * wobble_out)),
        )


@dataclass(slots=True)
class EmulatedInterface:
    index: int
    name: str  # ifName
    descr: str  # ifDescr
    alias: str = ""  # ifAlias (UTF-8: Vietnamese names are common)
    port_bits: int = 1_000_000_000
    kind: int = ETHERNET
    oper_up: bool = True
    admin_up: bool = True
    traffic: Traffic | None = None
    in_octets: float = field(default_factory=lambda: float(random.randrange(10**9, 10**12)))
    out_octets: float = field(default_factory=lambda: float(random.randrange(10**9, 10**12)))
    in_errors: int = 0
    out_errors: int = 0
    counted_to: float = field(default_factory=time.time)

    def advance(self, now: float) -> None:
        """Count the traffic up to ``now`` (midpoint rule in steps of at most 5 s)."""
        if now <= self.counted_to:
            return
        if self.traffic is None or not self.oper_up:
            self.counted_to = now
            return
        start = self.counted_to
        steps = max(1, math.ceil((now - start) / 5.0))
        width = (now - start) / steps
        for step in range(steps):
            receive, transmit = self.traffic.rates(start + (step + 0.5) * width)
            self.in_octets += receive * width / 8
            self.out_octets += transmit * width / 8
        self.counted_to = now


@dataclass(slots=True)
class EmulatedUps:
    on_battery: bool = False
    minutes_at_start: int = 95  # upsEstimatedMinutesRemaining when the demo starts; it runs down on battery
    charge_at_start: int = 100
    since: float = field(default_factory=time.time)  # on battery since

    def minutes(self, now: float) -> int:
        if not self.on_battery:
            return self.minutes_at_start
        return max(5, self.minutes_at_start - int((now - self.since) / 60))

    def charge(self, now: float) -> int:
        if not self.on_battery:
            return self.charge_at_start
        return max(5, self.charge_at_start - int((now - self.since) / 60))


@dataclass(slots=True)
class EmulatedDevice:
    sys_name: str
    sys_descr: str
    location: str = ""
    contact: str = ""
    interfaces: list[EmulatedInterface] = field(default_factory=list)
    ups: EmulatedUps | None = None
    # Up for days already: a router "rebooted within the hour" would make every site DEGRADED.
    booted_at: float = field(default_factory=lambda: time.time() - random.uniform(5, 40) * 86400)

    def uptime_ticks(self, now: float) -> int:
        return int((now - self.booted_at) * 100) % 2**32

    def table(self, now: float) -> list[tuple[Oid, Value]]:
        """Every (OID, encoded value) this device serves now, sorted by OID."""
        rows: list[tuple[Oid, Value]] = [
            ((*SYSTEM, 1, 0), octets(self.sys_descr.encode())),
            ((*SYSTEM, 2, 0), ber.object_identifier(NET_SNMP_LINUX)),
            ((*SYSTEM, 3, 0), integer(self.uptime_ticks(now), TIMETICKS)),
            ((*SYSTEM, 4, 0), octets(self.contact.encode())),
            ((*SYSTEM, 5, 0), octets(self.sys_name.encode())),
            ((*SYSTEM, 6, 0), octets(self.location.encode())),
            (IF_NUMBER, integer(len(self.interfaces))),
        ]
        for i in self.interfaces:
            i.advance(now)
            rows += _interface_rows(i)
        if self.ups is not None:
            rows += _ups_rows(self.ups, now)
        rows.sort(key=lambda row: row[0])
        return rows


def _interface_rows(i: EmulatedInterface) -> list[tuple[Oid, Value]]:
    n = i.index
    receive, transmit = int(i.in_octets), int(i.out_octets)
    packets_in, packets_out = receive // 900, transmit // 900  # an average packet of 900 bytes
    mac = bytes([0x02, 0x00, 0x5E, 0x10, (n >> 8) & 0xFF, n & 0xFF]) if i.kind == ETHERNET else b""
    column: list[tuple[int, Value]] = [
        (1, integer(n)),
        (2, octets(i.descr.encode())),
        (3, integer(i.kind)),
        (4, integer(1500 if i.kind == ETHERNET else 65536)),
        (5, integer(min(i.port_bits, 2**32 - 1), GAUGE32)),
        (6, octets(mac)),
        (7, integer(UP if i.admin_up else DOWN)),
        (8, integer(UP if i.oper_up else DOWN)),
        (9, integer(0, TIMETICKS)),
        (10, integer(receive % 2**32, COUNTER32)),
        (11, integer(packets_in % 2**32, COUNTER32)),
        (13, integer(0, COUNTER32)),
        (14, integer(i.in_errors % 2**32, COUNTER32)),
        (16, integer(transmit % 2**32, COUNTER32)),
        (17, integer(packets_out % 2**32, COUNTER32)),
        (19, integer(0, COUNTER32)),
        (20, integer(i.out_errors % 2**32, COUNTER32)),
    ]
    extended: list[tuple[int, Value]] = [
        (1, octets(i.name.encode())),
        (6, integer(receive % 2**64, COUNTER64)),
        (10, integer(transmit % 2**64, COUNTER64)),
        (15, integer(i.port_bits // 1_000_000, GAUGE32)),
        (18, octets(i.alias.encode())),
    ]
    return [((*IF_ENTRY, c, n), v) for c, v in column] + [((*IF_X_ENTRY, c, n), v) for c, v in extended]


def _ups_rows(ups: EmulatedUps, now: float) -> list[tuple[Oid, Value]]:
    on_battery = ups.on_battery
    return [
        ((*UPS_MIB, 1, 1, 0), octets(b"giaoban demo")),
        ((*UPS_MIB, 1, 2, 0), octets(b"emulated UPS 1 kVA")),
        ((*UPS_MIB, 2, 1, 0), integer(2)),  # upsBatteryStatus batteryNormal(2)
        ((*UPS_MIB, 2, 2, 0), integer(int(now - ups.since) if on_battery else 0)),  # upsSecondsOnBattery
        ((*UPS_MIB, 2, 3, 0), integer(ups.minutes(now))),  # upsEstimatedMinutesRemaining
        ((*UPS_MIB, 2, 4, 0), integer(ups.charge(now))),  # upsEstimatedChargeRemaining
        ((*UPS_MIB, 4, 1, 0), integer(5 if on_battery else 3)),  # upsOutputSource battery(5) / normal(3)
    ]


# --- the protocol --------------------------------------------------------------------------------------------


class _View:
    """A sorted table and the lookups GET, GETNEXT and GETBULK need."""

    def __init__(self, rows: list[tuple[Oid, Value]]) -> None:
        self.oids = [oid for oid, _ in rows]
        self.values = [value for _, value in rows]
        self.objects = {oid[:-1] for oid in self.oids}  # every instance here has a one-number index

    def get(self, oid: Oid) -> tuple[Oid, Value]:
        at = bisect.bisect_left(self.oids, oid)
        if at < len(self.oids) and self.oids[at] == oid:
            return oid, self.values[at]
        return oid, ber.NO_SUCH_INSTANCE if oid[:-1] in self.objects else ber.NO_SUCH_OBJECT

    def next(self, oid: Oid) -> tuple[Oid, Value]:
        at = bisect.bisect_right(self.oids, oid)
        if at < len(self.oids):
            return self.oids[at], self.values[at]
        return oid, ber.END_OF_MIB_VIEW


def _bulk(view: _View, oids: Sequence[Oid], non_repeaters: int, max_repetitions: int) -> list[tuple[Oid, Value]]:
    """RFC 3416 §4.2.3: the first N varbinds once, then the others row by row until all end or the cap."""
    non_repeaters = max(0, min(non_repeaters, len(oids)))
    out = [view.next(oid) for oid in oids[:non_repeaters]]
    repeaters = list(oids[non_repeaters:])
    if not repeaters:
        return out
    rows = max(0, min(max_repetitions, (MAX_VARBINDS - len(out)) // len(repeaters)))
    for _ in range(rows):
        step = [view.next(oid) for oid in repeaters]
        out += step
        if all(value == ber.END_OF_MIB_VIEW for _, value in step):
            break
        repeaters = [oid for oid, _ in step]
    return out


def respond(device: EmulatedDevice, community: bytes, data: bytes, now: float) -> bytes | None:
    """The encoded answer to one request datagram, or None to stay silent (not v2c, wrong community, garbage)."""
    try:
        request = ber.decode_request(data)
    except ber.BerError as exc:
        log.debug("demo snmp %s: ignored a datagram: %s", device.sys_name, exc)
        return None
    if request.community != community:
        return None
    oids = [oid for oid, _ in request.varbinds]
    if request.pdu == ber.SET:
        return ber.encode_response(request, request.varbinds, error_status=NOT_WRITABLE, error_index=1)
    view = _View(device.table(now))
    if request.pdu == ber.GET:
        varbinds = [view.get(oid) for oid in oids]
    elif request.pdu == ber.GET_NEXT:
        varbinds = [view.next(oid) for oid in oids]
    elif request.pdu == ber.GET_BULK:
        varbinds = _bulk(view, oids, request.first, request.second)
    else:
        return None  # a response, trap or report sent to an agent: nothing to answer
    return ber.encode_response(request, varbinds)


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, device: EmulatedDevice, community: bytes) -> None:
        self.device, self.community = device, community
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector transport does not inherit from asyncio.DatagramTransport, though it is one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        answer = respond(self.device, self.community, data, time.time())
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


async def bind_udp(
    factory: Callable[[], asyncio.DatagramProtocol], host: str, preferred: int
) -> tuple[asyncio.DatagramTransport, int]:
    """A UDP endpoint on ``host``: the preferred port if free (and allowed), else any free port."""
    loop = asyncio.get_running_loop()
    for port in (preferred, 0) if preferred else (0,):
        try:
            transport, _ = await loop.create_datagram_endpoint(factory, local_addr=(host, port))
        except OSError as exc:
            if port == 0 or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            continue
        bound: int = transport.get_extra_info("sockname")[1]
        return transport, bound
    raise AssertionError("unreachable: port 0 either binds or raises")


class SnmpAgent:
    """Emulated devices, each answering on its own address; ``close()`` stops them all."""

    def __init__(self, community: str) -> None:
        self.community = community.encode()
        self.devices: dict[tuple[str, int], EmulatedDevice] = {}
        self._transports: list[asyncio.DatagramTransport] = []

    async def add(self, device: EmulatedDevice, host: str, preferred_port: int = 1161) -> int:
        """Serve ``device`` on ``host``; returns the UDP port it listens on."""
        transport, port = await bind_udp(lambda: _Responder(device, self.community), host, preferred_port)
        self._transports.append(transport)
        self.devices[(host, port)] = device
        return port

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
        self._transports.clear()
