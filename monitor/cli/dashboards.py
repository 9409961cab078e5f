"""`giaoban dashboards export DIR`: write the Grafana dashboards (monitor/dashboards/definitions.py) as JSON files.

    giaoban dashboards export /var/lib/grafana/dashboards/giaoban

DIR is created if missing; files of the same name are replaced, others are left alone. Grafana's file
provisioning (deploy/grafana/provisioning/dashboards/giaoban.yml) picks them up. Exit 0 written,
2 DIR is not a usable directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from monitor.dashboards.definitions import DASHBOARDS, export

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(commands: Any) -> None:
    """Add `dashboards export` to the `giaoban` parser's subcommands."""
    dashboards = commands.add_parser("dashboards", help="the Grafana dashboards: export them as JSON files")
    sub = dashboards.add_subparsers(dest="dashboards_command", required=True, metavar="ACTION")
    export_parser = sub.add_parser(
        "export",
        help="write the dashboards' JSON into DIR",
        description=f"Write {', '.join(DASHBOARDS)} into DIR (created if missing), for Grafana's file provisioning.",
    )
    export_parser.add_argument("directory", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        print(
            f"giaoban: {directory} is a file, not a directory; give a directory (created if missing)", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        written = export(directory)
    except OSError as exc:  # permissions, a parent that is a file, a full disk: say which and where
        print(f"giaoban: cannot write the dashboards into {directory}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    return EXIT_OK
