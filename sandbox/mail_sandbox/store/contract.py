"""The storage interface every capture store implements.

The SMTP side only ever calls ``add``; the web side only reads, flags and deletes. Keeping the
contract this small is what lets a PostgreSQL store for a shared team inbox slot in later.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any


class StoreError(Exception):
    """The store could not do what was asked (disk full, read-only, closed)."""


class StoreFullError(StoreError):
    """The store has no room left (disk full, or a size cap reached): SMTP answers 452."""


class SearchError(ValueError):
    """A search query that cannot be understood; its message is shown to the user."""


class NoSuchTagError(LookupError):
    """A tag that no message has; its message is shown to the user."""


class TagExistsError(ValueError):
    """A rename onto a tag that other messages already have; its message is shown to the user."""


class NoSuchMailboxError(LookupError):
    """A mailbox name that names no mailbox; its message is shown to the user."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no mailbox named {name}")
        self.name = name


class MailboxExistsError(ValueError):
    """A new mailbox's name is taken; its message is shown to the user."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a mailbox named {name} exists already")
        self.name = name


class NoSuchMessageError(LookupError):
    """IDs that name no stored message; ``ids`` lists them."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(f"no message with ID {', '.join(ids)}")
        self.ids = list(ids)


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: display name (decoded, may be empty) and address (may be empty)."""

    name: str = ""
    address: str = ""


@dataclass(slots=True, kw_only=True)
class MessageFacts:
    """What a message says about itself, read once when it arrives.

    The parser fills these and the store keeps them; ``Summary`` adds what only the store
    knows, so a new fact is declared here once for both.
    """

    message_id: str = ""
    sender: Address = field(default_factory=Address)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    return_path: str = ""
    subject: str = ""
    date: datetime | None = None  # the Date header, UTC, None when absent or unreadable
    size: int = 0
    attachments: int = 0
    inline: int = 0
    snippet: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Summary(MessageFacts):
    """What the list, search and ``wait`` need about one message, without parsing it again."""

    id: str
    read: bool
    created: datetime | None = None  # when we received it, UTC, timezone-aware

    @classmethod
    def from_facts(cls, facts: MessageFacts, **store_fields: Any) -> Summary:
        """``facts`` with the store's own fields (``id``, ``read``, ``created``); a fact named
        here too is replaced (the tags merged with those set later, say)."""
        shared = {fact.name: getattr(facts, fact.name) for fact in fields(MessageFacts)}
        return cls(**(shared | store_fields))


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


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What ``/api/v1/info`` reports about the mailbox, read at one moment."""

    location: str  # where the mail is kept (a file path for SQLite)
    size: int  # bytes on disk
    total: int
    unread: int
    tags: dict[str, int]  # tag name -> messages with it
    deleted: int  # messages deleted since the store was opened, pruned ones included


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """One mailbox as ``/api/v1/mailboxes`` lists it, read at one moment.

    ``expires`` is when an idle mailbox with a ``ttl`` (seconds) is deleted: ``ttl`` after
    its last use (created, mail delivered to it, or ``touch_mailbox``); None without a TTL.
    """

    name: str
    messages: int
    unread: int
    created: datetime
    expires: datetime | None
    ttl: int | None
    has_password: bool

    @classmethod
    def from_times(
        cls,
        name: str,
        *,
        messages: int,
        unread: int,
        created_ms: int,
        used_ms: int,
        ttl: int | None,
        has_password: bool,
    ) -> MailboxInfo:
        """The mailbox from what a store keeps: times in ms since the epoch, the last use
        among them (which the expiry counts from)."""
        return cls(
            name=name,
            messages=messages,
            unread=unread,
            created=_utc(created_ms),
            expires=None if ttl is None else _utc(used_ms + ttl * 1000),
            ttl=ttl,
            has_password=has_password,
        )


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


NewMessagesListener = Callable[[list[str]], None]
#: Hears of new messages in every mailbox: ``listener(mailbox name, ids)``.
MailboxListener = Callable[[str, list[str]], None]


class MessageStore(abc.ABC):
    """A durable mailbox, and the door to the other mailboxes kept with it.

    A store opens on its ``default`` mailbox; ``mailbox(name)`` gives another, as a
    ``MessageStore`` of its own that sees, counts, flags, tags and deletes only that mailbox's
    messages (an ID of another mailbox is an unknown ID there). The operations on mailboxes
    (``create_mailbox`` and the rest) act on the whole store from any of them.

    Methods are blocking and thread-safe: callers on an event loop run them in a thread
    (``asyncio.to_thread``), except ``add``, which returns at once with a future. Any input is
    taken: an ID that names no message, whatever its characters, is an unknown ID, and text
    the database cannot encode (lone surrogates, from bytes that were not UTF-8) is kept with
    U+FFFD in their place. A failure inside the store fails that one call with ``StoreError``.
    """

    #: The name of the mailbox this object reads and writes.
    name: str

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
        """Newest first. ``after`` keeps only messages stored after the one with that ID; an
        ``after`` naming no stored message (unknown or deleted) raises ``KeyError``."""

    @abc.abstractmethod
    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        """Newest first, filtered by Mailpit's search grammar; raises ``SearchError`` for a
        query it cannot understand, and ``KeyError`` as ``list`` does for ``after``."""

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

    # The operations below are optional for a store (they have no abstract default): a store
    # without them still serves SMTP, the inbox and the core API.

    def info(self) -> StoreInfo:
        """Sizes and counts for ``/api/v1/info``."""
        raise NotImplementedError(f"{type(self).__name__} does not report its size")

    def delete_matching(self, query: str) -> int:
        """Delete every message matching a search query; returns how many went.

        Raises ``SearchError`` for a query that cannot be understood or has no terms (an empty
        search must not delete everything), deleting nothing.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot delete by search")

    def set_read_matching(self, query: str, read: bool) -> int:
        """Flag every message matching a search query; returns how many changed. Refuses a
        query as ``delete_matching`` does."""
        raise NotImplementedError(f"{type(self).__name__} cannot flag by search")

    def set_tags(self, ids: Sequence[str], tags: Sequence[str]) -> int:
        """Replace the tags of the given messages (an empty ``tags`` clears them).

        Tag names are used as given (clean them first); a name that differs only in case from
        a tag in use takes that tag's spelling (as does a tag from a new message's X-Tags
        header). Raises ``NoSuchMessageError``, changing nothing, when an ID names no message.
        Returns how many messages were tagged.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot set tags")

    def rename_tag(self, name: str, new_name: str) -> int:
        """Rename a tag on every message that has it; returns how many messages changed.

        Raises ``NoSuchTagError`` when no message has ``name`` and ``TagExistsError`` when
        ``new_name`` is another tag in use. A change of case only is a rename.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot rename tags")

    def delete_tag(self, name: str) -> int:
        """Remove a tag from every message (the messages stay); ``NoSuchTagError`` if unused."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete tags")

    # -- mailboxes ---------------------------------------------------------------------------

    @abc.abstractmethod
    def mailbox(self, name: str) -> MessageStore:
        """The mailbox ``name``; ``NoSuchMailboxError`` when there is none."""

    @abc.abstractmethod
    def create_mailbox(
        self, name: str, *, password: str | None = None, ttl: int | None = None
    ) -> MailboxInfo:
        """Create an empty mailbox. ``ValueError`` for a name that is not one (see
        ``mail_sandbox.mailboxes``) or a TTL under 1 second; ``MailboxExistsError`` when the
        name is taken (``default`` always is)."""

    @abc.abstractmethod
    def mailboxes(self) -> list[MailboxInfo]:
        """Every mailbox, ``default`` first, then by name."""

    @abc.abstractmethod
    def mailbox_info(self, name: str) -> MailboxInfo:
        """One mailbox; ``NoSuchMailboxError`` when there is none."""

    @abc.abstractmethod
    def delete_mailbox(self, name: str) -> int:
        """Delete a mailbox with all its mail; returns how many messages went.

        ``NoSuchMailboxError`` when there is none; ``ValueError`` for ``default``, which
        always exists (delete its messages instead).
        """

    @abc.abstractmethod
    def check_password(self, name: str, password: str | None) -> bool:
        """Whether ``password`` opens mailbox ``name``: always for one without a password,
        never for one that does not exist."""

    @abc.abstractmethod
    def touch_mailbox(self, name: str) -> None:
        """Count the mailbox as used now, which puts its TTL expiry off (nothing without one)."""

    @abc.abstractmethod
    def expire_mailboxes(self) -> list[str]:
        """Delete every mailbox whose TTL has run out since its last use; returns their names."""

    @abc.abstractmethod
    def add_mailbox_listener(self, listener: MailboxListener) -> None:
        """Call ``listener(mailbox, ids)`` after new messages in any mailbox, as ``add_listener``
        does for one."""

    @abc.abstractmethod
    def close(self) -> None:
        """Commit what is queued, stop background work and release the database; closing
        again does nothing, and any other call afterwards raises ``StoreError``. Closing a
        mailbox given by ``mailbox`` ends that object's use only."""
