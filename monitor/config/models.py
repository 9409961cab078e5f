"""The inventory schema: the organisation, defaults, technicians and the tree of sites.

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
    ValidatorFunctionWrapHandler,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from alerts.config import AlertsConfig, MaintenanceConfig
from alerts.notifiers.config import NotifierConfig
from monitor.config.calls import BridgeConfig, CallsConfig
from monitor.config.database import FORMS, parse_database_url
from monitor.config.index import InventoryIndex
from monitor.config.probe import ProbeSection
from monitor.i18n import Locale
from monitor.recurrence import Series, check, check_moment, zone
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


class Organisation(Strict):
    """Who owns the hub: a province, the central office, a commune or (older networks) a district."""

    name: str = Field(min_length=1)
    timezone: str = "Asia/Ho_Chi_Minh"
    locale: Locale = "vi"
    code: str | None = Field(None, description="official code: a province's two digits (\"19\"), a commune's five")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)  # its ValueError says what to write instead
        return value

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        quoted = _quoted_code(value, 'code: "19"')
        # 3 digits: a former district's code (Định Hoá was 167), for networks that still have one.
        if isinstance(quoted, str) and not re.fullmatch(r"\d{2}|\d{3}|\d{5}", quoted):
            raise ValueError(
                f'{quoted!r} is not an official unit code: a province has two digits (Thái Nguyên: "19"), '
                'a former district three ("167"), a commune-level unit five ("05569")'
            )
        return quoted


# The older name, kept while the tree still reads config.district.
District = Organisation


def _quoted_code(value: Any, example: str) -> Any:
    """A code YAML read as a number: unquoted 05542 is the octal 2914, so ask for quotes instead of guessing."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"write the code in quotes, e.g. {example}: unquoted, YAML reads it as a number")
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
    zalo_user_id: str | None = None  # as a follower of the OA of the `kind: zalo` notifier (README: Zalo)

    @field_validator("telegram_chat_id", "zalo_user_id", mode="before")
    @classmethod
    def _chat_id_text(cls, value: Any) -> Any:
        # Telegram chat ids (groups negative) and Zalo user ids are numbers, and YAML reads them as such.
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


# central: the national office; province: a provincial hub; commune, ward, special_zone: the three kinds of
# commune-level unit since 1 July 2025 (xã, phường, đặc khu); district and other: older networks and the rest.
SiteRole = Literal["central", "province", "district", "commune", "ward", "special_zone", "other"]
# Who takes part in a meeting with `sites: all`: every hub and commune-level unit; "other" (a test room, a
# provider's POP) only when named.
MEETING_ROLES = frozenset({"central", "province", "district", "commune", "ward", "special_zone"})


class Site(Strict):
    id: str
    name: str = Field(min_length=1)
    role: SiteRole = "commune"
    code: str | None = Field(None, description='official five-digit unit code (mã số đơn vị hành chính), e.g. "05569"')
    parent: str | None = None
    location: Location | None = None
    technicians: list[str] = Field(default_factory=list)
    link: Link | None = None
    devices: list[Device] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    thresholds: Thresholds | None = Field(None, description="overrides of defaults.thresholds")

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        quoted = _quoted_code(value, 'code: "05569"')
        if isinstance(quoted, str) and not re.fullmatch(r"\d{5}", quoted):
            raise ValueError(f'{quoted!r} is not a unit code: it has exactly five digits, e.g. "05569"')
        return quoted


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
            "huawei": 64,
            "cms": 16,
            "rmx": 16,
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


class SpoolSettings(Strict):
    """The local spool of an agent whose database is the centre's PostgreSQL (README "When the centre is
    unreachable"): what the centre cannot take while it is away is kept there and written back later."""

    path: str | None = Field(
        None, description="the SQLite file; relative: from this file's directory; default giaoban-spool.db beside it"
    )
    max_megabytes: int = Field(256, ge=1, le=1_000_000, description="bound on the spool's size; beyond it, refused")


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
    _zone = field_validator("timezone")(classmethod(lambda cls, v: v if v is None else Organisation._known_zone(v)))

    @field_validator("start")
    @classmethod
    def _sane_start(cls, value: datetime) -> datetime:
        check_moment(value)  # year 0001 or 9999: a typing mistake, and out of datetime's range once in UTC
        return value

    @field_validator("exdates")
    @classmethod
    def _sane_exdates(cls, value: list[datetime]) -> list[datetime]:
        for moment in value:
            check_moment(moment, "exdate")
        return value

    @model_validator(mode="after")
    def _valid_rrule(self) -> MeetingConfig:
        if self.rrule is not None:  # refused here, by check-config, not when the service syncs its meetings
            name = self.timezone or "UTC"
            start = self.start if self.start.tzinfo else self.start.replace(tzinfo=zone(name))
            check(Series(start, self.duration, name, self.rrule))
        return self


class Readiness(Strict):
    """Checks before each meeting (README "Readiness before a meeting")."""

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


# A top-level key that is absent (told apart from one written empty, which is an error of its own).
_ABSENT: Any = object()

# check-config shows it, the service logs it: older files still load.
DISTRICT_DEPRECATED = {
    "vi": "khóa district: đã cũ: hãy đổi tên thành organisation: (cùng các trường, thêm code: là mã tỉnh)",
    "en": "the key district: is deprecated: rename it organisation: (same fields, plus code: for the province's code)",
}


class Database(Strict):
    """The database as a mapping: its URL, and the password as a secret like every other (issue 13)."""

    url: str = Field(description="sqlite:///PATH or postgresql://USER@HOST:PORT/NAME, without the password")
    password: Secret | None = Field(None, description="the PostgreSQL password: {env: NAME} or {file: PATH}")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parse_database_url(value)
        return value

    @model_validator(mode="after")
    def _one_password(self) -> Database:
        if self.password is not None:
            parsed = parse_database_url(self.url)
            if parsed.get_backend_name() == "sqlite":
                raise ValueError("a SQLite file has no password; remove password:")
            if parsed.password is not None:
                raise ValueError("the URL holds a password as well; keep it only under password:")
        return self


class Config(Strict):
    # organisation: is the key to write; district: is its older name, still read. Both hold the same value
    # once loaded; the code reads config.organisation.
    district: Organisation = Field(
        _ABSENT, validate_default=True, exclude=True, description="older name of organisation"
    )
    organisation: Organisation = Field(
        _ABSENT, validate_default=True, description="who owns the hub: its name, time zone, language and code"
    )
    defaults: Defaults = Field(default_factory=Defaults)
    technicians: list[Technician] = Field(default_factory=list)
    sites: list[Site] = Field(min_length=1)
    scheduler: Scheduler = Field(default_factory=Scheduler)
    api: Api = Field(default_factory=Api)
    listen: str = "127.0.0.1:9876"
    database: Database | None = Field(
        None,
        description="sqlite:///PATH (relative: from this file's directory; default giaoban.db beside it), "
        "postgresql://..., or {url:, password:}",
    )
    history: History = Field(default_factory=History)
    spool: SpoolSettings = Field(default_factory=SpoolSettings)
    meetings: list[MeetingConfig] = Field(default_factory=list)
    readiness: Readiness = Field(default_factory=Readiness)
    calls: CallsConfig = Field(default_factory=CallsConfig, description="the watch of running meetings (calls.py)")
    bridges: list[BridgeConfig] = Field(default_factory=list, description="conference bridges read in meetings")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    notifiers: list[NotifierConfig] = Field(default_factory=list)
    probe: ProbeSection = Field(default_factory=ProbeSection, description="what GET /probe may run (probe.py)")

    @field_validator("district", mode="wrap")
    @classmethod
    def _older_name(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return None if value is _ABSENT else handler(value)  # None until _same_organisation fills it

    @field_validator("organisation", mode="wrap")
    @classmethod
    def _one_organisation(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        # district is validated first: absent -> None in info.data; invalid -> missing from it.
        district_given = info.data.get("district", _ABSENT) is not None
        if value is _ABSENT:
            if district_given:
                return info.data.get("district")  # None when district: itself failed (reported there)
            raise PydanticCustomError("missing", "Field required")
        if district_given:
            raise ValueError("organisation: and district: name the same thing; keep organisation: and remove district:")
        return handler(value)

    @model_validator(mode="after")
    def _same_organisation(self) -> Config:
        if self.district is None:  # frozen: the one assignment, during validation
            object.__setattr__(self, "district", self.organisation)
        return self

    def deprecations(self) -> list[dict[str, str]]:
        """What the file still writes the older way, as {locale: sentence}; empty for a current file."""
        return [DISTRICT_DEPRECATED] if "district" in self.model_fields_set else []

    @field_validator("database", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> Any:
        # The plain form: checked here, so that a problem is reported at `database`, not at `database.url`.
        if isinstance(value, str):
            parse_database_url(value)
            return {"url": value}
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"write a URL ({FORMS}) or a mapping {{url: URL, password: {{env: NAME}}}}")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _ = split_host_port(value)
        check_host(host)
        return value

    def everyone(self) -> list[Site]:
        """The sites of a meeting with ``sites: all``: the hubs and every commune-level unit, never "other"."""
        return [site for site in self.sites if site.role in MEETING_ROLES]

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
