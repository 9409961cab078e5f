"""Link quality arithmetic (probes/icmp/quality.py) against values computed by hand from the README's formulas."""

from __future__ import annotations

import pytest

from probes.icmp.quality import LinkQuality, estimated_mos, jitter, summarize

# (rtt ms, jitter ms, loss %) → MOS, each worked through by hand:
#   d = rtt/2 + 2·jitter + 10;  R = 93.2 − d/40 (d < 160) or 93.2 − (d − 120)/10;  R −= 2.5·loss
#   MOS = 1 + 0.035R + 7e-6·R(R − 60)(100 − R), 1 when R < 0
MOS_CASES = [
    # d = 24, R = 92.6: 1 + 3.241 + 7e-6·92.6·32.6·7.4
    pytest.param(20, 2, 0, 4.397371768, id="good-link"),
    # d = 15, R = 92.825: 1 + 3.248875 + 7e-6·92.825·32.825·7.175
    pytest.param(10, 0, 0, 4.4019096019, id="no-jitter"),
    # d = 200 ≥ 160: R = 93.2 − 8 = 85.2 (the d/40 branch would give 88.2): 1 + 2.982 + 7e-6·85.2·25.2·14.8
    pytest.param(360, 5, 0, 4.204433344, id="long-delay-branch"),
    # d = 180: R = 93.2 − 6 − 2.5 = 84.7: 1 + 2.9645 + 7e-6·84.7·24.7·15.3
    pytest.param(300, 10, 1, 4.188562839, id="delay-and-1pct-loss"),
    # R = 92.6 − 50 = 42.6 < 60, the cubic term subtracts: 1 + 1.491 − 7e-6·42.6·17.4·57.4
    pytest.param(20, 2, 20, 2.193169768, id="heavy-loss"),
    # R = 92.6 − 100 < 0
    pytest.param(20, 2, 40, 1.0, id="r-below-zero"),
]


@pytest.mark.parametrize(("rtt_ms", "jitter_ms", "loss_pct", "mos"), MOS_CASES)
def test_estimated_mos(rtt_ms: float, jitter_ms: float, loss_pct: float, mos: float) -> None:
    """The MOS on the dashboard and in readiness thresholds is exactly the README's simplified E-model."""
    assert estimated_mos(rtt_ms, jitter_ms, loss_pct) == pytest.approx(mos, abs=1e-9)


JITTER_CASES = [
    pytest.param([], None, id="nothing-received"),
    pytest.param([0.010], 0.0, id="one-reply"),
    pytest.param([0.010, 0.012], 0.002, id="two-replies"),
    # |30−10| + |20−30| + |20−20| = 20 + 10 + 0 over 3 differences: successive, not sorted, values
    pytest.param([0.010, 0.030, 0.020, 0.020], 0.010, id="successive-not-sorted"),
]


@pytest.mark.parametrize(("rtts", "expected"), JITTER_CASES)
def test_jitter(rtts: list[float], expected: float | None) -> None:
    """Jitter is the mean absolute difference of successive RTTs (as the README defines it), not their spread."""
    assert jitter(rtts) == (None if expected is None else pytest.approx(expected))


SUMMARY_CASES = [
    pytest.param(
        [0.020, None, 0.024, 0.022],
        # received 20, 24, 22 ms: avg 22, median 22, jitter (4 + 2)/2 = 3 ms; loss 1/4;
        # MOS: d = 11 + 6 + 10 = 27, R = 93.2 − 0.675 − 62.5 = 30.025 → 1 + 1.050875 − 7e-6·30.025·29.975·69.975
        LinkQuality(4, 3, 0.25, 0.020, 0.022, 0.022, 0.024, 0.003, 1.6100328061),
        id="one-lost",
    ),
    pytest.param(
        [0.010, 0.030, 0.020, 0.020],
        # median of an even count is the mean of the middle two: (20 + 20)/2; jitter 10 ms;
        # MOS: d = 10 + 20 + 10 = 40, R = 92.2 → 1 + 3.227 + 7e-6·92.2·32.2·7.8
        LinkQuality(4, 4, 0.0, 0.010, 0.020, 0.020, 0.030, 0.010, 4.389098664),
        id="all-received",
    ),
    pytest.param([None, None, None], LinkQuality(3, 0, 1.0, None, None, None, None, None, 1.0), id="all-lost"),
]


@pytest.mark.parametrize(("rtts", "expected"), SUMMARY_CASES)
def test_summarize(rtts: list[float | None], expected: LinkQuality) -> None:
    """A round's statistics: RTTs of the replies only, loss over all echoes, absent RTTs when all were lost."""
    got = summarize(rtts)
    assert (got.sent, got.received) == (expected.sent, expected.received)
    for name in ("loss_ratio", "rtt_min", "rtt_avg", "rtt_median", "rtt_max", "jitter", "mos"):
        want = getattr(expected, name)
        assert getattr(got, name) == (None if want is None else pytest.approx(want, abs=1e-9)), name
