"""The Alertmanager channel against a real Alertmanager (Debian's prometheus-alertmanager 0.25)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from alerts.notifiers import NOTIFIERS, alertmanager
from alerts.notifiers.base import Outcome
from tests.alertmanager_lab import DEFAULT_CONFIG, WEBHOOK_URL, AlertmanagerLab, alertmanager_lab, amtool_check_config
from tests.notifier_samples import SUBJECT_VI, TEXT_VI, notifier_context, resolved, sample
from tests.peers import free_port


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[AlertmanagerLab]:
    async with alertmanager_lab(tmp_path) as running:
        yield running


def settings(lab: AlertmanagerLab) -> alertmanager.AlertmanagerSettings:
    return alertmanager.AlertmanagerSettings(url=lab.url + "/")  # a trailing slash must not double up


async def test_firing_then_resolved_reach_the_receiver(lab: AlertmanagerLab) -> None:
    """Alertmanager routes and inhibits on labels: they must arrive intact, and the resolve must close the alert."""
    firing = sample()
    async with notifier_context() as ctx:
        delivery = await alertmanager.send(firing, settings(lab), ctx=ctx)
        assert delivery.outcome is Outcome.DELIVERED, delivery.detail
        alert = await lab.sink.wait_for_alert("firing", site="tan-thinh")
        assert alert["labels"] == dict(firing.labels)
        assert alert["annotations"] == {"summary": SUBJECT_VI, "description": TEXT_VI, "url": firing.url}
        assert alert["startsAt"].startswith("2024-05-06T01:02:03")
        assert alert["generatorURL"] == firing.url

        delivery = await alertmanager.send(resolved(firing), settings(lab), ctx=ctx)
        assert delivery.outcome is Outcome.DELIVERED, delivery.detail
        done = await lab.sink.wait_for_alert("resolved", site="tan-thinh")
    assert done["labels"]["alertname"] == "GiaobanLinkDown"
    assert not done["endsAt"].startswith("0001")


async def test_reminder_is_the_same_alert(lab: AlertmanagerLab) -> None:
    """A re-push while firing must update the one alert (same labels), not open a second one."""
    firing = sample()
    reminder = dataclasses.replace(firing, key=firing.key.replace(":firing", ":reminder"), event="reminder")
    async with notifier_context() as ctx:
        for notification in (firing, reminder):
            delivery = await alertmanager.send(notification, settings(lab), ctx=ctx)
            assert delivery.outcome is Outcome.DELIVERED, delivery.detail
        async with ctx.http.get(f"{lab.url}/api/v2/alerts") as response:
            active = await response.json()
    assert [a["labels"]["site"] for a in active] == ["tan-thinh"]


async def test_an_alert_alertmanager_refuses_is_rejected(lab: AlertmanagerLab) -> None:
    """Alertmanager answers 400 to an alert it cannot take (a label name it forbids): retrying cannot help."""
    bad = sample(labels={**sample().labels, "not a label name": "x"})
    async with notifier_context() as ctx:
        delivery = await alertmanager.send(bad, settings(lab), ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "400" in delivery.detail and "not a label name" in delivery.detail  # Alertmanager's reason is quoted


def test_alertmanager_is_re_pushed_while_firing() -> None:
    """Alertmanager forgets an alert not re-sent within resolve_timeout; the engine must know to re-push it."""
    assert NOTIFIERS["alertmanager"].resend_while_firing
    assert not any(kind.resend_while_firing for name, kind in NOTIFIERS.items() if name != "alertmanager")


def test_firing_alert_has_no_end() -> None:
    """A firing alert without endsAt stays active while re-pushed; a guessed end would resolve it by mistake."""
    (firing,) = alertmanager.alert_body(sample())
    assert "endsAt" not in firing
    (done,) = alertmanager.alert_body(resolved(sample()))
    assert str(done["endsAt"]).endswith("Z")


def test_lab_config_passes_amtool(tmp_path: Path) -> None:
    """The lab's own config is one Alertmanager accepts (amtool check-config), so a failure is never the lab's."""
    config = tmp_path / "am.yml"
    config.write_text(DEFAULT_CONFIG.replace(WEBHOOK_URL, "http://127.0.0.1:9/hook"), encoding="utf-8")
    result = amtool_check_config(config)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_bearer_token_is_sent_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in front of Alertmanager checks the bearer token; its refusal must not leak the token into details."""
    monkeypatch.setenv("GIAOBAN_TEST_AM_TOKEN", "tok-3f9a")
    seen: list[str] = []

    async def alerts(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(status=401, text="bad token tok-3f9a")

    app = web.Application()
    app.router.add_post("/prefix/api/v2/alerts", alerts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = alertmanager.AlertmanagerSettings.model_validate(
        {"url": f"http://127.0.0.1:{port}/prefix", "bearer_token": {"env": "GIAOBAN_TEST_AM_TOKEN"}}
    )
    try:
        async with notifier_context() as ctx:
            delivery = await alertmanager.send(sample(), config, ctx=ctx)
    finally:
        await runner.cleanup()
    assert seen == ["Bearer tok-3f9a"]
    assert delivery.outcome is Outcome.REJECTED and "401" in delivery.detail
    assert "tok-3f9a" not in delivery.detail


async def test_every_member_of_a_cluster_gets_the_alert(tmp_path: Path) -> None:
    """Alertmanagers gossip silences and the notification log, not alerts (issue 17): each member must be pushed,
    and a member that is down does not hold the notification back once another has it."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with alertmanager_lab(tmp_path / "a") as first, alertmanager_lab(tmp_path / "b") as second:
        cluster = alertmanager.AlertmanagerSettings(urls=[first.url, second.url + "/"])
        async with notifier_context() as ctx:
            delivery = await alertmanager.send(sample(), cluster, ctx=ctx)
            assert (delivery.outcome, delivery.detail) == (Outcome.DELIVERED, "all 2 Alertmanagers accepted")
            for member in (first, second):
                async with ctx.http.get(f"{member.url}/api/v2/alerts") as response:
                    active = await response.json()
                assert [a["labels"]["site"] for a in active] == ["tan-thinh"]
                await member.sink.wait_for_alert("firing", site="tan-thinh")

            gone = f"http://127.0.0.1:{free_port()}"
            half = alertmanager.AlertmanagerSettings(url=first.url, urls=[gone])
            delivery = await alertmanager.send(resolved(sample()), half, ctx=ctx)
            assert delivery.outcome is Outcome.DELIVERED
            assert delivery.detail.startswith(f"1 of 2 Alertmanagers accepted; not {gone}: cannot connect")
            await first.sink.wait_for_alert("resolved", site="tan-thinh")

            nobody = alertmanager.AlertmanagerSettings(urls=[gone, f"http://127.0.0.1:{free_port()}"])
            delivery = await alertmanager.send(sample(), nobody, ctx=ctx)
            assert delivery.outcome is Outcome.RETRY and delivery.detail.startswith("no Alertmanager accepted: ")


def test_cluster_settings_are_bounded_and_each_member_once() -> None:
    """A cluster lists each member once, at most 16 of them."""
    with pytest.raises(ValueError, match="list each Alertmanager once"):
        alertmanager.AlertmanagerSettings(url="http://127.0.0.1:9093", urls=["http://127.0.0.1:9093/"])
    with pytest.raises(ValueError, match="at most 16"):
        alertmanager.AlertmanagerSettings(urls=[f"http://127.0.0.1:{9000 + n}" for n in range(17)])
    assert alertmanager.AlertmanagerSettings(url="http://127.0.0.1:9093").members == ("http://127.0.0.1:9093",)
