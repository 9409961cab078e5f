"""The alert store on SQLite and a real PostgreSQL: the engine's Protocol, acknowledgements, windows, history."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from alerts.model import AlertRecord, MaintenanceWindow
from alerts.outbox import notification_from_json, notification_to_json
from alerts.store import SqlAlertStore, prune_alerts
from monitor.storage.database import Storage
from monitor.storage.tables import outbox
from tests.notifier_samples import ALERT_T0, HOA, TUAN, link_down_record, resolved, sample
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)

T0 = ALERT_T0
DAY = 86400.0


def link_down(**changes: object) -> AlertRecord:
    # Fired at a fraction of a second: the store must keep sub-second times as they are.
    return link_down_record(**{"fired_at": T0 + 60.5, **changes})


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlAlertStore]:
    storage = await Storage.open(database_url)
    try:
        yield SqlAlertStore(storage, clock=lambda: T0)
    finally:
        await storage.close()


async def outbox_keys(store: SqlAlertStore) -> list[tuple[str, str]]:
    async with store.storage.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.key, outbox.c.channel_id).order_by(outbox.c.id))).all()
    return [(row.key, row.channel_id) for row in rows]


async def test_commit_and_load_open_survive_a_reopen(database_url: str) -> None:
    """A restart resumes: what the engine committed is what load_open returns, field for field."""
    storage = await Storage.open(database_url)
    pending = link_down(id="loss/hub/link", rule="loss", site="hub", state="pending", fired_at=None, labels={})
    gone = link_down(id="rtt/hub/link", rule="rtt", site="hub", state="resolved", resolved_at=T0 + 5)
    await SqlAlertStore(storage).commit([link_down(), pending, gone], [])
    await storage.close()
    storage = await Storage.open(database_url)
    try:
        found = {r.id: r for r in await SqlAlertStore(storage).load_open()}
    finally:
        await storage.close()
    assert found == {link_down().id: link_down(), pending.id: pending}


async def test_a_transition_is_enqueued_once(store: SqlAlertStore) -> None:
    """Committing the same transition twice (an engine repeating a step) leaves one row per channel."""
    firing = sample()
    await store.commit([link_down()], [("hook", firing), ("am", firing)])
    await store.commit([link_down()], [("hook", firing), ("am", firing), ("hook", resolved(firing))])
    assert await outbox_keys(store) == [(firing.key, "hook"), (firing.key, "am"), (resolved(firing).key, "hook")]


async def test_commit_is_one_transaction(store: SqlAlertStore) -> None:
    """An outbox row that cannot be written rolls back the alert rows with it: never an alert without its message."""
    with pytest.raises(IntegrityError):  # channel_id is NOT NULL in both databases
        await store.commit([link_down()], [("hook", sample()), (None, sample(key="k2"))])  # type: ignore[list-item]
    assert await store.load_open() == []
    assert await outbox_keys(store) == []


async def test_notification_round_trips_through_the_payload(store: SqlAlertStore) -> None:
    """The serialised Notification comes back identical, Vietnamese text and aware times included."""
    original = resolved(sample(recipients=(TUAN, HOA)), ends_at=datetime(2024, 5, 6, 2, 0, tzinfo=UTC))
    await store.commit([], [("hook", original)])
    async with store.storage.engine.connect() as conn:
        payload = (await conn.execute(select(outbox.c.payload))).scalar_one()
    assert notification_from_json(payload) == original
    assert notification_from_json(notification_to_json(sample())) == sample()


async def test_acknowledge_open_alert_only(store: SqlAlertStore) -> None:
    """Ack works on an open alert, the first ack stands, unknown is None, a resolved alert is not acked."""
    await store.commit([link_down(), link_down(id="rtt/hub/link", state="resolved", resolved_at=T0 + 9)], [])
    acked = await store.acknowledge(link_down().id, "tuan", T0 + 100)
    assert acked is not None and (acked.acked_at, acked.acked_by) == (T0 + 100, "tuan")
    again = await store.acknowledge(link_down().id, "hoa", T0 + 200)
    assert again is not None and again.acked_by == "tuan"
    assert await store.acknowledge("no/such/alert", "tuan", T0) is None
    done = await store.acknowledge("rtt/hub/link", "tuan", T0)
    assert done is not None and done.state == "resolved" and done.acked_at is None
    assert await store.acknowledgements([link_down().id, "rtt/hub/link", "nope"]) == {
        link_down().id: (T0 + 100, "tuan")
    }


async def test_engine_commit_keeps_a_concurrent_ack(store: SqlAlertStore) -> None:
    """The engine's next commit (which read acks before the API wrote one) does not erase it; a new episode does."""
    await store.commit([link_down()], [])
    await store.acknowledge(link_down().id, "tuan", T0 + 100)
    await store.commit([link_down(last_notified_at=T0 + 120)], [])
    assert await store.acknowledgements([link_down().id]) == {link_down().id: (T0 + 100, "tuan")}
    await store.commit([link_down(started_at=T0 + 3600, fired_at=T0 + 3660)], [])
    assert await store.acknowledgements([link_down().id]) == {}


async def test_list_filters_and_history_keeps_every_episode(store: SqlAlertStore) -> None:
    """Resolved episodes stay countable after the alert fires again ("how often did Tân Thịnh drop?")."""
    for day in range(3):
        start = T0 + day * DAY
        await store.commit([link_down(started_at=start, fired_at=start + 60)], [])
        await store.commit(
            [link_down(started_at=start, fired_at=start + 60, state="resolved", resolved_at=start + 600)], []
        )
    await store.commit([link_down(id="loss/hub/link", site="hub", rule="loss")], [])
    assert [a.id for a in await store.list_alerts(state="firing")] == ["loss/hub/link"]
    assert [a.id for a in await store.list_alerts(site="tan-thinh")] == [link_down().id]
    assert len(await store.list_alerts()) == 2
    episodes = await store.history(site="tan-thinh")
    assert [e.started_at for e in episodes] == [T0 + 2 * DAY, T0 + DAY, T0]
    assert all(e.state == "resolved" and e.resolved_at == e.started_at + 600 for e in episodes)
    assert len(await store.history(site="tan-thinh", since=T0 + DAY)) == 2
    got = await store.get_alert(link_down().id)
    assert got is not None and got.state == "resolved"
    assert await store.get_alert("missing") is None


async def test_maintenance_windows_crud(store: SqlAlertStore) -> None:
    """Windows round-trip with their tuples; remove says whether there was one."""
    weekly = MaintenanceWindow(
        id="mw-1", title="Bảo trì tuyến cáp", start=T0, duration=7200, rrule="FREQ=WEEKLY;BYDAY=SU",
        sites=("tan-thinh",), targets=("link",), rules=("link_down", "loss"), source="cli", created_by="tuan",
    )  # fmt: skip
    once = MaintenanceWindow(id="mw-0", title="Thay UPS", start=T0 - DAY, duration=1800)
    await store.add_maintenance(weekly)
    await store.add_maintenance(once)
    assert await store.maintenance_windows() == [once, weekly]
    await store.add_maintenance(dataclasses.replace(weekly, title="Bảo trì định kỳ"))
    assert (await store.get_maintenance("mw-1")) == dataclasses.replace(weekly, title="Bảo trì định kỳ")
    assert await store.remove_maintenance("mw-0") is True
    assert await store.remove_maintenance("mw-0") is False
    assert [w.id for w in await store.maintenance_windows()] == ["mw-1"]


async def test_prune_keeps_open_alerts_and_recent_history(store: SqlAlertStore) -> None:
    """Retention drops old resolved alerts, episodes and finished outbox rows, never what an open alert needs."""
    old = link_down(id="rtt/hub/link", state="resolved", started_at=T0 - 500 * DAY, resolved_at=T0 - 499 * DAY)
    still_open = sample(alert_id=link_down().id)
    await store.commit(
        [old, link_down(started_at=T0 - 450 * DAY)], [("am", still_open), ("am", sample(key="k2", alert_id=old.id))]
    )
    async with store.storage.engine.begin() as conn:
        await conn.execute(outbox.update().values(state="delivered", created_at=T0 - 450 * DAY))
    deleted = await prune_alerts(store.storage, now=T0)
    assert deleted == 3  # the old resolved alert, its episode, its outbox row
    assert [a.id for a in await store.list_alerts()] == [link_down().id]
    assert await outbox_keys(store) == [(still_open.key, "am")]
