"""Make the clients every probe shares, once per process: ICMP pinger, HTTP session, SNMP engine.

The ICMP mode is decided once, off the event loop, and logged with what to change if ICMP cannot run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from probes.core.context import ProbeContext
from probes.http import new_client_session
from probes.icmp.mode import detect_icmp_mode
from probes.icmp.pinger import Pinger
from probes.snmp.poller import SnmpPoller

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def probe_context() -> AsyncIterator[ProbeContext]:
    mode = await asyncio.to_thread(detect_icmp_mode)
    if mode.usable:
        log.info("ICMP: %s", mode.message)
    else:
        log.warning("ICMP probes cannot run: %s", mode.message)
    pinger = Pinger(mode) if mode.usable else None
    session = new_client_session()
    snmp = SnmpPoller()  # the one pysnmp engine of the process (one per device burns CPU)
    await snmp.start()
    # pysnmp's MIB objects are many and long-lived: keep them out of the collector's full passes,
    # which otherwise stall the event loop by ~100 ms (bench/RESULTS.md, SNMP).
    gc.freeze()
    try:
        yield ProbeContext(http=session, pinger=pinger, snmp=snmp)
    finally:
        await session.close()
        await snmp.close()
        if pinger is not None:
            pinger.close()
