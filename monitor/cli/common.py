"""What the database commands of `giaoban` (meetings, alerts, maintenance, readiness) share.

Each takes ``-c FILE`` (the inventory) and ``--database URL``, opens the storage for one command and closes
it after. The database is the service's (monitor/storage/location.py): --database, else the inventory's
``database``, else giaoban.db beside the inventory; a relative SQLite path is taken from the inventory's
directory, so a command pasted from an alert works from any directory. Exit codes: 0 done, 1 nothing
to act on (or not ready), 2 bad input; an input error names the field at fault in the district's language.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from monitor.config.database import FORMS, database_option
from monitor.config.loader import load_config
from monitor.config.models import Config
from monitor.errors import UsageError
from monitor.storage.database import Storage, StorageError
from monitor.storage.location import database_for, sqlite_file

DEFAULT_CONFIG = "giaoban.yml"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_ERROR = {"vi": "Lỗi", "en": "Error"}
_NEW = {
    "vi": "đã tạo cơ sở dữ liệu mới, còn trống: {file}; muốn dùng của dịch vụ thì -c trỏ tới tệp cấu hình dịch vụ chạy",
    "en": "created a new, empty database {file}; to use the service's, point -c at the inventory the service runs with",
}


def add_storage_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """-c/--config and --database; returns ``parser`` so that a subcommand is declared in one expression."""
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, help=f"inventory (default {DEFAULT_CONFIG})")
    parser.add_argument(
        "--database",
        type=database_option,
        help=f"database URL, {FORMS}, in place of the config's database and its password "
        "(default: the config's database, else giaoban.db beside the config)",
    )
    return parser


async def run_with_storage(
    args: argparse.Namespace,
    act: Callable[[Config, Storage], Awaitable[int]],
    *,
    input_errors: tuple[type[UsageError], ...] = (),
    resolve_secrets: bool = False,
) -> int:
    """Load the config, open the storage, ``act`` on both, close it; returns act's exit code.

    ConfigError propagates (the CLI prints every problem, exit 2). ``input_errors`` (their ``field`` names
    the input at fault) are printed here with exit 2; other UsageErrors propagate to the CLI.
    """
    config = await asyncio.to_thread(load_config, args.config, resolve_secrets=resolve_secrets)
    database = database_for(config, Path(args.config), override=args.database)
    file = sqlite_file(database)
    new = file is not None and not await asyncio.to_thread(file.exists)
    try:
        storage = await Storage.open(database)
    except StorageError as exc:
        print(f"giaoban: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if new:  # a mistyped -c would otherwise act on an empty database without a word (issue 14)
        print(f"giaoban: {_NEW[config.organisation.locale].format(file=file)}", file=sys.stderr)
    try:
        return await act(config, storage)
    except input_errors as exc:
        field = getattr(exc, "field", None)
        where = f" ({field})" if field else ""
        print(f"{_ERROR[config.organisation.locale]}{where}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        await storage.close()


__all__ = ["DEFAULT_CONFIG", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_storage_arguments", "run_with_storage"]
