"""One mailbox of an SQLite store: what the ``MessageStore`` contract asks of a mailbox.

Every read and change here is scoped to the mailbox's name in SQL; the store (``store``) owns
the files, the writer thread, the indexer and the waits for it, shared by all its mailboxes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TypeVar

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
from mail_sandbox.store.search import Term, parse_query
from mail_sandbox.store.sqlite import changes, reads
from mail_sandbox.store.sqlite.pages import mailbox_counts
from mail_sandbox.store.sqlite.query import where_clause
from mail_sandbox.store.sqlite.values import possible_ids, readable
from mail_sandbox.tags import distinct_tags

_T = TypeVar("_T")


class SharedStore(MailboxHost, Protocol):
    """What a mailbox needs of the store it belongs to (``SQLiteStore``): the mailbox
    operations of the contract, and the files, writer and index they all share."""

    path: str
    matches: MatchCache

    def file_size(self) -> int: ...
    def snapshot(self, *, indexed: bool = True) -> AbstractContextManager[sqlite3.Connection]: ...
    def call_writer(self, operation: Callable[[sqlite3.Connection], _T]) -> _T: ...


class SQLiteMailbox(MailboxView):
    """The mailbox ``name`` of ``store``; ``SQLiteStore.mailbox`` makes them."""

    _store: SharedStore

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} of {self._store.path}>"

    # -- writing -----------------------------------------------------------------------------

    def set_read(self, ids: Sequence[str] | None, read: bool) -> int:
        """Flag the given messages read or unread (all when ``ids`` is None)."""
        flag = int(bool(read))
        return self._write(lambda conn: changes.set_read(conn, self.name, ids, flag))

    def delete(self, ids: Sequence[str] | None) -> int:
        """Delete the given messages (all when ``ids`` is None); returns how many went."""
        deleted = self._write(lambda conn: changes.delete(conn, self.name, ids))
        return self._store.count_deleted(self.name, deleted)

    def delete_matching(self, query: str) -> int:
        """Delete every message matching ``query``; ``SearchError`` if it cannot be understood."""
        conditions, params = self._conditions(query)
        deleted = self._write(lambda conn: changes.delete_matching(conn, conditions, params))
        return self._store.count_deleted(self.name, deleted)

    def set_read_matching(self, query: str, read: bool) -> int:
        """Flag every message matching ``query`` read or unread; returns how many changed."""
        conditions, params = self._conditions(query)
        flag = int(bool(read))
        return self._write(lambda conn: changes.set_read_matching(conn, conditions, params, flag))

    def set_tags(self, ids: Sequence[str], tags: Sequence[str]) -> int:
        """Replace the tags of the given messages (see ``MessageStore.set_tags``)."""
        wanted = list(dict.fromkeys(ids))
        names = distinct_tags(map(readable, tags))
        missing = self._write(lambda conn: changes.set_tags(conn, self.name, wanted, names))
        if missing:
            raise NoSuchMessageError(missing)
        return len(wanted)

    def rename_tag(self, name: str, new_name: str) -> int:
        """Rename a tag everywhere in this mailbox (see ``MessageStore.rename_tag``)."""
        name, new_name = readable(name), readable(new_name)
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
        name = readable(name)
        count = self._write(lambda conn: changes.delete_tag(conn, self.name, name))
        if not count:
            raise NoSuchTagError(f"tag not found: {name}")
        return count

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
        with self._read(indexed=False) as conn:
            return reads.summary(conn, message_id, self.name)

    def raw(self, message_id: str) -> bytes | None:
        """The exact bytes received, or None when there is no such ID."""
        if not possible_ids([message_id]):
            return None
        with self._read(indexed=False) as conn:
            return reads.raw(conn, message_id, self.name)

    def latest_id(self) -> str | None:
        """The ID of the newest message, indexed or not, or None when the mailbox is empty."""
        with self._read(indexed=False) as conn:
            return reads.latest_id(conn, self.name)

    def counts(self) -> tuple[int, int]:
        """``(total, unread)`` for the whole mailbox."""
        with self._read() as conn:
            return mailbox_counts(conn, self.name)

    def all_tags(self) -> list[str]:
        """Every tag in use in this mailbox, sorted case-insensitively."""
        with self._read() as conn:
            return reads.all_tags(conn, self.name)

    def info(self) -> StoreInfo:
        """Where the mail is kept, its size on disk, counts and tags, and deletions so far."""
        with self._read() as conn:
            total, unread = mailbox_counts(conn, self.name)
            tags = reads.tag_counts(conn, self.name)
        return StoreInfo(
            location=self._store.path,
            size=self._store.file_size(),
            total=total,
            unread=unread,
            tags=tags,
            deleted=self._store.deleted_in(self.name),
        )

    # -- inside ------------------------------------------------------------------------------

    def _conditions(self, query: str) -> tuple[list[str], list[object]]:
        """The WHERE conditions of a search, refusing a query that would match everything."""
        terms = parse_query(readable(query))
        if not terms:
            raise SearchError("a search query is needed")
        return where_clause(self.name, terms)

    def _page(self, terms: list[Term], start: int, limit: int, after: str | None) -> Page:
        start = max(0, int(start))
        limit = max(1, min(int(limit), defaults.MAX_PAGE_SIZE))
        with self._read() as conn:
            return reads.page(conn, self._store.matches, self.name, terms, start, limit, after)

    @contextmanager
    def _read(self, *, indexed: bool = True) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreError("the mail store is closed")
        with self._store.snapshot(indexed=indexed) as conn:
            yield conn

    def _write(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closed:
            raise StoreError("the mail store is closed")
        return self._store.call_writer(operation)
