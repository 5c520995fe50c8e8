"""The SQL of the ``mail_sandbox_mailboxes`` table: which mailboxes exist, their TTL, password
and last use (ms since the epoch, as the TTL counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

_COLUMNS = "b.name, b.created, b.used, b.ttl, b.password"


@dataclass(frozen=True, slots=True)
class MailboxRow:
    """One row of the table, with the mailbox's message counts."""

    name: str
    created: int
    used: int
    ttl: int | None  # seconds
    password: str | None  # a ``mailboxes.hash_password`` hash
    messages: int = 0
    unread: int = 0


def find(conn: psycopg.Connection, name: str) -> MailboxRow | None:
    """Mailbox ``name`` without its counts, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM mail_sandbox_mailboxes b WHERE b.name = %s",  # noqa: S608
        (name,),
    ).fetchone()
    return None if row is None else MailboxRow(*row)


def counted(conn: psycopg.Connection, name: str | None = None) -> list[MailboxRow]:
    """Every mailbox (or just ``name``) with its counts."""
    where, params = ("WHERE b.name = %s", [name]) if name is not None else ("", [])
    rows = conn.execute(
        f"SELECT {_COLUMNS}, "  # noqa: S608
        "(SELECT count(*) FROM mail_sandbox_messages m WHERE m.mailbox = b.name), "
        "(SELECT count(*) FROM mail_sandbox_messages m WHERE m.mailbox = b.name AND NOT m.read) "
        f"FROM mail_sandbox_mailboxes b {where}",
        params,
    ).fetchall()
    return [MailboxRow(*row) for row in rows]


def create(
    conn: psycopg.Connection, name: str, now_ms: int, ttl: int | None, password: str | None
) -> bool:
    """Add mailbox ``name``; False (changing nothing) when it exists."""
    cursor = conn.execute(
        "INSERT INTO mail_sandbox_mailboxes (name, created, used, ttl, password) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
        (name, now_ms, now_ms, ttl, password),
    )
    return cursor.rowcount == 1


def delete(conn: psycopg.Connection, name: str) -> int | None:
    """Remove mailbox ``name`` and all its mail: how many messages went, None if it was not."""
    found = conn.execute(
        "SELECT 1 FROM mail_sandbox_mailboxes WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()
    if found is None:
        return None
    count = conn.execute("DELETE FROM mail_sandbox_messages WHERE mailbox = %s", (name,)).rowcount
    waiting = conn.execute("DELETE FROM mail_sandbox_incoming WHERE mailbox = %s", (name,))
    conn.execute("DELETE FROM mail_sandbox_mailboxes WHERE name = %s", (name,))
    return count + waiting.rowcount


def touch(conn: psycopg.Connection, name: str, now_ms: int) -> None:
    """Count mailbox ``name`` as used at ``now_ms``."""
    conn.execute(
        "UPDATE mail_sandbox_mailboxes SET used = greatest(used, %s) WHERE name = %s",
        (now_ms, name),
    )


def changed(conn: psycopg.Connection, names: Sequence[str]) -> None:
    """Note a change to the messages of mailboxes ``names`` other than new mail (a read flag,
    a tag, a deletion), in the caller's transaction: counts remembered of them are stale."""
    conn.execute(
        "UPDATE mail_sandbox_mailboxes SET generation = nextval('mail_sandbox_generation') "
        "WHERE name = ANY(%s)",
        (list(names),),
    )


def expired(conn: psycopg.Connection, now_ms: int) -> list[str]:
    """Mailboxes whose TTL has run out at ``now_ms``, locked for deletion."""
    rows = conn.execute(
        "SELECT name FROM mail_sandbox_mailboxes WHERE ttl IS NOT NULL "
        "AND used + ttl * 1000::bigint <= %s ORDER BY name FOR UPDATE",
        (now_ms,),
    )
    return [row[0] for row in rows]
