"""/metrics at scale (issue 16): gzip when the scraper asks for it, and the per-family cache always equal to a
fresh render, whatever happened to the targets in between."""

from __future__ import annotations

import asyncio
import gc
import gzip
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import aiohttp
import pytest
from aiohttp import web

from monitor.config.models import Config
from monitor.engine.state import State
from monitor.engine.targets import Target, targets_from_config
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.targets import TargetMetrics
from monitor.web.app import GZIP_BATCH, SERVICE, accepts_gzip, gzipped, metrics
from probes.core.result import ProbeResult, Reason

T0 = 1_780_000_000.0
CONFIG = Config.model_validate(
    {
        "district": {"name": "Huyện Thử"},
        "sites": [
            {
                "id": f"s{i}",
                "name": f"Xã {i}",
                "link": {"address": f"127.0.3.{i + 1}"},
                "endpoints": [{"id": f"v{i}", "kind": "tcp", "address": f"127.0.4.{i + 1}", "port": 1720}],
            }
            for i in range(6)
        ],
    }
)
LINK_UP = ProbeResult(
    True,
    1.9,
    values={"rtt_median": 0.02, "jitter": 0.002, "loss_ratio": 0.0, "mos": 4.3, "sent": 10.0, "received": 10.0},
    samples=(0.019, 0.021),
    timestamp=T0,
)
LINK_DOWN = ProbeResult(False, 2.0, Reason.NO_REPLY, "no reply", values={"loss_ratio": 1.0, "sent": 10.0}, timestamp=T0)
UP = ProbeResult(True, 0.01, phases={"connect": 0.004}, timestamp=T0)


def filled() -> tuple[State, dict[str, Target]]:
    state = State()
    targets = {t.key: t for t in targets_from_config(CONFIG)}
    for target in targets.values():
        state.track(target)
        state.record(target, LINK_UP if target.role == "link" else UP)
    return state, targets


def fresh(state: State) -> bytes:
    return Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0").render()


Step = Callable[[State, dict[str, Target]], None]


def new_result(state: State, targets: dict[str, Target]) -> None:
    state.record(targets["s2/link"], replace(LINK_UP, timestamp=T0 + 60))


def link_goes_down(state: State, targets: dict[str, Target]) -> None:
    """Its RTT, jitter and MOS series disappear; the other links' stay where they were."""
    state.record(targets["s1/link"], LINK_DOWN)


def link_comes_back(state: State, targets: dict[str, Target]) -> None:
    """After link_goes_down: its series reappear in the state's order, not after the others."""
    state.record(targets["s1/link"], replace(LINK_UP, timestamp=T0 + 120))


def target_removed(state: State, targets: dict[str, Target]) -> None:
    state.forget("s3/v3")


def target_added_back(state: State, targets: dict[str, Target]) -> None:
    """A reload that drops a target and a later one that brings it back: it is last in the state now."""
    state.forget("s0/link")
    state.track(targets["s0/link"])


def target_redefined(state: State, targets: dict[str, Target]) -> None:
    """A reload gives the link a new address: same key and history, another ``target`` label."""
    state.track(replace(targets["s4/link"], name="127.0.5.5", address="127.0.5.5"))


def target_without_result(state: State, targets: dict[str, Target]) -> None:
    state.track(replace(targets["s5/v5"], key="s5/v-new", name="v-new"))


STORIES: dict[str, list[Step]] = {
    "new result": [new_result],
    "link goes down": [link_goes_down],
    "link comes back": [link_goes_down, link_comes_back],
    "target removed": [target_removed],
    "target added back": [target_added_back],
    "target redefined": [target_redefined],
    "target without a result": [target_without_result],
    "all of it": [new_result, link_goes_down, target_removed, target_added_back, link_comes_back, target_redefined],
}


@pytest.mark.parametrize("name", list(STORIES))
def test_the_cached_scrape_equals_a_fresh_one(name: str) -> None:
    """Chunks are kept per family between scrapes; after any change the text is what a new writer produces."""
    state, targets = filled()
    exposition = Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0")
    before = exposition.render()
    assert before == fresh(state)
    for step in STORIES[name]:
        step(state, targets)
        after = exposition.render()
        assert after == fresh(state), step.__name__
        assert after != before, step.__name__
        assert exposition.render() == after
        before = after


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate", True),
        ("deflate, gzip;q=0.5", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("gzip;q=nonsense", False),
    ],
    ids=repr,
)
def test_accept_encoding(header: str, accepted: bool) -> None:
    """RFC 9110 §12.5.3: a coding with q=0 is refused, * stands for the codings not named."""
    assert accepts_gzip(header) is accepted


def test_gzip_of_pieces_is_one_stream() -> None:
    """The pieces are compressed a megabyte at a time: what comes out is one gzip member of all of them."""
    parts = [b"giaoban_probe_success 1.0\n" * 50_000, b"", b"# HELP x y\n" * 150_000, b"last\n"]
    assert sum(map(len, parts)) > 2 * GZIP_BATCH
    packed = gzipped(parts)
    assert gzip.decompress(packed) == b"".join(parts)
    assert gzip.decompress(gzipped([])) == b""


@dataclass
class Service:
    exposition: Exposition


@pytest.fixture
async def base() -> AsyncIterator[tuple[str, Exposition]]:
    state, _ = filled()
    exposition = Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0")
    app = web.Application()
    app[SERVICE] = Service(exposition)  # type: ignore[assignment]  # the one part of ServiceView the route reads
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", exposition
    finally:
        await runner.cleanup()


@pytest.mark.timeout(30)
async def test_metrics_gzip_when_asked(base: tuple[str, Exposition]) -> None:
    """Prometheus sends Accept-Encoding: gzip; 33 MB at 10,000 links become ~1.6 MB on the wire."""
    url, exposition = base
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.get(f"{url}/metrics", headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status == 200
            assert response.headers["Content-Encoding"] == "gzip"
            assert response.headers["Vary"] == "Accept-Encoding"
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            packed = await response.read()
    assert gzip.decompress(packed) == exposition.render()
    assert len(packed) < len(exposition.render()) / 4


@pytest.mark.timeout(30)
@pytest.mark.parametrize("header", ["identity", "gzip;q=0", None])
async def test_metrics_plain_otherwise(base: tuple[str, Exposition], header: str | None) -> None:
    """A scraper that does not ask for gzip (curl, urllib) gets the text as before."""
    url, exposition = base
    headers = {"Accept-Encoding": header} if header is not None else {}  # None: no Accept-Encoding at all
    async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=["Accept-Encoding"]) as session:
        async with session.get(f"{url}/metrics", headers=headers) as response:
            assert response.status == 200
            assert "Content-Encoding" not in response.headers
            assert await response.read() == exposition.render()


# --- encoded when a result comes, on the loop; a scrape joins (issue 16) -----------------------------------------


def targets_of(exposition: Exposition) -> TargetMetrics:
    return next(source for source in exposition._sources if isinstance(source, TargetMetrics))


def test_a_journal_lists_a_target_once_and_lives_with_its_reader() -> None:
    state, targets = filled()
    journal = state.changes()
    assert journal.take() == list(targets)  # every target there was when it was made
    for _ in range(3):
        new_result(state, targets)
    state.track(targets["s2/link"])  # unchanged: not a change
    assert journal.take() == ["s2/link"]
    link_goes_down(state, targets)
    target_removed(state, targets)
    assert journal.take(1) == ["s1/link"] and len(journal) == 1 and journal.take() == ["s3/v3"]
    del journal
    gc.collect()
    assert not list(state._journals)  # a reader gone leaves nothing for record() to fill


def test_the_loop_encodes_in_slices_and_a_scrape_only_what_is_left() -> None:
    """refresh(limit) encodes that many changed targets and says how many are left; render takes the rest."""
    state, targets = filled()
    exposition = Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0")
    encoder = targets_of(exposition)
    assert encoder.refresh(5) == len(targets) - 5
    assert encoder.refresh(None) == 0
    for step in STORIES["all of it"]:
        step(state, targets)
    left = encoder.refresh(2)
    assert left > 0
    assert exposition.render() == fresh(state)
    assert encoder.refresh() == 0


def test_the_loop_does_not_wait_for_a_scrape() -> None:
    """While a scrape holds the lock, the loop's refresh returns at once and leaves the journal for later."""
    state, targets = filled()
    exposition = Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0")
    encoder = targets_of(exposition)
    exposition.render()
    new_result(state, targets)
    with encoder._lock:
        assert encoder.refresh(wait=False) == 0
        assert len(encoder._changes) == 1  # left for later
    assert encoder.refresh(wait=False) == 0
    assert len(encoder._changes) == 0  # encoded now
    assert exposition.render() == fresh(state)


def test_scrapes_in_a_thread_while_results_come() -> None:
    """The scrape's thread and the loop's results and refreshes at once: afterwards, the text is a fresh one."""
    state, targets = filled()
    exposition = Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0")
    encoder = targets_of(exposition)
    done = threading.Event()
    scrapes: list[int] = []
    failures: list[BaseException] = []

    def scrape() -> None:
        try:
            while not done.is_set():
                scrapes.append(len(exposition.render()))
        except BaseException as exc:  # the thread's own failure, for the test to report
            failures.append(exc)

    thread = threading.Thread(target=scrape)
    thread.start()
    try:
        links = [target for target in targets.values() if target.role == "link"]
        for n in range(3000):  # bounded: ~1 s
            link = links[n % len(links)]
            state.record(link, replace(LINK_UP if n % 3 else LINK_DOWN, timestamp=T0 + n))
            if n % 7 == 0:
                encoder.refresh(3, wait=False)
    finally:
        done.set()
        thread.join(10)
    assert not failures, failures
    assert scrapes, "the thread scraped"
    assert exposition.render() == fresh(state)


async def test_the_service_task_encodes_new_results_within_a_second() -> None:
    state, targets = filled()
    exposition = Exposition.for_state(state, None, ReloadStatus(True, T0), version="0.0.0")
    encoder = targets_of(exposition)
    running = asyncio.create_task(exposition.run(every=0.05, slice_size=2))
    try:
        await asyncio.sleep(0.2)
        assert len(encoder._changes) == 0  # the start's targets, encoded two per loop turn
        for step in STORIES["all of it"]:
            step(state, targets)
        await asyncio.sleep(0.2)
        assert len(encoder._changes) == 0
    finally:
        running.cancel()
    assert exposition.render() == fresh(state)


def test_only_devices_keep_recent_results() -> None:
    """Readiness reads a device's earlier poll (interface errors rising); nothing reads a link's or an endpoint's
    old results, so they keep none for the collector to walk (issue 16)."""
    state, targets = filled()
    device = replace(targets["s0/link"], key="s0/router", name="router", role="device")
    state.track(device)
    for minute in range(3):
        state.record(device, replace(UP, timestamp=T0 + 60 * minute))
        new_result(state, targets)
    recent = state.get("s0/router")
    link = state.get("s2/link")
    assert recent is not None and [r.timestamp for r in recent.recent] == [T0, T0 + 60, T0 + 120]
    assert link is not None and not link.recent and link.latest is not None and link.runs == 4
