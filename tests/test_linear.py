"""Nothing quadratic in the inventory (issue 16): the work of each read path grows linearly with the sites.

No timing: the inventory's lists are replaced by lists that count every item read from them, and each path
(an alert pass that opens and fires alerts, the board, readiness participants, the API's site list) runs on
N and then 2N sites. A lookup by scan reads N items per lookup, so doubling the sites quadruples the count;
by index, the count doubles. The inventories are generated here; their 127.x addresses are never probed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, SupportsIndex

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from alerts.engine import AlertEngine
from alerts.model import AlertRecord, MaintenanceWindow
from alerts.notifiers.base import Notification
from alerts.rules import RuleEvaluator, evaluate_rules
from monitor.config.index import InventoryIndex
from monitor.config.models import Config
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.readiness.engine import participants
from monitor.readiness.meetings import sync_config_meetings
from monitor.storage.database import Storage
from monitor.web import board
from monitor.web.api_v1 import CONFIG
from monitor.web.api_v1 import sites as api_sites
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from tests.synthetic import cluster_sites

N = 150
CLUSTER = 10  # one site in ten heads a cluster: the tree has depth, and a head's outage folds its cluster
T0 = 1_780_000_000.0
RATIO = 2.2  # doubling the sites may double the work, plus a little for what does not scale


class CountingDict(dict[str, Any]):
    """A dict that counts the items read from it: each lookup one, each pass over it one per item."""

    def get(self, key: str, default: Any = None) -> Any:
        CountingList.reads += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        CountingList.reads += 1
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        for key in super().__iter__():
            CountingList.reads += 1
            yield key

    def values(self) -> Any:
        return [self[key] for key in self]

    def items(self) -> Any:
        return [(key, self[key]) for key in self]


class CountingList(list[Any]):
    """A list that counts the items read from it: by iteration, by index, by a membership test."""

    reads = 0

    def __iter__(self) -> Iterator[Any]:
        for item in super().__iter__():
            CountingList.reads += 1
            yield item

    def __getitem__(self, index: SupportsIndex | slice) -> Any:  # type: ignore[override]
        CountingList.reads += 1
        return super().__getitem__(index)

    def __contains__(self, value: object) -> bool:
        CountingList.reads += len(self)
        return super().__contains__(value)


def inventory(n: int) -> Config:
    """The hub, cluster heads under it, communes under the heads: n sites, each with link, router and codec."""
    sites = cluster_sites(n, cluster=CLUSTER, technicians=10, hub_name="Huyện")
    start = datetime.fromtimestamp(T0 + 86400, UTC).replace(tzinfo=None)
    config = Config.model_validate(
        {
            "district": {"name": "Huyện Thử"},
            "technicians": [{"id": f"t{i}", "name": f"Kỹ thuật {i}", "email": f"t{i}@example.org"} for i in range(10)],
            "alerts": {"admins": ["t0"]},
            "notifiers": [{"id": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}],
            "meetings": [
                {"id": "listed", "title": "Giao ban", "start": start.isoformat(), "sites": [s["id"] for s in sites]},
                {"id": "everyone", "title": "Họp toàn huyện", "start": start.isoformat()},
            ],
            "sites": sites,
        }
    )
    # model_copy keeps the values as given: the lists stay counting lists, and the index is built anew from them.
    return config.model_copy(
        update={"sites": CountingList(config.sites), "technicians": CountingList(config.technicians)}
    )


def down(site: str, config: Config) -> bool:
    """Every fifth cluster head is cut off, with its whole cluster (what topology folds); one codec in seven."""
    entry = config.site(site)
    head = site if entry is not None and entry.role == "district" else entry.parent if entry else None
    return head is not None and head != "hub" and int(head[1:]) % 5 == 0


def filled_state(config: Config) -> State:
    state = State()
    for target in targets_from_config(config):
        state.track(target)
        number = int(target.site[1:]) if target.site != "hub" else 0
        if down(target.site, config) or (target.role == "endpoint" and number % 7 == 3):
            result = ProbeResult.failure(Reason.TIMEOUT, "no answer", duration=1.0, timestamp=T0)
        elif target.role == "link":
            values = {"loss_ratio": 0.0, "rtt_median": 0.02, "jitter": 0.002, "mos": 4.3, "sent": 10.0}
            result = ProbeResult(True, 2.0, values=values, timestamp=T0)
        else:
            result = ProbeResult(True, 0.01, timestamp=T0)
        state.record(target, result)
    return state


class MemoryStore:
    """alerts.engine.AlertStore in memory (tests/test_alert_engine.py has the full fake)."""

    def __init__(self) -> None:
        self.rows: dict[str, AlertRecord] = {}
        self.outbox: list[tuple[str, Notification]] = []

    async def load_open(self) -> list[AlertRecord]:
        return []

    async def commit(self, records: Sequence[AlertRecord], outbox: Sequence[tuple[str, Notification]]) -> None:
        self.rows.update((r.id, r) for r in records)
        self.outbox.extend(outbox)

    async def acknowledgements(self, ids: Sequence[str]) -> dict[str, tuple[float, str]]:
        return {}

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        return []


@dataclass
class View:
    """What the board reads of the service (monitor/web/view.py's ServiceView, the parts collect uses)."""

    config: Config
    storage: Storage
    state: State


async def alert_passes(config: Config, state: State, storage: Storage) -> None:
    """A pass that opens every alert, then one past every for: that fires them (messages, recipients, topology)."""
    clock = [T0]
    store = MemoryStore()
    engine = AlertEngine(lambda: config, state, store, clock=lambda: clock[0])
    await engine.evaluate()
    clock[0] += 3600.0
    await engine.evaluate()
    folded = [r for r in store.rows.values() if r.suppressed_by]
    assert store.outbox and folded, "the scenario must fire alerts and fold some"


async def board_page(config: Config, state: State, storage: Storage) -> None:
    await sync_config_meetings(storage, config, config.meetings)
    data = await board.collect(View(config, storage, state), datetime.fromtimestamp(T0, UTC))
    assert [m.participants for m in data.meetings] == [len(config.sites)] * 2  # every site is district or commune
    assert "Giao ban" in board.render(data, lang="vi", refresh=30)


async def readiness_participants(config: Config, state: State, storage: Storage) -> None:
    listed = [s.id for s in config.sites]
    assert len(participants(config, listed)) == len(listed)
    assert len(participants(config, "all")) == len(listed)  # every site here is a district or a commune


async def api_site_list(config: Config, state: State, storage: Storage) -> None:
    app = web.Application()
    app[CONFIG] = lambda: config
    response = await api_sites(make_mocked_request("GET", "/sites", app=app))
    assert response.status == 200
    assert isinstance(response.text, str) and response.text.count('"id"') >= len(config.sites)


ReadPath = Callable[[Config, State, Storage], Awaitable[None]]
PATHS: dict[str, ReadPath] = {
    "alert passes": alert_passes,
    "board": board_page,
    "readiness participants": readiness_participants,
    "api sites": api_site_list,
}


def count_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each lookup through the index counts as one read, each item of a result it returns too."""

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: InventoryIndex, *args: Any) -> Any:
            found = method(self, *args)
            CountingList.reads += 1 + (len(found) if isinstance(found, tuple | list) else 0)
            return found

        return wrapper

    for name in ("site", "ancestors", "descendants", "device", "endpoint", "technician"):
        monkeypatch.setattr(InventoryIndex, name, counted(getattr(InventoryIndex, name)))
    site_ids = InventoryIndex.site_ids
    monkeypatch.setattr(InventoryIndex, "site_ids", lambda self: CountingDict(site_ids(self)))


async def reads(path: ReadPath, n: int, tmp_path: Path) -> int:
    """Items read from the inventory while ``path`` runs on n sites: from its lists, and through its index
    (built beforehand; its one pass is checked on its own)."""
    config = inventory(n)
    state = filled_state(config)
    config.index  # noqa: B018
    storage = await Storage.open(f"sqlite:///{tmp_path / f'{n}.db'}")
    try:
        CountingList.reads = 0
        await path(config, state, storage)
        return CountingList.reads
    finally:
        await storage.close()


@pytest.mark.parametrize("name", list(PATHS))
async def test_work_grows_linearly_with_the_sites(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 10,000 sites a scan per target was 48 % of all CPU: each path reads the inventory a bounded number of
    times, whatever its size."""
    count_lookups(monkeypatch)
    small = await reads(PATHS[name], N, tmp_path)
    large = await reads(PATHS[name], 2 * N, tmp_path)
    assert small > 0, "the path must read the inventory, or this test proves nothing"
    assert large / small <= RATIO, f"{name}: {small} reads at {N} sites, {large} at {2 * N}: not linear"


async def test_a_scan_per_site_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter sees a scan per lookup (the code before issue 16): doubling the sites quadruples the reads."""
    count_lookups(monkeypatch)

    async def scanning(config: Config, state: State, storage: Storage) -> None:
        for entry in state:
            assert next(s for s in config.sites if s.id == entry.target.site) is not None

    small = await reads(scanning, N, tmp_path)
    large = await reads(scanning, 2 * N, tmp_path)
    assert large / small > 3.5


def test_the_index_is_one_pass() -> None:
    """Built once per inventory: one read of each site, then lookups by id, tree, devices and endpoints."""
    config = inventory(N)
    CountingList.reads = 0
    index = config.index
    assert CountingList.reads == len(config.sites) + len(config.technicians)
    assert config.index is index  # kept
    CountingList.reads = 0
    assert index.site("s00042") is config.sites[42]
    assert index.ancestors("s00042") == ("s00013", "hub")
    assert index.descendants("s00003")[:2] == ["s00017", "s00032"]  # the inventory's order
    assert index.device("r00042") == (config.sites[42], config.sites[42].devices[0])
    assert index.endpoint("v00042") == (config.sites[42], config.sites[42].endpoints[0])
    assert index.technician("t3") is config.technicians[3]
    assert index.site("nowhere") is None and index.device("nowhere") is None
    assert CountingList.reads == 6  # the expected values above, read by index


def test_a_copy_with_other_sites_gets_its_own_index() -> None:
    """model_copy(update=...) carries the original's private attributes: the index follows the new sites."""
    config = inventory(N)
    fewer = config.model_copy(update={"sites": config.sites[:10]})
    assert fewer.site("s00009") is not None
    assert fewer.site("s00042") is None
    assert config.site("s00042") is not None
    same = config.model_copy(update={"sites": list(config.sites)})
    assert same.index is not config.index
    assert same == config  # the index takes no part in equality
    assert fewer != config


async def test_rules_are_computed_only_for_what_changed() -> None:
    """A pass every 5 s over 60 s probes: only targets with a new result (or a reload) are evaluated again,
    and the findings are those of a full evaluation at the same instant."""
    config = inventory(N)
    state = filled_state(config)
    evaluator = RuleEvaluator(slice_size=50)
    total = len(state)

    first = await evaluator.evaluate(config, state, T0)
    assert evaluator.computed == total
    assert first == evaluate_rules(config, state, T0)

    again = await evaluator.evaluate(config, state, T0 + 5)
    assert evaluator.computed == total  # nothing new: nothing computed
    assert again == first

    changed = [e for e in state if e.target.role == "link" and not down(e.target.site, config)][:7]
    lost = {"loss_ratio": 1.0, "sent": 10.0}
    for entry in changed:
        state.record(entry.target, ProbeResult(False, 2.0, Reason.NO_REPLY, "no reply", values=lost, timestamp=T0 + 9))
    third = await evaluator.evaluate(config, state, T0 + 10)
    assert evaluator.computed == total + len(changed)
    assert third == evaluate_rules(config, state, T0 + 10)
    assert third != first

    reloaded = config.model_copy()  # a reload: another Config, perhaps other thresholds or rules
    await evaluator.evaluate(reloaded, state, T0 + 15)
    assert evaluator.computed == 2 * total + len(changed)


async def test_certificate_findings_follow_the_clock() -> None:
    """Days left on a certificate change with time alone, so such a target is evaluated on every pass."""
    config = inventory(20)
    state = filled_state(config)
    codec = next(e for e in state if e.target.role == "endpoint")
    expiry = {"tls_cert_expiry": T0 + 5 * 86400}
    state.record(codec.target, ProbeResult(True, 0.01, values=expiry, timestamp=T0))
    evaluator = RuleEvaluator()
    first = await evaluator.evaluate(config, state, T0)
    later = await evaluator.evaluate(config, state, T0 + 86400)
    ident = f"certificate_expiring/{codec.target.site}/{codec.target.name}"
    assert first.findings[ident].fields["value"] == pytest.approx(5.0)
    assert later.findings[ident].fields["value"] == pytest.approx(4.0)


async def test_a_pass_yields_to_the_loop() -> None:
    """A pass that must compute everything (the first, a reload) lets the loop run between slices."""
    config = inventory(N)
    state = filled_state(config)
    turns = 0
    running = True

    async def other() -> None:
        nonlocal turns
        while running:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await asyncio.sleep(0)
    await RuleEvaluator(slice_size=50).evaluate(config, state, T0)
    running = False
    await task
    assert turns >= len(state) // 50


async def test_scheduler_update_yields_and_counts_like_apply() -> None:
    """Starting or reloading thousands of targets gives the loop a turn every slice; the counts are apply()'s."""
    config = inventory(N)
    targets = targets_from_config(config)
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency=config.scheduler.concurrency)
    slow = [replace(t, interval=86400.0) for t in targets]  # nothing becomes due while the test runs
    running = asyncio.create_task(scheduler.run([]))
    await asyncio.sleep(0)
    turns = 0
    counting = True

    async def other() -> None:
        nonlocal turns
        while counting:
            turns += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(other())
    assert await scheduler.update(slow, slice_size=50) == (len(slow), 0, 0)
    changed = [replace(t, interval=86401.0) for t in slow[:100]] + slow[100:]
    assert await scheduler.update(changed, slice_size=50) == (100, 100, len(slow) - 100)
    counting = False
    await ticker
    assert turns >= 2 * len(slow) // 50
    assert {t.key: t for t in scheduler.targets} == {t.key: t for t in changed}
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
