"""New messages, committed in groups by one thread, as they were received.

``add`` queues a message and returns a future at once. The writer thread takes everything
queued and inserts it into ``mail_sandbox_incoming`` in one statement and one transaction (a
burst of 100 messages is one commit, not 100); only after the commit does it resolve the
futures, so a message is kept before its 250. Nothing is parsed here: the indexer
(``index_loop``) does that off the path of the 250, and only then do listeners hear of it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import psycopg

from mail_sandbox.store.contract import StoreError
from mail_sandbox.store.ids import new_message_ids
from mail_sandbox.store.postgres.database import Database
from mail_sandbox.store.postgres.rows import envelope_text

logger = logging.getLogger(__name__)

#: Most messages in one transaction: a flood is committed in steps of this many.
BATCH = 500


@dataclass(slots=True)
class _Add:
    mailbox: str
    raw: bytes
    envelope_from: str
    envelope_to: list[str]
    created: int
    future: Future[str] = field(default_factory=Future)
    uid: str = ""


class Writer:
    """The thread committing new messages to ``database``; ``on_staged(newest id)`` hears
    of each commit, from this thread, with no lock held."""

    def __init__(
        self, database: Database, *, max_messages: int, on_staged: Callable[[int], None]
    ) -> None:
        self._database = database
        self._max_messages = max_messages
        self._on_staged = on_staged
        self._queue: deque[_Add | Future[None]] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="mail-store-writer", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closing

    def add(
        self, mailbox: str, raw: bytes, envelope_from: str, envelope_to: Sequence[str], created: int
    ) -> Future[str]:
        """Queue a message for ``mailbox``; the future gets its ID once committed."""
        job = _Add(mailbox, raw, envelope_from, list(envelope_to), created)
        with self._wake:
            if self._closing:
                job.future.set_exception(StoreError("the mail store is closed"))
                return job.future
            self._queue.append(job)
            self._wake.notify()
        return job.future

    def flush(self) -> None:
        """Wait until everything queued so far is committed (or answered with a failure)."""
        marker: Future[None] = Future()
        with self._wake:
            if self._closing:
                return
            self._queue.append(marker)
            self._wake.notify()
        marker.result()

    def close(self) -> bool:
        """Commit what is queued, then stop; False when closed already."""
        with self._wake:
            if self._closing:
                return False
            self._closing = True
            self._wake.notify()
        self._thread.join()
        return True

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closing:
                    self._wake.wait()
                if not self._queue:
                    return
                taken = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            adds = [job for job in taken if isinstance(job, _Add)]
            if adds:
                self._commit(adds)
            for job in taken:
                if not isinstance(job, _Add):
                    job.set_result(None)

    def _commit(self, adds: list[_Add]) -> None:
        # A message whose sender stopped waiting (its future cancelled) is not stored; the
        # others' futures can no longer be cancelled, so each gets its answer.
        adds = [job for job in adds if job.future.set_running_or_notify_cancel()]
        if not adds:
            return
        for job, uid in zip(adds, new_message_ids(len(adds)), strict=True):
            job.uid = uid
        try:
            # One statement, committed on its own: one round trip to the database per batch.
            with self._database.transaction(autocommit=True) as conn:
                staged = _stage(conn, adds, self._max_messages)
        except StoreError as exc:
            for job in adds:
                job.future.set_exception(StoreError(f"could not store the message: {exc}"))
            return
        except Exception as exc:
            logger.exception("mail store: could not store %d messages", len(adds))
            for job in adds:
                job.future.set_exception(StoreError(f"could not store the message: {exc}"))
            return
        for job in adds:
            if job.uid in staged:
                job.future.set_result(job.uid)
            else:
                job.future.set_exception(StoreError(f"no mailbox named {job.mailbox}"))
        if staged:
            self._on_staged(max(staged.values()))


def _stage(conn: psycopg.Connection, adds: list[_Add], max_messages: int) -> dict[str, int]:
    """Insert ``adds`` into ``mail_sandbox_incoming`` in their order, to be pruned to
    ``max_messages`` by whichever indexer takes them, except those whose mailbox no longer
    exists (deleted since the message was routed); the ids given, by message ID.

    The mailboxes are locked as the foreign key locks them, which waits only for a deletion,
    never for an indexer: none goes before the commit."""
    rows = conn.execute(
        "INSERT INTO mail_sandbox_incoming (uid, mailbox, created, envelope, keep, data) "
        "SELECT t.u, t.m, t.c, t.e, %s, t.d FROM unnest("
        "%s::text[], %s::text[], %s::bigint[], %s::text[], %s::bytea[]"
        ") WITH ORDINALITY AS t (u, m, c, e, d, n) "
        "JOIN mail_sandbox_mailboxes b ON b.name = t.m ORDER BY t.n FOR KEY SHARE OF b "
        "RETURNING uid, id",
        (
            max_messages,
            [job.uid for job in adds],
            [job.mailbox for job in adds],
            [job.created for job in adds],
            [envelope_text(job.envelope_from, job.envelope_to) for job in adds],
            [job.raw for job in adds],
        ),
    ).fetchall()
    return dict(rows)
