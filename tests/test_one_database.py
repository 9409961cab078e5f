"""One database for every command (issue 14): the inventory names it, and the ack command an alert prints works
when pasted, in any directory; a database that cannot be opened is an error naming the path and the fix."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.templates import ack_command
from monitor.app.service import ack_options
from monitor.config.loader import load_config_text
from monitor.demo.inventory import TOKEN_ENV
from monitor.demo.run import database_yaml
from monitor.storage.location import database_for
from tests.clock import wait_until_blocking
from tests.peers import free_port, require_program, stop_process

pytestmark = pytest.mark.timeout(180)

BIN = Path(sys.executable).parent  # where pip put the `giaoban` command of this checkout
TOKEN = "one-database-token-5c1e"
INVENTORY = "organisation: {name: x, locale: LOCALE}\nsites: [{id: hub, name: Hub}]\n"


def giaoban(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *argv], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`giaoban demo` started as a newcomer does, from their own directory: its files land in ./giaoban-demo/."""
    listen = f"127.0.0.1:{free_port()}"
    with open(tmp_path / "demo.out", "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--listen", listen],
            cwd=tmp_path,
            env={**os.environ, TOKEN_ENV: TOKEN},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://{listen}", tmp_path
        finally:
            stop_process(process)


def _first_ack_line(notifications: Path) -> tuple[str, str] | None:
    """(alert id, the command after the ack label) of the first firing notification the demo's webhook got."""
    lines = notifications.read_text(encoding="utf-8").splitlines() if notifications.exists() else []
    for document in map(json.loads, lines):
        if document["event"] != "firing":
            continue
        for line in document["text"].splitlines():  # the T-0 summary has no ack line: nothing to acknowledge
            if "giaoban alerts ack" in line:
                return document["alert_id"], line[line.index("giaoban alerts ack") :]
    return None


def test_the_ack_command_pasted_from_a_demo_notification_acknowledges_it(demo: tuple[str, Path]) -> None:
    """The acceptance of issue 14: copy the command from a notification, paste it elsewhere, the alert is acked."""
    base, home = demo
    notifications = home / "giaoban-demo" / "notifications.jsonl"
    alert_id, command = wait_until_blocking(
        lambda: _first_ack_line(notifications), timeout=120, what="a firing notification from the demo", every=0.5
    )
    inventory = home / "giaoban-demo" / "demo.yml"
    assert shlex.split(command) == ["giaoban", "alerts", "ack", alert_id, "-c", str(inventory)]
    # The issue's own command, relative, from where the demo was started: it reads the demo's database.
    listed = giaoban("alerts", "list", "--json", "-c", "giaoban-demo/demo.yml", cwd=home)
    assert listed.returncode == 0, listed.stderr
    assert alert_id in {alert["id"] for alert in json.loads(listed.stdout)}
    elsewhere = home / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    pasted = subprocess.run(
        command, shell=True, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert pasted.stdout.startswith(f"Đã xác nhận cảnh báo {alert_id} (")
    assert list(elsewhere.iterdir()) == []  # no stray ./giaoban.db
    request = urllib.request.Request(f"{base}/api/v1/alerts?state=all")
    with urllib.request.urlopen(request, timeout=30) as response:
        alerts = {alert["id"]: alert for alert in json.load(response)}
    assert alerts[alert_id]["acked_by"] and alerts[alert_id]["acked_at"]


def test_the_database_is_found_from_the_inventory_not_the_current_directory(tmp_path: Path) -> None:
    """Relative SQLite paths and the default are beside the inventory; --database and PostgreSQL as written."""
    inventory = tmp_path / "etc" / "giaoban.yml"
    plain = load_config_text(INVENTORY.replace("LOCALE", "vi"), "giaoban.yml")
    assert database_for(plain, inventory) == f"sqlite:///{tmp_path / 'etc' / 'giaoban.db'}"
    named = load_config_text(INVENTORY.replace("LOCALE", "vi") + "database: sqlite:///data/g.db\n", "giaoban.yml")
    found = database_for(named, inventory)
    assert not isinstance(found, str) and found.url == f"sqlite:///{tmp_path / 'etc' / 'data' / 'g.db'}"
    absolute = load_config_text(INVENTORY.replace("LOCALE", "vi") + "database: sqlite:////srv/g.db\n", "giaoban.yml")
    assert not isinstance(found := database_for(absolute, inventory), str) and found.url == "sqlite:////srv/g.db"
    assert database_for(named, inventory, override="sqlite:///here.db") == f"sqlite:///{Path.cwd() / 'here.db'}"
    pg = "postgresql://giaoban@db.example:5432/giaoban"
    assert database_for(plain, inventory, override=pg) == pg


def test_a_command_with_no_database_of_its_own_says_it_created_one(tmp_path: Path) -> None:
    """A mistyped -c no longer acts silently on an empty ./giaoban.db: the new file is beside the inventory, named."""
    inventory = tmp_path / "site" / "giaoban.yml"
    inventory.parent.mkdir()
    inventory.write_text(INVENTORY.replace("LOCALE", "en"), encoding="utf-8")
    run = giaoban("alerts", "list", "-c", str(inventory), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"created a new, empty database {tmp_path / 'site' / 'giaoban.db'}" in run.stderr
    assert (tmp_path / "site" / "giaoban.db").exists() and not (tmp_path / "giaoban.db").exists()
    again = giaoban("alerts", "list", "-c", str(inventory), cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == ""


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_a_missing_directory_is_named_with_the_fix(tmp_path: Path, form: str) -> None:
    """`meetings list` on a database whose directory is missing: both languages, the path, mkdir; no SQLAlchemy."""
    missing = tmp_path / "var" / "lib" / "giaoban"
    url = "sqlite:///var/lib/giaoban/g.db" if form == "relative" else f"sqlite:///{missing / 'g.db'}"
    inventory = tmp_path / "giaoban.yml"
    inventory.write_text(INVENTORY.replace("LOCALE", "vi") + f"database: {url}\n", encoding="utf-8")
    run = giaoban("meetings", "list", "-c", str(inventory), cwd=Path("/"))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"giaoban: không mở được cơ sở dữ liệu {missing / 'g.db'}: thư mục {missing} không tồn tại; hãy tạo nó "
        f"(mkdir -p {missing}) hoặc ghi một tệp khác vào database: của tệp cấu hình (sqlite:///PATH)",
        f"cannot open the database {missing / 'g.db'}: the directory {missing} does not exist; create it "
        f"(mkdir -p {missing}) or name another file in the inventory's database: (sqlite:///PATH)",
    ]
    assert not missing.exists()


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """A directory this user cannot write: a read-only tmpfs for root (as ProtectSystem= makes /etc), else 0555."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    mount, umount = require_program("mount"), require_program("umount")
    subprocess.run([mount, "-t", "tmpfs", "-o", "ro,size=1M", "tmpfs", str(path)], check=True, timeout=10)
    try:
        yield path
    finally:
        if subprocess.run([umount, str(path)], check=False, timeout=10).returncode != 0:
            subprocess.run([umount, "-l", str(path)], check=False, timeout=10)


def test_an_unwritable_directory_is_named_with_the_fix(tmp_path: Path) -> None:
    """The systemd case: the default giaoban.db beside an inventory in a read-only /etc/giaoban is refused clearly."""
    with read_only(tmp_path / "etc") as etc:
        inventory = tmp_path / "giaoban.yml"
        inventory.write_text(INVENTORY.replace("LOCALE", "en") + f"database: sqlite:///{etc}/giaoban.db\n", "utf-8")
        run = giaoban("run", "-c", str(inventory), "--listen", f"127.0.0.1:{free_port()}", cwd=tmp_path)
    assert run.returncode == 2
    assert f"cannot open the database {etc / 'giaoban.db'}: this user cannot write to {etc}" in run.stderr
    assert "sqlalche.me" not in run.stderr and "Traceback" not in run.stderr


def test_the_ack_command_quotes_what_the_shell_would_split() -> None:
    """An inventory path with a space still pastes as one argument; plain ids and paths stay unquoted."""
    assert ack_command("link_down/hub/link", ["-c", "/etc/giaoban/giaoban.yml"]) == (
        "giaoban alerts ack link_down/hub/link -c /etc/giaoban/giaoban.yml"
    )
    command = ack_command("link_down/hub/link", ["-c", "/home/tuan/Giao ban/giaoban.yml"])
    assert shlex.split(command)[-1] == "/home/tuan/Giao ban/giaoban.yml"


def test_the_service_repeats_its_database_option_unless_it_holds_a_password(tmp_path: Path) -> None:
    """`run --database URL`: the ack command needs it too; a password is never printed (-c alone then)."""
    inventory = tmp_path / "giaoban.yml"
    assert ack_options(inventory, None) == ["-c", str(inventory)]
    assert ack_options(inventory, "sqlite:////srv/g.db") == ["-c", str(inventory), "--database", "sqlite:////srv/g.db"]
    assert ack_options(inventory, "postgresql://g:s3cret@db/g") == ["-c", str(inventory)]


def test_the_demo_inventory_keeps_a_database_password_out(tmp_path: Path) -> None:
    """`demo --database` with a password: demo.yml names the URL and reads the password from a 0600 file."""
    assert database_yaml("sqlite:///demo.db", tmp_path) == 'database: "sqlite:///demo.db"\n'
    line = database_yaml("postgresql://g:s3cret@127.0.0.1:5432/g", tmp_path)
    secret = tmp_path / "database-password"
    assert "s3cret" not in line and str(secret) in line
    config = load_config_text(INVENTORY.replace("LOCALE", "vi") + line, "demo.yml")
    assert config.database is not None and config.database.url == "postgresql://g@127.0.0.1:5432/g"
    assert secret.read_text(encoding="utf-8").strip() == "s3cret" and secret.stat().st_mode & 0o777 == 0o600
