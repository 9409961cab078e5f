"""The import contract ([tool.importlinter] in pyproject.toml) holds, and a violating import breaks it.

The test command runs `lint-imports` itself; this test proves the contract can fail: the same packages are
copied, one forbidden import is added (the kernel importing the service, alerts importing the web), and the
contract must name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    for package in ("monitor", "probes", "alerts"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _add_import(module: Path, line: str) -> None:
    text = module.read_text(encoding="utf-8")
    anchor = "from __future__ import annotations\n"
    assert anchor in text, module
    module.write_text(text.replace(anchor, anchor + line + "\n", 1), encoding="utf-8")


def test_the_contract_holds_on_the_tree() -> None:
    """The packages as they are keep every contract."""
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        pytest.param(
            "probes/core/result.py", "import monitor.errors", "Probes import only probes", id="kernel-imports-monitor"
        ),
        pytest.param(
            "probes/core/units.py",
            "from probes.icmp import quality",
            "Probes: the kernel at the bottom",
            id="kernel-imports-a-kind",
        ),
        pytest.param(
            "alerts/rules.py",
            "from monitor.web import board",
            "The service's floors",
            id="alerts-import-the-web",
        ),
        pytest.param(
            "monitor/metrics/sites.py",
            "from monitor.app import service",
            "Only the command line and the demo compose the service",
            id="metrics-import-the-app",
        ),
        pytest.param(
            "alerts/notifiers/base.py",
            "from alerts import store",
            "Alert declarations",
            id="channel-imports-the-store",
        ),
        pytest.param(
            "monitor/recurrence.py",
            "from monitor import errors",
            "The recurrence module",
            id="recurrence-imports-monitor",
        ),
    ],
)
def test_a_violating_import_breaks_the_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """Each floor's rule is enforced: one added import fails lint-imports and names the broken contract."""
    tree = _copy(tmp_path)
    _add_import(tree / module, line)
    run = _lint(tree)
    assert run.returncode != 0, run.stdout
    broken = run.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, run.stdout
