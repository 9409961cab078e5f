"""Grafana dashboards: generated JSON that is well formed and committed as generated. That every PromQL
expression parses and returns data in a real Prometheus scraping the demo: tests/test_demo_prometheus.py."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus, stat, table, timeseries

import alerts
import monitor
from monitor.dashboards.definitions import DASHBOARDS, export, expressions, render
from monitor.dashboards.panels import DATASOURCE, DS_VARIABLE, GRID_WIDTH
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.exposition import Family
from probes.core.context import ProbeContext
from tests.service_harness import ROOT

SDK_SCHEMA_VERSION = model.Dashboard().schema_version  # 41 for the SDK's Grafana 11.6 branch
COMMITTED = ROOT / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
BUILT = {filename: build() for filename, build in DASHBOARDS.items()}
METRIC_NAME = re.compile(r"\bgiaoban_[a-z_]+\b")
VARIABLE = re.compile(r"\$\{?(\w+)\}?")
# Grafana's own variables, as a 1 s scrape interval makes them for a short time range.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}

# Metrics that the design names and the dashboards use, but no module defines yet (the alert engine will).
NOT_YET_EXPORTED: set[str] = set()


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard["panels"])


def _exported_names() -> set[str]:
    """Every family /metrics can carry: those its writer declares (the service's own, every probe kind's) and
    every Family a module of the service defines (the sources monitor/app/service.py adds)."""
    scheduler = Scheduler(ctx=ProbeContext(), state=State(), concurrency={})
    names = {family.name for family in Exposition.for_state(State(), scheduler, ReloadStatus()).families()}
    for package in (monitor, alerts):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module.name.endswith(".__main__"):  # runs the command line when imported
                continue
            for value in vars(importlib.import_module(module.name)).values():
                if isinstance(value, Family):
                    names.add(value.name)
    return names


def test_committed_files_are_the_generators_output() -> None:
    """dashboards/*.json is what Grafana loads: it must never drift from the code that documents it."""
    assert {path.name for path in COMMITTED.glob("*.json")} == set(DASHBOARDS)
    for filename, dashboard in BUILT.items():
        committed = (COMMITTED / filename).read_text(encoding="utf-8")
        assert committed == render(dashboard), f"{filename} is stale: run giaoban dashboards export dashboards"


@pytest.mark.parametrize("filename", list(DASHBOARDS))
def test_each_dashboard_round_trips_through_the_sdk_models(filename: str) -> None:
    """Grafana's own schema, as grafana-foundation-sdk's models encode it, is the strongest check short of a
    Grafana: the committed file decodes into the SDK's typed models (panel options per plugin, Prometheus
    queries) and encodes back to the same document, so no key is unknown to the schema or of the wrong shape."""
    register_default_plugins()  # decode each panel's options and each query into its plugin's own model
    committed = json.loads((COMMITTED / filename).read_text(encoding="utf-8"))
    decoded = model.Dashboard.from_json(committed)
    assert json.loads(json.dumps(decoded, cls=JSONEncoder)) == committed
    assert decoded.panels is not None
    queried = [panel for panel in decoded.panels if isinstance(panel, model.Panel) and panel.targets]
    assert queried and all(isinstance(t, prometheus.Dataquery) for p in queried for t in p.targets or [])
    kinds = {type(panel.options) for panel in decoded.panels if isinstance(panel, model.Panel)}
    assert kinds & {stat.Options, table.Options, timeseries.Options}, "panel options stayed untyped dicts"
    assert dict not in kinds


def test_round_trip_notices_a_key_outside_the_schema() -> None:
    """The round trip is a real check: a key Grafana's schema does not have is dropped, so the documents differ."""
    register_default_plugins()
    committed = json.loads((COMMITTED / "giaoban-overview.json").read_text(encoding="utf-8"))
    committed["panels"][0]["gridPosition"] = committed["panels"][0]["gridPos"]  # a typo a hand edit could make
    decoded = json.loads(json.dumps(model.Dashboard.from_json(committed), cls=JSONEncoder))
    assert decoded != committed


def test_dashboard_uids_are_unique_and_stable() -> None:
    """Links between dashboards and bookmarks use the uid: unique, fixed, tagged for the dashboards menu."""
    uids = [dashboard["uid"] for dashboard in BUILT.values()]
    assert len(set(uids)) == len(uids)
    assert set(uids) == {
        "giaoban-overview",
        "giaoban-link",
        "giaoban-meetings",
        "giaoban-endpoints",
        "giaoban-national",
    }
    for dashboard in BUILT.values():
        assert dashboard["schemaVersion"] == SDK_SCHEMA_VERSION  # the schema the SDK's models are generated from
        assert dashboard["tags"] == ["giaoban"]
        assert " / " in dashboard["title"], "titles are Vietnamese / English"
        assert any(link["type"] == "dashboards" and link["tags"] == ["giaoban"] for link in dashboard["links"])


@pytest.mark.parametrize("filename", list(DASHBOARDS))
def test_panels_are_well_formed(filename: str) -> None:
    """Grafana silently drops or stacks panels with duplicate ids or bad positions; every one must show."""
    dashboard = json.loads((COMMITTED / filename).read_text(encoding="utf-8"))
    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(set(ids)) == len(ids), "panel ids repeat"
    occupied: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["title"], panel
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= GRID_WIDTH, panel["title"]
        cells = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        # Vietnamese / English, except words both languages use as they are
        assert " / " in panel["title"] or panel["title"] in ("UPS", "Jitter"), panel["title"]


@pytest.mark.parametrize("filename", list(DASHBOARDS))
def test_datasource_is_the_variable(filename: str) -> None:
    """A provisioned or imported dashboard must work with any Prometheus: no hard-coded datasource uid."""
    dashboard = BUILT[filename]
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables[DS_VARIABLE]["type"] == "datasource"
    assert variables[DS_VARIABLE]["query"] == "prometheus"
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE
    queried = [panel for panel in _panels(dashboard) if panel["type"] not in ("row", "text")]
    assert queried
    for panel in queried:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
    used = {name for _, expr in expressions(dashboard) for name in VARIABLE.findall(expr)}
    assert used <= set(variables) | set(GRAFANA_VARIABLES), used - set(variables)


def test_metric_names_are_exported_or_announced() -> None:
    """A misspelt metric gives an empty panel, not an error: every name must be one the service exports."""
    exported = _exported_names()
    used = {
        name.removesuffix("_bucket")
        for dashboard in BUILT.values()
        for _, expr in expressions(dashboard)
        for name in METRIC_NAME.findall(expr)
    }
    unknown = used - exported - NOT_YET_EXPORTED
    assert not unknown, f"not exported by the service: {sorted(unknown)}"
    arrived = NOT_YET_EXPORTED & exported
    assert not arrived, f"exported now: remove {sorted(arrived)} from NOT_YET_EXPORTED"


def test_export_writes_every_dashboard(tmp_path: Path) -> None:
    """`giaoban dashboards export DIR` is how a deployment without the repository gets the files."""
    target = tmp_path / "new" / "dashboards"
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "dashboards", "export", str(target)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in target.iterdir()) == sorted(DASHBOARDS)
    for filename in DASHBOARDS:
        assert (target / filename).read_text(encoding="utf-8") == (COMMITTED / filename).read_text(encoding="utf-8")
        assert str(target / filename) in done.stdout


def test_export_refuses_a_file(tmp_path: Path) -> None:
    """Pointing export at a file is a usage error with a message, not a traceback or a clobbered file."""
    target = tmp_path / "dashboards.json"
    target.write_text("keep me", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "dashboards", "export", str(target)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "is a file, not a directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert target.read_text(encoding="utf-8") == "keep me"


def test_export_function_returns_what_it_wrote(tmp_path: Path) -> None:
    """The function behind the command writes each dashboard once, as render() gives it."""
    written = export(tmp_path)
    assert [path.name for path in written] == list(DASHBOARDS)
    assert all(path.read_text(encoding="utf-8") == render(BUILT[path.name]) for path in written)


def test_provisioning_matches_the_dashboards() -> None:
    """Grafana's provisioning must name the datasource uid and folder the compose stack mounts."""
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    (source,) = datasources["datasources"]
    assert (source["uid"], source["type"], source["url"]) == ("prometheus", "prometheus", "http://prometheus:9090")
    assert source["isDefault"] is True  # the ${DS_PROMETHEUS} variable starts on the default source
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "giaoban.yml").read_text(encoding="utf-8"))
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/giaoban"
