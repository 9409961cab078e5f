"""A stand-alone Outbox over a SQLite file and one webhook, for the SIGKILL test in tests/test_outbox.py.

    python -m tests.outbox_worker sqlite:///PATH http://127.0.0.1:PORT/hook --timeout 3 --lease 4

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


async def main(database: str, url: str, timeout: float, lease: float) -> None:
    storage = await Storage.open(database)
    hook = TypeAdapter(NotifierConfig).validate_python({"id": "hook", "kind": "webhook", "url": url})
    session = new_client_session()
    try:
        outbox = Outbox(
            storage, lambda: {"hook": hook}, http=session, timeout=timeout, lease=lease,
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
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--lease", type=float, default=4.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="worker %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(args.database, args.url, args.timeout, args.lease))
