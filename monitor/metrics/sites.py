"""The inventory's tree as an info metric, so PromQL can join on it (topology in rules, the map in Grafana)::

    giaoban_site_info{site,parent,role,code,lat,lon,agent} 1

One series per site this agent owns (all of them unless it runs with --scope/--shard, issue 17); ``agent`` is
its --agent-name, so with several agents ``giaoban_site_info`` says which agent owns what (two agents owning a
scope, a holder and its standby, both list its sites). Aggregations such as ``max by (site, parent)`` drop it.

``parent`` is empty for the root; ``code`` (the official five-digit unit code) for a site without one;
``lat``/``lon`` for a site without a location. Roles: central, province, district, commune, ward,
special_zone, other. The site's
display name is free text and so is not a label (the API and the board show it).
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config.models import Config
from monitor.engine.ownership import Ownership, OwnershipSpec
from monitor.metrics.exposition import Family, TextSource, escape

SITE_INFO = Family(
    "giaoban_site_info", "gauge", "One series per site this agent owns, with its parent, place and the agent."
)


def site_info_text(config: Config, ownership: Ownership | None = None) -> str:
    """``ownership``: what this agent owns (default: everything, agent = the host name)."""
    owned = ownership or OwnershipSpec.parse(agent=None).resolve(config)
    agent = escape(owned.spec.agent)
    everything = owned.spec.owns_everything
    lines = [SITE_INFO.header()]
    for site in config.sites:
        if not everything and site.id not in owned.lease_of:
            continue
        lat = f"{site.location.lat:g}" if site.location else ""
        lon = f"{site.location.lon:g}" if site.location else ""
        labels = (
            f'site="{escape(site.id)}",parent="{escape(site.parent or "")}",role="{site.role}",'
            f'code="{site.code or ""}",lat="{lat}",lon="{lon}",agent="{agent}"'
        )
        lines.append(f"giaoban_site_info{{{labels}}} 1.0\n")
    return "".join(lines)


def sites_source(config: Callable[[], Config], ownership: Callable[[], Ownership] | None = None) -> TextSource:
    """The /metrics source of the running inventory (``config`` and ``ownership`` follow reloads).

    The text changes only with the inventory, so it is made once per Config (10,000 lines: issue 16).
    """
    last: list[tuple[Config, Ownership | None, str]] = []

    def text() -> str:
        current = config()
        owned = ownership() if ownership is not None else None
        if last and last[0][0] is current and last[0][1] is owned:
            return last[0][2]
        rendered = site_info_text(current, owned)
        last[:] = [(current, owned, rendered)]  # one assignment: a scrape thread and another never see half of it
        return rendered

    return TextSource("sites", (SITE_INFO,), text)
