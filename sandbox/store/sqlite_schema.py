"""The SQLite store's tables, created or upgraded by ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3

from sandbox.store.base import StoreError

SCHEMA_VERSION = 1

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


def create_search_table(conn: sqlite3.Connection) -> None:
    """Create the empty full-text index.

    The trigram tokenizer makes any substring of 3 or more characters an index lookup,
    case-insensitively, which is how Mailpit's search behaves (``to:example.com``).
    """
    columns = ", ".join(SEARCH_COLUMNS)
    conn.execute(f"CREATE VIRTUAL TABLE search USING fts5({columns}, tokenize='trigram')")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database on ``conn`` to ``SCHEMA_VERSION``; raises ``StoreError`` if newer."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the mail store was written by a newer version (schema {version}, this version "
            f"reads up to {SCHEMA_VERSION}); upgrade, or use another --db file"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _TABLES.split(";"):
            if statement.strip():
                conn.execute(statement)
        create_search_table(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
