"""Delivering from the local spool (alerts/spool_outbox.py) to a real webhook receiver on loopback.

The same rules as the centre's outbox: the oldest pending notification of an alert and channel first (a resolve
never overtakes its firing, even when the firing must be retried), RETRY with back-off, each sent once, and
nothing sent while the centre answers or while the agent is not allowed to deliver (a standby).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from alerts.outbox import OutboxStats
from alerts.spool_outbox import SpoolOutbox
from alerts.store import SqlAlertStore
from monitor.storage.database import Storage
from monitor.storage.spool import Spool
from probes.http import new_client_session
from tests.clock import wait_until
from tests.notifier_samples import resolved, sample
from tests.test_outbox import Receiver, notifier


@pytest.fixture(name="receiver")
async def receiver_fixture() -> AsyncIterator[Receiver]:
    peer = Receiver()
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture(name="http")
async def http_fixture() -> AsyncIterator[aiohttp.ClientSession]:
    session = new_client_session()
    try:
        yield session
    finally:
        await session.close()


@contextlib.asynccontextmanager
async def spooled_store(tmp_path: Path) -> AsyncIterator[tuple[SqlAlertStore, Spool]]:
    """An alert store whose centre is away: its commits go to the spool."""
    storage = await Storage.open(f"sqlite:///{tmp_path / 'centre.db'}")
    spool = await Spool.open(tmp_path / "spool.db")
    storage.spool = spool
    spool.cut_off("the centre is away (test)")
    try:
        yield SqlAlertStore(storage), spool
    finally:
        storage.spool = None
        await spool.close()
        await storage.close()


@contextlib.asynccontextmanager
async def delivering(outbox: SpoolOutbox) -> AsyncIterator[None]:
    task = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_delivered_from_the_spool_in_order_once(
    tmp_path: Path, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.start()
    receiver.mode["/hook"] = "500"  # the firing is refused at first: the resolve must wait behind it
    channels = {"hook": notifier("hook", "webhook", receiver.url())}
    firing = sample()
    async with spooled_store(tmp_path) as (store, spool):
        await store.commit([], [("hook", firing)])
        await store.commit([], [("hook", resolved(firing))])
        await store.commit([], [("hook", firing)])  # an engine repeating a step: enqueued once
        assert spool.counts["outbox"] == 2
        stats = OutboxStats()
        outbox = SpoolOutbox(spool, lambda: channels, http=http, stats=stats, timeout=0.5, poll_interval=0.05,
                             backoff=(0.05, 0.2))  # fmt: skip
        async with delivering(outbox):
            await wait_until(lambda: stats.results[("hook", "retry")] >= 2, timeout=20, what="two refused attempts")
            assert [event for _, _, event in receiver.requests] == ["firing"] * len(receiver.requests)
            receiver.mode["/hook"] = "ok"
            await wait_until(lambda: stats.results[("hook", "delivered")] == 2, timeout=20, what="both delivered")
        assert list(receiver.processed.values()) == [1, 1]
        events = [event for _, _, event in receiver.requests]
        assert events.index("resolved") > max(i for i, e in enumerate(events) if e == "firing")
        states = sorted((e.body["event"], e.state) for e in await spool.batch(10) if e.kind == "outbox")
        assert states == [("firing", "delivered"), ("resolved", "delivered")]


async def test_nothing_sent_when_not_allowed_or_once_the_centre_answers(
    tmp_path: Path, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.start()
    channels = {"hook": notifier("hook", "webhook", receiver.url())}
    async with spooled_store(tmp_path) as (store, spool):
        await store.commit([], [("hook", sample())])
        allowed = False
        stats = OutboxStats()
        outbox = SpoolOutbox(spool, lambda: channels, http=http, stats=stats, poll_interval=0.05,
                             allowed=lambda: allowed)  # fmt: skip
        async with delivering(outbox):
            spool.reconnected()  # the centre answers: its own outbox takes the notifications over
            allowed = True
            outbox.wake()
            await asyncio.sleep(0.3)  # several polls
            assert receiver.requests == []
            spool.cut_off("away again")
            outbox.wake()
            await wait_until(lambda: stats.results[("hook", "delivered")] == 1, timeout=20, what="delivered")
        assert len(receiver.requests) == 1
