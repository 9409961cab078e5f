"""The state SNMP polling keeps between polls, and one poll of one device.

``SnmpPoller`` is made once per process (probes/context.py) and holds the one pysnmp engine and, per device
— keyed by (host, port, context, version, credential source), so two devices never mix — the SNMPv3 engine
ID, the name → ifIndex map, the interfaces lacking HC counters, the last sysUpTime and each interface's
recent counter samples.

The name → ifIndex map is refreshed every ``MAP_REFRESH`` seconds, and at once when the device rebooted or
when a mapped index no longer exists or no longer carries its name. Names the device never had are looked
for again every ``MISSING_REFRESH`` seconds, not at every poll (each look is up to three column walks).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from probes.core.result import ProbeFailed, Reason
from probes.core.secrets import SecretUnavailable
from probes.snmp.ifmib import COLUMN_NAMES, UP, InterfaceRow, Match, read_rows, resolve_names, text
from probes.snmp.rates import CounterHistory, Rates, Sample
from probes.snmp.readings import DeviceReading, InterfaceReading
from probes.snmp.session import SYS_UPTIME, Credentials, Engine, Oid, Session
from probes.snmp.ups import UPS_OIDS, ups_reading

if TYPE_CHECKING:
    from probes.snmp.probe import SnmpSettings

log = logging.getLogger(__name__)

SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
MAP_REFRESH = 1800.0  # seconds between name → ifIndex refreshes when nothing suggests a change
MISSING_REFRESH = 300.0  # a name the device never had is looked for again this often, not at every poll
FORGET_AFTER = 86400.0  # a device not polled for a day (removed from the inventory) is forgotten
_UPTIME_WRAP = 2**32 / 100  # sysUpTime is TimeTicks (1/100 s) and wraps after 497 days
_V3_DIAGNOSED = frozenset({Reason.TIMEOUT, Reason.PERMISSION, Reason.PROTOCOL_ERROR})


def credentials(settings: SnmpSettings) -> Credentials:
    """The settings' secrets, read now; ProbeFailed(CONFIG_ERROR) naming the one that cannot be read."""
    try:
        if settings.version != "3":
            assert settings.community is not None  # the settings' validator guarantees it
            return Credentials(settings.version, community=settings.community.reveal())
        return Credentials(
            "3",
            user=settings.user or "",
            auth=settings.auth,
            auth_key=settings.auth_key.reveal() if settings.auth_key else "",
            priv=settings.priv,
            priv_key=settings.priv_key.reveal() if settings.priv_key else "",
        )
    except SecretUnavailable as exc:
        raise ProbeFailed(Reason.CONFIG_ERROR, f"SNMP secret unavailable: {exc}") from None


def credential_source(settings: SnmpSettings) -> str:
    """Where the credentials come from (never their value): part of a device's state key."""
    if settings.version != "3":
        return f"community {settings.community.source() if settings.community else '-'}"
    keys = [s.source() for s in (settings.auth_key, settings.priv_key) if s is not None]
    return f"user {settings.user} {settings.auth}/{settings.priv} {' '.join(keys)}"


@dataclass(slots=True)
class _Device:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    address: tuple[str, int] | None = None
    resolved_at: float = 0.0
    engine_id: bytes | None = None
    session: Session | None = None
    session_key: tuple[object, ...] = ()
    names: tuple[str, ...] = ()
    matches: dict[str, Match] = field(default_factory=dict)
    table_size: int = 0
    mapped_at: float | None = None
    legacy: set[int] = field(default_factory=set)  # ifIndexes without HC counters
    histories: dict[str, tuple[int, CounterHistory]] = field(default_factory=dict)  # name → (ifIndex, samples)
    uptime: float | None = None
    uptime_at: float = 0.0  # monotonic instant of that uptime reading
    polled_at: float = 0.0


async def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host, port
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise ProbeFailed(Reason.RESOLVE_FAILED, f"cannot resolve {host}: {exc.strerror}") from None
    return str(infos[0][4][0]), port


def _carries(row: InterfaceRow | None, match: Match, name: str) -> TypeGuard[InterfaceRow]:
    """Whether the polled row still carries the configured name in the column it was matched in."""
    return row is not None and row.names_now.get(match.column) == name


class SnmpPoller:
    """One pysnmp engine and the per-device state of every device polled (see the module docstring)."""

    def __init__(self) -> None:
        self._engine = Engine()
        self._devices: dict[tuple[str, ...], _Device] = {}

    async def start(self) -> None:
        """Build the pysnmp engine now rather than at the first poll (optional). pysnmp keeps a large tree of
        MIB objects alive; a service that calls ``gc.freeze()`` after start-up spares the garbage collector
        walking it again and again (measured: 60–100 ms gen-2 pauses otherwise; bench/RESULTS.md)."""
        await self._engine.start()

    async def close(self) -> None:
        self._engine.close()
        self._devices.clear()
        await asyncio.sleep(0)  # let the transport's close callbacks run before the loop may end

    def _device(self, host: str, port: int, settings: SnmpSettings, now: float) -> _Device:
        for key in [k for k, d in self._devices.items() if now - d.polled_at > FORGET_AFTER and not d.lock.locked()]:
            del self._devices[key]
        key = (host, str(port), settings.context, settings.version, credential_source(settings))
        return self._devices.setdefault(key, _Device())

    async def poll(self, host: str, port: int, settings: SnmpSettings) -> tuple[DeviceReading, dict[str, float]]:
        """One poll: the reading and its phases in seconds; ProbeFailed when the device cannot be read."""
        device = self._device(host, port, settings, time.monotonic())
        async with device.lock:  # a readiness check and the scheduler may poll one device at once
            phases: dict[str, float] = {}
            try:
                return await self._poll(device, host, port, settings, phases), phases
            finally:
                device.polled_at = time.monotonic()

    async def _session(self, device: _Device, host: str, port: int, settings: SnmpSettings) -> Session:
        creds = credentials(settings)
        now = time.monotonic()
        if device.address is None or now - device.resolved_at > MAP_REFRESH:
            device.address, device.resolved_at = await _resolve(host, port), now
        if creds.version == "3" and device.engine_id is None:
            device.engine_id = await self._engine.discover(
                device.address, timeout=settings.timeout, retries=settings.retries
            )
            if device.engine_id is None:
                raise ProbeFailed(
                    Reason.TIMEOUT,
                    f"no answer to SNMPv3 engine discovery from {host} port {port}: agent down or UDP blocked?",
                )
        key = (device.address, creds, settings.context, settings.timeout, settings.retries, device.engine_id)
        if device.session is None or key != device.session_key:
            device.session = await self._engine.session(
                device.address,
                creds,
                context=settings.context,
                timeout=settings.timeout,
                retries=settings.retries,
                engine_id=device.engine_id,
            )
            device.session_key = key
        return device.session

    async def _poll(
        self, device: _Device, host: str, port: int, settings: SnmpSettings, phases: dict[str, float]
    ) -> DeviceReading:
        mark = time.monotonic()
        session = await self._session(device, host, port, settings)
        phases["setup"] = time.monotonic() - mark
        try:
            return await self._read(device, session, settings, phases)
        except ProbeFailed as failure:
            if session.version == "3" and failure.reason in _V3_DIAGNOSED:
                raise await self._diagnose(device, settings, failure, host, port) from None
            raise

    async def _diagnose(
        self, device: _Device, settings: SnmpSettings, failure: ProbeFailed, host: str, port: int
    ) -> ProbeFailed:
        """Ask the agent for its engine ID again: a new one explains the failure (agent re-installed); an agent
        that answers discovery but stays silent to our requests cannot decrypt them (wrong priv_key)."""
        assert device.address is not None
        announced = await self._engine.discover(device.address, timeout=settings.timeout, retries=0)
        if announced is None and failure.reason is Reason.TIMEOUT:
            # pysnmp keeps each agent's engine ID for 300 s and cannot be told to forget it: an agent re-installed
            # with a new engine ID looks silent until then (measured: polling resumed after 5 min 20 s).
            return ProbeFailed(
                Reason.TIMEOUT,
                f"{failure.detail} (or, if the agent was just re-installed with a new SNMPv3 engine ID, polling "
                "resumes within 5 minutes)",
            )
        if announced is None:
            return failure
        if announced != device.engine_id:
            log.warning("snmp %s port %s: engine ID changed from %s to %s", host, port, device.engine_id, announced)
            device.engine_id, device.session = announced, None
            return ProbeFailed(
                Reason.PROTOCOL_ERROR,
                f"the SNMPv3 engine ID of {host} port {port} changed (agent re-installed?); polling resumes with "
                "the new one",
            )
        if failure.reason is Reason.TIMEOUT and settings.priv is not None:
            return ProbeFailed(
                Reason.PERMISSION,
                f"{host} port {port} answers SNMPv3 discovery but not our encrypted requests: wrong priv_key or "
                f"priv protocol ({settings.priv}) for user {settings.user!r}",
            )
        return failure

    async def _read(
        self, device: _Device, session: Session, settings: SnmpSettings, phases: dict[str, float]
    ) -> DeviceReading:
        names = tuple(dict.fromkeys(settings.interfaces))
        reps = settings.max_repetitions
        mark = time.monotonic()
        age = mark - (device.mapped_at or 0.0)
        refreshed = bool(names) and (
            device.mapped_at is None
            or names != device.names
            or age > MAP_REFRESH
            or (len(device.matches) < len(names) and age > MISSING_REFRESH)
        )
        if refreshed:
            await self._refresh_map(device, session, names, reps)
            phases["map"] = time.monotonic() - mark
        mark = time.monotonic()
        scalars = [SYS_UPTIME, SYS_NAME, SYS_DESCR, *(UPS_OIDS if settings.ups else ())]
        system, (rows, at) = await asyncio.gather(session.get(scalars), self._rows(device, session, reps))
        uptime_ticks = system.get(SYS_UPTIME)
        if not isinstance(uptime_ticks, int):
            raise ProbeFailed(Reason.PROTOCOL_ERROR, f"{session.who} did not return sysUpTime")
        uptime = uptime_ticks / 100
        rebooted = self._rebooted(device, uptime, at, settings)
        stale = [m for n, m in device.matches.items() if not _carries(rows.get(m.index), m, n)]
        if names and (rebooted or stale) and not refreshed:
            # After a reboot or a re-indexing the old indexes may name other interfaces: map again, read again.
            remap = time.monotonic()
            await self._refresh_map(device, session, names, reps)
            phases["map"] = phases.get("map", 0.0) + time.monotonic() - remap
            rows, at = await self._rows(device, session, reps)
        phases["poll"] = time.monotonic() - mark
        device.uptime, device.uptime_at = uptime, at
        interfaces = tuple(
            self._interface(
                device, name, match=device.matches[name], row=row, at=at, settings=settings, rebooted=rebooted
            )
            for name in names
            if name in device.matches
            and _carries(row := rows.get(device.matches[name].index), device.matches[name], name)
        )
        found = {i.name for i in interfaces}
        for name in [n for n in device.histories if n not in found]:
            del device.histories[name]  # gone or unconfigured: its counters no longer continue
        return DeviceReading(
            sys_name=text(system.get(SYS_NAME)),
            sys_descr=text(system.get(SYS_DESCR)),
            uptime_seconds=uptime,
            rebooted=rebooted,
            interfaces=interfaces,
            missing_interfaces=tuple(n for n in names if n not in found),
            ups=ups_reading(system) if settings.ups else None,
        )

    async def _refresh_map(self, device: _Device, session: Session, names: tuple[str, ...], reps: int) -> None:
        device.matches, device.table_size = await resolve_names(session, names, max_repetitions=reps)
        device.names, device.mapped_at = names, time.monotonic()
        device.legacy.clear()
        for name, match in device.matches.items():
            log.debug("snmp %s: %r is ifIndex %d (%s)", session.who, name, match.index, COLUMN_NAMES[match.column])

    async def _rows(self, device: _Device, session: Session, reps: int) -> tuple[dict[int, InterfaceRow], float]:
        """The mapped interfaces' rows and the instant they were read (midpoint of the requests)."""
        started = time.monotonic()
        walk = device.table_size > 0 and len(device.matches) * 2 > device.table_size
        # Rows past a column's end come back from the next column and are thrown away: ask for no more than
        # the table holds (+1 to see its end), or a 4-interface router answers 25 rows per column.
        reps = min(reps, device.table_size + 1)
        rows = await read_rows(session, device.matches.values(), legacy=device.legacy, walk=walk, max_repetitions=reps)
        return rows, (started + time.monotonic()) / 2

    @staticmethod
    def _rebooted(device: _Device, uptime: float, at: float, settings: SnmpSettings) -> bool:
        """Whether the agent restarted since the previous poll: its uptime went back, or is shorter than the
        time since that poll (a restart between two polls that the uptime alone would not show)."""
        if device.uptime is None:
            return False
        elapsed = at - device.uptime_at
        slack = settings.timeout * (settings.retries + 1) + 1.0  # how stale either reading may be
        if uptime < device.uptime:
            return not device.uptime > _UPTIME_WRAP - elapsed - slack  # a TimeTicks wrap is no restart
        return uptime + slack < elapsed

    @staticmethod
    def _interface(
        device: _Device,
        name: str,
        *,
        match: Match,
        row: InterfaceRow,
        at: float,
        settings: SnmpSettings,
        rebooted: bool,
    ) -> InterfaceReading:
        index, history = device.histories.get(name, (match.index, CounterHistory()))
        if index != match.index:
            history = CounterHistory()  # the name moved to another ifIndex: a different counter
        device.histories[name] = (match.index, history)
        rates = Rates()
        if row.receive is not None and row.transmit is not None:
            sample = Sample(at, row.receive, row.transmit, row.counter_bits)
            rates = history.add(sample, max_bps=row.port_bits, rebooted=rebooted)
        else:
            history.clear()
        override = settings.bandwidth.get(name)
        speed = float(override) if override else row.port_bits

        def ratio(bps: float | None) -> float | None:
            return bps / speed if bps is not None and speed else None

        return InterfaceReading(
            name=name,
            index=match.index,
            descr=match.descr,
            alias=match.alias,
            oper_up=None if row.oper_status is None else row.oper_status == UP,
            admin_up=row.admin_up,
            receive_bytes_total=row.receive,
            transmit_bytes_total=row.transmit,
            in_errors_total=row.in_errors,
            out_errors_total=row.out_errors,
            in_discards_total=row.in_discards,
            out_discards_total=row.out_discards,
            speed_bits=speed,
            port_speed_bits=row.port_bits,
            receive_bps=rates.receive_bps,
            transmit_bps=rates.transmit_bps,
            utilization_in=ratio(rates.receive_bps),
            utilization_out=ratio(rates.transmit_bps),
            counter_bits=row.counter_bits,
            counter_reset=rates.reset,
            shared_by=match.shared,
            name_column=COLUMN_NAMES[match.column],
        )
