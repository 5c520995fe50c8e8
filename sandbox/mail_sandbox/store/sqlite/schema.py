"""The SQLite store's tables, created or upgraded by ``PRAGMA user_version``.

A mailbox is two files. The mailbox file (``PATH``) holds every indexed message: its raw bytes,
summary row, tags and full-text index. The incoming file (``PATH-incoming``) holds messages
acknowledged but not indexed yet; the SMTP side writes only there, so the indexer's long
transactions on the mailbox file never make a 250 wait (see ``indexer``).
"""

from __future__ import annotations

import sqlite3

from mail_sandbox.defaults import DEFAULT_MAILBOX
from mail_sandbox.store.contract import StoreError

#: Version 2 receives mail through the incoming file. Version 1 files (no incoming file) are
#: upgraded in place; the bump keeps an older version, which would not see mail waiting in the
#: incoming file, from opening a version 2 mailbox. Version 3 adds the change generation,
#: version 4 the mailboxes (and version 2 of the incoming file, the mailbox of a waiting message).
SCHEMA_VERSION = 4
INCOMING_VERSION = 2
INCOMING_SUFFIX = "-incoming"

#: Columns of the full-text index, in order; its rowid is ``messages.id``.
SEARCH_COLUMNS = (
    "subject",
    "from_",
    "to_",
    "cc",
    "bcc",
    "reply_to",
    "message_id",
    "tags",
    "body",
)

# The raw bytes live in their own table so that listing and counting walk small rows only.
# AUTOINCREMENT keeps ids rising even after the newest message is deleted, so "stored after
# message X" stays true for clients holding an old ID.
_TABLES = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    to_ TEXT NOT NULL,
    cc TEXT NOT NULL,
    bcc TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    return_path TEXT NOT NULL,
    subject TEXT NOT NULL,
    date INTEGER,
    size INTEGER NOT NULL,
    attachments INTEGER NOT NULL,
    inline INTEGER NOT NULL,
    snippet TEXT NOT NULL
);
CREATE INDEX messages_unread ON messages (id) WHERE read = 0;
CREATE TABLE raw (
    id INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE tags (
    message INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (message, name)
) WITHOUT ROWID;
CREATE INDEX tags_name ON tags (name);
"""

# One row: raised by every change to messages already indexed (flags, tags, deletions,
# pruning), in the same transaction, so a reader can tell whether counts it remembers from an
# earlier snapshot still hold (``pages``).
_CHANGES_TABLE = """
CREATE TABLE changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
)
"""


# Every message and tag belongs to one mailbox; the mail kept before there were mailboxes is the
# default mailbox's. ``used`` (ms since the epoch) is the last delivery or use, which a TTL
# counts from.
_MAILBOXES = (
    "ALTER TABLE messages ADD COLUMN mailbox TEXT NOT NULL DEFAULT 'default'",
    "ALTER TABLE tags ADD COLUMN mailbox TEXT NOT NULL DEFAULT 'default'",
    "DROP INDEX messages_unread",
    "CREATE INDEX messages_unread ON messages (mailbox, id) WHERE read = 0",
    "CREATE INDEX messages_mailbox ON messages (mailbox, id)",
    "DROP INDEX tags_name",
    "CREATE INDEX tags_name ON tags (mailbox, name)",
    """CREATE TABLE mailboxes (
        name TEXT PRIMARY KEY,
        created INTEGER NOT NULL,
        used INTEGER NOT NULL,
        ttl INTEGER,
        password TEXT
    )""",
)


def create_search_table(conn: sqlite3.Connection, schema: str = "main") -> None:
    """Create the empty full-text index in the database ``schema`` of ``conn``.

    The trigram tokenizer makes any substring of 3 or more characters an index lookup,
    case-insensitively, which is how Mailpit's search behaves (``to:example.com``).
    """
    columns = ", ".join(SEARCH_COLUMNS)
    conn.execute(f"CREATE VIRTUAL TABLE {schema}.search USING fts5({columns}, tokenize='trigram')")


def refuse_unusable(conn: sqlite3.Connection) -> None:
    """Raise ``StoreError`` unless the file on ``conn`` is a mail store this version reads, or
    still empty.

    Reads only: a file given by mistake (a text file, another program's database, a mailbox of
    a newer version) must be left exactly as it was, not switched to WAL mode or given our
    tables. SQLite itself refuses a file that is not a database on the first read, with "file
    is not a database".
    """
    # One snapshot: another store may be setting up this very file meanwhile.
    conn.execute("BEGIN")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
    finally:
        conn.execute("ROLLBACK")
    _refuse_newer(version, SCHEMA_VERSION)
    if version == 0 and tables:
        raise StoreError(
            "it is an SQLite database of another program, not a mail store; use another --db file"
        )


def migrate(conn: sqlite3.Connection, created_ms: int) -> None:
    """Bring the mailbox file on ``conn`` to ``SCHEMA_VERSION``; raises ``StoreError`` if newer.

    ``created_ms`` is the time the default mailbox counts as created when it is new.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    _refuse_newer(version, SCHEMA_VERSION)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process opening the same new file may
        # have set it up meanwhile, and its tables must not be created twice.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        _refuse_newer(version, SCHEMA_VERSION)
        if version == 0:
            for statement in _TABLES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            create_search_table(conn)
        # From 1 to 2 the mailbox file's tables stay as they are: only the incoming file is new.
        if version < 3:
            conn.execute(_CHANGES_TABLE)
            conn.execute("INSERT INTO changes (id, generation) VALUES (1, 0)")
        if version < 4:
            for statement in _MAILBOXES:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO mailboxes (name, created, used) VALUES (?, ?, ?)",
                (DEFAULT_MAILBOX, created_ms, created_ms),
            )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# The incoming file's one table: ``pending`` in this package's SQL always means it (a new name
# would take a schema upgrade, which older versions could not open).
_INCOMING_TABLE = """
CREATE TABLE pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    envelope_from TEXT NOT NULL,
    envelope_to TEXT NOT NULL,
    data BLOB NOT NULL
)
"""
_INCOMING_MAILBOXES = (
    "ALTER TABLE pending ADD COLUMN mailbox TEXT NOT NULL DEFAULT 'default'",
    "CREATE INDEX pending_mailbox ON pending (mailbox, id)",
)


def prepare_incoming(conn: sqlite3.Connection, newest_id: int) -> None:
    """Create the incoming file's table on ``conn`` and keep its ids above ``newest_id``.

    Every message gets its id here, before it is indexed, so the incoming table's
    AUTOINCREMENT counter is the mailbox's: it starts above the newest id the mailbox file
    ever held (``newest_id``), which matters when the incoming file is new or was removed.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Under the write lock, so that two stores opening a new file create its table once.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        _refuse_newer(version, INCOMING_VERSION)
        if version == 0:
            conn.execute(_INCOMING_TABLE)
        if version < 2:
            for statement in _INCOMING_MAILBOXES:
                conn.execute(statement)
        if version < INCOMING_VERSION:
            conn.execute(f"PRAGMA user_version = {INCOMING_VERSION}")
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'pending'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('pending', ?)", (newest_id,)
            )
        elif row[0] < newest_id:
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'pending'", (newest_id,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def bump_generation(conn: sqlite3.Connection, schema: str = "main") -> None:
    """Record, inside the caller's transaction, that indexed messages changed."""
    conn.execute(_BUMP[schema])


_BUMP = {
    schema: f"UPDATE {schema}.changes SET generation = generation + 1"  # noqa: S608
    for schema in ("main", "mailbox")
}


def newest_id(conn: sqlite3.Connection, schema: str = "main") -> int:
    """The highest message id the mailbox file (database ``schema`` of ``conn``) ever held, 0
    when none.

    The indexer adds messages in id order, so a message still in the incoming file with an id
    up to this one has been indexed already (and may since have been pruned or deleted): it
    waits there only to be removed.
    """
    row = conn.execute(_NEWEST[schema]).fetchone()
    return int(row[0]) if row else 0


_NEWEST = {
    schema: f"SELECT seq FROM {schema}.sqlite_sequence WHERE name = 'messages'"  # noqa: S608
    for schema in ("main", "mailbox")
}


def _refuse_newer(version: int, supported: int) -> None:
    if version > supported:
        raise StoreError(
            f"it was written by a newer version of mail-sandbox (schema {version}, this "
            f"version reads up to {supported}); upgrade, or use another --db file"
        )
