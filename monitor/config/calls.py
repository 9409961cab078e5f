"""The `calls:` and `bridges:` sections: how giaoban watches a meeting while it runs (issue 18).

    calls:
      interval: 10s          # how often the participating sites' codecs and the bridges are read in a meeting
      join_grace: 5m         # an expected site not connected this long after the start: not_joined
      loss: 1%               # media loss above this is poor (Polycom RMX: under 1 % normal, 1–5 % major)
      loss_critical: 5%      # ... and above this critical (RMX: above 5 %)
      jitter: 30ms           # media jitter above this is poor (Cisco, interactive video: ≤ 30 ms)
    bridges:
      - id: mcu-tinh
        kind: cms            # Cisco Meeting Server; rmx: Poly RealPresence Collaboration Server; jitsi
        address: 198.51.100.20
        credentials: {file: /etc/giaoban/cms-credentials}
        participants:        # how the bridge names each site's call leg: addresses (URI, number, IP) or names
          tan-thinh: ["sip:tan-thinh@vc.example.org", "Xã Tân Thịnh"]
      - id: mcu-hub
        endpoint: hub-cms    # or: an endpoint of kind cms, rmx or jitsi (its status is probed too), read as a bridge

A bridge participant matches a site when one of the site's entries equals its address (a ``sip:``/``h323:``
prefix and letter case ignored) or its display name (case ignored); a participant whose display name is the
site's own name matches without an entry. The readers are the drivers' (monitor/readiness/call_readers.py).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from probes.core.ids import check_id
from probes.core.secrets import Secret
from probes.core.units import Duration, Ratio

# The bridges the issue names: Cisco Meeting Server, Poly RealPresence Collaboration Server (RMX), Jitsi.
BridgeKind = Literal["cms", "rmx", "jitsi"]
BRIDGE_KINDS: frozenset[str] = frozenset(("cms", "rmx", "jitsi"))
MATCH_MAX = 20  # entries per site: a few URIs and names, never a directory
PARTICIPANTS_MAX = 20_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallsConfig(_Strict):
    """The meeting watch (monitor/readiness/watch.py) and the limits of its alerts."""

    interval: Duration = Field(10.0, ge=1, le=600, description="how often codecs and bridges are read in a meeting")
    timeout: Duration = Field(5.0, gt=0, le=120, description="deadline of one codec's or bridge's read")
    join_grace: Duration = Field(300.0, ge=0, description="an expected site not connected this long after the start")
    loss: Ratio = Field(0.01, description="media loss above which a site's media is poor (RMX: 1 %)")
    loss_critical: Ratio = Field(0.05, description="media loss above which it is critical (RMX: 5 %)")
    jitter: Duration = Field(0.030, gt=0, description="media jitter above which a site's media is poor (30 ms)")
    record_interval: Duration = Field(60.0, ge=1, description="how often a site's media summary is written")


class BridgeConfig(_Strict):
    """A conference bridge whose participant list tells which sites are in the meeting."""

    id: str
    endpoint: str | None = Field(
        None, description="an endpoint of kind cms, rmx or jitsi: its address and settings, instead of the below"
    )
    kind: BridgeKind | None = None
    address: str | None = Field(None, min_length=1, max_length=500, description="host, host:port or URL of its API")
    port: int | None = Field(None, ge=1, le=65535)
    credentials: Secret | None = Field(None, description='{env: NAME} or {file: PATH} holding "user:password"')
    settings: dict[str, Any] = Field(default_factory=dict, description="the driver's other settings (scheme...)")
    participants: dict[str, list[str]] = Field(
        default_factory=dict, description="site id → the addresses or names of its call leg on this bridge"
    )

    _id = field_validator("id")(classmethod(lambda cls, v: check_id(v)))

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"\s", value):
            raise ValueError(f"{value!r} holds a space: write a host, host:port or URL")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> BridgeConfig:
        if self.endpoint is not None:
            given = [k for k in ("kind", "address", "port", "credentials", "settings") if k in self.model_fields_set]
            if given:
                raise ValueError(f"endpoint: {self.endpoint} gives the bridge's {', '.join(given)}: remove them here")
        elif self.kind is None or self.address is None:
            raise ValueError("a bridge needs endpoint: ID, or kind: and address:")
        return self

    @field_validator("participants")
    @classmethod
    def _participants(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > PARTICIPANTS_MAX:
            raise ValueError(f"{len(value)} sites: a bridge lists at most {PARTICIPANTS_MAX}")
        for site, entries in value.items():
            check_id(site)
            if not entries or len(entries) > MATCH_MAX:
                raise ValueError(f"site {site}: give 1 to {MATCH_MAX} addresses or names")
            for entry in entries:
                if not entry.strip() or len(entry) > 300:
                    raise ValueError(f"site {site}: {entry!r} is not an address or name (1 to 300 characters)")
        return value

    def target(self) -> str:
        """What the reader is given: the address, with the port when one is set (not for an endpoint's bridge)."""
        assert self.address is not None, "a bridge of an endpoint is read at the endpoint's target"
        if self.port is None or "://" in self.address:
            return self.address
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"
