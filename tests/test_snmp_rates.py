"""Rate maths on synthetic counters: wraps, resets, reboots and short windows never give a negative or a spike."""

from __future__ import annotations

import random

import pytest

from probes.snmp.rates import MIN_WINDOW, CounterHistory, Rates, Sample, octet_delta, wraps_unseen

GBIT = 1e9
MBIT = 1e6


@pytest.mark.parametrize(
    ("previous", "current", "bits", "elapsed", "max_bps", "expected"),
    [
        pytest.param(1000, 126_000, 64, 10.0, GBIT, 125_000, id="64-bit forward"),
        pytest.param(2**64 - 10, 5, 64, 10.0, GBIT, None, id="64-bit backwards is a reset"),
        pytest.param(2**32 - 1000, 24_000, 32, 10.0, 100 * MBIT, 25_000, id="32-bit wrap within speed"),
        pytest.param(3_000_000_000, 1000, 32, 10.0, 10 * MBIT, None, id="32-bit drop too big for a wrap at 10M"),
        pytest.param(2**32 - 1000, 24_000, 32, 10.0, None, 25_000, id="32-bit wrap, speed unknown, small"),
        pytest.param(1_000_000_000, 1000, 32, 10.0, None, None, id="32-bit drop over half the range, speed unknown"),
        pytest.param(5, 5, 32, 10.0, GBIT, 0, id="idle"),
        pytest.param(0, 10**9, 64, 1.0, 9000.0, 10**9, id="forward beyond a token tunnel speed is kept"),
    ],
)
def test_octet_delta(
    *, previous: int, current: int, bits: int, elapsed: float, max_bps: float | None, expected: int | None
) -> None:
    """Each case of the counter rules in probes/snmp/rates.py gives its delta or None (reset)."""
    assert octet_delta(previous, current, bits=bits, elapsed=elapsed, max_bps=max_bps) == expected


@pytest.mark.parametrize(
    ("bits", "elapsed", "max_bps", "expected"),
    [
        pytest.param(32, 60.0, GBIT, True, id="1G wraps in 34 s: 60 s is ambiguous"),
        pytest.param(32, 20.0, GBIT, False, id="1G within one wrap"),
        pytest.param(32, 60.0, 100 * MBIT, False, id="100M wraps in 344 s"),
        pytest.param(64, 3600.0, 100 * GBIT, False, id="64-bit never"),
        pytest.param(32, 600.0, None, False, id="speed unknown: cannot tell"),
    ],
)
def test_wraps_unseen(bits: int, elapsed: float, max_bps: float | None, expected: bool) -> None:
    """A 32-bit counter polled slower than its wrap time at line rate cannot give a rate."""
    assert wraps_unseen(bits, elapsed, max_bps) is expected


def test_steady_rate_after_first_sample() -> None:
    """The first sample only sets the baseline; the next gives bits per second over the measured time."""
    history = CounterHistory()
    assert history.add(Sample(100.0, 0, 0, 64), max_bps=GBIT, rebooted=False) == Rates()
    rates = history.add(Sample(110.0, 1_250_000, 250_000, 64), max_bps=GBIT, rebooted=False)
    assert rates == Rates(receive_bps=1_000_000.0, transmit_bps=200_000.0, reset=False)


def test_32_bit_wrap_gives_the_true_rate() -> None:
    """A 32-bit counter passing 2^32 between polls keeps the rate, without a dip or a spike."""
    history = CounterHistory()
    history.add(Sample(0.0, 2**32 - 500_000, 0, 32), max_bps=100 * MBIT, rebooted=False)
    rates = history.add(Sample(10.0, 750_000, 10, 32), max_bps=100 * MBIT, rebooted=False)
    assert rates.receive_bps == pytest.approx(1_000_000.0)
    assert not rates.reset


@pytest.mark.parametrize(
    ("second", "rebooted"),
    [
        pytest.param(Sample(10.0, 100, 100, 64), False, id="64-bit counter went back"),
        pytest.param(Sample(10.0, 2_000_000, 2_000_000, 64), True, id="device rebooted"),
        pytest.param(Sample(10.0, 100, 100, 32), False, id="counter width changed"),
    ],
)
def test_discontinuity_resets_then_resumes(second: Sample, rebooted: bool) -> None:
    """A reset, a reboot or a change of counter gives no rate and a reset flag; the next poll measures again."""
    history = CounterHistory()
    history.add(Sample(0.0, 1_000_000, 1_000_000, 64), max_bps=GBIT, rebooted=False)
    assert history.add(second, max_bps=GBIT, rebooted=rebooted) == Rates(reset=True)
    after = Sample(20.0, second.receive + 12_500, second.transmit, second.bits)
    assert history.add(after, max_bps=GBIT, rebooted=False) == Rates(receive_bps=10_000.0, transmit_bps=0.0)


def test_close_polls_measure_over_the_minimum_window() -> None:
    """A poll 1 s after another measures from an older sample, never over a 1 s instant."""
    history = CounterHistory()
    history.add(Sample(0.0, 0, 0, 64), max_bps=GBIT, rebooted=False)
    history.add(Sample(60.0, 600_000, 0, 64), max_bps=GBIT, rebooted=False)
    rates = history.add(Sample(61.0, 601_000, 0, 64), max_bps=GBIT, rebooted=False)
    assert rates.receive_bps == pytest.approx(601_000 * 8 / 61.0)
    assert MIN_WINDOW > 1.0


def test_first_polls_closer_than_the_window_give_no_rate() -> None:
    """Two samples 2 s apart are too close to measure: no rate yet, and no reset."""
    history = CounterHistory()
    history.add(Sample(0.0, 0, 0, 64), max_bps=GBIT, rebooted=False)
    assert history.add(Sample(2.0, 1000, 1000, 64), max_bps=GBIT, rebooted=False) == Rates()


def test_random_counter_walks_never_give_a_negative_rate() -> None:
    """Counters that climb, wrap, reset and reboot at random (seeded) never give a negative rate."""
    rng = random.Random(20240611)
    for bits in (32, 64):
        history = CounterHistory()
        receive = transmit = rng.randrange(2**bits)
        now = 0.0
        for _ in range(2000):
            now += rng.choice((1.0, 10.0, 60.0))
            event = rng.random()
            rebooted = event < 0.02
            if event < 0.05:
                receive, transmit = rng.randrange(1000), rng.randrange(1000)
            else:
                receive = (receive + rng.randrange(10**7)) % 2**bits
                transmit = (transmit + rng.randrange(10**7)) % 2**bits
            rates = history.add(Sample(now, receive, transmit, bits), max_bps=GBIT, rebooted=rebooted)
            for bps in (rates.receive_bps, rates.transmit_bps):
                assert bps is None or 0.0 <= bps <= 1.2 * GBIT


def test_fast_polls_still_measure_over_the_minimum_window() -> None:
    """Polls 1 s apart give a rate once a sample MIN_WINDOW old exists (a count-bounded history never had one)."""
    from probes.snmp.rates import MIN_WINDOW, CounterHistory, Sample

    history = CounterHistory()
    rates = [history.add(Sample(float(t), t * 1000, t * 2000, 64), max_bps=1e9, rebooted=False) for t in range(12)]
    measured = [r for r in rates if r.receive_bps is not None]
    assert len(measured) == 12 - int(MIN_WINDOW)
    assert all(r.receive_bps == 8000 and r.transmit_bps == 16000 for r in measured)
