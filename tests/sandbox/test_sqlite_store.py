"""What only the SQLite store does: its files, locks, disk limits, writer thread and indexer.

What every store promises is tested in ``store_contract``, against this store among others.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime

import pytest

from mail_sandbox.store import NoSuchTagError, SQLiteStore, StoreError, StoreFullError, open_store
from mail_sandbox.store.sqlite.schema import INCOMING_SUFFIX


def message(subject: str, body: str = "hello", to: str = "bob@example.org") -> bytes:
    """A small plain-text message."""
    return (
        f"From: Alice <alice@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    ).encode()


def add(store, raw: bytes, rcpt: str = "bob@example.org") -> str:
    """Store ``raw`` and wait until it is committed; returns its ID."""
    return store.add(raw, "alice@example.com", [rcpt]).result(timeout=10)


def subjects(store, **kwargs) -> list[str]:
    return [s.subject for s in store.list(limit=1000, **kwargs).messages]


def rows_left(store) -> dict[str, int]:
    """Rows per table, read from the file: nothing of a removed message may linger there."""
    with closing(sqlite3.connect(store.path)) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("messages", "raw", "tags", "search")
        }


def test_ids_are_22_characters_of_128_random_bits(store):
    futures = [store.add(message(f"m{i}"), "a@example.com", ["b@example.com"]) for i in range(50)]

    assert all(len(f.result(timeout=10)) == 22 for f in futures)


def test_the_received_time_is_the_clocks_to_the_millisecond():
    received = datetime(2026, 11, 25, 8, 34, 18, 123000, tzinfo=UTC)
    with SQLiteStore(clock=received.timestamp) as store:
        message_id = add(store, message("timed"))

        assert store.summary(message_id).created == received
        assert store.list().messages[0].created == received


def test_pruning_leaves_nothing_of_the_pruned_messages_in_the_file():
    with SQLiteStore(max_messages=3) as store:
        for i in range(5):
            add(store, b"X-Tags: t%d\r\nSubject: prune-me %d\r\n\r\n" % (i, i))

        assert subjects(store) == ["prune-me 4", "prune-me 3", "prune-me 2"]
        assert rows_left(store) == {"messages": 3, "raw": 3, "tags": 3, "search": 3}


def test_deletes_leave_nothing_of_the_deleted_messages_in_the_file(store):
    ids = [add(store, b"X-Tags: t\r\nSubject: subject %d\r\n\r\n" % i) for i in range(4)]

    assert store.delete([ids[1]]) == 1
    assert rows_left(store) == {"messages": 3, "raw": 3, "tags": 3, "search": 3}
    assert store.delete(None) == 3
    assert rows_left(store) == {"messages": 0, "raw": 0, "tags": 0, "search": 0}


def test_info_names_the_file(tmp_path):
    path = str(tmp_path / "mail.db")
    with open_store(path) as store:
        add(store, message("x"))

        assert store.info().location == path


def test_throwaway_store_removes_its_file_on_close():
    store = open_store(":memory:")
    add(store, message("gone"))
    directory = os.path.dirname(store.path)
    assert os.path.exists(store.path)

    store.close()

    assert not os.path.exists(directory)


def test_opening_a_file_that_is_not_a_mail_store_fails_clearly(tmp_path):
    not_db = tmp_path / "notes.txt"
    not_db.write_bytes(b"this is not a database" * 100)
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")

    with pytest.raises(StoreError, match="notes.txt"):
        open_store(str(not_db))
    with pytest.raises(StoreError, match="newer version"):
        open_store(str(newer))


def test_listeners_are_not_told_about_messages_pruned_in_the_same_commit():
    with SQLiteStore(max_messages=2) as store:
        heard: queue.Queue[list[str]] = queue.Queue()
        store.add_listener(heard.put)
        first = add(store, message("m0"))
        assert heard.get(timeout=10) == [first]
        # A change holding the writer makes the next messages queue up into one burst.
        busy, release = threading.Event(), threading.Event()

        def hold(conn) -> None:
            busy.set()
            release.wait(timeout=10)

        holder = threading.Thread(
            target=store.call_writer, args=(hold,), kwargs={"in_transaction": False}
        )
        holder.start()
        assert busy.wait(timeout=10)
        futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(1, 10)]
        release.set()
        holder.join(timeout=10)
        ids = [f.result(timeout=10) for f in futures]

        assert heard.get(timeout=10) == ids[-2:]
        assert subjects(store) == ["m9", "m8"]


def test_locked_database_fails_the_future_and_the_store_recovers(tmp_path, caplog):
    path = str(tmp_path / "mail.db")
    with SQLiteStore(path, busy_timeout_ms=50) as store:
        first = add(store, message("first"))
        # Another process holding the write lock of the file new mail is committed to (a
        # stuck tool, a backup) blocks our writes.
        locker = sqlite3.connect(path + INCOMING_SUFFIX, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            with caplog.at_level(logging.ERROR, logger="mail_sandbox.store.sqlite"):
                blocked = store.add(message("blocked"), "a@x.test", ["b@x.test"])
                with pytest.raises(StoreError, match="locked"):
                    blocked.result(timeout=10)
                with pytest.raises(StoreError, match="locked"):
                    store.set_read(None, True)
            assert [s.id for s in store.list().messages] == [first]
        finally:
            locker.execute("ROLLBACK")
            locker.close()

        add(store, message("second"))
        assert subjects(store) == ["second", "first"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "could not store a message" in errors[0].getMessage()
    assert "locked" in errors[0].getMessage()


def test_full_disk_fails_with_store_full_error_and_reads_keep_working(tmp_path):
    with SQLiteStore(str(tmp_path / "mail.db")) as store:
        first = add(store, message("first"))
        # Test hook: forbid the file to grow, which SQLite reports exactly like a full disk.
        store.call_writer(lambda conn: conn.execute("PRAGMA max_page_count = 1").fetchone())

        big = store.add(message("big", body="x" * 200_000), "a@x.test", ["b@x.test"])
        with pytest.raises(StoreFullError, match="full"):
            big.result(timeout=10)
        assert [s.id for s in store.list().messages] == [first]
        assert store.raw(first) == message("first")

        store.call_writer(
            lambda conn: conn.execute("PRAGMA max_page_count = 1073741823").fetchone()
        )
        add(store, message("big", body="x" * 200_000))
        assert subjects(store) == ["big", "first"]


def test_smoke_speed(tmp_path, capsys):
    """Not a benchmark: a rough figure printed for whoever reads the output, correctness checked."""
    with SQLiteStore(str(tmp_path / "speed.db"), max_messages=0) as store:
        started = time.perf_counter()
        futures = [
            store.add(
                message(f"speed {i}", body=f"body number {i} lorem ipsum"), "a@x.test", ["b@x"]
            )
            for i in range(5000)
        ]
        for future in futures:
            future.result(timeout=120)
        rate = 5000 / (time.perf_counter() - started)

        futures = [
            store.add(message(f"more {i}", body=f"body number {i} lorem"), "a@x.test", ["b@x"])
            for i in range(5000, 20_000)
        ]
        for future in futures:
            future.result(timeout=300)
        started = time.perf_counter()
        page = store.search('"number 12345 lorem"')
        search_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        listing = store.list(start=100, limit=50)
        list_ms = (time.perf_counter() - started) * 1000

    assert [s.subject for s in page.messages] == ["more 12345"]
    assert listing.total == 20_000
    with capsys.disabled():
        print(
            f"\nstore smoke: added {rate:,.0f} msg/s; with 20,000 stored, "
            f"search {search_ms:.1f} ms, list {list_ms:.1f} ms"
        )


@pytest.mark.parametrize(
    "change",
    [
        lambda store: store.delete_tag("orders"),
        lambda store: store.rename_tag("orders", "sales"),
        lambda store: store.delete_matching("subject:fresh"),
        lambda store: store.set_read_matching("subject:fresh", True),
    ],
    ids=["delete tag", "rename tag", "delete by search", "read by search"],
)
def test_a_change_while_the_indexer_commits_new_mail_waits_instead_of_failing(change):
    # Mail not yet acknowledged when the change begins, so the indexer commits it into the
    # mailbox file while the change runs: the change must wait for that commit (whether it
    # then finds the new mail or not), never fail with "database is locked".
    raw = message("fresh").replace(b"\r\n\r\n", b"\r\nX-Tags: orders\r\n\r\n", 1)
    for _ in range(10):
        with SQLiteStore(":memory:", max_messages=0) as store:
            added = [store.add(raw, "alice@example.com", ["bob@example.org"]) for _ in range(3)]
            # NoSuchTagError: none of the three was indexed yet, so nothing had the tag.
            with contextlib.suppress(NoSuchTagError):
                change(store)
            assert all(future.result(timeout=10) for future in added)
