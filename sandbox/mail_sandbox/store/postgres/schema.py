"""The PostgreSQL store's tables, created and upgraded by the store itself.

``mail_sandbox_schema`` holds the version the tables are at. Every migration runs in one
transaction that first takes an advisory lock, so that several servers starting at once on an
empty database create the tables once: the others wait for the lock, then find them made.
All names start with ``mail_sandbox_``, so the store can share a database with an application.
"""

from __future__ import annotations

import psycopg

from mail_sandbox.defaults import DEFAULT_MAILBOX
from mail_sandbox.store.contract import StoreError

SCHEMA_VERSION = 2
#: The advisory lock of migrations: "mailsand" as a 64-bit integer, unlikely to be anyone's.
MIGRATION_LOCK = int.from_bytes(b"mailsand", "big")
#: The tables holding mail, whose sizes ``info`` adds up.
TABLES = (
    "mail_sandbox_mailboxes",
    "mail_sandbox_incoming",
    "mail_sandbox_messages",
    "mail_sandbox_raw",
    "mail_sandbox_tags",
)
#: Searchable text columns, each with a trigram index so that ``ILIKE '%x%'`` is an index lookup.
TRIGRAM_COLUMNS = (
    "subject",
    "message_id",
    "from_text",
    "to_text",
    "cc_text",
    "bcc_text",
    "reply_to_text",
    "body",
)

# ``id`` orders messages (newest first is id DESC) and never repeats, so "stored after message
# X" stays true for a client holding an old ID; ``uid`` is the public ID. The summary columns
# (subject, the addresses as JSON, message_id, snippet) are what the list shows and what words
# of 1-2 characters are matched against; the ``*_text`` columns and ``body`` are the
# searchable text. ``exact`` keeps, as JSON, the summary texts that held NUL characters, which
# PostgreSQL text cannot: the columns hold them with spaces instead, as a query's NUL reads.
_VERSION_1 = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE TABLE mail_sandbox_mailboxes (
        name text PRIMARY KEY,
        created bigint NOT NULL,
        used bigint NOT NULL,
        ttl integer,
        password text
    )""",
    """CREATE TABLE mail_sandbox_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uid text NOT NULL UNIQUE,
        mailbox text NOT NULL REFERENCES mail_sandbox_mailboxes (name) ON DELETE CASCADE,
        created bigint NOT NULL,
        read boolean NOT NULL DEFAULT false,
        message_id text NOT NULL,
        sender text NOT NULL,
        to_ text NOT NULL,
        cc text NOT NULL,
        bcc text NOT NULL,
        reply_to text NOT NULL,
        return_path text NOT NULL,
        subject text NOT NULL,
        date bigint,
        size bigint NOT NULL,
        attachments integer NOT NULL,
        inline integer NOT NULL,
        snippet text NOT NULL,
        exact text,
        from_text text NOT NULL,
        to_text text NOT NULL,
        cc_text text NOT NULL,
        bcc_text text NOT NULL,
        reply_to_text text NOT NULL,
        body text NOT NULL
    )""",
    "CREATE INDEX mail_sandbox_messages_mailbox ON mail_sandbox_messages (mailbox, id)",
    "CREATE INDEX mail_sandbox_messages_unread ON mail_sandbox_messages (mailbox, id) "
    "WHERE NOT read",
    *(
        f"CREATE INDEX mail_sandbox_messages_{column}_trgm ON mail_sandbox_messages "
        f"USING gin ({column} gin_trgm_ops)"
        for column in TRIGRAM_COLUMNS
    ),
    # The raw bytes live apart so that listing and counting walk small rows only.
    """CREATE TABLE mail_sandbox_raw (
        id bigint PRIMARY KEY REFERENCES mail_sandbox_messages (id) ON DELETE CASCADE,
        data bytea NOT NULL
    )""",
    """CREATE TABLE mail_sandbox_tags (
        message bigint NOT NULL REFERENCES mail_sandbox_messages (id) ON DELETE CASCADE,
        mailbox text NOT NULL,
        name text NOT NULL
    )""",
    # One tag per message whatever its case.
    "CREATE UNIQUE INDEX mail_sandbox_tags_message ON mail_sandbox_tags (message, lower(name))",
    "CREATE INDEX mail_sandbox_tags_name ON mail_sandbox_tags (mailbox, lower(name))",
)

# ``generation`` changes (to a value never given out before, from one sequence) in the
# transaction of every change to a mailbox's messages other than new mail: read flags, tags,
# deletions, pruning. Counts remembered along with it stay right for as long as it stands
# (``matches``); a mailbox deleted and made again starts at a new value, never an old one.
# ``mail_sandbox_incoming`` holds messages acknowledged but not indexed yet, as received
# (``envelope`` is ``[from, [to, ...]]`` as JSON text, which keeps a NUL that jsonb refuses),
# with the ``--max-messages`` of the server that took each (``keep``, 0: no limit), which
# whichever server's indexer moves it into the tables above applies (``index_rows``).
_VERSION_2 = (
    "CREATE SEQUENCE mail_sandbox_generation",
    "ALTER TABLE mail_sandbox_mailboxes ADD COLUMN generation bigint NOT NULL "
    "DEFAULT nextval('mail_sandbox_generation')",
    """CREATE TABLE mail_sandbox_incoming (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uid text NOT NULL,
        mailbox text NOT NULL REFERENCES mail_sandbox_mailboxes (name) ON DELETE CASCADE,
        created bigint NOT NULL,
        envelope text NOT NULL,
        keep bigint NOT NULL,
        data bytea NOT NULL
    )""",
    "CREATE INDEX mail_sandbox_incoming_uid ON mail_sandbox_incoming (uid)",
    "CREATE INDEX mail_sandbox_incoming_mailbox ON mail_sandbox_incoming (mailbox, id)",
)


def migrate(conn: psycopg.Connection, created_ms: int) -> None:
    """Bring the database on ``conn`` to ``SCHEMA_VERSION``; ``StoreError`` if it is newer.

    ``created_ms`` is when the default mailbox counts as made, if it is made now.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS mail_sandbox_schema (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM mail_sandbox_schema").fetchone()
        version = 0 if row is None or row[0] is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database was written by a newer version of mail-sandbox (schema {version}, "
                f"this version reads up to {SCHEMA_VERSION}); upgrade, or use another database"
            )
        if version == SCHEMA_VERSION:
            return
        if version < 1:
            for statement in _VERSION_1:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO mail_sandbox_mailboxes (name, created, used) VALUES (%s, %s, %s)",
                (DEFAULT_MAILBOX, created_ms, created_ms),
            )
        if version < 2:
            for statement in _VERSION_2:
                conn.execute(statement)
        conn.execute("DELETE FROM mail_sandbox_schema")
        conn.execute("INSERT INTO mail_sandbox_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
