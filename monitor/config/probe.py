"""The ``probe:`` section: what GET /probe may run, against which targets, for whom (issues 13 and 15).

blackbox_exporter's model: the caller names a module and a target, never raw options. A module, written here
by the admin, fixes the kind and its settings (secrets included, from the file as everywhere else); ``params``
lists the few options a caller may still set, and ``limits`` bound those and the run's deadline::

    probe:
      modules:                          # absent: the built-in modules (BUILTIN_MODULES)
        http_2xx: {kind: http}
        portal_ok: {kind: http, valid_status_codes: [200], body_regex: ["ok"], limits: {max_deadline: 5s}}
        icmp: {kind: icmp, count: 5, params: [count, interval]}
      allow: [198.51.100.0/24]             # networks besides the inventory's own addresses
      open: false                       # true: any target at all (a lab of one's own, never a shared network)
      concurrency: 4                    # /probe runs at once; one more is answered 429
      token: {env: GIAOBAN_PROBE_TOKEN} # optional: then /probe needs Authorization: Bearer TOKEN
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    create_model,
    model_validator,
)

from probes import KINDS
from probes.core.ids import check_id
from probes.core.secrets import Secret, is_secret_field
from probes.core.settings import Settings
from probes.core.units import Duration, Size

# Options that choose what giaoban sends, or which local file it reads: a caller never sets them, whatever
# a module's params say (issue 13: method=POST&body=...&headers=... made giaoban POST anything anywhere).
NEVER_FROM_CALLER = frozenset({"method", "body", "headers", "send", "ca_file"})


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(value))
    except ValueError as exc:
        raise ValueError(f"{exc}; write a network such as 198.51.100.0/24, or one address") from None


Network = Annotated[ipaddress.IPv4Network | ipaddress.IPv6Network, PlainValidator(_network)]


class ProbeLimits(BaseModel):
    """Bounds on what a caller may ask of one module through ``params``, and on the run's deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_count: int = Field(100, ge=1, le=1000, description="icmp: most echoes a caller may ask for")
    min_interval: Duration = Field(0.01, gt=0, description="icmp: shortest interval between echoes a caller may ask")
    max_payload_size: int = Field(1472, ge=0, le=65000, description="icmp: largest payload (1472: one Ethernet frame)")
    max_body_size: Size = Field(1 << 20, ge=0, description="http: largest max_body_size a caller may ask for")
    max_deadline: Duration = Field(
        30.0, gt=0, description="longest run: deadline= above it is refused, a longer scrape timeout is cut to it"
    )


class ProbeModuleBase(BaseModel):
    """A named /probe module: a kind and its settings (mixed in per kind by _module_models()), params, limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    params: list[str] = Field(default_factory=list, description="options a caller may set in the query")
    limits: ProbeLimits = Field(default_factory=ProbeLimits)

    @model_validator(mode="after")
    def _params_are_options(self) -> ProbeModuleBase:
        fields = KINDS[self.kind].settings.model_fields
        for name in self.params:
            if name not in fields:
                raise ValueError(f"params: {name!r} is not an option of kind {self.kind}; options: {', '.join(fields)}")
            if name in NEVER_FROM_CALLER or is_secret_field(fields[name].annotation):
                raise ValueError(f"params: {name} cannot be left to the caller; set it in the module itself")
        return self

    def settings(self) -> Settings:
        """The kind's settings this module fixes: what it sets explicitly, the kind's defaults for the rest."""
        model = KINDS[self.kind].settings
        return model.model_validate({k: getattr(self, k) for k in self.model_fields_set if k in model.model_fields})


def _module_models() -> Any:
    models: list[type[BaseModel]] = []
    for kind in KINDS.values():
        clash = set(kind.settings.model_fields) & set(ProbeModuleBase.model_fields)
        assert not clash, f"kind {kind.name}'s options {clash} clash with a module's own fields"
        name = f"{kind.name.title().replace('-', '')}ProbeModule"
        tag: Any = Literal[kind.name]
        bases: Any = (ProbeModuleBase, kind.settings)
        models.append(create_model(name, __base__=bases, kind=(tag, ...)))
    return Annotated[Union[tuple(models)], Field(discriminator="kind")]  # noqa: UP007


if TYPE_CHECKING:
    ProbeModule = ProbeModuleBase
else:
    ProbeModule = _module_models()

# blackbox_exporter's usual names, so its stock recipes work (`params: {module: [http_2xx]}`), and giaoban's own.
# No POST module: one only exists when the admin writes it (issue 15). icmp keeps the count and interval that
# giaoban's earlier recipes passed (`params: {kind: [icmp], count: ["20"]}`), within the limits.
_BUILTIN: dict[str, dict[str, Any]] = {
    "http_2xx": {"kind": "http"},
    "tcp_connect": {"kind": "tcp"},
    "icmp": {"kind": "icmp", "params": ["count", "interval"]},
    "sip_options": {"kind": "sip"},
    "h323_connect": {"kind": "h323"},
}
BUILTIN_MODULES: Mapping[str, ProbeModuleBase] = {
    name: TypeAdapter(ProbeModule).validate_python(data) for name, data in _BUILTIN.items()
}


class ProbeSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modules: dict[Annotated[str, AfterValidator(check_id)], ProbeModule] | None = Field(
        None, description="named modules; absent: the built-in http_2xx, tcp_connect, icmp, sip_options, h323_connect"
    )
    allow: list[Network] = Field(
        default_factory=list, description="networks a target may be in, besides the inventory's own addresses"
    )
    open: bool = Field(False, description="any target at all; only for a lab of one's own")
    concurrency: int = Field(4, ge=1, le=256, description="/probe runs at once; one more is answered 429")
    token: Secret | None = Field(None, description="bearer token /probe then requires")

    def module_table(self) -> Mapping[str, ProbeModuleBase]:
        return self.modules if self.modules is not None else BUILTIN_MODULES
