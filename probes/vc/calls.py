"""The one registry of in-meeting call readers (issue 18), keyed by driver kind.

``CALL_READERS[kind] = (settings model, reader)``; a reader is a ``CallReader`` (probes/vc/media.py)::

    report = await reader(target, settings, ctx)   # -> CallReport; raises ProbeFailed (ApiError) with a Reason

or, bounded in time (what the meeting watch should call: a reader itself has no deadline)::

    report = await read_calls(kind, target, settings, ctx, timeout=10.0)   # TIMEOUT as a ProbeFailed too

``target`` is written as for the kind's status probe (``HOST[:PORT]`` or a base URL); ``settings`` is an instance
of the registered model, which is the kind's status-probe settings model (``KINDS[kind].settings``): an
endpoint's settings serve both. The meeting watch looks readers up here by an endpoint's or a
bridge's kind and knows nothing of vendors.

Kinds (module · what is read · participants · media_reported)::

    cisco-xapi   cisco_calls.py   /Status/Call, /Status/MediaChannels   the codec's calls    True (False: old firmware)
    poly-rest    poly_calls.py    /rest/conferences                     its connections      False (module docstring)
    huawei       huawei.py        WEB_GetCallStatusInfoAPI              its call (0 or 1)    True
    cms          cms.py           /api/v1/callLegs[/{id}]               every call leg       True
    rmx          rmx.py           TRANS_CONF_LIST, TRANS_CONF_2         every party          False
    jitsi        jitsi_calls.py   /debug                                every endpoint       False

Every kind here is also an endpoint (status-probe) kind of probes/__init__.py, so a site's codec or a bridge is
configured once, as an endpoint, and read both ways with the same settings.
"""

from __future__ import annotations

import asyncio

from probes.core.context import ProbeContext
from probes.core.result import ProbeFailed, Reason
from probes.core.settings import Settings
from probes.vc import cisco_calls, cms, huawei, jitsi_calls, poly_calls, rmx
from probes.vc.cisco_xapi import KIND as CISCO
from probes.vc.cisco_xapi import CiscoXapiSettings
from probes.vc.jitsi import KIND as JITSI
from probes.vc.jitsi import JitsiSettings
from probes.vc.media import CallReader, CallReport
from probes.vc.poly_rest import KIND as POLY
from probes.vc.poly_rest import PolyRestSettings

CALL_READERS: dict[str, tuple[type[Settings], CallReader]] = {
    CISCO: (CiscoXapiSettings, cisco_calls.read),
    POLY: (PolyRestSettings, poly_calls.read),
    huawei.KIND: (huawei.HuaweiSettings, huawei.read),
    cms.KIND: (cms.CmsSettings, cms.read),
    rmx.KIND: (rmx.RmxSettings, rmx.read),
    JITSI: (JitsiSettings, jitsi_calls.read),
}


async def read_calls(kind: str, target: str, settings: Settings, ctx: ProbeContext, *, timeout: float) -> CallReport:
    """The kind's reader, given at most ``timeout`` seconds; ProbeFailed (TIMEOUT, CONFIG_ERROR, ...) otherwise."""
    entry = CALL_READERS.get(kind)
    if entry is None:
        raise ProbeFailed(Reason.CONFIG_ERROR, f"no call reader for kind {kind!r}; known: {', '.join(CALL_READERS)}")
    try:
        async with asyncio.timeout(timeout):
            return await entry[1](target, settings, ctx)
    except TimeoutError:
        raise ProbeFailed(Reason.TIMEOUT, f"{kind} {target}: no call report within {timeout:g}s") from None


__all__ = ["CALL_READERS", "read_calls"]
