"""Progress of long work on a terminal: one line on stderr, rewritten in place (issue 14).

    progress = terminal_progress("giaoban readiness", "điểm cầu / sites", quiet=args.json)
    progress(37, 120, "Xã Lam Vỹ")      giaoban readiness: 37/120 điểm cầu / sites — Xã Lam Vỹ

``terminal_progress`` gives None when stderr is not a terminal or the output is JSON (``quiet``): piped output
and logs stay free of carriage returns. The line fits the terminal's width (a wrapped line could not be
rewritten) and the last one, done == total, ends it. Used by `init --national`, a fresh `readiness` check and
`meetings import`.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


class TerminalProgress:
    """Call with (done, total, what was just done); the line ends when done reaches total."""

    def __init__(self, command: str, unit: str, stream: TextIO) -> None:
        self._command, self._unit, self._stream = command, unit, stream
        self._drawn = 0  # length of the line on screen

    def __call__(self, done: int, total: int, label: str = "") -> None:
        line = f"{self._command}: {done}/{total} {self._unit}" + (f" — {label}" if label else "")
        line = line[: _width(self._stream) - 1]
        padding = " " * max(self._drawn - len(line), 0)  # what remains of a longer previous line
        last = done >= total
        self._stream.write(f"\r{line}{padding}" + ("\n" if last else ""))
        self._stream.flush()
        self._drawn = 0 if last else len(line)


def terminal_progress(
    command: str, unit: str, *, quiet: bool = False, stream: TextIO | None = None
) -> TerminalProgress | None:
    """A progress line on ``stream`` (default stderr) if it is a terminal and not ``quiet``; else None."""
    stream = stream if stream is not None else sys.stderr
    if quiet or not stream.isatty():
        return None
    return TerminalProgress(command, unit, stream)


def _width(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):  # not a real descriptor (a buffer standing in for a terminal) or no size
        return 80
    return columns if columns >= 40 else 80  # a new pseudo-terminal says 0 until someone sets its size


__all__ = ["TerminalProgress", "terminal_progress"]
