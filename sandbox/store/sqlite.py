"""A mailbox in one SQLite file: one writer thread, any number of reading threads.

Writes (new messages, read flags, deletes) all go through a single writer thread that owns the
only write connection, so they never contend for SQLite's write lock; new messages that arrive
together are committed in one transaction, which is what makes ingesting thousands per second
possible with ``synchronous=FULL``. Each reading thread gets its own connection; WAL mode lets
them read while the writer writes.

SQL here is built from constant fragments and ``?`` placeholders only (hence the ``noqa: S608``
marks); every value a user supplies is a bound parameter.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sandbox.store.base import (
    Address,
    MessageStore,
    NewMessagesListener,
    Page,
    StoreError,
    StoreFullError,
    Summary,
)
from sandbox.store.parse import ParsedMessage, summarize
from sandbox.store.search import Term, parse_query
from sandbox.store.sqlite_query import where_clause
from sandbox.store.sqlite_schema import create_search_table, migrate

logger = logging.getLogger(__name__)

#: Most new messages committed in one transaction, and most bytes of them (the WAL file grows
#: to the size of one transaction).
BURST_LIMIT = 500
BURST_BYTES = 64 * 1024 * 1024
#: Largest page ``list`` and ``search`` return.
PAGE_LIMIT = 1000
# Well under SQLite's limit on bound parameters per statement.
_CHUNK = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# SQLite's integers are 64-bit; a client's absurd offset is past the end either way.
_MAX_OFFSET = 2**63 - 1
_SUMMARY_COLUMNS = (
    "m.id, m.uid, m.created, m.read, m.message_id, m.sender, m.to_, m.cc, m.bcc, m.reply_to, "
    "m.return_path, m.subject, m.date, m.size, m.attachments, m.inline, m.snippet"
)
#: Settings of the writing connection that ``writer_pragma`` reads or sets.
WRITER_PRAGMAS = frozenset({"max_page_count", "page_count", "query_only"})
_T = TypeVar("_T")


@dataclass(slots=True)
class _Add:
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    uid: str
    created: int
    future: Future[str]


@dataclass(slots=True)
class _Call:
    operation: Callable[[sqlite3.Connection], Any]
    future: Future[Any]
    in_transaction: bool = True


class _Stop:
    """Queued by ``close``: everything queued before it is written first."""


class _Reader:
    """Holds one thread's connection; a weak reference to it lets ``close`` reach it."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class SQLiteStore(MessageStore):
    """A ``MessageStore`` in the SQLite file at ``path``.

    ``path=":memory:"`` makes a throwaway store: a file in a private temporary directory that
    ``close`` removes, so it behaves exactly like a file store. ``max_messages`` keeps only the
    newest N (0 = keep everything). ``busy_timeout_ms`` is how long a write waits for a lock
    held by another process before failing. ``clock`` gives the received time in seconds since
    the epoch (``time.time``; tests pass their own).
    """

    def __init__(
        self,
        path: str = ":memory:",
        *,
        max_messages: int = 10_000,
        busy_timeout_ms: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_messages < 0:
            raise ValueError("max_messages must be 0 (no limit) or more")
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if path == ":memory:":
            self._tempdir = tempfile.TemporaryDirectory(prefix="mail-sandbox-")
            path = os.path.join(self._tempdir.name, "mail.db")
        self.path = path
        self.max_messages = max_messages
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._listeners: list[NewMessagesListener] = []
        self._queue: queue.SimpleQueue[_Add | _Call | _Stop] = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        try:
            self._writer = self._open_writer()
        except BaseException:
            self._remove_tempdir()
            raise
        self._thread = threading.Thread(target=self._run, name="mail-store-writer", daemon=True)
        self._thread.start()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def add(self, raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> Future[str]:
        """Queue a message; the future gets its ID once it is committed (see ``MessageStore``)."""
        future: Future[str] = Future()
        job = _Add(
            bytes(raw),
            envelope_from or "",
            tuple(envelope_to or ()),
            secrets.token_urlsafe(16)[:22],
            int(self._clock() * 1000),
            future,
        )
        with self._lock:
            if self._closed:
                future.set_exception(StoreError("the mail store is closed"))
            else:
                self._queue.put(job)
        return future

    def add_listener(self, listener: NewMessagesListener) -> None:
        """Call ``listener(ids)`` from the writer thread after each commit of new messages."""
        with self._lock:
            self._listeners.append(listener)

    def set_read(self, ids: Sequence[str] | None, read: bool) -> int:
        """Flag the given messages read or unread (all when ``ids`` is None)."""
        flag = int(bool(read))

        def operation(conn: sqlite3.Connection) -> int:
            update = "UPDATE messages SET read = ? WHERE read != ?"
            if ids is None:
                return conn.execute(update, (flag, flag)).rowcount
            changed = 0
            for chunk in _chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                sql = f"{update} AND uid IN ({marks})"
                changed += conn.execute(sql, (flag, flag, *chunk)).rowcount
            return changed

        return self._call_writer(operation)

    def delete(self, ids: Sequence[str] | None) -> int:
        """Delete the given messages (all when ``ids`` is None); returns how many went."""

        def operation(conn: sqlite3.Connection) -> int:
            if ids is None:
                return _delete_everything(conn)
            rowids: list[int] = []
            for chunk in _chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT id FROM messages WHERE uid IN ({marks})"  # noqa: S608
                rowids.extend(row[0] for row in conn.execute(sql, chunk))
            for chunk in _chunks(rowids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM messages WHERE id IN ({marks})", chunk)  # noqa: S608
                conn.execute(f"DELETE FROM raw WHERE id IN ({marks})", chunk)  # noqa: S608
                conn.execute(f"DELETE FROM tags WHERE message IN ({marks})", chunk)  # noqa: S608
                conn.execute(f"DELETE FROM search WHERE rowid IN ({marks})", chunk)  # noqa: S608
            return len(rowids)

        return self._call_writer(operation)

    def writer_pragma(self, name: str, value: int | None = None) -> int:
        """Read (or set, then read) a setting of the connection that writes every message.

        ``max_page_count`` caps the file's size, so that a store kept on a small disk fails
        like a full disk (SMTP 452) before the disk does; ``query_only`` refuses every write,
        as a read-only disk would (SMTP 451). The fault tests use both; ``page_count`` is the
        size now. Only the names in ``WRITER_PRAGMAS`` are accepted.
        """
        if name not in WRITER_PRAGMAS:
            raise ValueError(f"writer_pragma accepts {sorted(WRITER_PRAGMAS)}, not {name!r}")
        if value is not None and not isinstance(value, int):
            raise TypeError("a pragma value must be an int")

        def operation(conn: sqlite3.Connection) -> int:
            if value is not None:
                conn.execute(f"PRAGMA {name} = {int(value)}")
            return int(conn.execute(f"PRAGMA {name}").fetchone()[0])

        # Outside a transaction: BEGIN itself fails once query_only is on, and it must be
        # possible to turn it off again.
        return self._call_writer(operation, in_transaction=False)

    def close(self) -> None:
        """Commit everything queued, stop the writer thread and close every connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_Stop())
        if threading.current_thread() is not self._thread:
            self._thread.join()
        for reader in list(self._readers):
            reader.conn.close()
        self._remove_tempdir()

    # -- reading -----------------------------------------------------------------------------

    def list(self, start: int = 0, limit: int = 50, *, after: str | None = None) -> Page:
        """Newest first; ``after`` keeps messages stored after that ID (KeyError if unknown)."""
        return self._page([], start, limit, after)

    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        """Newest first, filtered by Mailpit's search grammar; raises ``SearchError``."""
        return self._page(parse_query(query), start, limit, after)

    def summary(self, message_id: str) -> Summary | None:
        """The summary of one message, or None when there is no such ID."""
        with self._snapshot() as conn:
            sql = f"SELECT {_SUMMARY_COLUMNS} FROM messages m WHERE m.uid = ?"  # noqa: S608
            rows = conn.execute(sql, (message_id,)).fetchall()
            summaries = _summaries(conn, rows)
        return summaries[0] if summaries else None

    def raw(self, message_id: str) -> bytes | None:
        """The exact bytes received, or None when there is no such ID."""
        with self._snapshot() as conn:
            row = conn.execute(
                "SELECT r.data FROM raw r JOIN messages m ON m.id = r.id WHERE m.uid = ?",
                (message_id,),
            ).fetchone()
        return bytes(row[0]) if row else None

    def latest_id(self) -> str | None:
        """The ID of the newest message, or None when the mailbox is empty."""
        with self._snapshot() as conn:
            row = conn.execute("SELECT uid FROM messages ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def counts(self) -> tuple[int, int]:
        """``(total, unread)`` for the whole mailbox."""
        with self._snapshot() as conn:
            return _counts(conn)

    def all_tags(self) -> list[str]:
        """Every tag in use, sorted case-insensitively."""
        with self._snapshot() as conn:
            rows = conn.execute("SELECT DISTINCT name FROM tags ORDER BY name").fetchall()
        return [row[0] for row in rows]

    def _page(self, terms: list[Term], start: int, limit: int, after: str | None) -> Page:
        start = max(0, int(start))
        limit = max(1, min(int(limit), PAGE_LIMIT))
        conditions, params = where_clause(terms)
        with self._snapshot() as conn:
            total, unread = _counts(conn)
            if after is not None:
                row = conn.execute("SELECT id FROM messages WHERE uid = ?", (after,)).fetchone()
                if row is None:
                    raise KeyError(after)
                conditions.append("m.id > ?")
                params.append(row[0])
            where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
            if where:
                matched, matched_unread = conn.execute(
                    f"SELECT count(*), coalesce(sum(m.read = 0), 0) FROM messages m {where}",  # noqa: S608
                    params,
                ).fetchone()
            else:
                matched, matched_unread = total, unread
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM messages m {where} "  # noqa: S608
                "ORDER BY m.id DESC LIMIT ? OFFSET ?",
                [*params, limit, min(start, _MAX_OFFSET)],
            ).fetchall()
            messages = _summaries(conn, rows)
        return Page(total, unread, matched, matched_unread, start, messages)

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one read transaction, so counts and rows agree."""
        if self._closed:
            raise StoreError("the mail store is closed")
        try:
            conn = self._reader()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StoreError(f"could not read the mail store: {exc}") from exc

    def _reader(self) -> sqlite3.Connection:
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = 1")
            reader = _Reader(conn)
            self._local.reader = reader
            with self._lock:
                self._readers.add(reader)
        return reader.conn

    # -- the writer thread ----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # Not tied to one thread: close() shuts every connection from whichever thread calls it.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        try:
            # Opened here so a bad path fails the constructor; used only by the writer thread.
            conn = self._connect()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the mail store {self.path}: {exc}") from exc
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise StoreError(f"the mail store {self.path} cannot use WAL mode")
            # FULL: a message acknowledged with 250 survives a power cut, not just a crash.
            conn.execute("PRAGMA synchronous = FULL")
            # Shrinks the WAL file back after a big burst instead of keeping it at its peak.
            conn.execute(f"PRAGMA journal_size_limit = {BURST_BYTES}")
            migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open the mail store {self.path}: {exc}") from exc
        except StoreError:
            conn.close()
            raise
        return conn

    def _run(self) -> None:
        stopping = False
        while not stopping:
            jobs = [self._queue.get()]
            size = _size(jobs[0])
            while len(jobs) < BURST_LIMIT and size < BURST_BYTES:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                size += _size(jobs[-1])
            adds: list[_Add] = []
            for job in jobs:
                if isinstance(job, _Add):
                    adds.append(job)
                    continue
                # Writes happen in the order they were asked for.
                self._store(adds)
                adds = []
                if isinstance(job, _Stop):
                    stopping = True
                else:
                    self._perform(job)
            self._store(adds)
        self._writer.close()

    def _store(self, adds: list[_Add]) -> None:
        """Commit a burst of new messages in one transaction, then tell futures and listeners."""
        adds = [job for job in adds if job.future.set_running_or_notify_cancel()]
        if not adds:
            return
        parsed = [self._summarize(job) for job in adds]
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
            rowids = [_insert(conn, job, facts) for job, facts in zip(adds, parsed, strict=True)]
            oldest_kept = self._prune(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            count = "a message" if len(adds) == 1 else f"{len(adds)} messages"
            logger.error("mail store %s: could not store %s: %s", self.path, count, exc)
            for job in adds:
                job.future.set_exception(_store_error("could not store the message", exc))
            return
        for job in adds:
            job.future.set_result(job.uid)
        kept = [job.uid for job, rowid in zip(adds, rowids, strict=True) if rowid >= oldest_kept]
        if kept:
            self._notify(kept)

    def _summarize(self, job: _Add) -> ParsedMessage:
        try:
            return summarize(job.raw, job.envelope_from, job.envelope_to)
        except Exception:
            # summarize is built never to raise; if it does, the bytes are still worth keeping.
            logger.exception("mail store: could not read message %s; storing it as is", job.uid)
            return ParsedMessage(size=len(job.raw), return_path=job.envelope_from)

    def _prune(self, conn: sqlite3.Connection) -> int:
        """Delete all but the newest ``max_messages``; returns the oldest kept row id."""
        if not self.max_messages:
            return 0
        row = conn.execute(
            "SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?",
            (self.max_messages - 1,),
        ).fetchone()
        if row is None:
            return 0
        oldest_kept = row[0]
        if conn.execute("SELECT 1 FROM messages WHERE id < ? LIMIT 1", (oldest_kept,)).fetchone():
            conn.execute("DELETE FROM messages WHERE id < ?", (oldest_kept,))
            conn.execute("DELETE FROM raw WHERE id < ?", (oldest_kept,))
            conn.execute("DELETE FROM tags WHERE message < ?", (oldest_kept,))
            conn.execute("DELETE FROM search WHERE rowid < ?", (oldest_kept,))
        return oldest_kept

    def _perform(self, job: _Call) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            if job.in_transaction:
                result = self._transaction(job.operation)
            else:
                result = self._outside_transaction(job.operation)
        except StoreError as exc:
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    def _transaction(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = operation(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            logger.error("mail store %s: could not update: %s", self.path, exc)
            raise _store_error("could not update the mail store", exc) from exc
        return result

    def _outside_transaction(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return operation(self._writer)
        except sqlite3.Error as exc:
            logger.error("mail store %s: could not change a setting: %s", self.path, exc)
            raise _store_error("could not change a setting of the mail store", exc) from exc

    def _call_writer(
        self, operation: Callable[[sqlite3.Connection], _T], *, in_transaction: bool = True
    ) -> _T:
        """Run ``operation`` (in a transaction) on the writer thread and wait for its result."""
        if threading.current_thread() is self._thread:
            # A listener calling back into the store: queueing would wait for itself.
            if in_transaction:
                return self._transaction(operation)
            return self._outside_transaction(operation)
        future: Future[_T] = Future()
        with self._lock:
            if self._closed:
                raise StoreError("the mail store is closed")
            self._queue.put(_Call(operation, future, in_transaction))
        return future.result()

    def _notify(self, ids: list[str]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(ids)
            except Exception:
                logger.exception("mail store: a new-message listener failed")

    def _remove_tempdir(self) -> None:
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _size(job: _Add | _Call | _Stop) -> int:
    return len(job.raw) if isinstance(job, _Add) else 0


def _store_error(doing: str, exc: sqlite3.Error) -> StoreError:
    """``StoreFullError`` when SQLite ran out of room (disk or page limit), else ``StoreError``."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    kind = StoreFullError if code == sqlite3.SQLITE_FULL else StoreError
    return kind(f"{doing}: {exc}")


def _chunks(items: list[_T]) -> Iterator[list[_T]]:
    for index in range(0, len(items), _CHUNK):
        yield items[index : index + _CHUNK]


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.error("mail store: rollback failed: %s", exc)


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    unread = conn.execute("SELECT count(*) FROM messages WHERE read = 0").fetchone()[0]
    return total, unread


def _insert(conn: sqlite3.Connection, job: _Add, facts: ParsedMessage) -> int:
    """Insert one message with its raw bytes, tags and index row; returns its row id."""
    date = None if facts.date is None else int(facts.date.timestamp() * 1000)
    cursor = conn.execute(
        "INSERT INTO messages (uid, created, message_id, sender, to_, cc, bcc, reply_to, "
        "return_path, subject, date, size, attachments, inline, snippet) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job.uid,
            job.created,
            facts.message_id,
            _dump([facts.sender.name, facts.sender.address]),
            _dump_addresses(facts.to),
            _dump_addresses(facts.cc),
            _dump_addresses(facts.bcc),
            _dump_addresses(facts.reply_to),
            facts.return_path,
            facts.subject,
            date,
            facts.size,
            facts.attachments,
            facts.inline,
            facts.snippet,
        ),
    )
    rowid = cursor.lastrowid
    assert rowid is not None
    conn.execute("INSERT INTO raw (id, data) VALUES (?, ?)", (rowid, job.raw))
    conn.executemany(
        "INSERT OR IGNORE INTO tags (message, name) VALUES (?, ?)",
        [(rowid, tag) for tag in facts.tags],
    )
    conn.execute(
        "INSERT INTO search (rowid, subject, from_, to_, cc, bcc, reply_to, message_id, tags, "
        "body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rowid,
            facts.subject,
            _address_text([facts.sender]),
            _address_text(facts.to),
            _address_text(facts.cc),
            _address_text(facts.bcc),
            _address_text(facts.reply_to),
            facts.message_id,
            ", ".join(facts.tags),
            facts.text,
        ),
    )
    return rowid


def _delete_everything(conn: sqlite3.Connection) -> int:
    count = conn.execute("DELETE FROM messages").rowcount
    conn.execute("DELETE FROM raw")
    conn.execute("DELETE FROM tags")
    # Recreating the index is far cheaper than deleting its rows one by one.
    conn.execute("DROP TABLE search")
    create_search_table(conn)
    return count


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dump_addresses(addresses: list[Address]) -> str:
    return _dump([[a.name, a.address] for a in addresses])


def _load_addresses(text: str) -> list[Address]:
    return [Address(name, address) for name, address in json.loads(text)]


def _address_text(addresses: list[Address]) -> str:
    """Addresses as people write them, for the index: ``Name <address>, ...``."""
    return ", ".join(
        f"{a.name} <{a.address}>" if a.name else a.address for a in addresses if a.name or a.address
    )


def _when(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)


def _summaries(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[Summary]:
    """Summaries for ``rows`` (in ``_SUMMARY_COLUMNS`` order), with their tags."""
    if not rows:
        return []
    tags: dict[int, list[str]] = {}
    rowids = [row[0] for row in rows]
    for chunk in _chunks(rowids):
        marks = ",".join("?" * len(chunk))
        sql = (
            f"SELECT message, name FROM tags WHERE message IN ({marks})"  # noqa: S608
            " ORDER BY message, name"
        )
        for message, name in conn.execute(sql, chunk):
            tags.setdefault(message, []).append(name)
    summaries = []
    for row in rows:
        sender_name, sender_address = json.loads(row[5])
        summaries.append(
            Summary(
                id=row[1],
                message_id=row[4],
                read=bool(row[3]),
                sender=Address(sender_name, sender_address),
                to=_load_addresses(row[6]),
                cc=_load_addresses(row[7]),
                bcc=_load_addresses(row[8]),
                reply_to=_load_addresses(row[9]),
                return_path=row[10],
                subject=row[11],
                created=_when(row[2]),
                date=_when(row[12]),
                size=row[13],
                attachments=row[14],
                inline=row[15],
                snippet=row[16],
                tags=tags.get(row[0], []),
            )
        )
    return summaries
