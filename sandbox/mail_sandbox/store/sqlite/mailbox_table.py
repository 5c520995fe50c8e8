"""The SQL of the ``mailboxes`` table: which mailboxes exist, their TTL, password and last use.

Reads run on a reader's connection (the mailbox file as ``main``); changes on the writer's,
inside its transaction (the mailbox file attached as ``mailbox``), so that deleting a mailbox
and its mail, waiting or indexed, is one commit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from mail_sandbox.store.sqlite.changes import delete_all

_COLUMNS = "name, created, used, ttl, password"


@dataclass(frozen=True, slots=True)
class MailboxRow:
    """One row of the table, with the mailbox's message counts."""

    name: str
    created: int  # ms since the epoch
    used: int
    ttl: int | None  # seconds
    password: str | None  # a ``mailboxes.hash_password`` hash
    messages: int = 0
    unread: int = 0


def find(conn: sqlite3.Connection, name: str) -> MailboxRow | None:
    """Mailbox ``name`` without its counts, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM mailboxes WHERE name = ?",  # noqa: S608
        (name,),
    ).fetchone()
    return None if row is None else MailboxRow(*row)


def counted(conn: sqlite3.Connection, name: str | None = None) -> list[MailboxRow]:
    """Every mailbox (or just ``name``) with its counts, by name."""
    where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM mailboxes {where} ORDER BY name",  # noqa: S608
        params,
    ).fetchall()
    found = []
    for row in rows:
        total = conn.execute("SELECT count(*) FROM messages WHERE mailbox = ?", (row[0],))
        unread = conn.execute(
            "SELECT count(*) FROM messages WHERE mailbox = ? AND read = 0", (row[0],)
        )
        found.append(MailboxRow(*row, total.fetchone()[0], unread.fetchone()[0]))
    return found


def create(
    conn: sqlite3.Connection, name: str, now_ms: int, ttl: int | None, password: str | None
) -> bool:
    """Add mailbox ``name``; False (changing nothing) when it exists."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO mailboxes (name, created, used, ttl, password) "
        "VALUES (?, ?, ?, ?, ?)",
        (name, now_ms, now_ms, ttl, password),
    )
    return cursor.rowcount == 1


def delete(conn: sqlite3.Connection, name: str) -> int | None:
    """Remove mailbox ``name`` and all its mail: how many messages went, None if it was not."""
    if find(conn, name) is None:
        return None
    count = delete_all(conn, name)
    conn.execute("DELETE FROM mailboxes WHERE name = ?", (name,))
    return count


def touch(conn: sqlite3.Connection, name: str, now_ms: int) -> None:
    """Count mailbox ``name`` as used at ``now_ms``."""
    conn.execute("UPDATE mailboxes SET used = max(used, ?) WHERE name = ?", (now_ms, name))


def expired(conn: sqlite3.Connection, now_ms: int) -> list[str]:
    """Mailboxes whose TTL has run out at ``now_ms``: unused for that long, and no message for
    them waiting to be indexed that arrived within it."""
    rows = conn.execute(
        "SELECT name FROM mailboxes b WHERE ttl IS NOT NULL AND used + ttl * 1000 <= ? "
        "AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.mailbox = b.name "
        "AND p.created + b.ttl * 1000 > ?) ORDER BY name",
        (now_ms, now_ms),
    )
    return [row[0] for row in rows]
