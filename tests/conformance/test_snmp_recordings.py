"""giaoban's SNMP poller against the recorded devices of snmpsim-data, compared with net-snmp's own reading of
the same agent (issue 15): status, speed, counters, errors and discards of every interface, the names that
several interfaces share, and UPS-MIB of every UPS recording.

Origin: the PyPI package snmpsim-data 1.0.1 (BSD-2-Clause), served by snmpsim 1.2 (BSD-2-Clause); see
tests/conformance/SOURCES.md. Devices with more than ``MAX_INTERFACES`` interfaces (six chassis and wireless
controllers of 368 to 3,271) are left out to keep the run to a couple of minutes; every UPS recording is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.snmp.ifmib import (
    IF_ADMIN,
    IF_ALIAS,
    IF_DESCR,
    IF_HC_IN,
    IF_HC_OUT,
    IF_HIGH_SPEED,
    IF_IN_DISCARDS,
    IF_IN_ERRORS,
    IF_IN_OCTETS,
    IF_NAME,
    IF_OPER,
    IF_OUT_DISCARDS,
    IF_OUT_ERRORS,
    IF_OUT_OCTETS,
    IF_SPEED,
    NOT_PRESENT,
    UP,
    text,
)
from probes.snmp.poller import SYS_NAME, SnmpPoller
from probes.snmp.probe import DeviceReading, SnmpSettings, probe
from probes.snmp.session import Oid
from probes.snmp.ups import (
    BATTERY_STATUS,
    CHARGE_REMAINING,
    MINUTES_REMAINING,
    OUTPUT_SOURCE,
    SECONDS_ON_BATTERY,
    UPS_OIDS,
    UpsReading,
)
from tests.conformance.snmpsim_lab import Recording, Snmpsim, netsnmp_columns, netsnmp_get, trim_recordings

pytestmark = pytest.mark.timeout(900)

MAX_INTERFACES = 300
COLUMNS = (
    IF_DESCR, IF_SPEED, IF_ADMIN, IF_OPER, IF_IN_OCTETS, IF_IN_DISCARDS, IF_IN_ERRORS, IF_OUT_OCTETS,
    IF_OUT_DISCARDS, IF_OUT_ERRORS, IF_NAME, IF_HC_IN, IF_HC_OUT, IF_HIGH_SPEED, IF_ALIAS,
)  # fmt: skip
_NAME_ORDER = ((IF_NAME, "ifName"), (IF_DESCR, "ifDescr"), (IF_ALIAS, "ifAlias"))  # as giaoban matches names
_GAUGE32_MAX = 2**32 - 1
Table = Mapping[Oid, Mapping[int, bytes | int]]


@dataclass(slots=True)
class Outcome:
    """What one recorded device gave: the comparison's figures and every disagreement, in words."""

    recording: Recording
    compared: int = 0  # interfaces whose reading was compared value by value
    ambiguous: list[tuple[str, str, tuple[int, ...], int]] = field(default_factory=list)  # name, column, all, polled
    mismatches: list[str] = field(default_factory=list)
    ups: UpsReading | None = None
    ups_netsnmp: Mapping[Oid, bytes | int] = field(default_factory=dict)
    detail: str = ""
    reason: Reason = Reason.OK


def _int(value: bytes | int | None) -> int | None:
    return value if isinstance(value, int) else None


def configured_names(table: Table) -> list[str]:
    """The names an operator would write: each interface's ifName (else ifDescr), and every ifAlias that several
    interfaces carry (the issue's case of one description on four ports)."""
    names: list[str] = []
    for index in sorted(set(table[IF_NAME]) | set(table[IF_DESCR])):
        for column in (IF_NAME, IF_DESCR):
            if (value := table[column].get(index)) is not None and text(value).strip():
                names.append(text(value))
                break
    aliases = [text(v) for v in table[IF_ALIAS].values() if text(v).strip()]
    names += [alias for alias in aliases if aliases.count(alias) > 1]
    return list(dict.fromkeys(names))


def expected_match(table: Table, name: str) -> tuple[str, tuple[int, ...], int] | None:
    """(column, every ifIndex carrying the name there, the one to poll) by giaoban's rule, from net-snmp's walk:
    ifName, then ifDescr, then ifAlias; among namesakes up first, then not notPresent, then the highest ifIndex."""
    for column, label in _NAME_ORDER:
        indexes = tuple(sorted(i for i, v in table[column].items() if text(v) == name))
        if indexes:
            return label, indexes, min(indexes, key=lambda index: _rank(table[IF_OPER].get(index), index))
    return None


def _rank(oper: bytes | int | None, index: int) -> tuple[int, int]:
    return (0 if oper == UP else 2 if oper == NOT_PRESENT else 1), -index


def expected_speed(speed: int | None, high: int | None) -> float | None:
    """RFC 2863: ifSpeed while below its 2^32-1 ceiling, else ifHighSpeed in Mbit/s."""
    if speed is not None and 0 < speed < _GAUGE32_MAX:
        return float(speed)
    if high is not None and high > 0:
        return high * 1e6
    return float(speed) if speed is not None and speed > 0 else None


def _compare(outcome: Outcome, table: Table, reading: DeviceReading, names: list[str]) -> None:
    by_name = {i.name: i for i in reading.interfaces}
    for name in names:
        where = expected_match(table, name)
        got = by_name.get(name)
        label = f"{outcome.recording.community} {name!r}"
        if where is None or got is None:
            outcome.mismatches.append(f"{label}: net-snmp finds {where}, giaoban {got and got.index}")
            continue
        column, indexes, polled = where
        if len(indexes) > 1:
            outcome.ambiguous.append((name, column, indexes, got.index))
        i = polled
        hc = i in table[IF_HC_IN] and i in table[IF_HC_OUT]
        want = {
            "index": polled,
            "shared_by": indexes if len(indexes) > 1 else (),
            "name_column": column,
            "descr": text(table[IF_DESCR].get(i)),
            "alias": text(table[IF_ALIAS].get(i)),
            "oper_up": None if _int(table[IF_OPER].get(i)) is None else table[IF_OPER][i] == UP,
            "admin_up": None if _int(table[IF_ADMIN].get(i)) is None else table[IF_ADMIN][i] == UP,
            "receive_bytes_total": _int(table[IF_HC_IN if hc else IF_IN_OCTETS].get(i)),
            "transmit_bytes_total": _int(table[IF_HC_OUT if hc else IF_OUT_OCTETS].get(i)),
            "counter_bits": 64 if hc else 32,
            "in_errors_total": _int(table[IF_IN_ERRORS].get(i)),
            "out_errors_total": _int(table[IF_OUT_ERRORS].get(i)),
            "in_discards_total": _int(table[IF_IN_DISCARDS].get(i)),
            "out_discards_total": _int(table[IF_OUT_DISCARDS].get(i)),
            "port_speed_bits": expected_speed(_int(table[IF_SPEED].get(i)), _int(table[IF_HIGH_SPEED].get(i))),
        }
        for key, value in want.items():
            if getattr(got, key) != value:
                outcome.mismatches.append(
                    f"{label} ifIndex {i} {key}: net-snmp {value!r}, giaoban {getattr(got, key)!r}"
                )
        outcome.compared += 1
    if reading.missing_interfaces:
        outcome.mismatches.append(f"{outcome.recording.community}: not found {reading.missing_interfaces}")


async def _read(agent: Snmpsim, recording: Recording, poller: SnmpPoller, folder: Path) -> Outcome:
    outcome = Outcome(recording)
    table = await netsnmp_columns(agent, recording.community, COLUMNS)
    system = await netsnmp_get(agent, recording.community, [SYS_NAME, *(UPS_OIDS if recording.ups else ())])
    names = configured_names(table) if recording.interfaces else []
    secret = folder / f"community-{abs(hash(recording.community))}"
    secret.write_text(recording.community)
    settings = SnmpSettings.model_validate(
        {
            "community": {"file": str(secret)},
            "port": agent.port,
            "timeout": 5,
            "retries": 2,
            "interfaces": names,
            "ups": recording.ups,
        }
    )
    ctx = ProbeContext(snmp=poller)
    result = await probe(agent.target, settings, ctx=ctx)
    if not result.success or not isinstance(result.payload, DeviceReading):
        outcome.mismatches.append(f"{recording.community}: {result.reason} {result.detail}")
        return outcome
    reading = result.payload
    outcome.detail, outcome.reason = result.detail, result.reason
    if reading.sys_name != text(system.get(SYS_NAME)):
        outcome.mismatches.append(f"{recording.community} sysName: {system.get(SYS_NAME)!r} vs {reading.sys_name!r}")
    _compare(outcome, table, reading, names)
    outcome.ups, outcome.ups_netsnmp = reading.ups, system
    return outcome


async def _read_all(agent: Snmpsim, recordings: list[Recording], folder: Path) -> list[Outcome]:
    poller = SnmpPoller()  # one engine for every device, as in the service
    gate = asyncio.Semaphore(4)

    async def one(recording: Recording) -> Outcome:
        async with gate:
            return await _read(agent, recording, poller, folder)

    try:
        return await asyncio.gather(*(one(r) for r in recordings))
    finally:
        await poller.close()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass(frozen=True, slots=True)
class Run:
    outcomes: list[Outcome]
    warnings: list[logging.LogRecord]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Every selected recording served by one snmpsim, read by net-snmp and by giaoban's probe."""
    folder = tmp_path_factory.mktemp("snmpsim")
    recordings = trim_recordings(folder / "all")
    chosen = [r for r in recordings.values() if 0 < r.interfaces <= MAX_INTERFACES or r.ups]
    served = folder / "data"
    for recording in chosen:
        source = folder / "all" / f"{recording.community}.snmprec"
        (served / recording.community).parent.mkdir(parents=True, exist_ok=True)
        source.rename(served / f"{recording.community}.snmprec")
    collect = _Collect()
    logger = logging.getLogger("probes.snmp.ifmib")
    logger.addHandler(collect)
    try:
        with Snmpsim(folder, served, chosen[0].community) as agent:
            outcomes = asyncio.run(_read_all(agent, chosen, folder))
    finally:
        logger.removeHandler(collect)
    yield Run(outcomes, collect.records)


def test_interfaces_agree_with_netsnmp(run: Run) -> None:
    """Every interface of the recorded routers, switches and hosts reads as net-snmp reads it: status, speed,
    64- or 32-bit counters, errors and discards, descr and alias (the issue's 2,626 interfaces, kept agreeing)."""
    devices = [o for o in run.outcomes if o.recording.interfaces]
    compared = sum(o.compared for o in devices)
    mismatches = [m for o in run.outcomes for m in o.mismatches]
    print(f"\nsnmpsim-data: {len(devices)} devices, {compared} interfaces compared with net-snmp")
    assert not mismatches, "\n".join(mismatches[:40])
    vendors = " ".join(o.recording.community for o in devices)
    for vendor in ("cisco", "huawei", "hpe", "dlink", "vyatta", "linux", "windows"):
        assert vendor in vendors  # the families the issue names stay in the comparison
    assert len(devices) >= 90 and compared >= 2500  # the comparison cannot shrink silently


def test_shared_names_are_a_reason_with_their_indexes(run: Run) -> None:
    """A name several interfaces carry (a repeated ifName, one ifAlias on several ports) is not resolved
    silently: the result's reason is CONFIG_ERROR, its detail names every ifIndex, the log warns (issue 15)."""
    cases = [(o, case) for o in run.outcomes for case in o.ambiguous]
    print(f"\nshared names: {len(cases)} in {len({o.recording.community for o, _ in cases})} devices")
    assert any(column == "ifName" for _, (_, column, _, _) in cases)
    assert any(column == "ifAlias" for _, (_, column, _, _) in cases)
    for outcome, (name, column, indexes, polled) in cases:
        assert outcome.reason is Reason.CONFIG_ERROR
        listed = ", ".join(map(str, indexes))
        assert (
            f"{name!r} is the {column} of {len(indexes)} interfaces (ifIndex {listed}); polling ifIndex {polled}"
            in (outcome.detail)
        )
        assert any(
            r.levelno == logging.WARNING and name in r.getMessage() and listed in r.getMessage() for r in run.warnings
        ), name


def _rfc1628(values: Mapping[Oid, bytes | int], oid: Oid, low: int, high: int) -> int | None:
    value = values.get(oid)
    return value if isinstance(value, int) and low <= value <= high else None


def test_ups_recordings(run: Run) -> None:
    """Every UPS recording's UPS-MIB reads as net-snmp reads it, and a value outside RFC 1628's range (-1 minutes
    on a Huawei UPS2000, 0 minutes on mains at 100 % on EastPower and Phoenixtec cards) is unknown, not a runtime."""
    ups = [o for o in run.outcomes if o.recording.ups]
    print(f"\nUPS-MIB: {len(ups)} recordings compared")
    assert len(ups) >= 5
    for outcome in ups:
        got, values = outcome.ups, outcome.ups_netsnmp
        assert got is not None, outcome.recording.community
        minutes = _rfc1628(values, MINUTES_REMAINING, 1, 2**31 - 1)
        source = _rfc1628(values, OUTPUT_SOURCE, 1, 7)
        charge = _rfc1628(values, CHARGE_REMAINING, 0, 100)
        seconds = _rfc1628(values, SECONDS_ON_BATTERY, 0, 2**31 - 1)
        status = _rfc1628(values, BATTERY_STATUS, 1, 4)
        assert got.runtime_seconds == (None if minutes is None else minutes * 60.0), outcome.recording.community
        assert got.on_battery == (None if source is None else source == 5)
        assert got.charge_ratio == (None if charge is None else charge / 100)
        assert got.seconds_on_battery == (None if seconds is None else float(seconds))
        assert (got.battery_status is None) == (status is None)
    by_name = {o.recording.community: o for o in ups}
    huawei = by_name["UPS/huawei-gse200m"]
    assert huawei.ups_netsnmp[MINUTES_REMAINING] == -1 and huawei.ups is not None
    assert huawei.ups.runtime_seconds is None and huawei.ups.charge_ratio is None
    for mains_full in ("UPS/eastpower-istars-swv053", "UPS/phoenixtec-power"):
        outcome = by_name[mains_full]
        assert outcome.ups_netsnmp[MINUTES_REMAINING] == 0 and outcome.ups_netsnmp[CHARGE_REMAINING] == 100
        assert outcome.ups is not None and outcome.ups.runtime_seconds is None and outcome.ups.on_battery is False
    eaton = by_name["UPS/eaton-93e-80"].ups
    assert eaton is not None and eaton.runtime_seconds == 1092 * 60.0  # a real estimate stays a runtime
