"""The deadline of the probe run in progress, as the runner set it, for work that must bound itself (regexes).

The runner owns the deadline (``asyncio.timeout``); a step that runs outside the event loop, in a thread the
loop cannot cancel, asks ``remaining()`` how long it may take and tells its worker so (probes/core/patterns.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator

# Loop time (loop.time()) by which the current run must end; None outside the runner (a direct call in a test).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("giaoban_probe_deadline", default=None)


@contextlib.contextmanager
def running_until(when: float) -> Iterator[None]:
    """Mark ``when`` (loop time) as the deadline of what runs inside; the caller enforces it."""
    token = _DEADLINE.set(when)
    try:
        yield
    finally:
        _DEADLINE.reset(token)  # the caller's task context must not keep our deadline


def remaining(default: float) -> float:
    """Seconds left to the current run's deadline (may be ≤ 0), or ``default`` when none is set."""
    when = _DEADLINE.get()
    if when is None:
        return default
    return when - asyncio.get_running_loop().time()
