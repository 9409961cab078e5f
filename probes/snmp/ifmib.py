"""IF-MIB (RFC 2863) for the interfaces the inventory names: name → ifIndex, then only the needed columns.

Names are matched against ifName, then ifDescr, then ifAlias (exact text). When a name repeats, the
interface that is up wins, then one not notPresent(6), then the highest ifIndex: agents keep a removed
interface's row for a while (net-snmp: 5 minutes, shown as down) beside its re-created namesake, which
gets the higher index on Linux-based routers. A repeated name is never resolved silently, though: the
match keeps every ifIndex that carries it (``Match.shared``), the poll's result names them, and the log
says so at WARNING (issue 15: recorded switches carry one ifAlias on four ports, a router one ifName
twice). Only the columns a name was not found in yet are walked, so a device whose names are all ifNames
costs one column walk. Each poll then GETs, for the mapped indexes only::

    the name column that matched (the index still belongs to that name?), ifAdminStatus, ifOperStatus,
    ifHCInOctets/ifHCOutOctets (ifInOctets/ifOutOctets where HC is missing, and always in SNMPv1),
    ifInErrors/ifOutErrors, ifInDiscards/ifOutDiscards, ifSpeed, ifHighSpeed

— 11 varbinds per interface. When most of a device's interfaces are wanted, the same columns are walked
with GETBULK instead (fewer round trips for the same varbinds).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from probes.snmp.session import Oid, Session, Value

log = logging.getLogger(__name__)

IF_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_X_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IF_DESCR, IF_SPEED, IF_ADMIN, IF_OPER = (*IF_ENTRY, 2), (*IF_ENTRY, 5), (*IF_ENTRY, 7), (*IF_ENTRY, 8)
IF_IN_OCTETS, IF_IN_DISCARDS, IF_IN_ERRORS = (*IF_ENTRY, 10), (*IF_ENTRY, 13), (*IF_ENTRY, 14)
IF_OUT_OCTETS, IF_OUT_DISCARDS, IF_OUT_ERRORS = (*IF_ENTRY, 16), (*IF_ENTRY, 19), (*IF_ENTRY, 20)
IF_NAME, IF_HC_IN, IF_HC_OUT = (*IF_X_ENTRY, 1), (*IF_X_ENTRY, 6), (*IF_X_ENTRY, 10)
IF_HIGH_SPEED, IF_ALIAS = (*IF_X_ENTRY, 15), (*IF_X_ENTRY, 18)

NAME_COLUMNS: tuple[Oid, ...] = (IF_NAME, IF_DESCR, IF_ALIAS)  # the order names are matched in
COLUMN_NAMES = {IF_NAME: "ifName", IF_DESCR: "ifDescr", IF_ALIAS: "ifAlias"}
STATUS_COLUMNS: tuple[Oid, ...] = (
    IF_ADMIN, IF_OPER, IF_IN_ERRORS, IF_OUT_ERRORS, IF_IN_DISCARDS, IF_OUT_DISCARDS, IF_SPEED, IF_HIGH_SPEED,
)  # fmt: skip
HC_COLUMNS: tuple[Oid, Oid] = (IF_HC_IN, IF_HC_OUT)
LEGACY_COLUMNS: tuple[Oid, Oid] = (IF_IN_OCTETS, IF_OUT_OCTETS)
UP = 1  # ifAdminStatus / ifOperStatus up(1)
NOT_PRESENT = 6  # ifOperStatus notPresent(6): the row outlives its interface (RFC 2863)
_GAUGE32_MAX = 2**32 - 1  # ifSpeed saturates here; ifHighSpeed then says the speed


def text(value: Value | None) -> str:
    """An SNMP DisplayString as text: UTF-8 (ifAlias is often Vietnamese), trailing NULs some agents pad with."""
    if isinstance(value, bytes):
        return value.rstrip(b"\0").decode("utf-8", "replace")
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a configured name was found."""

    index: int
    column: Oid  # IF_NAME, IF_DESCR or IF_ALIAS
    descr: str
    alias: str
    shared: tuple[int, ...] = ()  # every ifIndex whose `column` carries the name, when more than one does


@dataclass(frozen=True, slots=True)
class InterfaceRow:
    """One poll's raw values of one interface (None: the agent does not report it)."""

    index: int
    # The matched name columns' values now (ifName, ifDescr, ifAlias → text): a different text means re-indexed.
    # Several names may match one interface (its ifName and its ifAlias), each through its own column.
    names_now: Mapping[Oid, str]
    admin_up: bool | None
    oper_status: int | None  # ifOperStatus as the agent says it (up 1, down 2, ..., notPresent 6)
    receive: int | None
    transmit: int | None
    counter_bits: int
    in_errors: int | None
    out_errors: int | None
    in_discards: int | None
    out_discards: int | None
    port_bits: float | None  # physical speed in bit/s


async def resolve_names(
    session: Session, names: Sequence[str], *, max_repetitions: int
) -> tuple[dict[str, Match], int]:
    """Map each name to its interface; also the number of interfaces the device has (rows of ifName/ifDescr)."""
    remaining = list(dict.fromkeys(names))
    where: dict[str, tuple[int, Oid, tuple[int, ...]]] = {}
    walked: dict[Oid, dict[Oid, Value]] = {}
    for column in NAME_COLUMNS:
        if not remaining:
            break
        rows = (await session.walk([column], max_repetitions=max_repetitions))[column]
        walked[column] = rows
        by_text: dict[str, list[int]] = {}
        for suffix, cell in sorted(rows.items()):
            if len(suffix) == 1:
                by_text.setdefault(text(cell), []).append(suffix[0])
        found = {name: by_text[name] for name in remaining if name in by_text}
        for name, index in (await _pick(session, found, COLUMN_NAMES[column])).items():
            shared = tuple(found[name]) if len(found[name]) > 1 else ()
            where[name] = (index, column, shared)
            remaining.remove(name)
    size = max((len(rows) for rows in walked.values()), default=0)
    indexes = sorted({index for index, _, _ in where.values()})
    need = [(*c, i) for i in indexes for c in (IF_DESCR, IF_ALIAS) if (i,) not in walked.get(c, {})]
    got = await session.get(need) if need else {}

    def value(column: Oid, index: int) -> Value | None:
        return walked[column].get((index,)) if column in walked else got.get((*column, index))

    matches = {
        name: Match(index, column, text(value(IF_DESCR, index)), text(value(IF_ALIAS, index)), shared)
        for name, (index, column, shared) in where.items()
    }
    return matches, size


async def _pick(session: Session, candidates: Mapping[str, list[int]], column: str) -> dict[str, int]:
    """One ifIndex per name; where a name repeats: up, then not notPresent, then the highest (newest) ifIndex."""
    repeated = sorted({i for indexes in candidates.values() if len(indexes) > 1 for i in indexes})
    status = await session.get([(*IF_OPER, i) for i in repeated]) if repeated else {}

    def rank(index: int) -> tuple[int, int]:
        oper = status.get((*IF_OPER, index))
        return (0 if oper == UP else 2 if oper == NOT_PRESENT else 1), -index

    picked = {name: min(indexes, key=rank) for name, indexes in candidates.items()}
    for name, indexes in candidates.items():
        if len(indexes) > 1:
            log.warning(
                "snmp %s: %r is the %s of %d interfaces (ifIndex %s); polling ifIndex %d: name the interface by a "
                "unique ifName or ifDescr",
                session.who,
                name,
                column,
                len(indexes),
                ", ".join(map(str, indexes)),
                picked[name],
            )
    return picked


def _int(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def _status(value: Value | None) -> bool | None:
    return None if not isinstance(value, int) else value == UP


def port_speed(speed: Value | None, high_speed: Value | None) -> float | None:
    """Bit/s from ifSpeed while it is exact (below its 2^32-1 ceiling), else ifHighSpeed × 10^6.

    ifSpeed is preferred where it fits because ifHighSpeed rounds to whole Mbit/s (RFC 2863: a 2 Mbit/s E1
    reads 2, a 512 kbit/s line 1 or 0), which would skew utilisation on the slow links communes have.
    """
    if isinstance(speed, int) and 0 < speed < _GAUGE32_MAX:
        return float(speed)
    if isinstance(high_speed, int) and high_speed > 0:
        return high_speed * 1e6
    if isinstance(speed, int) and speed > 0:
        return float(speed)
    return None


def _row(index: int, columns: Iterable[Oid], values: Mapping[Oid, Value], bits: int) -> InterfaceRow:
    def get(col: Oid) -> Value | None:
        return values.get((*col, index))

    counters = HC_COLUMNS if bits == 64 else LEGACY_COLUMNS
    return InterfaceRow(
        index=index,
        names_now={c: text(name) for c in columns if (name := get(c)) is not None},
        admin_up=_status(get(IF_ADMIN)),
        oper_status=_int(get(IF_OPER)),
        receive=_int(get(counters[0])),
        transmit=_int(get(counters[1])),
        counter_bits=bits,
        in_errors=_int(get(IF_IN_ERRORS)),
        out_errors=_int(get(IF_OUT_ERRORS)),
        in_discards=_int(get(IF_IN_DISCARDS)),
        out_discards=_int(get(IF_OUT_DISCARDS)),
        port_bits=port_speed(get(IF_SPEED), get(IF_HIGH_SPEED)),
    )


def _flatten(walked: Mapping[Oid, Mapping[Oid, Value]]) -> dict[Oid, Value]:
    return {column + suffix: value for column, rows in walked.items() for suffix, value in rows.items()}


async def read_rows(
    session: Session,
    matches: Iterable[Match],
    *,
    legacy: set[int],
    walk: bool,
    max_repetitions: int,
) -> dict[int, InterfaceRow]:
    """This poll's values of the matched interfaces, by ifIndex; ``legacy`` holds indexes known to lack HC
    counters and gains those found lacking now (asked again for their 32-bit counters in the same poll)."""
    wanted: dict[int, set[Oid]] = {}
    for match in matches:
        wanted.setdefault(match.index, set()).add(match.column)
    if not wanted:
        return {}
    hc_ok = session.version != "1"  # Counter64 does not exist in SNMPv1 (RFC 3584 §4.2.2)
    name_columns = sorted({c for columns in wanted.values() for c in columns})
    if walk:
        walked = [*name_columns, *STATUS_COLUMNS, *(HC_COLUMNS if hc_ok else LEGACY_COLUMNS)]
        values = _flatten(await session.walk(walked, max_repetitions=max_repetitions))
    else:
        oids: list[Oid] = []
        for index, columns in wanted.items():
            counters = HC_COLUMNS if hc_ok and index not in legacy else LEGACY_COLUMNS
            oids += [(*c, index) for c in (*sorted(columns), *STATUS_COLUMNS, *counters)]
        values = await session.get(oids)
    missing_hc = [
        i
        for i in wanted
        if hc_ok and i not in legacy and ((*IF_HC_IN, i) not in values or (*IF_HC_OUT, i) not in values)
    ]
    present = [i for i in missing_hc if (*IF_ADMIN, i) in values or any((*c, i) in values for c in wanted[i])]
    if present:  # the interface exists but has no HC counters: use the 32-bit ones from now on
        legacy.update(present)
        values.update(await session.get([(*c, i) for i in present for c in LEGACY_COLUMNS]))
    return {
        index: _row(index, columns, values, 32 if not hc_ok or index in legacy else 64)
        for index, columns in wanted.items()
    }
