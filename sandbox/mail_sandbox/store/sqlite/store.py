"""A mailbox in SQLite: one writer thread, an indexer, any number of reading threads.

New messages go through a single writer thread (``writer``) that owns the only connection
writing the incoming file (see ``schema``); each is acknowledged once committed there. The
indexer (``indexer``) then parses them and moves them into the mailbox file, where the list
and search find them; a list or search waits for that as ``freshness`` says. User changes
(read flags, deletes, tags: ``changes``) also go through the writer thread, to both files.
Each reading thread gets its own connection (``reads``); WAL mode lets them read while the
others write.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

from mail_sandbox import defaults
from mail_sandbox.store.contract import (
    MessageStore,
    NewMessagesListener,
    NoSuchMessageError,
    NoSuchTagError,
    Page,
    SearchError,
    StoreError,
    StoreInfo,
    Summary,
    TagExistsError,
)
from mail_sandbox.store.search import Term, parse_query
from mail_sandbox.store.sqlite import changes, reads
from mail_sandbox.store.sqlite.connections import Readers, open_writer
from mail_sandbox.store.sqlite.files import THROWAWAY, StoreFiles
from mail_sandbox.store.sqlite.freshness import IndexFreshness, index_marks
from mail_sandbox.store.sqlite.indexer import Indexer
from mail_sandbox.store.sqlite.mail_index import IndexerSettings, Progress
from mail_sandbox.store.sqlite.pages import MatchCache, mailbox_counts
from mail_sandbox.store.sqlite.query import where_clause
from mail_sandbox.store.sqlite.values import possible_ids, readable
from mail_sandbox.store.sqlite.writer import Writer

logger = logging.getLogger(__name__)

#: Settings of the writing connection that ``writer_pragma`` reads or sets.
WRITER_PRAGMAS = frozenset({"max_page_count", "page_count", "query_only"})
_T = TypeVar("_T")


class SQLiteStore(MessageStore):
    """A ``MessageStore`` in the SQLite file at ``path``.

    ``path=":memory:"`` makes a throwaway store (see ``files.StoreFiles``): it behaves like a
    file store, and keeps nothing once closed. ``max_messages`` keeps only the newest N (0 =
    keep everything). ``busy_timeout_ms`` is how long a write waits for a lock held by another
    process before failing. ``clock`` gives the received time in seconds since the epoch
    (``time.time``; tests pass their own). ``index_in_child_process`` runs the indexer in a
    child process (the default for a file store: a server's event loop keeps the GIL) or in a
    thread of this process (the default for a throwaway store, which starts at no cost).
    """

    def __init__(
        self,
        path: str = THROWAWAY,
        *,
        max_messages: int = defaults.MAX_MESSAGES,
        busy_timeout_ms: int = 5000,
        clock: Callable[[], float] = time.time,
        index_in_child_process: bool | None = None,
    ) -> None:
        if max_messages < 0:
            raise ValueError("max_messages must be 0 (no limit) or more")
        self._files = StoreFiles(path)
        self.path = self._files.path
        self.incoming_path = self._files.incoming_path
        self.max_messages = max_messages
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[NewMessagesListener] = []
        self._deleted = 0  # messages deleted since opening, for /api/v1/info
        self._matches = MatchCache()
        self._readers = Readers(self._files, busy_timeout_ms)
        try:
            conn = open_writer(self._files, busy_timeout_ms)
        except BaseException:
            self._files.remove()
            raise
        self._freshness = IndexFreshness(self.path, *index_marks(conn))
        if index_in_child_process is None:
            index_in_child_process = self._files.durable
        settings = IndexerSettings(
            self.path, self.incoming_path, max_messages, busy_timeout_ms, self._files.durable
        )
        self._indexer = Indexer(settings, self._on_indexed, in_child_process=index_in_child_process)
        self._writer = Writer(
            conn,
            self.path,
            max_messages=max_messages,
            freshness=self._freshness,
            request_index=self._indexer.request,
            count_deleted=self._count_deleted,
        )
        try:
            self._indexer.start()
        except OSError as exc:
            conn.close()
            self._files.remove()
            raise StoreError(f"cannot start the indexer of {self.path}: {exc}") from exc
        # Acknowledged before a crash or a stop and not indexed then: indexed now.
        if self._freshness.acknowledged > self._freshness.indexed:
            self._indexer.request(self._freshness.acknowledged)
        self._writer.start()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def add(self, raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> Future[str]:
        """Queue a message; the future gets its ID once it is committed (see ``MessageStore``)."""
        created = int(self._clock() * 1000)
        return self._writer.add(bytes(raw), envelope_from or "", envelope_to or (), created)

    def add_listener(self, listener: NewMessagesListener) -> None:
        """Call ``listener(ids)`` once those messages are listed, from the thread that relays
        the indexer's progress: a listener that reads the store is answered without waiting
        for the index, and one that blocks holds up the next notice (not the mail)."""
        with self._lock:
            self._listeners.append(listener)

    def set_read(self, ids: Sequence[str] | None, read: bool) -> int:
        """Flag the given messages read or unread (all when ``ids`` is None)."""
        flag = int(bool(read))
        return self._call_writer(lambda conn: changes.set_read(conn, ids, flag))

    def delete(self, ids: Sequence[str] | None) -> int:
        """Delete the given messages (all when ``ids`` is None); returns how many went."""
        return self._count_deleted(self._call_writer(lambda conn: changes.delete(conn, ids)))

    def delete_matching(self, query: str) -> int:
        """Delete every message matching ``query``; ``SearchError`` if it cannot be understood."""
        conditions, params = self._conditions(query)
        deleted = self._call_writer(lambda conn: changes.delete_matching(conn, conditions, params))
        return self._count_deleted(deleted)

    def set_read_matching(self, query: str, read: bool) -> int:
        """Flag every message matching ``query`` read or unread; returns how many changed."""
        conditions, params = self._conditions(query)
        flag = int(bool(read))
        return self._call_writer(
            lambda conn: changes.set_read_matching(conn, conditions, params, flag)
        )

    def set_tags(self, ids: Sequence[str], tags: Sequence[str]) -> int:
        """Replace the tags of the given messages (see ``MessageStore.set_tags``)."""
        wanted = list(dict.fromkeys(ids))
        names: list[str] = []
        for tag in map(readable, tags):
            if tag.lower() not in {name.lower() for name in names}:
                names.append(tag)
        missing = self._call_writer(lambda conn: changes.set_tags(conn, wanted, names))
        if missing:
            raise NoSuchMessageError(missing)
        return len(wanted)

    def rename_tag(self, name: str, new_name: str) -> int:
        """Rename a tag everywhere (see ``MessageStore.rename_tag``)."""
        name, new_name = readable(name), readable(new_name)
        outcome, count = self._call_writer(lambda conn: changes.rename_tag(conn, name, new_name))
        if outcome == "missing":
            raise NoSuchTagError(f"tag not found: {name}")
        if outcome == "exists":
            raise TagExistsError(f"tag already exists: {new_name}")
        return count

    def delete_tag(self, name: str) -> int:
        """Remove a tag from every message; ``NoSuchTagError`` when no message has it."""
        name = readable(name)
        count = self._call_writer(lambda conn: changes.delete_tag(conn, name))
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
        indexes them. A throwaway store's files are removed.
        """
        if not self._writer.close():
            return
        self._freshness.close()
        self._indexer.stop()
        self._readers.close()
        self._files.remove()

    # -- reading -----------------------------------------------------------------------------

    def list(self, start: int = 0, limit: int = 50, *, after: str | None = None) -> Page:
        """Newest first; ``after`` keeps messages stored after that ID (KeyError if unknown)."""
        return self._page([], start, limit, after)

    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        """Newest first, filtered by Mailpit's search grammar; raises ``SearchError``."""
        return self._page(parse_query(readable(query)), start, limit, after)

    def summary(self, message_id: str) -> Summary | None:
        """The summary of one message, indexed or not, or None when there is no such ID."""
        if not possible_ids([message_id]):
            return None
        with self._snapshot(indexed=False) as conn:
            return reads.summary(conn, message_id)

    def raw(self, message_id: str) -> bytes | None:
        """The exact bytes received, or None when there is no such ID."""
        if not possible_ids([message_id]):
            return None
        with self._snapshot(indexed=False) as conn:
            return reads.raw(conn, message_id)

    def latest_id(self) -> str | None:
        """The ID of the newest message, indexed or not, or None when the mailbox is empty."""
        with self._snapshot(indexed=False) as conn:
            return reads.latest_id(conn)

    def counts(self) -> tuple[int, int]:
        """``(total, unread)`` for the whole mailbox."""
        with self._snapshot() as conn:
            return mailbox_counts(conn)

    def all_tags(self) -> list[str]:
        """Every tag in use, sorted case-insensitively."""
        with self._snapshot() as conn:
            return reads.all_tags(conn)

    def info(self) -> StoreInfo:
        """Where the mail is kept, its size on disk, counts and tags, and deletions so far."""
        with self._snapshot() as conn:
            total, unread = mailbox_counts(conn)
            tags = reads.tag_counts(conn)
        with self._lock:
            deleted = self._deleted
        return StoreInfo(
            location=self.path,
            size=self._files.size(),
            total=total,
            unread=unread,
            tags=tags,
            deleted=deleted,
        )

    # -- inside ------------------------------------------------------------------------------

    def _conditions(self, query: str) -> tuple[list[str], list[object]]:
        """The WHERE conditions of a search, refusing a query that would match everything."""
        terms = parse_query(readable(query))
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
            return reads.page(conn, self._matches, terms, start, limit, after)

    @contextmanager
    def _snapshot(self, *, indexed: bool = True) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one read transaction, so counts and rows agree.

        With ``indexed``, first wait for the index to take in what was acknowledged so far.
        """
        if self._writer.closed:
            raise StoreError("the mail store is closed")
        if indexed:
            self._await_index(reading=True)
        try:
            conn = self._readers.connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StoreError(f"could not read the mail store: {exc}") from exc

    def _await_index(self, *, reading: bool = False) -> None:
        """Wait for the index as ``freshness`` says; a listener (on the relay thread, which
        brings the index's progress) is answered from the index as it stands."""
        if not self._indexer.in_relay_thread():
            self._freshness.wait(reading=reading)

    def _call_writer(
        self, operation: Callable[[sqlite3.Connection], _T], *, in_transaction: bool = True
    ) -> _T:
        """Run ``operation`` (in a transaction) on the writer thread and wait for its result."""
        # A change by ID or by search must find the messages acknowledged before it.
        self._await_index()
        return self._writer.call(operation, in_transaction=in_transaction)

    def _on_indexed(self, progress: Progress) -> None:
        """The indexer's report, on its relay thread: count what it pruned (so a read it wakes
        sees the deletions too), wake the reads waiting for the index, then tell the listeners,
        which then find those messages listed."""
        if progress.pruned:
            self._count_deleted(progress.pruned)
        self._freshness.index_reached(progress.upto)
        if not progress.ids or self._writer.closed:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(progress.ids)
            except Exception:
                logger.exception("mail store: a new-message listener failed")
