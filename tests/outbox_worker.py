"""A stand-alone Outbox over a SQLite file and one webhook, for the SIGKILL test in tests/test_outbox.py.

    python -m tests.outbox_worker sqlite:///PATH http://127.0.0.1:PORT/hook --timeout 3 --lease 4

Prints "ready" once the database is open, then delivers until killed. ``run_worker`` is the same process for
another channel (tests/zalo_worker.py): only the channel and its command-line arguments differ.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import TypeAdapter

from alerts.notifiers.config import NotifierConfig
from alerts.outbox import Outbox
from monitor.storage.database import Storage
from probes.http import new_client_session


async def deliver(database: str, channel_id: str, channel: Callable[[], object], timeout: float, lease: float) -> None:
    """Opens the database, builds the channel (after, as the service does), prints "ready" and delivers."""
    storage = await Storage.open(database)
    notifier = channel()
    session = new_client_session()
    try:
        outbox = Outbox(
            storage, lambda: {channel_id: notifier}, http=session, timeout=timeout, lease=lease,
            backoff=(0.05, 0.2), poll_interval=0.05,
        )  # fmt: skip
        print("ready", flush=True)
        await outbox.run()
    finally:
        await session.close()
        await storage.close()


def run_worker(channel_id: str, arguments: Sequence[str], channel: Callable[[argparse.Namespace], object]) -> None:
    """``database``, then ``arguments`` (positional), then --timeout/--lease; ``channel`` builds the notifier."""
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    for name in arguments:
        parser.add_argument(name)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--lease", type=float, default=4.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="worker %(levelname)s %(name)s: %(message)s")
    asyncio.run(deliver(args.database, channel_id, lambda: channel(args), args.timeout, args.lease))


def _webhook(args: argparse.Namespace) -> object:
    return TypeAdapter(NotifierConfig).validate_python({"id": "hook", "kind": "webhook", "url": args.url})


if __name__ == "__main__":
    run_worker("hook", ["url"], _webhook)
