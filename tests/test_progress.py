"""Long work shows progress on a terminal and stays quiet when piped or --json (issue 14; monitor/cli/progress.py).

Each command runs as a child whose stderr is a real pseudo-terminal (pty.openpty), as on a technician's console.
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli.progress import TerminalProgress, terminal_progress

pytestmark = pytest.mark.timeout(120)

SITES = 120  # "a fresh readiness check of a hundred sites or more"
ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//giaoban//VI
{events}END:VCALENDAR
"""
EVENT = """\
BEGIN:VEVENT
UID:meeting-{n}@test
DTSTART;TZID=Asia/Ho_Chi_Minh:{day}T073000
DURATION:PT2H
SUMMARY:Giao ban số {n}
END:VEVENT
"""


def province(path: Path) -> Path:
    """An inventory of SITES sites without probes: each site's check is quick, the count is what matters here."""
    sites = "".join(f'  - {{id: xa-{n}, name: "Xã số {n}"}}\n' for n in range(SITES))
    path.write_text(f"organisation: {{name: Tỉnh thử, locale: vi}}\nsites:\n{sites}", encoding="utf-8")
    return path


def on_terminal(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run giaoban with stderr on a pseudo-terminal (stdout to a file); (exit code, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    with open(cwd / "stdout.txt", "w+b") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", *argv], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=slave
        )
        os.close(slave)
        shown = bytearray()
        try:
            while chunk := os.read(master, 65536):
                shown += chunk
        except OSError:  # EIO: the child closed the terminal's last writer
            pass
        finally:
            os.close(master)
        code = process.wait(60)
        out.seek(0)
        return code, out.read().decode(), shown.decode(errors="replace")


def piped(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *argv], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_fresh_readiness_check_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    """One line, rewritten per site, ending at 120/120; the report itself on stdout is untouched by it."""
    inventory = province(tmp_path / "giaoban.yml")
    code, out, shown = on_terminal(["readiness", "--sites", "all", "--now", "-c", str(inventory)], tmp_path)
    assert code == 0, shown
    assert f"\rgiaoban readiness: {SITES}/{SITES} điểm cầu / sites — Xã số" in shown
    assert shown.count("\rgiaoban readiness: ") == SITES
    assert "giaoban readiness:" not in out and "\r" not in out
    assert out.startswith(f"Kiểm tra {SITES} điểm cầu lúc")


@pytest.mark.parametrize("how", ["json", "piped"])
def test_readiness_is_quiet_when_piped_or_json(tmp_path: Path, how: str) -> None:
    """--json on a terminal, or stderr not a terminal: no progress line, only the answer."""
    argv = ["readiness", "--sites", "all", "--now", "-c", str(province(tmp_path / "giaoban.yml"))]
    if how == "json":
        code, out, shown = on_terminal([*argv, "--json"], tmp_path)
        assert code == 0 and out.lstrip().startswith("{")
    else:
        run = piped(argv, tmp_path)
        code, shown = run.returncode, run.stderr
        assert code == 0 and run.stdout.startswith(f"Kiểm tra {SITES} điểm cầu")
    assert "giaoban readiness:" not in shown and "/sites" not in shown


def test_an_ics_import_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    """`meetings import` counts the meetings it writes on a terminal; piped, it prints its summary alone."""
    inventory = province(tmp_path / "giaoban.yml")
    calendar = tmp_path / "lich.ics"
    # Within the import's default window (the next 365 days): a month from now, one day apart.
    days = [(datetime.now(UTC) + timedelta(days=30 + n)).strftime("%Y%m%d") for n in range(1, 4)]
    events = "".join(EVENT.format(n=n, day=day) for n, day in enumerate(days, 1))
    calendar.write_text(ICS.format(events=events), encoding="utf-8")
    code, out, shown = on_terminal(["meetings", "import", str(calendar), "-c", str(inventory)], tmp_path)
    assert code == 0, shown
    assert "\rgiaoban meetings import: 3/3 cuộc họp / meetings — Giao ban số 3" in shown
    assert "thêm 3" in out
    again = piped(["meetings", "import", str(calendar), "-c", str(inventory)], tmp_path)
    assert again.returncode == 0 and "không đổi 3" in again.stdout
    assert "\r" not in again.stderr and "meetings import:" not in again.stderr


def test_init_national_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    """`init --national -o FILE` on a real terminal: per province, ending with every unit written."""
    code, _, shown = on_terminal(["init", "--national", "-o", str(tmp_path / "vn.yml")], tmp_path)
    assert code == 0, shown
    assert "\rgiaoban init: 3321/3321 đơn vị / units — " in shown
    assert shown.count("\rgiaoban init: ") == 34


def test_a_shorter_line_wipes_the_longer_one_before_it() -> None:
    """A long site name followed by a short one leaves no letters of the first on screen; the last line ends."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = terminal_progress("giaoban readiness", "sites", stream=screen)
    assert isinstance(progress, TerminalProgress)
    progress(1, 2, "Xã Một Tên Rất Dài")
    progress(2, 2, "Xã B")
    first, second = screen.getvalue().split("\r")[1:]
    assert len(second.rstrip("\n")) == len(first) and second.endswith("\n")
    assert terminal_progress("giaoban readiness", "sites", stream=io.StringIO()) is None
    assert terminal_progress("giaoban readiness", "sites", quiet=True, stream=screen) is None
