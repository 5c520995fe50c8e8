"""One step of indexing: messages waiting in ``mail_sandbox_incoming`` become listed and
searchable, in one transaction.

A step locks the mailboxes it will write to before it claims their waiting messages, the order
in which every change and every deletion of a mailbox takes its locks, so that none waits for
another holding what it wants; holding the mailbox's row lock while inserting also gives a
mailbox's messages their ids in commit order (see ``matches``). Messages are claimed with
``SKIP LOCKED``, so the indexers of several servers on one database share the work, and a
killed server's claim is released with its transaction, for another to take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from mail_sandbox.store.parse import ParsedMessage
from mail_sandbox.store.postgres import mailbox_rows
from mail_sandbox.store.postgres.notices import announce
from mail_sandbox.store.postgres.reads import spelled_as_in_use
from mail_sandbox.store.postgres.rows import INSERT_COLUMNS, message_row, read_envelope
from mail_sandbox.store.sqlite.mail_index import Progress
from mail_sandbox.store.sqlite.parse_jobs import parse_incoming
from mail_sandbox.store.sqlite.values import readable
from mail_sandbox.tags import unique_tags

logger = logging.getLogger(__name__)

#: Most messages indexed in one transaction.
CHUNK = 200
_INSERT = (
    f"INSERT INTO mail_sandbox_messages ({INSERT_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(INSERT_COLUMNS.split(',')))}) RETURNING id"
)


@dataclass(slots=True)
class Waiting:
    """A message claimed from ``mail_sandbox_incoming``, and what parsing it found."""

    id: int
    uid: str
    mailbox: str
    created: int
    keep: int  # the accepting server's max_messages
    raw: bytes
    facts: ParsedMessage


def index_step(conn: psycopg.Connection, *, origin: str, upto: int) -> Progress | None:
    """Index up to ``CHUNK`` waiting messages and commit; None when none waits (or all that
    wait are claimed by other indexers). ``upto`` is the newest id indexed so far; the
    progress says which messages became searchable, oldest first, and what pruning removed.
    Announces the new messages to every server as ``origin``."""
    with conn.transaction():
        mailboxes = _mailboxes_waiting(conn)
        if not mailboxes:
            return None
        waiting = _claim(conn, mailboxes)
        if not waiting:
            return None
        _insert(conn, waiting)
        pruned = _prune(conn, {w.mailbox: w.keep for w in waiting})
        conn.execute(
            "DELETE FROM mail_sandbox_incoming WHERE id = ANY(%s)", ([w.id for w in waiting],)
        )
        by_mailbox: dict[str, list[str]] = {}
        for each in waiting:
            by_mailbox.setdefault(each.mailbox, []).append(each.uid)
        # Delivered by PostgreSQL at the commit, to the servers that listen.
        for mailbox, uids in by_mailbox.items():
            announce(conn, origin, mailbox, uids)
    return Progress(
        upto=max(upto, *(w.id for w in waiting)),
        ids=[w.uid for w in waiting],
        mailboxes=[w.mailbox for w in waiting],
        pruned=pruned,
    )


def _mailboxes_waiting(conn: psycopg.Connection) -> list[str]:
    """The mailboxes of the oldest waiting messages, locked (existing ones) in name order."""
    names = conn.execute(
        "SELECT DISTINCT mailbox FROM (SELECT mailbox FROM mail_sandbox_incoming "
        "ORDER BY id LIMIT %s) oldest",
        (CHUNK,),
    ).fetchall()
    if not names:
        return []
    rows = conn.execute(
        "SELECT name FROM mail_sandbox_mailboxes WHERE name = ANY(%s) ORDER BY name "
        "FOR NO KEY UPDATE",
        ([name for (name,) in names],),
    )
    return [name for (name,) in rows]


def _claim(conn: psycopg.Connection, mailboxes: list[str]) -> list[Waiting]:
    """The oldest waiting messages of ``mailboxes`` no other indexer holds, parsed."""
    rows = conn.execute(
        "SELECT id, uid, mailbox, created, envelope, keep, data FROM mail_sandbox_incoming "
        "WHERE mailbox = ANY(%s) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        (mailboxes, CHUNK),
    ).fetchall()
    claimed = []
    for rowid, uid, mailbox, created, envelope, keep, data in rows:
        raw = bytes(data)
        sender, recipients = read_envelope(envelope)
        facts = parse_incoming(raw, sender, recipients)
        claimed.append(Waiting(rowid, uid, mailbox, created, keep, raw, facts))
    return claimed


def _insert(conn: psycopg.Connection, waiting: list[Waiting]) -> None:
    """Insert messages, raw bytes and tags; count each mailbox as used at its newest mail."""
    # A header's tag in use in its mailbox (in any case) takes the spelling in use; one new in
    # this step in several cases takes the first.
    for mailbox in dict.fromkeys(w.mailbox for w in waiting):
        mine = [w.facts for w in waiting if w.mailbox == mailbox]
        new = unique_tags(readable(tag) for facts in mine for tag in facts.tags)
        in_use = dict(
            zip((t.lower() for t in new), spelled_as_in_use(conn, mailbox, new), strict=True)
        )
        for facts in mine:
            facts.tags = [in_use.get(readable(tag).lower(), tag) for tag in facts.tags]
    with conn.cursor() as cursor:
        cursor.executemany(
            _INSERT,
            [message_row(w.uid, w.mailbox, w.created, w.facts) for w in waiting],
            returning=True,
        )
        ids = []
        while True:
            row = cursor.fetchone()
            assert row is not None
            ids.append(row[0])
            if not cursor.nextset():
                break
        cursor.executemany(
            "INSERT INTO mail_sandbox_raw (id, data) VALUES (%s, %s)",
            [(rowid, w.raw) for rowid, w in zip(ids, waiting, strict=True)],
        )
        cursor.executemany(
            "INSERT INTO mail_sandbox_tags (message, mailbox, name) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [
                (rowid, w.mailbox, tag)
                for rowid, w in zip(ids, waiting, strict=True)
                for tag in w.facts.tags
            ],
        )
        newest: dict[str, int] = {}
        for each in waiting:
            newest[each.mailbox] = max(newest.get(each.mailbox, 0), each.created)
        cursor.executemany(
            "UPDATE mail_sandbox_mailboxes SET used = greatest(used, %s) WHERE name = %s",
            [(created, mailbox) for mailbox, created in newest.items()],
        )


def _prune(conn: psycopg.Connection, keep: dict[str, int]) -> dict[str, int]:
    """Keep the newest ``keep[mailbox]`` of each mailbox that got mail (0: all); how many
    went."""
    pruned = {}
    for mailbox, max_messages in keep.items():
        if not max_messages:
            continue
        count = conn.execute(
            "DELETE FROM mail_sandbox_messages WHERE mailbox = %s AND id < ("
            "SELECT id FROM mail_sandbox_messages WHERE mailbox = %s "
            "ORDER BY id DESC OFFSET %s LIMIT 1)",
            (mailbox, mailbox, max_messages - 1),
        ).rowcount
        if count:
            pruned[mailbox] = count
            mailbox_rows.changed(conn, [mailbox])
    return pruned
