"""A private PostgreSQL for the storage tests: Debian's `postgresql` binaries, a fresh data directory under
tmp, a free loopback port, started once per test run and stopped by pg_ctl (then by PID if it hangs).

initdb refuses to run as root, so the cluster belongs to the `postgres` OS user (created by the Debian
package); the socket directory is private too, so no system cluster is touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import free_port, missing, require_root


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        missing("PostgreSQL server binaries (Debian package postgresql; bash tests/run.sh installs it)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, check=True, capture_output=True, timeout=60, **kw)  # type: ignore[call-overload, no-any-return]


class PostgresLab:
    """A running private cluster; ``fresh_database()`` gives each test an empty database of its own."""

    def __init__(
        self, bindir: Path, sockets: Path, port: int, data: Path, *, options: str = "", log: Path | None = None
    ) -> None:
        self.bindir, self.sockets, self.port, self.data = bindir, sockets, port, data
        self.options, self.log = options, log
        self._count = 0

    def stop(self) -> None:
        """Stop this cluster (pg_ctl -m fast: connected clients are cut off), as an outage of the centre."""
        _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "20", "stop"])

    def start(self) -> None:
        """Start it again on the same port and data directory, after stop()."""
        log = ["-l", str(self.log)] if self.log is not None else []
        _as_postgres(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), *log, "-o", self.options, "-w", "-t", "30", "start"]
        )

    def fresh_database(self) -> str:
        self._count += 1
        name = f"giaoban_{self._count}"
        self._admin("createdb", name)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def password_database(self, password: str) -> str:
        """A fresh database owned by a new role that must log in with ``password`` over TCP (the URL has none).

        The cluster trusts everyone else; a pg_hba.conf line put first makes this role the exception.
        """
        self._count += 1
        role, name = f"giaoban_pw_{self._count}", f"giaoban_{self._count}"
        literal = password.replace("'", "''")
        self._admin(
            "psql", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", f"CREATE ROLE {role} LOGIN PASSWORD '{literal}'"
        )
        self._admin("createdb", "-O", role, name)
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        self._admin("psql", "-d", "postgres", "-c", "SELECT pg_reload_conf()")
        # The postmaster rereads the file after the signal: wait until a login without the password is refused.
        deadline = time.monotonic() + 10
        while self._logs_in_without_password(role, name):
            assert time.monotonic() < deadline, "pg_hba.conf was not reloaded"
            time.sleep(0.05)
        return f"postgresql://{role}@127.0.0.1:{self.port}/{name}"

    def _admin(self, program: str, *args: str) -> None:
        """A client program as the superuser, over the private socket."""
        where = ["-h", str(self.sockets), "-p", str(self.port), "-U", "postgres"]
        _as_postgres([str(self.bindir / program), *where, *args])

    def _logs_in_without_password(self, role: str, name: str) -> bool:
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-U", role, "-d", name, "-w", "-c", "SELECT 1"]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        login = subprocess.run([str(self.bindir / "psql"), *args], capture_output=True, env=env, timeout=30)
        return login.returncode == 0


_running: list[PostgresLab] = []


@pytest.fixture(scope="session", name="postgres_lab")
def postgres_lab_fixture(request: pytest.FixtureRequest) -> PostgresLab:
    """One PostgreSQL for the whole run, stopped when pytest ends.

    Test modules import this fixture, which gives each module its own session-scoped copy; the
    module-level cache makes them share one server anyway.
    """
    if not _running:
        stack = contextlib.ExitStack()
        _running.append(stack.enter_context(postgres_server()))
        request.config.add_cleanup(stack.close)
        request.config.add_cleanup(_running.clear)
    return _running[0]


@pytest.fixture(params=["sqlite", "postgresql"], name="database_url")
def database_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage test runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'giaoban.db'}"
    lab: PostgresLab = request.getfixturevalue("postgres_lab")
    return lab.fresh_database()


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresLab]:
    """Start a new cluster on a free loopback port; stop it and delete its files on exit.

    Tests run without fsync (the data is thrown away); ``durable=True`` keeps the defaults, for benchmarks.
    """
    require_root()
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="giaoban-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sockets, "postgres")
    port = free_port()
    log = base / "server.log"
    started = False
    try:
        try:
            _as_postgres(
                [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
            )
            options = f"-k {sockets} -p {port} -c listen_addresses=127.0.0.1"
            if not durable:
                options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            _as_postgres(
                [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start"]
            )
        except subprocess.CalledProcessError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise AssertionError(
                f"PostgreSQL lab failed: {exc.cmd}: {exc.stderr.decode(errors='replace')}\n{tail}"
            ) from exc
        started = True
        yield PostgresLab(bindir, sockets, port, data, options=options, log=log)
    finally:
        if started:
            _stop(bindir, data)
        shutil.rmtree(base, ignore_errors=True)


def _stop(bindir: Path, data: Path) -> None:
    try:
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "20", "stop"])
        return
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pass
    # pg_ctl could not stop it: end the postmaster we started, by the PID in its own pid file.
    pid_file = data / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().splitlines()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
