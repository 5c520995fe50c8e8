"""Indexing after the 250: what is committed before a message is acknowledged, what the indexer
adds afterwards, and what readers, listeners and user changes see in between."""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from mail_sandbox.store import SQLiteStore, StoreError, open_store
from mail_sandbox.store.sqlite import freshness, parse_jobs
from mail_sandbox.store.sqlite.schema import SCHEMA_VERSION

SENDER = "app@example.com"


def message(subject: str, *, tags: str = "", body: str = "hello") -> bytes:
    """A small plain-text message; ``tags`` goes in an X-Tags header."""
    header = f"X-Tags: {tags}\r\n" if tags else ""
    return (
        f"From: App <{SENDER}>\r\nTo: ann@example.org\r\n{header}Subject: {subject}\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def add(store: SQLiteStore, raw: bytes) -> str:
    """Store ``raw`` and wait for its acknowledgement (the future), not for its index."""
    return store.add(raw, SENDER, ["ann@example.org", "hidden@example.net"]).result(timeout=10)


def subjects(store: SQLiteStore) -> list[str]:
    return [s.subject for s in store.list(limit=1000).messages]


def waiting_ids(store: SQLiteStore) -> list[int]:
    """Row ids still waiting in the incoming file, read from the file itself."""
    with closing(sqlite3.connect(store.incoming_path)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM pending ORDER BY id")]


def mailbox_rows(store: SQLiteStore) -> dict[str, int]:
    """Rows per table of the mailbox file, read from the file itself."""
    with closing(sqlite3.connect(store.path)) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("messages", "raw", "tags", "search")
        }


class Gate:
    """Holds every indexer thread of this process before it parses, while closed."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self.reached = threading.Event()
        self.calls = 0

    def hold(self, real):
        def held(*args):
            self.calls += 1
            if not self._open.is_set():
                self.reached.set()
            assert self._open.wait(timeout=30), "the test never opened the gate"
            return real(*args)

        return held

    def open(self) -> None:
        """Let the indexer go on."""
        self._open.set()

    def close(self) -> None:
        """Hold the indexer again at its next chunk."""
        self.reached.clear()
        self._open.clear()


@dataclass
class Held:
    """A throwaway store whose indexer waits at ``gate``, and what its listeners heard."""

    store: SQLiteStore
    gate: Gate
    heard: queue.Queue[list[str]]

    def indexed(self, count: int) -> list[str]:
        """The next ``count`` IDs the listeners hear about (waits for them)."""
        ids: list[str] = []
        while len(ids) < count:
            ids.extend(self.heard.get(timeout=10))
        return ids


def listen(store: SQLiteStore) -> queue.Queue[list[str]]:
    """What ``store``'s listeners hear: the IDs of messages as they become searchable."""
    heard: queue.Queue[list[str]] = queue.Queue()
    store.add_listener(heard.put)
    return heard


def wait_until_heard(heard: queue.Queue[list[str]], *ids: str) -> None:
    """Wait until the listeners heard of every one of ``ids``: those are indexed."""
    missing = set(ids)
    while missing:
        missing -= set(heard.get(timeout=10))


class WhenReadWaits:
    """Runs ``action`` on a thread of its own once the next read is waiting for the index.

    It holds the store's index lock (reentrant) while it starts the thread. The read takes
    the same lock to note what it waits for and lets go of it only to wait; an ack and an
    indexed chunk need it too. So whatever ``action`` sets off reaches the read while it waits,
    however slow the machine: no timer has to guess when that is.
    """

    def __init__(self, store: SQLiteStore, monkeypatch, action) -> None:
        self._thread = threading.Thread(target=action)
        real = store._await_index

        def await_index(**kwargs) -> None:
            if self._thread.ident is not None:
                return real(**kwargs)
            with store._freshness.changed:
                self._thread.start()
                return real(**kwargs)

        monkeypatch.setattr(store, "_await_index", await_index)

    def join(self) -> None:
        """Wait for ``action`` to finish."""
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


def held_store(monkeypatch, **options) -> Iterator[Held]:
    gate = Gate()
    monkeypatch.setattr(parse_jobs, "parse_incoming", gate.hold(parse_jobs.parse_incoming))
    # A read waits for a held index only this long, instead of 5 s. Tests in which the index
    # does move set it back up: a read must then wait until it has moved, however slowly.
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 0.3)
    store = SQLiteStore(":memory:", index_in_child_process=False, **options)
    try:
        yield Held(store, gate, listen(store))
    finally:
        gate.open()
        store.close()


@pytest.fixture
def held(monkeypatch) -> Iterator[Held]:
    """A store (no limit on messages) whose indexer is held until the test opens the gate."""
    yield from held_store(monkeypatch, max_messages=0)


@pytest.fixture
def held_three(monkeypatch) -> Iterator[Held]:
    """A held store that keeps the newest 3 messages."""
    yield from held_store(monkeypatch, max_messages=3)


# --- acknowledged first, indexed afterwards -------------------------------------------------


def test_the_raw_bytes_are_committed_before_the_ack_and_indexed_after(held):
    store = held.store
    raw = message("Quarterly report", tags="finance")

    message_id = add(store, raw)

    # Acknowledged: the incoming file has the exact bytes; the mailbox file has nothing yet.
    with closing(sqlite3.connect(store.incoming_path)) as conn:
        data, envelope_from, envelope_to = conn.execute(
            "SELECT data, envelope_from, envelope_to FROM pending WHERE uid = ?", (message_id,)
        ).fetchone()
    assert (data, envelope_from) == (raw, SENDER)
    assert json.loads(envelope_to) == ["ann@example.org", "hidden@example.net"]
    assert mailbox_rows(store) == {"messages": 0, "raw": 0, "tags": 0, "search": 0}

    held.gate.open()
    assert held.indexed(1) == [message_id]
    assert mailbox_rows(store) == {"messages": 1, "raw": 1, "tags": 1, "search": 1}
    assert waiting_ids(store) == []
    assert [s.id for s in store.search("subject:quarterly tag:finance").messages] == [message_id]
    assert store.raw(message_id) == raw


def test_a_message_not_indexed_yet_has_its_summary_raw_bytes_and_latest_id(held):
    store = held.store
    earlier = add(store, message("earlier"))
    raw = message("Fresh one", tags="beta, Alpha", body="body text")

    message_id = add(store, raw)

    assert held.gate.reached.wait(timeout=10)
    summary = store.summary(message_id)
    assert (summary.id, summary.subject, summary.read) == (message_id, "Fresh one", False)
    assert summary.tags == ["Alpha", "beta"]
    assert [a.address for a in summary.bcc] == ["hidden@example.net"]
    assert summary.return_path == SENDER
    assert summary.size == len(raw)
    assert summary.snippet == "body text"
    assert store.raw(message_id) == raw
    assert store.latest_id() == message_id
    assert store.summary(earlier).subject == "earlier"

    held.gate.open()
    held.indexed(2)
    assert store.summary(message_id) == summary


def test_a_list_right_after_the_ack_waits_for_the_index(held, monkeypatch):
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 30)
    store = held.store
    message_id = add(store, message("just sent"))
    # The indexer gets going once the list has started waiting.
    WhenReadWaits(store, monkeypatch, held.gate.open)

    assert [s.id for s in store.list().messages] == [message_id]
    assert store.search("just sent").matched == 1
    assert store.counts() == (1, 1)


def test_a_stuck_index_delays_a_list_but_never_hangs_it(held):
    store = held.store
    add(store, message("stuck"))

    started = time.monotonic()
    page = store.list()

    assert page.messages == []  # the index as it stands, after INDEX_STALL_SECONDS
    assert time.monotonic() - started < 5
    held.gate.open()
    assert subjects(store) == ["stuck"]


def test_in_a_flood_reads_stop_waiting_and_show_what_is_indexed(held, monkeypatch):
    monkeypatch.setattr(freshness, "READ_BACKLOG", 3)
    monkeypatch.setattr(freshness, "FLOOD_ARRIVALS", 2)
    # Long enough that only the flood rule can end the wait within this test's bound.
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 30)
    store = held.store
    ids = [add(store, message(f"flood {n}")) for n in range(5)]
    assert held.gate.reached.wait(timeout=10)
    # Mail keeps coming while the list waits.
    arriving = WhenReadWaits(
        store, monkeypatch, lambda: [add(store, message("more")) for _ in range(3)]
    )

    started = time.monotonic()
    page = store.list()
    assert time.monotonic() - started < 10
    arriving.join()
    assert page.messages == []  # the index as it stands: the indexer is still held
    assert store.summary(ids[0]).subject == "flood 0"  # acknowledged mail is there all the same

    # The flood is over (nothing arrives now): the next read waits for all of it again.
    WhenReadWaits(store, monkeypatch, held.gate.open)
    assert len(subjects(store)) == 8


def test_after_a_burst_has_ended_a_read_waits_for_all_of_it(held, monkeypatch):
    monkeypatch.setattr(freshness, "READ_BACKLOG", 3)
    monkeypatch.setattr(freshness, "FLOOD_ARRIVALS", 2)
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 30)
    store = held.store
    for n in range(20):
        add(store, message(f"burst {n}"))
    WhenReadWaits(store, monkeypatch, held.gate.open)

    assert len(subjects(store)) == 20


def test_behind_a_flood_a_change_by_search_still_waits_for_the_index(held, monkeypatch):
    monkeypatch.setattr(freshness, "READ_BACKLOG", 3)
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 30)
    store = held.store
    for n in range(5):
        add(store, message(f"flood {n}"))
    assert held.gate.reached.wait(timeout=10)
    WhenReadWaits(store, monkeypatch, held.gate.open)

    assert store.set_read_matching("subject:flood", True) == 5


def test_listing_after_a_message_not_indexed_yet_finds_what_comes_later(held):
    store = held.store
    marker = add(store, message("marker"))
    assert held.gate.reached.wait(timeout=10)

    # What /api/v1/wait does: the newest ID as its marker, then what came after it.
    assert store.latest_id() == marker
    assert store.list(after=marker).messages == []
    later = add(store, message("later"))
    held.gate.open()
    assert [s.id for s in store.list(after=marker).messages] == [later]


def test_listeners_hear_ids_only_once_they_are_searchable(held):
    store = held.store
    searchable_when_heard: queue.Queue[bool] = queue.Queue()

    def listener(ids: list[str]) -> None:
        # On the thread relaying the indexer's progress: reads the index as it is, without
        # waiting for it.
        found = {s.id for s in store.search("subject:counted", limit=1000).messages}
        searchable_when_heard.put(set(ids) <= found)

    store.add_listener(listener)
    ids = [add(store, message(f"counted {n}")) for n in range(5)]
    assert held.gate.reached.wait(timeout=10)
    assert held.heard.empty()

    held.gate.open()
    assert held.indexed(5) == ids
    assert searchable_when_heard.get(timeout=10) is True
    while not searchable_when_heard.empty():
        assert searchable_when_heard.get() is True


def test_a_listener_that_blocks_holds_up_no_mail(held):
    store = held.store
    listening, release = threading.Event(), threading.Event()

    def blocking(ids: list[str]) -> None:
        listening.set()
        release.wait(timeout=30)

    store.add_listener(blocking)
    held.gate.open()
    first = add(store, message("first"))
    assert held.indexed(1) == [first]
    assert listening.wait(timeout=10)
    try:
        # The listener holds up the next notice only: mail is still acknowledged and read.
        later = add(store, message("later"))
        assert store.summary(later).subject == "later"
        assert store.raw(later) == message("later")
    finally:
        release.set()
    assert held.indexed(1) == [later]
    assert subjects(store) == ["later", "first"]


# --- user changes while messages wait -------------------------------------------------------


def test_flagging_a_waiting_message_is_kept_when_it_is_indexed(held):
    store = held.store
    waiting = add(store, message("flag me"))
    other = add(store, message("leave me"))
    assert held.gate.reached.wait(timeout=10)

    assert store.set_read([waiting, "unknown"], True) == 1
    assert store.summary(waiting).read is True
    assert store.set_read([waiting], True) == 0

    held.gate.open()
    held.indexed(2)
    assert {s.id: s.read for s in store.list().messages} == {waiting: True, other: False}
    assert store.counts() == (2, 1)


def test_flagging_everything_includes_waiting_messages(held):
    store = held.store
    held.gate.open()
    indexed = add(store, message("indexed"))
    held.indexed(1)
    held.gate.close()
    waiting = add(store, message("waiting"))
    assert held.gate.reached.wait(timeout=10)

    assert store.set_read(None, True) == 2
    assert store.summary(waiting).read is True

    held.gate.open()
    held.indexed(1)
    assert {s.id: s.read for s in store.list().messages} == {waiting: True, indexed: True}


def test_deleting_a_waiting_message_keeps_it_from_ever_being_listed(held):
    store = held.store
    gone = add(store, message("delete me"))
    kept = add(store, message("keep me"))
    assert held.gate.reached.wait(timeout=10)

    assert store.delete([gone]) == 1
    assert store.summary(gone) is None
    assert store.raw(gone) is None

    held.gate.open()
    assert held.indexed(1) == [kept]
    assert subjects(store) == ["keep me"]
    assert mailbox_rows(store)["messages"] == 1
    assert waiting_ids(store) == []


def test_deleting_everything_includes_waiting_messages(held):
    store = held.store
    held.gate.open()
    add(store, message("indexed"))
    held.indexed(1)
    held.gate.close()
    waiting = add(store, message("waiting"))
    assert held.gate.reached.wait(timeout=10)

    assert store.delete(None) == 2
    assert store.summary(waiting) is None
    assert store.latest_id() is None

    held.gate.open()
    assert store.counts() == (0, 0)
    assert mailbox_rows(store) == {"messages": 0, "raw": 0, "tags": 0, "search": 0}
    assert waiting_ids(store) == []


def test_pruning_counts_waiting_messages_among_the_newest(held_three):
    store = held_three.store
    ids = [add(store, message(f"m{n}")) for n in range(5)]
    assert held_three.gate.reached.wait(timeout=10)

    # More waiting than the mailbox keeps: the oldest are dropped unindexed.
    assert len(waiting_ids(store)) == 3
    assert [store.summary(i) for i in ids[:2]] == [None, None]
    assert store.summary(ids[4]).subject == "m4"

    held_three.gate.open()
    assert subjects(store) == ["m4", "m3", "m2"]
    assert mailbox_rows(store) == {"messages": 3, "raw": 3, "tags": 0, "search": 3}


def test_pruning_removes_indexed_messages_once_newer_ones_are_indexed(held_three):
    store = held_three.store
    held_three.gate.open()
    old = [add(store, message(f"old {n}")) for n in range(2)]
    held_three.indexed(2)
    newer = [add(store, message(f"new {n}")) for n in range(2)]

    assert subjects(store) == ["new 1", "new 0", "old 1"]
    assert store.raw(old[0]) is None
    assert held_three.indexed(2) == newer
    assert mailbox_rows(store)["messages"] == 3


def test_two_stores_on_one_mailbox_take_turns_indexing(held, monkeypatch):
    first = held.store
    from_first = add(first, message("via the first"))
    # The first store's indexer now holds the turn, waiting at the gate.
    assert held.gate.reached.wait(timeout=10)
    with SQLiteStore(first.path, max_messages=0, index_in_child_process=False) as second:
        from_second = add(second, message("via the second"))
        assert second.summary(from_second).subject == "via the second"
        # Its own indexer only watches: the read gives up after INDEX_STALL_SECONDS.
        assert second.list().messages == []
        assert held.gate.calls == 1

        held.gate.open()
        # The first store's indexer indexes both; its listeners hear of both.
        assert held.indexed(2) == [from_first, from_second]
        assert subjects(second) == ["via the second", "via the first"]
        assert held.gate.calls == 2
        assert mailbox_rows(second)["messages"] == 2


# --- crashes and restarts -------------------------------------------------------------------


def test_messages_acknowledged_but_not_indexed_are_indexed_at_the_next_open(tmp_path):
    path = str(tmp_path / "mail.db")
    with SQLiteStore(path, busy_timeout_ms=50, index_in_child_process=False) as store:
        # Another connection holding the mailbox file's write lock keeps the indexer out...
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        # ...but not the mail: it is committed to the incoming file and acknowledged.
        ids = [
            add(store, message(f"before the crash {n}", body="findable words")) for n in range(3)
        ]
        assert store.summary(ids[1]).subject == "before the crash 1"
    locker.execute("ROLLBACK")
    locker.close()
    assert len(waiting_ids(store)) == 3

    with open_store(path) as reopened:
        assert [s.id for s in reopened.list().messages] == ids[::-1]
        assert reopened.search("findable").matched == 3
        assert waiting_ids(reopened) == []


def test_a_message_in_both_files_after_a_crash_is_listed_once(tmp_path):
    path = str(tmp_path / "mail.db")
    with SQLiteStore(path, busy_timeout_ms=50, index_in_child_process=False) as store:
        heard = listen(store)
        with closing(sqlite3.connect(path, isolation_level=None)) as locker:
            locker.execute("BEGIN IMMEDIATE")  # keeps the indexer out for now
            message_id = add(store, message("copied, then crashed"))
            with closing(sqlite3.connect(store.incoming_path)) as conn:
                waiting = conn.execute("SELECT * FROM pending").fetchall()
            locker.execute("ROLLBACK")
        assert len(waiting) == 1
        # Indexed once the indexer tries again, however long it waits before it does.
        wait_until_heard(heard, message_id)
        assert subjects(store) == ["copied, then crashed"]
    # As if the indexer died between its commit to the mailbox file and removing the message
    # from the incoming file.
    with closing(sqlite3.connect(store.incoming_path)) as conn, conn:
        conn.executemany("INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?, ?)", waiting)

    with open_store(path) as reopened:
        assert [s.id for s in reopened.list().messages] == [message_id]
        later = reopened.add(message("later"), SENDER, ["ann@example.org"]).result(timeout=10)
        assert [s.id for s in reopened.list().messages] == [later, message_id]
        assert waiting_ids(reopened) == []
        assert mailbox_rows(reopened)["messages"] == 2


def test_a_lock_on_the_mailbox_file_does_not_stop_mail_and_indexing_resumes(tmp_path, monkeypatch):
    # The change below first waits for an index the lock holds still: not for 5 s.
    monkeypatch.setattr(freshness, "INDEX_STALL_SECONDS", 0.3)
    path = str(tmp_path / "mail.db")
    with SQLiteStore(path, busy_timeout_ms=50, index_in_child_process=False) as store:
        heard = listen(store)
        first = add(store, message("first"))
        wait_until_heard(heard, first)
        assert subjects(store) == ["first"]
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            during = add(store, message("during the lock"))
            assert store.summary(during).subject == "during the lock"
            # User changes need the mailbox file, so they fail clearly instead of waiting.
            with pytest.raises(StoreError, match="locked"):
                store.set_read(None, True)
        finally:
            locker.execute("ROLLBACK")
            locker.close()

        # The indexer tries again after a pause of its own; the message is indexed then.
        wait_until_heard(heard, during)
        assert [s.id for s in store.list().messages] == [during, first]


def test_a_killed_indexer_process_is_started_again(tmp_path):
    with SQLiteStore(str(tmp_path / "mail.db"), index_in_child_process=True) as store:
        add(store, message("before"))
        assert subjects(store) == ["before"]
        pid = store._indexer.pid
        assert pid is not None and pid != os.getpid()

        os.kill(pid, signal.SIGKILL)
        add(store, message("after"))

        assert subjects(store) == ["after", "before"]
        assert store._indexer.pid not in (None, pid)


def test_the_indexer_process_ends_with_the_server_that_started_it(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from mail_sandbox.store import SQLiteStore
        store = SQLiteStore({str(tmp_path / "mail.db")!r}, index_in_child_process=True)
        print(store._indexer.pid, flush=True)
        time.sleep(60)
        """
    )
    root = str(Path(__file__).resolve().parents[2])
    server = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    try:
        child = int(server.stdout.readline())
        assert _alive(child)
        # Watched from before the kill: a pidfd says when that very process ends.
        child_fd = os.pidfd_open(child)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        server.kill()
        server.stdout.close()

    try:
        # Its end of the pipe closed, the child exits instead of holding the files open.
        readable, _, _ = select.select([child_fd], [], [], 10)
        assert readable, "the indexer outlived its server"
    finally:
        os.close(child_fd)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_file_store_indexes_in_a_child_process_and_a_throwaway_one_in_a_thread(tmp_path):
    with open_store(str(tmp_path / "mail.db")) as file_store:
        assert file_store._indexer.pid not in (None, os.getpid())
        add(file_store, message("from the child"))
        assert file_store.search("child").matched == 1
    with open_store(":memory:") as throwaway:
        assert throwaway._indexer.pid is None
        add(throwaway, message("from the thread"))
        assert throwaway.search("thread").matched == 1


# --- upgrading a version 1 mailbox ----------------------------------------------------------

# The version 1 schema, as it was released: one file, written before the 250.
VERSION_1 = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0, message_id TEXT NOT NULL, sender TEXT NOT NULL,
    to_ TEXT NOT NULL, cc TEXT NOT NULL, bcc TEXT NOT NULL, reply_to TEXT NOT NULL,
    return_path TEXT NOT NULL, subject TEXT NOT NULL, date INTEGER, size INTEGER NOT NULL,
    attachments INTEGER NOT NULL, inline INTEGER NOT NULL, snippet TEXT NOT NULL
);
CREATE INDEX messages_unread ON messages (id) WHERE read = 0;
CREATE TABLE raw (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE tags (
    message INTEGER NOT NULL, name TEXT NOT NULL COLLATE NOCASE, PRIMARY KEY (message, name)
) WITHOUT ROWID;
CREATE INDEX tags_name ON tags (name);
CREATE VIRTUAL TABLE search USING fts5(
    subject, from_, to_, cc, bcc, reply_to, message_id, tags, body, tokenize='trigram'
);
"""


def version_1_file(path: Path) -> None:
    """A version 1 mailbox holding ids 1-2 of five given out (the newest three deleted)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(VERSION_1)
        for rowid, uid, subject, read in (
            (1, "old-one", "Old one", 1),
            (2, "old-two", "Old two", 0),
        ):
            raw = message(subject, body=f"old body {rowid}")
            conn.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, '[]', '[]', '[]', ?, ?, NULL,"
                " ?, 0, 0, ?)",
                (rowid, uid, 1_700_000_000_000 + rowid, read, f"m{rowid}@x", '["App", "a@x"]',
                 '[["", "ann@example.org"]]', SENDER, subject, len(raw), f"old body {rowid}"),
            )  # fmt: skip
            conn.execute("INSERT INTO raw VALUES (?, ?)", (rowid, raw))
            conn.execute(
                "INSERT INTO search (rowid, subject, from_, to_, cc, bcc, reply_to, message_id, "
                "tags, body) VALUES (?, ?, 'App <a@x>', 'ann@example.org', '', '', '', ?, '', ?)",
                (rowid, subject, f"m{rowid}@x", f"old body {rowid}"),
            )
        conn.execute("UPDATE sqlite_sequence SET seq = 5 WHERE name = 'messages'")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()


def test_a_version_1_mailbox_is_upgraded_keeping_its_mail(tmp_path):
    path = tmp_path / "v1.db"
    version_1_file(path)

    with open_store(str(path)) as store:
        assert [(s.id, s.subject, s.read) for s in store.list().messages] == [
            ("old-two", "Old two", False),
            ("old-one", "Old one", True),
        ]
        assert [s.id for s in store.search("old body 1").messages] == ["old-one"]
        assert store.raw("old-two") == message("Old two", body="old body 2")
        new = add(store, message("New one"))
        assert [s.id for s in store.list(after="old-two").messages] == [new]

    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # Ids keep rising past the three the old version gave out and deleted.
        assert conn.execute("SELECT id FROM messages WHERE uid = ?", (new,)).fetchone()[0] == 6


def test_an_incoming_file_older_than_the_mailbox_does_not_reuse_ids(tmp_path):
    path = tmp_path / "mail.db"
    incoming = Path(f"{path}-incoming")
    open_store(str(path)).close()
    old_incoming = incoming.read_bytes()
    with open_store(str(path)) as store:
        kept = [add(store, message(f"kept {n}")) for n in range(3)]
        assert len(subjects(store)) == 3
    # The incoming file restored from before those three were given their ids.
    incoming.write_bytes(old_incoming)

    with open_store(str(path)) as store:
        new = add(store, message("new"))
        assert [s.id for s in store.list().messages] == [new, *kept[::-1]]


def test_an_incoming_file_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "mail.db"
    open_store(str(path)).close()
    with closing(sqlite3.connect(f"{path}-incoming")) as conn:
        conn.execute("PRAGMA user_version = 99")

    with pytest.raises(StoreError, match="newer version"):
        open_store(str(path))
