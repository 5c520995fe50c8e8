"""One mailbox of a PostgreSQL store: what the ``MessageStore`` contract asks of a mailbox.

Every read and change here is scoped to the mailbox's name in SQL; the store (``store``) owns
the connections and the writer, shared by all its mailboxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TypeVar

import psycopg

from mail_sandbox import defaults
from mail_sandbox.store.contract import (
    NoSuchMessageError,
    NoSuchTagError,
    Page,
    SearchError,
    StoreError,
    StoreInfo,
    Summary,
    TagExistsError,
)
from mail_sandbox.store.mailbox_view import MailboxHost, MailboxView
from mail_sandbox.store.match_cache import MatchCache
from mail_sandbox.store.postgres import changes, mailbox_rows, reads
from mail_sandbox.store.postgres.query import where_clause
from mail_sandbox.store.postgres.values import storable
from mail_sandbox.store.search import parse_query
from mail_sandbox.store.sqlite.values import readable
from mail_sandbox.tags import distinct_tags

_T = TypeVar("_T")


class SharedStore(MailboxHost, Protocol):
    """What a mailbox needs of the store it belongs to (``PostgresStore``)."""

    location: str
    matches: MatchCache

    def database_size(self) -> int: ...
    def wait_indexed(self, *, reading: bool) -> None: ...
    def transaction(
        self, *, read_only: bool = False
    ) -> AbstractContextManager[psycopg.Connection]: ...


class PostgresMailbox(MailboxView):
    """The mailbox ``name`` of ``store``; ``PostgresStore.mailbox`` makes them."""

    _store: SharedStore

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} of {self._store.location}>"

    # -- writing -----------------------------------------------------------------------------

    def set_read(self, ids: Sequence[str] | None, read: bool) -> int:
        """Flag the given messages read or unread (all when ``ids`` is None)."""
        return self._write(lambda conn: changes.set_read(conn, self.name, ids, bool(read)))

    def delete(self, ids: Sequence[str] | None) -> int:
        """Delete the given messages (all when ``ids`` is None); returns how many went."""
        deleted = self._write(lambda conn: changes.delete(conn, self.name, ids))
        return self._store.count_deleted(self.name, deleted)

    def delete_matching(self, query: str) -> int:
        """Delete every message matching ``query``; ``SearchError`` if it cannot be understood."""
        where, params = self._where(query)
        deleted = self._write(lambda conn: changes.delete_matching(conn, where, params))
        return self._store.count_deleted(self.name, deleted)

    def set_read_matching(self, query: str, read: bool) -> int:
        """Flag every message matching ``query`` read or unread; returns how many changed."""
        where, params = self._where(query)
        return self._write(lambda conn: changes.set_read_matching(conn, where, params, bool(read)))

    def set_tags(self, ids: Sequence[str], tags: Sequence[str]) -> int:
        """Replace the tags of the given messages (see ``MessageStore.set_tags``)."""
        wanted = list(dict.fromkeys(ids))
        names = distinct_tags(map(storable, tags))
        missing = self._write(lambda conn: changes.set_tags(conn, self.name, wanted, names))
        if missing:
            raise NoSuchMessageError(missing)
        return len(wanted)

    def rename_tag(self, name: str, new_name: str) -> int:
        """Rename a tag everywhere in this mailbox (see ``MessageStore.rename_tag``)."""
        name, new_name = storable(name), storable(new_name)
        outcome, count = self._write(
            lambda conn: changes.rename_tag(conn, self.name, name, new_name)
        )
        if outcome == "missing":
            raise NoSuchTagError(f"tag not found: {name}")
        if outcome == "exists":
            raise TagExistsError(f"tag already exists: {new_name}")
        return count

    def delete_tag(self, name: str) -> int:
        """Remove a tag from every message; ``NoSuchTagError`` when no message has it."""
        name = storable(name)
        count = self._write(lambda conn: changes.delete_tag(conn, self.name, name))
        if not count:
            raise NoSuchTagError(f"tag not found: {name}")
        return count

    # -- reading -----------------------------------------------------------------------------

    def list(self, start: int = 0, limit: int = 50, *, after: str | None = None) -> Page:
        """Newest first; ``after`` keeps messages stored after that ID (KeyError if unknown)."""
        return self._page("", start, limit, after)

    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        """Newest first, filtered by Mailpit's search grammar; raises ``SearchError``."""
        return self._page(query, start, limit, after)

    def summary(self, message_id: str) -> Summary | None:
        """The summary of one message, or None when there is no such ID."""
        return self._read(lambda conn: reads.summary(conn, self.name, message_id), fresh=False)

    def raw(self, message_id: str) -> bytes | None:
        """The exact bytes received, or None when there is no such ID."""
        return self._read(lambda conn: reads.raw(conn, self.name, message_id), fresh=False)

    def latest_id(self) -> str | None:
        """The ID of the newest message, or None when the mailbox is empty."""
        return self._read(lambda conn: reads.latest_id(conn, self.name))

    def counts(self) -> tuple[int, int]:
        """``(total, unread)`` for the whole mailbox."""
        return self._read(lambda conn: reads.counts(conn, self._store.matches, self.name))

    def all_tags(self) -> list[str]:
        """Every tag in use in this mailbox, sorted case-insensitively."""
        return self._read(lambda conn: reads.all_tags(conn, self.name))

    def info(self) -> StoreInfo:
        """Where the mail is kept, the size of the store's tables, counts, tags, deletions."""

        def read(conn: psycopg.Connection) -> tuple[tuple[int, int], dict[str, int]]:
            return reads.counts(conn, self._store.matches, self.name), reads.tag_counts(
                conn, self.name
            )

        (total, unread), tags = self._read(read)
        return StoreInfo(
            location=self._store.location,
            size=self._store.database_size(),
            total=total,
            unread=unread,
            tags=tags,
            deleted=self._store.deleted_in(self.name),
        )

    # -- inside ------------------------------------------------------------------------------

    def _where(self, query: str) -> tuple[str, list[object]]:
        """The WHERE condition of a search, refusing a query that would match everything."""
        terms = parse_query(readable(query))
        if not terms:
            raise SearchError("a search query is needed")
        return where_clause(self.name, terms)

    def _page(self, query: str, start: int, limit: int, after: str | None) -> Page:
        terms = parse_query(readable(query)) if query else []
        start = max(0, int(start))
        limit = max(1, min(int(limit), defaults.MAX_PAGE_SIZE))
        return self._read(
            lambda conn: reads.page(
                conn, self._store.matches, self.name, terms, start, limit, after
            )
        )

    def _read(self, operation: Callable[[psycopg.Connection], _T], *, fresh: bool = True) -> _T:
        """``operation`` in one snapshot; ``fresh``: once what was acknowledged is indexed."""
        if fresh:
            self._store.wait_indexed(reading=True)
        with self._use(read_only=True) as conn:
            return operation(conn)

    def _write(self, operation: Callable[[psycopg.Connection], _T]) -> _T:
        # A change by ID or by search applies to every message acknowledged before it.
        self._store.wait_indexed(reading=False)
        with self._use() as conn:
            # First, as the writer does: both take the mailbox's row lock before any message's,
            # so that neither waits for the other holding one the other wants.
            mailbox_rows.changed(conn, [self.name])
            return operation(conn)

    @contextmanager
    def _use(self, *, read_only: bool = False) -> Iterator[psycopg.Connection]:
        if self._closed:
            raise StoreError("the mail store is closed")
        with self._store.transaction(read_only=read_only) as conn:
            yield conn
