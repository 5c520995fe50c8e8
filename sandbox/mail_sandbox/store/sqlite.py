"""A mailbox in SQLite: one writer thread, an indexer, any number of reading threads.

New messages go through a single writer thread that owns the only connection writing the
incoming file (see ``mail_sandbox.store.sqlite_schema``): messages that arrive together are
committed there in one transaction, raw bytes and envelope only, which is what makes ingesting
thousands per second possible with ``synchronous=FULL``; each is acknowledged (its future
resolved) once that commit is done. The indexer (``mail_sandbox.store.indexer``) then parses
them and moves them into the mailbox file, where the list and search find them. User changes
(read flags, deletes, tags) also go through the writer thread, to both files. Each reading
thread gets its own connection; WAL mode lets them read while the others write.

A list or search first waits until everything acknowledged before it began is indexed (see
``INDEX_STALL_SECONDS`` and ``READ_BACKLOG``), so a client that got a 250 finds its message
there; ``summary`` and ``raw`` find a message as soon as it is acknowledged.

SQL here is built from constant fragments and ``?`` placeholders only (hence the ``noqa: S608``
marks); every value a user supplies is a bound parameter.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import re
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

from mail_sandbox import defaults
from mail_sandbox.store.contract import (
    Address,
    MessageStore,
    NewMessagesListener,
    NoSuchMessageError,
    NoSuchTagError,
    Page,
    SearchError,
    StoreError,
    StoreFullError,
    StoreInfo,
    Summary,
    TagExistsError,
)
from mail_sandbox.store.indexer import Indexer
from mail_sandbox.store.mail_index import IndexerSettings, Progress, parse_staged
from mail_sandbox.store.search import Term, parse_query
from mail_sandbox.store.sqlite_pages import (
    MatchCache,
    mailbox_counts,
    mailbox_state,
    matching,
    page_rows,
)
from mail_sandbox.store.sqlite_query import where_clause
from mail_sandbox.store.sqlite_schema import (
    INCOMING_SUFFIX,
    bump_generation,
    create_search_table,
    migrate,
    newest_id,
    prepare_incoming,
    refuse_unusable,
)

logger = logging.getLogger(__name__)

#: Most new messages committed in one transaction, and most bytes of them (the WAL file grows
#: to the size of one transaction).
BURST_LIMIT = 500
BURST_BYTES = 64 * 1024 * 1024
# Well under SQLite's limit on bound parameters per statement.
_CHUNK = 500
#: Parameters one INSERT of new messages binds at most: SQLite before 3.32 allows 999.
_MAX_PARAMS = 995
_STAGE_COLUMNS = 5
_STAGE_ROW = "(?, ?, ?, ?, ?)"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WAL_RETRY_SECONDS = 0.005
_SUMMARY_COLUMNS = (
    "m.id, m.uid, m.created, m.read, m.message_id, m.sender, m.to_, m.cc, m.bcc, m.reply_to, "
    "m.return_path, m.subject, m.date, m.size, m.attachments, m.inline, m.snippet"
)
#: Settings of the writing connection that ``writer_pragma`` reads or sets.
WRITER_PRAGMAS = frozenset({"max_page_count", "page_count", "query_only"})
#: A list or search waits for the index to take in what was acknowledged before it began, for
#: as long as the index keeps moving: it gives up (and answers from the index as it stands)
#: once nothing was indexed for this long, as when the indexer is stuck or restarting.
INDEX_STALL_SECONDS = 5.0
#: A list or search that waits for the index stops waiting, and reads what is indexed so far,
#: when mail keeps pouring in meanwhile: once ``FLOOD_ARRIVALS`` more messages arrived since
#: it began while more than ``READ_BACKLOG`` of those before it still wait. A burst that has
#: ended (a test suite's thousands, then a list) is always waited for, and the index catches up
#: with it; a flood from parallel CI jobs, thousands a second for as long as they run, would
#: otherwise hang the inbox and the API for seconds. Changes by search always wait.
READ_BACKLOG = 200
FLOOD_ARRIVALS = 5
_T = TypeVar("_T")


@dataclass(slots=True)
class _Add:
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    created: int
    future: Future[str]
    uid: str = ""  # given by the writer thread, a burst at a time


@dataclass(slots=True)
class _Call:
    operation: Callable[[sqlite3.Connection], Any]
    future: Future[Any]
    in_transaction: bool = True


@dataclass(slots=True)
class _Notify:
    """Queued when messages became searchable: the writer thread tells the listeners."""

    ids: list[str]


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
    the epoch (``time.time``; tests pass their own). ``index_in_process`` runs the indexer in a
    child process (the default for a file store: a server's event loop keeps the GIL) or in a
    thread (the default for a throwaway store, which starts at no cost).
    """

    def __init__(
        self,
        path: str = ":memory:",
        *,
        max_messages: int = defaults.MAX_MESSAGES,
        busy_timeout_ms: int = 5000,
        clock: Callable[[], float] = time.time,
        index_in_process: bool | None = None,
    ) -> None:
        if max_messages < 0:
            raise ValueError("max_messages must be 0 (no limit) or more")
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if path == ":memory:":
            self._tempdir = tempfile.TemporaryDirectory(prefix="mail-sandbox-")
            path = os.path.join(self._tempdir.name, "mail.db")
        self.path = path
        self.incoming_path = path + INCOMING_SUFFIX
        self.max_messages = max_messages
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._listeners: list[NewMessagesListener] = []
        self._deleted = 0  # messages deleted since opening, for /api/v1/info
        self._queue: queue.SimpleQueue[_Add | _Call | _Notify | _Stop] = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._matches = MatchCache()
        # _acknowledged: the newest id committed to the incoming file; _indexed: every id up
        # to it is indexed. Reads wait on this condition for the second to reach the first.
        self._index_state = threading.Condition()
        self._behind = False  # a flood made reads stop waiting (see _flooded)
        try:
            self._writer = self._open_writer()
        except BaseException:
            self._remove_tempdir()
            raise
        self._acknowledged, self._indexed = _index_marks(self._writer)
        settings = IndexerSettings(self.path, self.incoming_path, max_messages, busy_timeout_ms)
        self._indexer = Indexer(
            settings,
            self._on_indexed,
            in_process=self._tempdir is None if index_in_process is None else index_in_process,
        )
        try:
            self._indexer.start()
        except OSError as exc:
            self._writer.close()
            self._remove_tempdir()
            raise StoreError(f"cannot start the indexer of {self.path}: {exc}") from exc
        # Acknowledged before a crash or a stop and not indexed then: indexed now.
        if self._acknowledged > self._indexed:
            self._indexer.request(self._acknowledged)
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
            changed = 0
            # A message not indexed yet keeps its flag in the incoming file until it is; one
            # already copied to the mailbox file is flagged there only, and counted once.
            for update in (
                "UPDATE messages SET read = ? WHERE read != ?",
                "UPDATE pending SET read = ? WHERE read != ? AND NOT EXISTS "
                "(SELECT 1 FROM messages m WHERE m.id = pending.id)",
            ):
                if ids is None:
                    changed += conn.execute(update, (flag, flag)).rowcount
                    continue
                for chunk in _chunks(_possible_ids(ids)):
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
            rowids = list(_rowids(conn, _possible_ids(ids)).values())
            _delete_rowids(conn, rowids)
            return len(rowids)

        return self._count_deleted(self._call_writer(operation))

    def delete_matching(self, query: str) -> int:
        """Delete every message matching ``query``; ``SearchError`` if it cannot be understood."""
        conditions, params = self._conditions(query)

        def operation(conn: sqlite3.Connection) -> int:
            sql = f"SELECT m.id FROM messages m WHERE {' AND '.join(conditions)}"  # noqa: S608
            rowids = [row[0] for row in conn.execute(sql, params)]
            _delete_rowids(conn, rowids)
            return len(rowids)

        return self._count_deleted(self._call_writer(operation))

    def set_read_matching(self, query: str, read: bool) -> int:
        """Flag every message matching ``query`` read or unread; returns how many changed."""
        conditions, params = self._conditions(query)
        flag = int(bool(read))

        def operation(conn: sqlite3.Connection) -> int:
            sql = (
                "UPDATE messages SET read = ? WHERE read != ? AND id IN "  # noqa: S608
                f"(SELECT m.id FROM messages m WHERE {' AND '.join(conditions)})"
            )
            return conn.execute(sql, [flag, flag, *params]).rowcount

        return self._call_writer(operation)

    def set_tags(self, ids: Sequence[str], tags: Sequence[str]) -> int:
        """Replace the tags of the given messages (see ``MessageStore.set_tags``)."""
        wanted = list(dict.fromkeys(ids))
        names: list[str] = []
        for tag in map(_readable, tags):
            if tag.lower() not in {name.lower() for name in names}:
                names.append(tag)

        def operation(conn: sqlite3.Connection) -> list[str]:
            rowids = _rowids(conn, _possible_ids(wanted))
            missing = [_readable(uid) for uid in wanted if uid not in rowids]
            if missing:
                return missing
            # The NOCASE column finds a tag in use whatever the case; keep its spelling.
            spelled = []
            for name in names:
                row = conn.execute("SELECT name FROM tags WHERE name = ? LIMIT 1", (name,))
                found = row.fetchone()
                spelled.append(found[0] if found else name)
            for chunk in _chunks(list(rowids.values())):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM tags WHERE message IN ({marks})", chunk)  # noqa: S608
            conn.executemany(
                "INSERT OR IGNORE INTO tags (message, name) VALUES (?, ?)",
                [(rowid, name) for rowid in rowids.values() for name in spelled],
            )
            _reindex_tags(conn, list(rowids.values()))
            return []

        missing = self._call_writer(operation)
        if missing:
            raise NoSuchMessageError(missing)
        return len(wanted)

    def rename_tag(self, name: str, new_name: str) -> int:
        """Rename a tag everywhere (see ``MessageStore.rename_tag``)."""
        name, new_name = _readable(name), _readable(new_name)

        def operation(conn: sqlite3.Connection) -> tuple[str, int]:
            rowids = _tagged(conn, name)
            if not rowids:
                return "missing", 0
            if new_name.lower() != name.lower() and _tagged(conn, new_name):
                return "exists", 0
            conn.execute("UPDATE tags SET name = ? WHERE name = ?", (new_name, name))
            _reindex_tags(conn, rowids)
            return "renamed", len(rowids)

        outcome, count = self._call_writer(operation)
        if outcome == "missing":
            raise NoSuchTagError(f"tag not found: {name}")
        if outcome == "exists":
            raise TagExistsError(f"tag already exists: {new_name}")
        return count

    def delete_tag(self, name: str) -> int:
        """Remove a tag from every message; ``NoSuchTagError`` when no message has it."""
        name = _readable(name)

        def operation(conn: sqlite3.Connection) -> int:
            rowids = _tagged(conn, name)
            conn.execute("DELETE FROM tags WHERE name = ?", (name,))
            _reindex_tags(conn, rowids)
            return len(rowids)

        count = self._call_writer(operation)
        if not count:
            raise NoSuchTagError(f"tag not found: {name}")
        return count

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
            # The writer's main database is the incoming file, where every message goes first.
            if value is not None:
                conn.execute(f"PRAGMA {name} = {int(value)}")
            return int(conn.execute(f"PRAGMA {name}").fetchone()[0])

        # Outside a transaction: BEGIN itself fails once query_only is on, and it must be
        # possible to turn it off again.
        return self._call_writer(operation, in_transaction=False)

    def close(self) -> None:
        """Commit everything queued, stop the writer and the indexer, close every connection.

        Messages acknowledged but not indexed yet stay in the incoming file; the next open
        indexes them.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_Stop())
        with self._index_state:
            self._index_state.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._indexer.stop()
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
        return self._page(parse_query(_readable(query)), start, limit, after)

    def summary(self, message_id: str) -> Summary | None:
        """The summary of one message, or None when there is no such ID."""
        if not _possible_ids([message_id]):
            return None
        with self._snapshot(indexed=False) as conn:
            # The incoming file first: a message leaves it only once the mailbox file has it.
            staged = _staged(conn, message_id)
            if staged is None:
                sql = f"SELECT {_SUMMARY_COLUMNS} FROM messages m WHERE m.uid = ?"  # noqa: S608
                rows = conn.execute(sql, (message_id,)).fetchall()
                summaries = _summaries(conn, rows)
                return summaries[0] if summaries else None
        return _staged_summary(staged)

    def raw(self, message_id: str) -> bytes | None:
        """The exact bytes received, or None when there is no such ID."""
        if not _possible_ids([message_id]):
            return None
        with self._snapshot(indexed=False) as conn:
            row = conn.execute("SELECT data FROM pending WHERE uid = ?", (message_id,)).fetchone()
            if row is None:
                row = conn.execute(
                    "SELECT r.data FROM raw r JOIN messages m ON m.id = r.id WHERE m.uid = ?",
                    (message_id,),
                ).fetchone()
        return bytes(row[0]) if row else None

    def latest_id(self) -> str | None:
        """The ID of the newest message, indexed or not, or None when the mailbox is empty."""
        with self._snapshot(indexed=False) as conn:
            row = conn.execute("SELECT uid FROM pending ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                row = conn.execute("SELECT uid FROM messages ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def counts(self) -> tuple[int, int]:
        """``(total, unread)`` for the whole mailbox."""
        with self._snapshot() as conn:
            return mailbox_counts(conn)

    def all_tags(self) -> list[str]:
        """Every tag in use, sorted case-insensitively."""
        with self._snapshot() as conn:
            rows = conn.execute("SELECT DISTINCT name FROM tags ORDER BY name").fetchall()
        return [row[0] for row in rows]

    def info(self) -> StoreInfo:
        """Where the mail is kept, its size on disk, counts and tags, and deletions so far."""
        with self._snapshot() as conn:
            total, unread = mailbox_counts(conn)
            rows = conn.execute(
                "SELECT name, count(*) FROM tags GROUP BY name ORDER BY name"
            ).fetchall()
        # The WAL holds committed mail until a checkpoint copies it into the main file.
        size = sum(_file_size(self.path + suffix) for suffix in ("", "-wal"))
        with self._lock:
            deleted = self._deleted
        return StoreInfo(
            location=self.path,
            size=size,
            total=total,
            unread=unread,
            tags={name: count for name, count in rows},
            deleted=deleted,
        )

    def _conditions(self, query: str) -> tuple[list[str], list[object]]:
        """The WHERE conditions of a search, refusing a query that would match everything."""
        terms = parse_query(_readable(query))
        if not terms:
            raise SearchError("a search query is needed")
        return where_clause(terms)

    def _count_deleted(self, count: int) -> int:
        with self._lock:
            self._deleted += count
        return count

    def _page(self, terms: list[Term], start: int, limit: int, after: str | None) -> Page:
        start = max(0, int(start))
        limit = max(1, min(int(limit), defaults.MAX_PAGE_SIZE))
        with self._snapshot() as conn:
            floor = None
            if after is not None:
                # Before anything else reads the mailbox file; see _find_rowid.
                floor = _find_rowid(conn, after)
                if floor is None:
                    raise KeyError(after)
            state = mailbox_state(conn)
            everything = matching(conn, self._matches, [], None, state)
            found = everything
            if terms or floor is not None:
                found = matching(conn, self._matches, terms, floor, state)
            rows = page_rows(conn, _SUMMARY_COLUMNS, terms, floor, found, start, limit)
            messages = _summaries(conn, rows)
        return Page(everything.count, everything.unread, found.count, found.unread, start, messages)

    @contextmanager
    def _snapshot(self, *, indexed: bool = True) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one read transaction, so counts and rows agree.

        With ``indexed``, first wait for the index to take in what was acknowledged so far.
        """
        if self._closed:
            raise StoreError("the mail store is closed")
        if indexed:
            self._await_index(reading=True)
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
            conn.execute("ATTACH DATABASE ? AS incoming", (self.incoming_path,))
            conn.execute("PRAGMA query_only = 1")
            reader = _Reader(conn)
            self._local.reader = reader
            with self._lock:
                self._readers.add(reader)
        return reader.conn

    # -- the writer thread ----------------------------------------------------------------

    def _connect(self, path: str | None = None) -> sqlite3.Connection:
        # Not tied to one thread: close() shuts every connection from whichever thread calls it.
        conn = sqlite3.connect(path or self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        """The writer thread's connection: the incoming file, with the mailbox file attached.

        Opened here so that a bad path fails the constructor. The incoming file is the main
        database, so that new messages, written there alone, take only its write lock (the
        indexer holds the mailbox file's for whole chunks), while user changes, in
        ``BEGIN IMMEDIATE`` transactions, take both.
        """
        conn: sqlite3.Connection | None = None
        try:
            if os.path.isdir(self.path):
                raise StoreError("it is a directory")
            # The mailbox file first: a file that is not a mail store fails here, by its name,
            # and before anything is written to it.
            conn = self._connect()
            refuse_unusable(conn)
            _use_wal(conn, self.path, self._busy_timeout_ms)
            migrate(conn)
            newest = newest_id(conn)
            conn.close()
            conn = self._connect(self.incoming_path)
            _use_wal(conn, self.incoming_path, self._busy_timeout_ms)
            prepare_incoming(conn, newest)
            conn.execute("ATTACH DATABASE ? AS mailbox", (self.path,))
        except (sqlite3.Error, StoreError) as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"cannot open the mail store {self.path}: {exc}") from exc
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
            try:
                stopping = self._handle(jobs)
            except Exception as exc:  # noqa: BLE001 - the writer thread must outlive anything
                # Every mail and change after this one depends on this thread: whatever went
                # wrong fails what this batch still owes its callers, and the thread goes on.
                logger.error("mail store %s: the writer failed: %s", self.path, _describe(exc))
                _fail_unanswered(jobs, StoreError(f"the mail store failed: {_describe(exc)}"))
                stopping = any(isinstance(job, _Stop) for job in jobs)
        self._writer.close()

    def _handle(self, jobs: list[_Add | _Call | _Notify | _Stop]) -> bool:
        """Do one batch of jobs in the order they came; returns whether ``close`` asked to stop."""
        stopping = False
        adds: list[_Add] = []
        searchable: list[str] = []
        for job in jobs:
            if isinstance(job, _Add):
                adds.append(job)
                continue
            if isinstance(job, _Notify):
                searchable.extend(job.ids)
                continue
            # Writes happen in the order they were asked for.
            self._store(adds)
            adds = []
            if isinstance(job, _Stop):
                stopping = True
            else:
                self._perform(job)
        self._store(adds)
        if searchable:
            self._notify(searchable)
        return stopping

    def _store(self, adds: list[_Add]) -> None:
        """Commit a burst of new messages to the incoming file in one transaction (no parsing,
        no indexing: that is the indexer's), then resolve their futures and ask for an index."""
        adds = [job for job in adds if job.future.set_running_or_notify_cancel()]
        if not adds:
            return
        # One read of the system's random source for the whole burst, off the event loop.
        for job, uid in zip(adds, _new_uids(len(adds)), strict=True):
            job.uid = uid
        conn = self._writer
        try:
            newest = _stage(conn, adds)
        except sqlite3.Error as exc:
            _rollback(conn)
            count = "a message" if len(adds) == 1 else f"{len(adds)} messages"
            logger.error("mail store %s: could not store %s: %s", self.path, count, exc)
            for job in adds:
                job.future.set_exception(_store_error("could not store the message", exc))
            return
        except Exception as exc:  # noqa: BLE001 - a message the database did not refuse
            _rollback(conn)
            if len(adds) == 1:
                self._refuse(adds[0], exc)
                return
            # Not the database (full, locked) but something about one message: each on its
            # own, so that only the message at fault is refused.
            newest = self._stage_each(adds)
            if not adds:
                return
        with self._index_state:
            self._acknowledged = newest
            waiting = newest - self._indexed
            # A read waiting for the index looks again: see _flooded.
            self._index_state.notify_all()
        if self.max_messages and waiting > self.max_messages:
            # Rare (a burst bigger than the mailbox), and done before the 250s, so that what
            # a client reads after its 250 is already the mailbox as it is kept.
            self._prune_incoming(conn)
        for job in adds:
            job.future.set_result(job.uid)
        self._indexer.request(newest)

    def _stage_each(self, adds: list[_Add]) -> int:
        """Stage ``adds`` one by one, refusing each that fails; keeps in ``adds`` only those
        stored and returns the newest id given out."""
        newest, stored = 0, []
        for job in adds:
            try:
                newest = _stage(self._writer, [job])
            except Exception as exc:  # noqa: BLE001 - refused, whatever the reason
                _rollback(self._writer)
                self._refuse(job, exc)
            else:
                stored.append(job)
        adds[:] = stored
        return newest

    def _refuse(self, job: _Add, exc: Exception) -> None:
        """Fail one new message's future (the SMTP side answers 451 or 452) and log why."""
        logger.error("mail store %s: could not store a message: %s", self.path, _describe(exc))
        kind = _store_error if isinstance(exc, sqlite3.Error) else _other_error
        job.future.set_exception(kind("could not store the message", exc))

    def _prune_incoming(self, conn: sqlite3.Connection) -> None:
        """Drop waiting messages beyond the newest ``max_messages`` (a burst bigger than the
        mailbox), so they are never indexed; the indexer prunes the mailbox file."""
        try:
            row = conn.execute(
                "SELECT id FROM pending ORDER BY id DESC LIMIT 1 OFFSET ?", (self.max_messages - 1,)
            ).fetchone()
            if row is not None:
                self._count_deleted(
                    conn.execute("DELETE FROM pending WHERE id < ?", (row[0],)).rowcount
                )
        except Exception as exc:  # noqa: BLE001 - pruning can wait for the indexer
            # They were acknowledged and are kept; the indexer prunes them from the mailbox.
            logger.warning(
                "mail store %s: could not prune waiting messages: %s", self.path, _describe(exc)
            )

    def _on_indexed(self, progress: Progress) -> None:
        """The indexer's report (on its relay thread): wake waiting reads, queue the listeners."""
        with self._index_state:
            self._indexed = max(self._indexed, progress.upto)
            self._index_state.notify_all()
        if progress.pruned:
            self._count_deleted(progress.pruned)
        if progress.ids:
            with self._lock:
                if not self._closed:
                    # Listeners are called from the writer thread, never from the relay thread.
                    self._queue.put(_Notify(progress.ids))

    def _await_index(self, *, reading: bool = False) -> None:
        """Wait until every message acknowledged so far is indexed (see ``INDEX_STALL_SECONDS``).

        A read (``reading``) stops waiting in a flood (see ``READ_BACKLOG``) and reads the
        index as it stands. Each read finds the flood for itself, by mail arriving while it
        waits: one that comes after the flood has ended waits for everything before it.
        """
        if threading.current_thread() is self._thread:
            return  # a listener reading: new messages must not wait for it
        with self._index_state:
            target = self._acknowledged
            before, moved = self._indexed, time.monotonic()
            while self._indexed < target and not self._closed:
                if reading and self._flooded(target):
                    return
                # Woken by progress of the index or by new mail (for _flooded).
                if self._indexed != before:
                    before, moved = self._indexed, time.monotonic()
                left = moved + INDEX_STALL_SECONDS - time.monotonic()
                if left <= 0:
                    logger.warning(
                        "mail store %s: the index has not moved for %g s; reading it as it is",
                        self.path,
                        INDEX_STALL_SECONDS,
                    )
                    return
                self._index_state.wait(left)
            if reading and self._behind:
                self._behind = False
                logger.info("mail store %s: the index has caught up", self.path)

    def _flooded(self, target: int) -> bool:
        """Whether mail pours in faster than it is indexed, for a read waiting for ``target``
        (``_index_state`` held); says so in the log when a flood begins."""
        flooded = (
            self._acknowledged - target >= FLOOD_ARRIVALS and target - self._indexed > READ_BACKLOG
        )
        if flooded and not self._behind:
            self._behind = True
            logger.info(
                "mail store %s: mail arrives faster than it is indexed; lists and searches "
                "show what is indexed so far until the index catches up",
                self.path,
            )
        return flooded

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
        except Exception as exc:  # noqa: BLE001 - the caller hears of it as a StoreError
            # A fault in the change itself (out of memory, a bug) fails that call alone.
            logger.error("mail store %s: could not update: %s", self.path, _describe(exc))
            job.future.set_exception(_other_error("could not update the mail store", exc))
        else:
            job.future.set_result(result)

    def _transaction(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
            # BEGIN IMMEDIATE takes the write lock of the incoming file only. Written first,
            # before anything reads it, the mailbox file's lock is waited for (busy_timeout)
            # while the indexer commits; a read first would pin a snapshot that the indexer's
            # next commit makes stale, and the write would then fail at once as "locked".
            # The write itself says that counts remembered for searches (sqlite_pages) stop
            # holding.
            bump_generation(conn, "mailbox")
            result = operation(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            logger.error("mail store %s: could not update: %s", self.path, exc)
            raise _store_error("could not update the mail store", exc) from exc
        except BaseException:
            # Left open, the transaction would hold both files' write locks for good.
            _rollback(conn)
            raise
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
        # A change by ID or by search must find the messages acknowledged before it.
        self._await_index()
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


def _size(job: _Add | _Call | _Notify | _Stop) -> int:
    return len(job.raw) if isinstance(job, _Add) else 0


def _describe(exc: BaseException) -> str:
    """An exception in one line, by its type when it has no message (``MemoryError()``)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _other_error(doing: str, exc: BaseException) -> StoreError:
    """A failure that is not SQLite's, as the store reports failures to its callers."""
    error = StoreError(f"{doing}: {_describe(exc)}")
    error.__cause__ = exc
    return error


def _fail_unanswered(jobs: Sequence[_Add | _Call | _Notify | _Stop], error: StoreError) -> None:
    """Fail the future of every job in ``jobs`` that has no answer yet."""
    for job in jobs:
        future = getattr(job, "future", None)
        if future is not None and not future.done():
            future.set_exception(error)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _readable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so that SQLite can encode it.

    Lone surrogates are what bytes that were not UTF-8 become when decoded with
    ``surrogateescape`` (aiosmtpd decodes MAIL and RCPT so) and what JSON's ``\\udcff`` gives;
    stored as U+FFFD they show where the bad byte was.
    """
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def _possible_ids(ids: Sequence[str]) -> list[str]:
    """The IDs among ``ids`` that could name a message: every ID given out is ASCII, so any
    other (one SQLite cannot even encode, say) names none."""
    return [uid for uid in ids if isinstance(uid, str) and uid.isascii()]


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


def _new_uids(count: int) -> list[str]:
    """``count`` new message IDs: 22 URL-safe characters (128 random bits) each."""
    data = secrets.token_bytes(16 * count)
    return [
        base64.urlsafe_b64encode(data[start : start + 16]).rstrip(b"=").decode()
        for start in range(0, len(data), 16)
    ]


def _stage(conn: sqlite3.Connection, adds: list[_Add]) -> int:
    """Insert new messages into the incoming file, committed; returns the newest id given out.

    One multi-row INSERT in autocommit mode is one transaction in one ``sqlite3_step``: the
    module releases the GIL for each step, and under load every time it takes the GIL back
    waits for the event loop thread, so a burst costs two of those waits instead of two per
    message (measured: the 250 came 1.5-2.5 ms sooner at p50).
    """
    per_statement = _MAX_PARAMS // _STAGE_COLUMNS
    if len(adds) <= per_statement:
        return _stage_rows(conn, adds)
    # More than one statement may bind: several statements, one transaction.
    conn.execute("BEGIN")
    for start in range(0, len(adds), per_statement):
        newest = _stage_rows(conn, adds[start : start + per_statement])
    conn.execute("COMMIT")
    return newest


def _stage_rows(conn: sqlite3.Connection, adds: list[_Add]) -> int:
    params: list[object] = []
    for job in adds:
        # An envelope with bytes that were not UTF-8 is stored, not refused.
        envelope_to = _readable(_dump(list(job.envelope_to)))
        params += (job.uid, job.created, _readable(job.envelope_from), envelope_to, job.raw)
    rows = ", ".join([_STAGE_ROW] * len(adds))
    sql = f"INSERT INTO pending (uid, created, envelope_from, envelope_to, data) VALUES {rows}"  # noqa: S608
    return int(conn.execute(sql, params).lastrowid or 0)


def _index_marks(inbox: sqlite3.Connection) -> tuple[int, int]:
    """(newest id acknowledged, newest id up to which all are indexed) as the files stand."""
    low, high = inbox.execute("SELECT min(id), max(id) FROM pending").fetchone()
    if high is not None:
        return high, low - 1
    row = inbox.execute("SELECT seq FROM sqlite_sequence WHERE name = 'pending'").fetchone()
    newest = int(row[0]) if row else 0
    return newest, newest


def _use_wal(conn: sqlite3.Connection, path: str, busy_timeout_ms: int) -> None:
    # Switching a file to WAL does not wait for a lock the way other statements do (SQLite
    # calls no busy handler there), so stores opening a new file at once would fail with
    # "database is locked": wait here instead, as long as any other write would.
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY_SECONDS)
    if mode.lower() != "wal":
        raise StoreError(f"{path} cannot use WAL mode")
    # FULL: a message acknowledged with 250 survives a power cut, not just a crash.
    conn.execute("PRAGMA synchronous = FULL")
    # Shrinks the WAL file back after a big burst instead of keeping it at its peak.
    conn.execute(f"PRAGMA journal_size_limit = {BURST_BYTES}")


def _find_rowid(conn: sqlite3.Connection, uid: str) -> int | None:
    """The row id of message ``uid``, indexed or not.

    Reads the incoming file first: a message is removed from it only after the mailbox file
    has it, so a snapshot that misses it there finds it in the mailbox file read next.
    """
    row = conn.execute("SELECT id FROM pending WHERE uid = ?", (uid,)).fetchone()
    if row is None:
        row = conn.execute("SELECT id FROM messages WHERE uid = ?", (uid,)).fetchone()
    return None if row is None else int(row[0])


@dataclass(slots=True)
class _StagedMessage:
    uid: str
    created: int
    read: bool
    envelope_from: str
    envelope_to: list[str]
    data: bytes
    tags: list[str]


def _staged(conn: sqlite3.Connection, uid: str) -> _StagedMessage | None:
    """Message ``uid`` if it waits in the incoming file, with any tags set on it meanwhile."""
    row = conn.execute(
        "SELECT id, created, read, envelope_from, envelope_to, data FROM pending WHERE uid = ?",
        (uid,),
    ).fetchone()
    if row is None:
        return None
    tags = [t[0] for t in conn.execute("SELECT name FROM tags WHERE message = ?", (row[0],))]
    return _StagedMessage(
        uid, row[1], bool(row[2]), row[3], json.loads(row[4]), bytes(row[5]), tags
    )


def _staged_summary(staged: _StagedMessage) -> Summary:
    """The summary of a message not indexed yet, read from its bytes as the indexer will."""
    facts = parse_staged(staged.data, staged.envelope_from, staged.envelope_to)
    tags = list(facts.tags)
    tags += [t for t in staged.tags if t.lower() not in {n.lower() for n in facts.tags}]
    return Summary(
        id=staged.uid,
        message_id=facts.message_id,
        read=staged.read,
        sender=facts.sender,
        to=facts.to,
        cc=facts.cc,
        bcc=facts.bcc,
        reply_to=facts.reply_to,
        return_path=facts.return_path,
        subject=facts.subject,
        created=_when(staged.created),
        date=facts.date,
        size=facts.size,
        attachments=facts.attachments,
        inline=facts.inline,
        snippet=facts.snippet,
        tags=sorted(tags, key=str.lower),
    )


def _rowids(conn: sqlite3.Connection, uids: Sequence[str]) -> dict[str, int]:
    """Row ids of the messages with these IDs, indexed or not, by ID; unknown IDs are left out."""
    found: dict[str, int] = {}
    for table in ("messages", "pending"):
        for chunk in _chunks(list(uids)):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT uid, id FROM {table} WHERE uid IN ({marks})"  # noqa: S608
            found.update(conn.execute(sql, chunk).fetchall())
    return found


def _delete_rowids(conn: sqlite3.Connection, rowids: list[int]) -> None:
    for chunk in _chunks(rowids):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM messages WHERE id IN ({marks})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM raw WHERE id IN ({marks})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM tags WHERE message IN ({marks})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM search WHERE rowid IN ({marks})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM pending WHERE id IN ({marks})", chunk)  # noqa: S608


def _tagged(conn: sqlite3.Connection, name: str) -> list[int]:
    """Row ids of the messages with tag ``name`` (any case)."""
    return [row[0] for row in conn.execute("SELECT message FROM tags WHERE name = ?", (name,))]


def _reindex_tags(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Bring the search index's tags column of these messages up to date."""
    for chunk in _chunks(rowids):
        marks = ",".join("?" * len(chunk))
        tags: dict[int, list[str]] = {rowid: [] for rowid in chunk}
        sql = f"SELECT message, name FROM tags WHERE message IN ({marks}) ORDER BY name"  # noqa: S608
        for message, name in conn.execute(sql, chunk):
            tags[message].append(name)
        conn.executemany(
            "UPDATE search SET tags = ? WHERE rowid = ?",
            [(", ".join(names), rowid) for rowid, names in tags.items()],
        )


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _delete_everything(conn: sqlite3.Connection) -> int:
    # Waiting messages count unless the mailbox file has them already.
    count = conn.execute(
        "DELETE FROM pending WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = pending.id)"
    ).rowcount
    conn.execute("DELETE FROM pending")
    count += conn.execute("DELETE FROM messages").rowcount
    conn.execute("DELETE FROM raw")
    conn.execute("DELETE FROM tags")
    # Recreating the index is far cheaper than deleting its rows one by one.
    conn.execute("DROP TABLE mailbox.search")
    create_search_table(conn, "mailbox")
    return count


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load_addresses(text: str) -> list[Address]:
    return [Address(name, address) for name, address in json.loads(text)]


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
