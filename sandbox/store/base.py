"""The storage interface every capture store implements.

The SMTP side only ever calls ``add``; the web side only reads, flags and deletes. Keeping the
contract this small is what lets a PostgreSQL store for a shared team inbox slot in later.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime


class StoreError(Exception):
    """The store could not do what was asked (disk full, read-only, closed)."""


class StoreFullError(StoreError):
    """The store has no room left (disk full, or a size cap reached): SMTP answers 452."""


class SearchError(ValueError):
    """A search query that cannot be understood; its message is shown to the user."""


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: display name (decoded, may be empty) and address (may be empty)."""

    name: str = ""
    address: str = ""


@dataclass(slots=True)
class Summary:
    """What the list, search and ``wait`` need about one message, without parsing it again."""

    id: str
    message_id: str
    read: bool
    sender: Address
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    return_path: str = ""
    subject: str = ""
    created: datetime | None = None  # when we received it, UTC, timezone-aware
    date: datetime | None = None  # the Date header, UTC, None when absent or unreadable
    size: int = 0
    attachments: int = 0
    inline: int = 0
    snippet: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Page:
    """One page of a listing or search.

    ``total`` and ``unread`` count the whole mailbox; ``matched`` and ``matched_unread`` count
    what the query matched (equal to ``total`` and ``unread`` for a plain listing).
    """

    total: int
    unread: int
    matched: int
    matched_unread: int
    start: int
    messages: list[Summary]


NewMessagesListener = Callable[[list[str]], None]


class MessageStore(abc.ABC):
    """A durable mailbox.

    Methods are blocking and thread-safe: callers on an event loop run them in a thread
    (``asyncio.to_thread``), except ``add``, which returns at once with a future.
    """

    @abc.abstractmethod
    def add(self, raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> Future[str]:
        """Queue a message; the future gets its ID once the raw bytes are durably committed.

        The future fails with ``StoreError`` when the message could not be stored (with
        ``StoreFullError`` when there is no room), so the SMTP side can answer 451 or 452
        instead of 250.
        """

    @abc.abstractmethod
    def add_listener(self, listener: NewMessagesListener) -> None:
        """Call ``listener(ids)`` after each commit of new messages, from the store's thread."""

    @abc.abstractmethod
    def list(self, start: int = 0, limit: int = 50, *, after: str | None = None) -> Page:
        """Newest first. ``after`` keeps only messages stored after the one with that ID."""

    @abc.abstractmethod
    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        """Newest first, filtered by Mailpit's search grammar; raises ``SearchError``."""

    @abc.abstractmethod
    def summary(self, message_id: str) -> Summary | None:
        """The summary of one message, or None when there is no such ID."""

    @abc.abstractmethod
    def raw(self, message_id: str) -> bytes | None:
        """The exact bytes received, or None when there is no such ID."""

    @abc.abstractmethod
    def latest_id(self) -> str | None:
        """The ID of the newest message, or None when the mailbox is empty."""

    @abc.abstractmethod
    def set_read(self, ids: Sequence[str] | None, read: bool) -> int:
        """Flag the given messages (all when ``ids`` is None); returns how many changed."""

    @abc.abstractmethod
    def delete(self, ids: Sequence[str] | None) -> int:
        """Delete the given messages (all when ``ids`` is None); returns how many went."""

    @abc.abstractmethod
    def counts(self) -> tuple[int, int]:
        """``(total, unread)`` for the whole mailbox."""

    @abc.abstractmethod
    def all_tags(self) -> list[str]:
        """Every tag in use, sorted case-insensitively."""

    @abc.abstractmethod
    def close(self) -> None:
        """Commit what is queued, stop background work and release the database."""
