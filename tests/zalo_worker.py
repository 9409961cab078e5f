"""A stand-alone Outbox over a SQLite file and one Zalo channel, for the SIGKILL test in tests/test_notifiers_zalo.py.

    GIAOBAN_TEST_ZALO_SECRET=... GIAOBAN_TEST_ZALO_REFRESH=... \\
        python -m tests.zalo_worker sqlite:///PATH http://127.0.0.1:PORT STATE_FILE --timeout 3 --lease 4

Prints "ready" once the database is open, then delivers until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import TypeAdapter

from alerts.notifiers.config import NotifierConfig
from alerts.outbox import Outbox
from monitor.storage.database import Storage
from probes.http import new_client_session
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


async def main(database: str, url: str, state_file: str, timeout: float, lease: float) -> None:
    storage = await Storage.open(database)
    channel = zalo_config(url, state_file)
    session = new_client_session()
    try:
        outbox = Outbox(
            storage, lambda: {"zalo": channel}, http=session, timeout=timeout, lease=lease,
            backoff=(0.05, 0.2), poll_interval=0.05,
        )  # fmt: skip
        print("ready", flush=True)
        await outbox.run()
    finally:
        await session.close()
        await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("url")
    parser.add_argument("state_file")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--lease", type=float, default=4.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="worker %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(args.database, args.url, args.state_file, args.timeout, args.lease))
