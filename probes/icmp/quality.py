"""Link quality from one ICMP round: RTT spread, jitter, loss and an estimated MOS (a simplified ITU-T G.107 E-model).

Pure functions over the round's RTTs in seconds, ``None`` for an echo that got no reply, in send order::

    summarize([0.020, None, 0.024, 0.022])
    → LinkQuality(sent=4, received=3, loss_ratio=0.25, rtt_min=0.020, rtt_avg=0.022, rtt_median=0.022,
                  rtt_max=0.024, jitter=0.003, mos=1.61)

RTT statistics and jitter are ``None`` when no reply came back (absent, never 0); the MOS is then 1.0.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkQuality:
    """What a round says about a link; seconds and ratios (base units)."""

    sent: int
    received: int
    loss_ratio: float
    rtt_min: float | None
    rtt_avg: float | None
    rtt_median: float | None
    rtt_max: float | None
    jitter: float | None
    mos: float


def jitter(rtts: Sequence[float]) -> float | None:
    """Mean absolute difference of successive RTTs (of the replies received, in order).

    One reply shows no variation (0.0); no reply says nothing (None).
    """
    if not rtts:
        return None
    if len(rtts) == 1:
        return 0.0
    return sum(abs(b - a) for a, b in itertools.pairwise(rtts)) / (len(rtts) - 1)


def estimated_mos(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """Simplified E-model: one-way delay = RTT/2, all in ms, loss in percent (the formula is in the README)."""
    delay = rtt_ms / 2 + 2 * jitter_ms + 10
    r = 93.2 - delay / 40 if delay < 160 else 93.2 - (delay - 120) / 10
    r -= 2.5 * loss_percent
    if r < 0:
        return 1.0
    if r > 100:
        return 4.5
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def summarize(rtts: Sequence[float | None]) -> LinkQuality:
    """Statistics of one round; ``rtts`` holds one entry per echo sent."""
    got = [rtt for rtt in rtts if rtt is not None]
    sent = len(rtts)
    loss = 1.0 - len(got) / sent if sent else 1.0
    if not got:
        return LinkQuality(sent, 0, loss, None, None, None, None, None, 1.0)
    avg = statistics.fmean(got)
    jit = jitter(got)
    assert jit is not None  # got is not empty
    return LinkQuality(
        sent=sent,
        received=len(got),
        loss_ratio=loss,
        rtt_min=min(got),
        rtt_avg=avg,
        rtt_median=statistics.median(got),
        rtt_max=max(got),
        jitter=jit,
        mos=estimated_mos(avg * 1000, jit * 1000, loss * 100),
    )
