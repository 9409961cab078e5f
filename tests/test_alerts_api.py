"""/api/v1/alerts and /api/v1/maintenance as the service mounts them, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alerts.model import AlertRecord
from alerts.store import SqlAlertStore
from monitor.config.loader import load_config_text
from monitor.engine.state import State
from monitor.storage.database import Storage
from monitor.web.api_v1 import make_api_v1
from tests.notifier_samples import ALERT_T0, link_down_record
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)
from tests.test_api_v1 import AUTH, CONFIG_TEXT, ENV, TOKEN

pytestmark = pytest.mark.timeout(120)

T0 = ALERT_T0
LINK_DOWN = link_down_record()
OLD = AlertRecord(
    id="rtt/hub/link", rule="rtt", site="hub", target="link", severity="warning", state="resolved",
    started_at=T0 - 7200, fired_at=T0 - 7000, resolved_at=T0 - 3600,
)  # fmt: skip
WINDOW = {
    "title": "Bảo trì tuyến cáp quang",
    "start": "2099-12-07T22:00",
    "duration": "2h",
    "rrule": "FREQ=WEEKLY;BYDAY=SU",
    "sites": ["tan-thinh"],
    "rules": ["link_down"],
}


@dataclass
class Api:
    client: TestClient[web.Request, web.Application]
    store: SqlAlertStore


@pytest.fixture
async def api(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv(ENV, TOKEN)
    config = load_config_text(CONFIG_TEXT, "test.yml")
    storage = await Storage.open(database_url)
    store = SqlAlertStore(storage)
    await store.commit([LINK_DOWN, OLD], [])
    app = web.Application()
    app.add_subapp("/api/v1", make_api_v1(storage=storage, config=lambda: config, state=State()))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client, store)
    finally:
        await client.close()
        await storage.close()


async def test_list_alerts_by_state_and_site(api: Api) -> None:
    """Open alerts by default; state=all and site filters; Vietnamese summaries intact."""
    open_ = await (await api.client.get("/api/v1/alerts")).json()
    assert [a["id"] for a in open_] == [LINK_DOWN.id]
    assert open_[0]["summary"] == "Xã Tân Thịnh: mất kết nối"
    assert open_[0]["fired_at"] == "2026-12-07T01:01:00Z"
    every = await (await api.client.get("/api/v1/alerts", params={"state": "all"})).json()
    assert {a["id"] for a in every} == {LINK_DOWN.id, OLD.id}
    hub = await (await api.client.get("/api/v1/alerts", params={"state": "all", "site": "hub"})).json()
    assert [a["id"] for a in hub] == [OLD.id]
    bad = await api.client.get("/api/v1/alerts", params={"state": "burning"})
    assert bad.status == 400 and (await bad.json())["field"] == "state"


async def test_show_alert_with_slashes_in_its_id(api: Api) -> None:
    """Alert ids contain "/": the route takes them raw or percent-encoded; an unknown id is 404."""
    raw = await api.client.get(f"/api/v1/alerts/{LINK_DOWN.id}")
    assert raw.status == 200 and (await raw.json())["id"] == LINK_DOWN.id
    encoded = await api.client.get(f"/api/v1/alerts/{quote(LINK_DOWN.id, safe='')}")
    assert encoded.status == 200 and (await encoded.json())["id"] == LINK_DOWN.id
    missing = await api.client.get("/api/v1/alerts/link_down/nowhere/link")
    assert missing.status == 404 and (await missing.json())["field"] == "id"


async def test_ack_needs_the_token_and_works(api: Api) -> None:
    """401 without the token; with it the alert is acknowledged by the named technician; the engine sees it."""
    url = f"/api/v1/alerts/{LINK_DOWN.id}/ack"
    assert (await api.client.post(url, json={"by": "tuan"})).status == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await api.client.post(url, json={"by": "tuan"}, headers=wrong)).status == 401
    done = await api.client.post(url, json={"by": "tuan"}, headers=AUTH)
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["acked_by"] == "tuan" and body["acked_at"] is not None
    assert (await api.store.acknowledgements([LINK_DOWN.id]))[LINK_DOWN.id][1] == "tuan"


async def test_ack_errors(api: Api) -> None:
    """Unknown alert 404, resolved alert 409, a bad body 400 naming the field; no body acks as "api"."""
    assert (await api.client.post("/api/v1/alerts/x/y/z/ack", headers=AUTH)).status == 404
    assert (await api.client.post(f"/api/v1/alerts/{OLD.id}/ack", headers=AUTH)).status == 409
    bad = await api.client.post(f"/api/v1/alerts/{LINK_DOWN.id}/ack", json={"by": ""}, headers=AUTH)
    assert bad.status == 400 and (await bad.json())["field"] == "by"
    extra = await api.client.post(f"/api/v1/alerts/{LINK_DOWN.id}/ack", json={"who": "tuan"}, headers=AUTH)
    assert extra.status == 400 and (await extra.json())["field"] == "who"
    plain = await api.client.post(f"/api/v1/alerts/{LINK_DOWN.id}/ack", headers=AUTH)
    assert plain.status == 200 and (await plain.json())["acked_by"] == "api"


@pytest.mark.parametrize(
    ("escaped", "stored"), [("tu\\u0000an", "tu\ufffdan"), ("tu\\udfffan", "tu\ufffdan")], ids=["nul", "lone-surrogate"]
)
async def test_ack_name_with_unsafe_text_is_200_and_stored_cleaned(api: Api, escaped: str, stored: str) -> None:
    """An acknowledging name with a NUL or a lone surrogate is 200 on SQLite and PostgreSQL alike (issue 13)."""
    body = f'{{"by": "{escaped}"}}'.encode()
    headers = {**AUTH, "Content-Type": "application/json"}
    done = await api.client.post(f"/api/v1/alerts/{LINK_DOWN.id}/ack", data=body, headers=headers)
    assert done.status == 200, await done.text()
    assert (await api.store.acknowledgements([LINK_DOWN.id]))[LINK_DOWN.id][1] == stored


async def test_maintenance_crud(api: Api) -> None:
    """Add (201, start read in district time), list with the next occurrence, show, delete, then 404."""
    assert (await api.client.post("/api/v1/maintenance", json=WINDOW)).status == 401
    created = await api.client.post("/api/v1/maintenance", json=WINDOW, headers=AUTH)
    assert created.status == 201, await created.text()
    body = await created.json()
    assert body["start"] == "2099-12-07T15:00:00Z" and body["start_local"] == "2099-12-07T22:00:00+07:00"
    assert body["duration_seconds"] == 7200 and body["source"] == "api"
    assert body["next"] == "2099-12-13T15:00:00Z"  # the first Sunday at 22:00 district time (7 Dec 2099 is a Monday)
    listed = await (await api.client.get("/api/v1/maintenance")).json()
    assert [w["id"] for w in listed] == [body["id"]]
    shown = await api.client.get(f"/api/v1/maintenance/{body['id']}")
    assert (await shown.json())["title"] == "Bảo trì tuyến cáp quang"
    assert (await api.client.delete(f"/api/v1/maintenance/{body['id']}")).status == 401
    assert (await api.client.delete(f"/api/v1/maintenance/{body['id']}", headers=AUTH)).status == 200
    gone = await api.client.delete(f"/api/v1/maintenance/{body['id']}", headers=AUTH)
    assert gone.status == 404 and (await gone.json())["field"] == "id"
    assert (await api.client.get(f"/api/v1/maintenance/{body['id']}")).status == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sites": ["xa-khong-co"]}, "sites"),
        ({"start": "tối nay"}, "start"),
        ({"duration": "mãi mãi"}, "duration"),
        ({"rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"title": ""}, "title"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["unknown-site", "bad-start", "bad-duration", "bad-rrule", "bad-zone", "empty-title", "unknown-key"],
)
async def test_maintenance_bad_input_names_the_field(api: Api, change: dict[str, object], field: str) -> None:
    """Each bad input answers 400 with the field at fault, and stores nothing."""
    answer = await api.client.post("/api/v1/maintenance", json={**WINDOW, **change}, headers=AUTH)
    assert answer.status == 400
    assert (await answer.json())["field"] == field
    assert await api.store.maintenance_windows() == []
