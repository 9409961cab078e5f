"""Run one probe under a deadline: the only place that owns a probe's timeout (as blackbox_exporter's handler).

Used by the scheduler and by the /probe handler alike, so both report a timeout, or a bug in a probe,
the same way: as a failed ProbeResult, never as an exception that stops the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.deadline import running_until
from probes.core.result import ProbeResult, Reason
from probes.core.settings import Settings

log = logging.getLogger(__name__)


async def run_probe(
    kind: ProbeKind, target: str, settings: Settings, *, ctx: ProbeContext, timeout: float
) -> ProbeResult:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout) as bound:
            when = bound.when()
            assert when is not None  # asyncio.timeout(seconds) always has one
            with running_until(when):  # so a step in a thread (a regex) can bound itself too
                return await kind.probe(target, settings, ctx=ctx)
    except TimeoutError:
        return ProbeResult.failure(
            Reason.TIMEOUT,
            f"no result within {timeout:g}s",
            duration=time.monotonic() - started,
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in a probe must not stop the scheduler: log it as ours, report it as data
        log.exception("probe %s of %s raised instead of returning a result", kind.name, target)
        return ProbeResult.failure(
            Reason.INTERNAL_ERROR,
            f"internal error in the {kind.name} probe: {type(exc).__name__}: {exc}",
            duration=time.monotonic() - started,
        )
