"""H.323 probe: a connect to the H.225 port proves a listener (up, connect time) and nothing more."""

from __future__ import annotations

import asyncio

import pytest

from probes import ProbeKind, h323
from probes.core.context import ProbeContext
from probes.core.result import Reason
from probes.runner import run_probe
from tests.peers import free_port
from tests.tls_certs import RawServer

KIND = ProbeKind(h323.KIND, h323.H323Settings, h323.probe, default_port=h323.DEFAULT_PORT)


async def _silent(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An H.323 stack waits for our Q.931 SETUP; we never send one."""
    await server.until_hangup(reader)


async def test_listener_is_up() -> None:
    """An accepting port is up with its connect time, and the probe hangs up without sending anything."""
    async with RawServer(_silent) as server:
        result = await run_probe(KIND, f"127.0.0.1:{server.port}", h323.H323Settings(), ctx=ProbeContext(), timeout=5)
        await asyncio.wait_for(server.hung_up.wait(), 5)
    assert result.success, result.detail
    assert result.values["up"] == 1.0
    assert 0 < result.values["response_seconds"] < 5
    assert result.info["address"] == "127.0.0.1"


async def test_no_listener_is_down() -> None:
    """A closed port is down with REFUSED, at once."""
    result = await run_probe(KIND, f"127.0.0.1:{free_port()}", h323.H323Settings(), ctx=ProbeContext(), timeout=5)
    assert (result.success, result.reason) == (False, Reason.REFUSED), result.detail
    assert result.values == {"up": 0.0}


@pytest.mark.parametrize("target", ["127.0.0.1:70000", "[::1"])
async def test_bad_target(target: str) -> None:
    """A target that is not HOST[:PORT] is a BAD_TARGET result, not an exception."""
    result = await run_probe(KIND, target, h323.H323Settings(), ctx=ProbeContext(), timeout=5)
    assert (result.success, result.reason) == (False, Reason.BAD_TARGET)


async def test_bare_host_means_port_1720() -> None:
    """A bare host means the H.225 call-signalling port (nothing listens on loopback 1720 here)."""
    result = await run_probe(KIND, "127.0.0.1", h323.H323Settings(), ctx=ProbeContext(), timeout=5)
    assert "port 1720" in result.detail
