"""alerts/prometheus/rules.yml: promtool accepts it, its unit tests pass, and every alert is tested and bilingual."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.catalog import RULES as ENGINE_RULES
from tests.peers import require_program

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "alerts" / "prometheus" / "rules.yml"
RULE_TESTS = sorted((ROOT / "alerts" / "prometheus" / "tests").glob("*.yml"))
SEVERITIES = {"critical", "warning", "info"}
# GiaobanParentDown only feeds Alertmanager's inhibit rule (deploy/alertmanager.yml); it is never sent.
INHIBITION_MARKERS = {"GiaobanParentDown": "none"}
# Service-level alerts have no site: their series are giaoban's own (or Prometheus' `up`).
SITELESS = {
    "GiaobanConfigReloadFailed",
    "GiaobanAbsent",
    "GiaobanDatabaseFault",
    "GiaobanSpoolFull",
    "GiaobanAlertEvaluationFailing",
    "GiaobanProbeSetup",
}
ANNOTATIONS = {"summary", "description", "summary_en", "description_en"}
VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"] if "alert" in rule]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_rules() -> None:
    """A rule file promtool rejects makes Prometheus refuse to load every rule in it."""
    result = run(require_program("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda path: path.stem)
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    """Each rule fires at its threshold and `for` boundary and stays quiet otherwise, with the exact labels and text."""
    result = run(require_program("promtool"), "test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    """An alert without a unit test can silently never fire (a typo in a metric name) or always fire."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for test in load(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "alerts with no firing case in alerts/prometheus/tests/"
    assert names - quiet == set(), "alerts with no not-firing case in alerts/prometheus/tests/"
    assert (firing | quiet) - names == set(), "tests of alerts that rules.yml does not have"


def test_every_alert_is_routable_and_bilingual() -> None:
    """Alertmanager routes on severity and inhibits on parent; technicians read Vietnamese (English for locale en)."""
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] == INHIBITION_MARKERS.get(name, rule["labels"]["severity"]), name
        assert rule["labels"]["severity"] in SEVERITIES | set(INHIBITION_MARKERS.values()), name
        assert set(rule["annotations"]) == ANNOTATIONS, name
        summary, description = rule["annotations"]["summary"], rule["annotations"]["description"]
        for text in (summary, description):
            assert unicodedata.is_normalized("NFC", text), f"{name}: Vietnamese text must be NFC"
            assert VIETNAMESE_LETTERS.search(text), f"{name}: Vietnamese text without diacritics: {text!r}"
        if name not in SITELESS:
            for key in ANNOTATIONS:
                assert "$labels.site" in rule["annotations"][key], f"{name}: {key} does not name the site"
        if name not in SITELESS and name not in INHIBITION_MARKERS:
            # the join that gives every site alert its `parent`, which the inhibit rule needs
            assert "group_left (parent) giaoban:site_parent:info" in rule["expr"], name


def test_rules_use_only_metric_names_giaoban_exports() -> None:
    """A misspelt metric name is a valid query that never matches: the alert would never fire."""
    sources = [*ROOT.joinpath("monitor").rglob("*.py"), ROOT / "README.md"]
    exported = {name for path in sources for name in re.findall(r"giaoban_[a-z_]+[a-z]", path.read_text("utf-8"))}
    rules_text = RULES.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<![:\w])giaoban_[a-z_]+[a-z]", rules_text))
    assert used - exported == set()
    assert "giaoban_site_info" in used  # the topology join reads the inventory's tree


def test_every_engine_alert_has_a_prometheus_rule() -> None:
    """Users of their own Prometheus get the alerts giaoban raises itself, under the same names and routes."""
    assert {spec.alertname for spec in ENGINE_RULES.values()} - {rule["alert"] for rule in alert_rules()} == set()
