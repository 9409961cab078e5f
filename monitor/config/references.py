"""Cross-reference checks: what one inventory entry says about another.

    check_references(data) -> Iterator[(loc, message)]      loc like ("sites", 3, "parent")

Checked: site ids and technician ids are unique; device and endpoint ids are unique across the whole
inventory (one namespace: they become stable storage keys and ``target`` labels); ``parent`` names
another existing site and the parent tree has no cycle; official unit codes (``code``) are unique; a
site's technicians exist; ``link.device`` names a device of the same site; meeting ids are unique and a
meeting's sites exist; ``alerts.admins`` are technicians; maintenance windows have unique ids and name
existing sites and targets ("link", a device or an endpoint id); notifier ids are unique; bridge ids are
unique and a bridge's participants name existing sites; no address
still holds the placeholder that `giaoban init` leaves (monitor.config.placeholders). A commune without a
parent is allowed (a lone site is a valid inventory).

The checks read the plain data loaded from YAML rather than the validated Config, so their findings
are reported together with the schema's even when the schema pass fails. Entries of the wrong shape
are skipped here: the schema pass reports those.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any

from monitor.config.placeholders import check_placeholders
from probes.core.ids import unknown

Loc = tuple[str | int, ...]


def check_references(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Yield (loc, message) for every broken or duplicated reference in the inventory data."""
    technicians = list(_entries(data.get("technicians")))
    sites = list(_entries(data.get("sites")))
    tech_ids = yield from _unique_ids("technicians", technicians, "technician")
    site_ids = yield from _unique_ids("sites", sites, "site")
    yield from _unique_targets(sites)
    yield from _unique_codes(sites)
    yield from _parents(sites, site_ids)
    for index, site in sites:
        yield from _site_technicians(index, site, tech_ids)
        yield from _link_device(index, site, sites)
    meetings = list(_entries(data.get("meetings")))
    yield from _unique_ids("meetings", meetings, "meeting")
    for index, meeting in meetings:
        yield from _meeting_sites(index, meeting, site_ids)
    yield from _alert_references(data, tech_ids, site_ids, sites)
    yield from _bridges(data, site_ids, sites)
    yield from check_placeholders(data)


def _bridges(
    data: Mapping[str, Any], site_ids: list[str], sites: list[tuple[int, Mapping[str, Any]]]
) -> Iterator[tuple[Loc, str]]:
    """Bridge ids are unique, a bridge's endpoint is one of kind cms, rmx or jitsi, its participants existing sites."""
    bridges = list(_entries(data.get("bridges")))
    yield from _unique_ids("bridges", bridges, "bridge")
    kinds = {
        endpoint.get("id"): endpoint.get("kind") for _, site in sites for _, endpoint in _entries(site.get("endpoints"))
    }
    for index, bridge in bridges:
        endpoint = bridge.get("endpoint")
        if isinstance(endpoint, str):
            if endpoint not in kinds:
                yield ("bridges", index, "endpoint"), unknown("endpoint", endpoint, [str(k) for k in kinds])
            elif kinds[endpoint] not in ("cms", "rmx", "jitsi"):
                yield (
                    ("bridges", index, "endpoint"),
                    f"endpoint {endpoint} is of kind {kinds[endpoint]}; a bridge is of kind cms, rmx or jitsi",
                )
        participants = bridge.get("participants")
        if isinstance(participants, Mapping):
            for name in participants:
                if isinstance(name, str) and name not in site_ids:
                    yield ("bridges", index, "participants", name), unknown("site", name, site_ids)


def _meeting_sites(index: int, meeting: Mapping[str, Any], site_ids: list[str]) -> Iterator[tuple[Loc, str]]:
    """A static meeting's sites exist (else the schedule would fail only when the service starts)."""
    names = meeting.get("sites")
    if isinstance(names, list):
        for position, name in enumerate(names):
            if isinstance(name, str) and name not in site_ids:
                yield ("meetings", index, "sites", position), unknown("site", name, site_ids)


def _alert_references(
    data: Mapping[str, Any], tech_ids: list[str], site_ids: list[str], sites: list[tuple[int, Mapping[str, Any]]]
) -> Iterator[tuple[Loc, str]]:
    """alerts.admins are technicians; maintenance windows name existing sites and targets; ids are unique."""
    alerts = data.get("alerts")
    admins = alerts.get("admins") if isinstance(alerts, Mapping) else None
    if isinstance(admins, list):
        for position, name in enumerate(admins):
            if isinstance(name, str) and name not in tech_ids:
                yield ("alerts", "admins", position), unknown("technician", name, tech_ids)
    windows = list(_entries(data.get("maintenance")))
    yield from _unique_ids("maintenance", windows, "maintenance window")
    targets = _Ids(["link"] + [
        ident for _, site in sites for key in ("devices", "endpoints")
        for _, entry in _entries(site.get(key)) if (ident := _id(entry)) is not None
    ])  # fmt: skip
    for index, window in windows:
        for key, known, what in (("sites", site_ids, "site"), ("targets", targets, "target")):
            names = window.get(key)
            if isinstance(names, list):
                for position, name in enumerate(names):
                    if isinstance(name, str) and name not in known:
                        yield ("maintenance", index, key, position), unknown(what, name, known)
    yield from _unique_ids("notifiers", list(_entries(data.get("notifiers"))), "notifier")


def format_loc(loc: Loc) -> str:
    """('sites', 3, 'link', 'bandwidth') -> 'sites[3].link.bandwidth'; () -> '<top>'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part and all(c.isalnum() or c in "_-" for c in part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "<top>"


def _entries(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, mapping) for every list item that is a mapping; anything else is the schema's to report."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _id(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("id")
    return value if isinstance(value, str) else None


class _Ids(list[str]):
    """Ids in file order (messages list them) with a set's membership test: 10,000 sites name 10,000 parents."""

    def __init__(self, ids: Iterable[str]) -> None:
        super().__init__(ids)
        self._members = frozenset(self)

    def __contains__(self, value: object) -> bool:
        try:
            return value in self._members
        except TypeError:  # unhashable: not an id
            return False


def _unique_ids(
    key: str, entries: list[tuple[int, Mapping[str, Any]]], what: str
) -> Generator[tuple[Loc, str], None, list[str]]:
    """Report repeated ids; return the distinct ids in file order."""
    first: dict[str, int] = {}
    for index, entry in entries:
        ident = _id(entry)
        if ident is None:
            continue
        if ident in first:
            yield (key, index, "id"), f"duplicate {what} id {ident!r}; {key}[{first[ident]}] already has it"
        else:
            first[ident] = index
    return _Ids(first)


def _unique_targets(sites: list[tuple[int, Mapping[str, Any]]]) -> Iterator[tuple[Loc, str]]:
    first: dict[str, Loc] = {}
    for site_index, site in sites:
        for key in ("devices", "endpoints"):
            for index, entry in _entries(site.get(key)):
                ident = _id(entry)
                if ident is None:
                    continue
                loc: Loc = ("sites", site_index, key, index)
                if ident in first:
                    yield (
                        (*loc, "id"),
                        f"duplicate id {ident!r}; {format_loc(first[ident])} already has it "
                        "(device and endpoint ids must be unique across the inventory)",
                    )
                else:
                    first[ident] = loc


def _unique_codes(sites: list[tuple[int, Mapping[str, Any]]]) -> Iterator[tuple[Loc, str]]:
    """One official unit code, one site: the code is how a unit is told apart from its namesakes."""
    first: dict[str, int] = {}
    for index, site in sites:
        code = site.get("code")
        if not isinstance(code, str):
            continue
        if code in first:
            yield ("sites", index, "code"), f"duplicate unit code {code!r}; sites[{first[code]}] already has it"
        else:
            first[code] = index


def _parents(sites: list[tuple[int, Mapping[str, Any]]], site_ids: list[str]) -> Iterator[tuple[Loc, str]]:
    parent_of: dict[str, str] = {}
    index_of: dict[str, int] = {}
    for index, site in sites:
        ident, parent = _id(site), site.get("parent")
        if not isinstance(parent, str):
            continue
        if parent == ident:
            yield ("sites", index, "parent"), "a site cannot be its own parent"
        elif parent not in site_ids:
            yield ("sites", index, "parent"), unknown("parent site", parent, site_ids)
        elif ident is not None and ident not in index_of:
            parent_of[ident] = parent
            index_of[ident] = index
    # Each cycle is reported once, at the member that comes first in the file, named from there.
    reported: set[str] = set()
    for ident in sorted(parent_of, key=index_of.__getitem__):
        if ident in reported:
            continue
        chain = [ident]
        while (nxt := parent_of.get(chain[-1])) is not None and nxt not in chain:
            chain.append(nxt)
        if nxt is None or nxt in reported:
            continue
        cycle = chain[chain.index(nxt) :]
        reported.update(cycle)
        start = min(cycle, key=index_of.__getitem__)
        at = cycle.index(start)
        ordered = cycle[at:] + cycle[:at]
        yield ("sites", index_of[start], "parent"), "parent cycle: " + " -> ".join([*ordered, start])


def _site_technicians(index: int, site: Mapping[str, Any], tech_ids: list[str]) -> Iterator[tuple[Loc, str]]:
    names = site.get("technicians")
    if not isinstance(names, list):
        return
    for position, name in enumerate(names):
        if isinstance(name, str) and name not in tech_ids:
            yield ("sites", index, "technicians", position), unknown("technician", name, tech_ids)


def _link_device(
    index: int, site: Mapping[str, Any], sites: list[tuple[int, Mapping[str, Any]]]
) -> Iterator[tuple[Loc, str]]:
    link = site.get("link")
    if not isinstance(link, Mapping) or not isinstance(device := link.get("device"), str):
        return
    own = [ident for _, entry in _entries(site.get("devices")) if (ident := _id(entry)) is not None]
    if device in own:
        return
    loc: Loc = ("sites", index, "link", "device")
    for _, other in sites:
        if other is not site and device in [_id(entry) for _, entry in _entries(other.get("devices"))]:
            yield (
                loc,
                (
                    f"device {device!r} belongs to site {_id(other)!r}; "
                    "link.device must name a device listed under this site's devices"
                ),
            )
            return
    if not own:
        yield loc, f"unknown device {device!r}: this site lists no devices; add it under devices:"
    else:
        yield loc, unknown("device", device, own)
