"""The inventory's tree as an info metric, so PromQL can join on it (topology in rules, the map in Grafana)::

    giaoban_site_info{site,parent,role,code,lat,lon} 1

``parent`` is empty for the root; ``code`` (the official five-digit unit code) for a site without one;
``lat``/``lon`` for a site without a location. Roles: central, province, district, commune, ward,
special_zone, other. The site's
display name is free text and so is not a label (the API and the board show it).
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config.models import Config
from monitor.metrics.exposition import Family, TextSource, escape

SITE_INFO = Family("giaoban_site_info", "gauge", "One series per site of the inventory, with its parent and place.")


def site_info_text(config: Config) -> str:
    lines = [SITE_INFO.header()]
    for site in config.sites:
        lat = f"{site.location.lat:g}" if site.location else ""
        lon = f"{site.location.lon:g}" if site.location else ""
        labels = (
            f'site="{escape(site.id)}",parent="{escape(site.parent or "")}",role="{site.role}",'
            f'code="{site.code or ""}",lat="{lat}",lon="{lon}"'
        )
        lines.append(f"giaoban_site_info{{{labels}}} 1.0\n")
    return "".join(lines)


def sites_source(config: Callable[[], Config]) -> TextSource:
    """The /metrics source of the running inventory (``config`` follows reloads).

    The text changes only with the inventory, so it is made once per Config (10,000 lines: issue 16).
    """
    last: list[tuple[Config, str]] = []

    def text() -> str:
        current = config()
        if last and last[0][0] is current:
            return last[0][1]
        rendered = site_info_text(current)
        last[:] = [(current, rendered)]  # one assignment: a scrape thread and another never see half of it
        return rendered

    return TextSource("sites", (SITE_INFO,), text)
