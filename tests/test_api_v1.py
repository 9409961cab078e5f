"""/api/v1 mounted as the service mounts it, on SQLite and PostgreSQL: auth, validation, 404s, injection."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.readiness.meetings import sync_config_meetings
from monitor.storage.database import Storage
from monitor.storage.history import HistoryWriter
from monitor.storage.tables import meetings, sites
from monitor.web.api_attendance import AttendanceOut
from monitor.web.api_v1 import make_api_v1, openapi_document
from probes.core.result import ProbeResult, Reason
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)
from tests.test_meetings import WEEKLY_ICS

pytestmark = pytest.mark.timeout(120)

TOKEN = "kiểm-thử-token-7f3a"  # non-ASCII on purpose: compared as UTF-8 bytes
ENV = "GIAOBAN_TEST_API_TOKEN"
CONFIG_TEXT = f"""\
district: {{name: "Huyện Định Hoá", timezone: Asia/Ho_Chi_Minh}}
api: {{token: {{env: {ENV}}}}}
sites:
  - {{id: hub, name: "UBND huyện", role: district, link: {{address: 192.0.2.1}}}}
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    code: "05548"
    parent: hub
    link: {{address: 192.0.2.2}}
    endpoints: [{{id: vc, kind: tcp, address: 192.0.2.20, port: 5060}}]
"""
AUTH = {"Authorization": f"Bearer {TOKEN}".encode().decode("latin-1")}


@dataclass
class Api:
    client: TestClient[web.Request, web.Application]
    storage: Storage
    state: State
    config: Config


@pytest.fixture
async def api(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv(ENV, TOKEN)
    config = load_config_text(CONFIG_TEXT, "test.yml")
    storage = await Storage.open(database_url)
    await storage.sync_inventory(config)
    state = State()
    for target in targets_from_config(config):
        state.track(target)
    app = web.Application()
    app.add_subapp("/api/v1", make_api_v1(storage=storage, config=lambda: config, state=state))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client, storage, state, config)
    finally:
        await client.close()
        await storage.close()


GOOD = {"title": "Giao ban thứ Hai", "start": "2026-12-07T07:30", "duration": "2h", "rrule": "FREQ=WEEKLY;BYDAY=MO"}


async def test_create_show_list_delete(api: Api) -> None:
    """The whole life of a meeting through the API, with times shown in UTC and in district time."""
    created = await api.client.post("/api/v1/meetings", json={**GOOD, "sites": ["hub"]}, headers=AUTH)
    assert created.status == 201, await created.text()
    body = await created.json()
    assert body["start"] == "2026-12-07T00:30:00Z"
    assert body["start_local"] == "2026-12-07T07:30:00+07:00"
    assert body["sites"] == ["hub"] and body["source"] == "api"
    shown = await api.client.get(f"/api/v1/meetings/{body['id']}")
    assert shown.status == 200 and (await shown.json())["title"] == "Giao ban thứ Hai"
    listed = await (await api.client.get("/api/v1/meetings")).json()
    assert [m["id"] for m in listed] == [body["id"]]
    deleted = await api.client.delete(f"/api/v1/meetings/{body['id']}", headers=AUTH)
    assert deleted.status == 200
    assert (await api.client.get(f"/api/v1/meetings/{body['id']}")).status == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + TOKEN.encode().decode("latin-1")},
     {"Authorization": "Bearer"}],
    ids=["none", "wrong", "basic-scheme", "empty"],
)  # fmt: skip
async def test_writes_without_the_token_are_refused(api: Api, headers: dict[str, str]) -> None:
    """POST and DELETE need the bearer token; nothing is written without it."""
    assert (await api.client.post("/api/v1/meetings", json=GOOD, headers=headers)).status == 401
    made = await api.client.post("/api/v1/meetings", json=GOOD, headers=AUTH)
    meeting_id = (await made.json())["id"]
    assert (await api.client.delete(f"/api/v1/meetings/{meeting_id}", headers=headers)).status == 401
    assert await api.storage.count(meetings) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "title": ""}, "title"),
        ({k: v for k, v in GOOD.items() if k != "start"}, "start"),
        ({**GOOD, "start": "thứ Hai tới"}, "start"),
        ({**GOOD, "duration": "mãi mãi"}, "duration"),
        ({**GOOD, "sites": ["hub", "xa-khong-co"]}, "sites"),
        ({**GOOD, "sites": "some"}, "sites"),
        ({**GOOD, "call_rate": "fast"}, "call_rate"),
        ({**GOOD, "rrule": "FREQ=NEVER"}, "rrule"),
        ({**GOOD, "colour": "red"}, "colour"),
        ({**GOOD, "lead_times": "10m"}, "lead_times"),
    ],
    ids=["empty-title", "no-start", "bad-start", "bad-duration", "unknown-site", "bad-sites", "bad-rate",
         "bad-rrule", "unknown-key", "lead-not-list"],
)  # fmt: skip
async def test_bad_fields_answer_400_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    """Each bad field is named in the JSON error, so a client can show it next to the input."""
    answer = await api.client.post("/api/v1/meetings", json=body, headers=AUTH)
    assert answer.status == 400
    error = await answer.json()
    assert error["field"] == field, error
    assert error["error"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe", b'["a", "list"]', b""],
    ids=["broken", "not-utf8", "not-an-object", "empty"],
)
async def test_bad_json_is_400(api: Api, raw: bytes) -> None:
    """A body that is not a JSON object is refused with a JSON error, not a traceback."""
    answer = await api.client.post("/api/v1/meetings", data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status == 400
    assert "error" in await answer.json()


@pytest.mark.parametrize(
    ("escaped", "stored"),
    [("Giao ban \\u0000 thứ Hai", "Giao ban \ufffd thứ Hai"), ("Giao ban \\ud800 thứ Hai", "Giao ban \ufffd thứ Hai")],
    ids=["nul", "lone-surrogate"],
)
async def test_unsafe_text_in_a_title_is_201_and_stored_cleaned(api: Api, escaped: str, stored: str) -> None:
    """A title with a NUL or a lone surrogate is 201 on SQLite and PostgreSQL alike, stored with U+FFFD (issue 13)."""
    body = f'{{"title": "{escaped}", "start": "2026-12-07T07:30", "duration": "2h"}}'.encode()
    made = await api.client.post("/api/v1/meetings", data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert made.status == 201, await made.text()
    shown = await api.client.get(f"/api/v1/meetings/{(await made.json())['id']}")
    assert shown.status == 200 and (await shown.json())["title"] == stored
    assert (await api.client.get("/api/v1/meetings/a%00b")).status == 404  # a lookup by such an id is no 500


@pytest.mark.parametrize(
    "path",
    ["/api/v1/meetings/khong-co", "/api/v1/sites/khong-co/history", "/api/v1/nothing-here"],
    ids=["meeting", "site-history", "route"],
)
async def test_unknown_ids_are_404(api: Api, path: str) -> None:
    """An id that does not exist answers 404 with a JSON error."""
    answer = await api.client.get(path)
    assert answer.status == 404
    assert "error" in await answer.json()


async def test_delete_unknown_meeting_is_404(api: Api) -> None:
    """Deleting what does not exist says so (with a valid token, so 404 is not hiding a 401)."""
    assert (await api.client.delete("/api/v1/meetings/khong-co", headers=AUTH)).status == 404


@pytest.mark.parametrize(
    "evil",
    ["hub' OR '1'='1", "x'; DROP TABLE meetings; --", "1 UNION SELECT id FROM sites", "%27%3B--"],
    ids=["or-true", "drop", "union", "encoded"],
)
async def test_injection_in_parameters_is_inert(api: Api, evil: str) -> None:
    """Ids and query values are data: the answer is 404/400 and every table is intact."""
    made = await api.client.post("/api/v1/meetings", json=GOOD, headers=AUTH)
    assert made.status == 201
    for path in (f"/api/v1/meetings/{evil}", f"/api/v1/sites/{evil}/history"):
        assert (await api.client.get(path)).status == 404
    assert (await api.client.delete(f"/api/v1/meetings/{evil}", headers=AUTH)).status == 404
    answer = await api.client.get("/api/v1/sites/hub/history", params={"since": evil, "step": evil})
    assert answer.status == 400
    assert await api.storage.count(meetings) == 1
    assert await api.storage.count(sites) == 2


async def test_status_and_history(api: Api) -> None:
    """Status comes from the live state; history from the database, per target of the site."""
    link = next(t for t in targets_from_config(api.config) if t.key == "tan-thinh/link")
    now = datetime.now(UTC).timestamp()
    down = ProbeResult.failure(Reason.NO_REPLY, "no reply from 192.0.2.2", duration=2.0, timestamp=now - 30)
    up = ProbeResult(success=True, duration=0.2, values={"rtt_avg": 0.021, "loss_ratio": 0.0}, timestamp=now - 90)
    api.state.record(link, down)
    writer = HistoryWriter(api.storage)
    writer.offer(link, up)
    writer.offer(link, down)
    await writer.flush()

    status = {s["site"]: s for s in await (await api.client.get("/api/v1/status")).json()}
    assert status["tan-thinh"]["up"] is False
    assert status["hub"]["up"] is None  # nothing has run there yet
    [tcp] = [t for t in status["tan-thinh"]["targets"] if t["kind"] == "tcp"]
    assert tcp["success"] is None

    answer = await api.client.get("/api/v1/sites/tan-thinh/history", params={"since": "1h", "step": "1h"})
    assert answer.status == 200
    body = await answer.json()
    assert sum(p["samples"] for p in body["points"]) == 2
    assert {p["target"] for p in body["points"]} == {"tan-thinh/link"}


async def test_sites_never_show_secrets(api: Api) -> None:
    """The token is not in any answer, including the OpenAPI document."""
    for path in ("/api/v1/sites", "/api/v1/status", "/api/v1/meetings", "/api/v1/openapi.json"):
        text = await (await api.client.get(path)).text()
        assert TOKEN not in text and ENV not in text
    names = [s["id"] for s in await (await api.client.get("/api/v1/sites")).json()]
    assert names == ["hub", "tan-thinh"]


async def test_sites_show_their_official_code(api: Api) -> None:
    """/api/v1/sites gives each site's unit code (null without one), next to its role and parent."""
    listed = await (await api.client.get("/api/v1/sites")).json()
    assert [(s["id"], s["role"], s["code"], s["parent"]) for s in listed] == [
        ("hub", "district", None, None),
        ("tan-thinh", "commune", "05548", "hub"),
    ]


async def test_ics_import_answers_its_report(api: Api) -> None:
    """POST /meetings/import stores the occurrences and answers the report the CLI prints (issue 15)."""
    holiday = b"BEGIN:VEVENT\r\nUID:tet@x\r\nSUMMARY:Tet\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n"
    body = WEEKLY_ICS.replace(b"END:VCALENDAR", holiday + b"END:VCALENDAR")
    url = "/api/v1/meetings/import?sites=hub&from=2026-12-01&to=2027-01-10"
    headers = {**AUTH, "Content-Type": "text/calendar"}
    assert (await api.client.post(url, data=body)).status == 401
    answer = await api.client.post(url, data=body, headers=headers)
    assert answer.status == 200, await answer.text()
    report = await answer.json()
    assert (report["events"], report["occurrences"], len(report["added"])) == (3, 5, 5)
    assert report["skipped_by_reason"] == {"all_day": 1}
    assert report["skipped"] == [
        {"reason": "all_day", "event": "event 3 (Tet)", "number": 3, "summary": "Tet", "uid": "tet@x"}
    ]
    assert report["window_start"] == "2026-11-30T17:00:00Z"
    assert await api.storage.count(meetings) == 5
    again = await (await api.client.post(url, data=body, headers=headers)).json()
    assert (again["added"], len(again["unchanged"])) == ([], 5)
    refused = await api.client.post(url, data=b"not a calendar", headers=headers)
    assert refused.status == 400 and (await refused.json())["field"] == "file"
    bad_site = await api.client.post(url.replace("sites=hub", "sites=khong-co"), data=body, headers=headers)
    assert bad_site.status == 400 and (await bad_site.json())["field"] == "sites"


async def test_config_meetings_cannot_be_deleted_through_the_api(api: Api) -> None:
    """A meeting from the config would come back at the next reload: deleting it is refused with 409."""

    @dataclass(frozen=True)
    class Static:
        id: str = "giao-ban-thu-hai"
        title: str = "Giao ban"
        start: datetime = datetime(2026, 12, 7, 7, 30)
        duration: float = 7200
        timezone: str | None = None
        rrule: str | None = None
        exdates: tuple[datetime, ...] = ()
        sites: str = "all"
        call_rate: int = 2_048_000
        lead_times: tuple[float, ...] | None = None

    await sync_config_meetings(api.storage, api.config, [Static()])
    assert (await api.client.delete("/api/v1/meetings/giao-ban-thu-hai", headers=AUTH)).status == 409


def test_openapi_describes_every_route() -> None:
    """The document is OpenAPI 3.1 and lists each route and method the sub-application serves."""
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    served = {
        "/sites": {"get"},
        "/status": {"get"},
        "/status/agent": {"get"},
        "/sites/{id}/history": {"get"},
        "/meetings": {"get", "post"},
        "/meetings/{id}": {"get", "delete"},
        "/meetings/import": {"post"},
        "/alerts": {"get"},
        "/alerts/{id}": {"get"},
        "/alerts/{id}/ack": {"post"},
        "/maintenance": {"get", "post"},
        "/maintenance/{id}": {"get", "delete"},
        "/meetings/{id}/attendance": {"get"},
        "/report": {"get"},
        "/openapi.json": {"get"},
    }
    assert {path: set(ops) for path, ops in document["paths"].items()} == served
    assert "MeetingIn" in document["components"]["schemas"]
    refs = _refs(document)
    assert refs <= {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}


async def test_openapi_lists_every_route_the_api_serves(api: Api) -> None:
    """Read from the router itself, so a route added without its OpenAPI entry fails here (the readiness routes
    are served only with a readiness engine, which this app has not)."""
    app = make_api_v1(storage=api.storage, config=lambda: api.config, state=api.state)
    served: set[tuple[str, str]] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", str(info.get("path") or info.get("formatter")))
        if route.method != "HEAD":
            served.add((path, route.method.lower()))
    documented = {(path, op) for path, ops in openapi_document()["paths"].items() for op in ops}
    assert ("/meetings/{id}/attendance", "get") in served
    assert served - documented == set()


async def test_attendance_answer_matches_its_openapi_schema(api: Api) -> None:
    """The documented schema is the one the route answers with (extra fields are refused, so drift fails)."""
    await api.client.post("/api/v1/meetings", json=GOOD, headers=AUTH)
    (meeting,) = await (await api.client.get("/api/v1/meetings")).json()
    answer = await api.client.get(f"/api/v1/meetings/{meeting['id']}/attendance")
    assert answer.status == 200
    document = AttendanceOut.model_validate(await answer.json())
    assert document.meeting == meeting["id"] and document.sites == [] and document.running is False
    schemas = openapi_document()["components"]["schemas"]
    assert {"AttendanceOut", "AttendanceSiteOut", "MediaOut", "AttendanceEventOut"} <= set(schemas)
    assert schemas["AttendanceSiteOut"]["additionalProperties"] is False


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()
