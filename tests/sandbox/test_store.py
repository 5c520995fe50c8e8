"""The SQLite mail store: what is kept, listed, flagged, deleted and survives."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from mail_sandbox.store import (
    Address,
    NoSuchTagError,
    SQLiteStore,
    StoreError,
    StoreFullError,
    Summary,
    open_store,
)
from mail_sandbox.store.sqlite_schema import INCOMING_SUFFIX


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


RAW_SAMPLES = {
    "CRLF": b"Subject: crlf\r\n\r\nline one\r\nline two\r\n",
    "bare LF": b"Subject: lf\n\nline one\nline two\n",
    "8-bit": "Subject: Grüße\r\n\r\nK\u00f6ln \u2713\r\n".encode() + b"\xff\xfe latin \xe9",
    "NUL bytes": b"Subject: nul\r\n\r\n\x00body\x00\r\n\x00",
    "no final newline": b"Subject: end\r\n\r\nno newline",
    "empty": b"",
    "every byte": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("raw", RAW_SAMPLES.values(), ids=RAW_SAMPLES.keys())
def test_raw_bytes_come_back_exactly(store, raw):
    message_id = add(store, raw)

    assert store.raw(message_id) == raw
    assert store.summary(message_id).size == len(raw)


def test_summary_holds_what_the_list_shows():
    received = datetime(2026, 11, 25, 8, 34, 18, 123000, tzinfo=UTC)
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?J=C3=B6rg?= <joerg@example.de>"
    msg["To"] = "Bob <bob@example.org>"
    msg["Cc"] = "carol@example.net"
    msg["Reply-To"] = "replies@example.com"
    msg["Subject"] = "Quarterly report"
    msg["Date"] = "Tue, 25 Nov 2025 09:34:18 +0100"
    msg["Message-ID"] = "<report-1@example.com>"
    msg["X-Tags"] = "urgent, Finance"
    msg.set_content("The numbers are up.")
    msg.add_alternative("<p>The numbers are up. <img src='cid:logo'></p>", subtype="html")
    msg.get_payload()[1].add_related(b"GIF89a", "image", "gif", cid="<logo>")
    msg.add_attachment(b"1,2", maintype="text", subtype="csv", filename="n.csv")
    with SQLiteStore(clock=received.timestamp) as store:
        message_id = store.add(
            msg.as_bytes(), "bounce@example.de", ["bob@example.org", "secret@example.com"]
        ).result(timeout=10)
        listed = store.list().messages[0]

    assert listed == store_summary_expected(message_id, received, len(msg.as_bytes()))


def store_summary_expected(message_id: str, received: datetime, size: int) -> Summary:
    return Summary(
        id=message_id,
        message_id="report-1@example.com",
        read=False,
        sender=Address("Jörg", "joerg@example.de"),
        to=[Address("Bob", "bob@example.org")],
        cc=[Address("", "carol@example.net")],
        bcc=[Address("", "secret@example.com")],
        reply_to=[Address("", "replies@example.com")],
        return_path="bounce@example.de",
        subject="Quarterly report",
        created=received,
        date=datetime(2025, 11, 25, 8, 34, 18, tzinfo=UTC),
        size=size,
        attachments=1,
        inline=1,
        snippet="The numbers are up.",
        tags=["Finance", "urgent"],
    )


MALFORMED = {
    "empty": (b"", ""),
    "no headers": (b"only a body\r\n", ""),
    "NUL in subject": (b"Subject: a\x00b\r\n\r\nx", "a\x00b"),
    "invalid UTF-8": (b"Subject: caf\xe9\r\nFrom: \xff\xfe\r\n\r\n\xff", "caf\ufffd"),
    "bad encoded-word": (b"Subject: =?utf-8?b?***?= =?nope?q?ok?=\r\n\r\n", "ok"),
    "broken boundary": (
        b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--y\r\nhi\r\n",
        "parts",
    ),
    "bad base64": (b"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@", "b64"),
}


def test_malformed_messages_are_stored_and_listed_with_what_could_be_read(store):
    ids = {name: add(store, raw) for name, (raw, _subject) in MALFORMED.items()}
    listed = {s.id: s for s in store.list().messages}

    for name, (raw, subject) in MALFORMED.items():
        assert listed[ids[name]].subject == subject, name
        assert store.raw(ids[name]) == raw, name
    assert store.counts() == (len(MALFORMED), len(MALFORMED))


def test_ids_are_unique_22_character_url_safe_strings(store):
    futures = [store.add(message(f"m{i}"), "a@example.com", ["b@example.com"]) for i in range(50)]
    ids = [f.result(timeout=10) for f in futures]

    assert len(set(ids)) == 50
    allowed = set(string.ascii_letters + string.digits + "-_")
    assert all(len(i) == 22 and set(i) <= allowed for i in ids)


def test_list_is_newest_first_with_paging_and_latest_id(store):
    assert store.latest_id() is None
    ids = [add(store, message(f"m{i}")) for i in range(5)]

    page = store.list(start=1, limit=2)
    assert [s.subject for s in page.messages] == ["m3", "m2"]
    assert (page.total, page.matched, page.start) == (5, 5, 1)
    assert store.latest_id() == ids[-1]
    assert store.list(start=10).messages == []


def test_page_size_is_capped_at_1000(store):
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(1001)]
    for future in futures:
        future.result(timeout=30)

    assert len(store.list(limit=5000).messages) == 1000
    assert len(store.list(limit=0).messages) == 1


def test_list_after_an_id_has_only_later_messages(store):
    first, second, third = (add(store, message(f"m{i}")) for i in range(3))

    assert [s.id for s in store.list(after=first).messages] == [third, second]
    assert store.list(after=third).messages == []
    with pytest.raises(KeyError):
        store.list(after="unknown")


def test_summary_and_raw_of_unknown_id_are_none(store):
    add(store, message("x"))

    assert store.summary("nope") is None
    assert store.raw("nope") is None


def test_pruning_keeps_the_newest_messages():
    with SQLiteStore(max_messages=3) as store:
        ids = [
            add(store, b"X-Tags: t%d\r\nSubject: prune-me %d\r\n\r\n" % (i, i)) for i in range(5)
        ]

        assert subjects(store) == ["prune-me 4", "prune-me 3", "prune-me 2"]
        assert store.raw(ids[0]) is None
        assert store.summary(ids[1]) is None
        assert [s.id for s in store.search("prune-me").messages] == ids[:1:-1]
        assert store.all_tags() == ["t2", "t3", "t4"]
        assert rows_left(store) == {"messages": 3, "raw": 3, "tags": 3, "search": 3}


def test_pruning_within_one_burst_still_stores_every_message():
    with SQLiteStore(max_messages=2) as store:
        futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(20)]
        ids = [future.result(timeout=10) for future in futures]

        assert subjects(store) == ["m19", "m18"]
        assert store.latest_id() == ids[-1]


def test_zero_max_messages_keeps_everything():
    with SQLiteStore(max_messages=0) as store:
        for i in range(30):
            add(store, message(f"m{i}"))
        assert store.counts() == (30, 30)


def test_set_read_by_ids_and_for_all(store):
    ids = [add(store, message(f"m{i}")) for i in range(4)]

    assert store.set_read([ids[0], ids[1], "unknown"], True) == 2
    assert store.set_read([ids[0]], True) == 0
    assert store.counts() == (4, 2)
    assert store.summary(ids[0]).read is True
    assert store.set_read([], True) == 0
    assert store.set_read(None, True) == 2
    assert store.counts() == (4, 0)
    assert store.set_read(None, False) == 4
    page = store.search("is:unread")
    assert (page.unread, page.matched_unread) == (4, 4)


def test_delete_by_ids_and_all(store):
    ids = [add(store, b"X-Tags: t\r\nSubject: subject %d\r\n\r\n" % i) for i in range(4)]

    assert store.delete([ids[1], "unknown"]) == 1
    assert store.delete([]) == 0
    assert subjects(store) == ["subject 3", "subject 2", "subject 0"]
    assert store.raw(ids[1]) is None
    assert store.search("subject 1").matched == 0
    assert rows_left(store) == {"messages": 3, "raw": 3, "tags": 3, "search": 3}
    assert store.delete(None) == 3
    assert store.counts() == (0, 0)
    assert rows_left(store) == {"messages": 0, "raw": 0, "tags": 0, "search": 0}
    assert store.all_tags() == []
    assert store.latest_id() is None
    assert store.search("subject").matched == 0

    # The index works again after everything was deleted.
    again = add(store, message("subject after"))
    assert [s.id for s in store.search("subject").messages] == [again]


def test_counts_and_tags(store):
    add(store, b"X-Tags: urgent, beta\r\nSubject: a\r\n\r\n")
    add(store, b"X-Tags: Alpha, URGENT\r\nSubject: b\r\n\r\n")
    add(store, b"Subject: c\r\n\r\n")
    store.set_read([store.latest_id()], True)

    assert store.counts() == (3, 2)
    assert store.all_tags() == ["Alpha", "beta", "urgent"]


def test_deleting_the_newest_message_does_not_reuse_its_place(store):
    first = add(store, message("first"))
    second = add(store, message("second"))
    store.delete([second])
    third = add(store, message("third"))

    assert [s.id for s in store.list(after=first).messages] == [third]


def test_reopening_the_file_keeps_the_mailbox(tmp_path):
    path = str(tmp_path / "mail.db")
    with open_store(path) as store:
        first = add(store, message("kept one", body="searchable body"))
        second = add(store, message("kept two"))
        store.set_read([first], True)

    with open_store(path) as store:
        assert subjects(store) == ["kept two", "kept one"]
        assert store.summary(first).read is True
        assert store.raw(second) == message("kept two")
        assert [s.id for s in store.search("searchable").messages] == [first]
        third = add(store, message("kept three"))
        assert [s.id for s in store.list().messages] == [third, second, first]


def test_throwaway_store_removes_its_file_on_close():
    store = open_store(":memory:")
    add(store, message("gone"))
    directory = os.path.dirname(store.path)
    assert os.path.exists(store.path)

    store.close()

    assert not os.path.exists(directory)


def test_close_commits_everything_queued(tmp_path):
    path = str(tmp_path / "mail.db")
    store = open_store(path)
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(200)]
    store.close()

    assert all(f.done() and f.exception() is None for f in futures)
    with open_store(path) as reopened:
        assert reopened.counts() == (200, 200)


def test_closed_store_refuses_work(store):
    add(store, message("x"))
    store.close()

    with pytest.raises(StoreError, match="closed"):
        store.add(message("late"), "a@x.test", ["b@x.test"]).result(timeout=10)
    with pytest.raises(StoreError):
        store.list()
    with pytest.raises(StoreError):
        store.delete(None)


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


def test_concurrent_adds_and_reads(store):
    writers, per_writer = 4, 100
    done = threading.Event()

    def write(writer: int) -> list[str]:
        futures = [
            store.add(message(f"w{writer} m{i}"), "a@x.test", ["b@x.test"])
            for i in range(per_writer)
        ]
        return [f.result(timeout=60) for f in futures]

    def read() -> int:
        reads, last_total = 0, 0
        while not done.is_set() or reads == 0:
            page = store.list(limit=10)
            # Each read sees one consistent snapshot, and the mailbox only grows.
            assert page.total >= last_total
            assert len(page.messages) == min(10, page.total)
            found = store.search("w1 m")
            assert found.matched <= found.total
            assert found.total >= page.total
            last_total = page.total
            reads += 1
        return reads

    with ThreadPoolExecutor(max_workers=writers + 2) as pool:
        readers = [pool.submit(read) for _ in range(2)]
        written = [pool.submit(write, w) for w in range(writers)]
        ids = [i for future in written for i in future.result(timeout=120)]
        done.set()
        assert all(r.result(timeout=60) > 0 for r in readers)

    assert len(set(ids)) == writers * per_writer
    assert store.counts() == (writers * per_writer, writers * per_writer)
    listed = subjects(store)
    for w in range(writers):
        mine = [s for s in listed if s.startswith(f"w{w} ")]
        assert mine == [f"w{w} m{i}" for i in reversed(range(per_writer))]


def test_listeners_hear_new_ids_after_commit(store):
    heard: queue.Queue[tuple[list[str], bool]] = queue.Queue()

    def listener(ids: list[str]) -> None:
        heard.put((ids, all(store.summary(i) is not None for i in ids)))

    def broken_listener(ids: list[str]) -> None:
        raise RuntimeError("listener bug")

    store.add_listener(broken_listener)
    store.add_listener(listener)
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(20)]
    ids = [f.result(timeout=10) for f in futures]

    notified: list[str] = []
    while len(notified) < len(ids):
        batch, visible = heard.get(timeout=10)
        assert visible
        notified.extend(batch)
    assert notified == ids


def test_listeners_are_not_told_about_messages_pruned_in_the_same_commit():
    with SQLiteStore(max_messages=2) as store:
        heard: queue.Queue[list[str]] = queue.Queue()
        listening = threading.Event()
        release = threading.Event()

        def slow_listener(ids: list[str]) -> None:
            heard.put(ids)
            listening.set()
            # Holding the writer here makes the next messages queue up into one burst.
            release.wait(timeout=10)

        store.add_listener(slow_listener)
        first = add(store, message("m0"))
        assert listening.wait(timeout=10)
        futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(1, 10)]
        release.set()
        ids = [f.result(timeout=10) for f in futures]

        assert heard.get(timeout=10) == [first]
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
        store._call_writer(lambda conn: conn.execute("PRAGMA max_page_count = 1").fetchone())

        big = store.add(message("big", body="x" * 200_000), "a@x.test", ["b@x.test"])
        with pytest.raises(StoreFullError, match="full"):
            big.result(timeout=10)
        assert [s.id for s in store.list().messages] == [first]
        assert store.raw(first) == message("first")

        store._call_writer(
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
