"""ICMP across a real impaired link: a namespace behind a veth pair with nft random drop and NFQUEUE delay.

The namespace drops 5 % of the echo requests it receives (nft random drop) and delays everything it sends by
50 ± 10 ms (tests/nfq_releaser.py on its OUTPUT), so the RTT is ≈ 50 ms, the delay being one way only.
"""

from __future__ import annotations

import asyncio
import math
import resource
import statistics
from collections.abc import Iterator

import pytest

from monitor.engine.scheduler import START_TICK, phase_offset
from probes.core.context import Echoes, ProbeContext
from probes.core.result import Reason
from probes.icmp.pinger import Pinger
from probes.icmp.probe import IcmpSettings, probe
from tests.netlab import Lab
from tests.peers import missing
from tests.test_icmp import MODES, pinger_in_mode

pytestmark = pytest.mark.timeout(90)
OTHERS = 5000  # loopback targets beside the lab's link (issue 16), their starts spread over SPREAD s
SPREAD = 20.0


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab() as made:
        yield made


@pytest.fixture(params=MODES)
def pinger(request: pytest.FixtureRequest) -> Iterator[Pinger]:
    with pinger_in_mode(request.param) as made:
        yield made


async def test_loss_and_delay_are_measured(lab: Lab, pinger: Pinger) -> None:
    """Loss and RTT of an impaired link come out as applied: 5 % loss, 50 ms median RTT.

    Five rounds of 200 echoes 20 ms apart run at once (4 s): every lost echo must be one the nft rule
    dropped, exactly; loss is judged over all 1,000 echoes because 200 alone spread too much (binomial
    σ = 1.5 points: about 3 % of honest runs would fall outside ±3 points).
    """
    await _measure_impaired_link(lab, pinger)


async def test_impaired_link_is_measured_among_5000_targets(lab: Lab, pinger: Pinger) -> None:
    """The same measurement, within the same bounds, while the same pinger runs 5,000 other targets (issue 16).

    5,000 loopback addresses (127.3.x.y) get one production round each (10 echoes 200 ms apart, 1 s timeout),
    their starts spread over 20 s by the scheduler's hash and on its ticks, ~700 rounds in flight at a time
    (3× the density of 5,000 sites every 60 s); the lab's rounds run in the middle of it. The shared pacing
    loop and read bursts must not cost the impaired link an echo, a reply or its RTT, nor the others a round.
    """
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < OTHERS + 100:  # unprivileged: a socket per round
        missing(f"{OTHERS + 100} file descriptors (ulimit -n)")
    loop = asyncio.get_running_loop()
    base = loop.time() + 0.1
    in_flight = [0]

    async def one_round(address: str) -> Echoes:
        start = math.ceil((base + phase_offset(address, SPREAD)) / START_TICK) * START_TICK
        await asyncio.sleep(start - loop.time())
        in_flight[0] += 1
        try:
            return await pinger.round(address, count=10, interval=0.2, timeout=1.0)
        finally:
            in_flight[0] -= 1

    others = [f"127.3.{i // 250}.{i % 250 + 1}" for i in range(OTHERS)]
    background = [asyncio.create_task(one_round(address)) for address in others]
    try:
        await asyncio.sleep(SPREAD / 2 - 2)
        busy_before = in_flight[0]
        await _measure_impaired_link(lab, pinger)
        busy_after = in_flight[0]
    finally:
        rounds = await asyncio.gather(*background, return_exceptions=True)
    assert (busy_before, busy_after) > (0, 0)  # the lab's rounds really ran among the others
    assert [r for r in rounds if not isinstance(r, list)] == []
    # Every one of the others ran its 10 echoes and was answered: none of them lost its round to the load.
    assert [
        address for address, rtts in zip(others, rounds, strict=True) if len(rtts) != 10 or rtts == [None] * 10
    ] == []


async def _measure_impaired_link(lab: Lab, pinger: Pinger) -> None:
    site = lab.add_site("commune")
    lab.drop_icmp(site, 5)
    lab.delay(site, 50, jitter_ms=10)
    settings = IcmpSettings(count=200, interval=0.02, timeout=1.0)
    ctx = ProbeContext(pinger=pinger)
    results = await asyncio.gather(*(probe(site.ns_addr, settings, ctx=ctx) for _ in range(5)))
    lost = 0
    for result in results:
        assert result.success, result.detail
        assert result.reason in (Reason.PARTIAL_LOSS, Reason.OK)
        assert result.values["sent"] == 200
        lost += 200 - int(result.values["received"])
        assert result.values["rtt_median"] == pytest.approx(0.050, abs=0.010)
        assert statistics.median(result.samples) == result.values["rtt_median"]
    assert lost == lab.dropped(site)
    assert lost / 1000 == pytest.approx(0.05, abs=0.03)


async def test_address_without_host_is_down(lab: Lab, pinger: Pinger) -> None:
    """An address routed into the namespace with nothing behind it: the link is down, nothing invented."""
    site = lab.add_site("empty")
    result = await probe(
        site.void_addr, IcmpSettings(count=5, interval=0.02, timeout=0.5), ctx=ProbeContext(pinger=pinger)
    )
    assert (result.success, result.reason) == (False, Reason.NO_REPLY)
    assert result.values["loss_ratio"] == 1.0
    assert result.values["mos"] == 1.0
    assert (result.values["sent"], result.values["received"]) == (5, 0)
    assert not {"rtt_min", "rtt_avg", "rtt_median", "rtt_max", "jitter"} & set(result.values)
    assert result.samples == ()
