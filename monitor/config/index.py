"""Lookups over one inventory, built once per Config (issue 16: a linear scan per lookup was 48 % of all CPU).

    index = config.index
    index.site("tan-thinh")          the Site, or None                       O(1)
    index.parent / index.children    the tree, only parents that exist
    index.ancestors("tan-thinh")     nearest first, computed on build        O(1)
    index.descendants("hub")         in the inventory's order                O(k log k) for k descendants
    index.device("tt-router")        (Site, Device) of a device id
    index.endpoint("tt-vcs")         (Site, Endpoint) of an endpoint id
    index.technician("tuan")         the Technician

Device and endpoint ids are one namespace across the inventory (monitor/config/references.py checks it);
should a config that skipped that check repeat one, the first wins, as the old scans did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config.models import Device, Endpoint, Site, Technician


class InventoryIndex:
    """Dictionaries over a Config's sites and technicians; derived data, so every two indexes compare equal."""

    __slots__ = (
        "_ancestors",
        "_by_id",
        "_devices",
        "_endpoints",
        "_technicians",
        "children",
        "order",
        "parent",
        "sites",
        "technicians",
    )

    def __init__(self, sites: Sequence[Site], technicians: Sequence[Technician]) -> None:
        self.sites = sites  # the very list indexed: Config.index rebuilds when a copy replaced it
        self.technicians = technicians
        by_id: dict[str, Site] = {}
        self._devices: dict[str, tuple[Site, Device]] = {}
        self._endpoints: dict[str, tuple[Site, Endpoint]] = {}
        for site in sites:
            by_id.setdefault(site.id, site)
            for device in site.devices:
                self._devices.setdefault(device.id, (site, device))
            for endpoint in site.endpoints:
                self._endpoints.setdefault(endpoint.id, (site, endpoint))
        self._by_id = by_id
        self.order = {ident: position for position, ident in enumerate(by_id)}
        self.parent = {s.id: s.parent for s in by_id.values() if s.parent is not None and s.parent in by_id}
        children: dict[str, list[str]] = {}
        for child, up in self.parent.items():
            children.setdefault(up, []).append(child)
        self.children = {up: tuple(below) for up, below in children.items()}
        self._ancestors = {ident: self._chain(ident) for ident in self.parent}
        self._technicians: dict[str, Technician] = {}
        for tech in technicians:
            self._technicians.setdefault(tech.id, tech)

    def __eq__(self, other: object) -> bool:
        # pydantic compares private attributes in Config.__eq__: two configs with equal fields are equal.
        return isinstance(other, InventoryIndex)

    __hash__ = None  # type: ignore[assignment]

    def _chain(self, site: str) -> tuple[str, ...]:
        """Nearest first; stops at a cycle (the config check reports cycles, this must not hang on one)."""
        out: list[str] = []
        seen = {site}
        current = self.parent.get(site)
        while current is not None and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.parent.get(current)
        return tuple(out)

    def site(self, site_id: str) -> Site | None:
        return self._by_id.get(site_id)

    def site_ids(self) -> dict[str, Site]:
        """Every site by id, in the inventory's order (a read-only view by convention: do not change it)."""
        return self._by_id

    def ancestors(self, site: str) -> tuple[str, ...]:
        return self._ancestors.get(site, ())

    def descendants(self, site: str) -> list[str]:
        """Every site reached through ``site``, in the inventory's order."""
        seen: set[str] = set()
        stack = list(self.children.get(site, ()))
        while stack:
            current = stack.pop()
            if current in seen or current == site:
                continue
            seen.add(current)
            stack.extend(self.children.get(current, ()))
        return sorted(seen, key=self.order.__getitem__)

    def device(self, device_id: str) -> tuple[Site, Device] | None:
        return self._devices.get(device_id)

    def endpoint(self, endpoint_id: str) -> tuple[Site, Endpoint] | None:
        return self._endpoints.get(endpoint_id)

    def technician(self, tech_id: str) -> Technician | None:
        return self._technicians.get(tech_id)
