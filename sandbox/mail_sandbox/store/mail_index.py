"""Moving acknowledged mail from the incoming file into the mailbox file, one chunk at a time.

The SMTP side commits each message's raw bytes and envelope to the incoming file and answers 250
(see ``mail_sandbox.store.sqlite_schema``). ``MailIndex`` then reads the oldest waiting
messages, parses them (``mail_sandbox.store.parse``), writes their raw bytes, summary rows, tags
and full-text index rows into the mailbox file in one transaction, and only after that commit
removes them from the incoming file. A crash at any point leaves each message in one file or
both, never in none; a message found in both is simply removed from the incoming file again.

``mail_sandbox.store.indexer`` runs this off the path of the 250, in a child process or a thread.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from mail_sandbox.store.contract import Address
from mail_sandbox.store.parse import ParsedMessage, summarize
from mail_sandbox.store.sqlite_schema import bump_generation

logger = logging.getLogger(__name__)

#: Most messages, and most of their bytes, indexed in one transaction. Bigger chunks cost less
#: per message (each FTS5 transaction writes a new index segment) but hold the mailbox file's
#: write lock, which only user actions (flags, deletes) wait for, longer.
CHUNK_ROWS = 200
CHUNK_BYTES = 16 * 1024 * 1024
# Well under SQLite's limit on bound parameters per statement.
_CHUNK_IDS = 500
_INSERT_MESSAGE = (
    "INSERT INTO messages (id, uid, created, read, message_id, sender, to_, cc, bcc, reply_to, "
    "return_path, subject, date, size, attachments, inline, snippet) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_SEARCH = (
    "INSERT INTO search (rowid, subject, from_, to_, cc, bcc, reply_to, message_id, tags, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: What a parser is given for one message: raw bytes, envelope sender, envelope recipients.
ParseJob = tuple[bytes, str, list[str]]


@dataclass(frozen=True, slots=True)
class IndexerSettings:
    """Where the two files are and how the mailbox is kept; passed to a child as JSON."""

    path: str
    incoming_path: str
    max_messages: int = 0
    busy_timeout_ms: int = 5000


@dataclass(frozen=True, slots=True)
class Progress:
    """Every message with an id up to ``upto`` is indexed (or was removed before it could be).

    ``ids`` are the IDs that became searchable in this step, oldest first; ``pruned`` counts
    indexed messages removed to keep the mailbox at ``max_messages``.
    """

    upto: int
    ids: list[str]
    pruned: int = 0


class Parser(Protocol):
    """Parses a chunk elsewhere (another process) while the indexer writes the one before."""

    def submit(self, jobs: list[ParseJob]) -> None:
        """Start parsing ``jobs``."""

    def result(self) -> list[ParsedMessage] | None:
        """The parsed ``jobs`` of the last ``submit``, or None when the parser failed."""

    def close(self) -> None:
        """Stop the parser."""


@dataclass(slots=True)
class _Staged:
    id: int
    uid: str
    created: int
    envelope_from: str
    envelope_to: list[str]
    data: bytes

    def job(self) -> ParseJob:
        return (self.data, self.envelope_from, self.envelope_to)


@dataclass(slots=True)
class _Chunk:
    """Messages read from the incoming file, and the id up to which all are indexed after."""

    staged: list[_Staged]
    done_upto: int
    newest: int  # the newest id given out at the time
    more: bool  # more messages waited beyond these
    parsing_elsewhere: bool = False
    parsed: list[ParsedMessage] = field(default_factory=list)


def parse_staged(raw: bytes, envelope_from: str, envelope_to: list[str]) -> ParsedMessage:
    """``summarize``, with a bare summary should it ever fail: the bytes are kept either way."""
    try:
        return summarize(raw, envelope_from, envelope_to)
    except Exception:
        # summarize is built never to raise; if it does, the message is still listed.
        logger.exception("mail store: could not read a message; indexing it as is")
        return bare_summary(raw, envelope_from)


def bare_summary(raw: bytes, envelope_from: str) -> ParsedMessage:
    """What is known of a message without reading it: enough to list it and keep its bytes."""
    return ParsedMessage(size=len(raw), return_path=envelope_from)


def parse_all(jobs: list[ParseJob]) -> list[ParsedMessage]:
    """``parse_staged`` for each job."""
    return [parse_staged(*job) for job in jobs]


def dump_json(value: object) -> str:
    """Compact JSON, as the summary columns store addresses."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dump_addresses(addresses: list[Address]) -> str:
    """Addresses as a summary column stores them: ``[[name, address], ...]``."""
    return dump_json([[a.name, a.address] for a in addresses])


def address_text(addresses: list[Address]) -> str:
    """Addresses as people write them, for the index: ``Name <address>, ...``."""
    return ", ".join(
        f"{a.name} <{a.address}>" if a.name else a.address for a in addresses if a.name or a.address
    )


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
        self.mailbox = _connect(settings.path, settings.busy_timeout_ms)
        self.incoming = _connect(settings.incoming_path, settings.busy_timeout_ms)
        # FULL: once a message leaves the incoming file this commit is its only copy.
        self.mailbox.execute("PRAGMA synchronous = FULL")
        # Removing indexed messages from the incoming file can wait for the next fsync: if it
        # is lost, they are removed again.
        self.incoming.execute("PRAGMA synchronous = NORMAL")
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
        if chunk.more and not arriving and chunk.staged and self._start_parser is not None:
            # Mail has stopped: catch up on two cores.
            self._next = self._read_chunk(after=chunk.staged[-1].id)
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
            return Progress(oldest - 1, [])
        return Progress(int(sequence[0]) if sequence else 0, [])

    def _write(self, chunk: _Chunk, parsed: list[ParsedMessage]) -> Progress:
        if not chunk.staged:
            return Progress(chunk.done_upto, [])
        staged = chunk.staged
        ids = [s.id for s in staged]
        conn = self.mailbox
        conn.execute("BEGIN IMMEDIATE")
        try:
            # User actions change both files while holding the mailbox file's write lock, which
            # this transaction now holds: what the incoming file says now stays true until COMMIT.
            flags = dict(_select_in(self.incoming, "SELECT id, read FROM pending", "id", ids))
            moved = {row[0] for row in _select_in(conn, "SELECT id FROM raw", "id", ids)}
            fresh = [
                (s, facts)
                for s, facts in zip(staged, parsed, strict=True)
                if s.id in flags and s.id not in moved
            ]
            _insert(conn, fresh, flags)
            pruned, oldest_kept = self._prune(ids[-1])
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        self._moved = ids
        try:
            self._forget_moved()
        except sqlite3.Error as exc:
            # They are indexed all the same; removing them is tried again before the next chunk.
            logger.warning("mail store: could not clear indexed messages (trying again): %s", exc)
        visible = [s.uid for s, _facts in fresh if s.id >= oldest_kept]
        return Progress(chunk.done_upto, visible, pruned)

    def _write_each(self, chunk: _Chunk, parsed: list[ParsedMessage]) -> Progress:
        """``_write`` one message at a time; one whose summary cannot be written (a value
        SQLite refuses) is written with a bare one, so that it is listed and its bytes kept,
        and the messages after it are not held up behind it."""
        ids: list[str] = []
        pruned = 0
        last = len(chunk.staged) - 1
        for index, (staged, facts) in enumerate(zip(chunk.staged, parsed, strict=True)):
            upto = chunk.done_upto if index == last else staged.id
            alone = _Chunk([staged], upto, chunk.newest, chunk.more)
            try:
                step = self._write(alone, [facts])
            except sqlite3.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - indexed bare instead, and logged
                logger.error(
                    "mail store: could not index message %s (%s); indexing it as is",
                    staged.uid,
                    exc,
                )
                step = self._write(alone, [bare_summary(staged.data, staged.envelope_from)])
            ids += step.ids
            pruned += step.pruned
        return Progress(chunk.done_upto, ids, pruned)

    def _forget_moved(self) -> None:
        """Remove the messages just indexed from the incoming file."""
        for chunk_ids in _chunked(self._moved):
            marks = ",".join("?" * len(chunk_ids))
            self.incoming.execute(f"DELETE FROM pending WHERE id IN ({marks})", chunk_ids)  # noqa: S608
        self._moved = []

    def _parsed(self, chunk: _Chunk) -> list[ParsedMessage]:
        if chunk.parsing_elsewhere and self._parser is not None:
            parsed = self._parser.result()
            if parsed is not None:
                return parsed
            logger.error("mail store: the parser process failed; parsing here from now on")
            self._parser = None
            self._start_parser = None
        return parse_all([s.job() for s in chunk.staged])

    def _parse_elsewhere(self, chunk: _Chunk) -> None:
        if not chunk.staged or self._start_parser is None:
            return
        if self._parser is None:
            try:
                self._parser = self._start_parser()
            except OSError as exc:
                logger.error("mail store: cannot start a parser process: %s", exc)
                self._start_parser = None
                return
        self._parser.submit([s.job() for s in chunk.staged])
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
                "SELECT id, uid, created, envelope_from, envelope_to, data FROM pending "
                "WHERE id BETWEEN ? AND ? ORDER BY id",
                (chosen[0], chosen[-1]) if chosen else (1, 0),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        staged = [
            _Staged(row[0], row[1], row[2], row[3], json.loads(row[4]), bytes(row[5]))
            for row in rows
        ]
        newest = int(sequence[0]) if sequence else 0
        if len(chosen) < len(sizes):
            return _Chunk(staged, chosen[-1], newest, more=True)
        # Everything that waits is in this chunk; ids are given out in commit order, so every
        # id given out so far is indexed once it is.
        return _Chunk(staged, newest, newest, more=False)

    def _prune(self, newest: int) -> tuple[int, int]:
        """Delete indexed messages beyond the newest ``max_messages``, counting those still
        waiting in the incoming file; returns how many went and the oldest id kept."""
        limit = self.settings.max_messages
        if not limit:
            return 0, 0
        waiting = self.incoming.execute(
            "SELECT count(*) FROM pending WHERE id > ?", (newest,)
        ).fetchone()[0]
        keep = limit - waiting
        conn = self.mailbox
        if keep > 0:
            row = conn.execute(
                "SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?", (keep - 1,)
            ).fetchone()
            if row is None:
                return 0, 0
            oldest_kept = row[0]
        else:
            oldest_kept = newest + 1
        if not conn.execute(
            "SELECT 1 FROM messages WHERE id < ? LIMIT 1", (oldest_kept,)
        ).fetchone():
            return 0, oldest_kept
        pruned = conn.execute("DELETE FROM messages WHERE id < ?", (oldest_kept,)).rowcount
        bump_generation(conn)
        conn.execute("DELETE FROM raw WHERE id < ?", (oldest_kept,))
        conn.execute("DELETE FROM tags WHERE message < ?", (oldest_kept,))
        conn.execute("DELETE FROM search WHERE rowid < ?", (oldest_kept,))
        return pruned, oldest_kept


def _connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return conn


def _chunked(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK_IDS):
        yield ids[start : start + _CHUNK_IDS]


def _select_in(
    conn: sqlite3.Connection, select: str, column: str, ids: list[int]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``select`` whose ``column`` is one of ``ids``."""
    for chunk in _chunked(ids):
        marks = ",".join("?" * len(chunk))
        yield from conn.execute(f"{select} WHERE {column} IN ({marks})", chunk)  # noqa: S608


def _insert(
    conn: sqlite3.Connection, fresh: list[tuple[_Staged, ParsedMessage]], flags: dict[int, int]
) -> None:
    """Write raw bytes, summary rows, tags and index rows of newly indexed messages."""
    if not fresh:
        return
    ids = [staged.id for staged, _facts in fresh]
    # Tags a user set before the message was indexed join those of its X-Tags header.
    tags: dict[int, list[str]] = {}
    for message, name in _select_in(conn, "SELECT message, name FROM tags", "message", ids):
        tags.setdefault(message, []).append(name)
    conn.executemany(
        "INSERT INTO raw (id, data) VALUES (?, ?)", [(s.id, s.data) for s, _facts in fresh]
    )
    conn.executemany(_INSERT_MESSAGE, [_message_row(s, f, flags[s.id]) for s, f in fresh])
    conn.executemany(
        "INSERT OR IGNORE INTO tags (message, name) VALUES (?, ?)",
        [(s.id, tag) for s, facts in fresh for tag in facts.tags],
    )
    rows = []
    for staged, facts in fresh:
        names = list(facts.tags)
        lowered = {name.lower() for name in names}
        names += [name for name in tags.get(staged.id, []) if name.lower() not in lowered]
        rows.append(_search_row(staged.id, facts, names))
    conn.executemany(_INSERT_SEARCH, rows)


def _message_row(staged: _Staged, facts: ParsedMessage, read: int) -> tuple[Any, ...]:
    date = None if facts.date is None else int(facts.date.timestamp() * 1000)
    return (
        staged.id,
        staged.uid,
        staged.created,
        read,
        facts.message_id,
        dump_json([facts.sender.name, facts.sender.address]),
        dump_addresses(facts.to),
        dump_addresses(facts.cc),
        dump_addresses(facts.bcc),
        dump_addresses(facts.reply_to),
        facts.return_path,
        facts.subject,
        date,
        facts.size,
        facts.attachments,
        facts.inline,
        facts.snippet,
    )


def _search_row(rowid: int, facts: ParsedMessage, tags: list[str]) -> tuple[Any, ...]:
    return (
        rowid,
        facts.subject,
        address_text([facts.sender]),
        address_text(facts.to),
        address_text(facts.cc),
        address_text(facts.bcc),
        address_text(facts.reply_to),
        facts.message_id,
        ", ".join(tags),
        facts.text,
    )


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.error("mail store: rollback failed: %s", exc)
