"""What only the PostgreSQL store has to get right: its schema, made once by whichever server
starts first and refused when newer, and a database that goes away and comes back."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import psycopg
import pytest

from mail_sandbox.store import MessageStore, PostgresStore, StoreError, open_store
from mail_sandbox.store.match_cache import KEPT_IDS
from mail_sandbox.store.postgres.database import AWAY_WAIT_SECONDS, POOL_SIZE, WAIT_SECONDS
from mail_sandbox.store.postgres.flood_pace import FLOOD_RATE, IDLE_CORES, MAX_DEFERRED
from mail_sandbox.store.postgres.schema import SCHEMA_VERSION
from mail_sandbox.store.postgres.writer import BATCH

WITHIN = 30.0


def message(subject: str) -> bytes:
    return f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nhi\r\n".encode()


def add(store: MessageStore, subject: str) -> str:
    return store.add(message(subject), "a@example.com", ["b@example.com"]).result(timeout=WITHIN)


def test_open_store_opens_postgresql_for_a_database_url(postgres_url):
    with open_store(postgres_url) as store:
        assert isinstance(store, PostgresStore)
        message_id = add(store, "hello")
        assert store.info().location == postgres_url
        assert store.summary(message_id).subject == "hello"


def test_stores_opening_an_empty_database_at_once_make_the_schema_once(postgres_url):
    opened: list[MessageStore] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(6, timeout=WITHIN)

    def open_one() -> None:
        barrier.wait()
        try:
            opened.append(open_store(postgres_url))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WITHIN)
    try:
        assert failures == []
        assert len(opened) == 6
        ids = [add(store, f"from store {n}") for n, store in enumerate(opened)]
        # One set of tables: every store sees the mail of all, in one default mailbox.
        for store in opened:
            assert [s.id for s in store.list().messages] == ids[::-1]
            assert [info.name for info in store.mailboxes()] == ["default"]
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute("SELECT version FROM mail_sandbox_schema").fetchall()
        assert rows == [(SCHEMA_VERSION,)]
    finally:
        for store in opened:
            store.close()


def test_a_schema_newer_than_this_version_is_refused(postgres_url):
    with open_store(postgres_url) as store:
        add(store, "kept")
        assert store.list().total == 1  # indexed, not only acknowledged
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE mail_sandbox_schema SET version = %s", (SCHEMA_VERSION + 1,))

    with pytest.raises(
        StoreError, match=f"newer version of mail-sandbox.*schema {SCHEMA_VERSION + 1}"
    ):
        open_store(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        count = conn.execute("SELECT count(*) FROM mail_sandbox_messages").fetchone()
    assert count == (1,)


def test_an_unreachable_database_is_a_store_error_when_opening():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.
    with pytest.raises(StoreError, match=f"cannot open the mail store at .*127.0.0.1:{port}"):
        open_store(f"postgresql://postgres:secret@127.0.0.1:{port}/mail")


def test_the_password_of_the_url_is_not_shown(cluster, postgres_url):
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@")
    with open_store(with_password) as store:
        assert "hunter2" not in store.info().location
        assert "hunter2" not in repr(store)


def test_calls_fail_while_the_database_is_away_and_work_once_it_is_back(
    cluster, postgres_url, caplog
):
    store = open_store(postgres_url)
    try:
        kept = add(store, "before")
        cluster.pg_ctl("stop", "-m", "fast")
        try:
            with caplog.at_level(logging.ERROR, logger="mail_sandbox.store"):
                with pytest.raises(StoreError):
                    store.list()
                with pytest.raises(StoreError):
                    store.summary(kept)
                failed = store.add(message("while away"), "a@example.com", ["b@example.com"])
                with pytest.raises(StoreError):
                    failed.result(timeout=WITHIN)
            said = [r for r in caplog.records if r.name.startswith("mail_sandbox.store")]
            assert len(said) == 1, [r.getMessage() for r in said]
            assert "unreachable" in said[0].getMessage()
        finally:
            cluster.pg_ctl("start")
        page = _when_back(store)
        assert [s.id for s in page.messages] == [kept]
        later = add(store, "after")
        assert [s.subject for s in store.list().messages] == ["after", "before"]
        assert store.summary(later).subject == "after"
    finally:
        store.close()


def _when_back(store: MessageStore):
    """The first listing that works once the database is back (the pool reconnects)."""
    deadline = time.monotonic() + WITHIN
    while True:
        try:
            return store.list()
        except StoreError:
            if time.monotonic() > deadline:
                raise


def test_the_documented_limits_are_the_ones_in_force():
    text = " ".join((Path(__file__).parents[2] / "docs" / "store.md").read_text().split())
    assert f"up to {BATCH} at a time" in text
    assert f"a pool of up to {POOL_SIZE} connections" in text
    assert f"after at most {WAIT_SECONDS:g} seconds" in text
    assert f"({AWAY_WAIT_SECONDS:g} second while the database is known to be away)" in text
    assert f"in a flood ({FLOOD_RATE} messages a second or more)" in text
    assert "less than one and a half cores idle" in text and IDLE_CORES == 1.5
    assert f"once {MAX_DEFERRED:,} messages wait" in text
    assert f"A search matching up to {KEPT_IDS:,} messages also keeps their IDs" in text


def test_a_message_given_up_before_its_commit_is_skipped_and_the_rest_stored(postgres_url):
    with open_store(postgres_url) as store, psycopg.connect(postgres_url) as locker:
        store.mailboxes()  # the schema is made
        # Holding the default mailbox's row keeps the writer's next commit waiting.
        locker.execute("SELECT 1 FROM mail_sandbox_mailboxes WHERE name = 'default' FOR UPDATE")
        first = store.add(message("first"), "a@example.com", ["b@example.com"])
        deadline = time.monotonic() + WITHIN
        with psycopg.connect(postgres_url, autocommit=True) as watcher:
            while not watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone():
                assert time.monotonic() < deadline, "the writer never waited for the lock"
        given_up = store.add(message("given up"), "a@example.com", ["b@example.com"])
        assert given_up.cancel()
        locker.rollback()
        first_id = first.result(timeout=WITHIN)
        after = add(store, "after")
        assert [s.id for s in store.list().messages] == [after, first_id]
