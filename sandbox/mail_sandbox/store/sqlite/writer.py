"""The commit path: one thread owns the only connection that writes, and takes its jobs in bursts.

New messages that arrive together are committed to the incoming file (see ``schema``) in one
transaction, raw bytes and envelope only, which is what makes ingesting thousands per second
possible with ``synchronous=FULL``; each is acknowledged (its future resolved) once that commit
is done, and the indexer is asked to take them in. User changes (read flags, deletes, tags) run
here too, in the order they were asked for, each in a transaction over both files.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from mail_sandbox.store.contract import StoreError
from mail_sandbox.store.ids import new_message_ids
from mail_sandbox.store.sqlite.errors import describe, other_error, rollback, store_error
from mail_sandbox.store.sqlite.freshness import IndexFreshness
from mail_sandbox.store.sqlite.schema import bump_generation, newest_id
from mail_sandbox.store.sqlite.values import dump_json, readable

logger = logging.getLogger(__name__)

#: Most new messages committed in one transaction, and most bytes of them (the WAL file grows
#: to the size of one transaction).
BURST_LIMIT = 500
BURST_BYTES = 64 * 1024 * 1024
#: Parameters one INSERT of new messages binds at most: SQLite before 3.32 allows 999.
_MAX_PARAMS = 995
_INCOMING_COLUMNS = 6
_INCOMING_ROW = "(?, ?, ?, ?, ?, ?)"
_T = TypeVar("_T")


@dataclass(slots=True)
class _Add:
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    created: int
    mailbox: str
    future: Future[str]
    uid: str = ""  # given by the writer thread, a burst at a time


@dataclass(slots=True)
class _Call:
    operation: Callable[[sqlite3.Connection], Any]
    future: Future[Any]
    in_transaction: bool = True


class _Stop:
    """Queued by ``close``: everything queued before it is written first."""


class Writer:
    """The writer thread of one store, on ``conn`` (see ``connections.open_writer``).

    ``freshness`` hears of every commit of new messages; ``request_index(newest)`` asks the
    indexer for them; ``count_deleted(mailbox, n)`` hears of waiting messages dropped unindexed.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: str,
        *,
        max_messages: int,
        freshness: IndexFreshness,
        request_index: Callable[[int], None],
        count_deleted: Callable[[str, int], None],
    ) -> None:
        self._conn = conn
        self._path = path
        self._max_messages = max_messages
        self._freshness = freshness
        self._request_index = request_index
        self._count_deleted = count_deleted
        self._queue: queue.SimpleQueue[_Add | _Call | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.closed = False
        self._thread = threading.Thread(target=self._run, name="mail-store-writer", daemon=True)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def add(
        self,
        raw: bytes,
        envelope_from: str,
        envelope_to: Sequence[str],
        created: int,
        mailbox: str,
    ) -> Future[str]:
        """Queue a new message for ``mailbox``; the future gets its ID once it is committed."""
        future: Future[str] = Future()
        job = _Add(raw, envelope_from, tuple(envelope_to), created, mailbox, future)
        self._put(job, future)
        return future

    def call(
        self, operation: Callable[[sqlite3.Connection], _T], *, in_transaction: bool = True
    ) -> _T:
        """Run ``operation`` (in a transaction) on the writer thread and wait for its result."""
        future: Future[_T] = Future()
        self._put(_Call(operation, future, in_transaction), future)
        return future.result()

    def close(self) -> bool:
        """Write everything queued, then stop; returns False when it was closed already."""
        with self._lock:
            if self.closed:
                return False
            self.closed = True
            self._queue.put(_Stop())
        self._thread.join()
        return True

    def _put(self, job: _Add | _Call, future: Future[Any]) -> None:
        with self._lock:
            if self.closed:
                future.set_exception(StoreError("the mail store is closed"))
            else:
                self._queue.put(job)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            jobs = [self._queue.get()]
            size = _size(jobs[0])
            while len(jobs) < BURST_LIMIT and size < BURST_BYTES:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                size += _size(jobs[-1])
            try:
                stopping = self._handle(jobs)
            except Exception as exc:  # noqa: BLE001 - the writer thread must outlive anything
                # Every mail and change after this one depends on this thread: whatever went
                # wrong fails what this batch still owes its callers, and the thread goes on.
                logger.error("mail store %s: the writer failed: %s", self._path, describe(exc))
                _fail_unanswered(jobs, StoreError(f"the mail store failed: {describe(exc)}"))
                stopping = any(isinstance(job, _Stop) for job in jobs)
        self._conn.close()

    def _handle(self, jobs: list[_Add | _Call | _Stop]) -> bool:
        """Do one batch of jobs in the order they came; returns whether ``close`` asked to stop."""
        stopping = False
        adds: list[_Add] = []
        for job in jobs:
            if isinstance(job, _Add):
                adds.append(job)
                continue
            # Writes happen in the order they were asked for.
            self._commit_new(adds)
            adds = []
            if isinstance(job, _Stop):
                stopping = True
            else:
                self._perform(job)
        self._commit_new(adds)
        return stopping

    def _commit_new(self, adds: list[_Add]) -> None:
        """Commit a burst of new messages to the incoming file in one transaction (no parsing,
        no indexing: that is the indexer's), then resolve their futures and ask for an index."""
        adds = [job for job in adds if job.future.set_running_or_notify_cancel()]
        if not adds:
            return
        # One read of the system's random source for the whole burst, off the event loop.
        for job, uid in zip(adds, new_message_ids(len(adds)), strict=True):
            job.uid = uid
        conn = self._conn
        try:
            newest = insert_incoming(conn, adds)
        except sqlite3.Error as exc:
            rollback(conn)
            count = "a message" if len(adds) == 1 else f"{len(adds)} messages"
            logger.error("mail store %s: could not store %s: %s", self._path, count, exc)
            for job in adds:
                job.future.set_exception(store_error("could not store the message", exc))
            return
        except Exception as exc:  # noqa: BLE001 - a message the database did not refuse
            rollback(conn)
            if len(adds) == 1:
                self._refuse(adds[0], exc)
                return
            # Not the database (full, locked) but something about one message: each on its
            # own, so that only the message at fault is refused.
            newest = self._insert_each(adds)
            if not adds:
                return
        waiting = self._freshness.acknowledge(newest)
        if self._max_messages and waiting > self._max_messages:
            # Rare (a burst bigger than the mailbox), and done before the 250s, so that what
            # a client reads after its 250 is already the mailbox as it is kept.
            self._prune_incoming()
        for job in adds:
            job.future.set_result(job.uid)
        self._request_index(newest)

    def _insert_each(self, adds: list[_Add]) -> int:
        """Insert ``adds`` one by one, refusing each that fails; keeps in ``adds`` only those
        stored and returns the newest id given out."""
        newest, stored = 0, []
        for job in adds:
            try:
                newest = insert_incoming(self._conn, [job])
            except Exception as exc:  # noqa: BLE001 - refused, whatever the reason
                rollback(self._conn)
                self._refuse(job, exc)
            else:
                stored.append(job)
        adds[:] = stored
        return newest

    def _refuse(self, job: _Add, exc: Exception) -> None:
        """Fail one new message's future (the SMTP side answers 451 or 452) and log why."""
        logger.error("mail store %s: could not store a message: %s", self._path, describe(exc))
        kind = store_error if isinstance(exc, sqlite3.Error) else other_error
        job.future.set_exception(kind("could not store the message", exc))

    def _prune_incoming(self) -> None:
        """Drop waiting messages beyond the newest ``max_messages`` of each mailbox (a burst
        bigger than the mailbox), so they are never indexed; the indexer prunes the mailbox
        file."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Under the mailbox file's write lock, like a user's change (see _transaction): the
            # indexer may be copying some of them, and counts on the incoming file not changing
            # under its transaction. Those it has copied already are its to prune, and count.
            bump_generation(conn, "mailbox")
            indexed = newest_id(conn, "mailbox")
            crowded = conn.execute(
                "SELECT mailbox FROM pending GROUP BY mailbox HAVING count(*) > ?",
                (self._max_messages,),
            ).fetchall()
            dropped: dict[str, int] = {}
            for (mailbox,) in crowded:
                row = conn.execute(
                    "SELECT id FROM pending WHERE mailbox = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                    (mailbox, self._max_messages - 1),
                ).fetchone()
                dropped[mailbox] = conn.execute(
                    "DELETE FROM pending WHERE mailbox = ? AND id < ? AND id > ?",
                    (mailbox, row[0], indexed),
                ).rowcount
                conn.execute("DELETE FROM pending WHERE mailbox = ? AND id < ?", (mailbox, row[0]))
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - pruning can wait for the indexer
            rollback(conn)
            # They were acknowledged and are kept; the indexer prunes them from the mailbox.
            logger.warning(
                "mail store %s: could not prune waiting messages: %s", self._path, describe(exc)
            )
            return
        for mailbox, count in dropped.items():
            self._count_deleted(mailbox, count)

    def _perform(self, job: _Call) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            if job.in_transaction:
                result = self._transaction(job.operation)
            else:
                result = self._outside_transaction(job.operation)
        except StoreError as exc:
            job.future.set_exception(exc)
        except Exception as exc:  # noqa: BLE001 - the caller hears of it as a StoreError
            # A fault in the change itself (out of memory, a bug) fails that call alone.
            logger.error("mail store %s: could not update: %s", self._path, describe(exc))
            job.future.set_exception(other_error("could not update the mail store", exc))
        else:
            job.future.set_result(result)

    def _transaction(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            # BEGIN IMMEDIATE takes the write lock of the incoming file only. Written first,
            # before anything reads it, the mailbox file's lock is waited for (busy_timeout)
            # while the indexer commits; a read first would pin a snapshot that the indexer's
            # next commit makes stale, and the write would then fail at once as "locked".
            # The write itself says that counts remembered for searches (``pages``) stop
            # holding.
            bump_generation(conn, "mailbox")
            result = operation(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            rollback(conn)
            logger.error("mail store %s: could not update: %s", self._path, exc)
            raise store_error("could not update the mail store", exc) from exc
        except BaseException:
            # Left open, the transaction would hold both files' write locks for good.
            rollback(conn)
            raise
        return result

    def _outside_transaction(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return operation(self._conn)
        except sqlite3.Error as exc:
            logger.error("mail store %s: could not change a setting: %s", self._path, exc)
            raise store_error("could not change a setting of the mail store", exc) from exc


def _size(job: _Add | _Call | _Stop) -> int:
    return len(job.raw) if isinstance(job, _Add) else 0


def _fail_unanswered(jobs: Sequence[_Add | _Call | _Stop], error: StoreError) -> None:
    """Fail the future of every job in ``jobs`` that has no answer yet."""
    for job in jobs:
        future = getattr(job, "future", None)
        if future is not None and not future.done():
            future.set_exception(error)


def insert_incoming(conn: sqlite3.Connection, adds: list[_Add]) -> int:
    """Insert new messages into the incoming file, committed; returns the newest id given out.

    One multi-row INSERT in autocommit mode is one transaction in one ``sqlite3_step``: the
    module releases the GIL for each step, and under load every time it takes the GIL back
    waits for the event loop thread, so a burst costs two of those waits instead of two per
    message (measured: the 250 came 1.5-2.5 ms sooner at p50).
    """
    per_statement = _MAX_PARAMS // _INCOMING_COLUMNS
    if len(adds) <= per_statement:
        return _insert_incoming_rows(conn, adds)
    # More than one statement may bind: several statements, one transaction.
    conn.execute("BEGIN")
    for start in range(0, len(adds), per_statement):
        newest = _insert_incoming_rows(conn, adds[start : start + per_statement])
    conn.execute("COMMIT")
    return newest


def _insert_incoming_rows(conn: sqlite3.Connection, adds: list[_Add]) -> int:
    params: list[object] = []
    for job in adds:
        # An envelope with bytes that were not UTF-8 is stored, not refused.
        envelope_to = readable(dump_json(list(job.envelope_to)))
        envelope_from = readable(job.envelope_from)
        params += (job.uid, job.created, envelope_from, envelope_to, job.raw, job.mailbox)
    rows = ", ".join([_INCOMING_ROW] * len(adds))
    sql = (
        "INSERT INTO pending (uid, created, envelope_from, envelope_to, data, mailbox) "  # noqa: S608
        f"VALUES {rows}"
    )
    return int(conn.execute(sql, params).lastrowid or 0)
