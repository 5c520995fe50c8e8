"""Failures inside the SQLite backend, as the store reports them to its callers."""

from __future__ import annotations

import logging
import sqlite3

from mail_sandbox.store.contract import StoreError, StoreFullError

logger = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """An exception in one line, by its type when it has no message (``MemoryError()``)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def store_error(doing: str, exc: sqlite3.Error) -> StoreError:
    """``StoreFullError`` when SQLite ran out of room (disk or page limit), else ``StoreError``."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    kind = StoreFullError if code == sqlite3.SQLITE_FULL else StoreError
    return kind(f"{doing}: {exc}")


def other_error(doing: str, exc: BaseException) -> StoreError:
    """A failure that is not SQLite's, as the store reports failures to its callers."""
    error = StoreError(f"{doing}: {describe(exc)}")
    error.__cause__ = exc
    return error


def rollback(conn: sqlite3.Connection) -> None:
    """End ``conn``'s transaction, if any: left open, it would hold its write locks for good."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.error("mail store: rollback failed: %s", exc)
