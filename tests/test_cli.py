"""The `giaoban` command as a user runs it: output, exit codes 0/1/2, messages that say what to fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import free_port
from tests.postgres_lab import PostgresLab, postgres_lab_fixture  # noqa: F401  (fixture)
from tests.service_harness import ROOT


def giaoban(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )


def test_probe_icmp_prints_a_table() -> None:
    """A one-shot ICMP probe prints RTTs in milliseconds and exits 0 when the target answers."""
    run = giaoban("probe", "icmp", "127.0.0.1", "--count", "3", "--interval", "10ms")
    assert run.returncode == 0, run.stderr
    assert "result" in run.stdout and "OK" in run.stdout
    assert "rtt_median" in run.stdout and " ms" in run.stdout
    assert "loss_ratio" in run.stdout and "0.0 %" in run.stdout


def test_probe_json_and_failure_exit_code() -> None:
    """--json is machine-readable; a refused TCP connect is a failed check: exit 1 with the reason."""
    run = giaoban("probe", "tcp", f"127.0.0.1:{free_port()}", "--json")
    assert run.returncode == 1, run.stderr
    result = json.loads(run.stdout)
    assert result["success"] is False and result["reason"] == "connection_refused"
    assert result["kind"] == "tcp"


def test_probe_http_list_option() -> None:
    """Repeatable options become lists: two accepted status codes, the second one matching."""
    port = free_port()
    run = giaoban(
        "probe", "http", f"http://127.0.0.1:{port}/", "--valid-status-codes", "200", "--valid-status-codes", "204"
    )
    assert run.returncode == 1  # nothing listens: refused, still a clean result
    assert "connection_refused" in run.stdout


def test_probe_port_joins_the_target() -> None:
    """--port, documented for sip (issue 15), reaches the probe: a UDP port with no listener is refused there."""
    port = free_port(socket.SOCK_DGRAM)
    run = giaoban("probe", "sip", "127.0.0.1", "--port", str(port), "--json", "--deadline", "2s")
    assert run.returncode == 1, run.stderr
    result = json.loads(run.stdout)
    assert (result["target"], result["reason"]) == (f"127.0.0.1:{port}", "connection_refused")


def test_probe_port_reaches_a_listener() -> None:
    """h323 with --port connects to that port (a listener of the test's own), not to 1720."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        run = giaoban("probe", "h323", "127.0.0.1", "--port", str(port))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"127.0.0.1:{port}" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "sip", "127.0.0.1:5060", "--port", "5061"], "already gives a port; give it once"),
        (["probe", "cisco-xapi", "https://127.0.0.1", "--port", "8443"], "is a URL; put the port in it"),
        (["probe", "tcp", "127.0.0.1", "--port", "70000"], "a port is a number from 1 to 65535"),
        (["probe", "http", "http://127.0.0.1/", "--port", "80"], "unrecognized arguments: --port"),
    ],
    ids=["port-twice", "port-with-url", "port-out-of-range", "http-takes-a-url"],
)
def test_probe_port_misuse_exits_2(args: list[str], message: str) -> None:
    """A port given twice, beside a URL, out of range, or to a kind whose target is a URL: exit 2, saying so."""
    run = giaoban(*args)
    assert run.returncode == 2
    assert message in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "icmp", "127.0.0.1", "--count", "0"], "count"),
        (["probe", "icmp", "127.0.0.1", "--dscp", "AF99"], "DSCP"),
        (["probe", "icmp", "127.0.0.1", "--deadline", "soon"], "--deadline"),
        (["probe", "snmpx", "127.0.0.1"], "invalid choice"),
    ],
    ids=["count-zero", "bad-dscp", "bad-deadline", "unknown-kind"],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    """Bad options exit 2 with a message that names what is wrong."""
    run = giaoban(*args)
    assert run.returncode == 2
    assert message in run.stderr


def test_check_config_exit_codes(tmp_path: Path) -> None:
    """check-config: 0 and a summary for the Định Hoá example, 2 and positioned problems for a broken file."""
    ok = giaoban("check-config", "examples/dinh-hoa.yml")
    assert ok.returncode == 0, ok.stderr
    assert "23 communes" in ok.stdout
    broken = tmp_path / "broken.yml"
    broken.write_text("district: {name: x}\nsites:\n  - {id: hub, name: Hub, parent: nowhere}\n", encoding="utf-8")
    bad = giaoban("check-config", str(broken))
    assert bad.returncode == 2
    assert f"{broken}:3:" in bad.stderr and "nowhere" in bad.stderr


def test_check_config_secrets_flag(tmp_path: Path) -> None:
    """--secrets also reads every secret and says which one is missing, without any value."""
    run = giaoban("check-config", "--secrets", "examples/dinh-hoa.yml")
    assert run.returncode == 2
    assert "TSLCD_COMMUNITY" in run.stderr


def test_version() -> None:
    """--version names the release."""
    run = giaoban("--version")
    assert run.returncode == 0 and run.stdout.startswith("giaoban ")


FORMS = "write sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--database", "mysql://giaoban@db/giaoban"], "mysql:// is not supported"),
        (["run", "--database", "postgresql://giaoban@db:notaport/giaoban"], "the port after the host is not a number"),
        (["meetings", "list", "--database", "postgresql://giaoban@db:5432"], "the URL names no database"),
        (["demo", "--database", "oracle://db/x"], "oracle:// is not supported"),
    ],
    ids=["run-mysql", "run-port", "meetings-no-name", "demo-oracle"],
)
def test_bad_database_option_exits_2_naming_the_option(args: list[str], message: str) -> None:
    """--database gets the config's check before anything starts: exit 2, the option named, no traceback."""
    run = giaoban(*args)
    assert run.returncode == 2
    assert f"argument --database: {message}" in run.stderr
    assert "Traceback" not in run.stderr and "ValueError" not in run.stderr


def test_check_config_and_run_refuse_the_same_database(tmp_path: Path) -> None:
    """A database URL check-config refuses is refused by run with the same positioned line, and the reverse."""
    path = tmp_path / "giaoban.yml"
    path.write_text(
        'district: {name: x}\nsites: [{id: hub, name: Hub}]\ndatabase: "postgresql://g@db:notaport/g"\n', "utf-8"
    )
    expected = f"{path}:3:11: database: the port after the host is not a number; {FORMS}"
    for args in (["check-config", str(path)], ["run", "-c", str(path)], ["alerts", "list", "-c", str(path)]):
        run = giaoban(*args)
        assert run.returncode == 2, args
        assert run.stderr.splitlines()[0] == expected, args
        assert "Traceback" not in run.stderr


def test_database_password_secret_reaches_postgresql(tmp_path: Path, postgres_lab: PostgresLab) -> None:
    """A CLI command opens a password-protected PostgreSQL with `password: {env:}`; a wrong one is a clear exit 2."""
    url = postgres_lab.password_database("pg-s3cret")
    path = tmp_path / "giaoban.yml"
    path.write_text(
        "district: {name: x, locale: en}\nsites: [{id: hub, name: Hub}]\n"
        f'database: {{url: "{url}", password: {{env: GIAOBAN_TEST_PGPASSWORD}}}}\n',
        "utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    run = giaoban("meetings", "list", "-c", str(path), env={**env, "GIAOBAN_TEST_PGPASSWORD": "pg-s3cret"})
    assert run.returncode == 0, run.stderr
    wrong = giaoban("meetings", "list", "-c", str(path), env={**env, "GIAOBAN_TEST_PGPASSWORD": "wrong-s3cret"})
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("giaoban: cannot open database postgresql://giaoban_pw_")
    assert "password authentication failed" in wrong.stderr
    checked = giaoban("check-config", str(path), env=env)
    assert checked.returncode == 0 and "secrets (not read): env GIAOBAN_TEST_PGPASSWORD" in checked.stdout
    assert not any("s3cret" in text for text in (run.stdout, run.stderr, wrong.stderr, checked.stdout))
