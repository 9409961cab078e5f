"""deploy/: the Prometheus, Alertmanager, compose and systemd configs are valid; a real Alertmanager folds a hub."""

from __future__ import annotations

import asyncio
import configparser
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp
import pytest
import yaml

from tests.alertmanager_lab import WEBHOOK_URL, alertmanager_lab
from tests.clock import wait_until
from tests.peers import require_program

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
RULES = ROOT / "alerts" / "prometheus" / "rules.yml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- Prometheus ---------------------------------------------------------------------------------------------


def test_prometheus_config_is_valid() -> None:
    """promtool loads the config from a checkout, rule file included, as Prometheus would."""
    result = run(require_program("promtool"), "check", "config", str(DEPLOY / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_prometheus_config_scrapes_giaoban_and_alerts_to_alertmanager() -> None:
    """The rule file, the scrape target and the Alertmanager are the ones giaoban and the rules expect."""
    config = load(DEPLOY / "prometheus.yml")
    assert [(DEPLOY / path).resolve() for path in config["rule_files"]] == [RULES]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "giaoban"]  # GiaobanAbsent's job
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9876"]}]
    assert (job["metrics_path"], job["scrape_interval"]) == ("/metrics", "15s")
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]


def test_commented_probe_recipe_is_valid(tmp_path: Path) -> None:
    """The commented /probe recipe is meant to be uncommented as it is: it must be a valid scrape config."""
    text = (DEPLOY / "prometheus.yml").read_text(encoding="utf-8")
    recipe = re.search(r"^  # - job_name: giaoban-probe-icmp\n(?:^  #.*\n)+", text, re.MULTILINE)
    assert recipe is not None
    uncommented = re.sub(r"^  # ?", "  ", recipe.group(0), flags=re.MULTILINE)
    config = text.replace(recipe.group(0), uncommented).replace("../alerts/prometheus/rules.yml", str(RULES))
    (tmp_path / "prometheus.yml").write_text(config, encoding="utf-8")
    assert "giaoban-probe-icmp" in [job["job_name"] for job in load(tmp_path / "prometheus.yml")["scrape_configs"]]
    result = run(require_program("promtool"), "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


# --- the nation (deploy/national/, issue 17) -----------------------------------------------------------------

NATIONAL = DEPLOY / "national"


def test_national_collector_is_an_agent_mode_config() -> None:
    """promtool accepts the collector in agent mode; it scrapes the agents' file and writes to VictoriaMetrics."""
    result = run(require_program("promtool"), "check", "config", "--agent", str(NATIONAL / "prometheus-agent.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    config = load(NATIONAL / "prometheus-agent.yml")
    assert "rule_files" not in config and "alerting" not in config  # agent mode evaluates and alerts nothing
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "giaoban"  # GiaobanAbsent's job
    assert [(NATIONAL / f).resolve() for f in job["file_sd_configs"][0]["files"]] == [NATIONAL / "agents.yml"]
    assert config["remote_write"][0]["url"].endswith("/api/v1/write")  # VictoriaMetrics' remote-write path
    server = run(require_program("promtool"), "check", "config", str(NATIONAL / "prometheus-agent.yml"))
    assert server.returncode == 0, server.stdout + server.stderr  # the same file serves a vmagent or a server


def test_national_prometheus_scrapes_every_agent_and_alerts_both_alertmanagers() -> None:
    result = run(require_program("promtool"), "check", "config", str(NATIONAL / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    config = load(NATIONAL / "prometheus.yml")
    assert [(NATIONAL / path).resolve() for path in config["rule_files"]] == [RULES]
    (members,) = config["alerting"]["alertmanagers"][0]["static_configs"]
    assert len(members["targets"]) == 2  # the two members of the cluster
    (job,) = config["scrape_configs"]
    assert [(NATIONAL / f).resolve() for f in job["file_sd_configs"][0]["files"]] == [NATIONAL / "agents.yml"]


def test_national_agents_file_lists_agents_with_their_scopes() -> None:
    """file_sd's format: targets and labels; documentation addresses only; a standby shares a scope."""
    groups = load(NATIONAL / "agents.yml")
    assert groups and all(set(group) == {"targets", "labels"} for group in groups)
    assert all(t.startswith("192.0.2.") for group in groups for t in group["targets"])
    scopes = [group["labels"]["scope"] for group in groups]
    assert len(set(scopes)) == len(scopes) - 1  # one standby
    names = [group["labels"]["agent"] for group in groups]
    assert len(set(names)) == len(names)


# --- Alertmanager -------------------------------------------------------------------------------------------


def test_alertmanager_config_is_valid() -> None:
    """amtool loads the shipped config, placeholders and all."""
    result = run(require_program("amtool"), "check-config", str(DEPLOY / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("alertname=GiaobanLinkDown severity=critical site=hub", "telegram-and-email"),
        ("alertname=GiaobanLinkLoss severity=warning site=tan-thinh parent=hub", "telegram"),
        ("alertname=GiaobanSomething severity=info site=tan-thinh", "email"),
        ("alertname=GiaobanParentDown severity=none site=hub parent=hub", "inhibit-only"),
        ("alertname=Unlabelled", "telegram"),
    ],
    ids=["critical", "warning", "info", "marker", "no-severity"],
)
def test_alertmanager_routes_by_severity(labels: str, receiver: str) -> None:
    """Critical reaches the phone and the mailbox, warning the phone, info the mailbox, the marker nobody."""
    amtool = require_program("amtool")
    result = run(amtool, "config", "routes", "test", f"--config.file={DEPLOY / 'alertmanager.yml'}", *labels.split())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def lab_config() -> str:
    """deploy/alertmanager.yml with every sending receiver sent to the lab's webhook; routes and inhibit rules kept."""
    config = load(DEPLOY / "alertmanager.yml")
    config["receivers"] = [
        {"name": receiver["name"], "webhook_configs": [{"url": WEBHOOK_URL, "send_resolved": True}]}
        if len(receiver) > 1
        else receiver
        for receiver in config["receivers"]
    ]
    # Test timing only. group_wait 1s (not 0s) leaves the inhibitor time to see a source alert before a
    # target pushed right after it is flushed.
    config["route"] |= {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
    text: str = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    return text


def alert(alertname: str, severity: str, site: str, *, ends: bool = False, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    body: dict[str, Any] = {
        "labels": {"alertname": alertname, "severity": severity, "site": site, **labels},
        "annotations": {"summary": f"{alertname} {site}"},
        "startsAt": now,
    }
    if ends:
        body["endsAt"] = now
    return body


async def push(session: aiohttp.ClientSession, url: str, alerts: list[dict[str, Any]]) -> None:
    async with session.post(f"{url}/api/v2/alerts", json=alerts) as response:
        assert response.status == 200, await response.text()


async def statuses(session: aiohttp.ClientSession, url: str) -> dict[str, dict[str, Any]]:
    """site → Alertmanager's status of that site's GiaobanLinkDown."""
    async with session.get(f"{url}/api/v2/alerts", params={"filter": 'alertname="GiaobanLinkDown"'}) as response:
        body: list[dict[str, Any]] = await response.json()
    return {item["labels"]["site"]: item["status"] for item in body}


async def suppressed(session: aiohttp.ClientSession, url: str, sites: list[str]) -> dict[str, dict[str, Any]]:
    """The statuses once Alertmanager holds every one of ``sites``' alerts as suppressed."""

    async def held() -> dict[str, dict[str, Any]] | None:
        status = await statuses(session, url)
        return status if all(status.get(site, {}).get("state") == "suppressed" for site in sites) else None

    return await wait_until(held, timeout=10, what=f"Alertmanager to suppress {sites}")


async def test_alertmanager_folds_the_children_of_a_down_hub(tmp_path: Path) -> None:
    """Hub down = one message: its communes' alerts are held back while it is down and sent once it is back."""
    hub_down = [
        alert("GiaobanLinkDown", "critical", "hub", target="192.0.2.1"),
        alert("GiaobanParentDown", "none", "hub", parent="hub"),
    ]
    children = [
        alert("GiaobanLinkDown", "critical", f"commune-{n}", parent="hub", target=f"192.0.2.2{n}") for n in (1, 2, 3)
    ]
    async with alertmanager_lab(tmp_path, config=lab_config()) as lab, aiohttp.ClientSession() as session:
        await push(session, lab.url, hub_down)
        hub = await lab.sink.wait_for_alert(site="hub", alertname="GiaobanLinkDown")
        assert hub["labels"]["severity"] == "critical"
        assert [p["receiver"] for p in lab.sink.payloads] == ["telegram-and-email"]

        # Another district branch (not behind the hub) must still get through while the hub is down.
        elsewhere = alert("GiaobanLinkDown", "critical", "other", parent="other-hub", target="198.51.100.1")
        await push(session, lab.url, [*children, elsewhere])
        await lab.sink.wait_for_alert(site="other")
        status = await suppressed(session, lab.url, [f"commune-{n}" for n in (1, 2, 3)])
        assert all(status[f"commune-{n}"]["inhibitedBy"] for n in (1, 2, 3)), status
        assert status["other"]["state"] == "active"
        await asyncio.sleep(3)  # several group_wait/group_interval rounds in which the children could leak
        assert [a["labels"]["site"] for a in lab.sink.alerts("firing", alertname="GiaobanLinkDown")] == ["hub", "other"]

        # The hub is back: the communes that are still down are reported now.
        await push(session, lab.url, [{**a, "endsAt": datetime.now(UTC).isoformat()} for a in hub_down])
        for n in (1, 2, 3):
            await lab.sink.wait_for_alert(site=f"commune-{n}", alertname="GiaobanLinkDown")
        await lab.sink.wait_for_alert("resolved", site="hub", alertname="GiaobanLinkDown")
        assert lab.sink.alerts(alertname="GiaobanParentDown") == []  # the marker never reaches anyone


async def test_giaoban_pushes_fold_children_through_the_shipped_config(tmp_path: Path) -> None:
    """The engine's own pushes (alertmanager channel) carry the marker, so the shipped inhibit rule works for them."""
    from alerts.notifiers.alertmanager import AlertmanagerSettings, send
    from alerts.notifiers.base import Outcome
    from tests.notifier_samples import notifier_context, sample

    def down(site: str, **labels: str) -> Any:
        base = {"alertname": "GiaobanLinkDown", "severity": "critical", "site": site, "rule": "link_down"}
        return sample(alert_id=f"link_down/{site}/link", key=f"link_down/{site}/link/firing", labels=base | labels)

    hub = down("hub", inhibits_children="true")
    children = [down(f"commune-{n}", parent="hub", inhibits_children="true") for n in (1, 2)]
    async with alertmanager_lab(tmp_path, config=lab_config()) as lab, notifier_context() as ctx:
        settings = AlertmanagerSettings.model_validate({"url": lab.url})
        assert (await send(hub, settings, ctx=ctx)).outcome == Outcome.DELIVERED
        await lab.sink.wait_for_alert(site="hub", alertname="GiaobanLinkDown")
        for child in children:
            assert (await send(child, settings, ctx=ctx)).outcome == Outcome.DELIVERED
        async with aiohttp.ClientSession() as session:
            status = await suppressed(session, lab.url, [f"commune-{n}" for n in (1, 2)])
        assert all(status[f"commune-{n}"]["inhibitedBy"] for n in (1, 2)), status
        await asyncio.sleep(2)
        assert [a["labels"]["site"] for a in lab.sink.alerts("firing", alertname="GiaobanLinkDown")] == ["hub"]
        assert lab.sink.alerts(alertname="GiaobanParentDown") == []
        assert "inhibits_children" not in lab.sink.alerts(alertname="GiaobanLinkDown")[0]["labels"]


# --- compose and systemd ------------------------------------------------------------------------------------


def test_compose_mounts_what_the_configs_expect() -> None:
    """Every file the stack mounts exists, and each service finds its config where its flags and paths say."""
    compose = load(DEPLOY / "compose.yml")
    services = compose["services"]
    assert set(services) == {"giaoban", "prometheus", "alertmanager", "grafana"}
    mounts: dict[str, dict[str, Path]] = {}
    for name, service in services.items():
        assert service["network_mode"] == "host", name  # the configs talk over 127.0.0.1
        mounts[name] = {}
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
                mounts[name][target] = (DEPLOY / source).resolve()
            else:
                assert source.startswith("/") or source in compose["volumes"], f"{name}: unknown volume {source}"
    build = services["giaoban"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()

    def host_path(service: str, container_path: PurePosixPath) -> Path | None:
        """The host file behind a container path, through the service's bind mounts."""
        for target, source in mounts[service].items():
            if container_path.is_relative_to(target):
                return source / container_path.relative_to(target)
        return None

    flags = dict(arg.split("=", 1) for arg in services["prometheus"]["command"])
    config_path = PurePosixPath(flags["--config.file"])
    assert host_path("prometheus", config_path) == DEPLOY / "prometheus.yml"
    for rule_file in load(DEPLOY / "prometheus.yml")["rule_files"]:
        in_container = PurePosixPath("/", *_normalise((config_path.parent / rule_file).parts))  # "..", resolved
        assert host_path("prometheus", in_container) == RULES
    flags = dict(arg.split("=", 1) for arg in services["alertmanager"]["command"])
    assert host_path("alertmanager", PurePosixPath(flags["--config.file"])) == DEPLOY / "alertmanager.yml"
    provisioning = host_path("grafana", PurePosixPath("/etc/grafana/provisioning"))
    assert provisioning is not None and (provisioning / "datasources").is_dir()
    dashboards = load(DEPLOY / "grafana" / "provisioning" / "dashboards" / "giaoban.yml")["providers"][0]
    dashboard_dir = host_path("grafana", PurePosixPath(dashboards["options"]["path"]))
    assert dashboard_dir is not None and list(dashboard_dir.glob("*.json"))


def _normalise(parts: tuple[str, ...]) -> list[str]:
    """An absolute path's parts after the root, with "." and ".." applied (PurePath keeps them)."""
    out: list[str] = []
    for part in parts[1:]:
        if part == "..":
            out.pop()
        elif part != ".":
            out.append(part)
    return out


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    """systemd accepts the unit without a warning, and it runs unprivileged with raw ICMP sockets only."""
    analyze = require_program("systemd-analyze")
    unit_text = (DEPLOY / "giaoban.service").read_text(encoding="utf-8")
    # verify insists that ExecStart's program exists; stand one in for the installed giaoban
    stand_in = tmp_path / "giaoban"
    stand_in.write_text("#!/bin/sh\n", encoding="utf-8")
    stand_in.chmod(0o755)
    (tmp_path / "giaoban.service").write_text(
        unit_text.replace("/opt/giaoban/bin/giaoban", str(stand_in)), encoding="utf-8"
    )
    result = run(analyze, "verify", str(tmp_path / "giaoban.service"))
    assert (result.returncode, result.stderr) == (0, ""), result.stderr

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string(unit_text)
    service = unit["Service"]
    # No --database: the inventory names it, so that every CLI command given -c finds the same one (issue 14).
    assert service["ExecStart"].split() == ["/opt/giaoban/bin/giaoban", "run", "-c", "/etc/giaoban/giaoban.yml"]
    assert "database: sqlite:////var/lib/giaoban/giaoban.db" in unit_text  # what the inventory must say
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    expected = {
        "DynamicUser": "yes",
        "StateDirectory": "giaoban",
        "AmbientCapabilities": "CAP_NET_RAW",
        "CapabilityBoundingSet": "CAP_NET_RAW",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "Restart": "on-failure",
    }
    assert {key: service.get(key) for key in expected} == expected
