"""Who takes part in a meeting, and the province each participant belongs to (issue 17: a nation of communes).

    meeting_site_ids(config, "all")                  every hub and commune-level unit (Config.everyone)
    meeting_site_ids(config, ["lang-son", "hub"])    a hub (central, province, district) stands for its subtree
    group_of(config, ids)                            site id → its province (the nearest ancestor, or itself,
                                                     of role province; else the root of its tree)

A national conference lists provinces (``sites: [lang-son, cao-bang]``) instead of 3,321 communes: the id of a
site of role central, province or district means that site and every commune-level unit below it. Sites of role
"other" (a test room) take part only when named, as with ``sites: all``. Linear in the inventory: the subtrees
come from the inventory's index (monitor/config/index.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config.models import MEETING_ROLES, Config

HUB_ROLES = frozenset({"central", "province", "district"})


def meeting_site_ids(config: Config, sites: str | Sequence[str]) -> list[str]:
    """The participants' ids in the inventory's order; ids no longer in the inventory are left out."""
    if sites == "all":
        return [site.id for site in config.everyone()]
    index = config.index
    chosen: set[str] = set()
    for ident in sites:
        site = index.site(ident)
        if site is None:
            continue
        chosen.add(ident)
        if site.role in HUB_ROLES:
            for below in index.descendants(ident):
                found = index.site(below)
                if found is not None and found.role in MEETING_ROLES:
                    chosen.add(below)
    order = index.order
    return sorted(chosen, key=order.__getitem__)


def missing_sites(config: Config, sites: str | Sequence[str]) -> list[str]:
    """The ids a meeting names that the inventory no longer has."""
    if sites == "all":
        return []
    return [ident for ident in sites if config.site(ident) is None]


def group_of(config: Config, site_ids: Sequence[str]) -> dict[str, str]:
    """Each site's province: itself or its nearest ancestor of role province; else the root of its tree."""
    index = config.index
    out: dict[str, str] = {}
    for ident in site_ids:
        chain = (ident, *index.ancestors(ident))
        province = next((s for s in chain if (found := index.site(s)) is not None and found.role == "province"), None)
        out[ident] = province if province is not None else chain[-1]
    return out
