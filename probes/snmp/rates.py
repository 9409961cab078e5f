"""Rates from interface octet counters: deltas over the measured time, with wrap, reset and reboot handled.

A rate is reported only when it can be trusted; otherwise it is None, never negative and never a spike:

- the first sample, or the first after a discontinuity, only sets the baseline;
- the device rebooted (sysUpTime went backwards): counters may have restarted (RFC 2863 §3.1.5) → reset;
- a 64-bit counter that went backwards was reset (it cannot wrap in the lifetime of any link) → reset;
- a 32-bit counter that went backwards wrapped once if the wrapped delta fits the port's speed (or, speed
  unknown, is under half the range), else it was reset; one polled more slowly than it can wrap at line
  rate (34 s at 1 Gbit/s) is ambiguous → None.

A counter that went forward is trusted even beyond the reported port speed: tunnels and sub-interfaces
often report a token speed (9 kbit/s on a GRE tunnel) while carrying megabits, and discarding their
traffic would hide the very saturation this measures. Utilisation above 1 then shows the wrong speed.

``CounterHistory`` keeps the last few samples so that two polls close together (a readiness check right after a
scheduled poll) still measure over at least ``MIN_WINDOW`` seconds instead of over a noisy instant.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MIN_WINDOW = 5.0  # seconds: shorter windows mostly measure the agent's counter cache (net-snmp: 3 s)
WRAP_MARGIN = 1.2  # a 32-bit wrap implying more than this × the port's speed was a reset instead
_HISTORY = 256  # a bound only: samples are pruned by age, keeping one at least MIN_WINDOW old


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of a pair of octet counters at a monotonic instant."""

    at: float
    receive: int
    transmit: int
    bits: int  # 64 (ifHC*Octets) or 32 (ifIn/OutOctets)


@dataclass(frozen=True, slots=True)
class Rates:
    receive_bps: float | None = None
    transmit_bps: float | None = None
    reset: bool = False  # the counters were discontinuous: this poll set a new baseline


def octet_delta(previous: int, current: int, *, bits: int, elapsed: float, max_bps: float | None) -> int | None:
    """Octets counted between two readings, or None when the counter was reset (see the module docstring)."""
    if current >= previous:
        return current - previous
    if bits != 32:
        return None  # a 64-bit octet counter needs 46 years at 100 Gbit/s to wrap: it was reset
    wrapped = current + 2**32 - previous
    limit = max_bps * WRAP_MARGIN * elapsed / 8 if max_bps else 2**31
    return wrapped if wrapped <= limit else None


def wraps_unseen(bits: int, elapsed: float, max_bps: float | None) -> bool:
    """Whether a 32-bit counter could have wrapped more than once at line rate within ``elapsed``."""
    return bits == 32 and max_bps is not None and max_bps > 0 and elapsed > 2**32 * 8 / max_bps


class CounterHistory:
    """The recent samples of one interface."""

    def __init__(self) -> None:
        self._samples: deque[Sample] = deque(maxlen=_HISTORY)

    def clear(self) -> None:
        self._samples.clear()

    def add(self, sample: Sample, *, max_bps: float | None, rebooted: bool) -> Rates:
        """Record ``sample`` and measure against the newest earlier sample at least MIN_WINDOW older."""
        if rebooted or (self._samples and self._samples[-1].bits != sample.bits):
            discontinuous = bool(self._samples) or rebooted
            self._samples.clear()
            self._samples.append(sample)
            return Rates(reset=discontinuous)
        if self._samples and sample.at <= self._samples[-1].at:
            return Rates()  # clock did not advance: nothing to measure, keep the history
        base = next((s for s in reversed(self._samples) if sample.at - s.at >= MIN_WINDOW), None)
        self._samples.append(sample)
        # Keep the newest sample that is at least MIN_WINDOW old and everything after it: by count, fast
        # polls (1 s) would never hold a sample old enough to measure against.
        while len(self._samples) > 2 and sample.at - self._samples[1].at >= MIN_WINDOW:
            self._samples.popleft()
        if base is None:
            return Rates()
        elapsed = sample.at - base.at
        if wraps_unseen(sample.bits, elapsed, max_bps):
            return Rates()
        receive = octet_delta(base.receive, sample.receive, bits=sample.bits, elapsed=elapsed, max_bps=max_bps)
        transmit = octet_delta(base.transmit, sample.transmit, bits=sample.bits, elapsed=elapsed, max_bps=max_bps)
        if receive is None or transmit is None:
            self._samples.clear()
            self._samples.append(sample)
            return Rates(reset=True)
        return Rates(receive_bps=receive * 8 / elapsed, transmit_bps=transmit * 8 / elapsed)
