"""A stand-alone Outbox over a SQLite file and one Zalo channel, for the SIGKILL test in tests/test_notifiers_zalo.py.

    GIAOBAN_TEST_ZALO_SECRET=... GIAOBAN_TEST_ZALO_REFRESH=... \\
        python -m tests.zalo_worker sqlite:///PATH http://127.0.0.1:PORT STATE_FILE --timeout 3 --lease 4

Prints "ready" once the database is open, then delivers until killed (tests/outbox_worker.py's run_worker).
"""

from __future__ import annotations

from pydantic import TypeAdapter

from alerts.notifiers.config import NotifierConfig
from tests.outbox_worker import run_worker
from tests.zalo_server import APP_ID


def zalo_config(url: str, state_file: str, **extra: object) -> object:
    """The inventory entry of the tests' Zalo channel: secrets from the environment, both base URLs local."""
    entry = {
        "id": "zalo",
        "kind": "zalo",
        "app_id": APP_ID,
        "secret_key": {"env": "GIAOBAN_TEST_ZALO_SECRET"},
        "refresh_token": {"env": "GIAOBAN_TEST_ZALO_REFRESH"},
        "state_file": state_file,
        "api_url": url,
        "oauth_url": url,
        **extra,
    }
    return TypeAdapter(NotifierConfig).validate_python(entry)


if __name__ == "__main__":
    run_worker("zalo", ["url", "state_file"], lambda args: zalo_config(args.url, args.state_file))
