"""The SQL of reads: pages, single messages and tags of one mailbox.

Each function runs inside one read-only snapshot (``Database.transaction(read_only=True)``),
so the counts of a page and its rows agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from mail_sandbox.store.contract import Page, Summary
from mail_sandbox.store.match_cache import MatchCache
from mail_sandbox.store.postgres.matches import mailbox_state, matching
from mail_sandbox.store.postgres.query import where_clause
from mail_sandbox.store.postgres.rows import (
    SUMMARY_COLUMNS,
    read_envelope,
    summary_of,
    waiting_summary,
)
from mail_sandbox.store.postgres.values import possible_ids
from mail_sandbox.store.search import Term
from mail_sandbox.store.sqlite.parse_jobs import parse_incoming
from mail_sandbox.store.sqlite.values import readable
from mail_sandbox.tags import unique_tags

# PostgreSQL's integers are 64-bit; a client's absurd offset is past the end either way.
_MAX_OFFSET = 2**63 - 1


def page(
    conn: psycopg.Connection,
    cache: MatchCache,
    mailbox: str,
    terms: list[Term],
    start: int,
    limit: int,
    after: str | None,
) -> Page:
    """One page of what ``terms`` match (all: no terms), newest first; ``after`` keeps
    messages stored after that ID (``KeyError`` if there is no such message). The counts are
    ``cache``'s where it has them (see ``matches``)."""
    floor = None
    if after is not None:
        floor = find_id(conn, mailbox, after)
        if floor is None:
            raise KeyError(after)
    state = mailbox_state(conn, mailbox)
    everything = matching(conn, cache, mailbox, (), None, state)
    found = everything
    if terms or floor is not None:
        found = matching(conn, cache, mailbox, terms, floor, state)
    if found.ids is not None:
        rows = _rows_by_id(conn, list(found.ids[start : start + limit]))
    else:
        where, params = where_clause(mailbox, terms, above=floor)
        rows = conn.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM mail_sandbox_messages m WHERE {where} "  # noqa: S608
            "ORDER BY m.id DESC LIMIT %s OFFSET %s",
            [*params, limit, min(start, _MAX_OFFSET)],
        ).fetchall()
    return Page(
        everything.count,
        everything.unread,
        found.count,
        found.unread,
        start,
        summaries(conn, rows),
    )


def _rows_by_id(conn: psycopg.Connection, ids: list[int]) -> list[tuple[Any, ...]]:
    """The rows of messages ``ids``, in that order."""
    if not ids:
        return []
    found = {
        row[0]: row
        for row in conn.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM mail_sandbox_messages m WHERE m.id = ANY(%s)",  # noqa: S608
            (ids,),
        )
    }
    return [found[rowid] for rowid in ids if rowid in found]


def counts(conn: psycopg.Connection, cache: MatchCache, mailbox: str) -> tuple[int, int]:
    """``(total, unread)`` of the whole mailbox."""
    everything = matching(conn, cache, mailbox, (), None, mailbox_state(conn, mailbox))
    return everything.count, everything.unread


def summary(conn: psycopg.Connection, mailbox: str, uid: str) -> Summary | None:
    """The summary of message ``uid``, indexed or still waiting, or None.

    A snapshot holds a message in exactly one of the two tables: the indexer moves it in one
    transaction."""
    if not possible_ids([uid]):
        return None
    rows = conn.execute(
        f"SELECT {SUMMARY_COLUMNS} FROM mail_sandbox_messages m "  # noqa: S608
        "WHERE m.uid = %s AND m.mailbox = %s",
        (uid, mailbox),
    ).fetchall()
    found = summaries(conn, rows)
    if found:
        return found[0]
    row = conn.execute(
        "SELECT created, envelope, data FROM mail_sandbox_incoming WHERE uid = %s AND mailbox = %s",
        (uid, mailbox),
    ).fetchone()
    if row is None:
        return None
    created, envelope, data = row
    sender, recipients = read_envelope(envelope)
    facts = parse_incoming(bytes(data), sender, recipients)
    facts.tags = spelled_as_in_use(conn, mailbox, unique_tags(map(readable, facts.tags)))
    return waiting_summary(uid, mailbox, created, facts)


def raw(conn: psycopg.Connection, mailbox: str, uid: str) -> bytes | None:
    """The bytes of message ``uid`` as received, indexed or still waiting, or None."""
    if not possible_ids([uid]):
        return None
    row = conn.execute(
        "SELECT r.data FROM mail_sandbox_raw r JOIN mail_sandbox_messages m ON m.id = r.id "
        "WHERE m.uid = %s AND m.mailbox = %s UNION ALL "
        "SELECT data FROM mail_sandbox_incoming WHERE uid = %s AND mailbox = %s",
        (uid, mailbox, uid, mailbox),
    ).fetchone()
    return bytes(row[0]) if row else None


def latest_id(conn: psycopg.Connection, mailbox: str) -> str | None:
    """The ID of the newest message, or None when there is none."""
    row = conn.execute(
        "SELECT uid FROM mail_sandbox_messages WHERE mailbox = %s ORDER BY id DESC LIMIT 1",
        (mailbox,),
    ).fetchone()
    return row[0] if row else None


def find_id(conn: psycopg.Connection, mailbox: str, uid: str) -> int | None:
    """The row id of message ``uid``, or None."""
    if not possible_ids([uid]):
        return None
    row = conn.execute(
        "SELECT id FROM mail_sandbox_messages WHERE uid = %s AND mailbox = %s", (uid, mailbox)
    ).fetchone()
    return int(row[0]) if row else None


def all_tags(conn: psycopg.Connection, mailbox: str) -> list[str]:
    """Every tag in use, sorted case-insensitively."""
    return list(tag_counts(conn, mailbox))


def tag_counts(conn: psycopg.Connection, mailbox: str) -> dict[str, int]:
    """Messages per tag in use, by tag sorted case-insensitively (in the spelling in use)."""
    rows = conn.execute(
        "SELECT min(name), count(*) FROM mail_sandbox_tags WHERE mailbox = %s "
        'GROUP BY lower(name) ORDER BY lower(name) COLLATE "C"',
        (mailbox,),
    )
    return {name: count for name, count in rows}


def spelled_as_in_use(conn: psycopg.Connection, mailbox: str, names: Sequence[str]) -> list[str]:
    """``names`` each in the spelling of the tag in use that differs only in case, if any."""
    if not names:
        return []
    rows = conn.execute(
        "SELECT DISTINCT ON (lower(name)) lower(name), name FROM mail_sandbox_tags "
        "WHERE mailbox = %s AND lower(name) = ANY(%s) ORDER BY lower(name), message",
        (mailbox, [name.lower() for name in names]),
    )
    in_use = {folded: name for folded, name in rows}
    return [in_use.get(name.lower(), name) for name in names]


def summaries(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> list[Summary]:
    """Summaries for ``rows`` (in ``SUMMARY_COLUMNS`` order), with their tags."""
    if not rows:
        return []
    tags: dict[int, list[str]] = {}
    for message, name in conn.execute(
        "SELECT message, name FROM mail_sandbox_tags WHERE message = ANY(%s) "
        'ORDER BY message, lower(name) COLLATE "C"',
        ([row[0] for row in rows],),
    ):
        tags.setdefault(message, []).append(name)
    return [summary_of(row, tags.get(row[0], [])) for row in rows]
