"""Where captured messages are kept: the store interface and its SQLite implementation."""

from __future__ import annotations

from mail_sandbox import defaults
from mail_sandbox.store.contract import (
    Address,
    MessageStore,
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
from mail_sandbox.store.sqlite import SQLiteStore

__all__ = [
    "Address",
    "MessageStore",
    "NoSuchMessageError",
    "NoSuchTagError",
    "Page",
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
    path: str = ":memory:", *, max_messages: int = defaults.MAX_MESSAGES
) -> MessageStore:
    """Open (or create) the mailbox at ``path``; ``":memory:"`` is a throwaway one.

    ``max_messages`` keeps only the newest N messages (0 = no limit). Raises ``StoreError``
    when the file cannot be opened as a mail store.
    """
    return SQLiteStore(path, max_messages=max_messages)
