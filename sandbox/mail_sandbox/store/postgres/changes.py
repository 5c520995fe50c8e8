"""The SQL of user changes in one mailbox: read flags, deletes and tags.

Each function runs inside the caller's transaction (``Database.transaction``). Deleting a
message deletes its raw bytes and tags with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from mail_sandbox.store.postgres.reads import spelled_as_in_use
from mail_sandbox.store.postgres.values import possible_ids
from mail_sandbox.store.sqlite.values import readable


def set_read(conn: psycopg.Connection, mailbox: str, ids: Sequence[str] | None, read: bool) -> int:
    """Flag the given messages (all when ``ids`` is None); returns how many changed."""
    sql = "UPDATE mail_sandbox_messages SET read = %s WHERE mailbox = %s AND read <> %s"
    params: list[object] = [read, mailbox, read]
    if ids is not None:
        sql += " AND uid = ANY(%s)"
        params.append(possible_ids(ids))
    return conn.execute(sql, params).rowcount  # noqa: S608


def set_read_matching(
    conn: psycopg.Connection, where: str, params: list[object], read: bool
) -> int:
    """Flag the messages matching ``where`` (see ``query``); returns how many changed."""
    sql = f"UPDATE mail_sandbox_messages m SET read = %s WHERE m.read <> %s AND {where}"  # noqa: S608
    return conn.execute(sql, [read, read, *params]).rowcount


def delete(conn: psycopg.Connection, mailbox: str, ids: Sequence[str] | None) -> int:
    """Delete the given messages (all when ``ids`` is None); returns how many went."""
    sql = "DELETE FROM mail_sandbox_messages WHERE mailbox = %s"
    params: list[object] = [mailbox]
    if ids is not None:
        sql += " AND uid = ANY(%s)"
        params.append(possible_ids(ids))
    return conn.execute(sql, params).rowcount  # noqa: S608


def delete_matching(conn: psycopg.Connection, where: str, params: list[object]) -> int:
    """Delete the messages matching ``where`` (see ``query``); returns how many went."""
    sql = f"DELETE FROM mail_sandbox_messages m WHERE {where}"  # noqa: S608
    return conn.execute(sql, params).rowcount


def set_tags(
    conn: psycopg.Connection, mailbox: str, uids: list[str], names: list[str]
) -> list[str]:
    """Give the messages ``uids`` exactly the tags ``names``; returns the IDs that name no
    message (readable, to show), changing nothing when there are any."""
    rows = conn.execute(
        "SELECT uid, id FROM mail_sandbox_messages WHERE mailbox = %s AND uid = ANY(%s) FOR UPDATE",
        (mailbox, possible_ids(uids)),
    ).fetchall()
    found = dict(rows)
    missing = [
        readable(uid) if isinstance(uid, str) else repr(uid) for uid in uids if uid not in found
    ]
    if missing:
        return missing
    ids = list(found.values())
    spelled = spelled_as_in_use(conn, mailbox, names)
    conn.execute("DELETE FROM mail_sandbox_tags WHERE message = ANY(%s)", (ids,))
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO mail_sandbox_tags (message, mailbox, name) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [(rowid, mailbox, name) for rowid in ids for name in spelled],
        )
    return []


def rename_tag(conn: psycopg.Connection, mailbox: str, name: str, new_name: str) -> tuple[str, int]:
    """Rename tag ``name``: ``("renamed", messages changed)``, else ``("missing", 0)`` when no
    message has it or ``("exists", 0)`` when ``new_name`` is another tag in use."""
    tagged = _tagged(conn, mailbox, name)
    if not tagged:
        return "missing", 0
    if new_name.lower() != name.lower() and _tagged(conn, mailbox, new_name):
        return "exists", 0
    conn.execute(
        "UPDATE mail_sandbox_tags SET name = %s WHERE mailbox = %s AND lower(name) = lower(%s)",
        (new_name, mailbox, name),
    )
    return "renamed", tagged


def delete_tag(conn: psycopg.Connection, mailbox: str, name: str) -> int:
    """Remove tag ``name`` from every message; returns how many had it."""
    return conn.execute(
        "DELETE FROM mail_sandbox_tags WHERE mailbox = %s AND lower(name) = lower(%s)",
        (mailbox, name),
    ).rowcount


def _tagged(conn: psycopg.Connection, mailbox: str, name: str) -> int:
    """How many messages have tag ``name`` (any case)."""
    row = conn.execute(
        "SELECT count(*) FROM mail_sandbox_tags WHERE mailbox = %s AND lower(name) = lower(%s)",
        (mailbox, name),
    ).fetchone()
    return int(row[0]) if row else 0
