"""Moving acknowledged mail from the incoming file into the mailbox file, one chunk at a time.

The SMTP side commits each message's raw bytes and envelope to the incoming file and answers 250
(see ``schema``). ``MailIndex`` then reads the oldest waiting
messages, parses them (``mail_sandbox.store.parse``), writes their raw bytes, summary rows, tags
and full-text index rows into the mailbox file in one transaction, and only after that commit
removes them from the incoming file. A crash at any point leaves each message in one file or
both, never in none; a message found in both is simply removed from the incoming file again.

``indexer`` runs this off the path of the 250, in a child process or a thread.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from mail_sandbox.store.parse import ParsedMessage
from mail_sandbox.store.sqlite.connections import connect, set_synchronous
from mail_sandbox.store.sqlite.errors import rollback
from mail_sandbox.store.sqlite.index_rows import IncomingRow, delete_rows, insert, select_in
from mail_sandbox.store.sqlite.parse_jobs import Parser, bare_summary, parse_all
from mail_sandbox.store.sqlite.schema import bump_generation
from mail_sandbox.store.sqlite.values import chunks, marks

logger = logging.getLogger(__name__)

#: Most messages, and most of their bytes, indexed in one transaction. Bigger chunks cost less
#: per message (each FTS5 transaction writes a new index segment) but hold the mailbox file's
#: write lock, which only user actions (flags, deletes) wait for, longer.
CHUNK_ROWS = 200
CHUNK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class IndexerSettings:
    """Where the two files are and how the mailbox is kept; passed to a child as JSON.

    ``durable``: see ``files.StoreFiles``.
    """

    path: str
    incoming_path: str
    max_messages: int = 0
    busy_timeout_ms: int = 5000
    durable: bool = True


@dataclass(frozen=True, slots=True)
class Progress:
    """Every message with an id up to ``upto`` is indexed (or was removed before it could be).

    ``ids`` are the IDs that became searchable in this step, oldest first, and ``mailboxes``
    the mailbox of each; ``pruned`` counts, by mailbox, indexed messages removed to keep each
    mailbox at ``max_messages``.
    """

    upto: int
    ids: list[str] = field(default_factory=list)
    mailboxes: list[str] = field(default_factory=list)
    pruned: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Chunk:
    """Messages read from the incoming file, and the id up to which all are indexed after."""

    messages: list[IncomingRow]
    done_upto: int
    newest: int  # the newest id given out at the time
    more: bool  # more messages waited beyond these
    parsing_elsewhere: bool = False


class MailIndex:
    """The indexer's two connections and the work of moving one chunk at a time.

    With ``start_parser`` (a parser in a process of lower priority, started on first need), a
    backlog of more than one chunk is parsed there: while mail still arrives, so that the SMTP
    side keeps the CPU; once it stops, one chunk ahead of the one being written, so that
    catching up after a burst uses a second core. Smaller chunks are parsed here, at once.
    """

    def __init__(
        self, settings: IndexerSettings, *, start_parser: Callable[[], Parser] | None = None
    ) -> None:
        self.settings = settings
        self.mailbox = connect(settings.path, settings.busy_timeout_ms)
        self.incoming = connect(settings.incoming_path, settings.busy_timeout_ms)
        # FULL: once a message leaves the incoming file this commit is its only copy.
        set_synchronous(self.mailbox, "FULL", durable=settings.durable)
        # Removing indexed messages from the incoming file can wait for the next fsync: if it
        # is lost, they are removed again.
        set_synchronous(self.incoming, "NORMAL", durable=settings.durable)
        self._start_parser = start_parser
        self._parser: Parser | None = None
        self._next: _Chunk | None = None
        self._newest_seen = 0  # the newest id given out, when last read
        self._moved: list[int] = []  # indexed, still to remove from the incoming file

    def close(self) -> None:
        """Close both connections and stop the parser."""
        if self._parser is not None:
            self._parser.close()
        self.mailbox.close()
        self.incoming.close()

    def index(self) -> tuple[Progress, bool]:
        """Index the oldest chunk of waiting messages; returns what was done and whether more
        messages wait."""
        self._forget_moved()
        chunk, self._next = self._next, None
        if chunk is None:
            chunk = self._read_chunk(after=0)
        arriving = chunk.newest > self._newest_seen
        self._newest_seen = max(self._newest_seen, chunk.newest)
        if chunk.more and arriving and not chunk.parsing_elsewhere:
            # A backlog while mail still arrives: the parser, at a lower priority, leaves the
            # CPU to the SMTP side, and this process waits for it instead of competing.
            self._parse_elsewhere(chunk)
        parsed = self._parsed(chunk)
        if chunk.more and not arriving and chunk.messages and self._start_parser is not None:
            # Mail has stopped: catch up on two cores.
            self._next = self._read_chunk(after=chunk.messages[-1].id)
            self._parse_elsewhere(self._next)
        try:
            try:
                step = self._write(chunk, parsed)
            except sqlite3.Error:
                raise  # the database's own trouble: the whole chunk is tried again
            except Exception as exc:  # noqa: BLE001 - one message's row; see _write_each
                logger.error("mail store: could not index a chunk (%s); message by message", exc)
                step = self._write_each(chunk, parsed)
        except BaseException:
            self._drop_next()
            raise
        return step, chunk.more

    def observe(self) -> Progress:
        """How far another indexer has got, read from the incoming file (indexing nothing)."""
        conn = self.incoming
        conn.execute("BEGIN")
        try:
            oldest = conn.execute("SELECT min(id) FROM pending").fetchone()[0]
            sequence = conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'pending'"
            ).fetchone()
        finally:
            conn.execute("COMMIT")
        if oldest is not None:
            return Progress(oldest - 1)
        return Progress(int(sequence[0]) if sequence else 0)

    def _write(self, chunk: _Chunk, parsed: list[ParsedMessage]) -> Progress:
        if not chunk.messages:
            return Progress(chunk.done_upto)
        messages = chunk.messages
        ids = [s.id for s in messages]
        conn = self.mailbox
        conn.execute("BEGIN IMMEDIATE")
        try:
            # User actions change both files while holding the mailbox file's write lock, which
            # this transaction now holds: what the incoming file says now stays true until COMMIT.
            flags = dict(select_in(self.incoming, "SELECT id, read FROM pending", "id", ids))
            moved = {row[0] for row in select_in(conn, "SELECT id FROM raw", "id", ids)}
            # A message for a mailbox deleted after it was acknowledged went with its mailbox.
            boxes = {row[0] for row in conn.execute("SELECT name FROM mailboxes")}
            fresh = [
                (s, facts)
                for s, facts in zip(messages, parsed, strict=True)
                if s.id in flags and s.id not in moved and s.mailbox in boxes
            ]
            insert(conn, fresh, flags)
            _mark_used(conn, fresh)
            touched = list(dict.fromkeys(s.mailbox for s, _facts in fresh))
            pruned, oldest_kept = self._prune(ids[-1], touched)
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        self._moved = ids
        try:
            self._forget_moved()
        except sqlite3.Error as exc:
            # They are indexed all the same; removing them is tried again before the next chunk.
            logger.warning("mail store: could not clear indexed messages (trying again): %s", exc)
        visible = [s for s, _facts in fresh if s.id >= oldest_kept.get(s.mailbox, 0)]
        return Progress(
            chunk.done_upto, [s.uid for s in visible], [s.mailbox for s in visible], pruned
        )

    def _write_each(self, chunk: _Chunk, parsed: list[ParsedMessage]) -> Progress:
        """``_write`` one message at a time; one whose summary cannot be written (a value
        SQLite refuses) is written with a bare one, so that it is listed and its bytes kept,
        and the messages after it are not held up behind it."""
        step = Progress(chunk.done_upto)
        last = len(chunk.messages) - 1
        for index, (incoming, facts) in enumerate(zip(chunk.messages, parsed, strict=True)):
            upto = chunk.done_upto if index == last else incoming.id
            alone = _Chunk([incoming], upto, chunk.newest, chunk.more)
            try:
                written = self._write(alone, [facts])
            except sqlite3.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - indexed bare instead, and logged
                logger.error(
                    "mail store: could not index message %s (%s); indexing it as is",
                    incoming.uid,
                    exc,
                )
                one = self._write(alone, [bare_summary(incoming.data, incoming.envelope_from)])
            else:
                one = written
            step.ids += one.ids
            step.mailboxes += one.mailboxes
            for mailbox, count in one.pruned.items():
                step.pruned[mailbox] = step.pruned.get(mailbox, 0) + count
        return step

    def _forget_moved(self) -> None:
        """Remove the messages just indexed from the incoming file."""
        for chunk_ids in chunks(self._moved):
            sql = f"DELETE FROM pending WHERE id IN ({marks(chunk_ids)})"  # noqa: S608
            self.incoming.execute(sql, chunk_ids)
        self._moved = []

    def _parsed(self, chunk: _Chunk) -> list[ParsedMessage]:
        if chunk.parsing_elsewhere and self._parser is not None:
            parsed = self._parser.result()
            if parsed is not None:
                return parsed
            logger.error("mail store: the parser process failed; parsing here from now on")
            self._parser = None
            self._start_parser = None
        return parse_all([s.job() for s in chunk.messages])

    def _parse_elsewhere(self, chunk: _Chunk) -> None:
        if not chunk.messages or self._start_parser is None:
            return
        if self._parser is None:
            try:
                self._parser = self._start_parser()
            except OSError as exc:
                logger.error("mail store: cannot start a parser process: %s", exc)
                self._start_parser = None
                return
        self._parser.submit([s.job() for s in chunk.messages])
        chunk.parsing_elsewhere = True

    def _drop_next(self) -> None:
        """Forget the chunk read ahead (after a failed write it is read again, in order)."""
        if self._next is not None and self._next.parsing_elsewhere and self._parser is not None:
            self._parser.result()
        self._next = None

    def _read_chunk(self, after: int) -> _Chunk:
        """The oldest waiting messages with ids above ``after``, within the chunk limits."""
        conn = self.incoming
        # One snapshot: the newest id given out must be read with the rows that wait.
        conn.execute("BEGIN")
        try:
            # length() of a blob reads no overflow pages, so sizing a chunk costs little.
            sizes = conn.execute(
                "SELECT id, length(data) FROM pending WHERE id > ? ORDER BY id LIMIT ?",
                (after, CHUNK_ROWS + 1),
            ).fetchall()
            sequence = conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'pending'"
            ).fetchone()
            chosen, total = [], 0
            for rowid, size in sizes[:CHUNK_ROWS]:
                if chosen and total + size > CHUNK_BYTES:
                    break
                chosen.append(rowid)
                total += size
            rows = conn.execute(
                "SELECT id, uid, created, envelope_from, envelope_to, data, mailbox FROM pending "
                "WHERE id BETWEEN ? AND ? ORDER BY id",
                (chosen[0], chosen[-1]) if chosen else (1, 0),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        messages = [
            IncomingRow(row[0], row[1], row[2], row[3], json.loads(row[4]), bytes(row[5]), row[6])
            for row in rows
        ]
        newest = int(sequence[0]) if sequence else 0
        if len(chosen) < len(sizes):
            return _Chunk(messages, chosen[-1], newest, more=True)
        # Everything that waits is in this chunk; ids are given out in commit order, so every
        # id given out so far is indexed once it is.
        return _Chunk(messages, newest, newest, more=False)

    def _prune(self, newest: int, mailboxes: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        """Delete indexed messages beyond the newest ``max_messages`` of each of ``mailboxes``,
        counting those still waiting in the incoming file; returns, by mailbox, how many went
        and the oldest id kept."""
        limit = self.settings.max_messages
        pruned: dict[str, int] = {}
        oldest: dict[str, int] = {}
        if not limit:
            return pruned, oldest
        for mailbox in mailboxes:
            count, oldest_kept = self._prune_mailbox(mailbox, newest, limit)
            oldest[mailbox] = oldest_kept
            if count:
                pruned[mailbox] = count
        return pruned, oldest

    def _prune_mailbox(self, mailbox: str, newest: int, limit: int) -> tuple[int, int]:
        waiting = self.incoming.execute(
            "SELECT count(*) FROM pending WHERE mailbox = ? AND id > ?", (mailbox, newest)
        ).fetchone()[0]
        keep = limit - waiting
        conn = self.mailbox
        if keep > 0:
            row = conn.execute(
                "SELECT id FROM messages WHERE mailbox = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                (mailbox, keep - 1),
            ).fetchone()
            if row is None:
                return 0, 0
            oldest_kept = row[0]
        else:
            oldest_kept = newest + 1
        gone = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM messages WHERE mailbox = ? AND id < ?", (mailbox, oldest_kept)
            )
        ]
        if not gone:
            return 0, oldest_kept
        bump_generation(conn)
        delete_rows(conn, gone)
        return len(gone), oldest_kept


def _mark_used(conn: sqlite3.Connection, fresh: list[tuple[IncomingRow, ParsedMessage]]) -> None:
    """A delivery is a use of its mailbox: its TTL counts from the newest one."""
    newest: dict[str, int] = {}
    for incoming, _facts in fresh:
        newest[incoming.mailbox] = max(newest.get(incoming.mailbox, 0), incoming.created)
    conn.executemany(
        "UPDATE mailboxes SET used = max(used, ?) WHERE name = ?",
        [(created, mailbox) for mailbox, created in newest.items()],
    )
