"""The inventory schema: district, defaults, technicians and the tree of sites.

Defaults live here, with the schema. Every model forbids unknown keys. Endpoint kinds are a
discriminated union generated from the probe registry (probes.KINDS), so a new probe kind needs no edit
here. Loading YAML with positions and cross-reference checks live in monitor/config/loader.py.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from alerts.config import AlertsConfig, MaintenanceConfig
from alerts.notifiers.config import NotifierConfig
from monitor.config.index import InventoryIndex
from monitor.i18n import Locale
from monitor.recurrence import zone
from probes import KINDS, ProbeKind
from probes.core.ids import check_id
from probes.core.secrets import Secret
from probes.core.settings import Settings, join_host_port, split_host_port
from probes.core.units import Bandwidth, Duration, Ratio
from probes.icmp.probe import IcmpSettings
from probes.snmp.probe import SnmpSettings

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def check_host(value: str) -> str:
    """An IP address or a DNS name; names are resolved at probe time."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOSTNAME_RE.match(text) or text.replace(".", "").isdigit():
        raise ValueError(f"{value!r} is neither an IP address nor a host name")
    return text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(Strict):
    name: str = Field(min_length=1)
    timezone: str = "Asia/Ho_Chi_Minh"
    locale: Locale = "vi"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)  # its ValueError says what to write instead
        return value


class Thresholds(Strict):
    """Quality limits for interactive video (ITU-T G.114; Cisco: loss ≤ 1%, jitter ≤ 30 ms, +20%)."""

    rtt: Duration = Field(0.150, gt=0, description="round-trip time above which a link is degraded")
    jitter: Duration = Field(0.030, gt=0)
    loss: Ratio = 0.01
    mos: float = Field(3.6, ge=1.0, le=4.5)
    headroom: Ratio = 0.20
    # Beyond the limits above a site is DEGRADED; beyond these it is NOT_READY (Pexip's loss bands: < 1% good,
    # 1-3% fair, > 3% poor; G.114: one-way delay above 200 ms is unacceptable for interactive use).
    rtt_critical: Duration = Field(0.400, gt=0, description="round-trip time above which a site is not ready")
    jitter_critical: Duration = Field(0.060, gt=0)
    loss_critical: Ratio = 0.03
    mos_critical: float = Field(3.1, ge=1.0, le=4.5)


class DefaultsBase(Strict):
    """Defaults for every target; one more block per registered probe kind (defaults.icmp, defaults.http, ...)."""

    interval: Duration = Field(60.0, gt=0, description="how often each target is probed")
    timeout: Duration = Field(10.0, gt=0, description="deadline of one tcp/http probe")
    thresholds: Thresholds = Field(default_factory=Thresholds)

    def for_kind(self, kind: str) -> Settings:
        settings: Settings = getattr(self, kind)
        return settings


def _defaults_model() -> type[DefaultsBase]:
    fields: dict[str, Any] = {
        kind.name: (kind.settings, Field(default_factory=kind.settings))
        for kind in KINDS.values()
        if not kind.device_only  # snmp settings belong to each device: there is no sensible default community
    }
    return create_model("Defaults", __base__=DefaultsBase, **fields)


if TYPE_CHECKING:
    Defaults = DefaultsBase
else:
    Defaults = _defaults_model()


class Technician(Strict):
    id: str
    name: str = Field(min_length=1)
    telegram_chat_id: str | None = None
    email: str | None = None
    phone: str | None = None

    @field_validator("telegram_chat_id", mode="before")
    @classmethod
    def _chat_id_text(cls, value: Any) -> Any:
        # Telegram chat ids are numbers (groups negative) and YAML reads them as such.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise ValueError(f"{value!r} is not an e-mail address such as tuan@example.org")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^\+?[0-9][0-9 .-]{5,19}$", value):
            raise ValueError(f"{value!r} is not a phone number; write digits, e.g. +84 912 345 678")
        return value

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Link(Strict):
    """The site's uplink: probed by ICMP from the hub; its router interface polled by SNMP (issue 3)."""

    address: str
    device: str | None = Field(None, description="id of the site's router whose interface carries the link")
    interface: str | None = Field(None, description="ifName, ifDescr or ifAlias of that interface")
    bandwidth: Bandwidth | None = Field(None, description="contracted bandwidth, if less than the port speed")
    interval: Duration | None = Field(None, gt=0)
    icmp: IcmpSettings | None = Field(None, description="overrides of defaults.icmp")

    _host = field_validator("address")(classmethod(lambda cls, v: check_host(v)))

    @model_validator(mode="after")
    def _interface_needs_device(self) -> Link:
        if self.interface is not None and self.device is None:
            raise ValueError("interface is given without device: name the router (device: ID) that has it")
        return self


class Device(Strict):
    id: str
    address: str
    snmp: SnmpSettings | None = None
    interval: Duration | None = Field(None, gt=0)

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))
    _host = field_validator("address")(classmethod(lambda cls, v: check_host(v)))


class EndpointBase(Strict):
    """Fields every endpoint has; the kind's own settings are mixed in by _endpoint_models()."""

    id: str
    kind: str
    address: str = Field(description="host or IP; for http, the URL")
    port: int | None = Field(None, ge=1, le=65535)
    interval: Duration | None = Field(None, gt=0)
    timeout: Duration | None = Field(None, gt=0)
    call_rate: Bandwidth | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))

    @field_validator("address")
    @classmethod
    def _address_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = KINDS.get(info.data.get("kind", ""))
        if kind is None:
            return value
        if kind.target_is_url:
            if not re.match(r"^https?://[^/\s]", value):
                raise ValueError(
                    f"an endpoint of kind {kind.name} takes a URL starting with http:// or https:// as its address"
                )
            return value
        return check_host(value)

    @model_validator(mode="after")
    def _port_fits_kind(self) -> EndpointBase:
        kind = KINDS[self.kind]
        if kind.target_is_url and self.port is not None:
            raise ValueError(f"put the port in the URL, not in port:, for a {kind.name} endpoint")
        needs_port = not (kind.target_is_url or kind.port_optional or kind.default_port or kind.name == "icmp")
        if needs_port and self.port is None:
            raise ValueError(f"a {kind.name} endpoint needs port:")
        return self

    def target(self) -> str:
        kind = KINDS[self.kind]
        if kind.target_is_url or kind.name == "icmp" or (kind.port_optional and self.port is None):
            return self.address
        return join_host_port(self.address, self.port or kind.default_port)

    def settings(self, default: Settings) -> Settings:
        """``default`` (defaults.<kind>) with every kind setting this endpoint sets explicitly."""
        nested = getattr(self, self.kind, None)
        if isinstance(nested, Settings):
            return merged(default, nested)
        own = type(default).model_fields
        return default.model_copy(update={k: getattr(self, k) for k in self.model_fields_set if k in own})


def nests_settings(kind: ProbeKind) -> bool:
    """A kind whose settings reuse an endpoint field's name (icmp's echo `interval`) is nested under its name."""
    return bool(set(kind.settings.model_fields) & set(EndpointBase.model_fields))


def _endpoint_models() -> Any:
    models: list[type[BaseModel]] = []
    for kind in KINDS.values():
        if kind.device_only:
            continue
        tag: Any = Literal[kind.name]
        name = f"{kind.name.title().replace('-', '')}Endpoint"
        if nests_settings(kind):
            nested: Any = (kind.settings | None, Field(None, description=f"overrides of defaults.{kind.name}"))
            models.append(create_model(name, __base__=EndpointBase, kind=(tag, ...), **{kind.name: nested}))
        else:
            bases: Any = (EndpointBase, kind.settings)
            models.append(create_model(name, __base__=bases, kind=(tag, ...)))
    return Annotated[Union[tuple(models)], Field(discriminator="kind")]  # noqa: UP007


if TYPE_CHECKING:
    Endpoint = EndpointBase
else:
    Endpoint = _endpoint_models()


class Site(Strict):
    id: str
    name: str = Field(min_length=1)
    role: Literal["province", "district", "commune", "other"] = "commune"
    parent: str | None = None
    location: Location | None = None
    technicians: list[str] = Field(default_factory=list)
    link: Link | None = None
    devices: list[Device] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    thresholds: Thresholds | None = Field(None, description="overrides of defaults.thresholds")

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))


class Scheduler(Strict):
    concurrency: dict[str, int] = Field(
        default_factory=lambda: {
            "icmp": 512,
            "tcp": 256,
            "http": 128,
            "sip": 256,
            "h323": 128,
            "cisco-xapi": 64,
            "poly-rest": 64,
            "jitsi": 64,
            "snmp": 64,
        },
        description="probes of one kind in flight at once",
    )

    @field_validator("concurrency")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        for name, limit in value.items():
            if name not in KINDS:
                raise ValueError(f"unknown probe kind {name!r}; known kinds: {', '.join(sorted(KINDS))}")
            if limit < 1:
                raise ValueError(f"concurrency for {name} must be at least 1")
        return value


class History(Strict):
    """Probe history in the database: raw points for a short window, hourly aggregates for long."""

    raw_retention: Duration = Field(2 * 86400.0, gt=0, description="how long raw probe results are kept")
    hourly_retention: Duration = Field(365 * 86400.0, gt=0, description="how long hourly aggregates are kept")
    batch: int = Field(1000, ge=1, le=100_000, description="rows per database write")
    flush_interval: Duration = Field(5.0, gt=0, description="longest a result waits before it is written")


class MeetingConfig(Strict):
    """A briefing in the config's static schedule (more come from the CLI, the API and .ics imports)."""

    id: str
    title: str = Field(min_length=1, max_length=500)
    start: datetime = Field(description='naive = the district\'s time, e.g. "2026-12-07T07:30"')
    duration: Duration = Field(7200.0, gt=0)
    timezone: str | None = None
    rrule: str | None = Field(None, description="recurrence, e.g. FREQ=WEEKLY;BYDAY=MO")
    exdates: list[datetime] = Field(default_factory=list, description="occurrences that do not take place")
    sites: Literal["all"] | list[str] = "all"
    call_rate: Bandwidth = 2_048_000
    lead_times: list[Duration] | None = Field(None, description="when to check readiness, e.g. [60m, 30m, 10m]")

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))
    _zone = field_validator("timezone")(classmethod(lambda cls, v: v if v is None else District._known_zone(v)))


class Readiness(Strict):
    """Checks before each meeting (DESIGN.md "Readiness before a meeting")."""

    lead_times: list[Duration] = Field(
        default_factory=lambda: [3600.0, 1800.0, 600.0], description="when to check, before each start"
    )
    icmp_count: int = Field(50, ge=1, le=1000, description="echoes in the readiness round of each link")
    rate_window: Duration = Field(5.0, gt=0, description="SNMP counter window when no recent poll gives a rate")
    rebooted_within: Duration = Field(3600.0, ge=0, description="a router restarted this recently is a warning")
    site_timeout: Duration = Field(45.0, gt=0, description="bound on one site's checks")
    tick: Duration = Field(5.0, gt=0, description="how often the schedule is looked at")
    summary_grace: Duration = Field(900.0, ge=0, description="how late after a start the T-0 summary is still sent")

    @field_validator("lead_times")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("lead_times needs at least one positive duration, e.g. [60m, 30m, 10m]")
        return sorted(set(value), reverse=True)


class Api(Strict):
    token: Secret | None = Field(None, description="bearer token for POST/DELETE; without it writes are refused")


class Config(Strict):
    district: District
    defaults: Defaults = Field(default_factory=Defaults)
    technicians: list[Technician] = Field(default_factory=list)
    sites: list[Site] = Field(min_length=1)
    scheduler: Scheduler = Field(default_factory=Scheduler)
    api: Api = Field(default_factory=Api)
    listen: str = "127.0.0.1:9876"
    database: str | None = Field(None, description="sqlite:///PATH (default sqlite:///giaoban.db) or postgresql://...")
    history: History = Field(default_factory=History)
    meetings: list[MeetingConfig] = Field(default_factory=list)
    readiness: Readiness = Field(default_factory=Readiness)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    notifiers: list[NotifierConfig] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _ = split_host_port(value)
        check_host(host)
        return value

    # Built once per inventory (issue 16): every lookup by id is a dictionary read, not a scan of the sites.
    _index: InventoryIndex | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        self._index = InventoryIndex(self.sites, self.technicians)

    @property
    def index(self) -> InventoryIndex:
        """Sites, tree, devices, endpoints and technicians by id (monitor/config/index.py)."""
        # Read where pydantic keeps private attributes: `self._index` goes through BaseModel.__getattr__, whose
        # few microseconds were most of a lookup's cost at 30,000 lookups a pass.
        private = self.__pydantic_private__
        index = private.get("_index") if private is not None else None
        if index is None or index.sites is not self.sites or index.technicians is not self.technicians:
            # model_copy(update={"sites": ...}) keeps the private attributes of the original: index the new list.
            index = self._index = InventoryIndex(self.sites, self.technicians)
        return index

    def site(self, site_id: str) -> Site | None:
        return self.index.site(site_id)

    def thresholds_for(self, site: Site) -> Thresholds:
        base = self.defaults.thresholds
        if site.thresholds is None:
            return base
        return base.model_copy(update={k: getattr(site.thresholds, k) for k in site.thresholds.model_fields_set})


def merged(default: Settings, override: Settings | None) -> Settings:
    """``default`` with every field that ``override`` sets explicitly replaced."""
    if override is None:
        return default
    return default.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})
