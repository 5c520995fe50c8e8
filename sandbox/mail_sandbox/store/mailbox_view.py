"""What a mailbox object is alike in every backend: it belongs to a store, which it asks for
everything that spans mailboxes, and it adds, listens and closes the same way. Each backend
adds its own reads and changes, scoped to the mailbox's name."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from mail_sandbox.store.contract import (
    MailboxInfo,
    MailboxListener,
    MessageStore,
    NewMessagesListener,
    StoreError,
)


class MailboxHost(Protocol):
    """What every backend's mailbox needs of its store."""

    def add_to(
        self, mailbox: str, raw: bytes, envelope_from: str, envelope_to: Sequence[str]
    ) -> Future[str]: ...
    def flush(self) -> None: ...
    def count_deleted(self, mailbox: str, count: int) -> int: ...
    def deleted_in(self, mailbox: str) -> int: ...
    def mailbox(self, name: str) -> MessageStore: ...
    def create_mailbox(
        self, name: str, *, password: str | None = None, ttl: int | None = None
    ) -> MailboxInfo: ...
    def mailboxes(self) -> list[MailboxInfo]: ...
    def mailbox_info(self, name: str) -> MailboxInfo: ...
    def delete_mailbox(self, name: str) -> int: ...
    def check_password(self, name: str, password: str | None) -> bool: ...
    def touch_mailbox(self, name: str) -> None: ...
    def expire_mailboxes(self) -> list[str]: ...
    def add_mailbox_listener(self, listener: MailboxListener) -> None: ...


class MailboxView(MessageStore):
    """The mailbox ``name`` of ``store``. A store is itself the view of its default mailbox,
    and then overrides every mailbox operation below with its own."""

    _store: MailboxHost

    def __init__(self, store: MailboxHost, name: str) -> None:
        self._store = store
        self.name = name
        self._closed = False

    def add(self, raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> Future[str]:
        """Queue a message; the future gets its ID once it is committed (see ``MessageStore``)."""
        if self._closed:
            future: Future[str] = Future()
            future.set_exception(StoreError("the mail store is closed"))
            return future
        return self._store.add_to(self.name, raw, envelope_from, envelope_to)

    def add_listener(self, listener: NewMessagesListener) -> None:
        """Call ``listener(ids)`` for new messages of this mailbox (see the store's
        ``add_mailbox_listener`` for when, and from which thread)."""
        name = self.name

        def mine(mailbox: str, ids: list[str]) -> None:
            if mailbox == name:
                listener(ids)

        self._store.add_mailbox_listener(mine)

    def close(self) -> None:
        """Wait until what this object queued is committed, then end its use; the store and
        its other mailboxes stay open."""
        if not self._closed:
            self._closed = True
            self._store.flush()

    # -- mailboxes: the store's ------------------------------------------------------------

    def mailbox(self, name: str) -> MessageStore:
        """The mailbox ``name`` of the same store."""
        return self._store.mailbox(name)

    def create_mailbox(
        self, name: str, *, password: str | None = None, ttl: int | None = None
    ) -> MailboxInfo:
        """Create a mailbox in the same store."""
        return self._store.create_mailbox(name, password=password, ttl=ttl)

    def mailboxes(self) -> list[MailboxInfo]:
        """Every mailbox of the same store."""
        return self._store.mailboxes()

    def mailbox_info(self, name: str) -> MailboxInfo:
        """One mailbox of the same store."""
        return self._store.mailbox_info(name)

    def delete_mailbox(self, name: str) -> int:
        """Delete a mailbox of the same store with its mail."""
        return self._store.delete_mailbox(name)

    def check_password(self, name: str, password: str | None) -> bool:
        """Whether ``password`` opens mailbox ``name`` of the same store."""
        return self._store.check_password(name, password)

    def touch_mailbox(self, name: str) -> None:
        """Count mailbox ``name`` as used now."""
        self._store.touch_mailbox(name)

    def expire_mailboxes(self) -> list[str]:
        """Delete the mailboxes of the same store whose TTL has run out."""
        return self._store.expire_mailboxes()

    def add_mailbox_listener(self, listener: MailboxListener) -> None:
        """Hear of new messages in every mailbox of the same store."""
        self._store.add_mailbox_listener(listener)
