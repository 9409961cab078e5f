"""The local spool: a SQLite file beside the agent that keeps what PostgreSQL (the centre) cannot take now.

    spool = await Spool.open(Path("/var/lib/giaoban/giaoban-spool.db"), max_bytes=256 * 2**20)
    storage.spool = spool                  # the writers divert to it (history, alerts, outbox, readiness)
    spool.cut_off(exc)                     # a writer met the centre unreachable: everything goes here now
    await spool.append([("history", row), ...])         # one transaction; SpoolFull past max_bytes
    await spool.batch(500)                 # the oldest entries, in the order they came (write-back)
    await spool.delete([seq, ...])         # written back: gone from the file
    spool.reconnected()                    # the write-back saw the centre answer again

One table, ``entries``: a sequence number (the order of arrival, which the write-back keeps), a kind
(``history`` a probe result, ``alerts`` one engine commit's alert rows, ``outbox`` one notification for one
channel, ``readiness`` one readiness report), the time it was kept, and its body as JSON. An outbox entry
also carries its delivery state (pending, delivered, rejected), attempts and next attempt: the agent delivers
it from here while the centre is away (alerts/spool_outbox.py), and UNIQUE(key, channel) keeps a
notification enqueued once, as the centre's outbox does.

Why SQLite and the stdlib driver: the file must survive a restart of the agent (WAL, synchronous=NORMAL:
durable across a crash of the process), and it must work exactly when the database server does not. Every
call runs on one worker thread of its own (the connection is not shared between threads), never on the
event loop.

Bounded: ``max_bytes`` of pages in use; an append past it raises SpoolFull (``full`` is true until one
fits again) and the caller falls back to what it did without a spool (history: its in-memory queue; alerts:
the engine keeps its state and retries). A file that is not a sound SQLite database at open is never
deleted: it is moved aside (``NAME.damaged-EPOCH``), the entries it still yields are carried into a new
file, and ``damaged`` says so (/-/ready, ``giaoban_spool_damaged_files``).

Metrics (monitor/metrics/spool.py): rows by kind, bytes, oldest entry's age, entries written back and
entries refused, whether it is full, and the damaged files set aside.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from monitor.errors import GiaobanError

log = logging.getLogger(__name__)

KINDS = ("history", "alerts", "outbox", "readiness")
DEFAULT_MAX_BYTES = 256 * 2**20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL,
    key TEXT,
    channel_id TEXT,
    alert_id TEXT,
    state TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    delivered_at REAL,
    last_error TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_outbox_key ON entries (key, channel_id);
CREATE INDEX IF NOT EXISTS entries_outbox_due ON entries (state, next_attempt_at);
"""
_COLUMNS = "seq, kind, created_at, body, key, channel_id, alert_id, state, attempts, next_attempt_at, delivered_at"

T = TypeVar("T")


class SpoolError(GiaobanError):
    """The spool file cannot be used (its disk, its directory): the caller keeps its old behaviour."""


class SpoolFull(SpoolError):
    """An append would take the spool past its size bound."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    kind: str
    created_at: float
    body: Any
    key: str | None = None
    channel_id: str | None = None
    alert_id: str | None = None
    state: str | None = None
    attempts: int = 0
    next_attempt_at: float | None = None
    delivered_at: float | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A notification for one channel, kept to be delivered from the spool (and written back after)."""

    key: str
    channel_id: str
    alert_id: str
    body: Mapping[str, Any]  # the centre's outbox row (payload included), as alerts/store.py builds it


@dataclass(frozen=True, slots=True)
class Damaged:
    """A spool file that was not sound at open: where it was moved, what it still gave, and why."""

    path: Path
    salvaged: int
    error: str


@dataclass(frozen=True, slots=True)
class SpoolSnapshot:
    """What /metrics shows of the spool (monitor/metrics/spool.py); ``SpoolSnapshot()`` when there is none."""

    rows: Mapping[str, int] = field(default_factory=dict)
    bytes: int = 0
    max_bytes: int = 0
    oldest_age: float = 0.0
    written_back: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, int] = field(default_factory=dict)
    dropped: Mapping[str, int] = field(default_factory=dict)
    diverting: bool = False
    full: bool = False
    damaged: int = 0


def _entry(row: Sequence[Any]) -> Entry:
    seq, kind, created, body, key, channel, alert, state, attempts, due, delivered = row
    return Entry(seq, kind, float(created), json.loads(body), key, channel, alert, state, int(attempts), due, delivered)


class Spool:
    def __init__(
        self, path: Path, conn: sqlite3.Connection, pool: ThreadPoolExecutor, *, max_bytes: int, clock: Any
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._conn = conn
        self._pool = pool
        self._clock: Callable[[], float] = clock
        # Every kind present from the start: a scrape's thread copies these while the loop updates them.
        self.counts: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
        self.oldest: float | None = None  # created_at of the oldest entry
        self.bytes = 0
        self.written_back: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
        self.refused: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
        self.dropped: Counter[str] = Counter(
            dict.fromkeys(KINDS, 0)
        )  # written back but refused by the centre for their values
        self.full = False
        self.damaged: list[Damaged] = []
        self.centre_down = False
        self.down_since: float | None = None
        self.error = ""
        self.delivering = 0  # deliveries from the spool in flight (alerts/spool_outbox.py)
        self._idle = asyncio.Event()
        self._idle.set()

    # --- opening ------------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.time
    ) -> Spool:
        """Open (or create) the spool at ``path``; a damaged file is set aside and salvaged, never deleted."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="giaoban-spool")
        loop = asyncio.get_running_loop()
        try:
            conn, damaged = await loop.run_in_executor(pool, _open_file, path, clock)
        except BaseException:
            pool.shutdown(wait=False)
            raise
        spool = cls(path, conn, pool, max_bytes=max_bytes, clock=clock)
        if damaged is not None:
            spool.damaged.append(damaged)
        await spool._run(spool._refresh)
        if spool.total:
            log.warning(
                "spool %s holds %s entries from an earlier run: they are written back when the centre answers",
                path,
                spool.total,
            )
        return spool

    async def close(self) -> None:
        await self._run(self._conn.close)
        self._pool.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            raise SpoolError(f"spool {self.path}: {type(exc).__name__}: {exc}") from exc

    # --- the centre's state, as the writers and the write-back see it --------------------------------------

    def snapshot(self) -> SpoolSnapshot:
        return SpoolSnapshot(
            rows=dict(self.counts),
            bytes=self.bytes,
            max_bytes=self.max_bytes,
            oldest_age=max(self._clock() - self.oldest, 0.0) if self.oldest is not None and self.total else 0.0,
            written_back=dict(self.written_back),
            refused=dict(self.refused),
            dropped=dict(self.dropped),
            diverting=self.diverting,
            full=self.full,
            damaged=len(self.damaged),
        )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def diverting(self) -> bool:
        """New writes go to the spool: the centre is away, or older entries wait (the order is kept)."""
        return self.centre_down or self.total > 0

    def cut_off(self, exc: BaseException | str) -> None:
        """A writer met the centre unreachable: from now on everything goes to the spool until written back."""
        self.error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"[:300]
        if not self.centre_down:
            self.centre_down = True
            self.down_since = self._clock()
            log.error("the centre's database is unreachable: keeping what cannot be written in %s", self.path)

    def reconnected(self) -> None:
        if self.centre_down:
            log.info(
                "the centre's database answers again after %.0f s: writing back %s spooled entries",
                self._clock() - (self.down_since or self._clock()),
                self.total,
            )
        self.centre_down = False
        self.down_since = None

    def delivery_started(self) -> None:
        self.delivering += 1
        self._idle.clear()

    def delivery_ended(self) -> None:
        self.delivering -= 1
        if self.delivering <= 0:
            self.delivering = 0
            self._idle.set()

    async def deliveries_done(self) -> None:
        """Return once no notification is being sent from the spool (the write-back then takes them over)."""
        await self._idle.wait()

    # --- writing and reading ---------------------------------------------------------------------------------

    async def append(self, items: Iterable[tuple[str, Any]], outgoing: Sequence[Outgoing] = ()) -> None:
        """Keep ``items`` (kind, JSON-able body) and ``outgoing`` notifications in one transaction, in order."""
        rows = [(kind, json.dumps(body, separators=(",", ":"), allow_nan=True)) for kind, body in items]
        mail = [(o, json.dumps(dict(o.body), separators=(",", ":"))) for o in outgoing]
        size = sum(len(text) for _, text in rows) + sum(len(text) for _, text in mail)
        kinds = Counter(kind for kind, _ in rows)
        kinds.update({"outbox": len(mail)} if mail else {})
        if self.bytes + size > self.max_bytes:
            await self._run(self._refresh)  # deletes since the last look may have made room
            if self.bytes + size > self.max_bytes:
                self.refused.update(kinds)
                if not self.full:
                    log.error(
                        "spool %s is full (%s of %s bytes): what the centre cannot take is no longer kept",
                        self.path,
                        self.bytes,
                        self.max_bytes,
                    )
                self.full = True
                raise SpoolFull(f"spool {self.path} is full ({self.bytes} of {self.max_bytes} bytes)")
        added = await self._run(self._insert, rows, mail)
        self.full = False
        self.bytes += size
        self.counts.update(added)
        if self.oldest is None and added:
            self.oldest = self._clock()

    async def batch(self, limit: int) -> list[Entry]:
        """The oldest ``limit`` entries, in the order they came."""
        return await self._run(self._select, f"SELECT {_COLUMNS} FROM entries ORDER BY seq LIMIT ?", (limit,))

    async def delete(self, entries: Sequence[Entry]) -> None:
        """Forget entries the centre now holds (``written_back``) or refused (``dropped`` is counted by the caller)."""
        await self._run(self._delete, [e.seq for e in entries])
        self.written_back.update(e.kind for e in entries)
        await self._run(self._refresh)
        if self.full and self.bytes < self.max_bytes:
            self.full = False  # room again: what was refused meanwhile waited in memory (history) or retries

    async def due(self, now: float, limit: int, *, skip: Iterable[int] = ()) -> list[Entry]:
        """Pending notifications whose attempt is due, each the oldest pending one of its (alert, channel)."""
        skipped = sorted(skip)
        query = (
            f"SELECT {_COLUMNS} FROM entries e WHERE kind = 'outbox' AND state = 'pending' AND next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM entries o WHERE o.kind = 'outbox' AND o.state = 'pending'"
            " AND o.alert_id = e.alert_id AND o.channel_id = e.channel_id AND o.seq < e.seq)"
            f" AND seq NOT IN ({','.join('?' * len(skipped))}) ORDER BY next_attempt_at, seq LIMIT ?"
        )
        return await self._run(self._select, query, (now, *skipped, limit))

    async def record(self, entry: Entry, *, state: str, next_attempt_at: float, error: str | None) -> None:
        """The outcome of one delivery from the spool."""
        delivered = self._clock() if state == "delivered" else None
        await self._run(
            self._execute,
            "UPDATE entries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, delivered_at = ?,"
            " last_error = ? WHERE seq = ?",
            (state, next_attempt_at, delivered, error, entry.seq),
        )

    # --- on the spool's thread -------------------------------------------------------------------------------

    def _insert(self, rows: list[tuple[str, str]], mail: list[tuple[Outgoing, str]]) -> Counter[str]:
        now = self._clock()
        added: Counter[str] = Counter()
        with self._conn:  # one transaction: an engine commit's alerts and notifications together, or nothing
            self._conn.executemany(
                "INSERT INTO entries (kind, created_at, body) VALUES (?, ?, ?)", [(k, now, b) for k, b in rows]
            )
            added.update(kind for kind, _ in rows)
            for out, body in mail:
                cursor = self._conn.execute(
                    "INSERT OR IGNORE INTO entries (kind, created_at, body, key, channel_id, alert_id, state,"
                    " next_attempt_at) VALUES ('outbox', ?, ?, ?, ?, ?, 'pending', ?)",
                    (now, body, out.key, out.channel_id, out.alert_id, now),
                )
                added["outbox"] += cursor.rowcount
        return added

    def _select(self, query: str, params: Sequence[Any]) -> list[Entry]:
        return [_entry(row) for row in self._conn.execute(query, params).fetchall()]

    def _execute(self, query: str, params: Sequence[Any]) -> None:
        with self._conn:
            self._conn.execute(query, params)

    def _delete(self, seqs: list[int]) -> None:
        with self._conn:
            for start in range(0, len(seqs), 500):
                part = seqs[start : start + 500]
                self._conn.execute(f"DELETE FROM entries WHERE seq IN ({','.join('?' * len(part))})", part)

    def _refresh(self) -> None:
        """Counts by kind, the oldest entry and the bytes in use, from the file (after deletes, at open)."""
        counts = dict(self._conn.execute("SELECT kind, count(*) FROM entries GROUP BY kind").fetchall())
        self.counts = Counter({**dict.fromkeys(KINDS, 0), **counts})
        oldest = self._conn.execute("SELECT min(created_at) FROM entries").fetchone()[0]
        self.oldest = float(oldest) if oldest is not None else None
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self.bytes = int((pages - free) * size)


# --- opening a file, and a damaged one -------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False)  # implicit transactions: ``with conn`` commits
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _sound(path: Path) -> sqlite3.Connection:
    """The spool at ``path`` with its schema; raises sqlite3.DatabaseError when the file is not sound."""
    conn = _connect(path)
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {verdict}")
        conn.executescript(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_file(path: Path, clock: Callable[[], float]) -> tuple[sqlite3.Connection, Damaged | None]:
    if not path.parent.is_dir():
        raise SpoolError(
            f"không mở được tệp đệm {path}: thư mục {path.parent} không tồn tại\n"
            f"cannot open the spool {path}: the directory {path.parent} does not exist"
        )
    try:
        return _sound(path), None
    except sqlite3.DatabaseError as exc:
        error = f"{type(exc).__name__}: {exc}"
    except sqlite3.Error as exc:  # not a damaged file: the directory or the disk (permissions, full)
        raise SpoolError(
            f"không mở được tệp đệm {path}: {exc}\ncannot open the spool {path}: {type(exc).__name__}: {exc}"
        ) from exc
    aside = path.with_name(f"{path.name}.damaged-{int(clock())}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{aside}{suffix}"))
    salvaged = _salvage(aside)
    conn = _sound(path)
    with conn:
        conn.executemany(f"INSERT OR IGNORE INTO entries ({_COLUMNS}) VALUES ({','.join('?' * 11)})", salvaged)
    log.error(
        "the spool %s was damaged (%s): moved to %s and kept; %s entries it still held are carried over",
        path,
        error,
        aside,
        len(salvaged),
    )
    return conn, Damaged(aside, len(salvaged), error)


def _salvage(damaged: Path) -> list[tuple[Any, ...]]:
    """The entries a damaged file still yields, row by row until it fails (read-only: the file stays as it is)."""
    rows: list[tuple[Any, ...]] = []
    try:
        conn = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows
    try:
        for row in conn.execute(f"SELECT {_COLUMNS} FROM entries ORDER BY seq"):
            json.loads(row[3])  # a body that no longer parses is where the damage starts
            rows.append(tuple(row))
    except (sqlite3.Error, ValueError):
        pass
    finally:
        conn.close()
    return rows
