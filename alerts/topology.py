"""The sites tree (``parent``) and which alerts are root causes that fold their descendants' alerts.

When a site's uplink (link_down) or its router (device_down of ``link.device``) is down, every site reached
through it (children, grand-children) is unreachable too: their alerts are consequences. The engine
(alerts/engine.py) suppresses them and names the affected sites in the root alert's one message.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config.index import InventoryIndex
from monitor.config.models import Config, Site


@dataclass(frozen=True, slots=True)
class SiteTree:
    """The tree of one inventory, read from the index its Config built on load (issue 16: not rebuilt per pass)."""

    index: InventoryIndex

    @classmethod
    def of(cls, config: Config) -> SiteTree:
        return cls(config.index)

    @property
    def sites(self) -> dict[str, Site]:
        return self.index.site_ids()

    @property
    def parent(self) -> dict[str, str]:
        return self.index.parent

    @property
    def children(self) -> dict[str, tuple[str, ...]]:
        return self.index.children

    def ancestors(self, site: str) -> list[str]:
        """Nearest first; stops at a cycle (the config check reports cycles, this must not hang on one)."""
        return list(self.index.ancestors(site))

    def descendants(self, site: str) -> list[str]:
        """Every site reached through ``site``, in the inventory's order."""
        return self.index.descendants(site)

    def depth(self, site: str) -> int:
        return len(self.index.ancestors(site))

    def top(self, site: str) -> str:
        """The root of the tree ``site`` belongs to (itself when it has no parent)."""
        chain = self.index.ancestors(site)
        return chain[-1] if chain else site

    def name(self, site: str) -> str:
        entry = self.index.site(site)
        return entry.name if entry is not None else site


def is_topology_root(config: Config, rule: str, site: str, target: str | None) -> bool:
    """Whether this alert means the site itself is cut off: its uplink, or the router carrying it."""
    if rule == "link_down":
        return True
    if rule != "device_down":
        return False
    entry = config.site(site)
    link = entry.link if entry is not None else None
    return link is not None and link.device is not None and link.device == target
