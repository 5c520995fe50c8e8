"""Counts and pages of a query asked again and again stay exact as the mailbox changes.

The store remembers each recent query's counts (and, for few matches, their ids) and counts
only what is new the next time (mail_sandbox.store.sqlite_pages). Every answer here is checked
against the same question put to a fresh store on the same file, which remembers nothing.
"""

from __future__ import annotations

import pytest

from mail_sandbox.store import SQLiteStore
from mail_sandbox.store.sqlite_pages import KEPT_IDS


def message(subject: str, to: str) -> bytes:
    headers = f"From: App <app@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    return f"{headers}\r\nbody of {subject}\r\n".encode()


def add_many(store: SQLiteStore, count: int, *, first: int = 0, to: str = "") -> list[str]:
    futures = [
        store.add(message(f"note {n}", to or f"user{n}@example.org"), "app@example.com", [])
        for n in range(first, first + count)
    ]
    return [future.result(timeout=10) for future in futures]


QUERIES = ["", "subject:note", "to:user1", "to:user12@example.org", "is:unread", "-subject:7"]


def answers(store: SQLiteStore, query: str, start: int = 0, limit: int = 20):
    page = store.search(query, start, limit) if query else store.list(start, limit)
    return (
        page.total,
        page.unread,
        page.matched,
        page.matched_unread,
        [summary.id for summary in page.messages],
    )


def assert_same_as_a_fresh_store(store: SQLiteStore, *, start: int = 0) -> None:
    with SQLiteStore(store.path, max_messages=store.max_messages) as fresh:
        for query in QUERIES:
            assert answers(store, query, start) == answers(fresh, query, start), query


@pytest.fixture()
def store(tmp_path):
    with SQLiteStore(str(tmp_path / "mail.db"), max_messages=0) as store:
        yield store


def test_repeated_queries_count_new_mail_exactly(store):
    add_many(store, 30)
    for query in QUERIES:
        answers(store, query)  # remembered now
    add_many(store, 25, first=30)
    assert_same_as_a_fresh_store(store)
    assert answers(store, "subject:note")[2] == 55
    add_many(store, 5, first=55)
    assert_same_as_a_fresh_store(store, start=10)


def test_flags_deletes_and_tags_are_seen_by_remembered_queries(store):
    ids = add_many(store, 40)
    for query in [*QUERIES, "is:read", "tag:urgent"]:
        answers(store, query)
    store.set_read(ids[:7], True)
    assert answers(store, "is:unread")[2] == 33
    assert_same_as_a_fresh_store(store)
    store.delete(ids[10:15])
    assert answers(store, "subject:note")[2] == 35
    assert_same_as_a_fresh_store(store)
    store.set_tags(ids[20:23], ["urgent"])
    assert answers(store, "tag:urgent")[2] == 3
    store.delete_matching("to:user3")
    assert_same_as_a_fresh_store(store)
    store.set_read(None, True)
    assert answers(store, "")[1] == 0


def test_pruning_is_seen_by_remembered_queries(tmp_path):
    with SQLiteStore(str(tmp_path / "mail.db"), max_messages=20) as store:
        add_many(store, 15)
        assert answers(store, "subject:note")[2] == 15
        add_many(store, 15, first=15)
        assert answers(store, "subject:note")[2] == 20
        assert answers(store, "")[:2] == (20, 20)
        assert_same_as_a_fresh_store(store)


def test_changes_made_by_another_store_on_the_file_are_seen(tmp_path):
    path = str(tmp_path / "mail.db")
    with SQLiteStore(path, max_messages=0) as store:
        ids = add_many(store, 12)
        assert answers(store, "is:unread")[2] == 12
        with SQLiteStore(path, max_messages=0) as other:
            other.set_read(ids[:5], True)
        assert answers(store, "is:unread")[2] == 7


def test_a_query_matching_more_than_it_keeps_still_pages_and_counts_exactly(store):
    add_many(store, KEPT_IDS + 30, to="everyone@example.org")
    first = answers(store, "to:everyone", 0, 50)
    assert first[2] == KEPT_IDS + 30
    add_many(store, 3, first=KEPT_IDS + 30, to="everyone@example.org")
    again = answers(store, "to:everyone", 0, 50)
    assert again[2] == KEPT_IDS + 33
    assert again[4][3:] == first[4][:47]
    with SQLiteStore(store.path, max_messages=0) as fresh:
        assert answers(fresh, "to:everyone", 1000, 50) == answers(store, "to:everyone", 1000, 50)
