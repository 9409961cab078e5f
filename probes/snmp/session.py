# pysnmp and pyasn1 ship no type information; only this module and snmp_errors.py import them.
# mypy: disable-error-code="import-untyped"
"""SNMP requests through the process's one pysnmp engine: credentials, GET, column walks, errors as reasons.

``Engine`` owns the one ``SnmpEngine`` of the process (one engine per host burns CPU). A ``Session`` is one
device's view of it: credentials, address, context, timeout and retries, configured once. Requests go through
pysnmp's command generators directly with numeric OIDs, skipping the high-level API's MIB resolution of every
varbind, which halves the CPU of a poll (measured: 40 varbinds 26 ms → 13 ms).

SNMPv3 users are registered for the agent's own engine ID (learned with ``Engine.discover``), so two devices
with the same user name but different keys never share a USM row (RFC 3414 §2.6 key localisation).

SNMPv1/v2c requests skip pysnmp: probes/snmp/v2c.py sends them on giaoban's own socket and probes/snmp/ber.py
decodes the answers, ~20× cheaper than pyasn1's generic decoder, which was 74–83 % of a poll's CPU (issue 16).

Every reply goes through ``probes.snmp.errors.failure_of``, the one place where pysnmp's errorIndication and
errorStatus become ``ProbeFailed(reason, detail)``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import auth as hl_auth
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.hlapi.v3arch.asyncio.transport import Udp6TransportTarget, UdpTransportTarget
from pysnmp.proto import errind
from pysnmp.proto.rfc1902 import ObjectName
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from probes.core.result import ProbeFailed, Reason
from probes.snmp import ber, v2c
from probes.snmp.errors import NO_SUCH_NAME, TOO_BIG, failure_of

log = logging.getLogger(__name__)

Oid = ber.Oid
Value = ber.Value  # an absent object (noSuchObject, noSuchInstance, endOfMibView) is left out


SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
GET_CHUNK = 40  # varbinds per GET: ~1.5 KB answers, well inside any agent's message size
GETS_IN_FLIGHT = 4  # per device: many interfaces must not flood a small router's agent
RECEIVE_BUFFER = 4 * 2**20  # one UDP socket takes every answer: a burst of polls must not overflow it
_SO_RCVBUFFORCE = 33  # Linux: exceeds net.core.rmem_max with CAP_NET_ADMIN (socket module lacks the name)
_PROBE_USER = "giaoban-probe"  # unknown to agents: its answer is a report carrying the engine ID
_NULL = univ.Null("")
_ABSENT = (NoSuchObject, NoSuchInstance, EndOfMibView)
AUTH_PROTOCOLS: dict[str, Any] = {
    "MD5": hl_auth.USM_AUTH_HMAC96_MD5,
    "SHA": hl_auth.USM_AUTH_HMAC96_SHA,
    "SHA224": hl_auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": hl_auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": hl_auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": hl_auth.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 keys are extended as in draft-blumenthal-aes-usm-04, as net-snmp does (tested against its
# snmpd); Cisco's "AES-256C" variant (Reeder extension) is not offered.
PRIV_PROTOCOLS: dict[str, Any] = {
    "DES": hl_auth.USM_PRIV_CBC56_DES,
    "AES": hl_auth.USM_PRIV_CFB128_AES,
    "AES128": hl_auth.USM_PRIV_CFB128_AES,
    "AES192": hl_auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": hl_auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
}


@dataclass(frozen=True, slots=True)
class Credentials:
    """Revealed secrets for one device; repr never shows them."""

    version: str  # "1", "2c" or "3"
    community: str = field(default="", repr=False)
    user: str = ""
    auth: str | None = None
    auth_key: str = field(default="", repr=False)
    priv: str | None = None
    priv_key: str = field(default="", repr=False)

    def level(self) -> str:
        return "authPriv" if self.priv else "authNoPriv" if self.auth else "noAuthNoPriv"

    def auth_data(self, engine_id: bytes | None) -> Any:
        if self.version != "3":
            return hl_auth.CommunityData(self.community, mpModel=0 if self.version == "1" else 1)
        for name, key in (
            ("auth_key", self.auth_key if self.auth else None),
            ("priv_key", self.priv_key if self.priv else None),
        ):
            if key is not None and len(key) < 8:  # RFC 3414 §11.2; agents refuse shorter pass phrases
                raise ProbeFailed(Reason.CONFIG_ERROR, f"{name} is shorter than 8 characters (RFC 3414 §11.2)")
        return hl_auth.UsmUserData(
            self.user,
            authKey=self.auth_key if self.auth else None,
            privKey=self.priv_key if self.priv else None,
            authProtocol=AUTH_PROTOCOLS[self.auth] if self.auth else hl_auth.USM_AUTH_NONE,
            privProtocol=PRIV_PROTOCOLS[self.priv] if self.priv else hl_auth.USM_PRIV_NONE,
            securityEngineId=engine_id,
        )


def _socket(family: int = socket.AF_INET) -> socket.socket:
    """An unbound UDP socket (bound on first send) whose receive buffer holds a burst of answers."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, RECEIVE_BUFFER)
    except OSError:  # not privileged: the kernel caps the request at net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if size < RECEIVE_BUFFER:
        log.info(
            "SNMP receive buffer is %d bytes; for many devices polled at once raise it with "
            "sysctl -w net.core.rmem_max=%d",
            size,
            RECEIVE_BUFFER,
        )
    return sock


def _python(value: Any) -> Value | None:
    if isinstance(value, _ABSENT):
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks
        return int(value)
    if isinstance(value, univ.OctetString):  # also IpAddress, Opaque
        return bytes(value)
    return str(value.prettyPrint())


_Varbinds = Sequence[tuple[Oid, Value | None]]
_Reply = tuple[Any, int, int, _Varbinds]  # errorIndication, errorStatus, errorIndex, varbinds (None: absent)


class _Pysnmp:
    """Requests through pysnmp's command generators (SNMPv3: USM authentication and privacy)."""

    def __init__(self, snmp: Any, addr_name: str, context: bytes, who: str) -> None:
        self._snmp, self._addr, self._context, self._who = snmp, addr_name, context, who

    async def send(self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0) -> _Reply:
        future: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()

        def done(
            _engine: Any, _handle: Any, indication: Any, status: Any, index: Any, varbinds: Any, _ctx: Any
        ) -> None:
            if not future.done():  # the runner's deadline may have cancelled the wait
                found = [(tuple(name), _python(raw)) for name, raw in varbinds or ()]
                future.set_result((indication, int(status or 0), int(index or 0), found))

        varbinds = [(ObjectName(oid), _NULL) for oid in oids]
        extra = (0, max_repetitions) if pdu == ber.GET_BULK else ()
        try:
            _GENERATORS[pdu].send_varbinds(self._snmp, self._addr, None, self._context, *extra, varbinds, done)
        except (PySnmpError, PyAsn1Error) as exc:
            raise ProbeFailed(Reason.PROTOCOL_ERROR, f"cannot send an SNMP request to {self._who}: {exc}") from None
        return await future


class _Community:
    """SNMPv1/v2c requests on giaoban's own socket, decoded by probes/snmp/ber.py (pyasn1 was 74–83 % of a poll)."""

    def __init__(
        self, transport: v2c.Transport, address: tuple[str, int], creds: Credentials, timeout: float, retries: int
    ) -> None:
        self._transport, self._address, self._timeout, self._retries = transport, address, timeout, retries
        self._version = 0 if creds.version == "1" else 1
        try:  # pyasn1's OctetString encoding, as pysnmp sent it
            self._community = creds.community.encode("iso-8859-1")
        except UnicodeEncodeError:
            self._community = creds.community.encode()

    async def send(self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0) -> _Reply:
        answer = await self._transport.request(
            self._address,
            self._version,
            self._community,
            pdu,
            oids,
            timeout=self._timeout,
            retries=self._retries,
            max_repetitions=max_repetitions,
        )
        if answer is None:
            return errind.requestTimedOut, 0, 0, ()
        return None, answer.error_status, answer.error_index, answer.varbinds


class Session:
    """Requests to one device with fixed credentials, address, context, timeout and retries."""

    def __init__(self, sender: _Pysnmp | _Community, creds: Credentials, who: str) -> None:
        self._sender, self._creds, self.who = sender, creds, who
        self.version = creds.version

    def _fail(self, reply: _Reply, oids: Sequence[Oid]) -> ProbeFailed:
        indication, status, index, _ = reply
        return failure_of(indication, status, index, oids, who=self.who, creds=self._creds)

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """The values of ``oids`` that exist; chunks are sent at once."""
        chunks = [list(oids[i : i + GET_CHUNK]) for i in range(0, len(oids), GET_CHUNK)]
        if len(chunks) == 1:
            return await self._get_chunk(chunks[0])
        slots = asyncio.Semaphore(GETS_IN_FLIGHT)

        async def one(chunk: list[Oid]) -> dict[Oid, Value]:
            async with slots:
                return await self._get_chunk(chunk)

        found: dict[Oid, Value] = {}
        for part in await asyncio.gather(*(one(chunk) for chunk in chunks)):
            found.update(part)
        return found

    async def _get_chunk(self, oids: list[Oid]) -> dict[Oid, Value]:
        while oids:
            reply = await self._sender.send(ber.GET, oids)
            indication, status, index, varbinds = reply
            if not indication and status == NO_SUCH_NAME and 0 < index <= len(oids):
                del oids[index - 1]  # SNMPv1 fails the whole GET for one missing object: ask again without it
                continue
            if not indication and status == TOO_BIG and len(oids) > 1:
                half = len(oids) // 2
                first, second = await asyncio.gather(self._get_chunk(oids[:half]), self._get_chunk(oids[half:]))
                return first | second
            if indication or status:
                raise self._fail(reply, oids)
            if len(varbinds) != len(oids):
                raise ProbeFailed(Reason.PROTOCOL_ERROR, f"{self.who} answered {len(varbinds)} of {len(oids)} objects")
            return {oid: value for oid, (_, value) in zip(oids, varbinds, strict=True) if value is not None}
        return {}

    async def walk(self, columns: Sequence[Oid], *, max_repetitions: int) -> dict[Oid, dict[Oid, Value]]:
        """Every row of each column: {column: {index suffix: value}}, the columns walked side by side."""
        rows: dict[Oid, dict[Oid, Value]] = {column: {} for column in columns}
        cursor = {column: column for column in columns}  # the last OID seen in each column still open
        while cursor:
            open_columns = list(cursor)
            oids = [cursor[column] for column in open_columns]
            if self.version == "1":  # no GETBULK in SNMPv1 (RFC 1157): one GETNEXT row at a time
                reply = await self._sender.send(ber.GET_NEXT, oids)
                if not reply[0] and reply[1] == NO_SUCH_NAME and 0 < reply[2] <= len(oids):
                    del cursor[open_columns[reply[2] - 1]]  # that column ended at the end of the agent's MIB
                    continue
            else:
                reply = await self._sender.send(ber.GET_BULK, oids, max_repetitions)
            if reply[0] or reply[1]:
                raise self._fail(reply, oids)
            varbinds = reply[3]
            if not varbinds:
                raise ProbeFailed(Reason.PROTOCOL_ERROR, f"{self.who} answered a walk with no objects")
            for position, (oid, value) in enumerate(varbinds):
                column = open_columns[position % len(open_columns)]
                if column not in cursor:
                    continue
                if value is None or oid[: len(column)] != column:
                    del cursor[column]  # walked past the column: it is complete
                    continue
                if oid <= cursor[column]:
                    raise ProbeFailed(Reason.PROTOCOL_ERROR, f"{self.who} returned OIDs out of order while walking")
                rows[column][oid[len(column) :]] = value
                cursor[column] = oid
        return rows


_GENERATORS: dict[int, Any] = {
    ber.GET: cmdgen.GetCommandGenerator(),
    ber.GET_NEXT: cmdgen.NextCommandGeneratorSingleRun(),
    ber.GET_BULK: cmdgen.BulkCommandGeneratorSingleRun(),
}
_LCD = CommandGeneratorLcdConfigurator()


class Engine:
    """The process's one SnmpEngine, made on first use, and the engine IDs agents announced."""

    def __init__(self) -> None:
        self._snmp: Any = None
        self._lock = asyncio.Lock()
        self._announced: dict[tuple[str, int], bytes] = {}
        self._community = v2c.Transport(_socket)

    async def start(self) -> None:
        await self._engine()

    async def _engine(self) -> Any:
        async with self._lock:
            if self._snmp is None:
                # Building the engine loads pysnmp's internal MIBs (~0.1 s of CPU): off the event loop.
                snmp = await asyncio.to_thread(SnmpEngine)
                snmp.observer.register_observer(
                    self._heard,
                    "rfc3412.prepareDataElements:internal",
                    "rfc3412.prepareDataElements:response",
                )
                # Our own IPv4 socket, with a large receive buffer; the engine uses it for every IPv4 agent.
                config.add_transport(snmp, udp.DOMAIN_NAME, udp.UdpAsyncioTransport().open_server_mode(sock=_socket()))
                self._snmp = snmp
            return self._snmp

    def _heard(self, _snmp: Any, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        """Remember the engine ID each SNMPv3 agent announces in its reports and responses."""
        engine_id = variables.get("securityEngineId")
        address = variables.get("transportAddress")
        if engine_id and address is not None:
            self._announced[(str(address[0]), int(address[1]))] = bytes(engine_id)

    async def _target(self, address: tuple[str, int], timeout: float, retries: int) -> Any:
        kind: Callable[..., Any] = (
            Udp6TransportTarget.create if ipaddress.ip_address(address[0]).version == 6 else UdpTransportTarget.create
        )
        return await kind(address, timeout=timeout, retries=retries)

    async def session(
        self,
        address: tuple[str, int],
        creds: Credentials,
        *,
        context: str,
        timeout: float,
        retries: int,
        engine_id: bytes | None = None,
    ) -> Session:
        """A session for one device; SNMPv3 needs the agent's ``engine_id`` (``discover``)."""
        who = f"{address[0]} port {address[1]}"
        if creds.version != "3":
            return Session(_Community(self._community, address, creds, timeout, retries), creds, who)
        snmp = await self._engine()
        auth_data = creds.auth_data(engine_id)
        target = await self._target(address, timeout, retries)
        try:
            addr_name, _ = _LCD.configure(snmp, auth_data, target, context.encode())
        except (PySnmpError, PyAsn1Error) as exc:  # e.g. a user name longer than 32 characters
            raise ProbeFailed(Reason.CONFIG_ERROR, f"SNMP settings for {who} are not usable: {exc}") from None
        return Session(_Pysnmp(snmp, addr_name, context.encode(), who), creds, who)

    async def discover(self, address: tuple[str, int], *, timeout: float, retries: int) -> bytes | None:
        """The SNMPv3 engine ID the agent announces (RFC 3414 §4), or None when it does not answer."""
        session = await self.session(
            address, Credentials("3", user=_PROBE_USER), context="", timeout=timeout, retries=retries
        )
        self._announced.pop(address, None)
        try:
            await session.get([SYS_UPTIME])
        except ProbeFailed as failure:
            if failure.reason is Reason.TIMEOUT:
                return None
        return self._announced.get(address)

    def close(self) -> None:
        self._community.close()
        if self._snmp is not None:
            self._snmp.close_dispatcher()
            self._snmp = None
