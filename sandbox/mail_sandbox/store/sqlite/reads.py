"""The SQL of reads, and rows as ``Summary`` objects.

Each function reads one mailbox's messages on a reader's connection inside one read transaction
(the store's ``_snapshot``): the mailbox file as ``main``, the incoming file attached as
``incoming``.
Messages acknowledged but not indexed yet are found in the incoming file by ``summary``,
``raw``, ``latest_id`` and the ``after`` of a page.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mail_sandbox.store.contract import Address, Page, Summary
from mail_sandbox.store.match_cache import MatchCache
from mail_sandbox.store.search import Term
from mail_sandbox.store.sqlite.pages import (
    mailbox_state,
    matching,
    page_rows,
    scan_pays,
)
from mail_sandbox.store.sqlite.parse_jobs import parse_incoming
from mail_sandbox.store.sqlite.values import chunks, marks
from mail_sandbox.tags import unique_tags

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SUMMARY_COLUMNS = (
    "m.id, m.uid, m.created, m.read, m.message_id, m.sender, m.to_, m.cc, m.bcc, m.reply_to, "
    "m.return_path, m.subject, m.date, m.size, m.attachments, m.inline, m.snippet"
)


def page(
    conn: sqlite3.Connection,
    cache: MatchCache,
    mailbox: str,
    terms: list[Term],
    start: int,
    limit: int,
    after: str | None,
) -> Page:
    """One page of what ``terms`` match (all: no terms), newest first; ``after`` keeps
    messages stored after that ID (``KeyError`` if there is no such message)."""
    floor = None
    if after is not None:
        # Before anything else reads the mailbox file; see find_rowid.
        floor = find_rowid(conn, after, mailbox)
        if floor is None:
            raise KeyError(after)
    state = mailbox_state(conn)
    everything = matching(conn, cache, mailbox, [], None, state)
    found = everything
    scan = bool(terms) and scan_pays(conn, everything.count)
    if terms or floor is not None:
        found = matching(conn, cache, mailbox, terms, floor, state, scan=scan)
    rows = page_rows(conn, SUMMARY_COLUMNS, mailbox, terms, floor, found, start, limit, scan=scan)
    messages = summaries(conn, rows)
    return Page(everything.count, everything.unread, found.count, found.unread, start, messages)


def summary(conn: sqlite3.Connection, uid: str, mailbox: str) -> Summary | None:
    """The summary of message ``uid``, indexed or not, or None."""
    # The incoming file first: a message leaves it only once the mailbox file has it.
    incoming = incoming_message(conn, uid, mailbox)
    if incoming is not None:
        return incoming_summary(conn, incoming, mailbox)
    sql = f"SELECT {SUMMARY_COLUMNS} FROM messages m WHERE m.uid = ? AND m.mailbox = ?"  # noqa: S608
    found = summaries(conn, conn.execute(sql, (uid, mailbox)).fetchall())
    return found[0] if found else None


def raw(conn: sqlite3.Connection, uid: str, mailbox: str) -> bytes | None:
    """The bytes of message ``uid`` as received, indexed or not, or None."""
    row = conn.execute(
        "SELECT data FROM pending WHERE uid = ? AND mailbox = ?", (uid, mailbox)
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT r.data FROM raw r JOIN messages m ON m.id = r.id "
            "WHERE m.uid = ? AND m.mailbox = ?",
            (uid, mailbox),
        ).fetchone()
    return bytes(row[0]) if row else None


def latest_id(conn: sqlite3.Connection, mailbox: str) -> str | None:
    """The ID of the newest message, indexed or not, or None when there is none."""
    for table in ("pending", "messages"):
        sql = f"SELECT uid FROM {table} WHERE mailbox = ? ORDER BY id DESC LIMIT 1"  # noqa: S608
        row = conn.execute(sql, (mailbox,)).fetchone()
        if row is not None:
            break
    return row[0] if row else None


def all_tags(conn: sqlite3.Connection, mailbox: str) -> list[str]:
    """Every tag in use; the column's NOCASE collation sorts them case-insensitively."""
    rows = conn.execute(
        "SELECT DISTINCT name FROM tags WHERE mailbox = ? ORDER BY name", (mailbox,)
    )
    return [row[0] for row in rows]


def spelled_as_in_use(conn: sqlite3.Connection, names: list[str], mailbox: str) -> list[str]:
    """``names`` each in the spelling of the tag in use that differs only in case, if any: a
    tag is one tag whatever the case it is given in (by a user or an X-Tags header)."""
    spelled = []
    for name in names:
        # The column's NOCASE collation finds the tag in use whatever the case.
        row = conn.execute(
            "SELECT name FROM tags WHERE mailbox = ? AND name = ? LIMIT 1", (mailbox, name)
        ).fetchone()
        spelled.append(row[0] if row else name)
    return spelled


def tag_counts(conn: sqlite3.Connection, mailbox: str) -> dict[str, int]:
    """Messages per tag in use."""
    rows = conn.execute(
        "SELECT name, count(*) FROM tags WHERE mailbox = ? GROUP BY name ORDER BY name",
        (mailbox,),
    )
    return {name: count for name, count in rows}


def find_rowid(conn: sqlite3.Connection, uid: str, mailbox: str) -> int | None:
    """The row id of message ``uid``, indexed or not.

    Reads the incoming file first: a message is removed from it only after the mailbox file
    has it, so a snapshot that misses it there finds it in the mailbox file read next.
    """
    for table in ("pending", "messages"):
        sql = f"SELECT id FROM {table} WHERE uid = ? AND mailbox = ?"  # noqa: S608
        row = conn.execute(sql, (uid, mailbox)).fetchone()
        if row is not None:
            return int(row[0])
    return None


@dataclass(slots=True)
class IncomingMessage:
    """A message acknowledged but not indexed yet, with any tags set on it meanwhile."""

    uid: str
    created: int
    read: bool
    envelope_from: str
    envelope_to: list[str]
    data: bytes
    tags: list[str]


def incoming_message(conn: sqlite3.Connection, uid: str, mailbox: str) -> IncomingMessage | None:
    """Message ``uid`` if it waits in the incoming file."""
    row = conn.execute(
        "SELECT id, created, read, envelope_from, envelope_to, data FROM pending "
        "WHERE uid = ? AND mailbox = ?",
        (uid, mailbox),
    ).fetchone()
    if row is None:
        return None
    tags = [t[0] for t in conn.execute("SELECT name FROM tags WHERE message = ?", (row[0],))]
    return IncomingMessage(
        uid, row[1], bool(row[2]), row[3], json.loads(row[4]), bytes(row[5]), tags
    )


def incoming_summary(conn: sqlite3.Connection, incoming: IncomingMessage, mailbox: str) -> Summary:
    """The summary of a message not indexed yet, read from its bytes as the indexer will."""
    facts = parse_incoming(incoming.data, incoming.envelope_from, incoming.envelope_to)
    facts.tags = spelled_as_in_use(conn, facts.tags, mailbox)
    return Summary.from_facts(
        facts,
        id=incoming.uid,
        read=incoming.read,
        created=_when(incoming.created),
        tags=sorted(unique_tags([*facts.tags, *incoming.tags]), key=str.lower),
    )


def summaries(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[Summary]:
    """Summaries for ``rows`` (in ``SUMMARY_COLUMNS`` order), with their tags."""
    if not rows:
        return []
    tags: dict[int, list[str]] = {}
    rowids = [row[0] for row in rows]
    for chunk in chunks(rowids):
        sql = (
            f"SELECT message, name FROM tags WHERE message IN ({marks(chunk)})"  # noqa: S608
            " ORDER BY message, name"
        )
        for message, name in conn.execute(sql, chunk):
            tags.setdefault(message, []).append(name)
    found = []
    for row in rows:
        sender_name, sender_address = json.loads(row[5])
        found.append(
            Summary(
                id=row[1],
                message_id=row[4],
                read=bool(row[3]),
                sender=Address(sender_name, sender_address),
                to=_load_addresses(row[6]),
                cc=_load_addresses(row[7]),
                bcc=_load_addresses(row[8]),
                reply_to=_load_addresses(row[9]),
                return_path=row[10],
                subject=row[11],
                created=_when(row[2]),
                date=_when(row[12]),
                size=row[13],
                attachments=row[14],
                inline=row[15],
                snippet=row[16],
                tags=tags.get(row[0], []),
            )
        )
    return found


def _load_addresses(text: str) -> list[Address]:
    return [Address(name, address) for name, address in json.loads(text)]


def _when(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)
