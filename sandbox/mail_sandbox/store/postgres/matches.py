"""How many messages a query matches, counted once and then only for what is new.

Counting every match anew costs time in proportion to the mailbox (some 60 ms for a search
matching 100,000 messages), and clients poll the same query over and over. So each query's
counts are remembered (``MatchCache``) with the mailbox's ``generation`` and the newest id they
cover. Every change other than new mail moves the generation in its own transaction, and new
mail in one mailbox gets ids in the order its transactions commit: each takes the mailbox's
row lock before it inserts, and the identity's next values are taken after that. So a snapshot
that sees id N of a mailbox sees every id below N that mailbox will ever hold, and while the
generation stands, what a query matched up to N stays what it matched. A search that matches
few messages also keeps their ids, so that its page is read by id instead of asking the trigram
indexes again (some 10 ms with 100,000 stored, for an address every message shares most of).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from mail_sandbox.store.match_cache import KEPT_IDS, MatchCache, Matches
from mail_sandbox.store.postgres.query import where_clause
from mail_sandbox.store.search import Term

_STATE = (
    "SELECT b.generation, (SELECT coalesce(max(m.id), 0) FROM mail_sandbox_messages m "
    "WHERE m.mailbox = b.name) FROM mail_sandbox_mailboxes b WHERE b.name = %s"
)
_COUNT = "SELECT count(*), count(*) FILTER (WHERE NOT m.read) FROM mail_sandbox_messages m WHERE "


def mailbox_state(conn: psycopg.Connection, mailbox: str) -> tuple[int, int] | None:
    """``(generation, newest id)`` of ``mailbox`` in ``conn``'s snapshot; None when there is no
    such mailbox (deleted meanwhile)."""
    row = conn.execute(_STATE, (mailbox,)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def matching(
    conn: psycopg.Connection,
    cache: MatchCache,
    mailbox: str,
    terms: Sequence[Term],
    floor: int | None,
    state: tuple[int, int] | None,
) -> Matches:
    """How many messages of ``mailbox`` with ids above ``floor`` match ``terms`` (all: no
    terms), and how many of those are unread, in ``conn``'s snapshot at ``state``; with their
    ids, newest first, when a search matches at most ``KEPT_IDS``."""
    if state is None:
        return Matches(0, 0, 0, 0, ())
    generation, newest = state
    key = (mailbox, tuple(terms), floor)
    known = cache.known(key, generation, newest)
    if known is not None and known.upto == newest:
        return known
    above = floor if known is None else max(floor or 0, known.upto)
    where, params = where_clause(mailbox, terms, above=above)
    params.append(newest)
    if terms:
        rows = conn.execute(
            f"SELECT m.id, m.read FROM mail_sandbox_messages m WHERE {where} AND m.id <= %s "  # noqa: S608
            "ORDER BY m.id DESC LIMIT %s",
            [*params, KEPT_IDS + 1],
        ).fetchall()
        if len(rows) <= KEPT_IDS:
            unread = sum(1 for _id, read in rows if not read)
            new = (len(rows), unread, tuple(int(rowid) for rowid, _read in rows))
            return cache.grow(key, known, state, new)
    row = conn.execute(f"{_COUNT}{where} AND m.id <= %s", params).fetchone()
    assert row is not None
    return cache.grow(key, known, state, (int(row[0]), int(row[1]), None))
