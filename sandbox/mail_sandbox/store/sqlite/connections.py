"""Opening the store's connections: the writer's, each reading thread's, and their settings."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref

from mail_sandbox.store.contract import StoreError
from mail_sandbox.store.sqlite.files import StoreFiles
from mail_sandbox.store.sqlite.schema import migrate, newest_id, prepare_incoming, refuse_unusable
from mail_sandbox.store.sqlite.values import fold
from mail_sandbox.store.sqlite.writer import BURST_BYTES

_WAL_RETRY_SECONDS = 0.005


def connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection in autocommit mode that waits ``busy_timeout_ms`` for another's lock."""
    # Not tied to one thread: close() shuts every connection from whichever thread calls it.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return conn


def set_synchronous(
    conn: sqlite3.Connection, level: str, *, durable: bool, schema: str = "main"
) -> None:
    """``PRAGMA synchronous = level`` for a durable store; OFF for a throwaway one, which keeps
    nothing after it closes, so that waiting for the disk would buy it nothing."""
    conn.execute(f"PRAGMA {schema}.synchronous = {level if durable else 'OFF'}")


def open_writer(files: StoreFiles, busy_timeout_ms: int, now_ms: int) -> sqlite3.Connection:
    """The writer's connection: the incoming file, with the mailbox file attached as ``mailbox``.

    ``now_ms`` is when a new store's default mailbox counts as created.

    Opened first of all, so that a bad path fails the store's constructor. The incoming file
    is the main database, so that new messages, written there alone, take only its write lock
    (the indexer holds the mailbox file's for whole chunks), while user changes, in
    ``BEGIN IMMEDIATE`` transactions, take both.
    """
    conn: sqlite3.Connection | None = None
    try:
        if os.path.isdir(files.path):
            raise StoreError("it is a directory")
        # The mailbox file first: a file that is not a mail store fails here, by its name,
        # and before anything is written to it.
        conn = connect(files.path, busy_timeout_ms)
        refuse_unusable(conn)
        _use_wal(conn, files.path, busy_timeout_ms)
        migrate(conn, now_ms)
        newest = newest_id(conn)
        conn.close()
        conn = connect(files.incoming_path, busy_timeout_ms)
        _use_wal(conn, files.incoming_path, busy_timeout_ms)
        prepare_incoming(conn, newest)
        conn.execute("ATTACH DATABASE ? AS mailbox", (files.path,))
        # FULL: a message acknowledged with 250 survives a power cut, not just a crash; and so
        # does a user's change, once it is answered.
        for schema in ("main", "mailbox"):
            set_synchronous(conn, "FULL", durable=files.durable, schema=schema)
    except (sqlite3.Error, StoreError) as exc:
        if conn is not None:
            conn.close()
        raise StoreError(f"cannot open the mail store {files.path}: {exc}") from exc
    return conn


def _use_wal(conn: sqlite3.Connection, path: str, busy_timeout_ms: int) -> None:
    # Switching a file to WAL does not wait for a lock the way other statements do (SQLite
    # calls no busy handler there), so stores opening a new file at once would fail with
    # "database is locked": wait here instead, as long as any other write would.
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY_SECONDS)
    if mode.lower() != "wal":
        raise StoreError(f"{path} cannot use WAL mode")
    # Shrinks the WAL file back after a big burst instead of keeping it at its peak.
    conn.execute(f"PRAGMA journal_size_limit = {BURST_BYTES}")


class _Reader:
    """Holds one thread's connection; a weak reference to it lets ``close`` reach it."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class Readers:
    """A read-only connection for each reading thread, to the mailbox file with the incoming
    file attached as ``incoming``; WAL mode lets them read while the others write."""

    def __init__(self, files: StoreFiles, busy_timeout_ms: int) -> None:
        self._files = files
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on its first read."""
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            conn = connect(self._files.path, self._busy_timeout_ms)
            conn.execute("ATTACH DATABASE ? AS incoming", (self._files.incoming_path,))
            conn.execute("PRAGMA query_only = 1")
            conn.create_function("fold", 1, fold, deterministic=True)
            reader = _Reader(conn)
            self._local.reader = reader
            with self._lock:
                self._all.add(reader)
        return reader.conn

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            readers = list(self._all)
        for reader in readers:
            reader.conn.close()
