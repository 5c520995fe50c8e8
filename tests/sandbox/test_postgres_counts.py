"""The PostgreSQL store remembers each query's counts between requests: what another server
sharing the database changes must show in the next list all the same, and a database made by
the first version of the tables is upgraded in place with its mail."""

from __future__ import annotations

import psycopg

from mail_sandbox.store import PostgresStore
from mail_sandbox.store.postgres.schema import SCHEMA_VERSION

WITHIN = 30.0


def message(subject: str, to: str = "b@example.com") -> bytes:
    return f"From: a@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhi\r\n".encode()


def add(store: PostgresStore, subject: str, to: str = "b@example.com") -> str:
    return store.add(message(subject, to), "a@example.com", [to]).result(timeout=WITHIN)


def counts(store: PostgresStore, query: str = "") -> tuple[int, int, int, int]:
    page = store.search(query) if query else store.list()
    return page.total, page.unread, page.matched, page.matched_unread


def test_counts_one_server_remembers_follow_what_another_changes(postgres_url):
    with PostgresStore(postgres_url) as first, PostgresStore(postgres_url) as second:
        ids = [add(second, f"reset {n}") for n in range(6)]
        other = add(second, "welcome")
        assert counts(first, "subject:reset") == (7, 7, 6, 6)
        second.set_read(ids[:2], True)
        assert counts(first, "subject:reset") == (7, 5, 6, 4)
        second.delete([ids[2]])
        assert counts(first, "subject:reset") == (6, 4, 5, 3)
        second.set_tags([other, ids[3]], ["urgent"])
        assert counts(first, "tag:urgent") == (6, 4, 2, 2)
        second.set_read_matching("subject:welcome", True)
        assert counts(first, "tag:urgent") == (6, 3, 2, 1)
        add(second, "reset again")
        assert counts(first, "subject:reset") == (7, 4, 6, 4)
        assert counts(first) == (7, 4, 7, 4)
        second.delete_matching("subject:reset")
        assert counts(first) == (1, 0, 1, 0)
        assert first.counts() == (1, 0)


def test_counts_follow_pruning_by_the_other_server(postgres_url):
    with (
        PostgresStore(postgres_url) as first,
        PostgresStore(postgres_url, max_messages=3) as second,
    ):
        for n in range(3):
            add(second, f"reset {n}")
        assert counts(first, "subject:reset") == (3, 3, 3, 3)
        add(second, "welcome")
        assert counts(first, "subject:reset") == (3, 3, 2, 2)
        assert [s.subject for s in first.list().messages] == ["welcome", "reset 2", "reset 1"]


def test_a_mailbox_made_again_under_its_old_name_is_counted_afresh(postgres_url):
    with PostgresStore(postgres_url) as store:
        store.create_mailbox("team")
        team = store.mailbox("team")
        team.add(message("old"), "a@example.com", ["b@example.com"]).result(timeout=WITHIN)
        assert team.list().total == 1
        store.delete_mailbox("team")
        store.create_mailbox("team")
        team = store.mailbox("team")
        assert team.list().total == 0
        for subject in ("new 1", "new 2"):
            team.add(message(subject), "a@example.com", ["b@example.com"]).result(timeout=WITHIN)
        assert (team.list().total, team.search("subject:old").matched) == (2, 0)


def test_a_database_of_the_first_schema_is_upgraded_with_its_mail(postgres_url):
    with PostgresStore(postgres_url) as store:
        kept = add(store, "kept")
        store.set_read([kept], True)
    # The tables as the first version made them: no change generations, nothing waiting.
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE mail_sandbox_incoming")
        conn.execute("ALTER TABLE mail_sandbox_mailboxes DROP COLUMN generation")
        conn.execute("DROP SEQUENCE mail_sandbox_generation")
        conn.execute("UPDATE mail_sandbox_schema SET version = 1")
    with PostgresStore(postgres_url) as store:
        assert store.summary(kept).read
        assert counts(store) == (1, 0, 1, 0)
        add(store, "after")
        store.set_read([kept], False)
        assert counts(store) == (2, 2, 2, 2)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM mail_sandbox_schema").fetchone() == (
            SCHEMA_VERSION,
        )
