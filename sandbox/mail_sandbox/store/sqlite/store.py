"""A mail store in SQLite: one writer thread, an indexer, any number of reading threads.

New messages go through a single writer thread (``writer``) that owns the only connection
writing the incoming file (see ``schema``); each is acknowledged once committed there. The
indexer (``indexer``) then parses them and moves them into the mailbox file, where the list
and search find them; a list or search waits for that as ``freshness`` says. User changes
(read flags, deletes, tags: ``changes``) also go through the writer thread, to both files.
Each reading thread gets its own connection (``reads``); WAL mode lets them read while the
others write. All mailboxes share the two files; each is a ``mailbox.SQLiteMailbox`` over them,
and the store itself is the default one.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

from mail_sandbox import defaults
from mail_sandbox.mailboxes import (
    DEFAULT_MAILBOX,
    check_name,
    check_ttl,
    hash_password,
    is_mailbox_name,
)
from mail_sandbox.store.books import MailboxBooks
from mail_sandbox.store.contract import (
    MailboxExistsError,
    MailboxInfo,
    MailboxListener,
    NoSuchMailboxError,
    StoreError,
)
from mail_sandbox.store.match_cache import MatchCache
from mail_sandbox.store.sqlite import mailbox_table
from mail_sandbox.store.sqlite.connections import Readers, open_writer
from mail_sandbox.store.sqlite.files import THROWAWAY, StoreFiles
from mail_sandbox.store.sqlite.freshness import IndexFreshness, index_marks
from mail_sandbox.store.sqlite.indexer import Indexer
from mail_sandbox.store.sqlite.mail_index import IndexerSettings, Progress
from mail_sandbox.store.sqlite.mailbox import SQLiteMailbox
from mail_sandbox.store.sqlite.values import readable
from mail_sandbox.store.sqlite.writer import Writer

logger = logging.getLogger(__name__)

#: Settings of the writing connection that ``writer_pragma`` reads or sets.
WRITER_PRAGMAS = frozenset({"max_page_count", "page_count", "query_only"})
_T = TypeVar("_T")


class SQLiteStore(SQLiteMailbox):
    """A ``MessageStore`` in the SQLite file at ``path``, opened on its default mailbox.

    ``path=":memory:"`` makes a throwaway store (see ``files.StoreFiles``): it behaves like a
    file store, and keeps nothing once closed. ``max_messages`` keeps only the newest N of
    each mailbox (0 = keep everything). ``busy_timeout_ms`` is how long a write waits for a
    lock held by another process before failing. ``clock`` gives the received time in seconds
    since the epoch (``time.time``; tests pass their own), which TTLs count by too.
    ``index_in_child_process`` runs the indexer in a child process (the default for a file
    store: a server's event loop keeps the GIL) or in a thread of this process (the default
    for a throwaway store, which starts at no cost).
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
        super().__init__(self, DEFAULT_MAILBOX)
        self._files = StoreFiles(path)
        self.path = self._files.path
        self.incoming_path = self._files.incoming_path
        self.max_messages = max_messages
        self._clock = clock
        self._books = MailboxBooks()
        self.matches = MatchCache()
        self._readers = Readers(self._files, busy_timeout_ms)
        try:
            conn = open_writer(self._files, busy_timeout_ms, self._now_ms())
        except BaseException:
            self._files.remove()
            raise
        self._freshness = IndexFreshness(self.path, *index_marks(conn))
        if index_in_child_process is None:
            index_in_child_process = self._files.durable
        settings = IndexerSettings(
            self.path, self.incoming_path, max_messages, busy_timeout_ms, self._files.durable
        )
        self._indexer = Indexer(
            settings,
            self._on_indexed,
            in_child_process=index_in_child_process,
            label=settings.path,
        )
        self._writer = Writer(
            conn,
            self.path,
            max_messages=max_messages,
            freshness=self._freshness,
            request_index=self._indexer.request,
            count_deleted=self.count_deleted,
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"

    # -- for the mailboxes -------------------------------------------------------------------

    def add_to(
        self, mailbox: str, raw: bytes, envelope_from: str, envelope_to: Sequence[str]
    ) -> Future[str]:
        """Queue a message for ``mailbox`` (see ``MessageStore.add``)."""
        created = self._now_ms()
        return self._writer.add(
            bytes(raw), envelope_from or "", envelope_to or (), created, mailbox
        )

    def count_deleted(self, mailbox: str, count: int) -> int:
        """Note ``count`` more messages of ``mailbox`` gone; returns ``count``."""
        return self._books.count_deleted(mailbox, count)

    def deleted_in(self, mailbox: str) -> int:
        """Messages of ``mailbox`` deleted since the store was opened, pruned ones included."""
        return self._books.deleted_in(mailbox)

    def file_size(self) -> int:
        """Bytes the store takes on disk."""
        return self._files.size()

    @contextmanager
    def snapshot(self, *, indexed: bool = True) -> Iterator[sqlite3.Connection]:
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

    def call_writer(
        self,
        operation: Callable[[sqlite3.Connection], _T],
        *,
        in_transaction: bool = True,
        after_index: bool = True,
    ) -> _T:
        """Run ``operation`` (in a transaction) on the writer thread and wait for its result;
        with ``after_index``, once what was acknowledged before is indexed (a change by ID or
        by search must find those messages), else at once (a change to mailboxes alone)."""
        if after_index:
            self._await_index()
        return self._writer.call(operation, in_transaction=in_transaction)

    def flush(self) -> None:
        """Wait until every message queued so far is committed (answered, for each that could
        not be); at once once the store is closed."""
        if self._writer.closed:
            return
        # Closed meanwhile: close has answered everything queued.
        with contextlib.suppress(StoreError):
            self._writer.call(lambda _conn: None, in_transaction=False)

    # -- mailboxes ---------------------------------------------------------------------------

    def mailbox(self, name: str) -> SQLiteMailbox:
        """The mailbox ``name``; ``NoSuchMailboxError`` when there is none."""
        if name == DEFAULT_MAILBOX:
            return self
        if self._find(name) is None:
            raise NoSuchMailboxError(readable(str(name)))
        return SQLiteMailbox(self, name)

    def create_mailbox(
        self, name: str, *, password: str | None = None, ttl: int | None = None
    ) -> MailboxInfo:
        """Create an empty mailbox (see ``MessageStore.create_mailbox``)."""
        check_name(name)
        check_ttl(ttl)
        kept = None if password is None else hash_password(password)
        now = self._now_ms()
        made = self.call_writer(
            lambda conn: mailbox_table.create(conn, name, now, ttl, kept), after_index=False
        )
        if not made:
            raise MailboxExistsError(name)
        return self.mailbox_info(name)

    def mailboxes(self) -> list[MailboxInfo]:
        """Every mailbox, ``default`` first, then by name."""
        with self.snapshot() as conn:
            rows = mailbox_table.counted(conn)
        rows.sort(key=lambda row: (row.name != DEFAULT_MAILBOX, row.name))
        return [_info(row) for row in rows]

    def mailbox_info(self, name: str) -> MailboxInfo:
        """One mailbox; ``NoSuchMailboxError`` when there is none."""
        with self.snapshot() as conn:
            rows = mailbox_table.counted(conn, name) if is_mailbox_name(name) else []
        if not rows:
            raise NoSuchMailboxError(readable(str(name)))
        return _info(rows[0])

    def delete_mailbox(self, name: str) -> int:
        """Delete a mailbox with all its mail; returns how many messages went."""
        if name == DEFAULT_MAILBOX:
            raise ValueError("the default mailbox always exists; delete its messages instead")
        if not is_mailbox_name(name):
            raise NoSuchMailboxError(readable(str(name)))
        count = self.call_writer(lambda conn: mailbox_table.delete(conn, name))
        if count is None:
            raise NoSuchMailboxError(readable(name))
        self._books.forget(name)
        return count

    def check_password(self, name: str, password: str | None) -> bool:
        """Whether ``password`` opens mailbox ``name`` (see ``MessageStore.check_password``).

        A check that passed is remembered (see ``MailboxBooks.password_opens``).
        """
        row = self._find(name)
        if row is None:
            return False
        if row.password is None:
            return True
        if password is None:
            return False
        return self._books.password_opens(name, row.password, password)

    def touch_mailbox(self, name: str) -> None:
        """Count the mailbox as used now (written at most once a second per mailbox)."""
        now = self._now_ms()
        if not self._books.touch_due(name, now):
            return
        self.call_writer(lambda conn: mailbox_table.touch(conn, name, now), after_index=False)

    def expire_mailboxes(self) -> list[str]:
        """Delete every mailbox whose TTL has run out; returns their names."""
        now = self._now_ms()

        def expire(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            gone = []
            for name in mailbox_table.expired(conn, now):
                count = mailbox_table.delete(conn, name)
                gone.append((name, count or 0))
            return gone

        gone = self.call_writer(expire)
        for name, count in gone:
            logger.info("mail store: mailbox %s expired, %d messages deleted", name, count)
            self._books.forget(name)
        return [name for name, _count in gone]

    def add_mailbox_listener(self, listener: MailboxListener) -> None:
        """Call ``listener(mailbox, ids)`` once those messages are listed, from the thread that
        relays the indexer's progress: a listener that reads the store is answered without
        waiting for the index, and one that blocks holds up the next notice (not the mail)."""
        self._books.add_listener(listener)

    # -- the store ---------------------------------------------------------------------------

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
        return self.call_writer(operation, in_transaction=False)

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

    # -- inside ------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _find(self, name: object) -> mailbox_table.MailboxRow | None:
        if not is_mailbox_name(name):
            return None
        assert isinstance(name, str)
        with self.snapshot(indexed=False) as conn:
            return mailbox_table.find(conn, name)

    def _await_index(self, *, reading: bool = False) -> None:
        """Wait for the index as ``freshness`` says; a listener (on the relay thread, which
        brings the index's progress) is answered from the index as it stands."""
        if not self._indexer.in_relay_thread():
            self._freshness.wait(reading=reading)

    def _on_indexed(self, progress: Progress) -> None:
        """The indexer's report, on its relay thread: count what it pruned (so a read it wakes
        sees the deletions too), wake the reads waiting for the index, then tell the listeners,
        which then find those messages listed."""
        for mailbox, count in progress.pruned.items():
            self.count_deleted(mailbox, count)
        self._freshness.index_reached(progress.upto)
        if not progress.ids or self._writer.closed:
            return
        arrived: dict[str, list[str]] = {}
        for uid, mailbox in zip(progress.ids, progress.mailboxes, strict=True):
            arrived.setdefault(mailbox, []).append(uid)
        self._books.tell(arrived)


def _info(row: mailbox_table.MailboxRow) -> MailboxInfo:
    return MailboxInfo.from_times(
        row.name,
        messages=row.messages,
        unread=row.unread,
        created_ms=row.created,
        used_ms=row.used,
        ttl=row.ttl,
        has_password=row.password is not None,
    )
