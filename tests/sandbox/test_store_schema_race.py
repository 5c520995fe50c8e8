"""Servers (or tools) that open a new mailbox file at the same moment all get a working store:
setting up the schema is safe when several connections do it at once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from mail_sandbox.store import SQLiteStore
from mail_sandbox.store.sqlite.schema import (
    INCOMING_SUFFIX,
    SCHEMA_VERSION,
    migrate,
    newest_id,
    prepare_incoming,
)

AT_ONCE = 6
#: Fresh files raced on: a race lost once in a while must still fail the test.
ROUNDS = 5
#: Bounds every wait, so that a thread stuck on a lock fails the test instead of hanging it.
WITHIN = 60.0


def all_at_once(
    work: Callable[[Any], Any], ready: Callable[[], Any] = lambda: None
) -> tuple[list[Any], list[BaseException]]:
    """``work(ready())`` on ``AT_ONCE`` threads, each released once all are ready; their
    results and errors."""
    barrier = threading.Barrier(AT_ONCE, timeout=WITHIN)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            prepared = ready()
            barrier.wait()
            result = work(prepared)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WITHIN)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return results, errors


def test_schema_set_up_on_many_connections_at_once_succeeds_on_each(tmp_path: Path):
    for attempt in range(ROUNDS):
        path = str(tmp_path / f"mail{attempt}.db")

        def connect(path: str = path) -> tuple[sqlite3.Connection, sqlite3.Connection]:
            # Connected before the start, so that all set up the schema at the same moment.
            mailbox = sqlite3.connect(path, isolation_level=None, timeout=WITHIN)
            incoming = sqlite3.connect(path + INCOMING_SUFFIX, isolation_level=None, timeout=WITHIN)
            return mailbox, incoming

        versions, errors = all_at_once(set_up, connect)

        assert errors == []
        assert versions == [SCHEMA_VERSION] * AT_ONCE


def set_up(connections: tuple[sqlite3.Connection, sqlite3.Connection]) -> int:
    """The schema of a mailbox and its incoming file, as a store sets it up; the version."""
    mailbox, incoming = connections
    with closing(mailbox), closing(incoming):
        migrate(mailbox, 0)
        prepare_incoming(incoming, newest_id(mailbox))
        return mailbox.execute("PRAGMA user_version").fetchone()[0]


def test_stores_opened_at_once_on_a_new_file_all_work(tmp_path: Path):
    path = str(tmp_path / "mail.db")
    stores, errors = all_at_once(lambda _: SQLiteStore(path, index_in_child_process=False))
    try:
        assert errors == []
        ids = [
            store.add(f"Subject: from {n}\r\n\r\nhi\r\n".encode(), "a@example.com", ["b@x.org"])
            for n, store in enumerate(stores)
        ]
        stored = [future.result(timeout=WITHIN) for future in ids]
        for store, own in zip(stores, stored, strict=True):
            # Each finds every message, and lists its own (the others' may wait for the one
            # indexer of the mailbox).
            assert all(store.summary(message_id) is not None for message_id in stored)
            assert own in {m.id for m in store.list().messages}
    finally:
        for store in stores:
            store.close()
