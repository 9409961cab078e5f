"""What the scheduler probes, derived from the inventory: each site's link (ICMP), its endpoints, its devices (SNMP).

A target's ``key`` is stable across reloads ("SITE/link", "SITE/ENDPOINT"), so a reload restarts only
the targets whose definition changed and history keeps its thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.config.models import Config, Device, Site, merged
from probes import KINDS, ProbeKind
from probes.core.settings import Settings, join_host_port


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    site: str
    name: str  # the `target` label: the link's address, or the endpoint's id
    kind: ProbeKind
    address: str  # what the probe is given: host, host:port or URL
    settings: Settings
    interval: float
    timeout: float
    role: Literal["link", "endpoint", "device"]


def _timeout(kind: ProbeKind, settings: Settings, configured: float) -> float:
    return kind.deadline(settings) if kind.deadline is not None else configured


def device_settings(site: Site, device: Device) -> Settings:
    """The device's SNMP settings plus the interface (and contracted bandwidth) of every link it carries."""
    assert device.snmp is not None
    interfaces = list(device.snmp.interfaces)
    bandwidth = dict(device.snmp.bandwidth)
    link = site.link
    if link is not None and link.device == device.id and link.interface is not None:
        if link.interface not in interfaces:
            interfaces.append(link.interface)
        if link.bandwidth is not None:
            bandwidth.setdefault(link.interface, link.bandwidth)
    return device.snmp.model_copy(update={"interfaces": interfaces, "bandwidth": bandwidth})


def targets_from_config(config: Config) -> list[Target]:
    defaults = config.defaults
    targets: list[Target] = []
    for site in config.sites:
        if site.link is not None:
            icmp = KINDS["icmp"]
            settings = merged(defaults.for_kind("icmp"), site.link.icmp)
            targets.append(
                Target(
                    key=f"{site.id}/link",
                    site=site.id,
                    name=site.link.address,
                    kind=icmp,
                    address=site.link.address,
                    settings=settings,
                    interval=site.link.interval or defaults.interval,
                    timeout=_timeout(icmp, settings, defaults.timeout),
                    role="link",
                )
            )
        for endpoint in site.endpoints:
            kind = KINDS[endpoint.kind]
            settings = endpoint.settings(defaults.for_kind(kind.name))
            targets.append(
                Target(
                    key=f"{site.id}/{endpoint.id}",
                    site=site.id,
                    name=endpoint.id,
                    kind=kind,
                    address=endpoint.target(),
                    settings=settings,
                    interval=endpoint.interval or defaults.interval,
                    timeout=_timeout(kind, settings, endpoint.timeout or defaults.timeout),
                    role="endpoint",
                )
            )
        for device in site.devices:
            if device.snmp is None:
                continue
            kind = KINDS["snmp"]
            settings = device_settings(site, device)
            targets.append(
                Target(
                    key=f"{site.id}/{device.id}",
                    site=site.id,
                    name=device.id,
                    kind=kind,
                    address=join_host_port(device.address, device.snmp.port),
                    settings=settings,
                    interval=device.interval or defaults.interval,
                    timeout=_timeout(kind, settings, defaults.timeout),
                    role="device",
                )
            )
    return targets
