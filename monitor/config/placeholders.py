"""Addresses `giaoban init` leaves for the administrator to fill in, reported by check-config until they are.

    check_placeholders(data) -> Iterator[(loc, message)]

A skeleton inventory writes ``address: FILL-ME`` where only the administrator knows the value; the
word is a valid host name, so without this check it would be probed (and fail) instead of being reported::

    giaoban.yml:40:16: sites[3].link.address: fill in the link address of Xã Định Hóa (code 05569)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = "FILL-ME"

Loc = tuple[str | int, ...]


def check_placeholders(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Yield (loc, message) for every address that still holds the placeholder."""
    sites = data.get("sites")
    if not isinstance(sites, list):
        return
    for index, site in enumerate(sites):
        if not isinstance(site, Mapping):
            continue
        whose = _site_words(site)
        link = site.get("link")
        if isinstance(link, Mapping) and _unfilled(link):
            yield ("sites", index, "link", "address"), f"fill in the link address of {whose}"
        for key, what in (("devices", "device"), ("endpoints", "endpoint")):
            entries = site.get(key)
            for position, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, Mapping) and _unfilled(entry):
                    name = entry.get("id")
                    named = f" {name}" if isinstance(name, str) else ""
                    yield (
                        ("sites", index, key, position, "address"),
                        f"fill in the address of {what}{named} of {whose}",
                    )


def _unfilled(entry: Mapping[str, Any]) -> bool:
    address = entry.get("address")
    return isinstance(address, str) and address.strip() == PLACEHOLDER


def _site_words(site: Mapping[str, Any]) -> str:
    """'Xã Định Hóa (code 05569)': the name people know, and the code that tells two namesakes apart."""
    name, ident, code = site.get("name"), site.get("id"), site.get("code")
    words = name if isinstance(name, str) and name.strip() else ident if isinstance(ident, str) else "this site"
    return f"{words} (code {code})" if isinstance(code, str) else str(words)
