"""`giaoban check-config FILE`: validate an inventory and say what it holds, or list every problem.

On success (exit 0), one summary line on stdout, then the secrets it refers to (by source, never value):

    examples/thai-nguyen.yml: OK — Tỉnh Thái Nguyên (code 19), 93 sites (1 province, 77 communes, 15 wards),
        93 links, ... 6 technicians                                                    (one line)
    secrets (not read): env GIAOBAN_TOKEN, env HUB_AUTH, env TSLCD_COMMUNITY, file /etc/giaoban/hub.priv

Keys the file still writes the older way (``district:``) are warned about on stderr, in the inventory's
language; they are not errors. On failure (exit 2), every problem on stderr as FILE:LINE:COL: path: message,
then a count line.
"""

from __future__ import annotations

import sys
import typing
from collections import Counter
from typing import TextIO

from monitor.config.loader import ConfigError, load_config, secrets_of
from monitor.config.models import Config, Site

EXIT_OK, EXIT_CONFIG = 0, 2

# Roles in the schema's order, so the summary reads top-down (central, province, ..., ward, special zone).
_ROLES: tuple[str, ...] = typing.get_args(Site.model_fields["role"].annotation)
_WARNING = {"vi": "cảnh báo", "en": "warning"}


def check_config(
    path: str, *, out: TextIO | None = None, err: TextIO | None = None, resolve_secrets: bool = False
) -> int:
    """Load ``path``; print a summary (0) or every problem (2). With ``resolve_secrets`` each secret is read."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        config = load_config(path, resolve_secrets=resolve_secrets)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        count = len(exc.problems)
        print(f"{path}: {count} problem{'' if count == 1 else 's'}; nothing was loaded", file=err)
        return EXIT_CONFIG
    print(summary(path, config), file=out)
    locale = config.organisation.locale
    for notice in config.deprecations():
        print(f"{path}: {_WARNING[locale]}: {notice[locale]}", file=err)
    sources = sorted({secret.source() for secret in secrets_of(config)})
    if sources:
        state = "all readable" if resolve_secrets else "not read"
        print(f"secrets ({state}): {', '.join(sources)}", file=out)
    return EXIT_OK


def summary(path: str, config: Config) -> str:
    """One line: what the inventory holds, counted."""
    roles: Counter[str] = Counter(site.role for site in config.sites)
    by_role = ", ".join(_count(roles[role], role.replace("_", " ")) for role in _ROLES if roles[role])
    links = sum(site.link is not None for site in config.sites)
    devices = sum(len(site.devices) for site in config.sites)
    endpoints = sum(len(site.endpoints) for site in config.sites)
    organisation = config.organisation
    code = f" (code {organisation.code})" if organisation.code else ""
    return (
        f"{path}: OK — {organisation.name}{code}, {_count(len(config.sites), 'site')} ({by_role}), "
        f"{_count(links, 'link')}, {_count(devices, 'device')}, {_count(endpoints, 'endpoint')}, "
        f"{_count(len(config.technicians), 'technician')}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
