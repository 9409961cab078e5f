"""The `giaoban` command (also `python -m monitor`).

    giaoban run [-c FILE] [--listen HOST:PORT] [--database URL] [--spool FILE]
                [--scope SITE_ID[,...]] [--shard K/N] [--agent-name NAME] [--lease-ttl DURATION]
    giaoban check-config FILE [--secrets]
    giaoban init --province NAME|CODE | --national [-o FILE] [--force] [--addresses placeholder|test]
    giaoban meetings list|add|remove|import FILE.ics [-c FILE] [--database URL]
    giaoban alerts list|ack ID · giaoban maintenance list|add|remove [-c FILE] [--database URL]
    giaoban readiness MEETING|--sites all|ID,ID [--now] [--json] [-c FILE] [--database URL]
    giaoban report --from DATE --to DATE [--format html|csv|json|pdf] [-o FILE] [--lang vi|en] [-c FILE] [...]
    giaoban probe KIND TARGET [--port PORT] [--OPTION VALUE ...] [--deadline DURATION] [--json]
    giaoban demo [--listen HOST:PORT] [--database URL] [--dir DIR]

Exit codes: 0 success, 1 a check failed (probe down), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.app.service import serve
from monitor.cli import alerts as cli_alerts
from monitor.cli import dashboards as cli_dashboards
from monitor.cli import init as cli_init
from monitor.cli import meetings as cli_meetings
from monitor.cli import readiness as cli_readiness
from monitor.cli import report as cli_report
from monitor.cli.check_config import check_config
from monitor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_storage_arguments
from monitor.config.loader import ConfigError
from monitor.demo import run as demo
from monitor.engine.ownership import OwnershipSpec
from monitor.errors import GiaobanError, UsageError
from monitor.storage.leases import DEFAULT_TTL, MAX_TTL, MIN_TTL
from monitor.web.probe_options import field_shapes, settings_from_pairs
from probes import KINDS, ProbeKind
from probes.context import probe_context
from probes.core.result import ProbeResult
from probes.core.settings import join_host_port, split_host_port
from probes.core.units import format_duration, parse_duration
from probes.runner import run_probe

log = logging.getLogger("giaoban")


def takes_port(kind: ProbeKind) -> bool:
    """The kind's endpoints take ``port:`` beside the address (README's kinds table), so its probe takes --port."""
    return not kind.target_is_url and kind.name != "icmp" and "port" not in kind.settings.model_fields


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is a number from 1 to 65535")
    return int(text)


def _lease_ttl(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not MIN_TTL <= seconds <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{text!r}: a lease lasts {MIN_TTL:g}s to {MAX_TTL:g}s")
    return seconds


def _target(kind: ProbeKind, target: str, port: int | None) -> str:
    """TARGET with --port joined to it, as an endpoint's address and port are (issue 15: sip rejected --port)."""
    if port is None:
        return target
    if "://" in target:
        raise UsageError(f"--port: {target} is a URL; put the port in it")
    try:
        split_host_port(target)
    except ValueError:
        return join_host_port(target.removeprefix("[").removesuffix("]"), port)
    raise UsageError(f"--port: {target} already gives a port; give it once")


def _add_probe_parser(commands: Any) -> None:
    probe = commands.add_parser(
        "probe",
        help="run one probe and print the result",
        description="Run one probe now and print a table (or JSON). Options are the kind's settings, "
        "e.g. giaoban probe icmp 127.0.0.1 --count 5 --interval 100ms",
    )
    kinds = probe.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind in KINDS.values():
        summary = next(iter((kind.settings.__doc__ or "").strip().splitlines()), None)
        sub = kinds.add_parser(kind.name, help=summary)
        sub.add_argument("target", help="host (icmp), HOST:PORT (tcp), URL (http)")
        sub.add_argument("--deadline", help="bound on the whole probe, e.g. 5s (default: the kind's own)")
        sub.add_argument("--json", action="store_true", help="print the result as JSON")
        if takes_port(kind):
            default = f"default {kind.default_port}" if kind.default_port else "when TARGET gives none"
            sub.add_argument("--port", type=_port, help=f"port to probe, if TARGET gives none ({default})")
        for name, shape in field_shapes(kind).items():
            field = kind.settings.model_fields[name]
            flag = "--" + name.replace("_", "-")
            helptext = field.description or ""
            if shape == "secret":
                helptext = f"{helptext} (a secret: env:NAME or file:PATH)".strip()
            if field.annotation is bool:
                sub.add_argument(
                    flag,
                    dest=f"opt_{name}",
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=helptext,
                )
            elif shape in ("list", "model_list", "dict"):
                sub.add_argument(
                    flag, dest=f"opt_{name}", action="append", metavar=name.upper(), help=f"{helptext} (repeatable)"
                )
            else:
                sub.add_argument(flag, dest=f"opt_{name}", metavar=name.upper(), help=helptext)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="giaoban", description="Readiness monitoring for district video briefings.")
    parser.add_argument("--version", action="version", version=f"giaoban {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("GIAOBAN_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the service")
    add_storage_arguments(run)
    run.add_argument("--listen", help="HOST:PORT for /metrics and the API (default: the config's listen)")
    run.add_argument(
        "--spool", help="the local spool's file when the database is PostgreSQL (default: the config's spool.path)"
    )
    scale = run.add_argument_group("scale-out (several agents, one PostgreSQL; README: Scale-out)")
    scale.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="SITE_ID[,SITE_ID...]",
        help="own this site and everything under it (repeatable; default: the whole inventory)",
    )
    scale.add_argument(
        "--shard", metavar="K/N", help="own the sites whose id hashes to K modulo N (Prometheus hashmod, K from 0)"
    )
    scale.add_argument(
        "--agent-name", help="this agent's name in giaoban_site_info, the leases and the API (default: the host name)"
    )
    scale.add_argument(
        "--lease-ttl",
        type=_lease_ttl,
        default=DEFAULT_TTL,
        metavar="DURATION",
        help=f"how long a scope's lease outlives its holder's last renewal (default {DEFAULT_TTL:g}s)",
    )
    check = commands.add_parser("check-config", help="validate an inventory file (exit 0 or 2)")
    check.add_argument("file")
    check.add_argument(
        "--secrets", action="store_true", help="also read every secret ({env:}/{file:}) the inventory names"
    )
    cli_init.add_parser(commands)
    _add_probe_parser(commands)
    cli_meetings.add_parser(commands)
    cli_alerts.add_parsers(commands)
    cli_readiness.add_parser(commands)
    cli_report.add_parser(commands)
    cli_dashboards.add_parser(commands)
    demo.add_parser(commands)
    return parser


def _pairs(args: argparse.Namespace, kind: ProbeKind) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name in field_shapes(kind):
        value = getattr(args, f"opt_{name}", None)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def _format_value(key: str, value: float) -> str:
    if key.startswith("rtt_") or key in ("jitter",):
        return f"{value * 1000:.3f} ms"
    if key == "loss_ratio":
        return f"{value * 100:.1f} %"
    if key in ("tls_cert_expiry", "tls_earliest_expiry", "tls_last_chain_expiry", "last_modified"):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # ip_addr_hash 3668918509, not 3.66892e+09
    return f"{value:g}"


def render_table(kind: str, target: str, result: ProbeResult) -> str:
    rows = [
        ("kind", kind),
        ("target", target),
        ("result", "OK" if result.success else "FAILED"),
        ("reason", str(result.reason)),
    ]
    if result.detail:
        rows.append(("detail", result.detail))
    rows.append(("duration", f"{result.duration * 1000:.3f} ms"))
    rows += [(f"phase {name}", f"{seconds * 1000:.3f} ms") for name, seconds in result.phases.items()]
    rows += [(key, _format_value(key, value)) for key, value in result.values.items()]
    rows += list(result.info.items())
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def result_json(kind: str, target: str, result: ProbeResult) -> dict[str, Any]:
    return {
        "kind": kind,
        "target": target,
        "success": result.success,
        "reason": str(result.reason),
        "detail": result.detail,
        "duration_seconds": result.duration,
        "phases": dict(result.phases),
        "values": dict(result.values),
        "info": dict(result.info),
        "timestamp": result.timestamp,
    }


async def _probe_once(args: argparse.Namespace) -> int:
    kind = KINDS[args.kind]
    settings = settings_from_pairs(kind, _pairs(args, kind), secret_sources=True)
    if args.deadline is not None:
        try:
            timeout = parse_duration(args.deadline)
        except ValueError as exc:
            raise UsageError(f"--deadline: {exc}") from None
    else:
        timeout = kind.deadline(settings) if kind.deadline else 10.0
    target = _target(kind, args.target, getattr(args, "port", None))
    async with probe_context() as ctx:
        result = await run_probe(kind, target, settings, ctx=ctx, timeout=timeout)
    if args.json:
        print(json.dumps(result_json(kind.name, target, result), ensure_ascii=False, indent=2))
    else:
        print(render_table(kind.name, target, result))
    log.debug("probe deadline was %s", format_duration(timeout))
    return EXIT_OK if result.success else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "check-config":
            return check_config(args.file, resolve_secrets=args.secrets)
        if args.command == "init":
            return cli_init.run(args)
        if args.command == "probe":
            return asyncio.run(_probe_once(args))
        if args.command == "run":
            spool = Path(args.spool).absolute() if args.spool else None
            spec = OwnershipSpec.parse(agent=args.agent_name, scopes=args.scope, shard=args.shard)
            status: int = asyncio.run(
                serve(
                    Path(args.config), listen=args.listen, database=args.database, spool=spool,
                    ownership=spec, lease_ttl=args.lease_ttl,
                )
            )  # fmt: skip
            return status
        if args.command in ("alerts", "maintenance"):
            alerts_code: int = asyncio.run(cli_alerts.run(args))
            return alerts_code
        if args.command == "meetings":
            code: int = asyncio.run(cli_meetings.run(args))
            return code
        if args.command == "readiness":
            verdict: int = asyncio.run(cli_readiness.run(args))
            return verdict
        if args.command == "report":
            written: int = asyncio.run(cli_report.run(args))
            return written
        if args.command == "dashboards":
            return cli_dashboards.run(args)
        if args.command == "demo":
            return demo.run(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in the configuration; nothing was started", file=sys.stderr)
        return EXIT_USAGE
    except GiaobanError as exc:  # usage, storage: say what is wrong, no traceback
        print(f"giaoban: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_USAGE
