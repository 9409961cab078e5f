"""SNMP polling against a real net-snmp snmpd on loopback (tests/snmpd_lab.py): values, credentials, failures.

Every agent is started by the test on a free port of 127.0.0.1 and stopped by its PID. Reading values are
compared with what net-snmp's own snmpget/snmpbulkwalk read from the same agent around our poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.core.secrets import Secret
from probes.snmp.probe import DeviceReading, SnmpPoller, SnmpSettings, probe
from probes.snmp.rates import MIN_WINDOW
from tests.snmpd_lab import USERS, Snmpd, User, parse_values

pytestmark = pytest.mark.timeout(90)

IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_HC_IN, IF_HC_OUT = "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.31.1.1.1.10"
IF_IN, IF_OUT = "1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.2.2.1.16"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
FAST: dict[str, Any] = {"timeout": 0.5, "retries": 0}  # failure cases need not wait out the defaults
_OURS = {"SHA-224": "SHA224", "SHA-256": "SHA256", "SHA-384": "SHA384", "SHA-512": "SHA512", "AES-256": "AES256"}


def settings_for(
    monkeypatch: pytest.MonkeyPatch, user: User | None, *, version: str = "2c", community: str = "labpublic", **kw: Any
) -> SnmpSettings:
    """Settings whose secrets come from environment variables this test sets."""
    if user is None:
        monkeypatch.setenv("GB_TEST_COMMUNITY", community)
        return SnmpSettings.model_validate({"version": version, "community": {"env": "GB_TEST_COMMUNITY"}, **kw})
    monkeypatch.setenv("GB_TEST_AUTH", user.auth_key)
    monkeypatch.setenv("GB_TEST_PRIV", user.priv_key)
    return SnmpSettings.model_validate(
        {
            "version": "3",
            "user": user.name,
            "auth": _OURS.get(user.auth or "", user.auth),
            "auth_key": {"env": "GB_TEST_AUTH"} if user.auth else None,
            "priv": _OURS.get(user.priv or "", user.priv),
            "priv_key": {"env": "GB_TEST_PRIV"} if user.priv else None,
            **kw,
        }
    )


def ctx_with(poller: SnmpPoller) -> ProbeContext:
    """The service's context carries the shared poller (ProbeContext.snmp, added when the kind is registered)."""
    try:
        fields: dict[str, Any] = {"snmp": poller}
        return ProbeContext(**fields)
    except TypeError:  # ProbeContext has no snmp field yet: any object with the attribute does
        return cast(ProbeContext, SimpleNamespace(snmp=poller))


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Snmpd]:
    with Snmpd(tmp_path / "snmpd") as running:
        yield running


@pytest.fixture
async def poller() -> AsyncIterator[SnmpPoller]:
    made = SnmpPoller()
    try:
        yield made
    finally:
        await made.close()


@dataclass
class CliView:
    uptime: float
    names: dict[int, str]
    oper: dict[int, int]
    receive: dict[int, int]
    transmit: dict[int, int]


def cli_view(agent: Snmpd, user: User | None, *, version: str = "2c") -> CliView:
    """What net-snmp's snmpget and snmp(bulk)walk read: uptime, names, oper status, octet counters by ifIndex."""
    hc = version != "1"
    walk = "snmpbulkwalk" if hc else "snmpwalk"  # SNMPv1 has no GETBULK
    rx, tx = (IF_HC_IN, IF_HC_OUT) if hc else (IF_IN, IF_OUT)
    columns = {}
    for column in (IF_NAME, IF_OPER, rx, tx):
        raw = parse_values(agent.cli(walk, column, user=user, version=version))
        columns[column] = {int(oid.rsplit(".", 1)[1]): value for oid, value in raw.items()}
    uptime = parse_values(agent.cli("snmpget", SYS_UPTIME, user=user, version=version))[SYS_UPTIME]
    return CliView(
        uptime=int(uptime.strip("()").split(")")[0]) / 100,  # "(12345) 0:02:03.45"
        names=columns[IF_NAME],
        oper={i: int(v) for i, v in columns[IF_OPER].items()},
        receive={i: int(v) for i, v in columns[rx].items()},
        transmit={i: int(v) for i, v in columns[tx].items()},
    )


def assert_between(before: CliView, reading: DeviceReading, after: CliView) -> None:
    """Our reading lies between net-snmp's two: uptime and counters within their movement, same oper status.
    Interfaces that other tests on this host add or remove meanwhile (their lab veths) are left out."""
    assert before.uptime <= reading.uptime_seconds <= after.uptime
    stable = {i for i, name in before.names.items() if after.names.get(i) == name}
    assert reading.interfaces and {i.index for i in reading.interfaces} & stable
    for interface in reading.interfaces:
        index = interface.index
        if index not in stable:
            continue
        assert interface.name == after.names[index]
        assert interface.oper_up is (after.oper[index] == 1) is (before.oper[index] == 1)
        assert interface.receive_bytes_total is not None and interface.transmit_bytes_total is not None
        assert before.receive[index] <= interface.receive_bytes_total <= after.receive[index]
        assert before.transmit[index] <= interface.transmit_bytes_total <= after.transmit[index]


@pytest.mark.parametrize("user", [None, USERS[0]], ids=["v2c", "v3-authPriv-SHA-AES"])
async def test_readings_agree_with_net_snmp(
    agent: Snmpd, poller: SnmpPoller, user: User | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uptime, oper status and 64-bit octet counters are what snmpget/snmpbulkwalk read around our poll."""
    before = cli_view(agent, user)
    names = list(dict.fromkeys(before.names.values()))
    settings = settings_for(monkeypatch, user, interfaces=names)
    reading, phases = await poller.poll(agent.address, agent.port, settings)
    after = cli_view(agent, user)
    gone = set(names) - set(after.names.values())  # removed meanwhile by another test's lab, if any
    assert set(reading.missing_interfaces) <= gone
    assert [i.name for i in reading.interfaces] == [n for n in names if n not in reading.missing_interfaces]
    assert {i.counter_bits for i in reading.interfaces} == {64}
    assert_between(before, reading, after)
    assert reading.sys_name == "lab-snmpd"
    assert reading.sys_descr.startswith("Linux")
    assert not reading.rebooted
    assert {"setup", "map", "poll"} <= set(phases)


async def test_snmpv1_reads_32_bit_counters(agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch) -> None:
    """SNMPv1 has no Counter64 and no GETBULK: ifIn/OutOctets through GETNEXT and GET, as snmpwalk -v1 reads;
    the absent UPS-MIB objects, which fail a whole v1 GET (noSuchName), are left out one by one."""
    settings = settings_for(monkeypatch, None, version="1", interfaces=["lo"], ups=True)
    before = cli_view(agent, None, version="1")
    reading, _ = await poller.poll(agent.address, agent.port, settings)
    after = cli_view(agent, None, version="1")
    assert [(i.name, i.counter_bits) for i in reading.interfaces] == [("lo", 32)]
    assert_between(before, reading, after)
    assert reading.ups is not None and not reading.ups.reported


@pytest.mark.parametrize("user", USERS[1:], ids=lambda u: f"{u.name}-{u.level()}")
async def test_every_v3_security_level_and_protocol_answers(
    agent: Snmpd, poller: SnmpPoller, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MD5/DES, SHA-256/AES-256 (net-snmp's key extension), authNoPriv SHA-512 and noAuthNoPriv all read the agent."""
    reading, _ = await poller.poll(agent.address, agent.port, settings_for(monkeypatch, user, interfaces=["lo"]))
    assert reading.sys_name == "lab-snmpd"
    assert [i.name for i in reading.interfaces] == ["lo"]


GOOD = USERS[0]


@pytest.mark.parametrize(
    ("user", "community", "reason", "words"),
    [
        pytest.param(None, "not-the-community", Reason.TIMEOUT, "wrong community or agent down?", id="wrong-community"),
        pytest.param(
            User(GOOD.name, "SHA", "wrongAuthPass1", "AES", GOOD.priv_key),
            "",
            Reason.PERMISSION,
            "wrong auth_key or auth protocol (SHA)",
            id="wrong-auth-passphrase",
        ),
        pytest.param(
            User(GOOD.name, "MD5", GOOD.auth_key, "AES", GOOD.priv_key),
            "",
            Reason.PERMISSION,
            "wrong auth_key or auth protocol (MD5)",
            id="wrong-auth-protocol",
        ),
        pytest.param(
            User(GOOD.name, "SHA", GOOD.auth_key, "AES", "wrongPrivPass1"),
            "",
            Reason.PERMISSION,
            "not our encrypted requests: wrong priv_key or priv protocol (AES)",
            id="wrong-priv-passphrase",
        ),
        pytest.param(
            User("nosuchuser", "SHA", GOOD.auth_key, "AES", GOOD.priv_key),
            "",
            Reason.PERMISSION,
            "does not know SNMPv3 user 'nosuchuser'",
            id="unknown-user",
        ),
        pytest.param(
            User(GOOD.name, "SHA", GOOD.auth_key),
            "",
            Reason.PERMISSION,
            "refused access (authorizationError",
            id="security-level-below-the-users",
        ),
    ],
)
async def test_bad_credentials_give_a_clear_reason(
    agent: Snmpd,
    poller: SnmpPoller,
    *,
    user: User | None,
    community: str,
    reason: Reason,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each credential mistake is a failed result naming it, and the shared poller still reads good devices."""
    bad = settings_for(monkeypatch, user, community=community, interfaces=["lo"], **FAST)
    result = await probe(agent.target, bad, ctx=ctx_with(poller))
    assert (result.success, result.reason) == (False, reason), result.detail
    assert words in result.detail
    assert result.payload is None
    good = settings_for(monkeypatch, GOOD if user is not None else None, interfaces=["lo"])
    result = await probe(agent.target, good, ctx=ctx_with(poller))
    assert (result.success, result.reason) == (True, Reason.OK), result.detail


@pytest.mark.parametrize("user", [None, GOOD], ids=["v2c", "v3"])
async def test_agent_restart_is_a_reboot_with_a_counter_reset(
    agent: Snmpd, poller: SnmpPoller, user: User | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted agent (uptime from 0, SNMPv3 engineBoots + 1) reads as rebooted: rates restart, never negative."""
    settings = settings_for(monkeypatch, user, interfaces=["lo"])
    ctx = ctx_with(poller)
    await probe(agent.target, settings, ctx=ctx)
    await asyncio.sleep(MIN_WINDOW + 0.5)
    steady = (await probe(agent.target, settings, ctx=ctx)).payload
    assert isinstance(steady, DeviceReading) and not steady.rebooted
    assert steady.interfaces[0].receive_bps is not None and steady.interfaces[0].receive_bps >= 0
    agent.restart()
    result = await probe(agent.target, settings, ctx=ctx)
    restarted = result.payload
    assert isinstance(restarted, DeviceReading), result.detail
    assert restarted.rebooted and result.values["rebooted"] == 1
    assert restarted.uptime_seconds < steady.uptime_seconds
    assert "agent restarted" in result.detail
    lo = restarted.interfaces[0]
    assert lo.counter_reset
    assert (lo.receive_bps, lo.transmit_bps, lo.utilization_in, lo.utilization_out) == (None, None, None, None)
    await asyncio.sleep(MIN_WINDOW + 0.5)
    later = (await probe(agent.target, settings, ctx=ctx)).payload
    assert isinstance(later, DeviceReading) and not later.rebooted
    assert not later.interfaces[0].counter_reset
    assert later.interfaces[0].receive_bps is not None and later.interfaces[0].receive_bps >= 0


async def test_agent_down_is_a_timeout_and_recovers(
    agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopped agent is a timeout (device down), and the next poll after it returns reads normally again."""
    settings = settings_for(monkeypatch, GOOD, interfaces=["lo"], **FAST)
    ctx = ctx_with(poller)
    assert (await probe(agent.target, settings, ctx=ctx)).success
    agent.stop()
    down = await probe(agent.target, settings, ctx=ctx)
    assert (down.success, down.reason) == (False, Reason.TIMEOUT)
    assert "no answer" in down.detail
    agent.start()
    back = await probe(agent.target, settings, ctx=ctx)
    assert back.success, back.detail
    assert isinstance(back.payload, DeviceReading) and back.payload.rebooted


async def test_same_user_name_with_different_keys_on_two_devices(
    tmp_path: Path, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two agents with user `mon` but different pass phrases, through one engine, never borrow each other's keys."""
    first = User("mon", "SHA", "firstAuthKey1", "AES", "firstPrivKey1")
    second = User("mon", "SHA", "secondAuthKey2", "AES", "secondPrivKey2")
    with (
        Snmpd(tmp_path / "a", users=[first], sys_name="router-a") as a,
        Snmpd(tmp_path / "b", users=[second], sys_name="router-b") as b,
    ):
        for _ in range(3):
            for agent, user, name in ((a, first, "router-a"), (b, second, "router-b")):
                reading, _ = await poller.poll(agent.address, agent.port, settings_for(monkeypatch, user))
                assert reading.sys_name == name


@pytest.mark.parametrize(
    ("served", "on_battery", "runtime", "battery", "source"),
    [
        pytest.param(
            {"output_source": 3, "battery_status": 2, "minutes_remaining": 90, "charge_remaining": 100},
            False,
            5400.0,
            "normal",
            "normal",
            id="on-mains",
        ),
        pytest.param(
            {"output_source": 5, "battery_status": 3, "minutes_remaining": 12, "seconds_on_battery": 300},
            True,
            720.0,
            "low",
            "battery",
            id="on-battery-low",
        ),
        pytest.param({"battery_status": 1}, None, None, "unknown", None, id="ups-says-unknown"),
        # RFC 1628 gives upsEstimatedMinutesRemaining 1..2147483647: -1 and 0 are "not estimated" (issue 15).
        pytest.param(
            {"output_source": 3, "battery_status": 2, "minutes_remaining": -1, "charge_remaining": -1},
            False,
            None,
            "normal",
            "normal",
            id="minus-one-is-unknown",
        ),
        pytest.param(
            {"output_source": 5, "battery_status": 2, "minutes_remaining": 0},
            True,
            None,
            "normal",
            "battery",
            id="zero-is-unknown",
        ),
        pytest.param({}, None, None, None, None, id="no-ups-mib"),
    ],
)
async def test_ups_values_come_from_the_agent(
    tmp_path: Path,
    poller: SnmpPoller,
    monkeypatch: pytest.MonkeyPatch,
    *,
    served: dict[str, int],
    on_battery: bool | None,
    runtime: float | None,
    battery: str | None,
    source: str | None,
) -> None:
    """UPS-MIB values served by the agent's pass_persist script are read; what it does not say stays unknown."""
    with Snmpd(tmp_path / "ups", ups=True) as ups:
        ups.set_ups(served)
        result = await probe(ups.target, settings_for(monkeypatch, None, ups=True), ctx=ctx_with(poller))
    assert result.success, result.detail
    assert isinstance(result.payload, DeviceReading) and result.payload.ups is not None
    reading = result.payload.ups
    assert (reading.on_battery, reading.runtime_seconds, reading.battery_status) == (on_battery, runtime, battery)
    assert reading.output_source == source
    assert result.values.get("ups_on_battery") == (None if on_battery is None else float(on_battery))
    assert result.values.get("ups_runtime") == runtime
    if on_battery and runtime is not None:
        assert "UPS on battery, 12 min left, battery low" in result.detail
    if on_battery and runtime is None:
        assert "UPS on battery, runtime unknown" in result.detail
    if not served:
        assert "reports no UPS-MIB" in result.detail


async def test_one_shot_probe_makes_and_closes_its_own_engine(agent: Snmpd, monkeypatch: pytest.MonkeyPatch) -> None:
    """`giaoban probe snmp` has no shared poller: the probe uses its own and closes it (no leaked socket)."""
    result = await probe(agent.target, settings_for(monkeypatch, GOOD, interfaces=["lo"]), ctx=ProbeContext())
    assert (result.success, result.reason) == (True, Reason.OK), result.detail
    assert isinstance(result.payload, DeviceReading)
    assert result.payload.interfaces[0].receive_bps is None  # one sample is no rate
    assert result.info["sys_name"] == "lab-snmpd"
    assert result.info["interface lo"].startswith("ifIndex 1 'lo', up")


async def test_missing_interface_is_named_and_the_others_polled(
    agent: Snmpd, poller: SnmpPoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured name the device lacks is a reason of its own; the device is still up and `lo` still read."""
    settings = settings_for(monkeypatch, None, interfaces=["lo", "Gi0/0/9"])
    result = await probe(agent.target, settings, ctx=ctx_with(poller))
    assert (result.success, result.reason) == (True, Reason.CONFIG_ERROR)
    assert "has no interface named 'Gi0/0/9'" in result.detail
    assert isinstance(result.payload, DeviceReading)
    assert result.payload.missing_interfaces == ("Gi0/0/9",)
    assert [i.name for i in result.payload.interfaces] == ["lo"]
    assert (result.values["interfaces"], result.values["interfaces_missing"]) == (1, 1)


@pytest.mark.parametrize(
    ("target", "reason", "words"),
    [
        pytest.param("127.0.0.1:snmp", Reason.BAD_TARGET, "port must be a number", id="bad-port"),
        pytest.param("127.0.0.1", Reason.CONFIG_ERROR, "environment variable GB_TEST_UNSET is not set", id="unset"),
    ],
)
async def test_unusable_target_or_secret(poller: SnmpPoller, target: str, reason: Reason, words: str) -> None:
    """A malformed target or an unreadable secret fails before any packet, saying which."""
    settings = SnmpSettings(community=Secret(env="GB_TEST_UNSET"))
    result = await probe(target, settings, ctx=ctx_with(poller))
    assert (result.success, result.reason) == (False, reason)
    assert words in result.detail
