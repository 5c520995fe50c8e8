"""A mail store in PostgreSQL, for several servers sharing one set of mailboxes.

New messages go through one writer thread (``writer``) that commits them in groups as they
came, and an indexer in a child process (``index_loop``) that makes them listed and
searchable; every other call runs on the caller's thread with a connection from a small pool
(``database``), a list or search first waiting for what was acknowledged (``freshness``).
The tables are made and upgraded by the store itself (``schema``). All mailboxes share them;
each is a ``mailbox.PostgresMailbox``, and the store itself is the default one.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager

import psycopg

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
from mail_sandbox.store.location import shown
from mail_sandbox.store.match_cache import MatchCache
from mail_sandbox.store.postgres import mailbox_rows
from mail_sandbox.store.postgres.database import Database
from mail_sandbox.store.postgres.freshness import IndexWait, backlog_of
from mail_sandbox.store.postgres.index_loop import POSTGRES_INDEXER, PostgresIndexerSettings
from mail_sandbox.store.postgres.mailbox import PostgresMailbox
from mail_sandbox.store.postgres.notices import NoticeListener
from mail_sandbox.store.postgres.schema import TABLES
from mail_sandbox.store.postgres.writer import Writer
from mail_sandbox.store.sqlite.indexer import Indexer
from mail_sandbox.store.sqlite.mail_index import Progress
from mail_sandbox.store.sqlite.values import readable

logger = logging.getLogger(__name__)

_SIZE = " + ".join(f"pg_total_relation_size('{table}')" for table in TABLES)


class PostgresStore(PostgresMailbox):
    """A ``MessageStore`` in the PostgreSQL database at ``url``, opened on its default mailbox.

    ``max_messages`` keeps only the newest N of each mailbox (0 = keep everything); ``clock``
    gives the received time in seconds since the epoch, which TTLs count by too;
    ``index_in_child_process`` runs the indexer in a child process rather than a thread (the
    SMTP loop keeps the GIL, and under a flood the CPU, to itself). Raises ``StoreError`` when
    the database cannot be reached or holds a newer schema.
    """

    def __init__(
        self,
        url: str,
        *,
        max_messages: int = defaults.MAX_MESSAGES,
        clock: Callable[[], float] = time.time,
        index_in_child_process: bool = True,
    ) -> None:
        if max_messages < 0:
            raise ValueError("max_messages must be 0 (no limit) or more")
        super().__init__(self, DEFAULT_MAILBOX)
        self.location = shown(url)
        self.max_messages = max_messages
        self._clock = clock
        self._books = MailboxBooks()
        self.matches = MatchCache()
        self._database = Database(url, self.location, self._now_ms())
        origin = secrets.token_hex(8)
        self._index_wait = IndexWait(self.location)
        self._indexer = Indexer(
            PostgresIndexerSettings(url, origin, self.location),
            self._on_indexed,
            in_child_process=index_in_child_process,
            label=self.location,
            program=POSTGRES_INDEXER,
        )
        self._writer = Writer(
            self._database, max_messages=max_messages, on_staged=self._indexer.request
        )
        # Other processes' mail reaches this one's listeners (wait, the live inbox) too.
        self._notices = NoticeListener(url, origin, self._heard)
        self._notices.start()
        self._indexer.start()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"

    # -- for the mailboxes -------------------------------------------------------------------

    def add_to(
        self, mailbox: str, raw: bytes, envelope_from: str, envelope_to: Sequence[str]
    ) -> Future[str]:
        """Queue a message for ``mailbox`` (see ``MessageStore.add``)."""
        return self._writer.add(
            mailbox, bytes(raw), envelope_from or "", envelope_to or (), self._now_ms()
        )

    def count_deleted(self, mailbox: str, count: int) -> int:
        """Note ``count`` more messages of ``mailbox`` gone; returns ``count``."""
        return self._books.count_deleted(mailbox, count)

    def deleted_in(self, mailbox: str) -> int:
        """Messages of ``mailbox`` deleted since the store was opened, pruned ones included."""
        return self._books.deleted_in(mailbox)

    def database_size(self) -> int:
        """Bytes the store's tables take, indexes included."""
        with self.transaction(read_only=True) as conn:
            row = conn.execute(f"SELECT {_SIZE}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[psycopg.Connection]:
        """A pooled connection inside one transaction (see ``Database.transaction``)."""
        if self._writer.closed:
            raise StoreError("the mail store is closed")
        with self._database.transaction(read_only=read_only) as conn:
            yield conn

    def wait_indexed(self, *, reading: bool) -> None:
        """Wait until what waited to be indexed as this call began is indexed (see
        ``freshness``); ``reading``: a list or search, which a flood does not hold up."""

        def backlog(target: int) -> tuple[int, int]:
            with self.transaction() as conn:
                return backlog_of(conn, target)

        self._index_wait.wait(backlog, self._indexer.request, reading=reading)

    def flush(self) -> None:
        """Wait until every message queued so far is committed (or answered with a failure)."""
        self._writer.flush()

    # -- mailboxes ---------------------------------------------------------------------------

    def mailbox(self, name: str) -> PostgresMailbox:
        """The mailbox ``name``; ``NoSuchMailboxError`` when there is none."""
        if name == DEFAULT_MAILBOX:
            return self
        if self._find(name) is None:
            raise NoSuchMailboxError(readable(str(name)))
        return PostgresMailbox(self, name)

    def create_mailbox(
        self, name: str, *, password: str | None = None, ttl: int | None = None
    ) -> MailboxInfo:
        """Create an empty mailbox (see ``MessageStore.create_mailbox``)."""
        check_name(name)
        check_ttl(ttl)
        kept = None if password is None else hash_password(password)
        now = self._now_ms()
        with self.transaction() as conn:
            made = mailbox_rows.create(conn, name, now, ttl, kept)
        if not made:
            raise MailboxExistsError(name)
        return self.mailbox_info(name)

    def mailboxes(self) -> list[MailboxInfo]:
        """Every mailbox, ``default`` first, then by name."""
        self.wait_indexed(reading=True)
        with self.transaction(read_only=True) as conn:
            rows = mailbox_rows.counted(conn)
        rows.sort(key=lambda row: (row.name != DEFAULT_MAILBOX, row.name))
        return [_info(row) for row in rows]

    def mailbox_info(self, name: str) -> MailboxInfo:
        """One mailbox; ``NoSuchMailboxError`` when there is none."""
        rows = []
        if is_mailbox_name(name):
            self.wait_indexed(reading=True)
            with self.transaction(read_only=True) as conn:
                rows = mailbox_rows.counted(conn, name)
        if not rows:
            raise NoSuchMailboxError(readable(str(name)))
        return _info(rows[0])

    def delete_mailbox(self, name: str) -> int:
        """Delete a mailbox with all its mail; returns how many messages went."""
        if name == DEFAULT_MAILBOX:
            raise ValueError("the default mailbox always exists; delete its messages instead")
        if not is_mailbox_name(name):
            raise NoSuchMailboxError(readable(str(name)))
        with self.transaction() as conn:
            count = mailbox_rows.delete(conn, name)
        if count is None:
            raise NoSuchMailboxError(name)
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
        if not is_mailbox_name(name):
            return
        now = self._now_ms()
        if not self._books.touch_due(name, now):
            return
        with self.transaction() as conn:
            mailbox_rows.touch(conn, name, now)

    def expire_mailboxes(self) -> list[str]:
        """Delete every mailbox whose TTL has run out; returns their names."""
        now = self._now_ms()
        gone = []
        with self.transaction() as conn:
            for name in mailbox_rows.expired(conn, now):
                gone.append((name, mailbox_rows.delete(conn, name) or 0))
        for name, count in gone:
            logger.info("mail store: mailbox %s expired, %d messages deleted", name, count)
            self._books.forget(name)
        return [name for name, _count in gone]

    def add_mailbox_listener(self, listener: MailboxListener) -> None:
        """Call ``listener(mailbox, ids)`` once new messages are indexed, from the thread that
        relays this server's indexer (or, for another server's, the one listening for
        notices): one that blocks holds up the next notices, never the mail itself."""
        self._books.add_listener(listener)

    # -- the store ---------------------------------------------------------------------------

    def close(self) -> None:
        """Commit everything queued, stop the writer, close every connection."""
        if not self._writer.close():
            return
        self._indexer.stop()
        self._index_wait.close()
        self._notices.stop()
        self._database.close()

    # -- inside ------------------------------------------------------------------------------

    def _on_indexed(self, step: Progress) -> None:
        """This server's indexer committed ``step``: tell the listeners, count the pruned."""
        arrived: dict[str, list[str]] = {}
        for uid, mailbox in zip(step.ids, step.mailboxes, strict=True):
            arrived.setdefault(mailbox, []).append(uid)
        for mailbox, count in step.pruned.items():
            self.count_deleted(mailbox, count)
        self._index_wait.progressed()
        if arrived:
            self._books.tell(arrived)

    def _heard(self, mailbox: str, ids: list[str]) -> None:
        """Another server's indexer made ``ids`` of ``mailbox`` searchable."""
        self._index_wait.progressed()
        self._books.tell({mailbox: ids})

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _find(self, name: object) -> mailbox_rows.MailboxRow | None:
        if not is_mailbox_name(name):
            return None
        assert isinstance(name, str)
        with self.transaction(read_only=True) as conn:
            return mailbox_rows.find(conn, name)


def _info(row: mailbox_rows.MailboxRow) -> MailboxInfo:
    return MailboxInfo.from_times(
        row.name,
        messages=row.messages,
        unread=row.unread,
        created_ms=row.created,
        used_ms=row.used,
        ttl=row.ttl,
        has_password=row.password is not None,
    )
