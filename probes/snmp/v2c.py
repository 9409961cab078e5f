"""Community-based (SNMPv1/v2c) requests over one UDP socket per address family, answers decoded by probes/snmp/ber.py.

Every request gets a fresh request-id; an answer is taken only from the address asked, with the same version,
community and request-id, as a Response PDU — anything else on the socket is dropped, as pysnmp drops it. An
answer from the address asked that cannot be decoded fails the request it names (or, when even its request-id
is unreadable, every request waiting on that address) with PROTOCOL_ERROR.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from probes.core.result import ProbeFailed, Reason
from probes.snmp import ber

log = logging.getLogger(__name__)

_Address = tuple[str, int]


@dataclass(slots=True)
class _Pending:
    address: _Address
    version: int
    community: bytes
    future: asyncio.Future[ber.Response]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, heard: Callable[[bytes, _Address], None]) -> None:
        self._heard = heard

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._heard(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:  # unconnected UDP: the request times out instead
        log.debug("SNMP socket error: %s", exc)


class Transport:
    """Sockets made on first use with ``make_socket(family)``; requests matched to answers by request-id."""

    def __init__(self, make_socket: Callable[[int], socket.socket]) -> None:
        self._make_socket = make_socket
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._pending: dict[int, _Pending] = {}
        self._next_id = random.randrange(1, 2**30)

    async def _transport(self, family: int) -> asyncio.DatagramTransport:
        if family not in self._transports:
            loop = asyncio.get_running_loop()
            sock = self._make_socket(family)
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self._heard), sock=sock)
            if family in self._transports:  # another request made it meanwhile
                transport.close()
            else:
                self._transports[family] = transport
        return self._transports[family]

    def _request_id(self) -> int:
        self._next_id = self._next_id % (2**31 - 1) + 1
        while self._next_id in self._pending:
            self._next_id = self._next_id % (2**31 - 1) + 1
        return self._next_id

    async def request(
        self,
        address: _Address,
        version: int,
        community: bytes,
        pdu: int,
        oids: Sequence[ber.Oid],
        *,
        timeout: float,
        retries: int,
        non_repeaters: int = 0,
        max_repetitions: int = 0,
    ) -> ber.Response | None:
        """The agent's answer, or None when ``retries + 1`` tries of ``timeout`` seconds each went unanswered."""
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        transport = await self._transport(family)
        request_id = self._request_id()
        message = ber.encode_request(
            pdu, version, community, request_id, oids, non_repeaters=non_repeaters, max_repetitions=max_repetitions
        )
        future: asyncio.Future[ber.Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(address, version, community, future)
        try:
            for _ in range(retries + 1):
                transport.sendto(message, address)
                done, _ = await asyncio.wait((future,), timeout=timeout)
                if done:
                    return future.result()
            return None
        finally:
            del self._pending[request_id]
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a failure set while our caller was cancelled is not logged
            future.cancel()

    def _heard(self, data: bytes, address: _Address) -> None:
        try:
            response = ber.decode_response(data)
        except ber.BerError as exc:
            self._malformed(address, exc)
            return
        pending = self._pending.get(response.request_id)
        if (
            pending is None
            or pending.future.done()
            or pending.address != address
            or response.pdu != ber.RESPONSE
            or response.version != pending.version
            or response.community != pending.community
        ):
            return  # late, duplicated, spoofed or not for us
        pending.future.set_result(response)

    def _malformed(self, address: _Address, exc: ber.BerError) -> None:
        failure = ProbeFailed(
            Reason.PROTOCOL_ERROR, f"{address[0]} port {address[1]} sent a malformed SNMP answer: {exc}"
        )
        for request_id, pending in self._pending.items():
            if pending.address != address or pending.future.done():
                continue
            if exc.request_id is None or exc.request_id == request_id:
                pending.future.set_exception(failure)

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
