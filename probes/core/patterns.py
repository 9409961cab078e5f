"""User regular expressions (http body_regex, tcp expect) under a time bound the probe's deadline enforces.

Python's ``re`` can backtrack for ever and cannot be interrupted; in the event loop's thread one pattern froze
the whole service for 12.9 s with ``deadline=1s`` (issue 13). Here every search runs in a worker thread with
the ``regex`` engine, which releases the GIL while it matches (``concurrent=True``) and stops itself after a
timeout: the time left to the run's deadline (probes/core/deadline.py). The awaiting probe also stops waiting
at that bound, since the engine counts CPU time, which runs slower than the clock on a busy machine. So the
loop never blocks, the probe ends by its deadline, and an abandoned search ends on its own soon after.

The patterns are compiled by the same engine that validates them in the config and in /probe's options.

A probe whose pattern failed it says so in the value ``failed_due_to_regex`` (1, else 0), blackbox_exporter's
``probe_failed_due_to_regex``.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

import regex

from probes.core.deadline import remaining
from probes.core.result import ProbeFailed, Reason
from probes.core.series import Series

REGEX_SERIES = (
    Series(
        "failed_due_to_regex", "probe_failed_due_to_regex", "1 if a regular expression failed the probe.", default=0.0
    ),
)

# Outside a runner (a probe called directly) a search still has a bound.
DEFAULT_BUDGET = 5.0
# Left to the runner after a search gives up, so the probe reports regex_timeout rather than a bare timeout.
_MARGIN = 0.05
# Searches get their own threads: a few slow patterns must not take the default executor, which the service
# needs for its own work (rendering /metrics, reading secret files).
_WORKERS = 4
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor  # noqa: PLW0603 - made on first use, one per process like the other shared clients
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="giaoban-regex")
    return _executor


@functools.lru_cache(maxsize=256)
def compile_pattern(text: str, *, multiline: bool = True) -> regex.Pattern[str]:
    """The compiled pattern (``^``/``$`` at each line); raises ValueError saying what is wrong."""
    try:
        return regex.compile(text, regex.MULTILINE if multiline else 0)
    except regex.error as exc:
        raise ValueError(f"{text!r} is not a valid regular expression: {exc}") from None


def check_pattern(text: str) -> str:
    """A settings validator: the pattern compiles in the engine that will run it."""
    compile_pattern(text)
    return text


async def search(text: str, subject: str, *, what: str) -> bool:
    """Whether pattern ``text`` matches somewhere in ``subject``; ProbeFailed(regex_timeout) past the bound.

    ``what`` names the option for the operator (``body_regex``, ``expect``).
    """
    pattern = compile_pattern(text)
    budget = max(remaining(DEFAULT_BUDGET) - _MARGIN, 0.001)
    loop = asyncio.get_running_loop()
    work = functools.partial(pattern.search, subject, concurrent=True, timeout=budget)
    try:
        async with asyncio.timeout(budget):
            return await loop.run_in_executor(_pool(), work) is not None
    except TimeoutError:  # the engine's own timeout, or our wait's: the search could not finish in time
        raise ProbeFailed(
            Reason.REGEX_TIMEOUT,
            f"{what} {text!r} did not finish within {budget:.3g}s on {len(subject)} characters; "
            "simplify the pattern (nested repetition such as (a|aa)+ backtracks without end)",
        ) from None
