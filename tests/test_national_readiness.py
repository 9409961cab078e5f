"""A national conference's readiness (issue 17): provinces in a meeting's sites, every agent's reports joined.

The national inventory is `giaoban init --national`'s (3,321 units). Each "agent" here is a ReadinessEngine that
owns some provinces and stores its reports under its name in the one database (SQLite and PostgreSQL); the
answer (API, CLI, board) joins them: grouped by province, failing first, a site nobody reported on UNKNOWN.
The agents as separate processes probing on loopback are tests/test_national_lab.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from monitor.cli.init import _Addresses, national_inventory
from monitor.cli.readiness import render_report
from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.readiness.engine import ReadinessEngine, participants
from monitor.readiness.joined import JoinedReports, joined_for, joined_report
from monitor.readiness.meetings import Meeting, Occurrence
from monitor.readiness.participants import group_of, meeting_site_ids
from monitor.readiness.report import UNKNOWN
from monitor.storage import database
from monitor.storage.database import SiteVerdict, Storage
from monitor.web.board import BoardData, MeetingView, render
from probes.context import probe_context
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)

START = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội
LANG_SON, CAO_BANG, HA_NOI = "tinh-lang-son", "tinh-cao-bang", "thanh-pho-ha-noi"


@cache
def nation() -> Config:
    """The national skeleton with loopback addresses, as `giaoban init --national --addresses test` writes it."""
    return load_config_text(national_inventory(_Addresses(test=True)), "national.yml")


def _meeting(sites: str | tuple[str, ...]) -> Meeting:
    return Meeting(
        id="hoi-nghi-toan-quoc",
        title="Hội nghị trực tuyến toàn quốc",
        start=START,
        duration=7200.0,
        timezone="Asia/Ho_Chi_Minh",
        sites=sites,  # type: ignore[arg-type]
        call_rate=2_048_000,
    )


def _units(config: Config, province: str) -> list[str]:
    return [s.id for s in config.sites if s.parent == province]


def test_the_national_inventory_has_every_unit() -> None:
    config = nation()
    roles = [s.role for s in config.sites]
    assert (roles.count("central"), roles.count("province")) == (1, 34)
    assert sum(1 for r in roles if r in ("commune", "ward", "special_zone")) == 3321
    assert all(config.site(s.parent) is not None for s in config.sites if s.parent)
    assert {LANG_SON, CAO_BANG, HA_NOI} <= {s.id for s in config.sites if s.role == "province"}


def test_a_province_in_a_meetings_sites_stands_for_its_subtree() -> None:
    config = nation()
    chosen = meeting_site_ids(config, [LANG_SON, CAO_BANG])
    assert set(chosen) == {LANG_SON, CAO_BANG, *_units(config, LANG_SON), *_units(config, CAO_BANG)}
    assert len(meeting_site_ids(config, "all")) == 3321 + 35
    assert len(meeting_site_ids(config, ["trung-uong"])) == 3321 + 35  # the central site: the whole nation
    one = _units(config, LANG_SON)[0]
    assert meeting_site_ids(config, [one]) == [one]  # a commune is only itself
    assert [s.id for s in participants(config, [LANG_SON, "no-such-site"])] == [LANG_SON, *_units(config, LANG_SON)]
    groups = group_of(config, [LANG_SON, one, "trung-uong"])
    assert groups == {LANG_SON: LANG_SON, one: LANG_SON, "trung-uong": "trung-uong"}


def test_a_plain_hub_without_a_role_stays_itself() -> None:
    """Meetings of province inventories that list the hub (role commune by default) keep their meaning."""
    config = load_config_text(
        "organisation: {name: x}\nsites: [{id: hub, name: Hub}, {id: a, name: A, parent: hub}]\n", "x.yml"
    )
    assert meeting_site_ids(config, ["hub"]) == ["hub"]


def _verdicts(site_ids: list[str], verdict: str = "READY") -> list[SiteVerdict]:
    reasons = () if verdict == "READY" else ({"code": "link_down", "severity": "hard", "message": "m", "action": "a"},)
    return [SiteVerdict(ident, verdict, reasons) for ident in site_ids]


async def test_the_answer_joins_every_agents_reports(database_url: str) -> None:
    """Two agents, each its provinces; the third province nobody owns is UNKNOWN; provinces failing first."""
    config = nation()
    meeting = _meeting((LANG_SON, CAO_BANG, HA_NOI))
    lang_son, cao_bang, ha_noi = (_units(config, p) for p in (LANG_SON, CAO_BANG, HA_NOI))
    storage = await Storage.open(database_url)
    try:
        assert await joined_report(storage, config, meeting, START) is None  # nobody reported yet
        at = START - timedelta(minutes=60)
        await storage.insert_report(meeting.id, START, 3600, _verdicts([LANG_SON, *lang_son]), agent="a", created_at=at)
        await storage.insert_report(meeting.id, START, 3600, _verdicts([CAO_BANG, *cao_bang]), agent="b", created_at=at)
        # Thirty minutes later agent b finds one commune down; agent a has not checked again yet.
        later = START - timedelta(minutes=30)
        await storage.insert_report(
            meeting.id, START, 1800, _verdicts(cao_bang[:1], "NOT_READY"), agent="b", created_at=later
        )
        report = await joined_report(storage, config, meeting, START)
        assert report is not None
        verdicts = {s.site_id: s.verdict for s in report.sites}
        assert len(verdicts) == 3 + len(lang_son) + len(cao_bang) + len(ha_noi)
        assert verdicts[cao_bang[0]] == "NOT_READY" and verdicts[cao_bang[1]] == "READY"
        assert {verdicts[s] for s in [HA_NOI, *ha_noi]} == {UNKNOWN}
        assert report.ready == 2 + len(lang_son) + len(cao_bang) - 1  # UNKNOWN is never ready
        assert [g.id for g in report.groups] == [CAO_BANG, HA_NOI, LANG_SON]  # not ready, unknown, ready
        counts = {g.id: (g.ready, g.degraded, g.not_ready, g.unknown) for g in report.groups}
        assert counts[CAO_BANG] == (len(cao_bang), 0, 1, 0)
        assert counts[HA_NOI] == (0, 0, 0, len(ha_noi) + 1)
        assert report.sites[0].site_id == cao_bang[0]  # grouped, worst first
        assert report.sources[cao_bang[0]].agent == "b" and report.sources[LANG_SON].agent == "a"
        body = report.to_json()
        assert (body["sites_unknown"], body["sites_not_ready"]) == (len(ha_noi) + 1, 1)
        assert body["provinces"][0] == {
            "province": CAO_BANG,
            "name": config.site(CAO_BANG).name,  # type: ignore[union-attr]
            "total": len(cao_bang) + 1,
            "ready": len(cao_bang),
            "degraded": 0,
            "not_ready": 1,
            "unknown": 0,
        }
        unknown = next(s for s in body["sites"] if s["verdict"] == UNKNOWN)
        assert unknown["reasons"][0]["code"] == "no_report" and "máy giám sát" in unknown["reasons"][0]["message"]
        # Each agent's done checks are its own: b has T-60 and T-30, a only T-60.
        assert sorted(await storage.lead_times(meeting.id, START, agent="a")) == [3600.0]
        assert sorted(await storage.lead_times(meeting.id, START, agent="b")) == [1800.0, 3600.0]
        # The engine's cache answers again without a rebuild until a newer report arrives.
        joined = JoinedReports(storage)
        first = await joined.latest(config, meeting, START)
        assert await joined.latest(config, meeting, START) is first
        await storage.insert_report(meeting.id, START, 600, _verdicts(ha_noi[:1]), agent="c")
        newer = await joined.latest(config, meeting, START)
        assert newer is not first and newer is not None and len(newer.unknown) == len(ha_noi)
    finally:
        await storage.close()


async def test_concurrent_askers_share_one_join_fetched_in_bounded_batches(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Board and API requests at once for a national conference: one join between them, its rows fetched a
    bounded batch at a time (the loop runs between batches); a newer report from any agent makes a new join."""
    config = nation()
    meeting = _meeting((LANG_SON, CAO_BANG))
    lang_son, cao_bang = _units(config, LANG_SON), _units(config, CAO_BANG)
    batches: list[int] = []
    decode = database._latest_verdicts
    monkeypatch.setattr(database, "VERDICT_BATCH", 7)
    monkeypatch.setattr(database, "_latest_verdicts", lambda rows: batches.append(len(rows)) or decode(rows))
    storage = await Storage.open(database_url)
    try:
        await storage.insert_report(meeting.id, START, 3600, _verdicts([LANG_SON, *lang_son]), agent="a")
        await storage.insert_report(meeting.id, START, 3600, _verdicts([CAO_BANG, *cao_bang]), agent="b")
        answers = await asyncio.gather(*(joined_report(storage, config, meeting, START) for _ in range(6)))
        assert answers[0] is not None and all(answer is answers[0] for answer in answers)
        assert joined_for(storage).builds == 1
        assert sum(batches) == 2 + len(lang_son) + len(cao_bang) and max(batches) <= 7 and len(batches) > 1
        assert answers[0].ready == 2 + len(lang_son) + len(cao_bang)
        assert await joined_report(storage, config, meeting, START) is answers[0]  # nothing new: no join
        await storage.insert_report(meeting.id, START, 1800, _verdicts(cao_bang[:1], "NOT_READY"), agent="b")
        newer = await joined_report(storage, config, meeting, START)
        assert newer is not None and newer.not_ready == (cao_bang[0],) and joined_for(storage).builds == 2
    finally:
        await storage.close()


async def test_an_agent_checks_only_what_it_owns(database_url: str) -> None:
    """An engine owning one province checks and stores only that province's participants, under its name."""
    config = nation().model_copy(
        update={"readiness": nation().readiness.model_copy(update={"site_timeout": 10.0, "icmp_count": 2})}
    )
    meeting = _meeting((LANG_SON, CAO_BANG))
    storage = await Storage.open(database_url)
    owned = {LANG_SON, *_units(config, LANG_SON)}
    try:
        async with probe_context() as ctx:
            engine = ReadinessEngine(
                config=lambda: config, storage=storage, ctx=ctx, agent="lang-son-1", owns=owned.__contains__
            )
            # No ICMP permission is needed to prove the ownership: the links are probed or "unchecked" alike.
            report = await engine.check_sites(
                meeting.sites,
                call_rate=meeting.call_rate,
                duration=meeting.duration,
                meeting_id=meeting.id,
                occurrence_start=START,
                lead_time=3600,
            )
        assert {s.site_id for s in report.sites} == owned
        (stored,) = await storage.reports(meeting.id, occurrence_start=START)
        assert stored.agent == "lang-son-1" and {r.site_id for r in stored.results} == owned
        joined = await joined_report(storage, config, meeting, START)
        assert joined is not None
        assert {s.verdict for s in joined.sites if s.site_id not in owned} == {UNKNOWN}
        assert len(joined.sites) == len(owned) + 1 + len(_units(config, CAO_BANG))
    finally:
        await storage.close()


async def test_the_cli_and_the_board_show_provinces_failing_first(tmp_path: object) -> None:
    """3,321 communes in the terminal and on the board: counts per province, the failing ones first."""
    config = nation()
    meeting = _meeting("all")
    storage = await Storage.open(f"sqlite:///{tmp_path}/g.db")
    try:
        lang_son = _units(config, LANG_SON)
        await storage.insert_report(meeting.id, START, 600, _verdicts([LANG_SON, *lang_son]), agent="a")
        await storage.insert_report(meeting.id, START, 600, _verdicts(lang_son[:2], "NOT_READY"), agent="a")
        report = await joined_report(storage, config, meeting, START)
    finally:
        await storage.close()
    assert report is not None and len(report.sites) == 3321 + 35
    text = render_report(report, config)
    lines = text.splitlines()
    name = config.site(LANG_SON).name  # type: ignore[union-attr]
    assert lines[1].startswith(f"  {name}: {len(lang_son) - 1}/{len(lang_son) + 1} sẵn sàng, 0 suy giảm, 2 chưa")
    assert "Chưa sẵn sàng" in lines[2]
    assert "chưa rõ" in lines[-1] and str(3321 + 35 - len(lang_son) - 1) in lines[-1]
    assert len(lines) < 3321 + 35 + 200  # ready communes are counted, not listed
    occurrence = Occurrence(meeting, START, START + timedelta(hours=2))
    data = BoardData(config, START - timedelta(minutes=10), [MeetingView(occurrence, report, 3356, None)], [], [])
    words = {
        "vi": ("Tỉnh, thành phố", "Chưa rõ", "chưa có máy giám sát"),
        "en": ("Province", "Unknown", "no monitoring agent"),
    }
    for lang in ("vi", "en"):
        page = await asyncio.to_thread(render, data, lang=lang, refresh=30)  # type: ignore[arg-type]
        assert all(word in page for word in words[lang]), lang
        rows = page.split('<table class="provinces">', 1)[1].split("</table>", 1)[0]
        assert rows.index(f"{name}</th>") < rows.index(f"{config.site(HA_NOI).name}</th>")  # type: ignore[union-attr]
