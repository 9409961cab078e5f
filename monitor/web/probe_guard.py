"""What GET /probe may run, against which target, for how long: every check before any traffic (issues 13, 15).

A request names a module of the config's ``probe:`` section (monitor/config/probe.py) and a target; ``kind=``
still picks the one module of that kind, so giaoban's earlier recipes keep working. In order:

    token       probe.token set: Authorization: Bearer TOKEN                                        401
    module      module=NAME (or kind=KIND) in the module table; options only those in its params,
                within its limits                                                                   400
    target      its form; an http target without a scheme gets http:// (as blackbox_exporter)     400
    allow-list  an inventory host (name or address) or an address in probe.allow, unless open       403
    deadline    deadline= or the scrape-timeout header minus SCRAPE_TIMEOUT_OFFSET, at most the
                module's limits.max_deadline; an ICMP round shrinks to fit it                        400
    concurrency at most probe.concurrency runs at once; one more is refused, not queued             429

Refused, not queued: a queued probe would spend its scrape's deadline waiting, and Prometheus tries again at
the next scrape anyway. The allow-list holds for every connection an http probe makes, redirects included
(``TargetPolicy.refusal`` is the session's ConnectGuard, probes/http.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from yarl import URL

from monitor.errors import UsageError
from monitor.web.probe_options import field_shapes, settings_from_pairs
from probes import KINDS, ProbeKind
from probes.core.settings import Settings, split_host_port
from probes.core.units import format_duration, parse_duration

if TYPE_CHECKING:
    from monitor.config.models import Config
    from monitor.config.probe import ProbeLimits, ProbeModuleBase

# blackbox_exporter's default: leave Prometheus half a second to receive the answer.
SCRAPE_TIMEOUT_OFFSET = 0.5
# Query keys that are the request's own, never a kind's option.
RESERVED = frozenset({"module", "kind", "target", "deadline", "debug"})

# A caller's option → (the limit that bounds it, True when the limit is a maximum).
_CAPPED: Mapping[str, tuple[str, bool]] = {
    "count": ("max_count", True),
    "interval": ("min_interval", False),
    "payload_size": ("max_payload_size", True),
    "max_body_size": ("max_body_size", True),
}

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(UsageError):
    """A /probe request that is not run: the HTTP status and the sentence that says why."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True, slots=True)
class Plan:
    """One /probe run, decided: what runs against what for how long, and what was changed to fit."""

    module: str
    kind: ProbeKind
    target: str
    settings: Settings
    timeout: float
    notes: tuple[str, ...] = ()


# --- the allow-list -----------------------------------------------------------------------------------------


def _address(text: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(text.strip("[]").partition("%")[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
        return address.ipv4_mapped
    return address


def _name(text: str) -> str:
    return text.strip().rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """The targets /probe may reach: the inventory's hosts and probe.allow, or all with probe.open."""

    open: bool
    addresses: frozenset[_Address]
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def of(cls, config: Config) -> TargetPolicy:
        hosts: list[str] = []
        for site in config.sites:
            if site.link is not None:
                hosts.append(site.link.address)
            hosts.extend(device.address for device in site.devices)
            for endpoint in site.endpoints:
                host = URL(endpoint.address).host if KINDS[endpoint.kind].target_is_url else endpoint.address
                hosts.extend([host] if host else [])
        found = [(_address(host), host) for host in hosts]
        return cls(
            open=config.probe.open,
            addresses=frozenset(a for a, _ in found if a is not None),
            names=frozenset(_name(host) for a, host in found if a is None),
            networks=tuple(config.probe.allow),
        )

    def _allows(self, address: _Address) -> bool:
        return address in self.addresses or any(address in net for net in self.networks)

    def target_refusal(self, host: str) -> str | None:
        """Why /probe may not probe ``host`` (None: it may); decided from the text alone, before any lookup."""
        if self.open:
            return None
        address = _address(host)
        if address is not None:
            if self._allows(address):
                return None
            return f"{address} is neither in the inventory nor in probe.allow; add its network to probe.allow"
        if _name(host) in self.names:
            return None
        return (
            f"{host!r} is not a host name of the inventory; give an address in probe.allow, "
            "or add the name to the inventory"
        )

    def refusal(self, address: str, name: str | None) -> str | None:
        """probes.http.ConnectGuard: every connection of a /probe http run, redirects included."""
        if self.open or (name is not None and _name(name) in self.names):
            return None
        parsed = _address(address)
        if parsed is not None and self._allows(parsed):
            return None
        return f"{address} is outside /probe's allow-list (the inventory's hosts and probe.allow)"


# --- the request --------------------------------------------------------------------------------------------


def _module(query: Mapping[str, str], table: Mapping[str, ProbeModuleBase]) -> tuple[str, ProbeModuleBase]:
    known = ", ".join(sorted(table)) or "none: add probe.modules to the config"
    kind_name, name = query.get("kind"), query.get("module")
    if kind_name is not None and kind_name not in KINDS:
        raise Refused(400, f"kind must be one of: {', '.join(sorted(KINDS))}", field="kind")
    if name is not None:
        module = table.get(name)
        if module is None:
            raise Refused(400, f"unknown module {name!r}; modules: {known}", field="module")
        if kind_name is not None and module.kind != kind_name:
            raise Refused(400, f"module {name} is of kind {module.kind}, not {kind_name}", field="kind")
        return name, module
    if kind_name is None:
        raise Refused(400, f"module is required, e.g. module=http_2xx; modules: {known}", field="module")
    of_kind = sorted(n for n, m in table.items() if m.kind == kind_name)
    if len(of_kind) != 1:
        which = f"several: {', '.join(of_kind)}" if of_kind else "none"
        raise Refused(400, f"kind={kind_name} needs exactly one module of that kind ({which}); give module=NAME")
    return of_kind[0], table[of_kind[0]]


def _settings(name: str, module: ProbeModuleBase, pairs: list[tuple[str, str]]) -> Settings:
    kind = KINDS[module.kind]
    shapes = field_shapes(kind)
    for key, _ in pairs:  # an unknown option and a secret get their own words from settings_from_pairs
        if key in shapes and shapes[key] != "secret" and key not in module.params:
            open_ = ", ".join(module.params) or "none"
            raise Refused(
                400,
                f"option {key!r} is not open to callers of module {name} (open: {open_}); "
                f"the admin may list it in probe.modules.{name}.params",
                field=key,
            )
    try:
        settings = settings_from_pairs(kind, pairs, base=module.settings())
    except UsageError as exc:
        raise Refused(400, str(exc)) from None
    _within_limits(name, module.limits, settings, {key for key, _ in pairs})
    return settings


def _within_limits(name: str, limits: ProbeLimits, settings: Settings, given: set[str]) -> None:
    for key in sorted(given & set(_CAPPED)):
        limit_name, is_max = _CAPPED[key]
        value, limit = getattr(settings, key, None), getattr(limits, limit_name)
        if value is None or (value <= limit if is_max else value >= limit):
            continue
        bound = "above" if is_max else "below"
        raise Refused(
            400, f"{key} {value:g} is {bound} module {name}'s limit {limit:g} (limits.{limit_name})", field=key
        )


def normal_target(kind: ProbeKind, target: str) -> str:
    """An http target without a scheme is http://, as blackbox_exporter takes it (issue 15)."""
    if kind.target_is_url and "://" not in target:
        return f"http://{target}"
    return target


def target_host(kind: ProbeKind, target: str) -> str:
    """The host a target names, from its text alone; Refused(400) when it names none."""
    try:
        if "://" in target:
            host = URL(target).host
            if not host:
                raise ValueError(f"{target!r} names no host; write e.g. http://HOST[:PORT]/PATH")
            return host
        if _address(target) is not None:  # a bare address, v6 too (icmp)
            return target.strip("[]")
        host, _ = split_host_port(target, default_port=kind.default_port or 1)
    except ValueError as exc:
        raise Refused(400, f"target: {exc}", field="target") from None
    return host


def _timeout(
    query: Mapping[str, str], header: str | None, natural: float, limits: ProbeLimits, name: str
) -> tuple[float, str]:
    """The run's deadline and how it was chosen.

    Not ``timeout``: that name is a kind's own setting (icmp: how long to wait for the last reply).
    """
    cap = limits.max_deadline
    text = query.get("deadline") or header
    if text is None:
        if natural > cap:
            own = format_duration(natural)
            return cap, f"{format_duration(cap)} (the module's own {own}, cut to limits.max_deadline)"
        return natural, f"{format_duration(natural)} (the module's own)"
    try:
        # The header is bare seconds ("10"); the query parameter takes units too ("1m").
        value = parse_duration(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise Refused(400, f"deadline: {exc}", field="deadline") from None
    if "deadline" in query:
        if value > cap:
            raise Refused(
                400,
                f"deadline {text} is above module {name}'s limit {format_duration(cap)} (limits.max_deadline)",
                field="deadline",
            )
        how = f"deadline={format_duration(value)}"
    else:
        value -= SCRAPE_TIMEOUT_OFFSET
        how = f"scrape timeout {text}s minus {SCRAPE_TIMEOUT_OFFSET:g}s"
        if value > cap:
            value, how = cap, f"{how}, cut to limits.max_deadline"
    if value <= 0:
        raise Refused(400, "deadline must be greater than zero", field="deadline")
    return value, f"{format_duration(value)} ({how})"


def plan(
    query: Mapping[str, str], pairs: list[tuple[str, str]], header: str | None, config: Config, policy: TargetPolicy
) -> Plan:
    """Decide one /probe run from the query, the scrape-timeout header and the config; Refused if not allowed.

    ``pairs``: every query item that is not RESERVED, in order (a list option may repeat); ``policy``: the
    config's TargetPolicy (made once per config, as the http session's guard reads it too).
    """
    name, module = _module(query, config.probe.module_table())
    kind = KINDS[module.kind]
    settings = _settings(name, module, pairs)
    raw = query.get("target", "")
    if not raw:
        raise Refused(
            400, "target is required, e.g. target=192.0.2.1 (icmp), HOST:PORT (tcp), a URL (http)", field="target"
        )
    target = normal_target(kind, raw)
    host = target_host(kind, target)
    if (why := policy.target_refusal(host)) is not None:
        raise Refused(403, f"target not allowed: {why}", field="target")
    natural = kind.deadline(settings) if kind.deadline else config.defaults.timeout
    timeout, how = _timeout(query, header, natural, module.limits, name)
    notes = [f"deadline: {how}"]
    if kind.fit is not None and kind.deadline is not None and kind.deadline(settings) > timeout:
        fitted = kind.fit(settings, timeout)
        changed = [
            f"{key} {getattr(settings, key):g}→{getattr(fitted, key):g}"
            for key in type(settings).model_fields
            if getattr(settings, key) != getattr(fitted, key)
        ]
        notes.append(f"shrunk to fit the deadline: {', '.join(changed)}")
        settings = fitted
    return Plan(module=name, kind=kind, target=target, settings=settings, timeout=timeout, notes=tuple(notes))


class Gate:
    """At most ``limit`` /probe runs at once; the caller reads the limit from the current config each time."""

    def __init__(self) -> None:
        self.in_flight = 0

    def enter(self, limit: int) -> bool:
        if self.in_flight >= limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
