"""The rows one indexed message adds to the mailbox file: raw bytes, summary, tags, index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mail_sandbox.store.contract import Address
from mail_sandbox.store.parse import ParsedMessage
from mail_sandbox.store.sqlite.parse_jobs import ParseJob
from mail_sandbox.store.sqlite.reads import spelled_as_in_use
from mail_sandbox.store.sqlite.values import chunks, dump_json, marks
from mail_sandbox.tags import unique_tags

_INSERT_MESSAGE = (
    "INSERT INTO messages (id, uid, created, read, message_id, sender, to_, cc, bcc, reply_to, "
    "return_path, subject, date, size, attachments, inline, snippet, mailbox) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_SEARCH = (
    "INSERT INTO search (rowid, subject, from_, to_, cc, bcc, reply_to, message_id, tags, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(slots=True)
class IncomingRow:
    """One message as the incoming file holds it (its flag and tags are read apart)."""

    id: int
    uid: str
    created: int
    envelope_from: str
    envelope_to: list[str]
    data: bytes
    mailbox: str

    def job(self) -> ParseJob:
        """What a parser is given for it."""
        return (self.data, self.envelope_from, self.envelope_to)


def select_in(
    conn: sqlite3.Connection, select: str, column: str, ids: list[int]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``select`` whose ``column`` is one of ``ids``."""
    for chunk in chunks(ids):
        yield from conn.execute(f"{select} WHERE {column} IN ({marks(chunk)})", chunk)  # noqa: S608


def insert(
    conn: sqlite3.Connection, fresh: list[tuple[IncomingRow, ParsedMessage]], flags: dict[int, int]
) -> None:
    """Write raw bytes, summary rows, tags and index rows of newly indexed messages."""
    if not fresh:
        return
    ids = [incoming.id for incoming, _facts in fresh]
    # Tags a user set before the message was indexed join those of its X-Tags header.
    tags: dict[int, list[str]] = {}
    for message, name in select_in(conn, "SELECT message, name FROM tags", "message", ids):
        tags.setdefault(message, []).append(name)
    conn.executemany(
        "INSERT INTO raw (id, data) VALUES (?, ?)", [(s.id, s.data) for s, _facts in fresh]
    )
    conn.executemany(_INSERT_MESSAGE, [_message_row(s, f, flags[s.id]) for s, f in fresh])
    # A header's tag already in use in its mailbox (in any case) takes the spelling in use; one
    # new in this chunk in several cases takes the first.
    for mailbox in dict.fromkeys(incoming.mailbox for incoming, _facts in fresh):
        mine = [facts for incoming, facts in fresh if incoming.mailbox == mailbox]
        new = unique_tags(tag for facts in mine for tag in facts.tags)
        spelled = spelled_as_in_use(conn, new, mailbox)
        in_use = dict(zip((t.lower() for t in new), spelled, strict=True))
        for facts in mine:
            facts.tags = [in_use.get(tag.lower(), tag) for tag in facts.tags]
    conn.executemany(
        "INSERT OR IGNORE INTO tags (message, name, mailbox) VALUES (?, ?, ?)",
        [(s.id, tag, s.mailbox) for s, facts in fresh for tag in facts.tags],
    )
    rows = []
    for incoming, facts in fresh:
        names = unique_tags([*facts.tags, *tags.get(incoming.id, [])])
        rows.append(_search_row(incoming.id, facts, names))
    conn.executemany(_INSERT_SEARCH, rows)


def _message_row(incoming: IncomingRow, facts: ParsedMessage, read: int) -> tuple[Any, ...]:
    date = None if facts.date is None else int(facts.date.timestamp() * 1000)
    return (
        incoming.id,
        incoming.uid,
        incoming.created,
        read,
        facts.message_id,
        dump_json([facts.sender.name, facts.sender.address]),
        _dump_addresses(facts.to),
        _dump_addresses(facts.cc),
        _dump_addresses(facts.bcc),
        _dump_addresses(facts.reply_to),
        facts.return_path,
        facts.subject,
        date,
        facts.size,
        facts.attachments,
        facts.inline,
        facts.snippet,
        incoming.mailbox,
    )


def _search_row(rowid: int, facts: ParsedMessage, tags: list[str]) -> tuple[Any, ...]:
    return (
        rowid,
        facts.subject,
        _address_text([facts.sender]),
        _address_text(facts.to),
        _address_text(facts.cc),
        _address_text(facts.bcc),
        _address_text(facts.reply_to),
        facts.message_id,
        ", ".join(tags),
        facts.text,
    )


def _dump_addresses(addresses: list[Address]) -> str:
    """Addresses as a summary column stores them: ``[[name, address], ...]``."""
    return dump_json([[a.name, a.address] for a in addresses])


def _address_text(addresses: list[Address]) -> str:
    """Addresses as people write them, for the index: ``Name <address>, ...``."""
    return ", ".join(
        f"{a.name} <{a.address}>" if a.name else a.address for a in addresses if a.name or a.address
    )


def delete_rows(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Remove every row of these indexed messages from the mailbox file (on ``conn``)."""
    for chunk in chunks(rowids):
        ids = marks(chunk)
        conn.execute(f"DELETE FROM messages WHERE id IN ({ids})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM raw WHERE id IN ({ids})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM tags WHERE message IN ({ids})", chunk)  # noqa: S608
        conn.execute(f"DELETE FROM search WHERE rowid IN ({ids})", chunk)  # noqa: S608
