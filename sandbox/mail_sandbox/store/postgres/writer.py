"""New messages, committed in groups by one thread.

``add`` queues a message and returns a future at once. The writer thread takes everything
queued, parses each message with the shared parser (``store.parse``), inserts all of them in
one transaction (a burst of 100 messages is one commit, not 100), prunes the mailboxes they
went to down to ``max_messages``, commits, and only then resolves the futures and tells the
listeners. One writer keeps ids in the order messages were queued, so "newest first" is the
order of arrival and listeners hear of ids in order.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import psycopg

from mail_sandbox.store.contract import StoreError
from mail_sandbox.store.ids import new_message_ids
from mail_sandbox.store.parse import ParsedMessage, summarize
from mail_sandbox.store.postgres import mailbox_rows
from mail_sandbox.store.postgres.database import Database
from mail_sandbox.store.postgres.notices import announce
from mail_sandbox.store.postgres.reads import spelled_as_in_use
from mail_sandbox.store.postgres.rows import INSERT_COLUMNS, message_row
from mail_sandbox.store.sqlite.values import readable
from mail_sandbox.tags import unique_tags

logger = logging.getLogger(__name__)

#: Most messages in one transaction: a flood is committed in steps of this many.
BATCH = 500
_INSERT = (
    f"INSERT INTO mail_sandbox_messages ({INSERT_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(INSERT_COLUMNS.split(',')))}) RETURNING id"
)
#: ``listener(arrived)``: ids committed, by mailbox, in order.
Committed = Callable[[dict[str, list[str]]], None]


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
    """The thread committing new messages to ``database``.

    ``on_pruned(mailbox, count)`` hears of messages pruned (after the commit);
    ``on_committed`` of the new ids, from this thread, with no lock held. Every commit also
    announces its ids to the other processes on the database, as ``origin``.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_messages: int,
        on_pruned: Callable[[str, int], None],
        on_committed: Committed,
        origin: str,
    ) -> None:
        self._database = database
        self._origin = origin
        self._max_messages = max_messages
        self._on_pruned = on_pruned
        self._on_committed = on_committed
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
        parsed = [_parse(job) for job in adds]
        for job, uid in zip(adds, new_message_ids(len(adds)), strict=True):
            job.uid = uid
        try:
            with self._database.transaction() as conn:
                refused = _missing_mailboxes(conn, adds)
                kept = [(job, facts) for job, facts in zip(adds, parsed, strict=True)
                        if job.mailbox not in refused]  # fmt: skip
                _insert(conn, kept)
                pruned = self._prune(conn, list(dict.fromkeys(job.mailbox for job, _ in kept)))
                # Delivered by PostgreSQL at the commit, to the processes that listen.
                for mailbox, uids in _by_mailbox(job for job, _facts in kept).items():
                    announce(conn, self._origin, mailbox, uids)
        except StoreError as exc:
            for job in adds:
                job.future.set_exception(StoreError(f"could not store the message: {exc}"))
            return
        except Exception as exc:
            logger.exception("mail store: could not store %d messages", len(adds))
            for job in adds:
                job.future.set_exception(StoreError(f"could not store the message: {exc}"))
            return
        for mailbox, count in pruned.items():
            self._on_pruned(mailbox, count)
        arrived: dict[str, list[str]] = {}
        for job in adds:
            if job.mailbox in refused:
                job.future.set_exception(StoreError(f"no mailbox named {job.mailbox}"))
            else:
                job.future.set_result(job.uid)
                arrived.setdefault(job.mailbox, []).append(job.uid)
        if arrived:
            self._on_committed(arrived)

    def _prune(self, conn: psycopg.Connection, mailboxes: list[str]) -> dict[str, int]:
        """Keep the newest ``max_messages`` of each mailbox that got mail; how many went."""
        if not self._max_messages:
            return {}
        pruned = {}
        for mailbox in mailboxes:
            count = conn.execute(
                "DELETE FROM mail_sandbox_messages WHERE mailbox = %s AND id < ("
                "SELECT id FROM mail_sandbox_messages WHERE mailbox = %s "
                "ORDER BY id DESC OFFSET %s LIMIT 1)",
                (mailbox, mailbox, self._max_messages - 1),
            ).rowcount
            if count:
                pruned[mailbox] = count
                mailbox_rows.changed(conn, [mailbox])
        return pruned


def _by_mailbox(jobs: Iterable[_Add]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for job in jobs:
        grouped.setdefault(job.mailbox, []).append(job.uid)
    return grouped


def _parse(job: _Add) -> ParsedMessage:
    try:
        return summarize(job.raw, job.envelope_from, job.envelope_to)
    except Exception:  # noqa: BLE001 - the parser does not raise; a bug must not lose mail
        logger.exception("mail store: could not read a message; it is kept without a summary")
        return ParsedMessage(size=len(job.raw), return_path=job.envelope_from)


def _missing_mailboxes(conn: psycopg.Connection, adds: list[_Add]) -> set[str]:
    """The mailboxes among ``adds``' that no longer exist (deleted since the message was
    routed); the others are locked until the commit, so that none goes meanwhile.

    The lock is the one the commit's ``used`` update needs anyway: writers of other processes
    holding a shared lock each and then waiting to update the row would deadlock."""
    wanted = sorted({job.mailbox for job in adds})
    rows = conn.execute(
        "SELECT name FROM mail_sandbox_mailboxes WHERE name = ANY(%s) ORDER BY name "
        "FOR NO KEY UPDATE",
        (wanted,),
    )
    return set(wanted) - {row[0] for row in rows}


def _insert(conn: psycopg.Connection, kept: list[tuple[_Add, ParsedMessage]]) -> None:
    """Insert messages, raw bytes and tags; count each mailbox as used at its newest mail."""
    if not kept:
        return
    # A header's tag in use in its mailbox (in any case) takes the spelling in use; one new in
    # this batch in several cases takes the first.
    for mailbox in dict.fromkeys(job.mailbox for job, _facts in kept):
        mine = [facts for job, facts in kept if job.mailbox == mailbox]
        new = unique_tags(readable(tag) for facts in mine for tag in facts.tags)
        in_use = dict(
            zip((t.lower() for t in new), spelled_as_in_use(conn, mailbox, new), strict=True)
        )
        for facts in mine:
            facts.tags = [in_use.get(readable(tag).lower(), tag) for tag in facts.tags]
    with conn.cursor() as cursor:
        cursor.executemany(
            _INSERT,
            [message_row(job.uid, job.mailbox, job.created, facts) for job, facts in kept],
            returning=True,
        )
        ids = []
        while True:
            row = cursor.fetchone()
            assert row is not None
            ids.append(row[0])
            if not cursor.nextset():
                break
        cursor.executemany(
            "INSERT INTO mail_sandbox_raw (id, data) VALUES (%s, %s)",
            [(rowid, job.raw) for rowid, (job, _facts) in zip(ids, kept, strict=True)],
        )
        cursor.executemany(
            "INSERT INTO mail_sandbox_tags (message, mailbox, name) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [
                (rowid, job.mailbox, tag)
                for rowid, (job, facts) in zip(ids, kept, strict=True)
                for tag in facts.tags
            ],
        )
        newest: dict[str, int] = {}
        for job, _facts in kept:
            newest[job.mailbox] = max(newest.get(job.mailbox, 0), job.created)
        cursor.executemany(
            "UPDATE mail_sandbox_mailboxes SET used = greatest(used, %s) WHERE name = %s",
            [(created, mailbox) for mailbox, created in newest.items()],
        )
