"""The PostgreSQL store answers 250 once a message is kept as received, and indexes it after:
what a client was told is stored must be found all the same, by any server on the database."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from mail_sandbox.store import PostgresStore
from mail_sandbox.store.postgres import freshness
from mail_sandbox.store.postgres.rows import envelope_text

WITHIN = 30.0
MESSAGE = (
    b"From: App <app@example.com>\r\nTo: ann@example.com\r\nSubject: {}\r\n"
    b"X-Tags: Reset, urgent\r\n\r\nhello\r\n"
)


def message(subject: str) -> bytes:
    return MESSAGE.replace(b"{}", subject.encode())


@contextmanager
def indexing_held_up(url: str, mailbox: str = "default") -> Iterator[None]:
    """Indexers wait (for the mailbox's row lock) while new mail is still acknowledged."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "SELECT 1 FROM mail_sandbox_mailboxes WHERE name = %s FOR NO KEY UPDATE", (mailbox,)
        )
        yield
        conn.rollback()


def test_a_message_waiting_to_be_indexed_is_found_by_its_id_as_it_will_be_listed(postgres_url):
    with PostgresStore(postgres_url) as store:
        with indexing_held_up(postgres_url):
            uid = store.add(message("reset"), "app@example.com", ["ann@example.com"]).result(
                timeout=WITHIN
            )
            waiting = store.summary(uid)
            assert store.raw(uid) == message("reset")
        listed = store.list().messages
    assert waiting is not None and waiting.subject == "reset"
    assert listed == [waiting]
    assert waiting.tags == ["Reset", "urgent"]


def test_mail_another_server_acknowledged_and_did_not_index_is_listed(postgres_url):
    with PostgresStore(postgres_url) as survivor:
        survivor.list()
        # As a server killed between its 250s and its indexing leaves them.
        with psycopg.connect(postgres_url) as conn:
            for n in range(3):
                conn.execute(
                    "INSERT INTO mail_sandbox_incoming "
                    "(uid, mailbox, created, envelope, keep, data) "
                    "VALUES (%s, 'default', 0, %s, 0, %s)",
                    (f"left{n}", envelope_text("app@example.com", ["ann@example.com"]),
                     message(f"left {n}")),
                )  # fmt: skip
        page = survivor.search("subject:left")
    assert sorted(s.subject for s in page.messages) == ["left 0", "left 1", "left 2"]


def test_mail_acknowledged_before_a_stop_is_listed_after_the_next_start(postgres_url):
    with PostgresStore(postgres_url) as store, indexing_held_up(postgres_url):
        uid = store.add(message("before"), "app@example.com", []).result(timeout=WITHIN)
    with PostgresStore(postgres_url) as store:
        assert [s.id for s in store.list().messages] == [uid]


def test_a_change_by_id_applies_to_a_message_just_acknowledged(postgres_url):
    with PostgresStore(postgres_url) as store:
        with indexing_held_up(postgres_url):
            uid = store.add(message("reset"), "app@example.com", []).result(timeout=WITHIN)
        assert store.set_read([uid], True) == 1
        assert store.summary(uid).read


def test_a_read_stuck_behind_an_index_that_does_not_move_answers_from_the_index(
    postgres_url, monkeypatch, caplog
):
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 0.5)
    with PostgresStore(postgres_url) as store:
        store.add(message("indexed"), "app@example.com", []).result(timeout=WITHIN)
        assert store.list().total == 1
        with indexing_held_up(postgres_url), caplog.at_level(logging.WARNING):
            store.add(message("stuck"), "app@example.com", []).result(timeout=WITHIN)
            assert [s.subject for s in store.list().messages] == ["indexed"]
        assert "the index has not moved" in caplog.text
        assert store.list().total == 2


@pytest.mark.parametrize("kill", [True, False], ids=["killed", "stopped"])
def test_an_indexer_that_dies_is_started_again_and_loses_nothing(postgres_url, kill):
    with PostgresStore(postgres_url) as store:
        store.add(message("first"), "app@example.com", []).result(timeout=WITHIN)
        assert store.list().total == 1
        pid = store._indexer.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        store.add(message("second"), "app@example.com", []).result(timeout=WITHIN)
        assert [s.subject for s in store.list().messages] == ["second", "first"]
        assert store._indexer.pid != pid
