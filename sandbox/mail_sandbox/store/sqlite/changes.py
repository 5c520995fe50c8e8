"""The SQL of user changes in one mailbox: read flags, deletes and tags.

Each function runs on the writer's connection inside the writer's transaction (see
``writer``), which holds both files' write locks: the incoming file as ``main``, the mailbox
file attached as ``mailbox``. A message not indexed yet is changed in the incoming file (its
flag) or through the ``tags`` table, which the indexer reads when it takes the message in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from mail_sandbox.store.sqlite.index_rows import delete_rows
from mail_sandbox.store.sqlite.reads import spelled_as_in_use
from mail_sandbox.store.sqlite.schema import create_search_table, newest_id
from mail_sandbox.store.sqlite.values import chunks, marks, possible_ids, readable


def set_read(conn: sqlite3.Connection, mailbox: str, ids: Sequence[str] | None, flag: int) -> int:
    """Flag the given messages (all when ``ids`` is None); returns how many changed."""
    changed = 0
    # A message not indexed yet keeps its flag in the incoming file until it is; one
    # already copied to the mailbox file is flagged there only, and counted once.
    for update in (
        "UPDATE messages SET read = ? WHERE mailbox = ? AND read != ?",
        "UPDATE pending SET read = ? WHERE mailbox = ? AND read != ? AND NOT EXISTS "
        "(SELECT 1 FROM messages m WHERE m.id = pending.id)",
    ):
        if ids is None:
            changed += conn.execute(update, (flag, mailbox, flag)).rowcount
            continue
        for chunk in chunks(possible_ids(ids)):
            sql = f"{update} AND uid IN ({marks(chunk)})"
            changed += conn.execute(sql, (flag, mailbox, flag, *chunk)).rowcount
    return changed


def set_read_matching(
    conn: sqlite3.Connection, conditions: list[str], params: list[object], flag: int
) -> int:
    """Flag the indexed messages matching ``conditions``; returns how many changed."""
    sql = (
        "UPDATE messages SET read = ? WHERE read != ? AND id IN "  # noqa: S608
        f"(SELECT m.id FROM messages m WHERE {' AND '.join(conditions)})"
    )
    return conn.execute(sql, [flag, flag, *params]).rowcount


def delete(conn: sqlite3.Connection, mailbox: str, ids: Sequence[str] | None) -> int:
    """Delete the given messages (all when ``ids`` is None); returns how many went."""
    if ids is None:
        return delete_all(conn, mailbox)
    found = list(rowids(conn, mailbox, possible_ids(ids)).values())
    _delete_rowids(conn, found)
    return len(found)


def delete_matching(conn: sqlite3.Connection, conditions: list[str], params: list[object]) -> int:
    """Delete the indexed messages matching ``conditions``; returns how many went."""
    sql = f"SELECT m.id FROM messages m WHERE {' AND '.join(conditions)}"  # noqa: S608
    found = [row[0] for row in conn.execute(sql, params)]
    _delete_rowids(conn, found)
    return len(found)


def set_tags(
    conn: sqlite3.Connection, mailbox: str, uids: list[str], names: list[str]
) -> list[str]:
    """Give the messages ``uids`` exactly the tags ``names``; returns the IDs that name no
    message (readable, to show), changing nothing when there are any."""
    found = rowids(conn, mailbox, possible_ids(uids))
    missing = [readable(uid) for uid in uids if uid not in found]
    if missing:
        return missing
    spelled = spelled_as_in_use(conn, list(names), mailbox)
    for chunk in chunks(list(found.values())):
        conn.execute(f"DELETE FROM tags WHERE message IN ({marks(chunk)})", chunk)  # noqa: S608
    conn.executemany(
        "INSERT OR IGNORE INTO tags (message, name, mailbox) VALUES (?, ?, ?)",
        [(rowid, name, mailbox) for rowid in found.values() for name in spelled],
    )
    _reindex_tags(conn, list(found.values()))
    return []


def rename_tag(conn: sqlite3.Connection, mailbox: str, name: str, new_name: str) -> tuple[str, int]:
    """Rename tag ``name``: ``("renamed", messages changed)``, else ``("missing", 0)`` when no
    message has it or ``("exists", 0)`` when ``new_name`` is another tag in use."""
    tagged = _tagged(conn, mailbox, name)
    if not tagged:
        return "missing", 0
    if new_name.lower() != name.lower() and _tagged(conn, mailbox, new_name):
        return "exists", 0
    conn.execute(
        "UPDATE tags SET name = ? WHERE mailbox = ? AND name = ?", (new_name, mailbox, name)
    )
    _reindex_tags(conn, tagged)
    return "renamed", len(tagged)


def delete_tag(conn: sqlite3.Connection, mailbox: str, name: str) -> int:
    """Remove tag ``name`` from every message; returns how many had it."""
    tagged = _tagged(conn, mailbox, name)
    conn.execute("DELETE FROM tags WHERE mailbox = ? AND name = ?", (mailbox, name))
    _reindex_tags(conn, tagged)
    return len(tagged)


def rowids(conn: sqlite3.Connection, mailbox: str, uids: Sequence[str]) -> dict[str, int]:
    """Row ids of the messages with these IDs, indexed or not, by ID; unknown IDs are left out."""
    found: dict[str, int] = {}
    for table in ("messages", "pending"):
        for chunk in chunks(list(uids)):
            sql = f"SELECT uid, id FROM {table} WHERE mailbox = ? AND uid IN ({marks(chunk)})"  # noqa: S608
            found.update(conn.execute(sql, (mailbox, *chunk)).fetchall())
    return found


def _delete_rowids(conn: sqlite3.Connection, rowids: list[int]) -> None:
    delete_rows(conn, rowids)
    for chunk in chunks(rowids):
        conn.execute(f"DELETE FROM pending WHERE id IN ({marks(chunk)})", chunk)  # noqa: S608


def delete_all(conn: sqlite3.Connection, mailbox: str) -> int:
    """Delete every message of ``mailbox``, waiting or indexed; returns how many went."""
    # Waiting messages count unless indexed already: those count in the mailbox file, or were
    # counted when they were pruned from it.
    indexed = newest_id(conn, "mailbox")
    count = conn.execute(
        "DELETE FROM pending WHERE mailbox = ? AND id > ?", (mailbox, indexed)
    ).rowcount
    conn.execute("DELETE FROM pending WHERE mailbox = ?", (mailbox,))
    others = conn.execute(
        "SELECT 1 FROM messages WHERE mailbox < ? OR mailbox > ? LIMIT 1", (mailbox, mailbox)
    ).fetchone()
    if others is None:
        count += conn.execute("DELETE FROM messages").rowcount
        conn.execute("DELETE FROM raw")
        conn.execute("DELETE FROM tags")
        # Recreating the index is far cheaper than deleting its rows one by one.
        conn.execute("DROP TABLE mailbox.search")
        create_search_table(conn, "mailbox")
        return count
    found = [
        row[0] for row in conn.execute("SELECT id FROM messages WHERE mailbox = ?", (mailbox,))
    ]
    delete_rows(conn, found)
    # Tags set on messages that were waiting when they went.
    conn.execute("DELETE FROM tags WHERE mailbox = ?", (mailbox,))
    return count + len(found)


def _tagged(conn: sqlite3.Connection, mailbox: str, name: str) -> list[int]:
    """Row ids of the messages with tag ``name`` (any case)."""
    rows = conn.execute("SELECT message FROM tags WHERE mailbox = ? AND name = ?", (mailbox, name))
    return [row[0] for row in rows]


def _reindex_tags(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Bring the search index's tags column of these messages up to date."""
    for chunk in chunks(rowids):
        tags: dict[int, list[str]] = {rowid: [] for rowid in chunk}
        sql = f"SELECT message, name FROM tags WHERE message IN ({marks(chunk)}) ORDER BY name"  # noqa: S608
        for message, name in conn.execute(sql, chunk):
            tags[message].append(name)
        conn.executemany(
            "UPDATE search SET tags = ? WHERE rowid = ?",
            [(", ".join(names), rowid) for rowid, names in tags.items()],
        )
