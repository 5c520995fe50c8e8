"""Where captured messages are kept: the store interface and its SQLite and PostgreSQL
implementations."""

from __future__ import annotations

import time
from collections.abc import Callable

from mail_sandbox import defaults
from mail_sandbox.store.contract import (
    Address,
    MailboxExistsError,
    MailboxInfo,
    MessageStore,
    NoSuchMailboxError,
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
from mail_sandbox.store.location import is_database_url
from mail_sandbox.store.postgres import PostgresStore
from mail_sandbox.store.sqlite import SQLiteStore

__all__ = [
    "Address",
    "MailboxExistsError",
    "MailboxInfo",
    "MessageStore",
    "NoSuchMailboxError",
    "NoSuchMessageError",
    "NoSuchTagError",
    "Page",
    "PostgresStore",
    "SQLiteStore",
    "SearchError",
    "StoreError",
    "StoreFullError",
    "StoreInfo",
    "Summary",
    "TagExistsError",
    "open_store",
]


def open_store(
    path: str = ":memory:",
    *,
    max_messages: int = defaults.MAX_MESSAGES,
    clock: Callable[[], float] = time.time,
) -> MessageStore:
    """Open (or create) the mail store at ``path`` on its default mailbox; ``":memory:"`` is a
    throwaway one, and a ``postgresql://`` (or ``postgres://``) URL a PostgreSQL database.

    ``max_messages`` keeps only the newest N messages of each mailbox (0 = no limit);
    ``clock`` (seconds since the epoch) dates new mail and runs mailbox TTLs. Raises
    ``StoreError`` when the file (or database) cannot be opened as a mail store.
    """
    if is_database_url(path):
        return PostgresStore(path, max_messages=max_messages, clock=clock)
    return SQLiteStore(path, max_messages=max_messages, clock=clock)
