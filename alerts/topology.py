"""The sites tree (``parent``) and which alerts are root causes that fold their descendants' alerts.

When a site's uplink (link_down) or its router (device_down of ``link.device``) is down, every site reached
through it (children, grand-children) is unreachable too: their alerts are consequences. The engine
(alerts/engine.py) suppresses them and names the affected sites in the root alert's one message.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config.models import Config, Site


@dataclass(frozen=True, slots=True)
class SiteTree:
    sites: dict[str, Site]
    parent: dict[str, str]
    children: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, config: Config) -> SiteTree:
        sites = {site.id: site for site in config.sites}
        parent = {s.id: s.parent for s in config.sites if s.parent is not None and s.parent in sites}
        children: dict[str, list[str]] = {}
        for child, up in parent.items():
            children.setdefault(up, []).append(child)
        return cls(sites, parent, {k: tuple(v) for k, v in children.items()})

    def ancestors(self, site: str) -> list[str]:
        """Nearest first; stops at a cycle (the config check reports cycles, this must not hang on one)."""
        out: list[str] = []
        current = self.parent.get(site)
        while current is not None and current not in out and current != site:
            out.append(current)
            current = self.parent.get(current)
        return out

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
        return [s for s in self.sites if s in seen]

    def depth(self, site: str) -> int:
        return len(self.ancestors(site))

    def top(self, site: str) -> str:
        """The root of the tree ``site`` belongs to (itself when it has no parent)."""
        chain = self.ancestors(site)
        return chain[-1] if chain else site

    def name(self, site: str) -> str:
        entry = self.sites.get(site)
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
